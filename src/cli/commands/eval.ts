/**
 * `anogen eval <bundle>`: scores the test split of the bundle's protocol (or of data options
 * given here), writes results.json (AUROC, AUPRC, F1 at Phi, best F1, FPR@95TPR, with the PCA
 * and kNN floors on the same split) and the HTML report.
 *
 * The test split is STREAMED: src/data's DataLoader decodes and preprocesses it in batches
 * with the bundle's transform chain, and only the scores, the most anomalous images (with
 * their maps) and the features of the t-SNE sample are kept, so a folder larger than memory
 * can be evaluated. The floors' training images are held in memory (the same subset the model
 * was trained on).
 */
import path from 'node:path';
import { AnogenError, cat, dispose, setNumThreads, tensor, tidy, type Tensor } from '../../core/index.js';
import { auroc, evaluateScores, type ScoreMetrics } from '../../eval/metrics.js';
import { knnScores, PcaFloor } from '../../eval/floors.js';
import { loadBundle, requireTransforms } from '../../detectors/bundle.js';
import type { Detector } from '../../detectors/api.js';
import { DataLoader, disposeBatch, FolderDataset } from '../../data/index.js';
import { writeJsonAtomic } from '../../util/fs.js';
import { ANOGEN_VERSION } from '../../detectors/version.js';
import { parseArgs, type OptionSpec } from '../args.js';
import { buildSplits, limitSplit, loadSubset, type DataOptions } from '../images.js';
import { DATA_SPECS } from './train.js';

export const EVAL_SPECS: OptionSpec[] = [
  ...DATA_SPECS.filter((s) => s.name !== 'val-dir' && s.name !== 'val-fraction'),
  { name: 'test-limit', type: 'int', min: 1, doc: 'score at most N test images (seeded random subset; default all)' },
  { name: 'batch-size', type: 'int', min: 1, doc: 'test images decoded and scored at a time (default 256)' },
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
  /** Test images left out because they failed to decode (--skip-bad). */
  skippedImages?: number;
  threshold: number;
  metrics: ScoreMetrics;
  floors?: { pca: { auroc: number; auprc: number }; knn: { auroc: number; auprc: number } };
  /**
   * Pixel-level AUROC of the anomaly maps against the ground-truth masks (datasets with masks
   * only; images without a mask count as all-normal), on every `stride`-th pixel of the test
   * maps (at most PIXEL_SAMPLE pixels in all).
   */
  pixel?: { auroc: number; pixels: number; stride: number };
  seconds: number;
}

/** Most pixels kept for the pixel-level AUROC (a deterministic stride over all test pixels). */
export const PIXEL_SAMPLE = 2_000_000;

export interface EvalRequest {
  bundle: string;
  data?: Partial<DataOptions>;
  testLimit?: number;
  /** Test images per batch (default 256). */
  batchSize?: number;
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
  for (const k of ['data', 'protocol', 'normal', 'abnormal', 'seed', 'includeUncertain', 'skipBad'] as const) {
    if (opts[k] !== undefined) (data as Record<string, unknown>)[k] = opts[k];
  }
  return {
    bundle,
    data,
    testLimit: opts.testLimit as number | undefined,
    batchSize: opts.batchSize as number | undefined,
    json: (opts.json as string) ?? path.join(bundle, 'results.json'),
    report: opts.noReport === true ? null : ((opts.report as string) ?? path.join(bundle, 'report.html')),
    floors: opts.noFloors !== true,
  };
}

/** Images shown in the report's grid, and points in its t-SNE plot. */
export const REPORT_TOP = 16;
export const REPORT_TSNE_POINTS = 500;

/** The most anomalous test images kept while streaming (for the report). */
export interface TopImages {
  /** [K, C, H, W], highest score first. */
  images: Tensor;
  /** [K, 1, H, W] anomaly maps, same order. */
  maps: Tensor;
  /** Normalised scores, labels and names, same order. */
  scores: number[];
  labels: number[];
  names: string[];
}

/** What the streaming pass keeps for the report. */
export interface ReportData {
  top: TopImages | null;
  /** Features of the t-SNE sample and their labels (null when the detector has no features()). */
  embedding: { features: Tensor; labels: Uint8Array } | null;
  /** Names of every scored image, in score order. */
  names: string[];
}

