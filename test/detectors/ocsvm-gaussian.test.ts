// The feature-space detectors (ocsvm, gaussian): scikit-learn parity on a fixture made by
// scripts/make-detector-fixtures.py, MNIST 0 vs 1 on pixels, features of a GANomaly bundle,
// bundle round trips, the CLI path and the error messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, manualSeed, randn, tensor, tidy, type Tensor } from '../../src/core/index.js';
import { Ganomaly, Gaussian, Ocsvm, createDetector, loadBundle, saveBundle, type Detector } from '../../src/detectors/index.js';
import { solveOneClass } from '../../src/detectors/ocsvm/solver.js';
import { auroc } from '../../src/eval/metrics.js';
import { runCli } from '../helpers/cli.js';
import { digitPair } from '../helpers/digit-pair.js';

interface Fixture {
  train: number[][];
  test: number[][];
  ocsvm: { nu: number; gamma: string; tol: number; fittedGamma: number; rho: number; nSupport: number; decision: number[] }[];
  gaussian: { n: number; location: number[]; shrinkage: number; mahalanobis: number[] }[];
}
const fixture = JSON.parse(fs.readFileSync(new URL('../fixtures/detectors/sklearn-ocsvm-gaussian.json', import.meta.url), 'utf8')) as Fixture;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-ocsvm-gaussian-'));

/** 16 features as 1 x 4 x 4 "images", so that the pixels feature source gives them back as they are. */
const asImages = (rows: number[][]) => tensor(Float32Array.from(rows.flat()), { shape: [rows.length, 1, 4, 4] });

/** Largest |a - b| / max(1, |b|). */
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

test('ocsvm matches scikit-learn OneClassSVM.decision_function (rbf; nu, gamma scale/auto/number, tol)', async () => {
  const x = asImages(fixture.train);
  const t = asImages(fixture.test);
  for (const c of fixture.ocsvm) {
    const d = new Ocsvm({ isize: 4, nu: c.nu, gamma: c.gamma, tol: c.tol });
    await d.fit({ images: x });
    const f = d.fitted!;
    const what = `nu ${c.nu}, gamma ${c.gamma}, tol ${c.tol}`;
    assert.equal(f.supportVectors, c.nSupport, what);
    assert.ok(Math.abs(f.gamma - c.fittedGamma) <= 1e-6 * c.fittedGamma, `${what}: gamma ${f.gamma} vs ${c.fittedGamma}`);
    assert.ok(Math.abs(f.rho - c.rho) <= 1e-5 * Math.max(1, c.rho), `${what}: rho ${f.rho} vs ${c.rho}`);
    const s = d.score(t).scores;
    const err = maxRel(
      Array.from(s, (v) => -v),
      c.decision,
    );
    assert.ok(err <= 1e-5, `${what}: -score vs decision_function, max relative difference ${err}`);
    d.dispose();
  }
  x.dispose();
  t.dispose();
});

test('gaussian matches scikit-learn LedoitWolf (shrinkage, squared Mahalanobis), also with fewer points than features', async () => {
  const t = asImages(fixture.test);
  for (const c of fixture.gaussian) {
    const x = asImages(fixture.train.slice(0, c.n));
    const d = new Gaussian({ isize: 4 });
    await d.fit({ images: x });
    assert.ok(Math.abs(d.shrinkage! - c.shrinkage) <= 1e-6 * c.shrinkage, `n ${c.n}: shrinkage ${d.shrinkage} vs ${c.shrinkage}`);
    const mean = d.stateDict().get('mean')!;
    assert.ok(maxRel(mean.toFloat64Array(), c.location) <= 1e-6);
    mean.dispose();
    const err = maxRel(d.score(t).scores, c.mahalanobis);
    assert.ok(err <= 1e-5, `n ${c.n}: Mahalanobis max relative difference ${err}`);
    d.dispose();
    x.dispose();
  }
  t.dispose();
});

test('the SMO solver: feasible, KKT within tol, sum a = nu n', () => {
  // 3 points: K = identity-like; nu = 0.5 -> a sums to 1.5
  const n = 3;
  const q = Float32Array.from([1, 0.2, 0.1, 0.2, 1, 0.3, 0.1, 0.3, 1]);
  const sol = solveOneClass(q, new Float64Array(n).fill(1), n, 0.5, { tol: 1e-9 });
  assert.ok(sol.converged);
  const sum = sol.alpha.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1.5) < 1e-12);
  assert.ok(sol.alpha.every((a) => a >= 0 && a <= 1));
  assert.throws(() => solveOneClass(q, new Float64Array(n).fill(1), n, 0), AnogenError);
});

test('ocsvm and gaussian on pixels learn MNIST 0 (normal) vs 1 at 16 px (AUROC > 0.8)', async () => {
  const pair = await digitPair(16, 256, 100);
  assert.equal(pair.labels.filter((l) => l === 1).length, 100);
  for (const d of [new Ocsvm({ isize: 16 }), new Gaussian({ isize: 16 })] as Detector[]) {
    await d.fit({ images: pair.train.x });
    const a = auroc(d.score(pair.test.x).scores, pair.labels);
    assert.ok(a > 0.8, `${d.name} on pixels: AUROC ${a}`);
    d.dispose();
  }
  pair.dispose();
});

