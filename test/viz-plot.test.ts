// gb.viz.line, scatter, hist, heatmap and image: what each bundle holds (plotly JSON, a static
// SVG of our own, HTML that carries plotly.js once per process, a text summary), how NaN and inf
// are drawn, that big tensors give bounded bundles, and the errors bad arguments get.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import { resetPlotlyShipped, plotlyLibrary, scriptSafe } from '../runtime/viz/plotly.js';
import { decimate, decimateTensor, histogramOf, histogramTensor, readAll, READ_LIMIT } from '../runtime/viz/plot-data.js';
import { logTicks, niceTicks } from '../runtime/viz/svg.js';
import { decodePng } from './support/png-decode.js';

type Trace = Record<string, unknown> & { type: string; x?: unknown[]; y?: unknown[]; z?: unknown[][] };
const KEYS = ['application/vnd.plotly.v1+json', 'image/svg+xml', 'text/html', 'text/plain'];

const plotlyOf = (f: gb.viz.Figure) => f.bundle()['application/vnd.plotly.v1+json'] as { data: Trace[]; layout: Record<string, unknown> };
const svgOf = (f: gb.viz.Figure) => String(f.bundle()['image/svg+xml']);
const count = (s: string, needle: string | RegExp) => s.split(needle).length - 1;

/**
 * Checks that `svg` is well-formed XML as far as an SVG renderer cares: one root, every element
 * closed in order, attribute values quoted, and no bare `&` or `<` in text or attributes.
 */
