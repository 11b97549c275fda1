/**
 * The op table: every public op with sample inputs (broadcasting, non-contiguous views, size-0 and
 * size-1 dims, edge values) and whether it is differentiable. One harness (ops.test.ts) runs each
 * entry on every backend against the reference, and a float64 gradient check on the differentiable
 * ones. Adding an op is adding an entry.
 */
import * as gb from '../../runtime/index.js';
import type { Tensor } from '../../runtime/index.js';

/** How a sample input is laid out in memory; all give the same logical shape. */
export type Layout = 'contiguous' | 'transposed' | 'strided' | 'expanded' | 'offset';
export type Domain = 'any' | 'positive' | 'unit' | 'nonzero' | 'edge' | 'bool' | 'int';

export interface InputSpec {
  shape: number[];
  domain?: Domain;
  layout?: Layout;
  /** For index inputs: integers in [0, high). */
  intHigh?: number;
}

export interface Sample {
  inputs: InputSpec[];
  /** Samples at kinks, ties or with inf/nan are checked forward only. */
  noGrad?: boolean;
}

export interface OpEntry {
  name: string;
  fn: (...xs: Tensor[]) => Tensor | Tensor[];
  samples: Sample[];
  /** Differentiable in its float inputs. */
  grad: boolean;
  /** Also check second derivatives (createGraph). */
  gradgrad?: boolean;
  /** Forward tolerance relative to the reference, for float32. */
  rtol?: number;
}

const S = (...shapes: (number[] | InputSpec)[]): InputSpec[] => shapes.map((s) => (Array.isArray(s) ? { shape: s } : s));
const T = (shape: number[]): InputSpec => ({ shape, layout: 'transposed' });
const ST = (shape: number[]): InputSpec => ({ shape, layout: 'strided' });
const EX = (shape: number[]): InputSpec => ({ shape, layout: 'expanded' });
const OF = (shape: number[]): InputSpec => ({ shape, layout: 'offset' });
const P = (shape: number[]): InputSpec => ({ shape, domain: 'positive' });
const EDGE = (shape: number[]): InputSpec => ({ shape, domain: 'edge' });

/** Samples every elementwise binary op gets: broadcasting, views, empty and size-1 dims, edges. */
const binarySamples: Sample[] = [
  { inputs: S([2, 3], [2, 3]) },
  { inputs: S([4, 1, 3], [5, 1]) },
  { inputs: S([3], [2, 3]) },
  { inputs: S([], [2, 2]) },
  { inputs: S([], []) },
  { inputs: S(T([3, 4]), [4]) },
  { inputs: S(ST([2, 5]), OF([2, 5])) },
  { inputs: S(EX([3, 4]), T([3, 4])) },
  { inputs: S([0, 3], [1, 3]), noGrad: true },
  { inputs: S([1, 1], [1]) },
  { inputs: S(EDGE([3, 4]), EDGE([3, 4])), noGrad: true },
];

const unarySamples = (domain: Domain = 'any'): Sample[] => [
  { inputs: [{ shape: [3, 4], domain }] },
  { inputs: [{ shape: [], domain }] },
  { inputs: [{ shape: [3, 4], domain, layout: 'transposed' }] },
  { inputs: [{ shape: [2, 6], domain, layout: 'strided' }] },
  { inputs: [{ shape: [0, 2], domain }], noGrad: true },
  { inputs: [{ shape: [4, 3], domain: 'edge' }], noGrad: true },
];

const reduceSamples: Sample[] = [
  { inputs: S([3, 4]) },
  { inputs: S(T([3, 5])) },
  { inputs: S([2, 3, 4]) },
  { inputs: S(ST([2, 4])) },
  { inputs: S([1, 5]) },
  { inputs: S(EDGE([3, 4])), noGrad: true },
];

const unary = (name: string, fn: (x: Tensor) => Tensor, domain: Domain = 'any', gradgrad = true): OpEntry => ({
  name,
  fn,
  samples: unarySamples(domain),
  grad: true,
  gradgrad,
});

const binary = (name: string, fn: (a: Tensor, b: Tensor) => Tensor, gradgrad = true): OpEntry => ({
  name,
  fn,
  samples: binarySamples,
  grad: true,
  gradgrad,
});

