/**
 * The variational autoencoder detector (Kingma & Welling, 2014). Scores, per image (`score`):
 * - 'recon': mean over pixels of (x - x^)^2, x^ = decoder mean at z = mu (no sampling);
 * - 'elbo' (default): the negative ELBO, (1/k) sum_i -log p(x|z_i) + KL(q(z|x) || N(0, I)) in nats;
 * - 'iwae': -log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x) (Burda et al., 2016), by logsumexp, in nats;
 * with z_i = mu + exp(logvar / 2) eps_i, i = 1..k (`samples`). The eps_i are the same k x nz
 * numbers for every image and every call (a fixed-seed JS generator, not torch's): a score is
 * a deterministic function of the image (alone or in a batch, before or after a bundle round
 * trip) and torch's generator is never touched by scoring.
 * Anomaly map = |x - x^| (mean decoding) averaged over channels.
 */
import { noGrad, tensor, tidy, stack, type Tensor } from '../../core/index.js';
import type { TrainingProcess } from '../../train/loop.js';
import type { FeatureExtractor, InputSpec, Reconstructor, Sampler } from '../api.js';
import { NeuralDetector, type ProcessOptions } from '../neural.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { CODEC_ARCHS, type CodecArch } from '../ae/network.js';
import { fixedNormals, klDivergence, logPriorOverPosterior, negLogLikelihood, VAE_LIKELIHOODS, type VaeLikelihood } from './loss.js';
import { VaeNetworks } from './network.js';
import { VAE_LOSSES, vaeProcess } from './step.js';

/** The VAE's anomaly scores. */
export const VAE_SCORES = ['recon', 'elbo', 'iwae'] as const;
/** Seed of the fixed JS generator drawing the scoring noise eps (k x nz). */
export const VAE_SCORE_SEED = 0;

