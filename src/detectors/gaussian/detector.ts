/**
 * The Gaussian detector of Rippel, Mertens & Merhof (2020), "Modeling the distribution of normal
 * data in pre-trained deep features for anomaly detection": a multivariate Gaussian fitted to
 * the features of normal images (mean, Ledoit-Wolf shrunk covariance, as
 * sklearn.covariance.LedoitWolf); A(x) = the SQUARED Mahalanobis distance
 * (f(x) - mean)^T Sigma^-1 (f(x) - mean) (the paper's score before the square root; the order,
 * and so every AUROC, is the same). Fitted in one pass, no training loop.
 *
 * With features 'backbone' and several ResNet stages (--backbone-layers layer2,layer3), one
 * Gaussian is fitted per stage, as the paper fits one per level, and A(x) = the SUM over stages
 * of the (unsquared) Mahalanobis distances, as the authors' code (ORippler/gaussian-ad-mvtec),
 * which averages the per-level distances (same order). The bundle stores the per-stage
 * precisions as one block-diagonal matrix and one shrinkage per stage.
 *
 * With features 'patches' (./patches.ts): one Gaussian per patch POSITION on the pixels, as
 * PaDiM (Defard et al., 2020) does on feature maps; A(x) = the max over positions of the squared
 * Mahalanobis distance of the patch there, and score() returns anomaly maps (each position's
 * distance spread over its pixels). State: mean [P, D], precision [P, D, D], shrinkage [P].
 *
 * With --components K > 1 (./mixture.ts): a mixture of K Gaussians fitted without labels
 * (seeded k-means++ and Lloyd, then one mean and Ledoit-Wolf precision per cluster); A(x) = the
 * hard-assignment negative log-likelihood min_k [d_k(x)² + log det Σ_k − 2 log π_k]. State: mean
 * [K, F], precision [K, F, F], shrinkage [K, G], weight [K], logdet [K]. K = 1 (the default) is
 * the single Gaussian above, unchanged. Not with features 'patches'.
 */
import { AnogenError, cat, noGrad, tensor, tidy, zeros, type Tensor } from '../../core/index.js';
import type { FitOptions, FitReport, ImageSet } from '../api.js';
import type { BatchSource } from '../../train/source.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { FEATURE_SOURCES, resolveBackbone, type FeatureSourceName } from '../features/extractor.js';
import { FeatureDetector, type FittedFeatures } from '../features/detector.js';
import { BACKBONE_SCHEMA, checkBackboneHParams, type BackboneHParams } from '../features/backbone.js';
import { CLASSIFIER_SCHEMA, checkClassifierHParams, resolveClassifier, type ClassifierHParams } from '../features/classifier.js';
import { ledoitWolf, mahalanobis } from './ledoit-wolf.js';
import { patchGridSchema } from '../features/patch-grid.js';
import { fitPatchGaussians, patchDistances, patchGeometry, patchMaps, type PatchGeometry } from './patches.js';
import { fitMixture, mixtureScores } from './mixture.js';

/** The gaussian's feature modes: the shared feature sources, plus 'patches' (one Gaussian per patch position, on the pixels). */
export const GAUSSIAN_FEATURES = [...FEATURE_SOURCES, 'patches'] as const;
/** One gaussian feature mode. */
export type GaussianFeatures = FeatureSourceName | 'patches';

