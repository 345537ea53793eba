/**
 * The GANomaly networks of the reference code (isize 32, nc 1, nz 100, ngf = ndf = 64), built from
 * anogen's DCGAN encoder/decoder, against PyTorch: state-dict names and shapes, seeded DCGAN
 * initialisation, forward outputs, input gradients and weight gradients (training mode, batch 2),
 * batch-norm running statistics, and an evaluation-mode forward.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import * as nn from '../../src/nn/index.js';
import { DcganEncoder, DcganDecoder, dcganInit } from '../../src/models/dcgan/index.js';
import { fixture, assertClose, worst, type Fixture } from './parity-helpers.js';

after(() => process.stderr.write(`worst relative deviation from PyTorch: ${worst.rel.toExponential(2)} (${worst.what})\n`));

/** GANomaly's NetG: encoder1 -> decoder -> encoder2. */
class NetG extends nn.Module<[T.Tensor], [T.Tensor, T.Tensor, T.Tensor]> {
  readonly encoder1: DcganEncoder;
  readonly decoder: DcganDecoder;
  readonly encoder2: DcganEncoder;
  constructor(isize: number, nz: number, nc: number, ngf: number) {
    super();
    this.encoder1 = this.registerModule('encoder1', new DcganEncoder(isize, nz, nc, ngf));
    this.decoder = this.registerModule('decoder', new DcganDecoder(isize, nz, nc, ngf));
    this.encoder2 = this.registerModule('encoder2', new DcganEncoder(isize, nz, nc, ngf));
  }
  forward(x: T.Tensor): [T.Tensor, T.Tensor, T.Tensor] {
    const z = this.encoder1.call(x);
    const xh = this.decoder.call(z);
    return [xh, z, this.encoder2.call(xh)];
  }
}

/** GANomaly's NetD: a DCGAN encoder with one output, split into features and classifier. */
class NetD extends nn.Module<[T.Tensor], [T.Tensor, T.Tensor]> {
  readonly features: nn.Sequential;
  readonly classifier: nn.Sequential;
  constructor(isize: number, nc: number, ndf: number) {
    super();
    const enc = new DcganEncoder(isize, 1, nc, ndf);
    const layers = [...enc.main] as nn.TensorModule[];
    this.features = this.registerModule('features', new nn.Sequential(...layers.slice(0, -1)));
    this.classifier = this.registerModule('classifier', new nn.Sequential(layers[layers.length - 1]!));
    this.classifier.addModule('Sigmoid', new nn.Sigmoid());
  }
  forward(x: T.Tensor): [T.Tensor, T.Tensor] {
    const f = this.features.call(x);
    return [this.classifier.call(f).view(-1, 1).squeeze(1), f];
  }
}

function stats(t: T.Tensor): T.Tensor {
  const d = t.toFloat64Array();
  let s = 0;
  let a = 0;
  let q = 0;
  for (const v of d) {
    s += v;
    a += Math.abs(v);
    q += v * v;
  }
  return T.tensor(Float64Array.from([s, a, Math.sqrt(q)]));
}

function sample(t: T.Tensor, n: number): T.Tensor {
  const flat = t.flatten();
  if (flat.numel <= n) return flat;
  const step = Math.floor(flat.numel / n);
  return flat.indexSelect(0, T.arange(0, n * step, step));
}

/** Compares the weights (the seeded init) or their gradients with the fixture's statistics and samples. */
function checkSummary(f: Fixture, net: nn.Module<any, any>, kind: 'w' | 'g', what: string): void {
  for (const [k, p] of net.namedParameters()) {
    const t = kind === 'w' ? p : p.grad;
    assert.ok(t !== null, `${what} ${k}: no gradient`);
    const st = stats(t);
    const ref = f.get(`${kind}stat.${k}`);
    // [sum, sum|x|, ||x||]: the signed sum may cancel, so it is judged against sum|x|
    const [s, a, q] = Array.from(st.toFloat64Array());
    const [rs, ra, rq] = Array.from(ref.toFloat64Array());
    assert.ok(Math.abs(s! - rs!) <= 1e-5 * ra!, `${what} ${k}: sum ${s} vs PyTorch ${rs}`);
    assert.ok(Math.abs(a! - ra!) <= 1e-5 * ra!, `${what} ${k}: sum|x| ${a} vs PyTorch ${ra}`);
    assert.ok(Math.abs(q! - rq!) <= 1e-5 * rq!, `${what} ${k}: norm ${q} vs PyTorch ${rq}`);
    assertClose(sample(t, f.meta.samples), f.get(`${kind}sample.${k}`), `${what} ${k} samples`);
  }
}

