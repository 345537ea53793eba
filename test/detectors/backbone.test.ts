// The ResNet backbone (src/models/resnet) and the 'backbone' feature source of ocsvm and
// gaussian: torchvision's names and shapes, parity of the pooled stage outputs with PyTorch on
// formula weights (fixture made by scripts/make_resnet_fixture.py; no weights downloaded or
// committed), strict loading with messages, and the detectors trained, scored and round-tripped
// through bundles that do not need the weights file.
import { test } from 'node:test';
import { compareSummary, type Summary } from '../helpers/fixture-summary.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, dispose, manualSeed, noGrad, randn, tidy, zeros, type Tensor } from '../../src/core/index.js';
import { F } from '../../src/nn/index.js';
import { saveSafetensors } from '../../src/nn/safetensors.js';
import { RESNET_LAYERS, ResNet, loadResnetState, loadResnetWeights, resnetStateShapes, type ResnetArch } from '../../src/models/resnet/index.js';
import { Gaussian, Ocsvm, loadBundle, saveBundle, type Detector } from '../../src/detectors/index.js';
import { sha256File } from '../../src/detectors/features/backbone.js';
import { formulaInputs, formulaStateDict, torchvisionShapes } from './backbone-formula.js';

interface Fixture {
  names: { resnet18: [string, number[]][]; resnet50: [string, number[]][]; wide_resnet50_2: number[][] };
  layers: Record<ResnetArch, Record<string, Summary>>;
  source: Summary & { layers: string[]; size: number };
}
const fixture = JSON.parse(fs.readFileSync(new URL('../fixtures/resnet/resnet-reference.json', import.meta.url), 'utf8')) as Fixture;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-backbone-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** resnet18 formula weights as a safetensors file with torchvision's names (fc included), as a user's converted file. */
function resnet18File(): string {
  const file = path.join(tmp, 'resnet18-formula.safetensors');
  if (!fs.existsSync(file)) {
    const sd = formulaStateDict('resnet18');
    saveSafetensors(file, sd);
    dispose(sd);
  }
  return file;
}

/** The pooled outputs of the four stages of `net` on x. */
function pooledStages(net: ResNet, x: Tensor): Tensor[] {
  return noGrad(() => tidy(() => net.forwardLayers(x, [...RESNET_LAYERS]).map((o) => o.mean([2, 3]).double())));
}

test("torchvision's state-dict names, order and shapes (resnet18, resnet50, wide_resnet50_2), also of the Modules", () => {
  assert.deepEqual(torchvisionShapes('resnet18'), fixture.names.resnet18);
  assert.deepEqual(torchvisionShapes('resnet50'), fixture.names.resnet50);
  assert.deepEqual(
    torchvisionShapes('wide_resnet50_2').map(([, s]) => s),
    fixture.names.wide_resnet50_2,
  );
  for (const arch of ['resnet18', 'resnet50'] as const) {
    const net = new ResNet(arch);
    const sd = net.stateDict();
    assert.deepEqual(
      [...sd].map(([k, t]) => [k, t.shape]),
      resnetStateShapes(arch),
    );
    assert.equal(net.training, false, 'built in evaluation mode');
    dispose(sd);
    net.dispose();
  }
});

test('parity with torchvision: pooled layer1..layer4 of resnet18 (from a safetensors file), resnet50 and wide_resnet50_2', () => {
  const { x, gray } = formulaInputs();
  gray.dispose();
  const report: string[] = [];
  for (const arch of ['resnet18', 'resnet50', 'wide_resnet50_2'] as const) {
    const net = new ResNet(arch);
    if (arch === 'resnet18') {
      loadResnetWeights(net, resnet18File()); // the user-facing path: a file with fc.* that is ignored
    } else {
      const sd = formulaStateDict(arch);
      loadResnetState(net, sd, `${arch} formula weights`);
      dispose(sd);
    }
    const pooled = pooledStages(net, x);
    RESNET_LAYERS.forEach((l, i) => {
      const { abs, rel } = compareSummary(pooled[i]!, fixture.layers[arch][l]!);
      report.push(`${arch} ${l}: max abs ${abs.toExponential(2)}, rel ${rel.toExponential(2)}`);
      assert.ok(abs <= 1e-4 && rel <= 1e-4, `${arch} ${l}: max abs difference ${abs}, relative ${rel}`);
    });
    dispose(pooled);
    net.dispose();
  }
  x.dispose();
  console.log(report.join('\n'));
});

