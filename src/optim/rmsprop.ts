/** RMSprop, as torch.optim.RMSprop (optionally centered, with momentum). */
import type { Tensor } from '../core/tensor.js';
import { Optimizer, withDefaults, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

/** Hyperparameters of {@link RMSprop}. */
export interface RMSpropOptions {
  /** default 1e-2 */ lr: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha: number;
  /** default 1e-8 */ eps: number;
  /** L2 penalty (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Normalise by the estimated variance instead of the second moment (default false). */
  centered: boolean;
  /** Maximise the objective instead (default false). */
  maximize: boolean;
}

const RMSPROP_DEFAULTS: RMSpropOptions = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false };

/** RMSprop: v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps) (WGAN's optimiser). */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Tensor[] | ParamGroupInput<RMSpropOptions>[], opts: Partial<RMSpropOptions> = {}) {
    super('RMSprop', params, withDefaults(RMSPROP_DEFAULTS, opts));
  }
  protected validate(g: ParamGroup<RMSpropOptions>): void {
    this.checkRange('lr', g.lr, 0);
    this.checkRange('alpha', g.alpha, 0);
    this.checkRange('eps', g.eps, 0);
    this.checkRange('weightDecay', g.weightDecay, 0);
    this.checkRange('momentum', g.momentum, 0);
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: ParamGroup<RMSpropOptions>): void {
    let grad = g.maximize ? grad0.neg() : grad0;
    if (s.step === 0) {
      s.tensors.square_avg = this.zerosState(p);
      if (g.momentum > 0) s.tensors.momentum_buffer = this.zerosState(p);
      if (g.centered) s.tensors.grad_avg = this.zerosState(p);
    }
    s.step += 1;
    if (g.weightDecay !== 0) grad = grad.add(p, g.weightDecay);
    const sq = s.tensors.square_avg!;
    sq.mul_(g.alpha).addcmul_(grad, grad, 1 - g.alpha);
    let avg: Tensor;
    if (g.centered) {
      const ga = s.tensors.grad_avg!;
      ga.mul_(g.alpha).add_(grad, 1 - g.alpha);
      avg = sq.clone().addcmul_(ga, ga, -1).sqrt_();
    } else {
      avg = sq.sqrt();
    }
    avg.add_(g.eps);
    if (g.momentum > 0) {
      const buf = s.tensors.momentum_buffer!;
      buf.mul_(g.momentum).addcdiv_(grad, avg);
      p.add_(buf, -g.lr);
    } else {
      p.addcdiv_(grad, avg, -g.lr);
    }
  }
}
