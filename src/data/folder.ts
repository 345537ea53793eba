/**
 * Image-folder datasets.
 *
 * MVTec AD / anomalib layout ({@link openFolder}):
 *
 *     <root>/train/good/*.png              normal training images
 *     <root>/test/good/*.png               normal test images
 *     <root>/test/<defect>/*.png           anomalous test images, one folder per defect type
 *     <root>/ground_truth/<defect>/<name>_mask.png   optional pixel masks (or <name>.png)
 *
 * Two-folder form ({@link openNormalAbnormal}): a folder of normal images and a folder of
 * abnormal ones (optionally a separate folder of normal test images), as anomalib's Folder.
 *
 * Items are listed eagerly (sorted by file name) and decoded lazily through a bounded LRU
 * cache, so a folder larger than memory streams. Files with other extensions (README,
 * labels.csv...) are ignored. Symlinked images and folders are followed, as reading one file
 * does; a broken symlink, a symlink loop, or a FIFO/socket/device named like an image is an
 * AnogenError naming it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError } from '../core/errors.js';
import { ImageCache, isImageFile, IMAGE_EXTENSIONS, requireRegularFile, type RawImage } from './image.js';
import type { Dataset, LoadedItem } from './dataset.js';

/** Options of {@link openFolder} and {@link openNormalAbnormal}. */
export interface FolderOptions {
  /** Include `test/uncertain` (ELPV's cells of defect probability 1/3) as an anomalous class (default false: left out). */
  includeUncertain?: boolean;
  /** Further class folders to leave out (default none). */
  exclude?: string[];
  /**
   * Skip images that fail to decode instead of throwing (default false). Skipped files are
   * listed in `dataset.badFiles`; the loader leaves them out of their batch.
   */
  skipBad?: boolean;
  /** Bound of the decoded-image cache in bytes (default 256 MiB; 0 disables caching). */
  cacheBytes?: number;
  /** Dataset name (default: the root folder's base name). */
  name?: string;
}

interface Item {
  file: string;
  classId: number;
  mask: string | null;
}

/** What a directory entry is once symlinks are followed: 'file', 'dir' or 'other'. */
type EntryKind = 'file' | 'dir' | 'other';

/**
 * The kind of `dir/e`, following symlinks the same way reading a file does (a symlinked file
 * is a file, a symlinked folder a folder). A symlink loop or a dangling symlink is an
 * AnogenError naming the path, never a silently skipped entry.
 */
function entryKind(dir: string, e: fs.Dirent): EntryKind {
  let st: fs.Stats | fs.Dirent = e;
  if (e.isSymbolicLink()) {
    const p = path.join(dir, e.name);
    try {
      st = fs.statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new AnogenError(`${p}: symlink loop (ELOOP): the link resolves to itself; expected a link to an image file or folder`);
      if (code === 'ENOENT') {
        let target = '?';
        try {
          target = fs.readlinkSync(p);
        } catch {
          // keep '?'
        }
        throw new AnogenError(`${p}: broken symlink: its target ${target} does not exist; remove the link or restore its target`);
      }
      throw new AnogenError(`${p}: cannot follow symlink: ${(err as Error).message}`);
    }
  }
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
}

/**
 * Image files of `dir` (names sorted), symlinks followed. An entry with an image extension
 * that is not a regular file (FIFO, socket, device: reading it would block) is an AnogenError.
 */
function listImages(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!isImageFile(e.name)) continue;
    const kind = entryKind(dir, e);
    if (kind === 'file') out.push(e.name);
    else if (kind === 'other') {
      requireRegularFile(path.join(dir, e.name), fs.statSync(path.join(dir, e.name)));
    }
  }
  return out.sort();
}

/**
 * True when `p` is a folder (symlinks followed), false when nothing is there; a symlink loop
 * on the way is an AnogenError naming `p` instead of a misleading "does not exist".
 */
function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new AnogenError(`${p}: symlink loop (ELOOP): the link resolves to itself; expected a folder`);
    return false;
  }
}

