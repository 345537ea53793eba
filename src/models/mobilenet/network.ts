/**
 * MobileNetV2 (Sandler et al., 2018) as Keras builds it (keras/applications/mobilenet_v2.py, alpha
 * 1.0, without the classifier head), written as anogen Modules registered under Keras's layer
 * names so that the state-dict names are `Conv1.weight`, `bn_Conv1.running_mean`,
 * `block_3_depthwise.weight`, ... in PyTorch layouts (src/models/mobilenet/README.md has the
 * list). Keras pads stride-2 convolutions asymmetrically (`correct_pad`: nothing before and one
 * row/column after an even size, one on both sides of an odd one), and its batch norm has eps
 * 1e-3: both are reproduced. Used as a frozen feature extractor, in evaluation mode (batch norm
 * on the moving statistics).
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/scope.js';
import { AnogenError, validList } from '../../core/errors.js';
import * as F from '../../nn/functional.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/norm.js';
import { withSafetensors } from '../../nn/safetensors.js';

/** The four stages (feature taps), named like the ResNet's: block_2_add, block_5_add, block_12_add, out_relu. */
export const MOBILENET_LAYERS = ['layer1', 'layer2', 'layer3', 'layer4'] as const;
/** One stage name. */
export type MobilenetLayer = (typeof MOBILENET_LAYERS)[number];

/** Output channels of each stage (strides 4, 8, 16, 32). */
export const MOBILENET_LAYER_CHANNELS: Readonly<Record<MobilenetLayer, number>> = { layer1: 24, layer2: 32, layer3: 96, layer4: 1280 };

/** Keras's batch-norm epsilon (PyTorch's default is 1e-5). */
export const KERAS_BN_EPS = 1e-3;

/** (output channels, stride) of block_1 .. block_16 (alpha 1.0); each expands its input 6 times. */
export const MOBILENET_BLOCKS: readonly (readonly [number, number])[] = [
  [24, 2],
  [24, 1],
  [32, 2],
  [32, 1],
  [32, 1],
  [64, 2],
  [64, 1],
  [64, 1],
  [64, 1],
  [96, 1],
  [96, 1],
  [96, 1],
  [160, 2],
  [160, 1],
  [160, 1],
  [320, 1],
];

/** The block whose output each of layer1..layer3 is (layer4 is out_relu, after Conv_1). */
const TAP_BLOCK: Record<Exclude<MobilenetLayer, 'layer4'>, number> = { layer1: 2, layer2: 5, layer3: 12 };

const EXPANSION = 6;

/**
 * The state-dict names and shapes in order (the spec's order: each layer as Keras builds them, a
 * conv's `weight` [out, in / groups, kh, kw], a batch norm's `weight`, `bias`, `running_mean`,
 * `running_var`), computed without allocating any tensor.
 */
export function mobilenetStateShapes(): [string, number[]][] {
  const out: [string, number[]][] = [];
  const conv = (name: string, cout: number, cinPerGroup: number, k: number) => out.push([`${name}.weight`, [cout, cinPerGroup, k, k]]);
  const bn = (name: string, c: number) => {
    out.push([`${name}.weight`, [c]], [`${name}.bias`, [c]], [`${name}.running_mean`, [c]], [`${name}.running_var`, [c]]);
  };
  conv('Conv1', 32, 3, 3);
  bn('bn_Conv1', 32);
  conv('expanded_conv_depthwise', 32, 1, 3);
  bn('expanded_conv_depthwise_BN', 32);
  conv('expanded_conv_project', 16, 32, 1);
  bn('expanded_conv_project_BN', 16);
  let cin = 16;
  MOBILENET_BLOCKS.forEach(([cout], b) => {
    const p = `block_${b + 1}`;
    const e = EXPANSION * cin;
    conv(`${p}_expand`, e, cin, 1);
    bn(`${p}_expand_BN`, e);
    conv(`${p}_depthwise`, e, 1, 3);
    bn(`${p}_depthwise_BN`, e);
    conv(`${p}_project`, cout, e, 1);
    bn(`${p}_project_BN`, cout);
    cin = cout;
  });
  conv('Conv_1', 1280, 320, 1);
  bn('Conv_1_bn', 1280);
  return out;
}

