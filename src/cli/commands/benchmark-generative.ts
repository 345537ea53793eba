/**
 * `anogen benchmark --suite generative --models gan,wgan --data mnist [budget] [--samples N] --out DIR`:
 * the command-line front of src/pipeline/generative-benchmark.ts (generators x datasets x seeds,
 * each measured by the quality classifier of its dataset). `benchmark.ts` hands its parsed
 * options here when `--suite generative`; `--detectors` is accepted for `--models`. A row
 * `name@label` (e.g. `--models gan,gan@minimax --hparams gan@minimax.loss=minimax`) gives one
 * generator a second row with its own hyperparameters.
 */
import path from 'node:path';
import { AnogenError } from '../../core/index.js';
import { flagName } from '../../util/schema.js';
import '../../models/index.js';
import { generatorNames, getGenerator } from '../../models/registry.js';
import { BENCHMARK_JSON, BENCHMARK_MD } from '../../pipeline/benchmark.js';
import { generativeBenchmark, generatorOfRow, parseGeneratorRow, type GenerativeBenchmarkRequest } from '../../pipeline/generative-benchmark.js';
import { rowOf } from '../../pipeline/rows.js';
import { progressPrinter } from '../progress.js';
import { checkOutputPath } from '../paths.js';
import { list, parseHParamsList } from '../hparams-list.js';
import { stdout } from '../io.js';
import { deviceOption } from './train.js';
import { registryOptions } from './runs.js';
import { recordGenerativeBenchmark } from '../../runs/record.js';

/** Options of the detector suite that the generative suite does not take. */
const DETECTOR_ONLY = ['protocol', 'classes', 'channels', 'valLimit', 'valFraction', 'includeUncertain', 'skipBad', 'floors', 'patchSize', 'patchStride', 'patchPositionAware'];

/**
 * Parses `--hparams model.key=value,...` against the generators' schemas (a key without `model.`
 * applies to every listed row that has it; a row `gan@minimax` takes `gan@minimax.loss=minimax`).
 */
export function parseGeneratorHParams(text: string, models: string[]): Record<string, Record<string, unknown>> {
  return parseHParamsList(text, models, { schemaOf: (m) => getGenerator(generatorOfRow(m)).schema, listFlag: '--models', what: 'model', example: 'gan.ngf=16' });
}

/** Builds the generative benchmark's request from `anogen benchmark`'s parsed options. */
export function parseGenerativeBenchmark(opts: Record<string, unknown>, argv: string[]): GenerativeBenchmarkRequest & { quiet: boolean } {
  for (const k of DETECTOR_ONLY) {
    if (opts[k] !== undefined) throw new AnogenError(`--${flagName(k)} belongs to the detector suite; --suite generative trains every model on all classes of the training split`);
  }
  if (opts.models !== undefined && opts.detectors !== undefined) throw new AnogenError('--models and --detectors name the same list in --suite generative; give one');
  const names = opts.models ?? opts.detectors;
  if (names === undefined) throw new AnogenError(`anogen benchmark --suite generative: --models is required (comma-separated: ${generatorNames().join(', ')})`);
  const models = list(names).map((m) => {
    const r = parseGeneratorRow(m);
    return rowOf(r.generator, r.label);
  });
  if (opts.data === undefined) throw new AnogenError("anogen benchmark --suite generative: --data is required ('mnist' or 'fashion-mnist', comma-separated)");
  const seeds =
    opts.seeds === undefined
      ? undefined
      : list(opts.seeds).map((s) => {
          if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s)))
            throw new AnogenError(`--seeds: ${JSON.stringify(s)} is not valid; expected integers >= 0, comma-separated (default 0)`);
          return Number(s);
        });
  const out = (opts.out as string) ?? path.join('runs', 'benchmark-generative');
  checkOutputPath(out, '--out', 'folder');
  return {
    models,
    data: list(opts.data),
    seeds,
    trainLimit: opts.trainLimit as number | undefined,
    epochs: opts.epochs as number | undefined,
    batchSize: opts.batchSize as number | undefined,
    lr: opts.lr as number | undefined,
    imageSize: opts.imageSize as number | undefined,
    hparams: opts.hparams === undefined ? undefined : parseGeneratorHParams(String(opts.hparams), models),
    samples: opts.samples as number | undefined,
    testLimit: opts.testLimit as number | undefined,
    out,
    keepBundles: opts.keepBundles === true,
    device: deviceOption(opts),
    command: ['anogen', 'benchmark', ...argv].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' '),
    quiet: opts.quiet === true,
  };
}

/** `anogen benchmark --suite generative` (options already parsed by benchmark.ts). */
export async function generativeBenchmarkCommand(opts: Record<string, unknown>, argv: string[]): Promise<number> {
  const { quiet, ...req } = parseGenerativeBenchmark(opts, argv);
  const registry = registryOptions(opts);
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
    const files = { json: path.join(req.out, BENCHMARK_JSON), md: path.join(req.out, BENCHMARK_MD) };
    const table = await recordGenerativeBenchmark(registry, req, files, () =>
      generativeBenchmark(req, { log: quiet ? undefined : log, onProgress: quiet ? undefined : progress, shouldStop: () => stop }),
    );
    stdout(`${path.join(req.out, BENCHMARK_JSON)}\n${path.join(req.out, BENCHMARK_MD)}\n`);
    return table.cells.some((c) => c.status === 'failed') ? 1 : 0;
  } finally {
    progress.done();
    process.off('SIGINT', onSigint);
  }
}
