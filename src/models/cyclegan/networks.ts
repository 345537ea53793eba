/**
 * The CycleGAN networks (Zhu et al., 2017), laid out as in the authors' PyTorch code
 * (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py, norm 'instance'):
 *
 * - {@link ResnetGenerator}: c7s1-ngf (7x7 conv, reflect padding 3), two stride-2 3x3 convs
 *   (ngf -> 2ngf -> 4ngf), `nBlocks` residual blocks (reflect-padded 3x3 conv, norm, ReLU,
 *   3x3 conv, norm; x + block(x)), two stride-2 3x3 transposed convs back (output padding 1),
 *   c7s1-nc + tanh; instance norm after every conv but the last. The reference's
 *   ReflectionPad2d layers are the convolutions' reflect padding here, so the layer indices of
 *   `model.N` differ from the reference's (names `model.0.weight`, `model.9.conv_block.0.weight`).
 * - the discriminators: pix2pix's PatchGAN (src/models/pix2pix/networks.ts) with instance norm,
 *   on one image (not a pair).
 */
import type { Tensor } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import { noGrad } from '../../core/autograd.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/layers/container.js';
import { Conv2d, ConvTranspose2d } from '../../nn/layers/conv.js';
import { InstanceNorm2d } from '../../nn/layers/norm.js';
import { ReLU, Tanh } from '../../nn/layers/activation.js';
import { ProbeImages } from '../paired.js';
import { PatchDiscriminator, translationInit } from '../pix2pix/networks.js';

/** One residual block: x + (conv3, norm, ReLU, conv3, norm)(x), reflect padding. */
export class ResnetBlock extends Module {
  readonly conv_block: Sequential;
  constructor(dim: number) {
    super();
    const m = new Sequential();
    m.append(new Conv2d(dim, dim, 3, { padding: 1, paddingMode: 'reflect', bias: true }))
      .append(new InstanceNorm2d(dim))
      .append(new ReLU());
    m.append(new Conv2d(dim, dim, 3, { padding: 1, paddingMode: 'reflect', bias: true })).append(new InstanceNorm2d(dim));
    this.conv_block = this.registerModule('conv_block', m);
  }
  forward(x: Tensor): Tensor {
    return x.add(this.conv_block.call(x));
  }
}

/** The CycleGAN ResNet generator: [N, nc, S, S] -> [N, nc, S, S] in [-1, 1] (S divisible by 4). */
export class ResnetGenerator extends Module {
  readonly model: Sequential;
  constructor(
    readonly nc: number,
    readonly ngf: number,
    readonly nBlocks: number,
  ) {
    super();
    if (!Number.isInteger(nBlocks) || nBlocks < 0) throw new AnogenError(`ResnetGenerator: nBlocks must be an integer >= 0, got ${JSON.stringify(nBlocks)}`);
    const m = new Sequential();
    // instance norm follows every conv, so the convs keep their biases as the reference (use_bias = True for instance norm)
    m.append(new Conv2d(nc, ngf, 7, { padding: 3, paddingMode: 'reflect' }))
      .append(new InstanceNorm2d(ngf))
      .append(new ReLU());
    for (let i = 0; i < 2; i++) {
      const c = ngf * 2 ** i;
      m.append(new Conv2d(c, 2 * c, 3, { stride: 2, padding: 1 }))
        .append(new InstanceNorm2d(2 * c))
        .append(new ReLU());
    }
    for (let i = 0; i < nBlocks; i++) m.append(new ResnetBlock(ngf * 4));
    for (let i = 2; i > 0; i--) {
      const c = ngf * 2 ** i;
      m.append(new ConvTranspose2d(c, c / 2, 3, { stride: 2, padding: 1, outputPadding: 1 }))
        .append(new InstanceNorm2d(c / 2))
        .append(new ReLU());
    }
    m.append(new Conv2d(ngf, nc, 7, { padding: 3, paddingMode: 'reflect' })).append(new Tanh());
    this.model = this.registerModule('model', m);
  }
  forward(x: Tensor): Tensor {
    return this.model.call(x);
  }
}

/** Architecture of {@link CycleganNetworks}. */
export interface CycleganArch {
  /** Image size (a power of two >= 16). */
  isize: number;
  /** Image channels (both domains). */
  nc: number;
  /** Generator width. */
  ngf: number;
  /** Discriminator width. */
  ndf: number;
  /** Residual blocks per generator. */
  nBlocks: number;
  /** Stride-2 layers of the PatchGAN discriminators. */
  nLayers: number;
  /** Probe images (domain A) kept for sampling. */
  probe: number;
}

/**
 * The four networks as one Module, named as the reference's CycleGANModel: `netG_A` (G: A -> B),
 * `netG_B` (F: B -> A), `netD_A` (judges domain B: real b vs G(a)), `netD_B` (judges domain A:
 * real a vs F(b)); plus the probe images.
 */
export class CycleganNetworks extends Module<[Tensor], Tensor> {
  readonly netG_A: ResnetGenerator;
  readonly netG_B: ResnetGenerator;
  readonly netD_A: PatchDiscriminator;
  readonly netD_B: PatchDiscriminator;
  readonly probe: ProbeImages;
  constructor(readonly arch: CycleganArch) {
    super();
    this.netG_A = this.registerModule('netG_A', new ResnetGenerator(arch.nc, arch.ngf, arch.nBlocks));
    this.netG_B = this.registerModule('netG_B', new ResnetGenerator(arch.nc, arch.ngf, arch.nBlocks));
    this.netD_A = this.registerModule('netD_A', new PatchDiscriminator(arch.nc, arch.ndf, arch.nLayers, 'instance'));
    this.netD_B = this.registerModule('netD_B', new PatchDiscriminator(arch.nc, arch.ndf, arch.nLayers, 'instance'));
    this.probe = this.registerModule('probe', new ProbeImages(arch.probe, arch.nc, arch.isize));
    this.resetParameters();
  }
  /** G(a): domain A -> B. */
  forward(a: Tensor): Tensor {
    return this.netG_A.call(a);
  }
  /** Every layer's default initialisation, then the reference's N(0, 0.02); empties the probe. */
  override resetParameters(): void {
    noGrad(() => {
      for (const m of this.modules()) if (m !== this) m.resetParameters();
    });
    for (const n of [this.netG_A, this.netG_B, this.netD_A, this.netD_B]) translationInit(n);
  }
}
