/**
 * GANomaly losses (Akcay et al., 2018, eq. 1-4).
 *
 * Generator: L = wAdv * L_adv + wCon * L_con + wEnc * L_enc with
 * - L_adv = mean (f(x) - f(x^))^2, f = the discriminator's features (feature matching);
 * - L_con = mean |x - x^| (contextual / reconstruction loss, L1);
 * - L_enc = mean (z - z^)^2 (encoder loss, L2);
 * weights default 1 / 50 / 1.
 * Discriminator: L_D = (BCE(D(x), 1) + BCE(D(x^), 0)) / 2.
 */
import { onesLike, zerosLike, type Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';

/** Loss weights (defaults 1 / 50 / 1, the paper's). */
export interface GanomalyLossWeights {
  wAdv: number;
  wCon: number;
  wEnc: number;
}

/** The generator's loss and its three terms. */
export function generatorLoss(
  x: Tensor,
  fake: Tensor,
  latentI: Tensor,
  latentO: Tensor,
  featReal: Tensor,
  featFake: Tensor,
  w: GanomalyLossWeights,
): { total: Tensor; adv: Tensor; con: Tensor; enc: Tensor } {
  const adv = F.mseLoss(featFake, featReal);
  const con = F.l1Loss(fake, x);
  const enc = F.mseLoss(latentO, latentI);
  const total = adv.mul(w.wAdv).add(con.mul(w.wCon)).add(enc.mul(w.wEnc));
  return { total, adv, con, enc };
}

/**
 * The discriminator's loss: mean of BCE on real (target 1) and on fake (target 0). The target
 * tensors may be passed in (default: made to the predictions' shape).
 */
export function discriminatorLoss(
  predReal: Tensor,
  predFake: Tensor,
  ones: Tensor = onesLike(predReal),
  zeros: Tensor = zerosLike(predFake),
): { total: Tensor; real: Tensor; fake: Tensor } {
  const real = F.bce(predReal, ones);
  const fake = F.bce(predFake, zeros);
  return { total: real.add(fake).mul(0.5), real, fake };
}

/** Per-image anomaly score A(x) = mean over the latent of (z - z^)^2 (N x nz x 1 x 1 -> N). */
export function latentScore(latentI: Tensor, latentO: Tensor): Tensor {
  return latentI.sub(latentO).square().flatten(1).mean(1);
}

/** Anomaly map |x - x^| averaged over channels: N x 1 x H x W. */
export function residualMap(x: Tensor, fake: Tensor): Tensor {
  return x.sub(fake).abs().mean(1, true);
}
