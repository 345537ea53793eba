/**
 * Parity of anogen's layers with PyTorch 1.13: fixtures written by scripts/make-fixtures.py
 * (inputs, state dicts, outputs, gradients). Seeded default initialisation is compared exactly,
 * outputs and gradients with rtol 1e-5 (atol 1e-5 of the tensor's largest magnitude).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import * as nn from '../../src/nn/index.js';
import { fixture, assertClose, assertEqualValues, worst } from './parity-helpers.js';

after(() => process.stderr.write(`worst relative deviation from PyTorch: ${worst.rel.toExponential(2)} (${worst.what})\n`));

/** Checks seeded default init, loads the state dict, runs forward + backward of sum(y * gy). */
function checkLayer(name: string, make: () => nn.Module, noInit = false): void {
  const f = fixture(name);
  T.manualSeed(f.meta.seed);
  const m = make();
  const sd = f.sub('sd');
  if (!noInit) {
    // same seed, same libtorch generator, same draws: PyTorch's default init reproduced exactly
    for (const [k, t] of m.stateDict()) assertEqualValues(t, sd.get(k)!, `${name} init ${k}`);
  }
  m.loadStateDict(sd, { source: `${name}.safetensors` });
  const x = f.get('x').requiresGrad_();
  const y = m.call(x);
  assertClose(y, f.get('y'), `${name} output`);
  y.mul(f.get('gy')).sum().backward();
  assertClose(x.grad, f.get('gx'), `${name} input gradient`);
  for (const [k, p] of m.namedParameters()) assertClose(p.grad, f.get(`grad.${k}`), `${name} gradient ${k}`);
  m.dispose();
  T.dispose(f.t);
}

test('Conv2d (stride 2, padding 1, bias) matches PyTorch', () => {
  checkLayer('conv2d', () => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 }));
});

test('ConvTranspose2d (stride 2, padding 1, output padding 1) matches PyTorch', () => {
  checkLayer('conv_transpose2d', () => new nn.ConvTranspose2d(4, 3, 3, { stride: 2, padding: 1, outputPadding: 1 }));
});

test('Linear matches PyTorch', () => {
  checkLayer('linear', () => new nn.Linear(5, 3));
});

test('LeakyReLU(0.2) matches PyTorch', () => {
  checkLayer('leaky_relu', () => new nn.LeakyReLU(0.2), true);
});

test('BatchNorm2d in training and evaluation mode matches PyTorch (outputs, gradients, running statistics)', () => {
  const f = fixture('batchnorm2d');
  const bn = new nn.BatchNorm2d(3);
  const sd = f.sub('sd');
  bn.loadStateDict(sd);
  const x = f.get('x').requiresGrad_();
  const gy = f.get('gy');
  bn.train();
  const y = bn.call(x);
  y.mul(gy).sum().backward();
  assertClose(y, f.get('train.y'), 'bn train output');
  assertClose(x.grad, f.get('train.gx'), 'bn train input gradient');
  assertClose(bn.weight!.grad, f.get('train.grad.weight'), 'bn train weight gradient');
  assertClose(bn.bias!.grad, f.get('train.grad.bias'), 'bn train bias gradient');
  assertClose(bn.runningMean, f.get('train.running_mean'), 'bn running_mean');
  assertClose(bn.runningVar, f.get('train.running_var'), 'bn running_var');
  assert.equal(bn.numBatchesTracked!.item(), f.get('train.num_batches_tracked').item());
  assert.equal(bn.numBatchesTracked!.item(), 4);

  bn.loadStateDict(sd);
  bn.zeroGrad();
  x.grad = null;
  bn.eval();
  const ye = bn.call(x);
  ye.mul(gy).sum().backward();
  assertClose(ye, f.get('eval.y'), 'bn eval output');
  assertClose(x.grad, f.get('eval.gx'), 'bn eval input gradient');
  assertClose(bn.weight!.grad, f.get('eval.grad.weight'), 'bn eval weight gradient');
  assertClose(bn.bias!.grad, f.get('eval.grad.bias'), 'bn eval bias gradient');
  assert.equal(bn.numBatchesTracked!.item(), 3, 'eval mode does not count batches');
  bn.dispose();
  T.dispose(f.t);
});

