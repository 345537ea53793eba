/**
 * The position-aware patch mode of the Gaussian detector (`--features patches`): Rippel et al.'s
 * Gaussian applied per position, as PaDiM (Defard, Setkov, Loesch & Audigier, 2020, "PaDiM: a
 * Patch Distribution Modeling Framework for Anomaly Detection and Localization") does on feature
 * maps, here on the pixels themselves. For aligned images (solar cells) a patch at position
 * (i, j) is compared only with the training patches at (i, j).
 *
 * Geometry (as the position-aware patch kNN floor, src/eval/floors.ts): p x p patches at the
 * input size, origins 0, s, 2s, ... while the patch fits (side = floor((S - p) / s) + 1 origins
 * per axis, P = side² positions, row-major); a patch is the vector of its C·p·p values in the
 * order channel, row, column (D = C·p·p).
 *
 * Fit: for each position q one mean m_q [D] and one Ledoit-Wolf precision P_q [D, D] of the
 * training patches at q, exactly the formulas of ./ledoit-wolf.ts applied per position (float64,
 * batched over the positions: no loop over positions or pixels). The training patches are never
 * held all at once: two passes over chunks of images (the mean, then the centred Gram matrices
 * and the β sums).
 *
 * Score: d_q(x) = (x_q - m_q)ᵀ P_q (x_q - m_q), the squared Mahalanobis distance of the patch
 * at q; A(x) = max_q d_q(x) (the worst patch, the floor's rule). Anomaly map: every d_q spread
 * over the p x p pixels its patch covers, the mean over the patches covering a pixel (0 where no
 * patch covers it, when (S - p) is not a multiple of s), at the input size.
 *
 * Memory: the state holds P·D² float64 values (the precisions; the means P·D); fitting holds a
 * few arrays of that size at once (Gram, covariance, eigenvectors, precision). Refused above
 * {@link PATCH_STATE_CAP} values.
 */
import { AnogenError, callOp, eye, noGrad, tensor, tidy, zeros, type Tensor } from '../../core/index.js';
import { wrap } from '../../core/tensor.js';
import { patchGrid, patchesOf, type PatchGeometry } from '../features/patch-grid.js';

export { patchesOf, patchMaps, type PatchGeometry } from '../features/patch-grid.js';

/**
 * Most float64 values P·D² of the per-position precisions (2^26 = 67,108,864 values, 512 MiB;
 * fitting needs about four times that). 64 px gray at p 8, s 4: 225 · 64² = 0.92 M values (7 MiB);
 * 128 px at p 16, s 8: 225 · 256² = 14.7 M (118 MiB).
 */
export const PATCH_STATE_CAP = 2 ** 26;

/** Most float64 patch values P·n·D held at once while fitting or scoring (2^24 = 16 M values, 128 MiB). */
export const PATCH_CHUNK_VALUES = 2 ** 24;

/**
 * The patch layout of S x S x C images with p x p patches at stride s ({@link patchGrid}); also
 * refuses a state above {@link PATCH_STATE_CAP}, naming the options (`patchSize`, `patchStride`).
 */
export function patchGeometry(size: number, channels: number, patch: number, stride: number, who = 'gaussian'): PatchGeometry {
  const g = patchGrid(size, channels, patch, stride, who);
  const { positions, dim } = g;
  const values = positions * dim * dim;
  if (values > PATCH_STATE_CAP) {
    throw new AnogenError(
      `${who} patchSize ${patch} / patchStride ${stride} at ${size} px x ${channels} channel(s): ${positions} positions x ${dim}² = ${values.toLocaleString('en-US')} precision values ` +
        `(${Math.round((values * 8) / 2 ** 20)} MiB), above the cap of ${PATCH_STATE_CAP.toLocaleString('en-US')} (512 MiB); pass a smaller patchSize or a larger patchStride`,
    );
  }
  return g;
}

/** Per-position Gaussians: the fitted state of the patch mode. */
export interface PatchGaussians {
  /** Means [P, D] float64. */
  mean: Tensor;
  /** Ledoit-Wolf precisions [P, D, D] float64. */
  precision: Tensor;
  /** The Ledoit-Wolf shrinkage of each position. */
  shrinkage: Float64Array;
}

/** Images per chunk so that a chunk's patches hold at most {@link PATCH_CHUNK_VALUES} values. */
function chunkImages(g: PatchGeometry): number {
  return Math.max(1, Math.floor(PATCH_CHUNK_VALUES / (g.positions * g.dim)));
}

/**
 * Fits one mean and one Ledoit-Wolf precision per position on training images x (rows
 * [n, C·S·S] float64, n >= 1): ./ledoit-wolf.ts's formulas, batched over positions, in two
 * passes over chunks of images.
 */
