/**
 * Forward implementations of the primitive ops, each wired to its gradient rule and called only
 * through dispatch. Inputs arrive checked and, for elementwise ops, of the computation dtype.
 */
import type { Arg, Backend } from './backend.js';
import { dispatch, type PrimDef } from './dispatch.js';
import type { DType } from './dtype.js';
import { backendForDevice, type Device } from './device.js';
import type { ArgReduceOp, BinaryOp, CompareOp, PrimitiveOp, ReduceOp, UnaryOp } from './ops.js';
import { rules } from './autograd/rules.js';
import { contiguousStrides, numelOf, viewStrides } from './shape.js';
import { Storage, Tensor } from './tensor.js';
import { track } from './memory.js';
import { gradMode } from './autograd/mode.js';

export type ViewStep =
  | { op: 'view'; shape: readonly number[] }
  | { op: 'permute'; dims: readonly number[] }
  | { op: 'expand'; shape: readonly number[] }
  | { op: 'slice'; dim: number; start: number; end: number; step: number };

/** A new contiguous tensor on the given backend and device. */
export function allocTensor(backend: Backend, device: Device, dtype: DType, shape: readonly number[]): Tensor {
  const numel = numelOf(shape);
  const storage = new Storage(backend.alloc(dtype, numel), backend, device, dtype, numel);
  track(storage);
  return new Tensor(storage, shape, contiguousStrides(shape), 0);
}

export function allocLike(t: Tensor, dtype: DType, shape: readonly number[]): Tensor {
  return allocTensor(t.storage.backend, t.storage.device, dtype, shape);
}

/** t viewed with the shape `shape` it broadcasts to (stride 0 on new and size-1 dims). */
export function broadcastArg(t: Tensor, shape: readonly number[]): Arg {
  if (t.shape.length === shape.length) {
    let same = true;
    for (let i = 0; i < shape.length; i++) if (t.shape[i] !== shape[i]) same = false;
    if (same) return t;
  }
  const lead = shape.length - t.shape.length;
  const strides = new Array<number>(shape.length);
  for (let i = 0; i < shape.length; i++) {
    strides[i] = i < lead || t.shape[i - lead] === 1 ? 0 : t.strides[i - lead];
  }
  return { buf: t.storage.buf, dtype: t.dtype, shape, strides, offset: t.offset };
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    out[i] = da === 1 ? db : da;
  }
  return out;
}

function def<A>(op: PrimitiveOp, forward: (inputs: readonly Tensor[], attrs: A) => Tensor): PrimDef<A> {
  const rule = rules[op];
  return {
    op,
    gradName: rule ? rule.name : '',
    forward,
    save: rule?.save as PrimDef<A>['save'],
    backward: rule ? (rule.backward as PrimDef<A>['backward']) : null,
  };
}

// ---- elementwise ----
const unaryDefs = new Map<UnaryOp, PrimDef<null>>();
export function unary(op: UnaryOp, x: Tensor): Tensor {
  let d = unaryDefs.get(op);
  if (!d) {
    d = def<null>(op, ([a]) => {
      const out = allocLike(a, op === 'logicalNot' ? 'bool' : a.dtype, a.shape);
      a.storage.backend.unary(op, out, a);
      return out;
    });
    unaryDefs.set(op, d);
  }
  return dispatch(d, [x], null);
}

/** add and sub scale b by alpha first (PyTorch's alpha); null is alpha 1. */
export type BinaryAttrs = { alpha: number } | null;

