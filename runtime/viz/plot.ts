// gb.viz.line, scatter, hist, heatmap and image: each returns a Figure whose bundle holds plotly's
// JSON, a static SVG, HTML that shows the SVG and upgrades to plotly.js where scripts run, and a
// text summary. Data is reduced to a bounded size first (Note [bounded plots] in plot-data.ts).
import type { Tensor } from '../tensor.js';
import { View, VizArgumentError, formatNumber, type MimeBundle } from './common.js';
import { NAN_CSS, NAN_RGB, NEGINF_RGB, POSINF_RGB, VIRIDIS_LUT, VIRIDIS_PLOTLY, rgbCss } from './colormap.js';
import { encodePng, pngDataUri } from './png.js';
import {
  decimate,
  decimateTensor,
  finite,
  gridOf,
  histogramOf,
  histogramTensor,
  imagesOf,
  indexRange,
  isNumberList,
  isTensorValue,
  numbersOf,
  readAll,
  thin,
  thinTensor,
  type Grid,
  type Histogram,
} from './plot-data.js';
import { figureHtml, plotlyNumbers, toPlotly, type PlotlyFigure } from './plotly.js';
import { PALETTE, renderSvg, type FigureSpec, type Item, type RasterItem } from './svg.js';

export type FigureKind = 'line' | 'scatter' | 'hist' | 'heatmap' | 'image' | 'live';

/** A plot: displays as plotly JSON, SVG, HTML and text (see the file comment). */
export class Figure extends View {
  #svg: string | undefined;
  #plotly: PlotlyFigure | undefined;
  constructor(
    readonly kind: FigureKind,
    readonly spec: FigureSpec,
    readonly summary: string,
    readonly custom: Map<Item, Record<string, unknown>[]> = new Map(),
  ) {
    super();
  }

  /** The static picture (cached: a figure does not change). */
  svg(): string {
    return (this.#svg ??= renderSvg(this.spec));
  }

  /** plotly's {data, layout, config}. */
  plotly(): PlotlyFigure {
    return (this.#plotly ??= toPlotly(this.spec, this.custom));
  }

  bundle(): MimeBundle {
    const svg = this.svg();
    return {
      'text/plain': this.summary,
      'image/svg+xml': svg,
      'application/vnd.plotly.v1+json': this.plotly(),
      'text/html': figureHtml(svg, this.plotly(), this.spec.width),
    };
  }
}

export interface PlotOptions {
  title?: string;
  xlabel?: string;
  ylabel?: string;
  width?: number;
  height?: number;
  /** series names, in order (a series' own `name` wins) */
  names?: string[];
  /** show the legend; default: when there is more than one series */
  legend?: boolean;
  logx?: boolean;
  logy?: boolean;
}

export interface HistOptions extends PlotOptions {
  /** number of equal bins (default: sqrt of the count, between 10 and 50) */
  bins?: number;
  /** [lo, hi] of the bins (default: the finite values' min and max) */
  range?: [number, number];
}

export interface HeatmapOptions extends Omit<PlotOptions, 'names' | 'legend' | 'logx' | 'logy'> {
  /** [lo, hi] of the colour scale (default: the finite values' min and max) */
  range?: [number, number];
}

export interface ImageOptions extends Omit<HeatmapOptions, 'xlabel' | 'ylabel'> {
  /** images shown of an [N, C, H, W] batch (default 64) */
  maxImages?: number;
}

const BASE_KEYS = ['title', 'xlabel', 'ylabel', 'width', 'height', 'names', 'legend', 'logx', 'logy'];

/** Checks the options object: known keys only, each of its type. */
export function checkOptions(call: string, opts: unknown, keys: readonly string[]): Record<string, unknown> {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new VizArgumentError(call, 'the options', 'an object', opts);
  }
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new VizArgumentError(call, `option '${k}'`, `one of ${keys.join(', ')}`, k);
    const v = o[k];
    if (v === undefined) continue;
    const bad = (expected: string) => new VizArgumentError(call, `opts.${k}`, expected, v);
    if (['title', 'xlabel', 'ylabel'].includes(k) && typeof v !== 'string') throw bad('a string');
    if (['legend', 'logx', 'logy'].includes(k) && typeof v !== 'boolean') throw bad('a boolean');
    const within = (lo: number, hi: number) => typeof v === 'number' && v >= lo && v <= hi;
    const whole = (lo: number, hi: number) => Number.isInteger(v) && within(lo, hi);
    if ((k === 'width' || k === 'height') && !within(100, 4000)) throw bad('a number of pixels from 100 to 4000');
    if (k === 'names' && !(Array.isArray(v) && v.every((s) => typeof s === 'string'))) throw bad('an array of strings');
    if (k === 'bins' && !whole(1, 1000)) throw bad('an integer from 1 to 1000');
    if (k === 'maxImages' && !whole(1, 1024)) throw bad('an integer from 1 to 1024');
    if (k === 'range') {
      const ok = Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && finite(x)) && v[0] < v[1];
      if (!ok) throw bad('[lo, hi] with finite lo < hi');
    }
  }
  return o;
}

