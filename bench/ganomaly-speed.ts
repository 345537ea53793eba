/**
 * GANomaly speed, anogen vs PyTorch in the same run (bench/ganomaly_torch.py, Debian's
 * python3-torch, same thread count), in alternating rounds; medians over every timed repetition:
 * - score 1 image and a batch of 256 (isize 32, nc 1, nz 100, ngf = ndf = 64): anogen's
 *   `Ganomaly.score(x, { maps: false })` (eval mode, noGrad, tidy, scores read back) vs PyTorch's
 *   eval + no_grad forward of NetG and the score read back as a list; also anogen's bare NetG
 *   forward (noGrad + tidy) to separate the network from the detector's own work;
 * - with --train-steps N: the official training step (batch 64) through Ganomaly.fit vs PyTorch.
 *
 *   node --import tsx bench/ganomaly-speed.ts [--rounds 3] [--reps 5] [--threads 2] [--train-steps 0]
 */
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { manualSeed, noGrad, rand, setNumThreads, tidy, torchVersion, type Tensor } from '../src/core/index.js';
import { Ganomaly } from '../src/detectors/index.js';
import { latentScore } from '../src/detectors/ganomaly/loss.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    reps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    'train-steps': { type: 'string', default: '0' },
  },
});
const [rounds, reps, warmup, threads, trainSteps] = ['rounds', 'reps', 'warmup', 'threads', 'train-steps'].map((k) => Number(o[k as keyof typeof o]));
setNumThreads(threads!);

const median = (a: number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function time(fn: () => void): number[] {
  const ms: number[] = [];
  for (let i = 0; i < warmup! + reps!; i++) {
    const t0 = performance.now();
    fn();
    if (i >= warmup!) ms.push(performance.now() - t0);
  }
  return ms;
}

const d = new Ganomaly({});
manualSeed(0);
d.nets.resetParameters();
d.nets.eval();
const x1 = rand([1, 1, 32, 32]).mul_(2).sub_(1);
const x256 = rand([256, 1, 32, 32]).mul_(2).sub_(1);
const bare = (x: Tensor) => () =>
  noGrad(() =>
    tidy(() => {
      const [, zi, zo] = d.nets.netg.call(x);
      latentScore(zi, zo).toFloat32Array();
    }),
  );

const res: Record<string, { anogen: number[]; torch: number[] }> = {
  score1_ms: { anogen: [], torch: [] },
  score256_ms: { anogen: [], torch: [] },
  netg256_ms: { anogen: [], torch: [] },
  train_ms: { anogen: [], torch: [] },
};
let torchVer = '';
for (let r = 0; r < rounds!; r++) {
  const p = spawnSync(
    '/usr/bin/python3',
    [path.join(here, 'ganomaly_torch.py'), '--reps', String(reps), '--warmup', String(warmup), '--threads', String(threads), '--train-steps', String(r === 0 ? trainSteps : 0)],
    { encoding: 'utf8' },
  );
  if (p.status !== 0) throw new Error(`PyTorch reference failed: ${p.stderr}`);
  const t = JSON.parse(p.stdout.trim().split('\n').pop()!);
  torchVer = t.torch;
  res.score1_ms!.torch.push(...t.score1_ms);
  res.score256_ms!.torch.push(...t.score256_ms);
  res.netg256_ms!.torch.push(...t.score256_ms);
  res.train_ms!.torch.push(...t.train_ms);
  if (r === 0 && trainSteps! > 0) {
    const t2 = new Ganomaly({});
    const xs = rand([64 * (trainSteps! + warmup!), 1, 32, 32])
      .mul_(2)
      .sub_(1);
    let last = 0;
    await t2.fit(
      { images: xs },
      {
        epochs: 1,
        batchSize: 64,
        onProgress: (e) => {
          const now = performance.now();
          if (e.step > warmup!) res.train_ms!.anogen.push(now - last);
          last = now;
        },
      },
    );
    t2.dispose();
    xs.dispose();
  }
  res.score1_ms!.anogen.push(...time(() => d.score(x1, { maps: false })));
  res.score256_ms!.anogen.push(...time(() => d.score(x256, { maps: false })));
  res.netg256_ms!.anogen.push(...time(bare(x256)));
  console.log(`round ${r + 1}/${rounds}: score256 anogen ${median(res.score256_ms!.anogen.slice(-reps!)).toFixed(1)} ms, PyTorch ${median(t.score256_ms).toFixed(1)} ms`);
}
console.log(
  `\nGANomaly (isize 32, nc 1, nz 100, ngf = ndf = 64), ${threads} threads, ${rounds} rounds x ${reps} reps after ${warmup} warm-up; libtorch ${torchVersion()} (anogen) / torch ${torchVer}`,
);
console.log('| metric | anogen median | PyTorch median | anogen / PyTorch |');
console.log('|---|---:|---:|---:|');
const rowsOut: [string, string][] = [
  ['score1_ms', 'score 1 image (ms)'],
  ['score256_ms', 'score 256 images (ms)'],
  ['netg256_ms', 'bare NetG forward + score, 256 (ms)'],
  ['train_ms', 'training step, batch 64 (ms)'],
];
for (const [k, label] of rowsOut) {
  const v = res[k]!;
  if (v.anogen.length === 0 || v.torch.length === 0) continue;
  const a = median(v.anogen);
  const t = median(v.torch);
  console.log(`| ${label} | ${a.toFixed(1)} | ${t.toFixed(1)} | ${(a / t).toFixed(2)} |`);
}
d.dispose();
