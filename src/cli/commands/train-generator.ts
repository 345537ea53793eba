/**
 * `anogen train <generator> --data ... [--classes c1,c2 | --normal C] --out DIR`: the
 * command-line front of src/pipeline/generate.ts's trainGenerator. `anogen train` hands its
 * argv here when the model named is a registered generator (src/models), or when `--resume`
 * names a generator run's checkpoint; the model's flags come from its hyperparameter schema, as
 * a detector's do. As `anogen train <detector>`: Ctrl-C saves `<out>/checkpoint`,
 * `anogen train [<generator>] --resume <out> [--epochs N]` continues it, and the run is recorded
 * in the run registry (src/runs; `--home`, `--no-registry`).
 */
import path from 'node:path';
import { AnogenError, setNumThreads } from '../../core/index.js';
import '../../models/index.js';
import { defaultGeneratorSize, generatorNames, getGenerator, isGenerator } from '../../models/registry.js';
import { detectorNames } from '../../detectors/registry.js';
import { flagName } from '../../detectors/schema.js';
import { resolveHParams } from '../../util/schema.js';
import {
  findGeneratorCheckpoint,
  generatorCheckpointRequest,
  readGeneratorConfig,
  trainGenerator,
  type GeneratorTrainRequest,
  type GeneratorTrainResult,
} from '../../pipeline/generate.js';
import type { ProgressEvent } from '../../train/loop.js';
import { recordGeneratorTrain, type RecordOptions } from '../../runs/record.js';
import { optionsHelp, parseArgs, type OptionSpec } from '../args.js';
import { progressPrinter } from '../progress.js';
import { checkOutputPath, storedDataPath } from '../paths.js';
import { stdout } from '../io.js';
import { DATA_SPECS, DEVICE_SPEC, deviceOption, paramOption, RESUME_OPTIONS } from './train.js';
import { REGISTRY_SPECS, registryOptions } from './runs.js';

/** The value of `--resume` in argv (undefined when absent). */
function resumeInArgs(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--resume' || a.startsWith('--resume='));
  if (i < 0) return undefined;
  return argv[i]!.includes('=') ? argv[i]!.slice('--resume='.length) : argv[i + 1];
}

/** The generator of the checkpoint in `dir` (or `dir/checkpoint`); undefined when there is none, or a detector's. */
function checkpointGenerator(dir: string): string | undefined {
  try {
    return readGeneratorConfig(findGeneratorCheckpoint(dir)).generator;
  } catch {
    return undefined; // no checkpoint, or a detector's: the command that parses argv says so
  }
}

/**
 * The generator named in `anogen train` argv (its first positional), when it is a registered
 * generator; with `--resume DIR`, the generator of DIR's checkpoint when it is a generator's.
 * A name that is also a detector (pixelcnn: the generator and its likelihood detector) trains
 * the detector when a `--protocol` is given, the generator otherwise.
 */
export function generatorInArgs(argv: string[]): string | undefined {
  const resume = resumeInArgs(argv);
  const fromCheckpoint = resume === undefined ? undefined : checkpointGenerator(resume);
  if (fromCheckpoint !== undefined) return fromCheckpoint;
  const first = argv.find((a, i) => !a.startsWith('-') && (i === 0 || !argv[i - 1]!.startsWith('--') || argv[i - 1]!.includes('=')));
  if (first !== undefined && detectorNames().includes(first) && argv.some((a) => a === '--protocol' || a.startsWith('--protocol='))) return undefined;
  return isGenerator(first) ? first : undefined;
}

const dataSpec = (name: string) => DATA_SPECS.find((s) => s.name === name)!;

