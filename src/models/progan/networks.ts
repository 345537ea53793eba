/**
 * The progressive GAN's networks (Karras et al., 2018, table 2, with constant widths `ngf` /
 * `ndf`, as the paper's 512 up to 32 x 32). Both grow from 4 x 4 to `isize` in stages
 * (resolution 4 * 2^k); the current stage and fade-in weight alpha are a persistent buffer
 * `growth` = [stage, alpha] of {@link ProGanNetworks}, so a bundle samples at the resolution
 * training reached.
 *
 * Generator: z (pixel-normalised) -> dense to ngf x 4 x 4 -> LReLU, PN -> conv3x3, LReLU, PN;
 * each stage k >= 1: nearest 2x upsampling -> 2 x (conv3x3, LReLU, PN); toRGB[k] is a linear
 * 1x1 conv. In a fade-in, out = (1 - alpha) * up(toRGB[k-1](h_{k-1})) + alpha * toRGB[k](block_k(h_{k-1})).
 *
 * Discriminator: fromRGB[k] (1x1 conv, LReLU) at the input's stage; each stage k >= 1:
 * 2 x (conv3x3, LReLU) -> 2x2 average pooling; in a fade-in the block's output is blended with
 * fromRGB[k-1](avgpool(x)). At 4 x 4: minibatch stddev -> conv3x3 (ndf + 1 -> ndf), LReLU ->
 * dense (ndf * 16 -> ndf), LReLU -> dense (ndf -> 1), linear. Every layer has equalised LR.
 */
import type { Tensor } from '../../core/tensor.js';
import { tensor, zeros } from '../../core/creation.js';
import { noGrad } from '../../core/autograd.js';
import { AnogenError } from '../../core/errors.js';
import * as F from '../../nn/functional.js';
import { Module } from '../../nn/module.js';
import { ModuleList } from '../../nn/layers/container.js';
import { EqualizedConv2d, EqualizedLinear, lrelu, minibatchStdDev, pixelNorm } from './layers.js';
import { stageResolution, stagesFor } from './schedule.js';

/** Architecture of {@link ProGanNetworks}. */
export interface ProGanArch {
  /** Final image size (a power of two >= 8). */
  isize: number;
  /** Image channels. */
  nc: number;
  /** Latent size. */
  nz: number;
  /** Generator width (channels of every stage). */
  ngf: number;
  /** Discriminator width (channels of every stage). */
  ndf: number;
}

/** Where a forward pass runs: stage and fade-in weight. */
export interface GrowthState {
  stage: number;
  alpha: number;
}

const up2 = (x: Tensor): Tensor => F.interpolate(x, { scaleFactor: 2, mode: 'nearest' });
const down2 = (x: Tensor): Tensor => F.avgPool2d(x, 2);

/**
 * The generator's 4 x 4 block: PN(z) -> dense (no bias) reshaped to [ngf, 4, 4] -> + bias per
 * channel, LReLU, PN over the channels of every pixel -> conv3x3, LReLU, PN. As the authors'
 * code (G_paper: dense, reshape, then apply_bias, act and pixel_norm on the 4 x 4 maps): the
 * pixel norm is per position over the ngf channels, not over the flat ngf * 16 vector.
 */
export class GeneratorBase extends Module {
  readonly dense: EqualizedLinear;
  readonly conv: EqualizedConv2d;
  constructor(
    readonly nz: number,
    readonly ngf: number,
  ) {
    super();
    // the authors' code: gain sqrt(2) / 4 for the dense "4x4 conv" on the latent
    this.dense = this.registerModule('dense', new EqualizedLinear(nz, ngf * 16, { gain: Math.SQRT2 / 4, bias: false }));
    this.registerParameter('bias', zeros([ngf]));
    this.conv = this.registerModule('conv', new EqualizedConv2d(ngf, ngf, 3));
  }
  override resetParameters(): void {
    noGrad(() => this.param('bias').zero_());
  }
  forward(z: Tensor): Tensor {
    const n = z.shape[0]!;
    const d = this.dense.call(pixelNorm(z.reshape([n, this.nz]))).reshape([n, this.ngf, 4, 4]);
    const h = pixelNorm(lrelu(d.add(this.param('bias').reshape([1, this.ngf, 1, 1]))));
    return pixelNorm(lrelu(this.conv.call(h)));
  }
}

