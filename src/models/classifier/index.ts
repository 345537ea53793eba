/**
 * The committed quality classifiers (MNIST and Fashion-MNIST; network.ts) and what the quality
 * measures need from them: the 64 features and the class probabilities of a batch of images.
 * The weights are `<dataset>.safetensors` beside this file, trained by
 * scripts/train-quality-classifiers.ts (its command and test accuracies: accuracy.json);
 * loading them needs neither the script nor the training data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnogenError, validList } from '../../core/errors.js';
import { cat, type Device, type Tensor } from '../../core/tensor.js';
import { noGrad } from '../../core/autograd.js';
import { dispose, tidy } from '../../core/scope.js';
import { loadSafetensors } from '../../nn/safetensors.js';
import * as F from '../../nn/functional.js';
import { CLASSIFIER_CLASSES, CLASSIFIER_FEATURES, CLASSIFIER_SIZE, QualityClassifierNet } from './network.js';

export { QualityClassifierNet, CLASSIFIER_CLASSES, CLASSIFIER_FEATURES, CLASSIFIER_SIZE } from './network.js';

/** The datasets that have a committed classifier. */
export const QUALITY_DATASETS = ['mnist', 'fashion-mnist'] as const;
/** A dataset with a committed classifier. */
export type QualityDataset = (typeof QUALITY_DATASETS)[number];

/** True when `data` names a dataset with a committed classifier. */
export function hasQualityClassifier(data: string): data is QualityDataset {
  return (QUALITY_DATASETS as readonly string[]).includes(data);
}

/**
 * The folder holding the weights: this file's folder when run from the sources; from a build
 * (dist/models/classifier) the package's src/models/classifier.
 */
export function classifierDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  if (fs.existsSync(path.join(here, 'mnist.safetensors'))) return here;
  for (let dir = here; ;) {
    const cand = path.join(dir, 'src', 'models', 'classifier');
    if (fs.existsSync(path.join(cand, 'mnist.safetensors'))) return cand;
    const up = path.dirname(dir);
    if (up === dir) return here;
    dir = up;
  }
}

/** The weights file of `dataset`'s classifier. */
export function classifierWeightsFile(dataset: QualityDataset): string {
  return path.join(classifierDir(), `${dataset}.safetensors`);
}

/** Features and class probabilities of a set of images (row-major float64). */
export interface ClassifierOutputs {
  /** Images measured. */
  n: number;
  /** [n, 64] hidden-layer features. */
  features: Float64Array;
  /** [n, 10] softmax probabilities. */
  probs: Float64Array;
}

/** A loaded quality classifier (the caller disposes it). */
export class QualityClassifier {
  private constructor(
    readonly dataset: QualityDataset,
    readonly net: QualityClassifierNet,
    readonly device: Device,
  ) {}

  /** Loads the committed classifier of `dataset` ('mnist' or 'fashion-mnist') on `device` (default 'cpu'). */
  static load(dataset: string, device: Device = 'cpu'): QualityClassifier {
    if (!hasQualityClassifier(dataset)) {
      throw new AnogenError(`no quality classifier for ${JSON.stringify(dataset)}; the sample-quality measures have classifiers for ${validList([...QUALITY_DATASETS])}`);
    }
    const file = classifierWeightsFile(dataset);
    if (!fs.existsSync(file)) throw new AnogenError(`quality classifier ${file} is missing; scripts/train-quality-classifiers.ts writes it`);
    const net = new QualityClassifierNet();
    const sd = loadSafetensors(file);
    try {
      net.loadStateDict(sd, { source: file });
    } finally {
      for (const t of sd.values()) t.dispose();
    }
    net.eval();
    if (device !== 'cpu') net.to(device);
    return new QualityClassifier(dataset, net, device);
  }

  /**
   * Wraps a network (e.g. one being trained by the script) without loading weights.
   * `dataset` only labels it.
   */
  static fromNet(dataset: QualityDataset, net: QualityClassifierNet, device: Device = 'cpu'): QualityClassifier {
    return new QualityClassifier(dataset, net, device);
  }

  /**
   * Features and probabilities of images [N, C, S, S] whose pixels span `range` (default
   * [-1, 1]): 3-channel images are averaged to gray, other sizes resized (bilinear) to 32 x 32,
   * pixels mapped to [-1, 1]; run in eval mode without autograd, `batchSize` (default 500) at a
   * time.
   */
  measure(x: Tensor, range: [number, number] = [-1, 1], batchSize = 500): ClassifierOutputs {
    const s = x.shape;
    if (s.length !== 4 || (s[1] !== 1 && s[1] !== 3)) throw new AnogenError(`quality classifier: expected images [N, 1 or 3, S, S], got [${s.join(', ')}]`);
    const [lo, hi] = range;
    if (!(hi > lo)) throw new AnogenError(`quality classifier: range [${lo}, ${hi}] is empty`);
    const n = s[0]!;
    const feats: Tensor[] = [];
    const probs: Tensor[] = [];
    this.net.eval();
    try {
      noGrad(() => {
        for (let i = 0; i < n; i += batchSize) {
          const [f, p] = tidy(() => {
            let b = x.narrow(0, i, Math.min(batchSize, n - i)).float();
            if (this.device !== 'cpu') b = b.to(this.device);
            if (s[1] === 3) b = b.mean([1], true);
            if (s[2] !== CLASSIFIER_SIZE || s[3] !== CLASSIFIER_SIZE) b = F.interpolate(b, { size: CLASSIFIER_SIZE, mode: 'bilinear', alignCorners: false });
            if (lo !== -1 || hi !== 1)
              b = b
                .sub(lo)
                .mul(2 / (hi - lo))
                .sub(1);
            const feat = this.net.features(b);
            return [feat.cpu(), F.softmax(this.net.logits(feat), 1).cpu()] as [Tensor, Tensor];
          });
          feats.push(f);
          probs.push(p);
        }
      });
      const fAll = feats.length === 1 ? feats[0]! : cat(feats, 0);
      const pAll = probs.length === 1 ? probs[0]! : cat(probs, 0);
      try {
        return { n, features: fAll.toFloat64Array(), probs: pAll.toFloat64Array() };
      } finally {
        if (feats.length > 1) fAll.dispose();
        if (probs.length > 1) pAll.dispose();
      }
    } finally {
      dispose(feats);
      dispose(probs);
    }
  }

  /** Frees the weights. */
  dispose(): void {
    this.net.dispose();
  }
}

/** Feature and class counts, for callers that size arrays. */
export const CLASSIFIER_SHAPE = { features: CLASSIFIER_FEATURES, classes: CLASSIFIER_CLASSES } as const;
