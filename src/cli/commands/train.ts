/** `anogen train <detector> --data ... --protocol ... --out DIR`: trains, calibrates on validation normals, writes a bundle. */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, setNumThreads } from '../../core/index.js';
import { PROTOCOLS } from '../../data/protocols.js';
import { NORMALIZATION_KINDS } from '../../eval/normalize.js';
import { parseThresholdStrategy } from '../../eval/threshold.js';
import { getDetector, detectorNames } from '../../detectors/registry.js';
import { saveBundle, type BundleMeta } from '../../detectors/bundle.js';
import type { Detector, FitReport } from '../../detectors/api.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { buildSplits, imageTransforms, loadSubset, type DataOptions } from '../images.js';
import { disposeBatch, FolderDataset, fromConfig } from '../../data/index.js';
import { progressPrinter } from '../progress.js';

/** Data options shared by train and eval. */
export const DATA_SPECS: OptionSpec[] = [
  { name: 'data', type: 'string', doc: "dataset: 'mnist', 'fashion-mnist', an image folder (MVTec layout) or an IDX folder (required)" },
  { name: 'protocol', type: 'string', values: PROTOCOLS, doc: "one-class protocol (default 'folder' for image folders; required for mnist)" },
  { name: 'normal', type: 'string', doc: 'normal class for one-vs-rest (e.g. 3)' },
  { name: 'abnormal', type: 'string', doc: 'anomalous class for leave-one-out (e.g. 3)' },
  { name: 'seed', type: 'int', min: 0, doc: 'seed of the splits, shuffles and torch (default 0)' },
  { name: 'val-fraction', type: 'number', min: 0, doc: 'share of training normals kept for validation (default 0.1)' },
  { name: 'val-dir', type: 'string', doc: 'labelled validation folder (MVTec layout, or good/ + one folder per anomaly type) instead of --val-fraction; allows --threshold f1-max (default none)' },
  { name: 'include-uncertain', type: 'bool', doc: "image folders: keep test/uncertain as anomalous (default false)" },
  { name: 'skip-bad', type: 'bool', doc: 'skip images that fail to decode and report how many (default false: stop with an error)' },
  { name: 'threads', type: 'int', min: 1, doc: 'libtorch threads (default: all cores)' },
];

function trainSpecs(detector: string | undefined): OptionSpec[] {
  const specs: OptionSpec[] = [
    { name: 'config', type: 'string', doc: 'JSON or YAML file of these options (flags override it)' },
    ...DATA_SPECS,
    { name: 'epochs', type: 'int', min: 1, doc: "training epochs (default: the detector's, 15 for ganomaly)" },
    { name: 'batch-size', type: 'int', min: 1, doc: 'mini-batch size (default 64)' },
    { name: 'lr', type: 'number', min: 0, doc: 'learning rate (default 2e-4)' },
    { name: 'image-size', type: 'int', min: 16, doc: "square input size, a power of two >= 16 for ganomaly (default 32)" },
    { name: 'channels', type: 'string', values: ['1', '3'], doc: "input channels: 1 (grayscale) or 3 (RGB) (default: those of the first training image)" },
    { name: 'train-limit', type: 'int', min: 1, doc: 'use at most N training images (seeded random subset; default all)' },
    { name: 'val-limit', type: 'int', min: 1, doc: 'use at most N validation images (default 2000)' },
    { name: 'threshold', type: 'string', doc: "threshold strategy: 'percentile[:q]' (default percentile:95 of validation normals), 'f1-max' or 'fixed:<value>'" },
    { name: 'normalization', type: 'string', values: NORMALIZATION_KINDS, doc: "score normalisation fitted on validation normals (default 'minmax')" },
    { name: 'out', type: 'string', doc: 'bundle folder to write (default runs/<detector>-<data>-<class>)' },
    { name: 'quiet', type: 'bool', doc: 'no progress output (default false)' },
  ];
  if (detector !== undefined && detectorNames().includes(detector)) {
    for (const k of Object.keys(getDetector(detector).defaults)) {
      if (k === 'isize' || k === 'nc') continue;
      const def = getDetector(detector).defaults[k];
      specs.push({
        name: k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
        type: typeof def === 'boolean' ? 'bool' : 'number',
        doc: typeof def === 'boolean'
          ? `${detector} hyperparameter ${k} (default ${String(def)}; --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}=false turns it off)`
          : `${detector} hyperparameter ${k} (default ${String(def)})`,
      });
    }
  }
  return specs;
}

