/** Small assertion helpers shared by the core tests. */
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/core/index.js';

/** Asserts every element of `actual` is within atol + rtol*|expected| of `expected` (flattened). */
export function close(actual: Tensor | ArrayLike<number> | number, expected: ArrayLike<number> | number, atol = 1e-5, rtol = 1e-5): void {
  const a: number[] =
    typeof actual === 'number' ? [actual] : 'handle' in (actual as object) ? Array.from((actual as Tensor).toFloat64Array()) : Array.from(actual as ArrayLike<number>);
  const e: number[] = typeof expected === 'number' ? [expected] : Array.from(expected);
  assert.equal(a.length, e.length, `length ${a.length} != expected ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const ok = Math.abs(a[i]! - e[i]!) <= atol + rtol * Math.abs(e[i]!) || (Number.isNaN(a[i]) && Number.isNaN(e[i]));
    assert.ok(ok, `element ${i}: ${a[i]} != ${e[i]} (actual [${a.slice(0, 12).join(', ')}])`);
  }
}

/** The flat values of a tensor as plain numbers. */
export function vals(t: Tensor): number[] {
  return Array.from(t.toFloat64Array());
}
