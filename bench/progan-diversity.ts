// Where a progan run loses sample diversity: trains a 16 px progan (widths 32, nz 64, 1,000
// images per phase, batch 16, 3 epochs of 2,000 MNIST images) and every 31 steps prints the
// resolution, alpha, the mean over pixels of the per-pixel std across 64 samples (real images:
// printed first), the Wasserstein estimate and the gradient penalty.
// Usage: nice -n 10 node --import tsx bench/progan-diversity.ts <reset|noreset> <lr>
import { setNumThreads, noGrad } from '../src/core/index.js';
import { ProGan } from '../src/models/progan/index.js';
import { generatorTrainSplit } from '../src/pipeline/generate.js';
import { loadSubset, imageTransforms } from '../src/pipeline/data.js';
setNumThreads(1);
const reset = process.argv[2] === 'reset';
const lr = Number(process.argv[3]);
const { split } = generatorTrainSplit({ data: 'mnist', seed: 0 });
const { batch } = await loadSubset(split, imageTransforms({ size: 16, channels: 1, range: [-1, 1] }), 2000, 0);
const x = batch.x;
console.log('real 16px std across images', x.std(0).mean().item().toFixed(3));
const m = new ProGan({ isize: 16, nz: 64, ngf: 32, ndf: 32, phaseImages: 1000, resetOptimizers: reset });
let step = 0;
const t0 = Date.now();
await m.fit(x, {
  epochs: 3,
  batchSize: 16,
  lr,
  seed: 0,
  onProgress: (e) => {
    step++;
    if (step % 31 === 0) {
      const s = noGrad(() => m.sample(64, { seed: 1 }));
      console.log(
        `step ${step} res ${e.losses.res} alpha ${e.losses.alpha!.toFixed(2)} fake std ${s.std(0).mean().item().toFixed(3)} wDist ${e.losses.wDist!.toFixed(2)} gp ${e.losses.gp!.toFixed(2)} ${(Date.now() - t0) / 1000}s`,
      );
      s.dispose();
    }
  },
});
