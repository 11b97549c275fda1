// What the plots read: plain arrays checked and copied to float64, and tensors reduced on their
// own device to a bounded size before anything reaches the JavaScript heap. See Note [bounded
// plots].
import { Tensor } from '../tensor.js';
import { noGrad } from '../autograd/mode.js';
import { tidy } from '../memory.js';
import { fromHost } from '../functional/creation.js';
import { stack } from '../functional/movement.js';
import { VizArgumentError } from './common.js';

/**
 * Note [bounded plots]
 * A plot's bundle is shown in a notebook and saved with it, so its size must not follow the data:
 * a 10^8-element tensor gives the same few kilobytes as a 10^4-element one. Lines keep at most
 * MAX_LINE_BUCKETS buckets per series, each drawn by its lowest and highest point (in the order they
 * occur) and a gap where the bucket held a NaN or inf, so spikes and holes survive decimation.
 * Scatters keep every k-th point. Histograms bin everything but read only the counts. Heatmaps and
 * images are averaged in blocks (a block holding a NaN stays NaN, so it is still marked).
 * Tensors up to READ_LIMIT elements are read whole (a few megabytes); bigger ones are reduced by
 * tensor ops on their device first, so only the reduced values cross to the host. On the CPU a
 * histogram of a big tensor reads it in chunks of READ_LIMIT instead of making full-size masks.
 */
export const READ_LIMIT = 1 << 20;
export const MAX_LINE_BUCKETS = 1000;
export const MAX_SCATTER_POINTS = 5000;

export type NumericArray = ArrayLike<number>;

export function isTypedNumbers(v: unknown): v is NumericArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

export function isNumberList(v: unknown): v is NumericArray {
  return (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number')) || isTypedNumbers(v);
}

/** A checked float64 copy of a plain array of numbers. */
export function numbersOf(call: string, what: string, v: unknown): Float64Array {
  if (isTypedNumbers(v)) return Float64Array.from(v as NumericArray);
  if (!Array.isArray(v)) throw new VizArgumentError(call, what, 'an array of numbers, a typed array or a 1-D Tensor', v);
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const e: unknown = v[i];
    if (typeof e !== 'number') {
      throw new VizArgumentError(call, `${what}[${i}]`, 'a number', e);
    }
    out[i] = e;
  }
  return out;
}

/** float32 or float64 on the tensor's device, so that NaN tests and means work for every dtype. */
export function asFloat(t: Tensor): Tensor {
  return t.dtype === 'float32' || t.dtype === 'float64' ? t : t.float();
}

/** Runs tensor code that records no autograd and frees every temporary it made. */
export function reduced<T>(fn: () => T): T {
  return tidy(() => noGrad(fn));
}

/** All values of a small tensor, as float64. */
export function readAll(t: Tensor): Float64Array {
  return reduced(() => Float64Array.from(asFloat(t).data() as Float32Array | Float64Array));
}

/** True for a value a plot draws as a number: not NaN, not ±inf. */
export const finite = (v: number): boolean => v - v === 0;

export interface Decimated {
  x: Float64Array;
  y: Float64Array;
  /** points before decimation */
  count: number;
  /** NaN or inf values of y among them */
  nonFinite: number;
}

/**
 * At most `buckets` buckets of consecutive points, each kept as its lowest and highest finite point
 * in their own order, plus a NaN point where the bucket held a NaN or inf (a gap in the line).
 */
export function decimate(x: Float64Array, y: Float64Array, buckets = MAX_LINE_BUCKETS): Decimated {
  const n = y.length;
  let nonFinite = 0;
  for (let i = 0; i < n; i++) if (!finite(y[i]!)) nonFinite++;
  if (n <= 2 * buckets) return { x, y, count: n, nonFinite };
  const k = Math.ceil(n / buckets);
  const ox: number[] = [];
  const oy: number[] = [];
  for (let s = 0; s < n; s += k) {
    const e = Math.min(n, s + k);
    let lo = -1;
    let hi = -1;
    let bad = -1;
    for (let i = s; i < e; i++) {
      const v = y[i]!;
      if (!finite(v) || !finite(x[i]!)) {
        if (bad < 0) bad = i;
        continue;
      }
      if (lo < 0 || v < y[lo]!) lo = i;
      if (hi < 0 || v > y[hi]!) hi = i;
    }
    emitBucket(ox, oy, x, y, lo, hi, bad);
  }
  return { x: Float64Array.from(ox), y: Float64Array.from(oy), count: n, nonFinite };
}

