/**
 * Ranking and classification metrics for anomaly scores, in plain TypeScript.
 *
 * Conventions (as everywhere in anogen):
 * - label 1 = anomalous (the positive class), label 0 = normal;
 * - a higher score means more anomalous;
 * - a threshold Φ flags a sample as anomalous when `score > Φ` (strictly greater), the rule
 *   of {@link f1AtThreshold} and of the detectors' `predict`.
 *
 * The curve functions reproduce scikit-learn exactly (checked against sklearn 1.2 to 1e-9 in
 * test/eval/metrics.test.ts): {@link rocCurve} = `roc_curve`, {@link auroc} = `roc_auc_score`
 * (trapezoids on the ROC, ties handled as sklearn does), {@link prCurve} =
 * `precision_recall_curve`, {@link auprc} = `average_precision_score`. The curves' thresholds
 * follow sklearn's `score >= t` rule; the first ROC threshold is `Infinity` as in sklearn >= 1.3.
 *
 * Inputs are validated: a length mismatch, an empty input, a label other than 0/1, a
 * non-finite score, or (for the ranking metrics) a single class throws an {@link AnogenError}.
 */
import { mulberry32 } from '../data/random.js';
import { AnogenError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';

/** Anomaly scores: any array-like of numbers, or a 1-D (or any-shape, flattened) tensor. */
export type Scores = ArrayLike<number> | Tensor;
/** Labels, 1 = anomalous, 0 = normal (booleans accepted). */
export type Labels = ArrayLike<number | boolean> | Tensor;

/** Points of a ROC curve, thresholds decreasing (the first one is `Infinity`). */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  thresholds: number[];
}

/** Points of a precision-recall curve as sklearn returns them: recall decreasing, ending at (recall 0, precision 1); `thresholds` has one element fewer. */
export interface PrCurve {
  precision: number[];
  recall: number[];
  thresholds: number[];
}

/** Counts and rates of the decision `score > threshold`. */
export interface ThresholdStats {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** tp / (tp + fp); 0 when nothing is flagged (as sklearn's zero_division=0). */
  precision: number;
  /** tp / (tp + fn); 0 when there is no anomalous sample. */
  recall: number;
  /** 2PR / (P + R); 0 when P + R = 0. */
  f1: number;
  /** fp / (fp + tn); 0 when there is no normal sample. */
  fpr: number;
  /** (tp + tn) / n. */
  accuracy: number;
}

/** The best F1 over all thresholds (see {@link bestF1}). */
export interface BestF1 {
  f1: number;
  precision: number;
  recall: number;
  /** A Φ such that `score > Φ` reproduces the best decision (midway between two distinct scores). */
  threshold: number;
}

/** @internal Converts scores to a Float64Array, checking that every value is finite. */
export function toScoreArray(scores: Scores, what = 'scores'): Float64Array {
  let out: Float64Array;
  if (scores instanceof Tensor) out = scores.toFloat64Array();
  else if (scores instanceof Float64Array) out = scores;
  else if (scores === null || scores === undefined || typeof (scores as ArrayLike<number>).length !== 'number') {
    throw new AnogenError(`${what}: expected an array of numbers or a Tensor, got ${scores === null ? 'null' : typeof scores}`);
  } else out = Float64Array.from(scores as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) {
    const v = out[i]!;
    if (!Number.isFinite(v)) {
      const raw = scores instanceof Tensor ? v : (scores as ArrayLike<unknown>)[i];
      throw new AnogenError(`${what}[${i}] is ${String(raw)}; every score must be a finite number`);
    }
  }
  return out;
}

/** @internal Converts labels to a Uint8Array of 0/1, rejecting any other value. */
export function toLabelArray(labels: Labels, what = 'labels'): Uint8Array {
  let src: ArrayLike<number | boolean>;
  if (labels instanceof Tensor) src = labels.toFloat64Array();
  else if (labels === null || labels === undefined || typeof (labels as ArrayLike<number>).length !== 'number') {
    throw new AnogenError(`${what}: expected an array of 0/1 labels or a Tensor, got ${labels === null ? 'null' : typeof labels}`);
  } else src = labels;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v === 1 || v === true) out[i] = 1;
    else if (v === 0 || v === false) out[i] = 0;
    else throw new AnogenError(`${what}[${i}] is ${String(v)}; labels must be 0 (normal) or 1 (anomalous)`);
  }
  return out;
}

