/**
 * Feature sources of the feature-space detectors (ocsvm, gaussian): what turns NCHW images into
 * an N x F matrix before a classical one-class model is fitted on it.
 *
 * - 'pixels': the flattened pixels (C*S*S features), so that a feature-space detector on
 *   pixels doubles as a classical floor;
 * - 'bundle': the features of an anogen bundle whose detector has a feature space
 *   ({@link FeatureExtractor}, e.g. GANomaly's discriminator features: the last hidden layer of
 *   the GAN's discriminator, the idea of scoring on a discriminator's features). The backbone's
 *   weights are copied into the owner's state dict under `backbone.` so that a saved bundle
 *   scores with exactly the weights it was fitted with.
 * - 'backbone': pooled stages of a torchvision ResNet whose weights the user gives as a
 *   safetensors file (./backbone.ts); its weights are copied under `backbone.` too.
 * - 'classifier': layers of one of anogen's small quality classifiers (src/models/classifier,
 *   e.g. the Fashion-MNIST one as pretrained features for MNIST; ./classifier.ts); its weights
 *   are copied under `backbone.` too.
 *
 * Features are float64 on the CPU: the solvers (SMO, Ledoit-Wolf) run in double precision as
 * scikit-learn does.
 */
import path from 'node:path';
import { AnogenError, noGrad, tidy, type Tensor } from '../../core/index.js';
import { cat } from '../../core/index.js';
import { permutation } from '../../data/random.js';
import { asSource, type BatchSource } from '../../train/source.js';
import { capabilities, checkImages, hasFeatures, type Detector, type FeatureExtractor, type ImageSet, type InputSpec, type ProgressEvent } from '../api.js';
import { loadBundle } from '../bundle.js';
import { BackboneFeatures, type BackboneHParams } from './backbone.js';
import { ClassifierFeatures, type ClassifierHParams } from './classifier.js';

/** The feature sources by name. */
export const FEATURE_SOURCES = ['pixels', 'bundle', 'backbone', 'classifier'] as const;
/** One feature source name. */
export type FeatureSourceName = (typeof FEATURE_SOURCES)[number];

/** Backbone bundle folders being loaded (a bundle that is its own backbone would recurse forever). */
const loading = new Set<string>();

/** The `backbone` option stored in a bundle: an absolute path (so the bundle loads from any folder), or null. */
export function resolveBackbone(backbone: string | null): string | null {
  return backbone === null ? null : path.resolve(backbone);
}

/** Options of {@link FeatureSource}. */
export interface FeatureSourceOptions {
  /** 'pixels' or 'bundle'. */
  features: FeatureSourceName;
  /** With 'bundle': a file of the backbone bundle's folder (its config.json); null otherwise. */
  backbone: string | null;
  /** The owner's input (size and channels must equal the backbone's). */
  input: InputSpec;
  /** The owner's name, for messages (e.g. 'ocsvm'). */
  who: string;
  /** With 'backbone': the ResNet options (./backbone.ts); ignored otherwise. */
  resnet?: BackboneHParams;
  /** With 'backbone': 0 (default) pooled stages, n >= 1 feature maps with n x n neighbourhoods (BackboneFeaturesOptions.maps in ./backbone.ts). */
  backboneMaps?: number;
  /** With 'classifier': the classifier options (./classifier.ts); ignored otherwise. */
  classifier?: ClassifierHParams;
}

/** Turns checked images into float64 features N x F on the CPU (see the module comment). */
export class FeatureSource {
  readonly kind: FeatureSourceName;
  /** What the features are (for plot titles). */
  readonly featureName: string;
  private backboneDetector: (Detector & FeatureExtractor) | null = null;
  private resnet: BackboneFeatures | null = null;
  private clf: ClassifierFeatures | null = null;

