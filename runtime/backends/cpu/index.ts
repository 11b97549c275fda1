/**
 * The native CPU backend: C++ kernels (src/, built by node-gyp into
 * build/Release/gradbook_cpu.node) behind the Backend interface. `cpuBackend` is null when the
 * addon cannot be loaded, so callers fall back to the reference backend.
 *
 * Every view is checked here against its buffer before native code runs (see Note [Call
 * protocol] in src/addon.cc for how arguments travel): a wrong call gets an Error, never a read or
 * write outside a live allocation.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Arg, Backend, Buf } from '../../backend.js';
import { packageRoot } from '../package-root.js';
import { backendChecks, checkMatmulShapes, compareWithDtypes, contiguousCopy, opCodes, withDtypes } from '../arg-checks.js';
import { numelOf as numel } from '../../shape.js';
import { arrayFor, type DType, type TypedArray } from '../../dtype.js';
import { ARG_REDUCE_OPS, BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS } from '../../ops.js';

interface Addon {
  setScratch(s: Float64Array): void;
  adopt(memory: ArrayBuffer): number;
  release(memory: ArrayBuffer): void;
  write(address: number, data: TypedArray): void;
  read(into: TypedArray): void;
  unary(): void;
  binary(): void;
  compare(): void;
  where(): void;
  copy(): void;
  fill(): void;
  reduce(): void;
  argReduce(): void;
  matmul(): void;
  gather(): void;
  scatterAdd(): void;
  indexSelect(): void;
  indexAdd(): void;
  logSoftmax(): void;
  logSoftmaxBackward(): void;
  nllLoss(): void;
  nllLossBackward(): void;
  readonly threads: number;
  readonly avx2: boolean;
}


function loadAddon(): Addon | null {
  try {
    const root = packageRoot();
    if (root === null) return null;
    const path = join(root, 'build', 'Release', 'gradbook_cpu.node');
    if (!existsSync(path)) return null;
    return createRequire(import.meta.url)(path) as Addon;
  } catch {
    return null;
  }
}

const MAXD = 16;
const DTYPE_CODE: Partial<Record<DType, number>> = { float32: 0, float64: 1, int32: 2, bool: 3 };
const ITEMSIZE = [4, 8, 4, 1];
const ARRAY_TYPE = [Float32Array, Float64Array, Int32Array, Uint8Array];
const UNARY = opCodes(UNARY_OPS);
const BINARY = opCodes(BINARY_OPS);
const COMPARE = opCodes(COMPARE_OPS);
const REDUCE = opCodes(REDUCE_OPS);
const ARGREDUCE = opCodes(ARG_REDUCE_OPS);

/** See Note [Buffer memory] in src/addon.cc: the memory is an ArrayBuffer only native code touches. */
class CpuBuf implements Buf {
  constructor(
    /** Owns the memory: V8 counts it as external memory and frees it when this buffer is collected. */
    readonly memory: ArrayBuffer,
    /** 64-byte aligned address inside `memory`; 0 once freed. */
    public addr: number,
    readonly nbytes: number,
    /** Shares `memory` with other small buffers (Note [Small buffers]); never pooled or released. */
    readonly shared = false,
  ) {}
}

// Note [Small buffers]: a 4-element op's own cost is a fraction of a microsecond, so making its
// output's ArrayBuffer and handing it to native code (adopt) would dominate it. Buffers of up to
// SMALL_MAX bytes are carved, 64-byte aligned, from a shared slab adopted once; the slab lives
// while any of its buffers does. They start zeroed, since a slab slot is never reused.
// The slab being carved is referenced from here until it is full. One that stays so through two
// young-generation collections is promoted to V8's old generation, where only a full collection
// frees it once its buffers are gone: 16 KiB slabs (a training step's few small buffers take dozens
// of steps to fill one) crept resident memory up by ~0.6 MiB per 1,000 steps of the MLP loop
// (bench/memory-soak.ts). A 4 KiB slab fills between two collections; the 4-element op is as fast.
const SMALL_MAX = 64;
const SLAB_BYTES = 4 << 10;

/** A freed buffer's memory, kept for the next allocation of the same size. */
interface Pooled {
  readonly memory: ArrayBuffer;
  readonly addr: number;
}

// Note [Buffer pool]: a training step allocates the same few dozen buffers every time and frees
// them at the end of its gb.tidy scope. Making each one anew costs a zero-filled ArrayBuffer, the
// native adopt call and V8's external-memory accounting (which paces garbage collection), all
// measured at about a tenth of a digits MLP epoch (bench/, digits_mlp_epoch). Memory freed
// explicitly (free(): tidy, dispose) is kept here by exact byte size and handed out again as it
// is, old values included (zero-filling it again measured ~10% of a digits CNN epoch; kernels write
// their whole output, which the CUDA suite checks against garbage-filled memory). Buffers the
// garbage collector frees never come here. The pool is bounded: at most POOL_BYTES stay held.
const POOL_BYTES = 64 << 20;
const POOL_MAX_BUF = 16 << 20;

