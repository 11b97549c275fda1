// Static SVG pictures of the plots, drawn here so that a notebook shows its figures where no
// script runs (GitHub, nbconvert to HTML or PDF): axes with nice ticks, titles, lines, markers,
// bars, heatmap cells or an embedded PNG, legends and colour bars. The output is plain SVG 1.1 with
// no scripts, styles or external references, so it is also safe as an <img> source.
import { escapeHtml, formatNumber, uid } from './common.js';
import { VIRIDIS_LUT } from './colormap.js';
import { encodePng, pngDataUri } from './png.js';
import { finite, type NumericArray } from './plot-data.js';

/** plotly's default colour cycle, so the static picture and the interactive one agree. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface AxisSpec {
  label?: string;
  log?: boolean;
  /** fixed [lo, hi] in data units; otherwise from the data */
  range?: [number, number];
  /** fraction of the data's span added on each side when the range comes from the data */
  pad?: number;
  /** larger values downwards (y) or leftwards (x): heatmaps and images put row 0 at the top */
  reversed?: boolean;
  /** no ticks, grid or label (images) */
  hidden?: boolean;
  /** ticks only at whole numbers (steps, indices, cells) */
  integer?: boolean;
}

export interface LineItem {
  kind: 'line' | 'markers';
  name: string;
  color: string;
  x: NumericArray;
  y: NumericArray;
}

export interface BarsItem {
  kind: 'bars';
  name: string;
  color: string;
  /** bins + 1 increasing edges */
  edges: NumericArray;
  heights: NumericArray;
}

export interface RasterItem {
  kind: 'raster';
  rows: number;
  cols: number;
  /** rows * cols pixels, `channels` bytes each, row-major from the top row */
  pixels: Uint8Array;
  channels: 3 | 4;
  /** the data coordinates of the raster's outer edges */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** the PNG of `pixels`, when the caller made one already */
  png?: string;
}

export type Item = LineItem | BarsItem | RasterItem;

export interface Panel {
  title?: string;
  x: AxisSpec;
  y: AxisSpec;
  items: Item[];
  legend?: boolean;
  /** a viridis colour bar for [lo, hi] on the right */
  colorbar?: { lo: number; hi: number };
  /** swatches above the plot for colours outside the scale (NaN, ±inf) */
  marks?: { label: string; color: string }[];
  /** one data unit is as long on x as on y (images) */
  equalAspect?: boolean;
}

export interface FigureSpec {
  title?: string;
  width: number;
  height: number;
  panels: Panel[];
  columns?: number;
}

/** Below this many cells a raster is drawn as <rect>s (crisp everywhere); above, as one PNG. */
export const RECT_CELLS = 1024;

const TEXT = '#333';
const GRID = '#e6e6e6';
const FRAME = '#bbb';

/** Coordinates to a tenth of a pixel: enough for any screen, and short. */
const px = (v: number): string => String(Math.round(v * 10) / 10);
const esc = escapeHtml;

export function renderSvg(fig: FigureSpec): string {
  const out: string[] = [];
  const { width, height } = fig;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  );
  const titleH = fig.title ? 30 : 0;
  if (fig.title) {
    out.push(`<text x="${px(width / 2)}" y="20" text-anchor="middle" font-size="16" fill="${TEXT}">${esc(fig.title)}</text>`);
  }
  const columns = Math.max(1, Math.min(fig.columns ?? 1, fig.panels.length));
  const rows = Math.max(1, Math.ceil(fig.panels.length / columns));
  const cellW = width / columns;
  const cellH = (height - titleH) / rows;
  fig.panels.forEach((p, i) => {
    const cx = (i % columns) * cellW;
    const cy = titleH + Math.floor(i / columns) * cellH;
    renderPanel(out, p, cx, cy, cellW, cellH);
  });
  out.push('</svg>');
  return out.join('');
}

interface Scale {
  lo: number;
  hi: number;
  log: boolean;
  /** data value to pixel */
  at(v: number): number;
}

