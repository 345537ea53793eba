// unrolled-gan's look-ahead variants (issue 11, the K = 5 Adam look-ahead collapse; the K = 0 and
// finite-difference checks are in unrolled-cgan.test.ts):
// - the Adam look-ahead with a detached denominator is a hand-written Adam unroll whose
//   denominators are constants: the same unrolled weights and the same generator gradient, and
//   another gradient than the exact (differentiated) denominator;
// - the 'value' surrogate (the default since the collapse: the paper's f_K and the authors' code)
//   is -L_D(theta^K) on real and fake images, not gan's generator loss on the fakes only;
// - with K = 0 it is the minimax GAN (gan --loss minimax), bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grad, noGrad } from '../../src/core/autograd.js';
import { randn } from '../../src/core/creation.js';
import { manualSeed } from '../../src/core/runtime.js';
import type { Tensor } from '../../src/core/tensor.js';
import { Adam } from '../../src/optim/index.js';
import { AdversarialNetworks } from '../../src/models/gan/networks.js';
import { discriminatorLoss, generatorLoss } from '../../src/models/gan/loss.js';
import { Gan } from '../../src/models/gan/model.js';
import { UNROLLED_GAN_DEFAULTS, UnrolledGan, unrolledGanHParams } from '../../src/models/unrolled-gan/model.js';
import { discriminatorForward, type ParamSubstitution } from '../../src/models/unrolled-gan/functional.js';
import { unrollDiscriminator, unrolledGanProcess } from '../../src/models/unrolled-gan/step.js';
import { TensorSource } from '../../src/train/source.js';

const BETAS: [number, number] = [0.5, 0.999];
const maxAbs = (ts: Tensor[]) => Math.max(...ts.map((t) => t.abs().max().item()));
const maxDiff = (a: Tensor[], b: Tensor[]) => Math.max(...a.map((t, i) => t.sub(b[i]!).abs().max().item()));

/** Tiny float64 networks after one real D step (so Adam's unroll starts from a state), with x and z. */
function fixture(seed: number, ndf = 8) {
  manualSeed(seed);
  const nets = new AdversarialNetworks({ isize: 16, nz: 8, ngf: 8, ndf, nc: 1 }).to('float64');
  const x = randn([8, 1, 16, 16], { dtype: 'float64' }).tanh();
  const z = randn([8, 8, 1, 1], { dtype: 'float64' });
  const optD = new Adam(nets.netD.parameters(), { lr: 0.01, betas: BETAS });
  discriminatorLoss(nets.netD.call(x), nets.netD.call(noGrad(() => nets.netG.call(z)))).total.backward();
  optD.step();
  return { nets, x, z, optD };
}

test('unrolled-gan: the Adam look-ahead with a detached denominator equals a hand-written unroll with constant denominators', () => {
  const { nets, x, z, optD } = fixture(11);
  const { netG, netD } = nets;
  const lr = 0.01;
  const K = 2;
  const params = netD.parameters();
  // by hand: torch's Adam formula (with step.ts's sqrt(v + eps^2) for sqrt(v)), the denominator
  // sqrt(v + eps^2) / sqrt(1 - b2^t) + eps computed without autograd
  const byHand = (fake: Tensor): Tensor[] => {
    let th = params;
    let m = params.map((p) => optD.state.get(p)!.tensors.exp_avg!);
    let v = params.map((p) => optD.state.get(p)!.tensors.exp_avg_sq!);
    const t0 = optD.state.get(params[0]!)!.step;
    for (let k = 0; k < K; k++) {
      const subst: ParamSubstitution = new Map(params.map((p, i) => [p, th[i]!]));
      const loss = discriminatorLoss(discriminatorForward(netD, x, subst), discriminatorForward(netD, fake, subst)).total;
      const gs = grad(loss, th, { createGraph: true }) as Tensor[];
      m = m.map((mi, i) => mi.mul(BETAS[0]).add(gs[i]!, 1 - BETAS[0]));
      v = v.map((vi, i) => vi.mul(BETAS[1]).add(gs[i]!.square(), 1 - BETAS[1]));
      const t = t0 + k + 1;
      const denom = v.map((vi) =>
        noGrad(() =>
          vi
            .detach()
            .add(1e-16)
            .sqrt()
            .div(Math.sqrt(1 - BETAS[1] ** t))
            .add(1e-8),
        ),
      );
      th = th.map((p, i) => p.sub(m[i]!.div(denom[i]!), lr / (1 - BETAS[0] ** t)));
    }
    return th;
  };
  const unrolled = (kind: 'hand' | 'detached' | 'exact') => {
    const fake = netG.call(z);
    let th: Tensor[];
    if (kind === 'hand') th = byHand(fake);
    else {
      const { subst } = unrollDiscriminator(netD, optD, x, fake, K, 'adam', lr, BETAS, { detachDenominator: kind === 'detached' });
      th = params.map((p) => subst.get(p)!);
    }
    const f = generatorLoss(discriminatorForward(netD, fake, new Map(params.map((p, i) => [p, th[i]!]))), 'non-saturating');
    return { theta: th.map((t) => t.detach()), g: grad(f, netG.parameters()) as Tensor[] };
  };
  const hand = unrolled('hand');
  const detached = unrolled('detached');
  const exact = unrolled('exact');
  assert.ok(maxDiff(hand.theta, detached.theta) < 1e-12, `the same unrolled weights (${maxDiff(hand.theta, detached.theta)})`);
  assert.ok(maxDiff(exact.theta, detached.theta) < 1e-12, 'detaching changes no value, only the gradient');
  const scale = maxAbs(hand.g);
  assert.ok(maxDiff(hand.g, detached.g) < 1e-9 * scale, `the same generator gradient (${maxDiff(hand.g, detached.g)} vs scale ${scale})`);
  assert.ok(maxDiff(exact.g, detached.g) > 1e-4 * scale, `the exact denominator gives another gradient (${maxDiff(exact.g, detached.g)})`);
  optD.dispose();
  nets.dispose();
});

