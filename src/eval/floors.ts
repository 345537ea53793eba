/**
 * Classical "floors": simple baselines every deep detector's result is reported beside,
 * computed on the same split (fit on the training normals, score the test images).
 *
 * - PCA reconstruction error ({@link PcaFloor}, {@link pcaScores}): principal components of
 *   the centred training images; score = squared distance between a test image and its
 *   reconstruction from the top components (the energy outside the normal subspace).
 * - kNN distance ({@link knnScores}): Euclidean distance on raw pixels to the k nearest
 *   training normals, averaged (or the k-th one).
 *
 * Images are given as a {@link ImageMatrix}: a Tensor [N, ...] (flattened from dim 1), an
 * array of one Float32Array per image, or `{data, rows, cols}` (row-major [rows, cols]).
 * Pixel scale does not matter to the AUROC as long as train and test use the same one.
 * The linear algebra runs on libtorch tensors (float64 for PCA, float32 for kNN distances).
 */
import { AnogenError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { tidy, keep } from '../core/scope.js';
import { eigh } from '../nn/functional.js';

/** Images as rows of a matrix (see the module doc). */
export type ImageMatrix = Tensor | readonly (Float32Array | Float64Array | number[])[] | { data: Float32Array | Float64Array; rows: number; cols: number };

/** Converts an {@link ImageMatrix} to a new float tensor [N, D] (caller disposes). */
export function toMatrix(x: ImageMatrix, what = 'images', dtype: 'float32' | 'float64' = 'float32'): Tensor {
  if (x instanceof Tensor) {
    if (x.ndim < 2) throw new AnogenError(`${what}: expected a tensor [N, ...] with one image per row, got shape [${x.shape.join(', ')}]`);
    if (x.shape[0] === 0) throw new AnogenError(`${what}: no images (shape [${x.shape.join(', ')}])`);
    return tidy(() => x.reshape([x.shape[0]!, -1]).to(dtype).contiguous().clone());
  }
  if (Array.isArray(x)) {
    const rows = x as readonly ArrayLike<number>[];
    if (rows.length === 0) throw new AnogenError(`${what}: no images given`);
    const d = rows[0]!.length;
    const buf = dtype === 'float64' ? new Float64Array(rows.length * d) : new Float32Array(rows.length * d);
    rows.forEach((r, i) => {
      if (r.length !== d) throw new AnogenError(`${what}[${i}] has ${r.length} values but ${what}[0] has ${d}; every image must have the same size`);
      buf.set(r, i * d);
    });
    return tensor(buf, { shape: [rows.length, d] });
  }
  const m = x as { data: Float32Array | Float64Array; rows: number; cols: number };
  if (m === null || typeof m !== 'object' || !ArrayBuffer.isView(m.data) || !Number.isInteger(m.rows) || !Number.isInteger(m.cols)) {
    throw new AnogenError(`${what}: expected a Tensor [N, D], an array of Float32Array images, or {data, rows, cols}`);
  }
  if (m.rows * m.cols !== m.data.length || m.rows < 1) {
    throw new AnogenError(`${what}: rows x cols = ${m.rows} x ${m.cols} does not match data.length ${m.data.length}`);
  }
  const buf = dtype === 'float64' ? Float64Array.from(m.data) : Float32Array.from(m.data);
  return tensor(buf, { shape: [m.rows, m.cols] });
}

function checkFinite(t: Tensor, what: string): void {
  const ok = tidy(() => t.isfinite().all().item());
  if (!ok) throw new AnogenError(`${what}: contains NaN or infinite values`);
}

/** Options of the PCA floor. */
export interface PcaOptions {
  /**
   * Number of components: an integer >= 1 keeps that many (capped at min(N − 1, D)); a
   * fraction in (0, 1) keeps the fewest components explaining at least that share of the
   * training variance. Default 0.9 (90% of the variance), the conventional choice, fixed
   * without looking at any test split (anogen never selects settings on test data).
   */
  components?: number;
}

/** PCA reconstruction-error detector, fitted on training normals. Call `dispose()` when done. */
export class PcaFloor {
  /** Options as given (`components` default 0.9). */
  readonly components: number;
  private mean: Tensor | null = null;
  private basis: Tensor | null = null; // [D, k] float64, orthonormal columns
  /** Number of components kept (after `fit`). */
  nComponents = 0;
  /** Share of the training variance the kept components explain (after `fit`). */
  explainedVariance = 0;

  constructor(opts: PcaOptions = {}) {
    const c = opts.components ?? 0.9;
    if (typeof c !== 'number' || !Number.isFinite(c) || c <= 0 || (c >= 1 && !Number.isInteger(c))) {
      throw new AnogenError(`PCA components: ${JSON.stringify(opts.components)} is not valid; expected an integer >= 1 or a variance fraction in (0, 1) (default 0.9)`);
    }
    this.components = c;
  }

  /** Fits the mean and the principal components on training images [N, D] (N >= 2). */
  fit(train: ImageMatrix): this {
    this.dispose();
    const x = toMatrix(train, 'PCA train', 'float64');
    try {
      checkFinite(x, 'PCA train');
      const [n, d] = x.shape as [number, number];
      if (n < 2) throw new AnogenError(`PCA train: needs at least 2 images, got ${n}`);
      const r = tidy(() => {
        const mean = x.mean(0, true);
        const xc = x.sub(mean);
        let vals: Tensor;
        let vecs: Tensor; // [D, m] columns = components, eigenvalues ascending
        if (d <= n) {
          const cov = xc
            .t()
            .matmul(xc)
            .div(n - 1);
          const e = eigh(cov);
          vals = e.eigenvalues;
          vecs = e.eigenvectors;
        } else {
          // Gram trick: eigenvectors u of Xc Xc^T give components Xc^T u / sqrt(lambda)
          const g = xc.matmul(xc.t()).div(n - 1);
          const e = eigh(g);
          vals = e.eigenvalues;
          vecs = xc.t().matmul(e.eigenvectors);
        }
        const ev = Array.from(vals.toFloat64Array())
          .reverse()
          .map((v) => Math.max(v, 0)); // descending
        const total = ev.reduce((a, b) => a + b, 0);
        const maxK = Math.min(n - 1, d);
        let k: number;
        if (this.components < 1) {
          k = 0;
          let acc = 0;
          while (k < maxK && (total === 0 || acc / total < this.components)) acc += ev[k++]!;
          k = Math.max(k, 1);
        } else k = Math.min(this.components, maxK);
        const m = vals.shape[0]!;
        let basis = vecs.narrow(1, m - k, k).flip(1);
        if (d > n) basis = basis.div(basis.norm(2, 0, true).clamp(1e-300));
        const explained = total > 0 ? ev.slice(0, k).reduce((a, b) => a + b, 0) / total : 1;
        return { mean: keep(mean), basis: keep(basis.contiguous()), k, explained };
      });
      this.mean = r.mean;
      this.basis = r.basis;
      this.nComponents = r.k;
      this.explainedVariance = r.explained;
    } finally {
      x.dispose();
    }
    return this;
  }

  /** Squared reconstruction error of each test image (higher = more anomalous). */
  score(test: ImageMatrix, opts: { chunkSize?: number } = {}): Float64Array {
    if (this.mean === null || this.basis === null) throw new AnogenError('PcaFloor.score: call fit(train) first');
    const y = toMatrix(test, 'PCA test', 'float64');
    try {
      checkFinite(y, 'PCA test');
      const d = this.mean.shape[1]!;
      if (y.shape[1] !== d) throw new AnogenError(`PCA test: images have ${y.shape[1]} values but the training images had ${d}`);
      const out = new Float64Array(y.shape[0]!);
      const chunk = opts.chunkSize ?? 2048;
      for (let s = 0; s < out.length; s += chunk) {
        const len = Math.min(chunk, out.length - s);
        const e = tidy(() => {
          const yc = y.narrow(0, s, len).sub(this.mean!);
          const rec = yc.matmul(this.basis!).matmul(this.basis!.t());
          return yc.sub(rec).square().sum(1).toFloat64Array();
        });
        out.set(e, s);
      }
      return out;
    } finally {
      y.dispose();
    }
  }

  /** Reconstructions of test images [M, D] (float64 tensor; caller disposes): mean + projection onto the components. */
  reconstruct(test: ImageMatrix): Tensor {
    if (this.mean === null || this.basis === null) throw new AnogenError('PcaFloor.reconstruct: call fit(train) first');
    const y = toMatrix(test, 'PCA test', 'float64');
    try {
      if (y.shape[1] !== this.mean.shape[1]) throw new AnogenError(`PCA test: images have ${y.shape[1]} values but the training images had ${this.mean.shape[1]}`);
      return tidy(() => y.sub(this.mean!).matmul(this.basis!).matmul(this.basis!.t()).add(this.mean!));
    } finally {
      y.dispose();
    }
  }

  /** Projections of test images on the components [M, k] (float64 tensor; caller disposes). */
  project(test: ImageMatrix): Tensor {
    if (this.mean === null || this.basis === null) throw new AnogenError('PcaFloor.project: call fit(train) first');
    const y = toMatrix(test, 'PCA test', 'float64');
    try {
      return tidy(() => y.sub(this.mean!).matmul(this.basis!));
    } finally {
      y.dispose();
    }
  }

  /** Frees the fitted tensors. */
  dispose(): void {
    this.mean?.dispose();
    this.basis?.dispose();
    this.mean = null;
    this.basis = null;
  }
}

/** PCA reconstruction-error scores of `test` with components fitted on `train` (see {@link PcaOptions}). */
export function pcaScores(train: ImageMatrix, test: ImageMatrix, opts: PcaOptions = {}): Float64Array {
  const p = new PcaFloor(opts).fit(train);
  try {
    return p.score(test);
  } finally {
    p.dispose();
  }
}

/** Options of {@link knnScores}. */
export interface KnnOptions {
  /** Number of nearest training images (default 5). */
  k?: number;
  /** 'mean' of the k distances (default) or the 'kth' distance alone. */
  reduction?: 'mean' | 'kth';
  /** Test images per distance block (default 1024). */
  chunkSize?: number;
}

/**
 * kNN-distance scores: for each test image, the Euclidean distance on raw pixels to its k
 * nearest training images, averaged (`reduction` 'mean', default) or the k-th one. Distances
 * come from ‖a‖² + ‖b‖² − 2a·b with a float32 matmul in blocks of `chunkSize` test images.
 */
export function knnScores(train: ImageMatrix, test: ImageMatrix, opts: KnnOptions = {}): Float64Array {
  const k = opts.k ?? 5;
  const reduction = opts.reduction ?? 'mean';
  const chunk = opts.chunkSize ?? 1024;
  if (!Number.isInteger(k) || k < 1) throw new AnogenError(`kNN k: ${JSON.stringify(opts.k)} is not valid; expected an integer >= 1 (default 5)`);
  if (reduction !== 'mean' && reduction !== 'kth') {
    throw new AnogenError(`kNN reduction: ${JSON.stringify(reduction)} is not valid; expected 'mean' or 'kth' (default 'mean')`);
  }
  if (!Number.isInteger(chunk) || chunk < 1) throw new AnogenError(`kNN chunkSize: ${JSON.stringify(opts.chunkSize)} is not valid; expected an integer >= 1`);
  const x = toMatrix(train, 'kNN train');
  const y = toMatrix(test, 'kNN test');
  try {
    checkFinite(x, 'kNN train');
    checkFinite(y, 'kNN test');
    if (x.shape[1] !== y.shape[1]) {
      throw new AnogenError(`kNN test: images have ${y.shape[1]} values but the training images have ${x.shape[1]}`);
    }
    if (k > x.shape[0]!) throw new AnogenError(`kNN k: ${k} is larger than the number of training images (${x.shape[0]})`);
    const out = new Float64Array(y.shape[0]!);
    const xt = tidy(() => x.t().contiguous());
    const xn = tidy(() => x.square().sum(1).unsqueeze(0)); // [1, N]
    try {
      for (let s = 0; s < out.length; s += chunk) {
        const len = Math.min(chunk, out.length - s);
        const v = tidy(() => {
          const yb = y.narrow(0, s, len);
          const d2 = yb.square().sum(1, true).add(xn).sub(yb.matmul(xt).mul(2)).clamp(0, null);
          const near = d2.topk(k, 1, false, true).values.sqrt(); // ascending
          return (reduction === 'mean' ? near.mean(1) : near.select(1, k - 1)).toFloat64Array();
        });
        out.set(v, s);
      }
    } finally {
      xt.dispose();
      xn.dispose();
    }
    return out;
  } finally {
    x.dispose();
    y.dispose();
  }
}
