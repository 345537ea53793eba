/**
 * Does every registered generator resume exactly? For each one (its `tiny` hyperparameters,
 * 16 px, 64 MNIST images of class 1, batch 16: 4 steps per epoch, 2 epochs, on the CPU): an
 * uninterrupted run, and a run stopped by the loop's stop hook after `--stop-at` steps (default
 * 3: mid epoch 1) then resumed from its checkpoint; prints the largest |weight difference|
 * between the two final bundles (0: bit-exact).
 *
 *   node --import tsx bench/generator-resume.ts [--only gan,cgan] [--stop-at 3] [--threads 1]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setNumThreads } from '../src/core/index.js';
import { generatorNames, getGenerator } from '../src/models/index.js';
import { generatorCheckpointRequest, trainGenerator, type GeneratorTrainRequest } from '../src/pipeline/generate.js';
import { InterruptedError } from '../src/pipeline/train.js';
import { bundleWeights } from '../test/helpers/weights.js';

const { values } = parseArgs({ options: { only: { type: 'string' }, 'stop-at': { type: 'string', default: '3' }, threads: { type: 'string', default: '1' } } });
setNumThreads(Number(values.threads));
const stopAt = Number(values['stop-at']);
const names = values.only ? values.only.split(',') : generatorNames();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-gen-resume-bench-'));

try {
  for (const name of names) {
    const request = (out: string): GeneratorTrainRequest => ({
      generator: name,
      data: { data: 'mnist', classes: ['1'], seed: 0 },
      epochs: 2,
      batchSize: 16,
      trainLimit: 64,
      imageSize: 16,
      out,
      hparams: { ...getGenerator(name).tiny, isize: undefined },
      device: 'cpu',
    });
    const t0 = performance.now();
    const ref = path.join(tmp, `${name}-ref`);
    (await trainGenerator(request(ref))).model.dispose();
    const out = path.join(tmp, `${name}-resumed`);
    let seen = 0;
    try {
      (await trainGenerator(request(out), { onProgress: () => void seen++, shouldStop: () => seen >= stopAt })).model.dispose();
      throw new Error(`${name}: not interrupted`);
    } catch (e) {
      if (!(e instanceof InterruptedError)) throw e;
    }
    (await trainGenerator(generatorCheckpointRequest(out), {}, out)).model.dispose();
    const a = bundleWeights(ref);
    const b = bundleWeights(out);
    let max = 0;
    let worst = '';
    for (const [k, w] of a) {
      const g = b.get(k)!;
      for (let i = 0; i < w.length; i++) {
        const d = Math.abs(w[i]! - g[i]!);
        if (d > max) [max, worst] = [d, k];
      }
    }
    console.log(
      `${name.padEnd(14)} max |weight difference| ${max === 0 ? '0 (bit-exact)' : `${max.toExponential(3)} (${worst})`}  ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
