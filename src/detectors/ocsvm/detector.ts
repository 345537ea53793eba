/**
 * The one-class SVM detector (Schölkopf et al., 2001) on features (flattened pixels, or the
 * features of an anogen bundle such as GANomaly's discriminator): A(x) = -f(x) =
 * rho - sum_i a_i K(sv_i, x) with an RBF kernel, so that higher = more anomalous. Fitted in one
 * pass (no training loop): features are extracted batch by batch from a seeded subsample of at
 * most `maxTrain` images, the n x n kernel matrix is built on the engine and the dual is solved
 * with libsvm's SMO (./solver.ts); matches scikit-learn's OneClassSVM.decision_function.
 */
import { AnogenError, noGrad, tensor, tidy, type Tensor } from '../../core/index.js';
import type { BatchSource } from '../../train/source.js';
import { checkImages, Detector, type FeatureExtractor, type FitOptions, type FitReport, type ImageSet, type InputSpec, type ScoreOptions, type ScoreResult } from '../api.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { collectFeatures, FEATURE_SOURCES, FeatureSource, resolveBackbone, type FeatureSourceName } from '../features/extractor.js';
import { kernelMatrix, parseGamma, rbfKernel, resolveGamma } from './kernel.js';
import { solveOneClass } from './solver.js';

/** The one-class SVM's hyperparameters (defaults as scikit-learn's OneClassSVM where it has them). */
export const OCSVM_SCHEMA = {
  isize: { type: 'int', default: 32, min: 2, max: 1024, doc: 'input image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  nu: {
    type: 'number',
    default: 0.5,
    min: 1e-6,
    max: 1,
    doc: 'upper bound on the share of training outliers and lower bound on the share of support vectors (scikit-learn default 0.5)',
  },
  gamma: { type: 'string', default: 'scale', doc: "RBF kernel gamma: 'scale' = 1 / (F * Var(X)), 'auto' = 1 / F (as scikit-learn), or a positive number" },
  tol: { type: 'number', default: 1e-3, min: 1e-12, max: 1, doc: "SMO stopping tolerance on the maximal violating pair (libsvm's and scikit-learn's default)" },
  maxTrain: {
    type: 'int',
    default: 5000,
    min: 0,
    max: 50000,
    doc: 'fit on at most this many training images, a seeded subsample (the kernel matrix takes 4 n^2 bytes; 0 = all)',
  },
  features: { type: 'enum', default: 'pixels', values: FEATURE_SOURCES, doc: "feature source: 'pixels' (flattened) or 'bundle' (a bundle's detector features, see backbone)" },
  backbone: { type: 'file', default: null, doc: "with --features bundle: the config.json of an anogen bundle whose detector has features (e.g. ganomaly's discriminator)" },
} satisfies HParamSchema;

/** One-class SVM hyperparameters. */
export interface OcsvmHParams {
  isize: number;
  nc: number;
  nu: number;
  gamma: string;
  tol: number;
  maxTrain: number;
  features: FeatureSourceName;
  backbone: string | null;
}

/** Every default. */
export const OCSVM_DEFAULTS = schemaDefaults(OCSVM_SCHEMA) as unknown as OcsvmHParams;

/** Training options: one pass (epochs are ignored), feature batches of 256; no learning rate. */
export const OCSVM_TRAIN_DEFAULTS = { epochs: 1, batchSize: 256, lr: 0 };

/** Validates (partial) one-class SVM hyperparameters and fills in the defaults (the backbone path made absolute). */
export function ocsvmHParams(h: Record<string, unknown> = {}): OcsvmHParams {
  const p = resolveHParams(OCSVM_SCHEMA, h, 'ocsvm') as unknown as OcsvmHParams;
  parseGamma(p.gamma, 'ocsvm');
  return { ...p, backbone: resolveBackbone(p.backbone) };
}

/** The fitted state. */
interface OcsvmState {
  /** Support vectors [nSV, F] float64. */
  supportVectors: Tensor;
  /** Their dual coefficients a_i [nSV] float64 (libsvm's scale: in (0, 1], summing to nu n). */
  dualCoef: Tensor;
  rho: number;
  gamma: number;
}

