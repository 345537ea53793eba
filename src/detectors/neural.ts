/**
 * The shared base of detectors built on networks. A subclass supplies:
 * - `net`: one Module holding every network (its state dict is the bundle's weights);
 * - `input`: what it takes (from its hyperparameters);
 * - `trainingProcess()`: its optimisers and its step (losses, then updates) for src/train's loop;
 * - `scoreBatch()`: raw scores (and maps) of one batch already checked, at the input size, on
 *   the model's device.
 * The base does the rest once for all: input checks (size, channels, dtype), moving inputs to
 * the model's device, batched scoring that honours `batchSize`, non-finite score detection,
 * the training loop with checkpoints/resume/divergence guard, strict weight loading, devices.
 */
import { AnogenError, cat, dispose, noGrad, tidy, type Device, type Tensor } from '../core/index.js';
import { loadModelWeights, type Module } from '../nn/module.js';
import * as F from '../nn/functional.js';
import { trainLoop, type TrainingProcess } from '../train/loop.js';
import { asSource, type BatchSource } from '../train/source.js';
import { checkImages, Detector, NonFiniteScoreError, type FitOptions, type FitReport, type ImageSet, type ScoreOptions, type ScoreResult } from './api.js';

/** Default training options of a detector. */
export interface TrainDefaults {
  /** Epochs. */
  epochs: number;
  /** Mini-batch size. */
  batchSize: number;
  /** Learning rate. */
  lr: number;
}

/** What {@link NeuralDetector.trainingProcess} gets. */
export interface ProcessOptions {
  /** true for a new run (re-initialise the weights; torch is already seeded), false when resuming. */
  fresh: boolean;
  /** Learning rate. */
  lr: number;
  /** Mini-batch size. */
  batchSize: number;
  /** The training images (for passes over them, e.g. batch-norm statistics). */
  source: BatchSource;
  /** The model's device. */
  device: Device;
}

/** Base class of network detectors (see the module comment). */
export abstract class NeuralDetector<H extends object = object> extends Detector<H> {
  /** Every network of the detector, as children of one Module (the bundle's state dict). */
  protected abstract readonly net: Module<any, any>;
  /** Default epochs, batch size and learning rate. */
  abstract readonly trainDefaults: TrainDefaults;
  private _device: Device = 'cpu';

  /** The device of the weights (default 'cpu'). */
  get device(): Device {
    return this._device;
  }

  /**
   * Moves the weights to `device` ('cpu', 'cuda', 'cuda:N'; the default device is 'cpu'):
   * parameter objects are kept (Module.to), training then runs there (batches and every tensor
   * of a step), and scoring moves its inputs there and brings scores and maps back to the CPU.
   * An AnogenError when CUDA is asked for without CUDA (see resolveDevice for 'auto'). Returns this.
   */
  to(device: Device): this {
    this.net.to(device);
    this._device = device;
    return this;
  }

  /** Re-initialises every layer's weights (each module's resetParameters), from torch's seeded generator. */
  protected resetWeights(): void {
    noGrad(() => {
      for (const m of this.net.modules()) m.resetParameters();
    });
  }

  /** Builds one training run's optimisers and step (a fresh run re-initialises the weights first). */
  protected abstract trainingProcess(o: ProcessOptions): TrainingProcess;
  /** Raw scores [N] (and maps N x 1 x S x S when `maps`) of a checked batch on the model's device; runs in noGrad + tidy. */
  protected abstract scoreBatch(x: Tensor, maps: boolean): { scores: Tensor; maps?: Tensor };

