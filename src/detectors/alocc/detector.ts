/**
 * The ALOCC detector (Sabokrou et al., CVPR 2018, "Adversarially Learned One-Class Classifier
 * for Novelty Detection"): A(x) = 1 - D(R(x)) ('d', the paper's: D's probability that the
 * refined image is normal, turned into an anomaly score), or the reconstruction error
 * mean (x - R(x))^2 ('recon'). Anomaly map = |x - R(x)| averaged over channels.
 */
import type { Tensor } from '../../core/index.js';
import type { TrainingProcess } from '../../train/loop.js';
import type { FeatureExtractor, InputSpec, Reconstructor } from '../api.js';
import { NeuralDetector, type ProcessOptions } from '../neural.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { AloccNetworks, type AloccArch } from './network.js';
import { ALOCC_LOSSES, aloccProcess } from './step.js';

const powerOfTwo = (v: number) => (v >= 16 && (v & (v - 1)) === 0 ? null : 'a power of two >= 16 (16, 32, 64, 128...), the sizes the DCGAN networks can build');

/** ALOCC's scores. */
export const ALOCC_SCORES = ['d', 'recon'] as const;

/** ALOCC's hyperparameters, declared once. */
export const ALOCC_SCHEMA = {
  isize: { type: 'int', default: 32, min: 16, max: 1024, check: powerOfTwo, doc: 'input image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  nz: { type: 'int', default: 100, min: 1, max: 4096, doc: 'bottleneck size of the reconstructor R' },
  ngf: { type: 'int', default: 64, min: 2, max: 1024, check: (v) => (v % 2 === 0 ? null : 'an even integer'), doc: 'width of R' },
  ndf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'width of the discriminator D' },
  noise: { type: 'number', default: 0.155, min: 0, max: 10, doc: "std of the Gaussian noise added to R's input in training (the authors' code: 0.155)" },
  lambda: { type: 'number', default: 0.4, min: 0, max: 1e6, doc: "weight of the reconstruction loss in R's loss" },
  beta1: { type: 'number', default: 0.5, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2' },
  bnRecalibration: {
    type: 'bool',
    default: true,
    doc: "recompute R's batch-norm statistics on the clean training images after training (false keeps the running averages of noisy inputs)",
  },
  score: { type: 'enum', default: 'd', values: [...ALOCC_SCORES], doc: "anomaly score: 'd' 1 - D(R(x)) (the paper's) or 'recon' mean (x - R(x))^2" },
} satisfies HParamSchema;

/** ALOCC hyperparameters. */
export interface AloccHParams extends AloccArch {
  /** Training noise std (default 0.155). */
  noise: number;
  /** Reconstruction weight (default 0.4). */
  lambda: number;
  /** Adam beta1 (default 0.5). */
  beta1: number;
  /** Adam beta2 (default 0.999). */
  beta2: number;
  /** Recompute R's batch-norm statistics after training (default true). */
  bnRecalibration: boolean;
  /** The anomaly score (default 'd'). */
  score: (typeof ALOCC_SCORES)[number];
}

/** Every default (see {@link ALOCC_SCHEMA}). */
export const ALOCC_DEFAULTS = schemaDefaults(ALOCC_SCHEMA) as unknown as AloccHParams;

/** Default training options: 15 epochs, batch 64, Adam lr 2e-4 (DCGAN's). */
export const ALOCC_TRAIN_DEFAULTS = { epochs: 15, batchSize: 64, lr: 2e-4 };

/** Validates (partial) ALOCC hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function aloccHParams(h: Record<string, unknown> = {}): AloccHParams {
  return resolveHParams(ALOCC_SCHEMA, h, 'alocc') as unknown as AloccHParams;
}

/** ALOCC as an anogen detector. */
export class Alocc extends NeuralDetector<AloccHParams> implements Reconstructor, FeatureExtractor {
  readonly name = 'alocc';
  readonly producesMaps = true;
  readonly featureName = 'discriminator features of R(x)';
  readonly trainDefaults = ALOCC_TRAIN_DEFAULTS;
  /** R and D (state dict `r.*`, `d.*`). */
  readonly nets: AloccNetworks;
  protected get net(): AloccNetworks {
    return this.nets;
  }

  /** Builds ALOCC from (partial) hyperparameters, validated against {@link ALOCC_SCHEMA}. */
  constructor(hparams: Partial<AloccHParams> = {}) {
    super(aloccHParams(hparams as Record<string, unknown>));
    const { isize, nc, nz, ngf, ndf } = this.hparams;
    this.nets = new AloccNetworks({ isize, nc, nz, ngf, ndf });
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  protected trainingProcess(o: ProcessOptions): TrainingProcess {
    return aloccProcess(this.nets, this.hparams, o);
  }

  protected scoreBatch(x: Tensor, maps: boolean): { scores: Tensor; maps?: Tensor } {
    const fake = this.nets.r.call(x);
    const scores = this.hparams.score === 'd' ? this.nets.d.call(fake)[0].neg().add(1) : x.sub(fake).square().flatten(1).mean(1);
    return { scores, ...(maps ? { maps: x.sub(fake).abs().mean(1, true) } : {}) };
  }

  /** R(x) (eval mode). */
  reconstruct(x: Tensor): Tensor {
    return this.inference(x, 'reconstruct', (xs) => this.nets.r.call(xs));
  }

  /** D's features of R(x), flattened (eval mode). */
  features(x: Tensor): Tensor {
    return this.inference(x, 'features', (xs) => this.nets.d.call(this.nets.r.call(xs))[1].flatten(1));
  }
}

registerDetector({
  name: 'alocc',
  description: 'ALOCC (Sabokrou et al., 2018): denoising reconstructor R + discriminator D trained adversarially, score = 1 - D(R(x))',
  schema: ALOCC_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8 },
  trainDefaults: ALOCC_TRAIN_DEFAULTS,
  lossDocs: ALOCC_LOSSES,
  create: (h) => new Alocc(h as Partial<AloccHParams>),
});
