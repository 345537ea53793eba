// PatchCore (src/detectors/patchcore): position-aware pixel patches equal the position-aware
// patch kNN floor; the one bank against a plain-JS brute force; the maps; the greedy coreset
// against a plain-JS k-center; the backbone maps against PyTorch (fixture of
// scripts/make_resnet_fixture.py); MNIST 0 vs 1; refused options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, dispose, tensor, type Tensor } from '../../src/core/index.js';
import { Patchcore, greedyCoreset, loadBundle, saveBundle } from '../../src/detectors/index.js';
import { patchKnnScores } from '../../src/eval/floors.js';
import { auroc } from '../../src/eval/index.js';
import { saveSafetensors } from '../../src/nn/safetensors.js';
import { mulberry32 } from '../../src/data/random.js';
import { formulaInputs, formulaStateDict } from './backbone-formula.js';
import { digitPair } from '../helpers/digit-pair.js';

const S = 12;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-patchcore-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** n random gray S x S images in [-1, 1] (plain values and a tensor [n, 1, S, S]). */
function images(n: number, seed: number): { v: Float32Array; t: Tensor } {
  const r = mulberry32(seed);
  const v = Float32Array.from({ length: n * S * S }, () => 2 * r() - 1);
  return { v, t: tensor(v, { shape: [n, 1, S, S] }) };
}

/** The p x p patch of image k at origin (i0, j0), row-major. */
function patchOf(x: Float32Array, k: number, i0: number, j0: number, p: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) out.push(x[k * S * S + (i0 + i) * S + j0 + j]!);
  return out;
}
const dist = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));

test('pixels, position-aware: the scores are the position-aware patch kNN floor; one bank: a brute-force nearest patch over every position', async () => {
  const tr = images(10, 1);
  const te = images(4, 2);
  const [p, s] = [4, 2];
  const aware = new Patchcore({ isize: S, patchSize: p, patchStride: s, positionAware: true });
  await aware.fit({ images: tr.t });
  assert.deepEqual(aware.bankShape, { banks: 25, patches: 10, dim: 16 });
  const got = aware.score(te.t, { maps: false }).scores;
  const floor = patchKnnScores(tr.t, te.t, { patchSize: p, stride: s, positionAware: true });
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(got[i]! - floor[i]!) < 1e-4, `image ${i}: ${got[i]} vs floor ${floor[i]}`);

  const one = new Patchcore({ isize: S, patchSize: p, patchStride: s });
  await one.fit({ images: tr.t });
  assert.deepEqual(one.bankShape, { banks: 1, patches: 250, dim: 16 });
  const origins = [0, 2, 4, 6, 8];
  const bank: number[][] = [];
  for (let k = 0; k < 10; k++) for (const i of origins) for (const j of origins) bank.push(patchOf(tr.v, k, i, j, p));
  const hand = Array.from({ length: 4 }, (_, k) => Math.max(...origins.flatMap((i) => origins.map((j) => Math.min(...bank.map((b) => dist(patchOf(te.v, k, i, j, p), b)))))));
  const oneScores = one.score(te.t, { maps: false }).scores;
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(oneScores[i]! - hand[i]!) < 1e-5, `image ${i}: ${oneScores[i]} vs ${hand[i]}`);
  // a bank of every position finds nearer patches than the bank of one position
  for (let i = 0; i < 4; i++) assert.ok(oneScores[i]! <= got[i]! + 1e-6);
  // a training image scores (about) 0 against its own patches
  assert.ok(aware.score(tr.t.narrow(0, 3, 1), { maps: false }).scores[0]! < 1e-3);
  dispose([tr.t, te.t]);
  aware.dispose();
  one.dispose();
});

test('maps: non-overlapping patches carry their own distance on every pixel they cover; the largest map value is the score', async () => {
  const tr = images(6, 3);
  const te = images(2, 4);
  const d = new Patchcore({ isize: S, patchSize: 4, patchStride: 4, positionAware: true });
  await d.fit({ images: tr.t });
  const r = d.score(te.t);
  assert.deepEqual(r.maps!.shape, [2, 1, S, S]);
  const m = r.maps!.toFloat64Array();
  for (let k = 0; k < 2; k++) {
    for (const i0 of [0, 4, 8]) {
      for (const j0 of [0, 4, 8]) {
        const q = patchOf(te.v, k, i0, j0, 4);
        const want = Math.min(...Array.from({ length: 6 }, (_, t) => dist(q, patchOf(tr.v, t, i0, j0, 4))));
        for (const [a, b] of [
          [0, 0],
          [3, 3],
          [1, 2],
        ]) {
          const got = m[k * S * S + (i0 + a!) * S + j0 + b!]!;
          assert.ok(Math.abs(got - want) < 1e-4, `image ${k} patch (${i0}, ${j0}): ${got} vs ${want}`);
        }
      }
    }
    const mx = Math.max(...m.subarray(k * S * S, (k + 1) * S * S));
    assert.ok(Math.abs(mx - r.scores[k]!) < 1e-4);
  }
  dispose([tr.t, te.t, r.maps!]);
  d.dispose();
});

