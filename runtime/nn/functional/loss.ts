/** Loss functions with PyTorch's reductions, ignore_index, class weights and label smoothing. */
import { Tensor } from '../../tensor.js';
import { fromHost } from '../../functional/creation.js';
import * as E from '../../functional/elementwise.js';
import * as R from '../../functional/reduce.js';
import { permute, reshape } from '../../functional/movement.js';
import { gather, indexSelect } from '../../functional/indexing.js';
import { data } from '../../functional/convert.js';
import { isFloating } from '../../dtype.js';
import { renamed } from '../../functional/naming.js';
import * as P from '../../prims.js';
import { sameShape, shapeStr } from '../../shape.js';

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(op: string, loss: Tensor, reduction: Reduction | undefined): Tensor {
  switch (reduction ?? 'mean') {
    case 'mean':
      return R.mean(loss);
    case 'sum':
      return R.sum(loss);
    case 'none':
      return loss;
    default:
      throw new RangeError(`${op}: ${JSON.stringify(reduction)} is not a valid value for reduction (use 'mean', 'sum' or 'none')`);
  }
}

function checkTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected ${name} to be a Tensor, got ${x === null ? 'null' : typeof x}`);
}

export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  checkTensor('mseLoss', 'input', input);
  checkTensor('mseLoss', 'target', target);
  const d = E.sub(input, target);
  return reduce('mseLoss', E.mul(d, d), opts.reduction);
}

export interface NLLOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
}

/** Input [N, C, d1...] (or [C]) as rows [M, C], target as [M], and the shape 'none' returns. */
function flattenClasses(op: string, input: Tensor, target: Tensor): { rows: Tensor; t: Tensor; outShape: number[]; C: number } {
  if (target.dtype !== 'int32') {
    throw new TypeError(`${op}: expected class-index targets of dtype int32, got ${target.dtype} (probability targets need a float tensor of the input's shape)`);
  }
  if (input.ndim === 0) throw new RangeError(`${op}: input must have at least 1 dim (classes), got a 0-d tensor`);
  if (input.ndim === 1) {
    if (target.ndim !== 0) throw new RangeError(`${op}: for 1-D input ${shapeStr(input.shape)} expected a 0-d target, got ${shapeStr(target.shape)}`);
    return { rows: reshape(input, [1, -1]), t: reshape(target, [1]), outShape: [], C: input.shape[0] };
  }
  const C = input.shape[1];
  const expected = [input.shape[0], ...input.shape.slice(2)];
  if (!sameShape(expected, target.shape)) {
    throw new RangeError(
      input.shape[0] !== target.shape[0]
        ? `${op}: Expected input batch_size (${input.shape[0]}) to match target batch_size (${target.shape[0]}).`
        : `${op}: expected target of shape ${shapeStr(expected)} for input ${shapeStr(input.shape)}, got ${shapeStr(target.shape)}`,
    );
  }
  const rows = input.ndim === 2 ? input : reshape(permute(input, [0, ...input.shape.slice(2).map((_, i) => i + 2), 1]), [-1, C]);
  return { rows, t: reshape(target, [-1]), outShape: expected, C };
}

/**
 * Per-row class indices with ignored rows pointed at class 0, and the per-row weight
 * (class weight, 0 where ignored). Targets are checked on the host, as PyTorch's kernels do.
 */
function targetsAndWeights(op: string, t: Tensor, C: number, like: Tensor, weight: Tensor | null | undefined, ignoreIndex: number) {
  const { safe, keep } = checkedTargets(op, t, C, ignoreIndex);
  const safeT = fromHost(safe, [safe.length], 'int32', like.device);
  let w = fromHost(keep, [keep.length], like.dtype, like.device);
  if (weight != null) {
    if (weight.ndim !== 1 || weight.shape[0] !== C) {
      throw new RangeError(`${op}: weight tensor should be defined either for all ${C} classes or no classes but got weight tensor of shape: ${shapeStr(weight.shape)}`);
    }
    w = E.mul(indexSelect(weight, 0, safeT), w);
  }
  return { safeT, w, mask: keep };
}

/** The targets read on the host and range-checked; ignored rows point at class 0 with keep 0. */
function checkedTargets(op: string, t: Tensor, C: number, ignoreIndex: number) {
  const vals = data(t) as Int32Array;
  const safe = new Int32Array(vals.length);
  const keep = new Float64Array(vals.length);
  let ignored = 0;
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    if (v === ignoreIndex) {
      ignored++;
      continue;
    }
    if (v < 0 || v >= C) throw new RangeError(`${op}: Target ${v} is out of bounds (${C} classes).`);
    safe[i] = v;
    keep[i] = 1;
  }
  return { safe, keep, ignored };
}

/** Negative log likelihood of class-index targets, given log-probabilities. */
export function nllLoss(input: Tensor, target: Tensor, opts: NLLOptions = {}): Tensor {
  // one node in PyTorch's graph, whatever the reduction and weights
  return renamed(nllLossComposite(input, target, opts), 'NllLossBackward0', input);
}

