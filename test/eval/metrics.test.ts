import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AnogenError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/creation.js';
import { auroc, auprc, rocCurve, prCurve, bestF1, f1AtThreshold, fprAtTpr, pixelAuroc, evaluateScores } from '../../src/eval/metrics.js';

interface Case {
  name: string;
  scores: number[];
  labels: number[];
  roc_auc_score: number;
  average_precision_score: number;
  roc_curve: { fpr: number[]; tpr: number[]; thresholds: (number | null)[] };
  precision_recall_curve: { precision: number[]; recall: number[]; thresholds: number[] };
  fpr_at_95_tpr: number;
  best_f1: number;
  median_threshold: number;
  f1_at_median: number;
}
const fixture = JSON.parse(fs.readFileSync(new URL('../fixtures/eval/metrics.json', import.meta.url), 'utf8')) as { cases: Case[] };

function close(a: number, b: number, what: string, tol = 1e-9): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs sklearn ${b}`);
}
function closeArr(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length, `${what}: length ${a.length} vs sklearn ${b.length}`);
  for (let i = 0; i < a.length; i++) close(a[i]!, b[i]!, `${what}[${i}]`);
}

test('fixture has the expected cases', () => {
  assert.equal(fixture.cases.length, 6);
});

for (const c of fixture.cases) {
  test(`matches sklearn: ${c.name}`, () => {
    close(auroc(c.scores, c.labels), c.roc_auc_score, 'auroc');
    close(auprc(c.scores, c.labels), c.average_precision_score, 'auprc');
    const roc = rocCurve(c.scores, c.labels);
    closeArr(roc.fpr, c.roc_curve.fpr, 'fpr');
    closeArr(roc.tpr, c.roc_curve.tpr, 'tpr');
    assert.equal(roc.thresholds[0], Infinity);
    closeArr(roc.thresholds.slice(1), c.roc_curve.thresholds.slice(1) as number[], 'roc thresholds');
    const pr = prCurve(c.scores, c.labels);
    closeArr(pr.precision, c.precision_recall_curve.precision, 'precision');
    closeArr(pr.recall, c.precision_recall_curve.recall, 'recall');
    closeArr(pr.thresholds, c.precision_recall_curve.thresholds, 'pr thresholds');
    close(fprAtTpr(c.scores, c.labels), c.fpr_at_95_tpr, 'fpr@95tpr');
    const b = bestF1(c.scores, c.labels);
    close(b.f1, c.best_f1, 'best f1');
    // the returned threshold reproduces the best F1 with the rule score > phi
    close(f1AtThreshold(c.scores, c.labels, b.threshold).f1, c.best_f1, 'f1 at best threshold');
    close(f1AtThreshold(c.scores, c.labels, c.median_threshold).f1, c.f1_at_median, 'f1 at median');
  });
}

test('accepts typed arrays, booleans and tensors', () => {
  const c = fixture.cases[0]!;
  const ref = c.roc_auc_score;
  close(auroc(Float32Array.from(c.scores), Uint8Array.from(c.labels)), ref, 'float32', 1e-6);
  close(
    auroc(
      c.scores,
      c.labels.map((v) => v === 1),
    ),
    ref,
    'bool labels',
  );
  close(auroc(tensor(c.scores, { dtype: 'float64' }), tensor(c.labels)), ref, 'tensors');
});

test('f1AtThreshold counts with score > threshold', () => {
  const s = f1AtThreshold([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1], 0.5);
  assert.deepEqual([s.tp, s.fp, s.tn, s.fn], [1, 0, 2, 1]);
  assert.equal(s.precision, 1);
  assert.equal(s.recall, 0.5);
  close(s.f1, 2 / 3, 'f1');
  assert.equal(s.accuracy, 0.75);
  const none = f1AtThreshold([0.1, 0.2], [0, 1], 5);
  assert.equal(none.precision, 0);
  assert.equal(none.f1, 0);
});

test('bestF1 when everything must be flagged', () => {
  const b = bestF1(
    [1, 2, 3],
    [1, 1, 1].map((v, i) => (i === 2 ? 0 : v)),
  );
  // labels [1,1,0], scores [1,2,3]: flag all -> P=2/3, R=1, F1=0.8
  close(b.f1, 0.8, 'f1');
  assert.ok(b.threshold < 1);
});

test('evaluateScores bundles every metric', () => {
  const c = fixture.cases[5]!;
  const m = evaluateScores(c.scores, c.labels, { threshold: c.median_threshold });
  assert.equal(m.n, c.scores.length);
  assert.equal(m.nAnomalous, c.labels.filter((v) => v === 1).length);
  close(m.auroc, c.roc_auc_score, 'auroc');
  close(m.auprc, c.average_precision_score, 'auprc');
  close(m.fpr95, c.fpr_at_95_tpr, 'fpr95');
  close(m.atThreshold!.f1, c.f1_at_median, 'f1');
});

test('pixelAuroc flattens maps and masks; subsampling is deterministic and close', () => {
  const maps: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  let seed = 1;
  const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 4; i++) {
    const m = new Float32Array(400);
    const k = new Uint8Array(400);
    for (let j = 0; j < 400; j++) {
      k[j] = j % 20 < 5 && i % 2 === 0 ? 1 : 0;
      m[j] = rnd() + (k[j] ? 0.7 : 0);
    }
    maps.push(m);
    masks.push(k);
  }
  const allS = maps.flatMap((m) => Array.from(m));
  const allY = masks.flatMap((k) => Array.from(k));
  const full = pixelAuroc(maps, masks);
  close(full, auroc(allS, allY), 'pixel auroc');
  const sub1 = pixelAuroc(maps, masks, { maxPixels: 800 });
  const sub2 = pixelAuroc(maps, masks, { maxPixels: 800 });
  assert.equal(sub1, sub2);
  assert.ok(Math.abs(sub1 - full) < 0.05, `subsampled ${sub1} vs full ${full}`);
  assert.throws(() => pixelAuroc(maps, masks.slice(1)), /4 maps but 3 masks/);
  assert.throws(() => pixelAuroc([new Float32Array(3)], [new Uint8Array(4)]), /maps\[0\] has 3 pixels but masks\[0\] has 4/);
});

test('invalid inputs throw AnogenError with a clear message', () => {
  const isAnogen = (re: RegExp) => (e: unknown) => e instanceof AnogenError && re.test((e as Error).message);
  assert.throws(() => auroc([1, 2, 3], [0, 1]), isAnogen(/differ in length \(3 vs 2\)/));
  assert.throws(() => auroc([1, 2, 3], [0, 0, 0]), isAnogen(/only one class present/));
  assert.throws(() => auprc([1, 2], [1, 1]), isAnogen(/only one class/));
  assert.throws(() => auroc([1, NaN, 3], [0, 1, 1]), isAnogen(/scores\[1\] is NaN/));
  assert.throws(() => auroc([1, Infinity], [0, 1]), isAnogen(/scores\[1\] is Infinity/));
  assert.throws(() => auroc([1, 2], [0, 2]), isAnogen(/labels\[1\] is 2; labels must be 0 \(normal\) or 1/));
  assert.throws(() => auroc([], []), isAnogen(/empty/));
  assert.throws(() => fprAtTpr([1, 2], [0, 1], 1.5), isAnogen(/tpr is 1.5/));
  assert.throws(() => f1AtThreshold([1, 2], [0, 1], NaN), isAnogen(/threshold is NaN/));
});