/** Random images in [-1, 1]. */
function images(n: number, seed: number, scale = 0.3): Tensor {
  manualSeed(seed);
  return tidy(() => randn([n, 1, 16, 16]).mul(scale).tanh());
}

test("'bundle' features: a tiny GANomaly bundle's discriminator features, end to end; bundles round-trip", async () => {
  const gan = new Ganomaly({ isize: 16, nz: 8, ngf: 8, ndf: 8 });
  const x = images(64, 1);
  await gan.fit({ images: x }, { epochs: 1, batchSize: 32, seed: 0 });
  const ganDir = path.join(tmp, 'gan');
  saveBundle(ganDir, gan);
  const backbone = path.join(ganDir, 'config.json');
  const feats = gan.features(x.narrow(0, 0, 4));
  const width = feats.shape[1]!;
  feats.dispose();
  gan.dispose();
  const probe = images(12, 2, 1.5);
  const val = images(16, 3);
  for (const name of ['ocsvm', 'gaussian']) {
    const d = createDetector(name, { isize: 16, features: 'bundle', backbone });
    assert.match((d as Ocsvm | Gaussian).featureName, /discriminator features of a ganomaly bundle/);
    await d.fit({ images: x }, { val: { images: val } });
    const f = (d as Ocsvm | Gaussian).features(probe);
    assert.deepEqual(f.shape, [12, width], 'the features are the backbone discriminator features');
    f.dispose();
    const s = d.score(probe).scores;
    assert.ok(s.every(Number.isFinite));
    const dir = path.join(tmp, name);
    saveBundle(dir, d);
    const back = loadBundle(dir).detector;
    const sd = back.stateDict();
    assert.ok(
      [...sd.keys()].some((k) => k.startsWith('backbone.')),
      'the backbone weights are stored in the bundle',
    );
    for (const t of sd.values()) t.dispose();
    const s2 = back.score(probe).scores;
    assert.ok(maxRel(s2, s) <= 1e-6, `${name}: scores after a round trip`);
    assert.deepEqual(Array.from(back.predict(probe)), Array.from(d.predict(probe)));
    d.dispose();
    back.dispose();
  }
  // the backbone must take the detector's input
  assert.throws(
    () => new Ocsvm({ isize: 32, features: 'bundle', backbone }),
    (e: Error) => e instanceof AnogenError && /backbone takes 16 x 16 x 1 images/.test(e.message) && /--image-size 16/.test(e.message),
  );
  // a bundle that is its own backbone is refused when loaded (not an endless recursion)
  const cyc = path.join(tmp, 'cycle');
  fs.cpSync(ganDir, cyc, { recursive: true });
  const self = new Gaussian({ isize: 16, features: 'bundle', backbone: path.relative(process.cwd(), path.join(cyc, 'config.json')) });
  assert.equal(self.hparams.backbone, path.join(cyc, 'config.json'), 'the backbone path is stored absolute');
  await self.fit({ images: x });
  saveBundle(cyc, self, {}, { replace: true });
  self.dispose();
  assert.throws(
    () => loadBundle(cyc),
    (e: Error) => e instanceof AnogenError && /is its own backbone/.test(e.message),
  );
  x.dispose();
  probe.dispose();
  val.dispose();
});

test('errors name the option and what is valid', async () => {
  assert.throws(
    () => new Ocsvm({ gamma: 'big' }),
    (e: Error) => e instanceof AnogenError && /gamma: "big" is not valid; expected 'scale', 'auto' or a positive number/.test(e.message),
  );
  assert.throws(
    () => new Gaussian({ features: 'bundle' }),
    (e: Error) => e instanceof AnogenError && /backbone: features 'bundle' needs --backbone/.test(e.message),
  );
  assert.throws(
    () => new Ocsvm({ nu: 0 }),
    (e: Error) => e instanceof AnogenError && /nu/.test(e.message),
  );
  const d = new Gaussian({ isize: 16 });
  const x = images(2, 0);
  assert.throws(
    () => d.score(x),
    (e: Error) => e instanceof AnogenError && /not fitted/.test(e.message),
  );
  await assert.rejects(d.fit({ images: images(2, 0).narrow(2, 0, 8) }), /expected 16 x 16 images/);
  d.dispose();
  x.dispose();
});

test('ocsvm through the CLI: train (one pass, maxTrain subsample) then eval', async () => {
  const out = path.join(tmp, 'cli');
  const t = await runCli(
    'train',
    'ocsvm',
    '--data',
    'mnist',
    '--protocol',
    'one-vs-rest',
    '--normal',
    '1',
    '--image-size',
    '16',
    '--train-limit',
    '300',
    '--val-limit',
    '64',
    '--max-train',
    '200',
    '--nu',
    '0.2',
    '--out',
    out,
    '--quiet',
  );
  assert.equal(t.code, 0, t.err);
  const b = loadBundle(out);
  assert.equal((b.detector as Ocsvm).fitted!.supportVectors <= 200, true);
  b.detector.dispose();
  const e = await runCli('eval', out, '--test-limit', '300', '--no-floors');
  assert.equal(e.code, 0, e.err);
  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
  assert.ok(results.metrics.auroc > 0.8, `digit 1 vs rest, AUROC ${results.metrics.auroc}`);
});
