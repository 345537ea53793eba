/** The progressive GAN (importing this module registers `progan`). */
export { EqualizedConv2d, EqualizedLinear, HE_GAIN, heConstant, minibatchStdDev, pixelNorm } from './layers.js';
export { growthAt, stageResolution, stagesFor, type Growth } from './schedule.js';
export { GeneratorBase, ProGanNetworks, ProGenerator, ProDiscriminator, type ProGanArch, type GrowthState } from './networks.js';
export { EMA_RAMPUP, emaBeta, proganProcess, realAt, PROGAN_STEP_LOSSES, type ProGanStepConfig } from './step.js';
export { ProGan, PROGAN_DEFAULTS, PROGAN_SCHEMA, PROGAN_TRAIN_DEFAULTS, proganHParams, type ProGanHParams } from './model.js';
