/**
 * GANomaly networks (Akcay et al., 2018), laid out as in the authors' code so that state
 * dict names match PyTorch's:
 *
 * - NetG: encoder1 (DCGAN encoder, x -> z) -> decoder (DCGAN decoder, z -> x^) -> encoder2
 *   (x^ -> z^). Names: `encoder1.main.initial-conv-1-64.weight`, `decoder.main.pyramid-256-128-convt.weight`...
 * - NetD: a DCGAN encoder with one output: `features` (every layer but the last, indexed
 *   0, 1, 2... as PyTorch's Sequential(*layers) names them) and `classifier` (the last
 *   conv, `classifier.0.weight`, then a sigmoid).
 *
 * The layers are a small list of specs run with src/nn/functional; parameters live in a
 * Map keyed by dotted name. Initialisation is DCGAN's: conv N(0, 0.02), batch-norm weight
 * N(1, 0.02) and bias 0.
 */
import { AnogenError, Tensor, noGrad, zeros, ones, tensor, keep, type Device } from '../../core/index.js';
import * as F from '../../nn/functional.js';

/** Architecture hyperparameters of GANomaly. */
export interface GanomalyArch {
  /** Input image size (square, a multiple of 16; default 32). */
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

type Spec =
  | { kind: 'conv'; name: string; inC: number; outC: number; k: number; s: number; p: number }
  | { kind: 'convt'; name: string; inC: number; outC: number; k: number; s: number; p: number }
  | { kind: 'bn'; name: string; c: number }
  | { kind: 'lrelu' | 'relu' | 'tanh' | 'sigmoid'; name: string };

/** DCGAN encoder layer specs, as the reference's Encoder builds them. */
export function encoderSpecs(isize: number, nz: number, nc: number, ndf: number, extra: number, addFinalConv = true): Spec[] {
  if (isize % 16 !== 0 || isize < 16) throw new AnogenError(`GANomaly isize: ${isize} is not valid; expected a multiple of 16 (16, 32, 64, 128...)`);
  const l: Spec[] = [];
  l.push({ kind: 'conv', name: `initial-conv-${nc}-${ndf}`, inC: nc, outC: ndf, k: 4, s: 2, p: 1 });
  l.push({ kind: 'lrelu', name: `initial-relu-${ndf}` });
  let csize = isize / 2;
  let c = ndf;
  for (let t = 0; t < extra; t++) {
    l.push({ kind: 'conv', name: `extra-layers-${t}-${c}-conv`, inC: c, outC: c, k: 3, s: 1, p: 1 });
    l.push({ kind: 'bn', name: `extra-layers-${t}-${c}-batchnorm`, c });
    l.push({ kind: 'lrelu', name: `extra-layers-${t}-${c}-relu` });
  }
  while (csize > 4) {
    l.push({ kind: 'conv', name: `pyramid-${c}-${c * 2}-conv`, inC: c, outC: c * 2, k: 4, s: 2, p: 1 });
    l.push({ kind: 'bn', name: `pyramid-${c * 2}-batchnorm`, c: c * 2 });
    l.push({ kind: 'lrelu', name: `pyramid-${c * 2}-relu` });
    c *= 2;
    csize /= 2;
  }
  if (addFinalConv) l.push({ kind: 'conv', name: `final-${c}-1-conv`, inC: c, outC: nz, k: 4, s: 1, p: 0 });
  return l;
}

/** DCGAN decoder layer specs, as the reference's Decoder builds them. */
export function decoderSpecs(isize: number, nz: number, nc: number, ngf: number, extra: number): Spec[] {
  if (isize % 16 !== 0 || isize < 16) throw new AnogenError(`GANomaly isize: ${isize} is not valid; expected a multiple of 16 (16, 32, 64, 128...)`);
  let c = ngf / 2;
  for (let t = 4; t !== isize; t *= 2) c *= 2;
  const l: Spec[] = [];
  l.push({ kind: 'convt', name: `initial-${nz}-${c}-convt`, inC: nz, outC: c, k: 4, s: 1, p: 0 });
  l.push({ kind: 'bn', name: `initial-${c}-batchnorm`, c });
  l.push({ kind: 'relu', name: `initial-${c}-relu` });
  for (let csize = 4; csize < isize / 2; csize *= 2) {
    l.push({ kind: 'convt', name: `pyramid-${c}-${c / 2}-convt`, inC: c, outC: c / 2, k: 4, s: 2, p: 1 });
    l.push({ kind: 'bn', name: `pyramid-${c / 2}-batchnorm`, c: c / 2 });
    l.push({ kind: 'relu', name: `pyramid-${c / 2}-relu` });
    c /= 2;
  }
  for (let t = 0; t < extra; t++) {
    l.push({ kind: 'conv', name: `extra-layers-${t}-${c}-conv`, inC: c, outC: c, k: 3, s: 1, p: 1 });
    l.push({ kind: 'bn', name: `extra-layers-${t}-${c}-batchnorm`, c });
    l.push({ kind: 'relu', name: `extra-layers-${t}-${c}-relu` });
  }
  l.push({ kind: 'convt', name: `final-${c}-${nc}-convt`, inC: c, outC: nc, k: 4, s: 2, p: 1 });
  l.push({ kind: 'tanh', name: `final-${nc}-tanh` });
  return l;
}

/** A sequence of layers with its parameters and buffers (dotted names under `prefix`). */
export class Seq {
  readonly params = new Map<string, Tensor>();
  readonly buffers = new Map<string, Tensor>();
  constructor(
    readonly prefix: string,
    readonly specs: Spec[],
  ) {
    for (const s of specs) {
      const n = `${prefix}${s.name}`;
      if (s.kind === 'conv') this.params.set(`${n}.weight`, keep(zeros([s.outC, s.inC, s.k, s.k], { requiresGrad: true })));
      else if (s.kind === 'convt') this.params.set(`${n}.weight`, keep(zeros([s.inC, s.outC, s.k, s.k], { requiresGrad: true })));
      else if (s.kind === 'bn') {
        this.params.set(`${n}.weight`, keep(ones([s.c], { requiresGrad: true })));
        this.params.set(`${n}.bias`, keep(zeros([s.c], { requiresGrad: true })));
        this.buffers.set(`${n}.running_mean`, keep(zeros([s.c])));
        this.buffers.set(`${n}.running_var`, keep(ones([s.c])));
        this.buffers.set(`${n}.num_batches_tracked`, keep(tensor(0, { dtype: 'int64' })));
      }
    }
  }

