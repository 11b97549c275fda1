// gb.progress: tqdm's progress bar over an iterable, an async iterable (a DataLoader) or a count,
// with rate, ETA and a postfix. Where it draws: see Note [progress output].
import { Tensor } from '../tensor.js';
import { View, VizArgumentError, escapeHtml, formatNumber, frontend, uid, type MimeBundle } from './common.js';

/**
 * Note [progress output]
 * In a notebook the bar is an HTML element redrawn in place under its display id, at most 5 times
 * a second. On a terminal (stdout is a TTY) it is one line rewritten with '\r' and an ANSI
 * clear-line, 10 times a second, ended with a newline when the loop ends. Anywhere else (a log
 * file, CI, a pipe) rewriting makes no sense, so a plain line is printed each time another tenth of
 * the total is done (every 10 seconds when the total is unknown), and one at the end.
 *
 * Iterations are counted as tqdm counts them: an item is done when the loop asks for the next one.
 * The bar finishes when the source is exhausted, and also when the loop leaves early (break,
 * return or an exception call the iterator's return()): then the final state shows the count
 * reached, the elapsed time and, in a notebook, a red bar instead of a green one.
 */
export interface ProgressOptions {
  desc?: string;
  /** the number of iterations expected (default: the count given, or the source's length or size) */
  total?: number;
  /** milliseconds between redraws, at least (default 200 in a notebook, 100 on a terminal) */
  every?: number;
}

type Source<T> = Iterable<T> | AsyncIterable<T>;
type Mode = 'notebook' | 'tty' | 'lines';
type Postfix = Record<string, unknown>;

const BLOCKS = ' ▏▎▍▌▋▊▉█';
const ROW_STYLE =
  'display:flex;align-items:center;gap:8px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;white-space:pre';
const BAR_WIDTH = 20;

/** The iterable 0, 1, ..., n-1, without a generator's overhead. */
function range(n: number): Iterable<number> {
  return {
    [Symbol.iterator]() {
      let i = 0;
      return { next: () => (i < n ? { done: false, value: i++ } : { done: true, value: undefined }) };
    },
  };
}

