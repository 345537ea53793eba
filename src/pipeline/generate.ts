/**
 * The workflows of generative models (src/models): training a generator on the training split
 * of the chosen classes (`anogen train <generator>`), generator bundles, and image grids of
 * samples (`anogen sample <bundle>`).
 *
 * A generator bundle is a folder like a detector bundle (src/detectors/bundle.ts) and is
 * written the same way: the same atomic commit of all its files (src/util/bundle-dir.ts), the
 * same folder lock, the same refusal of folders that hold someone else's files or an existing
 * bundle without `force`. Its config.json says `"kind": "generator"` and names the model under
 * `generator` (instead of `detector`), with its hyperparameters, the preprocessing chain of the
 * training images, the data and the training options; `model.safetensors` holds the weights.
 * A detector's loadBundle refuses it, naming `anogen sample`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, resolveDevice, type DeviceSpec, type Tensor } from '../core/index.js';
import { fromConfig, sourceSplit, makeSplits, type Split, type TransformChain, type TransformConfig } from '../data/index.js';
import { imageToPng } from '../eval/png.js';
import { deserializeSafetensors, serializeSafetensors } from '../nn/safetensors.js';
import { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, BUNDLE_MIN_FORMAT_VERSION, checkBundleTarget, RESERVED_BUNDLE_FILES } from '../detectors/bundle.js';
import { ANOGEN_VERSION } from '../detectors/version.js';
import type { GenerativeModel } from '../models/generative.js';
import { AutoregressiveModel, type AutoregressiveHParams } from '../models/pixelcnn/autoregressive.js';
import { createGenerator, defaultGeneratorSize, generatorInputHParams, generatorNames, getGenerator } from '../models/registry.js';
import '../models/index.js';
import { isTranslationModel, isUnpairedModel, rowGroups } from '../models/paired.js';
import { disposeLoopState, type LoopReport, type LoopState } from '../train/loop.js';
import { serializeLoopState } from '../train/state.js';
import { SplitSource } from '../train/source.js';
import { acquireLock, assertHolds, type HeldLock } from '../util/lock.js';
import { commitFiles, isPlainName, readCurrentFile, recoverCommit, removeStaleLitter } from '../util/bundle-dir.js';
import { writeFileAtomic } from '../util/fs.js';
import { imageTransforms, limitSplit, listImageFiles, openData, preprocessFiles, storableData } from './data.js';
import { CHECKPOINT_DIR, checkpointRequest, findCheckpoint, InterruptedError, readCheckpointState, type TrainHooks } from './train.js';

const CONFIG_FILE = 'config.json';
const WEIGHTS_FILE = 'model.safetensors';

// ---------------------------------------------------------------------------------------------
// bundles

/** config.json of a generator bundle. */
export interface GeneratorBundleConfig {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  anogenVersion: string;
  kind: 'generator';
  /** Registered generator name, e.g. 'gan'. */
  generator: string;
  hparams: Record<string, unknown>;
  /** The preprocessing chain of the training images (absent when saved without one). */
  transforms?: TransformConfig[];
  /** The training data (dataset, classes, images). */
  data?: unknown;
  /** Training options and measurements. */
  training?: unknown;
  weights: { file: string; sha256: string; tensors: number };
  /** Extra files of this version (e.g. history.json), by name. */
  files?: Record<string, { sha256: string; bytes: number }>;
  created: string;
}

/** What a generator bundle stores beside the weights. */
export interface GeneratorBundleMeta {
  /** The preprocessing chain of the training images (default none). */
  transforms?: TransformConfig[] | TransformChain;
  /** The training data (default none). */
  data?: unknown;
  /** Training options and measurements (default none). */
  training?: unknown;
}

/** Options of {@link saveGeneratorBundle}. */
export interface SaveGeneratorOptions {
  /** Replace the anogen bundle `dir` holds (default false: an AnogenError says "pass --force"). */
  replace?: boolean;
  /** Extra files saved in the same atomic version, by plain name (default none). */
  files?: Record<string, Uint8Array | string>;
  /** The lock on `dir` the caller holds (default none: taken for the write). */
  lock?: HeldLock;
}

const sha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

/** The files the current config.json of `dir` names (to remove those the new version does not). */
function previousFiles(dir: string): string[] {
  const b = readCurrentFile(dir, CONFIG_FILE);
  if (b === null) return [];
  try {
    const c = JSON.parse(b.toString('utf8')) as { weights?: { file?: unknown }; files?: unknown };
    const out = typeof c.weights?.file === 'string' ? [c.weights.file] : [];
    if (c.files !== null && typeof c.files === 'object') out.push(...Object.keys(c.files));
    return out.filter((n) => isPlainName(n) && !RESERVED_BUNDLE_FILES.includes(n));
  } catch {
    return [];
  }
}

