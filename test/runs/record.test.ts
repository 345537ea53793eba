// The recording wrappers without training: eval-data and parent links, step buffering and epoch
// means, failures and interruptions, a registry that breaks mid-run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordBenchmark, recordEval, recordGenerativeBenchmark, recordTrain, RunRecorder } from '../../src/runs/record.js';
import type { BenchmarkRequest, BenchmarkTable } from '../../src/pipeline/benchmark.js';
import type { GenerativeBenchmarkRequest, GenerativeBenchmarkTable } from '../../src/pipeline/generative-benchmark.js';
import { Registry } from '../../src/runs/registry.js';
import type { EvalResults } from '../../src/pipeline/types.js';
import type { TrainResult } from '../../src/pipeline/train.js';
import type { ProgressEvent } from '../../src/train/loop.js';
import { AnogenError } from '../../src/core/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-record-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ev = (epoch: number, step: number, g: number): ProgressEvent => ({
  epoch,
  epochs: 2,
  step,
  stepsPerEpoch: 3,
  losses: { g, d: 2 * g },
  imagesPerSecond: 1,
  etaSeconds: 1,
  stepMs: 1,
});

test('recordEval: results, scores, report and eval-data artifacts, an Evaluation with dataPath, parent = the train run of the bundle', async () => {
  const home = path.join(tmp, 'h1');
  const bundle = path.join(tmp, 'b1');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ detector: 'ae', protocol: { options: { data: 'mnist', seed: 4 } } }));
  // a train run that made the bundle
  const tr = await recordTrain({ home }, { detector: 'ae', data: { data: 'mnist', seed: 4 } as never, valLimit: 1, out: bundle, hparams: {} }, undefined, async (onProgress) => {
    for (const [e, s, g] of [
      [1, 1, 3],
      [1, 2, 2],
      [1, 3, 1],
      [2, 1, 5],
    ] as const)
      onProgress(ev(e, s, g));
    return { out: bundle, report: { seconds: 1.5 }, meta: { protocol: { dataset: 'mnist' } } } as unknown as TrainResult;
  });
  assert.equal(tr.out, bundle);
  const files = ['results.json', 'scores.csv', 'report.html', 'eval-data.json'].map((f) => path.join(bundle, f));
  for (const f of files) fs.writeFileSync(f, '{}');
  const results = {
    detector: 'ae',
    protocol: { dataset: 'mnist' },
    threshold: 0.5,
    seconds: 2,
    metrics: { auroc: 0.75, auprc: 0.5, fpr95: 0.25, bestF1: { f1: 0.6 }, atThreshold: { f1: 0.4 } },
  };
  await recordEval({ home }, { bundle, json: files[0]!, csv: files[1]!, report: files[2]!, floors: false, dataJson: files[3]! }, async () => ({
    results: results as unknown as EvalResults,
    report: files[2]!,
    data: files[3]!,
  }));
  const reg = Registry.open(home);
  try {
    const [e, t] = reg.listRuns();
    assert.equal(t!.kind, 'train');
    assert.deepEqual(t!.protocol, { dataset: 'mnist' });
    assert.deepEqual(t!.summary, { 'loss.g': 5, 'loss.d': 10, seconds: 1.5 });
    assert.deepEqual(reg.epochs(t!.id), [
      { epoch: 1, values: { g: 2, d: 4 } },
      { epoch: 2, values: { g: 5, d: 10 } },
    ]);
    assert.deepEqual(
      reg.steps(t!.id).map((s) => s.index),
      [1, 2, 3, 4],
    );
    assert.equal(e!.kind, 'eval');
    assert.equal(e!.parentId, t!.id);
    assert.equal(e!.data, 'mnist');
    assert.equal(e!.seed, 4);
    assert.deepEqual(e!.summary, { auroc: 0.75, auprc: 0.5, bestF1: 0.6, fpr95: 0.25, threshold: 0.5, seconds: 2, f1: 0.4 });
    assert.deepEqual(
      reg.artifacts(e!.id).map((a) => [a.kind, a.path]),
      [
        ['results', files[0]],
        ['scores', files[1]],
        ['report', files[2]],
        ['eval-data', files[3]],
      ],
    );
    assert.deepEqual(reg.evaluations(e!.id)[0]!.dataPath, files[3]);
    assert.deepEqual(reg.evaluations(e!.id)[0]!.results, results);
  } finally {
    reg.close();
  }
});

