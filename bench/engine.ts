/**
 * Engine benchmark (issue 2): trains the GANomaly networks of the official code (isize 32, nc 1,
 * nz 100, ngf = ndf = 64, batch 64, Adam 2e-4 beta1 0.5, the official generator then
 * discriminator updates) for N steps in anogen and, in the same run, in PyTorch
 * (bench/engine_torch.py with Debian's python3-torch, same thread count), in alternating
 * rounds. Prints ms/step (median) of each, the ratio anogen/PyTorch and peak resident memory.
 *
 *   npm run bench:engine -- [--steps 10] [--rounds 3] [--threads 2] [--python /usr/bin/python3]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { manualSeed, setNumThreads, getNumThreads, rand, stack, tidy, torchVersion, noGrad } from '../src/core/index.js';
import { GanomalyNetworks } from '../src/detectors/ganomaly/network.js';
import { ganomalyProcess } from '../src/detectors/ganomaly/step.js';
import { TensorSource } from '../src/train/source.js';

const { values: o } = parseArgs({
  options: {
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    batch: { type: 'string', default: '64' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const steps = Number(o.steps);
const warmup = Number(o.warmup);
const rounds = Number(o.rounds);
const threads = Number(o.threads);
const batch = Number(o.batch);
const [isize, nc, nz, ngf] = [32, 1, 100, 64];

function anogenRun(): { ms: number[]; rss: number } {
  manualSeed(0);
  // The real GANomaly training process (src/detectors/ganomaly/step.ts), as src/train's loop runs it.
  const nets = new GanomalyNetworks({ isize, nz, nc, ngf, ndf: ngf, extraLayers: 0 });
  const x = rand([batch, nc, isize, isize]).mul_(2).sub_(1);
  const proc = ganomalyProcess(
    nets,
    { weights: { wAdv: 1, wCon: 50, wEnc: 1 }, beta1: 0.5, beta2: 0.999, bnRecalibration: false },
    { fresh: true, lr: 2e-4, batchSize: batch, source: new TensorSource(x), device: 'cpu' },
  );
  const ms: number[] = [];
  let peak = 0;
  for (let step = 0; step < warmup + steps; step++) {
    const t0 = performance.now();
    const ctx = { epoch: 1, step: step + 1, globalStep: step, device: 'cpu' as const };
    const losses = tidy(() => {
      const out = proc.step(x, ctx);
      const names = Object.keys(out.losses);
      const v = noGrad(() => stack(names.map((k) => out.losses[k]!.detach().reshape([]))).toFloat32Array());
      out.update();
      return Object.fromEntries(names.map((k, i) => [k, v[i]!]));
    });
    proc.afterStep?.(losses, ctx);
    if (step >= warmup) ms.push(performance.now() - t0);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  proc.dispose();
  nets.dispose();
  x.dispose();
  return { ms, rss: peak / 2 ** 20 };
}

function torchRun(): { ms: number[]; rss: number; version: string } {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'engine_torch.py');
  const r = spawnSync(o.python!, [script, '--steps', String(steps), '--warmup', String(warmup), '--threads', String(threads), '--batch', String(batch)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`PyTorch reference failed (${o.python}): ${r.stderr || r.error}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return { ms: j.ms_per_step, rss: j.peak_rss_mb, version: j.torch };
}

const median = (a: number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

setNumThreads(threads);
const torchMs: number[] = [];
const anoMs: number[] = [];
let torchRss = 0;
let anoRss = 0;
let torchVer = '';
for (let r = 0; r < rounds; r++) {
  const t = torchRun();
  torchMs.push(...t.ms);
  torchRss = Math.max(torchRss, t.rss);
  torchVer = t.version;
  const a = anogenRun();
  anoMs.push(...a.ms);
  anoRss = Math.max(anoRss, a.rss);
  console.log(`round ${r + 1}/${rounds}: PyTorch ${median(t.ms).toFixed(1)} ms/step, anogen ${median(a.ms).toFixed(1)} ms/step`);
}
const tm = median(torchMs);
const am = median(anoMs);
console.log(
  `\nGANomaly training step (isize ${isize}, nc ${nc}, nz ${nz}, ngf=ndf ${ngf}, batch ${batch}), ${threads} threads (anogen reports ${getNumThreads()}), ${rounds} rounds x ${steps} steps after ${warmup} warm-up`,
);
console.log(`libtorch ${torchVersion()} (anogen) / torch ${torchVer} (PyTorch)`);
console.log('| engine  | median ms/step | peak RSS MB |');
console.log('|---------|---------------:|------------:|');
console.log(`| PyTorch | ${tm.toFixed(1)} | ${torchRss.toFixed(0)} |`);
console.log(`| anogen  | ${am.toFixed(1)} | ${anoRss.toFixed(0)} |`);
console.log(`ratio anogen/PyTorch: ${(am / tm).toFixed(3)}`);
