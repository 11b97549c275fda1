/**
 * GPU checks for the CUDA backend, in one run on a GPU machine (about 5 minutes on an H200):
 *   (a) every op against the CPU backend on fresh random inputs (float32: relative error <= 1e-5
 *       for elementwise ops and reductions, <= 1e-3 for TF32 matmul);
 *   (b) the digits MLP trained on CPU and on CUDA from the same start: accuracies side by side;
 *   (c) timings beside PyTorch on the same GPU: float32 (strict and TF32) and bf16 matmul at 4096
 *       and 8192 (TFLOP/s), a 4-element add (µs per op), the 784-256-10 MLP step at batch 128 and
 *       4096 (steps/s).
 * Prints a short table last; writes every number to $OUT/gpu.json when OUT is set. Exits 1 when a
 * check fails.
 *
 * Built by bench/gpu-pack.sh into .device/gpu-checks.mjs; run on the GPU machine with
 *   bash .device/run.sh node --expose-gc .device/gpu-checks.mjs
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Arg, Backend } from '../runtime/backend.js';
import { cpuBackend } from '../runtime/backends/cpu/index.js';
import { referenceBackend } from '../runtime/backends/reference/index.js';
import { cuda, cudaBackend } from '../runtime/backends/cuda/index.js';
import { arrayFor, type DType, type TypedArray } from '../runtime/dtype.js';
import { withFlags } from '../runtime/flags.js';
import { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS, ARG_REDUCE_OPS } from '../runtime/ops.js';
import * as gb from '../runtime/index.js';
import * as nn from '../runtime/nn/index.js';
import * as optim from '../runtime/optim/index.js';
import * as data from '../runtime/data/index.js';
import type { Tensor } from '../runtime/index.js';

const t00 = performance.now();
const log = (s: string) => console.log(`[${((performance.now() - t00) / 1000).toFixed(1)}s] ${s}`);
const results: Record<string, unknown> = {};
const failures: string[] = [];

// ---- cuBLAS: find the library PyTorch's wheels carry, when no path is given ----
function findCublas(): string | null {
  const py = [
    'import glob, os, sys',
    'paths = []',
    'try:',
    '  import nvidia',
    '  for p in list(nvidia.__path__): paths += glob.glob(os.path.join(p, "**", "libcublas.so*"), recursive=True)',
    'except Exception: pass',
    'try:',
    '  import torch',
    '  paths += glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libcublas.so*"))',
    'except Exception: pass',
    'paths += glob.glob("/usr/local/cuda/lib64/libcublas.so*") + glob.glob("/usr/local/cuda/targets/*/lib/libcublas.so*")',
    'print("\\n".join(paths))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', py], { encoding: 'utf8', timeout: 60_000 });
  const found = (r.stdout ?? '').split('\n').filter((p) => /libcublas\.so\.\d+$/.test(p));
  found.sort((a, b) => Number(/\.so\.(\d+)$/.exec(b)![1]) - Number(/\.so\.(\d+)$/.exec(a)![1]));
  return found[0] ?? null;
}
if (!process.env.GRADBOOK_CUBLAS) {
  const p = findCublas();
  if (p) process.env.GRADBOOK_CUBLAS = p; // read by the addon when matmul first needs cuBLAS
}

if (cudaBackend === null) {
  console.log(`CUDA is not available: ${cuda.unavailableReason()}`);
  if (process.env.OUT) writeFileSync(join(process.env.OUT, 'gpu.json'), JSON.stringify({ available: false, reason: cuda.unavailableReason() }, null, 2));
  process.exit(1);
}
const dev = cudaBackend;
const host: Backend = cpuBackend ?? referenceBackend;
results.device = cuda.deviceInfo();
results.blas = cuda.blasInfo();
results.cpuBackend = host.name;
log(`device ${JSON.stringify(results.device)}`);
log(`cuBLAS ${JSON.stringify(results.blas)}; CPU side: ${host.name} backend`);

// ---- (a) every op against the CPU backend ----
const rnd = () => Math.random();
function randomValues(dtype: DType, n: number, opts: { edges?: boolean; positive?: boolean; range?: number } = {}): Float64Array {
  const out = new Float64Array(n);
  const special = [0, -1, 1, Infinity, -Infinity, NaN, 0.5];
  const range = opts.range ?? 8;
  for (let i = 0; i < n; i++) {
    if (dtype === 'bool') out[i] = rnd() < 0.5 ? 0 : 1;
    else if (dtype === 'int32') out[i] = Math.floor(rnd() * 41) - 20;
    else if (opts.edges && rnd() < 0.01) out[i] = special[Math.floor(rnd() * special.length)];
    else out[i] = opts.positive ? rnd() * range : (rnd() - 0.5) * range;
  }
  return out;
}

