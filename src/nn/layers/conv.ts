/** Conv2d and ConvTranspose2d layers. */
import type { Tensor } from '../../core/tensor.js';
import { empty } from '../../core/creation.js';
import { AnogenError, checkOneOf } from '../../core/errors.js';
import * as F from '../functional.js';
import { defaultLinearInit } from '../init.js';
import { Module } from '../module.js';
import { checkPositiveInt } from './util.js';

/** A size for both spatial dims, or [h, w]. */
export type Size2 = number | [number, number];
/** Padding modes of Conv2d. */
export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

function pair(layer: string, option: string, v: Size2, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new AnogenError(`${layer}: ${option} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0], p[1]];
}

/** Options of {@link Conv2d}. */
export interface Conv2dOptions {
  /** default 1 */ stride?: Size2;
  /** default 0 */ padding?: Size2;
  /** default 1 */ dilation?: Size2;
  /** default 1 */ groups?: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** How the padding is filled (default 'zeros'). */
  paddingMode?: PaddingMode;
}

abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  constructor(layer: string, inChannels: number, outChannels: number, kernelSize: Size2, opts: Conv2dOptions, transposed: boolean) {
    super();
    this.inChannels = checkPositiveInt(layer, 'inChannels', inChannels);
    this.outChannels = checkPositiveInt(layer, 'outChannels', outChannels);
    this.kernelSize = pair(layer, 'kernelSize', kernelSize, 1);
    this.stride = pair(layer, 'stride', opts.stride ?? 1, 1);
    this.padding = pair(layer, 'padding', opts.padding ?? 0, 0);
    this.dilation = pair(layer, 'dilation', opts.dilation ?? 1, 1);
    this.groups = checkPositiveInt(layer, 'groups', opts.groups ?? 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new AnogenError(`${layer}: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    }
    const [kh, kw] = this.kernelSize;
    const shape = transposed ? [inChannels, outChannels / this.groups, kh, kw] : [outChannels, inChannels / this.groups, kh, kw];
    this.registerParameter('weight', empty(shape));
    this.registerParameter('bias', opts.bias === false ? null : empty([outChannels]));
  }
  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.paramOrNull('bias');
  }
  /** PyTorch's default: weight kaiming-uniform (a = sqrt(5)), bias U(+-1/sqrt(fan_in)). */
  override resetParameters(): void {
    defaultLinearInit(this.weight, this.bias);
  }
  protected checkInput(layer: string, x: Tensor): void {
    const s = x.shape;
    if (s.length !== 4) throw new AnogenError(`${layer}: expected a 4-D NCHW input, got shape [${s.join(', ')}]`);
    if (s[1] !== this.inChannels) {
      throw new AnogenError(`${layer}: expected ${this.inChannels} input channels, got shape [${s.join(', ')}]`);
    }
  }
  override extraRepr(): string {
    return (
      `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}]` + (this.bias === null ? ', bias=false' : '')
    );
  }
}

/** 2-D convolution over NCHW input, as torch.nn.Conv2d. weight [out, in/groups, kh, kw]. */
export class Conv2d extends ConvNd {
  readonly paddingMode: PaddingMode;
  constructor(inChannels: number, outChannels: number, kernelSize: Size2, opts: Conv2dOptions = {}) {
    super('Conv2d', inChannels, outChannels, kernelSize, opts, false);
    this.paddingMode = checkOneOf('Conv2d paddingMode', opts.paddingMode ?? 'zeros', ['zeros', 'reflect', 'replicate', 'circular'] as const);
    this.resetParameters();
  }
  forward(x: Tensor): Tensor {
    this.checkInput('Conv2d', x);
    const o = { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
    if (this.paddingMode === 'zeros') return F.conv2d(x, this.weight, this.bias, o);
    const [ph, pw] = this.padding;
    const padded = F.pad(x, [pw, pw, ph, ph], this.paddingMode);
    try {
      return F.conv2d(padded, this.weight, this.bias, { ...o, padding: 0 });
    } finally {
      padded.dispose();
    }
  }
}

/** Options of {@link ConvTranspose2d}. */
export interface ConvTranspose2dOptions extends Omit<Conv2dOptions, 'paddingMode'> {
  /** Extra size added to one side of the output (default 0). */
  outputPadding?: Size2;
}

/**
 * 2-D transposed convolution, as torch.nn.ConvTranspose2d. weight [in, out/groups, kh, kw]
 * (so PyTorch's default init takes fan_in from out/groups * kh * kw, as PyTorch does).
 */
export class ConvTranspose2d extends ConvNd {
  readonly outputPadding: [number, number];
  constructor(inChannels: number, outChannels: number, kernelSize: Size2, opts: ConvTranspose2dOptions = {}) {
    super('ConvTranspose2d', inChannels, outChannels, kernelSize, opts, true);
    this.outputPadding = pair('ConvTranspose2d', 'outputPadding', opts.outputPadding ?? 0, 0);
    this.resetParameters();
  }
  forward(x: Tensor): Tensor {
    this.checkInput('ConvTranspose2d', x);
    return F.convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
      outputPadding: this.outputPadding,
    });
  }
}
