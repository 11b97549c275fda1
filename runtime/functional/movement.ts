/** Shape and view ops. Views share storage; reshape copies only when no view exists. */
import type { Tensor } from '../tensor.js';
import * as P from '../prims.js';
import { checkInt, contiguousStrides, inferShape, normDim, normDims, numelOf, sameShape, shapeStr, viewStrides } from '../shape.js';
import { renamed } from './naming.js';

export function checkTensor(op: string, t: unknown, name = 'input'): asserts t is Tensor {
  if (t === null || typeof t !== 'object' || !('storage' in t)) {
    throw new TypeError(`${op}: expected ${name} to be a Tensor, got ${t === null ? 'null' : typeof t}`);
  }
}

/** Accepts reshape(2, 3), reshape([2, 3]) and the like. */
export function flatShapeArgs(args: readonly (number | readonly number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as number[])];
  for (const a of args) {
    if (typeof a !== 'number') throw new TypeError(`expected sizes as numbers or one array of numbers, got ${JSON.stringify(args)}`);
  }
  return args as number[];
}

export function view(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape('view', shape, x.numel(), x.shape);
  const strides = viewStrides(x.shape, x.strides, target);
  if (strides === null) {
    throw new Error(
      `view: view size is not compatible with input tensor's size and stride (at least one dimension spans across ` +
        `two contiguous subspaces); input shape ${shapeStr(x.shape)} strides ${shapeStr(x.strides)}, requested ` +
        `${shapeStr(target)}. Use .reshape(...) instead.`,
    );
  }
  return P.view(x, target, strides);
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape('reshape', shape, x.numel(), x.shape);
  if (sameShape(target, x.shape)) return x;
  const strides = viewStrides(x.shape, x.strides, target);
  if (strides !== null) return P.view(x, target, strides);
  return renamed(P.view(P.copy(x), target, contiguousStrides(target)), 'UnsafeViewBackward0', x);
}

export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim('flatten', start, x.ndim);
  const e = normDim('flatten', end, x.ndim);
  if (s > e) throw new RangeError(`flatten: start_dim (${start}) cannot come after end_dim (${end})`);
  const shape = [...x.shape.slice(0, s), numelOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (!Array.isArray(dims)) throw new TypeError(`permute: dims must be an array of integers, got ${JSON.stringify(dims)}`);
  if (dims.length !== x.ndim) {
    throw new RangeError(
      `permute: number of dims don't match in permute (input has ${x.ndim} dims ${shapeStr(x.shape)}, got ${dims.length} dims ${shapeStr(dims)})`,
    );
  }
  const norm = dims.map((d) => normDim('permute', d, x.ndim));
  if (new Set(norm).size !== norm.length) throw new RangeError(`permute: repeated dim in ${shapeStr(dims)}`);
  return P.permute(x, norm);
}

export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  if (x.ndim === 0) return x;
  const a = normDim('transpose', d0, x.ndim);
  const b = normDim('transpose', d1, x.ndim);
  const dims = x.shape.map((_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return renamed(P.permute(x, dims), 'TransposeBackward0', x);
}

export function T(x: Tensor): Tensor {
  if (x.ndim < 2) return x;
  const dims = x.shape.map((_, i) => x.ndim - 1 - i);
  return renamed(P.permute(x, dims), x.ndim === 2 ? 'TBackward0' : 'PermuteBackward0', x);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape.slice(0, d), 1, ...x.shape.slice(d)];
  const strides = [...x.strides.slice(0, d), d < x.ndim ? x.strides[d] * x.shape[d] : 1, ...x.strides.slice(d)];
  return renamed(P.view(x, shape, strides), 'UnsqueezeBackward0', x);
}

