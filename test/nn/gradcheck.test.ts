// Finite-difference gradient checks (float64, central differences) of the ops training uses.
import { test } from 'node:test';
import * as T from '../../src/core/index.js';
import * as F from '../../src/nn/functional.js';
import { det64, gradcheck, gradgradcheck } from '../core/gradcheck.js';

const long = (d: T.NestedArray) => T.tensor(d, { dtype: 'int64' });

test('gradcheck conv2d: stride + padding, dilation + groups, bias', () => {
  const x = det64([2, 4, 5, 5], 1);
  const w = det64([3, 4, 3, 3], 2);
  const b = det64([3], 3);
  gradcheck((xi, wi, bi) => F.conv2d(xi!, wi!, bi!, { stride: 2, padding: 1 }), [x, w, b], { name: 'conv2d stride 2 padding 1' });
  const wg = det64([4, 2, 2, 2], 4);
  gradcheck((xi, wi) => F.conv2d(xi!, wi!, null, { dilation: 2, groups: 2, padding: [1, 0] }), [x, wg], { name: 'conv2d dilation 2 groups 2' });
});

test('gradcheck convTranspose2d: stride 2, padding 1, outputPadding 1', () => {
  const x = det64([2, 3, 3, 3], 5);
  const w = det64([3, 2, 4, 4], 6); // [in, out, kh, kw]
  const b = det64([2], 7);
  gradcheck((xi, wi, bi) => F.convTranspose2d(xi!, wi!, bi!, { stride: 2, padding: 1 }), [x, w, b], { name: 'convTranspose2d s2 p1' });
  const w3 = det64([3, 2, 3, 3], 8);
  gradcheck((xi, wi, bi) => F.convTranspose2d(xi!, wi!, bi!, { stride: 2, padding: 1, outputPadding: 1 }), [x, w3, b], {
    name: 'convTranspose2d s2 p1 op1',
  });
});

test('gradcheck normalisations: batchNorm (training), instanceNorm, layerNorm', () => {
  const x = det64([3, 2, 3, 3], 9);
  const g = det64([2], 10, 0.5, 1.5);
  const b = det64([2], 11);
  gradcheck((xi, gi, bi) => F.batchNorm(xi!, null, null, { training: true, weight: gi!, bias: bi! }), [x, g, b], { name: 'batchNorm training' });
  // with running statistics (updated each call; the output uses batch statistics only)
  gradcheck((xi, gi, bi) => F.batchNorm(xi!, T.zeros([2], { dtype: 'float64' }), T.ones([2], { dtype: 'float64' }), { training: true, weight: gi!, bias: bi! }), [x, g, b], {
    name: 'batchNorm training with running stats',
  });
  gradcheck((xi, gi, bi) => F.instanceNorm(xi!, { weight: gi!, bias: bi! }), [x, g, b], { name: 'instanceNorm' });
  const ln = det64([3, 4], 12);
  gradcheck((xi, gi, bi) => F.layerNorm(xi!, [3, 3], gi!, bi!), [x, det64([3, 3], 13), det64([3, 3], 14)], { name: 'layerNorm' });
  gradcheck((xi) => F.layerNorm(xi!, [4]), [ln], { name: 'layerNorm no affine' });
  gradcheck((xi, gi, bi) => F.groupNorm(xi!, 1, gi!, bi!), [x, g, b], { name: 'groupNorm' });
});

test('gradcheck activations and linear', () => {
  const x = det64([4, 5], 15, -2, 2);
  gradcheck((xi) => F.leakyRelu(xi!, 0.2), [x], { name: 'leakyRelu' });
  gradcheck((xi) => xi!.tanh(), [x], { name: 'tanh' });
  gradcheck((xi) => xi!.sigmoid(), [x], { name: 'sigmoid' });
  gradcheck((xi) => xi!.elu(), [x], { name: 'elu' });
  gradcheck((xi) => xi!.softplus(), [x], { name: 'softplus' });
  gradcheck((xi) => xi!.logSigmoid(), [x], { name: 'logSigmoid' });
  gradcheck((xi) => F.softmax(xi!, 1), [x], { name: 'softmax' });
  gradcheck((xi) => F.logSoftmax(xi!, 1), [x], { name: 'logSoftmax' });
  gradcheck((xi, wi, bi) => F.linear(xi!, wi!, bi!), [x, det64([3, 5], 16), det64([3], 17)], { name: 'linear' });
});

