// Mistakes throw catchable errors with clear messages and never abort the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import * as F from '../../src/nn/functional.js';
import { settledLiveTensors } from '../helpers/live.js';

/** Asserts fn throws an error of class `cls` whose message matches `re` and has no C++ backtrace. */
function throwsClean(fn: () => unknown, cls: new (...a: never[]) => Error, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.match((e as Error).message, re);
    assert.doesNotMatch((e as Error).message, /Exception raised from|frame #\d|\.cpp:\d+|c10::|enforce fail/);
    return true;
  });
}

const long = (d: T.NestedArray) => T.tensor(d, { dtype: 'int64' });

test('shape mismatches are TorchErrors', () => {
  throwsClean(() => T.ones([3]).add(T.ones([4])), T.TorchError, /size of tensor a \(3\) must match the size of tensor b \(4\)/);
  throwsClean(() => T.ones([2, 3]).matmul(T.ones([2, 3])), T.TorchError, /cannot be multiplied \(2x3 and 2x3\)/);
  throwsClean(() => T.ones([3]).view(2, 2), T.TorchError, /shape '\[2, 2\]' is invalid for input of size 3/);
  throwsClean(() => T.cat([T.ones([1, 2]), T.ones([1, 3])]), T.TorchError, /Sizes of tensors must match/);
  throwsClean(() => F.conv2d(T.ones([1, 2, 4, 4]), T.ones([1, 3, 3, 3])), T.TorchError, /expected input\[1, 2, 4, 4\] to have 3 channels, but got 2 channels/);
  throwsClean(() => F.conv2d(T.ones([1, 1, 2, 2]), T.ones([1, 1, 3, 3])), T.TorchError, /Kernel size can't be greater than actual input size/);
  throwsClean(() => F.linear(T.ones([2, 3]), T.ones([4, 5])), T.TorchError, /cannot be multiplied/);
  throwsClean(() => F.mseLoss(T.ones([2]), T.ones([3])), T.TorchError, /size of tensor a \(2\) must match/);
  throwsClean(() => F.batchNorm(T.ones([2, 3, 4, 4]), T.zeros([2]), T.ones([2])), T.TorchError, /running_mean should contain 3 elements not 2/);
});

test('wrong dtypes are TorchErrors', () => {
  throwsClean(() => F.conv2d(T.ones([1, 1, 3, 3], { dtype: 'int64' }), T.ones([1, 1, 2, 2])), T.TorchError, /expected scalar type Long but found Float/);
  throwsClean(() => T.ones([2, 2], { dtype: 'bool' }).matmul(T.ones([2, 2], { dtype: 'bool' })), T.TorchError, /not implemented for 'Bool'/);
  throwsClean(() => F.nllLoss(T.ones([2, 3]), T.tensor([0, 1])), T.TorchError, /expected scalar type Long but found Float/);
  throwsClean(() => T.ones([3]).indexSelect(0, T.tensor([0])), T.TorchError, /index_select\(\): Expected dtype (int32 or )?int64 for index/);
  throwsClean(() => F.crossEntropy(T.ones([2, 3]), T.tensor([0.5, 1])), T.TorchError, /./);
  throwsClean(
    () =>
      T.ones([2])
        .sqrt_()
        .copy_(T.ones([2]))
        .add_(T.ones([2], { dtype: 'float64' }))
        .long()
        .add_(0.5),
    T.TorchError,
    /result type Float can't be cast to the desired output type Long/,
  );
});

test('indices out of range are TorchErrors', () => {
  throwsClean(() => T.ones([3]).indexSelect(0, long([5])), T.TorchError, /index out of range in self/);
  throwsClean(() => T.ones([3]).gather(0, long([5])), T.TorchError, /index 5 is out of bounds for dimension 0 with size 3/);
  throwsClean(() => T.ones([3]).select(0, 7), T.TorchError, /index 7 out of range for tensor of size \[3\]/);
  throwsClean(() => T.ones([3]).index([long([3])]), T.TorchError, /index 3 is out of bounds for dimension 0 with size 3/);
  throwsClean(() => T.zeros([3]).scatter(0, long([4]), 1), T.TorchError, /index 4 is out of bounds for dimension 0 with size 3/);
  throwsClean(() => F.embedding(long([9]), T.ones([3, 2])), T.TorchError, /index out of range in self/);
  throwsClean(() => F.crossEntropy(T.ones([2, 3]), long([0, 5])), T.TorchError, /Target 5 is out of bounds/);
  throwsClean(() => T.ones([2, 2]).transpose(0, 2), T.TorchError, /Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/);
  throwsClean(() => T.ones([2, 2]).sum(5), T.TorchError, /Dimension out of range/);
  throwsClean(() => T.ones([2]).narrow(0, 1, 5), T.TorchError, /start \(1\) \+ length \(5\) exceeds dimension size \(2\)/);
});

test('numerical domain errors are TorchErrors', () => {
  throwsClean(
    () =>
      F.cholesky(
        T.tensor([
          [1, 2],
          [2, 1],
        ]),
      ),
    T.TorchError,
    /not positive-definite/,
  );
  throwsClean(() => F.bce(T.tensor([2]), T.tensor([1])), T.TorchError, /all elements of input should be between 0 and 1/);
  throwsClean(() => T.ones([3]).item(), T.TorchError, /a Tensor with 3 elements cannot be converted to Scalar/);
  throwsClean(() => F.inverse(T.zeros([2, 2])), T.TorchError, /singular/);
});

test('using a disposed tensor is an AnogenError', () => {
  const x = T.ones([2]);
  const y = x.add(1);
  x.dispose();
  x.dispose(); // idempotent
  assert.equal(x.isDisposed, true);
  throwsClean(() => x.add(1), T.AnogenError, /tensor was disposed .*cannot be used/);
  throwsClean(() => y.add(x), T.AnogenError, /tensor was disposed/);
  throwsClean(() => x.shape, T.AnogenError, /tensor was disposed/);
  throwsClean(() => x.toFloat32Array(), T.AnogenError, /tensor was disposed/);
  throwsClean(() => T.cat([y, x]), T.AnogenError, /tensor was disposed/);
  const inner = T.tidy(() => {
    const t = T.ones([1]);
    return () => t.add(1);
  });
  throwsClean(inner, T.AnogenError, /leaving a tidy\(\) scope/);
  assert.deepEqual(y.toArray(), [2, 2]); // others unaffected
});

test('wrong argument types are TypeErrors or AnogenErrors', () => {
  const x = T.ones([3]);
  throwsClean(() => x.add('x' as unknown as number), TypeError, /aten::add.Tensor: argument 'other' \(Tensor\) got undefined/);
  throwsClean(() => x.mul({} as unknown as number), TypeError, /argument 'other' \(Tensor\)/);
  throwsClean(() => x.reshape('a' as unknown as number), TypeError, /expected an array of integers/);
  throwsClean(() => T.ones([3, 3]).sum(1.5), TypeError, /aten::sum.dim_IntList: expected an array of integers, got 1.5/);
  throwsClean(() => x.narrow(0, 0.5, 1), TypeError, /aten::narrow: argument 'start' \(int\) expects an integer/);
  throwsClean(() => x.leakyRelu('a' as unknown as number), TypeError, /argument 'negative_slope' \(Scalar\) expects a number/);
  throwsClean(() => x.clamp_('a' as unknown as number), TypeError, /expects a number/);
  throwsClean(() => F.conv2d(x, 'w' as unknown as T.Tensor), TypeError, /argument 'weight' \(Tensor\)/);
  throwsClean(() => F.maxPool2d(T.ones([1, 1, 4, 4]), [2, 'a'] as unknown as [number, number]), TypeError, /expected an array of integers/);
  throwsClean(() => T.zeros('3' as unknown as number[]), T.AnogenError, /./);
  throwsClean(() => T.tensor([1, 'a'] as unknown as number[]), T.AnogenError, /expected numbers or booleans, got string/);
  throwsClean(() => T.ones([2], { dtype: 'float' as T.DType }), T.AnogenError, /unknown dtype "float"; expected 'uint8', .* or 'bool'/);
  throwsClean(() => F.mseLoss(x, x, 'avg' as 'mean'), T.AnogenError, /reduction: "avg" is not valid/);
  throwsClean(() => x.to(42 as unknown as T.Device), T.AnogenError, /expected a device, a dtype or \{ device, dtype \}/);
  assert.throws(() => x.add(null as unknown as number), TypeError);
});

test('autograd misuse is a TorchError', () => {
  throwsClean(() => T.ones([2]).sum().backward(), T.TorchError, /does not require grad/);
  const w = T.ones([2], { requiresGrad: true });
  const y = w.mul(w).sum();
  y.backward();
  throwsClean(() => y.backward(), T.TorchError, /backward through the graph a second time/);
  throwsClean(() => w.mul(2).backward(), T.TorchError, /grad can be implicitly created only for scalar outputs/);
  throwsClean(() => T.grad(T.ones([1]).sum(), w), T.TorchError, /does not require grad/);
  const z = T.ones([2], { requiresGrad: true });
  throwsClean(() => T.grad(w.sum(), [z]), T.TorchError, /differentiated Tensors appears to not have been used in the graph/);
  assert.deepEqual(T.grad(w.sum(), [z], { allowUnused: true }), [null]);
  throwsClean(() => w.add_(1), T.TorchError, /a leaf Variable that requires grad is being used in an in-place operation/);
});

test('after all these errors the process still computes and no tensors leak from failed ops', () => {
  const before = settledLiveTensors();
  for (let i = 0; i < 50; i++) {
    try {
      T.tidy(() => T.ones([3]).add(T.ones([4])));
    } catch {
      /* expected */
    }
  }
  assert.ok(T.liveTensors() <= before, `${T.liveTensors() - before} tensors leaked`); // <=: the GC may free earlier garbage
  assert.deepEqual(T.ones([2]).add(1).toArray(), [2, 2]);
});

test('allocation failures are clean TorchErrors', () => {
  throwsClean(() => T.empty([1e7, 1e7]), T.TorchError, /^DefaultCPUAllocator: can't allocate memory/);
  assert.equal(T.cleanTorchMessage('[enforce fail at a.cpp:1] x == 0. Real message'), 'Real message');
  assert.equal(T.cleanTorchMessage('[enforce fail at a.cpp:1] First. Second'), 'First. Second');
  assert.equal(T.cleanTorchMessage('bad thing\nException raised from f at a.cpp:3\nframe #0: g'), 'bad thing');
});

test('errors raised inside multi-threaded kernels are TorchErrors, not aborts', () => {
  const prev = T.getNumThreads();
  T.setNumThreads(2);
  try {
    const n = 200_000; // large enough for ATen to split the work across threads
    const idx = T.randint(0, n, [n]);
    idx.indexPut_([long([n - 10])], long([n + 5]));
    const big = T.ones([n]);
    const oob = new RegExp(`index ${n + 5} is out of bounds for dimension 0 with size ${n}`);
    throwsClean(() => big.gather(0, idx), T.TorchError, oob);
    throwsClean(() => big.index([idx]), T.TorchError, oob);
    throwsClean(() => T.zeros([n]).scatterAdd(0, idx, big), T.TorchError, oob);
    throwsClean(() => T.zeros([n]).indexPut_([idx], big, true), T.TorchError, oob);
    throwsClean(() => big.indexSelect(0, idx), T.TorchError, /index out of range in self/);
    throwsClean(() => F.embedding(idx, T.ones([n, 2])), T.TorchError, /index out of range in self/);
    throwsClean(() => F.oneHot(idx, 10), T.TorchError, /Class values must be smaller than num_classes/);
  } finally {
    T.setNumThreads(prev);
  }
});
