// Tensors drawn with text for a terminal: a sparkline for 1-D, a shaded block heatmap for 2-D,
// a few such heatmaps for more dims. Plain Unicode blocks, no colour codes, so any terminal (and
// any log file) shows them. The numbers come from block means on the tensor's device.
import { isTensor, type Tensor } from '../tensor.js';
import { noGrad } from '../autograd/mode.js';
import { tensor } from '../functional/creation.js';
import { VizArgumentError, formatNumber } from './common.js';
import { asFloat, blockMeans, sliceAt, tensorStats, type TensorStats } from './tensor-stats.js';

export interface TermOptions {
  /** Columns to fill at most (default 80). */
  width?: number;
  /** Rows a heatmap may take at most (default 24; a sparkline is one row). */
  height?: number;
}

const CALL = 'gb.viz.term';
const BARS = '▁▂▃▄▅▆▇█';
const SHADES = ' ░▒▓█';
const MARKS = { nan: '×', posinf: '▲', neginf: '▼' } as const;
/** Slices of an N-D tensor drawn before the rest are only counted. */
const MAX_SLICES = 3;

/** Prints `termText(t, opts)` to standard output. */
export function term(t: Tensor | number[], opts?: TermOptions): void {
  process.stdout.write(termText(t, opts) + '\n');
}

/** The terminal picture of t as a string (what `term` prints). */
export function termText(t: Tensor | number[], opts?: TermOptions): string {
  const { width, height } = checkOptions(opts);
  const x = asTensor(t);
  return noGrad(() => draw(x, width, height));
}

function draw(x: Tensor, width: number, height: number): string {
  const head = `Tensor [${x.shape.join(', ')}] ${x.dtype} ${x.device}`;
  if (x.storage.freed) return `${head}: its storage was freed, nothing to draw`;
  if (x.numel() === 0) return `${head}: empty, nothing to draw`;
  if (x.ndim === 0) {
    const v = asFloat(x).item();
    return `${head}: ${x.dtype === 'bool' ? (v ? 'True' : 'False') : formatNumber(v)}`;
  }
  const stats = tensorStats(x);
  const lines = [head];
  if (x.ndim === 1) lines.push(...sparkline(x, width));
  else if (x.ndim === 2) lines.push(...heatmap(x, width, height));
  else lines.push(...slices(x, width, height));
  lines.push(statsLine(stats));
  const marks = marksLine(stats);
  if (marks) lines.push(marks);
  return lines.join('\n');
}

function checkOptions(opts: unknown): { width: number; height: number } {
  if (opts === undefined) return { width: 80, height: 24 };
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new VizArgumentError(CALL, 'the options', 'an object {width?, height?}', opts);
  }
  const o = opts as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'width' && key !== 'height') {
      throw new VizArgumentError(CALL, `option '${key}'`, 'one of width, height', o[key]);
    }
  }
  const int = (key: string, lo: number, hi: number, fallback: number): number => {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new VizArgumentError(CALL, key, `an integer from ${lo} to ${hi}`, v);
    }
    return v;
  };
  return { width: int('width', 16, 1000, 80), height: int('height', 2, 500, 24) };
}

function asTensor(t: unknown): Tensor {
  if (isTensor(t)) return t;
  if (Array.isArray(t)) {
    const bad = t.findIndex((v) => typeof v !== 'number');
    if (bad >= 0) throw new VizArgumentError(CALL, `element ${bad} of the array`, 'a number', t[bad]);
    return tensor(t, { dtype: 'float64' });
  }
  throw new VizArgumentError(CALL, 'the first argument', 'a Tensor or an array of numbers', t);
}

/** The finite range of some values (NaN, NaN when none is finite). */
function finiteRange(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return lo <= hi ? [lo, hi] : [NaN, NaN];
}

/** The character of value v on a ramp over [lo, hi]; the marks for NaN and the infinities. */
function glyph(v: number, lo: number, hi: number, ramp: string): string {
  if (Number.isNaN(v)) return MARKS.nan;
  if (v === Infinity) return MARKS.posinf;
  if (v === -Infinity) return MARKS.neginf;
  const top = ramp.length - 1;
  const k = hi > lo ? Math.round(((v - lo) / (hi - lo)) * top) : Math.floor(top / 2);
  return ramp[Math.max(0, Math.min(top, k))]!;
}