interface Series {
  name: string;
  x: Float64Array;
  y: Float64Array;
  count: number;
  nonFinite: number;
}

const SHAPES = 'an array of numbers, a typed array, a 1-D Tensor, {x, y} points or {x?, y, name?} series';

/** The series of line() or scatter(), reduced for drawing. */
function seriesOf(call: string, data: unknown, kind: 'line' | 'scatter'): Series[] {
  if (isTensorValue(data) || isNumberList(data)) return [oneSeries(call, 'ys', undefined, data, '', kind)];
  if (Array.isArray(data)) {
    if (data.every((p) => typeof p === 'object' && p !== null && typeof (p as { y?: unknown }).y === 'number')) {
      return [pointsSeries(call, data as { x?: unknown; y: number }[], kind)];
    }
    return data.map((s, i) => {
      if (typeof s !== 'object' || s === null || Array.isArray(s) || isTensorValue(s) || !('y' in s)) {
        if (Array.isArray(s)) throw new VizArgumentError(call, `ys[${i}]`, `a series {x?, y, name?} (${SHAPES})`, s);
        throw new VizArgumentError(call, `ys[${i}]`, `a series {x?, y, name?} or an {x, y} point`, s);
      }
      const o = s as { x?: unknown; y: unknown; name?: unknown };
      if (o.name !== undefined && typeof o.name !== 'string') {
        throw new VizArgumentError(call, `ys[${i}].name`, 'a string', o.name);
      }
      return oneSeries(call, `ys[${i}]`, o.x, o.y, o.name ?? '', kind);
    });
  }
  if (typeof data === 'object' && data !== null && 'y' in data) {
    const o = data as { x?: unknown; y: unknown; name?: unknown };
    return [oneSeries(call, 'ys', o.x, o.y, typeof o.name === 'string' ? o.name : '', kind)];
  }
  throw new VizArgumentError(call, 'ys', SHAPES, data);
}

function vectorTensor(call: string, what: string, t: Tensor): Tensor {
  if (t.ndim !== 1) {
    throw new VizArgumentError(call, what, 'a 1-D Tensor (for several series pass [{y: t.select(0, 0)}, ...])', t);
  }
  return t;
}

