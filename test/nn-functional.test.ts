/**
 * nn.functional: every op against real PyTorch (forward and input gradients, float64) and a
 * float64 finite-difference gradient check.
 */
import { describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import * as F from '../runtime/nn/functional/index.js';
import type { Tensor } from '../runtime/index.js';
import { checkAgainstTorch, gradcheck, hasTorch, t64, type ParityCase } from './support/nn-check.js';

const g = (t: Tensor) => t.requiresGrad_(true);
const idx = (vals: number[], shape = [vals.length]) => gb.tensor(vals, { dtype: 'int32' }).reshape(shape);

function cases(): ParityCase[] {
  const x = g(t64([2, 3, 6, 5], 1));
  const w = g(t64([4, 3, 3, 3], 2, -0.5, 0.5));
  const b = g(t64([4], 3));
  const xg = g(t64([2, 4, 5, 5], 4));
  const wg = g(t64([6, 2, 3, 3], 5, -0.5, 0.5));
  const w23 = g(t64([4, 3, 2, 3], 6, -0.5, 0.5));
  const xp = g(t64([2, 3, 7, 6], 8));
  const logits = g(t64([5, 4], 9));
  const tgt = idx([0, 3, 1, 2, 3]);
  const cw = t64([4], 10, 0.5, 2);
  const logits4 = g(t64([2, 4, 3, 2], 12));
  const tgt4 = idx([0, 1, 2, 3, 1, 0, 3, 3, 2, 1, 0, 2], [2, 3, 2]);
  const probs = t64([5, 4], 13, 0, 1).softmax(1);
  const a = g(t64([3, 4], 14));
  const bb = t64([3, 4], 15);
  const y01 = t64([3, 4], 16, 0, 1);
  const pw = t64([4], 17, 0.5, 3);
  const bnx = g(t64([6, 3, 2, 2], 18));
  const bnw = g(t64([3], 19));
  const bnb = g(t64([3], 20));
  const emb = g(t64([7, 3], 21));
  return [
    { name: 'linear', f: F.linear, inputs: [g(t64([4, 3], 30)), g(t64([5, 3], 31)), g(t64([5], 32))], code: 'out = F.linear(x0, x1, x2)' },
    { name: 'linear 3-D no bias', f: (p, q) => F.linear(p, q), inputs: [g(t64([2, 4, 3], 33)), g(t64([5, 3], 34))], code: 'out = F.linear(x0, x1)' },
    { name: 'conv2d', f: (p, q, r) => F.conv2d(p, q, r), inputs: [x, w, b], code: 'out = F.conv2d(x0, x1, x2)' },
    { name: 'conv2d stride 2 padding 1', f: (p, q, r) => F.conv2d(p, q, r, { stride: 2, padding: 1 }), inputs: [x, w, b], code: 'out = F.conv2d(x0, x1, x2, stride=2, padding=1)' },
    { name: 'conv2d dilation 2 padding 2', f: (p, q) => F.conv2d(p, q, null, { dilation: 2, padding: 2 }), inputs: [x, w], code: 'out = F.conv2d(x0, x1, None, dilation=2, padding=2)' },
    { name: 'conv2d groups 2', f: (p, q) => F.conv2d(p, q, null, { groups: 2, padding: 1 }), inputs: [xg, wg], code: 'out = F.conv2d(x0, x1, None, groups=2, padding=1)' },
    { name: "conv2d padding 'same' 2x3 kernel", f: (p, q) => F.conv2d(p, q, null, { padding: 'same' }), inputs: [x, w23], code: "out = F.conv2d(x0, x1, None, padding='same')" },
    { name: 'conv2d stride [2, 1] unbatched', f: (p, q) => F.conv2d(p, q, null, { stride: [2, 1] }), inputs: [g(t64([3, 6, 5], 35)), w23], code: 'out = F.conv2d(x0, x1, None, stride=(2, 1))' },
    { name: 'maxPool2d 2', f: (p) => F.maxPool2d(p, 2), inputs: [xp], code: 'out = F.max_pool2d(x0, 2)' },
    { name: 'maxPool2d 3 stride 2 pad 1', f: (p) => F.maxPool2d(p, 3, { stride: 2, padding: 1 }), inputs: [xp], code: 'out = F.max_pool2d(x0, 3, stride=2, padding=1)' },
    { name: 'maxPool2d ceilMode', f: (p) => F.maxPool2d(p, 2, { ceilMode: true }), inputs: [xp], code: 'out = F.max_pool2d(x0, 2, ceil_mode=True)' },
    { name: 'maxPool2d dilation 2', f: (p) => F.maxPool2d(p, 2, { dilation: 2, stride: 1 }), inputs: [xp], code: 'out = F.max_pool2d(x0, 2, stride=1, dilation=2)' },
    { name: 'avgPool2d 2', f: (p) => F.avgPool2d(p, 2), inputs: [xp], code: 'out = F.avg_pool2d(x0, 2)' },
    { name: 'avgPool2d 3 s2 p1', f: (p) => F.avgPool2d(p, 3, { stride: 2, padding: 1 }), inputs: [xp], code: 'out = F.avg_pool2d(x0, 3, stride=2, padding=1)' },
    { name: 'avgPool2d countIncludePad false', f: (p) => F.avgPool2d(p, 3, { stride: 2, padding: 1, countIncludePad: false }), inputs: [xp], code: 'out = F.avg_pool2d(x0, 3, stride=2, padding=1, count_include_pad=False)' },
    { name: 'avgPool2d ceilMode', f: (p) => F.avgPool2d(p, [3, 2], { stride: 2, padding: 1, ceilMode: true }), inputs: [xp], code: 'out = F.avg_pool2d(x0, (3, 2), stride=2, padding=1, ceil_mode=True)' },
    { name: 'avgPool2d divisorOverride', f: (p) => F.avgPool2d(p, 2, { divisorOverride: 3 }), inputs: [xp], code: 'out = F.avg_pool2d(x0, 2, divisor_override=3)' },
    { name: 'relu', f: F.relu, inputs: [a], code: 'out = F.relu(x0)' },
    { name: 'gelu', f: (p) => F.gelu(p), inputs: [a], code: 'out = F.gelu(x0)' },
    { name: 'gelu tanh', f: (p) => F.gelu(p, { approximate: 'tanh' }), inputs: [a], code: "out = F.gelu(x0, approximate='tanh')" },
    { name: 'softmax', f: (p) => F.softmax(p, 1), inputs: [a], code: 'out = F.softmax(x0, 1)' },
    { name: 'logSoftmax', f: (p) => F.logSoftmax(p, 0), inputs: [a], code: 'out = F.log_softmax(x0, 0)' },
    { name: 'crossEntropy', f: (p, q) => F.crossEntropy(p, q), inputs: [logits, tgt], code: 'out = F.cross_entropy(x0, x1)' },
    { name: 'crossEntropy weight sum', f: (p, q, r) => F.crossEntropy(p, q, { weight: r, reduction: 'sum' }), inputs: [logits, tgt, cw], code: "out = F.cross_entropy(x0, x1, weight=x2, reduction='sum')" },
    { name: 'crossEntropy weight ignoreIndex', f: (p, q, r) => F.crossEntropy(p, q, { weight: r, ignoreIndex: 3 }), inputs: [logits, tgt, cw], code: 'out = F.cross_entropy(x0, x1, weight=x2, ignore_index=3)' },
    { name: 'crossEntropy none', f: (p, q) => F.crossEntropy(p, q, { reduction: 'none' }), inputs: [logits, tgt], code: "out = F.cross_entropy(x0, x1, reduction='none')" },
    { name: 'crossEntropy labelSmoothing', f: (p, q) => F.crossEntropy(p, q, { labelSmoothing: 0.1, ignoreIndex: 1 }), inputs: [logits, tgt], code: 'out = F.cross_entropy(x0, x1, label_smoothing=0.1, ignore_index=1)' },
    { name: 'crossEntropy labelSmoothing weight', f: (p, q, r) => F.crossEntropy(p, q, { labelSmoothing: 0.2, weight: r }), inputs: [logits, tgt, cw], code: 'out = F.cross_entropy(x0, x1, label_smoothing=0.2, weight=x2)' },
    { name: 'crossEntropy labelSmoothing none', f: (p, q) => F.crossEntropy(p, q, { labelSmoothing: 0.2, reduction: 'none' }), inputs: [logits, tgt], code: "out = F.cross_entropy(x0, x1, label_smoothing=0.2, reduction='none')" },
    { name: 'crossEntropy K-dim', f: (p, q) => F.crossEntropy(p, q), inputs: [logits4, tgt4], code: 'out = F.cross_entropy(x0, x1)' },
    { name: 'crossEntropy K-dim none', f: (p, q) => F.crossEntropy(p, q, { reduction: 'none' }), inputs: [logits4, tgt4], code: "out = F.cross_entropy(x0, x1, reduction='none')" },
    { name: 'crossEntropy probabilities', f: (p, q) => F.crossEntropy(p, q, { labelSmoothing: 0.1 }), inputs: [logits, probs], code: 'out = F.cross_entropy(x0, x1, label_smoothing=0.1)' },
    { name: 'crossEntropy unbatched', f: (p, q) => F.crossEntropy(p, q), inputs: [g(t64([4], 36)), gb.tensor(2, { dtype: 'int32' })], code: 'out = F.cross_entropy(x0, x1)' },
    { name: 'nllLoss', f: (p, q) => F.nllLoss(p.logSoftmax(1), q), inputs: [logits, tgt], code: 'out = F.nll_loss(F.log_softmax(x0, 1), x1)' },
    { name: 'nllLoss weight none', f: (p, q, r) => F.nllLoss(p, q, { weight: r, reduction: 'none' }), inputs: [logits, tgt, cw], code: "out = F.nll_loss(x0, x1, weight=x2, reduction='none')" },
    { name: 'mseLoss', f: (p, q) => F.mseLoss(p, q), inputs: [a, bb], code: 'out = F.mse_loss(x0, x1)' },
    { name: 'mseLoss sum', f: (p, q) => F.mseLoss(p, q, { reduction: 'sum' }), inputs: [a, g(bb.clone())], code: "out = F.mse_loss(x0, x1, reduction='sum')" },
    { name: 'bceWithLogits', f: (p, q) => F.binaryCrossEntropyWithLogits(p, q), inputs: [a, y01], code: 'out = F.binary_cross_entropy_with_logits(x0, x1)' },
    { name: 'bceWithLogits weight posWeight none', f: (p, q, r, s) => F.binaryCrossEntropyWithLogits(p, q, { weight: r, posWeight: s, reduction: 'none' }), inputs: [a, y01, t64([3, 1], 22, 0, 1), pw], code: "out = F.binary_cross_entropy_with_logits(x0, x1, weight=x2, pos_weight=x3, reduction='none')" },
    { name: 'batchNorm training', f: (p, q, r) => F.batchNorm(p, null, null, q, r, { training: true }), inputs: [bnx, bnw, bnb], code: 'out = F.batch_norm(x0, None, None, x1, x2, training=True)' },
    { name: 'batchNorm eval', f: (p, q, r) => F.batchNorm(p, t64([3], 23), t64([3], 24, 0.5, 2), q, r), inputs: [bnx, bnw, bnb], code: `out = F.batch_norm(x0, torch.tensor(${JSON.stringify(Array.from(t64([3], 23).data()))}, dtype=torch.float64), torch.tensor(${JSON.stringify(Array.from(t64([3], 24, 0.5, 2).data()))}, dtype=torch.float64), x1, x2)` },
    { name: 'layerNorm', f: (p, q, r) => F.layerNorm(p, [2, 2], q, r), inputs: [bnx, g(t64([2, 2], 25)), g(t64([2, 2], 26))], code: 'out = F.layer_norm(x0, [2, 2], x1, x2)' },
    { name: 'layerNorm no affine', f: (p) => F.layerNorm(p, 2, null, null, 1e-3), inputs: [bnx], code: 'out = F.layer_norm(x0, [2], eps=1e-3)' },
    { name: 'embedding', f: (p, q) => F.embedding(p, q), inputs: [idx([1, 4, 6, 1, 0, 2], [2, 3]), emb], code: 'out = F.embedding(x0, x1)' },
    { name: 'embedding paddingIdx', f: (p, q) => F.embedding(p, q, { paddingIdx: 1 }), inputs: [idx([1, 4, 6, 1, 0, 2], [2, 3]), emb], code: 'out = F.embedding(x0, x1, padding_idx=1)' },
  ];
}

describe('nn.functional gradients', () => {
  // paddingIdx deliberately withholds the padding row's gradient, so it is no true derivative there
  const differentiable = cases().filter((c) => c.name !== 'embedding paddingIdx');
  test.each(differentiable.map((c) => [c.name, c] as const))('%s passes a float64 gradient check', (_name, c) => {
    gradcheck(c.name, c.f, c.inputs);
  });
});

describe.skipIf(!hasTorch)('nn.functional against PyTorch', () => {
  test('every op matches torch 1.13 forward and backward in float64', () => {
    checkAgainstTorch(cases());
  });
  test('float32 conv2d and pooling agree with torch to float32 precision', () => {
    const x = t64([2, 3, 6, 5], 1).float().requiresGrad_(true);
    const w = t64([4, 3, 3, 3], 2, -0.5, 0.5).float().requiresGrad_(true);
    checkAgainstTorch([
      { name: 'conv2d f32', f: (p, q) => F.conv2d(p, q, null, { padding: 1 }), inputs: [x, w], code: 'out = F.conv2d(x0, x1, padding=1)', rtol: 1e-5, atol: 1e-5 },
      { name: 'maxPool2d f32', f: (p) => F.maxPool2d(p, 2), inputs: [x], code: 'out = F.max_pool2d(x0, 2)', rtol: 1e-6, atol: 1e-6 },
    ]);
  });
});

describe('nn.functional behaviour', () => {
  test('maxPool2d sends the gradient of a tied window to its first maximum, as PyTorch', () => {
    const x = gb.zeros([1, 1, 2, 2], { dtype: 'float64', requiresGrad: true });
    F.maxPool2d(x, 2).sum().backward();
    expect(x.grad!.toArray()).toEqual([[[[1, 0], [0, 0]]]]);
  });

  test('dropout zeroes about p of the elements, scales the rest by 1/(1-p), and is the identity in eval', () => {
    gb.manualSeed(3);
    const x = gb.ones([100, 100], { requiresGrad: true });
    const y = F.dropout(x, 0.3);
    const v = y.data();
    const zeros = v.filter((e) => e === 0).length;
    expect(zeros / v.length).toBeGreaterThan(0.27);
    expect(zeros / v.length).toBeLessThan(0.33);
    expect(v.every((e) => e === 0 || Math.abs(e - 1 / 0.7) < 1e-6)).toBe(true);
    y.sum().backward();
    expect(Array.from(x.grad!.data())).toEqual(Array.from(v));
    expect(F.dropout(x, 0.3, false)).toBe(x);
    expect(() => F.dropout(x, 1.5)).toThrow(/dropout probability has to be between 0 and 1, but got 1.5/);
  });

  test('conv2d names the shapes when channels do not match', () => {
    expect(() => F.conv2d(gb.zeros([1, 2, 5, 5]), gb.zeros([4, 3, 3, 3]))).toThrow(/expected input\[1, 2, 5, 5\] to have 3 channels, but got 2/);
    expect(() => F.conv2d(gb.zeros([1, 3, 2, 2]), gb.zeros([4, 3, 3, 3]))).toThrow(/Kernel size can't be greater than actual input size/);
    expect(() => F.conv2d(gb.zeros([3, 5]), gb.zeros([4, 3, 3, 3]))).toThrow(/Expected 3D \(unbatched\) or 4D \(batched\) input/);
  });

  test('losses name bad targets', () => {
    const x = gb.zeros([2, 3]);
    expect(() => F.crossEntropy(x, gb.tensor([0, 5], { dtype: 'int32' }))).toThrow(/Target 5 is out of bounds/);
    expect(() => F.crossEntropy(x, gb.tensor([0, 1, 2], { dtype: 'int32' }))).toThrow(/Expected input batch_size \(2\) to match target batch_size \(3\)/);
    expect(() => F.nllLoss(x, gb.tensor([0, 1]))).toThrow(/dtype int32/);
    expect(() => F.binaryCrossEntropyWithLogits(x, gb.zeros([3, 2]))).toThrow(/Target size \(\[3, 2\]\) must be the same as input size \(\[2, 3\]\)/);
    expect(() => F.mseLoss(x, x, { reduction: 'avg' as 'mean' })).toThrow(/not a valid value for reduction/);
  });

  test('layers and losses show the grad_fn PyTorch 1.13 shows', () => {
    // names read from torch 1.13: F.linear, F.nll_loss, F.cross_entropy, 2 - x, 2 / x
    const x = gb.randn([2, 4], { requiresGrad: true });
    const w = gb.randn([3, 4], { requiresGrad: true });
    const b = gb.randn([3], { requiresGrad: true });
    const t = gb.tensor([0, 2], { dtype: 'int32' });
    const o = F.linear(x, w, b);
    const lp = F.logSoftmax(o, 1);
    const names = [
      o,
      F.linear(x, w),
      F.linear(gb.randn([5, 2, 4]), w, b),
      F.crossEntropy(o, t),
      F.nllLoss(lp, t, { reduction: 'none' }),
      F.nllLoss(lp, t, { reduction: 'sum' }),
      F.nllLoss(lp, t, { weight: gb.ones([3]) }),
      F.nllLoss(lp, gb.tensor([0, -100], { dtype: 'int32' })),
      F.crossEntropy(o, t, { labelSmoothing: 0.1 }),
      gb.sub(2, x),
      gb.div(2, x),
    ].map((r) => r.gradFn?.name);
    expect(names).toEqual([
      'AddmmBackward0',
      'MmBackward0',
      'AddBackward0',
      'NllLossBackward0',
      'NllLossBackward0',
      'NllLossBackward0',
      'NllLossBackward0',
      'NllLossBackward0',
      'AddBackward0',
      'RsubBackward1',
      'MulBackward0',
    ]);
  });

  test('linear names both shapes when they cannot be multiplied', () => {
    expect(() => F.linear(gb.zeros([2, 3]), gb.zeros([4, 5]))).toThrow(/input \[2, 3\], weight \[4, 5\]: 3 != 5/);
  });
});
