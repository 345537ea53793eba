// The 'backbone' feature source with mobilenet_v2 (nsfwjs's Keras MobileNetV2, src/models/mobilenet):
// the source's preprocessing (gray [-1, 1] -> RGB [0, 1] -> bilinear align_corners true, no
// mean/std) composed by hand equals the extractor; patchcore on its stage maps fits, scores and
// round-trips through a bundle without the weights file; a ResNet file is refused for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, cat, dispose, noGrad, tidy, type Tensor } from '../../src/core/index.js';
import { F } from '../../src/nn/index.js';
import { saveSafetensors } from '../../src/nn/safetensors.js';
import { MobileNetV2, loadMobilenetWeights } from '../../src/models/mobilenet/index.js';
import { Gaussian, Patchcore, loadBundle, saveBundle } from '../../src/detectors/index.js';
import { formulaStateDict } from '../models/mobilenet-formula.js';
import { formulaInputs, formulaStateDict as resnetFormula } from './backbone-formula.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-backbone-mobilenet-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const file = path.join(tmp, 'mobilenet_v2.safetensors');
const sd = formulaStateDict();
saveSafetensors(file, sd);
dispose(sd);

const maxAbs = (a: Tensor, b: Tensor): number => noGrad(() => tidy(() => a.sub(b).abs().max().item()));

test('mobilenet_v2 features: gray [-1, 1] -> RGB [0, 1] -> bilinear with align_corners true -> layer2 + layer3 pooled, no mean/std', () => {
  const { x, gray } = formulaInputs(); // gray: [2, 1, 16, 16] in [-1, 1]
  x.dispose();
  const d = new Gaussian({ isize: 16, nc: 1, features: 'backbone', backboneArch: 'mobilenet_v2', backboneWeights: file, backboneSize: 45 });
  const f = d.features(gray);
  assert.deepEqual(f.shape, [2, 32 + 96]);
  const net = new MobileNetV2();
  loadMobilenetWeights(net, file);
  const byHand = (alignCorners: boolean): Tensor =>
    noGrad(() =>
      tidy(() => {
        const rgb = gray.add(1).div(2).expand([2, 3, 16, 16]);
        const outs = net.forwardLayers(F.interpolate(rgb, { size: 45, mode: 'bilinear', alignCorners }), ['layer2', 'layer3']);
        return cat(
          outs.map((o) => o.mean([2, 3])),
          1,
        );
      }),
    );
  const want = byHand(true);
  const other = byHand(false);
  assert.ok(maxAbs(f, want) < 1e-5, `extractor vs hand: ${maxAbs(f, want)}`);
  assert.ok(maxAbs(f, other) > 1e-3, 'align_corners false gives other features (the flag is exercised)');
  assert.equal(d.featureName, 'mobilenet_v2 layer2+layer3 features');
  dispose([f, want, other, gray]);
  net.dispose();
  d.dispose();
});

test('patchcore on mobilenet_v2 stage maps: fit, score with maps, single = batch, the bundle scores without the weights file', async () => {
  const { x, gray } = formulaInputs();
  x.dispose();
  const train = noGrad(() => tidy(() => cat([gray, gray.flip([3]), gray.flip([2])], 0)));
  const copy = path.join(tmp, 'copy.safetensors');
  fs.copyFileSync(file, copy);
  const d = new Patchcore({ isize: 16, features: 'backbone', backboneArch: 'mobilenet_v2', backboneWeights: copy, backboneSize: 64, positionAware: true });
  await d.fit({ images: train });
  assert.deepEqual(d.bankShape, { banks: 64, patches: 6, dim: 128 }, '64 px: layer2 is 8 x 8, 32 + 96 channels');
  const probe = noGrad(() => tidy(() => gray.flip([2, 3]).contiguous()));
  const r = d.score(probe);
  assert.deepEqual(r.maps!.shape, [2, 1, 16, 16]);
  const one = d.score(probe.narrow(0, 1, 1), { maps: false }).scores[0]!;
  assert.ok(Math.abs(one - r.scores[1]!) <= 1e-5 * Math.max(1, r.scores[1]!));
  const dir = path.join(tmp, 'bundle');
  saveBundle(dir, d);
  fs.rmSync(copy); // the bundle carries the weights
  const back = loadBundle(dir).detector;
  const s2 = back.score(probe, { maps: false }).scores;
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(s2[i]! - r.scores[i]!) <= 1e-6 * Math.max(1, r.scores[i]!));
  dispose([train, probe, gray, r.maps!]);
  d.dispose();
  back.dispose();
});

test('a ResNet file given as mobilenet_v2 weights is refused naming the tensors', () => {
  const resnet = path.join(tmp, 'resnet18.safetensors');
  const rsd = resnetFormula('resnet18');
  saveSafetensors(resnet, rsd);
  dispose(rsd);
  assert.throws(
    () => new Patchcore({ features: 'backbone', backboneArch: 'mobilenet_v2', backboneWeights: resnet }),
    (e: Error) => e instanceof AnogenError && /patchcore/.test(e.message) && /Conv1\.weight|missing/.test(e.message),
  );
});
