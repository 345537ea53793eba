// Ctrl-C during `anogen train` saves a checkpoint bundle and exits with code 130; the
// progress printer draws a bar on a terminal and plain lines elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadBundle } from '../../src/detectors/index.js';
import { progressPrinter } from '../../src/cli/progress.js';
import { randn } from '../../src/core/index.js';

const root = path.resolve(import.meta.dirname, '..', '..');

test('SIGINT during training saves a loadable checkpoint and exits 130', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-sigint-'));
  const out = path.join(tmp, 'run');
  try {
    const child = spawn(
      process.execPath,
      [
        path.join(root, 'bin', 'anogen.js'),
        'train',
        'ganomaly',
        '--data',
        'mnist',
        '--protocol',
        'one-vs-rest',
        '--normal',
        '1',
        '--train-limit',
        '64',
        '--val-limit',
        '32',
        '--epochs',
        '500',
        '--batch-size',
        '32',
        '--image-size',
        '16',
        '--nz',
        '8',
        '--ngf',
        '8',
        '--ndf',
        '8',
        '--out',
        out,
      ],
      { cwd: tmp, env: { ...process.env, ANOGEN_NUM_THREADS: '1', ANOGEN_DEBUG: '' } },
    );
    let err = '';
    let sent = false;
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      // wait until training has really started (a progress line), then interrupt
      if (!sent && /epoch 1\/500 step 1\//.test(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.ok(sent, `training never reported progress:\n${err}`);
    assert.equal(code, 130, err);
    assert.match(err, /checkpoint saved in/);
    assert.doesNotMatch(err, /^\s+at .*:\d+:\d+\)?$/m, 'no stack trace');
    const ckpt = path.join(out, 'checkpoint');
    assert.ok(fs.existsSync(path.join(ckpt, 'model.safetensors')));
    assert.ok(fs.existsSync(path.join(ckpt, 'config.json')));
    const b = loadBundle(ckpt);
    const s = b.detector.score(randn([2, 1, 16, 16]).clamp(-1, 1)).scores;
    assert.equal(s.length, 2);
    assert.ok(Array.from(s).every(Number.isFinite));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = {
    text: '',
    isTTY,
    columns: 200,
    write(c: string) {
      s.text += c;
      return true;
    },
  };
  return s as unknown as NodeJS.WriteStream & { text: string };
}
const ev = (step: number) => ({
  epoch: 1,
  epochs: 2,
  step,
  stepsPerEpoch: 4,
  losses: { errG: 1.5, errD: 0.25 },
  imagesPerSecond: 12.5,
  etaSeconds: 75,
});

test('progress: a redrawn bar on a terminal, plain lines elsewhere', () => {
  const tty = fakeStream(true);
  const p = progressPrinter(tty, { tty: true });
  p(ev(1) as never);
  p(ev(2) as never);
  p.done();
  assert.match(tty.text, /^\r\[###\.+\] epoch 1\/2 step 1\/4 errG 1\.500 errD 0\.2500 \| 12\.5 img\/s ETA 1m15s/);
  assert.match(tty.text, /\r\[#{5}\.+\] epoch 1\/2 step 2\/4/);
  assert.ok(tty.text.endsWith('\n'));
  const plain = fakeStream(false);
  const q = progressPrinter(plain, { tty: false, every: 2 });
  for (let i = 1; i <= 4; i++) q(ev(i) as never);
  assert.deepEqual(
    plain.text
      .trim()
      .split('\n')
      .map((l) => l.split(' errG')[0]),
    ['epoch 1/2 step 1/4', 'epoch 1/2 step 2/4', 'epoch 1/2 step 4/4'],
  );
  assert.doesNotMatch(plain.text, /\r/);
});
