/**
 * The AnoGAN detector (Schlegl et al., IPMI 2017) and its f-AnoGAN encoder variant (Schlegl et
 * al., 2019), selected by `search`:
 *
 * - 'iterative' (AnoGAN): A(x) = (1 - lambda) sum |x - G(z_Gamma)| + lambda sum |f(x) - f(G(z_Gamma))|
 *   after `iterations` Adam steps on z (see search.ts); map = |x - G(z_Gamma)|;
 * - 'encoder' (f-AnoGAN izi_f, one pass): A(x) = mean (x - G(E(x)))^2 + kappa mean (f(x) - f(G(E(x))))^2;
 *   map = |x - G(E(x))|.
 *
 * Both use the same trained G and D; the encoder phase trains E after the GAN.
 */
import { AnogenError, noGrad, tidy, type Tensor } from '../../core/index.js';
import type { TrainingProcess } from '../../train/loop.js';
import type { BatchSource } from '../../train/source.js';
import type { FeatureExtractor, FitOptions, FitReport, ImageSet, InputSpec, Reconstructor, Sampler } from '../api.js';
import { NeuralDetector, type ProcessOptions } from '../neural.js';
import { registerDetector } from '../registry.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../schema.js';
import { AnoganNetworks, type AnoganArch } from './network.js';
import { ANOGAN_LOSSES, anoganProcess, iziTerms } from './step.js';
import { latentSearch, seededNormals } from './search.js';
import { tensor } from '../../core/index.js';

const powerOfTwo = (v: number) => (v >= 16 && (v & (v - 1)) === 0 ? null : 'a power of two >= 16 (16, 32, 64, 128...), the sizes the DCGAN networks can build');

/** How a test image is mapped to the latent space. */
export const ANOGAN_SEARCHES = ['iterative', 'encoder'] as const;

/** AnoGAN's hyperparameters, declared once. */
export const ANOGAN_SCHEMA = {
  isize: { type: 'int', default: 32, min: 16, max: 1024, check: powerOfTwo, doc: 'input image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels' },
  nz: { type: 'int', default: 100, min: 1, max: 4096, doc: 'latent size' },
  ngf: { type: 'int', default: 64, min: 2, max: 1024, check: (v) => (v % 2 === 0 ? null : 'an even integer'), doc: 'generator width' },
  ndf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'discriminator (and encoder) width' },
  search: {
    type: 'enum',
    default: 'iterative',
    values: [...ANOGAN_SEARCHES],
    doc: "'iterative' (AnoGAN: Adam on z per test image) or 'encoder' (f-AnoGAN: z = E(x), one pass)",
  },
  iterations: { type: 'int', default: 500, min: 0, max: 100000, doc: 'iterative: Adam steps on z per image (Gamma)' },
  lambda: { type: 'number', default: 0.1, min: 0, max: 1, doc: 'iterative: weight of the discrimination loss (1 - lambda: residual loss)' },
  searchLr: { type: 'number', default: 0.01, min: 0, max: 10, doc: "iterative: Adam's learning rate on z" },
  searchSeed: { type: 'int', default: 0, min: 0, max: 2147483647, doc: 'iterative: seed of the starting latent z0 (the same z0 for every image)' },
  encoderEpochs: { type: 'int', default: 5, min: 0, max: 100000, doc: "f-AnoGAN encoder (izi_f) epochs after the GAN's --epochs (0: no encoder)" },
  kappa: { type: 'number', default: 1, min: 0, max: 1e6, doc: 'encoder: weight of the feature term in the izi_f loss and score' },
  beta1: { type: 'number', default: 0.5, min: 0, below: 1, doc: 'Adam beta1 (training)' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2 (training)' },
} satisfies HParamSchema;

/** AnoGAN hyperparameters. */
export interface AnoganHParams extends AnoganArch {
  /** 'iterative' (default) or 'encoder'. */
  search: (typeof ANOGAN_SEARCHES)[number];
  /** Adam steps on z (default 500). */
  iterations: number;
  /** Discrimination-loss weight (default 0.1). */
  lambda: number;
  /** Adam lr on z (default 0.01). */
  searchLr: number;
  /** Seed of z0 (default 0). */
  searchSeed: number;
  /** Encoder epochs after the GAN (default 5). */
  encoderEpochs: number;
  /** izi_f feature weight (default 1). */
  kappa: number;
  /** Adam beta1 (default 0.5). */
  beta1: number;
  /** Adam beta2 (default 0.999). */
  beta2: number;
}

/** Every default (see {@link ANOGAN_SCHEMA}). */
export const ANOGAN_DEFAULTS = schemaDefaults(ANOGAN_SCHEMA) as unknown as AnoganHParams;

/** Default training options: 15 GAN epochs, batch 64, Adam lr 2e-4 (DCGAN's). */
export const ANOGAN_TRAIN_DEFAULTS = { epochs: 15, batchSize: 64, lr: 2e-4 };