const compare = (name: string, fn: (a: Tensor, b: Tensor) => Tensor): OpEntry => ({ name, fn, samples: binarySamples, grad: false });

export const OPS: OpEntry[] = [
  binary('add', (a, b) => a.add(b)),
  binary('add alpha', (a, b) => gb.add(a, b, { alpha: -2.5 })),
  binary('add scalar', (a) => a.add(1.5)),
  binary('sub', (a, b) => a.sub(b)),
  binary('sub alpha', (a, b) => a.sub(b, { alpha: 0.75 })),
  binary('rsub scalar', (a) => gb.sub(2, a)),
  binary('mul', (a, b) => a.mul(b)),
  binary('mul scalar', (a) => a.mul(-3)),
  {
    name: 'div',
    fn: (a, b) => a.div(b),
    samples: binarySamples.map((s) => ({ ...s, inputs: s.inputs.map((i, k) => (k === 1 && i.domain !== 'edge' ? { ...i, domain: 'nonzero' as Domain } : i)) })),
    grad: true,
    gradgrad: true,
  },
  {
    name: 'pow',
    fn: (a, b) => a.pow(b),
    samples: [
      { inputs: [{ shape: [2, 3], domain: 'positive' }, { shape: [2, 3] }] },
      { inputs: [{ shape: [3, 1], domain: 'positive' }, { shape: [4] }] },
      { inputs: S(EDGE([3, 4]), EDGE([3, 4])), noGrad: true },
    ],
    grad: true,
    gradgrad: true,
  },
  unary('pow scalar 2', (x) => x.pow(2)),
  unary('pow scalar 0.5', (x) => x.pow(0.5), 'positive'),
  binary('maximum', (a, b) => a.maximum(b)),
  binary('minimum', (a, b) => a.minimum(b)),
  unary('neg', (x) => x.neg()),
  unary('abs', (x) => x.abs(), 'nonzero'),
  unary('exp', (x) => x.exp()),
  unary('log', (x) => x.log(), 'positive'),
  unary('log1p', (x) => x.log1p(), 'positive'),
  unary('sqrt', (x) => x.sqrt(), 'positive'),
  unary('rsqrt', (x) => x.rsqrt(), 'positive'),
  unary('sin', (x) => x.sin()),
  unary('cos', (x) => x.cos()),
  unary('tanh', (x) => x.tanh()),
  unary('sigmoid', (x) => x.sigmoid()),
  unary('relu', (x) => x.relu(), 'nonzero'),
  unary('erf', (x) => x.erf()),
  unary('gelu', (x) => x.gelu()),
  unary('gelu tanh', (x) => x.gelu({ approximate: 'tanh' })),
  unary('silu', (x) => x.silu()),
  unary('square', (x) => x.square()),
  unary('reciprocal', (x) => x.reciprocal(), 'nonzero'),
  unary('clamp', (x) => x.clamp(-0.5, 0.7)),
  unary('clamp min', (x) => x.clamp(0.1)),
  compare('eq', (a, b) => a.eq(b)),
  compare('ne', (a, b) => a.ne(b)),
  compare('lt', (a, b) => a.lt(b)),
  compare('le', (a, b) => a.le(b)),
  compare('gt', (a, b) => a.gt(b)),
  compare('ge', (a, b) => a.ge(b)),
  {
    name: 'where',
    fn: (a, b) => gb.where(a.gt(0), a, b),
    samples: binarySamples,
    grad: true,
    gradgrad: true,
  },
  { name: 'maskedFill', fn: (a, b) => a.maskedFill(b.gt(0), -7), samples: [{ inputs: S([3, 4], [4]) }, { inputs: S(T([3, 4]), [3, 1]) }], grad: true },
  { name: 'sum all', fn: (x) => x.sum(), samples: reduceSamples, grad: true, gradgrad: true },
  { name: 'sum dim', fn: (x) => x.sum(-1), samples: reduceSamples, grad: true },
  { name: 'sum dims keepdim', fn: (x) => x.sum([0, -1], true), samples: reduceSamples, grad: true },
  { name: 'sum empty', fn: (x) => x.sum(0), samples: [{ inputs: S([0, 3]) }], grad: false },
  { name: 'mean', fn: (x) => x.mean(), samples: reduceSamples, grad: true, gradgrad: true },
  { name: 'mean dim', fn: (x) => x.mean(0, true), samples: reduceSamples, grad: true },
  { name: 'max all', fn: (x) => x.max(), samples: reduceSamples, grad: true },
  { name: 'max dim values', fn: (x) => x.max(1).values, samples: reduceSamples, grad: true },
  { name: 'max dim indices', fn: (x) => x.max(1).indices, samples: reduceSamples, grad: false },
  { name: 'min dim values', fn: (x) => x.min(0, true).values, samples: reduceSamples, grad: true },
  { name: 'amax dims', fn: (x) => x.amax([0, 1]), samples: reduceSamples, grad: true },
  { name: 'amin dim', fn: (x) => x.amin(-1), samples: reduceSamples, grad: true },
  { name: 'argmax', fn: (x) => x.argmax(), samples: reduceSamples, grad: false },
  { name: 'argmax dim', fn: (x) => x.argmax(1, true), samples: reduceSamples, grad: false },
  { name: 'argmin dim', fn: (x) => x.argmin(0), samples: reduceSamples, grad: false },
  { name: 'var', fn: (x) => x.var(), samples: reduceSamples, grad: true, gradgrad: true },
  { name: 'var dim biased', fn: (x) => x.var(1, { unbiased: false, keepdim: true }), samples: reduceSamples, grad: true },
  { name: 'std dim', fn: (x) => x.std(0), samples: reduceSamples.slice(0, 3), grad: true },
  { name: 'logsumexp', fn: (x) => x.logsumexp(1), samples: reduceSamples, grad: true, gradgrad: true },
  { name: 'softmax', fn: (x) => x.softmax(-1), samples: reduceSamples, grad: true, gradgrad: true },
  { name: 'logSoftmax', fn: (x) => x.logSoftmax(0), samples: reduceSamples, grad: true, gradgrad: true },
  { name: 'logSoftmax along the last dim', fn: (x) => x.logSoftmax(-1), samples: reduceSamples, grad: true, gradgrad: true },
  {
    name: 'matmul 2d',
    fn: (a, b) => a.matmul(b),
    samples: [
      { inputs: S([3, 4], [4, 5]) },
      { inputs: S(T([3, 4]), T([4, 2])) },
      { inputs: S([1, 7], [7, 1]) },
      { inputs: S([3, 0], [0, 2]), noGrad: true },
      { inputs: S(ST([2, 3]), [3, 3]) },
    ],
    grad: true,
    gradgrad: true,
    rtol: 1e-5,
  },
  {
    name: 'matmul batched broadcast',
    fn: (a, b) => a.matmul(b),
    samples: [{ inputs: S([2, 3, 4], [4, 5]) }, { inputs: S([2, 1, 3, 4], [3, 4, 2]) }, { inputs: S(T([2, 3, 4]), [2, 4, 2]) }],
    grad: true,
    gradgrad: true,
    rtol: 1e-5,
  },
  {
    name: 'matmul vectors',
    fn: (a, b) => a.matmul(b),
    samples: [{ inputs: S([4], [4]) }, { inputs: S([3, 4], [4]) }, { inputs: S([4], [4, 2]) }, { inputs: S([2], [3, 2, 5]) }],
    grad: true,
    rtol: 1e-5,
  },
  { name: 'mm', fn: (a, b) => a.mm(b), samples: [{ inputs: S([5, 3], T([3, 4])) }], grad: true, rtol: 1e-5 },
  { name: 'bmm', fn: (a, b) => a.bmm(b), samples: [{ inputs: S([2, 3, 4], [2, 4, 3]) }], grad: true, rtol: 1e-5 },
  { name: 'reshape', fn: (x) => x.reshape(-1, 2), samples: [{ inputs: S([3, 4]) }, { inputs: S(T([3, 4])) }, { inputs: S([0, 4]), noGrad: true }], grad: true },
  { name: 'view', fn: (x) => x.view(2, 2, 3), samples: [{ inputs: S([4, 3]) }, { inputs: S(OF([3, 4])) }], grad: true },
  { name: 'flatten', fn: (x) => x.flatten(1), samples: [{ inputs: S([2, 3, 4]) }, { inputs: S(T([2, 3, 4])) }], grad: true },
  { name: 'permute', fn: (x) => x.permute(2, 0, 1), samples: [{ inputs: S([2, 3, 4]) }, { inputs: S(ST([2, 3, 4])) }], grad: true },
  { name: 'transpose', fn: (x) => x.transpose(0, -1), samples: [{ inputs: S([2, 3, 4]) }], grad: true },
  { name: 'T', fn: (x) => x.T, samples: [{ inputs: S([3, 5]) }], grad: true },
  { name: 'unsqueeze', fn: (x) => x.unsqueeze(-1), samples: [{ inputs: S([2, 3]) }, { inputs: S([]) }], grad: true },
  { name: 'squeeze', fn: (x) => x.squeeze(), samples: [{ inputs: S([1, 3, 1]) }], grad: true },
  { name: 'squeeze dim', fn: (x) => x.squeeze(0), samples: [{ inputs: S([1, 3, 1]) }, { inputs: S([2, 3]) }], grad: true },
  { name: 'expand', fn: (x) => x.expand(2, 3, -1), samples: [{ inputs: S([3, 1]) }, { inputs: S([1, 1]) }], grad: true },
  { name: 'narrow', fn: (x) => x.narrow(1, 1, 2), samples: [{ inputs: S([3, 4]) }, { inputs: S(T([3, 4])) }], grad: true },
  { name: 'select', fn: (x) => x.select(0, -1), samples: [{ inputs: S([3, 4]) }, { inputs: S(T([3, 4])) }], grad: true },
  { name: 'slice step', fn: (x) => x.slice(1, 1, undefined, 2), samples: [{ inputs: S([3, 6]) }, { inputs: S(ST([3, 6])) }], grad: true },
  { name: 'index basic', fn: (x) => x.index(1, { start: 0, end: 2 }, null, '...'), samples: [{ inputs: S([3, 4, 2]) }], grad: true },
  { name: 'index tensor', fn: (x, i) => x.index('...', i), samples: [{ inputs: [{ shape: [3, 4] }, { shape: [5], domain: 'int', intHigh: 4 }] }], grad: true },
  {
    name: 'index two tensors',
    fn: (x, i, j) => x.index(i, j),
    samples: [{ inputs: [{ shape: [3, 4] }, { shape: [2, 1], domain: 'int', intHigh: 3 }, { shape: [3], domain: 'int', intHigh: 4 }] }],
    grad: true,
  },
  { name: 'index mask', fn: (x, m) => x.index(m.gt(0)), samples: [{ inputs: S([3, 4], [3, 4]) }], grad: true },
  { name: 'cat', fn: (a, b) => gb.cat([a, b], 1), samples: [{ inputs: S([2, 3], [2, 1]) }, { inputs: S(T([2, 3]), [2, 0]) }], grad: true },
  { name: 'stack', fn: (a, b) => gb.stack([a, b], -1), samples: [{ inputs: S([2, 3], T([2, 3])) }], grad: true },
  { name: 'split', fn: (x) => x.split([1, 3], 1), samples: [{ inputs: S([2, 4]) }], grad: true },
  { name: 'chunk', fn: (x) => x.chunk(2, 0), samples: [{ inputs: S([5, 2]) }], grad: true },
  { name: 'repeat', fn: (x) => x.repeat(2, 1, 3), samples: [{ inputs: S([2, 3]) }, { inputs: S(T([2, 3])) }], grad: true },
  {
    name: 'gather',
    fn: (x, i) => x.gather(1, i),
    samples: [{ inputs: [{ shape: [3, 4] }, { shape: [3, 6], domain: 'int', intHigh: 4 }] }, { inputs: [T([3, 4]), { shape: [2, 2], domain: 'int', intHigh: 4 }] }],
    grad: true,
  },
  {
    // the nllLoss primitives (mean and sum over class indices), second derivatives included
    name: 'crossEntropy',
    fn: (x, t) => gb.nn.functional.crossEntropy(x, t).add(gb.nn.functional.nllLoss(x, t, { reduction: 'sum' })),
    samples: [{ inputs: [{ shape: [5, 4] }, { shape: [5], domain: 'int', intHigh: 4 }] }, { inputs: [T([3, 6]), { shape: [3], domain: 'int', intHigh: 6 }] }],
    grad: true,
    gradgrad: true,
  },
  {
    name: 'scatterAdd',
    fn: (x, i, s) => x.scatterAdd(0, i, s),
    samples: [{ inputs: [{ shape: [3, 4] }, { shape: [5, 4], domain: 'int', intHigh: 3 }, { shape: [5, 4] }] }],
    grad: true,
  },
  {
    name: 'indexSelect',
    fn: (x, i) => x.indexSelect(0, i),
    samples: [{ inputs: [{ shape: [3, 4] }, { shape: [6], domain: 'int', intHigh: 3 }] }, { inputs: [T([3, 4]), { shape: [2], domain: 'int', intHigh: 3 }] }],
    grad: true,
  },
  { name: 'contiguous', fn: (x) => x.contiguous(), samples: [{ inputs: S(T([3, 4])) }], grad: true },
  // float32 rounding on the way makes finite differences meaningless; autograd.test.ts checks its gradient
  { name: 'to float32 and back', fn: (x) => x.float().mul(2).double(), samples: [{ inputs: S([3, 4]), noGrad: true }], grad: true },
  {
    name: 'in place on a non-leaf',
    fn: (a, b) => {
      const y = a.mul(1);
      y.mul_(b).add_(2);
      return y;
    },
    samples: [{ inputs: S([3, 4], [4]) }],
    grad: true,
  },
  {
    name: 'add_ and sub_ with alpha on a non-leaf',
    fn: (a, b) => {
      const y = a.mul(1);
      y.add_(b, { alpha: -1.5 }).sub_(b, { alpha: 0.25 });
      return y;
    },
    samples: [{ inputs: S([3, 4], [4]) }],
    grad: true,
  },
  {
    name: 'add_ with alpha outside the graph (the optimizers\' one-pass update)',
    fn: (a, b) => gb.noGrad(() => a.mul(1).add_(b, { alpha: -0.01 }).sub_(b, { alpha: 3 })),
    samples: [{ inputs: S([3, 4], [3, 4]) }, { inputs: S(T([3, 4]), [4]) }, { inputs: S(EDGE([3, 4]), EDGE([3, 4])) }],
    grad: false,
  },
  {
    name: 'unary in-place ops outside the graph (one pass into self)',
    fn: (a) => gb.noGrad(() => a.abs().add(0.1).sqrt_().neg_().exp_().tanh_().sigmoid_().sub(0.6).relu_()),
    samples: [{ inputs: S([3, 4]) }, { inputs: S(T([3, 4])) }, { inputs: S(EDGE([3, 4])) }],
    grad: false,
  },
  {
    name: 'unary in-place ops recorded (through a copy)',
    fn: (a) => a.mul(1).exp_().relu_().tanh_(),
    samples: [{ inputs: S([3, 4]) }],
    grad: true,
  },
  {
    name: 'in place on a view',
    fn: (a, b) => {
      const y = a.mul(2);
      y.narrow(1, 1, 2).mul_(b);
      return y;
    },
    samples: [{ inputs: S([3, 4], [3, 2]) }],
    grad: true,
  },
  {
    name: 'copy_ into a view',
    fn: (a, b) => {
      const y = a.mul(1);
      y.select(0, 1).copy_(b);
      return y;
    },
    samples: [{ inputs: S([3, 4], [4]) }],
    grad: true,
  },
];

/** Integer ops: exact semantics shared by every backend (wrap-around, PyTorch's integer pow). */
export const INT_OPS: { name: string; fn: (a: Tensor, b: Tensor) => Tensor }[] = [
  { name: 'add', fn: (a, b) => a.add(b) },
  { name: 'sub', fn: (a, b) => a.sub(b) },
  { name: 'add alpha 3', fn: (a, b) => a.add(b, { alpha: 3 }) },
  { name: 'sub_ alpha -7', fn: (a, b) => a.clone().sub_(b, { alpha: -7 }) },
  { name: 'mul', fn: (a, b) => a.mul(b) },
  { name: 'pow', fn: (a, b) => a.pow(b) },
  { name: 'maximum', fn: (a, b) => a.maximum(b) },
  { name: 'div (true division)', fn: (a, b) => a.div(b) },
  { name: 'sum', fn: (a) => a.sum(1) },
  { name: 'amax', fn: (a) => a.amax(0) },
  { name: 'argmin', fn: (a) => a.argmin(1) },
  { name: 'eq', fn: (a, b) => a.eq(b) },
];
