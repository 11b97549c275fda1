/**
 * Checks native backends make before any kernel touches memory, the dtype fallbacks for calls the
 * kernels do not pair, and fused primitives composed from a backend's own kernels for one without
 * a fused kernel: shared so that the backends agree on behaviour and messages.
 */
import type { Arg, Backend } from '../backend.js';
import type { DType } from '../dtype.js';
import { contiguousStrides, numelOf } from '../shape.js';

export function checkSameShape(who: string, op: string, out: Arg, a: Arg): void {
  const s = out.shape;
  const t = a.shape;
  let ok = s.length === t.length;
  for (let d = 0; ok && d < s.length; d++) ok = s[d] === t[d];
  if (!ok) throw new RangeError(`${who}: ${op}: shape [${t.join(', ')}] does not match the output's [${s.join(', ')}]`);
}

export function checkDim(who: string, op: string, dim: number, nd: number): void {
  if ((dim | 0) !== dim || dim < 0 || dim >= Math.max(nd, 1)) throw new RangeError(`${who}: ${op}: bad dim ${dim} for ${nd} dims`);
}

/**
 * Runs `run` with each input converted to the dtype wanted for it (contiguous temporaries from
 * `convert`, freed afterwards), for the rare calls whose dtypes the kernels do not pair. Returns
 * false, doing nothing, when every input already has its dtype.
 */
export function withDtypes(
  backend: Backend,
  inputs: readonly Arg[],
  dtypes: readonly DType[],
  convert: (a: Arg, dtype: DType) => Arg,
  run: (xs: Arg[]) => void,
): boolean {
  if (inputs.every((a, i) => a.dtype === dtypes[i])) return false;
  const xs = inputs.map((a, i) => (a.dtype === dtypes[i] ? a : convert(a, dtypes[i])));
  try {
    run(xs);
  } finally {
    xs.forEach((x, i) => {
      if (x !== inputs[i]) backend.free(x.buf);
    });
  }
  return true;
}

/** A batched matmul's views: a [B, M, K], b [B, K, N], out [B, M, N]. */
export function checkMatmulShapes(who: string, out: Arg, a: Arg, b: Arg): void {
  if (a.shape.length !== 3 || b.shape.length !== 3 || out.shape.length !== 3) {
    throw new RangeError(`${who}: matmul: expects 3-D [B, M, K] x [B, K, N] views`);
  }
  const [B, M, K] = a.shape;
  const N = b.shape[2];
  if (b.shape[0] !== B || b.shape[1] !== K || out.shape[0] !== B || out.shape[1] !== M || out.shape[2] !== N) {
    throw new RangeError(
      `matmul: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] cannot be multiplied into [${out.shape.join(', ')}]`,
    );
  }
}

/** Op name → kernel code, in the order of the op list (the kernels' enums follow it). */
export const opCodes = (list: readonly string[]): Record<string, number> => Object.fromEntries(list.map((op, i) => [op, i]));

/** A fresh contiguous temporary of the backend's. */
export function contiguousTemp(backend: Backend, dtype: DType, shape: readonly number[]): Arg {
  return { buf: backend.alloc(dtype, numelOf(shape)), dtype, shape, strides: contiguousStrides(shape), offset: 0 };
}

/** A contiguous copy of `a` converted to `dtype`; the caller frees it. */
export function contiguousCopy(backend: Backend, a: Arg, dtype: DType): Arg {
  const out = contiguousTemp(backend, dtype, a.shape);
  backend.copy(out, a);
  return out;
}

/**
 * compare for the rare calls the kernels do not pair: operands of two dtypes are compared in
 * float64 (every dtype's values are exact there), and a non-bool output gets the bool result
 * converted. Returns false, doing nothing, for a bool output and operands of one dtype.
 */
export function compareWithDtypes(backend: Backend, op: Parameters<Backend['compare']>[0], out: Arg, a: Arg, b: Arg): boolean {
  if (a.dtype !== b.dtype) {
    return withDtypes(backend, [a, b], ['float64', 'float64'], (x, d) => contiguousCopy(backend, x, d), ([x, y]) => backend.compare(op, out, x, y));
  }
  if (out.dtype === 'bool') return false;
  const o = contiguousTemp(backend, 'bool', out.shape);
  try {
    backend.compare(op, o, a, b);
    backend.copy(out, o);
  } finally {
    backend.free(o.buf);
  }
  return true;
}

/** `a`'s shape with `dim` kept as size 1, and a view of `kept` broadcast back to `shape` along it. */
function keptAlong(shape: readonly number[], dim: number): number[] {
  return shape.map((n, d) => (d === dim || shape.length === 0 ? 1 : n));
}
function spread(kept: Arg, shape: readonly number[], dim: number): Arg {
  return { ...kept, shape, strides: kept.strides.map((s, d) => (d === dim ? 0 : s)) };
}

/** Runs fn, then frees the backend temporaries it used (also when it throws). */
function withTemps(backend: Backend, temps: readonly Arg[], fn: () => void): void {
  try {
    fn();
  } finally {
    for (const t of temps) backend.free(t.buf);
  }
}