const binaryDefs = new Map<BinaryOp, PrimDef<BinaryAttrs>>();
/** a and b share a dtype; the result broadcasts their shapes. alpha: add and sub only. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor, alpha = 1): Tensor {
  let d = binaryDefs.get(op);
  if (!d) {
    d = def<BinaryAttrs>(op, ([x, y], attrs) => {
      const shape = broadcastShape(x.shape, y.shape);
      const out = allocLike(x, x.dtype, shape);
      x.storage.backend.binary(op, out, broadcastArg(x, shape), broadcastArg(y, shape), attrs?.alpha);
      return out;
    });
    binaryDefs.set(op, d);
  }
  return dispatch(d, [a, b], alpha === 1 ? null : { alpha });
}

const compareDefs = new Map<CompareOp, PrimDef<null>>();
export function compare(op: CompareOp, a: Tensor, b: Tensor): Tensor {
  let d = compareDefs.get(op);
  if (!d) {
    d = def<null>(op, ([x, y]) => {
      const shape = broadcastShape(x.shape, y.shape);
      const out = allocLike(x, 'bool', shape);
      x.storage.backend.compare(op, out, broadcastArg(x, shape), broadcastArg(y, shape));
      return out;
    });
    compareDefs.set(op, d);
  }
  return dispatch(d, [a, b], null);
}

const whereDef = def<null>('where', ([c, x, y]) => {
  const shape = broadcastShape(broadcastShape(c.shape, x.shape), y.shape);
  const out = allocLike(x, x.dtype, shape);
  x.storage.backend.where(out, broadcastArg(c, shape), broadcastArg(x, shape), broadcastArg(y, shape));
  return out;
});
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  return dispatch(whereDef, [cond, a, b], null);
}

export interface CopyAttrs {
  dtype: DType;
  device: Device;
  srcDevice: Device;
}
const copyDef = def<CopyAttrs>('copy', ([x], { dtype, device }) => {
  if (device === x.device) {
    const out = allocLike(x, dtype, x.shape);
    x.storage.backend.copy(out, x);
    return out;
  }
  // Across devices the data passes through the host.
  const host = x.storage.backend.read(x);
  const backend = backendForDevice(device);
  const moved = allocTensor(backend, device, x.dtype, x.shape);
  if (moved.storage.numel) backend.write(moved.storage.buf, x.dtype, host, 0);
  if (dtype === x.dtype) return moved;
  const out = allocTensor(backend, device, dtype, x.shape);
  backend.copy(out, moved);
  return out;
});
/** A contiguous copy, converted to dtype and moved to device. */
export function copy(x: Tensor, dtype: DType = x.dtype, device: Device = x.device): Tensor {
  return dispatch(copyDef, [x], { dtype, device, srcDevice: x.device });
}

/** Storages made by fill, with their value; one is uniform while its version is still 0. */
const filled = new WeakMap<Storage, number>();

const fillDef = def<{ backend: Backend; device: Device; dtype: DType; shape: readonly number[]; value: number }>(
  'fill',
  (_, { backend, device, dtype, shape, value }) => {
    const out = allocTensor(backend, device, dtype, shape);
    if (out.storage.numel) backend.fill(out, value);
    filled.set(out.storage, value);
    return out;
  },
);

/**
 * out = base, for the ops that start from a copy of their base (scatterAdd, indexAdd,
 * sliceScatter). Their base is most often the zeros autograd makes for a gradient: filling is
 * a write where a copy is a read and a write.
 */
function copyBase(out: Tensor, base: Tensor): void {
  const value = filled.get(base.storage);
  // a freed base still goes to copy, which reports the use of freed memory
  if (value !== undefined && base.storage.version === 0 && !base.storage.freed) base.storage.backend.fill(out, value);
  else base.storage.backend.copy(out, base);
}
export function fill(backend: Backend, device: Device, dtype: DType, shape: readonly number[], value: number): Tensor {
  return dispatch(fillDef, [], { backend, device, dtype, shape, value });
}

// ---- reductions ----
export interface ReduceAttrs {
  axes: readonly number[];
  keepdim: boolean;
}
function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((s, i) => (axes.includes(i) ? 1 : s));
}
function droppedShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

const reduceDefs = new Map<ReduceOp, PrimDef<ReduceAttrs>>();
export function reduce(op: ReduceOp, x: Tensor, axes: readonly number[], keepdim: boolean): Tensor {
  let d = reduceDefs.get(op);
  if (!d) {
    d = def<ReduceAttrs>(op, ([a], { axes, keepdim }) => {
      const kept = keptShape(a.shape, axes);
      const out = allocLike(a, a.dtype, kept);
      a.storage.backend.reduce(op, out, a, axes);
      return keepdim ? out : new Tensor(out.storage, droppedShape(a.shape, axes), contiguousStrides(droppedShape(a.shape, axes)), 0);
    });
    reduceDefs.set(op, d);
  }
  return dispatch(d, [x], { axes, keepdim });
}

