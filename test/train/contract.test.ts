// The detector contract proven by something that is not GANomaly: a toy autoencoder detector
// defined in this file (schema, network, step) is trained, evaluated and scored through the
// CLI and the pipeline, and its flags appear in `anogen help train`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { cudaIsAvailable, type Tensor } from '../../src/core/index.js';
import { Module } from '../../src/nn/module.js';
import { Linear } from '../../src/nn/layers/linear.js';
import * as F from '../../src/nn/functional.js';
import { Adam } from '../../src/optim/index.js';
import { NeuralDetector, registerDetector, capabilities, loadBundle, type ProcessOptions, type Reconstructor } from '../../src/detectors/index.js';
import { train } from '../../src/pipeline/train.js';
import { evaluate } from '../../src/pipeline/evaluate.js';
import { scoreFiles } from '../../src/pipeline/score.js';
import { runCli } from '../helpers/cli.js';

// ---- the toy detector: ~40 lines ----
type ToyH = { size: number; hidden: number; loss: 'l1' | 'l2' };
class DenseAE extends Module<[Tensor], Tensor> {
  readonly enc: Linear;
  readonly dec: Linear;
  constructor(
    readonly s: number,
    h: number,
  ) {
    super();
    this.enc = this.registerModule('enc', new Linear(s * s, h));
    this.dec = this.registerModule('dec', new Linear(h, s * s));
  }
  forward(x: Tensor): Tensor {
    return this.dec
      .call(this.enc.call(x.flatten(1)).relu())
      .tanh()
      .view([-1, 1, this.s, this.s]);
  }
}
class ToyAe extends NeuralDetector<ToyH> implements Reconstructor {
  readonly name = 'toy-ae';
  readonly producesMaps = true;
  readonly trainDefaults = { epochs: 2, batchSize: 32, lr: 3e-3 };
  protected readonly net: DenseAE;
  constructor(h: ToyH) {
    super(h);
    this.net = new DenseAE(h.size, h.hidden);
  }
  get input() {
    return { size: this.hparams.size, channels: 1, range: [-1, 1] as [number, number] };
  }
  protected trainingProcess(o: ProcessOptions) {
    if (o.fresh) this.resetWeights();
    const opt = new Adam(this.net.parameters(), { lr: o.lr });
    const lossFn = this.hparams.loss === 'l1' ? F.l1Loss : F.mseLoss;
    return {
      optimizers: { ae: opt },
      step: (x: Tensor) => {
        const loss = lossFn(this.net.call(x), x);
        return { losses: { rec: loss }, update: () => (opt.zeroGrad(), loss.backward(), opt.step()) };
      },
      dispose: () => opt.dispose(),
    };
  }
  protected scoreBatch(x: Tensor, maps: boolean) {
    const m = x.sub(this.net.call(x)).abs();
    return { scores: m.flatten(1).mean(1), ...(maps ? { maps: m } : {}) };
  }
  reconstruct(x: Tensor): Tensor {
    return this.inference(x, 'reconstruct', (xs) => this.net.call(xs));
  }
}
registerDetector({
  name: 'toy-ae',
  description: 'a dense autoencoder defined in a test file',
  schema: {
    size: { type: 'int', default: 16, min: 8, max: 64, doc: 'input size' },
    hidden: { type: 'int', default: 32, min: 1, max: 4096, doc: 'hidden units' },
    loss: { type: 'enum', default: 'l2', values: ['l1', 'l2'], doc: 'reconstruction loss' },
  },
  input: { sizeParam: 'size', channels: 1, range: [-1, 1] },
  tiny: {},
  trainDefaults: { epochs: 2, batchSize: 32, lr: 3e-3 },
  create: (h) => new ToyAe(h as ToyH),
});
// ---- end of the toy detector ----

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-contract-'));
const data = ['--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '1', '--train-limit', '256', '--val-limit', '128'];

test('the toy detector: help lists its schema; CLI train -> eval -> score; bad values name the flag', async () => {
  const help = await runCli('help', 'train', 'toy-ae');
  assert.equal(help.code, 0);
  assert.match(help.out, /--hidden <int>\s+toy-ae: hidden units \(>= 1, <= 4096\) \(default 32\)/);
  assert.match(help.out, /--loss <value>\s+toy-ae: reconstruction loss \(l1 \| l2\) \(default l2\)/);
  assert.match(help.out, /--epochs <int>\s+training epochs \(default 2\)/);
  assert.doesNotMatch(help.out, /--size/, 'the input size is --image-size');
  const models = await runCli('models');
  assert.match(models.out, /toy-ae\s+a dense autoencoder defined in a test file/);
  const bad = await runCli('train', 'toy-ae', ...data, '--hidden', '0', '--out', path.join(tmp, 'x'));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--hidden: "0" is not valid; expected a number >= 1/);
  const badEnum = await runCli('train', 'toy-ae', ...data, '--loss', 'l3', '--out', path.join(tmp, 'x'));
  assert.match(badEnum.err, /--loss: "l3" is not valid; expected .*l1.*l2/);

  const out = path.join(tmp, 'cli');
  const badDevice = await runCli('train', 'toy-ae', ...data, '--device', 'gpu', '--out', path.join(tmp, 'x'));
  assert.equal(badDevice.code, 2);
  assert.match(badDevice.err, /--device "gpu": not a device; valid: auto, cpu, cuda or cuda:N/);
  if (!cudaIsAvailable()) {
    const noCuda = await runCli('score', path.join(tmp, 'x'), 'y.png', '--device', 'cuda:1');
    assert.equal(noCuda.code, 2);
    assert.match(noCuda.err, /--device cuda:1: this libtorch build has no CUDA \(cpu only\) or sees no GPU; use --device cpu/);
  }
  const t = await runCli('train', 'toy-ae', ...data, '--hidden', '24', '--loss', 'l1', '--out', out, '--quiet', '--device', 'cpu');
  assert.equal(t.code, 0, t.err);
  const b = loadBundle(out);
  assert.deepEqual(b.config.hparams, { size: 16, hidden: 24, loss: 'l1' });
  assert.equal((b.config.training as { device: string }).device, 'cpu', 'the device used is recorded');
  assert.deepEqual(capabilities(b.detector), ['maps', 'reconstruct']);
  b.detector.dispose();
  const e = await runCli('eval', out, '--test-limit', '400', '--no-floors', '--device', 'cpu');
  assert.equal(e.code, 0, e.err);
  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
  assert.ok(results.metrics.auroc > 0.8, `digit 1 vs rest should be easy for an autoencoder, AUROC ${results.metrics.auroc}`);
  assert.ok(fs.existsSync(path.join(out, 'report.html')));
  const png = path.join(tmp, 'one.png');
  await sharp(Buffer.alloc(28 * 28, 40), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(png);
  const s = await runCli('score', out, png, '--json', '--device', 'cpu');
  assert.equal(s.code, 0, s.err);
  const rows = JSON.parse(s.out).images;
  assert.equal(rows.length, 1);
  assert.equal(typeof rows[0].anomalous, 'boolean');
});

test('the toy detector through the pipeline layer (what the server calls)', async () => {
  const out = path.join(tmp, 'lib');
  const r = await train({
    detector: 'toy-ae',
    data: { data: 'mnist', protocol: 'one-vs-rest', normal: '1', seed: 0, valFraction: 0.1 },
    trainLimit: 256,
    valLimit: 128,
    out,
    hparams: { hidden: 16 },
  });
  assert.equal(r.report.steps, 2 * Math.floor(256 / 32));
  assert.equal((r.meta.training as { device: string }).device, cudaIsAvailable() ? 'cuda' : 'cpu', 'device auto');
  assert.ok(r.report.history.every((h) => Number.isFinite(h.rec) && h.ms! >= 0));
  r.detector.dispose();
  const ev = await evaluate({ bundle: out, testLimit: 300, json: path.join(out, 'r.json'), report: null, floors: false });
  assert.ok(ev.results.metrics.auroc > 0.8);
  const png = path.join(tmp, 'two.png');
  await sharp(Buffer.alloc(16 * 16, 200), { raw: { width: 16, height: 16, channels: 1 } })
    .png()
    .toFile(png);
  const sc = await scoreFiles(out, [png]);
  assert.equal(sc.rows.length, 1);
  assert.ok(Number.isFinite(sc.rows[0]!.score));
});
