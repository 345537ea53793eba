/**
 * `wgan` (Arjovsky, Chintala & Bottou, 2017) and `wgan-gp` (Gulrajani et al., 2017): the DCGAN
 * generator against a critic f without sigmoid, trained on the Wasserstein estimate.
 * - wgan: weight clipping to [-0.01, 0.01], RMSprop 5e-5, 5 critic iterations per generator
 *   iteration (100 for the first 25 and every 500th, as the authors' code), batch 64; the
 *   critic keeps DCGAN's batch norm (the authors' DCGAN_D).
 * - wgan-gp: gradient penalty lambda 10 on random interpolates (double backward), Adam 1e-4
 *   with betas (0, 0.9), 5 critic iterations, batch 64; no batch norm in the critic (the
 *   paper's advice: the penalty is per image).
 */
import type { Tensor } from '../../core/tensor.js';
import type { TrainingProcess } from '../../train/loop.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../../util/schema.js';
import { GenerativeModel, type GeneratorProcessOptions, type ImageSpec } from '../generative.js';
import { registerGenerator } from '../registry.js';
import { AdversarialNetworks } from '../gan/networks.js';
import { DCGAN_ARCH_SCHEMA, type DcganArchHParams } from '../gan/model.js';
import { WGAN_STEP_LOSSES, wganProcess, type WganStepConfig } from './step.js';

/** The `wgan` hyperparameters, declared once (defaults of the paper and the authors' code). */
export const WGAN_SCHEMA = {
  ...DCGAN_ARCH_SCHEMA,
  clip: { type: 'number', default: 0.01, min: 0, max: 10, doc: 'weight clipping: every critic parameter is clamped to [-clip, clip] after each critic update' },
  nCritic: { type: 'int', default: 5, min: 1, max: 1000, doc: 'critic iterations per generator iteration' },
  criticWarmup: {
    type: 'bool',
    default: true,
    doc: "100 critic iterations for the first 25 generator iterations and every 500th (the authors' code)",
  },
} satisfies HParamSchema;

/** The `wgan-gp` hyperparameters, declared once (defaults of the paper's Algorithm 1). */
export const WGAN_GP_SCHEMA = {
  ...DCGAN_ARCH_SCHEMA,
  lambda: { type: 'number', default: 10, min: 0, max: 1e6, doc: 'gradient penalty weight' },
  nCritic: { type: 'int', default: 5, min: 1, max: 1000, doc: 'critic iterations per generator iteration' },
  beta1: { type: 'number', default: 0, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.9, min: 0, below: 1, doc: 'Adam beta2' },
} satisfies HParamSchema;

/** `wgan` hyperparameters. */
export interface WganHParams extends DcganArchHParams {
  clip: number;
  nCritic: number;
  criticWarmup: boolean;
}

/** `wgan-gp` hyperparameters. */
export interface WganGpHParams extends DcganArchHParams {
  lambda: number;
  nCritic: number;
  beta1: number;
  beta2: number;
}

/** Every `wgan` default. */
export const WGAN_DEFAULTS = schemaDefaults(WGAN_SCHEMA) as unknown as WganHParams;
/** Every `wgan-gp` default. */
export const WGAN_GP_DEFAULTS = schemaDefaults(WGAN_GP_SCHEMA) as unknown as WganGpHParams;

/** `wgan` training defaults: 25 epochs (the authors' niter), batch 64, RMSprop lr 5e-5. */
export const WGAN_TRAIN_DEFAULTS = { epochs: 25, batchSize: 64, lr: 5e-5 };
/** `wgan-gp` training defaults: 25 epochs, batch 64 (the paper's m), Adam lr 1e-4. */
export const WGAN_GP_TRAIN_DEFAULTS = { epochs: 25, batchSize: 64, lr: 1e-4 };

