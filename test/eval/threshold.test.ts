import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AnogenError } from '../../src/core/errors.js';
import { applyNormalization, denormalizeScore, fitNormalization, normalizeScore, parseNormalization } from '../../src/eval/normalize.js';
import {
  applyCalibration,
  DEFAULT_PERCENTILE,
  fitCalibration,
  fitThreshold,
  parseCalibration,
  parseThreshold,
  parseThresholdStrategy,
  percentile,
  predict,
} from '../../src/eval/threshold.js';
import { auroc, bestF1 } from '../../src/eval/metrics.js';

const fixture = JSON.parse(fs.readFileSync(new URL('../fixtures/eval/metrics.json', import.meta.url), 'utf8')) as {
  percentile: { values: number[]; q: number[]; expected: number[] };
  cases: { scores: number[]; labels: number[] }[];
};
const isAnogen = (re: RegExp) => (e: unknown) => e instanceof AnogenError && re.test((e as Error).message);

test('percentile matches numpy', () => {
  const p = fixture.percentile;
  p.q.forEach((q, i) => {
    const v = percentile(p.values, q);
    assert.ok(Math.abs(v - p.expected[i]!) < 1e-12, `q=${q}: ${v} vs numpy ${p.expected[i]}`);
  });
  assert.throws(() => percentile([1, 2], 101), isAnogen(/q is 101; expected a number in \[0, 100\]/));
});

test('minmax and zscore are fitted on normals only and round-trip through JSON', () => {
  const s = [1, 2, 3, 100];
  const y = [0, 0, 0, 1];
  const mm = fitNormalization('minmax', s, y);
  assert.deepEqual(mm, { kind: 'minmax', params: { min: 1, max: 3 } });
  assert.deepEqual(Array.from(applyNormalization(mm, s)), [0, 0.5, 1, 49.5]);
  const z = fitNormalization('zscore', s, y);
  assert.equal(z.kind, 'zscore');
  if (z.kind === 'zscore') {
    assert.equal(z.params.mean, 2);
    assert.ok(Math.abs(z.params.std - Math.sqrt(2 / 3)) < 1e-15);
  }
  assert.ok(Math.abs(normalizeScore(z, 3) - 1 / Math.sqrt(2 / 3)) < 1e-12);
  assert.ok(Math.abs(denormalizeScore(z, normalizeScore(z, 7.5)) - 7.5) < 1e-12);
  assert.deepEqual(parseNormalization(JSON.parse(JSON.stringify(z))), z);
  assert.deepEqual(fitNormalization('none', s), { kind: 'none', params: {} });
  // degenerate: constant validation scores -> scale 1
  const c = fitNormalization('minmax', [4, 4, 4]);
  assert.deepEqual(Array.from(applyNormalization(c, [4, 5])), [0, 1]);
  // monotonic: AUROC unchanged
  const cs = fixture.cases[0]!;
  const zz = fitNormalization('zscore', cs.scores, cs.labels);
  assert.ok(Math.abs(auroc(applyNormalization(zz, cs.scores), cs.labels) - auroc(cs.scores, cs.labels)) < 1e-12);
});

test('normalisation errors name the option and the valid values', () => {
  assert.throws(() => fitNormalization('robust' as never, [1, 2]), isAnogen(/normalization: "robust" is not valid; expected 'none', 'minmax' or 'zscore'/));
  assert.throws(() => fitNormalization('minmax', [1, 2], [1, 1]), isAnogen(/no normal \(label 0\) validation scores/));
  assert.throws(
    () => parseNormalization({ kind: 'minmax', params: { min: 0 } }, 'config.json normalization'),
    isAnogen(/config.json normalization.params.max: expected a finite number/),
  );
  assert.throws(() => parseNormalization({ kind: 'zscore', params: { mean: 0, std: -1 } }), isAnogen(/std: -1 is negative/));
  assert.throws(() => parseNormalization('minmax'), isAnogen(/expected an object/));
});

test('percentile threshold: default q, normals only, about q% of normals below', () => {
  assert.equal(DEFAULT_PERCENTILE, 95);
  const normals = Array.from({ length: 200 }, (_, i) => i / 10);
  const s = [...normals, 1000, 2000];
  const y = [...normals.map(() => 0), 1, 1];
  const t = fitThreshold(undefined, s, y);
  assert.equal(t.kind, 'percentile');
  assert.equal(t.params.q, 95);
  assert.ok(Math.abs(t.value - percentile(normals, 95)) < 1e-12);
  assert.deepEqual(t.fittedOn, { n: 202, nAnomalous: 2 });
  const flagged = predict(normals, t).reduce((a, b) => a + b, 0);
  assert.equal(flagged, 10); // 5% of 200
  const t99 = fitThreshold('percentile:99', normals);
  assert.ok(Math.abs(t99.value - percentile(normals, 99)) < 1e-12);
});

test('f1-max threshold reproduces the best validation F1; fixed is taken as is', () => {
  const c = fixture.cases[5]!;
  const t = fitThreshold({ kind: 'f1-max' }, c.scores, c.labels);
  const b = bestF1(c.scores, c.labels);
  assert.equal(t.value, b.threshold);
  assert.equal(t.params.f1, b.f1);
  const p = predict(c.scores, t);
  let tp = 0,
    fp = 0,
    fn = 0;
  p.forEach((v, i) => {
    if (v && c.labels[i]) tp++;
    else if (v) fp++;
    else if (c.labels[i]) fn++;
  });
  assert.ok(Math.abs((2 * tp) / (2 * tp + fp + fn) - b.f1) < 1e-12);
  assert.deepEqual(fitThreshold('fixed:0.25'), { kind: 'fixed', value: 0.25, params: {} });
  assert.deepEqual(Array.from(predict([0.2, 0.25, 0.3], 0.25)), [0, 0, 1]);
});

test('threshold option errors', () => {
  assert.throws(() => parseThresholdStrategy('median'), isAnogen(/kind "median" is not valid; expected 'percentile', 'f1-max' or 'fixed'/));
  assert.throws(() => parseThresholdStrategy('percentile:abc'), isAnogen(/percentile q is NaN|percentile q is null/));
  assert.throws(() => parseThresholdStrategy('fixed'), isAnogen(/'fixed' needs a finite number value/));
  assert.throws(() => parseThresholdStrategy({ kind: 'percentile', p: 3 }), isAnogen(/unknown key 'p' for 'percentile'; valid keys: 'kind' or 'q'/));
  assert.throws(() => fitThreshold('f1-max', [1, 2, 3]), isAnogen(/needs a labelled validation set/));
  assert.throws(() => fitThreshold('f1-max', [1, 2, 3], [0, 0, 0]), isAnogen(/only one class/));
  assert.throws(() => parseThreshold({ kind: 'percentile', value: 'x' }), isAnogen(/threshold.value: expected a finite number/));
});

test('calibration: normalise on val normals, threshold on normalised scores, JSON round trip', () => {
  const val = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50];
  const y = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const cal = fitCalibration(val, y, { normalization: 'minmax', threshold: 'percentile:90' });
  assert.deepEqual(cal.normalization, { kind: 'minmax', params: { min: 1, max: 10 } });
  assert.ok(Math.abs(cal.threshold.value - (9.1 - 1) / 9) < 1e-12);
  const back = parseCalibration(JSON.parse(JSON.stringify(cal)));
  assert.deepEqual(back, cal);
  const r = applyCalibration(back, [1, 10, 9.5]);
  assert.deepEqual(Array.from(r.predictions), [0, 1, 1]);
  assert.equal(r.scores[0], 0);
});
