/**
 * The GANomaly detector's own networks (src/detectors/ganomaly/network.ts: NetG, NetD,
 * GanomalyNetworks) against the PyTorch fixtures written by scripts/make-fixtures.py
 * (test/fixtures/ganomaly_netg|netd.safetensors): state-dict names, order and shapes, the seeded
 * DCGAN initialisation (statistics + samples of every weight), training-mode outputs, input and
 * weight gradients, batch-norm running statistics, and the evaluation-mode forward.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import { dcganInit, type Module } from '../../src/nn/index.js';
import { GanomalyNetworks, NetD, NetG } from '../../src/detectors/ganomaly/network.js';
import { assertClose, fixture, type Fixture } from '../nn/parity-helpers.js';

/** [sum, sum |x|, ||x||] of a tensor, as the fixture script computes them. */
function stats(t: T.Tensor): [number, number, number] {
  let s = 0;
  let a = 0;
  let q = 0;
  for (const v of t.toFloat64Array()) {
    s += v;
    a += Math.abs(v);
    q += v * v;
  }
  return [s, a, Math.sqrt(q)];
}

/** Every `samples`-th element (flattened), as the fixture script samples them. */
function sample(t: T.Tensor, n: number): T.Tensor {
  const flat = t.flatten();
  if (flat.numel <= n) return flat;
  const step = Math.floor(flat.numel / n);
  return flat.indexSelect(0, T.arange(0, n * step, step));
}

function checkTensors(f: Fixture, net: Module<any, any>, kind: 'w' | 'g', what: string): void {
  for (const [k, p] of net.namedParameters()) {
    const t = kind === 'w' ? p : p.grad;
    assert.ok(t !== null, `${what} ${k}: no gradient`);
    const [s, a, q] = stats(t);
    const [rs, ra, rq] = Array.from(f.get(`${kind}stat.${k}`).toFloat64Array()) as [number, number, number];
    assert.ok(Math.abs(s - rs) <= 1e-5 * ra, `${what} ${k}: sum ${s} vs PyTorch ${rs}`);
    assert.ok(Math.abs(a - ra) <= 1e-5 * ra, `${what} ${k}: sum|x| ${a} vs PyTorch ${ra}`);
    assert.ok(Math.abs(q - rq) <= 1e-5 * rq, `${what} ${k}: norm ${q} vs PyTorch ${rq}`);
    T.tidy(() => assertClose(sample(t, f.meta.samples), f.get(`${kind}sample.${k}`), `${what} ${k} samples`));
  }
}

/** The same weights loaded through loadStateDict into a differently seeded copy (disposes `ref`). */
function reloaded<M extends Module<any, any>>(ref: M, make: () => M, seed: number): M {
  T.manualSeed(seed + 100);
  const net = make();
  const sd = ref.stateDict();
  net.loadStateDict(sd);
  T.dispose(sd);
  ref.dispose();
  return net;
}

test('NetG: names, seeded init, train/eval forward, gradients and running stats match PyTorch', () => {
  const f = fixture('ganomaly_netg');
  const { isize, nz, nc, ngf } = f.meta.arch;
  const arch = { isize, nz, nc, ngf, ndf: ngf, extraLayers: 0 };
  T.manualSeed(f.meta.seed);
  const ref = dcganInit(new NetG(arch));
  assert.deepEqual(
    ref.stateDictKeys().map((k, i) => [k, f.meta.keys[i][1]]),
    f.meta.keys,
    'names and order',
  );
  const sd = ref.stateDict();
  assert.deepEqual(
    [...sd].map(([k, t]) => [k, t.shape]),
    f.meta.keys,
    'names, order and shapes as PyTorch',
  );
  T.dispose(sd);
  checkTensors(f, ref, 'w', 'netG init');
  const net = reloaded(ref, () => new NetG(arch), f.meta.seed);
  checkTensors(f, net, 'w', 'netG loaded through loadStateDict');

  net.train();
  const x = f.get('x').requiresGrad_();
  const [xh, z, zh] = net.call(x);
  assertClose(xh, f.get('xh'), 'netG x^');
  assertClose(z, f.get('z'), 'netG z');
  assertClose(zh, f.get('zh'), 'netG z^');
  T.tidy(() =>
    xh
      .mul(f.get('g_xh'))
      .sum()
      .add(z.mul(f.get('g_z')).sum())
      .add(zh.mul(f.get('g_zh')).sum())
      .backward(),
  );
  assertClose(x.grad, f.get('gx'), 'netG input gradient');
  checkTensors(f, net, 'g', 'netG gradient');
  for (const [k, b] of net.namedBuffers()) {
    if (k.endsWith('num_batches_tracked')) assert.equal(b.item(), f.get(`after.${k}`).item(), k);
    else assertClose(b, f.get(`after.${k}`), `netG ${k}`);
  }
  net.eval();
  const [exh, ez, ezh] = T.noGrad(() => net.call(x));
  assertClose(exh, f.get('eval.xh'), 'netG eval x^');
  assertClose(ez, f.get('eval.z'), 'netG eval z');
  assertClose(ezh, f.get('eval.zh'), 'netG eval z^');
  net.dispose();
  T.dispose(f.t);
});

