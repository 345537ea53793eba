/** Linear (fully connected) and Identity layers. */
import type { Tensor } from '../../core/tensor.js';
import { empty } from '../../core/creation.js';
import { checkPositiveInt } from './util.js';
import * as F from '../functional.js';
import { defaultLinearInit } from '../init.js';
import { Module } from '../module.js';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * y = x W^T + b, as torch.nn.Linear. weight [outFeatures, inFeatures], bias [outFeatures].
 * Initialised as PyTorch: weight kaiming-uniform (a = sqrt(5)), bias U(+-1/sqrt(inFeatures)).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.inFeatures = checkPositiveInt('Linear', 'inFeatures', inFeatures);
    this.outFeatures = checkPositiveInt('Linear', 'outFeatures', outFeatures);
    this.registerParameter('weight', empty([outFeatures, inFeatures]));
    this.registerParameter('bias', opts.bias === false ? null : empty([outFeatures]));
    this.resetParameters();
  }
  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.paramOrNull('bias');
  }
  override resetParameters(): void {
    defaultLinearInit(this.weight, this.bias);
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Returns its input unchanged (torch.nn.Identity). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
