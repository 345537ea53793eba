// AnoGAN's two latent mappings on one trained bundle: scoring time per image and AUROC of the
// iterative search (Gamma Adam steps per image) and of f-AnoGAN's encoder (one pass), on the
// first N MNIST test images (resized as the bundle's input), normal class from the bundle.
// Usage: node --import tsx bench/anogan-search-time.ts <bundle> [N=200] [iterations=500] [batch=64]
import '../src/detectors/index.js';
import { tensor, tidy } from '../src/core/index.js';
import * as F from '../src/nn/functional.js';
import { openIdxDataset } from '../src/data/index.js';
import { auroc } from '../src/eval/metrics.js';
import { createDetector, loadBundle, type Anogan } from '../src/detectors/index.js';

const [bundle, nArg, itArg, bsArg] = process.argv.slice(2);
if (bundle === undefined) throw new Error('usage: anogan-search-time.ts <bundle> [N] [iterations] [batch]');
const n = Number(nArg ?? 200);
const iterations = Number(itArg ?? 500);
const batchSize = Number(bsArg ?? 64);
const b = loadBundle(bundle);
const enc = b.detector as Anogan;
const normal = String((b.config as { protocol?: { normalClass?: string } }).protocol?.normalClass ?? '1');
const ds = openIdxDataset('mnist');
const raw = ds.images.test!.data as Uint8Array;
const size = enc.input.size;
const x = tidy(() =>
  F.interpolate(
    tensor(
      Float32Array.from(raw.subarray(0, n * 784), (v) => (v / 255) * 2 - 1),
      { shape: [n, 1, 28, 28] },
    ),
    { size, mode: 'bilinear' },
  ),
);
const labels = Array.from(ds.classIds('test').subarray(0, n), (c) => (ds.classes[c] === normal ? 0 : 1));
const run = (d: Anogan, what: string) => {
  const t0 = performance.now();
  const s = d.score(x, { maps: false, batchSize }).scores;
  const ms = (performance.now() - t0) / n;
  console.log(
    `${what}: AUROC ${auroc(s, labels).toFixed(4)} on the first ${n} test images (${labels.filter((l) => l === 0).length} normal), ${ms.toFixed(2)} ms per image (batch ${batchSize})`,
  );
};
run(createAs(enc, 'encoder'), 'f-AnoGAN encoder (one pass)');
run(createAs(enc, 'iterative', iterations), `AnoGAN iterative (${iterations} Adam steps)`);

function createAs(d: Anogan, search: 'encoder' | 'iterative', its?: number): Anogan {
  const o = createDetector('anogan', { ...d.hparams, search, ...(its !== undefined ? { iterations: its } : {}) }) as Anogan;
  o.loadStateDict(d.stateDict());
  return o;
}
