/**
 * Skip-GANomaly's training step: the authors' optimize_params (samet-akcay/skip-ganomaly,
 * lib/models/skipganomaly.py) with src/optim's Adam (lr 2e-4, betas 0.5 / 0.999):
 *
 *   x^ = G(x);  D(x) -> (p_r, f(x)),  D(x^) -> (p_f, f(x^))                 (forward_g, forward_d)
 *   G: zeroGrad; L_G = wAdv BCE(p_f, 1) + wCon L1(x^, x) + wLat L2(f(x), f(x^)); backward; stepG
 *   D: zeroGrad; L_D = BCE(p_r, 1) + BCE(D(x^.detach()), 0) + wLat L2(f(x), f(x^.detach()));
 *      backward; stepD; D re-initialised when L_D < 1e-5                   (backward_d, update_netd)
 *
 * Differences from the reference, none changing what is optimised: D's latent term is computed on
 * x^.detach() (the reference backpropagates it through G after G's Adam step, which only adds
 * gradients to G that are zeroed before use, and which recent PyTorch refuses as an in-place
 * modification: samet-akcay/skip-ganomaly issue #16); G's input carries no noise (the reference
 * adds `self.noise`, a tensor it never fills because set_input is called with noise=False).
 * `dLatent: false` drops D's latent term (plain BCE).
 *
 * With bnRecalibration, the batch-norm running statistics of G and D are recomputed on the
 * training images for the current weights before every checkpoint and at the end (src/nn
 * recalibrateBatchNormFrom over SkipGanomalyNetworks.forward: G(x) and D(x)); no weight changes.
 */
import { noGrad, onesLike, zerosLike, type Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';
import { recalibrateBatchNormFrom } from '../../nn/batchnorm.js';
import { Adam } from '../../optim/index.js';
import { divergence, type StepContext, type TrainingProcess } from '../../train/loop.js';
import { sequentialBatches } from '../../train/source.js';
import type { ProcessOptions } from '../neural.js';
import { skipGanomalyInit, type SkipGanomalyNetworks } from './network.js';
import { skipGeneratorLoss, type SkipGanomalyLossWeights } from './loss.js';

/** The step's settings (from the detector's hyperparameters). */
export interface SkipGanomalyStepConfig {
  weights: SkipGanomalyLossWeights;
  /** Add wLat L_lat to D's loss, as the authors' code (default true). */
  dLatent: boolean;
  beta1: number;
  beta2: number;
  bnRecalibration: boolean;
}

/** Names of the per-step losses, with what each is (for reports). */
export const SKIP_GANOMALY_LOSSES: Record<string, string> = {
  g: 'generator total: wAdv adv + wCon con + wLat lat',
  d: 'discriminator: BCE real + BCE fake (+ wLat lat with dLatent)',
  adv: 'adversarial: BCE(D(x^), 1)',
  con: 'contextual: L1 |x - x^|',
  lat: "latent: L2 |f(x) - f(x^)|^2 on the discriminator's features",
  dReal: 'discriminator BCE on real images',
  dFake: 'discriminator BCE on reconstructions',
};

/** One Skip-GANomaly training run (optimisers + step) for src/train's loop. */
export function skipGanomalyProcess(nets: SkipGanomalyNetworks, cfg: SkipGanomalyStepConfig, o: ProcessOptions): TrainingProcess {
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
      const fake = netg.call(x);
      const [predReal, featReal] = netd.call(x);
      const [predFake, featFake] = netd.call(fake);
      const [predFakeD, featFakeD] = netd.call(fake.detach());
      // BCE rejects NaN probabilities with a libtorch error: check them first.
      if (!noGrad(() => predReal.isfinite().logicalAnd(predFake.isfinite()).logicalAnd(predFakeD.isfinite()).all().item())) {
        throw divergence(ctx.epoch, ctx.step, "the discriminator's output", NaN, true);
      }
      const ones = onesLike(predReal);
      const g = skipGeneratorLoss(x, fake, predFake, featReal, featFake, ones, cfg.weights);
      const dReal = F.bce(predReal, ones);
      const dFake = F.bce(predFakeD, zerosLike(predFakeD));
      let d = dReal.add(dFake);
      if (cfg.dLatent) d = d.add(F.mseLoss(featFakeD, featReal).mul(cfg.weights.wLat));
      return {
        losses: { g: g.total, d, adv: g.adv, con: g.con, lat: g.lat, dReal, dFake },
        update() {
          optG.zeroGrad();
          g.total.backward(null, { retainGraph: true });
          optG.step();
          optD.zeroGrad();
          d.backward();
          optD.step();
        },
      };
    },
    afterStep(losses) {
      // update_netd: the reference re-initialises D when its loss collapses.
      if (losses.d! < 1e-5) noGrad(() => skipGanomalyInit(netd));
    },
    async finish() {
      if (cfg.bnRecalibration) await recalibrateBatchNormFrom(nets, sequentialBatches(o.source, Math.min(o.batchSize, o.source.length), o.device));
    },
    dispose() {
      optG.zeroGrad();
      optD.zeroGrad();
      nets.zeroGrad();
      optG.dispose();
      optD.dispose();
    },
  };
}
