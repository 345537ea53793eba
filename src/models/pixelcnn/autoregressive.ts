/**
 * What PixelCNN and PixelRNN share: pixels discretised into `levels` gray values, a softmax over
 * the levels per pixel, the negative log-likelihood (NLL) in bits per dimension, the NLL training
 * step, and autoregressive sampling pixel by pixel in raster order.
 *
 * - Discretisation: an image in [-1, 1] becomes k = round((x + 1) / 2 * (L - 1)) in
 *   {0, ..., L - 1}, and the network reads the dequantised value 2k / (L - 1) - 1 (with L = 256
 *   and 8-bit images, k is the original byte).
 * - NLL: the network maps an image N x 1 x S x S to logits N x L x S x S; the NLL of pixel
 *   (i, j) is -log2 softmax(logits[:, :, i, j])[k_ij] bits; an image's bits/dim is the mean over
 *   its pixels (a uniform prediction gives log2(L) bits/dim).
 * - Sampling: the latent code of image b is nz = S * S standard normals z; pixel p (raster
 *   order) takes the level whose cumulative probability first exceeds u = Phi(z_p) (inverse-CDF
 *   sampling, so the same seed gives the same images whatever the batch size). Each pixel costs
 *   one forward pass over the rows generated so far (rows below cannot influence it).
 */
import { AnogenError, cat, dispose, noGrad, tensor, tidy, type Device, type Tensor } from '../../core/index.js';
import { getNumThreads, setNumThreads } from '../../core/runtime.js';
import * as F from '../../nn/functional.js';
import type { Module } from '../../nn/module.js';
import { Adam } from '../../optim/index.js';
import type { TrainingProcess } from '../../train/loop.js';
import { asSource, sequentialBatches, type BatchSource } from '../../train/source.js';
import { GenerativeModel, type GeneratorProcessOptions, type ImageSpec } from '../generative.js';

/** The per-step values of the NLL step, with what each is. */
export const NLL_STEP_LOSSES: Record<string, string> = {
  nll: 'negative log-likelihood of the discretised pixels, bits/dim (mean over the batch)',
};

/** Levels k in {0..L-1} (int64, same shape) of images in [-1, 1]. */
export function discretize(x: Tensor, levels: number): Tensor {
  return x
    .add(1)
    .mul((levels - 1) / 2)
    .round()
    .clamp(0, levels - 1)
    .long();
}

/** Values 2k / (L - 1) - 1 in [-1, 1] (float32) of levels k. */
export function dequantize(k: Tensor, levels: number): Tensor {
  return k
    .float()
    .mul(2 / (levels - 1))
    .sub(1);
}

/** Per-pixel NLL in bits, N x H x W, of levels `k` (int64 N x H x W) under `logits` (N x L x H x W). */
export function pixelNllBits(logits: Tensor, k: Tensor): Tensor {
  return F.crossEntropy(logits, k, { reduction: 'none' }).div(Math.LN2);
}

/** Bits/dim of each image [N]: the mean per-pixel NLL in bits under `logits` (N x L x H x W) of levels `k` (N x H x W). */
export function bitsPerDim(logits: Tensor, k: Tensor): Tensor {
  return pixelNllBits(logits, k).flatten(1).mean(1);
}

/** The per-pixel NLL in bits (N x 1 x S x S) of images x (N x 1 x S x S in [-1, 1]) under an autoregressive network. */
export function imageNllBits(net: Module<[Tensor], Tensor>, x: Tensor, levels: number): Tensor {
  const k = discretize(x, levels).squeeze(1);
  return pixelNllBits(net.call(dequantize(k, levels).unsqueeze(1)), k).unsqueeze(1);
}

/** Settings of {@link nllProcess}. */
export interface NllStepConfig {
  /** Discretisation levels L. */
  levels: number;
  /** Adam beta1. */
  beta1: number;
  /** Adam beta2. */
  beta2: number;
}

/**
 * One NLL training run for src/train's loop: Adam (lr, betas) on the mean bits/dim of the batch
 * (reported as `nll`). A fresh run re-initialises the network first.
 */
export function nllProcess(net: Module<[Tensor], Tensor>, cfg: NllStepConfig, o: { fresh: boolean; lr: number }): TrainingProcess {
  if (o.fresh) net.resetParameters();
  const opt = new Adam(net.parameters(), { lr: o.lr, betas: [cfg.beta1, cfg.beta2] });
  return {
    optimizers: { adam: opt },
    step(x: Tensor) {
      net.train();
      const nll = imageNllBits(net, x, cfg.levels).mean();
      return {
        losses: { nll },
        update() {
          opt.zeroGrad();
          nll.backward();
          opt.step();
        },
      };
    },
    dispose() {
      opt.zeroGrad();
      net.zeroGrad();
      opt.dispose();
    },
  };
}

/** Phi(z), the standard normal CDF, in float64 (erfc of Numerical Recipes' erfcc, relative error < 1.2e-7). */
export function normalCdf(z: number): number {
  const x = -z / Math.SQRT2;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.5 * a);
  const y =
    t *
    Math.exp(
      -a * a -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  const erfc = x >= 0 ? y : 2 - y;
  return 0.5 * erfc;
}

/**
 * How a network computes the logits of one row during sampling: `row(x, i)` gives the logits
 * N x L x S of row i of the images x (N x 1 x S x S, rows after i not yet sampled; they must
 * not matter); `commit(x, i)`, when present, is called once row i is complete (a recurrent
 * network keeps its row states there, so `row` costs the same for every row).
 */
export interface RowStepper {
  row(x: Tensor, i: number): Tensor;
  commit?(x: Tensor, i: number): void;
  /** Frees what the stepper kept (called once sampling ends). */
  dispose?(): void;
}

