/**
 * The generative benchmark (`anogen benchmark --suite generative`): a table of generators x
 * datasets x seeds, each cell trained at one budget with {@link trainGenerator} and measured on
 * `samples` seeded samples with the committed quality classifier of its dataset
 * (src/models/classifier, MNIST or Fashion-MNIST): the Fréchet distance of the classifier's 64
 * features to the test split's, the classifier score exp(E KL(p(y|x) || p(y))), the classes
 * predicted at least once and KL(class histogram || uniform) (src/eval/quality.ts).
 *
 * Beside the generators, two reference rows per dataset measured the same way: `samples` real
 * training images (the floor of the Fréchet distance: what a generator that reproduced the data
 * would get at the same sample count; FD is biased upwards at small counts) and the test images
 * themselves (classifier score, modes, KL of real data).
 *
 * Output (written atomically after every cell): `<out>/benchmark.json`, `<out>/benchmark.md` and
 * one 8 x 8 sample grid per cell, `<out>/samples-<model>-<data>-seed<seed>.png`. A rerun with
 * the same `out` RESUMES: a finished cell whose configuration (budget, hyperparameters, sample
 * count, test images) is unchanged is kept and not retrained, as in src/pipeline/benchmark.ts;
 * the reference rows are measured again (seconds).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, resolveDevice, type DeviceSpec, type Tensor } from '../core/index.js';
import { sourceSplit } from '../data/index.js';
import { featureStats, qualityMeasures, type FeatureStats, type QualityMeasures, classifierScore as scoreOf, modeCoverage } from '../eval/quality.js';
import { CLASSIFIER_CLASSES, CLASSIFIER_FEATURES, QUALITY_DATASETS, QualityClassifier, classifierDir, hasQualityClassifier } from '../models/classifier/index.js';
import { createGenerator, generatorInputHParams, generatorNames, getGenerator, defaultGeneratorSize } from '../models/registry.js';
import '../models/index.js';
import type { ProgressEvent } from '../train/loop.js';
import { DivergenceError } from '../train/loop.js';
import { ANOGEN_VERSION } from '../detectors/version.js';
import { acquireLock } from '../util/lock.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { imageTransforms, loadSubset, openData } from './data.js';
import { sampleGridPng, trainGenerator } from './generate.js';
import { InterruptedError } from './train.js';
import { BENCHMARK_JSON, BENCHMARK_MD } from './benchmark.js';
import { splitRow } from './rows.js';

/** Samples per generator when none is given. */
export const DEFAULT_BENCHMARK_SAMPLES = 10000;

/** What a generative benchmark is asked to do. */
export interface GenerativeBenchmarkRequest {
  /**
   * The rows: registered generator names (at least one; `anogen models` lists them), each
   * optionally as `name@label` to give one generator two rows with different `hparams` (e.g.
   * `gan` and `gan@minimax` with `hparams: { 'gan@minimax': { loss: 'minimax' } }`).
   */
  models: string[];
  /** Datasets with a quality classifier: 'mnist', 'fashion-mnist' (at least one). */
  data: string[];
  /** Seeds of the subset, shuffles, torch and the samples' latent codes; one cell each (default [0]). */
  seeds?: number[];
  /** Training images per cell (seeded subset of the whole training split; default all). */
  trainLimit?: number;
  /** Epochs (default: each generator's own). */
  epochs?: number;
  /** Mini-batch size (default: each generator's own). */
  batchSize?: number;
  /** Learning rate (default: each generator's own). */
  lr?: number;
  /** Square image size of the generators (default: each generator's own); the classifier resizes to 32. */
  imageSize?: number;
  /** Hyperparameters per row of `models` (a generator or `name@label`), e.g. `{ gan: { ngf: 16 } }` (default none: the schema's). */
  hparams?: Record<string, Record<string, unknown>>;
  /** Samples measured per generator, and real training images of the reference row (default 10000). */
  samples?: number;
  /** Test images the features are compared with (seeded subset; default all). */
  testLimit?: number;
  /** Output folder (tables, grids, and the bundles under `cells/` when kept). */
  out: string;
  /** Keep each cell's generator bundle in `<out>/cells/<cell>` (default false). */
  keepBundles?: boolean;
  /** Device of training, sampling and the classifier (default 'auto'). */
  device?: DeviceSpec;
  /** The command line, recorded in the tables (default none). */
  command?: string;
}

