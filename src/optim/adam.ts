/** Adam and AdamW, with torch.optim's update formulas (single-tensor path, PyTorch 1.13). */
import type { Tensor } from '../core/tensor.js';
import { Optimizer, withDefaults, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

/** Hyperparameters of {@link Adam}. */
export interface AdamOptions {
  /** default 1e-3 */ lr: number;
  /** Coefficients of the running averages of the gradient and its square (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0; AdamW: decoupled decay, default 1e-2). */
  weightDecay: number;
  /** Use the maximum of past squared-gradient averages (AMSGrad; default false). */
  amsgrad: boolean;
  /** Maximise the objective instead (default false). */
  maximize: boolean;
}

const ADAM_DEFAULTS: AdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };

/**
 * Adam (Kingma & Ba): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), exactly as torch.optim.Adam.
 */
export class Adam extends Optimizer<AdamOptions> {
  protected readonly decoupled: boolean;
  constructor(params: Tensor[] | ParamGroupInput<AdamOptions>[], opts: Partial<AdamOptions> = {}, name = 'Adam', decoupled = false) {
    super(name, params, withDefaults({ ...ADAM_DEFAULTS, ...(decoupled ? { weightDecay: 1e-2 } : {}) }, opts));
    this.decoupled = decoupled;
  }
  protected validate(g: ParamGroup<AdamOptions>): void {
    this.checkRange('lr', g.lr, 0);
    this.checkRange('eps', g.eps, 0);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) this.checkRange('betas', g.betas, 0, 1, true);
    this.checkRange('betas[0]', g.betas[0], 0, 1, true);
    this.checkRange('betas[1]', g.betas[1], 0, 1, true);
    this.checkRange('weightDecay', g.weightDecay, 0);
  }
  protected update(p: Tensor, grad0: Tensor, s: ParamState, g: ParamGroup<AdamOptions>): void {
    const [beta1, beta2] = g.betas;
    let grad = g.maximize ? grad0.neg() : grad0;
    if (s.step === 0) {
      s.tensors.exp_avg = this.zerosState(p);
      s.tensors.exp_avg_sq = this.zerosState(p);
      if (g.amsgrad) s.tensors.max_exp_avg_sq = this.zerosState(p);
    }
    const expAvg = s.tensors.exp_avg!;
    const expAvgSq = s.tensors.exp_avg_sq!;
    s.step += 1;
    if (g.weightDecay !== 0) {
      if (this.decoupled) p.mul_(1 - g.lr * g.weightDecay);
      else grad = grad.add(p, g.weightDecay);
    }
    expAvg.mul_(beta1).add_(grad, 1 - beta1);
    expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const step = s.step;
    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2 = 1 - beta2 ** step;
    const stepSize = g.lr / biasCorrection1;
    const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
    let denom: Tensor;
    if (g.amsgrad) {
      const maxSq = s.tensors.max_exp_avg_sq!;
      maxSq.maximum_(expAvgSq);
      denom = maxSq.sqrt().div_(biasCorrection2Sqrt).add_(g.eps);
    } else {
      denom = expAvgSq.sqrt().div_(biasCorrection2Sqrt).add_(g.eps);
    }
    p.addcdiv_(expAvg, denom, -stepSize);
  }
}

/** AdamW (Loshchilov & Hutter): Adam with decoupled weight decay p *= 1 - lr * weightDecay (default 1e-2). */
export class AdamW extends Adam {
  constructor(params: Tensor[] | ParamGroupInput<AdamOptions>[], opts: Partial<AdamOptions> = {}) {
    super(params, opts, 'AdamW', true);
  }
}