function emitBucket(ox: number[], oy: number[], x: NumericArray, y: NumericArray, lo: number, hi: number, bad: number) {
  const picks = [lo, hi, bad].filter((i, j, all) => i >= 0 && all.indexOf(i) === j).sort((a, b) => a - b);
  for (const i of picks) {
    ox.push(x[i]!);
    oy.push(i === bad ? NaN : y[i]!);
  }
}

/**
 * decimate() for a 1-D tensor `y` (and optional x values), reduced on the tensor's device when it
 * has more than `readLimit` elements: per bucket the masked amin/amax, their positions and the
 * first non-finite position, read back as 6 small vectors.
 */
export function decimateTensor(y: Tensor, x?: Tensor, readLimit = READ_LIMIT, buckets = MAX_LINE_BUCKETS): Decimated {
  const n = y.numel();
  if (n <= readLimit || n <= 2 * buckets) {
    const yv = readAll(y);
    const xv = x ? readAll(x) : indexRange(n);
    return decimate(xv, yv, buckets);
  }
  return reduced(() => {
    const flat = asFloat(y).reshape(-1);
    const k = Math.ceil(n / buckets);
    const full = Math.floor(n / k);
    const rest = n - full * k;
    const picks: number[] = [];
    const bads: boolean[] = [];
    let nonFinite = 0;
    const scan = (part: Tensor, rows: number, width: number, start: number) => {
      const ok = part.abs().lt(Infinity);
      const low = part.where(ok, Infinity).reshape(rows, width);
      const high = part.where(ok, -Infinity).reshape(rows, width);
      const bad = ok.logicalNot().reshape(rows, width);
      const same = (s: Tensor) => s.to(part.dtype);
      const stats = stack([
        low.amin(1),
        same(low.argmin(1)),
        high.amax(1),
        same(high.argmax(1)),
        same(bad.sum(1)),
        same(bad.float().argmax(1)),
      ]);
      const v = stats.data();
      for (let r = 0; r < rows; r++) {
        const at = (j: number) => v[j * rows + r]!;
        const base = start + r * width;
        const lo = finite(at(0)) ? base + at(1) : -1;
        const hi = finite(at(2)) ? base + at(3) : -1;
        const badAt = at(4) > 0 ? base + at(5) : -1;
        nonFinite += at(4);
        for (const i of [lo, hi, badAt].filter((i, j, all) => i >= 0 && all.indexOf(i) === j).sort((a, b) => a - b)) {
          picks.push(i);
          bads.push(i === badAt);
        }
      }
    };
    scan(flat.narrow(0, 0, full * k), full, k, 0);
    if (rest > 0) scan(flat.narrow(0, full * k, rest), 1, rest, full * k);
    const index = fromHost(Int32Array.from(picks), [picks.length], 'int32', y.device);
    const yv = Float64Array.from(flat.indexSelect(0, index).data() as Float32Array);
    for (let i = 0; i < picks.length; i++) if (bads[i]) yv[i] = NaN;
    const xIndex = x && x.device !== y.device ? index.to(x.device) : index;
    const xv = x ? Float64Array.from(asFloat(x).reshape(-1).indexSelect(0, xIndex).data() as Float32Array) : Float64Array.from(picks);
    return { x: xv, y: yv, count: n, nonFinite };
  });
}

