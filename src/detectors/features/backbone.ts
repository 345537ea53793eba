/**
 * The 'backbone' feature source of the feature-space detectors (ocsvm, gaussian, patchcore): a
 * pretrained CNN whose weights the user gives as a safetensors file, as in Rippel, Mertens &
 * Merhof (2020), "Modeling the distribution of normal data in pre-trained deep features for
 * anomaly detection", and PatchCore (Roth et al., 2022). Two families:
 *
 * - torchvision ResNets (resnet18, resnet50, wide_resnet50_2) with torchvision's names
 *   (scripts/torchvision_to_safetensors.py makes the file from a .pth). Images (the detector's
 *   input range, [-1, 1]) are mapped to [0, 1], gray repeated to 3 channels, resized bilinearly
 *   (align_corners false) to `backboneSize` (0: kept at the detector's image size) and
 *   normalised with ImageNet's mean and standard deviation.
 * - 'mobilenet_v2': the Keras MobileNetV2 that the npm package nsfwjs ships (ImageNet weights
 *   fine-tuned by nsfwjs's authors; scripts/nsfwjs_to_safetensors.py makes the file;
 *   src/models/mobilenet). Preprocessed as nsfwjs does: [0, 1], gray to RGB, bilinear with
 *   align_corners true to `backboneSize` (nsfwjs's 224), no mean/std.
 *
 * The trunk runs in evaluation mode; each chosen stage (layer1..layer4: the ends of the stride
 * 4, 8, 16 and 32 stages) is global-average-pooled (or kept as maps, see
 * {@link BackboneFeaturesOptions.maps}) and the stages are concatenated in network order.
 * {@link BackboneFeatures.groups} gives each stage's width, so that the Gaussian detector fits
 * one Gaussian per stage (the paper's per-level Gaussians); the one-class SVM uses the
 * concatenation.
 *
 * The weights are copied into the detector's state dict under `backbone.` (the network's own
 * names), so a saved bundle scores identically without the original file; the bundle's config
 * keeps `backboneWeights` null and `backboneSha256`, the SHA-256 of the file it was fitted with.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, validList } from '../../core/errors.js';
import { cat, type Tensor } from '../../core/tensor.js';
import { tensor } from '../../core/creation.js';
import { tidy } from '../../core/scope.js';
import * as F from '../../nn/functional.js';
import { RESNET_ARCHS, RESNET_LAYERS, ResNet, resnetLayerChannels, type ResnetLayer } from '../../models/resnet/networks.js';
import { loadResnetState, loadResnetWeights } from '../../models/resnet/weights.js';
import { MOBILENET_LAYER_CHANNELS, MobileNetV2, loadMobilenetState, loadMobilenetWeights } from '../../models/mobilenet/index.js';
import type { HParamSchema } from '../schema.js';
import type { InputSpec } from '../api.js';

/** ImageNet's per-channel mean (RGB), as torchvision's pretrained weights expect. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
/** ImageNet's per-channel standard deviation (RGB). */
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
/** Images per forward pass inside one feature batch (bounds the activations' memory). */
export const BACKBONE_CHUNK = 32;

/**
 * The backbone architectures: torchvision's ResNets (ImageNet weights the user converts with
 * scripts/torchvision_to_safetensors.py) and 'mobilenet_v2', the Keras MobileNetV2 whose weights
 * the npm package nsfwjs ships (converted with scripts/nsfwjs_to_safetensors.py; src/models/mobilenet).
 */
export const BACKBONE_ARCHS = [...RESNET_ARCHS, 'mobilenet_v2'] as const;
/** One backbone architecture. */
export type BackboneArch = (typeof BACKBONE_ARCHS)[number];

/** Checks an architecture name (AnogenError naming the valid ones). */
export function checkBackboneArch(arch: string, who: string): BackboneArch {
  if (!(BACKBONE_ARCHS as readonly string[]).includes(arch)) throw new AnogenError(`${who}: unknown architecture ${JSON.stringify(arch)}; expected ${validList(BACKBONE_ARCHS)}`);
  return arch as BackboneArch;
}

