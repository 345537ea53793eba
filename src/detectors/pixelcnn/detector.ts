/**
 * The `pixelcnn` detector: the likelihood of a gated PixelCNN (src/models/pixelcnn) trained on
 * normal images as the anomaly score. A(x) = the image's negative log-likelihood in bits/dim,
 * mean over pixels of -log2 p(x_ij | pixels before it in raster order) (pixels discretised into
 * `levels` gray values); anomaly map = the per-pixel NLL in bits. Higher = less likely under the
 * model of normal images = more anomalous.
 */
import type { Tensor } from '../../core/index.js';
import { imageNllBits, nllProcess, NLL_STEP_LOSSES } from '../../models/pixelcnn/autoregressive.js';
import { PIXELCNN_SCHEMA, PIXELCNN_TINY, pixelCnnHParams, type PixelCnnHParams } from '../../models/pixelcnn/model.js';
import { GatedPixelCnn } from '../../models/pixelcnn/networks.js';
import type { TrainingProcess } from '../../train/loop.js';
import type { InputSpec } from '../api.js';
import { NeuralDetector, type ProcessOptions } from '../neural.js';
import { registerDetector } from '../registry.js';

/** Default training options: 10 epochs, batch 64, Adam lr 1e-3 (those of the pixelcnn generator). */
export const PIXELCNN_DETECTOR_TRAIN_DEFAULTS = { epochs: 10, batchSize: 64, lr: 1e-3 };

/** The PixelCNN likelihood detector (see the module comment). */
export class PixelCnnDetector extends NeuralDetector<PixelCnnHParams> {
  readonly name = 'pixelcnn';
  readonly producesMaps = true;
  readonly trainDefaults = PIXELCNN_DETECTOR_TRAIN_DEFAULTS;
  /** The gated PixelCNN (the same network and state-dict names as the pixelcnn generator). */
  readonly network: GatedPixelCnn;
  protected get net(): GatedPixelCnn {
    return this.network;
  }

  /** Builds the detector from (partial) hyperparameters, validated against the pixelcnn schema. */
  constructor(hparams: Partial<PixelCnnHParams> = {}) {
    super(pixelCnnHParams(hparams as Record<string, unknown>));
    this.network = new GatedPixelCnn(this.hparams);
  }

  get input(): InputSpec {
    return { size: this.hparams.isize, channels: 1, range: [-1, 1] };
  }

  protected trainingProcess(o: ProcessOptions): TrainingProcess {
    return nllProcess(this.network, this.hparams, o);
  }

  protected scoreBatch(x: Tensor, maps: boolean): { scores: Tensor; maps?: Tensor } {
    const bits = imageNllBits(this.network, x, this.hparams.levels);
    return { scores: bits.flatten(1).mean(1), ...(maps ? { maps: bits } : {}) };
  }
}

registerDetector({
  name: 'pixelcnn',
  description: 'gated PixelCNN likelihood, score = NLL in bits/dim (map = per-pixel NLL)',
  schema: PIXELCNN_SCHEMA,
  input: { sizeParam: 'isize', channels: 1, range: [-1, 1] },
  tiny: PIXELCNN_TINY,
  trainDefaults: PIXELCNN_DETECTOR_TRAIN_DEFAULTS,
  lossDocs: NLL_STEP_LOSSES,
  create: (h) => new PixelCnnDetector(h as Partial<PixelCnnHParams>),
});
