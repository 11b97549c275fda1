/**
 * The CUDA backend's op table against the reference backend (the answer key), for any Backend:
 * used by test/cuda-backend.test.ts (the emulated addon, the GPU) and test/cuda-emulated.test.ts
 * (the real kernels on the CPU-emulated GPU). Every kernel and dtype, on contiguous, transposed,
 * broadcast (stride 0), offset and stepped views, size-0 and size-1 dims, and edge values.
 */
import { describe, expect, it } from 'vitest';
import type { Arg, Backend } from '../runtime/backend.js';
import { referenceBackend } from '../runtime/backends/reference/index.js';
import { arrayFor, type DType, type TypedArray } from '../runtime/dtype.js';
import { withFlags } from '../runtime/flags.js';
import { ARG_REDUCE_OPS, BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS } from '../runtime/ops.js';
import { contiguousStrides as contiguous, numelOf as numel } from '../runtime/shape.js';
import { expectClose, LAYOUTS, stridedViews, values, type Layout } from './support/backend-views.js';

const ref = referenceBackend;

// ---- inputs ----
const SHAPES: number[][] = [[], [1], [7], [3, 5], [2, 1, 4], [0, 3], [4, 3, 2, 3], [2, 3, 1, 2, 2, 1, 3, 2, 2]];

interface Pair {
  dev: Arg;
  ref: Arg;
}

export interface SuiteOptions {
  dtypes: DType[];
  f32tol: number;
  big: boolean;
  skip?: boolean;
  /** fewer reduction shapes and layouts (the emulated GPU is slow) */
  light?: boolean;
}