/** Callbacks of a generative benchmark run. */
export interface GenerativeBenchmarkHooks {
  /** Messages for the user (default none). */
  log?: (s: string) => void;
  /** Training progress of the current cell (default none). */
  onProgress?: (e: ProgressEvent) => void;
  /** Checked between training steps: true stops the table (the running cell is retrained by the next run). */
  shouldStop?: () => boolean;
}

/** What identifies a cell's run (a change retrains it). */
export interface GenerativeCellConfig {
  trainLimit: number | null;
  epochs: number | null;
  batchSize: number | null;
  lr: number | null;
  imageSize: number | null;
  hparams: Record<string, unknown>;
  samples: number;
  testLimit: number | null;
}

/** The measures of one row (see src/eval/quality.ts). */
export type RowMeasures = Omit<QualityMeasures, 'n'> & { samples: number };

/** One generator cell. */
export interface GenerativeCell extends Partial<RowMeasures> {
  /** model|dataset|seed. */
  id: string;
  /** The row: the generator's name, or `name@label` (see {@link GenerativeBenchmarkRequest.models}). */
  model: string;
  dataset: string;
  seed: number;
  config: GenerativeCellConfig;
  /** 'done', or 'failed' (divergence; retried by the next run). */
  status: 'done' | 'failed';
  error?: string;
  /** The budget actually used (defaults resolved). */
  budget?: { trainImages: number; epochs: number; batchSize: number; lr: number; imageSize: number; steps: number };
  /** Training steps that updated a generator (those that logged its loss `g`; fewer than `steps` for WGAN's critic rounds); absent for models without one (pixelcnn, pixelrnn). */
  generatorSteps?: number;
  /** Training wall time. */
  trainSeconds?: number;
  /** Wall time of sampling and measuring. */
  measureSeconds?: number;
  /** The sample grid's file name in the output folder. */
  grid?: string;
  finishedAt: string;
  /** The bundle, when kept. */
  bundle?: string;
}

/** The reference rows of one dataset. */
export interface GenerativeReference {
  dataset: string;
  /** The classifier's test accuracy (from its accuracy.json), when recorded. */
  classifierAccuracy: number | null;
  testImages: number;
  /** `samples` real training images against the test images. */
  train: RowMeasures;
  /** The test images themselves (frechetDistance 0 by definition). */
  test: RowMeasures;
}

/** benchmark.json of the generative suite. */
export interface GenerativeBenchmarkTable {
  suite: 'generative';
  anogenVersion: string;
  command?: string;
  updated: string;
  references: Record<string, GenerativeReference>;
  cells: GenerativeCell[];
}

/**
 * Splits a row of `models` into its registered generator and label: 'gan' -> { generator: 'gan' },
 * 'gan@minimax' -> { generator: 'gan', label: 'minimax' }. AnogenError for an empty or invalid label
 * or an unknown generator.
 */
export function parseGeneratorRow(row: string): { generator: string; label?: string } {
  const r = splitRow(row, '--models', 'gan@minimax');
  const generator = getGenerator(r.name).name;
  return r.label === undefined ? { generator } : { generator, label: r.label };
}

/** The registered generator of a row of `models` ('gan@minimax' -> 'gan'). */
export const generatorOfRow = (row: string): string => parseGeneratorRow(row).generator;

/** A file-name-safe form of a cell id. */
const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');

/** JSON with object keys sorted (so that key order never matters). */
const canonical = (v: unknown): string =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
    ? `{${Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
        .join(',')}}`
    : Array.isArray(v)
      ? `[${v.map(canonical).join(',')}]`
      : JSON.stringify(v);

interface PlannedCell {
  id: string;
  model: string;
  dataset: string;
  seed: number;
  config: GenerativeCellConfig;
}

