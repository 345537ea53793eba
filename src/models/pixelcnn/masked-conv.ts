/**
 * Masked convolutions of the PixelCNN family (van den Oord et al., 2016, "Pixel Recurrent
 * Neural Networks", section 3.4; "Conditional Image Generation with PixelCNN Decoders", section 2.2).
 *
 * The weight is multiplied by a fixed 0/1 mask before every convolution, so that the output at
 * pixel (i, j) only reads inputs allowed by the raster order (rows top to bottom, each row left
 * to right), with the kernel centred on (i, j):
 * - `raster` masks: taps above the centre row, and on the centre row left of the centre; mask
 *   'B' also keeps the centre, mask 'A' does not (A is for the first layer, which must not see
 *   the pixel it predicts; B for later layers, whose centre feature already excludes it). With
 *   a 1 x k kernel this is the gated PixelCNN's horizontal-stack mask.
 * - `vertical` masks (the gated PixelCNN's vertical stack): every tap of the rows above the
 *   centre ('A') or of the rows up to and including the centre row ('B'); the vertical stack
 *   has no blind spot, and reaches the horizontal stack only through features of rows above.
 *
 * The mask is a non-persistent buffer (it follows the weights across devices but is not part
 * of the state dict, which keeps PyTorch's Conv2d names: `weight`, `bias`).
 */
import { tensor, type Tensor } from '../../core/index.js';
import * as F from '../../nn/functional.js';
import { Conv2d } from '../../nn/layers/conv.js';

/** Mask type: 'A' excludes the centre tap (first layer), 'B' includes it (later layers). */
export type MaskType = 'A' | 'B';
/** Mask shape: 'raster' (PixelCNN; a 1 x k kernel gives the horizontal stack) or 'vertical' (the vertical stack). */
export type MaskShape = 'raster' | 'vertical';

/** The 0/1 mask [kh * kw] (row-major) of a kernel kh x kw centred at (kh >> 1, kw >> 1). */
export function maskValues(kh: number, kw: number, type: MaskType, shape: MaskShape): Float32Array {
  const ch = kh >> 1;
  const cw = kw >> 1;
  const m = new Float32Array(kh * kw);
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < kw; c++) {
      let on: boolean;
      if (shape === 'vertical') on = r < ch || (type === 'B' && r === ch);
      else on = r < ch || (r === ch && (c < cw || (type === 'B' && c === cw)));
      m[r * kw + c] = on ? 1 : 0;
    }
  }
  return m;
}

/** A Conv2d (odd kernel, 'same' zero padding, stride 1) whose weight is masked before each convolution (see the module comment). */
export class MaskedConv2d extends Conv2d {
  readonly maskType: MaskType;
  readonly maskShape: MaskShape;

  constructor(inChannels: number, outChannels: number, kernelSize: [number, number], type: MaskType, shape: MaskShape = 'raster') {
    super(inChannels, outChannels, kernelSize, { padding: [kernelSize[0] >> 1, kernelSize[1] >> 1] });
    this.maskType = type;
    this.maskShape = shape;
    const [kh, kw] = kernelSize;
    this.registerBuffer('mask', tensor(maskValues(kh, kw, type, shape), { shape: [1, 1, kh, kw] }), { persistent: false });
  }

  /** The 0/1 mask [1, 1, kh, kw]. */
  get mask(): Tensor {
    return this.buffer('mask');
  }

  override forward(x: Tensor): Tensor {
    this.checkInput('MaskedConv2d', x);
    return F.conv2d(x, this.weight.mul(this.mask), this.bias, { padding: this.padding });
  }

  override extraRepr(): string {
    return `${super.extraRepr()}, mask=${this.maskType} ${this.maskShape}`;
  }
}
