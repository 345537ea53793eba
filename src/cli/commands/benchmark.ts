/**
 * `anogen benchmark --detectors a,b --data x,y [--protocol P --classes c1,c2] [budget] --out DIR`:
 * the command-line front of src/pipeline's benchmark (a resumable table of detectors x
 * datasets x classes x seeds, each cell beside the classical floors).
 *
 * Per-detector hyperparameters: `--hparams ganomaly.nz=8,ganomaly.ngf=8` (`detector.key=value`,
 * comma-separated; a key without `detector.` applies to every listed detector whose schema has
 * it), or in a `--config` JSON/YAML file, where `hparams` may also be a mapping
 * `{ ganomaly: { nz: 8 } }` and list options may be YAML lists.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { AnogenError, setNumThreads } from '../../core/index.js';
import { PROTOCOLS, type ProtocolName } from '../../data/protocols.js';
import { getDetector } from '../../detectors/registry.js';
import { didYouMean, flagName } from '../../detectors/schema.js';
import { benchmark, BENCHMARK_JSON, BENCHMARK_MD, FLOOR_NAMES, detectorOfRow, parseDetectorRow, type BenchmarkRequest } from '../../pipeline/benchmark.js';
import { rowOf } from '../../pipeline/rows.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { progressPrinter } from '../progress.js';
import { checkOutputPath } from '../paths.js';
import { DEVICE_SPEC, deviceOption } from './train.js';
import { stdout } from '../io.js';
import { list, parseHParamsList } from '../hparams-list.js';
import { recordBenchmark, type RecordOptions } from '../../runs/record.js';
import { REGISTRY_SPECS, registryOptions } from './runs.js';
import path from 'node:path';
import { generativeBenchmarkCommand } from './benchmark-generative.js';

/** Every option of `anogen benchmark`, with its default. */
export const BENCHMARK_SPECS: OptionSpec[] = [
  { name: 'config', type: 'string', doc: 'JSON or YAML file of these options (lists may be YAML lists; hparams may be a mapping detector: {key: value}); flags override it' },
  { name: 'suite', type: 'string', values: ['detectors', 'generative'], doc: "'detectors' (AUROC tables) or 'generative' (generators' sample quality) (default detectors)" },
  { name: 'models', type: 'string', doc: '--suite generative: comma-separated generators, one row each (name@label: another row, e.g. gan@minimax)' },
  { name: 'samples', type: 'int', min: 2, max: 1000000, doc: '--suite generative: samples measured per generator (default 10000)' },
  {
    name: 'detectors',
    type: 'string',
    doc: 'comma-separated detectors, one column of cells each; name@label adds a row of the same detector with its own --hparams, e.g. patchcore,patchcore@aware (required; anogen models lists them)',
  },
  { name: 'data', type: 'string', doc: "comma-separated datasets: 'mnist', 'fashion-mnist', IDX folders or image folders (required)" },
  { name: 'protocol', type: 'string', values: PROTOCOLS, doc: "one-class protocol of every dataset (default 'folder'; mnist needs one-vs-rest or leave-one-out)" },
  { name: 'classes', type: 'string', doc: "comma-separated classes: normal (one-vs-rest) or anomalous (leave-one-out), one cell each (default: every class; not with 'folder')" },
  { name: 'seeds', type: 'string', doc: 'comma-separated seeds of the splits, shuffles and torch, one cell each (default 0)' },
  { name: 'train-limit', type: 'int', min: 1, doc: 'training images per cell (seeded random subset; default all)' },
  { name: 'epochs', type: 'int', min: 1, max: 100000, doc: "training epochs (default: each detector's)" },
  { name: 'batch-size', type: 'int', min: 1, max: 65536, doc: "mini-batch size (default: each detector's)" },
  { name: 'lr', type: 'number', min: 0, max: 10, doc: "learning rate (default: each detector's)" },
  { name: 'image-size', type: 'int', min: 1, max: 1024, doc: "square input size of the detectors and the floors (default: each detector's)" },
  { name: 'channels', type: 'string', values: ['1', '3'], doc: 'input channels (default: those of the first training image)' },
  { name: 'test-limit', type: 'int', min: 1, doc: 'test images per cell (seeded random subset; default all)' },
  { name: 'val-limit', type: 'int', min: 1, doc: "validation images for the detectors' calibration (default 2000)" },
  { name: 'val-fraction', type: 'number', min: 0, max: 0.9, doc: 'share of training normals kept for validation (default 0.1)' },
  { name: 'include-uncertain', type: 'bool', doc: 'image folders: keep test/uncertain as anomalous (default false: left out)' },
  { name: 'skip-bad', type: 'bool', doc: 'skip images that fail to decode (default false: stop with an error)' },
  {
    name: 'hparams',
    type: 'string',
    doc: 'detector hyperparameters: detector.key=value,... (a key without detector. applies to every detector that has it; a value may hold commas, e.g. gaussian.backbone-layers=layer2,layer3; default none)',
  },
  { name: 'floors', type: 'string', doc: `comma-separated floors, or none (default ${FLOOR_NAMES.join(',')}; ocsvm only when an ocsvm detector is registered)` },
  { name: 'patch-size', type: 'int', min: 1, max: 1024, doc: 'patch kNN floor: patch side in pixels (default 8)' },
  { name: 'patch-stride', type: 'int', min: 1, max: 1024, doc: 'patch kNN floor: step between patches (default patch-size / 2)' },
  { name: 'patch-position-aware', type: 'bool', doc: 'patch kNN floor: compare only patches at the same location, for aligned images (default false)' },
  { name: 'out', type: 'string', doc: `output folder: ${BENCHMARK_JSON}, ${BENCHMARK_MD}; a rerun resumes it (default runs/benchmark)` },
  { name: 'keep-bundles', type: 'bool', doc: "keep every cell's trained bundle in <out>/cells/ (default false)" },
  { name: 'threads', type: 'int', min: 1, max: 1024, doc: 'libtorch threads (default: all cores)' },
  { name: 'quiet', type: 'bool', doc: 'no progress output, only where the tables are (default false)' },
  DEVICE_SPEC,
  ...REGISTRY_SPECS,
];