interface Pair {
  d: Arg;
  h: Arg;
}
/** The same strided view of the same data on the GPU and the CPU (half types: float32 on the CPU). */
function pair(shape: number[], dtype: DType, layout: 'contiguous' | 'transposed' | 'broadcast' | 'offset', vals?: Float64Array): Pair {
  const nd = shape.length;
  let strides: number[];
  let storage: number;
  let offset = 0;
  const contiguous = (s: number[]) => {
    const st = new Array<number>(s.length);
    let acc = 1;
    for (let d = s.length - 1; d >= 0; d--) {
      st[d] = acc;
      acc *= Math.max(s[d], 1);
    }
    return st;
  };
  const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
  if (layout === 'transposed' && nd >= 2) {
    const base = shape.slice().reverse();
    strides = contiguous(base).reverse();
    storage = numel(base);
  } else if (layout === 'broadcast' && nd >= 1) {
    const inner = shape.slice();
    inner[0] = 1;
    strides = contiguous(inner);
    strides[0] = 0;
    storage = numel(inner);
  } else if (layout === 'offset') {
    strides = contiguous(shape).map((s) => s * 2);
    offset = 5;
    storage = 5 + 2 * numel(shape);
  } else {
    strides = contiguous(shape);
    storage = numel(shape);
  }
  const v = vals ?? randomValues(dtype, storage);
  const half = dtype === 'float16' || dtype === 'bfloat16';
  const hostDtype: DType = half ? 'float32' : dtype;
  const ha = arrayFor(hostDtype, storage);
  for (let i = 0; i < storage; i++) ha[i] = v[i % v.length];
  const hb = host.alloc(hostDtype, storage);
  host.write(hb, hostDtype, ha);
  const db = dev.alloc(dtype, storage);
  if (half) {
    // write float32, convert on the device; round the CPU copy the same way (through the device)
    const tmp = dev.alloc('float32', storage);
    dev.write(tmp, 'float32', ha);
    const flat = (buf: typeof tmp, dt: DType): Arg => ({ buf, dtype: dt, shape: [storage], strides: [1], offset: 0 });
    dev.copy(flat(db, dtype), flat(tmp, 'float32'));
    dev.copy(flat(tmp, 'float32'), flat(db, dtype));
    host.write(hb, 'float32', dev.read(flat(tmp, 'float32')));
    dev.free(tmp);
  } else {
    dev.write(db, dtype, ha);
  }
  return { d: { buf: db, dtype, shape, strides, offset }, h: { buf: hb, dtype: hostDtype, shape, strides, offset } };
}
function outPair(shape: number[], dtype: DType): Pair {
  return pair(shape, dtype, 'contiguous', new Float64Array([0]));
}
function freePair(...ps: Pair[]) {
  for (const p of ps) {
    dev.free(p.d.buf);
    host.free(p.h.buf);
  }
}
function asF64(a: TypedArray, dtype: DType): Float64Array {
  const out = new Float64Array(a.length);
  if (dtype === 'float16' || dtype === 'bfloat16') {
    for (let i = 0; i < a.length; i++) out[i] = dtype === 'bfloat16' ? bf16ToF32(a[i]) : f16ToF32(a[i]);
  } else for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}
function bf16ToF32(h: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setUint32(0, h << 16);
  return b.getFloat32(0);
}
function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

interface Cmp {
  elem: number; // max |g - r| / max(|r|, floor)
  norm: number; // max |g - r| / max |r|
  mismatch: number; // NaN / infinity pattern differences
}
function compare(g: Float64Array, r: Float64Array, floor = 1e-6): Cmp {
  let elem = 0;
  let diff = 0;
  let mx = 0;
  let mismatch = 0;
  for (let i = 0; i < r.length; i++) {
    const x = g[i];
    const y = r[i];
    if (!Number.isFinite(y) || !Number.isFinite(x)) {
      if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)) || x === y)) mismatch++;
      continue;
    }
    const d = Math.abs(x - y);
    diff = Math.max(diff, d);
    mx = Math.max(mx, Math.abs(y));
    elem = Math.max(elem, d / Math.max(Math.abs(y), floor));
  }
  return { elem, norm: mx > 0 ? diff / mx : diff, mismatch };
}

