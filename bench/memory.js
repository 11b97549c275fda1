// `npm run bench:memory`: resident memory of a long training loop with no dispose (bench/memory-
// soak.ts), each variant in a fresh process, with V8's heap and the tensors' memory apart.
//
//   node bench/memory.js [--steps N] [--variants fixed,gather,fresh]
//
// rss: the process's resident memory. heap: V8's JavaScript heap (heapTotal). buffers: memory
// of ArrayBuffers alive or awaiting the garbage collector (tensor storage, mostly). other: the rest
// (Node, V8's code, the addon, malloc's free lists) = rss - heap - buffers.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleRuntime } from './bundle.js';

const here = dirname(fileURLToPath(import.meta.url));
const option = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const STEPS = Number(option('steps', 10_000));
const VARIANTS = option('variants', 'fixed,gather,fresh').split(',');

const bundle = await bundleRuntime(join(here, 'memory-soak.ts'), 'gradbook-bench-memory');
const mib = (b) => (b / 2 ** 20).toFixed(1);
const pct = (a, b) => `${(((b - a) / a) * 100).toFixed(1)}%`;
for (const variant of VARIANTS) {
  const child = spawnSync(process.execPath, [bundle, variant, String(STEPS)], { encoding: 'utf8', timeout: 600_000 });
  if (child.status !== 0) {
    console.log(`${variant}: failed (${child.status ?? child.signal}) ${child.stderr.trim().split('\n').pop()}`);
    continue;
  }
  const r = JSON.parse(child.stdout.trim().split('\n').pop());
  console.log(`\n${variant}: ${r.steps} steps in ${r.seconds.toFixed(1)} s on the ${r.backend} backend, last loss ${r.loss.toFixed(4)}`);
  console.log('step     rss MiB  heap MiB  (used)  buffers MiB  other MiB');
  for (const m of r.marks) {
    const other = m.rss - m.heapTotal - m.arrayBuffers;
    console.log(
      `${String(m.step).padEnd(8)} ${mib(m.rss).padStart(7)}  ${mib(m.heapTotal).padStart(8)}  ${mib(m.heapUsed).padStart(6)}  ${mib(m.arrayBuffers).padStart(11)}  ${mib(other).padStart(9)}`,
    );
  }
  const at = (s) => r.marks.find((m) => m.step === s);
  const [a, b, c] = [at(200), at(2000), at(r.steps)];
  if (a && b) console.log(`rss growth, step 200 to 2,000: ${pct(a.rss, b.rss)} (goal under 10%)`);
  if (b && c && c !== b) console.log(`rss growth, step 2,000 to ${r.steps.toLocaleString('en')}: ${pct(b.rss, c.rss)} (goal none)`);
}
