/**
 * Neural-network functions (PyTorch's torch.nn.functional, camelCase). Each takes and
 * returns Tensors; defaults follow PyTorch.
 */
import { callOp } from '../core/ops.js';
import { Tensor, wrap } from '../core/tensor.js';
import { AnogenError, checkOneOf } from '../core/errors.js';
import type { Handle } from '../core/native.js';

/** A size given once for both spatial dims, or as [h, w]. */
export type Size2 = number | [number, number];
/** How a loss reduces over elements: 'mean' (default), 'sum' or 'none'. */
export type Reduction = 'none' | 'mean' | 'sum';

const REDUCTIONS: Reduction[] = ['none', 'mean', 'sum'];
function red(r: Reduction | undefined): number {
  return REDUCTIONS.indexOf(checkOneOf('reduction', r ?? 'mean', REDUCTIONS));
}
const hOpt = (t: Tensor | null | undefined): Handle | null => (t ? t.handle : null);

/** y = x W^T + b. */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return wrap(callOp('aten::linear', input.handle, weight.handle, hOpt(bias)));
}

/** Options of conv2d / convTranspose2d. */
export interface ConvOptions {
  /** default 1 */ stride?: Size2;
  /** default 0 */ padding?: Size2;
  /** default 1 */ dilation?: Size2;
  /** default 1 */ groups?: number;
}

/** 2-D convolution of NCHW input with weight [out, in/groups, kh, kw]. */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvOptions = {}): Tensor {
  return wrap(callOp('aten::conv2d', input.handle, weight.handle, hOpt(bias), opts.stride ?? 1, opts.padding ?? 0, opts.dilation ?? 1, opts.groups ?? 1));
}

/** 2-D transposed convolution, weight [in, out/groups, kh, kw]; outputPadding default 0. */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvOptions & { outputPadding?: Size2 } = {}): Tensor {
  return wrap(
    callOp(
      'aten::conv_transpose2d.input',
      input.handle,
      weight.handle,
      hOpt(bias),
      opts.stride ?? 1,
      opts.padding ?? 0,
      opts.outputPadding ?? 0,
      opts.groups ?? 1,
      opts.dilation ?? 1,
    ),
  );
}

/** Max pooling; stride defaults to kernelSize, padding 0, dilation 1, ceilMode false. */
export function maxPool2d(input: Tensor, kernelSize: Size2, opts: { stride?: Size2; padding?: Size2; dilation?: Size2; ceilMode?: boolean } = {}): Tensor {
  return wrap(callOp('aten::max_pool2d', input.handle, kernelSize, opts.stride ?? kernelSize, opts.padding ?? 0, opts.dilation ?? 1, opts.ceilMode ?? false));
}

/** Average pooling; stride defaults to kernelSize, padding 0, countIncludePad true. */
export function avgPool2d(input: Tensor, kernelSize: Size2, opts: { stride?: Size2; padding?: Size2; ceilMode?: boolean; countIncludePad?: boolean } = {}): Tensor {
  return wrap(callOp('aten::avg_pool2d', input.handle, kernelSize, opts.stride ?? kernelSize, opts.padding ?? 0, opts.ceilMode ?? false, opts.countIncludePad ?? true));
}

/** Adaptive average pooling to a fixed output size. */
export function adaptiveAvgPool2d(input: Tensor, outputSize: Size2): Tensor {
  return wrap(callOp('aten::adaptive_avg_pool2d', input.handle, outputSize));
}

/** Resize modes of {@link interpolate}. */
export type InterpolateMode = 'nearest' | 'bilinear';
/**
 * Resizes NCHW images to `size` or by `scaleFactor` (one of the two). mode default 'nearest';
 * alignCorners (bilinear only) default false.
 */
export function interpolate(input: Tensor, opts: { size?: Size2; scaleFactor?: number | [number, number]; mode?: InterpolateMode; alignCorners?: boolean }): Tensor {
  const mode = checkOneOf('interpolate mode', opts.mode ?? 'nearest', ['nearest', 'bilinear'] as const);
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) {
    throw new AnogenError('interpolate: give exactly one of size or scaleFactor');
  }
  const size = opts.size === undefined ? null : typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size;
  const scale = opts.scaleFactor === undefined ? null : typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : opts.scaleFactor;
  if (mode === 'nearest') return wrap(callOp('aten::upsample_nearest2d.vec', input.handle, size, scale));
  return wrap(callOp('aten::upsample_bilinear2d.vec', input.handle, size, opts.alignCorners ?? false, scale));
}

