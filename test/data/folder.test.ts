import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { AnogenError } from '../../src/core/errors.js';
import {
  decodeImage,
  openFolder,
  openNormalAbnormal,
  openLabelledFolder,
  labelledSplit,
  openDataset,
  makeSplits,
  DataLoader,
  loadSplit,
  disposeBatch,
  ImageCache,
} from '../../src/data/index.js';
import { dataInfoCommand } from '../../src/cli/commands/data.js';
import { elpvRoot, makeMvtec, pattern, tempDir, writeBmp24, writePng, writePng16 } from './helpers.js';

const isAnogen = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AnogenError, `expected AnogenError, got ${String(e)}`);
  assert.match((e as Error).message, re);
  return true;
};

test('decodes PNG 8/16-bit gray and RGB, JPEG, TIFF and BMP exactly (lossless) or closely (JPEG)', async () => {
  const dir = tempDir();
  const g = await writePng(path.join(dir, 'g.png'), 5, 4, 1, 1);
  const gi = await decodeImage(path.join(dir, 'g.png'));
  assert.deepEqual([gi.width, gi.height, gi.channels], [5, 4, 1]);
  assert.ok(gi.data instanceof Uint8Array);
  assert.deepEqual(Array.from(gi.data), Array.from(g));
  const c = await writePng(path.join(dir, 'c.png'), 5, 4, 3, 2);
  const ci = await decodeImage(path.join(dir, 'c.png'));
  assert.equal(ci.channels, 3);
  assert.deepEqual(Array.from(ci.data), Array.from(c));
  const d = await writePng16(path.join(dir, 'd.png'), 6, 3);
  const di = await decodeImage(path.join(dir, 'd.png'));
  assert.ok(di.data instanceof Uint16Array, '16-bit stays 16-bit');
  assert.deepEqual(Array.from(di.data), Array.from(d));
  // RGBA PNG: alpha dropped.
  await sharp(Buffer.from(pattern(3, 2, 4, 3)), { raw: { width: 3, height: 2, channels: 4 } })
    .png()
    .toFile(path.join(dir, 'a.png'));
  const ai = await decodeImage(path.join(dir, 'a.png'));
  assert.equal(ai.channels, 3);
  assert.deepEqual(Array.from(ai.data.subarray(0, 3)), Array.from(pattern(3, 2, 4, 3).subarray(0, 3)));
  await sharp(Buffer.from(c), { raw: { width: 5, height: 4, channels: 3 } })
    .tiff({ compression: 'lzw' })
    .toFile(path.join(dir, 't.tif'));
  assert.deepEqual(Array.from((await decodeImage(path.join(dir, 't.tif'))).data), Array.from(c));
  await sharp(Buffer.from(c), { raw: { width: 5, height: 4, channels: 3 } })
    .jpeg({ quality: 100 })
    .toFile(path.join(dir, 'j.jpg'));
  const ji = await decodeImage(path.join(dir, 'j.jpg'));
  assert.equal(ji.channels, 3);
  const err = Array.from(ji.data).reduce((a, v, i) => Math.max(a, Math.abs(v - c[i])), 0);
  assert.ok(err < 40, `JPEG max error ${err}`);
  const b = writeBmp24(path.join(dir, 'b.bmp'), 5, 3, 4);
  const bi = await decodeImage(path.join(dir, 'b.bmp'));
  assert.deepEqual([bi.width, bi.height, bi.channels], [5, 3, 3]);
  assert.deepEqual(Array.from(bi.data), Array.from(b));
});

test('undecodable image names the file; unsupported BMP says what is supported', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'bad.png'), Buffer.from('this is not a png'));
  await assert.rejects(decodeImage(path.join(dir, 'bad.png')), isAnogen(/bad\.png: cannot decode image .*expected a valid PNG, JPEG, TIFF, WebP or uncompressed BMP/));
  const good = fs.readFileSync((await writePng(path.join(dir, 'ok.png'), 16, 16, 1, 0), path.join(dir, 'ok.png')));
  fs.writeFileSync(path.join(dir, 'cut.png'), good.subarray(0, good.length - 20));
  await assert.rejects(decodeImage(path.join(dir, 'cut.png')), isAnogen(/cut\.png: cannot decode image/));
  const bmp = Buffer.alloc(60);
  bmp.write('BM', 0, 'latin1');
  bmp.writeUInt32LE(40, 14);
  bmp.writeInt32LE(2, 18);
  bmp.writeInt32LE(2, 22);
  bmp.writeUInt16LE(4, 28);
  bmp.writeUInt32LE(2, 30);
  fs.writeFileSync(path.join(dir, 'rle.bmp'), bmp);
  await assert.rejects(decodeImage(path.join(dir, 'rle.bmp')), isAnogen(/rle\.bmp: unsupported BMP \(4 bits, compression 2\); expected uncompressed 8-, 24- or 32-bit BMP/));
});

