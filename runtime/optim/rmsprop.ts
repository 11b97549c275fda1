/** RMSprop with PyTorch's rule (eps added outside the square root; centered and momentum variants). */
import type { Tensor } from '../tensor.js';
import { zerosLike } from '../functional/creation.js';
import { keep } from '../memory.js';
import { Optimizer, type ParamGroup, type Params, type ParamState } from './optimizer.js';

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Params<RMSpropOptions>, opts: Partial<RMSpropOptions> = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, ...opts });
  }
  protected override validate(g: ParamGroup<RMSpropOptions>): void {
    super.validate(g);
    if (!(g.eps >= 0)) throw new RangeError(`RMSprop: Invalid epsilon value: ${g.eps}`);
    if (!(g.momentum >= 0)) throw new RangeError(`RMSprop: Invalid momentum value: ${g.momentum}`);
    if (!(g.alpha >= 0)) throw new RangeError(`RMSprop: Invalid alpha value: ${g.alpha}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`RMSprop: Invalid weight_decay value: ${g.weightDecay}`);
  }
  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<RMSpropOptions>): void {
    if (s.step === undefined) {
      s.step = 0;
      // kept: state outlives any gb.tidy scope the step runs in
      s.square_avg = keep(zerosLike(p));
      if (g.momentum > 0) s.momentum_buffer = keep(zerosLike(p));
      if (g.centered) s.grad_avg = keep(zerosLike(p));
    }
    s.step = (s.step as number) + 1;
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) d = d.add(p, { alpha: g.weightDecay });
    const squareAvg = s.square_avg as Tensor;
    squareAvg.mul_(g.alpha).addcmul_(d, d, { value: 1 - g.alpha });
    let avg: Tensor;
    if (g.centered) {
      const gradAvg = s.grad_avg as Tensor;
      gradAvg.mul_(g.alpha).add_(d, { alpha: 1 - g.alpha });
      avg = squareAvg.sub(gradAvg.mul(gradAvg)).sqrt_();
    } else {
      avg = squareAvg.sqrt();
    }
    avg = avg.add_(g.eps);
    if (g.momentum > 0) {
      const buf = s.momentum_buffer as Tensor;
      buf.mul_(g.momentum).addcdiv_(d, avg);
      p.add_(buf, { alpha: -g.lr });
    } else {
      p.addcdiv_(d, avg, { value: -g.lr });
    }
  }
}
