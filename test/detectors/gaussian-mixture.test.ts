// The gaussian detector's mixture mode (--components K, src/detectors/gaussian/mixture.ts): a
// two-cluster normal class where K = 2 ranks a between-clusters outlier above every inlier and
// K = 1 does not, seeded k-means determinism and merging, K = 1 unchanged (bit-identical to the
// plain Ledoit-Wolf Mahalanobis distance), single image == batch, the bundle round trip (also
// with several classifier feature groups) and the refused options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, dispose, tensor, type Tensor } from '../../src/core/index.js';
import { Gaussian, createDetector, loadBundle, saveBundle } from '../../src/detectors/index.js';
import { ledoitWolf, mahalanobis } from '../../src/detectors/gaussian/ledoit-wolf.js';
import { kmeans } from '../../src/detectors/gaussian/mixture.js';
import { mulberry32 } from '../../src/data/random.js';

const S = 4; // 16 pixels

/** A standard normal draw (Box-Muller) from a uniform generator. */
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/**
 * n gray S x S images, half around -0.5 and half around +0.5 in every pixel (the two modes;
 * `centre` = 0 puts every image between them), each with a random per-image tilt and pixel
 * noise (`noise` times 0.06); rows alternate between the modes.
 */
function twoModes(n: number, seed: number, centre?: number, noise = 1): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n * S * S);
  for (let k = 0; k < n; k++) {
    const c = centre ?? (k % 2 === 0 ? -0.5 : 0.5);
    const tilt = 0.05 * gauss(r);
    for (let p = 0; p < S * S; p++) out[k * S * S + p] = c + tilt * ((p % S) - 1.5) + 0.06 * noise * gauss(r);
  }
  return out;
}
const asTensor = (v: Float32Array): Tensor => tensor(v, { shape: [v.length / (S * S), 1, S, S] });

const trainX = twoModes(120, 1);
const inliers = twoModes(20, 2);
const between = twoModes(3, 3, 0, 0.2); // between the modes, with a fifth of the noise

test('two modes: K = 2 ranks between-the-modes images above every inlier, K = 1 below them', async () => {
  const probe = asTensor(Float32Array.from([...inliers, ...between]));
  const rank = async (components: number) => {
    const d = new Gaussian({ isize: S, components });
    const rep = await d.fit({ images: asTensor(trainX) }, { seed: 0 });
    const s = d.score(probe).scores;
    d.dispose();
    return { inl: Array.from(s.subarray(0, 20)), out: Array.from(s.subarray(20)), history: rep.history[0]! };
  };
  const two = await rank(2);
  assert.equal(two.history.components, 2);
  assert.ok(Math.min(...two.out) > Math.max(...two.inl), `K = 2: outliers ${two.out} vs inliers up to ${Math.max(...two.inl)}`);
  const one = await rank(1);
  // one Gaussian over both modes has its mean between them: the in-between images look most normal
  assert.ok(Math.max(...one.out) < Math.min(...one.inl), `K = 1: outliers ${one.out} vs inliers from ${Math.min(...one.inl)}`);
});

test('k-means: seeded and deterministic, finds the two modes, merges clusters of < 2 members', () => {
  const x = asTensor(trainX).flatten(1).double();
  const a = kmeans(x, 2, { seed: 7 });
  const b = kmeans(x, 2, { seed: 7 });
  assert.deepEqual(Array.from(a.assign), Array.from(b.assign));
  assert.deepEqual(Array.from(a.centers.toFloat64Array()), Array.from(b.centers.toFloat64Array()));
  assert.deepEqual(a.counts, [60, 60]);
  // rows alternate between the modes: the clustering is the truth up to the clusters' order
  for (let i = 0; i < 120; i++) assert.equal(a.assign[i], a.assign[i % 2]);
  assert.notEqual(a.assign[0], a.assign[1]);
  // the seed drives k-means++: over a few seeds with K = 5 on two modes, not every clustering is the same
  const runs = [0, 1, 2, 3].map((seed) => {
    const r = kmeans(x, 5, { seed });
    r.centers.dispose();
    return Array.from(r.assign).join(',');
  });
  assert.ok(new Set(runs).size > 1, 'different seeds, different k-means++ draws');
  // a far single row gets its own k-means++ centre (squared-distance draws) and is merged away
  const far = Float64Array.from(x.toFloat64Array());
  const withOutlier = tensor(Float64Array.from([...far, ...new Array<number>(S * S).fill(30)]), { shape: [121, S * S] });
  const m = kmeans(withOutlier, 3, { seed: 0 });
  assert.equal(m.counts.length, 2, `merged: ${m.counts}`);
  assert.ok(m.counts.every((c) => c >= 2));
  dispose([x, a.centers, b.centers, withOutlier, m.centers]);
});

