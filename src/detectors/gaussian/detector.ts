/**
 * The Gaussian detector of Rippel, Mertens & Merhof (2020), "Modeling the distribution of normal
 * data in pre-trained deep features for anomaly detection": a multivariate Gaussian fitted to
 * the features of normal images (mean, Ledoit-Wolf shrunk covariance, as
 * sklearn.covariance.LedoitWolf); A(x) = the SQUARED Mahalanobis distance
 * (f(x) - mean)^T Sigma^-1 (f(x) - mean) (the paper's score before the square root; the order,
 * and so every AUROC, is the same). Fitted in one pass, no training loop.
 */
import { AnogenError, noGrad, tensor, tidy, type Tensor } from '../../core/index.js';
import type { BatchSource } from '../../train/source.js';
import { checkImages, Detector, type FeatureExtractor, type FitOptions, type FitReport, type ImageSet, type InputSpec, type ScoreOptions, type ScoreResult } from '../api.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { collectFeatures, FEATURE_SOURCES, FeatureSource, resolveBackbone, type FeatureSourceName } from '../features/extractor.js';
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
export class Gaussian extends Detector<GaussianHParams> implements FeatureExtractor {
  readonly name = 'gaussian';
  readonly producesMaps = false;
  private readonly src: FeatureSource;
  private state: GaussianState | null = null;

  /** Builds the detector from (partial) hyperparameters, validated against {@link GAUSSIAN_SCHEMA}. */
  constructor(hparams: Partial<GaussianHParams> = {}) {
    super(gaussianHParams(hparams as Record<string, unknown>));
    this.src = new FeatureSource({ features: this.hparams.features, backbone: this.hparams.backbone, input: this.input, who: 'gaussian' });
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  get featureName(): string {
    return this.src.featureName;
  }

  /** The fitted Ledoit-Wolf shrinkage (null before fit). */
  get shrinkage(): number | null {
    return this.state?.shrinkage ?? null;
  }

  /** The features the Gaussian is fitted on (N x F float32 on the CPU), for plots. */
  features(x: Tensor): Tensor {
    const f = this.src.extract(checkImages(x, this.input, 'gaussian features'));
    try {
      return f.float();
    } finally {
      f.dispose();
    }
  }

  /**
   * Extracts the features of the training images (at most `maxTrain`, seeded by `opts.seed`),
   * fits mean and Ledoit-Wolf covariance; then calibrates on `opts.val` when given. `epochs`
   * and `lr` are ignored; `batchSize` sets the feature batches (default 256).
   */
  async fit(train: ImageSet | BatchSource, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    const f = await collectFeatures(train, this.src, this.input, this.name, {
      maxTrain: this.hparams.maxTrain,
      seed: opts.seed ?? 0,
      batchSize: opts.batchSize ?? GAUSSIAN_TRAIN_DEFAULTS.batchSize,
      onProgress: opts.onProgress,
    });
    const nTrain = f.x.shape[0]!;
    let next: GaussianState;
    try {
      const lw = ledoitWolf(f.x);
      lw.covariance.dispose();
      next = { mean: lw.mean, precision: lw.precision, shrinkage: lw.shrinkage };
    } finally {
      f.x.dispose();
    }
    this.disposeState();
    this.state = next;
    if (opts.val !== undefined) this.calibrate(opts.val, opts.calibration);
    const seconds = (performance.now() - t0) / 1000;
    return {
      history: [{ shrinkage: next.shrinkage, ms: seconds * 1000 }],
      epochs: 1,
      steps: f.batches,
      seconds,
      imagesPerSecond: nTrain / Math.max(seconds, 1e-9),
      interrupted: false,
    };
  }

  /** A(x) = (f(x) - mean)^T precision (f(x) - mean), the squared Mahalanobis distance. */
  score(x: Tensor, opts: ScoreOptions = {}): ScoreResult {
    const st = this.requireState();
    const bs = opts.batchSize ?? 256;
    if (!Number.isInteger(bs) || bs < 1) throw new AnogenError(`gaussian score: batchSize must be a positive integer, got ${bs}`);
    const xs = checkImages(x, this.input, 'gaussian score', { resize: opts.resize });
    const n = xs.shape[0]!;
    const scores = new Float32Array(n);
    try {
      for (let i = 0; i < n; i += bs) {
        const fb = this.src.extract(xs.narrow(0, i, Math.min(bs, n - i)));
        try {
          scores.set(
            noGrad(() => tidy(() => mahalanobis(fb, st.mean, st.precision).toFloat64Array())),
            i,
          );
        } finally {
          fb.dispose();
        }
      }
    } finally {
      if (xs !== x) xs.dispose();
    }
    return { scores };
  }

  /** `mean` [F], `precision` [F, F], `shrinkage` [1] (float64), plus `backbone.*` with features 'bundle'; the caller disposes them. */
  stateDict(): Map<string, Tensor> {
    const st = this.requireState();
    const sd = new Map<string, Tensor>([
      ['mean', st.mean.detach()],
      ['precision', st.precision.detach()],
      ['shrinkage', tensor(Float64Array.of(st.shrinkage))],
    ]);
    for (const [k, v] of this.src.stateDict()) sd.set(k, v);
    return sd;
  }

  /** Loads a fitted state (strict: names, float64, consistent shapes; the backbone's weights with 'bundle'). */
  loadStateDict(sd: Map<string, Tensor>): void {
    const want = ['mean', 'precision', 'shrinkage'];
    const extra = [...sd.keys()].filter((k) => !want.includes(k) && !(this.src.kind === 'bundle' && k.startsWith('backbone.')));
    const missing = want.filter((k) => !sd.has(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new AnogenError(
        `gaussian state: ${missing.length} missing (${missing.join(', ')}), ${extra.length} unexpected (${extra.slice(0, 3).join(', ')}); expected ${want.join(', ')}`,
      );
    }
    const bad = want.find((k) => sd.get(k)!.dtype !== 'float64');
    if (bad !== undefined) throw new AnogenError(`gaussian state: ${bad} must be float64, got ${sd.get(bad)!.dtype}`);
    const mean = sd.get('mean')!;
    const prec = sd.get('precision')!;
    const f = mean.shape[0]!;
    if (mean.ndim !== 1 || prec.ndim !== 2 || prec.shape[0] !== f || prec.shape[1] !== f || sd.get('shrinkage')!.numel !== 1) {
      throw new AnogenError(`gaussian state: expected mean [F], precision [F, F], shrinkage [1]; got [${mean.shape.join(', ')}] and [${prec.shape.join(', ')}]`);
    }
    this.src.loadStateDict(sd);
    const next = { mean: mean.detach().clone(), precision: prec.detach().clone(), shrinkage: sd.get('shrinkage')!.item() };
    this.disposeState();
    this.state = next;
  }

  dispose(): void {
    this.disposeState();
    this.src.dispose();
  }

  private disposeState(): void {
    if (this.state === null) return;
    this.state.mean.dispose();
    this.state.precision.dispose();
    this.state = null;
  }

  private requireState(): GaussianState {
    if (this.state === null) throw new AnogenError('this gaussian detector is not fitted: call fit(train) first, or load a bundle');
    return this.state;
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
