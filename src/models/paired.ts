/**
 * What the image-to-image translation models (pix2pix, cyclegan) share:
 *
 * - the paired tasks made from one image dataset (input = f(target), on the fly, so the one-domain
 *   data loading of every generator suffices): {@link degradeImages} (the slides' super-resolution
 *   and inpainting uses) and {@link sobelEdges} (edges -> item);
 * - {@link UnpairedSource}: the training batches of an unpaired model, domain A's images stacked
 *   over as many images of domain B drawn from B's own seeded shuffle (the loop shuffles A);
 * - {@link ProbeImages} and {@link TranslationModel}: what `sample(n, { seed })` means for a model
 *   without a latent code. A translation model keeps the first `probe` training images (of its
 *   input domain) in its bundle; `sample(n, { seed })` translates n of them picked by the seed
 *   (pix2pix: their seeded degraded / edge inputs; cyclegan: G(a)), so the same seed gives the
 *   same images and another seed others, as for every generator. {@link TranslationModel.sampleRows}
 *   gives the rows input | output | target that `anogen sample` draws for these models.
 */
import { AnogenError } from '../core/errors.js';
import { cat, type Device, type Tensor } from '../core/tensor.js';
import { noGrad } from '../core/autograd.js';
import { dispose, tidy } from '../core/scope.js';
import { full, rand, tensor, zeros } from '../core/creation.js';
import { getRngState, manualSeed, setRngState } from '../core/runtime.js';
import { mixSeed, mulberry32, permutation } from '../data/random.js';
import * as F from '../nn/functional.js';
import { Module } from '../nn/module.js';
import type { BatchSource } from '../train/source.js';
import type { LoopReport, LoopState } from '../train/loop.js';
import { GenerativeModel, type GeneratorFitOptions, type SampleOptions } from './generative.js';

// ---------------------------------------------------------------------------------------------
// paired tasks

/** The paired tasks of pix2pix: 'degrade' (4x downsampled or block-masked image -> image) and 'edges' (Sobel edge map -> image). */
export const PAIRED_TASKS = ['degrade', 'edges'] as const;
/** One of {@link PAIRED_TASKS}. */
export type PairedTask = (typeof PAIRED_TASKS)[number];

/** Side of the square block {@link degradeImages} masks: 3/8 of the image (12 px at 32 px). */
export const maskBlockSize = (size: number): number => Math.max(1, Math.round((3 * size) / 8));

/**
 * The 'degrade' input of targets x [N, C, S, S] in [lo, hi] (S divisible by 4): each image,
 * by a coin flip from torch's generator, is either downsampled 4x (4x4 average pooling) and
 * bilinearly upsampled back (super-resolution), or has a random square block of side
 * {@link maskBlockSize}(S) set to the range's midpoint, mid-gray (inpainting). The coin flips and
 * block corners are drawn from torch's generator (seed it for reproducible inputs).
 */
export function degradeImages(x: Tensor, range: [number, number] = [-1, 1]): Tensor {
  const [n, , s, w] = x.shape as [number, number, number, number];
  if (x.ndim !== 4 || s !== w || s % 4 !== 0) throw new AnogenError(`degradeImages: expected square images [N, C, S, S] with S divisible by 4, got [${x.shape.join(', ')}]`);
  return tidy(() => {
    const r = noGrad(() => rand([n, 3]).toFloat32Array());
    const b = maskBlockSize(s);
    const mask = new Float32Array(n * s * s);
    const low = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (r[3 * i]! < 0.5) {
        low[i] = 1;
        continue;
      }
      const top = Math.min(s - b, Math.floor(r[3 * i + 1]! * (s - b + 1)));
      const left = Math.min(s - b, Math.floor(r[3 * i + 2]! * (s - b + 1)));
      for (let y = top; y < top + b; y++) mask.fill(1, i * s * s + y * s + left, i * s * s + y * s + left + b);
    }
    const dev = x.device as Device;
    const m = tensor(mask, { shape: [n, 1, s, s], device: dev });
    const w1 = tensor(low, { shape: [n, 1, 1, 1], device: dev });
    const mid = (range[0] + range[1]) / 2;
    const masked = x.mul(m.neg().add(1)).add(m.mul(mid));
    const small = F.interpolate(F.avgPool2d(x, 4), { size: s, mode: 'bilinear', alignCorners: false });
    return small.mul(w1).add(masked.mul(w1.neg().add(1)));
  });
}

