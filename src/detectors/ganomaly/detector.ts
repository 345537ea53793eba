/**
 * The GANomaly detector: A(x) = mean (z - z^)^2 over the latent (z = encoder1(x),
 * z^ = encoder2(decoder(z))), the paper's score; or, selectable (`score`), the contextual error
 * mean |x - x^| or a weighted mix of the two. Anomaly map = |x - x^| averaged over channels.
 */
import type { Tensor } from '../../core/index.js';
import type { TrainingProcess } from '../../train/loop.js';
import type { FeatureExtractor, InputSpec, Reconstructor } from '../api.js';
import { NeuralDetector, type ProcessOptions } from '../neural.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { GanomalyNetworks, type GanomalyArch } from './network.js';
import { latentScore, residualMap } from './loss.js';
import { GANOMALY_LOSSES, ganomalyProcess } from './step.js';

const powerOfTwo = (v: number) => (v >= 16 && (v & (v - 1)) === 0 ? null : 'a power of two >= 16 (16, 32, 64, 128...), the sizes the DCGAN networks can build');

/** GANomaly's hyperparameters, declared once (defaults as in the paper and the authors' code). */
export const GANOMALY_SCHEMA = {
  isize: { type: 'int', default: 32, min: 16, max: 1024, check: powerOfTwo, doc: 'input image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  nz: { type: 'int', default: 100, min: 1, max: 4096, doc: 'latent size' },
  ngf: { type: 'int', default: 64, min: 2, max: 1024, check: (v) => (v % 2 === 0 ? null : 'an even integer'), doc: 'generator width' },
  ndf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'discriminator width' },
  extraLayers: { type: 'int', default: 0, min: 0, max: 16, doc: 'extra 3x3 conv layers in the encoders and decoder' },
  wAdv: { type: 'number', default: 1, min: 0, max: 1e6, doc: 'adversarial (feature-matching) loss weight' },
  wCon: { type: 'number', default: 50, min: 0, max: 1e6, doc: 'contextual L1 loss weight' },
  wEnc: { type: 'number', default: 1, min: 0, max: 1e6, doc: 'latent L2 loss weight' },
  beta1: { type: 'number', default: 0.5, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2' },
  score: {
    type: 'enum',
    default: 'latent',
    values: ['latent', 'contextual', 'mix'],
    doc: "anomaly score: 'latent' mean (z - z^)^2 (the paper's), 'contextual' mean |x - x^|, or 'mix' (1 - scoreMix) latent + scoreMix contextual",
  },
  scoreMix: { type: 'number', default: 0.5, min: 0, max: 1, doc: "weight of the contextual error in the 'mix' score" },
  bnRecalibration: {
    type: 'bool',
    default: true,
    doc: "recompute the generator's batch-norm statistics on the training images after training (false keeps the running averages, as the reference)",
  },
} satisfies HParamSchema;

/** GANomaly hyperparameters (architecture + loss weights + Adam betas). */
export interface GanomalyHParams extends GanomalyArch {
  wAdv: number;
  wCon: number;
  wEnc: number;
  beta1: number;
  beta2: number;
  /** The anomaly score (default 'latent', the paper's). */
  score: 'latent' | 'contextual' | 'mix';
  /** Weight of the contextual error in the 'mix' score (default 0.5). */
  scoreMix: number;
  bnRecalibration: boolean;
}

/** Every default, as in the paper and the authors' code. */
export const GANOMALY_DEFAULTS = schemaDefaults(GANOMALY_SCHEMA) as unknown as GanomalyHParams;

/** Default training options: 15 epochs (the authors' niter), batch 64, Adam lr 2e-4. */
export const GANOMALY_TRAIN_DEFAULTS = { epochs: 15, batchSize: 64, lr: 2e-4 };

/** Validates (partial) GANomaly hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function ganomalyHParams(h: Record<string, unknown> = {}): GanomalyHParams {
  return resolveHParams(GANOMALY_SCHEMA, h, 'GANomaly') as unknown as GanomalyHParams;
}

/** GANomaly as an anogen detector. */
export class Ganomaly extends NeuralDetector<GanomalyHParams> implements Reconstructor, FeatureExtractor {
  readonly name = 'ganomaly';
  readonly producesMaps = true;
  readonly featureName = 'discriminator features';
  readonly trainDefaults = GANOMALY_TRAIN_DEFAULTS;
  readonly nets: GanomalyNetworks;
  protected get net(): GanomalyNetworks {
    return this.nets;
  }

  /** Builds GANomaly from (partial) hyperparameters, validated against {@link GANOMALY_SCHEMA}. */
  constructor(hparams: Partial<GanomalyHParams> = {}) {
    super(ganomalyHParams(hparams as Record<string, unknown>));
    const { isize, nc, nz, ngf, ndf, extraLayers } = this.hparams;
    this.nets = new GanomalyNetworks({ isize, nc, nz, ngf, ndf, extraLayers });
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  protected trainingProcess(o: ProcessOptions): TrainingProcess {
    const h = this.hparams;
    return ganomalyProcess(this.nets, { weights: { wAdv: h.wAdv, wCon: h.wCon, wEnc: h.wEnc }, beta1: h.beta1, beta2: h.beta2, bnRecalibration: h.bnRecalibration }, o);
  }

  protected scoreBatch(x: Tensor, maps: boolean): { scores: Tensor; maps?: Tensor } {
    const [fake, latentI, latentO] = this.nets.netg.call(x);
    const { score, scoreMix } = this.hparams;
    const latent = () => latentScore(latentI, latentO);
    const contextual = () => x.sub(fake).abs().flatten(1).mean(1);
    const scores =
      score === 'latent'
        ? latent()
        : score === 'contextual'
          ? contextual()
          : latent()
              .mul(1 - scoreMix)
              .add(contextual().mul(scoreMix));
    return { scores, ...(maps ? { maps: residualMap(x, fake) } : {}) };
  }

  /** Reconstructions x^ (eval mode) for reports. */
  reconstruct(x: Tensor): Tensor {
    return this.inference(x, 'reconstruct', (xs) => this.nets.netg.call(xs)[0]);
  }

  /** Discriminator features (eval mode), flattened (N x F), for t-SNE plots. */
  features(x: Tensor): Tensor {
    return this.inference(x, 'features', (xs) => this.nets.netd.call(xs)[1].flatten(1));
  }
}

/**
 * Estimated peak training memory of GANomaly in bytes: the DCGAN networks' parameters counted
 * from the architecture (three generator sub-networks of width ngf, one discriminator of width
 * ndf; 4x4 convolutions doubling the channels at each halving down to 4x4) times four (weights,
 * gradients, Adam's two moments), plus activations of about 3 KiB per image pixel at width 64
 * (measured on the CPU: 280 MB at 32 px, 854 MB at 64 px with batch 64; 1.9 GB at 128 px with
 * batch 32).
 */
export function ganomalyTrainingBytes(h: Record<string, unknown>, batchSize: number): number {
  const { isize, ngf, ndf, nz, nc } = { ...GANOMALY_DEFAULTS, ...h } as GanomalyHParams;
  const levels = Math.max(1, Math.log2(isize) - 3);
  const pyramid = (w: number) => 32 * w * w * ((4 ** levels - 1) / 3) + 16 * nc * w + 16 * w * 2 ** (levels - 1) * nz;
  const params = 3 * pyramid(ngf) + pyramid(ndf);
  const activations = 3072 * batchSize * isize * isize * (Math.max(ngf, ndf) / 64);
  return params * 4 * 4 + activations;
}

registerDetector({
  name: 'ganomaly',
  description: 'GANomaly (Akcay et al., 2018): encoder-decoder-encoder GAN, score = latent reconstruction error',
  schema: GANOMALY_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8 },
  trainDefaults: GANOMALY_TRAIN_DEFAULTS,
  lossDocs: GANOMALY_LOSSES,
  estimateTrainingBytes: ganomalyTrainingBytes,
  create: (h) => new Ganomaly(h as Partial<GanomalyHParams>),
});
