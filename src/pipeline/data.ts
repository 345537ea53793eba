/**
 * The pipeline's glue to the data layer (src/data): data options (as the CLI and the server
 * take them, and as bundles store them) turned into a dataset and protocol splits, the
 * preprocessing chain a bundle stores, and image files named by a user. Decoding, transforms,
 * protocols and batching are all src/data's; this file adds what is specific to workflows
 * (option names in messages, walking folders given to `anogen score`, the `--val-dir`
 * validation folder, where a stored path came from).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, cat, dispose, type Tensor } from '../core/index.js';
import {
  DATASET_NAMES,
  isImageFile,
  isMvtecFolder,
  openLabelledFolder,
  labelledSplit,
  loadSplit as loadWholeSplit,
  makeSplits,
  openDataset,
  permutation,
  preprocessFile,
  IMAGE_EXTENSIONS,
  type Batch,
  type Dataset,
  type ProtocolName,
  type Split,
  type Splits,
  type TransformChain,
  type TransformConfig,
} from '../data/index.js';

/** Data options shared by train and eval (as given on the command line and stored in bundles). */
export interface DataOptions {
  /** 'mnist', 'fashion-mnist', an IDX folder or an image folder (MVTec layout). */
  data: string;
  /** One-class protocol (default 'folder' for image folders; required for IDX data). */
  protocol?: ProtocolName;
  /** one-vs-rest: the normal class. */
  normal?: string;
  /** leave-one-out: the anomalous class. */
  abnormal?: string;
  /** Seed of every split (default 0). */
  seed: number;
  /** Share of training normals carved out for validation (default 0.1); ignored with valDir. */
  valFraction: number;
  /** Image folders: keep test/uncertain as an anomalous class (default false). */
  includeUncertain?: boolean;
  /** Skip images that fail to decode, and report how many (default false: stop with an error). */
  skipBad?: boolean;
  /**
   * A labelled validation folder (default none: validation = valFraction of training normals):
   * either the MVTec layout (every image of it; good = normal) or `<dir>/good/*` plus one
   * folder per anomaly type `<dir>/<defect>/*`. Makes the 'f1-max' threshold possible.
   */
  valDir?: string;
  /** Bound of an image folder's decoded-image cache in MiB (default 256; 0 disables it). */
  cacheMb?: number;
  /** Where `data` came from, for messages (default '--data'; e.g. "the bundle's config.json"). */
  dataOrigin?: string;
}

/**
 * What identifies data robustly when stored in a bundle: named datasets by name, folders as
 * absolute paths (so the bundle works from any working directory).
 */
export function storableData(data: string): string {
  return (DATASET_NAMES as string[]).includes(data) ? data : path.resolve(data);
}

function notFound(what: string, target: string): AnogenError {
  return new AnogenError(
    `${what} ${JSON.stringify(target)}: no such dataset or folder; expected ${DATASET_NAMES.join(', ')} or a folder (MVTec layout train/good + test/<class>, or the four IDX files)`,
  );
}

/**
 * Marks `o.data` as the data path recorded in a bundle's `cfgFile` (messages then say where it
 * came from) and checks it is still there: a moved or foreign path is an AnogenError ending in
 * `hint` (what the user should give instead).
 */
export function useStoredData(o: DataOptions, cfgFile: string, hint: string): void {
  o.dataOrigin = `the bundle's config.json (${cfgFile}); give --data to use another location`;
  if (!(DATASET_NAMES as string[]).includes(o.data) && !fs.existsSync(o.data)) {
    throw new AnogenError(`the training data ${JSON.stringify(o.data)} recorded in ${cfgFile} is not there (moved, or on another machine); ${hint}`);
  }
}

/** Opens the dataset of `--data` through src/data's openDataset. */
export function openData(o: Pick<DataOptions, 'data' | 'includeUncertain' | 'skipBad' | 'cacheMb' | 'dataOrigin'>): Dataset {
  if (!(DATASET_NAMES as string[]).includes(o.data) && !fs.existsSync(o.data)) throw notFound(o.dataOrigin ?? '--data', o.data);
  try {
    return openDataset(o.data, {
      includeUncertain: o.includeUncertain ?? false,
      skipBad: o.skipBad ?? false,
      ...(o.cacheMb !== undefined ? { cacheBytes: Math.round(o.cacheMb * 1024 * 1024) } : {}),
    });
  } catch (e) {
    if (e instanceof AnogenError && o.dataOrigin !== undefined) throw new AnogenError(`${e.message} (the data path comes from ${o.dataOrigin})`);
    throw e;
  }
}

/** The labelled validation split of `--val-dir`. */
export function openValidationDir(dir: string, skipBad = false): Split {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new AnogenError(`--val-dir ${dir}: no such folder`);
  let ds: Dataset;
  try {
    ds = isMvtecFolder(dir) ? openDataset(dir, { skipBad }) : openLabelledFolder(dir, { skipBad });
  } catch (e) {
    if (e instanceof AnogenError) throw new AnogenError(`--val-dir (the MVTec layout, or good/ plus one folder per anomaly type): ${e.message}`);
    throw e;
  }
  return labelledSplit(ds, { role: 'validation' });
}

