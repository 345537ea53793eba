/**
 * Batches of a split as tensors.
 *
 * `DataLoader` iterates a {@link Split} asynchronously: `for await (const b of loader)`.
 * Each batch is `{ x: [N, C, H, W] float32, y: [N] int64 labels (0 normal, 1 anomalous),
 * mask?: [N, 1, H, W] float32 in {0, 1} }` after the transform chain.
 *
 * Ownership: the CONSUMER owns every batch's tensors and must dispose them (`disposeBatch(b)`,
 * or `tidy`/`dispose` on x, y and mask) once done. Batches prefetched but never handed out
 * (the loop was left early) are disposed by the loader.
 *
 * Prefetch: while the consumer works on batch i, the loader has already started batch i+1..
 * i+prefetch: image files are decoded by sharp on libuv's thread pool (off the JS thread), and
 * the tensor is assembled as soon as the consumer next awaits. IDX datasets are gathered
 * synchronously from memory (about 50 ms for all 60,000 MNIST images).
 *
 * Shuffling is seeded with the loader's own mulberry32 generator: epoch e's order depends
 * only on (seed, e), never on torch's generator. `loader.seed` records the seed.
 */
import { AnogenError } from '../core/errors.js';
import { tensor } from '../core/creation.js';
import { Tensor, cat } from '../core/tensor.js';
import type { Device } from '../core/tensor.js';
import { IdxDataset } from './idx-dataset.js';
import { FolderDataset } from './folder.js';
import { decodeImage, type RawImage } from './image.js';
import type { Split } from './protocols.js';
import { compose, type TransformChain, type TransformConfig } from './transforms.js';
import { mixSeed, mulberry32, permutation } from './random.js';

/** One batch. The consumer disposes x, y and mask. */
export interface Batch {
  /** Images [N, C, H, W] float32. */
  x: Tensor;
  /** Labels [N] int64: 0 normal, 1 anomalous. */
  y: Tensor;
  /** Pixel masks [N, 1, H, W] float32 in {0, 1} (zeros where an item has no mask); only when the loader has masks on. */
  mask?: Tensor;
  /** Positions in the split of this batch's source images (bad images skipped). */
  positions: Int32Array;
  /** Rows of x per source image (randomCrop's k; 1 otherwise). */
  perImage: number;
}

/** Disposes a batch's tensors. */
export function disposeBatch(b: Batch): void {
  b.x.dispose();
  b.y.dispose();
  b.mask?.dispose();
}

/** Options of {@link DataLoader} and {@link loadSplit}. */
export interface LoaderOptions {
  /** Images per batch (default 64). */
  batchSize?: number;
  /** Shuffle each epoch (default true for a 'train' split, false otherwise). */
  shuffle?: boolean;
  /** Seed of shuffling and random transforms (default 0). */
  seed?: number;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Transform chain, as configs or compiled (default none: pixels in [0, 1], channels as decoded). */
  transforms?: TransformConfig[] | TransformChain;
  /** Apply flips (default true for a 'train' split, false otherwise). */
  augment?: boolean;
  /** Batches prepared ahead of the one being consumed (default 2; 0 disables prefetch). */
  prefetch?: number;
  /** Return masks (default: when the dataset has any). */
  masks?: boolean;
  /** Device of the batch tensors (default 'cpu'). */
  device?: Device;
}

interface Loaded {
  images: RawImage[];
  masks: (RawImage | null)[];
  positions: number[];
}

async function loadFolderItems(split: Split, positions: ArrayLike<number>, withMasks: boolean, onSkip: (file: string) => void): Promise<Loaded> {
  const ds = split.dataset;
  const settled = await Promise.allSettled(Array.from(positions, (p) => ds.loadItem(split.sourceName(p), split.index[p])));
  const out: Loaded = { images: [], masks: [], positions: [] };
  const skipBad = ds instanceof FolderDataset && ds.skipBad;
  settled.forEach((r, k) => {
    const p = positions[k];
    if (r.status === 'rejected') {
      if (!skipBad || !(r.reason instanceof AnogenError)) throw r.reason;
      const file = split.itemName(p);
      (ds as FolderDataset).badFiles.add(file);
      onSkip(file);
      return;
    }
    out.images.push(r.value.image);
    out.masks.push(withMasks ? r.value.mask : null);
    out.positions.push(p);
  });
  return out;
}