const argReduceDefs = new Map<ArgReduceOp, PrimDef<{ axis: number; keepdim: boolean }>>();
export function argReduce(op: ArgReduceOp, x: Tensor, axis: number, keepdim: boolean): Tensor {
  let d = argReduceDefs.get(op);
  if (!d) {
    d = def(op, ([a], { axis, keepdim }) => {
      const kept = keptShape(a.shape, [axis]);
      const out = allocLike(a, 'int32', kept);
      a.storage.backend.argReduce(op, out, a, axis);
      const shape = keepdim ? kept : droppedShape(a.shape, [axis]);
      return new Tensor(out.storage, shape, contiguousStrides(shape), 0);
    });
    argReduceDefs.set(op, d);
  }
  return dispatch(d, [x], { axis, keepdim });
}

// ---- views: new shape and strides over the same storage ----
function viewOf(x: Tensor, shape: readonly number[], strides: readonly number[], offset: number, step: ViewStep): Tensor {
  const out = new Tensor(x.storage, shape, strides, offset);
  // Only views made while recording are differentiable views, tracked for in-place rebasing.
  if (gradMode.enabled) {
    out._base = x._base ?? x;
    out._viewSteps = x._viewSteps ? [...x._viewSteps, step] : [step];
  }
  return out;
}

const viewDef = def<{ shape: readonly number[]; strides: readonly number[] }>('view', ([x], { shape, strides }) =>
  viewOf(x, shape, strides, x.offset, { op: 'view', shape }),
);
/** Strides must come from viewStrides(); the caller copies when no view exists. */
export function view(x: Tensor, shape: readonly number[], strides: readonly number[]): Tensor {
  return dispatch(viewDef, [x], { shape, strides });
}

const permuteDef = def<{ dims: readonly number[] }>('permute', ([x], { dims }) =>
  viewOf(
    x,
    dims.map((d) => x.shape[d]),
    dims.map((d) => x.strides[d]),
    x.offset,
    { op: 'permute', dims },
  ),
);
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  return dispatch(permuteDef, [x], { dims });
}

const expandDef = def<{ shape: readonly number[] }>('expand', ([x], { shape }) => {
  const a = broadcastArg(x, shape);
  return viewOf(x, shape, a.strides, x.offset, { op: 'expand', shape });
});
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  return dispatch(expandDef, [x], { shape });
}

export interface SliceAttrs {
  dim: number;
  start: number;
  end: number;
  step: number;
}
const sliceDef = def<SliceAttrs>('slice', ([x], a) => {
  const shape = x.shape.slice();
  const strides = x.strides.slice();
  shape[a.dim] = Math.max(0, Math.ceil((a.end - a.start) / a.step));
  strides[a.dim] = x.strides[a.dim] * a.step;
  const offset = shape[a.dim] === 0 ? x.offset : x.offset + a.start * x.strides[a.dim];
  return viewOf(x, shape, strides, offset, { op: 'slice', ...a });
});
/** start/end already clamped to [0, size], step > 0. */
export function slice(x: Tensor, attrs: SliceAttrs): Tensor {
  return dispatch(sliceDef, [x], attrs);
}

/** Replays view steps on another tensor of the base's shape (through dispatch, so differentiable). */
export function applyViews(t: Tensor, steps: readonly ViewStep[]): Tensor {
  let x = t;
  for (const s of steps) {
    switch (s.op) {
      case 'view': {
        const strides = viewStrides(x.shape, x.strides, s.shape);
        x = strides ? view(x, s.shape, strides) : view(copy(x), s.shape, contiguousStrides(s.shape));
        break;
      }
      case 'permute':
        x = permute(x, s.dims);
        break;
      case 'expand':
        x = expand(x, s.shape);
        break;
      case 'slice':
        x = slice(x, s);
        break;
    }
  }
  return x;
}