test('K = 1 is unchanged: bit-identical to the plain Ledoit-Wolf squared Mahalanobis distance, same state keys', async () => {
  const probe = asTensor(Float32Array.from([...inliers, ...between]));
  const d1 = new Gaussian({ isize: S, components: 1 });
  const d0 = new Gaussian({ isize: S });
  await d1.fit({ images: asTensor(trainX) }, { seed: 3 });
  await d0.fit({ images: asTensor(trainX) });
  const lw = ledoitWolf(asTensor(trainX).flatten(1).double());
  const ref = Float32Array.from(mahalanobis(probe.flatten(1).double(), lw.mean, lw.precision).toFloat64Array());
  assert.deepEqual(Array.from(d1.score(probe).scores), Array.from(ref));
  assert.deepEqual(Array.from(d0.score(probe).scores), Array.from(ref));
  const sd = d1.stateDict();
  assert.deepEqual([...sd.keys()], ['mean', 'precision', 'shrinkage']);
  assert.deepEqual(sd.get('mean')!.shape, [S * S]);
  dispose([...sd.values(), lw.mean, lw.covariance, lw.precision]);
  d0.dispose();
  d1.dispose();
});

test('K = 2: the score formula, single image == batch, seeded fit, bundle round trip', async () => {
  const d = new Gaussian({ isize: S, components: 2 });
  await d.fit({ images: asTensor(trainX) }, { seed: 5 });
  const probe = asTensor(Float32Array.from([...inliers.subarray(0, 6 * S * S), ...between]));
  const r = d.score(probe).scores;
  // by hand: min over the two clusters of d_k^2 + log det Sigma_k - 2 log pi_k
  const x = asTensor(trainX).flatten(1).double();
  const km = kmeans(x, 2, { seed: 5 });
  const p = probe.flatten(1).double();
  const per = [0, 1].map((c) => {
    const idx = Array.from(km.assign.keys()).filter((i) => km.assign[i] === c);
    const xc = x.indexSelect(0, tensor(BigInt64Array.from(idx, (i) => BigInt(i))));
    const lw = ledoitWolf(xc);
    const logdet = Math.log(Array.from(lw.covariance.toFloat64Array()).length > 0 ? detOf(lw.covariance) : 1);
    const d2 = mahalanobis(p, lw.mean, lw.precision).toFloat64Array();
    const out = Array.from(d2, (v) => v + logdet - 2 * Math.log(idx.length / 120));
    dispose([xc, lw.mean, lw.covariance, lw.precision]);
    return out;
  });
  for (let i = 0; i < r.length; i++) {
    const want = Math.min(per[0]![i]!, per[1]![i]!);
    assert.ok(Math.abs(r[i]! - want) <= 1e-4 * Math.max(1, Math.abs(want)), `image ${i}: ${r[i]} vs ${want}`);
  }
  for (let k = 0; k < r.length; k++) {
    const one = d.score(probe.narrow(0, k, 1)).scores[0]!;
    assert.ok(Math.abs(one - r[k]!) <= 1e-5 * Math.max(1, Math.abs(r[k]!)), `single ${one} vs batch ${r[k]}`);
  }
  // the same seed gives the same fit
  const again = new Gaussian({ isize: S, components: 2 });
  await again.fit({ images: asTensor(trainX) }, { seed: 5 });
  assert.deepEqual(Array.from(again.score(probe).scores), Array.from(r));
  again.dispose();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-gaussian-mixture-'));
  try {
    saveBundle(dir, d);
    const back = loadBundle(dir).detector as Gaussian;
    assert.equal((back.config() as unknown as Record<string, unknown>).components, 2);
    assert.deepEqual(Array.from(back.score(probe).scores), Array.from(r));
    const sd = back.stateDict();
    assert.deepEqual([...sd.keys()], ['mean', 'precision', 'shrinkage', 'weight', 'logdet']);
    assert.deepEqual(sd.get('precision')!.shape, [2, S * S, S * S]);
    // a single-Gaussian state is refused by a mixture config, and the other way round
    const single = new Gaussian({ isize: S });
    await single.fit({ images: asTensor(trainX) });
    const sd1 = single.stateDict();
    assert.throws(
      () => new Gaussian({ isize: S, components: 2 }).loadStateDict(sd1),
      (e: Error) => e instanceof AnogenError && /missing \(weight, logdet\)/.test(e.message),
    );
    assert.throws(
      () => single.loadStateDict(sd),
      (e: Error) => e instanceof AnogenError && /unexpected/.test(e.message),
    );
    dispose([...sd.values(), ...sd1.values(), x, p, km.centers]);
    single.dispose();
    back.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    d.dispose();
  }
});

