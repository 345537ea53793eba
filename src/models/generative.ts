/**
 * The shared base of generative models (src/models/<name>/): the generator-side mirror of
 * src/detectors/neural.ts's NeuralDetector. A subclass supplies:
 * - `net`: one Module holding every network (its state dict is the bundle's weights);
 * - `input`: the images it models (size, channels, value range), from its hyperparameters;
 * - `nz` and `generate(z)`: the latent size and the generator's forward pass (eval mode);
 * - `trainingProcess()`: its optimisers and its step for src/train's loop (the one loop).
 * The base does the rest: the training loop with seeding, shuffles, progress, checkpoints and
 * the divergence guard; seeded sampling in batches (the same seed gives the same images, on any
 * device and whatever else drew from torch's generator before); devices; strict weight loading.
 */
import { AnogenError } from '../core/errors.js';
import { cat, type Device, type Tensor } from '../core/tensor.js';
import { noGrad } from '../core/autograd.js';
import { tidy } from '../core/scope.js';
import { randn, tensor } from '../core/creation.js';
import { getRngState, manualSeed, setRngState } from '../core/runtime.js';
import { dispose } from '../core/scope.js';
import { loadModelWeights, type Module } from '../nn/module.js';
import { trainLoop, type LoopReport, type ModelFitOptions, type TrainingProcess } from '../train/loop.js';
import { asSource, type BatchSource } from '../train/source.js';

/** The images a generative model produces and trains on. */
export interface ImageSpec {
  /** Square image size S (images are S x S). */
  size: number;
  /** Channels (1 gray, 3 RGB). */
  channels: number;
  /** Pixel value range, e.g. [-1, 1] for GANs (tanh output). */
  range: [number, number];
}

/** Default training options of a generative model. */
export interface GeneratorTrainDefaults {
  /** Epochs. */
  epochs: number;
  /** Mini-batch size. */
  batchSize: number;
  /** Learning rate (of every optimiser of the model). */
  lr: number;
}

/** What {@link GenerativeModel.trainingProcess} gets. */
export interface GeneratorProcessOptions {
  /** true for a new run (re-initialise the weights; torch is already seeded), false when resuming. */
  fresh: boolean;
  /** Learning rate. */
  lr: number;
  /** Mini-batch size. */
  batchSize: number;
  /** The training images. */
  source: BatchSource;
  /** The model's device. */
  device: Device;
}

/** Options of {@link GenerativeModel.fit}: the loop's options, shared with the detectors. */
export type GeneratorFitOptions = ModelFitOptions;

/** Options of {@link GenerativeModel.sample}. */
export interface SampleOptions {
  /** Seed of the latent codes (default 0): the same seed and n give the same images. */
  seed?: number;
  /** Images generated at a time (default 256); does not change the images. */
  batchSize?: number;
  /**
   * Conditional models (numClasses > 0, e.g. cgan): the class of each image, n integers in
   * [0, numClasses) (default: 0, 1, ..., K-1, 0, 1, ... in turn). Unconditional models refuse it.
   */
  classes?: ArrayLike<number>;
}

/** Checks that `x` is an N x C x S x S float32 batch of `spec` (AnogenError naming `who` otherwise). */
export function checkImageBatch(x: Tensor, spec: ImageSpec, who: string): void {
  const s = x.shape;
  if (s.length !== 4 || s[1] !== spec.channels || s[2] !== spec.size || s[3] !== spec.size || x.dtype !== 'float32') {
    throw new AnogenError(`${who}: expected N x ${spec.channels} x ${spec.size} x ${spec.size} float32 images in [${spec.range.join(', ')}], got ${x.dtype} [${s.join(', ')}]`);
  }
}

/**
 * Latent codes N(0, 1) of shape [n, nz, 1, 1] on the CPU drawn from torch's generator seeded
 * with `seed`; the generator's previous state is restored afterwards, so sampling never
 * disturbs a training run's random stream.
 */
export function seededLatent(n: number, nz: number, seed: number): Tensor {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new AnogenError(`sample: seed must be a non-negative integer, got ${JSON.stringify(seed)}`);
  const prev = getRngState();
  try {
    manualSeed(seed);
    return randn([n, nz, 1, 1]);
  } finally {
    setRngState(prev);
  }
}

/** Base class of generative models (see the module comment). */
export abstract class GenerativeModel<H extends object = object> {
  /** Registry name, e.g. 'gan'. */
  abstract readonly name: string;
  /** Every network of the model, as children of one Module (the bundle's state dict). */
  protected abstract readonly net: Module<any, any>;
  /** Default epochs, batch size and learning rate. */
  abstract readonly trainDefaults: GeneratorTrainDefaults;
  /** Hyperparameters, fixed at construction (validated against the registry's schema). */
  readonly hparams: H;
  private _device: Device = 'cpu';

  constructor(hparams: H) {
    this.hparams = hparams;
  }

  /** The images this model produces (size, channels, range). */
  abstract get input(): ImageSpec;
  /** Latent size. */
  abstract get nz(): number;
  /**
   * Images [N, C, S, S] from latent codes [N, nz, 1, 1] on the model's device (called in eval
   * mode, without autograd); conditional models also get the classes (int64 [N], same device).
   */
  protected abstract generate(z: Tensor, classes?: Tensor): Tensor;
  /** Number of classes a conditional model generates (default 0: unconditional). */
  get numClasses(): number {
    return 0;
  }
  /** Builds one training run's optimisers and step (a fresh run re-initialises the weights first). */
  protected abstract trainingProcess(o: GeneratorProcessOptions): TrainingProcess;

