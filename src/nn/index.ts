/** anogen nn: Module, layers, initialisers, functional and safetensors I/O. */
export * as F from './functional.js';
export * as init from './init.js';
export { Module, type StateDict, type LoadOptions, type LoadResult } from './module.js';
export * from './layers/linear.js';
export * from './layers/conv.js';
export * from './layers/norm.js';
export * from './layers/activation.js';
export * from './layers/misc.js';
export * from './layers/container.js';
export * from './layers/rnn.js';
export { dcganInit } from './init.js';
export * from './safetensors.js';
export { recalibrateBatchNorm, recalibrateBatchNormFrom } from './batchnorm.js';
