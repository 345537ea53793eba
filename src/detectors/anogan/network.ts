/**
 * AnoGAN's networks (Schlegl et al., IPMI 2017) and f-AnoGAN's encoder (Schlegl et al., Medical
 * Image Analysis 2019), as anogen Modules built from src/models/dcgan:
 *
 * - `netg` G: a DCGAN decoder (`DcganDecoder`) z (nz x 1 x 1, z ~ N(0, I)) -> image in [-1, 1];
 * - `netd` D: the DCGAN discriminator of GANomaly (`NetD`: `features` f(x), N x C x 4 x 4, then
 *   `classifier` conv + sigmoid); f is the feature map of the discrimination loss;
 * - `encoder` E (f-AnoGAN): a DCGAN encoder image -> z, trained after the GAN (izi_f).
 *
 * Initialisation is DCGAN's (conv N(0, 0.02), batch-norm weight N(1, 0.02), bias 0).
 */
import { noGrad, type Tensor } from '../../core/index.js';
import { Module } from '../../nn/module.js';
import { dcganInit } from '../../nn/init.js';
import { DcganDecoder, DcganEncoder } from '../../models/dcgan/index.js';
import { NetD } from '../ganomaly/network.js';

/** Architecture of AnoGAN's networks. */
export interface AnoganArch {
  /** Input size (square, a power of two >= 16; default 32). */
  isize: number;
  /** Image channels (default 1). */
  nc: number;
  /** Latent size (default 100). */
  nz: number;
  /** Generator width (default 64). */
  ngf: number;
  /** Discriminator and encoder width (default 64). */
  ndf: number;
}

/** G (`netg`), D (`netd`) and f-AnoGAN's encoder E (`encoder`). */
export class AnoganNetworks extends Module {
  readonly netg: DcganDecoder;
  readonly netd: NetD;
  readonly encoder: DcganEncoder;
  constructor(readonly arch: AnoganArch) {
    super();
    const { isize, nc, nz, ngf, ndf } = arch;
    this.netg = this.registerModule('netg', new DcganDecoder(isize, nz, nc, ngf));
    this.netd = this.registerModule('netd', new NetD({ ...arch, extraLayers: 0 }));
    this.encoder = this.registerModule('encoder', new DcganEncoder(isize, nz, nc, ndf));
    this.resetParameters();
  }
  /** DCGAN initialisation of G, D and E (seeded by torch's generator) and fresh batch-norm statistics. */
  override resetParameters(): void {
    noGrad(() => {
      dcganInit(this.netg);
      dcganInit(this.netd);
      dcganInit(this.encoder);
      for (const [k, b] of this.namedBuffers()) {
        if (k.endsWith('running_var')) b.fill_(1);
        else b.zero_();
      }
    });
  }
  /** G(z). */
  forward(z: Tensor): Tensor {
    return this.netg.call(z);
  }
}