test('LSTM (2 layers, bidirectional, batch first) matches PyTorch, names included', () => {
  const f = fixture('lstm');
  T.manualSeed(f.meta.seed);
  const lstm = new nn.LSTM(4, 6, { numLayers: 2, batchFirst: true, bidirectional: true });
  const sd = f.sub('sd');
  assert.deepEqual(lstm.stateDictKeys().sort(), [...sd.keys()].sort());
  for (const [k, t] of lstm.stateDict()) assertEqualValues(t, sd.get(k)!, `lstm init ${k}`);
  lstm.loadStateDict(sd);
  const x = f.get('x').requiresGrad_();
  const h0 = f.get('h0').requiresGrad_();
  const c0 = f.get('c0').requiresGrad_();
  const { output, h, c } = lstm.call(x, [h0, c0]);
  assertClose(output, f.get('y'), 'lstm output');
  assertClose(h, f.get('h'), 'lstm h');
  assertClose(c, f.get('c'), 'lstm c');
  output
    .mul(f.get('gy'))
    .sum()
    .add(h.mul(f.get('gh')).sum())
    .add(c.mul(f.get('gc')).sum())
    .backward();
  assertClose(x.grad, f.get('gx'), 'lstm input gradient');
  assertClose(h0.grad, f.get('gh0'), 'lstm h0 gradient');
  assertClose(c0.grad, f.get('gc0'), 'lstm c0 gradient');
  for (const [k, p] of lstm.namedParameters()) assertClose(p.grad, f.get(`grad.${k}`), `lstm gradient ${k}`);
  lstm.dispose();
  T.dispose(f.t);
});

test('the comparison rejects a deviation of 1e-4', () => {
  const e = T.tensor([1, -2, 3]);
  assert.throws(() => assertClose(e.mul(1 + 1e-4), e, 'perturbed'), /perturbed: element 0/);
  const saved = { ...worst };
  assert.doesNotThrow(() => assertClose(e.mul(1 + 1e-6), e, 'close'));
  Object.assign(worst, saved);
});

test('ELU, Softplus, InstanceNorm2d (affine), LayerNorm, BatchNorm1d, bilinear Upsample match PyTorch', () => {
  checkLayer('elu', () => new nn.ELU(0.7), true);
  checkLayer('softplus', () => new nn.Softplus(2, 3), true);
  checkLayer('instance_norm2d', () => new nn.InstanceNorm2d(3, { affine: true }));
  checkLayer('layer_norm', () => new nn.LayerNorm([4, 5]));
  checkLayer('batchnorm1d', () => new nn.BatchNorm1d(4));
  checkLayer('upsample_bilinear', () => new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' }), true);
});

test('Conv2d with groups, dilation and reflect padding matches PyTorch', () => {
  checkLayer('conv2d_groups_dilation', () => new nn.Conv2d(4, 6, 3, { padding: 2, dilation: 2, groups: 2, paddingMode: 'reflect' }));
});

test('Embedding with a padding row matches PyTorch (seeded init, output, weight gradient)', () => {
  const f = fixture('embedding');
  T.manualSeed(f.meta.seed);
  const emb = new nn.Embedding(7, 3, { paddingIdx: 2 });
  assertEqualValues(emb.weight, f.get('sd.weight'), 'embedding init');
  const y = emb.call(f.get('x'));
  assertClose(y, f.get('y'), 'embedding output');
  y.mul(f.get('gy')).sum().backward();
  assertClose(emb.weight.grad, f.get('grad.weight'), 'embedding gradient');
  emb.dispose();
  T.dispose(f.t);
});
