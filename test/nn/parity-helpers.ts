/** Helpers of the PyTorch parity tests: fixture loading and tolerant comparison. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '../../src/core/index.js';
import { readSafetensors } from '../../src/nn/safetensors.js';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export interface Fixture {
  t: Map<string, T.Tensor>;
  meta: Record<string, any>;
  get(name: string): T.Tensor;
  /** Entries under `prefix.` with the prefix removed. */
  sub(prefix: string): Map<string, T.Tensor>;
}

/** Reads test/fixtures/<name>.safetensors (written by scripts/make-fixtures.py). */
export function fixture(name: string): Fixture {
  const { tensors, metadata } = readSafetensors(path.join(FIXTURES, `${name}.safetensors`));
  const meta: Record<string, any> = {};
  for (const [k, v] of Object.entries(metadata)) {
    try {
      meta[k] = JSON.parse(v);
    } catch {
      meta[k] = v;
    }
  }
  return {
    t: tensors,
    meta,
    get(n: string): T.Tensor {
      const x = tensors.get(n);
      if (x === undefined) throw new Error(`fixture ${name} has no tensor '${n}'`);
      return x;
    },
    sub(prefix: string): Map<string, T.Tensor> {
      const out = new Map<string, T.Tensor>();
      for (const [k, v] of tensors) if (k.startsWith(`${prefix}.`)) out.set(k.slice(prefix.length + 1), v);
      return out;
    },
  };
}

/** The worst relative deviations seen, for the report. */
export const worst = { rel: 0, what: '' };

/**
 * Asserts |a - e| <= atol + rtol |e| elementwise, with rtol 1e-5 and atol = 1e-5 * max|e|
 * (values near zero are judged against the tensor's scale). Returns the largest |a - e| / max|e|.
 */
export function assertClose(actual: T.Tensor | null, expected: T.Tensor, what: string, rtol = 1e-5, atolScale = 1e-5): number {
  assert.ok(actual !== null, `${what}: missing`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toFloat64Array();
  const e = expected.toFloat64Array();
  let maxAbs = 0;
  for (const v of e) maxAbs = Math.max(maxAbs, Math.abs(v));
  const atol = atolScale * maxAbs;
  let rel = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i]! - e[i]!);
    if (!(d <= atol + rtol * Math.abs(e[i]!))) {
      assert.fail(`${what}: element ${i} is ${a[i]}, PyTorch ${e[i]} (|diff| ${d.toExponential(2)}, atol ${atol.toExponential(2)}, rtol ${rtol})`);
    }
    if (maxAbs > 0) rel = Math.max(rel, d / maxAbs);
  }
  if (rel > worst.rel) {
    worst.rel = rel;
    worst.what = what;
  }
  return rel;
}

/** Asserts exact equality (same dtype values), for seeded initialisation. */
export function assertEqualValues(actual: T.Tensor, expected: T.Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  assert.deepEqual(actual.toFloat64Array(), expected.toFloat64Array(), `${what}: values`);
}
