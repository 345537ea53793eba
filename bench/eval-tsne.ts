/**
 * t-SNE speed and quality on MNIST test images (raw pixels): N points (default 2000), 1000
 * iterations, then the 1-NN label agreement in the 2-D embedding.
 * Run: ANOGEN_NUM_THREADS=1 npx tsx bench/eval-tsne.ts [N]
 */
import path from 'node:path';
import { readIdx } from '../src/data/idx.js';
import { mnistDir } from '../src/data/idx-dataset.js';
import { setNumThreads } from '../src/core/runtime.js';
import { tsne } from '../src/eval/tsne.js';

setNumThreads(Number(process.env.ANOGEN_NUM_THREADS ?? 1));
const n = Number(process.argv[2] ?? 2000);
const im = readIdx(path.join(mnistDir(), 't10k-images-idx3-ubyte'));
const lb = readIdx(path.join(mnistDir(), 't10k-labels-idx1-ubyte'));
const rows = Array.from({ length: n }, (_, i) => Float32Array.from(im.data.subarray(i * 784, (i + 1) * 784) as Uint8Array, (v) => v / 255));
const t0 = performance.now();
const c0 = process.cpuUsage();
const r = tsne(rows, { seed: 0 });
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
let agree = 0;
for (let i = 0; i < n; i++) {
  let best = Infinity,
    bj = 0;
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    const d = (r.coords[2 * i]! - r.coords[2 * j]!) ** 2 + (r.coords[2 * i + 1]! - r.coords[2 * j + 1]!) ** 2;
    if (d < best) {
      best = d;
      bj = j;
    }
  }
  if (lb.data[bj] === lb.data[i]) agree++;
}
console.log(
  `t-SNE of ${n} MNIST test images (784-D): ${(ms / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU, KL ${r.kl.toFixed(3)}, 1-NN label agreement in 2-D ${(agree / n).toFixed(3)}`,
);
