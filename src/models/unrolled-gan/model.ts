/**
 * `unrolled-gan`: Unrolled GAN (Metz, Poole, Pfau & Sohl-Dickstein, ICLR 2017) with the DCGAN
 * networks and defaults of `gan`: the generator's update looks K discriminator steps ahead
 * (`unrollSteps`, default 5; the paper uses 5 to 10 and shows 0 is a plain GAN), its gradient
 * flowing through the unrolled updates (see step.ts). The discriminator's own update is `gan`'s.
 */
import type { TrainingProcess } from '../../train/loop.js';
import { resolveHParams, schemaDefaults, type HParamSchema } from '../../util/schema.js';
import type { GeneratorProcessOptions } from '../generative.js';
import { registerGenerator } from '../registry.js';
import { Gan, GAN_SCHEMA, GAN_TRAIN_DEFAULTS, type GanHParams } from '../gan/model.js';
import { UNROLL_OPTIMIZERS, UNROLL_SURROGATES, UNROLLED_GAN_STEP_LOSSES, unrolledGanProcess, type UnrollOptimizer, type UnrollSurrogate } from './step.js';

/** The `unrolled-gan` hyperparameters: `gan`'s (DCGAN defaults) and the unrolling. */
export const UNROLLED_GAN_SCHEMA = {
  ...GAN_SCHEMA,
  loss: {
    ...GAN_SCHEMA.loss,
    doc: "generator loss under the unrolled D with --unroll-surrogate generator: 'minimax' log(1 - D(G(z))) or 'non-saturating' -log D(G(z)); the default 'value' surrogate does not use it",
  },
  unrollSteps: {
    type: 'int',
    default: 5,
    min: 0,
    max: 100,
    doc: "unrolled discriminator steps K the generator's gradient flows through (the paper: 5-10; 0 is a plain gan: minimax with the 'value' surrogate)",
  },
  unrollOptimizer: {
    type: 'enum',
    default: 'adam',
    values: UNROLL_OPTIMIZERS,
    doc: "the update unrolled: 'adam' (D's own optimiser from its current state, as the authors' code) or 'sgd' (theta - lr dL_D/dtheta, the paper's equation)",
  },
  unrollDetachDenominator: {
    type: 'bool',
    default: false,
    doc: "'adam' look-ahead: treat Adam's denominator sqrt(v) as a constant in the generator's gradient (false: differentiate through it)",
  },
  unrollSurrogate: {
    type: 'enum',
    default: 'value',
    values: UNROLL_SURROGATES,
    doc: "what G minimises under the unrolled D: 'value' (the GAN value function -L_D on real and fake, the paper's f_K and the authors' code) or 'generator' (gan's --loss on the fakes only)",
  },
} satisfies HParamSchema;

/** `unrolled-gan` hyperparameters. */
export interface UnrolledGanHParams extends GanHParams {
  unrollSteps: number;
  unrollOptimizer: UnrollOptimizer;
  unrollDetachDenominator: boolean;
  unrollSurrogate: UnrollSurrogate;
}

/** Every default. */
export const UNROLLED_GAN_DEFAULTS = schemaDefaults(UNROLLED_GAN_SCHEMA) as unknown as UnrolledGanHParams;

/** Default training options: `gan`'s (25 epochs, batch 128, Adam lr 2e-4). */
export const UNROLLED_GAN_TRAIN_DEFAULTS = { ...GAN_TRAIN_DEFAULTS };

/** Validates (partial) `unrolled-gan` hyperparameters and fills in the defaults. */
export function unrolledGanHParams(h: Record<string, unknown> = {}): UnrolledGanHParams {
  return resolveHParams(UNROLLED_GAN_SCHEMA, h, 'unrolled-gan') as unknown as UnrolledGanHParams;
}

/** The Unrolled GAN generative model: `gan`'s networks, sampling and defaults; its own step. */
export class UnrolledGan extends Gan<UnrolledGanHParams> {
  override readonly name: string = 'unrolled-gan';

  /** Builds the model from (partial) hyperparameters, validated against {@link UNROLLED_GAN_SCHEMA}. */
  constructor(hparams: Partial<UnrolledGanHParams> = {}) {
    super(hparams, unrolledGanHParams);
  }

  protected override trainingProcess(o: GeneratorProcessOptions): TrainingProcess {
    const h = this.hparams;
    return unrolledGanProcess(
      this.nets,
      {
        loss: h.loss,
        beta1: h.beta1,
        beta2: h.beta2,
        unrollSteps: h.unrollSteps,
        unrollOptimizer: h.unrollOptimizer,
        unrollDetachDenominator: h.unrollDetachDenominator,
        unrollSurrogate: h.unrollSurrogate,
        bnRecalibration: h.bnRecalibration,
      },
      o,
    );
  }
}

registerGenerator({
  name: 'unrolled-gan',
  description: "Unrolled GAN (Metz et al., 2017): DCGAN whose generator's gradient flows through K unrolled discriminator steps",
  schema: UNROLLED_GAN_SCHEMA,
  input: { sizeParam: 'isize', channelsParam: 'nc', range: [-1, 1] },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8, unrollSteps: 2 },
  trainDefaults: UNROLLED_GAN_TRAIN_DEFAULTS,
  lossDocs: UNROLLED_GAN_STEP_LOSSES,
  create: (h) => new UnrolledGan(h as Partial<UnrolledGanHParams>),
});
