/**
 * The CUDA backend: kernels in src/kernels.cu (compiled by nvcc into build/kernels.fatbin) and a
 * native addon (src/addon.cc, build/Release/gradbook_cuda.node) that opens the NVIDIA driver at run
 * time. `cudaBackend` is null, and `cuda.isAvailable()` false, when the addon or the fatbin is not
 * built, or the machine has no driver or GPU; `cuda.unavailableReason()` says which. Importing this
 * module registers the backend for the 'cuda' device when it is usable.
 *
 * Every view is checked here against its buffer before a kernel is launched (a wrong call gets an
 * Error, never an access outside a live allocation). Kernels run asynchronously on one stream;
 * `read` and `sync` wait for them and report a failure, naming the ops launched since the last
 * synchronisation (GRADBOOK_CUDA_LAUNCH_BLOCKING=1 synchronises after every launch, so the failing
 * op is named exactly).
 *
 * Environment: GRADBOOK_NO_CUDA=1 (never open the driver), GRADBOOK_CUDA_DEVICE (ordinal, default 0),
 * GRADBOOK_CUDA_DIR (where gradbook_cuda.node and kernels.fatbin are), GRADBOOK_LIBCUDA (driver
 * library path), GRADBOOK_CUBLAS (cuBLAS library path; else libcublas.so, .so.13, .so.12 are
 * tried), GRADBOOK_NO_CUBLAS=1 (gradbook's own matmul kernel), GRADBOOK_CUDA_LAUNCH_BLOCKING=1,
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerBackend, type Arg, type Backend, type Buf } from '../../backend.js';
import { packageRoot } from '../package-root.js';
import {
  backendChecks,
  checkMatmulShapes,
  compareWithDtypes,
  contiguousCopy,
  contiguousTemp,
  logSoftmaxBackwardByParts,
  logSoftmaxByParts,
  nllLossBackwardByParts,
  nllLossByParts,
  opCodes,
  withDtypes,
} from '../arg-checks.js';
import { numelOf as numel } from '../../shape.js';
import { arrayFor, type DType, type TypedArray } from '../../dtype.js';
import { flags } from '../../flags.js';
import { ARG_REDUCE_OPS, BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS } from '../../ops.js';

interface DeviceInfo {
  ok: boolean;
  reason: string;
  driverVersion: number;
  deviceCount: number;
  name: string;
  capability: string;
  multiprocessors: number;
  totalMemory: number;
}

export interface CudaMemoryStats {
  allocatedBytes: number;
  reservedBytes: number;
  cachedBytes: number;
  peakAllocatedBytes: number;
  activeBlocks: number;
  cachedBlocks: number;
  allocations: number;
  frees: number;
  cacheHits: number;
  driverAllocations: number;
  driverFrees: number;
  ooms: number;
  deviceFreeBytes: number;
  deviceTotalBytes: number;
}

interface Addon {
  init(fatbin?: Uint8Array, driverPath?: string): DeviceInfo;
  setScratch(s: Float64Array): void;
  kernelIndex(name: string): number;
  alloc(nbytes: number): object | null;
  free(handle: object): void;
  emptyCache(): void;
  memoryStats(): CudaMemoryStats;
  write(address: number, data: TypedArray): void;
  read(address: number, into: TypedArray): string;
  sync(): string;
  takeIndexError(): number;
  launch(): string;
  blasInfo(): { available: boolean; library: string; reason: string };
  gemm(): string;
}


/** Where the addon and the fatbin are looked for, in order. */
export function cudaBuildDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.GRADBOOK_CUDA_DIR) dirs.push(resolve(process.env.GRADBOOK_CUDA_DIR));
  // beside this module (a bundle with its addon copied next to it, as bench/gpu-pack.sh makes)
  dirs.push(dirname(fileURLToPath(import.meta.url)));
  const root = packageRoot();
  if (root !== null) dirs.push(join(root, 'runtime', 'backends', 'cuda', 'build'));
  return dirs;
}

function findFile(names: string[]): string | null {
  for (const d of cudaBuildDirs()) for (const n of names) if (existsSync(join(d, n))) return join(d, n);
  return null;
}

let reason = '';
let info: DeviceInfo | null = null;
let rawAddon: Addon | null = null;
let fatbinImage: Uint8Array | undefined;

function loadAddon(): Addon | null {
  if (process.env.GRADBOOK_NO_CUDA) {
    reason = 'disabled by GRADBOOK_NO_CUDA';
    return null;
  }
  const path = findFile(['gradbook_cuda.node', join('Release', 'gradbook_cuda.node')]);
  if (path === null) {
    reason = 'the CUDA addon is not built (scripts/build-cuda.sh; it needs nvcc)';
    return null;
  }
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(path) as Addon;
  } catch (e) {
    reason = `the CUDA addon could not be loaded: ${(e as Error).message}`;
    return null;
  }
  rawAddon = addon;
  const fatbin = findFile(['kernels.fatbin']);
  fatbinImage = fatbin === null ? undefined : new Uint8Array(readFileSync(fatbin));
  try {
    info = addon.init(fatbinImage);
  } catch (e) {
    reason = `CUDA initialisation failed: ${(e as Error).message}`;
    return null;
  }
  if (!info.ok) {
    reason = info.reason;
    return null;
  }
  return addon;
}

