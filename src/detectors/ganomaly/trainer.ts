/**
 * GANomaly training loop: exactly the authors' step (samet-akcay/ganomaly, lib/model.py
 * optimize_params; the same as bench/engine.ts), with src/optim's Adam (lr 2e-4, betas
 * 0.5 / 0.999) and plain backward():
 *
 *   x^, z, z^ = G(x);  D(x), D(x^.detach())                        (forward_g, forward_d)
 *   G: zeroGrad; L_G = wAdv L2(f(x), f(x^)) + wCon L1(x^, x) + wEnc L2(z, z^);
 *      L_G.backward(retainGraph); stepG                             (update_netg)
 *   D: zeroGrad; L_D = (BCE(D(x), 1) + BCE(D(x^.detach()), 0)) / 2; backward; stepD   (update_netd)
 *   D re-initialised (DCGAN init) when L_D < 1e-5.
 *
 * Every loss is checked before any weight changes: a NaN/Inf stops training with an
 * AnogenError naming the epoch and the step (the checkpoint of the last finished epoch is kept).
 * With bnRecalibration (the default), the generator's batch-norm running statistics are then
 * recomputed on the training images for the final weights (network.ts, recalibrateBatchNorm),
 * before every checkpoint and at the end; this changes no weight and no loss.
 * Each step runs in tidy() and the loop yields to the event loop after every step so that
 * Ctrl-C and progress output stay responsive.
 */
import { AnogenError, manualSeed, noGrad, ones, stack, tensor, tidy, zeros, keep, type Tensor } from '../../core/index.js';
import { dcganInit } from '../../nn/init.js';
import { Adam } from '../../optim/index.js';
import { mulberry32, permutation } from '../../data/random.js';
import type { FitOptions, FitReport, ImageSet } from '../api.js';
import { recalibrateBatchNorm, type GanomalyNetworks } from './network.js';
import { discriminatorLoss, generatorLoss, type GanomalyLossWeights } from './loss.js';

/** Options the detector adds to FitOptions for the trainer. */
export interface TrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  weights: GanomalyLossWeights;
  /**
   * Recompute the generator's batch-norm running statistics on the training images with the
   * final weights (recalibrateBatchNorm) before every checkpoint and at the end (default true).
   */
  bnRecalibration?: boolean;
  /** Saves a checkpoint (called at the end of every epoch and when stopped early). */
  saveCheckpoint?: (info: { epoch: number; step: number; reason: 'epoch' | 'interrupt' }) => void;
}

/** Names of the per-step losses reported in the history and to onProgress. */
export const LOSS_NAMES = ['g', 'd', 'adv', 'con', 'enc', 'dReal', 'dFake'] as const;

/**
 * Trains `nets` on the normal images of `train` (already at isize). Seeds torch with
 * `opts.seed` (default 0), re-initialises both networks, shuffles with mulberry32(seed) and
 * drops the last incomplete batch (as the reference's loader, drop_last=True).
 */