/**
 * Writes `model` (+ meta and extra files) as a generator bundle into `dir` as one atomic
 * version (see the module comment). Refuses a folder of someone else's files, and an existing
 * bundle unless `opts.replace` (default false). Returns the config written.
 */
export function saveGeneratorBundle(dir: string, model: GenerativeModel, meta: GeneratorBundleMeta = {}, opts: SaveGeneratorOptions = {}): GeneratorBundleConfig {
  const chain = meta.transforms === undefined ? undefined : fromConfig(Array.isArray(meta.transforms) ? meta.transforms : meta.transforms.toJSON()).toJSON();
  const extras = Object.keys(opts.files ?? {})
    .sort()
    .map((name) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name) || /\.tmp$/i.test(name) || RESERVED_BUNDLE_FILES.includes(name)) {
        throw new AnogenError(
          `saveGeneratorBundle ${dir}: extra file name ${JSON.stringify(name)} is not valid; expected a plain file name, not ${RESERVED_BUNDLE_FILES.join(', ')}`,
        );
      }
      const v = opts.files![name]!;
      return { name, data: typeof v === 'string' ? Buffer.from(v, 'utf8') : v };
    });
  checkBundleTarget(dir, { replace: opts.replace ?? false, lock: opts.lock });
  if (opts.lock !== undefined) assertHolds(opts.lock, dir);
  const sd = model.stateDict();
  let bytes: Uint8Array;
  try {
    bytes = serializeSafetensors(sd, { anogen: ANOGEN_VERSION, generator: model.name });
  } finally {
    for (const t of sd.values()) t.dispose();
  }
  const config: GeneratorBundleConfig = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    anogenVersion: ANOGEN_VERSION,
    kind: 'generator',
    generator: model.name,
    hparams: model.config() as Record<string, unknown>,
    ...(chain !== undefined ? { transforms: chain } : {}),
    ...(meta.data !== undefined ? { data: meta.data } : {}),
    ...(meta.training !== undefined ? { training: meta.training } : {}),
    weights: { file: WEIGHTS_FILE, sha256: sha256(bytes), tensors: sd.size },
    ...(extras.length > 0 ? { files: Object.fromEntries(extras.map((e) => [e.name, { sha256: sha256(e.data), bytes: e.data.length }])) } : {}),
    created: new Date().toISOString(),
  };
  const lock = opts.lock ?? acquireLock(dir, 'anogen (saving a generator bundle)');
  try {
    recoverCommit(dir);
    removeStaleLitter(dir);
    checkBundleTarget(dir, { replace: opts.replace ?? false, lock }); // again under the lock
    const files = [...extras, { name: WEIGHTS_FILE, data: bytes }, { name: CONFIG_FILE, data: Buffer.from(`${JSON.stringify(config, null, 2)}\n`) }];
    const keep = new Set(files.map((f) => f.name));
    commitFiles(
      dir,
      files,
      previousFiles(dir).filter((n) => !keep.has(n)),
    );
  } finally {
    if (opts.lock === undefined) lock();
  }
  return config;
}

function configText(dir: string): string {
  if (!fs.existsSync(dir)) throw new AnogenError(`bundle ${dir}: no such folder`);
  if (!fs.statSync(dir).isDirectory()) throw new AnogenError(`bundle ${dir}: not a folder (a bundle is a folder holding ${CONFIG_FILE} and ${WEIGHTS_FILE})`);
  const b = readCurrentFile(dir, CONFIG_FILE);
  if (b === null) throw new AnogenError(`bundle ${dir}: missing ${CONFIG_FILE} (is this a bundle written by anogen train <generator>?)`);
  return b.toString('utf8');
}