  /** DCGAN initialisation (in place): conv N(0, 0.02); batch norm weight N(1, 0.02), bias 0; running stats reset. */
  resetParameters(): void {
    noGrad(() => {
      for (const s of this.specs) {
        const n = `${this.prefix}${s.name}`;
        if (s.kind === 'conv' || s.kind === 'convt') this.params.get(`${n}.weight`)!.normal_(0, 0.02);
        else if (s.kind === 'bn') {
          this.params.get(`${n}.weight`)!.normal_(1, 0.02);
          this.params.get(`${n}.bias`)!.zero_();
        }
      }
      for (const [k, b] of this.buffers) {
        if (k.endsWith('running_var')) b.fill_(1);
        else b.zero_();
      }
    });
  }

  /** Runs layers [from, to) on x; batch norm uses batch statistics (and updates running ones) when training. */
  forward(x: Tensor, training: boolean, from = 0, to = this.specs.length): Tensor {
    let h = x;
    for (let i = from; i < to; i++) {
      const s = this.specs[i];
      const n = `${this.prefix}${s.name}`;
      switch (s.kind) {
        case 'conv':
          h = F.conv2d(h, this.params.get(`${n}.weight`)!, null, { stride: s.s, padding: s.p });
          break;
        case 'convt':
          h = F.convTranspose2d(h, this.params.get(`${n}.weight`)!, null, { stride: s.s, padding: s.p });
          break;
        case 'bn':
          if (training) noGrad(() => this.buffers.get(`${n}.num_batches_tracked`)!.add_(1));
          h = F.batchNorm(h, this.buffers.get(`${n}.running_mean`)!, this.buffers.get(`${n}.running_var`)!, {
            weight: this.params.get(`${n}.weight`)!,
            bias: this.params.get(`${n}.bias`)!,
            training,
          });
          break;
        case 'lrelu':
          h = h.leakyRelu(0.2);
          break;
        case 'relu':
          h = h.relu();
          break;
        case 'tanh':
          h = h.tanh();
          break;
        case 'sigmoid':
          h = h.sigmoid();
          break;
      }
    }
    return h;
  }
}

/** Generator and discriminator of GANomaly with their named tensors. */
export class GanomalyNetworks {
  readonly encoder1: Seq;
  readonly decoder: Seq;
  readonly encoder2: Seq;
  /** Discriminator: features = specs [0, n-1), classifier = last conv + sigmoid. */
  readonly netD: Seq;
  private readonly dFeatureCount: number;

