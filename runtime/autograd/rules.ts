/**
 * The gradient rules: one entry per primitive op, or null for ops with no derivative. The Record
 * type makes a missing entry a compile error. Rules are written with tensor ops, so a backward run
 * with createGraph records its own graph and higher derivatives come for free.
 */
import type { PrimitiveOp } from '../ops.js';
import type { GradContext } from './node.js';
import type { Tensor } from '../tensor.js';
import type { BinaryAttrs, DimAttrs, NllAttrs, ReduceAttrs, SliceAttrs, ViewStep } from '../prims.js';
import * as P from '../prims.js';
import { broadcastShapes, sameShape } from '../shape.js';
import { add, div, mul, neg, sub, where, sumTo, scalarLike } from '../functional/elementwise.js';
import { zerosLikeShape } from '../functional/creation.js';
import { reshape, transpose } from '../functional/movement.js';
import { sum } from '../functional/reduce.js';
import { binaryInto } from '../functional/inplace.js';

export interface Rule<A = any> {
  /** PyTorch's name for the node. */
  name: string;
  save?: (inputs: readonly Tensor[], out: Tensor, attrs: A) => Tensor[];
  backward: (g: Tensor, ctx: GradContext<A>) => (Tensor | null)[];
}

/** The gradient for input i: summed over broadcast dims and cast back to its dtype. */
function unb(g: Tensor, ctx: GradContext, i: number): Tensor {
  const r = sumTo(g, ctx.inShapes[i]);
  return r.dtype === ctx.inDtypes[i] ? r : P.copy(r, ctx.inDtypes[i] as Tensor['dtype']);
}

/**
 * One input's gradient of a matmul, x @ y, laid out as the input is (PyTorch's mm_mat1_backward and
 * mm_mat2_backward): for an input that is a transposed view, such as the `w.t()` of a linear layer,
 * the product is computed transposed, (y^T @ x^T)^T, so the gradient that reaches `w` is
 * contiguous and the optimizer's elementwise updates run on contiguous memory.
 */
function matmulGrad(x: Tensor, y: Tensor, input: Tensor, inShape: readonly number[]): Tensor {
  const n = input.dim();
  if (
    n >= 2 &&
    input.shape[n - 1] > 1 &&
    input.shape[n - 2] > 1 &&
    !input.isContiguous() &&
    transpose(input, -2, -1).isContiguous() &&
    // no batch dims summed away: the product already has the input's shape
    sameShape(broadcastShapes('matmul', x.shape.slice(0, -2), y.shape.slice(0, -2)), inShape.slice(0, -2))
  ) {
    return transpose(P.matmul(transpose(y, -2, -1), transpose(x, -2, -1)), -2, -1);
  }
  return sumTo(P.matmul(x, y), inShape);
}

const x0 = (ins: readonly Tensor[]) => [ins[0]];
const outOnly = (_: readonly Tensor[], out: Tensor) => [out];
const both = (ins: readonly Tensor[]) => [ins[0], ins[1]];
const c = (g: Tensor, v: number) => scalarLike(g, v);

const unaryRule = (name: string, save: Rule['save'], f: (g: Tensor, s: Tensor) => Tensor): Rule => ({
  name,
  save,
  backward: (g, ctx) => [f(g, ctx.saved(0))],
});

function keepdimGrad(g: Tensor, ctx: GradContext<ReduceAttrs>): Tensor {
  const { axes, keepdim } = ctx.attrs;
  const inShape = ctx.inShapes[0];
  return keepdim ? g : reshape(g, inShape.map((s, i) => (axes.includes(i) ? 1 : s)));
}

function extremumRule(name: string): Rule<ReduceAttrs> {
  // Ties share the gradient evenly, as PyTorch's amax/amin and full max()/min().
  return {
    name,
    save: (ins, out) => [ins[0], out],
    backward: (g, ctx) => {
      const x = ctx.saved(0);
      const outK = keepdimGrad(ctx.saved(1), ctx);
      const mask = P.copy(P.compare('eq', x, P.expand(outK, x.shape)), x.dtype);
      const count = sum(mask, [...ctx.attrs.axes], true);
      return [mul(div(keepdimGrad(g, ctx), count), mask)];
    },
  };
}

