// The evaluation's dashboard data (src/pipeline/eval-data.ts): eval-data.json beside results.json
// with the same metrics, curves from (0,0) to (1,1), PNGs that decode in eval-data.files/
// (replaced as a whole), --eval-data FILE, --no-eval-data, and the helpers' limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runCliIn } from '../helpers/cli.js';
import { downsampleCurve, evalDataFilesDir, replaceFolder, scoreHistogramCounts, subsampleIndices, type EvalData } from '../../src/pipeline/eval-data.js';
import { evaluate } from '../../src/pipeline/evaluate.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-eval-data-'));
const cli = (...args: string[]) => runCliIn(tmp, ...args);

/** 16x16 gray PNGs in the MVTec layout: normals are gradients, defects carry a bright square. */
async function makeFolder(root: string): Promise<void> {
  const png = async (file: string, seed: number, defect: boolean) => {
    const px = Buffer.alloc(16 * 16);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) px[y * 16 + x] = (x * 8 + y * 4 + ((seed * 37 + x * y) % 13)) % 256;
    if (defect) for (let y = 4 + (seed % 6); y < 10 + (seed % 6); y++) for (let x = 5; x < 11; x++) px[y * 16 + x] = 255;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await sharp(px, { raw: { width: 16, height: 16, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(file);
  };
  for (let i = 0; i < 32; i++) await png(path.join(root, 'train', 'good', `${i}.png`), i, false);
  for (let i = 0; i < 8; i++) await png(path.join(root, 'test', 'good', `${i}.png`), 100 + i, false);
  for (let i = 0; i < 6; i++) await png(path.join(root, 'test', 'crack', `${i}.png`), 200 + i, true);
}

const read = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as EvalData;

async function assertPng(file: string, size: number): Promise<void> {
  assert.ok(fs.existsSync(file), `${file} exists`);
  const meta = await sharp(fs.readFileSync(file)).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, size);
  assert.equal(meta.height, size);
  await sharp(fs.readFileSync(file)).raw().toBuffer(); // decodes completely
}

test('anogen eval writes eval-data.json (metrics of results.json, curves, histogram, PNGs that decode); --eval-data FILE; --no-eval-data writes none', async () => {
  const data = path.join(tmp, 'data');
  await makeFolder(data);
  const out = path.join(tmp, 'bundle');
  const t = await cli('train', 'ae', '--data', data, '--epochs', '1', '--batch-size', '16', '--image-size', '16', '--nz', '8', '--ngf', '8', '--out', out, '--quiet');
  assert.equal(t.code, 0, t.err);

  // a stale folder content and a dead writer's temp folder: both gone after the write
  const files = path.join(out, 'eval-data.files');
  fs.mkdirSync(files, { recursive: true });
  fs.writeFileSync(path.join(files, 'stale.png'), 'old');
  const deadTmp = path.join(out, '.eval-data.files.999999999.1.1.tmp');
  fs.mkdirSync(deadTmp);

  const e = await cli('eval', out, '--no-report', '--no-floors', '--quiet');
  assert.equal(e.code, 0, e.err);
  assert.match(e.out, new RegExp(`eval data: ${path.join(out, 'eval-data.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as { metrics: unknown; threshold: number; detector: string; testImages: number };
  const d = read(path.join(out, 'eval-data.json'));
  assert.equal(d.version, 1);
  assert.equal(d.detector, 'ae');
  assert.deepEqual(d.metrics, results.metrics);
  assert.equal(d.threshold, results.threshold);
  // ROC from (0,0) to (1,1), PR ends at (recall 0, precision 1); both short
  assert.deepEqual([d.roc.fpr[0], d.roc.tpr[0]], [0, 0]);
  assert.deepEqual([d.roc.fpr.at(-1), d.roc.tpr.at(-1)], [1, 1]);
  assert.equal(d.roc.fpr.length, d.roc.tpr.length);
  assert.ok(d.roc.fpr.length <= 512);
  assert.equal(d.pr.recall[0], 1);
  assert.deepEqual([d.pr.recall.at(-1), d.pr.precision.at(-1)], [0, 1]);
  // histogram: 40 bins over the scores, every image counted once in its class
  assert.equal(d.histogram.edges.length, 41);
  assert.equal(d.histogram.normal.length, 40);
  assert.equal(
    d.histogram.normal.reduce((a, v) => a + v, 0),
    8,
  );
  assert.equal(
    d.histogram.anomalous.reduce((a, v) => a + v, 0),
    6,
  );
  assert.equal(d.scores.length, 14);
  assert.equal(d.scoresTotal, results.testImages);
  assert.equal(d.scores.filter((s) => s.label === 1).length, 6);
  for (const s of d.scores) assert.ok(s.score >= d.histogram.edges[0]! && s.score <= d.histogram.edges[40]!);
  // images: the 14 most anomalous (all of them here), the 6 anomalies lowest first; x, x^ and map each a 16x16 PNG
  assert.equal(d.files, 'eval-data.files');
  assert.equal(d.top.length, 14);
  assert.equal(d.missed.length, 6);
  for (let i = 1; i < d.top.length; i++) assert.ok(d.top[i - 1]!.score >= d.top[i]!.score, 'top: highest first');
  for (let i = 1; i < d.missed.length; i++) assert.ok(d.missed[i - 1]!.score <= d.missed[i]!.score, 'missed: lowest first');
  assert.ok(d.missed.every((m) => m.label === 1));
  assert.deepEqual(new Set(d.top.map((x) => x.name)), new Set(d.scores.map((x) => x.name)));
  for (const im of [...d.top, ...d.missed]) {
    assert.ok(im.reconstruction !== null && im.map !== null, 'ae reconstructs and gives maps');
    for (const f of [im.image, im.reconstruction, im.map]) await assertPng(path.join(files, f), 16);
  }
  const listed = new Set([...d.top, ...d.missed].flatMap((im) => [im.image, im.reconstruction, im.map]));
  assert.deepEqual(new Set(fs.readdirSync(files)), listed, 'the folder holds exactly the files the JSON names (the stale one is gone)');
  assert.ok(!fs.existsSync(deadTmp), "a dead writer's temp folder is removed");
  assert.deepEqual(
    fs.readdirSync(out).filter((n) => n.startsWith('.eval-data')),
    [],
    'no temp folders left',
  );
  assert.ok(d.mapScale !== null && d.mapScale.vmax > 0);
  assert.equal(d.pixelRange, '[-1,1]');
  if (d.tsne) {
    assert.ok(d.tsne.points.length > 0);
    assert.ok(d.tsne.points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y)));
  }

  // --eval-data FILE: the JSON there and its sibling folder
  const other = path.join(tmp, 'elsewhere', 'mine.json');
  const e2 = await cli('eval', out, '--no-report', '--no-floors', '--quiet', '--json', path.join(tmp, 'r2.json'), '--eval-data', other);
  assert.equal(e2.code, 0, e2.err);
  const d2 = read(other);
  assert.equal(d2.files, 'mine.files');
  assert.equal(evalDataFilesDir(other), path.join(tmp, 'elsewhere', 'mine.files'));
  await assertPng(path.join(tmp, 'elsewhere', 'mine.files', d2.top[0]!.image), 16);
  assert.deepEqual(d2.metrics, d.metrics, 'the same evaluation gives the same metrics');

  // --no-eval-data: nothing written
  fs.rmSync(path.join(out, 'eval-data.json'));
  fs.rmSync(files, { recursive: true });
  const e3 = await cli('eval', out, '--no-report', '--no-floors', '--quiet', '--no-eval-data');
  assert.equal(e3.code, 0, e3.err);
  assert.doesNotMatch(e3.out, /eval data:/);
  assert.ok(!fs.existsSync(path.join(out, 'eval-data.json')));
  assert.ok(!fs.existsSync(files));
  const both = await cli('eval', out, '--no-eval-data', '--eval-data', other);
  assert.equal(both.code, 2);
  assert.match(both.err, /--eval-data and --no-eval-data exclude each other/);

  // the library writes none unless asked (dataJson default null), and names the file when asked
  const lib = await evaluate({ bundle: out, json: path.join(tmp, 'r3.json'), report: null, floors: false });
  assert.equal(lib.data, null);
  assert.ok(!fs.existsSync(path.join(out, 'eval-data.json')));
  const lib2 = await evaluate({ bundle: out, json: path.join(tmp, 'r4.json'), report: null, floors: false, dataJson: path.join(tmp, 'lib.json') });
  assert.equal(lib2.data, path.join(tmp, 'lib.json'));
  assert.deepEqual(read(path.join(tmp, 'lib.json')).metrics, lib2.results.metrics);
});

test('curves keep their ends within 512 points; scores are a seeded subsample in test order; histogram counts every score', () => {
  const n = 5000;
  const xs = Array.from({ length: n }, (_, i) => i / (n - 1));
  const ys = xs.map((x) => Math.sqrt(x));
  const c = downsampleCurve(xs, ys);
  assert.equal(c.x.length, 512);
  assert.deepEqual([c.x[0], c.y[0], c.x.at(-1), c.y.at(-1)], [0, 0, 1, 1]);
  for (let i = 1; i < c.x.length; i++) assert.ok(c.x[i]! > c.x[i - 1]!);
  assert.deepEqual(downsampleCurve([0, 1], [0, 1]), { x: [0, 1], y: [0, 1] });

  const a = subsampleIndices(12000, 5000, 7);
  assert.equal(a.length, 5000);
  assert.equal(new Set(a).size, 5000);
  for (let i = 1; i < a.length; i++) assert.ok(a[i]! > a[i - 1]!, 'increasing (test order)');
  assert.deepEqual(subsampleIndices(12000, 5000, 7), a, 'seeded');
  assert.notDeepEqual(subsampleIndices(12000, 5000, 8), a);
  assert.deepEqual(subsampleIndices(3, 5000, 0), [0, 1, 2]);

  const h = scoreHistogramCounts([0, 0.5, 1, 1, 2], [0, 0, 1, 1, 1]);
  assert.equal(h.edges.length, 41);
  assert.deepEqual([h.edges[0], h.edges[40]], [0, 2]);
  assert.equal(h.normal[0], 1);
  assert.equal(h.normal[10], 1);
  assert.equal(h.anomalous[20], 2);
  assert.equal(h.anomalous[39], 1, 'the highest score falls in the last bin');
  assert.equal(evalDataFilesDir('/r/eval-data.json'), '/r/eval-data.files');
  assert.equal(evalDataFilesDir('/r/data'), '/r/data.files');
  const flat = scoreHistogramCounts([3, 3], [0, 1]);
  assert.ok(flat.edges[40]! > flat.edges[0]!, 'a single value gets a non-empty range');
  assert.equal(flat.normal.reduce((s, v) => s + v, 0) + flat.anomalous.reduce((s, v) => s + v, 0), 2);
});

test('the image folder is replaced as a whole: a write that fails midway leaves the previous folder as it was and no temp folder', async () => {
  const dir = path.join(tmp, 'swap', 'x.files');
  await replaceFolder(dir, async (t, put) => {
    put(t, 'a.png', Buffer.from('one'));
    put(t, 'b.png', Buffer.from('one'));
  });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.png', 'b.png']);
  await assert.rejects(
    replaceFolder(dir, async (t, put) => {
      put(t, 'a.png', Buffer.from('two'));
      throw new Error('killed midway');
    }),
    /killed midway/,
  );
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.png', 'b.png']);
  assert.equal(fs.readFileSync(path.join(dir, 'a.png'), 'utf8'), 'one');
  assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['x.files']);
  await replaceFolder(dir, async (t, put) => put(t, 'c.png', Buffer.from('three')));
  assert.deepEqual(fs.readdirSync(dir), ['c.png'], 'the new version only');
  assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['x.files']);
});
