// `anogen train <generator>` is recorded in the run registry like a detector run: model, data,
// protocol, options, steps with their losses, epoch means, the bundle artifact and a finished
// status; --no-registry records nothing and a usage error before the first step leaves no run; a
// run stopped by the loop's stop hook is 'interrupted', and its --resume is a new run linked to
// it that continues the step numbering. A tiny GAN: 16 px, widths 8, 64 MNIST images, batch 16
// (4 steps per epoch), 2 epochs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordGeneratorTrain } from '../../src/runs/record.js';
import { Registry } from '../../src/runs/registry.js';
import { trainGenerator, type GeneratorTrainRequest } from '../../src/pipeline/generate.js';
import { InterruptedError } from '../../src/pipeline/train.js';
import { runCli } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-gen-runs-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const home = path.join(tmp, 'home');
const TINY = ['--data', 'mnist', '--classes', '1', '--train-limit', '64', '--epochs', '2', '--batch-size', '16', '--image-size', '16', '--nz', '8', '--ngf', '8', '--ndf', '8'];

function withRegistry<T>(fn: (reg: Registry) => T): T {
  const reg = Registry.open(home);
  try {
    return fn(reg);
  } finally {
    reg.close();
  }
}

test('anogen train gan records a finished train run with its steps, epochs, bundle and summary', async () => {
  const out = path.join(tmp, 'gan');
  const r = await runCli('train', 'gan', ...TINY, '--threads', '1', '--quiet', '--out', out, '--home', home);
  assert.equal(r.code, 0, r.err);
  withRegistry((reg) => {
    const runs = reg.listRuns();
    assert.equal(runs.length, 1);
    const run = runs[0]!;
    assert.equal(run.kind, 'train');
    assert.equal(run.model, 'gan');
    assert.equal(run.status, 'finished');
    assert.equal(run.data, 'mnist');
    assert.equal(run.seed, 0);
    assert.equal(run.bundle, path.resolve(out));
    assert.deepEqual(run.protocol, { protocol: 'generative', dataset: 'mnist', classes: '1', images: 64 });
    const o = run.options as { generator: string; epochs: number; hparams: Record<string, unknown> };
    assert.equal(o.generator, 'gan');
    assert.equal(o.epochs, 2);
    assert.deepEqual(o.hparams, { nz: 8, ngf: 8, ndf: 8 });
    const steps = reg.steps(run.id);
    assert.deepEqual(
      steps.map((s) => s.index),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    for (const s of steps) for (const k of ['d', 'g']) assert.ok(Number.isFinite(s.values[k]), `step ${s.index}: loss ${k}`);
    assert.deepEqual(
      reg.epochs(run.id).map((e) => e.epoch),
      [1, 2],
    );
    assert.deepEqual(
      reg.artifacts(run.id).map((a) => [a.kind, a.path]),
      [['bundle', path.resolve(out)]],
    );
    assert.equal(run.summary?.['loss.g'], steps[7]!.values.g);
    assert.ok(typeof run.summary?.seconds === 'number');
  });
  const list = await runCli('runs', 'list', '--home', home);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^\s*1\s+train\s+finished\s+gan\s+mnist/m);
});

test('--no-registry records nothing; a usage error before the first step leaves no run', async () => {
  const before = withRegistry((reg) => reg.listRuns().length);
  const off = await runCli('train', 'gan', ...TINY, '--epochs', '1', '--threads', '1', '--quiet', '--out', path.join(tmp, 'off'), '--home', home, '--no-registry');
  assert.equal(off.code, 0, off.err);
  const bad = await runCli('train', 'gan', ...TINY, '--classes', '11', '--quiet', '--out', path.join(tmp, 'bad'), '--home', home);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--classes: '11' is not a class of 'mnist'/);
  assert.equal(
    withRegistry((reg) => reg.listRuns().length),
    before,
  );
});

test('an interrupted generator run is recorded as interrupted; its --resume is a new run linked to it', async () => {
  const out = path.join(tmp, 'resumed');
  const req: GeneratorTrainRequest = {
    generator: 'gan',
    data: { data: 'mnist', classes: ['1'], seed: 0 },
    epochs: 2,
    batchSize: 16,
    trainLimit: 64,
    imageSize: 16,
    out,
    hparams: { nz: 8, ngf: 8, ndf: 8 },
    device: 'cpu',
  };
  let seen = 0;
  await assert.rejects(
    () => recordGeneratorTrain({ home }, req, undefined, (onProgress) => trainGenerator(req, { onProgress: (e) => (onProgress(e), seen++), shouldStop: () => seen >= 3 })),
    InterruptedError,
  );
  const first = withRegistry((reg) => {
    const run = reg.listRuns()[0]!;
    assert.equal(run.model, 'gan');
    assert.equal(run.status, 'interrupted');
    assert.match(run.error ?? '', /checkpoint saved in/);
    assert.equal(reg.steps(run.id).length, 3);
    assert.deepEqual(reg.artifacts(run.id), [], 'no bundle yet');
    return run.id;
  });
  const r = await runCli('train', '--resume', out, '--threads', '1', '--quiet', '--home', home);
  assert.equal(r.code, 0, r.err);
  withRegistry((reg) => {
    const run = reg.listRuns()[0]!;
    assert.notEqual(run.id, first);
    assert.equal(run.model, 'gan');
    assert.equal(run.status, 'finished');
    const o = run.options as { resumedFrom?: string; resumedRun?: number };
    assert.equal(o.resumedFrom, path.resolve(out, 'checkpoint'));
    assert.equal(o.resumedRun, first);
    assert.deepEqual(
      reg.steps(run.id).map((s) => s.index),
      [4, 5, 6, 7, 8],
      'the resumed run continues the step numbering',
    );
    assert.deepEqual(
      reg.artifacts(run.id).map((a) => [a.kind, a.path]),
      [['bundle', path.resolve(out)]],
    );
  });
});
