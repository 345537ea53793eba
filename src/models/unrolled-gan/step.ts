/**
 * The Unrolled GAN step (Metz, Poole, Pfau & Sohl-Dickstein, 2017). The discriminator trains as
 * in `gan`; the generator descends the surrogate loss f_K(theta_G, theta_D) = f(theta_G,
 * theta_D^K(theta_G, theta_D)), where f is the GAN value function -L_D and theta_D^K is the
 * discriminator after K more of its own optimiser steps on the same batch, each a differentiable
 * function of theta_G:
 *
 *   z ~ N(0, 1);  fake = G(z)
 *   D: zeroGrad; L_D = bce(D(x), 1) + bce(D(fake.detach()), 0); backward; stepD   (as `gan`)
 *   unroll from theta^0 = D's parameters (just updated), for k = 0 .. K-1:
 *     g^k = d L_D(x, fake; theta^k) / d theta^k            (create_graph: g^k depends on theta_G)
 *     theta^{k+1} = theta^k - adam(g^k)  (or - lr g^k)     (differentiable, D's own state untouched)
 *   G: zeroGrad; f_K = -L_D(x, fake; theta^K)  (unrollSurrogate 'value', default; 'generator': gan's
 *      generator loss of D(fake; theta^K) only); backward (through the K updates); update(): stepG
 *
 * The real-data term of f_K is not a constant under unrolling (theta^K depends on theta_G), and it
 * matters: without it (gan's non-saturating or minimax loss on the fakes only) the generator
 * collapsed to a grey image under the Adam look-ahead on MNIST (README "Measured").
 *
 * The unrolled updates are those of D's optimiser, as the authors' reference (which unrolls its
 * Adam updates): Adam starts from D's optimiser state (first and second moments, step count)
 * after D's real update, and carries its own copies of the moments through the unroll. The only
 * change from torch's Adam is sqrt(v + eps^2) for sqrt(v), so that the second-order gradient stays
 * finite where a gradient element is exactly 0 (`unrollDetachDenominator` treats the denominator as a
 * constant instead). `unrollOptimizer: 'sgd'` is the paper's equation (theta^{k+1} = theta^k -
 * lr g^k, gradient descent on D's loss) instead. With K = 0 the step is exactly `gan --loss
 * minimax`'s ('value') or `gan`'s with its `loss` ('generator'): the same random draws, order and
 * generator update. Batch norm in the
 * unrolled discriminator uses the batch statistics and updates no running statistics.
 */
import { randn } from '../../core/creation.js';
import { grad } from '../../core/autograd.js';
import type { Tensor } from '../../core/tensor.js';
import { Adam } from '../../optim/index.js';
import type { StepContext, TrainingProcess } from '../../train/loop.js';
import type { GeneratorProcessOptions } from '../generative.js';
import type { AdversarialNetworks, DcganDiscriminator } from '../gan/networks.js';
import { assertFinite, discriminatorLoss, generatorLoss, gradNorm, type GanLoss } from '../gan/loss.js';
import { GAN_STEP_LOSSES, recalibrateGenerator } from '../gan/step.js';
import { discriminatorForward, type ParamSubstitution } from './functional.js';

/** The optimisers the look-ahead can unroll. */
export const UNROLL_OPTIMIZERS = ['adam', 'sgd'] as const;
/** One of {@link UNROLL_OPTIMIZERS}. */
export type UnrollOptimizer = (typeof UNROLL_OPTIMIZERS)[number];

/** Names of the per-step values the Unrolled GAN step reports, with what each is. */
export const UNROLLED_GAN_STEP_LOSSES: Record<string, string> = {
  ...GAN_STEP_LOSSES,
  g: "generator: the surrogate f_K on D after K unrolled steps, theta_D^K: -L_D(x, G(z); theta_D^K) ('value', negative) or gan's loss of D(G(z); theta_D^K) ('generator')",
  dUnrolled: 'discriminator loss at the last unrolled step, L_D(theta_D^{K-1}) (K > 0 only)',
};

/**
 * What the generator minimises under the unrolled discriminator theta^K: 'generator' is `gan`'s
 * generator loss (`loss`: non-saturating or minimax) on D(G(z); theta^K); 'value' is the GAN value
 * function itself, -L_D(x, G(z); theta^K) = log D(x; theta^K) + log(1 - D(G(z); theta^K)), as the
 * authors' code (`g_train_opt.minimize(-unrolled_loss)`): under unrolling its real-data term depends
 * on the generator through theta^K.
 */
export const UNROLL_SURROGATES = ['generator', 'value'] as const;
/** One of {@link UNROLL_SURROGATES}. */
export type UnrollSurrogate = (typeof UNROLL_SURROGATES)[number];

/** The Unrolled GAN step's settings (from the model's hyperparameters). */
export interface UnrolledGanStepConfig {
  /** Unrolled discriminator steps K (default 5; 0: plain `gan`). */
  unrollSteps: number;
  /** gan's generator loss, used by the 'generator' surrogate only. */
  loss: GanLoss;
  beta1: number;
  beta2: number;
  /** Which update the look-ahead unrolls (default 'adam', D's own). */
  unrollOptimizer: UnrollOptimizer;
  /** 'adam' look-ahead: treat Adam's denominator sqrt(v) as a constant in the generator's gradient (default false). */
  unrollDetachDenominator: boolean;
  /** What the generator minimises under theta^K (default 'value'). */
  unrollSurrogate: UnrollSurrogate;
  bnRecalibration: boolean;
}