/** Packs decoded images into x [N, C, H, W] float32 in [0, 1]; null when sizes/channels differ. */
function packImages(images: RawImage[]): Tensor | null {
  const { width: W, height: H, channels: C } = images[0];
  if (!images.every((im) => im.width === W && im.height === H && im.channels === C)) return null;
  const n = W * H * C;
  const N = images.length;
  if (images.every((im) => im.data instanceof Uint8Array)) {
    const buf = new Uint8Array(N * n);
    images.forEach((im, k) => buf.set(im.data, k * n));
    const u = tensor(buf, { shape: [N, H, W, C] });
    const p = u.permute(0, 3, 1, 2);
    const x = p.float().div_(255); // (u8.mul(1/255) is slower: dynamic casting)
    u.dispose();
    p.dispose();
    return x;
  }
  const buf = new Float32Array(N * n);
  images.forEach((im, k) => {
    const s = im.data instanceof Uint16Array ? 1 / 65535 : 1 / 255;
    for (let i = 0; i < n; i++) buf[k * n + i] = im.data[i] * s;
  });
  const t = tensor(buf, { shape: [N, H, W, C] });
  const x = t.permute(0, 3, 1, 2).contiguous();
  t.dispose();
  return x;
}

function packMasks(images: RawImage[], masks: (RawImage | null)[]): Tensor {
  const ts = images.map((im, k) => {
    const m = masks[k];
    const buf = new Uint8Array(im.width * im.height);
    if (m) for (let i = 0; i < buf.length; i++) buf[i] = m.data[i * m.channels] > 0 ? 1 : 0;
    return tensor(buf, { shape: [1, 1, im.height, im.width] });
  });
  const u = ts.length === 1 ? ts[0] : cat(ts, 0);
  const f = u.float();
  for (const t of ts) t.dispose();
  if (u !== ts[0]) u.dispose();
  return f;
}

function gatherIdx(split: Split, positions: ArrayLike<number>): Tensor {
  const ds = split.dataset as IdxDataset;
  const n = ds.imageSize;
  const N = positions.length;
  const first = ds.images[ds.sources[0]];
  const shape = [N, ds.height, ds.width, ds.channels];
  if (first.dtype === 'uint8') {
    // One run of consecutive items of one source (a whole source in order): no gather copy.
    const p0 = positions[0];
    let run = true;
    for (let k = 1; k < N && run; k++) {
      const p = positions[k];
      run = split.source[p] === split.source[p0] && split.index[p] === split.index[p0] + k;
    }
    const buf = run ? (ds.images[ds.sources[split.source[p0]]].data as Uint8Array).subarray(split.index[p0] * n, (split.index[p0] + N) * n) : new Uint8Array(N * n);
    for (let k = 0; k < N && !run; k++) {
      const p = positions[k];
      const src = ds.images[ds.sources[split.source[p]]].data as Uint8Array;
      const i = split.index[p];
      buf.set(src.subarray(i * n, (i + 1) * n), k * n);
    }
    const u = tensor(buf, { shape });
    const pm = u.permute(0, 3, 1, 2);
    const x = pm.float().div_(255);
    u.dispose();
    pm.dispose();
    return x;
  }
  // Other IDX dtypes: elements taken as they are (no scaling).
  const buf = new Float32Array(N * n);
  for (let k = 0; k < N; k++) {
    const p = positions[k];
    const src = ds.images[ds.sources[split.source[p]]].data;
    const i = split.index[p];
    for (let j = 0; j < n; j++) buf[k * n + j] = src[i * n + j] as number;
  }
  const t = tensor(buf, { shape });
  const x = t.permute(0, 3, 1, 2).contiguous();
  t.dispose();
  return x;
}

