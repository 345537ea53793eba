import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';

test('factories take the device through the op bridge: every one accepts an explicit cpu and gives what it gave without one', () => {
  const make: [string, (o: T.CreateOptions) => T.Tensor][] = [
    ['zeros', (o) => T.zeros([2, 3], o)],
    ['ones', (o) => T.ones([2], o)],
    ['full', (o) => T.full([2], 7, o)],
    ['randn', (o) => T.randn([5], o)],
    ['rand', (o) => T.rand([5], o)],
    ['randint', (o) => T.randint(0, 10, [5], o)],
    ['randperm', (o) => T.randperm(6, o)],
    ['arange', (o) => T.arange(1, 4, 1, o)],
    ['linspace', (o) => T.linspace(0, 1, 3, o)],
    ['eye', (o) => T.eye(2, 3, o)],
    ['empty', (o) => T.empty([2, 2], o)],
  ];
  for (const [name, f] of make) {
    for (const dtype of [undefined, 'float64'] as const) {
      if (dtype !== undefined && (name === 'randint' || name === 'randperm')) continue;
      T.manualSeed(11);
      const a = f({ dtype });
      T.manualSeed(11);
      const b = f({ dtype, device: 'cpu' });
      assert.equal(b.device, 'cpu', name);
      assert.equal(b.dtype, a.dtype, name);
      assert.deepEqual(b.shape, a.shape, name);
      if (name !== 'empty') assert.deepEqual(b.toFloat64Array(), a.toFloat64Array(), `${name}: same values with device 'cpu'`);
      a.dispose();
      b.dispose();
    }
  }
  const r = T.randn([2], { device: 'cpu', requiresGrad: true });
  assert.equal(r.requiresGrad, true);
  r.dispose();
});

test('factoryOptions: the TensorOptions tail (dtype code, layout, device) passed to ATen factories', () => {
  assert.deepEqual(T.factoryOptions({}), [T.SCALAR_TYPE.float32, null, null]);
  assert.deepEqual(T.factoryOptions({}, 'int64'), [T.SCALAR_TYPE.int64, null, null]);
  assert.deepEqual(T.factoryOptions({ dtype: 'float64', device: 'cpu' }), [T.SCALAR_TYPE.float64, null, 'cpu']);
  assert.throws(
    () => T.factoryOptions({ device: 'gpu' as T.Device }),
    (e: Error) => e instanceof T.AnogenError && /"gpu" is not a valid device/.test(e.message),
  );
  if (T.cudaIsAvailable()) {
    assert.deepEqual(T.factoryOptions({ device: 'cuda:0' }), [T.SCALAR_TYPE.float32, null, 'cuda:0']);
  } else {
    assert.throws(
      () => T.factoryOptions({ device: 'cuda:1' }),
      (e: Error) => e instanceof T.AnogenError && /CUDA is not available/.test(e.message),
    );
  }
});

test(
  'randn/rand on a device do not sample on the CPU first (the CPU generator is untouched)',
  { skip: T.cudaIsAvailable() ? 'CUDA present: covered by the GPU check' : false },
  () => {
    // The old path drew on the CPU and copied; now the device goes into the op, so asking for a
    // device that is not there fails before any draw.
    T.manualSeed(5);
    const before = T.getRngState();
    for (const f of [T.randn, T.rand]) assert.throws(() => f([3], { device: 'cuda' }), /CUDA is not available/);
    assert.deepEqual(T.getRngState(), before);
  },
);

test('creationObservers see every creation with the device option as given', () => {
  const seen: T.CreationEvent[] = [];
  const f = (e: T.CreationEvent) => seen.push(e);
  T.creationObservers.add(f);
  try {
    T.tidy(() => {
      T.zeros([1]);
      T.randn([1], { device: 'cpu' });
      T.tensor([1, 2]);
      T.zerosLike(T.tensor([1], { device: 'cpu' }));
      T.arange(3);
    });
  } finally {
    T.creationObservers.delete(f);
  }
  assert.deepEqual(
    seen.map((e) => [e.fn, e.device]),
    [
      ['zeros', undefined],
      ['randn', 'cpu'],
      ['tensor', undefined],
      ['tensor', 'cpu'],
      ['zeros', 'cpu'], // zerosLike: the device of its model tensor
      ['arange', undefined],
    ],
  );
  T.zeros([1]).dispose();
  assert.equal(seen.length, 6, 'a removed listener is not called');
});

test('resolveDevice: auto, cpu, cuda, cuda:N; AnogenErrors name the option and the valid forms', () => {
  const cuda = T.cudaIsAvailable();
  assert.equal(T.resolveDevice('auto'), cuda ? 'cuda' : 'cpu');
  assert.equal(T.resolveDevice(), cuda ? 'cuda' : 'cpu');
  assert.equal(T.resolveDevice('cpu'), 'cpu');
  for (const bad of ['gpu', 'CPU', 'cuda:', 'cuda:-1', 'cuda:x', 'mps', '', 3, null]) {
    assert.throws(
      () => T.resolveDevice(bad, '--device'),
      (e: Error) => e instanceof T.AnogenError && e.message.startsWith(`--device ${JSON.stringify(bad)}: not a device; valid: auto, cpu, cuda or cuda:N`),
      String(bad),
    );
  }
  if (!cuda) {
    for (const spec of ['cuda', 'cuda:0', 'cuda:3']) {
      assert.throws(
        () => T.resolveDevice(spec),
        (e: Error) => e instanceof T.AnogenError && e.message === `--device ${spec}: this libtorch build has no CUDA (cpu only) or sees no GPU; use --device cpu (or auto)`,
      );
    }
  } else {
    const n = T.cudaDeviceCount();
    assert.equal(T.resolveDevice('cuda'), 'cuda');
    assert.equal(T.resolveDevice(`cuda:${n - 1}`), `cuda:${n - 1}`);
    assert.throws(() => T.resolveDevice(`cuda:${n}`), /CUDA device/);
  }
  assert.throws(() => T.resolveDevice('tpu', 'device'), /^AnogenError: device "tpu": not a device/);
});
