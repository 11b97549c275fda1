// What every view shares: the MIME bundle type, the display convention, HTML escaping, the front
// end the kernel or REPL publishes, and the errors a wrong argument gets.

/** A MIME bundle: MIME type to data (a string, or JSON for the +json types). */
export type MimeBundle = Record<string, unknown>;

export const DISPLAY = Symbol.for('Jupyter.display');

/**
 * Note [front end]
 * The runtime knows nothing of Jupyter. A kernel or REPL that wants views updated in place (live
 * plots, progress bars) publishes an object under `globalThis[Symbol.for('gradbook.frontend')]`:
 * `kind` says where output lands ('notebook': rich bundles shown by a Jupyter client; 'terminal':
 * text/plain on a terminal), `display(bundle, {displayId, update})` shows a bundle or replaces the
 * one shown under `displayId`. Without one (a plain `node` script) views print text themselves.
 */
export interface Frontend {
  kind: 'notebook' | 'terminal';
  display(bundle: MimeBundle, options: { displayId: string; update?: boolean }): void;
}

export const FRONTEND = Symbol.for('gradbook.frontend');

export function frontend(): Frontend | undefined {
  const f = (globalThis as Record<symbol, unknown>)[FRONTEND] as Frontend | undefined;
  return f && typeof f.display === 'function' ? f : undefined;
}

/** A displayable value: anything with a bundle, shown by the kernel, REPL or `display()`. */
export abstract class View {
  abstract bundle(): MimeBundle;
  [DISPLAY](): MimeBundle {
    return this.bundle();
  }
  toString(): string {
    return String(this.bundle()['text/plain'] ?? '');
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** What a value is, for error messages: `a string ("abc")`, `a 2-D float32 Tensor [3, 4]`, `null`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object') {
    const t = value as { shape?: unknown; dtype?: unknown; constructor?: { name?: string } };
    if (Array.isArray(t.shape) && typeof t.dtype === 'string') {
      return `a ${t.shape.length}-D ${t.dtype} Tensor [${t.shape.join(', ')}]`;
    }
    const name = t.constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'an object';
  }
  if (typeof value === 'string') return `a string (${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)})`;
  return `${typeof value === 'number' ? 'the number' : `a ${typeof value}`} ${String(value)}`;
}

/** The Error a wrong argument gets: names the call, what it got and what it expected. */
export class VizArgumentError extends TypeError {
  override name = 'TypeError';
  constructor(call: string, what: string, expected: string, got: unknown) {
    super(`${call}: ${what} must be ${expected}, got ${describe(got)}`);
  }
}

/** A short unique id for DOM elements and display ids. */
let counter = 0;
export function uid(prefix = 'gb'): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter.toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

/** Numbers as people read them in a table or on an axis: 4 significant digits, no float noise. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3).replace(/\.?0+e/, 'e');
  return String(Number(v.toPrecision(4)));
}
