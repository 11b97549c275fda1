/**
 * Inputs for backend kernel tests: the same strided view (contiguous, transposed, broadcast with
 * stride 0, or offset and stepped) of the same values on several backends, and a comparison of
 * the results with tolerances that treat NaN as equal to NaN.
 */
import { expect } from 'vitest';
import type { Arg, Backend } from '../../runtime/backend.js';
import { arrayFor, type DType, type TypedArray } from '../../runtime/dtype.js';
import { contiguousStrides as contiguous, numelOf as numel } from '../../runtime/shape.js';

let seed = 12345;
export function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}

/** Random values for dtype; with edges, about 15% are 0, ±1, ±inf, NaN and the like. */
export function values(dtype: DType, n: number, edges = true): number[] {
  const special = [0, -1, 1, Infinity, -Infinity, NaN, -0.5, 2.5];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (dtype === 'bool') out.push(rand() < 0.5 ? 0 : 1);
    else if (dtype === 'int32') out.push(Math.floor(rand() * 21) - 10);
    else if (edges && rand() < 0.15) out.push(special[Math.floor(rand() * special.length)]);
    else out.push((rand() - 0.5) * 8);
  }
  return out;
}

export type Layout = 'contiguous' | 'transposed' | 'broadcast' | 'offset';
export const LAYOUTS: Layout[] = ['contiguous', 'transposed', 'broadcast', 'offset'];

/** One view of the same host data on each backend, in the order given. */
export function stridedViews(
  backends: readonly Backend[],
  shape: number[],
  dtype: DType,
  layout: Layout,
  data?: number[],
  edges = true,
): Arg[] {
  const nd = shape.length;
  let strides: number[];
  let offset = 0;
  let storage: number;
  if (layout === 'transposed' && nd >= 2) {
    // storage in reversed dim order, viewed back
    const base = shape.slice().reverse();
    strides = contiguous(base).reverse();
    storage = numel(base);
  } else if (layout === 'broadcast' && nd >= 1) {
    // the first dim of size > 1 (or dim 0) is broadcast from one row
    const d0 = Math.max(0, shape.findIndex((s) => s > 1));
    const inner = shape.slice();
    inner[d0] = 1;
    strides = contiguous(inner);
    strides[d0] = 0;
    storage = numel(inner);
  } else if (layout === 'offset' && nd >= 1) {
    // every other element of a padded buffer, starting 3 in
    strides = contiguous(shape).map((s) => s * 2);
    offset = 3;
    storage = 3 + 2 * Math.max(numel(shape), 1) + 1;
  } else {
    strides = contiguous(shape);
    storage = Math.max(numel(shape), 1);
  }
  const host = arrayFor(dtype, storage);
  const vals = data ?? values(dtype, storage, edges);
  for (let i = 0; i < storage; i++) host[i] = vals[i % vals.length];
  return backends.map((b) => {
    const buf = b.alloc(dtype, storage);
    b.write(buf, dtype, host);
    return { buf, dtype, shape, strides, offset };
  });
}

/** Elementwise agreement within atol + rtol * |want|; NaN must meet NaN. */
export function expectClose(got: TypedArray, want: TypedArray, what: string, rtol: number, atol: number): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const x = got[i];
    const y = want[i];
    if (Number.isNaN(y)) {
      if (!Number.isNaN(x)) expect.fail(`${what}: [${i}] got ${x}, want NaN`);
    } else if (x !== y && !(Math.abs(x - y) <= atol + rtol * Math.abs(y))) {
      expect.fail(`${what}: [${i}] got ${x}, want ${y}`);
    }
  }
}
