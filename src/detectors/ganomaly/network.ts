/**
 * GANomaly networks (Akcay et al., 2018) as anogen Modules, laid out as in the authors' code
 * (samet-akcay/ganomaly, lib/networks.py) so that state-dict names match PyTorch's 1:1:
 *
 * - {@link NetG}: `encoder1` (DCGAN encoder, x -> z) -> `decoder` (DCGAN decoder, z -> x^) ->
 *   `encoder2` (x^ -> z^). Names: `encoder1.main.initial-conv-1-64.weight`,
 *   `decoder.main.pyramid-256-128-convt.weight`...
 * - {@link NetD}: a DCGAN encoder with one output, split into `features` (every layer but the
 *   last, indexed 0, 1, 2... as PyTorch's `Sequential(*layers)` names them) and `classifier`
 *   (the last conv `classifier.0` then a sigmoid).
 * - {@link GanomalyNetworks}: both, as children `netg` and `netd` (bundle names
 *   `netg.encoder1.main...`, `netd.features.0.weight`...).
 *
 * The layers are src/models/dcgan's DcganEncoder / DcganDecoder (parity-tested against PyTorch);
 * initialisation is DCGAN's (src/nn/init dcganInit: conv N(0, 0.02), batch-norm weight
 * N(1, 0.02), bias 0).
 */
import { AnogenError, noGrad, type Tensor } from '../../core/index.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/layers/container.js';
import { Sigmoid } from '../../nn/layers/activation.js';
import { dcganInit } from '../../nn/init.js';
import { DcganDecoder, DcganEncoder } from '../../models/dcgan/index.js';

/** Architecture hyperparameters of GANomaly. */
export interface GanomalyArch {
  /** Input image size (square, a power of two >= 16; default 32). */
  isize: number;
  /** Image channels (default 1; 3 for RGB). */
  nc: number;
  /** Latent size (default 100). */
  nz: number;
  /** Generator width (default 64). */
  ngf: number;
  /** Discriminator width (default 64; the reference uses ngf for both). */
  ndf: number;
  /** Extra 3x3 conv layers after the first (encoders) / before the last (decoder) layer (default 0). */
  extraLayers: number;
}

/** Checks an architecture; every mistake is an AnogenError naming the option. */
export function checkArch(arch: GanomalyArch): void {
  for (const [k, v] of Object.entries(arch)) {
    const min = k === 'extraLayers' ? 0 : 1;
    if (!Number.isInteger(v) || (v as number) < min) {
      throw new AnogenError(`GANomaly ${k}: ${JSON.stringify(v)} is not valid; expected a ${min === 0 ? 'non-negative' : 'positive'} integer`);
    }
  }
  const { isize, ngf } = arch;
  if (isize < 16 || (isize & (isize - 1)) !== 0) {
    throw new AnogenError(`GANomaly isize: ${isize} is not valid; expected a power of two >= 16 (16, 32, 64, 128...), the multiples of 16 the DCGAN decoder can build`);
  }
  if (ngf % 2 !== 0) throw new AnogenError(`GANomaly ngf: ${ngf} is not valid; expected an even integer`);
}

/** The generator: x -> (x^, z, z^), as the reference's NetG (encoder1, decoder, encoder2). */
export class NetG extends Module<[Tensor], [Tensor, Tensor, Tensor]> {
  readonly encoder1: DcganEncoder;
  readonly decoder: DcganDecoder;
  readonly encoder2: DcganEncoder;
  constructor(arch: GanomalyArch) {
    super();
    const { isize, nz, nc, ngf, extraLayers } = arch;
    const o = { extraLayers };
    this.encoder1 = this.registerModule('encoder1', new DcganEncoder(isize, nz, nc, ngf, o));
    this.decoder = this.registerModule('decoder', new DcganDecoder(isize, nz, nc, ngf, o));
    this.encoder2 = this.registerModule('encoder2', new DcganEncoder(isize, nz, nc, ngf, o));
  }
  /** Returns [x^, z = encoder1(x), z^ = encoder2(x^)] (z, z^: N x nz x 1 x 1). */
  forward(x: Tensor): [Tensor, Tensor, Tensor] {
    const latentI = this.encoder1.call(x);
    const fake = this.decoder.call(latentI);
    return [fake, latentI, this.encoder2.call(fake)];
  }
}

/** The discriminator: x -> (P(real) of shape [N], features N x C x 4 x 4), as the reference's NetD. */
export class NetD extends Module<[Tensor], [Tensor, Tensor]> {
  readonly features: Sequential;
  readonly classifier: Sequential;
  constructor(arch: GanomalyArch) {
    super();
    const { isize, nc, ndf, extraLayers } = arch;
    const enc = new DcganEncoder(isize, 1, nc, ndf, { extraLayers });
    const layers = Array.from({ length: enc.main.length }, (_, i) => enc.main.at(i)!);
    this.features = this.registerModule('features', new Sequential(...layers.slice(0, -1)));
    this.classifier = this.registerModule('classifier', new Sequential(layers[layers.length - 1]!));
    this.classifier.addModule('Sigmoid', new Sigmoid());
  }
  /** Returns [P(real) (N), features]. */
  forward(x: Tensor): [Tensor, Tensor] {
    const f = this.features.call(x);
    return [this.classifier.call(f).view(-1), f];
  }
}

/** Generator `netg` and discriminator `netd` of GANomaly (the detector's state dict). */
export class GanomalyNetworks extends Module<[Tensor], [Tensor, Tensor, Tensor]> {
  readonly netg: NetG;
  readonly netd: NetD;
  /** Builds both networks (checked: AnogenError naming a bad option) with DCGAN initialisation. */
  constructor(readonly arch: GanomalyArch) {
    super();
    checkArch(arch);
    this.netg = this.registerModule('netg', new NetG(arch));
    this.netd = this.registerModule('netd', new NetD(arch));
    this.resetParameters();
  }

  /**
   * DCGAN initialisation of both networks (draws from torch's generator: seed first) and fresh
   * batch-norm statistics (running mean 0, variance 1, 0 batches tracked), as a new PyTorch model.
   */
  override resetParameters(): void {
    noGrad(() => {
      dcganInit(this.netg);
      dcganInit(this.netd);
      for (const [k, b] of this.namedBuffers()) {
        if (k.endsWith('running_var')) b.fill_(1);
        else b.zero_();
      }
    });
  }

  /** Runs the generator: [x^, z, z^]. */
  forward(x: Tensor): [Tensor, Tensor, Tensor] {
    return this.netg.call(x);
  }
}
