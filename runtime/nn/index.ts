/** gb.nn: modules, layers, losses, initialisers and the functional forms. */
export { Module, Parameter, ModuleList, Sequential, isModule } from './module.js';
export type { StateDict, LoadResult } from './module.js';
export {
  Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, LayerNorm, Dropout, Embedding, ReLU, GELU, Tanh, Sigmoid, Flatten,
} from './layers.js';
export type { FactoryOptions, Conv2dLayerOptions, BatchNormLayerOptions } from './layers.js';
export { MSELoss, CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss } from './losses.js';
export * as functional from './functional/index.js';
export * as init from './init.js';
