// Comparing a tensor with a fixture summary written by the parity scripts
// (scripts/make_resnet_fixture.py, scripts/make_mobilenet_fixture.py): sampled values, and each
// image's sum and sum of squares.
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/core/index.js';

/** A fixture's summary of an [N, ...] tensor: every `step`-th value of each image's flattened values (7 significant digits), their sums and sums of squares; `shape` when the script records it. */
export interface Summary {
  shape?: number[];
  step: number;
  values: number[][];
  sum: number[];
  sumsq: number[];
}

/**
 * Largest |a - b| and largest |a - b| / max(1, |b|) over the sampled values, and over the
 * per-image sums and sums of squares (compared relative to their size: they add up many values);
 * asserts the shape first when the summary has one.
 */
export function compareSummary(out: Tensor, s: Summary): { abs: number; rel: number } {
  if (s.shape !== undefined) assert.deepEqual(out.shape, s.shape);
  const n = out.shape[0]!;
  const per = out.numel / n;
  const v = out.toFloat64Array();
  let abs = 0;
  let rel = 0;
  for (let i = 0; i < n; i++) {
    const row = v.subarray(i * per, (i + 1) * per);
    s.values[i]!.forEach((ref, j) => {
      const d = Math.abs(row[j * s.step]! - ref);
      abs = Math.max(abs, d);
      rel = Math.max(rel, d / Math.max(1, Math.abs(ref)));
    });
    let sum = 0;
    let sumsq = 0;
    for (const x of row) {
      sum += x;
      sumsq += x * x;
    }
    rel = Math.max(rel, Math.abs(sum - s.sum[i]!) / Math.max(1, Math.abs(s.sum[i]!)), Math.abs(sumsq - s.sumsq[i]!) / Math.max(1, s.sumsq[i]!));
  }
  return { abs, rel };
}