export function suite(title: string, dev: () => Backend, opts: SuiteOptions) {
  const DTYPES = opts.dtypes;
  function view(shape: number[], dtype: DType, layout: Layout, data?: number[], edges = true): Pair {
    const [d, r] = stridedViews([dev(), ref], shape, dtype, layout, data, edges);
    return { dev: d, ref: r };
  }
  const outPair = (shape: number[], dtype: DType, layout: Layout = 'contiguous') => view(shape, dtype, layout === 'broadcast' ? 'contiguous' : layout, [0]);

  function close(got: TypedArray, want: TypedArray, dtype: DType, what: string, rtol?: number, atol?: number): void {
    const r = rtol ?? (dtype === 'float32' ? opts.f32tol : dtype === 'float64' ? 1e-12 : 0);
    const a = atol ?? (dtype === 'float32' ? opts.f32tol / 10 : dtype === 'float64' ? 1e-12 : 0);
    expectClose(got, want, what, r, a);
  }
  function check(out: Pair, what: string, rtol?: number, atol?: number): void {
    close(dev().read(out.dev), ref.read(out.ref), out.dev.dtype, what, rtol, atol);
  }
  // Frees every buffer a test made, so the device (or the mock's memory) does not fill up.
  const made: Pair[] = [];
  const track = (p: Pair) => (made.push(p), p);
  function release() {
    for (const p of made.splice(0)) dev().free(p.dev.buf);
  }

  describe.skipIf(opts.skip === true)(title, () => {
    it('round-trips writes and reads, with an offset and a strided read', () => {
      const b = dev();
      for (const dtype of DTYPES) {
        const buf = b.alloc(dtype, 10);
        const data = arrayFor(dtype, 10);
        data.set([1, 0, 1, 1, 0, 1, 1, 0, 0, 1]);
        b.write(buf, dtype, data);
        const part = arrayFor(dtype, 4);
        part.set([1, 0, 1, 1]);
        b.write(buf, dtype, part, 5);
        expect(Array.from(b.read({ buf, dtype, shape: [2, 2], strides: [1, 2], offset: 5 }))).toEqual([1, 1, 0, 1]);
        expect(Array.from(b.read({ buf, dtype, shape: [10], strides: [1], offset: 0 }))).toEqual([1, 0, 1, 1, 0, 1, 0, 1, 1, 1]);
        b.free(buf);
      }
    });

    it('rejects views that reach outside their buffer and freed buffers', () => {
      const b = dev();
      const buf = b.alloc('float32', 6);
      const out = b.alloc('float32', 6);
      const ok: Arg = { buf, dtype: 'float32', shape: [2, 3], strides: [3, 1], offset: 0 };
      expect(() => b.unary('neg', { ...ok, buf: out }, { ...ok, offset: 1 })).toThrow(/outside/);
      expect(() => b.unary('neg', { ...ok, buf: out }, { ...ok, strides: [4, 1] })).toThrow(/outside/);
      expect(() => b.read({ ...ok, strides: [-3, 1] })).toThrow(/outside/);
      expect(() => b.write(buf, 'float32', new Float32Array(7))).toThrow(/overruns/);
      b.free(buf);
      expect(() => b.read(ok)).toThrow(/freed/);
      b.free(out);
    });

    it('matches the reference on unary ops for every dtype and layout', () => {
      for (const op of UNARY_OPS)
        for (const dtype of DTYPES)
          for (const shape of SHAPES)
            for (const layout of LAYOUTS) {
              const a = track(view(shape, dtype, layout));
              const outDtype = op === 'logicalNot' ? 'bool' : dtype;
              const out = track(outPair(shape, outDtype));
              dev().unary(op, out.dev, a.dev);
              ref.unary(op, out.ref, a.ref);
              check(out, `${op} ${dtype} [${shape}] ${layout}`);
            }
      release();
    });

    it('matches the reference on binary and compare ops, broadcast and strided', () => {
      for (const op of [...BINARY_OPS, ...COMPARE_OPS])
        for (const dtype of DTYPES)
          for (const shape of SHAPES)
            for (const [la, lb] of [
              ['contiguous', 'broadcast'],
              ['transposed', 'offset'],
              ['broadcast', 'contiguous'],
            ] as [Layout, Layout][]) {
              const a = track(view(shape, dtype, la));
              const b = track(view(shape, dtype, lb));
              const isCmp = (COMPARE_OPS as readonly string[]).includes(op);
              const out = track(outPair(shape, isCmp ? 'bool' : dtype, la === 'transposed' ? 'transposed' : 'contiguous'));
              if (isCmp) {
                dev().compare(op as (typeof COMPARE_OPS)[number], out.dev, a.dev, b.dev);
                ref.compare(op as (typeof COMPARE_OPS)[number], out.ref, a.ref, b.ref);
              } else {
                dev().binary(op as (typeof BINARY_OPS)[number], out.dev, a.dev, b.dev);
                ref.binary(op as (typeof BINARY_OPS)[number], out.ref, a.ref, b.ref);
              }
              check(out, `${op} ${dtype} [${shape}] ${la}/${lb}`);
            }
      release();
    });

    it('matches the reference on in-place binary ops (output aliasing an input)', () => {
      for (const dtype of DTYPES) {
        const a = track(view([3, 4], dtype, 'contiguous'));
        const b = track(view([3, 4], dtype, 'broadcast'));
        dev().binary('add', a.dev, a.dev, b.dev);
        ref.binary('add', a.ref, a.ref, b.ref);
        check(a, `in-place add ${dtype}`);
      }
      release();
    });

    it('matches the reference on add and sub with alpha, in place and not', () => {
      for (const dtype of DTYPES) {
        if (dtype === 'bool') continue;
        const alpha = dtype === 'int32' ? -3 : -0.01;
        for (const op of ['add', 'sub'] as const) {
          const a = track(view([3, 4], dtype, 'transposed'));
          const b = track(view([3, 4], dtype, 'broadcast'));
          const out = track(outPair([3, 4], dtype, 'contiguous'));
          dev().binary(op, out.dev, a.dev, b.dev, alpha);
          ref.binary(op, out.ref, a.ref, b.ref, alpha);
          check(out, `${op} alpha ${dtype}`);
          const c = track(view([3, 4], dtype, 'contiguous'));
          const d = track(view([3, 4], dtype, 'offset'));
          dev().binary(op, c.dev, c.dev, d.dev, alpha);
          ref.binary(op, c.ref, c.ref, d.ref, alpha);
          check(c, `in-place ${op} alpha ${dtype}`);
        }
      }
      release();
    });

    it('matches the reference on where, fill and copy with every dtype conversion', () => {
      for (const dtype of DTYPES)
        for (const shape of SHAPES) {
          const c = track(view(shape, 'bool', 'offset'));
          const a = track(view(shape, dtype, 'transposed'));
          const b = track(view(shape, dtype, 'broadcast'));
          const out = track(outPair(shape, dtype));
          dev().where(out.dev, c.dev, a.dev, b.dev);
          ref.where(out.ref, c.ref, a.ref, b.ref);
          check(out, `where ${dtype} [${shape}]`);
          for (const v of [0, -2.5, 7, NaN, Infinity]) {
            const f = track(outPair(shape, dtype, 'offset'));
            dev().fill(f.dev, v);
            ref.fill(f.ref, v);
            check(f, `fill ${dtype} ${v} [${shape}]`);
          }
          for (const to of DTYPES)
            for (const layout of LAYOUTS) {
              const src = track(view(shape, dtype, layout));
              const o = track(outPair(shape, to, layout === 'transposed' ? 'offset' : 'contiguous'));
              dev().copy(o.dev, src.dev);
              ref.copy(o.ref, src.ref);
              check(o, `copy ${dtype} -> ${to} [${shape}] ${layout}`);
            }
        }
      // overlapping views of one buffer: a shifted copy reads everything first
      const p = track(view([10], 'float32', 'contiguous', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
      const shift = (x: Arg): [Arg, Arg] => [{ ...x, shape: [9], offset: 1 }, { ...x, shape: [9] }];
      dev().copy(...shift(p.dev));
      ref.copy(...shift(p.ref));
      check(p, 'overlapping copy');
      release();
    });

    it('matches the reference on reductions over every axis set', () => {
      const shapes = opts.light ? [[7], [3, 5], [2, 1, 4], [0, 3], [3, 0], [33, 40], [3, 70, 2]] : [[7], [3, 5], [2, 1, 4], [4, 3, 2, 3], [0, 3], [3, 0], [33, 40], [5, 70, 3]];
      for (const op of REDUCE_OPS)
        for (const dtype of DTYPES)
          for (const shape of shapes)
            for (const layout of opts.light ? (['transposed', 'offset'] as Layout[]) : LAYOUTS) {
              const nd = shape.length;
              const axesSets: number[][] = [[]];
              for (let m = 1; m < 1 << nd; m++) axesSets.push([...Array(nd).keys()].filter((d) => m & (1 << d)));
              const a = track(view(shape, dtype, layout, undefined, op !== 'sum'));
              for (const axes of axesSets) {
                const kept = shape.map((s, d) => (axes.includes(d) ? 1 : s));
                const out = track(outPair(kept, dtype));
                dev().reduce(op, out.dev, a.dev, axes);
                ref.reduce(op, out.ref, a.ref, axes);
                check(out, `${op} ${dtype} [${shape}] ${layout} axes [${axes}]`, dtype === 'float32' ? opts.f32tol : undefined, dtype === 'float32' ? 1e-4 : undefined);
              }
            }
      release();
    });

    it('matches the reference on logSoftmax and its backward (from its own kernels)', () => {
      const shapes = opts.light ? [[7], [3, 5], [0, 3], [4, 3, 2]] : [[], [7], [3, 5], [2, 1, 4], [0, 3], [4, 3, 2, 3], [128, 10]];
      for (const dtype of DTYPES.filter((d) => d === 'float32' || d === 'float64'))
        for (const shape of shapes)
          for (const layout of opts.light ? (['transposed', 'broadcast'] as Layout[]) : LAYOUTS)
            for (let dim = 0; dim < Math.max(shape.length, 1); dim++) {
              const x = track(view(shape, dtype, layout, values(dtype, 97, false).map((v) => v / 7)));
              const y = track(outPair(shape, dtype));
              dev().logSoftmax(y.dev, x.dev, dim);
              ref.logSoftmax(y.ref, x.ref, dim);
              check(y, `logSoftmax ${dtype} [${shape}] ${layout} dim ${dim}`, dtype === 'float32' ? Math.max(opts.f32tol, 1e-5) : 1e-12, 1e-5);
              const g = track(view(shape, dtype, layout, values(dtype, 89, false)));
              const out = track(outPair(shape, dtype));
              dev().logSoftmaxBackward(out.dev, g.dev, y.dev, dim);
              ref.logSoftmaxBackward(out.ref, g.ref, y.ref, dim);
              check(out, `logSoftmaxBackward ${dtype} [${shape}] ${layout} dim ${dim}`, dtype === 'float32' ? Math.max(opts.f32tol, 1e-5) : 1e-12, 1e-5);
            }
      const edge = track(view([2, 3], 'float32', 'contiguous', [1, Infinity, 2, -Infinity, -Infinity, -Infinity]));
      const o = track(outPair([2, 3], 'float32'));
      dev().logSoftmax(o.dev, edge.dev, 1);
      expect(Array.from(dev().read(o.dev)).every(Number.isNaN), 'a row with +inf, and a row of -inf, give NaN').toBe(true);
      release();
    });

    it('matches the reference on nllLoss and its backward (from its own kernels)', () => {
      for (const dtype of DTYPES.filter((d) => d === 'float32' || d === 'float64'))
        for (const [n, c] of [
          [5, 4],
          [128, 10],
          [0, 3],
        ]) {
          const a = track(view([n, c], dtype, 'transposed', values(dtype, 61, false)));
          const t = track(view([n], 'int32', 'contiguous', Array.from({ length: n }, (_, i) => (i * 7) % c)));
          const out = track(outPair([], dtype));
          dev().nllLoss(out.dev, a.dev, t.dev, -1 / Math.max(n, 1));
          ref.nllLoss(out.ref, a.ref, t.ref, -1 / Math.max(n, 1));
          check(out, `nllLoss ${dtype} [${n}, ${c}]`, dtype === 'float32' ? Math.max(opts.f32tol, 1e-6) : 1e-12, 1e-6);
          const g = track(view([], dtype, 'contiguous', [2.5]));
          const grad = track(outPair([n, c], dtype));
          dev().nllLossBackward(grad.dev, g.dev, t.dev, -0.5);
          ref.nllLossBackward(grad.ref, g.ref, t.ref, -0.5);
          check(grad, `nllLossBackward ${dtype} [${n}, ${c}]`);
        }
      release();
    });

    it('matches the reference on argmax/argmin (first extremum, NaN wins)', () => {
      const shapes = opts.light ? [[7], [3, 5], [2, 1, 4], [3, 0], [50, 3]] : [[7], [3, 5], [2, 1, 4], [4, 3, 2, 3], [3, 0], [50, 3]];
      for (const op of ARG_REDUCE_OPS)
        for (const dtype of DTYPES)
          for (const shape of shapes)
            for (const layout of opts.light ? (['transposed', 'broadcast'] as Layout[]) : LAYOUTS)
              for (let axis = 0; axis < shape.length; axis++) {
                const a = track(view(shape, dtype, layout));
                const kept = shape.map((s, d) => (d === axis ? 1 : s));
                const out = track(outPair(kept, 'int32'));
                dev().argReduce(op, out.dev, a.dev, axis);
                ref.argReduce(op, out.ref, a.ref, axis);
                check(out, `${op} ${dtype} [${shape}] ${layout} axis ${axis}`);
              }
      const t = track(view([6], 'float32', 'contiguous', [1, 3, NaN, 3, NaN, 0]));
      const o = track(outPair([1], 'int32'));
      dev().argReduce('argmax', o.dev, t.dev, 0);
      expect(Array.from(dev().read(o.dev))).toEqual([2]);
      release();
    });

    it('matches the reference on batched matmul with transposed and broadcast operands', () => {
      const cases: [number, number, number, number][] = [
        [1, 1, 1, 1],
        [1, 3, 4, 5],
        [2, 7, 3, 6],
        [3, 65, 17, 70],
        [1, 1, 9, 1],
        [2, 5, 1, 4],
      ];
      const layoutsOf = (B: number, R: number, C: number) => {
        const st = contiguous([B, R, C]);
        return [
          { name: 'row', shape: [B, R, C], strides: st, storage: B * R * C },
          { name: 'col', shape: [B, R, C], strides: [R * C, 1, R], storage: B * R * C },
          { name: 'bcast', shape: [B, R, C], strides: [0, C, 1], storage: R * C },
          { name: 'padded', shape: [B, R, C], strides: [R * (C + 3), C + 3, 1], storage: B * R * (C + 3) },
          { name: 'strided', shape: [B, R, C], strides: [R * C * 2, C * 2, 2], storage: B * R * C * 2 },
        ];
      };
      for (const dtype of DTYPES)
        for (const [B, M, K, N] of cases)
          for (const la of layoutsOf(B, M, K))
            for (const lb of layoutsOf(B, K, N)) {
              const mk = (l: ReturnType<typeof layoutsOf>[number]): Pair => {
                const p = view([l.storage], dtype, 'contiguous', dtype === 'float32' || dtype === 'float64' ? values(dtype, l.storage, false) : undefined);
                return track({ dev: { ...p.dev, shape: l.shape, strides: l.strides }, ref: { ...p.ref, shape: l.shape, strides: l.strides } });
              };
              const a = mk(la);
              const b = mk(lb);
              const out = track(outPair([B, M, N], dtype));
              dev().matmul(out.dev, a.dev, b.dev);
              ref.matmul(out.ref, a.ref, b.ref);
              check(out, `matmul ${dtype} ${B}x${M}x${K}x${N} ${la.name}/${lb.name}`, dtype === 'float32' ? 1e-5 : undefined, dtype === 'float32' ? 1e-4 : undefined);
            }
      // TF32 (opt-in): looser, but close
      const a = track(view([1, 40, 50], 'float32', 'contiguous', values('float32', 2000, false)));
      const b = track(view([1, 50, 30], 'float32', 'contiguous', values('float32', 1500, false)));
      const out = track(outPair([1, 40, 30], 'float32'));
      withFlags({ allowTF32: true }, () => dev().matmul(out.dev, a.dev, b.dev));
      ref.matmul(out.ref, a.ref, b.ref);
      check(out, 'matmul tf32', 1e-2, 5e-2);
      release();
    });

    it('matches the reference on gather, scatterAdd, indexSelect and indexAdd', () => {
      for (const dtype of DTYPES) {
        const shape = [4, 5, 3];
        for (let dim = 0; dim < 3; dim++) {
          const a = track(view(shape, dtype, 'transposed'));
          const ishape = shape.map((s, d) => (d === dim ? 6 : Math.max(1, s - 1)));
          const idx = track(view(ishape, 'int32', 'contiguous', values('int32', numel(ishape)).map((v) => Math.abs(v) % shape[dim])));
          const g = track(outPair(ishape, dtype));
          dev().gather(g.dev, a.dev, dim, idx.dev);
          ref.gather(g.ref, a.ref, dim, idx.ref);
          check(g, `gather ${dtype} dim ${dim}`);

          const src = track(view(ishape, dtype, 'offset', dtype === 'float32' || dtype === 'float64' ? values(dtype, 200, false) : undefined));
          const base = track(view(shape, dtype, 'contiguous', dtype === 'float32' || dtype === 'float64' ? values(dtype, 100, false) : undefined));
          dev().scatterAdd(base.dev, dim, idx.dev, src.dev);
          ref.scatterAdd(base.ref, dim, idx.ref, src.ref);
          check(base, `scatterAdd ${dtype} dim ${dim}`, dtype === 'float32' ? 1e-5 : undefined, dtype === 'float32' ? 1e-5 : undefined);

          const vec = track(view([7], 'int32', 'offset', [0, 2, 1, shape[dim] - 1, 0, 0, 1].map((v) => v % shape[dim])));
          const selShape = shape.map((s, d) => (d === dim ? 7 : s));
          const sel = track(outPair(selShape, dtype));
          dev().indexSelect(sel.dev, a.dev, dim, vec.dev);
          ref.indexSelect(sel.ref, a.ref, dim, vec.ref);
          check(sel, `indexSelect ${dtype} dim ${dim}`);

          const src2 = track(view(selShape, dtype, 'transposed', dtype === 'float32' || dtype === 'float64' ? values(dtype, 300, false) : undefined));
          const base2 = track(view(shape, dtype, 'offset', dtype === 'float32' || dtype === 'float64' ? values(dtype, 100, false) : undefined));
          dev().indexAdd(base2.dev, dim, vec.dev, src2.dev);
          ref.indexAdd(base2.ref, dim, vec.ref, src2.ref);
          check(base2, `indexAdd ${dtype} dim ${dim}`, dtype === 'float32' ? 1e-5 : undefined, dtype === 'float32' ? 1e-5 : undefined);
        }
      }
      release();
    });

    it('reports an index out of range at the next synchronisation, naming the op', () => {
      const a = track(view([4], 'float32', 'contiguous'));
      const idx = track(view([2], 'int32', 'contiguous', [1, 9]));
      const out = track(outPair([2], 'float32'));
      dev().gather(out.dev, a.dev, 0, idx.dev);
      expect(() => dev().sync()).toThrow(/gather: index out of range/);
      dev().sync(); // cleared
      release();
    });

    if (opts.big)
      it('handles large reductions (split into partials) and large elementwise ops', () => {
        const n = 1 << 20;
        const data = values('float32', n, false);
        const a = track(view([n], 'float32', 'contiguous', data));
        for (const op of REDUCE_OPS) {
          const out = track(outPair([1], 'float32'));
          dev().reduce(op, out.dev, a.dev, [0]);
          ref.reduce(op, out.ref, a.ref, [0]);
          check(out, `${op} of 2^20`, 1e-5, 1e-3);
        }
        const m = track(view([1024, 1024], 'float32', 'transposed', data));
        const col = track(outPair([1, 1024], 'float32'));
        dev().reduce('sum', col.dev, m.dev, [0]);
        ref.reduce('sum', col.ref, m.ref, [0]);
        check(col, 'column sums 1024x1024', 1e-5, 1e-4);
        const row = track(outPair([1024, 1], 'float32'));
        dev().reduce('sum', row.dev, m.dev, [1]);
        ref.reduce('sum', row.ref, m.ref, [1]);
        check(row, 'row sums 1024x1024', 1e-5, 1e-4);
        // few outputs over many rows: the rows are split among blocks (partials, then combined)
        const tall = track(view([4096, 64], 'float32', 'contiguous', data));
        for (const op of REDUCE_OPS) {
          const cs = track(outPair([1, 64], 'float32'));
          dev().reduce(op, cs.dev, tall.dev, [0]);
          ref.reduce(op, cs.ref, tall.ref, [0]);
          check(cs, `${op} over 4096 rows`, 1e-5, 1e-4);
        }
        const e = track(outPair([1024, 1024], 'float32'));
        dev().binary('mul', e.dev, m.dev, m.dev);
        ref.binary('mul', e.ref, m.ref, m.ref);
        check(e, 'mul 2^20');
        release();
      });
  });
}

