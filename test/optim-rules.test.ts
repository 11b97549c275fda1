/** Optimizers and lr schedulers against torch.optim 1.13: the same parameters after every step. */
import { describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import * as optim from '../runtime/optim/index.js';
import type { Tensor } from '../runtime/index.js';
import { expectClose, hasTorch, t64, toTorchInput, torchRun } from './support/nn-check.js';

const STEPS = 6;

/** A fixed non-quadratic loss of two parameters, the same in both frameworks. */
function lossOf(a: Tensor, b: Tensor): Tensor {
  return a.mul(a).mul(a.mul(0.3).sin().add(1.5)).sum().add(a.matmul(b).tanh().sum()).add(b.sub(0.5).pow(2).sum());
}
const PY_LOSS = '(a*a*((a*0.3).sin()+1.5)).sum() + (a @ b).tanh().sum() + ((b - 0.5)**2).sum()';

interface Config {
  name: string;
  make: (ps: Tensor[]) => optim.Optimizer<{ lr: number }>;
  py: string;
}

const configs: Config[] = [
  { name: 'SGD', make: (ps) => new optim.SGD(ps, { lr: 0.1 }), py: 'torch.optim.SGD(ps, lr=0.1)' },
  { name: 'SGD momentum dampening weightDecay', make: (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }), py: 'torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)' },
  { name: 'SGD nesterov maximize', make: (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.8, nesterov: true, maximize: true }), py: 'torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, maximize=True)' },
  { name: 'Adam', make: (ps) => new optim.Adam(ps, { lr: 0.01 }), py: 'torch.optim.Adam(ps, lr=0.01)' },
  { name: 'Adam weightDecay amsgrad betas', make: (ps) => new optim.Adam(ps, { lr: 0.02, weightDecay: 0.1, amsgrad: true, betas: [0.8, 0.9] }), py: 'torch.optim.Adam(ps, lr=0.02, weight_decay=0.1, amsgrad=True, betas=(0.8, 0.9))' },
  { name: 'AdamW', make: (ps) => new optim.AdamW(ps, { lr: 0.01 }), py: 'torch.optim.AdamW(ps, lr=0.01)' },
  { name: 'AdamW amsgrad', make: (ps) => new optim.AdamW(ps, { lr: 0.03, weightDecay: 0.5, amsgrad: true }), py: 'torch.optim.AdamW(ps, lr=0.03, weight_decay=0.5, amsgrad=True)' },
  { name: 'RMSprop', make: (ps) => new optim.RMSprop(ps, { lr: 0.01 }), py: 'torch.optim.RMSprop(ps, lr=0.01)' },
  { name: 'RMSprop centered momentum weightDecay', make: (ps) => new optim.RMSprop(ps, { lr: 0.01, centered: true, momentum: 0.9, weightDecay: 0.1, alpha: 0.9 }), py: 'torch.optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.9, weight_decay=0.1, alpha=0.9)' },
  {
    name: 'SGD with two param groups',
    make: (ps) => new optim.SGD([{ params: [ps[0]] }, { params: [ps[1]], lr: 0.01, momentum: 0.5 }], { lr: 0.1 }),
    py: "torch.optim.SGD([{'params': [ps[0]]}, {'params': [ps[1]], 'lr': 0.01, 'momentum': 0.5}], lr=0.1)",
  },
];

function train(make: Config['make'], steps: number): number[][] {
  const a = t64([3, 4], 1).requiresGrad_(true);
  const b = t64([4], 2).requiresGrad_(true);
  const opt = make([a, b]);
  const history: number[][] = [];
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    lossOf(a, b).backward();
    opt.step();
    history.push([...Array.from(a.data()), ...Array.from(b.data())]);
  }
  return history;
}

