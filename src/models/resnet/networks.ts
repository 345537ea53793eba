/**
 * ResNet-18, ResNet-50 and Wide-ResNet-50-2 (He et al., 2016; Zagoruyko & Komodakis, 2016) as
 * torchvision builds them (torchvision/models/resnet.py: `BasicBlock`, `Bottleneck` with the
 * stride on the 3x3 conv, "ResNet v1.5"), written as anogen Modules whose state-dict names,
 * order and shapes are torchvision's (`conv1.weight`, `bn1.running_mean`,
 * `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, `layer2.0.downsample.1.running_var`,
 * ...), so torchvision weights load 1:1. Only the feature trunk is built: there is no `fc` (a
 * weights file's `fc.weight` / `fc.bias` are ignored by {@link loadResnetWeights}).
 * Used as a frozen feature extractor, in evaluation mode (batch norm on running statistics).
 */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/scope.js';
import { AnogenError, validList } from '../../core/errors.js';
import * as F from '../../nn/functional.js';
import { Module } from '../../nn/module.js';
import { Sequential } from '../../nn/layers/container.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { BatchNorm2d } from '../../nn/layers/norm.js';
import { ReLU } from '../../nn/layers/activation.js';

/** The architectures, by torchvision's function names. */
export const RESNET_ARCHS = ['resnet18', 'resnet50', 'wide_resnet50_2'] as const;
/** One architecture name. */
export type ResnetArch = (typeof RESNET_ARCHS)[number];
/** The four stages, by torchvision's attribute names. */
export const RESNET_LAYERS = ['layer1', 'layer2', 'layer3', 'layer4'] as const;
/** One stage name. */
export type ResnetLayer = (typeof RESNET_LAYERS)[number];

/** How an architecture is built (torchvision's `_resnet(block, layers, width_per_group)`). */
export interface ResnetConfig {
  /** 'basic' (two 3x3 convs, expansion 1) or 'bottleneck' (1x1, 3x3, 1x1, expansion 4). */
  block: 'basic' | 'bottleneck';
  /** Blocks per stage. */
  layers: [number, number, number, number];
  /** torchvision's width_per_group (64; 128 for the wide ResNets). */
  widthPerGroup: number;
}

/** The configurations of {@link RESNET_ARCHS}. */
export const RESNET_CONFIGS: Record<ResnetArch, ResnetConfig> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2], widthPerGroup: 64 },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3], widthPerGroup: 64 },
  wide_resnet50_2: { block: 'bottleneck', layers: [3, 4, 6, 3], widthPerGroup: 128 },
};

const expansionOf = (c: ResnetConfig) => (c.block === 'basic' ? 1 : 4);

/** Checks an architecture name (AnogenError listing the valid ones). */
export function checkResnetArch(arch: string, who = 'resnet'): ResnetArch {
  if (!(RESNET_ARCHS as readonly string[]).includes(arch)) throw new AnogenError(`${who}: unknown architecture ${JSON.stringify(arch)}; expected ${validList(RESNET_ARCHS)}`);
  return arch as ResnetArch;
}

/** Output channels of each stage: 64, 128, 256, 512 times the block expansion (1 or 4). */
export function resnetLayerChannels(arch: ResnetArch): Record<ResnetLayer, number> {
  const e = expansionOf(RESNET_CONFIGS[arch]);
  return { layer1: 64 * e, layer2: 128 * e, layer3: 256 * e, layer4: 512 * e };
}

/**
 * torchvision's state-dict names and shapes of `arch` in order (the trunk, without fc),
 * computed from the configuration without allocating any tensor.
 */
export function resnetStateShapes(arch: ResnetArch): [string, number[]][] {
  const c = RESNET_CONFIGS[arch];
  const out: [string, number[]][] = [];
  const bn = (p: string, n: number) => {
    out.push([`${p}.weight`, [n]], [`${p}.bias`, [n]], [`${p}.running_mean`, [n]], [`${p}.running_var`, [n]], [`${p}.num_batches_tracked`, []]);
  };
  out.push(['conv1.weight', [64, 3, 7, 7]]);
  bn('bn1', 64);
  const e = expansionOf(c);
  let inplanes = 64;
  c.layers.forEach((blocks, s) => {
    const planes = 64 * 2 ** s;
    const width = Math.floor(planes * (c.widthPerGroup / 64));
    for (let b = 0; b < blocks; b++) {
      const p = `layer${s + 1}.${b}`;
      if (c.block === 'basic') {
        out.push([`${p}.conv1.weight`, [planes, inplanes, 3, 3]]);
        bn(`${p}.bn1`, planes);
        out.push([`${p}.conv2.weight`, [planes, planes, 3, 3]]);
        bn(`${p}.bn2`, planes);
      } else {
        out.push([`${p}.conv1.weight`, [width, inplanes, 1, 1]]);
        bn(`${p}.bn1`, width);
        out.push([`${p}.conv2.weight`, [width, width, 3, 3]]);
        bn(`${p}.bn2`, width);
        out.push([`${p}.conv3.weight`, [planes * e, width, 1, 1]]);
        bn(`${p}.bn3`, planes * e);
      }
      const stride = b === 0 && s > 0 ? 2 : 1;
      if (b === 0 && (stride !== 1 || inplanes !== planes * e)) {
        out.push([`${p}.downsample.0.weight`, [planes * e, inplanes, 1, 1]]);
        bn(`${p}.downsample.1`, planes * e);
      }
      inplanes = planes * e;
    }
  });
  return out;
}

