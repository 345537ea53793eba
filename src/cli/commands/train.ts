/**
 * `anogen train <detector> --data ... --out DIR`: the command-line front of src/pipeline's
 * train. The detector's flags come from its hyperparameter schema; this file parses argv,
 * installs the Ctrl-C handler and the progress printer, and prints where the bundle is.
 */
import path from 'node:path';
import { AnogenError, setNumThreads } from '../../core/index.js';
import { resolveDevice, type DeviceSpec } from '../../core/runtime.js';
import { PROTOCOLS } from '../../data/protocols.js';
import { NORMALIZATION_KINDS } from '../../eval/normalize.js';
import { parseThresholdStrategy } from '../../eval/threshold.js';
import { defaultInputSize, detectorNames, getDetector } from '../../detectors/registry.js';
import { describeParam, flagName, resolveHParams, type ParamSpec } from '../../detectors/schema.js';
import { checkpointRequest, InterruptedError, train, type TrainRequest, type TrainResult } from '../../pipeline/train.js';
import type { DataOptions } from '../../pipeline/data.js';
import { parseArgs, readConfigFile, type OptionSpec } from '../args.js';
import { progressPrinter } from '../progress.js';
import { checkOutputPath, storedDataPath } from '../paths.js';
import { stdout } from '../io.js';
import { recordTrain, type RecordOptions } from '../../runs/record.js';
import { REGISTRY_SPECS, registryOptions } from './runs.js';
import type { ProgressEvent } from '../../detectors/api.js';

export { InterruptedError };

/** Data options shared by train and eval. */
export const DATA_SPECS: OptionSpec[] = [
  { name: 'data', type: 'string', doc: "dataset: 'mnist', 'fashion-mnist', an image folder (MVTec layout) or an IDX folder (required)" },
  { name: 'protocol', type: 'string', values: PROTOCOLS, doc: "one-class protocol (default 'folder' for image folders; required for mnist)" },
  { name: 'normal', type: 'string', doc: 'normal class for one-vs-rest (e.g. 3)' },
  { name: 'abnormal', type: 'string', doc: 'anomalous class for leave-one-out (e.g. 3)' },
  { name: 'seed', type: 'int', min: 0, max: 2 ** 31 - 1, doc: 'seed of the splits, shuffles and torch (default 0)' },
  { name: 'val-fraction', type: 'number', min: 0, max: 0.9, doc: 'share of training normals kept for validation (default 0.1)' },
  {
    name: 'val-dir',
    type: 'string',
    doc: 'labelled validation folder (MVTec layout, or good/ + one folder per anomaly type) instead of --val-fraction; allows --threshold f1-max (default none)',
  },
  { name: 'include-uncertain', type: 'bool', doc: 'image folders: keep test/uncertain as anomalous (default false)' },
  { name: 'skip-bad', type: 'bool', doc: 'skip images that fail to decode and report how many (default false: stop with an error)' },
  { name: 'cache-mb', type: 'number', min: 0, max: 1e6, doc: 'image folders: memory for decoded images in MiB (default 256); training streams from disk beyond it' },
  { name: 'threads', type: 'int', min: 1, max: 1024, doc: 'libtorch threads (default: all cores)' },
];

/** `--device`, shared by train, eval and score. */
export const DEVICE_SPEC: OptionSpec = {
  name: 'device',
  type: 'string',
  doc: 'where the model runs: auto (CUDA when this libtorch has it and sees a GPU, else the CPU), cpu, cuda or cuda:N (default auto)',
};

/** The device spec of parsed options, checked (an AnogenError for a bad or unavailable device); undefined when not given. */
export function deviceOption(opts: Record<string, unknown>): DeviceSpec | undefined {
  if (opts.device === undefined) return undefined;
  resolveDevice(opts.device, '--device');
  return opts.device as DeviceSpec;
}

/** The generic input options mapped to a detector's own hyperparameters (not flags of their own). */
function inputParams(detector: string): string[] {
  const { input } = getDetector(detector);
  return [input.sizeParam, input.channelsParam].filter((p): p is string => p !== undefined);
}

