// Every registered detector through fit / score / calibrate / predict / save / load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manualSeed, randn, AnogenError } from '../../src/core/index.js';
import { createDetector, detectorNames, getDetector, loadBundle, saveBundle } from '../../src/detectors/index.js';

test('the registry lists ganomaly and rejects unknown names listing the valid ones', () => {
  assert.ok(detectorNames().includes('ganomaly'));
  assert.throws(
    () => getDetector('ganomalyy'),
    (e: Error) => e instanceof AnogenError && /expected .*'ganomaly'/.test(e.message),
  );
});

for (const name of detectorNames()) {
  test(`${name}: fit, score, predict, save, load`, async () => {
    const entry = getDetector(name);
    const d = createDetector(name, entry.tiny);
    assert.equal(d.name, name);
    // the detector's declared input, not an assumption about its hyperparameters
    const { size, channels } = d.input;
    manualSeed(0);
    const train = randn([32, channels, size, size]).mul(0.3).tanh();
    const val = randn([16, channels, size, size]).mul(0.3).tanh();
    const test_ = randn([8, channels, size, size]).tanh();
    const rep = await d.fit({ images: train }, { val: { images: val }, epochs: 1, batchSize: 16, seed: 1 });
    assert.ok(rep.steps >= 1);
    const s = d.score(test_);
    assert.equal(s.scores.length, 8);
    assert.ok(s.scores.every(Number.isFinite));
    const p = d.predict(test_);
    assert.equal(p.length, 8);
    assert.ok(p.every((v) => v === 0 || v === 1));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `anogen-${name}-`));
    saveBundle(dir, d);
    const back = loadBundle(dir).detector;
    const s2 = back.score(test_).scores;
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(s.scores[i] - s2[i]) <= 1e-6 * Math.max(1, Math.abs(s.scores[i])));
    assert.deepEqual(Array.from(back.predict(test_)), Array.from(p));
    // batchSize is honoured and changes nothing
    const small = back.score(test_, { batchSize: 3, maps: false }).scores;
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(small[i]! - s2[i]!) <= 1e-5 * Math.max(1, Math.abs(s2[i]!)), `batchSize 3: ${small[i]} vs ${s2[i]}`);
    // one image alone scores as in the batch
    const one = back.score(test_.narrow(0, 3, 1)).scores[0]!;
    assert.ok(Math.abs(one - s2[3]!) <= 1e-5 * Math.max(1, Math.abs(s2[3]!)), `single ${one} vs batch ${s2[3]}`);
    // a bad hyperparameter is refused naming it
    const key = Object.keys(entry.schema).find((k) => entry.schema[k]!.type === 'int' || entry.schema[k]!.type === 'number')!;
    assert.throws(
      () => createDetector(name, { [key]: -1e9 }),
      (e: Error) => e instanceof AnogenError && e.message.includes(key),
    );
    d.dispose();
    back.dispose();
    fs.rmSync(dir, { recursive: true });
  });
}
