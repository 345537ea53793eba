// Issue 8's adversarial inputs at the CLI and library level: numbers parsed strictly and bounded,
// output paths checked before any work, conflicting options refused, an existing folder never
// overwritten, inputs of the wrong size/type/shape refused, NaN weights an error naming the
// bundle and the image, a bundle usable from another working directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { rand, tensor, zeros } from '../../src/core/index.js';
import { Ganomaly, loadBundle } from '../../src/detectors/index.js';
import { runCli, TINY_GANOMALY } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-bad-'));
const mnist = ['--data', 'mnist', '--protocol', 'one-vs-rest', '--normal', '1'];
const tiny = ['--train-limit', '64', '--val-limit', '32', '--epochs', '1', '--batch-size', '16', ...TINY_GANOMALY, '--quiet'];
const bundle = path.join(tmp, 'b');
let png = '';

test('setup: a tiny bundle and an image', async () => {
  const r = await runCli('train', 'ganomaly', ...mnist, ...tiny, '--out', bundle);
  assert.equal(r.code, 0, r.err);
  png = path.join(tmp, 'x.png');
  await sharp(Buffer.alloc(28 * 28, 90), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(png);
});

test('numbers: strict decimal literals within bounds, named in the message, exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['--epochs', '1e20'], /--epochs: "1e20" is not valid; expected an integer/],
    [['--epochs', '0x1'], /--epochs: "0x1" is not valid; expected an integer/],
    [['--epochs', '1000000'], /--epochs: "1000000" is not valid; expected a number <= 100000/],
    [['--lr', '1e300'], /--lr: "1e300" is not valid; expected a number <= 10/],
    [['--lr', 'Infinity'], /--lr: "Infinity" is not valid; expected a number/],
    [['--image-size', '4096'], /--image-size: "4096" is not valid; expected a number <= 1024/],
    [['--batch-size', ' 3'], /--batch-size: " 3" is not valid/],
    [['--beta1', '1'], /beta1: 1 is not valid; expected a number < 1/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli('train', 'ganomaly', ...mnist, ...args, '--out', path.join(tmp, 'never'));
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
  assert.ok(!fs.existsSync(path.join(tmp, 'never')), 'nothing written');
});

test('output paths are checked before any work: exit 2 at once', async () => {
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'x');
  const t0 = performance.now();
  const cases: [string[], RegExp][] = [
    [['train', 'ganomaly', ...mnist, '--out', file], /--out .*a-file: exists and is a file/],
    [['train', 'ganomaly', ...mnist, '--out', path.join(file, 'sub')], /a-file is a file, so .* cannot be created/],
    [['train', 'ganomaly', ...mnist, '--config', tmp], /--config .*: not a file/],
    [['eval', bundle, '--json', tmp], /--json .*: is a folder; expected a file path/],
    [['eval', bundle, '--report', path.join(file, 'r.html')], /a-file is a file/],
    [['score', bundle, png, '--maps', file], /--maps .*: exists and is a file/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
  assert.ok(performance.now() - t0 < 20_000, 'refused before training or scoring');
});

test('conflicting options are refused', async () => {
  const cases: [string[], RegExp][] = [
    [['--normal', '3', '--abnormal', '4'], /--normal and --abnormal exclude each other/],
    [['--protocol', 'leave-one-out', '--normal', '3'], /--normal is for --protocol one-vs-rest/],
    [['--protocol', 'folder', '--normal', '3'], /do not apply to --protocol folder/],
    [['--val-dir', tmp, '--val-fraction', '0.2'], /--val-dir and --val-fraction exclude each other/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli('train', 'ganomaly', '--data', 'mnist', ...args, '--out', path.join(tmp, 'never'));
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
});

test("--out: a folder of the user's files is refused; an existing bundle needs --force", async () => {
  const mine = path.join(tmp, 'mine');
  fs.mkdirSync(mine);
  fs.writeFileSync(path.join(mine, 'config.json'), '{"mine": true}');
  fs.mkdirSync(path.join(mine, 'checkpoint'));
  fs.writeFileSync(path.join(mine, 'checkpoint', 'notes.txt'), 'keep');
  const r = await runCli('train', 'ganomaly', ...mnist, ...tiny, '--out', mine, '--force');
  assert.equal(r.code, 2);
  assert.match(r.err, /not an anogen bundle/);
  assert.equal(fs.readFileSync(path.join(mine, 'config.json'), 'utf8'), '{"mine": true}');
  assert.equal(fs.readFileSync(path.join(mine, 'checkpoint', 'notes.txt'), 'utf8'), 'keep');
  const again = await runCli('train', 'ganomaly', ...mnist, ...tiny, '--out', bundle);
  assert.equal(again.code, 2);
  assert.match(again.err, /--force/);
});

test('the library refuses inputs it cannot score, naming what it expects', () => {
  const d = new Ganomaly({ isize: 16, nz: 8, ngf: 8, ndf: 8 });
  assert.throws(() => d.score([[1]] as never), /expected a Tensor of N x 1 x 16 x 16 float32 images in \[-1, 1\], got an array/);
  assert.throws(() => d.score(zeros([0, 1, 16, 16])), /the batch is empty/);
  assert.throws(() => d.score(tensor([1, 2, 3, 4], { dtype: 'int64' }).view([1, 1, 2, 2])), /expected float32 images, got int64/);
  assert.throws(() => d.score(zeros([2, 3, 16, 16])), /expected 1 channel\(s\)/);
  assert.throws(() => d.score(zeros([2, 1, 32, 32])), /expected 16 x 16 images, got 32 x 32/);
  assert.throws(() => d.score(zeros([16, 16])), /got shape \[16, 16\]/);
  return d.fit({ images: rand([8, 1, 32, 32]) }, { epochs: 1 }).then(
    () => assert.fail('a 16 px model trained on 32 px images'),
    (e: Error) => assert.match(e.message, /fit: expected 16 x 16 images, got 32 x 32/),
  );
});

test('a bundle whose transforms were edited is refused at scoring; NaN weights name the bundle and the image', async () => {
  const edited = path.join(tmp, 'edited');
  fs.cpSync(bundle, edited, { recursive: true });
  const cfgFile = path.join(edited, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  cfg.transforms = cfg.transforms.filter((t: { type: string }) => t.type !== 'resize');
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  const r = await runCli('score', edited, png);
  assert.equal(r.code, 2);
  assert.match(r.err, /expected 16 x 16 images, got 28 x 28/);

  const nan = path.join(tmp, 'nan');
  const b = loadBundle(bundle);
  for (const [k, t] of b.detector.stateDict()) if (k.endsWith('weight') && t.dtype === 'float32') t.fill_(NaN);
  const { saveBundle } = await import('../../src/detectors/bundle.js');
  saveBundle(nan, b.detector, { transforms: b.config.transforms, protocol: b.config.protocol });
  b.detector.dispose();
  const s = await runCli('score', nan, png);
  assert.notEqual(s.code, 0);
  assert.match(s.err, new RegExp(`bundle ${nan}: .*not finite.*image: ${png}`));
});

test('a bundle works from another working directory; eval options given by the user win over the bundle', async () => {
  const cwd = process.cwd();
  const rel = path.relative(tmp, bundle);
  process.chdir(os.tmpdir());
  try {
    const r = await runCli('eval', bundle, '--test-limit', '64', '--no-floors', '--no-report');
    assert.equal(r.code, 0, r.err);
  } finally {
    process.chdir(cwd);
  }
  assert.ok(rel.length > 0);
  // another dataset: the bundle's --normal 1 is not inherited silently
  const other = await runCli('eval', bundle, '--data', 'fashion-mnist', '--protocol', 'one-vs-rest', '--normal', '0', '--test-limit', '64', '--no-floors', '--no-report');
  assert.equal(other.code, 0, other.err);
  // a moved folder dataset says where the path came from
  const cfg = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  assert.equal(cfg.protocol.options.data, 'mnist', 'named datasets are stored by name');
});

test('an image size that cannot fit in memory is refused up front, saying what fits', async () => {
  const t0 = performance.now();
  const r = await runCli('train', 'ganomaly', ...mnist, '--image-size', '1024', '--out', path.join(tmp, 'huge'));
  assert.equal(r.code, 2);
  assert.match(
    r.err,
    /training ganomaly at 1024 px with batch 64 needs about \d+ GiB of memory \(estimate\); this machine has \d+(\.\d)? GiB: (what fits: .*--image-size \d+ at batch 64|no batch size fits)/,
  );
  assert.ok(performance.now() - t0 < 5000, 'refused before allocating anything');
  assert.ok(!fs.existsSync(path.join(tmp, 'huge')));
  const { checkMemory } = await import('../../src/pipeline/train.js');
  const req = { detector: 'ganomaly', data: { data: 'mnist', seed: 0, valFraction: 0.1 }, valLimit: 10, out: 'x', hparams: {}, imageSize: 256 };
  assert.throws(() => checkMemory(req, 4 * 2 ** 30), /what fits: --batch-size \d+ at 256 px, or --image-size \d+ at batch 64/);
  assert.doesNotThrow(() => checkMemory({ ...req, imageSize: 32 }, 4 * 2 ** 30));
});

test('score --maps writes each map and its overlay as PNGs on one colour scale, stored beside them', async () => {
  const maps = path.join(tmp, 'maps');
  const png2 = path.join(tmp, 'y.png');
  await sharp(Buffer.alloc(28 * 28, 200), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(png2);
  const r = await runCli('score', bundle, png, png2, '--json', '--maps', maps);
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out) as { threshold: number; images: { file: string; map: { map: string; overlay: string } }[] };
  assert.equal(out.images.length, 2);
  const scale = JSON.parse(fs.readFileSync(path.join(maps, 'scale.json'), 'utf8')) as { vmin: number; vmax: number };
  assert.equal(scale.vmin, 0);
  assert.ok(scale.vmax > 0);
  for (const im of out.images) {
    const meta = await sharp(im.map.map).metadata();
    assert.equal(meta.width, 16, 'the map at the model input size');
    const o = await sharp(im.map.overlay).metadata();
    assert.equal(o.channels, 3, 'the overlay is an RGB heat tint over the image');
  }
});
