/**
 * The RBF kernel K(x, y) = exp(-gamma ||x - y||^2) on the engine (float64 libtorch tensors),
 * computed as libsvm does: ||x||^2 + ||y||^2 - 2 <x, y> (clamped at 0), and gamma as
 * scikit-learn resolves it.
 */
import { AnogenError, noGrad, tidy, type Tensor } from '../../core/index.js';

/** Rows of the kernel matrix computed per block (bounds the float64 temporary to block x n). */
const BLOCK = 512;

/**
 * gamma from its option: 'scale' = 1 / (F * Var(X)) over every entry of the training features
 * (1 when that variance is 0), 'auto' = 1 / F (both as scikit-learn), or a positive number
 * written as a string (e.g. '0.05').
 */
export function resolveGamma(spec: string, x: Tensor, who: string): number {
  const f = x.shape[1]!;
  if (spec === 'scale') {
    const v = noGrad(() => tidy(() => x.var(undefined, { unbiased: false }).item()));
    return v !== 0 ? 1 / (f * v) : 1;
  }
  if (spec === 'auto') return 1 / f;
  return parseGamma(spec, who)!;
}

/** Checks a gamma option ('scale', 'auto' or a positive number); returns the number, or null for 'scale'/'auto'. */
export function parseGamma(spec: string, who: string): number | null {
  if (spec === 'scale' || spec === 'auto') return null;
  const g = Number(spec);
  if (spec.trim() === '' || !Number.isFinite(g) || g <= 0)
    throw new AnogenError(`${who} gamma: ${JSON.stringify(spec)} is not valid; expected 'scale', 'auto' or a positive number (e.g. 0.05)`);
  return g;
}

/** K(a_i, b_j) [na, nb] float64 of float64 rows a [na, F] and b [nb, F]. */
export function rbfKernel(a: Tensor, b: Tensor, gamma: number): Tensor {
  return noGrad(() =>
    tidy(() => {
      const aa = a.square().sum(1, true);
      const bb = b.square().sum(1, true).t();
      return aa.add(bb).sub(a.mm(b.t()).mul(2)).clamp(0).mul(-gamma).exp();
    }),
  );
}

/**
 * The n x n kernel matrix of x [n, F] (float64) as row-major float32 (libsvm's Qfloat cache)
 * with an exact unit diagonal (K(x, x) = 1), computed by blocks of rows; and the diagonal.
 */
export function kernelMatrix(x: Tensor, gamma: number): { q: Float32Array; qd: Float64Array } {
  const n = x.shape[0]!;
  const q = new Float32Array(n * n);
  for (let r = 0; r < n; r += BLOCK) {
    const rows = Math.min(BLOCK, n - r);
    const block = noGrad(() =>
      tidy(() =>
        rbfKernel(x.narrow(0, r, rows), x, gamma)
          .float()
          .contiguous(),
      ),
    );
    try {
      q.set(block.toFloat32Array(), r * n);
    } finally {
      block.dispose();
    }
  }
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  return { q, qd: new Float64Array(n).fill(1) };
}