export function fitPatchGaussians(x: Tensor, g: PatchGeometry): PatchGaussians {
  const n = x.shape[0]!;
  if (x.ndim !== 2 || n < 1 || x.shape[1] !== g.channels * g.size * g.size) {
    throw new AnogenError(`gaussian patches: expected training rows [n, ${g.channels * g.size * g.size}] with n >= 1, got [${x.shape.join(', ')}]`);
  }
  const { positions: nPos, dim: d } = g;
  const chunk = chunkImages(g);
  return noGrad(() => {
    const mean = tidy(() => {
      const sum = zeros([nPos, d], { dtype: 'float64' });
      for (let i = 0; i < n; i += chunk) {
        tidy(() => {
          sum.add_(patchesOf(x.narrow(0, i, Math.min(chunk, n - i)), g).sum(1));
        });
      }
      return sum.div(n);
    });
    try {
      const { cov, shrinkage } = tidy(() => {
        const gram = zeros([nPos, d, d], { dtype: 'float64' });
        const betaRaw = zeros([nPos], { dtype: 'float64' });
        const m = mean.unsqueeze(1);
        for (let i = 0; i < n; i += chunk) {
          tidy(() => {
            const xc = patchesOf(x.narrow(0, i, Math.min(chunk, n - i)), g).sub(m); // [P, b, D]
            gram.add_(xc.transpose(1, 2).bmm(xc));
            // sum((Xc²)ᵀ(Xc²)) = Σ_i (Σ_k Xc[i,k]²)²
            betaRaw.add_(xc.square().sum(2).square().sum(1));
          });
        }
        const emp = gram.div(n); // [P, D, D]
        const traceS = emp.diagonal(0, 1, 2).sum(1).toFloat64Array();
        const deltaRawT = gram
          .square()
          .sum([1, 2])
          .div(n * n)
          .toFloat64Array();
        const betaRawT = betaRaw.toFloat64Array();
        // P scalars: the shrinkage of each position (./ledoit-wolf.ts), clamped to [0, 1] against rounding
        const s = new Float64Array(nPos);
        const smu = new Float64Array(nPos);
        for (let q = 0; q < nPos; q++) {
          const mu = traceS[q]! / d;
          let sq = 0;
          if (d > 1) {
            let beta = (1 / (d * n)) * (betaRawT[q]! / n - deltaRawT[q]!);
            const delta = (deltaRawT[q]! - 2 * mu * traceS[q]! + d * mu * mu) / d;
            beta = Math.min(beta, delta);
            sq = beta <= 0 || delta <= 0 ? 0 : Math.min(1, beta / delta);
          }
          s[q] = sq;
          smu[q] = sq * mu;
        }
        const keepT = tensor(Float64Array.from(s, (v) => 1 - v)).reshape([nPos, 1, 1]);
        const cov = emp.mul(keepT).add(
          eye(d, d, { dtype: 'float64' })
            .unsqueeze(0)
            .mul(tensor(smu).reshape([nPos, 1, 1])),
        );
        return { cov, shrinkage: s };
      });
      try {
        return { mean, precision: pinvhBatched(cov), shrinkage };
      } finally {
        cov.dispose();
      }
    } catch (e) {
      mean.dispose();
      throw e;
    }
  });
}

/** Pseudo-inverses of symmetric matrices [P, D, D], each with SciPy's pinvh cut-off (./ledoit-wolf.ts). */
export function pinvhBatched(a: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const [wh, vh] = callOp('aten::linalg_eigh', a.handle, 'L') as [unknown, unknown];
      const w = wrap(wh as never); // [P, D]
      const v = wrap(vh as never); // [P, D, D]
      const wa = w.abs();
      const cutoff = wa.amax(1, true).mul(a.shape[1]! * Number.EPSILON);
      const inv = w.reciprocal().where(wa.gt(cutoff), 0);
      return v.mul(inv.unsqueeze(1)).bmm(v.transpose(1, 2));
    }),
  );
}

/** Squared Mahalanobis distances [N, P] float64 of every patch of images x (rows [N, C·S·S] float64) to its position's Gaussian. */
export function patchDistances(x: Tensor, g: PatchGeometry, st: { mean: Tensor; precision: Tensor }): Tensor {
  return noGrad(() =>
    tidy(() => {
      const dc = patchesOf(x, g).sub(st.mean.unsqueeze(1)); // [P, N, D]
      return dc.bmm(st.precision).mul(dc).sum(2).t().contiguous(); // [N, P]
    }),
  );
}
