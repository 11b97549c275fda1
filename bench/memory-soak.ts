// A long training loop with no dispose, as a user writes one with raw tensors: a 784-256-10 MLP at
// batch 128, SGD with momentum in place under noGrad, loss.item() every step. Prints one JSON
// line: resident memory and V8's heap and array-buffer figures at fixed steps.
//
//   node <bundle> VARIANT STEPS
//   VARIANT: fixed  one batch, cross entropy
//            gather the loss as logSoftmax, gather, mean, neg
//            fresh  a new random batch and labels every step (synthetic data)
import * as gb from '../runtime/index.js';
import type { Tensor } from '../runtime/index.js';
import { backendForDevice } from '../runtime/device.js';

const variant = process.argv[2] ?? 'fixed';
const steps = Number(process.argv[3] ?? 10_000);
const MARKS = [200, 500, 1000, 2000, 4000, 6000, 8000, 10_000, 20_000, 40_000];

gb.manualSeed(0);
const w1 = gb.randn([784, 256]).mul(0.05).requiresGrad_();
const b1 = gb.zeros([256]).requiresGrad_();
const w2 = gb.randn([256, 10]).mul(0.05).requiresGrad_();
const b2 = gb.zeros([10]).requiresGrad_();
const params = [w1, b1, w2, b2];
const velocity = params.map((p) => gb.zerosLike(p));
let x = gb.randn([128, 784]);
let y = gb.randint(0, 10, [128]);

const marks: Record<string, number>[] = [];
let loss = 0;
const t0 = performance.now();
for (let step = 1; step <= steps; step++) {
  if (variant === 'fresh') {
    x = gb.randn([128, 784]);
    y = gb.randint(0, 10, [128]);
  }
  const logits = x.matmul(w1).add(b1).relu().matmul(w2).add(b2);
  const l =
    variant === 'gather'
      ? logits.logSoftmax(1).gather(1, y.unsqueeze(1)).mean().neg()
      : gb.nn.functional.crossEntropy(logits, y);
  for (const p of params) p.grad = null;
  l.backward();
  gb.noGrad(() => {
    params.forEach((p, i) => {
      velocity[i]!.mul_(0.9).add_(p.grad as Tensor);
      p.sub_(velocity[i]!.mul(0.01));
    });
  });
  loss = l.item();
  if (MARKS.includes(step)) {
    const m = process.memoryUsage();
    marks.push({ step, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers });
  }
}
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ variant, steps, loss, seconds, backend: backendForDevice('cpu').name, marks }));