/** Opens the dataset and builds its splits under the protocol (src/data's makeSplits). */
export function buildSplits(o: DataOptions): Splits {
  const ds = openData(o);
  if (ds.kind === 'idx' && o.protocol === undefined) {
    throw new AnogenError(`--protocol is required for '${ds.name}': expected 'one-vs-rest' (with --normal <class>) or 'leave-one-out' (with --abnormal <class>)`);
  }
  if (o.protocol === 'one-vs-rest' && o.normal === undefined)
    throw new AnogenError(`--protocol one-vs-rest needs --normal <class>; classes of '${ds.name}': ${ds.classes.join(', ')}`);
  if (o.protocol === 'leave-one-out' && o.abnormal === undefined)
    throw new AnogenError(`--protocol leave-one-out needs --abnormal <class>; classes of '${ds.name}': ${ds.classes.join(', ')}`);
  const validation = o.valDir !== undefined ? openValidationDir(o.valDir, o.skipBad) : undefined;
  const splits = makeSplits(ds, { protocol: o.protocol, normalClass: o.normal, anomalyClass: o.abnormal, seed: o.seed, valFraction: o.valFraction, validation });
  if (validation && validation.dataset !== ds && ds.kind === 'folder') {
    // A separate folder must still not share files with the test split.
    const testFiles = new Set(Array.from({ length: splits.test.length }, (_, i) => path.resolve(splits.test.itemName(i))));
    for (let i = 0; i < validation.length; i++) {
      if (testFiles.has(path.resolve(validation.itemName(i)))) {
        throw new AnogenError(`--val-dir: ${validation.itemName(i)} is also in the test split; a validation set must not overlap the test split`);
      }
    }
  }
  if (validation) (splits.record as { validationDir?: string }).validationDir = path.resolve(o.valDir!);
  return splits;
}

/** Options of {@link imageTransforms}. */
export interface ImageTransformOptions {
  /** Square output size S (images are resized to S x S, bilinear with antialiasing when shrinking). */
  size: number;
  /** Output channels: 1 (grayscale, luma weights) or 3 (RGB). */
  channels: 1 | 3;
  /** Pixel range (default [-1, 1], the GAN convention). */
  range?: [number, number];
}

/** The CLI's preprocessing chain: channels, resize to S x S, scale; src/data TransformConfig[] as stored in bundles. */
export function imageTransforms(o: ImageTransformOptions): TransformConfig[] {
  return [{ type: o.channels === 1 ? 'grayscale' : 'rgb' }, { type: 'resize', size: o.size }, { type: 'scale', range: o.range ?? [-1, 1] }];
}

/** A split's first `limit` items of a seeded permutation, kept in split order (the whole split without a limit). */
export function limitSplit(split: Split, limit: number | undefined, seed: number): Split {
  if (limit === undefined || limit >= split.length) return split;
  return split.subset(Array.from(permutation(split.length, seed).subarray(0, limit)).sort((a, b) => a - b));
}

/**
 * Loads a (limited) split as one batch with src/data's loadSplit (no augmentation): for
 * training and validation sets, which detectors take as tensors. The caller disposes x, y.
 */
export async function loadSubset(split: Split, transforms: TransformChain | TransformConfig[], limit?: number, seed = 0): Promise<{ batch: Batch; split: Split }> {
  const s = limitSplit(split, limit, seed);
  if (s.length === 0) throw new AnogenError(`the ${split.role} split of '${split.dataset.name}' is empty`);
  const batch = await loadWholeSplit(s, { transforms, augment: false, masks: false, seed });
  if (batch.positions.length === 0) throw new AnogenError(`the ${split.role} split of '${split.dataset.name}': no image could be decoded`);
  return { batch, split: s };
}

/** Image files named on the command line (files, or folders searched recursively), sorted within each folder. */
export function listImageFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, top: boolean): void => {
    if (!fs.existsSync(p)) throw new AnogenError(`${p}: no such file or folder`);
    if (fs.statSync(p).isDirectory()) {
      for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e), false);
    } else if (isImageFile(p)) out.push(p);
    else if (top) throw new AnogenError(`${p}: not an image file; expected ${IMAGE_EXTENSIONS.join(', ')}`);
  };
  for (const p of paths) walk(p, true);
  if (out.length === 0) throw new AnogenError(`no image files found in ${paths.join(', ')}`);
  return out;
}

/**
 * Preprocesses files with src/data's preprocessFile (exactly the single-image path of the
 * library) and concatenates them: x [N, C, H, W] and the files kept. With `skipBad`,
 * undecodable files are left out and returned in `bad`.
 */
export async function preprocessFiles(files: string[], chain: TransformChain, skipBad = false): Promise<{ x: Tensor | null; kept: string[]; bad: string[] }> {
  const settled = await Promise.allSettled(files.map((f) => preprocessFile(f, chain)));
  const xs: Tensor[] = [];
  const kept: string[] = [];
  const bad: string[] = [];
  let error: unknown = null;
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      xs.push(r.value);
      kept.push(files[i]);
    } else if (skipBad && r.reason instanceof AnogenError) bad.push(files[i]);
    else error ??= r.reason;
  });
  if (error !== null) {
    dispose(xs);
    throw error;
  }
  if (xs.length === 0) return { x: null, kept, bad };
  if (xs.length === 1) return { x: xs[0], kept, bad };
  try {
    return { x: cat(xs, 0), kept, bad };
  } finally {
    dispose(xs);
  }
}