/** Every option of `anogen train <generator>` (the generic ones, then the model's schema). */
export function generatorTrainSpecs(generator: string): OptionSpec[] {
  const e = getGenerator(generator);
  const td = e.trainDefaults;
  const specs: OptionSpec[] = [
    { ...dataSpec('data'), doc: "dataset: 'mnist', 'fashion-mnist', an IDX folder or an image folder (its normal training images) (required)" },
    { name: 'classes', type: 'string', doc: 'class-labelled data: train on these classes, comma-separated names or indices (default all)' },
    { name: 'normal', type: 'string', doc: 'train on this one class (the same as --classes C) (default all classes)' },
    { ...dataSpec('seed'), doc: 'seed of the subset, the shuffles and torch (default 0)' },
    dataSpec('skip-bad'),
    dataSpec('cache-mb'),
    dataSpec('threads'),
    { name: 'epochs', type: 'int', min: 1, max: 100000, doc: `training epochs (default ${td.epochs})` },
    { name: 'batch-size', type: 'int', min: 1, max: 65536, doc: `mini-batch size (default ${td.batchSize})` },
    { name: 'lr', type: 'number', min: 0, max: 10, doc: `learning rate (default ${td.lr})` },
    { name: 'image-size', type: 'int', min: 1, max: 1024, doc: `square image size (default ${defaultGeneratorSize(e)})` },
    { name: 'channels', type: 'string', values: ['1', '3'], doc: 'image channels: 1 (grayscale) or 3 (RGB) (default: those of the first training image)' },
    { name: 'train-limit', type: 'int', min: 1, doc: 'use at most N training images (seeded random subset; default all)' },
    { name: 'out', type: 'string', doc: `bundle folder to write (default runs/${generator}-<data>[-<classes>])` },
    { name: 'force', type: 'bool', doc: 'replace an existing bundle in --out (default false: refuse)' },
    {
      name: 'resume',
      type: 'string',
      doc: 'continue an interrupted run (Ctrl-C) from its checkpoint (<out> or <out>/checkpoint) exactly; only --epochs may change (default none)',
    },
    { name: 'checkpoint-every', type: 'int', min: 0, doc: 'also write the checkpoint every N steps (default 0: at every epoch end)' },
    { name: 'quiet', type: 'bool', doc: 'no progress output, only results (default false)' },
    DEVICE_SPEC,
    ...REGISTRY_SPECS,
  ];
  const skip = [e.input.sizeParam, e.input.channelsParam];
  for (const [k, s] of Object.entries(e.schema)) if (!skip.includes(k)) specs.push(paramOption(e.name, k, s));
  return specs;
}

/** `anogen help train <generator>`. */
export function generatorTrainHelp(generator: string): string {
  const e = getGenerator(generator);
  return `anogen train ${e.name} [options]\n\n${e.description}\nA generative model: it trains on the training split of the chosen classes; \`anogen sample <bundle>\` draws an image grid.\n\n${optionsHelp(generatorTrainSpecs(e.name))}\n`;
}

/** What `anogen train <generator>` was asked. */
export interface GeneratorTrainCommand {
  request: GeneratorTrainRequest;
  /** The `--resume` argument (then `request` is the checkpoint's, with --epochs applied; default none). */
  resume?: string;
  quiet: boolean;
  /** Run registry: where and whether to record the run (default: recorded in resolveHome()). */
  registry?: RecordOptions;
}

/** `anogen train [<generator>] --resume DIR [--epochs N ...]`: the checkpoint's request, checked. */
function parseGeneratorResume(generator: string, positionals: string[], opts: Record<string, unknown>): GeneratorTrainCommand {
  const dir = opts.resume as string;
  const extra = Object.keys(opts).filter((k) => !RESUME_OPTIONS.includes(k));
  if (extra.length > 0 || positionals.length > 1) {
    throw new AnogenError(
      `anogen train --resume continues a run as it was started; only ${RESUME_OPTIONS.filter((k) => k !== 'resume')
        .map((k) => `--${flagName(k)}`)
        .join(', ')} may be given (got ${[...positionals.slice(1), ...extra.map((k) => `--${flagName(k)}`)].join(', ')})`,
    );
  }
  findGeneratorCheckpoint(dir); // an AnogenError naming the folder when it holds no generator checkpoint
  const request = generatorCheckpointRequest(dir);
  if (positionals.length === 1 && positionals[0] !== request.generator) {
    throw new AnogenError(`anogen train ${positionals[0]} --resume ${dir}: that checkpoint is a ${request.generator} run; resume it with anogen train --resume ${dir}`);
  }
  if (typeof opts.epochs === 'number') request.epochs = opts.epochs;
  if (typeof opts.checkpointEvery === 'number') request.checkpointEvery = opts.checkpointEvery;
  if (opts.device !== undefined) request.device = deviceOption(opts);
  return { request, resume: dir, quiet: opts.quiet === true, registry: registryOptions(opts) };
}