test("the whole 'backbone' feature source matches PyTorch: gray [-1, 1] -> RGB [0, 1] -> bilinear 32 px -> ImageNet mean/std -> layer2+layer3 pooled", () => {
  const { x, gray } = formulaInputs();
  x.dispose();
  const d = new Gaussian({ isize: 16, nc: 1, features: 'backbone', backboneWeights: resnet18File(), backboneLayers: 'layer3, layer2', backboneSize: 32 });
  const f = d.features(gray);
  assert.deepEqual(f.shape, [2, 128 + 256]);
  const { abs, rel } = compareSummary(f.double(), fixture.source);
  console.log(`feature source: max abs ${abs.toExponential(2)}, rel ${rel.toExponential(2)}`);
  assert.ok(abs <= 1e-4 && rel <= 1e-4, `max abs difference ${abs}, relative ${rel}`);
  assert.equal(d.featureName, 'resnet18 layer2+layer3 features');
  f.dispose();
  gray.dispose();
  d.dispose();
});

test('weights of another architecture, or with tensors missing or mis-shaped, are refused with the tensors named', () => {
  const file = resnet18File();
  assert.throws(
    () => new Gaussian({ isize: 32, nc: 3, features: 'backbone', backboneArch: 'resnet50', backboneWeights: file }),
    (e: Error) =>
      e instanceof AnogenError &&
      e.message.includes(file) &&
      /not resnet50 weights/.test(e.message) &&
      /\d+ missing \(layer1\.0\.conv3\.weight/.test(e.message) &&
      /mis-shaped \(layer1\.0\.conv1\.weight: given \[64, 64, 3, 3\] vs expected \[64, 64, 1, 1\]/.test(e.message) &&
      /the file holds resnet18 weights: pass --backbone-arch resnet18/.test(e.message),
  );
  const sd = formulaStateDict('resnet18');
  const bad = path.join(tmp, 'bad.safetensors');
  sd.get('layer2.0.downsample.0.weight')!.dispose();
  sd.delete('layer2.0.downsample.0.weight');
  sd.set('layer9.0.conv1.weight', sd.get('fc.bias')!.clone());
  saveSafetensors(bad, sd);
  dispose(sd);
  assert.throws(
    () => new Ocsvm({ isize: 32, nc: 3, features: 'backbone', backboneWeights: bad }),
    (e: Error) =>
      e instanceof AnogenError &&
      /not resnet18 weights: 1 missing \(layer2\.0\.downsample\.0\.weight\), 1 unexpected \(layer9\.0\.conv1\.weight\)/.test(e.message) &&
      /expected torchvision's resnet18 state dict/.test(e.message),
  );
  const net = new ResNet('resnet18');
  const m = new Map([['module.conv1.weight', randn([64, 3, 7, 7])]]);
  assert.throws(
    () => loadResnetState(net, m, 'x.safetensors'),
    (e: Error) => e instanceof AnogenError && /'module\.'/.test(e.message),
  );
  dispose(m);
  net.dispose();
});

test('backbone options: errors name the option and what is valid', async () => {
  const file = resnet18File();
  const bad = (h: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => new Gaussian({ isize: 32, nc: 1, ...h }),
      (e: Error) => e instanceof AnogenError && re.test(e.message),
      re.source,
    );
  bad({ features: 'backbone', backboneWeights: file, backboneLayers: 'layer2,layer5' }, /backboneLayers: "layer2,layer5" is not valid; expected .*'layer1'/);
  bad({ features: 'backbone', backboneWeights: file, backboneLayers: 'layer2,layer2' }, /names a stage twice/);
  bad({ features: 'backbone', backboneArch: 'resnet34' }, /backboneArch: "resnet34" is not valid; expected 'resnet18', 'resnet50', 'wide_resnet50_2' or 'mobilenet_v2'/);
  bad({ features: 'pixels', backboneWeights: file }, /backboneWeights: only used with features 'backbone'/);
  bad({ features: 'backbone', backboneWeights: file, nc: 2 }, /nc: features 'backbone' takes 1-channel .* or 3-channel images, got 2/);
  bad({ features: 'backbone', backboneWeights: file, backboneSha256: 'ab'.repeat(32) }, /its SHA-256 is [0-9a-f]{64}, but backboneSha256 is (ab){32}/);
  bad({ features: 'backbone', backboneWeights: file, backboneSha256: 'xyz' }, /backboneSha256: "xyz" is not valid; expected 64 lowercase hex digits/);
  const pth = path.join(tmp, 'resnet18.pth');
  fs.writeFileSync(pth, Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(64, 7)]));
  bad({ features: 'backbone', backboneWeights: pth }, /not a valid safetensors file.*torchvision_to_safetensors\.py resnet18\.pth/);
  const d = new Gaussian({ isize: 32, features: 'backbone' });
  const x = randn([4, 1, 32, 32]).tanh();
  await assert.rejects(
    () => d.fit({ images: x }),
    (e: Error) => e instanceof AnogenError && /features 'backbone' needs --backbone-weights FILE\.safetensors/.test(e.message),
  );
  x.dispose();
  d.dispose();
  // the right SHA-256 is accepted
  new Gaussian({ isize: 32, features: 'backbone', backboneWeights: file, backboneSha256: sha256File(file) }).dispose();
});

