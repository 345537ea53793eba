/**
 * Skip-GANomaly networks (Akçay et al., 2019) as anogen Modules, laid out as in the authors' code
 * (samet-akcay/skip-ganomaly, lib/models/networks.py: UnetGenerator / UnetSkipConnectionBlock,
 * BasicDiscriminator) so that state-dict names match PyTorch's:
 *
 * - {@link UnetGenerator} `netg`: a U-Net of log2(isize) stride-2 levels down to 1 x 1 and back,
 *   each level's input concatenated (channels) to its decoder output (the skip connections).
 *   Level i has ngf * min(2^i, 8) channels, as the reference (ngf, 2ngf, 4ngf, 8ngf, 8ngf...).
 *   Blocks (PyTorch's `model.model.<i>` nesting): outermost [conv(nc -> ngf), block, ReLU,
 *   convT(2ngf -> nc, bias), tanh]; middle [LeakyReLU(0.2), conv, BN, block, ReLU, convT, BN];
 *   innermost [LeakyReLU(0.2), conv, ReLU, convT, BN]; 4x4 kernels, stride 2, padding 1, no bias
 *   except the last transposed conv. Names: `netg.model.model.0.weight`,
 *   `netg.model.model.1.model.2.running_mean`...
 * - {@link SkipDiscriminator} `netd`: the reference's BasicDiscriminator: `feat` = a DCGAN
 *   encoder (src/models/dcgan) ending in the 4x4 conv to nz channels (the features, N x nz x 1 x 1),
 *   `clas` = a 3x3 conv to 1 channel + sigmoid. Names: `netd.feat.initial-conv-1-64.weight`,
 *   `netd.clas.classifier.weight`.
 *
 * Initialisation is the reference's init_weights('normal', 0.02): conv and transposed-conv weights
 * N(0, 0.02), their biases 0; batch-norm weights N(1, 0.02), biases 0.
 */
