// gb.viz.live: one figure of training metrics, redrawn in place as a loop reports them. See
// Note [live updates]. Progress bars are in progress.ts.
import { Tensor } from '../tensor.js';
import { View, VizArgumentError, formatNumber, frontend, uid, type MimeBundle } from './common.js';
import { checkOptions } from './plot.js';
import { toPlotly } from './plotly.js';
import { PALETTE, renderSvg, type FigureSpec, type LineItem, type Panel } from './svg.js';

export { progress, Progress } from './progress.js';
export type { ProgressOptions } from './progress.js';

/**
 * Note [live updates]
 * A training loop calls update() every step, often every millisecond, so an update that does not
 * redraw must cost next to nothing: it writes the values into preallocated Float64Arrays and
 * reads the clock. Redraws are throttled by wall time (default at most 4 a second in a notebook,
 * 1 a second as text): a redraw renders the SVG and plotly JSON and hands them to the front end,
 * which in a notebook replaces the output shown under this view's display id (update_display_data,
 * never clear_output, so other output of the cell stays). The last values always show: close() or
 * flush() draws them now, and in a notebook a timer set when an update is held back draws them
 * once the loop lets the event loop run (a synchronous loop: when the cell's code returns).
 *
 * Memory is bounded: each metric keeps at most `maxPoints` points. When the buffer fills, every
 * second point is dropped and from then on only every 2nd, 4th, ... update is kept, so the stored
 * history covers the whole run evenly. The last value and the exact minimum and maximum are kept
 * apart from the buffer and always drawn and reported.
 */
export interface LiveOptions {
  metrics: string[];
  title?: string;
  /** milliseconds between redraws, at least (default 250 in a notebook, 1000 as text) */
  every?: number;
  /** points kept per metric (default 1000) */
  maxPoints?: number;
  xlabel?: string;
  logy?: boolean;
}

/** One metric's history: decimated points plus exact last, min and max. */
class History {
  readonly steps: Float64Array;
  readonly values: Float64Array;
  stored = 0;
  seen = 0;
  stride = 1;
  lastStep = NaN;
  last = NaN;
  min = Infinity;
  minStep = NaN;
  max = -Infinity;
  nonFinite = 0;

  constructor(readonly capacity: number) {
    this.steps = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  push(step: number, v: number): void {
    if (this.seen % this.stride === 0) {
      if (this.stored === this.capacity) this.#halve();
      this.steps[this.stored] = step;
      this.values[this.stored] = v;
      this.stored++;
    }
    this.seen++;
    this.lastStep = step;
    this.last = v;
    if (v - v !== 0) this.nonFinite++;
    else {
      if (v < this.min) {
        this.min = v;
        this.minStep = step;
      }
      if (v > this.max) this.max = v;
    }
  }

  /** Keeps every second stored point; amortised O(1) per push. */
  #halve(): void {
    const n = this.stored;
    let j = 0;
    for (let i = 0; i < n; i += 2, j++) {
      this.steps[j] = this.steps[i]!;
      this.values[j] = this.values[i]!;
    }
    this.stored = j;
    this.stride *= 2;
  }

  /** The points to draw: the stored ones, and the last one when it was not stored. */
  points(): { x: Float64Array; y: Float64Array } {
    const n = this.stored;
    const extra = n > 0 && this.steps[n - 1] === this.lastStep ? 0 : this.seen > 0 ? 1 : 0;
    const x = new Float64Array(n + extra);
    const y = new Float64Array(n + extra);
    x.set(this.steps.subarray(0, n));
    y.set(this.values.subarray(0, n));
    if (extra) {
      x[n] = this.lastStep;
      y[n] = this.last;
    }
    return { x, y };
  }
}

/** A figure of metrics against step that redraws itself in place; see Note [live updates]. */
export class LiveView extends View {
  readonly metrics: readonly string[];
  readonly title: string | undefined;
  readonly displayId = uid('gblive');
  readonly #histories: History[];
  readonly #every: number | undefined;
  readonly #xlabel: string;
  readonly #logy: boolean;
  #updates = 0;
  #lastStep = NaN;
  #lastDraw = -Infinity;
  #dirty = false;
  #shown = false;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** the number of redraws so far (bundles handed to a front end or text lines printed) */
  redraws = 0;

  constructor(opts: LiveOptions) {
    super();
    this.metrics = [...opts.metrics];
    this.title = opts.title;
    this.#every = opts.every;
    this.#xlabel = opts.xlabel ?? 'step';
    this.#logy = opts.logy ?? false;
    const cap = 2 * Math.ceil((opts.maxPoints ?? 1000) / 2);
    this.#histories = this.metrics.map(() => new History(cap));
  }

