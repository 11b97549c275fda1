// gb.viz.live and gb.progress: displayed once and then updated in place through the front end
// the kernel publishes (a recording one here, installed where the kernel installs its own),
// throttled by wall time, bounded in memory, always ending on the last values; as text on a
// terminal or in a log.
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import * as gb from '../runtime/index.js';
import { FRONTEND, formatNumber, type Frontend, type MimeBundle } from '../runtime/viz/common.js';
import { formatInterval } from '../runtime/viz/progress.js';

interface Shown {
  bundle: MimeBundle;
  displayId: string;
  update: boolean;
}

/** A notebook front end that keeps what it is asked to show, as the kernel would send it. */
function installNotebook(): Shown[] {
  const shown: Shown[] = [];
  const f: Frontend = {
    kind: 'notebook',
    display(bundle, { displayId, update }) {
      shown.push({ bundle: JSON.parse(JSON.stringify(bundle)) as MimeBundle, displayId, update: update ?? false });
    },
  };
  (globalThis as Record<symbol, unknown>)[FRONTEND] = f;
  return shown;
}

/** What views write to process.stdout while `fn` runs (stdout set to look like a TTY or not). */
async function stdoutOf(tty: boolean, fn: () => unknown): Promise<string> {
  const chunks: string[] = [];
  const was = process.stdout.isTTY;
  Object.defineProperty(process.stdout, 'isTTY', { value: tty, configurable: true, writable: true });
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
    Object.defineProperty(process.stdout, 'isTTY', { value: was, configurable: true, writable: true });
  }
  return chunks.join('');
}

