/**
 * The Deep SVDD detector (Ruff et al., ICML 2018): A(x) = ||phi(x) - c||^2 ('one-class'), or
 * ||phi(x) - c||^2 - R^2 ('soft-boundary'; positive outside the hypersphere). No anomaly map;
 * features = phi(x).
 */
import type { Tensor } from '../../core/index.js';
import type { TrainingProcess } from '../../train/loop.js';
import { asSource, type BatchSource } from '../../train/source.js';
import { checkImages, type FeatureExtractor, type FitOptions, type FitReport, type ImageSet, type InputSpec } from '../api.js';
import { NeuralDetector, type ProcessOptions } from '../neural.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { DeepSvddNetworks, type DeepSvddArch } from './network.js';
import { DEEP_SVDD_LOSSES, DEEP_SVDD_OBJECTIVES, SvddRun, deepSvddProcess, squaredDistance } from './step.js';

const powerOfTwo = (v: number) => (v >= 16 && (v & (v - 1)) === 0 ? null : 'a power of two >= 16 (16, 32, 64...)');

/** Deep SVDD's hyperparameters, declared once (defaults: the paper's MNIST settings unless said). */
export const DEEP_SVDD_SCHEMA = {
  isize: { type: 'int', default: 32, min: 16, max: 256, check: powerOfTwo, doc: 'input image size (square; the reference uses 28 px MNIST)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  width: { type: 'int', default: 8, min: 2, max: 512, check: (v) => (v % 2 === 0 ? null : 'an even integer'), doc: 'channels of conv1 (conv2 has width/2)' },
  repDim: { type: 'int', default: 32, min: 16, max: 4096, check: (v) => (v % 16 === 0 ? null : 'a multiple of 16'), doc: 'output size of phi' },
  objective: {
    type: 'enum',
    default: 'one-class',
    values: [...DEEP_SVDD_OBJECTIVES],
    doc: "'one-class' mean ||phi(x) - c||^2, or 'soft-boundary' R^2 + 1/nu mean max(0, ||phi(x) - c||^2 - R^2)",
  },
  nu: { type: 'number', default: 0.1, min: 1e-6, max: 1, doc: 'soft-boundary: the fraction of training images allowed outside the sphere' },
  pretrainEpochs: { type: 'int', default: 10, min: 0, max: 100000, doc: 'autoencoder pretraining epochs, run before --epochs of one-class training (the reference: 150)' },
  warmUpEpochs: { type: 'int', default: 10, min: 0, max: 100000, doc: 'soft-boundary: one-class epochs before R is updated' },
  weightDecay: { type: 'number', default: 0.5e-6, min: 0, max: 1, doc: 'Adam L2 weight decay of the one-class phase' },
  aeWeightDecay: { type: 'number', default: 0.5e-3, min: 0, max: 1, doc: 'Adam L2 weight decay of pretraining' },
  centerEps: { type: 'number', default: 0.1, min: 0, max: 1e3, doc: 'coordinates of the center c with |c_j| < centerEps become +-centerEps' },
} satisfies HParamSchema;

/** Deep SVDD hyperparameters. */
export interface DeepSvddHParams extends DeepSvddArch {
  /** 'one-class' (default) or 'soft-boundary'. */
  objective: (typeof DEEP_SVDD_OBJECTIVES)[number];
  /** Soft-boundary nu (default 0.1). */
  nu: number;
  /** Pretraining epochs before the one-class epochs (default 10). */
  pretrainEpochs: number;
  /** Soft-boundary warm-up epochs before R is updated (default 10). */
  warmUpEpochs: number;
  /** One-class phase weight decay (default 0.5e-6). */
  weightDecay: number;
  /** Pretraining weight decay (default 0.5e-3). */
  aeWeightDecay: number;
  /** Center adjustment eps (default 0.1). */
  centerEps: number;
}

/** Every default (see {@link DEEP_SVDD_SCHEMA}). */
export const DEEP_SVDD_DEFAULTS = schemaDefaults(DEEP_SVDD_SCHEMA) as unknown as DeepSvddHParams;

/**
 * Default training options: 20 one-class epochs (after pretrainEpochs of pretraining), batch 200
 * and Adam lr 1e-4 (the reference's MNIST batch and learning rate; it trains 150 + 150 epochs).
 */
export const DEEP_SVDD_TRAIN_DEFAULTS = { epochs: 20, batchSize: 200, lr: 1e-4 };

/** Validates (partial) Deep SVDD hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function deepSvddHParams(h: Record<string, unknown> = {}): DeepSvddHParams {
  return resolveHParams(DEEP_SVDD_SCHEMA, h, 'deep-svdd') as unknown as DeepSvddHParams;
}

/** Deep SVDD as an anogen detector. */
export class DeepSvdd extends NeuralDetector<DeepSvddHParams> implements FeatureExtractor {
  readonly name = 'deep-svdd';
  readonly producesMaps = false;
  readonly featureName = 'Deep SVDD representation phi(x)';
  readonly trainDefaults = DEEP_SVDD_TRAIN_DEFAULTS;
  /** phi, the pretraining decoder, c and R (state dict `net.*`, `decoder.*`, `c`, `R`). */
  readonly nets: DeepSvddNetworks;
  private run: SvddRun | null = null;
  protected get net(): DeepSvddNetworks {
    return this.nets;
  }

  /** Builds Deep SVDD from (partial) hyperparameters, validated against {@link DEEP_SVDD_SCHEMA}. */
  constructor(hparams: Partial<DeepSvddHParams> = {}) {
    super(deepSvddHParams(hparams as Record<string, unknown>));
    const { isize, nc, width, repDim } = this.hparams;
    this.nets = new DeepSvddNetworks({ isize, nc, width, repDim });
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [0, 1] };
  }

  /**
   * Trains pretrainEpochs of autoencoder pretraining then `epochs` (default 20) of one-class
   * training in one run of the loop (its epochs and checkpoints count both phases); the center c
   * is computed between them. Otherwise as NeuralDetector.fit.
   */
  override async fit(train: ImageSet | BatchSource, opts: FitOptions = {}): Promise<FitReport> {
    const source = 'images' in train ? asSource(checkImages(train.images, this.input, `${this.name} fit`)) : train;
    const bs = Math.min(opts.batchSize ?? this.trainDefaults.batchSize, source.length);
    const stepsPerEpoch = Math.floor(source.length / Math.max(bs, 1));
    const h = this.hparams;
    const run = new SvddRun(this.nets, source, bs, this.device, h.pretrainEpochs * stepsPerEpoch, h.centerEps, opts.resume?.globalStep ?? null);
    const centered: BatchSource = {
      length: source.length,
      itemShape: source.itemShape,
      get: async (positions, device) => {
        await run.ensureCenter();
        return source.get(positions, device);
      },
    };
    this.run = run;
    try {
      return await super.fit(centered, { ...opts, epochs: h.pretrainEpochs + (opts.epochs ?? this.trainDefaults.epochs) });
    } finally {
      this.run = null;
    }
  }

  protected trainingProcess(o: ProcessOptions): TrainingProcess {
    const h = this.hparams;
    return deepSvddProcess(this.nets, h, this.run!, o);
  }

  protected scoreBatch(x: Tensor): { scores: Tensor } {
    const dist = squaredDistance(this.nets.call(x), this.nets.c);
    return { scores: this.hparams.objective === 'soft-boundary' ? dist.sub(this.nets.R.square()) : dist };
  }

  /** phi(x), N x repDim (eval mode). */
  features(x: Tensor): Tensor {
    return this.inference(x, 'features', (xs) => this.nets.call(xs));
  }
}

registerDetector({
  name: 'deep-svdd',
  description: 'Deep SVDD (Ruff et al., 2018): bias-free CNN mapping normals into a hypersphere, score = ||phi(x) - c||^2',
  schema: DEEP_SVDD_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [0, 1] },
  tiny: { isize: 16, width: 4, repDim: 16, pretrainEpochs: 1 },
  trainDefaults: DEEP_SVDD_TRAIN_DEFAULTS,
  lossDocs: DEEP_SVDD_LOSSES,
  create: (h) => new DeepSvdd(h as Partial<DeepSvddHParams>),
});
