/**
 * `pixelrnn`: the Row LSTM PixelRNN of van den Oord et al. (2016, "Pixel Recurrent Neural
 * Networks"): a mask-A convolution, Row LSTM layers (masked 1 x 3 input-to-state convolution
 * along the row, 1 x 3 state-to-state convolution over the previous row) with residual
 * connections, and a softmax over `levels` discretised gray values per pixel; trained by NLL
 * (bits/dim) and sampled pixel by pixel (the row states are kept between rows while sampling).
 */
import { keep, type Tensor } from '../../core/index.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../../util/schema.js';
import { registerGenerator } from '../registry.js';
import { AutoregressiveModel, NLL_STEP_LOSSES, type RowStepper } from '../pixelcnn/autoregressive.js';
import { PIXEL_MODEL_SCHEMA } from '../pixelcnn/model.js';
import { RowLstmPixelRnn, type RowState } from './networks.js';

/** The `pixelrnn` hyperparameters, declared once. */
export const PIXELRNN_SCHEMA = {
  ...PIXEL_MODEL_SCHEMA,
  hidden: { type: 'int', default: 32, min: 1, max: 1024, doc: 'hidden channels of the Row LSTM states' },
  layers: { type: 'int', default: 2, min: 1, max: 32, doc: 'Row LSTM layers (residual)' },
  firstKernel: {
    type: 'int',
    default: 7,
    min: 1,
    max: 15,
    check: (v) => (v % 2 === 1 ? null : 'an odd integer (the kernel is centred on the pixel)'),
    doc: 'kernel size of the first (mask A) convolution (odd)',
  },
  outHidden: { type: 'int', default: 64, min: 1, max: 4096, doc: "channels of the output head's hidden 1x1 convolution" },
} satisfies HParamSchema;

/** `pixelrnn` hyperparameters. */
export interface PixelRnnHParams {
  isize: number;
  levels: number;
  beta1: number;
  beta2: number;
  hidden: number;
  layers: number;
  firstKernel: number;
  outHidden: number;
}

/** Every default (see {@link PIXELRNN_SCHEMA}). */
export const PIXELRNN_DEFAULTS = schemaDefaults(PIXELRNN_SCHEMA) as unknown as PixelRnnHParams;

/** Default training options: 10 epochs, batch 64, Adam lr 1e-3. */
export const PIXELRNN_TRAIN_DEFAULTS = { epochs: 10, batchSize: 64, lr: 1e-3 };

/** Validates (partial) `pixelrnn` hyperparameters and fills in the defaults (AnogenError naming a bad option). */
export function pixelRnnHParams(h: Record<string, unknown> = {}): PixelRnnHParams {
  return resolveHParams(PIXELRNN_SCHEMA, h, 'pixelrnn') as unknown as PixelRnnHParams;
}

/** The Row LSTM PixelRNN generative model. */
export class PixelRnn extends AutoregressiveModel<PixelRnnHParams> {
  readonly name = 'pixelrnn';
  readonly trainDefaults = PIXELRNN_TRAIN_DEFAULTS;
  /** The network (images -> logits N x levels x S x S). */
  readonly network: RowLstmPixelRnn;
  protected get net(): RowLstmPixelRnn {
    return this.network;
  }

  /** Builds the model from (partial) hyperparameters, validated against {@link PIXELRNN_SCHEMA}. */
  constructor(hparams: Partial<PixelRnnHParams> = {}) {
    super(pixelRnnHParams(hparams as Record<string, unknown>));
    this.network = new RowLstmPixelRnn(this.hparams);
  }

  /** Sampling keeps each layer's LSTM state of the last completed row, so every pixel costs one row step. */
  protected override stepper(): RowStepper {
    let prev: RowState[] | null = null;
    const net = this.network;
    return {
      row: (x: Tensor, i: number) => net.rowStep(x, i, prev).logits,
      commit: (x: Tensor, i: number) => {
        const { states } = net.rowStep(x, i, prev);
        for (const s of prev ?? []) for (const t of s) t.dispose();
        for (const s of states) for (const t of s) keep(t);
        prev = states;
      },
      dispose: () => {
        for (const s of prev ?? []) for (const t of s) t.dispose();
        prev = null;
      },
    };
  }
}

registerGenerator({
  name: 'pixelrnn',
  description: 'PixelRNN with Row LSTM layers (van den Oord et al., 2016), NLL in bits/dim',
  schema: PIXELRNN_SCHEMA,
  input: { sizeParam: 'isize', channels: 1, range: [-1, 1] },
  tiny: { isize: 16, levels: 4, hidden: 8, layers: 1, outHidden: 8 },
  trainDefaults: PIXELRNN_TRAIN_DEFAULTS,
  lossDocs: NLL_STEP_LOSSES,
  create: (h) => new PixelRnn(h as Partial<PixelRnnHParams>),
});