/** Sub-folders of `dir` (names sorted), symlinked folders included. */
function subdirs(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && entryKind(dir, e) === 'dir')
    .map((e) => e.name)
    .sort();
}

function requireImages(dir: string): string[] {
  const files = listImages(dir);
  if (files.length === 0) {
    throw new AnogenError(`${dir}: empty folder: no images found; expected files ending in ${IMAGE_EXTENSIONS.join(', ')}`);
  }
  return files.map((f) => path.join(dir, f));
}

/** A dataset of image files decoded lazily (see the module comment). */
export class FolderDataset implements Dataset {
  readonly kind = 'folder' as const;
  /** Decoded-image cache (images and masks). */
  readonly cache: ImageCache;
  /** Files that failed to decode and were skipped (only with skipBad). */
  readonly badFiles = new Set<string>();
  readonly hasMasks: boolean;
  private readonly ids: Record<string, Uint16Array> = {};

  constructor(
    readonly name: string,
    readonly root: string | null,
    readonly classes: readonly string[],
    readonly normalClass: string,
    private readonly items: Record<string, Item[]>,
    readonly skipBad: boolean,
    cacheBytes: number,
    /** Class folders that were left out (e.g. 'uncertain'). */
    readonly excluded: readonly string[] = [],
  ) {
    this.cache = new ImageCache(cacheBytes);
    for (const [s, list] of Object.entries(items)) this.ids[s] = Uint16Array.from(list, (it) => it.classId);
    this.hasMasks = Object.values(items).some((l) => l.some((it) => it.mask !== null));
  }

  get sources(): readonly string[] {
    return Object.keys(this.items);
  }

  private list(source: string): Item[] {
    const l = this.items[source];
    if (!l) throw new AnogenError(`dataset '${this.name}': unknown source '${source}'; expected one of ${this.sources.join(', ')}`);
    return l;
  }

  count(source: string): number {
    return this.list(source).length;
  }

  classIds(source: string): Uint16Array {
    this.list(source);
    return this.ids[source];
  }

  itemName(source: string, i: number): string {
    return this.list(source)[i].file;
  }

  /** Mask file of an item, or null. */
  maskFile(source: string, i: number): string | null {
    return this.list(source)[i].mask;
  }

  async loadItem(source: string, i: number): Promise<LoadedItem> {
    const it = this.list(source)[i];
    if (!it) throw new AnogenError(`dataset '${this.name}': no item ${source}[${i}]`);
    const image = await this.cache.get(it.file);
    let mask: RawImage | null = null;
    if (it.mask) {
      mask = await this.cache.get(it.mask);
      if (mask.width !== image.width || mask.height !== image.height) {
        throw new AnogenError(`${it.mask}: mask is ${mask.width}x${mask.height} but its image ${it.file} is ${image.width}x${image.height}; expected the same size`);
      }
    }
    return { image, mask };
  }
}

function excludedSet(opts: FolderOptions): Set<string> {
  const ex = new Set(opts.exclude ?? []);
  if (!opts.includeUncertain) ex.add('uncertain');
  return ex;
}

/** True when `dir` looks like the MVTec layout (has train/good). */
export function isMvtecFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'train', 'good'));
}

/**
 * Opens a folder in the MVTec AD / anomalib layout. Sources: `train` (train/<class>, normally
 * only good) and `test` (test/<class>). Classes: 'good' first, then the other folder names
 * sorted. Throws AnogenError for a missing root or train/good, an empty class folder, or a
 * mask whose image does not exist.
 */
