/**
 * The Row LSTM PixelRNN (van den Oord et al., 2016, "Pixel Recurrent Neural Networks",
 * section 3.1), for one gray channel:
 *
 *   f = MaskedConv_A(x)                  (firstKernel x firstKernel, raster mask A)
 *   Row LSTM layers (`layers` of them, residual: f = f + RowLSTM(f)), each, row by row:
 *     is   = K_is * f                    (input-to-state: 1 x 3 masked conv B along the row,
 *                                        computed for the whole image at once) -> 4h gates
 *     ss_i = K_ss * h_{i-1}              (state-to-state: 1 x 3 conv over the previous row's
 *                                        hidden state, h_{-1} = c_{-1} = 0)
 *     [i, f, g, o] = is_i + ss_i          (PyTorch's gate order)
 *     c_i = sigmoid(f) c_{i-1} + sigmoid(i) tanh(g);  h_i = sigmoid(o) tanh(c_i)
 *   logits = Conv1x1(ReLU(Conv1x1(ReLU(f))))  -> L levels per pixel
 *
 * The output at (i, j) depends on input rows < i (through the states and mask A's rows above)
 * and on (i, < j) (mask A, then mask B along the row): causal. The Row LSTM's receptive field
 * is a triangle above the pixel (the paper's figure 4), not the whole context.
 *
 * The cell is written out here rather than reusing src/nn's LSTM (torch.nn.LSTM): its
 * state-to-state transform is a convolution along the row, not a dense matrix.
 * State-dict names: `inConv.weight`, `layers.0.inputToState.weight`,
 * `layers.0.stateToState.weight`, `out1.weight`, `out2.weight` (+ biases).
 */
import { cat, noGrad, zeros, type Tensor } from '../../core/index.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { ModuleList } from '../../nn/layers/container.js';
import { Module } from '../../nn/module.js';
import { MaskedConv2d } from '../pixelcnn/masked-conv.js';

/** Architecture of {@link RowLstmPixelRnn}. */
export interface PixelRnnArch {
  /** Discretisation levels L. */
  levels: number;
  /** Hidden channels h of the LSTM state (and of the features). */
  hidden: number;
  /** Row LSTM layers. */
  layers: number;
  /** Kernel size of the first (mask A) convolution (odd). */
  firstKernel: number;
  /** Channels of the output head's hidden 1x1 convolution. */
  outHidden: number;
}

/** The LSTM state of one row: hidden and cell, each N x h x 1 x W. */
export type RowState = [Tensor, Tensor];

/** One Row LSTM layer (see the module comment). */
export class RowLstm extends Module<[Tensor], Tensor> {
  readonly inputToState: MaskedConv2d;
  readonly stateToState: Conv2d;
  constructor(readonly hidden: number) {
    super();
    this.inputToState = this.registerModule('inputToState', new MaskedConv2d(hidden, 4 * hidden, [1, 3], 'B', 'raster'));
    this.stateToState = this.registerModule('stateToState', new Conv2d(hidden, 4 * hidden, [1, 3], { padding: [0, 1] }));
  }

  /** One row: the gates' input-to-state part `is` (N x 4h x 1 x W) and the previous row's state (zeros when null) -> this row's state. */
  cell(is: Tensor, prev: RowState | null): RowState {
    const [hPrev, cPrev] = prev ?? [zeros([is.shape[0]!, this.hidden, 1, is.shape[3]!], { device: is.device as never }), null];
    const [ig, fg, gg, og] = is.add(this.stateToState.call(hPrev)).chunk(4, 1) as [Tensor, Tensor, Tensor, Tensor];
    const fresh = ig.sigmoid().mul(gg.tanh());
    const c = cPrev === null ? fresh : fg.sigmoid().mul(cPrev).add(fresh);
    return [og.sigmoid().mul(c.tanh()), c];
  }

  /** The hidden states N x h x H x W of every row of the features x (N x h x H x W). */
  forward(x: Tensor): Tensor {
    const is = this.inputToState.call(x);
    const rows: Tensor[] = [];
    let state: RowState | null = null;
    for (let i = 0; i < x.shape[2]!; i++) {
      state = this.cell(is.narrow(2, i, 1), state);
      rows.push(state[0]);
    }
    return cat(rows, 2);
  }
}

/** Row LSTM PixelRNN: images N x 1 x H x W in [-1, 1] -> logits N x L x H x W (see the module comment). */
export class RowLstmPixelRnn extends Module<[Tensor], Tensor> {
  readonly inConv: MaskedConv2d;
  readonly layers: ModuleList<RowLstm>;
  readonly out1: Conv2d;
  readonly out2: Conv2d;
  constructor(readonly arch: PixelRnnArch) {
    super();
    const { hidden, layers, firstKernel: fk, outHidden, levels } = arch;
    this.inConv = this.registerModule('inConv', new MaskedConv2d(1, hidden, [fk, fk], 'A', 'raster'));
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: layers }, () => new RowLstm(hidden))));
    this.out1 = this.registerModule('out1', new Conv2d(hidden, outHidden, 1));
    this.out2 = this.registerModule('out2', new Conv2d(outHidden, levels, 1));
  }

  private head(f: Tensor): Tensor {
    return this.out2.call(this.out1.call(f.relu()).relu());
  }

  forward(x: Tensor): Tensor {
    let f = this.inConv.call(x);
    for (const l of this.layers) f = f.add(l.call(f));
    return this.head(f);
  }

  /**
   * Row i alone, for sampling: logits N x L x W of row i of images x (N x 1 x S x S) from the
   * states of row i - 1 (`prev`, one per layer; null for row 0), and the states of row i. Costs
   * the same for every row (the first convolution reads rows i - firstKernel/2 .. i only).
   */
  rowStep(x: Tensor, i: number, prev: RowState[] | null): { logits: Tensor; states: RowState[] } {
    const half = this.arch.firstKernel >> 1;
    const top = Math.max(0, i - half);
    let f = this.inConv.call(x.narrow(2, top, i - top + 1)).narrow(2, i - top, 1);
    const states: RowState[] = [];
    let k = 0;
    for (const l of this.layers) {
      const s = l.cell(l.inputToState.call(f), prev === null ? null : prev[k]!);
      states.push(s);
      f = f.add(s[0]);
      k++;
    }
    return { logits: this.head(f).squeeze(2), states };
  }

  /** PyTorch's default initialisation of every convolution (from torch's seeded generator). */
  override resetParameters(): void {
    noGrad(() => {
      for (const m of this.modules()) if (m !== this) m.resetParameters();
    });
  }
}
