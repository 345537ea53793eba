/**
 * Renders a sample evaluation report on MNIST with the PCA floor standing in for a model
 * (x̂ = PCA reconstruction, map = |x − x̂|, score = squared error), kNN as a floor, made-up
 * loss curves and a t-SNE of the PCA projections. Used to look at the report's layout.
 * Run: ANOGEN_NUM_THREADS=2 npx tsx bench/eval-report-demo.ts [out.html] [digit]
 */
import path from 'node:path';
import { readIdx } from '../src/data/idx.js';
import { mnistDir } from '../src/data/idx-dataset.js';
import { setNumThreads } from '../src/core/runtime.js';
import { PcaFloor, knnScores } from '../src/eval/floors.js';
import { fitThreshold } from '../src/eval/threshold.js';
import { writeReport, writeResultsJson, summarizeEvaluation, type ReportSample } from '../src/eval/report.js';

setNumThreads(Number(process.env.ANOGEN_NUM_THREADS ?? 2));
const out = process.argv[2] ?? '/tmp/anogen-report-demo.html';
const digit = Number(process.argv[3] ?? 3);
const dir = mnistDir();
const load = (prefix: string) => {
  const im = readIdx(path.join(dir, `${prefix}-images-idx3-ubyte`));
  const lb = readIdx(path.join(dir, `${prefix}-labels-idx1-ubyte`));
  const x = Float32Array.from(im.data as Uint8Array, (v) => v / 255);
  return { x, y: lb.data as Uint8Array, n: im.shape[0]! };
};
const tr = load('train');
const te = load('t10k');
const pick = (src: typeof tr, pred: (i: number) => boolean, max: number) => {
  const rows: Float32Array[] = [];
  const idx: number[] = [];
  for (let i = 0; i < src.n && rows.length < max; i++)
    if (pred(i)) {
      rows.push(src.x.subarray(i * 784, (i + 1) * 784));
      idx.push(i);
    }
  return { rows, idx };
};
const train = pick(tr, (i) => tr.y[i] === digit, 2000);
const val = pick(tr, (i) => tr.y[i] === digit, 2300); // the 300 after the training ones are validation normals
const valRows = val.rows.slice(2000);
const test = pick(te, (i) => i % 5 === 0, 2000); // 2,000 test images, all digits
const labels = test.idx.map((i) => (te.y[i] === digit ? 0 : 1));

const pca = new PcaFloor().fit(train.rows);
const scores = pca.score(test.rows);
const thr = fitThreshold({ kind: 'percentile' }, pca.score(valRows));
const rec = pca.reconstruct(test.rows).toFloat32Array();
const proj = pca.project(test.rows);
const knn = knnScores(train.rows, test.rows);
const order = Array.from(scores.keys())
  .sort((a, b) => scores[b]! - scores[a]!)
  .slice(0, 16);
const samples: ReportSample[] = order.map((i) => {
  const x = test.rows[i]!;
  const xr = rec.subarray(i * 784, (i + 1) * 784);
  const map = Float32Array.from(x, (v, j) => Math.abs(v - xr[j]!));
  return {
    image: { data: x, shape: [1, 28, 28] },
    reconstruction: { data: xr, shape: [1, 28, 28] },
    map: { data: map, shape: [1, 28, 28] },
    score: scores[i]!,
    label: labels[i],
    caption: `test #${test.idx[i]} (digit ${te.y[test.idx[i]!]})`,
  };
});
const steps = 600;
const losses = {
  L_adv: Array.from({ length: steps }, (_, i) => 0.02 + 0.3 * Math.exp(-i / 80) + 0.01 * Math.sin(i / 7)),
  'L_con (×50)': Array.from({ length: steps }, (_, i) => 50 * (0.05 + 0.4 * Math.exp(-i / 120))),
  L_enc: Array.from({ length: steps }, (_, i) => 0.005 + 0.05 * Math.exp(-i / 60)),
  L_D: Array.from({ length: steps }, (_, i) => 0.7 * Math.exp(-i / 300) + 0.05),
};
const t0 = Date.now();
const input = {
  title: `PCA reconstruction — MNIST one-vs-rest, normal digit ${digit}`,
  info: { detector: 'pca (stand-in)', data: 'mnist', protocol: 'one-vs-rest', normal: digit, seed: 0, components: pca.nComponents },
  modelName: `pca(${pca.nComponents})`,
  scores,
  labels,
  threshold: thr.value,
  floors: { 'knn (k=5)': knn },
  losses,
  lossXLabel: 'step (made-up curves)',
  samples,
  embedding: { features: proj, labels: test.idx.map((i) => te.y[i]!), title: 't-SNE of PCA projections (coloured by digit)', tsne: { seed: 0 } },
  extraMetrics: { 'Φ (percentile 95 of 300 validation normals)': thr.value },
};
await writeReport(out, input);
writeResultsJson(out.replace(/\.html$/, '.json'), { summary: summarizeEvaluation(input), threshold: thr });
console.log(`wrote ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
