/**
 * The DCGAN networks of the adversarial generators (gan, wgan, wgan-gp): the generator is
 * src/models/dcgan's DcganDecoder (z [N, nz, 1, 1] -> transposed convs + batch norm + ReLU ->
 * tanh); the discriminator/critic below has DcganEncoder's layout and names but ends in one
 * logit per image (no sigmoid: the losses take logits), and can drop batch norm (WGAN-GP's
 * critic: the penalty is per image, batch norm would couple the images of a batch).
 */
import type { Tensor } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import { noGrad } from '../../core/autograd.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/layers/container.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/norm.js';
import { LeakyReLU } from '../../nn/layers/activation.js';
import { dcganInit } from '../../nn/init.js';
import { DcganDecoder } from '../dcgan/networks.js';

/** Options of {@link DcganDiscriminator}. */
export interface DiscriminatorOptions {
  /** Batch norm after every convolution but the first and the last (default true, DCGAN's; false: WGAN-GP's critic). */
  batchNorm?: boolean;
}

/**
 * DCGAN discriminator: nc x isize x isize -> one logit per image [N]. A stride-2 4x4 conv to
 * ndf channels and LeakyReLU(0.2), then stride-2 conv (+ batch norm) + LeakyReLU(0.2) blocks
 * doubling the channels down to 4 x 4, then a 4x4 conv to 1. With batch norm no convolution
 * has a bias (DCGAN's); without it every convolution has one (WGAN-GP's critic). Children of `main` are named as DcganEncoder's:
 * initial-conv-{nc}-{ndf}, initial-relu-{ndf}, pyramid-{in}-{out}-conv, pyramid-{out}-batchnorm,
 * pyramid-{out}-relu, final-{c}-1-conv.
 */
export class DcganDiscriminator extends Module<[Tensor], Tensor> {
  readonly main: Sequential;
  readonly batchNorm: boolean;
  constructor(
    readonly isize: number,
    readonly nc: number,
    readonly ndf: number,
    opts: DiscriminatorOptions = {},
  ) {
    super();
    this.batchNorm = opts.batchNorm ?? true;
    if (!Number.isInteger(isize) || isize < 16 || (isize & (isize - 1)) !== 0) {
      throw new AnogenError(`DcganDiscriminator: isize must be a power of two >= 16 (16, 32, 64, ...), got ${JSON.stringify(isize)}`);
    }
    for (const [k, v] of Object.entries({ nc, ndf })) {
      if (!Number.isInteger(v) || v < 1) throw new AnogenError(`DcganDiscriminator: ${k} must be an integer >= 1, got ${JSON.stringify(v)}`);
    }
    const bias = !this.batchNorm;
    const main = new Sequential();
    main.addModule(`initial-conv-${nc}-${ndf}`, new Conv2d(nc, ndf, 4, { stride: 2, padding: 1, bias }));
    main.addModule(`initial-relu-${ndf}`, new LeakyReLU(0.2));
    let c = ndf;
    for (let s = isize / 2; s > 4; s /= 2) {
      main.addModule(`pyramid-${c}-${2 * c}-conv`, new Conv2d(c, 2 * c, 4, { stride: 2, padding: 1, bias }));
      if (this.batchNorm) main.addModule(`pyramid-${2 * c}-batchnorm`, new BatchNorm2d(2 * c));
      main.addModule(`pyramid-${2 * c}-relu`, new LeakyReLU(0.2));
      c *= 2;
    }
    main.addModule(`final-${c}-1-conv`, new Conv2d(c, 1, 4, { stride: 1, padding: 0, bias }));
    this.main = this.registerModule('main', main);
  }
  /** Logits [N] of images [N, nc, isize, isize]. */
  forward(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== this.nc || s[2] !== this.isize || s[3] !== this.isize) {
      throw new AnogenError(`DcganDiscriminator: expected input [N, ${this.nc}, ${this.isize}, ${this.isize}], got [${s.join(', ')}]`);
    }
    return this.main.call(x).view([-1]);
  }
}

/** Architecture of {@link AdversarialNetworks}. */
export interface AdversarialArch {
  /** Image size (a power of two >= 16). */
  isize: number;
  /** Image channels. */
  nc: number;
  /** Latent size. */
  nz: number;
  /** Generator width (channels of its last hidden layer). */
  ngf: number;
  /** Discriminator width (channels of its first layer). */
  ndf: number;
  /** Batch norm in the discriminator (default true). */
  discriminatorBatchNorm?: boolean;
}

/** The generator `netG` and the discriminator (critic) `netD` as one Module (state-dict keys `netG.main.*`, `netD.main.*`). */
export class AdversarialNetworks extends Module<[Tensor], Tensor> {
  readonly netG: DcganDecoder;
  readonly netD: DcganDiscriminator;
  constructor(readonly arch: AdversarialArch) {
    super();
    this.netG = this.registerModule('netG', new DcganDecoder(arch.isize, arch.nz, arch.nc, arch.ngf));
    this.netD = this.registerModule('netD', new DcganDiscriminator(arch.isize, arch.nc, arch.ndf, { batchNorm: arch.discriminatorBatchNorm ?? true }));
    this.resetParameters();
  }

  /** Samples G(z) of latent codes [N, nz, 1, 1]. */
  forward(z: Tensor): Tensor {
    return this.netG.call(z);
  }

  /**
   * PyTorch's construction then DCGAN's `weights_init` (draws from torch's generator: seed
   * first): every layer's default initialisation (biases included), then conv weights N(0, 0.02),
   * batch-norm weights N(1, 0.02) and biases 0, and fresh batch-norm statistics.
   */
  override resetParameters(): void {
    noGrad(() => {
      for (const m of this.modules()) if (m !== this) m.resetParameters();
      dcganInit(this.netG);
      dcganInit(this.netD);
      for (const [k, b] of this.namedBuffers()) {
        if (k.endsWith('running_var')) b.fill_(1);
        else b.zero_();
      }
    });
  }
}