/** torchvision's BasicBlock: conv3x3(stride) bn relu conv3x3 bn, + identity (or downsample), relu. */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(inplanes: number, planes: number, stride: number, downsample: Sequential | null) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inplanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { stride: 1, padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.downsample = downsample === null ? null : this.registerModule('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const out = this.bn2.call(this.conv2.call(this.bn1.call(this.conv1.call(x)).relu()));
      const identity = this.downsample === null ? x : this.downsample.call(x);
      return out.add(identity).relu();
    });
  }
}

/**
 * torchvision's Bottleneck (v1.5): conv1x1 bn relu, conv3x3(stride) bn relu, conv1x1 (x4) bn,
 * + identity (or downsample), relu; `width` = planes * widthPerGroup / 64.
 */
export class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu: ReLU;
  readonly downsample: Sequential | null;
  constructor(inplanes: number, planes: number, width: number, stride: number, downsample: Sequential | null) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inplanes, width, 1, { bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(width));
    this.conv2 = this.registerModule('conv2', new Conv2d(width, width, 3, { stride, padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(width));
    this.conv3 = this.registerModule('conv3', new Conv2d(width, planes * 4, 1, { bias: false }));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(planes * 4));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = downsample === null ? null : this.registerModule('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const a = this.bn1.call(this.conv1.call(x)).relu();
      const b = this.bn2.call(this.conv2.call(a)).relu();
      const out = this.bn3.call(this.conv3.call(b));
      const identity = this.downsample === null ? x : this.downsample.call(x);
      return out.add(identity).relu();
    });
  }
}

/**
 * The ResNet trunk of `arch` (torchvision's layout and names, no fc): conv1 (7x7, stride 2),
 * bn1, relu, maxpool (3x3, stride 2), layer1..layer4. Built in evaluation mode; weights come
 * from {@link loadResnetWeights} (the constructor's are PyTorch's default initialisation).
 */
export class ResNet extends Module<[Tensor], Tensor> {
  readonly arch: ResnetArch;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;

  constructor(arch: ResnetArch) {
    super();
    this.arch = checkResnetArch(arch, 'ResNet');
    const c = RESNET_CONFIGS[this.arch];
    const e = expansionOf(c);
    this.conv1 = this.registerModule('conv1', new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(64));
    this.relu = this.registerModule('relu', new ReLU());
    let inplanes = 64;
    const stages = c.layers.map((blocks, s) => {
      const planes = 64 * 2 ** s;
      const width = Math.floor(planes * (c.widthPerGroup / 64));
      const stage = new Sequential();
      for (let b = 0; b < blocks; b++) {
        const stride = b === 0 && s > 0 ? 2 : 1;
        const down =
          b === 0 && (stride !== 1 || inplanes !== planes * e) ? new Sequential(new Conv2d(inplanes, planes * e, 1, { stride, bias: false }), new BatchNorm2d(planes * e)) : null;
        stage.append(c.block === 'basic' ? new BasicBlock(inplanes, planes, stride, down) : new Bottleneck(inplanes, planes, width, stride, down));
        inplanes = planes * e;
      }
      return stage;
    });
    // torchvision registers maxpool (no parameters) between relu and layer1: the state-dict order is unaffected
    this.layer1 = this.registerModule('layer1', stages[0]!);
    this.layer2 = this.registerModule('layer2', stages[1]!);
    this.layer3 = this.registerModule('layer3', stages[2]!);
    this.layer4 = this.registerModule('layer4', stages[3]!);
    this.eval();
  }

  /** The stem: conv1, bn1, relu, 3x3 max pool with stride 2 and padding 1. */
  stem(x: Tensor): Tensor {
    return tidy(() => F.maxPool2d(this.bn1.call(this.conv1.call(x)).relu(), 3, { stride: 2, padding: 1 }));
  }

  /**
   * The outputs of the chosen stages (NCHW, in `layers`' order), running the trunk only as deep
   * as the deepest one. `x` is [N, 3, H, W], already normalised.
   */
  forwardLayers(x: Tensor, layers: readonly ResnetLayer[]): Tensor[] {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new AnogenError(`ResNet (${this.arch}): expected [N, 3, H, W] input, got [${x.shape.join(', ')}]`);
    const deepest = Math.max(...layers.map((l) => RESNET_LAYERS.indexOf(l)));
    if (layers.length === 0 || deepest < 0) throw new AnogenError(`ResNet (${this.arch}): layers must be some of ${validList(RESNET_LAYERS)}, got [${layers.join(', ')}]`);
    const outs = new Map<ResnetLayer, Tensor>();
    const kept = new Set<Tensor>();
    let h = this.stem(x);
    try {
      for (let s = 0; s <= deepest; s++) {
        const name = RESNET_LAYERS[s]!;
        const next = (this.child(name) as Sequential).call(h);
        if (!kept.has(h)) h.dispose();
        h = next;
        if (layers.includes(name)) {
          outs.set(name, h);
          kept.add(h);
        }
      }
      return layers.map((l) => outs.get(l)!);
    } catch (e) {
      if (!kept.has(h)) h.dispose();
      for (const t of kept) t.dispose();
      throw e;
    }
  }

  /** The trunk's last stage, layer4 ([N, 512 * expansion, H/32, W/32]). */
  forward(x: Tensor): Tensor {
    return this.forwardLayers(x, ['layer4'])[0]!;
  }
}