/**
 * The 'edges' input of targets x [N, C, S, S] in [-1, 1]: the Sobel gradient magnitude of the
 * channel mean (replicate-padded borders), |g| / 4 clipped to [0, 1] and mapped to [-1, 1]
 * (white edges on black; a step of the full range reaches 1), repeated to C channels.
 */
export function sobelEdges(x: Tensor): Tensor {
  if (x.ndim !== 4) throw new AnogenError(`sobelEdges: expected images [N, C, H, W], got [${x.shape.join(', ')}]`);
  return tidy(() => {
    const dev = x.device as Device;
    const gray = x.shape[1] === 1 ? x : x.mean([1], true);
    const kx = tensor([-1, 0, 1, -2, 0, 2, -1, 0, 1], { shape: [1, 1, 3, 3], device: dev });
    const ky = tensor([-1, -2, -1, 0, 0, 0, 1, 2, 1], { shape: [1, 1, 3, 3], device: dev });
    const p = F.pad(gray, [1, 1, 1, 1], 'replicate');
    const gx = F.conv2d(p, kx);
    const gy = F.conv2d(p, ky);
    const mag = gx.square().add(gy.square()).add(1e-12).sqrt();
    const e = mag.div(4).clamp(0, 1).mul(2).sub(1);
    return x.shape[1] === 1 ? e : e.repeat([1, x.shape[1]!, 1, 1]);
  });
}

/** The input of `task` made from targets x (see {@link degradeImages}, {@link sobelEdges}). */
export function pairedInput(x: Tensor, task: PairedTask, range: [number, number] = [-1, 1]): Tensor {
  if (task === 'degrade') return degradeImages(x, range);
  if (task === 'edges') return sobelEdges(x);
  throw new AnogenError(`pairedInput: task ${JSON.stringify(task)} is not valid; expected ${PAIRED_TASKS.join(' or ')}`);
}

// ---------------------------------------------------------------------------------------------
// unpaired batches

/**
 * The training images of an unpaired model (cyclegan) as one {@link BatchSource}: the batch at
 * `positions` is domain A's images at those positions (the loop's seeded shuffle) stacked over
 * as many images of domain B, taken in turn from B's own seeded permutations (a new one each
 * time B is used up, so B is shuffled independently of A and every B image is seen once per pass
 * over B). The batch is [2k, C, S, S]: rows 0..k-1 from A, k..2k-1 from B ({@link splitUnpaired});
 * when an image fails to decode (skipBad) both halves are cut to the shorter one.
 *
 * B's stream advances with each `get` in call order, which the loop keeps (it fetches one batch
 * ahead, in step order), so a seed gives the same run. A resumed run passes `skip` (the B images
 * the steps before the checkpoint drew, {@link unpairedSkip}) and continues B's stream exactly.
 */
export class UnpairedSource implements BatchSource {
  readonly length: number;
  readonly itemShape: readonly number[] | null;
  private readonly rand: () => number;
  private perm: Int32Array = new Int32Array(0);
  private cursor = 0;
  /**
   * @param a domain A's images (its length is the epoch's length)
   * @param b domain B's images (any length >= 1)
   * @param seed seed of B's shuffles (default 0; mixed so it differs from the loop's shuffle of A)
   * @param skip B images already drawn (default 0: a fresh run; a resumed one: {@link unpairedSkip})
   */
  constructor(
    readonly a: BatchSource,
    readonly b: BatchSource,
    seed = 0,
    skip = 0,
  ) {
    if (b.length < 1) throw new AnogenError('unpaired training: domain B has no images');
    this.length = a.length;
    this.itemShape = a.itemShape;
    this.rand = mulberry32(mixSeed(seed, 0xb));
    for (let left = skip; left > 0;) {
      if (this.cursor >= this.perm.length) {
        this.perm = permutation(this.b.length, this.rand);
        this.cursor = 0;
      }
      const k = Math.min(left, this.perm.length - this.cursor);
      this.cursor += k;
      left -= k;
    }
  }

