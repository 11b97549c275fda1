/** Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's rule). */
import type { Tensor } from '../tensor.js';
import { keep } from '../memory.js';
import { binaryInto } from '../functional/inplace.js';
import { Optimizer, type ParamGroup, type Params, type ParamState } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, opts: Partial<SGDOptions> & { lr: number }) {
    if (opts?.lr === undefined) throw new TypeError('SGD: lr is required');
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...opts });
  }
  protected override validate(g: ParamGroup<SGDOptions>): void {
    super.validate(g);
    if (!(g.momentum >= 0)) throw new RangeError(`SGD: Invalid momentum value: ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`SGD: Invalid weight_decay value: ${g.weightDecay}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new RangeError('SGD: Nesterov momentum requires a momentum and zero dampening');
  }
  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<SGDOptions>): void {
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) d = d.add(p, { alpha: g.weightDecay });
    if (g.momentum !== 0) {
      let buf = s.momentum_buffer as Tensor | undefined;
      if (buf === undefined) {
        // kept: state outlives any gb.tidy scope the step runs in
        buf = keep(d.clone());
        s.momentum_buffer = buf;
      } else if (g.dampening === 0 && d.dtype === buf.dtype) {
        // buf = d + momentum * buf in one pass; the same roundings as PyTorch's
        // buf.mul_(momentum).add_(d), without reading and writing buf twice (a buffer loaded in
        // another dtype than the parameter's takes the general path, which converts)
        binaryInto(buf, 'add', d, buf, g.momentum);
      } else {
        buf.mul_(g.momentum).add_(d, { alpha: 1 - g.dampening });
      }
      d = g.nesterov ? d.add(buf, { alpha: g.momentum }) : buf;
    }
    p.add_(d, { alpha: -g.lr });
  }
}
