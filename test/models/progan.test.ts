// The progressive GAN's parts (src/models/progan): the growth schedule as a pure function of the
// images shown (so of the step), fade-in blending in both networks, the minibatch standard
// deviation layer, equalised learning rate, pixel norm, sampling at the final size from an
// earlier stage, and an interrupted run resumed from its checkpoint ending where an
// uninterrupted one does (phase changes and optimiser resets included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, randn, noGrad, type Tensor } from '../../src/core/index.js';
import * as F from '../../src/nn/functional.js';
import { disposeLoopState, type LoopState } from '../../src/train/loop.js';
import {
  EMA_RAMPUP,
  emaBeta,
  EqualizedConv2d,
  EqualizedLinear,
  GeneratorBase,
  growthAt,
  heConstant,
  minibatchStdDev,
  pixelNorm,
  ProGan,
  realAt,
  stagesFor,
} from '../../src/models/progan/index.js';

const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
const maxDiff = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();

test('growth schedule: stabilise 4x4, then fade-in and stabilisation per stage, alpha linear, final stage kept', () => {
  const P = 100;
  const S = stagesFor(32);
  assert.equal(S, 4, '4, 8, 16, 32');
  const at = (i: number) => growthAt(i, P, S);
  assert.deepEqual(at(0), { stage: 0, alpha: 1, phase: 0, kind: 'stabilize' });
  assert.deepEqual(at(99), { stage: 0, alpha: 1, phase: 0, kind: 'stabilize' });
  assert.deepEqual(at(100), { stage: 1, alpha: 0, phase: 1, kind: 'fade' });
  assert.deepEqual(at(150), { stage: 1, alpha: 0.5, phase: 1, kind: 'fade' });
  assert.deepEqual(at(200), { stage: 1, alpha: 1, phase: 2, kind: 'stabilize' });
  assert.deepEqual(at(325), { stage: 2, alpha: 0.25, phase: 3, kind: 'fade' });
  assert.deepEqual(at(599), { stage: 3, alpha: 0.99, phase: 5, kind: 'fade' });
  assert.deepEqual(at(600), { stage: 3, alpha: 1, phase: 6, kind: 'stabilize' });
  assert.deepEqual(at(1e7), { stage: 3, alpha: 1, phase: 6, kind: 'stabilize' });
  // alpha never decreases and the stage never shrinks over the steps of a run (batch 16)
  let prev = at(0);
  for (let step = 1; step < 60; step++) {
    const g = at(step * 16);
    assert.ok(g.stage > prev.stage || (g.stage === prev.stage && g.alpha >= prev.alpha), `step ${step}`);
    prev = g;
  }
  assert.throws(() => growthAt(0, 0, 4), /phaseImages must be a positive integer/);
  assert.throws(() => stagesFor(24), /power of two >= 4/);
});

test('minibatch stddev appends one map holding the mean over features of the batch std', () => {
  const x = randn([5, 3, 2, 2]);
  const y = minibatchStdDev(x);
  assert.deepEqual(y.shape, [5, 4, 2, 2]);
  const v = x.toFloat32Array();
  let sum = 0;
  for (let f = 0; f < 12; f++) {
    const col = Array.from({ length: 5 }, (_, i) => v[i * 12 + f]!);
    const m = col.reduce((a, b) => a + b, 0) / 5;
    sum += Math.sqrt(col.reduce((a, b) => a + (b - m) ** 2, 0) / 5 + 1e-8);
  }
  const extra = y.narrow(1, 3, 1).toFloat32Array();
  for (const e of extra) assert.ok(close(e, sum / 12), `${e} vs ${sum / 12}`);
  assert.equal(maxDiff(y.narrow(1, 0, 3), x), 0, 'the features pass unchanged');
});

