/**
 * Model bundles: a folder holding
 * - `model.safetensors`: every weight and buffer under PyTorch's dotted names;
 * - `config.json`: the detector and its hyperparameters, the data transform chain (src/data's
 *   serialisable TransformConfig[], under `transforms`), the normalisation statistics and
 *   threshold (fitted on validation data), the data protocol, the training options, the
 *   anogen version, and the SHA-256 of the weights file and of every extra file;
 * - optional extra files saved with the model (e.g. `train-state.safetensors` and
 *   `train-state.json` for resuming training), read back with {@link readBundleFile}.
 * Loading rebuilds exactly the same pre- and post-processing (the chain is compiled with
 * src/data's fromConfig), so scores are identical: `preprocessFile(file, bundle.transforms)`
 * then `detector.score(x)` is what `anogen score` does.
 *
 * Atomicity: a save replaces the whole bundle at once. The files of the new version are
 * staged under temporary names, then one small journal naming them is written by rename (the
 * commit point), then they are renamed over the old ones, config.json last (src/util/
 * bundle-dir.ts). A folder cannot be swapped atomically by rename(2) while it holds files
 * (and it also holds the lock and files that are not the bundle's), so the swap is per file
 * and the journal makes it all-or-nothing: readers resolve names through a pending journal,
 * and the next save rolls forward a journal a killed writer left behind. After `kill -9` at
 * any instant, {@link loadBundle} yields exactly the old bundle or exactly the new one.
 * The file names stay `model.safetensors` and `config.json`, so bundles of earlier versions
 * load unchanged and other tools find the weights where they always were.
 *
 * Safety: {@link saveBundle} refuses a non-empty folder that is not an anogen bundle (it never
 * overwrites or deletes a file anogen did not write) and replaces an existing bundle only with
 * `replace: true` (the CLI's --force). It holds the folder's lock (src/util/lock.ts,
 * `.anogen.lock`) while writing, so two writers cannot interleave, and removes the temp files
 * that killed writers left there.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, type Tensor } from '../core/index.js';
import type { Calibration, Detector } from './api.js';
import { parseCalibration } from '../eval/threshold.js';
import { createDetector, detectorNames } from './registry.js';
import { deserializeSafetensors, serializeSafetensors } from '../nn/safetensors.js';
import { ANOGEN_VERSION } from './version.js';
import { fromConfig, TransformChain, type TransformConfig } from '../data/transforms.js';
import { acquireLock, assertHolds, assertNotLocked, type HeldLock } from '../util/lock.js';
import { commitFiles, isAnogenEntry, isPlainName, readCurrentFile, readJournal, recoverCommit, removeStaleLitter } from '../util/bundle-dir.js';

/** Format tag of config.json. */
export const BUNDLE_FORMAT = 'anogen-bundle';
/** Current bundle format version (2: the preprocessing is src/data's transform chain, `transforms`). */
export const BUNDLE_FORMAT_VERSION = 2;
/** Oldest bundle format version this anogen loads. */
export const BUNDLE_MIN_FORMAT_VERSION = 2;
/** The bundle's manifest. */
const CONFIG_FILE = 'config.json';
/** The weights file of bundles written by saveBundle. */
const WEIGHTS_FILE = 'model.safetensors';
/**
 * Names an extra bundle file cannot have: the bundle's own files, and the `checkpoint`
 * subfolder the CLI keeps in a run's output folder.
 */
export const RESERVED_BUNDLE_FILES: readonly string[] = [CONFIG_FILE, WEIGHTS_FILE, 'checkpoint'];

/** Extra information stored in a bundle beside the model itself. */
export interface BundleMeta {
  /**
   * The data transform chain (src/data TransformConfig[] or a compiled chain), replayed when
   * scoring image files (default none: the bundle can then score tensors only).
   */
  transforms?: TransformConfig[] | TransformChain;
  /** Data source and protocol the model was trained with (dataset, protocol, classes, seed...). */
  protocol?: unknown;
  /** Training options (epochs, batch size, lr, seed, time...). */
  training?: unknown;
}

/** An extra file of a bundle, as listed in config.json's `files`. */
export interface BundleFileEntry {
  /** SHA-256 of the file (hex). */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
}

