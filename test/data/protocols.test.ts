import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError } from '../../src/core/errors.js';
import { openIdxDataset, openFolder, openNormalAbnormal, makeSplits, labelledSplit, mnistDir, type Split } from '../../src/data/index.js';
import { makeMvtec, tempDir, writeIdxDataset, writePng } from './helpers.js';

const isAnogen = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AnogenError, `expected AnogenError, got ${String(e)}`);
  assert.match((e as Error).message, re);
  return true;
};
const keys = (s: Split) => Array.from({ length: s.length }, (_, i) => s.key(i));
function assertDisjoint(...splits: Split[]) {
  const seen = new Map<string, string>();
  for (const s of splits) {
    for (const k of keys(s)) {
      assert.ok(!seen.has(k), `${k} is in both ${seen.get(k)} and ${s.role}`);
      seen.set(k, s.role);
    }
  }
}

const hasMnist = fs.existsSync(path.join(mnistDir(), 'train-images-idx3-ubyte'));

test('one-vs-rest on MNIST: counts, labels, disjointness, seed', { skip: !hasMnist }, () => {
  const ds = openIdxDataset('mnist');
  const sp = makeSplits(ds, { protocol: 'one-vs-rest', normalClass: 3, seed: 7 });
  // 6131 training threes, 10% (613) to validation.
  assert.equal(sp.train.length, 5518);
  assert.equal(sp.validation.length, 613);
  assert.deepEqual(sp.train.classCounts(), { '3': 5518 });
  assert.deepEqual(sp.train.counts, { normal: 5518, anomalous: 0 });
  assert.deepEqual(sp.validation.counts, { normal: 613, anomalous: 0 });
  assert.equal(sp.test.length, 10000);
  assert.deepEqual(sp.test.counts, { normal: 1010, anomalous: 8990 });
  for (let i = 0; i < sp.test.length; i++) assert.equal(sp.test.label[i], sp.test.classId[i] === 3 ? 0 : 1);
  assertDisjoint(sp.train, sp.validation, sp.test);
  for (let i = 0; i < sp.train.length; i++) assert.equal(sp.train.sourceName(i), 'train');
  for (let i = 0; i < sp.test.length; i++) assert.equal(sp.test.sourceName(i), 'test');
  // Same seed, same split; another seed, another validation set.
  const again = makeSplits(ds, { protocol: 'one-vs-rest', normalClass: '3', seed: 7 });
  assert.deepEqual(Array.from(again.validation.index), Array.from(sp.validation.index));
  const other = makeSplits(ds, { protocol: 'one-vs-rest', normalClass: 3, seed: 8 });
  assert.notDeepEqual(Array.from(other.validation.index), Array.from(sp.validation.index));
  assert.deepEqual(sp.record.counts, { train: 5518, validation: 613, test: 10000, testAnomalous: 8990 });
  assert.equal(sp.record.normalClass, '3');
});

test('leave-one-out on MNIST: pooled normals split 80/20, all anomalies in test', { skip: !hasMnist }, () => {
  const ds = openIdxDataset('mnist');
  const sp = makeSplits(ds, { protocol: 'leave-one-out', anomalyClass: 0, seed: 1 });
  const normals = 70000 - 5923 - 980; // every non-zero digit of train + test
  const heldOut = Math.round(0.2 * normals);
  assert.equal(sp.test.counts.normal, heldOut);
  assert.equal(sp.test.counts.anomalous, 5923 + 980);
  assert.equal(sp.train.length + sp.validation.length, normals - heldOut);
  assert.equal(sp.validation.length, Math.round(0.1 * (normals - heldOut)));
  assert.equal(sp.train.classCounts()['0'], undefined);
  assert.equal(sp.validation.classCounts()['0'], undefined);
  assertDisjoint(sp.train, sp.validation, sp.test);
  // Held-out normals come from both sources.
  const srcs = new Set<string>();
  for (let i = 0; i < sp.test.length; i++) if (sp.test.label[i] === 0) srcs.add(sp.test.sourceName(i));
  assert.deepEqual([...srcs].sort(), ['test', 'train']);
  const again = makeSplits(ds, { protocol: 'leave-one-out', anomalyClass: '0', seed: 1 });
  assert.deepEqual(keys(again.test), keys(sp.test));
});