  /** The device of the weights (default 'cpu'). */
  get device(): Device {
    return this._device;
  }

  /** Moves the weights to `device` (parameter objects are kept); training and sampling then run there. Returns this. */
  to(device: Device): this {
    this.net.to(device);
    this._device = device;
    return this;
  }

  /** Trains with src/train's loop on images (a tensor [N, C, S, S] or a streaming source). */
  async fit(train: Tensor | BatchSource, opts: GeneratorFitOptions = {}): Promise<LoopReport> {
    const source = asSource(train);
    const batchSize = opts.batchSize ?? this.trainDefaults.batchSize;
    const lr = opts.lr ?? this.trainDefaults.lr;
    const device = this.device;
    let checkedFirst = false;
    const checked: BatchSource = {
      length: source.length,
      itemShape: source.itemShape,
      ...(source.labels ? { labels: (positions: ArrayLike<number>) => source.labels!(positions) } : {}),
      get: async (positions, dev) => {
        const x = await source.get(positions, dev);
        if (!checkedFirst) {
          try {
            checkImageBatch(x, this.input, `${this.name} fit`);
          } catch (e) {
            x.dispose();
            throw e;
          }
          checkedFirst = true;
        }
        return x;
      },
    };
    return trainLoop((fresh) => this.trainingProcess({ fresh, lr, batchSize, source: checked, device }), checked, {
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
  }

  /**
   * `n` images [n, C, S, S] in the model's range, on the CPU, from the latent codes of
   * {@link seededLatent}(n, nz, seed) (default seed 0), generated in eval mode in batches of
   * `batchSize` (default 256). The same seed and n give the same images.
   */
  sample(n: number, opts: SampleOptions = {}): Tensor {
    if (!Number.isSafeInteger(n) || n < 1) throw new AnogenError(`${this.name} sample: n must be a positive integer, got ${JSON.stringify(n)}`);
    const bs = opts.batchSize ?? 256;
    if (!Number.isSafeInteger(bs) || bs < 1) throw new AnogenError(`${this.name} sample: batchSize must be a positive integer, got ${JSON.stringify(bs)}`);
    const k = this.numClasses;
    if (opts.classes !== undefined && k === 0) throw new AnogenError(`${this.name} sample: classes apply to conditional generators (cgan); ${this.name} is unconditional`);
    const cls = k === 0 ? null : Array.from(opts.classes ?? Array.from({ length: n }, (_, i) => i % k));
    if (cls !== null && (cls.length !== n || cls.some((c) => !Number.isInteger(c) || c < 0 || c >= k))) {
      throw new AnogenError(
        `${this.name} sample: classes must be ${n} integers in [0, ${k - 1}] (one per image), got ${cls.length} (${cls.slice(0, 5).join(', ')}${cls.length > 5 ? ', ...' : ''})`,
      );
    }
    const z = seededLatent(n, this.nz, opts.seed ?? 0);
    const parts: Tensor[] = [];
    this.net.eval();
    try {
      noGrad(() => {
        for (let i = 0; i < n; i += bs) {
          parts.push(
            tidy(() => {
              const zb = z.narrow(0, i, Math.min(bs, n - i));
              const yb = cls === null ? undefined : tensor(cls.slice(i, i + zb.shape[0]!), { dtype: 'int64', device: this.device });
              return this.generate(this.device === 'cpu' ? zb : zb.to(this.device), yb).cpu();
            }),
          );
        }
      });
      return parts.length === 1 ? parts.shift()! : cat(parts, 0);
    } finally {
      z.dispose();
      dispose(parts);
    }
  }

  /**
   * Images [n, C, S, S] in the model's range, on the CPU, from the given latent codes
   * [n, nz, 1, 1] (e.g. interpolated ones, src/models/latent.ts), in eval mode without autograd,
   * `batchSize` (default 256) at a time. Unconditional models only (conditional ones: sample()).
   */
  decode(z: Tensor, opts: { batchSize?: number } = {}): Tensor {
    if (this.numClasses > 0) throw new AnogenError(`${this.name} decode: takes unconditional generators; ${this.name} is conditional (use sample with classes)`);
    if (z.ndim !== 4 || z.shape[1] !== this.nz || z.shape[2] !== 1 || z.shape[3] !== 1) {
      throw new AnogenError(`${this.name} decode: expected latent codes [n, ${this.nz}, 1, 1], got [${z.shape.join(', ')}]`);
    }
    const bs = opts.batchSize ?? 256;
    const parts: Tensor[] = [];
    this.net.eval();
    try {
      noGrad(() => {
        for (let i = 0; i < z.shape[0]!; i += bs) {
          parts.push(tidy(() => this.generate(z.narrow(0, i, Math.min(bs, z.shape[0]! - i)).to(this.device)).cpu()));
        }
      });
      return parts.length === 1 ? parts.shift()! : cat(parts, 0);
    } finally {
      dispose(parts);
    }
  }

  /** Every parameter and buffer under PyTorch's dotted names (detached views; the caller disposes them). */
  stateDict(): Map<string, Tensor> {
    return this.net.stateDict();
  }

  /** Loads weights (strict: names, shapes and dtypes must match the architecture). */
  loadStateDict(sd: Map<string, Tensor>): void {
    loadModelWeights(this.net, sd, this.name, this.hparams as object);
  }

  /** JSON-serialisable hyperparameters (for bundles). */
  config(): H {
    return { ...this.hparams };
  }

  /** Frees the weights. */
  dispose(): void {
    this.net.dispose();
  }
}