test('NetD: names, seeded init, prediction, features, gradients and running stats match PyTorch', () => {
  const f = fixture('ganomaly_netd');
  const { isize, nc, ndf } = f.meta.arch;
  const arch = { isize, nc, ndf, nz: 100, ngf: ndf, extraLayers: 0 };
  T.manualSeed(f.meta.seed);
  const ref = dcganInit(new NetD(arch));
  assert.deepEqual(ref.stateDictKeys().slice(0, 2), ['features.0.weight', 'features.2.weight']);
  assert.deepEqual(ref.stateDictKeys().at(-1), 'classifier.0.weight');
  const sd = ref.stateDict();
  assert.deepEqual(
    [...sd].map(([k, t]) => [k, t.shape]),
    f.meta.keys,
    'names, order and shapes as PyTorch',
  );
  T.dispose(sd);
  checkTensors(f, ref, 'w', 'netD init');
  const net = reloaded(ref, () => new NetD(arch), f.meta.seed);
  checkTensors(f, net, 'w', 'netD loaded through loadStateDict');
  const x = f.get('x').requiresGrad_();
  const [pred, feat] = net.call(x);
  assertClose(pred, f.get('pred'), 'netD prediction');
  assertClose(feat, f.get('feat'), 'netD features');
  T.tidy(() =>
    pred
      .mul(f.get('g_pred'))
      .sum()
      .add(feat.mul(f.get('g_feat')).sum())
      .backward(),
  );
  assertClose(x.grad, f.get('gx'), 'netD input gradient');
  checkTensors(f, net, 'g', 'netD gradient');
  for (const [k, b] of net.namedBuffers()) {
    if (!k.endsWith('num_batches_tracked')) assertClose(b, f.get(`after.${k}`), `netD ${k}`);
  }
  net.dispose();
  T.dispose(f.t);
});

test('GanomalyNetworks: bundle names netg.* / netd.*, shapes at the defaults, PyTorch tensor count', () => {
  const nets = new GanomalyNetworks({ isize: 32, nc: 1, nz: 100, ngf: 64, ndf: 64, extraLayers: 0 });
  const sd = nets.stateDict();
  const shape = (k: string) => sd.get(k)?.shape;
  assert.deepEqual(shape('netg.encoder1.main.initial-conv-1-64.weight'), [64, 1, 4, 4]);
  assert.deepEqual(shape('netg.encoder1.main.pyramid-128-batchnorm.running_var'), [128]);
  assert.deepEqual(shape('netg.decoder.main.initial-100-256-convt.weight'), [100, 256, 4, 4]);
  assert.deepEqual(shape('netg.decoder.main.final-64-1-convt.weight'), [64, 1, 4, 4]);
  assert.deepEqual(shape('netg.encoder2.main.final-256-1-conv.weight'), [100, 256, 4, 4]);
  assert.deepEqual(shape('netd.features.3.running_mean'), [128]);
  assert.deepEqual(shape('netd.classifier.0.weight'), [1, 256, 4, 4]);
  // len(state_dict()) in PyTorch: NetG 47, NetD 14
  assert.equal(sd.size, 47 + 14);
  T.dispose(sd);
  nets.dispose();
});
