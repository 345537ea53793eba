/** Plain-language descriptions of fitted state, for messages a user reads. */
import type { Calibration } from '../eval/threshold.js';

const ordinal = (q: number): string => {
  const s = Number.isInteger(q) ? String(q) : q.toPrecision(4);
  if (!Number.isInteger(q)) return `${s}th`;
  const t = q % 100;
  return `${s}${t >= 11 && t <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][q % 10] ?? 'th')}`;
};

/** "Φ = 0.4849 (95th percentile of 592 validation normals, minmax-normalised)". */
export function describeCalibration(c: Calibration, nVal?: number, labelled = false): string {
  const t = c.threshold;
  const norm = c.normalization.kind === 'none' ? 'raw scores' : `${c.normalization.kind}-normalised`;
  const n = t.fittedOn?.n ?? nVal;
  const how =
    t.kind === 'percentile'
      ? `${ordinal(t.params.q ?? 95)} percentile of ${n ?? '?'} validation normals`
      : t.kind === 'f1-max'
        ? `best F1 (${(t.params.f1 ?? NaN).toFixed(3)}) on ${n ?? '?'} ${labelled ? 'labelled ' : ''}validation images (${t.fittedOn?.nAnomalous ?? '?'} anomalous)`
        : 'fixed by the user';
  return `Φ = ${t.value.toPrecision(4)} (${how}, ${norm}); an image is flagged when its normalised score > Φ`;
}