test('MVTec layout: classes, counts, masks, batches with masks', async () => {
  const root = tempDir();
  await makeMvtec(root);
  const ds = openFolder(root);
  assert.deepEqual(ds.classes, ['good', 'dent', 'scratch']);
  assert.equal(ds.count('train'), 4);
  assert.equal(ds.count('test'), 6);
  assert.ok(ds.hasMasks);
  assert.match(ds.maskFile('test', 4)!, /ground_truth\/scratch\/000_mask\.png$/);
  assert.equal(ds.maskFile('test', 5), null);
  const sp = makeSplits(ds, { valFraction: 0.25 });
  assert.deepEqual(sp.test.classCounts(), { dent: 2, good: 2, scratch: 2 });
  assert.deepEqual(sp.test.counts, { normal: 2, anomalous: 4 });
  const b = await loadSplit(sp.test);
  assert.deepEqual(b.x.shape, [6, 1, 8, 8]);
  assert.deepEqual(Array.from(b.y.toTypedArray() as BigInt64Array, Number), [1, 1, 0, 0, 1, 1]);
  assert.deepEqual(b.mask!.shape, [6, 1, 8, 8]);
  const m = b.mask!.toArray() as number[][][][];
  assert.deepEqual(m[4][0][0], new Array(8).fill(1));
  assert.deepEqual(m[4][0][2], new Array(8).fill(0));
  assert.equal(b.mask!.sum().item(), 16);
  // Pixel values: test/good/000.png is pattern seed 10.
  const px = pattern(8, 8, 1, 10);
  const x = b.x.toTypedArray() as Float32Array;
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(x[2 * 64 + i] - px[i] / 255) < 1e-6);
  disposeBatch(b);
});

test('16-bit and RGB folders load into [0, 1]; mixed channels need a grayscale/rgb transform', async () => {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'n'));
  fs.mkdirSync(path.join(root, 'a'));
  const p16 = await writePng16(path.join(root, 'n', 'x.png'), 4, 4);
  await writePng16(path.join(root, 'n', 'y.png'), 4, 4);
  await writePng(path.join(root, 'a', 'z.png'), 4, 4, 3, 1);
  const ds = openNormalAbnormal({ normal: path.join(root, 'n'), abnormal: path.join(root, 'a') });
  const sp = makeSplits(ds, { testFraction: 0.5, valFraction: 0 });
  const tr = await loadSplit(sp.train);
  assert.deepEqual(tr.x.shape, [1, 1, 4, 4]);
  const v = tr.x.toTypedArray() as Float32Array;
  for (let i = 0; i < 16; i++) assert.ok(Math.abs(v[i] - p16[i] / 65535) < 1e-6);
  disposeBatch(tr);
  await assert.rejects(loadSplit(sp.test), isAnogen(/gives an image of \[3, 4, 4\] but .* gives \[1, 4, 4\]; add resize\/centerCrop and grayscale\/rgb transforms/));
  const te = await loadSplit(sp.test, { transforms: [{ type: 'rgb' }] });
  assert.deepEqual(te.x.shape, [2, 3, 4, 4]);
  disposeBatch(te);
});

test('undecodable image in a folder: error by default, skipped and counted with skipBad', async () => {
  const root = tempDir();
  await makeMvtec(root);
  fs.writeFileSync(path.join(root, 'test/good/999.png'), 'garbage');
  const strict = openFolder(root);
  await assert.rejects(loadSplit(makeSplits(strict).test), isAnogen(/test\/good\/999\.png: cannot decode image/));
  const lax = openFolder(root, { skipBad: true });
  const sp = makeSplits(lax);
  const loader = new DataLoader(sp.test, { batchSize: 4 });
  let n = 0;
  for await (const b of loader) {
    n += b.x.shape[0];
    assert.equal(b.y.shape[0], b.x.shape[0]);
    disposeBatch(b);
  }
  assert.equal(n, 6);
  assert.equal(loader.skipped, 1);
  assert.deepEqual(
    [...lax.badFiles].map((f) => path.basename(f)),
    ['999.png'],
  );
});