const text = (s: Shown) => String(s.bundle['text/plain']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(() => {
  delete (globalThis as Record<symbol, unknown>)[FRONTEND];
});
afterEach(() => {
  delete (globalThis as Record<symbol, unknown>)[FRONTEND];
});

describe('gb.viz.live in a notebook', () => {
  test('shows one figure on the first update and then updates that display', () => {
    const shown = installNotebook();
    const view = gb.viz.live({ metrics: ['loss', 'acc'], title: 'training', every: 0 });
    view.update({ step: 0, loss: 2, acc: 0.1 });
    view.update({ step: 1, loss: 1.5, acc: 0.3 });
    view.update({ step: 2, loss: 1.25, acc: 0.5 });
    expect(shown.map((s) => s.update)).toEqual([false, true, true]);
    expect(new Set(shown.map((s) => s.displayId))).toEqual(new Set([view.displayId]));
    const last = shown[2]!.bundle;
    expect(Object.keys(last).sort()).toEqual(['application/vnd.plotly.v1+json', 'image/svg+xml', 'text/html', 'text/plain']);
    expect(String(last['text/html'])).toContain(String(last['image/svg+xml']));
    expect(String(last['text/html'])).not.toContain('<script');
    expect(text(shown[2]!)).toBe('live "training": step 2  loss 1.25  acc 0.5 (3 updates, 3 points kept per metric)');
    const fig = last['application/vnd.plotly.v1+json'] as { data: { x: number[]; y: number[]; xaxis?: string }[] };
    expect(fig.data.map((d) => d.y)).toEqual([[2, 1.5, 1.25], [0.1, 0.3, 0.5]]);
    expect(fig.data[1]!.xaxis).toBe('x2');
    const svg = String(last['image/svg+xml']);
    expect(svg.match(/<path class="line"/g)).toHaveLength(2);
    expect(svg).toContain('loss: 1.25 (min 1.25, max 2)');
  });

  test('10,000 fast updates redraw a bounded number of times and close() shows the last values', () => {
    const shown = installNotebook();
    const view = gb.viz.live({ metrics: ['loss'], every: 50 });
    const t0 = performance.now();
    let loss = 0;
    for (let i = 0; i < 10_000; i++) {
      loss = 1 / (i + 1);
      view.update({ step: i, loss });
    }
    const elapsed = performance.now() - t0;
    expect(shown.length).toBeGreaterThanOrEqual(1);
    expect(shown.length).toBeLessThanOrEqual(2 + Math.ceil(elapsed / 50));
    view.close();
    const last = shown[shown.length - 1]!;
    expect(last.update).toBe(true);
    expect(text(last)).toContain('step 9999  loss 1e-4');
    const y = (last.bundle['application/vnd.plotly.v1+json'] as { data: { y: number[] }[] }).data[0]!.y;
    expect(y[y.length - 1]).toBe(1e-4);
    view.close();
    expect(shown[shown.length - 1]).toBe(last);
  });

  test('draws the held-back values by itself once a synchronous loop returns', async () => {
    const shown = installNotebook();
    const view = gb.viz.live({ metrics: ['loss'], every: 100 });
    for (let i = 0; i < 1000; i++) view.update({ loss: i });
    expect(text(shown[shown.length - 1]!)).not.toContain('loss 999');
    await sleep(250);
    expect(text(shown[shown.length - 1]!)).toContain('step 999  loss 999');
    expect(shown[shown.length - 1]!.displayId).toBe(view.displayId);
  });

  test('keeps at most maxPoints points a metric over a long run, with the exact min and last', () => {
    const shown = installNotebook();
    const view = gb.viz.live({ metrics: ['loss'], every: 1e9, maxPoints: 500 });
    for (let i = 0; i < 100_000; i++) view.update({ step: i, loss: i === 77_777 ? -5 : Math.cos(i) });
    view.close();
    const fig = shown[shown.length - 1]!.bundle['application/vnd.plotly.v1+json'] as { data: { x: number[] }[] };
    const x = fig.data[0]!.x;
    expect(x.length).toBeLessThanOrEqual(501);
    expect(x[0]).toBe(0);
    expect(x[x.length - 1]).toBe(99_999);
    // the kept points are evenly spread over the run
    expect(x[Math.floor(x.length / 2)]).toBeGreaterThan(40_000);
    expect(x[Math.floor(x.length / 2)]).toBeLessThan(60_000);
    const svg = String(shown[shown.length - 1]!.bundle['image/svg+xml']);
    expect(svg).toContain(`loss: ${formatNumber(Math.cos(99_999))} (min -5, max 1)`);
  });

  test('takes one-element tensors as values and skips metrics a step leaves out', () => {
    const shown = installNotebook();
    const view = gb.viz.live({ metrics: ['loss', 'val'], every: 0 });
    view.update({ step: 0, loss: gb.tensor(0.5) });
    view.update({ step: 1, loss: 0.25, val: 0.75 });
    const fig = shown[1]!.bundle['application/vnd.plotly.v1+json'] as { data: { x: number[]; y: number[] }[] };
    expect(fig.data[0]).toMatchObject({ x: [0, 1], y: [0.5, 0.25] });
    expect(fig.data[1]).toMatchObject({ x: [1], y: [0.75] });
  });
});

describe('gb.viz.live as text', () => {
  test('prints a compact line at a throttled rate, and the last one on close()', async () => {
    const out = await stdoutOf(false, () => {
      const view = gb.viz.live({ metrics: ['loss', 'acc'] });
      for (let i = 0; i < 5000; i++) view.update({ step: i, loss: 1 / (i + 1), acc: 0.5 });
      view.close();
    });
    const lines = out.split('\n').filter(Boolean);
    expect(lines[0]).toBe('step 0  loss 1  acc 0.5');
    expect(lines[lines.length - 1]).toBe('step 4999  loss 2e-4  acc 0.5');
    expect(lines.length).toBeLessThanOrEqual(4);
  });

  test('on a terminal clears the line first (a progress bar may be on it)', async () => {
    (globalThis as Record<symbol, unknown>)[FRONTEND] = { kind: 'terminal', display() {} };
    const out = await stdoutOf(true, () => {
      gb.viz.live({ metrics: ['loss'] }).update({ step: 3, loss: 0.5 });
    });
    expect(out).toBe('\r\x1b[2Kstep 3  loss 0.5\n');
  });
});

describe('gb.progress', () => {
  test('over an array: displays a bar, updates it in place, ends at 100% with the postfix', () => {
    const shown = installNotebook();
    const items = Array.from({ length: 50 }, (_, i) => i);
    const bar = gb.progress(items, { desc: 'epoch 1', every: 0 });
    const seen: number[] = [];
    for (const x of bar) {
      seen.push(x);
      bar.setPostfix({ loss: 1 / (x + 1) });
    }
    expect(seen).toEqual(items);
    expect(bar.n).toBe(50);
    expect(bar.state).toBe('done');
    expect(shown[0]!.update).toBe(false);
    expect(shown.slice(1).every((s) => s.update && s.displayId === bar.displayId)).toBe(true);
    const last = shown[shown.length - 1]!;
    expect(text(last)).toMatch(/^epoch 1: 100%\|█{20}\| 50\/50 \[00:00, [\d.]+it\/s, loss=0\.02\]$/);
    expect(String(last.bundle['text/html'])).toContain('width:100.0%');
    expect(String(last.bundle['text/html'])).toContain('#2ca02c');
    expect(Object.keys(last.bundle).sort()).toEqual(['text/html', 'text/plain']);
  });

  test('throttles redraws of fast loops', () => {
    const shown = installNotebook();
    const t0 = performance.now();
    for (const _ of gb.progress(100_000)) void _;
    const elapsed = performance.now() - t0;
    expect(shown.length).toBeLessThanOrEqual(3 + Math.ceil(elapsed / 200));
    expect(text(shown[shown.length - 1]!)).toMatch(/100%.* 100000\/100000/);
  });

  test('over n counts 0..n-1', () => {
    installNotebook();
    const bar = gb.progress(4);
    expect([...bar]).toEqual([0, 1, 2, 3]);
    expect(bar.total).toBe(4);
    expect(bar.text()).toMatch(/^100%\|/);
  });

  test('over an async iterable and a DataLoader both ways', async () => {
    installNotebook();
    async function* batches() {
      for (let i = 0; i < 3; i++) {
        await sleep(5);
        yield i;
      }
    }
    const bar = gb.progress(batches(), { total: 3 });
    const got: number[] = [];
    for await (const b of bar) got.push(b);
    expect(got).toEqual([0, 1, 2]);
    expect(bar.text()).toMatch(/100%.* 3\/3 \[00:00, [\d.]+it\/s\]/);

    const ds = new gb.data.TensorDataset(gb.arange(10), gb.arange(10));
    const loader = new gb.data.DataLoader(ds, { batchSize: 4 });
    const sync = gb.progress(loader);
    let rows = 0;
    for (const [x] of sync) rows += x!.shape[0]!;
    expect([rows, sync.n, sync.total]).toEqual([10, 3, 3]);
    const asyncBar = gb.progress(loader, { desc: 'async' });
    for await (const [x] of asyncBar) rows += x!.shape[0]!;
    expect([rows, asyncBar.n, asyncBar.state]).toEqual([20, 3, 'done']);
  });

  test('a loop that breaks early finishes the bar at the count reached, in red', () => {
    const shown = installNotebook();
    const bar = gb.progress(100, { desc: 'early' });
    for (const i of bar) if (i === 36) break;
    expect(bar.n).toBe(36);
    expect(bar.state).toBe('stopped');
    const last = shown[shown.length - 1]!;
    expect(text(last)).toMatch(/^early:  36%\|.*\| 36\/100 \[00:00, /);
    expect(String(last.bundle['text/html'])).toContain('#d62728');
  });

  test('an exception in the loop body finishes the bar too', () => {
    installNotebook();
    const bar = gb.progress(5);
    expect(() => {
      for (const i of bar) if (i === 2) throw new Error('boom');
    }).toThrow('boom');
    expect(bar.state).toBe('stopped');
    expect(bar.n).toBe(2);
  });

  test('without a front end or a TTY prints a plain line each tenth and one at the end', async () => {
    const out = await stdoutOf(false, () => {
      const bar = gb.progress(200, { desc: 'load' });
      for (const _ of bar) bar.postfix({ loss: 0.5 });
    });
    const lines = out.split('\n').filter(Boolean);
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(/^load:  10%\|██ {18}\| 20\/200 \[00:00<00:00, [\d.]+it\/s, loss=0\.5\]$/);
    expect(lines[9]).toMatch(/^load: 100%\|█{20}\| 200\/200 \[00:00, /);
    expect(out).not.toContain('\r');
  });

  test('on a TTY rewrites one line with \\r and a clear-line, ending it at the finish', async () => {
    const out = await stdoutOf(true, () => {
      for (const _ of gb.progress(3, { every: 0 })) void _;
    });
    const frames = out.split('\r\x1b[2K').filter(Boolean);
    expect(frames.map((f) => f.slice(0, 10))).toEqual([
      '  0%|     ',
      ' 33%|█████',
      ' 66%|█████',
      '100%|█████',
    ]);
    expect(out.endsWith(']\n')).toBe(true);
    expect(out.split('\n')).toHaveLength(2);
  });

  test('driven by hand with update() and close(); unknown totals show a count', () => {
    const shown = installNotebook();
    const bar = gb.progress(undefined, { total: 10, every: 0 });
    bar.update(4);
    bar.update(6);
    bar.close();
    expect(text(shown[shown.length - 1]!)).toMatch(/^100%\|.*\| 10\/10/);
    const open = gb.progress(new Set([1, 2]).values() as Iterable<number>);
    expect(open.total).toBeUndefined();
    for (const _ of open) void _;
    expect(open.text()).toMatch(/^2it \[00:00, [\d.]+it\/s\]$/);
  });

  test('formats intervals as tqdm does', () => {
    expect(formatInterval(0)).toBe('00:00');
    expect(formatInterval(75.9)).toBe('01:15');
    expect(formatInterval(3725)).toBe('1:02:05');
  });
});

describe('wrong arguments', () => {
  test('are TypeErrors naming the call, the argument and what was expected', () => {
    expect(() => gb.viz.live(undefined as never)).toThrow(/^gb\.viz\.live: the options must be an object/);
    expect(() => gb.viz.live({ metrics: [] })).toThrow(/^gb\.viz\.live: opts\.metrics must be a non-empty array of metric names/);
    expect(() => gb.viz.live({ metrics: ['a', 'a'] })).toThrow(/^gb\.viz\.live: opts\.metrics must be names without repeats/);
    expect(() => gb.viz.live({ metrics: ['a'], every: -1 })).toThrow(/^gb\.viz\.live: opts\.every must be a number of milliseconds/);
    const view = gb.viz.live({ metrics: ['loss'] });
    expect(() => view.update({ los: 1 })).toThrow(/^LiveView\.update: key 'los' must be 'step' or one of the metrics loss, got a string \("los"\)/);
    expect(() => view.update({ loss: 'x' as never })).toThrow(/^LiveView\.update: loss must be a number or a one-element Tensor/);
    expect(() => gb.progress(-1)).toThrow(/^gb\.progress: n must be an integer >= 0, got the number -1/);
    expect(() => gb.progress({} as never)).toThrow(/^gb\.progress: the source must be an iterable, an async iterable or a count n, got an object/);
    expect(() => gb.progress([1], { totl: 3 } as never)).toThrow(/^gb\.progress: option 'totl' must be one of desc, total, every/);
    async function* only() {
      yield 1;
    }
    expect(() => [...gb.progress(only())]).toThrow(/only async-iterable/);
  });
});
