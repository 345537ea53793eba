/**
 * The WGAN and WGAN-GP training step. One loop step is one critic iteration on one batch (as in
 * both authors' code, every critic iteration draws a new batch); after every `nCritic` critic
 * iterations the generator takes one step:
 *
 *   fake = G(z) (no autograd)
 *   critic: zeroGrad; L_D = E f(fake) - E f(x) [+ GP on interpolates]; backward; stepD;
 *           weight clipping: every critic parameter clamped to [-c, c] (WGAN)
 *   generator (every nCritic-th step): zeroGrad; L_G = -E f(G(z')); backward
 *   update(): stepG on generator steps
 *
 * WGAN's authors (martinarjovsky/WassersteinGAN, main.py) also run 100 critic iterations for the
 * first 25 generator iterations and for every 500th (`criticWarmup`). The schedule is a function
 * of the global step, so a resumed run continues it exactly. The critic's loss is checked
 * before its update; the generator's by the loop before `update()`.
 */
import { rand, randn } from '../../core/creation.js';
import { noGrad } from '../../core/autograd.js';
import type { Tensor } from '../../core/tensor.js';
import { Adam, RMSprop, clampWeights_, type Optimizer } from '../../optim/index.js';
import type { StepContext, TrainingProcess } from '../../train/loop.js';
import type { GeneratorProcessOptions } from '../generative.js';
import type { AdversarialNetworks } from '../gan/networks.js';
import { assertFinite, gradNorm } from '../gan/loss.js';
import { recalibrateGenerator } from '../gan/step.js';
import { criticLoss, gradientPenalty, wassersteinGeneratorLoss } from './loss.js';

/** Names of the per-step values the WGAN steps report, with what each is. */
export const WGAN_STEP_LOSSES: Record<string, string> = {
  d: "critic loss E f(G(z)) - E f(x) (+ the gradient penalty for wgan-gp), before the critic's update",
  wDist: 'Wasserstein estimate E f(x) - E f(G(z))',
  gp: 'wgan-gp: gradient penalty lambda E (||grad f(x^)||_2 - 1)^2',
  gpNorm: 'wgan-gp: mean ||grad f(x^)||_2 at the interpolates',
  g: 'generator loss -E f(G(z)) (generator steps only)',
  gGradNorm: "L2 norm of the generator's gradient (generator steps only)",
};

/** The step's settings (from the model's hyperparameters). */
export interface WganStepConfig {
  /** Critic iterations per generator iteration. */
  nCritic: number;
  /** The WGAN authors' 100 critic iterations for the first 25 generator iterations and every 500th. */
  criticWarmup: boolean;
  /** Weight clipping bound c (WGAN), or null for none. */
  clip: number | null;
  /** Gradient-penalty weight lambda (WGAN-GP), or null for none. */
  lambda: number | null;
  /** 'rmsprop' (WGAN) or 'adam' with `betas` (WGAN-GP). */
  optimizer: 'rmsprop' | 'adam';
  /** Adam's betas (default unused). */
  betas?: [number, number];
  /** Recompute G's batch-norm statistics after training. */
  bnRecalibration: boolean;
}

/** Critic iterations before generator iteration `genIter` (0-based). */
export function criticIterations(genIter: number, nCritic: number, warmup: boolean): number {
  return warmup && (genIter < 25 || genIter % 500 === 0) ? 100 : nCritic;
}

/**
 * Which global steps end a round of critic iterations (and so also update the generator),
 * for the schedule of {@link criticIterations}; computed incrementally, restarted for an earlier step.
 */
export class CriticSchedule {
  private start = 0;
  private gen = 0;
  private len: number;
  constructor(
    readonly nCritic: number,
    readonly warmup: boolean,
  ) {
    this.len = criticIterations(0, nCritic, warmup);
  }
  /** True when global step `s` (0-based) is the last critic iteration of its round. */
  isGeneratorStep(s: number): boolean {
    if (s < this.start) {
      this.start = 0;
      this.gen = 0;
      this.len = criticIterations(0, this.nCritic, this.warmup);
    }
    while (s >= this.start + this.len) {
      this.start += this.len;
      this.gen += 1;
      this.len = criticIterations(this.gen, this.nCritic, this.warmup);
    }
    return s === this.start + this.len - 1;
  }
}

/** One WGAN / WGAN-GP training run (optimisers + step) for src/train's loop. */
export function wganProcess(nets: AdversarialNetworks, cfg: WganStepConfig, o: GeneratorProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const { netG, netD } = nets;
  const nz = nets.arch.nz;
  const make = (params: Tensor[]): Optimizer<any> => (cfg.optimizer === 'adam' ? new Adam(params, { lr: o.lr, betas: cfg.betas }) : new RMSprop(params, { lr: o.lr }));
  const optG = make(netG.parameters());
  const optD = make(netD.parameters());
  const schedule = new CriticSchedule(cfg.nCritic, cfg.criticWarmup);
  return {
    optimizers: { g: optG, d: optD },
    step(x: Tensor, ctx: StepContext) {
      netG.train();
      netD.train();
      const n = x.shape[0]!;
      const fake = noGrad(() => netG.call(randn([n, nz, 1, 1], { device: ctx.device })));
      optD.zeroGrad();
      const c = criticLoss(netD.call(x), netD.call(fake));
      const losses: Record<string, Tensor> = { d: c.total, wDist: c.wDist };
      if (cfg.lambda !== null) {
        const gp = gradientPenalty(netD, x, fake, rand([n, 1, 1, 1], { device: ctx.device }), cfg.lambda);
        losses.d = c.total.add(gp.penalty);
        losses.gp = gp.penalty;
        losses.gpNorm = gp.gradNorm;
      }
      assertFinite({ d: losses.d! }, ctx);
      losses.d!.backward();
      optD.step();
      if (cfg.clip !== null) clampWeights_(netD.parameters(), cfg.clip);
      const genStep = schedule.isGeneratorStep(ctx.globalStep);
      if (genStep) {
        optG.zeroGrad();
        const g = wassersteinGeneratorLoss(netD.call(netG.call(randn([n, nz, 1, 1], { device: ctx.device }))));
        g.backward();
        losses.g = g;
        losses.gGradNorm = gradNorm(netG.parameters());
      }
      return {
        losses,
        update: () => {
          if (genStep) optG.step();
        },
      };
    },
    async finish() {
      if (cfg.bnRecalibration) recalibrateGenerator(netG, nz, Math.min(o.batchSize, o.source.length), o.device);
    },
    dispose() {
      netG.zeroGrad();
      netD.zeroGrad();
      optG.dispose();
      optD.dispose();
    },
  };
}
