// PLACEHOLDER: replaced by the plots.
import { View, type MimeBundle } from './common.js';
export class Figure extends View {
  bundle(): MimeBundle {
    return { 'text/plain': '' };
  }
}
const later = (name: string) => (..._a: unknown[]): Figure => {
  throw new Error(`gb.viz.${name}: not built yet`);
};
export const line = later('line');
export const scatter = later('scatter');
export const hist = later('hist');
export const heatmap = later('heatmap');
export const image = later('image');
