// A recording OutputSink: what a cell sent, in order, with scripted answers for input and pause.
import type { DisplayOptions, OutputSink } from '../kernel/cell-io.js';
import type { MimeBundle } from '../kernel/protocol.js';

export type Event =
  | { kind: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { kind: 'display'; bundle: MimeBundle; options: DisplayOptions }
  | { kind: 'clear'; wait: boolean }
  | { kind: 'input'; prompt: string; password: boolean }
  | { kind: 'pause'; prompt: string };

export class RecordingSink implements OutputSink {
  readonly events: Event[] = [];
  answers: string[] = [];

  stream(name: 'stdout' | 'stderr', text: string): void {
    this.events.push({ kind: 'stream', name, text });
  }
  display(bundle: MimeBundle, options: DisplayOptions): void {
    this.events.push({ kind: 'display', bundle, options });
  }
  clearOutput(wait: boolean): void {
    this.events.push({ kind: 'clear', wait });
  }
  input(prompt: string, password: boolean): Promise<string> {
    this.events.push({ kind: 'input', prompt, password });
    return Promise.resolve(this.answers.shift() ?? '');
  }
  pause(prompt: string): string {
    this.events.push({ kind: 'pause', prompt });
    return this.answers.shift() ?? '';
  }

  text(name: 'stdout' | 'stderr' = 'stdout'): string {
    return this.events.map((e) => (e.kind === 'stream' && e.name === name ? e.text : '')).join('');
  }
}
