// Streaming fit: a folder of generated images several times larger than the decoded-image cache
// is trained on batch by batch from disk (the cache stays within its bound, the live tensor
// count and the resident size stay flat across epochs), through the library and the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { liveTensors } from '../../src/core/index.js';
import { openFolder, makeSplits, imageTransformsFor } from './streaming-helpers.js';
import { Ganomaly } from '../../src/detectors/index.js';
import { SplitSource } from '../../src/train/source.js';
import { runCli, TINY_GANOMALY } from '../helpers/cli.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-stream-'));
const N = 384;
const S = 96; // decoded 96 x 96 gray: 9 KiB per image, 4.3 MiB in all

async function writeFolder(): Promise<void> {
  const dirs = ['train/good', 'test/good', 'test/crack'].map((d) => path.join(root, d));
  for (const d of dirs) fs.mkdirSync(d, { recursive: true });
  const img = (seed: number) => {
    const b = Buffer.alloc(S * S);
    let a = seed * 2654435761;
    for (let i = 0; i < b.length; i++) {
      a = (a * 1103515245 + 12345) >>> 0;
      b[i] = 96 + ((a >>> 24) & 63) + (((i % S) >> 4) & 1) * 40;
    }
    return sharp(b, { raw: { width: S, height: S, channels: 1 } }).png();
  };
  for (let i = 0; i < N; i++) await img(i).toFile(path.join(dirs[0]!, `${String(i).padStart(4, '0')}.png`));
  for (let i = 0; i < 4; i++) await img(10000 + i).toFile(path.join(dirs[1]!, `${i}.png`));
  for (let i = 0; i < 4; i++) await img(20000 + i).toFile(path.join(dirs[2]!, `${i}.png`));
}

test('a folder larger than the cache trains from disk with a bounded cache and flat memory', async () => {
  await writeFolder();
  const cacheBytes = 512 * 1024; // an eighth of the decoded folder
  const ds = openFolder(root, { cacheBytes });
  const splits = makeSplits(ds, { protocol: 'folder', seed: 0, valFraction: 0 });
  assert.equal(splits.train.length, N);
  const source = new SplitSource(splits.train, imageTransformsFor(16));
  const d = new Ganomaly({ isize: 16, nz: 8, ngf: 8, ndf: 8 });
  const rss: number[] = [];
  const live: number[] = [];
  let maxCache = 0;
  const report = await d.fit(source, {
    epochs: 4,
    batchSize: 32,
    onProgress: (e) => {
      maxCache = Math.max(maxCache, ds.cache.bytes);
      if (e.step === e.stepsPerEpoch) {
        globalThis.gc?.();
        rss.push(process.memoryUsage().rss);
        live.push(liveTensors());
      }
    },
  });
  assert.equal(report.steps, 4 * Math.floor(N / 32));
  assert.ok(maxCache <= cacheBytes, `cache ${maxCache} B within its bound ${cacheBytes} B`);
  assert.ok(ds.cache.misses > N, `images were decoded again from disk in later epochs (${ds.cache.misses} misses for ${N} images)`);
  assert.equal(new Set(live.slice(1)).size, 1, `live tensors flat across epochs: ${live.join(', ')}`);
  const growth = (rss[rss.length - 1]! - rss[1]!) / 2 ** 20;
  assert.ok(
    growth < 40,
    `resident size flat (a leak of one batch per step would add about 80 MiB) after the first epochs: ${rss.map((r) => (r / 2 ** 20).toFixed(0)).join(', ')} MiB`,
  );
  d.dispose();
});

test('the CLI streams a folder too (--cache-mb)', async () => {
  const out = path.join(root, 'run');
  const r = await runCli('train', 'ganomaly', '--data', root, ...TINY_GANOMALY, '--epochs', '1', '--cache-mb', '0.5', '--out', out, '--quiet');
  assert.equal(r.code, 0, r.err);
  assert.ok(fs.existsSync(path.join(out, 'config.json')));
});
