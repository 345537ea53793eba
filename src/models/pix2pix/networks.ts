/**
 * The pix2pix networks (Isola et al., 2017), laid out as in the authors' PyTorch code
 * (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py) so the state-dict names match:
 *
 * - {@link UnetGenerator}: `UnetGenerator(input_nc, output_nc, num_downs = log2(isize), ngf,
 *   norm = batch, use_dropout)` (16 px, which the reference cannot build, has 4 levels ngf..8ngf):
 *   log2(isize) stride-2 4x4 levels down to 1 x 1 and back, each
 *   level's input concatenated to its decoder output (the skips); widths ngf, 2ngf, 4ngf, 8ngf,
 *   8ngf...; Dropout(0.5) after the up-convolution of the 8ngf blocks between the innermost and
 *   the 4ngf one (num_downs - 5 of them: none at 32 px, one at 64 px). Names
 *   `model.model.0.weight`, `model.model.1.model.2.running_mean`...
 * - {@link PatchDiscriminator}: `NLayerDiscriminator(input_nc, ndf, n_layers)`: a stride-2 4x4
 *   conv + LeakyReLU(0.2), n_layers - 1 more stride-2 conv + norm + LeakyReLU blocks doubling
 *   the channels (at most 8ndf), a stride-1 4x4 conv + norm + LeakyReLU, and a stride-1 4x4 conv
 *   to one logit per patch: [N, 1, P, P]. The receptive field of one logit is
 *   {@link patchReceptiveField}(n_layers) pixels (70 for the paper's n_layers 3 at 256 px; 16 for
 *   n_layers 1 at 32 px, half the image, a patch map of 14 x 14). Names `model.0.weight`...
 *   Its norm is batch norm (pix2pix) or instance norm (cyclegan).
 *
 * Initialisation: the reference's init_weights('normal', 0.02): conv weights N(0, 0.02) and biases
 * 0, norm weights N(1, 0.02) and biases 0 ({@link translationInit}).
 */
import { cat, type Tensor } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import { noGrad } from '../../core/autograd.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/layers/container.js';
import { Conv2d, ConvTranspose2d } from '../../nn/layers/conv.js';
import { BatchNorm2d, InstanceNorm2d } from '../../nn/layers/norm.js';
import { LeakyReLU, ReLU, Tanh } from '../../nn/layers/activation.js';
import { Dropout } from '../../nn/layers/misc.js';
import { constant_, normal_ } from '../../nn/init.js';
import { ProbeImages } from '../paired.js';

/** The normalisation layer of the networks: 'batch' (pix2pix) or 'instance' (cyclegan). */
export type NormKind = 'batch' | 'instance';

/** A norm layer of `kind` over `c` channels (instance norm: affine false, no running statistics, as the reference). */
export function normLayer(kind: NormKind, c: number): Module {
  return kind === 'batch' ? new BatchNorm2d(c) : new InstanceNorm2d(c);
}

/**
 * The reference's init_weights('normal', 0.02) on every descendant of `net`: conv and
 * transposed-conv weights N(0, 0.02), their biases 0; batch-norm weights N(1, 0.02), biases 0.
 * Running statistics are reset. Draws from torch's generator.
 */
export function translationInit(net: Module<any, any>): void {
  noGrad(() => {
    net.apply((m) => {
      const t = m.typeName;
      if (t.includes('Conv')) {
        normal_(m.param('weight'), 0, 0.02);
        const b = m.paramOrNull('bias');
        if (b !== null) constant_(b, 0);
      } else if (t.includes('BatchNorm')) {
        const w = m.paramOrNull('weight');
        const b = m.paramOrNull('bias');
        if (w !== null) normal_(w, 1, 0.02);
        if (b !== null) constant_(b, 0);
      }
    });
    for (const [k, b] of net.namedBuffers()) {
      if (k.endsWith('running_var')) b.fill_(1);
      else if (k.endsWith('running_mean') || k.endsWith('num_batches_tracked')) b.zero_();
    }
  });
}