test('gradcheck pooling and bilinear interpolation', () => {
  const x = det64([2, 2, 6, 6], 18);
  gradcheck((xi) => F.maxPool2d(xi!, 2), [x], { name: 'maxPool2d 2' });
  gradcheck((xi) => F.maxPool2d(xi!, 3, { stride: 2, padding: 1 }), [x], { name: 'maxPool2d 3 s2 p1' });
  gradcheck((xi) => F.avgPool2d(xi!, 2), [x], { name: 'avgPool2d 2' });
  gradcheck((xi) => F.avgPool2d(xi!, 3, { stride: 2, padding: 1 }), [x], { name: 'avgPool2d 3 s2 p1' });
  gradcheck((xi) => F.adaptiveAvgPool2d(xi!, 4), [x], { name: 'adaptiveAvgPool2d' });
  const s = det64([1, 2, 3, 4], 19);
  gradcheck((xi) => F.interpolate(xi!, { scaleFactor: 2, mode: 'bilinear' }), [s], { name: 'bilinear x2' });
  gradcheck((xi) => F.interpolate(xi!, { size: [5, 7], mode: 'bilinear', alignCorners: true }), [s], { name: 'bilinear alignCorners' });
  gradcheck((xi) => F.interpolate(xi!, { scaleFactor: 2 }), [s], { name: 'nearest x2' });
});

test('gradcheck losses', () => {
  const a = det64([3, 4], 20);
  const b = det64([3, 4], 21);
  gradcheck((x, y) => F.mseLoss(x!, y!), [a, b], { name: 'mse' });
  gradcheck((x, y) => F.l1Loss(x!, y!, 'sum'), [a, b], { name: 'l1' });
  gradcheck((x, y) => F.smoothL1Loss(x!, y!), [a, b.mul(3)], { name: 'smoothL1' });
  gradcheck((x, y) => F.smoothL1Loss(x!, y!, 'none', 0.5), [a, b], { name: 'smoothL1 beta 0.5' });
  const p = det64([3, 4], 22, 0.1, 0.9);
  const t = det64([3, 4], 23, 0, 1);
  gradcheck((x) => F.bce(x!, t), [p], { name: 'bce' });
  gradcheck((x) => F.bce(x!, t, { weight: det64([4], 24, 0.5, 2) }), [p], { name: 'bce weighted' });
  gradcheck((x, y) => F.bceWithLogits(x!, y!), [a.mul(3), t], { name: 'bceWithLogits' });
  gradcheck((x) => F.bceWithLogits(x!, t, { posWeight: det64([4], 25, 0.5, 2) }), [a], { name: 'bceWithLogits posWeight' });
  const target = long([0, 3, 1]);
  gradcheck((x) => F.crossEntropy(x!, target), [a], { name: 'crossEntropy' });
  gradcheck((x) => F.crossEntropy(x!, target, { labelSmoothing: 0.1, weight: det64([4], 26, 0.5, 2) }), [a], { name: 'crossEntropy smoothed weighted' });
  gradcheck((x) => F.crossEntropy(x!, det64([3, 4], 27, 0, 1)), [a], { name: 'crossEntropy probability targets' });
  gradcheck((x) => F.nllLoss(F.logSoftmax(x!, 1), target), [a], { name: 'nll' });
  gradcheck((x) => F.nllLoss(x!, target, { reduction: 'sum' }), [a], { name: 'nll raw' });
  const q = det64([3, 4], 28, 0.1, 1);
  gradcheck((x, y) => F.klDiv(x!, y!, 'batchmean'), [a, q], { name: 'klDiv' });
  gradcheck((x, y) => F.klDiv(x!, y!, 'sum', true), [a, b], { name: 'klDiv logTarget' });
});

test('gradgradcheck (double backward) of the ops in a WGAN-GP critic', () => {
  const x = det64([2, 2, 4, 4], 30);
  const w = det64([3, 2, 3, 3], 31);
  gradgradcheck((xi, wi) => F.conv2d(xi!, wi!, null, { stride: 2, padding: 1 }).tanh(), [x, w], { name: 'conv2d' });
  const v = det64([3, 5], 32, -2, 2);
  gradgradcheck((xi) => F.leakyRelu(xi!.mul(xi!), 0.2), [v], { name: 'leakyRelu' });
  gradgradcheck((xi, wi, bi) => F.linear(xi!, wi!, bi!).sigmoid(), [v, det64([2, 5], 33), det64([2], 34)], { name: 'linear' });
  gradgradcheck((xi) => F.layerNorm(xi!, [5]), [v], { name: 'layerNorm' });
  gradgradcheck((xi) => F.instanceNorm(xi!), [x], { name: 'instanceNorm' });
  gradgradcheck((xi, wi) => F.convTranspose2d(xi!, wi!, null, { stride: 2, padding: 1 }).tanh(), [x, det64([2, 3, 4, 4], 35)], {
    name: 'convTranspose2d',
  });
});

test('the checker itself fails on a wrong gradient', async () => {
  const assert = (await import('node:assert/strict')).default;
  // detach() hides one path from autograd: autograd says x, finite differences say 2x
  assert.throws(() => gradcheck((x) => x!.detach().mul(x!), [det64([4], 40, 0.5, 1)], { name: 'wrong' }), /wrong: input 0 element 0: autograd/);
  assert.throws(() => gradgradcheck((x) => x!.mul(x!.pow(2).detach()).add(x!.pow(2)), [det64([3], 41, 0.5, 1)]), /2nd order/);
});