function oneSeries(call: string, what: string, x: unknown, y: unknown, name: string, kind: 'line' | 'scatter'): Series {
  const yWhat = what === 'ys' ? 'ys' : `${what}.y`;
  let xs: Tensor | Float64Array | undefined;
  if (isTensorValue(x)) xs = vectorTensor(call, `${what}.x`, x);
  else if (x !== undefined) xs = numbersOf(call, `${what}.x`, x);
  const n = isTensorValue(y) ? vectorTensor(call, yWhat, y).numel() : undefined;
  if (!isTensorValue(y) && !isNumberList(y)) {
    throw new VizArgumentError(call, yWhat, 'an array of numbers, a typed array or a 1-D Tensor', y);
  }
  const count = n ?? (y as ArrayLike<number>).length;
  const xCount = xs === undefined ? count : isTensorValue(xs) ? xs.numel() : xs.length;
  if (xCount !== count) {
    throw new VizArgumentError(call, `${what}.x`, `as long as its y (${count} values)`, xs);
  }
  if (kind === 'scatter') {
    if (isTensorValue(y) || isTensorValue(xs)) {
      const yv = isTensorValue(y) ? thinTensor(y) : thin(indexRange(count), numbersOf(call, what, y)).y;
      const xv = xs === undefined ? thinIndex(count, yv.length) : isTensorValue(xs) ? thinTensor(xs) : thin(xs, xs).x;
      return { name, x: xv, y: yv, count, nonFinite: countBad(yv) };
    }
    const yv = numbersOf(call, what, y);
    const t = thin(xs ?? indexRange(count), yv);
    return { name, ...t, count, nonFinite: countBad(yv) };
  }
  if (isTensorValue(y)) {
    const d = decimateTensor(y, isTensorValue(xs) ? xs : undefined);
    if (xs !== undefined && !isTensorValue(xs)) d.x = Float64Array.from(d.x, (i) => xs[i]!);
    return { name, ...d };
  }
  const yv = numbersOf(call, what, y);
  const xv = xs === undefined ? indexRange(count) : isTensorValue(xs) ? readAll(xs) : xs;
  return { name, ...decimate(xv, yv) };
}

/** x positions 0, k, 2k, ... of thinTensor's picks. */
function thinIndex(count: number, m: number): Float64Array {
  const k = m > 0 ? Math.ceil(count / m) : 1;
  return Float64Array.from({ length: m }, (_, i) => i * k);
}

function countBad(v: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < v.length; i++) if (!finite(v[i]!)) n++;
  return n;
}

function pointsSeries(call: string, points: { x?: unknown; y: number }[], kind: 'line' | 'scatter'): Series {
  const x = new Float64Array(points.length);
  const y = new Float64Array(points.length);
  points.forEach((p, i) => {
    if (p.x !== undefined && typeof p.x !== 'number') throw new VizArgumentError(call, `ys[${i}].x`, 'a number', p.x);
    x[i] = p.x ?? i;
    y[i] = p.y;
  });
  if (kind === 'scatter') return { name: '', ...thin(x, y), count: points.length, nonFinite: countBad(y) };
  return { name: '', ...decimate(x, y) };
}

function extent(v: ArrayLike<number>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!finite(x)) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return lo <= hi ? [lo, hi] : null;
}

const span = (r: [number, number] | null) => (r ? `${formatNumber(r[0])}…${formatNumber(r[1])}` : 'none');
const titled = (kind: string, title?: string) => (title ? `${kind} ${JSON.stringify(title)}` : kind);

function xyFigure(call: string, kind: 'line' | 'scatter', data: unknown, opts: unknown): Figure {
  const o = checkOptions(call, opts, BASE_KEYS) as PlotOptions;
  const series = seriesOf(call, data, kind);
  const names = o.names ?? [];
  const items: Item[] = series.map((s, i) => ({
    kind: kind === 'line' ? 'line' : 'markers',
    name: s.name || names[i] || (series.length > 1 ? `series ${i}` : ''),
    color: PALETTE[i % PALETTE.length]!,
    x: s.x,
    y: s.y,
  }));
  const spec: FigureSpec = {
    title: o.title,
    width: o.width ?? 640,
    height: o.height ?? 400,
    panels: [
      {
        x: {
          label: o.xlabel,
          log: o.logx,
          pad: kind === 'scatter' ? 0.04 : 0,
          integer: series.every((s) => s.x.every(Number.isInteger)),
        },
        y: { label: o.ylabel, log: o.logy, pad: 0.05 },
        items,
        legend: o.legend ?? series.length > 1,
      },
    ],
  };
  const lines = series.map((s, i) => {
    const drawn = s.y.length < s.count ? ` (${s.y.length} drawn)` : '';
    const bad = s.nonFinite ? `, ${s.nonFinite} NaN/inf ${kind === 'line' ? 'gaps' : 'skipped'}` : '';
    const label = (items[i] as { name: string }).name || 'y';
    return `  ${label}: ${s.count} points${drawn}, x ${span(extent(s.x))}, y ${span(extent(s.y))}${bad}`;
  });
  const head = `${titled(kind, o.title)}: ${series.length} series`;
  return new Figure(kind, spec, [head, ...lines].join('\n'));
}

