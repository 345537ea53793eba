/**
 * The Gaussian detector's mixture mode (`--components K`, K > 1): K Gaussians fitted WITHOUT
 * labels, for normal data with several modes (ELPV's mono- and poly-crystalline cells).
 *
 * Fit (float64, on the engine):
 * 1. **k-means++** seeding (Arthur & Vassilvitskii, 2007): the first centre a uniformly drawn
 *    training row, each further centre a row drawn with probability proportional to its squared
 *    distance to the nearest centre so far; the draws come from mulberry32(mixSeed(seed, K))
 *    (src/data/random.ts), so one seed gives one clustering on every machine.
 * 2. **Lloyd** iterations: assign each row to its nearest centre (squared Euclidean distance,
 *    ties to the lower index), move each centre to its members' mean (a centre without members
 *    stays), at most {@link KMEANS_MAX_ITER} iterations, stopping early when no assignment changes.
 * 3. **Small clusters are merged**: a cluster with fewer than 2 members (too few for a
 *    covariance) is dropped, its rows go to the nearest remaining centre and Lloyd runs again
 *    from the remaining centres; so the fitted mixture may have fewer than K components
 *    (reported as the `components` history value), never a component of fewer than 2 rows.
 * 4. Per cluster k: the mean m_k, the Ledoit-Wolf covariance Σ_k and precision P_k = pinvh(Σ_k) of
 *    its members (./ledoit-wolf.ts, one per feature group as the single Gaussian: Σ_k is then
 *    block-diagonal), the weight π_k = n_k / n and log det Σ_k (the sum of the logs of Σ_k's
 *    eigenvalues above pinvh's cut-off: the pseudo-determinant that matches the pseudo-inverse;
 *    with several groups, the sum over the blocks).
 *
 * Score: the hard-assignment Gaussian negative log-likelihood (times 2, constants dropped),
 *
 *     A(x) = min_k [ (f(x) − m_k)ᵀ P_k (f(x) − m_k) + log det Σ_k − 2 log π_k ]
 *
 * (with several feature groups the first term is the sum over the groups' squared distances:
 * the block-diagonal Gaussian). K = 1 never comes here: the detector keeps the plain squared
 * Mahalanobis distance, so its scores do not change.
 */
import { AnogenError, callOp, cat, noGrad, stack, tensor, tidy, type Tensor } from '../../core/index.js';
import { wrap } from '../../core/tensor.js';
import { mixSeed, mulberry32 } from '../../data/random.js';
import { ledoitWolf } from './ledoit-wolf.js';

/** Lloyd iterations at most (default cap of {@link kmeans}). */
export const KMEANS_MAX_ITER = 100;

/** A k-means clustering. */
export interface KMeansResult {
  /** Centres [k, F] float64 (k may be below the requested number after merging small clusters). */
  centers: Tensor;
  /** The cluster of each row, in [0, k). */
  assign: Int32Array;
  /** Members per cluster (each >= minSize). */
  counts: number[];
  /** Lloyd iterations run in all (over every merge round). */
  iterations: number;
}

/** Squared Euclidean distances [n, k] of rows x [n, F] to centres c [k, F] (clamped at 0). */
function sqDistances(x: Tensor, xx: Tensor, c: Tensor): Tensor {
  return tidy(() => xx.unsqueeze(1).sub(x.mm(c.t()).mul(2)).add(c.square().sum(1).unsqueeze(0)).clamp(0));
}

/** Index of the smallest value (the lowest index on ties). */
function argminRow(v: Float64Array, off: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (v[off + j]! < v[off + best]!) best = j;
  return best;
}

/**
 * Seeded k-means++ then Lloyd on float64 rows x [n, F] (see the module comment): `seed`
 * (default 0) drives the k-means++ draws, `maxIter` (default {@link KMEANS_MAX_ITER}) caps each
 * Lloyd run, clusters with fewer than `minSize` (default 2) members are merged away.
 */