const opRows: { op: string; dtype: string; elem: number; norm: number; mismatch: number; tol: number; metric: string; ok: boolean }[] = [];
function record(op: string, dtype: string, c: Cmp, tol: number, metric: 'elem' | 'norm') {
  const err = metric === 'elem' ? c.elem : c.norm;
  const ok = c.mismatch === 0 && err <= tol;
  opRows.push({ op, dtype, elem: c.elem, norm: c.norm, mismatch: c.mismatch, tol, metric, ok });
  if (!ok) failures.push(`${op} ${dtype}: ${metric} error ${err.toExponential(2)} (tolerance ${tol}), ${c.mismatch} NaN/inf mismatches`);
}
function run(op: string, dtype: DType, out: Pair, fn: (b: Backend, o: Arg, side: 'd' | 'h') => void, tol: number, metric: 'elem' | 'norm' = 'elem', floor?: number) {
  try {
    fn(dev, out.d, 'd');
    fn(host, out.h, 'h');
    const g = asF64(dev.read(out.d), out.d.dtype);
    const r = asF64(host.read(out.h), out.h.dtype);
    record(op, dtype, compare(g, r, floor), tol, metric);
  } catch (e) {
    opRows.push({ op, dtype, elem: NaN, norm: NaN, mismatch: -1, tol, metric, ok: false });
    failures.push(`${op} ${dtype}: threw ${(e as Error).message}`);
  }
}
const tolFor = (dtype: DType) => (dtype === 'float32' ? 1e-5 : dtype === 'float64' ? 1e-12 : dtype === 'float16' ? 2e-3 : dtype === 'bfloat16' ? 1.6e-2 : 0);

