/**
 * The VAE's objective (Kingma & Welling, 2014) and its anomaly scores, per image, in nats.
 *
 * - KL(q(z|x) || N(0, I)) = 1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)  (analytic; paper eq. 10).
 * - -log p(x|z), with the decoder's pre-tanh activation a (mean x^ = tanh(a)):
 *   - 'bernoulli': pixels rescaled to t = (x + 1) / 2 in [0, 1], p = sigmoid(2a) = (x^ + 1) / 2;
 *     sum over pixels of BCE(p, t) = softplus(2a) - 2a t (the paper's MNIST likelihood);
 *   - 'gaussian': N(x; x^, sigma^2 I): sum over pixels of (x - x^)^2 / (2 sigma^2) + log(sigma sqrt(2 pi)).
 * - Negative ELBO = -E_q log p(x|z) + beta KL (beta = 1 is the ELBO; the loss averages it over the batch).
 * - Importance weights log w = log p(x|z) + log p(z) - log q(z|x) with z = mu + sigma eps:
 *   log p(z) - log q(z|x) = 1/2 sum_j (eps_j^2 + logvar_j - z_j^2).
 */
import type { Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';
import { mulberry32 } from '../../data/random.js';

/** Decoder likelihoods p(x|z). */
export const VAE_LIKELIHOODS = ['bernoulli', 'gaussian'] as const;
/** A decoder likelihood. */
export type VaeLikelihood = (typeof VAE_LIKELIHOODS)[number];

/** KL(N(mu, exp(logvar)) || N(0, I)) per image -> [N]. */
export function klDivergence(mu: Tensor, logvar: Tensor): Tensor {
  return mu.square().add(logvar.exp()).sub(1).sub(logvar).sum(1).mul(0.5);
}

/** -log p(x|z) per image -> [N], from images x in [-1, 1] and the decoder's pre-tanh activation a. */
export function negLogLikelihood(x: Tensor, a: Tensor, likelihood: VaeLikelihood, sigma: number): Tensor {
  if (likelihood === 'bernoulli') {
    const t = x.add(1).mul(0.5);
    return F.bceWithLogits(a.mul(2), t, { reduction: 'none' }).flatten(1).sum(1);
  }
  const pixels = x.shape.slice(1).reduce((p, s) => p * s, 1);
  return x
    .sub(a.tanh())
    .square()
    .flatten(1)
    .sum(1)
    .div(2 * sigma * sigma)
    .add(pixels * (Math.log(sigma) + 0.5 * Math.log(2 * Math.PI)));
}

/** log p(z) - log q(z|x) per image -> [N] for z = mu + exp(logvar / 2) eps. */
export function logPriorOverPosterior(z: Tensor, eps: Tensor, logvar: Tensor): Tensor {
  return eps.square().add(logvar).sub(z.square()).sum(1).mul(0.5);
}

/**
 * k x nz standard normal draws from a fixed-seed JS generator (mulberry32(seed), Box-Muller):
 * the same numbers on every call, machine and device, independent of torch's generator.
 */
export function fixedNormals(k: number, nz: number, seed = 0): Float32Array {
  const u = mulberry32(seed);
  const out = new Float32Array(k * nz);
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(th);
  }
  return out;
}
