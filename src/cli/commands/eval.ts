/**
 * `anogen eval <bundle>`: scores the test split of the bundle's protocol (or of data options
 * given here), writes results.json (AUROC, AUPRC, F1 at Phi, best F1, FPR@95TPR, with the PCA
 * and kNN floors on the same split) and the HTML report.
 */
import path from 'node:path';
import { AnogenError, dispose, setNumThreads, type Tensor } from '../../core/index.js';
import { evaluateScores, type ScoreMetrics } from '../../eval/metrics.js';
import { knnScores, pcaScores } from '../../eval/floors.js';
import { loadBundle } from '../../detectors/bundle.js';
import type { Detector } from '../../detectors/api.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { ANOGEN_VERSION } from '../../detectors/version.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { buildSplits, loadSplit, parseTransform, type DataOptions } from '../images.js';
import { DATA_SPECS } from './train.js';

export const EVAL_SPECS: OptionSpec[] = [
  ...DATA_SPECS,
  { name: 'test-limit', type: 'int', min: 1, doc: 'score at most N test images (seeded random subset; default all)' },
  { name: 'json', type: 'string', doc: 'results file (default <bundle>/results.json)' },
  { name: 'report', type: 'string', doc: 'HTML report file (default <bundle>/report.html)' },
  { name: 'no-report', type: 'bool', doc: 'skip the HTML report (default false)' },
  { name: 'no-floors', type: 'bool', doc: 'skip the PCA and kNN floors (default false)' },
];

/** results.json */
export interface EvalResults {
  anogenVersion: string;
  bundle: string;
  detector: string;
  protocol: unknown;
  testImages: number;
  testAnomalous: number;
  threshold: number;
  metrics: ScoreMetrics;
  floors?: { pca: { auroc: number; auprc: number }; knn: { auroc: number; auprc: number } };
  seconds: number;
}

export interface EvalRequest {
  bundle: string;
  data?: Partial<DataOptions>;
  testLimit?: number;
  json: string;
  report: string | null;
  floors: boolean;
}

export function parseEval(argv: string[]): EvalRequest {
  const { positionals, opts } = parseArgs(argv, EVAL_SPECS, 'eval');
  if (positionals.length !== 1) throw new AnogenError(`anogen eval: expected one bundle folder, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  const bundle = positionals[0];
  const data: Partial<DataOptions> = {};
  for (const k of ['data', 'protocol', 'normal', 'abnormal', 'seed', 'valFraction', 'includeUncertain'] as const) {
    if (opts[k] !== undefined) (data as Record<string, unknown>)[k] = opts[k];
  }
  return {
    bundle,
    data,
    testLimit: opts.testLimit as number | undefined,
    json: (opts.json as string) ?? path.join(bundle, 'results.json'),
    report: opts.noReport === true ? null : ((opts.report as string) ?? path.join(bundle, 'report.html')),
    floors: opts.noFloors !== true,
  };
}

function flat(x: Tensor): Tensor {
  return x.flatten(1);
}

/** Runs an evaluation; returns the results (also written to req.json) and the report path. */
export async function runEval(req: EvalRequest, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<{ results: EvalResults; report: string | null }> {
  const t0 = performance.now();
  const { detector, config } = loadBundle(req.bundle);
  try {
    const transform = parseTransform(config.transform, `bundle ${req.bundle}/config.json`);
    const saved = ((config.protocol as { options?: DataOptions } | undefined)?.options ?? {}) as Partial<DataOptions>;
    const dataOpts = { seed: 0, valFraction: 0.1, ...saved, ...req.data } as DataOptions;
    if (typeof dataOpts.data !== 'string') throw new AnogenError(`anogen eval: the bundle records no dataset; give --data`);
    const splits = buildSplits(dataOpts);
    const test = await loadSplit(splits.test, transform, req.testLimit, dataOpts.seed + 2);
    const labels = test.labels as Uint8Array;
    log(`anogen eval: scoring ${labels.length} test images (${labels.reduce((a, b) => a + b, 0)} anomalous) of ${splits.record.dataset} ${splits.record.protocol}`);
    const { scores, maps } = detector.score(test.images, { maps: req.report !== null });
    if (detector.calibration === null) throw new AnogenError(`bundle ${req.bundle}: no calibration (threshold) stored; re-train with a validation split`);
    const normed = detector.normalise(scores);
    const phi = detector.calibration.threshold.value;
    const metrics = evaluateScores(normed, labels, { threshold: phi });
    const results: EvalResults = {
      anogenVersion: ANOGEN_VERSION,
      bundle: req.bundle,
      detector: config.detector,
      protocol: splits.record,
      testImages: labels.length,
      testAnomalous: metrics.nAnomalous,
      threshold: phi,
      metrics,
      seconds: 0,
    };
    let floorScores: { pca: Float64Array; knn: Float64Array } | undefined;
    if (req.floors) {
      const training = (config.training ?? {}) as { trainLimit?: number | null };
      const train = await loadSplit(splits.train, transform, training.trainLimit ?? undefined, dataOpts.seed);
      try {
        const tr = flat(train.images);
        const te = flat(test.images);
        const pca = pcaScores(tr, te);
        const knn = knnScores(tr, te);
        floorScores = { pca, knn };
        const m = (s: Float64Array) => {
          const e = evaluateScores(s, labels);
          return { auroc: e.auroc, auprc: e.auprc };
        };
        results.floors = { pca: m(pca), knn: m(knn) };
        dispose([tr, te]);
      } finally {
        train.images.dispose();
      }
    }
    results.seconds = (performance.now() - t0) / 1000;
    writeJsonAtomic(req.json, results);
    let report: string | null = null;
    if (req.report !== null) {
      report = await writeReport(req, detector, config, test, scores, normed, maps!, results, floorScores);
    }
    if (maps) maps.dispose();
    test.images.dispose();
    return { results, report };
  } finally {
    detector.dispose();
  }
}

/** Writes the HTML report through src/eval's report module (when this build has it). */
async function writeReport(
  req: EvalRequest,
  detector: Detector,
  config: unknown,
  test: { images: Tensor; labels?: ArrayLike<number>; names: string[] },
  raw: Float32Array,
  normed: Float64Array,
  maps: Tensor,
  results: EvalResults,
  floors: { pca: Float64Array; knn: Float64Array } | undefined,
): Promise<string | null> {
  const { buildReportInputs } = await import('./report-inputs.js');
  return buildReportInputs({ req, detector, config, test, raw, normed, maps, results, floors });
}

/** `anogen eval`. */
export async function evalCommand(argv: string[]): Promise<number> {
  const req = parseEval(argv);
  const { results, report } = await runEval(req);
  const f = results.floors;
  process.stdout.write(
    `AUROC ${results.metrics.auroc.toFixed(4)}  AUPRC ${results.metrics.auprc.toFixed(4)}  F1@Phi ${(results.metrics.atThreshold?.f1 ?? NaN).toFixed(4)}  best F1 ${results.metrics.bestF1.f1.toFixed(4)}  FPR@95TPR ${results.metrics.fpr95.toFixed(4)}\n` +
      (f ? `floors: PCA AUROC ${f.pca.auroc.toFixed(4)}  kNN AUROC ${f.knn.auroc.toFixed(4)}\n` : '') +
      `results: ${req.json}\n` +
      (report ? `report: ${report}\n` : ''),
  );
  return 0;
}