test('a failing or interrupted run is recorded so, the error rethrown; a registry broken mid-run warns once', async () => {
  const home = path.join(tmp, 'h2');
  const req = { detector: 'ae', data: { data: 'mnist', seed: 0 } as never, valLimit: 1, out: path.join(tmp, 'b2'), hparams: {} };
  await assert.rejects(
    recordTrain({ home }, req, undefined, async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  const stop = Object.assign(new Error('interrupted at epoch 1'), { name: 'InterruptedError' });
  await assert.rejects(
    recordTrain({ home }, req, undefined, async (onProgress) => {
      onProgress(ev(1, 1, 1));
      throw stop;
    }),
  );
  const reg = Registry.open(home);
  const [i, f] = reg.listRuns();
  assert.deepEqual([f!.status, f!.error], ['failed', 'boom']);
  assert.deepEqual([i!.status, i!.error], ['interrupted', 'interrupted at epoch 1']);
  assert.equal(reg.steps(i!.id).length, 1, 'steps before the interruption kept');
  reg.close();
  // the database file disappears under a running recorder: one warning, the run goes on
  const home3 = path.join(tmp, 'h3');
  const lines: string[] = [];
  const rec = RunRecorder.start({ home: home3, warn: (l) => lines.push(l) }, { kind: 'train' });
  assert.notEqual(rec.runId, null);
  rec.registry!.close();
  rec.onProgress(ev(1, 1, 1));
  rec.onProgress(ev(1, 2, 1));
  rec.flush();
  rec.finish('finished');
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /^anogen: warning: run registry: .*; this run is not recorded/);
  assert.equal(rec.runId, null);
});

test('a usage error before the first step leaves no run; one after a step is kept as failed', async () => {
  const home = path.join(tmp, 'h-usage');
  const req = { detector: 'ae', data: { data: 'mnist', seed: 0 } as never, valLimit: 1, out: path.join(tmp, 'b-usage'), hparams: {} };
  await assert.rejects(
    recordTrain({ home }, req, undefined, async () => {
      throw new AnogenError('--protocol is required');
    }),
    /--protocol is required/,
  );
  let reg = Registry.open(home);
  assert.deepEqual(reg.listRuns(), [], 'a refused command is not a run');
  reg.close();
  await assert.rejects(
    recordTrain({ home }, req, undefined, async (onProgress) => {
      onProgress(ev(1, 1, 1));
      throw new AnogenError('image 7 is truncated');
    }),
  );
  reg = Registry.open(home);
  const runs = reg.listRuns();
  assert.deepEqual(
    runs.map((r) => [r.status, r.error]),
    [['failed', 'image 7 is truncated']],
  );
  reg.close();
});

test('disabled: nothing is opened or written', async () => {
  const home = path.join(tmp, 'h4');
  const rec = RunRecorder.start({ home, disabled: true }, { kind: 'eval' });
  rec.onProgress(ev(1, 1, 1));
  rec.finish('finished');
  assert.equal(rec.runId, null);
  assert.ok(!fs.existsSync(home));
});

/** A benchmark folder tmp/name with an empty benchmark.json and benchmark.md. */
function tableFiles(name: string): { out: string; files: { json: string; md: string } } {
  const out = path.join(tmp, name);
  fs.mkdirSync(out);
  const files = { json: path.join(out, 'benchmark.json'), md: path.join(out, 'benchmark.md') };
  fs.writeFileSync(files.json, '{}');
  fs.writeFileSync(files.md, '');
  return { out, files };
}

test('recordBenchmark: one benchmark run, its two files as artifacts, the best cell AUROC in the summary', async () => {
  const home = path.join(tmp, 'h5');
  const { out, files } = tableFiles('bench');
  const cells = [
    { status: 'done', auroc: 0.7, auprc: 0.6 },
    { status: 'done', auroc: 0.9, auprc: 0.8 },
    { status: 'failed', auroc: NaN, auprc: NaN },
  ];
  const req = { detectors: ['ae', 'vae'], data: ['mnist'], protocol: 'one-vs-rest', out } as unknown as BenchmarkRequest;
  await recordBenchmark({ home }, req, files, async () => ({ cells }) as unknown as BenchmarkTable);
  const reg = Registry.open(home);
  try {
    const [b] = reg.listRuns();
    assert.equal(reg.listRuns().length, 1);
    assert.deepEqual([b!.kind, b!.status, b!.model, b!.data], ['benchmark', 'finished', 'ae,vae', 'mnist']);
    assert.equal(b!.summary.auroc, 0.9);
    assert.equal(b!.summary.auprc, 0.8);
    assert.equal(b!.summary.failedCells, 1);
    assert.deepEqual(
      reg.artifacts(b!.id).map((a) => [a.kind, a.path]),
      [
        ['benchmark', files.json],
        ['benchmark', files.md],
      ],
    );
    assert.deepEqual(
      reg.listRuns({ model: 'vae' }).map((r) => r.id),
      [b!.id],
      'a benchmark matches each of its detectors',
    );
  } finally {
    reg.close();
  }
});

test('recordGenerativeBenchmark: one benchmark run of the generator rows, the two files, the lowest Fréchet distance in the summary', async () => {
  const home = path.join(tmp, 'h6');
  const { out, files } = tableFiles('genbench');
  const cells = [
    { model: 'gan', status: 'done', frechetDistance: 800, classifierScore: 1.8, modes: 10 },
    { model: 'gan@minimax', status: 'done', frechetDistance: 600, classifierScore: 1.4, modes: 9 },
    { model: 'wgan', status: 'failed' },
  ];
  const req = { models: ['gan', 'gan@minimax', 'wgan'], data: ['mnist'], seeds: [0], out } as unknown as GenerativeBenchmarkRequest;
  await recordGenerativeBenchmark({ home }, req, files, async () => ({ cells }) as unknown as GenerativeBenchmarkTable);
  const reg = Registry.open(home);
  try {
    const runs = reg.listRuns();
    assert.equal(runs.length, 1);
    const b = runs[0]!;
    assert.deepEqual([b.kind, b.status, b.model, b.data, b.seed], ['benchmark', 'finished', 'gan,gan@minimax,wgan', 'mnist', 0]);
    const { seconds, ...summary } = b.summary;
    assert.ok(Number.isFinite(seconds));
    assert.deepEqual(summary, { frechetDistance: 600, classifierScore: 1.4, modes: 9, cells: 3, failedCells: 1 });
    assert.deepEqual(
      reg.artifacts(b.id).map((a) => a.path),
      [files.json, files.md],
    );
  } finally {
    reg.close();
  }
});
