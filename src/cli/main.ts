#!/usr/bin/env node
/**
 * The `anogen` command. Verbs: train, eval, score, calibrate, models, data info, demo, version, help; --help, --version.
 * User mistakes print `anogen: error: <message>` and exit with code 2, never a stack trace
 * (set ANOGEN_DEBUG=1 to see one); libtorch errors exit with code 1; Ctrl-C during training
 * saves a checkpoint and exits with code 130.
 */
import { AnogenError, TorchError } from '../core/index.js';
import '../detectors/index.js';
import { detectorNames, getDetector } from '../detectors/registry.js';
import { didYouMean } from '../detectors/schema.js';
import { DivergenceError } from '../train/loop.js';
import { ANOGEN_VERSION } from '../detectors/version.js';
import { torchVersion } from '../core/index.js';
import { optionsHelp } from './args.js';
import { trainCommand, trainSpecs, InterruptedError } from './commands/train.js';
import { evalCommand, EVAL_SPECS } from './commands/eval.js';
import { scoreCommand, SCORE_SPECS } from './commands/score.js';
import { demoCommand, DEMO_SPECS } from './commands/demo.js';
import { calibrateCommand, CALIBRATE_HELP } from './commands/calibrate.js';
import { dataCommand, DATA_HELP } from './commands/data-verb.js';
import { benchmarkCommand, BENCHMARK_HELP, BENCHMARK_SPECS } from './commands/benchmark.js';
import { sampleCommand, SAMPLE_HELP } from './commands/sample.js';
import { latentCommand, LATENT_HELP } from './commands/latent.js';
import { generatorInArgs, generatorTrainHelp, trainGeneratorCommand } from './commands/train-generator.js';
import { generatorNames, getGenerator, isGenerator } from '../models/registry.js';
import { runsCommand, RUNS_HELP, RUNS_SPECS } from './commands/runs.js';
import { serveCommand, SERVE_HELP, SERVE_SPECS } from './commands/serve.js';

const VERBS = ['train', 'eval', 'score', 'calibrate', 'benchmark', 'sample', 'latent', 'runs', 'serve', 'models', 'data', 'demo', 'version', 'help'] as const;

function mainHelp(): string {
  return `anogen ${ANOGEN_VERSION}: anomaly detection with generative models (libtorch)

Usage:
  anogen demo                                  train a small GANomaly on MNIST, evaluate it, write the report
  anogen train <detector> --data <mnist|fashion-mnist|dir> --protocol <one-vs-rest|leave-one-out|folder>
               [--normal C | --abnormal C] [--epochs N] [--image-size S] [--seed K] [--out DIR] [--config FILE]
               [--val-dir DIR --threshold f1-max]
  anogen train --resume <out>                  continue an interrupted run (Ctrl-C, exit 130) from <out>/checkpoint
  anogen eval <bundle> [data options] [--threshold fixed:V] [--json FILE] [--csv FILE] [--report FILE]
  anogen score <bundle> <image|dir...> [--json | --csv] [--threshold fixed:V] [--maps DIR] [--skip-bad]
  anogen calibrate <bundle> --threshold <percentile[:q] | f1-max | fixed:V> [--val-dir DIR] [--normalization K]
                                               refit normalisation and Φ on validation data, rewrite the bundle
  anogen benchmark --detectors <d1,d2> --data <mnist|dir,...> [--protocol P --classes c1,c2] [--train-limit N --epochs N --test-limit N] [--out DIR]
                                               a resumable table of detectors x datasets x classes beside the classical floors
  anogen runs list|show <id>|compare <id...>   the run registry: every train, eval and benchmark run [--json]
  anogen serve [--host H] [--port P] [--token T] [--home DIR]
                                               the JSON API, image scoring and the web dashboard over the run registry
  anogen train <generator> --data <mnist|fashion-mnist|dir> [--classes c1,c2 | --normal C] [--epochs N] [--out DIR]
                                               train a generative model on the training split of the chosen classes
  anogen sample <bundle> [--n 64] [--seed K] [--nrow 8] [--out FILE.png]
                                               a PNG grid of a generator's samples (the same seed writes the same file)
  anogen latent interpolate|arithmetic|manifold <bundle> [--out FILE.png]
                                               latent-space tools: interpolation strips, class-mean arithmetic (VAE), 2-D manifold
  anogen models                                every model with its one-line description
  anogen data info <name|dir> [--json]
  anogen help <verb>                           options of one verb (help train <model>: the model's options)
  anogen version

Models: ${detectorNames().join(', ')} (anogen models)
Generators: ${generatorNames().join(', ')}
Preprocessing: a src/data transform chain (channels, resize, scale to [-1, 1]) stored in the
bundle's config.json ("transforms"); eval and score replay it exactly.
Exit codes: 0 ok, 1 internal/libtorch error, 2 usage or input error, 130 interrupted (checkpoint saved).
`;
}

