/**
 * AnoGAN's training as one run of src/train's loop, in two phases counted by ctx.epoch:
 *
 * 1. epochs 1..ganEpochs: a DCGAN on the normal images (Radford et al.; AnoGAN trains a DCGAN):
 *      z ~ N(0, I);  L_G = BCE(D(G(z)), 1)  (non-saturating);  L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)
 *    G is updated, then D (Adam, lr 2e-4, betas 0.5 / 0.999), from one forward pass;
 * 2. then encoderEpochs of f-AnoGAN's izi_f training of the encoder E with G and D frozen (eval
 *    mode; Schlegl et al. 2019, eq. 8):
 *      L_izi_f = mean (x - G(E(x)))^2 + kappa mean (f(x) - f(G(E(x))))^2
 *    (f = D's features), Adam on E only.
 */
import { noGrad, ones, randn, zeros, type Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';
import { Adam } from '../../optim/index.js';
import { divergence, type StepContext, type StepOutput, type TrainingProcess } from '../../train/loop.js';
import type { ProcessOptions } from '../neural.js';
import type { AnoganNetworks } from './network.js';

/** The step's settings (from the detector's hyperparameters). */
export interface AnoganStepConfig {
  /** GAN epochs (the run's `epochs`). */
  ganEpochs: number;
  /** Weight of the feature term in izi_f's loss (default 1). */
  kappa: number;
  /** Adam beta1 (default 0.5). */
  beta1: number;
  /** Adam beta2 (default 0.999). */
  beta2: number;
}

/** Names of the per-step losses, with what each is (for reports). */
export const ANOGAN_LOSSES: Record<string, string> = {
  g: 'generator: BCE(D(G(z)), 1)',
  d: 'discriminator: BCE(D(x), 1) + BCE(D(G(z)), 0)',
  izif: 'f-AnoGAN encoder: rec + kappa feat',
  rec: 'encoder: mean (x - G(E(x)))^2',
  feat: 'encoder: mean (f(x) - f(G(E(x))))^2',
};

/** izi_f's two terms per image: mean (x - G(E(x)))^2 and mean (f(x) - f(G(E(x))))^2 (each N), and G(E(x)). */
export function iziTerms(nets: AnoganNetworks, x: Tensor, featReal: Tensor): { rec: Tensor; feat: Tensor; fake: Tensor } {
  const fake = nets.netg.call(nets.encoder.call(x));
  const rec = fake.sub(x).square().flatten(1).mean(1);
  const feat = nets.netd.call(fake)[1].sub(featReal).square().flatten(1).mean(1);
  return { rec, feat, fake };
}

/** One AnoGAN training run (optimisers + step) for src/train's loop. */
export function anoganProcess(nets: AnoganNetworks, cfg: AnoganStepConfig, o: ProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const adam = { lr: o.lr, betas: [cfg.beta1, cfg.beta2] as [number, number] };
  const optG = new Adam(nets.netg.parameters(), adam);
  const optD = new Adam(nets.netd.parameters(), adam);
  const optE = new Adam(nets.encoder.parameters(), adam);
  const nz = nets.arch.nz;
  return {
    optimizers: { g: optG, d: optD, e: optE },
    step(x: Tensor, ctx: StepContext): StepOutput {
      const n = x.shape[0]!;
      if (ctx.epoch <= cfg.ganEpochs) {
        nets.netg.train();
        nets.netd.train();
        const fake = nets.netg.call(randn([n, nz, 1, 1], { device: ctx.device }));
        const [predReal] = nets.netd.call(x);
        const [predFake] = nets.netd.call(fake.detach());
        const [predFakeG] = nets.netd.call(fake);
        if (!noGrad(() => predReal.isfinite().logicalAnd(predFake.isfinite()).all().item())) {
          throw divergence(ctx.epoch, ctx.step, "the discriminator's output", NaN, true);
        }
        const one = ones([n], { device: ctx.device });
        const g = F.bce(predFakeG, one);
        const d = F.bce(predReal, one).add(F.bce(predFake, zeros([n], { device: ctx.device })));
        return {
          losses: { g, d },
          update() {
            optG.zeroGrad();
            g.backward();
            optG.step();
            optD.zeroGrad();
            d.backward();
            optD.step();
          },
        };
      }
      nets.netg.eval();
      nets.netd.eval();
      nets.encoder.train();
      const featReal = noGrad(() => nets.netd.call(x)[1]);
      const t = iziTerms(nets, x, featReal);
      const rec = t.rec.mean();
      const feat = t.feat.mean();
      const izif = rec.add(feat.mul(cfg.kappa));
      return {
        losses: { izif, rec, feat },
        update() {
          optE.zeroGrad();
          izif.backward();
          optE.step();
          nets.netg.zeroGrad(); // G and D are frozen: drop the gradients that reached them
          nets.netd.zeroGrad();
        },
      };
    },
    dispose() {
      for (const opt of [optG, optD, optE]) {
        opt.zeroGrad();
        opt.dispose();
      }
      nets.zeroGrad();
    },
  };
}
