/**
 * The Skip-GANomaly detector (Akçay et al., 2019): A(x) = lambda * mean (x - x^)^2 +
 * (1 - lambda) * mean (f(x) - f(x^))^2 per image, x^ = the U-Net generator's reconstruction,
 * f = the discriminator's features, lambda = `scoreLambda` (default 0.9, the paper's and the
 * authors' code's). Anomaly map = |x - x^| averaged over channels.
 */
import type { Tensor } from '../../core/index.js';
import type { TrainingProcess } from '../../train/loop.js';
import type { FeatureExtractor, InputSpec, Reconstructor } from '../api.js';
import { NeuralDetector, type ProcessOptions } from '../neural.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { SkipGanomalyNetworks, type SkipGanomalyArch } from './network.js';
import { skipScoreParts } from './loss.js';
import { SKIP_GANOMALY_LOSSES, skipGanomalyProcess } from './step.js';

const powerOfTwo = (v: number) => (v >= 16 && (v & (v - 1)) === 0 ? null : 'a power of two >= 16 (16, 32, 64, 128...), the sizes the U-Net and DCGAN discriminator can build');

/** Skip-GANomaly's hyperparameters, declared once (defaults as in the authors' code). */
export const SKIP_GANOMALY_SCHEMA = {
  isize: { type: 'int', default: 32, min: 16, max: 1024, check: powerOfTwo, doc: 'input image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  nz: { type: 'int', default: 100, min: 1, max: 4096, doc: "size of the discriminator's features (its last conv's channels)" },
  ngf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'U-Net generator width (level i has ngf * min(2^i, 8) channels)' },
  ndf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'discriminator width' },
  wAdv: { type: 'number', default: 1, min: 0, max: 1e6, doc: 'adversarial loss weight (BCE of D on x^ against real)' },
  wCon: { type: 'number', default: 50, min: 0, max: 1e6, doc: 'contextual L1 loss weight' },
  wLat: { type: 'number', default: 1, min: 0, max: 1e6, doc: "latent loss weight (L2 between the discriminator's features of x and x^)" },
  dLatent: { type: 'bool', default: true, doc: "add wLat * latent loss to the discriminator's loss, as the authors' code (false: plain BCE)" },
  beta1: { type: 'number', default: 0.5, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2' },
  scoreLambda: {
    type: 'number',
    default: 0.9,
    min: 0,
    max: 1,
    doc: 'score = scoreLambda * mean (x - x^)^2 + (1 - scoreLambda) * mean (f(x) - f(x^))^2 (f: discriminator features)',
  },
  bnRecalibration: {
    type: 'bool',
    default: true,
    doc: 'recompute the batch-norm statistics of the generator and discriminator on the training images after training (false keeps the running averages, as the reference)',
  },
} satisfies HParamSchema;

/** Skip-GANomaly hyperparameters (architecture + loss weights + Adam betas + score). */
export interface SkipGanomalyHParams extends SkipGanomalyArch {
  /** Adversarial loss weight (default 1). */
  wAdv: number;
  /** Contextual L1 loss weight (default 50). */
  wCon: number;
  /** Latent (discriminator-feature) loss weight (default 1). */
  wLat: number;
  /** Add wLat * L_lat to D's loss, as the authors' code (default true). */
  dLatent: boolean;
  /** Adam beta1 (default 0.5). */
  beta1: number;
  /** Adam beta2 (default 0.999). */
  beta2: number;
  /** Weight of the reconstruction part of the score (default 0.9). */
  scoreLambda: number;
  /** Recompute batch-norm statistics after training (default true). */
  bnRecalibration: boolean;
}

/** Every default (see {@link SKIP_GANOMALY_SCHEMA}). */
export const SKIP_GANOMALY_DEFAULTS = schemaDefaults(SKIP_GANOMALY_SCHEMA) as unknown as SkipGanomalyHParams;

/** Default training options: 15 epochs (the authors' niter), batch 64, Adam lr 2e-4. */
export const SKIP_GANOMALY_TRAIN_DEFAULTS = { epochs: 15, batchSize: 64, lr: 2e-4 };

/** Validates (partial) Skip-GANomaly hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function skipGanomalyHParams(h: Record<string, unknown> = {}): SkipGanomalyHParams {
  return resolveHParams(SKIP_GANOMALY_SCHEMA, h, 'skip-ganomaly') as unknown as SkipGanomalyHParams;
}

/** Skip-GANomaly as an anogen detector. */
export class SkipGanomaly extends NeuralDetector<SkipGanomalyHParams> implements Reconstructor, FeatureExtractor {
  readonly name = 'skip-ganomaly';
  readonly producesMaps = true;
  readonly featureName = 'discriminator features';
  readonly trainDefaults = SKIP_GANOMALY_TRAIN_DEFAULTS;
  /** The U-Net generator `netg` and discriminator `netd`. */
  readonly nets: SkipGanomalyNetworks;
  protected get net(): SkipGanomalyNetworks {
    return this.nets;
  }

  /** Builds Skip-GANomaly from (partial) hyperparameters, validated against {@link SKIP_GANOMALY_SCHEMA}. */
  constructor(hparams: Partial<SkipGanomalyHParams> = {}) {
    super(skipGanomalyHParams(hparams as Record<string, unknown>));
    const { isize, nc, nz, ngf, ndf } = this.hparams;
    this.nets = new SkipGanomalyNetworks({ isize, nc, nz, ngf, ndf });
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  protected trainingProcess(o: ProcessOptions): TrainingProcess {
    const h = this.hparams;
    return skipGanomalyProcess(
      this.nets,
      { weights: { wAdv: h.wAdv, wCon: h.wCon, wLat: h.wLat }, dLatent: h.dLatent, beta1: h.beta1, beta2: h.beta2, bnRecalibration: h.bnRecalibration },
      o,
    );
  }

  /** The two parts of the score of a batch (eval mode; the caller runs it in noGrad + tidy): rec, lat [N] and x^. */
  scoreParts(x: Tensor): { rec: Tensor; lat: Tensor; fake: Tensor } {
    const fake = this.nets.netg.call(x);
    const featReal = this.nets.netd.call(x)[1];
    const featFake = this.nets.netd.call(fake)[1];
    return { ...skipScoreParts(x, fake, featReal, featFake), fake };
  }

  protected scoreBatch(x: Tensor, maps: boolean): { scores: Tensor; maps?: Tensor } {
    const { rec, lat, fake } = this.scoreParts(x);
    const l = this.hparams.scoreLambda;
    return { scores: rec.mul(l).add(lat.mul(1 - l)), ...(maps ? { maps: x.sub(fake).abs().mean(1, true) } : {}) };
  }

  /** Reconstructions x^ (eval mode) for reports. */
  reconstruct(x: Tensor): Tensor {
    return this.inference(x, 'reconstruct', (xs) => this.nets.netg.call(xs));
  }

  /** The discriminator's features f(x), N x nz (eval mode), for t-SNE plots. */
  features(x: Tensor): Tensor {
    return this.inference(x, 'features', (xs) => this.nets.netd.call(xs)[1].flatten(1));
  }
}

registerDetector({
  name: 'skip-ganomaly',
  description: 'Skip-GANomaly (Akcay et al., 2019): U-Net generator with skip connections + DCGAN discriminator, score = 0.9 reconstruction + 0.1 discriminator-feature error',
  schema: SKIP_GANOMALY_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8 },
  trainDefaults: SKIP_GANOMALY_TRAIN_DEFAULTS,
  lossDocs: SKIP_GANOMALY_LOSSES,
  create: (h) => new SkipGanomaly(h as Partial<SkipGanomalyHParams>),
});