/** Validates (partial) AnoGAN hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function anoganHParams(h: Record<string, unknown> = {}): AnoganHParams {
  const r = resolveHParams(ANOGAN_SCHEMA, h, 'anogan') as unknown as AnoganHParams;
  if (r.search === 'encoder' && r.encoderEpochs < 1) {
    throw new AnogenError(`anogan encoderEpochs: ${r.encoderEpochs} is not valid with search 'encoder'; expected >= 1 (the encoder must be trained)`);
  }
  return r;
}

/** AnoGAN / f-AnoGAN as an anogen detector. */
export class Anogan extends NeuralDetector<AnoganHParams> implements Reconstructor, FeatureExtractor, Sampler {
  readonly name = 'anogan';
  readonly producesMaps = true;
  readonly featureName = 'discriminator features';
  readonly trainDefaults = ANOGAN_TRAIN_DEFAULTS;
  /** G, D and E (state dict `netg.*`, `netd.*`, `encoder.*`). */
  readonly nets: AnoganNetworks;
  private ganEpochs = ANOGAN_TRAIN_DEFAULTS.epochs;
  protected get net(): AnoganNetworks {
    return this.nets;
  }

  /** Builds AnoGAN from (partial) hyperparameters, validated against {@link ANOGAN_SCHEMA}. */
  constructor(hparams: Partial<AnoganHParams> = {}) {
    super(anoganHParams(hparams as Record<string, unknown>));
    const { isize, nc, nz, ngf, ndf } = this.hparams;
    this.nets = new AnoganNetworks({ isize, nc, nz, ngf, ndf });
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  /** Trains the GAN for `epochs` (default 15), then the encoder for encoderEpochs, in one run of the loop (its epochs count both). */
  override async fit(train: ImageSet | BatchSource, opts: FitOptions = {}): Promise<FitReport> {
    this.ganEpochs = opts.epochs ?? this.trainDefaults.epochs;
    return super.fit(train, { ...opts, epochs: this.ganEpochs + this.hparams.encoderEpochs });
  }

  protected trainingProcess(o: ProcessOptions): TrainingProcess {
    const h = this.hparams;
    return anoganProcess(this.nets, { ganEpochs: this.ganEpochs, kappa: h.kappa, beta1: h.beta1, beta2: h.beta2 }, o);
  }

  protected scoreBatch(x: Tensor, maps: boolean): { scores: Tensor; maps?: Tensor } {
    const h = this.hparams;
    if (h.search === 'encoder') {
      const t = iziTerms(this.nets, x, this.nets.netd.call(x)[1]);
      return { scores: t.rec.add(t.feat.mul(h.kappa)), ...(maps ? { maps: x.sub(t.fake).abs().mean(1, true) } : {}) };
    }
    const r = latentSearch(this.nets, x, { iterations: h.iterations, lambda: h.lambda, lr: h.searchLr, seed: h.searchSeed });
    return { scores: r.loss, ...(maps ? { maps: x.sub(r.fake).abs().mean(1, true) } : {}) };
  }

  /**
   * The latent search of images x (eval mode): z_Gamma, the loss at z0 and at z_Gamma (the
   * score) per image, and G(z_Gamma), on the CPU; `iterations` overrides the hyperparameter.
   */
  search(x: Tensor, iterations = this.hparams.iterations): { z: Tensor; initialLoss: Tensor; loss: Tensor; fake: Tensor } {
    const h = this.hparams;
    const xs = this.inference(x, 'search', (v) => v.clone());
    this.nets.eval();
    try {
      return tidy(() => {
        const r = latentSearch(this.nets, xs.device === this.device ? xs : xs.to(this.device), { iterations, lambda: h.lambda, lr: h.searchLr, seed: h.searchSeed });
        return { z: r.z.cpu(), initialLoss: r.initialLoss.cpu(), loss: r.loss.cpu(), fake: r.fake.cpu() };
      });
    } finally {
      xs.dispose();
    }
  }

  /** G(z) for the image's latent (eval mode): G(E(x)) with search 'encoder', G(z_Gamma) with 'iterative'. */
  reconstruct(x: Tensor): Tensor {
    if (this.hparams.search === 'encoder') return this.inference(x, 'reconstruct', (xs) => this.nets.netg.call(this.nets.encoder.call(xs)));
    const r = this.search(x);
    [r.z, r.initialLoss, r.loss].forEach((t) => t.dispose());
    return r.fake;
  }

  /** D's features, flattened (eval mode). */
  features(x: Tensor): Tensor {
    return this.inference(x, 'features', (xs) => this.nets.netd.call(xs)[1].flatten(1));
  }

  /** n samples G(z), z ~ N(0, I) from a JS generator seeded by `seed` (default 0; torch's generator is not touched). */
  sample(n: number, opts: { seed?: number } = {}): Tensor {
    if (!Number.isInteger(n) || n < 1) throw new AnogenError(`anogan sample: n must be a positive integer, got ${n}`);
    const nz = this.hparams.nz;
    this.nets.eval();
    return noGrad(() => tidy(() => this.nets.netg.call(tensor(seededNormals(n * nz, opts.seed ?? 0), { shape: [n, nz, 1, 1], device: this.device })).cpu()));
  }
}

registerDetector({
  name: 'anogan',
  description: 'AnoGAN (Schlegl et al., 2017): DCGAN + latent search per image (or the f-AnoGAN encoder), score = residual + discrimination loss',
  schema: ANOGAN_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8, iterations: 5, encoderEpochs: 1 },
  trainDefaults: ANOGAN_TRAIN_DEFAULTS,
  lossDocs: ANOGAN_LOSSES,
  create: (h) => new Anogan(h as Partial<AnoganHParams>),
});
