// `node bench/viz.js live`: what gb.viz.live and gb.progress cost a training loop. A notebook front
// end is installed where the kernel installs its own, and its display() serialises each bundle to
// JSON as the kernel does before sending it; the "step" is a 1 ms busy wait. 10,000 steps are timed
// without a view, with live.update() every step, and inside gb.progress() with setPostfix() every
// step, in interleaved rounds; the overhead is the difference of the medians as a share of the
// step. The time spent inside the calls themselves is measured apart (less noisy on a shared box).
//
//   node <bundle> [ROUNDS] [STEPS]
import * as gb from '../runtime/index.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const STEPS = Number(process.argv[3] ?? 10_000);
const STEP_MS = 1;

let displays = 0;
let bytes = 0;
let displayMs = 0;
(globalThis as Record<symbol, unknown>)[Symbol.for('gradbook.frontend')] = {
  kind: 'notebook',
  display(bundle: Record<string, unknown>) {
    const t = performance.now();
    bytes += JSON.stringify(bundle).length;
    displayMs += performance.now() - t;
    displays++;
  },
};

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

interface Run {
  total: number;
  inside: number;
  displays: number;
  bytes: number;
}

function run(variant: 'none' | 'live' | 'progress'): Run {
  displays = 0;
  bytes = 0;
  let inside = 0;
  const t0 = performance.now();
  if (variant === 'none') {
    for (let i = 0; i < STEPS; i++) busy(STEP_MS);
  } else if (variant === 'live') {
    const view = gb.viz.live({ metrics: ['loss', 'acc'], title: 'bench' });
    for (let i = 0; i < STEPS; i++) {
      busy(STEP_MS);
      const a = performance.now();
      view.update({ step: i, loss: 1 / (i + 1), acc: i / STEPS });
      inside += performance.now() - a;
    }
    const a = performance.now();
    view.close();
    inside += performance.now() - a;
  } else {
    let a = performance.now();
    const bar = gb.progress(STEPS, { desc: 'bench' });
    for (const i of bar) {
      inside += performance.now() - a;
      busy(STEP_MS);
      a = performance.now();
      bar.setPostfix({ loss: 1 / (i + 1) });
    }
    inside += performance.now() - a;
  }
  return { total: performance.now() - t0, inside, displays, bytes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const runs: Record<'none' | 'live' | 'progress', Run[]> = { none: [], live: [], progress: [] };
run('live'); // warm-up: JIT, the first SVG and plotly JSON
for (let r = 0; r < ROUNDS; r++) {
  for (const v of ['none', 'live', 'progress'] as const) runs[v].push(run(v));
}

const base = median(runs.none.map((r) => r.total));
console.log(`${STEPS} steps of a ${STEP_MS} ms busy wait, ${ROUNDS} rounds; medians`);
console.log(`  no view            ${base.toFixed(0)} ms`);
for (const v of ['live', 'progress'] as const) {
  const total = median(runs[v].map((r) => r.total));
  const inside = median(runs[v].map((r) => r.inside));
  const shown = median(runs[v].map((r) => r.displays));
  const kb = median(runs[v].map((r) => r.bytes / Math.max(1, r.displays) / 1024));
  const name = v === 'live' ? 'live.update' : 'progress+postfix';
  console.log(
    `  ${name.padEnd(18)} ${total.toFixed(0)} ms: overhead ${(((total - base) / base) * 100).toFixed(2)}% of the step; ` +
      `inside the calls ${((inside / STEPS) * 1000).toFixed(2)} µs/step = ${((inside / STEPS / STEP_MS) * 100).toFixed(2)}%; ` +
      `${shown} redraws of ${kb.toFixed(1)} KiB`,
  );
}
