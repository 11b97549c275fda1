/**
 * The narrow interface every device implements. It is written for a device that is not the CPU:
 * kernels are enqueued and may run later, buffers are opaque handles, and only `read` brings data
 * back (synchronising). Tensor and autograd code never see more than this.
 *
 * Inputs of elementwise kernels arrive already broadcast to the output's shape (stride 0 on the
 * broadcast dims) and already converted to the computation dtype; the output may alias an input
 * (in-place ops) when their views are identical.
 */
import type { DType, TypedArray } from './dtype.js';
import type { ArgReduceOp, BinaryOp, CompareOp, PrimitiveOp, ReduceOp, UnaryOp } from './ops.js';

/** An opaque device allocation. Backends attach whatever they need; tensor code only passes it on. */
export interface Buf {
  readonly nbytes: number;
}

/** A strided view of a buffer, in elements. */
export interface Arg {
  readonly buf: Buf;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export interface Backend {
  /** 'reference', 'cpu', 'cuda'. */
  readonly name: string;
  /** The device type tensors on this backend report: 'cpu' or 'cuda'. */
  readonly deviceType: 'cpu' | 'cuda';
  supports(op: PrimitiveOp, dtype: DType): boolean;

  /**
   * Contents are unspecified: a backend may hand back memory freed earlier (the CPU backend's pool,
   * CUDA's caching allocator), so every kernel writes its whole output.
   */
  alloc(dtype: DType, numel: number): Buf;
  /** Frees now instead of at garbage collection; later use of the buffer is an error. */
  free(buf: Buf): void;
  /** Copies host data into the buffer starting at element `offset`. */
  write(buf: Buf, dtype: DType, data: TypedArray, offset?: number): void;
  /** Returns a contiguous host copy of the view; waits for pending work on it. */
  read(src: Arg): TypedArray;
  /** Waits until every enqueued kernel has finished; reports a kernel's asynchronous failure. */
  sync(): void;

  unary(op: UnaryOp, out: Arg, a: Arg): void;
  /**
   * `out` has the dtype of a and b. For add and sub, `alpha` (default 1) scales b first:
   * out = a + alpha * b (PyTorch's add with alpha, one pass instead of a multiply and an add).
   * Integer and bool outputs get an integral alpha; int32 arithmetic wraps.
   */
  binary(op: BinaryOp, out: Arg, a: Arg, b: Arg, alpha?: number): void;
  /** `out` is bool. */
  compare(op: CompareOp, out: Arg, a: Arg, b: Arg): void;
  where(out: Arg, cond: Arg, a: Arg, b: Arg): void;
  /** Elementwise copy between views, converting dtype when out.dtype differs from src.dtype. */
  copy(out: Arg, src: Arg): void;
  fill(out: Arg, value: number): void;
  /** out has a's shape with the reduced axes kept as size 1. */
  reduce(op: ReduceOp, out: Arg, a: Arg, axes: readonly number[]): void;
  /** out (int32) has a's shape with `axis` kept as size 1. */
  argReduce(op: ArgReduceOp, out: Arg, a: Arg, axis: number): void;
  /** Batched: a [B, M, K], b [B, K, N], out [B, M, N]; any strides (0 on a broadcast batch). */
  matmul(out: Arg, a: Arg, b: Arg): void;
  /** out[..i..] = a[..index[..i..]..] along dim; out has index's shape. */
  gather(out: Arg, a: Arg, dim: number, index: Arg): void;
  /** out[..index[..i..]..] += src[..i..] along dim, in place on out. */
  scatterAdd(out: Arg, dim: number, index: Arg, src: Arg): void;
  /** out = a with dim indexed by a 1-D int32 index. */
  indexSelect(out: Arg, a: Arg, dim: number, index: Arg): void;
  /** out[.., index[i], ..] += src[.., i, ..] along dim, in place on out. */
  indexAdd(out: Arg, dim: number, index: Arg, src: Arg): void;
  /**
   * Floating dtypes; out has a's shape. Along dim: (a - max) - log(sum(exp(a - max))), computed
   * without rounding between the steps; a NaN in a row, or a +inf, or a row of -inf, gives NaNs.
   */
  logSoftmax(out: Arg, a: Arg, dim: number): void;
  /** Floating dtypes, one shape: out = g - exp(y) * sum(g along dim), y being logSoftmax's output. */
  logSoftmaxBackward(out: Arg, g: Arg, y: Arg, dim: number): void;
  /**
   * out (0-d) = scale * sum over i of a[i, target[i]], summed in float64 and rounded once; a is
   * [N, C] floating, target [N] int32 with values in [0, C) (checked by the kernel).
   */
  nllLoss(out: Arg, a: Arg, target: Arg, scale: number): void;
  /** out [N, C] = 0 except out[i, target[i]] = scale * g, g being 0-d of out's dtype. */
  nllLossBackward(out: Arg, g: Arg, target: Arg, scale: number): void;
}

const registry = new Map<string, Backend>();

export function registerBackend(deviceType: string, backend: Backend): void {
  registry.set(deviceType, backend);
}

export function backendFor(deviceType: string): Backend | undefined {
  return registry.get(deviceType);
}
