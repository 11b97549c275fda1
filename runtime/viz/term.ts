// PLACEHOLDER: replaced by the terminal views.
import type { Tensor } from '../tensor.js';
export function term(_t: Tensor | number[]): void {
  throw new Error('gb.viz.term: not built yet');
}
