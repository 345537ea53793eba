/**
 * Encoder/decoder pairs ("codecs") for the autoencoder and the VAE.
 *
 * - `conv` (default): src/models/dcgan's DcganEncoder (x -> code, the encoder of GANomaly's
 *   generator) and DcganDecoder (z -> x^ in [-1, 1], tanh), with width `ngf` and bottleneck
 *   `nz`. State-dict names as PyTorch's: `encoder.main.initial-conv-1-64.weight`,
 *   `decoder.main.pyramid-256-128-convt.weight`... DCGAN initialisation (conv N(0, 0.02),
 *   batch-norm weight N(1, 0.02), bias 0).
 * - `dense`: MLPs, `encoder.main` = Linear(C·S·S, hidden), ReLU, Linear(hidden, code) and
 *   `decoder.main` = Linear(nz, hidden), ReLU, Linear(hidden, C·S·S), Tanh; PyTorch's Linear
 *   initialisation.
 *
 * The encoder's code has `codeSize` units (nz for the autoencoder, 2·nz for the VAE's mean and
 * log-variance); the decoder takes nz. Both decoders end with a tanh, and {@link Codec.decodeLogits}
 * gives the activation before it (the VAE's Bernoulli logits are twice that: sigmoid(2a) = (tanh(a) + 1) / 2).
 */
import { AnogenError, noGrad, tidy, type Tensor } from '../../core/index.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/layers/container.js';
import { Linear } from '../../nn/layers/linear.js';
import { ReLU, Tanh } from '../../nn/layers/activation.js';
import { dcganInit } from '../../nn/init.js';
import { DcganDecoder, DcganEncoder } from '../../models/dcgan/index.js';

/** The encoder/decoder families: DCGAN convolutional, or dense (MLP). */
export const CODEC_ARCHS = ['conv', 'dense'] as const;

/** Architecture of a codec. */
export interface CodecArch {
  /** 'conv' (DCGAN encoder/decoder, default) or 'dense' (MLP). */
  arch: (typeof CODEC_ARCHS)[number];
  /** Input image size (square; a power of two >= 16 for conv; default 32). */
  isize: number;
  /** Image channels (default 1). */
  nc: number;
  /** Bottleneck (latent) size. */
  nz: number;
  /** conv: width of the DCGAN encoder/decoder (even; default 64). */
  ngf: number;
  /** dense: hidden units of each MLP (default 512). */
  hidden: number;
  /** conv: extra 3x3 conv layers in the encoder and decoder (default 0). */
  extraLayers: number;
}

/** The dense encoder: flatten, Linear(C·S·S, hidden), ReLU, Linear(hidden, code) -> N x code. */
export class DenseEncoder extends Module {
  readonly main: Sequential;
  constructor(inFeatures: number, hidden: number, code: number) {
    super();
    this.main = this.registerModule('main', new Sequential(new Linear(inFeatures, hidden), new ReLU(), new Linear(hidden, code)));
  }
  forward(x: Tensor): Tensor {
    return this.main.call(x.flatten(1));
  }
}

/** The dense decoder: Linear(nz, hidden), ReLU, Linear(hidden, C·S·S), Tanh -> N x C·S·S (the codec reshapes). */
export class DenseDecoder extends Module {
  readonly main: Sequential;
  constructor(nz: number, hidden: number, outFeatures: number) {
    super();
    this.main = this.registerModule('main', new Sequential(new Linear(nz, hidden), new ReLU(), new Linear(hidden, outFeatures), new Tanh()));
  }
  forward(z: Tensor): Tensor {
    return this.main.call(z);
  }
}

/** Runs a Sequential without its last child (the decoders' tanh), freeing intermediates. */
function withoutLast(main: Sequential, x: Tensor): Tensor {
  let cur = x;
  for (let i = 0; i < main.length - 1; i++) {
    const prev = cur;
    cur = tidy(() => main.at(i).call(prev));
    if (prev !== x && prev !== cur) prev.dispose();
  }
  return cur;
}

/** An encoder (x -> N x codeSize) and a decoder (N x nz -> N x C x S x S in [-1, 1]). */
export class Codec extends Module<[Tensor], Tensor> {
  readonly encoder: DcganEncoder | DenseEncoder;
  readonly decoder: DcganDecoder | DenseDecoder;
  /**
   * Builds the pair (AnogenError naming `who` and a bad option) and initialises it.
   * `codeSize`: units of the encoder's output (default nz).
   */
  constructor(
    readonly cfg: CodecArch,
    readonly codeSize: number = cfg.nz,
    who = 'autoencoder',
  ) {
    super();
    const { arch, isize, nc, nz, ngf, hidden, extraLayers } = cfg;
    if (!CODEC_ARCHS.includes(arch)) throw new AnogenError(`${who} arch: ${JSON.stringify(arch)} is not valid; expected 'conv' or 'dense'`);
    if (arch === 'conv') {
      if (isize < 16 || (isize & (isize - 1)) !== 0) {
        throw new AnogenError(`${who} isize: ${isize} is not valid; expected a power of two >= 16 (16, 32, 64, 128...) for arch conv`);
      }
      if (ngf % 2 !== 0) throw new AnogenError(`${who} ngf: ${ngf} is not valid; expected an even integer`);
      this.encoder = this.registerModule('encoder', new DcganEncoder(isize, codeSize, nc, ngf, { extraLayers }));
      this.decoder = this.registerModule('decoder', new DcganDecoder(isize, nz, nc, ngf, { extraLayers }));
    } else {
      const d = nc * isize * isize;
      this.encoder = this.registerModule('encoder', new DenseEncoder(d, hidden, codeSize));
      this.decoder = this.registerModule('decoder', new DenseDecoder(nz, hidden, d));
    }
    this.resetParameters();
  }

  /** Codes N x codeSize of images N x C x S x S. */
  encode(x: Tensor): Tensor {
    return this.encoder.call(x).flatten(1);
  }

  /** The decoder's activation before its final tanh, N x C x S x S, for latents N x nz. */
  decodeLogits(z: Tensor): Tensor {
    const { arch, nc, isize, nz } = this.cfg;
    const a = withoutLast(this.decoder.main, arch === 'conv' ? z.view([-1, nz, 1, 1]) : z);
    return arch === 'conv' ? a : a.view([-1, nc, isize, isize]);
  }

  /** Images x^ = tanh(decodeLogits(z)) in [-1, 1], N x C x S x S. */
  decode(z: Tensor): Tensor {
    return this.decodeLogits(z).tanh();
  }

  /** decode(encode(x)) (the autoencoder's reconstruction; the VAE overrides it). */
  forward(x: Tensor): Tensor {
    return this.decode(this.encode(x));
  }

  /**
   * Initialisation (from torch's seeded generator): conv: DCGAN's, and fresh batch-norm
   * statistics (mean 0, variance 1, 0 batches); dense: PyTorch's Linear initialisation.
   */
  override resetParameters(): void {
    noGrad(() => {
      if (this.cfg.arch === 'conv') {
        dcganInit(this);
        for (const [k, b] of this.namedBuffers()) {
          if (k.endsWith('running_var')) b.fill_(1);
          else b.zero_();
        }
      } else {
        for (const m of this.modules()) if (m !== this) m.resetParameters();
      }
    });
  }
}