/** A line plot of `ys` (numbers, a 1-D Tensor, {x, y} points or {x?, y, name?} series). NaN and inf leave gaps. */
export function line(ys: unknown, opts?: PlotOptions): Figure {
  return xyFigure('gb.viz.line', 'line', ys, opts);
}

/** A scatter plot: the same data shapes as line(); NaN and inf points are skipped. */
export function scatter(ys: unknown, opts?: PlotOptions): Figure {
  return xyFigure('gb.viz.scatter', 'scatter', ys, opts);
}

/** A histogram of numbers or a Tensor (any shape), binned where the values are. */
export function hist(values: unknown, opts?: HistOptions): Figure {
  const call = 'gb.viz.hist';
  const o = checkOptions(call, opts, [...BASE_KEYS, 'bins', 'range']) as HistOptions;
  let h: Histogram;
  const defaultBins = (n: number) => Math.min(50, Math.max(10, Math.ceil(Math.sqrt(n))));
  if (isTensorValue(values)) {
    h = histogramTensor(values, o.bins ?? defaultBins(values.numel()), o.range);
  } else if (isNumberList(values)) {
    const v = numbersOf(call, 'values', values);
    h = histogramOf(v, o.bins ?? defaultBins(v.length), o.range);
  } else throw new VizArgumentError(call, 'values', 'an array of numbers, a typed array or a Tensor', values);
  const name = o.names?.[0] ?? '';
  const bars: Item = { kind: 'bars', name, color: PALETTE[0]!, edges: h.edges, heights: h.counts };
  const spec: FigureSpec = {
    title: o.title,
    width: o.width ?? 640,
    height: o.height ?? 400,
    panels: [
      {
        x: { label: o.xlabel, log: o.logx, range: o.logx ? undefined : [h.edges[0]!, h.edges[h.edges.length - 1]!] },
        y: { label: o.ylabel ?? 'count', log: o.logy, pad: 0 },
        items: [bars],
        legend: o.legend ?? false,
      },
    ],
  };
  const bins = h.counts.length;
  let peak = 0;
  for (let i = 1; i < bins; i++) if (h.counts[i]! > h.counts[peak]!) peak = i;
  const extra = [
    h.nan ? `${h.nan} NaN` : '',
    h.posinf ? `${h.posinf} +inf` : '',
    h.neginf ? `${h.neginf} -inf` : '',
    h.outside ? `${h.outside} outside the range` : '',
  ].filter(Boolean);
  const text =
    `${titled('hist', o.title)}: ${h.total} values in ${bins} bins ` +
    `over [${formatNumber(h.edges[0]!)}, ${formatNumber(h.edges[bins]!)}], ` +
    `most (${h.counts[peak]}) in [${formatNumber(h.edges[peak]!)}, ${formatNumber(h.edges[peak + 1]!)})` +
    (extra.length ? `; not binned: ${extra.join(', ')}` : '');
  return new Figure('hist', spec, text);
}

/** Heatmaps keep at most this many cells a side (block means beyond). */
export const MAX_HEATMAP_SIDE = 128;

const MARKS = [
  { label: 'nan', color: NAN_CSS, rgb: NAN_RGB },
  { label: '+inf', color: rgbCss(POSINF_RGB), rgb: POSINF_RGB },
  { label: '-inf', color: rgbCss(NEGINF_RGB), rgb: NEGINF_RGB },
];

/** 0 for a number, else 1 + the MARKS index of NaN, +inf or -inf. */
const special = (v: number): number => (finite(v) ? 0 : Number.isNaN(v) ? 1 : v > 0 ? 2 : 3);

