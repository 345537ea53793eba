/**
 * `progan`: the progressive GAN of Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs
 * for Improved Quality, Stability, and Variation" (ICLR 2018), at 32 x 32 by default: the
 * resolution grows 4 -> 8 -> 16 -> 32 with fade-in and stabilisation phases of `phaseImages`
 * images each (schedule.ts), minibatch standard deviation in the discriminator, equalised
 * learning rate and pixel-wise feature normalisation (layers.ts), WGAN-GP loss with the
 * epsilon-drift term (step.ts). See README.md.
 *
 * Sampling: `sample()` returns images at the final size `isize`. A model whose training stopped
 * before the last stage (few images, or interrupted) generates at the stage and alpha it reached
 * (the `growth` buffer, saved in the bundle) and its images are upsampled (nearest neighbour) to
 * `isize`. The generator's output is linear (as the paper); samples are clamped to [-1, 1].
 */
import type { Tensor } from '../../core/tensor.js';
import * as F from '../../nn/functional.js';
import type { TrainingProcess } from '../../train/loop.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../../util/schema.js';
import { GenerativeModel, type GeneratorProcessOptions, type ImageSpec } from '../generative.js';
import { registerGenerator } from '../registry.js';
import { powerOfTwo } from '../gan/model.js';
import { ProGanNetworks, type GrowthState } from './networks.js';
import { PROGAN_STEP_LOSSES, proganProcess } from './step.js';
import { stageResolution } from './schedule.js';

/** The `progan` hyperparameters, declared once (the paper's values, widths reduced for CPUs). */
export const PROGAN_SCHEMA = {
  isize: { type: 'int', default: 32, min: 16, max: 1024, check: powerOfTwo, doc: 'final image size (square); grown from 4 x 4' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  nz: { type: 'int', default: 128, min: 1, max: 4096, doc: 'latent size (the paper: 512)' },
  ngf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'generator channels at every stage (the paper: 512 up to 32 x 32)' },
  ndf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'discriminator channels at every stage (the paper: 512 up to 32 x 32)' },
  phaseImages: {
    type: 'int',
    default: 10000,
    min: 1,
    max: 1e9,
    doc: 'real images per fade-in phase and per stabilisation phase (the paper: 800,000)',
  },
  lambda: { type: 'number', default: 10, min: 0, max: 1e6, doc: 'gradient penalty weight' },
  driftEps: { type: 'number', default: 0.001, min: 0, max: 1e3, doc: "epsilon-drift weight of E D(x)^2 in the critic's loss" },
  beta1: { type: 'number', default: 0, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.99, min: 0, below: 1, doc: 'Adam beta2' },
  resetOptimizers: { type: 'bool', default: true, doc: "clear Adam's state when a fade-in or stabilisation phase starts (the authors' code)" },
  nCritic: {
    type: 'int',
    default: 3,
    min: 1,
    max: 100,
    doc: "critic iterations (batches) per generator iteration (the paper: 1, over ~37,500-step phases; anogen's default 3 because with 1 the critic falls behind at every fade-in of a short CPU-length phase and the generator collapses: see the README)",
  },
  emaImages: {
    type: 'int',
    default: 10000,
    min: 0,
    max: 1e9,
    doc: "half-life in images of the generator's weight average used for sampling, capped at 5% of the images shown (the paper's beta 0.999 at batch 16: ~11,000); 0 = sample from the trained generator",
  },
} satisfies HParamSchema;

/** `progan` hyperparameters. */
export interface ProGanHParams {
  isize: number;
  nc: number;
  nz: number;
  ngf: number;
  ndf: number;
  phaseImages: number;
  lambda: number;
  driftEps: number;
  beta1: number;
  beta2: number;
  resetOptimizers: boolean;
  nCritic: number;
  emaImages: number;
}

/** Every default. */
export const PROGAN_DEFAULTS = schemaDefaults(PROGAN_SCHEMA) as unknown as ProGanHParams;

/**
 * Default training options: 2 epochs, batch 64, Adam lr 1e-3 (the paper's). The growth follows
 * images, not epochs: the 7 phases to 32 x 32 take 7 x phaseImages = 70,000 images by default,
 * so 2 epochs of MNIST's 60,000 images grow to 32 x 32 and train 50,000 more images there; with
 * fewer images (one class) raise --epochs to at least 7 x phaseImages / N, or lower --phase-images.
 */
export const PROGAN_TRAIN_DEFAULTS = { epochs: 2, batchSize: 64, lr: 1e-3 };

/** Validates (partial) `progan` hyperparameters and fills in the defaults. */
export function proganHParams(h: Record<string, unknown> = {}): ProGanHParams {
  return resolveHParams(PROGAN_SCHEMA, h, 'progan') as unknown as ProGanHParams;
}

/** The progressive GAN generative model. */
export class ProGan extends GenerativeModel<ProGanHParams> {
  readonly name = 'progan';
  readonly trainDefaults = PROGAN_TRAIN_DEFAULTS;
  readonly nets: ProGanNetworks;
  protected get net(): ProGanNetworks {
    return this.nets;
  }
  /** Builds the model from (partial) hyperparameters, validated against {@link PROGAN_SCHEMA}. */
  constructor(hparams: Partial<ProGanHParams> = {}) {
    super(proganHParams(hparams as Record<string, unknown>));
    const { isize, nc, nz, ngf, ndf } = this.hparams;
    this.nets = new ProGanNetworks({ isize, nc, nz, ngf, ndf });
    this.nets.resetParameters();
  }
  get input(): ImageSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }
  get nz(): number {
    return this.hparams.nz;
  }
  /** The stage and fade-in weight training reached (stage 0, alpha 1 before training). */
  get growth(): GrowthState {
    return this.nets.growth;
  }
  /** From netGEma at the stored growth, upsampled (nearest) to isize and clamped to [-1, 1]. */
  protected generate(z: Tensor): Tensor {
    const g = this.nets.growth;
    const x = this.nets.netGEma.call(z, g);
    const r = stageResolution(g.stage);
    const up = r === this.hparams.isize ? x : F.interpolate(x, { scaleFactor: this.hparams.isize / r, mode: 'nearest' });
    return up.clamp(-1, 1);
  }
  protected trainingProcess(o: GeneratorProcessOptions): TrainingProcess {
    const h = this.hparams;
    return proganProcess(
      this.nets,
      {
        phaseImages: h.phaseImages,
        lambda: h.lambda,
        driftEps: h.driftEps,
        betas: [h.beta1, h.beta2],
        resetOptimizers: h.resetOptimizers,
        nCritic: h.nCritic,
        emaImages: h.emaImages,
      },
      o,
    );
  }
}

registerGenerator({
  name: 'progan',
  description: 'Progressive GAN (Karras et al., 2018): grown 4 -> 32 px with fade-in, minibatch stddev, equalised LR, pixel norm, WGAN-GP + drift',
  schema: PROGAN_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8, phaseImages: 24, nCritic: 2 },
  trainDefaults: PROGAN_TRAIN_DEFAULTS,
  lossDocs: PROGAN_STEP_LOSSES,
  create: (h) => new ProGan(h as Partial<ProGanHParams>),
});
