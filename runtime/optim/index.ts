/** gb.optim: optimizers with PyTorch's update rules, and learning-rate schedulers. */
export { Optimizer } from './optimizer.js';
export type { ParamGroup, ParamState, Params, OptimizerStateDict } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions } from './adam.js';
export { RMSprop } from './rmsprop.js';
export type { RMSpropOptions } from './rmsprop.js';
export * as lrScheduler from './lr_scheduler.js';