/** A generator stage: upsample, two 3x3 convs with LReLU and pixel norm. */
class GeneratorBlock extends Module {
  readonly conv1: EqualizedConv2d;
  readonly conv2: EqualizedConv2d;
  constructor(cin: number, cout: number) {
    super();
    this.conv1 = this.registerModule('conv1', new EqualizedConv2d(cin, cout, 3));
    this.conv2 = this.registerModule('conv2', new EqualizedConv2d(cout, cout, 3));
  }
  forward(x: Tensor): Tensor {
    return pixelNorm(lrelu(this.conv2.call(pixelNorm(lrelu(this.conv1.call(up2(x)))))));
  }
}

/** A discriminator stage: two 3x3 convs with LReLU, then 2x2 average pooling. */
class DiscriminatorBlock extends Module {
  readonly conv1: EqualizedConv2d;
  readonly conv2: EqualizedConv2d;
  constructor(cin: number, cout: number) {
    super();
    this.conv1 = this.registerModule('conv1', new EqualizedConv2d(cin, cin, 3));
    this.conv2 = this.registerModule('conv2', new EqualizedConv2d(cin, cout, 3));
  }
  forward(x: Tensor): Tensor {
    return down2(lrelu(this.conv2.call(lrelu(this.conv1.call(x)))));
  }
}

/** The discriminator's 4 x 4 head: minibatch stddev, 3x3 conv, two dense layers to one output. */
class DiscriminatorHead extends Module {
  readonly conv: EqualizedConv2d;
  readonly dense: EqualizedLinear;
  readonly out: EqualizedLinear;
  constructor(readonly ndf: number) {
    super();
    this.conv = this.registerModule('conv', new EqualizedConv2d(ndf + 1, ndf, 3));
    this.dense = this.registerModule('dense', new EqualizedLinear(ndf * 16, ndf));
    this.out = this.registerModule('out', new EqualizedLinear(ndf, 1, { gain: 1 }));
  }
  forward(x: Tensor): Tensor {
    const h = lrelu(this.conv.call(minibatchStdDev(x)));
    return this.out.call(lrelu(this.dense.call(h.flatten(1)))).view([-1]);
  }
}

/** The growing generator (see the module comment). */
export class ProGenerator extends Module<[Tensor, GrowthState], Tensor> {
  readonly base: GeneratorBase;
  readonly blocks: ModuleList<GeneratorBlock>;
  readonly toRgb: ModuleList<EqualizedConv2d>;
  readonly stages: number;
  constructor(arch: ProGanArch) {
    super();
    this.stages = stagesFor(arch.isize);
    this.base = this.registerModule('base', new GeneratorBase(arch.nz, arch.ngf));
    // blocks.0 is unused by design (stage 0 is `base`), so blocks.k is stage k + 1: keep names simple
    this.blocks = this.registerModule('blocks', new ModuleList(Array.from({ length: this.stages - 1 }, () => new GeneratorBlock(arch.ngf, arch.ngf))));
    this.toRgb = this.registerModule('toRgb', new ModuleList(Array.from({ length: this.stages }, () => new EqualizedConv2d(arch.ngf, arch.nc, 1, { gain: 1 }))));
  }
  /** Images [N, nc, r, r] at the stage's resolution r from codes [N, nz, 1, 1] (linear output). */
  forward(z: Tensor, g: GrowthState): Tensor {
    let h = this.base.call(z);
    if (g.stage === 0) return this.toRgb.at(0).call(h);
    for (let k = 1; k < g.stage; k++) h = this.blocks.at(k - 1).call(h);
    const out = this.toRgb.at(g.stage).call(this.blocks.at(g.stage - 1).call(h));
    if (g.alpha >= 1) return out;
    const prev = up2(this.toRgb.at(g.stage - 1).call(h));
    return prev.lerp(out, g.alpha);
  }
}

