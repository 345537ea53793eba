/**
 * The benchmark workflow (`anogen benchmark`): a table of detectors x datasets x classes x
 * seeds. Every cell trains a detector with {@link train} and evaluates it with
 * {@link evaluate} (AUROC, AUPRC on the test split), beside classical floors computed on
 * the same split from the same training images: PCA reconstruction, kNN distance, patch kNN
 * on raw pixels, and an OC-SVM on raw pixels when an `ocsvm` detector is registered. The
 * floors are pluggable ({@link BenchmarkFloor}).
 *
 * Output (written atomically after every cell): `<out>/benchmark.json` (every cell and the
 * floors) and `<out>/benchmark.md` (a table per cell and the mean per detector). A rerun with
 * the same `out` RESUMES: a finished cell whose configuration (budget, hyperparameters, data
 * options) is unchanged is kept and skipped; floors are cached per split and recomputed only
 * when their own options change. Cells of `out` that are not in this table are kept too.
 *
 * Nothing is selected on the test split: every floor runs with fixed default settings, and the
 * detectors' thresholds come from their validation split (AUROC and AUPRC need none).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, dispose, tidy, type DeviceSpec, type Tensor } from '../core/index.js';
import { DATASET_NAMES, disposeBatch, type ProtocolName, type Split } from '../data/index.js';
import { evaluateScores } from '../eval/metrics.js';
import { knnScores, patchKnnScores, pcaScores } from '../eval/floors.js';
import { createDetector, detectorNames, getDetector, inputHParams, defaultInputSize } from '../detectors/registry.js';
import { splitRow } from './rows.js';
import { ANOGEN_VERSION } from '../detectors/version.js';
import type { ProgressEvent } from '../detectors/api.js';
import { DivergenceError } from '../train/loop.js';
import { acquireLock } from '../util/lock.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { buildSplits, imageTransforms, limitSplit, loadSubset, openData, storableData, type DataOptions } from './data.js';
import { InterruptedError, train } from './train.js';
import { evaluate } from './evaluate.js';

/** Name of the JSON table in the output folder. */
export const BENCHMARK_JSON = 'benchmark.json';
/** Name of the Markdown table in the output folder. */
export const BENCHMARK_MD = 'benchmark.md';

/** Options of the patch kNN floor (see src/eval/floors.ts patchKnnScores). */
export interface PatchFloorOptions {
  /** Patch side p (default 8). */
  patchSize: number;
  /** Step between patch origins (default patchSize / 2). */
  stride: number;
  /** Compare only patches at the same location (default false). */
  positionAware: boolean;
}

/** What a benchmark is asked to do. */
export interface BenchmarkRequest {
  /**
   * Rows of the table (at least one): registered detector names, or `name@label` for a second row
   * of one detector with its own `hparams` (e.g. `patchcore@aware`).
   */
  detectors: string[];
  /** Datasets: 'mnist', 'fashion-mnist', IDX folders or image folders (at least one). */
  data: string[];
  /** One-class protocol of every dataset (default 'folder'; IDX data need one-vs-rest or leave-one-out). */
  protocol?: ProtocolName;
  /**
   * one-vs-rest: the normal classes; leave-one-out: the anomalous classes; one cell each
   * (default: every class of the dataset). Not used with protocol 'folder'.
   */
  classes?: string[];
  /** Seeds of the splits, shuffles and torch; one cell each (default [0]). */
  seeds?: number[];
  /** Training images per cell (seeded subset; default all). */
  trainLimit?: number;
  /** Epochs (default: each detector's own). */
  epochs?: number;
  /** Mini-batch size (default: each detector's own). */
  batchSize?: number;
  /** Learning rate (default: each detector's own). */
  lr?: number;
  /** Square input size (default: each detector's own). */
  imageSize?: number;
  /** 1 or 3 (default: those of the first training image). */
  channels?: 1 | 3;
  /** Test images per cell (seeded subset; default all). */
  testLimit?: number;
  /** Validation images (default 2000): the detectors' calibration only. */
  valLimit?: number;
  /** Share of training normals carved out for validation (default 0.1). */
  valFraction?: number;
  /** Image folders: keep test/uncertain as anomalous (default false: left out). */
  includeUncertain?: boolean;
  /** Skip images that fail to decode (default false). */
  skipBad?: boolean;
  /** Hyperparameters per row of `detectors`, e.g. `{ ganomaly: { nz: 8 }, 'patchcore@aware': { positionAware: true } }` (default none: the schema's defaults). */
  hparams?: Record<string, Record<string, unknown>>;
  /** Floors to compute (default {@link defaultFloors}: pca, knn, patch-knn, and ocsvm when registered). */
  floors?: string[];
  /** Patch kNN options (defaults: 8, 4, false). */
  patch?: Partial<PatchFloorOptions>;
  /** Output folder (the tables, and the cells' bundles under `cells/`). */
  out: string;
  /** Keep each cell's trained bundle in `<out>/cells/<cell>` (default false: removed after its evaluation). */
  keepBundles?: boolean;
  /** Device of training and scoring (default 'auto'). */
  device?: DeviceSpec;
  /** The command line, recorded in the tables (default none). */
  command?: string;
}