type BlockKind = 'outermost' | 'middle' | 'innermost';

/** One U-Net level (the reference's UnetSkipConnectionBlock): down, the inner block, up; non-outermost blocks return cat([x, up], 1). */
export class UnetSkipBlock extends Module {
  readonly model: Sequential;
  constructor(
    readonly kind: BlockKind,
    outerNc: number,
    innerNc: number,
    submodule: UnetSkipBlock | null,
    opts: { inputNc?: number; dropout?: boolean } = {},
  ) {
    super();
    const m = new Sequential();
    const down = new Conv2d(opts.inputNc ?? outerNc, innerNc, 4, { stride: 2, padding: 1, bias: false });
    if (kind === 'outermost') {
      m.append(down).append(submodule!).append(new ReLU());
      m.append(new ConvTranspose2d(innerNc * 2, outerNc, 4, { stride: 2, padding: 1 })).append(new Tanh());
    } else if (kind === 'innermost') {
      m.append(new LeakyReLU(0.2)).append(down).append(new ReLU());
      m.append(new ConvTranspose2d(innerNc, outerNc, 4, { stride: 2, padding: 1, bias: false })).append(new BatchNorm2d(outerNc));
    } else {
      m.append(new LeakyReLU(0.2)).append(down).append(new BatchNorm2d(innerNc)).append(submodule!).append(new ReLU());
      m.append(new ConvTranspose2d(innerNc * 2, outerNc, 4, { stride: 2, padding: 1, bias: false })).append(new BatchNorm2d(outerNc));
      if (opts.dropout === true) m.append(new Dropout(0.5));
    }
    this.model = this.registerModule('model', m);
  }
  forward(x: Tensor): Tensor {
    if (this.kind === 'outermost') return this.model.call(x);
    return cat([x, this.model.call(x)], 1);
  }
}

/** Options of {@link UnetGenerator}. */
export interface UnetOptions {
  /** Image size (a power of two >= 16): the number of levels is log2(isize). */
  isize: number;
  /** Input channels. */
  inputNc: number;
  /** Output channels. */
  outputNc: number;
  /** Width of the first level. */
  ngf: number;
  /** Dropout(0.5) in the 8ngf middle blocks (the paper's noise; default true). */
  dropout?: boolean;
}

/** The pix2pix U-Net generator x [N, inputNc, S, S] -> y [N, outputNc, S, S] in [-1, 1] (tanh). */
export class UnetGenerator extends Module {
  readonly model: UnetSkipBlock;
  constructor(readonly opts: UnetOptions) {
    super();
    const { isize, inputNc, outputNc, ngf } = opts;
    if (!Number.isInteger(isize) || isize < 16 || (isize & (isize - 1)) !== 0)
      throw new AnogenError(`UnetGenerator: isize must be a power of two >= 16, got ${JSON.stringify(isize)}`);
    const numDowns = Math.round(Math.log2(isize));
    // level i has ngf * min(2^i, 8) channels; at 32 px and above this is exactly the reference's
    // construction (innermost 8ngf, num_downs - 5 dropout blocks of 8ngf, then 4ngf, 2ngf, ngf)
    const width = (i: number) => ngf * Math.min(2 ** i, 8);
    let block = new UnetSkipBlock('innermost', width(numDowns - 2), width(numDowns - 1), null);
    for (let i = numDowns - 2; i >= 1; i--) block = new UnetSkipBlock('middle', width(i - 1), width(i), block, { dropout: (opts.dropout ?? true) && i - 1 >= 3 });
    this.model = this.registerModule('model', new UnetSkipBlock('outermost', outputNc, ngf, block, { inputNc }));
  }
  forward(x: Tensor): Tensor {
    return this.model.call(x);
  }
}

