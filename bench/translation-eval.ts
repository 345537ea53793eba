// Held-out numbers of a pix2pix or cyclegan bundle on N test images (never trained on), mean
// absolute errors in the [-1, 1] range. pix2pix: the task's input (the trivial answer "return the
// input") and the model's translation G(x) against the target y; inputs seeded (torch seeded with
// --seed). cyclegan: the cycle errors |F(G(a)) - a| on domain A's test images and |G(F(b)) - b| on
// domain B's.
// Usage: node --import tsx bench/translation-eval.ts <bundle> [--n 1000] [--seed 0] [--data D] [--threads 1]
import { manualSeed, noGrad, setNumThreads, tensor, type Tensor } from '../src/core/index.js';
import { fromConfig, sourceSplit } from '../src/data/index.js';
import { Cyclegan, Pix2pix } from '../src/models/index.js';
import { loadGeneratorBundle } from '../src/pipeline/generate.js';
import { loadSubset, openData } from '../src/pipeline/data.js';

const argv = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = argv.indexOf(`--${k}`);
  return i >= 0 ? argv[i + 1]! : d;
};
setNumThreads(Number(opt('threads', '1')));
const bundle = argv[0]!;
const { model, config } = loadGeneratorBundle(bundle);
const data = opt('data', (config.data as { dataset: string }).dataset);
const n = Number(opt('n', '1000'));
const seed = Number(opt('seed', '0'));
const l1 = (a: Tensor, b: Tensor) => a.sub(b).abs().mean().item();
const testImages = async (name: string, classes?: string[]) => {
  const split = sourceSplit(openData({ data: name }), 'test', 'test');
  const keep = classes === undefined ? null : [...split.classId.keys()].filter((i) => classes.includes(split.dataset.classes[split.classId[i]!]!));
  return (await loadSubset(keep === null ? split : split.subset(keep), fromConfig(config.transforms!), n, seed)).batch.x;
};
if (model instanceof Cyclegan) {
  const a = await testImages(data);
  const b = await testImages(model.domainB.data, model.domainB.classes);
  const ga = model.translate(a);
  const fb = model.translateBack(b);
  console.log(
    JSON.stringify({
      bundle,
      dataA: data,
      dataB: model.domainB.data,
      testImages: [a.shape[0], b.shape[0]],
      seed,
      cycleL1A: l1(model.translateBack(ga), a),
      cycleL1B: l1(model.translate(fb), b),
      identityL1A: l1(ga, a),
      identityL1B: l1(fb, b),
    }),
  );
  process.exit(0);
}
if (!(model instanceof Pix2pix)) throw new Error(`${bundle}: a pix2pix or cyclegan bundle is expected, got ${config.generator}`);
const y = await testImages(data);
manualSeed(seed);
const x = noGrad(() => model.makeInput(y));
const out = model.translate(x);
const row: Record<string, unknown> = { bundle, task: model.hparams.task, data, testImages: y.shape[0], seed, inputL1: l1(x, y), outputL1: l1(out, y) };
if (model.hparams.task === 'degrade') {
  // which degradation each image got: a masked image has a block of exactly mid-gray (0) pixels
  const s = model.input.size;
  const block = Math.round((3 * s) / 8) ** 2;
  const zeros = noGrad(() => x.eq(0).float().sum([1, 2, 3]).toFloat32Array());
  for (const [name, keep] of [
    ['masked', (z: number) => z >= block],
    ['downsampled', (z: number) => z < block],
  ] as const) {
    const idx = [...zeros.keys()].filter((i) => keep(zeros[i]!));
    const t = (a: Tensor) => a.indexSelect(0, tensor(idx, { dtype: 'int64' }));
    row[name] = { images: idx.length, inputL1: l1(t(x), t(y)), outputL1: l1(t(out), t(y)) };
  }
}
console.log(JSON.stringify(row));
