/**
 * Helpers for the nn/optim tests: a float64 finite-difference gradient check, a runner that asks
 * real PyTorch (Debian's /usr/bin/python3 with torch) for outputs and gradients, and comparisons.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import * as gb from '../../runtime/index.js';
import type { Tensor } from '../../runtime/index.js';
import { Generator } from '../../runtime/random.js';

export const PYTHON = '/usr/bin/python3';

/** Whether torch can be imported (checked once). */
export const hasTorch: boolean = (() => {
  if (!existsSync(PYTHON)) return false;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0;
})();

export function randomValues(n: number, seed: number, lo = -2, hi = 2): Float64Array {
  const g = new Generator(seed);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * g.random();
  return v;
}

export function t64(shape: number[], seed: number, lo = -2, hi = 2): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return gb.fromTypedArray(randomValues(n, seed, lo, hi), shape, { dtype: 'float64' });
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) - rtol * Math.abs(expected[i]);
    if (Number.isNaN(actual[i]) !== Number.isNaN(expected[i])) expect.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    if (err > worst) {
      worst = err;
      at = i;
    }
  }
  if (worst > atol) expect.fail(`${what}: element ${at} is ${actual[at]}, expected ${expected[at]} (rtol ${rtol}, atol ${atol})`);
}

/**
 * Checks d/dx of sum(f(x) * v) for fixed random v against central differences, for every input
 * that requires grad (float64 leaves).
 */
export function gradcheck(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: { eps?: number; rtol?: number; atol?: number; seed?: number } = {}): void {
  const eps = opts.eps ?? 1e-6;
  const rtol = opts.rtol ?? 1e-4;
  const atol = opts.atol ?? 1e-5;
  const out0 = gb.noGrad(() => f(...inputs));
  const v = gb.fromTypedArray(randomValues(out0.numel(), opts.seed ?? 7, -1, 1), out0.shape, { dtype: out0.dtype });
  const project = (xs: Tensor[]) => f(...xs).mul(v).sum();
  const diff = inputs.map((x, i) => (x.requiresGrad ? i : -1)).filter((i) => i >= 0);
  const analytic = gb.autograd.grad(project(inputs), diff.map((i) => inputs[i]), { allowUnused: true });
  diff.forEach((idx, k) => {
    const base = inputs[idx].detach().data() as Float64Array;
    const numeric = new Float64Array(base.length);
    for (let j = 0; j < base.length; j++) {
      const at = (delta: number) => {
        const vals = base.slice();
        vals[j] += delta;
        const xs = inputs.slice();
        xs[idx] = gb.fromTypedArray(vals, inputs[idx].shape, { dtype: 'float64' });
        return gb.noGrad(() => project(xs).item());
      };
      numeric[j] = (at(eps) - at(-eps)) / (2 * eps);
    }
    const a = analytic[k] ? (analytic[k]!.data() as Float64Array) : new Float64Array(base.length);
    expectClose(a, numeric, rtol, atol, `${name}: gradient of input ${idx}`);
  });
}

export interface TorchInput {
  data: number[];
  shape: number[];
  dtype: string;
  grad?: boolean;
}
export interface TorchCase {
  code: string;
  inputs?: TorchInput[];
  cotangent?: number[];
}
export interface TorchResult {
  out: number[];
  shape: number[];
  grads: (number[] | null)[];
  extra: number[][];
  error?: string;
}

export function toTorchInput(t: Tensor, grad = t.requiresGrad): TorchInput {
  return { data: Array.from(t.detach().data(), Number), shape: [...t.shape], dtype: t.dtype, grad };
}

/** Runs the cases in one Python process (importing torch once). */
export function torchRun(cases: TorchCase[]): TorchResult[] {
  const script = fileURLToPath(new URL('../nn_torch_ref.py', import.meta.url));
  const r = spawnSync(PYTHON, [script], { input: JSON.stringify({ cases }), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`nn_torch_ref.py failed (${r.status}): ${r.stderr}`);
  const results = JSON.parse(r.stdout).results as TorchResult[];
  results.forEach((res, i) => {
    if (res.error) throw new Error(`torch case ${i} (${cases[i].code}) failed: ${res.error}`);
  });
  return results;
}

/**
 * Compares our f(inputs) and its input gradients against the torch code on the same inputs
 * (x0, x1, ... in the code), with the same random cotangent.
 */
export interface ParityCase {
  name: string;
  f: (...xs: Tensor[]) => Tensor;
  inputs: Tensor[];
  code: string;
  rtol?: number;
  atol?: number;
}

export function checkAgainstTorch(cases: ParityCase[]): void {
  const prepared = cases.map((c) => {
    const out = c.f(...c.inputs);
    const v = randomValues(out.numel(), 11, -1, 1);
    const diff = c.inputs.filter((x) => x.requiresGrad);
    let grads: (Tensor | null)[] = [];
    if (out.requiresGrad && diff.length) {
      grads = gb.autograd.grad(out.mul(gb.fromTypedArray(v, out.shape, { dtype: out.dtype })).sum(), diff, { allowUnused: true });
    }
    return { out, v, grads };
  });
  const results = torchRun(
    cases.map((c, i) => ({ code: c.code, inputs: c.inputs.map((x) => toTorchInput(x)), cotangent: Array.from(prepared[i].v) })),
  );
  cases.forEach((c, i) => {
    const { out, grads } = prepared[i];
    const r = results[i];
    const rtol = c.rtol ?? 1e-10;
    const atol = c.atol ?? 1e-10;
    expect([...out.shape], `${c.name}: shape`).toEqual(r.shape);
    expectClose(Array.from(out.data(), Number), r.out, rtol, atol, `${c.name}: forward`);
    let k = 0;
    c.inputs.forEach((x, j) => {
      if (!x.requiresGrad) return;
      const g = grads[k++];
      const tg = r.grads[j];
      if (tg === null) {
        expect(g === null || (g.data() as Float64Array).every((e) => e === 0), `${c.name}: torch has no gradient for input ${j}`).toBe(true);
      } else {
        expect(g, `${c.name}: missing gradient for input ${j}`).not.toBeNull();
        expectClose(Array.from(g!.data(), Number), tg, rtol, atol, `${c.name}: gradient of input ${j}`);
      }
    });
  });
}
