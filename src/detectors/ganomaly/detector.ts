/**
 * The GANomaly detector: A(x) = mean (z - z^)^2 over the latent (z = encoder1(x),
 * z^ = encoder2(decoder(z))); anomaly map = |x - x^| averaged over channels.
 */
import { AnogenError, cat, noGrad, tidy, type Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';
import { Detector, type FitOptions, type FitReport, type ImageSet, type ScoreResult } from '../api.js';
import { registerDetector } from '../registry.js';
import { GanomalyNetworks, type GanomalyArch } from './network.js';
import { latentScore, residualMap } from './loss.js';
import { trainGanomaly, type TrainConfig } from './trainer.js';

/** GANomaly hyperparameters (architecture + loss weights + Adam betas). */
export interface GanomalyHParams extends GanomalyArch {
  /** Adversarial (feature-matching) loss weight (default 1). */
  wAdv: number;
  /** Contextual L1 loss weight (default 50). */
  wCon: number;
  /** Encoder L2 loss weight (default 1). */
  wEnc: number;
  /** Adam beta1 (default 0.5). */
  beta1: number;
  /** Adam beta2 (default 0.999). */
  beta2: number;
  /**
   * Recompute the generator's batch-norm running statistics on the training images after training
   * (and before each checkpoint), so that eval-mode scores match the final weights (default true;
   * false keeps the running averages of training, as the reference does). See README.md.
   */
  bnRecalibration: boolean;
}

/** Every default, as in the paper and the authors' code. */
export const GANOMALY_DEFAULTS: GanomalyHParams = {
  isize: 32,
  nc: 1,
  nz: 100,
  ngf: 64,
  ndf: 64,
  extraLayers: 0,
  wAdv: 1,
  wCon: 50,
  wEnc: 1,
  beta1: 0.5,
  beta2: 0.999,
  bnRecalibration: true,
};

/** Default training options: 15 epochs (the authors' niter), batch 64, Adam lr 2e-4. */
export const GANOMALY_TRAIN_DEFAULTS = { epochs: 15, batchSize: 64, lr: 2e-4 };

/** Checks a partial hyperparameter object; unknown keys and bad values are AnogenErrors. */
export function ganomalyHParams(h: Record<string, unknown> = {}): GanomalyHParams {
  const valid = Object.keys(GANOMALY_DEFAULTS);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    if (!valid.includes(k)) throw new AnogenError(`GANomaly: unknown option ${JSON.stringify(k)}; valid options: ${valid.join(', ')}`);
    out[k] = v;
    if (typeof GANOMALY_DEFAULTS[k as keyof GanomalyHParams] === 'boolean') {
      if (typeof v !== 'boolean') throw new AnogenError(`GANomaly ${k}: ${JSON.stringify(v)} is not valid; expected true or false`);
    } else if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new AnogenError(`GANomaly ${k}: ${JSON.stringify(v)} is not a finite number`);
    }
  }
  return { ...GANOMALY_DEFAULTS, ...(out as Partial<GanomalyHParams>) };
}

/** GANomaly as an anogen detector. */
export class Ganomaly extends Detector<GanomalyHParams> {
  readonly name = 'ganomaly';
  readonly nets: GanomalyNetworks;
  /** Called by the trainer at each epoch end / interruption (set by whoever writes bundles). */
  checkpointer?: TrainConfig['saveCheckpoint'];

  constructor(hparams: Partial<GanomalyHParams> = {}) {
    super(ganomalyHParams(hparams as Record<string, unknown>));
    const { isize, nc, nz, ngf, ndf, extraLayers } = this.hparams;
    this.nets = new GanomalyNetworks({ isize, nc, nz, ngf, ndf, extraLayers });
  }

  private checkInput(x: Tensor): void {
    const [, c] = x.shape;
    if (x.ndim !== 4 || c !== this.hparams.nc) {
      throw new AnogenError(`GANomaly: expected images N x ${this.hparams.nc} x H x W, got [${x.shape.join(', ')}]`);
    }
  }

