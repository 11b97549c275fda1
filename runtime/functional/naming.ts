/**
 * Composite ops are made of primitives, so their last node carries a primitive's name. This gives
 * it the name PyTorch users know ('SoftmaxBackward0'), when the composite made a new node.
 */
import type { Tensor, TensorOrScalar } from '../tensor.js';

export function renamed(out: Tensor, name: string, ...inputs: TensorOrScalar[]): Tensor {
  const fn = out._gradFn;
  if (fn === null) return out;
  for (const x of inputs) if (typeof x === 'object' && x._gradFn === fn) return out;
  fn.name = name;
  return out;
}