/** @internal Validated scores + labels; `needBoth` requires at least one sample of each class. */
export function checkInputs(scores: Scores, labels: Labels, needBoth: boolean, fn: string): { s: Float64Array; y: Uint8Array } {
  const s = toScoreArray(scores, `${fn}: scores`);
  const y = toLabelArray(labels, `${fn}: labels`);
  if (s.length !== y.length) {
    throw new AnogenError(`${fn}: scores and labels differ in length (${s.length} vs ${y.length})`);
  }
  if (s.length === 0) throw new AnogenError(`${fn}: scores and labels are empty`);
  if (needBoth) {
    let pos = 0;
    for (let i = 0; i < y.length; i++) pos += y[i]!;
    if (pos === 0 || pos === y.length) {
      throw new AnogenError(
        `${fn}: only one class present in labels (all ${pos === 0 ? '0 = normal' : '1 = anomalous'}, n = ${y.length}); ` +
          'the metric needs both normal (0) and anomalous (1) samples',
      );
    }
  }
  return { s, y };
}

/** Indices that sort `s` by decreasing value (ties in any order). */
function argsortDesc(s: Float64Array): Uint32Array {
  const idx = new Uint32Array(s.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((a, b) => s[b]! - s[a]!);
  return idx;
}

/**
 * sklearn's `_binary_clf_curve`: for each distinct score t (decreasing), the false and true
 * positive counts of the rule `score >= t`.
 */
function binaryClfCurve(s: Float64Array, y: Uint8Array): { fps: Float64Array; tps: Float64Array; thr: Float64Array } {
  const order = argsortDesc(s);
  const n = s.length;
  const fps: number[] = [];
  const tps: number[] = [];
  const thr: number[] = [];
  let tp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    tp += y[i]!;
    if (k === n - 1 || s[order[k + 1]!]! !== s[i]!) {
      tps.push(tp);
      fps.push(k + 1 - tp);
      thr.push(s[i]!);
    }
  }
  return { fps: Float64Array.from(fps), tps: Float64Array.from(tps), thr: Float64Array.from(thr) };
}

/**
 * The ROC curve, as sklearn's `roc_curve(labels, scores, drop_intermediate)`.
 * @param opts.dropIntermediate drop collinear points that do not change the curve's shape (default true, as sklearn)
 */
export function rocCurve(scores: Scores, labels: Labels, opts: { dropIntermediate?: boolean } = {}): RocCurve {
  const { s, y } = checkInputs(scores, labels, true, 'rocCurve');
  return rocFromChecked(s, y, opts.dropIntermediate ?? true);
}

function rocFromChecked(s: Float64Array, y: Uint8Array, dropIntermediate: boolean): RocCurve {
  const { fps, tps, thr } = binaryClfCurve(s, y);
  let keep: number[] = [];
  const m = fps.length;
  if (dropIntermediate && m > 2) {
    keep.push(0);
    for (let i = 1; i < m - 1; i++) {
      // sklearn: keep i where the second difference of fps or tps is non-zero
      const d2f = fps[i + 1]! - 2 * fps[i]! + fps[i - 1]!;
      const d2t = tps[i + 1]! - 2 * tps[i]! + tps[i - 1]!;
      if (d2f !== 0 || d2t !== 0) keep.push(i);
    }
    keep.push(m - 1);
  } else keep = Array.from({ length: m }, (_, i) => i);
  const P = tps[m - 1]!;
  const N = fps[m - 1]!;
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Infinity];
  for (const i of keep) {
    fpr.push(fps[i]! / N);
    tpr.push(tps[i]! / P);
    thresholds.push(thr[i]!);
  }
  return { fpr, tpr, thresholds };
}

/** Area under a curve by the trapezoid rule (x must be monotonic, as in sklearn's `auc`). */
export function trapezoid(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new AnogenError(`trapezoid: x and y differ in length (${x.length} vs ${y.length})`);
  let a = 0;
  for (let i = 1; i < x.length; i++) a += ((x[i]! - x[i - 1]!) * (y[i]! + y[i - 1]!)) / 2;
  return a;
}

/** Area under the ROC curve, as sklearn's `roc_auc_score` (ties count one half). 0.5 = chance. */
export function auroc(scores: Scores, labels: Labels): number {
  const { s, y } = checkInputs(scores, labels, true, 'auroc');
  const c = rocFromChecked(s, y, true);
  return trapezoid(c.fpr, c.tpr);
}

/** The precision-recall curve, as sklearn's `precision_recall_curve(labels, scores)`. */
export function prCurve(scores: Scores, labels: Labels): PrCurve {
  const { s, y } = checkInputs(scores, labels, true, 'prCurve');
  return prFromChecked(s, y);
}

