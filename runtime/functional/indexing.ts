/** Gathering and scattering by index tensors, and tensor[...]-style indexing. */
import { Tensor, type IndexSpec } from '../tensor.js';
import * as P from '../prims.js';
import { broadcastShapes, normDim, shapeStr } from '../shape.js';
import { data } from './convert.js';
import { fromHost } from './creation.js';
import { expand, reshape, select, slice, unsqueeze, permute } from './movement.js';
import { renamed } from './naming.js';

function checkIndexTensor(op: string, index: unknown): asserts index is Tensor {
  if (!(index instanceof Tensor)) throw new TypeError(`${op}: expected index to be a Tensor`);
  if (index.dtype !== 'int32') throw new TypeError(`${op}: Expected dtype int32 for index, got ${index.dtype}`);
}

/** Reads indices on the host and checks them against size, so no kernel ever goes out of bounds. */
function checkRange(op: string, index: Tensor, size: number, dim: number, allowNegative = false): Int32Array {
  const vals = data(index) as Int32Array;
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    if (v >= size || v < (allowNegative ? -size : 0)) {
      throw new RangeError(`${op}: index ${v} is out of bounds for dimension ${dim} with size ${size}`);
    }
  }
  return vals;
}

function checkGatherShapes(op: string, x: Tensor, d: number, index: Tensor, src?: Tensor): void {
  if (index.ndim !== x.ndim && !(x.ndim === 0 && index.ndim <= 1)) {
    throw new RangeError(`${op}: Index tensor must have the same number of dimensions as input tensor (${index.ndim} vs ${x.ndim})`);
  }
  for (let i = 0; i < index.ndim; i++) {
    if (i !== d && index.shape[i] > x.shape[i]) {
      throw new RangeError(
        `${op}: Size does not match at dimension ${i} expected index ${shapeStr(index.shape)} to be smaller than self ${shapeStr(x.shape)} apart from dimension ${d}`,
      );
    }
    if (src && index.shape[i] > src.shape[i]) {
      throw new RangeError(`${op}: Expected index ${shapeStr(index.shape)} to be smaller than src ${shapeStr(src.shape)} apart from dimension ${d}`);
    }
  }
}

export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndexTensor('gather', index);
  const d = normDim('gather', dim, x.ndim);
  checkGatherShapes('gather', x, d, index);
  checkRange('gather', index, x.ndim ? x.shape[d] : 1, d);
  return P.gather(x, d, index);
}

export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkIndexTensor('scatterAdd', index);
  const d = normDim('scatterAdd', dim, x.ndim);
  if (src.dtype !== x.dtype) throw new TypeError(`scatterAdd: Expected self.dtype to be equal to src.dtype (${x.dtype} vs ${src.dtype})`);
  checkGatherShapes('scatterAdd', x, d, index, src);
  checkRange('scatterAdd', index, x.shape[d], d);
  // only the index-shaped part of src takes part
  const part = src.shape.every((s, i) => s === index.shape[i]) ? src : sliceTo(src, index.shape);
  return P.scatterAdd(x, d, index, part);
}

function sliceTo(t: Tensor, shape: readonly number[]): Tensor {
  let out = t;
  shape.forEach((s, i) => (out = slice(out, i, 0, s)));
  return out;
}

/** Wraps negative indices and makes a contiguous 1-D int32 index on x's device. */
function normalizedIndex(op: string, index: Tensor, size: number, dim: number, device: Tensor): Tensor {
  const vals = checkRange(op, index, size, dim, true);
  let neg = false;
  for (let i = 0; i < vals.length; i++) if (vals[i] < 0) neg = true;
  if (!neg && index.ndim === 1 && index.device === device.device && index.storage.backend === device.storage.backend) {
    return index;
  }
  const fixed = new Int32Array(vals.length);
  for (let i = 0; i < vals.length; i++) fixed[i] = vals[i] < 0 ? vals[i] + size : vals[i];
  return fromHost(fixed, [fixed.length], 'int32', device.device);
}

export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndexTensor('indexSelect', index);
  if (index.ndim > 1) throw new RangeError(`indexSelect: Index is supposed to be a vector, got shape ${shapeStr(index.shape)}`);
  const d = normDim('indexSelect', dim, x.ndim);
  const idx = normalizedIndex('indexSelect', reshape(index, [-1]), x.ndim ? x.shape[d] : 1, d, x);
  if (x.ndim === 0) return P.indexSelect(reshape(x, [1]), 0, idx);
  return P.indexSelect(x, d, idx);
}

