/**
 * GANomaly training loop (one step = a generator update, then a discriminator update, as
 * the authors' code does), with Adam (lr 2e-4, betas 0.5 / 0.999), the discriminator
 * re-initialised when its loss collapses below 1e-5, NaN/Inf detection, checkpoints and
 * cooperative stopping. The loop yields to the event loop after every step so that Ctrl-C
 * and progress output stay responsive.
 */
import { AnogenError, Tensor, grad, keep, manualSeed, noGrad, tensor, tidy, zerosLike } from '../../core/index.js';
import type { FitOptions, FitReport, ImageSet } from '../api.js';
import type { GanomalyNetworks } from './network.js';
import { discriminatorLoss, generatorLoss, type GanomalyLossWeights } from './loss.js';

/** Adam (Kingma & Ba) on a list of parameters, gradients passed explicitly. */
export class Adam {
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private t = 0;
  constructor(
    readonly params: Tensor[],
    readonly lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => keep(noGrad(() => zerosLike(p))));
    this.v = params.map((p) => keep(noGrad(() => zerosLike(p))));
  }
  /** One update with gradients `grads` (one per parameter, null = skip). */
  step(grads: (Tensor | null)[]): void {
    this.t++;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    noGrad(() =>
      tidy(() => {
        for (let i = 0; i < this.params.length; i++) {
          const g = grads[i];
          if (g === null) continue;
          this.m[i].mul_(this.beta1).add_(g, 1 - this.beta1);
          this.v[i].mul_(this.beta2).addcmul_(g, g, 1 - this.beta2);
          const denom = this.v[i].sqrt().div(Math.sqrt(bc2)).add(this.eps);
          this.params[i].addcdiv_(this.m[i], denom, -this.lr / bc1);
        }
      }),
    );
  }
  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

/** A seeded PRNG (mulberry32) for JS-side shuffles. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, rand: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Options the detector adds to FitOptions for the trainer. */
export interface TrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  weights: GanomalyLossWeights;
  /** Saves a checkpoint (called at the end of every epoch and when stopped early). */
  saveCheckpoint?: (info: { epoch: number; step: number; reason: 'epoch' | 'interrupt' }) => void;
}

/** Trains `nets` on the normal images of `train`. */
export async function trainGanomaly(nets: GanomalyNetworks, train: ImageSet, opts: FitOptions, cfg: TrainConfig): Promise<FitReport> {
  const n = train.images.shape[0];
  if (n === 0) throw new AnogenError('GANomaly fit: the training set is empty');
  const seed = opts.seed ?? 0;
  manualSeed(seed);
  nets.resetParameters();
  const rand = mulberry32(seed);
  const bs = Math.min(cfg.batchSize, n);
  const stepsPerEpoch = Math.floor(n / bs);
  const optG = new Adam(nets.paramsG(), cfg.lr, cfg.beta1, cfg.beta2);
  const optD = new Adam(nets.paramsD(), cfg.lr, cfg.beta1, cfg.beta2);
  const history: Record<string, number>[] = [];
  const t0 = performance.now();
  let seen = 0;
  let steps = 0;
  let interrupted = false;
  let lastEpoch = 0;
  let lastStep = 0;
  try {
    outer: for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const perm = permutation(n, rand);
      for (let step = 1; step <= stepsPerEpoch; step++) {
        if (opts.shouldStop?.()) {
          interrupted = true;
          break outer;
        }
        const losses = tidy(() => {
          const idx = tensor(perm.slice((step - 1) * bs, step * bs), { dtype: 'int64' });
          const x = train.images.indexSelect(0, idx);
          const { fake, latentI, latentO } = nets.generate(x, true);
          const dReal = nets.discriminate(x, true);
          const dFake = nets.discriminate(fake, true);
          const diverged = (what: string, v: string): never => {
            throw new AnogenError(
              `GANomaly training diverged: ${what} is ${v} at epoch ${epoch}, step ${step}` +
                (opts.checkpointDir ? `; the last good checkpoint is kept in ${opts.checkpointDir}` : '') +
                '; try a lower learning rate (--lr) or check the input images for NaN/Inf',
            );
          };
          // BCE rejects NaN probabilities with a libtorch error: check them first.
          if (!dReal.pred.isfinite().logicalAnd(dFake.pred.isfinite()).all().item()) diverged("the discriminator's output", 'NaN or infinite');
          const g = generatorLoss(x, fake, latentI, latentO, dReal.features.detach(), dFake.features, cfg.weights);
          const d = discriminatorLoss(dReal.pred, dFake.pred);
          const vals = {
            g: g.total.item(),
            d: d.total.item(),
            adv: g.adv.item(),
            con: g.con.item(),
            enc: g.enc.item(),
            dReal: d.real.item(),
            dFake: d.fake.item(),
          };
          for (const [k, v] of Object.entries(vals)) {
            if (!Number.isFinite(v)) diverged(`loss '${k}'`, String(v));
          }
          // Generator update: gradients of L_G w.r.t. G only; D's graph through fake is kept for L_D.
          const gradsG = grad(g.total, nets.paramsG(), { retainGraph: true, allowUnused: true });
          // Discriminator update: D(fake) must not send gradients into G: grad() w.r.t. D's params only.
          const gradsD = grad(d.total, nets.paramsD(), { allowUnused: true });
          optG.step(gradsG);
          optD.step(gradsD);
          return vals;
        });
        // The reference re-initialises D when its loss collapses.
        if (losses.d < 1e-5) nets.netD.resetParameters();
        history.push(losses);
        seen += bs;
        steps++;
        lastEpoch = epoch;
        lastStep = step;
        const elapsed = (performance.now() - t0) / 1000;
        const ips = seen / Math.max(elapsed, 1e-9);
        const totalSteps = cfg.epochs * stepsPerEpoch;
        opts.onProgress?.({
          epoch,
          epochs: cfg.epochs,
          step,
          stepsPerEpoch,
          losses,
          imagesPerSecond: ips,
          etaSeconds: ((totalSteps - steps) * bs) / Math.max(ips, 1e-9),
        });
        await new Promise<void>((r) => setImmediate(r));
      }
      cfg.saveCheckpoint?.({ epoch, step: stepsPerEpoch, reason: 'epoch' });
    }
    if (interrupted) cfg.saveCheckpoint?.({ epoch: lastEpoch, step: lastStep, reason: 'interrupt' });
  } finally {
    optG.dispose();
    optD.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { history, epochs: lastEpoch, steps, seconds, imagesPerSecond: seen / Math.max(seconds, 1e-9), interrupted };
}
