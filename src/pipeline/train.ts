/**
 * The training workflow shared by `anogen train`, `anogen demo` and the server: data options
 * -> splits -> a streaming training source (the training images are decoded batch by batch,
 * never held whole) and an in-memory validation set -> the detector's fit through src/train's
 * loop -> a calibrated bundle.
 *
 * Safety: the output folder is checked before any work (an existing bundle needs `force`; a
 * folder of someone else's files is refused) and locked for the whole run; a checkpoint
 * bundle (weights, calibration and the loop state) is written atomically into
 * `<out>/checkpoint` at every epoch end (and every `checkpointEvery` steps, and on Ctrl-C), and
 * `resume` continues from it exactly; a NaN/Inf loss stops with the last checkpoint intact.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, resolveDevice, type DeviceSpec } from '../core/index.js';
import { disposeBatch, FolderDataset, fromConfig } from '../data/index.js';
import type { NORMALIZATION_KINDS } from '../eval/normalize.js';
import { createDetector, defaultInputSize, getDetector, inputHParams } from '../detectors/registry.js';
import { schemaDefaults } from '../detectors/schema.js';
import { checkBundleTarget, loadBundle, readBundleFile, saveBundle, type BundleMeta } from '../detectors/bundle.js';
import type { Detector, FitReport, ProgressEvent } from '../detectors/api.js';
import { NeuralDetector } from '../detectors/neural.js';
import { acquireLock } from '../util/lock.js';
import { SplitSource } from '../train/source.js';
import { disposeLoopState, type LoopState } from '../train/loop.js';
import { parseLoopState, serializeLoopState, TRAIN_STATE_JSON, TRAIN_STATE_TENSORS } from '../train/state.js';
import { buildSplits, imageTransforms, limitSplit, loadSubset, storableData, type DataOptions } from './data.js';
import { describeCalibration } from './describe.js';

/** Everything a training run needs (validated by the caller's parser or by {@link train}). */
export interface TrainRequest {
  /** Registered detector name. */
  detector: string;
  /** Data and protocol. */
  data: DataOptions;
  /** Epochs (default: the detector's). */
  epochs?: number;
  /** Mini-batch size (default: the detector's). */
  batchSize?: number;
  /** Learning rate (default: the detector's). */
  lr?: number;
  /** Square input size (default: the detector's). */
  imageSize?: number;
  /** 1 or 3 (default: the first training image's). */
  channels?: 1 | 3;
  /** Use at most N training images (seeded subset; default all). */
  trainLimit?: number;
  /** Use at most N validation images (default 2000). */
  valLimit: number;
  /** Threshold strategy (default percentile:95). */
  threshold?: string;
  /** Score normalisation (default 'minmax'). */
  normalization?: (typeof NORMALIZATION_KINDS)[number];
  /** Bundle folder to write. */
  out: string;
  /** Detector hyperparameters (validated against its schema). */
  hparams: Record<string, unknown>;
  /** Replace an existing bundle in `out` (default false). */
  force?: boolean;
  /** Also checkpoint every N steps (default 0: at epoch ends only). */
  checkpointEvery?: number;
  /**
   * Device to train on: 'auto' (default: CUDA when this libtorch has it and sees a GPU, else the
   * CPU), 'cpu', 'cuda' or 'cuda:N' (see resolveDevice). The device used is stored in the
   * bundle's training meta for the record; bundles load on any device.
   */
  device?: DeviceSpec;
}