/** Builds one batch from split positions (shared by DataLoader and loadSplit). */
async function buildBatch(
  split: Split,
  positions: ArrayLike<number>,
  chain: TransformChain,
  rand: () => number,
  augment: boolean,
  withMasks: boolean,
  device: Device,
  onSkip: (file: string) => void,
): Promise<Batch> {
  let x: Tensor;
  let mask: Tensor | null = null;
  let kept: number[];
  if (split.dataset instanceof IdxDataset) {
    kept = Array.from(positions);
    if (kept.length === 0) throw new AnogenError('DataLoader: empty batch');
    x = gatherIdx(split, kept);
  } else {
    const loaded = await loadFolderItems(split, positions, withMasks, onSkip);
    kept = loaded.positions;
    if (kept.length === 0) {
      return { x: tensor(new Float32Array(0), { shape: [0] }), y: tensor(new Int32Array(0), { dtype: 'int64' }), positions: new Int32Array(0), perImage: chain.perImage };
    }
    const packed = packImages(loaded.images);
    if (packed) {
      x = packed;
      mask = withMasks ? packMasks(loaded.images, loaded.masks) : null;
    } else {
      // Images of different sizes or channel counts: transform one by one, then concatenate.
      const xs: Tensor[] = [];
      const ms: Tensor[] = [];
      loaded.images.forEach((im, k) => {
        const xi = packImages([im])!;
        const mi = withMasks ? packMasks([im], [loaded.masks[k]]) : null;
        const r = chain.apply(xi, mi, { rand, augment });
        xi.dispose();
        mi?.dispose();
        const [a, b] = [xs[0]?.shape.slice(1), r.x.shape.slice(1)];
        if (a && a.join() !== b.join()) {
          const first = split.itemName(kept[0]);
          for (const t of [...xs, ...ms, r.x, r.mask]) t?.dispose();
          throw new AnogenError(
            `${split.itemName(kept[k])}: gives an image of [${b.join(', ')}] but ${first} gives [${a.join(', ')}]; add resize/centerCrop and grayscale/rgb transforms so every image has one size`,
          );
        }
        xs.push(r.x);
        if (r.mask) ms.push(r.mask);
      });
      const xb = cat(xs, 0);
      const mb = ms.length ? cat(ms, 0) : null;
      for (const t of [...xs, ...ms]) t.dispose();
      return finish(split, xb, mb, kept, chain.perImage, device);
    }
  }
  const r = chain.apply(x, mask, { rand, augment }, { inPlace: true });
  x.dispose();
  mask?.dispose();
  return finish(split, r.x, r.mask, kept, r.perImage, device);
}

function finish(split: Split, x: Tensor, mask: Tensor | null, kept: number[], perImage: number, device: Device): Batch {
  const lab = new Int32Array(kept.length * perImage);
  kept.forEach((p, k) => lab.fill(split.label[p], k * perImage, (k + 1) * perImage));
  let y = tensor(lab, { dtype: 'int64' });
  if (device !== 'cpu') {
    const move = (t: Tensor) => {
      const m = t.to(device);
      t.dispose();
      return m;
    };
    x = move(x);
    y = move(y);
    if (mask) mask = move(mask);
  }
  return { x, y, ...(mask ? { mask } : {}), positions: Int32Array.from(kept), perImage };
}

