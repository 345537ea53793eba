/**
 * Evaluation outputs: `results.json` ({@link writeResultsJson}) and ONE self-contained HTML
 * report ({@link renderReport} / {@link writeReport}): inline SVG charts and inline base64 PNG
 * images, no external assets, readable offline and attachable to an issue.
 *
 * Sections of the report, each present when its input is given:
 * - a header with run information (`info`) and a metrics table of the model and the floors
 *   (AUROC, AUPRC, FPR@95%TPR, best F1; F1/precision/recall at Φ for the model);
 * - score histograms of normal vs anomalous test scores with Φ marked;
 * - ROC and PR curves with AUROC/AUPRC (the floors' curves dashed);
 * - training loss curves (named series);
 * - the most anomalous test images beside their reconstructions x̂ and anomaly maps;
 * - a t-SNE scatter of features coloured by label.
 */
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { AnogenError } from '../core/errors.js';
import { evaluateScores, prCurve, rocCurve, toLabelArray, toScoreArray, f1AtThreshold, type Labels, type ScoreMetrics, type Scores } from './metrics.js';
import { esc, fmt, lineChart, scatterPlot, scoreHistogram, PALETTE, ANOMALY_COLOR, NORMAL_COLOR, type Series } from './svg.js';
import { heatColor, heatmapToPng, imageToPng, mapPlane, pngDataUri, readImage, type ImageInput, type PixelRange } from './png.js';
import { tsne, type TsneOptions } from './tsne.js';
import type { ImageMatrix } from './floors.js';

/** What {@link summarizeEvaluation} needs. */
export interface EvaluationInput {
  /** Test scores of the model (higher = more anomalous). */
  scores: Scores;
  /** Test labels (1 = anomalous). */
  labels: Labels;
  /** Φ on the scale of `scores` (flag when score > Φ); default none. */
  threshold?: number;
  /** Scores of other methods (the floors: e.g. `{pca: ..., knn: ...}`) on the same test images. */
  floors?: Record<string, Scores>;
}

/** Metrics of the model and of each floor, as written to results.json. */
export interface EvaluationSummary {
  metrics: ScoreMetrics;
  floors: Record<string, ScoreMetrics>;
}

/** Computes every metric of the model and of the floors on the same labels. */
export function summarizeEvaluation(input: EvaluationInput): EvaluationSummary {
  const metrics = evaluateScores(input.scores, input.labels, { threshold: input.threshold });
  const floors: Record<string, ScoreMetrics> = {};
  for (const [name, s] of Object.entries(input.floors ?? {})) floors[name] = evaluateScores(s, input.labels);
  return { metrics, floors };
}

function sanitize(v: unknown, depth = 0): unknown {
  if (depth > 64) throw new AnogenError('writeResultsJson: results are nested too deeply (or circular)');
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>, (x) => sanitize(x, depth + 1));
  if (Array.isArray(v)) return v.map((x) => sanitize(x, depth + 1));
  if (v !== null && typeof v === 'object') {
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return v;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined && typeof x !== 'function') o[k] = sanitize(x, depth + 1);
    return o;
  }
  return v;
}

/**
 * Writes evaluation results as JSON, atomically (via writeJsonAtomic): typed arrays become
 * arrays and non-finite numbers (e.g. a ROC curve's first threshold, Infinity) become null.
 */
export function writeResultsJson(file: string, results: unknown): void {
  writeJsonAtomic(file, sanitize(results));
}

/** One test image shown in the report's grid. */
export interface ReportSample {
  /** The input image x ([C, H, W] or [H, W]; pixels in [-1, 1] or [0, 1]). */
  image: ImageInput;
  /** Its reconstruction x̂ (same layout), if the model has one. */
  reconstruction?: ImageInput;
  /** Its anomaly map ([1, H, W] or [H, W]; channels are averaged). */
  map?: ImageInput;
  /** Its anomaly score. */
  score: number;
  /** Its label (1 = anomalous), if known. */
  label?: number;
  /** A caption (e.g. the file name or the dataset index). */
  caption?: string;
}

/** A ready 2-D embedding, or features to embed with t-SNE. */
export type ReportEmbedding =
  | { coords: ArrayLike<number>; labels: ArrayLike<number>; labelNames?: Record<number, string>; title?: string }
  | { features: ImageMatrix; labels: ArrayLike<number>; labelNames?: Record<number, string>; title?: string; tsne?: TsneOptions };