export function indexRange(n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** Every k-th point, at most `max` of them (scatter plots: no shape to keep, only density). */
export function thin(x: Float64Array, y: Float64Array, max = MAX_SCATTER_POINTS): { x: Float64Array; y: Float64Array } {
  if (y.length <= max) return { x, y };
  const k = Math.ceil(y.length / max);
  const m = Math.ceil(y.length / k);
  const ox = new Float64Array(m);
  const oy = new Float64Array(m);
  for (let i = 0, j = 0; i < y.length; i += k, j++) {
    ox[j] = x[i]!;
    oy[j] = y[i]!;
  }
  return { x: ox, y: oy };
}

/** A tensor's points for a scatter plot: strided on the device first when it is big. */
export function thinTensor(t: Tensor, max = MAX_SCATTER_POINTS): Float64Array {
  const n = t.numel();
  if (n <= max) return readAll(t);
  const k = Math.ceil(n / max);
  return reduced(() => Float64Array.from(asFloat(t).reshape(-1).slice(0, 0, n, k).data() as Float32Array));
}

export interface Histogram {
  /** bins + 1 edges, increasing */
  edges: Float64Array;
  counts: Float64Array;
  /** finite values counted in the bins (those inside the range) */
  total: number;
  nan: number;
  posinf: number;
  neginf: number;
  /** finite values outside an explicit range */
  outside: number;
}

/** Counts of `values` in `bins` equal bins over `range` (default: the finite values' min..max). */
export function histogramOf(values: Float64Array, bins: number, range?: [number, number]): Histogram {
  const special = { nan: 0, posinf: 0, neginf: 0 };
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (finite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    } else countSpecial(special, v);
  }
  const edges = edgesOf(range ?? [lo, hi], bins);
  const counts = new Float64Array(bins);
  const outside = binInto(counts, edges, values, 0, values.length);
  const total = counts.reduce((a, b) => a + b, 0);
  return { edges, counts, total, ...special, outside };
}

function countSpecial(s: { nan: number; posinf: number; neginf: number }, v: number): void {
  if (Number.isNaN(v)) s.nan++;
  else if (v > 0) s.posinf++;
  else s.neginf++;
}

/** numpy's edges: a range with no width becomes [v - 0.5, v + 0.5]; no finite values, [0, 1]. */
export function edgesOf([lo, hi]: [number, number], bins: number): Float64Array {
  if (!(lo <= hi)) {
    lo = 0;
    hi = 1;
  } else if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i <= bins; i++) edges[i] = lo + ((hi - lo) * i) / bins;
  edges[bins] = hi;
  return edges;
}

/** Adds values[s..e) to counts; bin i is [edges[i], edges[i+1]), the last one closed. Returns the finite values outside. */
function binInto(counts: Float64Array, edges: Float64Array, values: NumericArray, s: number, e: number): number {
  const bins = counts.length;
  const lo = edges[0]!;
  const hi = edges[bins]!;
  const scale = bins / (hi - lo);
  let outside = 0;
  for (let i = s; i < e; i++) {
    const v = values[i]!;
    if (!finite(v)) continue;
    if (v < lo || v > hi) {
      outside++;
      continue;
    }
    let b = Math.min(bins - 1, Math.floor((v - lo) * scale));
    // the float division can land one bin off an edge; the edges decide, as on the device
    if (b > 0 && v < edges[b]!) b--;
    else if (b < bins - 1 && v >= edges[b + 1]!) b++;
    counts[b]!++;
  }
  return outside;
}

/**
 * histogramOf() for a tensor. Small tensors and CPU tensors are read (the CPU ones in chunks of
 * READ_LIMIT, so the heap holds one chunk); a big tensor on an accelerator is binned there: the
 * range from masked amin/amax, then one count of `x >= edge` per edge, read back together.
 * `mode` forces a path (tests run the device path on the CPU).
 */
export function histogramTensor(t: Tensor, bins: number, range?: [number, number], mode?: 'host' | 'device'): Histogram {
  const n = t.numel();
  const onDevice = mode === 'device' || (mode === undefined && n > READ_LIMIT && t.device !== 'cpu');
  if (!onDevice && n <= READ_LIMIT) return histogramOf(readAll(t), bins, range);
  return reduced(() => {
    const flat = asFloat(t).reshape(-1);
    return onDevice ? deviceHistogram(flat, bins, range) : chunkedHistogram(flat, bins, range);
  });
}

function chunkedHistogram(flat: Tensor, bins: number, range?: [number, number]): Histogram {
  const n = flat.numel();
  const special = { nan: 0, posinf: 0, neginf: 0 };
  const chunks = (fn: (v: NumericArray) => void) => {
    for (let s = 0; s < n; s += READ_LIMIT) fn(flat.narrow(0, s, Math.min(READ_LIMIT, n - s)).data());
  };
  let lo = Infinity;
  let hi = -Infinity;
  chunks((v) => {
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (finite(x)) {
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      } else countSpecial(special, x);
    }
  });
  const edges = edgesOf(range ?? [lo, hi], bins);
  const counts = new Float64Array(bins);
  let outside = 0;
  chunks((v) => (outside += binInto(counts, edges, v, 0, v.length)));
  const total = counts.reduce((a, b) => a + b, 0);
  return { edges, counts, total, ...special, outside };
}

