/**
 * The progressive GAN's training step (Karras et al., 2018): WGAN-GP (Gulrajani et al., 2017)
 * with the paper's epsilon-drift term, Adam (lr 1e-3, betas (0, 0.99), eps 1e-8). One loop step
 * is one critic iteration on one batch; every `nCritic`-th step the generator also takes one
 * step (the paper: nCritic 1). Per step:
 *
 *   growth = growthAt(globalStep * batchSize, phaseImages, stages)   (stage, alpha)
 *   real   = x average-pooled to the stage's resolution r; in a fade-in, blended as the
 *            generator's output: (1 - alpha) * up(down(real)) + alpha * real (appendix A.1)
 *   critic: L_D = E D(G(z)) - E D(real) + lambda E (||grad D(x^)|| - 1)^2 + eps_drift E D(real)^2
 *   generator (every nCritic-th step): L_G = -E D(G(z'))
 *   netGEma = beta * netGEma + (1 - beta) * netG, beta = 0.5^(batch / h),
 *            h = min(emaImages, 0.05 * images shown)   (every step, as the authors' Gs update)
 *
 * The images shown (so the schedule) count the critic's batches, as the authors' cur_nimg.
 * When the phase changes (a new fade-in or stabilisation starts), the Adam state of both
 * networks is cleared when `resetOptimizers` (the authors' reset_opt_for_new_lod). Everything
 * is a function of the global step, so a resumed run continues exactly.
 */
import { rand, randn } from '../../core/creation.js';
import { noGrad } from '../../core/autograd.js';
import { tensor } from '../../core/creation.js';
import type { Tensor } from '../../core/tensor.js';
import * as F from '../../nn/functional.js';
import { Adam } from '../../optim/index.js';
import type { StepContext, TrainingProcess } from '../../train/loop.js';
import type { GeneratorProcessOptions } from '../generative.js';
import { assertFinite, gradNorm } from '../gan/loss.js';
import { criticLoss, gradientPenalty, wassersteinGeneratorLoss } from '../wgan/loss.js';
import type { GrowthState, ProGanNetworks } from './networks.js';
import { growthAt, stageResolution } from './schedule.js';
import { Module } from '../../nn/module.js';

/** Names of the per-step values the progan step reports, with what each is. */
export const PROGAN_STEP_LOSSES: Record<string, string> = {
  d: 'critic loss E D(G(z)) - E D(x) + gradient penalty + drift term',
  wDist: 'Wasserstein estimate E D(x) - E D(G(z))',
  gp: 'gradient penalty lambda E (||grad D(x^)||_2 - 1)^2',
  drift: 'epsilon-drift term eps_drift E D(x)^2',
  g: 'generator loss -E D(G(z)) (generator steps only)',
  gGradNorm: "L2 norm of the generator's gradient (generator steps only)",
  res: 'resolution of this step (4, 8, 16, ...)',
  alpha: 'fade-in weight of the newest layers (1 when stabilising)',
};

/** The step's settings (from the model's hyperparameters). */
export interface ProGanStepConfig {
  /** Real images per fade-in or stabilisation phase. */
  phaseImages: number;
  /** Gradient-penalty weight. */
  lambda: number;
  /** Weight of the drift term E D(x)^2. */
  driftEps: number;
  /** Adam's betas. */
  betas: [number, number];
  /** Clear the optimisers' state when a phase starts. */
  resetOptimizers: boolean;
  /** Critic iterations (batches) per generator iteration. */
  nCritic: number;
  /** Half-life in images of the moving average netGEma (0: netGEma = netG). */
  emaImages: number;
}

/** The ramp-up of the EMA half-life: at most this fraction of the images shown so far (StyleGAN2-ADA's ema_rampup). */
export const EMA_RAMPUP = 0.05;