function parseGeneratorConfig(text: string, dir: string): GeneratorBundleConfig {
  const file = path.join(dir, CONFIG_FILE);
  let c: GeneratorBundleConfig & { detector?: unknown };
  try {
    c = JSON.parse(text) as GeneratorBundleConfig;
  } catch (e) {
    throw new AnogenError(`bundle ${file}: not valid JSON (${(e as Error).message})`);
  }
  if (c === null || typeof c !== 'object' || c.format !== BUNDLE_FORMAT) throw new AnogenError(`bundle ${file}: "format" must be "${BUNDLE_FORMAT}"`);
  if (c.kind !== 'generator') {
    const what = typeof c.detector === 'string' ? `a detector bundle (${c.detector})` : 'not a generator bundle';
    throw new AnogenError(`bundle ${dir}: ${what}; anogen sample takes a bundle written by anogen train <generator> (${generatorNames().join(', ')})`);
  }
  const fv = c.formatVersion;
  if (typeof fv !== 'number' || !Number.isInteger(fv) || fv < BUNDLE_MIN_FORMAT_VERSION || fv > BUNDLE_FORMAT_VERSION) {
    throw new AnogenError(
      `bundle ${file}: format version ${JSON.stringify(fv)} is not supported by anogen ${ANOGEN_VERSION} (it reads ${BUNDLE_MIN_FORMAT_VERSION} to ${BUNDLE_FORMAT_VERSION})`,
    );
  }
  if (typeof c.generator !== 'string' || !generatorNames().includes(c.generator)) {
    throw new AnogenError(`bundle ${file}: unknown generator ${JSON.stringify(c.generator)}; expected one of ${generatorNames().join(', ')}`);
  }
  if (c.hparams === null || typeof c.hparams !== 'object') throw new AnogenError(`bundle ${file}: "hparams" must be an object`);
  if (c.weights === null || typeof c.weights !== 'object' || typeof c.weights.file !== 'string' || !isPlainName(c.weights.file) || typeof c.weights.sha256 !== 'string') {
    throw new AnogenError(`bundle ${file}: "weights" must be { file: a file name in the bundle folder, sha256 }`);
  }
  if (c.transforms !== undefined) fromConfig(c.transforms, 'transforms');
  return c;
}

/** Reads and validates a generator bundle's config.json (AnogenError naming the file on any problem). */
export function readGeneratorConfig(dir: string): GeneratorBundleConfig {
  return parseGeneratorConfig(configText(dir), dir);
}

/** True when `dir` holds a generator bundle (a readable config.json with kind 'generator'). */
export function isGeneratorBundle(dir: string): boolean {
  try {
    const b = readCurrentFile(dir, CONFIG_FILE);
    return b !== null && (JSON.parse(b.toString('utf8')) as { kind?: unknown }).kind === 'generator';
  } catch {
    return false;
  }
}

/**
 * Extra file `name` saved with the generator bundle in `dir` (SaveGeneratorOptions.files, e.g. a
 * checkpoint's train-state.json), checked against the SHA-256 in config.json and of the same
 * version as it; null when the bundle has no file of that name. AnogenError for a folder that is
 * not a generator bundle or a corrupt file.
 */
export function readGeneratorBundleFile(dir: string, name: string): Uint8Array | null {
  if (!isPlainName(name)) throw new AnogenError(`readGeneratorBundleFile ${dir}: ${JSON.stringify(name)} is not a plain file name`);
  for (let attempt = 0; ; attempt++) {
    const text = configText(dir);
    const config = parseGeneratorConfig(text, dir);
    const want = config.files !== undefined && Object.hasOwn(config.files, name) ? config.files[name] : undefined;
    if (want === undefined) return null;
    const bytes = readCurrentFile(dir, name);
    const sha = bytes === null ? '' : sha256(bytes);
    if (sha === want.sha256) return new Uint8Array(bytes!.buffer, bytes!.byteOffset, bytes!.byteLength);
    if (attempt < 3 && configText(dir) !== text) continue; // a writer committed meanwhile
    if (bytes === null) throw new AnogenError(`bundle ${dir}: missing file ${name} (named by ${CONFIG_FILE})`);
    throw new AnogenError(`bundle ${path.join(dir, name)}: the file is corrupt or was replaced (SHA-256 ${sha.slice(0, 12)}... differs from ${CONFIG_FILE}'s)`);
  }
}

/** {@link readGeneratorBundleFile} for the checkpoint helpers of src/pipeline/train.ts: null (no training state) for a folder that holds no generator bundle. */
const generatorFile = (dir: string, name: string): Uint8Array | null => (isGeneratorBundle(dir) ? readGeneratorBundleFile(dir, name) : null);

/** A loaded generator bundle. */
export interface LoadedGenerator {
  /** The model with its weights (the caller disposes it). */
  model: GenerativeModel;
  config: GeneratorBundleConfig;
}