/** Everything the report can show; only `scores` and `labels` are required. */
export interface ReportInput extends EvaluationInput {
  /** Page title (default 'anogen evaluation report'). */
  title?: string;
  /** Run information shown in the header (model, data, protocol, seed, epochs...). */
  info?: Record<string, string | number | boolean>;
  /** Name of the model's row and curves (default 'model'). */
  modelName?: string;
  /** Training loss curves: name → values per step (or full {@link Series}). */
  losses?: Record<string, ArrayLike<number>> | Series[];
  /** x-axis title of the loss chart (default 'step'). */
  lossXLabel?: string;
  /** Test images for the grid; the `maxSamples` highest scores are shown, highest first. */
  samples?: ReportSample[];
  /** Number of images in the grid (default 16). */
  maxSamples?: number;
  /** Pixel range of the images (default 'auto'). */
  pixelRange?: PixelRange;
  /** 2-D embedding (e.g. t-SNE of discriminator features) coloured by label. */
  embedding?: ReportEmbedding;
  /** Extra rows for the metrics table (e.g. `{'pixel AUROC': 0.91}`). */
  extraMetrics?: Record<string, number | string>;
  /** Bins of the score histogram (default 30). */
  bins?: number;
}

const CSS = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#f6f7f9;--card:#fff}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#1d2330;color:#fff;padding:20px 32px}header h1{margin:0 0 6px;font-size:22px;font-weight:600}
header .info{display:flex;flex-wrap:wrap;gap:6px 18px;color:#c9cfdb;font-size:13px}header .info b{color:#fff;font-weight:600}
main{max-width:1240px;margin:0 auto;padding:20px 24px 40px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:0 0 18px}
section h2{font-size:16px;margin:0 0 12px;font-weight:600}.note{color:var(--muted);font-size:12.5px;margin:8px 0 0}
.charts{display:flex;flex-wrap:wrap;gap:18px}.chart{max-width:100%;height:auto}
table.metrics{border-collapse:collapse;font-variant-numeric:tabular-nums;width:100%}
table.metrics th,table.metrics td{padding:6px 12px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
table.metrics th:first-child,table.metrics td:first-child{text-align:left}
table.metrics thead th{font-weight:600;color:var(--muted);font-size:12.5px;border-bottom:2px solid var(--line)}
table.metrics tr.model td{font-weight:600;background:#f3f6fd}table.kv{width:auto;margin-top:14px}table.kv td{text-align:left}
.samplegrid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px}
.sample{border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.sample .cap{font-size:12.5px;margin-bottom:6px;display:flex;justify-content:space-between;gap:8px}
.sample .imgs{display:flex;gap:8px}.sample figure{margin:0;text-align:center}
.sample figcaption{font-size:11px;color:var(--muted)}.sample img{image-rendering:pixelated;display:block;border:1px solid var(--line)}
.tag{font-size:11px;padding:1px 6px;border-radius:9px;color:#fff}.tag.anom{background:${ANOMALY_COLOR}}.tag.norm{background:${NORMAL_COLOR}}.tag.unk{background:#7f7f7f}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
svg .gridline{stroke:#edf0f4;stroke-width:1}svg .tick{stroke:#888}svg .frame{fill:none;stroke:#9aa1ad;stroke-width:1}
svg .ticklabel{font-size:11px;fill:#4a5160}svg .axislabel{font-size:12px;fill:#333}svg .title{font-size:13.5px;font-weight:600;fill:#1d2330}
svg .legendbox{fill:#fff;fill-opacity:.88;stroke:#d5d9e0}svg .legendtext{font-size:11.5px;fill:#222}
footer{color:var(--muted);font-size:12px;text-align:center;padding:10px}
`;

function metricCells(m: ScoreMetrics | undefined, at: boolean): string {
  if (!m) return '';
  const cells = [fmt(m.auroc, 4), fmt(m.auprc, 4), fmt(m.fpr95, 3), fmt(m.bestF1.f1, 3)];
  if (at) {
    const a = m.atThreshold;
    cells.push(a ? fmt(a.f1, 3) : '—', a ? fmt(a.precision, 3) : '—', a ? fmt(a.recall, 3) : '—');
  }
  return cells.map((c) => `<td>${esc(c)}</td>`).join('');
}

function lossSeries(losses: ReportInput['losses']): Series[] {
  if (!losses) return [];
  const list: Series[] = Array.isArray(losses) ? losses : Object.entries(losses).map(([name, y]) => ({ name, y }));
  return list.map((s, k) => {
    const y = Array.from(s.y);
    const x = s.x ? Array.from(s.x) : y.map((_, i) => i);
    // long series: average into at most 600 buckets so the SVG stays small
    if (y.length > 1200) {
      const b = Math.ceil(y.length / 600);
      const yy: number[] = [], xx: number[] = [];
      for (let i = 0; i < y.length; i += b) {
        const seg = y.slice(i, i + b).filter(Number.isFinite);
        yy.push(seg.length ? seg.reduce((a, c) => a + c, 0) / seg.length : NaN);
        xx.push(x[Math.min(i + Math.floor(b / 2), x.length - 1)]!);
      }
      return { ...s, x: xx, y: yy, color: s.color ?? PALETTE[k % PALETTE.length] };
    }
    return { ...s, x, y, color: s.color ?? PALETTE[k % PALETTE.length] };
  });
}

function colorbar(vmax: number): string {
  const stops = Array.from({ length: 9 }, (_, i) => {
    const [r, g, b] = heatColor(i / 8);
    return `<stop offset="${(i / 8) * 100}%" stop-color="rgb(${r},${g},${b})"/>`;
  }).join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="260" height="34" viewBox="0 0 260 34" class="colorbar"><defs><linearGradient id="heatgrad">${stops}</linearGradient></defs>` +
    `<text x="0" y="12" font-size="11" fill="#4a5160">anomaly map scale</text><rect x="0" y="16" width="200" height="10" fill="url(#heatgrad)" stroke="#9aa1ad" stroke-width="0.5"/>` +
    `<text x="204" y="25" font-size="11" fill="#4a5160">0 … ${esc(fmt(vmax))}</text></svg>`
  );
}

async function samplesSection(samples: ReportSample[], max: number, range0: PixelRange): Promise<string> {
  const shown = [...samples].sort((a, b) => b.score - a.score).slice(0, max);
  // one pixel range for every x and x̂ ('auto': [-1, 1] when any INPUT image has a negative value;
  // reconstructions may overshoot slightly and must not change the range)
  let range: PixelRange = range0;
  if (range === 'auto') {
    range = '[0,1]';
    for (const [i, s] of shown.entries()) if (readImage(s.image, `samples[${i}].image`).data.some((v) => v < 0)) range = '[-1,1]';
  }
  // one colour scale for every map shown, 0 .. the largest value, so the maps compare
  let vmax = 0;
  const planes = shown.map((s, i) => {
    if (!s.map) return null;
    const { data, c, h, w } = readImage(s.map, `samples[${i}].map`);
    const m = mapPlane(data, c, h, w);
    for (const v of m) if (Number.isFinite(v) && v > vmax) vmax = v;
    return { data: m, shape: [1, h, w] };
  });
  if (!(vmax > 0)) vmax = 1;
  const cards: string[] = [];
  for (let i = 0; i < shown.length; i++) {
    const s = shown[i]!;
    const figs: string[] = [];
    const add = async (what: string, png: Buffer, w: number, h: number) => {
      const scale = Math.max(1, Math.ceil(96 / Math.max(w, h)));
      figs.push(`<figure><img alt="${esc(what)}" width="${w * scale}" height="${h * scale}" src="${pngDataUri(png)}"/><figcaption>${esc(what)}</figcaption></figure>`);
    };
    const im = readImage(s.image, `samples[${i}].image`);
    await add('x', await imageToPng(s.image, range), im.w, im.h);
    if (s.reconstruction) {
      const r = readImage(s.reconstruction, `samples[${i}].reconstruction`);
      await add('x̂', await imageToPng(s.reconstruction, range), r.w, r.h);
    }
    if (planes[i]) await add('|x − x̂| map', await heatmapToPng(planes[i]!, { vmin: 0, vmax }), planes[i]!.shape[2]!, planes[i]!.shape[1]!);
    const tag = s.label === 1 ? '<span class="tag anom">anomalous</span>' : s.label === 0 ? '<span class="tag norm">normal</span>' : '<span class="tag unk">unlabelled</span>';
    cards.push(
      `<div class="sample"><div class="cap"><span>#${i + 1} · score <b>${esc(fmt(s.score, 4))}</b>${s.caption ? ` · ${esc(s.caption)}` : ''}</span>${tag}</div><div class="imgs">${figs.join('')}</div></div>`,
    );
  }
  const anyMap = planes.some((p) => p !== null);
  return (
    `<section id="samples"><h2>Most anomalous test images (${shown.length} of ${samples.length}, highest score first)</h2>` +
    `<div class="samplegrid">${cards.join('')}</div>${anyMap ? `<div style="margin-top:10px">${colorbar(vmax)}</div>` : ''}` +
    `<p class="note">x: input; x̂: reconstruction; map: anomaly map on one colour scale shared by every image shown.</p></section>`
  );
}

/** Renders the report as one self-contained HTML string (see the module doc for the sections). */
export async function renderReport(input: ReportInput): Promise<string> {
  const s = toScoreArray(input.scores, 'report: scores');
  const y = toLabelArray(input.labels, 'report: labels');
  const summary = summarizeEvaluation({ ...input, scores: s, labels: y });
  const m = summary.metrics;
  const name = input.modelName ?? 'model';
  const title = input.title ?? 'anogen evaluation report';
  const phi = input.threshold;
  const parts: string[] = [];

  // header
  const info = Object.entries(input.info ?? {}).map(([k, v]) => `<span>${esc(k)}: <b>${esc(v)}</b></span>`);
  info.push(`<span>test images: <b>${m.n}</b> (${m.nAnomalous} anomalous)</span>`);
  parts.push(`<header><h1>${esc(title)}</h1><div class="info">${info.join('')}</div></header><main>`);

  // metrics table
  const hasPhi = phi !== undefined;
  const head = ['method', 'AUROC', 'AUPRC', 'FPR@95%TPR', 'best F1', ...(hasPhi ? ['F1@Φ', 'precision@Φ', 'recall@Φ'] : [])];
  const rows = [`<tr class="model"><td>${esc(name)}</td>${metricCells(m, hasPhi)}</tr>`];
  for (const [fname, fm] of Object.entries(summary.floors)) {
    rows.push(`<tr><td>${esc(fname)} (floor)</td>${metricCells(fm, false)}${hasPhi ? '<td>—</td><td>—</td><td>—</td>' : ''}</tr>`);
  }
  const extraRows = Object.entries(input.extraMetrics ?? {}).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(typeof v === 'number' ? fmt(v, 4) : v)}</td></tr>`);
  const extra = extraRows.length ? `<table class="metrics kv"><tbody>${extraRows.join('')}</tbody></table>` : '';
  parts.push(
    `<section id="metrics"><h2>Metrics</h2><table class="metrics"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>${extra}` +
      `<p class="note">Label 1 = anomalous; higher score = more anomalous. ${hasPhi ? `Φ = ${esc(fmt(phi!, 4))} (flag when score &gt; Φ), fitted on validation data. ` : ''}Best F1 is the maximum over all thresholds on the test set (an upper bound, not an operating point).</p></section>`,
  );

  // histogram + ROC + PR
  const roc = rocCurve(s, y);
  const pr = prCurve(s, y);
  const rocSeries: Series[] = [{ name: `${name} (AUROC ${fmt(m.auroc, 3)})`, x: roc.fpr, y: roc.tpr, color: PALETTE[0], width: 2.4 }];
  const prSeries: Series[] = [{ name: `${name} (AP ${fmt(m.auprc, 3)})`, x: pr.recall, y: pr.precision, color: PALETTE[0], width: 2.4, step: true }];
  const floorColors = ['#7f7f7f', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
  Object.entries(input.floors ?? {}).forEach(([fname, fs], k) => {
    const fr = rocCurve(fs, y);
    const fp = prCurve(fs, y);
    const c = floorColors[k % floorColors.length]!;
    rocSeries.push({ name: `${fname} (AUROC ${fmt(summary.floors[fname]!.auroc, 3)})`, x: fr.fpr, y: fr.tpr, color: c, dash: true, width: 1.6 });
    prSeries.push({ name: `${fname} (AP ${fmt(summary.floors[fname]!.auprc, 3)})`, x: fp.recall, y: fp.precision, color: c, dash: true, width: 1.6, step: true });
  });
  const op = hasPhi ? f1AtThreshold(s, y, phi!) : null;
  const rocSvg = lineChart(rocSeries, {
    title: 'ROC curve', xLabel: 'false positive rate', yLabel: 'true positive rate', xRange: [0, 1], yRange: [0, 1.0001], legendCorner: 'br',
    extra: ({ sx, sy }) =>
      `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#bbb" stroke-dasharray="3 3"/>` +
      (op ? `<circle cx="${sx(op.fpr).toFixed(1)}" cy="${sy(op.recall).toFixed(1)}" r="5" fill="none" stroke="#222" stroke-width="1.8"/><text x="${(sx(op.fpr) + 8).toFixed(1)}" y="${(sy(op.recall) + 14).toFixed(1)}" font-size="11.5" fill="#222">Φ</text>` : ''),
  });
  const prevalence = m.nAnomalous / m.n;
  const prSvg = lineChart(prSeries, {
    title: 'Precision-recall curve', xLabel: 'recall', yLabel: 'precision', xRange: [0, 1], yRange: [0, 1.0001], legendCorner: 'tl',
    extra: ({ sx, sy }) => `<line x1="${sx(0)}" y1="${sy(prevalence).toFixed(1)}" x2="${sx(1)}" y2="${sy(prevalence).toFixed(1)}" stroke="#bbb" stroke-dasharray="3 3"/>`,
  });
  const hist = scoreHistogram(s, y, { title: 'Test score distribution', threshold: phi, bins: input.bins });
  parts.push(
    `<section id="scores"><h2>Scores, ROC and PR</h2><div class="charts">${hist}${rocSvg}${prSvg}</div>` +
      `<p class="note">Histograms are densities per class. Grey dashed lines: chance (ROC diagonal; PR at the anomaly rate ${esc(fmt(prevalence, 3))}).${op ? ` Circle: the operating point at Φ (FPR ${esc(fmt(op.fpr, 3))}, TPR ${esc(fmt(op.recall, 3))}).` : ''}</p></section>`,
  );

  // losses
  const ls = lossSeries(input.losses);
  if (ls.length > 0) {
    const ys = ls.flatMap((q) => Array.from(q.y).filter(Number.isFinite));
    const pos = ys.filter((v) => v > 0);
    const logY = pos.length === ys.length && ys.length > 0 && Math.max(...pos) / Math.min(...pos) > 100;
    const chart = lineChart(ls, { xLabel: input.lossXLabel ?? 'step', yLabel: logY ? 'loss (log scale)' : 'loss', logY, width: 720, height: 320, legendCorner: 'outside' });
    parts.push(`<section id="losses"><h2>Training losses</h2><div class="charts">${chart}</div></section>`);
  }

  // samples
  if (input.samples && input.samples.length > 0) parts.push(await samplesSection(input.samples, input.maxSamples ?? 16, input.pixelRange ?? 'auto'));

  // embedding
  if (input.embedding) {
    const e = input.embedding;
    let coords: ArrayLike<number>;
    let note = '';
    if ('features' in e) {
      const r = tsne(e.features, e.tsne);
      coords = r.coords;
      note = `t-SNE of ${r.n} points, perplexity ${fmt(r.perplexity)}, KL ${fmt(r.kl)}.`;
    } else coords = e.coords;
    if (coords.length !== 2 * e.labels.length) {
      throw new AnogenError(`report embedding: ${coords.length / 2} points but ${e.labels.length} labels`);
    }
    const sc = scatterPlot(coords, e.labels, { labelNames: e.labelNames, width: 560, height: 480 });
    parts.push(`<section id="embedding"><h2>${esc(e.title ?? 't-SNE of features')}</h2><div class="charts">${sc}</div>${note ? `<p class="note">${esc(note)}</p>` : ''}</section>`);
  }

  parts.push(`</main><footer>Generated by anogen on ${esc(new Date().toISOString().replace('T', ' ').slice(0, 19))} UTC</footer>`);
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head><body>${parts.join('\n')}</body></html>\n`;
}

/** Renders the report and writes it atomically to `file`; returns the HTML. */
export async function writeReport(file: string, input: ReportInput): Promise<string> {
  const html = await renderReport(input);
  writeFileAtomic(file, html);
  return html;
}
