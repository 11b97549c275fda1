// Pictures of a tensor for its rich display: a heatmap (2-D), an image grid (image-shaped
// tensors), and a line and a histogram (1-D). Heavy lifting is done by the block reductions of
// tensor-stats.ts on the tensor's device; this file only turns their few numbers into pixels/SVG.
import type { Tensor } from '../tensor.js';
import { narrow, permute, reshape } from '../functional/movement.js';
import { encodePng, pngDataUri } from './png.js';
import { NAN_CSS, NAN_RGB, NEGINF_RGB, POSINF_RGB, VIRIDIS_LUT, rgbCss } from './colormap.js';
import { escapeHtml, formatNumber } from './common.js';
import { asFloat, blockMeans, envelope, histogram, type TensorStats } from './tensor-stats.js';

export interface Picture {
  png: Buffer;
  width: number;
  height: number;
  /** The picture and its legend, ready to sit beside the table. */
  html: string;
}

/**
 * Note [picture bytes]
 * A picture is held twice in a bundle (a data URI in the HTML, and image/png for front ends that
 * show no HTML), and noise, which is what most tensors look like, does not compress: a PNG costs
 * about its raw size. So PNGs are encoded at one pixel per block and the browser scales them up
 * (width/height attributes, pixelated rendering); only tiny pictures are scaled up in pixels,
 * where it costs nothing, so that image/png alone stays visible. HEATMAP_CELLS keeps a 1000x1000
 * tensor's bundle near 140 KB; an image grid is at most GRID_PX a side.
 */
const HEATMAP_CELLS = 160;
const SHOWN_PX = 256;
const MIN_PNG_PX = 64;

function finiteRange(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [NaN, NaN];
}

function put(px: Uint8Array, o: number, rgb: readonly number[]): void {
  px[o] = rgb[0]!;
  px[o + 1] = rgb[1]!;
  px[o + 2] = rgb[2]!;
}

/** The colour of a non-number, or undefined for a number. */
function specialRgb(v: number): readonly number[] | undefined {
  if (Number.isNaN(v)) return NAN_RGB;
  if (v === Infinity) return POSINF_RGB;
  if (v === -Infinity) return NEGINF_RGB;
  return undefined;
}

const SPECIALS: [string, readonly number[]][] = [
  ['NaN', NAN_RGB],
  ['+inf', POSINF_RGB],
  ['−inf', NEGINF_RGB],
];

function swatches(): string {
  return SPECIALS.map(([name, rgb]) => `<span class="sw" style="background:${rgbCss(rgb)}"></span>${name}`).join(' ');
}

/** A viridis bar from lo to hi, and what NaN and the infinities look like. */
function colourLegend(lo: number, hi: number, note: string): string {
  const notes = `<div class="note">${escapeHtml(note)}</div>`;
  if (Number.isNaN(lo)) return `<div class="legend">no finite values ${swatches()}</div>${notes}`;
  const stops = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const k = Math.round(f * 255) * 3;
    return rgbCss(Array.from(VIRIDIS_LUT.subarray(k, k + 3)));
  });
  return (
    `<div class="legend"><span>${escapeHtml(formatNumber(lo))}</span>` +
    `<span class="bar" style="background:linear-gradient(to right,${stops.join(',')})"></span>` +
    `<span>${escapeHtml(formatNumber(hi))}</span> ${swatches()}</div>` +
    notes
  );
}

/** The PNG in the HTML, drawn at about SHOWN_PX a side (never smaller than it is). */
function img(png: Buffer, width: number, height: number, alt: string): string {
  const s = Math.max(1, Math.min(8, SHOWN_PX / Math.max(width, height)));
  const w = Math.max(1, Math.round(width * s));
  const h = Math.max(1, Math.round(height * s));
  const size = `width="${w}" height="${h}"`;
  return `<img src="${pngDataUri(png)}" ${size} alt="${escapeHtml(alt)}" style="image-rendering:pixelated">`;
}

/** Whole-pixel scale-up for pictures smaller than MIN_PNG_PX a side. */
function pixelFactor(side: number): number {
  return Math.max(1, Math.floor(MIN_PNG_PX / side));
}