  constructor(o: FeatureSourceOptions) {
    this.kind = o.features;
    if (o.features === 'classifier') {
      if (o.backbone !== null) throw new AnogenError(`${o.who} backbone: only used with features 'bundle' (features is 'classifier'); drop --backbone`);
      if (o.classifier === undefined) throw new AnogenError(`${o.who}: features 'classifier' needs the classifier options (classifier, classifierLayers, ...)`);
      this.clf = new ClassifierFeatures({ ...o.classifier, input: o.input, who: o.who });
      this.featureName = `${path.basename(o.classifier.classifier, '.safetensors')} classifier ${this.clf.layers.join('+')} features`;
      return;
    }
    if (o.features === 'backbone') {
      if (o.backbone !== null)
        throw new AnogenError(`${o.who} backbone: a bundle backbone is only used with features 'bundle'; with features 'backbone' pass --backbone-weights FILE.safetensors`);
      if (o.resnet === undefined) throw new AnogenError(`${o.who}: features 'backbone' needs the backbone options (backboneArch, backboneWeights, ...)`);
      this.resnet = new BackboneFeatures({ ...o.resnet, input: o.input, who: o.who, maps: o.backboneMaps ?? 0 });
      this.featureName = `${o.resnet.backboneArch} ${this.resnet.layers.join('+')} features`;
      return;
    }
    if (o.features === 'pixels') {
      if (o.backbone !== null) throw new AnogenError(`${o.who} backbone: only used with features 'bundle' (features is 'pixels'); drop --backbone or pass --features bundle`);
      this.featureName = 'pixels';
      return;
    }
    if (o.backbone === null) {
      throw new AnogenError(
        `${o.who} backbone: features 'bundle' needs --backbone <bundle>/config.json, the config.json of an anogen bundle whose detector has features (e.g. ganomaly)`,
      );
    }
    const dir = path.dirname(path.resolve(o.backbone));
    if (loading.has(dir)) throw new AnogenError(`${o.who} backbone ${o.backbone}: the bundle is its own backbone (directly or through other bundles); expected another bundle`);
    let det: Detector;
    loading.add(dir);
    try {
      det = loadBundle(dir).detector;
    } catch (e) {
      if (e instanceof AnogenError && !e.message.includes('is its own backbone')) throw new AnogenError(`${o.who} backbone ${o.backbone}: ${e.message}`);
      throw e;
    } finally {
      loading.delete(dir);
    }
    if (!hasFeatures(det)) {
      const caps = capabilities(det).join(', ') || 'none';
      det.dispose();
      throw new AnogenError(
        `${o.who} backbone ${o.backbone}: the ${det.name} detector has no feature space (its capabilities: ${caps}); expected a detector with features, e.g. ganomaly`,
      );
    }
    const bi = det.input;
    if (bi.size !== o.input.size || bi.channels !== o.input.channels || bi.range[0] !== o.input.range[0] || bi.range[1] !== o.input.range[1]) {
      det.dispose();
      throw new AnogenError(
        `${o.who} backbone ${o.backbone}: the backbone takes ${bi.size} x ${bi.size} x ${bi.channels} images in [${bi.range.join(', ')}], this ${o.who} is set to ` +
          `${o.input.size} x ${o.input.size} x ${o.input.channels} in [${o.input.range.join(', ')}]; pass isize ${bi.size} and nc ${bi.channels} (--image-size ${bi.size} --channels ${bi.channels})`,
      );
    }
    this.backboneDetector = det;
    this.featureName = `${det.featureName} of a ${det.name} bundle`;
  }

  /** The backbone detector (features 'bundle'), else null. */
  get backbone(): (Detector & FeatureExtractor) | null {
    return this.backboneDetector;
  }

  /** With 'backbone': the ResNet feature extractor (its `groups`, `sha256`), else null. */
  get resnetBackbone(): BackboneFeatures | null {
    return this.resnet;
  }

  /** With 'classifier': the classifier feature extractor (its `groups`, `sha256`), else null. */
  get classifierFeatures(): ClassifierFeatures | null {
    return this.clf;
  }

  /** Widths of the feature groups (one per ResNet stage with 'backbone', per layer with 'classifier'), or null for one group. */
  get groups(): number[] | null {
    if (this.clf !== null) return this.clf.groups;
    return this.resnet === null ? null : this.resnet.groups;
  }

  /** Features [N, F] float64 on the CPU of images already checked against the owner's input. */
  extract(x: Tensor): Tensor {
    return noGrad(() =>
      tidy(() => {
        if (this.resnet !== null) return this.resnet.extract(x);
        if (this.clf !== null) return this.clf.extract(x);
        if (this.backboneDetector === null) return x.cpu().flatten(1).double();
        return this.backboneDetector.features(x).flatten(1).double();
      }),
    );
  }

