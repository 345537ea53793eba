import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AnogenError } from '../../src/core/errors.js';
import { tensor } from '../../src/core/creation.js';
import { liveTensors } from '../../src/core/runtime.js';
import { knnScores, PcaFloor, pcaScores } from '../../src/eval/floors.js';
import { settledLiveTensors } from '../helpers/live.js';

const f = JSON.parse(fs.readFileSync(new URL('../fixtures/eval/floors.json', import.meta.url), 'utf8')) as Record<string, number[][] | [number, number[]] | number[]>;
const rows = (k: string) => (f[k] as number[][]).map((r) => Float64Array.from(r));
const closeArr = (a: ArrayLike<number>, b: number[], what: string, tol: number) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs sklearn ${b[i]}`);
};

test('PCA reconstruction error matches sklearn (fixed k, variance fraction, wide data)', () => {
  const before = settledLiveTensors();
  const [k3, e3] = f.pca_k3 as [number, number[]];
  closeArr(pcaScores(rows('train'), rows('test'), { components: 3 }), e3, 'pca k=3', 1e-9);
  assert.equal(k3, 3);
  const [kv, ev] = f.pca_var90 as [number, number[]];
  const p = new PcaFloor({ components: 0.9 }).fit(rows('train'));
  assert.equal(p.nComponents, kv);
  assert.ok(p.explainedVariance >= 0.9 && p.explainedVariance < 1);
  closeArr(p.score(rows('test')), ev, 'pca var 0.9', 1e-9);
  p.dispose();
  const [, ew] = f.wide_pca_k4 as [number, number[]];
  closeArr(pcaScores(rows('wide_train'), rows('wide_test'), { components: 4 }), ew, 'pca wide', 1e-8);
  assert.equal(liveTensors(), before, 'no tensor leaked');
});

test('kNN distances match sklearn NearestNeighbors; tensor and {data,rows,cols} inputs', () => {
  const before = settledLiveTensors();
  const train = f.train as number[][];
  const test = f.test as number[][];
  const mean = knnScores(rows('train'), rows('test'));
  closeArr(mean, f.knn5_mean as number[], 'knn mean', 1e-4); // float32 distances
  closeArr(knnScores(rows('train'), rows('test'), { k: 5, reduction: 'kth', chunkSize: 4 }), f.knn5_kth as number[], 'knn kth', 1e-4);
  const tt = tensor(train.flat(), { shape: [train.length, 3, 4] });
  const flat = { data: Float32Array.from(test.flat()), rows: test.length, cols: 12 };
  closeArr(knnScores(tt, flat), f.knn5_mean as number[], 'knn tensor', 1e-4);
  tt.dispose();
  assert.equal(liveTensors(), before, 'no tensor leaked');
});

test('the anomalous test rows score higher than the normal ones', () => {
  // fixture: the first 10 test rows follow the training subspace, the last 5 do not
  const e = pcaScores(rows('train'), rows('test'), { components: 4 });
  assert.ok(Math.max(...e.slice(0, 10)) < Math.min(...e.slice(10)));
});

test('floor errors are AnogenErrors naming the option', () => {
  const isAnogen = (re: RegExp) => (e: unknown) => e instanceof AnogenError && re.test((e as Error).message);
  assert.throws(() => new PcaFloor({ components: 1.5 }), isAnogen(/PCA components: 1.5 is not valid/));
  assert.throws(() => new PcaFloor().score([[1, 2]]), isAnogen(/call fit\(train\) first/));
  assert.throws(() => pcaScores([[1, 2, 3]], [[1, 2, 3]]), isAnogen(/at least 2 images/));
  assert.throws(
    () =>
      pcaScores(
        [
          [1, 2],
          [3, 4],
          [5, 7],
        ],
        [[1, 2, 3]],
      ),
    isAnogen(/3 values but the training images had 2/),
  );
  assert.throws(() => knnScores([[1, 2]], [[1, 2]], { k: 0 }), isAnogen(/kNN k: 0 is not valid/));
  assert.throws(() => knnScores([[1, 2]], [[1, 2]], { k: 2 }), isAnogen(/larger than the number of training images \(1\)/));
  assert.throws(() => knnScores([[1, 2], [1]], [[1, 2]]), isAnogen(/has 1 values but kNN train\[0\] has 2/));
  assert.throws(() => knnScores([[1, NaN]], [[1, 2]], { k: 1 }), isAnogen(/kNN train: contains NaN/));
  assert.throws(() => knnScores([[1, 2]], [[1, 2]], { k: 1, reduction: 'max' as never }), isAnogen(/expected 'mean' or 'kth'/));
});
