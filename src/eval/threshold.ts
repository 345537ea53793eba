/**
 * Thresholds Φ: a sample is flagged anomalous when its (normalised) score is > Φ.
 * Φ is fitted on validation data only, never on the test split, and stored in a model
 * bundle's config.json as a plain JSON object.
 *
 * Strategies ({@link ThresholdStrategy}):
 * - `percentile` (the default): Φ = the q-th percentile of the validation NORMAL scores
 *   (numpy's default linear interpolation), q default {@link DEFAULT_PERCENTILE} = 95, so about
 *   5% of normal images are flagged (a false-alarm rate of 5%, pyod's `contamination` = 0.05).
 *   95 rather than 99: with the few hundred validation normals a one-class split usually has,
 *   the 99th percentile rests on two or three images and moves a lot between seeds.
 * - `f1-max`: the Φ that maximises F1 on a LABELLED validation set (both classes needed),
 *   placed midway between the two scores it separates.
 * - `fixed`: a value given by the user (on the normalised scale if a normalisation is used).
 *
 * {@link fitCalibration} fits a normalisation and a threshold together, the way a detector's
 * `fit` does after training: the normalisation on validation normals, then Φ on the
 * normalised validation scores.
 */
import { AnogenError, validList } from '../core/errors.js';
import { bestF1, checkInputs, toScoreArray, type Labels, type Scores } from './metrics.js';
import { applyNormalization, fitNormalization, normalScores, parseNormalization, type Normalization, type NormalizationKind } from './normalize.js';

/** The default percentile of the `percentile` strategy (95: about 5% of normals flagged). */
export const DEFAULT_PERCENTILE = 95;

/** The threshold strategies anogen knows. */
export const THRESHOLD_KINDS = ['percentile', 'f1-max', 'fixed'] as const;
export type ThresholdKind = (typeof THRESHOLD_KINDS)[number];

/** How to choose Φ (before fitting). */
export type ThresholdStrategy =
  { kind: 'percentile'; /** percentile of validation normal scores in [0, 100] (default 95) */ q?: number } | { kind: 'f1-max' } | { kind: 'fixed'; /** Φ itself */ value: number };

/** A fitted threshold; JSON-serialisable as is. */
export interface Threshold {
  kind: ThresholdKind;
  /** Φ: flag when score > value. */
  value: number;
  /** The strategy's parameters (`q` for percentile, `f1` reached on validation for f1-max). */
  params: Record<string, number>;
  /** How many validation samples it was fitted on (absent for `fixed`). */
  fittedOn?: { n: number; nAnomalous: number };
}

/**
 * The q-th percentile (q in [0, 100]) of `values` with linear interpolation between order
 * statistics, as numpy's `np.percentile(values, q)` default.
 */
