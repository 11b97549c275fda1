/**
 * The native CPU backend against the reference backend (the answer key): every kernel and dtype,
 * on contiguous, transposed, broadcast (stride 0), offset and stepped views, size-0 and size-1
 * dims, and edge values (0, negative, +-inf, nan).
 */
import { describe, expect, it } from 'vitest';
import type { Arg, Backend } from '../runtime/backend.js';
import { cpuBackend } from '../runtime/backends/cpu/index.js';
import { referenceBackend } from '../runtime/backends/reference/index.js';
import { arrayFor, type DType, type TypedArray } from '../runtime/dtype.js';
import { ARG_REDUCE_OPS, BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS } from '../runtime/ops.js';
import { contiguousStrides as contiguous } from '../runtime/shape.js';
import { expectClose, LAYOUTS, rand, stridedViews, values, type Layout } from './support/backend-views.js';

const cpu = cpuBackend as Backend;
const ref = referenceBackend;
const DTYPES: DType[] = ['float32', 'float64', 'int32', 'bool'];

// A small deterministic generator, so a failure reproduces.
/** The same view of the same data on both backends. */
interface Pair {
  cpu: Arg;
  ref: Arg;
}

function view(shape: number[], dtype: DType, layout: Layout, data?: number[]): Pair {
  const [c, r] = stridedViews([cpu, ref], shape, dtype, layout, data);
  return { cpu: c, ref: r };
}

function outPair(shape: number[], dtype: DType, layout: Layout = 'contiguous'): Pair {
  return view(shape, dtype, layout === 'broadcast' ? 'contiguous' : layout, [0]);
}

function close(got: TypedArray, want: TypedArray, dtype: DType, what: string, rtol?: number, atol?: number): void {
  const r = rtol ?? (dtype === 'float32' ? 2e-6 : dtype === 'float64' ? 1e-12 : 0);
  const a = atol ?? (dtype === 'float32' ? 1e-6 : dtype === 'float64' ? 1e-12 : 0);
  expectClose(got, want, what, r, a);
}

function check(out: Pair, what: string, rtol?: number, atol?: number): void {
  close(cpu.read(out.cpu), ref.read(out.ref), out.cpu.dtype, what, rtol, atol);
}

const SHAPES: number[][] = [[], [1], [7], [3, 5], [2, 1, 4], [0, 3], [4, 3, 2, 3]];