test("unrolled-gan: the 'value' surrogate is -L_D(theta^K) on real and fake; the defaults; a bad value is named", () => {
  manualSeed(4);
  const nets = new AdversarialNetworks({ isize: 16, nz: 8, ngf: 8, ndf: 8, nc: 1 });
  const x = randn([16, 1, 16, 16]).tanh();
  const cfg = { ...UNROLLED_GAN_DEFAULTS, unrollSteps: 2, unrollSurrogate: 'value' as const };
  const proc = unrolledGanProcess(nets, cfg, { fresh: true, lr: 2e-4, batchSize: 16, source: new TensorSource(x), device: 'cpu' });
  manualSeed(9);
  const { losses } = proc.step(x, { epoch: 1, step: 1, globalStep: 0, device: 'cpu' });
  // by hand from D's state after its update (G not yet stepped): the same z, so the same fakes
  manualSeed(9);
  const fake = nets.netG.call(randn([16, 8, 1, 1]));
  const optD = proc.optimizers.d as Adam;
  const { subst } = unrollDiscriminator(nets.netD, optD, x, fake, 2, cfg.unrollOptimizer, 2e-4, BETAS);
  const value = discriminatorLoss(discriminatorForward(nets.netD, x, subst), discriminatorForward(nets.netD, fake, subst))
    .total.neg()
    .item();
  const nonSaturating = generatorLoss(discriminatorForward(nets.netD, fake, subst), 'non-saturating').item();
  assert.ok(Math.abs(losses.g!.item() - value) < 1e-6, `g ${losses.g!.item()} vs -L_D(theta^K) ${value}`);
  assert.ok(Math.abs(value - nonSaturating) > 0.1, 'another loss than the default surrogate');
  proc.dispose?.();
  nets.dispose();

  assert.equal(UNROLLED_GAN_DEFAULTS.unrollOptimizer, 'adam');
  assert.equal(UNROLLED_GAN_DEFAULTS.unrollDetachDenominator, false);
  assert.equal(UNROLLED_GAN_DEFAULTS.unrollSurrogate, 'value');
  assert.throws(() => unrolledGanHParams({ unrollSurrogate: 'wasserstein' }), /unrolled-gan unrollSurrogate: "wasserstein" is not valid; expected .*generator.*value/);
});

test("unrolled-gan: K = 0 with the default 'value' surrogate updates the generator exactly as gan --loss minimax", async () => {
  // The paper: with K = 0 the surrogate is the GAN value function itself, i.e. the minimax game.
  // (K = 0 with the 'generator' surrogate is gan's own loss: unrolled-cgan.test.ts.)
  manualSeed(3);
  const x = randn([32, 1, 16, 16]).tanh();
  const tiny = { isize: 16, nz: 8, ngf: 8, ndf: 8 };
  const fit = async (m: Gan | UnrolledGan) => {
    await m.fit(x, { epochs: 1, batchSize: 16, seed: 1 });
    return [...m.stateDict()].filter(([k]) => k.startsWith('netG.') && !k.endsWith('num_batches_tracked'));
  };
  const minimax = await fit(new Gan({ ...tiny, loss: 'minimax' }));
  const nonSaturating = new Map(await fit(new Gan(tiny)));
  const k0 = new Map(await fit(new UnrolledGan({ ...tiny, unrollSteps: 0 })));
  let same = 0;
  let other = 0;
  for (const [k, w] of minimax) {
    same = Math.max(same, w.sub(k0.get(k)!).abs().max().item());
    other = Math.max(other, w.sub(nonSaturating.get(k)!).abs().max().item());
  }
  assert.equal(same, 0, "K = 0, 'value': the same generator weights as gan --loss minimax after 2 steps");
  assert.ok(other > 1e-5, `gan's default loss gives other weights (${other})`);
});