/** tqdm's intervals: 'mm:ss', or 'h:mm:ss' past an hour. */
export function formatInterval(seconds: number): string {
  if (!(seconds >= 0) || !Number.isFinite(seconds)) return '?';
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class Progress<T = unknown> extends View implements Iterable<T>, AsyncIterable<T> {
  /** iterations done */
  n = 0;
  total: number | undefined;
  desc: string;
  readonly displayId = uid('gbprogress');
  /** the number of redraws so far (bundles handed to a front end or lines printed) */
  redraws = 0;
  readonly #source: Source<T> | undefined;
  readonly #every: number | undefined;
  #postfix: Postfix | undefined;
  #start = NaN;
  #end = NaN;
  #lastDraw = -Infinity;
  #mode: Mode | undefined;
  #shown = false;
  #tenth = 0;
  #state: 'running' | 'done' | 'stopped' = 'running';

  constructor(source: Source<T> | undefined, opts: ProgressOptions = {}) {
    super();
    this.#source = source;
    this.desc = opts.desc ?? '';
    this.total = opts.total;
    this.#every = opts.every;
  }

  [Symbol.iterator](): Iterator<T> {
    const src = this.#source as Partial<Iterable<T>> | undefined;
    if (!src || typeof src[Symbol.iterator] !== 'function') {
      throw new TypeError('gb.progress: this source is only async-iterable: loop over it with `for await (... of bar)`');
    }
    const it = src[Symbol.iterator]!();
    let started = false;
    return {
      next: (): IteratorResult<T> => {
        if (started) this.#advance(1);
        else {
          started = true;
          this.#begin();
        }
        const r = it.next();
        if (r.done) this.#finish('done');
        return r;
      },
      return: (value?: unknown): IteratorResult<T> => {
        this.#finish('stopped');
        it.return?.();
        return { done: true, value: value as T };
      },
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    const src = this.#source as Partial<AsyncIterable<T> & Iterable<T>> | undefined;
    const it: Iterator<T> | AsyncIterator<T> | undefined =
      typeof src?.[Symbol.asyncIterator] === 'function'
        ? src[Symbol.asyncIterator]!()
        : typeof src?.[Symbol.iterator] === 'function'
          ? src[Symbol.iterator]!()
          : undefined;
    if (!it) throw new TypeError('gb.progress: nothing to iterate: pass an iterable, an async iterable or a count');
    let started = false;
    return {
      next: async (): Promise<IteratorResult<T>> => {
        if (started) this.#advance(1);
        else {
          started = true;
          this.#begin();
        }
        const r = await it.next();
        if (r.done) this.#finish('done');
        return r;
      },
      return: async (value?: unknown): Promise<IteratorResult<T>> => {
        this.#finish('stopped');
        await it.return?.();
        return { done: true, value: value as T };
      },
    };
  }

  /** Counts `k` more iterations done, for bars driven by hand. */
  update(k = 1): void {
    if (this.#mode === undefined) this.#begin();
    this.#advance(k, false);
  }

  /** Shown after the bar, as tqdm's set_postfix: `loss=0.1234, acc=0.91`. */
  setPostfix(values: Postfix): this {
    if (typeof values !== 'object' || values === null) {
      throw new VizArgumentError('Progress.setPostfix', 'values', 'an object such as {loss: 0.5}', values);
    }
    // numbers are formatted when drawn; a tensor is read now, while it still exists
    let copy: Postfix | undefined;
    for (const k in values) {
      const v = values[k];
      if (v instanceof Tensor) {
        copy ??= { ...values };
        copy[k] = v.numel() === 1 ? v.item() : `Tensor[${v.shape.join(', ')}]`;
      }
    }
    this.#postfix = copy ?? values;
    return this;
  }

  /** The same as setPostfix. */
  postfix(values: Postfix): this {
    return this.setPostfix(values);
  }

  /** Finishes the bar now (a bar driven by update(), or one left unfinished). */
  close(): void {
    this.#finish(this.total !== undefined && this.n >= this.total ? 'done' : 'stopped');
  }

  get state(): 'running' | 'done' | 'stopped' {
    return this.#state;
  }

  #begin(): void {
    if (this.#mode !== undefined) return;
    this.#start = performance.now();
    this.#mode = frontend()?.kind === 'notebook' ? 'notebook' : process.stdout.isTTY === true ? 'tty' : 'lines';
    if (this.#mode !== 'lines') this.#draw(this.#start);
  }

  /** `iterating`: counted by the iterator, which finishes the bar itself at the end. */
  #advance(k: number, iterating = true): void {
    this.n += k;
    if (this.#state !== 'running') return;
    // the last item done: the finish that follows draws the final state, once
    if (iterating && this.n === this.total) return;
    if (this.#mode === 'lines') {
      const total = this.total;
      if (total !== undefined && total > 0) {
        const tenth = Math.floor((10 * this.n) / total);
        if (tenth > this.#tenth && this.n < total) {
          this.#tenth = tenth;
          this.#draw(performance.now());
        }
        return;
      }
    }
    const now = performance.now();
    if (now - this.#lastDraw >= this.#interval()) this.#draw(now);
  }

  #interval(): number {
    return this.#every ?? (this.#mode === 'notebook' ? 200 : this.#mode === 'tty' ? 100 : 10_000);
  }

  #finish(state: 'done' | 'stopped'): void {
    if (this.#state !== 'running') return;
    if (this.#mode === undefined) this.#begin();
    this.#state = state;
    this.#end = performance.now();
    this.#draw(this.#end);
  }

  #draw(now: number): void {
    this.#lastDraw = now;
    this.redraws++;
    if (this.#mode === 'notebook') {
      const f = frontend();
      if (f) {
        f.display(this.bundle(), { displayId: this.displayId, update: this.#shown });
        this.#shown = true;
        return;
      }
    }
    const end = this.#state === 'running' ? '' : '\n';
    if (this.#mode === 'tty') process.stdout.write(`\r\x1b[2K${this.text(now)}${end}`);
    else process.stdout.write(`${this.text(now)}\n`);
  }

  /** tqdm's line: `desc:  45%|█████████           | 45/100 [00:01<00:01, 38.20it/s, loss=0.123]` */
  text(now = this.#state === 'running' ? performance.now() : this.#end): string {
    const elapsed = Number.isNaN(this.#start) ? 0 : Math.max(0, (now - this.#start) / 1000);
    const rate = elapsed > 0 ? this.n / elapsed : NaN;
    const rateText = !(rate > 0) ? '?it/s' : rate >= 1 ? `${rate.toFixed(2)}it/s` : `${(1 / rate).toFixed(2)}s/it`;
    const post = this.#postfixText();
    const desc = this.desc ? `${this.desc}: ` : '';
    const total = this.total;
    if (total === undefined || total <= 0) {
      return `${desc}${this.n}it [${formatInterval(elapsed)}, ${rateText}${post}]`;
    }
    const frac = Math.min(1, this.n / total);
    const pct = `${Math.floor(frac * 100)}%`.padStart(4);
    const eta = this.#state === 'running' && rate > 0 ? `<${formatInterval((total - this.n) / rate)}` : '';
    return `${desc}${pct}|${bar(frac)}| ${this.n}/${total} [${formatInterval(elapsed)}${eta}, ${rateText}${post}]`;
  }

  #postfixText(): string {
    const p = this.#postfix;
    if (!p) return '';
    const parts: string[] = [];
    for (const k in p) {
      const v = p[k];
      parts.push(`${k}=${typeof v === 'number' ? formatNumber(v) : String(v)}`);
    }
    return parts.length ? `, ${parts.join(', ')}` : '';
  }

  bundle(): MimeBundle {
    const text = this.text();
    const total = this.total;
    const frac = total ? Math.min(1, this.n / total) : this.#state === 'running' ? 0 : 1;
    const colour = this.#state === 'done' ? '#2ca02c' : this.#state === 'stopped' ? '#d62728' : '#1f77b4';
    const descLength = this.desc ? this.desc.length + 2 : 0;
    const i = text.indexOf('|', descLength);
    const j = i < 0 ? -1 : text.indexOf('|', i + 1);
    // the text around tqdm's bar characters: the bar itself becomes a <div>
    const before = total && i >= 0 ? text.slice(0, i) : this.desc;
    const after = total && j > i ? text.slice(j + 1) : text.slice(descLength);
    const html =
      `<div class="gb-progress" style="${ROW_STYLE}">` +
      `<span>${escapeHtml(before)}</span>` +
      `<div style="width:240px;height:12px;background:#e6e6e6;border-radius:3px;overflow:hidden;flex:none">` +
      `<div style="width:${(frac * 100).toFixed(1)}%;height:100%;background:${colour}"></div></div>` +
      `<span>${escapeHtml(after)}</span></div>`;
    return { 'text/plain': text, 'text/html': html };
  }
}

/** tqdm's bar: full blocks, then one partial block in eighths. */
function bar(frac: number): string {
  const eighths = Math.round(frac * BAR_WIDTH * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  return ('█'.repeat(full) + (full < BAR_WIDTH && part ? BLOCKS[part] : '')).padEnd(BAR_WIDTH, ' ');
}

function lengthOf(source: unknown): number | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const s = source as { length?: unknown; size?: unknown };
  if (typeof s.length === 'number') return s.length;
  if (typeof s.size === 'number') return s.size;
  return undefined;
}

const SOURCES = 'an iterable, an async iterable or a count n';

/**
 * A progress bar over `source`: an iterable, an async iterable (a DataLoader works both ways) or a
 * count n (0..n-1); `undefined` with {total} gives a bar driven by update(). See Note [progress output].
 */
export function progress<T>(source: Iterable<T> | AsyncIterable<T>, opts?: ProgressOptions): Progress<T>;
export function progress(n: number, opts?: ProgressOptions): Progress<number>;
export function progress(source: undefined, opts: ProgressOptions & { total: number }): Progress<never>;
export function progress<T>(source: Source<T> | number | undefined, opts: ProgressOptions = {}): Progress<T | number> {
  const call = 'gb.progress';
  if (typeof opts !== 'object' || opts === null) {
    throw new VizArgumentError(call, 'the options', 'an object {desc?, total?}', opts);
  }
  for (const k of Object.keys(opts)) {
    if (!['desc', 'total', 'every'].includes(k)) {
      throw new VizArgumentError(call, `option '${k}'`, 'one of desc, total, every', k);
    }
  }
  if (opts.desc !== undefined && typeof opts.desc !== 'string') {
    throw new VizArgumentError(call, 'opts.desc', 'a string', opts.desc);
  }
  if (opts.total !== undefined && !(Number.isInteger(opts.total) && opts.total >= 0)) {
    throw new VizArgumentError(call, 'opts.total', 'an integer >= 0', opts.total);
  }
  if (opts.every !== undefined && !(typeof opts.every === 'number' && opts.every >= 0)) {
    throw new VizArgumentError(call, 'opts.every', 'a number of milliseconds >= 0', opts.every);
  }
  if (typeof source === 'number') {
    if (!(Number.isInteger(source) && source >= 0)) throw new VizArgumentError(call, 'n', 'an integer >= 0', source);
    return new Progress<number>(range(source), { ...opts, total: opts.total ?? source });
  }
  if (source === undefined) {
    if (opts.total === undefined) throw new VizArgumentError(call, 'the source', SOURCES, source);
    return new Progress<never>(undefined, opts);
  }
  const s = source as Partial<Iterable<T> & AsyncIterable<T>>;
  const iterable = typeof s[Symbol.iterator] === 'function' || typeof s[Symbol.asyncIterator] === 'function';
  if ((typeof s !== 'object' && typeof s !== 'string') || !iterable) {
    throw new VizArgumentError(call, 'the source', SOURCES, source);
  }
  return new Progress<T>(source, { ...opts, total: opts.total ?? lengthOf(source) });
}
