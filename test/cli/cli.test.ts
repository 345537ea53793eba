// The `anogen` command: user mistakes give clear messages and exit code 2 (no stack trace),
// `score` prints JSON/CSV for image files, and a tiny train -> eval run works end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { dispose, liveTensors, manualSeed, randn } from '../../src/core/index.js';
import { Ganomaly, loadBundle, saveBundle } from '../../src/detectors/index.js';
import { preprocessFile } from '../../src/data/index.js';
import { pixelAuroc } from '../../src/eval/metrics.js';
import { imageTransforms } from '../../src/pipeline/data.js';
import { settledLiveTensors } from '../helpers/live.js';
import { runCliIn } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-cli-'));

function anogen(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'anogen.js'), ...args], {
    cwd: tmp,
    encoding: 'utf8',
    env: { ...process.env, ANOGEN_NUM_THREADS: '1', ANOGEN_DEBUG: '' },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
/** Runs the CLI in this process (faster than spawning) in the test's folder, capturing its output. */
const inProcess = (...args: string[]) => runCliIn(tmp, ...args);
const noStack = (s: string) => assert.doesNotMatch(s, /^\s+at .*\(.*:\d+:\d+\)$/m, `no stack trace expected in:\n${s}`);

test('--version and --help', () => {
  const v = anogen('--version');
  assert.equal(v.code, 0);
  assert.match(v.out, /^\d+\.\d+\.\d+\n$/);
  const h = anogen('--help');
  assert.equal(h.code, 0);
  assert.match(h.out, /anogen train <detector>/);
  assert.match(h.out, /ganomaly/);
  const th = anogen('train', '--help');
  assert.match(th.out, /--image-size/);
});

test('unknown options, values, commands and detectors: exit 2, valid values listed, no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['train', 'ganomaly', '--data', 'mnist', '--protocl', 'x'], /unknown option --protocl \(did you mean --protocol\?\); valid options: .*--protocol/],
    [['train', 'ganomaly', '--data', 'mnist', '--protocol', 'one-vs-all'], /"one-vs-all" is not valid; expected 'one-vs-rest', 'leave-one-out' or 'folder'/],
    [['train', 'ganomaly', '--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '11', '--epochs', '1'], /11/],
    [['train', 'ganomaly', '--data', 'mnist', '--epochs', 'two'], /--epochs: "two" is not valid; expected an integer/],
    [['train', 'gan0maly', '--data', 'mnist'], /unknown detector "gan0maly" \(did you mean ganomaly\?\); expected .*'ganomaly'/],
    [['train', 'ganomaly', '--data', path.join(tmp, 'nowhere')], /no such dataset or folder; expected mnist, fashion-mnist/],
    [['frobnicate'], /unknown command "frobnicate"; expected one of train, eval, score/],
    [['score', path.join(tmp, 'no-bundle'), 'x.png'], /no such file or folder|no such folder/],
  ];
  const spawned = anogen(...cases[0][0]);
  assert.equal(spawned.code, 2);
  assert.match(spawned.err, cases[0][1]);
  noStack(spawned.err);
  for (const [args, re] of cases) {
    const r = await inProcess(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^anogen: error: /);
    assert.match(r.err, re);
    noStack(r.err);
  }
});

test('--config files: values are used, unknown keys are rejected with the valid ones', async () => {
  const bad = path.join(tmp, 'bad.yaml');
  fs.writeFileSync(bad, 'data: mnist\nprotocol: one-vs-rest\nnormal: 1\nepoch: 3\n');
  const r = await inProcess('train', 'ganomaly', '--config', bad);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown key "epoch" \(did you mean epochs\?\); valid keys: .*epochs/);
  const badv = path.join(tmp, 'badv.json');
  fs.writeFileSync(badv, JSON.stringify({ data: 'mnist', protocol: 'leave-some-out' }));
  const r2 = await inProcess('train', 'ganomaly', '--config', badv);
  assert.equal(r2.code, 2);
  assert.match(r2.err, /protocol: "leave-some-out" is not valid; expected 'one-vs-rest'/);
});

