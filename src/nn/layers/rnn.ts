/** LSTM, as torch.nn.LSTM (multi-layer, optionally bidirectional and batch-first). */
import type { Tensor } from '../../core/tensor.js';
import { empty, zeros } from '../../core/creation.js';
import { AnogenError } from '../../core/errors.js';
import * as F from '../functional.js';
import { uniform_ } from '../init.js';
import { Module } from '../module.js';
import { checkPositiveInt } from './util.js';

/** Options of {@link LSTM}. */
export interface LSTMOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Learn biases bIh and bHh (default true). */
  bias?: boolean;
  /** Input and output are [batch, seq, feature] instead of [seq, batch, feature] (default false). */
  batchFirst?: boolean;
  /** Dropout between layers in training mode (default 0). */
  dropout?: number;
  /** Run a reverse direction too (default false). */
  bidirectional?: boolean;
}

/** The output of {@link LSTM}: the output sequence and the final hidden and cell states [layers*dirs, batch, hidden]. */
export interface LSTMOutput {
  output: Tensor;
  h: Tensor;
  c: Tensor;
}

/**
 * Long short-term memory network (torch.nn.LSTM). Parameters per layer k (suffix `_reverse` for
 * the reverse direction): weight_ih_l{k} [4H, in], weight_hh_l{k} [4H, H], bias_ih_l{k},
 * bias_hh_l{k} [4H], gates ordered i, f, g, o; all initialised U(+-1/sqrt(hiddenSize)).
 */
export class LSTM extends Module<[Tensor, [Tensor, Tensor]?], LSTMOutput> {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  private readonly flatNames: string[] = [];

  constructor(inputSize: number, hiddenSize: number, opts: LSTMOptions = {}) {
    super();
    this.inputSize = checkPositiveInt('LSTM', 'inputSize', inputSize);
    this.hiddenSize = checkPositiveInt('LSTM', 'hiddenSize', hiddenSize);
    this.numLayers = checkPositiveInt('LSTM', 'numLayers', opts.numLayers ?? 1);
    this.bias = opts.bias ?? true;
    this.batchFirst = opts.batchFirst ?? false;
    this.dropout = opts.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new AnogenError(`LSTM: dropout must be in [0, 1], got ${this.dropout}`);
    this.bidirectional = opts.bidirectional ?? false;
    const dirs = this.bidirectional ? 2 : 1;
    const g = 4 * hiddenSize;
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${layer}${d === 1 ? '_reverse' : ''}`;
        const inSize = layer === 0 ? inputSize : hiddenSize * dirs;
        const shapes: [string, number[]][] = [
          [`weight_ih${sfx}`, [g, inSize]],
          [`weight_hh${sfx}`, [g, hiddenSize]],
        ];
        if (this.bias) shapes.push([`bias_ih${sfx}`, [g]], [`bias_hh${sfx}`, [g]]);
        for (const [name, shape] of shapes) {
          this.registerParameter(name, empty(shape));
          this.flatNames.push(name);
        }
      }
    }
    this.resetParameters();
  }

  /** Every weight and bias ~ U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)), in registration order (as PyTorch). */
  override resetParameters(): void {
    const stdv = 1.0 / Math.sqrt(this.hiddenSize);
    for (const name of this.flatNames) uniform_(this.param(name), -stdv, stdv);
  }

  /** Runs the sequence; hx = [h0, c0] defaults to zeros. */
  forward(input: Tensor, hx?: [Tensor, Tensor]): LSTMOutput {
    const s = input.shape;
    if (s.length !== 3 || s[2] !== this.inputSize) {
      const layout = this.batchFirst ? '[batch, seq, feature]' : '[seq, batch, feature]';
      throw new AnogenError(`LSTM: expected a 3-D input ${layout} with ${this.inputSize} features, got shape [${s.join(', ')}]`);
    }
    const batch = this.batchFirst ? s[0]! : s[1]!;
    const stateShape = [this.numLayers * (this.bidirectional ? 2 : 1), batch, this.hiddenSize];
    let h0: Tensor;
    let c0: Tensor;
    let own = false;
    if (hx === undefined) {
      const dev = input.device as never;
      h0 = zeros(stateShape, { dtype: input.dtype, device: dev });
      c0 = zeros(stateShape, { dtype: input.dtype, device: dev });
      own = true;
    } else {
      [h0, c0] = hx;
      for (const t of hx) {
        if (t.shape.join() !== stateShape.join()) {
          throw new AnogenError(`LSTM: hidden states must have shape [${stateShape.join(', ')}], got [${t.shape.join(', ')}]`);
        }
      }
    }
    try {
      return F.lstm(
        input,
        [h0, c0],
        this.flatNames.map((n) => this.param(n)),
        {
          hasBiases: this.bias,
          numLayers: this.numLayers,
          dropout: this.dropout,
          training: this.training,
          bidirectional: this.bidirectional,
          batchFirst: this.batchFirst,
        },
      );
    } finally {
      if (own) {
        h0.dispose();
        c0.dispose();
      }
    }
  }
  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}, numLayers=${this.numLayers}, batchFirst=${this.batchFirst}`;
  }
}
