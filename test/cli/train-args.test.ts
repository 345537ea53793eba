// `anogen train` options: detector hyperparameters take the type of their default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/detectors/index.js';
import { parseTrain } from '../../src/cli/commands/train.js';
import { parseGeneratorTrain } from '../../src/cli/commands/train-generator.js';
import '../../src/models/index.js';
import os from 'node:os';
import path from 'node:path';

const base = ['ganomaly', '--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '3'];

test('boolean hyperparameters are flags; numeric ones take numbers', () => {
  assert.equal(parseTrain([...base]).request.hparams.bnRecalibration, undefined, 'default left to the detector');
  assert.equal(parseTrain([...base, '--bn-recalibration=false']).request.hparams.bnRecalibration, false);
  assert.equal(parseTrain([...base, '--bn-recalibration']).request.hparams.bnRecalibration, true);
  assert.equal(parseTrain([...base, '--w-con', '20']).request.hparams.wCon, 20);
  assert.throws(() => parseTrain([...base, '--bn-recalibration=maybe']), /--bn-recalibration: "maybe" is not valid; expected true or false/);
  assert.throws(() => parseTrain([...base, '--w-con', 'lots']), /--w-con: "lots" is not valid; expected a number/);
});

test("a config file may name the model, and then that model's own flags are accepted", async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-cfg-')), 'train.yaml');
  fs.writeFileSync(f, 'model: ganomaly\ndata: mnist\nprotocol: one-vs-rest\nnormal: 3\nw-con: 20\n');
  const cmd = parseTrain(['--config', f, '--nz', '8']);
  assert.equal(cmd.request.detector, 'ganomaly');
  assert.equal(cmd.request.hparams.nz, 8);
  assert.equal(cmd.request.hparams.wCon, 20);
});

test('data paths are stored absolute (a run resumes from any folder); the named datasets stay names', () => {
  assert.equal(parseTrain([...base]).request.data.data, 'mnist');
  const folder = parseTrain(['ae', '--data', 'some/cells', '--val-dir', './val', '--out', path.join(os.tmpdir(), 'anogen-abs-out')]).request.data;
  assert.equal(folder.data, path.resolve('some/cells'));
  assert.equal(folder.valDir, path.resolve('val'));
  const gen = parseGeneratorTrain(['cyclegan', '--data', 'mnist', '--data-b', 'b/folder', '--out', path.join(os.tmpdir(), 'anogen-abs-gen')]).request;
  assert.equal(gen.data.data, 'mnist');
  assert.equal(gen.hparams.dataB, path.resolve('b/folder'));
  assert.equal(
    parseGeneratorTrain(['cyclegan', '--data', 'x', '--data-b', 'fashion-mnist', '--out', path.join(os.tmpdir(), 'anogen-abs-gen')]).request.hparams.dataB,
    'fashion-mnist',
  );
});