function createBackend(addon: Addon): Backend {
  // The largest call needs 4 views of MAXD dims (4 * 35) plus a few scalars and the reduce axes.
  const S = new Float64Array(256);
  addon.setScratch(S);
  /** Below this, a zero-filled ArrayBuffer is as cheap as an uninitialised one. */
  const UNINIT_MIN_BYTES = 4096;
  /** See Note [Buffer pool]: freed memory by byte size. */
  const pool = new Map<number, Pooled[]>();
  let pooledBytes = 0;
  /** See Note [Small buffers]: the slab small buffers are carved from, and its next free slot. */
  let slab: ArrayBuffer | null = null;
  let slabAddr = 0;
  let slabUsed = SLAB_BYTES;

  function code(op: string, dtype: DType): number {
    const c = DTYPE_CODE[dtype];
    if (c === undefined) throw new TypeError(`cpu backend: ${op}: dtype ${dtype} is not supported`);
    return c;
  }

  /** Writes a view into S at i after checking it against its buffer; returns the next free slot. */
  function put(i: number, a: Arg, op: string): number {
    const b = a.buf;
    if (!(b instanceof CpuBuf)) throw new TypeError(`cpu backend: ${op}: buffer does not belong to the cpu backend`);
    if (b.addr === 0) throw new Error(`cpu backend: ${op}: use of a freed buffer`);
    const c = code(op, a.dtype);
    const { shape, strides, offset } = a;
    const nd = shape.length;
    if (nd > MAXD || strides.length !== nd) {
      throw new RangeError(`cpu backend: ${op}: a view needs at most ${MAXD} dims and one stride per dim`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`cpu backend: ${op}: bad offset ${offset}`);
    let lo = offset;
    let hi = offset;
    let empty = false;
    S[i + 2] = nd;
    for (let d = 0; d < nd; d++) {
      const n = shape[d];
      const st = strides[d];
      if ((n | 0) !== n || n < 0 || (st | 0) !== st) {
        throw new RangeError(`cpu backend: ${op}: bad shape [${shape.join(', ')}] or strides [${strides.join(', ')}]`);
      }
      if (n === 0) empty = true;
      else if (st > 0) hi += (n - 1) * st;
      else lo += (n - 1) * st;
      S[i + 3 + d] = n;
      S[i + 3 + nd + d] = st;
    }
    const size = ITEMSIZE[c];
    if (!empty && (lo < 0 || (hi + 1) * size > b.nbytes)) {
      throw new RangeError(
        `cpu backend: ${op}: view (shape [${shape.join(', ')}], strides [${strides.join(', ')}], offset ${offset}) ` +
          `reaches outside its ${b.nbytes}-byte buffer`,
      );
    }
    S[i] = b.addr + offset * size;
    S[i + 1] = c;
    return i + 3 + 2 * nd;
  }

  const check = backendChecks('cpu backend');
  const sameShape = check.sameShape;
  /** A contiguous copy of `a` converted to `dtype`, for the rare calls whose dtypes the kernels do not pair. */
  const converted = (a: Arg, dtype: DType) => contiguousCopy(backend, a, dtype);

  const backend: Backend = {
    name: 'cpu',
    deviceType: 'cpu',
    supports: (_op, dtype) => DTYPE_CODE[dtype] !== undefined,

    alloc(dtype, numel) {
      const c = code('alloc', dtype);
      if (!Number.isSafeInteger(numel) || numel < 0) throw new RangeError(`cpu backend: alloc: bad element count ${numel}`);
      const nbytes = numel * ITEMSIZE[c];
      if (nbytes > 0 && nbytes <= SMALL_MAX) {
        if (slabUsed + SMALL_MAX > SLAB_BYTES) {
          slab = new ArrayBuffer(SLAB_BYTES + 64);
          slabAddr = addon.adopt(slab);
          slabUsed = 0;
        }
        const buf = new CpuBuf(slab!, slabAddr + slabUsed, nbytes, true);
        slabUsed += SMALL_MAX;
        return buf;
      }
      const list = pool.get(nbytes);
      if (list !== undefined && list.length > 0) {
        const p = list.pop()!;
        pooledBytes -= nbytes;
        // not zero-filled: Backend.alloc promises no contents, as CUDA's caching allocator
        return new CpuBuf(p.memory, p.addr, nbytes);
      }
      // 64 spare bytes let the native side start at a 64-byte boundary. Large buffers skip the
      // zero fill (every kernel writes its whole output): fresh zeroed pages cost more than the
      // kernel itself for a matmul-sized output.
      const memory = nbytes >= UNINIT_MIN_BYTES ? Buffer.allocUnsafeSlow(nbytes + 64).buffer : new ArrayBuffer(nbytes + 64);
      return new CpuBuf(memory, addon.adopt(memory), nbytes);
    },
    free(buf) {
      if (!(buf instanceof CpuBuf)) throw new TypeError('cpu backend: free: buffer does not belong to the cpu backend');
      if (buf.addr === 0) return;
      const { addr, nbytes } = buf;
      // the old handle is dead either way: put() refuses a buffer whose addr is 0
      buf.addr = 0;
      if (buf.shared) return;
      if (nbytes > 0 && nbytes <= POOL_MAX_BUF && pooledBytes + nbytes <= POOL_BYTES) {
        let list = pool.get(nbytes);
        if (list === undefined) pool.set(nbytes, (list = []));
        list.push({ memory: buf.memory, addr });
        pooledBytes += nbytes;
        return;
      }
      addon.release(buf.memory);
    },
    write(buf, dtype, data, offset = 0) {
      if (!(buf instanceof CpuBuf)) throw new TypeError('cpu backend: write: buffer does not belong to the cpu backend');
      if (buf.addr === 0) throw new Error('cpu backend: write to a freed buffer');
      const c = code('write', dtype);
      const size = ITEMSIZE[c];
      let src = data;
      if (src.constructor !== ARRAY_TYPE[c]) {
        src = arrayFor(dtype, data.length);
        src.set(data as ArrayLike<number>);
      }
      if (!Number.isSafeInteger(offset) || offset < 0 || (offset + src.length) * size > buf.nbytes) {
        throw new RangeError(`cpu backend: write of ${src.length} elements at offset ${offset} overruns a ${buf.nbytes}-byte buffer`);
      }
      if (src.length > 0) addon.write(buf.addr + offset * size, src);
    },
    read(src) {
      const out = arrayFor(src.dtype, numel(src.shape));
      put(0, src, 'read');
      if (out.length > 0) addon.read(out);
      return out;
    },
    sync() {},

    unary(op, out, a) {
      if (out.dtype !== a.dtype) {
        // logicalNot to bool, or a float result from another dtype: compute in one dtype, then convert
        if (op === 'logicalNot') {
          const t = converted(a, a.dtype);
          backend.unary(op, t, t);
          backend.copy(out, t);
          backend.free(t.buf);
        } else {
          const t = converted(a, out.dtype);
          backend.unary(op, out, t);
          backend.free(t.buf);
        }
        return;
      }
      sameShape('unary', out, a);
      S[0] = check.op(op, UNARY, 'unary');
      put(put(1, out, op), a, op);
      if (numel(out.shape) > 0) addon.unary();
    },
    binary(op, out, a, b, alpha = 1) {
      if (withDtypes(backend, [a, b], [out.dtype, out.dtype], converted, ([x, y]) => backend.binary(op, out, x, y, alpha))) return;
      sameShape(op, out, a);
      sameShape(op, out, b);
      S[0] = check.op(op, BINARY, 'binary');
      S[put(put(put(1, out, op), a, op), b, op)] = op === 'add' || op === 'sub' ? alpha : 1;
      if (numel(out.shape) > 0) addon.binary();
    },
    compare(op, out, a, b) {
      if (compareWithDtypes(backend, op, out, a, b)) return;
      sameShape(op, out, a);
      sameShape(op, out, b);
      S[0] = check.op(op, COMPARE, 'compare');
      put(put(put(1, out, op), a, op), b, op);
      if (numel(out.shape) > 0) addon.compare();
    },
    where(out, cond, a, b) {
      const want: DType[] = ['bool', out.dtype, out.dtype];
      if (withDtypes(backend, [cond, a, b], want, converted, ([c, x, y]) => backend.where(out, c, x, y))) return;
      sameShape('where', out, cond);
      sameShape('where', out, a);
      sameShape('where', out, b);
      put(put(put(put(0, out, 'where'), cond, 'where'), a, 'where'), b, 'where');
      if (numel(out.shape) > 0) addon.where();
    },
    copy(out, src) {
      sameShape('copy', out, src);
      if (out.buf === src.buf && out.buf instanceof CpuBuf) {
        // overlapping views of one buffer: read everything before writing, as the reference does
        const t = converted(src, src.dtype);
        backend.copy(out, t);
        backend.free(t.buf);
        return;
      }
      put(put(0, out, 'copy'), src, 'copy');
      if (numel(out.shape) > 0) addon.copy();
    },
    fill(out, value) {
      S[0] = value;
      put(1, out, 'fill');
      if (numel(out.shape) > 0) addon.fill();
    },
    reduce(op, out, a, axes) {
      check.reduce(op, out, a, axes);
      S[0] = check.op(op, REDUCE, 'reduce');
      let i = put(put(1, out, op), a, op);
      S[i++] = axes.length;
      for (const ax of axes) S[i++] = ax;
      if (numel(out.shape) > 0) addon.reduce();
    },
    argReduce(op, out, a, axis) {
      check.argReduce(op, out, a, axis);
      if (a.shape.length === 0) {
        // a scalar's only index is 0
        backend.fill(out, 0);
        return;
      }
      S[0] = check.op(op, ARGREDUCE, 'argReduce');
      const i = put(put(1, out, op), a, op);
      S[i] = axis;
      if (numel(out.shape) > 0) addon.argReduce();
    },
    matmul(out, a, b) {
      checkMatmulShapes('cpu backend', out, a, b);
      const [B, M] = a.shape;
      const N = b.shape[2];
      if (withDtypes(backend, [a, b], [out.dtype, out.dtype], converted, ([x, y]) => backend.matmul(out, x, y))) return;
      put(put(put(0, out, 'matmul'), a, 'matmul'), b, 'matmul');
      if (B * M * N > 0) addon.matmul();
    },
    gather(out, a, dim, index) {
      check.gather(out, a, dim, index);
      let i = put(put(0, out, 'gather'), a, 'gather');
      S[i++] = dim;
      put(i, index, 'gather');
      if (numel(index.shape) > 0) addon.gather();
    },
    scatterAdd(out, dim, index, src) {
      check.scatterAdd(out, dim, index, src);
      let i = put(0, out, 'scatterAdd');
      S[i++] = dim;
      put(put(i, index, 'scatterAdd'), src, 'scatterAdd');
      if (numel(index.shape) > 0) addon.scatterAdd();
    },
    indexSelect(out, a, dim, index) {
      check.indexSelect(out, a, dim, index);
      let i = put(put(0, out, 'indexSelect'), a, 'indexSelect');
      S[i++] = dim;
      put(i, index, 'indexSelect');
      if (numel(out.shape) > 0) addon.indexSelect();
    },
    indexAdd(out, dim, index, src) {
      check.indexAdd(out, dim, index, src);
      let i = put(0, out, 'indexAdd');
      S[i++] = dim;
      put(put(i, index, 'indexAdd'), src, 'indexAdd');
      if (numel(src.shape) > 0) addon.indexAdd();
    },
    logSoftmax(out, a, dim) {
      check.rows('logSoftmax', out, [a], dim);
      const [o, x] = rowViews([out, a]);
      S[put(put(0, o, 'logSoftmax'), x, 'logSoftmax')] = dim;
      if (numel(out.shape) > 0) addon.logSoftmax();
    },
    logSoftmaxBackward(out, g, y, dim) {
      check.rows('logSoftmaxBackward', out, [g, y], dim);
      const [o, gv, yv] = rowViews([out, g, y]);
      S[put(put(put(0, o, 'logSoftmaxBackward'), gv, 'logSoftmaxBackward'), yv, 'logSoftmaxBackward')] = dim;
      if (numel(out.shape) > 0) addon.logSoftmaxBackward();
    },
    nllLoss(out, a, target, scale) {
      check.nll('nllLoss', a, out, target);
      S[put(put(put(0, out, 'nllLoss'), a, 'nllLoss'), target, 'nllLoss')] = scale;
      addon.nllLoss();
    },
    nllLossBackward(out, g, target, scale) {
      check.nll('nllLossBackward', out, g, target);
      S[put(put(put(0, out, 'nllLossBackward'), g, 'nllLossBackward'), target, 'nllLossBackward')] = scale;
      if (numel(out.shape) > 0) addon.nllLossBackward();
    },
  };

  return backend;
}

/** Views for a row kernel: a 0-d view is one row of one element. */
function rowViews(views: Arg[]): Arg[] {
  return views[0].shape.length > 0 ? views : views.map((v) => ({ ...v, shape: [1], strides: [1] }));
}

const addon = loadAddon();

/** The native backend, or null when the addon is not built (callers then use the reference backend). */
export const cpuBackend: Backend | null = addon === null ? null : createBackend(addon);

/** Threads the native pool uses and whether the AVX2/FMA kernels are active, for benchmarks and tests. */
export const cpuInfo = addon === null ? null : { threads: addon.threads, avx2: addon.avx2 };
