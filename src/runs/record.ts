/**
 * Recording runs into the registry: the wrappers `anogen train`, `eval` and `benchmark` use.
 *
 * A {@link RunRecorder} starts a run, buffers every training step and writes the buffer in one
 * transaction at most every {@link FLUSH_MS} (and at the end), writes each epoch's mean step
 * losses when the epoch ends, heartbeats every {@link HEARTBEAT_MS} (an unref'd timer: it never
 * keeps the process alive), and finishes the run 'finished', 'interrupted' (Ctrl-C) or 'failed'
 * (with the error's message). A process that exits without finishing (process.exit, a second
 * Ctrl-C) finishes its run in an exit handler; one killed by SIGKILL stays 'running' until the
 * next Registry.open marks it failed.
 *
 * The registry never fails the run it records: any registry error prints one warning line on
 * stderr and recording stops for that run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError } from '../core/errors.js';
import type { ProgressEvent } from '../train/loop.js';
import { findCheckpoint, type TrainRequest, type TrainResult } from '../pipeline/train.js';
import { findGeneratorCheckpoint, type GeneratorTrainRequest, type GeneratorTrainResult } from '../pipeline/generate.js';
import type { EvalRequest, EvalResults } from '../pipeline/types.js';
import type { BenchmarkRequest, BenchmarkTable } from '../pipeline/benchmark.js';
import type { GenerativeBenchmarkRequest, GenerativeBenchmarkTable } from '../pipeline/generative-benchmark.js';
import { Registry, type Artifact, type RunKind, type RunStatus } from './registry.js';

/** Steps are written to the database at most this often (ms). */
export const FLUSH_MS = 250;
/** The recording process proves it is alive this often (ms). */
export const HEARTBEAT_MS = 2000;

/** Where and whether to record (the `--home` and `--no-registry` flags). */
export interface RecordOptions {
  /** Registry home (default: ANOGEN_HOME, else ~/.anogen; see resolveHome). */
  home?: string;
  /** Record nothing (default false). */
  disabled?: boolean;
  /** Where the one warning line goes when the registry fails (default: stderr). */
  warn?: (line: string) => void;
}

/** What a run is, when it starts. */
export interface RunStart {
  kind: RunKind;
  model?: string | null;
  data?: string | null;
  protocol?: unknown;
  options?: Record<string, unknown>;
  seed?: number | null;
  bundle?: string | null;
}

const defaultWarn = (line: string): void => void process.stderr.write(`${line}\n`);

/** Records one run; every method is a no-op once recording is off or has failed. */
export class RunRecorder {
  /** The run's id in the registry (null: not recorded). */
  runId: number | null = null;
  private reg: Registry | null = null;
  private readonly warnLine: (line: string) => void;
  private readonly t0 = Date.now();
  private buffer: { index: number; epoch: number; step: number; t: number; values: Record<string, number> }[] = [];
  private lastFlush = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private epoch: { epoch: number; sums: Record<string, number>; counts: Record<string, number> } | null = null;
  private pendingEpochs: { epoch: number; values: Record<string, number> }[] = [];
  /** Training steps seen so far. */
  private stepsSeen = 0;
  /** The last step's losses. */
  lastLosses: Record<string, number> = {};
  private readonly onExit = (code: number): void => {
    this.finish(code === 130 ? 'interrupted' : 'failed', { error: `the process exited (code ${code}) before the run finished` });
  };

  private constructor(opts: RecordOptions) {
    this.warnLine = opts.warn ?? defaultWarn;
  }

  /** Opens the registry and starts a run (never throws: a failure warns and records nothing). */
  static start(opts: RecordOptions, run: RunStart): RunRecorder {
    const r = new RunRecorder(opts);
    if (opts.disabled === true) return r;
    r.guard(() => {
      r.reg = Registry.open(opts.home);
      r.runId = r.reg.startRun(run);
      r.heartbeatTimer = setInterval(() => r.guard(() => r.reg?.heartbeat(r.runId!)), HEARTBEAT_MS);
      r.heartbeatTimer.unref();
      process.on('exit', r.onExit);
    });
    return r;
  }

  /** The open registry while recording (null when off or failed). */
  get registry(): Registry | null {
    return this.runId === null ? null : this.reg;
  }

