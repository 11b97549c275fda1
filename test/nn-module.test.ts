/** nn.Module, nn.Parameter and the layers: registration, state dicts, modes, init, and torch parity. */
import { describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import * as nn from '../runtime/nn/index.js';
import type { Tensor } from '../runtime/index.js';
import { expectClose, hasTorch, t64, toTorchInput, torchRun } from './support/nn-check.js';

class Block extends nn.Module {
  fc1 = new nn.Linear(4, 8);
  act = new nn.ReLU();
  fc2 = new nn.Linear(8, 3);
  override forward(x: Tensor): Tensor {
    return this.fc2.call(this.act.call(this.fc1.call(x)));
  }
}

class Net extends nn.Module {
  encoder = new Block();
  heads = [new nn.Linear(3, 2), new nn.Linear(3, 1, { bias: false })];
  norm = new nn.BatchNorm1d(3);
  scale = new nn.Parameter(gb.ones([1]));
  notAParam = gb.zeros([2]);
  override forward(x: Tensor): Tensor {
    const h = this.norm.call(this.encoder.call(x));
    return gb.cat([this.heads[0].call(h), this.heads[1].call(h)], 1).mul(this.scale);
  }
}

describe('nn.Module', () => {
  test('registers parameters and submodules by field, in assignment order, with dotted names', () => {
    const net = new Net();
    expect(net.namedParameters().map(([k]) => k)).toEqual([
      'scale',
      'encoder.fc1.weight',
      'encoder.fc1.bias',
      'encoder.fc2.weight',
      'encoder.fc2.bias',
      'heads.0.weight',
      'heads.0.bias',
      'heads.1.weight',
      'norm.weight',
      'norm.bias',
    ]);
    expect(net.namedModules().map(([k]) => k)).toEqual(['', 'encoder', 'encoder.fc1', 'encoder.act', 'encoder.fc2', 'heads.0', 'heads.1', 'norm']);
    expect(net.namedChildren().map(([k]) => k)).toEqual(['encoder', 'heads.0', 'heads.1', 'norm']);
    expect(net.children()[0]).toBe(net.encoder);
    expect(net.parameters().every((p) => p instanceof nn.Parameter && p.requiresGrad && p.isLeaf)).toBe(true);
  });

  test('a Parameter is a leaf tensor sharing the storage of the tensor it wraps', () => {
    const t = gb.tensor([1, 2, 3]);
    const p = new nn.Parameter(t);
    expect(p).toBeInstanceOf(gb.Tensor);
    expect(p.requiresGrad).toBe(true);
    expect(p.storage).toBe(t.storage);
    expect(new nn.Parameter(t, false).requiresGrad).toBe(false);
    p.mul(2).sum().backward();
    expect(p.grad!.toArray()).toEqual([2, 2, 2]);
  });

  test('a shared parameter or module is listed once', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(3, 3);
      b = this.a;
    }
    const m = new Tied();
    expect(m.namedParameters().map(([k]) => k)).toEqual(['a.weight', 'a.bias']);
    expect(m.namedModules().map(([k]) => k)).toEqual(['', 'a']);
  });

  test('stateDict holds parameters and persistent buffers by dotted path, in PyTorch key names', () => {
    const net = new Net();
    const sd = net.stateDict();
    expect(Object.keys(sd)).toEqual([
      'scale',
      'encoder.fc1.weight',
      'encoder.fc1.bias',
      'encoder.fc2.weight',
      'encoder.fc2.bias',
      'heads.0.weight',
      'heads.0.bias',
      'heads.1.weight',
      'norm.weight',
      'norm.bias',
      'norm.running_mean',
      'norm.running_var',
      'norm.num_batches_tracked',
    ]);
    expect(sd['encoder.fc1.weight'].requiresGrad).toBe(false);
    expect(sd['encoder.fc1.weight'].storage).toBe(net.encoder.fc1.weight.storage);
  });

  test('loadStateDict copies values and reports missing, unexpected and mis-shaped keys by name', () => {
    const a = new Net();
    const b = new Net();
    b.loadStateDict(a.stateDict());
    expect(b.encoder.fc1.weight.toArray()).toEqual(a.encoder.fc1.weight.toArray());
    expect(b.encoder.fc1.weight).not.toBe(a.encoder.fc1.weight);

    const sd = a.stateDict();
    delete sd['heads.1.weight'];
    sd['extra.weight'] = gb.zeros([1]);
    expect(() => b.loadStateDict(sd)).toThrow(/Missing key\(s\) in state_dict: "heads.1.weight"\.\n\tUnexpected key\(s\) in state_dict: "extra.weight"\./);
    expect(b.loadStateDict(sd, { strict: false })).toEqual({ missingKeys: ['heads.1.weight'], unexpectedKeys: ['extra.weight'] });

    const bad = a.stateDict();
    bad['encoder.fc2.weight'] = gb.zeros([2, 8]);
    expect(() => b.loadStateDict(bad, { strict: false })).toThrow(
      /size mismatch for encoder.fc2.weight: copying a param with shape \[2, 8\] from checkpoint, the shape in current model is \[3, 8\]/,
    );
  });

  test('train() and eval() switch Dropout and BatchNorm in every submodule', () => {
    const m = new nn.Sequential(new nn.Linear(3, 3), new nn.Dropout(0.5), new nn.BatchNorm1d(3));
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.eval();
    expect(m.modules().some((x) => x.training)).toBe(false);
    const x = gb.randn([4, 3]);
    expect(m.call(x).toArray()).toEqual(m.call(x).toArray());
    expect((m.at(2) as nn.BatchNorm1d).runningMean!.toArray()).toEqual([0, 0, 0]);
    m.train();
    m.call(x);
    expect((m.at(2) as nn.BatchNorm1d).runningMean!.toArray()).not.toEqual([0, 0, 0]);
  });

  test('to(dtype) converts parameters and buffers in place, keeping the Parameter objects', () => {
    const net = new Net();
    const p = net.encoder.fc1.weight;
    const before = p.toArray() as number[][];
    net.to('float64');
    expect(net.encoder.fc1.weight).toBe(p);
    expect(p.dtype).toBe('float64');
    expect(p.requiresGrad).toBe(true);
    expect(net.norm.runningVar!.dtype).toBe('float64');
    expect(net.stateDict()['norm.num_batches_tracked'].dtype).toBe('int32');
    expectClose((p.toArray() as number[][]).flat(), before.flat(), 1e-7, 0, 'converted weight');
    const y = net.call(gb.randn([5, 4], { dtype: 'float64' }));
    expect(y.dtype).toBe('float64');
    expect(y.shape).toEqual([5, 3]);
  });

  test('apply visits children before the module itself; zeroGrad clears gradients', () => {
    const net = new Net();
    const seen: string[] = [];
    net.apply((m) => seen.push(m.constructor.name));
    expect(seen).toEqual(['Linear', 'ReLU', 'Linear', 'Block', 'Linear', 'Linear', 'BatchNorm1d', 'Net']);
    net.call(gb.randn([4, 4])).sum().backward();
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
  });

  test('call() runs forward under each module\'s dotted path, as the profiler sees it', () => {
    const net = new Net();
    const paths = new Set<string>();
    const off = gb.addObserver((e) => paths.add(e.modulePath));
    try {
      net.call(gb.randn([4, 4]));
    } finally {
      off();
    }
    // Block's own forward only calls submodules, so no op carries the bare 'encoder' path
    expect([...paths].sort()).toEqual(['', 'encoder.act', 'encoder.fc1', 'encoder.fc2', 'heads.0', 'heads.1', 'norm']);
  });

  test('ModuleList and Sequential index, iterate and print', () => {
    const list = new nn.ModuleList([new nn.Linear(2, 2)]);
    list.append(new nn.ReLU());
    expect(list.length).toBe(2);
    expect(list.at(-1)).toBeInstanceOf(nn.ReLU);
    expect([...list].length).toBe(2);
    expect(() => list.at(2)).toThrow(/index 2 is out of range \(length 2\)/);
    const seq = new nn.Sequential(new nn.Conv2d(1, 2, 3, { padding: 1 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(2 * 16, 3));
    expect(seq.call(gb.randn([5, 1, 4, 4])).shape).toEqual([5, 3]);
    expect(seq.toString()).toBe(
      'Sequential(\n  (0): Conv2d(1, 2, kernel_size=(3, 3), padding=1)\n  (1): ReLU()\n  (2): Flatten(start_dim=1, end_dim=-1)\n  (3): Linear(in_features=32, out_features=3, bias=true)\n)',
    );
  });
});

describe('default initialisation', () => {
  function stats(t: Tensor) {
    const v = Array.from(t.data());
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
    return { min: Math.min(...v), max: Math.max(...v), mean, variance };
  }
  test('Linear and Conv2d weights and biases are U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch', () => {
    gb.manualSeed(0);
    const lin = new nn.Linear(100, 200);
    const bound = 1 / Math.sqrt(100);
    const s = stats(lin.weight);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.variance).toBeCloseTo(bound ** 2 / 3, 4);
    expect(stats(lin.bias!).max).toBeLessThanOrEqual(bound);
    const conv = new nn.Conv2d(4, 16, 3);
    const cb = 1 / Math.sqrt(4 * 9);
    const c = stats(conv.weight);
    expect(c.min).toBeGreaterThanOrEqual(-cb);
    expect(c.max).toBeLessThanOrEqual(cb);
    expect(c.max).toBeGreaterThan(cb * 0.9);
  });
  test('Embedding is N(0, 1) with a zero padding row; norms start at weight 1, bias 0', () => {
    gb.manualSeed(0);
    const e = new nn.Embedding(1000, 10, { paddingIdx: 3 });
    const s = stats(e.weight);
    expect(s.mean).toBeCloseTo(0, 1);
    expect(s.variance).toBeGreaterThan(0.95);
    expect(s.variance).toBeLessThan(1.05);
    expect(e.weight.select(0, 3).toArray()).toEqual(new Array(10).fill(0));
    const bn = new nn.BatchNorm2d(3);
    expect(bn.weight!.toArray()).toEqual([1, 1, 1]);
    expect(bn.bias!.toArray()).toEqual([0, 0, 0]);
    expect(bn.runningVar!.toArray()).toEqual([1, 1, 1]);
  });
});

