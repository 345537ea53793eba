/**
 * The pix2pix training step, in the order of the authors' code (models/pix2pix_model.py,
 * optimize_parameters), with src/optim's Adam (lr 2e-4, betas 0.5 / 0.999):
 *
 *   y = the batch (targets); x = the task's input made from y (src/models/paired.ts); fake = G(x)
 *   D: zeroGrad; L_D = 0.5 (bce(D(x, y), 1) + bce(D(x, fake.detach()), 0)); backward; stepD
 *   G: zeroGrad; L_G = bce(D(x, fake), 1) + lambdaL1 |y - fake|_1 (D just updated); backward
 *   update(): stepG
 *
 * D sees (input, image) pairs concatenated on the channels. The discriminator's loss is checked
 * (finite) before its update, the generator's by the loop before `update()`; the generator's
 * gradient norm is reported beside the losses. The first `probe` training images are kept for
 * `sample` (src/models/paired.ts).
 */
import { cat, type Tensor } from '../../core/tensor.js';
import { noGrad } from '../../core/autograd.js';
import { Adam } from '../../optim/index.js';
import type { StepContext, TrainingProcess } from '../../train/loop.js';
import type { GeneratorProcessOptions } from '../generative.js';
import { assertFinite, gradNorm } from '../gan/loss.js';
import { pairedInput, type PairedTask } from '../paired.js';
import { pix2pixDiscriminatorLoss, pix2pixGeneratorLoss } from './loss.js';
import type { Pix2pixNetworks } from './networks.js';

/** Names of the per-step values the pix2pix step reports, with what each is. */
export const PIX2PIX_STEP_LOSSES: Record<string, string> = {
  d: 'discriminator: 0.5 (bce(D(x, y), 1) + bce(D(x, G(x)), 0)) over the patch map',
  g: 'generator: gGan + lambdaL1 * gL1 (after D’s update)',
  gGan: 'bce(D(x, G(x)), 1): the cGAN term of the generator',
  gL1: 'mean |y - G(x)|: the L1 term before its weight',
  dReal: 'bce(D(x, y), 1)',
  dFake: 'bce(D(x, G(x)), 0)',
  gGradNorm: "L2 norm of the generator's gradient of this step",
};

/** The pix2pix step's settings (from the model's hyperparameters). */
export interface Pix2pixStepConfig {
  task: PairedTask;
  lambdaL1: number;
  beta1: number;
  beta2: number;
  range: [number, number];
}

/** One pix2pix training run (optimisers + step) for src/train's loop. */
export function pix2pixProcess(nets: Pix2pixNetworks, cfg: Pix2pixStepConfig, o: GeneratorProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const { netG, netD, probe } = nets;
  const adam = { lr: o.lr, betas: [cfg.beta1, cfg.beta2] as [number, number] };
  const optG = new Adam(netG.parameters(), adam);
  const optD = new Adam(netD.parameters(), adam);
  return {
    optimizers: { g: optG, d: optD },
    step(y: Tensor, ctx: StepContext) {
      probe.add(y);
      netG.train();
      netD.train();
      const x = noGrad(() => pairedInput(y, cfg.task, cfg.range));
      const fake = netG.call(x);
      optD.zeroGrad();
      const d = pix2pixDiscriminatorLoss(netD.call(cat([x, y], 1)), netD.call(cat([x, fake.detach()], 1)));
      assertFinite({ d: d.total }, ctx);
      d.total.backward();
      optD.step();
      optG.zeroGrad();
      const g = pix2pixGeneratorLoss(netD.call(cat([x, fake], 1)), fake, y, cfg.lambdaL1);
      g.total.backward();
      return {
        losses: { d: d.total, g: g.total, gGan: g.gan, gL1: g.l1, dReal: d.real, dFake: d.fake, gGradNorm: gradNorm(netG.parameters()) },
        update: () => optG.step(),
      };
    },
    dispose() {
      netG.zeroGrad();
      netD.zeroGrad();
      optG.dispose();
      optD.dispose();
    },
  };
}
