/**
 * From the data layer (datasets, protocol splits) to detector inputs: decoded images turned
 * into NCHW float32 tensors by a serialisable transform (stored in bundles, replayed by
 * `anogen score` so a single file is preprocessed exactly like the training data).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, noGrad, stack, tensor, tidy, type Tensor } from '../core/index.js';
import * as F from '../nn/functional.js';
import { decodeImage, isImageFile, type RawImage } from '../data/image.js';
import { openIdxDataset, NAMED_IDX_DATASETS, isIdxFolder } from '../data/idxDataset.js';
import { openFolder, isMvtecFolder } from '../data/folder.js';
import type { Dataset } from '../data/dataset.js';
import { makeSplits, type ProtocolName, type Split, type Splits } from '../data/protocols.js';
import { permutation } from '../data/random.js';
import type { ImageSet } from '../detectors/api.js';

/** The preprocessing chain of anogen's CLI, as stored in a bundle's config.json. */
export interface ImageTransform {
  /** Square output size (default: the detector's isize). */
  size: number;
  /** Output channels: 1 (grayscale, luminance) or 3 (RGB). */
  channels: 1 | 3;
  /** Pixel range of the output (GAN convention [-1, 1]). */
  range: [number, number];
  /** Resize method: bilinear when enlarging, area (average pooling) when shrinking. */
  resize: 'bilinear-or-area';
}

/** Validates a transform read from a bundle. */
export function parseTransform(v: unknown, where: string): ImageTransform {
  const t = v as ImageTransform;
  if (
    t === null ||
    typeof t !== 'object' ||
    !Number.isInteger(t.size) ||
    t.size < 1 ||
    (t.channels !== 1 && t.channels !== 3) ||
    !Array.isArray(t.range) ||
    t.range.length !== 2
  ) {
    throw new AnogenError(`${where}: "transform" must be { size, channels: 1 | 3, range: [lo, hi] }, got ${JSON.stringify(v)}`);
  }
  return { size: t.size, channels: t.channels, range: [Number(t.range[0]), Number(t.range[1])], resize: 'bilinear-or-area' };
}

/** One decoded image -> 1 x C x S x S tensor in the transform's range. */
export function rawToTensor(img: RawImage, t: ImageTransform): Tensor {
  return noGrad(() =>
    tidy(() => {
      const max = img.data instanceof Uint16Array ? 65535 : 255;
      const f = Float32Array.from(img.data as ArrayLike<number>, (v) => v / max);
      let x = tensor(f, { shape: [1, img.height, img.width, img.channels] }).permute(0, 3, 1, 2);
      if (img.channels === 3 && t.channels === 1) {
        const w = tensor([0.299, 0.587, 0.114], { shape: [1, 3, 1, 1] });
        x = x.mul(w).sum(1, true);
      } else if (img.channels === 1 && t.channels === 3) {
        x = x.expand(1, 3, img.height, img.width);
      }
      x = x.contiguous();
      if (img.height !== t.size || img.width !== t.size) {
        x = img.height > t.size && img.width > t.size ? F.adaptiveAvgPool2d(x, t.size) : F.interpolate(x, { size: t.size, mode: 'bilinear' });
      }
      const [lo, hi] = t.range;
      return x.mul(hi - lo).add(lo);
    }),
  );
}

/** Decodes the items of a split into an ImageSet (with labels and item names). */
export async function loadSplit(split: Split, t: ImageTransform, limit?: number, seed = 0): Promise<ImageSet & { names: string[]; classIds: Uint16Array }> {
  let positions = Array.from({ length: split.length }, (_, i) => i);
  if (limit !== undefined && limit < split.length) {
    positions = Array.from(permutation(split.length, seed).subarray(0, limit)).sort((a, b) => a - b);
  }
  if (positions.length === 0) throw new AnogenError(`the ${split.role} split of '${split.dataset.name}' is empty`);
  const parts: Tensor[] = [];
  for (const i of positions) {
    const item = await split.dataset.loadItem(split.sourceName(i), split.index[i]);
    parts.push(rawToTensor(item.image, t));
  }
  const images = noGrad(() => tidy(() => stack(parts.map((p) => p.squeeze(0)), 0)));
  for (const p of parts) p.dispose();
  return {
    images,
    labels: Uint8Array.from(positions, (i) => split.label[i]),
    names: positions.map((i) => split.itemName(i)),
    classIds: Uint16Array.from(positions, (i) => split.classId[i]),
  };
}

/** Opens `mnist`, `fashion-mnist`, an IDX folder or an image folder. */
export function openDataset(data: string, opts: { includeUncertain?: boolean } = {}): Dataset {
  if ((NAMED_IDX_DATASETS as readonly string[]).includes(data)) return openIdxDataset(data);
  if (!fs.existsSync(data)) {
    throw new AnogenError(`--data ${JSON.stringify(data)}: no such dataset or folder; expected ${NAMED_IDX_DATASETS.join(', ')} or a folder (MVTec layout train/good + test/<class>, or four IDX files)`);
  }
  if (isIdxFolder(data)) return openIdxDataset(data);
  if (isMvtecFolder(data)) return openFolder(data, { includeUncertain: opts.includeUncertain });
  return openFolder(data, { includeUncertain: opts.includeUncertain });
}

/** Data options shared by train and eval. */
export interface DataOptions {
  data: string;
  protocol?: ProtocolName;
  normal?: string;
  abnormal?: string;
  seed: number;
  valFraction: number;
  includeUncertain?: boolean;
}

/** Opens the dataset and builds its splits under the protocol. */
export function buildSplits(o: DataOptions): Splits {
  const ds = openDataset(o.data, { includeUncertain: o.includeUncertain });
  if (ds.kind === 'idx' && o.protocol === undefined) {
    throw new AnogenError(`--protocol is required for '${ds.name}': expected 'one-vs-rest' (with --normal <class>) or 'leave-one-out' (with --abnormal <class>)`);
  }
  if (o.protocol === 'one-vs-rest' && o.normal === undefined) throw new AnogenError(`--protocol one-vs-rest needs --normal <class>; classes of '${ds.name}': ${ds.classes.join(', ')}`);
  if (o.protocol === 'leave-one-out' && o.abnormal === undefined) throw new AnogenError(`--protocol leave-one-out needs --abnormal <class>; classes of '${ds.name}': ${ds.classes.join(', ')}`);
  return makeSplits(ds, { protocol: o.protocol, normalClass: o.normal, anomalyClass: o.abnormal, seed: o.seed, valFraction: o.valFraction });
}

/** Image files named on the command line (files, or folders searched recursively), sorted. */
export function listImageFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    if (!fs.existsSync(p)) throw new AnogenError(`${p}: no such file or folder`);
    if (fs.statSync(p).isDirectory()) {
      for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e));
    } else if (isImageFile(p)) out.push(p);
    else if (paths.includes(p)) throw new AnogenError(`${p}: not an image file; expected .png, .jpg, .jpeg, .bmp, .tif, .tiff or .webp`);
  };
  for (const p of paths) walk(p);
  if (out.length === 0) throw new AnogenError(`no image files found in ${paths.join(', ')}`);
  return out;
}

/** Decodes image files through a transform into one N x C x S x S tensor. */
export async function loadFiles(files: string[], t: ImageTransform): Promise<Tensor> {
  const parts: Tensor[] = [];
  try {
    for (const f of files) parts.push(rawToTensor(await decodeImage(f), t));
    return noGrad(() => tidy(() => stack(parts.map((p) => p.squeeze(0)), 0)));
  } finally {
    for (const p of parts) p.dispose();
  }
}
