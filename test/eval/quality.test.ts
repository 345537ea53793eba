// The sample-quality measures (src/eval/quality.ts) against NumPy/SciPy on the fixture of
// scripts/make_quality_fixture.py (Fréchet distance with scipy.linalg.sqrtm, the classifier
// score, the class histogram, the modes covered, KL from uniform), the Jacobi eigensolver, the
// committed quality classifiers, and a tiny `anogen benchmark --suite generative`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sourceSplit } from '../../src/data/index.js';
import { QualityClassifier } from '../../src/models/classifier/index.js';
import { imageTransforms, loadSubset, openData } from '../../src/pipeline/data.js';
import type { GenerativeBenchmarkTable } from '../../src/pipeline/generative-benchmark.js';
import { runCli } from '../helpers/cli.js';
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

for (const dataset of ['mnist', 'fashion-mnist']) {
  test(`the committed ${dataset} quality classifier loads without its script and classifies real test images`, async () => {
    const { batch, split } = await loadSubset(sourceSplit(openData({ data: dataset }), 'test', 'test'), imageTransforms({ size: 32, channels: 1, range: [-1, 1] }), 300, 0);
    const clf = QualityClassifier.load(dataset);
    try {
      const out = clf.measure(batch.x);
      assert.equal(out.features.length, 300 * 64);
      let right = 0;
      for (let i = 0; i < 300; i++) {
        const row = Array.from(out.probs.subarray(i * 10, i * 10 + 10));
        if (row.indexOf(Math.max(...row)) === split.classId[batch.positions[i]!]) right++;
      }
      assert.ok(right / 300 > (dataset === 'mnist' ? 0.95 : 0.8), `${dataset}: ${right}/300 right`);
      const small = clf.measure(batch.x.narrow(0, 0, 4).mul(0.5).add(0.5), [0, 1]);
      assert.ok(Math.abs(small.probs[0]! - out.probs[0]!) < 1e-5, 'a [0, 1] range is mapped to [-1, 1]');
    } finally {
      clf.dispose();
      batch.x.dispose();
      batch.y.dispose();
    }
  });
}

test('anogen benchmark --suite generative: a tiny table of two generators with finite measures, grids, and a resume that keeps the cells', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-genbench-'));
  const args = ['benchmark', '--suite', 'generative', '--models', 'gan,wgan-gp', '--data', 'mnist', '--train-limit', '32', '--epochs', '1', '--batch-size', '16'];
  args.push('--image-size', '16', '--hparams', 'nz=8,ngf=8,ndf=8', '--samples', '200', '--test-limit', '300', '--out', out, '--quiet');
  try {
    const r = await runCli(...args);
    assert.equal(r.code, 0, r.err);
    const t = JSON.parse(fs.readFileSync(path.join(out, 'benchmark.json'), 'utf8')) as GenerativeBenchmarkTable;
    assert.equal(t.suite, 'generative');
    assert.deepEqual(
      t.cells.map((c) => [c.model, c.status]),
      [
        ['gan', 'done'],
        ['wgan-gp', 'done'],
      ],
    );
    for (const c of t.cells) {
      for (const k of ['frechetDistance', 'classifierScore', 'klUniform', 'trainSeconds'] as const) assert.ok(Number.isFinite(c[k]), `${c.model} ${k}: ${c[k]}`);
      assert.ok(c.frechetDistance! > 0 && c.classifierScore! >= 1 && c.modes! >= 1 && c.modes! <= 10, JSON.stringify(c));
      assert.equal(c.samples, 200);
      assert.equal(
        c.counts!.reduce((a, b) => a + b, 0),
        200,
      );
      assert.equal(c.budget!.imageSize, 16);
      assert.ok(fs.statSync(path.join(out, c.grid!)).size > 100, 'sample grid written');
    }
    const ref = t.references.mnist!;
    assert.equal(ref.testImages, 300);
    assert.equal(ref.train.samples, 200);
    assert.ok(ref.train.frechetDistance < Math.min(...t.cells.map((c) => c.frechetDistance!)), 'real training images are closer to the test set than 1-epoch generators');
    assert.ok(ref.train.modes === 10 && ref.test.modes === 10);
    const md = fs.readFileSync(path.join(out, 'benchmark.md'), 'utf8');
    assert.match(md, /\| real: training images \| mnist \|/);
    assert.match(md, /\| gan \| mnist \| 0 \| 32 img x 1 ep/);
    assert.match(md, /\| wgan-gp \| mnist \|/);
    assert.ok(!fs.existsSync(path.join(out, 'cells', 'gan-mnist-seed0')), 'bundles removed without --keep-bundles');

    const again = await runCli(...args.filter((a) => a !== '--quiet'));
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, /2 finished cell\(s\) kept/);
    const t2 = JSON.parse(fs.readFileSync(path.join(out, 'benchmark.json'), 'utf8')) as GenerativeBenchmarkTable;
    assert.deepEqual(
      t2.cells.map((c) => c.finishedAt),
      t.cells.map((c) => c.finishedAt),
      'finished cells are not retrained',
    );

    const bad = await runCli('benchmark', '--suite', 'generative', '--models', 'gan', '--data', out, '--out', path.join(out, 'x'));
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /there is one for mnist, fashion-mnist/);
    const floors = await runCli('benchmark', '--suite', 'generative', '--models', 'gan', '--data', 'mnist', '--floors', 'pca');
    assert.match(floors.err, /--floors belongs to the detector suite/);
    const det = await runCli('benchmark', '--detectors', 'ganomaly', '--data', 'mnist', '--samples', '10');
    assert.match(det.err, /--models and --samples belong to --suite generative/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
