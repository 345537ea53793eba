/**
 * The EGBAD detector (Zenati et al., 2018): a BiGAN whose encoder E inverts the generator G.
 * A(x) = (1 - w) * ||x - G(E(x))||_1 + w * L_D(x) per image, with w = `scoreWeight` (default 0.1)
 * and L_D (`dScore`):
 * - 'fm' (default, the authors' code's default): ||f_D(x, E(x)) - f_D(G(E(x)), E(x))||_1, f_D =
 *   D's intermediate layer (feature matching);
 * - 'ce': the sigmoid cross-entropy of D on (x, E(x)) against "real", log(1 + exp(-D(x, E(x))))
 *   (the paper's definition; the authors' code scores D on (G(E(x)), E(x)) instead).
 * Norms are sums over pixels / features, as the authors' tf.norm(ord=1). Anomaly map =
 * |x - G(E(x))| averaged over channels.
 */
import type { Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';
import type { TrainingProcess } from '../../train/loop.js';
import type { FeatureExtractor, InputSpec, Reconstructor } from '../api.js';
import { NeuralDetector, type ProcessOptions } from '../neural.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { EgbadNetworks, type EgbadArch } from './network.js';
import { EGBAD_LOSSES, egbadProcess } from './step.js';

const powerOfTwo = (v: number) => (v >= 16 && (v & (v - 1)) === 0 ? null : 'a power of two >= 16 (16, 32, 64, 128...), the sizes the DCGAN networks can build');

/** The discriminator parts of EGBAD's score. */
export const EGBAD_D_SCORES = ['fm', 'ce'] as const;

/** EGBAD's hyperparameters, declared once. */
export const EGBAD_SCHEMA = {
  isize: { type: 'int', default: 32, min: 16, max: 1024, check: powerOfTwo, doc: 'input image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  nz: { type: 'int', default: 200, min: 1, max: 4096, doc: "latent size (the authors' MNIST latent_dim)" },
  ngf: { type: 'int', default: 64, min: 2, max: 1024, check: (v) => (v % 2 === 0 ? null : 'an even integer'), doc: 'encoder and generator width (DCGAN)' },
  ndf: { type: 'int', default: 64, min: 1, max: 1024, doc: "width of the discriminator's image path (DCGAN encoder)" },
  dHidden: { type: 'int', default: 1024, min: 2, max: 65536, doc: "units of the discriminator's joint layer (its z path has half)" },
  dropout: { type: 'number', default: 0.5, min: 0, below: 1, doc: 'dropout rate in the discriminator' },
  beta1: { type: 'number', default: 0.5, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2' },
  dScore: {
    type: 'enum',
    default: 'fm',
    values: EGBAD_D_SCORES,
    doc: "discriminator part L_D of the score: 'fm' ||f_D(x, E(x)) - f_D(G(E(x)), E(x))||_1 (the authors' default) or 'ce' cross-entropy of D(x, E(x)) against real",
  },
  scoreWeight: { type: 'number', default: 0.1, min: 0, max: 1, doc: 'w in A(x) = (1 - w) ||x - G(E(x))||_1 + w L_D(x)' },
  bnRecalibration: {
    type: 'bool',
    default: true,
    doc: "recompute the batch-norm statistics of E, G and D's image path on the training images after training (false keeps the running averages)",
  },
} satisfies HParamSchema;

/** EGBAD hyperparameters. */
export interface EgbadHParams extends EgbadArch {
  /** Adam beta1 (default 0.5). */
  beta1: number;
  /** Adam beta2 (default 0.999). */
  beta2: number;
  /** Discriminator part of the score (default 'fm'). */
  dScore: (typeof EGBAD_D_SCORES)[number];
  /** w of the score (default 0.1). */
  scoreWeight: number;
  /** Recompute batch-norm statistics after training (default true). */
  bnRecalibration: boolean;
}

/** Every default (see {@link EGBAD_SCHEMA}). */
export const EGBAD_DEFAULTS = schemaDefaults(EGBAD_SCHEMA) as unknown as EgbadHParams;

/** Default training options: 15 epochs, batch 64, Adam lr 2e-4 (DCGAN's; the authors' MNIST run: batch 100, lr 1e-5). */
export const EGBAD_TRAIN_DEFAULTS = { epochs: 15, batchSize: 64, lr: 2e-4 };

/** Validates (partial) EGBAD hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function egbadHParams(h: Record<string, unknown> = {}): EgbadHParams {
  return resolveHParams(EGBAD_SCHEMA, h, 'egbad') as unknown as EgbadHParams;
}

/** EGBAD as an anogen detector. */
export class Egbad extends NeuralDetector<EgbadHParams> implements Reconstructor, FeatureExtractor {
  readonly name = 'egbad';
  readonly producesMaps = true;
  readonly featureName = 'BiGAN encoder latent E(x)';
  readonly trainDefaults = EGBAD_TRAIN_DEFAULTS;
  /** Encoder, generator and discriminator (state dict `encoder.*`, `generator.*`, `discriminator.*`). */
  readonly nets: EgbadNetworks;
  protected get net(): EgbadNetworks {
    return this.nets;
  }

  /** Builds EGBAD from (partial) hyperparameters, validated against {@link EGBAD_SCHEMA}. */
  constructor(hparams: Partial<EgbadHParams> = {}) {
    super(egbadHParams(hparams as Record<string, unknown>));
    const { isize, nc, nz, ngf, ndf, dHidden, dropout } = this.hparams;
    this.nets = new EgbadNetworks({ isize, nc, nz, ngf, ndf, dHidden, dropout });
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  protected trainingProcess(o: ProcessOptions): TrainingProcess {
    const h = this.hparams;
    return egbadProcess(this.nets, { beta1: h.beta1, beta2: h.beta2, bnRecalibration: h.bnRecalibration }, o);
  }

  /** The parts of the score of a batch (eval mode; the caller runs it in noGrad + tidy): rec, fm and ce [N], and G(E(x)). */
  scoreParts(x: Tensor): { rec: Tensor; fm: Tensor; ce: Tensor; xhat: Tensor } {
    const zx = this.nets.encode(x);
    const xhat = this.nets.generate(zx);
    const d = this.nets.discriminator;
    const [lx, fx] = d.call(x, zx);
    const fr = d.call(xhat, zx)[1];
    return {
      rec: x.sub(xhat).abs().flatten(1).sum(1),
      fm: fx.sub(fr).abs().sum(1),
      ce: F.softplus(lx.neg()),
      xhat,
    };
  }

  protected scoreBatch(x: Tensor, maps: boolean): { scores: Tensor; maps?: Tensor } {
    const p = this.scoreParts(x);
    const w = this.hparams.scoreWeight;
    const scores = p.rec.mul(1 - w).add(p[this.hparams.dScore].mul(w));
    return { scores, ...(maps ? { maps: x.sub(p.xhat).abs().mean(1, true) } : {}) };
  }

  /** Reconstructions G(E(x)) (eval mode) for reports. */
  reconstruct(x: Tensor): Tensor {
    return this.inference(x, 'reconstruct', (xs) => this.nets.generate(this.nets.encode(xs)));
  }

  /** The encoder's latent codes E(x), N x nz (eval mode): the BiGAN representation. */
  features(x: Tensor): Tensor {
    return this.inference(x, 'features', (xs) => this.nets.encode(xs));
  }
}

registerDetector({
  name: 'egbad',
  description: 'EGBAD (Zenati et al., 2018): BiGAN (encoder, generator, joint discriminator), score = 0.9 ||x - G(E(x))||_1 + 0.1 discriminator feature-matching loss',
  schema: EGBAD_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8, dHidden: 32 },
  trainDefaults: EGBAD_TRAIN_DEFAULTS,
  lossDocs: EGBAD_LOSSES,
  create: (h) => new Egbad(h as Partial<EgbadHParams>),
});
