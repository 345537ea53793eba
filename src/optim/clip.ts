/** Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_) and WGAN weight clipping. */
import type { Tensor } from '../core/tensor.js';
import { stack } from '../core/tensor.js';
import { noGrad } from '../core/autograd.js';
import { tidy } from '../core/scope.js';
import { AnogenError } from '../core/errors.js';

/** Options of {@link clipGradNorm_}. */
export interface ClipNormOptions {
  /** The p of the p-norm (default 2; Infinity for the max norm). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite (default false). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `params` in place so that their total norm (the norm of all of them
 * concatenated) is at most maxNorm, as PyTorch: coef = min(1, maxNorm / (total + 1e-6)).
 * Returns the total norm before clipping (0 when no parameter has a gradient).
 */
export function clipGradNorm_(params: Tensor[], maxNorm: number, opts: ClipNormOptions = {}): number {
  const normType = opts.normType ?? 2;
  if (!(maxNorm >= 0)) throw new AnogenError(`clipGradNorm_: maxNorm must be >= 0, got ${maxNorm}`);
  return noGrad(() =>
    tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      let total: Tensor;
      if (normType === Infinity) {
        const norms = grads.map((g) => g.abs().max());
        total = norms.length === 1 ? norms[0]! : stack(norms).max();
      } else {
        total = stack(grads.map((g) => g.norm(normType))).norm(normType);
      }
      const value = total.item();
      if (opts.errorIfNonfinite && !Number.isFinite(value)) {
        throw new AnogenError(`clipGradNorm_: the total norm of order ${normType} of the gradients is ${value}`);
      }
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1.0);
      for (const g of grads) g.mul_(coef);
      return value;
    }),
  );
}

/** Clamps every gradient element of `params` into [-clipValue, clipValue] in place. */
export function clipGradValue_(params: Tensor[], clipValue: number): void {
  if (!(clipValue >= 0)) throw new AnogenError(`clipGradValue_: clipValue must be >= 0, got ${clipValue}`);
  noGrad(() =>
    tidy(() => {
      for (const p of params) p.grad?.clamp_(-clipValue, clipValue);
    }),
  );
}

/** Clamps the parameters themselves into [-c, c] in place (the original WGAN's weight clipping, c = 0.01 there). */
export function clampWeights_(params: Tensor[], c: number): void {
  if (!(c >= 0)) throw new AnogenError(`clampWeights_: c must be >= 0, got ${c}`);
  noGrad(() => {
    for (const p of params) p.clamp_(-c, c);
  });
}
