/**
 * The conditional DCGAN networks of `cgan` (Mirza & Osindero, 2014, with the DCGAN architecture):
 * the class label y enters both networks as a one-hot code, as in the paper (where y is fed to
 * both G and D beside z and x):
 * - G(z, y) = DcganDecoder(isize, nz + K, nc, ngf) of [z; onehot(y)] ([N, nz + K, 1, 1]);
 * - D(x, y) = DcganDiscriminator(isize, nc + K, ndf) of [x; onehot(y) broadcast to K constant
 *   S x S planes] ([N, nc + K, S, S]), one logit per image.
 * State-dict keys are those of the unconditional networks (`netG.main.initial-{nz+K}-...`,
 * `netD.main.initial-conv-{nc+K}-{ndf}...`).
 */
import type { Tensor } from '../../core/tensor.js';
import { cat } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import { noGrad } from '../../core/autograd.js';
import * as F from '../../nn/functional.js';
import { Module } from '../../nn/module.js';
import { dcganInit } from '../../nn/init.js';
import { DcganDecoder } from '../dcgan/networks.js';
import { DcganDiscriminator } from '../gan/networks.js';

/** Architecture of {@link ConditionalNetworks}. */
export interface ConditionalArch {
  /** Image size (a power of two >= 16). */
  isize: number;
  /** Image channels. */
  nc: number;
  /** Latent size. */
  nz: number;
  /** Number of classes K. */
  numClasses: number;
  /** Generator width. */
  ngf: number;
  /** Discriminator width. */
  ndf: number;
}

/** The conditional generator `netG` and discriminator `netD` as one Module. */
export class ConditionalNetworks extends Module<[Tensor, Tensor], Tensor> {
  readonly netG: DcganDecoder;
  readonly netD: DcganDiscriminator;
  constructor(readonly arch: ConditionalArch) {
    super();
    if (!Number.isInteger(arch.numClasses) || arch.numClasses < 2)
      throw new AnogenError(`ConditionalNetworks: numClasses must be an integer >= 2, got ${JSON.stringify(arch.numClasses)}`);
    this.netG = this.registerModule('netG', new DcganDecoder(arch.isize, arch.nz + arch.numClasses, arch.nc, arch.ngf));
    this.netD = this.registerModule('netD', new DcganDiscriminator(arch.isize, arch.nc + arch.numClasses, arch.ndf));
    this.resetParameters();
  }

  /** One-hot float codes [N, K] of int64 labels [N] (AnogenError for a label outside [0, K)). */
  oneHot(y: Tensor): Tensor {
    const k = this.arch.numClasses;
    const [lo, hi] = noGrad(() => [y.min().item(), y.max().item()]);
    if (y.ndim !== 1 || lo < 0 || hi >= k) {
      throw new AnogenError(
        `cgan: class labels must be integers in [0, ${k - 1}] (numClasses ${k}), got labels from ${lo} to ${hi}; raise --num-classes or train on fewer classes`,
      );
    }
    return F.oneHot(y.to({ dtype: 'int64' }), k).to({ dtype: 'float32' });
  }

  /** G's input [N, nz + K, 1, 1] of latent codes [N, nz, 1, 1] and labels [N]. */
  generatorInput(z: Tensor, y: Tensor): Tensor {
    const n = z.shape[0]!;
    return cat([z, this.oneHot(y).view([n, this.arch.numClasses, 1, 1])], 1);
  }

  /** Images G(z, y) [N, nc, S, S] of latent codes [N, nz, 1, 1] and labels [N]. */
  generate(z: Tensor, y: Tensor): Tensor {
    return this.netG.call(this.generatorInput(z, y));
  }

  /** Logits D(x, y) [N] of images [N, nc, S, S] and labels [N]. */
  discriminate(x: Tensor, y: Tensor): Tensor {
    const [n, , s] = x.shape as [number, number, number, number];
    const k = this.arch.numClasses;
    const planes = this.oneHot(y).view([n, k, 1, 1]).expand([n, k, s, s]);
    return this.netD.call(cat([x, planes], 1));
  }

  /** G(z, y). */
  forward(z: Tensor, y: Tensor): Tensor {
    return this.generate(z, y);
  }

  /** DCGAN's initialisation (as AdversarialNetworks'): default init, then N(0, 0.02) convs, N(1, 0.02) batch-norm scales, fresh statistics. */
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
