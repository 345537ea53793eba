import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';

test('addon loads and computes', () => {
  const a = T.tensor([
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(a.matmul(T.ones([2, 2])).toArray(), [
    [3, 3],
    [7, 7],
  ]);
  assert.equal(a.dtype, 'float32');
  assert.deepEqual(a.shape, [2, 2]);
});

test('torch errors become TorchError without backtrace', () => {
  const a = T.ones([2, 2]);
  assert.throws(
    () => a.matmul(T.ones([3, 3])),
    (e: Error) => {
      assert.equal(e.name, 'TorchError');
      assert.ok(e instanceof T.TorchError);
      assert.match(e.message, /cannot be multiplied \(2x2 and 3x3\)/);
      assert.doesNotMatch(e.message, /Exception raised from|frame #/);
      return true;
    },
  );
});