test('score prints JSON and CSV for image files; a corrupt bundle is a clear error', async () => {
  manualSeed(0);
  const d = new Ganomaly({ isize: 16, nz: 8, ngf: 8, ndf: 8 });
  await d.fit({ images: randn([32, 1, 16, 16]).tanh() }, { val: { images: randn([16, 1, 16, 16]).tanh() }, epochs: 1, batchSize: 16 });
  const bundle = path.join(tmp, 'bundle');
  saveBundle(bundle, d, { transforms: imageTransforms({ size: 16, channels: 1 }) });
  const img = path.join(tmp, 'digit.png');
  const px = Buffer.alloc(28 * 28);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 256;
  await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(img);
  const rgb = path.join(tmp, 'rgb.png');
  await sharp(Buffer.alloc(20 * 20 * 3, 200), { raw: { width: 20, height: 20, channels: 3 } })
    .png()
    .toFile(rgb);
  const j = anogen('score', bundle, img, rgb, '--json');
  assert.equal(j.code, 0, j.err);
  const out = JSON.parse(j.out) as { threshold: number; images: { file: string; score: number; normalized: number; anomalous: boolean }[] };
  const rows = out.images;
  assert.equal(typeof rows[0].anomalous, 'boolean');
  assert.equal(rows[0].anomalous, rows[0].normalized > out.threshold);
  assert.equal(rows.length, 2);
  assert.equal(rows[0].file, img);
  assert.ok(Number.isFinite(rows[0].score) && rows[0].score >= 0);
  const c = await inProcess('score', bundle, img, '--csv');
  assert.equal(c.code, 0, c.err);
  const lines = c.out.trim().split('\n');
  assert.equal(lines[0], 'file,score,normalized,anomalous');
  assert.equal(lines.length, 2);
  assert.equal(Number(lines[1].split(',')[1]), rows[0].score);
  // The library on the loaded bundle gives the very same numbers as the CLI (spawned, JSON).
  const lib = loadBundle(bundle);
  for (const [k, f] of [img, rgb].entries()) {
    const x = await preprocessFile(f, lib.transforms!);
    assert.deepEqual(x.shape, [1, 1, 16, 16]);
    const s = lib.detector.score(x, { maps: false }).scores[0];
    assert.equal(s, rows[k].score, `${f}: library ${s} vs CLI ${rows[k].score}`);
    assert.equal(lib.detector.normalize([s])[0], rows[k].normalized);
    x.dispose();
  }
  lib.detector.dispose();
  // garbage image: exit 2 without --skip-bad; skipped and counted with it
  fs.writeFileSync(path.join(tmp, 'bad.png'), 'not a png');
  const bi = await inProcess('score', bundle, path.join(tmp, 'bad.png'));
  assert.equal(bi.code, 2);
  assert.match(bi.err, /bad\.png: cannot decode image/);
  noStack(bi.err);
  const sb = await inProcess('score', bundle, img, path.join(tmp, 'bad.png'), '--skip-bad', '--json');
  assert.equal(sb.code, 0, sb.err);
  assert.equal((JSON.parse(sb.out) as { images: unknown[] }).images.length, 1);
  assert.match(sb.err, /skipped 1 image\(s\) that failed to decode: .*bad\.png/);
  // missing image file, a non-image file
  const mi = await inProcess('score', bundle, path.join(tmp, 'missing.png'));
  assert.equal(mi.code, 2);
  assert.match(mi.err, /missing\.png: no such file or folder/);
  fs.writeFileSync(path.join(tmp, 'notes.txt'), 'x');
  const nt = await inProcess('score', bundle, path.join(tmp, 'notes.txt'));
  assert.equal(nt.code, 2);
  assert.match(nt.err, /notes\.txt: not an image file; expected \.png/);
  // corrupt config.json: bad JSON, an unknown transform, a pre-transform-chain bundle
  const cfgFile = path.join(bundle, 'config.json');
  const good = fs.readFileSync(cfgFile, 'utf8');
  const corrupt: [string, RegExp][] = [
    ['{"format": "anogen-bundle", ', /config\.json: not valid JSON/],
    [good.replace('"grayscale"', '"greyscale"'), /config\.json: transforms\[0\]: unknown transform type "greyscale"; expected .*'grayscale'/],
    [JSON.stringify({ ...JSON.parse(good), transforms: undefined, transform: { size: 16, channels: 1, range: [-1, 1] } }), /written by an earlier anogen .* re-train/],
  ];
  for (const [text, re] of corrupt) {
    fs.writeFileSync(cfgFile, text);
    const r = await inProcess('score', bundle, img);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, re);
    noStack(r.err);
  }
  fs.writeFileSync(cfgFile, good);
  // a bundle saved without transforms scores tensors but not files
  const bare = path.join(tmp, 'bare');
  saveBundle(bare, d);
  const br = await inProcess('score', bare, img);
  assert.equal(br.code, 2);
  assert.match(br.err, /no "transforms" \(preprocessing chain\), so it cannot score image files/);
  const w = path.join(bundle, 'model.safetensors');
  fs.writeFileSync(w, fs.readFileSync(w).subarray(0, 64));
  const cb = await inProcess('score', bundle, img);
  assert.equal(cb.code, 2);
  assert.match(cb.err, /model\.safetensors: the weights file is corrupt/);
  noStack(cb.err);
  d.dispose();
});

