/**
 * Short diagnostic runs of `unrolled-gan` (issue 11, why the K = 5 Adam look-ahead collapsed):
 * trains on a seeded subset of MNIST (every class) with the given hyperparameters, prints the
 * losses every `--log-every` steps, then the per-image standard deviation of `--samples` seeded
 * samples (eval mode) and their predicted-class histogram under the committed MNIST quality
 * classifier.
 *
 *   nice -n 10 node --import tsx bench/unrolled-gan-diag.ts --hparams '{"unrollSteps":5}' \
 *     [--model unrolled-gan|gan] [--no-dbn] [--limit 2000] [--epochs 3] [--batch 64] [--seed 0] [--samples 1000] [--png f]
 *
 * `--no-dbn` builds the discriminator without batch norm (convolutions with biases instead).
 *
 * `--probe` instead prints, at the start and after every epoch of a plain run, the generator's
 * gradient norm of the surrogate f_K for several look-ahead variants from the same weights and
 * batch (K = 0; Adam, Adam with a detached denominator and SGD at K = 5; Adam and SGD with the
 * 'value' surrogate), its distance from K = 0's, and the cosine of the descent direction on the
 * fakes with each fake's deviation from its mean (< 0: the step lowers the images' contrast).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { manualSeed, setNumThreads } from '../src/core/index.js';
import { grad, noGrad } from '../src/core/autograd.js';
import { randn } from '../src/core/creation.js';
import type { Tensor } from '../src/core/tensor.js';
import { sourceSplit } from '../src/data/index.js';
import { QualityClassifier } from '../src/models/classifier/index.js';
import { classifierScore, modeCoverage } from '../src/eval/quality.js';
import { Adam } from '../src/optim/index.js';
import { imageTransforms, loadSubset, openData } from '../src/pipeline/data.js';
import { imageGrid } from '../src/pipeline/generate.js';
import { imageToPng } from '../src/eval/png.js';
import { ganProcess } from '../src/models/gan/step.js';
import { seededLatent } from '../src/models/generative.js';
import { trainLoop } from '../src/train/loop.js';
import { TensorSource } from '../src/train/source.js';
import { discriminatorLoss, generatorLoss } from '../src/models/gan/loss.js';
import { AdversarialNetworks } from '../src/models/gan/networks.js';
import { UNROLLED_GAN_DEFAULTS, type UnrolledGanHParams } from '../src/models/unrolled-gan/model.js';
import { discriminatorForward } from '../src/models/unrolled-gan/functional.js';
import { unrollDiscriminator, unrolledGanProcess } from '../src/models/unrolled-gan/step.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'unrolled-gan' },
    hparams: { type: 'string', default: '{}' },
    limit: { type: 'string', default: '2000' },
    epochs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '2e-4' },
    seed: { type: 'string', default: '0' },
    samples: { type: 'string', default: '1000' },
    'log-every': { type: 'string', default: '10' },
    threads: { type: 'string', default: '1' },
    probe: { type: 'boolean', default: false },
    'no-dbn': { type: 'boolean', default: false },
    png: { type: 'string' },
  },
});
setNumThreads(Number(values.threads));
const arch = { isize: 16, ngf: 16, ndf: 16, nz: 32, nc: 1 };
const data = await loadSubset(sourceSplit(openData({ data: 'mnist' }), 'train', 'train'), imageTransforms({ size: 16, channels: 1, range: [-1, 1] }), Number(values.limit), 0);
data.batch.y.dispose();
const x = data.batch.x;
const batch = Number(values.batch);
const lr = Number(values.lr);
const t0 = Date.now();

if (values.probe) {
  // The generator's gradient norm of f_K from the same weights, D state and batch, per variant.
  manualSeed(Number(values.seed));
  const nets = new AdversarialNetworks({ ...arch, discriminatorBatchNorm: !values['no-dbn'] });
  const { netG, netD } = nets;
  const optD = new Adam(netD.parameters(), { lr, betas: [0.5, 0.999] });
  const optG = new Adam(netG.parameters(), { lr, betas: [0.5, 0.999] });
  const norm = (gs: Tensor[]) => Math.sqrt(gs.reduce((s, g) => s + g.square().sum().item(), 0));
  const probe = (label: string) => {
    const xb = x.narrow(0, 0, batch);
    const z = randn([batch, arch.nz, 1, 1]);
    const row: string[] = [];
    let g0: Tensor[] = [];
    for (const [name, k, kind, detach, value] of [
      ['K0', 0, 'adam', false, false],
      ['adam5', 5, 'adam', false, false],
      ['adam5-detached', 5, 'adam', true, false],
      ['sgd5', 5, 'sgd', false, false],
      ['adam5-value', 5, 'adam', false, true],
      ['sgd5-value', 5, 'sgd', false, true],
    ] as const) {
      const fake = netG.call(z);
      const { subst } = unrollDiscriminator(netD, optD, xb, fake, k, kind, lr, [0.5, 0.999], { detachDenominator: detach });
      const fl = discriminatorForward(netD, fake, subst);
      const f = value ? discriminatorLoss(discriminatorForward(netD, xb, subst), fl).total.neg() : generatorLoss(fl, 'non-saturating');
      const [gFake, ...gs] = grad(f, [fake, ...netG.parameters()]) as Tensor[];
      // cosine of the descent direction -dL/dfake with the direction that raises each image's contrast (fake - its mean)
      const contrast = noGrad(() => {
        const c = fake.detach().view([batch, -1]);
        const dev = c.sub(c.mean(1, true));
        const d = gFake!.view([batch, -1]).neg();
        return dev.mul(d).sum().item() / Math.sqrt(dev.square().sum().item() * d.square().sum().item());
      });
      if (k === 0) g0 = gs;
      const rel = norm(gs.map((g, i) => g.sub(g0[i]!))) / norm(g0);
      row.push(`${name} |dG| ${norm(gs).toExponential(2)}, |dG - dG(K0)| / |dG(K0)| ${rel.toFixed(3)}, cos(-dfake, contrast) ${contrast.toFixed(3)}`);
    }
    console.log(`${label}:\n  ${row.join('\n  ')}`);
  };
  const steps = Math.floor(x.shape[0]! / batch);
  for (let e = 0; e < Number(values.epochs); e++) {
    for (let s = 0; s < steps; s++) {
      netG.train();
      netD.train();
      const xb = x.narrow(0, s * batch, batch);
      const fake = netG.call(randn([batch, arch.nz, 1, 1]));
      optD.zeroGrad();
      discriminatorLoss(netD.call(xb), netD.call(fake.detach())).total.backward();
      optD.step();
      if (e === 0 && s === 0) probe('after the first D step');
      optG.zeroGrad();
      generatorLoss(netD.call(fake), 'non-saturating').backward();
      optG.step();
    }
    probe(`plain gan, epoch ${e + 1} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  process.exit(0);
}

const hp = { ...UNROLLED_GAN_DEFAULTS, ...(JSON.parse(values.hparams) as Partial<UnrolledGanHParams>) };
// The networks are built here (not through the model class) so that D's batch norm can be switched off.
manualSeed(Number(values.seed));
const nets = new AdversarialNetworks({ ...arch, discriminatorBatchNorm: !values['no-dbn'] });
const source = new TensorSource(x);
const every = Number(values['log-every']);
await trainLoop(
  (fresh) => {
    const o = { fresh, lr, batchSize: batch, source, device: 'cpu' as const };
    return values.model === 'gan' ? ganProcess(nets, hp, o) : unrolledGanProcess(nets, hp, o);
  },
  source,
  {
    epochs: Number(values.epochs),
    batchSize: batch,
    seed: Number(values.seed),
    onProgress: (e) => {
      const n = (e.epoch - 1) * e.stepsPerEpoch + e.step;
      if (n % every !== 0 && n !== 1) return;
      const l = Object.entries(e.losses)
        .map(([k, v]) => `${k} ${v.toFixed(3)}`)
        .join(' ');
      console.log(`step ${n} (${((Date.now() - t0) / 1000).toFixed(0)} s): ${l}`);
    },
  },
);
const n = Number(values.samples);
nets.eval();
const s = noGrad(() => nets.netG.call(seededLatent(n, arch.nz, 0)));
// within-image contrast (a grey image has ~0) and between-sample spread (identical samples have 0)
const std = noGrad(() => s.view([n, -1]).std(1).mean().item());
const spread = noGrad(() => s.view([n, -1]).std(0).mean().item());
const clf = QualityClassifier.load('mnist');
const out = clf.measure(s, [-1, 1]);
const m = { ...modeCoverage(out.probs, out.n, 10), classifierScore: classifierScore(out.probs, out.n, 10) };
console.log(
  `${values.model}${values['no-dbn'] ? ' (D without batch norm)' : ''} ${values.hparams}: ${((Date.now() - t0) / 1000).toFixed(0)} s, per-image std ${std.toFixed(3)}, between-sample std ${spread.toFixed(3)}, modes ${m.modes}/10, KL(uniform) ${m.klUniform.toFixed(3)}, classifier score ${m.classifierScore.toFixed(2)}, counts ${m.counts.join(' ')}`,
);
if (values.png) {
  const grid = imageGrid(s.narrow(0, 0, 64), { nrow: 8 });
  writeFileSync(values.png, await imageToPng({ data: grid.data, shape: grid.shape }, '[-1,1]'));
}
