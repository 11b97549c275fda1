/** The layers API.md lists, with PyTorch's options and default initialisation. */
import type { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import type { DeviceLike } from '../device.js';
import { empty, ones, zeros } from '../functional/creation.js';
import { flatten } from '../functional/movement.js';
import { Module, Parameter } from './module.js';
import * as init from './init.js';
import * as F from './functional/index.js';
import type { Pair } from './functional/conv.js';

export interface FactoryOptions {
  dtype?: DType;
  device?: DeviceLike;
}

function param(shape: number[], o: FactoryOptions): Parameter {
  return new Parameter(empty(shape, { dtype: o.dtype, device: o.device }));
}

function checkPositive(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${op}: ${name} must be a positive integer, got ${v}`);
}

/** y = x W^T + b; W ~ kaiming_uniform(a=sqrt(5)), b ~ U(-1/sqrt(in), 1/sqrt(in)). */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: FactoryOptions & { bias?: boolean } = {}) {
    super();
    checkPositive('Linear', 'in_features', inFeatures);
    checkPositive('Linear', 'out_features', outFeatures);
    this.weight = param([outFeatures, inFeatures], opts);
    this.bias = opts.bias === false ? null : param([outFeatures], opts);
    this.resetParameters();
  }
  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = 1 / Math.sqrt(this.inFeatures);
      init.uniform_(this.bias, -bound, bound);
    }
  }
  override forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

export interface Conv2dLayerOptions extends FactoryOptions, F.Conv2dOptions {
  bias?: boolean;
}

export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: [number, number];
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, readonly options: Conv2dLayerOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    checkPositive('Conv2d', 'in_channels', inChannels);
    checkPositive('Conv2d', 'out_channels', outChannels);
    if (inChannels % groups) throw new RangeError(`Conv2d: in_channels (${inChannels}) must be divisible by groups (${groups})`);
    if (outChannels % groups) throw new RangeError(`Conv2d: out_channels (${outChannels}) must be divisible by groups (${groups})`);
    this.kernelSize = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : [kernelSize[0], kernelSize[1]];
    this.weight = param([outChannels, inChannels / groups, ...this.kernelSize], options);
    this.bias = options.bias === false ? null : param([outChannels], options);
    this.resetParameters();
  }
  resetParameters(): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = 1 / Math.sqrt(init.fans(this.weight).fanIn);
      init.uniform_(this.bias, -bound, bound);
    }
  }
  override forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.options;
    return F.conv2d(x, this.weight, this.bias, { stride, padding, dilation, groups });
  }
  override extraRepr(): string {
    const o = this.options;
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize.join(', ')})`;
    if (o.stride !== undefined) s += `, stride=${JSON.stringify(o.stride)}`;
    if (o.padding !== undefined) s += `, padding=${JSON.stringify(o.padding)}`;
    if (o.dilation !== undefined) s += `, dilation=${JSON.stringify(o.dilation)}`;
    if (o.groups !== undefined && o.groups !== 1) s += `, groups=${o.groups}`;
    if (!this.bias) s += ', bias=False';
    return s;
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: F.PoolOptions = {}) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
  override extraRepr(): string {
    return `kernel_size=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.options.stride ?? this.kernelSize)}, padding=${JSON.stringify(this.options.padding ?? 0)}`;
  }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: F.AvgPoolOptions = {}) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }
  override extraRepr(): string {
    return `kernel_size=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.options.stride ?? this.kernelSize)}, padding=${JSON.stringify(this.options.padding ?? 0)}`;
  }
}

export interface BatchNormLayerOptions extends FactoryOptions {
  eps?: number;
  /** null: cumulative moving average (PyTorch's momentum=None). */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

abstract class BatchNormBase extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;
  readonly momentum: number | null;
  constructor(readonly numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super();
    checkPositive(this.constructor.name, 'num_features', numFeatures);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    const affine = opts.affine ?? true;
    const t = { dtype: opts.dtype, device: opts.device };
    this.weight = affine ? new Parameter(ones([numFeatures], t)) : null;
    this.bias = affine ? new Parameter(zeros([numFeatures], t)) : null;
    const track = opts.trackRunningStats ?? true;
    this.registerBuffer('running_mean', track ? zeros([numFeatures], t) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures], t) : null);
    this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'int32', device: opts.device }) : null);
  }
  get runningMean(): Tensor | null {
    return this.getBuffer('running_mean');
  }
  get runningVar(): Tensor | null {
    return this.getBuffer('running_var');
  }
  protected abstract checkInput(x: Tensor): void;
  override forward(x: Tensor): Tensor {
    this.checkInput(x);
    const rm = this.runningMean;
    const rv = this.runningVar;
    let momentum = this.momentum ?? 0;
    if (this.training && rm !== null) {
      const nbt = this.getBuffer('num_batches_tracked')!;
      const n = nbt.item() + 1;
      nbt.fill_(n);
      if (this.momentum === null) momentum = 1 / n;
    }
    // eval mode without running stats normalises with the batch's own statistics
    const useBatch = this.training || rm === null;
    return F.batchNorm(x, useBatch && !this.training ? null : rm, useBatch && !this.training ? null : rv, this.weight, this.bias, {
      training: useBatch,
      momentum,
      eps: this.eps,
    });
  }
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, track_running_stats=${this.runningMean !== null}`;
  }
}

export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new RangeError(`BatchNorm1d: expected 2D or 3D input (got ${x.ndim}D input of shape [${x.shape.join(', ')}])`);
  }
}

export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new RangeError(`BatchNorm2d: expected 4D input (got ${x.ndim}D input of shape [${x.shape.join(', ')}])`);
  }
}

export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  constructor(normalizedShape: number | number[], opts: FactoryOptions & { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    const t = { dtype: opts.dtype, device: opts.device };
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? new Parameter(ones(this.normalizedShape, t)) : null;
    this.bias = affine && opts.bias !== false ? new Parameter(zeros(this.normalizedShape, t)) : null;
  }
  override forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `(${this.normalizedShape.join(', ')},), eps=${this.eps}, elementwise_affine=${this.weight !== null}`;
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: dropout probability has to be between 0 and 1, but got ${p}`);
  }
  override forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** A lookup table; weight ~ N(0, 1), the paddingIdx row zero. */
export class Embedding extends Module {
  weight: Parameter;
  readonly paddingIdx: number | null;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: FactoryOptions & { paddingIdx?: number | null } = {}) {
    super();
    checkPositive('Embedding', 'num_embeddings', numEmbeddings);
    checkPositive('Embedding', 'embedding_dim', embeddingDim);
    let pad = opts.paddingIdx ?? null;
    if (pad !== null) {
      if (pad >= numEmbeddings || pad < -numEmbeddings) throw new RangeError(`Embedding: padding_idx ${pad} must be within num_embeddings (${numEmbeddings})`);
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    this.weight = param([numEmbeddings, embeddingDim], opts);
    init.normal_(this.weight);
    if (pad !== null) init.zeros_(this.weight.select(0, pad));
  }
  override forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight, { paddingIdx: this.paddingIdx });
  }
  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}

export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  override forward(x: Tensor): Tensor {
    return F.gelu(x, { approximate: this.approximate });
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
