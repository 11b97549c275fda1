/**
 * The reference backend: plain TypeScript loops, float64 arithmetic, storage in the dtype's own
 * typed array (so float32 results round exactly as float32 storage does). It defines what each
 * primitive computes and is the answer key for the other backends' tests.
 */
import type { Arg, Backend, Buf } from '../../backend.js';
import { arrayFor, type DType, type TypedArray } from '../../dtype.js';
import type { ArgReduceOp, BinaryOp, CompareOp, ReduceOp, UnaryOp } from '../../ops.js';
import { numelOf } from '../../shape.js';
import { walk } from './walk.js';
import { binaryFn, compareFn, erf, unaryFn } from './math.js';

class RefBuf implements Buf {
  constructor(
    public data: TypedArray | null,
    readonly nbytes: number,
  ) {}
}

function arr(a: Arg): TypedArray {
  const data = (a.buf as RefBuf).data;
  if (data === null) throw new Error('reference backend: use of a freed buffer');
  return data;
}

/** Converts a float64 result to what storing into `dtype` means (bool: nonzero is true). */
/** a + alpha * b (or a - alpha * b), rounded once to the output dtype; int32 wraps exactly. */
function scaledFn(op: 'add' | 'sub', dtype: DType, alpha: number): (a: number, b: number) => number {
  const sign = op === 'add' ? 1 : -1;
  if (dtype === 'int32') return (a, b) => (a + sign * Math.imul(alpha, b)) | 0;
  return (a, b) => a + sign * (alpha * b);
}

function storeValue(dtype: DType, v: number): number {
  return dtype === 'bool' ? (v !== 0 ? 1 : 0) : v;
}