const MAXD = 8;
const SFX: Record<DType, string> = { float32: 'f32', float64: 'f64', int32: 'i32', bool: 'b8', float16: 'f16', bfloat16: 'bf16' };
const DT_INDEX: DType[] = ['float32', 'float64', 'int32', 'bool', 'float16', 'bfloat16'];
const DT_ORDER = Object.fromEntries(DT_INDEX.map((d, i) => [d, i])) as Record<DType, number>;
const ITEM: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1, float16: 2, bfloat16: 2 };
const UNARY = opCodes(UNARY_OPS);
const BINARY = opCodes(BINARY_OPS);
const COMPARE = opCodes(COMPARE_OPS);
const REDUCE = opCodes(REDUCE_OPS);
const ARGREDUCE = opCodes(ARG_REDUCE_OPS);
/** Codes the indexing kernels leave in gb_error on an index out of range. */
const INDEX_ERR: Record<number, string> = { 1: 'gather', 2: 'scatterAdd', 3: 'indexSelect', 4: 'indexAdd' };

class CudaBuf implements Buf {
  /** Device address of the allocation; 0 once freed. */
  addr: number;
  constructor(
    readonly handle: object,
    addr: number,
    readonly nbytes: number,
  ) {
    this.addr = addr;
  }
}

/** A checked view: its first element's device address, and strides. */
interface V {
  addr: number;
  strides: readonly number[];
}


/**
 * Drops size-1 dims and merges neighbours that every view walks as one (st[d] == st[d+1] * n[d+1]),
 * so a contiguous view becomes one dim of stride 1.
 */
function collapse(shape: readonly number[], strides: (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const nv = strides.length;
  const outShape: number[] = [];
  const outSt: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d];
    if (n === 1) continue;
    const k = outShape.length - 1;
    let merge = k >= 0;
    for (let v = 0; merge && v < nv; v++) if (outSt[v][k] !== strides[v][d] * n) merge = false;
    if (merge) {
      outShape[k] *= n;
      for (let v = 0; v < nv; v++) outSt[v][k] = strides[v][d];
    } else {
      outShape.push(n);
      for (let v = 0; v < nv; v++) outSt[v].push(strides[v][d]);
    }
  }
  return { shape: outShape, strides: outSt };
}

