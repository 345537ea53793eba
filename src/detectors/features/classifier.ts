/**
 * The 'classifier' feature source of the feature-space detectors (ocsvm, gaussian): the layers
 * of one of anogen's small quality classifiers (src/models/classifier: 1 x 32 x 32 in [-1, 1]
 * -> conv1 3x3 16 + ReLU + max-pool 2 -> conv2 3x3 32 + ReLU + max-pool 4 -> fc1 64 + ReLU ->
 * fc2 10), used as pretrained features the way Rippel, Mertens & Merhof (2020) use ImageNet's.
 *
 * Use the classifier of ANOTHER dataset than the one the detector is fitted on (the
 * Fashion-MNIST classifier for MNIST, the MNIST classifier for Fashion-MNIST): a classifier
 * trained with the labels of the target dataset has seen its anomaly classes, which is
 * leakage in a one-class protocol. anogen cannot know what the data are, so it does not refuse
 * the same-dataset classifier; the README and the option's doc say so.
 *
 * Images (the detector's input, [-1, 1]) are averaged to gray when they have 3 channels and
 * resized bilinearly to 32 x 32 when they have another size (as the quality measures do),
 * then run through the network in evaluation mode, only as deep as the deepest chosen layer.
 * The layers ({@link CLASSIFIER_LAYERS}), each one feature group, concatenated in network order:
 *
 * - `conv1`: the ReLU'd conv1 map (16 x 32 x 32) average-pooled to `classifierGrid` x
 *   `classifierGrid` (16 g^2 features);
 * - `conv2`: the ReLU'd conv2 map (32 x 16 x 16) average-pooled to g x g (32 g^2; 288 at the
 *   default g = 3);
 * - `fc1`: the 64 hidden features after their ReLU (the quality measures' feature space);
 * - `logits`: the 10 class logits.
 *
 * The Gaussian detector fits one Gaussian per layer and sums the Mahalanobis distances (as with
 * several ResNet stages); ocsvm uses the concatenation. The weights are copied into the
 * detector's state dict under `backbone.` (the network's names: conv1.*, conv2.*, fc1.*,
 * fc2.*), so a bundle scores with exactly the weights it was fitted with, without the file;
 * its config keeps `classifier` (the name or the file's absolute path: provenance) and
 * `classifierSha256`, the SHA-256 of the weights file it was fitted with.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AnogenError, validList } from '../../core/errors.js';
import { cat, type Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/scope.js';
import * as F from '../../nn/functional.js';
import { loadSafetensors } from '../../nn/safetensors.js';
import { CLASSIFIER_SIZE, QUALITY_DATASETS, QualityClassifierNet, classifierWeightsFile } from '../../models/classifier/index.js';
import type { HParamSchema } from '../schema.js';
import type { InputSpec } from '../api.js';
import { sha256File } from './backbone.js';

/** The layers the 'classifier' source can take features from, in network order. */
export const CLASSIFIER_LAYERS = ['conv1', 'conv2', 'fc1', 'logits'] as const;
/** One classifier layer. */
export type ClassifierLayer = (typeof CLASSIFIER_LAYERS)[number];
/** Images per forward pass inside one feature batch (bounds the activations' memory). */
export const CLASSIFIER_CHUNK = 256;

/** The classifier hyperparameters shared by the ocsvm and gaussian schemas. */
export const CLASSIFIER_SCHEMA = {
  classifier: {
    type: 'string',
    default: '',
    doc:
      "with --features classifier: 'mnist' or 'fashion-mnist' (anogen's committed quality classifiers, src/models/classifier) or a .safetensors file of that network; " +
      'use the classifier of ANOTHER dataset (fashion-mnist for MNIST, mnist for Fashion-MNIST): one trained on the target data saw its anomaly classes; copied into the bundle',
  },
  classifierLayers: {
    type: 'string',
    default: 'conv2',
    doc: 'with --features classifier: layers separated by , or + (conv1, conv2: their ReLU maps average-pooled to a g x g grid, g = classifier-grid; fc1: the 64 hidden features; logits); gaussian: one Gaussian per layer, distances summed',
  },
  classifierGrid: {
    type: 'int',
    default: 3,
    min: 1,
    max: 16,
    doc: 'with --features classifier: conv1 and conv2 maps are average-pooled to this many cells per side (1 = global average; 3: the best mean over MNIST and Fashion-MNIST in bench/feature-selection.ts)',
  },
  classifierSha256: {
    type: 'string',
    default: '',
    doc: "with --features classifier: the weights file's SHA-256; when given, a different file is refused (a bundle records it)",
  },
} satisfies HParamSchema;

