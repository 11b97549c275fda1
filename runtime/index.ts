/** gradbook's public surface (see API.md): tensors, ops, autograd. */
export { Tensor, Storage, isTensor } from './tensor.js';
export type { Scalar, TensorOrScalar, IndexSpec } from './tensor.js';
export type { DType, TypedArray } from './dtype.js';
export type { Device, DeviceLike } from './device.js';
export * from './functional/creation.js';
export {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, neg, abs, sign, exp, log, log1p, sqrt,
  rsqrt, sin, cos, tanh, sigmoid, relu, erf, logicalNot, square, reciprocal, gelu, silu, clamp, where, maskedFill,
  resultType,
} from './functional/elementwise.js';
export { sum, mean, amax, amin, argmax, argmin, variance as var, std, logsumexp, softmax, logSoftmax } from './functional/reduce.js';
export {
  reshape, view, flatten, permute, transpose, unsqueeze, squeeze, expand, narrow, select, slice, split, chunk, unbind,
  cat, stack, repeat,
} from './functional/movement.js';
export { gather, scatterAdd, indexSelect, index } from './functional/indexing.js';
export { matmul, mm, bmm } from './functional/linalg.js';
export { detach, clone, contiguous } from './functional/convert.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd/mode.js';
export { manualSeed, Generator } from './random.js';
export { tidy, keep, dispose } from './memory.js';
export { flags, withFlags, setDefaultDtype, getDefaultDtype, setPrintOptions } from './flags.js';
export { addObserver, withModule, Interrupted } from './dispatch.js';
export type { OpEvent, Observer } from './dispatch.js';
export { PRIMITIVE_OPS } from './ops.js';
export { registerBackend } from './backend.js';
export type { Backend, Buf, Arg } from './backend.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export { save, load } from './io/index.js';
import { backward, grad, detectAnomaly } from './autograd/engine.js';

export const autograd = { backward, grad, detectAnomaly };

/**
 * CUDA devices: gb.cuda.isAvailable(), deviceCount(), synchronize(), memoryStats(), emptyCache(),
 * unavailableReason(). Importing it registers the CUDA backend where a GPU is usable.
 */
export { cuda } from './backends/cuda/index.js';
export type { CudaMemoryStats } from './backends/cuda/index.js';

/** Views: gb.viz.summary, graph, line, scatter, hist, heatmap, image, live, term (see runtime/viz). */
export * as viz from './viz/index.js';
export { progress } from './viz/live.js';
