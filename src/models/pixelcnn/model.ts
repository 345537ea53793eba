/**
 * `pixelcnn`: the gated PixelCNN of van den Oord et al. (2016, "Conditional Image Generation
 * with PixelCNN Decoders"), unconditional, with masked convolutions A (first layer) and B (the
 * gated blocks) in a vertical and a horizontal stack (no blind spot), a softmax over `levels`
 * discretised gray values per pixel, trained by NLL (bits/dim) and sampled pixel by pixel.
 */
import { resolveHParams, schemaDefaults, type HParamSchema } from '../../util/schema.js';
import { registerGenerator } from '../registry.js';
import { AutoregressiveModel, croppingStepper, NLL_STEP_LOSSES, type RowStepper } from './autoregressive.js';
import { GatedPixelCnn } from './networks.js';

const odd = (v: number): string | null => (v % 2 === 1 ? null : 'an odd integer (the kernel is centred on the pixel)');

/** Hyperparameters shared by every autoregressive pixel model (size, levels, Adam betas). */
export const PIXEL_MODEL_SCHEMA = {
  isize: { type: 'int', default: 28, min: 2, max: 256, doc: 'image size (square; one gray channel)' },
  levels: { type: 'int', default: 256, min: 2, max: 256, doc: 'discretised gray levels (softmax size per pixel; 256 = 8-bit images)' },
  beta1: { type: 'number', default: 0.9, min: 0, below: 1, doc: 'Adam beta1' },
  beta2: { type: 'number', default: 0.999, min: 0, below: 1, doc: 'Adam beta2' },
} satisfies HParamSchema;

/** The `pixelcnn` hyperparameters, declared once. */
export const PIXELCNN_SCHEMA = {
  ...PIXEL_MODEL_SCHEMA,
  hidden: { type: 'int', default: 64, min: 1, max: 1024, doc: 'channels of the vertical and horizontal stacks' },
  layers: { type: 'int', default: 7, min: 0, max: 64, doc: 'gated blocks (masked convolutions B)' },
  kernel: { type: 'int', default: 3, min: 1, max: 15, check: odd, doc: 'kernel size of the gated blocks (odd)' },
  firstKernel: { type: 'int', default: 7, min: 1, max: 15, check: odd, doc: 'kernel size of the first layer (masked convolution A; odd)' },
  outHidden: { type: 'int', default: 128, min: 1, max: 4096, doc: "channels of the output head's hidden 1x1 convolution" },
} satisfies HParamSchema;

/** `pixelcnn` hyperparameters. */
export interface PixelCnnHParams {
  isize: number;
  levels: number;
  beta1: number;
  beta2: number;
  hidden: number;
  layers: number;
  kernel: number;
  firstKernel: number;
  outHidden: number;
}

/** Every default (see {@link PIXELCNN_SCHEMA}). */
export const PIXELCNN_DEFAULTS = schemaDefaults(PIXELCNN_SCHEMA) as unknown as PixelCnnHParams;

/** Default training options: 10 epochs, batch 64, Adam lr 1e-3. */
export const PIXELCNN_TRAIN_DEFAULTS = { epochs: 10, batchSize: 64, lr: 1e-3 };

/** Validates (partial) `pixelcnn` hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function pixelCnnHParams(h: Record<string, unknown> = {}, who = 'pixelcnn'): PixelCnnHParams {
  return resolveHParams(PIXELCNN_SCHEMA, h, who) as unknown as PixelCnnHParams;
}

/** Small `pixelcnn` hyperparameters for tests (16 px, 4 levels, width 8). */
export const PIXELCNN_TINY = { isize: 16, levels: 4, hidden: 8, layers: 1, outHidden: 8 };

/** The gated PixelCNN generative model. */
export class PixelCnn extends AutoregressiveModel<PixelCnnHParams> {
  readonly name = 'pixelcnn';
  readonly trainDefaults = PIXELCNN_TRAIN_DEFAULTS;
  /** The network (images -> logits N x levels x S x S). */
  readonly network: GatedPixelCnn;
  protected get net(): GatedPixelCnn {
    return this.network;
  }

  /** Builds the model from (partial) hyperparameters, validated against {@link PIXELCNN_SCHEMA}. */
  constructor(hparams: Partial<PixelCnnHParams> = {}) {
    super(pixelCnnHParams(hparams as Record<string, unknown>));
    this.network = new GatedPixelCnn(this.hparams);
  }

  /** Sampling reads only the rows within the receptive field above the row (firstKernel/2 + layers * kernel/2). */
  protected override stepper(): RowStepper {
    const { firstKernel, kernel, layers } = this.hparams;
    return croppingStepper(this.network, (firstKernel >> 1) + layers * (kernel >> 1));
  }
}

registerGenerator({
  name: 'pixelcnn',
  description: 'gated PixelCNN (van den Oord et al., 2016): masked convolutions A/B, vertical + horizontal stacks, NLL in bits/dim',
  schema: PIXELCNN_SCHEMA,
  input: { sizeParam: 'isize', channels: 1, range: [-1, 1] },
  tiny: PIXELCNN_TINY,
  trainDefaults: PIXELCNN_TRAIN_DEFAULTS,
  lossDocs: NLL_STEP_LOSSES,
  create: (h) => new PixelCnn(h as Partial<PixelCnnHParams>),
});