/**
 * Batch norm as Keras's BatchNormalization: eps 1e-3, and the state holds only weight (gamma),
 * bias (beta), running_mean and running_var (PyTorch's num_batches_tracked is kept but not saved
 * or loaded: evaluation mode does not use it).
 */
export class KerasBatchNorm2d extends BatchNorm2d {
  constructor(numFeatures: number) {
    super(numFeatures, { eps: KERAS_BN_EPS });
    this._nonPersistent.add('num_batches_tracked');
  }
}

/** min(max(x, 0), 6). */
const relu6 = (x: Tensor) => F.hardtanh(x, 0, 6);

/**
 * Keras's `correct_pad` for a 3x3 kernel before a stride-2 'valid' convolution: per spatial
 * dimension, 0 before and 1 after when the size is even, 1 and 1 when it is odd.
 */
export function kerasCorrectPad(x: Tensor): Tensor {
  const h = x.shape[2]!;
  const w = x.shape[3]!;
  return F.pad(x, [w % 2, 1, h % 2, 1]);
}

/**
 * One of Keras's inverted residual blocks (`_inverted_res_block`): 1x1 expand (block_i_expand,
 * absent for block 0), depthwise 3x3 (padding 1, or {@link kerasCorrectPad} + 'valid' when
 * stride 2), 1x1 project without activation, plus the input when stride 1 and the channels
 * agree. Its child modules are registered on the MobileNetV2 itself (Keras's flat names), so
 * this is a plain object holding references, not a Module.
 */
interface InvertedResidual {
  expand: [Conv2d, KerasBatchNorm2d] | null;
  depthwise: [Conv2d, KerasBatchNorm2d];
  project: [Conv2d, KerasBatchNorm2d];
  stride: number;
  residual: boolean;
}

/**
 * The MobileNetV2 trunk (Keras's alpha 1.0 network up to out_relu, no head) over input
 * [N, 3, H, W] already preprocessed (nsfwjs: RGB / 255 in [0, 1], no mean/std). Every Conv2d and
 * batch norm is registered under its Keras layer name, so `stateDict()` keys are exactly
 * {@link mobilenetStateShapes}' names. Built in evaluation mode; weights come from
 * loadMobilenetWeights (the constructor's are PyTorch's default initialisation).
 */
export class MobileNetV2 extends Module<[Tensor], Tensor> {
  private readonly stemConv: Conv2d;
  private readonly stemBn: KerasBatchNorm2d;
  private readonly blocks: InvertedResidual[] = [];
  private readonly headConv: Conv2d;
  private readonly headBn: KerasBatchNorm2d;

  constructor() {
    super();
    const conv = (name: string, cin: number, cout: number, k: number, groups = 1, stride = 1) =>
      this.registerModule(name, new Conv2d(cin, cout, k, { stride, padding: 0, groups, bias: false }));
    const bn = (name: string, c: number) => this.registerModule(name, new KerasBatchNorm2d(c));
    this.stemConv = conv('Conv1', 3, 32, 3, 1, 2);
    this.stemBn = bn('bn_Conv1', 32);
    this.blocks.push({
      expand: null,
      depthwise: [conv('expanded_conv_depthwise', 32, 32, 3, 32), bn('expanded_conv_depthwise_BN', 32)],
      project: [conv('expanded_conv_project', 32, 16, 1), bn('expanded_conv_project_BN', 16)],
      stride: 1,
      residual: false,
    });
    let cin = 16;
    MOBILENET_BLOCKS.forEach(([cout, stride], b) => {
      const p = `block_${b + 1}`;
      const e = EXPANSION * cin;
      this.blocks.push({
        expand: [conv(`${p}_expand`, cin, e, 1), bn(`${p}_expand_BN`, e)],
        depthwise: [conv(`${p}_depthwise`, e, e, 3, e, stride), bn(`${p}_depthwise_BN`, e)],
        project: [conv(`${p}_project`, e, cout, 1), bn(`${p}_project_BN`, cout)],
        stride,
        residual: stride === 1 && cin === cout,
      });
      cin = cout;
    });
    this.headConv = conv('Conv_1', 320, 1280, 1);
    this.headBn = bn('Conv_1_bn', 1280);
    this.eval();
  }

