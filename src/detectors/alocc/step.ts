/**
 * ALOCC's training step (Sabokrou et al., CVPR 2018, eq. 3-5):
 *
 *   x~ = x + eta, eta ~ N(0, noise^2 I) (noise 0.155, the authors' kh_tools.get_noisy_data);  x^ = R(x~)
 *   D: L_D = BCE(D(x), 1) + BCE(D(x^), 0)                 (x^ detached)
 *   R: L_R = BCE(D(x^), 1) + lambda * mean (x^ - x)^2     (adversarial + reconstruction)
 *
 * both losses from the same forward pass; R is updated, then D (Adam, lr 2e-4, betas 0.5 / 0.999,
 * as DCGAN). With bnRecalibration, R's batch-norm running statistics are recomputed on the clean
 * training images before every checkpoint and at the end (as GANomaly's generator), since R
 * scores clean images; no weight changes. The noise is drawn from torch's generator, so a resumed run draws the same noise.
 */
import { noGrad, ones, randnLike, zeros, type Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';
import { Adam } from '../../optim/index.js';
import { divergence, type StepContext, type TrainingProcess } from '../../train/loop.js';
import { recalibrateBatchNormFrom } from '../../nn/batchnorm.js';
import { sequentialBatches } from '../../train/source.js';
import type { ProcessOptions } from '../neural.js';
import type { AloccNetworks } from './network.js';

/** The step's settings (from the detector's hyperparameters). */
export interface AloccStepConfig {
  /** Standard deviation of the Gaussian noise added to R's input in training (default 0.155). */
  noise: number;
  /** Weight of the reconstruction loss in R's loss (default 0.4). */
  lambda: number;
  /** Adam beta1 (default 0.5). */
  beta1: number;
  /** Adam beta2 (default 0.999). */
  beta2: number;
  /** Recompute R's batch-norm statistics on the (clean) training images after training (default true). */
  bnRecalibration: boolean;
}

/** Names of the per-step losses, with what each is (for reports). */
export const ALOCC_LOSSES: Record<string, string> = {
  r: 'R total: adv + lambda rec',
  d: 'D: BCE(D(x), 1) + BCE(D(R(x~)), 0)',
  adv: 'adversarial: BCE(D(R(x~)), 1)',
  rec: 'reconstruction: mean (R(x~) - x)^2',
};

/** One ALOCC training run (optimisers + step) for src/train's loop. */
export function aloccProcess(nets: AloccNetworks, cfg: AloccStepConfig, o: ProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const adam = { lr: o.lr, betas: [cfg.beta1, cfg.beta2] as [number, number] };
  const optR = new Adam(nets.r.parameters(), adam);
  const optD = new Adam(nets.d.parameters(), adam);
  return {
    optimizers: { r: optR, d: optD },
    step(x: Tensor, ctx: StepContext) {
      nets.train();
      const noisy = cfg.noise > 0 ? x.add(randnLike(x).mul(cfg.noise)) : x;
      const fake = nets.r.call(noisy);
      const [predReal] = nets.d.call(x);
      const [predFake] = nets.d.call(fake.detach());
      const [predFakeR] = nets.d.call(fake);
      if (!noGrad(() => predReal.isfinite().logicalAnd(predFake.isfinite()).all().item())) {
        throw divergence(ctx.epoch, ctx.step, "the discriminator's output", NaN, true);
      }
      const n = x.shape[0]!;
      const one = ones([n], { device: ctx.device });
      const zero = zeros([n], { device: ctx.device });
      const adv = F.bce(predFakeR, one);
      const rec = F.mseLoss(fake, x);
      const r = adv.add(rec.mul(cfg.lambda));
      const d = F.bce(predReal, one).add(F.bce(predFake, zero));
      return {
        losses: { r, d, adv, rec },
        update() {
          optR.zeroGrad();
          r.backward();
          optR.step();
          optD.zeroGrad();
          d.backward();
          optD.step();
        },
      };
    },
    async finish() {
      if (cfg.bnRecalibration) await recalibrateBatchNormFrom(nets.r, sequentialBatches(o.source, Math.min(o.batchSize, o.source.length), o.device));
    },
    dispose() {
      optR.zeroGrad();
      optD.zeroGrad();
      nets.zeroGrad();
      optR.dispose();
      optD.dispose();
    },
  };
}
