/**
 * Mode coverage of generator bundles (the Unrolled GAN vs plain GAN comparison of issue 11):
 * for each bundle, `--samples` seeded samples (default 10,000, seed 0) are measured by the
 * committed MNIST quality classifier (src/models/classifier, src/eval/quality.ts): modes covered
 * (classes predicted at least once), KL of the predicted-class histogram from uniform, the
 * classifier score, the Fréchet distance of the classifier's features against the MNIST test
 * set, and the mean per-image pixel standard deviation (a flat grey image has ~0). Prints one Markdown row per bundle, with the training seconds from its config.json, after
 * a reference row: `--samples` real MNIST training images resized to `--real-size` (default 16,
 * the bundles' size) and measured the same way (the ceiling at that resolution).
 *
 *   nice -n 10 node --import tsx bench/unrolled-gan-modes.ts [--samples 10000] [--real-size 16] <bundle> [<bundle> ...]
 *
 * The bundles are trained by bench/unrolled-gan-modes.sh (the same budget for both models).
 */
import { parseArgs } from 'node:util';
import { setNumThreads } from '../src/core/index.js';
import { noGrad } from '../src/core/autograd.js';
import type { Tensor } from '../src/core/tensor.js';
import { sourceSplit } from '../src/data/index.js';
import { featureStats, qualityMeasures } from '../src/eval/quality.js';
import { CLASSIFIER_FEATURES, QualityClassifier } from '../src/models/classifier/index.js';
import { imageTransforms, loadSubset, openData } from '../src/pipeline/data.js';
import { loadGeneratorBundle } from '../src/pipeline/generate.js';

/** Mean over images of each image's pixel standard deviation (~0 for a flat grey image). */
const imageStd = (x: Tensor): number => noGrad(() => x.view([x.shape[0]!, -1]).std(1).mean().item());

const { values, positionals } = parseArgs({
  options: { samples: { type: 'string', default: '10000' }, threads: { type: 'string', default: '2' }, 'real-size': { type: 'string', default: '16' } },
  allowPositionals: true,
});
setNumThreads(Number(values.threads));
const samples = Number(values.samples);
const clf = QualityClassifier.load('mnist');
const split = sourceSplit(openData({ data: 'mnist' }), 'test', 'test');
const { batch } = await loadSubset(split, imageTransforms({ size: 32, channels: 1, range: [-1, 1] }), undefined, 0);
batch.y.dispose();
const test = clf.measure(batch.x);
batch.x.dispose();
const reference = featureStats(test.features, test.n, CLASSIFIER_FEATURES);
console.log(`| bundle | model | hparams | train s | per-image std | modes | KL(uniform) | classifier score | FD | class counts |`);
console.log(`|---|---|---|---|---|---|---|---|---|---|`);
// The ceiling at the generators' resolution: real training images through the same pipeline.
const size = Number(values['real-size']);
const real = await loadSubset(sourceSplit(openData({ data: 'mnist' }), 'train', 'train'), imageTransforms({ size, channels: 1, range: [-1, 1] }), samples, 0);
real.batch.y.dispose();
const r = clf.measure(real.batch.x);
const realStd = imageStd(real.batch.x);
real.batch.x.dispose();
const rm = qualityMeasures(r.features, r.probs, r.n, CLASSIFIER_FEATURES, 10, reference);
console.log(
  `| real MNIST training images at ${size} px | - | - | - | ${realStd.toFixed(3)} | ${rm.modes}/10 | ${rm.klUniform.toFixed(3)} | ${rm.classifierScore.toFixed(2)} | ${rm.frechetDistance.toFixed(2)} | ${rm.counts.join(' ')} |`,
);
for (const dir of positionals) {
  const { model, config } = loadGeneratorBundle(dir);
  const x = model.sample(samples, { seed: 0 });
  const out = clf.measure(x, model.input.range);
  const std = imageStd(x);
  x.dispose();
  const m = qualityMeasures(out.features, out.probs, out.n, CLASSIFIER_FEATURES, 10, reference);
  const h = config.hparams as Record<string, unknown>;
  const t = config.training as { seconds?: number; seed?: number };
  const arch = h.unrollSteps === undefined ? `seed ${t.seed}` : `seed ${t.seed}, K ${h.unrollSteps}, ${h.unrollOptimizer}, ${h.unrollSurrogate ?? 'generator'}`;
  console.log(
    `| ${dir} | ${config.generator} | ${arch} | ${t.seconds?.toFixed(0)} | ${std.toFixed(3)} | ${m.modes}/10 | ${m.klUniform.toFixed(3)} | ${m.classifierScore.toFixed(2)} | ${m.frechetDistance.toFixed(2)} | ${m.counts.join(' ')} |`,
  );
  model.dispose();
}
clf.dispose();
