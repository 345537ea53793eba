import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import * as nn from '../../src/nn/index.js';
import * as optim from '../../src/optim/index.js';

class Net extends nn.Module {
  readonly main: nn.Sequential;
  readonly head: nn.Linear;
  constructor() {
    super();
    this.main = this.registerModule('main', new nn.Sequential(new nn.Conv2d(1, 4, 3, { bias: false }), new nn.BatchNorm2d(4), new nn.LeakyReLU(0.2)));
    this.head = this.registerModule('head', new nn.Linear(4, 2));
  }
  forward(x: T.Tensor): T.Tensor {
    return T.tidy(() => this.head.call(this.main.call(x).mean([2, 3])));
  }
}

test('dotted names, order and counts follow PyTorch', () => {
  const net = new Net();
  assert.deepEqual(
    [...net.namedParameters()].map(([n]) => n),
    ['main.0.weight', 'main.1.weight', 'main.1.bias', 'head.weight', 'head.bias'],
  );
  assert.deepEqual(
    [...net.namedBuffers()].map(([n]) => n),
    ['main.1.running_mean', 'main.1.running_var', 'main.1.num_batches_tracked'],
  );
  assert.deepEqual(net.stateDictKeys(), [
    'main.0.weight',
    'main.1.weight',
    'main.1.bias',
    'main.1.running_mean',
    'main.1.running_var',
    'main.1.num_batches_tracked',
    'head.weight',
    'head.bias',
  ]);
  assert.deepEqual(
    [...net.namedModules()].map(([n]) => n),
    ['', 'main', 'main.0', 'main.1', 'main.2', 'head'],
  );
  assert.equal(net.numParameters(), 36 + 4 + 4 + 8 + 2);
  assert.ok(net.parameters().every((p) => p.requiresGrad));
  assert.match(net.toString(), /\(main\): Sequential\(\n {4}\(0\): Conv2d/);
  net.dispose();
});

test('train/eval recurse; batch norm updates running stats only in training', () => {
  const net = new Net();
  const bn = net.main.at(1) as nn.BatchNorm2d;
  const x = T.randn([3, 1, 6, 6]);
  net.eval();
  assert.ok([...net.modules()].every((m) => !m.training));
  net.call(x).dispose();
  assert.equal(bn.numBatchesTracked!.item(), 0);
  assert.deepEqual(Array.from(bn.runningVar!.toFloat32Array()), [1, 1, 1, 1]);
  net.train();
  assert.ok([...net.modules()].every((m) => m.training));
  net.call(x).dispose();
  net.call(x).dispose();
  assert.equal(bn.numBatchesTracked!.item(), 2);
  assert.ok(Array.from(bn.runningMean!.toFloat32Array()).some((v) => v !== 0));
  net.dispose();
});

test('parameters survive tidy; zeroGrad clears gradients', () => {
  const lin = T.tidy(() => new nn.Linear(3, 2));
  assert.ok(!lin.weight.isDisposed);
  T.tidy(() =>
    lin
      .call(T.ones([4, 3]))
      .sum()
      .backward(),
  );
  assert.ok(lin.weight.grad !== null);
  assert.deepEqual(Array.from(lin.bias!.grad!.toFloat32Array()), [4, 4]);
  lin.zeroGrad(false);
  assert.deepEqual(Array.from(lin.bias!.grad!.toFloat32Array()), [0, 0]);
  lin.zeroGrad();
  assert.equal(lin.weight.grad, null);
  lin.dispose();
});

test('stateDict round trip and loadStateDict checks names and shapes', () => {
  const a = new Net();
  const b = new Net();
  const sd = a.stateDict();
  b.loadStateDict(sd);
  for (const [k, t] of b.stateDict()) assert.ok(t.allclose(sd.get(k)!), k);
  // the loaded values are copies: changing a does not change b
  T.noGrad(() => a.head.weight.fill_(7));
  assert.notEqual(b.head.weight.toFloat32Array()[0], 7);

  const missing = new Map(sd);
  missing.delete('main.1.running_var');
  missing.set('extra.weight', T.zeros([1]));
  assert.throws(
    () => b.loadStateDict(missing, { source: 'w.safetensors' }),
    (e: Error) => {
      assert.ok(e instanceof T.AnogenError);
      assert.match(e.message, /w\.safetensors/);
      assert.match(e.message, /missing keys: main\.1\.running_var/);
      assert.match(e.message, /unexpected keys: extra\.weight/);
      return true;
    },
  );
  const r = b.loadStateDict(missing, { strict: false });
  assert.deepEqual(r.missingKeys, ['main.1.running_var']);
  assert.deepEqual(r.unexpectedKeys, ['extra.weight']);

  const wrong = new Map(sd);
  wrong.set('head.weight', T.zeros([3, 4]));
  const before = b.head.bias!.toFloat32Array();
  assert.throws(() => b.loadStateDict(wrong), /size mismatch: head\.weight: shape \[3, 4\] in state dict, \[2, 4\] in the module/);
  // nothing was copied when the check failed
  assert.deepEqual(b.head.bias!.toFloat32Array(), before);
  a.dispose();
  b.dispose();
});

test('registration errors name the problem', () => {
  const lin = new nn.Linear(2, 2);
  assert.throws(() => lin.registerParameter('a.b', T.zeros([1])), /without '\.'/);
  assert.throws(() => lin.registerBuffer('weight', T.zeros([1])), /already used/);
  assert.throws(() => lin.registerParameter('w2', lin.weight.mul(2)), /parameter 'w2' must be a leaf tensor/);
  assert.throws(() => new nn.Linear(0, 2), /Linear: inFeatures must be a positive integer, got 0/);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /divisible by groups/);
  assert.throws(() => new nn.Conv2d(3, 4, 3).call(T.zeros([1, 2, 5, 5])), /expected 3 input channels/);
  lin.dispose();
});

