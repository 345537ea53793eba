// PixelCNN vs PixelRNN on MNIST at 28 px (issue 11): test bits/dim and time per epoch, side by
// side, at one small stated budget; prints one Markdown row per model and a JSON line.
//
//   ANOGEN_NUM_THREADS=1 nice -n 10 node --import tsx bench/pixel-models.ts [--train 2000] [--test 1000] [--epochs 1] [--only pixelcnn|pixelrnn] [--layers N]
//
// Columns: model | parameters | test bits/dim | wall s/epoch | CPU s/epoch | train img/s | s to
// sample 4 images | load average (1 min) before -> after. Both train with src/train's loop (Adam lr 1e-3, batch 64, seed 0) on the same seeded subset of
// the MNIST training images (all digits), and are evaluated on the same subset of the test split.
import os from 'node:os';
import { fromConfig, sourceSplit } from '../src/data/index.js';
import { imageTransforms, limitSplit, openData } from '../src/pipeline/data.js';
import { SplitSource } from '../src/train/source.js';
import { PixelCnn } from '../src/models/pixelcnn/model.js';
import { PixelRnn } from '../src/models/pixelrnn/model.js';
import type { AutoregressiveModel, AutoregressiveHParams } from '../src/models/pixelcnn/autoregressive.js';
import { getNumThreads } from '../src/core/runtime.js';

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const nTrain = arg('train', 2000);
const nTest = arg('test', 1000);
const epochs = arg('epochs', 1);
const size = 28;

const ds = openData({ data: 'mnist' });
const tf = fromConfig(imageTransforms({ size, channels: 1, range: [-1, 1] }));
const train = new SplitSource(limitSplit(sourceSplit(ds, 'train'), nTrain, 0), tf, 0);
const test = new SplitSource(limitSplit(sourceSplit(ds, 'test'), nTest, 0), tf, 0);

const models: [string, () => AutoregressiveModel<AutoregressiveHParams>][] = [
  ['pixelcnn', () => new PixelCnn({ isize: size, hidden: 32, layers: arg('layers', 5), outHidden: 64 }) as never],
  ['pixelrnn', () => new PixelRnn({ isize: size, hidden: 32, layers: arg('layers', 2), outHidden: 64 }) as never],
];
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const rows: Record<string, unknown>[] = [];
console.log(
  `MNIST ${size} px, train ${nTrain} (all digits), test ${nTest}, ${epochs} epoch(s), batch 64, Adam 1e-3, 256 levels, ${getNumThreads()} thread(s), load ${os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
for (const [name, make] of models) {
  if (only !== undefined && name !== only) continue;
  const m = make();
  const params = m.stateDict();
  let count = 0;
  for (const t of params.values()) {
    count += t.numel;
    t.dispose();
  }
  const load0 = os.loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const rep = await m.fit(train, { epochs, batchSize: 64, lr: 1e-3, seed: 0 });
  const cpu = process.cpuUsage(cpu0);
  const cpuPerEpoch = (cpu.user + cpu.system) / 1e6 / epochs;
  const t0 = performance.now();
  const bpd = await m.bitsPerDim(test, 100);
  const evalS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  m.sample(4, { seed: 0 }).dispose();
  const sampleS = (performance.now() - t1) / 1000;
  const row = {
    model: name,
    hparams: m.config(),
    params: count,
    trainBitsPerDim: rep.history.at(-1)?.nll,
    testBitsPerDim: bpd,
    secondsPerEpoch: rep.seconds / epochs,
    cpuSecondsPerEpoch: cpuPerEpoch,
    imagesPerSecond: rep.imagesPerSecond,
    testEvalSeconds: evalS,
    sample4Seconds: sampleS,
    load: [load0, os.loadavg()[0]],
  };
  rows.push(row);
  console.log(
    `| ${name} | ${count} | ${bpd.toFixed(3)} | ${row.secondsPerEpoch.toFixed(1)} | ${cpuPerEpoch.toFixed(1)} | ${rep.imagesPerSecond.toFixed(1)} | ${sampleS.toFixed(1)} | ${load0.toFixed(1)} -> ${os.loadavg()[0]!.toFixed(1)} |`,
  );
  m.dispose();
}
console.log(JSON.stringify(rows));
