/**
 * The pix2pix losses (Isola et al., 2017, eq. 4: G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G)),
 * as the authors' code computes them (models/pix2pix_model.py, gan_mode 'vanilla': BCE with
 * logits averaged over the patch map), on PatchGAN logits of (input, image) pairs:
 *
 *   discriminator:  L_D = 0.5 * (bce(D(x, y), 1) + bce(D(x, G(x)), 0))
 *   generator:      L_G = bce(D(x, G(x)), 1) + lambdaL1 * mean |y - G(x)|      (lambdaL1 = 100)
 *
 * with bce(l, 1) = softplus(-l) and bce(l, 0) = softplus(l) (BCE with logits without overflow).
 */
import type { Tensor } from '../../core/tensor.js';
import * as F from '../../nn/functional.js';

/** The discriminator's loss on real and fake patch logits: 0.5 * (bce(real, 1) + bce(fake, 0)), each a mean over every patch. */
export function pix2pixDiscriminatorLoss(realLogits: Tensor, fakeLogits: Tensor): { total: Tensor; real: Tensor; fake: Tensor } {
  const real = F.softplus(realLogits.neg()).mean();
  const fake = F.softplus(fakeLogits).mean();
  return { total: real.add(fake).mul(0.5), real, fake };
}

/**
 * The generator's loss: the non-saturating cGAN term bce(D(x, G(x)), 1) on the fake's patch
 * logits plus `lambdaL1` (the paper's 100) times the mean absolute error between the output and
 * the target.
 */
export function pix2pixGeneratorLoss(fakeLogits: Tensor, output: Tensor, target: Tensor, lambdaL1: number): { total: Tensor; gan: Tensor; l1: Tensor } {
  const gan = F.softplus(fakeLogits.neg()).mean();
  const l1 = F.l1Loss(output, target);
  return { total: gan.add(l1.mul(lambdaL1)), gan, l1 };
}