function checkKeys(f: Fixture, net: nn.Module<any, any>): void {
  const sd = net.stateDict();
  const mine = [...sd].map(([k, t]) => [k, t.shape]);
  assert.deepEqual(mine, f.meta.keys, 'state-dict names, order and shapes as in PyTorch');
  T.dispose(sd);
}

test('GANomaly generator (DCGAN encoder-decoder-encoder) matches PyTorch', () => {
  const f = fixture('ganomaly_netg');
  const { isize, nz, nc, ngf } = f.meta.arch;
  T.manualSeed(f.meta.seed);
  const ref = dcganInit(new NetG(isize, nz, nc, ngf));
  checkKeys(f, ref);
  checkSummary(f, ref, 'w', 'netG init');
  assert.equal(ref.encoder1.main.stateDictKeys()[0], 'initial-conv-1-64.weight');

  // Load the weights into a differently initialised network through loadStateDict.
  T.manualSeed(f.meta.seed + 100);
  const net = new NetG(isize, nz, nc, ngf);
  const sd = ref.stateDict();
  net.loadStateDict(sd);
  T.dispose(sd);
  ref.dispose();

  net.train();
  const x = f.get('x').requiresGrad_();
  const [xh, z, zh] = net.call(x);
  assertClose(xh, f.get('xh'), 'netG x^');
  assertClose(z, f.get('z'), 'netG z');
  assertClose(zh, f.get('zh'), 'netG z^');
  T.tidy(() => xh.mul(f.get('g_xh')).sum().add(z.mul(f.get('g_z')).sum()).add(zh.mul(f.get('g_zh')).sum()).backward());
  assertClose(x.grad, f.get('gx'), 'netG input gradient');
  checkSummary(f, net, 'g', 'netG gradient');
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

test('GANomaly discriminator (features + classifier) matches PyTorch', () => {
  const f = fixture('ganomaly_netd');
  const { isize, nc, ndf } = f.meta.arch;
  T.manualSeed(f.meta.seed);
  const ref = dcganInit(new NetD(isize, nc, ndf));
  checkKeys(f, ref);
  assert.deepEqual(ref.stateDictKeys().slice(0, 2), ['features.0.weight', 'features.2.weight']);
  checkSummary(f, ref, 'w', 'netD init');
  T.manualSeed(f.meta.seed + 100);
  const net = new NetD(isize, nc, ndf);
  const sd = ref.stateDict();
  net.loadStateDict(sd);
  T.dispose(sd);
  ref.dispose();

  const x = f.get('x').requiresGrad_();
  const [pred, feat] = net.call(x);
  assertClose(pred, f.get('pred'), 'netD prediction');
  assertClose(feat, f.get('feat'), 'netD features');
  T.tidy(() => pred.mul(f.get('g_pred')).sum().add(feat.mul(f.get('g_feat')).sum()).backward());
  assertClose(x.grad, f.get('gx'), 'netD input gradient');
  checkSummary(f, net, 'g', 'netD gradient');
  for (const [k, b] of net.namedBuffers()) {
    if (!k.endsWith('num_batches_tracked')) assertClose(b, f.get(`after.${k}`), `netD ${k}`);
  }
  net.dispose();
  T.dispose(f.t);
});

test('DCGAN encoder/decoder shapes and argument errors', () => {
  const enc = new DcganEncoder(64, 10, 3, 8, { nExtraLayers: 1 });
  const dec = new DcganDecoder(64, 10, 3, 8, { nExtraLayers: 1 });
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