export function openFolder(root: string, opts: FolderOptions = {}): FolderDataset {
  if (!isDir(root)) {
    throw new AnogenError(`${root}: folder does not exist; expected a dataset folder with train/good and test/<class>`);
  }
  const trainDir = path.join(root, 'train');
  const testDir = path.join(root, 'test');
  if (!fs.existsSync(path.join(trainDir, 'good'))) {
    throw new AnogenError(`${root}: no train/good folder; expected the MVTec layout <root>/train/good, <root>/test/good, <root>/test/<defect>`);
  }
  const ex = excludedSet(opts);
  const trainClasses = subdirs(trainDir).filter((c) => !ex.has(c));
  // Training needs normals only: without test/ the test split is empty, and evaluation (not
  // training) asks for labelled test data when it runs.
  const testClasses = fs.existsSync(testDir) ? subdirs(testDir).filter((c) => !ex.has(c)) : [];
  const others = [...new Set([...trainClasses, ...testClasses])].filter((c) => c !== 'good').sort();
  const classes = ['good', ...others];
  const cid = (c: string) => classes.indexOf(c);
  const items: Record<string, Item[]> = { train: [], test: [] };
  for (const c of trainClasses) for (const f of requireImages(path.join(trainDir, c))) items.train.push({ file: f, classId: cid(c), mask: null });
  // Masks: ground_truth/<defect>/<stem>_mask.<ext> or <stem>.<ext>.
  const gtDir = path.join(root, 'ground_truth');
  for (const c of testClasses) {
    const files = requireImages(path.join(testDir, c));
    const byStem = new Map(files.map((f) => [path.parse(f).name, f]));
    const masks = new Map<string, string>();
    const gt = path.join(gtDir, c);
    if (fs.existsSync(gt)) {
      for (const m of listImages(gt)) {
        const stem = path.parse(m).name.replace(/_mask$/, '');
        if (!byStem.has(stem)) {
          throw new AnogenError(`${path.join(gt, m)}: mask without its image; expected ${path.join(testDir, c, stem)}.<png|jpg|...> to exist`);
        }
        masks.set(byStem.get(stem)!, path.join(gt, m));
      }
    }
    for (const f of files) items.test.push({ file: f, classId: cid(c), mask: masks.get(f) ?? null });
  }
  if (fs.existsSync(gtDir)) {
    for (const c of subdirs(gtDir)) {
      if (!ex.has(c) && !testClasses.includes(c) && listImages(path.join(gtDir, c)).length > 0) {
        throw new AnogenError(`${path.join(gtDir, c)}: masks without images; expected a folder ${path.join(testDir, c)}`);
      }
    }
  }
  const excluded = [...ex].filter((c) => fs.existsSync(path.join(testDir, c)) || fs.existsSync(path.join(trainDir, c)));
  return new FolderDataset(
    opts.name ?? path.basename(path.resolve(root)),
    path.resolve(root),
    classes,
    'good',
    items,
    opts.skipBad ?? false,
    opts.cacheBytes ?? 256 * 1024 * 1024,
    excluded,
  );
}

/** Folders of the two-folder form. */
export interface NormalAbnormalFolders {
  /** Folder of normal images (training normals, and test normals unless normalTest is given). */
  normal: string;
  /** Folder of anomalous images (test only). */
  abnormal: string;
  /** Optional folder of normal test images; without it the `folder` protocol splits `normal`. */
  normalTest?: string;
}

/**
 * Opens the two-folder form. Sources: `normal`, `abnormal` and (when given) `normalTest`;
 * classes 'normal' and 'abnormal'. Sub-folders are not searched.
 */
export function openNormalAbnormal(dirs: NormalAbnormalFolders, opts: FolderOptions = {}): FolderDataset {
  const items: Record<string, Item[]> = {};
  const add = (source: string, dir: string, classId: number) => {
    if (!isDir(dir)) throw new AnogenError(`${dir}: ${source} folder does not exist`);
    items[source] = requireImages(dir).map((file) => ({ file, classId, mask: null }));
  };
  add('normal', dirs.normal, 0);
  add('abnormal', dirs.abnormal, 1);
  if (dirs.normalTest) add('normalTest', dirs.normalTest, 0);
  return new FolderDataset(
    opts.name ?? path.basename(path.resolve(dirs.normal)),
    path.resolve(path.dirname(path.resolve(dirs.normal))),
    ['normal', 'abnormal'],
    'normal',
    items,
    opts.skipBad ?? false,
    opts.cacheBytes ?? 256 * 1024 * 1024,
  );
}

