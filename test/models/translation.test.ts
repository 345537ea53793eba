// The translation models (pix2pix, cyclegan) beyond the parametrised generator test: their loss
// formulas against hand computations (pix2pix's 100 * L1 term, CycleGAN's cycle and identity
// terms, zero for identity generators), the paired inputs (degrade, edges), the unpaired batches
// (A over B, B shuffled on its own), bundle round trips with the probe images, and the
// input | output | target grid of `anogen sample`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { AnogenError, manualSeed, randn, rand, tensor, type Tensor } from '../../src/core/index.js';
import { Cyclegan, Pix2pix, UnpairedSource, degradeImages, sobelEdges, splitUnpaired } from '../../src/models/index.js';
import { pix2pixGeneratorLoss } from '../../src/models/pix2pix/loss.js';
import { patchReceptiveField } from '../../src/models/pix2pix/networks.js';
import { cycleGeneratorLosses } from '../../src/models/cyclegan/loss.js';
import { TensorSource } from '../../src/train/source.js';
import { loadGeneratorBundle, saveGeneratorBundle } from '../../src/pipeline/generate.js';
import { runCli } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-translation-'));
const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
const meanAbs = (v: Float32Array) => v.reduce((s, x) => s + Math.abs(x), 0) / v.length;

/** Digit-like images in [-1, 1]: black with a bright square. */
function blobs(n: number, size: number, seed: number): Tensor {
  manualSeed(seed);
  const x = rand([n, 1, size, size]).mul(0.2).sub(1);
  const d = x.toFloat32Array();
  for (let i = 0; i < n; i++) for (let y = 4; y < size - 4; y++) for (let c = 4 + (i % 3); c < size - 4; c++) d[(i * size + y) * size + c] = 0.9;
  return tensor(d, { shape: [n, 1, size, size] });
}

test('pix2pix generator loss = bce(D(x, G(x)), 1) + 100 * mean |y - G(x)|, by hand on a fixed batch', () => {
  const logits = [-2, -0.5, 0, 1.5, 3, -1];
  const out = [0.1, -0.4, 0.9, -1, 0.25, 0.5, -0.75, 0];
  const tgt = [0.3, -1, 1, -1, -0.25, 0, 0.5, 0.2];
  const g = pix2pixGeneratorLoss(tensor(logits, { shape: [1, 1, 2, 3] }), tensor(out, { shape: [2, 1, 2, 2] }), tensor(tgt, { shape: [2, 1, 2, 2] }), 100);
  const gan = logits.reduce((s, l) => s + Math.log1p(Math.exp(-l)), 0) / logits.length;
  const l1 = out.reduce((s, o, i) => s + Math.abs(o - tgt[i]!), 0) / out.length;
  assert.ok(close(g.gan.item(), gan), `cGAN term ${g.gan.item()} vs ${gan}`);
  assert.ok(close(g.l1.item(), l1), `L1 ${g.l1.item()} vs ${l1}`);
  assert.ok(close(g.total.item(), gan + 100 * l1), `total ${g.total.item()} vs ${gan + 100 * l1}`);
});

