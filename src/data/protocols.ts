/**
 * One-class protocols: which items are normal, which anomalous, and which split each goes to.
 *
 * - `one-vs-rest` (Deep SVDD, GEOM, OCGAN): `normalClass` is normal. Train on its images of
 *   the `train` source; test on the whole `test` source, every other class anomalous.
 * - `leave-one-out` (GANomaly, EGBAD): `anomalyClass` is anomalous, all other classes normal.
 *   The normals of `train` and `test` are pooled and split (1 - testFraction) / testFraction
 *   (default 80/20) with the seed; test = those held-out normals + every anomalous item of
 *   both sources.
 * - `folder` (image folders): MVTec layout: train/good -> train, test/* -> test, labelled by
 *   the dataset's own ground truth (good = 0). Two-folder form: `normal` split 80/20 with the
 *   seed (or `normalTest` used as test normals when given), plus all of `abnormal` in test.
 *
 * In every protocol a validation split of `valFraction` (default 0.1) of the training normals
 * is carved out with the seed, for normalisation statistics and thresholds; or the user gives
 * a labelled validation split (see {@link labelledSplit}), and then training keeps all its
 * normals. The test split is never used for fitting or selection.
 *
 * A split is an index (dataset source + item index + label + class id per item), never a
 * copy of the pixels.
 */
import { AnogenError, checkOneOf, validList } from '../core/errors.js';
import type { Dataset } from './dataset.js';
import { mixSeed, permutation } from './random.js';

/** Protocol names. */
export const PROTOCOLS = ['one-vs-rest', 'leave-one-out', 'folder'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

/** Roles of the splits a protocol produces. */
export type SplitRole = 'train' | 'validation' | 'test';

/** Label values: 0 normal, 1 anomalous. */
export const NORMAL = 0;
export const ANOMALOUS = 1;

/** A split: parallel arrays, one entry per item. */
export class Split {
  constructor(
    readonly role: SplitRole,
    readonly dataset: Dataset,
    /** Index into dataset.sources, per item. */
    readonly source: Uint8Array,
    /** Item index within its source, per item. */
    readonly index: Int32Array,
    /** 0 normal, 1 anomalous, per item. */
    readonly label: Uint8Array,
    /** Index into dataset.classes, per item. */
    readonly classId: Uint16Array,
  ) {}

  get length(): number {
    return this.index.length;
  }

  /** Source name of item `i`. */
  sourceName(i: number): string {
    return this.dataset.sources[this.source[i]];
  }

  /** `<source>/<index>`: a key that identifies an item within its dataset. */
  key(i: number): string {
    return `${this.sourceName(i)}/${this.index[i]}`;
  }

  /** File (or array element) name of item `i`. */
  itemName(i: number): string {
    return this.dataset.itemName(this.sourceName(i), this.index[i]);
  }

  /** Number of normal (label 0) and anomalous (label 1) items. */
  get counts(): { normal: number; anomalous: number } {
    let a = 0;
    for (const l of this.label) a += l;
    return { normal: this.length - a, anomalous: a };
  }

  /** Items per class name. */
  classCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.classId) {
      const n = this.dataset.classes[c];
      out[n] = (out[n] ?? 0) + 1;
    }
    return out;
  }

  /** A new split holding the items at `positions` (in that order). */
  subset(positions: ArrayLike<number>, role: SplitRole = this.role): Split {
    const p = Array.from(positions);
    return new Split(
      role,
      this.dataset,
      Uint8Array.from(p, (i) => this.source[i]),
      Int32Array.from(p, (i) => this.index[i]),
      Uint8Array.from(p, (i) => this.label[i]),
      Uint16Array.from(p, (i) => this.classId[i]),
    );
  }

  /** JSON summary (no item list): role, dataset, counts. */
  toJSON(): object {
    return { role: this.role, dataset: this.dataset.name, size: this.length, ...this.counts, classes: this.classCounts() };
  }
}

/** Builds a split from a list of [sourceIndex, itemIndex, label] entries of a dataset. */
function buildSplit(role: SplitRole, ds: Dataset, entries: [number, number, number][]): Split {
  const n = entries.length;
  const s = new Uint8Array(n);
  const idx = new Int32Array(n);
  const lab = new Uint8Array(n);
  const cls = new Uint16Array(n);
  entries.forEach(([si, ii, l], k) => {
    s[k] = si;
    idx[k] = ii;
    lab[k] = l;
    cls[k] = ds.classIds(ds.sources[si])[ii];
  });
  return new Split(role, ds, s, idx, lab, cls);
}

/** Options of {@link makeSplits}. */
export interface ProtocolOptions {
  /** Protocol name (default 'folder' for folder datasets; required for IDX datasets). */
  protocol?: ProtocolName;
  /** one-vs-rest: the normal class, by name or index. */
  normalClass?: string | number;
  /** leave-one-out: the anomalous class, by name or index. */
  anomalyClass?: string | number;
  /** Seed of every random choice (default 0). */
  seed?: number;
  /** Fraction of training normals moved to validation (default 0.1; 0 gives an empty validation split). */
  valFraction?: number;
  /** leave-one-out and two-folder form: fraction of normals held out for test (default 0.2). */
  testFraction?: number;
  /** A labelled validation split given by the user (then no validation is carved from train). */
  validation?: Split;
}