/**
 * logSoftmax from a backend's own reduce, binary and unary kernels (five launches and two
 * temporaries), for a backend without a fused kernel: the same formula as the fused ones, with
 * each step rounded to the dtype.
 */
export function logSoftmaxByParts(backend: Backend, out: Arg, a: Arg, dim: number): void {
  const kept = keptAlong(a.shape, dim);
  const axes = a.shape.length === 0 ? [] : [dim];
  const m = contiguousTemp(backend, a.dtype, kept);
  const s = contiguousTemp(backend, a.dtype, kept);
  const e = contiguousTemp(backend, a.dtype, a.shape);
  withTemps(backend, [m, s, e], () => {
    backend.reduce('amax', m, a, axes);
    backend.binary('sub', out, a, spread(m, a.shape, dim));
    backend.unary('exp', e, out);
    backend.reduce('sum', s, e, axes);
    backend.unary('log', s, s);
    backend.binary('sub', out, out, spread(s, a.shape, dim));
  });
}

/** logSoftmaxBackward from a backend's own kernels: out = g - exp(y) * sum(g). */
export function logSoftmaxBackwardByParts(backend: Backend, out: Arg, g: Arg, y: Arg, dim: number): void {
  const s = contiguousTemp(backend, g.dtype, keptAlong(g.shape, dim));
  const e = contiguousTemp(backend, g.dtype, g.shape);
  withTemps(backend, [s, e], () => {
    backend.reduce('sum', s, g, g.shape.length === 0 ? [] : [dim]);
    backend.unary('exp', e, y);
    backend.binary('mul', e, e, spread(s, g.shape, dim));
    backend.binary('sub', out, g, e);
  });
}

/** The [N] targets as an [N, 1] index along dim 1. */
const column = (target: Arg, n: number): Arg => ({ ...target, shape: [n, 1], strides: [target.strides[0], 0] });

/** nllLoss from a backend's own gather, reduce, fill and binary kernels. */
export function nllLossByParts(backend: Backend, out: Arg, a: Arg, target: Arg, scale: number): void {
  const n = a.shape[0];
  const picked = contiguousTemp(backend, a.dtype, [n, 1]);
  const k = contiguousTemp(backend, a.dtype, []);
  withTemps(backend, [picked, k], () => {
    if (n > 0) backend.gather(picked, a, 1, column(target, n));
    backend.reduce('sum', { ...out, shape: [1, 1], strides: [0, 0] }, picked, [0, 1]);
    backend.fill(k, scale);
    backend.binary('mul', out, out, k);
  });
}

/** nllLossBackward from a backend's own fill, binary and scatterAdd kernels. */
export function nllLossBackwardByParts(backend: Backend, out: Arg, g: Arg, target: Arg, scale: number): void {
  const n = out.shape[0];
  const v = contiguousTemp(backend, out.dtype, [n, 1]);
  withTemps(backend, [v], () => {
    backend.fill(out, 0);
    backend.fill(v, scale);
    backend.binary('mul', v, v, { ...g, shape: [n, 1], strides: [0, 0] });
    backend.scatterAdd(out, 1, column(target, n), v);
  });
}

