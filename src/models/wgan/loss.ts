/**
 * Wasserstein GAN losses (Arjovsky et al., 2017) on critic outputs f(x) (no sigmoid):
 *
 *   critic:     L_D = E f(G(z)) - E f(x)     (minimised: maximises the estimate E f(x) - E f(G(z)))
 *   generator:  L_G = -E f(G(z))
 *
 * and the gradient penalty of WGAN-GP (Gulrajani et al., 2017, Algorithm 1) on random
 * interpolates x^ = eps x + (1 - eps) G(z), eps ~ U[0, 1] per image:
 *
 *   GP = lambda E (||grad_x^ f(x^)||_2 - 1)^2
 *
 * The penalty's gradient with respect to the critic's weights goes through grad_x^ f: a double
 * backward (src/core/autograd.ts grad(..., { createGraph: true })).
 */
import type { Tensor } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import { grad } from '../../core/autograd.js';
import type { Module } from '../../nn/module.js';

/** The critic's loss E f(fake) - E f(real) and the Wasserstein estimate E f(real) - E f(fake), from outputs [N]. */
export function criticLoss(realOut: Tensor, fakeOut: Tensor): { total: Tensor; wDist: Tensor } {
  const wDist = realOut.mean().sub(fakeOut.mean());
  return { total: wDist.neg(), wDist };
}

/** The generator's loss -E f(G(z)) from the critic's outputs on fakes [N]. */
export function wassersteinGeneratorLoss(fakeOut: Tensor): Tensor {
  return fakeOut.mean().neg();
}

/**
 * WGAN-GP's penalty lambda * mean over images of (||grad f(x^)||_2 - 1)^2 with
 * x^ = eps * real + (1 - eps) * fake (real and fake are detached; eps is [N, 1, 1, 1] in [0, 1]).
 * The result is differentiable with respect to the critic's weights (double backward).
 * Also returns the mean gradient norm at the interpolates.
 */
export function gradientPenalty(critic: Module<[Tensor], Tensor>, real: Tensor, fake: Tensor, eps: Tensor, lambda: number): { penalty: Tensor; gradNorm: Tensor } {
  if (real.shape.join() !== fake.shape.join()) throw new AnogenError(`gradientPenalty: real [${real.shape.join(', ')}] and fake [${fake.shape.join(', ')}] differ in shape`);
  if (eps.ndim !== 4 || eps.shape[0] !== real.shape[0]) throw new AnogenError(`gradientPenalty: eps must be [N, 1, 1, 1] with N = ${real.shape[0]}, got [${eps.shape.join(', ')}]`);
  const r = real.detach();
  const f = fake.detach();
  const xhat = r.sub(f).mul(eps).add(f).detach().requiresGrad_(true);
  const out = critic.call(xhat);
  const [g] = grad(out.sum(), xhat, { createGraph: true });
  const norms = g!.flatten(1).norm(2, 1);
  return { penalty: norms.sub(1).square().mean().mul(lambda), gradNorm: norms.detach().mean() };
}