/** Callbacks of a benchmark run. */
export interface BenchmarkHooks {
  /** Messages for the user: which cell runs (i/N) and the ETA (default none). */
  log?: (s: string) => void;
  /** Training progress of the current cell (default none). */
  onProgress?: (e: ProgressEvent) => void;
  /** Checked between training steps: true stops the table after a checkpoint of the cell (Ctrl-C). */
  shouldStop?: () => boolean;
}

/** AUROC and AUPRC of one score. */
export interface AucPair {
  auroc: number;
  auprc: number;
}

/** One floor's result on one split. */
export interface FloorResult extends AucPair {
  /** The floor's options (a change recomputes it). */
  config: Record<string, unknown>;
  /** Wall time of fit + scoring. */
  seconds: number;
}

/** One cell of the table. */
export interface BenchmarkCell {
  /** detector|dataset|protocol|class|seed. */
  id: string;
  detector: string;
  /** The dataset as given (named) or its absolute folder. */
  dataset: string;
  protocol: ProtocolName;
  /** The normal (one-vs-rest) or anomalous (leave-one-out) class; null for 'folder'. */
  class: string | null;
  seed: number;
  /** Everything that changes the cell's model (a change retrains it). */
  config: CellConfig;
  /** 'done', or 'failed' (divergence; retried by the next run). */
  status: 'done' | 'failed';
  error?: string;
  /** The budget actually used (detector defaults resolved). */
  budget: { trainImages: number; epochs: number; batchSize: number; lr: number; imageSize: number; channels: number; testImages: number; testAnomalous: number; valImages: number };
  auroc: number;
  auprc: number;
  /** Training wall time. */
  trainSeconds: number;
  /** Training images per second (the loop's count). */
  trainImagesPerSecond: number;
  /** evaluate()'s wall time per test image (bundle load, decoding, preprocessing, scoring). */
  scoreMsPerImage: number;
  /** The floors on the same split (same training images, same test images). */
  floors: Record<string, AucPair>;
  /** Wall time of the whole cell (train + evaluate, not the floors). */
  seconds: number;
  /** When the cell finished (ISO time). */
  finishedAt: string;
  /** The bundle, when kept. */
  bundle?: string;
}

/** What identifies a cell's model run. */
export interface CellConfig {
  trainLimit: number | null;
  epochs: number | null;
  batchSize: number | null;
  lr: number | null;
  imageSize: number | null;
  channels: number | null;
  testLimit: number | null;
  valLimit: number;
  valFraction: number;
  includeUncertain: boolean;
  hparams: Record<string, unknown>;
}

/** benchmark.json */
export interface BenchmarkTable {
  anogenVersion: string;
  command?: string;
  updated: string;
  /** Floors in the table, and notes (e.g. a floor that is not available). */
  floors: string[];
  notes: string[];
  cells: BenchmarkCell[];
  /** Floor results per split key (data|protocol|class|seed|trainLimit|testLimit|size|channels). */
  floorCache: Record<string, Record<string, FloorResult>>;
}