/** The argument checks of the kernels a native backend shares, with its name in every message. */
export function backendChecks(who: string) {
  const sameShape = (op: string, out: Arg, a: Arg) => checkSameShape(who, op, out, a);
  const dim = (op: string, d: number, nd: number) => checkDim(who, op, d, nd);
  const sameDType = (op: string, out: Arg, a: Arg) => {
    if (out.dtype !== a.dtype) throw new TypeError(`${who}: ${op}: dtypes ${out.dtype} and ${a.dtype} differ`);
  };
  /** index has `nd` dims, each no longer than `shape`'s (except along `dim`, which index values address). */
  const indexed = (op: string, index: Arg, nd: number, shape: readonly number[], d: number, what: string) => {
    if (index.dtype !== 'int32') throw new TypeError(`${who}: ${op}: index must be int32, got ${index.dtype}`);
    if (nd === 0) throw new RangeError(`${who}: ${op}: needs at least one dim (view a scalar as shape [1])`);
    const ok = index.shape.length === nd && index.shape.every((n, k) => k === d || n <= shape[k]);
    if (!ok) throw new RangeError(`${who}: ${op}: index shape [${index.shape.join(', ')}] does not fit ${what} shape [${shape.join(', ')}]`);
  };
  /** A 1-D (or 0-d) int32 index; returns how many indices it holds. */
  const indexVector = (op: string, index: Arg): number => {
    if (index.dtype !== 'int32') throw new TypeError(`${who}: ${op}: index must be int32, got ${index.dtype}`);
    if (index.shape.length > 1) throw new RangeError(`${who}: ${op}: index must be 1-D, got [${index.shape.join(', ')}]`);
    return index.shape.length === 0 ? 1 : index.shape[0];
  };
  return {
    sameShape,
    sameDType,
    dim,
    op(op: string, table: Record<string, number>, kind: string): number {
      const c = Object.hasOwn(table, op) ? table[op] : undefined;
      if (c === undefined) throw new TypeError(`${who}: unknown ${kind} op ${op}`);
      return c;
    },
    /** Returns which of a's dims are reduced. */
    reduce(op: string, out: Arg, a: Arg, axes: readonly number[]): boolean[] {
      const nd = a.shape.length;
      const seen = new Array<boolean>(nd).fill(false);
      for (const ax of axes) {
        dim(op, ax, nd);
        if (seen[ax]) throw new RangeError(`${who}: ${op}: axis ${ax} repeated`);
        seen[ax] = true;
      }
      const ok = out.shape.length === nd && a.shape.every((n, d) => out.shape[d] === (seen[d] ? 1 : n));
      if (!ok) throw new RangeError(`${who}: ${op}: output shape [${out.shape.join(', ')}] does not match input [${a.shape.join(', ')}] reduced over [${axes.join(', ')}]`);
      return seen;
    },
    argReduce(op: string, out: Arg, a: Arg, axis: number): void {
      const nd = a.shape.length;
      dim(op, axis, nd);
      if (out.dtype !== 'int32') throw new TypeError(`${who}: ${op}: output must be int32, got ${out.dtype}`);
      const ok = nd > 0 && out.shape.length === nd && a.shape.every((n, d) => out.shape[d] === (d === axis ? 1 : n));
      if (!ok && nd > 0) throw new RangeError(`${who}: ${op}: output shape [${out.shape.join(', ')}] does not match input [${a.shape.join(', ')}] along ${axis}`);
    },
    gather(out: Arg, a: Arg, d: number, index: Arg): void {
      const nd = a.shape.length;
      dim('gather', d, nd);
      indexed('gather', index, nd, a.shape, d, 'input');
      sameShape('gather', out, index);
      sameDType('gather', out, a);
    },
    scatterAdd(out: Arg, d: number, index: Arg, src: Arg): void {
      const nd = out.shape.length;
      dim('scatterAdd', d, nd);
      indexed('scatterAdd', index, nd, out.shape, d, 'output');
      indexed('scatterAdd', index, nd, src.shape, -1, 'src');
      sameDType('scatterAdd', out, src);
    },
    indexSelect(out: Arg, a: Arg, d: number, index: Arg): void {
      const nd = a.shape.length;
      dim('indexSelect', d, nd);
      const len = indexVector('indexSelect', index);
      const ok = nd > 0 && out.shape.length === nd && a.shape.every((n, k) => out.shape[k] === (k === d ? len : n));
      if (!ok) throw new RangeError(`${who}: indexSelect: output [${out.shape.join(', ')}] does not match input [${a.shape.join(', ')}] with ${len} indices along ${d}`);
      sameDType('indexSelect', out, a);
    },
    /** logSoftmax and its backward: floating views of out's shape and dtype, and a dim of theirs. */
    rows(op: string, out: Arg, inputs: readonly Arg[], d: number): void {
      if (out.dtype !== 'float32' && out.dtype !== 'float64' && out.dtype !== 'float16' && out.dtype !== 'bfloat16') {
        throw new TypeError(`${who}: ${op}: needs a floating dtype, got ${out.dtype}`);
      }
      for (const a of inputs) {
        sameShape(op, out, a);
        sameDType(op, out, a);
      }
      dim(op, d, out.shape.length);
    },
    /** nllLoss's views: a [N, C] floating, target [N] int32, the other [N, C] or 0-d as given. */
    nll(op: string, wide: Arg, scalar: Arg, target: Arg): void {
      if (wide.shape.length !== 2 || scalar.shape.length !== 0 || target.shape.length !== 1 || target.shape[0] !== wide.shape[0]) {
        throw new RangeError(`${who}: ${op}: expects [N, C], a 0-d value and [N] targets, got [${wide.shape.join(', ')}], [${scalar.shape.join(', ')}] and [${target.shape.join(', ')}]`);
      }
      if (target.dtype !== 'int32') throw new TypeError(`${who}: ${op}: targets must be int32, got ${target.dtype}`);
      if (wide.dtype !== 'float32' && wide.dtype !== 'float64' && wide.dtype !== 'float16' && wide.dtype !== 'bfloat16') {
        throw new TypeError(`${who}: ${op}: needs a floating dtype, got ${wide.dtype}`);
      }
      sameDType(op, wide, scalar);
    },
    indexAdd(out: Arg, d: number, index: Arg, src: Arg): void {
      const nd = out.shape.length;
      dim('indexAdd', d, nd);
      const len = indexVector('indexAdd', index);
      const ok = nd > 0 && src.shape.length === nd && out.shape.every((n, k) => src.shape[k] === (k === d ? len : n));
      if (!ok) throw new RangeError(`${who}: indexAdd: src [${src.shape.join(', ')}] does not match output [${out.shape.join(', ')}] with ${len} indices along ${d}`);
      sameDType('indexAdd', out, src);
    },
  };
}