/**
 * tensor[...] with PyTorch's rules: numbers select, {start, end, step} slice, null adds a dim,
 * '...' fills, and int32 tensors, bool masks or number arrays index by value (advanced indexing).
 */
export function index(x: Tensor, spec: readonly IndexSpec[]): Tensor {
  const consumes = (s: IndexSpec) => (s === null || s === '...' ? 0 : s instanceof Tensor && s.dtype === 'bool' ? s.ndim : 1);
  const used = spec.reduce((n: number, s) => n + consumes(s), 0);
  const ellipses = spec.filter((s) => s === '...').length;
  if (ellipses > 1) throw new RangeError('index: an index can only have a single ellipsis (\'...\')');
  if (used > x.ndim) {
    throw new RangeError(`index: too many indices for tensor of dimension ${x.ndim} (got ${used})`);
  }
  const full: IndexSpec[] = [];
  for (const s of spec) {
    if (s === '...') for (let i = 0; i < x.ndim - used; i++) full.push({});
    else full.push(s);
  }
  let out = x;
  let dim = 0;
  const advanced: { dim: number; index: Tensor }[] = [];
  for (const s of full) {
    if (s === null) {
      out = unsqueeze(out, dim);
      dim++;
    } else if (typeof s === 'number') {
      out = select(out, dim, s);
    } else if (s instanceof Tensor || Array.isArray(s)) {
      let t = Array.isArray(s) ? fromHost(Int32Array.from(s as number[]), [s.length], 'int32', x.device) : s;
      if (t.dtype === 'bool') {
        // a mask over the next t.ndim dims becomes an index into those dims flattened
        const mshape = out.shape.slice(dim, dim + t.ndim);
        if (mshape.some((m, i) => m !== t.shape[i])) {
          throw new RangeError(
            `index: The shape of the mask ${shapeStr(t.shape)} at index ${dim} does not match the shape of the indexed tensor ${shapeStr(out.shape)}`,
          );
        }
        out = reshape(out, [...out.shape.slice(0, dim), -1, ...out.shape.slice(dim + t.ndim)]);
        const m = data(t);
        const picks: number[] = [];
        for (let i = 0; i < m.length; i++) if (m[i]) picks.push(i);
        t = fromHost(Int32Array.from(picks), [picks.length], 'int32', x.device);
      } else if (t.dtype !== 'int32') {
        throw new TypeError(`index: tensors used as indices must be int32 or bool tensors, got ${t.dtype}`);
      }
      advanced.push({ dim, index: t });
      dim++;
    } else if (typeof s === 'object') {
      out = slice(out, dim, s.start, s.end, s.step ?? 1);
      dim++;
    } else {
      throw new TypeError(`index: unsupported index ${JSON.stringify(s)}`);
    }
  }
  if (advanced.length === 0) return out;
  return renamed(advancedIndex(out, advanced), 'IndexBackward0', x);
}

function advancedIndex(x: Tensor, adv: { dim: number; index: Tensor }[]): Tensor {
  const bshape = adv.map((a) => a.index.shape).reduce((s, t) => broadcastShapes('index', s, t));
  const dims = adv.map((a) => a.dim);
  const adjacent = dims.every((d, i) => i === 0 || d === dims[i - 1] + 1);
  // Non-adjacent advanced dims go to the front, as in PyTorch.
  let src = x;
  let first = dims[0];
  if (!adjacent) {
    const rest = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
    src = permute(x, [...dims, ...rest]);
    first = 0;
  }
  const sizes = dims.map((d) => x.shape[d]);
  // linear index over the advanced dims, computed on the host (indices are small and checked)
  const n = bshape.reduce((a, b) => a * b, 1);
  const linear = new Int32Array(n);
  adv.forEach((a, k) => {
    const vals = checkRange('index', a.index, sizes[k], dims[k], true);
    const b = expand(fromHost(vals, a.index.shape, 'int32', 'cpu'), bshape);
    const bv = data(b);
    const stride = sizes.slice(k + 1).reduce((p, q) => p * q, 1);
    for (let i = 0; i < n; i++) linear[i] += (bv[i] < 0 ? bv[i] + sizes[k] : bv[i]) * stride;
  });
  const merged = reshape(src, [...src.shape.slice(0, first), -1, ...src.shape.slice(first + dims.length)]);
  const picked = P.indexSelect(merged, first, fromHost(linear, [n], 'int32', x.device));
  return reshape(picked, [...merged.shape.slice(0, first), ...bshape, ...merged.shape.slice(first + 1)]);
}