import { cat, noGrad, type Tensor } from '../../core/index.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/layers/container.js';
import { Conv2d, ConvTranspose2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/norm.js';
import { LeakyReLU, ReLU, Sigmoid, Tanh } from '../../nn/layers/activation.js';
import { constant_ } from '../../nn/init.js';
import { dcganInit, DcganEncoder } from '../../models/dcgan/index.js';

/** Architecture hyperparameters of Skip-GANomaly. */
export interface SkipGanomalyArch {
  /** Input image size (square, a power of two >= 16; default 32). */
  isize: number;
  /** Image channels (default 1; 3 for RGB). */
  nc: number;
  /** Discriminator feature size (its last conv's channels; default 100). */
  nz: number;
  /** U-Net generator width (default 64). */
  ngf: number;
  /** Discriminator width (default 64). */
  ndf: number;
}

/** Where a U-Net block sits. */
type BlockKind = 'outermost' | 'middle' | 'innermost';

/** One U-Net level: down, the inner block, up; a non-outermost block returns cat([x, up(...)], 1). */
export class UnetSkipBlock extends Module {
  readonly model: Sequential;
  constructor(
    readonly kind: BlockKind,
    outerNc: number,
    innerNc: number,
    submodule: UnetSkipBlock | null,
    inputNc = outerNc,
  ) {
    super();
    const m = new Sequential();
    const down = new Conv2d(inputNc, innerNc, 4, { stride: 2, padding: 1, bias: false });
    if (kind === 'outermost') {
      m.append(down).append(submodule!).append(new ReLU());
      m.append(new ConvTranspose2d(innerNc * 2, outerNc, 4, { stride: 2, padding: 1 })).append(new Tanh());
    } else if (kind === 'innermost') {
      m.append(new LeakyReLU(0.2)).append(down).append(new ReLU());
      m.append(new ConvTranspose2d(innerNc, outerNc, 4, { stride: 2, padding: 1, bias: false })).append(new BatchNorm2d(outerNc));
    } else {
      m.append(new LeakyReLU(0.2)).append(down).append(new BatchNorm2d(innerNc)).append(submodule!).append(new ReLU());
      m.append(new ConvTranspose2d(innerNc * 2, outerNc, 4, { stride: 2, padding: 1, bias: false })).append(new BatchNorm2d(outerNc));
    }
    this.model = this.registerModule('model', m);
  }
  forward(x: Tensor): Tensor {
    if (this.kind === 'outermost') return this.model.call(x);
    return cat([x, this.model.call(x)], 1);
  }
}

/** The U-Net generator x -> x^ (same size, tanh output). */
export class UnetGenerator extends Module {
  readonly model: UnetSkipBlock;
  constructor(arch: SkipGanomalyArch) {
    super();
    const { isize, nc, ngf } = arch;
    const levels = Math.round(Math.log2(isize));
    const width = (i: number) => ngf * Math.min(2 ** i, 8);
    let block = new UnetSkipBlock('innermost', width(levels - 2), width(levels - 1), null);
    for (let i = levels - 2; i >= 1; i--) block = new UnetSkipBlock('middle', width(i - 1), width(i), block);
    this.model = this.registerModule('model', new UnetSkipBlock('outermost', nc, ngf, block, nc));
  }
  forward(x: Tensor): Tensor {
    return this.model.call(x);
  }
}

/** The discriminator: x -> [P(real) (N), features N x nz x 1 x 1], as the reference's BasicDiscriminator. */
export class SkipDiscriminator extends Module<[Tensor], [Tensor, Tensor]> {
  readonly feat: Sequential;
  readonly clas: Sequential;
  constructor(arch: SkipGanomalyArch) {
    super();
    const { isize, nc, nz, ndf } = arch;
    this.feat = this.registerModule('feat', new DcganEncoder(isize, nz, nc, ndf).main);
    const clas = new Sequential();
    clas.addModule('classifier', new Conv2d(nz, 1, 3, { stride: 1, padding: 1, bias: false }));
    clas.addModule('Sigmoid', new Sigmoid());
    this.clas = this.registerModule('clas', clas);
  }
  /** Returns [P(real) (N), features (N x nz x 1 x 1)]. */
  forward(x: Tensor): [Tensor, Tensor] {
    const f = this.feat.call(x);
    return [this.clas.call(f).view(-1), f];
  }
}

/** The reference's init_weights('normal', 0.02): conv weights N(0, 0.02) and biases 0; batch norm N(1, 0.02) / 0. */
export function skipGanomalyInit<M extends Module<any, any>>(m: M): M {
  dcganInit(m);
  m.apply((c) => {
    if (c.typeName.includes('Conv')) {
      const b = c.paramOrNull('bias');
      if (b !== null) constant_(b, 0);
    }
  });
  return m;
}

/**
 * Generator `netg` and discriminator `netd` of Skip-GANomaly (the detector's state dict). Its
 * forward runs each network once on x (netg(x), netd(x)): every batch-norm layer sees x's batch
 * exactly once, which is what the batch-norm recalibration needs.
 */
export class SkipGanomalyNetworks extends Module<[Tensor], [Tensor, Tensor]> {
  readonly netg: UnetGenerator;
  readonly netd: SkipDiscriminator;
  constructor(readonly arch: SkipGanomalyArch) {
    super();
    this.netg = this.registerModule('netg', new UnetGenerator(arch));
    this.netd = this.registerModule('netd', new SkipDiscriminator(arch));
    this.resetParameters();
  }

  /** The reference's initialisation of both networks (from torch's generator: seed first) and fresh batch-norm statistics. */
  override resetParameters(): void {
    noGrad(() => {
      skipGanomalyInit(this.netg);
      skipGanomalyInit(this.netd);
      for (const [k, b] of this.namedBuffers()) {
        if (k.endsWith('running_var')) b.fill_(1);
        else b.zero_();
      }
    });
  }

  /** [x^ = netg(x), D's features of x]. */
  forward(x: Tensor): [Tensor, Tensor] {
    return [this.netg.call(x), this.netd.call(x)[1]];
  }
}
