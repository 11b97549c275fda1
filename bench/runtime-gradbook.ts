/**
 * gradbook's side of `npm run bench`: the issue's performance figures measured through the public
 * API (so dispatch, autograd and the backend wrapper are all in the time). run.js bundles this
 * file with esbuild and runs it once per round; it prints one JSON line of raw samples (one rate
 * per repetition) that run.js pools with the peers' and reduces to medians. Keys and units are
 * the ones bench/peers/torch_peer.py and bench/peers/tfjs.js use; see bench/README.md.
 */
import * as gb from '../runtime/index.js';
import * as nn from '../runtime/nn/index.js';
import * as optim from '../runtime/optim/index.js';
import * as data from '../runtime/data/index.js';
import { backendForDevice } from '../runtime/device.js';
import { cpuInfo } from '../runtime/backends/cpu/index.js';

type Tensor = gb.Tensor;

const REPS = Number(process.env.BENCH_REPS ?? 3);
/** Seconds one benchmark may spend on its repetitions; always at least one is taken. */
const BUDGET_S = Number(process.env.BENCH_BUDGET_S ?? 8);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
/** Keys run.js drops after the first round because one round of them took too long. */
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));

if (process.env.BENCH_BACKEND === 'reference') gb.flags.cpuBackend = 'reference';

const samples: Record<string, number[]> = {};
/** Seconds each benchmark took in this process, warm-up and set-up included. */
const spent: Record<string, number> = {};
/** Benchmarks left out, with why. */
const skipped: Record<string, string> = {};

const now = (): number => Number(process.hrtime.bigint()) / 1e9;

/**
 * Seconds per call of fn, one figure per repetition; each repetition runs `inner` calls. A
 * warm-up call comes first, so allocation caches and lazy compilation are not in the figure;
 * a warm-up that takes over half a second counts as the first repetition (the slow backend).
 */
function timeCalls(fn: () => void, inner: number): number[] {
  const start = now();
  fn();
  const first = now() - start;
  const out: number[] = inner === 1 && first > 0.5 ? [first] : [];
  // another repetition only if it should end within the budget
  while (out.length < REPS && (out.length === 0 || now() - start + out[out.length - 1] * inner < BUDGET_S)) {
    const t0 = now();
    for (let i = 0; i < inner; i++) fn();
    out.push((now() - t0) / inner);
  }
  return out;
}

/**
 * How many calls of fn fill about `seconds`, from a short trial (at least 1). The calls first run
 * unmeasured for `warm` seconds (a quarter of `seconds` unless given), so the figures are the
 * steady state every peer reaches (a JIT still compiling on the other core, or caches still cold,
 * would weigh on the first rep).
 */
function callsFor(fn: () => void, seconds: number, warm = seconds / 4): number {
  fn();
  for (const w0 = now(); now() - w0 < warm; ) fn();
  let n = 0;
  const t0 = now();
  while (now() - t0 < Math.min(0.05, seconds / 4)) {
    fn();
    n++;
  }
  const per = (now() - t0) / n;
  return Math.max(1, Math.round(seconds / per));
}

function record(key: string, secondsPerCall: number[], work: number): void {
  samples[key] = secondsPerCall.map((s) => work / s);
}

const want = (key: string): boolean => !SKIP.has(key) && (ONLY === null || ONLY.test(key));

/** Runs one benchmark if it is wanted, noting the seconds it took. */
function bench(key: string, fn: () => void): void {
  if (!want(key)) return;
  const t0 = now();
  fn();
  spent[key] = now() - t0;
}

/** Reading one element waits for the kernel on a device that queues work; cheap on the CPU. */
function touch(t: Tensor): void {
  t.reshape(-1).select(0, 0).item();
}

// ---- matmul: A·B, and the forms backward uses, A^T·B and A·B^T, as transposed views ----
/** Seconds one call of a form took at 1024, to predict its 2048 cost (8x the work). */
const perCall1024: Record<string, number> = {};
for (const n of [1024, 2048]) {
  for (const form of ['AB', 'AtB', 'ABt'] as const) {
    const key = `matmul_${n}_${form}`;
    const predicted = n === 2048 && perCall1024[form] !== undefined ? 8 * perCall1024[form] : 0;
    if (predicted > 2 * BUDGET_S) {
      // the reference backend: minutes of float64 loops would tell nothing new
      if (want(key)) skipped[key] = `about ${Math.round(predicted)} s a call`;
      continue;
    }
    bench(key, () => {
      const a = gb.randn([n, n]);
      const b = gb.randn([n, n]);
      const left = form === 'AtB' ? a.t() : a;
      const right = form === 'ABt' ? b.t() : b;
      const mm = (): void => {
        const c = left.matmul(right);
        touch(c);
        c.dispose();
      };
      const perCall = timeCalls(mm, 1);
      if (n === 1024) perCall1024[form] = Math.min(...perCall);
      record(key, perCall, (2 * n * n * n) / 1e9);
      a.dispose();
      b.dispose();
    });
  }
}

// ---- 4-element add with the graph recorded ----
bench('add4_graph_us', () => {
  const a = gb.randn([4], { requiresGrad: true });
  const b = gb.randn([4], { requiresGrad: true });
  let c: Tensor | null = null;
  const add = (): void => {
    c = a.add(b);
  };
  // µs per op, lower is better: stored as a time, not a rate
  samples.add4_graph_us = timeCalls(add, callsFor(add, 0.25)).map((s) => s * 1e6);
  if (c === null || !(c as Tensor).requiresGrad) throw new Error('add4: the graph was not recorded');
});