  constructor(readonly arch: GanomalyArch) {
    const { isize, nz, nc, ngf, ndf, extraLayers } = arch;
    for (const [k, v] of Object.entries(arch)) {
      if (!Number.isInteger(v) || (v as number) < (k === 'extraLayers' ? 0 : 1)) {
        throw new AnogenError(`GANomaly ${k}: ${JSON.stringify(v)} is not valid; expected a ${k === 'extraLayers' ? 'non-negative' : 'positive'} integer`);
      }
    }
    if (ngf % 2 !== 0) throw new AnogenError(`GANomaly ngf: ${ngf} is not valid; expected an even integer`);
    this.encoder1 = new Seq('netg.encoder1.main.', encoderSpecs(isize, nz, nc, ngf, extraLayers));
    this.decoder = new Seq('netg.decoder.main.', decoderSpecs(isize, nz, nc, ngf, extraLayers));
    this.encoder2 = new Seq('netg.encoder2.main.', encoderSpecs(isize, nz, nc, ngf, extraLayers));
    const d = encoderSpecs(isize, 1, nc, ndf, extraLayers);
    this.dFeatureCount = d.length - 1;
    const named: Spec[] = d.map((s, i) => ({ ...s, name: i < d.length - 1 ? `features.${i}` : 'classifier.0' }));
    named.push({ kind: 'sigmoid', name: 'classifier.1' });
    this.netD = new Seq('netd.', named);
    this.resetParameters();
  }

  /** DCGAN initialisation of both networks. */
  resetParameters(): void {
    this.encoder1.resetParameters();
    this.decoder.resetParameters();
    this.encoder2.resetParameters();
    this.netD.resetParameters();
  }

  /** x -> (x^, z, z^). */
  generate(x: Tensor, training: boolean): { fake: Tensor; latentI: Tensor; latentO: Tensor } {
    const latentI = this.encoder1.forward(x, training);
    const fake = this.decoder.forward(latentI, training);
    const latentO = this.encoder2.forward(fake, training);
    return { fake, latentI, latentO };
  }

  /** Discriminator: probability that x is real (N) and its features (N x C x 4 x 4). */
  discriminate(x: Tensor, training: boolean): { pred: Tensor; features: Tensor } {
    const features = this.netD.forward(x, training, 0, this.dFeatureCount);
    const pred = this.netD.forward(features, training, this.dFeatureCount).reshape(-1);
    return { pred, features };
  }

  /** Generator parameters (encoder1, decoder, encoder2). */
  paramsG(): Tensor[] {
    return [...this.encoder1.params.values(), ...this.decoder.params.values(), ...this.encoder2.params.values()];
  }
  /** Discriminator parameters. */
  paramsD(): Tensor[] {
    return [...this.netD.params.values()];
  }

  /** Every parameter and buffer by dotted name (`netg.…`, `netd.…`), in PyTorch's order. */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const seq of [this.encoder1, this.decoder, this.encoder2, this.netD]) {
      // PyTorch orders a module's parameters then buffers per layer; interleave by layer name.
      for (const s of seq.specs) {
        const n = `${seq.prefix}${s.name}`;
        for (const suffix of ['weight', 'bias']) {
          const p = seq.params.get(`${n}.${suffix}`);
          if (p) out.set(`${n}.${suffix}`, p);
        }
        for (const suffix of ['running_mean', 'running_var', 'num_batches_tracked']) {
          const b = seq.buffers.get(`${n}.${suffix}`);
          if (b) out.set(`${n}.${suffix}`, b);
        }
      }
    }
    return out;
  }

  /** Copies tensors into the networks; names and shapes must match exactly. */
  loadStateDict(sd: Map<string, Tensor>): void {
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !sd.has(k));
    const unexpected = [...sd.keys()].filter((k) => !own.has(k));
    if (missing.length > 0 || unexpected.length > 0) {
      throw new AnogenError(
        `GANomaly weights do not match the architecture: ${missing.length} missing (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}), ` +
          `${unexpected.length} unexpected (${unexpected.slice(0, 3).join(', ')}${unexpected.length > 3 ? ', ...' : ''})`,
      );
    }
    noGrad(() => {
      for (const [k, t] of own) {
        const src = sd.get(k)!;
        if (src.shape.join('x') !== t.shape.join('x')) {
          throw new AnogenError(`GANomaly weight ${k}: shape [${src.shape.join(', ')}] does not match the architecture's [${t.shape.join(', ')}]`);
        }
        const s = src.dtype === t.dtype ? src : src.to(t.dtype);
        t.copy_(s);
        if (s !== src) s.dispose();
      }
    });
  }

  /** Moves nothing yet: CPU only here; kept for API symmetry. */
  get device(): Device {
    return 'cpu';
  }

  /** Frees every tensor. */
  dispose(): void {
    for (const t of this.stateDict().values()) t.dispose();
  }
}
