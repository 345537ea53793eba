import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, manualSeed, noGrad, randn, tidy, type Tensor } from '../../src/core/index.js';
import { Ganomaly, GanomalyNetworks, loadBundle, saveBundle } from '../../src/detectors/index.js';

const TINY = { isize: 16, nz: 8, ngf: 8, ndf: 8 };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-ganomaly-'));

/** Random images in [-1, 1] standing in for normals. */
function normals(n: number, seed: number): Tensor {
  manualSeed(seed);
  return tidy(() => randn([n, 1, 16, 16]).mul(0.3).tanh());
}

test('state dict names and shapes follow the reference layout (isize 32, nz 100, ngf = ndf = 64)', () => {
  const nets = new GanomalyNetworks({ isize: 32, nc: 1, nz: 100, ngf: 64, ndf: 64, extraLayers: 0 });
  const sd = nets.stateDict();
  const shape = (k: string) => sd.get(k)?.shape;
  assert.deepEqual(shape('netg.encoder1.main.initial-conv-1-64.weight'), [64, 1, 4, 4]);
  assert.deepEqual(shape('netg.encoder1.main.pyramid-64-128-conv.weight'), [128, 64, 4, 4]);
  assert.deepEqual(shape('netg.encoder1.main.pyramid-128-batchnorm.running_var'), [128]);
  assert.deepEqual(shape('netg.encoder1.main.final-256-1-conv.weight'), [100, 256, 4, 4]);
  assert.deepEqual(shape('netg.decoder.main.initial-100-256-convt.weight'), [100, 256, 4, 4]);
  assert.deepEqual(shape('netg.decoder.main.pyramid-256-128-convt.weight'), [256, 128, 4, 4]);
  assert.deepEqual(shape('netg.decoder.main.pyramid-128-64-convt.weight'), [128, 64, 4, 4]);
  assert.deepEqual(shape('netg.decoder.main.final-64-1-convt.weight'), [64, 1, 4, 4]);
  assert.deepEqual(shape('netg.encoder2.main.final-256-1-conv.weight'), [100, 256, 4, 4]);
  assert.deepEqual(shape('netd.features.0.weight'), [64, 1, 4, 4]);
  assert.deepEqual(shape('netd.features.3.running_mean'), [128]);
  assert.deepEqual(shape('netd.classifier.0.weight'), [1, 256, 4, 4]);
  // as len(state_dict()) in PyTorch: NetG 47 (encoders 4 convs + 2 BN x 5; decoder 4 convs + 3 BN x 5), NetD 14
  assert.equal(sd.size, 47 + 14);
  const z = noGrad(() => nets.generate(randn([2, 1, 32, 32]), false));
  assert.deepEqual(z.fake.shape, [2, 1, 32, 32]);
  assert.deepEqual(z.latentI.shape, [2, 100, 1, 1]);
  nets.dispose();
});

test('bad hyperparameters are AnogenErrors naming the option', () => {
  assert.throws(() => new Ganomaly({ isize: 30 }), (e: Error) => e instanceof AnogenError && /isize.*multiple of 16/.test(e.message));
  assert.throws(() => new Ganomaly({ bogus: 1 } as never), (e: Error) => e instanceof AnogenError && /unknown option "bogus".*nz/.test(e.message));
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
  const normed = d.normalise(s.scores);
  const flagged = d.predict(val).reduce((a, b) => a + b, 0);
  assert.equal(flagged, normed.filter((v) => v > cal.threshold.value).length);
  assert.ok(flagged <= 2, `about 5% of validation normals flagged, got ${flagged}/24`);
  // the same seed gives the same model
  const d2 = new Ganomaly(TINY);
  await d2.fit({ images: x }, { epochs: 2, batchSize: 16, seed: 3 });
  assert.equal(d2.calibration, null, 'no val set -> no calibration');
  assert.deepEqual(Array.from(d2.score(val, { maps: false }).scores), Array.from(s.scores));
  assert.throws(() => d2.predict(val), /no calibration/);
  // maps at the input size when the input is not isize
  const big = d.score(normals(2, 4).repeat(1, 1, 2, 2));
  assert.deepEqual(big.maps!.shape, [2, 1, 32, 32]);
  d.dispose();
  d2.dispose();
});

test('bundle round trip gives identical scores for one image and for a batch', async () => {
  const d = new Ganomaly(TINY);
  const val = normals(16, 6);
  await d.fit({ images: normals(32, 5) }, { val: { images: val }, epochs: 1, batchSize: 16 });
  const dir = tmp();
  saveBundle(dir, d, { transform: { size: 16, channels: 1, range: [-1, 1] } });
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
  d.checkpointer = (info) => saveBundle(path.join(dir, 'checkpoint'), d, { training: info });
  const firstWeight = d.stateDict().get('netg.encoder1.main.initial-conv-1-8.weight')!;
  await assert.rejects(
    d.fit(
      { images: normals(32, 8) },
      {
        epochs: 3,
        batchSize: 16,
        checkpointDir: path.join(dir, 'checkpoint'),
        onProgress: (e) => {
          if (e.epoch === 2 && e.step === 1) noGrad(() => firstWeight.fill_(NaN));
        },
      },
    ),
    (e: Error) => e instanceof AnogenError && /epoch 2, step 2/.test(e.message) && e.message.includes(path.join(dir, 'checkpoint')),
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
