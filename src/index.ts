/**
 * anogen: anomaly detection with generative models, in TypeScript on libtorch.
 *
 * The public API: the tensor engine (core), nn layers and functional ops, optimisers, the
 * data layer (datasets, protocols, transforms), evaluation (metrics, thresholds, floors,
 * reports), the detectors (GANomaly...) with their bundles and registry, and the generative
 * models (`models`: gan, wgan, wgan-gp...) with theirs; the run registry (`runs`) and the
 * HTTP server of `anogen serve` (`server`).
 */
export * from './core/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as evaluation from './eval/metrics.js';
export * as thresholds from './eval/threshold.js';
export * as floors from './eval/floors.js';
export * as report from './eval/report.js';
export * as train from './train/index.js';
export * as pipeline from './pipeline/index.js';
export * from './detectors/index.js';
export * as models from './models/index.js';
export * as runs from './runs/index.js';
export * as server from './server/index.js';
export { ANOGEN_VERSION } from './detectors/version.js';
export { main as cliMain } from './cli/main.js';