function createBackend(addon: Addon, dev: DeviceInfo): Backend {
  const S = new Float64Array(256);
  addon.setScratch(S);
  const sms = Math.max(1, dev.multiprocessors);
  const blocking = process.env.GRADBOOK_CUDA_LAUNCH_BLOCKING === '1';

  // Kernel indices by family and dtype (no string building on the hot path).
  const kernels = new Map<string, Int32Array>();
  function kid(family: string, dtype: DType): number {
    let t = kernels.get(family);
    if (t === undefined) {
      t = new Int32Array(DT_INDEX.length).fill(-1);
      kernels.set(family, t);
    }
    const i = DT_ORDER[dtype];
    let k = t[i];
    if (k < 0) {
      k = addon.kernelIndex(`${family}_${SFX[dtype]}`);
      t[i] = k;
    }
    return k;
  }

  // The ops launched since the last synchronisation, for error messages (a ring of the last 16).
  const recent: string[] = [];
  let launched = 0;
  let indexPending = false;

  function afterSync(err: string, what: string): void {
    if (err) {
      const ops = recent.slice(-Math.min(launched, recent.length));
      recent.length = 0;
      launched = 0;
      throw new Error(
        `cuda: ${what}: a kernel failed: ${err}` +
          (ops.length ? `; ops launched since the last synchronisation (last ${ops.length}, most recent last): ${ops.join(', ')}` : '') +
          (blocking ? '' : ' (set GRADBOOK_CUDA_LAUNCH_BLOCKING=1 to name the failing op exactly)'),
      );
    }
    recent.length = 0;
    launched = 0;
    if (indexPending) {
      indexPending = false;
      const code = addon.takeIndexError();
      if (code !== 0) throw new RangeError(`cuda: ${INDEX_ERR[code] ?? 'indexing'}: index out of range (an index is negative or not below the indexed dim's size)`);
    }
  }

  function launched_(op: string): void {
    if (recent.length >= 16) recent.shift();
    recent.push(op);
    launched++;
    if (blocking) afterSync(addon.sync(), op);
  }

  /** Launches with the header already in S[0..7] and the struct from S[8]. */
  function launch(op: string): void {
    const err = addon.launch();
    if (err) throw new Error(`cuda: ${op}: kernel launch failed: ${err}`);
    launched_(op);
  }

  function checkBuf(b: Buf, op: string): CudaBuf {
    if (!(b instanceof CudaBuf)) throw new TypeError(`cuda backend: ${op}: buffer does not belong to the cuda backend`);
    if (b.addr === 0) throw new Error(`cuda backend: ${op}: use of a freed buffer`);
    return b;
  }

  /** Checks a view against its buffer (never a launch with a reachable range outside it). */
  function view(a: Arg, op: string): V {
    const b = checkBuf(a.buf, op);
    const { shape, strides, offset } = a;
    const nd = shape.length;
    if (strides.length !== nd) throw new RangeError(`cuda backend: ${op}: a view needs one stride per dim`);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`cuda backend: ${op}: bad offset ${offset}`);
    let lo = offset;
    let hi = offset;
    let empty = false;
    for (let d = 0; d < nd; d++) {
      const n = shape[d];
      const st = strides[d];
      if ((n | 0) !== n || n < 0 || !Number.isSafeInteger(st)) {
        throw new RangeError(`cuda backend: ${op}: bad shape [${shape.join(', ')}] or strides [${strides.join(', ')}]`);
      }
      if (n === 0) empty = true;
      else if (st > 0) hi += (n - 1) * st;
      else lo += (n - 1) * st;
    }
    const size = ITEM[a.dtype];
    if (size === undefined) throw new TypeError(`cuda backend: ${op}: unknown dtype ${a.dtype}`);
    if (!empty && (lo < 0 || (hi + 1) * size > b.nbytes)) {
      throw new RangeError(
        `cuda backend: ${op}: view (shape [${shape.join(', ')}], strides [${strides.join(', ')}], offset ${offset}) ` +
          `reaches outside its ${b.nbytes}-byte buffer`,
      );
    }
    return { addr: b.addr + offset * size, strides };
  }

  function gridFor(n: number, threads: number): number {
    return Math.max(1, Math.min(Math.ceil(n / threads), sms * 32));
  }

  interface EwExtra {
    op?: number;
    scalar?: number;
    dimStride?: number;
    dimSize?: number;
    errCode?: number;
  }
  /** An elementwise-shaped launch over `shape` with up to 4 views. */
  function ew(k: number, op: string, shape: readonly number[], views: V[], x?: EwExtra): void {
    const nd = shape.length;
    let n = 1;
    for (let d = 0; d < nd; d++) n *= shape[d];
    if (n === 0) return;
    const nv = views.length;
    // Fast path: every view row-major contiguous (size-1 dims aside): one dim of stride 1.
    let flat = true;
    for (let v = 0; flat && v < nv; v++) {
      const st = views[v].strides;
      let acc = 1;
      for (let d = nd - 1; d >= 0; d--) {
        if (shape[d] !== 1 && st[d] !== acc) {
          flat = false;
          break;
        }
        acc *= shape[d];
      }
    }
    if (flat) {
      S[9] = 1;
      S[16] = n;
      for (let v = 0; v < nv; v++) {
        S[24 + v * 9] = views[v].addr;
        S[25 + v * 9] = 1;
      }
    } else {
      const c = collapse(shape, views.map((v) => v.strides));
      let sh = c.shape;
      let st = c.strides;
      if (sh.length === 0) {
        sh = [1];
        st = views.map(() => [0]);
      }
      if (sh.length > MAXD) throw new RangeError(`cuda backend: ${op}: views of more than ${MAXD} dims that cannot be merged are not supported`);
      S[9] = sh.length;
      for (let d = 0; d < sh.length; d++) S[16 + d] = sh[d];
      for (let v = 0; v < nv; v++) {
        const base = 24 + v * 9;
        S[base] = views[v].addr;
        for (let d = 0; d < sh.length; d++) S[base + 1 + d] = st[v][d];
      }
    }
    S[0] = k;
    S[1] = gridFor(n, 256);
    S[2] = 1;
    S[3] = 1;
    S[4] = 256;
    S[5] = 1;
    S[6] = 1;
    S[7] = 0;
    S[8] = n;
    S[10] = x?.op ?? 0;
    S[11] = x?.scalar ?? 0;
    S[12] = x?.dimStride ?? 0;
    S[13] = x?.dimSize ?? 0;
    S[14] = x?.errCode ?? 0;
    S[15] = nv;
    launch(op);
  }

  const check = backendChecks('cuda backend');
  const sameShape = check.sameShape;
  /** A contiguous copy of `a` converted to `dtype`. */
  const converted = (a: Arg, dtype: DType) => contiguousCopy(backend, a, dtype);
  const temp = (dtype: DType, shape: readonly number[]) => contiguousTemp(backend, dtype, shape);

  // ---- reductions ----
  interface Dims {
    shape: number[];
    a: number[];
    b: number[];
  }
  /** Sorts dims by the first stride list, descending, drops size-1 dims and merges where both lists allow. */
  function plan(shape: number[], a: number[], b: number[]): Dims {
    const idx = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
    idx.sort((i, j) => Math.abs(a[j]) - Math.abs(a[i]) || i - j);
    const out: Dims = { shape: [], a: [], b: [] };
    for (const i of idx) {
      const k = out.shape.length - 1;
      if (k >= 0 && out.a[k] === a[i] * shape[i] && out.b[k] === b[i] * shape[i]) {
        out.shape[k] *= shape[i];
        out.a[k] = a[i];
        out.b[k] = b[i];
      } else {
        out.shape.push(shape[i]);
        out.a.push(a[i]);
        out.b.push(b[i]);
      }
    }
    return out;
  }

  /** Writes a reduction descriptor (kind 1) into S from [8]. */
  function packRed(op: number, outer: Dims, inner: Dims, nOut: number, nIn: number, outAddr: number, inAddr: number, partial: number, splits: number, chunk: number): void {
    if (outer.shape.length > MAXD || inner.shape.length > MAXD) throw new RangeError(`cuda backend: reduce: more than ${MAXD} dims that cannot be merged`);
    S[7] = 1;
    S[8] = op;
    S[9] = outer.shape.length;
    S[10] = inner.shape.length;
    S[11] = nOut;
    S[12] = nIn;
    S[13] = outAddr;
    S[14] = inAddr;
    S[15] = partial;
    S[16] = splits;
    S[17] = chunk;
    for (let d = 0; d < outer.shape.length; d++) {
      S[18 + d] = outer.shape[d];
      S[26 + d] = outer.a[d];
      S[34 + d] = outer.b[d];
    }
    for (let d = 0; d < inner.shape.length; d++) {
      S[42 + d] = inner.shape[d];
      S[50 + d] = inner.a[d];
    }
  }
  function header(k: number, gx: number, gy: number, gz: number, bx: number, by: number): void {
    S[0] = k;
    S[1] = gx;
    S[2] = gy;
    S[3] = gz;
    S[4] = bx;
    S[5] = by;
    S[6] = 1;
  }

  // ---- matmul through cuBLAS ----
  let blas: { available: boolean; library: string; reason: string } | null = null;
  function blasInfo() {
    if (blas === null) blas = addon.blasInfo();
    return blas;
  }
  /** A [R, C] matrix view as cuBLAS sees it: row-major (ld = row stride) or column-major. */
  function layout(R: number, C: number, sr: number, sc: number): { rowMajor: boolean; ld: number } | null {
    const lim = 2 ** 31 - 1;
    if ((sc === 1 || C === 1) && (R === 1 || sr >= Math.max(1, C))) {
      const ld = R === 1 ? Math.max(1, C) : sr;
      if (ld <= lim) return { rowMajor: true, ld };
    }
    if ((sr === 1 || R === 1) && (C === 1 || sc >= Math.max(1, R))) {
      const ld = C === 1 ? Math.max(1, R) : sc;
      if (ld <= lim) return { rowMajor: false, ld };
    }
    return null;
  }
  const BLAS_DT: Partial<Record<DType, number>> = { float32: 0, float64: 1, float16: 4, bfloat16: 5 };

  function gemm(out: Arg, a: Arg, b: Arg, vo: V, va: V, vb: V): boolean {
    const code = BLAS_DT[out.dtype];
    if (code === undefined || process.env.GRADBOOK_NO_CUBLAS || !blasInfo().available) return false;
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    if (B > 2 ** 31 - 1 || M > 2 ** 31 - 1 || N > 2 ** 31 - 1 || K > 2 ** 31 - 1) return false;
    const lo = layout(M, N, out.strides[1], out.strides[2]);
    if (lo === null || !lo.rowMajor || (B > 1 && out.strides[0] === 0)) return false;
    let la = layout(M, K, a.strides[1], a.strides[2]);
    let lb = layout(K, N, b.strides[1], b.strides[2]);
    // A view that fits neither layout is copied to a contiguous one first.
    let ta: Arg | null = null;
    let tb: Arg | null = null;
    let addrA = va.addr;
    let addrB = vb.addr;
    let sA = a.strides[0];
    let sB = b.strides[0];
    if (la === null) {
      ta = converted(a, a.dtype);
      la = { rowMajor: true, ld: Math.max(1, K) };
      addrA = (ta.buf as CudaBuf).addr;
      sA = M * K;
    }
    if (lb === null) {
      tb = converted(b, b.dtype);
      lb = { rowMajor: true, ld: Math.max(1, N) };
      addrB = (tb.buf as CudaBuf).addr;
      sB = K * N;
    }
    // Row-major C [M, N] is column-major C^T [N, M]: C^T = B^T A^T.
    S[0] = code;
    S[1] = lb.rowMajor ? 0 : 1;
    S[2] = la.rowMajor ? 0 : 1;
    S[3] = N;
    S[4] = M;
    S[5] = K;
    S[6] = addrB;
    S[7] = lb.ld;
    S[8] = B > 1 ? sB : 0;
    S[9] = addrA;
    S[10] = la.ld;
    S[11] = B > 1 ? sA : 0;
    S[12] = vo.addr;
    S[13] = lo.ld;
    S[14] = B > 1 ? out.strides[0] : M * N;
    S[15] = B;
    S[16] = out.dtype === 'float32' && flags.allowTF32 ? 1 : 0;
    const err = addon.gemm();
    if (ta) backend.free(ta.buf);
    if (tb) backend.free(tb.buf);
    if (err) throw new Error(`cuda: matmul: ${err}`);
    launched_('matmul');
    return true;
  }

  const backend: Backend = {
    name: 'cuda',
    deviceType: 'cuda',
    supports: (_op, dtype) => SFX[dtype] !== undefined,

    alloc(dtype, n) {
      const size = ITEM[dtype];
      if (size === undefined) throw new TypeError(`cuda backend: alloc: unknown dtype ${dtype}`);
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cuda backend: alloc: bad element count ${n}`);
      const nbytes = n * size;
      let h = addon.alloc(nbytes);
      if (h === null) {
        // Out of memory even with the cache released: collect garbage (buffers whose tensors are
        // unreachable go back to the cache), release the cache again and retry once.
        const gc = (globalThis as { gc?: () => void }).gc;
        if (typeof gc === 'function') gc();
        addon.emptyCache();
        h = addon.alloc(nbytes);
      }
      if (h === null) {
        const m = addon.memoryStats();
        const mb = (x: number) => `${(x / 2 ** 20).toFixed(2)} MiB`;
        throw new Error(
          `CUDA out of memory: tried to allocate ${mb(nbytes)} (${nbytes} bytes, ${n} ${dtype}); ` +
            `this process has ${mb(m.allocatedBytes)} allocated in ${m.activeBlocks} tensors' buffers, ` +
            `${mb(m.reservedBytes)} reserved by the caching allocator (${mb(m.cachedBytes)} cached, free); ` +
            `the device has ${mb(m.deviceFreeBytes)} free of ${mb(m.deviceTotalBytes)}` +
            (typeof (globalThis as { gc?: unknown }).gc === 'function' ? '' : ' (run node with --expose-gc to let gradbook collect unreachable tensors first)'),
        );
      }
      return new CudaBuf(h, S[0], nbytes);
    },
    free(buf) {
      if (!(buf instanceof CudaBuf)) throw new TypeError('cuda backend: free: buffer does not belong to the cuda backend');
      if (buf.addr === 0) return;
      buf.addr = 0;
      addon.free(buf.handle);
    },
    write(buf, dtype, data, offset = 0) {
      const b = checkBuf(buf, 'write');
      const size = ITEM[dtype];
      let src = data;
      const want = arrayFor(dtype, 0).constructor;
      if (src.constructor !== want) {
        src = arrayFor(dtype, data.length);
        src.set(data as ArrayLike<number>);
      }
      if (!Number.isSafeInteger(offset) || offset < 0 || (offset + src.length) * size > b.nbytes) {
        throw new RangeError(`cuda backend: write of ${src.length} elements at offset ${offset} overruns a ${b.nbytes}-byte buffer`);
      }
      if (src.length > 0) addon.write(b.addr + offset * size, src);
    },
    read(src) {
      const v = view(src, 'read');
      const n = numel(src.shape);
      const out = arrayFor(src.dtype, n);
      if (n === 0) {
        afterSync(addon.sync(), 'read');
        return out;
      }
      const c = collapse(src.shape, [src.strides]);
      if (c.shape.length === 0 || (c.shape.length === 1 && c.strides[0][0] === 1)) {
        afterSync(addon.read(v.addr, out), 'read');
        return out;
      }
      const t = temp(src.dtype, src.shape);
      try {
        ew(kid('move', src.dtype), 'read', src.shape, [view(t, 'read'), v]);
        afterSync(addon.read((t.buf as CudaBuf).addr, out), 'read');
      } finally {
        backend.free(t.buf);
      }
      return out;
    },
    sync() {
      afterSync(addon.sync(), 'synchronize');
    },

    unary(op, out, a) {
      if (out.dtype !== a.dtype) {
        if (op === 'logicalNot') {
          const t = a.dtype === 'bool' ? a : converted(a, 'bool');
          const o = out.dtype === 'bool' ? out : temp('bool', out.shape);
          backend.unary(op, o, t);
          if (o !== out) {
            backend.copy(out, o);
            backend.free(o.buf);
          }
          if (t !== a) backend.free(t.buf);
        } else {
          const t = converted(a, out.dtype);
          backend.unary(op, out, t);
          backend.free(t.buf);
        }
        return;
      }
      sameShape(op, out, a);
      const code = check.op(op, UNARY, 'unary');
      ew(kid('unary', out.dtype), op, out.shape, [view(out, op), view(a, op)], { op: code });
    },
    binary(op, out, a, b, alpha = 1) {
      if (withDtypes(backend, [a, b], [out.dtype, out.dtype], converted, ([x, y]) => backend.binary(op, out, x, y, alpha))) return;
      if (alpha !== 1 && (op === 'add' || op === 'sub')) {
        // the kernels have no alpha: scale b into a temporary first (stream order frees it safely)
        const scale = backend.alloc(out.dtype, 1);
        backend.fill({ buf: scale, dtype: out.dtype, shape: [], strides: [], offset: 0 }, alpha);
        const scaled = temp(out.dtype, b.shape);
        backend.binary('mul', scaled, b, { buf: scale, dtype: out.dtype, shape: b.shape, strides: b.shape.map(() => 0), offset: 0 });
        backend.binary(op, out, a, scaled);
        backend.free(scaled.buf);
        backend.free(scale);
        return;
      }
      sameShape(op, out, a);
      sameShape(op, out, b);
      const code = check.op(op, BINARY, 'binary');
      ew(kid('binary', out.dtype), op, out.shape, [view(out, op), view(a, op), view(b, op)], { op: code });
    },
    compare(op, out, a, b) {
      if (compareWithDtypes(backend, op, out, a, b)) return;
      sameShape(op, out, a);
      sameShape(op, out, b);
      const code = check.op(op, COMPARE, 'compare');
      ew(kid('compare', a.dtype), op, out.shape, [view(out, op), view(a, op), view(b, op)], { op: code });
    },
    where(out, cond, a, b) {
      const want: DType[] = ['bool', out.dtype, out.dtype];
      if (withDtypes(backend, [cond, a, b], want, converted, ([c, x, y]) => backend.where(out, c, x, y))) return;
      sameShape('where', out, cond);
      sameShape('where', out, a);
      sameShape('where', out, b);
      ew(kid('where', out.dtype), 'where', out.shape, [view(out, 'where'), view(cond, 'where'), view(a, 'where'), view(b, 'where')]);
    },
    copy(out, src) {
      sameShape('copy', out, src);
      if (out.buf === src.buf && out.buf instanceof CudaBuf) {
        // overlapping views of one buffer: read everything before writing, as the reference does
        const t = converted(src, src.dtype);
        backend.copy(out, t);
        backend.free(t.buf);
        return;
      }
      const k = out.dtype === src.dtype ? kid('move', out.dtype) : kid(`copy_${SFX[out.dtype]}`, src.dtype);
      ew(k, 'copy', out.shape, [view(out, 'copy'), view(src, 'copy')]);
    },
    fill(out, value) {
      ew(kid('fill', out.dtype), 'fill', out.shape, [view(out, 'fill')], { scalar: value });
    },
    reduce(op, out, a, axes) {
      const seen = check.reduce(op, out, a, axes);
      if (out.dtype !== a.dtype) {
        const t = converted(a, out.dtype);
        backend.reduce(op, out, t, axes);
        backend.free(t.buf);
        return;
      }
      const code = check.op(op, REDUCE, 'reduce');
      const vo = view(out, op);
      const va = view(a, op);
      const nOut = numel(out.shape);
      if (nOut === 0) return;
      const keep = a.shape.map((_, d) => d).filter((d) => !seen[d]);
      const red = a.shape.map((_, d) => d).filter((d) => seen[d]);
      const outer = plan(keep.map((d) => a.shape[d]), keep.map((d) => a.strides[d]), keep.map((d) => out.strides[d]));
      const inner = plan(red.map((d) => a.shape[d]), red.map((d) => a.strides[d]), red.map(() => 0));
      const nIn = numel(inner.shape);
      const ond = outer.shape.length;
      const minInner = inner.shape.length ? Math.min(...inner.a.map(Math.abs)) : 0;
      if (ond > 0 && Math.abs(outer.a[ond - 1]) === 1 && minInner !== 1 && nOut >= 32) {
        // neighbouring outputs are neighbours in the input: 32 outputs per block, coalesced; when
        // that makes few blocks, the rows are split among blocks too, and partials combined after
        const bx = Math.ceil(nOut / 32);
        let sp = 1;
        if (bx < 2 * sms && nIn > 1024) sp = Math.min(Math.ceil(nIn / 256), Math.ceil((4 * sms) / bx), 65535);
        if (sp === 1) {
          packRed(code, outer, inner, nOut, nIn, vo.addr, va.addr, 0, 1, Math.max(nIn, 1));
          header(kid('reducecol', a.dtype), bx, 1, 1, 32, 8);
          launch(op);
          return;
        }
        const ch = Math.ceil(nIn / sp);
        const part = backend.alloc('float64', nOut * sp) as CudaBuf;
        try {
          packRed(code, outer, inner, nOut, nIn, vo.addr, va.addr, part.addr, sp, ch);
          header(kid('reducecol', a.dtype), bx, sp, 1, 32, 8);
          launch(op);
          header(kid('reducepart', a.dtype), gridFor(nOut, 256), 1, 1, 256, 1);
          launch(op);
        } finally {
          backend.free(part);
        }
        return;
      }
      let threads = 32;
      while (threads < nIn && threads < 512) threads *= 2;
      let splits = 1;
      if (nOut < 2 * sms && nIn > 65536) splits = Math.min(Math.ceil(nIn / 32768), Math.ceil((4 * sms) / nOut), 65535);
      const chunk = Math.ceil(nIn / splits);
      if (splits === 1) {
        packRed(code, outer, inner, nOut, nIn, vo.addr, va.addr, 0, 1, Math.max(nIn, 1));
        header(kid('reduce', a.dtype), Math.min(nOut, 1 << 20), 1, 1, threads, 1);
        launch(op);
        return;
      }
      const part = backend.alloc('float64', nOut * splits) as CudaBuf;
      try {
        packRed(code, outer, inner, nOut, nIn, vo.addr, va.addr, part.addr, splits, chunk);
        header(kid('reduce', a.dtype), Math.min(nOut, 1 << 20), splits, 1, threads, 1);
        launch(op);
        header(kid('reducepart', a.dtype), gridFor(nOut, 256), 1, 1, 256, 1);
        launch(op);
      } finally {
        // queued kernels finish before any later user of the block (one stream)
        backend.free(part);
      }
    },
    argReduce(op, out, a, axis) {
      check.argReduce(op, out, a, axis);
      if (a.shape.length === 0) {
        backend.fill(out, 0);
        return;
      }
      const code = check.op(op, ARGREDUCE, 'argReduce');
      const vo = view(out, op);
      const va = view(a, op);
      const nOut = numel(out.shape);
      if (nOut === 0) return;
      const keep = a.shape.map((_, d) => d).filter((d) => d !== axis);
      const outer = plan(keep.map((d) => a.shape[d]), keep.map((d) => a.strides[d]), keep.map((d) => out.strides[d]));
      const len = a.shape[axis];
      const inner: Dims = { shape: [len], a: [a.strides[axis]], b: [0] };
      let threads = 32;
      while (threads < len && threads < 512) threads *= 2;
      packRed(code, outer, inner, nOut, len, vo.addr, va.addr, 0, 1, len);
      header(kid('argreduce', a.dtype), Math.min(nOut, 1 << 20), 1, 1, threads, 1);
      launch(op);
    },
    matmul(out, a, b) {
      checkMatmulShapes('cuda backend', out, a, b);
      const [B, M, K] = a.shape;
      const N = b.shape[2];
      if (withDtypes(backend, [a, b], [out.dtype, out.dtype], converted, ([x, y]) => backend.matmul(out, x, y))) return;
      const vo = view(out, 'matmul');
      const va = view(a, 'matmul');
      const vb = view(b, 'matmul');
      if (B * M * N === 0) return;
      if (K === 0) {
        backend.fill(out, 0);
        return;
      }
      if (gemm(out, a, b, vo, va, vb)) return;
      if (Math.ceil(M / 64) > 65535) throw new RangeError(`cuda backend: matmul: ${M} rows is more than the ${out.dtype} kernel handles (4194240)`);
      header(kid('matmul', out.dtype), Math.ceil(N / 64), Math.ceil(M / 64), Math.min(B, 65535), 16, 16);
      S[7] = 2;
      S[8] = B;
      S[9] = M;
      S[10] = N;
      S[11] = K;
      S[12] = va.addr;
      S[13] = vb.addr;
      S[14] = vo.addr;
      for (let i = 0; i < 3; i++) {
        S[15 + i] = a.strides[i];
        S[18 + i] = b.strides[i];
        S[21 + i] = out.strides[i];
      }
      launch('matmul');
    },
    gather(out, a, dim, index) {
      check.gather(out, a, dim, index);
      const va = view(a, 'gather');
      const moved: V = { addr: va.addr, strides: a.strides.map((s, d) => (d === dim ? 0 : s)) };
      indexPending = true;
      ew(kid('gather', out.dtype), 'gather', index.shape, [view(out, 'gather'), moved, view(index, 'gather')], {
        dimStride: a.strides[dim] ?? 0,
        dimSize: a.shape[dim] ?? 1,
        errCode: 1,
      });
    },
    scatterAdd(out, dim, index, src) {
      check.scatterAdd(out, dim, index, src);
      const vo = view(out, 'scatterAdd');
      const moved: V = { addr: vo.addr, strides: out.strides.map((s, d) => (d === dim ? 0 : s)) };
      indexPending = true;
      ew(kid('scatter', out.dtype), 'scatterAdd', index.shape, [moved, view(src, 'scatterAdd'), view(index, 'scatterAdd')], {
        dimStride: out.strides[dim] ?? 0,
        dimSize: out.shape[dim] ?? 1,
        errCode: 2,
      });
    },
    indexSelect(out, a, dim, index) {
      check.indexSelect(out, a, dim, index);
      const va = view(a, 'indexSelect');
      const vi = view(index, 'indexSelect');
      const ixStride = index.strides[0] ?? 0;
      const moved: V = { addr: va.addr, strides: a.strides.map((s, d) => (d === dim ? 0 : s)) };
      const ix: V = { addr: vi.addr, strides: out.shape.map((_, d) => (d === dim ? ixStride : 0)) };
      indexPending = true;
      ew(kid('gather', out.dtype), 'indexSelect', out.shape, [view(out, 'indexSelect'), moved, ix], {
        dimStride: a.strides[dim],
        dimSize: a.shape[dim],
        errCode: 3,
      });
    },
    indexAdd(out, dim, index, src) {
      check.indexAdd(out, dim, index, src);
      const vo = view(out, 'indexAdd');
      const vi = view(index, 'indexAdd');
      const ixStride = index.strides[0] ?? 0;
      const moved: V = { addr: vo.addr, strides: out.strides.map((s, d) => (d === dim ? 0 : s)) };
      const ix: V = { addr: vi.addr, strides: src.shape.map((_, d) => (d === dim ? ixStride : 0)) };
      indexPending = true;
      ew(kid('scatter', out.dtype), 'indexAdd', src.shape, [moved, view(src, 'indexAdd'), ix], {
        dimStride: out.strides[dim],
        dimSize: out.shape[dim],
        errCode: 4,
      });
    },
    // from this backend's own kernels for now: one launch each way would want a row kernel
    logSoftmax(out, a, dim) {
      check.rows('logSoftmax', out, [a], dim);
      logSoftmaxByParts(backend, out, a, dim);
    },
    logSoftmaxBackward(out, g, y, dim) {
      check.rows('logSoftmaxBackward', out, [g, y], dim);
      logSoftmaxBackwardByParts(backend, out, g, y, dim);
    },
    nllLoss(out, a, target, scale) {
      check.nll('nllLoss', a, out, target);
      nllLossByParts(backend, out, a, target, scale);
    },
    nllLossBackward(out, g, target, scale) {
      check.nll('nllLossBackward', out, g, target);
      nllLossBackwardByParts(backend, out, g, target, scale);
    },
  };
  return backend;
}

