/**
 * The detector API every anogen detector shares.
 *
 * A detector keeps its hyperparameters (given to the constructor) apart from its fitted
 * state (network weights, the normalisation of scores and the threshold Phi). Convention:
 * higher score = more anomalous. Scores are calibrated on VALIDATION data only (normals
 * carved from the training split, or a labelled validation set the user gives); nothing is
 * ever fitted or selected on a test split.
 */
import { AnogenError, type Tensor } from '../core/index.js';
import {
  applyCalibration,
  fitCalibration,
  type Calibration,
  type ThresholdStrategy,
} from '../eval/threshold.js';
import type { NormalizationKind } from '../eval/normalize.js';

export type { Calibration, ThresholdStrategy, NormalizationKind };

/** Images (NCHW float32, GAN images in [-1, 1]) with optional labels (0 normal, 1 anomalous). */
export interface ImageSet {
  /** NCHW float32 images. */
  images: Tensor;
  /** 0 = normal, 1 = anomalous, one per image; absent means "all normal". */
  labels?: ArrayLike<number>;
}

/** One progress report of a training loop. */
export interface ProgressEvent {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  /** Loss values of this step, by name. */
  losses: Record<string, number>;
  /** Training throughput (images per second) measured since the start of fit. */
  imagesPerSecond: number;
  /** Estimated seconds left. */
  etaSeconds: number;
}

/** Options of {@link Detector.fit}. */
export interface FitOptions {
  /** Validation set for normalisation and threshold (default: none: calibrate() must be called later). */
  val?: ImageSet;
  /** Number of epochs (default: the detector's own default). */
  epochs?: number;
  /** Mini-batch size (default: the detector's own default). */
  batchSize?: number;
  /** Learning rate (default: the detector's own default). */
  lr?: number;
  /** Seed of torch and of every JS-side shuffle (default 0). */
  seed?: number;
  /** Called after every step. */
  onProgress?: (e: ProgressEvent) => void;
  /** Checked between steps: when it returns true, training stops early (e.g. after Ctrl-C). */
  shouldStop?: () => boolean;
  /** Folder where a checkpoint is kept (last good weights) during training (default: none). */
  checkpointDir?: string;
  /** Calibration (normalisation + threshold) fitted on `val` (defaults: see {@link CalibrateOptions}). */
  calibration?: CalibrateOptions;
}

/** What fit() reports. */
export interface FitReport {
  /** Loss history: one entry per step, by loss name. */
  history: Record<string, number>[];
  epochs: number;
  steps: number;
  seconds: number;
  imagesPerSecond: number;
  /** True when stopped early by `shouldStop`. */
  interrupted: boolean;
}

/** Result of {@link Detector.score}. */
export interface ScoreResult {
  /** Raw anomaly score A(x) per image (higher = more anomalous). */
  scores: Float32Array;
  /** Anomaly maps, N x 1 x H x W at the input size, when the method has them. */
  maps?: Tensor;
}

/** Calibration options: normalisation (default 'minmax', fitted on validation normals) and threshold strategy (default percentile 95). */
export interface CalibrateOptions {
  /** 'none', 'minmax' or 'zscore' (default 'minmax'). */
  normalization?: NormalizationKind;
  /** Threshold strategy: 'percentile' (q 95), 'f1-max' (labelled val), { kind: 'fixed', value } ... (default percentile 95). */
  threshold?: ThresholdStrategy | string;
}

/**
 * Base class of every detector. Subclasses implement fitModel, scoreRaw, and the state
 * (de)serialisation; the calibration (normalisation + threshold) lives here.
 */
export abstract class Detector<H extends object = object> {
  /** Registry name, e.g. 'ganomaly'. */
  abstract readonly name: string;
  /** Hyperparameters, fixed at construction. */
  readonly hparams: H;
  /** Fitted calibration (null until fit() with a val set or calibrate()). */
  calibration: Calibration | null = null;

  constructor(hparams: H) {
    this.hparams = hparams;
  }

  /** Trains the model on normal images (labels ignored). */
  protected abstract fitModel(train: ImageSet, opts: FitOptions): Promise<FitReport>;
  /** Raw scores (and maps) of a batch; must not change any state. */
  protected abstract scoreRaw(x: Tensor, opts: { maps: boolean }): ScoreResult;
  /** Named tensors of the fitted model (PyTorch dotted names). */
  abstract stateDict(): Map<string, Tensor>;
  /** Loads named tensors (strict). */
  abstract loadStateDict(sd: Map<string, Tensor>): void;
  /** Frees native memory held by the detector. */
  abstract dispose(): void;

  /** Trains on `train`, then calibrates on `opts.val` when given. */
  async fit(train: ImageSet, opts: FitOptions = {}): Promise<FitReport> {
    const report = await this.fitModel(train, opts);
    if (opts.val !== undefined && !report.interrupted) this.calibrate(opts.val, opts.calibration);
    return report;
  }

  /**
   * Fits the normalisation (on validation NORMALS) and the threshold (percentile of
   * normals by default; f1-max with a labelled set) on validation data. Never call it with
   * test data.
   */
  calibrate(val: ImageSet, opts: CalibrateOptions = {}): Calibration {
    const raw = this.score(val.images, { maps: false }).scores;
    const labels = val.labels === undefined ? undefined : Array.from(val.labels);
    this.calibration = fitCalibration(raw, labels, { normalization: opts.normalization ?? 'minmax', threshold: opts.threshold });
    return this.calibration;
  }

  /** Raw scores A(x) (+ maps unless maps: false) of NCHW images, scored in batches of batchSize (default 256). */
  score(x: Tensor, opts: { maps?: boolean; batchSize?: number } = {}): ScoreResult {
    if (x.ndim !== 4) throw new AnogenError(`score: expected NCHW images, got shape [${x.shape.join(', ')}]`);
    return this.scoreRaw(x, { maps: opts.maps ?? true });
  }

  /** Normalised scores (using the validation calibration). */
  normalise(raw: ArrayLike<number>): Float64Array {
    return applyCalibration(this.requireCalibration(), Float64Array.from(raw)).scores;
  }

  /** 0/1 predictions: 1 when the normalised score exceeds Phi. */
  predict(x: Tensor): Uint8Array {
    return applyCalibration(this.requireCalibration(), this.score(x, { maps: false }).scores).predictions;
  }

  private requireCalibration(): Calibration {
    if (this.calibration === null) throw new AnogenError('this detector has no calibration: fit it with a val set, or call calibrate(val)');
    return this.calibration;
  }

  /** JSON-serialisable description of the architecture (hyperparameters) for bundles. */
  config(): H {
    return { ...this.hparams };
  }
}
