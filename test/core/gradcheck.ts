/**
 * A small generic finite-difference gradient checker for tests (float64, central differences),
 * in the spirit of torch.autograd.gradcheck: the function's output is reduced to a scalar by a
 * fixed pseudo-random projection, and the autograd gradient of that scalar is compared with
 * (L(x + eps e_k) - L(x - eps e_k)) / (2 eps) for every element k of every checked input.
 */
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
  /** Indices of the inputs whose gradients are checked (default: all). */
  check?: number[];
  /** Name used in failure messages. */
  name?: string;
}

/** Deterministic values in [-1, 1) (mulberry32), independent of torch's generator. */
export function pseudoRandom(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** A float64 tensor of the given shape with deterministic values in [lo, hi). */
export function det64(shape: number[], seed: number, lo = -1, hi = 1): T.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = pseudoRandom(n, seed).map((x) => lo + ((x + 1) / 2) * (hi - lo));
  return T.tensor(v, { shape });
}

/**
 * Checks autograd against central differences for `fn` at `inputs` (float64 tensors; they
 * are only read). Returns the largest absolute difference found.
 */
export function gradcheck(fn: (...xs: T.Tensor[]) => T.Tensor, inputs: T.Tensor[], opts: GradcheckOptions = {}): number {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  const check = opts.check ?? inputs.map((_, i) => i);
  const name = opts.name ?? 'gradcheck';
  for (const x of inputs) assert.equal(x.dtype, 'float64', `${name}: inputs must be float64`);
  const shapes = inputs.map((x) => x.shape);
  const data = inputs.map((x) => x.toFloat64Array().slice());
  let proj: Float64Array | undefined;

  // L(x) = sum(fn(x) * R), with the inputs in `check` requiring grad.
  const loss = (xs: T.Tensor[]): T.Tensor => {
    const out = fn(...xs);
    proj ??= pseudoRandom(out.numel, 12345);
    return out.mul(T.tensor(proj, { shape: out.shape })).sum();
  };
  const build = (): T.Tensor[] => data.map((d, i) => T.tensor(d, { shape: shapes[i], requiresGrad: check.includes(i) }));

  const analytic = T.tidy(() => {
    const xs = build();
    const gs = T.grad(
      loss(xs),
      check.map((i) => xs[i]!),
      { allowUnused: true },
    );
    return gs.map((g, j) => (g === null ? new Float64Array(data[check[j]!]!.length) : g.toFloat64Array()));
  });

  let worst = 0;
  check.forEach((i, j) => {
    const d = data[i]!;
    for (let k = 0; k < d.length; k++) {
      const orig = d[k]!;
      d[k] = orig + eps;
      const up = T.tidy(() => loss(build()).item());
      d[k] = orig - eps;
      const down = T.tidy(() => loss(build()).item());
      d[k] = orig;
      const numeric = (up - down) / (2 * eps);
      const a = analytic[j]![k]!;
      const err = Math.abs(a - numeric);
      worst = Math.max(worst, err);
      assert.ok(err <= atol + rtol * Math.abs(numeric), `${name}: input ${i} element ${k}: autograd ${a} vs finite difference ${numeric} (|diff| ${err.toExponential(2)})`);
    }
  });
  return worst;
}

/**
 * Second-order check (as torch.autograd.gradgradcheck): the gradient of
 * sum_i <d L / d x_i, V_i> (built with createGraph) is checked by {@link gradcheck}.
 */
export function gradgradcheck(fn: (...xs: T.Tensor[]) => T.Tensor, inputs: T.Tensor[], opts: GradcheckOptions = {}): number {
  const vs = inputs.map((x, i) => pseudoRandom(x.numel, 999 + i));
  let proj: Float64Array | undefined;
  const second = (...xs: T.Tensor[]): T.Tensor => {
    const out = fn(...xs);
    proj ??= pseudoRandom(out.numel, 4321);
    const L = out.mul(T.tensor(proj, { shape: out.shape })).sum();
    const idx = xs.map((x, i) => (x.requiresGrad ? i : -1)).filter((i) => i >= 0);
    const gs = T.grad(
      L,
      idx.map((i) => xs[i]!),
      { createGraph: true, allowUnused: true },
    );
    let s = T.zeros([], { dtype: 'float64' });
    gs.forEach((g, j) => {
      const i = idx[j]!;
      if (g !== null) s = s.add(g.mul(T.tensor(vs[i]!, { shape: xs[i]!.shape })).sum());
    });
    return s;
  };
  return gradcheck(second, inputs, { ...opts, check: opts.check ?? inputs.map((_, i) => i), name: `${opts.name ?? 'gradgradcheck'} (2nd order)` });
}
