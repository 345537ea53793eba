// Every registered generative model (src/models) through the same checks: a few steps of
// training on a tiny MNIST subset through the pipeline, the losses move, samples have the right
// shape and range, the bundle round-trips (the same seed gives the same samples after reload),
// and a bad hyperparameter is refused naming it. Then the CLI: train, help, models, sample
// (the same seed writes a byte-identical PNG), and a generator bundle given to a detector verb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { AnogenError } from '../../src/core/index.js';
import { createGenerator, generatorNames, getGenerator } from '../../src/models/index.js';
import { loadGeneratorBundle, readGeneratorConfig, trainGenerator } from '../../src/pipeline/generate.js';
import { loadBundle } from '../../src/detectors/bundle.js';
import { CriticSchedule } from '../../src/models/wgan/step.js';
import { discriminatorLoss, generatorLoss } from '../../src/models/gan/loss.js';
import { tensor } from '../../src/core/index.js';
import { runCli } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-generators-'));
const BAD: Record<string, [Record<string, unknown>, RegExp]> = {
  gan: [{ loss: 'wasserstein' }, /gan loss: "wasserstein" is not valid; expected .*minimax.*non-saturating/],
  wgan: [{ clip: -0.01 }, /wgan clip: -0.01 is not valid; expected a number >= 0/],
  'wgan-gp': [{ lambda: -1 }, /wgan-gp lambda: -1 is not valid; expected a number >= 0/],
  pixelcnn: [{ kernel: 4 }, /pixelcnn kernel: 4 is not valid; expected an odd integer/],
  pixelrnn: [{ firstKernel: 4 }, /pixelrnn firstKernel: 4 is not valid; expected an odd integer/],
  pix2pix: [{ task: 'colorize' }, /pix2pix task: "colorize" is not valid; expected .*degrade.*edges/],
  cyclegan: [{ lambdaCycle: -1 }, /cyclegan lambdaCycle: -1 is not valid; expected a number >= 0/],
};

test('the registry holds gan, wgan and wgan-gp', () => {
  for (const n of ['gan', 'wgan', 'wgan-gp']) assert.ok(generatorNames().includes(n), n);
});

for (const name of generatorNames()) {
  test(`${name}: trains on a tiny subset, its losses move, samples are in range, the bundle round-trips`, async () => {
    const entry = getGenerator(name);
    const out = path.join(tmp, name);
    const r = await trainGenerator({
      generator: name,
      data: { data: 'mnist', classes: ['1'], seed: 0 },
      epochs: 1,
      batchSize: 16,
      trainLimit: 64,
      imageSize: 16,
      out,
      hparams: { ...entry.tiny, isize: undefined },
      device: 'cpu',
    });
    try {
      const h = r.report.history;
      assert.equal(h.length, 4, '64 images in batches of 16');
      const moved = (k: string) => {
        const v = h.map((row) => row[k]).filter((x): x is number => x !== undefined);
        assert.ok(v.length >= 2, `${name}: loss '${k}' reported at least twice`);
        assert.ok(v.every(Number.isFinite), `${name}: '${k}' finite`);
        assert.ok(new Set(v).size > 1, `${name}: '${k}' moves (${v.join(', ')})`);
      };
      if (entry.lossDocs?.d === undefined) {
        // likelihood models (pixelcnn, pixelrnn): every loss they declare moves
        for (const k of Object.keys(entry.lossDocs ?? {})) moved(k);
      } else {
        moved('d');
        moved('g');
        assert.ok(
          h.some((row) => (row.gGradNorm ?? 0) > 0),
          `${name}: the generator's gradient norm is logged`,
        );
      }
      const s = r.model.sample(10, { seed: 5 });
      assert.deepEqual(s.shape, [10, 1, 16, 16]);
      const [lo, hi] = [s.min().item(), s.max().item()];
      assert.ok(lo >= -1 && hi <= 1 && hi > lo, `${name}: samples in [-1, 1] and not constant (${lo}..${hi})`);
      const cfg = readGeneratorConfig(out);
      assert.equal(cfg.kind, 'generator');
      assert.equal(cfg.generator, name);
      assert.equal(cfg.hparams.isize, 16);
      const b = loadGeneratorBundle(out);
      try {
        const s2 = b.model.sample(10, { seed: 5 });
        assert.equal(s2.sub(s).abs().max().item(), 0, `${name}: the reloaded bundle samples the same images`);
        const other = b.model.sample(10, { seed: 6 });
        assert.ok(other.sub(s).abs().max().item() > 0, 'another seed gives other images');
        const batched = b.model.sample(10, { seed: 5, batchSize: 3 });
        assert.ok(batched.sub(s).abs().max().item() < 1e-5, 'the batch size does not change the samples');
      } finally {
        b.model.dispose();
      }
    } finally {
      r.model.dispose();
    }
    const [bad, msg] = BAD[name] ?? [{ nz: 0 }, /nz: 0 is not valid/];
    assert.throws(
      () => createGenerator(name, bad),
      (e: unknown) => e instanceof AnogenError && msg.test(e.message),
    );
    if (entry.schema.isize?.type === 'int' && entry.schema.isize.check?.(24)) {
      assert.throws(() => createGenerator(name, { isize: 24 }), /isize: 24 is not valid; expected a power of two >= 16/);
    }
  });
}