test('a tiny train -> eval run on MNIST writes a bundle and results.json', async () => {
  const out = path.join(tmp, 'run');
  const t = anogen(
    'train',
    'ganomaly',
    '--data',
    'mnist',
    '--protocol',
    'one-vs-rest',
    '--normal',
    '1',
    '--train-limit',
    '64',
    '--val-limit',
    '32',
    '--epochs',
    '1',
    '--batch-size',
    '32',
    '--image-size',
    '16',
    '--nz',
    '8',
    '--ngf',
    '8',
    '--ndf',
    '8',
    '--out',
    out,
  );
  assert.equal(t.code, 0, t.err);
  assert.ok(fs.existsSync(path.join(out, 'model.safetensors')));
  assert.ok(!fs.existsSync(path.join(out, 'checkpoint')), 'checkpoint removed after a successful run');
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.protocol.protocol, 'one-vs-rest');
  assert.equal(cfg.protocol.normalClass, '1');
  assert.deepEqual(cfg.transforms, [{ type: 'grayscale' }, { type: 'resize', size: 16 }, { type: 'scale', range: [-1, 1] }]);
  assert.equal(cfg.protocol.seed, 0);
  assert.equal(cfg.protocol.valFraction, 0.1);
  assert.equal(cfg.protocol.counts.train + cfg.protocol.counts.validation, 6742, 'MNIST has 6742 training 1s');
  assert.equal(cfg.calibration.threshold.kind, 'percentile');
  const e = await inProcess('eval', out, '--test-limit', '200', '--no-report');
  assert.equal(e.code, 0, e.err);
  assert.match(e.out, /AUROC 0\.\d{4}/);
  const res = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
  assert.equal(res.testImages, 200);
  assert.ok(res.metrics.auroc >= 0 && res.metrics.auroc <= 1);
  assert.ok(res.floors.pca.auroc > 0.5, 'the PCA floor separates digit 1 from the rest');
});

