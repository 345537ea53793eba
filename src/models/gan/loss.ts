/**
 * The GAN losses (Goodfellow et al., 2014) on discriminator logits l = D(x) (D's probability is
 * sigmoid(l); BCE with logits is the same loss as sigmoid + BCE, without its overflow):
 *
 *   discriminator:    L_D = -log D(x) - log(1 - D(G(z)))  = bce(l_real, 1) + bce(l_fake, 0)
 *   minimax G:        L_G =  log(1 - D(G(z)))             = -bce(l_fake, 0) = -softplus(l_fake)
 *   non-saturating G: L_G = -log D(G(z))                  =  bce(l_fake, 1) =  softplus(-l_fake)
 *
 * The minimax generator's gradient dL_G/dl = -sigmoid(l) vanishes when D confidently rejects
 * the fakes (l << 0, early in training); the non-saturating one, -(1 - sigmoid(l)), is then
 * largest. That difference is why `loss` is selectable and why the step logs the generator's
 * gradient norm.
 */
import type { Tensor } from '../../core/tensor.js';
import { stack } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import { noGrad } from '../../core/autograd.js';
import * as F from '../../nn/functional.js';
import { divergence, type StepContext } from '../../train/loop.js';

/** The generator losses of {@link generatorLoss}. */
export const GAN_LOSSES = ['minimax', 'non-saturating'] as const;
/** One of {@link GAN_LOSSES}. */
export type GanLoss = (typeof GAN_LOSSES)[number];

/** The discriminator's loss (mean over the batch) of real and fake logits: bce(l_real, 1) + bce(l_fake, 0). */
export function discriminatorLoss(realLogits: Tensor, fakeLogits: Tensor): { total: Tensor; real: Tensor; fake: Tensor } {
  // bce(l, 1) = softplus(-l), bce(l, 0) = softplus(l)
  const real = F.softplus(realLogits.neg()).mean();
  const fake = F.softplus(fakeLogits).mean();
  return { total: real.add(fake), real, fake };
}

/** The generator's loss (mean over the batch) on the logits of its fakes: 'minimax' -softplus(l) or 'non-saturating' softplus(-l). */
export function generatorLoss(fakeLogits: Tensor, kind: GanLoss): Tensor {
  if (kind === 'minimax') return F.softplus(fakeLogits).mean().neg();
  if (kind === 'non-saturating') return F.softplus(fakeLogits.neg()).mean();
  throw new AnogenError(`generatorLoss: loss ${JSON.stringify(kind)} is not valid; expected ${GAN_LOSSES.join(' or ')}`);
}

/** The L2 norm of the accumulated gradients of `params` (0-d; params without a gradient count 0). */
export function gradNorm(params: Tensor[]): Tensor {
  return noGrad(() => {
    const sq = params.flatMap((p) => {
      const g = p.grad;
      return g === null ? [] : [g.float().square().sum()];
    });
    if (sq.length === 0) throw new AnogenError('gradNorm: no parameter has a gradient');
    return stack(sq).sum().sqrt();
  });
}

/**
 * Reads the named 0-d losses once and throws the loop's DivergenceError when one is NaN or
 * infinite: for steps that update one network before computing the next one's loss (the
 * discriminator before the generator, as the references do), so a bad value never reaches the
 * weights.
 */
export function assertFinite(losses: Record<string, Tensor>, ctx: StepContext): void {
  const names = Object.keys(losses);
  const vals = noGrad(() => stack(names.map((k) => losses[k]!.detach().reshape([]).float())).toFloat32Array());
  names.forEach((k, i) => {
    if (!Number.isFinite(vals[i]!)) throw divergence(ctx.epoch, ctx.step, `loss '${k}'`, vals[i]!, false);
  });
}