function opChecks() {
  const shape = [193, 131];
  const FLOATS: DType[] = mock ? ['float32', 'float64'] : ['float32', 'float64', 'float16', 'bfloat16'];
  for (const dtype of [...FLOATS, 'int32', 'bool'] as DType[]) {
    for (const op of UNARY_OPS) {
      if ((dtype === 'int32' || dtype === 'bool') && op !== 'neg' && op !== 'abs' && op !== 'sign' && op !== 'relu' && op !== 'logicalNot') continue;
      const positive = op === 'log' || op === 'sqrt' || op === 'rsqrt';
      const a = pair(shape, dtype, 'transposed', randomValues(dtype, shape[0] * shape[1], { edges: dtype === 'float32' || dtype === 'float64', positive, range: op === 'exp' ? 20 : 8 }));
      const outDt: DType = op === 'logicalNot' ? 'bool' : dtype;
      const out = outPair(shape, outDt);
      // half types: the device computes in float and rounds once; compare with the float32 result
      run(`unary ${op}`, dtype, out, (b, o, s) => b.unary(op, o, a[s]), tolFor(dtype) || 0, 'elem', dtype === 'float16' || dtype === 'bfloat16' ? 1e-2 : 1e-6);
      freePair(a, out);
    }
    for (const op of [...BINARY_OPS, ...COMPARE_OPS]) {
      // half types overflow where float32 does not (pow, div): those are float32's business
      if ((dtype === 'float16' || dtype === 'bfloat16') && (op === 'pow' || op === 'div')) continue;
      const a = pair(shape, dtype, 'offset');
      // pow: small exponents, so int32 powers stay exact (below 2^53) on every backend
      const b = pair(shape, dtype, 'broadcast', op === 'pow' ? (dtype === 'int32' ? new Float64Array(shape[1]).map(() => Math.floor(rnd() * 5)) : randomValues(dtype, shape[1], { range: 4 })) : undefined);
      const isCmp = (COMPARE_OPS as readonly string[]).includes(op);
      const out = outPair(shape, isCmp ? 'bool' : dtype);
      run(`${isCmp ? 'compare' : 'binary'} ${op}`, dtype, out, (bk, o, s) => (isCmp ? bk.compare(op as (typeof COMPARE_OPS)[number], o, a[s], b[s]) : bk.binary(op as (typeof BINARY_OPS)[number], o, a[s], b[s])), tolFor(dtype), 'elem', dtype === 'float16' || dtype === 'bfloat16' ? 1e-2 : 1e-6);
      freePair(a, b, out);
    }
    {
      const c = pair(shape, 'bool', 'transposed');
      const a = pair(shape, dtype, 'offset');
      const b = pair(shape, dtype, 'broadcast');
      const out = outPair(shape, dtype);
      run('where', dtype, out, (bk, o, s) => bk.where(o, c[s], a[s], b[s]), 0);
      const f = outPair(shape, dtype);
      run('fill', dtype, f, (bk, o) => bk.fill(o, 2.75), tolFor(dtype));
      freePair(c, a, b, out, f);
    }
    if (dtype !== 'float16' && dtype !== 'bfloat16')
      for (const to of ['float32', 'float64', 'int32', 'bool'] as DType[]) {
        const a = pair(shape, dtype, 'transposed');
        const out = outPair(shape, to);
        run(`copy to ${to}`, dtype, out, (bk, o, s) => bk.copy(o, a[s]), tolFor(to));
        freePair(a, out);
      }
    if (dtype === 'bool') continue;
    for (const op of REDUCE_OPS)
      for (const [rshape, axes, layout] of [
        [[513, 257], [0], 'contiguous'],
        [[513, 257], [1], 'contiguous'],
        [[513, 257], [0, 1], 'transposed'],
        [[64, 48, 40], [0, 2], 'offset'],
        [[3, 1 << 20], [1], 'contiguous'],
        [[1 << 21], [0], 'contiguous'],
      ] as [number[], number[], 'contiguous' | 'transposed' | 'offset'][]) {
        const n = rshape.reduce((x, y) => x * y, 1);
        const a = pair(rshape, dtype, layout, randomValues(dtype, layout === 'offset' ? 5 + 2 * n : n));
        const out = outPair(rshape.map((s, d) => (axes.includes(d) ? 1 : s)), dtype);
        const half = dtype === 'float16' || dtype === 'bfloat16';
        run(`reduce ${op} [${rshape}] axes [${axes}]`, dtype, out, (bk, o, s) => bk.reduce(op, o, a[s], axes), half ? 1e-2 : tolFor(dtype), 'norm');
        freePair(a, out);
      }
    for (const op of ARG_REDUCE_OPS)
      for (const axis of [0, 1]) {
        const a = pair([300, 200], dtype, 'transposed');
        const out = outPair([300, 200].map((s, d) => (d === axis ? 1 : s)), 'int32');
        run(`${op} axis ${axis}`, dtype, out, (bk, o, s) => bk.argReduce(op, o, a[s], axis), 0);
        freePair(a, out);
      }
  }
  // matmul: layouts x dtypes; TF32 opt-in
  const mm = (B: number, M: number, K: number, N: number, dtype: DType, ta: boolean, tb: boolean, tf32: boolean, tol: number) => {
    const a = pair(ta ? [B, K, M] : [B, M, K], dtype, 'contiguous', randomValues(dtype, B * M * K, { range: 2 }));
    const b = pair(tb ? [B, N, K] : [B, K, N], dtype, 'contiguous', randomValues(dtype, B * K * N, { range: 2 }));
    const tr = (x: Arg): Arg => ({ ...x, shape: [x.shape[0], x.shape[2], x.shape[1]], strides: [x.strides[0], x.strides[2], x.strides[1]] });
    const A = { d: ta ? tr(a.d) : a.d, h: ta ? tr(a.h) : a.h };
    const Bm = { d: tb ? tr(b.d) : b.d, h: tb ? tr(b.h) : b.h };
    const out = outPair([B, M, N], dtype);
    const name = `matmul ${B}x${M}x${K}x${N}${ta ? ' A^T' : ''}${tb ? ' B^T' : ''}${tf32 ? ' tf32' : ''}`;
    withFlags({ allowTF32: tf32 }, () => run(name, dtype, out, (bk, o, s) => bk.matmul(o, A[s], Bm[s]), tol, 'norm'));
    freePair(a, b, out);
  };
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as [boolean, boolean][]) {
    mm(3, 130, 257, 190, 'float32', ta, tb, false, 1e-5);
    mm(3, 130, 257, 190, 'float32', ta, tb, true, 1e-3);
  }
  mm(2, 100, 150, 70, 'float64', false, true, false, 1e-12);
  mm(2, 100, 150, 70, 'int32', true, false, false, 0);
  if (!mock) {
    mm(2, 128, 256, 64, 'float16', false, false, false, 2e-3);
    mm(2, 128, 256, 64, 'bfloat16', false, true, false, 1e-2);
  }
  // indexing
  for (const dtype of ['float32', 'float64', 'int32'] as DType[]) {
    const shape2 = [300, 40];
    for (const dim of [0, 1]) {
      const a = pair(shape2, dtype, 'transposed');
      const ishape = shape2.map((s, d) => (d === dim ? 77 : s));
      const iv = new Float64Array(ishape[0] * ishape[1]).map(() => Math.floor(rnd() * shape2[dim]));
      const idx = pair(ishape, 'int32', 'contiguous', iv);
      const g = outPair(ishape, dtype);
      run(`gather dim ${dim}`, dtype, g, (bk, o, s) => bk.gather(o, a[s], dim, idx[s]), 0);
      const src = pair(ishape, dtype, 'offset', randomValues(dtype, 5 + 2 * ishape[0] * ishape[1], { range: 2 }));
      const base = pair(shape2, dtype, 'contiguous', randomValues(dtype, shape2[0] * shape2[1], { range: 2 }));
      run(`scatterAdd dim ${dim}`, dtype, base, (bk, o, s) => bk.scatterAdd(o, dim, idx[s], src[s]), dtype === 'float32' ? 1e-5 : tolFor(dtype), 'norm');
      const vec = pair([50], 'int32', 'contiguous', new Float64Array(50).map(() => Math.floor(rnd() * shape2[dim])));
      const selShape = shape2.map((s, d) => (d === dim ? 50 : s));
      const sel = outPair(selShape, dtype);
      run(`indexSelect dim ${dim}`, dtype, sel, (bk, o, s) => bk.indexSelect(o, a[s], dim, vec[s]), 0);
      const src2 = pair(selShape, dtype, 'transposed', randomValues(dtype, selShape[0] * selShape[1], { range: 2 }));
      const base2 = pair(shape2, dtype, 'offset', randomValues(dtype, 5 + 2 * shape2[0] * shape2[1], { range: 2 }));
      run(`indexAdd dim ${dim}`, dtype, base2, (bk, o, s) => bk.indexAdd(o, dim, vec[s], src2[s]), dtype === 'float32' ? 1e-5 : tolFor(dtype), 'norm');
      freePair(a, idx, g, src, base, vec, sel, src2, base2);
    }
  }
  // faults surface as Errors and the process lives on
  try {
    const a = pair([4], 'float32', 'contiguous');
    const idx = pair([2], 'int32', 'contiguous', new Float64Array([0, 99]));
    const o = outPair([2], 'float32');
    dev.gather(o.d, a.d, 0, idx.d);
    let msg = '';
    try {
      dev.sync();
    } catch (e) {
      msg = (e as Error).message;
    }
    const ok = /gather/.test(msg);
    opRows.push({ op: 'bad index -> Error', dtype: '-', elem: 0, norm: 0, mismatch: ok ? 0 : 1, tol: 0, metric: 'elem', ok });
    if (!ok) failures.push(`an out-of-range gather index did not raise a named Error (got "${msg}")`);
    freePair(a, idx, o);
  } catch (e) {
    failures.push(`index error check threw ${(e as Error).message}`);
  }
}