function renderPanel(out: string[], p: Panel, cx: number, cy: number, cw: number, ch: number): void {
  const left = cx + (p.y.hidden ? 8 : p.y.label ? 64 : 50);
  const top = cy + (p.title || p.marks?.length ? 26 : 10);
  const right = cx + cw - 14 - (p.colorbar ? 70 : 0);
  const bottom = cy + ch - (p.x.hidden ? 8 : p.x.label ? 44 : 28);
  let box = { x: left, y: top, w: Math.max(10, right - left), h: Math.max(10, bottom - top) };
  const xr = rangeOf(p, 'x');
  const yr = rangeOf(p, 'y');
  if (p.equalAspect) box = fitAspect(box, xr, yr);
  const sx = scaleOf(xr, p.x, box.x, box.x + box.w);
  const sy = scaleOf(yr, p.y, box.y + box.h, box.y);
  if (p.title) {
    out.push(`<text x="${px(box.x + box.w / 2)}" y="${px(cy + 17)}" text-anchor="middle" font-size="13" fill="${TEXT}">${esc(p.title)}</text>`);
  }
  if (!p.x.hidden) xAxis(out, p.x, sx, box);
  if (!p.y.hidden) yAxis(out, p.y, sy, box);
  const clip = uid('gbclip');
  out.push(
    `<clipPath id="${clip}"><rect x="${px(box.x)}" y="${px(box.y)}" width="${px(box.w)}" height="${px(box.h)}"/></clipPath>`,
    `<g clip-path="url(#${clip})">`,
  );
  for (const item of p.items) drawItem(out, item, sx, sy);
  out.push('</g>');
  if (!p.x.hidden || !p.y.hidden) {
    out.push(`<rect x="${px(box.x)}" y="${px(box.y)}" width="${px(box.w)}" height="${px(box.h)}" fill="none" stroke="${FRAME}"/>`);
  }
  if (p.legend) legend(out, p.items, box);
  if (p.colorbar) colorbar(out, p.colorbar, box);
  if (p.marks?.length) marks(out, p.marks, box, cy);
}

function fitAspect(box: { x: number; y: number; w: number; h: number }, xr: [number, number], yr: [number, number]) {
  const dw = xr[1] - xr[0];
  const dh = yr[1] - yr[0];
  const k = Math.min(box.w / dw, box.h / dh);
  const w = dw * k;
  const h = dh * k;
  return { x: box.x + (box.w - w) / 2, y: box.y + (box.h - h) / 2, w, h };
}

function scaleOf([lo, hi]: [number, number], axis: AxisSpec, from: number, to: number): Scale {
  if (axis.reversed) [from, to] = [to, from];
  const log = axis.log === true;
  const a = log ? Math.log10(lo) : lo;
  const b = log ? Math.log10(hi) : hi;
  const k = (to - from) / (b - a);
  return { lo, hi, log, at: log ? (v) => from + (Math.log10(v) - a) * k : (v) => from + (v - a) * k };
}

/** The axis range: fixed, or the items' extent (positive values only on a log axis), padded. */
function rangeOf(p: Panel, which: 'x' | 'y'): [number, number] {
  const axis = p[which];
  if (axis.range) return axis.range;
  const log = axis.log === true;
  let lo = Infinity;
  let hi = -Infinity;
  const see = (v: number) => {
    if (!finite(v) || (log && v <= 0)) return;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  };
  for (const item of p.items) {
    if (item.kind === 'raster') {
      see(which === 'x' ? item.x0 : item.y0);
      see(which === 'x' ? item.x1 : item.y1);
    } else if (item.kind === 'bars') {
      if (which === 'x') {
        see(item.edges[0]!);
        see(item.edges[item.edges.length - 1]!);
      } else {
        if (!log) see(0);
        for (let i = 0; i < item.heights.length; i++) see(item.heights[i]!);
      }
    } else {
      const vs = item[which];
      for (let i = 0; i < vs.length; i++) see(vs[i]!);
    }
  }
  if (lo > hi) return log ? [1, 10] : [0, 1];
  if (log) {
    if (lo === hi) return [lo / 2, hi * 2];
    const pad = (Math.log10(hi) - Math.log10(lo)) * (axis.pad ?? 0);
    return [lo / 10 ** pad, hi * 10 ** pad];
  }
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const pad = (hi - lo) * (axis.pad ?? 0);
  return [lo - pad, hi + pad];
}

/** Ticks at 1, 2 or 5 times a power of ten, about `count` of them inside [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 6, integer = false): number[] {
  if (!(hi > lo) || !finite(lo) || !finite(hi)) return finite(lo) ? [lo] : [];
  const raw = Math.max((hi - lo) / count, integer ? 1 : 0);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) {
    // i * step, not repeated addition: no 0.30000000000000004 creeping in
    ticks.push(Number((i * step).toPrecision(12)));
  }
  return ticks;
}

/** Powers of ten inside [lo, hi] (every k-th when there are many), with 2 and 5 between when there are few. */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const step = Math.max(1, Math.ceil((b - a) / 8));
  const ticks: number[] = [];
  for (let e = a; e <= b; e += step) {
    const base = 10 ** e;
    const ms = b - a <= 2 ? [1, 2, 5] : [1];
    for (const m of ms) {
      const v = Number((m * base).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v);
    }
  }
  return ticks;
}

function ticksOf(s: Scale, count: number, integer = false): number[] {
  return s.log ? logTicks(s.lo, s.hi) : niceTicks(s.lo, s.hi, count, integer);
}