  /** Runs `fn` against the registry; an error stops recording with one warning line. */
  guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      const msg = (e as Error)?.message ?? String(e);
      this.warnLine(`anogen: warning: run registry: ${msg.replace(/^run registry: /, '')}; this run is not recorded (--no-registry turns recording off)`);
      this.stop();
      return undefined;
    }
  }

  /** Records a training step (the loop's progress event). `sequential`: number steps 1, 2, ... instead of by epoch and step. */
  onProgress(e: ProgressEvent, sequential = false): void {
    if (this.runId === null) return;
    this.stepsSeen++;
    if (this.epoch !== null && this.epoch.epoch !== e.epoch) this.closeEpoch();
    this.epoch ??= { epoch: e.epoch, sums: {}, counts: {} };
    for (const [k, v] of Object.entries(e.losses)) {
      if (!Number.isFinite(v)) continue;
      this.epoch.sums[k] = (this.epoch.sums[k] ?? 0) + v;
      this.epoch.counts[k] = (this.epoch.counts[k] ?? 0) + 1;
    }
    this.lastLosses = { ...e.losses };
    const index = sequential ? -1 : (e.epoch - 1) * e.stepsPerEpoch + e.step;
    this.buffer.push({ index, epoch: e.epoch, step: e.step, t: Date.now() - this.t0, values: { ...e.losses } });
    if (e.step === e.stepsPerEpoch) this.closeEpoch();
    const since = Date.now() - this.lastFlush;
    if (since >= FLUSH_MS) this.flush();
    else if (this.flushTimer === null) {
      this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS - since);
      this.flushTimer.unref();
    }
  }

  /** The epoch in progress ends: its mean step losses are written with the next flush. */
  private closeEpoch(): void {
    if (this.epoch === null) return;
    const values: Record<string, number> = {};
    for (const [k, s] of Object.entries(this.epoch.sums)) values[k] = s / this.epoch.counts[k]!;
    this.pendingEpochs.push({ epoch: this.epoch.epoch, values });
    this.epoch = null;
  }

  /** Writes the buffered steps and finished epochs (one transaction for the steps). */
  flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.lastFlush = Date.now();
    if (this.runId === null || this.reg === null) return;
    const steps = this.buffer.map((s) => (s.index < 0 ? { epoch: s.epoch, step: s.step, t: s.t, values: s.values } : s));
    const epochs = this.pendingEpochs;
    this.buffer = [];
    this.pendingEpochs = [];
    this.guard(() => {
      this.reg!.addSteps(this.runId!, steps);
      for (const m of epochs) this.reg!.addEpoch(this.runId!, m);
    });
  }

  /** Records an artifact (a no-op when `p` is null or does not exist). */
  artifact(kind: Artifact['kind'], p: string | null | undefined): void {
    if (this.runId === null || p === null || p === undefined || !fs.existsSync(p)) return;
    this.guard(() => this.reg!.addArtifact(this.runId!, kind, p));
  }

  /** Runs `fn` with the open registry and this run's id (skipped when not recording). */
  with(fn: (reg: Registry, id: number) => void): void {
    if (this.runId === null || this.reg === null) return;
    this.guard(() => fn(this.reg!, this.runId!));
  }

  /** Final step losses as summary entries `loss.<name>`. */
  lossSummary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.lastLosses)) out[`loss.${k}`] = v;
    return out;
  }

  /** Seconds since the recorder started. */
  seconds(): number {
    return (Date.now() - this.t0) / 1000;
  }

  /** Flushes and ends the run (idempotent); the registry is closed. */
  finish(status: Exclude<RunStatus, 'running'>, o: { summary?: Record<string, number>; error?: string } = {}): void {
    if (this.runId === null) return;
    this.closeEpoch();
    this.flush();
    const summary = { ...this.lossSummary(), seconds: this.seconds(), ...o.summary };
    this.guard(() => this.reg!.finishRun(this.runId!, status, { summary, ...(o.error !== undefined ? { error: o.error } : {}) }));
    this.stop();
  }

  /**
   * Ends a run from an error: 'interrupted' for a stop request (an error named InterruptedError),
   * else 'failed'. A usage error (AnogenError: a bad option, a missing bundle, exit code 2)
   * before the first training step leaves no run at all: the registry keeps runs, not typos.
   */
  fail(e: unknown): void {
    const err = e as Error | undefined;
    if (e instanceof AnogenError && this.stepsSeen === 0 && this.runId !== null) {
      const id = this.runId;
      this.guard(() => this.reg!.deleteRun(id));
      this.stop();
      return;
    }
    this.finish(err?.name === 'InterruptedError' ? 'interrupted' : 'failed', { error: err?.message ?? String(e) });
  }

  /** Stops recording: timers cleared, exit handler removed, registry closed. */
  private stop(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.heartbeatTimer = null;
    this.flushTimer = null;
    process.off('exit', this.onExit);
    this.runId = null;
    try {
      this.reg?.close();
    } catch {
      /* closing a broken connection */
    }
    this.reg = null;
  }
}

