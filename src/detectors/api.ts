/**
 * The detector API every anogen detector shares.
 *
 * A detector keeps its hyperparameters (given to the constructor) apart from its fitted
 * state (network weights, the normalisation of scores and the threshold Phi). Convention:
 * higher score = more anomalous. Scores are calibrated on VALIDATION data only (normals
 * carved from the training split, or a labelled validation set the user gives); nothing is
 * ever fitted or selected on a test split.
 */
import { AnogenError, checkOneOf, type Tensor } from '../core/index.js';

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
  /** Threshold options used when `val` is given (default: percentile 95... see {@link ThresholdOptions}). */
  threshold?: ThresholdOptions;
  /** Normalisation used when `val` is given (default 'minmax'). */
  normalisation?: NormalisationKind;
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

/** Normalisation kinds for scores. */
export const NORMALISATIONS = ['minmax', 'zscore'] as const;
export type NormalisationKind = (typeof NORMALISATIONS)[number];

/** Fitted normalisation: minmax maps (s - a) / b with a = min, b = max - min; zscore a = mean, b = std. */
export interface Normalisation {
  kind: NormalisationKind;
  a: number;
  b: number;
}

/** Threshold strategies. */
export const THRESHOLD_STRATEGIES = ['percentile', 'f1-max', 'fixed'] as const;
export type ThresholdStrategy = (typeof THRESHOLD_STRATEGIES)[number];

/** Options of a threshold. */
export interface ThresholdOptions {
  /** Strategy (default 'percentile'). */
  strategy?: ThresholdStrategy;
  /** Percentile of validation normal scores for 'percentile' (default 95). */
  percentile?: number;
  /** The threshold for 'fixed', on the NORMALISED scale (required for 'fixed'). */
  value?: number;
}

/** A fitted threshold Phi, on the normalised scale. */
export interface Threshold {
  strategy: ThresholdStrategy;
  value: number;
  percentile?: number;
}

/** Fits a normalisation on raw validation scores. */
export function fitNormalisation(scores: ArrayLike<number>, kind: NormalisationKind = 'minmax'): Normalisation {
  checkOneOf('normalisation', kind, NORMALISATIONS);
  const n = scores.length;
  if (n === 0) throw new AnogenError('fitNormalisation: no validation scores');
  if (kind === 'minmax') {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, scores[i]);
      hi = Math.max(hi, scores[i]);
    }
    return { kind, a: lo, b: hi - lo > 0 ? hi - lo : 1 };
  }
  let m = 0;
  for (let i = 0; i < n; i++) m += scores[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (scores[i] - m) ** 2;
  const sd = Math.sqrt(v / Math.max(1, n - 1));
  return { kind, a: m, b: sd > 0 ? sd : 1 };
}

/** Applies a normalisation (unclipped: test scores may fall outside [0, 1]). */
export function applyNormalisation(scores: ArrayLike<number>, norm: Normalisation): Float32Array {
  const out = new Float32Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = (scores[i] - norm.a) / norm.b;
  return out;
}