export const referenceBackend: Backend = {
  name: 'reference',
  deviceType: 'cpu',
  supports: (_op, dtype) => dtype !== 'float16' && dtype !== 'bfloat16',

  alloc(dtype, numel) {
    const data = arrayFor(dtype, numel);
    return new RefBuf(data, data.byteLength);
  },
  free(buf) {
    (buf as RefBuf).data = null;
  },
  write(buf, _dtype, data, offset = 0) {
    const dst = (buf as RefBuf).data;
    if (dst === null) throw new Error('reference backend: write to a freed buffer');
    dst.set(data as ArrayLike<number>, offset);
  },
  read(src) {
    const out = arrayFor(src.dtype, numelOf(src.shape));
    const s = arr(src);
    let i = 0;
    walk(src.shape, [src], (o) => {
      out[i++] = s[o[0]];
    });
    return out;
  },
  sync() {},

  unary(op: UnaryOp, out, a) {
    const f = unaryFn[op];
    const o = arr(out);
    const x = arr(a);
    walk(out.shape, [out, a], (p) => {
      o[p[0]] = storeValue(out.dtype, f(x[p[1]]));
    });
  },
  binary(op: BinaryOp, out, a, b, alpha = 1) {
    const f = alpha === 1 || (op !== 'add' && op !== 'sub') ? binaryFn(op, out.dtype) : scaledFn(op, out.dtype, alpha);
    const o = arr(out);
    const x = arr(a);
    const y = arr(b);
    walk(out.shape, [out, a, b], (p) => {
      o[p[0]] = storeValue(out.dtype, f(x[p[1]], y[p[2]]));
    });
  },
  compare(op: CompareOp, out, a, b) {
    const f = compareFn[op];
    const o = arr(out);
    const x = arr(a);
    const y = arr(b);
    walk(out.shape, [out, a, b], (p) => {
      o[p[0]] = f(x[p[1]], y[p[2]]) ? 1 : 0;
    });
  },
  where(out, cond, a, b) {
    const o = arr(out);
    const c = arr(cond);
    const x = arr(a);
    const y = arr(b);
    walk(out.shape, [out, cond, a, b], (p) => {
      o[p[0]] = c[p[1]] ? x[p[2]] : y[p[3]];
    });
  },
  copy(out, src) {
    const o = arr(out);
    const s = arr(src);
    // A copy between overlapping views of one buffer must read everything before writing.
    const from = out.buf === src.buf ? this.read(src) : null;
    let i = 0;
    walk(out.shape, [out, src], (p) => {
      o[p[0]] = storeValue(out.dtype, from ? from[i++] : s[p[1]]);
    });
  },
  fill(out, value) {
    const o = arr(out);
    const v = storeValue(out.dtype, value);
    walk(out.shape, [out], (p) => {
      o[p[0]] = v;
    });
  },
  reduce(op: ReduceOp, out, a, axes) {
    const o = arr(out);
    const x = arr(a);
    const acc = new Float64Array(numelOf(out.shape));
    acc.fill(op === 'sum' ? 0 : op === 'amax' ? -Infinity : Infinity);
    const seenNaN = new Uint8Array(acc.length);
    // out's strides with the reduced axes zeroed map every input position to its accumulator.
    const outPos = { buf: out.buf, dtype: out.dtype, shape: a.shape, offset: 0, strides: reducedStrides(a.shape, axes) };
    walk(a.shape, [outPos, a], (p) => {
      const v = x[p[1]];
      const k = p[0];
      if (op === 'sum') acc[k] += v;
      else if (Number.isNaN(v)) seenNaN[k] = 1;
      else if (op === 'amax' ? v > acc[k] : v < acc[k]) acc[k] = v;
    });
    let i = 0;
    walk(out.shape, [out], (p) => {
      o[p[0]] = storeValue(out.dtype, seenNaN[i] ? NaN : acc[i]);
      i++;
    });
  },
  argReduce(op: ArgReduceOp, out, a, axis) {
    const o = arr(out);
    const x = arr(a);
    const n = numelOf(out.shape);
    const best = new Float64Array(n).fill(NaN);
    const idx = new Int32Array(n).fill(-1);
    const outPos = { buf: out.buf, dtype: out.dtype, shape: a.shape, offset: 0, strides: reducedStrides(a.shape, [axis]) };
    const len = a.shape[axis];
    let flat = 0;
    const axisStride = numelOf(a.shape.slice(axis + 1));
    walk(a.shape, [outPos, a], (p) => {
      const k = p[0];
      const v = x[p[1]];
      const pos = Math.floor(flat / axisStride) % len;
      flat++;
      if (idx[k] === -1 || (!Number.isNaN(best[k]) && (Number.isNaN(v) || (op === 'argmax' ? v > best[k] : v < best[k])))) {
        best[k] = v;
        idx[k] = pos;
      }
    });
    let i = 0;
    walk(out.shape, [out], (p) => {
      o[p[0]] = idx[i++];
    });
  },
  matmul(out, a, b) {
    const o = arr(out);
    const x = arr(a);
    const y = arr(b);
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    for (let bi = 0; bi < B; bi++) {
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) {
            s +=
              x[a.offset + bi * a.strides[0] + i * a.strides[1] + k * a.strides[2]] *
              y[b.offset + bi * b.strides[0] + k * b.strides[1] + j * b.strides[2]];
          }
          o[out.offset + bi * out.strides[0] + i * out.strides[1] + j * out.strides[2]] = storeValue(out.dtype, s);
        }
      }
    }
  },
  gather(out, a, dim, index) {
    const o = arr(out);
    const x = arr(a);
    const ix = arr(index);
    const moved = { ...a, shape: index.shape, strides: a.strides.map((s, d) => (d === dim ? 0 : s)) };
    walk(out.shape, [out, moved, index], (p) => {
      o[p[0]] = x[p[1] + ix[p[2]] * a.strides[dim]];
    });
  },
  scatterAdd(out, dim, index, src) {
    const o = arr(out);
    const s = arr(src);
    const ix = arr(index);
    const moved = { ...out, shape: index.shape, strides: out.strides.map((st, d) => (d === dim ? 0 : st)) };
    walk(index.shape, [moved, index, src], (p) => {
      o[p[0] + ix[p[1]] * out.strides[dim]] = storeValue(out.dtype, o[p[0] + ix[p[1]] * out.strides[dim]] + s[p[2]]);
    });
  },
  indexSelect(out, a, dim, index) {
    const o = arr(out);
    const x = arr(a);
    const ix = arr(index);
    const ixStride = index.strides[0] ?? 0;
    const moved = { ...a, shape: out.shape, strides: a.strides.map((s, d) => (d === dim ? 0 : s)) };
    const pos = { ...out, strides: out.shape.map((_, d) => (d === dim ? 1 : 0)), offset: 0 };
    walk(out.shape, [out, moved, pos], (p) => {
      o[p[0]] = x[p[1] + ix[index.offset + p[2] * ixStride] * a.strides[dim]];
    });
  },
  indexAdd(out, dim, index, src) {
    const o = arr(out);
    const s = arr(src);
    const ix = arr(index);
    const ixStride = index.strides[0] ?? 0;
    const moved = { ...out, shape: src.shape, strides: out.strides.map((st, d) => (d === dim ? 0 : st)) };
    const pos = { ...src, strides: src.shape.map((_, d) => (d === dim ? 1 : 0)), offset: 0 };
    walk(src.shape, [moved, src, pos], (p) => {
      const k = p[0] + ix[index.offset + p[2] * ixStride] * out.strides[dim];
      o[k] = storeValue(out.dtype, o[k] + s[p[1]]);
    });
  },
  logSoftmax(out, a, dim) {
    const o = arr(out);
    const x = arr(a);
    eachRow(a.shape, dim, [out, a], (p, len, [so, sa]) => {
      // a NaN anywhere makes the row's max NaN, as amax does
      let m = -Infinity;
      for (let k = 0; k < len; k++) {
        const v = x[p[1] + k * sa];
        if (Number.isNaN(v) || v > m) m = v;
        if (Number.isNaN(v)) break;
      }
      let s = 0;
      for (let k = 0; k < len; k++) s += Math.exp(x[p[1] + k * sa] - m);
      const lse = Math.log(s);
      for (let k = 0; k < len; k++) o[p[0] + k * so] = x[p[1] + k * sa] - m - lse;
    });
  },
  logSoftmaxBackward(out, g, y, dim) {
    const o = arr(out);
    const gv = arr(g);
    const yv = arr(y);
    eachRow(g.shape, dim, [out, g, y], (p, len, [so, sg, sy]) => {
      let s = 0;
      for (let k = 0; k < len; k++) s += gv[p[1] + k * sg];
      for (let k = 0; k < len; k++) o[p[0] + k * so] = gv[p[1] + k * sg] - Math.exp(yv[p[2] + k * sy]) * s;
    });
  },
  nllLoss(out, a, target, scale) {
    const x = arr(a);
    const t = arr(target);
    const [n, c] = a.shape;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const k = t[target.offset + i * target.strides[0]];
      if (k < 0 || k >= c) throw new RangeError(`nllLoss: index ${k} is out of bounds for dimension with size ${c}`);
      s += x[a.offset + i * a.strides[0] + k * a.strides[1]];
    }
    arr(out)[out.offset] = scale * s;
  },
  nllLossBackward(out, g, target, scale) {
    const o = arr(out);
    const t = arr(target);
    const [n, c] = out.shape;
    const v = scale * arr(g)[g.offset];
    for (let i = 0; i < n; i++) {
      const k = t[target.offset + i * target.strides[0]];
      if (k < 0 || k >= c) throw new RangeError(`nllLossBackward: index ${k} is out of bounds for dimension with size ${c}`);
    }
    walk(out.shape, [out], (p) => {
      o[p[0]] = 0;
    });
    for (let i = 0; i < n; i++) o[out.offset + i * out.strides[0] + t[target.offset + i * target.strides[0]] * out.strides[1]] = v;
  },
};

/**
 * Visits each row along `dim` of views sharing `shape`: the offsets of the row's first element in
 * each view, the row's length, and each view's stride along it (a 0-d shape is one row of one).
 */
function eachRow(shape: readonly number[], dim: number, views: readonly Arg[], visit: (p: number[], len: number, st: number[]) => void): void {
  if (shape.length === 0) {
    visit(
      views.map((v) => v.offset),
      1,
      views.map(() => 0),
    );
    return;
  }
  const len = shape[dim];
  const st = views.map((v) => v.strides[dim]);
  const rows = views.map((v) => ({ ...v, shape: shape.map((n, d) => (d === dim ? 1 : n)) }));
  if (len === 0) return;
  walk(rows[0].shape, rows, (p) => visit(p, len, st));
}

/** Row-major strides of the reduced (keepdim) shape, with 0 on the reduced axes. */
function reducedStrides(shape: readonly number[], axes: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(0);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (axes.includes(d)) continue;
    strides[d] = acc;
    acc *= shape[d];
  }
  return strides;
}

export { erf };