/**
 * A floor: fitted on the training images of a split, scores its test images (higher = more
 * anomalous). Images are [N, C, H, W] float32 in [0, 1] at the cell's size.
 */
export interface BenchmarkFloor {
  /** Key in the JSON, e.g. 'patch-knn'. */
  name: string;
  /** Column title in the Markdown table. */
  label: string;
  /** The options that change its scores (recorded; a change recomputes it). */
  config: Record<string, unknown>;
  scores(train: Tensor, test: Tensor): Promise<Float64Array>;
}

/** Every floor name the benchmark knows. */
export const FLOOR_NAMES = ['pca', 'knn', 'patch-knn', 'ocsvm'] as const;

/** The default floors: pca, knn, patch-knn, and ocsvm when an 'ocsvm' detector is registered. */
export function defaultFloors(): string[] {
  return FLOOR_NAMES.filter((f) => f !== 'ocsvm' || detectorNames().includes('ocsvm'));
}

/** Resolved patch kNN options (defaults: p 8, stride p / 2, position-aware false). */
export function patchOptions(o: Partial<PatchFloorOptions> = {}): PatchFloorOptions {
  const patchSize = o.patchSize ?? 8;
  return { patchSize, stride: o.stride ?? Math.max(1, Math.floor(patchSize / 2)), positionAware: o.positionAware ?? false };
}

/** Builds the floor `name` (an AnogenError naming the valid ones otherwise). */
export function makeFloor(name: string, patch: PatchFloorOptions = patchOptions()): BenchmarkFloor {
  const flat = (t: Tensor) => tidy(() => t.flatten(1).contiguous());
  const withFlat = async (train: Tensor, test: Tensor, f: (a: Tensor, b: Tensor) => Float64Array): Promise<Float64Array> => {
    const a = flat(train);
    const b = flat(test);
    try {
      return f(a, b);
    } finally {
      dispose([a, b]);
    }
  };
  switch (name) {
    case 'pca':
      return { name, label: 'PCA', config: { components: 0.9 }, scores: (tr, te) => withFlat(tr, te, (a, b) => pcaScores(a, b, { components: 0.9 })) };
    case 'knn':
      return { name, label: 'kNN', config: { k: 5, reduction: 'mean' }, scores: (tr, te) => withFlat(tr, te, (a, b) => knnScores(a, b, { k: 5, reduction: 'mean' })) };
    case 'patch-knn':
      return {
        name,
        label: `patch kNN${patch.positionAware ? ' (pos.)' : ''}`,
        config: { ...patch },
        scores: async (tr, te) => patchKnnScores(tr, te, patch),
      };
    case 'ocsvm': {
      if (!detectorNames().includes('ocsvm')) throw new AnogenError("floor 'ocsvm': no 'ocsvm' detector is registered in this build; leave it out of --floors");
      return {
        name,
        label: 'OC-SVM',
        config: { features: 'pixels' },
        scores: async (tr, te) => {
          const size = tr.shape[2]!;
          const channels = tr.shape[1]!;
          const det = createDetector('ocsvm', { features: 'pixels', ...inputHParams('ocsvm', size, channels) });
          const [lo, hi] = det.input.range;
          const a = tidy(() => tr.mul(hi - lo).add(lo));
          const b = tidy(() => te.mul(hi - lo).add(lo));
          try {
            await det.fit({ images: a }, {});
            return Float64Array.from(det.score(b, { maps: false }).scores);
          } finally {
            dispose([a, b]);
            det.dispose();
          }
        },
      };
    }
    default:
      throw new AnogenError(`unknown floor ${JSON.stringify(name)}; expected ${FLOOR_NAMES.join(', ')} (or none)`);
  }
}

