// PLACEHOLDER: replaced by the tensor view.
import type { Tensor } from '../tensor.js';
import type { MimeBundle } from './common.js';
export function tensorBundle(_t: Tensor): MimeBundle {
  return {};
}
