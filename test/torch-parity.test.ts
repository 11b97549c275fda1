/**
 * The same expressions in gradbook and in PyTorch (Debian's python3-torch) on the same inputs:
 * values and gradients must agree. The PyTorch side runs in one /usr/bin/python3 process.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import type { Tensor } from '../runtime/index.js';
import { Generator } from '../runtime/random.js';

interface Case {
  name: string;
  js: (...xs: Tensor[]) => Tensor;
  py: string;
  shapes: number[][];
  /** Inputs that are class indices: integers in [0, n). */
  ints?: Record<number, number>;
  positive?: boolean;
}

const CASES: Case[] = [
  { name: 'broadcast add mul', js: (a, b) => a.add(b).mul(a), py: 'lambda a, b: (a + b) * a', shapes: [[3, 1, 4], [5, 1]] },
  { name: 'div pow', js: (a, b) => a.div(b.abs().add(0.5)).pow(2), py: 'lambda a, b: (a / (b.abs() + 0.5)) ** 2', shapes: [[4, 3], [3]] },
  { name: 'tensor pow', js: (a, b) => a.pow(b), py: 'lambda a, b: a ** b', shapes: [[3, 4], [3, 4]], positive: true },
  { name: 'gelu', js: (a) => a.gelu(), py: 'lambda a: torch.nn.functional.gelu(a)', shapes: [[5, 6]] },
  { name: 'gelu tanh', js: (a) => a.gelu({ approximate: 'tanh' }), py: "lambda a: torch.nn.functional.gelu(a, approximate='tanh')", shapes: [[5, 6]] },
  { name: 'silu sigmoid tanh', js: (a) => a.silu().add(a.sigmoid()).mul(a.tanh()), py: 'lambda a: (torch.nn.functional.silu(a) + a.sigmoid()) * a.tanh()', shapes: [[7]] },
  { name: 'erf log1p exp', js: (a) => a.erf().add(a.abs().log1p()).sub(a.exp()), py: 'lambda a: a.erf() + a.abs().log1p() - a.exp()', shapes: [[4, 4]] },
  { name: 'clamp', js: (a) => a.clamp(-0.5, 0.5), py: 'lambda a: a.clamp(-0.5, 0.5)', shapes: [[10]] },
  { name: 'softmax', js: (a) => a.softmax(1), py: 'lambda a: a.softmax(1)', shapes: [[3, 5]] },
  { name: 'logSoftmax', js: (a) => a.logSoftmax(-1), py: 'lambda a: a.log_softmax(-1)', shapes: [[2, 3, 4]] },
  { name: 'logsumexp', js: (a) => a.logsumexp([0, 2]), py: 'lambda a: a.logsumexp([0, 2])', shapes: [[2, 3, 4]] },
  { name: 'var std', js: (a) => a.var(1).add(a.std(1, { unbiased: false })), py: 'lambda a: a.var(1) + a.std(1, unbiased=False)', shapes: [[4, 6]] },
  { name: 'mean keepdim', js: (a) => a.mean([0, 1], true), py: 'lambda a: a.mean([0, 1], keepdim=True)', shapes: [[3, 4, 2]] },
  { name: 'max dim', js: (a) => a.max(1).values, py: 'lambda a: a.max(1).values', shapes: [[4, 5]] },
  { name: 'amin', js: (a) => a.amin(0), py: 'lambda a: a.amin(0)', shapes: [[4, 5]] },
  { name: 'matmul batched', js: (a, b) => a.matmul(b), py: 'lambda a, b: a @ b', shapes: [[2, 1, 3, 4], [3, 4, 5]] },
  { name: 'matmul vector', js: (a, b) => a.matmul(b), py: 'lambda a, b: a @ b', shapes: [[4], [2, 4, 3]] },
  { name: 'transpose views', js: (a) => a.T.matmul(a).narrow(0, 1, 2), py: 'lambda a: (a.T @ a).narrow(0, 1, 2)', shapes: [[5, 3]] },
  { name: 'cat stack', js: (a, b) => gb.stack([gb.cat([a, b], 1), gb.cat([b, a], 1)], 0), py: 'lambda a, b: torch.stack([torch.cat([a, b], 1), torch.cat([b, a], 1)], 0)', shapes: [[2, 3], [2, 3]] },
  { name: 'repeat expand', js: (a) => a.repeat(2, 3).add(a.expand(2, 2, 2).sum(0).repeat(2, 3)), py: 'lambda a: a.repeat(2, 3) + a.expand(2, 2, 2).sum(0).repeat(2, 3)', shapes: [[2, 2]] },
  { name: 'gather', js: (a, i) => a.gather(1, i), py: 'lambda a, i: a.gather(1, i)', shapes: [[3, 4], [3, 5]], ints: { 1: 4 } },
  { name: 'indexSelect', js: (a, i) => a.indexSelect(0, i), py: 'lambda a, i: a.index_select(0, i)', shapes: [[4, 3], [6]], ints: { 1: 4 } },
  { name: 'advanced index', js: (a, i, j) => a.index(i, j), py: 'lambda a, i, j: a[i, j]', shapes: [[4, 5], [3, 1], [2]], ints: { 1: 4, 2: 5 } },
  { name: 'scatterAdd', js: (a, i, s) => a.scatterAdd(0, i, s), py: 'lambda a, i, s: a.scatter_add(0, i, s)', shapes: [[3, 4], [5, 4], [5, 4]], ints: { 1: 3 } },
  { name: 'maskedFill where', js: (a, b) => gb.where(a.gt(b), a, b.mul(2)).maskedFill(a.lt(-1), 0), py: 'lambda a, b: torch.where(a > b, a, b * 2).masked_fill(a < -1, 0)', shapes: [[4, 4], [4]] },
  { name: 'cross entropy by hand', js: (x, y) => x.logSoftmax(1).gather(1, y.unsqueeze(1)).mean().neg(), py: 'lambda x, y: torch.nn.functional.cross_entropy(x, y)', shapes: [[6, 5], [6]], ints: { 1: 5 } },
  { name: 'reshape of a non-contiguous view', js: (a) => a.permute(2, 0, 1).reshape(4, -1).cos(), py: 'lambda a: a.permute(2, 0, 1).reshape(4, -1).cos()', shapes: [[2, 3, 4]] },
];

