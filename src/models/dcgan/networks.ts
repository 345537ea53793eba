/**
 * DCGAN encoder and decoder (Radford et al., 2016) as the GANomaly authors' code builds them
 * (samet-akcay/ganomaly, lib/networks.py: Encoder, Decoder), written as anogen Modules whose
 * state-dict names match the reference's nn.Sequential names (`main.initial-conv-1-64.weight`,
 * `main.pyramid-128-batchnorm.running_mean`, ...), so PyTorch weights load 1:1.
 */
import type { Tensor } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/layers/container.js';
import { Conv2d, ConvTranspose2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/norm.js';
import { LeakyReLU, ReLU, Tanh } from '../../nn/layers/activation.js';

function checkArgs(what: string, args: Record<string, number>): void {
  for (const [k, v] of Object.entries(args)) {
    const min = k === 'extraLayers' ? 0 : 1;
    if (!Number.isInteger(v) || v < min) {
      throw new AnogenError(`${what}: ${k} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
  }
  const isize = args.isize!;
  if (isize < 16 || (isize & (isize - 1)) !== 0) {
    // The reference asserts isize % 16 == 0, but its decoder loops forever unless isize is 16 * 2^k.
    throw new AnogenError(`${what}: isize must be a power of two >= 16 (16, 32, 64, 128, ...), got ${isize}`);
  }
}

/** Options of {@link DcganEncoder}. */
export interface EncoderOptions {
  /** Extra 3x3 conv + batch norm + LeakyReLU blocks after the first layer (default 0). */
  extraLayers?: number;
  /** End with the 4x4 conv to nz channels (default true; false leaves a K x 4 x 4 feature map). */
  addFinalConv?: boolean;
}

/**
 * DCGAN encoder: nc x isize x isize -> nz x 1 x 1. A stride-2 4x4 conv to ndf channels and
 * LeakyReLU(0.2), optional extra layers, then stride-2 conv + batch norm + LeakyReLU(0.2) blocks
 * doubling the channels until the map is 4 x 4, then a 4x4 conv to nz. Convs have no bias.
 * Children of `main` are named as in the reference: initial-conv-{nc}-{ndf}, initial-relu-{ndf},
 * extra-layers-{t}-{c}-conv|batchnorm|relu, pyramid-{in}-{out}-conv, pyramid-{out}-batchnorm|relu,
 * final-{c}-1-conv.
 */
export class DcganEncoder extends Module {
  readonly main: Sequential;
  constructor(
    readonly isize: number,
    readonly nz: number,
    readonly nc: number,
    readonly ndf: number,
    opts: EncoderOptions = {},
  ) {
    super();
    const extraLayers = opts.extraLayers ?? 0;
    checkArgs('DcganEncoder', { isize, nz, nc, ndf, extraLayers });
    const main = new Sequential();
    main.addModule(`initial-conv-${nc}-${ndf}`, new Conv2d(nc, ndf, 4, { stride: 2, padding: 1, bias: false }));
    main.addModule(`initial-relu-${ndf}`, new LeakyReLU(0.2));
    let csize = isize / 2;
    let cndf = ndf;
    for (let t = 0; t < extraLayers; t++) {
      main.addModule(`extra-layers-${t}-${cndf}-conv`, new Conv2d(cndf, cndf, 3, { stride: 1, padding: 1, bias: false }));
      main.addModule(`extra-layers-${t}-${cndf}-batchnorm`, new BatchNorm2d(cndf));
      main.addModule(`extra-layers-${t}-${cndf}-relu`, new LeakyReLU(0.2));
    }
    while (csize > 4) {
      const inF = cndf;
      const outF = cndf * 2;
      main.addModule(`pyramid-${inF}-${outF}-conv`, new Conv2d(inF, outF, 4, { stride: 2, padding: 1, bias: false }));
      main.addModule(`pyramid-${outF}-batchnorm`, new BatchNorm2d(outF));
      main.addModule(`pyramid-${outF}-relu`, new LeakyReLU(0.2));
      cndf *= 2;
      csize /= 2;
    }
    if (opts.addFinalConv ?? true) {
      main.addModule(`final-${cndf}-1-conv`, new Conv2d(cndf, nz, 4, { stride: 1, padding: 0, bias: false }));
    }
    this.main = this.registerModule('main', main);
  }
  /** Channels of the last feature map (before the final conv). */
  get featureChannels(): number {
    let c = this.ndf;
    for (let s = this.isize / 2; s > 4; s /= 2) c *= 2;
    return c;
  }
  forward(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== this.nc || s[2] !== this.isize || s[3] !== this.isize) {
      throw new AnogenError(`DcganEncoder: expected input [N, ${this.nc}, ${this.isize}, ${this.isize}], got [${s.join(', ')}]`);
    }
    return this.main.call(x);
  }
}

/** Options of {@link DcganDecoder}. */
export interface DecoderOptions {
  /** Extra 3x3 conv + batch norm + ReLU blocks before the last layer (default 0). */
  extraLayers?: number;
}

/**
 * DCGAN decoder: nz x 1 x 1 -> nc x isize x isize in [-1, 1]. A 4x4 transposed conv to
 * cngf = ngf * isize / 8 channels + batch norm + ReLU, stride-2 transposed conv + batch norm +
 * ReLU blocks halving the channels, optional extra layers, then a stride-2 transposed conv to
 * nc and tanh. Children of `main`: initial-{nz}-{cngf}-convt, initial-{cngf}-batchnorm|relu,
 * pyramid-{c}-{c/2}-convt, pyramid-{c/2}-batchnorm|relu, extra-layers-{t}-{c}-conv|batchnorm|relu,
 * final-{c}-{nc}-convt, final-{nc}-tanh.
 */
export class DcganDecoder extends Module {
  readonly main: Sequential;
  constructor(
    readonly isize: number,
    readonly nz: number,
    readonly nc: number,
    readonly ngf: number,
    opts: DecoderOptions = {},
  ) {
    super();
    const extraLayers = opts.extraLayers ?? 0;
    checkArgs('DcganDecoder', { isize, nz, nc, ngf, extraLayers });
    let cngf = Math.floor(ngf / 2);
    for (let tisize = 4; tisize !== isize; tisize *= 2) cngf *= 2;
    if (cngf < 2) throw new AnogenError(`DcganDecoder: ngf ${ngf} is too small for isize ${isize}`);
    const main = new Sequential();
    main.addModule(`initial-${nz}-${cngf}-convt`, new ConvTranspose2d(nz, cngf, 4, { stride: 1, padding: 0, bias: false }));
    main.addModule(`initial-${cngf}-batchnorm`, new BatchNorm2d(cngf));
    main.addModule(`initial-${cngf}-relu`, new ReLU());
    for (let csize = 4; csize < Math.floor(isize / 2); csize *= 2) {
      const half = Math.floor(cngf / 2);
      main.addModule(`pyramid-${cngf}-${half}-convt`, new ConvTranspose2d(cngf, half, 4, { stride: 2, padding: 1, bias: false }));
      main.addModule(`pyramid-${half}-batchnorm`, new BatchNorm2d(half));
      main.addModule(`pyramid-${half}-relu`, new ReLU());
      cngf = half;
    }
    for (let t = 0; t < extraLayers; t++) {
      main.addModule(`extra-layers-${t}-${cngf}-conv`, new Conv2d(cngf, cngf, 3, { stride: 1, padding: 1, bias: false }));
      main.addModule(`extra-layers-${t}-${cngf}-batchnorm`, new BatchNorm2d(cngf));
      main.addModule(`extra-layers-${t}-${cngf}-relu`, new ReLU());
    }
    main.addModule(`final-${cngf}-${nc}-convt`, new ConvTranspose2d(cngf, nc, 4, { stride: 2, padding: 1, bias: false }));
    main.addModule(`final-${nc}-tanh`, new Tanh());
    this.main = this.registerModule('main', main);
  }
  forward(z: Tensor): Tensor {
    const s = z.shape;
    if (s.length !== 4 || s[1] !== this.nz || s[2] !== 1 || s[3] !== 1) {
      throw new AnogenError(`DcganDecoder: expected a latent [N, ${this.nz}, 1, 1], got [${s.join(', ')}]`);
    }
    return this.main.call(z);
  }
}