/** Padding modes of {@link pad}. */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';
/** Pads the last dims: pad = [left, right, top, bottom, ...] as torch.nn.functional.pad; mode default 'constant', value 0. */
export function pad(input: Tensor, padding: number[], mode: PadMode = 'constant', value = 0): Tensor {
  checkOneOf('pad mode', mode, ['constant', 'reflect', 'replicate', 'circular'] as const);
  return input.pad(padding, mode, value);
}

/** Rearranges [N, C*r*r, H, W] into [N, C, H*r, W*r] (sub-pixel upsampling). */
export function pixelShuffle(input: Tensor, upscaleFactor: number): Tensor {
  return wrap(callOp('aten::pixel_shuffle', input.handle, upscaleFactor));
}

// ---- activations (functional forms of the Tensor methods) -----------------------------------

/** max(0, x). */
export function relu(input: Tensor): Tensor {
  return input.relu();
}
/** max(0,x) + negativeSlope * min(0,x); negativeSlope default 0.01. */
export function leakyRelu(input: Tensor, negativeSlope = 0.01): Tensor {
  return input.leakyRelu(negativeSlope);
}
/** ELU, alpha default 1. */
export function elu(input: Tensor, alpha = 1): Tensor {
  return input.elu(alpha);
}
/** 1 / (1 + exp(-x)). */
export function sigmoid(input: Tensor): Tensor {
  return input.sigmoid();
}
/** Hyperbolic tangent. */
export function tanh(input: Tensor): Tensor {
  return input.tanh();
}
/** log(1 + exp(beta x)) / beta; beta default 1, threshold default 20. */
export function softplus(input: Tensor, beta = 1, threshold = 20): Tensor {
  return input.softplus(beta, threshold);
}
/** log(sigmoid(x)). */
export function logSigmoid(input: Tensor): Tensor {
  return input.logSigmoid();
}
/** GELU; approximate default 'none' ('tanh' for the tanh approximation). */
export function gelu(input: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  checkOneOf('gelu approximate', approximate, ['none', 'tanh'] as const);
  return wrap(callOp('aten::gelu', input.handle, approximate));
}
/** x * sigmoid(x). */
export function silu(input: Tensor): Tensor {
  return wrap(callOp('aten::silu', input.handle));
}
/** Clamps to [minVal, maxVal] (defaults -1, 1). */
export function hardtanh(input: Tensor, minVal = -1, maxVal = 1): Tensor {
  return wrap(callOp('aten::hardtanh', input.handle, minVal, maxVal));
}

// ---- distances ------------------------------------------------------------------------------

/** Cosine similarity along dim (default 1); eps default 1e-8. */
export function cosineSimilarity(x1: Tensor, x2: Tensor, dim = 1, eps = 1e-8): Tensor {
  return wrap(callOp('aten::cosine_similarity', x1.handle, x2.handle, dim, eps));
}
/** Pairwise p-norm distances (p default 2) between the rows of x1 [.., P, M] and x2 [.., R, M]. */
export function cdist(x1: Tensor, x2: Tensor, p = 2): Tensor {
  return wrap(callOp('aten::cdist', x1.handle, x2.handle, p, null));
}
/** x / max(||x||_p, eps) along dim (p default 2, dim default 1, eps default 1e-12). */
export function normalize(input: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  const n = input.norm(p, dim, true);
  const d = n.clamp(eps);
  const out = input.div(d);
  n.dispose();
  d.dispose();
  return out;
}

