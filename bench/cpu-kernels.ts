/**
 * Native CPU backend kernels, timed through the Backend interface (so the TypeScript wrapper's
 * checks are included). Prints one JSON object of figures; cpu-kernels.js runs it next to
 * cpu-torch.py and prints ratios. Medians over several runs: the box is shared and noisy.
 */
import type { Arg, Backend } from '../runtime/backend.js';
import { cpuBackend, cpuInfo } from '../runtime/backends/cpu/index.js';
import type { DType } from '../runtime/dtype.js';

const cpu = cpuBackend as Backend;
if (cpuBackend === null) {
  console.error('cpu-kernels: the native addon is not built (npx node-gyp rebuild)');
  process.exit(1);
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** CPU seconds (all threads) of the last time() call's median run: robust to a busy box. */
let lastCpu = 0;

/** Median seconds of one call of fn, over `runs` timed runs after a warm-up. */
function time(fn: () => void, runs: number, inner = 1): number {
  fn();
  const ts: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9 / inner);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6 / inner);
  }
  lastCpu = median(cpus);
  return median(ts);
}

function tensor(dtype: DType, shape: number[], fill = true): Arg {
  const n = shape.reduce((a, b) => a * b, 1);
  const buf = cpu.alloc(dtype, n);
  if (fill) {
    const host = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) host[i] = Math.random() - 0.5;
    cpu.write(buf, dtype, host);
  }
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  return { buf, dtype, shape, strides, offset: 0 };
}

/** A [1, r, c] view of a contiguous [c, r] matrix. */
function transposed(dtype: DType, r: number, c: number): Arg {
  const t = tensor(dtype, [1, c, r]);
  return { ...t, shape: [1, r, c], strides: [0, 1, r] };
}

const figures: Record<string, number> = {};
const runs = Number(process.env.RUNS ?? 7);

for (const [name, n, dtype, form] of [
  ['matmul_f32_1024', 1024, 'float32', 'AB'],
  ['matmul_f32_2048', 2048, 'float32', 'AB'],
  ['matmul_f32_1024_AtB', 1024, 'float32', 'AtB'],
  ['matmul_f32_1024_ABt', 1024, 'float32', 'ABt'],
  ['matmul_f32_2048_AtB', 2048, 'float32', 'AtB'],
  ['matmul_f32_2048_ABt', 2048, 'float32', 'ABt'],
  ['matmul_f64_1024', 1024, 'float64', 'AB'],
] as [string, number, DType, string][]) {
  const a = form === 'AtB' ? transposed(dtype, n, n) : tensor(dtype, [1, n, n]);
  const b = form === 'ABt' ? transposed(dtype, n, n) : tensor(dtype, [1, n, n]);
  const out = tensor(dtype, [1, n, n], false);
  const t = time(() => cpu.matmul(out, a, b), n >= 2048 ? Math.min(runs, 5) : runs);
  figures[`${name}_gflops`] = (2 * n * n * n) / t / 1e9;
  // per CPU-second of all threads: efficiency, unaffected by time lost to other processes
  figures[`${name}_gflop_per_cpu_s`] = (2 * n * n * n) / lastCpu / 1e9;
  for (const x of [a, b, out]) cpu.free(x.buf);
}

// The MLP step's products (784-256-10, batch 128): forward, and the transposed backward forms.
for (const [name, M, K, N, ta, tb] of [
  ['mlp_x_w1', 128, 784, 256, false, false],
  ['mlp_xT_g1', 784, 128, 256, true, false],
  ['mlp_h_w2', 128, 256, 10, false, false],
  ['mlp_g2_w2T', 128, 10, 256, false, true],
] as [string, number, number, number, boolean, boolean][]) {
  const a = ta ? transposed('float32', M, K) : tensor('float32', [1, M, K]);
  const b = tb ? transposed('float32', K, N) : tensor('float32', [1, K, N]);
  const out = tensor('float32', [1, M, N], false);
  figures[`${name}_gflops`] = (2 * M * N * K) / time(() => cpu.matmul(out, a, b), runs * 3, 20) / 1e9;
  for (const x of [a, b, out]) cpu.free(x.buf);
}

{
  const n = 10_000_000;
  const a = tensor('float32', [n]);
  const b = tensor('float32', [n]);
  // "into a new tensor": allocation (fresh pages) is part of the cost, as in PyTorch
  const t = time(() => {
    const out = tensor('float32', [n], false);
    cpu.binary('add', out, a, b);
    cpu.free(out.buf);
  }, runs * 2);
  figures.add_1e7_f32_gbps = (12 * n) / t / 1e9;
  const out = tensor('float32', [n], false);
  figures.add_1e7_f32_preallocated_gbps = (12 * n) / time(() => cpu.binary('add', out, a, b), runs * 2) / 1e9;
  const s = tensor('float32', [1], false);
  figures.sum_1e7_f32_gbps = (4 * n) / time(() => cpu.reduce('sum', s, a, [0]), runs * 3) / 1e9;
  const m = tensor('float32', [2500, 4000]);
  const col = tensor('float32', [1, 4000], false);
  figures.sum_axis0_1e7_f32_gbps = (4 * n) / time(() => cpu.reduce('sum', col, m, [0]), runs * 2) / 1e9;
  figures.exp_1e7_f32_gbps = (8 * n) / time(() => cpu.unary('exp', out, a), runs) / 1e9;
  for (const x of [a, b, out, s, m, col]) cpu.free(x.buf);
}

{
  const a = tensor('float32', [4]);
  const b = tensor('float32', [4]);
  const out = tensor('float32', [4], false);
  const calls = 200_000;
  figures.add_4_f32_us = time(() => cpu.binary('add', out, a, b), 15, calls) * 1e6;
  figures.add_4_f32_with_alloc_us =
    time(
      () => {
        const o = tensor('float32', [4], false);
        cpu.binary('add', o, a, b);
      },
      15,
      calls / 4,
    ) * 1e6;
}

console.log(JSON.stringify({ threads: cpuInfo?.threads, avx2: cpuInfo?.avx2, ...figures }));