test('greedy coreset: the plain-JS k-center selection (seeded start, farthest next); the coreset bank scores no lower than the full one', async () => {
  const r = mulberry32(7);
  const pts = Array.from({ length: 40 }, () => [r() * 4 - 2, r() * 4 - 2, r()]);
  const bank = tensor(Float64Array.from(pts.flat()), { shape: [1, 40, 3] });
  const idx = greedyCoreset(bank, 0.2, 0, 5);
  const got = Array.from(idx.toFloat64Array());
  assert.equal(got.length, 8);
  let start = Math.floor(mulberry32(5)() * 40);
  const want = [start];
  const minD = pts.map((p) => dist(p, pts[start]!));
  while (want.length < 8) {
    start = minD.indexOf(Math.max(...minD));
    want.push(start);
    pts.forEach((p, i) => (minD[i] = Math.min(minD[i]!, dist(p, pts[start]!))));
  }
  assert.deepEqual(got, want);
  // projected selection: k indices, all distinct, the seeded start first; and deterministic
  const proj = Array.from(greedyCoreset(bank, 0.2, 2, 5).toFloat64Array());
  assert.equal(new Set(proj).size, 8);
  assert.deepEqual(proj, Array.from(greedyCoreset(bank, 0.2, 2, 5).toFloat64Array()));
  dispose([bank, idx]);

  const tr = images(8, 5);
  const te = images(3, 6);
  const full = new Patchcore({ isize: S, patchSize: 4, patchStride: 2 });
  const core = new Patchcore({ isize: S, patchSize: 4, patchStride: 2, coreset: 0.1, coresetDims: 8 });
  await full.fit({ images: tr.t });
  await core.fit({ images: tr.t });
  assert.deepEqual(core.bankShape, { banks: 1, patches: 20, dim: 16 });
  const a = full.score(te.t, { maps: false }).scores;
  const b = core.score(te.t, { maps: false }).scores;
  for (let i = 0; i < 3; i++) assert.ok(b[i]! >= a[i]! - 1e-6, `coreset ${b[i]} < full ${a[i]}`);
  // the coreset bank round-trips through a bundle
  const dir = path.join(tmp, 'core');
  saveBundle(dir, core);
  const back = loadBundle(dir).detector;
  assert.deepEqual(Array.from(back.score(te.t, { maps: false }).scores), Array.from(b));
  dispose([tr.t, te.t]);
  for (const d of [full, core, back]) d.dispose();
});

test("backbone maps match PyTorch: resnet18 layer2 + layer3, 3 x 3 neighbourhoods, layer3 upsampled, nearest distances to image 0's patches", async () => {
  const fixture = JSON.parse(fs.readFileSync(new URL('../fixtures/resnet/resnet-reference.json', import.meta.url), 'utf8')) as {
    patchcore: { side: number; channels: number; agnostic: number[]; aware: number[] };
  };
  const ref = fixture.patchcore;
  const file = path.join(tmp, 'resnet18.safetensors');
  const sd = formulaStateDict('resnet18');
  saveSafetensors(file, sd);
  dispose(sd);
  const { x, gray } = formulaInputs();
  x.dispose();
  for (const positionAware of [false, true]) {
    const d = new Patchcore({ isize: 16, features: 'backbone', backboneWeights: file, backboneSize: 32, positionAware });
    await d.fit({ images: gray.narrow(0, 0, 1) });
    assert.deepEqual(d.bankShape, { banks: positionAware ? ref.side ** 2 : 1, patches: positionAware ? 1 : ref.side ** 2, dim: ref.channels });
    const r = d.score(gray.narrow(0, 1, 1).contiguous());
    const want = positionAware ? ref.aware : ref.agnostic;
    assert.ok(Math.abs(r.scores[0]! - Math.max(...want)) < 1e-4 * Math.max(...want), `score ${r.scores[0]} vs ${Math.max(...want)}`);
    assert.deepEqual(r.maps!.shape, [1, 1, 16, 16], 'the 4 x 4 distances resized to the input');
    d.dispose();
    r.maps!.dispose();
  }
  gray.dispose();
});

test('learns MNIST 0 (normal) vs 1 at 16 px on pixel patches: position-aware AUROC > 0.9, one bank > 0.6 (a 1 is made of patches of 0s)', async () => {
  const pair = await digitPair(16, 128, 50);
  for (const positionAware of [false, true]) {
    const d = new Patchcore({ isize: 16, positionAware });
    await d.fit({ images: pair.train.x });
    const a = auroc(d.score(pair.test.x, { maps: false }).scores, pair.labels);
    assert.ok(a > (positionAware ? 0.9 : 0.6), `positionAware ${positionAware}: AUROC ${a}`);
    d.dispose();
  }
  pair.dispose();
});

test('refused options name the option and what is valid', () => {
  const bad = (h: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => new Patchcore(h),
      (e: Error) => e instanceof AnogenError && re.test(e.message),
      JSON.stringify(h),
    );
  bad({ isize: 16, patchSize: 20 }, /patchSize: 20 is not valid with image size 16.*\[1, 16\]/);
  bad({ neighbourhood: 4 }, /neighbourhood: 4 is not valid; expected an odd integer/);
  bad({ coreset: 0 }, /coreset/);
  bad({ features: 'classifier' }, /features.*'pixels'.*'backbone'/);
});
