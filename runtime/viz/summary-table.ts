// The module summary drawn two ways: torchinfo's fixed-width table (text/plain, what the REPL
// prints) and HTML in which every module with children folds with <details>/<summary>, which
// needs no script.
import { escapeHtml, uid } from './common.js';
import type { ModuleSummary, SummaryRow } from './summary.js';

/** Labels longer than this are cut, so one odd name cannot widen the whole table. */
const MAX_LABEL = 60;

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** torchinfo's sizes: decimal megabytes, or kilobytes below one megabyte so small models read. */
function size(what: string, bytes: number): string {
  const [unit, div] = bytes >= 1e6 ? ['MB', 1e6] : ['KB', 1e3];
  return `${what} (${unit}): ${(bytes / div).toFixed(2)}`;
}

function label(row: SummaryRow): string {
  const text = row.path === '' ? row.type : `${row.path} (${row.type})`;
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}

function paramCell(row: SummaryRow): string {
  return row.params === 0 ? '--' : count(row.params);
}

/** The totals as torchinfo words them; the module's own text display ends with these. */
export function totalsLines(s: ModuleSummary): string[] {
  const lines = [
    `Total params: ${count(s.totalParams)}`,
    `Trainable params: ${count(s.trainableParams)}`,
    `Non-trainable params: ${count(s.nonTrainableParams)}`,
  ];
  if (s.inputBytes === null || s.activationBytes === null) {
    lines.push(size('Params size', s.paramBytes));
    return lines;
  }
  lines.push(
    '',
    size('Input size', s.inputBytes),
    size('Forward/backward pass size', s.activationBytes),
    size('Params size', s.paramBytes),
    size('Estimated Total Size', s.inputBytes + s.activationBytes + s.paramBytes),
  );
  return lines;
}

/** Rows in order with torchinfo's tree prefix ('├─', '│    └─'), the first `max` of them. */
function treeLabels(rows: readonly SummaryRow[], max: number): { row: SummaryRow; prefix: string }[] {
  const out: { row: SummaryRow; prefix: string }[] = [];
  const visit = (i: number, lead: string, last: boolean, isRoot: boolean) => {
    if (out.length >= max) return;
    const row = rows[i];
    out.push({ row, prefix: isRoot ? '' : `${lead}${last ? '└─' : '├─'}` });
    const childLead = isRoot ? '' : `${lead}${last ? '     ' : '│    '}`;
    row.children.forEach((c, k) => visit(c, childLead, k === row.children.length - 1, false));
  };
  if (rows.length) visit(0, '', true, true);
  return out;
}

export function summaryText(s: ModuleSummary, maxRows: number): string {
  const shown = treeLabels(s.rows, maxRows);
  const header = ['Layer (type)', ...(s.hasShapes ? ['Output Shape'] : []), 'Param #', 'Trainable'];
  const cells = shown.map(({ row, prefix }) => [
    prefix + label(row),
    ...(s.hasShapes ? [row.outputShape ?? '--'] : []),
    paramCell(row),
    row.trainable,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c].length)) + 4);
  const line = (r: string[]) =>
    r
      .map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c])))
      .join('')
      .trimEnd();
  const rule = '='.repeat(widths.reduce((a, b) => a + b, 0));
  const out = [rule, line(header), rule, ...cells.map(line)];
  if (s.rows.length > shown.length) out.push(`… ${s.rows.length - shown.length} more layers (maxRows: ${maxRows})`);
  out.push(rule);
  const totals = totalsLines(s);
  const blank = totals.indexOf('');
  if (blank < 0) out.push(...totals, rule);
  else out.push(...totals.slice(0, blank), rule, ...totals.slice(blank + 1), rule);
  return out.join('\n');
}

