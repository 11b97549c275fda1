/**
 * Random shapes, strides, dims, dtypes and arguments thrown at every op: the only acceptable
 * outcomes are a result or an Error that names the op. Any crash of the process fails the run.
 */
import { expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import type { Tensor, DType } from '../runtime/index.js';
import { Generator } from '../runtime/random.js';
import { cpuBackend } from '../runtime/backends/cpu/index.js';

const DTYPES: DType[] = ['float32', 'float64', 'int32', 'bool'];

function pick<T>(g: Generator, xs: readonly T[]): T {
  return xs[Math.floor(g.random() * xs.length)];
}

function randomShape(g: Generator): number[] {
  const nd = Math.floor(g.random() * 4);
  return Array.from({ length: nd }, () => pick(g, [0, 1, 1, 2, 3, 4]));
}

function randomTensor(g: Generator): Tensor {
  const shape = randomShape(g);
  const dtype = pick(g, DTYPES);
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, () => pick(g, [0, 1, -1, 2.5, -3, NaN, Infinity, 7]));
  let t = gb.tensor(vals.length ? vals : [], { dtype }).reshape(shape);
  const layout = g.random();
  if (layout < 0.2 && t.ndim >= 2) t = t.transpose(0, t.ndim - 1);
  else if (layout < 0.3 && t.ndim >= 1 && t.shape[0] > 1) t = t.slice(0, 0, undefined, 2);
  else if (layout < 0.4 && t.ndim >= 1 && t.shape[0] === 1) t = t.expand(3, ...t.shape.slice(1));
  if (g.random() < 0.3 && (dtype === 'float32' || dtype === 'float64')) t = t.detach().requiresGrad_();
  return t;
}

function randomArg(g: Generator): unknown {
  return pick(g, [0, 1, -1, 2, -3, 5, 0.5, undefined, null, NaN, [0], [-1, 0], [1, 2], 'x', {}]);
}

type Op = (g: Generator, a: Tensor, b: Tensor) => unknown;
const OPS: Record<string, Op> = {
  add: (_, a, b) => a.add(b),
  sub: (_, a, b) => a.sub(b),
  mul: (_, a, b) => a.mul(b),
  div: (_, a, b) => a.div(b),
  pow: (_, a, b) => a.pow(b),
  maximum: (_, a, b) => a.maximum(b),
  eq: (_, a, b) => a.eq(b),
  lt: (_, a, b) => a.lt(b),
  where: (_, a, b) => gb.where(a.gt(0), a, b),
  neg: (_, a) => a.neg(),
  exp: (_, a) => a.exp(),
  log: (_, a) => a.log(),
  relu: (_, a) => a.relu(),
  gelu: (_, a) => a.gelu(),
  clamp: (g, a) => a.clamp(randomArg(g) as number, randomArg(g) as number),
  sum: (g, a) => a.sum(randomArg(g) as number, g.random() < 0.5),
  mean: (g, a) => a.mean(randomArg(g) as number),
  max: (g, a) => a.max(randomArg(g) as number),
  amax: (g, a) => a.amax(randomArg(g) as number),
  argmax: (g, a) => a.argmax(randomArg(g) as number),
  var: (g, a) => a.var(randomArg(g) as number),
  logsumexp: (g, a) => a.logsumexp(randomArg(g) as number),
  softmax: (g, a) => a.softmax(randomArg(g) as number),
  logSoftmax: (g, a) => a.logSoftmax(randomArg(g) as number),
  matmul: (_, a, b) => a.matmul(b),
  mm: (_, a, b) => a.mm(b),
  bmm: (_, a, b) => a.bmm(b),
  reshape: (g, a) => a.reshape(randomShape(g)),
  view: (g, a) => a.view(...[pick(g, [-1, 2, 3, 0])]),
  flatten: (g, a) => a.flatten(randomArg(g) as number),
  permute: (g, a) => a.permute(...(randomShape(g).map((_, i) => pick(g, [i, -1, 0, 2])))),
  transpose: (g, a) => a.transpose(randomArg(g) as number, randomArg(g) as number),
  unsqueeze: (g, a) => a.unsqueeze(randomArg(g) as number),
  squeeze: (g, a) => a.squeeze(randomArg(g) as number),
  expand: (g, a) => a.expand(...randomShape(g)),
  narrow: (g, a) => a.narrow(randomArg(g) as number, randomArg(g) as number, randomArg(g) as number),
  select: (g, a) => a.select(randomArg(g) as number, randomArg(g) as number),
  slice: (g, a) => a.slice(randomArg(g) as number, randomArg(g) as number, randomArg(g) as number, randomArg(g) as number),
  index: (g, a, b) => a.index(...[randomArg(g), b].filter((x) => x !== undefined) as never[]),
  cat: (g, a, b) => gb.cat([a, b], randomArg(g) as number),
  stack: (g, a, b) => gb.stack([a, b], randomArg(g) as number),
  split: (g, a) => a.split(randomArg(g) as number, randomArg(g) as number),
  chunk: (g, a) => a.chunk(randomArg(g) as number),
  gather: (g, a, b) => a.gather(randomArg(g) as number, b),
  scatterAdd: (g, a, b) => a.scatterAdd(randomArg(g) as number, b, a),
  indexSelect: (g, a, b) => a.indexSelect(randomArg(g) as number, b),
  maskedFill: (_, a, b) => a.maskedFill(b, 1),
  repeat: (g, a) => a.repeat(...randomShape(g)),
  add_: (_, a, b) => a.add_(b),
  mul_: (_, a, b) => a.mul_(b),
  copy_: (_, a, b) => a.copy_(b),
  fill_: (g, a) => a.fill_(randomArg(g) as number),
  item: (_, a) => a.item(),
  to: (g, a) => a.to(pick(g, ['float64', 'int32', 'bool', 'cpu', 'cuda', 'tpu'])),
  backward: (_, a) => a.sum().backward(),
};

function runFuzz(seed: number, iterations: number): { ok: number; errors: number } {
  const g = new Generator(seed);
  const names = Object.keys(OPS);
  let ok = 0;
  let errors = 0;
  for (let i = 0; i < iterations; i++) {
    const name = names[i % names.length];
    const a = randomTensor(g);
    const b = g.random() < 0.3 ? gb.randint(-1, 4, randomShape(g)) : randomTensor(g);
    try {
      OPS[name](g, a, b);
      ok++;
    } catch (e) {
      errors++;
      if (!(e instanceof Error)) throw new Error(`${name} threw a non-Error: ${String(e)}`);
      if (!e.message || e.message.length < 10) throw new Error(`${name} threw an Error without a useful message: "${e.message}"`);
      if (e instanceof TypeError && /Cannot read|is not a function|undefined|null/.test(e.message) && !/expected|must/.test(e.message)) {
        throw new Error(`${name} leaked an internal error instead of a clear one: ${e.message}\n${e.stack}`);
      }
      if (process.env.FUZZ_SHOW) console.log(name, '|', e.message.slice(0, 150));
    }
  }
  return { ok, errors };
}

const backends = cpuBackend ? (['reference', 'native'] as const) : (['reference'] as const);

for (const b of backends) {
  test(`random inputs to every op give results or clear Errors, never a crash (${b})`, () => {
    const { ok, errors } = gb.withFlags({ cpuBackend: b }, () => runFuzz(12345, 20000));
    // both outcomes must actually occur, or the fuzzer is not exploring
    expect(ok).toBeGreaterThan(2000);
    expect(errors).toBeGreaterThan(2000);
  });
}