/** Determinant of a small symmetric positive definite float64 matrix (Gaussian elimination in plain JS). */
function detOf(t: Tensor): number {
  const n = t.shape[0]!;
  const v = t.toFloat64Array();
  const a = Array.from({ length: n }, (_, i) => Array.from(v.subarray(i * n, (i + 1) * n)));
  let det = 1;
  for (let c = 0; c < n; c++) {
    det *= a[c]![c]!;
    for (let i = c + 1; i < n; i++) {
      const f = a[i]![c]! / a[c]![c]!;
      for (let j = c; j < n; j++) a[i]![j]! -= f * a[c]![j]!;
    }
  }
  return det;
}

test('K = 2 on classifier features with two layers (two feature groups): fits, scores, round-trips', async () => {
  const r = mulberry32(9);
  const img = (n: number) =>
    tensor(
      Float32Array.from({ length: n * 32 * 32 }, () => Math.tanh(0.5 * gauss(r))),
      { shape: [n, 1, 32, 32] },
    );
  const train = img(24);
  const probe = img(3);
  const d = new Gaussian({ features: 'classifier', classifier: 'mnist', classifierLayers: 'fc1,conv2', classifierGrid: 1, components: 2 });
  await d.fit({ images: train }, { seed: 0 });
  const s = d.score(probe).scores;
  assert.ok(s.every(Number.isFinite));
  assert.equal(d.shrinkages!.length, 4, 'one shrinkage per cluster and layer');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-gaussian-mixture-clf-'));
  try {
    saveBundle(dir, d);
    const back = loadBundle(dir).detector;
    assert.deepEqual(Array.from(back.score(probe).scores), Array.from(s));
    back.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    d.dispose();
    dispose([train, probe]);
  }
});

test('bad components are refused naming the option', async () => {
  const refuses = (h: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => createDetector('gaussian', { isize: S, ...h }),
      (e: Error) => e instanceof AnogenError && re.test(e.message),
      JSON.stringify(h),
    );
  refuses({ components: 0 }, /components/);
  refuses({ components: 1.5 }, /components/);
  refuses({ components: 65 }, /components/);
  refuses({ components: 2, features: 'patches', patchSize: 2, patchStride: 2 }, /components: 2 is not supported with features 'patches'/);
  // more components than the training rows allow (2 per component)
  const d = new Gaussian({ isize: S, components: 8 });
  await assert.rejects(
    () => d.fit({ images: asTensor(trainX.subarray(0, 10 * S * S)) }),
    (e: Error) => e instanceof AnogenError && /components: 8 components need at least 16 training rows .* got 10/.test(e.message),
  );
  d.dispose();
});
