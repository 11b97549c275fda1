// The plots' interactive side: plotly's figure JSON (JupyterLab and VS Code draw it natively),
// and the HTML that draws it with plotly.js where scripts run, over the static SVG that stays
// where they do not. See Note [plotly once].
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { frontend, uid } from './common.js';
import { PALETTE, type AxisSpec, type FigureSpec, type Item, type Panel } from './svg.js';
import type { NumericArray } from './plot-data.js';

export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/**
 * Note [plotly once]
 * plotly.js is 4.8 MB. It comes from the installed plotly.js-dist-min package (never a CDN: a
 * notebook must draw offline and show the same picture years later) and is inlined into the HTML
 * of the first figure a kernel process shows; later figures only call Plotly.newPlot, finding
 * window.Plotly that the first one defined. A kernel restart is a new process, so the first figure
 * after it carries the library again. The flag lives on globalThis so that two copies of this
 * module in one process (dist/ and source) still ship it once; resetPlotlyShipped() clears it.
 *
 * The library runs inside a function whose parameters `define`, `module`, `exports` and `require`
 * shadow the page's: classic notebook and nbconvert pages load require.js, and a UMD bundle that
 * sees an AMD `define` registers an anonymous module (require.js then reports "mismatched
 * anonymous define") instead of setting window.Plotly. Shadowed, it takes its browser-global path.
 * The guard `if (!window.Plotly)` keeps a second copy (a re-run first cell) from redefining it.
 * Every figure's script does nothing where Plotly is missing (scripts run but the cell with the
 * library was never re-run after reopening a saved notebook): the static SVG stays.
 */
const SHIPPED = Symbol.for('gradbook.viz.plotlyShipped');

let library: string | null | undefined;

/** plotly.js's source, made safe to inline in a <script>; null when the package is not installed. */
export function plotlyLibrary(): string | null {
  if (library !== undefined) return library;
  try {
    const path = createRequire(import.meta.url).resolve('plotly.js-dist-min');
    library = scriptSafe(readFileSync(path, 'utf8'));
  } catch {
    library = null;
  }
  return library;
}

/**
 * Inside a <script> element only `</script` (and `<!--` followed by `<script`) end the script
 * early. In JavaScript they can only occur in strings, regular expressions, template literals and
 * comments, where `<\/` and `<\x73` mean the same characters.
 */
export function scriptSafe(js: string): string {
  return js
    .replace(/<\/(script)/gi, '<\\/$1')
    .replace(/<(script)/gi, (_m, s: string) => `<\\x${s.charCodeAt(0).toString(16)}${s.slice(1)}`);
}

export function plotlyShipped(): boolean {
  return (globalThis as Record<symbol, unknown>)[SHIPPED] === true;
}

/** Forgets that plotly.js was shipped: the next figure's HTML carries it again. */
export function resetPlotlyShipped(): void {
  delete (globalThis as Record<symbol, unknown>)[SHIPPED];
}

/** The library's <script>, the first time it is asked for in this process (terminals never need it). */
function libraryScript(): string {
  if (plotlyShipped() || frontend()?.kind === 'terminal') return '';
  const lib = plotlyLibrary();
  if (lib === null) return '';
  (globalThis as Record<symbol, unknown>)[SHIPPED] = true;
  return (
    '<script>if(typeof window!=="undefined"&&!window.Plotly){(function(define,module,exports,require){\n' +
    lib +
    '\n;if(!window.Plotly&&typeof Plotly!=="undefined")window.Plotly=Plotly;}).call(window);}</script>'
  );
}

/** JSON inside a <script>: `<` escaped so no string in the data can close the element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

/**
 * A figure's HTML: a div holding the static SVG, then (the first time) plotly.js, then a script
 * that swaps the SVG for the interactive plot when Plotly is there, and puts it back if plotly fails.
 */
export function figureHtml(svg: string, figure: PlotlyFigure, width: number): string {
  const id = uid('gbfig');
  // an image trace's PNG is in the SVG already: the script takes it from there, not a second copy
  const data = figure.data.map((t) => {
    const source = t.source;
    if (typeof source !== 'string' || !source.startsWith('data:')) return t;
    const at = svgImages(svg).indexOf(source);
    return at < 0 ? t : { ...t, source: `${SVG_IMAGE}${at}` };
  });
  const draw =
    `(function(){var el=document.getElementById(${JSON.stringify(id)});var P=window.Plotly;` +
    'if(!el||!P||!P.newPlot)return;' +
    `var fig=${scriptJson({ ...figure, data })};var ims=el.getElementsByTagName("image");` +
    `fig.data.forEach(function(t){if(typeof t.source==="string"&&t.source.indexOf(${JSON.stringify(SVG_IMAGE)})===0){` +
    `var im=ims[+t.source.slice(${SVG_IMAGE.length})];t.source=im?im.getAttribute("xlink:href")||im.getAttribute("href"):"";}});` +
    'var svg=el.innerHTML;el.innerHTML="";' +
    'var back=function(){el.innerHTML=svg;};' +
    'try{var r=P.newPlot(el,fig.data,fig.layout,fig.config);if(r&&r.catch)r.catch(back);}catch(e){back();}})();';
  return (
    `<div id="${id}" class="gradbook-figure" style="width:${width}px;max-width:100%">${svg}</div>` +
    libraryScript() +
    `<script>${draw}</script>`
  );
}