// ---- memory-bound: add of two 1e7 tensors into a new one (3 x 4e7 bytes), and sum of 1e7 ----
const N = 10_000_000;
// filled, not random: values do not change the traffic, and 1e7 random draws in TypeScript would
// cost seconds of set-up per round
bench('add_1e7_gbs', () => {
  const a = gb.full([N], 0.5);
  const b = gb.full([N], 0.25);
  const add = (): void => {
    const c = a.add(b);
    touch(c);
    // freed at once, as PyTorch's refcount frees it; garbage collection timing stays out
    c.dispose();
  };
  record('add_1e7_gbs', timeCalls(add, callsFor(add, 0.3)), (3 * 4 * N) / 1e9);
  a.dispose();
  b.dispose();
});
bench('sum_1e7_gbs', () => {
  const a = gb.full([N], 0.5);
  const sum = (): void => {
    a.sum().item();
  };
  record('sum_1e7_gbs', timeCalls(sum, callsFor(sum, 0.3)), (4 * N) / 1e9);
  a.dispose();
});

// ---- MLP training step: 784-256-ReLU-10, cross-entropy, batch 128, SGD with momentum ----
// A training step is a few dozen op calls through several layers of TypeScript, which V8 keeps
// optimising for about a second (~1,000 steps): after a 0.1 s warm-up the first 0.4 s rep ran
// at ~65% of the steady rate, the third at ~95%. Every peer warms this one up for MLP_WARM_S.
const MLP_WARM_S = 2;
// As a user writes it, and as the PyTorch peer does: nn.Sequential, F.crossEntropy, optim.SGD.
bench('mlp_steps', () => {
  gb.manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 10));
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = gb.randn([128, 784]);
  const y = gb.randint(0, 10, [128]);
  let loss = 0;
  const step = (): void => {
    opt.zeroGrad();
    const l = nn.functional.crossEntropy(model.call(x) as Tensor, y);
    l.backward();
    opt.step();
    loss = l.item();
  };
  samples.mlp_steps = timeCalls(step, callsFor(step, 0.4, MLP_WARM_S)).map((s) => 1 / s);
  if (!Number.isFinite(loss)) throw new Error(`mlp: loss is ${loss}`);
});

// ---- one epoch on digits (issue 4): test/train-digits.test.ts's split, standardisation and
// models, batch 64, shuffled; samples per second over the 1,438 training images ----
/** digits / 16, split 80/20 by Generator(2024), as the training test does. */
function digitsSplit(): { xTrain: Tensor; yTrain: Tensor } {
  const { x, y } = data.datasets.digits();
  const { train } = data.datasets.splitIndices(y.shape[0], 0.8, new gb.Generator(2024));
  const rows = gb.tensor(train, { dtype: 'int32' });
  return { xTrain: x.div(16).indexSelect(0, rows), yTrain: y.indexSelect(0, rows) };
}

/** Epochs run before the steady-state figure is taken (the same in torch_peer.py). */
const WARM_EPOCHS = Number(process.env.BENCH_WARM_EPOCHS ?? 10);

function epochBench(key: string, makeModel: () => nn.Module, makeOpt: (m: nn.Module) => optim.Optimizer<{ lr: number }>, input: (x: Tensor) => Tensor): void {
  bench(key, () => {
    gb.manualSeed(0);
    const { xTrain, yTrain } = digitsSplit();
    const xs = input(xTrain);
    const model = makeModel();
    const opt = makeOpt(model);
    const loader = new data.DataLoader(new data.TensorDataset(xs, yTrain), { batchSize: 64, shuffle: true, generator: new gb.Generator(0) });
    let loss = 0;
    const epoch = (): void => {
      for (const [xb, yb] of loader) {
        loss = gb.tidy(() => {
          opt.zeroGrad();
          const l = nn.functional.crossEntropy(model.call(xb) as Tensor, yb);
          l.backward();
          opt.step();
          return l.item();
        });
      }
    };
    // the first epoch alone (a cold start: lazy compilation, first allocations), then the
    // steady state after WARM_EPOCHS more, as a training run of a few dozen epochs spends it
    const t0 = now();
    epoch();
    const first = now() - t0;
    samples[`${key}_first`] = [xs.shape[0] / first];
    if (first * (WARM_EPOCHS + REPS) > 4 * BUDGET_S) {
      // the reference backend: minutes of epochs would tell nothing the first did not
      skipped[key] = `one epoch took ${first.toFixed(1)} s`;
      return;
    }
    for (let i = 1; i < WARM_EPOCHS; i++) epoch();
    record(key, timeCalls(epoch, 1), xs.shape[0]);
    if (!Number.isFinite(loss)) throw new Error(`${key}: loss is ${loss}`);
  });
}

epochBench(
  'digits_mlp_epoch',
  () => new nn.Sequential(new nn.Linear(64, 128), new nn.ReLU(), new nn.Linear(128, 10)),
  (m) => new optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 }),
  (x) => data.Normalize.fromData(x, { dim: 1 }).call(x),
);
epochBench(
  'digits_cnn_epoch',
  () =>
    new nn.Sequential(
      new nn.Conv2d(1, 32, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Conv2d(32, 64, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(64 * 2 * 2, 10),
    ),
  (m) => new optim.Adam(m.parameters(), { lr: 2e-3 }),
  (x) => data.Normalize.fromData(x).call(x).reshape(-1, 1, 8, 8),
);

const backend = backendForDevice('cpu').name;
console.log(
  JSON.stringify({
    meta: {
      peer: 'gradbook',
      backend: backend === 'reference' ? 'reference (TypeScript, float64)' : 'native',
      threads: backend === 'reference' ? 1 : cpuInfo?.threads,
      avx2: backend === 'reference' ? undefined : cpuInfo?.avx2,
      node: process.version,
    },
    samples,
    spent,
    skipped,
  }),
);
