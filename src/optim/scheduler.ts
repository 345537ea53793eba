/**
 * Learning-rate schedules (torch.optim.lr_scheduler): StepLR, LambdaLR, LinearLR and the
 * pix2pix/CycleGAN linear decay. Call `step()` once per epoch after the optimiser's steps.
 */
import { AnogenError } from '../core/errors.js';
import type { BaseHyper, Optimizer } from './optimizer.js';

/** Base class: remembers each group's initial learning rate and the epoch counter. */
export abstract class LRScheduler {
  /** Epochs stepped so far (0 after construction, as PyTorch's last_epoch). */
  lastEpoch = 0;
  readonly baseLrs: number[];
  constructor(readonly optimizer: Optimizer<BaseHyper>) {
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
  }
  /** The learning rates for epoch `lastEpoch`. */
  protected abstract computeLrs(): number[];
  /** Sets the epoch-0 rates; subclasses call it at the end of their constructor. */
  protected init(): void {
    this.apply(this.computeLrs());
  }
  private apply(lrs: number[]): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = lrs[i]!;
    });
  }
  /** Advances one epoch and updates the optimiser's learning rates. */
  step(): void {
    this.lastEpoch += 1;
    this.apply(this.computeLrs());
  }
  /** The current learning rate of each group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}

/** Multiplies the rate by gamma (default 0.1) every stepSize epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer<any>, opts: { stepSize: number; gamma?: number }) {
    super(optimizer);
    if (!Number.isInteger(opts.stepSize) || opts.stepSize < 1) {
      throw new AnogenError(`StepLR: stepSize must be a positive integer, got ${JSON.stringify(opts.stepSize)}`);
    }
    this.stepSize = opts.stepSize;
    this.gamma = opts.gamma ?? 0.1;
    this.init();
  }
  protected computeLrs(): number[] {
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }
}

/** lr = initial lr * lambda(epoch); one function for all groups or one per group. */
export class LambdaLR extends LRScheduler {
  private readonly fns: ((epoch: number) => number)[];
  constructor(optimizer: Optimizer<any>, lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[]) {
    super(optimizer);
    const n = optimizer.paramGroups.length;
    this.fns = Array.isArray(lrLambda) ? lrLambda : new Array(n).fill(lrLambda);
    if (this.fns.length !== n || !this.fns.every((f) => typeof f === 'function')) {
      throw new AnogenError(`LambdaLR: expected one function or ${n} functions (one per parameter group)`);
    }
    this.init();
  }
  protected computeLrs(): number[] {
    return this.baseLrs.map((lr, i) => lr * this.fns[i]!(this.lastEpoch));
  }
}

/**
 * Linear change of the factor from startFactor (default 1/3) to endFactor (default 1) over
 * totalIters epochs (default 5), then constant (torch's LinearLR, in closed form).
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(optimizer: Optimizer<any>, opts: { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super(optimizer);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = opts.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1) || !(this.endFactor >= 0 && this.endFactor <= 1)) {
      throw new AnogenError('LinearLR: startFactor must be in (0, 1] and endFactor in [0, 1]');
    }
    if (!Number.isInteger(this.totalIters) || this.totalIters < 1) throw new AnogenError('LinearLR: totalIters must be a positive integer');
    this.init();
  }
  protected computeLrs(): number[] {
    const t = Math.min(this.lastEpoch, this.totalIters) / this.totalIters;
    const f = this.startFactor + (this.endFactor - this.startFactor) * t;
    return this.baseLrs.map((lr) => lr * f);
  }
}

/**
 * pix2pix/CycleGAN's schedule: the initial rate for `constantEpochs`, then a linear decay to zero
 * over `decayEpochs`: factor(e) = 1 - max(0, e + 1 - constantEpochs) / (decayEpochs + 1).
 */
export class LinearDecayLR extends LambdaLR {
  constructor(optimizer: Optimizer<any>, opts: { constantEpochs: number; decayEpochs: number }) {
    const { constantEpochs, decayEpochs } = opts;
    for (const [k, v] of Object.entries({ constantEpochs, decayEpochs })) {
      if (!Number.isInteger(v) || v < 0) throw new AnogenError(`LinearDecayLR: ${k} must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    super(optimizer, (e) => 1 - Math.max(0, e + 1 - constantEpochs) / (decayEpochs + 1));
  }
}
