/**
 * GANomaly speed in anogen vs PyTorch in the same run: training images/s (isize 32, nc 1,
 * nz 100, ngf = ndf = 64, batch 64) and scoring latency for 1 image and a batch of 256.
 *
 *   node --import tsx bench/ganomaly_speed.ts [--steps 10] [--threads 2]
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { rand, setNumThreads, manualSeed } from '../src/core/index.js';
import { Ganomaly } from '../src/detectors/index.js';

const args = process.argv.slice(2);
const opt = (n: string, d: string) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const steps = Number(opt('steps', '10'));
const threads = Number(opt('threads', '2'));
const reps = 5;
setNumThreads(threads);
manualSeed(0);

async function anogen() {
  const d = new Ganomaly({});
  const bs = 64;
  const x = rand([bs * (steps + 2), 1, 32, 32]).mul(2).sub(1);
  let t = 0;
  let last = performance.now();
  await d.fit({ images: x }, {
    epochs: 1,
    batchSize: bs,
    onProgress: (e) => {
      const now = performance.now();
      if (e.step > 2) t += now - last; // 2 warm-up steps
      last = now;
    },
  });
  const res: Record<string, number> = { train_images_per_s: (steps * bs) / (t / 1000) };
  for (const n of [1, 256]) {
    const xb = rand([n, 1, 32, 32]).mul(2).sub(1);
    d.score(xb, { maps: false });
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) d.score(xb, { maps: false });
    res[`score${n}_ms`] = (performance.now() - t0) / reps;
  }
  d.dispose();
  return res;
}

const a = await anogen();
const py = spawnSync('/usr/bin/python3', [path.join(import.meta.dirname, 'ganomaly_torch.py'), '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8' });
if (py.status !== 0) throw new Error(py.stderr);
const p = JSON.parse(py.stdout.trim().split('\n').pop()!) as Record<string, number>;
console.log(`threads ${threads}, ${steps} timed steps of batch 64 (isize 32, ngf=ndf=64)`);
console.log(`${'metric'.padEnd(22)}${'anogen'.padStart(10)}${'PyTorch'.padStart(10)}${'anogen/PyTorch'.padStart(16)}`);
for (const k of ['train_images_per_s', 'score1_ms', 'score256_ms']) {
  console.log(`${k.padEnd(22)}${a[k].toFixed(2).padStart(10)}${p[k].toFixed(2).padStart(10)}${(a[k] / p[k]).toFixed(2).padStart(16)}`);
}