  /** The next `k` positions of B's stream. */
  private nextB(k: number): number[] {
    const out: number[] = [];
    while (out.length < k) {
      if (this.cursor >= this.perm.length) {
        this.perm = permutation(this.b.length, this.rand);
        this.cursor = 0;
      }
      out.push(this.perm[this.cursor++]!);
    }
    return out;
  }

  async get(positions: ArrayLike<number>, device: Device): Promise<Tensor> {
    const bpos = this.nextB(positions.length);
    const xa = await this.a.get(positions, device);
    let xb: Tensor;
    try {
      xb = await this.b.get(bpos, device);
    } catch (e) {
      xa.dispose();
      throw e;
    }
    try {
      const k = Math.min(xa.shape[0]!, xb.shape[0]!);
      return noGrad(() => cat([xa.narrow(0, 0, k), xb.narrow(0, 0, k)], 0));
    } finally {
      xa.dispose();
      xb.dispose();
    }
  }
}

/**
 * The B images an {@link UnpairedSource} drew in the steps a loop state records (one per A image
 * of each step; the loop drops an epoch's last incomplete batch unless `dropLast` is false).
 */
export function unpairedSkip(s: LoopState): number {
  const { batchSize, stepsPerEpoch, dropLast, n } = s.settings;
  const perEpoch = dropLast ? stepsPerEpoch * batchSize : n;
  return Math.floor(s.globalStep / stepsPerEpoch) * perEpoch + (s.globalStep % stepsPerEpoch) * batchSize;
}

/** Options of an unpaired model's `fit`: the generators' options and domain B's images. */
export interface UnpairedFitOptions extends GeneratorFitOptions {
  /** Domain B's training images (required): a tensor [N, C, S, S] or a source; shuffled on its own, seeded by `seed`. */
  sourceB?: Tensor | BatchSource;
}

/**
 * A model trained on two unpaired domains (cyclegan): domain A is the training data, domain B the
 * data its `domainB` names (from its hyperparameters); the pipeline builds B's training split
 * with the same preprocessing and passes it as `fit`'s `sourceB`.
 */
export interface UnpairedModel extends GenerativeModel {
  /** Domain B's data ('mnist', 'fashion-mnist' or a folder) and classes (undefined: all). */
  readonly domainB: { data: string; classes?: string[] };
  fit(train: Tensor | BatchSource, opts?: UnpairedFitOptions): Promise<LoopReport>;
}

/** True when `m` trains on two unpaired domains (it has `domainB`). */
export function isUnpairedModel(m: GenerativeModel): m is UnpairedModel {
  return 'domainB' in m;
}

/** The two halves of an {@link UnpairedSource} batch: [A images, B images] (views). */
export function splitUnpaired(x: Tensor): [Tensor, Tensor] {
  const n = x.shape[0]!;
  if (n % 2 !== 0) throw new AnogenError(`unpaired batch: expected domain A's images stacked over as many of domain B (an even count), got ${n}`);
  return [x.narrow(0, 0, n / 2), x.narrow(0, n / 2, n / 2)];
}

// ---------------------------------------------------------------------------------------------
// sampling a translation model

/**
 * The images a translation model keeps for `sample`: buffers `images` [P, C, S, S] and `count`
 * (how many are filled, 0-d int64), both in the state dict (`probe.images`, `probe.count`).
 * Training fills them with its first P images (of the input domain).
 */