  /** The backbone's weights under `backbone.` (empty for 'pixels'); the caller disposes them. */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    if (this.resnet !== null || this.clf !== null) {
      for (const [k, v] of (this.resnet ?? this.clf)!.stateDict()) out.set(`backbone.${k}`, v);
      return out;
    }
    if (this.backboneDetector === null) return out;
    const sd = this.backboneDetector.stateDict();
    for (const [k, v] of sd) out.set(`backbone.${k}`, v);
    return out;
  }

  /** Loads the backbone's weights from the `backbone.` entries of `sd` (strict, as the backbone's loadStateDict). */
  loadStateDict(sd: Map<string, Tensor>): void {
    if (this.backboneDetector === null && this.resnet === null && this.clf === null) return;
    const own = new Map<string, Tensor>();
    for (const [k, v] of sd) if (k.startsWith('backbone.')) own.set(k.slice('backbone.'.length), v);
    if (this.resnet !== null) this.resnet.loadStateDict(own, 'backbone.* tensors');
    else if (this.clf !== null) this.clf.loadStateDict(own, 'backbone.* tensors');
    else this.backboneDetector!.loadStateDict(own);
  }

  dispose(): void {
    this.backboneDetector?.dispose();
    this.backboneDetector = null;
    this.resnet?.dispose();
    this.resnet = null;
    this.clf?.dispose();
    this.clf = null;
  }
}

/** Options of {@link collectFeatures}. */
export interface CollectOptions {
  /** Use at most this many training images, a seeded subsample (0: all). */
  maxTrain: number;
  /** Seed of the subsample. */
  seed: number;
  /** Images per feature batch. */
  batchSize: number;
  /** Called after every batch (the CLI's progress line). */
  onProgress?: (e: ProgressEvent) => void;
}

/** Training features: the result of {@link collectFeatures}. */
export interface CollectedFeatures {
  /** [n, F] float64 on the CPU (the caller disposes it). */
  x: Tensor;
  /** Feature batches run (at least 1). */
  batches: number;
  /** Seconds spent. */
  seconds: number;
}

/**
 * Extracts the features of training images (a tensor or a streaming source) batch by batch,
 * after drawing a seeded subsample of at most `maxTrain` positions (kept in order).
 */
export async function collectFeatures(train: ImageSet | BatchSource, src: FeatureSource, input: InputSpec, who: string, o: CollectOptions): Promise<CollectedFeatures> {
  const t0 = performance.now();
  const source = 'images' in train ? asSource(checkImages(train.images, input, `${who} fit`)) : train;
  const n = source.length;
  if (n === 0) throw new AnogenError(`${who} fit: the training set is empty`);
  const positions = o.maxTrain > 0 && n > o.maxTrain ? Array.from(permutation(n, o.seed).subarray(0, o.maxTrain)).sort((a, b) => a - b) : Array.from({ length: n }, (_, i) => i);
  const bs = Math.max(1, Math.min(o.batchSize, positions.length));
  const steps = Math.ceil(positions.length / bs);
  const parts: Tensor[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const t1 = performance.now();
      const xb = await source.get(positions.slice(s * bs, (s + 1) * bs), 'cpu');
      try {
        checkImages(xb, input, `${who} fit`);
        parts.push(src.extract(xb));
      } finally {
        xb.dispose();
      }
      if (o.onProgress) {
        const done = Math.min((s + 1) * bs, positions.length);
        const secs = (performance.now() - t0) / 1000;
        o.onProgress({
          epoch: 1,
          epochs: 1,
          step: s + 1,
          stepsPerEpoch: steps,
          losses: {},
          imagesPerSecond: done / Math.max(secs, 1e-9),
          etaSeconds: (secs / done) * (positions.length - done),
          stepMs: performance.now() - t1,
        });
      }
    }
    const x = parts.length === 1 ? parts[0]! : cat(parts, 0);
    if (parts.length > 1) for (const p of parts) p.dispose();
    parts.length = 0;
    return { x, batches: steps, seconds: (performance.now() - t0) / 1000 };
  } finally {
    for (const p of parts) p.dispose();
  }
}