function deviceHistogram(flat: Tensor, bins: number, range?: [number, number]): Histogram {
  const ok = flat.abs().lt(Infinity);
  const span = stack([flat.where(ok, Infinity).amin(), flat.where(ok, -Infinity).amax()]).data();
  // counts are int32 sums of bool masks: exact, where a float32 sum stops counting at 2^24
  const head = stack([flat.ne(flat).sum(), flat.eq(Infinity).sum(), flat.eq(-Infinity).sum()]).data();
  const edges = edgesOf(range ?? [span[0]!, span[1]!], bins);
  // NaN compares false, so finite values only; above[i] = how many are >= edges[i]
  const kept = flat.where(ok, NaN);
  const above: Tensor[] = [];
  for (let i = 0; i <= bins; i++) above.push(kept.ge(edges[i]!).sum());
  above.push(kept.gt(edges[bins]!).sum());
  const a = stack(above).data();
  const counts = new Float64Array(bins);
  for (let i = 0; i < bins; i++) counts[i] = a[i]! - a[i + 1]!;
  // the last bin is closed: values equal to the top edge belong to it
  counts[bins - 1] = a[bins - 1]! - a[bins + 1]!;
  const finiteCount = flat.numel() - head[0]! - head[1]! - head[2]!;
  const total = counts.reduce((x, y) => x + y, 0);
  return { edges, counts, total, nan: head[0]!, posinf: head[1]!, neginf: head[2]!, outside: finiteCount - total };
}

export interface Grid {
  values: Float64Array;
  rows: number;
  cols: number;
  /** rows and columns of the source averaged into one cell */
  fy: number;
  fx: number;
}

/**
 * A 2-D tensor as at most maxRows x maxCols cells: block means on the device when it is bigger
 * (a block with a NaN is NaN; the last H mod fy rows and W mod fx columns are left out).
 */
export function gridOf(t: Tensor, maxRows: number, maxCols: number): Grid {
  const [h, w] = t.shape as [number, number];
  const fy = Math.max(1, Math.ceil(h / maxRows));
  const fx = Math.max(1, Math.ceil(w / maxCols));
  if (fy === 1 && fx === 1) return { values: readAll(t), rows: h, cols: w, fy, fx };
  const rows = Math.floor(h / fy);
  const cols = Math.floor(w / fx);
  const values = reduced(() =>
    Float64Array.from(
      asFloat(t)
        .narrow(0, 0, rows * fy)
        .narrow(1, 0, cols * fx)
        .reshape(rows, fy, cols, fx)
        .mean([1, 3])
        .data() as Float32Array,
    ),
  );
  return { values, rows, cols, fy, fx };
}

export interface Images {
  /** n x c x h x w, float64 */
  values: Float64Array;
  n: number;
  c: number;
  h: number;
  w: number;
  /** source pixels per shown pixel, each way */
  factor: number;
}

/** The first `maxImages` images of an [N, C, H, W] tensor, each at most maxSide pixels a side (block means). */
export function imagesOf(t: Tensor, maxImages: number, maxSide: number): Images {
  const [n0, c, h0, w0] = t.shape as [number, number, number, number];
  const n = Math.min(n0, maxImages);
  const factor = Math.max(1, Math.ceil(Math.max(h0, w0) / maxSide));
  // the same factor both ways keeps the aspect, except along a side shorter than it
  const fy = Math.min(factor, h0);
  const fx = Math.min(factor, w0);
  const h = Math.floor(h0 / fy);
  const w = Math.floor(w0 / fx);
  const values = reduced(() => {
    let x = asFloat(t).narrow(0, 0, n);
    if (factor > 1) x = x.narrow(2, 0, h * fy).narrow(3, 0, w * fx).reshape(n, c, h, fy, w, fx).mean([3, 5]);
    return Float64Array.from(x.contiguous().data() as Float32Array);
  });
  return { values, n, c, h, w, factor };
}

export function isTensorValue(v: unknown): v is Tensor {
  return v instanceof Tensor;
}