function expectWellFormed(svg: string): void {
  expect(svg.startsWith('<svg ')).toBe(true);
  expect(svg.endsWith('</svg>')).toBe(true);
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const text = svg.slice(i, lt < 0 ? svg.length : lt);
    expect(text, `text at ${i}`).not.toMatch(/&(?!(amp|lt|gt|quot|#39);)/);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    expect(m, `a tag at ${lt}: ${svg.slice(lt, lt + 80)}`).not.toBeNull();
    const [whole, closing, name, attrs, selfClosing] = m!;
    expect(attrs, `attributes of <${name}>`).not.toMatch(/&(?!(amp|lt|gt|quot|#39);)/);
    if (closing) expect(stack.pop(), `</${name}> at ${lt}`).toBe(name);
    else if (!selfClosing) stack.push(name!);
    if (stack.length === 0) expect(lt + whole.length, 'one root element').toBe(svg.length);
    i = lt + whole.length;
  }
  expect(stack).toEqual([]);
}

/** The numbers in the SVG's <text> elements. */
const svgTexts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

beforeEach(() => {
  resetPlotlyShipped();
});
afterEach(() => {
  resetPlotlyShipped();
});

describe('every plot kind', () => {
  const make: Record<string, () => gb.viz.Figure> = {
    line: () => gb.viz.line([3, 1, 2]),
    scatter: () => gb.viz.scatter([{ x: 1, y: 2 }, { x: 2, y: 3 }]),
    hist: () => gb.viz.hist(gb.randn([100])),
    heatmap: () => gb.viz.heatmap([[1, 2], [3, 4]]),
    image: () => gb.viz.image(gb.rand([3, 4, 5])),
  };
  for (const [kind, fn] of Object.entries(make)) {
    test(`${kind} bundles plotly JSON, SVG, HTML with the SVG inside, and text`, () => {
      const f = fn();
      expect(f).toBeInstanceOf(gb.viz.Figure);
      const b = f.bundle();
      expect(Object.keys(b).sort()).toEqual(KEYS);
      expect(String(b['text/plain'])).toMatch(new RegExp(`^${kind}\\b`));
      const svg = String(b['image/svg+xml']);
      expectWellFormed(svg);
      expect(String(b['text/html'])).toContain(svg);
      expect(f[Symbol.for('Jupyter.display') as unknown as keyof typeof f]).toBeTypeOf('function');
      expect(String(b['text/html'])).not.toMatch(/<script[^>]*\bsrc=/);
    });
  }
});

describe('gb.viz.line', () => {
  test('plots y against its index as a plotly line with the given titles', () => {
    const f = gb.viz.line([0.5, 0.25, 0.125], { title: 'loss', xlabel: 'step', ylabel: 'mse' });
    const { data, layout } = plotlyOf(f);
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ type: 'scatter', mode: 'lines', x: [0, 1, 2], y: [0.5, 0.25, 0.125] });
    expect(layout).toMatchObject({ title: { text: 'loss' }, xaxis: { title: { text: 'step' } }, yaxis: { title: { text: 'mse' } } });
    const svg = svgOf(f);
    const texts = svgTexts(svg);
    expect(texts).toEqual(expect.arrayContaining(['loss', 'step', 'mse']));
    expect(count(svg, '<path class="line"')).toBe(1);
    expect(f.toString()).toBe('line "loss": 1 series\n  y: 3 points, x 0…2, y 0.125…0.5');
  });

  test('takes {x, y} points, tensors and named series, one trace and one path each', () => {
    const points = plotlyOf(gb.viz.line([{ x: 10, y: 1 }, { x: 20, y: 4 }]));
    expect(points.data[0]).toMatchObject({ x: [10, 20], y: [1, 4] });
    const t = plotlyOf(gb.viz.line(gb.tensor([1, 2, 3], { dtype: 'int32' })));
    expect(t.data[0]).toMatchObject({ x: [0, 1, 2], y: [1, 2, 3] });
    const f = gb.viz.line(
      [
        { y: [1, 2, 3], name: 'train' },
        { x: gb.tensor([0, 2, 4]), y: gb.tensor([3, 2, 1]), name: 'val' },
        { y: new Float32Array([2, 2, 2]) },
      ],
      { names: ['a', 'b', 'third'] },
    );
    const { data, layout } = plotlyOf(f);
    expect(data.map((d) => d.name)).toEqual(['train', 'val', 'third']);
    expect(data[1]).toMatchObject({ x: [0, 2, 4], y: [3, 2, 1] });
    expect(layout.showlegend).toBe(true);
    const svg = svgOf(f);
    expect(count(svg, '<path class="line"')).toBe(3);
    expect(count(svg, '<g class="legend">')).toBe(1);
    expect(svgTexts(svg)).toEqual(expect.arrayContaining(['train', 'val', 'third']));
  });

  test('leaves gaps at NaN and inf: null in plotly, the pen lifted in the SVG', () => {
    const f = gb.viz.line([1, 2, NaN, 4, 5, Infinity, 7, 8]);
    expect(plotlyOf(f).data[0]!.y).toEqual([1, 2, null, 4, 5, null, 7, 8]);
    const d = /<path class="line" d="([^"]*)"/.exec(svgOf(f))![1]!;
    expect(count(d, 'M')).toBe(3);
    expect(count(d, 'L')).toBe(3);
    expect(f.toString()).toMatch(/2 NaN\/inf gaps/);
  });

  test('on a log axis drops values <= 0 and puts ticks at powers of ten', () => {
    const f = gb.viz.line([100, 10, 1, 0.1, 0, -1, 0.01], { logy: true });
    expect(plotlyOf(f).layout.yaxis).toMatchObject({ type: 'log' });
    const d = /<path class="line" d="([^"]*)"/.exec(svgOf(f))![1]!;
    expect(count(d, 'M') + count(d, 'L')).toBe(5);
    expect(svgTexts(svgOf(f))).toEqual(expect.arrayContaining(['0.01', '0.1', '1', '10', '100']));
  });

  test('keeps a million points as at most 3,000, with the spike and the gap still there', () => {
    const n = 1_000_000;
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = Math.sin(i / 1000);
    y[123_456] = 50;
    y[654_321] = NaN;
    const f = gb.viz.line(y);
    const trace = plotlyOf(f).data[0]!;
    expect(trace.y!.length).toBeLessThanOrEqual(3000);
    expect(trace.y).toContain(50);
    expect(trace.y).toContain(null);
    expect(trace.x![trace.y!.indexOf(50)]).toBe(123_456);
    expect(JSON.stringify(f.bundle()).length).toBeLessThan(300_000);
    expect(f.toString()).toMatch(/1000000 points \(\d+ drawn\)/);
  });

  test("reduces a big tensor on its device exactly as the host reduces the same values", () => {
    gb.manualSeed(1);
    const t = gb.randn([50_003]).maskedFill(gb.rand([50_003]).lt(0.001), NaN);
    const onDevice = decimateTensor(t, undefined, 0);
    const onHost = decimate(Float64Array.from({ length: 50_003 }, (_, i) => i), readAll(t));
    expect(Array.from(onDevice.x)).toEqual(Array.from(onHost.x));
    expect(Array.from(onDevice.y)).toEqual(Array.from(onHost.y));
    expect(onDevice.nonFinite).toBe(onHost.nonFinite);
    expect(onDevice.nonFinite).toBeGreaterThan(10);
  });

  test('reads nothing with gradients and records no autograd', () => {
    const w = gb.randn([2000], { requiresGrad: true });
    const f = gb.viz.line(w);
    expect(plotlyOf(f).data[0]!.y!.length).toBeGreaterThan(0);
    expect(w.grad).toBeNull();
  });
});