test("equalised learning rate: N(0, 1) weights scaled at run time by He's constant", () => {
  assert.ok(close(heConstant(8 * 3 * 3), Math.SQRT2 / Math.sqrt(72)));
  assert.ok(close(heConstant(10, 1), 1 / Math.sqrt(10)));
  const conv = new EqualizedConv2d(8, 16, 3);
  assert.ok(close(conv.scale, Math.SQRT2 / Math.sqrt(72)));
  const w = conv.param('weight');
  const std = w.std().item();
  assert.ok(Math.abs(std - 1) < 0.1 && Math.abs(w.mean().item()) < 0.1, `weights N(0, 1): std ${std}`);
  assert.equal(conv.param('bias').abs().max().item(), 0);
  const x = randn([2, 8, 5, 5]);
  const want = F.conv2d(x, w.mul(conv.scale), conv.param('bias'), { padding: 1 });
  assert.ok(
    maxDiff(
      noGrad(() => conv.call(x)),
      want,
    ) < 1e-5,
    'forward = conv with weight * c',
  );
  const lin = new EqualizedLinear(32, 4, { gain: 1 });
  assert.ok(close(lin.scale, 1 / Math.sqrt(32)));
});

test('pixel norm gives every pixel a unit mean square over the channels', () => {
  const y = pixelNorm(randn([3, 6, 4, 4]).mul(7));
  const ms = y.square().mean(1).toFloat32Array();
  for (const v of ms) assert.ok(close(v, 1, 1e-4), String(v));
});

test('fade-in: at alpha 0 both networks equal the previous stage (upsampled / on downsampled input); alpha 1 the new block', () => {
  const m = new ProGan({ isize: 16, nz: 8, ngf: 8, ndf: 8 });
  try {
    const { netG, netD } = m.nets;
    noGrad(() => {
      const z = randn([4, 8, 1, 1]);
      const prev = netG.call(z, { stage: 1, alpha: 1 });
      const faded = netG.call(z, { stage: 2, alpha: 0 });
      assert.deepEqual(faded.shape, [4, 1, 16, 16]);
      assert.ok(maxDiff(faded, F.interpolate(prev, { scaleFactor: 2, mode: 'nearest' })) < 1e-5, 'G at alpha 0 = up(previous stage)');
      const full = netG.call(z, { stage: 2, alpha: 1 });
      const half = netG.call(z, { stage: 2, alpha: 0.5 });
      assert.ok(maxDiff(half, faded.add(full).mul(0.5)) < 1e-5, 'G at alpha 0.5 = the mean');
      const x = randn([4, 1, 16, 16]);
      assert.ok(maxDiff(netD.call(x, { stage: 2, alpha: 0 }), netD.call(F.avgPool2d(x, 2), { stage: 1, alpha: 1 })) < 1e-5, 'D at alpha 0 = previous stage on down(x)');
      // real images: pooled to the stage, blended during a fade-in as G's output
      const r0 = realAt(x, { stage: 1, alpha: 0 });
      assert.deepEqual(r0.shape, [4, 1, 8, 8]);
      assert.ok(maxDiff(r0, F.interpolate(F.avgPool2d(x, 4), { scaleFactor: 2, mode: 'nearest' })) < 1e-6);
      assert.ok(maxDiff(realAt(x, { stage: 1, alpha: 1 }), F.avgPool2d(x, 2)) < 1e-6);
    });
  } finally {
    m.dispose();
  }
});

test('sample() is at the final size: from an earlier stage, upsampled (4x4 blocks constant), clamped to [-1, 1]', () => {
  const m = new ProGan({ isize: 16, nz: 8, ngf: 8, ndf: 8 });
  try {
    assert.deepEqual(m.growth, { stage: 0, alpha: 1 }, 'an untrained model is at 4 x 4');
    const s = m.sample(3, { seed: 1 });
    assert.deepEqual(s.shape, [3, 1, 16, 16]);
    const v = s.toFloat32Array();
    for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) assert.equal(v[i * 16 + j], v[(i - (i % 4)) * 16 + (j - (j % 4))]);
    assert.ok(s.min().item() >= -1 && s.max().item() <= 1);
    m.nets.setGrowth({ stage: 2, alpha: 1 });
    const full = m.sample(3, { seed: 1 });
    assert.ok(maxDiff(full, s) > 0, 'the growth buffer selects the stage');
    const sd = m.stateDict();
    assert.deepEqual(Array.from(sd.get('growth')!.toFloat32Array()), [2, 1], 'the growth is in the state dict (the bundle)');
    for (const t of sd.values()) t.dispose();
  } finally {
    m.dispose();
  }
});