/** Loads a generator bundle: the model with its weights (checked against config.json's SHA-256) and the config. */
export function loadGeneratorBundle(dir: string): LoadedGenerator {
  for (let attempt = 0; ; attempt++) {
    const text = configText(dir);
    const config = parseGeneratorConfig(text, dir);
    const wfile = path.join(dir, config.weights.file);
    const bytes = readCurrentFile(dir, config.weights.file);
    const sha = bytes === null ? '' : sha256(bytes);
    if (sha !== config.weights.sha256) {
      if (attempt < 3 && configText(dir) !== text) continue; // a writer committed meanwhile
      if (bytes === null) throw new AnogenError(`bundle ${dir}: missing file ${config.weights.file} (named by ${CONFIG_FILE})`);
      throw new AnogenError(`bundle ${wfile}: the weights file is corrupt or was replaced (SHA-256 ${sha.slice(0, 12)}... differs from ${CONFIG_FILE}'s)`);
    }
    const sd = deserializeSafetensors(new Uint8Array(bytes!.buffer, bytes!.byteOffset, bytes!.byteLength), wfile).tensors;
    let model: GenerativeModel;
    try {
      model = createGenerator(config.generator, config.hparams);
    } catch (e) {
      for (const t of sd.values() as Iterable<Tensor>) t.dispose();
      throw e instanceof AnogenError ? new AnogenError(`bundle ${path.join(dir, CONFIG_FILE)}: ${e.message}`) : e;
    }
    try {
      model.loadStateDict(sd);
    } catch (e) {
      model.dispose();
      throw e instanceof AnogenError ? new AnogenError(`bundle ${wfile}: ${e.message}`) : e;
    } finally {
      for (const t of sd.values() as Iterable<Tensor>) t.dispose();
    }
    return { model, config };
  }
}

// ---------------------------------------------------------------------------------------------
// data

/** The data a generator trains on. */
export interface GeneratorDataOptions {
  /** 'mnist', 'fashion-mnist', an IDX folder or an image folder (MVTec layout: train/good). */
  data: string;
  /** Class-labelled data: the classes to train on, by name or index (default all). */
  classes?: string[];
  /** Seed of the subset, the shuffles and torch (default 0). */
  seed: number;
  /** Skip images that fail to decode (default false). */
  skipBad?: boolean;
  /** Bound of an image folder's decoded-image cache in MiB (default 256). */
  cacheMb?: number;
}

/**
 * The training split a generator learns: class-labelled data (MNIST...): every image of the
 * `train` source of the chosen classes (default all); image folders: the normal training images
 * (train/good, or the `normal` folder). Never a test image.
 */
export function generatorTrainSplit(o: GeneratorDataOptions): { split: Split; record: { dataset: string; classes: string[] | 'all'; images: number } } {
  const ds = openData(o);
  let split: Split;
  let classes: string[] | 'all' = 'all';
  if (ds.kind === 'idx') {
    const all = sourceSplit(ds, 'train');
    if (o.classes === undefined || o.classes.length === 0) split = all;
    else {
      const ids = o.classes.map((c) => {
        const i = ds.classes.indexOf(c);
        if (i >= 0) return i;
        if (/^\d+$/.test(c) && Number(c) < ds.classes.length) return Number(c);
        throw new AnogenError(`--classes: '${c}' is not a class of '${ds.name}'; expected ${ds.classes.join(', ')}`);
      });
      classes = [...new Set(ids)].sort((a, b) => a - b).map((i) => ds.classes[i]!);
      const keep: number[] = [];
      for (let i = 0; i < all.length; i++) if (ids.includes(all.classId[i]!)) keep.push(i);
      split = all.subset(keep);
    }
  } else {
    if (o.classes !== undefined && o.classes.length > 0) {
      throw new AnogenError(`--classes applies to class-labelled data (mnist, fashion-mnist, IDX folders); the image folder '${ds.name}' trains on its normal training images`);
    }
    split = makeSplits(ds, { protocol: 'folder', seed: o.seed, valFraction: 0 }).train;
  }
  if (split.length === 0) throw new AnogenError(`the training split of '${ds.name}' is empty`);
  return { split, record: { dataset: ds.name, classes, images: split.length } };
}

/**
 * Domain B's training split of an unpaired model (cyclegan's dataB, classesB): its training
 * images, a seeded subset of at most `trainLimit` (seed + 1, independent of A's); errors name --data-b.
 */
function domainBSplit(
  domain: { data: string; classes?: string[] },
  req: GeneratorTrainRequest,
): { split: Split; record: { dataset: string; classes: string[] | 'all'; images: number } } {
  try {
    const r = generatorTrainSplit({ ...req.data, data: domain.data, classes: domain.classes });
    return { split: limitSplit(r.split, req.trainLimit, req.data.seed + 1), record: r.record };
  } catch (e) {
    throw e instanceof AnogenError ? new AnogenError(`domain B (--data-b ${domain.data}${domain.classes ? ` --classes-b ${domain.classes.join(',')}` : ''}): ${e.message}`) : e;
  }
}

// ---------------------------------------------------------------------------------------------
// training