/** A 2-D tensor as a viridis heatmap of block means. */
export function heatmapPicture(t: Tensor): Picture {
  const [h, w] = t.shape as [number, number];
  const by = Math.ceil(h / HEATMAP_CELLS);
  const bx = Math.ceil(w / HEATMAP_CELLS);
  const m = blockMeans(t, by, bx);
  const [lo, hi] = finiteRange(m.values);
  const f = pixelFactor(Math.max(m.oh, m.ow));
  const width = m.ow * f;
  const height = m.oh * f;
  const px = new Uint8Array(width * height * 3);
  const span = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < m.oh; i++) {
    for (let j = 0; j < m.ow; j++) {
      const v = m.values[i * m.ow + j]!;
      const special = specialRgb(v);
      const k = span > 0 ? Math.round((v - lo) * span) * 3 : 128 * 3;
      for (let y = i * f; y < (i + 1) * f; y++) {
        for (let x = j * f; x < (j + 1) * f; x++) {
          const o = (y * width + x) * 3;
          if (special) put(px, o, special);
          else put(px, o, [VIRIDIS_LUT[k]!, VIRIDIS_LUT[k + 1]!, VIRIDIS_LUT[k + 2]!]);
        }
      }
    }
  }
  const png = encodePng(px, width, height, 3);
  const note =
    by * bx > 1
      ? `each pixel: the mean of a ${by}×${bx} block; a block holding NaN shows as NaN`
      : 'one cell per element';
  return { png, width, height, html: img(png, width, height, 'heatmap') + colourLegend(lo, hi, note) };
}

export type ImageLayout = 'hw' | 'chw' | 'hwc' | 'nchw';

/** Images in a grid are capped so a batch stays a glance, not a download. */
const MAX_IMAGES = 64;
const GRID_PX = 256;
const GAP = 2;

/**
 * How a tensor's shape reads as pictures, if it does. [C,H,W] with C in {1,3,4} and [N,C,H,W]
 * are images whatever their values; [H,W,3|4] too (channels last, as PIL); [H,W] only when its
 * values lie in a pixel range (see `pixelScale`), else the heatmap says more. Sides under 4 are
 * parameters, not pictures.
 */
export function imageLayout(shape: readonly number[], stats: TensorStats): ImageLayout | null {
  const big = (h: number, w: number) => Math.min(h, w) >= 4;
  if (shape.length === 4 && [1, 3, 4].includes(shape[1]!) && big(shape[2]!, shape[3]!) && shape[0]! > 0) return 'nchw';
  if (shape.length === 3 && [1, 3, 4].includes(shape[0]!) && big(shape[1]!, shape[2]!)) return 'chw';
  if (shape.length === 3 && [3, 4].includes(shape[2]!) && Math.min(shape[0]!, shape[1]!) >= 8) return 'hwc';
  if (shape.length === 2 && Math.min(shape[0]!, shape[1]!) >= 8 && pixelScale(stats) !== null) return 'hw';
  return null;
}

/** Values already in [0,1] or [0,255] are pixels as they are; null: normalise min..max instead. */
function pixelScale(stats: TensorStats): number | null {
  if (stats.finite === 0 || stats.min < 0) return null;
  if (stats.max <= 1) return 255;
  if (stats.max <= 255) return 1;
  return null;
}

