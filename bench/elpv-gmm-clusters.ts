// Diagnostic of gaussian --components 2 on ELPV (issue 13), on TRAINING normals only (the test
// split is never read): does the unsupervised k-means of src/detectors/gaussian/mixture.ts split
// the training cells by module type (mono / poly, from labels.csv, which the detector never sees)?
// Loads the elpv table's 1,018 training normals (protocol folder, seed 0, 10% validation carved
// out, 64 px gray in [-1, 1]), extracts the features (pixels, and the Fashion-MNIST classifier's
// defaults: conv2, grid 3), runs kmeans(features, 2, { seed: 0 }) as the detector's fit does, and
// prints each cluster's mono / poly counts.
//
// With --test (a diagnostic AFTER the one measured run of each model, used for no choice): fits
// gaussian on the classifier features with components 1 and 2 exactly as the benchmark cell
// does (same training rows and order, seed 0), scores the test split (good vs defect) and prints
// the AUROC overall (it must equal the benchmark's) and per module type, and the median score of
// the normal test cells per module type.
//
//   node --import tsx bench/elpv-gmm-clusters.ts [--test] [data folder (default /work/shared/data/elpv)]
import fs from 'node:fs';
import path from 'node:path';
import { Gaussian } from '../src/detectors/index.js';
import { kmeans } from '../src/detectors/gaussian/mixture.js';
import { buildSplits, imageTransforms, loadSubset } from '../src/pipeline/data.js';
import { disposeBatch } from '../src/data/index.js';
import { auroc } from '../src/eval/metrics.js';

const args = process.argv.slice(2);
const withTest = args.includes('--test');
const data = args.find((a) => a !== '--test') ?? '/work/shared/data/elpv';
const type = new Map<string, string>();
const lines = fs.readFileSync(path.join(data, 'labels.csv'), 'utf8').trim().split(/\r?\n/);
const head = lines[0]!.split(',');
const [fi, ti] = [head.indexOf('file'), head.indexOf('module_type')];
for (const l of lines.slice(1)) {
  const c = l.split(',');
  type.set(path.resolve(data, c[fi]!), c[ti]!);
}
const splits = buildSplits({ data, protocol: 'folder', seed: 0, valFraction: 0.1 });
const { batch, split } = await loadSubset(splits.train, imageTransforms({ size: 64, channels: 1 }));
const types = Array.from(batch.positions, (p) => type.get(path.resolve(split.itemName(p))) ?? '?');
console.log(`${types.length} training normals: ${types.filter((t) => t === 'mono').length} mono, ${types.filter((t) => t === 'poly').length} poly`);
for (const h of [{ features: 'pixels' as const }, { features: 'classifier' as const, classifier: 'fashion-mnist' }]) {
  const d = new Gaussian({ isize: 64, ...h });
  const f32 = d.features(batch.x);
  const f = f32.double();
  const km = kmeans(f, 2, { seed: 0 });
  const rows = km.counts.map((n, c) => {
    const members = types.filter((_, i) => km.assign[i] === c);
    return `cluster ${c}: ${n} (${members.filter((t) => t === 'mono').length} mono, ${members.filter((t) => t === 'poly').length} poly)`;
  });
  console.log(`${h.features} (${f.shape[1]} features), k-means seed 0, ${km.iterations} Lloyd iterations: ${rows.join('; ')}`);
  for (const t of [f32, f, km.centers]) t.dispose();
  d.dispose();
}
if (withTest) {
  const te = await loadSubset(splits.test, imageTransforms({ size: 64, channels: 1 }));
  const tTypes = Array.from(te.batch.positions, (p) => type.get(path.resolve(te.split.itemName(p))) ?? '?');
  const y = Array.from(te.batch.y.toFloat64Array());
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  for (const components of [1, 2]) {
    const d = new Gaussian({ isize: 64, features: 'classifier', classifier: 'fashion-mnist', components });
    await d.fit({ images: batch.x }, { seed: 0 });
    const s = Array.from(d.score(te.batch.x).scores);
    const parts = ['mono', 'poly'].map((t) => {
      const idx = s.map((_, i) => i).filter((i) => tTypes[i] === t);
      const normal = idx.filter((i) => y[i] === 0).map((i) => s[i]!);
      const a = auroc(
        idx.map((i) => s[i]!),
        idx.map((i) => y[i]!),
      );
      return `${t}: AUROC ${a.toFixed(3)} (${idx.length - normal.length} defect, ${normal.length} normal), median normal score ${median(normal).toFixed(1)}`;
    });
    console.log(`TEST diagnostic, classifier, components ${components}: AUROC ${auroc(s, y).toFixed(4)}; ${parts.join('; ')}`);
    d.dispose();
  }
  disposeBatch(te.batch);
}
disposeBatch(batch);
