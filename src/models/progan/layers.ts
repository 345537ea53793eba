/**
 * The building blocks of the progressive GAN (Karras et al., 2018, section 4):
 * - equalised learning rate: weights drawn from N(0, 1) and scaled at run time by He's constant
 *   c = gain / sqrt(fan_in) (gain sqrt(2) before a leaky ReLU, 1 for the linear output layers),
 *   so that Adam's per-parameter step size is the same for every layer (section 4.1);
 * - pixel-wise feature normalisation b = a / sqrt(mean_channels(a^2) + 1e-8) in the generator
 *   after every convolution (section 4.2);
 * - the minibatch standard deviation layer of the discriminator (section 3): the standard
 *   deviation of every feature at every position over the minibatch, averaged into one number
 *   and appended as one constant feature map.
 */
import type { Tensor } from '../../core/tensor.js';
import { cat } from '../../core/tensor.js';
import { empty } from '../../core/creation.js';
import { AnogenError } from '../../core/errors.js';
import * as F from '../../nn/functional.js';
import { normal_, zeros_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';

/** He's gain for a leaky ReLU layer as the paper uses it: sqrt(2). */
export const HE_GAIN = Math.SQRT2;

/** The equalised-LR constant gain / sqrt(fanIn) (He et al., 2015; default gain sqrt(2)). */
export function heConstant(fanIn: number, gain = HE_GAIN): number {
  if (!Number.isInteger(fanIn) || fanIn < 1) throw new AnogenError(`heConstant: fanIn must be a positive integer, got ${JSON.stringify(fanIn)}`);
  return gain / Math.sqrt(fanIn);
}

/** A 2-D convolution with equalised learning rate: weight N(0, 1), used as weight * heConstant(in * k * k, gain); bias 0. */
export class EqualizedConv2d extends Module {
  /** The run-time weight scale c. */
  readonly scale: number;
  readonly padding: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    opts: { gain?: number; padding?: number } = {},
  ) {
    super();
    this.scale = heConstant(inChannels * kernelSize * kernelSize, opts.gain ?? HE_GAIN);
    this.padding = opts.padding ?? Math.floor(kernelSize / 2);
    this.registerParameter('weight', empty([outChannels, inChannels, kernelSize, kernelSize]));
    this.registerParameter('bias', empty([outChannels]));
    this.resetParameters();
  }
  /** weight ~ N(0, 1), bias = 0 (the paper's initialisation; the scale is applied at run time). */
  override resetParameters(): void {
    normal_(this.param('weight'), 0, 1);
    zeros_(this.param('bias'));
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.param('weight').mul(this.scale), this.param('bias'), { padding: this.padding });
  }
}

/**
 * A dense layer with equalised learning rate: weight N(0, 1), used as weight * heConstant(in, gain);
 * bias 0 (`bias` default true; false: no bias, e.g. when the output is reshaped and biased per channel).
 */
export class EqualizedLinear extends Module {
  /** The run-time weight scale c. */
  readonly scale: number;
  readonly hasBias: boolean;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { gain?: number; bias?: boolean } = {},
  ) {
    super();
    this.scale = heConstant(inFeatures, opts.gain ?? HE_GAIN);
    this.hasBias = opts.bias ?? true;
    this.registerParameter('weight', empty([outFeatures, inFeatures]));
    if (this.hasBias) this.registerParameter('bias', empty([outFeatures]));
    this.resetParameters();
  }
  /** weight ~ N(0, 1), bias = 0. */
  override resetParameters(): void {
    normal_(this.param('weight'), 0, 1);
    if (this.hasBias) zeros_(this.param('bias'));
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.param('weight').mul(this.scale), this.hasBias ? this.param('bias') : null);
  }
}

/** Pixel-wise feature normalisation over the channels (dim 1): a / sqrt(mean(a^2) + eps) (eps default 1e-8). */
export function pixelNorm(x: Tensor, eps = 1e-8): Tensor {
  return x.div(x.square().mean(1, true).add(eps).sqrt());
}

/**
 * The minibatch standard deviation layer: x [N, C, H, W] -> [N, C + 1, H, W], the extra map
 * holding s = mean over (C, H, W) of sqrt(var over the batch + eps) (biased variance, eps 1e-8,
 * as the authors' code), the same value for every image and position.
 */
export function minibatchStdDev(x: Tensor, eps = 1e-8): Tensor {
  if (x.ndim !== 4) throw new AnogenError(`minibatchStdDev: expected [N, C, H, W], got [${x.shape.join(', ')}]`);
  const [n, , h, w] = x.shape as [number, number, number, number];
  const s = x.sub(x.mean(0, true)).square().mean(0).add(eps).sqrt().mean();
  return cat([x, s.reshape([1, 1, 1, 1]).expand([n, 1, h, w])], 1);
}

/** LeakyReLU(0.2), the paper's activation in both networks. */
export const lrelu = (x: Tensor): Tensor => F.leakyRelu(x, 0.2);
