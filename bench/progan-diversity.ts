// Where a progan run loses sample diversity: trains a 16 px progan on 2,000 MNIST training images
// (widths 32, nz 64, batch 16, seed 0; by default 1,000 images per phase, 3 epochs) and every 31
// steps prints the resolution, alpha, the mean over pixels of the per-pixel std across 64 samples
// of the sampling generator netGEma ("ema") and of the trained generator netG ("G") (real
// images: printed first, at 16 px and at the current resolution), the critic's Wasserstein
// estimate E D(x) - E D(G(z)) on 256 fixed real images and 256 fakes ("W256", less noisy than
// the step's own estimate on 16) and the step's gradient penalty. Ends with the means of the
// last 4 reports and, with --png, writes a grid of 64 samples.
// Usage: nice -n 10 node --import tsx bench/progan-diversity.ts [key=value ...]
//   keys: any progan hyperparameter (nCritic=3, emaImages=300, resetOptimizers=false, ...), and
//   lr (1e-3), epochs (3), batch (16), images (2000), every (31), png (a path)
import { setNumThreads, noGrad, randn, manualSeed } from '../src/core/index.js';
import { ProGan, realAt } from '../src/models/progan/index.js';
import { generatorTrainSplit, imageGrid } from '../src/pipeline/generate.js';
import { loadSubset, imageTransforms } from '../src/pipeline/data.js';
import { imageToPng } from '../src/eval/png.js';
import { writeFileAtomic } from '../src/util/fs.js';

setNumThreads(1);
const args: Record<string, string> = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=', 2) as [string, string]));
const take = (k: string, d: string): string => {
  const v = args[k] ?? d;
  delete args[k];
  return v;
};
const lr = Number(take('lr', '1e-3'));
const epochs = Number(take('epochs', '3'));
const batchSize = Number(take('batch', '16'));
const images = Number(take('images', '2000'));
const every = Number(take('every', '31'));
const png = take('png', '');
const hp: Record<string, unknown> = { isize: 16, nz: 64, ngf: 32, ndf: 32, phaseImages: 1000 };
for (const [k, v] of Object.entries(args)) hp[k] = v === 'true' ? true : v === 'false' ? false : Number(v);
console.log('progan', JSON.stringify(hp), `lr ${lr} epochs ${epochs} batch ${batchSize} images ${images}`);

const { split } = generatorTrainSplit({ data: 'mnist', seed: 0 });
const { batch } = await loadSubset(split, imageTransforms({ size: 16, channels: 1, range: [-1, 1] }), images, 0);
const x = batch.x;
const evalReal = x.narrow(0, 0, Math.min(256, images));
console.log('real 16px std across images', x.std(0).mean().item().toFixed(3));
const m = new ProGan(hp);
const zEval = (() => {
  manualSeed(12345);
  return randn([256, m.nz, 1, 1]);
})();
const rows: number[][] = [];
let step = 0;
const t0 = Date.now();
await m.fit(x, {
  epochs,
  batchSize,
  lr,
  seed: 0,
  onProgress: (e) => {
    step++;
    if (step % every !== 0) return;
    const g = m.growth;
    const r = noGrad(() => {
      const ema = m.sample(64, { seed: 1 });
      const raw = m.nets.netG.call(zEval.narrow(0, 0, 64), g).clamp(-1, 1);
      const real = realAt(evalReal, g);
      const w = m.nets.netD.call(real, g).mean().item() - m.nets.netD.call(m.nets.netG.call(zEval, g), g).mean().item();
      return { ema: ema.std(0).mean().item(), raw: raw.std(0).mean().item(), realStd: real.std(0).mean().item(), w };
    });
    rows.push([r.ema, r.raw, r.w]);
    console.log(
      `step ${step} res ${e.losses.res} alpha ${e.losses.alpha!.toFixed(2)} std ema ${r.ema.toFixed(3)} G ${r.raw.toFixed(3)} real ${r.realStd.toFixed(3)} W256 ${r.w.toFixed(2)} gp ${e.losses.gp!.toFixed(2)} ${((Date.now() - t0) / 1000).toFixed(0)}s`,
    );
  },
});
const last = rows.slice(-4);
const mean = (i: number) => (last.reduce((a, r) => a + r[i]!, 0) / last.length).toFixed(3);
console.log(`last ${last.length} reports: std ema ${mean(0)} G ${mean(1)} W256 ${mean(2)}; ${step} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
if (png) {
  const s = m.sample(64, { seed: 0 });
  writeFileAtomic(png, await imageToPng(imageGrid(s, { nrow: 8, padValue: -1 }), '[-1,1]'));
  console.log('wrote', png);
}