/** `anogen help benchmark`. */
export const BENCHMARK_HELP = `anogen benchmark --detectors <d1,d2> --data <mnist,fashion-mnist|dir,...> [options]

A table of detectors x datasets x classes x seeds: every cell trains the detector (anogen train)
and evaluates it on the test split (anogen eval), beside classical floors on the same split:
PCA reconstruction (90% variance), kNN distance (k 5, mean), patch kNN on raw pixels (image score
= its worst patch's distance to the nearest training patch) and an OC-SVM on raw pixels (when an
ocsvm detector is registered). Writes <out>/${BENCHMARK_JSON} and <out>/${BENCHMARK_MD} after every
cell; run the same command again to resume (finished cells with the same options are kept).
Nothing is selected on the test split.

--suite generative: a table of generators (--models gan,wgan,wgan-gp) trained at the budget on
--data mnist or fashion-mnist, each measured on --samples samples (default 10000) with the
committed quality classifier of the dataset: Fréchet distance of its features to the test
split's, classifier score, classes covered, KL from uniform; plus a sample grid per model.

Example:
  anogen benchmark --detectors ganomaly --data mnist --protocol one-vs-rest --classes 0,1,2 \\
    --train-limit 1000 --epochs 5 --test-limit 2000 --image-size 32 --hparams ganomaly.nz=100 --out runs/bench

${'' /* options follow */}`;

/** Parses `--hparams detector.key=value,...` for the given detectors. */
export function parseHParams(text: string, detectors: string[]): Record<string, Record<string, unknown>> {
  return parseHParamsList(text, detectors, { schemaOf: (d) => getDetector(detectorOfRow(d)).schema, listFlag: '--detectors', what: 'detector', example: 'ganomaly.nz=8' });
}

