/** anogen optim: optimisers, learning-rate schedules and clipping. */
export { Optimizer, type BaseHyper, type ParamGroup, type ParamGroupInput, type ParamState, type OptimizerStateDict } from './optimizer.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { SGD, type SGDOptions } from './sgd.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { LRScheduler, StepLR, LambdaLR, LinearLR, LinearDecayLR } from './scheduler.js';
export { clipGradNorm_, clipGradValue_, clampWeights_, type ClipNormOptions } from './clip.js';
