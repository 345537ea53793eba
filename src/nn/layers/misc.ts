/** Dropout, Embedding, Flatten, Unflatten and Upsample layers, as in torch.nn. */
import type { Tensor } from '../../core/tensor.js';
import { empty } from '../../core/creation.js';
import { noGrad } from '../../core/autograd.js';
import { AnogenError } from '../../core/errors.js';
import * as F from '../functional.js';
import { normal_ } from '../init.js';
import { Module } from '../module.js';
import { checkPositiveInt } from './util.js';

/** Zeroes elements with probability p (default 0.5) in training mode, scaling the rest by 1/(1-p). */
export class Dropout extends Module {
  readonly p: number;
  constructor(p = 0.5) {
    super();
    if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new AnogenError(`Dropout: p must be in [0, 1], got ${JSON.stringify(p)}`);
    this.p = p;
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /** An index whose row is zero and receives no gradient (default none). */
  paddingIdx?: number;
}

/** A lookup table of numEmbeddings vectors of size embeddingDim; weight ~ N(0, 1), as PyTorch. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | undefined;
  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = checkPositiveInt('Embedding', 'numEmbeddings', numEmbeddings);
    this.embeddingDim = checkPositiveInt('Embedding', 'embeddingDim', embeddingDim);
    let pi = opts.paddingIdx;
    if (pi !== undefined) {
      if (!Number.isInteger(pi) || pi < -numEmbeddings || pi >= numEmbeddings) {
        throw new AnogenError(`Embedding: paddingIdx must be an integer in [-${numEmbeddings}, ${numEmbeddings}), got ${pi}`);
      }
      if (pi < 0) pi += numEmbeddings;
    }
    this.paddingIdx = pi;
    this.registerParameter('weight', empty([numEmbeddings, embeddingDim]));
    this.resetParameters();
  }
  get weight(): Tensor {
    return this.param('weight');
  }
  /** weight ~ N(0, 1), the padding row zeroed. */
  override resetParameters(): void {
    normal_(this.weight);
    const pi = this.paddingIdx;
    if (pi !== undefined) {
      noGrad(() => {
        const row = this.weight.select(0, pi);
        row.zero_();
        row.dispose();
      });
    }
  }
  /** Looks up integer indices (any shape) -> [...indices.shape, embeddingDim]. */
  forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight, this.paddingIdx);
  }
  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}

/** Flattens dims startDim..endDim (defaults 1 and -1, as torch.nn.Flatten). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Splits dim `dim` into `sizes` (torch.nn.Unflatten). */
export class Unflatten extends Module {
  constructor(
    readonly dim: number,
    readonly sizes: number[],
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    const s = x.shape;
    const d = this.dim < 0 ? this.dim + s.length : this.dim;
    if (d < 0 || d >= s.length) throw new AnogenError(`Unflatten: dim ${this.dim} is out of range for shape [${s.join(', ')}]`);
    return x.reshape([...s.slice(0, d), ...this.sizes, ...s.slice(d + 1)]);
  }
}

/** Options of {@link Upsample}: exactly one of size and scaleFactor. */
export interface UpsampleOptions {
  size?: F.Size2;
  scaleFactor?: number | [number, number];
  /** default 'nearest' */
  mode?: F.InterpolateMode;
  /** bilinear only (default false) */
  alignCorners?: boolean;
}

/** Resizes NCHW images (torch.nn.Upsample). */
export class Upsample extends Module {
  constructor(readonly opts: UpsampleOptions) {
    super();
    if ((opts.size === undefined) === (opts.scaleFactor === undefined)) {
      throw new AnogenError('Upsample: give exactly one of size or scaleFactor');
    }
  }
  forward(x: Tensor): Tensor {
    return F.interpolate(x, this.opts);
  }
}
