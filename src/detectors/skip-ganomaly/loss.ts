/**
 * Skip-GANomaly losses and score, as the authors' code computes them (samet-akcay/skip-ganomaly,
 * lib/models/skipganomaly.py backward_g / backward_d / test).
 *
 * Generator: L_G = wAdv L_adv + wCon L_con + wLat L_lat with
 * - L_adv = BCE(D(x^), 1) (the non-saturating adversarial loss);
 * - L_con = mean |x - x^| (contextual, L1);
 * - L_lat = mean (f(x) - f(x^))^2, f = D's features (feature matching on the discriminator);
 * weights default 1 / 50 / 1 (the code's w_adv / w_con / w_lat).
 * Discriminator: L_D = BCE(D(x), 1) + BCE(D(x^), 0) (+ wLat L_lat, the code's err_d; `dLatent`).
 * Score: A(x) = lambda * mean (x - x^)^2 + (1 - lambda) * mean (f(x) - f(x^))^2, lambda = 0.9.
 */
import type { Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';

/** Loss weights (defaults 1 / 50 / 1, the authors' code). */
export interface SkipGanomalyLossWeights {
  wAdv: number;
  wCon: number;
  wLat: number;
}

/** The generator's loss and its three terms (unweighted). */
export function skipGeneratorLoss(
  x: Tensor,
  fake: Tensor,
  predFake: Tensor,
  featReal: Tensor,
  featFake: Tensor,
  ones: Tensor,
  w: SkipGanomalyLossWeights,
): { total: Tensor; adv: Tensor; con: Tensor; lat: Tensor } {
  const adv = F.bce(predFake, ones);
  const con = F.l1Loss(fake, x);
  const lat = F.mseLoss(featFake, featReal);
  const total = adv.mul(w.wAdv).add(con.mul(w.wCon)).add(lat.mul(w.wLat));
  return { total, adv, con, lat };
}

/**
 * Per-image parts of the score: rec = mean over pixels of (x - x^)^2, lat = mean over D's
 * features of (f(x) - f(x^))^2 (both [N], as the reference's test()).
 */
export function skipScoreParts(x: Tensor, fake: Tensor, featReal: Tensor, featFake: Tensor): { rec: Tensor; lat: Tensor } {
  return { rec: x.sub(fake).square().flatten(1).mean(1), lat: featReal.sub(featFake).square().flatten(1).mean(1) };
}