  /** Records one step's values (`step` defaults to the number of updates so far); redraws when due. */
  update(values: Record<string, number | Tensor>): void {
    if (this.#updates === 0) this.#checkFirst(values);
    const step = values.step === undefined ? this.#updates : toNumber(values.step, 'step');
    const hs = this.#histories;
    for (let i = 0; i < hs.length; i++) {
      const v = values[this.metrics[i]!];
      if (v === undefined) continue;
      hs[i]!.push(step, typeof v === 'number' ? v : toNumber(v, this.metrics[i]!));
    }
    this.#updates++;
    this.#lastStep = step;
    this.#dirty = true;
    const now = performance.now();
    if (now - this.#lastDraw >= this.#interval()) this.#draw(now);
    else if (this.#timer === undefined && this.#notebook()) this.#later(now);
  }

  /** Draws the latest values now if they are not shown yet. */
  flush(): void {
    if (this.#dirty) this.#draw(performance.now());
  }

  /** Draws the final state; as text, ends the line. Later updates start drawing again. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.flush();
    this.#closed = true;
  }

  get updates(): number {
    return this.#updates;
  }

  #checkFirst(values: unknown): void {
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new VizArgumentError('LiveView.update', 'values', `an object {step?, ${this.metrics.join(', ')}}`, values);
    }
    for (const k of Object.keys(values)) {
      if (k !== 'step' && !this.metrics.includes(k)) {
        throw new VizArgumentError('LiveView.update', `key '${k}'`, `'step' or one of the metrics ${this.metrics.join(', ')}`, k);
      }
    }
  }

  #notebook(): boolean {
    return frontend()?.kind === 'notebook';
  }

  #interval(): number {
    return this.#every ?? (this.#notebook() ? 250 : 1000);
  }

  /** A one-shot timer for the held-back values; unref'd so a script can still exit. */
  #later(now: number): void {
    const wait = Math.max(0, this.#lastDraw + this.#interval() - now);
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, wait);
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  #draw(now: number): void {
    this.#lastDraw = now;
    this.#dirty = false;
    this.redraws++;
    const f = frontend();
    if (f?.kind === 'notebook') {
      f.display(this.bundle(), { displayId: this.displayId, update: this.#shown });
      this.#shown = true;
      return;
    }
    // a progress bar may be on this line ('\r'-rewritten): clear it, print, and let it redraw below
    const tty = process.stdout.isTTY === true;
    process.stdout.write(`${tty ? '\r\x1b[2K' : ''}${this.textLine()}\n`);
  }

  /** 'step 120  loss 0.4321  acc 0.91' */
  textLine(): string {
    const parts = [`step ${formatNumber(this.#lastStep)}`];
    this.metrics.forEach((m, i) => {
      const h = this.#histories[i]!;
      if (h.seen) parts.push(`${m} ${formatNumber(h.last)}`);
    });
    return parts.join('  ');
  }

  spec(): FigureSpec {
    const n = this.metrics.length;
    const columns = n <= 3 ? n : Math.ceil(Math.sqrt(n));
    const rows = Math.ceil(n / columns);
    const titleH = this.title ? 30 : 0;
    const panels: Panel[] = this.metrics.map((m, i) => {
      const h = this.#histories[i]!;
      const { x, y } = h.points();
      const item: LineItem = { kind: 'line', name: m, color: PALETTE[i % PALETTE.length]!, x, y };
      const extremes = h.min <= h.max ? ` (min ${formatNumber(h.min)}, max ${formatNumber(h.max)})` : '';
      const about = h.seen ? `: ${formatNumber(h.last)}${extremes}` : '';
      return {
        title: `${m}${about}`,
        x: { label: this.#xlabel, integer: true },
        y: { log: this.#logy, pad: 0.05 },
        items: [item],
      };
    });
    return { title: this.title, width: Math.min(1000, 330 * columns + 40), height: 280 * rows + titleH, panels, columns };
  }

  bundle(): MimeBundle {
    const spec = this.spec();
    const head = this.title ? `live ${JSON.stringify(this.title)}` : 'live';
    const body = this.#updates ? this.textLine() : 'no updates yet';
    const kept = this.#histories[0] ? ` (${this.#updates} updates, ${this.#histories[0].stored} points kept per metric)` : '';
    const svg = renderSvg(spec);
    // HTML with the SVG inside and no script: nbconvert picks text/html first and passes it
    // through as is, where it runs its image/svg+xml outputs through an HTML cleaner that strips
    // SVG elements; plotly.js is left to the plots, as redrawing it 4 times a second would flicker
    return {
      'text/plain': `${head}: ${body}${kept}`,
      'image/svg+xml': svg,
      'text/html': `<div class="gradbook-live" style="width:${spec.width}px;max-width:100%">${svg}</div>`,
      'application/vnd.plotly.v1+json': toPlotly(spec),
    };
  }

  get closed(): boolean {
    return this.#closed;
  }
}

function toNumber(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (v instanceof Tensor && v.numel() === 1) return v.item();
  throw new VizArgumentError('LiveView.update', what, 'a number or a one-element Tensor', v);
}

/** A live plot of `metrics` against step; see Note [live updates]. */
export function live(opts: LiveOptions): LiveView {
  const call = 'gb.viz.live';
  const o = checkOptions(call, opts, ['metrics', 'title', 'every', 'maxPoints', 'xlabel', 'logy']);
  if (opts === undefined) throw new VizArgumentError(call, 'the options', 'an object {metrics: string[], title?, every?}', opts);
  const m = o.metrics;
  if (!Array.isArray(m) || m.length === 0 || !m.every((s) => typeof s === 'string' && s !== '' && s !== 'step')) {
    throw new VizArgumentError(call, 'opts.metrics', "a non-empty array of metric names (strings other than 'step')", m);
  }
  if (new Set(m).size !== m.length) throw new VizArgumentError(call, 'opts.metrics', 'names without repeats', m);
  if (o.every !== undefined && !(typeof o.every === 'number' && o.every >= 0)) {
    throw new VizArgumentError(call, 'opts.every', 'a number of milliseconds >= 0', o.every);
  }
  const max = o.maxPoints;
  if (max !== undefined && !(Number.isInteger(max) && (max as number) >= 4 && (max as number) <= 100_000)) {
    throw new VizArgumentError(call, 'opts.maxPoints', 'an integer from 4 to 100000', o.maxPoints);
  }
  return new LiveView(opts);
}
