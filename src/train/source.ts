/**
 * Where training images come from: a {@link BatchSource} hands out the images at given
 * positions as one NCHW float32 tensor on a device. The training loop shuffles positions
 * and asks for one batch at a time, so nothing requires the training set to fit in memory.
 *
 * - {@link TensorSource}: images already in a tensor (the library's `fit({ images })`).
 * - {@link SplitSource}: a src/data split (an image folder or an IDX dataset) decoded and
 *   preprocessed batch by batch through the data layer (image folders go through the
 *   dataset's bounded LRU cache, so memory does not grow with the number of files).
 *
 * Both give bit-identical pixels for the same positions, so a model trained from a folder
 * streams exactly what it would have trained on from a tensor of the same images.
 */
import { AnogenError } from '../core/errors.js';
import { empty, tensor } from '../core/creation.js';
import type { Device, Tensor } from '../core/tensor.js';
import { noGrad } from '../core/autograd.js';
import { disposeBatch, loadSplit } from '../data/loader.js';
import type { Split } from '../data/protocols.js';
import type { TransformChain, TransformConfig } from '../data/transforms.js';

/** Random access to training images by position. */
export interface BatchSource {
  /** Number of images. */
  readonly length: number;
  /**
   * The images at `positions` (each in [0, length)) as [N, C, H, W] float32 on `device`, in
   * that order; the caller disposes the tensor. Images that fail to decode are left out only
   * when the dataset was opened with skipBad.
   */
  get(positions: ArrayLike<number>, device: Device): Promise<Tensor>;
  /** Shape [C, H, W] of one image, when known without decoding (null otherwise). */
  readonly itemShape: readonly number[] | null;
  /**
   * The class labels of the images at `positions`, in that order (optional: only sources of
   * class-labelled images have it). The loop hands them to the step as `ctx.labels`, for the
   * models that condition on the class (cgan); other models ignore them.
   */
  labels?(positions: ArrayLike<number>): Int32Array;
}

/** Same-device check without allocating: 'cuda' and 'cuda:0' are the same device. */
function sameDevice(a: Device, b: Device): boolean {
  const norm = (d: Device) => (d === 'cuda' ? 'cuda:0' : d);
  return norm(a) === norm(b);
}

/** Images held in one NCHW tensor (not owned: the caller keeps and disposes it). */
export class TensorSource implements BatchSource {
  readonly length: number;
  readonly itemShape: readonly number[];
  /**
   * @param images [N, C, H, W] float32 images.
   * @param classLabels the class of each image (N integers; default none: the source has no `labels`).
   */
  constructor(
    readonly images: Tensor,
    classLabels?: ArrayLike<number>,
  ) {
    if (images.ndim !== 4) throw new AnogenError(`training images: expected NCHW [N, C, H, W], got shape [${images.shape.join(', ')}]`);
    this.length = images.shape[0]!;
    this.itemShape = images.shape.slice(1);
    if (classLabels !== undefined) {
      if (classLabels.length !== this.length) throw new AnogenError(`training labels: expected ${this.length} (one per image), got ${classLabels.length}`);
      const all = Int32Array.from(classLabels);
      this.labels = (positions) => Int32Array.from(positions, (p) => all[p]!);
    }
  }
  /** The class labels at `positions` (present only when built with labels). */
  readonly labels?: (positions: ArrayLike<number>) => Int32Array;
  async get(positions: ArrayLike<number>, device: Device): Promise<Tensor> {
    return noGrad(() => {
      // The index lives with the images; the batch then moves to the model's device.
      const idx = tensor(Array.from(positions), { dtype: 'int64', device: this.images.device as Device });
      try {
        const x = this.images.indexSelect(0, idx);
        if (sameDevice(x.device as Device, device)) return x;
        try {
          return x.to({ device });
        } finally {
          x.dispose();
        }
      } finally {
        idx.dispose();
      }
    });
  }
}

/** A data-layer split decoded on demand with a transform chain (no augmentation). */
export class SplitSource implements BatchSource {
  readonly length: number;
  readonly itemShape = null;
  /**
   * @param split the images (every item is used; take a subset first to limit them)
   * @param transforms the preprocessing chain (the one stored in the bundle)
   * @param seed seed of random transforms (default 0; the CLI's chains have none)
   */
  constructor(
    readonly split: Split,
    readonly transforms: TransformConfig[] | TransformChain,
    readonly seed = 0,
  ) {
    this.length = split.length;
  }
  /** The split's class ids at `positions` (the dataset's classes: MNIST digit d is d). */
  labels(positions: ArrayLike<number>): Int32Array {
    return Int32Array.from(positions, (p) => this.split.classId[p]!);
  }
  async get(positions: ArrayLike<number>, device: Device): Promise<Tensor> {
    const b = await loadSplit(this.split.subset(positions), { transforms: this.transforms, augment: false, masks: false, seed: this.seed, device });
    b.y.dispose();
    b.mask?.dispose();
    if (b.x.shape[0] === 0) {
      disposeBatch(b);
      throw new AnogenError(`the ${this.split.role} split of '${this.split.dataset.name}': no image of this batch could be decoded`);
    }
    // The data layer packs HWC pixels with a permute, so a gray batch has the strides of a
    // channels-last tensor (which PyTorch still calls contiguous); convolutions then pick other
    // kernels and round differently. A copy into row-major strides gives exactly the numbers of
    // a tensor source (measured: the same GANomaly loss history bit for bit).
    const x = noGrad(() => empty(b.x.shape, { dtype: b.x.dtype, device: b.x.device as Device }).copy_(b.x));
    b.x.dispose();
    return x;
  }
}

/** A source from a tensor (wrapped, not copied) or a source as is. */
export function asSource(x: Tensor | BatchSource): BatchSource {
  return 'get' in x && typeof (x as BatchSource).get === 'function' && !('ndim' in x) ? (x as BatchSource) : new TensorSource(x as Tensor);
}

/**
 * Every image of `source` in order, in batches of `batchSize` (the last may be smaller), as
 * an async iterator; each yielded tensor is disposed by the iterator when the consumer asks
 * for the next one (or leaves the loop).
 */
export async function* sequentialBatches(source: BatchSource, batchSize: number, device: Device): AsyncGenerator<Tensor> {
  for (let i = 0; i < source.length; i += batchSize) {
    const n = Math.min(batchSize, source.length - i);
    const x = await source.get(
      Array.from({ length: n }, (_, k) => i + k),
      device,
    );
    try {
      yield x;
    } finally {
      x.dispose();
    }
  }
}