/** One planned cell. */
interface PlannedCell {
  id: string;
  detector: string;
  dataset: string;
  protocol: ProtocolName;
  class: string | null;
  seed: number;
  config: CellConfig;
  size: number;
}

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return '?';
  const r = Math.round(s);
  return r >= 3600
    ? `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`
    : r >= 60
      ? `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`
      : `${r}s`;
};

/** A file-name-safe form of a cell id. */
const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');

/**
 * Splits a row of `detectors` into its registered detector and label: 'patchcore' ->
 * { detector: 'patchcore' }, 'patchcore@aware' -> { detector: 'patchcore', label: 'aware' };
 * AnogenError for a bad label or an unknown detector.
 */
export function parseDetectorRow(row: string): { detector: string; label?: string } {
  const r = splitRow(row, '--detectors', 'patchcore@aware');
  const detector = getDetector(r.name).name;
  return r.label === undefined ? { detector } : { detector, label: r.label };
}

/** The registered detector of a row of `detectors` ('patchcore@aware' -> 'patchcore'). */
export const detectorOfRow = (row: string): string => parseDetectorRow(row).detector;

/** Checks a request and lists its cells (every mistake an AnogenError before any work). */
function plan(req: BenchmarkRequest): { cells: PlannedCell[]; floors: BenchmarkFloor[] } {
  if (req.detectors.length === 0) throw new AnogenError('--detectors: give at least one detector; registered: ' + detectorNames().join(', '));
  if (req.data.length === 0) throw new AnogenError("--data: give at least one dataset ('mnist', 'fashion-mnist' or a folder)");
  const seeds = req.seeds ?? [0];
  if (seeds.length === 0) throw new AnogenError('--seeds: give at least one seed');
  for (const s of seeds) if (!Number.isInteger(s) || s < 0) throw new AnogenError(`--seeds: ${JSON.stringify(s)} is not valid; expected integers >= 0 (default 0)`);
  const patch = patchOptions(req.patch);
  const floors = (req.floors ?? defaultFloors()).map((f) => makeFloor(f, patch));
  const hp = req.hparams ?? {};
  for (const d of Object.keys(hp)) {
    if (!req.detectors.includes(d)) throw new AnogenError(`--hparams: detector ${JSON.stringify(d)} is not in --detectors (${req.detectors.join(', ')})`);
  }
  const sizes = new Map<string, number>();
  for (const d of req.detectors) {
    const entry = getDetector(detectorOfRow(d));
    // Hyperparameters checked before any work (createDetector validates against the schema).
    createDetector(entry.name, { ...(hp[d] ?? {}), ...inputHParams(entry.name, req.imageSize, req.channels) }).dispose();
    sizes.set(d, req.imageSize ?? defaultInputSize(entry));
  }
  const protocols = new Set<ProtocolName>();
  const cells: PlannedCell[] = [];
  for (const data of req.data) {
    const ds = openData({ data, includeUncertain: req.includeUncertain, skipBad: req.skipBad });
    const protocol: ProtocolName = req.protocol ?? 'folder';
    if (ds.kind === 'idx' && protocol === 'folder') {
      throw new AnogenError(`--protocol: '${ds.name}' is an IDX dataset; give --protocol one-vs-rest or leave-one-out (with --classes)`);
    }
    protocols.add(protocol);
    let classes: (string | null)[];
    if (protocol === 'folder') {
      if (req.classes !== undefined) throw new AnogenError('--classes does not apply to --protocol folder (the folder layout says what is normal: train/good, test/good)');
      classes = [null];
    } else {
      classes = [...(req.classes ?? ds.classes)];
      for (const c of classes) {
        if (!ds.classes.includes(c!)) throw new AnogenError(`--classes: ${JSON.stringify(c)} is not a class of '${ds.name}'; classes: ${ds.classes.join(', ')}`);
      }
    }
    const dataset = storableData(data);
    for (const cls of classes) {
      for (const seed of seeds) {
        for (const detector of req.detectors) {
          const config: CellConfig = {
            trainLimit: req.trainLimit ?? null,
            epochs: req.epochs ?? null,
            batchSize: req.batchSize ?? null,
            lr: req.lr ?? null,
            imageSize: req.imageSize ?? null,
            channels: req.channels ?? null,
            testLimit: req.testLimit ?? null,
            valLimit: req.valLimit ?? 2000,
            valFraction: req.valFraction ?? 0.1,
            includeUncertain: req.includeUncertain ?? false,
            hparams: hp[detector] ?? {},
          };
          cells.push({ id: [detector, dataset, protocol, cls ?? '-', `seed${seed}`].join('|'), detector, dataset, protocol, class: cls, seed, config, size: sizes.get(detector)! });
        }
      }
    }
  }
  const ids = new Set<string>();
  for (const c of cells) {
    if (ids.has(c.id)) throw new AnogenError(`the table names the cell ${c.id} twice (a detector, dataset, class or seed given twice)`);
    ids.add(c.id);
  }
  return { cells, floors };
}