function xAxis(out: string[], axis: AxisSpec, s: Scale, box: { x: number; y: number; w: number; h: number }): void {
  const ticks = ticksOf(s, Math.max(2, Math.round(box.w / 90)), axis.integer);
  const base = box.y + box.h;
  const grid: string[] = [];
  for (const t of ticks) {
    const x = px(s.at(t));
    grid.push(`M${x} ${px(box.y)}V${px(base)}`);
    out.push(`<text x="${x}" y="${px(base + 16)}" text-anchor="middle" fill="${TEXT}">${esc(formatNumber(t))}</text>`);
  }
  out.push(`<path d="${grid.join('')}" stroke="${GRID}" fill="none"/>`);
  if (axis.label) {
    out.push(`<text x="${px(box.x + box.w / 2)}" y="${px(base + 36)}" text-anchor="middle" fill="${TEXT}">${esc(axis.label)}</text>`);
  }
}

function yAxis(out: string[], axis: AxisSpec, s: Scale, box: { x: number; y: number; w: number; h: number }): void {
  const ticks = ticksOf(s, Math.max(2, Math.round(box.h / 60)), axis.integer);
  const grid: string[] = [];
  for (const t of ticks) {
    const y = px(s.at(t));
    grid.push(`M${px(box.x)} ${y}H${px(box.x + box.w)}`);
    out.push(`<text x="${px(box.x - 6)}" y="${y}" dy="0.35em" text-anchor="end" fill="${TEXT}">${esc(formatNumber(t))}</text>`);
  }
  out.push(`<path d="${grid.join('')}" stroke="${GRID}" fill="none"/>`);
  if (axis.label) {
    const x = px(box.x - 50);
    const y = px(box.y + box.h / 2);
    out.push(`<text x="${x}" y="${y}" text-anchor="middle" transform="rotate(-90 ${x} ${y})" fill="${TEXT}">${esc(axis.label)}</text>`);
  }
}

/** Whether a point can be drawn on these scales (finite; positive on a log axis). */
function drawable(sx: Scale, sy: Scale, x: number, y: number): boolean {
  return finite(x) && finite(y) && (!sx.log || x > 0) && (!sy.log || y > 0);
}

function drawItem(out: string[], item: Item, sx: Scale, sy: Scale): void {
  if (item.kind === 'line') {
    // a point that cannot be drawn lifts the pen: NaN and inf leave gaps
    const d: string[] = [];
    let pen = false;
    for (let i = 0; i < item.y.length; i++) {
      const x = item.x[i]!;
      const y = item.y[i]!;
      if (!drawable(sx, sy, x, y)) {
        pen = false;
        continue;
      }
      d.push(`${pen ? 'L' : 'M'}${px(sx.at(x))} ${px(sy.at(y))}`);
      pen = true;
    }
    out.push(`<path class="line" d="${d.join('')}" fill="none" stroke="${item.color}" stroke-width="1.6" stroke-linejoin="round"/>`);
  } else if (item.kind === 'markers') {
    const r = 2.6;
    const d: string[] = [];
    for (let i = 0; i < item.y.length; i++) {
      const x = item.x[i]!;
      const y = item.y[i]!;
      if (!drawable(sx, sy, x, y)) continue;
      d.push(`M${px(sx.at(x) - r)} ${px(sy.at(y))}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`);
    }
    out.push(`<path class="markers" d="${d.join('')}" fill="${item.color}" fill-opacity="0.7"/>`);
  } else if (item.kind === 'bars') {
    const y0 = sy.at(sy.log ? sy.lo : Math.max(sy.lo, 0));
    for (let i = 0; i < item.heights.length; i++) {
      const h = item.heights[i]!;
      if (!(h > 0) || (sy.log && h <= 0)) continue;
      const a = sx.at(item.edges[i]!);
      const b = sx.at(item.edges[i + 1]!);
      const y = sy.at(h);
      out.push(
        `<rect class="bar" x="${px(Math.min(a, b))}" y="${px(Math.min(y, y0))}" width="${px(Math.abs(b - a))}" height="${px(Math.abs(y0 - y))}" fill="${item.color}" stroke="#fff" stroke-width="0.5"/>`,
      );
    }
  } else if (item.kind === 'raster') drawRaster(out, item, sx, sy);
}