/**
 * The stepper of a network without row state: one forward pass over rows i - reach .. i (rows
 * below cannot influence row i, nor rows more than `reach` above it, the network's receptive
 * field; default Infinity: every row above).
 */
export function croppingStepper(net: Module<[Tensor], Tensor>, reach = Infinity): RowStepper {
  return {
    row: (x, i) => {
      const top = Math.max(0, i - reach);
      return net.call(x.narrow(2, top, i - top + 1)).select(2, i - top);
    },
  };
}

/**
 * Autoregressive sampling (see the module comment): images N x 1 x S x S in [-1, 1] on `device`
 * from latent codes z (N x S*S x 1 x 1), in eval mode without autograd. On the CPU the passes
 * run with `threads` libtorch threads (default 1; the previous setting is restored): one pass
 * per pixel is many small operations, where handing work to a second OpenMP thread costs more
 * than it saves (measured on a busy 2-core machine, load 9 to 13: the pixelcnn case of the
 * generator test took 11.5 s instead of 123 s, before the receptive-field crop).
 */
export function sampleAutoregressive(stepper: RowStepper, z: Tensor, size: number, levels: number, device: Device, threads = 1): Tensor {
  const prev = getNumThreads();
  const cpu = device === 'cpu';
  if (cpu && prev !== threads) setNumThreads(threads);
  try {
    return noGrad(() => sampleLoop(stepper, z, size, levels, device));
  } finally {
    stepper.dispose?.();
    if (cpu && prev !== threads) setNumThreads(prev);
  }
}

function sampleLoop(stepper: RowStepper, z: Tensor, size: number, levels: number, device: Device): Tensor {
  const n = z.shape[0]!;
  const hw = size * size;
  if (z.numel !== n * hw) throw new AnogenError(`autoregressive sample: expected latent codes [${n}, ${hw}, 1, 1], got [${z.shape.join(', ')}]`);
  const zs = z.float().cpu().toFloat32Array();
  const img = new Float32Array(n * hw);
  const p = new Float64Array(levels);
  const current = () => tensor(img, { shape: [n, 1, size, size], device });
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const probs = tidy(() => F.softmax(stepper.row(current(), i).select(2, j).float(), 1).cpu().toFloat32Array());
      for (let b = 0; b < n; b++) {
        let total = 0;
        for (let l = 0; l < levels; l++) total += p[l] = probs[b * levels + l]!;
        const target = normalCdf(zs[b * hw + i * size + j]!) * total;
        let k = levels - 1;
        let acc = 0;
        for (let l = 0; l < levels; l++) {
          acc += p[l]!;
          if (acc > target) {
            k = l;
            break;
          }
        }
        img[b * hw + i * size + j] = (2 * k) / (levels - 1) - 1;
      }
    }
    if (stepper.commit) tidy(() => stepper.commit!(current(), i));
  }
  return current();
}

/** The hyperparameters every autoregressive model has. */
export interface AutoregressiveHParams {
  /** Image size S (square). */
  isize: number;
  /** Discretisation levels L. */
  levels: number;
  beta1: number;
  beta2: number;
}

/**
 * Base of the autoregressive generative models (pixelcnn, pixelrnn): one network from images to
 * per-pixel logits over `levels`; NLL training; inverse-CDF sampling; bits/dim on held-out images.
 */
export abstract class AutoregressiveModel<H extends AutoregressiveHParams> extends GenerativeModel<H> {
  protected abstract override readonly net: Module<[Tensor], Tensor>;

  get input(): ImageSpec {
    return { size: this.hparams.isize, channels: 1, range: [-1, 1] };
  }

  /** One standard normal per pixel (S * S): the noise of inverse-CDF sampling. */
  get nz(): number {
    return this.hparams.isize * this.hparams.isize;
  }

  /** The row-by-row logits used by sampling (default: a forward pass over the rows so far). */
  protected stepper(): RowStepper {
    return croppingStepper(this.net);
  }

  protected generate(z: Tensor): Tensor {
    return sampleAutoregressive(this.stepper(), z, this.hparams.isize, this.hparams.levels, this.device);
  }

  protected trainingProcess(o: GeneratorProcessOptions): TrainingProcess {
    return nllProcess(this.net, this.hparams, o);
  }

  /** Per-pixel NLL in bits, N x 1 x S x S on the CPU, of images N x 1 x S x S in [-1, 1] (eval mode, batches of `batchSize`, default 256). */
  nllMap(x: Tensor, batchSize = 256): Tensor {
    const parts: Tensor[] = [];
    this.net.eval();
    noGrad(() => {
      for (let i = 0; i < x.shape[0]!; i += batchSize) {
        parts.push(tidy(() => imageNllBits(this.net, x.narrow(0, i, Math.min(batchSize, x.shape[0]! - i)).to(this.device), this.hparams.levels).cpu()));
      }
    });
    if (parts.length === 1) return parts[0]!;
    try {
      return cat(parts, 0);
    } finally {
      dispose(parts);
    }
  }

  /**
   * The mean NLL in bits/dim of held-out images (a tensor N x 1 x S x S in [-1, 1] or a batch
   * source, e.g. the test split), in eval mode, in batches of `batchSize` (default 256).
   */
  async bitsPerDim(images: Tensor | BatchSource, batchSize = 256): Promise<number> {
    const source = asSource(images);
    let sum = 0;
    let n = 0;
    this.net.eval();
    for await (const x of sequentialBatches(source, batchSize, this.device)) {
      sum += noGrad(() => tidy(() => imageNllBits(this.net, x, this.hparams.levels).flatten(1).mean(1).sum().item()));
      n += x.shape[0]!;
    }
    if (n === 0) throw new AnogenError(`${this.name} bitsPerDim: no images`);
    return sum / n;
  }
}