// ---- out of memory: an Error with the figures; the process lives on ----
function oomCheck() {
  let msg = '';
  try {
    dev.alloc('float32', 2 ** 40 / 4); // 1 TiB
  } catch (e) {
    msg = (e as Error).message;
  }
  const t = dev.alloc('float32', 16);
  dev.free(t);
  results.oom = msg;
  if (!/out of memory/.test(msg)) failures.push(`a 1 TiB allocation did not raise an out-of-memory Error (got "${msg}")`);
  log(`OOM: ${msg.slice(0, 200)}`);
}

// ---- (b) the digits MLP on CPU and CUDA ----
/** The bundled digits (data/digits.csv.gz, found from the working directory or beside the bundle). */
function loadDigits(): { x: Tensor; y: Tensor } {
  const here = dirname(fileURLToPath(import.meta.url));
  const path = [join(process.cwd(), 'data', 'digits.csv.gz'), join(here, '..', 'data', 'digits.csv.gz'), join(here, '..', '..', 'data', 'digits.csv.gz')].find((p) => existsSync(p));
  if (!path) return data.datasets.digits();
  const lines = gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter((l) => l.trim() !== '');
  const x = new Float32Array(lines.length * 64);
  const y = new Int32Array(lines.length);
  lines.forEach((line, r) => {
    const cells = line.split(',');
    for (let c = 0; c < 64; c++) x[r * 64 + c] = Number(cells[c]);
    y[r] = Number(cells[64]);
  });
  return { x: gb.fromTypedArray(x, [lines.length, 64]), y: gb.fromTypedArray(y, [lines.length]) };
}

