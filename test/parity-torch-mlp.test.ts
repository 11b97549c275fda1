/**
 * Parity with PyTorch: the digits MLP from the same initial weights (handed over in a safetensors
 * file) on the same batches gives the same loss at each of 20 steps of SGD with momentum, and of
 * Adam: within 1e-5 relative in float32 and 1e-10 in float64.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import * as nn from '../runtime/nn/index.js';
import * as optim from '../runtime/optim/index.js';
import * as data from '../runtime/data/index.js';
import { save } from '../runtime/io/index.js';
import type { Tensor, DType } from '../runtime/index.js';
import { hasTorch, PYTHON } from './support/nn-check.js';

const dir = mkdtempSync(join(tmpdir(), 'gradbook-parity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const script = fileURLToPath(new URL('./parity_mlp_torch.py', import.meta.url));
const STEPS = 20;

function run(dtype: 'float32' | 'float64', kind: 'sgd' | 'adam'): { ours: number[]; torch: number[] } {
  gb.manualSeed(11);
  const { x, y } = data.datasets.digits();
  const xs = x.div(16);
  const model = new nn.Sequential(new nn.Linear(64, 128), new nn.ReLU(), new nn.Linear(128, 10));
  const weights = join(dir, `init-${dtype}-${kind}.safetensors`);
  const dataFile = join(dir, 'digits.safetensors');
  save(model.stateDict(), weights);
  save({ x: xs, y }, dataFile);
  model.to(dtype as DType);
  const xd = xs.to(dtype as DType);
  // the batches: the first 20 of a seeded shuffled epoch of 32
  const order = [...new data.DataLoader(new data.TensorDataset(gb.arange(0, 1797, 1, { dtype: 'int32' })), { batchSize: 32, shuffle: true, generator: new gb.Generator(3) })]
    .slice(0, STEPS)
    .map(([rows]) => Array.from(rows.data()));
  const opt = kind === 'sgd' ? new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }) : new optim.Adam(model.parameters(), { lr: 3e-3 });
  const ours: number[] = [];
  for (const rows of order) {
    const idx = gb.tensor(rows, { dtype: 'int32' });
    opt.zeroGrad();
    const loss = nn.functional.crossEntropy(model.call(xd.indexSelect(0, idx)) as Tensor, y.indexSelect(0, idx));
    loss.backward();
    opt.step();
    ours.push(loss.item());
  }
  const cfg = join(dir, `cfg-${dtype}-${kind}.json`);
  writeFileSync(cfg, JSON.stringify({ dtype, optimizer: kind, batches: order }));
  const r = spawnSync(PYTHON, [script, weights, dataFile, cfg], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`parity_mlp_torch.py failed: ${r.stderr}`);
  return { ours, torch: JSON.parse(r.stdout) as number[] };
}

function worstRelative(a: number[], b: number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]) / Math.abs(b[i])));
}

describe.skipIf(!hasTorch)('parity with PyTorch on the digits MLP', () => {
  for (const kind of ['sgd', 'adam'] as const) {
    for (const [dtype, tol] of [['float32', 1e-5], ['float64', 1e-10]] as const) {
      test(`${kind === 'sgd' ? 'SGD with momentum' : 'Adam'}, ${dtype}: 20 losses agree within ${tol} relative`, () => {
        const { ours, torch } = run(dtype, kind);
        expect(torch).toHaveLength(STEPS);
        expect(ours).toHaveLength(STEPS);
        const worst = worstRelative(ours, torch);
        console.log(`parity ${kind} ${dtype}: first loss ${ours[0].toFixed(6)}, last ${ours[STEPS - 1].toFixed(6)}, worst relative difference ${worst.toExponential(2)}`);
        // training made progress, so the comparison covers real updates
        expect(ours[STEPS - 1]).toBeLessThan(ours[0] * 0.9);
        expect(worst).toBeLessThanOrEqual(tol);
      });
    }
  }
});
