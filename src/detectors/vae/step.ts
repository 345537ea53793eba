/**
 * The VAE's training step (Kingma & Welling, 2014, the SGVB estimator with the analytic KL,
 * eq. 10, one sample per image): (mu, logvar) = encoder(x); z = mu + exp(logvar / 2) eps with
 * eps ~ N(0, I) from torch's seeded generator; L = mean over the batch of
 * [-log p(x|z) + beta KL(q(z|x) || N(0, I))] (the negative ELBO for beta = 1); zeroGrad,
 * backward, Adam step. With bnRecalibration (conv only; default true) the batch-norm running
 * statistics are recomputed on the training images (one posterior sample per image, as in
 * training) before every checkpoint and at the end; no weight changes.
 */
import { randnLike, type Tensor } from '../../core/index.js';
import { recalibrateBatchNormFrom } from '../../nn/batchnorm.js';
import { Adam } from '../../optim/index.js';
import type { TrainingProcess } from '../../train/loop.js';
import { sequentialBatches } from '../../train/source.js';
import type { ProcessOptions } from '../neural.js';
import { klDivergence, negLogLikelihood, type VaeLikelihood } from './loss.js';
import { VaeNetworks } from './network.js';

/** The step's settings (from the detector's hyperparameters). */
export interface VaeStepConfig {
  /** p(x|z): 'bernoulli' (default) or 'gaussian'. */
  likelihood: VaeLikelihood;
  /** Gaussian likelihood's standard deviation on the [-1, 1] pixel scale (default 0.1). */
  sigma: number;
  /** KL weight (default 1: the ELBO). */
  beta: number;
  /** Adam beta1 (default 0.9). */
  beta1: number;
  /** Adam beta2 (default 0.999). */
  beta2: number;
  /** Recompute batch-norm statistics after training (default true). */
  bnRecalibration: boolean;
}

/** Names of the per-step losses, with what each is (for reports). */
export const VAE_LOSSES: Record<string, string> = {
  loss: 'negative ELBO per image: rec + beta kl',
  rec: 'reconstruction: -log p(x|z) per image, one posterior sample (nats)',
  kl: 'KL(q(z|x) || N(0, I)) per image (nats)',
};

/** One VAE training run (optimiser + step) for src/train's loop. */
export function vaeProcess(net: VaeNetworks, cfg: VaeStepConfig, o: ProcessOptions): TrainingProcess {
  if (o.fresh) net.resetParameters();
  const opt = new Adam(net.parameters(), { lr: o.lr, betas: [cfg.beta1, cfg.beta2] });
  return {
    optimizers: { vae: opt },
    step(x: Tensor) {
      net.train();
      const { mu, logvar } = net.posterior(x);
      const z = VaeNetworks.reparameterize(mu, logvar, randnLike(mu));
      const rec = negLogLikelihood(x, net.decodeLogits(z), cfg.likelihood, cfg.sigma).mean();
      const kl = klDivergence(mu, logvar).mean();
      const loss = rec.add(kl.mul(cfg.beta));
      return {
        losses: { loss, rec, kl },
        update() {
          opt.zeroGrad();
          loss.backward();
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