export function kmeans(x: Tensor, k: number, opts: { seed?: number; maxIter?: number; minSize?: number; who?: string } = {}): KMeansResult {
  const who = opts.who ?? 'kmeans';
  const seed = opts.seed ?? 0;
  const maxIter = opts.maxIter ?? KMEANS_MAX_ITER;
  const minSize = opts.minSize ?? 2;
  if (x.ndim !== 2) throw new AnogenError(`${who}: expected features [n, F], got [${x.shape.join(', ')}]`);
  const n = x.shape[0]!;
  if (!Number.isInteger(k) || k < 1) throw new AnogenError(`${who} components: ${JSON.stringify(k)} is not valid; expected an integer >= 1`);
  if (n < k * minSize) {
    throw new AnogenError(
      `${who} components: ${k} components need at least ${k * minSize} training rows (${minSize} per component), got ${n}; pass fewer components or more training images`,
    );
  }
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new AnogenError(`${who}: maxIter must be an integer >= 1, got ${maxIter}`);
  return noGrad(() => {
    const xx = x.square().sum(1);
    try {
      // k-means++ seeding
      const rnd = mulberry32(mixSeed(seed, k));
      const picks: number[] = [Math.min(n - 1, Math.floor(rnd() * n))];
      let d2 = tidy(() => sqDistances(x, xx, x.narrow(0, picks[0]!, 1)).toFloat64Array());
      while (picks.length < k) {
        let total = 0;
        for (let i = 0; i < n; i++) total += d2[i]!;
        let pick = -1;
        if (total > 0) {
          const u = rnd() * total;
          let acc = 0;
          for (let i = 0; i < n; i++) {
            acc += d2[i]!;
            if (acc > u && d2[i]! > 0) {
              pick = i;
              break;
            }
          }
          // rounding: u at the very end of the cumulative sum; the last row with a positive distance
          for (let i = n - 1; pick < 0 && i >= 0; i--) if (d2[i]! > 0) pick = i;
        } else {
          // every row is a centre already (duplicates): any row not picked; its cluster ends empty and is merged
          const r = rnd();
          const free = Array.from({ length: n }, (_, i) => i).filter((i) => !picks.includes(i));
          pick = free[Math.min(free.length - 1, Math.floor(r * free.length))]!;
        }
        picks.push(pick);
        const dn = tidy(() => sqDistances(x, xx, x.narrow(0, pick, 1)).toFloat64Array());
        for (let i = 0; i < n; i++) d2[i] = Math.min(d2[i]!, dn[i]!);
      }
      d2 = new Float64Array(0);
      let centers = tidy(() => x.indexSelect(0, tensor(BigInt64Array.from(picks, (i) => BigInt(i)))).contiguous());
      let iterations = 0;
      for (;;) {
        const kk = centers.shape[0]!;
        let assign = new Int32Array(n).fill(-1);
        for (let it = 0; it < maxIter; it++) {
          iterations++;
          const dist = tidy(() => sqDistances(x, xx, centers).toFloat64Array());
          const next = new Int32Array(n);
          for (let i = 0; i < n; i++) next[i] = argminRow(dist, i * kk, kk);
          const changed = next.some((v, i) => v !== assign[i]);
          assign = next;
          if (!changed) break;
          const onehot = new Float64Array(n * kk);
          const counts = new Float64Array(kk);
          for (let i = 0; i < n; i++) {
            onehot[i * kk + assign[i]!] = 1;
            counts[assign[i]!]!++;
          }
          const moved = tidy(() => {
            const sums = tensor(onehot, { shape: [n, kk] })
              .t()
              .mm(x); // [kk, F]
            const cnt = tensor(counts).unsqueeze(1);
            const has = cnt.gt(0);
            return sums.div(cnt.clamp(1, null)).where(has, centers);
          });
          centers.dispose();
          centers = moved;
        }
        const counts = new Array<number>(kk).fill(0);
        for (let i = 0; i < n; i++) counts[assign[i]!]!++;
        const keep = counts.map((c, j) => (c >= minSize ? j : -1)).filter((j) => j >= 0);
        if (keep.length === kk) return { centers, assign, counts, iterations };
        // merge: drop the small clusters, run Lloyd again from the remaining centres
        const kept = tidy(() => centers.indexSelect(0, tensor(BigInt64Array.from(keep, (j) => BigInt(j)))).contiguous());
        centers.dispose();
        centers = kept;
      }
    } finally {
      xx.dispose();
    }
  });
}

/** A fitted mixture (K' components, G feature groups of widths F_g summing to F). */
export interface GaussianMixture {
  /** Means [K', F] float64. */
  mean: Tensor;
  /** One precision stack [K', F_g, F_g] float64 per feature group. */
  precisions: Tensor[];
  /** Ledoit-Wolf shrinkage per component and group, component-major (K'·G values). */
  shrinkage: number[];
  /** Weights π_k = n_k / n. */
  weight: Float64Array;
  /** log det Σ_k (pseudo-determinant, summed over the groups). */
  logdet: Float64Array;
  /** k-means facts for the fit's history. */
  iterations: number;
}

