// Terminal pictures of tensors (gb.viz.term / termText): sparklines, shaded heatmaps, the marks
// for NaN and infinities, and the errors wrong arguments get.
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as gb from '../runtime/index.js';
import { formatNumber } from '../runtime/viz/common.js';
import { termText } from '../runtime/viz/term.js';

const BARS = '▁▂▃▄▅▆▇█';
const SHADES = ' ░▒▓█';
const lines = (s: string) => s.split('\n');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('gb.viz.term', () => {
  it('draws a 1-D tensor as a sparkline from its least to its greatest value', () => {
    const out = lines(termText(gb.linspace(0, 1, 8)));
    expect(out[0]).toBe('Tensor [8] float32 cpu');
    expect(out[1]).toBe(BARS);
    expect(out[2]).toBe(`one bar per value; ▁ 0 … █ 1`);
    expect(out[3]).toMatch(/^min 0 {2}max 1 {2}mean 0\.5 {2}std /);
  });

  it('takes plain arrays of numbers', () => {
    const out = lines(termText([3, 1, 2]));
    expect(out[0]).toBe('Tensor [3] float64 cpu');
    expect(out[1]).toBe(`${BARS[7]}${BARS[0]}${BARS[Math.round(3.5)]}`);
  });

  it('fits a long tensor into the width with block means', () => {
    gb.manualSeed(2);
    const t = gb.randn([1000]);
    const out = lines(termText(t, { width: 40 }));
    expect([...out[1]!].length).toBe(40);
    expect([...out[1]!].every((c) => BARS.includes(c))).toBe(true);
    expect(out[2]).toContain('each bar: the mean of 25 values');
    const values = Array.from(t.data());
    const min = Math.min(...values);
    const max = Math.max(...values);
    expect(out[3]).toContain(`min ${formatNumber(min)}  max ${formatNumber(max)}`);
  });

  it('marks NaN and infinities apart and explains the marks', () => {
    const out = lines(termText([1, NaN, Infinity, -Infinity, 2]));
    expect(out[1]).toBe(`${BARS[0]}×▲▼${BARS[7]}`);
    expect(out[4]).toContain('× NaN (1)  ▲ +inf (1)  ▼ −inf (1)');
    expect(out[3]).toBe('min 1  max 2  mean 1.5  std 0.7071');
  });

  it('shades a small matrix with two characters per value and a legend', () => {
    const out = lines(termText(gb.arange(0, 12).reshape(3, 4).float()));
    const expected = [0, 1, 2].map((i) =>
      [0, 1, 2, 3].map((j) => SHADES[Math.round(((i * 4 + j) / 11) * 4)]!.repeat(2)).join(''),
    );
    expect(out.slice(1, 4)).toEqual(expected);
    expect(out[4]).toBe("one character per value; ' ' ░ ▒ ▓ █ from 0 to 11");
  });

  it('downsamples a big matrix to the box it is given, keeping one NaN visible', () => {
    const values = new Float32Array(1000 * 1000);
    values[123_456] = NaN;
    values[7] = 1;
    const out = lines(termText(gb.fromTypedArray(values, [1000, 1000]), { width: 60, height: 20 }));
    const rows = out.slice(1, out.findIndex((l) => l.startsWith('each character')));
    expect(rows.length).toBeLessThanOrEqual(20);
    expect(rows.length).toBeGreaterThan(5);
    for (const r of rows) expect([...r].length).toBeLessThanOrEqual(60);
    expect(rows.join('').split('×').length - 1).toBe(1);
    expect(out.join('\n')).toContain('× NaN (1)');
  });

  it('draws the first slices of an N-D tensor and counts the rest', () => {
    const out = termText(gb.randn([5, 6, 7]));
    expect(out).toContain('[0, :, :]');
    expect(out).toContain('[2, :, :]');
    expect(out).not.toContain('[3, :, :]');
    expect(out).toContain('… 2 more slices');
  });

  it('says what a 0-d or empty tensor is', () => {
    expect(termText(gb.tensor(2.5))).toBe('Tensor [] float32 cpu: 2.5');
    expect(termText(gb.tensor(true))).toBe('Tensor [] bool cpu: True');
    expect(termText(gb.zeros([0, 4]))).toBe('Tensor [0, 4] float32 cpu: empty, nothing to draw');
    expect(termText(gb.full([4], NaN))).toContain('no finite values');
  });

  it('prints what termText returns', () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    gb.viz.term([1, 2, 3]);
    expect(written.join('')).toBe(termText([1, 2, 3]) + '\n');
  });

  it('rejects wrong arguments with an error naming the call, the argument and what it expected', () => {
    const cases: [unknown, unknown, RegExp][] = [
      ['abc', undefined, /gb\.viz\.term: the first argument must be a Tensor or an array of numbers, got a string \("abc"\)/],
      [null, undefined, /first argument .* got null/],
      [[1, 'x'], undefined, /element 1 of the array must be a number, got a string/],
      [[[1, 2]], undefined, /element 0 of the array must be a number, got an array of length 2/],
      [[1, 2], 5, /the options must be an object \{width\?, height\?\}, got the number 5/],
      [[1, 2], { width: 3 }, /width must be an integer from 16 to 1000, got the number 3/],
      [[1, 2], { height: 2.5 }, /height must be an integer from 2 to 500, got the number 2.5/],
      [[1, 2], { colour: true }, /option 'colour' must be one of width, height/],
    ];
    for (const [t, opts, message] of cases) {
      const call = () => termText(t as number[], opts as { width?: number });
      expect(call).toThrow(gb.viz.VizArgumentError);
      expect(call).toThrow(message);
    }
  });
});