/** Parses `anogen train <generator>` argv into a request. */
export function parseGeneratorTrain(argv: string[]): GeneratorTrainCommand {
  const generator = generatorInArgs(argv);
  if (generator === undefined) throw new AnogenError(`anogen train: expected a generator name (${generatorNames().join(', ')})`);
  const { positionals, opts } = parseArgs(argv, generatorTrainSpecs(generator), 'train');
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  if (typeof opts.resume === 'string') return parseGeneratorResume(generator, positionals, opts);
  if (positionals.length !== 1) throw new AnogenError(`anogen train: expected one model name, got ${positionals.join(' ')}`);
  if (typeof opts.data !== 'string') throw new AnogenError("anogen train: --data is required ('mnist', 'fashion-mnist' or a folder)");
  if (opts.classes !== undefined && opts.normal !== undefined) throw new AnogenError('--classes and --normal exclude each other: --normal C is --classes C');
  const classSpec = (opts.classes ?? opts.normal) as string | undefined;
  const classes = classSpec === undefined ? undefined : classSpec.split(',').map((c) => c.trim());
  if (classes !== undefined && classes.some((c) => c === ''))
    throw new AnogenError(`--classes ${JSON.stringify(classSpec)}: expected comma-separated class names or indices, e.g. 0,1,7`);
  const entry = getGenerator(generator);
  const hparams: Record<string, unknown> = {};
  for (const k of Object.keys(entry.schema)) if (opts[k] !== undefined) hparams[k] = opts[k];
  if (typeof hparams.dataB === 'string' && hparams.dataB.trim() !== '') hparams.dataB = storedDataPath(hparams.dataB); // domain B (cyclegan), as --data
  resolveHParams(entry.schema, hparams, `--${generator}`); // every value checked before any work
  const out = (opts.out as string) ?? path.join('runs', [generator, path.basename(String(opts.data)), ...(classes ?? [])].join('-'));
  checkOutputPath(out, '--out', 'folder');
  return {
    request: {
      generator,
      data: {
        data: storedDataPath(String(opts.data)),
        classes,
        seed: (opts.seed as number) ?? 0,
        skipBad: opts.skipBad as boolean | undefined,
        cacheMb: opts.cacheMb as number | undefined,
      },
      epochs: opts.epochs as number | undefined,
      batchSize: opts.batchSize as number | undefined,
      lr: opts.lr as number | undefined,
      imageSize: opts.imageSize as number | undefined,
      channels: opts.channels === undefined ? undefined : (Number(opts.channels) as 1 | 3),
      trainLimit: opts.trainLimit as number | undefined,
      out,
      hparams,
      force: opts.force === true,
      checkpointEvery: opts.checkpointEvery as number | undefined,
      device: deviceOption(opts),
    },
    quiet: opts.quiet === true,
    registry: registryOptions(opts),
  };
}

/**
 * Runs a parsed `anogen train <generator>` with the terminal's conveniences: Ctrl-C saves a
 * checkpoint (a second Ctrl-C quits at once), progress on stderr unless quiet; `onProgress`
 * (default none) also gets every step, quiet or not.
 */
export async function runGeneratorTrainCommand(
  cmd: GeneratorTrainCommand,
  log: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
  onProgress?: (e: ProgressEvent) => void,
): Promise<GeneratorTrainResult> {
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
    return await trainGenerator(cmd.request, { log: cmd.quiet ? undefined : log, onProgress: both, shouldStop: () => stop }, cmd.resume);
  } finally {
    progress.done();
    process.off('SIGINT', onSigint);
  }
}

/** `anogen train <generator>`: trains (recorded in the run registry), prints the bundle folder. */
export async function trainGeneratorCommand(argv: string[]): Promise<number> {
  const cmd = parseGeneratorTrain(argv);
  const r = await recordGeneratorTrain(cmd.registry ?? {}, cmd.request, cmd.resume, (onProgress) => runGeneratorTrainCommand(cmd, undefined, onProgress));
  r.model.dispose();
  stdout(`${r.out}\n`);
  return 0;
}
