// Generator runs resume exactly: a tiny GAN (16 px, widths 8, 64 MNIST images, batch 16: 4 steps
// per epoch, 2 epochs) stopped by the loop's stop hook saves <out>/checkpoint (a generator bundle
// plus the loop state); resumed through the pipeline, or through `anogen train --resume` with a
// raised --epochs, it ends with the weights of an uninterrupted run. --resume of a folder
// without a checkpoint is an AnogenError naming the folder. An unpaired model's domain-B stream
// (cyclegan) continues where the checkpoint left it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnogenError, arange } from '../../src/core/index.js';
import { UnpairedSource, unpairedSkip } from '../../src/models/paired.js';
import type { LoopState } from '../../src/train/loop.js';
import { asSource } from '../../src/train/source.js';
import { generatorCheckpointRequest, loadGeneratorBundle, trainGenerator, type GeneratorTrainRequest } from '../../src/pipeline/generate.js';
import { InterruptedError } from '../../src/pipeline/train.js';
import { runCli } from '../helpers/cli.js';
import { bundleWeights } from '../helpers/weights.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-gen-resume-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const request = (out: string, epochs = 2): GeneratorTrainRequest => ({
  generator: 'gan',
  data: { data: 'mnist', classes: ['1'], seed: 3 },
  epochs,
  batchSize: 16,
  trainLimit: 64,
  imageSize: 16,
  out,
  hparams: { nz: 8, ngf: 8, ndf: 8 },
  device: 'cpu',
});

/** The largest |a - b| over every weight (and buffer) of two bundles. */
function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  let m = 0;
  for (const [k, w] of a) {
    const g = b.get(k)!;
    for (let i = 0; i < w.length; i++) m = Math.max(m, Math.abs(w[i]! - g[i]!));
  }
  return m;
}

/** Runs `req` and stops it (the loop's stop hook) after `steps` steps; resolves to the InterruptedError. */
async function interrupted(req: GeneratorTrainRequest, steps: number): Promise<InterruptedError> {
  let seen = 0;
  try {
    const r = await trainGenerator(req, { onProgress: () => void seen++, shouldStop: () => seen >= steps });
    r.model.dispose();
  } catch (e) {
    assert.ok(e instanceof InterruptedError, String(e));
    return e;
  }
  assert.fail('the run was not interrupted');
}

let reference: Map<string, Float32Array>;

test('a generator run stopped mid-epoch saves a checkpoint and, resumed, ends with the weights of an uninterrupted run', async () => {
  const ref = path.join(tmp, 'ref');
  const r = await trainGenerator(request(ref));
  assert.equal(r.report.steps, 8);
  r.model.dispose();
  assert.ok(!fs.existsSync(path.join(ref, 'checkpoint')), 'a finished run leaves no checkpoint');
  reference = bundleWeights(ref);

  const out = path.join(tmp, 'stopped');
  const e = await interrupted(request(out), 3);
  const ck = path.join(out, 'checkpoint');
  assert.equal(e.checkpoint, ck);
  assert.match(e.message, /interrupted at epoch 1: checkpoint saved in .*checkpoint \(continue with anogen train gan --resume /);
  assert.ok(!fs.existsSync(path.join(out, 'config.json')), 'no final bundle before the run is complete');
  for (const f of ['config.json', 'model.safetensors', 'train-state.json', 'train-state.safetensors']) assert.ok(fs.existsSync(path.join(ck, f)), f);
  const state = JSON.parse(fs.readFileSync(path.join(ck, 'train-state.json'), 'utf8')) as { epoch: number; step: number; request: GeneratorTrainRequest };
  assert.deepEqual([state.epoch, state.step], [1, 3]);
  assert.equal(state.request.generator, 'gan');
  const b = loadGeneratorBundle(ck); // the checkpoint is a generator bundle: anogen sample reads it
  assert.deepEqual(b.model.sample(2, { seed: 1 }).shape, [2, 1, 16, 16]);
  b.model.dispose();

  const again = generatorCheckpointRequest(out);
  assert.equal(again.out, path.resolve(out));
  const logs: string[] = [];
  const steps: string[] = [];
  const resumed = await trainGenerator(again, { log: (s) => logs.push(s), onProgress: (p) => steps.push(`${p.epoch}.${p.step}`) }, out);
  resumed.model.dispose();
  assert.match(logs.join('\n'), /resuming .*checkpoint at epoch 1, step 3/);
  assert.deepEqual(steps, ['1.4', '2.1', '2.2', '2.3', '2.4'], 'continues at the next step');
  assert.equal(resumed.report.history.length, 8, 'the history holds the steps before the stop too');
  const d = maxDiff(reference, bundleWeights(out));
  assert.equal(d, 0, `bit-exact on the CPU (max |weight difference| ${d})`);
  assert.ok(!fs.existsSync(ck), 'the checkpoint is removed once the run is complete');
});

test('anogen train --resume <out> --epochs 2 continues a 1-epoch run stopped in its epoch to the 2-epoch weights', async () => {
  assert.ok(reference !== undefined, 'the reference run of the first test');
  const out = path.join(tmp, 'cli');
  await interrupted(request(out, 1), 2);
  const other = await runCli('train', 'gan', '--resume', out, '--lr', '0.1');
  assert.equal(other.code, 2);
  assert.match(other.err, /--resume continues a run as it was started; only --epochs, .* may be given \(got --lr\)/);
  const wrong = await runCli('train', 'wgan', '--resume', out);
  assert.equal(wrong.code, 2);
  assert.match(wrong.err, /that checkpoint is a gan run/);
  // no model name: the checkpoint says it is a generator run
  const r = await runCli('train', '--resume', out, '--epochs', '2', '--no-registry', '--threads', '1');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), path.resolve(out));
  assert.match(r.err, /resuming .*checkpoint at epoch 1, step 2/);
  const d = maxDiff(reference, bundleWeights(out));
  assert.equal(d, 0, `bit-exact on the CPU (max |weight difference| ${d})`);
});