/** Runs `fn` as a recorded run: finished with `summarize`'s numbers, or failed/interrupted with the error (rethrown). */
async function recorded<T>(rec: RunRecorder, fn: () => Promise<T>, done: (r: T) => Record<string, number>): Promise<T> {
  let out: T;
  try {
    out = await fn();
  } catch (e) {
    rec.fail(e);
    throw e;
  }
  const summary = rec.guard(() => done(out)) ?? {};
  rec.finish('finished', { summary });
  return out;
}

/** A dataset as recorded: names as given, folders absolute. */
function dataName(d: string | undefined): string | null {
  if (d === undefined) return null;
  return d.includes('/') || d.includes(path.sep) || d.startsWith('.') || fs.existsSync(d) ? path.resolve(d) : d;
}

/**
 * Records a training run (a detector's or a generator's) that writes the bundle `run.bundle`:
 * `fn` gets the progress callback to feed; `done` records what the result adds (its artifacts)
 * and returns its summary numbers; `checkpointOf` finds the checkpoint folder of a `--resume`
 * argument (findCheckpoint, findGeneratorCheckpoint). A resumed run (`resume` = the `--resume`
 * argument) is a new run with `options.resumedFrom` (the checkpoint folder) and
 * `options.resumedRun` (the newest earlier train run of the same bundle, when recorded).
 */
async function recordTrainRun<R>(
  opts: RecordOptions,
  run: RunStart & { bundle: string; options: Record<string, unknown> },
  resume: string | undefined,
  checkpointOf: (dir: string) => string,
  fn: (onProgress: (e: ProgressEvent) => void) => Promise<R>,
  done: (rec: RunRecorder, r: R) => Record<string, number>,
): Promise<R> {
  const rec = RunRecorder.start(opts, run);
  if (resume !== undefined) {
    rec.with((reg, id) => {
      const prev = reg.listRuns({ kind: 'train' }).find((r) => r.id !== id && r.bundle === run.bundle);
      let from = path.resolve(resume);
      try {
        from = path.resolve(checkpointOf(resume));
      } catch {
        /* the --resume argument as given */
      }
      const o = { ...run.options, resumedFrom: from, ...(prev ? { resumedRun: prev.id } : {}) };
      reg.updateRun(id, { options: o });
    });
  }
  return recorded(
    rec,
    () => fn((e) => rec.onProgress(e)),
    (r) => done(rec, r),
  );
}

/**
 * Records `anogen train`: `fn` gets the progress callback to feed. A resumed run (`resume` = the
 * `--resume` argument) is a new run with `options.resumedFrom` (the checkpoint folder) and
 * `options.resumedRun` (the newest earlier train run of the same bundle, when recorded).
 */
export async function recordTrain(
  opts: RecordOptions,
  req: TrainRequest,
  resume: string | undefined,
  fn: (onProgress: (e: ProgressEvent) => void) => Promise<TrainResult>,
): Promise<TrainResult> {
  const run = {
    kind: 'train' as const,
    model: req.detector,
    data: dataName(req.data.data),
    protocol: { protocol: req.data.protocol ?? null, normal: req.data.normal ?? null, abnormal: req.data.abnormal ?? null },
    options: { ...req } as Record<string, unknown>,
    seed: req.data.seed,
    bundle: path.resolve(req.out),
  };
  return recordTrainRun(
    opts,
    run,
    resume,
    (dir) => findCheckpoint(dir),
    fn,
    (rec, r) => {
      rec.with((reg, id) => {
        reg.updateRun(id, { protocol: r.meta.protocol });
        reg.addArtifact(id, 'bundle', r.out);
      });
      return { seconds: r.report.seconds };
    },
  );
}