// ---- data movement ----
const catDef = def<{ dim: number }>('cat', (inputs, { dim }) => {
  const shape = inputs[0].shape.slice();
  shape[dim] = inputs.reduce((n, t) => n + t.shape[dim], 0);
  const out = allocLike(inputs[0], inputs[0].dtype, shape);
  let start = 0;
  for (const t of inputs) {
    const len = t.shape[dim];
    if (len && t.numel()) {
      const region = viewWithoutGraph(out, [{ op: 'slice', dim, start, end: start + len, step: 1 }]);
      t.storage.backend.copy(region, t);
    }
    start += len;
  }
  return out;
});
/** Same dtype, same shape but along dim, checked by the caller. */
export function cat(inputs: readonly Tensor[], dim: number): Tensor {
  return dispatch(catDef, inputs, { dim });
}

const matmulDef = def<null>('matmul', ([a, b]) => {
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const M = a.shape[a.ndim - 2];
  const K = a.shape[a.ndim - 1];
  const N = b.shape[b.ndim - 1];
  const out = allocLike(a, a.dtype, [...batch, M, N]);
  if (out.storage.numel === 0) return out;
  const B = numelOf(batch);
  const a3 = batched(a, batch, B);
  const b3 = batched(b, batch, B);
  const o3: Arg = { buf: out.storage.buf, dtype: out.dtype, shape: [B, M, N], strides: [M * N, N, 1], offset: 0 };
  if (K === 0) a.storage.backend.fill(out, 0);
  else a.storage.backend.matmul(o3, a3, b3);
  return out;
});

/** A [..batch, R, C] operand as a 3-D [B, R, C] view; broadcast batch dims get stride 0. */
function batched(t: Tensor, batch: readonly number[], B: number): Arg {
  const full = broadcastArg(t, [...batch, t.shape[t.ndim - 2], t.shape[t.ndim - 1]]);
  const nb = batch.length;
  const rc = [full.shape[nb], full.shape[nb + 1]];
  const rcs = [full.strides[nb], full.strides[nb + 1]];
  // The batch dims collapse to one stride when they are evenly laid out (always for 0 or 1 dims
  // and for contiguous or fully broadcast operands); otherwise copy once.
  let bstride = 0;
  let ok = true;
  let expect = -1;
  for (let i = nb - 1; i >= 0; i--) {
    if (full.shape[i] === 1) continue;
    if (expect === -1) {
      bstride = full.strides[i];
      expect = full.strides[i] * full.shape[i];
    } else if (full.strides[i] !== expect || (bstride === 0) !== (full.strides[i] === 0)) {
      ok = false;
    } else expect = full.strides[i] * full.shape[i];
  }
  if (ok) return { buf: full.buf, dtype: full.dtype, shape: [B, rc[0], rc[1]], strides: [bstride, rcs[0], rcs[1]], offset: full.offset };
  const c = allocLike(t, t.dtype, full.shape);
  t.storage.backend.copy(c, full);
  return { buf: c.storage.buf, dtype: c.dtype, shape: [B, rc[0], rc[1]], strides: [rc[0] * rc[1], rc[1], 1], offset: 0 };
}

/** a [..., M, K] @ b [..., K, N] with broadcast batch dims; both at least 2-D, same dtype. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return dispatch(matmulDef, [a, b], null);
}

export interface DimAttrs {
  dim: number;
}

const logSoftmaxDef = def<DimAttrs>('logSoftmax', ([x], { dim }) => {
  const out = allocLike(x, x.dtype, x.shape);
  if (out.storage.numel) x.storage.backend.logSoftmax(out, x, dim);
  return out;
});
/** Floating x, dim already normalised. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return dispatch(logSoftmaxDef, [x], { dim });
}

const logSoftmaxBackwardDef = def<DimAttrs>('logSoftmaxBackward', ([g, y], { dim }) => {
  const out = allocLike(g, g.dtype, g.shape);
  if (out.storage.numel) g.storage.backend.logSoftmaxBackward(out, g, y, dim);
  return out;
});
/** g and y of one shape and floating dtype (y = logSoftmax(x, dim)). */
export function logSoftmaxBackward(g: Tensor, y: Tensor, dim: number): Tensor {
  return dispatch(logSoftmaxBackwardDef, [g, y], { dim });
}

export interface NllAttrs {
  scale: number;
}

