/**
 * `pix2pix`: image-to-image translation with a conditional GAN (Isola et al., 2017, "Image-to-Image
 * Translation with Conditional Adversarial Networks"): a U-Net generator, a PatchGAN
 * discriminator on (input, image) pairs, L_cGAN + 100 L1, Adam 2e-4 with betas (0.5, 0.999).
 * The pairs are made on the fly from one image dataset (`task`: 'degrade' or 'edges', see
 * src/models/paired.ts), so it trains on any of anogen's image data.
 */
import type { Tensor } from '../../core/tensor.js';
import { AnogenError } from '../../core/errors.js';
import type { TrainingProcess } from '../../train/loop.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../../util/schema.js';
import type { GeneratorProcessOptions, ImageSpec } from '../generative.js';
import { registerGenerator } from '../registry.js';
import { powerOfTwo } from '../gan/model.js';
import { PAIRED_TASKS, pairedInput, TranslationModel, type PairedTask } from '../paired.js';
import { Pix2pixNetworks, patchReceptiveField } from './networks.js';
import { PIX2PIX_STEP_LOSSES, pix2pixProcess } from './step.js';

/** The `pix2pix` hyperparameters, declared once (the paper's defaults, the PatchGAN scaled to 32 px). */
export const PIX2PIX_SCHEMA = {
  isize: { type: 'int', default: 32, min: 16, max: 1024, check: powerOfTwo, doc: 'image size (square)' },
  nc: { type: 'int', default: 1, min: 1, max: 3, doc: 'image channels (input and output)' },
  task: {
    type: 'enum',
    default: 'degrade',
    values: PAIRED_TASKS,
    doc: "paired task made from each training image y: 'degrade' (input: y 4x downsampled and upsampled, or with a random masked block; half each) or 'edges' (input: y's Sobel edge map)",
  },
  ngf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'U-Net generator width (first level)' },
  ndf: { type: 'int', default: 64, min: 1, max: 1024, doc: 'PatchGAN discriminator width' },
  nLayers: {
    type: 'int',
    default: 1,
    min: 1,
    max: 6,
    doc: "PatchGAN stride-2 layers: 1 gives 16 x 16 px patches (a 14 x 14 logit map at 32 px), 2 gives 34 px, the paper's 3 gives 70 px at 256 px",
  },
  dropout: { type: 'bool', default: true, doc: "Dropout(0.5) in the U-Net's 8ngf middle blocks (the paper's noise; there are none below 64 px)" },
  lambdaL1: { type: 'number', default: 100, min: 0, max: 1e6, doc: 'weight of the L1 term of the generator loss' },
  beta1: { type: 'number', default: 0.5, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2' },
  probe: { type: 'int', default: 64, min: 1, max: 4096, doc: 'first training images kept in the bundle for sample() (it translates them)' },
} satisfies HParamSchema;

/** `pix2pix` hyperparameters. */
export interface Pix2pixHParams {
  isize: number;
  nc: number;
  task: PairedTask;
  ngf: number;
  ndf: number;
  nLayers: number;
  dropout: boolean;
  lambdaL1: number;
  beta1: number;
  beta2: number;
  probe: number;
}

/** Every default. */
export const PIX2PIX_DEFAULTS = schemaDefaults(PIX2PIX_SCHEMA) as unknown as Pix2pixHParams;

/** Default training options: 10 epochs, batch 64, Adam lr 2e-4 (the paper's lr; it trains with batch 1 to 10 for 200 epochs on its small sets). */
export const PIX2PIX_TRAIN_DEFAULTS = { epochs: 10, batchSize: 64, lr: 2e-4 };

/** Validates (partial) `pix2pix` hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function pix2pixHParams(h: Record<string, unknown> = {}): Pix2pixHParams {
  const p = resolveHParams(PIX2PIX_SCHEMA, h, 'pix2pix') as unknown as Pix2pixHParams;
  checkPatchLayers('pix2pix', p.isize, p.nLayers);
  return p;
}

/** AnogenError unless the PatchGAN's `nLayers` stride-2 layers leave a patch map at `isize` (isize / 2^nLayers >= 4). */
export function checkPatchLayers(who: string, isize: number, nLayers: number): void {
  if (isize / 2 ** nLayers < 4) {
    throw new AnogenError(`${who} nLayers: ${nLayers} is not valid at isize ${isize}; expected <= ${Math.log2(isize / 4)} (the patch map needs isize / 2^nLayers >= 4)`);
  }
}

/** The pix2pix translation model. */
export class Pix2pix extends TranslationModel<Pix2pixHParams> {
  readonly name = 'pix2pix';
  readonly trainDefaults = PIX2PIX_TRAIN_DEFAULTS;
  readonly nets: Pix2pixNetworks;
  protected get net(): Pix2pixNetworks {
    return this.nets;
  }
  protected get probe() {
    return this.nets.probe;
  }

  /** Builds the model from (partial) hyperparameters, validated against {@link PIX2PIX_SCHEMA}. */
  constructor(hparams: Partial<Pix2pixHParams> = {}) {
    super(pix2pixHParams(hparams as Record<string, unknown>));
    const { isize, nc, ngf, ndf, nLayers, dropout, probe } = this.hparams;
    this.nets = new Pix2pixNetworks({ isize, nc, ngf, ndf, nLayers, dropout, probe });
  }

  get input(): ImageSpec {
    return { size: this.hparams.isize, channels: this.hparams.nc, range: [-1, 1] };
  }

  /** Receptive field of one PatchGAN logit, in pixels. */
  get patchSize(): number {
    return patchReceptiveField(this.hparams.nLayers);
  }

  /** The task's input made from targets y (torch's generator draws the degradations). */
  makeInput(y: Tensor): Tensor {
    return pairedInput(y, this.hparams.task, [-1, 1]);
  }

  protected probeInput(images: Tensor): Tensor {
    return this.makeInput(images);
  }

  protected translateBatch(x: Tensor): Tensor {
    return this.nets.netG.call(x);
  }

  protected trainingProcess(o: GeneratorProcessOptions): TrainingProcess {
    const h = this.hparams;
    return pix2pixProcess(this.nets, { task: h.task, lambdaL1: h.lambdaL1, beta1: h.beta1, beta2: h.beta2, range: [-1, 1] }, o);
  }
}

registerGenerator({
  name: 'pix2pix',
  description: 'pix2pix (Isola et al., 2017): U-Net + PatchGAN conditional GAN with L1 100, on a paired task made from the data (degraded -> clean, edges -> image)',
  schema: PIX2PIX_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, ngf: 8, ndf: 8, probe: 16 },
  trainDefaults: PIX2PIX_TRAIN_DEFAULTS,
  lossDocs: PIX2PIX_STEP_LOSSES,
  create: (h) => new Pix2pix(h as Partial<Pix2pixHParams>),
});
