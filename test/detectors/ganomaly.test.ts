import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, liveTensors, manualSeed, noGrad, randn, tidy, type Tensor } from '../../src/core/index.js';
import { Ganomaly, GanomalyNetworks, loadBundle, saveBundle } from '../../src/detectors/index.js';
import { recalibrateBatchNorm } from '../../src/nn/batchnorm.js';
import { settledLiveTensors } from '../helpers/live.js';
import { DivergenceError } from '../../src/train/loop.js';

const TINY = { isize: 16, nz: 8, ngf: 8, ndf: 8 };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-ganomaly-'));

/** Random images in [-1, 1] standing in for normals. */
function normals(n: number, seed: number): Tensor {
  manualSeed(seed);
  return tidy(() => randn([n, 1, 16, 16]).mul(0.3).tanh());
}

test('training and scoring leak no tensors: the live count is flat across steps and fits', async () => {
  const x = normals(48, 9);
  const d = new Ganomaly(TINY);
  await d.fit({ images: x }, { epochs: 1, batchSize: 16, seed: 1 }); // warm-up: lazily created state
  const counts: number[] = [];
  const before = settledLiveTensors();
  await d.fit({ images: x }, { epochs: 2, batchSize: 16, seed: 1, onProgress: () => counts.push(liveTensors()) });
  assert.equal(counts.length, 6);
  // Garbage from before (undisposed wrappers) may be finalised by the GC at any time, which only
  // lowers the count; a per-step leak would raise it.
  assert.ok(
    counts.every((c) => c <= counts[0]!),
    `live tensors per step: ${counts.join(', ')}`,
  );
  assert.ok(liveTensors() <= before, `a second fit leaves no more live tensors than the first (${before} -> ${liveTensors()})`);
  const mid = settledLiveTensors();
  d.score(x, { maps: false });
  d.score(x, { maps: false });
  assert.ok(liveTensors() <= mid, 'score(maps: false) leaves nothing behind');
  d.dispose();
  x.dispose();
});

test('recalibrateBatchNorm: running stats = mean of per-batch statistics for the current weights; nothing else changes', () => {
  const nets = new GanomalyNetworks({ isize: 16, nc: 1, nz: 8, ngf: 8, ndf: 8, extraLayers: 0 });
  const x = normals(40, 11);
  const enc = nets.netg.encoder1.main;
  const bn = enc.at(3) as unknown as { runningMean: Tensor; runningVar: Tensor; numBatchesTracked: Tensor };
  assert.equal(enc.stateDictKeys()[2], 'pyramid-16-batchnorm.weight');
  noGrad(() => bn.numBatchesTracked.fill_(7));
  const w0 = Array.from(enc.at(0)!.param('weight').toFloat32Array());
  nets.eval();
  recalibrateBatchNorm(nets.netg, x, 16); // batches of 16, 16, 8
  // the first batch norm's input depends on no other batch norm: compute its statistics directly
  const expected = noGrad(() =>
    tidy(() => {
      const means: Tensor[] = [];
      const vars: Tensor[] = [];
      for (const [i, k] of [
        [0, 16],
        [16, 16],
        [32, 8],
      ]) {
        const h = enc.at(2)!.call(enc.at(1)!.call(enc.at(0)!.call(x.narrow(0, i!, k!)))) as Tensor;
        means.push(h.mean([0, 2, 3]));
        vars.push(h.var([0, 2, 3], { unbiased: true }));
      }
      return [means[0]!.add(means[1]!).add(means[2]!).div(3).toFloat32Array(), vars[0]!.add(vars[1]!).add(vars[2]!).div(3).toFloat32Array()];
    }),
  );
  const close = (a: Float32Array, e: Float32Array, what: string) =>
    e.forEach((v, i) => assert.ok(Math.abs(a[i]! - v) <= 1e-5 * Math.max(1, Math.abs(v)), `${what}[${i}]: ${a[i]} vs ${v}`));
  close(bn.runningMean.toFloat32Array(), expected[0]!, 'running mean');
  close(bn.runningVar.toFloat32Array(), expected[1]!, 'running var');
  assert.equal(bn.numBatchesTracked.item(), 7, 'num_batches_tracked kept');
  assert.deepEqual(Array.from(enc.at(0)!.param('weight').toFloat32Array()), w0, 'weights untouched');
  assert.equal(nets.netg.training, false, 'eval mode restored');
  nets.dispose();
  x.dispose();
});

