/** linear, activations, dropout, normalisation and embedding, composed of runtime ops. */
import { Tensor } from '../../tensor.js';
import { rand } from '../../functional/creation.js';
import * as E from '../../functional/elementwise.js';
import * as R from '../../functional/reduce.js';
import { reshape, transpose } from '../../functional/movement.js';
import { indexSelect } from '../../functional/indexing.js';
import { matmul } from '../../functional/linalg.js';
import { renamed } from '../../functional/naming.js';
import { detach } from '../../functional/convert.js';
import { noGrad } from '../../autograd/mode.js';
import { isFloating } from '../../dtype.js';
import { shapeStr } from '../../shape.js';

function checkTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected ${name} to be a Tensor, got ${x === null ? 'null' : typeof x}`);
}

/** y = x W^T + b, with x [..., in], W [out, in], b [out]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkTensor('linear', 'input', x);
  checkTensor('linear', 'weight', weight);
  if (weight.ndim !== 2 && weight.ndim !== 1) throw new RangeError(`linear: weight must be 1-D or 2-D, got ${shapeStr(weight.shape)}`);
  const inF = weight.shape[weight.ndim - 1];
  if (x.shape[x.ndim - 1] !== inF) {
    throw new RangeError(
      `linear: mat1 and mat2 shapes cannot be multiplied (input ${shapeStr(x.shape)}, weight ${shapeStr(weight.shape)}: ${x.shape[x.ndim - 1]} != ${inF})`,
    );
  }
  const out = matmul(x, weight.ndim === 2 ? transpose(weight, 0, 1) : weight);
  if (bias == null) return out;
  // The product is a new tensor of its own (not a view) for an input of 2 or more dims: the bias
  // goes onto it in place, one pass and no second output (Note [Recorded in-place]).
  const fresh = x.ndim >= 2 && weight.ndim === 2 && bias.dtype === out.dtype && bias.device === out.device;
  const withBias = fresh ? out.add_(bias) : E.add(out, bias);
  // PyTorch runs a 2-D input with a bias as one addmm, and shows its node
  return x.ndim === 2 && weight.ndim === 2 ? renamed(withBias, 'AddmmBackward0', x, weight, bias) : withBias;
}

export const relu = (x: Tensor): Tensor => E.relu(x);
export const gelu = (x: Tensor, opts?: { approximate?: 'none' | 'tanh' }): Tensor => E.gelu(x, opts);
export const tanh = (x: Tensor): Tensor => E.tanh(x);
export const sigmoid = (x: Tensor): Tensor => E.sigmoid(x);
export const silu = (x: Tensor): Tensor => E.silu(x);
export const softmax = (x: Tensor, dim: number): Tensor => R.softmax(x, dim);
export const logSoftmax = (x: Tensor, dim: number): Tensor => R.logSoftmax(x, dim);

/** Zeroes each element with probability p and scales the rest by 1/(1-p), in training only. */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  checkTensor('dropout', 'input', x);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: dropout probability has to be between 0 and 1, but got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return E.mul(x, 0);
  const keep = E.lt(rand(x.shape, { dtype: isFloating(x.dtype) ? x.dtype : 'float32', device: x.device }), 1 - p);
  return E.mul(E.mul(x, keep), 1 / (1 - p));
}

export interface BatchNormOptions {
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over every dim but 1. In training the batch statistics normalise and the
 * running ones (if given) move by `momentum` toward them, the variance unbiased, as PyTorch.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight?: Tensor | null,
  bias?: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor {
  checkTensor('batchNorm', 'input', x);
  const training = opts.training ?? false;
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  if (x.ndim < 2) throw new RangeError(`batchNorm: expected input with at least 2 dims, got ${shapeStr(x.shape)}`);
  const C = x.shape[1];
  const bshape = x.shape.map((s, i) => (i === 1 ? s : 1));
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  for (const [name, t] of [['running_mean', runningMean], ['running_var', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t != null && (t.ndim !== 1 || t.shape[0] !== C)) {
      throw new RangeError(`batchNorm: expected ${name} of shape [${C}] for input ${shapeStr(x.shape)}, got ${shapeStr(t.shape)}`);
    }
  }
  let mean: Tensor;
  let varT: Tensor;
  if (training || runningMean === null || runningVar === null) {
    const n = x.numel() / C;
    if (training && n <= 1) {
      throw new RangeError(`batchNorm: Expected more than 1 value per channel when training, got input size ${shapeStr(x.shape)}`);
    }
    mean = R.mean(x, dims, true);
    const centered = E.sub(x, mean);
    varT = R.mean(E.mul(centered, centered), dims, true);
    if (training && runningMean !== null && runningVar !== null) {
      noGrad(() => {
        const m = reshape(mean, [C]);
        const v = E.mul(reshape(varT, [C]), n / (n - 1));
        runningMean.mul_(1 - momentum).add_(E.mul(m, momentum));
        runningVar.mul_(1 - momentum).add_(E.mul(v, momentum));
      });
    }
  } else {
    mean = reshape(runningMean, bshape);
    varT = reshape(runningVar, bshape);
  }
  let out = E.mul(E.sub(x, mean), E.rsqrt(E.add(varT, eps)));
  if (weight != null) out = E.mul(out, reshape(weight, bshape));
  if (bias != null) out = E.add(out, reshape(bias, bshape));
  return out;
}

/** Normalises over the trailing dims `normalizedShape` (biased variance), then scales and shifts. */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  checkTensor('layerNorm', 'input', x);
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const tail = x.shape.slice(x.ndim - ns.length);
  if (ns.length > x.ndim || tail.some((s, i) => s !== ns[i])) {
    throw new RangeError(
      `layerNorm: Given normalized_shape=${shapeStr(ns)}, expected input with shape [*, ${ns.join(', ')}], but got input of size ${shapeStr(x.shape)}`,
    );
  }
  const dims = ns.map((_, i) => x.ndim - ns.length + i);
  const mean = R.mean(x, dims, true);
  const centered = E.sub(x, mean);
  const varT = R.mean(E.mul(centered, centered), dims, true);
  let out = E.mul(centered, E.rsqrt(E.add(varT, eps)));
  if (weight != null) out = E.mul(out, weight);
  if (bias != null) out = E.add(out, bias);
  return out;
}

/** Rows of `weight` picked by the int32 `indices`; the paddingIdx row gets no gradient. */
export function embedding(indices: Tensor, weight: Tensor, opts: { paddingIdx?: number | null } = {}): Tensor {
  checkTensor('embedding', 'indices', indices);
  checkTensor('embedding', 'weight', weight);
  if (indices.dtype !== 'int32') throw new TypeError(`embedding: Expected tensor for argument #1 'indices' to have scalar type int32; but got ${indices.dtype}`);
  if (weight.ndim !== 2) throw new RangeError(`embedding: 'weight' must be 2-D, got ${shapeStr(weight.shape)}`);
  const flat = reshape(indices, [-1]);
  const picked = indexSelect(weight, 0, flat);
  let out = picked;
  if (opts.paddingIdx != null) {
    const pad = opts.paddingIdx < 0 ? opts.paddingIdx + weight.shape[0] : opts.paddingIdx;
    const mask = reshape(E.eq(flat, pad), [-1, 1]);
    out = E.where(mask, detach(picked), picked);
  }
  return reshape(out, [...indices.shape, weight.shape[1]]);
}