/** The one-class SVM as an anogen detector (see the module comment). */
export class Ocsvm extends Detector<OcsvmHParams> implements FeatureExtractor {
  readonly name = 'ocsvm';
  readonly producesMaps = false;
  private readonly src: FeatureSource;
  private state: OcsvmState | null = null;

  /** Builds a one-class SVM from (partial) hyperparameters, validated against {@link OCSVM_SCHEMA}. */
  constructor(hparams: Partial<OcsvmHParams> = {}) {
    super(ocsvmHParams(hparams as Record<string, unknown>));
    this.src = new FeatureSource({ features: this.hparams.features, backbone: this.hparams.backbone, input: this.input, who: 'ocsvm' });
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  get featureName(): string {
    return this.src.featureName;
  }

  /** The fitted gamma, rho and number of support vectors (null before fit). */
  get fitted(): { gamma: number; rho: number; supportVectors: number } | null {
    return this.state === null ? null : { gamma: this.state.gamma, rho: this.state.rho, supportVectors: this.state.supportVectors.shape[0]! };
  }

  /** The features the SVM sees (N x F float32 on the CPU), for plots. */
  features(x: Tensor): Tensor {
    const xs = checkImages(x, this.input, 'ocsvm features');
    const f = this.src.extract(xs);
    try {
      return f.float();
    } finally {
      f.dispose();
    }
  }

  /**
   * Extracts features of at most `maxTrain` training images (seeded by `opts.seed`, default 0),
   * solves the dual, keeps the support vectors; then calibrates on `opts.val` when given.
   * `epochs` and `lr` are ignored (one pass); `batchSize` sets the feature batches (default 256).
   */
  async fit(train: ImageSet | BatchSource, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    const h = this.hparams;
    const f = await collectFeatures(train, this.src, this.input, this.name, {
      maxTrain: h.maxTrain,
      seed: opts.seed ?? 0,
      batchSize: opts.batchSize ?? OCSVM_TRAIN_DEFAULTS.batchSize,
      onProgress: opts.onProgress,
    });
    let next: OcsvmState;
    let iterations: number;
    let objective: number;
    const nTrain = f.x.shape[0]!;
    try {
      const n = nTrain;
      const gamma = resolveGamma(h.gamma, f.x, 'ocsvm');
      const { q, qd } = kernelMatrix(f.x, gamma);
      const sol = solveOneClass(q, qd, n, h.nu, { tol: h.tol });
      iterations = sol.iterations;
      objective = sol.objective;
      const idx: number[] = [];
      const coef: number[] = [];
      sol.alpha.forEach((a, i) => {
        if (a > 0) {
          idx.push(i);
          coef.push(a);
        }
      });
      next = noGrad(() => {
        const it = tensor(idx, { dtype: 'int64' });
        try {
          return { supportVectors: f.x.indexSelect(0, it), dualCoef: tensor(Float64Array.from(coef)), rho: sol.rho, gamma };
        } finally {
          it.dispose();
        }
      });
    } finally {
      f.x.dispose();
    }
    this.disposeState();
    this.state = next;
    if (opts.val !== undefined) this.calibrate(opts.val, opts.calibration);
    const seconds = (performance.now() - t0) / 1000;
    return {
      history: [{ objective, rho: next.rho, supportVectors: next.supportVectors.shape[0]!, iterations, ms: seconds * 1000 }],
      epochs: 1,
      steps: f.batches,
      seconds,
      imagesPerSecond: nTrain / Math.max(seconds, 1e-9),
      interrupted: false,
    };
  }

  /** A(x) = rho - sum_i a_i K(sv_i, x) (= -decision_function of scikit-learn), per image. */
  score(x: Tensor, opts: ScoreOptions = {}): ScoreResult {
    const st = this.requireState();
    const bs = opts.batchSize ?? 256;
    if (!Number.isInteger(bs) || bs < 1) throw new AnogenError(`ocsvm score: batchSize must be a positive integer, got ${bs}`);
    const xs = checkImages(x, this.input, 'ocsvm score', { resize: opts.resize });
    const n = xs.shape[0]!;
    const scores = new Float32Array(n);
    try {
      for (let i = 0; i < n; i += bs) {
        const fb = this.src.extract(xs.narrow(0, i, Math.min(bs, n - i)));
        try {
          const s = noGrad(() => tidy(() => rbfKernel(fb, st.supportVectors, st.gamma).matmul(st.dualCoef).neg().add(st.rho).toFloat64Array()));
          scores.set(s, i);
        } finally {
          fb.dispose();
        }
      }
    } finally {
      if (xs !== x) xs.dispose();
    }
    return { scores };
  }

  /**
   * `support_vectors` [nSV, F], `dual_coef` [nSV], `rho` [1], `gamma` [1] (float64), plus the
   * backbone's weights under `backbone.` with features 'bundle'. The caller disposes them.
   */
  stateDict(): Map<string, Tensor> {
    const st = this.requireState();
    const sd = new Map<string, Tensor>([
      ['support_vectors', st.supportVectors.detach()],
      ['dual_coef', st.dualCoef.detach()],
      ['rho', tensor(Float64Array.of(st.rho))],
      ['gamma', tensor(Float64Array.of(st.gamma))],
    ]);
    for (const [k, v] of this.src.stateDict()) sd.set(k, v);
    return sd;
  }

  /** Loads a fitted state (strict: the four tensors, float64, consistent shapes; the backbone's weights with 'bundle'). */
  loadStateDict(sd: Map<string, Tensor>): void {
    const want = ['support_vectors', 'dual_coef', 'rho', 'gamma'];
    const extra = [...sd.keys()].filter((k) => !want.includes(k) && !(this.src.kind === 'bundle' && k.startsWith('backbone.')));
    const missing = want.filter((k) => !sd.has(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new AnogenError(
        `ocsvm state: ${missing.length} missing (${missing.join(', ')}), ${extra.length} unexpected (${extra.slice(0, 3).join(', ')}); expected ${want.join(', ')}`,
      );
    }
    const sv = sd.get('support_vectors')!;
    const coef = sd.get('dual_coef')!;
    const bad = [...want].find((k) => sd.get(k)!.dtype !== 'float64');
    if (bad !== undefined) throw new AnogenError(`ocsvm state: ${bad} must be float64, got ${sd.get(bad)!.dtype}`);
    if (sv.ndim !== 2 || coef.ndim !== 1 || coef.shape[0] !== sv.shape[0] || sd.get('rho')!.numel !== 1 || sd.get('gamma')!.numel !== 1) {
      throw new AnogenError(`ocsvm state: expected support_vectors [n, F], dual_coef [n], rho [1], gamma [1]; got [${sv.shape.join(', ')}] and [${coef.shape.join(', ')}]`);
    }
    this.src.loadStateDict(sd);
    const next = { supportVectors: sv.detach().clone(), dualCoef: coef.detach().clone(), rho: sd.get('rho')!.item(), gamma: sd.get('gamma')!.item() };
    this.disposeState();
    this.state = next;
  }

  dispose(): void {
    this.disposeState();
    this.src.dispose();
  }

  private disposeState(): void {
    if (this.state === null) return;
    this.state.supportVectors.dispose();
    this.state.dualCoef.dispose();
    this.state = null;
  }

  private requireState(): OcsvmState {
    if (this.state === null) throw new AnogenError('this ocsvm detector is not fitted: call fit(train) first, or load a bundle');
    return this.state;
  }
}

registerDetector({
  name: 'ocsvm',
  description: "one-class SVM (Schölkopf et al., 2001), RBF kernel on pixels or a bundle's features; score = -decision function",
  schema: OCSVM_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, maxTrain: 64 },
  trainDefaults: OCSVM_TRAIN_DEFAULTS,
  lossDocs: {
    objective: 'the dual objective 1/2 a^T K a at the solution',
    rho: 'the offset rho of the decision function',
    supportVectors: 'number of support vectors (a_i > 0)',
    iterations: 'SMO iterations',
  },
  create: (h) => new Ocsvm(h as Partial<OcsvmHParams>),
});