test('an interrupted run resumed from its checkpoint ends with the weights and growth of an uninterrupted one', async () => {
  const x = randn([24, 1, 16, 16]).tanh();
  const hp = { isize: 16, nz: 8, ngf: 8, ndf: 8, phaseImages: 12 };
  const opts = { epochs: 2, batchSize: 8, seed: 3 }; // 6 steps at images 0, 8, ..., 40: 4, 4, fade 8 (1/3), stab 8, stab 8, fade 16 (1/3)
  const a = new ProGan(hp);
  const b = new ProGan(hp);
  const c = new ProGan(hp);
  let saved: { state: LoopState; weights: Map<string, Tensor> } | null = null;
  try {
    const ra = await a.fit(x, opts);
    assert.deepEqual(
      ra.history.map((h) => [h.res, Number(h.alpha!.toFixed(3))]),
      [
        [4, 1],
        [4, 1],
        [8, 0.333],
        [8, 1],
        [8, 1],
        [16, 0.333],
      ],
    );
    let steps = 0;
    await b.fit(x, {
      ...opts,
      onProgress: () => void steps++,
      shouldStop: () => steps >= 3,
      onCheckpoint: (state, reason) => {
        if (reason !== 'interrupt') return;
        saved = {
          state: {
            ...state,
            optimizers: Object.fromEntries(Object.entries(state.optimizers).map(([k, o]) => [k, { ...o, state: new Map([...o.state].map(([n, t]) => [n, t.clone()])) }])),
          },
          weights: b.stateDict(),
        };
      },
    });
    assert.ok(saved !== null, 'checkpointed at the interruption');
    const s = saved as { state: LoopState; weights: Map<string, Tensor> };
    assert.equal(b.growth.stage, 1, 'stopped during the 8 px fade-in');
    assert.ok(close(b.growth.alpha, 1 / 3), `alpha ${b.growth.alpha}`);
    c.loadStateDict(s.weights);
    await c.fit(x, { ...opts, resume: s.state });
    const wa = a.stateDict();
    const wc = c.stateDict();
    for (const [k, t] of wa) assert.ok(maxDiff(t, wc.get(k)!) < 1e-6, `${k} equal after resume`);
    assert.equal(c.growth.stage, 2);
    assert.ok(close(c.growth.alpha, 1 / 3));
    for (const t of [...wa.values(), ...wc.values(), ...s.weights.values()]) t.dispose();
    disposeLoopState(s.state);
  } finally {
    a.dispose();
    b.dispose();
    c.dispose();
  }
});

test("G's 4x4 block as the authors' code: dense without bias, reshaped, per-channel bias, pixel norm per pixel over the channels", () => {
  const base = new GeneratorBase(8, 6);
  assert.deepEqual(
    [...base.namedParameters()].map(([k, p]) => [k, p.shape]),
    [
      ['bias', [6]],
      ['dense.weight', [96, 8]],
      ['conv.weight', [6, 6, 3, 3]],
      ['conv.bias', [6]],
    ],
  );
  noGrad(() => {
    base.param('bias').copy_(randn([6]));
    const z = randn([3, 8, 1, 1]);
    const lrelu = (t: Tensor) => F.leakyRelu(t, 0.2);
    const d = F.linear(pixelNorm(z.reshape([3, 8])), base.dense.param('weight').mul(base.dense.scale)).reshape([3, 6, 4, 4]);
    const h = pixelNorm(lrelu(d.add(base.param('bias').reshape([1, 6, 1, 1]))));
    assert.ok(close(h.square().mean(1).max().item(), 1, 1e-4), 'unit mean square over the channels at every pixel');
    const want = pixelNorm(lrelu(base.conv.call(h)));
    assert.ok(maxDiff(base.call(z), want) < 1e-5);
  });
});