const python = '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

function makeInputs(c: Case, seed: number) {
  const g = new Generator(seed);
  return c.shapes.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const high = c.ints?.[i];
    const values = Array.from({ length: n }, () =>
      high !== undefined ? Math.floor(g.random() * high) : c.positive ? 0.5 + g.random() * 1.5 : g.random() * 4 - 2,
    );
    return { shape, values, int: high !== undefined };
  });
}

describe.skipIf(!hasTorch)('agrees with PyTorch', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    test(`values and gradients of ${CASES.length} expressions match torch (${dtype})`, () => {
      const runs = CASES.map((c, k) => {
        const inputs = makeInputs(c, 1000 + k);
        const xs = inputs.map((s) =>
          s.int
            ? gb.tensor(s.values, { dtype: 'int32' }).reshape(s.shape)
            : gb.tensor(s.values, { dtype }).reshape(s.shape).requiresGrad_(),
        );
        const out = c.js(...xs);
        const g = new Generator(5000 + k);
        const weights = Array.from({ length: out.numel() }, () => g.random() - 0.5);
        out.mul(gb.tensor(weights, { dtype }).reshape(out.shape)).sum().backward();
        return { c, inputs, xs, out, weights };
      });
      const payload = runs.map((r) => ({
        expr: r.c.py,
        dtype,
        weights: r.weights,
        inputs: r.inputs.map((s) => ({ shape: s.shape, values: s.values, int: s.int, grad: !s.int })),
      }));
      const script = fileURLToPath(new URL('./torch_parity.py', import.meta.url));
      const res = spawnSync(python, [script], { input: JSON.stringify(payload), encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'passive' } });
      expect(res.status, res.stderr).toBe(0);
      const torchResults = JSON.parse(res.stdout) as { shape: number[]; values: number[]; grads?: (number[] | null)[] }[];
      const rtol = dtype === 'float64' ? 1e-10 : 2e-5;
      const atol = dtype === 'float64' ? 1e-12 : 1e-5;
      const close = (a: ArrayLike<number>, b: number[], what: string) => {
        expect(a.length, what).toBe(b.length);
        for (let i = 0; i < b.length; i++) {
          if (Math.abs(a[i] - b[i]) > atol + rtol * Math.abs(b[i])) expect.fail(`${what}[${i}]: gradbook ${a[i]}, torch ${b[i]}`);
        }
      };
      runs.forEach((r, k) => {
        const t = torchResults[k];
        expect(r.out.shape, `${r.c.name} shape`).toEqual(t.shape);
        close(r.out.data(), t.values, `${r.c.name} values`);
        r.xs.forEach((x, i) => {
          if (r.inputs[i].int) return;
          close(x.grad ? x.grad.data() : new Float64Array(x.numel()), t.grads?.[i] ?? [], `${r.c.name} grad ${i}`);
        });
      });
    });
  }
});
