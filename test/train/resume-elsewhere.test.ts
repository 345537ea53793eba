// A run started with a relative --out and resumed from another working directory writes its
// bundle into the folder that holds the checkpoint, not into the stored relative path resolved
// against the new working directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '../../src/detectors/index.js';
import { checkpointRequest, InterruptedError, train, type TrainRequest } from '../../src/pipeline/train.js';

test('a detector run resumed from another working directory finishes in its own folder', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-resume-cwd-'));
  const first = path.join(tmp, 'first');
  const second = path.join(tmp, 'second');
  fs.mkdirSync(first);
  fs.mkdirSync(second);
  const cwd = process.cwd();
  try {
    process.chdir(first);
    const req: TrainRequest = {
      detector: 'ae',
      data: { data: 'mnist', protocol: 'one-vs-rest', normal: '1', seed: 0, valFraction: 0.1 },
      trainLimit: 64,
      valLimit: 16,
      imageSize: 16,
      epochs: 2,
      batchSize: 16,
      out: 'run',
      hparams: { ngf: 4, nz: 4 },
      device: 'cpu',
    };
    let steps = 0;
    await assert.rejects(train(req, { onProgress: () => void steps++, shouldStop: () => steps >= 5 }), InterruptedError);
    const run = path.join(first, 'run');
    assert.ok(fs.existsSync(path.join(run, 'checkpoint')), 'the checkpoint is in the first working directory');
    process.chdir(second);
    const r = await train(checkpointRequest(run), {}, run);
    assert.equal(path.resolve(r.out), run);
    assert.ok(fs.existsSync(path.join(run, 'config.json')), 'the bundle is written next to its checkpoint');
    assert.ok(!fs.existsSync(path.join(second, 'run')), 'nothing is written under the new working directory');
  } finally {
    process.chdir(cwd);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