/** The data options of a cell. */
function cellData(c: PlannedCell, req: BenchmarkRequest): DataOptions {
  return {
    data: c.dataset,
    protocol: c.protocol,
    ...(c.protocol === 'one-vs-rest' ? { normal: c.class! } : {}),
    ...(c.protocol === 'leave-one-out' ? { abnormal: c.class! } : {}),
    seed: c.seed,
    valFraction: req.valFraction ?? 0.1,
    includeUncertain: req.includeUncertain ?? false,
    skipBad: req.skipBad ?? false,
  };
}

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
/** Same value, as JSON (key order ignored). */
const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** Reads an existing table in `out` (null when there is none); a broken file is an AnogenError. */
export function readBenchmark(out: string): BenchmarkTable | null {
  const file = path.join(out, BENCHMARK_JSON);
  if (!fs.existsSync(file)) return null;
  let t: BenchmarkTable;
  try {
    t = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchmarkTable;
  } catch (e) {
    throw new AnogenError(`${file}: cannot parse (${(e as Error).message}); move it away to start a new table`);
  }
  if (t === null || typeof t !== 'object' || !Array.isArray(t.cells)) throw new AnogenError(`${file}: not an anogen benchmark table (no cells); move it away to start a new table`);
  t.floorCache ??= {};
  t.notes ??= [];
  return t;
}

/**
 * Runs (or resumes) a benchmark table; resolves to the table as written to
 * `<out>/benchmark.json` (and `<out>/benchmark.md`).
 */