export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const dims =
    dim === undefined || dim === null
      ? x.shape.map((_, i) => i)
      : normDims('squeeze', dim, x.ndim);
  const keep = x.shape.map((s, i) => !(s === 1 && dims.includes(i)));
  if (keep.every((k) => k)) return x;
  const shape = x.shape.filter((_, i) => keep[i]);
  const strides = x.strides.filter((_, i) => keep[i]);
  return renamed(P.view(x, shape, strides), dim === undefined ? 'SqueezeBackward0' : 'SqueezeBackward1', x);
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.ndim) {
    throw new RangeError(
      `expand: the number of sizes provided (${shape.length}) must be greater or equal to the number of dimensions in the tensor (${x.ndim})`,
    );
  }
  const lead = shape.length - x.ndim;
  const target = shape.map((s, i) => {
    const own = i < lead ? undefined : x.shape[i - lead];
    if (s === -1) {
      if (own === undefined) throw new RangeError(`expand: -1 is not allowed in a leading, non-existing dimension ${i}`);
      return own;
    }
    if (!Number.isInteger(s) || s < 0) throw new RangeError(`expand: invalid size ${s} in ${shapeStr(shape)}`);
    if (own !== undefined && own !== 1 && own !== s) {
      throw new RangeError(
        `expand: The expanded size of the tensor (${s}) must match the existing size (${own}) at non-singleton dimension ${i}. ` +
          `Target sizes: ${shapeStr(shape)}. Tensor sizes: ${shapeStr(x.shape)}`,
      );
    }
    return s;
  });
  if (sameShape(target, x.shape)) return x;
  return P.expand(x, target);
}

function clampIndex(i: number, size: number): number {
  const j = i < 0 ? i + size : i;
  return Math.min(Math.max(j, 0), size);
}

/** Python-style slice: negative indices count from the end, bounds are clamped. */
export function slice(x: Tensor, dim: number, start?: number, end?: number, step = 1): Tensor {
  if (x.ndim === 0) throw new RangeError('slice: slicing a 0-d tensor is not possible');
  const d = normDim('slice', dim, x.ndim);
  if (start !== undefined && start !== null) checkInt('slice', 'start', start);
  if (end !== undefined && end !== null) checkInt('slice', 'end', end);
  if (step === null) step = 1;
  if (!Number.isInteger(step) || step <= 0) throw new RangeError(`slice: slice step must be positive, got ${step}`);
  const size = x.shape[d];
  const s = start === undefined || start === null ? 0 : clampIndex(start, size);
  let e = end === undefined || end === null ? size : clampIndex(end, size);
  if (e < s) e = s;
  if (s === 0 && e === size && step === 1) return x;
  return P.slice(x, { dim: d, start: s, end: e, step });
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normDim('narrow', dim, x.ndim);
  checkInt('narrow', 'start', start);
  checkInt('narrow', 'length', length);
  const size = x.shape[d];
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(s) || s < 0 || s > size) {
    throw new RangeError(`narrow: start (${start}) out of range for dimension ${d} of size ${size}`);
  }
  if (!Number.isInteger(length) || length < 0 || s + length > size) {
    throw new RangeError(`narrow: start (${s}) + length (${length}) exceeds dimension size (${size}).`);
  }
  return P.slice(x, { dim: d, start: s, end: s + length, step: 1 });
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  if (x.ndim === 0) throw new RangeError('select: select() cannot be applied to a 0-dim tensor.');
  const d = normDim('select', dim, x.ndim);
  checkInt('select', 'index', index);
  const size = x.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new RangeError(`select: index ${index} is out of bounds for dimension ${d} with size ${size}`);
  }
  const i = index < 0 ? index + size : index;
  const part = P.slice(x, { dim: d, start: i, end: i + 1, step: 1 });
  const shape = x.shape.filter((_, k) => k !== d);
  const strides = part.strides.filter((_, k) => k !== d);
  return renamed(P.view(part, shape, strides), 'SelectBackward0', x);
}

