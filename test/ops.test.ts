/**
 * One harness over the op table: forward on every backend against the reference backend, float32
 * against float64, and float64 finite-difference gradient checks (first and second order).
 */
import { describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import type { Tensor, DType } from '../runtime/index.js';
import { Generator } from '../runtime/random.js';
import { cpuBackend } from '../runtime/backends/cpu/index.js';
import { INT_OPS, OPS, type OpEntry, type Sample } from './support/op-table.js';
import { buildInput, hostValues, inputDtype } from './support/make-input.js';

/** Every backend this machine has runs the same table; capability (availability) decides. */
type BackendName = 'reference' | 'native' | 'cuda';
const backends: BackendName[] = ['reference'];
if (cpuBackend) backends.push('native');

let device = 'cpu';
function on<T>(b: BackendName, fn: () => T): T {
  const prev = device;
  device = b === 'cuda' ? 'cuda' : 'cpu';
  try {
    return gb.withFlags({ cpuBackend: b === 'reference' ? 'reference' : 'native' }, fn);
  } finally {
    device = prev;
  }
}

function run(entry: OpEntry, sample: Sample, vals: Float64Array[], dtype: DType, requiresGrad = false) {
  const inputs = sample.inputs.map((spec, i) => {
    const t = buildInput(spec, vals[i], inputDtype(spec, dtype), device);
    if (requiresGrad && t.dtype === dtype) t.requiresGrad_(true);
    return t;
  });
  const out = entry.fn(...inputs);
  return { inputs, outs: Array.isArray(out) ? out : [out] };
}

function valuesOf(sample: Sample, seed: number): Float64Array[] {
  const g = new Generator(seed);
  return sample.inputs.map((s) => hostValues(s, g));
}

function expectClose(actual: Tensor, expected: Tensor, rtol: number, atol: number, what: string) {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  const a = actual.data();
  const e = expected.data();
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = e[i];
    if (Number.isNaN(y) || Number.isNaN(x)) {
      expect(Number.isNaN(x) && Number.isNaN(y), `${what}: element ${i} is ${x}, expected ${y}`).toBe(true);
    } else if (!Number.isFinite(y) || !Number.isFinite(x)) {
      expect(x, `${what}: element ${i}`).toBe(y);
    } else if (Math.abs(x - y) > atol + rtol * Math.abs(y)) {
      expect.fail(`${what}: element ${i} is ${x}, expected ${y} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** sum_k <out_k, v_k> with fixed random v: a scalar whose gradient checks the whole Jacobian. */
function project(outs: Tensor[], seed: number): Tensor {
  const g = new Generator(seed);
  let total: Tensor | null = null;
  for (const o of outs) {
    if (o.dtype !== 'float64') continue;
    const v = new Float64Array(o.numel());
    for (let i = 0; i < v.length; i++) v[i] = g.random() * 2 - 1;
    const term = o.mul(gb.fromTypedArray(v, o.shape, { dtype: 'float64', device: o.device })).sum();
    total = total ? total.add(term) : term;
  }
  if (!total) throw new Error('no float64 output to project');
  return total;
}

const EPS = 1e-6;

function gradcheck(entry: OpEntry, sample: Sample, seed: number) {
  const vals = valuesOf(sample, seed);
  const { inputs, outs } = run(entry, sample, vals, 'float64', true);
  const diffIdx = inputs.map((t, i) => (t.requiresGrad ? i : -1)).filter((i) => i >= 0);
  const L = project(outs, seed + 1);
  const analytic = gb.autograd.grad(L, diffIdx.map((i) => inputs[i]), { allowUnused: true });
  diffIdx.forEach((inputIdx, k) => {
    const numeric = new Float64Array(vals[inputIdx].length);
    for (let j = 0; j < numeric.length; j++) {
      const at = (delta: number) => {
        const v = vals.map((a) => a.slice());
        v[inputIdx][j] += delta;
        if (sample.inputs[inputIdx].layout === 'expanded') return NaN;
        return gb.noGrad(() => project(run(entry, sample, v, 'float64').outs, seed + 1).item());
      };
      numeric[j] = (at(EPS) - at(-EPS)) / (2 * EPS);
    }
    if (sample.inputs[inputIdx].layout === 'expanded') return; // one element stands for many
    const a = analytic[k] ? analytic[k]!.data() : new Float64Array(numeric.length);
    for (let j = 0; j < numeric.length; j++) {
      if (Math.abs(a[j] - numeric[j]) > 1e-5 + 1e-4 * Math.abs(numeric[j])) {
        expect.fail(`${entry.name}: d/d input ${inputIdx} [${j}]: analytic ${a[j]}, numeric ${numeric[j]}`);
      }
    }
  });
}

function gradgradcheck(entry: OpEntry, sample: Sample, seed: number) {
  const vals = valuesOf(sample, seed);
  const firstGrads = (v: Float64Array[], create: boolean) => {
    const { inputs, outs } = run(entry, sample, v, 'float64', true);
    const diff = inputs.filter((t) => t.requiresGrad);
    const grads = gb.autograd.grad(project(outs, seed + 1), diff, { createGraph: create, allowUnused: true });
    return { diff, grads };
  };
  const { diff, grads } = firstGrads(vals, true);
  const M = (gs: (Tensor | null)[]) => project(gs.filter((x): x is Tensor => x !== null && x.requiresGrad !== undefined), seed + 2);
  const live = grads.filter((g): g is Tensor => g !== null);
  if (!live.some((g) => g.requiresGrad)) return; // linear op: second derivative is zero
  const m = M(grads);
  const analytic = gb.autograd.grad(m, diff, { allowUnused: true });
  const diffIdx = sample.inputs.map((_, i) => i).filter((i) => inputDtype(sample.inputs[i], 'float64') === 'float64');
  diffIdx.forEach((inputIdx, k) => {
    if (sample.inputs[inputIdx].layout === 'expanded') return;
    const a = analytic[k] ? analytic[k]!.data() : new Float64Array(vals[inputIdx].length);
    for (let j = 0; j < vals[inputIdx].length; j++) {
      const at = (delta: number) => {
        const v = vals.map((x) => x.slice());
        v[inputIdx][j] += delta;
        return M(firstGrads(v, false).grads).item();
      };
      const numeric = (at(EPS) - at(-EPS)) / (2 * EPS);
      if (Math.abs(a[j] - numeric) > 1e-4 + 1e-3 * Math.abs(numeric)) {
        expect.fail(`${entry.name}: second derivative wrt input ${inputIdx} [${j}]: analytic ${a[j]}, numeric ${numeric}`);
      }
    }
  });
}

/** Registers the table's forward and gradient checks of every op on the given backends. */
function opTable(names: readonly BackendName[]): void {
  for (const entry of OPS) {
    describe(entry.name, () => {
      entry.samples.forEach((sample, si) => {
        const label = sample.inputs.map((s) => `[${s.shape.join(',')}]${s.layout && s.layout !== 'contiguous' ? s.layout : ''}${s.domain === 'edge' ? ' edge' : ''}`).join(' ');
        for (const b of names) registerChecks(entry, sample, si, label, b);
      });
    });
  }
}

function registerChecks(entry: OpEntry, sample: Sample, si: number, label: string, b: BackendName): void {
  test(`forward on ${b} matches the reference: ${label}`, () => {
    const vals = valuesOf(sample, 100 + si);
    for (const dtype of ['float32', 'float64'] as const) {
      const ref = on('reference', () => run(entry, sample, vals, dtype).outs);
      const got = on(b, () => run(entry, sample, vals, dtype).outs);
      expect(got.length).toBe(ref.length);
      const rtol = dtype === 'float64' ? 1e-12 : entry.rtol ?? 2e-6;
      got.forEach((o, k) => expectClose(o, ref[k], rtol, dtype === 'float64' ? 1e-12 : 1e-6, `${entry.name} output ${k} ${dtype}`));
    }
    // float32 agrees with float64 to float32 precision
    const f32 = on(b, () => run(entry, sample, vals, 'float32').outs);
    const f64 = on(b, () => run(entry, sample, vals, 'float64').outs);
    f32.forEach((o, k) => {
      const [a, e] = o.dtype === f64[k].dtype ? [o, f64[k]] : [o.double(), f64[k].double()];
      expectClose(a, e, 1e-4, 1e-5, `${entry.name} float32 vs float64`);
    });
  });
  if (entry.grad && !sample.noGrad) {
    test(`float64 gradient check on ${b}: ${label}`, () => on(b, () => gradcheck(entry, sample, 200 + si)));
    if (entry.gradgrad) {
      test(`float64 second derivative check on ${b}: ${label}`, () => on(b, () => gradgradcheck(entry, sample, 300 + si)));
    }
  }
}

const cudaHere = gb.cuda.isAvailable();
opTable(backends);
// the same checks on the GPU, skipped (each with its reason) where there is none
describe.skipIf(!cudaHere)(`op table on cuda${cudaHere ? '' : ` (skipped: ${gb.cuda.unavailableReason()})`}`, () => {
  opTable(['cuda']);
});

describe('integer ops', () => {
  const g = new Generator(77);
  const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(g.random() * (hi - lo)));
  const a = ints(60, -9, 10);
  const b = ints(60, -3, 12);
  for (const { name, fn } of INT_OPS) {
    for (const be of cudaHere ? [...backends, 'cuda' as const] : backends) {
      test(`${name} on int32 matches the reference on ${be}`, () => {
        const run1 = (x: BackendName) =>
          on(x, () => fn(gb.tensor(a, { dtype: 'int32', device }).reshape(6, 10), gb.tensor(b, { dtype: 'int32', device }).reshape(6, 10)));
        expectClose(run1(be), run1('reference'), 0, 0, `${name} int32`);
      });
    }
  }
  test('integer pow is exact, wraps on overflow and gives 0 for negative exponents', () => {
    const r = gb.tensor([2, 3, -2, 1, -1, -1, 5, 7], { dtype: 'int32' }).pow(gb.tensor([10, 19, 3, -5, -3, -4, -1, 20], { dtype: 'int32' }));
    expect(r.toArray()).toEqual([1024, 1162261467, -8, 1, -1, 1, 0, Number(BigInt.asIntN(32, 7n ** 20n))]);
  });
});