/** A schema entry (of a detector or a generator) as a CLI option. */
export function paramOption(detector: string, key: string, s: ParamSpec): OptionSpec {
  const type = s.type === 'bool' ? 'bool' : s.type === 'int' ? 'int' : s.type === 'number' ? 'number' : 'string';
  return {
    name: flagName(key),
    type,
    ...(s.type === 'enum' ? { values: s.values } : {}),
    ...((s.type === 'int' || s.type === 'number') && s.min !== undefined ? { min: s.min } : {}),
    ...((s.type === 'int' || s.type === 'number') && s.max !== undefined ? { max: s.max } : {}),
    doc: `${detector}: ${describeParam(s)}${s.type === 'bool' ? ` (--${flagName(key)}=${String(!s.default)} to change)` : ''}`,
  };
}

/** Every option of `anogen train <detector>` (the generic ones, then the detector's schema). */
export function trainSpecs(detector: string | undefined): OptionSpec[] {
  const known = detector !== undefined && detectorNames().includes(detector);
  const d = known ? getDetector(detector) : undefined;
  const td = d?.trainDefaults;
  const sizeDefault = d !== undefined ? defaultInputSize(d) : undefined;
  const specs: OptionSpec[] = [
    { name: 'config', type: 'string', doc: 'JSON or YAML file of these options, and `model: <detector>` (flags override it)' },
    { name: 'model', type: 'string', doc: 'the detector, instead of the positional name (mostly for config files)' },
    ...DATA_SPECS,
    { name: 'epochs', type: 'int', min: 1, max: 100000, doc: `training epochs (default ${td ? td.epochs : "the detector's"})` },
    { name: 'batch-size', type: 'int', min: 1, max: 65536, doc: `mini-batch size (default ${td ? td.batchSize : "the detector's"})` },
    { name: 'lr', type: 'number', min: 0, max: 10, doc: `learning rate (default ${td ? td.lr : "the detector's"})` },
    { name: 'image-size', type: 'int', min: 1, max: 1024, doc: `square input size (default ${sizeDefault ?? "the detector's"})` },
    { name: 'channels', type: 'string', values: ['1', '3'], doc: 'input channels: 1 (grayscale) or 3 (RGB) (default: those of the first training image)' },
    { name: 'train-limit', type: 'int', min: 1, doc: 'use at most N training images (seeded random subset; default all)' },
    { name: 'val-limit', type: 'int', min: 1, doc: 'use at most N validation images (default 2000)' },
    { name: 'threshold', type: 'string', doc: "threshold strategy: 'percentile[:q]' (default percentile:95 of validation normals), 'f1-max' or 'fixed:<value>'" },
    { name: 'normalization', type: 'string', values: NORMALIZATION_KINDS, doc: "score normalisation fitted on validation normals (default 'minmax')" },
    { name: 'out', type: 'string', doc: 'bundle folder to write (default runs/<detector>-<data>-<class>)' },
    { name: 'force', type: 'bool', doc: 'replace an existing bundle in --out (default false: refuse)' },
    { name: 'resume', type: 'string', doc: 'continue an interrupted run from its checkpoint (<out> or <out>/checkpoint) exactly; only --epochs may change (default none)' },
    { name: 'checkpoint-every', type: 'int', min: 0, doc: 'also write the checkpoint every N steps (default 0: at every epoch end)' },
    { name: 'quiet', type: 'bool', doc: 'no progress output, only results (default false)' },
    DEVICE_SPEC,
    ...REGISTRY_SPECS,
  ];
  if (d !== undefined) {
    const skip = inputParams(d.name);
    for (const [k, s] of Object.entries(d.schema)) if (!skip.includes(k)) specs.push(paramOption(d.name, k, s));
  }
  return specs;
}

