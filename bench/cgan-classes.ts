/**
 * Does a cgan bundle generate the requested class? For each class c, `--per-class` seeded
 * samples (default 1,000, seed c) conditioned on c are classified by the committed MNIST quality
 * classifier (src/models/classifier); prints the share classified as c per class, the mean, and
 * the confusion row of each class, plus the same samples' mode coverage over all classes.
 *
 *   nice -n 10 node --import tsx bench/cgan-classes.ts [--per-class 1000] <cgan bundle>
 */
import { parseArgs } from 'node:util';
import { cat, setNumThreads } from '../src/core/index.js';
import { modeCoverage } from '../src/eval/quality.js';
import { QualityClassifier } from '../src/models/classifier/index.js';
import { loadGeneratorBundle } from '../src/pipeline/generate.js';

const { values, positionals } = parseArgs({ options: { 'per-class': { type: 'string', default: '1000' }, threads: { type: 'string', default: '2' } }, allowPositionals: true });
setNumThreads(Number(values.threads));
const per = Number(values['per-class']);
const clf = QualityClassifier.load('mnist');
const { model, config } = loadGeneratorBundle(positionals[0]!);
const k = model.numClasses;
console.log(`${positionals[0]}: ${config.generator}, ${k} classes, ${per} samples per class`);
console.log(`| class | classified as the class | predicted-class counts 0..9 |`);
console.log(`|---|---|---|`);
let sum = 0;
const all = [];
for (let c = 0; c < k; c++) {
  const x = model.sample(per, { seed: c, classes: new Array<number>(per).fill(c) });
  const out = clf.measure(x, model.input.range);
  all.push(x);
  const counts = modeCoverage(out.probs, out.n, 10).counts;
  sum += counts[c]! / per;
  console.log(`| ${c} | ${((100 * counts[c]!) / per).toFixed(1)} % | ${counts.join(' ')} |`);
}
console.log(`| mean | ${((100 * sum) / k).toFixed(1)} % | |`);
const xs = cat(all, 0);
const o = clf.measure(xs, model.input.range);
const cov = modeCoverage(o.probs, o.n, 10);
console.log(`all ${o.n} samples: modes ${cov.modes}/10, KL(uniform) ${cov.klUniform.toFixed(3)}`);
model.dispose();
clf.dispose();
