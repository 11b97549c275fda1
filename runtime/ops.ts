/**
 * The primitive ops: the only computations a backend implements and the only ops with gradient
 * rules. Everything else (softmax, gelu, losses, layers, mean, var, ...) is composed of these.
 * A test pins the count: adding a primitive is a decision, not an accident.
 */

export const UNARY_OPS = [
  'neg',
  'abs',
  'sign',
  'exp',
  'log',
  'log1p',
  'sqrt',
  'rsqrt',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'erf',
  'logicalNot',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/**
 * reluBackward(g, y) is relu's gradient, PyTorch's threshold_backward(g, y, 0): g where y > 0 or y is
 * NaN, else 0 (selected, so a NaN or inf g is dropped where y <= 0). One pass instead of a compare
 * and a where; internal to the gradient rules.
 */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'reluBackward'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export const COMPARE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

export const REDUCE_OPS = ['sum', 'amax', 'amin'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

export const ARG_REDUCE_OPS = ['argmax', 'argmin'] as const;
export type ArgReduceOp = (typeof ARG_REDUCE_OPS)[number];

/** Ops that only rearrange a tensor's view (shape, strides, offset) and never touch its data. */
export const VIEW_OPS = ['view', 'permute', 'expand', 'slice'] as const;
export type ViewOp = (typeof VIEW_OPS)[number];

/** Ops that move or combine data without arithmetic, plus the rest. */
export const DATA_OPS = [
  'copy', // strided copy with dtype conversion: contiguous(), to(dtype), cast
  'where',
  'cat',
  'matmul',
  'gather',
  'scatterAdd',
  'indexSelect',
  'indexAdd',
  'sliceScatter', // base with a view of it replaced by src: the backward of slice, in-place on views
  'fill',
  // x - log(sum(exp(x))) along a dim, and its gradient g - exp(y) * sum(g) given y: the classifier's
  // loss in one kernel each way instead of six and five small ones (PyTorch's _log_softmax and
  // _log_softmax_backward_data)
  'logSoftmax',
  'logSoftmaxBackward',
  // scale * sum_i x[i, t[i]] over rows of [N, C] log-probabilities, and its gradient (scale * g at
  // each row's target, 0 elsewhere): nll_loss's mean and sum in one kernel each way instead of
  // four small ones (PyTorch's nll_loss and nll_loss_backward)
  'nllLoss',
  'nllLossBackward',
] as const;
export type DataOp = (typeof DATA_OPS)[number];

export type PrimitiveOp = UnaryOp | BinaryOp | CompareOp | ReduceOp | ArgReduceOp | ViewOp | DataOp;

export const PRIMITIVE_OPS: readonly PrimitiveOp[] = [
  ...UNARY_OPS,
  ...BINARY_OPS,
  ...COMPARE_OPS,
  ...REDUCE_OPS,
  ...ARG_REDUCE_OPS,
  ...VIEW_OPS,
  ...DATA_OPS,
];

export function isUnaryOp(op: string): op is UnaryOp {
  return (UNARY_OPS as readonly string[]).includes(op);
}
export function isCompareOp(op: string): op is CompareOp {
  return (COMPARE_OPS as readonly string[]).includes(op);
}
