/** Every detector (importing this module registers them all). */
export * from './api.js';
export * from './schema.js';
export * from './neural.js';
export * from './registry.js';
export * from './bundle.js';
export { Ganomaly, GANOMALY_DEFAULTS, GANOMALY_SCHEMA, GANOMALY_TRAIN_DEFAULTS, ganomalyHParams, type GanomalyHParams } from './ganomaly/detector.js';
export { GanomalyNetworks, type GanomalyArch } from './ganomaly/network.js';
export { ganomalyProcess, GANOMALY_LOSSES } from './ganomaly/step.js';
export { Autoencoder, AE_DEFAULTS, AE_SCHEMA, AE_TRAIN_DEFAULTS, aeHParams, type AeHParams } from './ae/detector.js';
export { Vae, VAE_DEFAULTS, VAE_SCHEMA, VAE_SCORES, VAE_TRAIN_DEFAULTS, vaeHParams, type VaeHParams } from './vae/detector.js';
export { Ocsvm, OCSVM_DEFAULTS, OCSVM_SCHEMA, ocsvmHParams, type OcsvmHParams } from './ocsvm/detector.js';
export {
  Patchcore,
  PATCHCORE_DEFAULTS,
  PATCHCORE_FEATURES,
  PATCHCORE_SCHEMA,
  PATCHCORE_TRAIN_DEFAULTS,
  greedyCoreset,
  nearestSquaredDistances,
  patchcoreHParams,
  type PatchcoreHParams,
} from './patchcore/detector.js';
export { Gaussian, GAUSSIAN_DEFAULTS, GAUSSIAN_SCHEMA, gaussianHParams, type GaussianHParams } from './gaussian/detector.js';
export { DeepSvdd, DEEP_SVDD_DEFAULTS, DEEP_SVDD_SCHEMA, DEEP_SVDD_TRAIN_DEFAULTS, deepSvddHParams, type DeepSvddHParams } from './deep-svdd/detector.js';
export {
  SkipGanomaly,
  SKIP_GANOMALY_DEFAULTS,
  SKIP_GANOMALY_SCHEMA,
  SKIP_GANOMALY_TRAIN_DEFAULTS,
  skipGanomalyHParams,
  type SkipGanomalyHParams,
} from './skip-ganomaly/detector.js';
export { Egbad, EGBAD_DEFAULTS, EGBAD_D_SCORES, EGBAD_SCHEMA, EGBAD_TRAIN_DEFAULTS, egbadHParams, type EgbadHParams } from './egbad/detector.js';
export { Alocc, ALOCC_DEFAULTS, ALOCC_SCHEMA, ALOCC_SCORES, ALOCC_TRAIN_DEFAULTS, aloccHParams, type AloccHParams } from './alocc/detector.js';
export { Anogan, ANOGAN_DEFAULTS, ANOGAN_SCHEMA, ANOGAN_SEARCHES, ANOGAN_TRAIN_DEFAULTS, anoganHParams, type AnoganHParams } from './anogan/detector.js';
export { PixelCnnDetector, PIXELCNN_DETECTOR_TRAIN_DEFAULTS } from './pixelcnn/detector.js';
