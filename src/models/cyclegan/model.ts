/**
 * `cyclegan`: unpaired image-to-image translation (Zhu et al., 2017, "Unpaired Image-to-Image
 * Translation using Cycle-Consistent Adversarial Networks"): G: A -> B and F: B -> A (ResNet
 * generators), two PatchGAN discriminators, least-squares GAN losses, cycle loss 10, identity
 * loss 0.5 * 10, Adam 2e-4 with betas (0.5, 0.999).
 *
 * Domain A is the training data (`--data`, `--classes`); domain B is a second dataset, the
 * hyperparameter `dataB` (`--data-b`, default fashion-mnist; `classesB` picks its classes):
 * src/pipeline/generate.ts builds its training split with the same preprocessing and hands the
 * model both through {@link Cyclegan.fit}'s `sourceB`, as one {@link UnpairedSource} (each batch:
 * A's images over as many of B's, B shuffled on its own).
 */
import type { Tensor } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import type { LoopReport, TrainingProcess } from '../../train/loop.js';
import { asSource, type BatchSource } from '../../train/source.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../../util/schema.js';
import type { GeneratorProcessOptions, ImageSpec } from '../generative.js';
import { registerGenerator } from '../registry.js';
import { powerOfTwo } from '../gan/model.js';
import { TranslationModel, UnpairedSource, unpairedSkip, type UnpairedFitOptions, type UnpairedModel } from '../paired.js';
import { checkPatchLayers } from '../pix2pix/model.js';
import { CycleganNetworks } from './networks.js';
import { CYCLEGAN_STEP_LOSSES, cycleganProcess } from './step.js';

/** The `cyclegan` hyperparameters, declared once (the paper's defaults; the PatchGAN scaled to 32 px). */
export const CYCLEGAN_SCHEMA = {
  isize: { type: 'int', default: 32, min: 16, max: 1024, check: powerOfTwo, doc: 'image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels (both domains)' },
  dataB: {
    type: 'string',
    default: 'fashion-mnist',
    doc: "domain B: 'mnist', 'fashion-mnist', an IDX folder or an image folder (its normal training images); domain A is --data",
  },
  classesB: { type: 'string', default: '', doc: "domain B's classes, comma-separated names or indices (empty: all)" },
  ngf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'generator width' },
  ndf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'PatchGAN discriminator width' },
  nBlocks: { type: 'int', default: 6, min: 0, max: 64, doc: 'residual blocks per generator (the paper: 6 at 128 px, 9 at 256 px)' },
  nLayers: { type: 'int', default: 1, min: 1, max: 6, doc: "PatchGAN stride-2 layers: 1 gives 16 x 16 px patches, the paper's 3 gives 70 px at 256 px" },
  lambdaCycle: { type: 'number', default: 10, min: 0, max: 1e6, doc: 'cycle-consistency loss weight' },
  lambdaIdentity: { type: 'number', default: 0.5, min: 0, max: 1e6, doc: 'identity loss weight, relative to lambdaCycle (0 disables it)' },
  beta1: { type: 'number', default: 0.5, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2' },
  probe: { type: 'int', default: 64, min: 1, max: 4096, doc: 'first domain-A training images kept in the bundle for sample() (it translates them)' },
} satisfies HParamSchema;

/** `cyclegan` hyperparameters. */
export interface CycleganHParams {
  isize: number;
  nc: number;
  dataB: string;
  classesB: string;
  ngf: number;
  ndf: number;
  nBlocks: number;
  nLayers: number;
  lambdaCycle: number;
  lambdaIdentity: number;
  beta1: number;
  beta2: number;
  probe: number;
}

/** Every default. */
export const CYCLEGAN_DEFAULTS = schemaDefaults(CYCLEGAN_SCHEMA) as unknown as CycleganHParams;

/** Default training options: 5 epochs, batch 16, Adam lr 2e-4 (the paper's lr; it trains with batch 1). */
export const CYCLEGAN_TRAIN_DEFAULTS = { epochs: 5, batchSize: 16, lr: 2e-4 };