function gridFrom(call: string, t: unknown): Grid & { source: string } {
  if (isTensorValue(t)) {
    if (t.ndim !== 2) throw new VizArgumentError(call, 't', 'a 2-D Tensor or an array of rows of numbers', t);
    if (t.numel() === 0) throw new VizArgumentError(call, 't', 'a non-empty 2-D Tensor', t);
    return { ...gridOf(t, MAX_HEATMAP_SIDE, MAX_HEATMAP_SIDE), source: `${t.shape[0]}x${t.shape[1]}` };
  }
  if (!Array.isArray(t) || t.length === 0 || !t.every((r) => isNumberList(r))) {
    throw new VizArgumentError(call, 't', 'a 2-D Tensor or a non-empty array of rows of numbers', t);
  }
  const cols = (t[0] as ArrayLike<number>).length;
  const rows = t.map((r: unknown, i: number) => {
    const v = numbersOf(call, `t[${i}]`, r);
    if (v.length !== cols) throw new VizArgumentError(call, `t[${i}]`, `a row of ${cols} numbers like t[0]`, r);
    return v;
  });
  if (cols === 0) throw new VizArgumentError(call, 't', 'rows with at least one number', t);
  // big arrays are already on the heap; averaging them keeps the bundle bounded all the same
  const values = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => values.set(r, i * cols));
  return { ...blockMeans(values, rows.length, cols), source: `${rows.length}x${cols}` };
}

function blockMeans(values: Float64Array, h: number, w: number): Grid {
  const fy = Math.max(1, Math.ceil(h / MAX_HEATMAP_SIDE));
  const fx = Math.max(1, Math.ceil(w / MAX_HEATMAP_SIDE));
  if (fy === 1 && fx === 1) return { values, rows: h, cols: w, fy, fx };
  const rows = Math.floor(h / fy);
  const cols = Math.floor(w / fx);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows * fy; i++) {
    for (let j = 0; j < cols * fx; j++) out[Math.floor(i / fy) * cols + Math.floor(j / fx)]! += values[i * w + j]!;
  }
  for (let k = 0; k < out.length; k++) out[k]! /= fy * fx;
  return { values: out, rows, cols, fy, fx };
}