function verbHelp(verb: string, model?: string): string {
  switch (verb) {
    case 'train':
      if (model === undefined)
        return `anogen train <model> [options]\n\nModels: ${detectorNames().join(', ')}; \`anogen help train <model>\` adds that model's own options.\n\n${optionsHelp(trainSpecs(undefined))}\n`;
      if (!isGenerator(model))
        return `anogen train ${getDetector(model).name} [options]\n\n${getDetector(model).description}\n\n${optionsHelp(trainSpecs(getDetector(model).name))}\n`;
      // A name that is both (pixelcnn): the generator's options, then the detector's (--protocol picks it).
      if (!detectorNames().includes(model)) return generatorTrainHelp(model);
      return `${generatorTrainHelp(model)}\nWith --protocol, \`anogen train ${model}\` trains the ${model} DETECTOR instead (${getDetector(model).description}):\n\n${optionsHelp(trainSpecs(model))}\n`;
    case 'models':
      return 'anogen models [--json]\n\nLists every registered model with its one-line description.\n';
    case 'version':
      return 'anogen version\n\nPrints the anogen and libtorch versions.\n';
    case 'eval':
      return `anogen eval <bundle> [options]\n\n${optionsHelp(EVAL_SPECS)}\n`;
    case 'score':
      return `anogen score <bundle> <image|dir...> [options]\n\n${optionsHelp(SCORE_SPECS)}\n`;
    case 'calibrate':
      return CALIBRATE_HELP;
    case 'demo':
      return `anogen demo [options]\n\n${optionsHelp(DEMO_SPECS)}\n`;
    case 'data':
      return DATA_HELP;
    case 'sample':
      return SAMPLE_HELP;
    case 'latent':
      return LATENT_HELP;
    case 'benchmark':
      return `${BENCHMARK_HELP}${optionsHelp(BENCHMARK_SPECS)}\n`;
    case 'runs':
      return `${RUNS_HELP}${optionsHelp(RUNS_SPECS)}\n`;
    case 'serve':
      return `${SERVE_HELP}${optionsHelp(SERVE_SPECS)}\n`;
    default:
      throw new AnogenError(`anogen help: unknown verb ${JSON.stringify(verb)}${didYouMean(verb, VERBS)}; expected one of ${VERBS.join(', ')}`);
  }
}

/** `anogen models`: every registered model with its description (a table, or JSON with --json). */
function modelsCommand(argv: string[]): number {
  const bad = argv.filter((a) => a !== '--json');
  if (bad.length > 0) throw new AnogenError(`anogen models: unknown argument ${bad[0]}; valid: --json`);
  const rows = detectorNames().map((n) => {
    const e = getDetector(n);
    return { name: n, description: e.description, input: e.input, trainDefaults: e.trainDefaults, options: Object.keys(e.schema) };
  });
  const generators = generatorNames().map((n) => {
    const e = getGenerator(n);
    return { name: n, kind: 'generator', description: e.description, input: e.input, trainDefaults: e.trainDefaults, options: Object.keys(e.schema) };
  });
  if (argv.includes('--json')) stdout(`${JSON.stringify([...rows, ...generators], null, 2)}\n`);
  else {
    const w = Math.max(...rows.map((r) => r.name.length), ...generators.map((r) => r.name.length));
    for (const r of rows) stdout(`${r.name.padEnd(w)}  ${r.description}\n`);
    stdout('\nGenerative models (anogen train <name>, then anogen sample <bundle>):\n');
    for (const r of generators) stdout(`${r.name.padEnd(w)}  ${r.description}\n`);
    stdout(`\nanogen help train <model> lists a model's options.\n`);
  }
  return 0;
}

/** Runs the CLI on argv (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    if (verb === undefined || verb === '--help' || verb === '-h') {
      stdout(mainHelp());
      return verb === undefined ? 2 : 0;
    }
    if (verb === '--version' || verb === '-V') {
      stdout(`${ANOGEN_VERSION}\n`);
      return 0;
    }
    if ((VERBS as readonly string[]).includes(verb) && (rest.includes('--help') || rest.includes('-h'))) {
      const model = verb === 'train' ? rest.find((a) => !a.startsWith('-')) : undefined;
      stdout(verb === 'help' ? mainHelp() : verbHelp(verb, model));
      return 0;
    }
    switch (verb) {
      case 'train':
        return generatorInArgs(rest) !== undefined ? await trainGeneratorCommand(rest) : await trainCommand(rest);
      case 'sample':
        return await sampleCommand(rest);
      case 'latent':
        return await latentCommand(rest);
      case 'eval':
        return await evalCommand(rest);
      case 'score':
        return await scoreCommand(rest);
      case 'calibrate':
        return await calibrateCommand(rest);
      case 'data':
        return await dataCommand(rest);
      case 'benchmark':
        return await benchmarkCommand(rest);
      case 'runs':
        return await runsCommand(rest);
      case 'serve':
        return await serveCommand(rest);
      case 'demo':
        return await demoCommand(rest);
      case 'models':
        return modelsCommand(rest);
      case 'version':
        stdout(`anogen ${ANOGEN_VERSION} (libtorch ${torchVersion()}, node ${process.version})\n`);
        return 0;
      case 'help':
        stdout(rest.length ? verbHelp(rest[0]!, rest[1]) : mainHelp());
        return 0;
      default:
        throw new AnogenError(`unknown command ${JSON.stringify(verb)}${didYouMean(verb, VERBS)}; expected one of ${VERBS.join(', ')} (anogen --help)`);
    }
  } catch (e) {
    if (process.env.ANOGEN_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    if (e instanceof InterruptedError) {
      process.stderr.write(`anogen: ${e.message}\n`);
      return 130;
    }
    if (e instanceof DivergenceError) {
      process.stderr.write(`anogen: error: ${e.message}\n`);
      return 1;
    }
    if (e instanceof AnogenError) {
      process.stderr.write(`anogen: error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof TorchError) {
      process.stderr.write(`anogen: libtorch error: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`anogen: internal error: ${(e as Error)?.message ?? String(e)} (set ANOGEN_DEBUG=1 for a stack trace)\n`);
    return 1;
  }
}

import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { stdout } from './io.js';
const self = fileURLToPath(import.meta.url);
const invoked = process.argv[1] ? fs.realpathSync(process.argv[1]) : '';
if (invoked === self || process.env.ANOGEN_CLI_MAIN === '1') {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`anogen: internal error: ${(e as Error)?.message ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
