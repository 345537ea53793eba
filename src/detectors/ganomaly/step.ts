/**
 * GANomaly's training step: exactly the authors' (samet-akcay/ganomaly, lib/model.py
 * optimize_params), with src/optim's Adam (lr 2e-4, betas 0.5 / 0.999) and plain backward():
 *
 *   x^, z, z^ = G(x);  D(x), D(x^.detach())                        (forward_g, forward_d)
 *   G: zeroGrad; L_G = wAdv L2(f(x), f(x^)) + wCon L1(x^, x) + wEnc L2(z, z^);
 *      L_G.backward(retainGraph); stepG                             (update_netg)
 *   D: zeroGrad; L_D = (BCE(D(x), 1) + BCE(D(x^.detach()), 0)) / 2; backward; stepD   (update_netd)
 *   D re-initialised (DCGAN init) when L_D < 1e-5.
 *
 * The loop (src/train) checks every loss before `update` runs. With bnRecalibration, the
 * generator's batch-norm running statistics are recomputed on the training images for the
 * current weights (src/nn recalibrateBatchNormFrom) before every checkpoint and at the end;
 * this changes no weight and no loss.
 */
import { noGrad, ones, zeros, type Tensor } from '../../core/index.js';
import { dcganInit } from '../../nn/init.js';
import { recalibrateBatchNormFrom } from '../../nn/batchnorm.js';
import { Adam } from '../../optim/index.js';
import { divergence, type StepContext, type TrainingProcess } from '../../train/loop.js';
import { sequentialBatches } from '../../train/source.js';
import type { ProcessOptions } from '../neural.js';
import type { GanomalyNetworks } from './network.js';
import { discriminatorLoss, generatorLoss, type GanomalyLossWeights } from './loss.js';

/** The step's settings (from the detector's hyperparameters). */
export interface GanomalyStepConfig {
  weights: GanomalyLossWeights;
  beta1: number;
  beta2: number;
  bnRecalibration: boolean;
}

/** Names of the per-step losses, with what each is (for reports). */
export const GANOMALY_LOSSES: Record<string, string> = {
  g: 'generator total: wAdv adv + wCon con + wEnc enc',
  d: 'discriminator BCE (real + fake) / 2',
  adv: 'adversarial: feature matching |f(x) - f(x^)|^2',
  con: 'contextual: L1 |x - x^|',
  enc: 'latent: L2 |z - z^|^2',
  dReal: 'discriminator BCE on real images',
  dFake: 'discriminator BCE on reconstructions',
};

/** One GANomaly training run (optimisers + step) for src/train's loop. */
export function ganomalyProcess(nets: GanomalyNetworks, cfg: GanomalyStepConfig, o: ProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const { netg, netd } = nets;
  const adam = { lr: o.lr, betas: [cfg.beta1, cfg.beta2] as [number, number] };
  const optG = new Adam(netg.parameters(), adam);
  const optD = new Adam(netd.parameters(), adam);
  return {
    optimizers: { g: optG, d: optD },
    step(x: Tensor, ctx: StepContext) {
      netg.train();
      netd.train();
      const [fake, latentI, latentO] = netg.call(x);
      const [predReal] = netd.call(x);
      const [predFake] = netd.call(fake.detach());
      // BCE rejects NaN probabilities with a libtorch error: check them first.
      if (!noGrad(() => predReal.isfinite().logicalAnd(predFake.isfinite()).all().item())) {
        throw divergence(ctx.epoch, ctx.step, "the discriminator's output", NaN, true);
      }
      // update_netg's loss: D's features of x and of x^ (both through D, as the reference)
      const g = generatorLoss(x, fake, latentI, latentO, netd.call(x)[1], netd.call(fake)[1], cfg.weights);
      const n = x.shape[0]!;
      const d = discriminatorLoss(predReal, predFake, ones([n], { device: ctx.device }), zeros([n], { device: ctx.device }));
      return {
        losses: { g: g.total, d: d.total, adv: g.adv, con: g.con, enc: g.enc, dReal: d.real, dFake: d.fake },
        update() {
          optG.zeroGrad();
          g.total.backward(null, { retainGraph: true });
          optG.step();
          optD.zeroGrad();
          d.total.backward();
          optD.step();
        },
      };
    },
    afterStep(losses) {
      // update_netd: the reference re-initialises D when its loss collapses.
      if (losses.d! < 1e-5) noGrad(() => dcganInit(netd));
    },
    async finish() {
      if (cfg.bnRecalibration) await recalibrateBatchNormFrom(netg, sequentialBatches(o.source, Math.min(o.batchSize, o.source.length), o.device));
    },
    dispose() {
      // Gradients and optimiser state are training-only: a fitted detector holds weights only.
      optG.zeroGrad();
      optD.zeroGrad();
      netg.zeroGrad();
      netd.zeroGrad();
      optG.dispose();
      optD.dispose();
    },
  };
}
