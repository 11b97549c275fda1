/** Adam and AdamW with PyTorch's update rules (bias correction, amsgrad, decoupled weight decay). */
import type { Tensor } from '../tensor.js';
import { zerosLike } from '../functional/creation.js';
import { maximum } from '../functional/elementwise.js';
import { keep } from '../memory.js';
import { Optimizer, type ParamGroup, type Params, type ParamState } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

function check(name: string, g: AdamOptions): void {
  if (!(g.eps >= 0)) throw new RangeError(`${name}: Invalid epsilon value: ${g.eps}`);
  if (!(g.betas[0] >= 0 && g.betas[0] < 1)) throw new RangeError(`${name}: Invalid beta parameter at index 0: ${g.betas[0]}`);
  if (!(g.betas[1] >= 0 && g.betas[1] < 1)) throw new RangeError(`${name}: Invalid beta parameter at index 1: ${g.betas[1]}`);
  if (!(g.weightDecay >= 0)) throw new RangeError(`${name}: Invalid weight_decay value: ${g.weightDecay}`);
}

/** The shared moment update; `grad` already carries any L2 term. */
function adamStep(p: Tensor, grad: Tensor, s: ParamState, g: AdamOptions): void {
  if (s.step === undefined) {
    s.step = 0;
    // kept: state outlives any gb.tidy scope the step runs in
    s.exp_avg = keep(zerosLike(p));
    s.exp_avg_sq = keep(zerosLike(p));
    if (g.amsgrad) s.max_exp_avg_sq = keep(zerosLike(p));
  }
  const [beta1, beta2] = g.betas;
  const step = (s.step as number) + 1;
  s.step = step;
  const expAvg = s.exp_avg as Tensor;
  const expAvgSq = s.exp_avg_sq as Tensor;
  expAvg.mul_(beta1).add_(grad, { alpha: 1 - beta1 });
  expAvgSq.mul_(beta2).addcmul_(grad, grad, { value: 1 - beta2 });
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  const stepSize = g.lr / bc1;
  let second = expAvgSq;
  if (g.amsgrad) {
    const m = s.max_exp_avg_sq as Tensor;
    m.copy_(maximum(m, expAvgSq));
    second = m;
  }
  const denom = second.sqrt().div(Math.sqrt(bc2)).add_(g.eps);
  p.addcdiv_(expAvg, denom, { value: -stepSize });
}

export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Params<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...opts });
  }
  protected override validate(g: ParamGroup<AdamOptions>): void {
    super.validate(g);
    check('Adam', g);
  }
  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<AdamOptions>): void {
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) d = d.add(p, { alpha: g.weightDecay });
    adamStep(p, d, s, g);
  }
}

/** Adam with decoupled weight decay: the parameter shrinks by lr * weightDecay before the step. */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(params: Params<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...opts });
  }
  protected override validate(g: ParamGroup<AdamOptions>): void {
    super.validate(g);
    check('AdamW', g);
  }
  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<AdamOptions>): void {
    const d = g.maximize ? grad.neg() : grad;
    p.mul_(1 - g.lr * g.weightDecay);
    adamStep(p, d, s, g);
  }
}