/** Callbacks of a training run. */
export interface TrainHooks {
  /** Messages for the user (default: none). */
  log?: (s: string) => void;
  /** Progress of every step. */
  onProgress?: (e: ProgressEvent) => void;
  /** Checked between steps: true stops the run with a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
}

/** Result of a training run. */
export interface TrainResult {
  /** The bundle folder. */
  out: string;
  /** The trained, calibrated detector (the caller disposes it). */
  detector: Detector;
  report: FitReport;
  meta: BundleMeta;
}

/** Name of the checkpoint folder inside a run's output folder. */
export const CHECKPOINT_DIR = 'checkpoint';

/** Training was stopped by a stop request; a checkpoint was saved. */
export class InterruptedError extends Error {
  constructor(
    message: string,
    /** The checkpoint folder. */
    readonly checkpoint: string,
  ) {
    super(message);
    this.name = 'InterruptedError';
  }
}

/**
 * Reads an extra file of the bundle in a folder, checked against its config.json (null when the
 * bundle has none of that name): readBundleFile for detector bundles (the default of the
 * checkpoint helpers below), readGeneratorBundleFile (src/pipeline/generate.ts) for generators'.
 */
export type BundleFileReader = (dir: string, name: string) => Uint8Array | null;

/** The checkpoint folder of `dir`: `dir` itself when it holds a loop state, else `dir/checkpoint` (`read`: see BundleFileReader). */
export function findCheckpoint(dir: string, read: BundleFileReader = readBundleFile): string {
  if (!fs.existsSync(dir)) throw new AnogenError(`--resume ${dir}: no such folder`);
  for (const d of [dir, path.join(dir, CHECKPOINT_DIR)]) {
    if (fs.existsSync(path.join(d, 'config.json')) && read(d, TRAIN_STATE_JSON) !== null) return d;
  }
  throw new AnogenError(
    `--resume ${dir}: no training state there (expected a checkpoint written by anogen train: <out>/${CHECKPOINT_DIR}/ with ${TRAIN_STATE_JSON}); a finished bundle has none, train a new run instead`,
  );
}

/** The request a checkpoint was made with (to resume it; a generator checkpoint's holds a GeneratorTrainRequest). */
export function checkpointRequest<R extends object = TrainRequest>(dir: string, read: BundleFileReader = readBundleFile): R {
  const ck = findCheckpoint(dir, read);
  const bytes = read(ck, TRAIN_STATE_JSON)!;
  const j = JSON.parse(Buffer.from(bytes).toString('utf8')) as { request?: R };
  if (j.request === undefined || typeof j.request !== 'object')
    throw new AnogenError(`${ck}/${TRAIN_STATE_JSON}: the training request is missing; this checkpoint cannot be resumed`);
  return j.request;
}

/** The loop state of the checkpoint folder `ck` (the caller disposes it with disposeLoopState). */
export function readCheckpointState(ck: string, read: BundleFileReader = readBundleFile): LoopState {
  const json = read(ck, TRAIN_STATE_JSON);
  const tensors = read(ck, TRAIN_STATE_TENSORS);
  if (json === null || tensors === null) throw new AnogenError(`${ck}: the checkpoint's training state (${TRAIN_STATE_JSON}, ${TRAIN_STATE_TENSORS}) is incomplete`);
  return parseLoopState(json, tensors, ck).state;
}

/**
 * Runs a training request (or resumes the checkpoint `resume`, whose stored request is used;
 * `epochs` may then be raised). Rejects with InterruptedError after a stop request, with a
 * DivergenceError (an AnogenError) on a NaN/Inf loss.
 */
export async function train(req: TrainRequest, hooks: TrainHooks = {}, resume?: string): Promise<TrainResult> {
  const log = hooks.log ?? (() => undefined);
  const entry = getDetector(req.detector);
  const device = resolveDevice(req.device ?? 'auto', 'device');
  let resumeFrom: string | null = null;
  if (resume !== undefined) {
    resumeFrom = findCheckpoint(resume);
    // The run's folder is where its checkpoint is, not the stored `out` (relative to the first run's cwd).
    req = { ...req, out: path.dirname(path.resolve(resumeFrom)) };
  } else {
    checkMemory(req);
    createDetector(req.detector, req.hparams).dispose(); // hyperparameters checked before anything is written
    checkBundleTarget(req.out, { replace: req.force === true });
  }
  const ckptDir = path.join(req.out, CHECKPOINT_DIR);
  const existed = fs.existsSync(req.out);
  const lock = acquireLock(req.out, 'anogen train');
  let detector: Detector | null = null;
  let loopState: LoopState | null = null;
  let val: Awaited<ReturnType<typeof loadSubset>> | null = null;
  try {
    const splits = buildSplits(req.data);
    const ds = splits.train.dataset;
    const first = await ds.loadItem(splits.train.sourceName(0), splits.train.index[0]!);
    const channels = req.channels ?? (first.image.channels === 3 ? 3 : 1);
    const size = req.imageSize ?? defaultInputSize(entry);
    const transforms = fromConfig(imageTransforms({ size, channels, range: entry.input.range }));
    const hparams = { ...req.hparams, ...inputHParams(req.detector, size, channels) };
    if (resumeFrom !== null) {
      const b = loadBundle(resumeFrom);
      detector = b.detector;
      if (JSON.stringify(b.config.hparams) !== JSON.stringify(createDetectorConfig(req.detector, hparams))) {
        throw new AnogenError(`--resume ${resume}: the checkpoint's hyperparameters differ from this run's`);
      }
      loopState = readCheckpointState(resumeFrom);
    } else {
      detector = createDetector(req.detector, hparams); // validates before any pixel is loaded
    }
    // before fit builds the optimisers; the loop puts every batch there. Detectors fitted in one pass
    // without the loop (ocsvm, gaussian) fit and score on the CPU.
    if (detector instanceof NeuralDetector) detector.to(device);
    const trainSplit = limitSplit(splits.train, req.trainLimit, req.data.seed);
    if (trainSplit.length === 0) throw new AnogenError(`the training split of '${ds.name}' is empty`);
    const nVal = Math.min(splits.validation.length, req.valLimit);
    log(
      `anogen train ${req.detector}: ${splits.record.dataset} ${splits.record.protocol}` +
        `${splits.record.normalClass !== undefined ? ` normal=${splits.record.normalClass}` : ''}${splits.record.anomalyClass !== undefined ? ` abnormal=${splits.record.anomalyClass}` : ''}` +
        ` | train ${trainSplit.length}/${splits.train.length}, val ${nVal}${splits.record.userValidation ? ` (labelled, ${splits.validation.counts.anomalous} anomalous)` : ''}` +
        `, test ${splits.test.length} (${splits.record.counts.testAnomalous} anomalous) | ${size}x${size}x${channels}` +
        (resumeFrom !== null ? ` | resuming ${resumeFrom} at epoch ${loopState!.epoch}, step ${loopState!.step}` : ''),
    );
    val = nVal > 0 ? await loadSubset(splits.validation, transforms, req.valLimit, req.data.seed + 1) : null;
    const valLabels = val ? val.split.subset(Array.from(val.batch.positions)).label : undefined;
    const valSet = val ? { images: val.batch.x, ...(splits.record.userValidation ? { labels: valLabels } : {}) } : undefined;
    const epochs = req.epochs ?? entry.trainDefaults.epochs;
    const batchSize = req.batchSize ?? entry.trainDefaults.batchSize;
    const lr = req.lr ?? entry.trainDefaults.lr;
    const training = {
      epochs,
      batchSize,
      lr,
      seed: req.data.seed,
      trainImages: trainSplit.length,
      valImages: val ? val.batch.positions.length : 0,
      trainLimit: req.trainLimit ?? null,
      valLimit: req.valLimit,
      device,
    };
    const storedData = { ...req.data, data: storableData(req.data.data), ...(req.data.valDir ? { valDir: path.resolve(req.data.valDir) } : {}) };
    delete (storedData as { dataOrigin?: string }).dataOrigin;
    const meta: BundleMeta = { transforms, protocol: { ...splits.record, options: storedData }, training };
    const calibration = { normalization: req.normalization ?? 'minmax', threshold: req.threshold };
    const storedRequest: TrainRequest = { ...req, data: storedData, epochs, batchSize, lr, force: undefined };
    const det = detector;
    const report = await det.fit(new SplitSource(trainSplit, transforms, req.data.seed), {
      val: valSet,
      epochs,
      batchSize,
      lr,
      seed: req.data.seed,
      onProgress: hooks.onProgress,
      shouldStop: hooks.shouldStop,
      checkpointEvery: req.checkpointEvery,
      resume: loopState ?? undefined,
      calibration,
      onCheckpoint: (state, reason) => {
        if (valSet) det.calibrate(valSet, calibration);
        saveBundle(
          ckptDir,
          det,
          { ...meta, training: { ...training, checkpoint: { epoch: state.epoch, step: state.step, reason } } },
          { replace: true, files: serializeLoopState(state, { request: storedRequest }) },
        );
      },
    });
    if (report.interrupted) {
      throw new InterruptedError(`interrupted at epoch ${report.epochs}: checkpoint saved in ${ckptDir} (continue with anogen train --resume ${ckptDir})`, ckptDir);
    }
    const skipped = ds instanceof FolderDataset ? ds.badFiles.size : 0;
    if (skipped > 0) log(`skipped ${skipped} image(s) that failed to decode (--skip-bad), e.g. ${[...(ds as FolderDataset).badFiles][0]}`);
    const finalMeta = {
      ...meta,
      training: { ...training, seconds: report.seconds, imagesPerSecond: report.imagesPerSecond, steps: report.steps, ...(skipped > 0 ? { skippedImages: skipped } : {}) },
    };
    saveBundle(req.out, det, finalMeta, { replace: true, lock, files: { 'history.json': `${JSON.stringify({ losses: report.history })}\n` } });
    fs.rmSync(ckptDir, { recursive: true, force: true });
    log(`trained in ${report.seconds.toFixed(1)} s (${report.imagesPerSecond.toFixed(1)} img/s, ${report.steps} steps)`);
    if (det.calibration) log(describeCalibration(det.calibration, training.valImages, splits.record.userValidation === true));
    log(`bundle written to ${req.out}`);
    const result: TrainResult = { out: req.out, detector: det, report, meta: finalMeta };
    detector = null; // handed to the caller
    return result;
  } finally {
    if (val) disposeBatch(val.batch);
    if (loopState) disposeLoopState(loopState);
    detector?.dispose();
    lock.release();
    // A run that failed before writing anything leaves no empty folder behind.
    if (!existed && fs.existsSync(req.out) && fs.readdirSync(req.out).length === 0) fs.rmdirSync(req.out);
  }
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(b < 10 * 2 ** 30 ? 1 : 0)} GiB`;

/**
 * Refuses a run whose estimated training memory exceeds 80% of this machine's memory, before
 * anything is allocated, saying what fits (the largest batch at this size, or the largest size
 * at this batch). Detectors without an estimate are not checked.
 */
export function checkMemory(req: TrainRequest, total = os.totalmem()): void {
  const entry = getDetector(req.detector);
  if (entry.estimateTrainingBytes === undefined) return;
  const defaults = schemaDefaults(entry.schema);
  const sizeParam = entry.input.sizeParam;
  const size = req.imageSize ?? defaultInputSize(entry);
  const batch = req.batchSize ?? entry.trainDefaults.batchSize;
  const h = (s: number) => ({ ...defaults, ...req.hparams, ...(sizeParam !== undefined ? { [sizeParam]: s } : {}) });
  const need = entry.estimateTrainingBytes(h(size), batch);
  const budget = 0.8 * total;
  if (need <= budget) return;
  let b = batch;
  while (b > 1 && entry.estimateTrainingBytes(h(size), b) > budget) b = Math.floor(b / 2);
  let s = size;
  while (s > 16 && entry.estimateTrainingBytes(h(s), batch) > budget) s = s / 2;
  const fits = [
    entry.estimateTrainingBytes(h(size), b) <= budget ? `--batch-size ${b} at ${size} px` : '',
    s !== size && entry.estimateTrainingBytes(h(s), batch) <= budget ? `--image-size ${s} at batch ${batch}` : '',
  ].filter(Boolean);
  throw new AnogenError(
    `training ${req.detector} at ${size} px with batch ${batch} needs about ${gib(need)} of memory (estimate); this machine has ${gib(total)}: ` +
      (fits.length > 0 ? `what fits: ${fits.join(', or ')}` : 'no batch size fits at this image size; lower --image-size or the network widths'),
  );
}

/** The hyperparameters a bundle of `name` would store for `hparams` (schema-resolved). */
function createDetectorConfig(name: string, hparams: Record<string, unknown>): unknown {
  const d = createDetector(name, hparams);
  try {
    return d.config();
  } finally {
    d.dispose();
  }
}
