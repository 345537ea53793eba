/**
 * Deep SVDD's training (Ruff et al., ICML 2018; lukasruff/Deep-SVDD-PyTorch, ae_trainer.py and
 * deepSVDD_trainer.py) as one run of src/train's loop, in two phases counted by ctx.epoch:
 *
 * 1. epochs 1..pretrainEpochs: autoencoder pretraining of phi + decoder, L = mean over images of
 *    sum over pixels (decoder(phi(x)) - x)^2, Adam with weight decay aeWeightDecay (optimiser 'ae');
 * 2. then the center c = mean of phi(x) over every training image (eval mode, no autograd; a
 *    coordinate with |c_j| < eps becomes -eps or +eps by its sign, eps = 0.1), computed once with
 *    the pretrained weights (init_center_c), and the one-class training of phi alone (optimiser
 *    'svdd', Adam with weight decay weightDecay):
 *    - 'one-class':     L = mean ||phi(x) - c||^2
 *    - 'soft-boundary': L = R^2 + 1/nu mean max(0, ||phi(x) - c||^2 - R^2), and after warmUpEpochs
 *      epochs of this phase, R = the (1 - nu) quantile of ||phi(x) - c|| over the batch after every
 *      step (the reference's get_radius, numpy's linear quantile).
 *
 * c needs a pass over the whole training set, which the synchronous step cannot make: the
 * detector's fit hands the loop a source whose first batch request after pretraining computes c
 * first ({@link SvddRun.ensureCenter}), and `finish` (run before every checkpoint) computes it too,
 * so a checkpoint written at or after the end of pretraining always holds the final c. A
 * checkpoint written during pretraining holds a provisional c (from the weights of the moment,
 * so that it can be scored) that the run recomputes after pretraining.
 */
import { AnogenError, noGrad, tidy, type Tensor } from '../../core/index.js';
import { Adam } from '../../optim/index.js';
import type { StepContext, TrainingProcess } from '../../train/loop.js';
import { sequentialBatches, type BatchSource } from '../../train/source.js';
import type { Device } from '../../core/index.js';
import type { ProcessOptions } from '../neural.js';
import type { DeepSvddNetworks } from './network.js';

/** Deep SVDD's objectives. */
export const DEEP_SVDD_OBJECTIVES = ['one-class', 'soft-boundary'] as const;

/** The step's settings (from the detector's hyperparameters). */
export interface DeepSvddStepConfig {
  /** 'one-class' (default) or 'soft-boundary'. */
  objective: (typeof DEEP_SVDD_OBJECTIVES)[number];
  /** nu in (0, 1] of the soft-boundary objective (default 0.1). */
  nu: number;
  /** Adam's L2 weight decay in the one-class phase (default 0.5e-6, the paper's MNIST value). */
  weightDecay: number;
  /** Adam's L2 weight decay in pretraining (default 0.5e-3). */
  aeWeightDecay: number;
  /** Pretraining epochs (default 10). */
  pretrainEpochs: number;
  /** Soft-boundary: epochs of the one-class phase before R is updated (default 10). */
  warmUpEpochs: number;
  /** Coordinates of c closer to 0 than this are moved to +-eps (default 0.1). */
  centerEps: number;
}

/** Names of the per-step losses, with what each is (for reports). */
export const DEEP_SVDD_LOSSES: Record<string, string> = {
  rec: 'pretraining: mean over images of sum over pixels (x^ - x)^2',
  svdd: 'one-class: mean ||phi(x) - c||^2; soft-boundary: R^2 + 1/nu mean max(0, ||phi(x) - c||^2 - R^2)',
  dist: 'mean ||phi(x) - c||^2 over the batch',
  R: 'soft-boundary radius R',
};