/**
 * Records `anogen train <generator>` as a train run like a detector's (src/pipeline/generate.ts):
 * model = the generator, protocol `{ protocol: 'generative', dataset, classes, images }` (the
 * classes trained on, comma-separated or 'all', and the training images used; cyclegan adds
 * `domainB`, `classesB`, `imagesB`), the bundle as an artifact; summary: the last
 * step's losses, seconds, and `bitsPerDim` (the test NLL) for likelihood models. Resumed runs
 * are linked as {@link recordTrain}'s are.
 */
export async function recordGeneratorTrain(
  opts: RecordOptions,
  req: GeneratorTrainRequest,
  resume: string | undefined,
  fn: (onProgress: (e: ProgressEvent) => void) => Promise<GeneratorTrainResult>,
): Promise<GeneratorTrainResult> {
  const run = {
    kind: 'train' as const,
    model: req.generator,
    data: dataName(req.data.data),
    protocol: { protocol: 'generative', classes: req.data.classes?.join(',') ?? 'all' },
    options: { ...req } as Record<string, unknown>,
    seed: req.data.seed,
    bundle: path.resolve(req.out),
  };
  return recordTrainRun(opts, run, resume, findGeneratorCheckpoint, fn, (rec, r) => {
    const d = (r.config.data ?? {}) as {
      dataset?: string;
      classes?: string[] | 'all';
      images?: number;
      domainB?: { dataset?: string; classes?: string[] | 'all'; images?: number };
    };
    const classes = (c: string[] | 'all' | undefined) => (Array.isArray(c) ? c.join(',') : (c ?? 'all'));
    const trained = (r.config.training as { trainImages?: number } | undefined)?.trainImages;
    const protocol = {
      protocol: 'generative',
      dataset: d.dataset ?? null,
      classes: classes(d.classes),
      images: trained ?? d.images ?? null,
      ...(d.domainB !== undefined ? { domainB: d.domainB.dataset ?? null, classesB: classes(d.domainB.classes), imagesB: d.domainB.images ?? null } : {}),
    };
    rec.with((reg, id) => {
      reg.updateRun(id, { protocol });
      reg.addArtifact(id, 'bundle', r.out);
    });
    const test = (r.config.training as { test?: { bitsPerDim?: number } } | undefined)?.test;
    return { seconds: r.report.seconds, ...(typeof test?.bitsPerDim === 'number' ? { bitsPerDim: test.bitsPerDim } : {}) };
  });
}

/** The detector, dataset and seed a bundle's config.json names (nulls when unreadable). */
function bundleInfo(bundle: string): { detector: string | null; data: string | null; seed: number | null } {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { detector?: unknown; protocol?: { options?: { data?: unknown; seed?: unknown } } };
    const o = c.protocol?.options;
    return {
      detector: typeof c.detector === 'string' ? c.detector : null,
      data: typeof o?.data === 'string' ? o.data : null,
      seed: typeof o?.seed === 'number' ? o.seed : null,
    };
  } catch {
    return { detector: null, data: null, seed: null };
  }
}

/**
 * Records `anogen eval`: the results, scores, report and eval-data files as artifacts, one
 * Evaluation row, and summary auroc, auprc, f1 (at Φ), bestF1, fpr95, seconds. The parent is the
 * train run whose bundle artifact is this bundle.
 */
export async function recordEval(
  opts: RecordOptions,
  req: EvalRequest,
  fn: () => Promise<{ results: EvalResults; report: string | null; data?: string | null }>,
): Promise<{ results: EvalResults; report: string | null; data?: string | null }> {
  const bundle = path.resolve(req.bundle);
  const info = bundleInfo(bundle);
  const rec = RunRecorder.start(opts, {
    kind: 'eval',
    model: info.detector,
    data: req.data?.data !== undefined ? dataName(req.data.data) : info.data,
    options: { ...req },
    seed: req.data?.seed ?? info.seed,
    bundle,
  });
  const started = Date.now();
  return recorded(rec, fn, (out) => {
    const { results } = out;
    // eval-data: the path evaluate() answers, else the requested file when this run wrote it
    let dataPath = out.data ?? null;
    if (dataPath === null && out.data === undefined && req.dataJson) {
      const st = fs.statSync(req.dataJson, { throwIfNoEntry: false });
      if (st !== undefined && st.mtimeMs >= started - 1000) dataPath = req.dataJson;
    }
    rec.with((reg, id) => reg.updateRun(id, { protocol: results.protocol, model: results.detector }));
    rec.artifact('results', req.json);
    rec.artifact('scores', req.csv ?? null);
    rec.artifact('report', out.report);
    rec.artifact('eval-data', dataPath);
    rec.with((reg, id) => reg.addEvaluation(id, { bundle, results, dataPath: dataPath !== null && fs.existsSync(dataPath) ? dataPath : null }));
    const m = results.metrics;
    const s: Record<string, number> = { auroc: m.auroc, auprc: m.auprc, bestF1: m.bestF1.f1, fpr95: m.fpr95, threshold: results.threshold, seconds: results.seconds };
    if (m.atThreshold !== undefined) s.f1 = m.atThreshold.f1;
    if (results.pixel !== undefined) s.pixelAuroc = results.pixel.auroc;
    return s;
  });
}