/** The backbone hyperparameters shared by the ocsvm, gaussian and patchcore schemas. */
export const BACKBONE_SCHEMA = {
  backboneArch: {
    type: 'enum',
    default: 'resnet18',
    values: BACKBONE_ARCHS,
    doc: "with --features backbone: the architecture of the weights file: a torchvision ResNet (torchvision's names) or mobilenet_v2 (nsfwjs's Keras MobileNetV2, scripts/nsfwjs_to_safetensors.py; use --backbone-size 224)",
  },
  backboneWeights: {
    type: 'file',
    default: null,
    doc: "with --features backbone: a safetensors file of the backbone's weights (ResNets: scripts/torchvision_to_safetensors.py makes it from torchvision's .pth; mobilenet_v2: scripts/nsfwjs_to_safetensors.py from the nsfwjs npm package); copied into the bundle",
  },
  backboneLayers: {
    type: 'string',
    default: 'layer2,layer3',
    doc: 'with --features backbone: comma-separated stages (layer1..layer4), each global-average-pooled (ocsvm: concatenated; gaussian: one Gaussian per stage, distances summed)',
  },
  backboneSize: {
    type: 'int',
    default: 128,
    min: 0,
    max: 1024,
    doc: 'with --features backbone: the images are resized (bilinear) to this size before the backbone (0 = the image size as loaded)',
  },
  backboneSha256: {
    type: 'string',
    default: '',
    doc: "with --features backbone: the weights file's SHA-256; when given, a different file is refused (a bundle records it)",
  },
} satisfies HParamSchema;

/** The backbone hyperparameters (see {@link BACKBONE_SCHEMA}). */
export interface BackboneHParams {
  backboneArch: BackboneArch;
  backboneWeights: string | null;
  backboneLayers: string;
  backboneSize: number;
  backboneSha256: string;
}

/** Parses `layer2,layer3` into stages in network order; AnogenError for an unknown, repeated or empty list. */
export function parseBackboneLayers(spec: string, who: string): ResnetLayer[] {
  const parts = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = parts.find((p) => !(RESNET_LAYERS as readonly string[]).includes(p));
  if (parts.length === 0 || bad !== undefined) {
    throw new AnogenError(`${who} backboneLayers: ${JSON.stringify(spec)} is not valid; expected a comma-separated list of ${validList(RESNET_LAYERS)}, e.g. layer2,layer3`);
  }
  if (new Set(parts).size !== parts.length) throw new AnogenError(`${who} backboneLayers: ${JSON.stringify(spec)} names a stage twice`);
  return RESNET_LAYERS.filter((l) => parts.includes(l));
}

/** Hex SHA-256 of a file's bytes. */
export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Checks the backbone options against the feature source (AnogenError naming the option); returns the parsed stages. */
export function checkBackboneHParams(h: BackboneHParams & { features: string }, who: string): ResnetLayer[] {
  checkBackboneArch(h.backboneArch, `${who} backboneArch`);
  const layers = parseBackboneLayers(h.backboneLayers, who);
  if (h.features !== 'backbone' && h.backboneWeights !== null) {
    throw new AnogenError(`${who} backboneWeights: only used with features 'backbone' (features is '${h.features}'); drop --backbone-weights or pass --features backbone`);
  }
  if (h.backboneSha256 !== '' && !/^[0-9a-f]{64}$/.test(h.backboneSha256)) {
    throw new AnogenError(`${who} backboneSha256: ${JSON.stringify(h.backboneSha256)} is not valid; expected 64 lowercase hex digits (sha256sum of the weights file)`);
  }
  return layers;
}

/** Options of {@link BackboneFeatures}. */
export interface BackboneFeaturesOptions extends BackboneHParams {
  /** The owner's input (channels 1 or 3, its value range). */
  input: InputSpec;
  /** The owner's name, for messages. */
  who: string;
  /**
   * 0 (default): each stage global-average-pooled. n >= 1 (odd): feature MAPS, as PatchCore
   * (Roth et al., 2022) builds its patch features: each stage's map averaged over n x n
   * neighbourhoods (stride 1, zero padding n // 2 counted, as torch.nn.AvgPool2d), upsampled
   * bilinearly (align_corners false) to the first chosen stage's size, concatenated over
   * channels and flattened channel-major: [N, C·H·W] with C = the sum of {@link BackboneFeatures.groups}.
   */
  maps?: number;
}

