// Model bundles carry src/data's transform chain: validated on save, compiled on load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, liveTensors, manualSeed, randn } from '../../src/core/index.js';
import { createDetector, getDetector, loadBundle, requireTransforms, saveBundle, BUNDLE_FORMAT_VERSION } from '../../src/detectors/index.js';
import { fromConfig, TransformChain, type TransformConfig } from '../../src/data/index.js';
import { settledLiveTensors } from '../helpers/live.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-bundle-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('transforms: saved as JSON (from configs or a chain), loaded as a compiled chain that preprocesses identically', () => {
  manualSeed(0);
  const d = createDetector('ganomaly', getDetector('ganomaly').tiny);
  const chain: TransformConfig[] = [{ type: 'rgb' }, { type: 'resize', size: 16, mode: 'bicubic' }, { type: 'normalize', mean: [0.5], std: [0.25] }];
  for (const given of [chain, fromConfig(chain)]) {
    const dir = path.join(tmp, given instanceof TransformChain ? 'chain' : 'configs');
    const cfg = saveBundle(dir, d, { transforms: given, protocol: { protocol: 'folder' } });
    assert.equal(cfg.formatVersion, BUNDLE_FORMAT_VERSION);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).transforms, chain);
    const b = loadBundle(dir);
    assert.ok(b.transforms instanceof TransformChain);
    assert.deepEqual(b.transforms!.toJSON(), chain);
    const x = randn([2, 1, 20, 20]).sigmoid();
    const ctx = { rand: () => 0.5 };
    const a = fromConfig(chain).apply(x, null, ctx).x;
    const c = b.transforms!.apply(x, null, ctx).x;
    assert.deepEqual(c.shape, [2, 3, 16, 16]);
    assert.equal(a.sub(c).abs().max().item(), 0);
    b.detector.dispose();
  }
  d.dispose();
});

test('an invalid chain is refused before anything is written; a bundle without one cannot score files', () => {
  const d = createDetector('ganomaly', getDetector('ganomaly').tiny);
  const dir = path.join(tmp, 'bad');
  assert.throws(
    () => saveBundle(dir, d, { transforms: [{ type: 'resize', size: 0 } as TransformConfig] }),
    (e: Error) => e instanceof AnogenError && /resize\.size = 0 is not valid; expected a positive integer/.test(e.message),
  );
  assert.ok(!fs.existsSync(dir));
  const bare = path.join(tmp, 'bare');
  saveBundle(bare, d);
  const b = loadBundle(bare);
  assert.equal(b.transforms, null);
  assert.throws(() => requireTransforms(b, bare), /no "transforms" \(preprocessing chain\)/);
  b.detector.dispose();
  d.dispose();
});

test('saving a bundle frees the state-dict views it serialised (the detector keeps its weights)', () => {
  manualSeed(0);
  const d = createDetector('ganomaly', getDetector('ganomaly').tiny);
  const dir = path.join(tmp, 'noleak');
  saveBundle(dir, d, { protocol: { protocol: 'folder' } });
  const before = settledLiveTensors();
  saveBundle(dir, d, { protocol: { protocol: 'folder' } }, { replace: true });
  assert.ok(liveTensors() <= before, `saveBundle left ${liveTensors() - before} tensors alive`);
  const b = loadBundle(dir);
  const x = randn([2, 1, 16, 16]).tanh();
  assert.deepEqual(Array.from(b.detector.score(x).scores), Array.from(d.score(x).scores));
  b.detector.dispose();
  d.dispose();
});