/** Where a Deep SVDD run is: shared by the detector's fit (its source) and the training process. */
export class SvddRun {
  /** Steps completed. */
  done: number;
  /** True once c holds the center of the pretrained network. */
  centerReady: boolean;
  constructor(
    readonly nets: DeepSvddNetworks,
    /** The training images (unwrapped). */
    readonly source: BatchSource,
    readonly batchSize: number,
    readonly device: Device,
    /** Steps of pretraining (pretrainEpochs x steps per epoch). */
    readonly pretrainSteps: number,
    readonly centerEps: number,
    /** Steps completed before this run (a resumed run's). */
    resumedAt: number | null,
  ) {
    this.done = resumedAt ?? 0;
    // every checkpoint at or after the end of pretraining was written after finish() computed c
    this.centerReady = resumedAt !== null && resumedAt >= pretrainSteps;
  }
  /** True when pretraining is over. */
  get pretrained(): boolean {
    return this.done >= this.pretrainSteps;
  }
  /** Computes c once pretraining is over (no-op otherwise or when done). */
  async ensureCenter(): Promise<void> {
    if (this.centerReady || !this.pretrained) return;
    await this.computeCenter();
    this.centerReady = true;
  }
  /** c = mean phi(x) over the training images (eval mode), then |c_j| < eps -> +-eps (init_center_c). */
  async computeCenter(): Promise<void> {
    const { nets, centerEps: eps } = this;
    const was = nets.training;
    nets.eval();
    let sum: Tensor | null = null;
    let n = 0;
    try {
      for await (const x of sequentialBatches(this.source, Math.min(this.batchSize, this.source.length), this.device)) {
        const s = noGrad(() => tidy(() => nets.net.call(x).sum(0)));
        if (sum === null) sum = s;
        else {
          noGrad(() => sum!.add_(s));
          s.dispose();
        }
        n += x.shape[0]!;
      }
      if (sum === null) throw new AnogenError('deep-svdd: no training images to compute the center c from');
      const total = sum;
      noGrad(() =>
        tidy(() => {
          const c = total.div(n);
          const small = c.abs().lt(eps);
          nets.c.copy_(c.sign().mul(eps).where(small, c)); // sign(0) = 0: an exact 0 stays, as in the reference
        }),
      );
    } finally {
      sum?.dispose();
      nets.train(was);
    }
  }
}

/** numpy.quantile (linear interpolation) of `a` at q in [0, 1]. */
export function quantile(a: Float32Array, q: number): number {
  const s = Float64Array.from(a).sort();
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Per-image ||phi(x) - c||^2 (N). */
export function squaredDistance(phi: Tensor, c: Tensor): Tensor {
  return phi.sub(c).square().sum(1);
}

/** One Deep SVDD training run for src/train's loop (see the module comment). */
export function deepSvddProcess(nets: DeepSvddNetworks, cfg: DeepSvddStepConfig, run: SvddRun, o: ProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const optAe = new Adam([...nets.net.parameters(), ...nets.decoder.parameters()], { lr: o.lr, weightDecay: cfg.aeWeightDecay });
  const optSvdd = new Adam(nets.net.parameters(), { lr: o.lr, weightDecay: cfg.weightDecay });
  const soft = cfg.objective === 'soft-boundary';
  return {
    optimizers: { ae: optAe, svdd: optSvdd },
    step(x: Tensor, ctx: StepContext) {
      nets.train();
      if (ctx.epoch <= cfg.pretrainEpochs) {
        const rec = nets.reconstruct(x).sub(x).square().flatten(1).sum(1).mean();
        return {
          losses: { rec },
          update() {
            optAe.zeroGrad();
            rec.backward();
            optAe.step();
          },
        };
      }
      if (!run.centerReady) throw new AnogenError('deep-svdd: internal error: the center c was not computed before the one-class phase');
      const dist = squaredDistance(nets.net.call(x), nets.c);
      const r2 = nets.R.square();
      const svdd = soft ? r2.add(dist.sub(r2).clamp(0).mean().div(cfg.nu)) : dist.mean();
      const losses: Record<string, Tensor> = { svdd, dist: dist.mean() };
      if (soft) losses.R = nets.R;
      return {
        losses,
        update() {
          optSvdd.zeroGrad();
          svdd.backward();
          optSvdd.step();
          if (soft && ctx.epoch - cfg.pretrainEpochs > cfg.warmUpEpochs) {
            const r = quantile(
              noGrad(() => dist.detach().sqrt().cpu().toFloat32Array()),
              1 - cfg.nu,
            );
            noGrad(() => nets.R.fill_(r));
          }
        },
      };
    },
    afterStep(_losses, ctx) {
      run.done = ctx.globalStep + 1;
    },
    async finish() {
      if (run.pretrained) await run.ensureCenter();
      else await run.computeCenter(); // provisional, so that a checkpoint during pretraining can be scored
    },
    dispose() {
      optAe.zeroGrad();
      optSvdd.zeroGrad();
      nets.zeroGrad();
      optAe.dispose();
      optSvdd.dispose();
    },
  };
}
