/**
 * The small CNN of anogen's sample-quality measures (src/eval/quality.ts): a digit (MNIST) or
 * clothing (Fashion-MNIST) classifier whose 64-feature hidden layer is the feature space of the
 * Fréchet distance and whose softmax gives the classifier score and the mode histogram, the
 * roles Inception-v3 plays in FID and the Inception score.
 *
 * 1 x 32 x 32 in [-1, 1] -> conv 3x3 (16) + ReLU + max-pool 2 -> 16 x 16
 * -> conv 3x3 (32) + ReLU + max-pool 4 -> 4 x 4 -> flatten 512 -> linear 64 + ReLU (features)
 * -> linear 10 (logits). 38,282 parameters, 154 KB as float32 safetensors.
 */
import type { Tensor } from '../../core/tensor.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Linear } from '../../nn/layers/linear.js';
import * as F from '../../nn/functional.js';

/** Image size the classifier takes (the generators' default). */
export const CLASSIFIER_SIZE = 32;
/** Feature size (the hidden layer's width). */
export const CLASSIFIER_FEATURES = 64;
/** Classes (MNIST digits, Fashion-MNIST items). */
export const CLASSIFIER_CLASSES = 10;

/** The classifier network (state-dict keys conv1.*, conv2.*, fc1.*, fc2.*). */
export class QualityClassifierNet extends Module<[Tensor], Tensor> {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor() {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(1, 16, 3, { padding: 1 }));
    this.conv2 = this.registerModule('conv2', new Conv2d(16, 32, 3, { padding: 1 }));
    this.fc1 = this.registerModule('fc1', new Linear(32 * 4 * 4, CLASSIFIER_FEATURES));
    this.fc2 = this.registerModule('fc2', new Linear(CLASSIFIER_FEATURES, CLASSIFIER_CLASSES));
  }

  /** Features [N, 64] (after the hidden layer's ReLU) of images [N, 1, 32, 32] in [-1, 1]. */
  features(x: Tensor): Tensor {
    let h = F.maxPool2d(F.relu(this.conv1.call(x)), 2);
    h = F.maxPool2d(F.relu(this.conv2.call(h)), 4);
    return F.relu(this.fc1.call(h.flatten(1)));
  }

  /** Class logits [N, 10] of features [N, 64]. */
  logits(features: Tensor): Tensor {
    return this.fc2.call(features);
  }

  /** Class logits [N, 10] of images [N, 1, 32, 32] in [-1, 1]. */
  forward(x: Tensor): Tensor {
    return this.logits(this.features(x));
  }
}