/** config.json of a bundle. */
export interface BundleConfig extends Omit<BundleMeta, 'transforms'> {
  /** The transform chain as JSON (absent when the bundle was saved without one). */
  transforms?: TransformConfig[];
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  anogenVersion: string;
  detector: string;
  hparams: Record<string, unknown>;
  calibration: Calibration | null;
  weights: { file: string; sha256: string; tensors: number };
  /** The extra files saved with this version (absent when there are none). */
  files?: Record<string, BundleFileEntry>;
  created: string;
}

/** Options of {@link saveBundle}. */
export interface SaveBundleOptions {
  /**
   * Replace the anogen bundle that `dir` already holds (default false: an AnogenError says
   * "pass --force to replace it"; the CLI maps --force to this). A folder that is not an
   * anogen bundle is refused either way.
   */
  replace?: boolean;
  /**
   * Extra files saved as part of the same atomic bundle version, by name (e.g.
   * `train-state.safetensors`, `train-state.json`); strings are written as UTF-8 (default
   * none). Names are plain file names of letters, digits, `.`, `_` and `-`, not starting with
   * `.`, not ending in `.tmp`, and not one of {@link RESERVED_BUNDLE_FILES}. Extra files of
   * the previous version that are not given again are removed. Read them back with
   * {@link readBundleFile}.
   */
  files?: Record<string, Uint8Array | string>;
  /**
   * The lock on `dir` that the caller already holds (from `acquireLock(dir, ...)`, e.g. for a
   * whole training run). Default none: saveBundle takes the lock itself for the duration of
   * the write, and fails at once when another process holds it.
   */
  lock?: HeldLock;
}

/** Options of {@link checkBundleTarget}. */
export interface BundleTargetOptions {
  /** An existing anogen bundle in the folder may be replaced (default false, see {@link SaveBundleOptions.replace}). */
  replace?: boolean;
  /** The lock on the folder that the caller holds (default none: any live holder is an error). */
  lock?: HeldLock;
}

const EXTRA_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Validates the name of an extra bundle file (AnogenError naming it and what is valid). */
function checkExtraName(name: string, where: string): void {
  if (typeof name !== 'string' || !EXTRA_NAME_RE.test(name)) {
    throw new AnogenError(
      `${where}: extra bundle file name ${JSON.stringify(name)} is not valid; expected a plain file name of letters, digits, '.', '_' and '-' (not starting with '.', at most 128 characters, no folders)`,
    );
  }
  if (/\.tmp$/i.test(name)) {
    throw new AnogenError(`${where}: extra bundle file name ${JSON.stringify(name)} is not valid; names ending in .tmp are reserved for anogen's temporary files`);
  }
  if (RESERVED_BUNDLE_FILES.includes(name)) {
    throw new AnogenError(`${where}: extra bundle file name ${JSON.stringify(name)} is reserved; the bundle's own names are ${RESERVED_BUNDLE_FILES.join(', ')}`);
  }
}

/** What a folder holds, as far as saving a bundle into it is concerned. */
type TargetState =
  | { kind: 'missing' }
  | { kind: 'not-folder' }
  /** Nothing but anogen's own lock and temp files. */
  | { kind: 'empty' }
  /** An anogen bundle (saving replaces it). */
  | { kind: 'bundle'; what: string; config: Partial<BundleConfig> | null }
  /** Only a `checkpoint/` bundle subfolder: a run's output folder before its final bundle. */
  | { kind: 'checkpoint-only' }
  /** Something else: never written into. */
  | { kind: 'foreign'; why: string };

function listEntries(dir: string, names: string[]): string {
  const shown = [...names]
    .sort()
    .slice(0, 4)
    .map((n) => {
      try {
        return fs.statSync(path.join(dir, n)).isDirectory() ? `${n}/` : n;
      } catch {
        return n;
      }
    });
  return names.length > shown.length ? `${shown.join(', ')} and ${names.length - shown.length} more` : shown.join(', ');
}

