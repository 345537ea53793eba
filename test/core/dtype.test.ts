// Creation functions, dtypes (float32/64, int64, int32, uint8, bool), read-back, seeds, threads, devices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import { close } from './helpers.js';

test('nested arrays: default float32, explicit dtypes, bool from booleans', () => {
  const f = T.tensor([
    [1, 2],
    [3, 4],
  ]);
  assert.equal(f.dtype, 'float32');
  assert.deepEqual(f.shape, [2, 2]);
  assert.equal(f.ndim, 2);
  assert.equal(f.numel, 4);
  assert.equal(f.size(-1), 2);
  assert.throws(() => f.size(2), T.AnogenError);
  assert.equal(f.device, 'cpu');
  assert.ok(f.toTypedArray() instanceof Float32Array);
  assert.deepEqual(Array.from(f.toFloat32Array()), [1, 2, 3, 4]);

  const d = T.tensor([0.1, 0.2], { dtype: 'float64' });
  assert.equal(d.dtype, 'float64');
  const da = d.toTypedArray();
  assert.ok(da instanceof Float64Array);
  assert.deepEqual(Array.from(da), [0.1, 0.2]); // exact in float64
  assert.equal(d.toFloat32Array()[0], Math.fround(0.1));

  const l = T.tensor([1, -2, 3], { dtype: 'int64' });
  assert.equal(l.dtype, 'int64');
  assert.deepEqual(l.toTypedArray(), new BigInt64Array([1n, -2n, 3n]));
  assert.deepEqual(Array.from(l.toFloat32Array()), [1, -2, 3]);

  const i = T.tensor([[7, -8]], { dtype: 'int32' });
  assert.equal(i.dtype, 'int32');
  assert.deepEqual(i.toTypedArray(), new Int32Array([7, -8]));

  const u = T.tensor([0, 255, 7], { dtype: 'uint8' });
  assert.equal(u.dtype, 'uint8');
  assert.deepEqual(u.toTypedArray(), new Uint8Array([0, 255, 7]));

  const b = T.tensor([true, false, true]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toTypedArray(), new Uint8Array([1, 0, 1]));
  assert.deepEqual(b.toArray(), [true, false, true]);
  assert.deepEqual(Array.from(b.toFloat32Array()), [1, 0, 1]);
  assert.deepEqual(T.tensor([1, 0, 2], { dtype: 'bool' }).toArray(), [true, false, true]);

  const h = T.tensor([0.5, -2], { dtype: 'float16' });
  assert.equal(h.dtype, 'float16');
  assert.deepEqual(Array.from(h.toFloat32Array()), [0.5, -2]);

  const s = T.tensor(3.5);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 3.5);
  assert.equal(s.toArray(), 3.5);
  assert.deepEqual(T.tensor([]).shape, [0]);
  assert.deepEqual(T.tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] }).toArray(), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.throws(() => T.tensor([[1, 2], [3]]), /ragged/);
  assert.throws(() => T.tensor([1, 2, 3], { shape: [2, 2] }), T.AnogenError);
});