/**
 * Records `anogen benchmark` as one run of kind 'benchmark' (model: the detectors, data: the
 * datasets, comma-separated): artifacts benchmark.json and .md; summary: the best cell AUROC
 * (`auroc`, its `auprc`), cells done and failed, seconds. Training steps are not recorded (they
 * belong to many cells).
 */
export async function recordBenchmark(opts: RecordOptions, req: BenchmarkRequest, files: { json: string; md: string }, fn: () => Promise<BenchmarkTable>): Promise<BenchmarkTable> {
  const run = { model: req.detectors.join(','), data: req.data, protocol: { protocol: req.protocol ?? null, classes: req.classes ?? null }, options: { ...req }, seeds: req.seeds };
  return recordTable(opts, run, files, fn, (done): Record<string, number> => {
    const best = done.filter((c) => Number.isFinite(c.auroc)).reduce<(typeof done)[number] | null>((b, c) => (b === null || c.auroc > b.auroc ? c : b), null);
    return best !== null ? { auroc: best.auroc, auprc: best.auprc } : {};
  });
}

/**
 * One benchmark table (either suite) as one run: its rows as the model, its datasets, the table's
 * two files as artifacts; the summary: `best` of the finished cells, the cells and the failed cells.
 */
async function recordTable<T extends { cells: { status: string }[] }>(
  opts: RecordOptions,
  run: { model: string; data: string[]; protocol: unknown; options: Record<string, unknown>; seeds?: number[] },
  files: { json: string; md: string },
  fn: () => Promise<T>,
  best: (done: T['cells'][number][]) => Record<string, number>,
): Promise<T> {
  const rec = RunRecorder.start(opts, {
    kind: 'benchmark',
    model: run.model,
    data: run.data.map((d) => dataName(d)).join(','),
    protocol: run.protocol,
    options: run.options,
    seed: run.seeds?.length === 1 ? run.seeds[0]! : null,
  });
  return recorded(rec, fn, (table) => {
    rec.artifact('benchmark', files.json);
    rec.artifact('benchmark', files.md);
    return {
      ...best(table.cells.filter((c) => c.status === 'done')),
      cells: table.cells.length,
      failedCells: table.cells.filter((c) => c.status === 'failed').length,
    };
  });
}

/**
 * Records `anogen benchmark --suite generative` as one benchmark run, like {@link recordBenchmark}:
 * model = the rows (generators or name@label), protocol `{ protocol: 'generative' }`, the table's
 * two files as artifacts; summary: the lowest Fréchet distance of a finished cell
 * (`frechetDistance`) with that cell's classifier score and classes found, the cells and the
 * failed cells.
 */
export async function recordGenerativeBenchmark(
  opts: RecordOptions,
  req: GenerativeBenchmarkRequest,
  files: { json: string; md: string },
  fn: () => Promise<GenerativeBenchmarkTable>,
): Promise<GenerativeBenchmarkTable> {
  const run = { model: req.models.join(','), data: req.data, protocol: { protocol: 'generative' }, options: { ...req }, seeds: req.seeds };
  return recordTable(opts, run, files, fn, (done): Record<string, number> => {
    const best = done
      .filter((c) => Number.isFinite(c.frechetDistance))
      .reduce<(typeof done)[number] | null>((b, c) => (b === null || c.frechetDistance! < b.frechetDistance! ? c : b), null);
    return best !== null ? { frechetDistance: best.frechetDistance!, classifierScore: best.classifierScore!, modes: best.modes! } : {};
  });
}
