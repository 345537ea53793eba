/**
 * The one-class SVM detector (Schölkopf et al., 2001) on features (flattened pixels, the
 * features of an anogen bundle such as GANomaly's discriminator, or a torchvision ResNet's): A(x) = -f(x) =
 * rho - sum_i a_i K(sv_i, x) with an RBF kernel, so that higher = more anomalous. Fitted in one
 * pass (no training loop): features (with features 'backbone', the chosen ResNet stages' pooled
 * outputs concatenated) are extracted batch by batch from a seeded subsample of at
 * most `maxTrain` images, the n x n kernel matrix is built on the engine and the dual is solved
 * with libsvm's SMO (./solver.ts); matches scikit-learn's OneClassSVM.decision_function.
 */
import { AnogenError, noGrad, tensor, type Tensor } from '../../core/index.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { FEATURE_SOURCES, resolveBackbone, type FeatureSourceName } from '../features/extractor.js';
import { FeatureDetector, type FittedFeatures } from '../features/detector.js';
import { BACKBONE_SCHEMA, checkBackboneHParams, type BackboneHParams } from '../features/backbone.js';
import { CLASSIFIER_SCHEMA, checkClassifierHParams, resolveClassifier, type ClassifierHParams } from '../features/classifier.js';
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
  features: {
    type: 'enum',
    default: 'pixels',
    values: FEATURE_SOURCES,
    doc: "feature source: 'pixels' (flattened), 'bundle' (a bundle's detector features, see backbone), 'backbone' (a torchvision ResNet, see backbone-weights) or 'classifier' (a small MNIST / Fashion-MNIST classifier's layers, see classifier)",
  },
  backbone: { type: 'file', default: null, doc: "with --features bundle: the config.json of an anogen bundle whose detector has features (e.g. ganomaly's discriminator)" },
  ...BACKBONE_SCHEMA,
  ...CLASSIFIER_SCHEMA,
} satisfies HParamSchema;

/** One-class SVM hyperparameters. */
export interface OcsvmHParams extends BackboneHParams, ClassifierHParams {
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
  checkBackboneHParams(p, 'ocsvm');
  checkClassifierHParams(p, 'ocsvm');
  return { ...p, backbone: resolveBackbone(p.backbone), classifier: resolveClassifier(p.classifier) };
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
export class Ocsvm extends FeatureDetector<OcsvmHParams, OcsvmState> {
  readonly name = 'ocsvm';
  protected readonly stateKeys = ['support_vectors', 'dual_coef', 'rho', 'gamma'] as const;

  /** Builds a one-class SVM from (partial) hyperparameters, validated against {@link OCSVM_SCHEMA}. */
  constructor(hparams: Partial<OcsvmHParams> = {}) {
    super(ocsvmHParams(hparams as Record<string, unknown>), 'ocsvm', OCSVM_TRAIN_DEFAULTS.batchSize);
  }

  /** The fitted gamma, rho and number of support vectors (null before fit). */
  get fitted(): { gamma: number; rho: number; supportVectors: number } | null {
    return this.state === null ? null : { gamma: this.state.gamma, rho: this.state.rho, supportVectors: this.state.supportVectors.shape[0]! };
  }

  /** Solves the one-class dual on the training features and keeps the support vectors. */
  protected fitFeatures(x: Tensor): FittedFeatures<OcsvmState> {
    const h = this.hparams;
    const n = x.shape[0]!;
    const gamma = resolveGamma(h.gamma, x, 'ocsvm');
    const { q, qd } = kernelMatrix(x, gamma);
    const sol = solveOneClass(q, qd, n, h.nu, { tol: h.tol });
    const idx: number[] = [];
    const coef: number[] = [];
    sol.alpha.forEach((a, i) => {
      if (a > 0) {
        idx.push(i);
        coef.push(a);
      }
    });
    const state = noGrad(() => {
      const it = tensor(idx, { dtype: 'int64' });
      try {
        return { supportVectors: x.indexSelect(0, it), dualCoef: tensor(Float64Array.from(coef)), rho: sol.rho, gamma };
      } finally {
        it.dispose();
      }
    });
    return { state, history: { objective: sol.objective, rho: sol.rho, supportVectors: idx.length, iterations: sol.iterations } };
  }

  /** A(x) = rho - sum_i a_i K(sv_i, x) (= -decision_function of scikit-learn), per image. */
  protected scoreFeatures(f: Tensor, st: OcsvmState): Float64Array {
    return rbfKernel(f, st.supportVectors, st.gamma).matmul(st.dualCoef).neg().add(st.rho).toFloat64Array();
  }

  /** `support_vectors` [nSV, F], `dual_coef` [nSV], `rho` [1], `gamma` [1] (float64). */
  protected stateTensors(st: OcsvmState): [string, Tensor][] {
    return [
      ['support_vectors', st.supportVectors.detach()],
      ['dual_coef', st.dualCoef.detach()],
      ['rho', tensor(Float64Array.of(st.rho))],
      ['gamma', tensor(Float64Array.of(st.gamma))],
    ];
  }

  protected stateFromTensors(sd: Map<string, Tensor>): OcsvmState {
    const sv = sd.get('support_vectors')!;
    const coef = sd.get('dual_coef')!;
    if (sv.ndim !== 2 || coef.ndim !== 1 || coef.shape[0] !== sv.shape[0] || sd.get('rho')!.numel !== 1 || sd.get('gamma')!.numel !== 1) {
      throw new AnogenError(`ocsvm state: expected support_vectors [n, F], dual_coef [n], rho [1], gamma [1]; got [${sv.shape.join(', ')}] and [${coef.shape.join(', ')}]`);
    }
    return { supportVectors: sv.detach().clone(), dualCoef: coef.detach().clone(), rho: sd.get('rho')!.item(), gamma: sd.get('gamma')!.item() };
  }

  protected ownedTensors(st: OcsvmState): Tensor[] {
    return [st.supportVectors, st.dualCoef];
  }
}

registerDetector({
  name: 'ocsvm',
  description: "one-class SVM (Schölkopf et al., 2001), RBF kernel on pixels, a bundle's features or a ResNet's; score = -decision function",
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
