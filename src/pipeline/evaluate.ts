/**
 * The evaluation workflow (`anogen eval <bundle>`, the server): scores the test split of the bundle's protocol (or of data options
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
import { AnogenError, cat, dispose, tensor, tidy, type Tensor } from '../core/index.js';
import { auroc, evaluateScores } from '../eval/metrics.js';
import { knnScores, PcaFloor } from '../eval/floors.js';
import { loadBundle, requireTransforms } from '../detectors/bundle.js';
import { getDetector } from '../detectors/registry.js';
import { canReconstruct, hasFeatures, NonFiniteScoreError } from '../detectors/api.js';
import { NeuralDetector } from '../detectors/neural.js';
import { resolveDevice } from '../core/runtime.js';
import { DataLoader, disposeBatch, FolderDataset } from '../data/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { ANOGEN_VERSION } from '../detectors/version.js';
import { buildSplits, limitSplit, loadSubset, useStoredData, type DataOptions } from './data.js';
import { buildReport } from './report.js';
import { pixelRangeOf, writeEvalData } from './eval-data.js';
import { tsne } from '../eval/tsne.js';
import { fixedRunThreshold } from './calibrate.js';
import { REPORT_TOP, REPORT_TSNE_POINTS, PIXEL_SAMPLE, type EvalRequest, type EvalResults, type TopImages } from './types.js';

export type { EvalRequest, EvalResults };

/** Runs an evaluation; returns the results (also written to req.json), the report path and the eval-data path (null when not written). */
export async function evaluate(req: EvalRequest, log: (s: string) => void = () => undefined): Promise<{ results: EvalResults; report: string | null; data: string | null }> {
  const t0 = performance.now();
  const device = resolveDevice(req.device ?? 'auto', 'device');
  const bundle = loadBundle(req.bundle);
  const { detector, config } = bundle;
  const held: Tensor[] = [];
  const top = new KeptImages(REPORT_TOP, (a, b) => b.score - a.score);
  const missed = new KeptImages(REPORT_TOP, (a, b) => a.score - b.score);
  const mostNormal = new KeptImages(REPORT_TOP, (a, b) => a.score - b.score);
  const feats: Tensor[] = [];
  try {
    if (detector instanceof NeuralDetector) detector.to(device); // scores and maps come back to the CPU
    const transforms = requireTransforms(bundle, req.bundle);
    if (detector.calibration === null) throw new AnogenError(`bundle ${req.bundle}: no calibration (threshold) stored; re-train with a validation split`);
    const runPhi = req.threshold === undefined ? null : fixedRunThreshold(req.threshold, req.bundle, 'eval');
    const dataOpts = evalDataOptions(req, config.protocol);
    const splits = buildSplits(dataOpts);
    if (splits.test.length === 0) {
      throw new AnogenError(
        `${dataOpts.data} has no labelled test images (it holds normal images only: train/good or a flat folder); anogen eval needs test/good + test/<defect> (MVTec layout) or good/ + one folder per anomaly type: give --data <such a folder>`,
      );
    }
    const test = limitSplit(splits.test, req.testLimit, dataOpts.seed + 2);
    const nAnom = test.counts.anomalous;
    log(`anogen eval: scoring ${test.length} test images (${nAnom} anomalous) of ${splits.record.dataset} ${splits.record.protocol}`);
    if (runPhi !== null) log(`anogen eval: Φ = ${runPhi} for this run (--threshold), not the bundle's ${detector.calibration.threshold.value.toPrecision(4)}`);

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
    const wantData = req.dataJson !== undefined && req.dataJson !== null;
    const keepImages = wantReport || wantData; // the report and the eval data show the same kept images
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
        const pos = Array.from(b.positions);
        let r;
        try {
          r = detector.score(b.x, { maps: keepImages || withMasks });
        } catch (e) {
          if (e instanceof NonFiniteScoreError) throw new AnogenError(`bundle ${req.bundle}: ${e.message}; first such image: ${test.itemName(pos[e.positions[0]!]!)}`);
          throw e;
        }
        const { scores, maps } = r;
        try {
          const nb = detector.normalize(scores);
          pos.forEach((p, k) => {
            raw.push(scores[k]);
            normed.push(nb[k]);
            labels.push(test.label[p]);
            names.push(test.itemName(p));
          });
          // Progress: a line at every 10% of the test split.
          if (Math.floor((raw.length * 10) / n) > Math.floor(((raw.length - pos.length) * 10) / n)) {
            log(`scored ${raw.length}/${n} test images (${Math.floor((raw.length * 100) / n)}%)`);
          }
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
          if (keepImages) {
            const cands = pos.map((p, k) => ({ score: nb[k]!, label: test.label[p]!, name: test.itemName(p), k }));
            const grab = (k: number) => ({ x: b.x.narrow(0, k, 1), map: maps ? maps.narrow(0, k, 1) : null });
            top.offer(cands, grab);
            missed.offer(
              cands.filter((c) => c.label === 1),
              grab,
            );
            mostNormal.offer(cands, grab);
            if (hasFeatures(detector)) {
              const pick = pos.map((p, k) => (isTsnePick(p) ? k : -1)).filter((k) => k >= 0);
              if (pick.length > 0) {
                feats.push(tidy(() => detector.features(b.x.indexSelect(0, tensor(pick, { dtype: 'int64' })))));
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
    const phi = runPhi ?? detector.calibration.threshold.value;
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
    let dataFile: string | null = null;
    if (req.csv) {
      const cell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
      const rows = raw.map((sc, i) => `${cell(names[i]!)},${labels[i]},${sc},${normed[i]},${normed[i]! > phi ? 1 : 0}`);
      writeFileAtomic(req.csv, `file,label,score,normalized,flagged\n${rows.join('\n')}\n`);
    }
    if (keepImages) {
      // Reconstructions and the t-SNE embedding are computed once, for the report and the eval data.
      const pack = (k: KeptImages): TopImages | null => {
        const t = k.pack();
        if (t) {
          t.reconstructions = canReconstruct(detector) ? detector.reconstruct(t.images) : null;
          held.push(t.images, ...(t.maps ? [t.maps] : []), ...(t.reconstructions ? [t.reconstructions] : []));
        }
        return t;
      };
      const topImages = pack(top);
      const missedImages = pack(missed);
      const features = feats.length > 0 ? cat(feats, 0) : null;
      if (features) held.push(features);
      const featureTitle = hasFeatures(detector) ? `t-SNE of ${detector.featureName} (test images)` : '';
      const featLabels8 = Uint8Array.from(featLabels);
      const embedded = features && features.shape[0]! >= 4 ? tsne(features) : null; // t-SNE needs 4 points
      if (wantReport) {
        report = await buildReport({
          req,
          detector,
          config,
          data: {
            top: topImages,
            missed: missedImages,
            mostNormal: pack(mostNormal),
            embedding: features && embedded ? { features, labels: featLabels8, title: featureTitle, tsne: embedded } : null,
            names,
          },
          raw: Float32Array.from(raw),
          normed: Float64Array.from(normed),
          labels: Uint8Array.from(labels),
          results,
          floors: floorScores,
          lossDocs: getDetector(config.detector).lossDocs,
        });
      }
      if (wantData) {
        dataFile = req.dataJson!;
        await writeEvalData({
          file: dataFile,
          detector: config.detector,
          threshold: phi,
          metrics,
          normed,
          labels,
          names,
          top: topImages,
          missed: missedImages,
          tsne: embedded ? { title: featureTitle, coords: embedded.coords, labels: featLabels8 } : null,
          pixelRange: pixelRangeOf(detector.input.range),
          seed: dataOpts.seed,
        });
      }
    }
    return { results, report, data: dataFile };
  } finally {
    top.dispose();
    missed.dispose();
    mostNormal.dispose();
    dispose(feats);
    dispose(held);
    detector.dispose();
  }
}

/**
 * The data options of an evaluation: the bundle's (its data and protocol), with the user's
 * options winning. When the user names other data, the bundle's class choices (normal,
 * abnormal, protocol) are not inherited; a stored path that no longer exists is reported as
 * coming from the bundle.
 */
export function evalDataOptions(req: EvalRequest, protocol: unknown): DataOptions {
  const saved = { ...(((protocol as { options?: DataOptions } | undefined)?.options ?? {}) as Partial<DataOptions>) };
  const user = req.data ?? {};
  if (user.data !== undefined && saved.data !== undefined && path.resolve(user.data) !== saved.data && user.data !== saved.data) {
    for (const k of ['protocol', 'normal', 'abnormal', 'valDir'] as const) delete saved[k];
  }
  if (user.protocol !== undefined || user.normal !== undefined || user.abnormal !== undefined) {
    for (const k of ['protocol', 'normal', 'abnormal'] as const) delete saved[k];
  }
  let o = { seed: 0, valFraction: 0.1, ...saved, ...user } as DataOptions;
  if (typeof o.data !== 'string') throw new AnogenError(`bundle ${req.bundle}: it records no dataset; give --data`);
  if (user.data === undefined) {
    useStoredData(o, path.join(req.bundle, 'config.json'), 'give --data <folder>');
  }
  // The test split never depends on validation; with a --val-dir at training time every
  // training normal was used for training (valFraction 0 rebuilds that train split).
  if (o.valDir !== undefined) o = { ...o, valDir: undefined, valFraction: 0 };
  return o;
}

type Candidate = { score: number; label: number; name: string; k: number };
type Kept = { score: number; label: number; name: string; x: Tensor; map: Tensor | null };

/** The K best images by `order` seen so far while streaming (copies of image and map kept). */
class KeptImages {
  private items: Kept[] = [];
  constructor(
    private readonly k: number,
    private readonly order: (a: { score: number }, b: { score: number }) => number,
  ) {}
  /** Considers this batch's candidates; `grab(k)` gives views of image k and its map. */
  offer(cands: Candidate[], grab: (k: number) => { x: Tensor; map: Tensor | null }): void {
    const worst = this.items.length < this.k ? null : this.items[this.items.length - 1]!;
    const better = cands
      .filter((c) => worst === null || this.order(c, worst) < 0)
      .sort(this.order)
      .slice(0, this.k);
    for (const c of better) {
      const v = grab(c.k);
      this.items.push({ score: c.score, label: c.label, name: c.name, x: v.x.clone(), map: v.map ? v.map.clone() : null });
      v.x.dispose();
      v.map?.dispose();
    }
    this.items.sort(this.order);
    for (const d of this.items.slice(this.k)) dispose([d.x, ...(d.map ? [d.map] : [])]);
    this.items = this.items.slice(0, this.k);
  }
  /** The kept images as tensors (the caller disposes them), or null when none. */
  pack(): TopImages | null {
    if (this.items.length === 0) return null;
    return {
      images: cat(
        this.items.map((t) => t.x),
        0,
      ),
      maps: this.items.every((t) => t.map !== null)
        ? cat(
            this.items.map((t) => t.map!),
            0,
          )
        : null,
      scores: this.items.map((t) => t.score),
      labels: this.items.map((t) => t.label),
      names: this.items.map((t) => t.name),
    };
  }
  dispose(): void {
    for (const t of this.items) dispose([t.x, ...(t.map ? [t.map] : [])]);
    this.items = [];
  }
}