function digitsMlp() {
  const { x, y } = loadDigits();
  // a fixed 80/20 split
  const n = y.shape[0];
  const perm = [...Array(n).keys()];
  let s0 = 2024;
  for (let i = n - 1; i > 0; i--) {
    s0 = (s0 * 1103515245 + 12345) % 2147483648;
    const j = s0 % (i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const cut = Math.round(n * 0.8);
  const train = perm.slice(0, cut);
  const test = perm.slice(cut);
  const pick = (t: Tensor, rows: number[]) => t.indexSelect(0, gb.tensor(rows, { dtype: 'int32' }));
  const xs = x.div(16);
  const xTrain = pick(xs, train);
  const yTrain = pick(y, train);
  const xTest = pick(xs, test);
  const yTest = pick(y, test);
  const F = nn.functional;
  const out: Record<string, number> = {};
  for (const device of ['cpu', 'cuda'] as const) {
    gb.manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(64, 128), new nn.ReLU(), new nn.Linear(128, 10));
    model.to(device);
    const opt = new optim.Adam(model.parameters(), { lr: 3e-3 });
    const xt = xTrain.to(device);
    const yt = yTrain.to(device);
    // batches by a fixed shuffle of our own, the same on both devices
    let seed = 1;
    const nTrain = xTrain.shape[0];
    const order = [...Array(nTrain).keys()];
    const t0 = performance.now();
    for (let e = 0; e < 20; e++) {
      for (let i = nTrain - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const j = seed % (i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (let start = 0; start < nTrain; start += 32)
        gb.tidy(() => {
          const rows = gb.tensor(order.slice(start, start + 32), { dtype: 'int32', device });
          const xb = xt.indexSelect(0, rows);
          const yb = yt.indexSelect(0, rows);
          opt.zeroGrad();
          const loss = F.crossEntropy(model.call(xb) as Tensor, yb);
          loss.backward();
          opt.step();
        });
    }
    const pred = gb.noGrad(() => (model.call(xTest.to(device)) as Tensor).argmax(1));
    const acc = pred.eq(yTest.to(device)).sum().item() / yTest.shape[0];
    out[`${device}Accuracy`] = acc;
    out[`${device}Seconds`] = (performance.now() - t0) / 1000;
    log(`digits MLP 64-128-10 on ${device}: accuracy ${(acc * 100).toFixed(2)}% in ${out[`${device}Seconds`].toFixed(1)} s`);
  }
  results.digits = out;
  if (out.cudaAccuracy < out.cpuAccuracy - 0.015) failures.push(`digits MLP: CUDA accuracy ${out.cudaAccuracy} below the CPU's ${out.cpuAccuracy}`);
}

// ---- (c) timings ----
function timeIt(fn: () => void, minSeconds: number, maxIters: number): number {
  fn();
  cuda.synchronize();
  let iters = 0;
  const t0 = performance.now();
  while (iters < maxIters && (iters < 3 || performance.now() - t0 < minSeconds * 1000)) {
    fn();
    iters++;
  }
  cuda.synchronize();
  return (performance.now() - t0) / 1000 / iters;
}

function uniform(shape: number[], dtype: DType): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const h = new Float32Array(n);
  for (let i = 0; i < n; i++) h[i] = Math.random() * 2 - 1;
  return gb.fromTypedArray(h, shape, { device: 'cuda' }).to(dtype);
}

// Smoke test of this script on the CPU: the emulated GPU
// (GRADBOOK_LIBCUDA=<libcuda.so.1 built from test/support/cuda/emu.cc>).
const mock = false;
const emulated = cuda.deviceInfo()?.name === 'Fake GPU';
const small = mock || emulated;
// GPU_CHECKS=ops runs the op checks alone
const only = process.env.GPU_CHECKS ?? '';
const SIZES = small ? [32, 64] : [4096, 8192];

/** One timing: a failure is recorded and the other timings go on. */
function measure(t: Record<string, number>, key: string, fn: () => number) {
  try {
    t[key] = fn();
  } catch (e) {
    failures.push(`timing ${key}: ${(e as Error).message}`);
    log(`timing ${key} FAILED: ${(e as Error).stack ?? e}`);
  }
}

function timings() {
  const t: Record<string, number> = {};
  for (const n of SIZES) {
    for (const [label, dtype, tf32] of [
      ['float32', 'float32', false],
      ['tf32', 'float32', true],
      ['bf16', 'bfloat16', false],
    ] as [string, DType, boolean][]) {
      if (mock && dtype === 'bfloat16') continue;
      measure(t, `matmul_${label}_${n}_tflops`, () => {
        const a = uniform([n, n], dtype);
        const b = uniform([n, n], dtype);
        const s = withFlags({ allowTF32: tf32 }, () => timeIt(() => gb.tidy(() => void gb.matmul(a, b)), small ? 0 : 1.0, n === 8192 ? 20 : 50));
        gb.dispose(a);
        gb.dispose(b);
        return (2 * n ** 3) / s / 1e12;
      });
      log(`matmul ${label} ${n}: ${t[`matmul_${label}_${n}_tflops`]?.toFixed(1)} TFLOP/s`);
    }
    cuda.emptyCache();
  }
  measure(t, 'add4_us', () => {
    const a = gb.tensor([1, 2, 3, 4], { device: 'cuda' });
    const b = gb.tensor([5, 6, 7, 8], { device: 'cuda' });
    const s = timeIt(() => gb.tidy(() => {
      for (let i = 0; i < 1000; i++) gb.add(a, b);
    }), small ? 0 : 2.0, 20) / 1000;
    return s * 1e6;
  });
  log(`4-element add: ${t.add4_us?.toFixed(2)} µs per op`);
  for (const batch of small ? [8, 16] : [128, 4096]) {
    measure(t, `mlp_${batch}_steps_per_s`, () => {
      gb.manualSeed(0);
      const F = nn.functional;
      const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 10));
      model.to('cuda');
      const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
      const x = uniform([batch, 784], 'float32');
      const y = gb.randint(0, 10, [batch], { device: 'cuda' });
      const s = timeIt(() => gb.tidy(() => {
        opt.zeroGrad();
        const loss = F.crossEntropy(model.call(x) as Tensor, y);
        loss.backward();
        opt.step();
      }), small ? 0 : 2.0, 2000);
      return 1 / s;
    });
    log(`MLP 784-256-10 step, batch ${batch}: ${t[`mlp_${batch}_steps_per_s`]?.toFixed(0)} steps/s`);
  }
  results.gradbook = t;
  return t;
}