test('--resume of a folder without a checkpoint is an AnogenError naming the folder', async () => {
  const empty = path.join(tmp, 'no-checkpoint');
  fs.mkdirSync(empty);
  await assert.rejects(
    () => trainGenerator(request(empty), {}, empty),
    (e: unknown) => e instanceof AnogenError && e.message.includes(`--resume ${empty}: no training state there`),
  );
  for (const args of [
    ['train', 'gan', '--resume', empty],
    ['train', '--resume', empty],
  ]) {
    const r = await runCli(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.ok(r.err.includes(`anogen: error: --resume ${empty}: no training state there`), r.err);
  }
  // a finished generator bundle has no training state either
  const r = await runCli('train', 'gan', '--resume', path.join(tmp, 'ref'));
  assert.equal(r.code, 2);
  assert.match(r.err, /no training state there .*a finished bundle has none/);
});

test("a resumed unpaired source continues domain B's stream: skip = the B images the steps before the checkpoint drew", async () => {
  const a = arange(8 * 4)
    .reshape([8, 1, 2, 2])
    .float();
  const b = arange(5 * 4)
    .reshape([5, 1, 2, 2])
    .float()
    .add(1000);
  const bIds = async (src: UnpairedSource, steps: number): Promise<number[][]> => {
    const out: number[][] = [];
    for (let i = 0; i < steps; i++) {
      const x = await src.get([0, 1, 2], 'cpu');
      const v = x.narrow(0, 3, 3).toFloat32Array();
      out.push([0, 1, 2].map((k) => (v[k * 4]! - 1000) / 4));
      x.dispose();
    }
    return out;
  };
  const fresh = await bIds(new UnpairedSource(asSource(a), asSource(b), 7), 4); // 12 B images: more than one pass over B's 5
  const state = { globalStep: 2, settings: { seed: 7, batchSize: 3, dropLast: true, n: 8, stepsPerEpoch: 2 } } as LoopState;
  assert.equal(unpairedSkip(state), 6);
  assert.deepEqual(await bIds(new UnpairedSource(asSource(a), asSource(b), 7, unpairedSkip(state)), 2), fresh.slice(2));
  assert.equal(unpairedSkip({ globalStep: 5, settings: { ...state.settings, dropLast: false, stepsPerEpoch: 3 } } as LoopState), 8 + 2 * 3, 'a partial last batch per epoch');
  a.dispose();
  b.dispose();
});