export class ProbeImages extends Module<[], Tensor> {
  constructor(capacity: number, channels: number, size: number) {
    super();
    this.registerBuffer('images', zeros([capacity, channels, size, size]));
    this.registerBuffer('count', zeros([], { dtype: 'int64' }));
  }
  /** Capacity P. */
  get capacity(): number {
    return this.buffer('images').shape[0]!;
  }
  /** How many images are held. */
  get filled(): number {
    return Number(this.buffer('count').item());
  }
  /** Copies the first images of `x` into the free slots (none once full). */
  add(x: Tensor): void {
    const have = this.filled;
    const k = Math.min(this.capacity - have, x.shape[0]!);
    if (k <= 0) return;
    noGrad(() => {
      this.buffer('images')
        .narrow(0, have, k)
        .copy_(x.detach().narrow(0, 0, k));
      this.buffer('count').fill_(have + k);
    });
  }
  /** Empties the probe. */
  override resetParameters(): void {
    noGrad(() => {
      this.buffer('images').zero_();
      this.buffer('count').zero_();
    });
  }
  /** The images held [filled, C, S, S] (a view). */
  forward(): Tensor {
    return this.buffer('images').narrow(0, 0, this.filled);
  }
}

/** Rows of {@link TranslationModel.sampleRows}. */
export interface TranslationRows {
  /** What the generator was given [n, C, S, S]. */
  input: Tensor;
  /** What it made [n, C, S, S]. */
  output: Tensor;
  /** pix2pix: the true image; cyclegan: the cycle reconstruction F(G(a)) [n, C, S, S]. */
  target: Tensor;
}

/**
 * Base of the translation models (pix2pix, cyclegan): a generative model whose `sample(n, { seed })`
 * translates n of its probe images picked by the seed (see the module comment); it has no
 * latent code (`nz` is 0).
 */
export abstract class TranslationModel<H extends object = object> extends GenerativeModel<H> {
  /** The probe images (a child of `net`). */
  protected abstract readonly probe: ProbeImages;
  /** The generator's input made from probe images (called with torch seeded; eval mode, no autograd). */
  protected abstract probeInput(images: Tensor): Tensor;
  /** The translation of inputs [N, C, S, S] (eval mode, no autograd, on the model's device). */
  protected abstract translateBatch(x: Tensor): Tensor;
  /** The third row of {@link sampleRows} for a probe batch, its input and its output (default: the probe images). */
  protected rowTarget(images: Tensor, _input: Tensor, _output: Tensor): Tensor {
    return images.clone();
  }

  /** No latent code: 0. */
  get nz(): number {
    return 0;
  }

  protected generate(): Tensor {
    throw new AnogenError(`${this.name} has no latent code: it translates images (sample() translates its probe images, translate() given ones)`);
  }

  /** Translates images x [N, C, S, S] (in the model's range; any device) in batches of `batchSize` (default 256); returns them on the CPU. */
  translate(x: Tensor, batchSize = 256): Tensor {
    return this.translateWith(x, batchSize, (b) => this.translateBatch(b));
  }