/** Checks a request and lists its cells (every mistake an AnogenError before any work). */
function plan(req: GenerativeBenchmarkRequest): PlannedCell[] {
  if (req.models.length === 0) throw new AnogenError(`--models: give at least one generator; registered: ${generatorNames().join(', ')}`);
  if (req.data.length === 0) throw new AnogenError(`--data: give at least one of ${QUALITY_DATASETS.join(', ')}`);
  for (const d of req.data) {
    if (!hasQualityClassifier(d)) {
      throw new AnogenError(`--data ${d}: the generative suite measures samples with a classifier of the dataset; there is one for ${QUALITY_DATASETS.join(', ')}`);
    }
  }
  const seeds = req.seeds ?? [0];
  if (seeds.length === 0) throw new AnogenError('--seeds: give at least one seed');
  for (const s of seeds) if (!Number.isSafeInteger(s) || s < 0) throw new AnogenError(`--seeds: ${JSON.stringify(s)} is not valid; expected integers >= 0 (default 0)`);
  const samples = req.samples ?? DEFAULT_BENCHMARK_SAMPLES;
  if (!Number.isSafeInteger(samples) || samples < 2)
    throw new AnogenError(`--samples: ${JSON.stringify(samples)} is not valid; expected an integer >= 2 (default ${DEFAULT_BENCHMARK_SAMPLES})`);
  const hp = req.hparams ?? {};
  for (const m of Object.keys(hp)) if (!req.models.includes(m)) throw new AnogenError(`--hparams: ${JSON.stringify(m)} is not in --models (${req.models.join(', ')})`);
  for (const m of req.models) {
    const g = generatorOfRow(m);
    createGenerator(g, { ...(hp[m] ?? {}), ...generatorInputHParams(g, req.imageSize, undefined) }).dispose(); // checked before any work
  }
  const cells: PlannedCell[] = [];
  for (const dataset of req.data) {
    for (const seed of seeds) {
      for (const model of req.models) {
        cells.push({
          id: [model, dataset, `seed${seed}`].join('|'),
          model,
          dataset,
          seed,
          config: {
            trainLimit: req.trainLimit ?? null,
            epochs: req.epochs ?? null,
            batchSize: req.batchSize ?? null,
            lr: req.lr ?? null,
            imageSize: req.imageSize ?? null,
            hparams: hp[model] ?? {},
            samples,
            testLimit: req.testLimit ?? null,
          },
        });
      }
    }
  }
  const ids = new Set<string>();
  for (const c of cells) {
    if (ids.has(c.id)) throw new AnogenError(`the table names the cell ${c.id} twice (a model, dataset or seed given twice)`);
    ids.add(c.id);
  }
  return cells;
}

/** Reads an existing generative table in `out` (null when there is none); a broken or detector table is an AnogenError. */
export function readGenerativeBenchmark(out: string): GenerativeBenchmarkTable | null {
  const file = path.join(out, BENCHMARK_JSON);
  if (!fs.existsSync(file)) return null;
  let t: GenerativeBenchmarkTable;
  try {
    t = JSON.parse(fs.readFileSync(file, 'utf8')) as GenerativeBenchmarkTable;
  } catch (e) {
    throw new AnogenError(`${file}: cannot parse (${(e as Error).message}); move it away to start a new table`);
  }
  if (t === null || typeof t !== 'object' || !Array.isArray(t.cells)) throw new AnogenError(`${file}: not an anogen benchmark table (no cells); move it away to start a new table`);
  if (t.suite !== 'generative') throw new AnogenError(`${file}: holds a detector benchmark (--suite detectors); give the generative suite another --out`);
  return t;
}

/** The test accuracy recorded for `dataset`'s classifier in its accuracy.json (null when absent). */
export function classifierAccuracy(dataset: string): number | null {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(classifierDir(), 'accuracy.json'), 'utf8')) as Record<string, { testAccuracy?: unknown }>;
    const a = j[dataset]?.testAccuracy;
    return typeof a === 'number' ? a : null;
  } catch {
    return null;
  }
}

