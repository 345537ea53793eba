// The sample-quality measures (src/eval/quality.ts) against NumPy/SciPy on the fixture of
// scripts/make_quality_fixture.py (Fréchet distance with scipy.linalg.sqrtm, the classifier
// score, the class histogram, the modes covered, KL from uniform), the Jacobi eigensolver, the
// committed quality classifiers, and a tiny `anogen benchmark --suite generative`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { classifierScore, featureStats, frechetDistance, klFromUniform, modeCoverage, sqrtmPsd, symmetricEigen } from '../../src/eval/quality.js';

interface Case {
  name: string;
  dim: number;
  classes: number;
  n1: number;
  n2: number;
  features1: number[];
  features2: number[];
  probs: number[];
  frechetDistance: number;
  classifierScore: number;
  counts: number[];
  modes: number;
  klUniform: number;
}
const fixture = JSON.parse(fs.readFileSync(new URL('../fixtures/quality/quality.json', import.meta.url), 'utf8')) as { cases: Case[] };
const close = (got: number, want: number, what: string, rel = 1e-6) =>
  assert.ok(Math.abs(got - want) <= rel * Math.max(Math.abs(want), 1e-12), `${what}: ${got} vs ${want} (relative ${Math.abs(got - want) / Math.abs(want)})`);

for (const c of fixture.cases) {
  test(`quality measures match NumPy/SciPy: ${c.name} (d ${c.dim}, n ${c.n1}/${c.n2})`, () => {
    const a = featureStats(c.features1, c.n1, c.dim);
    const b = featureStats(c.features2, c.n2, c.dim);
    close(frechetDistance(a, b), c.frechetDistance, 'Fréchet distance');
    close(frechetDistance(b, a), c.frechetDistance, 'Fréchet distance (swapped)');
    assert.ok(frechetDistance(a, a) < 1e-9 * c.frechetDistance, 'FD of a set with itself is 0');
    close(classifierScore(c.probs, c.n2, c.classes), c.classifierScore, 'classifier score');
    const m = modeCoverage(c.probs, c.n2, c.classes);
    assert.deepEqual(m.counts, c.counts);
    assert.equal(m.modes, c.modes);
    close(m.klUniform, c.klUniform, 'KL from uniform');
  });
}

test('Jacobi eigensolver: A V = V diag(l), V orthonormal; the square root squares back', () => {
  const n = 12;
  let s = 7;
  const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const B = Array.from({ length: n * n }, rnd);
  const A = new Float64Array(n * n); // B B^T with one zero eigenvalue (rank n - 1)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n - 1; k++) A[i * n + j] += B[i * n + k]! * B[j * n + k]!;
  const { values, vectors: V } = symmetricEigen(A, n);
  for (let i = 1; i < n; i++) assert.ok(values[i]! >= values[i - 1]!, 'ascending');
  assert.ok(Math.abs(values[0]!) < 1e-12, `the null eigenvalue is found: ${values[0]}`);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let av = 0;
      let vtv = 0;
      for (let k = 0; k < n; k++) {
        av += A[i * n + k]! * V[k * n + j]!;
        vtv += V[k * n + i]! * V[k * n + j]!;
      }
      assert.ok(Math.abs(av - values[j]! * V[i * n + j]!) < 1e-10, 'A v = l v');
      assert.ok(Math.abs(vtv - (i === j ? 1 : 0)) < 1e-12, 'orthonormal');
    }
  }
  const R = sqrtmPsd(A, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let rr = 0;
      for (let k = 0; k < n; k++) rr += R[i * n + k]! * R[k * n + j]!;
      assert.ok(Math.abs(rr - A[i * n + j]!) < 1e-10, 'sqrtm(A)^2 = A');
    }
  }
});

test('mode coverage and the classifier score at their extremes', () => {
  const one = Array.from({ length: 20 * 10 }, (_, i) => (i % 10 === 3 ? 1 : 0)); // every sample class 3
  const m = modeCoverage(one, 20, 10);
  assert.equal(m.modes, 1);
  close(m.klUniform, Math.log(10), 'KL of one class');
  close(classifierScore(one, 20, 10), 1, 'score of one class');
  const even = Array.from({ length: 20 * 10 }, (_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0));
  assert.equal(modeCoverage(even, 20, 10).modes, 10);
  assert.equal(klFromUniform([2, 2, 2]), 0);
  close(classifierScore(even, 20, 10), 10, 'score of confident, even predictions');
  assert.throws(() => featureStats([1, 2, 3], 1, 3), /at least 2 samples/);
  assert.throws(() => classifierScore([0.5, 0.5], 2, 2), /expected 2 x 2 class probabilities/);
});
