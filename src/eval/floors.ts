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
import { Tensor, cat } from '../core/tensor.js';
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

/** Options of {@link patchKnnScores}. */
export interface PatchKnnOptions {
  /** Patch side p in pixels (default 8). */
  patchSize?: number;
  /** Step s between patch origins in pixels (default: half the patch size, at least 1). */
  stride?: number;
  /**
   * Compare a test patch only with the training patches at the same location (default
   * false: with every training patch, wherever it was). For aligned images (solar cells,
   * centred objects), where a part is normal only at its own place.
   */
  positionAware?: boolean;
  /** Most distances held at once, in millions of float32 values (default 16, i.e. 64 MB). */
  blockMillions?: number;
}

/** The patch origins along one side: 0, s, 2s, ... while the patch fits. */
function patchOrigins(side: number, p: number, s: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + p <= side; i += s) out.push(i);
  return out;
}

/** Patches of images [N, C, H, W] as a new tensor [N, P, C·p·p] (P = origins², row-major). */
function extractPatches(x: Tensor, p: number, rows: number[], cols: number[]): Tensor {
  return tidy(() => {
    const n = x.shape[0]!;
    const parts: Tensor[] = [];
    for (const i of rows) for (const j of cols) parts.push(x.narrow(2, i, p).narrow(3, j, p).reshape([n, 1, -1]));
    return cat(parts, 1).contiguous();
  });
}

/**
 * Patch kNN floor on raw pixels: every test image is cut into p x p patches (stride s, the
 * patches that fit: origins 0, s, 2s, ... <= H − p), each patch's score is the Euclidean
 * distance to its nearest training patch (all patches of every training image, or with
 * `positionAware` only those at the same origin), and the image's score is its worst
 * (largest) patch score. Distances come from ‖a‖² + ‖b‖² − 2a·b in float32, in blocks of at
 * most `blockMillions` million values. Images: tensors [N, C, H, W] (or [N, H, W]); train and
 * test must share C, H and W.
 */
export function patchKnnScores(train: Tensor, test: Tensor, opts: PatchKnnOptions = {}): Float64Array {
  const p = opts.patchSize ?? 8;
  if (!Number.isInteger(p) || p < 1) throw new AnogenError(`patch kNN patchSize: ${JSON.stringify(opts.patchSize)} is not valid; expected an integer >= 1 (default 8)`);
  const s = opts.stride ?? Math.max(1, Math.floor(p / 2));
  if (!Number.isInteger(s) || s < 1) throw new AnogenError(`patch kNN stride: ${JSON.stringify(opts.stride)} is not valid; expected an integer >= 1 (default patchSize / 2)`);
  const block = opts.blockMillions ?? 16;
  if (typeof block !== 'number' || !(block > 0))
    throw new AnogenError(`patch kNN blockMillions: ${JSON.stringify(opts.blockMillions)} is not valid; expected a number > 0 (default 16)`);
  const as4d = (t: Tensor, what: string): Tensor => {
    if (!(t instanceof Tensor) || (t.ndim !== 3 && t.ndim !== 4)) {
      throw new AnogenError(`patch kNN ${what}: expected a Tensor [N, C, H, W] or [N, H, W]${t instanceof Tensor ? `, got shape [${t.shape.join(', ')}]` : ''}`);
    }
    if (t.shape[0] === 0) throw new AnogenError(`patch kNN ${what}: no images (shape [${t.shape.join(', ')}])`);
    return tidy(() => (t.ndim === 3 ? t.unsqueeze(1) : t).to('float32').contiguous().clone());
  };
  const x = as4d(train, 'train');
  const y = as4d(test, 'test');
  const held: Tensor[] = [x, y];
  try {
    checkFinite(x, 'patch kNN train');
    checkFinite(y, 'patch kNN test');
    const [, c, h, w] = x.shape as [number, number, number, number];
    if (y.shape[1] !== c || y.shape[2] !== h || y.shape[3] !== w) {
      throw new AnogenError(`patch kNN test: images of shape [${y.shape.slice(1).join(', ')}] but the training images are [${c}, ${h}, ${w}]`);
    }
    if (p > h || p > w) throw new AnogenError(`patch kNN patchSize: ${p} is larger than the images (${h} x ${w})`);
    const rows = patchOrigins(h, p, s);
    const cols = patchOrigins(w, p, s);
    const nPos = rows.length * cols.length;
    const tp = extractPatches(x, p, rows, cols); // [Ntr, P, D]
    held.push(tp);
    const nTr = tp.shape[0]!;
    const nTe = y.shape[0]!;
    const out = new Float64Array(nTe);
    const limit = block * 1e6;
    if (opts.positionAware === true) {
      // Per position q: test patches [B, D] against the Ntr training patches at q, batched over q.
      const trq = tidy(() => tp.permute([1, 0, 2]).contiguous()); // [P, Ntr, D]
      held.push(trq);
      const trT = tidy(() => trq.transpose(1, 2).contiguous()); // [P, D, Ntr]
      held.push(trT);
      const trN = tidy(() => trq.square().sum(2).unsqueeze(1)); // [P, 1, Ntr]
      held.push(trN);
      const chunk = Math.max(1, Math.floor(limit / (nPos * nTr)));
      for (let st = 0; st < nTe; st += chunk) {
        const len = Math.min(chunk, nTe - st);
        const v = tidy(() => {
          const q = extractPatches(y.narrow(0, st, len), p, rows, cols).permute([1, 0, 2]); // [P, B, D]
          const d2 = q.square().sum(2, true).add(trN).sub(q.matmul(trT).mul(2)).clamp(0, null); // [P, B, Ntr]
          return d2.amin(2).amax(0).sqrt().toFloat64Array(); // nearest per position, worst position
        });
        out.set(v, st);
      }
    } else {
      const flat = tidy(() => tp.reshape([nTr * nPos, -1])); // [Ntr·P, D]
      held.push(flat);
      const flatT = tidy(() => flat.t().contiguous());
      held.push(flatT);
      const flatN = tidy(() => flat.square().sum(1).unsqueeze(0)); // [1, Ntr·P]
      held.push(flatN);
      const chunk = Math.max(1, Math.floor(limit / (nPos * nTr * nPos)));
      for (let st = 0; st < nTe; st += chunk) {
        const len = Math.min(chunk, nTe - st);
        const v = tidy(() => {
          const q = extractPatches(y.narrow(0, st, len), p, rows, cols).reshape([len * nPos, -1]); // [B·P, D]
          const d2 = q.square().sum(1, true).add(flatN).sub(q.matmul(flatT).mul(2)).clamp(0, null);
          return d2.amin(1).reshape([len, nPos]).amax(1).sqrt().toFloat64Array();
        });
        out.set(v, st);
      }
    }
    return out;
  } finally {
    for (const t of held) t.dispose();
  }
}