/** The classifier hyperparameters (see {@link CLASSIFIER_SCHEMA}). */
export interface ClassifierHParams {
  classifier: string;
  classifierLayers: string;
  classifierGrid: number;
  classifierSha256: string;
}

const isNamed = (c: string): c is (typeof QUALITY_DATASETS)[number] => (QUALITY_DATASETS as readonly string[]).includes(c);
const VALID = `${QUALITY_DATASETS.map((q) => `'${q}'`).join(', ')} or a .safetensors file of the quality classifier network (src/models/classifier/network.ts)`;

/** A file `classifier` value made absolute (so a bundle records where it came from); names and '' unchanged. */
export function resolveClassifier(c: string): string {
  return c === '' || isNamed(c) ? c : path.resolve(c);
}

/** Parses `classifierLayers`, separated by ',' or '+' (the '+' form fits in benchmark --hparams lists); AnogenError naming the valid layers; returns them in network order. */
export function parseClassifierLayers(spec: string, who: string): ClassifierLayer[] {
  const parts = spec
    .split(/[,+]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0 || parts.some((p) => !(CLASSIFIER_LAYERS as readonly string[]).includes(p))) {
    throw new AnogenError(
      `${who} classifierLayers: ${JSON.stringify(spec)} is not valid; expected a comma- or plus-separated list of ${validList(CLASSIFIER_LAYERS)}, e.g. conv2 or conv2+fc1`,
    );
  }
  if (new Set(parts).size !== parts.length) throw new AnogenError(`${who} classifierLayers: ${JSON.stringify(spec)} names a layer twice`);
  return CLASSIFIER_LAYERS.filter((l) => parts.includes(l));
}

/** Checks the classifier options against the feature source (AnogenError naming the option); returns the parsed layers. */
export function checkClassifierHParams(h: ClassifierHParams & { features: string }, who: string): ClassifierLayer[] {
  const layers = parseClassifierLayers(h.classifierLayers, who);
  if (h.features !== 'classifier' && h.classifier !== '') {
    throw new AnogenError(`${who} classifier: only used with features 'classifier' (features is '${h.features}'); drop --classifier or pass --features classifier`);
  }
  if (h.features === 'classifier') {
    if (h.classifier === '') throw new AnogenError(`${who} classifier: features 'classifier' needs --classifier ${VALID}`);
    if (!isNamed(h.classifier) && !h.classifier.endsWith('.safetensors')) {
      throw new AnogenError(`${who} classifier: ${JSON.stringify(h.classifier)} is not valid; expected ${VALID}`);
    }
  }
  if (h.classifierSha256 !== '' && !/^[0-9a-f]{64}$/.test(h.classifierSha256)) {
    throw new AnogenError(`${who} classifierSha256: ${JSON.stringify(h.classifierSha256)} is not valid; expected 64 lowercase hex digits (sha256sum of the weights file)`);
  }
  return layers;
}

/** Options of {@link ClassifierFeatures}. */
export interface ClassifierFeaturesOptions extends ClassifierHParams {
  /** The owner's input (channels 1 or 3, range [-1, 1]). */
  input: InputSpec;
  /** The owner's name, for messages. */
  who: string;
}

/** The classifier feature extractor (see the module comment). */
export class ClassifierFeatures {
  readonly layers: ClassifierLayer[];
  /** Each chosen layer's feature width, in order (their sum is the feature count). */
  readonly groups: number[];
  /** The weights file (a committed classifier's, or the user's). */
  readonly file: string;
  private shaValue: string;
  private readonly grid: number;
  private readonly net = new QualityClassifierNet();
  private readonly input: InputSpec;
  private readonly who: string;
  private loaded = false;

  /**
   * Checks the options and, unless `classifierSha256` is given (a bundle, whose weights come
   * from {@link loadStateDict}), loads the weights now (a missing or foreign file is refused
   * here). With `classifierSha256` given the file is read only if no state dict came first,
   * at the first extraction, and must have that SHA-256.
   */
  constructor(o: ClassifierFeaturesOptions) {
    this.who = o.who;
    this.layers = checkClassifierHParams({ ...o, features: 'classifier' }, o.who);
    if (o.input.channels !== 1 && o.input.channels !== 3) {
      throw new AnogenError(`${o.who} nc: features 'classifier' takes 1-channel or 3-channel (averaged to gray) images, got ${o.input.channels}; pass --channels 1 or 3`);
    }
    if (o.input.range[0] !== -1 || o.input.range[1] !== 1) {
      throw new AnogenError(`${o.who}: features 'classifier' takes images in [-1, 1], the detector's input is [${o.input.range.join(', ')}]`);
    }
    this.input = o.input;
    this.grid = o.classifierGrid;
    const widths: Record<ClassifierLayer, number> = { conv1: 16 * this.grid * this.grid, conv2: 32 * this.grid * this.grid, fc1: 64, logits: 10 };
    this.groups = this.layers.map((l) => widths[l]);
    this.file = isNamed(o.classifier) ? classifierWeightsFile(o.classifier) : o.classifier;
    this.shaValue = o.classifierSha256;
    this.net.eval();
    if (this.shaValue === '') {
      try {
        this.loadFile();
      } catch (e) {
        this.net.dispose();
        throw e;
      }
    }
  }