/** Help for `anogen train`. */
export function trainSpecsFor(detector?: string): OptionSpec[] {
  return trainSpecs(detector ?? detectorNames()[0]);
}

/** Everything a training run needs, after validation of the options. */
export interface TrainRequest {
  detector: string;
  data: DataOptions;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  imageSize?: number;
  /** 1 or 3 (default: the first training image's). */
  channels?: 1 | 3;
  trainLimit?: number;
  valLimit: number;
  threshold?: string;
  normalization?: (typeof NORMALIZATION_KINDS)[number];
  out: string;
  hparams: Record<string, number | boolean>;
  quiet: boolean;
}

/** Parses `anogen train` argv into a request. */
export function parseTrain(argv: string[]): TrainRequest {
  const first = argv.find((a) => !a.startsWith('-'));
  const specs = trainSpecs(first);
  const { positionals, opts } = parseArgs(argv, specs, 'train');
  if (positionals.length !== 1) throw new AnogenError(`anogen train: expected one detector name (${detectorNames().join(', ')}), got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  const detector = getDetector(positionals[0]).name;
  if (typeof opts.data !== 'string') throw new AnogenError("anogen train: --data is required ('mnist', 'fashion-mnist' or a folder)");
  if (opts.threshold !== undefined) {
    const t = parseThresholdStrategy(opts.threshold, '--threshold');
    if (t.kind === 'f1-max' && opts.valDir === undefined) {
      throw new AnogenError("--threshold f1-max needs a labelled validation set: give --val-dir <folder> (good/ + one folder per anomaly type, or the MVTec layout); the default validation split holds normals only");
    }
  }
  const hparams: Record<string, number | boolean> = {};
  const entry = getDetector(detector);
  for (const k of Object.keys(entry.defaults)) {
    const v = opts[k];
    if (typeof v === 'number' || typeof v === 'boolean') hparams[k] = v;
  }
  const cls = (opts.normal ?? opts.abnormal ?? '') as string;
  const dataName = path.basename(String(opts.data));
  return {
    detector,
    data: {
      data: opts.data,
      protocol: opts.protocol as DataOptions['protocol'],
      normal: opts.normal as string | undefined,
      abnormal: opts.abnormal as string | undefined,
      seed: (opts.seed as number) ?? 0,
      valFraction: (opts.valFraction as number) ?? 0.1,
      includeUncertain: opts.includeUncertain as boolean | undefined,
      skipBad: opts.skipBad as boolean | undefined,
      valDir: opts.valDir as string | undefined,
    },
    epochs: opts.epochs as number | undefined,
    batchSize: opts.batchSize as number | undefined,
    lr: opts.lr as number | undefined,
    imageSize: opts.imageSize as number | undefined,
    channels: opts.channels === undefined ? undefined : (Number(opts.channels) as 1 | 3),
    trainLimit: opts.trainLimit as number | undefined,
    valLimit: (opts.valLimit as number) ?? 2000,
    threshold: opts.threshold as string | undefined,
    normalization: opts.normalization as TrainRequest['normalization'],
    out: (opts.out as string) ?? path.join('runs', [detector, dataName, opts.protocol === 'leave-one-out' ? `not-${cls}` : cls].filter(Boolean).join('-')),
    hparams,
    quiet: opts.quiet === true,
    ...(typeof opts.threads === 'number' ? (setNumThreads(opts.threads), {}) : {}),
  };
}

/** Result of a training run. */
export interface TrainResult {
  out: string;
  detector: Detector;
  report: FitReport;
  meta: BundleMeta;
}

/** Runs a training request: splits, tensors, fit (Ctrl-C aware), bundle. */
export async function runTrain(req: TrainRequest, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<TrainResult> {
  const entry = getDetector(req.detector);
  const splits = buildSplits(req.data);
  const ds = splits.train.dataset;
  const first = await ds.loadItem(splits.train.sourceName(0), splits.train.index[0]);
  const channels = req.channels ?? (first.image.channels === 3 ? 3 : 1);
  const size = req.imageSize ?? (entry.defaults.isize as number) ?? 32;
  const transforms = fromConfig(imageTransforms({ size, channels }));
  // Validate hyperparameters before loading pixels.
  const detector = entry.create({ ...req.hparams, isize: size, nc: channels });
  const nTrain = Math.min(splits.train.length, req.trainLimit ?? Infinity);
  const nVal = Math.min(splits.validation.length, req.valLimit);
  log(
    `anogen train ${req.detector}: ${splits.record.dataset} ${splits.record.protocol}` +
      `${splits.record.normalClass !== undefined ? ` normal=${splits.record.normalClass}` : ''}${splits.record.anomalyClass !== undefined ? ` abnormal=${splits.record.anomalyClass}` : ''}` +
      ` | train ${nTrain}/${splits.train.length}, val ${nVal}${splits.record.userValidation ? ` (labelled, ${splits.validation.counts.anomalous} anomalous)` : ''}, test ${splits.test.length} (${splits.record.counts.testAnomalous} anomalous) | ${size}x${size}x${channels}`,
  );
  let train;
  let val;
  try {
    train = await loadSubset(splits.train, transforms, req.trainLimit, req.data.seed);
    val = await loadSubset(splits.validation, transforms, req.valLimit, req.data.seed + 1);
  } catch (e) {
    detector.dispose();
    if (train) disposeBatch(train.batch);
    throw e;
  }
  const skipped = ds instanceof FolderDataset ? ds.badFiles.size : 0;
  if (skipped > 0) log(`skipped ${skipped} image(s) that failed to decode (--skip-bad), e.g. ${[...(ds as FolderDataset).badFiles][0]}`);
  const valLabels = val.split.subset(Array.from(val.batch.positions)).label;
  const epochs = req.epochs ?? entry.trainDefaults.epochs;
  const batchSize = req.batchSize ?? entry.trainDefaults.batchSize;
  const lr = req.lr ?? entry.trainDefaults.lr;
  const training = {
    epochs,
    batchSize,
    lr,
    seed: req.data.seed,
    trainImages: train.batch.positions.length,
    valImages: val.batch.positions.length,
    trainLimit: req.trainLimit ?? null,
    valLimit: req.valLimit,
    ...(skipped > 0 ? { skippedImages: skipped } : {}),
  };
  const meta: BundleMeta = { transforms, protocol: { ...splits.record, options: req.data }, training };
  const ckptDir = path.join(req.out, 'checkpoint');
  (detector as { checkpointer?: unknown }).checkpointer = (info: { epoch: number; step: number; reason: string }) => {
    saveBundle(ckptDir, detector, { ...meta, training: { ...training, checkpoint: info } });
  };
  let stop = false;
  let sigints = 0;
  const onSigint = (): void => {
    sigints++;
    if (sigints > 1) process.exit(130);
    stop = true;
    log('\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  const progress = progressPrinter(process.stderr);
  let report: FitReport;
  try {
    report = await detector.fit(
      { images: train.batch.x },
      {
        val: { images: val.batch.x, ...(splits.record.userValidation ? { labels: valLabels } : {}) },
        epochs,
        batchSize,
        lr,
        seed: req.data.seed,
        checkpointDir: ckptDir,
        onProgress: req.quiet ? undefined : progress,
        shouldStop: () => stop,
        calibration: { normalization: req.normalization ?? 'minmax', threshold: req.threshold },
      },
    );
  } finally {
    progress.done();
    process.off('SIGINT', onSigint);
    disposeBatch(train.batch);
    disposeBatch(val.batch);
  }
  if (report.interrupted) {
    throw new InterruptedError(`interrupted at epoch ${report.epochs}: checkpoint saved in ${ckptDir}`);
  }
  const finalMeta = { ...meta, training: { ...training, seconds: report.seconds, imagesPerSecond: report.imagesPerSecond, steps: report.steps } };
  saveBundle(req.out, detector, finalMeta);
  writeJsonAtomic(path.join(req.out, 'history.json'), { losses: report.history });
  fs.rmSync(ckptDir, { recursive: true, force: true });
  log(
    `trained in ${report.seconds.toFixed(1)} s (${report.imagesPerSecond.toFixed(1)} img/s, ${report.steps} steps); ` +
      `threshold ${detector.calibration!.threshold.kind} = ${detector.calibration!.threshold.value.toPrecision(4)} on ${val.batch.positions.length} validation images`,
  );
  log(`bundle written to ${req.out}`);
  return { out: req.out, detector, report, meta: finalMeta };
}

/** Ctrl-C during training: a checkpoint was saved; exit code 130. */
export class InterruptedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}

/** `anogen train`. */
export async function trainCommand(argv: string[]): Promise<number> {
  const req = parseTrain(argv);
  const r = await runTrain(req);
  r.detector.dispose();
  process.stdout.write(`${r.out}\n`);
  return 0;
}