/** Everything a generator training run needs. */
export interface GeneratorTrainRequest {
  /** Registered generator name. */
  generator: string;
  data: GeneratorDataOptions;
  /** Epochs (default: the model's). */
  epochs?: number;
  /** Mini-batch size (default: the model's). */
  batchSize?: number;
  /** Learning rate (default: the model's). */
  lr?: number;
  /** Square image size (default: the model's). */
  imageSize?: number;
  /** 1 or 3 (default: the first training image's). */
  channels?: 1 | 3;
  /** Use at most N training images (seeded subset; default all). */
  trainLimit?: number;
  /** Bundle folder to write. */
  out: string;
  /** Model hyperparameters (validated against its schema). */
  hparams: Record<string, unknown>;
  /** Replace an existing bundle in `out` (default false). */
  force?: boolean;
  /** 'auto' (default), 'cpu', 'cuda' or 'cuda:N'. */
  device?: DeviceSpec;
  /** Also checkpoint every N steps (default 0: at epoch ends only; a stop request always checkpoints). */
  checkpointEvery?: number;
}

/** Result of a generator training run. */
export interface GeneratorTrainResult {
  out: string;
  /** The trained model (the caller disposes it). */
  model: GenerativeModel;
  report: LoopReport;
  config: GeneratorBundleConfig;
}

/**
 * A likelihood model's test NLL after training is measured on at most this many test images, and
 * on no more than it trained on (a seeded subset), so that it never costs more than the training.
 */
export const TEST_NLL_IMAGES = 1000;

/**
 * The mean bits/dim of an autoregressive model (pixelcnn, pixelrnn) on the `test` source of
 * class-labelled data (MNIST...), the trained classes only, at most `limit` images (seeded
 * subset), in batches of 256; null for data without a test source (image folders).
 */
async function testBitsPerDim(
  model: AutoregressiveModel<AutoregressiveHParams>,
  req: GeneratorTrainRequest,
  classes: string[] | 'all',
  transforms: TransformChain,
  limit: number,
): Promise<{ bitsPerDim: number; images: number } | null> {
  const ds = openData(req.data);
  if (ds.kind !== 'idx' || !ds.sources.includes('test')) return null;
  let split = sourceSplit(ds, 'test');
  if (classes !== 'all') {
    const ids = classes.map((c) => ds.classes.indexOf(c));
    const keep: number[] = [];
    for (let i = 0; i < split.length; i++) if (ids.includes(split.classId[i]!)) keep.push(i);
    split = split.subset(keep);
  }
  split = limitSplit(split, limit, req.data.seed);
  if (split.length === 0) return null;
  return { bitsPerDim: await model.bitsPerDim(new SplitSource(split, transforms, req.data.seed)), images: split.length };
}

/**
 * The request a generator checkpoint was made with, to resume it: `dir` is the run's output
 * folder or its checkpoint folder. Its `out` is the folder that holds the checkpoint (not the
 * path stored at the start, which may have been relative to another working directory).
 * AnogenError naming `dir` when it holds no checkpoint, or a detector's.
 */
export function generatorCheckpointRequest(dir: string): GeneratorTrainRequest {
  const ck = findGeneratorCheckpoint(dir);
  const req = checkpointRequest<GeneratorTrainRequest>(ck, generatorFile);
  if (typeof req.generator !== 'string') throw new AnogenError(`--resume ${dir}: the checkpoint's training request names no generator; this checkpoint cannot be resumed`);
  return { ...req, out: path.dirname(path.resolve(ck)) };
}

/**
 * The checkpoint folder of a generator run (`dir` itself when it holds one, else
 * `dir/checkpoint`); an AnogenError naming `dir` when there is none, or a detector's.
 */
export function findGeneratorCheckpoint(dir: string): string {
  try {
    return findCheckpoint(dir, generatorFile);
  } catch (e) {
    let detectorCheckpoint: string | null = null;
    try {
      detectorCheckpoint = findCheckpoint(dir);
    } catch {
      /* no detector checkpoint either: the first error says what is missing */
    }
    if (detectorCheckpoint !== null) {
      throw new AnogenError(`--resume ${dir}: ${detectorCheckpoint} is a detector's checkpoint, not a generator's; resume it with anogen train --resume ${dir} (no model name)`);
    }
    throw e;
  }
}

/**
 * Trains a generator on the training split of the chosen classes and writes its bundle, or
 * resumes the checkpoint in `resume` (a run's output folder or its checkpoint folder; default
 * none) with `req` = {@link generatorCheckpointRequest}(resume), whose `epochs` may be raised.
 *
 * The output folder is checked before any work (unless resuming) and locked for the run. As a
 * detector run does (src/pipeline/train.ts), the run writes a checkpoint into
 * `<out>/checkpoint` at every epoch end (and every `checkpointEvery` steps, and on a stop
 * request): a generator bundle of the weights so far (`anogen sample` reads it) plus the loop
 * state (optimisers, torch's generator, the epoch and step, the request). A stop request
 * (Ctrl-C) rejects with InterruptedError naming the checkpoint; a resumed run continues at the
 * next step and ends, on the CPU, with the weights of an uninterrupted run. The checkpoint is
 * removed once the bundle is written; a NaN/Inf loss keeps the last one.
 */