const TORCH = String.raw`
import json, time, torch
torch.manual_seed(0)
dev = 'cuda'
out = {}
def timeit(fn, min_s, max_iters):
    fn(); torch.cuda.synchronize()
    it = 0; t0 = time.perf_counter()
    while it < max_iters and (it < 3 or time.perf_counter() - t0 < min_s):
        fn(); it += 1
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / it
for n in (4096, 8192):
    for label, dt, tf32 in (('float32', torch.float32, False), ('tf32', torch.float32, True), ('bf16', torch.bfloat16, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a = torch.rand(n, n, device=dev, dtype=torch.float32).mul_(2).sub_(1).to(dt)
        b = torch.rand(n, n, device=dev, dtype=torch.float32).mul_(2).sub_(1).to(dt)
        s = timeit(lambda: torch.matmul(a, b), 1.0, 20 if n == 8192 else 50)
        out['matmul_%s_%d_tflops' % (label, n)] = 2 * n ** 3 / s / 1e12
        del a, b
torch.backends.cuda.matmul.allow_tf32 = False
a = torch.tensor([1., 2., 3., 4.], device=dev); b = torch.tensor([5., 6., 7., 8.], device=dev)
def adds():
    for _ in range(1000): torch.add(a, b)
out['add4_us'] = timeit(adds, 2.0, 20) / 1000 * 1e6
for batch in (128, 4096):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(batch, 784, device=dev) * 2 - 1
    y = torch.randint(0, 10, (batch,), device=dev)
    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    out['mlp_%d_steps_per_s' % batch] = 1 / timeit(step, 2.0, 2000)
out['torch'] = torch.__version__
print('JSON' + json.dumps(out))
`;

