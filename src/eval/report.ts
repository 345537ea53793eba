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
 * - training loss curves (named series, with an optional one-line explanation per loss);
 * - the most anomalous test images beside their reconstructions x̂, anomaly maps and the maps
 *   laid over the images, each card saying its ground truth ("truth: anomalous") apart from
 *   the model's decision ("model: flagged" when score > Φ);
 * - the most confidently missed anomalies (anomalous images with the lowest scores) and the
 *   most normal images (lowest scores), in the same cards;
 * - a t-SNE scatter of features coloured by label.
 */
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { AnogenError } from '../core/errors.js';
import { evaluateScores, prCurve, rocCurve, toLabelArray, toScoreArray, f1AtThreshold, type Labels, type ScoreMetrics, type Scores } from './metrics.js';
import { esc, fmt, lineChart, scatterPlot, scoreHistogram, PALETTE, ANOMALY_COLOR, NORMAL_COLOR, type Series } from './svg.js';
import { heatColor, heatmapToPng, imageToPng, mapPlane, overlayToPng, pngDataUri, readImage, type ImageInput, type PixelRange } from './png.js';
import { tsne, type TsneOptions, type TsneResult } from './tsne.js';
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
  /** Its anomaly score, on the scale of the report's `threshold`. */
  score: number;
  /** Its ground-truth label (1 = anomalous, 0 = normal); default unknown ("truth: unknown"). */
  label?: number;
  /** A caption (e.g. the file name or the dataset index); default none. */
  caption?: string;
  /**
   * Whether the model flags this image as anomalous. Default: `score > threshold` when the
   * report has a `threshold`, else no flag badge is shown.
   */
  flagged?: boolean;
}

/** A ready 2-D embedding, or features to embed with t-SNE. */
export type ReportEmbedding =
  | { coords: ArrayLike<number>; labels: ArrayLike<number>; labelNames?: Record<number, string>; title?: string }
  | {
      features: ImageMatrix;
      labels: ArrayLike<number>;
      labelNames?: Record<number, string>;
      title?: string;
      tsne?: TsneOptions;
      /** Their embedding when already computed (default: computed here with `tsne`). */
      result?: TsneResult;
    };