export async function trainGenerator(req: GeneratorTrainRequest, hooks: TrainHooks = {}, resume?: string): Promise<GeneratorTrainResult> {
  const log = hooks.log ?? (() => undefined);
  const entry = getGenerator(req.generator);
  const device = resolveDevice(req.device ?? 'auto', 'device');
  let resumeFrom: string | null = null;
  if (resume !== undefined) {
    resumeFrom = findGeneratorCheckpoint(resume);
    // The run's folder is where its checkpoint is (as train()'s), whatever `out` the request holds.
    req = { ...req, out: path.dirname(path.resolve(resumeFrom)) };
  } else {
    createGenerator(req.generator, req.hparams).dispose(); // hyperparameters checked before anything is written
    checkBundleTarget(req.out, { replace: req.force === true });
  }
  const ckptDir = path.join(req.out, CHECKPOINT_DIR);
  const existed = fs.existsSync(req.out);
  const lock = acquireLock(req.out, 'anogen train');
  let model: GenerativeModel | null = null;
  let loopState: LoopState | null = null;
  try {
    const { split, record } = generatorTrainSplit(req.data);
    const first = await split.dataset.loadItem(split.sourceName(0), split.index[0]!);
    const channels = req.channels ?? (first.image.channels === 3 ? 3 : 1);
    const size = req.imageSize ?? defaultGeneratorSize(entry);
    const transforms = fromConfig(imageTransforms({ size, channels, range: entry.input.range }));
    const hparams = { ...req.hparams, ...generatorInputHParams(req.generator, size, channels) };
    if (resumeFrom !== null) {
      const b = loadGeneratorBundle(resumeFrom);
      model = b.model;
      const want = createGenerator(req.generator, hparams);
      const same = b.config.generator === req.generator && JSON.stringify(b.config.hparams) === JSON.stringify(want.config());
      want.dispose();
      if (!same) throw new AnogenError(`--resume ${resume}: the checkpoint's model (${b.config.generator}) or hyperparameters differ from its training request's`);
      loopState = readCheckpointState(resumeFrom, generatorFile);
    } else {
      model = createGenerator(req.generator, hparams);
    }
    model.to(device);
    const trainSplit = limitSplit(split, req.trainLimit, req.data.seed);
    const epochs = req.epochs ?? entry.trainDefaults.epochs;
    const batchSize = req.batchSize ?? entry.trainDefaults.batchSize;
    const lr = req.lr ?? entry.trainDefaults.lr;
    log(
      `anogen train ${req.generator}: ${record.dataset} classes ${record.classes === 'all' ? 'all' : record.classes.join(',')} | train ${trainSplit.length}/${split.length} | ${size}x${size}x${channels} | ${epochs} epoch(s), batch ${batchSize}, lr ${lr}` +
        (resumeFrom !== null ? ` | resuming ${resumeFrom} at epoch ${loopState!.epoch}, step ${loopState!.step}` : ''),
    );
    // unpaired models (cyclegan): domain B's training split, the same preprocessing, as many images at most
    const b = isUnpairedModel(model) ? domainBSplit(model.domainB, req) : null;
    if (b !== null) log(`domain B: ${b.record.dataset} classes ${b.record.classes === 'all' ? 'all' : b.record.classes.join(',')} | train ${b.split.length}`);
    const training = { epochs, batchSize, lr, seed: req.data.seed, trainImages: trainSplit.length, trainLimit: req.trainLimit ?? null, device };
    const data = { ...record, options: { ...req.data, data: storableData(req.data.data) }, ...(b !== null ? { domainB: { ...b.record, images: b.split.length } } : {}) };
    const storedRequest: GeneratorTrainRequest = { ...req, data: data.options, epochs, batchSize, lr, force: undefined };
    const m = model;
    const fitOptions = {
      epochs,
      batchSize,
      lr,
      seed: req.data.seed,
      onProgress: hooks.onProgress,
      shouldStop: hooks.shouldStop,
      checkpointEvery: req.checkpointEvery,
      resume: loopState ?? undefined,
      onCheckpoint: (state: LoopState, reason: 'epoch' | 'step' | 'interrupt') => {
        saveGeneratorBundle(
          ckptDir,
          m,
          { transforms, data, training: { ...training, checkpoint: { epoch: state.epoch, step: state.step, reason } } },
          { replace: true, files: serializeLoopState(state, { request: storedRequest }) },
        );
      },
    };
    const sourceA = new SplitSource(trainSplit, transforms, req.data.seed);
    const report =
      b !== null && isUnpairedModel(model)
        ? await model.fit(sourceA, { ...fitOptions, sourceB: new SplitSource(b.split, transforms, req.data.seed) })
        : await model.fit(sourceA, fitOptions);
    if (report.interrupted) {
      throw new InterruptedError(
        `interrupted at epoch ${report.epochs}: checkpoint saved in ${ckptDir} (continue with anogen train ${req.generator} --resume ${req.out}; anogen sample ${ckptDir} draws from it)`,
        ckptDir,
      );
    }
    // likelihood models (pixelcnn, pixelrnn): the NLL of held-out images, printed and stored
    const testNll = model instanceof AutoregressiveModel ? await testBitsPerDim(model, req, record.classes, transforms, Math.min(TEST_NLL_IMAGES, trainSplit.length)) : null;
    if (testNll !== null) {
      log(`test NLL: ${testNll.bitsPerDim.toFixed(4)} bits/dim on ${testNll.images} test images`);
    }
    const finalTraining = {
      ...training,
      seconds: report.seconds,
      imagesPerSecond: report.imagesPerSecond,
      steps: report.steps,
      ...(testNll !== null ? { test: testNll } : {}),
    };
    const config = saveGeneratorBundle(
      req.out,
      model,
      { transforms, data, training: finalTraining },
      { replace: true, lock, files: { 'history.json': `${JSON.stringify({ losses: report.history })}\n` } },
    );
    fs.rmSync(ckptDir, { recursive: true, force: true });
    log(`trained in ${report.seconds.toFixed(1)} s (${report.imagesPerSecond.toFixed(1)} img/s, ${report.steps} steps); bundle written to ${req.out}`);
    const result: GeneratorTrainResult = { out: req.out, model, report, config };
    model = null; // handed to the caller
    return result;
  } finally {
    if (loopState) disposeLoopState(loopState);
    model?.dispose();
    lock.release();
    // A run that failed before writing anything leaves no empty folder behind.
    if (!existed && fs.existsSync(req.out) && fs.readdirSync(req.out).length === 0) fs.rmdirSync(req.out);
  }
}

