// Deep SVDD, ALOCC and AnoGAN / f-AnoGAN: each learns MNIST digit 1 vs rest at 16 px in seconds
// through the pipeline; bad enum values are refused naming the option; Deep SVDD's center and
// exact resume across its two phases; AnoGAN's latent search lowers its loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, manualSeed, randn, type Tensor } from '../../src/core/index.js';
import { Alocc, capabilities, createDetector, DeepSvdd, type LoopState } from '../../src/detectors/index.js';
import { train } from '../../src/pipeline/train.js';
import { evaluate } from '../../src/pipeline/evaluate.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-svdd-alocc-anogan-'));
const data = { data: 'mnist', protocol: 'one-vs-rest' as const, normal: '1', seed: 0, valFraction: 0.1 };

/** Trains `detector` on 256 images of digit 1 at 16 px and returns it with its AUROC on 300 test images. */
async function learnDigitOne(detector: string, hparams: Record<string, unknown>, epochs: number, tag = detector) {
  const out = path.join(tmp, tag);
  const t0 = performance.now();
  const r = await train({ detector, data, trainLimit: 256, valLimit: 128, imageSize: 16, epochs, batchSize: 32, out, hparams, device: 'cpu' });
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
