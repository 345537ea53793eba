/**
 * Sample-quality measures of generative models, in float64 on plain arrays (the tensor engine
 * is not needed; feature sizes are small, <= 128):
 *
 * - {@link frechetDistance}: FD = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)
 *   between two feature sets (FID's formula, Heusel et al. 2017, on any features), with the
 *   matrix square roots from a symmetric (cyclic Jacobi) eigensolver, {@link symmetricEigen};
 * - {@link classifierScore}: the Inception-style score exp(E_x KL(p(y|x) || p(y))) (Salimans et
 *   al. 2016) of a classifier's class probabilities, where p(y) is their mean;
 * - {@link modeCoverage}: the predicted-class histogram (argmax of p(y|x)), the classes predicted
 *   at least once, and KL(histogram || uniform).
 *
 * Features and probabilities are row-major [n, d] arrays. Covariances are unbiased (n - 1, as
 * numpy.cov). Checked against NumPy/SciPy (scipy.linalg.sqrtm) by test/eval/quality.test.ts on
 * the fixture of scripts/make_quality_fixture.py.
 */
import { AnogenError } from '../core/errors.js';

/** Mean and covariance of a feature set. */
export interface FeatureStats {
  /** Feature size d. */
  dim: number;
  /** Samples the statistics come from. */
  n: number;
  /** Mean [d]. */
  mean: Float64Array;
  /** Covariance [d, d] row-major, unbiased (divided by n - 1). */
  cov: Float64Array;
}

/** Eigen-decomposition of a symmetric matrix. */
export interface SymmetricEigen {
  /** Eigenvalues [d], ascending. */
  values: Float64Array;
  /** Eigenvectors [d, d] row-major: column j is the eigenvector of values[j]. */
  vectors: Float64Array;
}

function checkMatrix(a: ArrayLike<number>, n: number, who: string): void {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) throw new AnogenError(`${who}: expected a ${n} x ${n} matrix (${n * n} values), got ${a.length} values`);
}

/**
 * Eigenvalues and eigenvectors of the symmetric n x n matrix `a` (row-major; only its symmetric
 * part is used) by the cyclic Jacobi method: rotations zero each off-diagonal entry in turn until
 * the off-diagonal mass is below 1e-15 of the matrix's (at most `maxSweeps` sweeps, default 100).
 * Accurate to working precision for every eigenvalue, small ones included.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number, maxSweeps = 100): SymmetricEigen {
  checkMatrix(a, n, 'symmetricEigen');
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = 0.5 * (a[i * n + j]! + a[j * n + i]!);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += A[i]! * A[i]!;
  if (!Number.isFinite(total)) throw new AnogenError('symmetricEigen: the matrix has a non-finite entry');
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q]! * A[p * n + q]!;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (apq === 0) continue;
        const app = A[p * n + p]!;
        const aqq = A[q * n + q]!;
        // Rotation angle: t = tan(theta) of the smaller root of t^2 + 2 tau t - 1 = 0.
        const tau = (aqq - app) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // A <- A J (columns p, q)
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          // A <- J^T A (rows p, q)
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        A[p * n + q] = 0;
        A[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[i * n + i]! - A[j * n + j]!);
  const values = Float64Array.from(order, (i) => A[i * n + i]!);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) vectors[r * n + c] = V[r * n + order[c]!]!;
  return { values, vectors };
}

/**
 * The square root of the symmetric positive semi-definite n x n matrix `a`: V diag(sqrt(max(l, 0)))
 * V^T from {@link symmetricEigen} (negative eigenvalues, rounding noise of a semi-definite
 * matrix, count as 0).
 */
export function sqrtmPsd(a: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors: V } = symmetricEigen(a, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k]!, 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = V[i * n + k]! * s;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * V[j * n + k]!;
    }
  }
  return out;
}

/** Row-major product of n x n matrices. */
function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j]!;
    }
  }
  return out;
}