describe('gb.viz.scatter', () => {
  test('draws markers, skips NaN and inf points, and thins big clouds', () => {
    const f = gb.viz.scatter({ x: [1, 2, 3, 4], y: [1, NaN, 3, -Infinity], name: 'p' });
    expect(plotlyOf(f).data[0]).toMatchObject({ type: 'scatter', mode: 'markers', x: [1, 2, 3, 4], y: [1, null, 3, null] });
    const d = /<path class="markers" d="([^"]*)"/.exec(svgOf(f))![1]!;
    // each marker is one circle of two arcs
    expect(count(d, 'a')).toBe(4);
    const big = gb.viz.scatter([{ x: gb.randn([100_000]), y: gb.randn([100_000]) }]);
    expect(plotlyOf(big).data[0]!.x!.length).toBeLessThanOrEqual(5000);
    expect(big.toString()).toMatch(/100000 points \(5000 drawn\)/);
  });
});

describe('gb.viz.hist', () => {
  test('counts values in equal bins, the last one closed, NaN and inf apart', () => {
    const f = gb.viz.hist([0, 0.5, 1, 1, 2, NaN, Infinity, -Infinity], { bins: 4, title: 'h' });
    const trace = plotlyOf(f).data[0]!;
    expect(trace).toMatchObject({ type: 'bar', x: [0.25, 0.75, 1.25, 1.75], y: [1, 1, 2, 1], width: [0.5, 0.5, 0.5, 0.5] });
    expect(count(svgOf(f), '<rect class="bar"')).toBe(4);
    expect(f.toString()).toBe('hist "h": 5 values in 4 bins over [0, 2], most (2) in [1, 1.5); not binned: 1 NaN, 1 +inf, 1 -inf');
  });

  test('draws one rect per non-empty bin and labels the count axis', () => {
    const f = gb.viz.hist([1, 1, 1, 5], { bins: 4 });
    expect(plotlyOf(f).data[0]!.y).toEqual([3, 0, 0, 1]);
    expect(count(svgOf(f), '<rect class="bar"')).toBe(2);
    expect(svgTexts(svgOf(f))).toContain('count');
  });

  test('a range leaves values outside it out', () => {
    const h = histogramOf(Float64Array.from([-5, 0.1, 0.2, 0.9, 7]), 2, [0, 1]);
    expect(Array.from(h.counts)).toEqual([2, 1]);
    expect(h.outside).toBe(2);
  });

  test('bins on the device as the host does, and reads big CPU tensors in chunks', () => {
    gb.manualSeed(2);
    const t = gb.randn([20_000]).maskedFill(gb.rand([20_000]).lt(0.01), Infinity).maskedFill(gb.rand([20_000]).lt(0.01), NaN);
    const host = histogramTensor(t, 37, undefined, 'host');
    const device = histogramTensor(t, 37, undefined, 'device');
    expect(Array.from(device.counts)).toEqual(Array.from(host.counts));
    expect([device.nan, device.posinf, device.total]).toEqual([host.nan, host.posinf, host.total]);
    expect(host.total + host.nan + host.posinf + host.neginf).toBe(20_000);
    const big = gb.rand([READ_LIMIT + 12_345]);
    const chunked = histogramTensor(big, 10);
    const whole = histogramOf(readAll(big), 10);
    expect(Array.from(chunked.counts)).toEqual(Array.from(whole.counts));
    expect(chunked.total).toBe(READ_LIMIT + 12_345);
  });
});

