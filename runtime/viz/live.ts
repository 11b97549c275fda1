// PLACEHOLDER: replaced by live views and progress bars.
import { View, type MimeBundle } from './common.js';
export class LiveView extends View {
  bundle(): MimeBundle {
    return { 'text/plain': '' };
  }
  update(_values: Record<string, number>): void {}
}
export class Progress {}
export function live(_opts: { metrics: string[] }): LiveView {
  throw new Error('gb.viz.live: not built yet');
}
export function progress(_it: unknown, _opts: { desc?: string } = {}): Progress {
  throw new Error('gb.progress: not built yet');
}
