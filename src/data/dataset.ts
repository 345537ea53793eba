/**
 * The common shape of every anogen dataset.
 *
 * A dataset is a set of named *sources* (its own splits as shipped: `train` and `test` for
 * IDX and MVTec folders, `normal`/`abnormal` for the two-folder form), each an ordered list
 * of items with a class id. Pixels are never copied into split objects: protocols
 * (protocols.ts) select items by (source, index) and the loader (loader.ts) decodes them.
 */
import type { RawImage } from './image.js';

/** The dataset kinds. `idx`: arrays already in memory; `folder`: image files decoded lazily. */
export type DatasetKind = 'idx' | 'folder';

/** One item's decoded pixels and its pixel mask (null when it has none). */
export interface LoadedItem {
  image: RawImage;
  mask: RawImage | null;
}

/** A dataset: classes, sources, per-item class ids, and a way to decode one item. */
export interface Dataset {
  /** Short name ('mnist', or the folder's base name). */
  readonly name: string;
  readonly kind: DatasetKind;
  /** Directory it was read from (null when not from disk). */
  readonly root: string | null;
  /** Class names; item class ids index into this. */
  readonly classes: readonly string[];
  /** Source names (the dataset's own splits), e.g. ['train', 'test']. */
  readonly sources: readonly string[];
  /**
   * The class that is normal in the dataset's own ground truth ('good' for MVTec folders,
   * 'normal' for the two-folder form); null for class-labelled data such as MNIST, where a
   * protocol decides which class is normal.
   */
  readonly normalClass: string | null;
  /** True when some items have pixel masks. */
  readonly hasMasks: boolean;
  /** Number of items of a source. */
  count(source: string): number;
  /** Class ids of a source's items (do not modify). */
  classIds(source: string): Uint16Array;
  /** A human-readable name of one item: its file path, or `<file>[i]` for arrays. */
  itemName(source: string, i: number): string;
  /** Decodes one item. */
  loadItem(source: string, i: number): Promise<LoadedItem>;
}

/** Index of `source` in `ds.sources`, or an AnogenError-worthy -1. */
export function sourceIndex(ds: Dataset, source: string): number {
  return ds.sources.indexOf(source);
}
