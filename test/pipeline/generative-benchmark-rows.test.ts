// `anogen benchmark --suite generative` rows: one generator in two rows (`name@label` with its own
// --hparams) and the generator-step count of each cell (fewer than the loop's steps for WGAN-GP's
// critic rounds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseGeneratorRow, type GenerativeBenchmarkTable } from '../../src/pipeline/generative-benchmark.js';
import { runCli } from '../helpers/cli.js';

test('parseGeneratorRow: name, name@label, and the mistakes', () => {
  assert.deepEqual(parseGeneratorRow('gan'), { generator: 'gan' });
  assert.deepEqual(parseGeneratorRow('gan@minimax'), { generator: 'gan', label: 'minimax' });
  assert.throws(() => parseGeneratorRow('gan@'), /--models gan@: the label after '@'/);
  assert.throws(() => parseGeneratorRow('gan@a.b'), /letters, digits, '_' or '-'/);
  assert.throws(() => parseGeneratorRow('nope@x'), /unknown generator "nope"/);
});

test('anogen benchmark --suite generative: gan and gan@minimax are two rows with their own hyperparameters; generator steps are counted', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-genrows-'));
  const args = ['benchmark', '--suite', 'generative', '--models', 'gan,gan@minimax,wgan-gp', '--data', 'mnist', '--train-limit', '32', '--epochs', '1', '--batch-size', '8'];
  args.push('--image-size', '16', '--hparams', 'nz=8,ngf=8,ndf=8,gan@minimax.loss=minimax,wgan-gp.n-critic=2', '--samples', '100', '--test-limit', '200');
  args.push('--device', 'cpu', '--out', out, '--quiet');
  try {
    const r = await runCli(...args);
    assert.equal(r.code, 0, r.err);
    const t = JSON.parse(fs.readFileSync(path.join(out, 'benchmark.json'), 'utf8')) as GenerativeBenchmarkTable;
    assert.deepEqual(
      t.cells.map((c) => [c.id, c.status]),
      [
        ['gan|mnist|seed0', 'done'],
        ['gan@minimax|mnist|seed0', 'done'],
        ['wgan-gp|mnist|seed0', 'done'],
      ],
    );
    const [plain, minimax, wgp] = t.cells as [GenerativeBenchmarkTable['cells'][0], GenerativeBenchmarkTable['cells'][0], GenerativeBenchmarkTable['cells'][0]];
    assert.deepEqual(plain.config.hparams, { nz: 8, ngf: 8, ndf: 8 });
    assert.deepEqual(minimax.config.hparams, { nz: 8, ngf: 8, ndf: 8, loss: 'minimax' });
    assert.notEqual(plain.frechetDistance, minimax.frechetDistance, 'the minimax row trained another generator');
    assert.notEqual(plain.grid, minimax.grid);
    for (const c of t.cells) assert.ok(fs.statSync(path.join(out, c.grid!)).size > 100, `${c.model}: grid written`);
    // 32 images / batch 8 = 4 loop steps: every one a generator step for gan, every 2nd for wgan-gp (n-critic 2)
    assert.equal(plain.budget!.steps, 4);
    assert.equal(plain.generatorSteps, 4);
    assert.equal(wgp.budget!.steps, 4);
    assert.equal(wgp.generatorSteps, 2);
    const md = fs.readFileSync(path.join(out, 'benchmark.md'), 'utf8');
    assert.match(md, /\| gan@minimax \| mnist \| 0 \| 32 img x 1 ep \(4 steps, batch 8\), 16 px, nz=8 ngf=8 ndf=8 loss=minimax \|/);
    assert.match(md, /\| wgan-gp \| mnist \| 0 \| 32 img x 1 ep \(4 steps, 2 generator steps, batch 8\)/);

    const bad = await runCli(...args.map((a) => (a === 'gan,gan@minimax,wgan-gp' ? 'gan,gan@mini.max' : a)));
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /--models gan@mini\.max: the label after '@'/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
