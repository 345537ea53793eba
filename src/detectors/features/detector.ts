/**
 * The shared base of detectors fitted in one pass on features (ocsvm, gaussian): the feature
 * source (pixels or a bundle's features), input checks, fitting on features collected batch by
 * batch, batched scoring, and a fitted state of named float64 tensors that bundles carry
 * (strictly checked on load, beside the backbone's weights). A subclass supplies how to fit
 * its state on a feature matrix, how to score features with it, and its state's tensors.
 */
import { AnogenError, cat, tidy, noGrad, type Tensor } from '../../core/index.js';
import type { BatchSource } from '../../train/source.js';
import { checkImages, Detector, type FeatureExtractor, type FitOptions, type FitReport, type ImageSet, type InputSpec, type ScoreOptions, type ScoreResult } from '../api.js';
import { collectFeatures, FeatureSource, type FeatureSourceName } from './extractor.js';
import type { BackboneHParams } from './backbone.js';
import type { ClassifierHParams } from './classifier.js';

/** The hyperparameters every feature detector has (the backbone* ones: see ./backbone.ts; the classifier* ones: ./classifier.ts). */
export interface FeatureDetectorHParams extends BackboneHParams, Partial<ClassifierHParams> {
  /** Input image size. */
  isize: number;
  /** Image channels. */
  nc: number;
  /** Feature source: a {@link FeatureSourceName}, or a detector's own mode over one (gaussian's 'patches', over pixels: see the constructor's `source`). */
  features: string;
  /** The backbone bundle's config.json with features 'bundle' (null otherwise). */
  backbone: string | null;
  /** Most training images used (0: all). */
  maxTrain: number;
}

/** What a subclass's fit on features returns. */
export interface FittedFeatures<S> {
  /** The fitted state (its tensors owned by the detector from now on). */
  state: S;
  /** The one history row of the fit (figures of the solution). */
  history: Record<string, number>;
}

/** Base class of one-pass feature detectors (see the module comment). */
export abstract class FeatureDetector<H extends FeatureDetectorHParams, S> extends Detector<H> implements FeatureExtractor {
  /** False unless a subclass's mode has maps (gaussian with features 'patches'). */
  readonly producesMaps: boolean = false;
  protected readonly src: FeatureSource;
  protected state: S | null = null;

  /**
   * @param who the detector's name, for messages (the subclass's `name` is not set yet here)
   * @param featureBatch default feature batch size of fit and score
   * @param source the feature source to build (default `hparams.features`, which must then be a {@link FeatureSourceName})
   * @param backboneMaps with features 'backbone': 0 (default) pooled stages, n >= 1 feature maps with n x n neighbourhoods (./backbone.ts)
   */
  constructor(
    hparams: H,
    private readonly who: string,
    private readonly featureBatch: number,
    source?: FeatureSourceName,
    backboneMaps = 0,
  ) {
    super(hparams);
    const h = this.hparams;
    const resnet = {
      backboneArch: h.backboneArch,
      backboneWeights: h.backboneWeights,
      backboneLayers: h.backboneLayers,
      backboneSize: h.backboneSize,
      backboneSha256: h.backboneSha256,
    };
    const classifier =
      h.classifier === undefined
        ? undefined
        : { classifier: h.classifier, classifierLayers: h.classifierLayers!, classifierGrid: h.classifierGrid!, classifierSha256: h.classifierSha256! };
    this.src = new FeatureSource({ features: source ?? (h.features as FeatureSourceName), backbone: h.backbone, input: this.input, who, resnet, classifier, backboneMaps });
  }

  /**
   * The hyperparameters a bundle stores. With features 'backbone' the weights travel in the
   * state dict, so `backboneWeights` is stored as null (the file is not needed to load the
   * bundle) and `backboneSha256` as the SHA-256 of the file the detector was built with. With
   * features 'classifier' likewise `classifierSha256` (the weights travel in the state dict;
   * `classifier` keeps the name or file as provenance).
   */
  override config(): H {
    const c = this.src.classifierFeatures;
    if (c !== null) return { ...this.hparams, classifierSha256: c.sha256 };
    const r = this.src.resnetBackbone;
    return r === null ? { ...this.hparams } : { ...this.hparams, backboneWeights: null, backboneSha256: r.sha256 };
  }

  /** Names of the state's tensors in the state dict, in order. */
  protected abstract readonly stateKeys: readonly string[];
  /** Fits the state on a training feature matrix N x F (float64, on the CPU; disposed by the caller). */
  protected abstract fitFeatures(x: Tensor): FittedFeatures<S>;
  /** Scores a batch of features (N x F float64) with the state; runs in noGrad + tidy. */
  protected abstract scoreFeatures(f: Tensor, state: S): Float64Array;
  /**
   * With `producesMaps`: the scores of a feature batch and their anomaly maps [n, 1, S, S], from
   * one computation (score() asks for this instead of scoreFeatures when maps are wanted). The
   * default throws: a detector that sets producesMaps overrides it.
   */
  protected scoreFeaturesWithMaps(_f: Tensor, _state: S): { scores: Float64Array; maps: Tensor } {
    throw new AnogenError(`${this.who}: produces no anomaly maps`);
  }
  /** The state as named float64 tensors (views or new tensors the caller disposes), in `stateKeys` order. */
  protected abstract stateTensors(state: S): [string, Tensor][];
  /** A state from loaded tensors (every key present and float64): checks the shapes, copies what it keeps. */
  protected abstract stateFromTensors(sd: Map<string, Tensor>): S;
  /** The tensors the state owns (freed when it is replaced or the detector disposed). */
  protected abstract ownedTensors(state: S): Tensor[];

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  get featureName(): string {
    return this.src.featureName;
  }

