/**
 * The Tensor: a strided view of a storage, plus its place in the autograd graph. Methods are thin
 * doors to the functional ops (runtime/functional/*), which all pass through dispatch.
 */
import type { Backend, Buf } from './backend.js';
import type { DType, TypedArray } from './dtype.js';
import type { Device, DeviceLike } from './device.js';
import { AccumulateGrad, type Node, type TensorHook } from './autograd/node.js';
import { numelOf, isContiguous } from './shape.js';
import * as E from './functional/elementwise.js';
import * as R from './functional/reduce.js';
import * as M from './functional/movement.js';
import * as I from './functional/indexing.js';
import * as L from './functional/linalg.js';
import * as P from './functional/inplace.js';
import * as C from './functional/convert.js';
import { backward, type BackwardOptions } from './autograd/engine.js';
import { formatTensorOf } from './print.js';
import { dispose as disposeTensor } from './memory.js';
import type { ViewStep } from './prims.js';

/** A device allocation shared by a tensor and all views of it. */
export class Storage {
  /** Bumped by every in-place write, so autograd can tell a saved tensor was changed. */
  version = 0;
  freed = false;
  constructor(
    public buf: Buf,
    readonly backend: Backend,
    readonly device: Device,
    readonly dtype: DType,
    readonly numel: number,
  ) {}
}

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;
export type IndexSpec = number | null | '...' | { start?: number; end?: number; step?: number } | Tensor | number[];

export class Tensor {
  /** Set for a view: the tensor that owns the storage, and how to replay the view from it. */
  _base: Tensor | null = null;
  _viewSteps: readonly ViewStep[] | null = null;
  _gradFn: Node | null = null;
  _requiresGrad = false;
  _accumulator: AccumulateGrad | null = null;
  _leafHooks: TensorHook[] | null = null;
  _retainsGrad = false;
  grad: Tensor | null = null;

  constructor(
    readonly storage: Storage,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    readonly offset: number,
  ) {}