/** log of the pseudo-determinant of a symmetric matrix: the sum of log|w| over eigenvalues above pinvh's cut-off (./ledoit-wolf.ts). */
export function logPseudoDet(a: Tensor): number {
  return noGrad(() =>
    tidy(() => {
      const w = wrap(callOp('aten::linalg_eigvalsh', a.handle, 'L')).abs();
      const cutoff = w.max().item() * Math.max(a.shape[0]!, a.shape[1]!) * Number.EPSILON;
      return w.where(w.gt(cutoff), 1).log().sum().item();
    }),
  );
}

/**
 * Fits a K-component mixture on float64 training rows x [n, F] with feature groups `groups`
 * (widths summing to F): seeded k-means (see {@link kmeans}), then per cluster one Ledoit-Wolf
 * Gaussian per group. `who` prefixes messages.
 */
export function fitMixture(x: Tensor, k: number, groups: number[], opts: { seed?: number; maxIter?: number; who?: string } = {}): GaussianMixture {
  const n = x.shape[0]!;
  const km = kmeans(x, k, { seed: opts.seed, maxIter: opts.maxIter, minSize: 2, who: opts.who ?? 'gaussian' });
  km.centers.dispose();
  const kk = km.counts.length;
  const means: Tensor[] = [];
  const precs: Tensor[][] = groups.map(() => []);
  const shrinkage: number[] = [];
  const weight = new Float64Array(kk);
  const logdet = new Float64Array(kk);
  try {
    for (let c = 0; c < kk; c++) {
      const idx: bigint[] = [];
      for (let i = 0; i < n; i++) if (km.assign[i] === c) idx.push(BigInt(i));
      const xc = noGrad(() => tidy(() => x.indexSelect(0, tensor(BigInt64Array.from(idx))).contiguous()));
      try {
        const parts: Tensor[] = [];
        let at = 0;
        for (let g = 0; g < groups.length; g++) {
          const w = groups[g]!;
          const xg = noGrad(() => xc.narrow(1, at, w).contiguous());
          const lw = ledoitWolf(xg);
          xg.dispose();
          try {
            logdet[c] = logdet[c]! + logPseudoDet(lw.covariance);
          } finally {
            lw.covariance.dispose();
          }
          parts.push(lw.mean);
          precs[g]!.push(lw.precision);
          shrinkage.push(lw.shrinkage);
          at += w;
        }
        means.push(parts.length === 1 ? parts[0]! : noGrad(() => cat(parts, 0)));
        if (parts.length > 1) for (const p of parts) p.dispose();
      } finally {
        xc.dispose();
      }
      weight[c] = km.counts[c]! / n;
    }
    const mean = noGrad(() => stack(means, 0));
    const precisions = precs.map((list) => noGrad(() => stack(list, 0)));
    return { mean, precisions, shrinkage, weight, logdet, iterations: km.iterations };
  } finally {
    for (const t of [...means, ...precs.flat()]) t.dispose();
  }
}

/**
 * Mixture scores of feature rows f [N, F] float64: min_k [Σ_g d²_kg(f) + log det Σ_k − 2 log π_k]
 * (see the module comment).
 */
export function mixtureScores(f: Tensor, st: { mean: Tensor; precisions: Tensor[]; groups: number[]; weight: Float64Array; logdet: Float64Array }): Float64Array {
  return noGrad(() =>
    tidy(() => {
      const kk = st.mean.shape[0]!;
      let total: Tensor | null = null;
      let at = 0;
      for (let g = 0; g < st.groups.length; g++) {
        const w = st.groups[g]!;
        const d = f
          .narrow(1, at, w)
          .unsqueeze(0)
          .sub(st.mean.narrow(1, at, w).unsqueeze(1)); // [K, N, F_g]
        const q = d.bmm(st.precisions[g]!).mul(d).sum(2); // [K, N]
        total = total === null ? q : total.add(q);
        at += w;
      }
      const offset = tensor(Float64Array.from({ length: kk }, (_, c) => st.logdet[c]! - 2 * Math.log(st.weight[c]!))).unsqueeze(1);
      return total!.add(offset).amin(0).toFloat64Array();
    }),
  );
}