const nllLossDef = def<NllAttrs>('nllLoss', ([x, t], { scale }) => {
  const out = allocLike(x, x.dtype, []);
  x.storage.backend.nllLoss(out, x, t, scale);
  return out;
});
/** scale * sum_i x[i, t[i]]: x [N, C] floating, t [N] int32 already checked in [0, C). */
export function nllLoss(x: Tensor, t: Tensor, scale: number): Tensor {
  return dispatch(nllLossDef, [x, t], { scale });
}

const nllLossBackwardDef = def<NllAttrs & { classes: number }>('nllLossBackward', ([g, t], { scale, classes }) => {
  const out = allocLike(g, g.dtype, [t.shape[0], classes]);
  if (out.storage.numel) g.storage.backend.nllLossBackward(out, g, t, scale);
  return out;
});
/** The [N, classes] gradient of nllLoss: scale * g at each row's target, 0 elsewhere. */
export function nllLossBackward(g: Tensor, t: Tensor, classes: number, scale: number): Tensor {
  return dispatch(nllLossBackwardDef, [g, t], { scale, classes });
}

const gatherDef = def<{ dim: number }>('gather', ([x, index], { dim }) => {
  const out = allocLike(x, x.dtype, index.shape);
  if (out.storage.numel) x.storage.backend.gather(out, x, dim, index);
  return out;
});
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  return dispatch(gatherDef, [x, index], { dim });
}

const scatterAddDef = def<{ dim: number }>('scatterAdd', ([base, index, src], { dim }) => {
  const out = allocLike(base, base.dtype, base.shape);
  copyBase(out, base);
  if (index.numel()) base.storage.backend.scatterAdd(out, dim, index, src);
  return out;
});
export function scatterAdd(base: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return dispatch(scatterAddDef, [base, index, src], { dim });
}

const indexSelectDef = def<{ dim: number }>('indexSelect', ([x, index], { dim }) => {
  const shape = x.shape.slice();
  shape[dim] = index.shape[0];
  const out = allocLike(x, x.dtype, shape);
  if (out.storage.numel) x.storage.backend.indexSelect(out, x, dim, index);
  return out;
});
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  return dispatch(indexSelectDef, [x, index], { dim });
}

const indexAddDef = def<{ dim: number }>('indexAdd', ([base, index, src], { dim }) => {
  const out = allocLike(base, base.dtype, base.shape);
  copyBase(out, base);
  if (src.numel()) base.storage.backend.indexAdd(out, dim, index, src);
  return out;
});
export function indexAdd(base: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return dispatch(indexAddDef, [base, index, src], { dim });
}

const sliceScatterDef = def<{ steps: readonly ViewStep[] }>('sliceScatter', ([base, src], { steps }) => {
  const out = allocLike(base, base.dtype, base.shape);
  copyBase(out, base);
  const region = viewWithoutGraph(out, steps);
  base.storage.backend.copy(region, broadcastArg(src, region.shape));
  return out;
});
/** base with the region `steps` selects replaced by src. */
export function sliceScatter(base: Tensor, src: Tensor, steps: readonly ViewStep[]): Tensor {
  return dispatch(sliceScatterDef, [base, src], { steps });
}

/** The Arg a chain of view steps selects in a contiguous tensor, computed without dispatch. */
export function viewWithoutGraph(t: Tensor, steps: readonly ViewStep[]): Arg {
  let shape = t.shape.slice();
  let strides = t.strides.slice();
  let offset = t.offset;
  for (const s of steps) {
    if (s.op === 'view') {
      // The chain was recorded on a base of this same layout, so the view exists here too.
      strides = viewStrides(shape, strides, s.shape) ?? contiguousStrides(s.shape);
      shape = s.shape.slice();
    } else if (s.op === 'permute') {
      shape = s.dims.map((d) => shape[d]);
      strides = s.dims.map((d) => strides[d]);
    } else if (s.op === 'expand') {
      const lead = s.shape.length - shape.length;
      strides = s.shape.map((_, i) => (i < lead || shape[i - lead] === 1 ? 0 : strides[i - lead]));
      shape = s.shape.slice();
    } else {
      offset += s.start * strides[s.dim];
      shape[s.dim] = Math.max(0, Math.ceil((s.end - s.start) / s.step));
      strides[s.dim] *= s.step;
    }
  }
  return { buf: t.storage.buf, dtype: t.dtype, shape, strides, offset };
}
