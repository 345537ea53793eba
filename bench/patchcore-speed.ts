/**
 * PatchCore speed, anogen vs PyTorch in the same run (bench/patchcore_torch.py, Debian's
 * python3-torch and python3-torchvision, same thread count), in alternating rounds (PyTorch, then
 * anogen); medians over every timed repetition. Each workload times fit (the bank from the
 * training images: anogen's `Patchcore.fit`) and score (the test images' scores: anogen's
 * `score(x, { maps: false })`, PyTorch's scores read back as a list) separately; both sides compute
 * in float64 (anogen's bank and distances are float64) on the same seeded random images in
 * [-1, 1] (written to a temporary folder as raw float32 for PyTorch; speed does not depend on the
 * content):
 * - `pixels-aware`: ELPV-like gray 64 x 64 images, 1,018 training and 1,198 test (--test-images),
 *   8 x 8 pixel patches at stride 4 (225 positions), one bank per position, coreset 1;
 * - `pixels-coreset`: the same images, one bank of every patch (229,050 x 64) cut to 1 % (2,291
 *   patches) by the greedy k-center coreset (no projection: D = 64 < 128; the seeded start
 *   patch of anogen is passed to PyTorch), then the nearest kept patch;
 * - `resnet18-maps`: 64 training and 64 test gray 32 x 32 images, `features: 'backbone'` with
 *   resnet18 formula weights (test/detectors/backbone-formula.ts, saved as safetensors in the
 *   temporary folder; PyTorch builds the same ones with scripts/make_resnet_fixture.py) at
 *   backbone size 128, layer2 + layer3, 3 x 3 neighbourhood, one bank (16,384 x 384), coreset 1.
 * The scores of the first round are compared (largest |anogen - PyTorch| / |PyTorch| over the
 * images); above 1e-3 the run stops with exit code 1.
 *
 *   nice -n 10 node --import tsx bench/patchcore-speed.ts [--rounds 3] [--reps 3] [--warmup 1] [--threads 1]
 *     [--workloads pixels-aware,pixels-coreset,resnet18-maps] [--test-images 1198]
 *
 * One round with the defaults takes several minutes on a 2-core machine (pixels-coreset's fit alone
 * is 40-70 s a repetition per side, resnet18-maps' score 20-30 s); the run in
 * bench/results/patchcore-speed-2026-11-30.txt (about 10 minutes) was
 *
 *   nice -n 10 node --import tsx bench/patchcore-speed.ts --threads 1 --rounds 3 --reps 1 --warmup 0 --test-images 400
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { AnogenError, manualSeed, rand, setNumThreads, torchVersion, type Tensor } from '../src/core/index.js';
import { Patchcore, type PatchcoreHParams } from '../src/detectors/index.js';
import { mulberry32 } from '../src/data/random.js';
import { saveSafetensors } from '../src/nn/safetensors.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { formulaStateDict } from '../test/detectors/backbone-formula.js';

/** The workloads, in the order they run and are tabulated. */
const WORKLOADS = ['pixels-aware', 'pixels-coreset', 'resnet18-maps'] as const;
type Workload = (typeof WORKLOADS)[number];
/** Largest accepted relative score difference between the two sides. */
const TOLERANCE = 1e-3;

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
  options: {
    /** Alternating rounds (default 3). */
    rounds: { type: 'string', default: '3' },
    /** Timed repetitions per round, side and workload (default 3). */
    reps: { type: 'string', default: '3' },
    /** Untimed repetitions before them (default 1). */
    warmup: { type: 'string', default: '1' },
    /** Intra-op threads on both sides (default 1). */
    threads: { type: 'string', default: '1' },
    /** Comma list of workloads (default all three). */
    workloads: { type: 'string', default: WORKLOADS.join(',') },
    /** Test images of the two pixel workloads (default 1,198, ELPV's test set). */
    'test-images': { type: 'string', default: '1198' },
  },
});
const int = (k: keyof typeof o, min: number): number => {
  const v = Number(o[k]);
  if (!Number.isInteger(v) || v < min) throw new AnogenError(`--${k}: ${JSON.stringify(o[k])} is not valid; expected an integer >= ${min}`);
  return v;
};
const [rounds, reps, warmup, threads, testImages] = [int('rounds', 1), int('reps', 1), int('warmup', 0), int('threads', 1), int('test-images', 1)];
const workloads = (o.workloads as string).split(',').map((w) => w.trim());
for (const w of workloads) {
  if (!(WORKLOADS as readonly string[]).includes(w)) throw new AnogenError(`--workloads: ${JSON.stringify(w)} is not a workload; valid: ${WORKLOADS.join(', ')}`);
}
const chosen = WORKLOADS.filter((w) => workloads.includes(w));
setNumThreads(threads);