/** The resolved protocol, as stored in model bundles. */
export interface ProtocolRecord {
  protocol: ProtocolName;
  dataset: string;
  normalClass?: string;
  anomalyClass?: string;
  seed: number;
  valFraction: number;
  testFraction?: number;
  userValidation: boolean;
  excluded?: string[];
  counts: { train: number; validation: number; test: number; testAnomalous: number };
}

/** The three splits of a protocol and its record. */
export interface Splits {
  train: Split;
  validation: Split;
  test: Split;
  record: ProtocolRecord;
}

function resolveClass(ds: Dataset, what: string, c: string | number | undefined, protocol: string): number {
  if (c === undefined) {
    throw new AnogenError(`protocol '${protocol}' needs ${what}; expected one of ${validList(ds.classes as string[])}`);
  }
  if (typeof c === 'number') {
    if (Number.isInteger(c) && c >= 0 && c < ds.classes.length) return c;
    throw new AnogenError(`${what}: ${c} is not a class index of '${ds.name}'; expected 0..${ds.classes.length - 1}`);
  }
  const i = ds.classes.indexOf(c);
  if (i >= 0) return i;
  // Also accept a class index written as a string ('3' on the command line).
  if (/^\d+$/.test(c) && Number(c) < ds.classes.length) return Number(c);
  throw new AnogenError(`${what}: '${c}' is not a class of '${ds.name}'; expected ${validList(ds.classes as string[])}`);
}

function checkFraction(what: string, v: number, maxExclusive = 1): number {
  if (typeof v !== 'number' || !(v >= 0 && v < maxExclusive)) {
    throw new AnogenError(`${what}: ${v} is not valid; expected a number in [0, ${maxExclusive})`);
  }
  return v;
}

/** Splits `entries` by a seeded permutation: the first round(frac*n) go to `held`, the rest to `kept`; both sorted. */
function seededSplit<T>(entries: T[], frac: number, seed: number): { kept: T[]; held: T[] } {
  const perm = permutation(entries.length, seed);
  const h = Math.round(frac * entries.length);
  const heldIdx = Array.from(perm.subarray(0, h)).sort((a, b) => a - b);
  const keptIdx = Array.from(perm.subarray(h)).sort((a, b) => a - b);
  return { held: heldIdx.map((i) => entries[i]), kept: keptIdx.map((i) => entries[i]) };
}

/**
 * Builds train/validation/test splits of `dataset` under a protocol (see the module comment).
 * The same dataset, options and seed always give the same splits.
 */