describe.skipIf(cpuBackend === null)('native cpu backend (skipped: build/Release/gradbook_cpu.node not built; run npx node-gyp rebuild)', () => {
  it('reports its name and supports the four storage dtypes but not half types', () => {
    expect(cpu.name).toBe('cpu');
    expect(cpu.deviceType).toBe('cpu');
    for (const d of DTYPES) expect(cpu.supports('add', d)).toBe(true);
    expect(cpu.supports('add', 'float16')).toBe(false);
    expect(cpu.supports('matmul', 'bfloat16')).toBe(false);
  });

  it('round-trips writes and reads, with an offset', () => {
    for (const dtype of DTYPES) {
      const buf = cpu.alloc(dtype, 10);
      // a new buffer's contents are unspecified (Backend.alloc: it may be memory freed earlier)
      expect(cpu.read({ buf, dtype, shape: [10], strides: [1], offset: 0 }).length).toBe(10);
      const data = arrayFor(dtype, 4);
      data.set([1, 0, 1, 1]);
      cpu.write(buf, dtype, data, 5);
      const got = cpu.read({ buf, dtype, shape: [2, 2], strides: [1, 2], offset: 5 });
      expect(Array.from(got)).toEqual([1, 1, 0, 1]);
      cpu.free(buf);
    }
  });

  it('matches the reference on unary ops for every dtype and layout', () => {
    for (const op of UNARY_OPS)
      for (const dtype of DTYPES)
        for (const shape of SHAPES)
          for (const layout of LAYOUTS) {
            const a = view(shape, dtype, layout);
            const out = outPair(shape, dtype);
            cpu.unary(op, out.cpu, a.cpu);
            ref.unary(op, out.ref, a.ref);
            check(out, `${op} ${dtype} [${shape}] ${layout}`, dtype === 'float32' ? 4e-6 : undefined);
          }
  });

  it('matches the reference on long float32 rows of exp, log, tanh, sigmoid (vectorised path)', () => {
    const n = 100_003;
    const wide = Array.from({ length: n }, () => (rand() - 0.5) * 60);
    const tiny = Array.from({ length: n }, () => (rand() - 0.5) * 2e-3);
    const positive = Array.from({ length: n }, () => 10 ** ((rand() - 0.5) * 70));
    for (const [op, data] of [
      ['exp', wide],
      ['sigmoid', wide],
      ['tanh', wide],
      ['tanh', tiny],
      ['log', positive],
      ['log', tiny.map((x) => 1 + x)],
    ] as const) {
      const a = view([n], 'float32', 'contiguous', data);
      const out = outPair([n], 'float32');
      cpu.unary(op, out.cpu, a.cpu);
      ref.unary(op, out.ref, a.ref);
      check(out, `${op} float32 x${n}`, 4e-6, 1e-37);
    }
  });

  it('matches the reference on logicalNot into bool from every dtype', () => {
    for (const dtype of DTYPES) {
      const a = view([3, 4], dtype, 'transposed');
      const out = outPair([3, 4], 'bool');
      cpu.unary('logicalNot', out.cpu, a.cpu);
      ref.unary('logicalNot', out.ref, a.ref);
      check(out, `logicalNot ${dtype}->bool`);
    }
  });

  it('matches the reference on binary and compare ops with mixed layouts', () => {
    for (const dtype of DTYPES)
      for (const shape of SHAPES)
        for (const la of LAYOUTS)
          for (const lb of LAYOUTS) {
            const a = view(shape, dtype, la);
            const b = view(shape, dtype, lb);
            for (const op of BINARY_OPS) {
              const out = outPair(shape, dtype, la === 'transposed' ? 'transposed' : 'contiguous');
              cpu.binary(op, out.cpu, a.cpu, b.cpu);
              ref.binary(op, out.ref, a.ref, b.ref);
              check(out, `${op} ${dtype} [${shape}] ${la}/${lb}`);
            }
            for (const op of COMPARE_OPS) {
              const out = outPair(shape, 'bool');
              cpu.compare(op, out.cpu, a.cpu, b.cpu);
              ref.compare(op, out.ref, a.ref, b.ref);
              check(out, `${op} ${dtype} [${shape}] ${la}/${lb}`);
            }
          }
  });

  it('handles integer edge cases of binary ops exactly (wrap, division by zero)', () => {
    const a = view([6], 'int32', 'contiguous', [2147483647, -2147483648, 7, -7, 0, 65536]);
    const b = view([6], 'int32', 'contiguous', [1, -1, 0, 2, 0, 65536]);
    for (const op of BINARY_OPS) {
      const out = outPair([6], 'int32');
      cpu.binary(op, out.cpu, a.cpu, b.cpu);
      ref.binary(op, out.ref, a.ref, b.ref);
      check(out, `int32 ${op}`);
    }
  });

  it('computes a scalar-broadcast binary op in place', () => {
    const a = view([1000], 'float32', 'contiguous');
    const s = view([1], 'float32', 'contiguous', [3]);
    const bs = (p: Arg): Arg => ({ ...p, shape: [1000], strides: [0] });
    cpu.binary('mul', a.cpu, a.cpu, bs(s.cpu));
    ref.binary('mul', a.ref, a.ref, bs(s.ref));
    check(a, 'in-place mul by broadcast scalar');
  });

  it('matches the reference on where, copy with conversion and fill', () => {
    for (const dtype of DTYPES)
      for (const shape of SHAPES)
        for (const layout of LAYOUTS) {
          const c = view(shape, 'bool', layout === 'transposed' ? 'offset' : layout);
          const a = view(shape, dtype, layout);
          const b = view(shape, dtype, 'contiguous');
          const out = outPair(shape, dtype, 'offset');
          cpu.where(out.cpu, c.cpu, a.cpu, b.cpu);
          ref.where(out.ref, c.ref, a.ref, b.ref);
          check(out, `where ${dtype} [${shape}] ${layout}`);
          for (const to of DTYPES) {
            const o = outPair(shape, to, 'transposed');
            cpu.copy(o.cpu, a.cpu);
            ref.copy(o.ref, a.ref);
            check(o, `copy ${dtype}->${to} [${shape}] ${layout}`);
          }
          for (const v of [0, -3.7, 2.5, NaN, Infinity, 1e10]) {
            const o = outPair(shape, dtype, layout === 'transposed' ? 'transposed' : 'offset');
            cpu.fill(o.cpu, v);
            ref.fill(o.ref, v);
            check(o, `fill ${dtype} ${v}`);
          }
        }
  });

  it('copies between overlapping views of one buffer as if reading first', () => {
    const x = view([10], 'float32', 'contiguous');
    const shifted = (p: Arg, off: number): Arg => ({ ...p, shape: [8], strides: [1], offset: off });
    cpu.copy(shifted(x.cpu, 2), shifted(x.cpu, 0));
    ref.copy(shifted(x.ref, 2), shifted(x.ref, 0));
    check(x, 'overlapping copy');
  });

  it('matches the reference on logSoftmax and its backward along any dim, with edge values and over threads', () => {
    const shapes = [[], [7], [3, 5], [2, 1, 4], [0, 3], [4, 3, 2, 3], [128, 10], [3, 40]];
    for (const dtype of ['float32', 'float64'] as DType[])
      for (const shape of shapes)
        for (const layout of LAYOUTS)
          for (let dim = 0; dim < Math.max(shape.length, 1); dim++) {
            // edge values (inf, -inf, NaN) in some rows, plain ones in others
            const a = view(shape, dtype, layout);
            const plain = view(shape, dtype, layout, values(dtype, 97, false).map((v) => v / 7));
            for (const [x, what] of [
              [a, 'edges'],
              [plain, 'plain'],
            ] as const) {
              const out = outPair(shape, dtype);
              cpu.logSoftmax(out.cpu, x.cpu, dim);
              ref.logSoftmax(out.ref, x.ref, dim);
              check(out, `logSoftmax ${dtype} [${shape}] ${layout} dim ${dim} ${what}`, dtype === 'float32' ? 1e-5 : 1e-12, 1e-5);
            }
            const y = outPair(shape, dtype);
            ref.logSoftmax(y.ref, plain.ref, dim);
            cpu.logSoftmax(y.cpu, plain.cpu, dim);
            const g = view(shape, dtype, layout, values(dtype, 89, false));
            const out = outPair(shape, dtype, 'transposed');
            cpu.logSoftmaxBackward(out.cpu, g.cpu, y.cpu, dim);
            ref.logSoftmaxBackward(out.ref, g.ref, y.ref, dim);
            check(out, `logSoftmaxBackward ${dtype} [${shape}] ${layout} dim ${dim}`, dtype === 'float32' ? 1e-5 : 1e-12, 1e-5);
          }
    // rows split over threads: many short rows, and a few long strided ones
    for (const [shape, dim] of [
      [[5000, 10], 1],
      [[3, 40000], 1],
      [[20000, 3], 0],
    ] as [number[], number][]) {
      const x = view(shape, 'float32', 'contiguous', values('float32', 1013, false).map((v) => v / 50));
      const out = outPair(shape, 'float32');
      cpu.logSoftmax(out.cpu, x.cpu, dim);
      ref.logSoftmax(out.ref, x.ref, dim);
      check(out, `logSoftmax float32 [${shape}] dim ${dim}`, 1e-5, 1e-5);
    }
    expect(() => cpu.logSoftmax(outPair([2], 'int32').cpu, view([2], 'int32', 'contiguous').cpu, 0)).toThrow(/logSoftmax: needs a floating dtype/);
    expect(() => cpu.logSoftmax(outPair([2], 'float32').cpu, view([3], 'float32', 'contiguous').cpu, 0)).toThrow(/shape \[3\] does not match/);
    expect(() => cpu.logSoftmax(outPair([2], 'float32').cpu, view([2], 'float32', 'contiguous').cpu, 1)).toThrow(/bad dim 1/);
  });

  it('matches the reference on nllLoss and its backward, and names a target out of range', () => {
    for (const dtype of ['float32', 'float64'] as DType[])
      for (const [n, c] of [
        [5, 4],
        [128, 10],
        [1, 1],
        [0, 3],
      ])
        for (const layout of ['contiguous', 'transposed', 'offset'] as Layout[]) {
          const a = view([n, c], dtype, layout, values(dtype, 61, false));
          const t = view([n], 'int32', 'contiguous', Array.from({ length: n }, (_, i) => (i * 7) % c));
          for (const scale of [-1, -1 / Math.max(n, 1)]) {
            const out = outPair([], dtype);
            cpu.nllLoss(out.cpu, a.cpu, t.cpu, scale);
            ref.nllLoss(out.ref, a.ref, t.ref, scale);
            check(out, `nllLoss ${dtype} [${n}, ${c}] ${layout} scale ${scale}`, dtype === 'float32' ? 1e-6 : 1e-12, 1e-6);
            const g = view([], dtype, 'contiguous', [2.5]);
            const grad = outPair([n, c], dtype, layout === 'transposed' ? 'transposed' : 'contiguous');
            cpu.nllLossBackward(grad.cpu, g.cpu, t.cpu, scale);
            ref.nllLossBackward(grad.ref, g.ref, t.ref, scale);
            check(grad, `nllLossBackward ${dtype} [${n}, ${c}] ${layout} scale ${scale}`);
          }
        }
    const bad = view([2], 'int32', 'contiguous', [1, 4]);
    const x = view([2, 4], 'float32', 'contiguous');
    expect(() => cpu.nllLoss(outPair([], 'float32').cpu, x.cpu, bad.cpu, -1)).toThrow(/nllLoss: index 4 is out of bounds for dimension with size 4/);
    expect(() => cpu.nllLossBackward(outPair([2, 4], 'float32').cpu, view([], 'float32', 'contiguous').cpu, bad.cpu, -1)).toThrow(/index 4 is out of bounds/);
    expect(() => cpu.nllLoss(outPair([], 'float32').cpu, x.cpu, view([3], 'int32', 'contiguous', [0, 0, 0]).cpu, -1)).toThrow(/expects \[N, C\]/);
  });

  it('matches the reference on reductions over any set of axes', () => {
    const shapes = [[5], [3, 4], [2, 3, 4], [4, 1, 6], [0, 3], [3, 0]];
    for (const op of REDUCE_OPS)
      for (const dtype of DTYPES)
        for (const shape of shapes)
          for (const layout of LAYOUTS)
            for (let mask = 0; mask < 1 << shape.length; mask++) {
              const axes = shape.map((_, d) => d).filter((d) => mask & (1 << d));
              const a = view(shape, dtype, layout);
              const oshape = shape.map((s, d) => (axes.includes(d) ? 1 : s));
              const out = outPair(oshape, dtype);
              cpu.reduce(op, out.cpu, a.cpu, axes);
              ref.reduce(op, out.ref, a.ref, axes);
              check(out, `${op} ${dtype} [${shape}] ${layout} axes [${axes}]`, dtype === 'float32' ? 1e-5 : 1e-11, 1e-5);
            }
  });

  it('matches the reference on reductions large enough to use threads', () => {
    for (const dtype of ['float32', 'float64', 'int32'] as DType[])
      for (const [shape, axes] of [
        [[1_000_000], [0]],
        [[1000, 700], [0]],
        [[1000, 700], [1]],
        [[300, 40, 50], [0, 2]],
      ] as [number[], number[]][])
        for (const op of REDUCE_OPS) {
          const a = view(shape, dtype, 'contiguous', values(dtype, 4096, false));
          const out = outPair(shape.map((s, d) => (axes.includes(d) ? 1 : s)), dtype);
          cpu.reduce(op, out.cpu, a.cpu, axes);
          ref.reduce(op, out.ref, a.ref, axes);
          check(out, `${op} ${dtype} [${shape}] axes [${axes}]`, 1e-5, 1e-3);
        }
    const withNaN = view([500_000], 'float32', 'contiguous', [...values('float32', 1000, false), NaN]);
    for (const op of ['amax', 'amin'] as const) {
      const out = outPair([1], 'float32');
      cpu.reduce(op, out.cpu, withNaN.cpu, [0]);
      expect(Number.isNaN(cpu.read(out.cpu)[0]), `${op} propagates NaN`).toBe(true);
    }
  });

  it('runs every task of thousands of back-to-back threaded jobs exactly once (Note [Pool handshake])', () => {
    // int32 adds are exact: a task run twice or skipped shows as a wrong element
    const n = 300_000;
    const a = view([n], 'int32', 'contiguous', Array.from({ length: n }, (_, i) => i));
    const acc = view([n], 'int32', 'contiguous', new Array(n).fill(0));
    const sum = outPair([1], 'int32');
    for (let round = 0; round < 3000; round++) {
      cpu.binary('add', acc.cpu, acc.cpu, a.cpu);
      // alternate with a reduction, a job of another shape and task count
      if (round % 7 === 0) cpu.reduce('sum', sum.cpu, a.cpu, [0]);
    }
    const got = cpu.read(acc.cpu) as Int32Array;
    for (let i = 0; i < n; i += 997) expect(got[i], `element ${i}`).toBe((3000 * i) | 0);
    expect(got[n - 1]).toBe((3000 * (n - 1)) | 0);
    expect(cpu.read(sum.cpu)[0]).toBe(((n * (n - 1)) / 2) | 0);
  });

  it('matches the reference on argmax/argmin, NaN first, ties to the first index', () => {
    const shapes = [[6], [3, 4], [2, 3, 4], [5, 1], [0, 4]];
    for (const op of ARG_REDUCE_OPS)
      for (const dtype of DTYPES)
        for (const shape of shapes)
          for (const layout of LAYOUTS)
            for (let axis = 0; axis < shape.length; axis++) {
              const a = view(shape, dtype, layout, dtype === 'float32' || dtype === 'float64' ? values(dtype, 64) : [1, 3, 3, 0, 2, 3]);
              const out = outPair(shape.map((s, d) => (d === axis ? 1 : s)), 'int32');
              cpu.argReduce(op, out.cpu, a.cpu, axis);
              ref.argReduce(op, out.ref, a.ref, axis);
              check(out, `${op} ${dtype} [${shape}] ${layout} axis ${axis}`);
            }
  });

  describe('matmul', () => {
    function run(B: number, M: number, K: number, N: number, dtype: DType, ta: boolean, tb: boolean, bcast = false, tout = false): void {
      const mk = (r: number, c: number, t: boolean, broadcast: boolean): Pair => {
        const p = view(t ? [B, c, r] : [B, r, c], dtype, 'contiguous', values(dtype, 997, false));
        const swap = (x: Arg): Arg =>
          t ? { ...x, shape: [B, r, c], strides: [x.strides[0], x.strides[2], x.strides[1]] } : x;
        const bc = (x: Arg): Arg => (broadcast ? { ...x, strides: [0, x.strides[1], x.strides[2]] } : x);
        return { cpu: bc(swap(p.cpu)), ref: bc(swap(p.ref)) };
      };
      const a = mk(M, K, ta, false);
      const b = mk(K, N, tb, bcast);
      const out = outPair([B, M, N], dtype, tout ? 'transposed' : 'contiguous');
      cpu.matmul(out.cpu, a.cpu, b.cpu);
      ref.matmul(out.ref, a.ref, b.ref);
      // float32 accumulates in float32: error grows with K
      const tol = dtype === 'float32' ? 3e-6 * Math.sqrt(K + 1) : dtype === 'float64' ? 1e-12 : 0;
      check(out, `matmul ${dtype} ${B}x${M}x${K}x${N} ta=${ta} tb=${tb} bcast=${bcast}`, tol, tol * 10);
    }

    it('matches the reference for shapes off the tile sizes, all layouts and dtypes', () => {
      const shapes = [
        [1, 1, 1, 1],
        [1, 7, 13, 5],
        [2, 65, 129, 33],
        [1, 6, 256, 16],
        [1, 13, 300, 17],
        [3, 2, 0, 4],
        [1, 0, 3, 4],
      ];
      for (const dtype of DTYPES)
        for (const [B, M, K, N] of shapes)
          for (const ta of [false, true])
            for (const tb of [false, true]) {
              if ((dtype === 'int32' || dtype === 'bool') && M * K * N > 10000 && (ta || tb)) continue;
              run(B, M, K, N, dtype, ta, tb);
            }
    });

    it('handles a broadcast batch and a transposed output', () => {
      run(3, 37, 70, 45, 'float32', false, false, true);
      run(2, 20, 30, 40, 'float64', true, false, true, true);
      run(1, 50, 60, 70, 'float32', true, true, false, true);
    });

    it('matches the reference when large enough to split over threads', () => {
      run(1, 300, 257, 200, 'float32', false, false);
      run(1, 200, 300, 20, 'float32', true, false);
      run(1, 150, 200, 300, 'float64', false, true);
      run(4, 64, 80, 64, 'float32', false, false);
      // narrow column strips sharing each thread's packed A (Note [Column strips]): the MLP's
      // product with w.t(), and one with a partial panel of A and of B
      run(1, 128, 784, 256, 'float32', false, true);
      run(1, 70, 90, 250, 'float64', true, false);
      // row-major A read in place by the strips (Note [Unpacked A]): a partial last panel of A
      // (rows clamped), K past several KC blocks, a partial panel of B, and a transposed output
      run(1, 131, 600, 250, 'float64', false, false);
      run(1, 125, 530, 300, 'float32', false, true);
      run(1, 100, 300, 200, 'float32', false, false, false, true);
      // panels packed a block of k at a time across a wide A^T or row-major B (rows >= 1 KiB
      // apart), with partial last panels of each
      run(1, 301, 70, 270, 'float32', true, false);
      run(1, 263, 50, 300, 'float64', true, false);
    });

    it('propagates inf and nan like the reference', () => {
      const a = view([1, 2, 3], 'float32', 'contiguous', [1, Infinity, 0, NaN, 2, 3]);
      const b = view([1, 3, 2], 'float32', 'contiguous', [1, 2, 3, 4, 5, 6]);
      const out = outPair([1, 2, 2], 'float32');
      cpu.matmul(out.cpu, a.cpu, b.cpu);
      ref.matmul(out.ref, a.ref, b.ref);
      check(out, 'matmul inf/nan');
    });
  });

  describe('indexing', () => {
    const idx = (shape: number[], limit: number): Pair =>
      view(shape, 'int32', 'contiguous', Array.from({ length: 64 }, () => Math.floor(rand() * limit)));

    it('gather and scatterAdd match the reference along every dim', () => {
      for (const dtype of DTYPES)
        for (const layout of LAYOUTS)
          for (const dim of [0, 1, 2]) {
            const shape = [3, 4, 5];
            const a = view(shape, dtype, layout);
            const ishape = [2, 3, 4];
            ishape[dim] = 6;
            const index = idx(ishape, shape[dim]);
            const out = outPair(ishape, dtype);
            cpu.gather(out.cpu, a.cpu, dim, index.cpu);
            ref.gather(out.ref, a.ref, dim, index.ref);
            check(out, `gather ${dtype} ${layout} dim ${dim}`);

            const src = view([3, 4, 6], dtype, layout);
            const sindex = idx([2, 3, dim === 2 ? 6 : 4], shape[dim]);
            const target = view(shape, dtype, 'contiguous');
            cpu.scatterAdd(target.cpu, dim, sindex.cpu, src.cpu);
            ref.scatterAdd(target.ref, dim, sindex.ref, src.ref);
            check(target, `scatterAdd ${dtype} ${layout} dim ${dim}`);
          }
    });

    it('indexSelect and indexAdd match the reference along every dim', () => {
      for (const dtype of DTYPES)
        for (const layout of LAYOUTS)
          for (const dim of [0, 1, 2]) {
            const shape = [3, 4, 5];
            const a = view(shape, dtype, layout);
            const index = idx([7], shape[dim]);
            const oshape = shape.slice();
            oshape[dim] = 7;
            const out = outPair(oshape, dtype, 'transposed');
            cpu.indexSelect(out.cpu, a.cpu, dim, index.cpu);
            ref.indexSelect(out.ref, a.ref, dim, index.ref);
            check(out, `indexSelect ${dtype} ${layout} dim ${dim}`);

            const src = view(oshape, dtype, layout);
            const target = view(shape, dtype, 'offset');
            cpu.indexAdd(target.cpu, dim, index.cpu, src.cpu);
            ref.indexAdd(target.ref, dim, index.ref, src.ref);
            check(target, `indexAdd ${dtype} ${layout} dim ${dim}`);
          }
    });

    it('rejects out-of-range index values with an Error and writes nothing', () => {
      const a = view([3, 4], 'float32', 'contiguous');
      const bad = view([2, 4], 'int32', 'contiguous', [0, 1, 2, 3, 0, 1, 2, 1]);
      const out = outPair([2, 4], 'float32');
      expect(() => cpu.gather(out.cpu, a.cpu, 0, bad.cpu)).toThrow(/gather: index 3 is out of bounds/);
      const neg = view([2], 'int32', 'contiguous', [0, -1]);
      const before = cpu.read(a.cpu);
      const src = view([2, 4], 'float32', 'contiguous');
      expect(() => cpu.indexAdd(a.cpu, 0, neg.cpu, src.cpu)).toThrow(/indexAdd: index -1/);
      expect(cpu.read(a.cpu)).toEqual(before);
      expect(() => cpu.scatterAdd(a.cpu, 0, bad.cpu, src.cpu)).toThrow(/scatterAdd/);
      expect(() => cpu.indexSelect(out.cpu, a.cpu, 0, neg.cpu)).toThrow(/indexSelect/);
    });
  });

  describe('safety', () => {
    it('throws on any use of a freed buffer, and free twice is harmless', () => {
      const buf = cpu.alloc('float32', 4);
      const x: Arg = { buf, dtype: 'float32', shape: [4], strides: [1], offset: 0 };
      cpu.free(buf);
      cpu.free(buf);
      expect(() => cpu.read(x)).toThrow(/freed/);
      expect(() => cpu.write(buf, 'float32', new Float32Array(4))).toThrow(/freed/);
      expect(() => cpu.unary('neg', x, x)).toThrow(/freed/);
      const y = view([4], 'float32', 'contiguous');
      expect(() => cpu.binary('add', y.cpu, x, y.cpu)).toThrow(/freed/);
      expect(() => cpu.fill(x, 1)).toThrow(/freed/);
    });

    it('hands freed memory out again under a new handle while the old handle stays dead', () => {
      const x = cpu.alloc('float32', 1000);
      const xa: Arg = { buf: x, dtype: 'float32', shape: [1000], strides: [1], offset: 0 };
      cpu.fill(xa, 7);
      cpu.free(x);
      const y = cpu.alloc('float32', 1000);
      const ya: Arg = { buf: y, dtype: 'float32', shape: [1000], strides: [1], offset: 0 };
      cpu.fill(ya, 3);
      expect(Array.from(cpu.read(ya)).every((v) => v === 3)).toBe(true);
      expect(() => cpu.read(xa)).toThrow(/freed/);
      expect(() => cpu.fill(xa, 1)).toThrow(/freed/);
      // freeing the dead handle again must not put the memory y uses back in the pool
      cpu.free(x);
      const z = cpu.alloc('float32', 1000);
      cpu.fill({ buf: z, dtype: 'float32', shape: [1000], strides: [1], offset: 0 }, 5);
      expect(Array.from(cpu.read(ya)).every((v) => v === 3)).toBe(true);
      cpu.free(y);
      cpu.free(z);
    });

    it('throws on views that reach outside their buffer instead of touching memory', () => {
      const buf = cpu.alloc('float32', 6);
      const ok: Arg = { buf, dtype: 'float32', shape: [2, 3], strides: [3, 1], offset: 0 };
      const cases: Partial<Arg>[] = [
        { offset: 1 },
        { strides: [4, 1] },
        { strides: [-3, 1] },
        { dtype: 'float64' },
        { shape: [2, 3.5] },
        { offset: -1 },
      ];
      for (const c of cases) {
        const bad = { ...ok, ...c } as Arg;
        expect(() => cpu.unary('neg', ok, bad), JSON.stringify(c)).toThrow(Error);
        expect(() => cpu.read(bad), JSON.stringify(c)).toThrow(Error);
      }
      // a negative stride that stays inside is fine
      const rev: Arg = { ...ok, shape: [6], strides: [-1], offset: 5 };
      cpu.write(buf, 'float32', new Float32Array([1, 2, 3, 4, 5, 6]));
      expect(Array.from(cpu.read(rev))).toEqual([6, 5, 4, 3, 2, 1]);
      expect(() => cpu.write(buf, 'float32', new Float32Array(4), 3)).toThrow(RangeError);
      expect(() => cpu.matmul(ok, ok, ok)).toThrow(/3-D/);
      const foreign = ref.alloc('float32', 6);
      expect(() => cpu.unary('neg', ok, { ...ok, buf: foreign })).toThrow(/cpu backend/);
    });

    it('answers random malformed calls of every kernel with Errors only, never a crash', () => {
      const allDTypes: DType[] = ['float32', 'float64', 'int32', 'bool', 'float16', 'bfloat16'];
      const bufs = allDTypes.slice(0, 4).map((d) => cpu.alloc(d, 24));
      const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
      const randArg = (): Arg => {
        const nd = Math.floor(rand() * 5);
        const shape = Array.from({ length: nd }, () => Math.floor(rand() * 6));
        const strides = Array.from({ length: nd }, () => Math.floor(rand() * 13) - 6);
        return { buf: pick(bufs), dtype: pick(allDTypes), shape, strides, offset: Math.floor(rand() * 34) - 2 };
      };
      const calls: ((x: Arg, y: Arg, z: Arg, w: Arg, n: number) => void)[] = [
        (x, y) => cpu.unary(pick([...UNARY_OPS, 'bogus', 'constructor']) as 'neg', x, y),
        (x, y, z) => cpu.binary(pick(BINARY_OPS), x, y, z),
        (x, y, z) => cpu.compare(pick(COMPARE_OPS), x, y, z),
        (x, y, z, w) => cpu.where(x, y, z, w),
        (x, y) => cpu.copy(x, y),
        (x, _y, _z, _w, n) => cpu.fill(x, n),
        (x, y, _z, _w, n) => cpu.reduce(pick(REDUCE_OPS), x, y, [n, Math.floor(rand() * 4)].slice(0, Math.floor(rand() * 3))),
        (x, y, _z, _w, n) => cpu.argReduce(pick(ARG_REDUCE_OPS), x, y, n),
        (x, y, z) => cpu.matmul(x, y, z),
        (x, y, z, _w, n) => cpu.gather(x, y, n, z),
        (x, y, z, _w, n) => cpu.scatterAdd(x, n, y, z),
        (x, y, z, _w, n) => cpu.indexSelect(x, y, n, z),
        (x, y, z, _w, n) => cpu.indexAdd(x, n, y, z),
        (x, y, _z, _w, n) => cpu.logSoftmax(x, y, n),
        (x, y, z, _w, n) => cpu.logSoftmaxBackward(x, y, z, n),
        (x, y, z, _w, n) => cpu.nllLoss(x, y, z, n),
        (x, y, z, _w, n) => cpu.nllLossBackward(x, y, z, n),
        (x) => cpu.read(x),
      ];
      let errors = 0;
      for (let i = 0; i < 20_000; i++) {
        const args = [randArg(), randArg(), randArg(), randArg()];
        const n = Math.floor(rand() * 6) - 1;
        try {
          calls[i % calls.length](args[0], args[1], args[2], args[3], n);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          errors++;
        }
      }
      expect(errors).toBeGreaterThan(1000);
    });

    it('does nothing on 0-size tensors', () => {
      const buf = cpu.alloc('float32', 0);
      const e: Arg = { buf, dtype: 'float32', shape: [0, 5], strides: [5, 1], offset: 0 };
      cpu.unary('exp', e, e);
      cpu.binary('add', e, e, e);
      cpu.fill(e, 3);
      cpu.copy(e, e);
      expect(cpu.read(e).length).toBe(0);
      const m: Arg = { buf, dtype: 'float32', shape: [1, 0, 5], strides: [0, 5, 1], offset: 0 };
      const k: Arg = { buf, dtype: 'float32', shape: [1, 5, 0], strides: [0, 0, 1], offset: 0 };
      const o: Arg = { buf, dtype: 'float32', shape: [1, 0, 0], strides: [0, 0, 1], offset: 0 };
      cpu.matmul(o, m, k);
    });

    it('lets the garbage collector reclaim buffers dropped without free, even in a synchronous loop', () => {
      // 4 GB in 100 steps that never yield to the event loop (so no deferred finalizer could run)
      const before = process.memoryUsage().rss;
      let peak = before;
      for (let i = 0; i < 100; i++) {
        const buf = cpu.alloc('float32', 10_000_000);
        cpu.fill({ buf, dtype: 'float32', shape: [10_000_000], strides: [1], offset: 0 }, i);
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      expect(peak - before).toBeLessThan(1_500_000_000);
    });
  });
});

// CI has a C++ compiler: there the native backend must have been built by npm ci, or every
// other test would quietly run on the reference backend instead.
describe.runIf(process.env.CI === 'true')('in CI', () => {
  it('npm ci built the native CPU backend', () => {
    expect(cpuBackend, 'build/Release/gradbook_cpu.node is missing or failed to load').not.toBeNull();
  });
});

describe.skipIf(cpuBackend === null)('small buffers share a slab', () => {
  it('each keeps its own values, and freeing one leaves its neighbours intact', () => {
    const be = cpuBackend!;
    const bufs = Array.from({ length: 600 }, (_, i) => {
      const b = be.alloc('float32', 4);
      be.write(b, 'float32', new Float32Array([i, i + 0.5, -i, 1]));
      return b;
    });
    const view = (b: (typeof bufs)[number]) => ({ buf: b, dtype: 'float32' as const, shape: [4], strides: [1], offset: 0 });
    be.free(bufs[10]);
    expect(() => be.read(view(bufs[10]))).toThrow(/freed/);
    for (const i of [0, 9, 11, 255, 256, 599]) expect(Array.from(be.read(view(bufs[i])))).toEqual([i, i + 0.5, -i, 1]);
    // a fresh small buffer starts zeroed
    expect(Array.from(be.read(view(be.alloc('float32', 4))))).toEqual([0, 0, 0, 0]);
  });
});