test('to(cpu) keeps the same tensors', () => {
  const lin = new nn.Linear(2, 2);
  const w = lin.weight;
  lin.to('cpu');
  assert.equal(lin.weight, w);
  lin.dispose();
});

test('to(dtype) round trip keeps the parameter and buffer objects, requiresGrad, gradients and values', () => {
  const net = new Net();
  const params = net.parameters();
  const buffers = net.buffers();
  const before = params.map((p) => p.toFloat64Array());
  net.head.weight.grad = T.onesLike(net.head.weight);
  const live = T.liveTensors();
  net.to('float64');
  assert.deepEqual(net.parameters(), params);
  assert.ok(net.parameters().every((p, i) => p === params[i] && p.dtype === 'float64' && p.requiresGrad && p.isLeaf));
  assert.ok(net.buffers().every((b, i) => b === buffers[i]));
  const bn = net.main.at(1) as nn.BatchNorm2d;
  assert.equal(bn.runningMean!.dtype, 'float64');
  assert.equal(bn.numBatchesTracked!.dtype, 'int64'); // integer buffers keep their dtype, as PyTorch
  assert.equal(
    T.tidy(() => net.head.weight.grad!.dtype),
    'float64',
  );
  net.to({ device: 'cpu', dtype: 'float32' });
  assert.ok(net.parameters().every((p, i) => p === params[i] && p.dtype === 'float32' && p.requiresGrad));
  params.forEach((p, i) => assert.deepEqual(p.toFloat64Array(), before[i]));
  assert.deepEqual(Array.from(T.tidy(() => net.head.weight.grad!.toFloat32Array())), [1, 1, 1, 1, 1, 1, 1, 1]);
  assert.equal(T.liveTensors(), live, 'the replaced native tensors are freed');
  assert.throws(() => net.to('int64'), /Module.to\(\): dtype must be floating-point/);
  assert.throws(() => net.to('gpu' as T.Device), /Module.to\(\): "gpu" is not a valid device/);
  if (!T.cudaIsAvailable()) assert.throws(() => net.to('cuda'), /CUDA is not available/);
  net.dispose();
});

test('an optimiser built before Module.to() keeps updating the moved parameters (PyTorch keeps parameter identity)', () => {
  // Two identical nets; one is moved to float64 and back after its Adam is built. The old
  // Module.to replaced parameter objects that could not be swapped in place, so the optimiser
  // held freed tensors and stepping failed: identity is what makes this work.
  const make = () => {
    T.manualSeed(3);
    return new nn.Linear(3, 2);
  };
  const a = make();
  const b = make();
  const optA = new optim.Adam(a.parameters(), { lr: 0.1 });
  const optB = new optim.Adam(b.parameters(), { lr: 0.1 });
  b.to('float64').to('float32');
  const x = T.tensor([
    [1, 2, 3],
    [-1, 0, 2],
  ]);
  for (const [net, opt] of [
    [a, optA],
    [b, optB],
  ] as const) {
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      T.tidy(() => net.call(x).square().sum().backward());
      opt.step();
    }
  }
  assert.deepEqual(b.weight.toFloat32Array(), a.weight.toFloat32Array());
  assert.deepEqual(b.bias!.toFloat32Array(), a.bias!.toFloat32Array());
  assert.notDeepEqual(b.weight.toFloat32Array(), make().weight.toFloat32Array(), 'the steps changed the weights');
  optA.dispose();
  optB.dispose();
  a.dispose();
  b.dispose();
  x.dispose();
});

test('weight sharing: a parameter registered twice is listed once by parameters(), under both names in the state dict (as PyTorch)', () => {
  const a = new nn.Linear(2, 2);
  const s = new nn.Sequential(a, new nn.ReLU(), a);
  assert.equal(s.parameters().length, 2);
  assert.deepEqual(s.stateDictKeys(), ['0.weight', '0.bias', '2.weight', '2.bias']);
  a.dispose();
});
