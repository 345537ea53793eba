import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnogenError } from '../../src/core/errors.js';
import { liveTensors } from '../../src/core/runtime.js';
import { tsne } from '../../src/eval/tsne.js';
import { mulberry32 } from '../../src/data/random.js';
import { settledLiveTensors } from '../helpers/live.js';

/** `per` points around each of `k` random centres in `d` dimensions (centres far apart). */
function clusters(k: number, per: number, d: number, seed: number): { x: Float32Array[]; y: number[] } {
  const r = mulberry32(seed);
  const g = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => 10 * g()));
  const x: Float32Array[] = [];
  const y: number[] = [];
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < per; i++) {
      x.push(Float32Array.from(centres[c]!, (v) => v + g()));
      y.push(c);
    }
  }
  return { x, y };
}

test('well-separated clusters stay separated in the embedding', () => {
  const before = settledLiveTensors();
  const { x, y } = clusters(4, 60, 20, 7);
  const r = tsne(x, { seed: 1, iterations: 500 });
  assert.equal(r.n, 240);
  assert.equal(r.coords.length, 480);
  assert.ok(r.coords.every(Number.isFinite));
  assert.ok(r.kl > 0 && r.kl < 2, `kl ${r.kl}`);
  // every point's nearest neighbour in 2-D has its label
  let wrong = 0;
  for (let i = 0; i < r.n; i++) {
    let best = Infinity,
      bj = -1;
    for (let j = 0; j < r.n; j++) {
      if (j === i) continue;
      const d = (r.coords[2 * i]! - r.coords[2 * j]!) ** 2 + (r.coords[2 * i + 1]! - r.coords[2 * j + 1]!) ** 2;
      if (d < best) {
        best = d;
        bj = j;
      }
    }
    if (y[bj] !== y[i]) wrong++;
  }
  assert.equal(wrong, 0);
  // the clusters' centroids are far apart compared with their spread
  const cen = [0, 1, 2, 3].map((c) => {
    const idx = y.map((v, i) => (v === c ? i : -1)).filter((i) => i >= 0);
    const mx = idx.reduce((a, i) => a + r.coords[2 * i]!, 0) / idx.length;
    const my = idx.reduce((a, i) => a + r.coords[2 * i + 1]!, 0) / idx.length;
    const spread = Math.sqrt(idx.reduce((a, i) => a + (r.coords[2 * i]! - mx) ** 2 + (r.coords[2 * i + 1]! - my) ** 2, 0) / idx.length);
    return { mx, my, spread };
  });
  for (let a = 0; a < 4; a++) {
    for (let b = a + 1; b < 4; b++) {
      const d = Math.hypot(cen[a]!.mx - cen[b]!.mx, cen[a]!.my - cen[b]!.my);
      assert.ok(d > 2 * (cen[a]!.spread + cen[b]!.spread), `clusters ${a},${b}: centroid distance ${d}, spreads ${cen[a]!.spread}, ${cen[b]!.spread}`);
    }
  }
  assert.equal(liveTensors(), before);
});

test('seeded: same seed, same embedding; small N lowers the perplexity', () => {
  const { x } = clusters(2, 10, 5, 3);
  const a = tsne(x, { seed: 5, iterations: 100 });
  const b = tsne(x, { seed: 5, iterations: 100 });
  assert.deepEqual(a.coords, b.coords);
  assert.equal(a.perplexity, 19 / 3);
  const c = tsne(x, { seed: 6, iterations: 100 });
  assert.notDeepEqual(a.coords, c.coords);
});

test('duplicate points do not break the tree', () => {
  const x = Array.from({ length: 30 }, (_, i) => Float32Array.from([i % 3, 0, 1]));
  const r = tsne(x, { iterations: 200 });
  assert.ok(r.coords.every(Number.isFinite));
});

test('t-SNE option errors', () => {
  const isAnogen = (re: RegExp) => (e: unknown) => e instanceof AnogenError && re.test((e as Error).message);
  const x = [
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 9],
    [1, 1],
  ];
  assert.throws(() => tsne(x, { perplexity: 0 }), isAnogen(/perplexity: 0 is not valid; expected a number >= 1/));
  assert.throws(() => tsne(x, { iterations: 1.5 }), isAnogen(/iterations: 1.5 is not valid/));
  assert.throws(() => tsne(x, { learningRate: -1 }), isAnogen(/learningRate: -1/));
  assert.throws(
    () =>
      tsne([
        [1, 2],
        [3, 4],
      ]),
    isAnogen(/at least 4 points, got 2/),
  );
  assert.throws(
    () =>
      tsne([
        [1, 2],
        [3, NaN],
        [1, 1],
        [2, 2],
      ]),
    isAnogen(/NaN/),
  );
});
