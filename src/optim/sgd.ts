/** SGD with momentum, dampening, Nesterov and weight decay, as torch.optim.SGD. */
import type { Tensor } from '../core/tensor.js';
import { keep } from '../core/scope.js';
import { AnogenError } from '../core/errors.js';
import { Optimizer, withDefaults, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

/** Hyperparameters of {@link SGD}. */
export interface SGDOptions {
  /** default 1e-3 */ lr: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** L2 penalty (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Maximise the objective instead (default false). */
  maximize: boolean;
}

const SGD_DEFAULTS: SGDOptions = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

/**
 * Stochastic gradient descent: d = g + wd p; b = momentum b + (1 - dampening) d (b = d at the
 * first step); d = nesterov ? d + momentum b : b; p -= lr d.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Tensor[] | ParamGroupInput<SGDOptions>[], opts: Partial<SGDOptions> = {}) {
    super('SGD', params, withDefaults(SGD_DEFAULTS, opts));
  }
  protected validate(g: ParamGroup<SGDOptions>): void {
    this.checkRange('lr', g.lr, 0);
    this.checkRange('momentum', g.momentum, 0);
    this.checkRange('dampening', g.dampening, 0);
    this.checkRange('weightDecay', g.weightDecay, 0);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new AnogenError('SGD: nesterov needs momentum > 0 and dampening 0');
    }
  }
  protected update(p: Tensor, grad: Tensor, s: ParamState, g: ParamGroup<SGDOptions>): void {
    let d = g.maximize ? grad.neg() : grad;
    if (g.weightDecay !== 0) d = d.add(p, g.weightDecay);
    if (g.momentum !== 0) {
      let buf = s.tensors.momentum_buffer;
      if (buf === undefined) {
        buf = keep(d.clone().detach());
        s.tensors.momentum_buffer = buf;
      } else {
        buf.mul_(g.momentum).add_(d, 1 - g.dampening);
      }
      d = g.nesterov ? d.add(buf, g.momentum) : buf;
    }
    s.step += 1;
    p.add_(d, -g.lr);
  }
}