  /** Runs `fn` (a network of the model) over images x in eval mode without autograd, in batches of `batchSize`; the result is on the CPU. */
  protected translateWith(x: Tensor, batchSize: number, fn: (b: Tensor) => Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.input.channels || x.shape[2] !== this.input.size || x.shape[3] !== this.input.size) {
      throw new AnogenError(`${this.name} translate: expected N x ${this.input.channels} x ${this.input.size} x ${this.input.size} images, got [${x.shape.join(', ')}]`);
    }
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new AnogenError(`${this.name} translate: batchSize must be a positive integer, got ${JSON.stringify(batchSize)}`);
    const parts: Tensor[] = [];
    this.net.eval();
    try {
      noGrad(() => {
        for (let i = 0; i < x.shape[0]!; i += batchSize) {
          parts.push(
            tidy(() =>
              fn(
                x
                  .narrow(0, i, Math.min(batchSize, x.shape[0]! - i))
                  .float()
                  .to(this.device),
              ).cpu(),
            ),
          );
        }
      });
      return parts.length === 1 ? parts.shift()! : cat(parts, 0);
    } finally {
      dispose(parts);
    }
  }

  /** The probe images picked by `seed` for n samples and their inputs (on the CPU), with torch's generator restored afterwards. */
  private seededProbe(n: number, seed: number): { images: Tensor; input: Tensor } {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new AnogenError(`sample: seed must be a non-negative integer, got ${JSON.stringify(seed)}`);
    const have = this.probe.filled;
    if (have === 0) throw new AnogenError(`${this.name} sample: the model holds no probe images yet (train it first: sample() translates its first training images)`);
    const r = mulberry32(mixSeed(seed, 0x5a));
    const pick: number[] = [];
    while (pick.length < n) pick.push(...permutation(have, r));
    const prev = getRngState();
    try {
      manualSeed(seed);
      return noGrad(() =>
        tidy(() => {
          const idx = tensor(pick.slice(0, n), { dtype: 'int64', device: this.device });
          const images = this.probe.call().indexSelect(0, idx);
          return { images: images.cpu(), input: this.probeInput(images).cpu() };
        }),
      );
    } finally {
      setRngState(prev);
    }
  }

  /**
   * `n` translations [n, C, S, S] on the CPU of n probe images picked by the seed (default 0)
   * (pix2pix: of their seeded degraded or edge inputs; cyclegan: G(a)); batches of `batchSize`
   * (default 256) do not change them. Translation models have no classes.
   */
  override sample(n: number, opts: SampleOptions = {}): Tensor {
    if (!Number.isSafeInteger(n) || n < 1) throw new AnogenError(`${this.name} sample: n must be a positive integer, got ${JSON.stringify(n)}`);
    const bs = opts.batchSize ?? 256;
    if (!Number.isSafeInteger(bs) || bs < 1) throw new AnogenError(`${this.name} sample: batchSize must be a positive integer, got ${JSON.stringify(bs)}`);
    if (opts.classes !== undefined) throw new AnogenError(`${this.name} sample: classes apply to conditional generators (cgan); ${this.name} translates images`);
    const p = this.seededProbe(n, opts.seed ?? 0);
    try {
      return this.translate(p.input, bs);
    } finally {
      p.images.dispose();
      p.input.dispose();
    }
  }

  /** The input, output and target rows of n seeded samples (see {@link TranslationRows}; on the CPU; the caller disposes them). */
  sampleRows(n: number, opts: { seed?: number } = {}): TranslationRows {
    if (!Number.isSafeInteger(n) || n < 1) throw new AnogenError(`${this.name} sample: n must be a positive integer, got ${JSON.stringify(n)}`);
    const p = this.seededProbe(n, opts.seed ?? 0);
    const output = this.translate(p.input);
    const target = noGrad(() => this.rowTarget(p.images, p.input, output));
    p.images.dispose();
    return { input: p.input, output, target };
  }

  /**
   * The images of {@link sampleRows} laid out for a grid of `nrow` columns: for every `nrow`
   * samples, a row of inputs, a row of outputs, a row of targets ([3n, C, S, S], on the CPU).
   */
  sampleGridImages(n: number, opts: { seed?: number; nrow?: number } = {}): Tensor {
    const r = this.sampleRows(n, opts);
    try {
      return rowGroups([r.input, r.output, r.target], opts.nrow ?? 8, this.input.range[0]);
    } finally {
      dispose([r.input, r.output, r.target]);
    }
  }
}

/**
 * Images of equal count [n, C, S, S] each (e.g. inputs, outputs, targets) laid out for a grid of
 * `nrow` columns: for every `nrow` images, one row of each tensor in turn. A short last group
 * (when there are several) is filled with `padValue` tiles so the rows stay aligned.
 */
export function rowGroups(rows: Tensor[], nrow: number, padValue: number): Tensor {
  const n = rows[0]!.shape[0]!;
  const [, c, h, w] = rows[0]!.shape as [number, number, number, number];
  if (!Number.isSafeInteger(nrow) || nrow < 1) throw new AnogenError(`rowGroups: nrow must be a positive integer, got ${JSON.stringify(nrow)}`);
  return noGrad(() =>
    tidy(() => {
      const parts: Tensor[] = [];
      for (let i = 0; i < n; i += nrow) {
        const k = Math.min(nrow, n - i);
        for (const t of rows) {
          parts.push(t.narrow(0, i, k));
          if (k < nrow && n > nrow) parts.push(full([nrow - k, c, h, w], padValue));
        }
      }
      return cat(parts, 0);
    }),
  );
}

/** True when `m` is a translation model (pix2pix, cyclegan): `anogen sample` then draws input | output | target rows. */
export function isTranslationModel(m: GenerativeModel): m is TranslationModel {
  return m instanceof TranslationModel;
}