function inspectTarget(dir: string): TargetState {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    throw new AnogenError(`cannot read the folder ${dir}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) return { kind: 'not-folder' };
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => !isAnogenEntry(n));
  } catch (e) {
    throw new AnogenError(`cannot list the folder ${dir}: ${(e as Error).message}`);
  }
  if (readJournal(dir) !== null) return { kind: 'bundle', what: 'an anogen bundle (whose last save was interrupted)', config: null };
  if (names.includes(CONFIG_FILE)) {
    let c: Partial<BundleConfig> | null = null;
    try {
      c = JSON.parse(fs.readFileSync(path.join(dir, CONFIG_FILE), 'utf8')) as Partial<BundleConfig>;
    } catch {
      return { kind: 'foreign', why: `its ${CONFIG_FILE} is not an anogen bundle's (not valid JSON)` };
    }
    if (c === null || typeof c !== 'object' || c.format !== BUNDLE_FORMAT) {
      return { kind: 'foreign', why: `its ${CONFIG_FILE} is not an anogen bundle's (no "format": "${BUNDLE_FORMAT}")` };
    }
    const what = `an anogen bundle (${typeof c.detector === 'string' ? c.detector : 'unknown detector'}${typeof c.created === 'string' ? `, saved ${c.created}` : ''})`;
    return { kind: 'bundle', what, config: c };
  }
  if (names.length === 0) return { kind: 'empty' };
  if (names.length === 1 && names[0] === 'checkpoint') {
    const sub = inspectTarget(path.join(dir, 'checkpoint'));
    if (sub.kind === 'bundle' || sub.kind === 'empty') return { kind: 'checkpoint-only' };
  }
  return { kind: 'foreign', why: `it is not empty and is not an anogen bundle (it holds ${listEntries(dir, names)})` };
}

function foreignError(dir: string, why: string): AnogenError {
  return new AnogenError(`cannot save a model bundle into ${dir}: ${why}; anogen never overwrites or deletes files it did not write, so choose a new or empty folder`);
}