/** The VAE's hyperparameters, declared once. */
export const VAE_SCHEMA = {
  isize: { type: 'int', default: 32, min: 8, max: 1024, doc: 'input image size (square; a power of two >= 16 for arch conv)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  arch: { type: 'enum', default: 'conv', values: CODEC_ARCHS, doc: "encoder/decoder: 'conv' (DCGAN) or 'dense' (MLP, as the paper's MNIST model)" },
  nz: { type: 'int', default: 32, min: 1, max: 4096, doc: 'latent size' },
  ngf: { type: 'int', default: 64, min: 2, max: 1024, check: (v) => (v % 2 === 0 ? null : 'an even integer'), doc: 'conv: encoder/decoder width' },
  hidden: { type: 'int', default: 512, min: 1, max: 65536, doc: 'dense: hidden units of the encoder and of the decoder' },
  extraLayers: { type: 'int', default: 0, min: 0, max: 16, doc: 'conv: extra 3x3 conv layers in the encoder and decoder' },
  likelihood: {
    type: 'enum',
    default: 'bernoulli',
    values: VAE_LIKELIHOODS,
    doc: "p(x|z): 'bernoulli' (BCE on pixels rescaled to [0, 1]) or 'gaussian' (N(x^, sigma^2), MSE)",
  },
  sigma: { type: 'number', default: 0.1, min: 1e-4, max: 100, doc: 'gaussian likelihood: standard deviation on the [-1, 1] pixel scale' },
  beta: { type: 'number', default: 1, min: 0, max: 1e6, doc: 'KL weight of the training loss (1: the ELBO)' },
  score: {
    type: 'enum',
    default: 'elbo',
    values: VAE_SCORES,
    doc: "anomaly score: 'recon' (MSE of the mean decoding), 'elbo' (negative ELBO) or 'iwae' (importance-sampled -log p(x))",
  },
  samples: { type: 'int', default: 16, min: 1, max: 4096, doc: "posterior samples k of the 'elbo' and 'iwae' scores" },
  beta1: { type: 'number', default: 0.9, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2' },
  bnRecalibration: {
    type: 'bool',
    default: true,
    doc: 'conv: recompute the batch-norm statistics on the training images after training (false keeps the running averages)',
  },
} satisfies HParamSchema;

/** VAE hyperparameters. */
export interface VaeHParams extends CodecArch {
  likelihood: VaeLikelihood;
  sigma: number;
  beta: number;
  score: (typeof VAE_SCORES)[number];
  samples: number;
  beta1: number;
  beta2: number;
  bnRecalibration: boolean;
}

/** Every default (see {@link VAE_SCHEMA}). */
export const VAE_DEFAULTS = schemaDefaults(VAE_SCHEMA) as unknown as VaeHParams;

/** Default training options: 15 epochs, batch 64, Adam lr 1e-3. */
export const VAE_TRAIN_DEFAULTS = { epochs: 15, batchSize: 64, lr: 1e-3 };

/** Validates (partial) VAE hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function vaeHParams(h: Record<string, unknown> = {}): VaeHParams {
  return resolveHParams(VAE_SCHEMA, h, 'vae') as unknown as VaeHParams;
}

/** A variational autoencoder as an anogen detector. */
export class Vae extends NeuralDetector<VaeHParams> implements Reconstructor, FeatureExtractor, Sampler {
  readonly name = 'vae';
  readonly producesMaps = true;
  readonly featureName = 'VAE posterior mean';
  readonly trainDefaults = VAE_TRAIN_DEFAULTS;
  /** The encoder and decoder (state dict `encoder.*`, `decoder.*`). */
  readonly nets: VaeNetworks;
  protected get net(): VaeNetworks {
    return this.nets;
  }

  /** Builds the VAE from (partial) hyperparameters, validated against {@link VAE_SCHEMA}. */
  constructor(hparams: Partial<VaeHParams> = {}) {
    super(vaeHParams(hparams as Record<string, unknown>));
    const { arch, isize, nc, nz, ngf, hidden, extraLayers } = this.hparams;
    this.nets = new VaeNetworks({ arch, isize, nc, nz, ngf, hidden, extraLayers });
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  protected trainingProcess(o: ProcessOptions): TrainingProcess {
    const h = this.hparams;
    return vaeProcess(
      this.nets,
      { likelihood: h.likelihood, sigma: h.sigma, beta: h.beta, beta1: h.beta1, beta2: h.beta2, bnRecalibration: h.bnRecalibration && h.arch === 'conv' },
      o,
    );
  }

  /**
   * The three scores of a batch (eval mode; the caller runs it in noGrad + tidy): `recon`
   * always; `elbo` and `iwae` from the same k fixed noise draws when `sampled`.
   */
  scoreAll(x: Tensor, sampled = true): { recon: Tensor; elbo?: Tensor; iwae?: Tensor; xhat: Tensor } {
    const { nz, samples: k, likelihood, sigma } = this.hparams;
    const { mu, logvar } = this.nets.posterior(x);
    const xhat = this.nets.decode(mu);
    const recon = x.sub(xhat).square().flatten(1).mean(1);
    if (!sampled) return { recon, xhat };
    const eps = tensor(fixedNormals(k, nz, VAE_SCORE_SEED), { shape: [k, nz], device: this.device });
    const nll: Tensor[] = [];
    const logw: Tensor[] = [];
    for (let i = 0; i < k; i++) {
      const [n, w] = tidy(() => {
        const e = eps.narrow(0, i, 1);
        const z = VaeNetworks.reparameterize(mu, logvar, e);
        const n = negLogLikelihood(x, this.nets.decodeLogits(z), likelihood, sigma);
        return [n, logPriorOverPosterior(z, e, logvar).sub(n)];
      });
      nll.push(n);
      logw.push(w);
    }
    const elbo = stack(nll, 0).mean(0).add(klDivergence(mu, logvar));
    const iwae = stack(logw, 0).logsumexp(0).sub(Math.log(k)).neg();
    return { recon, elbo, iwae, xhat };
  }

  protected scoreBatch(x: Tensor, maps: boolean): { scores: Tensor; maps?: Tensor } {
    const which = this.hparams.score;
    const r = this.scoreAll(x, which !== 'recon');
    return { scores: r[which]!, ...(maps ? { maps: x.sub(r.xhat).abs().mean(1, true) } : {}) };
  }

  /** Mean decodings x^ = decoder mean at z = mu (eval mode) for reports. */
  reconstruct(x: Tensor): Tensor {
    return this.inference(x, 'reconstruct', (xs) => this.nets.decode(this.nets.posterior(xs).mu));
  }

  /** The posterior means mu, N x nz (eval mode). */
  features(x: Tensor): Tensor {
    return this.inference(x, 'features', (xs) => this.nets.posterior(xs).mu);
  }

  /** n decoder means at z ~ N(0, I) drawn from a JS generator seeded with `seed` (default 0), on the CPU. */
  sample(n: number, opts: { seed?: number } = {}): Tensor {
    const nz = this.hparams.nz;
    this.nets.eval();
    return noGrad(() => tidy(() => this.nets.decode(tensor(fixedNormals(n, nz, opts.seed ?? 0), { shape: [n, nz], device: this.device })).cpu()));
  }
}

registerDetector({
  name: 'vae',
  description: 'variational autoencoder (Kingma & Welling, 2014), score = reconstruction error, negative ELBO or IWAE -log p(x)',
  schema: VAE_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 4, ngf: 8, hidden: 16, samples: 4 },
  trainDefaults: VAE_TRAIN_DEFAULTS,
  lossDocs: VAE_LOSSES,
  create: (h) => new Vae(h as Partial<VaeHParams>),
});