describe('gb.viz.heatmap', () => {
  test('gives plotly a heatmap of the values and the SVG one cell per value with a colour bar', () => {
    const f = gb.viz.heatmap(gb.tensor([[1, 2, 3], [4, 5, 6]]), { title: 'w' });
    const { data, layout } = plotlyOf(f);
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ type: 'heatmap', z: [[1, 2, 3], [4, 5, 6]], x: [0, 1, 2], y: [0, 1], zmin: 1, zmax: 6 });
    expect(layout.yaxis).toMatchObject({ range: [1.5, -0.5] });
    const svg = svgOf(f);
    expectWellFormed(svg);
    expect(count(svg, '<rect class="cell"')).toBe(6);
    expect(count(svg, '<rect class="colorbar"')).toBe(1);
    // the lowest value is viridis' first colour, the highest its last
    expect(svg).toContain('fill="rgb(68,1,84)"');
    expect(svg).toContain('fill="rgb(253,231,37)"');
  });

  test('marks NaN and inf in colours outside the scale, as a layer of their own in plotly', () => {
    const f = gb.viz.heatmap([[0, NaN], [Infinity, 1], [-Infinity, 0.5]]);
    const { data } = plotlyOf(f);
    expect(data[0]!.z).toEqual([[0, null], [null, 1], [null, 0.5]]);
    expect(data[1]).toMatchObject({ type: 'heatmap', z: [[null, 0], [1, null], [2, null]], showscale: false });
    const svg = svgOf(f);
    expect(svg).toContain('fill="rgb(255,0,255)"');
    expect(count(svg, '<rect class="mark"')).toBe(3);
    expect(svgTexts(svg)).toEqual(expect.arrayContaining(['nan', '+inf', '-inf']));
    expect(f.toString()).toMatch(/marked: 1 nan, 1 \+inf, 1 -inf/);
  });

  test('averages a big tensor in blocks to at most 128x128 cells, drawn as one PNG', () => {
    const t = gb.randn([1000, 700]);
    const f = gb.viz.heatmap(t);
    const z = plotlyOf(f).data[0]!.z!;
    expect(z.length).toBe(125);
    expect(z[0]!.length).toBe(116);
    const first = t.narrow(0, 0, 8).narrow(1, 0, 6).mean().item();
    expect(z[0]![0]).toBeCloseTo(first, 5);
    const svg = svgOf(f);
    expect(count(svg, '<rect class="cell"')).toBe(0);
    const png = /<image [^>]*xlink:href="data:image\/png;base64,([^"]+)"/.exec(svg)![1]!;
    const pixels = decodePng(Buffer.from(png, 'base64'));
    expect([pixels.width, pixels.height]).toEqual([116, 125]);
    expect(JSON.stringify(f.bundle()).length).toBeLessThan(600_000);
    expect(f.toString()).toMatch(/1000x700, drawn as 125x116 block means \(8x6 each\)/);
  });
});

