/**
 * `cgan`: the conditional GAN of Mirza & Osindero (2014) with the DCGAN architecture and
 * defaults of `gan` (Radford et al., 2016): G(z, y) and D(x, y) get the class y as a one-hot
 * code (networks.ts); it trains on class-labelled data (the labels reach the step through the
 * batch source) and generates the requested class: `sample(n, { classes })`,
 * `anogen sample <bundle> --class 3` (default: one row per class).
 */
import type { Tensor } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import type { TrainingProcess } from '../../train/loop.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../../util/schema.js';
import { GenerativeModel, type GeneratorProcessOptions, type ImageSpec } from '../generative.js';
import { registerGenerator } from '../registry.js';
import { GAN_SCHEMA, GAN_TRAIN_DEFAULTS, type GanHParams } from '../gan/model.js';
import { ConditionalNetworks } from './networks.js';
import { CGAN_STEP_LOSSES, cganProcess } from './step.js';

/** The `cgan` hyperparameters: `gan`'s (DCGAN defaults) and the number of classes. */
export const CGAN_SCHEMA = {
  ...GAN_SCHEMA,
  numClasses: { type: 'int', default: 10, min: 2, max: 1000, doc: "number of classes K (labels 0..K-1; MNIST's and Fashion-MNIST's 10)" },
} satisfies HParamSchema;

/** `cgan` hyperparameters. */
export interface CganHParams extends GanHParams {
  numClasses: number;
}

/** Every default. */
export const CGAN_DEFAULTS = schemaDefaults(CGAN_SCHEMA) as unknown as CganHParams;

/** Default training options: `gan`'s (25 epochs, batch 128, Adam lr 2e-4). */
export const CGAN_TRAIN_DEFAULTS = { ...GAN_TRAIN_DEFAULTS };

/** Validates (partial) `cgan` hyperparameters and fills in the defaults. */
export function cganHParams(h: Record<string, unknown> = {}): CganHParams {
  return resolveHParams(CGAN_SCHEMA, h, 'cgan') as unknown as CganHParams;
}

/** The conditional DCGAN generative model. */
export class Cgan extends GenerativeModel<CganHParams> {
  readonly name = 'cgan';
  readonly trainDefaults = CGAN_TRAIN_DEFAULTS;
  readonly nets: ConditionalNetworks;
  protected get net(): ConditionalNetworks {
    return this.nets;
  }

  /** Builds the model from (partial) hyperparameters, validated against {@link CGAN_SCHEMA}. */
  constructor(hparams: Partial<CganHParams> = {}) {
    super(cganHParams(hparams as Record<string, unknown>));
    const { isize, nc, nz, ngf, ndf, numClasses } = this.hparams;
    this.nets = new ConditionalNetworks({ isize, nc, nz, ngf, ndf, numClasses });
  }

  get input(): ImageSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  get nz(): number {
    return this.hparams.nz;
  }

  override get numClasses(): number {
    return this.hparams.numClasses;
  }

  protected generate(z: Tensor, classes?: Tensor): Tensor {
    if (classes === undefined) throw new AnogenError('cgan: generate needs the classes');
    return this.nets.generate(z, classes);
  }

  protected trainingProcess(o: GeneratorProcessOptions): TrainingProcess {
    const h = this.hparams;
    return cganProcess(this.nets, { loss: h.loss, beta1: h.beta1, beta2: h.beta2, bnRecalibration: h.bnRecalibration }, o);
  }
}

registerGenerator({
  name: 'cgan',
  description: 'Conditional GAN (Mirza & Osindero, 2014), DCGAN architecture: G(z, y) and D(x, y) with the class as a one-hot code; samples the requested class',
  schema: CGAN_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8 },
  trainDefaults: CGAN_TRAIN_DEFAULTS,
  lossDocs: CGAN_STEP_LOSSES,
  create: (h) => new Cgan(h as Partial<CganHParams>),
});