/** A heatmap of a 2-D Tensor or array of rows; NaN and ±inf get colours outside the scale. */
export function heatmap(t: Tensor | number[][], opts?: HeatmapOptions): Figure {
  const call = 'gb.viz.heatmap';
  const o = checkOptions(call, opts, ['title', 'xlabel', 'ylabel', 'width', 'height', 'range']) as HeatmapOptions;
  const g = gridFrom(call, t);
  const [lo, hi] = o.range ?? extent(g.values) ?? [0, 1];
  const pixels = new Uint8Array(g.rows * g.cols * 3);
  const counts = [0, 0, 0, 0];
  for (let k = 0; k < g.values.length; k++) {
    const v = g.values[k]!;
    const s = special(v);
    counts[s]!++;
    const rgb = s ? MARKS[s - 1]!.rgb : null;
    const i = rgb ? -1 : Math.round((hi > lo ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0.5) * 255) * 3;
    for (let c = 0; c < 3; c++) pixels[k * 3 + c] = rgb ? rgb[c]! : VIRIDIS_LUT[i + c]!;
  }
  const raster: RasterItem = {
    kind: 'raster',
    rows: g.rows,
    cols: g.cols,
    pixels,
    channels: 3,
    x0: -0.5,
    x1: g.cols * g.fx - 0.5,
    y0: -0.5,
    y1: g.rows * g.fy - 0.5,
  };
  const marks = MARKS.filter((_, i) => counts[i + 1]! > 0).map(({ label, color }) => ({ label, color }));
  const spec: FigureSpec = {
    title: o.title,
    width: o.width ?? 640,
    height: o.height ?? Math.min(640, Math.max(300, 120 + (480 * g.rows) / Math.max(g.rows, g.cols))),
    panels: [
      {
        x: { label: o.xlabel, range: [raster.x0, raster.x1], integer: true },
        y: { label: o.ylabel, range: [raster.y0, raster.y1], reversed: true, integer: true },
        items: [raster],
        colorbar: { lo, hi },
        marks,
      },
    ],
  };
  const centers = (n: number, f: number) => plotlyNumbers(Float64Array.from({ length: n }, (_, i) => i * f + (f - 1) / 2));
  const rowsOf = (fn: (v: number) => number | string | null) =>
    Array.from({ length: g.rows }, (_, i) => Array.from(g.values.subarray(i * g.cols, (i + 1) * g.cols), fn));
  const traces: Record<string, unknown>[] = [
    {
      type: 'heatmap',
      z: rowsOf((v) => (finite(v) ? plotlyNumbers([v])[0]! : null)),
      x: centers(g.cols, g.fx),
      y: centers(g.rows, g.fy),
      zmin: lo,
      zmax: hi,
      colorscale: VIRIDIS_PLOTLY,
      colorbar: { thickness: 12 },
    },
  ];
  if (marks.length) {
    // NaN and inf as their own layer in fixed colours, named when hovered
    traces.push({
      type: 'heatmap',
      z: rowsOf((v) => (finite(v) ? null : special(v) - 1)),
      text: rowsOf((v) => (finite(v) ? '' : MARKS[special(v) - 1]!.label)),
      x: centers(g.cols, g.fx),
      y: centers(g.rows, g.fy),
      zmin: 0,
      zmax: 2,
      colorscale: [[0, NAN_CSS], [0.5, rgbCss(POSINF_RGB)], [1, rgbCss(NEGINF_RGB)]],
      showscale: false,
      hovertemplate: '%{text}<extra></extra>',
    });
  }
  const marked = MARKS.map((m, i) => (counts[i + 1] ? `${counts[i + 1]} ${m.label}` : '')).filter(Boolean);
  const shown = g.fy > 1 || g.fx > 1 ? `, drawn as ${g.rows}x${g.cols} block means (${g.fy}x${g.fx} each)` : '';
  const text =
    `${titled('heatmap', o.title)}: ${g.source}${shown}, values ${span(extent(g.values))}` +
    (marked.length ? ` (marked: ${marked.join(', ')})` : '');
  return new Figure('heatmap', spec, text, new Map([[raster, traces]]));
}

/** The side of an image grid's picture, at most (images are averaged in blocks beyond). */
export const MAX_IMAGE_SIDE = 384;

