import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as T from '../../src/core/index.js';
import { openIdxDataset, openFolder, makeSplits, sourceSplit, DataLoader, loadSplit, disposeBatch, preprocessFile, mnistDir, type Batch } from '../../src/data/index.js';
import { makeMvtec, tempDir, writeIdxDataset } from './helpers.js';
import { settledLiveTensors } from '../helpers/live.js';

async function collect(loader: DataLoader): Promise<{ positions: number[][]; shapes: number[][]; labels: number[][] }> {
  const out = { positions: [] as number[][], shapes: [] as number[][], labels: [] as number[][] };
  for await (const b of loader) {
    out.positions.push(Array.from(b.positions));
    out.shapes.push(b.x.shape);
    out.labels.push(Array.from(b.y.toTypedArray() as BigInt64Array, Number));
    assert.equal(b.y.dtype, 'int64');
    assert.equal(b.x.dtype, 'float32');
    disposeBatch(b);
  }
  return out;
}

function smallIdx() {
  const dir = tempDir();
  writeIdxDataset(dir, { n: 30, m: 9, h: 4, w: 3, k: 3 });
  return openIdxDataset(dir);
}

test('order reproducible by seed, changes per epoch, covers every item once', async () => {
  const ds = smallIdx();
  const sp = makeSplits(ds, { protocol: 'one-vs-rest', normalClass: 0, valFraction: 0 }); // 10 training items
  const a = await collect(new DataLoader(sp.train, { batchSize: 4, seed: 11 }));
  const b = await collect(new DataLoader(sp.train, { batchSize: 4, seed: 11 }));
  assert.deepEqual(a.positions, b.positions);
  assert.deepEqual(a.shapes, [
    [4, 1, 4, 3],
    [4, 1, 4, 3],
    [2, 1, 4, 3],
  ]);
  assert.deepEqual(
    a.positions.flat().sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.notDeepEqual(a.positions.flat(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const c = await collect(new DataLoader(sp.train, { batchSize: 4, seed: 12 }));
  assert.notDeepEqual(c.positions, a.positions);
  const loader = new DataLoader(sp.train, { batchSize: 4, seed: 11 });
  const e0 = await collect(loader);
  const e1 = await collect(loader);
  assert.equal(loader.epoch, 2);
  assert.deepEqual(e0.positions, a.positions);
  assert.notDeepEqual(e1.positions, e0.positions);
  assert.deepEqual(loader.order(1), Int32Array.from(e1.positions.flat()));
  // Not shuffled for the test split by default.
  const t = await collect(new DataLoader(sp.test, { batchSize: 4 }));
  assert.deepEqual(t.positions.flat(), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(t.labels.flat(), [0, 1, 1, 0, 1, 1, 0, 1, 1]);
});

test('dropLast, batch contents match the IDX pixels', async () => {
  const ds = smallIdx();
  const sp = makeSplits(ds, { protocol: 'one-vs-rest', normalClass: 0, valFraction: 0 });
  const d = await collect(new DataLoader(sp.train, { batchSize: 4, dropLast: true }));
  assert.deepEqual(d.shapes, [
    [4, 1, 4, 3],
    [4, 1, 4, 3],
  ]);
  assert.equal(new DataLoader(sp.train, { batchSize: 4, dropLast: true }).length, 2);
  assert.equal(new DataLoader(sp.train, { batchSize: 4 }).length, 3);
  const loader = new DataLoader(sp.test, { batchSize: 9, transforms: [{ type: 'scale', range: [-1, 1] }] });
  for await (const b of loader) {
    const x = b.x.toTypedArray() as Float32Array;
    const raw = ds.images.test.data as Uint8Array;
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - ((raw[i] / 255) * 2 - 1)) < 1e-6);
    disposeBatch(b);
  }
  assert.throws(() => new DataLoader(sp.train, { batchSize: 0 }), /batchSize: 0 is not valid/);
});

test('random crops repeat labels k times; leaving a loop early frees prefetched batches', async () => {
  const ds = smallIdx();
  const sp = makeSplits(ds, { protocol: 'one-vs-rest', normalClass: 0, valFraction: 0 });
  const l = new DataLoader(sp.test, { batchSize: 3, transforms: [{ type: 'randomCrop', size: 2, k: 2 }] });
  const r = await collect(l);
  assert.deepEqual(r.shapes[0], [6, 1, 2, 2]);
  assert.deepEqual(r.labels[0], [0, 0, 1, 1, 1, 1]);
  const before = settledLiveTensors();
  const loader = new DataLoader(sp.test, { batchSize: 1, prefetch: 3 });
  let first: Batch | null = null;
  for await (const b of loader) {
    first = b;
    break;
  }
  disposeBatch(first!);
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(T.liveTensors(), before);
});

test('folder loader: masks, flips seeded, preprocessFile equals the loader', async () => {
  const root = tempDir();
  await makeMvtec(root);
  const ds = openFolder(root);
  const sp = makeSplits(ds, { valFraction: 0 });
  const tf = [
    { type: 'resize' as const, size: 4 },
    { type: 'scale' as const, range: [-1, 1] as [number, number] },
  ];
  const loader = new DataLoader(sp.test, { batchSize: 6, transforms: tf });
  for await (const b of loader) {
    assert.deepEqual(b.x.shape, [6, 1, 4, 4]);
    assert.deepEqual(b.mask!.shape, [6, 1, 4, 4]);
    assert.equal(b.mask!.sum().item(), 4);
    const one = await preprocessFile(sp.test.itemName(3), tf);
    assert.ok(one.allclose(b.x.narrow(0, 3, 1)));
    one.dispose();
    disposeBatch(b);
  }
  const aug = (seed: number) => collectX(new DataLoader(sp.train, { batchSize: 4, seed, transforms: [{ type: 'hflip' }, { type: 'vflip' }] }));
  assert.deepEqual(await aug(1), await aug(1));
  assert.notDeepEqual(await aug(1), await aug(2));
});

async function collectX(loader: DataLoader): Promise<number[]> {
  const out: number[] = [];
  for await (const b of loader) {
    out.push(...(b.x.toTypedArray() as Float32Array));
    disposeBatch(b);
  }
  return out;
}

test('MNIST: the 60,000 training images as one tensor', { skip: !fs.existsSync(path.join(mnistDir(), 'train-images-idx3-ubyte')) }, async () => {
  const ds = openIdxDataset('mnist');
  const b = await loadSplit(sourceSplit(ds, 'train'), { transforms: [{ type: 'scale', range: [-1, 1] }] });
  assert.deepEqual(b.x.shape, [60000, 1, 28, 28]);
  assert.equal(b.y.shape[0], 60000);
  // Image 0 row 14 against the raw bytes.
  const raw = ds.images.train.data as Uint8Array;
  const row = b.x.select(0, 0).select(0, 0).select(0, 14).toTypedArray() as Float32Array;
  for (let i = 0; i < 28; i++) assert.ok(Math.abs(row[i] - ((raw[14 * 28 + i] / 255) * 2 - 1)) < 1e-6);
  const last = b.x.select(0, 59999).sum().item();
  let s = 0;
  for (let i = 0; i < 784; i++) s += (raw[59999 * 784 + i] / 255) * 2 - 1;
  assert.ok(Math.abs(last - s) < 1e-2);
  disposeBatch(b);
});
