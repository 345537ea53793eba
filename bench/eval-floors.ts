/**
 * Classical floors on MNIST one-vs-rest: for each digit d, fit on the first `--train` (default
 * 2000) training images of digit d, score the whole MNIST test set (digit d normal, others
 * anomalous), report AUROC of PCA reconstruction error and kNN distance.
 * Run: ANOGEN_NUM_THREADS=2 npx tsx bench/eval-floors.ts [--train 2000] [--pca 0.9] [--k 5] [--variants] [--pca-list 0.7,20,30]
 */
import path from 'node:path';
import { readIdx } from '../src/data/idx.js';
import { mnistDir } from '../src/data/idx-dataset.js';
import { setNumThreads } from '../src/core/runtime.js';
import { pcaScores, knnScores, PcaFloor } from '../src/eval/floors.js';
import { auroc } from '../src/eval/metrics.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const nTrain = opt('train', 2000);
const pcaC = opt('pca', 0.9);
const k = opt('k', 5);
const variants = args.includes('--variants');
const pcaList = args.includes('--pca-list') ? args[args.indexOf('--pca-list') + 1]!.split(',').map(Number) : null;
setNumThreads(Number(process.env.ANOGEN_NUM_THREADS ?? 2));

const dir = mnistDir();
const load = (prefix: string) => {
  const im = readIdx(path.join(dir, `${prefix}-images-idx3-ubyte`));
  const lb = readIdx(path.join(dir, `${prefix}-labels-idx1-ubyte`));
  const d = im.shape[1]! * im.shape[2]!;
  const x = new Float32Array(im.data.length);
  for (let i = 0; i < x.length; i++) x[i] = (im.data[i] as number) / 255;
  return { x, y: lb.data as Uint8Array, n: im.shape[0]!, d };
};
const train = load('train');
const test = load('t10k');
const testM = { data: test.x, rows: test.n, cols: test.d };

const rows: Record<string, number[]> = {};
const add = (name: string, v: number) => (rows[name] ??= []).push(v);
const t0 = Date.now();
for (let digit = 0; digit < 10; digit++) {
  const idx: number[] = [];
  for (let i = 0; i < train.n && idx.length < nTrain; i++) if (train.y[i] === digit) idx.push(i);
  const tr = new Float32Array(idx.length * train.d);
  idx.forEach((src, j) => tr.set(train.x.subarray(src * train.d, (src + 1) * train.d), j * train.d));
  const trM = { data: tr, rows: idx.length, cols: train.d };
  const labels = Array.from(test.y, (v) => (v === digit ? 0 : 1));
  if (pcaList) {
    for (const c of pcaList) add(`pca(${c})`, auroc(pcaScores(trM, testM, { components: c }), labels));
    console.log(
      `digit ${digit}: ` +
        Object.entries(rows)
          .map(([n, v]) => `${n}=${v[digit]!.toFixed(4)}`)
          .join(' '),
    );
    continue;
  }
  const p = new PcaFloor({ components: pcaC }).fit(trM);
  add(`pca(${pcaC})`, auroc(p.score(testM), labels));
  const nc = p.nComponents;
  p.dispose();
  add(`knn(k=${k},mean)`, auroc(knnScores(trM, testM, { k }), labels));
  if (variants) {
    for (const c of [0.8, 0.95, 10, 30]) add(`pca(${c})`, auroc(pcaScores(trM, testM, { components: c }), labels));
    add('knn(k=1)', auroc(knnScores(trM, testM, { k: 1 }), labels));
    add(`knn(k=${k},kth)`, auroc(knnScores(trM, testM, { k, reduction: 'kth' }), labels));
  }
  console.log(
    `digit ${digit}: n_train=${idx.length} pca_components=${nc} ` +
      Object.entries(rows)
        .map(([n, v]) => `${n}=${v[digit]!.toFixed(4)}`)
        .join(' '),
  );
}
console.log(`\nMNIST one-vs-rest, ${nTrain} training images per digit, full test set (10,000), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`| method | ${Array.from({ length: 10 }, (_, i) => i).join(' | ')} | mean |`);
console.log(`|---|${'---|'.repeat(11)}`);
for (const [n, v] of Object.entries(rows)) {
  console.log(`| ${n} | ${v.map((a) => a.toFixed(3)).join(' | ')} | ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(3)} |`);
}