  /** SHA-256 of the weights in use: of the file loaded, or the one given (classifierSha256). */
  get sha256(): string {
    return this.shaValue;
  }

  /** Total feature count (the sum of {@link groups}). */
  get numFeatures(): number {
    return this.groups.reduce((a, b) => a + b, 0);
  }

  private loadFile(): void {
    if (!fs.existsSync(this.file)) throw new AnogenError(`${this.who} classifier ${this.file}: no such file; expected ${VALID}`);
    const actual = sha256File(this.file);
    if (this.shaValue !== '' && this.shaValue !== actual) {
      throw new AnogenError(`${this.who} classifier ${this.file}: its SHA-256 is ${actual}, but classifierSha256 is ${this.shaValue}; pass the file the SHA-256 was taken of`);
    }
    let sd: Map<string, Tensor>;
    try {
      sd = loadSafetensors(this.file);
    } catch (e) {
      if (e instanceof AnogenError) throw new AnogenError(`${this.who} classifier ${this.file}: ${e.message}`);
      throw e;
    }
    try {
      this.loadStateDict(sd, this.file);
    } finally {
      for (const t of sd.values()) t.dispose();
    }
    this.shaValue = actual;
  }

  /** Features [N, F] float64 on the CPU of images already checked against the owner's input (runs without gradients inside the caller's scope). */
  extract(x: Tensor): Tensor {
    if (!this.loaded) this.loadFile();
    const n = x.shape[0]!;
    const parts: Tensor[] = [];
    try {
      for (let i = 0; i < n; i += CLASSIFIER_CHUNK) {
        parts.push(tidy(() => this.extractChunk(x.narrow(0, i, Math.min(CLASSIFIER_CHUNK, n - i)))));
      }
      return parts.length === 1 ? parts[0]! : cat(parts, 0);
    } finally {
      if (parts.length > 1) for (const p of parts) p.dispose();
    }
  }

  private extractChunk(x: Tensor): Tensor {
    let b = x.cpu().float();
    if (b.shape[1] === 3) b = b.mean([1], true);
    if (b.shape[2] !== CLASSIFIER_SIZE || b.shape[3] !== CLASSIFIER_SIZE) b = F.interpolate(b, { size: CLASSIFIER_SIZE, mode: 'bilinear', alignCorners: false });
    const deepest = this.layers[this.layers.length - 1]!;
    const out: Tensor[] = [];
    const h1 = F.relu(this.net.conv1.call(b));
    if (this.layers.includes('conv1')) out.push(F.adaptiveAvgPool2d(h1, this.grid).flatten(1));
    if (deepest !== 'conv1') {
      const h2 = F.relu(this.net.conv2.call(F.maxPool2d(h1, 2)));
      if (this.layers.includes('conv2')) out.push(F.adaptiveAvgPool2d(h2, this.grid).flatten(1));
      if (deepest === 'fc1' || deepest === 'logits') {
        const f = F.relu(this.net.fc1.call(F.maxPool2d(h2, 4).flatten(1)));
        if (this.layers.includes('fc1')) out.push(f);
        if (deepest === 'logits') out.push(this.net.fc2.call(f));
      }
    }
    return (out.length === 1 ? out[0]! : cat(out, 1)).double();
  }

  /** The network's weights (conv1.*, conv2.*, fc1.*, fc2.*; new detached tensors the caller disposes). */
  stateDict(): Map<string, Tensor> {
    if (!this.loaded) this.loadFile();
    return this.net.stateDict();
  }

  /** Loads the network's weights (strict: every tensor of the network, float32 shapes as network.ts). */
  loadStateDict(sd: Map<string, Tensor>, source: string): void {
    try {
      this.net.loadStateDict(sd, { source });
    } catch (e) {
      if (e instanceof AnogenError) throw new AnogenError(`${this.who} classifier: ${e.message}; expected the quality classifier network (src/models/classifier/network.ts)`);
      throw e;
    }
    this.net.eval();
    this.loaded = true;
  }

  dispose(): void {
    this.net.dispose();
  }
}
