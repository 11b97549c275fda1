/** nn.functional: the stateless forms of the layers and losses. */
export { linear, relu, gelu, tanh, sigmoid, silu, softmax, logSoftmax, dropout, batchNorm, layerNorm, embedding } from './basic.js';
export type { BatchNormOptions } from './basic.js';
export { conv2d, maxPool2d, avgPool2d, pad2d } from './conv.js';
export type { Conv2dOptions, PoolOptions, AvgPoolOptions, Pair } from './conv.js';
export { mseLoss, nllLoss, crossEntropy, binaryCrossEntropyWithLogits } from './loss.js';
export type { Reduction, NLLOptions, CrossEntropyOptions, BCEOptions } from './loss.js';