/** Seeded, prefetching batch iterator over a split (see the module comment). */
export class DataLoader implements AsyncIterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  /** Seed of the shuffles and random transforms. */
  readonly seed: number;
  readonly dropLast: boolean;
  readonly augment: boolean;
  readonly prefetch: number;
  readonly masks: boolean;
  readonly device: Device;
  readonly transforms: TransformChain;
  /** Epoch of the next iteration (incremented after each complete one). */
  epoch = 0;
  /** Images skipped so far because they failed to decode (dataset option skipBad). */
  skipped = 0;

  constructor(
    readonly split: Split,
    opts: LoaderOptions = {},
  ) {
    const isTrain = split.role === 'train';
    this.batchSize = opts.batchSize ?? 64;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new AnogenError(`batchSize: ${opts.batchSize} is not valid; expected a positive integer`);
    }
    this.shuffle = opts.shuffle ?? isTrain;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    this.augment = opts.augment ?? isTrain;
    this.prefetch = opts.prefetch ?? 2;
    this.masks = opts.masks ?? split.dataset.hasMasks;
    this.device = opts.device ?? 'cpu';
    this.transforms = compose(opts.transforms);
    if (split.length === 0) throw new AnogenError(`DataLoader: the ${split.role} split of '${split.dataset.name}' is empty`);
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.split.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The item order (split positions) of an epoch. */
  order(epoch = this.epoch): Int32Array {
    if (!this.shuffle) return Int32Array.from({ length: this.split.length }, (_, i) => i);
    return permutation(this.split.length, mixSeed(this.seed, epoch));
  }

  /** The split positions of each batch of an epoch. */
  batches(epoch = this.epoch): Int32Array[] {
    const o = this.order(epoch);
    const out: Int32Array[] = [];
    for (let s = 0; s < o.length; s += this.batchSize) {
      const b = o.subarray(s, Math.min(s + this.batchSize, o.length));
      if (b.length < this.batchSize && this.dropLast) break;
      out.push(b);
    }
    return out;
  }

  private build(positions: Int32Array, epoch: number, b: number): Promise<Batch> {
    const rand = mulberry32(mixSeed(this.seed, epoch, b, 0x7a));
    return buildBatch(this.split, positions, this.transforms, rand, this.augment, this.masks, this.device, () => this.skipped++);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    const epoch = this.epoch;
    const batches = this.batches(epoch);
    const queue: Promise<Batch>[] = [];
    let next = 0;
    const fill = () => {
      while (queue.length < this.prefetch + 1 && next < batches.length) {
        const p = this.build(batches[next], epoch, next);
        p.catch(() => {}); // handled when awaited; avoids an unhandled rejection while queued
        queue.push(p);
        next++;
      }
    };
    try {
      fill();
      while (queue.length > 0) {
        const b = await queue.shift()!;
        fill();
        yield b;
      }
      this.epoch = epoch + 1;
    } finally {
      for (const p of queue) p.then(disposeBatch, () => {});
      queue.length = 0;
    }
  }
}

/**
 * A whole split as one batch (in split order, no shuffling): for small data such as MNIST
 * or a validation set. The caller disposes the tensors.
 */
export async function loadSplit(split: Split, opts: Omit<LoaderOptions, 'batchSize' | 'shuffle' | 'dropLast' | 'prefetch'> = {}): Promise<Batch> {
  const loader = new DataLoader(split, { ...opts, batchSize: Math.max(1, split.length), shuffle: false, prefetch: 0 });
  const b = loader.batches(0)[0];
  return buildBatch(split, b, loader.transforms, mulberry32(mixSeed(loader.seed, 0, 0, 0x7a)), loader.augment, loader.masks, loader.device, () => loader.skipped++);
}

/**
 * Preprocesses one image file exactly as a loader with the same transforms would (augment
 * off): returns x [perImage, C, H, W] float32. Used to score a single image.
 */
export async function preprocessFile(file: string, transforms: TransformConfig[] | TransformChain = [], seed = 0): Promise<Tensor> {
  return preprocessImage(await decodeImage(file), transforms, seed);
}

/**
 * {@link preprocessFile} for an image already decoded (e.g. from uploaded bytes by
 * decodeImageBytes): the same transforms with augment off (default seed 0). Returns x [perImage, C, H, W].
 */
export function preprocessImage(im: RawImage, transforms: TransformConfig[] | TransformChain = [], seed = 0): Tensor {
  const chain = compose(transforms);
  const x = packImages([im])!;
  const r = chain.apply(x, null, { rand: mulberry32(mixSeed(seed, 0, 0, 0x7a)), augment: false });
  x.dispose();
  return r.x;
}