/** The Gaussian detector's hyperparameters. */
export const GAUSSIAN_SCHEMA = {
  isize: { type: 'int', default: 32, min: 2, max: 1024, doc: 'input image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  maxTrain: { type: 'int', default: 0, min: 0, max: 1_000_000, doc: 'fit on at most this many training images, a seeded subsample (0 = all)' },
  features: {
    type: 'enum',
    default: 'pixels',
    values: GAUSSIAN_FEATURES,
    doc: "feature source: 'pixels' (flattened), 'bundle' (a bundle's detector features, see backbone), 'backbone' (a torchvision ResNet, see backbone-weights), 'classifier' (a small MNIST / Fashion-MNIST classifier's layers, see classifier) or 'patches' (one Gaussian per patch position on the pixels, PaDiM-style; score = worst patch, with anomaly maps)",
  },
  ...patchGridSchema('with --features patches'),
  components: {
    type: 'int',
    default: 1,
    min: 1,
    max: 64,
    doc: 'Gaussians in a mixture fitted without labels (seeded k-means++, one Ledoit-Wolf Gaussian per cluster; score = min_k of d_k^2 + log det Sigma_k - 2 log pi_k); 1 = the single Gaussian (squared Mahalanobis distance); not with features patches',
  },
  backbone: { type: 'file', default: null, doc: "with --features bundle: the config.json of an anogen bundle whose detector has features (e.g. ganomaly's discriminator)" },
  ...BACKBONE_SCHEMA,
  ...CLASSIFIER_SCHEMA,
} satisfies HParamSchema;

/** Gaussian detector hyperparameters. */
export interface GaussianHParams extends BackboneHParams, ClassifierHParams {
  isize: number;
  nc: number;
  maxTrain: number;
  features: GaussianFeatures;
  backbone: string | null;
  /** With features 'patches': patch side in pixels (default 8). */
  patchSize: number;
  /** With features 'patches': step between patch origins in pixels (default 4). */
  patchStride: number;
  /** Gaussians in the mixture (default 1: the single Gaussian; see ./mixture.ts). */
  components: number;
}

/** Every default. */
export const GAUSSIAN_DEFAULTS = schemaDefaults(GAUSSIAN_SCHEMA) as unknown as GaussianHParams;

/** Training options: one pass (epochs are ignored), feature batches of 256; no learning rate. */
export const GAUSSIAN_TRAIN_DEFAULTS = { epochs: 1, batchSize: 256, lr: 0 };

/** Validates (partial) Gaussian detector hyperparameters and fills in the defaults (the backbone path made absolute). */
export function gaussianHParams(h: Record<string, unknown> = {}): GaussianHParams {
  const p = resolveHParams(GAUSSIAN_SCHEMA, h, 'gaussian') as unknown as GaussianHParams;
  checkBackboneHParams(p, 'gaussian');
  checkClassifierHParams(p, 'gaussian');
  if (p.features === 'patches') {
    if (p.backbone !== null)
      throw new AnogenError(`gaussian backbone: only used with features 'bundle' (features is 'patches', which cuts patches from the pixels); drop --backbone`);
    patchGeometry(p.isize, p.nc, p.patchSize, p.patchStride);
    if (p.components !== 1) {
      throw new AnogenError(
        `gaussian components: ${p.components} is not supported with features 'patches' (one Gaussian per patch position; a mixture per position is not implemented); pass components 1, or features pixels, classifier, bundle or backbone`,
      );
    }
  }
  return { ...p, backbone: resolveBackbone(p.backbone), classifier: resolveClassifier(p.classifier) };
}

interface GaussianState {
  /** [F] float64 (the stages' means, concatenated). */
  mean: Tensor;
  /** One precision [F_g, F_g] float64 per feature group (one group except for multi-stage backbone features). */
  precisions: Tensor[];
  /** The groups' widths F_g (summing to F). */
  groups: number[];
  /** One Ledoit-Wolf shrinkage per group (per position with features 'patches'). */
  shrinkage: number[];
  /** With features 'patches': the positions' means [P, D] are `mean` and their precisions [P, D, D] `precisions[0]`. */
  patches: boolean;
  /**
   * With components > 1 (./mixture.ts): the K' fitted components' weights π_k and log det Σ_k;
   * `mean` is then [K', F], each of `precisions` [K', F_g, F_g] and `shrinkage` K'·G values
   * (component-major). Null for the single Gaussian.
   */
  mixture: { weight: Float64Array; logdet: Float64Array } | null;
}

/**
 * The per-group precisions [...lead, F_g, F_g] as one block-diagonal matrix [...lead, F, F] (the
 * bundle's `precision`); a single group is returned as it is (detached).
 */
function blockDiagonal(blocks: Tensor[], groups: number[], lead: number[]): Tensor {
  if (blocks.length === 1) return blocks[0]!.detach();
  const f = groups.reduce((a, b) => a + b, 0);
  const d = lead.length;
  return noGrad(() => {
    const p = zeros([...lead, f, f], { dtype: 'float64' });
    let at = 0;
    blocks.forEach((b, g) => {
      const w = groups[g]!;
      tidy(() => {
        p.narrow(d, at, w)
          .narrow(d + 1, at, w)
          .copy_(b);
      });
      at += w;
    });
    return p;
  });
}

/** The diagonal blocks (copies) of a block-diagonal precision [..., F, F], one per group width: {@link blockDiagonal}'s inverse. */
function diagonalBlocks(prec: Tensor, groups: number[]): Tensor[] {
  const d = prec.ndim - 2;
  const blocks: Tensor[] = [];
  let at = 0;
  for (const w of groups) {
    blocks.push(
      noGrad(() =>
        prec
          .narrow(d, at, w)
          .narrow(d + 1, at, w)
          .clone(),
      ),
    );
    at += w;
  }
  return blocks;
}

/** The Gaussian (Mahalanobis) detector (see the module comment). */
export class Gaussian extends FeatureDetector<GaussianHParams, GaussianState> {
  readonly name = 'gaussian';
  protected readonly stateKeys: readonly string[];
  /** The seed of the last fit (k-means++ draws with components > 1). */
  private fitSeed = 0;
  /** True with features 'patches' (the per-position distances as maps). */
  override readonly producesMaps: boolean = false;
  /** The patch layout with features 'patches', else null. */
  readonly patchGeometry: PatchGeometry | null = null;

  /** Builds the detector from (partial) hyperparameters, validated against {@link GAUSSIAN_SCHEMA}. */
  constructor(hparams: Partial<GaussianHParams> = {}) {
    const h = gaussianHParams(hparams as Record<string, unknown>);
    super(h, 'gaussian', GAUSSIAN_TRAIN_DEFAULTS.batchSize, h.features === 'patches' ? 'pixels' : h.features);
    this.stateKeys = h.components > 1 ? ['mean', 'precision', 'shrinkage', 'weight', 'logdet'] : ['mean', 'precision', 'shrinkage'];
    if (h.features === 'patches') {
      this.patchGeometry = patchGeometry(h.isize, h.nc, h.patchSize, h.patchStride);
      this.producesMaps = true;
    }
  }

  /** The fitted Ledoit-Wolf shrinkage, the mean over the per-stage Gaussians when there are several (null before fit). */
  get shrinkage(): number | null {
    const s = this.state?.shrinkage;
    return s === undefined ? null : s.reduce((a, b) => a + b, 0) / s.length;
  }

  /** The fitted shrinkage of each Gaussian (one per backbone stage; null before fit). */
  get shrinkages(): number[] | null {
    return this.state === null ? null : [...this.state.shrinkage];
  }

  /** The feature groups: one per backbone stage with several stages, else the whole feature vector. */
  private groupsFor(f: number): number[] {
    const g = this.src.groups;
    return g === null || g.length <= 1 ? [f] : g;
  }

  /** As the feature detectors' fit; `opts.seed` (default 0) also seeds the k-means++ draws with components > 1. */
  override async fit(train: ImageSet | BatchSource, opts: FitOptions = {}): Promise<FitReport> {
    this.fitSeed = opts.seed ?? 0;
    return super.fit(train, opts);
  }

  /** Mean and Ledoit-Wolf covariance of the training features, per group; the precisions kept for scoring (per cluster with components > 1). */
  protected fitFeatures(x: Tensor): FittedFeatures<GaussianState> {
    if (this.hparams.components > 1) {
      const groups = this.groupsFor(x.shape[1]!);
      const m = fitMixture(x, this.hparams.components, groups, { seed: this.fitSeed, who: 'gaussian' });
      const state = { mean: m.mean, precisions: m.precisions, groups, shrinkage: m.shrinkage, patches: false, mixture: { weight: m.weight, logdet: m.logdet } };
      const history = { shrinkage: m.shrinkage.reduce((a, b) => a + b, 0) / m.shrinkage.length, components: m.weight.length, kmeansIterations: m.iterations };
      return { state, history };
    }
    const g = this.patchGeometry;
    if (g !== null) {
      const fit = fitPatchGaussians(x, g);
      const shrinkage = Array.from(fit.shrinkage);
      const state = { mean: fit.mean, precisions: [fit.precision], groups: [g.dim], shrinkage, patches: true, mixture: null };
      return { state, history: { shrinkage: shrinkage.reduce((a, b) => a + b, 0) / shrinkage.length } };
    }
    const groups = this.groupsFor(x.shape[1]!);
    const means: Tensor[] = [];
    const precisions: Tensor[] = [];
    const shrinkage: number[] = [];
    try {
      let at = 0;
      for (const w of groups) {
        const xg = noGrad(() => x.narrow(1, at, w).contiguous());
        const lw = ledoitWolf(xg);
        xg.dispose();
        lw.covariance.dispose();
        means.push(lw.mean);
        precisions.push(lw.precision);
        shrinkage.push(lw.shrinkage);
        at += w;
      }
      const mean = means.length === 1 ? means[0]! : noGrad(() => cat(means, 0));
      if (means.length > 1) for (const m of means) m.dispose();
      means.length = 0;
      const state = { mean, precisions, groups, shrinkage, patches: false, mixture: null };
      return { state, history: { shrinkage: shrinkage.reduce((a, b) => a + b, 0) / shrinkage.length } };
    } catch (e) {
      for (const t of [...means, ...precisions]) t.dispose();
      throw e;
    }
  }

  /**
   * One group: A(x) = (f(x) - mean)^T precision (f(x) - mean), the squared Mahalanobis distance.
   * Several groups: A(x) = sum over groups of the Mahalanobis distance (square root of each).
   */
  protected scoreFeatures(f: Tensor, st: GaussianState): Float64Array {
    if (st.mixture !== null) return mixtureScores(f, { mean: st.mean, precisions: st.precisions, groups: st.groups, ...st.mixture });
    if (st.patches) return patchDistances(f, this.patchGeometry!, { mean: st.mean, precision: st.precisions[0]! }).amax(1).toFloat64Array();
    if (st.precisions.length === 1) return mahalanobis(f, st.mean, st.precisions[0]!).toFloat64Array();
    let at = 0;
    let total: Tensor | null = null;
    for (let g = 0; g < st.groups.length; g++) {
      const w = st.groups[g]!;
      const d = mahalanobis(f.narrow(1, at, w), st.mean.narrow(0, at, w), st.precisions[g]!)
        .clamp(0)
        .sqrt();
      total = total === null ? d : total.add(d);
      at += w;
    }
    return total!.toFloat64Array();
  }

  /** With features 'patches': the worst patch's distance and the anomaly maps [n, 1, S, S] of one patchDistances (./patches.ts). */
  protected override scoreFeaturesWithMaps(f: Tensor, st: GaussianState): { scores: Float64Array; maps: Tensor } {
    const d = patchDistances(f, this.patchGeometry!, { mean: st.mean, precision: st.precisions[0]! });
    return { scores: d.amax(1).toFloat64Array(), maps: patchMaps(d, this.patchGeometry!) };
  }

  /**
   * `mean` [F], `precision` [F, F] (block-diagonal with several groups), `shrinkage` [groups] (float64); with 'patches' [P, D], [P, D, D], [P];
   * with components > 1: `mean` [K, F], `precision` [K, F, F] (each block-diagonal), `shrinkage` [K, groups], `weight` [K], `logdet` [K].
   */
  protected stateTensors(st: GaussianState): [string, Tensor][] {
    if (st.mixture !== null) {
      const k = st.mean.shape[0]!;
      return [
        ['mean', st.mean.detach()],
        ['precision', blockDiagonal(st.precisions, st.groups, [k])],
        ['shrinkage', tensor(Float64Array.from(st.shrinkage), { shape: [k, st.groups.length] })],
        ['weight', tensor(Float64Array.from(st.mixture.weight))],
        ['logdet', tensor(Float64Array.from(st.mixture.logdet))],
      ];
    }
    return [
      ['mean', st.mean.detach()],
      ['precision', blockDiagonal(st.precisions, st.groups, [])],
      ['shrinkage', tensor(Float64Array.from(st.shrinkage))],
    ];
  }

  protected stateFromTensors(sd: Map<string, Tensor>): GaussianState {
    const mean = sd.get('mean')!;
    const prec = sd.get('precision')!;
    const shr = sd.get('shrinkage')!;
    const g = this.patchGeometry;
    if (g !== null) {
      const [p, d] = [g.positions, g.dim];
      if (
        mean.ndim !== 2 ||
        mean.shape[0] !== p ||
        mean.shape[1] !== d ||
        prec.ndim !== 3 ||
        prec.shape[0] !== p ||
        prec.shape[1] !== d ||
        prec.shape[2] !== d ||
        shr.numel !== p
      ) {
        throw new AnogenError(
          `gaussian state (features 'patches', ${p} positions of ${d} values): expected mean [${p}, ${d}], precision [${p}, ${d}, ${d}], shrinkage [${p}]; ` +
            `got [${mean.shape.join(', ')}], [${prec.shape.join(', ')}] and [${shr.shape.join(', ')}]`,
        );
      }
      return { mean: mean.detach().clone(), precisions: [prec.detach().clone()], groups: [d], shrinkage: Array.from(shr.toFloat64Array()), patches: true, mixture: null };
    }
    if (this.hparams.components > 1) return this.mixtureFromTensors(sd);
    const f = mean.shape[0]!;
    const groups = this.groupsFor(f);
    if (mean.ndim !== 1 || prec.ndim !== 2 || prec.shape[0] !== f || prec.shape[1] !== f || shr.numel !== groups.length || groups.reduce((a, b) => a + b, 0) !== f) {
      throw new AnogenError(
        `gaussian state: expected mean [F], precision [F, F], shrinkage [${groups.length}] (one per feature group${groups.length > 1 ? `: ${groups.join(' + ')} features` : ''}); ` +
          `got [${mean.shape.join(', ')}], [${prec.shape.join(', ')}] and [${shr.shape.join(', ')}]`,
      );
    }
    return { mean: mean.detach().clone(), precisions: diagonalBlocks(prec, groups), groups, shrinkage: Array.from(shr.toFloat64Array()), patches: false, mixture: null };
  }

  /** The mixture state (components > 1): shapes checked against K' <= components and the feature groups. */
  private mixtureFromTensors(sd: Map<string, Tensor>): GaussianState {
    const [mean, prec, shr, wt, ld] = ['mean', 'precision', 'shrinkage', 'weight', 'logdet'].map((k) => sd.get(k)!) as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const k = mean.shape[0] ?? 0;
    const f = mean.shape[1] ?? 0;
    const groups = this.groupsFor(f);
    const kmax = this.hparams.components;
    if (
      mean.ndim !== 2 ||
      k < 1 ||
      k > kmax ||
      prec.ndim !== 3 ||
      prec.shape[0] !== k ||
      prec.shape[1] !== f ||
      prec.shape[2] !== f ||
      shr.numel !== k * groups.length ||
      wt.numel !== k ||
      ld.numel !== k ||
      groups.reduce((a, b) => a + b, 0) !== f
    ) {
      throw new AnogenError(
        `gaussian state (components ${kmax}): expected mean [K, F] with 1 <= K <= ${kmax}, precision [K, F, F], shrinkage [K, ${groups.length}], weight [K], logdet [K]; ` +
          `got [${mean.shape.join(', ')}], [${prec.shape.join(', ')}], [${shr.shape.join(', ')}], [${wt.shape.join(', ')}] and [${ld.shape.join(', ')}]`,
      );
    }
    const weight = wt.toFloat64Array();
    if (weight.some((v) => !(v > 0))) throw new AnogenError(`gaussian state: every mixture weight must be > 0, got [${Array.from(weight).join(', ')}]`);
    return {
      mean: mean.detach().clone(),
      precisions: diagonalBlocks(prec, groups),
      groups,
      shrinkage: Array.from(shr.toFloat64Array()),
      patches: false,
      mixture: { weight, logdet: ld.toFloat64Array() },
    };
  }

  protected ownedTensors(st: GaussianState): Tensor[] {
    return [st.mean, ...st.precisions];
  }
}

registerDetector({
  name: 'gaussian',
  description:
    "Gaussian on features (Rippel et al., 2020): Ledoit-Wolf covariance, score = squared Mahalanobis distance (summed distances over ResNet stages); features 'patches': one Gaussian per patch position (PaDiM-style), worst patch, anomaly maps; --components K: a mixture of K Gaussians fitted without labels (k-means), score = min_k d_k^2 + log det Sigma_k - 2 log pi_k",
  schema: GAUSSIAN_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16 },
  trainDefaults: GAUSSIAN_TRAIN_DEFAULTS,
  lossDocs: {
    shrinkage: 'the Ledoit-Wolf shrinkage coefficient (the mean over the Gaussians when there are several)',
    components: 'with components > 1: the Gaussians fitted (fewer than asked when k-means clusters of < 2 members were merged)',
    kmeansIterations: 'with components > 1: the Lloyd iterations run',
  },
  create: (h) => new Gaussian(h as Partial<GaussianHParams>),
});