/** The EMA decay per step of `batch` images after `shown` images (see the module comment); 0 when emaImages is 0. */
export function emaBeta(batch: number, shown: number, emaImages: number): number {
  const h = Math.min(emaImages, EMA_RAMPUP * shown);
  return h > 0 ? 0.5 ** (batch / h) : 0;
}

/** Real images `x` (at the final size) as the discriminator sees them at growth `g`. */
export function realAt(x: Tensor, g: GrowthState): Tensor {
  const r = stageResolution(g.stage);
  const s = x.shape[2]!;
  const xr = s === r ? x : F.avgPool2d(x, s / r);
  if (g.alpha >= 1 || g.stage === 0) return xr;
  return F.interpolate(F.avgPool2d(xr, 2), { scaleFactor: 2, mode: 'nearest' }).lerp(xr, g.alpha);
}

/** The critic at a fixed growth, as a Module for {@link gradientPenalty}. */
class CriticAt extends Module {
  constructor(
    private readonly nets: ProGanNetworks,
    private readonly g: GrowthState,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.nets.netD.call(x, this.g);
  }
}

/** One progressive GAN training run (optimisers + step) for src/train's loop. */
export function proganProcess(nets: ProGanNetworks, cfg: ProGanStepConfig, o: GeneratorProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const { netG, netD } = nets;
  const nz = nets.arch.nz;
  const stages = netG.stages;
  const bs = Math.min(o.batchSize, o.source.length);
  const optG = new Adam(netG.parameters(), { lr: o.lr, betas: cfg.betas, eps: 1e-8 });
  const optD = new Adam(netD.parameters(), { lr: o.lr, betas: cfg.betas, eps: 1e-8 });
  return {
    optimizers: { g: optG, d: optD },
    step(x: Tensor, ctx: StepContext) {
      const growth = growthAt(ctx.globalStep * bs, cfg.phaseImages, stages);
      if (cfg.resetOptimizers && ctx.globalStep > 0 && growthAt((ctx.globalStep - 1) * bs, cfg.phaseImages, stages).phase !== growth.phase) {
        optG.dispose(); // clears Adam's moments and step counts (they are recreated at the next update)
        optD.dispose();
      }
      const g: GrowthState = { stage: growth.stage, alpha: growth.alpha };
      nets.setGrowth(g);
      netG.train();
      netD.train();
      const n = x.shape[0]!;
      const real = realAt(x, g);
      const fake = noGrad(() => netG.call(randn([n, nz, 1, 1], { device: ctx.device }), g));
      optD.zeroGrad();
      const realOut = netD.call(real, g);
      const c = criticLoss(realOut, netD.call(fake, g));
      const gp = gradientPenalty(new CriticAt(nets, g), real, fake, rand([n, 1, 1, 1], { device: ctx.device }), cfg.lambda);
      const drift = realOut.square().mean().mul(cfg.driftEps);
      const d = c.total.add(gp.penalty).add(drift);
      assertFinite({ d }, ctx);
      d.backward();
      optD.step();
      const losses: Record<string, Tensor> = { d, wDist: c.wDist, gp: gp.penalty, drift, res: tensor(stageResolution(g.stage)), alpha: tensor(g.alpha) };
      const genStep = (ctx.globalStep + 1) % cfg.nCritic === 0;
      if (genStep) {
        optG.zeroGrad();
        const gl = wassersteinGeneratorLoss(netD.call(netG.call(randn([n, nz, 1, 1], { device: ctx.device }), g), g));
        gl.backward();
        netD.zeroGrad();
        losses.g = gl;
        losses.gGradNorm = gradNorm(netG.parameters());
      }
      const beta = emaBeta(n, (ctx.globalStep + 1) * bs, cfg.emaImages);
      return {
        losses,
        update: () => {
          if (genStep) optG.step();
          nets.updateEma(beta);
        },
      };
    },
    dispose() {
      netG.zeroGrad();
      netD.zeroGrad();
      optG.dispose();
      optD.dispose();
    },
  };
}