/** Images [N, 1, 32, 32] in [-1, 1] of a seeded subset of one source of a dataset (the caller disposes them). */
async function realImages(dataset: string, source: 'train' | 'test', limit: number | undefined, seed: number): Promise<Tensor> {
  const split = sourceSplit(openData({ data: dataset }), source, source === 'train' ? 'train' : 'test');
  const { batch } = await loadSubset(split, imageTransforms({ size: 32, channels: 1, range: [-1, 1] }), limit, seed);
  batch.y.dispose();
  return batch.x;
}

const rowOf = (m: QualityMeasures): RowMeasures => {
  const { n, ...rest } = m;
  return { ...rest, samples: n };
};

/**
 * Runs (or resumes) a generative benchmark; resolves to the table as written to
 * `<out>/benchmark.json` (and `<out>/benchmark.md`, and the sample grids).
 */
export async function generativeBenchmark(req: GenerativeBenchmarkRequest, hooks: GenerativeBenchmarkHooks = {}): Promise<GenerativeBenchmarkTable> {
  const log = hooks.log ?? (() => undefined);
  const planned = plan(req);
  const device = resolveDevice(req.device ?? 'auto', 'device');
  const samples = req.samples ?? DEFAULT_BENCHMARK_SAMPLES;
  fs.mkdirSync(req.out, { recursive: true });
  const lock = acquireLock(req.out, 'anogen benchmark --suite generative');
  try {
    const old = readGenerativeBenchmark(req.out);
    const table: GenerativeBenchmarkTable = {
      suite: 'generative',
      anogenVersion: ANOGEN_VERSION,
      ...(req.command !== undefined ? { command: req.command } : {}),
      updated: new Date().toISOString(),
      references: {},
      cells: [],
    };
    const oldCells = new Map((old?.cells ?? []).map((c) => [c.id, c]));
    const plannedIds = new Set(planned.map((c) => c.id));
    const foreign = (old?.cells ?? []).filter((c) => !plannedIds.has(c.id));
    const results = new Map<string, GenerativeCell>();
    const save = () => {
      table.updated = new Date().toISOString();
      table.cells = [...planned.map((c) => results.get(c.id)).filter((c): c is GenerativeCell => c !== undefined), ...foreign];
      writeJsonAtomic(path.join(req.out, BENCHMARK_JSON), table);
      writeFileAtomic(path.join(req.out, BENCHMARK_MD), generativeBenchmarkMarkdown(table));
    };
    for (const c of planned) {
      const o = oldCells.get(c.id);
      if (o !== undefined && o.status === 'done' && canonical(o.config) === canonical(c.config)) results.set(c.id, o);
    }
    const todo = planned.filter((c) => !results.has(c.id));
    log(
      `anogen benchmark --suite generative: ${planned.length} cell(s) (${req.models.join(', ')} x ${req.data.join(', ')} x ${new Set(planned.map((c) => c.seed)).size} seed(s)), ${samples} samples each` +
        `${planned.length > todo.length ? `; ${planned.length - todo.length} finished cell(s) kept from ${path.join(req.out, BENCHMARK_JSON)}` : ''}`,
    );

    for (const dataset of req.data) {
      const t0 = performance.now();
      const clf = QualityClassifier.load(dataset, device);
      let test: Tensor | null = null;
      let train: Tensor | null = null;
      try {
        test = await realImages(dataset, 'test', req.testLimit, 2);
        const testOut = clf.measure(test);
        const testStats = featureStats(testOut.features, testOut.n, CLASSIFIER_FEATURES);
        train = await realImages(dataset, 'train', samples, 1);
        const trainOut = clf.measure(train);
        const testCov = modeCoverage(testOut.probs, testOut.n, CLASSIFIER_CLASSES);
        table.references[dataset] = {
          dataset,
          classifierAccuracy: classifierAccuracy(dataset),
          testImages: testOut.n,
          train: rowOf(qualityMeasures(trainOut.features, trainOut.probs, trainOut.n, CLASSIFIER_FEATURES, CLASSIFIER_CLASSES, testStats)),
          test: {
            samples: testOut.n,
            frechetDistance: 0,
            classifierScore: scoreOf(testOut.probs, testOut.n, CLASSIFIER_CLASSES),
            modes: testCov.modes,
            classes: CLASSIFIER_CLASSES,
            klUniform: testCov.klUniform,
            counts: testCov.counts,
          },
        };
        const r = table.references[dataset];
        log(
          `  reference ${dataset}: ${r.train.samples} training images vs ${r.testImages} test images: FD ${r.train.frechetDistance.toFixed(3)}, score ${r.train.classifierScore.toFixed(3)}, modes ${r.train.modes}/10 (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
        );
        save();
        const cells = todo.filter((c) => c.dataset === dataset);
        for (const c of cells) {
          results.set(c.id, await runCell(c, req, device, clf, testStats, hooks, planned.indexOf(c) + 1, planned.length));
          save();
        }
      } finally {
        test?.dispose();
        train?.dispose();
        clf.dispose();
      }
    }
    save();
    log(
      `anogen benchmark --suite generative: ${todo.length} cell(s) run, ${planned.length - todo.length} kept; ${path.join(req.out, BENCHMARK_JSON)}, ${path.join(req.out, BENCHMARK_MD)}`,
    );
    return table;
  } finally {
    lock.release();
  }
}

/** Trains, samples and measures one cell. */
async function runCell(
  c: PlannedCell,
  req: GenerativeBenchmarkRequest,
  device: ReturnType<typeof resolveDevice>,
  clf: QualityClassifier,
  testStats: FeatureStats,
  hooks: GenerativeBenchmarkHooks,
  i: number,
  total: number,
): Promise<GenerativeCell> {
  const log = hooks.log ?? (() => undefined);
  log(`[${i}/${total}] ${c.model} on ${c.dataset} seed ${c.seed}`);
  const name = slug(`${c.model}-${c.dataset}-seed${c.seed}`);
  const dir = path.join(req.out, 'cells', name);
  fs.rmSync(dir, { recursive: true, force: true }); // a half-trained cell starts again
  const base = { id: c.id, model: c.model, dataset: c.dataset, seed: c.seed, config: c.config };
  let r: Awaited<ReturnType<typeof trainGenerator>>;
  try {
    r = await trainGenerator(
      {
        generator: generatorOfRow(c.model),
        data: { data: c.dataset, seed: c.seed },
        epochs: req.epochs,
        batchSize: req.batchSize,
        lr: req.lr,
        imageSize: req.imageSize ?? defaultGeneratorSize(getGenerator(generatorOfRow(c.model))),
        trainLimit: req.trainLimit,
        out: dir,
        hparams: c.config.hparams,
        force: true,
        device,
      },
      { log: (s) => log(`  ${s}`), onProgress: hooks.onProgress, shouldStop: hooks.shouldStop },
    );
  } catch (e) {
    if (e instanceof InterruptedError) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new InterruptedError(
        `interrupted in cell ${c.id}: the finished cells are in ${path.join(req.out, BENCHMARK_JSON)}; run the same command to resume (this cell starts again)`,
        dir,
      );
    }
    if (!(e instanceof DivergenceError)) throw e;
    log(`  failed: ${e.message} (the next run retries this cell)`);
    fs.rmSync(dir, { recursive: true, force: true });
    return { ...base, status: 'failed', error: e.message, finishedAt: new Date().toISOString() };
  }
  const model = r.model;
  try {
    const t0 = performance.now();
    const x = model.sample(c.config.samples, { seed: c.seed });
    let out;
    try {
      out = clf.measure(x, model.input.range);
    } finally {
      x.dispose();
    }
    const m = qualityMeasures(out.features, out.probs, out.n, CLASSIFIER_FEATURES, CLASSIFIER_CLASSES, testStats);
    const grid = `samples-${name}.png`;
    writeFileAtomic(path.join(req.out, grid), await sampleGridPng(model, { n: 64, seed: c.seed }));
    const training = r.config.training as { epochs: number; batchSize: number; lr: number; trainImages: number; steps: number };
    const generatorSteps = r.report.history.filter((h) => h.g !== undefined).length;
    const cell: GenerativeCell = {
      ...base,
      status: 'done',
      ...rowOf(m),
      budget: { trainImages: training.trainImages, epochs: training.epochs, batchSize: training.batchSize, lr: training.lr, imageSize: model.input.size, steps: training.steps },
      ...(generatorSteps > 0 ? { generatorSteps } : {}),
      trainSeconds: r.report.seconds,
      measureSeconds: (performance.now() - t0) / 1000,
      grid,
      finishedAt: new Date().toISOString(),
      ...(req.keepBundles === true ? { bundle: dir } : {}),
    };
    log(
      `  FD ${m.frechetDistance.toFixed(3)}, score ${m.classifierScore.toFixed(3)}, modes ${m.modes}/${m.classes}, KL ${m.klUniform.toFixed(4)} | trained ${r.report.seconds.toFixed(1)} s, measured ${cell.measureSeconds!.toFixed(1)} s`,
    );
    return cell;
  } finally {
    model.dispose();
    if (req.keepBundles !== true) fs.rmSync(dir, { recursive: true, force: true });
  }
}

const f3 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(3));

/** The budget of a cell in words. */
function budgetText(c: GenerativeCell): string {
  const b = c.budget!;
  const hp = Object.entries(c.config.hparams ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  const g = c.generatorSteps !== undefined && c.generatorSteps !== b.steps ? `, ${c.generatorSteps} generator steps` : '';
  return `${b.trainImages} img x ${b.epochs} ep (${b.steps} steps${g}, batch ${b.batchSize}), ${b.imageSize} px${hp.length > 0 ? `, ${hp.join(' ')}` : ''}`;
}

/** The Markdown table of a generative benchmark (reference rows first, then every cell). */
export function generativeBenchmarkMarkdown(t: GenerativeBenchmarkTable): string {
  const lines: string[] = ['# anogen generative benchmark', ''];
  if (t.command) lines.push(`Command: \`${t.command}\``, '');
  const refs = Object.values(t.references);
  const acc = refs.map((r) => `${r.dataset} ${r.classifierAccuracy === null ? 'accuracy not recorded' : `test accuracy ${(100 * r.classifierAccuracy).toFixed(2)}%`}`).join(', ');
  lines.push(
    `anogen ${t.anogenVersion}; updated ${t.updated}.`,
    `Measured with the committed quality classifiers (src/models/classifier; ${acc || 'none'}): FD = Fréchet distance of the classifier's 64 hidden features to the test split's (lower is better; it grows as the sample count shrinks, so compare rows of the same count); score = exp(E KL(p(y|x) || p(y))) (1 to 10; higher is better); modes = classes predicted at least once; KL = KL(predicted-class histogram || uniform) in nats (0 is even; log 10 = 2.303 is one class).`,
    'Reference rows: real training images measured like samples (the floor of FD), and the test images themselves.',
    '',
    '| model | data | seed | budget | samples | FD | score | modes | KL | train s | grid |',
    `|${'---|'.repeat(11)}`,
  );
  for (const r of refs) {
    lines.push(
      `| real: training images | ${r.dataset} | – | – | ${r.train.samples} | ${f3(r.train.frechetDistance)} | ${f3(r.train.classifierScore)} | ${r.train.modes}/${r.train.classes} | ${r.train.klUniform.toFixed(4)} | – | – |`,
      `| real: test images | ${r.dataset} | – | – | ${r.test.samples} | 0 | ${f3(r.test.classifierScore)} | ${r.test.modes}/${r.test.classes} | ${r.test.klUniform.toFixed(4)} | – | – |`,
    );
  }
  for (const c of t.cells) {
    if (c.status !== 'done') {
      lines.push(`| ${c.model} | ${c.dataset} | ${c.seed} | failed: ${(c.error ?? '').replace(/\|/g, '/').slice(0, 80)} | – | – | – | – | – | – | – |`);
      continue;
    }
    lines.push(
      `| ${c.model} | ${c.dataset} | ${c.seed} | ${budgetText(c)} | ${c.samples} | ${f3(c.frechetDistance)} | ${f3(c.classifierScore)} | ${c.modes}/${c.classes} | ${c.klUniform !== undefined && Number.isFinite(c.klUniform) ? c.klUniform.toFixed(4) : '–'} | ${c.trainSeconds!.toFixed(1)} | ${c.grid ? `[png](${c.grid})` : '–'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