  /** The features the detector is fitted on (N x F float32 on the CPU), for plots. */
  features(x: Tensor): Tensor {
    const f = this.src.extract(checkImages(x, this.input, `${this.who} features`));
    try {
      return f.float();
    } finally {
      f.dispose();
    }
  }

  /**
   * Extracts the features of the training images (at most `maxTrain`, seeded by `opts.seed`,
   * default 0), fits the state in one pass, then calibrates on `opts.val` when given. `epochs`
   * and `lr` are ignored; `batchSize` sets the feature batches.
   */
  async fit(train: ImageSet | BatchSource, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    const f = await collectFeatures(train, this.src, this.input, this.who, {
      maxTrain: this.hparams.maxTrain,
      seed: opts.seed ?? 0,
      batchSize: opts.batchSize ?? this.featureBatch,
      onProgress: opts.onProgress,
    });
    const nTrain = f.x.shape[0]!;
    let fitted: FittedFeatures<S>;
    try {
      fitted = this.fitFeatures(f.x);
    } finally {
      f.x.dispose();
    }
    this.disposeState();
    this.state = fitted.state;
    if (opts.val !== undefined) this.calibrate(opts.val, opts.calibration);
    const seconds = (performance.now() - t0) / 1000;
    return {
      history: [{ ...fitted.history, ms: seconds * 1000 }],
      epochs: 1,
      steps: f.batches,
      seconds,
      imagesPerSecond: nTrain / Math.max(seconds, 1e-9),
      interrupted: false,
    };
  }

  /**
   * Raw scores of NCHW images, features extracted and scored in batches of `batchSize` (default
   * 256); with `producesMaps`, also the anomaly maps unless `maps: false`.
   */
  score(x: Tensor, opts: ScoreOptions = {}): ScoreResult {
    const st = this.requireState();
    const bs = opts.batchSize ?? 256;
    if (!Number.isInteger(bs) || bs < 1) throw new AnogenError(`${this.who} score: batchSize must be a positive integer, got ${bs}`);
    const wantMaps = this.producesMaps && (opts.maps ?? true);
    const xs = checkImages(x, this.input, `${this.who} score`, { resize: opts.resize });
    const n = xs.shape[0]!;
    const scores = new Float32Array(n);
    const maps: Tensor[] = [];
    try {
      for (let i = 0; i < n; i += bs) {
        const fb = this.src.extract(xs.narrow(0, i, Math.min(bs, n - i)));
        try {
          const m = noGrad(() =>
            tidy(() => {
              if (!wantMaps) {
                scores.set(this.scoreFeatures(fb, st), i);
                return null;
              }
              const r = this.scoreFeaturesWithMaps(fb, st);
              scores.set(r.scores, i);
              return r.maps;
            }),
          );
          if (m !== null) maps.push(m);
        } finally {
          fb.dispose();
        }
      }
      if (!wantMaps) return { scores };
      const all = maps.length === 1 ? maps[0]! : noGrad(() => cat(maps, 0));
      if (maps.length === 1) maps.length = 0;
      return { scores, maps: all };
    } finally {
      for (const t of maps) t.dispose();
      if (xs !== x) xs.dispose();
    }
  }

  /** The state's tensors (float64), plus the backbone's weights under `backbone.` with features 'bundle'; the caller disposes them. */
  stateDict(): Map<string, Tensor> {
    const sd = new Map<string, Tensor>(this.stateTensors(this.requireState()));
    for (const [k, v] of this.src.stateDict()) sd.set(k, v);
    return sd;
  }

  /** Loads a fitted state (strict: the state's names, float64, consistent shapes; the backbone's weights with 'bundle'). */
  loadStateDict(sd: Map<string, Tensor>): void {
    const want = this.stateKeys;
    const extra = [...sd.keys()].filter((k) => !want.includes(k) && !(this.src.kind !== 'pixels' && k.startsWith('backbone.')));
    const missing = want.filter((k) => !sd.has(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new AnogenError(
        `${this.who} state: ${missing.length} missing (${missing.join(', ')}), ${extra.length} unexpected (${extra.slice(0, 3).join(', ')}); expected ${want.join(', ')}`,
      );
    }
    const bad = want.find((k) => sd.get(k)!.dtype !== 'float64');
    if (bad !== undefined) throw new AnogenError(`${this.who} state: ${bad} must be float64, got ${sd.get(bad)!.dtype}`);
    const next = this.stateFromTensors(sd);
    try {
      this.src.loadStateDict(sd);
    } catch (e) {
      for (const t of this.ownedTensors(next)) t.dispose();
      throw e;
    }
    this.disposeState();
    this.state = next;
  }

  dispose(): void {
    this.disposeState();
    this.src.dispose();
  }

  private disposeState(): void {
    if (this.state === null) return;
    for (const t of this.ownedTensors(this.state)) t.dispose();
    this.state = null;
  }

  protected requireState(): S {
    if (this.state === null) throw new AnogenError(`this ${this.who} detector is not fitted: call fit(train) first, or load a bundle`);
    return this.state;
  }
}
