// Runs cpu-kernels.ts (bundled on the fly with esbuild, a dependency already) and cpu-torch.py
// (Debian's PyTorch via /usr/bin/python3), then prints the figures side by side with ratios.
//   node bench/cpu-kernels.js            both
//   node bench/cpu-kernels.js --no-torch  ours only
//   ROUNDS=5 RUNS=9 node bench/cpu-kernels.js   more rounds / timed runs per figure
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
// inside the package, so the backend finds package.json and build/Release from the bundle
const outdir = join(root, 'node_modules', '.cache', 'gradbook-bench');
mkdirSync(outdir, { recursive: true });
const outfile = join(outdir, 'cpu-kernels.mjs');
await build({ entryPoints: [join(here, 'cpu-kernels.ts')], bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'error' });

const run = (cmd, args, env) => JSON.parse(execFileSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop());
const withTorch = !process.argv.includes('--no-torch');
// Alternate whole runs of both sides, then take each figure's median over the rounds: a busy
// neighbour then hits both sides alike instead of whichever happened to run at the time.
const rounds = Number(process.env.ROUNDS ?? 3);
const oursRuns = [];
const torchRuns = [];
for (let r = 0; r < rounds; r++) {
  oursRuns.push(run(process.execPath, ['--expose-gc', outfile]));
  if (withTorch) torchRuns.push(run('/usr/bin/python3', [join(here, 'cpu-torch.py')], { OMP_WAIT_POLICY: 'passive', OMP_NUM_THREADS: '2' }));
}
const medianOf = (runs) => {
  if (runs.length === 0) return {};
  const out = { ...runs[0] };
  for (const k of Object.keys(out)) {
    if (typeof out[k] !== 'number') continue;
    const xs = runs.map((x) => x[k]).sort((a, b) => a - b);
    out[k] = xs[Math.floor(xs.length / 2)];
  }
  return out;
};
const ours = medianOf(oursRuns);
const torch = medianOf(torchRuns);

console.log(`gradbook cpu: ${ours.threads} threads, avx2=${ours.avx2}; torch ${torch.torch ?? '-'} with ${torch.threads ?? '-'} threads; medians of ${rounds} alternating rounds`);
console.log(`${'figure'.padEnd(38)}${'gradbook'.padStart(10)}${'torch'.padStart(10)}${'ratio'.padStart(8)}`);
for (const [k, v] of Object.entries(ours)) {
  if (typeof v !== 'number' || k === 'threads') continue;
  const t = torch[k];
  // higher is better for rates; for times (us) the ratio is torch/ours so > 1 still means faster
  const ratio = t === undefined ? '' : (k.endsWith('_us') ? t / v : v / t).toFixed(2);
  const fmt = (x) => (x === undefined ? '-' : x.toFixed(x < 10 ? 3 : 1));
  console.log(`${k.padEnd(38)}${fmt(v).padStart(10)}${fmt(t).padStart(10)}${ratio.padStart(8)}`);
}
