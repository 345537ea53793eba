/** Behaviour of the layers and initialisers beyond PyTorch parity: modes, shapes, statistics, errors, memory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import * as nn from '../../src/nn/index.js';
import { settledLiveTensors } from '../helpers/live.js';

const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: Float32Array): number => {
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
};
const maxAbs = (a: Float32Array): number => a.reduce((s, v) => Math.max(s, Math.abs(v)), 0);

test('Dropout zeroes and rescales in training, is the identity in evaluation', () => {
  T.manualSeed(1);
  const d = new nn.Dropout(0.25);
  const x = T.ones([4000]);
  const y = d.call(x).toFloat32Array();
  const zeros = y.filter((v) => v === 0).length;
  assert.ok(zeros > 850 && zeros < 1150, `${zeros} zeros`);
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
  d.eval();
  assert.deepEqual(d.call(x).toFloat32Array(), x.toFloat32Array());
  assert.throws(() => new nn.Dropout(1.5), /Dropout: p must be in \[0, 1\], got 1.5/);
});

test('Flatten, Unflatten, Upsample, Identity shapes', () => {
  const x = T.zeros([2, 3, 4, 5]);
  assert.deepEqual(new nn.Flatten().call(x).shape, [2, 60]);
  assert.deepEqual(new nn.Flatten(0, 1).call(x).shape, [6, 4, 5]);
  assert.deepEqual(new nn.Unflatten(1, [3, 20]).call(T.zeros([2, 60])).shape, [2, 3, 20]);
  assert.deepEqual(new nn.Unflatten(-1, [2, 2]).call(T.zeros([3, 4])).shape, [3, 2, 2]);
  assert.deepEqual(new nn.Upsample({ scaleFactor: 2 }).call(x).shape, [2, 3, 8, 10]);
  assert.deepEqual(new nn.Upsample({ size: [7, 9], mode: 'bilinear' }).call(x).shape, [2, 3, 7, 9]);
  assert.equal(new nn.Identity().call(x), x);
  assert.throws(() => new nn.Upsample({}), /exactly one of size or scaleFactor/);
});

test('Sequential and ModuleList index, iterate and name children like PyTorch', () => {
  const s = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
  s.append(new nn.Linear(3, 1));
  assert.equal(s.length, 3);
  assert.ok(s.at(-1) instanceof nn.Linear);
  assert.deepEqual(
    [...s].map((m) => m.typeName),
    ['Linear', 'ReLU', 'Linear'],
  );
  assert.deepEqual(s.stateDictKeys(), ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.throws(() => s.at(3), /index 3 out of range/);
  const l = new nn.ModuleList([new nn.Linear(1, 1), new nn.Linear(1, 2, { bias: false })]);
  assert.deepEqual(l.stateDictKeys(), ['0.weight', '0.bias', '1.weight']);
  assert.equal(l.at(1).bias, null);
  assert.throws(() => (l as any).forward(), /ModuleList has no forward/);
});

test('Sequential.forward frees its intermediate tensors', () => {
  const s = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.LeakyReLU(0.2), new nn.Flatten(), new nn.Linear(64, 2));
  const x = T.randn([2, 1, 4, 4]);
  const before = settledLiveTensors();
  const y = s.call(x);
  assert.equal(T.liveTensors() - before, 1, 'only the output is alive');
  T.tidy(() => {
    y.sum().backward(); // the graph still works after the intermediates' handles are gone
    assert.ok(s.at(0).param('weight').grad !== null);
  });
  y.dispose();
  s.zeroGrad();
  for (let i = 0; i < 20; i++) T.tidy(() => s.call(x).sum().backward());
  s.zeroGrad();
  assert.equal(T.liveTensors(), before);
});

test('LSTM with default zero states; unbatched input rejected with the layout named', () => {
  T.manualSeed(2);
  const lstm = new nn.LSTM(3, 5, { numLayers: 2 });
  const { output, h, c } = lstm.call(T.randn([7, 2, 3]));
  assert.deepEqual(output.shape, [7, 2, 5]);
  assert.deepEqual(h.shape, [2, 2, 5]);
  assert.deepEqual(c.shape, [2, 2, 5]);
  assert.deepEqual(lstm.stateDictKeys(), ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1']);
  assert.ok(lstm.parameters().every((p) => maxAbs(p.toFloat32Array()) <= 1 / Math.sqrt(5)));
  assert.throws(() => lstm.call(T.randn([7, 3])), /expected a 3-D input \[seq, batch, feature\] with 3 features/);
  assert.throws(() => lstm.call(T.randn([7, 2, 3]), [T.zeros([1, 2, 5]), T.zeros([1, 2, 5])]), /hidden states must have shape \[2, 2, 5\]/);
});

test('initialisers: bounds and statistics of xavier, kaiming, normal, uniform, constant', () => {
  T.manualSeed(3);
  const w = T.empty([256, 128, 3, 3]);
  const fanIn = 128 * 9;
  const fanOut = 256 * 9;
  nn.init.kaimingUniform_(w);
  let a = w.toFloat32Array();
  const bound = Math.sqrt(2) * Math.sqrt(3 / fanIn);
  assert.ok(maxAbs(a) <= bound && maxAbs(a) > 0.99 * bound);
  nn.init.kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'relu' });
  assert.ok(Math.abs(std(w.toFloat32Array()) / (Math.sqrt(2) / Math.sqrt(fanOut)) - 1) < 0.01);
  nn.init.xavierUniform_(w, 2);
  a = w.toFloat32Array();
  assert.ok(maxAbs(a) <= 2 * Math.sqrt(6 / (fanIn + fanOut)));
  nn.init.xavierNormal_(w);
  assert.ok(Math.abs(std(w.toFloat32Array()) / Math.sqrt(2 / (fanIn + fanOut)) - 1) < 0.01);
  nn.init.normal_(w, 3, 0.5);
  assert.ok(Math.abs(mean(w.toFloat32Array()) - 3) < 0.01);
  nn.init.uniform_(w, -1, 2);
  a = w.toFloat32Array();
  assert.ok(a.every((v) => v >= -1 && v <= 2) && Math.abs(mean(a) - 0.5) < 0.01);
  nn.init.constant_(w, 0.25);
  assert.ok(w.toFloat32Array().every((v) => v === 0.25));
  assert.equal(nn.init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
  assert.equal(nn.init.calculateGain('tanh'), 5 / 3);
  assert.throws(() => nn.init.calculateGain('swish' as never), /expected 'linear'/);
  assert.throws(() => nn.init.xavierUniform_(T.zeros([3])), /at least 2 dimensions/);
  // initialising a parameter records nothing for autograd
  const lin = new nn.Linear(4, 4);
  nn.init.normal_(lin.weight);
  assert.ok(lin.weight.isLeaf && lin.weight.requiresGrad);
});

test('dcganInit: conv N(0, 0.02), batch-norm weight N(1, 0.02) and bias 0, other layers untouched', () => {
  T.manualSeed(4);
  const net = new nn.Sequential(new nn.Conv2d(64, 128, 4, { bias: false }), new nn.BatchNorm2d(512), new nn.ConvTranspose2d(128, 64, 4), new nn.Linear(3, 3));
  const linBefore = net.at(3).param('weight').toFloat32Array();
  const convtBias = net.at(2).param('bias').toFloat32Array();
  nn.dcganInit(net);
  const c = net.at(0).param('weight').toFloat32Array();
  assert.ok(Math.abs(mean(c)) < 0.001 && Math.abs(std(c) - 0.02) < 0.001);
  const bw = net.at(1).param('weight').toFloat32Array();
  assert.ok(Math.abs(mean(bw) - 1) < 0.005 && Math.abs(std(bw) - 0.02) < 0.003);
  assert.ok(
    net
      .at(1)
      .param('bias')
      .toFloat32Array()
      .every((v) => v === 0),
  );
  assert.ok(Math.abs(std(net.at(2).param('weight').toFloat32Array()) - 0.02) < 0.001);
  assert.deepEqual(net.at(2).param('bias').toFloat32Array(), convtBias);
  assert.deepEqual(net.at(3).param('weight').toFloat32Array(), linBefore);
});

test('BatchNorm options: no affine, no running stats, cumulative momentum', () => {
  const x = T.tensor([
    [1, 2],
    [3, 6],
  ]);
  const bn = new nn.BatchNorm1d(2, { affine: false, trackRunningStats: false });
  assert.deepEqual(bn.stateDictKeys(), []);
  bn.eval(); // without running statistics, evaluation uses the batch statistics
  const y = bn.call(x).toFloat32Array();
  assert.ok(Math.abs(y[0]! + 1) < 1e-4 && Math.abs(y[3]! - 1) < 1e-4);
  const cum = new nn.BatchNorm1d(2, { momentum: null });
  cum.call(x).dispose();
  cum
    .call(
      T.tensor([
        [5, 0],
        [7, 0],
      ]),
    )
    .dispose();
  // cumulative average of the batch means: ((2, 4) + (6, 0)) / 2
  assert.deepEqual(Array.from(cum.runningMean!.toFloat32Array()), [4, 2]);
  assert.throws(() => cum.call(T.zeros([2, 3])), /BatchNorm1d: expected a 2-D or 3-D input with 2 channels/);
  assert.throws(() => new nn.BatchNorm2d(3).call(T.zeros([2, 3, 4])), /BatchNorm2d: expected a 4-D NCHW input/);
});

test('Module.to(cuda) on a machine without CUDA fails cleanly and leaves the module usable', { skip: T.cudaIsAvailable() }, () => {
  const lin = new nn.Linear(2, 2);
  assert.throws(
    () => lin.to('cuda'),
    (e: Error) => e instanceof T.AnogenError || e instanceof T.TorchError,
  );
  assert.equal(lin.weight.device, 'cpu');
  assert.deepEqual(lin.call(T.ones([1, 2])).shape, [1, 2]);
});
