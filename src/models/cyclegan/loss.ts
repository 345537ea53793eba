/**
 * The CycleGAN losses (Zhu et al., 2017, eq. 1-3 and sec. 4/7.1), as the authors' code computes
 * them (models/cycle_gan_model.py, gan_mode 'lsgan'), for G: A -> B, F: B -> A, D_A judging
 * domain B and D_B judging domain A (the reference's names):
 *
 *   adversarial (least squares, Mao et al.): L_G = mean (D_A(G(a)) - 1)^2 + mean (D_B(F(b)) - 1)^2
 *   cycle:    lambdaCycle * (mean |F(G(a)) - a| + mean |G(F(b)) - b|)                (lambdaCycle = 10)
 *   identity: lambdaIdentity * lambdaCycle * (mean |G(b) - b| + mean |F(a) - a|)     (lambdaIdentity = 0.5)
 *   discriminators: 0.5 * (mean (D(real) - 1)^2 + mean D(fake)^2), each
 */
import type { Tensor } from '../../core/tensor.js';
import * as F from '../../nn/functional.js';

/** Least-squares GAN loss of logits toward a target: mean (l - target)^2. */
export function lsganLoss(logits: Tensor, target: 0 | 1): Tensor {
  return target === 1 ? logits.sub(1).square().mean() : logits.square().mean();
}

/** A least-squares discriminator's loss: 0.5 * (mean (D(real) - 1)^2 + mean D(fake)^2). */
export function lsganDiscriminatorLoss(realLogits: Tensor, fakeLogits: Tensor): Tensor {
  return lsganLoss(realLogits, 1).add(lsganLoss(fakeLogits, 0)).mul(0.5);
}

/** The four networks as functions (for the losses; tests pass identities). */
export interface CycleFunctions {
  /** G: A -> B. */
  G: (a: Tensor) => Tensor;
  /** F: B -> A. */
  F: (b: Tensor) => Tensor;
  /** D_A: judges domain B (patch logits). */
  DA: (b: Tensor) => Tensor;
  /** D_B: judges domain A (patch logits). */
  DB: (a: Tensor) => Tensor;
}

/** The generators' loss weights. */
export interface CycleWeights {
  /** Cycle-consistency weight (the paper's 10). */
  lambdaCycle: number;
  /** Identity weight, relative to lambdaCycle (the paper's 0.5; 0 skips the identity terms). */
  lambdaIdentity: number;
}

/** The generators' losses of one batch, and the fakes the discriminators then judge. */
export interface CycleGeneratorLosses {
  /** adversarial + cycle + identity. */
  total: Tensor;
  /** (D_A(G(a)) - 1)^2 + (D_B(F(b)) - 1)^2 (means). */
  adversarial: Tensor;
  /** lambdaCycle (|F(G(a)) - a| + |G(F(b)) - b|) (means). */
  cycle: Tensor;
  /** lambdaIdentity lambdaCycle (|G(b) - b| + |F(a) - a|) (means); 0 when lambdaIdentity is 0. */
  identity: Tensor;
  /** G(a). */
  fakeB: Tensor;
  /** F(b). */
  fakeA: Tensor;
}

/** The generators' losses on unpaired batches a (domain A) and b (domain B); see the module comment. */
export function cycleGeneratorLosses(n: CycleFunctions, a: Tensor, b: Tensor, w: CycleWeights): CycleGeneratorLosses {
  const fakeB = n.G(a);
  const fakeA = n.F(b);
  const adversarial = lsganLoss(n.DA(fakeB), 1).add(lsganLoss(n.DB(fakeA), 1));
  const cycle = F.l1Loss(n.F(fakeB), a)
    .add(F.l1Loss(n.G(fakeA), b))
    .mul(w.lambdaCycle);
  const identity =
    w.lambdaIdentity > 0
      ? F.l1Loss(n.G(b), b)
          .add(F.l1Loss(n.F(a), a))
          .mul(w.lambdaIdentity * w.lambdaCycle)
      : adversarial.mul(0).detach();
  return { total: adversarial.add(cycle).add(identity), adversarial, cycle, identity, fakeB, fakeA };
}
