// The 'classifier' feature source of gaussian and ocsvm (src/detectors/features/classifier.ts):
// the layers of a committed quality classifier of ANOTHER dataset as pretrained features.
// Round trips (also without the weights file), single image = batch, the layers' widths and
// per-layer Gaussians, bad values rejected with the valid ones named, and MNIST 0 vs 1 learnt
// with the Fashion-MNIST classifier's features.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, dispose, manualSeed, randn, tidy, type Tensor } from '../../src/core/index.js';
import { Gaussian, Ocsvm, loadBundle, saveBundle, type Detector } from '../../src/detectors/index.js';
import { sha256File } from '../../src/detectors/features/backbone.js';
import { classifierWeightsFile } from '../../src/models/classifier/index.js';
import { auroc } from '../../src/eval/metrics.js';
import { runCli } from '../helpers/cli.js';
import { digitPair } from '../helpers/digit-pair.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-classifier-features-'));

/** Random images in [-1, 1]. */
function images(n: number, seed: number, size = 32, scale = 0.5): Tensor {
  manualSeed(seed);
  return tidy(() => randn([n, 1, size, size]).mul(scale).tanh());
}

test("'classifier' features: layer widths, per-layer Gaussians, single image = batch, bundles round-trip (also without the weights file)", async () => {
  const file = path.join(tmp, 'fashion.safetensors');
  fs.copyFileSync(classifierWeightsFile('fashion-mnist'), file);
  const sha = sha256File(file);
  const x = images(48, 1);
  const probe = images(6, 2, 32, 1.5);
  const dets: Detector[] = [
    new Gaussian({ features: 'classifier', classifier: 'mnist', classifierLayers: 'fc1+conv2' }),
    new Gaussian({ features: 'classifier', classifier: file, classifierLayers: 'conv1', classifierGrid: 2 }),
    new Ocsvm({ features: 'classifier', classifier: 'fashion-mnist', classifierLayers: 'fc1,logits', nu: 0.2 }),
  ];
  const widths = [32 * 9 + 64, 16 * 4, 64 + 10]; // conv2 at the default grid 3
  for (const [i, d] of dets.entries()) {
    const f = (d as Gaussian).features(probe);
    assert.deepEqual(f.shape, [6, widths[i]], `${d.name} ${i}: feature width`);
    f.dispose();
    await d.fit({ images: x }, { batchSize: 20 });
    const s = d.score(probe).scores;
    assert.ok(s.every(Number.isFinite));
    const one = d.score(probe.narrow(0, 4, 1)).scores[0]!;
    assert.ok(Math.abs(one - s[4]!) <= 1e-5 * Math.max(1, Math.abs(s[4]!)), `${d.name} ${i}: single ${one} vs batch ${s[4]}`);
    const sd = d.stateDict();
    assert.ok(sd.has('backbone.conv1.weight') && sd.has('backbone.fc2.bias'), 'the weights travel in the state dict');
    dispose(sd);
    const dir = path.join(tmp, `bundle-${i}`);
    saveBundle(dir, d);
    if (i === 1) {
      const cfg = d.config() as unknown as Record<string, unknown>;
      assert.equal(cfg.classifier, file);
      assert.equal(cfg.classifierSha256, sha);
      fs.rmSync(file); // the bundle carries the weights
    }
    const b = loadBundle(dir);
    assert.deepEqual(b.detector.score(probe).scores, s, `${d.name} ${i}: identical scores after the round trip`);
    b.detector.dispose();
  }
  assert.equal((dets[0] as Gaussian).shrinkages!.length, 2, 'one Gaussian per layer');
  assert.equal((dets[0]!.config() as unknown as Record<string, unknown>).classifierSha256, sha256File(classifierWeightsFile('mnist')));
  for (const d of dets) d.dispose();
  dispose([x, probe]);
});