/** Images in [-1, 1]: smooth blobs (normal), plus a bright square (anomalous). */
function images(n: number, seed: number, anomalous: boolean): Tensor {
  manualSeed(seed);
  return tidy(() => {
    const big = F.interpolate(randn([n, 1, 8, 8]).mul(0.5), { size: 32, mode: 'bilinear' }).tanh();
    if (!anomalous) return big;
    const square = zeros([1, 1, 32, 32]);
    square.narrow(2, 10, 12).narrow(3, 10, 12).fill_(1.8);
    return big.add(square).clamp(-1, 1);
  });
}

test('gaussian (per-stage Gaussians) and ocsvm on resnet18 features at 32 px: fit, score, single = batch, bundles round-trip without the weights file', async () => {
  const src = resnet18File();
  const file = path.join(tmp, 'user-weights.safetensors');
  fs.copyFileSync(src, file);
  const sha = sha256File(file);
  const train = images(32, 1, false);
  const normal = images(12, 2, false);
  const anomal = images(12, 3, true);
  const dets: Detector[] = [
    new Gaussian({ isize: 32, nc: 1, features: 'backbone', backboneWeights: file, backboneLayers: 'layer2,layer3', backboneSize: 0 }),
    new Ocsvm({ isize: 32, nc: 1, features: 'backbone', backboneWeights: file, backboneLayers: 'layer3', backboneSize: 0, nu: 0.2 }),
  ];
  const dirs: string[] = [];
  const scores: Float32Array[] = [];
  for (const d of dets) {
    await d.fit({ images: train }, { batchSize: 12 });
    const s = d.score(anomal).scores;
    const sn = d.score(normal).scores;
    assert.ok(s.every(Number.isFinite) && sn.every(Number.isFinite));
    const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
    assert.ok(mean(s) > mean(sn), `${d.name}: anomalies score higher on average (${mean(s)} vs ${mean(sn)})`);
    const one = d.score(anomal.narrow(0, 3, 1)).scores[0]!;
    assert.ok(Math.abs(one - s[3]!) <= 1e-5 * Math.max(1, Math.abs(s[3]!)), `${d.name}: single ${one} vs batch ${s[3]}`);
    const cfg = d.config() as Record<string, unknown>;
    assert.equal(cfg.backboneWeights, null);
    assert.equal(cfg.backboneSha256, sha);
    const sd = d.stateDict();
    assert.ok(sd.has('backbone.layer1.0.conv1.weight') && !sd.has('backbone.fc.weight'));
    dispose(sd);
    const dir = path.join(tmp, `bundle-${d.name}`);
    saveBundle(dir, d);
    dirs.push(dir);
    scores.push(s);
  }
  const g = dets[0] as Gaussian;
  assert.equal(g.shrinkages!.length, 2, 'one Gaussian per stage');
  fs.rmSync(file); // the bundles carry the weights
  for (let i = 0; i < dirs.length; i++) {
    const b = loadBundle(dirs[i]!);
    assert.deepEqual(b.detector.score(anomal).scores, scores[i], `${b.detector.name}: identical scores after the round trip`);
    b.detector.dispose();
  }
  // a bundle whose backbone tensors are damaged is refused, naming them
  const sdBad = dets[0]!.stateDict();
  sdBad.get('backbone.layer4.1.bn2.weight')!.dispose();
  sdBad.delete('backbone.layer4.1.bn2.weight');
  const h = dets[0]!.config() as Record<string, unknown>;
  const fresh = new Gaussian(h);
  assert.throws(
    () => fresh.loadStateDict(sdBad),
    (e: Error) => e instanceof AnogenError && /backbone\.\* tensors: not resnet18 weights: 1 missing \(layer4\.1\.bn2\.weight\)/.test(e.message),
  );
  fresh.dispose();
  dispose(sdBad);
  for (const d of dets) d.dispose();
  dispose([train, normal, anomal]);
});
