// The data layouts the README promises, through the CLI: the MVTec layout, the same with
// train/good only (trains; eval says what it needs), good/ + one folder per anomaly type, and
// a flat folder of normal images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { openDataset, makeSplits } from '../../src/data/index.js';
import { runCli, TINY_GANOMALY } from '../helpers/cli.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-layouts-'));
async function images(dir: string, n: number, base: number): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(16 * 16, (base + i * 7) % 256);
    await sharp(b, { raw: { width: 16, height: 16, channels: 1 } })
      .png()
      .toFile(path.join(dir, `${i}.png`));
  }
}
const tiny = [...TINY_GANOMALY, '--epochs', '1', '--batch-size', '8', '--quiet'];

test('train/good only, good/ + defect/, and a flat folder: each opens with the right splits', async () => {
  await images(path.join(root, 'mv', 'train', 'good'), 20, 10);
  await images(path.join(root, 'two', 'good'), 20, 10);
  await images(path.join(root, 'two', 'crack'), 6, 200);
  await images(path.join(root, 'two', 'stain'), 4, 150);
  await images(path.join(root, 'flat'), 20, 10);
  const mv = makeSplits(openDataset(path.join(root, 'mv')), { protocol: 'folder', seed: 0 });
  assert.equal(mv.train.length + mv.validation.length, 20);
  assert.equal(mv.test.length, 0);
  const two = makeSplits(openDataset(path.join(root, 'two')), { protocol: 'folder', seed: 0 });
  assert.equal(two.test.counts.anomalous, 10);
  assert.equal(two.test.length, 10 + 4, '20% of good/ held out as test normals');
  assert.deepEqual(openDataset(path.join(root, 'two')).classes, ['good', 'crack', 'stain']);
  const flat = makeSplits(openDataset(path.join(root, 'flat')), { protocol: 'folder', seed: 0 });
  assert.equal(flat.train.length + flat.validation.length, 20);
  fs.mkdirSync(path.join(root, 'empty'));
  assert.throws(
    () => openDataset(path.join(root, 'empty')),
    /not a dataset folder; expected .*MVTec layout.*good\/ plus one folder per anomaly type, or a folder of normal images/,
  );
});

test('the CLI trains on each layout; eval of a normals-only folder says what it needs', async () => {
  for (const d of ['mv', 'two', 'flat']) {
    const r = await runCli('train', 'ganomaly', '--data', path.join(root, d), ...tiny, '--out', path.join(root, `run-${d}`));
    assert.equal(r.code, 0, `${d}: ${r.err}`);
  }
  const e = await runCli('eval', path.join(root, 'run-two'), '--no-floors', '--no-report');
  assert.equal(e.code, 0, e.err);
  const n = await runCli('eval', path.join(root, 'run-flat'), '--no-report');
  assert.equal(n.code, 2);
  assert.match(n.err, /has no labelled test images .*give --data/);
  const other = await runCli('eval', path.join(root, 'run-flat'), '--data', path.join(root, 'two'), '--no-report', '--no-floors');
  assert.equal(other.code, 0, other.err);
});
