/**
 * EGBAD's training step: the BiGAN losses of the authors' code
 * (houssamzenati/Efficient-GAN-Anomaly-Detection, bigan/run_mnist.py), with logits l and the
 * sigmoid cross-entropy BCE(l, t) averaged over the batch:
 *
 *   z_x = E(x);  z ~ N(0, I) (torch's generator, on the step's device);  x_z = G(z)
 *   l_enc = D(x, z_x),  l_gen = D(x_z, z)
 *   L_D = BCE(l_enc, 1) + BCE(l_gen, 0)       (real pairs: (x, E(x)); fake pairs: (G(z), z))
 *   L_G = BCE(l_gen, 1)                        (G fools D)
 *   L_E = BCE(l_enc, 0)                        (E fools D)
 *
 * Three Adam optimisers (lr 2e-4 here, betas 0.5 / 0.999), each on its own loss and network:
 * D's gradients are taken with autograd.grad(L_D, D's parameters), then L_G + L_E is
 * backpropagated (L_G reaches only G, L_E only E, among the generator-side networks), D's
 * gradients are put back, and all three step. The authors run D's update and then E/G's on
 * another batch with a new z; here the three update together from one batch (one forward), as
 * most BiGAN implementations. `rec` (mean |x - G(E(x))|, no gradient) is reported to show
 * whether the BiGAN learns to invert G; it is not optimised.
 *
 * With bnRecalibration, the batch-norm running statistics of E, G (on E(x)) and D's image path are
 * recomputed on the training images before every checkpoint and at the end (src/nn
 * recalibrateBatchNormFrom over EgbadNetworks.forward); no weight changes.
 */
import { grad, noGrad, onesLike, randn, zerosLike, type Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';
import { recalibrateBatchNormFrom } from '../../nn/batchnorm.js';
import { Adam } from '../../optim/index.js';
import type { StepContext, TrainingProcess } from '../../train/loop.js';
import { sequentialBatches } from '../../train/source.js';
import type { ProcessOptions } from '../neural.js';
import type { EgbadNetworks } from './network.js';

/** The step's settings (from the detector's hyperparameters). */
export interface EgbadStepConfig {
  /** Adam beta1 (default 0.5, the authors'). */
  beta1: number;
  /** Adam beta2 (default 0.999). */
  beta2: number;
  /** Recompute batch-norm statistics after training (default true). */
  bnRecalibration: boolean;
}

/** Names of the per-step losses, with what each is (for reports). */
export const EGBAD_LOSSES: Record<string, string> = {
  d: 'discriminator: BCE(D(x, E(x)), 1) + BCE(D(G(z), z), 0)',
  g: 'generator: BCE(D(G(z), z), 1)',
  e: 'encoder: BCE(D(x, E(x)), 0)',
  dEnc: 'discriminator BCE on real pairs (x, E(x))',
  dGen: 'discriminator BCE on generated pairs (G(z), z)',
  rec: 'monitor (not optimised): mean |x - G(E(x))|',
};

/** One EGBAD training run (three optimisers + step) for src/train's loop. */
export function egbadProcess(nets: EgbadNetworks, cfg: EgbadStepConfig, o: ProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const { encoder, generator, discriminator } = nets;
  const adam = { lr: o.lr, betas: [cfg.beta1, cfg.beta2] as [number, number] };
  const dParams = discriminator.parameters();
  const optD = new Adam(dParams, adam);
  const optG = new Adam(generator.parameters(), adam);
  const optE = new Adam(encoder.parameters(), adam);
  return {
    optimizers: { d: optD, g: optG, e: optE },
    step(x: Tensor, ctx: StepContext) {
      nets.train();
      const n = x.shape[0]!;
      const zx = nets.encode(x);
      const z = randn([n, nets.arch.nz], { device: ctx.device });
      const xz = nets.generate(z);
      const [lEnc] = discriminator.call(x, zx);
      const [lGen] = discriminator.call(xz, z);
      const one = onesLike(lEnc);
      const zero = zerosLike(lEnc);
      const dEnc = F.bceWithLogits(lEnc, one);
      const dGen = F.bceWithLogits(lGen, zero);
      const d = dEnc.add(dGen);
      const g = F.bceWithLogits(lGen, one);
      const e = F.bceWithLogits(lEnc, zero);
      const rec = noGrad(() => x.sub(nets.generate(zx.detach())).abs().mean());
      return {
        losses: { d, g, e, dEnc, dGen, rec },
        update() {
          optD.zeroGrad();
          optG.zeroGrad();
          optE.zeroGrad();
          const gradsD = grad(d, dParams, { retainGraph: true });
          g.add(e).backward();
          dParams.forEach((p, i) => {
            p.grad = gradsD[i]!;
            gradsD[i]!.dispose();
          });
          optD.step();
          optG.step();
          optE.step();
        },
      };
    },
    async finish() {
      if (cfg.bnRecalibration) await recalibrateBatchNormFrom(nets, sequentialBatches(o.source, Math.min(o.batchSize, o.source.length), o.device));
    },
    dispose() {
      optD.zeroGrad();
      optG.zeroGrad();
      optE.zeroGrad();
      nets.zeroGrad();
      optD.dispose();
      optG.dispose();
      optE.dispose();
    },
  };
}
