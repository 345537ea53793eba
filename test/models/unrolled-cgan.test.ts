// unrolled-gan and cgan beyond the parametrised generator test (test/models/generators.test.ts):
// - unrolled-gan: with K = 0 the generator's update is exactly gan's (same seed); with K > 0 it
//   differs; the surrogate's gradient matches finite differences of f_K (float64) and differs from
//   the gradient with the unrolled updates cut off from G (so it does flow through them).
// - cgan: the loop hands the batch's labels to the step; the generator's output depends on y for a
//   fixed z and each image comes from its own class's code; a bundle round-trips with classes;
//   `anogen sample --class` and the one-row-per-class grid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { grad, noGrad } from '../../src/core/autograd.js';
import { randn, tensor } from '../../src/core/creation.js';
import { manualSeed } from '../../src/core/runtime.js';
import type { Tensor } from '../../src/core/tensor.js';
import { Adam } from '../../src/optim/index.js';
import { trainLoop } from '../../src/train/loop.js';
import { TensorSource } from '../../src/train/source.js';
import { AdversarialNetworks } from '../../src/models/gan/networks.js';
import { Gan } from '../../src/models/gan/model.js';
import { discriminatorLoss, generatorLoss } from '../../src/models/gan/loss.js';
import { UnrolledGan } from '../../src/models/unrolled-gan/model.js';
import { discriminatorForward } from '../../src/models/unrolled-gan/functional.js';
import { unrollDiscriminator, type UnrollOptimizer } from '../../src/models/unrolled-gan/step.js';
import { Cgan } from '../../src/models/cgan/model.js';
import { loadGeneratorBundle, saveGeneratorBundle } from '../../src/pipeline/generate.js';
import { runCli } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-unrolled-cgan-'));
const TINY = { isize: 16, nz: 8, ngf: 8, ndf: 8 };
const maxDiff = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();

function generatorWeights(m: { stateDict(): Map<string, Tensor> }): Map<string, Tensor> {
  return new Map([...m.stateDict()].filter(([k, t]) => k.startsWith('netG') && t.dtype === 'float32'));
}

test("unrolled-gan: K = 0 ('generator' surrogate) updates the generator exactly as gan; K = 2 differently", async () => {
  manualSeed(3);
  const x = randn([32, 1, 16, 16]).tanh();
  const fit = async (m: Gan | UnrolledGan) => {
    await m.fit(x, { epochs: 1, batchSize: 16, seed: 1 });
    return generatorWeights(m);
  };
  const plain = await fit(new Gan(TINY));
  const k0 = await fit(new UnrolledGan({ ...TINY, unrollSteps: 0, unrollSurrogate: 'generator' }));
  const k2 = await fit(new UnrolledGan({ ...TINY, unrollSteps: 2 }));
  let d0 = 0;
  let d2 = 0;
  for (const [k, w] of plain) {
    d0 = Math.max(d0, maxDiff(w, k0.get(k)!));
    d2 = Math.max(d2, maxDiff(w, k2.get(k)!));
  }
  assert.equal(d0, 0, 'K = 0: the same generator weights as gan after 2 steps');
  assert.ok(d2 > 1e-5, `K = 2: other generator weights (max difference ${d2})`);
});

for (const kind of ['sgd', 'adam'] as UnrollOptimizer[]) {
  test(`unrolled-gan (${kind}): the generator's gradient is the derivative of the unrolled surrogate f_K`, () => {
    manualSeed(7);
    const nets = new AdversarialNetworks({ ...TINY, nc: 1 }).to('float64');
    const { netG, netD } = nets;
    const x = randn([8, 1, 16, 16], { dtype: 'float64' }).tanh();
    const z = randn([8, 8, 1, 1], { dtype: 'float64' });
    const lr = kind === 'sgd' ? 0.5 : 0.05;
    const optD = new Adam(netD.parameters(), { lr, betas: [0.5, 0.999] });
    // One real D step first, so Adam's unroll starts from a state (as in training).
    discriminatorLoss(netD.call(x), netD.call(noGrad(() => netG.call(z)))).total.backward();
    optD.step();
    const K = 2;
    const surrogate = (detachUnroll = false): Tensor => {
      const fake = netG.call(z);
      const { subst } = unrollDiscriminator(netD, optD, x, detachUnroll ? fake.detach() : fake, K, kind, lr, [0.5, 0.999]);
      return generatorLoss(discriminatorForward(netD, fake, subst), 'non-saturating');
    };
    const params = netG.parameters();
    const gFull = grad(surrogate(), params) as Tensor[];
    const gCut = grad(surrogate(true), params) as Tensor[];
    // a random unit direction over every generator parameter
    const dir = params.map((p) => randn(p.shape, { dtype: 'float64' }));
    const norm = Math.sqrt(dir.reduce((s, d) => s + d.square().sum().item(), 0));
    const dot = (gs: Tensor[]) => gs.reduce((s, g, i) => s + g.mul(dir[i]!).sum().item(), 0) / norm;
    const eps = kind === 'sgd' ? 1e-5 : 1e-7;
    const shift = (sign: number) => noGrad(() => params.forEach((p, i) => p.add_(dir[i]!, (sign * eps) / norm)));
    shift(1);
    const fPlus = surrogate().item();
    shift(-2);
    const fMinus = surrogate().item();
    shift(1);
    const fd = (fPlus - fMinus) / (2 * eps);
    const full = dot(gFull);
    const cut = dot(gCut);
    assert.ok(Math.abs(full - fd) < 1e-5 * Math.max(1, Math.abs(fd)), `${kind}: autograd ${full} vs finite differences ${fd}`);
    assert.ok(Math.abs(cut - fd) > 100 * Math.abs(full - fd) && Math.abs(cut - fd) > 1e-6, `${kind}: without the unrolled path the gradient is off (${cut} vs ${fd})`);
    optD.dispose();
    nets.dispose();
  });
}