export function percentile(values: Scores, q: number): number {
  if (typeof q !== 'number' || !(q >= 0 && q <= 100)) {
    throw new AnogenError(`percentile: q is ${JSON.stringify(q)}; expected a number in [0, 100]`);
  }
  const s = Float64Array.from(toScoreArray(values, 'percentile: values')).sort();
  if (s.length === 0) throw new AnogenError('percentile: no values given');
  const pos = (q / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  const frac = pos - lo;
  return s[lo]! + (s[hi]! - s[lo]!) * frac;
}

/**
 * Parses a threshold strategy from a CLI/config value: an object `{kind, ...}` or a string
 * `'percentile'`, `'percentile:99'`, `'f1-max'`, `'fixed:0.37'`. `where` names the option in
 * errors (default 'threshold').
 */
export function parseThresholdStrategy(spec: unknown, where = 'threshold'): ThresholdStrategy {
  let obj: Record<string, unknown>;
  if (typeof spec === 'string') {
    const [kind, arg, ...rest] = spec.split(':');
    if (rest.length > 0) throw new AnogenError(`${where}: ${JSON.stringify(spec)} has too many ':'; expected e.g. 'percentile:95', 'f1-max' or 'fixed:0.5'`);
    obj = { kind };
    if (arg !== undefined) {
      const num = arg.trim() === '' ? NaN : Number(arg);
      if (kind === 'percentile') obj.q = num;
      else if (kind === 'fixed') obj.value = num;
      else if (kind === 'f1-max') throw new AnogenError(`${where}: 'f1-max' takes no value (got ${JSON.stringify(spec)})`);
    }
  } else if (spec !== null && typeof spec === 'object' && !Array.isArray(spec)) {
    obj = spec as Record<string, unknown>;
  } else {
    throw new AnogenError(`${where}: expected a strategy such as 'percentile:95', 'f1-max' or 'fixed:0.5', got ${JSON.stringify(spec)}`);
  }
  const kind = obj.kind;
  if (!THRESHOLD_KINDS.includes(kind as ThresholdKind)) {
    throw new AnogenError(`${where}: kind ${JSON.stringify(kind)} is not valid; expected ${validList(THRESHOLD_KINDS)}`);
  }
  const allowed: Record<ThresholdKind, string[]> = { percentile: ['kind', 'q'], 'f1-max': ['kind'], fixed: ['kind', 'value'] };
  for (const k of Object.keys(obj)) {
    if (!allowed[kind as ThresholdKind].includes(k)) {
      throw new AnogenError(`${where}: unknown key '${k}' for '${kind}'; valid keys: ${validList(allowed[kind as ThresholdKind])}`);
    }
  }
  if (kind === 'percentile') {
    const q = obj.q ?? DEFAULT_PERCENTILE;
    if (typeof q !== 'number' || !(q >= 0 && q <= 100)) {
      throw new AnogenError(`${where}: percentile q is ${JSON.stringify(obj.q)}; expected a number in [0, 100] (default ${DEFAULT_PERCENTILE})`);
    }
    return { kind, q };
  }
  if (kind === 'fixed') {
    if (typeof obj.value !== 'number' || !Number.isFinite(obj.value)) {
      throw new AnogenError(`${where}: 'fixed' needs a finite number value (e.g. 'fixed:0.5'), got ${JSON.stringify(obj.value)}`);
    }
    return { kind, value: obj.value };
  }
  return { kind: 'f1-max' };
}

/**
 * Fits Φ on validation scores. `strategy` default `{kind: 'percentile', q: 95}` (a string
 * such as 'f1-max' is accepted too). `labels` (1 = anomalous) are required for `f1-max`;
 * for `percentile`, only label-0 scores are used, and all scores when labels are omitted.
 */
export function fitThreshold(strategy: ThresholdStrategy | string = { kind: 'percentile' }, scores?: Scores, labels?: Labels): Threshold {
  const st = parseThresholdStrategy(strategy);
  if (st.kind === 'fixed') return { kind: 'fixed', value: st.value, params: {} };
  if (scores === undefined) throw new AnogenError(`fitThreshold: strategy '${st.kind}' needs validation scores`);
  if (st.kind === 'percentile') {
    const normals = normalScores(scores, labels, 'fitThreshold');
    const n = toScoreArray(scores).length;
    const q = st.q ?? DEFAULT_PERCENTILE;
    return { kind: 'percentile', value: percentile(normals, q), params: { q }, fittedOn: { n, nAnomalous: n - normals.length } };
  }
  if (labels === undefined) {
    throw new AnogenError("fitThreshold: strategy 'f1-max' needs a labelled validation set (labels 0/1 with both classes); use 'percentile' for normal-only validation data");
  }
  const { s, y } = checkInputs(scores, labels, true, "fitThreshold('f1-max')");
  const b = bestF1(s, y);
  let nA = 0;
  for (const v of y) nA += v;
  return { kind: 'f1-max', value: b.threshold, params: { f1: b.f1 }, fittedOn: { n: s.length, nAnomalous: nA } };
}

/** 0/1 decisions `score > Φ` (1 = anomalous). `threshold` is a fitted {@link Threshold} or Φ itself. */
export function predict(scores: Scores, threshold: Threshold | number): Uint8Array {
  const phi = typeof threshold === 'number' ? threshold : threshold.value;
  if (typeof phi !== 'number' || Number.isNaN(phi)) throw new AnogenError(`predict: threshold is ${String(phi)}; expected a number`);
  const s = toScoreArray(scores, 'predict: scores');
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s[i]! > phi ? 1 : 0;
  return out;
}

/** Validates a fitted threshold read from JSON (e.g. a bundle's config.json). */
export function parseThreshold(value: unknown, where = 'threshold'): Threshold {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AnogenError(`${where}: expected an object {kind, value, params}, got ${JSON.stringify(value)}`);
  }
  const v = value as Record<string, unknown>;
  if (!THRESHOLD_KINDS.includes(v.kind as ThresholdKind)) {
    throw new AnogenError(`${where}.kind: ${JSON.stringify(v.kind)} is not valid; expected ${validList(THRESHOLD_KINDS)}`);
  }
  if (typeof v.value !== 'number' || !Number.isFinite(v.value)) {
    throw new AnogenError(`${where}.value: expected a finite number, got ${JSON.stringify(v.value)}`);
  }
  const params: Record<string, number> = {};
  if (v.params !== undefined) {
    if (v.params === null || typeof v.params !== 'object' || Array.isArray(v.params)) {
      throw new AnogenError(`${where}.params: expected an object of numbers, got ${JSON.stringify(v.params)}`);
    }
    for (const [k, x] of Object.entries(v.params)) {
      if (typeof x !== 'number') throw new AnogenError(`${where}.params.${k}: expected a number, got ${JSON.stringify(x)}`);
      params[k] = x;
    }
  }
  const out: Threshold = { kind: v.kind as ThresholdKind, value: v.value, params };
  if (v.fittedOn !== undefined) {
    const f = v.fittedOn as Record<string, unknown>;
    if (f === null || typeof f !== 'object' || typeof f.n !== 'number' || typeof f.nAnomalous !== 'number') {
      throw new AnogenError(`${where}.fittedOn: expected {n, nAnomalous}, got ${JSON.stringify(v.fittedOn)}`);
    }
    out.fittedOn = { n: f.n, nAnomalous: f.nAnomalous };
  }
  return out;
}