  /** Conv1 (correct_pad, 3x3 stride 2), bn_Conv1, ReLU6: [N, 32, ceil(H/2), ceil(W/2)]. */
  stem(x: Tensor): Tensor {
    return tidy(() => relu6(this.stemBn.call(this.stemConv.call(kerasCorrectPad(x)))));
  }

  /** Block `i` (0 = expanded_conv, 1..16 = block_i) on x. */
  block(i: number, x: Tensor): Tensor {
    const b = this.blocks[i];
    if (b === undefined) throw new AnogenError(`MobileNetV2.block: index ${i} out of range 0..${this.blocks.length - 1}`);
    return tidy(() => {
      let h = b.expand === null ? x : relu6(b.expand[1].call(b.expand[0].call(x)));
      h = b.stride === 2 ? kerasCorrectPad(h) : F.pad(h, [1, 1, 1, 1]);
      h = relu6(b.depthwise[1].call(b.depthwise[0].call(h)));
      h = b.project[1].call(b.project[0].call(h));
      return b.residual ? h.add(x) : h;
    });
  }

  /** Conv_1 (1x1 to 1280), Conv_1_bn, ReLU6 (Keras's out_relu). */
  head(x: Tensor): Tensor {
    return tidy(() => relu6(this.headBn.call(this.headConv.call(x))));
  }

  /**
   * The outputs of the chosen stages (NCHW, in `layers`' order; layer1..layer4 = block_2_add,
   * block_5_add, block_12_add, out_relu), running the trunk only as deep as the deepest one.
   * `x` is [N, 3, H, W], already preprocessed.
   */
  forwardLayers(x: Tensor, layers: readonly MobilenetLayer[]): Tensor[] {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new AnogenError(`MobileNetV2: expected [N, 3, H, W] input, got [${x.shape.join(', ')}]`);
    if (layers.length === 0 || layers.some((l) => !(MOBILENET_LAYERS as readonly string[]).includes(l))) {
      throw new AnogenError(`MobileNetV2: layers must be some of ${validList(MOBILENET_LAYERS)}, got [${layers.join(', ')}]`);
    }
    const wantHead = layers.includes('layer4');
    const lastBlock = wantHead ? this.blocks.length - 1 : Math.max(...layers.map((l) => TAP_BLOCK[l as Exclude<MobilenetLayer, 'layer4'>]));
    const outs = new Map<MobilenetLayer, Tensor>();
    const kept = new Set<Tensor>();
    let h = this.stem(x);
    try {
      for (let i = 0; i <= lastBlock; i++) {
        const next = this.block(i, h);
        if (!kept.has(h)) h.dispose();
        h = next;
        for (const l of layers) {
          if (l !== 'layer4' && TAP_BLOCK[l] === i && !outs.has(l)) {
            outs.set(l, h);
            kept.add(h);
          }
        }
      }
      if (wantHead) {
        const top = this.head(h);
        if (!kept.has(h)) h.dispose();
        h = top;
        outs.set('layer4', h);
        kept.add(h);
      }
      return layers.map((l) => outs.get(l)!);
    } catch (e) {
      if (!kept.has(h)) h.dispose();
      for (const t of kept) t.dispose();
      throw e;
    }
  }

  /** The trunk's output, layer4 (out_relu: [N, 1280, H/32, W/32] rounded up). */
  forward(x: Tensor): Tensor {
    return this.forwardLayers(x, ['layer4'])[0]!;
  }
}