test('typed arrays keep their dtype; shapes are checked', () => {
  assert.equal(T.tensor(new Float64Array([1, 2])).dtype, 'float64');
  assert.equal(T.tensor(new Int32Array([1, 2])).dtype, 'int32');
  assert.equal(T.tensor(new BigInt64Array([1n, 2n])).dtype, 'int64');
  assert.equal(T.tensor(new Uint8Array([1, 2])).dtype, 'uint8');
  const x = T.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
  assert.deepEqual(x.toArray(), [
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  const bools = T.tensor(new Uint8Array([0, 3]), { dtype: 'bool' });
  assert.deepEqual(bools.toArray(), [false, true]);
  // a view into a larger buffer reads only its own window
  const big = new Float32Array([9, 1, 2, 9]);
  assert.deepEqual(T.tensor(big.subarray(1, 3)).toArray(), [1, 2]);
  assert.throws(() => T.tensor(new Float32Array(5), { shape: [2, 2] }), /needs 4 elements but the array has 5/);
  assert.throws(() => T.tensor(new Float32Array(2), { dtype: 'complex' as T.DType }), /unknown dtype "complex"/);
  // the data is copied: changing the source later does not change the tensor
  const src = new Float32Array([1, 2]);
  const c = T.tensor(src);
  src[0] = 100;
  assert.equal(c.toFloat32Array()[0], 1);
});

test('item on each dtype', () => {
  assert.equal(T.tensor([7], { dtype: 'int64' }).item(), 7);
  assert.equal(T.tensor([7], { dtype: 'int32' }).item(), 7);
  assert.equal(T.tensor([200], { dtype: 'uint8' }).item(), 200);
  assert.equal(T.tensor([0.25], { dtype: 'float64' }).item(), 0.25);
  assert.equal(T.tensor([true]).item(), 1);
  assert.equal(T.tensor([[2.5]]).item(), 2.5);
});

test('constants, ranges, identity, *Like', () => {
  assert.deepEqual(T.zeros([2, 2]).toArray(), [
    [0, 0],
    [0, 0],
  ]);
  assert.deepEqual(T.ones([3], { dtype: 'int32' }).toTypedArray(), new Int32Array([1, 1, 1]));
  assert.deepEqual(T.full([2], 4.5).toArray(), [4.5, 4.5]);
  assert.equal(T.full([2], 4, { dtype: 'float64' }).dtype, 'float64');
  assert.deepEqual(T.arange(4).toArray(), [0, 1, 2, 3]);
  assert.equal(T.arange(4).dtype, 'int64');
  assert.deepEqual(T.arange(2, 8, 3).toArray(), [2, 5]);
  const fr = T.arange(0, 1, 0.25);
  assert.equal(fr.dtype, 'float32');
  assert.deepEqual(fr.toArray(), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(T.arange(3, undefined, 1, { dtype: 'float64' }).toTypedArray(), new Float64Array([0, 1, 2]));
  close(T.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(T.eye(2).toArray(), [
    [1, 0],
    [0, 1],
  ]);
  assert.deepEqual(T.eye(2, 3).toArray(), [
    [1, 0, 0],
    [0, 1, 0],
  ]);
  assert.deepEqual(T.empty([2, 3]).shape, [2, 3]);
  const base = T.tensor([1, 2, 3], { dtype: 'int32' });
  const z = T.zerosLike(base);
  assert.equal(z.dtype, 'int32');
  assert.deepEqual(z.toArray(), [0, 0, 0]);
  assert.deepEqual(T.onesLike(base, { dtype: 'float64' }).toTypedArray(), new Float64Array([1, 1, 1]));
  assert.deepEqual(T.fullLike(base, 9).toArray(), [9, 9, 9]);
  const f = T.ones([4, 5]);
  assert.deepEqual(T.randnLike(f).shape, [4, 5]);
  assert.deepEqual(T.randLike(f).shape, [4, 5]);
  assert.deepEqual(T.emptyLike(f).shape, [4, 5]);
  assert.equal(T.zeros([2], { requiresGrad: true }).requiresGrad, true);
  assert.throws(() => T.zeros([2, -1]), /non-negative integers/);
});

test('random: ranges and manualSeed reproducibility', () => {
  T.manualSeed(42);
  const a = T.randn([100]).toFloat32Array();
  const r1 = T.rand([50]).toFloat32Array();
  const i1 = T.randint(0, 10, [50]).toTypedArray();
  T.manualSeed(42);
  const b = T.randn([100]).toFloat32Array();
  const r2 = T.rand([50]).toFloat32Array();
  const i2 = T.randint(0, 10, [50]).toTypedArray();
  assert.deepEqual(a, b);
  assert.deepEqual(r1, r2);
  assert.deepEqual(i1, i2);
  T.manualSeed(43);
  assert.notDeepEqual(T.randn([100]).toFloat32Array(), a);
  // N(0,1) moments on 100 samples: loose bounds only
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean) < 0.5);
  for (const v of r1) assert.ok(v >= 0 && v < 1);
  const ri = T.randint(3, 6, [200]);
  assert.equal(ri.dtype, 'int64');
  for (const v of ri.toTypedArray() as BigInt64Array) assert.ok(v >= 3n && v < 6n);
  const p = T.randperm(10);
  assert.equal(p.dtype, 'int64');
  assert.deepEqual(
    Array.from(p.toTypedArray() as BigInt64Array, Number).sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  // in-place samplers follow the seed too
  T.manualSeed(7);
  const n1 = T.empty([20]).normal_(1, 2).toFloat32Array();
  T.manualSeed(7);
  const n2 = T.empty([20]).normal_(1, 2).toFloat32Array();
  assert.deepEqual(n1, n2);
  assert.throws(() => T.manualSeed(-1), T.AnogenError);
  assert.throws(() => T.manualSeed(1.5), T.AnogenError);
});

test('dtype conversion and type promotion follow PyTorch', () => {
  const x = T.tensor([1.7, -1.7]);
  assert.deepEqual(x.long().toTypedArray(), new BigInt64Array([1n, -1n])); // truncation toward zero
  assert.deepEqual(x.int().toTypedArray(), new Int32Array([1, -1]));
  assert.equal(x.double().dtype, 'float64');
  assert.equal(x.to('float64').dtype, 'float64');
  assert.equal(x.to({ dtype: 'int32' }).dtype, 'int32');
  assert.equal(x.bool().dtype, 'bool');
  assert.equal(x.long().float().dtype, 'float32');
  const i = T.tensor([1, 2], { dtype: 'int64' });
  assert.equal(i.add(T.tensor([0.5, 0.5])).dtype, 'float32');
  assert.equal(i.add(1).dtype, 'int64');
  assert.equal(i.add(0.5).dtype, 'float32');
  assert.equal(i.div(2).dtype, 'float32'); // true division
  assert.deepEqual(i.div(2).toArray(), [0.5, 1]);
  assert.equal(i.mul(T.tensor([2], { dtype: 'int32' })).dtype, 'int64');
  assert.deepEqual(T.tensor([255], { dtype: 'uint8' }).add(1).toArray(), [0]); // wraps as in PyTorch
  assert.equal(T.tensor([1, 2]).gt(1).dtype, 'bool');
  assert.equal(T.tensor([true]).add(T.tensor([true])).dtype, 'bool');
  assert.equal(T.tensor([1], { dtype: 'float64' }).add(T.tensor([1])).dtype, 'float64');
  assert.equal(T.tensor([1, 2, 3], { dtype: 'int32' }).sum().dtype, 'int64'); // integer sums widen
  assert.throws(() => x.toDType('float128' as T.DType), /unknown dtype/);
});

test('threads: setNumThreads / getNumThreads', () => {
  const prev = T.getNumThreads();
  assert.ok(prev >= 1);
  T.setNumThreads(1);
  assert.equal(T.getNumThreads(), 1);
  T.setNumThreads(2);
  assert.equal(T.getNumThreads(), 2);
  T.setNumThreads(prev);
  assert.equal(T.getNumThreads(), prev);
  assert.throws(() => T.setNumThreads(0), T.AnogenError);
});

test('devices: cpu everywhere, cuda only when available, with a clear error otherwise', () => {
  const x = T.ones([2]);
  assert.equal(x.to('cpu').device, 'cpu');
  assert.equal(x.cpu().device, 'cpu');
  assert.equal(T.ones([2], { device: 'cpu' }).device, 'cpu');
  assert.equal(typeof T.torchVersion(), 'string');
  assert.throws(() => x.to('tpu' as T.Device), /neither a device .* nor a dtype/);
  assert.throws(() => T.checkDevice('cuda:x'), /not a valid device/);
  if (T.cudaIsAvailable()) {
    const g = x.to('cuda');
    assert.match(g.device, /^cuda/);
    assert.deepEqual(g.add(1).cpu().toArray(), [2, 2]);
    assert.ok(T.cudaDeviceCount() >= 1);
  } else {
    assert.equal(T.cudaDeviceCount(), 0);
    for (const f of [() => x.to('cuda'), () => x.cuda(), () => T.zeros([1], { device: 'cuda:0' }), () => x.to({ device: 'cuda' })]) {
      assert.throws(f, (e: Error) => e instanceof T.AnogenError && /CUDA is not available/.test(e.message) && /cudaIsAvailable/.test(e.message));
    }
  }
});

test('toString and toArray', () => {
  assert.equal(T.tensor([[1, 2]]).toString(), 'Tensor(shape=[1, 2], dtype=float32, device=cpu, [[1,2]])');
  assert.deepEqual(T.tensor([[1, 2]], { dtype: 'int64' }).toArray(), [[1, 2]]);
  const d = T.ones([1]);
  d.dispose();
  assert.equal(d.toString(), 'Tensor(disposed)');
});
