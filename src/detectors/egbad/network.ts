/**
 * EGBAD networks (Zenati et al., 2018): a BiGAN (Donahue et al., 2017; Dumoulin et al., 2017)
 * with an encoder E: x -> z, a generator G: z -> x and a discriminator D(x, z) on pairs.
 * E and G are src/models/dcgan's DCGAN encoder / decoder (the authors' MNIST networks are small
 * DCGAN-style convnets for 28 px; anogen takes any power-of-two size). D follows the authors'
 * layout (houssamzenati/Efficient-GAN-Anomaly-Detection, bigan/mnist_utilities.py discriminator):
 *
 * - `x`: a DCGAN encoder without its final conv (K x 4 x 4), flattened, dropout;
 * - `z`: Linear(nz, dHidden / 2), LeakyReLU(0.1), dropout;
 * - `joint`: Linear(16K + dHidden / 2, dHidden), LeakyReLU(0.1), dropout: the intermediate
 *   features f_D(x, z) used by the feature-matching score;
 * - `logits`: Linear(dHidden, 1) (no sigmoid: the losses take logits).
 *
 * Initialisation: convolutions and linear weights N(0, 0.02) (the authors' init_kernel; DCGAN's
 * for the convs), linear biases 0, batch norm N(1, 0.02) / 0.
 */
import { cat, noGrad, type Tensor } from '../../core/index.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/layers/container.js';
import { Linear } from '../../nn/layers/linear.js';
import { Dropout } from '../../nn/layers/misc.js';
import { LeakyReLU } from '../../nn/layers/activation.js';
import { constant_, normal_ } from '../../nn/init.js';
import { dcganInit, DcganDecoder, DcganEncoder } from '../../models/dcgan/index.js';

/** Architecture hyperparameters of EGBAD. */
export interface EgbadArch {
  /** Input image size (square, a power of two >= 16; default 32). */
  isize: number;
  /** Image channels (default 1; 3 for RGB). */
  nc: number;
  /** Latent size (default 200, the authors' MNIST latent_dim). */
  nz: number;
  /** Encoder and generator width (default 64). */
  ngf: number;
  /** Width of the discriminator's image path (default 64). */
  ndf: number;
  /** Units of D's joint layer (its z path has half; default 1024, the authors'). */
  dHidden: number;
  /** Dropout rate in D (default 0.5, the authors'). */
  dropout: number;
}

/** The discriminator D(x, z): [logits (N), intermediate features f_D (N x dHidden)]. */
export class BiganDiscriminator extends Module<[Tensor, Tensor], [Tensor, Tensor]> {
  readonly x: Sequential;
  readonly xDrop: Dropout;
  readonly z: Sequential;
  readonly joint: Sequential;
  readonly logits: Linear;
  constructor(arch: EgbadArch) {
    super();
    const { isize, nc, nz, ndf, dHidden, dropout } = arch;
    const enc = new DcganEncoder(isize, 1, nc, ndf, { addFinalConv: false });
    const k = enc.featureChannels;
    this.x = this.registerModule('x', enc.main);
    this.xDrop = this.registerModule('xDrop', new Dropout(dropout));
    const zh = Math.max(1, Math.floor(dHidden / 2));
    this.z = this.registerModule('z', new Sequential(new Linear(nz, zh), new LeakyReLU(0.1), new Dropout(dropout)));
    this.joint = this.registerModule('joint', new Sequential(new Linear(16 * k + zh, dHidden), new LeakyReLU(0.1), new Dropout(dropout)));
    this.logits = this.registerModule('logits', new Linear(dHidden, 1));
  }
  /** x: N x nc x S x S, z: N x nz. Returns [logits (N), f_D(x, z) (N x dHidden)]. */
  forward(x: Tensor, z: Tensor): [Tensor, Tensor] {
    const fx = this.xDrop.call(this.x.call(x).flatten(1));
    const f = this.joint.call(cat([fx, this.z.call(z)], 1));
    return [this.logits.call(f).view(-1), f];
  }
}

/** The authors' initialisation: DCGAN's for convolutions and batch norm, N(0, 0.02) weights and 0 biases for linear layers. */
export function egbadInit<M extends Module<any, any>>(m: M): M {
  dcganInit(m);
  m.apply((c) => {
    if (c instanceof Linear) {
      normal_(c.weight, 0, 0.02);
      if (c.bias !== null) constant_(c.bias, 0);
    }
  });
  return m;
}

/**
 * Encoder `encoder`, generator `generator` and discriminator `discriminator` of EGBAD (the
 * detector's state dict). Its forward runs E(x), G(E(x)) and D's image path on x, each once:
 * every batch-norm layer sees one batch once (what the batch-norm recalibration needs), and
 * no dropout draws from torch's generator.
 */
export class EgbadNetworks extends Module<[Tensor], Tensor> {
  readonly encoder: DcganEncoder;
  readonly generator: DcganDecoder;
  readonly discriminator: BiganDiscriminator;
  constructor(readonly arch: EgbadArch) {
    super();
    const { isize, nc, nz, ngf } = arch;
    this.encoder = this.registerModule('encoder', new DcganEncoder(isize, nz, nc, ngf));
    this.generator = this.registerModule('generator', new DcganDecoder(isize, nz, nc, ngf));
    this.discriminator = this.registerModule('discriminator', new BiganDiscriminator(arch));
    this.resetParameters();
  }

  /** Initialises every network (from torch's generator: seed first) with fresh batch-norm statistics. */
  override resetParameters(): void {
    noGrad(() => {
      egbadInit(this.encoder);
      egbadInit(this.generator);
      egbadInit(this.discriminator);
      for (const [k, b] of this.namedBuffers()) {
        if (k.endsWith('running_var')) b.fill_(1);
        else b.zero_();
      }
    });
  }

  /** E(x) as N x nz. */
  encode(x: Tensor): Tensor {
    return this.encoder.call(x).flatten(1);
  }

  /** G(z) for z: N x nz. */
  generate(z: Tensor): Tensor {
    return this.generator.call(z.view(z.shape[0]!, -1, 1, 1));
  }

  /** G(E(x)); D's image path also runs on x (see the class comment). */
  forward(x: Tensor): Tensor {
    this.discriminator.x.call(x);
    return this.generate(this.encode(x));
  }
}
