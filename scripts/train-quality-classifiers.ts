/**
 * Trains the quality classifiers of src/models/classifier (the feature space and class
 * probabilities of anogen's sample-quality measures, src/eval/quality.ts) on MNIST and
 * Fashion-MNIST at 32 x 32 in [-1, 1] (the generators' images), and writes
 * src/models/classifier/<dataset>.safetensors and accuracy.json (test accuracy, the budget and
 * this exact command).
 *
 *   nice -n 10 node --import tsx scripts/train-quality-classifiers.ts [--datasets mnist,fashion-mnist]
 *     [--epochs 2] [--batch-size 128] [--lr 0.001] [--seed 0] [--train-limit N] [--out src/models/classifier]
 *
 * Adam (lr 1e-3), batch 128, cross-entropy, 2 epochs, every training image (seeded shuffles,
 * torch seeded), no augmentation; the accuracy is on the whole test split.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { manualSeed, noGrad, tensor, tidy, type Tensor } from '../src/core/index.js';
import { permutation, sourceSplit } from '../src/data/index.js';
import * as F from '../src/nn/functional.js';
import { serializeSafetensors } from '../src/nn/safetensors.js';
import { Adam } from '../src/optim/index.js';
import { imageTransforms, loadSubset, openData } from '../src/pipeline/data.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/fs.js';
import { QUALITY_DATASETS, QualityClassifierNet, hasQualityClassifier } from '../src/models/classifier/index.js';

const { values } = parseArgs({
  options: {
    datasets: { type: 'string', default: QUALITY_DATASETS.join(',') },
    epochs: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '128' },
    lr: { type: 'string', default: '0.001' },
    seed: { type: 'string', default: '0' },
    'train-limit': { type: 'string' },
    out: { type: 'string', default: 'src/models/classifier' },
  },
});
const epochs = Number(values.epochs);
const batchSize = Number(values['batch-size']);
const lr = Number(values.lr);
const seed = Number(values.seed);
const trainLimit = values['train-limit'] === undefined ? undefined : Number(values['train-limit']);
const command = ['nice -n 10 node --import tsx scripts/train-quality-classifiers.ts', ...process.argv.slice(2)].join(' ');
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Images [N, 1, 32, 32] in [-1, 1] and their class ids of one source of `dataset`. */
async function load(dataset: string, source: 'train' | 'test', limit?: number): Promise<{ x: Tensor; y: Int32Array }> {
  const ds = openData({ data: dataset });
  const split = sourceSplit(ds, source);
  const { batch, split: s } = await loadSubset(split, imageTransforms({ size: 32, channels: 1, range: [-1, 1] }), limit, seed);
  const y = Int32Array.from(batch.positions, (p) => s.classId[p]!);
  batch.y.dispose();
  return { x: batch.x, y };
}

/** Accuracy of `net` on (x, y). */
function accuracy(net: QualityClassifierNet, x: Tensor, y: Int32Array): number {
  net.eval();
  let right = 0;
  noGrad(() => {
    for (let i = 0; i < y.length; i += 1000) {
      const pred = tidy(() =>
        net
          .call(x.narrow(0, i, Math.min(1000, y.length - i)))
          .argmax(1)
          .toFloat64Array(),
      );
      pred.forEach((p, k) => (right += p === y[i + k] ? 1 : 0));
    }
  });
  return right / y.length;
}

const accFile = path.join(values.out!, 'accuracy.json');
const record = (fs.existsSync(accFile) ? JSON.parse(fs.readFileSync(accFile, 'utf8')) : {}) as Record<string, unknown>;
for (const dataset of values.datasets!.split(',')) {
  if (!hasQualityClassifier(dataset)) throw new Error(`--datasets: ${dataset} is not one of ${QUALITY_DATASETS.join(', ')}`);
  const t0 = performance.now();
  const train = await load(dataset, 'train', trainLimit);
  const test = await load(dataset, 'test');
  log(`${dataset}: ${train.y.length} training, ${test.y.length} test images (${((performance.now() - t0) / 1000).toFixed(1)} s to load)`);
  manualSeed(seed);
  const net = new QualityClassifierNet();
  const opt = new Adam(net.parameters(), { lr });
  const t1 = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    net.train();
    const order = permutation(train.y.length, seed * 1000 + epoch);
    let lossSum = 0;
    let steps = 0;
    for (let i = 0; i < order.length; i += batchSize) {
      const idx = order.subarray(i, Math.min(i + batchSize, order.length));
      const loss = tidy(() => {
        const ix = tensor(Array.from(idx), { dtype: 'int64' });
        const xb = train.x.indexSelect(0, ix);
        const yb = tensor(
          Array.from(idx, (k) => train.y[k]!),
          { dtype: 'int64' },
        );
        const l = F.crossEntropy(net.call(xb), yb);
        opt.zeroGrad();
        l.backward();
        opt.step();
        return l.item();
      });
      lossSum += loss;
      steps++;
    }
    log(
      `  epoch ${epoch + 1}/${epochs}: loss ${(lossSum / steps).toFixed(4)}, test accuracy ${accuracy(net, test.x, test.y).toFixed(4)} (${((performance.now() - t1) / 1000).toFixed(0)} s)`,
    );
  }
  const seconds = (performance.now() - t1) / 1000;
  const acc = accuracy(net, test.x, test.y);
  const sd = net.stateDict();
  const bytes = serializeSafetensors(sd, { anogen: 'quality-classifier', dataset, testAccuracy: acc.toFixed(4) });
  for (const t of sd.values()) t.dispose();
  writeFileAtomic(path.join(values.out!, `${dataset}.safetensors`), bytes);
  record[dataset] = {
    testAccuracy: acc,
    testImages: test.y.length,
    trainImages: train.y.length,
    epochs,
    batchSize,
    lr,
    seed,
    optimizer: 'Adam',
    input: '1 x 32 x 32 in [-1, 1] (grayscale, resized bilinear with antialiasing, as anogen train)',
    trainSeconds: Math.round(seconds),
    bytes: bytes.length,
    command,
    trained: new Date().toISOString(),
  };
  writeJsonAtomic(accFile, record);
  log(`${dataset}: test accuracy ${acc.toFixed(4)}, ${bytes.length} bytes, ${seconds.toFixed(0)} s`);
  train.x.dispose();
  test.x.dispose();
  net.dispose();
}