/** A built trunk of one backbone family, and everything that differs between the families. */
interface Trunk {
  /** The network (evaluation mode). */
  net: { forwardLayers(x: Tensor, layers: readonly ResnetLayer[]): Tensor[]; stateDict(): Map<string, Tensor>; dispose(): void };
  /** Each stage's channels. */
  widths: Readonly<Record<ResnetLayer, number>>;
  /** Loads a safetensors weights file (strict). */
  loadFile(file: string): void;
  /** Loads a state dict (strict; `source` names it in messages). */
  loadState(sd: Map<string, Tensor>, source: string): void;
  /** The bilinear resize's align_corners: nsfwjs resizes with tf.image.resizeBilinear(alignCorners: true), torchvision's models expect false. */
  alignCorners: boolean;
  /** Normalise with ImageNet's mean and std (torchvision's weights) or not (nsfwjs's: RGB in [0, 1]). */
  imagenetNorm: boolean;
  /** How a user makes the weights file, for the message when none is loaded. */
  howToMake: string;
  /** The same after a file that is not safetensors (`file`: its name). */
  notSafetensorsHint(file: string): string;
}

/** Builds the trunk of `arch` (its weights unloaded). */
function buildTrunk(arch: BackboneArch): Trunk {
  if (arch === 'mobilenet_v2') {
    const net = new MobileNetV2();
    return {
      net,
      widths: MOBILENET_LAYER_CHANNELS,
      loadFile: (file) => loadMobilenetWeights(net, file),
      loadState: (sd, source) => loadMobilenetState(net, sd, source),
      alignCorners: true,
      imagenetNorm: false,
      howToMake: 'scripts/nsfwjs_to_safetensors.py converts the nsfwjs npm package',
      notSafetensorsHint: () => '; the nsfwjs package is converted with: python3 scripts/nsfwjs_to_safetensors.py <nsfwjs package folder> mobilenet_v2.safetensors',
    };
  }
  const net = new ResNet(arch);
  return {
    net,
    widths: resnetLayerChannels(arch),
    loadFile: (file) => loadResnetWeights(net, file),
    loadState: (sd, source) => loadResnetState(net, sd, source),
    alignCorners: false,
    imagenetNorm: true,
    howToMake: 'scripts/torchvision_to_safetensors.py converts a torchvision .pth',
    notSafetensorsHint: (file) => `; a PyTorch checkpoint (.pth) is converted with: python3 scripts/torchvision_to_safetensors.py ${path.basename(file)} weights.safetensors`,
  };
}

/** The backbone feature extractor (see the module comment). */
export class BackboneFeatures {
  readonly arch: BackboneArch;
  readonly layers: ResnetLayer[];
  /** Each chosen stage's feature width, in order (their sum is the feature count). */
  readonly groups: number[];
  /** Resize target (0: none). */
  readonly size: number;
  /** SHA-256 of the weights file loaded at construction, or the one given (backboneSha256), or '' when neither. */
  readonly sha256: string;
  private readonly trunk: Trunk;
  private readonly input: InputSpec;
  private readonly who: string;
  /** See {@link BackboneFeaturesOptions.maps}. */
  readonly maps: number;
  private loaded = false;

  /**
   * Builds the trunk and, when `backboneWeights` is given, loads it (strict: a file of another
   * architecture is refused with the tensors it lacks). Without a file the weights must come
   * from {@link loadStateDict} (a bundle) before any extraction; without either, extraction is
   * refused.
   */
  constructor(o: BackboneFeaturesOptions) {
    this.who = o.who;
    this.layers = checkBackboneHParams({ ...o, features: 'backbone' }, o.who);
    this.arch = o.backboneArch;
    if (o.input.channels !== 1 && o.input.channels !== 3) {
      throw new AnogenError(`${o.who} nc: features 'backbone' takes 1-channel (repeated to RGB) or 3-channel images, got ${o.input.channels}; pass --channels 1 or 3`);
    }
    this.input = o.input;
    this.size = o.backboneSize;
    this.maps = o.maps ?? 0;
    if (!Number.isInteger(this.maps) || this.maps < 0 || (this.maps > 0 && this.maps % 2 === 0)) {
      throw new AnogenError(`${o.who} neighbourhood: ${JSON.stringify(this.maps)} is not valid; expected an odd integer >= 1 (default 3)`);
    }
    let sha = o.backboneSha256;
    if (o.backboneWeights !== null) {
      const actual = sha256File(o.backboneWeights);
      if (sha !== '' && sha !== actual) {
        throw new AnogenError(`${o.who} backboneWeights ${o.backboneWeights}: its SHA-256 is ${actual}, but backboneSha256 is ${sha}; pass the file the SHA-256 was taken of`);
      }
      sha = actual;
    }
    this.sha256 = sha;
    this.trunk = buildTrunk(this.arch);
    this.groups = this.layers.map((l) => this.trunk.widths[l]);
    if (o.backboneWeights !== null) {
      try {
        this.trunk.loadFile(o.backboneWeights);
      } catch (e) {
        this.trunk.net.dispose();
        if (!(e instanceof AnogenError)) throw e;
        const hint = e.message.includes('not a valid safetensors file') ? this.trunk.notSafetensorsHint(o.backboneWeights) : '';
        throw new AnogenError(`${o.who} ${e.message}${hint}`);
      }
      this.loaded = true;
    }
  }

