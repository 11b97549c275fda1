// `npm run bench`: gradbook next to PyTorch, numpy and TensorFlow.js (wasm) on the issue's
// performance figures, in one run, with medians and ratios. See bench/README.md.
//
//   node bench/run.js [--rounds N] [--reps N] [--only REGEX] [--peers gradbook,torch,numpy,tfjs]
//                     [--reference] [--json FILE]
//
// Each peer is a separate process that prints one JSON line of raw samples (bench/runtime-
// gradbook.ts, bench/peers/torch_peer.py, bench/peers/tfjs.js). Peers never run at the same time,
// and rounds interleave them (in a rotating order), so a noisy neighbour on this shared 2-core
// box spreads over all columns instead of landing on one; every figure is the median of all
// samples a peer gave over all rounds.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleRuntime } from './bundle.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
}
const ROUNDS = Number(option('rounds', 3));
const REPS = Number(option('reps', 3));
const ONLY = option('only', '');
const PEERS = option('peers', 'gradbook,torch,numpy,tfjs').split(',');
const JSON_OUT = option('json', '');
const REFERENCE = process.argv.includes('--reference');
/** A benchmark that took longer than this in one round is not repeated in later rounds. */
const SLOW_S = 6;
/** A peer process is stopped after this long; the run goes on without its figures. */
const PEER_TIMEOUT_S = 180;

const gradbookBundle = await bundleRuntime(join(here, 'runtime-gradbook.ts'), 'gradbook-bench-runtime');

const commands = {
  gradbook: [process.execPath, [gradbookBundle], REFERENCE ? { BENCH_BACKEND: 'reference' } : {}],
  // Debian's interpreter, which has python3-torch; passive OpenMP waiting as the issue asks
  torch: ['/usr/bin/python3', [join(here, 'peers', 'torch_peer.py'), 'torch'], { OMP_WAIT_POLICY: 'passive', OMP_NUM_THREADS: '2' }],
  numpy: ['/usr/bin/python3', [join(here, 'peers', 'torch_peer.py'), 'numpy'], {}],
  tfjs: [process.execPath, [join(here, 'peers', 'tfjs.js')], {}],
};
for (const p of PEERS) if (!(p in commands)) throw new Error(`bench: unknown peer ${p} (one of ${Object.keys(commands).join(', ')})`);

/** Per peer: pooled samples per key, metadata, skip notes, or why it could not run. */
const results = Object.fromEntries(PEERS.map((p) => [p, { samples: {}, meta: null, skipped: {}, slow: new Set(), dropped: [], error: null }]));

