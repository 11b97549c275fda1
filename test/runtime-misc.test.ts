import { inspect } from 'node:util';
import { expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import { PRIMITIVE_OPS } from '../runtime/ops.js';
import { rules } from '../runtime/autograd/rules.js';

test('the primitive op set is fixed: adding one is a decision', () => {
  expect(PRIMITIVE_OPS.length).toBe(52);
  expect(new Set(PRIMITIVE_OPS).size).toBe(PRIMITIVE_OPS.length);
  for (const op of PRIMITIVE_OPS) expect(rules).toHaveProperty(op);
});

test('errors name the op, the shapes and what was expected', () => {
  const a = gb.zeros([64, 784]);
  const b = gb.zeros([128, 10]);
  expect(() => a.matmul(b)).toThrow('matmul: shapes [64, 784] and [128, 10] cannot be multiplied (784 != 128)');
  expect(() => gb.zeros([2, 3]).add(gb.zeros([4]))).toThrow(/add: The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1/);
  expect(() => gb.zeros([2, 3]).sum(2)).toThrow(/sum: Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/);
  expect(() => gb.zeros([2, 3]).view(4)).toThrow(/view: shape \[4\] is invalid for input of size 6/);
  expect(() => gb.zeros([3]).gather(0, gb.tensor([5], { dtype: 'int32' }))).toThrow(/gather: index 5 is out of bounds for dimension 0 with size 3/);
  expect(() => gb.zeros([3]).gather(0, gb.tensor([1]))).toThrow(/gather: Expected dtype int32 for index, got float32/);
  expect(() => gb.zeros([2]).requiresGrad_().mm(gb.zeros([2]))).toThrow(/mm: both arguments must be matrices/);
  expect(() => gb.zeros([2], { dtype: 'int32' }).requiresGrad_()).toThrow(/only Tensors of floating point dtype can require gradients/);
  expect(() => gb.tensor([[1, 2], [3]])).toThrow(/expected sequence of length 2 at dim 1 \(got 1\)/);
  expect(() => gb.zeros([2]).to('tpu' as never)).toThrow(/to: expected a device/);
  expect(() => gb.zeros([2]).index(0, 0)).toThrow(/too many indices for tensor of dimension 1/);
});

test('prints as PyTorch does, through toString, console.log and the Jupyter display symbol', () => {
  const t = gb.tensor([[0.1, 2], [3, 4]], { requiresGrad: true });
  const expected = 'tensor([[0.1000, 2.0000],\n        [3.0000, 4.0000]], requires_grad=True)';
  expect(String(t)).toBe(expected);
  expect(inspect(t)).toBe(expected);
  const bundle = (t as unknown as Record<symbol, () => Record<string, string>>)[Symbol.for('Jupyter.display')]();
  expect(bundle['text/plain']).toBe(expected);
  expect(bundle['text/html']).toContain('requires_grad');
  expect(String(t.mul(2))).toBe('tensor([[0.2000, 4.0000],\n        [6.0000, 8.0000]], grad_fn=<MulBackward0>)');
  expect(String(gb.arange(5))).toBe('tensor([0, 1, 2, 3, 4], dtype=torch.int32)');
  expect(String(gb.tensor([1, 2], { dtype: 'float64' }))).toBe('tensor([1., 2.], dtype=torch.float64)');
  expect(String(gb.tensor([true, false]))).toBe('tensor([ True, False])');
  // as torch.arange(2000.): the max/min ratio over 1000 switches to scientific notation
  expect(String(gb.arange(2000, undefined, 1, { dtype: 'float32' }))).toBe(
    'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])',
  );
});

test('observers see every op with inputs, outputs, timing and module path; none attached costs nothing', () => {
  const seen: string[] = [];
  const off = gb.addObserver((e) => seen.push(`${e.op}@${e.modulePath}:${e.output.shape.join('x')}:${e.end >= e.start}`));
  const x = gb.ones([2, 3]);
  gb.withModule('encoder.fc1', () => x.mul(2).sum(1));
  off();
  x.add(1);
  expect(seen).toEqual(['fill@:2x3:true', 'mul@encoder.fc1:2x3:true', 'sum@encoder.fc1:2:true']);
});

test('observers can ask where in user code an op was called', () => {
  let where: string | undefined;
  const off = gb.addObserver((e) => (where = e.location()));
  gb.ones([1]).exp();
  off();
  expect(where).toMatch(/runtime-misc\.test\.ts/);
});

test('the interrupt flag stops a loop at its next op, once', async () => {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  (globalThis as Record<symbol, unknown>)[Symbol.for('gradbook.interrupt')] = flag;
  try {
    const x = gb.ones([4]);
    let steps = 0;
    const loop = async () => {
      for (;;) {
        x.add(1);
        steps++;
        if (steps === 5) flag[0] = 1;
        await null;
      }
    };
    await expect(loop()).rejects.toThrow(/Interrupted/);
    expect(steps).toBe(5);
    expect(flag[0]).toBe(0);
    expect(x.add(1).sum().item()).toBe(8);
  } finally {
    delete (globalThis as Record<symbol, unknown>)[Symbol.for('gradbook.interrupt')];
  }
});

test('type promotion follows PyTorch', () => {
  const i = gb.tensor([1, 2], { dtype: 'int32' });
  const f = gb.tensor([1.5, 2]);
  const d = gb.tensor([1, 2], { dtype: 'float64' });
  const b = gb.tensor([true, false]);
  expect(i.add(f).dtype).toBe('float32');
  expect(f.add(d).dtype).toBe('float64');
  expect(i.add(2).dtype).toBe('int32');
  expect(i.add(2.5).dtype).toBe('float32');
  expect(i.div(2).dtype).toBe('float32');
  expect(i.div(2).toArray()).toEqual([0.5, 1]);
  expect(b.add(b).dtype).toBe('bool');
  expect(b.add(1).dtype).toBe('int32');
  expect(f.add(gb.tensor(2, { dtype: 'float64' })).dtype).toBe('float32');
  expect(i.add(gb.tensor(2.5, { dtype: 'float64' })).dtype).toBe('float32');
  expect(i.eq(f).dtype).toBe('bool');
  expect(i.exp().dtype).toBe('float32');
  expect(i.sum().dtype).toBe('int32');
  expect(b.sum().item()).toBe(1);
  expect(() => i.mean()).toThrow(/mean\(\): could not infer output dtype/);
});

test('views share storage without copies; reshape copies only when it must', () => {
  const x = gb.arange(12, undefined, 1, { dtype: 'float32' }).reshape(3, 4);
  const views = [x.T, x.narrow(1, 1, 2), x.select(0, 1), x.slice(1, 0, undefined, 2), x.unsqueeze(0), x.view(2, 6), x.expand(2, 3, 4), x.index(1, { start: 1 })];
  for (const v of views) expect(v.storage).toBe(x.storage);
  expect(x.T.reshape(12).storage).not.toBe(x.storage);
  gb.noGrad(() => x.T.narrow(0, 0, 1).fill_(-1));
  expect(x.toArray()).toEqual([[-1, 1, 2, 3], [-1, 5, 6, 7], [-1, 9, 10, 11]]);
});

test('random numbers are reproducible after manualSeed', () => {
  gb.manualSeed(42);
  const a = gb.randn([5]).toArray();
  const r = gb.rand([1000]).data();
  gb.manualSeed(42);
  expect(gb.randn([5]).toArray()).toEqual(a);
  expect(Math.max(...r)).toBeLessThan(1);
  expect(Math.min(...r)).toBeGreaterThanOrEqual(0);
  const k = gb.randint(3, 7, [1000]).data();
  expect(Math.min(...k)).toBe(3);
  expect(Math.max(...k)).toBe(6);
});

test("logSoftmax on rows with infinities gives PyTorch's values (NaN across a row of -inf or with +inf)", () => {
  const x = gb.tensor([
    [-Infinity, -Infinity],
    [Infinity, 1],
    [-Infinity, 1],
    [1, 2],
  ]);
  const out = x.logSoftmax(1).toArray() as number[][];
  // torch.log_softmax on the same rows (torch 1.13)
  expect(out[0].every(Number.isNaN)).toBe(true);
  expect(out[1].every(Number.isNaN)).toBe(true);
  expect(out[2]).toEqual([-Infinity, 0]);
  expect(out[3][0]).toBeCloseTo(-1.3132616, 6);
  expect(out[3][1]).toBeCloseTo(-0.3132617, 6);
  // logsumexp keeps its guard: an all -inf row sums to -inf, as torch's does
  expect((x.logsumexp(1).toArray() as number[])[0]).toBe(-Infinity);
});

test("an in-place op whose input partly overlaps what it writes is refused, as PyTorch's (x.add_(x.t()))", () => {
  const x = gb.arange(16).reshape([4, 4]).float();
  for (const recording of [false, true]) {
    const run = (f: () => unknown) => (recording ? f() : gb.noGrad(f));
    expect(() => run(() => x.add_(x.t()))).toThrow(/add_: unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory location/);
    expect(() => run(() => x.mul_(x.select(0, 0)))).toThrow(/mul_: unsupported operation/);
  }
  // the same view, or views that share no element, are fine (torch agrees)
  gb.noGrad(() => x.add_(x));
  gb.noGrad(() => x.select(1, 0).add_(x.select(1, 1)));
  expect(x.toArray()).toEqual([
    [2, 2, 4, 6],
    [18, 10, 12, 14],
    [34, 18, 20, 22],
    [50, 26, 28, 30],
  ]);
});

test('binaryInto writes a + alpha * b into an output that may be one of its operands, and refuses the rest', async () => {
  const { binaryInto } = await import('../runtime/functional/inplace.js');
  const buf = gb.tensor([1, 2, 3, 4]).reshape([2, 2]);
  const g = gb.tensor([10, 20, 30, 40]).reshape([2, 2]);
  gb.noGrad(() => binaryInto(buf, 'add', g, buf, 0.5));
  expect(buf.toArray()).toEqual([
    [10.5, 21],
    [31.5, 42],
  ]);
  // a broadcast operand
  gb.noGrad(() => binaryInto(buf, 'sub', buf, gb.tensor([0.5, 1]), 1));
  expect(buf.toArray()).toEqual([
    [10, 20],
    [31, 41],
  ]);
  expect(() => gb.noGrad(() => binaryInto(buf, 'add', g, buf.t()))).toThrow(/shares memory with the output without being the output/);
  expect(() => gb.noGrad(() => binaryInto(buf, 'add', g.double(), buf))).toThrow(/output's dtype float32/);
  expect(() => gb.noGrad(() => binaryInto(buf, 'add', gb.ones([3]), buf))).toThrow(/broadcast|shape/);
  const w = gb.ones([2, 2], { requiresGrad: true });
  expect(() => binaryInto(buf, 'add', w, buf)).toThrow(/noGrad/);
});