const median = (a: number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// the images (seeded, uniform in [-1, 1]) and the formula weights, shared with PyTorch through a temporary folder
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-patchcore-speed-'));
const images = (name: string, n: number, size: number): Tensor => {
  const x = rand([n, 1, size, size]).mul_(2).sub_(1);
  writeFileAtomic(path.join(tmp, `${name}.f32`), new Uint8Array(x.toFloat32Array().buffer));
  return x;
};
manualSeed(0);
const data = {
  pixelsTrain: images('pixels-train', 1018, 64),
  pixelsTest: images('pixels-test', testImages, 64),
  resnetTrain: images('resnet-train', 64, 32),
  resnetTest: images('resnet-test', 64, 32),
};
const weights = path.join(tmp, 'resnet18-formula.safetensors');
const sd = formulaStateDict('resnet18');
saveSafetensors(weights, sd);
for (const t of sd.values()) t.dispose();

/** anogen's detector, training and test images of a workload. */
const setups: Record<Workload, () => { h: Partial<PatchcoreHParams>; train: Tensor; test: Tensor }> = {
  'pixels-aware': () => ({ h: { isize: 64, patchSize: 8, patchStride: 4, positionAware: true, coreset: 1 }, train: data.pixelsTrain, test: data.pixelsTest }),
  'pixels-coreset': () => ({ h: { isize: 64, patchSize: 8, patchStride: 4, positionAware: false, coreset: 0.01, coresetSeed: 0 }, train: data.pixelsTrain, test: data.pixelsTest }),
  'resnet18-maps': () => ({
    h: { isize: 32, features: 'backbone', backboneWeights: weights, backboneSize: 128, backboneLayers: 'layer2,layer3', neighbourhood: 3, coreset: 1 },
    train: data.resnetTrain,
    test: data.resnetTest,
  }),
};
// anogen's coreset start without a projection (D = 64 < coresetDims 128): the first draw of mulberry32(coresetSeed) over the bank's patches
const coresetStart = Math.floor(mulberry32(0)() * 1018 * 225);

type Times = { fit: number[]; score: number[] };
const res = Object.fromEntries(chosen.map((w) => [w, { anogen: { fit: [], score: [] } as Times, torch: { fit: [], score: [] } as Times }])) as Record<
  Workload,
  { anogen: Times; torch: Times }
>;
const banks: Partial<Record<Workload, string>> = {};
let torchVer = '';

try {
  for (let r = 0; r < rounds; r++) {
    const args = [path.join(here, 'patchcore_torch.py'), '--data', tmp, '--workloads', chosen.join(','), '--reps', String(reps), '--warmup', String(warmup)];
    args.push('--threads', String(threads), '--coreset-start', String(coresetStart), ...(r === 0 ? ['--scores'] : []));
    const p = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (p.status !== 0) throw new Error(`PyTorch reference failed (exit ${p.status}): ${p.stderr}`);
    const t = JSON.parse(p.stdout.trim().split('\n').pop()!) as {
      torch: string;
      threads: number;
      times: Record<Workload, Times>;
      scores: Record<Workload, number[]>;
      bank: Record<Workload, number[]>;
    };
    torchVer = t.torch;
    const line: string[] = [];
    for (const w of chosen) {
      res[w].torch.fit.push(...t.times[w].fit);
      res[w].torch.score.push(...t.times[w].score);
      const { h, train, test } = setups[w]();
      const d = new Patchcore(h);
      const a: Times = { fit: [], score: [] };
      try {
        for (let i = 0; i < warmup + reps; i++) {
          const t0 = performance.now();
          await d.fit({ images: train });
          const t1 = performance.now();
          const { scores } = d.score(test, { maps: false });
          const t2 = performance.now();
          if (i < warmup) continue;
          a.fit.push((t1 - t0) / 1000);
          a.score.push((t2 - t1) / 1000);
          if (r === 0 && i === warmup) {
            const ref = t.scores[w];
            if (ref.length !== scores.length) throw new Error(`${w}: PyTorch gave ${ref.length} scores, anogen ${scores.length}`);
            let worst = 0;
            for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(scores[j]! - ref[j]!) / Math.max(Math.abs(ref[j]!), 1e-12));
            const b = d.bankShape!;
            banks[w] = `${b.banks} x ${b.patches} x ${b.dim}`;
            console.log(
              `${w}: ${scores.length} scores, max |anogen - PyTorch| / |PyTorch| = ${worst.toExponential(2)}; bank anogen ${banks[w]}, PyTorch ${t.bank[w]!.join(' x ')}`,
            );
            if (!(worst <= TOLERANCE)) {
              throw new Error(`FAIL: ${w}: anogen and PyTorch scores differ by ${worst.toExponential(2)} relative (> ${TOLERANCE}): they do not compute the same thing`);
            }
          }
        }
      } finally {
        d.dispose();
      }
      res[w].anogen.fit.push(...a.fit);
      res[w].anogen.score.push(...a.score);
      line.push(`${w} fit ${median(a.fit).toFixed(3)} / ${median(t.times[w].fit).toFixed(3)} s, score ${median(a.score).toFixed(3)} / ${median(t.times[w].score).toFixed(3)} s`);
    }
    console.log(`round ${r + 1}/${rounds} (anogen / PyTorch medians): ${line.join('; ')}`);
  }

  console.log(
    `\nPatchCore, float64 banks and distances, ${threads} thread(s), ${rounds} rounds x ${reps} reps after ${warmup} warm-up; pixel workloads: 1,018 training and ${testImages} test images at 64 px; resnet18-maps: 64 + 64 images at 32 px; libtorch ${torchVersion()} (anogen) / torch ${torchVer}`,
  );
  console.log('| workload | phase | anogen median s | PyTorch median s | anogen / PyTorch |');
  console.log('|---|---|---:|---:|---:|');
  for (const w of chosen) {
    for (const ph of ['fit', 'score'] as const) {
      const a = median(res[w].anogen[ph]);
      const t = median(res[w].torch[ph]);
      console.log(`| ${w} (bank ${banks[w] ?? '?'}) | ${ph} | ${a.toFixed(3)} | ${t.toFixed(3)} | ${(a / t).toFixed(2)} |`);
    }
  }
} finally {
  for (const x of Object.values(data)) x.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
}