export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim('split', dim, x.ndim);
  const size = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    if (!Number.isInteger(sizeOrSections) || sizeOrSections <= 0) {
      throw new RangeError(`split: split_size must be a positive integer, got ${sizeOrSections}`);
    }
    sizes = [];
    for (let s = 0; s < size; s += sizeOrSections) sizes.push(Math.min(sizeOrSections, size - s));
    if (size === 0) sizes.push(0);
  } else {
    sizes = [...sizeOrSections];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== size) {
      throw new RangeError(`split: split_with_sizes expects split_sizes to sum exactly to ${size} (input tensor's size at dimension ${d}), but got split_sizes=${shapeStr(sizes)}`);
    }
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const s of sizes) {
    out.push(narrow(x, d, start, s));
    start += s;
  }
  return out;
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new RangeError(`chunk: number of chunks must be greater than 0, got ${chunks}`);
  const d = normDim('chunk', dim, x.ndim);
  const each = Math.ceil(x.shape[d] / chunks);
  return split(x, Math.max(each, 1), d);
}

export function unbind(x: Tensor, dim = 0): Tensor[] {
  const d = normDim('unbind', dim, x.ndim);
  return Array.from({ length: x.shape[d] }, (_, i) => select(x, d, i));
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (Array.isArray(tensors)) tensors.forEach((t, i) => checkTensor('cat', t, `tensors[${i}]`));
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError('cat: expected a non-empty list of Tensors');
  // PyTorch skips legacy 1-D empty tensors in cat
  const parts = tensors.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  if (parts.length === 0) return tensors[0];
  const ref = parts[0];
  const d = normDim('cat', dim, ref.ndim);
  let dtype = ref.dtype;
  for (const t of parts) {
    if (t.ndim !== ref.ndim) {
      throw new RangeError(`cat: Tensors must have same number of dimensions: got ${ref.ndim} and ${t.ndim}`);
    }
    for (let i = 0; i < t.ndim; i++) {
      if (i !== d && t.shape[i] !== ref.shape[i]) {
        throw new RangeError(
          `cat: Sizes of tensors must match except in dimension ${d}. Expected size ${ref.shape[i]} but got size ${t.shape[i]} for tensor number ${parts.indexOf(t)} in the list.`,
        );
      }
    }
    if (t.dtype !== dtype) dtype = promote(dtype, t.dtype);
  }
  return P.cat(parts.map((t) => (t.dtype === dtype ? t : P.copy(t, dtype))), d);
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (Array.isArray(tensors)) tensors.forEach((t, i) => checkTensor('stack', t, `tensors[${i}]`));
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError('stack: expected a non-empty list of Tensors');
  const ref = tensors[0];
  tensors.forEach((t, i) => {
    if (!sameShape(t.shape, ref.shape)) {
      throw new RangeError(`stack: stack expects each tensor to be equal size, but got ${shapeStr(ref.shape)} at entry 0 and ${shapeStr(t.shape)} at entry ${i}`);
    }
  });
  const d = normDim('stack', dim, ref.ndim + 1);
  return renamed(cat(tensors.map((t) => unsqueeze(t, d)), d), 'StackBackward0');
}

export function repeat(x: Tensor, repeats: readonly number[]): Tensor {
  repeats.forEach((r) => {
    if (checkInt('repeat', 'repeats', r) < 0) throw new RangeError(`repeat: Trying to create tensor with negative dimension ${r}: ${shapeStr(repeats)}`);
  });
  if (repeats.length < x.ndim) {
    throw new RangeError(
      `repeat: Number of dimensions of repeat dims (${repeats.length}) can not be smaller than number of dimensions of tensor (${x.ndim})`,
    );
  }
  const lead = repeats.length - x.ndim;
  const src = [...new Array<number>(lead).fill(1), ...x.shape];
  // x viewed as [1, s0, 1, s1, ...], expanded to [r0, s0, r1, s1, ...], then merged pairwise
  const inter: number[] = [];
  const expanded: number[] = [];
  src.forEach((s, i) => {
    inter.push(1, s);
    expanded.push(repeats[i], s);
  });
  const out = reshape(expand(reshape(x, inter), expanded), src.map((s, i) => s * repeats[i]));
  return renamed(out, 'RepeatBackward0', x);
}

import { promoteTypes as promote } from '../dtype.js';
