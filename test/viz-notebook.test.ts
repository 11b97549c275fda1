// notebooks/display.ipynb: every view, run by `jupyter nbconvert --execute` (real Jupyter, our
// kernel), exported to HTML and opened in headless Chromium, twice: with scripts (plotly.js
// inlined by the first figure draws the interactive plots) and without (what GitHub and pages
// with scripts off show: the static SVGs and images). Each view's area is screenshotted and must
// have ink on it; the page must log no errors. UPDATE_SCREENSHOTS=1 keeps the pictures in
// notebooks/screenshots/ for the README.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { BIN, buildKernel, buildRuntime, ROOT } from './kernel-harness.js';
import { decodePng, inkOf } from './support/png-decode.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  metadata?: Record<string, unknown>;
}

const text = (t: unknown) => (Array.isArray(t) ? t.join('') : String(t ?? ''));
/** Code cells of display.ipynb, by what they show. */
const CELL = {
  setup: 0, tensor2d: 1, tensor1d: 2, images: 3, summary: 4, model: 5, graph: 6, training: 7,
  line: 8, scatter: 9, hist: 10, heatmap: 11, image: 12, term: 13,
} as const;
const PLOTS = [CELL.line, CELL.scatter, CELL.hist, CELL.heatmap, CELL.image];

let outputs: Output[][];
let html: string;
let dir: string;

beforeAll(() => {
  buildKernel();
  buildRuntime();
  dir = mkdtempSync(join(tmpdir(), 'gradbook-viz-notebook-'));
  execFileSync('node', [BIN, 'install', '--prefix', dir]);
  const env = { ...process.env, JUPYTER_PATH: join(dir, 'share', 'jupyter') };
  const executed = join(dir, 'display.ipynb');
  execFileSync(
    'jupyter',
    ['nbconvert', '--execute', '--to', 'notebook', '--ExecutePreprocessor.timeout=120', '--output', executed,
      join(ROOT, 'notebooks', 'display.ipynb')],
    { env, stdio: 'pipe', cwd: dir },
  );
  const nb = JSON.parse(readFileSync(executed, 'utf8')) as { cells: { cell_type: string; outputs?: Output[] }[] };
  outputs = nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.outputs ?? []);
  execFileSync('jupyter', ['nbconvert', '--to', 'html', '--output', join(dir, 'display.html'), executed], {
    env,
    stdio: 'pipe',
    cwd: dir,
  });
  html = join(dir, 'display.html');
}, 240_000);