function inversePerm(dims: readonly number[]): number[] {
  const inv = new Array<number>(dims.length);
  dims.forEach((d, i) => (inv[d] = i));
  return inv;
}

export const rules: Record<PrimitiveOp, Rule | null> = {
  neg: { name: 'NegBackward0', backward: (g) => [neg(g)] },
  abs: unaryRule('AbsBackward0', x0, (g, x) => mul(g, P.unary('sign', x))),
  sign: { name: 'SignBackward0', backward: (g) => [zerosLikeShape(g, g.shape)] },
  exp: unaryRule('ExpBackward0', outOnly, (g, out) => mul(g, out)),
  log: unaryRule('LogBackward0', x0, (g, x) => div(g, x)),
  log1p: unaryRule('Log1PBackward0', x0, (g, x) => div(g, add(x, c(x, 1)))),
  sqrt: unaryRule('SqrtBackward0', outOnly, (g, out) => div(g, mul(out, c(out, 2)))),
  rsqrt: unaryRule('RsqrtBackward0', outOnly, (g, out) => mul(g, mul(c(out, -0.5), mul(out, mul(out, out))))),
  sin: unaryRule('SinBackward0', x0, (g, x) => mul(g, P.unary('cos', x))),
  cos: unaryRule('CosBackward0', x0, (g, x) => neg(mul(g, P.unary('sin', x)))),
  tanh: unaryRule('TanhBackward0', outOnly, (g, out) => mul(g, sub(c(out, 1), mul(out, out)))),
  sigmoid: unaryRule('SigmoidBackward0', outOnly, (g, out) => mul(g, mul(out, sub(c(out, 1), out)))),
  // PyTorch's threshold_backward: the gradient where the output is positive (or NaN), else 0, in
  // one kernel that selects (a mask multiplied in would turn a NaN or inf gradient into NaN)
  relu: {
    name: 'ReluBackward0',
    save: outOnly,
    backward: (g, ctx) => {
      const out = ctx.saved(0);
      // into the incoming gradient when the walk owns it: one fresh [N, features] buffer fewer
      if (ctx.gradOwned && g.dtype === out.dtype && sameShape(g.shape, out.shape)) return [binaryInto(g, 'reluBackward', g, out)];
      return [P.binary('reluBackward', g, out)];
    },
  },
  erf: unaryRule('ErfBackward0', x0, (g, x) =>
    mul(g, mul(c(x, 2 / Math.sqrt(Math.PI)), P.unary('exp', neg(mul(x, x))))),
  ),
  logicalNot: null,

  add: {
    name: 'AddBackward0',
    backward: (g, ctx: GradContext<BinaryAttrs>) => [
      ctx.needs(0) ? unb(g, ctx, 0) : null,
      ctx.needs(1) ? unb(ctx.attrs && ctx.attrs.alpha !== 1 ? mul(g, ctx.attrs.alpha) : g, ctx, 1) : null,
    ],
  },
  sub: {
    name: 'SubBackward0',
    backward: (g, ctx: GradContext<BinaryAttrs>) => [
      ctx.needs(0) ? unb(g, ctx, 0) : null,
      ctx.needs(1) ? unb(ctx.attrs ? mul(g, -ctx.attrs.alpha) : neg(g), ctx, 1) : null,
    ],
  },
  mul: {
    name: 'MulBackward0',
    save: both,
    backward: (g, ctx) => [
      ctx.needs(0) ? unb(mul(g, ctx.saved(1)), ctx, 0) : null,
      ctx.needs(1) ? unb(mul(g, ctx.saved(0)), ctx, 1) : null,
    ],
  },
  div: {
    name: 'DivBackward0',
    save: both,
    backward: (g, ctx) => {
      const a = ctx.saved(0);
      const b = ctx.saved(1);
      return [ctx.needs(0) ? unb(div(g, b), ctx, 0) : null, ctx.needs(1) ? unb(neg(div(mul(g, a), mul(b, b))), ctx, 1) : null];
    },
  },
  pow: {
    name: 'PowBackward1',
    save: (ins, out) => [ins[0], ins[1], out],
    backward: (g, ctx) => {
      const a = ctx.saved(0);
      const b = ctx.saved(1);
      const out = ctx.saved(2);
      const da = mul(g, mul(b, P.binary('pow', a, sub(b, c(b, 1)))));
      // d/db a^b = a^b log a, taken as 0 where a == 0 and b >= 0 (PyTorch's convention)
      const zeroBase = P.binary('mul', P.copy(P.compare('eq', a, c(a, 0)), a.dtype), P.copy(P.compare('ge', b, c(b, 0)), a.dtype));
      const db = mul(g, where(P.compare('gt', zeroBase, c(a, 0)), c(a, 0), mul(out, P.unary('log', a))));
      return [unb(da, ctx, 0), unb(db, ctx, 1)];
    },
  },
  maximum: extremumPairRule('MaximumBackward0', 'gt'),
  minimum: extremumPairRule('MinimumBackward0', 'lt'),
  // relu's gradient is piecewise constant in y: only g carries a derivative (a double backward)
  reluBackward: {
    name: 'ThresholdBackwardBackward0',
    save: (ins) => [ins[1]],
    backward: (g, ctx) => [unb(P.binary('reluBackward', g, ctx.saved(0)), ctx, 0), null],
  },

  eq: null,
  ne: null,
  lt: null,
  le: null,
  gt: null,
  ge: null,

  sum: {
    name: 'SumBackward1',
    backward: (g, ctx: GradContext<ReduceAttrs>) => [P.expand(keepdimGrad(g, ctx), ctx.inShapes[0])],
  },
  amax: extremumRule('AmaxBackward0'),
  amin: extremumRule('AminBackward0'),
  argmax: null,
  argmin: null,

  view: { name: 'ViewBackward0', backward: (g, ctx) => [reshape(g, ctx.inShapes[0])] },
  permute: {
    name: 'PermuteBackward0',
    backward: (g, ctx: GradContext<{ dims: readonly number[] }>) => [P.permute(g, inversePerm(ctx.attrs.dims))],
  },
  expand: { name: 'ExpandBackward0', backward: (g, ctx) => [sumTo(g, ctx.inShapes[0])] },
  slice: {
    name: 'SliceBackward0',
    backward: (g, ctx: GradContext<SliceAttrs>) => {
      const step: ViewStep = { op: 'slice', ...ctx.attrs };
      return [P.sliceScatter(zerosLikeShape(g, ctx.inShapes[0]), g, [step])];
    },
  },

  copy: {
    name: 'ToCopyBackward0',
    backward: (g, ctx: GradContext<P.CopyAttrs>) => [
      g.dtype === ctx.inDtypes[0] && g.device === ctx.attrs.srcDevice
        ? g
        : P.copy(g, ctx.inDtypes[0] as Tensor['dtype'], ctx.attrs.srcDevice),
    ],
  },
  where: {
    name: 'WhereBackward0',
    save: (ins) => [ins[0]],
    backward: (g, ctx) => {
      const cond = ctx.saved(0);
      const zero = c(g, 0);
      return [null, unb(where(cond, g, zero), ctx, 1), unb(where(cond, zero, g), ctx, 2)];
    },
  },
  cat: {
    name: 'CatBackward0',
    backward: (g, ctx: GradContext<{ dim: number }>) => {
      const dim = ctx.attrs.dim;
      let start = 0;
      return ctx.inShapes.map((s) => {
        const part = P.slice(g, { dim, start, end: start + s[dim], step: 1 });
        start += s[dim];
        return part;
      });
    },
  },
  matmul: {
    name: 'MmBackward0',
    save: both,
    backward: (g, ctx) => {
      const a = ctx.saved(0);
      const b = ctx.saved(1);
      return [
        ctx.needs(0) ? matmulGrad(g, transpose(b, -2, -1), a, ctx.inShapes[0]) : null,
        ctx.needs(1) ? matmulGrad(transpose(a, -2, -1), g, b, ctx.inShapes[1]) : null,
      ];
    },
  },
  gather: {
    name: 'GatherBackward0',
    save: (ins) => [ins[1]],
    backward: (g, ctx: GradContext<{ dim: number }>) => [
      P.scatterAdd(zerosLikeShape(g, ctx.inShapes[0]), ctx.attrs.dim, ctx.saved(0), g),
      null,
    ],
  },
  scatterAdd: {
    name: 'ScatterAddBackward0',
    save: (ins) => [ins[1]],
    backward: (g, ctx: GradContext<{ dim: number }>) => [g, null, P.gather(g, ctx.attrs.dim, ctx.saved(0))],
  },
  indexSelect: {
    name: 'IndexSelectBackward0',
    save: (ins) => [ins[1]],
    backward: (g, ctx: GradContext<{ dim: number }>) => [
      P.indexAdd(zerosLikeShape(g, ctx.inShapes[0]), ctx.attrs.dim, ctx.saved(0), g),
      null,
    ],
  },
  indexAdd: {
    name: 'IndexAddBackward0',
    save: (ins) => [ins[1]],
    backward: (g, ctx: GradContext<{ dim: number }>) => [g, null, P.indexSelect(g, ctx.attrs.dim, ctx.saved(0))],
  },
  sliceScatter: {
    name: 'CopySlices',
    backward: (g, ctx: GradContext<{ steps: readonly ViewStep[] }>) => {
      const steps = ctx.attrs.steps;
      const srcShape = ctx.inShapes[1];
      const region = P.applyViews(g, steps);
      return [P.sliceScatter(g, zerosLikeShape(g, srcShape), steps), sumTo(region, srcShape)];
    },
  },
  fill: null,

  nllLoss: {
    name: 'NllLossBackward0',
    save: (ins) => [ins[1]],
    backward: (g, ctx: GradContext<NllAttrs>) => [P.nllLossBackward(g, ctx.saved(0), ctx.inShapes[0][1], ctx.attrs.scale), null],
  },
  // linear in g: the upstream h at each row's target, summed and scaled, is nllLoss of h
  nllLossBackward: {
    name: 'NllLossBackwardBackward0',
    save: (ins) => [ins[1]],
    backward: (h, ctx: GradContext<NllAttrs>) => [P.nllLoss(h, ctx.saved(0), ctx.attrs.scale), null],
  },
  logSoftmax: {
    name: 'LogSoftmaxBackward0',
    save: outOnly,
    backward: (g, ctx: GradContext<DimAttrs>) => [P.logSoftmaxBackward(g, ctx.saved(0), ctx.attrs.dim)],
  },
  // out = g - exp(y) s with s = sum(g): linear in g, and d/dy = -h exp(y) s for an upstream h
  logSoftmaxBackward: {
    name: 'LogSoftmaxBackwardDataBackward0',
    save: both,
    backward: (h, ctx: GradContext<DimAttrs>) => {
      const { dim } = ctx.attrs;
      const g = ctx.saved(0);
      const e = P.unary('exp', ctx.saved(1));
      const dg = sub(h, sum(mul(h, e), [dim], true));
      const dy = neg(mul(mul(h, e), sum(g, [dim], true)));
      return [dg, dy];
    },
  },
};

function extremumPairRule(name: string, op: 'gt' | 'lt'): Rule {
  // Where a and b tie, each gets half the gradient, as in PyTorch.
  return {
    name,
    save: both,
    backward: (g, ctx) => {
      const a = ctx.saved(0);
      const b = ctx.saved(1);
      const wins = P.copy(P.compare(op, a, b), g.dtype);
      const ties = mul(P.copy(P.compare('eq', a, b), g.dtype), c(g, 0.5));
      const wa = add(wins, ties);
      const wb = sub(sub(c(g, 1), wins), ties);
      return [unb(mul(g, wa), ctx, 0), unb(mul(g, wb), ctx, 1)];
    },
  };
}
