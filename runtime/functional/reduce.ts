/** Reductions and the normalising composites (softmax, logSoftmax, logsumexp, var, std). */
import type { Tensor } from '../tensor.js';
import { isFloating } from '../dtype.js';
import { flags } from '../flags.js';
import * as P from '../prims.js';
import { normDim, normDims, shapeStr } from '../shape.js';
import { add, div, exp, log, mul, sqrt, sub, where, scalarLike } from './elementwise.js';
import { detach } from './convert.js';
import { reshape, squeeze, unsqueeze } from './movement.js';
import { renamed } from './naming.js';

function dimsOf(op: string, x: Tensor, dim: number | readonly number[] | undefined): number[] {
  if (Array.isArray(dim) && dim.length === 0) return normDims(op, undefined, x.ndim);
  return normDims(op, dim as number | number[] | undefined, x.ndim);
}

export function sum(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const axes = dimsOf('sum', x, dim);
  // integer and bool sums accumulate in int32 (PyTorch: int64)
  const src = isFloating(x.dtype) || x.dtype === 'int32' ? x : P.copy(x, 'int32');
  if (x.ndim === 0) return src === x ? renamed(P.copy(x), 'SumBackward0', x) : src;
  const out = P.reduce('sum', src, axes, keepdim);
  return dim === undefined ? renamed(out, 'SumBackward0', x) : out;
}

function floatOnly(op: string, x: Tensor): void {
  if (!isFloating(x.dtype)) {
    throw new TypeError(
      `${op}(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: ${x.dtype}`,
    );
  }
}

export function mean(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  floatOnly('mean', x);
  const axes = dimsOf('mean', x, dim);
  const n = axes.reduce((acc, d) => acc * x.shape[d], 1);
  const out = div(sum(x, dim, keepdim), n);
  return renamed(out, dim === undefined ? 'MeanBackward0' : 'MeanBackward1', x);
}

function extremum(op: 'amax' | 'amin', x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  const axes = dimsOf(op, x, dim);
  for (const d of axes) {
    if (x.shape[d] === 0) {
      throw new RangeError(
        `${op}: Expected reduction dim ${d} to have non-zero size (input shape ${shapeStr(x.shape)})`,
      );
    }
  }
  if (x.ndim === 0) return P.copy(x);
  if (x.numel() === 0 && axes.length === x.ndim) {
    throw new RangeError(`${op === 'amax' ? 'max' : 'min'}(): Expected reduction dim to be specified for input.numel() == 0.`);
  }
  return P.reduce(op, x, axes, keepdim);
}

export function amax(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const out = extremum('amax', x, dim, keepdim);
  return dim === undefined ? renamed(out, 'MaxBackward1', x) : out;
}
export function amin(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const out = extremum('amin', x, dim, keepdim);
  return dim === undefined ? renamed(out, 'MinBackward1', x) : out;
}

function argExtremum(op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  if (dim === undefined) {
    if (x.numel() === 0) throw new RangeError(`${op}(): Expected reduction dim to be specified for input.numel() == 0.`);
    const flat = reshape(x, [-1]);
    const r = P.argReduce(op, flat, 0, false);
    return keepdim ? reshape(r, x.shape.map(() => 1)) : r;
  }
  const d = normDim(op, dim, x.ndim);
  if (x.ndim === 0) return P.copy(P.fill(x.storage.backend, x.device, 'int32', [], 0));
  if (x.shape[d] === 0) throw new RangeError(`${op}(): Expected reduction dim ${d} to have non-zero size.`);
  return P.argReduce(op, x, d, keepdim);
}
export const argmax = (x: Tensor, dim?: number, keepdim = false) => argExtremum('argmax', x, dim, keepdim);
export const argmin = (x: Tensor, dim?: number, keepdim = false) => argExtremum('argmin', x, dim, keepdim);

/** max(dim)/min(dim): values and the index of the first extremum; the gradient goes to that index. */
export function maxDim(x: Tensor, dim: number, keepdim = false, which: 'max' | 'min' = 'max'): { values: Tensor; indices: Tensor } {
  const d = normDim(which, dim, x.ndim);
  const idx = argExtremum(which === 'max' ? 'argmax' : 'argmin', x, d, true);
  if (x.ndim === 0) return { values: P.copy(x), indices: idx };
  const values = P.gather(x, d, idx);
  const v = keepdim ? values : squeeze(values, d);
  renamed(v, which === 'max' ? 'MaxBackward0' : 'MinBackward0', x);
  return { values: v, indices: keepdim ? idx : squeeze(idx, d) };
}

export interface VarOptions {
  /** Bessel's correction (divide by N - 1); PyTorch's default. */
  unbiased?: boolean;
  correction?: number;
  keepdim?: boolean;
}

export function variance(x: Tensor, dim?: number | readonly number[], opts: VarOptions = {}): Tensor {
  floatOnly('var', x);
  const axes = dimsOf('var', x, dim);
  const n = axes.reduce((acc, d) => acc * x.shape[d], 1);
  const correction = opts.correction ?? (opts.unbiased === false ? 0 : 1);
  const centered = sub(x, mean(x, axes, true));
  const ss = sum(mul(centered, centered), axes, opts.keepdim ?? false);
  return renamed(div(ss, Math.max(n - correction, 0)), 'VarBackward0', x);
}

export function std(x: Tensor, dim?: number | readonly number[], opts: VarOptions = {}): Tensor {
  return renamed(sqrt(variance(x, dim, opts)), 'StdBackward0', x);
}

/** log(sum(exp(x))) computed stably: the max is subtracted first and added back. */
export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  const src = isFloating(x.dtype) ? x : P.copy(x, flags.defaultDtype);
  const axes = dimsOf('logsumexp', src, dim);
  if (src.numel() === 0) return log(sum(exp(src), axes, keepdim));
  const m = detach(amax(src, axes, true));
  // an all -inf (or inf) slice would give nan from inf - inf; use 0 there instead
  const safe = where(P.compare('eq', P.unary('abs', m), scalarLike(m, Infinity)), scalarLike(m, 0), m);
  const s = log(sum(exp(sub(src, safe)), axes, true));
  let out = add(s, safe);
  if (!keepdim) out = squeeze(out, axes);
  return renamed(out, 'LogsumexpBackward0', x);
}

export function softmax(x: Tensor, dim: number): Tensor {
  const src = isFloating(x.dtype) ? x : P.copy(x, flags.defaultDtype);
  const d = normDim('softmax', dim, src.ndim);
  if (src.ndim === 0) return squeeze(softmax(unsqueeze(src, 0), 0), 0);
  // exp(logSoftmax): two kernels each way instead of five and six; a row with +inf or of -inf
  // gives NaN, as PyTorch's softmax does
  return renamed(exp(P.logSoftmax(src, d)), 'SoftmaxBackward0', x);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  const src = isFloating(x.dtype) ? x : P.copy(x, flags.defaultDtype);
  const d = normDim('logSoftmax', dim, src.ndim);
  if (src.ndim === 0) return squeeze(logSoftmax(unsqueeze(src, 0), 0), 0);
  // x - max - log(sum(exp(x - max))) in one primitive. No guard for rows of infinities, unlike
  // logsumexp: PyTorch's log_softmax gives NaN across such a row too (an all -inf row, or a row
  // with +inf), and the primitive does the same.
  return P.logSoftmax(src, d);
}

