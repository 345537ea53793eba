/** anogen data layer: IDX and image-folder datasets, one-class protocols, transforms, loaders. */
import fs from 'node:fs';
import { AnogenError } from '../core/errors.js';
import type { Dataset } from './dataset.js';
import { FolderDataset, hasImages, isGoodDefectFolder, isMvtecFolder, openFolder, openGoodDefectFolder, openNormalFolder, type FolderOptions } from './folder.js';
import { isIdxFolder, NAMED_IDX_DATASETS, openIdxDataset, type IdxDatasetOptions } from './idx-dataset.js';

export * from './idx.js';
export * from './dataset.js';
export * from './image.js';
export * from './idx-dataset.js';
export * from './folder.js';
export * from './protocols.js';
export * from './transforms.js';
export * from './loader.js';
export { mulberry32, mixSeed, permutation, shuffleInPlace } from './random.js';

/** Named datasets accepted by {@link openDataset}. */
export const DATASET_NAMES = [...NAMED_IDX_DATASETS];

/** Options of {@link openDataset}: those of IDX and folder datasets. */
export type OpenDatasetOptions = FolderOptions & IdxDatasetOptions;

/**
 * Opens a dataset by name (`mnist`, `fashion-mnist`) or directory: a folder with the four IDX
 * files, an image folder in the MVTec layout (<dir>/train/good, <dir>/test/<class>; test/ may be
 * absent for training), the two-folder layout (<dir>/good/ + <dir>/<defect>/), or a flat
 * folder of normal images (training only).
 * Anything else gives an AnogenError listing what is valid.
 */
export function openDataset(target: string, opts: OpenDatasetOptions = {}): Dataset {
  if ((DATASET_NAMES as string[]).includes(target)) return openIdxDataset(target, opts);
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    if (isIdxFolder(target)) return openIdxDataset(target, opts);
    if (isMvtecFolder(target)) return openFolder(target, opts);
    if (isGoodDefectFolder(target)) return openGoodDefectFolder(target, opts);
    if (hasImages(target)) return openNormalFolder(target, opts);
    throw new AnogenError(
      `${target}: not a dataset folder; expected the four IDX files (train-images-idx3-ubyte[.gz], ...), the MVTec layout <dir>/train/good (+ test/good, test/<defect>), ` +
        'good/ plus one folder per anomaly type, or a folder of normal images',
    );
  }
  throw new AnogenError(`unknown dataset '${target}'; expected ${DATASET_NAMES.map((n) => `'${n}'`).join(', ')} or a dataset directory`);
}

export { FolderDataset };
