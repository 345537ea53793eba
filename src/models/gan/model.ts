/**
 * `gan`: the GAN of Goodfellow et al. (2014) with the DCGAN architecture and training defaults
 * of Radford et al. (2016): all-convolutional, batch norm, LeakyReLU 0.2 in D, ReLU and a tanh
 * output in G, Adam 2e-4 with beta1 0.5, batch 128, N(0, 0.02) initialisation; the generator
 * loss is selectable (`loss`: the paper's minimax log(1 - D(G(z))) or the non-saturating
 * -log D(G(z)), the default).
 */
import type { Tensor } from '../../core/tensor.js';
import type { TrainingProcess } from '../../train/loop.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../../util/schema.js';
import { GenerativeModel, type GeneratorProcessOptions, type ImageSpec } from '../generative.js';
import { registerGenerator } from '../registry.js';
import { AdversarialNetworks } from './networks.js';
import { GAN_LOSSES, type GanLoss } from './loss.js';
import { GAN_STEP_LOSSES, ganProcess } from './step.js';

/** A power of two >= 16, the sizes the DCGAN networks build. */
export const powerOfTwo = (v: number): string | null =>
  v >= 16 && (v & (v - 1)) === 0 ? null : 'a power of two >= 16 (16, 32, 64, 128...), the sizes the DCGAN networks can build';

/** The architecture hyperparameters shared by the DCGAN-based generators (gan, wgan, wgan-gp). */
export const DCGAN_ARCH_SCHEMA = {
  isize: { type: 'int', default: 32, min: 16, max: 1024, check: powerOfTwo, doc: 'image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  nz: { type: 'int', default: 100, min: 1, max: 4096, doc: 'latent size' },
  ngf: { type: 'int', default: 64, min: 2, max: 1024, check: (v) => (v % 2 === 0 ? null : 'an even integer'), doc: 'generator width' },
  ndf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'discriminator width' },
  bnRecalibration: {
    type: 'bool',
    default: true,
    doc: "recompute the generator's batch-norm statistics for the final weights after training (sampling runs in eval mode); false keeps the running averages",
  },
} satisfies HParamSchema;

/** The `gan` hyperparameters, declared once (defaults of the DCGAN paper). */
export const GAN_SCHEMA = {
  ...DCGAN_ARCH_SCHEMA,
  loss: {
    type: 'enum',
    default: 'non-saturating',
    values: GAN_LOSSES,
    doc: "generator loss: 'minimax' log(1 - D(G(z))) (the paper's game) or 'non-saturating' -log D(G(z)) (the paper's practical choice)",
  },
  beta1: { type: 'number', default: 0.5, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2' },
} satisfies HParamSchema;

/** The DCGAN architecture hyperparameters. */
export interface DcganArchHParams {
  isize: number;
  nc: number;
  nz: number;
  ngf: number;
  ndf: number;
  bnRecalibration: boolean;
}

/** `gan` hyperparameters. */
export interface GanHParams extends DcganArchHParams {
  loss: GanLoss;
  beta1: number;
  beta2: number;
}

/** Every default (the DCGAN paper's). */
export const GAN_DEFAULTS = schemaDefaults(GAN_SCHEMA) as unknown as GanHParams;

/** Default training options: 25 epochs (the PyTorch DCGAN example's niter), batch 128, Adam lr 2e-4 (the paper's). */
export const GAN_TRAIN_DEFAULTS = { epochs: 25, batchSize: 128, lr: 2e-4 };

/** Validates (partial) `gan` hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function ganHParams(h: Record<string, unknown> = {}): GanHParams {
  return resolveHParams(GAN_SCHEMA, h, 'gan') as unknown as GanHParams;
}

/** The DCGAN generative model (and the base of the models that only change its step). */
export class Gan<H extends GanHParams = GanHParams> extends GenerativeModel<H> {
  readonly name: string = 'gan';
  readonly trainDefaults = GAN_TRAIN_DEFAULTS;
  readonly nets: AdversarialNetworks;
  protected get net(): AdversarialNetworks {
    return this.nets;
  }

  /**
   * Builds the model from (partial) hyperparameters, validated against {@link GAN_SCHEMA}
   * (default) or by `resolve` (a model that extends `gan`'s schema, e.g. `unrolled-gan`).
   */
  constructor(hparams: Partial<H> = {}, resolve: (h: Record<string, unknown>) => H = ganHParams as unknown as (h: Record<string, unknown>) => H) {
    super(resolve(hparams as Record<string, unknown>));
    const { isize, nc, nz, ngf, ndf } = this.hparams;
    this.nets = new AdversarialNetworks({ isize, nc, nz, ngf, ndf, discriminatorBatchNorm: true });
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

  protected trainingProcess(o: GeneratorProcessOptions): TrainingProcess {
    const h = this.hparams;
    return ganProcess(this.nets, { loss: h.loss, beta1: h.beta1, beta2: h.beta2, bnRecalibration: h.bnRecalibration }, o);
  }
}

registerGenerator({
  name: 'gan',
  description: 'GAN (Goodfellow et al., 2014) with the DCGAN architecture (Radford et al., 2016); minimax or non-saturating generator loss',
  schema: GAN_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8 },
  trainDefaults: GAN_TRAIN_DEFAULTS,
  lossDocs: GAN_STEP_LOSSES,
  create: (h) => new Gan(h as Partial<GanHParams>),
});
