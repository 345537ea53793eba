// The gaussian detector's position-aware patch mode (--features patches, src/detectors/gaussian/patches.ts):
// one position's distance against a plain-JS Ledoit-Wolf + inverse, the per-position fit against a
// pooled one, the maps, single image == batch, the bundle round trip and the refused options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, tensor, type Tensor } from '../../src/core/index.js';
import { Gaussian, capabilities, createDetector, loadBundle, saveBundle } from '../../src/detectors/index.js';
import { ledoitWolf, mahalanobis } from '../../src/detectors/gaussian/ledoit-wolf.js';
import { patchGeometry, patchesOf, PATCH_STATE_CAP } from '../../src/detectors/gaussian/patches.js';
import { mulberry32 } from '../../src/data/random.js';

const S = 16;
const P = 4; // patch side = stride: 16 non-overlapping positions of 16 values

/**
 * n gray S x S images in [-1, 1]: a horizontal ramp (so each position has its own mean), plus three
 * random smooth components (correlated pixels: a Ledoit-Wolf shrinkage strictly between 0 and 1),
 * plus small noise.
 */
function images(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n * S * S);
  for (let k = 0; k < n; k++) {
    const a = [r() - 0.5, r() - 0.5, r() - 0.5];
    for (let i = 0; i < S; i++) {
      for (let j = 0; j < S; j++) {
        const v = -0.8 + (1.6 * j) / (S - 1) + 0.3 * a[0]! * Math.sin(i / 3) + 0.3 * a[1]! * Math.cos(j / 2) + 0.2 * a[2]! * ((i + j) / S) + 0.05 * (r() - 0.5);
        out[k * S * S + i * S + j] = Math.max(-1, Math.min(1, v));
      }
    }
  }
  return out;
}
const asTensor = (v: Float32Array): Tensor => tensor(v, { shape: [v.length / (S * S), 1, S, S] });

/** The p x p patch of image k at origin (i0, j0), row-major, as plain numbers. */
function patchOf(x: Float32Array, k: number, i0: number, j0: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) out.push(x[k * S * S + (i0 + i) * S + j0 + j]!);
  return out;
}