const started = Date.now();
const loadAtStart = os.loadavg()[0];
for (let round = 0; round < ROUNDS; round++) {
  const order = PEERS.map((_, i) => PEERS[(i + round) % PEERS.length]);
  const line = [];
  for (const peer of order) {
    const r = results[peer];
    // a peer that never started (no torch, no tfjs) is not tried again; one that worked is
    if (r.error !== null && r.meta === null) continue;
    const [cmd, args, env] = commands[peer];
    const t0 = Date.now();
    const child = spawnSync(cmd, args, {
      cwd: root,
      encoding: 'utf8',
      timeout: PEER_TIMEOUT_S * 1000,
      maxBuffer: 16 << 20,
      env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1', BENCH_REPS: String(REPS), BENCH_ONLY: ONLY, BENCH_SKIP: [...r.slow].join(',') },
    });
    const last = (child.stdout ?? '').trim().split('\n').pop() ?? '';
    let out = null;
    try {
      out = child.status === 0 ? JSON.parse(last) : null;
    } catch {
      out = null;
    }
    if (out === null) {
      const why = child.error?.message ?? `exit ${child.status ?? child.signal}`;
      const err = (child.stderr ?? '').trim().split('\n');
      const tail = err.find((l) => /^\w*(Error|Exception)\b/.test(l.trim())) ?? err.slice(-3).join(' | ');
      r.error = `round ${round + 1}: ${why}${tail ? `: ${tail}` : ''}`;
      line.push(`${peer} failed`);
      continue;
    }
    // gradbook falls back to the reference backend while the addon is being rebuilt: a round on
    // another backend than the first would mix two different things into one median
    const backend = out.meta?.backend;
    if (r.meta !== null && backend !== r.meta.backend) {
      r.dropped.push(`round ${round + 1} (ran on ${backend}, not ${r.meta.backend})`);
      line.push(`${peer} dropped`);
      continue;
    }
    r.meta = out.meta;
    Object.assign(r.skipped, out.skipped ?? {});
    for (const [k, xs] of Object.entries(out.samples)) (r.samples[k] ??= []).push(...xs);
    for (const [k, s] of Object.entries(out.spent ?? {})) if (s > SLOW_S) r.slow.add(k);
    // a peer's own skip rests on a figure it may not measure again in a later round
    for (const k of Object.keys(out.skipped ?? {})) r.slow.add(k);
    line.push(`${peer} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  console.error(`round ${round + 1}/${ROUNDS}: ${line.join(', ')}`);
}

// ---- the table ----
const ROWS = [
  ['matmul_1024_AB', 'matmul 1024 A·B', 'GFLOP/s'],
  ['matmul_1024_AtB', 'matmul 1024 Aᵀ·B (view)', 'GFLOP/s'],
  ['matmul_1024_ABt', 'matmul 1024 A·Bᵀ (view)', 'GFLOP/s'],
  ['matmul_2048_AB', 'matmul 2048 A·B', 'GFLOP/s'],
  ['matmul_2048_AtB', 'matmul 2048 Aᵀ·B (view)', 'GFLOP/s'],
  ['matmul_2048_ABt', 'matmul 2048 A·Bᵀ (view)', 'GFLOP/s'],
  ['add4_graph_us', 'add 4 elems, graph recorded', 'µs/op'],
  ['add_1e7_gbs', 'add 1e7 f32 → new tensor', 'GB/s'],
  ['sum_1e7_gbs', 'sum 1e7 f32', 'GB/s'],
  ['mlp_steps', 'MLP 784-256-10 train step', 'steps/s'],
  ['digits_mlp_epoch', 'digits MLP 64-128-10 epoch, SGD', 'samples/s'],
  ['digits_mlp_epoch_first', '  the same, first epoch (cold)', 'samples/s'],
  ['digits_cnn_epoch', 'digits CNN epoch, Adam', 'samples/s'],
  ['digits_cnn_epoch_first', '  the same, first epoch (cold)', 'samples/s'],
];
/** The issue's targets: gradbook's speed relative to one peer (time-based rows are inverted). */
const TARGETS = {
  matmul_1024_AB: ['torch', 1],
  matmul_1024_AtB: ['torch', 1],
  matmul_1024_ABt: ['torch', 1],
  matmul_2048_AB: ['torch', 1],
  matmul_2048_AtB: ['torch', 1],
  matmul_2048_ABt: ['torch', 1],
  add4_graph_us: ['torch', 2],
  add_1e7_gbs: ['numpy', 1],
  sum_1e7_gbs: ['torch', 1],
  mlp_steps: ['torch', 1.2],
  digits_mlp_epoch: ['torch', 1],
  digits_cnn_epoch: ['torch', 0.8],
};
const lowerIsBetter = (key) => key.endsWith('_us');

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const med = (peer, key) => {
  const xs = results[peer]?.samples[key];
  return xs && xs.length ? median(xs) : undefined;
};
/** gradbook's speed over the peer's: > 1 means gradbook is faster, for rates and times alike. */
function speedup(key, peer) {
  const g = med('gradbook', key);
  const p = med(peer, key);
  if (g === undefined || p === undefined) return undefined;
  return lowerIsBetter(key) ? p / g : g / p;
}
const fmt = (x) => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtRatio = (x) => (x === undefined ? '-' : `${x.toFixed(2)}x`);

const peerCols = PEERS;
const ratioCols = PEERS.filter((p) => p !== 'gradbook' && ROWS.some(([k]) => speedup(k, p) !== undefined));
const header = ['benchmark', 'unit', ...peerCols.map((p) => (p === 'tfjs' ? 'tfjs-wasm' : p)), ...ratioCols.map((p) => `gb/${p === 'tfjs' ? 'tfjs' : p}`), 'target', 'n'];
const rows = [];
for (const [key, label, unit] of ROWS) {
  if (!PEERS.some((p) => med(p, key) !== undefined || results[p].skipped[key])) continue;
  const cells = peerCols.map((p) => (med(p, key) === undefined && results[p].skipped[key] ? 'skip' : fmt(med(p, key))));
  const ratios = ratioCols.map((p) => fmtRatio(speedup(key, p)));
  // rows without a target are context for the row above them
  const [tp, tv] = TARGETS[key] ?? [];
  const s = tp === undefined ? undefined : speedup(key, tp);
  const target = tp === undefined ? '' : `≥${tv.toFixed(1)}x ${tp} ${s === undefined ? '' : s >= tv ? 'met' : 'NOT met'}`.trim();
  const n = results.gradbook?.samples[key]?.length ?? 0;
  rows.push([label, unit, ...cells, ...ratios, target, String(n)]);
}
const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...r[i]].length)));
const pad = (s, i) => (i < 2 || i === header.length - 2 ? s.padEnd(widths[i]) : s.padStart(widths[i]));
const printRow = (r) => console.log(r.map(pad).join('  ').trimEnd());

const nproc = spawnSync('nproc', { encoding: 'utf8' }).stdout?.trim() || String(os.availableParallelism());
const g = results.gradbook?.meta;
console.log('');
console.log(`gradbook bench  ${new Date().toISOString()}  ${ROUNDS} rounds x ${REPS} reps, medians`);
const load = os.loadavg();
console.log(`machine: nproc ${nproc}, ${os.cpus()[0]?.model ?? '?'}, load average ${loadAtStart.toFixed(2)} at start, ${load.map((x) => x.toFixed(2)).join(' ')} at end`);
if (Math.max(loadAtStart, load[1]) > Number(nproc) + 0.5) {
  console.log(`WARNING: the box was busy (load above nproc): other work shared the cores, figures are noisy; rerun when it is idle`);
}
if (g) console.log(`gradbook: CPU backend ${g.backend}, ${g.threads} thread(s)${g.avx2 === undefined ? '' : `, avx2=${g.avx2}`}, node ${g.node}`);
const t = results.torch?.meta;
if (t) console.log(`torch: ${t.version}, ${t.threads} threads, OMP_WAIT_POLICY=passive, BLAS ${t.blas}`);
const np = results.numpy?.meta;
if (np) console.log(`numpy: ${np.version} (one thread)`);
const tf = results.tfjs?.meta;
if (tf) console.log(`tfjs: ${tf.version} wasm backend, simd=${tf.simd}, threads ${tf.threads}`);
for (const p of PEERS) {
  if (results[p].error) console.log(`${p}: ${results[p].meta ? 'WARNING, a round failed' : 'could not run'} (${results[p].error})`);
  if (results[p].dropped.length) console.log(`${p}: WARNING, samples dropped from ${results[p].dropped.join(', ')}`);
}
console.log('');
printRow(header);
printRow(widths.map((w) => '-'.repeat(w)));
rows.forEach(printRow);
console.log('');
console.log('gb/X: gradbook speed over X (for µs/op, X time / gradbook time): above 1 means gradbook is faster.');
for (const p of PEERS) {
  for (const [k, why] of Object.entries(results[p].skipped)) {
    if (!results[p].samples[k]?.length) console.log(`skip: ${p} ${k}, ${why}`);
  }
  const once = [...results[p].slow].filter((k) => !results[p].skipped[k]);
  if (once.length && ROUNDS > 1) console.log(`${p}: over ${SLOW_S} s a round, not repeated in later rounds: ${once.join(', ')}`);
}
console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);

if (JSON_OUT) {
  const dump = Object.fromEntries(PEERS.map((p) => [p, { meta: results[p].meta, samples: results[p].samples, skipped: results[p].skipped, error: results[p].error }]));
  writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), nproc, rounds: ROUNDS, reps: REPS, results: dump }, null, 2));
}
