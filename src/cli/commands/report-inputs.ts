/** Gathers what the HTML report shows (scores, floors, losses, top images with x^ and maps, t-SNE of features) for src/eval's report writer. */
import fs from 'node:fs';
import path from 'node:path';
import { tensor, tidy, type Tensor } from '../../core/index.js';
import type { Detector } from '../../detectors/api.js';
import { writeReport, type ReportSample } from '../../eval/report.js';
import type { EvalRequest, EvalResults } from './eval.js';

export interface ReportArgs {
  req: EvalRequest;
  detector: Detector;
  config: unknown;
  test: { images: Tensor; labels?: ArrayLike<number>; names: string[] };
  raw: Float32Array;
  normed: Float64Array;
  maps: Tensor;
  results: EvalResults;
  floors: { pca: Float64Array; knn: Float64Array } | undefined;
}

/** Images shown in the grid, and points in the t-SNE plot. */
const TOP = 16;
const TSNE_POINTS = 500;

/** Writes the report; returns its path. */
export async function buildReportInputs(a: ReportArgs): Promise<string | null> {
  if (a.req.report === null) return null;
  const labels = Uint8Array.from(a.test.labels ?? []);
  const n = a.normed.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a.normed[j] - a.normed[i]);
  const top = order.slice(0, TOP);
  const extra = a.detector as Detector & { reconstruct?: (x: Tensor) => Tensor; features?: (x: Tensor) => Tensor };
  const samples: ReportSample[] = [];
  const held: Tensor[] = [];
  const idx = tensor(top, { dtype: 'int64' });
  const xs = a.test.images.indexSelect(0, idx);
  const recon = extra.reconstruct ? extra.reconstruct(xs) : null;
  const maps = a.maps.indexSelect(0, idx);
  held.push(idx, xs, maps, ...(recon ? [recon] : []));
  top.forEach((i, k) => {
    const img = xs.select(0, k);
    const m = maps.select(0, k);
    const r = recon ? recon.select(0, k) : undefined;
    held.push(img, m, ...(r ? [r] : []));
    samples.push({ image: img, reconstruction: r, map: m, score: a.normed[i], label: labels[i], caption: path.basename(a.test.names[i]) });
  });
  let embedding;
  if (extra.features) {
    const step = Math.max(1, Math.floor(n / TSNE_POINTS));
    const pick = Array.from({ length: Math.min(n, TSNE_POINTS) }, (_, k) => k * step).filter((i) => i < n);
    const feats = tidy(() => extra.features!(a.test.images.indexSelect(0, tensor(pick, { dtype: 'int64' }))));
    held.push(feats);
    embedding = {
      features: feats,
      labels: Uint8Array.from(pick, (i) => labels[i]),
      labelNames: { 0: 'normal', 1: 'anomalous' },
      title: 't-SNE of discriminator features (test images)',
    };
  }
  let losses: Record<string, number[]> | undefined;
  const hist = path.join(a.req.bundle, 'history.json');
  if (fs.existsSync(hist)) {
    try {
      const h = JSON.parse(fs.readFileSync(hist, 'utf8')) as { losses: Record<string, number>[] };
      losses = {};
      for (const row of h.losses) for (const [k, v] of Object.entries(row)) (losses[k] ??= []).push(v);
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
      labels,
      threshold: a.results.threshold,
      floors: a.floors ? { 'PCA (floor)': a.floors.pca, 'kNN (floor)': a.floors.knn } : undefined,
      losses,
      samples,
      maxSamples: TOP,
      pixelRange: '[-1,1]',
      embedding,
    });
  } finally {
    for (const t of held) t.dispose();
  }
  return a.req.report;
}
