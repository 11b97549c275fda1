import { describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';

describe('autograd', () => {
  test('leaves accumulate gradients across backward calls', () => {
    const x = gb.tensor([1, 2, 3], { requiresGrad: true });
    x.mul(2).sum().backward();
    x.mul(3).sum().backward();
    expect(x.grad!.toArray()).toEqual([5, 5, 5]);
    x.grad = null;
    x.pow(2).sum().backward();
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
  });

  test("a matmul input that is a transposed view gets a gradient in its own layout (PyTorch's mm_mat2_backward)", () => {
    const x = gb.randn([5, 7], { dtype: 'float64' });
    const w = gb.randn([3, 7], { dtype: 'float64', requiresGrad: true });
    const v = gb.randn([7, 3], { dtype: 'float64', requiresGrad: true });
    const g = gb.randn([5, 3], { dtype: 'float64' });
    x.matmul(w.t()).mul(g).sum().backward();
    x.matmul(v).mul(g).sum().backward();
    // the weight of a linear layer, read through w.t(), gets a contiguous gradient
    expect(w.grad!.isContiguous()).toBe(true);
    expect(v.grad!.isContiguous()).toBe(true);
    const expected = g.t().matmul(x);
    expect(w.grad!.sub(expected).abs().max().item()).toBeLessThan(1e-12);
    expect(v.grad!.sub(expected.t()).abs().max().item()).toBeLessThan(1e-12);
    // the same on the left operand, and through a batch
    const a = gb.randn([2, 4, 5], { dtype: 'float64', requiresGrad: true });
    const b = gb.randn([2, 4, 3], { dtype: 'float64' });
    const ga = gb.randn([2, 5, 3], { dtype: 'float64' });
    a.transpose(1, 2).matmul(b).mul(ga).sum().backward();
    expect(a.grad!.isContiguous()).toBe(true);
    const ea = b.matmul(ga.transpose(1, 2));
    expect(a.grad!.sub(ea).abs().max().item()).toBeLessThan(1e-12);
  });

  test('gradient flows through a shared subexpression once per path', () => {
    const x = gb.tensor(3, { requiresGrad: true, dtype: 'float64' });
    const y = x.mul(x);
    const z = y.add(y.mul(x));
    z.backward();
    // z = x^2 + x^3, dz/dx = 2x + 3x^2
    expect(x.grad!.item()).toBeCloseTo(6 + 27, 12);
  });

  test('requiresGrad propagates and gradFn names match PyTorch', () => {
    const a = gb.tensor([[1, 2]], { requiresGrad: true });
    const b = gb.tensor([[3], [4]]);
    expect(a.isLeaf).toBe(true);
    expect(b.requiresGrad).toBe(false);
    const names = [
      a.mul(b).gradFn?.name,
      a.add(b).gradFn?.name,
      a.matmul(b).gradFn?.name,
      a.sum().gradFn?.name,
      a.sum(1).gradFn?.name,
      a.mean().gradFn?.name,
      a.relu().gradFn?.name,
      a.softmax(1).gradFn?.name,
      a.logSoftmax(1).gradFn?.name,
      a.T.gradFn?.name,
      a.view(2).gradFn?.name,
      a.transpose(0, 1).gradFn?.name,
      a.unsqueeze(0).gradFn?.name,
      a.index(0).gradFn?.name,
      a.pow(2).gradFn?.name,
      a.exp().gradFn?.name,
      gb.cat([a, a], 0).gradFn?.name,
      a.clone().gradFn?.name,
      a.double().gradFn?.name,
    ];
    expect(names).toEqual([
      'MulBackward0',
      'AddBackward0',
      'MmBackward0',
      'SumBackward0',
      'SumBackward1',
      'MeanBackward0',
      'ReluBackward0',
      'SoftmaxBackward0',
      'LogSoftmaxBackward0',
      'TBackward0',
      'ViewBackward0',
      'TransposeBackward0',
      'UnsqueezeBackward0',
      'SelectBackward0',
      'PowBackward0',
      'ExpBackward0',
      'CatBackward0',
      'CloneBackward0',
      'ToCopyBackward0',
    ]);
    expect(a.mul(b).isLeaf).toBe(false);
  });

  test("relu's gradient selects as PyTorch's threshold_backward: passed where the output is NaN, dropped (even NaN or inf) where it is <= 0", () => {
    // torch 1.13: relu(x).backward(g) for x = [nan, -1, 0, 2], g = [nan, nan, inf, 3]
    const x = gb.tensor([NaN, -1, 0, 2], { requiresGrad: true });
    x.relu().backward(gb.tensor([NaN, NaN, Infinity, 3]));
    expect(x.grad!.toArray()).toEqual([NaN, 0, 0, 3]);
    const y = gb.tensor([NaN, -1, 0, 2], { requiresGrad: true });
    y.relu().sum().backward();
    expect(y.grad!.toArray()).toEqual([1, 0, 0, 1]);
    // the gradient's own graph: d(relu'(x) * v)/dv is the same mask
    const z = gb.tensor([-1, 3], { dtype: 'float64', requiresGrad: true });
    const v = gb.tensor([5, 7], { dtype: 'float64', requiresGrad: true });
    const [gz] = gb.autograd.grad([z.relu().mul(v).sum()], [z], { createGraph: true });
    expect(gz!.gradFn?.name).toBe('ThresholdBackwardBackward0');
    gz!.sum().backward();
    expect(v.grad!.toArray()).toEqual([0, 1]);
  });

  test("relu's gradient goes into the incoming gradient's memory only when nothing else can see it", () => {
    const x = gb.tensor([[-1, 2, -3, 4]], { dtype: 'float64', requiresGrad: true });
    const w = gb.tensor([[1], [2], [3], [4]], { dtype: 'float64', requiresGrad: true });
    // the incoming gradient of relu is the walk's own (a matmul's): written in place
    x.relu().matmul(w).sum().backward();
    expect(x.grad!.toArray()).toEqual([[0, 2, 0, 4]]);
    // a hook sees it: the hook's tensor keeps its values
    const y = gb.tensor([[-1, 2, -3, 4]], { dtype: 'float64', requiresGrad: true });
    const r = y.relu();
    let seenGrad: gb.Tensor | null = null;
    r.registerHook((g) => void (seenGrad = g));
    r.matmul(w).sum().backward();
    expect(seenGrad!.toArray()).toEqual([[1, 2, 3, 4]]);
    expect(y.grad!.toArray()).toEqual([[0, 2, 0, 4]]);
    // retained: the retained .grad keeps its values too
    const z = gb.tensor([[-1, 2, -3, 4]], { dtype: 'float64', requiresGrad: true });
    const m = z.mul(1);
    const rz = m.relu();
    rz.retainGrad();
    rz.matmul(w).sum().backward();
    expect(rz.grad!.toArray()).toEqual([[1, 2, 3, 4]]);
    expect(z.grad!.toArray()).toEqual([[0, 2, 0, 4]]);
  });

  test('a second backward through a freed graph is a clear error, retainGraph keeps it', () => {
    const x = gb.tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect((x.grad!.toArray() as number[])[0]).toBeCloseTo(2 * Math.E, 5);
    expect(() => y.backward()).toThrow(/backward through the graph a second time/);
  });

  test('backward on a non-scalar needs a gradient', () => {
    const x = gb.tensor([1, 2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/grad can be implicitly created only for scalar outputs/);
    x.mul(2).backward(gb.tensor([1, 10]));
    expect(x.grad!.toArray()).toEqual([2, 20]);
    expect(() => x.mul(2).backward(gb.tensor([1, 2, 3]))).toThrow(/Mismatch in shape/);
  });

  test('backward on a tensor that does not require grad is an error', () => {
    expect(() => gb.tensor([1]).sum().backward()).toThrow(/does not require grad/);
  });

  test('modifying a saved tensor in place makes backward fail instead of giving a wrong gradient', () => {
    const x = gb.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(1);
    const z = y.mul(y);
    y.add_(1);
    expect(() => z.sum().backward()).toThrow(/modified by an inplace operation.*version 1; expected version 0/);
  });

  test('in-place on a leaf that requires grad is an error, under noGrad it is allowed', () => {
    const w = gb.tensor([1, 2], { requiresGrad: true });
    expect(() => w.add_(1)).toThrow(/a leaf Variable that requires grad is being used in an in-place operation/);
    expect(() => w.narrow(0, 0, 1).mul_(2)).toThrow(/view of a leaf Variable/);
    gb.noGrad(() => w.sub_(gb.tensor([0.5, 0.5])));
    expect(w.toArray()).toEqual([0.5, 1.5]);
    expect(w.requiresGrad).toBe(true);
    expect(w.isLeaf).toBe(true);
  });

  test('a recorded add_ or sub_ writes in one pass and gives the gradients of the out-of-place op (Note [Recorded in-place])', () => {
    const x = gb.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { requiresGrad: true, dtype: 'float64' },
    );
    const b = gb.tensor([10, 20, 30], { requiresGrad: true, dtype: 'float64' });
    const y = x.mul(2);
    const storage = y.storage;
    y.add_(b).sub_(b, { alpha: 0.5 }).add_(3);
    expect(y.storage).toBe(storage);
    expect(y.gradFn?.name).toBe('AddBackward0');
    expect(y.toArray()).toEqual([
      [10, 17, 24],
      [16, 23, 30],
    ]);
    y.mul(gb.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' })).sum().backward();
    expect(x.grad!.toArray()).toEqual([
      [2, 4, 6],
      [8, 10, 12],
    ]);
    expect(b.grad!.toArray()).toEqual([2.5, 3.5, 4.5]);
    // y's old value was saved by mul: its backward refuses after the write, as in PyTorch
    const p = gb.tensor([1, 2], { requiresGrad: true }).mul(1);
    const q = p.mul(p);
    p.add_(1);
    expect(() => q.sum().backward()).toThrow(/modified by an inplace operation/);
    // a tensor that does not require grad starts recording when a gradient flows into it
    const z = gb.zeros([3], { dtype: 'float64' });
    z.add_(b, { alpha: 2 });
    expect(z.requiresGrad).toBe(true);
    b.grad = null;
    z.sum().backward();
    expect(b.grad!.toArray()).toEqual([2, 2, 2]);
  });

  test('in-place on a view rebases the base history (CopySlices)', () => {
    const x = gb.tensor([1, 2, 3, 4], { requiresGrad: true, dtype: 'float64' });
    const y = x.mul(1);
    y.narrow(0, 1, 2).mul_(10);
    expect(y.gradFn?.name).toBe('CopySlices');
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([1, 10, 10, 1]);
    expect(y.toArray()).toEqual([1, 20, 30, 4]);
  });

  test('noGrad records nothing; enableGrad inside it records again', () => {
    const x = gb.tensor([1], { requiresGrad: true });
    const y = gb.noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBe(null);
    const z = gb.noGrad(() => gb.enableGrad(() => x.mul(2)));
    expect(z.requiresGrad).toBe(true);
    expect(gb.isGradEnabled()).toBe(true);
  });

  test('noGrad with an async function keeps recording off until it settles', async () => {
    const x = gb.tensor([1], { requiresGrad: true });
    const y = await gb.noGrad(async () => {
      await new Promise((r) => setTimeout(r, 1));
      return x.mul(2);
    });
    expect(y.requiresGrad).toBe(false);
    expect(gb.isGradEnabled()).toBe(true);
  });

  test('detach shares data but stops gradients', () => {
    const x = gb.tensor([1, 2], { requiresGrad: true });
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    gb.noGrad(() => x.mul_(3));
    expect(d.toArray()).toEqual([3, 6]);
    const y = x.mul(d).sum();
    y.backward();
    expect(x.grad!.toArray()).toEqual([3, 6]);
  });

  test('retainGrad keeps a non-leaf gradient; hooks see and replace gradients', () => {
    const x = gb.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    y.retainGrad();
    const seen: number[][] = [];
    y.registerHook((g) => {
      seen.push(g.toArray() as number[]);
    });
    const h = x.registerHook((g) => g.mul(100));
    y.mul(y).sum().backward();
    expect(seen).toEqual([[4, 8]]);
    expect(y.grad!.toArray()).toEqual([4, 8]);
    expect(x.grad!.toArray()).toEqual([800, 1600]);
    h.remove();
    x.grad = null;
    y.detach().requiresGrad_();
    x.sum().backward();
    expect(x.grad!.toArray()).toEqual([1, 1]);
  });

  test('autograd.grad returns gradients without touching .grad, and createGraph gives second derivatives', () => {
    const x = gb.tensor([0.5, -1.2], { requiresGrad: true, dtype: 'float64' });
    const y = x.tanh().sum();
    const [g] = gb.autograd.grad(y, [x], { createGraph: true });
    expect(x.grad).toBe(null);
    const expected1 = [0.5, -1.2].map((v) => 1 - Math.tanh(v) ** 2);
    (g!.toArray() as number[]).forEach((v, i) => expect(v).toBeCloseTo(expected1[i], 12));
    const [gg] = gb.autograd.grad(g!.sum(), [x]);
    const expected2 = [0.5, -1.2].map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2));
    (gg!.toArray() as number[]).forEach((v, i) => expect(v).toBeCloseTo(expected2[i], 12));
  });

  test('autograd.grad complains about unused inputs unless allowUnused', () => {
    const x = gb.tensor([1], { requiresGrad: true });
    const u = gb.tensor([1], { requiresGrad: true });
    expect(() => gb.autograd.grad(x.mul(2).sum(), [x, u])).toThrow(/appears to not have been used/);
    const [gx, gu] = gb.autograd.grad(x.mul(2).sum(), [x, u], { allowUnused: true });
    expect(gx!.toArray()).toEqual([2]);
    expect(gu).toBe(null);
  });

  test('gradients are cast back to the dtype of the input that needed them', () => {
    const x = gb.tensor([1.5, 2], { requiresGrad: true });
    const y = x.double().mul(gb.tensor([2, 3], { dtype: 'float64' })).sum();
    y.backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(x.grad!.toArray()).toEqual([2, 3]);
  });

  test('anomaly mode names the node that produced nan', () => {
    const x = gb.tensor([0, 1], { requiresGrad: true });
    expect(() => gb.autograd.detectAnomaly(() => x.sqrt().mul(0).sum().backward())).toThrow(/SqrtBackward0/);
    expect(gb.flags.detectAnomaly).toBe(false);
  });

  test('max(dim) sends the gradient to the first maximum; amax shares it between ties', () => {
    const x = gb.tensor([[1, 3, 3], [2, 0, 2]], { requiresGrad: true });
    x.max(1).values.sum().backward();
    expect(x.grad!.toArray()).toEqual([[0, 1, 0], [1, 0, 0]]);
    x.grad = null;
    x.amax(1).sum().backward();
    expect(x.grad!.toArray()).toEqual([[0, 0.5, 0.5], [0.5, 0, 0.5]]);
  });
});

test('a one-pass in-place unary op outside the graph still bumps the version a saved tensor is checked against', () => {
  const x = gb.tensor([0.5, -1, 2], { requiresGrad: true });
  const y = x.exp();
  gb.noGrad(() => y.relu_().sqrt_());
  expect(() => y.sum().backward()).toThrow(/modified by an inplace operation/);
  expect((y.toArray() as number[])[0]).toBeCloseTo(Math.sqrt(Math.exp(0.5)), 6);
});
