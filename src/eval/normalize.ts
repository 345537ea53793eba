/**
 * Score normalisation, fitted on validation normal scores only (never on the test split) and
 * stored in a model bundle's config.json as a plain `{kind, params}` object.
 *
 * - `none`:   s' = s.
 * - `minmax`: s' = (s − min) / (max − min), min/max of the validation normal scores, so that
 *             validation normals land in [0, 1] and anomalies usually above 1. Not clipped.
 *             When max = min the scale is 1 (s' = s − min).
 * - `zscore`: s' = (s − mean) / std, population std (ddof 0, as sklearn's StandardScaler).
 *             When std = 0 the scale is 1 (s' = s − mean).
 *
 * Both are increasing maps, so AUROC/AUPRC are unchanged by normalisation; only thresholds
 * and the readability of the numbers change.
 */
import { AnogenError, checkOneOf, validList } from '../core/errors.js';
import { toLabelArray, toScoreArray, type Labels, type Scores } from './metrics.js';

/** The normalisations anogen knows. */
export const NORMALIZATION_KINDS = ['none', 'minmax', 'zscore'] as const;
export type NormalizationKind = (typeof NORMALIZATION_KINDS)[number];

/** A fitted normalisation; JSON-serialisable as is. */
export type Normalization =
  { kind: 'none'; params: Record<string, never> } | { kind: 'minmax'; params: { min: number; max: number } } | { kind: 'zscore'; params: { mean: number; std: number } };

/**
 * Picks the normal (label 0) scores, or all of them when `labels` is omitted (then every
 * score is taken to be a validation normal). Throws when no normal score is left.
 */
export function normalScores(scores: Scores, labels: Labels | undefined, fn: string): Float64Array {
  const s = toScoreArray(scores, `${fn}: scores`);
  if (labels === undefined) {
    if (s.length === 0) throw new AnogenError(`${fn}: no validation scores given`);
    return s;
  }
  const y = toLabelArray(labels, `${fn}: labels`);
  if (y.length !== s.length) throw new AnogenError(`${fn}: scores and labels differ in length (${s.length} vs ${y.length})`);
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) if (y[i] === 0) out.push(s[i]!);
  if (out.length === 0) throw new AnogenError(`${fn}: no normal (label 0) validation scores to fit on`);
  return Float64Array.from(out);
}

/**
 * Fits a normalisation of kind `kind` (default 'none') on validation scores. With `labels`,
 * only the normal ones (label 0) are used; without, all scores are taken as normal.
 */
export function fitNormalization(kind: NormalizationKind = 'none', scores: Scores, labels?: Labels): Normalization {
  checkOneOf('normalization', kind, NORMALIZATION_KINDS);
  const s = normalScores(scores, labels, 'fitNormalization');
  if (kind === 'none') return { kind, params: {} };
  if (kind === 'minmax') {
    let min = Infinity;
    let max = -Infinity;
    for (const v of s) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { kind, params: { min, max } };
  }
  let mean = 0;
  for (const v of s) mean += v;
  mean /= s.length;
  let ss = 0;
  for (const v of s) ss += (v - mean) * (v - mean);
  return { kind, params: { mean, std: Math.sqrt(ss / s.length) } };
}

function offsetScale(n: Normalization): [number, number] {
  switch (n.kind) {
    case 'none':
      return [0, 1];
    case 'minmax': {
      const r = n.params.max - n.params.min;
      return [n.params.min, r > 0 ? r : 1];
    }
    case 'zscore':
      return [n.params.mean, n.params.std > 0 ? n.params.std : 1];
  }
}

/** Applies a fitted normalisation to every score (returns a new Float64Array). */
export function applyNormalization(n: Normalization, scores: Scores): Float64Array {
  const [off, scale] = offsetScale(parseNormalization(n));
  const s = toScoreArray(scores, 'applyNormalization: scores');
  const out = new Float64Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = (s[i]! - off) / scale;
  return out;
}

/** Applies a fitted normalisation to one score. */
export function normalizeScore(n: Normalization, score: number): number {
  return applyNormalization(n, [score])[0]!;
}

/** Maps a normalised score back to the raw scale (inverse of {@link normalizeScore}). */
export function denormalizeScore(n: Normalization, score: number): number {
  const [off, scale] = offsetScale(parseNormalization(n));
  return score * scale + off;
}

/**
 * Validates a normalisation read from JSON (e.g. a bundle's config.json); `where` names the
 * file/field in error messages (default 'normalization').
 */
export function parseNormalization(value: unknown, where = 'normalization'): Normalization {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AnogenError(`${where}: expected an object {kind, params}, got ${JSON.stringify(value)}`);
  }
  const v = value as { kind?: unknown; params?: unknown };
  if (!NORMALIZATION_KINDS.includes(v.kind as NormalizationKind)) {
    throw new AnogenError(`${where}.kind: ${JSON.stringify(v.kind)} is not valid; expected ${validList(NORMALIZATION_KINDS)}`);
  }
  const kind = v.kind as NormalizationKind;
  if (kind === 'none') return { kind, params: {} };
  const p = (v.params ?? {}) as Record<string, unknown>;
  const keys = kind === 'minmax' ? ['min', 'max'] : ['mean', 'std'];
  for (const k of keys) {
    if (typeof p[k] !== 'number' || !Number.isFinite(p[k])) {
      throw new AnogenError(`${where}.params.${k}: expected a finite number for '${kind}', got ${JSON.stringify(p[k])}`);
    }
  }
  if (kind === 'minmax') {
    if ((p.max as number) < (p.min as number)) throw new AnogenError(`${where}.params: max (${p.max}) is below min (${p.min})`);
    return { kind, params: { min: p.min as number, max: p.max as number } };
  }
  if ((p.std as number) < 0) throw new AnogenError(`${where}.params.std: ${p.std} is negative`);
  return { kind, params: { mean: p.mean as number, std: p.std as number } };
}