test('the EMA generator: decay 0.5^(batch / half-life) with the half-life ramped up over the first images; netGEma samples', async () => {
  assert.equal(emaBeta(16, 0, 1000), 0, 'no images shown yet: a copy');
  assert.ok(close(emaBeta(16, 1e6, 1000), 0.5 ** (16 / 1000)));
  assert.ok(close(emaBeta(16, 4000, 1000), 0.5 ** (16 / (EMA_RAMPUP * 4000))), 'ramped up: half-life 5% of the images shown');
  assert.equal(emaBeta(16, 1e6, 0), 0, 'emaImages 0: netGEma = netG');
  assert.ok(close(emaBeta(16, 1e9, 11090), 0.999, 1e-4), "the paper's 0.999 at batch 16");
  const x = randn([32, 1, 16, 16]).tanh();
  const hp = { isize: 16, nz: 8, ngf: 8, ndf: 8, phaseImages: 1000, nCritic: 1 };
  const avg = new ProGan({ ...hp, emaImages: 1000 });
  const off = new ProGan({ ...hp, emaImages: 0 });
  try {
    for (const m of [avg, off]) await m.fit(x, { epochs: 1, batchSize: 8, seed: 1 });
    const w = (m: ProGan, k: string) => m.stateDict().get(k)!;
    assert.equal(maxDiff(w(off, 'netGEma.base.conv.weight'), w(off, 'netG.base.conv.weight')), 0, 'emaImages 0: a copy of netG');
    assert.ok(maxDiff(w(avg, 'netGEma.base.conv.weight'), w(avg, 'netG.base.conv.weight')) > 1e-6, 'an average lags netG');
    const z = randn([4, 8, 1, 1]);
    avg.nets.setGrowth({ stage: 2, alpha: 1 }); // at the final size, so decode() does not upsample
    const g = avg.growth;
    const fromEma = noGrad(() => avg.nets.netGEma.call(z, g).clamp(-1, 1));
    const fromG = noGrad(() => avg.nets.netG.call(z, g).clamp(-1, 1));
    assert.ok(
      maxDiff(
        noGrad(() => avg.decode(z)),
        fromEma,
      ) < 1e-6,
      'sampling uses netGEma',
    );
    assert.ok(maxDiff(fromEma, fromG) > 1e-6);
  } finally {
    avg.dispose();
    off.dispose();
  }
});

test('nCritic: the generator steps on every nCritic-th batch only; the critic on every batch', async () => {
  const x = randn([16, 1, 16, 16]).tanh();
  const hp = { isize: 16, nz: 8, ngf: 8, ndf: 8, phaseImages: 1000, nCritic: 2, emaImages: 0 };
  const init = new ProGan(hp);
  const one = new ProGan(hp);
  const two = new ProGan(hp);
  try {
    manualSeed(0);
    init.nets.resetParameters(); // the weights a fresh fit with seed 0 starts from
    const w0 = init.stateDict();
    await one.fit(x.narrow(0, 0, 8), { epochs: 1, batchSize: 8, seed: 0 }); // 1 step: critic only
    const r = await two.fit(x, { epochs: 1, batchSize: 8, seed: 0 }); // 2 steps
    assert.deepEqual(
      r.history.map((h) => 'g' in h),
      [false, true],
      'L_G reported on generator steps only',
    );
    const w1 = one.stateDict();
    const w2 = two.stateDict();
    for (const k of ['netG.base.conv.weight', 'netG.toRgb.0.weight']) {
      assert.equal(maxDiff(w1.get(k)!, w0.get(k)!), 0, `${k}: unchanged after one critic-only step`);
      assert.ok(maxDiff(w2.get(k)!, w0.get(k)!) > 0, `${k}: updated at step 2`);
    }
    assert.ok(maxDiff(w1.get('netD.head.out.weight')!, w0.get('netD.head.out.weight')!) > 0, 'the critic steps at step 1');
    for (const t of [...w0.values(), ...w1.values(), ...w2.values()]) t.dispose();
  } finally {
    init.dispose();
    one.dispose();
    two.dispose();
  }
});