/** Validates (partial) `cyclegan` hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function cycleganHParams(h: Record<string, unknown> = {}): CycleganHParams {
  const p = resolveHParams(CYCLEGAN_SCHEMA, h, 'cyclegan') as unknown as CycleganHParams;
  checkPatchLayers('cyclegan', p.isize, p.nLayers);
  if (p.dataB.trim() === '') throw new AnogenError(`cyclegan dataB: ${JSON.stringify(p.dataB)} is not valid; expected 'mnist', 'fashion-mnist' or a folder (domain B's images)`);
  return p;
}

/** The CycleGAN translation model (sample(): G(a) of probe images of domain A). */
export class Cyclegan extends TranslationModel<CycleganHParams> implements UnpairedModel {
  readonly name = 'cyclegan';
  readonly trainDefaults = CYCLEGAN_TRAIN_DEFAULTS;
  readonly nets: CycleganNetworks;
  protected get net(): CycleganNetworks {
    return this.nets;
  }
  protected get probe() {
    return this.nets.probe;
  }

  /** Builds the model from (partial) hyperparameters, validated against {@link CYCLEGAN_SCHEMA}. */
  constructor(hparams: Partial<CycleganHParams> = {}) {
    super(cycleganHParams(hparams as Record<string, unknown>));
    const { isize, nc, ngf, ndf, nBlocks, nLayers, probe } = this.hparams;
    this.nets = new CycleganNetworks({ isize, nc, ngf, ndf, nBlocks, nLayers, probe });
  }

  get input(): ImageSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  /** Domain B's data and classes, from `dataB` and `classesB` (classes undefined: all). */
  get domainB(): { data: string; classes?: string[] } {
    const c = this.hparams.classesB.trim();
    return { data: this.hparams.dataB, ...(c === '' ? {} : { classes: c.split(',').map((s) => s.trim()) }) };
  }

  /**
   * Trains on domain A's images `train` and domain B's `opts.sourceB` (required) with src/train's
   * loop: one epoch is one pass over A; B is drawn from its own seeded shuffles.
   */
  override async fit(train: Tensor | BatchSource, opts: UnpairedFitOptions = {}): Promise<LoopReport> {
    if (opts.sourceB === undefined) throw new AnogenError('cyclegan fit: domain B is missing; pass its images as sourceB (anogen train cyclegan --data-b)');
    const { sourceB, ...rest } = opts;
    const skip = opts.resume === undefined ? 0 : unpairedSkip(opts.resume); // a resumed run continues B's stream
    return super.fit(new UnpairedSource(asSource(train), asSource(sourceB), opts.seed ?? 0, skip), rest);
  }

  /** F: translates domain-B images to domain A (on the CPU; see translate() for G). */
  translateBack(x: Tensor, batchSize = 256): Tensor {
    return this.translateWith(x, batchSize, (b) => this.nets.netG_B.call(b));
  }

  protected probeInput(images: Tensor): Tensor {
    return images.clone();
  }

  protected translateBatch(x: Tensor): Tensor {
    return this.nets.netG_A.call(x);
  }

  /** The cycle reconstruction F(G(a)). */
  protected override rowTarget(_images: Tensor, _input: Tensor, output: Tensor): Tensor {
    return this.nets.netG_B.call(output.to(this.device)).cpu();
  }

  protected trainingProcess(o: GeneratorProcessOptions): TrainingProcess {
    const h = this.hparams;
    return cycleganProcess(this.nets, { lambdaCycle: h.lambdaCycle, lambdaIdentity: h.lambdaIdentity, beta1: h.beta1, beta2: h.beta2 }, o);
  }
}

registerGenerator({
  name: 'cyclegan',
  description: 'CycleGAN (Zhu et al., 2017): unpaired translation between --data (A) and --data-b (B), two ResNet generators, PatchGAN LSGAN, cycle 10, identity 0.5',
  schema: CYCLEGAN_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  // tiny: domain B from MNIST too (digit 7), so quick tests do not open Fashion-MNIST's 60,000 images
  tiny: { isize: 16, ngf: 8, ndf: 8, nBlocks: 1, probe: 16, dataB: 'mnist', classesB: '7' },
  trainDefaults: CYCLEGAN_TRAIN_DEFAULTS,
  lossDocs: CYCLEGAN_STEP_LOSSES,
  create: (h) => new Cyclegan(h as Partial<CycleganHParams>),
});