function prFromChecked(s: Float64Array, y: Uint8Array): PrCurve {
  const { fps, tps, thr } = binaryClfCurve(s, y);
  const m = tps.length;
  const P = tps[m - 1]!;
  const precision: number[] = [];
  const recall: number[] = [];
  const thresholds: number[] = [];
  for (let i = m - 1; i >= 0; i--) {
    const ps = tps[i]! + fps[i]!;
    precision.push(ps !== 0 ? tps[i]! / ps : 0);
    recall.push(tps[i]! / P);
    thresholds.push(thr[i]!);
  }
  precision.push(1);
  recall.push(0);
  return { precision, recall, thresholds };
}

/**
 * Average precision, as sklearn's `average_precision_score`: Σ (R_i − R_{i−1}) P_i over the
 * thresholds (a step-wise area under the PR curve, no interpolation). Chance level = the
 * fraction of anomalous samples.
 */
export function auprc(scores: Scores, labels: Labels): number {
  const { s, y } = checkInputs(scores, labels, true, 'auprc');
  const c = prFromChecked(s, y);
  let ap = 0;
  for (let j = 0; j < c.recall.length - 1; j++) ap -= (c.recall[j + 1]! - c.recall[j]!) * c.precision[j]!;
  return ap;
}

/** Alias of {@link auprc} under sklearn's name. */
export const averagePrecision = auprc;

function statsFromCounts(threshold: number, tp: number, fp: number, tn: number, fn: number): ThresholdStats {
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  const fpr = fp + tn > 0 ? fp / (fp + tn) : 0;
  return { threshold, tp, fp, tn, fn, precision, recall, f1, fpr, accuracy: (tp + tn) / (tp + fp + tn + fn) };
}

/**
 * Precision, recall, F1, FPR and accuracy of the decision `score > threshold` (anomalous when
 * strictly greater, like the detectors' `predict`). One class only is allowed here.
 */
export function f1AtThreshold(scores: Scores, labels: Labels, threshold: number): ThresholdStats {
  const { s, y } = checkInputs(scores, labels, false, 'f1AtThreshold');
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
    throw new AnogenError(`f1AtThreshold: threshold is ${String(threshold)}; expected a number`);
  }
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < s.length; i++) {
    const flag = s[i]! > threshold;
    if (y[i]) {
      if (flag) tp++;
      else fn++;
    } else if (flag) fp++;
    else tn++;
  }
  return statsFromCounts(threshold, tp, fp, tn, fn);
}

/**
 * The best F1 over every possible threshold, and a Φ that reproduces it with the rule
 * `score > Φ`: midway between the lowest flagged score and the next lower distinct score (or
 * 1 below the lowest score when every sample is flagged). Ties in F1 go to the higher Φ.
 */
export function bestF1(scores: Scores, labels: Labels): BestF1 {
  const { s, y } = checkInputs(scores, labels, true, 'bestF1');
  const { fps, tps, thr } = binaryClfCurve(s, y);
  const m = tps.length;
  const P = tps[m - 1]!;
  let best = -1;
  let bi = 0;
  for (let i = 0; i < m; i++) {
    const tp = tps[i]!;
    const f1 = (2 * tp) / (tp + fps[i]! + P); // = 2PR/(P+R)
    if (f1 > best) {
      best = f1;
      bi = i;
    }
  }
  const t = thr[bi]!;
  let phi: number;
  if (bi + 1 < m) {
    phi = (t + thr[bi + 1]!) / 2;
    // the midpoint of two adjacent doubles can round onto the upper one
    if (!(phi < t)) phi = thr[bi + 1]!;
  } else {
    phi = t - Math.max(1, Math.abs(t) * 1e-6);
  }
  const tp = tps[bi]!;
  const fp = fps[bi]!;
  return { f1: best, precision: tp / (tp + fp), recall: tp / P, threshold: phi };
}

/**
 * The false-positive rate at the first point of the (full) ROC curve whose TPR reaches
 * `tpr` (default 0.95): the smallest FPR among thresholds that catch at least 95% of the
 * anomalies ("FPR@95TPR").
 */
export function fprAtTpr(scores: Scores, labels: Labels, tpr = 0.95): number {
  if (typeof tpr !== 'number' || !(tpr > 0 && tpr <= 1)) {
    throw new AnogenError(`fprAtTpr: tpr is ${String(tpr)}; expected a number in (0, 1]`);
  }
  const { s, y } = checkInputs(scores, labels, true, 'fprAtTpr');
  const c = rocFromChecked(s, y, false);
  for (let i = 0; i < c.tpr.length; i++) if (c.tpr[i]! >= tpr) return c.fpr[i]!;
  return 1;
}