function nllLossComposite(input: Tensor, target: Tensor, opts: NLLOptions): Tensor {
  checkTensor('nllLoss', 'input', input);
  checkTensor('nllLoss', 'target', target);
  const { rows, t, outShape, C } = flattenClasses('nllLoss', input, target);
  const ignoreIndex = opts.ignoreIndex ?? -100;
  if (opts.weight == null && t.device === rows.device && checkedTargets('nllLoss', t, C, ignoreIndex).ignored === 0) {
    // every row counts with weight 1: the per-row weights would multiply by 1 and sum to the
    // row count, so leave them out (the same values, three ops fewer each step)
    const reduction = opts.reduction ?? 'mean';
    if ((reduction === 'mean' || reduction === 'sum') && rows.shape[0] > 0 && isFloating(rows.dtype)) {
      // the sum of the picked log-probabilities, negated and scaled, in one primitive each way
      return P.nllLoss(rows, t, reduction === 'mean' ? -1 / rows.shape[0] : -1);
    }
    const loss = E.neg(reshape(gather(rows, 1, reshape(t, [-1, 1])), [-1]));
    if (reduction === 'none') return reshape(loss, outShape);
    if (reduction === 'sum') return R.sum(loss);
    if (reduction === 'mean') return E.div(R.sum(loss), t.numel());
    return reduce('nllLoss', loss, reduction);
  }
  const { safeT, w } = targetsAndWeights('nllLoss', t, C, rows, opts.weight, ignoreIndex);
  const picked = reshape(gather(rows, 1, reshape(safeT, [-1, 1])), [-1]);
  const loss = E.neg(E.mul(picked, w));
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'none') return reshape(loss, outShape);
  if (reduction === 'sum') return R.sum(loss);
  if (reduction === 'mean') return E.div(R.sum(loss), R.sum(w));
  return reduce('nllLoss', loss, reduction);
}

export interface CrossEntropyOptions extends NLLOptions {
  labelSmoothing?: number;
}

/**
 * logSoftmax over the class dim (1, or 0 for unbatched input) followed by nllLoss; targets are
 * int32 class indices or, with a float tensor of the input's shape, class probabilities.
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  checkTensor('crossEntropy', 'input', input);
  checkTensor('crossEntropy', 'target', target);
  const ls = opts.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls <= 1)) throw new RangeError(`crossEntropy: label_smoothing must be between 0.0 and 1.0. Got: ${ls}`);
  const classDim = input.ndim === 1 ? 0 : 1;
  const logp = R.logSoftmax(input, classDim);
  const C = input.shape[classDim];
  const wshape = input.shape.map((s, i) => (i === classDim ? s : 1));
  const reduction = opts.reduction ?? 'mean';
  if (isFloating(target.dtype)) {
    if (!sameShape(target.shape, input.shape)) {
      throw new RangeError(`crossEntropy: probability targets must have the input's shape ${shapeStr(input.shape)}, got ${shapeStr(target.shape)}`);
    }
    const tgt = ls > 0 ? E.add(E.mul(target, 1 - ls), ls / C) : target;
    let prod = E.mul(logp, tgt);
    if (opts.weight != null) prod = E.mul(prod, reshape(opts.weight, wshape));
    const loss = E.neg(R.sum(prod, classDim));
    if (reduction === 'mean') return E.div(R.sum(loss), input.numel() / C);
    return reduce('crossEntropy', loss, reduction);
  }
  const nll = nllLoss(logp, target, opts);
  if (ls === 0) return nll;
  // PyTorch's label smoothing: (1 - ls) * nll + ls / C * (the loss against a uniform target)
  const { rows, t } = flattenClasses('crossEntropy', logp, target);
  const { w, mask } = targetsAndWeights('crossEntropy', t, C, rows, opts.weight, opts.ignoreIndex ?? -100);
  const weighted = opts.weight != null ? E.mul(rows, reshape(opts.weight, [1, C])) : rows;
  const keep = fromHost(mask, [mask.length], rows.dtype, rows.device);
  const smooth = E.mul(E.neg(R.sum(weighted, 1)), keep);
  let ret: Tensor;
  if (reduction === 'none') ret = reshape(smooth, nll.shape);
  else if (reduction === 'sum') ret = R.sum(smooth);
  else ret = E.div(R.sum(smooth), opts.weight != null ? R.sum(w) : R.sum(keep));
  return E.add(E.mul(nll, 1 - ls), E.mul(ret, ls / C));
}

export interface BCEOptions {
  weight?: Tensor | null;
  posWeight?: Tensor | null;
  reduction?: Reduction;
}

/** Binary cross-entropy on logits, in PyTorch's stable form (log-sum-exp with the max taken out). */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BCEOptions = {}): Tensor {
  checkTensor('binaryCrossEntropyWithLogits', 'input', input);
  checkTensor('binaryCrossEntropyWithLogits', 'target', target);
  if (!sameShape(input.shape, target.shape)) {
    throw new RangeError(`binaryCrossEntropyWithLogits: Target size (${shapeStr(target.shape)}) must be the same as input size (${shapeStr(input.shape)})`);
  }
  const maxVal = E.clamp(E.neg(input), 0);
  // log(exp(-max) + exp(-x - max)) + max = log(1 + exp(-x))
  const softplusNeg = E.add(E.log(E.add(E.exp(E.neg(maxVal)), E.exp(E.sub(E.neg(input), maxVal)))), maxVal);
  const oneMinusT = E.sub(1, target);
  let loss: Tensor;
  if (opts.posWeight != null) {
    const logWeight = E.add(E.mul(E.sub(opts.posWeight, 1), target), 1);
    loss = E.add(E.mul(oneMinusT, input), E.mul(logWeight, softplusNeg));
  } else {
    loss = E.add(E.mul(oneMinusT, input), softplusNeg);
  }
  if (opts.weight != null) loss = E.mul(loss, opts.weight);
  return reduce('binaryCrossEntropyWithLogits', loss, opts.reduction);
}