test("pix2pix: the step's generator loss is gGan + lambdaL1 * gL1 (100 by default); sample translates seeded probe inputs; the bundle round-trips", async () => {
  const m = new Pix2pix({ isize: 16, ngf: 8, ndf: 8, probe: 8 });
  assert.equal(m.hparams.lambdaL1, 100);
  assert.equal(m.nz, 0);
  assert.equal(patchReceptiveField(3), 70, "the paper's 70 x 70 PatchGAN");
  assert.equal(m.patchSize, 16, 'one stride-2 layer: 16 px patches');
  const x = blobs(16, 16, 1);
  try {
    assert.throws(() => m.sample(4), /holds no probe images yet \(train it first/);
    const r = await m.fit(new TensorSource(x), { epochs: 1, batchSize: 8, seed: 3 });
    assert.equal(r.history.length, 2);
    for (const h of r.history) assert.ok(close(h.g!, h.gGan! + 100 * h.gL1!, 1e-4), `g ${h.g} = gGan ${h.gGan} + 100 gL1 ${h.gL1}`);
    const s = m.sample(5, { seed: 2 });
    assert.deepEqual(s.shape, [5, 1, 16, 16]);
    assert.throws(() => m.sample(2, { classes: [0, 1] }), /classes apply to conditional generators/);
    const out = path.join(tmp, 'p2p');
    saveGeneratorBundle(out, m);
    const b = loadGeneratorBundle(out);
    try {
      assert.equal(b.model.sample(5, { seed: 2 }).sub(s).abs().max().item(), 0, 'the reloaded bundle translates the same probe inputs the same way');
      const keys = [...b.model.stateDict().keys()];
      assert.ok(keys.includes('probe.images') && keys.includes('probe.count') && keys.some((k) => k.startsWith('netD.model.')));
      const rows = (b.model as Pix2pix).sampleRows(3, { seed: 2 });
      assert.equal(
        rows.output
          .sub(s.narrow(0, 0, 3))
          .abs()
          .max()
          .item(),
        0,
        'rows: the same outputs as sample',
      );
      assert.ok(rows.input.sub(rows.target).abs().max().item() > 0.5, 'the input is the degraded target');
      assert.equal(rows.target.narrow(0, 0, 1).sub(x).abs().amax([1, 2, 3]).min().item(), 0, 'the target row holds probe (training) images');
    } finally {
      b.model.dispose();
    }
    // a translation grid: per nrow samples a row of inputs, outputs, targets (n 8, nrow 4: 6 rows)
    const png = path.join(tmp, 'p2p.png');
    const c = await runCli('sample', out, '--n', '8', '--nrow', '4', '--out', png);
    assert.equal(c.code, 0, c.err);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height], [4 * 18 + 2, 6 * 18 + 2]);
    // --input: the given files, preprocessed as the training images (28 px resized to 16), a row of inputs and a row of outputs
    const files = [0, 1, 2].map((i) => path.join(tmp, `in${i}.png`));
    for (const [i, f] of files.entries())
      await sharp(Buffer.alloc(28 * 28, 40 * i), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(f);
    const tr = path.join(tmp, 'tr.png');
    const t = await runCli('sample', out, '--input', files.join(','), '--out', tr);
    assert.equal(t.code, 0, t.err);
    const tm = await sharp(tr).metadata();
    assert.deepEqual([tm.width, tm.height], [3 * 18 + 2, 2 * 18 + 2], 'one row of 3 inputs, one of 3 outputs');
  } finally {
    x.dispose();
    m.dispose();
  }
});

test('CycleGAN losses: cycle and identity are zero for identity generators; by hand for G = F = x / 2', () => {
  manualSeed(0);
  const a = randn([2, 1, 4, 4]).tanh();
  const b = randn([2, 1, 4, 4]).tanh();
  const zeroD = (x: Tensor) => x.mul(0).sum([1], true);
  const w = { lambdaCycle: 10, lambdaIdentity: 0.5 };
  const id = cycleGeneratorLosses({ G: (x) => x, F: (x) => x, DA: zeroD, DB: zeroD }, a, b, w);
  assert.equal(id.cycle.item(), 0, 'F(G(a)) = a and G(F(b)) = b: no cycle loss');
  assert.equal(id.identity.item(), 0);
  assert.ok(close(id.adversarial.item(), 2), 'least squares: (0 - 1)^2 for each generator');
  const half = cycleGeneratorLosses({ G: (x) => x.mul(0.5), F: (x) => x.mul(0.5), DA: zeroD, DB: zeroD }, a, b, w);
  const [ma, mb] = [meanAbs(a.toFloat32Array()), meanAbs(b.toFloat32Array())];
  assert.ok(close(half.cycle.item(), 10 * 0.75 * (ma + mb)), `cycle ${half.cycle.item()} = 10 (|a/4 - a| + |b/4 - b|)`);
  assert.ok(close(half.identity.item(), 0.5 * 10 * 0.5 * (ma + mb)), `identity ${half.identity.item()} = 5 (|b/2 - b| + |a/2 - a|)`);
  assert.ok(close(half.total.item(), 2 + half.cycle.item() + half.identity.item()));
  const noId = cycleGeneratorLosses({ G: (x) => x.mul(0.5), F: (x) => x.mul(0.5), DA: zeroD, DB: zeroD }, a, b, { lambdaCycle: 10, lambdaIdentity: 0 });
  assert.equal(noId.identity.item(), 0, 'lambdaIdentity 0 drops the identity terms');
});

