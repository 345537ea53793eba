/**
 * Issue 13: which features should the Gaussian detector use on MNIST / Fashion-MNIST
 * one-vs-rest? Chosen on a VALIDATION protocol built only from the TRAINING files (the t10k
 * files are never opened):
 *
 * - per class c, fit on the 1,000 training images of c that `anogen benchmark --train-limit
 *   1000 --seeds 0` fits on (src/pipeline's buildSplits + limitSplit, seed 0: the same images);
 * - validation normals: c's validation split (the 10% of c's training images the protocol
 *   carves out, loaded as `anogen train` loads it: loadSubset with valLimit 2000, seed 1);
 * - validation anomalies: a seeded subset (seed 3) of 1,000 training images of the OTHER
 *   classes (the 'train' source, every class but c).
 *
 * Candidates (one Gaussian fit each: mean + Ledoit-Wolf covariance, the gaussian detector's
 * src/detectors/gaussian/ledoit-wolf.ts; one group = squared Mahalanobis distance, several
 * groups = the SUM of the per-group Mahalanobis distances, as the detector's multi-layer
 * backbone option): pixels at 32 and 16 px, and features of the quality classifier trained on
 * the OTHER dataset (src/models/classifier: the Fashion-MNIST classifier for MNIST, the MNIST
 * one for Fashion-MNIST; never the same-dataset classifier, which saw the anomaly classes'
 * labels): its 64 hidden features (fc1, after and before the ReLU), its logits, conv1 / conv2
 * maps global-average-pooled, the ReLU'd conv2 map average-pooled to 2 x 2, 3 x 3 and 4 x 4
 * (and before the ReLU at 4 x 4), conv1 average-pooled to 4 x 4, the conv2 map max-pooled to
 * 4 x 4 (the 512 inputs of fc1), several layers with summed distances, and pixels + features
 * (summed distances, or one Gaussian on the concatenation); kNN (k 5, mean distance) on some of
 * them; and the floors PCA (0.9 variance) and kNN (k 5) on 32 px pixels (src/eval/floors.ts,
 * the benchmark's settings; the OC-SVM floor, the weakest on the test tables, is left out).
 * (A conv2 8 x 8 average pool, 2,048 features, was dropped: its Gaussian took ~100 s per class
 * on the loaded machine.)
 *
 * Prints one row per candidate, best mean first: the validation AUROC of each class and their
 * mean, per dataset. Measured 2026-11-30 (printout: bench/results/issue13-2026-11-30/
 * feature-selection/validation.md; the choice and the test tables: section 6 of that folder's
 * README): the winners are `--features classifier --classifier-layers conv2` with
 * `--classifier-grid 2` on MNIST and 3 on Fashion-MNIST. About 60 s per class and dataset when
 * both datasets run at once on the loaded 2-core machine (~10 min each).
 *
 *   nice -n 10 node --import tsx bench/feature-selection.ts [--data mnist,fashion-mnist] [--classes 0,1,...] [--threads 1]
 */
import { parseArgs } from 'node:util';
import { cat, dispose, noGrad, setNumThreads, tidy, type Tensor } from '../src/core/index.js';
import { Split, disposeBatch } from '../src/data/index.js';
import { evaluateScores } from '../src/eval/metrics.js';
import { knnScores, pcaScores } from '../src/eval/floors.js';
import { buildSplits, imageTransforms, limitSplit, loadSubset } from '../src/pipeline/data.js';
import { ledoitWolf, mahalanobis } from '../src/detectors/gaussian/ledoit-wolf.js';
import { QualityClassifier } from '../src/models/classifier/index.js';
import * as F from '../src/nn/functional.js';

const { values: o } = parseArgs({
  options: {
    data: { type: 'string', default: 'mnist,fashion-mnist' },
    classes: { type: 'string' },
    threads: { type: 'string', default: '1' },
    'train-limit': { type: 'string', default: '1000' },
    anomalies: { type: 'string', default: '1000' },
  },
});
setNumThreads(Number(o.threads));
const SEED = 0;
const TRAIN_LIMIT = Number(o['train-limit']);
const N_ANOM = Number(o.anomalies);
const VAL_LIMIT = 2000; // anogen train's default valLimit (the benchmark's too)

/** The classifier of the other dataset (never the target's own). */
const otherClassifier = (data: string) => (data === 'mnist' ? 'fashion-mnist' : 'mnist');

/** Named feature blocks of one image set. */
type Blocks = Record<string, Tensor>;

