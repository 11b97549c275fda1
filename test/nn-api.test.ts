/** The nn, optim, data and file names API.md promises are reachable from `gb`, and work together. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';

const { nn, optim, data } = gb;
const F = gb.nn.functional;

describe('public surface', () => {
  test('every nn, optim and data name in API.md exists', () => {
    const layers = 'Module Parameter Linear Conv2d MaxPool2d AvgPool2d BatchNorm1d BatchNorm2d LayerNorm Dropout Embedding ReLU GELU Tanh Sigmoid Flatten Sequential ModuleList MSELoss CrossEntropyLoss NLLLoss BCEWithLogitsLoss';
    for (const name of layers.split(' ')) expect(typeof (nn as Record<string, unknown>)[name], `nn.${name}`).toBe('function');
    const fns = 'linear conv2d maxPool2d avgPool2d relu gelu softmax logSoftmax crossEntropy mseLoss nllLoss dropout batchNorm layerNorm embedding binaryCrossEntropyWithLogits';
    for (const name of fns.split(' ')) expect(typeof (F as Record<string, unknown>)[name], `F.${name}`).toBe('function');
    for (const name of ['SGD', 'Adam', 'AdamW', 'RMSprop']) expect(typeof (optim as Record<string, unknown>)[name], `optim.${name}`).toBe('function');
    for (const name of ['StepLR', 'CosineAnnealingLR', 'OneCycleLR']) expect(typeof (optim.lrScheduler as Record<string, unknown>)[name]).toBe('function');
    expect(typeof data.TensorDataset).toBe('function');
    expect(typeof data.DataLoader).toBe('function');
    expect(typeof data.datasets.digits).toBe('function');
    expect(typeof data.datasets.mnist).toBe('function');
    expect(typeof gb.save).toBe('function');
    expect(typeof gb.load).toBe('function');
  });

  test('the seed workflow runs end to end through gb: data, model, train, evaluate, save, load', async () => {
    gb.manualSeed(1);
    const { x, y } = data.datasets.digits();
    const ds = new data.TensorDataset(x.narrow(0, 0, 256).div(16), y.narrow(0, 0, 256));
    const loader = new data.DataLoader(ds, { batchSize: 64, shuffle: true, generator: new gb.Generator(0) });
    class Net extends nn.Module {
      fc1 = new nn.Linear(64, 32);
      fc2 = new nn.Linear(32, 10);
      override forward(t: gb.Tensor): gb.Tensor {
        return this.fc2.call(F.relu(this.fc1.call(t)));
      }
    }
    const model = new Net();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const lossAt = () => gb.noGrad(() => F.crossEntropy(model.call(ds.tensors[0]), ds.tensors[1]).item());
    const start = lossAt();
    for (let epoch = 0; epoch < 5; epoch++) {
      for await (const [xb, yb] of loader) {
        opt.zeroGrad();
        F.crossEntropy(model.call(xb), yb).backward();
        opt.step();
      }
    }
    expect(lossAt()).toBeLessThan(start / 2);
    const dir = mkdtempSync(join(tmpdir(), 'gradbook-api-'));
    try {
      const path = join(dir, 'net.safetensors');
      gb.save(model.stateDict(), path);
      const again = new Net();
      again.loadStateDict(gb.load(path));
      expect(again.call(ds.tensors[0]).toArray()).toEqual(model.call(ds.tensors[0]).toArray());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const display = (model as unknown as Record<symbol, () => Record<string, string>>)[Symbol.for('Jupyter.display')];
    expect(display.call(model)['text/plain']).toContain('(fc1): Linear(in_features=64, out_features=32, bias=true)');
  });
});
