// PixelCNN and PixelRNN (src/models/pixelcnn, src/models/pixelrnn) and the pixelcnn detector:
// the masks' causality (an output pixel's gradient never reaches its own or a later input pixel;
// the gated PixelCNN has no blind spot), bits/dim on a known case, a few NLL steps lower the NLL,
// the fast sampling paths (receptive-field crop, cached Row LSTM states) sample exactly what a
// full forward pass per pixel samples, and the detector's score is the model's bits/dim.
// Sampling shapes, ranges and bundles are covered for both by test/models/generators.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { grad, manualSeed, noGrad, randn, tensor, zeros, type Tensor } from '../../src/core/index.js';
import type { Module } from '../../src/nn/module.js';
import { maskValues } from '../../src/models/pixelcnn/masked-conv.js';
import { bitsPerDim, croppingStepper, discretize, sampleAutoregressive, type RowStepper } from '../../src/models/pixelcnn/autoregressive.js';
import { PixelCnn } from '../../src/models/pixelcnn/model.js';
import { PixelRnn } from '../../src/models/pixelrnn/model.js';
import { PixelCnnDetector } from '../../src/detectors/pixelcnn/detector.js';
import { generatorInArgs } from '../../src/cli/commands/train-generator.js';
import { readGeneratorConfig, TEST_NLL_IMAGES, trainGenerator } from '../../src/pipeline/generate.js';

const S = 8;

