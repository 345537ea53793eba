/**
 * The one-class SVM of Schölkopf et al. (2001), "Estimating the support of a high-dimensional
 * distribution", solved as libsvm (Chang & Lin) solves it, so that the result matches
 * scikit-learn's OneClassSVM (which calls libsvm):
 *
 *   min_a 1/2 a^T Q a   s.t. 0 <= a_i <= 1, sum_i a_i = nu * n,   Q_ij = K(x_i, x_j)
 *
 * (libsvm's scaling of the dual; dividing a by nu * n gives the paper's 0 <= a_i <= 1/(nu n),
 * sum a_i = 1). Decision function f(x) = sum_i a_i K(x_i, x) - rho: positive inside the
 * estimated support.
 *
 * The solver is libsvm's SMO with second-order working-set selection (Fan, Chen & Lin 2005,
 * "WSS 2"), stopping when the maximal violating pair's gap m(a) - M(a) < tol, started from
 * libsvm's one-class point (a_i = 1 for the first floor(nu n) points, the remainder on the
 * next), and rho from libsvm's calculate_rho (mean gradient over free variables, else the
 * midpoint of the bounds). Without libsvm's shrinking heuristic (it only changes the path).
 * Q is kept as float32 as libsvm's kernel cache keeps it (Qfloat); everything else is double.
 */
import { AnogenError } from '../../core/index.js';

const TAU = 1e-12;
const LOWER = 0;
const UPPER = 1;
const FREE = 2;

/** What {@link solveOneClass} returns. */
export interface OneClassSolution {
  /** The dual coefficients a (length n, in [0, 1], summing to nu * n). */
  alpha: Float64Array;
  /** The offset rho of f(x) = sum a_i K(x_i, x) - rho. */
  rho: number;
  /** SMO iterations run. */
  iterations: number;
  /** The dual objective 1/2 a^T Q a at the solution. */
  objective: number;
  /** True when the tolerance was reached (false: stopped at maxIter). */
  converged: boolean;
}

/** Options of {@link solveOneClass}. */
export interface SolveOptions {
  /** Stopping tolerance on the maximal violating pair (default 1e-3, libsvm's and scikit-learn's). */
  tol?: number;
  /** Iteration cap (default max(1e7, 100 n), libsvm's). */
  maxIter?: number;
}

/**
 * Solves the one-class dual for the n x n kernel matrix `Q` (row-major float32) with unit diagonal
 * or any positive diagonal `qd` (double). See the module comment.
 */
export function solveOneClass(Q: Float32Array, qd: Float64Array, n: number, nu: number, opts: SolveOptions = {}): OneClassSolution {
  if (Q.length !== n * n || qd.length !== n) throw new AnogenError(`solveOneClass: expected a ${n} x ${n} kernel matrix and ${n} diagonal entries`);
  if (!(nu > 0 && nu <= 1)) throw new AnogenError(`solveOneClass: nu must be in (0, 1], got ${nu}`);
  const tol = opts.tol ?? 1e-3;
  const maxIter = opts.maxIter ?? Math.max(10_000_000, 100 * n);
  const alpha = new Float64Array(n);
  const status = new Uint8Array(n);
  // libsvm's starting point
  const full = Math.floor(nu * n);
  for (let i = 0; i < full; i++) alpha[i] = 1;
  if (full < n) alpha[full] = nu * n - full;
  const setStatus = (i: number) => {
    const a = alpha[i]!;
    status[i] = a >= 1 ? UPPER : a <= 0 ? LOWER : FREE;
  };
  for (let i = 0; i < n; i++) setStatus(i);
  // gradient G = Q a (the linear term is zero)
  const G = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = alpha[i]!;
    if (a === 0) continue;
    const row = i * n;
    for (let k = 0; k < n; k++) G[k] += a * Q[row + k]!;
  }
  let iter = 0;
  let converged = false;
  while (iter < maxIter) {
    // working set: i = argmax over I_up of -G; j by second-order gain over I_low (all y = +1)
    let gmax = -Infinity;
    let gmaxIdx = -1;
    for (let t = 0; t < n; t++) {
      if (status[t] !== UPPER && -G[t]! >= gmax) {
        gmax = -G[t]!;
        gmaxIdx = t;
      }
    }
    const i = gmaxIdx;
    let gmax2 = -Infinity;
    let gminIdx = -1;
    let objDiffMin = Infinity;
    if (i !== -1) {
      const rowI = i * n;
      for (let j = 0; j < n; j++) {
        if (status[j] === LOWER) continue;
        const gj = G[j]!;
        if (gj >= gmax2) gmax2 = gj;
        const gradDiff = gmax + gj;
        if (gradDiff > 0) {
          const quad = qd[i]! + qd[j]! - 2 * Q[rowI + j]!;
          const objDiff = -(gradDiff * gradDiff) / (quad > 0 ? quad : TAU);
          if (objDiff <= objDiffMin) {
            gminIdx = j;
            objDiffMin = objDiff;
          }
        }
      }
    } else {
      for (let j = 0; j < n; j++) if (status[j] !== LOWER && G[j]! >= gmax2) gmax2 = G[j]!;
    }
    if (gmax + gmax2 < tol || gminIdx === -1) {
      converged = true;
      break;
    }
    iter++;
    const j = gminIdx;
    const rowI = i * n;
    const rowJ = j * n;
    const oldI = alpha[i]!;
    const oldJ = alpha[j]!;
    let quad = qd[i]! + qd[j]! - 2 * Q[rowI + j]!;
    if (quad <= 0) quad = TAU;
    const delta = (G[i]! - G[j]!) / quad;
    const sum = oldI + oldJ;
    let ai = oldI - delta;
    let aj = oldJ + delta;
    if (sum > 1) {
      if (ai > 1) {
        ai = 1;
        aj = sum - 1;
      }
    } else if (aj < 0) {
      aj = 0;
      ai = sum;
    }
    if (sum > 1) {
      if (aj > 1) {
        aj = 1;
        ai = sum - 1;
      }
    } else if (ai < 0) {
      ai = 0;
      aj = sum;
    }
    alpha[i] = ai;
    alpha[j] = aj;
    setStatus(i);
    setStatus(j);
    const dI = ai - oldI;
    const dJ = aj - oldJ;
    for (let k = 0; k < n; k++) G[k] += Q[rowI + k]! * dI + Q[rowJ + k]! * dJ;
  }
  // rho (libsvm's calculate_rho with y = +1)
  let nFree = 0;
  let sumFree = 0;
  let ub = Infinity;
  let lb = -Infinity;
  for (let t = 0; t < n; t++) {
    const g = G[t]!;
    if (status[t] === UPPER) lb = Math.max(lb, g);
    else if (status[t] === LOWER) ub = Math.min(ub, g);
    else {
      nFree++;
      sumFree += g;
    }
  }
  const rho = nFree > 0 ? sumFree / nFree : (ub + lb) / 2;
  let objective = 0;
  for (let t = 0; t < n; t++) objective += alpha[t]! * G[t]!;
  return { alpha, rho, iterations: iter, objective: objective / 2, converged };
}
