// TensorFlow.js's side of `npm run bench`: the wasm backend (SIMD; Node gets no wasm threads, so
// it runs on one core), as one JSON line of raw samples with the keys, units and protocol of
// bench/runtime-gradbook.ts. tfjs has no transposed views: A^T·B and A·B^T use matMul's transpose
// flags, which is how its own gradients call it. It records a graph only inside tf.grad, so the
// 4-element add is a plain add (and a dispose, tfjs's way of freeing).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const BUDGET_S = Number(process.env.BENCH_BUDGET_S ?? 8);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const want = (key) => !SKIP.has(key) && (ONLY === null || ONLY.test(key));
const now = () => Number(process.hrtime.bigint()) / 1e9;

async function timeCalls(fn, inner) {
  const start = now();
  await fn();
  const first = now() - start;
  const out = inner === 1 && first > 0.5 ? [first] : [];
  // another repetition only if it should end within the budget
  while (out.length < REPS && (out.length === 0 || now() - start + out[out.length - 1] * inner < BUDGET_S)) {
    const t0 = now();
    for (let i = 0; i < inner; i++) await fn();
    out.push((now() - t0) / inner);
  }
  return out;
}

async function callsFor(fn, seconds) {
  await fn();
  // unmeasured warm-up for a quarter of the budget, as every peer does (runtime-gradbook.ts)
  for (const w0 = now(); now() - w0 < seconds / 4; ) await fn();
  let n = 0;
  const t0 = now();
  while (now() - t0 < Math.min(0.05, seconds / 4)) {
    await fn();
    n++;
  }
  return Math.max(1, Math.round(seconds / ((now() - t0) / n)));
}

const samples = {};
const spent = {};
/** Benchmarks left out, with why: a 2048 matmul whose 1024 form predicts minutes per call. */
const skipped = {};
async function bench(key, fn) {
  if (!want(key)) return;
  const t0 = now();
  await fn();
  spent[key] = now() - t0;
}
const record = (key, perCall, work) => {
  samples[key] = perCall.map((s) => work / s);
};

await tf.setBackend('wasm');
await tf.ready();

/** Seconds one call of a form took at 1024, to predict its 2048 cost (8x the work). */
const perCall1024 = {};
for (const n of [1024, 2048]) {
  for (const form of ['AB', 'AtB', 'ABt']) {
    const key = `matmul_${n}_${form}`;
    const predicted = n === 2048 && perCall1024[form] !== undefined ? 8 * perCall1024[form] : 0;
    if (predicted > 2 * BUDGET_S) {
      if (want(key)) skipped[key] = `about ${Math.round(predicted)} s a call`;
      continue;
    }
    await bench(key, async () => {
      const a = tf.randomNormal([n, n]);
      const b = tf.randomNormal([n, n]);
      const mm = async () => {
        const c = tf.matMul(a, b, form === 'AtB', form === 'ABt');
        await c.data();
        c.dispose();
      };
      const perCall = await timeCalls(mm, 1);
      if (n === 1024) perCall1024[form] = Math.min(...perCall);
      record(key, perCall, (2 * n * n * n) / 1e9);
      tf.dispose([a, b]);
    });
  }
}

await bench('add4_graph_us', async () => {
  const a = tf.randomNormal([4]);
  const b = tf.randomNormal([4]);
  const add = () => tf.add(a, b).dispose();
  samples.add4_graph_us = (await timeCalls(add, await callsFor(add, 0.25))).map((s) => s * 1e6);
  tf.dispose([a, b]);
});

const N = 10_000_000;
await bench('add_1e7_gbs', async () => {
  const a = tf.randomUniform([N]);
  const b = tf.randomUniform([N]);
  // no read back: the wasm backend runs a kernel during the call, and dataSync would copy
  // the whole 40 MB result out of the wasm heap
  const add = () => tf.add(a, b).dispose();
  record('add_1e7_gbs', await timeCalls(add, await callsFor(add, 0.3)), (3 * 4 * N) / 1e9);
  tf.dispose([a, b]);
});
await bench('sum_1e7_gbs', async () => {
  const a = tf.randomUniform([N]);
  const sum = () => {
    const s = tf.sum(a);
    s.dataSync();
    s.dispose();
  };
  record('sum_1e7_gbs', await timeCalls(sum, await callsFor(sum, 0.3)), (4 * N) / 1e9);
  a.dispose();
});

const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
console.log(JSON.stringify({ meta: { peer: 'tfjs', version: tf.version_core, simd, threads: threads ? 'wasm threads' : 1 }, samples, spent, skipped }));
