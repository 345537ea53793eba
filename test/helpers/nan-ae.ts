/**
 * Test only: registers 'nan-ae', a linear autoencoder whose loss becomes NaN at global step
 * `nanAt` (to test the divergence guard end to end).
 */
import type { Tensor } from '../../src/core/index.js';
import { Linear } from '../../src/nn/layers/linear.js';
import * as F from '../../src/nn/functional.js';
import { Adam } from '../../src/optim/index.js';
import { NeuralDetector, registerDetector, type ProcessOptions } from '../../src/detectors/index.js';
import type { StepContext } from '../../src/train/loop.js';

type H = { size: number; nanAt: number };
class NanAe extends NeuralDetector<H> {
  readonly name = 'nan-ae';
  readonly producesMaps = false;
  readonly trainDefaults = { epochs: 3, batchSize: 16, lr: 1e-3 };
  protected readonly net: Linear;
  constructor(h: H) {
    super(h);
    this.net = new Linear(h.size * h.size, h.size * h.size);
  }
  get input() {
    return { size: this.hparams.size, channels: 1, range: [-1, 1] as [number, number] };
  }
  protected trainingProcess(o: ProcessOptions) {
    if (o.fresh) this.resetWeights();
    const opt = new Adam(this.net.parameters(), { lr: o.lr });
    return {
      optimizers: { opt },
      step: (x: Tensor, ctx: StepContext) => {
        let loss = F.mseLoss(this.net.call(x.flatten(1)), x.flatten(1));
        if (ctx.globalStep + 1 >= this.hparams.nanAt) loss = loss.mul(NaN);
        return { losses: { rec: loss }, update: () => (opt.zeroGrad(), loss.backward(), opt.step()) };
      },
      dispose: () => opt.dispose(),
    };
  }
  protected scoreBatch(x: Tensor) {
    return {
      scores: x
        .flatten(1)
        .sub(this.net.call(x.flatten(1)))
        .square()
        .mean(1),
    };
  }
}
registerDetector({
  name: 'nan-ae',
  description: 'test only: a linear autoencoder whose loss turns NaN at step nanAt',
  schema: { size: { type: 'int', default: 16, min: 8, doc: 'input size' }, nanAt: { type: 'int', default: 1000000, min: 1, doc: 'global step whose loss is NaN' } },
  input: { sizeParam: 'size', channels: 1, range: [-1, 1] },
  tiny: {},
  trainDefaults: { epochs: 3, batchSize: 16, lr: 1e-3 },
  create: (h) => new NanAe(h as H),
});