  /** Trains with src/train's loop, then calibrates on `opts.val` when given and not interrupted. */
  async fit(train: ImageSet | BatchSource, opts: FitOptions = {}): Promise<FitReport> {
    const source = 'images' in train ? asSource(checkImages(train.images, this.input, `${this.name} fit`)) : train;
    const batchSize = opts.batchSize ?? this.trainDefaults.batchSize;
    const lr = opts.lr ?? this.trainDefaults.lr;
    const device = this.device;
    let checkedFirst = false;
    const checked: BatchSource = {
      length: source.length,
      itemShape: source.itemShape,
      get: async (positions, dev) => {
        const x = await source.get(positions, dev);
        if (!checkedFirst) {
          try {
            checkImages(x, this.input, `${this.name} fit`);
          } catch (e) {
            x.dispose();
            throw e;
          }
          checkedFirst = true;
        }
        return x;
      },
    };
    const report = await trainLoop((fresh) => this.trainingProcess({ fresh, lr, batchSize, source: checked, device }), checked, {
      epochs: opts.epochs ?? this.trainDefaults.epochs,
      batchSize,
      seed: opts.seed ?? 0,
      device,
      onProgress: opts.onProgress,
      shouldStop: opts.shouldStop,
      onCheckpoint: opts.onCheckpoint,
      checkpointEvery: opts.checkpointEvery,
      resume: opts.resume,
    });
    if (opts.val !== undefined && !report.interrupted) this.calibrate(opts.val, opts.calibration);
    return report;
  }

  /** Raw scores A(x) (+ maps unless `maps: false`) of NCHW images, in batches of `batchSize` (default 256). */
  score(x: Tensor, opts: ScoreOptions = {}): ScoreResult {
    const who = `${this.name} score`;
    const bs = opts.batchSize ?? 256;
    if (!Number.isInteger(bs) || bs < 1) throw new AnogenError(`${who}: batchSize must be a positive integer, got ${bs}`);
    const wantMaps = (opts.maps ?? true) && this.producesMaps;
    const xs = checkImages(x, this.input, who, { resize: opts.resize });
    const n = xs.shape[0]!;
    const [h, w] = [x.shape[2]!, x.shape[3]!];
    const scores = new Float32Array(n);
    const maps: Tensor[] = [];
    this.net.eval();
    try {
      noGrad(() => {
        for (let i = 0; i < n; i += bs) {
          const m = tidy(() => {
            let xb = xs.narrow(0, i, Math.min(bs, n - i));
            if (xb.device !== this.device && !(this.device === 'cuda' && xb.device === 'cuda:0')) xb = xb.to(this.device);
            const r = this.scoreBatch(xb, wantMaps);
            scores.set(r.scores.detach().float().cpu().toFloat32Array(), i);
            if (!wantMaps || r.maps === undefined) return null;
            let mp = r.maps.cpu();
            if (mp.shape[2] !== h || mp.shape[3] !== w) mp = F.interpolate(mp, { size: [h, w], mode: 'bilinear' });
            return mp;
          });
          if (m !== null) maps.push(m);
        }
      });
    } catch (e) {
      dispose(maps);
      throw e;
    } finally {
      if (xs !== x) xs.dispose();
    }
    const bad: number[] = [];
    scores.forEach((s, i) => {
      if (!Number.isFinite(s)) bad.push(i);
    });
    if (bad.length > 0) {
      dispose(maps);
      throw new NonFiniteScoreError(
        `${this.name}: the score of ${bad.length} image(s) is not finite (${scores[bad[0]!]} for image ${bad[0]}); the weights are broken (NaN/Inf) or the input holds NaN/Inf`,
        bad,
      );
    }
    if (!wantMaps) return { scores };
    const all = maps.length === 1 ? maps[0]! : cat(maps, 0);
    if (maps.length > 1) dispose(maps);
    return { scores, maps: all };
  }

  /** Runs `fn` on checked images moved to the model's device, in eval mode without autograd; the result comes back to the CPU. */
  protected inference(x: Tensor, who: string, fn: (x: Tensor) => Tensor): Tensor {
    const xs = checkImages(x, this.input, `${this.name} ${who}`);
    this.net.eval();
    return noGrad(() => tidy(() => fn(xs.device === this.device ? xs : xs.to(this.device)).cpu()));
  }

  /** Every parameter and buffer under PyTorch's dotted names (detached views; the caller disposes them). */
  stateDict(): Map<string, Tensor> {
    return this.net.stateDict();
  }

  /** Loads weights (strict: names, shapes and dtypes must match the architecture). */
  loadStateDict(sd: Map<string, Tensor>): void {
    loadModelWeights(this.net, sd, this.name, this.hparams as object);
  }

  dispose(): void {
    this.net.dispose();
  }
}