export async function trainGanomaly(nets: GanomalyNetworks, train: ImageSet, opts: FitOptions, cfg: TrainConfig): Promise<FitReport> {
  const n = train.images.shape[0];
  if (n === 0) throw new AnogenError('GANomaly fit: the training set is empty');
  const seed = opts.seed ?? 0;
  manualSeed(seed);
  nets.resetParameters();
  const { netg, netd } = nets;
  netg.train();
  netd.train();
  const rand = mulberry32(seed);
  const bs = Math.min(cfg.batchSize, n);
  const stepsPerEpoch = Math.floor(n / bs);
  const adam = { lr: cfg.lr, betas: [cfg.beta1, cfg.beta2] as [number, number] };
  const optG = new Adam(netg.parameters(), adam);
  const optD = new Adam(netd.parameters(), adam);
  const realLabel = keep(ones([bs]));
  const fakeLabel = keep(zeros([bs]));
  const history: Record<string, number>[] = [];
  const t0 = performance.now();
  let seen = 0;
  let steps = 0;
  let interrupted = false;
  let lastEpoch = 0;
  let lastStep = 0;
  let recalibratedAt = -1;
  const recalibrate = (): void => {
    if (cfg.bnRecalibration === false || recalibratedAt === steps) return;
    recalibrateBatchNorm(netg, train.images, bs);
    recalibratedAt = steps;
  };
  try {
    outer: for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const perm = permutation(n, rand);
      for (let step = 1; step <= stepsPerEpoch; step++) {
        if (opts.shouldStop?.()) {
          interrupted = true;
          break outer;
        }
        const diverged = (what: string, v: string): never => {
          throw new AnogenError(
            `GANomaly training diverged: ${what} is ${v} at epoch ${epoch}, step ${step}` +
              (opts.checkpointDir ? `; the last good checkpoint is kept in ${opts.checkpointDir}` : '') +
              '; try a lower learning rate (--lr) or check the input images for NaN/Inf',
          );
        };
        const losses = tidy(() => {
          const idx = tensor(perm.slice((step - 1) * bs, step * bs), { dtype: 'int64' });
          const x = train.images.indexSelect(0, idx);
          // forward_g, forward_d
          const [fake, latentI, latentO] = netg.call(x);
          const [predReal] = netd.call(x);
          const [predFake] = netd.call(fake.detach());
          // BCE rejects NaN probabilities with a libtorch error: check them first.
          if (!noGrad(() => predReal.isfinite().logicalAnd(predFake.isfinite()).all().item())) {
            diverged("the discriminator's output", 'NaN or infinite');
          }
          // update_netg's loss: D's features of x and of x^ (both through D, as the reference)
          const g = generatorLoss(x, fake, latentI, latentO, netd.call(x)[1], netd.call(fake)[1], cfg.weights);
          const d = discriminatorLoss(predReal, predFake, realLabel, fakeLabel);
          const vals = noGrad(() => stack([g.total, d.total, g.adv, g.con, g.enc, d.real, d.fake]).toFloat32Array());
          const out: Record<string, number> = {};
          LOSS_NAMES.forEach((k, i) => (out[k] = vals[i]!));
          for (const k of LOSS_NAMES) if (!Number.isFinite(out[k])) diverged(`loss '${k}'`, String(out[k]));
          optG.zeroGrad();
          g.total.backward(null, { retainGraph: true });
          optG.step();
          optD.zeroGrad();
          d.total.backward();
          optD.step();
          return out;
        });
        // update_netd: the reference re-initialises D when its loss collapses.
        if (losses.d! < 1e-5) noGrad(() => dcganInit(netd));
        history.push(losses);
        seen += bs;
        steps++;
        lastEpoch = epoch;
        lastStep = step;
        const elapsed = (performance.now() - t0) / 1000;
        const ips = seen / Math.max(elapsed, 1e-9);
        const totalSteps = cfg.epochs * stepsPerEpoch;
        opts.onProgress?.({
          epoch,
          epochs: cfg.epochs,
          step,
          stepsPerEpoch,
          losses,
          imagesPerSecond: ips,
          etaSeconds: ((totalSteps - steps) * bs) / Math.max(ips, 1e-9),
        });
        await new Promise<void>((r) => setImmediate(r));
      }
      if (cfg.saveCheckpoint) {
        recalibrate();
        cfg.saveCheckpoint({ epoch, step: stepsPerEpoch, reason: 'epoch' });
      }
    }
    if (steps > 0) recalibrate();
    if (interrupted) cfg.saveCheckpoint?.({ epoch: lastEpoch, step: lastStep, reason: 'interrupt' });
  } finally {
    // Gradients and optimiser state are training-only: free them so a fitted detector holds weights only.
    optG.zeroGrad();
    optD.zeroGrad();
    netg.zeroGrad();
    netd.zeroGrad();
    optG.dispose();
    optD.dispose();
    realLabel.dispose();
    fakeLabel.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { history, epochs: lastEpoch, steps, seconds, imagesPerSecond: seen / Math.max(seconds, 1e-9), interrupted };
}