describe.skipIf(!hasTorch)('optimizers against torch.optim', () => {
  test('every optimizer gives torch\'s parameters after each of 6 steps (float64, 1e-12)', () => {
    const a0 = t64([3, 4], 1);
    const b0 = t64([4], 2);
    const results = torchRun(
      configs.map((c) => ({
        code: [
          'a = x0.clone().requires_grad_(True); b = x1.clone().requires_grad_(True); ps = [a, b]',
          `opt = ${c.py}`,
          'hist = []',
          `for _ in range(${STEPS}):`,
          '    opt.zero_grad()',
          `    (${PY_LOSS}).backward()`,
          '    opt.step()',
          '    hist.append(torch.cat([a.detach().reshape(-1), b.detach().reshape(-1)]))',
          'out = torch.stack(hist)',
        ].join('\n'),
        inputs: [toTorchInput(a0, false), toTorchInput(b0, false)],
      })),
    );
    configs.forEach((c, i) => {
      const ours = train(c.make, STEPS).flat();
      expectClose(ours, results[i].out, 1e-12, 1e-12, c.name);
    });
  });

  test('StepLR, CosineAnnealingLR and OneCycleLR give torch\'s lr (and momentum) sequences', () => {
    const p = () => [gb.zeros([1], { requiresGrad: true })];
    const runs: { name: string; lrs: () => number[]; py: string }[] = [
      {
        name: 'StepLR',
        lrs: () => {
          const o = new optim.SGD(p(), { lr: 0.1 });
          const s = new optim.lrScheduler.StepLR(o, 3, 0.5);
          const out = [];
          for (let i = 0; i < 12; i++) {
            out.push(s.getLastLr()[0]);
            o.step();
            s.step();
          }
          return out;
        },
        py: 'o = torch.optim.SGD(ps, lr=0.1); s = torch.optim.lr_scheduler.StepLR(o, 3, 0.5); n = 12',
      },
      {
        name: 'CosineAnnealingLR past tMax',
        lrs: () => {
          const o = new optim.SGD(p(), { lr: 0.1 });
          const s = new optim.lrScheduler.CosineAnnealingLR(o, 5, 0.01);
          const out = [];
          for (let i = 0; i < 17; i++) {
            out.push(s.getLastLr()[0]);
            o.step();
            s.step();
          }
          return out;
        },
        py: 'o = torch.optim.SGD(ps, lr=0.1); s = torch.optim.lr_scheduler.CosineAnnealingLR(o, 5, 0.01); n = 17',
      },
      {
        name: 'OneCycleLR with SGD momentum',
        lrs: () => {
          const o = new optim.SGD(p(), { lr: 0.1, momentum: 0.9 });
          const s = new optim.lrScheduler.OneCycleLR(o, 0.5, { totalSteps: 20 });
          const out = [];
          for (let i = 0; i < 20; i++) {
            out.push(s.getLastLr()[0], o.paramGroups[0].momentum);
            o.step();
            if (i < 19) s.step();
          }
          return out;
        },
        py: "o = torch.optim.SGD(ps, lr=0.1, momentum=0.9); s = torch.optim.lr_scheduler.OneCycleLR(o, 0.5, total_steps=20); n = 20; mom = lambda: o.param_groups[0]['momentum']",
      },
      {
        name: 'OneCycleLR three-phase linear with Adam betas',
        lrs: () => {
          const o = new optim.Adam(p(), { lr: 0.1 });
          const s = new optim.lrScheduler.OneCycleLR(o, [0.01], { epochs: 3, stepsPerEpoch: 5, threePhase: true, annealStrategy: 'linear', pctStart: 0.25 });
          const out = [];
          for (let i = 0; i < 15; i++) {
            out.push(s.getLastLr()[0], o.paramGroups[0].betas[0]);
            o.step();
            if (i < 14) s.step();
          }
          return out;
        },
        py: "o = torch.optim.Adam(ps, lr=0.1); s = torch.optim.lr_scheduler.OneCycleLR(o, [0.01], epochs=3, steps_per_epoch=5, three_phase=True, anneal_strategy='linear', pct_start=0.25); n = 15; mom = lambda: o.param_groups[0]['betas'][0]",
      },
    ];
    const results = torchRun(
      runs.map((r) => ({
        code: [
          'import warnings; warnings.simplefilter("ignore")',
          'ps = [torch.zeros(1, requires_grad=True)]; mom = None',
          r.py,
          'seq = []',
          'for i in range(n):',
          '    seq.append(s.get_last_lr()[0])',
          '    if mom is not None: seq.append(mom())',
          '    o.step()',
          '    if mom is None or i < n - 1: s.step()',
          'out = torch.tensor(seq, dtype=torch.float64)',
        ].join('\n'),
      })),
    );
    runs.forEach((r, i) => expectClose(r.lrs(), results[i].out, 1e-15, 1e-17, r.name));
  });
});