test('the loop hands each batch its own labels (ctx.labels from TensorSource / BatchSource.labels)', async () => {
  const n = 20;
  const x = tensor(Array.from({ length: n }, (_, i) => i)).view([n, 1, 1, 1]);
  const src = new TensorSource(
    x,
    Array.from({ length: n }, (_, i) => (i * 7) % 10),
  );
  let checked = 0;
  await trainLoop(
    () => ({
      optimizers: {},
      step(b, ctx) {
        const ids = b.view([-1]).toFloat32Array();
        assert.ok(ctx.labels !== undefined);
        assert.deepEqual(
          [...ctx.labels],
          [...ids].map((i) => (i * 7) % 10),
        );
        checked += ids.length;
        return { losses: { l: tensor(0) }, update: () => undefined };
      },
      dispose: () => undefined,
    }),
    src,
    { epochs: 2, batchSize: 6, seed: 4 },
  );
  assert.equal(checked, 2 * 18, 'every image of 3 full batches per epoch');
  assert.throws(() => new TensorSource(x, [1, 2]), /training labels: expected 20 \(one per image\), got 2/);
  await assert.rejects(
    new Cgan(TINY).fit(x.expand([n, 1, 16, 16]).contiguous(), { epochs: 1, batchSize: 10 }),
    /cgan trains on class-labelled images: the batch source gave no labels/,
  );
});

test('cgan: images follow the requested class; the bundle round-trips with classes; anogen sample --class', async () => {
  manualSeed(5);
  const x = randn([40, 1, 16, 16]).tanh();
  const labels = Array.from({ length: 40 }, (_, i) => i % 4);
  const model = new Cgan({ ...TINY, numClasses: 4 });
  const r = await model.fit(new TensorSource(x, labels), { epochs: 1, batchSize: 10 });
  assert.equal(r.steps, 4);
  const a = model.sample(4, { seed: 2, classes: [0, 0, 0, 0] });
  const b = model.sample(4, { seed: 2, classes: [3, 3, 3, 3] });
  assert.ok(maxDiff(a, b) > 1e-3, 'the same z, another class: other images');
  const mixed = model.sample(4, { seed: 2, classes: [0, 3, 3, 0] });
  for (const [i, from] of [
    [0, a],
    [1, b],
    [2, b],
    [3, a],
  ] as const) {
    assert.ok(maxDiff(mixed.narrow(0, i, 1), from.narrow(0, i, 1)) < 1e-5, `image ${i} comes from its own class's code`);
  }
  assert.throws(() => model.sample(2, { classes: [0, 4] }), /cgan sample: classes must be 2 integers in \[0, 3\]/);
  assert.throws(() => new Gan(TINY).sample(2, { classes: [0, 1] }), /gan sample: classes apply to conditional generators \(cgan\); gan is unconditional/);

  const dir = path.join(tmp, 'cgan');
  saveGeneratorBundle(dir, model);
  const loaded = loadGeneratorBundle(dir);
  try {
    assert.equal(loaded.model.numClasses, 4);
    assert.equal(maxDiff(loaded.model.sample(4, { seed: 2, classes: [0, 3, 3, 0] }), mixed), 0, 'the reloaded bundle samples the same images per class');
  } finally {
    loaded.model.dispose();
    model.dispose();
  }

  const png = path.join(tmp, 'grid.png');
  const grid = await runCli('sample', dir, '--nrow', '5', '--out', png);
  assert.equal(grid.code, 0, grid.err);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [5 * 18 + 2, 4 * 18 + 2], 'default: one row of 5 per class, 4 classes');
  const one = path.join(tmp, 'one.png');
  const c3 = await runCli('sample', dir, '--class', '3', '--n', '5', '--nrow', '5', '--out', one);
  assert.equal(c3.code, 0, c3.err);
  const { data: gridPx, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const { data: onePx } = await sharp(one).raw().toBuffer({ resolveWithObject: true });
  const rowBytes = info.width * info.channels;
  const row = (buf: Buffer, r: number) => buf.subarray((2 + r * 18) * rowBytes, (2 + r * 18 + 16) * rowBytes);
  assert.ok(!row(onePx, 0).equals(row(gridPx, 0)), '--class 3 is not class 0');
  const bad = await runCli('sample', dir, '--class', '4', '--out', one);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--class 4 is not valid; expected a class in 0\.\.3/);
});

test('anogen sample --class on an unconditional bundle is refused naming the option', async () => {
  const dir = path.join(tmp, 'gan');
  const g = new Gan(TINY);
  saveGeneratorBundle(dir, g);
  g.dispose();
  const r = await runCli('sample', dir, '--class', '1', '--out', path.join(tmp, 'g.png'));
  assert.equal(r.code, 2);
  assert.match(r.err, /--class 1: gan is not a conditional generator/);
});
