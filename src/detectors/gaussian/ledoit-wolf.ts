/**
 * Ledoit & Wolf (2004) shrinkage of the covariance, exactly as scikit-learn's
 * sklearn.covariance.LedoitWolf (assume_centered=False), and the Mahalanobis distance, on the
 * engine in float64:
 *
 *   Xc = X - mean,  S = Xc^T Xc / n,  mu = tr(S) / p
 *   delta_ = ||Xc^T Xc||_F^2 / n^2,   beta_ = sum((Xc^2)^T (Xc^2))
 *   beta = (beta_ / n - delta_) / (p n),  delta = (delta_ - 2 mu tr(S) + p mu^2) / p
 *   shrinkage = min(beta, delta) / delta   (0 when beta = 0, and when p = 1)
 *   Sigma = (1 - shrinkage) S + shrinkage mu I,   precision = pinvh(Sigma)
 *
 * pinvh as SciPy's: eigenvalues with |w| <= max|w| * max(p, p) * eps(float64) are dropped.
 */
import { AnogenError, callOp, eye, noGrad, tidy, type Tensor } from '../../core/index.js';
import { wrap } from '../../core/tensor.js';

/** A fitted Gaussian. */
export interface LedoitWolfFit {
  /** Mean [p] float64. */
  mean: Tensor;
  /** Shrunk covariance [p, p] float64. */
  covariance: Tensor;
  /** Its pseudo-inverse [p, p] float64. */
  precision: Tensor;
  /** The shrinkage coefficient in [0, 1]. */
  shrinkage: number;
}

/** Fits mean, Ledoit-Wolf covariance and precision of float64 rows x [n, p] (n >= 1). */
export function ledoitWolf(x: Tensor): LedoitWolfFit {
  if (x.ndim !== 2 || x.shape[0]! < 1) throw new AnogenError(`ledoitWolf: expected features [n, p] with n >= 1, got [${x.shape.join(', ')}]`);
  const [n, p] = [x.shape[0]!, x.shape[1]!];
  return noGrad(() => {
    const mean = x.mean(0);
    const { covariance, shrinkage } = tidy(() => {
      const xc = x.sub(mean);
      const gram = xc.t().mm(xc);
      const emp = gram.div(n);
      const traceS = emp.trace().item();
      const mu = traceS / p;
      let s = 0;
      if (p > 1) {
        const x2 = xc.square();
        const betaRaw = x2.t().mm(x2).sum().item();
        const deltaRaw = gram.square().sum().item() / (n * n);
        let beta = (1 / (p * n)) * (betaRaw / n - deltaRaw);
        const delta = (deltaRaw - 2 * mu * traceS + p * mu * mu) / p;
        beta = Math.min(beta, delta);
        s = beta === 0 ? 0 : beta / delta;
      }
      const cov = emp.mul(1 - s).add(eye(p, p, { dtype: 'float64' }).mul(s * mu));
      return { covariance: cov, shrinkage: s };
    });
    const precision = pinvh(covariance);
    return { mean, covariance, precision, shrinkage };
  });
}

/** Pseudo-inverse of a symmetric matrix (SciPy's pinvh cut-off, see the module comment). */
export function pinvh(a: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const [wh, vh] = callOp('aten::linalg_eigh', a.handle, 'L') as [unknown, unknown];
      const w = wrap(wh as never);
      const v = wrap(vh as never);
      const wa = w.abs();
      const cutoff = wa.max().item() * Math.max(a.shape[0]!, a.shape[1]!) * Number.EPSILON;
      const keep = wa.gt(cutoff);
      const inv = w.reciprocal().where(keep, 0);
      return v.mul(inv.unsqueeze(0)).mm(v.t());
    }),
  );
}

/** Squared Mahalanobis distances [N] of float64 rows x [N, p] to a fitted Gaussian: (x - mean)^T P (x - mean). */
export function mahalanobis(x: Tensor, mean: Tensor, precision: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const d = x.sub(mean);
      return d.mm(precision).mul(d).sum(1);
    }),
  );
}
