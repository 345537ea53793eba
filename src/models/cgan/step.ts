/**
 * The conditional GAN step: `gan`'s step (the PyTorch DCGAN example's order, Adam 2e-4 with
 * betas 0.5 / 0.999) with the batch's class labels y given to both networks:
 *
 *   z ~ N(0, 1);  fake = G(z, y)      (the fakes are conditioned on the real batch's labels)
 *   D: zeroGrad; L_D = bce(D(x, y), 1) + bce(D(fake.detach(), y), 0); backward; stepD
 *   G: zeroGrad; L_G = minimax or non-saturating loss of D(fake, y); backward; update(): stepG
 *
 * The labels come from the loop (`ctx.labels`: the batch source's `labels`, which src/train's
 * SplitSource reads from the data split and a TensorSource holds when built with them).
 * finish(): G's batch-norm statistics are recomputed over seeded latent batches with the classes
 * in turn (0, 1, ..., K-1, 0, ...).
 */
import { arange, randn, tensor } from '../../core/creation.js';
import { AnogenError } from '../../core/errors.js';
import type { Device, Tensor } from '../../core/tensor.js';
import { recalibrateBatchNorm } from '../../nn/batchnorm.js';
import { Adam } from '../../optim/index.js';
import type { StepContext, TrainingProcess } from '../../train/loop.js';
import { seededLatent, type GeneratorProcessOptions } from '../generative.js';
import { assertFinite, discriminatorLoss, generatorLoss, gradNorm, type GanLoss } from '../gan/loss.js';
import { BN_RECALIBRATION_BATCHES } from '../gan/step.js';
import type { ConditionalNetworks } from './networks.js';

/** Names of the per-step values the cgan step reports, with what each is. */
export const CGAN_STEP_LOSSES: Record<string, string> = {
  d: 'discriminator: bce(D(x, y), 1) + bce(D(G(z, y), y), 0)',
  g: "generator: the selected loss ('minimax' log(1 - D(G(z, y), y)) or 'non-saturating' -log D(G(z, y), y)) after D's update",
  dReal: 'bce(D(x, y), 1)',
  dFake: 'bce(D(G(z, y), y), 0)',
  gGradNorm: "L2 norm of the generator's gradient of this step",
};

/** The cgan step's settings (from the model's hyperparameters). */
export interface CganStepConfig {
  loss: GanLoss;
  beta1: number;
  beta2: number;
  bnRecalibration: boolean;
}

/** Classes 0, 1, ..., K-1, 0, 1, ... of `n` images (int64 [n]). */
export function cyclingLabels(n: number, numClasses: number): Tensor {
  return arange(0, n, 1, { dtype: 'int64' }).remainder(numClasses);
}

/**
 * Recomputes G's batch-norm statistics for its current weights over {@link BN_RECALIBRATION_BATCHES}
 * seeded latent batches of `batchSize` (seed 0) with cycling classes; no weight changes.
 */
export function recalibrateConditionalGenerator(nets: ConditionalNetworks, batchSize: number, device: Device): void {
  const n = BN_RECALIBRATION_BATCHES * batchSize;
  const z = seededLatent(n, nets.arch.nz, 0);
  const y = cyclingLabels(n, nets.arch.numClasses);
  const input = nets.generatorInput(z, y);
  const on = device === 'cpu' ? input : input.to(device);
  try {
    recalibrateBatchNorm(nets.netG, on, batchSize);
  } finally {
    if (on !== input) on.dispose();
    for (const t of [z, y, input]) t.dispose();
  }
}

/** One cgan training run (optimisers + step) for src/train's loop. */
export function cganProcess(nets: ConditionalNetworks, cfg: CganStepConfig, o: GeneratorProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const { netG, netD } = nets;
  const { nz } = nets.arch;
  const adam = { lr: o.lr, betas: [cfg.beta1, cfg.beta2] as [number, number] };
  const optG = new Adam(netG.parameters(), adam);
  const optD = new Adam(netD.parameters(), adam);
  return {
    optimizers: { g: optG, d: optD },
    step(x: Tensor, ctx: StepContext) {
      const n = x.shape[0]!;
      if (ctx.labels === undefined) {
        throw new AnogenError(
          'cgan trains on class-labelled images: the batch source gave no labels (train on mnist, fashion-mnist or an IDX folder, or fit a TensorSource built with labels)',
        );
      }
      if (ctx.labels.length !== n) throw new AnogenError(`cgan: the batch has ${n} images but ${ctx.labels.length} labels`);
      netG.train();
      netD.train();
      const y = tensor(ctx.labels, { dtype: 'int64', device: ctx.device });
      const fake = nets.generate(randn([n, nz, 1, 1], { device: ctx.device }), y);
      optD.zeroGrad();
      const d = discriminatorLoss(nets.discriminate(x, y), nets.discriminate(fake.detach(), y));
      assertFinite({ d: d.total }, ctx);
      d.total.backward();
      optD.step();
      optG.zeroGrad();
      const g = generatorLoss(nets.discriminate(fake, y), cfg.loss);
      g.backward();
      return {
        losses: { d: d.total, g, dReal: d.real, dFake: d.fake, gGradNorm: gradNorm(netG.parameters()) },
        update: () => optG.step(),
      };
    },
    async finish() {
      if (cfg.bnRecalibration) recalibrateConditionalGenerator(nets, Math.min(o.batchSize, o.source.length), o.device);
    },
    dispose() {
      netG.zeroGrad();
      netD.zeroGrad();
      optG.dispose();
      optD.dispose();
    },
  };
}
