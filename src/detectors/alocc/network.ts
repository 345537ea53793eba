/**
 * ALOCC's networks (Sabokrou et al., CVPR 2018) as anogen Modules:
 *
 * - {@link AloccReconstructor} R: a DCGAN encoder (x -> z, nz x 1 x 1) and decoder (z -> x^ in
 *   [-1, 1]) of src/models/dcgan (state dict `r.encoder.main...`, `r.decoder.main...`); the paper's
 *   R is such a convolutional encoder-decoder (its code builds it from DCGAN-tensorflow's layers);
 * - D: the DCGAN discriminator of GANomaly (src/detectors/ganomaly NetD: `d.features.*`, then
 *   `d.classifier` conv + sigmoid giving P(normal)).
 *
 * Initialisation is DCGAN's (conv N(0, 0.02), batch-norm weight N(1, 0.02), bias 0).
 */
import { noGrad, type Tensor } from '../../core/index.js';
import { Module } from '../../nn/module.js';
import { dcganInit } from '../../nn/init.js';
import { DcganDecoder, DcganEncoder } from '../../models/dcgan/index.js';
import { NetD } from '../ganomaly/network.js';

/** Architecture of ALOCC's networks. */
export interface AloccArch {
  /** Input size (square, a power of two >= 16; default 32). */
  isize: number;
  /** Image channels (default 1). */
  nc: number;
  /** Bottleneck size of R (default 100). */
  nz: number;
  /** Width of R (default 64). */
  ngf: number;
  /** Width of D (default 64). */
  ndf: number;
}

/** R: x -> x^ = decoder(encoder(x)). */
export class AloccReconstructor extends Module {
  readonly encoder: DcganEncoder;
  readonly decoder: DcganDecoder;
  constructor(a: AloccArch) {
    super();
    this.encoder = this.registerModule('encoder', new DcganEncoder(a.isize, a.nz, a.nc, a.ngf));
    this.decoder = this.registerModule('decoder', new DcganDecoder(a.isize, a.nz, a.nc, a.ngf));
  }
  forward(x: Tensor): Tensor {
    return this.decoder.call(this.encoder.call(x));
  }
}

/** R (`r`) and D (`d`): the detector's state dict. */
export class AloccNetworks extends Module {
  readonly r: AloccReconstructor;
  readonly d: NetD;
  constructor(readonly arch: AloccArch) {
    super();
    this.r = this.registerModule('r', new AloccReconstructor(arch));
    this.d = this.registerModule('d', new NetD({ ...arch, extraLayers: 0 }));
    this.resetParameters();
  }
  /** DCGAN initialisation of R and D (seeded by torch's generator) and fresh batch-norm statistics. */
  override resetParameters(): void {
    noGrad(() => {
      dcganInit(this.r);
      dcganInit(this.d);
      for (const [k, b] of this.namedBuffers()) {
        if (k.endsWith('running_var')) b.fill_(1);
        else b.zero_();
      }
    });
  }
  /** R(x). */
  forward(x: Tensor): Tensor {
    return this.r.call(x);
  }
}