/** Receptive field (pixels) of one logit of a {@link PatchDiscriminator} with `nLayers`: 70 for 3, 34 for 2, 16 for 1. */
export function patchReceptiveField(nLayers: number): number {
  // backwards through: final 4x4 s1, 4x4 s1, then nLayers 4x4 s2 convs
  let rf = 4 + 3;
  for (let i = 0; i < nLayers; i++) rf = rf * 2 + 2;
  return rf;
}

/** The PatchGAN discriminator (the reference's NLayerDiscriminator): images [N, inputNc, S, S] -> patch logits [N, 1, P, P]. */
export class PatchDiscriminator extends Module {
  readonly model: Sequential;
  constructor(
    readonly inputNc: number,
    readonly ndf: number,
    readonly nLayers: number,
    norm: NormKind,
  ) {
    super();
    if (!Number.isInteger(nLayers) || nLayers < 1) throw new AnogenError(`PatchDiscriminator: nLayers must be an integer >= 1, got ${JSON.stringify(nLayers)}`);
    const bias = norm === 'instance'; // the reference: use_bias = norm_layer == InstanceNorm2d
    const m = new Sequential();
    m.append(new Conv2d(inputNc, ndf, 4, { stride: 2, padding: 1 })).append(new LeakyReLU(0.2));
    let mult = 1;
    for (let n = 1; n < nLayers; n++) {
      const prev = mult;
      mult = Math.min(2 ** n, 8);
      m.append(new Conv2d(ndf * prev, ndf * mult, 4, { stride: 2, padding: 1, bias }))
        .append(normLayer(norm, ndf * mult))
        .append(new LeakyReLU(0.2));
    }
    const prev = mult;
    mult = Math.min(2 ** nLayers, 8);
    m.append(new Conv2d(ndf * prev, ndf * mult, 4, { stride: 1, padding: 1, bias }))
      .append(normLayer(norm, ndf * mult))
      .append(new LeakyReLU(0.2));
    m.append(new Conv2d(ndf * mult, 1, 4, { stride: 1, padding: 1 }));
    this.model = this.registerModule('model', m);
  }
  forward(x: Tensor): Tensor {
    return this.model.call(x);
  }
}

/** Architecture of {@link Pix2pixNetworks}. */
export interface Pix2pixArch {
  /** Image size (a power of two >= 16). */
  isize: number;
  /** Image channels (input and output). */
  nc: number;
  /** Generator width. */
  ngf: number;
  /** Discriminator width. */
  ndf: number;
  /** Stride-2 layers of the PatchGAN discriminator. */
  nLayers: number;
  /** Dropout in the generator's 8ngf middle blocks. */
  dropout: boolean;
  /** Probe images kept for sampling. */
  probe: number;
}

/** The generator `netG`, the discriminator `netD` (on input and image concatenated: 2nc channels) and the probe images, as one Module. */
export class Pix2pixNetworks extends Module<[Tensor], Tensor> {
  readonly netG: UnetGenerator;
  readonly netD: PatchDiscriminator;
  readonly probe: ProbeImages;
  constructor(readonly arch: Pix2pixArch) {
    super();
    this.netG = this.registerModule('netG', new UnetGenerator({ isize: arch.isize, inputNc: arch.nc, outputNc: arch.nc, ngf: arch.ngf, dropout: arch.dropout }));
    this.netD = this.registerModule('netD', new PatchDiscriminator(2 * arch.nc, arch.ndf, arch.nLayers, 'batch'));
    this.probe = this.registerModule('probe', new ProbeImages(arch.probe, arch.nc, arch.isize));
    this.resetParameters();
  }
  /** G(x). */
  forward(x: Tensor): Tensor {
    return this.netG.call(x);
  }
  /** Every layer's default initialisation, then the reference's N(0, 0.02) ({@link translationInit}); empties the probe. */
  override resetParameters(): void {
    noGrad(() => {
      for (const m of this.modules()) if (m !== this) m.resetParameters();
    });
    translationInit(this.netG);
    translationInit(this.netD);
  }
}