describe('gb.viz.image', () => {
  test('draws a grey [H, W] tensor as a PNG with the values as grey levels', () => {
    const f = gb.viz.image(gb.tensor([[0, 0.5], [1, NaN]]));
    const { data } = plotlyOf(f);
    expect(data[0]!.type).toBe('image');
    expect(String(data[0]!.source)).toMatch(/^data:image\/png;base64,/);
    const p = decodePng(Buffer.from(String(data[0]!.source).split(',')[1]!, 'base64'));
    expect([p.width, p.height]).toEqual([2, 2]);
    const grey = (i: number) => Array.from(p.rgba.subarray(i * 4, i * 4 + 3));
    expect([grey(0), grey(1), grey(2), grey(3)]).toEqual([[0, 0, 0], [128, 128, 128], [255, 255, 255], [255, 0, 255]]);
    expect(svgOf(f)).toContain(String(data[0]!.source));
    expect(f.toString()).toMatch(/1 pixels NaN\/inf, marked/);
  });

  test('lays out an [N, C, H, W] batch as a grid and keeps RGB channels', () => {
    const batch = gb.zeros([5, 3, 4, 4]);
    batch.select(0, 4).select(0, 0).fill_(1); // the fifth image is pure red
    const f = gb.viz.image(batch);
    const src = String(plotlyOf(f).data[0]!.source);
    const p = decodePng(Buffer.from(src.split(',')[1]!, 'base64'));
    // 3 columns, 2 rows, 1 pixel between
    expect([p.width, p.height]).toEqual([3 * 4 + 2, 2 * 4 + 1]);
    const at = (x: number, y: number) => Array.from(p.rgba.subarray((y * p.width + x) * 4, (y * p.width + x) * 4 + 3));
    expect(at(6, 6)).toEqual([255, 0, 0]);
    expect(at(0, 0)).toEqual([0, 0, 0]);
    expect(at(4, 0)).toEqual([255, 255, 255]);
    expect(f.toString()).toMatch(/5 images 3x4x4, in a 3x2 grid/);
  });

  test('shrinks big images to a bounded picture', () => {
    const f = gb.viz.image(gb.rand([3, 2000, 1500]));
    const p = decodePng(Buffer.from(String(plotlyOf(f).data[0]!.source).split(',')[1]!, 'base64'));
    expect(Math.max(p.width, p.height)).toBeLessThanOrEqual(384);
    expect(f.toString()).toMatch(/drawn at 1\/6 size/);
  });
});

describe('the HTML', () => {
  test('carries plotly.js once per process, and again after a reset', () => {
    const lib = plotlyLibrary();
    expect(lib).not.toBeNull();
    const banner = /plotly\.js v\d+\.\d+\.\d+/;
    const first = String(gb.viz.line([1, 2]).bundle()['text/html']);
    const second = String(gb.viz.hist([1, 2, 3]).bundle()['text/html']);
    expect(count(first + second, new RegExp(banner, 'g'))).toBe(1);
    expect(first.length).toBeGreaterThan(1_000_000);
    expect(second.length).toBeLessThan(50_000);
    expect(first).toContain('define,module,exports,require');
    expect(first).toContain('!window.Plotly');
    for (const html of [first, second]) {
      expect(html).toContain('Plotly');
      expect(html).toContain('.newPlot(');
      expect(html).toMatch(/^<div id="gbfig-[^"]+" class="gradbook-figure"[^>]*><svg /);
      expect(html).not.toMatch(/<script[^>]*\bsrc=["']?https?:/);
    }
    resetPlotlyShipped();
    const third = String(gb.viz.scatter([1, 2]).bundle()['text/html']);
    expect(count(third, new RegExp(banner, 'g'))).toBe(1);
  });

  test('never lets data or the library close its <script> early', () => {
    const html = String(gb.viz.line([{ y: [1], name: '</script><b>x' }]).bundle()['text/html']);
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts.join('')).not.toMatch(/<\/script/i);
    expect(html).toContain('\\u003c/script>');
    expect(scriptSafe('var s = "</script>"; var r = /<script/;')).toBe('var s = "<\\/script>"; var r = /<\\x73cript/;');
    // the SVG text is escaped
    expect(svgOf(gb.viz.line([{ y: [1], name: '</script><b>x' }], { legend: true }))).toContain('&lt;/script&gt;&lt;b&gt;x');
  });

  test('an image trace takes its PNG from the SVG instead of a second copy', () => {
    const f = gb.viz.image(gb.rand([64, 64]));
    const html = String(f.bundle()['text/html']);
    const src = String(plotlyOf(f).data[0]!.source);
    expect(count(html, src)).toBe(1);
    expect(html).toContain('gb-svg-image:0');
  });
});

describe('ticks', () => {
  test('are 1, 2 or 5 times a power of ten, without float noise', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.1, 0.7, 6)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    expect(niceTicks(-3, 1003)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(niceTicks(-0.5, 2.5, 6, true)).toEqual([0, 1, 2]);
    expect(logTicks(0.01, 100)).toEqual([0.01, 0.1, 1, 10, 100]);
    expect(logTicks(1, 50)).toEqual([1, 2, 5, 10, 20, 50]);
  });
});