  /** Total feature count (the sum of {@link groups}). */
  get numFeatures(): number {
    return this.groups.reduce((a, b) => a + b, 0);
  }

  /** Features [N, F] float64 on the CPU of images already checked against the owner's input (runs without gradients inside the caller's scope). */
  extract(x: Tensor): Tensor {
    if (!this.loaded) {
      throw new AnogenError(`${this.who} backboneWeights: features 'backbone' needs --backbone-weights FILE.safetensors, ${this.arch} weights (${this.trunk.howToMake})`);
    }
    const n = x.shape[0]!;
    const parts: Tensor[] = [];
    try {
      for (let i = 0; i < n; i += BACKBONE_CHUNK) {
        parts.push(tidy(() => this.extractChunk(x.narrow(0, i, Math.min(BACKBONE_CHUNK, n - i)))));
      }
      return parts.length === 1 ? parts[0]! : cat(parts, 0);
    } finally {
      if (parts.length > 1) for (const p of parts) p.dispose();
    }
  }

  private extractChunk(x: Tensor): Tensor {
    const [lo, hi] = this.input.range;
    let h = x
      .cpu()
      .float()
      .sub(lo)
      .div(hi - lo);
    if (h.shape[1] === 1) h = h.expand([h.shape[0]!, 3, h.shape[2]!, h.shape[3]!]);
    const t = this.trunk;
    if (this.size > 0 && (h.shape[2] !== this.size || h.shape[3] !== this.size)) h = F.interpolate(h, { size: this.size, mode: 'bilinear', alignCorners: t.alignCorners });
    if (t.imagenetNorm) {
      const mean = tensor(Float32Array.from(IMAGENET_MEAN), { shape: [1, 3, 1, 1] });
      const std = tensor(Float32Array.from(IMAGENET_STD), { shape: [1, 3, 1, 1] });
      h = h.sub(mean).div(std);
    }
    const outs = t.net.forwardLayers(h, this.layers);
    if (this.maps > 0) {
      const n = this.maps;
      const [rows, cols] = [outs[0]!.shape[2]!, outs[0]!.shape[3]!];
      const aligned = outs.map((o) => {
        const a = n > 1 ? F.avgPool2d(o, n, { stride: 1, padding: Math.floor(n / 2) }) : o;
        return a.shape[2] === rows && a.shape[3] === cols ? a : F.interpolate(a, { size: [rows, cols], mode: 'bilinear', alignCorners: false });
      });
      return cat(aligned, 1).flatten(1).double();
    }
    return cat(
      outs.map((o) => o.mean([2, 3])),
      1,
    ).double();
  }

  /** The trunk's weights under its names (torchvision's or, for mobilenet_v2, Keras's; new detached tensors the caller disposes). */
  stateDict(): Map<string, Tensor> {
    if (!this.loaded) throw new AnogenError(`${this.who}: the backbone has no weights to save (give --backbone-weights)`);
    return this.trunk.net.stateDict();
  }

  /** Loads the trunk's weights from a bundle: strict, as {@link loadResnetState} / loadMobilenetState. */
  loadStateDict(sd: Map<string, Tensor>, source: string): void {
    this.trunk.loadState(sd, source);
    this.loaded = true;
  }

  dispose(): void {
    this.trunk.net.dispose();
  }
}