test('masks A and B: raster (PixelCNN, horizontal stack) and vertical stack', () => {
  assert.deepEqual(Array.from(maskValues(3, 3, 'A', 'raster')), [1, 1, 1, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(maskValues(3, 3, 'B', 'raster')), [1, 1, 1, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(maskValues(1, 3, 'A', 'raster')), [1, 0, 0]);
  assert.deepEqual(Array.from(maskValues(1, 3, 'B', 'raster')), [1, 1, 0]);
  assert.deepEqual(Array.from(maskValues(3, 3, 'A', 'vertical')), [1, 1, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(maskValues(3, 3, 'B', 'vertical')), [1, 1, 1, 1, 1, 1, 0, 0, 0]);
});

/**
 * For every output pixel p: which input pixels reach its logits (|d logits_p / d x_q| > 0), as
 * S*S booleans per p. One backward pass: the batch holds S*S copies of one image, and copy p
 * contributes only the logits of pixel p (images of a batch do not interact).
 */
function reach(net: Module<[Tensor], Tensor>): boolean[][] {
  manualSeed(3);
  const x = randn([1, 1, S, S])
    .tanh()
    .expand([S * S, 1, S, S])
    .contiguous()
    .requiresGrad_();
  const m = new Float32Array(S * S * S * S);
  for (let p = 0; p < S * S; p++) m[p * S * S + p] = 1;
  const [g] = grad(
    net
      .call(x)
      .mul(tensor(m, { shape: [S * S, 1, S, S] }))
      .sum(),
    x,
  );
  const all = g!.toFloat32Array();
  return Array.from({ length: S * S }, (_, p) => Array.from(all.subarray(p * S * S, (p + 1) * S * S), (v) => v !== 0));
}

test('pixelcnn: output pixel (i, j) depends on no input at or after (i, j) in raster order, and on every pixel before it (no blind spot)', () => {
  manualSeed(0);
  const m = new PixelCnn({ isize: S, levels: 4, hidden: 8, layers: 5, kernel: 3, firstKernel: 7, outHidden: 32 });
  const r = reach(m.network);
  for (let p = 0; p < S * S; p++) {
    for (let q = 0; q < S * S; q++) {
      if (q >= p) assert.equal(r[p]![q], false, `output ${p} must not see input ${q}`);
      else assert.equal(r[p]![q], true, `output ${p} sees input ${q} (receptive field covers the ${S}x${S} image)`);
    }
  }
  m.dispose();
});

test('pixelrnn (Row LSTM): causal, and sees its left neighbour and the pixels above', () => {
  manualSeed(0);
  const m = new PixelRnn({ isize: S, levels: 4, hidden: 8, layers: 2, outHidden: 32 });
  const r = reach(m.network);
  for (let p = 0; p < S * S; p++) {
    const [i, j] = [Math.floor(p / S), p % S];
    for (let q = p; q < S * S; q++) assert.equal(r[p]![q], false, `output ${p} must not see input ${q}`);
    if (j > 0) assert.ok(r[p]![p - 1], `output ${p} sees its left neighbour`);
    if (i > 0) for (let a = 0; a < i; a++) assert.ok(r[p]![a * S + j], `output ${p} sees (${a}, ${j}) above (the state carries every row)`);
  }
  m.dispose();
});

test('bits/dim: a uniform softmax over L levels is log2(L) bits/dim; a known non-uniform case', () => {
  for (const L of [2, 4, 256]) {
    const k = discretize(randn([3, 5, 5]).tanh(), L);
    const b = bitsPerDim(zeros([3, L, 5, 5]), k).toFloat32Array();
    for (const v of b) assert.ok(Math.abs(v - Math.log2(L)) < 1e-5, `L=${L}: ${v} vs ${Math.log2(L)}`);
  }
  // L = 2, logits (0, ln 3): p(level 1) = 3/4; one image of 1 x 2 pixels with levels (1, 0)
  const logits = tensor([0, 0, Math.log(3), Math.log(3)], { shape: [1, 2, 1, 2] });
  const k = tensor([1, 0], { shape: [1, 1, 2], dtype: 'int64' });
  const want = (-Math.log2(3 / 4) - Math.log2(1 / 4)) / 2;
  assert.ok(Math.abs(bitsPerDim(logits, k).item() - want) < 1e-6);
  // discretisation: -1 -> 0, 1 -> L - 1, 8-bit values map to their byte
  assert.deepEqual(Array.from(discretize(tensor([-1, 1, (2 * 37) / 255 - 1]), 256).toArray() as number[]), [0, 255, 37]);
});

test('a model whose output layer is zero predicts uniformly: bitsPerDim = log2(levels)', async () => {
  manualSeed(0);
  const m = new PixelCnn({ isize: S, levels: 16, hidden: 4, layers: 1, outHidden: 4 });
  noGrad(() => {
    m.network.out2.weight.zero_();
    m.network.out2.bias!.zero_();
  });
  assert.ok(Math.abs((await m.bitsPerDim(randn([5, 1, S, S]).tanh(), 2)) - 4) < 1e-5);
  m.dispose();
});

/** 32 images with structure (a bright vertical bar at a random column on a dark background). */
function bars(): Tensor {
  manualSeed(1);
  const data = new Float32Array(32 * S * S).fill(-1);
  for (let n = 0; n < 32; n++) {
    const c = 1 + (n % (S - 2));
    for (let i = 0; i < S; i++) data[n * S * S + i * S + c] = 1;
  }
  return tensor(data, { shape: [32, 1, S, S] });
}

for (const [name, make] of [
  ['pixelcnn', () => new PixelCnn({ isize: S, levels: 4, hidden: 8, layers: 2, outHidden: 8 })],
  ['pixelrnn', () => new PixelRnn({ isize: S, levels: 4, hidden: 8, layers: 1, outHidden: 8 })],
] as const) {
  test(`${name}: a few NLL steps lower the bits/dim of the training images`, async () => {
    manualSeed(0);
    const m = make();
    const x = bars();
    const before = await m.bitsPerDim(x);
    const rep = await m.fit(x, { epochs: 3, batchSize: 16, lr: 1e-2, seed: 0 });
    const after = await m.bitsPerDim(x);
    assert.equal(rep.history.length, 6);
    assert.ok(after < before - 0.1, `${name}: ${before} -> ${after} bits/dim`);
    m.dispose();
  });
}

test('fast sampling paths sample what a full forward pass per pixel samples (PixelCNN crop, Row LSTM states)', () => {
  manualSeed(0);
  const z = randn([3, S * S, 1, 1]);
  const cnn = new PixelCnn({ isize: S, levels: 8, hidden: 4, layers: 1, outHidden: 4 });
  const rnn = new PixelRnn({ isize: S, levels: 8, hidden: 4, layers: 2, outHidden: 4 });
  for (const [m, fast] of [
    [cnn, croppingStepper(cnn.network, 4)],
    [rnn, (rnn as unknown as { stepper(): RowStepper }).stepper()],
  ] as const) {
    m.network.eval();
    const full = sampleAutoregressive(croppingStepper(m.network), z, S, 8, 'cpu');
    const quick = sampleAutoregressive(fast, z, S, 8, 'cpu');
    assert.equal(quick.sub(full).abs().max().item(), 0, `${m.name}: the same images`);
    assert.ok(new Set(full.toFloat32Array()).size > 2, 'samples use several levels');
    m.dispose();
  }
});

test('pixelcnn detector: score = the model bits/dim of the image, map = per-pixel NLL', async () => {
  manualSeed(0);
  const hp = { isize: S, levels: 4, hidden: 4, layers: 1, outHidden: 4 };
  const gen = new PixelCnn(hp);
  const det = new PixelCnnDetector(hp);
  const sd = gen.stateDict();
  det.loadStateDict(sd);
  for (const t of sd.values()) t.dispose();
  const x = randn([4, 1, S, S]).tanh();
  const r = det.score(x);
  const maps = r.maps!;
  assert.deepEqual(maps.shape, [4, 1, S, S]);
  const perImage = maps.flatten(1).mean(1).toFloat32Array();
  assert.ok(gen.nllMap(x, 3).sub(maps).abs().max().item() < 1e-5, "the generator's nllMap (in batches of 3) is the detector's map");
  for (let n = 0; n < 4; n++) {
    assert.ok(Math.abs(r.scores[n]! - perImage[n]!) < 1e-5, 'score = mean of the map');
    assert.ok(Math.abs(r.scores[n]! - (await gen.bitsPerDim(x.narrow(0, n, 1)))) < 1e-5, 'score = the generator bits/dim');
  }
  gen.dispose();
  det.dispose();
});

test('anogen train pixelcnn: the detector with --protocol, the generator otherwise', () => {
  assert.equal(generatorInArgs(['pixelcnn', '--data', 'mnist', '--normal', '1']), 'pixelcnn');
  assert.equal(generatorInArgs(['pixelcnn', '--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '1']), undefined);
  assert.equal(generatorInArgs(['pixelcnn', '--protocol=one-vs-rest']), undefined);
  assert.equal(generatorInArgs(['pixelrnn', '--protocol', 'one-vs-rest']), 'pixelrnn', 'pixelrnn is a generator only');
});

test('anogen train <likelihood model> prints and stores the test bits/dim', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-pixelrnn-'));
  const lines: string[] = [];
  const r = await trainGenerator(
    {
      generator: 'pixelrnn',
      data: { data: 'mnist', classes: ['1'], seed: 0 },
      epochs: 1,
      batchSize: 16,
      trainLimit: 32,
      imageSize: 16,
      out: path.join(out, 'b'),
      hparams: { levels: 4, hidden: 4, layers: 1, outHidden: 4 },
      device: 'cpu',
    },
    { log: (l) => lines.push(l) },
  );
  const test_ = (readGeneratorConfig(path.join(out, 'b')).training as { test: { bitsPerDim: number; images: number } }).test;
  assert.equal(test_.images, 32, 'as many test images as training images (at most TEST_NLL_IMAGES)');
  assert.equal(TEST_NLL_IMAGES, 1000);
  assert.ok(test_.bitsPerDim > 0 && test_.bitsPerDim < 2.5, `bits/dim ${test_.bitsPerDim} (4 levels: uniform is 2)`);
  assert.ok(
    lines.some((l) => l === `test NLL: ${test_.bitsPerDim.toFixed(4)} bits/dim on 32 test images`),
    lines.join('\n'),
  );
  r.model.dispose();
  fs.rmSync(out, { recursive: true });
});