export async function benchmark(req: BenchmarkRequest, hooks: BenchmarkHooks = {}): Promise<BenchmarkTable> {
  const log = hooks.log ?? (() => undefined);
  const { cells: planned, floors } = plan(req);
  const lock = acquireLock(req.out, 'anogen benchmark');
  try {
    const old = readBenchmark(req.out);
    const notes: string[] = [];
    if (req.floors === undefined && !detectorNames().includes('ocsvm')) notes.push("OC-SVM floor left out: no 'ocsvm' detector is registered in this build.");
    const table: BenchmarkTable = {
      anogenVersion: ANOGEN_VERSION,
      ...(req.command !== undefined ? { command: req.command } : {}),
      updated: new Date().toISOString(),
      floors: floors.map((f) => f.name),
      notes,
      cells: [],
      floorCache: old?.floorCache ?? {},
    };
    const oldCells = new Map((old?.cells ?? []).map((c) => [c.id, c]));
    const plannedIds = new Set(planned.map((c) => c.id));
    const foreign = (old?.cells ?? []).filter((c) => !plannedIds.has(c.id));
    const results = new Map<string, BenchmarkCell>();
    const save = () => {
      table.updated = new Date().toISOString();
      table.cells = [...planned.map((c) => results.get(c.id)).filter((c): c is BenchmarkCell => c !== undefined), ...foreign];
      writeJsonAtomic(path.join(req.out, BENCHMARK_JSON), table);
      writeFileAtomic(path.join(req.out, BENCHMARK_MD), benchmarkMarkdown(table, floors));
    };
    const kept = planned.filter((c) => {
      const o = oldCells.get(c.id);
      return o !== undefined && o.status === 'done' && same(o.config, c.config);
    });
    for (const c of kept) results.set(c.id, oldCells.get(c.id)!);
    const todo = planned.filter((c) => !results.has(c.id));
    log(
      `anogen benchmark: ${planned.length} cell(s) (${req.detectors.join(', ')} x ${req.data.join(', ')}${planned[0]!.class !== null ? ` x ${new Set(planned.map((c) => c.class)).size} class(es)` : ''} x ${new Set(planned.map((c) => c.seed)).size} seed(s))` +
        `${kept.length > 0 ? `; ${kept.length} finished cell(s) kept from ${path.join(req.out, BENCHMARK_JSON)}` : ''}; floors: ${floors.map((f) => f.name).join(', ') || 'none'}`,
    );
    for (const n of notes) log(n);

    // Floors of one split: images loaded once, every missing/changed floor computed and cached.
    const floorsFor = async (c: PlannedCell, channels: number): Promise<Record<string, AucPair>> => {
      const key = [
        c.dataset,
        c.protocol,
        c.class ?? '-',
        c.seed,
        c.config.trainLimit ?? 'all',
        c.config.testLimit ?? 'all',
        c.size,
        channels,
        c.config.valFraction,
        c.config.includeUncertain,
      ].join('|');
      const cache = (table.floorCache[key] ??= {});
      const missing = floors.filter((f) => cache[f.name] === undefined || !same(cache[f.name]!.config, f.config));
      if (missing.length > 0) {
        const splits = buildSplits(cellData(c, req));
        const trainSplit = limitSplit(splits.train, c.config.trainLimit ?? undefined, c.seed);
        const testSplit = limitSplit(splits.test, c.config.testLimit ?? undefined, c.seed + 2);
        const transforms = imageTransforms({ size: c.size, channels: channels as 1 | 3, range: [0, 1] });
        const tr = await loadSubset(trainSplit, transforms);
        let te: Awaited<ReturnType<typeof loadSubset>> | null = null;
        try {
          te = await loadSubset(testSplit, transforms);
          const labels = labelsOf(te.split, te.batch.positions);
          for (const f of missing) {
            const t0 = performance.now();
            log(`  floor ${f.name}: ${tr.batch.positions.length} training, ${labels.length} test images`);
            const s = await f.scores(tr.batch.x, te.batch.x);
            const e = evaluateScores(s, labels);
            cache[f.name] = { config: f.config, auroc: e.auroc, auprc: e.auprc, seconds: (performance.now() - t0) / 1000 };
          }
        } finally {
          disposeBatch(tr.batch);
          if (te) disposeBatch(te.batch);
        }
      }
      return Object.fromEntries(floors.map((f) => [f.name, { auroc: cache[f.name]!.auroc, auprc: cache[f.name]!.auprc }]));
    };

    // Kept cells get the floors of this run's floor set (computed when new or changed).
    for (const c of kept) {
      const r = results.get(c.id)!;
      if (!same(Object.keys(r.floors).sort(), floors.map((f) => f.name).sort()) || floors.some((f) => r.floors[f.name] === undefined)) {
        r.floors = await floorsFor(c, r.budget.channels);
      }
    }
    save();
    const t0 = performance.now();
    let ran = 0;
    for (const c of todo) {
      const i = planned.indexOf(c) + 1;
      const elapsed = (performance.now() - t0) / 1000;
      const eta = ran > 0 ? fmtTime((elapsed / ran) * (todo.length - ran)) : '?';
      log(
        `[${i}/${planned.length}] ${c.detector} on ${path.basename(c.dataset)} ${c.protocol}${c.class !== null ? ` class ${c.class}` : ''} seed ${c.seed}` +
          ` | ${ran}/${todo.length} run so far in ${fmtTime(elapsed)}, ETA of the table ${eta}`,
      );
      const cellStart = performance.now();
      const dir = path.join(req.out, 'cells', slug(`${c.detector}-${path.basename(c.dataset)}-${c.protocol}-${c.class ?? 'all'}-seed${c.seed}`));
      fs.rmSync(dir, { recursive: true, force: true }); // a half-trained cell starts again
      let cell: BenchmarkCell;
      try {
        const tr = await train(
          {
            detector: detectorOfRow(c.detector),
            data: cellData(c, req),
            epochs: req.epochs,
            batchSize: req.batchSize,
            lr: req.lr,
            imageSize: c.size,
            channels: req.channels,
            trainLimit: req.trainLimit,
            valLimit: c.config.valLimit,
            out: dir,
            hparams: c.config.hparams,
            device: req.device,
          },
          { onProgress: hooks.onProgress, shouldStop: hooks.shouldStop },
        );
        const training = tr.meta.training as { epochs: number; batchSize: number; lr: number; trainImages: number; valImages: number };
        const channels = tr.detector.input.channels;
        tr.detector.dispose();
        const ev = await evaluate({ bundle: dir, testLimit: req.testLimit, json: path.join(dir, 'results.json'), csv: null, report: null, floors: false, device: req.device });
        const seconds = (performance.now() - cellStart) / 1000;
        cell = {
          id: c.id,
          detector: c.detector,
          dataset: c.dataset,
          protocol: c.protocol,
          class: c.class,
          seed: c.seed,
          config: c.config,
          status: 'done',
          budget: {
            trainImages: training.trainImages,
            epochs: training.epochs,
            batchSize: training.batchSize,
            lr: training.lr,
            imageSize: c.size,
            channels,
            testImages: ev.results.testImages,
            testAnomalous: ev.results.testAnomalous,
            valImages: training.valImages,
          },
          auroc: ev.results.metrics.auroc,
          auprc: ev.results.metrics.auprc,
          trainSeconds: tr.report.seconds,
          trainImagesPerSecond: tr.report.imagesPerSecond,
          scoreMsPerImage: (ev.results.seconds * 1000) / ev.results.testImages,
          floors: {},
          seconds,
          finishedAt: new Date().toISOString(),
          ...(req.keepBundles === true ? { bundle: dir } : {}),
        };
        cell.floors = await floorsFor(c, channels);
        if (req.keepBundles !== true) fs.rmSync(dir, { recursive: true, force: true });
        log(
          `  AUROC ${cell.auroc.toFixed(4)} AUPRC ${cell.auprc.toFixed(4)} | ${floors.map((f) => `${f.name} ${cell.floors[f.name]!.auroc.toFixed(4)}`).join(', ')}` +
            ` | trained ${cell.trainSeconds.toFixed(1)} s (${cell.trainImagesPerSecond.toFixed(1)} img/s), eval ${cell.scoreMsPerImage.toFixed(2)} ms/img`,
        );
      } catch (e) {
        if (e instanceof InterruptedError) {
          throw new InterruptedError(
            `interrupted in cell ${c.id}: the finished cells are in ${path.join(req.out, BENCHMARK_JSON)}; run the same command to resume (this cell starts again)`,
            e.checkpoint,
          );
        }
        if (!(e instanceof DivergenceError)) throw e;
        log(`  failed: ${e.message} (the next run retries this cell)`);
        cell = {
          id: c.id,
          detector: c.detector,
          dataset: c.dataset,
          protocol: c.protocol,
          class: c.class,
          seed: c.seed,
          config: c.config,
          status: 'failed',
          error: e.message,
          budget: { trainImages: 0, epochs: 0, batchSize: 0, lr: 0, imageSize: c.size, channels: 0, testImages: 0, testAnomalous: 0, valImages: 0 },
          auroc: NaN,
          auprc: NaN,
          trainSeconds: 0,
          trainImagesPerSecond: 0,
          scoreMsPerImage: 0,
          floors: {},
          seconds: (performance.now() - cellStart) / 1000,
          finishedAt: new Date().toISOString(),
        };
      }
      results.set(c.id, cell);
      ran++;
      save();
    }
    log(
      `anogen benchmark: ${ran} cell(s) run in ${fmtTime((performance.now() - t0) / 1000)}, ${kept.length} kept; ${path.join(req.out, BENCHMARK_JSON)}, ${path.join(req.out, BENCHMARK_MD)}`,
    );
    return table;
  } finally {
    lock.release();
  }
}