/** Options of {@link fitCalibration}. */
export interface CalibrationOptions {
  /** Normalisation fitted on validation normals (default 'none'). */
  normalization?: NormalizationKind;
  /** Threshold strategy, applied to the normalised scores (default percentile 95). */
  threshold?: ThresholdStrategy | string;
}

/** A fitted normalisation + threshold, as stored in a model bundle. */
export interface Calibration {
  normalization: Normalization;
  /** Φ on the NORMALISED scale. */
  threshold: Threshold;
}

/**
 * Fits the post-processing of raw scores on validation data: the normalisation on the
 * validation normal scores (label 0, or all when `labels` is omitted), then Φ on the
 * normalised validation scores.
 */
export function fitCalibration(rawScores: Scores, labels?: Labels, opts: CalibrationOptions = {}): Calibration {
  const normalization = fitNormalization(opts.normalization ?? 'none', rawScores, labels);
  const normed = applyNormalization(normalization, rawScores);
  const threshold = fitThreshold(opts.threshold ?? { kind: 'percentile' }, normed, labels);
  return { normalization, threshold };
}

/** Normalised scores and 0/1 decisions for raw scores under a fitted {@link Calibration}. */
export function applyCalibration(c: Calibration, rawScores: Scores): { scores: Float64Array; predictions: Uint8Array } {
  const scores = applyNormalization(c.normalization, rawScores);
  return { scores, predictions: predict(scores, c.threshold) };
}

/** Validates a calibration read from JSON. */
export function parseCalibration(value: unknown, where = 'calibration'): Calibration {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AnogenError(`${where}: expected an object {normalization, threshold}, got ${JSON.stringify(value)}`);
  }
  const v = value as Record<string, unknown>;
  return { normalization: parseNormalization(v.normalization, `${where}.normalization`), threshold: parseThreshold(v.threshold, `${where}.threshold`) };
}
