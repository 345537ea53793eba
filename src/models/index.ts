/** Generative models (importing this module registers them all): the contract, the registry, and one folder per model. */
export * from './generative.js';
export * from './registry.js';
export { DcganEncoder, DcganDecoder, dcganInit, type EncoderOptions, type DecoderOptions } from './dcgan/index.js';
export { DcganDiscriminator, AdversarialNetworks, type AdversarialArch, type DiscriminatorOptions } from './gan/networks.js';
export { GAN_LOSSES, discriminatorLoss, generatorLoss, gradNorm, type GanLoss } from './gan/loss.js';
export { ganProcess, GAN_STEP_LOSSES } from './gan/step.js';
export { Gan, GAN_DEFAULTS, GAN_SCHEMA, GAN_TRAIN_DEFAULTS, ganHParams, type GanHParams } from './gan/model.js';
export { criticLoss, gradientPenalty, wassersteinGeneratorLoss } from './wgan/loss.js';
export { wganProcess, criticIterations, CriticSchedule, WGAN_STEP_LOSSES } from './wgan/step.js';
export {
  Wgan,
  WganGp,
  WGAN_DEFAULTS,
  WGAN_GP_DEFAULTS,
  WGAN_SCHEMA,
  WGAN_GP_SCHEMA,
  WGAN_TRAIN_DEFAULTS,
  WGAN_GP_TRAIN_DEFAULTS,
  wganHParams,
  wganGpHParams,
  type WganHParams,
  type WganGpHParams,
} from './wgan/model.js';
export { discriminatorForward, type ParamSubstitution } from './unrolled-gan/functional.js';
export { unrolledGanProcess, unrollDiscriminator, UNROLL_OPTIMIZERS, UNROLLED_GAN_STEP_LOSSES, type UnrollOptimizer } from './unrolled-gan/step.js';
export { UnrolledGan, UNROLLED_GAN_DEFAULTS, UNROLLED_GAN_SCHEMA, UNROLLED_GAN_TRAIN_DEFAULTS, unrolledGanHParams, type UnrolledGanHParams } from './unrolled-gan/model.js';
export { ConditionalNetworks, type ConditionalArch } from './cgan/networks.js';
export { cganProcess, cyclingLabels, CGAN_STEP_LOSSES } from './cgan/step.js';
export { Cgan, CGAN_DEFAULTS, CGAN_SCHEMA, CGAN_TRAIN_DEFAULTS, cganHParams, type CganHParams } from './cgan/model.js';
export { ProGan, PROGAN_DEFAULTS, PROGAN_SCHEMA, PROGAN_TRAIN_DEFAULTS, proganHParams, growthAt, type ProGanHParams, type Growth } from './progan/index.js';
export {
  PAIRED_TASKS,
  degradeImages,
  sobelEdges,
  pairedInput,
  UnpairedSource,
  splitUnpaired,
  ProbeImages,
  TranslationModel,
  isTranslationModel,
  isUnpairedModel,
  rowGroups,
  type PairedTask,
  type TranslationRows,
  type UnpairedFitOptions,
  type UnpairedModel,
} from './paired.js';
export { Pix2pix, PIX2PIX_DEFAULTS, PIX2PIX_SCHEMA, PIX2PIX_TRAIN_DEFAULTS, pix2pixHParams, type Pix2pixHParams } from './pix2pix/model.js';
export { Cyclegan, CYCLEGAN_DEFAULTS, CYCLEGAN_SCHEMA, CYCLEGAN_TRAIN_DEFAULTS, cycleganHParams, type CycleganHParams } from './cyclegan/model.js';
export { PixelCnn, PIXELCNN_DEFAULTS, PIXELCNN_SCHEMA, PIXELCNN_TRAIN_DEFAULTS, PIXEL_MODEL_SCHEMA, pixelCnnHParams, type PixelCnnHParams } from './pixelcnn/model.js';
export { PixelRnn, PIXELRNN_DEFAULTS, PIXELRNN_SCHEMA, PIXELRNN_TRAIN_DEFAULTS, pixelRnnHParams, type PixelRnnHParams } from './pixelrnn/model.js';
