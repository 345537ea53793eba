// Exact resume and the divergence guard, end to end through the CLI in child processes:
// a run SIGKILLed at several steps (checkpoints every step) and resumed with --resume ends with
// the same weights as an uninterrupted run; a NaN loss stops with exit 1, a message naming
// epoch, step and loss, and the last checkpoint loadable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadBundle } from '../../src/detectors/index.js';
import { rand } from '../../src/core/index.js';
import '../helpers/nan-ae.js';
import { TINY_GANOMALY } from '../helpers/cli.js';
import { bundleWeights } from '../helpers/weights.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const child = path.join(root, 'test', 'helpers', 'train-child.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-resume-'));
const env = { ...process.env, ANOGEN_DEBUG: '' };
// 96 training images, batch 16: 6 steps per epoch, 3 epochs = 18 steps.
const run = (out: string) => [
  ...['train', 'ganomaly', '--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '7', '--train-limit', '96', '--val-limit', '32'],
  ...['--epochs', '3', '--batch-size', '16', ...TINY_GANOMALY, '--threads', '1', '--out', out],
];

function sync(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, 'cli', ...args], { cwd: root, env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Starts a training child and SIGKILLs it once it has printed `step <killAt>`, after `delayMs`. */
function killedAt(args: string[], killAt: number, delayMs: number): Promise<{ signal: NodeJS.Signals | null; lastStep: number }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, 'cli', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'ignore'] });
    let last = 0;
    let armed = false;
    p.stdout.on('data', (b: Buffer) => {
      for (const m of b.toString().matchAll(/step (\d+)/g)) last = Number(m[1]);
      if (!armed && last >= killAt) {
        armed = true;
        setTimeout(() => p.kill('SIGKILL'), delayMs);
      }
    });
    p.on('exit', (_code, signal) => resolve({ signal, lastStep: last }));
  });
}

test('a run SIGKILLed at several steps and resumed ends with the weights of an uninterrupted run', async () => {
  const ref = path.join(tmp, 'ref');
  const r = sync(run(ref));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /Φ = [\d.]+ \(95th percentile of \d+ validation normals, minmax-normalised\); an image is flagged when its normalised score > Φ/);
  const want = bundleWeights(ref);
  // kill points: early in epoch 1, mid epoch 2 (with a delay that can land inside a checkpoint write), late in epoch 3
  for (const [killAt, delay] of [
    [2, 0],
    [8, 15],
    [16, 40],
  ] as const) {
    const out = path.join(tmp, `k${killAt}`);
    const k = await killedAt([...run(out), '--checkpoint-every', '1'], killAt, delay);
    assert.equal(k.signal, 'SIGKILL', `the run should have been killed at step ${killAt} (it got to step ${k.lastStep})`);
    assert.ok(!fs.existsSync(path.join(out, 'config.json')), 'killed before the final bundle');
    const again = sync(['train', '--resume', out, '--threads', '1']);
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, /resuming .*checkpoint at epoch \d, step \d/);
    const steps = again.out.match(/step (\d+)/g) ?? [];
    assert.ok(steps.length < 18, `resumed from the checkpoint, not from scratch (${steps.length} steps run)`);
    const got = bundleWeights(out);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    let maxDiff = 0;
    for (const [name, w] of want) {
      const g = got.get(name)!;
      for (let i = 0; i < w.length; i++) maxDiff = Math.max(maxDiff, Math.abs(w[i]! - g[i]!));
    }
    assert.ok(maxDiff <= 1e-6, `kill at step ${killAt}: max |weight difference| ${maxDiff}`);
    assert.ok(!fs.existsSync(path.join(out, 'checkpoint')), 'the checkpoint is removed once the run is complete');
  }
});

test('--resume refuses other options, a folder without a checkpoint, and a finished bundle', () => {
  const r = sync(['train', '--resume', path.join(tmp, 'ref'), '--threads', '1']);
  assert.equal(r.code, 2);
  assert.match(r.err, /no training state there/);
  const o = sync(['train', 'ganomaly', '--resume', path.join(tmp, 'ref'), '--lr', '0.1']);
  assert.equal(o.code, 2);
  assert.match(o.err, /--resume continues a run as it was started; only --epochs/);
});

test('a NaN loss stops training: exit 1, epoch/step/loss named, the last checkpoint loadable', () => {
  const out = path.join(tmp, 'nan');
  // 6 steps per epoch: the loss of global step 9 (epoch 2, step 3) is NaN
  const r = sync(['train', 'nan-ae', '--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '1', '--train-limit', '96', '--val-limit', '32', '--nan-at', '9', '--out', out]);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /training diverged: loss 'rec' is NaN at epoch 2, step 3; the last good checkpoint is kept/);
  assert.ok(!fs.existsSync(path.join(out, 'config.json')), 'no final bundle');
  const b = loadBundle(path.join(out, 'checkpoint'));
  assert.equal((b.config.training as { checkpoint: { epoch: number } }).checkpoint.epoch, 1);
  for (const [, t] of b.detector.stateDict()) assert.ok(t.isfinite().all().item(), 'finite weights in the checkpoint');
  const s = b.detector.score(rand([2, 1, 16, 16]).mul_(2).sub_(1));
  assert.ok(s.scores.every(Number.isFinite), 'the checkpoint scores');
  b.detector.dispose();
});
