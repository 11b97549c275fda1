// MIME bundles for values: Deno's `Symbol.for('Jupyter.display')` convention, else util.inspect.
import { inspect } from 'node:util';
import type { MimeBundle } from './protocol.js';

export const DISPLAY_SYMBOL = Symbol.for('Jupyter.display');

export function toMimeBundle(value: unknown, colors = false): MimeBundle {
  const custom = displayMethod(value);
  if (custom) {
    const bundle = custom.call(value) as unknown;
    if (typeof bundle === 'object' && bundle !== null) {
      const out = { ...(bundle as MimeBundle) };
      // text/plain is always present: the REPL and plain-text front ends show only that.
      if (typeof out['text/plain'] !== 'string') out['text/plain'] = plainText(value, colors);
      return out;
    }
  }
  return { 'text/plain': plainText(value, colors) };
}

function displayMethod(value: unknown): ((this: unknown) => unknown) | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  try {
    const m = (value as Record<symbol, unknown>)[DISPLAY_SYMBOL];
    return typeof m === 'function' ? (m as (this: unknown) => unknown) : undefined;
  } catch {
    return undefined;
  }
}

function plainText(value: unknown, colors: boolean): string {
  if (typeof value === 'string') return inspect(value, { colors });
  return inspect(value, { colors, depth: 4, maxArrayLength: 100 });
}