function css(scope: string, nameCh: number, shapeCh: number, shapes: boolean): string {
  const cols = [`${nameCh}ch`, ...(shapes ? [`${shapeCh}ch`] : []), '11ch', '9ch'].join(' ');
  const s = `.${scope}`;
  return [
    `${s}{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;color:#222;line-height:1.5}`,
    `${s} .r{display:grid;grid-template-columns:${cols};white-space:nowrap}`,
    `${s} .r>span{overflow:hidden;text-overflow:ellipsis;padding-right:1ch}`,
    `${s} .h{border-bottom:1px solid #bbb;color:#555;font-weight:bold}`,
    `${s} summary{list-style:none;cursor:pointer;display:block}`,
    `${s} summary::-webkit-details-marker{display:none}`,
    `${s} summary:hover{background:#f2f6fb}`,
    `${s} .n::before{content:'';display:inline-block;width:2ch}`,
    `${s} details>summary .n::before{content:'▸ '}`,
    `${s} details[open]>summary .n::before{content:'▾ '}`,
    `${s} .t{color:#777}`,
    `${s} .f{color:#a15c00}`,
    `${s} .more{color:#777;font-style:italic}`,
    `${s} table{border-collapse:collapse;margin-top:6px;border-top:1px solid #bbb}`,
    `${s} td{padding:0 12px 0 0}`,
    `${s} td.v{text-align:right}`,
  ].join('');
}

export function summaryHtml(s: ModuleSummary, maxRows: number): string {
  const scope = uid('gb-summary');
  const shapes = s.hasShapes;
  let drawn = 0;
  let nameCh = 'Layer (type)'.length + 2;
  let shapeCh = 'Output Shape'.length + 1;
  const rowHtml = (row: SummaryRow): string => {
    const name = row.path === '' ? row.type : row.path;
    const type = row.path === '' ? '' : ` <span class="t">${escapeHtml(row.type)}</span>`;
    nameCh = Math.max(nameCh, Math.min(label(row).length, MAX_LABEL) + 2 * row.depth + 3);
    const cells = [`<span class="n" style="padding-left:${2 * row.depth}ch">${escapeHtml(name)}${type}</span>`];
    if (shapes) {
      const shape = row.outputShape ?? '--';
      shapeCh = Math.max(shapeCh, Math.min(shape.length, MAX_LABEL) + 1);
      cells.push(`<span>${escapeHtml(shape)}</span>`);
    }
    cells.push(`<span>${paramCell(row)}</span>`);
    cells.push(`<span class="${row.trainable === 'False' || row.trainable === 'Partial' ? 'f' : ''}">${row.trainable}</span>`);
    return cells.join('');
  };
  const visit = (i: number): string => {
    if (drawn >= maxRows) return '';
    drawn += 1;
    const row = s.rows[i];
    if (row.children.length === 0) return `<div class="r">${rowHtml(row)}</div>`;
    // the top levels start open; deeper containers start folded so a big model reads at a glance
    const open = row.depth < 2 ? ' open' : '';
    const kids = row.children.map(visit).join('');
    return `<details${open}><summary class="r">${rowHtml(row)}</summary>${kids}</details>`;
  };
  const body = s.rows.length ? visit(0) : '';
  const more =
    s.rows.length > drawn ? `<div class="more">… ${s.rows.length - drawn} more layers (maxRows: ${maxRows})</div>` : '';
  const head = ['Layer (type)', ...(shapes ? ['Output Shape'] : []), 'Param #', 'Trainable'];
  const header = `<div class="r h">${head.map((h) => `<span>${h}</span>`).join('')}</div>`;
  const totals = totalsLines(s)
    .filter((l) => l !== '')
    .map((l) => {
      const k = l.lastIndexOf(': ');
      return `<tr><td>${escapeHtml(l.slice(0, k))}</td><td class="v">${escapeHtml(l.slice(k + 2))}</td></tr>`;
    })
    .join('');
  return (
    `<div class="${scope}"><style>${css(scope, nameCh, shapeCh, shapes)}</style>` +
    `${header}${body}${more}<table>${totals}</table></div>`
  );
}