/** Pixels at 32 and 16 px, and the other classifier's layers, all float64 [N, F]. */
function blocksOf(x32: Tensor, x16: Tensor, clf: QualityClassifier): Blocks {
  return noGrad(() =>
    tidy(() => {
      const net = clf.net;
      const h1 = F.relu(net.conv1.call(x32)); // 16 x 32 x 32
      const p1 = F.maxPool2d(h1, 2); // 16 x 16 x 16
      const h2 = F.relu(net.conv2.call(p1)); // 32 x 16 x 16
      const p2 = F.maxPool2d(h2, 4); // 32 x 4 x 4
      const pre = net.fc1.call(p2.flatten(1)); // 64
      const fc1 = F.relu(pre);
      const logits = net.fc2.call(fc1); // 10
      const b: Blocks = {
        px32: x32.flatten(1),
        px16: x16.flatten(1),
        conv1gap: h1.mean([2, 3]),
        conv2gap: h2.mean([2, 3]),
        conv2pool: p2.flatten(1),
        conv2avg4: F.adaptiveAvgPool2d(h2, 4).flatten(1),
        conv2avg2: F.adaptiveAvgPool2d(h2, 2).flatten(1),
        conv2avg3: F.adaptiveAvgPool2d(h2, 3).flatten(1),
        conv2preavg4: F.adaptiveAvgPool2d(net.conv2.call(p1), 4).flatten(1),
        conv1avg4: F.adaptiveAvgPool2d(h1, 4).flatten(1),
        fc1,
        fc1pre: pre,
        logits,
      };
      const out: Blocks = {};
      for (const [k, v] of Object.entries(b)) out[k] = v.double().contiguous();
      return out;
    }),
  );
}

/** A candidate: Gaussian on blocks (one group each; several = summed distances), or kNN. */
interface Candidate {
  name: string;
  kind: 'gaussian' | 'knn' | 'pca';
  blocks: string[];
  /** Gaussian with several blocks: one Gaussian on the concatenation instead of one per block. */
  concat?: boolean;
}

const G = (name: string, blocks: string[], concat = false): Candidate => ({ name, kind: 'gaussian', blocks, concat });
const CANDIDATES: Candidate[] = [
  G('gaussian pixels 32 px (reference)', ['px32']),
  G('gaussian pixels 16 px', ['px16']),
  G('gaussian fc1 (64, ReLU)', ['fc1']),
  G('gaussian fc1 pre-ReLU (64)', ['fc1pre']),
  G('gaussian logits (10)', ['logits']),
  G('gaussian conv1 GAP (16)', ['conv1gap']),
  G('gaussian conv2 GAP (32)', ['conv2gap']),
  G('gaussian conv2 max-pool 4x4 (512)', ['conv2pool']),
  G('gaussian conv2 avg-pool 4x4 (512)', ['conv2avg4']),
  G('gaussian conv2 avg-pool 2x2 (128)', ['conv2avg2']),
  G('gaussian conv2 avg-pool 3x3 (288)', ['conv2avg3']),
  G('gaussian sum: conv2avg2 + fc1', ['conv2avg2', 'fc1']),
  G('gaussian conv2 pre-ReLU avg-pool 4x4 (512)', ['conv2preavg4']),
  G('gaussian conv1 avg-pool 4x4 (256)', ['conv1avg4']),
  G('gaussian sum: conv1avg4 + conv2avg4', ['conv1avg4', 'conv2avg4']),
  G('gaussian sum: conv2avg4 + fc1', ['conv2avg4', 'fc1']),
  G('gaussian sum: conv2avg4 + fc1pre', ['conv2avg4', 'fc1pre']),
  G('gaussian sum: conv1avg4 + conv2avg4 + fc1', ['conv1avg4', 'conv2avg4', 'fc1']),
  G('gaussian sum: px16 + conv2avg4', ['px16', 'conv2avg4']),
  G('gaussian sum: conv1gap + conv2gap + fc1', ['conv1gap', 'conv2gap', 'fc1']),
  G('gaussian sum: conv2pool + fc1', ['conv2pool', 'fc1']),
  G('gaussian sum: conv2pool + fc1pre', ['conv2pool', 'fc1pre']),
  G('gaussian sum: conv2pool + fc1 + logits', ['conv2pool', 'fc1', 'logits']),
  G('gaussian sum: px32 + fc1', ['px32', 'fc1']),
  G('gaussian sum: px16 + fc1', ['px16', 'fc1']),
  G('gaussian sum: px16 + conv2pool', ['px16', 'conv2pool']),
  G('gaussian sum: px16 + conv2pool + fc1', ['px16', 'conv2pool', 'fc1']),
  G('gaussian sum: px32 + conv2pool + fc1', ['px32', 'conv2pool', 'fc1']),
  G('gaussian concat: px16 + fc1', ['px16', 'fc1'], true),
  G('gaussian concat: px32 + fc1', ['px32', 'fc1'], true),
  { name: 'kNN fc1 (64)', kind: 'knn', blocks: ['fc1'] },
  { name: 'kNN conv2 max-pool 4x4 (512)', kind: 'knn', blocks: ['conv2pool'] },
  { name: 'kNN conv2 avg-pool 4x4 (512)', kind: 'knn', blocks: ['conv2avg4'] },
  { name: 'floor PCA pixels 32 px', kind: 'pca', blocks: ['px32'] },
  { name: 'floor kNN pixels 32 px', kind: 'knn', blocks: ['px32'] },
];

