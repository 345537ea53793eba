/**
 * The autoencoder detector: A(x) = mean over pixels of (x - x^)^2 (loss 'mse') or |x - x^|
 * ('l1'), x^ = decoder(encoder(x)); anomaly map = |x - x^| averaged over channels.
 */
import type { Tensor } from '../../core/index.js';
import type { TrainingProcess } from '../../train/loop.js';
import type { FeatureExtractor, InputSpec, Reconstructor } from '../api.js';
import { NeuralDetector, type ProcessOptions } from '../neural.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { CODEC_ARCHS, Codec, type CodecArch } from './network.js';
import { AE_LOSS_KINDS, AE_LOSSES, aeProcess, reconstructionError } from './step.js';

/** The autoencoder's hyperparameters, declared once. */
export const AE_SCHEMA = {
  isize: { type: 'int', default: 32, min: 8, max: 1024, doc: 'input image size (square; a power of two >= 16 for arch conv)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  arch: { type: 'enum', default: 'conv', values: CODEC_ARCHS, doc: "encoder/decoder: 'conv' (DCGAN, as GANomaly's generator) or 'dense' (MLP)" },
  nz: { type: 'int', default: 100, min: 1, max: 4096, doc: 'bottleneck (latent code) size' },
  ngf: { type: 'int', default: 64, min: 2, max: 1024, check: (v) => (v % 2 === 0 ? null : 'an even integer'), doc: 'conv: encoder/decoder width' },
  hidden: { type: 'int', default: 512, min: 1, max: 65536, doc: 'dense: hidden units of the encoder and of the decoder' },
  extraLayers: { type: 'int', default: 0, min: 0, max: 16, doc: 'conv: extra 3x3 conv layers in the encoder and decoder' },
  loss: { type: 'enum', default: 'mse', values: AE_LOSS_KINDS, doc: "reconstruction loss and score: 'mse' (mean (x - x^)^2) or 'l1' (mean |x - x^|)" },
  beta1: { type: 'number', default: 0.9, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2' },
  bnRecalibration: {
    type: 'bool',
    default: true,
    doc: 'conv: recompute the batch-norm statistics on the training images after training (false keeps the running averages)',
  },
} satisfies HParamSchema;

/** Autoencoder hyperparameters. */
export interface AeHParams extends CodecArch {
  loss: (typeof AE_LOSS_KINDS)[number];
  beta1: number;
  beta2: number;
  bnRecalibration: boolean;
}

/** Every default (see {@link AE_SCHEMA}). */
export const AE_DEFAULTS = schemaDefaults(AE_SCHEMA) as unknown as AeHParams;

/** Default training options: 15 epochs, batch 64, Adam lr 1e-3. */
export const AE_TRAIN_DEFAULTS = { epochs: 15, batchSize: 64, lr: 1e-3 };

/** Validates (partial) autoencoder hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function aeHParams(h: Record<string, unknown> = {}): AeHParams {
  return resolveHParams(AE_SCHEMA, h, 'ae') as unknown as AeHParams;
}

/** A dense or convolutional autoencoder as an anogen detector. */
export class Autoencoder extends NeuralDetector<AeHParams> implements Reconstructor, FeatureExtractor {
  readonly name = 'ae';
  readonly producesMaps = true;
  readonly featureName = 'autoencoder latent code';
  readonly trainDefaults = AE_TRAIN_DEFAULTS;
  /** The encoder and decoder (state dict `encoder.*`, `decoder.*`). */
  readonly nets: Codec;
  protected get net(): Codec {
    return this.nets;
  }

  /** Builds the autoencoder from (partial) hyperparameters, validated against {@link AE_SCHEMA}. */
  constructor(hparams: Partial<AeHParams> = {}) {
    super(aeHParams(hparams as Record<string, unknown>));
    const { arch, isize, nc, nz, ngf, hidden, extraLayers } = this.hparams;
    this.nets = new Codec({ arch, isize, nc, nz, ngf, hidden, extraLayers }, nz, 'ae');
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  protected trainingProcess(o: ProcessOptions): TrainingProcess {
    const h = this.hparams;
    return aeProcess(this.nets, { loss: h.loss, beta1: h.beta1, beta2: h.beta2, bnRecalibration: h.bnRecalibration && h.arch === 'conv' }, o);
  }

  protected scoreBatch(x: Tensor, maps: boolean): { scores: Tensor; maps?: Tensor } {
    const xhat = this.nets.call(x);
    return { scores: reconstructionError(x, xhat, this.hparams.loss), ...(maps ? { maps: x.sub(xhat).abs().mean(1, true) } : {}) };
  }

  /** Reconstructions x^ (eval mode) for reports. */
  reconstruct(x: Tensor): Tensor {
    return this.inference(x, 'reconstruct', (xs) => this.nets.call(xs));
  }

  /** The bottleneck codes z = encoder(x), N x nz (eval mode). */
  features(x: Tensor): Tensor {
    return this.inference(x, 'features', (xs) => this.nets.encode(xs));
  }
}

registerDetector({
  name: 'ae',
  description: 'autoencoder (conv DCGAN or dense), score = mean reconstruction error',
  schema: AE_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, hidden: 16 },
  trainDefaults: AE_TRAIN_DEFAULTS,
  lossDocs: AE_LOSSES,
  create: (h) => new Autoencoder(h as Partial<AeHParams>),
});