/** The growing discriminator (critic; see the module comment). */
export class ProDiscriminator extends Module<[Tensor, GrowthState], Tensor> {
  readonly fromRgb: ModuleList<EqualizedConv2d>;
  readonly blocks: ModuleList<DiscriminatorBlock>;
  readonly head: DiscriminatorHead;
  readonly stages: number;
  constructor(arch: ProGanArch) {
    super();
    this.stages = stagesFor(arch.isize);
    this.fromRgb = this.registerModule('fromRgb', new ModuleList(Array.from({ length: this.stages }, () => new EqualizedConv2d(arch.nc, arch.ndf, 1))));
    this.blocks = this.registerModule('blocks', new ModuleList(Array.from({ length: this.stages - 1 }, () => new DiscriminatorBlock(arch.ndf, arch.ndf))));
    this.head = this.registerModule('head', new DiscriminatorHead(arch.ndf));
  }
  /** One output per image [N] of images [N, nc, r, r] at the stage's resolution r. */
  forward(x: Tensor, g: GrowthState): Tensor {
    const r = stageResolution(g.stage);
    if (x.ndim !== 4 || x.shape[2] !== r || x.shape[3] !== r) throw new AnogenError(`ProDiscriminator: stage ${g.stage} takes [N, C, ${r}, ${r}], got [${x.shape.join(', ')}]`);
    let h = lrelu(this.fromRgb.at(g.stage).call(x));
    if (g.stage > 0) {
      h = this.blocks.at(g.stage - 1).call(h);
      if (g.alpha < 1) h = lrelu(this.fromRgb.at(g.stage - 1).call(down2(x))).lerp(h, g.alpha);
      for (let k = g.stage - 1; k >= 1; k--) h = this.blocks.at(k - 1).call(h);
    }
    return this.head.call(h);
  }
}

/**
 * `netG`, `netD`, `netGEma` (an exponential moving average of netG's weights, which sampling
 * uses, as the authors' `Gs`) and the persistent buffer `growth` = [stage, alpha] (what training
 * reached; [0, 1] before training) as one Module (state dict `netG.*`, `netD.*`, `netGEma.*`,
 * `growth`).
 */
export class ProGanNetworks extends Module<[Tensor], Tensor> {
  readonly netG: ProGenerator;
  readonly netD: ProDiscriminator;
  readonly netGEma: ProGenerator;
  constructor(readonly arch: ProGanArch) {
    super();
    for (const [k, v] of Object.entries(arch)) {
      if (!Number.isInteger(v) || v < 1) throw new AnogenError(`ProGanNetworks: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    this.netG = this.registerModule('netG', new ProGenerator(arch));
    this.netD = this.registerModule('netD', new ProDiscriminator(arch));
    this.netGEma = this.registerModule('netGEma', new ProGenerator(arch));
    for (const p of this.netGEma.parameters()) p.requiresGrad_(false);
    this.registerBuffer('growth', tensor([0, 1]));
  }
  /** The stage and alpha stored in `growth`. */
  get growth(): GrowthState {
    const [stage, alpha] = this.buffer('growth').cpu().toFloat32Array();
    return { stage: Math.round(stage!), alpha: alpha! };
  }
  /** Stores the stage and alpha in `growth`. */
  setGrowth(g: GrowthState): void {
    noGrad(() => this.buffer('growth').copy_(tensor([g.stage, g.alpha], { device: this.buffer('growth').device as never })));
  }
  /** netGEma = beta * netGEma + (1 - beta) * netG, every parameter (beta in [0, 1]; 0 copies netG). */
  updateEma(beta: number): void {
    if (!(beta >= 0 && beta <= 1)) throw new AnogenError(`ProGanNetworks.updateEma: beta must be in [0, 1], got ${beta}`);
    const src = this.netG.parameters();
    noGrad(() => this.netGEma.parameters().forEach((p, i) => p.lerp_(src[i]!, 1 - beta)));
  }
  /** Fresh weights (N(0, 1), biases 0; from torch's generator: seed first), netGEma = netG, growth [0, 1]. */
  override resetParameters(): void {
    noGrad(() => {
      for (const m of this.modules()) if (m !== this) m.resetParameters();
    });
    this.updateEma(0);
    this.setGrowth({ stage: 0, alpha: 1 });
  }
  /** Images from netGEma at the stored growth's resolution from codes [N, nz, 1, 1]. */
  forward(z: Tensor): Tensor {
    return this.netGEma.call(z, this.growth);
  }
}