/** sklearn's LedoitWolf + pinvh written out in plain JS (n rows of d values; Gauss-Jordan inverse: the shrunk covariance is definite here). */
function handMahalanobis(rows: number[][], q: number[]): { d2: number; shrinkage: number } {
  const n = rows.length;
  const d = rows[0]!.length;
  const mean = Array.from({ length: d }, (_, k) => rows.reduce((s, r) => s + r[k]!, 0) / n);
  const xc = rows.map((r) => r.map((v, k) => v - mean[k]!));
  const gram = Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => xc.reduce((s, r) => s + r[a]! * r[b]!, 0)));
  const emp = gram.map((r) => r.map((v) => v / n));
  const tr = emp.reduce((s, r, k) => s + r[k]!, 0);
  const mu = tr / d;
  const deltaRaw = gram.flat().reduce((s, v) => s + v * v, 0) / (n * n);
  const betaRaw = xc.reduce((s, r) => s + r.reduce((t, v) => t + v * v, 0) ** 2, 0);
  let beta = (betaRaw / n - deltaRaw) / (d * n);
  const delta = (deltaRaw - 2 * mu * tr + d * mu * mu) / d;
  beta = Math.min(beta, delta);
  const shrinkage = beta === 0 ? 0 : beta / delta;
  // [Sigma | I] -> [I | Sigma^-1]
  const a = emp.map((r, i) => [...r.map((v, j) => (1 - shrinkage) * v + (i === j ? shrinkage * mu : 0)), ...r.map((_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < d; c++) {
    let piv = c;
    for (let i = c + 1; i < d; i++) if (Math.abs(a[i]![c]!) > Math.abs(a[piv]![c]!)) piv = i;
    [a[c], a[piv]] = [a[piv]!, a[c]!];
    const div = a[c]![c]!;
    for (let j = 0; j < 2 * d; j++) a[c]![j]! /= div;
    for (let i = 0; i < d; i++) {
      if (i === c) continue;
      const f = a[i]![c]!;
      for (let j = 0; j < 2 * d; j++) a[i]![j]! -= f * a[c]![j]!;
    }
  }
  const diff = q.map((v, k) => v - mean[k]!);
  let d2 = 0;
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) d2 += diff[i]! * a[i]![d + j]! * diff[j]!;
  return { d2, shrinkage };
}

const trainX = images(40, 1);
const testX = images(6, 2);
const patchDet = (extra: Record<string, unknown> = {}) => new Gaussian({ isize: S, features: 'patches', patchSize: P, patchStride: P, ...extra });

test("one position's distance equals a plain-JS Ledoit-Wolf Mahalanobis distance (score, map, shrinkage)", async () => {
  const d = patchDet();
  await d.fit({ images: asTensor(trainX) });
  const r = d.score(asTensor(testX));
  const maps = r.maps!.toFloat64Array();
  assert.deepEqual(r.maps!.shape, [6, 1, S, S]);
  // position (1, 2): rows 4..7, columns 8..11; stride = patch, so the map there is that patch's distance alone
  const [qi, qj] = [1, 2];
  const rows = Array.from({ length: 40 }, (_, k) => patchOf(trainX, k, qi * P, qj * P));
  for (let k = 0; k < 6; k++) {
    const hand = handMahalanobis(rows, patchOf(testX, k, qi * P, qj * P));
    if (k === 0) {
      assert.ok(hand.shrinkage > 0.001 && hand.shrinkage < 0.999, `shrinkage strictly inside (0, 1): ${hand.shrinkage}`);
      const got = d.shrinkages![qi * (S / P) + qj]!;
      assert.ok(Math.abs(got - hand.shrinkage) <= 1e-9, `shrinkage ${got} vs ${hand.shrinkage}`);
    }
    for (const [i, j] of [
      [qi * P, qj * P],
      [qi * P + P - 1, qj * P + 2],
    ] as const) {
      const m = maps[k * S * S + i * S + j]!;
      assert.ok(Math.abs(m - hand.d2) <= 1e-4 * Math.max(1, hand.d2), `image ${k} map at (${i}, ${j}): ${m} vs ${hand.d2}`);
    }
    // the score is the worst position: at least this one, and equal to the largest map value
    const maxMap = Math.max(...maps.subarray(k * S * S, (k + 1) * S * S));
    assert.ok(r.scores[k]! >= hand.d2 * (1 - 1e-5));
    assert.ok(Math.abs(r.scores[k]! - maxMap) <= 1e-4 * Math.max(1, maxMap));
  }
  assert.ok(capabilities(d).includes('maps'));
  assert.equal(new Gaussian({ isize: S }).producesMaps, false);
  d.dispose();
});

test('positions matter: swapped patches score high per position, not with one pooled Gaussian', async () => {
  const d = patchDet();
  await d.fit({ images: asTensor(trainX) });
  // a normal test image, and the same image with its left and right border columns of patches swapped
  const normal = testX.slice(0, S * S);
  const swapped = normal.slice();
  for (let i = 0; i < S; i++) {
    for (let j = 0; j < P; j++) {
      swapped[i * S + j] = normal[i * S + (S - P) + j]!;
      swapped[i * S + (S - P) + j] = normal[i * S + j]!;
    }
  }
  const [sNormal, sSwapped] = d.score(asTensor(Float32Array.from([...normal, ...swapped])), { maps: false }).scores;
  assert.ok(sSwapped! > 20 * sNormal!, `per position: swapped ${sSwapped} vs normal ${sNormal}`);
  // the means differ by position (the ramp): the per-position fit is not one Gaussian repeated
  const sd = d.stateDict();
  const mean = sd.get('mean')!;
  assert.deepEqual(mean.shape, [16, 16]);
  assert.ok(Math.abs(mean.select(0, 0).mean().item() - mean.select(0, 3).mean().item()) > 0.5);
  for (const t of sd.values()) t.dispose();
  // one Gaussian on the pooled patches of every position (what a fit ignoring positions gives): the swapped image is not worse
  const g = patchGeometry(S, 1, P, P);
  const tr = patchesOf(asTensor(trainX).flatten(1).double(), g).reshape([-1, g.dim]);
  const lw = ledoitWolf(tr);
  const te = patchesOf(
    asTensor(Float32Array.from([...normal, ...swapped]))
      .flatten(1)
      .double(),
    g,
  ); // [P, 2, D]
  const pooled = mahalanobis(te.permute([1, 0, 2]).reshape([-1, g.dim]), lw.mean, lw.precision)
    .reshape([2, g.positions])
    .amax(1)
    .toFloat64Array();
  assert.ok(pooled[1]! < 2 * pooled[0]!, `pooled: swapped ${pooled[1]} vs normal ${pooled[0]} (no separation)`);
  d.dispose();
});

test('single image == batch, batchSize changes nothing, maps with overlap (stride < patch) average the covering patches', async () => {
  const d = new Gaussian({ isize: S, features: 'patches', patchSize: 6, patchStride: 4 });
  await d.fit({ images: asTensor(trainX) });
  const x = asTensor(testX);
  const all = d.score(x);
  const small = d.score(x, { batchSize: 4 });
  for (let k = 0; k < 6; k++) {
    const one = d.score(x.narrow(0, k, 1));
    assert.ok(Math.abs(one.scores[0]! - all.scores[k]!) <= 1e-5 * Math.max(1, all.scores[k]!), `single ${one.scores[0]} vs batch ${all.scores[k]}`);
    assert.ok(Math.abs(small.scores[k]! - all.scores[k]!) <= 1e-5 * Math.max(1, all.scores[k]!));
    const a = one.maps!.toFloat64Array();
    const b = all.maps!.narrow(0, k, 1).toFloat64Array();
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-4 * Math.max(1, Math.abs(b[i]!)));
  }
  assert.deepEqual(small.maps!.shape, [6, 1, S, S]);
  // origins 0, 4, 8 (3 x 3 positions of 6 px): pixel 5 is under origins 0 and 4, pixel 14 and 15 under none
  const m = all.maps!.toFloat64Array();
  const dist = (i: number, j: number) => m[i * S + j]!; // image 0
  assert.equal(dist(15, 15), 0);
  assert.equal(dist(0, 14), 0);
  assert.ok(dist(0, 0) > 0 && dist(5, 5) > 0);
  d.dispose();
});