test('cyclegan: trains on A over B batches, needs domain B, sample is G(a) of probe images, rows end in F(G(a)); the bundle round-trips', async () => {
  const a = blobs(8, 16, 1);
  const bImgs = blobs(6, 16, 2).neg();
  const m = new Cyclegan({ isize: 16, ngf: 4, ndf: 4, nBlocks: 1, probe: 4 });
  try {
    assert.deepEqual(m.domainB, { data: 'fashion-mnist' });
    await assert.rejects(m.fit(a, { epochs: 1 }), (e: unknown) => e instanceof AnogenError && /domain B is missing; pass its images as sourceB/.test(e.message));
    const r = await m.fit(a, { sourceB: bImgs, epochs: 1, batchSize: 4, seed: 1 });
    assert.equal(r.history.length, 2, 'one epoch is one pass over A');
    for (const h of r.history) assert.ok(close(h.g!, h.gAdv! + h.cycle! + h.identity!, 1e-4) && close(h.d!, h.dA! + h.dB!, 1e-4));
    const s = m.sample(3, { seed: 0 });
    const rows = m.sampleRows(3, { seed: 0 });
    assert.equal(rows.output.sub(s).abs().max().item(), 0);
    const back = m.translateBack(rows.output);
    assert.ok(back.sub(rows.target).abs().max().item() < 1e-6, 'the third row is the cycle F(G(a))');
    const out = path.join(tmp, 'cyc');
    saveGeneratorBundle(out, m);
    const b = loadGeneratorBundle(out);
    try {
      assert.equal(b.model.sample(3, { seed: 0 }).sub(s).abs().max().item(), 0);
      assert.ok([...b.model.stateDict().keys()].some((k) => k.startsWith('netG_B.model.')));
    } finally {
      b.model.dispose();
    }
  } finally {
    m.dispose();
    a.dispose();
    bImgs.dispose();
  }
});

test('UnpairedSource: A at the positions over as many B images, B drawn from its own seeded shuffles (each once per pass)', async () => {
  const a = tensor(
    Array.from({ length: 6 }, (_, i) => i),
    { shape: [6, 1, 1, 1] },
  );
  const b = tensor(
    Array.from({ length: 5 }, (_, i) => 100 + i),
    { shape: [5, 1, 1, 1] },
  );
  const run = async (seed: number) => {
    const src = new UnpairedSource(new TensorSource(a), new TensorSource(b), seed);
    const got: number[][] = [];
    for (const pos of [
      [3, 1],
      [0, 5],
      [2, 4],
    ]) {
      const x = await src.get(pos, 'cpu');
      const [xa, xb] = splitUnpaired(x);
      assert.deepEqual(Array.from(xa.toFloat32Array()), pos);
      got.push(Array.from(xb.toFloat32Array()));
      x.dispose();
    }
    return got.flat();
  };
  const g = await run(7);
  assert.deepEqual([...g.slice(0, 5)].sort(), [100, 101, 102, 103, 104], 'the first 5 B images are a permutation of B');
  assert.deepEqual(await run(7), g, 'the same seed, the same B stream');
  assert.notDeepEqual(await run(8), g, 'another seed, another B stream');
  assert.throws(() => splitUnpaired(a.narrow(0, 0, 3)), /an even count/);
});

test('paired inputs: Sobel edges of a step and of a flat image; degrade = 4x down-up or a mid-gray block', () => {
  const flat = tensor(new Float32Array(2 * 16 * 16).fill(-1), { shape: [2, 1, 16, 16] });
  assert.ok(sobelEdges(flat).max().item() < -0.9999, 'no edge: black');
  const step = tensor(
    Array.from({ length: 16 * 16 }, (_, i) => (i % 16 < 8 ? -1 : 1)),
    { shape: [1, 1, 16, 16] },
  );
  const e = sobelEdges(step).toFloat32Array();
  assert.equal(e[5 * 16 + 7], 1, 'the step is a white edge');
  assert.ok(e[5 * 16 + 2]! < -0.9999, 'away from it: black');
  manualSeed(4);
  const x = blobs(32, 16, 3);
  manualSeed(9);
  const d = degradeImages(x);
  manualSeed(9);
  assert.equal(degradeImages(x).sub(d).abs().max().item(), 0, 'seeded');
  const dv = d.toFloat32Array();
  const xv = x.toFloat32Array();
  let down = 0;
  let masked = 0;
  for (let i = 0; i < 32; i++) {
    const img = dv.subarray(i * 256, (i + 1) * 256);
    const diff = img.map((v, k) => v - xv[i * 256 + k]!);
    const changed = diff.filter((v) => v !== 0).length;
    const grays = img.filter((v) => v === 0).length;
    if (grays === 36 && changed <= 36) masked++;
    else down++;
  }
  assert.equal(masked + down, 32);
  assert.ok(masked > 4 && down > 4, `both degradations occur (${masked} masked with a 6 x 6 block, ${down} downsampled)`);
});
