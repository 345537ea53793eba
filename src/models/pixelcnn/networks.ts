/**
 * The gated PixelCNN (van den Oord et al., 2016, "Conditional Image Generation with PixelCNN
 * Decoders", figure 2), unconditional, for one gray channel:
 *
 *   v = Vertical_A(x)   (firstKernel x firstKernel, rows strictly above)
 *   h = Horizontal_A(x) (1 x firstKernel, pixels strictly left on the row)
 *   blocks (gated, `layers` of them), each:
 *     vf = Vertical_B(v) (k x k, rows up to the current one)  -> 2c channels
 *     v' = tanh(vf[:c]) * sigmoid(vf[c:])
 *     hf = Horizontal_B(h) (1 x k) + Conv1x1(vf)               -> 2c channels
 *     h' = h + Conv1x1(tanh(hf[:c]) * sigmoid(hf[c:]))          (residual)
 *   logits = Conv1x1(ReLU(Conv1x1(ReLU(h))))  -> L levels per pixel
 *
 * The vertical stack at row i only depends on input rows < i (mask A first, then B), the
 * horizontal stack at (i, j) on (i, < j) plus the vertical stack: the output at (i, j) sees
 * every earlier pixel within its receptive field and no later one (no blind spot). State-dict
 * names: `vIn.weight`, `hIn.weight`, `blocks.0.vConv.weight`, `blocks.0.vToH.weight`,
 * `blocks.0.hConv.weight`, `blocks.0.hOut.weight`, `out1.weight`, `out2.weight` (+ biases).
 */
import type { Tensor } from '../../core/index.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { ModuleList } from '../../nn/layers/container.js';
import { Module } from '../../nn/module.js';
import { noGrad } from '../../core/index.js';
import { MaskedConv2d } from './masked-conv.js';

/** Architecture of {@link GatedPixelCnn}. */
export interface PixelCnnArch {
  /** Discretisation levels L (softmax size per pixel). */
  levels: number;
  /** Channels c of the vertical and horizontal stacks. */
  hidden: number;
  /** Gated blocks. */
  layers: number;
  /** Kernel size of the blocks (odd). */
  kernel: number;
  /** Kernel size of the first (mask A) layer (odd). */
  firstKernel: number;
  /** Channels of the output head's hidden 1x1 layer. */
  outHidden: number;
}

/** tanh(a) * sigmoid(b) of the two channel halves of t. */
export function gate(t: Tensor): Tensor {
  const [a, b] = t.chunk(2, 1) as [Tensor, Tensor];
  return a.tanh().mul(b.sigmoid());
}

/** One gated block (see the module comment). */
export class GatedBlock extends Module<[Tensor, Tensor], [Tensor, Tensor]> {
  readonly vConv: MaskedConv2d;
  readonly vToH: Conv2d;
  readonly hConv: MaskedConv2d;
  readonly hOut: Conv2d;
  constructor(c: number, k: number) {
    super();
    this.vConv = this.registerModule('vConv', new MaskedConv2d(c, 2 * c, [k, k], 'B', 'vertical'));
    this.vToH = this.registerModule('vToH', new Conv2d(2 * c, 2 * c, 1));
    this.hConv = this.registerModule('hConv', new MaskedConv2d(c, 2 * c, [1, k], 'B', 'raster'));
    this.hOut = this.registerModule('hOut', new Conv2d(c, c, 1));
  }
  forward(v: Tensor, h: Tensor): [Tensor, Tensor] {
    const vf = this.vConv.call(v);
    const hf = this.hConv.call(h).add(this.vToH.call(vf));
    return [gate(vf), h.add(this.hOut.call(gate(hf)))];
  }
}

/** Gated PixelCNN: images N x 1 x H x W in [-1, 1] -> logits N x L x H x W (see the module comment). */
export class GatedPixelCnn extends Module<[Tensor], Tensor> {
  readonly vIn: MaskedConv2d;
  readonly hIn: MaskedConv2d;
  readonly blocks: ModuleList<GatedBlock>;
  readonly out1: Conv2d;
  readonly out2: Conv2d;
  constructor(readonly arch: PixelCnnArch) {
    super();
    const { hidden: c, firstKernel: fk, kernel: k, layers, outHidden, levels } = arch;
    this.vIn = this.registerModule('vIn', new MaskedConv2d(1, c, [fk, fk], 'A', 'vertical'));
    this.hIn = this.registerModule('hIn', new MaskedConv2d(1, c, [1, fk], 'A', 'raster'));
    this.blocks = this.registerModule('blocks', new ModuleList(Array.from({ length: layers }, () => new GatedBlock(c, k))));
    this.out1 = this.registerModule('out1', new Conv2d(c, outHidden, 1));
    this.out2 = this.registerModule('out2', new Conv2d(outHidden, levels, 1));
  }
  forward(x: Tensor): Tensor {
    let v = this.vIn.call(x);
    let h = this.hIn.call(x);
    for (const b of this.blocks) [v, h] = b.call(v, h);
    return this.out2.call(this.out1.call(h.relu()).relu());
  }
  /** PyTorch's default initialisation of every convolution (from torch's seeded generator). */
  override resetParameters(): void {
    noGrad(() => {
      for (const m of this.modules()) if (m !== this) m.resetParameters();
    });
  }
}