test('bundle round trip: same scores and maps; a pixels state is refused by a patches config', async () => {
  const d = patchDet();
  await d.fit({ images: asTensor(trainX) }, { val: { images: asTensor(images(16, 3)) } });
  const x = asTensor(testX);
  const r = d.score(x);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-gaussian-patches-'));
  try {
    saveBundle(dir, d);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { hparams?: Record<string, unknown> } & Record<string, unknown>;
    const h = (cfg.hparams ?? cfg) as Record<string, unknown>;
    assert.equal(h.features, 'patches');
    assert.equal(h.patchSize, P);
    const back = loadBundle(dir).detector;
    assert.equal(back.producesMaps, true);
    const r2 = back.score(x);
    assert.deepEqual(Array.from(r2.scores), Array.from(r.scores));
    assert.deepEqual(Array.from(r2.maps!.toFloat32Array()), Array.from(r.maps!.toFloat32Array()));
    assert.deepEqual(Array.from(back.predict(x)), Array.from(d.predict(x)));
    back.dispose();
    const pixels = new Gaussian({ isize: S });
    await pixels.fit({ images: asTensor(trainX) });
    const sd = pixels.stateDict();
    assert.throws(
      () => patchDet().loadStateDict(sd),
      (e: Error) => e instanceof AnogenError && /features 'patches'.*expected mean \[16, 16\], precision \[16, 16, 16\], shrinkage \[16\]/.test(e.message),
    );
    for (const t of sd.values()) t.dispose();
    pixels.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    d.dispose();
  }
});

test('bad patch options are refused naming the option', () => {
  const refuses = (h: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => createDetector('gaussian', { isize: S, features: 'patches', ...h }),
      (e: Error) => e instanceof AnogenError && re.test(e.message),
      JSON.stringify(h),
    );
  refuses({ patchSize: S + 1 }, /patchSize: 17 .*image size 16.*\[1, 16\]/);
  refuses({ patchStride: 0 }, /patchStride/);
  refuses({ patchSize: 2.5 }, /patchSize/);
  refuses({ backbone: path.resolve('package.json') }, /backbone: only used with features 'bundle' \(features is 'patches'/);
  // the state cap: 64 px x 3 channels with 32 px patches at stride 1 would be 1,089 x 3,072² values
  assert.ok(33 * 33 * 3072 ** 2 > PATCH_STATE_CAP);
  refuses({ isize: 64, nc: 3, patchSize: 32, patchStride: 1 }, /patchSize 32 \/ patchStride 1 .*above the cap .*smaller patchSize or a larger patchStride/);
  // without features 'patches' the patch options are not used, so not checked against the image size
  assert.doesNotThrow(() => createDetector('gaussian', { isize: 4 }).dispose());
});