test('empty folder, missing train/good, mask without its image', async () => {
  const root = tempDir();
  assert.throws(() => openFolder(path.join(root, 'nope')), isAnogen(/nope: folder does not exist/));
  assert.throws(() => openFolder(root), isAnogen(/no train\/good folder; expected the MVTec layout/));
  fs.mkdirSync(path.join(root, 'train/good'), { recursive: true });
  fs.mkdirSync(path.join(root, 'test/good'), { recursive: true });
  fs.writeFileSync(path.join(root, 'train/good/readme.txt'), 'not an image');
  assert.throws(() => openFolder(root), isAnogen(/train\/good: empty folder: no images found; expected files ending in \.png/));
  const r2 = tempDir();
  await makeMvtec(r2);
  fs.copyFileSync(path.join(r2, 'ground_truth/scratch/000_mask.png'), path.join(r2, 'ground_truth/scratch/007_mask.png'));
  assert.throws(() => openFolder(r2), isAnogen(/007_mask\.png: mask without its image; expected .*test\/scratch\/007\.<png/));
  const r3 = tempDir();
  await makeMvtec(r3);
  fs.mkdirSync(path.join(r3, 'ground_truth/crack'));
  fs.copyFileSync(path.join(r3, 'ground_truth/scratch/000_mask.png'), path.join(r3, 'ground_truth/crack/000_mask.png'));
  assert.throws(() => openFolder(r3), isAnogen(/ground_truth\/crack: masks without images; expected a folder .*test\/crack/));
  const r4 = tempDir();
  fs.mkdirSync(path.join(r4, 'n'));
  fs.mkdirSync(path.join(r4, 'a'));
  assert.throws(() => openNormalAbnormal({ normal: path.join(r4, 'n'), abnormal: path.join(r4, 'a') }), isAnogen(/n: empty folder/));
});

test('LRU cache stays within its byte bound', async () => {
  const dir = tempDir();
  const files: string[] = [];
  for (let i = 0; i < 5; i++) {
    await writePng(path.join(dir, `${i}.png`), 10, 10, 1, i);
    files.push(path.join(dir, `${i}.png`));
  }
  const cache = new ImageCache(250); // room for two 100-byte images
  for (const f of files) await cache.get(f);
  assert.equal(cache.size, 2);
  assert.equal(cache.bytes, 200);
  await cache.get(files[4]);
  assert.equal(cache.hits, 1);
  await cache.get(files[0]);
  assert.equal(cache.misses, 6);
});

const elpv = elpvRoot();
test('reads ELPV as it is (counts from its README)', { skip: elpv === null ? 'ELPV not present' : false }, async () => {
  const ds = openDataset(elpv!);
  assert.equal(ds.count('train'), 1131);
  assert.deepEqual(
    (() => {
      const c: Record<string, number> = {};
      for (const k of ds.classIds('test')) c[ds.classes[k]] = (c[ds.classes[k]] ?? 0) + 1;
      return c;
    })(),
    { good: 377, defect: 821 },
  );
  const withU = openFolder(elpv!, { includeUncertain: true });
  assert.deepEqual(withU.classes, ['good', 'defect', 'uncertain']);
  assert.equal(withU.count('test'), 377 + 821 + 295);
  const sp = makeSplits(ds, { seed: 1 });
  assert.equal(sp.train.length + sp.validation.length, 1131);
  assert.deepEqual(sp.test.counts, { normal: 377, anomalous: 821 });
  const loader = new DataLoader(sp.validation, { batchSize: 32 });
  for await (const b of loader) {
    assert.deepEqual(b.x.shape, [32, 1, 128, 128]);
    disposeBatch(b);
    break;
  }
  const text = await dataInfoCommand({ target: elpv! });
  assert.match(text, /train: 1131 images/);
  assert.match(text, /128x128, gray, 8-bit: 2329/);
  const json = JSON.parse(await dataInfoCommand({ target: elpv!, includeUncertain: true, json: true }));
  assert.equal(json.sources.test.classes.uncertain, 295);
});

test('labelled folder: good/ plus one folder per anomaly type, one validation source; bad layouts are clear errors', async () => {
  const root = tempDir();
  for (const [c, n] of [
    ['good', 3],
    ['scratch', 2],
    ['dent', 1],
  ] as const) {
    fs.mkdirSync(path.join(root, c));
    for (let i = 0; i < n; i++) await writePng(path.join(root, c, `${i}.png`), 8, 8, 1, i);
  }
  const ds = openLabelledFolder(root);
  assert.deepEqual(ds.classes, ['good', 'dent', 'scratch']);
  const split = labelledSplit(ds, { role: 'validation' });
  assert.deepEqual([split.length, split.counts.anomalous], [6, 3]);
  const noGood = tempDir();
  fs.mkdirSync(path.join(noGood, 'scratch'));
  assert.throws(
    () => openLabelledFolder(noGood),
    (e: Error) => e instanceof AnogenError && /needs good\/ \(normal images\).*found scratch/.test(e.message),
  );
  fs.mkdirSync(path.join(noGood, 'good'));
  assert.throws(
    () => openLabelledFolder(noGood),
    (e: Error) => e instanceof AnogenError && /good: empty folder: no images found/.test(e.message),
  );
});
