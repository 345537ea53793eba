/** The one training loop (src/train): batch sources, the loop, checkpoint state. */
export * from './source.js';
export * from './loop.js';
export * from './state.js';
