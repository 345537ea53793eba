/**
 * The DCGAN encoder/decoder of the GANomaly reference code: shapes, reference names and
 * argument errors. Their PyTorch parity (names, seeded init, outputs, gradients, running
 * statistics) is checked through GANomaly's NetG/NetD in test/detectors/ganomaly-parity.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import { DcganEncoder, DcganDecoder } from '../../src/models/dcgan/index.js';

test('DCGAN encoder/decoder shapes and argument errors', () => {
  const enc = new DcganEncoder(64, 10, 3, 8, { extraLayers: 1 });
  const dec = new DcganDecoder(64, 10, 3, 8, { extraLayers: 1 });
  const z = T.tidy(() => enc.call(T.zeros([2, 3, 64, 64])));
  assert.deepEqual(z.shape, [2, 10, 1, 1]);
  assert.deepEqual(T.tidy(() => dec.call(z)).shape, [2, 3, 64, 64]);
  assert.ok(enc.stateDictKeys().includes('main.extra-layers-0-8-batchnorm.running_mean'));
  assert.ok(dec.stateDictKeys().includes('main.initial-10-64-convt.weight'));
  assert.equal(enc.featureChannels, 64);
  assert.throws(() => new DcganEncoder(48, 10, 3, 8), /isize must be a power of two >= 16/);
  assert.throws(() => new DcganDecoder(32, 0, 3, 8), /nz must be an integer >= 1/);
  assert.throws(() => enc.call(T.zeros([2, 1, 64, 64])), /expected input \[N, 3, 64, 64\]/);
  enc.dispose();
  dec.dispose();
});
