// Regressions found by the fuzzing harness (test/fuzz) in the safetensors header parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnogenError } from '../../src/core/errors.js';
import { deserializeSafetensors } from '../../src/nn/safetensors.js';
import { fromConfig } from '../../src/data/index.js';

function file(header: unknown, data = new Uint8Array(8)): Uint8Array {
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

test('a dtype named like an Object.prototype property is an unknown dtype, not a TypeError (fuzz finding)', () => {
  // found by `npm run fuzz` (seed 777): {"x": {"dtype": "toString", ...}} threw "Cannot convert undefined to a BigInt"
  for (const dtype of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']) {
    assert.throws(
      () => deserializeSafetensors(file({ x: { dtype, shape: [2], data_offsets: [0, 8] } }), 'fuzz.safetensors'),
      (e: unknown) => e instanceof AnogenError && /fuzz\.safetensors: not a valid safetensors file: tensor 'x': unknown dtype/.test((e as Error).message),
      dtype,
    );
  }
});

test('a transform type named like an Object.prototype property is an AnogenError', () => {
  for (const type of ['toString', 'constructor', '__proto__']) {
    assert.throws(
      () => fromConfig([{ type } as never]),
      (e: unknown) => e instanceof AnogenError,
      type,
    );
  }
});