/**
 * Opens the two-folder layout `<dir>/good/` (normal images) plus one folder per anomaly type
 * (`<dir>/<defect>/`), for the `folder` protocol: sources `normal` (good/, split into train and
 * test normals) and `abnormal` (every other folder, all in test). Classes: 'good' first, then
 * the anomaly folders in name order.
 */
export function openGoodDefectFolder(dir: string, opts: FolderOptions = {}): FolderDataset {
  if (!isDir(dir)) throw new AnogenError(`${dir}: folder does not exist`);
  const ex = excludedSet(opts);
  const subs = subdirs(dir).filter((c) => !ex.has(c));
  if (!subs.includes('good')) throw new AnogenError(`${dir}: expected good/ (normal images) and one folder per anomaly type; found ${subs.join(', ') || 'no sub-folders'}`);
  const classes = ['good', ...subs.filter((c) => c !== 'good')];
  const normal = requireImages(path.join(dir, 'good')).map((file) => ({ file, classId: 0, mask: null }));
  const abnormal = classes.slice(1).flatMap((c, k) => requireImages(path.join(dir, c)).map((file) => ({ file, classId: k + 1, mask: null })));
  return new FolderDataset(
    opts.name ?? path.basename(path.resolve(dir)),
    path.resolve(dir),
    classes,
    'good',
    { normal, abnormal },
    opts.skipBad ?? false,
    opts.cacheBytes ?? 256 * 1024 * 1024,
  );
}

/**
 * Opens a flat folder of normal images (no sub-folders needed): every image is for training
 * (and validation); the test split is empty, so such a folder trains but does not evaluate.
 */
export function openNormalFolder(dir: string, opts: FolderOptions = {}): FolderDataset {
  if (!isDir(dir)) throw new AnogenError(`${dir}: folder does not exist`);
  const train = requireImages(dir).map((file) => ({ file, classId: 0, mask: null }));
  return new FolderDataset(
    opts.name ?? path.basename(path.resolve(dir)),
    path.resolve(dir),
    ['good'],
    'good',
    { train, test: [] },
    opts.skipBad ?? false,
    opts.cacheBytes ?? 256 * 1024 * 1024,
  );
}

/** True when `dir` holds image files directly (a flat folder of images). */
export function hasImages(dir: string): boolean {
  return isDir(dir) && listImages(dir).length > 0;
}

/** True when `dir` has a good/ sub-folder (the two-folder layout). */
export function isGoodDefectFolder(dir: string): boolean {
  return isDir(path.join(dir, 'good'));
}

/**
 * Opens a labelled folder: `<dir>/good/` (normal images) and one sub-folder per anomaly type,
 * all in one source `validation` (the form a user gives as a labelled validation set). Classes:
 * 'good' first, then the other sub-folders in name order. Sub-sub-folders are not searched.
 */
export function openLabelledFolder(dir: string, opts: FolderOptions = {}): FolderDataset {
  if (!isDir(dir)) throw new AnogenError(`${dir}: folder does not exist`);
  const subs = subdirs(dir);
  if (!subs.includes('good')) {
    throw new AnogenError(`${dir}: a labelled folder needs good/ (normal images) and one folder per anomaly type; found ${subs.length ? subs.join(', ') : 'no sub-folders'}`);
  }
  const classes = ['good', ...subs.filter((c) => c !== 'good')];
  const validation = classes.flatMap((c, classId) => requireImages(path.join(dir, c)).map((file) => ({ file, classId, mask: null })));
  return new FolderDataset(
    opts.name ?? path.basename(path.resolve(dir)),
    path.resolve(dir),
    classes,
    'good',
    { validation },
    opts.skipBad ?? false,
    opts.cacheBytes ?? 64 * 1024 * 1024,
  );
}