/** The q-th percentile (0..100) with linear interpolation, as numpy's default. */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new AnogenError('percentile: no values');
  if (!(q >= 0 && q <= 100)) throw new AnogenError(`percentile: ${q} is not in [0, 100]`);
  const s = Float64Array.from(values).sort();
  const pos = (q / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * Fits Phi on NORMALISED validation scores. 'percentile' uses the normals only (labels
 * optional); 'f1-max' needs labels with both classes and picks the threshold maximising F1;
 * 'fixed' takes `value`.
 */
export function fitThreshold(scores: ArrayLike<number>, labels: ArrayLike<number> | undefined, opts: ThresholdOptions = {}): Threshold {
  const strategy = checkOneOf('threshold strategy', opts.strategy ?? 'percentile', THRESHOLD_STRATEGIES);
  if (strategy === 'fixed') {
    if (typeof opts.value !== 'number' || !Number.isFinite(opts.value)) {
      throw new AnogenError(`threshold 'fixed' needs a finite numeric value, got ${JSON.stringify(opts.value)}`);
    }
    return { strategy, value: opts.value };
  }
  if (strategy === 'percentile') {
    const q = opts.percentile ?? 95;
    const normals: number[] = [];
    for (let i = 0; i < scores.length; i++) if (labels === undefined || labels[i] === 0) normals.push(scores[i]);
    if (normals.length === 0) throw new AnogenError('threshold percentile: the validation set has no normal images');
    return { strategy, value: percentile(normals, q), percentile: q };
  }
  if (labels === undefined) throw new AnogenError("threshold 'f1-max' needs a labelled validation set (normal and anomalous images)");
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((i, j) => scores[j] - scores[i]);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i] === 1 ? 1 : 0;
  if (pos === 0 || pos === labels.length) throw new AnogenError("threshold 'f1-max' needs both normal and anomalous validation images");
  let tp = 0;
  let fp = 0;
  let best = -1;
  let bestT = scores[idx[0]];
  for (let k = 0; k < idx.length; k++) {
    if (labels[idx[k]] === 1) tp++;
    else fp++;
    if (k + 1 < idx.length && scores[idx[k + 1]] === scores[idx[k]]) continue;
    const f1 = (2 * tp) / (2 * tp + fp + (pos - tp));
    if (f1 > best) {
      best = f1;
      // predict anomalous when score > Phi: put Phi halfway to the next lower score
      const next = k + 1 < idx.length ? scores[idx[k + 1]] : scores[idx[k]] - 1;
      bestT = (scores[idx[k]] + next) / 2;
    }
  }
  return { strategy, value: bestT };
}

/** Calibration state stored with a detector (and in bundles). */
export interface Calibration {
  normalisation: Normalisation;
  threshold: Threshold;
  /** Number of validation images used. */
  valCount: number;
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
    if (opts.val !== undefined && !report.interrupted) this.calibrate(opts.val, opts.threshold, opts.normalisation);
    return report;
  }

  /**
   * Fits the normalisation (on validation NORMALS) and the threshold (percentile of
   * normals by default; f1-max with a labelled set). Never call it with test data.
   */
  calibrate(val: ImageSet, threshold: ThresholdOptions = {}, normalisation: NormalisationKind = 'minmax'): Calibration {
    const raw = this.score(val.images, { maps: false }).scores;
    const normalRaw: number[] = [];
    for (let i = 0; i < raw.length; i++) if (val.labels === undefined || val.labels[i] === 0) normalRaw.push(raw[i]);
    if (normalRaw.length === 0) throw new AnogenError('calibrate: the validation set has no normal images');
    const norm = fitNormalisation(normalRaw, normalisation);
    const thr = fitThreshold(applyNormalisation(raw, norm), val.labels, threshold);
    this.calibration = { normalisation: norm, threshold: thr, valCount: raw.length };
    return this.calibration;
  }

  /** Raw scores A(x) (+ maps unless maps: false) of NCHW images, scored in batches of batchSize (default 256). */
  score(x: Tensor, opts: { maps?: boolean; batchSize?: number } = {}): ScoreResult {
    if (x.ndim !== 4) throw new AnogenError(`score: expected NCHW images, got shape [${x.shape.join(', ')}]`);
    return this.scoreRaw(x, { maps: opts.maps ?? true });
  }

  /** Normalised scores (using the validation calibration). */
  normalise(raw: ArrayLike<number>): Float32Array {
    if (this.calibration === null) throw new AnogenError('this detector has no calibration: fit it with a val set, or call calibrate(val)');
    return applyNormalisation(raw, this.calibration.normalisation);
  }

  /** 0/1 predictions: 1 when the normalised score exceeds Phi. */
  predict(x: Tensor): Uint8Array {
    const s = this.normalise(this.score(x, { maps: false }).scores);
    const phi = this.calibration!.threshold.value;
    return Uint8Array.from(s, (v) => (v > phi ? 1 : 0));
  }

  /** JSON-serialisable description of the architecture (hyperparameters) for bundles. */
  config(): H {
    return { ...this.hparams };
  }
}