/** Validates (partial) `wgan` hyperparameters and fills in the defaults. */
export function wganHParams(h: Record<string, unknown> = {}): WganHParams {
  return resolveHParams(WGAN_SCHEMA, h, 'wgan') as unknown as WganHParams;
}
/** Validates (partial) `wgan-gp` hyperparameters and fills in the defaults. */
export function wganGpHParams(h: Record<string, unknown> = {}): WganGpHParams {
  return resolveHParams(WGAN_GP_SCHEMA, h, 'wgan-gp') as unknown as WganGpHParams;
}

/** The shared body of the two Wasserstein models. */
abstract class WassersteinModel<H extends DcganArchHParams> extends GenerativeModel<H> {
  readonly nets: AdversarialNetworks;
  protected get net(): AdversarialNetworks {
    return this.nets;
  }
  constructor(hparams: H, criticBatchNorm: boolean) {
    super(hparams);
    const { isize, nc, nz, ngf, ndf } = this.hparams;
    this.nets = new AdversarialNetworks({ isize, nc, nz, ngf, ndf, discriminatorBatchNorm: criticBatchNorm });
  }
  get input(): ImageSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }
  get nz(): number {
    return this.hparams.nz;
  }
  protected generate(z: Tensor): Tensor {
    return this.nets.netG.call(z);
  }
  protected abstract stepConfig(): WganStepConfig;
  protected trainingProcess(o: GeneratorProcessOptions): TrainingProcess {
    return wganProcess(this.nets, this.stepConfig(), o);
  }
}

/** WGAN with weight clipping. */
export class Wgan extends WassersteinModel<WganHParams> {
  readonly name = 'wgan';
  readonly trainDefaults = WGAN_TRAIN_DEFAULTS;
  /** Builds the model from (partial) hyperparameters, validated against {@link WGAN_SCHEMA}. */
  constructor(hparams: Partial<WganHParams> = {}) {
    super(wganHParams(hparams as Record<string, unknown>), true);
  }
  protected stepConfig(): WganStepConfig {
    const h = this.hparams;
    return { nCritic: h.nCritic, criticWarmup: h.criticWarmup, clip: h.clip, lambda: null, optimizer: 'rmsprop', bnRecalibration: h.bnRecalibration };
  }
}

/** WGAN with gradient penalty. */
export class WganGp extends WassersteinModel<WganGpHParams> {
  readonly name = 'wgan-gp';
  readonly trainDefaults = WGAN_GP_TRAIN_DEFAULTS;
  /** Builds the model from (partial) hyperparameters, validated against {@link WGAN_GP_SCHEMA}. */
  constructor(hparams: Partial<WganGpHParams> = {}) {
    super(wganGpHParams(hparams as Record<string, unknown>), false);
  }
  protected stepConfig(): WganStepConfig {
    const h = this.hparams;
    return {
      nCritic: h.nCritic,
      criticWarmup: false,
      clip: null,
      lambda: h.lambda,
      optimizer: 'adam',
      betas: [h.beta1, h.beta2],
      bnRecalibration: h.bnRecalibration,
    };
  }
}

registerGenerator({
  name: 'wgan',
  description: 'WGAN (Arjovsky et al., 2017): DCGAN generator vs a critic with weight clipping, RMSprop, 5 critic steps per generator step',
  schema: WGAN_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8, nCritic: 2, criticWarmup: false },
  trainDefaults: WGAN_TRAIN_DEFAULTS,
  lossDocs: WGAN_STEP_LOSSES,
  create: (h) => new Wgan(h as Partial<WganHParams>),
});

registerGenerator({
  name: 'wgan-gp',
  description: 'WGAN-GP (Gulrajani et al., 2017): WGAN with a gradient penalty on interpolates (double backward), Adam (0, 0.9)',
  schema: WGAN_GP_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8, nCritic: 2 },
  trainDefaults: WGAN_GP_TRAIN_DEFAULTS,
  lossDocs: WGAN_STEP_LOSSES,
  create: (h) => new WganGp(h as Partial<WganGpHParams>),
});
