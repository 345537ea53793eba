/** `anogen eval <bundle>`: the command-line front of src/pipeline's evaluate. */
import path from 'node:path';
import { AnogenError, setNumThreads } from '../../core/index.js';
import { evaluate, type EvalRequest } from '../../pipeline/evaluate.js';
import { fixedRunThreshold } from '../../pipeline/calibrate.js';
import { evalDataFilesDir } from '../../pipeline/eval-data.js';
import type { DataOptions } from '../../pipeline/data.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { checkOutputPath } from '../paths.js';
import { DATA_SPECS, DEVICE_SPEC, deviceOption } from './train.js';
import { stdout } from '../io.js';
import { recordEval, type RecordOptions } from '../../runs/record.js';
import { REGISTRY_SPECS, registryOptions } from './runs.js';

export const EVAL_SPECS: OptionSpec[] = [
  ...DATA_SPECS.filter((s) => s.name !== 'val-dir' && s.name !== 'val-fraction'),
  { name: 'test-limit', type: 'int', min: 1, doc: 'score at most N test images (seeded random subset; default all)' },
  { name: 'batch-size', type: 'int', min: 1, max: 65536, doc: 'test images decoded and scored at a time (default 256)' },
  {
    name: 'threshold',
    type: 'string',
    doc: "Φ for this run only, 'fixed:<value>' on the normalised scale (default: the bundle's Φ; to refit Φ on validation data use anogen calibrate)",
  },
  { name: 'json', type: 'string', doc: 'results file (default <bundle>/results.json)' },
  { name: 'csv', type: 'string', doc: 'per-image scores (file, label, score, normalized, flagged) (default <bundle>/scores.csv)' },
  { name: 'report', type: 'string', doc: 'HTML report file (default <bundle>/report.html)' },
  { name: 'no-report', type: 'bool', doc: 'skip the HTML report (default false)' },
  { name: 'eval-data', type: 'string', doc: "the dashboard's data: a JSON file plus PNGs in the sibling folder <name>.files/ (default <bundle>/eval-data.json)" },
  { name: 'no-eval-data', type: 'bool', doc: "skip the dashboard's data (default false)" },
  { name: 'no-floors', type: 'bool', doc: 'skip the PCA and kNN floors (default false)' },
  { name: 'quiet', type: 'bool', doc: 'print only the results (default false)' },
  DEVICE_SPEC,
  ...REGISTRY_SPECS,
];

/** Parses `anogen eval` argv. */
export function parseEval(argv: string[]): EvalRequest & { quiet: boolean; registry: RecordOptions } {
  const { positionals, opts } = parseArgs(argv, EVAL_SPECS, 'eval');
  if (positionals.length !== 1) throw new AnogenError(`anogen eval: expected one bundle folder, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  if (typeof opts.threads === 'number') setNumThreads(opts.threads);
  if (opts.normal !== undefined && opts.abnormal !== undefined) throw new AnogenError('--normal and --abnormal exclude each other');
  const bundle = positionals[0]!;
  if (typeof opts.threshold === 'string') fixedRunThreshold(opts.threshold, bundle, 'eval'); // before any work
  const data: Partial<DataOptions> = {};
  for (const k of ['data', 'protocol', 'normal', 'abnormal', 'seed', 'includeUncertain', 'skipBad', 'cacheMb'] as const) {
    if (opts[k] !== undefined) (data as Record<string, unknown>)[k] = opts[k];
  }
  const req = {
    bundle,
    data,
    testLimit: opts.testLimit as number | undefined,
    batchSize: opts.batchSize as number | undefined,
    threshold: opts.threshold as string | undefined,
    json: (opts.json as string) ?? path.join(bundle, 'results.json'),
    csv: (opts.csv as string) ?? path.join(bundle, 'scores.csv'),
    report: opts.noReport === true ? null : ((opts.report as string) ?? path.join(bundle, 'report.html')),
    dataJson: opts.noEvalData === true ? null : ((opts.evalData as string) ?? path.join(bundle, 'eval-data.json')),
    floors: opts.noFloors !== true,
    quiet: opts.quiet === true,
    device: deviceOption(opts),
    registry: registryOptions(opts),
  };
  checkOutputPath(req.json, '--json', 'file');
  checkOutputPath(req.csv, '--csv', 'file');
  if (req.report !== null) checkOutputPath(req.report, '--report', 'file');
  if (opts.noEvalData === true && opts.evalData !== undefined) throw new AnogenError('--eval-data and --no-eval-data exclude each other');
  if (req.dataJson !== null) {
    checkOutputPath(req.dataJson, '--eval-data', 'file');
    checkOutputPath(evalDataFilesDir(req.dataJson), '--eval-data (its image folder)', 'folder');
  }
  return req;
}

/** `anogen eval`. */
export async function evalCommand(argv: string[]): Promise<number> {
  const { registry, ...req } = parseEval(argv);
  const { results, report, data } = await recordEval(registry, req, () => evaluate(req, req.quiet ? undefined : (s) => process.stderr.write(`${s}\n`)));
  const f = results.floors;
  stdout(
    `AUROC ${results.metrics.auroc.toFixed(4)}  AUPRC ${results.metrics.auprc.toFixed(4)}  F1@Phi ${(results.metrics.atThreshold?.f1 ?? NaN).toFixed(4)}  best F1 ${results.metrics.bestF1.f1.toFixed(4)}  FPR@95TPR ${results.metrics.fpr95.toFixed(4)}\n` +
      (f ? `floors: PCA AUROC ${f.pca.auroc.toFixed(4)}  kNN AUROC ${f.knn.auroc.toFixed(4)}\n` : '') +
      (results.pixel ? `pixel AUROC ${results.pixel.auroc.toFixed(4)} (${results.pixel.pixels} pixels, every ${results.pixel.stride})\n` : '') +
      `results: ${req.json}\nscores: ${req.csv}\n` +
      (report ? `report: ${report}\n` : '') +
      (data ? `eval data: ${data}\n` : ''),
  );
  return 0;
}