export function makeSplits(dataset: Dataset, opts: ProtocolOptions = {}): Splits {
  if (opts.protocol === undefined && dataset.kind !== 'folder') {
    throw new AnogenError(`dataset '${dataset.name}' is class-labelled: give a protocol, 'one-vs-rest' (with normalClass) or 'leave-one-out' (with anomalyClass)`);
  }
  const protocol = checkOneOf('protocol', opts.protocol ?? 'folder', PROTOCOLS) as ProtocolName;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new AnogenError(`seed: ${seed} is not valid; expected an integer`);
  const valFraction = checkFraction('valFraction', opts.valFraction ?? 0.1);
  const testFraction = checkFraction('testFraction', opts.testFraction ?? 0.2);
  const src = (name: string) => {
    const i = dataset.sources.indexOf(name);
    if (i < 0) {
      throw new AnogenError(`protocol '${protocol}': dataset '${dataset.name}' has no '${name}' source; it has ${validList(dataset.sources as string[])}`);
    }
    return i;
  };
  const all = (si: number) => Array.from(dataset.classIds(dataset.sources[si]), (c, i) => [si, i, c] as [number, number, number]);
  type E = [number, number, number]; // source, index, label
  let trainPool: E[] = [];
  let test: E[] = [];
  const record: Partial<ProtocolRecord> = {};
  if (protocol === 'one-vs-rest') {
    const nc = resolveClass(dataset, 'normalClass', opts.normalClass, protocol);
    record.normalClass = dataset.classes[nc];
    const tr = src('train');
    const te = src('test');
    trainPool = all(tr)
      .filter((e) => e[2] === nc)
      .map(([s, i]) => [s, i, 0] as E);
    test = all(te).map(([s, i, c]) => [s, i, c === nc ? 0 : 1] as E);
    if (trainPool.length === 0) throw new AnogenError(`one-vs-rest: class '${record.normalClass}' has no training images in '${dataset.name}'`);
  } else if (protocol === 'leave-one-out') {
    const ac = resolveClass(dataset, 'anomalyClass', opts.anomalyClass, protocol);
    record.anomalyClass = dataset.classes[ac];
    record.testFraction = testFraction;
    const pooled = [...all(src('train')), ...all(src('test'))];
    const normals = pooled.filter((e) => e[2] !== ac).map(([s, i]) => [s, i, 0] as E);
    const anomalous = pooled.filter((e) => e[2] === ac).map(([s, i]) => [s, i, 1] as E);
    const { kept, held } = seededSplit(normals, testFraction, mixSeed(seed, 2));
    trainPool = kept;
    test = [...held, ...anomalous].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  } else {
    if (dataset.kind !== 'folder' || dataset.normalClass === null) {
      throw new AnogenError(`protocol 'folder' needs an image-folder dataset; '${dataset.name}' is ${dataset.kind}: use 'one-vs-rest' or 'leave-one-out'`);
    }
    const nc = dataset.classes.indexOf(dataset.normalClass);
    const lab = (c: number) => (c === nc ? 0 : 1);
    if (dataset.sources.includes('train')) {
      trainPool = all(src('train'))
        .filter((e) => e[2] === nc)
        .map(([s, i]) => [s, i, 0] as E);
      test = all(src('test')).map(([s, i, c]) => [s, i, lab(c)] as E);
    } else {
      const normals = all(src('normal')).map(([s, i]) => [s, i, 0] as E);
      const abn = all(src('abnormal')).map(([s, i]) => [s, i, 1] as E);
      if (dataset.sources.includes('normalTest')) {
        trainPool = normals;
        test = [...all(src('normalTest')).map(([s, i]) => [s, i, 0] as E), ...abn];
      } else {
        record.testFraction = testFraction;
        const { kept, held } = seededSplit(normals, testFraction, mixSeed(seed, 2));
        trainPool = kept;
        test = [...held, ...abn];
      }
    }
  }
  let train = trainPool;
  let validation: Split;
  if (opts.validation) {
    validation = opts.validation;
    if (validation.dataset === dataset) {
      const testKeys = new Set(test.map(([s, i]) => `${s}/${i}`));
      for (let k = 0; k < validation.length; k++) {
        if (testKeys.has(`${validation.source[k]}/${validation.index[k]}`)) {
          throw new AnogenError(`validation: item ${validation.itemName(k)} is also in the test split; a validation set must not overlap the test split`);
        }
      }
    }
  } else {
    const { kept, held } = seededSplit(trainPool, valFraction, mixSeed(seed, 1));
    if (kept.length === 0) throw new AnogenError(`valFraction ${valFraction} leaves no training images (${trainPool.length} normals)`);
    train = kept;
    validation = buildSplit('validation', dataset, held);
  }
  const trainSplit = buildSplit('train', dataset, train);
  const testSplit = buildSplit('test', dataset, test);
  const excluded = (dataset as { excluded?: readonly string[] }).excluded;
  return {
    train: trainSplit,
    validation,
    test: testSplit,
    record: {
      protocol,
      dataset: dataset.name,
      ...record,
      seed,
      valFraction: opts.validation ? 0 : valFraction,
      userValidation: !!opts.validation,
      ...(excluded && excluded.length ? { excluded: [...excluded] } : {}),
      counts: { train: trainSplit.length, validation: validation.length, test: testSplit.length, testAnomalous: testSplit.counts.anomalous },
    },
  };
}

/**
 * Every item of a dataset as one labelled split (default role 'validation'): for a validation
 * set given by the user, e.g. a second MVTec-layout folder. Labels follow the dataset's own
 * ground truth (its normalClass is 0); for class-labelled data pass `normalClass`.
 */
export function labelledSplit(dataset: Dataset, opts: { normalClass?: string | number; role?: SplitRole; sources?: string[] } = {}): Split {
  const nc =
    opts.normalClass !== undefined
      ? resolveClass(dataset, 'normalClass', opts.normalClass, 'labelledSplit')
      : dataset.normalClass !== null
        ? dataset.classes.indexOf(dataset.normalClass)
        : resolveClass(dataset, 'normalClass', undefined, 'labelledSplit');
  const entries: [number, number, number][] = [];
  for (const name of opts.sources ?? dataset.sources) {
    const si = dataset.sources.indexOf(name);
    if (si < 0) throw new AnogenError(`labelledSplit: no source '${name}' in '${dataset.name}'; expected ${validList(dataset.sources as string[])}`);
    dataset.classIds(name).forEach((c, i) => entries.push([si, i, c === nc ? 0 : 1]));
  }
  return buildSplit(opts.role ?? 'validation', dataset, entries);
}

/** Every item of one source as a split with label 0 (e.g. MNIST's 60,000 training images). */
export function sourceSplit(dataset: Dataset, source: string, role: SplitRole = 'train'): Split {
  const si = dataset.sources.indexOf(source);
  if (si < 0) throw new AnogenError(`no source '${source}' in '${dataset.name}'; expected ${validList(dataset.sources as string[])}`);
  return buildSplit(
    role,
    dataset,
    Array.from({ length: dataset.count(source) }, (_, i) => [si, i, 0] as [number, number, number]),
  );
}