test('protocols on a small IDX folder: exact items and errors', () => {
  const dir = tempDir();
  writeIdxDataset(dir, { n: 12, m: 6, k: 3 }); // labels i % 3
  const ds = openIdxDataset(dir);
  const sp = makeSplits(ds, { protocol: 'one-vs-rest', normalClass: 1, valFraction: 0.25, seed: 3 });
  const trainVal = [...keys(sp.train), ...keys(sp.validation)].sort();
  assert.deepEqual(trainVal, ['train/1', 'train/10', 'train/4', 'train/7']);
  assert.equal(sp.validation.length, 1);
  assert.deepEqual(Array.from(sp.test.label), [1, 0, 1, 1, 0, 1]);
  assert.throws(() => makeSplits(ds, { protocol: 'one-vs-rest' }), isAnogen(/protocol 'one-vs-rest' needs normalClass; expected one of '0', '1' or '2'/));
  assert.throws(() => makeSplits(ds, { protocol: 'one-vs-rest', normalClass: 'cat' }), isAnogen(/normalClass: 'cat' is not a class of/));
  assert.throws(() => makeSplits(ds, { protocol: 'one-vs-rest', normalClass: 5 }), isAnogen(/normalClass: 5 is not a class index .*expected 0\.\.2/));
  assert.throws(() => makeSplits(ds, { protocol: 'folder' }), isAnogen(/protocol 'folder' needs an image-folder dataset/));
  assert.throws(() => makeSplits(ds), isAnogen(/is class-labelled: give a protocol, 'one-vs-rest' \(with normalClass\) or 'leave-one-out'/));
  assert.throws(() => makeSplits(ds, { protocol: 'one-vs-rest', normalClass: 1, valFraction: 1.5 }), isAnogen(/valFraction: 1\.5 is not valid/));
  assert.throws(() => makeSplits(ds, { protocol: 'bogus' as never }), isAnogen(/protocol: "bogus" is not valid; expected 'one-vs-rest', 'leave-one-out' or 'folder'/));
});

test('folder protocol (MVTec and two-folder form) and a user-given validation set', async () => {
  const root = tempDir();
  await makeMvtec(root);
  const ds = openFolder(root);
  const sp = makeSplits(ds, { valFraction: 0.25, seed: 5 });
  assert.equal(sp.train.length, 3);
  assert.equal(sp.validation.length, 1);
  assert.equal(sp.test.length, 6);
  assertDisjoint(sp.train, sp.validation, sp.test);
  for (const s of [sp.train, sp.validation]) for (let i = 0; i < s.length; i++) assert.match(s.itemName(i), /train\/good/);
  // A labelled validation set from another folder; then training keeps all normals.
  const vroot = tempDir();
  await makeMvtec(vroot);
  const val = labelledSplit(openFolder(vroot), { sources: ['test'] });
  assert.deepEqual(val.counts, { normal: 2, anomalous: 4 });
  const withVal = makeSplits(ds, { validation: val });
  assert.equal(withVal.train.length, 4);
  assert.equal(withVal.validation, val);
  assert.equal(withVal.record.userValidation, true);
  // A validation split overlapping the test split is refused.
  assert.throws(() => makeSplits(ds, { validation: labelledSplit(ds, { sources: ['test'] }) }), isAnogen(/validation: item .* is also in the test split/));
  // Two-folder form: normals split 80/20 with the seed.
  const two = tempDir();
  fs.mkdirSync(path.join(two, 'ok'));
  fs.mkdirSync(path.join(two, 'ko'));
  for (let i = 0; i < 10; i++) await writePng(path.join(two, 'ok', `${i}.png`), 4, 4, 1, i);
  for (let i = 0; i < 3; i++) await writePng(path.join(two, 'ko', `${i}.png`), 4, 4, 1, 50 + i);
  const tf = openNormalAbnormal({ normal: path.join(two, 'ok'), abnormal: path.join(two, 'ko') });
  const s2 = makeSplits(tf, { seed: 2 });
  assert.deepEqual(s2.test.counts, { normal: 2, anomalous: 3 });
  assert.equal(s2.train.length + s2.validation.length, 8);
  assert.equal(s2.validation.length, 1);
  assertDisjoint(s2.train, s2.validation, s2.test);
});
