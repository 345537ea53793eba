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
import { AnogenError, noGrad, tidy, zerosLike, keep, type Device, type Tensor } from '../../core/index.js';
import { BatchNorm2d } from '../../nn/layers/norm.js';
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
    const o = { nExtraLayers: extraLayers };
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
    const enc = new DcganEncoder(isize, 1, nc, ndf, { nExtraLayers: extraLayers });
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

  /** Moves nothing: CPU only here; kept for API symmetry. */
  get device(): Device {
    return 'cpu';
  }
}

/**
 * Recomputes the running statistics of every BatchNorm2d in `net` for its current weights, as
 * torch.optim.swa_utils.update_bn does: `net` runs in training mode (no autograd) over `images` in
 * batches of `batchSize` (the last batch may be smaller), and each layer's running mean and
 * (unbiased) variance become the plain average of the per-batch statistics. Nothing else changes
 * (weights, num_batches_tracked and the train/eval mode are kept).
 *
 * Why GANomaly needs it: the running averages kept during training (momentum 0.1) mix statistics
 * of weights from many steps back; after a short training they are far from the final weights'
 * and eval-mode scores are nonsense (measured in README.md: MNIST one-vs-rest AUROC 0.007 instead
 * of 0.997 for digit 1, identically in PyTorch).
 */
export function recalibrateBatchNorm(net: Module<[Tensor], unknown>, images: Tensor, batchSize: number): void {
  const bns = [...net.modules()].filter((m): m is BatchNorm2d => m instanceof BatchNorm2d && m.runningMean !== null && m.runningVar !== null);
  const n = images.shape[0]!;
  if (bns.length === 0 || n === 0) return;
  const wasTraining = net.training;
  noGrad(() => {
    const acc = bns.map((b) => ({ mean: keep(zerosLike(b.runningMean!)), var: keep(zerosLike(b.runningVar!)), nbt: keep(b.numBatchesTracked!.clone()) }));
    net.train();
    let batches = 0;
    try {
      for (let i = 0; i < n; i += batchSize) {
        tidy(() => {
          // With the running statistics at 0 (and 0 batches tracked), one training-mode forward leaves
          // factor * (batch statistics) in them: factor = momentum, or 1 for a cumulative average.
          for (const b of bns) {
            b.runningMean!.zero_();
            b.runningVar!.zero_();
            b.numBatchesTracked?.zero_();
          }
          net.call(images.narrow(0, i, Math.min(batchSize, n - i)));
          bns.forEach((b, j) => {
            const f = b.momentum ?? 1;
            acc[j]!.mean.add_(b.runningMean!, 1 / f);
            acc[j]!.var.add_(b.runningVar!, 1 / f);
          });
        });
        batches++;
      }
      bns.forEach((b, j) => {
        b.runningMean!.copy_(acc[j]!.mean.div_(batches));
        b.runningVar!.copy_(acc[j]!.var.div_(batches));
        b.numBatchesTracked?.copy_(acc[j]!.nbt);
      });
    } finally {
      for (const a of acc) for (const t of [a.mean, a.var, a.nbt]) t.dispose();
      net.train(wasTraining);
    }
  });
}