test('bad hyperparameters are AnogenErrors naming the option', () => {
  assert.throws(
    () => new Ganomaly({ isize: 30 }),
    (e: Error) => e instanceof AnogenError && /isize: 30 .*power of two >= 16/.test(e.message),
  );
  assert.throws(
    () => new Ganomaly({ isize: 48 }),
    (e: Error) => e instanceof AnogenError && /isize: 48 /.test(e.message),
  );
  assert.throws(
    () => new Ganomaly({ ngf: 0 }),
    (e: Error) => e instanceof AnogenError && /ngf: 0 .*a number >= 2/.test(e.message),
  );
  assert.throws(
    () => new Ganomaly({ bnRecalibration: 2 } as never),
    (e: Error) => e instanceof AnogenError && /bnRecalibration: 2 .*true or false/.test(e.message),
  );
  assert.throws(() => new Ganomaly({ bnRecalibration: 0 } as never), /bnRecalibration: 0 .*true or false/);
  assert.equal(new Ganomaly({ bnRecalibration: false }).hparams.bnRecalibration, false);
  assert.throws(
    () => new Ganomaly({ bogus: 1 } as never),
    (e: Error) => e instanceof AnogenError && /unknown option "bogus".*nz/.test(e.message),
  );
});

test('a tiny GANomaly fits, scores, calibrates on validation only, and predicts', async () => {
  const x = normals(64, 1);
  const val = normals(24, 2);
  const d = new Ganomaly(TINY);
  const events: number[] = [];
  const r = await d.fit({ images: x }, { val: { images: val }, epochs: 2, batchSize: 16, seed: 3, onProgress: (e) => events.push(e.step) });
  assert.equal(r.steps, 8);
  assert.equal(r.history.length, 8);
  assert.deepEqual(events, [1, 2, 3, 4, 1, 2, 3, 4]);
  for (const h of r.history) for (const v of Object.values(h)) assert.ok(Number.isFinite(v));
  const s = d.score(val);
  assert.equal(s.scores.length, 24);
  assert.ok(s.scores.every((v) => Number.isFinite(v) && v >= 0));
  assert.deepEqual(s.maps!.shape, [24, 1, 16, 16]);
  // normalisation = min-max of the VALIDATION scores, threshold = 95th percentile of them
  const cal = d.calibration!;
  assert.equal(cal.normalization.kind, 'minmax');
  const p = cal.normalization.params as { min: number; max: number };
  assert.ok(Math.abs(p.min - Math.min(...s.scores)) < 1e-9 * Math.max(1, Math.abs(p.min)) + 1e-12);
  assert.ok(Math.abs(p.max - Math.max(...s.scores)) < 1e-9 * Math.max(1, Math.abs(p.max)) + 1e-12);
  assert.equal(cal.threshold.kind, 'percentile');
  const normed = d.normalize(s.scores);
  const flagged = d.predict(val).reduce((a, b) => a + b, 0);
  assert.equal(flagged, normed.filter((v) => v > cal.threshold.value).length);
  assert.ok(flagged <= 2, `about 5% of validation normals flagged, got ${flagged}/24`);
  // the same seed gives the same model
  const d2 = new Ganomaly(TINY);
  await d2.fit({ images: x }, { epochs: 2, batchSize: 16, seed: 3 });
  assert.equal(d2.calibration, null, 'no val set -> no calibration');
  assert.deepEqual(Array.from(d2.score(val, { maps: false }).scores), Array.from(s.scores));
  assert.throws(() => d2.predict(val), /no calibration/);
  // another input size is refused (it usually means the wrong preprocessing), unless asked to resize
  assert.throws(() => d.score(normals(2, 4).repeat(1, 1, 2, 2)), /expected 16 x 16 images, got 32 x 32/);
  const big = d.score(normals(2, 4).repeat(1, 1, 2, 2), { resize: true });
  assert.deepEqual(big.maps!.shape, [2, 1, 32, 32]);
  d.dispose();
  d2.dispose();
});

test('bundle round trip gives identical scores for one image and for a batch', async () => {
  const d = new Ganomaly(TINY);
  const val = normals(16, 6);
  await d.fit({ images: normals(32, 5) }, { val: { images: val }, epochs: 1, batchSize: 16 });
  const dir = tmp();
  saveBundle(dir, d);
  const { detector, config } = loadBundle(dir);
  assert.equal(config.detector, 'ganomaly');
  assert.deepEqual(detector.calibration, d.calibration);
  const batch = normals(20, 7);
  const a = d.score(batch).scores;
  const b = detector.score(batch).scores;
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6 * Math.max(1, Math.abs(a[i])), `image ${i}: ${a[i]} vs ${b[i]}`);
  const one = batch.narrow(0, 3, 1);
  const s1 = detector.score(one).scores;
  assert.equal(s1.length, 1);
  assert.ok(Math.abs(s1[0] - a[3]) <= 1e-6 * Math.max(1, Math.abs(a[3])));
  assert.deepEqual(Array.from(detector.predict(batch)), Array.from(d.predict(batch)));
  fs.rmSync(dir, { recursive: true });
});

