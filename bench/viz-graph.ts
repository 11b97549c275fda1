// Laying out autograd graphs of about 500 nodes with Graphviz (WebAssembly, @viz-js/viz), as
// gb.viz.graph does on display. Two shapes of graph: a recurrent cell unrolled over steps (one
// weight feeding every step: long edges and wide fan-out, the hard case for dot) and a deep
// chain of small elementwise ops. Prints, per graph, the node count, the first call's time
// (Graphviz's WebAssembly compiled and instantiated in it, for the first graph) and the median
// walk + layout + render time of later calls. Goal: under 1 s for 500 nodes.
//
//   node bench/viz.js graph
import * as gb from '../runtime/index.js';

const RUNS = 7;

/** h <- tanh(W h + U x_t + b) over `steps` steps, shared weights, summed to a scalar. */
function unrolledRnn(steps: number): { loss: gb.Tensor; model: gb.nn.Module } {
  class Cell extends gb.nn.Module {
    w = new gb.nn.Linear(16, 16);
    u = new gb.nn.Linear(8, 16, { bias: false });
  }
  const cell = new Cell();
  let h = gb.zeros([4, 16]);
  for (let t = 0; t < steps; t++) {
    const x = gb.randn([4, 8]);
    h = cell.w.call(h).add(cell.u.call(x)).tanh();
  }
  return { loss: h.pow(2).mean(), model: cell };
}

/** x -> sin(x) * x + 1 ... a long chain of small ops on one leaf. */
function chain(ops: number): gb.Tensor {
  const x = gb.randn([3, 3]).requiresGrad_();
  let y: gb.Tensor = x;
  for (let i = 0; i < ops; i++) y = i % 3 === 0 ? y.sin() : i % 3 === 1 ? y.mul(1.01) : y.add(x);
  return y.sum();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(name: string, make: () => gb.viz.GraphView): void {
  const t0 = performance.now();
  const first = make();
  const svg = first.svg();
  const firstMs = performance.now() - t0;
  if (svg === null) throw new Error('Graphviz did not load synchronously');
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const s = performance.now();
    make().svg();
    times.push(performance.now() - s);
  }
  const med = median(times);
  console.log(
    `${name.padEnd(22)} ${String(first.nodes.length).padStart(5)} nodes ${String(first.edges.length).padStart(5)} edges` +
      `  first call ${firstMs.toFixed(0).padStart(5)} ms  median ${med.toFixed(0).padStart(5)} ms` +
      `  (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})  svg ${(svg.length / 1024).toFixed(0)} KiB` +
      `  ${med < 1000 ? 'ok' : 'OVER 1 s'}`,
  );
}

gb.manualSeed(0);
const rnn = unrolledRnn(100);
const deep = chain(500);
console.log(`gb.viz.graph layout (Graphviz dot, WebAssembly), median of ${RUNS} after the first call`);
measure('rnn unrolled x100', () => gb.viz.graph(rnn.loss, { module: rnn.model }));
measure('chain of 500 ops', () => gb.viz.graph(deep));
const big = unrolledRnn(250);
measure('rnn unrolled x250', () => gb.viz.graph(big.loss, { module: big.model }));