function torchTimings(): Record<string, number> | null {
  const r = spawnSync('python3', ['-c', TORCH], { encoding: 'utf8', timeout: 180_000 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('JSON'));
  if (!line) {
    log(`PyTorch timings failed: ${(r.stderr ?? '').slice(-1000)} ${r.error ?? ''}`);
    return null;
  }
  const t = JSON.parse(line.slice(4)) as Record<string, number>;
  results.torch = t;
  log(`PyTorch ${t.torch}: ${JSON.stringify(t)}`);
  return t;
}

function section(name: string, fn: () => void) {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    failures.push(`${name}: ${(e as Error).stack ?? e}`);
    log(`${name} FAILED: ${(e as Error).stack ?? e}`);
  }
  log(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

section('op checks', opChecks);
section('out of memory', oomCheck);
if (only !== 'ops') section('digits MLP', digitsMlp);
let ours: Record<string, number> = {};
if (only !== 'ops')
  section('gradbook timings', () => {
    ours = timings();
  });
results.memory = cuda.memoryStats();
cuda.emptyCache();
let theirs: Record<string, number> | null = null;
if (!small && only !== 'ops')
  section('PyTorch timings', () => {
    theirs = torchTimings();
  });

// ---- report ----
results.ops = opRows;
results.failures = failures;
const bad = opRows.filter((r) => !r.ok);
log(`op checks: ${opRows.length - bad.length}/${opRows.length} passed`);
for (const r of bad) console.log(`  FAIL ${r.op} ${r.dtype}: elem ${r.elem.toExponential(2)} norm ${r.norm.toExponential(2)} mismatches ${r.mismatch} (tol ${r.tol}, ${r.metric})`);
const worst = (dt: string, metric: 'elem' | 'norm', pred: (op: string) => boolean) =>
  Math.max(0, ...opRows.filter((r) => r.dtype === dt && r.metric === metric && pred(r.op) && Number.isFinite(r[metric])).map((r) => r[metric]));
results.worst = {
  float32Elementwise: worst('float32', 'elem', (op) => !op.startsWith('matmul')),
  float32Reductions: worst('float32', 'norm', (op) => op.startsWith('reduce')),
  float32Matmul: worst('float32', 'norm', (op) => op.startsWith('matmul') && !op.includes('tf32')),
  tf32Matmul: worst('float32', 'norm', (op) => op.includes('tf32')),
};
if (process.env.OUT && existsSync(process.env.OUT)) writeFileSync(join(process.env.OUT, 'gpu.json'), JSON.stringify(results, null, 2));

const T = theirs as Record<string, number> | null;
const row = (name: string, key: string, unit: string, higherBetter: boolean) => {
  const g = ours[key];
  const p = T?.[key];
  const ratio = g !== undefined && p !== undefined ? (higherBetter ? g / p : p / g) : NaN;
  return `${name.padEnd(28)} ${(g?.toFixed(2) ?? '-').padStart(10)} ${(p?.toFixed(2) ?? '-').padStart(10)} ${unit.padEnd(9)} ${Number.isFinite(ratio) ? ratio.toFixed(2) + 'x' : '-'}`;
};
const w = results.worst as Record<string, number>;
console.log('\n==== gradbook CUDA backend on ' + ((results.device as { name?: string } | null)?.name ?? '?') + ' ====');
console.log(`ops vs ${host.name} CPU backend: ${opRows.length - bad.length}/${opRows.length} pass; worst float32 rel err: elementwise ${w.float32Elementwise.toExponential(1)}, reductions ${w.float32Reductions.toExponential(1)}, matmul ${w.float32Matmul.toExponential(1)}, tf32 matmul ${w.tf32Matmul.toExponential(1)}`);
const d = results.digits as Record<string, number> | undefined;
if (d) console.log(`digits MLP accuracy: cpu ${(d.cpuAccuracy * 100).toFixed(2)}%  cuda ${(d.cudaAccuracy * 100).toFixed(2)}%`);
console.log(`${'timing'.padEnd(28)} ${'gradbook'.padStart(10)} ${'pytorch'.padStart(10)} ${'unit'.padEnd(9)} gradbook/pytorch (speed)`);
for (const n of SIZES) {
  console.log(row(`matmul float32 ${n}`, `matmul_float32_${n}_tflops`, 'TFLOP/s', true));
  console.log(row(`matmul tf32 ${n}`, `matmul_tf32_${n}_tflops`, 'TFLOP/s', true));
  console.log(row(`matmul bf16 ${n}`, `matmul_bf16_${n}_tflops`, 'TFLOP/s', true));
}
console.log(row('add, 4 elements', 'add4_us', 'µs/op', false));
console.log(row('MLP step, batch 128', 'mlp_128_steps_per_s', 'steps/s', true));
console.log(row('MLP step, batch 4096', 'mlp_4096_steps_per_s', 'steps/s', true));
console.log(failures.length ? `FAILURES (${failures.length}):\n  ${failures.join('\n  ')}` : 'all checks passed');
console.log(`total ${((performance.now() - t00) / 1000).toFixed(0)} s`);
process.exit(failures.length ? 1 : 0);