/** Options of {@link pixelAuroc}. */
export interface PixelAurocOptions {
  /** Above this many pixels in total, a deterministic random subset of this size is used (default 2,000,000). */
  maxPixels?: number;
  /** Seed of that subset (default 0). */
  seed?: number;
}

/**
 * Pixel-level AUROC: every pixel of every anomaly map is a sample, labelled by its mask
 * (non-zero = anomalous pixel). `maps[i]` and `masks[i]` must have the same number of
 * elements (any shape; tensors are flattened). Above `maxPixels` pixels in total a seeded
 * uniform subsample is scored, so the result is deterministic.
 */
export function pixelAuroc(maps: readonly Scores[], masks: readonly (ArrayLike<number | boolean> | Tensor)[], opts: PixelAurocOptions = {}): number {
  const maxPixels = opts.maxPixels ?? 2_000_000;
  if (!Number.isInteger(maxPixels) || maxPixels < 2) {
    throw new AnogenError(`pixelAuroc: maxPixels is ${String(maxPixels)}; expected an integer >= 2`);
  }
  if (!Array.isArray(maps) || !Array.isArray(masks)) throw new AnogenError('pixelAuroc: maps and masks must be arrays (one entry per image)');
  if (maps.length !== masks.length) {
    throw new AnogenError(`pixelAuroc: ${maps.length} maps but ${masks.length} masks; expected one mask per map`);
  }
  if (maps.length === 0) throw new AnogenError('pixelAuroc: no maps given');
  const mapArrs: Float64Array[] = [];
  const maskArrs: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < maps.length; i++) {
    const m = toScoreArray(maps[i]!, `pixelAuroc: maps[${i}]`);
    const k0 = masks[i]!;
    const src: ArrayLike<number | boolean> = k0 instanceof Tensor ? k0.toFloat64Array() : k0;
    if (src.length !== m.length) {
      throw new AnogenError(`pixelAuroc: maps[${i}] has ${m.length} pixels but masks[${i}] has ${src.length}`);
    }
    const k = new Uint8Array(src.length);
    for (let j = 0; j < src.length; j++) k[j] = src[j] ? 1 : 0;
    mapArrs.push(m);
    maskArrs.push(k);
    total += m.length;
  }
  let s: Float64Array;
  let y: Uint8Array;
  if (total <= maxPixels) {
    s = new Float64Array(total);
    y = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < mapArrs.length; i++) {
      s.set(mapArrs[i]!, o);
      y.set(maskArrs[i]!, o);
      o += mapArrs[i]!.length;
    }
  } else {
    // seeded sample of maxPixels global indices (with replacement; deterministic)
    const rand = mulberry32(opts.seed ?? 0);
    const starts = new Float64Array(mapArrs.length + 1);
    for (let i = 0; i < mapArrs.length; i++) starts[i + 1] = starts[i]! + mapArrs[i]!.length;
    const picks = new Float64Array(maxPixels);
    for (let j = 0; j < maxPixels; j++) picks[j] = Math.floor(rand() * total);
    picks.sort();
    s = new Float64Array(maxPixels);
    y = new Uint8Array(maxPixels);
    let img = 0;
    for (let j = 0; j < maxPixels; j++) {
      const g = picks[j]!;
      while (g >= starts[img + 1]!) img++;
      const off = g - starts[img]!;
      s[j] = mapArrs[img]![off]!;
      y[j] = maskArrs[img]![off]!;
    }
  }
  return auroc(s, y);
}

/** Every image-level metric anogen reports (see {@link evaluateScores}). */
export interface ScoreMetrics {
  n: number;
  nAnomalous: number;
  auroc: number;
  auprc: number;
  /** FPR at 95% TPR. */
  fpr95: number;
  bestF1: BestF1;
  /** Stats at the given threshold Φ (`score > Φ`), when one was given. */
  atThreshold?: ThresholdStats;
}

/**
 * All image-level metrics at once: AUROC, AUPRC, FPR@95TPR, best F1 and, when `threshold` is
 * given, precision/recall/F1 at that Φ. Needs both classes.
 */
export function evaluateScores(scores: Scores, labels: Labels, opts: { threshold?: number } = {}): ScoreMetrics {
  const { s, y } = checkInputs(scores, labels, true, 'evaluateScores');
  let nAnomalous = 0;
  for (let i = 0; i < y.length; i++) nAnomalous += y[i]!;
  const out: ScoreMetrics = {
    n: s.length,
    nAnomalous,
    auroc: auroc(s, y),
    auprc: auprc(s, y),
    fpr95: fprAtTpr(s, y, 0.95),
    bestF1: bestF1(s, y),
  };
  if (opts.threshold !== undefined) out.atThreshold = f1AtThreshold(s, y, opts.threshold);
  return out;
}
