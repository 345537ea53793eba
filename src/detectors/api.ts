/**
 * The detector contract every anogen detector shares.
 *
 * A detector keeps its hyperparameters (declared once as a schema, src/detectors/schema.ts,
 * given to the constructor) apart from its fitted state (weights, the normalisation of
 * scores and the threshold Φ). It declares its input ({@link InputSpec}: size, channels,
 * value range) and its capabilities as typed interfaces ({@link Reconstructor},
 * {@link FeatureExtractor}, {@link Sampler}; anomaly maps via `producesMaps`) that reports
 * and servers discover with the guards below, without casts.
 *
 * Convention: higher score = more anomalous. Scores are calibrated on VALIDATION data only
 * (normals carved from the training split, or a labelled validation set the user gives);
 * nothing is ever fitted or selected on a test split.
 */
import { AnogenError, Tensor, noGrad } from '../core/index.js';
import * as F from '../nn/functional.js';
import { applyCalibration, fitCalibration, type Calibration, type ThresholdStrategy } from '../eval/threshold.js';
import type { NormalizationKind } from '../eval/normalize.js';
import type { BatchSource } from '../train/source.js';
import type { LoopReport, LoopState, ModelFitOptions, ProgressEvent } from '../train/loop.js';

export type { Calibration, ThresholdStrategy, NormalizationKind, ProgressEvent, LoopState };

/** Images (NCHW float32, in the detector's declared range) with optional labels (0 normal, 1 anomalous). */
export interface ImageSet {
  /** NCHW float32 images. */
  images: Tensor;
  /** 0 = normal, 1 = anomalous, one per image; absent means "all normal". */
  labels?: ArrayLike<number>;
}

/** What a detector takes as input. */
export interface InputSpec {
  /** Square image size S (images are S x S). */
  size: number;
  /** Channels (1 gray, 3 RGB). */
  channels: number;
  /** Pixel value range, e.g. [-1, 1] for GANs. */
  range: [number, number];
}

/** Options of {@link Detector.fit}: the loop's {@link ModelFitOptions} plus validation and calibration. */
export interface FitOptions extends ModelFitOptions {
  /** Validation set for normalisation and threshold (default: none: calibrate() must be called later). */
  val?: ImageSet;
  /** Calibration (normalisation + threshold) fitted on `val` (defaults: see {@link CalibrateOptions}). */
  calibration?: CalibrateOptions;
}

/** What fit() reports. */
export type FitReport = LoopReport;

/** Result of {@link Detector.score}. */
export interface ScoreResult {
  /** Raw anomaly score A(x) per image (higher = more anomalous). */
  scores: Float32Array;
  /** Anomaly maps, N x 1 x H x W at the input size (CPU), when asked for and the method has them. */
  maps?: Tensor;
}

/** Options of {@link Detector.score}. */
export interface ScoreOptions {
  /** Also compute anomaly maps (default true when the detector produces maps). */
  maps?: boolean;
  /** Images scored at a time (default 256). */
  batchSize?: number;
  /**
   * Resize images of another size to the declared input size (bilinear) instead of refusing
   * them (default false: a size mismatch is an error, since it usually means the wrong preprocessing).
   */
  resize?: boolean;
}

/** Calibration options: normalisation (default 'minmax', fitted on validation normals) and threshold strategy (default percentile 95). */
export interface CalibrateOptions {
  /** 'none', 'minmax' or 'zscore' (default 'minmax'). */
  normalization?: NormalizationKind;
  /** Threshold strategy: 'percentile' (q 95), 'f1-max' (labelled val), { kind: 'fixed', value } ... (default percentile 95). */
  threshold?: ThresholdStrategy | string;
}

/** A detector that reconstructs its input (x^, at the input size). */
export interface Reconstructor {
  /** Reconstructions x^ of NCHW images (eval mode, no autograd), on the CPU. */
  reconstruct(x: Tensor): Tensor;
}
/** A detector with a feature space (for t-SNE plots and feature-based scores). */
export interface FeatureExtractor {
  /** Flattened features N x F of NCHW images (eval mode, no autograd), on the CPU. */
  features(x: Tensor): Tensor;
  /** What the features are, for plot titles (e.g. 'discriminator features'). */
  readonly featureName: string;
}
/** A generative model that samples images. */
export interface Sampler {
  /** n samples [n, C, H, W] in the input range, on the CPU; the same seed gives the same samples (default seed 0). */
  sample(n: number, opts?: { seed?: number }): Tensor;
}

/** True when `d` reconstructs its input. */
export function canReconstruct(d: Detector): d is Detector & Reconstructor {
  return typeof (d as Partial<Reconstructor>).reconstruct === 'function';
}
/** True when `d` has a feature space. */
export function hasFeatures(d: Detector): d is Detector & FeatureExtractor {
  return typeof (d as Partial<FeatureExtractor>).features === 'function';
}
/** True when `d` samples images. */
export function canSample(d: Detector): d is Detector & Sampler {
  return typeof (d as Partial<Sampler>).sample === 'function';
}
/** The capabilities of a detector by name ('maps', 'reconstruct', 'features', 'sample'). */
export function capabilities(d: Detector): string[] {
  return [d.producesMaps ? 'maps' : '', canReconstruct(d) ? 'reconstruct' : '', hasFeatures(d) ? 'features' : '', canSample(d) ? 'sample' : ''].filter(Boolean);
}