/** A tiny image folder in the MVTec layout (16x16 gray PNGs: normals are gradients, defects carry a bright square) plus a labelled validation folder. */
async function makeFolder(root: string): Promise<void> {
  const png = async (file: string, seed: number, defect: boolean, maskFile?: string) => {
    const px = Buffer.alloc(16 * 16);
    const mask = Buffer.alloc(16 * 16);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) px[y * 16 + x] = (x * 8 + y * 4 + ((seed * 37 + x * y) % 13)) % 256;
    if (defect) for (let y = 4 + (seed % 6); y < 10 + (seed % 6); y++) for (let x = 5; x < 11; x++) px[y * 16 + x] = mask[y * 16 + x] = 255;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await sharp(px, { raw: { width: 16, height: 16, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(file);
    if (maskFile) {
      fs.mkdirSync(path.dirname(maskFile), { recursive: true });
      await sharp(mask, { raw: { width: 16, height: 16, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toFile(maskFile);
    }
  };
  for (let i = 0; i < 24; i++) await png(path.join(root, 'data', 'train', 'good', `${i}.png`), i, false);
  for (let i = 0; i < 6; i++) await png(path.join(root, 'data', 'test', 'good', `${i}.png`), 100 + i, false);
  for (let i = 0; i < 7; i++) await png(path.join(root, 'data', 'test', 'crack', `${i}.png`), 200 + i, true, path.join(root, 'data', 'ground_truth', 'crack', `${i}_mask.png`));
  for (let i = 0; i < 4; i++) await png(path.join(root, 'val', 'good', `${i}.png`), 300 + i, false);
  for (let i = 0; i < 4; i++) await png(path.join(root, 'val', 'crack', `${i}.png`), 400 + i, true);
}

test('image folder: train with a labelled --val-dir (f1-max), eval streams in batches, undecodable images are errors or skipped', async () => {
  const root = path.join(tmp, 'folder');
  await makeFolder(root);
  const data = path.join(root, 'data');
  const info = await inProcess('data', 'info', data, '--json');
  assert.equal(info.code, 0, info.err);
  const j = JSON.parse(info.out);
  assert.equal(j.sources.test.classes.crack, 7);
  assert.deepEqual(j.sizes, [{ width: 16, height: 16, channels: 1, bits: 8, count: 37 }]);
  const infoBad = await inProcess('data', 'info', data, '--jsn');
  assert.equal(infoBad.code, 2);
  assert.match(infoBad.err, /unknown option --jsn \(did you mean --json\?\); valid options: --json, --include-uncertain/);

  const noVal = await inProcess('train', 'ganomaly', '--data', data, '--threshold', 'f1-max');
  assert.equal(noVal.code, 2);
  assert.match(noVal.err, /--threshold f1-max needs a labelled validation set: give --val-dir/);
  const out = path.join(tmp, 'run-folder');
  const t = await inProcess(
    'train',
    'ganomaly',
    '--data',
    data,
    '--val-dir',
    path.join(root, 'val'),
    '--threshold',
    'f1-max',
    '--epochs',
    '1',
    '--batch-size',
    '8',
    '--image-size',
    '16',
    '--nz',
    '8',
    '--ngf',
    '8',
    '--ndf',
    '8',
    '--out',
    out,
    '--quiet',
  );
  assert.equal(t.code, 0, t.err);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.protocol.protocol, 'folder');
  assert.equal(cfg.protocol.userValidation, true);
  assert.deepEqual(cfg.protocol.counts, { train: 24, validation: 8, test: 13, testAnomalous: 7 });
  assert.equal(cfg.calibration.threshold.kind, 'f1-max');
  assert.deepEqual(cfg.calibration.threshold.fittedOn, { n: 8, nAnomalous: 4 });
  assert.equal(cfg.training.trainImages, 24);

  // batches of 5: the test split is scored in three batches; results match one big batch
  const live0 = settledLiveTensors();
  const e5 = await inProcess('eval', out, '--batch-size', '5', '--json', path.join(tmp, 'r5.json'), '--report', path.join(tmp, 'r5.html'));
  assert.equal(e5.code, 0, e5.err);
  const e64 = await inProcess('eval', out, '--batch-size', '64', '--json', path.join(tmp, 'r64.json'), '--no-report');
  assert.equal(e64.code, 0, e64.err);
  assert.ok(liveTensors() <= live0, 'eval holds no tensor after it returns (batches, kept top images, features, floors)');
  const [r5, r64] = ['r5.json', 'r64.json'].map((f) => JSON.parse(fs.readFileSync(path.join(tmp, f), 'utf8')));
  assert.equal(r5.testImages, 13);
  assert.equal(r5.testAnomalous, 7);
  assert.ok(Math.abs(r5.metrics.auroc - r64.metrics.auroc) < 1e-9);
  assert.ok(Math.abs(r5.floors.knn.auroc - r64.floors.knn.auroc) < 1e-9);
  assert.equal(r5.floors.knn.auroc, 1, 'kNN on pixels separates the bright squares');
  // pixel AUROC of the maps against the ground-truth masks (all 13 x 16 x 16 pixels here),
  // the same for every batch size and equal to the library's pixelAuroc on the same maps
  assert.deepEqual([r5.pixel.pixels, r5.pixel.stride], [13 * 256, 1]);
  assert.ok(Math.abs(r5.pixel.auroc - r64.pixel.auroc) < 1e-9);
  const b = loadBundle(out);
  const files = [...fs.readdirSync(path.join(data, 'test', 'good')).map((f) => ['good', f]), ...fs.readdirSync(path.join(data, 'test', 'crack')).map((f) => ['crack', f])];
  const maps: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  for (const [c, f] of files) {
    const x = await preprocessFile(path.join(data, 'test', c, f), b.transforms!);
    const m = b.detector.score(x, { maps: true }).maps!;
    maps.push(m.toFloat32Array());
    const mf = path.join(data, 'ground_truth', 'crack', f.replace('.png', '_mask.png'));
    masks.push(c === 'crack' ? Uint8Array.from(await sharp(mf).extractChannel(0).raw().toBuffer(), (v) => (v > 127 ? 1 : 0)) : new Uint8Array(256));
    dispose([x, m]);
  }
  b.detector.dispose();
  assert.ok(Math.abs(pixelAuroc(maps, masks) - r5.pixel.auroc) < 1e-6, `pixel AUROC ${r5.pixel.auroc} vs library ${pixelAuroc(maps, masks)}`);
  const html = fs.readFileSync(path.join(tmp, 'r5.html'), 'utf8');
  assert.match(html, /Most anomalous test images \(13 of 13/);

  // an undecodable test image: exit 2 naming it; --skip-bad leaves it out and counts it
  fs.writeFileSync(path.join(data, 'test', 'crack', 'zz-broken.png'), 'not a png');
  const eb = await inProcess('eval', out, '--no-report');
  assert.equal(eb.code, 2);
  assert.match(eb.err, /zz-broken\.png: cannot decode image/);
  noStack(eb.err);
  const es = await inProcess('eval', out, '--no-report', '--skip-bad', '--json', path.join(tmp, 'rs.json'));
  assert.equal(es.code, 0, es.err);
  assert.match(es.err, /skipped 1 test image\(s\)/);
  const rs = JSON.parse(fs.readFileSync(path.join(tmp, 'rs.json'), 'utf8'));
  assert.equal(rs.testImages, 13);
  assert.equal(rs.skippedImages, 1);
  fs.rmSync(path.join(data, 'test', 'crack', 'zz-broken.png'));
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
