// `anogen calibrate` refits normalisation and Φ on validation data only and rewrites the bundle
// with nothing else changed; `anogen eval --threshold fixed:<v>` applies Φ for one run (fitting
// strategies are refused); eval shows its progress on stderr unless --quiet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { manualSeed, randn, dispose } from '../../src/core/index.js';
import { loadBundle, readBundleFile } from '../../src/detectors/index.js';
import { parseTrain } from '../../src/cli/commands/train.js';
import { findCheckpoint, InterruptedError, train } from '../../src/pipeline/train.js';
import { TRAIN_STATE_JSON, TRAIN_STATE_TENSORS } from '../../src/train/state.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-calibrate-'));
const src = path.join(path.resolve(import.meta.dirname, '..', '..'), 'src') + path.sep;
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI in this process (in `tmp`), capturing stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../../src/cli/main.js');
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  // Only what anogen's code writes is captured: node:test's reporter writes its results to
  // the same stdout meanwhile (from its own stack), and those must still reach the runner.
  const ours = () => (new Error().stack ?? '').includes(src);
  process.stdout.write = ((c: string, ...rest: unknown[]) => (ours() ? ((out += c), true) : (o as (...a: unknown[]) => boolean)(c, ...rest))) as typeof process.stdout.write;
  process.stderr.write = ((c: string, ...rest: unknown[]) => (ours() ? ((err += c), true) : (e as (...a: unknown[]) => boolean)(c, ...rest))) as typeof process.stderr.write;
  const cwd = process.cwd();
  process.chdir(tmp);
  try {
    return { code: await main(args), out, err };
  } finally {
    process.chdir(cwd);
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

const TINY = ['--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '1', '--train-limit', '64', '--val-limit', '32', '--epochs', '1', '--batch-size', '32'];
const NET = ['--image-size', '16', '--nz', '8', '--ngf', '8', '--ndf', '8'];
const config = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Raw scores of fixed random images under the bundle in `dir`. */
function rawScores(dir: string): number[] {
  manualSeed(123);
  const x = randn([6, 1, 16, 16]).tanh();
  const b = loadBundle(dir);
  try {
    return Array.from(b.detector.score(x, { maps: false }).scores);
  } finally {
    dispose([x]);
    b.detector.dispose();
  }
}

test('calibrate refits Φ on the validation split as asked and changes nothing else', async () => {
  const out = path.join(tmp, 'g1');
  const t = await cli('train', 'ganomaly', ...TINY, ...NET, '--out', out, '--quiet');
  assert.equal(t.code, 0, t.err);
  const trained = config(out);
  const weights = sha(path.join(out, 'model.safetensors'));
  const history = fs.readFileSync(path.join(out, 'history.json'));
  const scores = rawScores(out);

  // percentile:95 (the training default) on the rebuilt validation split gives the very same calibration.
  const c95 = await cli('calibrate', out, '--threshold', 'percentile:95');
  assert.equal(c95.code, 0, c95.err);
  assert.match(c95.out, /^Φ = \d\.\d+ \(95th percentile of 32 validation normals, minmax-normalised\)/);
  assert.match(c95.err, /fitting minmax normalisation and Φ \(percentile:95\) on 32 validation normals of mnist one-vs-rest/);
  assert.deepEqual(config(out).calibration, trained.calibration, 'the validation split is rebuilt exactly as training carved it');

  const c99 = await cli('calibrate', out, '--threshold', 'percentile:99');
  assert.equal(c99.code, 0, c99.err);
  const k99 = config(out);
  assert.equal(k99.calibration.threshold.kind, 'percentile');
  assert.equal(k99.calibration.threshold.params.q, 99);
  assert.deepEqual(k99.calibration.threshold.fittedOn, { n: 32, nAnomalous: 0 });
  assert.ok(k99.calibration.threshold.value >= trained.calibration.threshold.value, `Φ99 ${k99.calibration.threshold.value} >= Φ95 ${trained.calibration.threshold.value}`);
  assert.match(c99.out, /99th percentile of 32 validation normals/);

  const fx = await cli('calibrate', out, '--threshold', 'fixed:0.7', '--quiet');
  assert.equal(fx.code, 0, fx.err);
  assert.equal(fx.err, '', '--quiet: nothing on stderr');
  assert.match(fx.out, /^Φ = 0\.7000 \(fixed by the user, minmax-normalised\)/);
  const kf = config(out);
  assert.equal(kf.calibration.threshold.value, 0.7);
  assert.equal(kf.calibration.threshold.kind, 'fixed');
  assert.deepEqual(kf.calibration.normalization, k99.calibration.normalization, 'a fixed Φ keeps the stored normalisation');

  // Only the calibration changed: weights, transforms, protocol, training record, history.json.
  for (const k of ['detector', 'hparams', 'transforms', 'protocol', 'training', 'files']) assert.deepEqual(kf[k], trained[k], k);
  assert.equal(sha(path.join(out, 'model.safetensors')), weights);
  assert.deepEqual(fs.readFileSync(path.join(out, 'history.json')), history);
  assert.deepEqual(rawScores(out), scores, 'the bundle loads and scores identically');
  const b = loadBundle(out);
  assert.equal(b.detector.threshold, 0.7);
  b.detector.dispose();

  // Another normalisation with a fixed Φ is refitted on the validation normals.
  const z = await cli('calibrate', out, '--threshold', 'fixed:1.5', '--normalization', 'zscore', '--quiet');
  assert.equal(z.code, 0, z.err);
  assert.equal(config(out).calibration.normalization.kind, 'zscore');
  assert.equal(config(out).calibration.threshold.value, 1.5);

  // Mistakes: exit 2 with what is valid, the bundle untouched.
  const before = fs.readFileSync(path.join(out, 'config.json'), 'utf8');
  const cases: [string[], RegExp][] = [
    [['calibrate', out, '--threshold', 'f1-max'], /--threshold f1-max needs a labelled validation set: give --val-dir <folder>/],
    [['calibrate', out], /--threshold is required: 'percentile\[:q\]'/],
    [['calibrate', out, '--threshold', 'median'], /kind "median" is not valid; expected 'percentile', 'f1-max' or 'fixed'/],
    [['calibrate', out, '--threshold', 'percentile:101'], /percentile q is 101; expected a number in \[0, 100\]/],
    [['calibrate', out, '--threshold', 'fixed:0.5', '--normalization', 'l2'], /--normalization: "l2" is not valid; expected 'none', 'minmax' or 'zscore'/],
    [['calibrate', path.join(tmp, 'nowhere'), '--threshold', 'fixed:0.5'], /no such folder/],
    [['calibrate', out, '--threshold', 'percentile:99', '--data', path.join(tmp, 'nowhere')], /no such dataset or folder/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^anogen: error: /);
    assert.match(r.err, re);
  }
  assert.equal(fs.readFileSync(path.join(out, 'config.json'), 'utf8'), before);
  assert.ok(!fs.existsSync(path.join(tmp, 'nowhere')), 'a missing bundle folder is not created');
  assert.match((await cli('help', 'calibrate')).out, /--threshold <text> .*percentile/);

  // f1-max with a labelled --val-dir (good/ + one folder per anomaly type).
  const val = path.join(tmp, 'val');
  for (const [cls, n, v] of [
    ['good', 5, 0],
    ['blob', 4, 255],
  ] as const) {
    fs.mkdirSync(path.join(val, cls), { recursive: true });
    for (let i = 0; i < n; i++) {
      const px = Buffer.alloc(28 * 28, 0);
      for (let j = 0; j < px.length; j++) px[j] = v > 0 ? (j * 7 + i * 31) % 256 : j % 28 === 14 ? 255 : 0;
      await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(path.join(val, cls, `${i}.png`));
    }
  }
  const f1 = await cli('calibrate', out, '--threshold', 'f1-max', '--val-dir', val);
  assert.equal(f1.code, 0, f1.err);
  const kf1 = config(out).calibration;
  assert.equal(kf1.threshold.kind, 'f1-max');
  assert.deepEqual(kf1.threshold.fittedOn, { n: 9, nAnomalous: 4 });
  assert.match(f1.out, /best F1 \(\d\.\d{3}\) on 9 labelled validation images \(4 anomalous\)/);
  assert.deepEqual(rawScores(out), scores);
});

test('eval --threshold fixed:<v> applies Φ for one run; fitting strategies point to calibrate; progress on stderr', async () => {
  const out = path.join(tmp, 'g1');
  if (!fs.existsSync(path.join(out, 'config.json'))) {
    const t = await cli('train', 'ganomaly', ...TINY, ...NET, '--out', out, '--quiet');
    assert.equal(t.code, 0, t.err);
  }
  const stored = config(out).calibration.threshold.value;
  const e = await cli('eval', out, '--threshold', 'fixed:0.25', '--test-limit', '100', '--batch-size', '25', '--no-floors', '--no-report', '--json', 'r.json', '--csv', 's.csv');
  assert.equal(e.code, 0, e.err);
  const res = JSON.parse(fs.readFileSync(path.join(tmp, 'r.json'), 'utf8'));
  assert.equal(res.threshold, 0.25);
  const rows = fs.readFileSync(path.join(tmp, 's.csv'), 'utf8').trim().split('\n').slice(1);
  assert.equal(rows.length, 100);
  for (const r of rows) {
    const c = r.split(',');
    assert.equal(c[4], Number(c[3]) > 0.25 ? '1' : '0');
  }
  assert.equal(config(out).calibration.threshold.value, stored, 'eval changes nothing in the bundle');
  assert.deepEqual(
    e.err.split('\n').filter((l) => l.startsWith('scored ')),
    ['scored 25/100 test images (25%)', 'scored 50/100 test images (50%)', 'scored 75/100 test images (75%)', 'scored 100/100 test images (100%)'],
  );
  const q = await cli('eval', out, '--threshold', 'fixed:0.25', '--test-limit', '100', '--no-floors', '--no-report', '--json', 'r.json', '--csv', 's.csv', '--quiet');
  assert.equal(q.code, 0, q.err);
  assert.equal(q.err, '', '--quiet: no progress');
  for (const spec of ['percentile:99', 'f1-max']) {
    const r = await cli('eval', out, '--threshold', spec, '--no-report');
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, new RegExp(`anogen eval takes a fixed Φ only .*anogen calibrate ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --threshold ${spec}`));
  }
});

test('calibrating a Ctrl-C checkpoint keeps it resumable', async () => {
  const out = path.join(tmp, 'ck');
  const { request } = parseTrain(['ganomaly', ...TINY, ...NET, '--out', out]);
  let calls = 0;
  await assert.rejects(train(request, { shouldStop: () => ++calls > 1 }), (e: unknown) => e instanceof InterruptedError);
  const ck = path.join(out, 'checkpoint');
  const state = [TRAIN_STATE_JSON, TRAIN_STATE_TENSORS].map((n) => readBundleFile(ck, n));
  assert.ok(state[0] !== null && state[1] !== null);
  const only = await cli('calibrate', out, '--threshold', 'percentile:99');
  assert.equal(only.code, 2);
  assert.match(only.err, /only the checkpoint of an interrupted run; calibrate .*checkpoint, or finish the run with anogen train --resume/);
  const c = await cli('calibrate', ck, '--threshold', 'fixed:0.6', '--normalization', 'zscore');
  assert.equal(c.code, 0, c.err);
  assert.equal(config(ck).calibration.threshold.value, 0.6);
  assert.equal(config(ck).calibration.normalization.kind, 'zscore');
  assert.deepEqual(
    [TRAIN_STATE_JSON, TRAIN_STATE_TENSORS].map((n) => readBundleFile(ck, n)),
    state,
    'the training state is kept',
  );
  assert.equal(findCheckpoint(out), ck);
  const r = await cli('train', '--resume', out, '--quiet');
  assert.equal(r.code, 0, r.err);
  assert.ok(fs.existsSync(path.join(out, 'model.safetensors')) && !fs.existsSync(ck), 'the resumed run finished');
});
