// Held-out numbers of a pix2pix bundle: on N test images of its dataset (never trained on), the
// mean |x - y| of the task's input (the trivial answer "return the input") and the mean |G(x) - y|
// of the model's translation, in the [-1, 1] range; inputs seeded (torch seeded with --seed).
// Usage: node --import tsx bench/translation-eval.ts <bundle> [--n 1000] [--seed 0] [--data D] [--threads 1]
import { manualSeed, noGrad, setNumThreads, tensor } from '../src/core/index.js';
import { fromConfig, sourceSplit } from '../src/data/index.js';
import { Pix2pix } from '../src/models/index.js';
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
if (!(model instanceof Pix2pix)) throw new Error(`${bundle}: a pix2pix bundle is expected, got ${config.generator}`);
const data = opt('data', (config.data as { dataset: string }).dataset);
const n = Number(opt('n', '1000'));
const seed = Number(opt('seed', '0'));
const ds = openData({ data });
const { batch } = await loadSubset(sourceSplit(ds, 'test', 'test'), fromConfig(config.transforms!), n, seed);
const y = batch.x;
manualSeed(seed);
const x = noGrad(() => model.makeInput(y));
const out = model.translate(x);
const l1 = (a: typeof y, b: typeof y) => a.sub(b).abs().mean().item();
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
    const t = (a: typeof y) => a.indexSelect(0, tensor(idx, { dtype: 'int64' }));
    row[name] = { images: idx.length, inputL1: l1(t(x), t(y)), outputL1: l1(t(out), t(y)) };
  }
}
console.log(JSON.stringify(row));