/** Scores of `test` for a candidate fitted on `train`. */
function scoreCandidate(c: Candidate, train: Blocks, test: Blocks): Float64Array {
  const pick = (b: Blocks) =>
    c.blocks.length === 1
      ? b[c.blocks[0]!]!.clone()
      : tidy(() =>
          cat(
            c.blocks.map((k) => b[k]!),
            1,
          ),
        );
  if (c.kind !== 'gaussian' || c.concat === true || c.blocks.length === 1) {
    const a = pick(train);
    const t = pick(test);
    try {
      if (c.kind === 'knn')
        return knnScores(
          tidy(() => a.float()),
          tidy(() => t.float()),
          { k: 5, reduction: 'mean' },
        );
      if (c.kind === 'pca')
        return pcaScores(
          tidy(() => a.float()),
          tidy(() => t.float()),
          { components: 0.9 },
        );
      const lw = ledoitWolf(a);
      try {
        return mahalanobis(t, lw.mean, lw.precision).toFloat64Array();
      } finally {
        dispose([lw.mean, lw.covariance, lw.precision]);
      }
    } finally {
      dispose([a, t]);
    }
  }
  const total = new Float64Array(test[c.blocks[0]!]!.shape[0]!);
  for (const k of c.blocks) {
    const lw = ledoitWolf(train[k]!);
    try {
      const d = noGrad(() => tidy(() => mahalanobis(test[k]!, lw.mean, lw.precision).clamp(0).sqrt().toFloat64Array()));
      for (let i = 0; i < total.length; i++) total[i]! += d[i]!;
    } finally {
      dispose([lw.mean, lw.covariance, lw.precision]);
    }
  }
  return total;
}

const results: { data: string; classes: string[]; auroc: number[][] }[] = [];
for (const data of o.data!.split(',')) {
  const clf = QualityClassifier.load(otherClassifier(data));
  const t32 = imageTransforms({ size: 32, channels: 1 });
  const t16 = imageTransforms({ size: 16, channels: 1 });
  let classes: string[] = [];
  const auroc: number[][] = CANDIDATES.map(() => []);
  const t0 = performance.now();
  for (let ci = 0; ; ci++) {
    const probe = buildSplits({ data, protocol: 'one-vs-rest', normal: '0', seed: SEED, valFraction: 0.1 });
    classes = o.classes !== undefined ? o.classes.split(',') : [...probe.train.dataset.classes];
    if (ci >= classes.length) break;
    const c = classes[ci]!;
    const splits = buildSplits({ data, protocol: 'one-vs-rest', normal: c, seed: SEED, valFraction: 0.1 });
    const trainSplit = limitSplit(splits.train, TRAIN_LIMIT, SEED);
    // The other classes' training images (the 'train' source only).
    const ds = splits.train.dataset;
    const si = ds.sources.indexOf('train');
    const ids = ds.classIds('train');
    const cIdx = ds.classes.indexOf(splits.record.normalClass!);
    const others: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i] !== cIdx) others.push(i);
    const otherSplit = new Split(
      'validation',
      ds,
      new Uint8Array(others.length).fill(si),
      Int32Array.from(others),
      new Uint8Array(others.length).fill(1),
      Uint16Array.from(others, (i) => ids[i]!),
    );
    const anomSplit = limitSplit(otherSplit, N_ANOM, SEED + 3);
    const load = async (split: Split, limit: number | undefined, seed: number) => {
      const a = await loadSubset(split, t32, limit, seed);
      const b = await loadSubset(split, t16, limit, seed);
      try {
        return blocksOf(a.batch.x, b.batch.x, clf);
      } finally {
        disposeBatch(a.batch);
        disposeBatch(b.batch);
      }
    };
    const tr = await load(trainSplit, undefined, SEED);
    const vn = await load(splits.validation, VAL_LIMIT, SEED + 1);
    const va = await load(anomSplit, undefined, SEED);
    const nN = vn.px32!.shape[0]!;
    const nA = va.px32!.shape[0]!;
    const val: Blocks = {};
    for (const k of Object.keys(vn)) val[k] = tidy(() => cat([vn[k]!, va[k]!], 0));
    const labels = new Uint8Array(nN + nA).fill(1, nN);
    CANDIDATES.forEach((cand, k) => {
      const s = scoreCandidate(cand, tr, val);
      auroc[k]!.push(evaluateScores(s, labels).auroc);
    });
    for (const b of [tr, vn, va, val]) dispose(Object.values(b));
    console.error(
      `${data} class ${c}: train ${trainSplit.length}, val ${nN} normal + ${nA} anomalous (other classes' training images); ${((performance.now() - t0) / 1000).toFixed(0)} s so far`,
    );
  }
  clf.dispose();
  results.push({ data, classes, auroc });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`\n## ${data}: validation AUROC (features of the ${otherClassifier(data)} classifier)\n`);
  console.log(`| candidate | ${classes.join(' | ')} | mean |`);
  console.log(`|---|${classes.map(() => '---:|').join('')}---:|`);
  const order = CANDIDATES.map((_, k) => k).sort((a, b) => mean(auroc[b]!) - mean(auroc[a]!));
  for (const k of order) console.log(`| ${CANDIDATES[k]!.name} | ${auroc[k]!.map((v) => v.toFixed(3)).join(' | ')} | **${mean(auroc[k]!).toFixed(4)}** |`);
}
