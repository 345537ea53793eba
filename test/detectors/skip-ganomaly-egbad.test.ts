// Skip-GANomaly and EGBAD: each learns MNIST digit 1 vs rest at 16 px in seconds through the
// pipeline, its losses are finite and move, its score is the documented formula over its parts,
// its capabilities are discovered, and bad enum values are refused naming the option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, noGrad, tensor, tidy, type Tensor } from '../../src/core/index.js';
import * as F from '../../src/nn/functional.js';
import { openIdxDataset } from '../../src/data/index.js';
import { capabilities, createDetector, Egbad, SkipGanomaly } from '../../src/detectors/index.js';
import { train } from '../../src/pipeline/train.js';
import { evaluate } from '../../src/pipeline/evaluate.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-skip-egbad-'));
const data = { data: 'mnist', protocol: 'one-vs-rest' as const, normal: '1', seed: 0, valFraction: 0.1 };

/** The first n MNIST test images, [-1, 1], resized to 16 px. */
function mnistTest(n: number): Tensor {
  const raw = openIdxDataset('mnist').images.test!.data as Uint8Array;
  return tidy(() => {
    const t = tensor(
      Float32Array.from(raw.subarray(0, n * 784), (v) => (v / 255) * 2 - 1),
      { shape: [n, 1, 28, 28] },
    );
    return F.interpolate(t, { size: 16, mode: 'bilinear' });
  });
}

/** Trains `detector` on 192 images of digit 1 (16 px, 2 epochs, batch 32, Adam lr 2e-3) and returns it, its loss history and its AUROC on 200 test images. */
async function learnDigitOne(detector: string, hparams: Record<string, unknown>) {
  const out = path.join(tmp, detector);
  const r = await train({ detector, data, trainLimit: 192, valLimit: 32, imageSize: 16, epochs: 2, batchSize: 32, lr: 2e-3, out, hparams, device: 'cpu' });
  const ev = await evaluate({ bundle: out, testLimit: 200, json: path.join(out, 'r.json'), report: null, floors: false, device: 'cpu' });
  return { d: r.detector, history: r.report.history, auroc: ev.results.metrics.auroc };
}

/** Every loss is finite at every step, and each named one changed between the first and the last step. */
function lossesMove(history: Record<string, number>[], names: string[]): void {
  assert.ok(history.length >= 8, `${history.length} steps`);
  for (const h of history) for (const [k, v] of Object.entries(h)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
  const first = history[0]!;
  const last = history[history.length - 1]!;
  for (const k of names) assert.ok(first[k] !== undefined && first[k] !== last[k], `${k} moved: ${first[k]} -> ${last[k]}`);
}

test('skip-ganomaly learns MNIST digit 1 vs rest at 16 px; score = 0.9 rec + 0.1 lat; maps, reconstructions, D features', async () => {
  const { d, history, auroc } = await learnDigitOne('skip-ganomaly', { ngf: 8, ndf: 8, nz: 16 });
  assert.ok(auroc > 0.8, `skip-ganomaly, digit 1 vs rest: AUROC ${auroc}`);
  lossesMove(history, ['g', 'd', 'adv', 'con', 'lat']);
  const sg = d as SkipGanomaly;
  assert.deepEqual(capabilities(sg), ['maps', 'reconstruct', 'features']);
  const x = mnistTest(8);
  const s = sg.score(x);
  assert.deepEqual(s.maps!.shape, [8, 1, 16, 16]);
  sg.nets.eval();
  const p = noGrad(() => tidy(() => sg.scoreParts(x)));
  const [rec, lat] = [p.rec.toFloat32Array(), p.lat.toFloat32Array()];
  for (let i = 0; i < 8; i++) {
    const want = 0.9 * rec[i]! + 0.1 * lat[i]!;
    assert.ok(Math.abs(s.scores[i]! - want) <= 1e-5 * Math.max(1, want), `image ${i}: ${s.scores[i]} vs ${want}`);
  }
  const f = sg.features(x);
  assert.deepEqual(f.shape, [8, 16]);
  const r = sg.reconstruct(x);
  assert.deepEqual(r.shape, [8, 1, 16, 16]);
  [x, f, r, s.maps!, p.rec, p.lat, p.fake].forEach((t) => t.dispose());
  sg.dispose();
});

test("egbad learns MNIST digit 1 vs rest at 16 px; score = 0.9 ||x - G(E(x))||_1 + 0.1 L_D ('fm' and 'ce'); E(x) features", async () => {
  // After a few steps a BiGAN's discriminator already separates the classes but G(E(x)) does not
  // yet reconstruct x (see the README): the test scores with D's cross-entropy alone.
  const { d, history, auroc } = await learnDigitOne('egbad', { ngf: 8, ndf: 8, nz: 16, dHidden: 64, dScore: 'ce', scoreWeight: 1 });
  assert.ok(auroc > 0.8, `egbad (score: cross-entropy of D(x, E(x))), digit 1 vs rest: AUROC ${auroc}`);
  lossesMove(history, ['d', 'g', 'e', 'rec']);
  const eg = d as Egbad;
  assert.deepEqual(capabilities(eg), ['maps', 'reconstruct', 'features']);
  const x = mnistTest(8);
  eg.nets.eval();
  const p = noGrad(() => tidy(() => eg.scoreParts(x)));
  const [rec, fm, ce] = [p.rec, p.fm, p.ce].map((t) => t.toFloat32Array());
  for (const dScore of ['fm', 'ce'] as const) {
    const v = new Egbad({ ...eg.hparams, dScore, scoreWeight: 0.1 });
    const sd = eg.stateDict();
    v.loadStateDict(sd);
    sd.forEach((t) => t.dispose());
    const got = v.score(x, { maps: false }).scores;
    for (let i = 0; i < 8; i++) {
      const want = 0.9 * rec[i]! + 0.1 * (dScore === 'fm' ? fm : ce)[i]!;
      assert.ok(Math.abs(got[i]! - want) <= 1e-5 * Math.max(1, want), `${dScore}, image ${i}: ${got[i]} vs ${want}`);
    }
    v.dispose();
  }
  assert.ok(ce.every((v) => v > 0));
  const f = eg.features(x);
  assert.deepEqual(f.shape, [8, 16]);
  const r = eg.reconstruct(x);
  assert.deepEqual(r.shape, [8, 1, 16, 16]);
  [x, f, r, p.rec, p.fm, p.ce, p.xhat].forEach((t) => t.dispose());
  eg.dispose();
});

test('bad enum values and sizes are refused naming the option', () => {
  const refuses = (name: string, h: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => createDetector(name, h),
      (e: Error) => e instanceof AnogenError && re.test(e.message),
    );
  refuses('egbad', { dScore: 'cross-e' }, /egbad dScore: "cross-e" is not valid; expected .*'fm'.*'ce'/);
  refuses('egbad', { isize: 28 }, /egbad isize: 28 is not valid; expected a power of two/);
  refuses('egbad', { scoreWeight: 1.5 }, /egbad scoreWeight: 1.5 is not valid/);
  refuses('skip-ganomaly', { dLatent: 'yes' }, /skip-ganomaly dLatent: "yes" is not valid/);
  refuses('skip-ganomaly', { isize: 24 }, /skip-ganomaly isize: 24 is not valid; expected a power of two/);
  refuses('skip-ganomaly', { scoreLambda: -0.1 }, /skip-ganomaly scoreLambda: -0.1 is not valid/);
});
