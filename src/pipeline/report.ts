/** Gathers what the HTML report shows (scores, floors, losses, top images with x^ and maps, t-SNE of features) for src/eval's report writer. */
import fs from 'node:fs';
import path from 'node:path';
import type { Tensor } from '../core/index.js';
import { canReconstruct, type Detector } from '../detectors/api.js';
import { writeReport, type ReportSample } from '../eval/report.js';
import { REPORT_TOP, type EvalRequest, type EvalResults, type ReportData, type TopImages } from './types.js';

export interface ReportArgs {
  req: EvalRequest;
  detector: Detector;
  config: unknown;
  /** What eval's streaming pass kept: the top images with maps, the t-SNE sample's features. */
  data: ReportData;
  raw: Float32Array;
  normed: Float64Array;
  labels: Uint8Array;
  results: EvalResults;
  floors: { pca: Float64Array; knn: Float64Array } | undefined;
  /** One line per loss name for the loss plot (default none). */
  lossDocs?: Record<string, string>;
}

/** Writes the report; returns its path. */
export async function buildReport(a: ReportArgs): Promise<string | null> {
  if (a.req.report === null) return null;
  const n = a.normed.length;
  const held: Tensor[] = [];
  const samples = (t: TopImages | null): ReportSample[] => {
    if (t === null) return [];
    const own = t.reconstructions === undefined; // else computed once by evaluate (and disposed there)
    const recon = own ? (canReconstruct(a.detector) ? a.detector.reconstruct(t.images) : null) : t.reconstructions;
    if (recon && own) held.push(recon);
    return t.scores.map((score, k) => {
      const img = t.images.select(0, k);
      const m = t.maps ? t.maps.select(0, k) : undefined;
      const r = recon ? recon.select(0, k) : undefined;
      held.push(img, ...(m ? [m] : []), ...(r ? [r] : []));
      return { image: img, reconstruction: r, map: m, score, label: t.labels[k], caption: path.basename(t.names[k]!) };
    });
  };
  const embedding = a.data.embedding
    ? {
        features: a.data.embedding.features,
        labels: a.data.embedding.labels,
        labelNames: { 0: 'normal', 1: 'anomalous' },
        title: a.data.embedding.title,
        result: a.data.embedding.tsne,
      }
    : undefined;
  let losses: Record<string, number[]> | undefined;
  const hist = path.join(a.req.bundle, 'history.json');
  if (fs.existsSync(hist)) {
    try {
      const h = JSON.parse(fs.readFileSync(hist, 'utf8')) as { losses: Record<string, number>[] };
      losses = {};
      for (const row of h.losses) for (const [k, v] of Object.entries(row)) if (k !== 'ms') (losses[k] ??= []).push(v); // ms: step time, not a loss
    } catch {
      losses = undefined;
    }
  }
  const p = (a.results.protocol ?? {}) as Record<string, unknown>;
  const cfg = a.config as { training?: Record<string, unknown>; detector?: string };
  try {
    await writeReport(a.req.report, {
      title: `anogen: ${a.results.detector} on ${String(p.dataset)} (${String(p.protocol)})`,
      info: {
        detector: a.results.detector,
        dataset: String(p.dataset),
        protocol: String(p.protocol),
        ...(p.normalClass !== undefined ? { normal: String(p.normalClass) } : {}),
        ...(p.anomalyClass !== undefined ? { anomalous: String(p.anomalyClass) } : {}),
        seed: Number(p.seed ?? 0),
        epochs: Number(cfg.training?.epochs ?? 0),
        'train images': Number(cfg.training?.trainImages ?? 0),
        'test images': n,
        bundle: a.req.bundle,
      },
      modelName: a.results.detector,
      scores: a.normed,
      labels: a.labels,
      threshold: a.results.threshold,
      thresholdSource: a.req.threshold !== undefined ? `given for this run (--threshold ${a.req.threshold})` : 'fitted on validation data',
      floors: a.floors ? { 'PCA (floor)': a.floors.pca, 'kNN (floor)': a.floors.knn } : undefined,
      losses,
      samples: samples(a.data.top),
      missed: samples(a.data.missed),
      mostNormal: samples(a.data.mostNormal),
      lossDocs: a.lossDocs,
      maxSamples: REPORT_TOP,
      pixelRange: '[-1,1]',
      embedding,
    });
  } finally {
    for (const t of held) t.dispose();
  }
  return a.req.report;
}