/** Everything the report can show; only `scores` and `labels` are required. */
export interface ReportInput extends EvaluationInput {
  /** Page title (default 'anogen evaluation report'). */
  title?: string;
  /** Where Φ came from, shown after it (default 'fitted on validation data'). */
  thresholdSource?: string;
  /** Run information shown in the header (model, data, protocol, seed, epochs...). */
  info?: Record<string, string | number | boolean>;
  /** Name of the model's row and curves (default 'model'). */
  modelName?: string;
  /** Training loss curves: name → values per step (or full {@link Series}); default none (section omitted). */
  losses?: Record<string, ArrayLike<number>> | Series[];
  /**
   * One-line explanation per loss name, shown in the loss legend as "name — explanation"
   * (e.g. `{ g: 'generator total', con: 'contextual L1 |x − x̂|' }`); default none (names only).
   */
  lossDocs?: Record<string, string>;
  /** x-axis title of the loss chart (default 'step'). */
  lossXLabel?: string;
  /** Test images for the "most anomalous" grid; the `maxSamples` highest scores are shown, highest first. Default none (section omitted). */
  samples?: ReportSample[];
  /**
   * The most confidently MISSED anomalies: anomalous test images (label 1) with the LOWEST
   * scores. Shown lowest score first, at most `maxSamples`; entries labelled 0 are left out.
   * Default none (section omitted).
   */
  missed?: ReportSample[];
  /**
   * The MOST NORMAL test images: those with the LOWEST scores (any label). Shown lowest score
   * first, at most `maxSamples`. Default none (section omitted).
   */
  mostNormal?: ReportSample[];
  /** Number of images in each image grid (default 16). */
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
.samplegrid{display:grid;gap:12px}
.sample{border:1px solid var(--line);border-radius:6px;padding:8px 10px;min-width:0}
.sample .cap{font-size:12.5px;margin-bottom:4px;display:flex;flex-wrap:wrap;align-items:center;gap:4px 6px}
.sample .cap .score{margin-right:auto;white-space:nowrap}
.sample .name{font-size:11.5px;color:var(--muted);margin-bottom:6px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.sample .imgs{display:flex;gap:8px}.sample figure{margin:0;text-align:center;min-width:0;flex:0 1 auto}
.sample figcaption{font-size:11px;color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.sample img{image-rendering:pixelated;display:block;border:1px solid var(--line);max-width:100%;height:auto}
.tag{font-size:11px;padding:1px 7px;border-radius:9px;color:#fff;white-space:nowrap;border:1px solid transparent}
.tag.anom{background:${ANOMALY_COLOR}}.tag.norm{background:${NORMAL_COLOR}}.tag.unk{background:#7f7f7f}
.tag.flag{background:#fff;color:#1d2330;border-color:#1d2330;font-weight:600}.tag.noflag{background:#fff;color:var(--muted);border-color:#c3c8d1}
.tag.err{background:#fff3cd;color:#7a5200;border-color:#e0b84a}
.legendline{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:center;font-size:12px;color:var(--muted);margin:0 0 10px}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
svg .gridline{stroke:#edf0f4;stroke-width:1}svg .tick{stroke:#888}svg .frame{fill:none;stroke:#9aa1ad;stroke-width:1}
svg .ticklabel{font-size:11px;fill:#4a5160}svg .axislabel{font-size:12px;fill:#333}svg .title{font-size:13.5px;font-weight:600;fill:#1d2330}
svg .legendbox{fill:#fff;fill-opacity:.88;stroke:#d5d9e0}svg .legendtext{font-size:11.5px;fill:#222}
footer{color:var(--muted);font-size:12px;text-align:center;padding:10px}
`;

/** A floor's row name: its key, with " (floor)" added unless the key already says so. */
function floorLabel(name: string): string {
  return /\bfloor\b/i.test(name) ? name : `${name} (floor)`;
}

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
      const yy: number[] = [],
        xx: number[] = [];
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

let gradId = 0;

function colorbar(vmax: number): string {
  const id = `heatgrad${++gradId}`;
  const stops = Array.from({ length: 9 }, (_, i) => {
    const [r, g, b] = heatColor(i / 8);
    return `<stop offset="${(i / 8) * 100}%" stop-color="rgb(${r},${g},${b})"/>`;
  }).join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="260" height="34" viewBox="0 0 260 34" class="colorbar"><defs><linearGradient id="${id}">${stops}</linearGradient></defs>` +
    `<text x="0" y="12" font-size="11" fill="#4a5160">anomaly map scale</text><rect x="0" y="16" width="200" height="10" fill="url(#${id})" stroke="#9aa1ad" stroke-width="0.5"/>` +
    `<text x="204" y="25" font-size="11" fill="#4a5160">0 … ${esc(fmt(vmax))}</text></svg>`
  );
}

/** The sample sections share one pixel range and one map colour scale, so they compare. */
interface SampleScales {
  range: PixelRange;
  vmax: number;
}

function sampleScales(lists: ReportSample[][], range0: PixelRange): SampleScales {
  // one pixel range for every x and x̂ ('auto': [-1, 1] when any INPUT image has a negative value;
  // reconstructions may overshoot slightly and must not change the range)
  let range: PixelRange = range0;
  const all = lists.flat();
  if (range === 'auto') {
    range = '[0,1]';
    for (const [i, s] of all.entries()) if (readImage(s.image, `samples[${i}].image`).data.some((v) => v < 0)) range = '[-1,1]';
  }
  // one colour scale for every map shown, 0 .. the largest value
  let vmax = 0;
  for (const [i, s] of all.entries()) {
    if (!s.map) continue;
    const { data, c, h, w } = readImage(s.map, `samples[${i}].map`);
    for (const v of mapPlane(data, c, h, w)) if (Number.isFinite(v) && v > vmax) vmax = v;
  }
  return { range, vmax: vmax > 0 ? vmax : 1 };
}

/** Largest side of an image as shown (px): small images are enlarged by a whole factor, large ones shrunk. */
const SHOW_PX = 128;

function displaySize(w: number, h: number): [number, number] {
  const scale = Math.max(1, Math.floor(SHOW_PX / Math.max(w, h)));
  let dw = w * scale,
    dh = h * scale;
  if (Math.max(dw, dh) > SHOW_PX) {
    const f = SHOW_PX / Math.max(dw, dh);
    dw = Math.max(1, Math.round(dw * f));
    dh = Math.max(1, Math.round(dh * f));
  }
  return [dw, dh];
}

interface SampleSection {
  id: string;
  title: string;
  note: string;
}

async function samplesSection(sec: SampleSection, shown: ReportSample[], sc: SampleScales, phi: number | undefined): Promise<string> {
  const cards: string[] = [];
  let maxFigs = 1;
  let maxW = 0;
  let anyMap = false;
  for (let i = 0; i < shown.length; i++) {
    const s = shown[i]!;
    const figs: string[] = [];
    const add = (what: string, cls: string, png: Buffer, w: number, h: number): void => {
      const [dw, dh] = displaySize(w, h);
      maxW = Math.max(maxW, dw);
      figs.push(`<figure class="${cls}"><img alt="${esc(what)}" width="${dw}" height="${dh}" src="${pngDataUri(png)}"/><figcaption>${esc(what)}</figcaption></figure>`);
    };
    const where = `${sec.id}[${i}]`;
    const im = readImage(s.image, `${where}.image`);
    add('x', 'x', await imageToPng(s.image, sc.range), im.w, im.h);
    if (s.reconstruction) {
      const r = readImage(s.reconstruction, `${where}.reconstruction`);
      add('x̂', 'xhat', await imageToPng(s.reconstruction, sc.range), r.w, r.h);
    }
    if (s.map) {
      anyMap = true;
      const mp = readImage(s.map, `${where}.map`);
      const plane = { data: mapPlane(mp.data, mp.c, mp.h, mp.w), shape: [1, mp.h, mp.w] };
      add('map', 'map', await heatmapToPng(plane, { vmin: 0, vmax: sc.vmax }), mp.w, mp.h);
      add('map on x', 'overlay', await overlayToPng(s.image, plane, { range: sc.range, vmin: 0, vmax: sc.vmax }), im.w, im.h);
    }
    maxFigs = Math.max(maxFigs, figs.length);
    const truth =
      s.label === 1
        ? '<span class="tag anom" title="ground-truth label">truth: anomalous</span>'
        : s.label === 0
          ? '<span class="tag norm" title="ground-truth label">truth: normal</span>'
          : '<span class="tag unk" title="ground-truth label">truth: unknown</span>';
    const flagged = s.flagged ?? (phi !== undefined && Number.isFinite(phi) ? s.score > phi : undefined);
    const flag =
      flagged === undefined
        ? ''
        : flagged
          ? '<span class="tag flag" title="the model\'s decision: score &gt; Φ">model: flagged</span>'
          : '<span class="tag noflag" title="the model\'s decision: score ≤ Φ">model: not flagged</span>';
    const err =
      flagged === undefined || (s.label !== 0 && s.label !== 1)
        ? ''
        : s.label === 1 && !flagged
          ? '<span class="tag err">missed</span>'
          : s.label === 0 && flagged
            ? '<span class="tag err">false alarm</span>'
            : '';
    const name = s.caption ? `<div class="name" title="${esc(s.caption)}">${esc(s.caption)}</div>` : '';
    cards.push(
      `<div class="sample"><div class="cap"><span class="score">#${i + 1} · score <b>${esc(fmt(s.score, 4))}</b></span>${truth}${flag}${err}</div>${name}<div class="imgs">${figs.join('')}</div></div>`,
    );
  }
  // columns wide enough for every image of a card at 3/4 of its size or more (the images shrink
  // with the card, never overflow it); narrower only when the page itself is
  const cardW = Math.ceil(maxFigs * (0.75 * maxW + 2) + (maxFigs - 1) * 8 + 2 * 10 + 2);
  const grid = `grid-template-columns:repeat(auto-fill,minmax(min(100%,${cardW}px),1fr))`;
  const phiText = phi !== undefined ? ` (score &gt; Φ = ${esc(fmt(phi, 4))})` : '';
  const legend =
    `<div class="legendline"><span><span class="tag anom">truth: anomalous</span> <span class="tag norm">truth: normal</span> the test label (ground truth)</span>` +
    `<span><span class="tag flag">model: flagged</span> <span class="tag noflag">model: not flagged</span> the model's decision${phiText}</span>` +
    `<span><span class="tag err">missed</span> <span class="tag err">false alarm</span> the two disagree</span></div>`;
  return (
    `<section id="${sec.id}"><h2>${esc(sec.title)}</h2>${legend}` +
    `<div class="samplegrid" style="${grid}">${cards.join('')}</div>${anyMap ? `<div style="margin-top:10px">${colorbar(sc.vmax)}</div>` : ''}` +
    `<p class="note">${esc(sec.note)} x: input; x̂: reconstruction; map: the anomaly map; map on x: the map laid over the input (hot = anomalous). Every map shown in this report uses one colour scale.</p></section>`
  );
}

/** Recall below which a PR curve's precision (a few top-ranked images) does not set the y range. */
const PR_RANGE_MIN_RECALL = 0.05;

/**
 * The PR chart's y range: from just under the lowest precision plotted at recall ≥ 0.05 (or
 * the anomaly rate) to just over 1, so a high anomaly rate does not squash every curve against
 * y = 1; from 0 when the data reach down near 0 anyway. `cut` tells whether some points at
 * lower recall fall below the range (they are clipped).
 */
function prYRange(series: Series[], prevalence: number): { y0: number; y1: number; cut: boolean } {
  let lo = Number.isFinite(prevalence) ? prevalence : 0;
  let lowest = lo;
  for (const q of series) {
    for (let i = 0; i < q.y.length; i++) {
      const v = q.y[i]!,
        r = q.x ? q.x[i]! : 1;
      if (!Number.isFinite(v)) continue;
      if (v < lowest) lowest = v;
      if (r >= PR_RANGE_MIN_RECALL && v < lo) lo = v;
    }
  }
  const margin = Math.max(0.02, 0.08 * (1 - lo));
  let y0 = Math.floor((lo - margin) * 20) / 20; // a multiple of 0.05
  if (y0 < 0.2) y0 = 0;
  return { y0, y1: 1 + 0.02 * (1 - y0), cut: lowest < y0 };
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
  // the report states the test-set size itself (with the anomaly count), so an info entry of the same name is not repeated
  const info = Object.entries(input.info ?? {})
    .filter(([k]) => k.trim().toLowerCase() !== 'test images')
    .map(([k, v]) => `<span>${esc(k)}: <b>${esc(v)}</b></span>`);
  info.push(`<span>test images: <b>${m.n}</b> (${m.nAnomalous} anomalous, ${esc(fmt((100 * m.nAnomalous) / Math.max(1, m.n), 3))}%)</span>`);
  parts.push(`<header><h1>${esc(title)}</h1><div class="info">${info.join('')}</div></header><main>`);

  // metrics table
  const hasPhi = phi !== undefined;
  const head = ['method', 'AUROC', 'AUPRC', 'FPR@95%TPR', 'best F1', ...(hasPhi ? ['F1@Φ', 'precision@Φ', 'recall@Φ'] : [])];
  const rows = [`<tr class="model"><td>${esc(name)}</td>${metricCells(m, hasPhi)}</tr>`];
  for (const [fname, fm] of Object.entries(summary.floors)) {
    rows.push(`<tr><td>${esc(floorLabel(fname))}</td>${metricCells(fm, false)}${hasPhi ? '<td>—</td><td>—</td><td>—</td>' : ''}</tr>`);
  }
  const extraRows = Object.entries(input.extraMetrics ?? {}).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(typeof v === 'number' ? fmt(v, 4) : v)}</td></tr>`);
  const extra = extraRows.length ? `<table class="metrics kv"><tbody>${extraRows.join('')}</tbody></table>` : '';
  parts.push(
    `<section id="metrics"><h2>Metrics</h2><table class="metrics"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>${extra}` +
      `<p class="note">Label 1 = anomalous; higher score = more anomalous. ${hasPhi ? `Φ = ${esc(fmt(phi!, 4))} (flag when score &gt; Φ), ${esc(input.thresholdSource ?? 'fitted on validation data')}. ` : ''}Best F1 is the maximum over all thresholds on the test set (an upper bound, not an operating point).</p></section>`,
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
    title: 'ROC curve',
    xLabel: 'false positive rate',
    yLabel: 'true positive rate',
    xRange: [0, 1],
    yRange: [0, 1.0001],
    legendCorner: 'auto',
    extra: ({ sx, sy }) =>
      `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#bbb" stroke-dasharray="3 3"/>` +
      (op
        ? `<circle cx="${sx(op.fpr).toFixed(1)}" cy="${sy(op.recall).toFixed(1)}" r="5" fill="none" stroke="#222" stroke-width="1.8"/><text x="${(sx(op.fpr) + 8).toFixed(1)}" y="${(sy(op.recall) + 14).toFixed(1)}" font-size="11.5" fill="#222">Φ</text>`
        : ''),
  });
  const prevalence = m.nAnomalous / m.n;
  const { y0: py0, y1: py1, cut: prCut } = prYRange(prSeries, prevalence);
  const prSvg = lineChart(prSeries, {
    title: 'Precision-recall curve',
    xLabel: 'recall',
    yLabel: py0 > 0 ? `precision (axis from ${fmt(py0)}, not 0)` : 'precision',
    xRange: [0, 1],
    yRange: [py0, py1],
    legendCorner: 'auto',
    extra: ({ sx, sy }) => `<line x1="${sx(0)}" y1="${sy(prevalence).toFixed(1)}" x2="${sx(1)}" y2="${sy(prevalence).toFixed(1)}" stroke="#bbb" stroke-dasharray="3 3"/>`,
  });
  const hist = scoreHistogram(s, y, { title: 'Test score distribution', threshold: phi, bins: input.bins });
  parts.push(
    `<section id="scores"><h2>Scores, ROC and PR</h2><div class="charts">${hist}${rocSvg}${prSvg}</div>` +
      `<p class="note">Histograms are densities per class. Grey dashed lines: chance (ROC diagonal; PR at the anomaly rate ${esc(fmt(prevalence, 3))}).${op ? ` Circle: the operating point at Φ (FPR ${esc(fmt(op.fpr, 3))}, TPR ${esc(fmt(op.recall, 3))}).` : ''}` +
      `${py0 > 0 ? ` The PR chart's precision axis starts at ${esc(fmt(py0))}, just under the lowest precision plotted, so curves near 1 stay apart${prCut ? ` (a few points at recall under ${PR_RANGE_MIN_RECALL}, lower still, are cut off)` : ''}.` : ''}</p></section>`,
  );

  // losses
  const ls = lossSeries(input.losses);
  if (ls.length > 0 && ls.every((q) => q.y.length <= 1)) {
    // a one-pass fit (the feature detectors) logs one row of figures: a table, not a curve of one point
    const docs = input.lossDocs ?? {};
    const rows = ls.map((q) => `<tr><td>${esc(q.name)}</td><td>${esc(q.y.length === 1 ? fmt(q.y[0]!, 4) : '—')}</td><td>${esc(docs[q.name] ?? '')}</td></tr>`);
    parts.push(
      `<section id="losses"><h2>Fit</h2><table class="metrics kv"><tbody>${rows.join('')}</tbody></table>` +
        '<p class="note">Fitted in one pass, without a training loop: the figures of the fit.</p></section>',
    );
  } else if (ls.length > 0) {
    const ys = ls.flatMap((q) => Array.from(q.y).filter(Number.isFinite));
    const pos = ys.filter((v) => v > 0);
    const logY = pos.length === ys.length && ys.length > 0 && Math.max(...pos) / Math.min(...pos) > 100;
    const docs = input.lossDocs ?? {};
    const hasDocs = ls.some((q) => docs[q.name] !== undefined);
    const named = ls.map((q) => (docs[q.name] !== undefined ? { ...q, name: `${q.name} — ${docs[q.name]}` } : q));
    const integerX = ls.every((q) => Array.from(q.x ?? []).every((v) => !Number.isFinite(v) || Number.isInteger(v)));
    const chart = lineChart(named, {
      xLabel: input.lossXLabel ?? 'step',
      yLabel: logY ? 'loss (log scale)' : 'loss',
      logY,
      integerX,
      width: 720,
      height: 320,
      legendCorner: hasDocs ? 'below' : 'outside',
    });
    const note = hasDocs ? '' : '<p class="note">Loss names as logged by the model\'s training step.</p>';
    parts.push(`<section id="losses"><h2>Training losses</h2><div class="charts">${chart}</div>${note}</section>`);
  }

  // image grids: most anomalous, missed anomalies, most normal (one pixel range and map scale for all)
  const max = input.maxSamples ?? 16;
  const top = [...(input.samples ?? [])].sort((a, b) => b.score - a.score).slice(0, max);
  const missed = (input.missed ?? [])
    .filter((q) => q.label !== 0)
    .sort((a, b) => a.score - b.score)
    .slice(0, max);
  const normal = [...(input.mostNormal ?? [])].sort((a, b) => a.score - b.score).slice(0, max);
  if (top.length + missed.length + normal.length > 0) {
    const sc = sampleScales([top, missed, normal], input.pixelRange ?? 'auto');
    if (top.length > 0) {
      parts.push(
        await samplesSection(
          { id: 'samples', title: `Most anomalous test images (${top.length} of ${input.samples!.length}, highest score first)`, note: 'What the model finds most anomalous.' },
          top,
          sc,
          phi,
        ),
      );
    }
    if (missed.length > 0) {
      parts.push(
        await samplesSection(
          {
            id: 'missed',
            title: `Missed anomalies: anomalous test images with the lowest scores (${missed.length}, lowest first)`,
            note: 'Anomalies the model is most sure are normal: what it cannot see.',
          },
          missed,
          sc,
          phi,
        ),
      );
    }
    if (normal.length > 0) {
      parts.push(
        await samplesSection({ id: 'normal', title: `Most normal test images (${normal.length}, lowest score first)`, note: 'What the model finds most normal.' }, normal, sc, phi),
      );
    }
  }

  // embedding
  if (input.embedding) {
    const e = input.embedding;
    let coords: ArrayLike<number>;
    let note = '';
    if ('features' in e) {
      const r = e.result ?? tsne(e.features, e.tsne);
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
