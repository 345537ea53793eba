/**
 * `anogen train <generator> --data ... [--classes c1,c2 | --normal C] --out DIR`: the
 * command-line front of src/pipeline/generate.ts's trainGenerator. `anogen train` hands its
 * argv here when the model named is a registered generator (src/models); the model's flags come
 * from its hyperparameter schema, as a detector's do.
 */
import path from 'node:path';
import { AnogenError, setNumThreads } from '../../core/index.js';
import '../../models/index.js';
import { defaultGeneratorSize, generatorNames, getGenerator, isGenerator } from '../../models/registry.js';
import { detectorNames } from '../../detectors/registry.js';
import { resolveHParams } from '../../util/schema.js';
import { trainGenerator, type GeneratorTrainRequest } from '../../pipeline/generate.js';
import { optionsHelp, parseArgs, type OptionSpec } from '../args.js';
import { progressPrinter } from '../progress.js';
import { checkOutputPath } from '../paths.js';
import { stdout } from '../io.js';
import { DATA_SPECS, DEVICE_SPEC, deviceOption, paramOption } from './train.js';

/**
 * The generator named in `anogen train` argv (its first positional), when it is a registered
 * generator. A name that is also a detector (pixelcnn: the generator and its likelihood
 * detector) trains the detector when a `--protocol` is given, the generator otherwise.
 */
export function generatorInArgs(argv: string[]): string | undefined {
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
    { name: 'quiet', type: 'bool', doc: 'no progress output, only results (default false)' },
    DEVICE_SPEC,
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
  quiet: boolean;
}

/** Parses `anogen train <generator>` argv into a request. */
export function parseGeneratorTrain(argv: string[]): GeneratorTrainCommand {
  const generator = generatorInArgs(argv);
  if (generator === undefined) throw new AnogenError(`anogen train: expected a generator name (${generatorNames().join(', ')})`);
  const { positionals, opts } = parseArgs(argv, generatorTrainSpecs(generator), 'train');
  if (positionals.length !== 1) throw new AnogenError(`anogen train: expected one model name, got ${positionals.join(' ')}`);
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  if (typeof opts.data !== 'string') throw new AnogenError("anogen train: --data is required ('mnist', 'fashion-mnist' or a folder)");
  if (opts.classes !== undefined && opts.normal !== undefined) throw new AnogenError('--classes and --normal exclude each other: --normal C is --classes C');
  const classSpec = (opts.classes ?? opts.normal) as string | undefined;
  const classes = classSpec === undefined ? undefined : classSpec.split(',').map((c) => c.trim());
  if (classes !== undefined && classes.some((c) => c === ''))
    throw new AnogenError(`--classes ${JSON.stringify(classSpec)}: expected comma-separated class names or indices, e.g. 0,1,7`);
  const entry = getGenerator(generator);
  const hparams: Record<string, unknown> = {};
  for (const k of Object.keys(entry.schema)) if (opts[k] !== undefined) hparams[k] = opts[k];
  resolveHParams(entry.schema, hparams, `--${generator}`); // every value checked before any work
  const out = (opts.out as string) ?? path.join('runs', [generator, path.basename(String(opts.data)), ...(classes ?? [])].join('-'));
  checkOutputPath(out, '--out', 'folder');
  return {
    request: {
      generator,
      data: {
        data: opts.data,
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
      device: deviceOption(opts),
    },
    quiet: opts.quiet === true,
  };
}

/** `anogen train <generator>`: trains, prints the bundle folder; Ctrl-C stops after the step and saves the weights so far. */
export async function trainGeneratorCommand(argv: string[]): Promise<number> {
  const cmd = parseGeneratorTrain(argv);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  let stop = false;
  let sigints = 0;
  const onSigint = (): void => {
    sigints++;
    if (sigints > 1) process.exit(130);
    stop = true;
    log('\ninterrupt: finishing this step and saving the weights so far (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  const progress = progressPrinter(process.stderr);
  try {
    const r = await trainGenerator(cmd.request, { log: cmd.quiet ? undefined : log, onProgress: cmd.quiet ? undefined : progress, shouldStop: () => stop });
    r.model.dispose();
    stdout(`${r.out}\n`);
    return 0;
  } finally {
    progress.done();
    process.off('SIGINT', onSigint);
  }
}
