/**
 * Parameter initialisers (torch.nn.init, camelCase). Each fills a tensor in place, without
 * recording autograd, and returns it. The random ones draw from libtorch's generator in the
 * same order and with the same arithmetic as PyTorch, so the same seed gives the same weights.
 */
import type { Tensor } from '../core/tensor.js';
import { noGrad } from '../core/autograd.js';
import { AnogenError, checkOneOf } from '../core/errors.js';
import type { Module } from './module.js';

/** Nonlinearities known to {@link calculateGain}. */
export type Nonlinearity =
  'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

const NONLINEARITIES: Nonlinearity[] = [
  'linear',
  'conv1d',
  'conv2d',
  'conv3d',
  'conv_transpose1d',
  'conv_transpose2d',
  'conv_transpose3d',
  'sigmoid',
  'tanh',
  'relu',
  'leaky_relu',
  'selu',
];

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). `param` is leaky_relu's
 * negative slope (default 0.01).
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  checkOneOf('calculateGain nonlinearity', nonlinearity, NONLINEARITIES);
  switch (nonlinearity) {
    case 'tanh':
      return 5.0 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2.0 / (1 + slope ** 2));
    }
    case 'selu':
      return 3.0 / 4;
    default:
      return 1;
  }
}

/** fan_in and fan_out of a weight as PyTorch computes them (dim 1 and dim 0 times the receptive field). */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new AnogenError(`fan in and fan out need a tensor with at least 2 dimensions, got shape [${s.join(', ')}]`);
  let receptive = 1;
  for (let i = 2; i < s.length; i++) receptive *= s[i]!;
  return { fanIn: s[1]! * receptive, fanOut: s[0]! * receptive };
}

/** Fills with U(a, b) (defaults 0, 1). */
export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return noGrad(() => t.uniform_(a, b));
}
/** Fills with N(mean, std) (defaults 0, 1). */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}
/** Fills with a constant. */
export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}
/** Fills with zeros. */
export function zeros_(t: Tensor): Tensor {
  return noGrad(() => t.zero_());
}
/** Fills with ones. */
export function ones_(t: Tensor): Tensor {
  return noGrad(() => t.fill_(1));
}

/** Glorot/Xavier uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)); gain default 1. */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return uniform_(t, -a, a);
}
/** Glorot/Xavier normal: N(0, gain * sqrt(2 / (fan_in + fan_out))); gain default 1. */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  return normal_(t, 0, std);
}

/** Options of the Kaiming initialisers. */
export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (default 0). */
  a?: number;
  /** Preserve the variance of the forward ('fanIn', default) or backward ('fanOut') pass. */
  mode?: 'fanIn' | 'fanOut';
  /** default 'leaky_relu' */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, opts: KaimingOptions): number {
  const mode = checkOneOf('kaiming mode', opts.mode ?? 'fanIn', ['fanIn', 'fanOut'] as const);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** He/Kaiming uniform: U(-b, b), b = gain * sqrt(3 / fan). Defaults a 0, mode 'fanIn', 'leaky_relu'. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  if (t.numel === 0) return t;
  const bound = Math.sqrt(3.0) * kaimingStd(t, opts);
  return uniform_(t, -bound, bound);
}
/** He/Kaiming normal: N(0, gain / sqrt(fan)). Defaults a 0, mode 'fanIn', 'leaky_relu'. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  if (t.numel === 0) return t;
  return normal_(t, 0, kaimingStd(t, opts));
}

/**
 * The default initialisation of PyTorch's Linear and Conv layers: weight kaiming-uniform with
 * a = sqrt(5), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 */
export function defaultLinearInit(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias !== null) {
    const { fanIn } = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

/**
 * DCGAN's initialisation (Radford et al.; the `weights_init` of the DCGAN and GANomaly code),
 * applied to every descendant in PyTorch's `module.apply` order: convolution and transposed
 * convolution weights ~ N(0, 0.02); batch-norm weights ~ N(1, 0.02) and biases 0. Other
 * parameters (convolution biases included, as in the reference) are left as they are.
 * Returns the module.
 */
export function dcganInit<M extends Module<any, any>>(module: M): M {
  module.apply((m) => {
    const name = m.typeName;
    if (name.includes('Conv')) {
      normal_(m.param('weight'), 0.0, 0.02);
    } else if (name.includes('BatchNorm')) {
      const w = m.paramOrNull('weight');
      const b = m.paramOrNull('bias');
      if (w !== null) normal_(w, 1.0, 0.02);
      if (b !== null) constant_(b, 0);
    }
  });
  return module;
}
