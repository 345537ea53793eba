/**
 * Hyperparameter schemas: they live in src/util/schema.ts, below src/models and src/detectors,
 * so that generative models (src/models) declare theirs the same way; re-exported here for the
 * detectors and for code that imports them from this path.
 */
export * from '../util/schema.js';
