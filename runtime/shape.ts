/** Shapes, strides and broadcasting, with the error messages PyTorch users expect. */

export type Shape = readonly number[];

export function numelOf(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= Math.max(shape[i], 1);
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Wraps a possibly negative dim into [0, ndim), as PyTorch's maybe_wrap_dim. */
export function normDim(op: string, dim: number, ndim: number): number {
  if (typeof dim !== 'number') {
    throw new TypeError(`${op}: dim must be an integer, got ${dim === undefined ? 'undefined' : JSON.stringify(dim)}`);
  }
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new RangeError(
      `${op}: Dimension out of range (expected to be in range of [${lo}, ${hi}], but got ${dim})`,
    );
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

export function normDims(op: string, dims: number | readonly number[] | undefined | null, ndim: number): number[] {
  if (dims === undefined || dims === null) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof dims !== 'number' && !Array.isArray(dims)) {
    throw new TypeError(`${op}: dim must be an integer or an array of integers, got ${JSON.stringify(dims)}`);
  }
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => normDim(op, d, ndim));
  const seen = new Set<number>();
  for (const d of out) {
    if (seen.has(d)) throw new RangeError(`${op}: dim ${d} appears multiple times in the list of dims`);
    seen.add(d);
  }
  return out.sort((a, b) => a - b);
}

export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `${op}: The size of tensor a (${da}) must match the size of tensor b (${db}) at non-singleton dimension ${i}` +
          ` (shapes ${shapeStr(a)} and ${shapeStr(b)})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Checks a user-given shape: non-negative integers, at most one -1 when inferring is allowed. */
export function checkShape(op: string, shape: readonly number[], allowInfer = false): void {
  let infer = 0;
  for (const s of shape) {
    if (allowInfer && s === -1) {
      infer++;
      continue;
    }
    if (!Number.isInteger(s) || s < 0) {
      throw new RangeError(`${op}: invalid shape ${shapeStr(shape)}: sizes must be non-negative integers`);
    }
  }
  if (infer > 1) throw new RangeError(`${op}: only one dimension can be inferred in shape ${shapeStr(shape)}`);
}

/** Resolves a -1 in a requested shape against an element count. */
export function inferShape(op: string, shape: readonly number[], numel: number, from: Shape): number[] {
  checkShape(op, shape, true);
  const known = shape.reduce((acc, s) => (s === -1 ? acc : acc * s), 1);
  const idx = shape.indexOf(-1);
  if (idx >= 0) {
    if (known === 0 || numel % known !== 0) {
      throw new RangeError(`${op}: shape ${shapeStr(shape)} is invalid for input of size ${numel} (shape ${shapeStr(from)})`);
    }
    const out = shape.slice();
    out[idx] = numel / known;
    return out;
  }
  if (known !== numel) {
    throw new RangeError(`${op}: shape ${shapeStr(shape)} is invalid for input of size ${numel} (shape ${shapeStr(from)})`);
  }
  return shape.slice();
}

/**
 * Strides for viewing (shape, strides) as newShape without a copy, or null when impossible.
 * Follows PyTorch's computeStride: dims are merged into chunks that are contiguous in memory.
 */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | null {
  const numel = numelOf(shape);
  if (numel === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length).fill(0);
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1] ?? 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) {
    // leading size-1 dims
    while (viewD >= 0) {
      if (newShape[viewD] !== 1) return null;
      newStrides[viewD] = 1;
      viewD--;
    }
  }
  return newStrides;
}

/** Checks that an argument is an integer, naming the op and the argument. */
export function checkInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${op}: ${name} must be an integer, got ${v === undefined ? 'undefined' : JSON.stringify(v)}`);
  }
  return v;
}
