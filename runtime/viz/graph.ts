// PLACEHOLDER: replaced by the autograd graph view.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { View, type MimeBundle } from './common.js';
export class GraphView extends View {
  bundle(): MimeBundle {
    return { 'text/plain': '' };
  }
}
export function graph(_t: Tensor, _opts: { module?: Module } = {}): GraphView {
  throw new Error('gb.viz.graph: not built yet');
}
