// A tensor's rich display: a header, summary statistics, the values as an HTML table summarised
// as PyTorch prints them, and a picture beside it where one helps. Tensor's display merges this
// bundle with its own text/plain (PyTorch's printing), which this file leaves alone.
import type { Tensor } from '../tensor.js';
import { escapeHtml, formatNumber, type MimeBundle } from './common.js';
import {
  readShown,
  shownIndices,
  sliceAt,
  summarisation,
  tensorStats,
  type TensorStats,
} from './tensor-stats.js';
import { heatmapPicture, imageLayout, imagePicture, linePicture } from './tensor-picture.js';
import { reshape } from '../functional/movement.js';
import { flags } from '../flags.js';
import { noGrad } from '../autograd/mode.js';

/** Slices of an N-D tensor shown as tables, at most: first half and last half of them. */
const MAX_SLICES = 6;

// Scoped under .gb-tensor so nothing leaks into the notebook's own styles.
const CSS = [
  '.gb-tensor{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;color:#222;line-height:1.35}',
  '.gb-tensor .hdr{margin:2px 0 4px}',
  '.gb-tensor .hdr span{margin-right:1.2em}',
  '.gb-tensor .hdr .k{color:#777}',
  '.gb-tensor table{border-collapse:collapse;margin:2px 0;font-size:inherit}',
  '.gb-tensor td,.gb-tensor th{padding:1px 6px;text-align:right;border:1px solid #e2e2e2;white-space:nowrap}',
  '.gb-tensor th{background:#f4f4f4;color:#777;font-weight:normal}',
  '.gb-tensor td.nan{background:#ffd9ff;color:#a000a0;font-weight:bold}',
  '.gb-tensor td.inf{background:#ffefc0;color:#9a4a00;font-weight:bold}',
  '.gb-tensor td.ell{color:#999;text-align:center;background:#fafafa}',
  '.gb-tensor .stats td{text-align:left}',
  '.gb-tensor .row{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}',
  '.gb-tensor .tbl{max-height:420px;max-width:100%;overflow:auto}',
  '.gb-tensor .pics{display:flex;flex-direction:column;gap:10px}',
  '.gb-tensor img,.gb-tensor svg{border:1px solid #ccc;display:block}',
  '.gb-tensor .cap{color:#555;margin-top:4px}',
  '.gb-tensor .note{color:#777;font-size:11px;margin:2px 0;max-width:520px}',
  '.gb-tensor .legend{display:flex;align-items:center;gap:4px;font-size:11px;flex-wrap:wrap}',
  '.gb-tensor .bar{display:inline-block;width:120px;height:10px}',
  '.gb-tensor .sw{display:inline-block;width:10px;height:10px;border:1px solid #999;vertical-align:middle;' +
    'margin:0 2px 0 6px}',
].join('');

export function tensorBundle(t: Tensor): MimeBundle {
  return noGrad(() => bundleOf(t));
}

function bundleOf(t: Tensor): MimeBundle {
  if (t.storage.freed) {
    const note = '<div class="note">its storage was freed (dispose or tidy): no values to show</div>';
    return { 'text/html': wrap(header(t) + note) };
  }
  const stats = tensorStats(t);
  const parts = [header(t), statsHtml(t, stats)];
  if (t.numel() === 0 || t.ndim === 0) return { 'text/html': wrap(parts.join('')) };
  const picture = pictureOf(t, stats);
  const pics = picture.html ? `<div class="pics">${picture.html}</div>` : '';
  parts.push(`<div class="row"><div class="tbl">${valuesHtml(t)}</div>${pics}</div>`);
  const bundle: MimeBundle = { 'text/html': wrap(parts.join('')) };
  if (picture.png) bundle['image/png'] = picture.png.toString('base64');
  return bundle;
}

function wrap(inner: string): string {
  return `<div class="gb-tensor"><style>${CSS}</style>${inner}</div>`;
}

function header(t: Tensor): string {
  const field = (k: string, v: string) => `<span><span class="k">${k}</span> ${escapeHtml(v)}</span>`;
  const fields = [
    `<span><b>Tensor</b></span>`,
    field('shape', `[${t.shape.join(', ')}]`),
    field('dtype', t.dtype),
    field('device', String(t.device)),
    field('requires_grad', t.requiresGrad ? 'True' : 'False'),
  ];
  if (t.gradFn?.name) fields.push(field('grad_fn', t.gradFn.name));
  return `<div class="hdr">${fields.join('')}</div>`;
}

/** How a value reads in a cell or a statistic, by dtype. */
function cellText(v: number, dtype: string): string {
  if (dtype === 'bool') return v ? 'True' : 'False';
  return formatNumber(v);
}

