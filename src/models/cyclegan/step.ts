/**
 * The CycleGAN training step, in the order of the authors' code (models/cycle_gan_model.py,
 * optimize_parameters), with src/optim's Adam (lr 2e-4, betas 0.5 / 0.999), one optimiser for
 * both generators and one for both discriminators as the reference:
 *
 *   a, b = the two halves of the batch (src/models/paired.ts UnpairedSource: A stacked over B)
 *   G: zeroGrad; L_G = adversarial + cycle + identity (src/models/cyclegan/loss.ts); backward
 *   D: L_D_A = lsgan(D_A(b), G(a).detach()), L_D_B = lsgan(D_B(a), F(b).detach())
 *   update(): stepG; zeroGrad D (the generators' backward reached D's weights too); backward L_D_A + L_D_B; stepD
 *
 * The discriminators judge the fakes of this step (the reference's 50-image history pool is
 * not implemented). Every loss is checked by the loop before `update()`; the generators'
 * gradient norm is reported beside the losses. The first `probe` domain-A images are kept for
 * `sample`.
 */
import type { Tensor } from '../../core/tensor.js';
import { Adam } from '../../optim/index.js';
import type { StepContext, TrainingProcess } from '../../train/loop.js';
import type { GeneratorProcessOptions } from '../generative.js';
import { gradNorm } from '../gan/loss.js';
import { splitUnpaired } from '../paired.js';
import { cycleGeneratorLosses, lsganDiscriminatorLoss, type CycleWeights } from './loss.js';
import type { CycleganNetworks } from './networks.js';

/** Names of the per-step values the CycleGAN step reports, with what each is. */
export const CYCLEGAN_STEP_LOSSES: Record<string, string> = {
  d: 'discriminators: dA + dB',
  g: 'generators: gAdv + cycle + identity',
  dA: 'D_A (judges domain B): 0.5 ((D_A(b) - 1)^2 + D_A(G(a))^2)',
  dB: 'D_B (judges domain A): 0.5 ((D_B(a) - 1)^2 + D_B(F(b))^2)',
  gAdv: '(D_A(G(a)) - 1)^2 + (D_B(F(b)) - 1)^2',
  cycle: 'lambdaCycle (|F(G(a)) - a| + |G(F(b)) - b|)',
  identity: 'lambdaIdentity lambdaCycle (|G(b) - b| + |F(a) - a|)',
  gGradNorm: "L2 norm of both generators' gradient of this step",
};

/** The CycleGAN step's settings (from the model's hyperparameters). */
export interface CycleganStepConfig extends CycleWeights {
  beta1: number;
  beta2: number;
}

/** One CycleGAN training run (optimisers + step) for src/train's loop; batches come from an UnpairedSource. */
export function cycleganProcess(nets: CycleganNetworks, cfg: CycleganStepConfig, o: GeneratorProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const { netG_A, netG_B, netD_A, netD_B, probe } = nets;
  const adam = { lr: o.lr, betas: [cfg.beta1, cfg.beta2] as [number, number] };
  const gParams = [...netG_A.parameters(), ...netG_B.parameters()];
  const optG = new Adam(gParams, adam);
  const optD = new Adam([...netD_A.parameters(), ...netD_B.parameters()], adam);
  const fns = { G: (x: Tensor) => netG_A.call(x), F: (x: Tensor) => netG_B.call(x), DA: (x: Tensor) => netD_A.call(x), DB: (x: Tensor) => netD_B.call(x) };
  return {
    optimizers: { g: optG, d: optD },
    step(x: Tensor, _ctx: StepContext) {
      const [a, b] = splitUnpaired(x);
      probe.add(a);
      nets.train();
      optG.zeroGrad();
      const g = cycleGeneratorLosses(fns, a, b, cfg);
      g.total.backward();
      const gNorm = gradNorm(gParams);
      const dA = lsganDiscriminatorLoss(netD_A.call(b), netD_A.call(g.fakeB.detach()));
      const dB = lsganDiscriminatorLoss(netD_B.call(a), netD_B.call(g.fakeA.detach()));
      const d = dA.add(dB);
      return {
        losses: { d, g: g.total, dA, dB, gAdv: g.adversarial, cycle: g.cycle, identity: g.identity, gGradNorm: gNorm },
        update: () => {
          optG.step();
          optD.zeroGrad();
          d.backward();
          optD.step();
        },
      };
    },
    dispose() {
      nets.zeroGrad();
      optG.dispose();
      optD.dispose();
    },
  };
}
