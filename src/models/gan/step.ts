/**
 * The DCGAN training step, in the order of the PyTorch DCGAN example (pytorch/examples,
 * dcgan/main.py), with src/optim's Adam (lr 2e-4, betas 0.5 / 0.999):
 *
 *   z ~ N(0, 1);  fake = G(z)
 *   D: zeroGrad; L_D = bce(D(x), 1) + bce(D(fake.detach()), 0); backward; stepD
 *   G: zeroGrad; L_G = minimax or non-saturating loss of D(fake) (D just updated); backward
 *   update(): stepG
 *
 * The discriminator's loss is checked (finite) before its update, and the generator's by the
 * loop before `update()`. The generator's gradients exist before `update()`, so the step reports
 * their L2 norm (`gGradNorm`) beside the losses: the minimax vs non-saturating comparison.
 * finish(): the generator's batch-norm statistics are recomputed for the final weights over
 * seeded latent batches (sampling runs in eval mode), without touching any weight.
 */
import { randn } from '../../core/creation.js';
import type { Device, Tensor } from '../../core/tensor.js';
import { recalibrateBatchNorm } from '../../nn/batchnorm.js';
import type { Module } from '../../nn/module.js';
import { Adam } from '../../optim/index.js';
import type { StepContext, TrainingProcess } from '../../train/loop.js';
import { seededLatent, type GeneratorProcessOptions } from '../generative.js';
import type { AdversarialNetworks } from './networks.js';
import { assertFinite, discriminatorLoss, generatorLoss, gradNorm, type GanLoss } from './loss.js';

/** Names of the per-step values the GAN step reports, with what each is. */
export const GAN_STEP_LOSSES: Record<string, string> = {
  d: 'discriminator: bce(D(x), 1) + bce(D(G(z)), 0)',
  g: "generator: the selected loss ('minimax' log(1 - D(G(z))) or 'non-saturating' -log D(G(z))) after D's update",
  dReal: 'bce(D(x), 1)',
  dFake: 'bce(D(G(z)), 0)',
  gGradNorm: "L2 norm of the generator's gradient of this step",
};

/** The GAN step's settings (from the model's hyperparameters). */
export interface GanStepConfig {
  loss: GanLoss;
  beta1: number;
  beta2: number;
  /** Recompute G's batch-norm statistics after training (default true). */
  bnRecalibration: boolean;
}

/** Latent batches used to recompute the generator's batch-norm statistics. */
export const BN_RECALIBRATION_BATCHES = 16;

/**
 * Recomputes the batch-norm statistics of a generator for its current weights over
 * {@link BN_RECALIBRATION_BATCHES} seeded latent batches of `batchSize` (seed 0; torch's
 * generator is left as it was). No weight changes.
 */
export function recalibrateGenerator(netG: Module<[Tensor], Tensor>, nz: number, batchSize: number, device: Device): void {
  const z = seededLatent(BN_RECALIBRATION_BATCHES * batchSize, nz, 0);
  const zd = device === 'cpu' ? z : z.to(device);
  try {
    recalibrateBatchNorm(netG, zd, batchSize);
  } finally {
    if (zd !== z) zd.dispose();
    z.dispose();
  }
}

/** One DCGAN training run (optimisers + step) for src/train's loop. */
export function ganProcess(nets: AdversarialNetworks, cfg: GanStepConfig, o: GeneratorProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const { netG, netD } = nets;
  const nz = nets.arch.nz;
  const adam = { lr: o.lr, betas: [cfg.beta1, cfg.beta2] as [number, number] };
  const optG = new Adam(netG.parameters(), adam);
  const optD = new Adam(netD.parameters(), adam);
  return {
    optimizers: { g: optG, d: optD },
    step(x: Tensor, ctx: StepContext) {
      netG.train();
      netD.train();
      const n = x.shape[0]!;
      const fake = netG.call(randn([n, nz, 1, 1], { device: ctx.device }));
      optD.zeroGrad();
      const d = discriminatorLoss(netD.call(x), netD.call(fake.detach()));
      assertFinite({ d: d.total }, ctx);
      d.total.backward();
      optD.step();
      optG.zeroGrad();
      const g = generatorLoss(netD.call(fake), cfg.loss);
      g.backward();
      return {
        losses: { d: d.total, g, dReal: d.real, dFake: d.fake, gGradNorm: gradNorm(netG.parameters()) },
        update: () => optG.step(),
      };
    },
    async finish() {
      if (cfg.bnRecalibration) recalibrateGenerator(netG, nz, Math.min(o.batchSize, o.source.length), o.device);
    },
    dispose() {
      // Gradients and optimiser state are training-only: a fitted model holds weights only.
      netG.zeroGrad();
      netD.zeroGrad();
      optG.dispose();
      optD.dispose();
    },
  };
}
