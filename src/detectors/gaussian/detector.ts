/**
 * The Gaussian detector of Rippel, Mertens & Merhof (2020), "Modeling the distribution of normal
 * data in pre-trained deep features for anomaly detection": a multivariate Gaussian fitted to
 * the features of normal images (mean, Ledoit-Wolf shrunk covariance, as
 * sklearn.covariance.LedoitWolf); A(x) = the SQUARED Mahalanobis distance
 * (f(x) - mean)^T Sigma^-1 (f(x) - mean) (the paper's score before the square root; the order,
 * and so every AUROC, is the same). Fitted in one pass, no training loop.
 */
import { AnogenError, tensor, type Tensor } from '../../core/index.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { FEATURE_SOURCES, resolveBackbone, type FeatureSourceName } from '../features/extractor.js';
import { FeatureDetector, type FittedFeatures } from '../features/detector.js';
import { ledoitWolf, mahalanobis } from './ledoit-wolf.js';

/** The Gaussian detector's hyperparameters. */
export const GAUSSIAN_SCHEMA = {
  isize: { type: 'int', default: 32, min: 2, max: 1024, doc: 'input image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  maxTrain: { type: 'int', default: 0, min: 0, max: 1_000_000, doc: 'fit on at most this many training images, a seeded subsample (0 = all)' },
  features: { type: 'enum', default: 'pixels', values: FEATURE_SOURCES, doc: "feature source: 'pixels' (flattened) or 'bundle' (a bundle's detector features, see backbone)" },
  backbone: { type: 'file', default: null, doc: "with --features bundle: the config.json of an anogen bundle whose detector has features (e.g. ganomaly's discriminator)" },
} satisfies HParamSchema;

/** Gaussian detector hyperparameters. */
export interface GaussianHParams {
  isize: number;
  nc: number;
  maxTrain: number;
  features: FeatureSourceName;
  backbone: string | null;
}

/** Every default. */
export const GAUSSIAN_DEFAULTS = schemaDefaults(GAUSSIAN_SCHEMA) as unknown as GaussianHParams;

/** Training options: one pass (epochs are ignored), feature batches of 256; no learning rate. */
export const GAUSSIAN_TRAIN_DEFAULTS = { epochs: 1, batchSize: 256, lr: 0 };

/** Validates (partial) Gaussian detector hyperparameters and fills in the defaults (the backbone path made absolute). */
export function gaussianHParams(h: Record<string, unknown> = {}): GaussianHParams {
  const p = resolveHParams(GAUSSIAN_SCHEMA, h, 'gaussian') as unknown as GaussianHParams;
  return { ...p, backbone: resolveBackbone(p.backbone) };
}

interface GaussianState {
  /** [F] float64. */
  mean: Tensor;
  /** [F, F] float64. */
  precision: Tensor;
  shrinkage: number;
}

/** The Gaussian (Mahalanobis) detector (see the module comment). */
export class Gaussian extends FeatureDetector<GaussianHParams, GaussianState> {
  readonly name = 'gaussian';
  protected readonly stateKeys = ['mean', 'precision', 'shrinkage'] as const;

  /** Builds the detector from (partial) hyperparameters, validated against {@link GAUSSIAN_SCHEMA}. */
  constructor(hparams: Partial<GaussianHParams> = {}) {
    super(gaussianHParams(hparams as Record<string, unknown>), 'gaussian', GAUSSIAN_TRAIN_DEFAULTS.batchSize);
  }

  /** The fitted Ledoit-Wolf shrinkage (null before fit). */
  get shrinkage(): number | null {
    return this.state?.shrinkage ?? null;
  }

  /** Mean and Ledoit-Wolf covariance of the training features; the precision kept for scoring. */
  protected fitFeatures(x: Tensor): FittedFeatures<GaussianState> {
    const lw = ledoitWolf(x);
    lw.covariance.dispose();
    return { state: { mean: lw.mean, precision: lw.precision, shrinkage: lw.shrinkage }, history: { shrinkage: lw.shrinkage } };
  }

  /** A(x) = (f(x) - mean)^T precision (f(x) - mean), the squared Mahalanobis distance. */
  protected scoreFeatures(f: Tensor, st: GaussianState): Float64Array {
    return mahalanobis(f, st.mean, st.precision).toFloat64Array();
  }

  /** `mean` [F], `precision` [F, F], `shrinkage` [1] (float64). */
  protected stateTensors(st: GaussianState): [string, Tensor][] {
    return [
      ['mean', st.mean.detach()],
      ['precision', st.precision.detach()],
      ['shrinkage', tensor(Float64Array.of(st.shrinkage))],
    ];
  }

  protected stateFromTensors(sd: Map<string, Tensor>): GaussianState {
    const mean = sd.get('mean')!;
    const prec = sd.get('precision')!;
    const f = mean.shape[0]!;
    if (mean.ndim !== 1 || prec.ndim !== 2 || prec.shape[0] !== f || prec.shape[1] !== f || sd.get('shrinkage')!.numel !== 1) {
      throw new AnogenError(`gaussian state: expected mean [F], precision [F, F], shrinkage [1]; got [${mean.shape.join(', ')}] and [${prec.shape.join(', ')}]`);
    }
    return { mean: mean.detach().clone(), precision: prec.detach().clone(), shrinkage: sd.get('shrinkage')!.item() };
  }

  protected ownedTensors(st: GaussianState): Tensor[] {
    return [st.mean, st.precision];
  }
}

registerDetector({
  name: 'gaussian',
  description: 'Gaussian on features (Rippel et al., 2020): Ledoit-Wolf covariance, score = squared Mahalanobis distance',
  schema: GAUSSIAN_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16 },
  trainDefaults: GAUSSIAN_TRAIN_DEFAULTS,
  lossDocs: { shrinkage: 'the Ledoit-Wolf shrinkage coefficient' },
  create: (h) => new Gaussian(h as Partial<GaussianHParams>),
});