/** Runs an evaluation; returns the results (also written to req.json) and the report path. */
export async function runEval(req: EvalRequest, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<{ results: EvalResults; report: string | null }> {
  const t0 = performance.now();
  const bundle = loadBundle(req.bundle);
  const { detector, config } = bundle;
  const held: Tensor[] = [];
  type Kept = { score: number; label: number; name: string; x: Tensor; map: Tensor };
  let top: Kept[] = [];
  const feats: Tensor[] = [];
  try {
    const transforms = requireTransforms(bundle, req.bundle);
    if (detector.calibration === null) throw new AnogenError(`bundle ${req.bundle}: no calibration (threshold) stored; re-train with a validation split`);
    const saved = ((config.protocol as { options?: DataOptions } | undefined)?.options ?? {}) as Partial<DataOptions>;
    let dataOpts = { seed: 0, valFraction: 0.1, ...saved, ...req.data } as DataOptions;
    if (typeof dataOpts.data !== 'string') throw new AnogenError(`anogen eval: the bundle records no dataset; give --data`);
    // The test split never depends on validation; with a --val-dir at training time every
    // training normal was used for training (valFraction 0 rebuilds that train split).
    if (dataOpts.valDir !== undefined) dataOpts = { ...dataOpts, valDir: undefined, valFraction: 0 };
    const splits = buildSplits(dataOpts);
    const test = limitSplit(splits.test, req.testLimit, dataOpts.seed + 2);
    const nAnom = test.counts.anomalous;
    log(`anogen eval: scoring ${test.length} test images (${nAnom} anomalous) of ${splits.record.dataset} ${splits.record.protocol}`);

    // Floors: fit on the same training subset the model saw.
    let pca: PcaFloor | null = null;
    let trainFlat: Tensor | null = null;
    if (req.floors) {
      const training = (config.training ?? {}) as { trainLimit?: number | null };
      const tr = await loadSubset(splits.train, transforms, training.trainLimit ?? undefined, dataOpts.seed);
      trainFlat = tidy(() => tr.batch.x.flatten(1).contiguous());
      disposeBatch(tr.batch);
      held.push(trainFlat);
      pca = new PcaFloor().fit(trainFlat);
    }

    const wantReport = req.report !== null;
    const extra = detector as Detector & { reconstruct?: (x: Tensor) => Tensor; features?: (x: Tensor) => Tensor };
    const n = test.length;
    const step = Math.max(1, Math.floor(n / REPORT_TSNE_POINTS));
    const isTsnePick = (p: number) => p % step === 0 && p / step < REPORT_TSNE_POINTS;
    const raw: number[] = [];
    const normed: number[] = [];
    const labels: number[] = [];
    const names: string[] = [];
    const pcaS: number[] = [];
    const knnS: number[] = [];
    const featLabels: number[] = [];
    const withMasks = test.dataset.hasMasks;
    const pixScores: Float32Array[] = [];
    const pixLabels: Uint8Array[] = [];
    let pixSeen = 0;
    let pixStride = 0;
    const loader = new DataLoader(test, { batchSize: req.batchSize ?? 256, shuffle: false, augment: false, masks: withMasks, transforms, seed: dataOpts.seed });
    for await (const b of loader) {
      try {
        if (b.positions.length === 0) continue;
        if (b.perImage !== 1) throw new AnogenError(`bundle ${req.bundle}: its transforms give ${b.perImage} crops per image; anogen eval scores whole images (remove randomCrop)`);
        const { scores, maps } = detector.score(b.x, { maps: wantReport || withMasks });
        try {
          const nb = detector.normalise(scores);
          const pos = Array.from(b.positions);
          pos.forEach((p, k) => {
            raw.push(scores[k]);
            normed.push(nb[k]);
            labels.push(test.label[p]);
            names.push(test.itemName(p));
          });
          if (pca && trainFlat) {
            const flat = tidy(() => b.x.flatten(1));
            try {
              pcaS.push(...pca.score(flat));
              knnS.push(...knnScores(trainFlat, flat));
            } finally {
              flat.dispose();
            }
          }
          if (b.mask && maps) {
            const m = maps.toFloat32Array();
            const k = b.mask.toFloat32Array();
            if (m.length !== k.length) throw new AnogenError(`anogen eval: anomaly maps [${maps.shape.join(', ')}] and masks [${b.mask.shape.join(', ')}] differ in size`);
            if (pixStride === 0) pixStride = Math.max(1, Math.ceil((n * m.length) / pos.length / PIXEL_SAMPLE));
            const first = (pixStride - (pixSeen % pixStride)) % pixStride;
            const count = first < m.length ? Math.floor((m.length - 1 - first) / pixStride) + 1 : 0;
            const ps = new Float32Array(count);
            const pl = new Uint8Array(count);
            for (let j = 0, g = first; j < count; j++, g += pixStride) {
              ps[j] = m[g]!;
              pl[j] = k[g]! > 0.5 ? 1 : 0;
            }
            pixScores.push(ps);
            pixLabels.push(pl);
            pixSeen += m.length;
          }
          if (wantReport && maps) {
            const min = top.length < REPORT_TOP ? -Infinity : top[top.length - 1].score;
            const cand = pos.map((_, k) => k).filter((k) => nb[k] > min).sort((i, j) => nb[j] - nb[i]).slice(0, REPORT_TOP);
            for (const k of cand) {
              top.push({ score: nb[k], label: test.label[pos[k]], name: test.itemName(pos[k]), x: tidy(() => b.x.narrow(0, k, 1).clone()), map: tidy(() => maps.narrow(0, k, 1).clone()) });
            }
            top.sort((a, c) => c.score - a.score);
            for (const d of top.slice(REPORT_TOP)) dispose([d.x, d.map]);
            top = top.slice(0, REPORT_TOP);
            if (extra.features) {
              const pick = pos.map((p, k) => (isTsnePick(p) ? k : -1)).filter((k) => k >= 0);
              if (pick.length > 0) {
                feats.push(tidy(() => extra.features!(b.x.indexSelect(0, tensor(pick, { dtype: 'int64' })))));
                for (const k of pick) featLabels.push(test.label[pos[k]]);
              }
            }
          }
        } finally {
          maps?.dispose();
        }
      } finally {
        disposeBatch(b);
      }
    }
    pca?.dispose();
    if (raw.length === 0) throw new AnogenError(`the test split of '${splits.record.dataset}': no image could be decoded`);
    const skipped = test.dataset instanceof FolderDataset ? loader.skipped : 0;
    if (skipped > 0) log(`skipped ${skipped} test image(s) that failed to decode (--skip-bad)`);
    const phi = detector.calibration.threshold.value;
    const metrics = evaluateScores(normed, labels, { threshold: phi });
    const results: EvalResults = {
      anogenVersion: ANOGEN_VERSION,
      bundle: req.bundle,
      detector: config.detector,
      protocol: splits.record,
      testImages: raw.length,
      testAnomalous: metrics.nAnomalous,
      ...(skipped > 0 ? { skippedImages: skipped } : {}),
      threshold: phi,
      metrics,
      seconds: 0,
    };
    let floorScores: { pca: Float64Array; knn: Float64Array } | undefined;
    if (req.floors) {
      floorScores = { pca: Float64Array.from(pcaS), knn: Float64Array.from(knnS) };
      const m = (s: Float64Array) => {
        const e = evaluateScores(s, labels);
        return { auroc: e.auroc, auprc: e.auprc };
      };
      results.floors = { pca: m(floorScores.pca), knn: m(floorScores.knn) };
    }
    const pixTotal = pixLabels.reduce((a, l) => a + l.length, 0);
    if (pixTotal > 0) {
      const ps = new Float32Array(pixTotal);
      const pl = new Uint8Array(pixTotal);
      let o = 0;
      for (let i = 0; i < pixScores.length; i++) {
        ps.set(pixScores[i]!, o);
        pl.set(pixLabels[i]!, o);
        o += pixLabels[i]!.length;
      }
      const anomalous = pl.reduce((a, v) => a + v, 0);
      if (anomalous > 0 && anomalous < pixTotal) results.pixel = { auroc: auroc(ps, pl), pixels: pixTotal, stride: pixStride };
      else log('anogen eval: the masks mark no anomalous pixel (or only anomalous ones) in this test split: no pixel AUROC');
    }
    results.seconds = (performance.now() - t0) / 1000;
    writeJsonAtomic(req.json, results);
    let report: string | null = null;
    if (req.report !== null) {
      const topImages: TopImages | null =
        top.length > 0
          ? {
              images: cat(top.map((t) => t.x), 0),
              maps: cat(top.map((t) => t.map), 0),
              scores: top.map((t) => t.score),
              labels: top.map((t) => t.label),
              names: top.map((t) => t.name),
            }
          : null;
      if (topImages) held.push(topImages.images, topImages.maps);
      const features = feats.length > 0 ? cat(feats, 0) : null;
      if (features) held.push(features);
      const { buildReportInputs } = await import('./report-inputs.js');
      report = await buildReportInputs({
        req,
        detector,
        config,
        data: { top: topImages, embedding: features ? { features, labels: Uint8Array.from(featLabels) } : null, names },
        raw: Float32Array.from(raw),
        normed: Float64Array.from(normed),
        labels: Uint8Array.from(labels),
        results,
        floors: floorScores,
      });
    }
    return { results, report };
  } finally {
    for (const t of top) dispose([t.x, t.map]);
    dispose(feats);
    dispose(held);
    detector.dispose();
  }
}

/** `anogen eval`. */
export async function evalCommand(argv: string[]): Promise<number> {
  const req = parseEval(argv);
  const { results, report } = await runEval(req);
  const f = results.floors;
  process.stdout.write(
    `AUROC ${results.metrics.auroc.toFixed(4)}  AUPRC ${results.metrics.auprc.toFixed(4)}  F1@Phi ${(results.metrics.atThreshold?.f1 ?? NaN).toFixed(4)}  best F1 ${results.metrics.bestF1.f1.toFixed(4)}  FPR@95TPR ${results.metrics.fpr95.toFixed(4)}\n` +
      (f ? `floors: PCA AUROC ${f.pca.auroc.toFixed(4)}  kNN AUROC ${f.knn.auroc.toFixed(4)}\n` : '') +
      (results.pixel ? `pixel AUROC ${results.pixel.auroc.toFixed(4)} (${results.pixel.pixels} pixels, every ${results.pixel.stride})\n` : '') +
      `results: ${req.json}\n` +
      (report ? `report: ${report}\n` : ''),
  );
  return 0;
}