/** Mean and unbiased covariance of `n` feature vectors of size `dim` (row-major `features`, n >= 2). */
export function featureStats(features: ArrayLike<number>, n: number, dim: number): FeatureStats {
  if (!Number.isInteger(dim) || dim < 1 || !Number.isInteger(n) || features.length !== n * dim) {
    throw new AnogenError(`featureStats: expected ${n} x ${dim} features (${n * dim} values), got ${features.length} values`);
  }
  if (n < 2) throw new AnogenError(`featureStats: a covariance needs at least 2 samples, got ${n}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += features[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) row[j] = features[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b] += ra * row[b]!;
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b]! / (n - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  for (const v of mean) if (!Number.isFinite(v)) throw new AnogenError('featureStats: the features hold a non-finite value');
  return { dim, n, mean, cov };
}

/**
 * Fréchet distance between two Gaussians fitted to feature sets:
 * ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2). The last trace is the sum of
 * the square roots of the (clipped non-negative) eigenvalues of S1^1/2 S2 S1^1/2, which equals
 * tr(sqrtm(S1 S2)) of the usual FID code. Never negative (clipped at 0 against rounding).
 */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  if (a.dim !== b.dim) throw new AnogenError(`frechetDistance: feature sizes differ (${a.dim} vs ${b.dim})`);
  const d = a.dim;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (a.mean[j]! - b.mean[j]!) ** 2;
  let tr = 0;
  for (let j = 0; j < d; j++) tr += a.cov[j * d + j]! + b.cov[j * d + j]!;
  const s1h = sqrtmPsd(a.cov, d);
  const m = matmul(matmul(s1h, b.cov, d), s1h, d);
  const { values } = symmetricEigen(m, d);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(v, 0));
  return Math.max(0, meanTerm + tr - 2 * trSqrt);
}

function checkProbs(probs: ArrayLike<number>, n: number, k: number, who: string): void {
  if (!Number.isInteger(k) || k < 1 || !Number.isInteger(n) || n < 1 || probs.length !== n * k) {
    throw new AnogenError(`${who}: expected ${n} x ${k} class probabilities (${n * k} values), got ${probs.length} values`);
  }
}

/**
 * The classifier-based Inception-style score exp(mean_x KL(p(y|x) || p(y))), p(y) the mean of
 * the rows of `probs` ([n, k] row-major, each row a distribution). Ranges from 1 (every sample
 * gets the same prediction) to k (confident predictions spread evenly over the k classes).
 * Terms with p(y|x) = 0 count as 0.
 */
export function classifierScore(probs: ArrayLike<number>, n: number, k: number): number {
  checkProbs(probs, n, k, 'classifierScore');
  const py = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) py[c] += probs[i * k + c]!;
  for (let c = 0; c < k; c++) py[c] /= n;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const p = probs[i * k + c]!;
      if (p > 0) kl += p * (Math.log(p) - Math.log(py[c]!));
    }
  }
  return Math.exp(kl / n);
}

/** The predicted-class histogram of a set of samples. */
export interface ModeCoverage {
  /** Samples per predicted class (argmax of p(y|x); the first maximum on ties) [k]. */
  counts: number[];
  /** Classes predicted for at least one sample. */
  modes: number;
  /** Classes (k). */
  classes: number;
  /** KL(histogram || uniform) = sum_c h_c log(k h_c), in nats (0: every class equally often; log k: one class only). */
  klUniform: number;
}

/** Mode coverage of class probabilities [n, k] (row-major): see {@link ModeCoverage}. */
export function modeCoverage(probs: ArrayLike<number>, n: number, k: number): ModeCoverage {
  checkProbs(probs, n, k, 'modeCoverage');
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    counts[best]!++;
  }
  return { counts, modes: counts.filter((c) => c >= 1).length, classes: k, klUniform: klFromUniform(counts) };
}

/** KL(h || uniform) of a histogram of counts (normalised here): sum_c h_c log(k h_c), 0 log 0 = 0. */
export function klFromUniform(counts: ArrayLike<number>): number {
  const k = counts.length;
  let total = 0;
  for (let c = 0; c < k; c++) total += counts[c]!;
  if (k === 0 || !(total > 0)) throw new AnogenError('klFromUniform: the histogram is empty');
  let kl = 0;
  for (let c = 0; c < k; c++) {
    const h = counts[c]! / total;
    if (h > 0) kl += h * Math.log(k * h);
  }
  return Math.max(0, kl);
}

/** Every measure of one sample set against reference statistics. */
export interface QualityMeasures {
  /** Samples measured. */
  n: number;
  /** Fréchet distance of the samples' features to the reference features. */
  frechetDistance: number;
  /** exp(E KL(p(y|x) || p(y))). */
  classifierScore: number;
  /** Classes predicted at least once. */
  modes: number;
  /** Classes. */
  classes: number;
  /** KL(class histogram || uniform), nats. */
  klUniform: number;
  /** Samples per predicted class. */
  counts: number[];
}

/** Every measure of a sample set (features [n, dim], probabilities [n, k]) against `reference`'s statistics. */
export function qualityMeasures(features: ArrayLike<number>, probs: ArrayLike<number>, n: number, dim: number, k: number, reference: FeatureStats): QualityMeasures {
  const fd = frechetDistance(featureStats(features, n, dim), reference);
  const cov = modeCoverage(probs, n, k);
  return { n, frechetDistance: fd, classifierScore: classifierScore(probs, n, k), modes: cov.modes, classes: k, klUniform: cov.klUniform, counts: cov.counts };
}