function statsHtml(t: Tensor, s: TensorStats): string {
  const n = t.numel();
  if (n === 0) return `<div class="note">empty: ${n} elements, no statistics</div>`;
  if (t.ndim === 0) {
    const v = readShown(t, [], [])[0]![0]!;
    return `<table class="stats"><tr><th>value</th>${valueCell(v, t.dtype)}</tr></table>`;
  }
  const cells: [string, string][] = [['elements', String(n)]];
  if (s.finite > 0) {
    cells.push(['min', cellText(s.min, t.dtype)], ['max', cellText(s.max, t.dtype)]);
    cells.push(['mean', formatNumber(s.mean)], ['std', Number.isNaN(s.std) ? '—' : formatNumber(s.std)]);
    if (t.dtype === 'bool') cells.push(['True', String(Math.round(s.mean * s.finite))]);
  }
  cells.push(['NaN', String(s.nan)], ['+inf', String(s.posinf)], ['−inf', String(s.neginf)]);
  const row = cells.map(([k, v]) => `<th>${k}</th><td>${escapeHtml(v)}</td>`).join('');
  const bad = s.nan + s.posinf + s.neginf;
  let note = '';
  if (s.finite === 0) note = 'no finite values: min, max, mean and std are undefined';
  else if (bad > 0) note = `min, max, mean and std are over the ${s.finite} finite values; NaN and ±inf are left out`;
  return `<table class="stats"><tr>${row}</tr></table>${note ? `<div class="note">${note}</div>` : ''}`;
}

function valueCell(v: number, dtype: string): string {
  if (Number.isNaN(v)) return '<td class="nan">nan</td>';
  if (!Number.isFinite(v)) return `<td class="inf">${v > 0 ? 'inf' : '-inf'}</td>`;
  return `<td>${escapeHtml(cellText(v, dtype))}</td>`;
}

/** A 0-2-D tensor (or slice) as a table over the shown indices; reads only those values. */
function matrixTable(m: Tensor, edge: number | null): string {
  const rows = m.ndim === 2 ? shownIndices(m.shape[0]!, edge) : [0];
  const cols = shownIndices(m.shape[m.ndim - 1]!, edge);
  const values = readShown(m, rows, cols);
  const head = `<tr><th></th>${cols.map((c) => (c === null ? '<th>…</th>' : `<th>${c}</th>`)).join('')}</tr>`;
  const body: string[] = [];
  let r = 0;
  for (const i of rows) {
    if (i === null) {
      body.push(`<tr><th>⋮</th>${cols.map(() => '<td class="ell">⋮</td>').join('')}</tr>`);
      continue;
    }
    const row = values[r++]!;
    let c = 0;
    const cells = cols.map((j) => (j === null ? '<td class="ell">…</td>' : valueCell(row[c++]!, m.dtype)));
    body.push(`<tr><th>${m.ndim === 2 ? i : ''}</th>${cells.join('')}</tr>`);
  }
  return `<table>${head}${body.join('')}</table>`;
}

function valuesHtml(t: Tensor): string {
  const edge = summarisation(t);
  const why = `more than ${flags.printThreshold} elements: the first and last ${edge} along each dim, as PyTorch prints it`;
  const note = edge === null ? '' : `<div class="note">${why}</div>`;
  if (t.ndim <= 2) return matrixTable(t, edge) + note;
  return slicesHtml(t, edge) + note;
}

/**
 * An N-D tensor (N > 2) as tables of its trailing 2-D slices. Leading dims are summarised as
 * the printer does, and at most MAX_SLICES slices are drawn: the first and the last ones of the
 * shown index combinations, picked by counting in mixed radix so a tensor with millions of
 * slices enumerates none of them.
 */
function slicesHtml(t: Tensor, edge: number | null): string {
  const lead = t.shape.slice(0, -2).map((n) => shownIndices(n, edge).filter((i): i is number => i !== null));
  const total = lead.reduce((a, l) => a * l.length, 1);
  const at = (k: number): number[] => {
    const out = new Array<number>(lead.length);
    for (let d = lead.length - 1; d >= 0; d--) {
      out[d] = lead[d]![k % lead[d]!.length]!;
      k = Math.floor(k / lead[d]!.length);
    }
    return out;
  };
  const picks =
    total <= MAX_SLICES
      ? Array.from({ length: total }, (_, k) => k)
      : [
          ...Array.from({ length: MAX_SLICES / 2 }, (_, k) => k),
          -1,
          ...Array.from({ length: MAX_SLICES / 2 }, (_, k) => total - MAX_SLICES / 2 + k),
        ];
  const out: string[] = [];
  for (const k of picks) {
    if (k < 0) {
      out.push(`<div class="cap">⋯ ${total - MAX_SLICES} more slices ⋯</div>`);
      continue;
    }
    const idx = at(k);
    out.push(`<div class="cap">[${[...idx, ':', ':'].join(', ')}]</div>`);
    out.push(matrixTable(sliceAt(t, idx), edge));
  }
  return out.join('');
}

interface PictureHtml {
  html: string;
  png?: Buffer;
}

function pictureOf(t: Tensor, stats: TensorStats): PictureHtml {
  const block = (html: string) => `<div class="pic">${html}</div>`;
  if (stats.finite === 0 && stats.nan + stats.posinf + stats.neginf === 0) return { html: '' };
  const layout = imageLayout(t.shape, stats);
  if (t.ndim === 1 || (t.ndim === 2 && Math.min(...t.shape) === 1)) {
    if (stats.finite === 0 || t.numel() < 2) return { html: '' };
    return { html: linePicture(t.ndim === 1 ? t : reshape(t, [-1]), stats) };
  }
  if (t.ndim === 2) {
    const heat = heatmapPicture(t);
    const parts = [block(heat.html)];
    if (layout === 'hw') parts.push(block(imagePicture(t, 'hw', stats).html));
    return { html: parts.join(''), png: heat.png };
  }
  if (layout !== null) {
    const pic = imagePicture(t, layout, stats);
    return { html: block(pic.html), png: pic.png };
  }
  return { html: '' };
}