/** An image-shaped tensor as a grid of pictures (the first MAX_IMAGES of a batch). */
export function imagePicture(t: Tensor, layout: ImageLayout, stats: TensorStats): Picture {
  let x = t;
  if (layout === 'hw') x = reshape(t, [1, 1, ...t.shape]);
  else if (layout === 'chw') x = reshape(t, [1, ...t.shape]);
  else if (layout === 'hwc') x = reshape(permute(t, [2, 0, 1]), [1, t.shape[2]!, t.shape[0]!, t.shape[1]!]);
  const total = x.shape[0]!;
  const n = Math.min(total, MAX_IMAGES);
  if (n < total) x = narrow(x, 0, 0, n);
  const [, c, h, w] = x.shape as [number, number, number, number];
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  // a 2-D tensor's picture sits beside its heatmap, so it gets the heatmap's budget
  const gridPx = layout === 'hw' ? HEATMAP_CELLS : GRID_PX;
  const cap = Math.max(8, Math.floor((gridPx - GAP * (cols - 1)) / cols));
  const b = Math.ceil(Math.max(h, w) / cap);
  const m = blockMeans(x, b, b);
  const f = Math.min(pixelFactor(Math.max(m.oh, m.ow) * cols), Math.floor(cap / Math.max(m.oh, m.ow)));
  const tw = m.ow * f;
  const th = m.oh * f;
  const width = cols * tw + (cols - 1) * GAP;
  const height = rows * th + (rows - 1) * GAP;
  const channels = c === 4 ? 4 : 3;
  const px = new Uint8Array(width * height * channels).fill(channels === 4 ? 0 : 255);
  const scale = pixelScale(stats);
  const lo = scale === null ? stats.min : 0;
  const mul = scale ?? (stats.max > stats.min ? 255 / (stats.max - stats.min) : 0);
  const plane = m.oh * m.ow;
  for (let k = 0; k < n; k++) {
    const ox = (k % cols) * (tw + GAP);
    const oy = Math.floor(k / cols) * (th + GAP);
    for (let i = 0; i < m.oh; i++) {
      for (let j = 0; j < m.ow; j++) {
        const rgba = [0, 0, 0, 255];
        let special: readonly number[] | undefined;
        for (let ch = 0; ch < c; ch++) {
          const v = m.values[(k * c + ch) * plane + i * m.ow + j]!;
          special ??= specialRgb(v);
          const byte = Math.max(0, Math.min(255, Math.round((v - lo) * mul)));
          if (c === 1) rgba.fill(byte, 0, 3);
          else rgba[ch] = byte;
        }
        if (special) rgba.splice(0, 4, special[0]!, special[1]!, special[2]!, 255);
        for (let y = 0; y < f; y++) {
          for (let xx = 0; xx < f; xx++) {
            const o = ((oy + i * f + y) * width + ox + j * f + xx) * channels;
            for (let ch = 0; ch < channels; ch++) px[o + ch] = rgba[ch]!;
          }
        }
      }
    }
  }
  const png = encodePng(px, width, height, channels);
  const how =
    scale === 255
      ? 'values in [0, 1] as pixels'
      : scale === 1
        ? 'values in [0, 255] as pixels'
        : `normalised from [${formatNumber(stats.min)}, ${formatNumber(stats.max)}]`;
  const parts = [
    n < total ? `the first ${n} of ${total} images` : n > 1 ? `${n} images` : 'as an image',
    how,
    b > 1 ? `${b}×${b} block means` : '',
  ].filter(Boolean);
  const swatch = `<span class="sw" style="background:${NAN_CSS}"></span>`;
  const note = `<div class="note">${escapeHtml(parts.join('; '))}; NaN ${swatch}</div>`;
  return { png, width, height, html: img(png, width, height, 'image') + note };
}

const SVG_W = 300;
const SVG_H = 90;
const PAD = 4;
const LINE_POINTS = 256;
const BINS = 30;

const fmt1 = (v: number) => String(Math.round(v * 10) / 10);

