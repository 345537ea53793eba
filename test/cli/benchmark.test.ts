// `anogen benchmark`: a 2-cell table on tiny budgets through the CLI (JSON + Markdown), a
// rerun that resumes without retraining, per-detector hyperparameters from --hparams and a
// --config YAML, the folder protocol with position-aware patch kNN, and patch kNN against a
// brute-force implementation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { tensor } from '../../src/core/index.js';
import { patchKnnScores } from '../../src/eval/floors.js';
import { parseHParams } from '../../src/cli/commands/benchmark.js';
import type { BenchmarkTable } from '../../src/pipeline/benchmark.js';
import { runCli } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-benchmark-'));
const tiny = ['--train-limit', '64', '--epochs', '1', '--test-limit', '96', '--val-limit', '32', '--image-size', '16'];
const read = (out: string) => JSON.parse(fs.readFileSync(path.join(out, 'benchmark.json'), 'utf8')) as BenchmarkTable;

test('a 2-cell table: JSON and Markdown with every cell; a rerun resumes without retraining', async () => {
  const out = path.join(tmp, 'mnist');
  const args = ['benchmark', '--detectors', 'ganomaly', '--data', 'mnist', '--protocol', 'one-vs-rest', '--classes', '0,1', ...tiny];
  const r = await runCli(...args, '--hparams', 'ganomaly.nz=8,ngf=8,ndf=8', '--floors', 'pca,knn,patch-knn', '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /\[1\/2\] ganomaly on mnist one-vs-rest class 0 seed 0/);
  assert.match(r.err, /\[2\/2\] ganomaly on mnist one-vs-rest class 1 seed 0 \| 1\/2 run so far in \w+, ETA of the table \w+/);
  const t = read(out);
  assert.deepEqual(
    t.cells.map((c) => [c.detector, c.dataset, c.protocol, c.class, c.seed, c.status]),
    [
      ['ganomaly', 'mnist', 'one-vs-rest', '0', 0, 'done'],
      ['ganomaly', 'mnist', 'one-vs-rest', '1', 0, 'done'],
    ],
  );
  for (const c of t.cells) {
    assert.deepEqual(c.config.hparams, { nz: 8, ngf: 8, ndf: 8 });
    assert.equal(c.budget.trainImages, 64);
    assert.equal(c.budget.epochs, 1);
    assert.equal(c.budget.testImages, 96);
    for (const v of [c.auroc, c.auprc, c.trainSeconds, c.trainImagesPerSecond, c.scoreMsPerImage]) assert.ok(Number.isFinite(v));
    assert.deepEqual(Object.keys(c.floors), ['pca', 'knn', 'patch-knn']);
    for (const f of Object.values(c.floors)) assert.ok(f.auroc > 0.5 && f.auprc > 0, JSON.stringify(f));
  }
  assert.ok(!fs.existsSync(path.join(out, 'cells', 'ganomaly-mnist-one-vs-rest-0-seed0')), 'bundles are removed unless --keep-bundles');
  const md = fs.readFileSync(path.join(out, 'benchmark.md'), 'utf8');
  assert.match(md, /\| detector \| data \| protocol \| class \| seed \| budget \| test \(anom\.\) \| AUROC \| AUPRC \| PCA \| kNN \| patch kNN \|/);
  assert.match(md, /\| ganomaly \| mnist \| one-vs-rest \| 0 \| 0 \| 64 img x 1 ep, 16 px, nz=8 ngf=8 ndf=8 \| 96 \(\d+\) \| 0\.\d{3} \|/);
  assert.match(md, /## Mean per detector[\s\S]*\| ganomaly \| mnist \| one-vs-rest \| 64 img x 1 ep, 16 px, nz=8 ngf=8 ndf=8 \| 2 \|/);
  assert.match(md, /Command: `anogen benchmark --detectors ganomaly/);

  // Rerun: the same cells are kept (no training: the finish times are unchanged), a new class runs.
  const again = await runCli(...args.map((a) => (a === '0,1' ? '0,1,2' : a)), '--hparams', 'ganomaly.nz=8,ngf=8,ndf=8', '--floors', 'pca,knn,patch-knn', '--out', out);
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /2 finished cell\(s\) kept/);
  assert.doesNotMatch(again.err, /class [01] seed/);
  assert.match(again.err, /\[3\/3\] ganomaly on mnist one-vs-rest class 2/);
  const t2 = read(out);
  assert.equal(t2.cells.length, 3);
  for (const i of [0, 1]) assert.equal(t2.cells[i]!.finishedAt, t.cells[i]!.finishedAt);
});

/** A 16 px gray MVTec-layout folder under tmp/name: 40 train/good, 10 test/good, 10 test/defect (a bright line). */
async function lineFolder(name: string): Promise<string> {
  const data = path.join(tmp, name);
  const mk = async (dir: string, n: number, bright: boolean) => {
    fs.mkdirSync(path.join(data, dir), { recursive: true });
    for (let i = 0; i < n; i++) {
      const px = Buffer.alloc(16 * 16);
      for (let k = 0; k < px.length; k++) px[k] = (k % 16 < 8 ? 60 : 180) + ((k * 7 + i * 13) % 20);
      if (bright) for (let k = 0; k < 16; k++) px[(4 + (i % 8)) * 16 + k] = 255; // a bright line: the defect
      await sharp(px, { raw: { width: 16, height: 16, channels: 1 } })
        .png()
        .toFile(path.join(data, dir, `${i}.png`));
    }
  };
  await mk('train/good', 40, false);
  await mk('test/good', 10, false);
  await mk('test/defect', 10, true);
  return data;
}

test('the folder protocol (no classes) with position-aware patch kNN', async () => {
  const data = await lineFolder('folder');
  const out = path.join(tmp, 'folder-out');
  const bad = await runCli('benchmark', '--detectors', 'ganomaly', '--data', data, '--classes', '1', '--out', out);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--classes does not apply to --protocol folder/);
  const folderArgs = [
    'benchmark',
    '--detectors',
    'ganomaly',
    '--data',
    data,
    '--epochs',
    '1',
    '--image-size',
    '16',
    '--hparams',
    'nz=8,ngf=8,ndf=8',
    '--floors',
    'patch-knn',
    '--patch-size',
    '4',
    '--patch-position-aware',
    '--out',
    out,
  ];
  const r = { ...(await runCli(...folderArgs)), args: folderArgs };
  assert.equal(r.code, 0, r.err);
  const t = read(out);
  assert.equal(t.cells.length, 1);
  assert.equal(t.cells[0]!.class, null);
  assert.equal(t.cells[0]!.protocol, 'folder');
  assert.equal(t.cells[0]!.floors['patch-knn']!.auroc, 1, 'a bright line is far from every normal patch at its place');
  assert.deepEqual(t.floorCache[Object.keys(t.floorCache)[0]!]!['patch-knn']!.config, { patchSize: 4, stride: 2, positionAware: true });
  assert.match(fs.readFileSync(path.join(out, 'benchmark.md'), 'utf8'), /\| ganomaly \| folder \| folder \| – \| 0 \|/);

  // Another budget retrains the cell; a --config YAML with the same options then resumes it.
  const two = await runCli(...r.args, '--epochs', '2');
  assert.equal(two.code, 0, two.err);
  assert.match(two.err, /\[1\/1\] ganomaly on folder folder seed 0/);
  const t2 = read(out);
  assert.equal(t2.cells[0]!.budget.epochs, 2);
  assert.notEqual(t2.cells[0]!.finishedAt, t.cells[0]!.finishedAt);
  const cfg = path.join(tmp, 'bench.yaml');
  fs.writeFileSync(
    cfg,
    `detectors: [ganomaly]\ndata: ${JSON.stringify(data)}\nepochs: 2\nimage-size: 16\nfloors: [patch-knn]\npatchSize: 4\npatch-position-aware: true\nhparams:\n  ganomaly: { nz: 8, ngf: 8, ndf: 8 }\n`,
  );
  const three = await runCli('benchmark', '--config', cfg, '--out', out);
  assert.equal(three.code, 0, three.err);
  assert.match(three.err, /1 finished cell\(s\) kept/);
  assert.equal(read(out).cells[0]!.finishedAt, t2.cells[0]!.finishedAt);
});

test('rows name@label: one detector twice with its own --hparams, resumed by row; bad labels named', async () => {
  const data = await lineFolder('rows');
  const out = path.join(tmp, 'rows-out');
  const args = ['benchmark', '--detectors', 'patchcore,patchcore@aware', '--data', data, '--image-size', '16', '--floors', 'knn', '--out', out];
  const r = await runCli(...args, '--hparams', 'patch-size=4,patch-stride=2,patchcore@aware.position-aware=true');
  assert.equal(r.code, 0, r.err);
  const t = read(out);
  assert.deepEqual(
    t.cells.map((c) => [c.detector, c.config.hparams]),
    [
      ['patchcore', { patchSize: 4, patchStride: 2 }],
      ['patchcore@aware', { patchSize: 4, patchStride: 2, positionAware: true }],
    ],
  );
  const md = fs.readFileSync(path.join(out, 'benchmark.md'), 'utf8');
  assert.match(md, /\| patchcore@aware \| rows \| folder \| – \| 0 \| 36 img x 1 ep, 16 px, patchSize=4 patchStride=2 positionAware=true \|/);
  const again = await runCli(...args, '--hparams', 'patch-size=4,patch-stride=2,patchcore@aware.position-aware=true');
  assert.match(again.err, /2 finished cell\(s\) kept/);
  assert.deepEqual(parseHParams('patchcore@x.coreset=0.5', ['patchcore', 'patchcore@x']), { 'patchcore@x': { coreset: 0.5 } });
  const bad = await runCli('benchmark', '--detectors', 'patchcore@a.b', '--data', data, '--out', path.join(tmp, 'rows-bad'));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--detectors patchcore@a\.b: the label after '@' must be letters, digits/);
  const unknown = await runCli('benchmark', '--detectors', 'patchcorr@x', '--data', data, '--out', path.join(tmp, 'rows-bad'));
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /patchcorr/);
});

test('--hparams: detector.key=value, keys shared by several detectors, mistakes named', () => {
  assert.deepEqual(parseHParams('ganomaly.nz=8,ngf=16,ganomaly.extra-layers=1', ['ganomaly']), { ganomaly: { nz: 8, ngf: 16, extraLayers: 1 } });
  assert.throws(() => parseHParams('ganomaly.nzz=8', ['ganomaly']), /ganomaly has no hyperparameter "nzz".*did you mean.*nz/);
  assert.throws(() => parseHParams('ae.nz=8', ['ganomaly']), /"ae" is not in --detectors/);
  assert.throws(() => parseHParams('nz', ['ganomaly']), /is not key=value/);
  // a value holding commas (a list option) stays one value
  assert.deepEqual(parseHParams('gaussian.backbone-layers=layer2,layer3,gaussian.backboneSize=64,ocsvm.nu=0.1', ['gaussian', 'ocsvm']), {
    gaussian: { backboneLayers: 'layer2,layer3', backboneSize: 64 },
    ocsvm: { nu: 0.1 },
  });
  assert.throws(() => parseHParams('ganomaly.nz=8,16', ['ganomaly']), /ganomaly\.nz=8,16: expected a number/);
});

/** Patch kNN by definition, in plain JS. */
function bruteForce(tr: Float32Array[], te: Float32Array[], c: number, h: number, w: number, p: number, s: number, positionAware: boolean): number[] {
  const origins = (n: number) => {
    const o: number[] = [];
    for (let i = 0; i + p <= n; i += s) o.push(i);
    return o;
  };
  const rows = origins(h);
  const cols = origins(w);
  const patch = (img: Float32Array, i: number, j: number) => {
    const v: number[] = [];
    for (let ch = 0; ch < c; ch++) for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) v.push(img[ch * h * w + (i + a) * w + (j + b)]!);
    return v;
  };
  return te.map((img) => {
    let worst = -Infinity;
    for (const i of rows)
      for (const j of cols) {
        const q = patch(img, i, j);
        let best = Infinity;
        for (const t of tr)
          for (const i2 of rows)
            for (const j2 of cols) {
              if (positionAware && (i2 !== i || j2 !== j)) continue;
              const r = patch(t, i2, j2);
              best = Math.min(best, Math.sqrt(q.reduce((acc, v, k) => acc + (v - r[k]!) ** 2, 0)));
            }
        worst = Math.max(worst, best);
      }
    return worst;
  });
}

test('patchKnnScores equals a brute-force implementation (both modes, tiny blocks)', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const [c, h, w] = [2, 7, 6];
  const mk = (n: number) => Array.from({ length: n }, () => Float32Array.from({ length: c * h * w }, rnd));
  const tr = mk(5);
  const te = mk(4);
  te[0] = tr[1]!.slice(); // a training image: every patch has distance 0
  const asTensor = (a: Float32Array[]) => tensor(Float32Array.from(a.flatMap((x) => [...x])), { shape: [a.length, c, h, w] });
  for (const positionAware of [false, true]) {
    for (const blockMillions of [16, 0.00005]) {
      const got = patchKnnScores(asTensor(tr), asTensor(te), { patchSize: 3, stride: 2, positionAware, blockMillions });
      const want = bruteForce(tr, te, c, h, w, 3, 2, positionAware);
      got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) < 5e-3, `${positionAware} ${i}: ${g} vs ${want[i]}`));
    }
  }
  assert.throws(() => patchKnnScores(asTensor(tr), asTensor(te), { patchSize: 8 }), /patchSize: 8 is larger than the images \(7 x 6\)/);
});
