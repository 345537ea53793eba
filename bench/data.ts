/**
 * Data-layer benchmark (`npm run bench:data`).
 *
 * 1. MNIST: the 60,000 training images into one [60000, 1, 28, 28] float32 tensor scaled to
 *    [-1, 1] (IDX already parsed; median of 5, plus the one-off open/parse time).
 * 2. ELPV (../shared/data/elpv): streaming every non-uncertain image at 128x128, batch 64,
 *    through the DataLoader with decoding, cold cache (fresh dataset) then warm cache, in
 *    images/s.
 * Options: --threads N (torch threads, default 2), --repeats N (default 5).
 */
import fs from 'node:fs';
import path from 'node:path';
import { setNumThreads } from '../src/core/index.js';
import { openIdxDataset, openFolder, sourceSplit, labelledSplit, loadSplit, DataLoader, disposeBatch } from '../src/data/index.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
setNumThreads(arg('threads', 2));
const repeats = arg('repeats', 5);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

let t = performance.now();
const mnist = openIdxDataset('mnist');
const split = sourceSplit(mnist, 'train');
const openMs = performance.now() - t;
const times: number[] = [];
for (let r = 0; r < repeats; r++) {
  t = performance.now();
  const b = await loadSplit(split, { transforms: [{ type: 'scale', range: [-1, 1] }] });
  times.push(performance.now() - t);
  if (r === 0) console.log(`mnist: x ${JSON.stringify(b.x.shape)} ${b.x.dtype}`);
  disposeBatch(b);
}
console.log(`mnist: open + parse IDX ${openMs.toFixed(0)} ms; 60,000 images -> tensor: median ${median(times).toFixed(0)} ms (runs: ${times.map((x) => x.toFixed(0)).join(', ')})`);

const elpv = path.resolve('..', 'shared', 'data', 'elpv');
if (!fs.existsSync(path.join(elpv, 'train', 'good'))) {
  console.log(`elpv: skipped (${elpv} not found)`);
} else {
  const ds = openFolder(elpv);
  const all = labelledSplit(ds, { role: 'train' });
  const loader = new DataLoader(all, {
    batchSize: 64,
    seed: 0,
    transforms: [
      { type: 'resize', size: 128 },
      { type: 'scale', range: [-1, 1] },
    ],
  });
  for (const pass of ['cold', 'warm', 'warm']) {
    t = performance.now();
    let n = 0;
    for await (const b of loader) {
      n += b.x.shape[0];
      disposeBatch(b);
    }
    const s = (performance.now() - t) / 1000;
    console.log(
      `elpv: ${pass} cache: ${n} images at 128x128, batch 64, in ${s.toFixed(2)} s = ${(n / s).toFixed(0)} images/s (cache ${(ds.cache.bytes / 2 ** 20).toFixed(1)} MiB)`,
    );
  }
}