// ---------------------------------------------------------------------------------------------
// sample grids

/**
 * Tiles images [N, C, H, W] into one image [C, rows * (H + padding) + padding, ...] with `nrow`
 * images per row (as torchvision's make_grid; default 8) and `padding` pixels (default 2) of
 * `padValue` (default the range's low end, black) between and around them.
 */
export function imageGrid(x: Tensor, opts: { nrow?: number; padding?: number; padValue?: number } = {}): { data: Float32Array; shape: [number, number, number] } {
  if (x.ndim !== 4) throw new AnogenError(`imageGrid: expected images [N, C, H, W], got [${x.shape.join(', ')}]`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const nrow = opts.nrow ?? 8;
  const pad = opts.padding ?? 2;
  if (!Number.isInteger(nrow) || nrow < 1) throw new AnogenError(`imageGrid: nrow must be a positive integer, got ${nrow}`);
  if (!Number.isInteger(pad) || pad < 0) throw new AnogenError(`imageGrid: padding must be a non-negative integer, got ${pad}`);
  const cols = Math.min(nrow, n);
  const rows = Math.ceil(n / cols);
  const H = rows * (h + pad) + pad;
  const W = cols * (w + pad) + pad;
  const src = x.float().contiguous().toFloat32Array();
  const out = new Float32Array(c * H * W).fill(opts.padValue ?? -1);
  for (let k = 0; k < n; k++) {
    const y0 = pad + Math.floor(k / cols) * (h + pad);
    const x0 = pad + (k % cols) * (w + pad);
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h; i++) {
        const s = ((k * c + ch) * h + i) * w;
        out.set(src.subarray(s, s + w), (ch * H + y0 + i) * W + x0);
      }
    }
  }
  return { data: out, shape: [c, H, W] };
}

/** Options of {@link sampleGridPng}. */
export interface SampleGridOptions {
  /** Number of samples (default 64; conditional generators without `class`: one row per class, nrow x numClasses). */
  n?: number;
  /** Seed of the latent codes (default 0): the same seed gives a byte-identical PNG. */
  seed?: number;
  /** Images per row (default 8). */
  nrow?: number;
  /** Conditional generators (cgan): every image of this class (default: row r of class r mod numClasses); unconditional ones refuse it. */
  class?: number;
}

