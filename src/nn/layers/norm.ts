/** Normalisation layers: BatchNorm1d/2d, InstanceNorm2d, LayerNorm. */
import type { Tensor } from '../../core/tensor.js';
import { empty, zeros, ones, tensor } from '../../core/creation.js';
import { noGrad } from '../../core/autograd.js';
import { AnogenError } from '../../core/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { checkPositiveInt } from './util.js';

/** Options of the batch and instance norm layers. */
export interface NormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-statistics momentum (default 0.1); null for a cumulative average (batch norm only). */
  momentum?: number | null;
  /** Learn a per-channel scale and shift (default true for batch norm, false for instance norm). */
  affine?: boolean;
  /** Keep running mean/variance for evaluation (default true for batch norm, false for instance norm). */
  trackRunningStats?: boolean;
}

abstract class NormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  constructor(layer: string, numFeatures: number, opts: NormOptions, affine: boolean, track: boolean) {
    super();
    this.numFeatures = checkPositiveInt(layer, 'numFeatures', numFeatures);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? affine;
    this.trackRunningStats = opts.trackRunningStats ?? track;
    this.registerParameter('weight', this.affine ? empty([numFeatures]) : null);
    this.registerParameter('bias', this.affine ? empty([numFeatures]) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', tensor(0, { dtype: 'int64' }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }
  get weight(): Tensor | null {
    return this.paramOrNull('weight');
  }
  get bias(): Tensor | null {
    return this.paramOrNull('bias');
  }
  get runningMean(): Tensor | null {
    return this.bufferOrNull('running_mean');
  }
  get runningVar(): Tensor | null {
    return this.bufferOrNull('running_var');
  }
  get numBatchesTracked(): Tensor | null {
    return this.bufferOrNull('num_batches_tracked');
  }
  /** Running mean 0, running variance 1, batch count 0. */
  resetRunningStats(): void {
    noGrad(() => {
      this.runningMean?.zero_();
      this.runningVar?.fill_(1);
      this.numBatchesTracked?.zero_();
    });
  }
  /** Running statistics reset; weight 1, bias 0 (as PyTorch). */
  override resetParameters(): void {
    this.resetRunningStats();
    noGrad(() => {
      this.weight?.fill_(1);
      this.bias?.zero_();
    });
  }
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

abstract class BatchNormBase extends NormBase {
  constructor(layer: string, numFeatures: number, opts: NormOptions) {
    super(layer, numFeatures, opts, true, true);
  }
  protected abstract checkInput(x: Tensor): void;
  forward(x: Tensor): Tensor {
    this.checkInput(x);
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats) {
      const n = this.numBatchesTracked;
      if (n !== null) {
        noGrad(() => n.add_(1));
        if (this.momentum === null) factor = 1 / n.item();
      }
    }
    const bnTraining = this.training || (this.runningMean === null && this.runningVar === null);
    const useRunning = !this.training || this.trackRunningStats;
    return F.batchNorm(x, useRunning ? this.runningMean : null, useRunning ? this.runningVar : null, {
      weight: this.weight,
      bias: this.bias,
      training: bnTraining,
      momentum: factor,
      eps: this.eps,
    });
  }
}

/** Batch normalisation over (N, C) or (N, C, L) input, as torch.nn.BatchNorm1d. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: NormOptions = {}) {
    super('BatchNorm1d', numFeatures, opts);
  }
  protected checkInput(x: Tensor): void {
    const s = x.shape;
    if ((s.length !== 2 && s.length !== 3) || s[1] !== this.numFeatures) {
      throw new AnogenError(`BatchNorm1d: expected a 2-D or 3-D input with ${this.numFeatures} channels in dim 1, got shape [${s.join(', ')}]`);
    }
  }
}

/** Batch normalisation over NCHW input, as torch.nn.BatchNorm2d. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: NormOptions = {}) {
    super('BatchNorm2d', numFeatures, opts);
  }
  protected checkInput(x: Tensor): void {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== this.numFeatures) {
      throw new AnogenError(`BatchNorm2d: expected a 4-D NCHW input with ${this.numFeatures} channels, got shape [${s.join(', ')}]`);
    }
  }
}

/**
 * Instance normalisation of NCHW input (per sample and channel), as torch.nn.InstanceNorm2d:
 * affine and trackRunningStats default false.
 */
export class InstanceNorm2d extends NormBase {
  constructor(numFeatures: number, opts: NormOptions = {}) {
    super('InstanceNorm2d', numFeatures, opts, false, false);
  }
  forward(x: Tensor): Tensor {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== this.numFeatures) {
      throw new AnogenError(`InstanceNorm2d: expected a 4-D NCHW input with ${this.numFeatures} channels, got shape [${s.join(', ')}]`);
    }
    return F.instanceNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      useInputStats: this.training || !this.trackRunningStats,
      momentum: this.momentum ?? 0.1,
      eps: this.eps,
    });
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** default 1e-5 */ eps?: number;
  /** Learn a per-element scale and shift (default true). */
  elementwiseAffine?: boolean;
}

/** Layer normalisation over the trailing `normalizedShape` dims, as torch.nn.LayerNorm. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  constructor(normalizedShape: number | number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    for (const d of this.normalizedShape) checkPositiveInt('LayerNorm', 'normalizedShape', d);
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.registerParameter('weight', affine ? empty(this.normalizedShape) : null);
    this.registerParameter('bias', affine ? empty(this.normalizedShape) : null);
    this.resetParameters();
  }
  get weight(): Tensor | null {
    return this.paramOrNull('weight');
  }
  get bias(): Tensor | null {
    return this.paramOrNull('bias');
  }
  /** weight 1, bias 0. */
  override resetParameters(): void {
    noGrad(() => {
      this.weight?.fill_(1);
      this.bias?.zero_();
    });
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    return `[${this.normalizedShape}], eps=${this.eps}`;
  }
}
