// Crash safety: a real `anogen train` child SIGKILLed mid-training stays 'running' in the
// registry until the next Registry.open marks it failed; the steps it recorded are kept, the
// database passes PRAGMA integrity_check, other runs are untouched; `train --resume` of its
// checkpoint is a new run pointing back at it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Registry, resolveHome, DB_FILE } from '../../src/runs/registry.js';
import { runCli } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const child = path.join(root, 'test', 'helpers', 'train-child.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-crash-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// 160 training images, batch 16: 10 steps per epoch; far more epochs than the test lets it run
const STEPS_PER_EPOCH = 10;
const train = (out: string) => [
  ...['train', 'ae', '--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '1', '--train-limit', '160', '--val-limit', '16', '--epochs', '50', '--batch-size', '16'],
  ...['--image-size', '16', '--nz', '8', '--ngf', '8', '--hidden', '16', '--threads', '1', '--checkpoint-every', '1', '--out', out],
];

test('a training run killed with SIGKILL is marked failed at the next open; its steps and every other run are kept', async () => {
  const home = resolveHome();
  assert.ok(home.startsWith(os.tmpdir()), 'a private registry');
  // other runs: one finished with steps, one running in this (live) process
  const reg0 = Registry.open();
  const done = reg0.startRun({ kind: 'train', model: 'vae', data: 'mnist' });
  reg0.addSteps(done, [{ epoch: 1, step: 1, t: 1, values: { loss: 1 } }]);
  reg0.finishRun(done, 'finished', { summary: { 'loss.loss': 1 } });
  const live = reg0.startRun({ kind: 'eval', model: 'ae' });
  const before = { done: reg0.getRun(done), live: reg0.getRun(live) };
  reg0.close();

  const out = path.join(tmp, 'ae');
  const p = spawn(process.execPath, ['--import', 'tsx', child, 'cli', ...train(out)], { cwd: root, env: { ...process.env, ANOGEN_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = 0;
  let err = '';
  p.stdout.on('data', (b: Buffer) => {
    for (const m of b.toString().matchAll(/step (\d+)/g)) printed = Number(m[1]);
  });
  p.stderr.on('data', (b: Buffer) => void (err += b.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => p.on('exit', (_c, signal) => resolve(signal)));
  // wait until the registry (read by a separate, read-only connection) shows steps of the child's run
  const db = new Database(path.join(home, DB_FILE), { readonly: true });
  let runId = 0;
  let seen = 0;
  const deadline = Date.now() + 60_000;
  while (seen < 3) {
    assert.ok(Date.now() < deadline && p.exitCode === null, `the child recorded no steps (exit ${p.exitCode}): ${err}`);
    await new Promise((r) => setTimeout(r, 50));
    const row = db.prepare("SELECT id FROM runs WHERE kind = 'train' AND pid = ? ORDER BY id DESC LIMIT 1").get(p.pid) as { id: number } | undefined;
    if (row === undefined) continue;
    runId = row.id;
    seen = (db.prepare('SELECT COUNT(*) AS n FROM steps WHERE run_id = ?').get(runId) as { n: number }).n;
  }
  assert.equal((db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string }).status, 'running');
  p.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  db.close();

  const reg = Registry.open();
  try {
    const run = reg.getRun(runId)!;
    assert.equal(run.status, 'failed');
    assert.match(run.error!, new RegExp(`^no heartbeat since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(process ${p.pid} gone\\)$`));
    assert.ok(run.finishedAt !== null);
    const steps = reg.steps(runId);
    assert.ok(steps.length >= seen, `steps recorded before the kill are kept (${steps.length} >= ${seen})`);
    assert.ok(steps.length <= printed, `no step recorded that did not run (${steps.length} <= ${printed})`);
    assert.deepEqual(
      steps.map((s) => s.index),
      steps.map((_, i) => i + 1),
      'steps 1..n, none lost in between',
    );
    assert.equal(reg.integrityCheck(), 'ok');
    assert.deepEqual(reg.getRun(done), before.done, 'a finished run is untouched');
    assert.deepEqual(reg.steps(done).length, 1);
    assert.deepEqual(reg.getRun(live), before.live, 'a running run of a live process is untouched');
    reg.finishRun(live, 'finished');
  } finally {
    reg.close();
  }

  // resuming the checkpoint is a new run that points back at the killed one
  // to the end of the epoch after the checkpoint's step
  const ck = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint', 'train-state.json'), 'utf8')) as { epoch: number; step: number };
  const epochs = ck.step >= STEPS_PER_EPOCH ? ck.epoch + 1 : ck.epoch;
  const r = await runCli('train', '--resume', out, '--epochs', String(epochs), '--checkpoint-every', '0', '--threads', '1', '--quiet');
  assert.equal(r.code, 0, r.err);
  const reg2 = Registry.open();
  try {
    const resumed = reg2.listRuns({ kind: 'train', limit: 1 })[0]!;
    assert.notEqual(resumed.id, runId);
    assert.equal(resumed.status, 'finished');
    assert.equal(resumed.options.resumedFrom, path.resolve(out, 'checkpoint'));
    assert.equal(resumed.options.resumedRun, runId);
    const steps = reg2.steps(resumed.id);
    assert.ok(steps.length > 0);
    assert.equal(steps[0]!.index, (ck.epoch - 1) * STEPS_PER_EPOCH + ck.step + 1, 'global step numbers continue after the checkpoint');
    assert.equal(steps[steps.length - 1]!.index, epochs * STEPS_PER_EPOCH);
    assert.equal(reg2.getRun(runId)!.status, 'failed');
  } finally {
    reg2.close();
  }
});