function blockNote(count: number, what: string): string {
  return count > 1 ? `each ${what}: the mean of ${count} values` : `one ${what} per value`;
}

function sparkline(x: Tensor, width: number): string[] {
  const n = x.numel();
  const b = Math.ceil(n / width);
  const m = blockMeans(x, 1, b);
  const [lo, hi] = finiteRange(m.values);
  const line = Array.from(m.values, (v) => glyph(v, lo, hi, BARS)).join('');
  const scale = Number.isNaN(lo) ? '' : `; ${BARS[0]} ${formatNumber(lo)} … ${BARS[BARS.length - 1]} ${formatNumber(hi)}`;
  return [line, `${blockNote(b, 'bar')}${scale}`];
}

/**
 * Block sizes for a heatmap of h x w in a box of width x height characters. A character is
 * about twice as tall as wide, so a block tries to be twice as tall as it is wide (square on
 * screen), unless that would leave too few rows to see anything. Small matrices get two
 * characters per value, which makes each value a square.
 */
function heatmapBlocks(h: number, w: number, width: number, height: number): { by: number; bx: number; cell: number } {
  if (2 * w <= width && h <= height) return { by: 1, bx: 1, cell: 2 };
  const bx = Math.ceil(w / width);
  const by = Math.max(Math.ceil(h / height), Math.min(2 * bx, Math.floor(h / 8) || 1));
  return { by, bx, cell: 1 };
}

function heatmap(x: Tensor, width: number, height: number): string[] {
  const [h, w] = x.shape as [number, number];
  const { by, bx, cell } = heatmapBlocks(h, w, width, height);
  const m = blockMeans(x, by, bx);
  const [lo, hi] = finiteRange(m.values);
  const rows: string[] = [];
  for (let i = 0; i < m.oh; i++) {
    let row = '';
    for (let j = 0; j < m.ow; j++) row += glyph(m.values[i * m.ow + j]!, lo, hi, SHADES).repeat(cell);
    rows.push(row);
  }
  const ramp = [...SHADES].map((c, i) => (i === 0 ? `'${c}'` : c)).join(' ');
  const scale = Number.isNaN(lo) ? '' : `; ${ramp} from ${formatNumber(lo)} to ${formatNumber(hi)}`;
  return [...rows, `${blockNote(by * bx, 'character')}${by * bx > 1 ? ` (${by}×${bx} block)` : ''}${scale}`];
}

function slices(x: Tensor, width: number, height: number): string[] {
  const lead = x.shape.slice(0, -2);
  const total = lead.reduce((a, n) => a * n, 1);
  const shown = Math.min(total, MAX_SLICES);
  const out: string[] = [];
  for (let k = 0; k < shown; k++) {
    const at: number[] = [];
    let r = k;
    for (let d = lead.length - 1; d >= 0; d--) {
      at[d] = r % lead[d]!;
      r = Math.floor(r / lead[d]!);
    }
    out.push(`[${[...at, ':', ':'].join(', ')}]`);
    out.push(...heatmap(sliceAt(x, at), width, Math.max(2, Math.floor(height / shown))));
  }
  if (total > shown) out.push(`… ${total - shown} more slices; draw one with gb.viz.term(t.select(0, i))`);
  return out;
}

function statsLine(s: TensorStats): string {
  if (s.finite === 0) return 'no finite values';
  const std = Number.isNaN(s.std) ? '—' : formatNumber(s.std);
  return `min ${formatNumber(s.min)}  max ${formatNumber(s.max)}  mean ${formatNumber(s.mean)}  std ${std}`;
}

function marksLine(s: TensorStats): string {
  if (s.nan + s.posinf + s.neginf === 0) return '';
  const parts = [
    `${MARKS.nan} NaN (${s.nan})`,
    `${MARKS.posinf} +inf (${s.posinf})`,
    `${MARKS.neginf} −inf (${s.neginf})`,
  ];
  return `${parts.join('  ')}: a block holding NaN shows NaN; min, max, mean and std leave them out`;
}