/** What `anogen train` was asked: the pipeline request plus the front end's own options. */
export interface TrainCommand {
  request: TrainRequest;
  /** The checkpoint to resume (then `request` is the checkpoint's, with --epochs applied). */
  resume?: string;
  quiet: boolean;
  /** Run registry: where and whether to record the run (default: recorded in resolveHome()). */
  registry?: RecordOptions;
}

/** The `model:` of the `--config` file in argv, if any (so that the model's own flags are known when parsing). */
function configModel(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (i < 0) return undefined;
  const file = argv[i]!.includes('=') ? argv[i]!.slice('--config='.length) : argv[i + 1];
  try {
    const obj = readConfigFile(file!, [{ name: 'model', type: 'string', doc: '' }], true) as { model?: unknown };
    return typeof obj.model === 'string' ? obj.model : undefined;
  } catch {
    return undefined; // the real parse reports the file's problem
  }
}

/** Options that may be given with --resume (everything else comes from the checkpoint). */
export const RESUME_OPTIONS = ['resume', 'epochs', 'quiet', 'threads', 'checkpointEvery', 'device', 'home', 'noRegistry'];

/** Parses `anogen train` argv into a request. */
export function parseTrain(argv: string[]): TrainCommand {
  const first = argv.find((a, i) => !a.startsWith('-') && (i === 0 || !argv[i - 1]!.startsWith('--') || argv[i - 1]!.includes('='))) ?? configModel(argv);
  let { positionals, opts } = parseArgs(argv, trainSpecs(first), 'train');
  const model = typeof opts.model === 'string' ? opts.model : undefined;
  if (positionals.length === 0 && model !== undefined) {
    // The detector came from --model or the config file: parse again with its flags.
    ({ positionals, opts } = parseArgs(argv, trainSpecs(model), 'train'));
  }
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  const quiet = opts.quiet === true;
  if (typeof opts.resume === 'string') {
    const extra = Object.keys(opts).filter((k) => !RESUME_OPTIONS.includes(k));
    if (extra.length > 0 || positionals.length > 0) {
      throw new AnogenError(
        `anogen train --resume continues a run as it was started; only ${RESUME_OPTIONS.filter((k) => k !== 'resume')
          .map((k) => `--${flagName(k)}`)
          .join(', ')} may be given (got ${[...positionals, ...extra.map((k) => `--${flagName(k)}`)].join(', ')})`,
      );
    }
    const request = checkpointRequest(opts.resume);
    if (typeof opts.epochs === 'number') request.epochs = opts.epochs;
    if (typeof opts.checkpointEvery === 'number') request.checkpointEvery = opts.checkpointEvery;
    if (opts.device !== undefined) request.device = deviceOption(opts);
    return { request, resume: opts.resume, quiet, registry: registryOptions(opts) };
  }
  if (positionals.length !== 1 && model === undefined) {
    throw new AnogenError(`anogen train: expected one detector name (${detectorNames().join(', ')}), got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  }
  if (model !== undefined && positionals.length > 0 && positionals[0] !== model) {
    throw new AnogenError(`anogen train: the detector is given twice: ${positionals[0]} and model: ${model}`);
  }
  if (positionals.length > 1) throw new AnogenError(`anogen train: expected one detector name, got ${positionals.join(' ')}`);
  const detector = getDetector(positionals[0] ?? model!).name;
  if (typeof opts.data !== 'string') throw new AnogenError("anogen train: --data is required ('mnist', 'fashion-mnist' or a folder)");
  if (opts.threshold !== undefined) {
    const t = parseThresholdStrategy(opts.threshold, '--threshold');
    if (t.kind === 'f1-max' && opts.valDir === undefined) {
      throw new AnogenError(
        '--threshold f1-max needs a labelled validation set: give --val-dir <folder> (good/ + one folder per anomaly type, or the MVTec layout); the default validation split holds normals only',
      );
    }
  }
  if (opts.normal !== undefined && opts.abnormal !== undefined)
    throw new AnogenError('--normal and --abnormal exclude each other: --normal C is for --protocol one-vs-rest, --abnormal C for leave-one-out');
  if (opts.protocol === 'one-vs-rest' && opts.abnormal !== undefined) throw new AnogenError('--abnormal is for --protocol leave-one-out; one-vs-rest takes --normal C');
  if (opts.protocol === 'leave-one-out' && opts.normal !== undefined) throw new AnogenError('--normal is for --protocol one-vs-rest; leave-one-out takes --abnormal C');
  if (opts.protocol === 'folder' && (opts.normal !== undefined || opts.abnormal !== undefined)) {
    throw new AnogenError('--normal/--abnormal do not apply to --protocol folder (the folder layout says what is normal: train/good, test/good)');
  }
  if (opts.valDir !== undefined && opts.valFraction !== undefined)
    throw new AnogenError('--val-dir and --val-fraction exclude each other: a labelled folder replaces the carved-out validation normals');
  const entry = getDetector(detector);
  const hparams: Record<string, unknown> = {};
  for (const k of Object.keys(entry.schema)) if (opts[k] !== undefined) hparams[k] = opts[k];
  resolveHParams(entry.schema, hparams, `--${detector}`); // every value checked before any work
  const cls = (opts.normal ?? opts.abnormal ?? '') as string;
  const dataName = path.basename(String(opts.data));
  const out = (opts.out as string) ?? path.join('runs', [detector, dataName, opts.protocol === 'leave-one-out' ? `not-${cls}` : cls].filter(Boolean).join('-'));
  checkOutputPath(out, '--out', 'folder');
  const data: DataOptions = {
    data: storedDataPath(opts.data),
    protocol: opts.protocol as DataOptions['protocol'],
    normal: opts.normal as string | undefined,
    abnormal: opts.abnormal as string | undefined,
    seed: (opts.seed as number) ?? 0,
    valFraction: (opts.valFraction as number) ?? 0.1,
    includeUncertain: opts.includeUncertain as boolean | undefined,
    skipBad: opts.skipBad as boolean | undefined,
    valDir: opts.valDir === undefined ? undefined : storedDataPath(String(opts.valDir)),
    cacheMb: opts.cacheMb as number | undefined,
  };
  return {
    request: {
      detector,
      data,
      epochs: opts.epochs as number | undefined,
      batchSize: opts.batchSize as number | undefined,
      lr: opts.lr as number | undefined,
      imageSize: opts.imageSize as number | undefined,
      channels: opts.channels === undefined ? undefined : (Number(opts.channels) as 1 | 3),
      trainLimit: opts.trainLimit as number | undefined,
      valLimit: (opts.valLimit as number) ?? 2000,
      threshold: opts.threshold as string | undefined,
      normalization: opts.normalization as TrainRequest['normalization'],
      out,
      hparams,
      force: opts.force === true,
      checkpointEvery: opts.checkpointEvery as number | undefined,
      device: deviceOption(opts),
    },
    quiet,
    registry: registryOptions(opts),
  };
}

/**
 * Runs a parsed training command with the terminal's conveniences: Ctrl-C saves a checkpoint
 * (a second Ctrl-C quits at once), progress on stderr unless quiet; `onProgress` (default none)
 * also gets every step, quiet or not.
 */
export async function runTrainCommand(
  cmd: TrainCommand,
  log: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
  onProgress?: (e: ProgressEvent) => void,
): Promise<TrainResult> {
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
  try {
    const show = cmd.quiet ? undefined : progress;
    const both = onProgress === undefined ? show : (e: ProgressEvent) => (onProgress(e), show?.(e));
    return await train(cmd.request, { log: cmd.quiet ? undefined : log, onProgress: both, shouldStop: () => stop }, cmd.resume);
  } finally {
    progress.done();
    process.off('SIGINT', onSigint);
  }
}

/** `anogen train`. */
export async function trainCommand(argv: string[]): Promise<number> {
  const cmd = parseTrain(argv);
  const r = await recordTrain(cmd.registry ?? {}, cmd.request, cmd.resume, (onProgress) => runTrainCommand(cmd, undefined, onProgress));
  r.detector.dispose();
  stdout(`${r.out}\n`);
  return 0;
}