describe('notebooks/display.ipynb under nbconvert', () => {
  it('runs every cell without an error', () => {
    const errors = outputs.flat().filter((o) => o.output_type === 'error');
    expect(errors.map((e) => `${e.ename}: ${e.evalue}`)).toEqual([]);
    expect(outputs).toHaveLength(Object.keys(CELL).length);
  });

  it("shows tensors with text/plain as PyTorch prints them, HTML and a picture", () => {
    for (const i of [CELL.tensor2d, CELL.tensor1d, CELL.images]) {
      const data = outputs[i]!.find((o) => o.output_type === 'execute_result')!.data!;
      expect(text(data['text/plain'])).toMatch(/^tensor\(/);
      expect(text(data['text/html'])).not.toContain('<script');
    }
    const marked = text(outputs[CELL.tensor2d]![0]!.data!['text/html']);
    expect(marked).toMatch(/nan/i);
    expect(outputs[CELL.tensor2d]![0]!.data!['image/png']).toBeTruthy();
  });

  it('shows plots as plotly JSON, a static SVG and HTML with the SVG inside', () => {
    for (const i of PLOTS) {
      const data = outputs[i]!.find((o) => o.output_type === 'execute_result')!.data!;
      expect(data['application/vnd.plotly.v1+json']).toMatchObject({ data: expect.any(Array) });
      expect(text(data['image/svg+xml'])).toMatch(/^\s*<svg/);
      expect(text(data['text/html'])).toContain('<svg');
      expect(text(data['text/html'])).not.toMatch(/<script[^>]*\bsrc=["']?https?:/);
    }
    const withLibrary = PLOTS.filter((i) => text(outputs[i]![0]!.data!['text/html']).length > 1_000_000);
    expect(withLibrary).toEqual([CELL.line]);
  });

  it('updates the live view and the progress bars in place', () => {
    const training = outputs[CELL.training]!;
    // nbconvert applies update_display_data to the output it names: what stays is one output
    // per display, each showing its last state, and nothing was cleared.
    const displays = training.filter((o) => o.output_type === 'display_data');
    expect(displays.length).toBeGreaterThanOrEqual(2);
    expect(displays.length).toBeLessThanOrEqual(6);
    const all = displays.map((o) => text(o.data!['text/plain'])).join('\n');
    expect(all).toMatch(/100%/);
    expect(all).toMatch(/loss/);
  });

  it('prints terminal views as text', () => {
    const out = outputs[CELL.term]!.filter((o) => o.output_type === 'stream').map((o) => text(o.text)).join('');
    expect(out).toMatch(/[▁▂▃▄▅▆▇█]/);
    expect(out).toMatch(/[░▒▓█]/);
  });
});

describe.skipIf(!haveChromium)('notebooks/display.ipynb in Chromium', () => {
  let context: BrowserContext | undefined;
  const problems: string[] = [];
  const shots = process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'notebooks', 'screenshots') : undefined;

  async function open(scripts: boolean): Promise<Page> {
    if (!context) {
      const { chromium } = await import('playwright-core');
      context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'gradbook-chromium-')), {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox'],
        viewport: { width: 1100, height: 900 },
      });
    }
    const page = await context.newPage();
    // nbconvert's page loads MathJax from the system; this notebook has no maths, and a missing
    // MathJax install is not ours to report.
    await page.route(/MathJax\.js/, (r) => r.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console (${scripts ? 'scripts' : 'no scripts'}): ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const url = pathToFileURL(html).href;
    if (scripts) await page.goto(url);
    else {
      // Scripts off, as GitHub shows a notebook: the same page with every script removed.
      const source = readFileSync(html, 'utf8').replace(/<script\b[\s\S]*?<\/script>/gi, '');
      const plain = join(dir, 'display-no-scripts.html');
      writeFileSync(plain, source);
      await page.goto(pathToFileURL(plain).href);
    }
    return page;
  }

  /** The screenshot of the first element matching `selector` in code cell `cell`'s outputs. */
  async function shot(page: Page, cell: number, selector: string, name: string) {
    const area = page.locator('.jp-CodeCell').nth(cell).locator('.jp-OutputArea').locator(selector).first();
    await area.scrollIntoViewIfNeeded();
    const png = await area.screenshot();
    if (shots) {
      mkdirSync(shots, { recursive: true });
      writeFileSync(join(shots, `${name}.png`), png);
    }
    const pixels = decodePng(png);
    return { ...inkOf(pixels), width: pixels.width, height: pixels.height };
  }

  afterAll(async () => {
    await context?.close();
  });

  it('draws the plotly plots from the inlined plotly.js, with no console errors', async () => {
    const page = await open(true);
    await page.waitForFunction("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5", null, {
      timeout: 30_000,
    });
    for (const [i, name] of [[CELL.line, 'plotly-line'], [CELL.scatter, 'plotly-scatter'], [CELL.heatmap, 'plotly-heatmap']] as const) {
      const s = await shot(page, i, '.js-plotly-plot', name);
      expect(s.ink, name).toBeGreaterThan(0.02);
      expect(s.colours, name).toBeGreaterThan(8);
    }
    const tensor = await shot(page, CELL.tensor2d, 'img', 'tensor-heatmap');
    expect(tensor.ink).toBeGreaterThan(0.3);
    await shot(page, CELL.tensor2d, '.jp-OutputArea-output', 'tensor-view');
    const grid = await shot(page, CELL.images, 'img', 'tensor-image-grid');
    expect(grid.ink).toBeGreaterThan(0.1);
    const graph = await shot(page, CELL.graph, 'svg', 'autograd-graph');
    expect(graph.ink).toBeGreaterThan(0.02);
    expect(graph.height).toBeGreaterThan(100);
    await shot(page, CELL.summary, '.jp-OutputArea-output', 'module-summary');
    await shot(page, CELL.training, '.jp-OutputArea-output', 'live-training');
    expect(problems).toEqual([]);
  }, 90_000);

  it('shows the static SVG plots when scripts are off', async () => {
    const page = await open(false);
    for (const [i, name] of [[CELL.line, 'svg-line'], [CELL.hist, 'svg-hist'], [CELL.image, 'svg-image']] as const) {
      const s = await shot(page, i, 'svg', name);
      expect(s.ink, name).toBeGreaterThan(0.02);
      expect(s.colours, name).toBeGreaterThan(4);
    }
    const graph = await shot(page, CELL.graph, 'svg', 'graph-no-scripts');
    expect(graph.ink).toBeGreaterThan(0.02);
    expect(problems).toEqual([]);
  }, 90_000);
});
