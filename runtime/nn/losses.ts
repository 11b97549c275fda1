/** Loss modules: options fixed at construction, called as loss.call(input, target). */
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import * as F from './functional/index.js';

abstract class Loss extends Module {
  readonly reduction: F.Reduction;
  constructor(opts: { reduction?: F.Reduction } = {}) {
    super();
    this.reduction = opts.reduction ?? 'mean';
    if (!['mean', 'sum', 'none'].includes(this.reduction)) {
      throw new RangeError(`${this.constructor.name}: ${JSON.stringify(this.reduction)} is not a valid value for reduction`);
    }
  }
  abstract override forward(input: Tensor, target: Tensor): Tensor;
  override extraRepr(): string {
    return this.reduction === 'mean' ? '' : `reduction='${this.reduction}'`;
  }
}

/** The class weight is a buffer, so it is saved with the state dict as in PyTorch. */
function weightBuffer(m: Module, w: Tensor | null | undefined): void {
  m.registerBuffer('weight', w ?? null);
}

export class MSELoss extends Loss {
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

export class NLLLoss extends Loss {
  readonly ignoreIndex: number;
  constructor(opts: F.NLLOptions = {}) {
    super(opts);
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    weightBuffer(this, opts.weight);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, { weight: this.getBuffer('weight'), ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

export class CrossEntropyLoss extends Loss {
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(opts: F.CrossEntropyOptions = {}) {
    super(opts);
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    weightBuffer(this, opts.weight);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, {
      weight: this.getBuffer('weight'),
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

export class BCEWithLogitsLoss extends Loss {
  constructor(opts: F.BCEOptions = {}) {
    super(opts);
    weightBuffer(this, opts.weight);
    this.registerBuffer('pos_weight', opts.posWeight ?? null);
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return F.binaryCrossEntropyWithLogits(input, target, {
      weight: this.getBuffer('weight'),
      posWeight: this.getBuffer('pos_weight'),
      reduction: this.reduction,
    });
  }
}
