/**
 * Deep SVDD's networks (Ruff et al., ICML 2018), laid out as the authors' MNIST LeNet-type nets
 * (lukasruff/Deep-SVDD-PyTorch, src/networks/mnist_LeNet.py), generalised from 28 px to any power
 * of two >= 16:
 *
 * - {@link LeNetEncoder} phi (`MNIST_LeNet`): conv1 (5x5, nc -> width, padding 2, no bias) ->
 *   bn1 (batch norm without affine, eps 1e-4) -> LeakyReLU(0.01) -> 2x2 max pool -> conv2 (5x5,
 *   width -> width/2) -> bn2 -> LeakyReLU -> pool -> fc1 (Linear to repDim, no bias). Every layer
 *   is bias-free and the batch norms have no affine terms, so phi cannot map every input to the
 *   center c through constant offsets (the paper's Proposition 2 on trivial solutions).
 * - {@link LeNetDecoder} (the decoder half of `MNIST_LeNet_Autoencoder`, used only for
 *   pretraining): the code reshaped to repDim/16 x 4 x 4, then per doubling LeakyReLU ->
 *   nearest 2x upsampling -> 5x5 transposed conv (padding 2, no bias) with batch norm (no affine,
 *   eps 1e-4) between them, channels repDim/16 -> width/2 -> width ... -> nc, then a sigmoid.
 * - {@link DeepSvddNetworks}: `net` (phi) and `decoder` as children, plus the buffers `c` (the
 *   hypersphere center, repDim) and `R` (its radius, 0-d; soft-boundary only), so that bundles
 *   and checkpoints carry them. The autoencoder shares `net`'s weights: the reference copies the
 *   pretrained encoder's state dict into phi, which is the same thing.
 *
 * Initialisation: PyTorch's defaults (kaiming-uniform convs and linear layers), as the reference.
 */
import { AnogenError, noGrad, zeros, type Tensor } from '../../core/index.js';
import { Module } from '../../nn/module.js';
import * as F from '../../nn/functional.js';
import { Conv2d, ConvTranspose2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/norm.js';
import { Linear } from '../../nn/layers/linear.js';

/** Architecture of Deep SVDD's networks. */
export interface DeepSvddArch {
  /** Input size (square, a power of two >= 16; default 32). */
  isize: number;
  /** Image channels (default 1). */
  nc: number;
  /** Channels of conv1 (conv2 has width / 2; default 8, the reference's). */
  width: number;
  /** Output size of phi (a multiple of 16; default 32, the reference's rep_dim). */
  repDim: number;
}

const BN = { eps: 1e-4, affine: false };

/** Checks an architecture (AnogenError naming the option). */
export function checkDeepSvddArch(a: DeepSvddArch): void {
  if (!Number.isInteger(a.isize) || a.isize < 16 || (a.isize & (a.isize - 1)) !== 0) {
    throw new AnogenError(`deep-svdd isize: ${a.isize} is not valid; expected a power of two >= 16 (16, 32, 64...)`);
  }
  if (!Number.isInteger(a.width) || a.width < 2 || a.width % 2 !== 0) throw new AnogenError(`deep-svdd width: ${a.width} is not valid; expected an even integer >= 2`);
  if (!Number.isInteger(a.repDim) || a.repDim < 16 || a.repDim % 16 !== 0) {
    throw new AnogenError(`deep-svdd repDim: ${a.repDim} is not valid; expected a multiple of 16 (the decoder reshapes the code to repDim/16 x 4 x 4)`);
  }
}

/** phi: the bias-free LeNet-type encoder (names as the reference's MNIST_LeNet). */
export class LeNetEncoder extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly fc1: Linear;
  constructor(readonly arch: DeepSvddArch) {
    super();
    const { isize, nc, width, repDim } = arch;
    const half = width / 2;
    this.conv1 = this.registerModule('conv1', new Conv2d(nc, width, 5, { padding: 2, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(width, BN));
    this.conv2 = this.registerModule('conv2', new Conv2d(width, half, 5, { padding: 2, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(half, BN));
    this.fc1 = this.registerModule('fc1', new Linear(half * (isize / 4) ** 2, repDim, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    let h = F.maxPool2d(F.leakyRelu(this.bn1.call(this.conv1.call(x))), 2, { stride: 2 });
    h = F.maxPool2d(F.leakyRelu(this.bn2.call(this.conv2.call(h))), 2, { stride: 2 });
    return this.fc1.call(h.flatten(1));
  }
}

/** The pretraining decoder (names as the reference's autoencoder: deconv1, bn3, deconv2, bn4, ...). */
export class LeNetDecoder extends Module {
  readonly deconvs: ConvTranspose2d[] = [];
  readonly bns: BatchNorm2d[] = [];
  constructor(readonly arch: DeepSvddArch) {
    super();
    const { isize, nc, width, repDim } = arch;
    const stages = Math.log2(isize / 4);
    let cin = repDim / 16;
    for (let k = 1; k <= stages; k++) {
      const cout = k === stages ? nc : k === 1 ? width / 2 : width;
      this.deconvs.push(this.registerModule(`deconv${k}`, new ConvTranspose2d(cin, cout, 5, { padding: 2, bias: false })));
      if (k < stages) this.bns.push(this.registerModule(`bn${k + 2}`, new BatchNorm2d(cout, BN)));
      cin = cout;
    }
  }
  forward(z: Tensor): Tensor {
    let h = z.view([z.shape[0]!, this.arch.repDim / 16, 4, 4]);
    this.deconvs.forEach((d, k) => {
      h = F.interpolate(F.leakyRelu(k === 0 ? h : this.bns[k - 1]!.call(h)), { scaleFactor: 2, mode: 'nearest' });
      h = d.call(h);
    });
    return h.sigmoid();
  }
}

/** phi (`net`), the pretraining `decoder`, the center `c` and the radius `R`. */
export class DeepSvddNetworks extends Module<[Tensor], Tensor> {
  readonly net: LeNetEncoder;
  readonly decoder: LeNetDecoder;
  constructor(readonly arch: DeepSvddArch) {
    super();
    checkDeepSvddArch(arch);
    this.net = this.registerModule('net', new LeNetEncoder(arch));
    this.decoder = this.registerModule('decoder', new LeNetDecoder(arch));
    this.registerBuffer('c', zeros([arch.repDim]));
    this.registerBuffer('R', zeros([]));
    this.resetParameters();
  }
  /** The hypersphere center c (repDim). */
  get c(): Tensor {
    return this.buffer('c');
  }
  /** The radius R (0-d; 0 unless the objective is soft-boundary). */
  get R(): Tensor {
    return this.buffer('R');
  }
  /** PyTorch's default initialisation of every layer (seeded by torch's generator), fresh batch-norm statistics, c = 0, R = 0. */
  override resetParameters(): void {
    noGrad(() => {
      for (const m of this.modules()) if (m !== this) m.resetParameters();
      this.c.zero_();
      this.R.zero_();
    });
  }
  /** phi(x): N x repDim. */
  forward(x: Tensor): Tensor {
    return this.net.call(x);
  }
  /** The autoencoder used for pretraining: decoder(phi(x)). */
  reconstruct(x: Tensor): Tensor {
    return this.decoder.call(this.net.call(x));
  }
}
