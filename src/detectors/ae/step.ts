/**
 * The autoencoder's training step: x^ = decoder(encoder(x)); L = mean (x^ - x)^2 (loss 'mse',
 * default) or mean |x^ - x| ('l1') over the batch and pixels; zeroGrad, backward, Adam step.
 * With bnRecalibration (conv only; default true), the batch-norm running statistics are
 * recomputed on the training images for the current weights before every checkpoint and at
 * the end (src/nn recalibrateBatchNormFrom), as GANomaly does: no weight changes.
 */
import type { Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';
import { recalibrateBatchNormFrom } from '../../nn/batchnorm.js';
import { Adam } from '../../optim/index.js';
import type { TrainingProcess } from '../../train/loop.js';
import { sequentialBatches } from '../../train/source.js';
import type { ProcessOptions } from '../neural.js';
import type { Codec } from './network.js';

/** Reconstruction losses of the autoencoder. */
export const AE_LOSS_KINDS = ['mse', 'l1'] as const;

/** The step's settings (from the detector's hyperparameters). */
export interface AeStepConfig {
  /** 'mse' (default) or 'l1'. */
  loss: (typeof AE_LOSS_KINDS)[number];
  /** Adam beta1 (default 0.9). */
  beta1: number;
  /** Adam beta2 (default 0.999). */
  beta2: number;
  /** Recompute batch-norm statistics after training (default true). */
  bnRecalibration: boolean;
}

/** Names of the per-step losses, with what each is (for reports). */
export const AE_LOSSES: Record<string, string> = {
  rec: 'reconstruction: mean (x - x^)^2 (mse) or mean |x - x^| (l1)',
};

/** Per-image reconstruction error: mean over C, H, W of (x - x^)^2 ('mse') or |x - x^| ('l1') -> [N]. */
export function reconstructionError(x: Tensor, xhat: Tensor, loss: AeStepConfig['loss']): Tensor {
  const d = x.sub(xhat);
  return (loss === 'l1' ? d.abs() : d.square()).flatten(1).mean(1);
}

/** One autoencoder training run (optimiser + step) for src/train's loop. */
export function aeProcess(net: Codec, cfg: AeStepConfig, o: ProcessOptions): TrainingProcess {
  if (o.fresh) net.resetParameters();
  const opt = new Adam(net.parameters(), { lr: o.lr, betas: [cfg.beta1, cfg.beta2] });
  const lossFn = cfg.loss === 'l1' ? F.l1Loss : F.mseLoss;
  return {
    optimizers: { ae: opt },
    step(x: Tensor) {
      net.train();
      const rec = lossFn(net.call(x), x);
      return {
        losses: { rec },
        update() {
          opt.zeroGrad();
          rec.backward();
          opt.step();
        },
      };
    },
    async finish() {
      if (cfg.bnRecalibration) await recalibrateBatchNormFrom(net, sequentialBatches(o.source, Math.min(o.batchSize, o.source.length), o.device));
    },
    dispose() {
      opt.zeroGrad();
      net.zeroGrad();
      opt.dispose();
    },
  };
}