/** Options of batchNorm. */
export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Use batch statistics and update running ones (default false = eval mode). */
  training?: boolean;
  /** Running-statistics momentum (default 0.1). */
  momentum?: number;
  /** default 1e-5 */ eps?: number;
}
/** Batch normalisation over dim 1 (N, C, ...), updating runningMean/runningVar in training. */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  return wrap(
    callOp(
      'aten::batch_norm',
      input.handle,
      hOpt(opts.weight),
      hOpt(opts.bias),
      hOpt(runningMean),
      hOpt(runningVar),
      opts.training ?? false,
      opts.momentum ?? 0.1,
      opts.eps ?? 1e-5,
      true,
    ),
  );
}

/** Instance normalisation (per sample and channel); eps default 1e-5. */
export function instanceNorm(
  input: Tensor,
  opts: { weight?: Tensor | null; bias?: Tensor | null; runningMean?: Tensor | null; runningVar?: Tensor | null; useInputStats?: boolean; momentum?: number; eps?: number } = {},
): Tensor {
  return wrap(
    callOp(
      'aten::instance_norm',
      input.handle,
      hOpt(opts.weight),
      hOpt(opts.bias),
      hOpt(opts.runningMean),
      hOpt(opts.runningVar),
      opts.useInputStats ?? true,
      opts.momentum ?? 0.1,
      opts.eps ?? 1e-5,
      true,
    ),
  );
}

/** Layer normalisation over the trailing `normalizedShape` dims; eps default 1e-5. */
export function layerNorm(input: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return wrap(callOp('aten::layer_norm', input.handle, normalizedShape, hOpt(weight), hOpt(bias), eps, true));
}

/** Group normalisation of the channels in `numGroups` groups; eps default 1e-5. */
export function groupNorm(input: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return wrap(callOp('aten::group_norm', input.handle, numGroups, hOpt(weight), hOpt(bias), eps, true));
}

/** Zeroes elements with probability p (default 0.5) and rescales by 1/(1-p) when training (default true). */
export function dropout(input: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new AnogenError(`dropout: p must be in [0, 1], got ${p}`);
  return wrap(callOp('aten::dropout', input.handle, p, training));
}

/** Rows of `weight` picked by integer `indices`; paddingIdx default none. */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx?: number): Tensor {
  return wrap(callOp('aten::embedding', weight.handle, indices.handle, paddingIdx ?? -1, false, false));
}

/** Softmax along dim. */
export function softmax(input: Tensor, dim: number): Tensor {
  return wrap(callOp('aten::softmax.int', input.handle, dim, null));
}
/** Log-softmax along dim. */
export function logSoftmax(input: Tensor, dim: number): Tensor {
  return wrap(callOp('aten::log_softmax.int', input.handle, dim, null));
}
/** One-hot int64 encoding (numClasses default: max + 1). */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return wrap(callOp('aten::one_hot', indices.handle, numClasses));
}

/**
 * Runs a multi-layer LSTM (torch.nn.LSTM's computation). `params` are per layer (and
 * direction): wIh, wHh, bIh, bHh (biases omitted when hasBiases is false). Returns the
 * output sequence and the final hidden and cell states.
 */
export function lstm(
  input: Tensor,
  hx: [Tensor, Tensor],
  params: Tensor[],
  opts: { hasBiases?: boolean; numLayers?: number; dropout?: number; training?: boolean; bidirectional?: boolean; batchFirst?: boolean } = {},
): { output: Tensor; h: Tensor; c: Tensor } {
  const [o, hN, cN] = callOp(
    'aten::lstm.input',
    input.handle,
    [hx[0].handle, hx[1].handle],
    params.map((p) => p.handle),
    opts.hasBiases ?? true,
    opts.numLayers ?? 1,
    opts.dropout ?? 0,
    opts.training ?? false,
    opts.bidirectional ?? false,
    opts.batchFirst ?? false,
  ) as Handle[];
  return { output: wrap(o!), h: wrap(hN!), c: wrap(cN!) };
}

// ---- losses ---------------------------------------------------------------------------------

