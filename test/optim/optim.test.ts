/** Optimisers, schedules and clipping: PyTorch parity (test/fixtures/optim.safetensors) and behaviour. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import * as nn from '../../src/nn/index.js';
import * as optim from '../../src/optim/index.js';
import { fixture, assertClose } from '../nn/parity-helpers.js';
import { settledLiveTensors } from '../helpers/live.js';

const f = fixture('optim');
const NAMES = ['a', 'b'];

function make(name: string, params: T.Tensor[]): optim.Optimizer<any> {
  const o = f.meta.optimisers[name];
  const common = { lr: o.lr, weightDecay: o.weight_decay };
  switch (name) {
    case 'adam':
    case 'adam_amsgrad_wd':
      return new optim.Adam(params, { ...common, betas: o.betas, amsgrad: o.amsgrad });
    case 'adamw':
      return new optim.AdamW(params, { lr: o.lr });
    case 'sgd':
    case 'sgd_momentum':
    case 'sgd_nesterov':
      return new optim.SGD(params, { ...common, momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov });
    case 'rmsprop':
    case 'rmsprop_centered':
      return new optim.RMSprop(params, { ...common, centered: o.centered, momentum: o.momentum });
    default:
      throw new Error(name);
  }
}

for (const name of Object.keys(f.meta.optimisers)) {
  test(`${name} (${JSON.stringify(f.meta.optimisers[name])}) matches torch.optim over ${f.meta.steps} steps`, () => {
    const params = NAMES.map((k) => f.get(`p0.${k}`).clone().requiresGrad_());
    const opt = make(name, params);
    const before = settledLiveTensors();
    for (let s = 0; s < f.meta.steps; s++) {
      params.forEach((p, i) => {
        const g = f.get(`g.${s}.${NAMES[i]}`).clone();
        p.grad = g;
        g.dispose(); // the parameter holds the gradient; this handle is not needed
      });
      opt.step();
      params.forEach((p, i) => assertClose(p, f.get(`${name}.${s}.${NAMES[i]}`), `${name} step ${s} ${NAMES[i]}`));
      opt.zeroGrad();
    }
    // only the optimiser state (created at the first step) outlives the steps
    const stateTensors = [...opt.state.values()].reduce((n, s) => n + Object.keys(s.tensors).length, 0);
    assert.equal(T.liveTensors() - before, stateTensors, 'no tensor leaked by step()');
    opt.dispose();
  });
}

test('clipGradNorm_ (2-norm and max-norm) matches torch.nn.utils.clip_grad_norm_', () => {
  for (const [key, normType] of [
    ['clip2', 2],
    ['clipinf', Infinity],
  ] as const) {
    const params = NAMES.map((k) => f.get(`p0.${k}`).clone().requiresGrad_());
    params.forEach((p, i) => {
      p.grad = f.get(`g.0.${NAMES[i]}`).clone();
    });
    const total = optim.clipGradNorm_(params, f.meta.clip_max_norm, { normType });
    assert.ok(Math.abs(total - f.get(`${key}.total`).item()) <= 1e-6 * total, `${key} total ${total}`);
    params.forEach((p, i) => assertClose(p.grad, f.get(`${key}.${NAMES[i]}`), `${key} ${NAMES[i]}`));
  }
});

test('clipGradValue_ and clampWeights_', () => {
  const p = T.tensor([-3, 0.5, 2]).requiresGrad_();
  p.grad = T.tensor([-2, 0.1, 5]);
  optim.clipGradValue_([p], 1);
  assert.deepEqual(Array.from(p.grad!.toFloat32Array()), [-1, Math.fround(0.1), 1]);
  optim.clampWeights_([p], 0.01);
  assert.deepEqual(Array.from(p.toFloat32Array()), [-0.01, 0.01, 0.01].map(Math.fround));
  assert.ok(p.requiresGrad && p.isLeaf);
});

test('optimiser options are validated with the option named', () => {
  const p = [T.zeros([2]).requiresGrad_()];
  assert.throws(() => new optim.Adam(p, { lr: -1 }), /Adam: lr must be a number >= 0, got -1/);
  assert.throws(() => new optim.Adam(p, { betas: [0.9, 1] }), /betas\[1\] must be a number in \[0, 1\)/);
  assert.throws(() => new optim.SGD(p, { nesterov: true }), /nesterov needs momentum > 0/);
  assert.throws(() => new optim.RMSprop([], {}), /non-empty array/);
  assert.throws(() => new optim.SGD([{ params: p }, { params: p }]), /more than one group/);
});

test('parameter groups keep their own learning rates; schedules set them', () => {
  const a = T.zeros([1]).requiresGrad_();
  const b = T.zeros([1]).requiresGrad_();
  const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 1 }], { lr: 0.1 });
  a.grad = T.ones([1]);
  b.grad = T.ones([1]);
  opt.step();
  assert.ok(Math.abs(a.item() + 0.1) < 1e-7 && b.item() === -1);

  const step = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
  const lrs: number[][] = [step.getLastLr()];
  for (let e = 0; e < 4; e++) {
    step.step();
    lrs.push(step.getLastLr());
  }
  assert.deepEqual(
    lrs.map((l) => l[1]),
    [1, 1, 0.5, 0.5, 0.25],
  );
  assert.deepEqual(
    lrs.map((l) => l[0]),
    [0.1, 0.1, 0.05, 0.05, 0.025],
  );

  const o2 = new optim.Adam([T.zeros([1]).requiresGrad_()], { lr: 2e-4 });
  const lin = new optim.LinearDecayLR(o2, { constantEpochs: 2, decayEpochs: 2 });
  const seq = [o2.paramGroups[0]!.lr];
  for (let e = 0; e < 4; e++) {
    lin.step();
    seq.push(o2.paramGroups[0]!.lr);
  }
  // pix2pix: 1, 1, 2/3, 1/3, 0 of the initial rate
  const want = [1, 1, 2 / 3, 1 / 3, 0].map((x) => x * 2e-4);
  seq.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-15, `epoch ${i}: ${v} vs ${want[i]}`));

  const o3 = new optim.SGD([T.zeros([1]).requiresGrad_()], { lr: 1 });
  const l = new optim.LambdaLR(o3, (e) => 0.9 ** e);
  l.step();
  l.step();
  assert.ok(Math.abs(o3.paramGroups[0]!.lr - 0.81) < 1e-12);
  const o4 = new optim.SGD([T.zeros([1]).requiresGrad_()], { lr: 1 });
  const ll = new optim.LinearLR(o4, { startFactor: 0.5, totalIters: 2 });
  const v = [o4.paramGroups[0]!.lr];
  for (let e = 0; e < 3; e++) {
    ll.step();
    v.push(o4.paramGroups[0]!.lr);
  }
  assert.deepEqual(v, [0.5, 0.75, 1, 1]);
});

test('Adam trains a small network; state dict restores the trajectory exactly', () => {
  T.manualSeed(5);
  const net = new nn.Sequential(new nn.Linear(3, 8), new nn.Tanh(), new nn.Linear(8, 1));
  const x = T.randn([32, 3]);
  const y = T.tidy(() => x.select(1, 0).mul(2).sub(x.select(1, 1)).unsqueeze(1));
  const opt = new optim.Adam(net.parameters(), { lr: 0.05 });
  const lossAt = (): number => T.tidy(() => nn.F.mseLoss(net.call(x), y).item());
  const trainStep = (o: optim.Optimizer<any>, m: nn.Module): void => {
    T.tidy(() => {
      o.zeroGrad();
      nn.F.mseLoss(m.call(x), y).backward();
      o.step();
    });
  };
  const first = lossAt();
  for (let i = 0; i < 60; i++) trainStep(opt, net);
  assert.ok(lossAt() < first * 0.1, `loss ${first} -> ${lossAt()}`);

  // continue in a copy restored from state dicts: same result as continuing the original
  const copy = new nn.Sequential(new nn.Linear(3, 8), new nn.Tanh(), new nn.Linear(8, 1));
  copy.loadStateDict(net.stateDict());
  const opt2 = new optim.Adam(copy.parameters(), { lr: 0.05 });
  opt2.loadStateDict(opt.stateDict());
  for (let i = 0; i < 5; i++) {
    trainStep(opt, net);
    trainStep(opt2, copy);
  }
  const a = net.stateDict();
  for (const [k, t] of copy.stateDict()) assert.deepEqual(t.toArray(), a.get(k)!.toArray(), k);
  net.dispose();
  copy.dispose();
  opt.dispose();
  opt2.dispose();
});