/** Raised when a detector's score is NaN or infinite (broken weights); names the images' positions. */
export class NonFiniteScoreError extends AnogenError {
  constructor(
    message: string,
    /** Positions (in the scored batch) of the non-finite scores. */
    readonly positions: number[],
  ) {
    super(message);
    this.name = 'NonFiniteScoreError';
  }
}

/**
 * Checks images given to a detector against its declared input: a Tensor, NCHW, float32, not
 * empty, the declared channels and (unless `resize`) the declared size. Returns the images,
 * resized when `resize` is set and the size differs (a new tensor the caller disposes).
 */
export function checkImages(x: unknown, input: InputSpec, who: string, opts: { resize?: boolean } = {}): Tensor {
  const want = `N x ${input.channels} x ${input.size} x ${input.size} float32 images in [${input.range.join(', ')}]`;
  if (!(x instanceof Tensor)) throw new AnogenError(`${who}: expected a Tensor of ${want}, got ${Array.isArray(x) ? 'an array' : typeof x}`);
  if (x.ndim !== 4) throw new AnogenError(`${who}: expected ${want}, got shape [${x.shape.join(', ')}]`);
  if (x.shape[0] === 0) throw new AnogenError(`${who}: the batch is empty (shape [${x.shape.join(', ')}]); expected at least one image`);
  if (x.dtype !== 'float32') throw new AnogenError(`${who}: expected float32 images, got ${x.dtype} (convert with x.float() and scale to [${input.range.join(', ')}])`);
  if (x.shape[1] !== input.channels) throw new AnogenError(`${who}: expected ${input.channels} channel(s), got images of shape [${x.shape.join(', ')}]`);
  if (x.shape[2] !== input.size || x.shape[3] !== input.size) {
    if (!opts.resize) {
      throw new AnogenError(
        `${who}: expected ${input.size} x ${input.size} images, got ${x.shape[2]} x ${x.shape[3]}; preprocess them with the bundle's transforms (or pass { resize: true })`,
      );
    }
    return noGrad(() => F.interpolate(x, { size: input.size, mode: 'bilinear' }));
  }
  return x;
}

/**
 * Base class of every detector: the calibration (normalisation + threshold) and prediction
 * live here; subclasses implement fit, score and the state.
 */
export abstract class Detector<H extends object = object> {
  /** Registry name, e.g. 'ganomaly'. */
  abstract readonly name: string;
  /** True when score() can return anomaly maps. */
  abstract readonly producesMaps: boolean;
  /** Hyperparameters, fixed at construction (validated against the registry's schema). */
  readonly hparams: H;
  /** Fitted calibration (null until fit() with a val set or calibrate()). */
  calibration: Calibration | null = null;

  constructor(hparams: H) {
    this.hparams = hparams;
  }

  /** The input this detector takes (size, channels, value range). */
  abstract get input(): InputSpec;
  /** Trains on normal images (a tensor, or a streaming source), then calibrates on `opts.val` when given. */
  abstract fit(train: ImageSet | BatchSource, opts?: FitOptions): Promise<FitReport>;
  /** Raw scores A(x) (and maps) of NCHW images; never changes any state. */
  abstract score(x: Tensor, opts?: ScoreOptions): ScoreResult;
  /** Named tensors of the fitted model (PyTorch dotted names; the caller disposes the map's tensors). */
  abstract stateDict(): Map<string, Tensor>;
  /** Loads named tensors (strict: names, shapes and dtypes must match). */
  abstract loadStateDict(sd: Map<string, Tensor>): void;
  /** Frees native memory held by the detector. */
  abstract dispose(): void;

  /**
   * Fits the normalisation (on validation NORMALS) and the threshold (percentile of
   * normals by default; f1-max with a labelled set) on validation data. Never call it with
   * test data.
   */
  calibrate(val: ImageSet, opts: CalibrateOptions & { batchSize?: number } = {}): Calibration {
    const raw = this.score(val.images, { maps: false, batchSize: opts.batchSize }).scores;
    const labels = val.labels === undefined ? undefined : Array.from(val.labels);
    this.calibration = fitCalibration(raw, labels, { normalization: opts.normalization ?? 'minmax', threshold: opts.threshold });
    return this.calibration;
  }

  /** Normalised scores (using the validation calibration). */
  normalize(raw: ArrayLike<number>): Float64Array {
    return applyCalibration(this.requireCalibration(), Float64Array.from(raw)).scores;
  }

  /** Φ on the normalised scale (an AnogenError without calibration). */
  get threshold(): number {
    return this.requireCalibration().threshold.value;
  }

  /** 0/1 predictions: 1 when the normalised score exceeds Φ. */
  predict(x: Tensor, opts: Omit<ScoreOptions, 'maps'> = {}): Uint8Array {
    return applyCalibration(this.requireCalibration(), this.score(x, { ...opts, maps: false }).scores).predictions;
  }

  private requireCalibration(): Calibration {
    if (this.calibration === null) throw new AnogenError(`this ${this.name} detector has no calibration: fit it with a val set, or call calibrate(val)`);
    return this.calibration;
  }

  /** JSON-serialisable description of the architecture (hyperparameters) for bundles. */
  config(): H {
    return { ...this.hparams };
  }
}