test('a NaN loss stops training naming epoch and step; the last good checkpoint is kept', async () => {
  const d = new Ganomaly(TINY);
  const dir = tmp();
  const firstWeight = d.stateDict().get('netg.encoder1.main.initial-conv-1-8.weight')!;
  await assert.rejects(
    d.fit(
      { images: normals(32, 8) },
      {
        epochs: 3,
        batchSize: 16,
        onCheckpoint: (st) => void saveBundle(path.join(dir, 'checkpoint'), d, { training: { epoch: st.epoch } }, { replace: true }),
        onProgress: (e) => {
          if (e.epoch === 2 && e.step === 1) noGrad(() => firstWeight.fill_(NaN));
        },
      },
    ),
    (e: Error) => e instanceof DivergenceError && /epoch 2, step 2/.test(e.message) && /last good checkpoint is kept/.test(e.message) && e.epoch === 2 && e.step === 2,
  );
  const { detector, config } = loadBundle(path.join(dir, 'checkpoint'));
  assert.deepEqual((config.training as { epoch: number }).epoch, 1);
  const w = detector.stateDict().get('netg.encoder1.main.initial-conv-1-8.weight')!;
  assert.ok(w.isfinite().all().item());
  fs.rmSync(dir, { recursive: true });
});

test('corrupt or mismatched bundles are AnogenErrors naming the file', async () => {
  const d = new Ganomaly(TINY);
  const dir = tmp();
  saveBundle(dir, d);
  const w = path.join(dir, 'model.safetensors');
  const bytes = fs.readFileSync(w);
  const isAnogen = (re: RegExp) => (e: Error) => e instanceof AnogenError && re.test(e.message);
  fs.writeFileSync(w, bytes.subarray(0, 100));
  assert.throws(() => loadBundle(dir), isAnogen(/model\.safetensors.*corrupt/));
  fs.writeFileSync(w, bytes);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, hparams: { ...cfg.hparams, ngf: 16 } }));
  assert.throws(() => loadBundle(dir), isAnogen(/do not match the architecture|shape/));
  fs.writeFileSync(path.join(dir, 'config.json'), '{"format": "anogen-bundle", ');
  assert.throws(() => loadBundle(dir), isAnogen(/config\.json: not valid JSON/));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, detector: 'nope' }));
  assert.throws(() => loadBundle(dir), isAnogen(/unknown detector "nope"; expected.*ganomaly/));
  fs.rmSync(path.join(dir, 'config.json'));
  assert.throws(() => loadBundle(dir), isAnogen(/missing config\.json/));
  assert.throws(() => loadBundle(path.join(dir, 'nowhere')), isAnogen(/no such folder/));
  fs.rmSync(dir, { recursive: true });
  d.dispose();
});

test('the score is selectable: latent (default), contextual, or a mix of the two', async () => {
  const x = normals(8, 11);
  const d = new Ganomaly(TINY);
  const latent = d.score(x, { maps: false }).scores;
  const sd = d.stateDict();
  const other = (h: Record<string, unknown>) => {
    const e = new Ganomaly({ ...TINY, ...h });
    e.loadStateDict(sd);
    const s = e.score(x, { maps: false }).scores;
    e.dispose();
    return s;
  };
  const contextual = other({ score: 'contextual' });
  const mix = other({ score: 'mix', scoreMix: 0.25 });
  const fake = d.reconstruct(x);
  const want = fake.sub(x).abs().flatten(1).mean(1).toFloat32Array();
  for (let i = 0; i < 8; i++) {
    assert.ok(Math.abs(contextual[i]! - want[i]!) < 1e-6);
    assert.ok(Math.abs(mix[i]! - (0.75 * latent[i]! + 0.25 * contextual[i]!)) < 1e-5);
  }
  assert.throws(() => new Ganomaly({ score: 'pixel' } as never), /score: "pixel" is not valid; expected .*latent.*contextual.*mix/);
  for (const t of sd.values()) t.dispose();
  d.dispose();
});