/** The nearest existing ancestor of a missing `dir` must be a writable folder. */
function assertCreatable(dir: string): void {
  let p = path.resolve(dir);
  while (!fs.existsSync(p) && path.dirname(p) !== p) p = path.dirname(p);
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    throw new AnogenError(`cannot create the folder ${dir}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) throw new AnogenError(`cannot create the folder ${dir}: ${p} is a file, not a folder`);
  assertWritable(dir, p, 'create the folder');
}

function assertWritable(dir: string, p: string, doing: string): void {
  try {
    fs.accessSync(p, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new AnogenError(`cannot ${doing} ${dir}: no permission to write in ${p}`);
  }
}

/**
 * The checks of {@link checkBundleTarget}; `save` is saveBundle's view, where a folder holding
 * only a `checkpoint/` bundle is fine (saving into it overwrites nothing there).
 */
function checkTarget(dir: string, replace: boolean, save: boolean): TargetState {
  const s = inspectTarget(dir);
  switch (s.kind) {
    case 'missing':
      assertCreatable(dir);
      return s;
    case 'not-folder':
      throw new AnogenError(`cannot save a model bundle into ${dir}: it is a file, not a folder; choose a folder`);
    case 'foreign':
      throw foreignError(dir, s.why);
    case 'bundle':
      if (!replace) throw new AnogenError(`${dir} already holds ${s.what}; pass --force to replace it`);
      break;
    case 'checkpoint-only':
      if (!replace && !save) {
        throw new AnogenError(`${dir} holds the checkpoint of an earlier, unfinished anogen run (${path.join(dir, 'checkpoint')}); pass --force to replace it`);
      }
      break;
    case 'empty':
      break;
  }
  assertWritable(dir, dir, 'save a model bundle into');
  return s;
}

/**
 * Checks, before any work, that a bundle can be saved into `dir` (the CLI calls it before
 * training): AnogenError when `dir` is a file, cannot be created, is a non-empty folder that
 * is not an anogen bundle (naming a few of its entries), holds an anogen bundle (or an
 * unfinished run's `checkpoint/`) and `opts.replace` is not true ("pass --force to replace
 * it"), or is locked by another live anogen process. Writes nothing.
 */
export function checkBundleTarget(dir: string, opts: BundleTargetOptions = {}): void {
  checkTarget(dir, opts.replace ?? false, false);
  if (fs.existsSync(dir)) assertNotLocked(dir, opts.lock);
}

function sha256(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** The files a config.json names (its weights and extra files), for removal when replaced. */
function versionFiles(c: Partial<BundleConfig> | null): string[] {
  if (c === null) return [];
  const out: string[] = [];
  const w = (c.weights as { file?: unknown } | undefined)?.file;
  if (typeof w === 'string' && isPlainName(w)) out.push(w);
  if (c.files !== null && typeof c.files === 'object') out.push(...Object.keys(c.files).filter((n) => isPlainName(n)));
  return out.filter((n) => n !== CONFIG_FILE && n !== 'checkpoint');
}

/**
 * Writes `detector` (+ meta and extra files) as a bundle into `dir` (created if needed), as
 * one atomic version: after a crash at any instant `dir` holds exactly the previous bundle or
 * exactly this one. Refuses (AnogenError, nothing written) a non-empty folder that is not an
 * anogen bundle, and an existing bundle unless `opts.replace` (default false). Takes
 * `dir`'s lock while writing unless `opts.lock` is given, finishes a save that a killed
 * writer left half done, removes the temp files killed writers left there, and after writing
 * removes the previous version's files that this one no longer names. Returns the config written.
 */
export function saveBundle(dir: string, detector: Detector, meta: BundleMeta = {}, opts: SaveBundleOptions = {}): BundleConfig {
  const replace = opts.replace ?? false;
  const { transforms, ...rest } = meta;
  // Validated before anything is written.
  const chain = transforms === undefined ? undefined : fromConfig(transforms instanceof TransformChain ? transforms.toJSON() : transforms).toJSON();
  const extras: { name: string; data: Uint8Array }[] = [];
  if (opts.files !== undefined) {
    if (opts.files === null || typeof opts.files !== 'object') throw new AnogenError(`saveBundle ${dir}: "files" must be an object of name -> Uint8Array or string`);
    for (const name of Object.keys(opts.files).sort()) {
      checkExtraName(name, `saveBundle ${dir}`);
      const v = opts.files[name];
      if (typeof v !== 'string' && !(v instanceof Uint8Array)) {
        throw new AnogenError(`saveBundle ${dir}: extra file ${name} must be a Uint8Array or a string, got ${v === null ? 'null' : typeof v}`);
      }
      extras.push({ name, data: typeof v === 'string' ? Buffer.from(v, 'utf8') : v });
    }
  }
  checkTarget(dir, replace, true);
  if (opts.lock !== undefined) assertHolds(opts.lock, dir);
  const sd = detector.stateDict();
  let bytes: Uint8Array;
  try {
    bytes = serializeSafetensors(sd, { anogen: ANOGEN_VERSION, detector: detector.name });
  } finally {
    for (const t of sd.values()) t.dispose(); // detached views: the detector's own weights stay
  }
  const config: BundleConfig = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    anogenVersion: ANOGEN_VERSION,
    detector: detector.name,
    hparams: detector.config() as Record<string, unknown>,
    calibration: detector.calibration,
    ...rest,
    ...(chain !== undefined ? { transforms: chain } : {}),
    weights: { file: WEIGHTS_FILE, sha256: sha256(bytes), tensors: sd.size },
    ...(extras.length > 0 ? { files: Object.fromEntries(extras.map((e) => [e.name, { sha256: sha256(e.data), bytes: e.data.length }])) } : {}),
    created: new Date().toISOString(),
  };
  const lock = opts.lock ?? acquireLock(dir, 'anogen (saving a model bundle)');
  try {
    recoverCommit(dir);
    removeStaleLitter(dir);
    // Looked at again under the lock: another writer may have saved here in between.
    const now = checkTarget(dir, replace, true);
    const files = [...extras, { name: WEIGHTS_FILE, data: bytes }, { name: CONFIG_FILE, data: Buffer.from(`${JSON.stringify(config, null, 2)}\n`) }];
    const keep = new Set(files.map((f) => f.name));
    const remove = now.kind === 'bundle' ? versionFiles(now.config).filter((n) => !keep.has(n)) : [];
    commitFiles(dir, files, remove);
  } finally {
    if (opts.lock === undefined) lock();
  }
  return config;
}

function parseSemver(v: string): [number, number, number] | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** -1, 0 or 1 as semver `a` (major.minor.patch, pre-release tags ignored) is older, equal or newer than `b`. */
function compareSemver(a: [number, number, number], b: [number, number, number]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/** Validates the text of config.json (`file` is its path, for messages). */
function parseBundleConfig(text: string, file: string, dir: string): BundleConfig {
  let c: BundleConfig;
  try {
    c = JSON.parse(text) as BundleConfig;
  } catch (e) {
    throw new AnogenError(`bundle ${file}: not valid JSON (${(e as Error).message})`);
  }
  if (c === null || typeof c !== 'object' || c.format !== BUNDLE_FORMAT) {
    throw new AnogenError(`bundle ${file}: "format" must be "${BUNDLE_FORMAT}"`);
  }
  if ('transform' in c && c.transforms === undefined) {
    throw new AnogenError(
      `bundle ${file}: written by an earlier anogen whose preprocessing ("transform") cannot be replayed exactly by this version; re-train it (anogen train ... --out ${dir})`,
    );
  }
  const bundleVersion = typeof c.anogenVersion === 'string' ? parseSemver(c.anogenVersion) : null;
  if (bundleVersion === null) {
    throw new AnogenError(`bundle ${file}: "anogenVersion" ${JSON.stringify(c.anogenVersion)} is not valid; expected a version like "${ANOGEN_VERSION}"`);
  }
  const ours = parseSemver(ANOGEN_VERSION);
  if (ours !== null && compareSemver(bundleVersion, ours) > 0) {
    throw new AnogenError(
      `bundle ${file}: written by anogen ${c.anogenVersion}, which is newer than this anogen ${ANOGEN_VERSION}; upgrade anogen to ${c.anogenVersion} or later to load it`,
    );
  }
  const fv = c.formatVersion;
  if (typeof fv !== 'number' || !Number.isInteger(fv) || fv < BUNDLE_MIN_FORMAT_VERSION) {
    throw new AnogenError(`bundle ${file}: "formatVersion" ${JSON.stringify(fv)} is not valid; expected an integer from ${BUNDLE_MIN_FORMAT_VERSION} to ${BUNDLE_FORMAT_VERSION}`);
  }
  if (fv > BUNDLE_FORMAT_VERSION) {
    throw new AnogenError(
      `bundle ${file}: format version ${fv} is not supported by anogen ${ANOGEN_VERSION} (it reads ${BUNDLE_MIN_FORMAT_VERSION} to ${BUNDLE_FORMAT_VERSION}); upgrade anogen`,
    );
  }
  if ((c as { kind?: unknown }).kind === 'generator') {
    throw new AnogenError(
      `bundle ${dir}: a generator bundle (${String((c as { generator?: unknown }).generator)}), not a detector: it samples images (anogen sample ${dir}) and has no anomaly score`,
    );
  }
  if (typeof c.detector !== 'string' || !detectorNames().includes(c.detector)) {
    throw new AnogenError(`bundle ${file}: unknown detector ${JSON.stringify(c.detector)}; expected one of ${detectorNames().join(', ')}`);
  }
  if (c.hparams === null || typeof c.hparams !== 'object') throw new AnogenError(`bundle ${file}: "hparams" must be an object`);
  if (c.weights === null || typeof c.weights !== 'object' || typeof c.weights.file !== 'string' || typeof c.weights.sha256 !== 'string') {
    throw new AnogenError(`bundle ${file}: "weights" must be { file, sha256 }`);
  }
  if (!isPlainName(c.weights.file) || c.weights.file === CONFIG_FILE) {
    throw new AnogenError(`bundle ${file}: "weights.file" ${JSON.stringify(c.weights.file)} must be the name of a file in the bundle folder, e.g. "${WEIGHTS_FILE}"`);
  }
  if (c.files !== undefined) {
    if (c.files === null || typeof c.files !== 'object' || Array.isArray(c.files)) throw new AnogenError(`bundle ${file}: "files" must be an object of name -> { sha256, bytes }`);
    for (const [name, e] of Object.entries(c.files)) {
      checkExtraName(name, `bundle ${file}`);
      if (e === null || typeof e !== 'object' || typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256) || !Number.isSafeInteger(e.bytes) || e.bytes < 0) {
        throw new AnogenError(`bundle ${file}: "files.${name}" must be { sha256: 64 hex digits, bytes: a non-negative integer }`);
      }
    }
  }
  if (c.transforms !== undefined) {
    try {
      fromConfig(c.transforms, 'transforms');
    } catch (e) {
      throw new AnogenError(`bundle ${file}: ${(e as Error).message}`);
    }
  }
  if (c.calibration !== null && c.calibration !== undefined) {
    try {
      c.calibration = parseCalibration(c.calibration, 'calibration');
    } catch (e) {
      throw new AnogenError(`bundle ${file}: ${(e as Error).message}`);
    }
  }
  return c;
}

/** File `name` of the bundle's current version (null when missing), reading errors as AnogenErrors. */
function readCurrent(dir: string, name: string): Buffer | null {
  try {
    return readCurrentFile(dir, name);
  } catch (e) {
    throw new AnogenError(`bundle ${dir}: cannot read ${name}: ${(e as Error).message}`);
  }
}

/** The text of the current config.json, or the AnogenError saying why there is none. */
function readConfigText(dir: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new AnogenError(`bundle ${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw new AnogenError(`bundle ${dir}: not a folder (a bundle is a folder holding ${CONFIG_FILE} and ${WEIGHTS_FILE})`);
  const b = readCurrent(dir, CONFIG_FILE);
  if (b === null) throw new AnogenError(`bundle ${dir}: missing ${CONFIG_FILE} (is this a model bundle written by anogen train?)`);
  return b.toString('utf8');
}

/** Reads and validates a bundle's config.json (AnogenError naming the file on any problem). */
export function readBundleConfig(dir: string): BundleConfig {
  return parseBundleConfig(readConfigText(dir), path.join(dir, CONFIG_FILE), dir);
}

/**
 * Reads the config and one file it names, checked against the config's SHA-256, both of the
 * same version: a save committed between the two reads is noticed (config.json changed)
 * and the pair is read again.
 */
function readVerified(dir: string, pick: (c: BundleConfig) => { name: string; sha256: string } | null): { config: BundleConfig; bytes: Buffer | null; file: string } {
  for (let attempt = 0; ; attempt++) {
    const text = readConfigText(dir);
    const config = parseBundleConfig(text, path.join(dir, CONFIG_FILE), dir);
    const want = pick(config);
    if (want === null) return { config, bytes: null, file: '' };
    const file = path.join(dir, want.name);
    const bytes = readCurrent(dir, want.name);
    const sha = bytes === null ? '' : sha256(bytes);
    if (sha === want.sha256) return { config, bytes, file };
    if (attempt < 3 && readConfigText(dir) !== text) continue; // a writer committed meanwhile
    if (bytes === null) throw new AnogenError(`bundle ${dir}: missing file ${want.name} (named by ${CONFIG_FILE})`);
    throw new AnogenError(
      `bundle ${file}: the ${want.name === config.weights.file ? 'weights file' : 'file'} is corrupt or was replaced (SHA-256 ${sha.slice(0, 12)}... differs from ${CONFIG_FILE}'s ${want.sha256.slice(0, 12)}...)`,
    );
  }
}

/**
 * Reads extra file `name` saved with the bundle in `dir` (see {@link SaveBundleOptions.files}),
 * checked against the SHA-256 in config.json: null when the bundle has no file of that name.
 * AnogenError for an invalid or reserved name, a corrupt file, or a folder that is not a bundle.
 */
export function readBundleFile(dir: string, name: string): Uint8Array | null {
  checkExtraName(name, `readBundleFile ${dir}`);
  const r = readVerified(dir, (c) => {
    const e = c.files !== undefined && Object.hasOwn(c.files, name) ? c.files[name] : undefined;
    return e === undefined ? null : { name, sha256: e.sha256 };
  });
  return r.bytes === null ? null : new Uint8Array(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
}

/** A loaded bundle. */
export interface LoadedBundle {
  /** The detector with its weights and calibration (the caller disposes it). */
  detector: Detector;
  config: BundleConfig;
  /** The compiled preprocessing chain (null when the bundle was saved without one). */
  transforms: TransformChain | null;
}

/**
 * The bundle's transform chain, or an AnogenError saying the bundle cannot score image files
 * (it was saved without `transforms`).
 */
export function requireTransforms(b: LoadedBundle, dir: string): TransformChain {
  if (b.transforms === null) {
    throw new AnogenError(
      `bundle ${dir}: config.json has no "transforms" (preprocessing chain), so it cannot score image files; save it with saveBundle(dir, detector, { transforms })`,
    );
  }
  return b.transforms;
}

/** Loads a bundle: the detector with its weights and calibration, the config, and the compiled transform chain. */
export function loadBundle(dir: string): LoadedBundle {
  const { config, bytes, file: wfile } = readVerified(dir, (c) => ({ name: c.weights.file, sha256: c.weights.sha256 }));
  const b = bytes!;
  const sd = deserializeSafetensors(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), wfile).tensors;
  const detector = createDetector(config.detector, config.hparams);
  try {
    detector.loadStateDict(sd);
  } catch (e) {
    detector.dispose();
    throw e instanceof AnogenError ? new AnogenError(`bundle ${wfile}: ${e.message}`) : e;
  } finally {
    for (const t of sd.values() as Iterable<Tensor>) t.dispose();
  }
  detector.calibration = config.calibration ?? null;
  return { detector, config, transforms: config.transforms !== undefined ? fromConfig(config.transforms, 'transforms') : null };
}