describe('optimizer behaviour', () => {
  test('stateDict and loadStateDict resume training bit for bit', () => {
    for (const c of configs) {
      const straight = train(c.make, 6)[5];
      const a = t64([3, 4], 1).requiresGrad_(true);
      const b = t64([4], 2).requiresGrad_(true);
      const opt = c.make([a, b]);
      const stepOnce = (o: optim.Optimizer<{ lr: number }>, x: Tensor, y: Tensor) => {
        o.zeroGrad();
        lossOf(x, y).backward();
        o.step();
      };
      for (let i = 0; i < 3; i++) stepOnce(opt, a, b);
      const sd = opt.stateDict();
      const a2 = a.detach().clone().requiresGrad_(true);
      const b2 = b.detach().clone().requiresGrad_(true);
      const opt2 = c.make([a2, b2]);
      opt2.loadStateDict(sd);
      for (let i = 0; i < 3; i++) stepOnce(opt2, a2, b2);
      // the original keeps going too, unaffected by the copy
      for (let i = 0; i < 3; i++) stepOnce(opt, a, b);
      expect([...a2.data(), ...b2.data()], c.name).toEqual(straight);
      expect([...a.data(), ...b.data()], c.name).toEqual(straight);
    }
  });

  test('zeroGrad sets gradients to null; a parameter without a gradient is skipped', () => {
    const a = gb.ones([2], { requiresGrad: true });
    const b = gb.ones([2], { requiresGrad: true });
    const opt = new optim.SGD([a, b], { lr: 1 });
    a.sum().backward();
    opt.step();
    expect(a.toArray()).toEqual([0, 0]);
    expect(b.toArray()).toEqual([1, 1]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    a.sum().backward();
    opt.zeroGrad({ setToNone: false });
    expect(a.grad!.toArray()).toEqual([0, 0]);
    // in place, as PyTorch's grad.zero_(): the same tensor, and NaN or inf become 0 too
    const g = a.grad!;
    g.fill_(NaN);
    opt.zeroGrad({ setToNone: false });
    expect(a.grad).toBe(g);
    expect(g.toArray()).toEqual([0, 0]);
  });

  test('bad options and parameters are named', () => {
    const p = gb.ones([2], { requiresGrad: true });
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow(/empty parameter list/);
    expect(() => new optim.SGD([p], { lr: -1 })).toThrow(/Invalid learning rate: -1/);
    expect(() => new optim.Adam([p], { betas: [1, 0.9] })).toThrow(/Invalid beta parameter at index 0: 1/);
    expect(() => new optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires a momentum and zero dampening/);
    expect(() => new optim.SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 })).toThrow(/more than one parameter group/);
    expect(() => new optim.SGD([p.mul(2)], { lr: 0.1 })).toThrow(/can't optimize a non-leaf Tensor/);
    const o = new optim.SGD([p], { lr: 0.1 });
    expect(() => new optim.lrScheduler.OneCycleLR(o, 0.1, { totalSteps: 2 })).not.toThrow();
    const s = new optim.lrScheduler.OneCycleLR(new optim.SGD([p], { lr: 0.1, momentum: 0.9 }), 0.1, { totalSteps: 2 });
    s.step();
    s.step();
    expect(() => s.step()).toThrow(/Tried to step 3 times. The specified number of total steps is 2/);
  });
});
