/** Transforms: callables on samples or batches (as torchvision.transforms). */
import { Tensor } from '../tensor.js';
import { fromHost } from '../functional/creation.js';
import { normDim } from '../shape.js';
import { where } from '../functional/elementwise.js';

export type Stat = number | readonly number[] | Tensor;

function statTensor(op: string, v: Stat, x: Tensor, dim: number | undefined): Tensor | number {
  if (typeof v === 'number') return v;
  const t = v instanceof Tensor ? v.to(x.device).to(x.dtype) : fromHost(Float64Array.from(v), [v.length], x.dtype, x.device);
  if (t.ndim === 0) return t;
  if (t.ndim !== 1) throw new RangeError(`${op}: mean and std must be numbers or 1-D, got shape [${t.shape.join(', ')}]`);
  const d = normDim(op, dim ?? (x.ndim >= 3 ? -3 : -1), x.ndim);
  if (x.shape[d] !== t.shape[0] && t.shape[0] !== 1) {
    throw new RangeError(`${op}: ${t.shape[0]} values for dim ${d} of size ${x.shape[d]} (input shape [${x.shape.join(', ')}])`);
  }
  return t.reshape(x.shape.map((s, i) => (i === d ? t.shape[0] : 1)));
}

/**
 * (x - mean) / std. Per-channel statistics (arrays or 1-D tensors) apply along `dim`: by default
 * the channel dim of images (-3) for inputs of 3 or more dims, else the last dim.
 */
export function normalize(x: Tensor, mean: Stat, std: Stat, opts: { dim?: number } = {}): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError('normalize: expected a Tensor');
  const s = statTensor('normalize', std, x, opts.dim);
  if (typeof s === 'number' ? s === 0 : (s.data() as Float64Array).some((e) => e === 0)) {
    throw new RangeError('normalize: std evaluated to zero after conversion, leading to division by zero');
  }
  return x.sub(statTensor('normalize', mean, x, opts.dim)).div(s);
}

/** A normalising transform with fixed statistics. */
export class Normalize {
  constructor(readonly mean: Stat, readonly std: Stat, readonly opts: { dim?: number } = {}) {}
  call(x: Tensor): Tensor {
    return normalize(x, this.mean, this.std, this.opts);
  }
  /**
   * Statistics of a training set: over all elements, or per index of `dim`. A constant feature
   * (std 0) gets std 1, as scikit-learn's StandardScaler does, so it maps to 0 instead of failing.
   */
  static fromData(x: Tensor, opts: { dim?: number } = {}): Normalize {
    if (opts.dim === undefined) {
      const s = x.std().item();
      return new Normalize(x.mean().item(), s === 0 ? 1 : s);
    }
    const d = normDim('Normalize.fromData', opts.dim, x.ndim);
    const others = x.shape.map((_, i) => i).filter((i) => i !== d);
    const std = x.std(others);
    return new Normalize(x.mean(others), where(std.eq(0), 1, std), { dim: d - x.ndim });
  }
}
