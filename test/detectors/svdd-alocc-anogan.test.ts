// Deep SVDD, ALOCC and AnoGAN / f-AnoGAN: each learns MNIST digit 1 vs rest at 16 px in seconds
// through the pipeline; bad enum values are refused naming the option; Deep SVDD's center and
// exact resume across its two phases; AnoGAN's latent search lowers its loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, manualSeed, randn, type Tensor } from '../../src/core/index.js';
import { Alocc, Anogan, capabilities, createDetector, DeepSvdd, type LoopState } from '../../src/detectors/index.js';
import { train } from '../../src/pipeline/train.js';
import { evaluate } from '../../src/pipeline/evaluate.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-svdd-alocc-anogan-'));
const data = { data: 'mnist', protocol: 'one-vs-rest' as const, normal: '1', seed: 0, valFraction: 0.1 };

/** Trains `detector` on 256 images of digit 1 at 16 px and returns it with its AUROC on 300 test images. */
async function learnDigitOne(detector: string, hparams: Record<string, unknown>, epochs: number, tag = detector, opts: { batchSize?: number; lr?: number } = {}) {
  const out = path.join(tmp, tag);
  const t0 = performance.now();
  const r = await train({ detector, data, trainLimit: 256, valLimit: 128, imageSize: 16, epochs, batchSize: opts.batchSize ?? 32, lr: opts.lr, out, hparams, device: 'cpu' });
  assert.ok(r.report.history.every((h) => Object.values(h).every(Number.isFinite)));
  const ev = await evaluate({ bundle: out, testLimit: 300, json: path.join(out, 'r.json'), report: null, floors: false, device: 'cpu' });
  const auroc = ev.results.metrics.auroc;
  console.log(`# ${tag}: AUROC ${auroc.toFixed(3)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { d: r.detector, auroc, history: r.report.history };
}

function refusesEnum(name: string, key: string, bad: string, valid: RegExp): void {
  assert.throws(
    () => createDetector(name, { [key]: bad }),
    (e: Error) => e instanceof AnogenError && e.message.includes(key) && e.message.includes(bad) && valid.test(e.message),
  );
}

test('deep-svdd learns digit 1 vs rest (pretraining, then one-class); c is away from 0; soft-boundary updates R; bad objective named', async () => {
  const { d, auroc, history } = await learnDigitOne('deep-svdd', { pretrainEpochs: 1, width: 8, repDim: 16 }, 2);
  assert.ok(auroc > 0.8, `deep-svdd one-class, digit 1 vs rest: AUROC ${auroc}`);
  assert.ok('rec' in history[0]! && 'svdd' in history[history.length - 1]!, 'pretraining first, then the one-class loss');
  const svdd = d as DeepSvdd;
  assert.deepEqual(capabilities(svdd), ['features']);
  const c = svdd.nets.c.toFloat32Array();
  assert.ok(
    c.every((v) => Math.abs(v) >= 0.1 - 1e-7),
    'every coordinate of c is at least eps from 0',
  );
  svdd.dispose();
  // soft-boundary: R becomes the (1 - nu) quantile of the distances after the warm-up; score = dist - R^2
  manualSeed(0);
  const x = randn([32, 1, 16, 16]).sigmoid();
  const soft = new DeepSvdd({ isize: 16, width: 4, repDim: 16, pretrainEpochs: 0, objective: 'soft-boundary', warmUpEpochs: 1, nu: 0.25 });
  const rep = await soft.fit({ images: x }, { epochs: 2, batchSize: 16, lr: 1e-3 });
  assert.equal(rep.history[0]!.R, 0, 'R stays 0 during the warm-up');
  const r = soft.nets.R.item() as number;
  assert.ok(r > 0, `R ${r}`);
  const s = soft.score(x).scores;
  const phi = soft.features(x);
  const dist = phi.sub(soft.nets.c).square().sum(1).toFloat32Array();
  for (let i = 0; i < 32; i++) assert.ok(Math.abs(s[i]! - (dist[i]! - r * r)) < 1e-5 * Math.max(1, dist[i]!), 'score = ||phi(x) - c||^2 - R^2');
  soft.dispose();
  refusesEnum('deep-svdd', 'objective', 'two-class', /one-class.*soft-boundary/);
});

test('deep-svdd resumes exactly across its phases (checkpoint inside pretraining and at the center)', async () => {
  manualSeed(0);
  const x = randn([32, 1, 16, 16]).sigmoid();
  const h = { isize: 16, width: 4, repDim: 16, pretrainEpochs: 2 };
  const fit = (d: DeepSvdd, resume?: LoopState, onCheckpoint?: (s: LoopState) => void) =>
    d.fit({ images: x }, { epochs: 2, batchSize: 16, seed: 3, resume, onCheckpoint: onCheckpoint && ((s) => onCheckpoint(s)) });
  const full = new DeepSvdd(h);
  await fit(full);
  const want = full.stateDict();
  for (const stopAt of [1, 2]) {
    // run to the end of epoch `stopAt`, keep its weights and state, resume in a new detector
    const first = new DeepSvdd(h);
    let saved: { sd: Map<string, Tensor>; state: LoopState } | null = null;
    await first.fit(
      { images: x },
      {
        epochs: 2,
        batchSize: 16,
        seed: 3,
        shouldStop: () => saved !== null,
        onCheckpoint: (s) => {
          if (s.epoch === stopAt && saved === null) saved = { sd: first.stateDict(), state: structuredCloneState(s) };
        },
      },
    );
    const second = new DeepSvdd(h);
    second.loadStateDict(saved!.sd);
    await fit(second, saved!.state);
    const got = second.stateDict();
    for (const [k, t] of want)
      assert.deepEqual(Array.from(got.get(k)!.float().toFloat32Array()), Array.from(t.float().toFloat32Array()), `resume after epoch ${stopAt}: ${k} differs`);
    first.dispose();
    second.dispose();
  }
  full.dispose();
});

/** A LoopState whose tensors survive the loop's disposal of the original. */
function structuredCloneState(s: LoopState): LoopState {
  const optimizers: LoopState['optimizers'] = {};
  for (const [k, o] of Object.entries(s.optimizers)) optimizers[k] = { ...o, state: new Map([...o.state].map(([n, t]) => [n, t.clone()])) };
  return { ...s, history: s.history.map((r) => ({ ...r })), rngState: s.rngState.slice(), optimizers };
}

test('alocc learns digit 1 vs rest (1 - D(R(x))); maps are |x - R(x)|; bad score named', async () => {
  const { d, auroc } = await learnDigitOne('alocc', { nz: 16, ngf: 8, ndf: 8 }, 2);
  assert.ok(auroc > 0.8, `alocc (1 - D(R(x))), digit 1 vs rest: AUROC ${auroc}`);
  assert.deepEqual(capabilities(d), ['maps', 'reconstruct', 'features']);
  const alocc = d as Alocc;
  manualSeed(1);
  const x = randn([4, 1, 16, 16]).tanh();
  const s = alocc.score(x);
  assert.ok(s.scores.every((v) => v >= 0 && v <= 1));
  const map = alocc.reconstruct(x).sub(x).abs().toFloat32Array();
  const got = s.maps!.toFloat32Array();
  for (let i = 0; i < map.length; i++) assert.ok(Math.abs(map[i]! - got[i]!) < 1e-5);
  // the 'recon' score of the same weights is the mean squared reconstruction error
  const recon = createDetector('alocc', { ...alocc.hparams, score: 'recon' }) as Alocc;
  recon.loadStateDict(alocc.stateDict());
  const sr = recon.score(x, { maps: false }).scores;
  const mse = alocc.reconstruct(x).sub(x).square().flatten(1).mean(1).toFloat32Array();
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(sr[i]! - mse[i]!) < 1e-5);
  alocc.dispose();
  recon.dispose();
  refusesEnum('alocc', 'score', 'dd', /'d' or 'recon'/);
});

test('anogan: the latent search lowers its loss and scores an image alone as in a batch; f-AnoGAN encoder learns digit 1 vs rest; bad search named', async () => {
  // a GAN needs more steps than an autoencoder: 8 epochs of 16 steps at lr 2e-3, then 3 encoder epochs
  const { d, auroc } = await learnDigitOne('anogan', { nz: 16, ngf: 8, ndf: 8, search: 'encoder', encoderEpochs: 3, iterations: 20 }, 8, 'anogan', { batchSize: 16, lr: 2e-3 });
  assert.ok(auroc > 0.8, `f-anogan (encoder), digit 1 vs rest: AUROC ${auroc}`);
  const enc = d as Anogan;
  assert.deepEqual(capabilities(enc), ['maps', 'reconstruct', 'features', 'sample']);
  // the iterative search of the same weights
  const it = createDetector('anogan', { ...enc.hparams, search: 'iterative' }) as Anogan;
  it.loadStateDict(enc.stateDict());
  manualSeed(2);
  const x = randn([6, 1, 16, 16]).mul(0.5).tanh();
  const r = it.search(x);
  const [l0, l1] = [r.initialLoss.toFloat32Array(), r.loss.toFloat32Array()];
  for (let i = 0; i < 6; i++) assert.ok(l1[i]! < l0[i]!, `image ${i}: loss ${l0[i]} -> ${l1[i]} after 20 steps`);
  const s = it.score(x).scores;
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(s[i]! - l1[i]!) <= 1e-5 * l1[i]!, 'score = the loss at z_Gamma');
  const one = it.score(x.narrow(0, 4, 1)).scores[0]!;
  assert.ok(Math.abs(one - s[4]!) <= 1e-4 * s[4]!, `alone ${one} vs in the batch ${s[4]}`);
  const a = it.sample(3, { seed: 5 }).toFloat32Array();
  const b = it.sample(3, { seed: 5 }).toFloat32Array();
  assert.deepEqual(Array.from(a), Array.from(b), 'seeded samples');
  enc.dispose();
  it.dispose();
  refusesEnum('anogan', 'search', 'gradient', /'iterative' or 'encoder'/);
  assert.throws(
    () => createDetector('anogan', { search: 'encoder', encoderEpochs: 0 }),
    (e: Error) => e instanceof AnogenError && /encoderEpochs/.test(e.message),
  );
});