/** A 1-D tensor as a small line (an envelope of block extremes when long) and a histogram. */
export function linePicture(t: Tensor, stats: TensorStats): string {
  const n = t.numel();
  const bad = stats.nan + stats.posinf + stats.neginf;
  let lo: Float64Array;
  let hi: Float64Array;
  let marks: Uint8Array;
  if (n <= LINE_POINTS) {
    const values = asFloat(t).data();
    lo = Float64Array.from(values, (v) => (Number.isFinite(v) ? v : NaN));
    hi = lo;
    marks = Uint8Array.from(values, (v) => (Number.isFinite(v) ? 0 : 1));
  } else {
    const e = envelope(t, Math.ceil(n / LINE_POINTS), bad > 0);
    ({ lo, hi } = e);
    marks = e.bad;
  }
  const count = lo.length;
  const [ymin, ymax] = [stats.min, stats.max];
  const xAt = (i: number) => PAD + (count > 1 ? (i / (count - 1)) * (SVG_W - 2 * PAD) : (SVG_W - 2 * PAD) / 2);
  const yAt = (v: number) => {
    const f = ymax > ymin ? (v - ymin) / (ymax - ymin) : 0.5;
    return SVG_H - PAD - f * (SVG_H - 2 * PAD);
  };
  // runs of finite points: a line breaks where a value (block) is missing
  const paths: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const top = run.map((i) => `${fmt1(xAt(i))},${fmt1(yAt(hi[i]!))}`);
    if (hi === lo) paths.push(run.length === 1 ? `M${top[0]}h0.1` : `M${top.join('L')}`);
    else {
      const bottom = run.map((i) => `${fmt1(xAt(i))},${fmt1(yAt(lo[i]!))}`).reverse();
      paths.push(`M${top.join('L')}L${bottom.join('L')}Z`);
    }
    run = [];
  };
  for (let i = 0; i < count; i++) {
    if (Number.isNaN(hi[i]!)) flush();
    else run.push(i);
  }
  flush();
  const ticks: string[] = [];
  for (let i = 0; i < count; i++) {
    if (!marks[i]) continue;
    ticks.push(`<rect x="${fmt1(xAt(i) - 1)}" y="${SVG_H - PAD}" width="2" height="${PAD}" fill="${NAN_CSS}"/>`);
  }
  // a short series gets dots too, so a value between two gaps is still seen
  const dots =
    hi === lo && count <= 64
      ? Array.from(lo, (v, i) => {
          if (Number.isNaN(v)) return '';
          return `<circle cx="${fmt1(xAt(i))}" cy="${fmt1(yAt(v))}" r="1.8" fill="#3b528b"/>`;
        }).join('')
      : '';
  const shape =
    hi === lo
      ? 'fill="none" stroke="#3b528b" stroke-width="1.2"'
      : 'fill="#3b528b" fill-opacity="0.5" stroke="#3b528b" stroke-width="0.6"';
  const line =
    `<svg class="spark" width="${SVG_W}" height="${SVG_H}" viewBox="0 0 ${SVG_W} ${SVG_H}" role="img">` +
    `<title>values by index</title><rect width="${SVG_W}" height="${SVG_H}" fill="#f8f8f8"/>` +
    paths.map((d) => `<path d="${d}" ${shape} stroke-linejoin="round"/>`).join('') +
    dots +
    ticks.join('') +
    '</svg>';
  const range = `${formatNumber(ymin)} to ${formatNumber(ymax)}`;
  const lineNote =
    (n > LINE_POINTS ? `least and greatest of each ${Math.ceil(n / LINE_POINTS)} values` : 'values by index') +
    (bad > 0 ? '; marks at the foot: NaN/inf, left out' : '');
  return (
    `<div class="pic">${line}<div class="note">${escapeHtml(`${lineNote}, from ${range}`)}</div></div>` +
    `<div class="pic">${histogramSvg(t, stats)}</div>`
  );
}

function histogramSvg(t: Tensor, stats: TensorStats): string {
  const bad = stats.nan + stats.posinf + stats.neginf;
  const { counts, step, seen } = histogram(t, BINS, stats.min, stats.max, bad > 0);
  const top = Math.max(...counts, 1);
  const bw = (SVG_W - 2 * PAD) / BINS;
  const bars = counts
    .map((c, i) => {
      if (c === 0) return '';
      const h = Math.max(1, (c / top) * (SVG_H - 2 * PAD));
      const box = `x="${fmt1(PAD + i * bw)}" y="${fmt1(SVG_H - PAD - h)}" width="${fmt1(bw - 0.5)}" height="${fmt1(h)}"`;
      return `<rect ${box} fill="#21918c"><title>${c}</title></rect>`;
    })
    .join('');
  const excluded = [
    stats.nan ? `${stats.nan} NaN` : '',
    stats.posinf ? `${stats.posinf} +inf` : '',
    stats.neginf ? `${stats.neginf} −inf` : '',
  ].filter(Boolean);
  const counted = step > 1 ? `every ${step}th value (${seen} of ${stats.numel})` : `${stats.finite} values`;
  const note =
    `histogram of ${counted} in ${BINS} bins over [${formatNumber(stats.min)}, ${formatNumber(stats.max)}]; tallest ${top}` +
    (excluded.length ? `; left out: ${excluded.join(', ')}` : '');
  return (
    `<svg class="hist" width="${SVG_W}" height="${SVG_H}" viewBox="0 0 ${SVG_W} ${SVG_H}" role="img">` +
    `<title>histogram</title><rect width="${SVG_W}" height="${SVG_H}" fill="#f8f8f8"/>${bars}</svg>` +
    `<div class="note">${escapeHtml(note)}</div>`
  );
}