/** Mean squared error. */
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrap(callOp('aten::mse_loss', input.handle, target.handle, red(reduction)));
}
/** Mean absolute error. */
export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrap(callOp('aten::l1_loss', input.handle, target.handle, red(reduction)));
}
/** Huber-like smooth L1 (beta default 1). */
export function smoothL1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean', beta = 1): Tensor {
  return wrap(callOp('aten::smooth_l1_loss', input.handle, target.handle, red(reduction), beta));
}
/** Binary cross-entropy on probabilities in [0, 1]. */
export function bce(input: Tensor, target: Tensor, opts: { weight?: Tensor; reduction?: Reduction } = {}): Tensor {
  return wrap(callOp('aten::binary_cross_entropy', input.handle, target.handle, hOpt(opts.weight), red(opts.reduction)));
}
/** Binary cross-entropy on logits (numerically stable). */
export function bceWithLogits(input: Tensor, target: Tensor, opts: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {}): Tensor {
  return wrap(callOp('aten::binary_cross_entropy_with_logits', input.handle, target.handle, hOpt(opts.weight), hOpt(opts.posWeight), red(opts.reduction)));
}
/** Cross-entropy of logits [N, C, ...] against int64 class targets (ignoreIndex -100, labelSmoothing 0). */
export function crossEntropy(input: Tensor, target: Tensor, opts: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number; labelSmoothing?: number } = {}): Tensor {
  return wrap(callOp('aten::cross_entropy_loss', input.handle, target.handle, hOpt(opts.weight), red(opts.reduction), opts.ignoreIndex ?? -100, opts.labelSmoothing ?? 0));
}
/** Negative log-likelihood of log-probabilities [N, C, ...] (ignoreIndex -100). */
export function nllLoss(input: Tensor, target: Tensor, opts: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number } = {}): Tensor {
  return wrap(callOp('aten::nll_loss_nd', input.handle, target.handle, hOpt(opts.weight), red(opts.reduction), opts.ignoreIndex ?? -100));
}
/**
 * KL divergence with `input` as log-probabilities (as torch.nn.functional.kl_div);
 * reduction default 'mean', logTarget default false.
 */
export function klDiv(input: Tensor, target: Tensor, reduction: Reduction | 'batchmean' = 'mean', logTarget = false): Tensor {
  if (reduction === 'batchmean') {
    const s = wrap(callOp('aten::kl_div', input.handle, target.handle, 2, logTarget));
    const out = s.div(input.size(0));
    s.dispose();
    return out;
  }
  return wrap(callOp('aten::kl_div', input.handle, target.handle, red(reduction), logTarget));
}

// ---- linear algebra ---------------------------------------------------------------------------

/** Solves A X = B. */
export function solve(a: Tensor, b: Tensor): Tensor {
  return wrap(callOp('aten::linalg_solve', a.handle, b.handle));
}
/** Lower Cholesky factor L with A = L L^T (upper when upper is true; default false). */
export function cholesky(a: Tensor, upper = false): Tensor {
  return wrap(callOp('aten::linalg_cholesky', a.handle, upper));
}
/** Matrix inverse. */
export function inverse(a: Tensor): Tensor {
  return wrap(callOp('aten::linalg_inv', a.handle));
}
/** Eigen-decomposition of a symmetric matrix: ascending eigenvalues and eigenvectors (columns). */
export function eigh(a: Tensor): { eigenvalues: Tensor; eigenvectors: Tensor } {
  const [v, w] = callOp('aten::linalg_eigh', a.handle, 'L') as Handle[];
  return { eigenvalues: wrap(v!), eigenvectors: wrap(w!) };
}

/** Determinant of a square matrix (or a batch of them). */
export function det(a: Tensor): Tensor {
  return wrap(callOp('aten::linalg_det', a.handle));
}
/** Sign and log of the absolute determinant (stable for Gaussian log-likelihoods). */
export function slogdet(a: Tensor): { sign: Tensor; logabsdet: Tensor } {
  const [s, l] = callOp('aten::linalg_slogdet', a.handle) as Handle[];
  return { sign: wrap(s!), logabsdet: wrap(l!) };
}
/** Singular value decomposition A = U diag(S) Vh (fullMatrices default true, as torch.linalg.svd; pass false for the reduced form). */
export function svd(a: Tensor, fullMatrices = true): { U: Tensor; S: Tensor; Vh: Tensor } {
  const [u, sv, vh] = callOp('aten::linalg_svd', a.handle, fullMatrices) as Handle[];
  return { U: wrap(u!), S: wrap(sv!), Vh: wrap(vh!) };
}