describe.skipIf(!hasTorch)('layers against PyTorch', () => {
  test('Linear, Conv2d, pools, norms, Embedding, activations and loss modules match torch modules with the same weights', () => {
    gb.setDefaultDtype('float64');
    try {
      const x2 = t64([6, 4], 1);
      const x4 = t64([4, 3, 6, 6], 2);
      const x4b = t64([4, 3, 6, 6], 3, -1, 3);
      const lin = new nn.Linear(4, 5);
      const conv = new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 });
      const bn = new nn.BatchNorm2d(3, { momentum: 0.2 });
      const bn1 = new nn.BatchNorm1d(4);
      const ln = new nn.LayerNorm([6, 6]);
      const emb = new nn.Embedding(6, 3, { paddingIdx: 0 });
      const ids = gb.tensor([[0, 1, 5], [2, 2, 4]], { dtype: 'int32' });
      const target = gb.tensor([0, 1, 4, 2, 3, 1], { dtype: 'int32' });
      const W = (t: Tensor) => toTorchInput(t, false);
      const ours: Tensor[][] = [
        [lin.call(x2)],
        [conv.call(x4)],
        (() => {
          bn.call(x4);
          const y = bn.call(x4b);
          bn.eval();
          return [y, bn.runningMean!, bn.runningVar!, bn.call(x4)];
        })(),
        (() => {
          bn1.call(x2);
          return [bn1.call(x2.mul(2)), bn1.runningMean!, bn1.runningVar!];
        })(),
        [ln.call(x4)],
        [emb.call(ids)],
        [new nn.MaxPool2d(3, { stride: 2, padding: 1 }).call(x4)],
        [new nn.AvgPool2d(2).call(x4)],
        [new nn.GELU('tanh').call(x2), new nn.Tanh().call(x2), new nn.Sigmoid().call(x2), new nn.ReLU().call(x2)],
        [new nn.Flatten().call(x4)],
        [new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }).call(lin.call(x2), target), new nn.MSELoss({ reduction: 'sum' }).call(x2, x2.mul(0.5))],
        [new nn.BCEWithLogitsLoss({ posWeight: gb.full([4], 2) }).call(x2, x2.sigmoid()), new nn.NLLLoss().call(x2.logSoftmax(1), gb.tensor([0, 1, 2, 3, 0, 1], { dtype: 'int32' }))],
      ];
      const cases = [
        { code: 'm = nn.Linear(4, 5).double(); m.weight.data = x1; m.bias.data = x2; out = m(x0)', inputs: [W(x2), W(lin.weight), W(lin.bias!)] },
        { code: 'm = nn.Conv2d(3, 4, 3, stride=2, padding=1).double(); m.weight.data = x1; m.bias.data = x2; out = m(x0)', inputs: [W(x4), W(conv.weight), W(conv.bias!)] },
        { code: 'm = nn.BatchNorm2d(3, momentum=0.2).double(); m(x0); out = m(x1); m.eval(); extra = [m.running_mean, m.running_var, m(x0)]', inputs: [W(x4), W(x4b)] },
        { code: 'm = nn.BatchNorm1d(4).double(); m(x0); out = m(x0 * 2); extra = [m.running_mean, m.running_var]', inputs: [W(x2)] },
        { code: 'out = nn.LayerNorm([6, 6]).double()(x0)', inputs: [W(x4)] },
        { code: 'm = nn.Embedding(6, 3, padding_idx=0).double(); m.weight.data = x1; out = m(x0)', inputs: [W(ids), W(emb.weight)] },
        { code: 'out = nn.MaxPool2d(3, stride=2, padding=1)(x0)', inputs: [W(x4)] },
        { code: 'out = nn.AvgPool2d(2)(x0)', inputs: [W(x4)] },
        { code: "out = nn.GELU(approximate='tanh')(x0); extra = [nn.Tanh()(x0), nn.Sigmoid()(x0), nn.ReLU()(x0)]", inputs: [W(x2)] },
        { code: 'out = nn.Flatten()(x0)', inputs: [W(x4)] },
        { code: "out = nn.CrossEntropyLoss(label_smoothing=0.1)(F.linear(x0, x1, x2), x3); extra = [nn.MSELoss(reduction='sum')(x0, x0 * 0.5)]", inputs: [W(x2), W(lin.weight), W(lin.bias!), W(target)] },
        { code: 'out = nn.BCEWithLogitsLoss(pos_weight=torch.full([4], 2.0, dtype=torch.float64))(x0, x0.sigmoid()); extra = [nn.NLLLoss()(F.log_softmax(x0, 1), torch.tensor([0, 1, 2, 3, 0, 1]))]', inputs: [W(x2)] },
      ];
      const results = torchRun(cases);
      results.forEach((r, i) => {
        const [first, ...rest] = ours[i];
        expect([...first.shape], `case ${i} shape`).toEqual(r.shape);
        expectClose(Array.from(first.data()), r.out, 1e-10, 1e-10, `case ${i} (${cases[i].code})`);
        rest.forEach((t, k) => expectClose(Array.from(t.data()), r.extra[k], 1e-10, 1e-10, `case ${i} extra ${k}`));
      });
    } finally {
      gb.setDefaultDtype('float32');
    }
  });
});