test('GAN losses: minimax saturates where D rejects the fakes, non-saturating does not', () => {
  const l = [-6, -2, 0, 2];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  for (const [kind, want] of [
    ['minimax', (v: number) => -sig(v) / l.length],
    ['non-saturating', (v: number) => -(1 - sig(v)) / l.length],
  ] as const) {
    const x = tensor(l).requiresGrad_();
    generatorLoss(x, kind).backward();
    const g = x.grad!.toFloat32Array();
    l.forEach((v, i) => assert.ok(Math.abs(g[i]! - want(v)) < 1e-6, `${kind} dL/dl at ${v}: ${g[i]} vs ${want(v)}`));
  }
  const d = discriminatorLoss(tensor([3]), tensor([-3]));
  assert.ok(Math.abs(d.total.item() - 2 * Math.log1p(Math.exp(-3))) < 1e-6, 'bce(3, 1) + bce(-3, 0)');
  assert.throws(() => generatorLoss(tensor([0]), 'hinge' as never), /loss "hinge" is not valid; expected minimax or non-saturating/);
});

test("WGAN's critic schedule: n critic steps per generator step, the authors' 100-step warm-up, restartable", () => {
  const plain = new CriticSchedule(5, false);
  const gens = Array.from({ length: 20 }, (_, s) => s).filter((s) => plain.isGeneratorStep(s));
  assert.deepEqual(gens, [4, 9, 14, 19]);
  const warm = new CriticSchedule(5, true);
  const g = Array.from({ length: 3000 }, (_, s) => s).filter((s) => warm.isGeneratorStep(s));
  assert.deepEqual(g.slice(0, 3), [99, 199, 299], '100 critic steps for the first 25 generator steps');
  assert.equal(g[25], 2500 + 4, 'then 5');
  assert.equal(new CriticSchedule(5, true).isGeneratorStep(2504), true, 'a fresh schedule (a resumed run) agrees');
});

test('CLI: train a generator, help and models list it, sample writes the same PNG for the same seed', async () => {
  const help = await runCli('help', 'train', 'wgan-gp');
  assert.equal(help.code, 0, help.err);
  assert.match(help.out, /--lambda <number>\s+wgan-gp: gradient penalty weight \(>= 0, <= 1000000\) \(default 10\)/);
  assert.match(help.out, /--n-critic <int>\s+wgan-gp: critic iterations per generator iteration/);
  assert.match(help.out, /--epochs <int>\s+training epochs \(default 25\)/);
  assert.doesNotMatch(help.out, /--isize|--protocol|--threshold/);
  // pixelcnn is a generator and a detector: its help gives both, the detector's after --protocol
  const both = (await runCli('help', 'train', 'pixelcnn')).out;
  assert.match(both, /anogen sample <bundle>[\s\S]*With --protocol, `anogen train pixelcnn` trains the pixelcnn DETECTOR[\s\S]*--protocol <value>/);
  const models = await runCli('models');
  assert.match(models.out, /Generative models[^\n]*\n(?:.*\n)*gan\s+GAN \(Goodfellow/);
  assert.match(models.out, /wgan-gp\s+WGAN-GP/);

  const bundle = path.join(tmp, 'cli-gan');
  const args = ['--data', 'mnist', '--normal', '7', '--train-limit', '32', '--batch-size', '16', '--epochs', '1', '--image-size', '16', '--nz', '8', '--ngf', '8', '--ndf', '8'];
  const bad = await runCli('train', 'gan', ...args, '--loss', 'hinge', '--out', bundle);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--loss: "hinge" is not valid; expected .*minimax.*non-saturating/);
  assert.ok(!fs.existsSync(bundle), 'nothing written for a bad option');
  const t = await runCli('train', 'gan', ...args, '--loss', 'minimax', '--out', bundle, '--quiet', '--device', 'cpu');
  assert.equal(t.code, 0, t.err);
  assert.equal(t.out.trim(), bundle);
  const cfg = readGeneratorConfig(bundle);
  assert.equal(cfg.hparams.loss, 'minimax');
  assert.deepEqual((cfg.data as { classes: string[] }).classes, ['7']);
  const again = await runCli('train', 'gan', ...args, '--out', bundle, '--quiet');
  assert.equal(again.code, 2);
  assert.match(again.err, /already holds an anogen bundle.*pass --force/);

  const a = path.join(tmp, 'a.png');
  const b = path.join(tmp, 'b.png');
  const c = path.join(tmp, 'c.png');
  for (const [file, seed] of [
    [a, '3'],
    [b, '3'],
    [c, '4'],
  ]) {
    const s = await runCli('sample', bundle, '--n', '12', '--nrow', '4', '--seed', seed, '--out', file);
    assert.equal(s.code, 0, s.err);
  }
  assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), 'the same seed writes a byte-identical PNG');
  assert.ok(!fs.readFileSync(a).equals(fs.readFileSync(c)), 'another seed another grid');
  const meta = await sharp(a).metadata();
  assert.deepEqual([meta.width, meta.height], [4 * 18 + 2, 3 * 18 + 2], '4 x 3 tiles of 16 px with 2 px padding');

  const asDetector = await runCli('eval', bundle);
  assert.equal(asDetector.code, 2);
  assert.match(asDetector.err, /a generator bundle \(gan\), not a detector: it samples images \(anogen sample/);
  assert.throws(() => loadBundle(bundle), /a generator bundle \(gan\), not a detector/);
  const notGen = await runCli('sample', path.join(tmp, 'nope'));
  assert.equal(notGen.code, 2);
  assert.match(notGen.err, /no such folder/);
});
