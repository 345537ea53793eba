// The MobileNetV2 trunk (src/models/mobilenet): the state-dict names and shapes of the spec,
// parity of layer1..layer4 with a standalone PyTorch implementation on formula weights at two
// input sizes (fixture made by scripts/make_mobilenet_fixture.py; no weights downloaded or
// committed), asking only for what is needed, and strict loading with messages.
import { test } from 'node:test';
import { compareSummary, type Summary } from '../helpers/fixture-summary.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, arange, dispose, noGrad, tidy, zeros, type Tensor } from '../../src/core/index.js';
import { saveSafetensors } from '../../src/nn/safetensors.js';
import { formulaStateDict } from './mobilenet-formula.js';
import { MOBILENET_LAYERS, MOBILENET_LAYER_CHANNELS, MobileNetV2, loadMobilenetState, loadMobilenetWeights, mobilenetStateShapes } from '../../src/models/mobilenet/index.js';

interface Fixture {
  names: [string, number[]][];
  cases: { input: [number, number, number, number]; layers: Record<string, Summary> }[];
}
const fixture = JSON.parse(fs.readFileSync(new URL('../fixtures/mobilenet/reference.json', import.meta.url), 'utf8')) as Fixture;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-mobilenet-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** [2, 3, h, w], x_i = 0.5 + 0.5 sin(0.37 i + 0.1) (as the fixture script). */
function formulaInput(h: number, w: number): Tensor {
  return tidy(() =>
    arange(0, 2 * 3 * h * w, 1, { dtype: 'float64' })
      .mul(0.37)
      .add(0.1)
      .sin()
      .mul(0.5)
      .add(0.5)
      .float()
      .reshape([2, 3, h, w]),
  );
}

let shared: MobileNetV2 | null = null;
/** One network with the formula weights, loaded from a safetensors file (the user-facing path). */
function formulaNet(): MobileNetV2 {
  if (shared === null) {
    const file = path.join(tmp, 'mobilenet-formula.safetensors');
    const sd = formulaStateDict();
    saveSafetensors(file, sd);
    dispose(sd);
    shared = new MobileNetV2();
    loadMobilenetWeights(shared, file);
  }
  return shared;
}

test("the spec's state-dict names, order and shapes, also of the Module; built in evaluation mode", () => {
  assert.deepEqual(mobilenetStateShapes(), fixture.names);
  const net = new MobileNetV2();
  const sd = net.stateDict();
  assert.deepEqual(
    [...sd].map(([k, t]) => [k, t.shape]),
    fixture.names,
  );
  assert.equal(net.training, false);
  assert.equal(fixture.names.length, 260);
  dispose(sd);
  net.dispose();
});

test('parity with PyTorch: layer1..layer4 at 224 x 224 and 97 x 102 (Keras correct_pad both ways)', () => {
  const net = formulaNet();
  const report: string[] = [];
  for (const c of fixture.cases) {
    const [, , h, w] = c.input;
    const x = formulaInput(h, w);
    const outs = noGrad(() => net.forwardLayers(x, [...MOBILENET_LAYERS]));
    MOBILENET_LAYERS.forEach((l, i) => {
      assert.equal(outs[i]!.shape[1], MOBILENET_LAYER_CHANNELS[l]);
      const { abs, rel } = compareSummary(outs[i]!, c.layers[l]!);
      report.push(`${h}x${w} ${l} [${outs[i]!.shape.join(', ')}]: max abs ${abs.toExponential(2)}, rel ${rel.toExponential(2)}`);
      assert.ok(abs <= 1e-4 && rel <= 1e-4, `${h}x${w} ${l}: max abs difference ${abs}, relative ${rel}`);
    });
    dispose(outs);
    x.dispose();
  }
  console.log(report.join('\n'));
});

test('forwardLayers returns the requested stages in the requested order, equal to the full run', () => {
  const net = formulaNet();
  const x = formulaInput(40, 36);
  noGrad(() => {
    const all = net.forwardLayers(x, [...MOBILENET_LAYERS]);
    const some = net.forwardLayers(x, ['layer3', 'layer1']);
    assert.deepEqual(some[0]!.shape, [2, 96, 3, 3]);
    assert.deepEqual(some[1]!.shape, [2, 24, 10, 9]);
    assert.equal(some[0]!.sub(all[2]!).abs().max().item(), 0);
    assert.equal(some[1]!.sub(all[0]!).abs().max().item(), 0);
    const top = net.call(x);
    assert.equal(top.sub(all[3]!).abs().max().item(), 0);
    dispose([...all, ...some, top]);
  });
  assert.throws(
    () => net.forwardLayers(x, ['layer5' as never]),
    (e: unknown) => e instanceof AnogenError && /layer5/.test(e.message) && /layer1/.test(e.message),
  );
  assert.throws(() => net.forwardLayers(x, []), AnogenError);
  const gray = zeros([1, 1, 32, 32]);
  assert.throws(
    () => net.forwardLayers(gray, ['layer1']),
    (e: unknown) => e instanceof AnogenError && /\[1, 1, 32, 32\]/.test(e.message),
  );
  gray.dispose();
  x.dispose();
});

test('strict loading refuses a missing, an extra and a mis-shaped tensor, naming it; nothing is loaded', () => {
  const net = new MobileNetV2();
  const before = net.stateDict().get('block_7_project.weight')!;
  const keep = before.clone();
  const refuse = (sd: Map<string, Tensor>, ...patterns: RegExp[]) =>
    assert.throws(
      () => loadMobilenetState(net, sd, 'test weights'),
      (e: unknown) => e instanceof AnogenError && /test weights/.test(e.message) && patterns.every((p) => p.test(e.message)),
    );
  const shapes = mobilenetStateShapes();
  const make = () => new Map(shapes.map(([name, shape]) => [name, zeros(shape)]));

  const missing = make();
  missing.get('block_9_depthwise_BN.running_var')!.dispose();
  missing.delete('block_9_depthwise_BN.running_var');
  refuse(missing, /1 missing \(block_9_depthwise_BN\.running_var\)/);
  dispose(missing);

  const extra = make();
  extra.set('Logits.weight', zeros([1000, 1280]));
  refuse(extra, /1 unexpected \(Logits\.weight\)/);
  dispose(extra);

  const misshaped = make();
  misshaped.get('block_3_depthwise.weight')!.dispose();
  misshaped.set('block_3_depthwise.weight', zeros([144, 144, 3, 3]));
  refuse(misshaped, /block_3_depthwise\.weight: given \[144, 144, 3, 3\] vs expected \[144, 1, 3, 3\]/);
  dispose(misshaped);

  const resnet = new Map<string, Tensor>([
    ['conv1.weight', zeros([64, 3, 7, 7])],
    ['layer1.0.conv1.weight', zeros([64, 64, 3, 3])],
  ]);
  refuse(resnet, /ResNet/, /260 missing/);
  dispose(resnet);

  assert.equal(before.sub(keep).abs().max().item(), 0, 'a refused load changes nothing');
  dispose([before, keep]);

  const file = path.join(tmp, 'bad.safetensors');
  const one = new Map([['Conv1/kernel:0', zeros([3, 3, 3, 32])]]);
  saveSafetensors(file, one);
  dispose(one);
  assert.throws(
    () => loadMobilenetWeights(net, file),
    (e: unknown) => e instanceof AnogenError && e.message.includes(file) && /nsfwjs_to_safetensors/.test(e.message),
  );
  net.dispose();
});