// ---- strict weight loading ------------------------------------------------------------------

/** What {@link checkMobilenetState} finds wrong (all empty: the tensors fit the network). */
export interface MobilenetStateProblems {
  missing: string[];
  unexpected: string[];
  /** `name: given [..] vs expected [..]`. */
  misshaped: string[];
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;
const list = (xs: string[], n = 5) => (xs.length <= n ? xs.join(', ') : `${xs.slice(0, n).join(', ')}, ... (${xs.length - n} more)`);

/** Compares named tensor shapes with {@link mobilenetStateShapes}: every name must be present with its exact shape, and nothing else may be. */
export function checkMobilenetState(shapes: Map<string, readonly number[]>): MobilenetStateProblems {
  const want = new Map(mobilenetStateShapes());
  const missing: string[] = [];
  const misshaped: string[] = [];
  for (const [name, shape] of want) {
    const got = shapes.get(name);
    if (got === undefined) missing.push(name);
    else if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) misshaped.push(`${name}: given ${shapeText(got)} vs expected ${shapeText(shape)}`);
  }
  const unexpected = [...shapes.keys()].filter((k) => !want.has(k));
  return { missing, unexpected, misshaped };
}

/**
 * Throws an AnogenError naming `source` and the missing, unexpected and mis-shaped tensors (with
 * a hint when the file seems to hold something else: a torchvision ResNet, Keras's own names);
 * returns quietly when the tensors fit.
 */
export function assertMobilenetState(shapes: Map<string, readonly number[]>, source: string): void {
  const p = checkMobilenetState(shapes);
  if (p.missing.length === 0 && p.unexpected.length === 0 && p.misshaped.length === 0) return;
  const parts = [
    p.missing.length > 0 ? `${p.missing.length} missing (${list(p.missing)})` : '',
    p.unexpected.length > 0 ? `${p.unexpected.length} unexpected (${list(p.unexpected)})` : '',
    p.misshaped.length > 0 ? `${p.misshaped.length} mis-shaped (${list(p.misshaped, 3)})` : '',
  ].filter(Boolean);
  const names = [...shapes.keys()];
  const hint =
    shapes.has('conv1.weight') && names.some((n) => n.startsWith('layer1.'))
      ? '; the file holds torchvision ResNet weights (conv1.weight, layer1.*), not MobileNetV2'
      : names.some((n) => n.includes('/') || n.includes(':0'))
        ? "; the names are Keras/TensorFlow.js variable names (e.g. 'Conv1/kernel'): convert the model with scripts/nsfwjs_to_safetensors.py"
        : '; expected Keras MobileNetV2 (alpha 1.0, no head) layer names in PyTorch layouts (Conv1.weight, bn_Conv1.*, expanded_conv_*, block_1_expand.weight, ..., Conv_1_bn.*), e.g. made by scripts/nsfwjs_to_safetensors.py';
  throw new AnogenError(`${source}: not MobileNetV2 weights: ${parts.join(', ')}${hint}`);
}

/**
 * Loads `tensors` (the names of {@link mobilenetStateShapes}) into `net` after
 * {@link assertMobilenetState}; float16 widens to float32, other dtypes are refused by
 * {@link Module.loadStateDict}. The caller keeps ownership of `tensors`.
 */
export function loadMobilenetState(net: MobileNetV2, tensors: Map<string, Tensor>, source: string): void {
  assertMobilenetState(new Map([...tensors].map(([k, t]) => [k, t.shape])), source);
  net.loadStateDict(tensors, { strict: true, source });
}

/** Reads a safetensors weights file and loads it into `net` (see {@link loadMobilenetState}); messages name the file. */
export function loadMobilenetWeights(net: MobileNetV2, file: string): void {
  withSafetensors(file, (tensors) => loadMobilenetState(net, tensors, `backbone weights ${file}`));
}
