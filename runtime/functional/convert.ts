/** Reading values back, changing dtype or device, copies and detaching. */
import { Tensor } from '../tensor.js';
import { isDType, type DType, type TypedArray } from '../dtype.js';
import { isDeviceString, parseDevice, type DeviceLike } from '../device.js';
import * as P from '../prims.js';
import { renamed } from './naming.js';

/** A contiguous host copy of the values (synchronises with the device). */
export function data(t: Tensor): TypedArray {
  return t.storage.backend.read(t);
}

export function item(t: Tensor): number {
  if (t.numel() !== 1) {
    throw new RangeError(`item: a Tensor with ${t.numel()} elements cannot be converted to Scalar (shape [${t.shape.join(', ')}])`);
  }
  return data(t)[0];
}

/** Nested arrays of numbers (booleans for bool tensors). */
export function toArray(t: Tensor): unknown {
  const d = data(t);
  const bool = t.dtype === 'bool';
  if (t.ndim === 0) return bool ? d[0] !== 0 : d[0];
  let i = 0;
  const build = (dim: number): unknown[] => {
    const n = t.shape[dim];
    const out = new Array<unknown>(n);
    for (let k = 0; k < n; k++) out[k] = dim === t.ndim - 1 ? (bool ? d[i++] !== 0 : d[i++]) : build(dim + 1);
    return out;
  };
  return build(0);
}

export function detach(t: Tensor): Tensor {
  // Shares storage (and so the version counter) but is no differentiable view of t.
  return new Tensor(t.storage, t.shape, t.strides, t.offset);
}

export function clone(t: Tensor): Tensor {
  return renamed(P.copy(t), 'CloneBackward0', t);
}

export function contiguous(t: Tensor): Tensor {
  return t.isContiguous() ? t : renamed(P.copy(t), 'CloneBackward0', t);
}

export function to(t: Tensor, target: DeviceLike | DType | Tensor, opts?: { dtype?: DType; device?: DeviceLike }): Tensor {
  let dtype: DType = opts?.dtype ?? t.dtype;
  let device = opts?.device !== undefined ? parseDevice(opts.device, 'to') : t.device;
  if (target instanceof Tensor) {
    dtype = target.dtype;
    device = target.device;
  } else if (isDType(target)) dtype = target;
  else if (isDeviceString(target)) device = parseDevice(target, 'to');
  else throw new TypeError(`to: expected a device ('cpu', 'cuda', 'cuda:N'), a dtype or a Tensor, got ${JSON.stringify(target)}`);
  if (dtype === t.dtype && device === t.device) return t;
  return P.copy(t, dtype, device);
}