test("'classifier' options: errors name the option and what is valid", () => {
  const bad = (h: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => new Gaussian({ isize: 32, nc: 1, ...h }),
      (e: Error) => e instanceof AnogenError && re.test(e.message),
      re.source,
    );
  bad({ features: 'classifier' }, /classifier: features 'classifier' needs --classifier 'mnist', 'fashion-mnist' or a \.safetensors file/);
  bad({ features: 'classifier', classifier: 'cifar10' }, /classifier: "cifar10" is not valid; expected 'mnist', 'fashion-mnist' or a \.safetensors file/);
  bad(
    { features: 'classifier', classifier: 'mnist', classifierLayers: 'conv2,conv3' },
    /classifierLayers: "conv2,conv3" is not valid; expected .*'conv1', 'conv2', 'fc1' or 'logits'/,
  );
  bad({ features: 'classifier', classifier: 'mnist', classifierLayers: 'fc1,fc1' }, /names a layer twice/);
  bad({ features: 'pixels', classifier: 'mnist' }, /classifier: only used with features 'classifier'/);
  bad({ features: 'classifier', classifier: path.join(tmp, 'missing.safetensors') }, /missing\.safetensors: no such file; expected 'mnist', 'fashion-mnist' or/);
  bad({ features: 'classifier', classifier: 'mnist', nc: 2 }, /nc: features 'classifier' takes 1-channel or 3-channel/);
  bad({ features: 'classifier', classifier: 'mnist', classifierGrid: 0 }, /classifierGrid/);
  bad({ features: 'classifier', classifier: 'mnist', classifierSha256: 'xyz' }, /classifierSha256: "xyz" is not valid; expected 64 lowercase hex digits/);
  // a given SHA-256 is checked when the file is read (first extraction)
  const d = new Gaussian({ features: 'classifier', classifier: 'mnist', classifierSha256: 'ab'.repeat(32) });
  const x = images(2, 0);
  assert.throws(
    () => d.features(x),
    (e: Error) => e instanceof AnogenError && /its SHA-256 is [0-9a-f]{64}, but classifierSha256 is (ab){32}/.test(e.message),
  );
  x.dispose();
  d.dispose();
  // a file that is not the classifier network
  const other = path.join(tmp, 'other.safetensors');
  const g = new Gaussian({ isize: 4 });
  return g.fit({ images: images(8, 3, 4) }).then(() => {
    saveBundle(path.join(tmp, 'pixels-bundle'), g);
    fs.copyFileSync(path.join(tmp, 'pixels-bundle', 'model.safetensors'), other);
    g.dispose();
    bad({ features: 'classifier', classifier: other }, /classifier: .*expected the quality classifier network/);
  });
});

test('gaussian on the Fashion-MNIST classifier features learns MNIST 0 (normal) vs 1 (AUROC > 0.9); the CLI takes the flags', async () => {
  const pair = await digitPair(32, 64, 50);
  const d = new Gaussian({ features: 'classifier', classifier: 'fashion-mnist' });
  await d.fit({ images: pair.train.x });
  const a = auroc(d.score(pair.test.x).scores, pair.labels);
  assert.ok(a > 0.9, `gaussian on fashion-mnist classifier conv2 features: AUROC ${a}`);
  d.dispose();
  pair.dispose();
  const out = path.join(tmp, 'cli');
  const t = await runCli(
    'train',
    'gaussian',
    '--data',
    'mnist',
    '--protocol',
    'one-vs-rest',
    '--normal',
    '1',
    '--train-limit',
    '48',
    '--val-limit',
    '16',
    '--features',
    'classifier',
    '--classifier',
    'fashion-mnist',
    '--classifier-layers',
    'conv2,fc1',
    '--classifier-grid',
    '2',
    '--out',
    out,
    '--quiet',
  );
  assert.equal(t.code, 0, t.err);
  const b = loadBundle(out);
  const h = b.config.hparams as Record<string, unknown>;
  assert.deepEqual([h.features, h.classifier, h.classifierLayers, h.classifierGrid], ['classifier', 'fashion-mnist', 'conv2,fc1', 2]);
  b.detector.dispose();
  const e = await runCli(
    'train',
    'gaussian',
    '--data',
    'mnist',
    '--protocol',
    'one-vs-rest',
    '--normal',
    '1',
    '--features',
    'classifier',
    '--classifier',
    'svhn',
    '--out',
    path.join(tmp, 'x'),
  );
  assert.notEqual(e.code, 0);
  assert.match(e.err, /classifier: "svhn" is not valid; expected 'mnist', 'fashion-mnist' or/);
});