describe('wrong arguments', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['a string for ys', () => gb.viz.line('abc'), /^gb\.viz\.line: ys must be an array of numbers, .* got a string \("abc"\)$/],
    ['a string among the numbers', () => gb.viz.line([1, 'x', 3]), /^gb\.viz\.line: ys\[1\] must be a number, got a string \("x"\)$/],
    ['a 2-D tensor', () => gb.viz.line(gb.zeros([2, 3])), /^gb\.viz\.line: ys must be a 1-D Tensor .*got a 2-D float32 Tensor \[2, 3\]/],
    ['x and y of different lengths', () => gb.viz.scatter({ x: [1, 2], y: [1, 2, 3] }), /^gb\.viz\.scatter: ys\.x must be as long as its y \(3 values\)/],
    ['an unknown option', () => gb.viz.line([1], { xLabel: 's' } as never), /^gb\.viz\.line: option 'xLabel' must be one of title, xlabel/],
    ['a bad width', () => gb.viz.line([1], { width: 5 }), /^gb\.viz\.line: opts\.width must be a number of pixels from 100 to 4000, got the number 5/],
    ['zero bins', () => gb.viz.hist([1, 2], { bins: 0 }), /^gb\.viz\.hist: opts\.bins must be an integer from 1 to 1000, got the number 0/],
    ['hist of an object', () => gb.viz.hist({} as never), /^gb\.viz\.hist: values must be .* got an object/],
    ['a 1-D heatmap', () => gb.viz.heatmap(gb.zeros([4]) as never), /^gb\.viz\.heatmap: t must be a 2-D Tensor .* got a 1-D float32 Tensor \[4\]/],
    ['ragged rows', () => gb.viz.heatmap([[1, 2], [3]]), /^gb\.viz\.heatmap: t\[1\] must be a row of 2 numbers like t\[0\]/],
    ['two channels', () => gb.viz.image(gb.zeros([2, 4, 4])), /^gb\.viz\.image: t must be 1, 3 or 4 channels .*got a 3-D float32 Tensor \[2, 4, 4\]/],
    ['an image of numbers', () => gb.viz.image([[1]] as never), /^gb\.viz\.image: t must be a Tensor/],
    ['a range the wrong way round', () => gb.viz.heatmap([[1]], { range: [2, 1] }), /^gb\.viz\.heatmap: opts\.range must be \[lo, hi\] with finite lo < hi/],
  ];
  for (const [what, fn, message] of cases) {
    test(`${what} is a TypeError naming the call, the argument and what was expected`, () => {
      expect(fn).toThrow(TypeError);
      expect(fn).toThrow(message);
    });
  }
});