/**
 * The class of each of a grid's images for a conditional model (undefined for an unconditional
 * one), and the number of images: every image of `opts.class`, or one row of `nrow` per class.
 */
export function gridClasses(model: GenerativeModel, opts: SampleGridOptions = {}): { n: number; classes?: number[] } {
  const k = model.numClasses;
  const nrow = opts.nrow ?? 8;
  const c = opts.class;
  if (c !== undefined) {
    if (k === 0) throw new AnogenError(`--class ${c}: ${model.name} is not a conditional generator (--class applies to cgan bundles)`);
    if (!Number.isInteger(c) || c < 0 || c >= k) throw new AnogenError(`--class ${c} is not valid; expected a class in 0..${k - 1} (the model's numClasses is ${k})`);
  }
  const n = opts.n ?? (k > 0 && c === undefined ? nrow * k : 64);
  if (k === 0) return { n };
  return { n, classes: Array.from({ length: n }, (_, i) => c ?? Math.floor(i / nrow) % k) };
}

/** PNG bytes of a grid of `n` samples of `model` (seeded; see {@link GenerativeModel.sample}). */
export async function sampleGridPng(model: GenerativeModel, opts: SampleGridOptions = {}): Promise<Buffer> {
  const { n, classes } = gridClasses(model, opts);
  // translation models (pix2pix, cyclegan): rows of inputs, outputs and targets
  const x = isTranslationModel(model)
    ? model.sampleGridImages(n, { seed: opts.seed ?? 0, nrow: opts.nrow ?? 8 })
    : model.sample(n, { seed: opts.seed ?? 0, ...(classes !== undefined ? { classes } : {}) });
  try {
    const [lo, hi] = model.input.range;
    const grid = imageGrid(x, { nrow: isTranslationModel(model) ? Math.min(opts.nrow ?? 8, n) : (opts.nrow ?? 8), padValue: lo });
    // imageToPng maps [-1, 1] or [0, 1]; other ranges are rescaled to [0, 1] first.
    if (!(lo === -1 && hi === 1) && !(lo === 0 && hi === 1)) grid.data.forEach((v, i) => (grid.data[i] = (v - lo) / (hi - lo)));
    return await imageToPng({ data: grid.data, shape: grid.shape }, lo === -1 && hi === 1 ? '[-1,1]' : '[0,1]');
  } finally {
    x.dispose();
  }
}

/** What `anogen sample` is asked. */
export interface SampleRequest extends SampleGridOptions {
  /** The generator bundle folder. */
  bundle: string;
  /** The PNG file to write (atomically). */
  out: string;
  /** 'auto' (default), 'cpu', 'cuda' or 'cuda:N'. */
  device?: DeviceSpec;
  /** Translation models (pix2pix, cyclegan): image files or folders to translate instead of the probe images (default none). */
  inputs?: string[];
}

/**
 * PNG bytes of the translations of image files by a translation model: the files preprocessed
 * with the bundle's chain (the training images'), then for every `nrow` files a row of inputs
 * and a row of outputs. AnogenError for a model that samples from noise.
 */
export async function translateFilesPng(model: GenerativeModel, config: GeneratorBundleConfig, inputs: string[], nrow = 8): Promise<Buffer> {
  if (!isTranslationModel(model)) throw new AnogenError(`--input: ${config.generator} generates from noise; --input applies to translation models (pix2pix, cyclegan)`);
  const { size, channels, range } = model.input;
  const chain = fromConfig(config.transforms ?? imageTransforms({ size, channels: channels === 3 ? 3 : 1, range }));
  const { x } = await preprocessFiles(listImageFiles(inputs), chain);
  const y = model.translate(x!);
  try {
    const cols = Math.min(nrow, x!.shape[0]!);
    const grid = imageGrid(rowGroups([x!, y], cols, range[0]), { nrow: cols, padValue: range[0] });
    return await imageToPng({ data: grid.data, shape: grid.shape }, '[-1,1]');
  } finally {
    x!.dispose();
    y.dispose();
  }
}

/** Loads a generator bundle, samples a seeded grid and writes it as a PNG; returns the file and its size in bytes. */
export async function sampleToFile(req: SampleRequest): Promise<{ out: string; bytes: number; generator: string }> {
  const device = resolveDevice(req.device ?? 'auto', 'device');
  const { model, config } = loadGeneratorBundle(req.bundle);
  try {
    model.to(device);
    const png = req.inputs !== undefined ? await translateFilesPng(model, config, req.inputs, req.nrow) : await sampleGridPng(model, req);
    writeFileAtomic(req.out, png);
    return { out: req.out, bytes: png.length, generator: config.generator };
  } finally {
    model.dispose();
  }
}