/** Images: [H, W] grey, [C, H, W] with C 1 (grey), 3 (RGB) or 4 (RGBA), [N, C, H, W] as a grid. */
export function image(t: Tensor, opts?: ImageOptions): Figure {
  const call = 'gb.viz.image';
  const o = checkOptions(call, opts, ['title', 'width', 'height', 'range', 'maxImages']) as ImageOptions;
  if (!isTensorValue(t)) throw new VizArgumentError(call, 't', 'a Tensor [H, W], [C, H, W] or [N, C, H, W]', t);
  if (t.ndim < 2 || t.ndim > 4 || t.numel() === 0) {
    throw new VizArgumentError(call, 't', 'a non-empty Tensor [H, W], [C, H, W] or [N, C, H, W]', t);
  }
  const nchw = t.ndim === 2 ? t.reshape(1, 1, t.shape[0]!, t.shape[1]!) : t.ndim === 3 ? t.unsqueeze(0) : t;
  const c = nchw.shape[1]!;
  if (c !== 1 && c !== 3 && c !== 4) {
    const expected = `1, 3 or 4 channels in dim ${t.ndim - 3} (channels first: [C, H, W]; for [H, W, C] use t.permute(2, 0, 1))`;
    throw new VizArgumentError(call, 't', expected, t);
  }
  const total = nchw.shape[0]!;
  const cols = Math.ceil(Math.sqrt(Math.min(total, o.maxImages ?? 64)));
  // the grid's PNG is at most about MAX_IMAGE_SIDE pixels a side, so the bundle stays small
  const im = imagesOf(nchw, o.maxImages ?? 64, Math.max(8, Math.floor(MAX_IMAGE_SIDE / cols)));
  const rows = Math.ceil(im.n / cols);
  const [lo, hi] = o.range ?? defaultRange(t.dtype, im.values);
  const pad = im.n > 1 ? (Math.max(im.h, im.w) >= 32 ? 2 : 1) : 0;
  const gw = cols * im.w + (cols - 1) * pad;
  const gh = rows * im.h + (rows - 1) * pad;
  const channels = c === 4 ? 4 : 3;
  const pixels = new Uint8Array(gw * gh * channels).fill(255);
  const plane = im.h * im.w;
  let marked = 0;
  for (let k = 0; k < im.n; k++) {
    const ox = (k % cols) * (im.w + pad);
    const oy = Math.floor(k / cols) * (im.h + pad);
    for (let p = 0; p < plane; p++) {
      const at = ((oy + Math.floor(p / im.w)) * gw + ox + (p % im.w)) * channels;
      let worst = 0;
      for (let ch = 0; ch < c; ch++) worst = Math.max(worst, special(im.values[(k * c + ch) * plane + p]!));
      if (worst) {
        // a pixel with a NaN or inf channel is marked whole
        marked++;
        const rgb = MARKS[worst - 1]!.rgb;
        for (let ch = 0; ch < 3; ch++) pixels[at + ch] = rgb[ch]!;
        if (channels === 4) pixels[at + 3] = 255;
        continue;
      }
      for (let ch = 0; ch < channels; ch++) {
        const v = im.values[(k * c + Math.min(ch, c - 1)) * plane + p]!;
        pixels[at + ch] = Math.round(Math.min(1, Math.max(0, hi > lo ? (v - lo) / (hi - lo) : 0.5)) * 255);
      }
    }
  }
  const png = pngDataUri(encodePng(pixels, gw, gh, channels));
  const raster: RasterItem = {
    kind: 'raster',
    rows: gh,
    cols: gw,
    pixels,
    channels,
    x0: -0.5,
    x1: gw - 0.5,
    y0: -0.5,
    y1: gh - 0.5,
    png,
  };
  const titleH = o.title ? 30 : 0;
  const k = Math.min(8, 560 / gw, 440 / gh);
  const scale = k >= 1 ? Math.floor(k) : k;
  const spec: FigureSpec = {
    title: o.title,
    width: o.width ?? Math.max(120, Math.round(gw * scale) + 16),
    height: o.height ?? Math.max(80, Math.round(gh * scale) + 16 + titleH),
    panels: [
      {
        x: { hidden: true, range: [raster.x0, raster.x1] },
        y: { hidden: true, range: [raster.y0, raster.y1], reversed: true },
        items: [raster],
        equalAspect: true,
      },
    ],
  };
  const trace = { type: 'image', source: png, x0: 0, y0: 0, dx: 1, dy: 1, hoverinfo: 'x+y' };
  const shape = `${c}x${t.shape[t.ndim - 2]}x${t.shape[t.ndim - 1]}`;
  const first = im.n < total ? `the first ${im.n} ` : '';
  const what = t.ndim === 4 ? `${total} images ${shape}, ${first}in a ${cols}x${rows} grid` : `an image ${shape}`;
  const text =
    `${titled('image', o.title)}: ${what}${im.factor > 1 ? `, drawn at 1/${im.factor} size` : ''}, ` +
    `values ${span(extent(im.values))} shown as [${formatNumber(lo)}, ${formatNumber(hi)}]` +
    (marked ? ` (${marked} pixels NaN/inf, marked)` : '');
  return new Figure('image', spec, text, new Map([[raster, [trace]]]));
}

/** [0, 1] for bool and floats within it, [0, 255] for integers within it, else the finite min..max. */
function defaultRange(dtype: string, v: Float64Array): [number, number] {
  if (dtype === 'bool') return [0, 1];
  const e = extent(v) ?? [0, 1];
  if (dtype === 'int32' && e[0] >= 0 && e[1] <= 255) return [0, 255];
  if (dtype !== 'int32' && e[0] >= 0 && e[1] <= 1) return [0, 1];
  return e;
}