/** For tests: the backend over another addon (runtime/backends/cuda/mock.ts emulates one on the CPU). */
export function createCudaBackendForTesting(mock: unknown, device: Partial<DeviceInfo> = {}): Backend {
  const m = mock as Addon;
  return createBackend(m, { ...m.init(), ...device });
}

/**
 * For tests: the real addon and kernels over another driver library (the CPU-emulated GPU that
 * runtime/backends/cuda/test/emu.cc builds), when this process opened no driver of its own.
 * Returns null with the reason where that is not possible.
 */
export function cudaBackendOverDriverForTesting(driverPath: string): { backend: Backend | null; reason: string } {
  if (rawAddon === null) return { backend: null, reason };
  if (cudaBackend !== null) return { backend: null, reason: 'a real CUDA driver is in use in this process' };
  const i = rawAddon.init(fatbinImage, driverPath);
  if (!i.ok) return { backend: null, reason: i.reason };
  return { backend: createBackend(rawAddon, i), reason: '' };
}

const addon = loadAddon();

/** The CUDA backend, or null where CUDA is unusable (see `cuda.unavailableReason()`). */
export const cudaBackend: Backend | null = addon === null || info === null ? null : createBackend(addon, info);

if (cudaBackend !== null) registerBackend('cuda', cudaBackend);