/** Reads `--config` into flags (lists joined with commas, an hparams mapping flattened to detector.key=value). */
function configArgs(argv: string[]): string[] {
  const i = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (i < 0) return argv;
  const file = argv[i]!.includes('=') ? argv[i]!.slice('--config='.length) : argv[i + 1];
  if (file === undefined) throw new AnogenError('anogen benchmark: option --config needs a value (a JSON or YAML file)');
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new AnogenError(`--config ${file}: no such file`);
  let obj: unknown;
  try {
    obj = /\.ya?ml$/i.test(file) ? YAML.parse(fs.readFileSync(file, 'utf8')) : JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new AnogenError(`--config ${file}: cannot parse (${(e as Error).message.split('\n')[0]}); expected a JSON or YAML object`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new AnogenError(`--config ${file}: expected an object of option: value`);
  const flags: string[] = [];
  const names = BENCHMARK_SPECS.filter((s) => s.name !== 'config').map((s) => s.name);
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const name = flagName(k);
    if (!names.includes(name)) throw new AnogenError(`--config ${file}: unknown key ${JSON.stringify(k)}${didYouMean(name, names)}; valid keys: ${names.join(', ')}`);
    let value: string;
    if (name === 'hparams' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      value = Object.entries(v as Record<string, unknown>)
        .flatMap(([d, hp]) => {
          if (hp === null || typeof hp !== 'object' || Array.isArray(hp)) throw new AnogenError(`--config ${file}: hparams.${d} must be a mapping of key: value`);
          return Object.entries(hp as Record<string, unknown>).map(([hk, hv]) => `${d}.${hk}=${String(hv)}`);
        })
        .join(',');
    } else if (Array.isArray(v)) value = v.map(String).join(',');
    else if (v !== null && typeof v === 'object') throw new AnogenError(`--config ${file}: ${k} must be a value or a list`);
    else value = String(v);
    flags.push(`--${name}=${value}`);
  }
  return [...flags, ...argv.slice(0, i), ...argv.slice(i + (argv[i]!.includes('=') ? 1 : 2))];
}

/** Parses `anogen benchmark` argv into a request. */
export function parseBenchmark(argv: string[]): BenchmarkRequest & { quiet: boolean; registry: RecordOptions } {
  const { positionals, opts } = parseArgs(configArgs(argv), BENCHMARK_SPECS, 'benchmark');
  if (positionals.length > 0) throw new AnogenError(`anogen benchmark: unexpected argument ${positionals[0]}; detectors go in --detectors a,b`);
  if (opts.models !== undefined || opts.samples !== undefined) throw new AnogenError('--models and --samples belong to --suite generative');
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  if (opts.detectors === undefined) throw new AnogenError('anogen benchmark: --detectors is required (comma-separated; anogen models lists them)');
  if (opts.data === undefined) throw new AnogenError("anogen benchmark: --data is required ('mnist', 'fashion-mnist' or folders, comma-separated)");
  const detectors = list(opts.detectors).map((d) => {
    const r = parseDetectorRow(d);
    return rowOf(r.detector, r.label);
  });
  const seeds =
    opts.seeds === undefined
      ? undefined
      : list(opts.seeds).map((s) => {
          if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s)))
            throw new AnogenError(`--seeds: ${JSON.stringify(s)} is not valid; expected integers >= 0, comma-separated (default 0)`);
          return Number(s);
        });
  const floors = opts.floors === undefined ? undefined : String(opts.floors).trim() === 'none' ? [] : list(opts.floors);
  const out = (opts.out as string) ?? path.join('runs', 'benchmark');
  checkOutputPath(out, '--out', 'folder');
  return {
    detectors,
    data: list(opts.data),
    protocol: opts.protocol as ProtocolName | undefined,
    classes: opts.classes === undefined ? undefined : list(opts.classes),
    seeds,
    trainLimit: opts.trainLimit as number | undefined,
    epochs: opts.epochs as number | undefined,
    batchSize: opts.batchSize as number | undefined,
    lr: opts.lr as number | undefined,
    imageSize: opts.imageSize as number | undefined,
    channels: opts.channels === undefined ? undefined : (Number(opts.channels) as 1 | 3),
    testLimit: opts.testLimit as number | undefined,
    valLimit: opts.valLimit as number | undefined,
    valFraction: opts.valFraction as number | undefined,
    includeUncertain: opts.includeUncertain as boolean | undefined,
    skipBad: opts.skipBad as boolean | undefined,
    hparams: opts.hparams === undefined ? undefined : parseHParams(String(opts.hparams), detectors),
    floors,
    patch: {
      ...(opts.patchSize !== undefined ? { patchSize: opts.patchSize as number } : {}),
      ...(opts.patchStride !== undefined ? { stride: opts.patchStride as number } : {}),
      ...(opts.patchPositionAware !== undefined ? { positionAware: opts.patchPositionAware as boolean } : {}),
    },
    out,
    keepBundles: opts.keepBundles === true,
    device: deviceOption(opts),
    command: ['anogen', 'benchmark', ...argv].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' '),
    quiet: opts.quiet === true,
    registry: registryOptions(opts),
  };
}

/** `anogen benchmark`. */
export async function benchmarkCommand(argv: string[]): Promise<number> {
  const parsed = parseArgs(configArgs(argv), BENCHMARK_SPECS, 'benchmark');
  if (parsed.opts.suite === 'generative') {
    if (parsed.positionals.length > 0) throw new AnogenError(`anogen benchmark: unexpected argument ${parsed.positionals[0]}; generators go in --models a,b`);
    return generativeBenchmarkCommand(parsed.opts, argv);
  }
  const req = parseBenchmark(argv);
  let stop = false;
  const onSigint = (): void => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write('\ninterrupt: stopping after this training step (finished cells are saved; run the same command to resume)\n');
  };
  process.on('SIGINT', onSigint);
  const progress = progressPrinter(process.stderr);
  try {
    const log = (s: string) => {
      progress.done();
      process.stderr.write(`${s}\n`);
    };
    const { registry, ...request } = req;
    const files = { json: path.join(req.out, BENCHMARK_JSON), md: path.join(req.out, BENCHMARK_MD) };
    const table = await recordBenchmark(registry, request, files, () =>
      benchmark(request, { log: req.quiet ? undefined : log, onProgress: req.quiet ? undefined : progress, shouldStop: () => stop }),
    );
    stdout(`${path.join(req.out, BENCHMARK_JSON)}\n${path.join(req.out, BENCHMARK_MD)}\n`);
    return table.cells.some((c) => c.status === 'failed') ? 1 : 0;
  } finally {
    progress.done();
    process.off('SIGINT', onSigint);
  }
}