/** Options of {@link unrollDiscriminator}. */
export interface UnrollOptions {
  /**
   * 'adam': the denominator sqrt(v^k) / sqrt(1 - b2^t) + eps of every unrolled step is computed
   * from detached moments, so no gradient flows through Adam's normalisation (only through the
   * first moment m^k, i.e. the step is linear in the gradients given its scale). Default false
   * (the exact derivative of the unrolled Adam update).
   */
  detachDenominator?: boolean;
}

/** Adam's epsilon (torch's default, as D's optimiser). */
const ADAM_EPS = 1e-8;

/**
 * D's parameters after `k` differentiable optimiser steps on L_D(x, fake) from its current
 * parameters (`optD`'s state as the starting moments for 'adam'), as a substitution map for
 * {@link discriminatorForward}; also the last unrolled discriminator loss (null for k = 0).
 * Gradients flow from the result to `fake` (and so to the generator) through every step.
 */
export function unrollDiscriminator(
  netD: DcganDiscriminator,
  optD: Adam,
  x: Tensor,
  fake: Tensor,
  k: number,
  kind: UnrollOptimizer,
  lr: number,
  betas: [number, number],
  opts: UnrollOptions = {},
): { subst: ParamSubstitution; lastLoss: Tensor | null } {
  const detachDenominator = opts.detachDenominator ?? false;
  const params = netD.parameters();
  let theta: Tensor[] = params;
  const st = params.map((p) => optD.state.get(p));
  let m: (Tensor | null)[] = st.map((s) => s?.tensors.exp_avg ?? null);
  let v: (Tensor | null)[] = st.map((s) => s?.tensors.exp_avg_sq ?? null);
  const step0 = st.map((s) => s?.step ?? 0);
  const [b1, b2] = betas;
  let lastLoss: Tensor | null = null;
  for (let j = 0; j < k; j++) {
    const subst: ParamSubstitution = new Map(params.map((p, i) => [p, theta[i]!]));
    const loss = discriminatorLoss(discriminatorForward(netD, x, subst), discriminatorForward(netD, fake, subst)).total;
    lastLoss = loss;
    const gs = grad(loss, theta, { createGraph: true, retainGraph: true });
    if (kind === 'sgd') {
      theta = theta.map((t, i) => t.sub(gs[i]!, lr));
      continue;
    }
    const nm: Tensor[] = [];
    const nv: Tensor[] = [];
    theta = theta.map((t, i) => {
      const g = gs[i]!;
      const mi = m[i] === null ? g.mul(1 - b1) : m[i]!.mul(b1).add(g, 1 - b1);
      const vi = v[i] === null ? g.square().mul(1 - b2) : v[i]!.mul(b2).add(g.square(), 1 - b2);
      nm.push(mi);
      nv.push(vi);
      const t1 = step0[i]! + j + 1;
      const bc1 = 1 - b1 ** t1;
      const bc2 = Math.sqrt(1 - b2 ** t1);
      const denom = (detachDenominator ? vi.detach() : vi)
        .add(ADAM_EPS * ADAM_EPS)
        .sqrt()
        .div(bc2)
        .add(ADAM_EPS);
      return t.sub(mi.div(denom), lr / bc1);
    });
    m = nm;
    v = nv;
  }
  return { subst: new Map(params.map((p, i) => [p, theta[i]!])), lastLoss };
}

/** One Unrolled GAN training run (optimisers + step) for src/train's loop. */
export function unrolledGanProcess(nets: AdversarialNetworks, cfg: UnrolledGanStepConfig, o: GeneratorProcessOptions): TrainingProcess {
  if (o.fresh) nets.resetParameters();
  const { netG, netD } = nets;
  const nz = nets.arch.nz;
  const betas: [number, number] = [cfg.beta1, cfg.beta2];
  const optG = new Adam(netG.parameters(), { lr: o.lr, betas });
  const optD = new Adam(netD.parameters(), { lr: o.lr, betas });
  return {
    optimizers: { g: optG, d: optD },
    step(x: Tensor, ctx: StepContext) {
      netG.train();
      netD.train();
      const n = x.shape[0]!;
      const fake = netG.call(randn([n, nz, 1, 1], { device: ctx.device }));
      optD.zeroGrad();
      const d = discriminatorLoss(netD.call(x), netD.call(fake.detach()));
      assertFinite({ d: d.total }, ctx);
      d.total.backward();
      optD.step();
      const { subst, lastLoss } = unrollDiscriminator(netD, optD, x, fake, cfg.unrollSteps, cfg.unrollOptimizer, o.lr, betas, {
        detachDenominator: cfg.unrollDetachDenominator,
      });
      optG.zeroGrad();
      const fakeLogits = discriminatorForward(netD, fake, subst);
      const g = cfg.unrollSurrogate === 'value' ? discriminatorLoss(discriminatorForward(netD, x, subst), fakeLogits).total.neg() : generatorLoss(fakeLogits, cfg.loss);
      g.backward();
      // The surrogate's backward also reached D's parameters (theta^0); D's next step zeroes them first.
      const losses: Record<string, Tensor> = { d: d.total, g, dReal: d.real, dFake: d.fake, gGradNorm: gradNorm(netG.parameters()) };
      if (lastLoss !== null) losses.dUnrolled = lastLoss;
      return { losses, update: () => optG.step() };
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