  get dtype(): DType {
    return this.storage.dtype;
  }
  get device(): Device {
    return this.storage.device;
  }
  get ndim(): number {
    return this.shape.length;
  }
  numel(): number {
    return numelOf(this.shape);
  }
  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.shape : this.shape[dim < 0 ? dim + this.ndim : dim];
  }
  dim(): number {
    return this.shape.length;
  }
  isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }
  /** A tensor is itself the strided view (Arg) handed to backends. */
  get buf(): Buf {
    return this.storage.buf;
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(v: boolean) {
    this.requiresGrad_(v);
  }
  requiresGrad_(v = true): this {
    if (this._gradFn !== null && !v) {
      throw new Error(
        'requiresGrad_: you can only change requires_grad flags of leaf variables. If you want to use a ' +
          'computed variable in a subgraph that does not require differentiation use detach().',
      );
    }
    if (v && this.dtype !== 'float32' && this.dtype !== 'float64' && this.dtype !== 'float16' && this.dtype !== 'bfloat16') {
      throw new TypeError(`requiresGrad_: only Tensors of floating point dtype can require gradients (got ${this.dtype})`);
    }
    this._requiresGrad = v;
    return this;
  }
  get gradFn(): Node | null {
    return this._gradFn;
  }
  get isLeaf(): boolean {
    return this._gradFn === null;
  }
  /** The graph node a gradient for this tensor flows into. */
  _gradEdge(): Node | null {
    if (this._gradFn) return this._gradFn;
    if (!this._requiresGrad) return null;
    return (this._accumulator ??= new AccumulateGrad(this));
  }
  retainGrad(): void {
    if (!this._requiresGrad) throw new Error("retainGrad: can't retain_grad on Tensor that has requires_grad=False");
    if (this._gradFn) this._gradFn.retainGradOf = new WeakRef(this);
    this._retainsGrad = true;
  }
  get retainsGrad(): boolean {
    return this._retainsGrad;
  }
  /** Runs fn with the gradient of this tensor; a returned tensor replaces that gradient. */
  registerHook(fn: TensorHook): { remove(): void } {
    if (!this._requiresGrad) {
      throw new Error("registerHook: cannot register a hook on a tensor that doesn't require gradient");
    }
    const list = this._gradFn ? (this._gradFn.hooks ??= []) : (this._leafHooks ??= []);
    list.push(fn);
    return {
      remove: () => {
        const i = list.indexOf(fn);
        if (i >= 0) list.splice(i, 1);
      },
    };
  }
  backward(gradient?: Tensor, opts?: BackwardOptions): void {
    backward([this], gradient ? [gradient] : undefined, opts);
  }
  detach(): Tensor {
    return C.detach(this);
  }
  detach_(): this {
    if (this._base !== null) throw new Error('detach_: Can\'t detach views in-place. Use detach() instead.');
    this._gradFn = null;
    this._requiresGrad = false;
    return this;
  }

  // ---- reading ----
  item(): number {
    return C.item(this);
  }
  toArray(): unknown {
    return C.toArray(this);
  }
  data(): TypedArray {
    return C.data(this);
  }
  tolist(): unknown {
    return C.toArray(this);
  }

  // ---- conversion ----
  to(target: DeviceLike | DType | Tensor, opts?: { dtype?: DType; device?: DeviceLike }): Tensor {
    return C.to(this, target, opts);
  }
  cpu(): Tensor {
    return C.to(this, 'cpu');
  }
  cuda(device = 'cuda'): Tensor {
    return C.to(this, device);
  }
  float(): Tensor {
    return C.to(this, 'float32');
  }
  double(): Tensor {
    return C.to(this, 'float64');
  }
  int(): Tensor {
    return C.to(this, 'int32');
  }
  bool(): Tensor {
    return C.to(this, 'bool');
  }
  type(dtype: DType): Tensor {
    return C.to(this, dtype);
  }
  clone(): Tensor {
    return C.clone(this);
  }
  contiguous(): Tensor {
    return C.contiguous(this);
  }

  // ---- elementwise ----
  add(o: TensorOrScalar, opts?: { alpha?: number }): Tensor {
    return E.add(this, o, opts);
  }
  sub(o: TensorOrScalar, opts?: { alpha?: number }): Tensor {
    return E.sub(this, o, opts);
  }
  mul(o: TensorOrScalar): Tensor {
    return E.mul(this, o);
  }
  div(o: TensorOrScalar): Tensor {
    return E.div(this, o);
  }
  pow(o: TensorOrScalar): Tensor {
    return E.pow(this, o);
  }
  maximum(o: TensorOrScalar): Tensor {
    return E.maximum(this, o);
  }
  minimum(o: TensorOrScalar): Tensor {
    return E.minimum(this, o);
  }
  eq(o: TensorOrScalar): Tensor {
    return E.eq(this, o);
  }
  ne(o: TensorOrScalar): Tensor {
    return E.ne(this, o);
  }
  lt(o: TensorOrScalar): Tensor {
    return E.lt(this, o);
  }
  le(o: TensorOrScalar): Tensor {
    return E.le(this, o);
  }
  gt(o: TensorOrScalar): Tensor {
    return E.gt(this, o);
  }
  ge(o: TensorOrScalar): Tensor {
    return E.ge(this, o);
  }
  neg(): Tensor {
    return E.neg(this);
  }
  abs(): Tensor {
    return E.abs(this);
  }
  sign(): Tensor {
    return E.sign(this);
  }
  exp(): Tensor {
    return E.exp(this);
  }
  log(): Tensor {
    return E.log(this);
  }
  log1p(): Tensor {
    return E.log1p(this);
  }
  sqrt(): Tensor {
    return E.sqrt(this);
  }
  rsqrt(): Tensor {
    return E.rsqrt(this);
  }
  square(): Tensor {
    return E.square(this);
  }
  reciprocal(): Tensor {
    return E.reciprocal(this);
  }
  sin(): Tensor {
    return E.sin(this);
  }
  cos(): Tensor {
    return E.cos(this);
  }
  tanh(): Tensor {
    return E.tanh(this);
  }
  sigmoid(): Tensor {
    return E.sigmoid(this);
  }
  relu(): Tensor {
    return E.relu(this);
  }
  erf(): Tensor {
    return E.erf(this);
  }
  gelu(opts?: { approximate?: 'none' | 'tanh' }): Tensor {
    return E.gelu(this, opts);
  }
  silu(): Tensor {
    return E.silu(this);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return E.clamp(this, min, max);
  }
  logicalNot(): Tensor {
    return E.logicalNot(this);
  }
  where(cond: Tensor, other: TensorOrScalar): Tensor {
    return E.where(cond, this, other);
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return E.maskedFill(this, mask, value);
  }
  isnan(): Tensor {
    return E.ne(this, this);
  }

  // ---- reductions ----
  sum(dim?: number | number[], keepdim?: boolean): Tensor {
    return R.sum(this, dim, keepdim);
  }
  mean(dim?: number | number[], keepdim?: boolean): Tensor {
    return R.mean(this, dim, keepdim);
  }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim?: boolean): Tensor | { values: Tensor; indices: Tensor } {
    return dim === undefined ? R.amax(this) : R.maxDim(this, dim, keepdim, 'max');
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim?: boolean): Tensor | { values: Tensor; indices: Tensor } {
    return dim === undefined ? R.amin(this) : R.maxDim(this, dim, keepdim, 'min');
  }
  amax(dim?: number | number[], keepdim?: boolean): Tensor {
    return R.amax(this, dim, keepdim);
  }
  amin(dim?: number | number[], keepdim?: boolean): Tensor {
    return R.amin(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim?: boolean): Tensor {
    return R.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim?: boolean): Tensor {
    return R.argmin(this, dim, keepdim);
  }
  var(dim?: number | number[], opts?: R.VarOptions): Tensor {
    return R.variance(this, dim, opts);
  }
  std(dim?: number | number[], opts?: R.VarOptions): Tensor {
    return R.std(this, dim, opts);
  }
  logsumexp(dim: number | number[], keepdim?: boolean): Tensor {
    return R.logsumexp(this, dim, keepdim);
  }
  softmax(dim: number): Tensor {
    return R.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return R.logSoftmax(this, dim);
  }

  // ---- linear algebra ----
  matmul(o: Tensor): Tensor {
    return L.matmul(this, o);
  }
  mm(o: Tensor): Tensor {
    return L.mm(this, o);
  }
  bmm(o: Tensor): Tensor {
    return L.bmm(this, o);
  }
  get T(): Tensor {
    return M.T(this);
  }
  get mT(): Tensor {
    return M.transpose(this, -2, -1);
  }
  t(): Tensor {
    return M.T(this);
  }

  // ---- shape and views ----
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return M.reshape(this, M.flatShapeArgs(shape));
  }
  view(...shape: (number | readonly number[])[]): Tensor {
    return M.view(this, M.flatShapeArgs(shape));
  }
  flatten(start = 0, end = -1): Tensor {
    return M.flatten(this, start, end);
  }
  permute(...dims: (number | readonly number[])[]): Tensor {
    return M.permute(this, M.flatShapeArgs(dims));
  }
  transpose(d0: number, d1: number): Tensor {
    return M.transpose(this, d0, d1);
  }
  unsqueeze(dim: number): Tensor {
    return M.unsqueeze(this, dim);
  }
  squeeze(dim?: number | number[]): Tensor {
    return M.squeeze(this, dim);
  }
  expand(...shape: (number | readonly number[])[]): Tensor {
    return M.expand(this, M.flatShapeArgs(shape));
  }
  expandAs(o: Tensor): Tensor {
    return M.expand(this, o.shape);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return M.narrow(this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return M.select(this, dim, index);
  }
  slice(dim: number, start?: number, end?: number, step?: number): Tensor {
    return M.slice(this, dim, start, end, step);
  }
  index(...spec: IndexSpec[]): Tensor {
    return I.index(this, spec);
  }
  split(sizeOrSections: number | number[], dim = 0): Tensor[] {
    return M.split(this, sizeOrSections, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return M.chunk(this, chunks, dim);
  }
  unbind(dim = 0): Tensor[] {
    return M.unbind(this, dim);
  }
  repeat(...repeats: (number | readonly number[])[]): Tensor {
    return M.repeat(this, M.flatShapeArgs(repeats));
  }
  gather(dim: number, index: Tensor): Tensor {
    return I.gather(this, dim, index);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return I.scatterAdd(this, dim, index, src);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return I.indexSelect(this, dim, index);
  }

  // ---- in place ----
  add_(o: TensorOrScalar, opts?: { alpha?: number }): this {
    return P.binary_(this, 'add', o, 'add_', (x) => E.add(x, o, opts), opts?.alpha);
  }
  sub_(o: TensorOrScalar, opts?: { alpha?: number }): this {
    return P.binary_(this, 'sub', o, 'sub_', (x) => E.sub(x, o, opts), opts?.alpha);
  }
  mul_(o: TensorOrScalar): this {
    return P.binary_(this, 'mul', o, 'mul_', (x) => E.mul(x, o));
  }
  div_(o: TensorOrScalar): this {
    return P.binary_(this, 'div', o, 'div_', (x) => E.div(x, o));
  }
  pow_(o: TensorOrScalar): this {
    return P.inplace(this, (x) => E.pow(x, o), 'pow_', o);
  }
  neg_(): this {
    return P.unary_(this, 'neg', 'neg_', (x) => E.neg(x));
  }
  exp_(): this {
    return P.unary_(this, 'exp', 'exp_', (x) => E.exp(x));
  }
  sqrt_(): this {
    return P.unary_(this, 'sqrt', 'sqrt_', (x) => E.sqrt(x));
  }
  relu_(): this {
    return P.unary_(this, 'relu', 'relu_', (x) => E.relu(x));
  }
  sigmoid_(): this {
    return P.unary_(this, 'sigmoid', 'sigmoid_', (x) => E.sigmoid(x));
  }
  tanh_(): this {
    return P.unary_(this, 'tanh', 'tanh_', (x) => E.tanh(x));
  }
  clamp_(min?: number | null, max?: number | null): this {
    return P.inplace(this, (x) => E.clamp(x, min, max), 'clamp_');
  }
  maskedFill_(mask: Tensor, value: number): this {
    return P.inplace(this, (x) => E.maskedFill(x, mask, value), 'maskedFill_', mask);
  }
  // the product (quotient) is computed first and added through add_'s path, which writes straight
  // into this when nothing is recorded (optimizer steps): no temporary for the sum, no copy back
  addcmul_(a: Tensor, b: Tensor, opts?: { value?: number }): this {
    const v = opts?.value ?? 1;
    const t = v === 1 ? E.mul(a, b) : E.mul(E.mul(a, b), v);
    return P.binary_(this, 'add', t, 'addcmul_', (x) => E.add(x, t));
  }
  addcdiv_(a: Tensor, b: Tensor, opts?: { value?: number }): this {
    const v = opts?.value ?? 1;
    const t = v === 1 ? E.div(a, b) : E.mul(E.div(a, b), v);
    return P.binary_(this, 'add', t, 'addcdiv_', (x) => E.add(x, t));
  }
  lerp_(end: Tensor, weight: number): this {
    return P.inplace(this, (x) => E.add(x, E.mul(E.sub(end, x), weight)), 'lerp_', end);
  }
  zero_(): this {
    return P.fill_(this, 0);
  }
  fill_(value: number): this {
    return P.fill_(this, value);
  }
  copy_(src: Tensor): this {
    return P.copy_(this, src);
  }
  uniform_(low = 0, high = 1): this {
    return P.random_(this, 'uniform', low, high);
  }
  normal_(mean = 0, std = 1): this {
    return P.random_(this, 'normal', mean, std);
  }

  /** Frees the storage now (shared with views); for `using` and tight loops. */
  dispose(): void {
    disposeTensor(this);
  }
  [Symbol.dispose](): void {
    disposeTensor(this);
  }

  // ---- display ----
  toString(): string {
    return formatTensorOf(this);
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return formatTensorOf(this);
  }
  [Symbol.for('Jupyter.display')](): Record<string, unknown> {
    const text = formatTensorOf(this);
    return richTensorDisplay ? { ...richTensorDisplay(this), 'text/plain': text } : { 'text/plain': text };
  }
}

/** The rich view (runtime/viz) registers itself here, so tensor.ts need not import it. */
let richTensorDisplay: ((t: Tensor) => Record<string, unknown>) | undefined;
export function setTensorDisplay(fn: (t: Tensor) => Record<string, unknown>): void {
  richTensorDisplay = fn;
}

/** A tensor that owns fresh contiguous storage. */
export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
