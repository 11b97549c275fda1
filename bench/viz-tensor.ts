// What a tensor's rich display costs: milliseconds per bundle (median and p90 over repeated
// runs after a warm-up) and the bundle's size as JSON, for a 1000x1000 float32 matrix (the
// budget: 50 ms and 200 KB), a 10^7-element vector and a [16, 3, 32, 32] image batch.
//
//   node bench/viz.js tensor
import * as gb from '../runtime/index.js';

const RUNS = 15;
const WARMUP = 3;

function measure(name: string, t: gb.Tensor, budget?: { ms: number; kb: number }): boolean {
  for (let i = 0; i < WARMUP; i++) gb.viz.tensorBundle(t);
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const bundle = gb.viz.tensorBundle(t);
    times.push(performance.now() - t0);
    bytes = JSON.stringify(bundle).length;
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(RUNS / 2)]!;
  const p90 = times[Math.min(RUNS - 1, Math.ceil(RUNS * 0.9) - 1)]!;
  const kb = bytes / 1024;
  const ok = budget === undefined || (median <= budget.ms && kb <= budget.kb);
  const verdict = budget ? `  (budget ${budget.ms} ms, ${budget.kb} KB: ${ok ? 'ok' : 'OVER'})` : '';
  const ms = (v: number) => `${v.toFixed(1).padStart(6)} ms`;
  console.log(`${name.padEnd(28)} median ${ms(median)}  p90 ${ms(p90)}  ${kb.toFixed(1).padStart(6)} KB${verdict}`);
  return ok;
}

gb.manualSeed(0);
console.log(`tensorBundle, ${RUNS} runs after ${WARMUP} warm-up runs each`);
const ok = measure('randn [1000, 1000] float32', gb.randn([1000, 1000]), { ms: 50, kb: 200 });
measure('randn [10000000]', gb.randn([10_000_000]));
measure('rand [16, 3, 32, 32]', gb.rand([16, 3, 32, 32]));
process.exitCode = ok ? 0 : 1;
