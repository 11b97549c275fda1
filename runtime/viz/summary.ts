// PLACEHOLDER: replaced by the module summary.
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { View, type MimeBundle } from './common.js';
export class ModuleSummary extends View {
  bundle(): MimeBundle {
    return { 'text/plain': '' };
  }
}
export function summary(_model: Module, _sampleInput?: Tensor | Tensor[]): ModuleSummary {
  throw new Error('gb.viz.summary: not built yet');
}
export function moduleBundle(m: Module): MimeBundle {
  return { 'text/plain': m.toString() };
}
