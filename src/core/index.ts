/** anogen core: the tensor engine over libtorch. */
export * from './errors.js';
export * from './dtype.js';
export { Tensor, checkDevice, cat, stack, where, maximum, minimum, type Device, type TensorLike, type Dims, type NestedArray } from './tensor.js';
export * from './creation.js';
export * from './autograd.js';
export * from './runtime.js';
export { tidy, keep, dispose } from './scope.js';
export { callOp, hasOp, opSchema } from './ops.js';
