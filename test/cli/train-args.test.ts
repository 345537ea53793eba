// `anogen train` options: detector hyperparameters take the type of their default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/detectors/index.js';
import { parseTrain } from '../../src/cli/commands/train.js';

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