const ZERO_STATS: CudaMemoryStats = {
  allocatedBytes: 0,
  reservedBytes: 0,
  cachedBytes: 0,
  peakAllocatedBytes: 0,
  activeBlocks: 0,
  cachedBlocks: 0,
  allocations: 0,
  frees: 0,
  cacheHits: 0,
  driverAllocations: 0,
  driverFrees: 0,
  ooms: 0,
  deviceFreeBytes: 0,
  deviceTotalBytes: 0,
};

/** gb.cuda: whether CUDA is usable here, and the device's state. */
export const cuda = {
  isAvailable: (): boolean => cudaBackend !== null,
  /** CUDA devices the driver sees (0 without a driver); gradbook uses device 0 (GRADBOOK_CUDA_DEVICE picks another). */
  deviceCount: (): number => (cudaBackend !== null && info !== null ? info.deviceCount : 0),
  /** Waits for every queued kernel; throws the error of one that failed. */
  synchronize: (): void => {
    cudaBackend?.sync();
  },
  /** The caching allocator's figures, in bytes and counts. */
  memoryStats: (): CudaMemoryStats => (cudaBackend !== null && addon !== null ? addon.memoryStats() : { ...ZERO_STATS }),
  /** Returns the allocator's cached (free) blocks to the driver. */
  emptyCache: (): void => {
    if (cudaBackend !== null && addon !== null) addon.emptyCache();
  },
  /** Why isAvailable() is false ('' when it is true). */
  unavailableReason: (): string => (cudaBackend !== null ? '' : reason),
  /** The device in use: name, compute capability, multiprocessors, memory, driver version. */
  deviceInfo: (): Omit<DeviceInfo, 'ok' | 'reason'> | null => {
    if (cudaBackend === null || info === null) return null;
    const { ok: _ok, reason: _r, ...rest } = info;
    return rest;
  },
  /** Whether matmul goes through cuBLAS (and which library), or gradbook's own kernel. */
  blasInfo: (): { available: boolean; library: string; reason: string } =>
    cudaBackend !== null && addon !== null ? addon.blasInfo() : { available: false, library: '', reason: reason },
};