function drawRaster(out: string[], r: RasterItem, sx: Scale, sy: Scale): void {
  const xa = sx.at(r.x0);
  const xb = sx.at(r.x1);
  const ya = sy.at(r.y0);
  const yb = sy.at(r.y1);
  const x = Math.min(xa, xb);
  const y = Math.min(ya, yb);
  const w = Math.abs(xb - xa);
  const h = Math.abs(yb - ya);
  if (r.rows * r.cols <= RECT_CELLS && !r.png) {
    const cw = w / r.cols;
    const chh = h / r.rows;
    // rows run from y0 (the top when the axis is reversed) towards y1
    const down = ya <= yb;
    for (let i = 0; i < r.rows; i++) {
      const top = down ? y + i * chh : y + h - (i + 1) * chh;
      for (let j = 0; j < r.cols; j++) {
        const o = (i * r.cols + j) * r.channels;
        const p = r.pixels;
        const opacity = r.channels === 4 ? ` fill-opacity="${px(p[o + 3]! / 255)}"` : '';
        // a hair of overlap hides the seams that anti-aliasing leaves between cells
        out.push(
          `<rect class="cell" x="${px(x + j * cw)}" y="${px(top)}" width="${px(cw + 0.3)}" height="${px(chh + 0.3)}" fill="rgb(${p[o]},${p[o + 1]},${p[o + 2]})"${opacity}/>`,
        );
      }
    }
    return;
  }
  const png = r.png ?? pngDataUri(encodePng(r.pixels, r.cols, r.rows, r.channels));
  out.push(
    `<image x="${px(x)}" y="${px(y)}" width="${px(w)}" height="${px(h)}" preserveAspectRatio="none" image-rendering="optimizeSpeed" style="image-rendering:pixelated" xlink:href="${png}"/>`,
  );
}

function legend(out: string[], items: Item[], box: { x: number; y: number; w: number; h: number }): void {
  const named = items.filter((i): i is LineItem | BarsItem => i.kind !== 'raster' && i.name !== '');
  if (!named.length) return;
  const longest = Math.max(...named.map((i) => i.name.length));
  const w = Math.min(box.w * 0.6, 34 + longest * 6.6);
  const h = 8 + named.length * 17;
  const x = box.x + box.w - w - 6;
  const y = box.y + 6;
  out.push(`<g class="legend"><rect x="${px(x)}" y="${px(y)}" width="${px(w)}" height="${h}" fill="#fff" fill-opacity="0.85" stroke="${FRAME}"/>`);
  named.forEach((item, k) => {
    const cy = y + 12 + k * 17;
    if (item.kind === 'line') {
      out.push(`<path d="M${px(x + 6)} ${px(cy)}h18" stroke="${item.color}" stroke-width="2"/>`);
    } else if (item.kind === 'markers') {
      out.push(`<circle cx="${px(x + 15)}" cy="${px(cy)}" r="3.5" fill="${item.color}"/>`);
    } else out.push(`<rect x="${px(x + 9)}" y="${px(cy - 5)}" width="10" height="10" fill="${item.color}"/>`);
    out.push(`<text x="${px(x + 30)}" y="${px(cy)}" dy="0.35em" fill="${TEXT}">${esc(item.name)}</text>`);
  });
  out.push('</g>');
}

function colorbar(out: string[], c: { lo: number; hi: number }, box: { x: number; y: number; w: number; h: number }): void {
  const id = uid('gbgrad');
  const stops: string[] = [];
  for (let k = 0; k <= 10; k++) {
    const i = Math.round(k * 25.5) * 3;
    stops.push(`<stop offset="${k / 10}" stop-color="rgb(${VIRIDIS_LUT[i]},${VIRIDIS_LUT[i + 1]},${VIRIDIS_LUT[i + 2]})"/>`);
  }
  const x = box.x + box.w + 14;
  out.push(
    `<linearGradient id="${id}" x1="0" y1="1" x2="0" y2="0">${stops.join('')}</linearGradient>`,
    `<rect class="colorbar" x="${px(x)}" y="${px(box.y)}" width="12" height="${px(box.h)}" fill="url(#${id})" stroke="${FRAME}"/>`,
  );
  const s = scaleOf(c.hi > c.lo ? [c.lo, c.hi] : [c.lo - 0.5, c.lo + 0.5], {}, box.y + box.h, box.y);
  for (const t of niceTicks(s.lo, s.hi, 5)) {
    const y = px(s.at(t));
    out.push(
      `<path d="M${px(x + 12)} ${y}h3" stroke="${TEXT}"/>`,
      `<text x="${px(x + 18)}" y="${y}" dy="0.35em" fill="${TEXT}" font-size="11">${esc(formatNumber(t))}</text>`,
    );
  }
}

function marks(out: string[], ms: { label: string; color: string }[], box: { x: number; y: number; w: number }, cy: number): void {
  let x = box.x + box.w;
  const y = cy + 8;
  for (let k = ms.length - 1; k >= 0; k--) {
    const m = ms[k]!;
    x -= 8 + m.label.length * 7;
    out.push(`<text x="${px(x)}" y="${px(y + 5)}" dy="0.35em" font-size="11" fill="${TEXT}">${esc(m.label)}</text>`);
    x -= 14;
    out.push(`<rect class="mark" x="${px(x)}" y="${px(y)}" width="10" height="10" fill="${m.color}" stroke="#777"/>`);
  }
}