const SVG_IMAGE = 'gb-svg-image:';

/** The data URIs of the SVG's <image> elements, in order. */
function svgImages(svg: string): string[] {
  return [...svg.matchAll(/<image [^>]*xlink:href="([^"]*)"/g)].map((m) => m[1]!);
}

/** Numbers for plotly: NaN and ±inf become null (a gap), the rest keep 7 significant digits. */
export function plotlyNumbers(v: NumericArray): (number | null)[] {
  const out = new Array<number | null>(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    out[i] = x - x === 0 ? (Number.isInteger(x) ? x : Number(x.toPrecision(7))) : null;
  }
  return out;
}

function axisRef(i: number): { x: string; y: string; xKey: string; yKey: string } {
  const n = i === 0 ? '' : String(i + 1);
  return { x: `x${n}`, y: `y${n}`, xKey: `xaxis${n}`, yKey: `yaxis${n}` };
}

function axisLayout(a: AxisSpec, anchor: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: a.log ? 'log' : 'linear',
    anchor,
    showline: true,
    mirror: true,
    linecolor: '#bbb',
    gridcolor: '#e6e6e6',
    zeroline: false,
    automargin: true,
  };
  if (a.label) out.title = { text: a.label };
  if (a.range) {
    const r = a.log ? a.range.map((v) => Math.log10(v)) : [...a.range];
    out.range = a.reversed ? [r[1], r[0]] : r;
  } else if (a.reversed) out.autorange = 'reversed';
  if (a.hidden) Object.assign(out, { visible: false, showgrid: false, showline: false });
  return out;
}

function traceOf(item: Item): Record<string, unknown> | null {
  if (item.kind === 'line' || item.kind === 'markers') {
    const t: Record<string, unknown> = {
      type: 'scatter',
      mode: item.kind === 'line' ? 'lines' : 'markers',
      name: item.name,
      x: plotlyNumbers(item.x),
      y: plotlyNumbers(item.y),
    };
    if (item.kind === 'line') t.line = { color: item.color, width: 1.6 };
    else t.marker = { color: item.color, size: 5, opacity: 0.7 };
    return t;
  }
  if (item.kind === 'bars') {
    const centers = new Float64Array(item.heights.length);
    const widths = new Float64Array(item.heights.length);
    for (let i = 0; i < centers.length; i++) {
      centers[i] = (item.edges[i]! + item.edges[i + 1]!) / 2;
      widths[i] = item.edges[i + 1]! - item.edges[i]!;
    }
    return {
      type: 'bar',
      name: item.name,
      x: plotlyNumbers(centers),
      y: plotlyNumbers(item.heights),
      width: plotlyNumbers(widths),
      marker: { color: item.color, line: { color: '#fff', width: 0.5 } },
    };
  }
  return null;
}

/**
 * plotly's {data, layout} for a figure spec: one subplot per panel. Items plotly shows differently
 * from the SVG (a heatmap's values rather than its colours) come as `custom` traces.
 */
export function toPlotly(spec: FigureSpec, custom: Map<Item, Record<string, unknown>[]> = new Map()): PlotlyFigure {
  const columns = Math.max(1, Math.min(spec.columns ?? 1, spec.panels.length));
  const rows = Math.max(1, Math.ceil(spec.panels.length / columns));
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    width: spec.width,
    height: spec.height,
    margin: { l: 60, r: 20, t: spec.title ? 50 : 24, b: 50 },
    paper_bgcolor: '#fff',
    plot_bgcolor: '#fff',
    colorway: PALETTE,
    font: { family: 'Helvetica, Arial, sans-serif', size: 12, color: '#333' },
    bargap: 0,
    showlegend: spec.panels.some((p) => p.legend === true),
    legend: { x: 1, xanchor: 'right', y: 1, bgcolor: 'rgba(255,255,255,0.85)', bordercolor: '#bbb', borderwidth: 1 },
  };
  if (spec.title) layout.title = { text: spec.title, x: 0.5 };
  if (spec.panels.length > 1) layout.grid = { rows, columns, pattern: 'independent' };
  const annotations: Record<string, unknown>[] = [];
  spec.panels.forEach((p: Panel, i) => {
    const ref = axisRef(i);
    layout[ref.xKey] = axisLayout(p.x, ref.y);
    const y = axisLayout(p.y, ref.x);
    if (p.equalAspect) Object.assign(y, { scaleanchor: ref.x, scaleratio: 1 });
    layout[ref.yKey] = y;
    for (const item of p.items) {
      const traces = custom.get(item) ?? [traceOf(item)];
      for (const t of traces) if (t) data.push(i === 0 ? t : { ...t, xaxis: ref.x, yaxis: ref.y });
    }
    if (p.title) {
      annotations.push({
        text: p.title,
        xref: `${ref.x} domain`,
        yref: `${ref.y} domain`,
        x: 0.5,
        y: 1,
        yanchor: 'bottom',
        showarrow: false,
        font: { size: 13 },
      });
    }
  });
  if (annotations.length) layout.annotations = annotations;
  return { data, layout, config: { displaylogo: false } };
}