  protected async fitModel(train: ImageSet, opts: FitOptions): Promise<FitReport> {
    this.checkInput(train.images);
    const x = this.resize(train.images);
    try {
      return await trainGanomaly(this.nets, { images: x }, opts, {
        epochs: opts.epochs ?? GANOMALY_TRAIN_DEFAULTS.epochs,
        batchSize: opts.batchSize ?? GANOMALY_TRAIN_DEFAULTS.batchSize,
        lr: opts.lr ?? GANOMALY_TRAIN_DEFAULTS.lr,
        beta1: this.hparams.beta1,
        beta2: this.hparams.beta2,
        weights: { wAdv: this.hparams.wAdv, wCon: this.hparams.wCon, wEnc: this.hparams.wEnc },
        bnRecalibration: this.hparams.bnRecalibration,
        saveCheckpoint: this.checkpointer,
      });
    } finally {
      if (x !== train.images) x.dispose();
    }
  }

  /** Images resized (bilinear) to isize when they are not already. */
  private resize(x: Tensor): Tensor {
    const s = this.hparams.isize;
    if (x.shape[2] === s && x.shape[3] === s) return x;
    return noGrad(() => F.interpolate(x, { size: s, mode: 'bilinear' }));
  }

  protected scoreRaw(x: Tensor, opts: { maps: boolean }): ScoreResult {
    this.checkInput(x);
    this.nets.eval();
    const n = x.shape[0];
    const [h, w] = [x.shape[2], x.shape[3]];
    const scores = new Float32Array(n);
    const maps: Tensor[] = [];
    const bs = 256;
    noGrad(() => {
      for (let i = 0; i < n; i += bs) {
        const m = tidy(() => {
          const xb = x.narrow(0, i, Math.min(bs, n - i));
          const xr = this.resize(xb);
          const [fake, latentI, latentO] = this.nets.netg.call(xr);
          scores.set(latentScore(latentI, latentO).toFloat32Array(), i);
          if (!opts.maps) return null;
          const r = residualMap(xr, fake);
          return r.shape[2] === h && r.shape[3] === w ? r : F.interpolate(r, { size: [h, w], mode: 'bilinear' });
        });
        if (m !== null) maps.push(m);
      }
    });
    if (!opts.maps) return { scores };
    const all = maps.length === 1 ? maps[0] : cat(maps, 0);
    if (maps.length > 1) for (const m of maps) m.dispose();
    return { scores, maps: all };
  }

  /** Reconstructions x^ (at isize, eval mode) for reports. */
  reconstruct(x: Tensor): Tensor {
    this.checkInput(x);
    this.nets.eval();
    return noGrad(() => tidy(() => this.nets.netg.call(this.resize(x))[0]));
  }

  /** Discriminator features (eval mode), flattened (N x F), for t-SNE plots. */
  features(x: Tensor): Tensor {
    this.checkInput(x);
    this.nets.eval();
    return noGrad(() => tidy(() => this.nets.netd.call(this.resize(x))[1].flatten(1)));
  }

  /** Every parameter and batch-norm buffer (`netg.…`, `netd.…`, PyTorch's names); detached tensors sharing the weights' memory. */
  stateDict(): Map<string, Tensor> {
    return this.nets.stateDict();
  }

  /** Loads weights (strict: names and shapes must match the architecture). */
  loadStateDict(sd: Map<string, Tensor>): void {
    const own = this.nets.stateDictKeys();
    const missing = own.filter((k) => !sd.has(k));
    const unexpected = [...sd.keys()].filter((k) => !own.includes(k));
    if (missing.length > 0 || unexpected.length > 0) {
      const few = (a: string[]) => `${a.slice(0, 3).join(', ')}${a.length > 3 ? ', ...' : ''}`;
      const { isize, nc, nz, ngf, ndf, extraLayers } = this.hparams;
      throw new AnogenError(
        `GANomaly weights do not match the architecture (isize ${isize}, nc ${nc}, nz ${nz}, ngf ${ngf}, ndf ${ndf}, extraLayers ${extraLayers}): ` +
          `${missing.length} missing (${few(missing)}), ${unexpected.length} unexpected (${few(unexpected)})`,
      );
    }
    this.nets.loadStateDict(sd, { source: 'GANomaly weights' });
  }

  dispose(): void {
    this.nets.dispose();
  }
}

registerDetector({
  name: 'ganomaly',
  description: 'GANomaly (Akcay et al., 2018): encoder-decoder-encoder GAN, score = latent reconstruction error',
  defaults: { ...GANOMALY_DEFAULTS },
  tiny: { isize: 16, nz: 8, ngf: 8, ndf: 8 },
  trainDefaults: { ...GANOMALY_TRAIN_DEFAULTS },
  create: (h = {}) => new Ganomaly(ganomalyHParams(h)),
});