/** Labels (0 normal, 1 anomalous) of the decoded items of a split. */
function labelsOf(split: Split, positions: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(split.subset(Array.from(positions)).label);
}

const f4 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(3));
const mean = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** The budget of a cell in words (for grouping and the table). */
function budgetText(c: BenchmarkCell): string {
  const b = c.budget;
  const hp = Object.entries(c.config.hparams ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  return `${b.trainImages} img x ${b.epochs} ep, ${b.imageSize} px${hp.length > 0 ? `, ${hp.join(' ')}` : ''}`;
}

/** The Markdown tables of a benchmark (per cell, and the mean per detector over classes and seeds). */
export function benchmarkMarkdown(t: BenchmarkTable, floors: Pick<BenchmarkFloor, 'name' | 'label'>[]): string {
  const done = t.cells.filter((c) => c.status === 'done');
  const dsName = (d: string) => ((DATASET_NAMES as string[]).includes(d) ? d : path.basename(d));
  const fl = floors.map((f) => f.label);
  const lines: string[] = ['# anogen benchmark', ''];
  if (t.command) lines.push(`Command: \`${t.command}\``, '');
  lines.push(
    `anogen ${t.anogenVersion}; ${done.length} finished cell(s)${t.cells.length > done.length ? `, ${t.cells.length - done.length} failed` : ''}; updated ${t.updated}.`,
    'AUROC / AUPRC on the test split; floor columns: AUROC of the classical floors on the same split (same training images, same test images; AUPRC in benchmark.json).',
    'Budget: training images x epochs, input size, the hyperparameters given (others: the detector\'s defaults); "train s" and "img/s" are the training wall time and throughput; "eval ms/img" is evaluate()\'s wall time per test image (loading, decoding, scoring).',
    ...t.notes,
    '',
    '## Per cell',
    '',
    `| detector | data | protocol | class | seed | budget | test (anom.) | AUROC | AUPRC | ${fl.join(' | ')} | train s | img/s | eval ms/img |`,
    `|${'---|'.repeat(12 + fl.length)}`,
  );
  for (const c of t.cells) {
    const ok = c.status === 'done';
    lines.push(
      `| ${c.detector} | ${dsName(c.dataset)} | ${c.protocol} | ${c.class ?? '–'} | ${c.seed} | ${ok ? budgetText(c) : 'failed'} | ${ok ? `${c.budget.testImages} (${c.budget.testAnomalous})` : '–'} | ${f4(c.auroc)} | ${f4(c.auprc)} | ` +
        `${floors.map((f) => f4(c.floors[f.name]?.auroc)).join(' | ')} | ${ok ? c.trainSeconds.toFixed(1) : '–'} | ${ok ? c.trainImagesPerSecond.toFixed(1) : '–'} | ${ok ? c.scoreMsPerImage.toFixed(2) : '–'} |`,
    );
  }
  const groups = new Map<string, BenchmarkCell[]>();
  for (const c of done) {
    const k = [c.detector, dsName(c.dataset), c.protocol, budgetText(c)].join('\u0000');
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  lines.push(
    '',
    '## Mean per detector (over classes and seeds)',
    '',
    `| detector | data | protocol | budget | cells | AUROC | AUPRC | ${fl.join(' | ')} |`,
    `|${'---|'.repeat(7 + fl.length)}`,
  );
  for (const [k, cs] of groups) {
    const [det, ds, prot, budget] = k.split('\u0000');
    lines.push(
      `| ${det} | ${ds} | ${prot} | ${budget} | ${cs.length} | ${f4(mean(cs.map((c) => c.auroc)))} | ${f4(mean(cs.map((c) => c.auprc)))} | ` +
        `${floors.map((f) => f4(mean(cs.map((c) => c.floors[f.name]?.auroc).filter((v): v is number => v !== undefined)))).join(' | ')} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
