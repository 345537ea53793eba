// nn.functional values against hand-computed results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import * as F from '../../src/nn/functional.js';
import { close } from '../core/helpers.js';

const t = (d: T.NestedArray) => T.tensor(d);
const long = (d: T.NestedArray) => T.tensor(d, { dtype: 'int64' });
const sig = (x: number) => 1 / (1 + Math.exp(-x));

test('linear', () => {
  const w = t([
    [1, 0],
    [0, 1],
    [1, 1],
  ]);
  assert.deepEqual(F.linear(t([[1, 2]]), w, t([0, 0, 1])).toArray(), [[1, 2, 4]]);
  assert.deepEqual(F.linear(t([[1, 2]]), w).toArray(), [[1, 2, 3]]);
  assert.deepEqual(F.linear(T.ones([4, 5, 2]), w).shape, [4, 5, 3]);
});

test('conv2d: plain, padding + stride, dilation, groups, bias', () => {
  const x = T.arange(1, 10, 1, { dtype: 'float32' }).reshape(1, 1, 3, 3);
  const w = T.ones([1, 1, 2, 2]);
  assert.deepEqual(F.conv2d(x, w).toArray(), [
    [
      [
        [12, 16],
        [24, 28],
      ],
    ],
  ]);
  assert.deepEqual(F.conv2d(x, w, t([1])).toArray(), [
    [
      [
        [13, 17],
        [25, 29],
      ],
    ],
  ]);
  assert.deepEqual(F.conv2d(x, w, null, { stride: 2, padding: 1 }).toArray(), [
    [
      [
        [1, 5],
        [11, 28],
      ],
    ],
  ]);
  assert.deepEqual(F.conv2d(x, w, null, { dilation: 2 }).toArray(), [[[[20]]]]);
  assert.deepEqual(F.conv2d(x, w, null, { padding: [0, 1] }).shape, [1, 1, 2, 4]);
  const x2 = T.cat([T.ones([1, 1, 2, 2]), T.full([1, 1, 2, 2], 2)], 1);
  const wg = t([[[[1]]], [[[10]]]]);
  assert.deepEqual(F.conv2d(x2, wg, null, { groups: 2 }).toArray(), [
    [
      [
        [1, 1],
        [1, 1],
      ],
      [
        [20, 20],
        [20, 20],
      ],
    ],
  ]);
});

test('convTranspose2d: stride 2, padding 1, outputPadding', () => {
  const x = t([
    [
      [
        [1, 2],
        [3, 4],
      ],
    ],
  ]);
  const w = T.ones([1, 1, 2, 2]);
  assert.deepEqual(F.convTranspose2d(x, w, null, { stride: 2 }).toArray(), [
    [
      [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [3, 3, 4, 4],
        [3, 3, 4, 4],
      ],
    ],
  ]);
  assert.deepEqual(F.convTranspose2d(x, w, null, { stride: 2, padding: 1 }).toArray(), [
    [
      [
        [1, 2],
        [3, 4],
      ],
    ],
  ]);
  assert.deepEqual(F.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }).toArray(), [
    [
      [
        [1, 2, 2],
        [3, 4, 4],
        [3, 4, 4],
      ],
    ],
  ]);
  // DCGAN generator block: 4x4 kernel, stride 2, padding 1 doubles the size
  assert.deepEqual(F.convTranspose2d(T.ones([2, 8, 4, 4]), T.ones([8, 3, 4, 4]), T.zeros([3]), { stride: 2, padding: 1 }).shape, [2, 3, 8, 8]);
});

test('pooling, interpolate, pixelShuffle', () => {
  const x = T.arange(16, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 4, 4);
  assert.deepEqual(F.maxPool2d(x, 2).toArray(), [
    [
      [
        [5, 7],
        [13, 15],
      ],
    ],
  ]);
  assert.deepEqual(F.maxPool2d(x, 3, { stride: 1 }).toArray(), [
    [
      [
        [10, 11],
        [14, 15],
      ],
    ],
  ]);
  assert.deepEqual(F.avgPool2d(x, 2).toArray(), [
    [
      [
        [2.5, 4.5],
        [10.5, 12.5],
      ],
    ],
  ]);
  // padding counted as zeros by default (countIncludePad true)
  close(F.avgPool2d(t([[[[4]]]]), 3, { stride: 1, padding: 1 }), [4 / 9]);
  assert.deepEqual(F.avgPool2d(t([[[[4]]]]), 3, { stride: 1, padding: 1, countIncludePad: false }).toArray(), [[[[4]]]]);
  assert.deepEqual(F.adaptiveAvgPool2d(x, 1).toArray(), [[[[7.5]]]]);
  assert.deepEqual(F.adaptiveAvgPool2d(x, [2, 1]).toArray(), [[[[3.5], [11.5]]]]);
  const s = t([
    [
      [
        [1, 2],
        [3, 4],
      ],
    ],
  ]);
  assert.deepEqual(F.interpolate(s, { scaleFactor: 2 }).toArray(), [
    [
      [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [3, 3, 4, 4],
        [3, 3, 4, 4],
      ],
    ],
  ]);
  assert.deepEqual(F.interpolate(s, { size: [2, 4] }).toArray(), [
    [
      [
        [1, 1, 2, 2],
        [3, 3, 4, 4],
      ],
    ],
  ]);
  const g = t([
    [
      [
        [0, 1],
        [2, 3],
      ],
    ],
  ]);
  close(F.interpolate(g, { size: 3, mode: 'bilinear', alignCorners: true }), [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
  close(F.interpolate(g, { scaleFactor: 2, mode: 'bilinear' }), [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  assert.throws(() => F.interpolate(g, { size: 3, scaleFactor: 2 }), /exactly one of size or scaleFactor/);
  assert.throws(() => F.interpolate(g, { size: 3, mode: 'bicubic' as 'bilinear' }), /"bicubic" is not valid/);
  const ps = F.pixelShuffle(T.arange(4, undefined, 1, { dtype: 'float32' }).reshape(1, 4, 1, 1), 2);
  assert.deepEqual(ps.toArray(), [
    [
      [
        [0, 1],
        [2, 3],
      ],
    ],
  ]);
  assert.deepEqual(F.pad(s, [1, 0, 0, 0]).toArray(), [
    [
      [
        [0, 1, 2],
        [0, 3, 4],
      ],
    ],
  ]);
  assert.deepEqual(F.pad(s, [1, 1, 0, 0], 'replicate').toArray(), [
    [
      [
        [1, 1, 2, 2],
        [3, 3, 4, 4],
      ],
    ],
  ]);
});

test('batchNorm: training statistics, running updates, eval mode', () => {
  const x = t([[[[1, 2]]], [[[3, 4]]]]); // N=2, C=1, H=1, W=2
  const rm = T.zeros([1]);
  const rv = T.ones([1]);
  const y = F.batchNorm(x, rm, rv, { training: true });
  const sd = Math.sqrt(1.25 + 1e-5);
  close(y, [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd]);
  close(rm, [0.25]); // 0.9 * 0 + 0.1 * 2.5
  close(rv, [0.9 + 0.1 * (5 / 3)]); // running var uses the unbiased batch variance
  const e = F.batchNorm(x, rm, rv); // eval (default)
  close(
    e,
    [1, 2, 3, 4].map((v) => (v - 0.25) / Math.sqrt(0.9 + 0.1 * (5 / 3) + 1e-5)),
  );
  const wb = F.batchNorm(x, null, null, { training: true, weight: t([2]), bias: t([1]) });
  close(
    wb,
    [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd].map((v) => 2 * v + 1),
  );
  const m0 = T.zeros([1]);
  F.batchNorm(x, m0, T.ones([1]), { training: true, momentum: 0.5 });
  close(m0, [1.25]);
});

test('instanceNorm, layerNorm, groupNorm', () => {
  const x = t([[[[1, 3]], [[10, 20]]]]); // N=1, C=2, 1x2
  const s1 = Math.sqrt(1 + 1e-5);
  const s2 = Math.sqrt(25 + 1e-5);
  close(F.instanceNorm(x), [-1 / s1, 1 / s1, -5 / s2, 5 / s2]);
  const ln = F.layerNorm(t([[1, 2, 3]]), [3]);
  const sl = Math.sqrt(2 / 3 + 1e-5);
  close(ln, [-1 / sl, 0, 1 / sl]);
  close(F.layerNorm(t([[1, 2, 3]]), [3], t([1, 2, 3]), t([0, 0, 1])), [-1 / sl, 0, 3 / sl + 1]);
  // groupNorm with one group per channel equals instanceNorm
  close(F.groupNorm(x, 2), [-1 / s1, 1 / s1, -5 / s2, 5 / s2]);
  // one group over everything: mean 8.5, var of [1,3,10,20]
  const mean = 8.5;
  const v = [1, 3, 10, 20].map((a) => (a - mean) ** 2).reduce((a, b) => a + b) / 4 + 1e-5;
  close(
    F.groupNorm(x, 1),
    [1, 3, 10, 20].map((a) => (a - mean) / Math.sqrt(v)),
    1e-4,
  );
});

test('dropout, embedding, softmax, logSoftmax, oneHot', () => {
  const x = T.ones([1000]);
  assert.deepEqual(F.dropout(x, 0).toFloat32Array(), x.toFloat32Array());
  assert.deepEqual(F.dropout(x, 0.5, false).toFloat32Array(), x.toFloat32Array());
  assert.equal(F.dropout(x, 1).sum().item(), 0);
  const d = F.dropout(x, 0.5).toFloat32Array();
  for (const v of d) assert.ok(v === 0 || v === 2);
  const kept = d.filter((v) => v === 2).length;
  assert.ok(kept > 350 && kept < 650);
  assert.throws(() => F.dropout(x, 1.5), /p must be in \[0, 1\]/);
  const w = t([
    [0, 0],
    [1, 1],
    [2, 2],
  ]);
  assert.deepEqual(F.embedding(long([2, 0]), w).toArray(), [
    [2, 2],
    [0, 0],
  ]);
  close(F.softmax(t([[0, Math.log(3)]]), 1), [0.25, 0.75]);
  close(F.logSoftmax(t([[0, Math.log(3)]]), -1), [Math.log(0.25), Math.log(0.75)]);
  close(F.softmax(t([[1000, 1000]]), 1), [0.5, 0.5]); // stable
  assert.deepEqual(F.oneHot(long([0, 2]), 3).toArray(), [
    [1, 0, 0],
    [0, 0, 1],
  ]);
  assert.deepEqual(F.oneHot(long([1])).toArray(), [[0, 1]]);
});

test('activations and distances', () => {
  close(F.leakyRelu(t([-1, 1]), 0.2), [-0.2, 1]);
  close(F.relu(t([-1, 1])), [0, 1]);
  close(F.sigmoid(t([0])), [0.5]);
  close(F.tanh(t([0])), [0]);
  close(F.elu(t([-1])), [Math.exp(-1) - 1]);
  close(F.softplus(t([0])), [Math.LN2]);
  close(F.logSigmoid(t([0])), [-Math.LN2]);
  close(F.silu(t([1])), [sig(1)]);
  close(F.hardtanh(t([-3, 0.5, 3])), [-1, 0.5, 1]);
  close(F.gelu(t([0, 1])), [0, 0.8413447460685429]); // x * Phi(x)
  close(
    F.cosineSimilarity(
      t([
        [1, 0],
        [1, 1],
      ]),
      t([
        [0, 1],
        [2, 2],
      ]),
    ),
    [0, 1],
  );
  close(
    F.cdist(
      t([
        [0, 0],
        [3, 4],
      ]),
      t([[0, 0]]),
    ),
    [0, 5],
  );
  close(F.normalize(t([[3, 4]])), [0.6, 0.8]);
});

test('lstm: one step equals the gate equations', () => {
  // input 1, hidden 1, all input weights 1, recurrent weights 0, biases 0
  const x = t([[[0.5]]]); // [seq=1, batch=1, input=1]
  const h0 = T.zeros([1, 1, 1]);
  const c0 = T.zeros([1, 1, 1]);
  const params = [T.ones([4, 1]), T.zeros([4, 1]), T.zeros([4]), T.zeros([4])];
  const { output, h, c } = F.lstm(x, [h0, c0], params);
  const i = sig(0.5);
  const g = Math.tanh(0.5);
  const cv = i * g; // f * c0 = 0
  const hv = sig(0.5) * Math.tanh(cv);
  close(c, [cv]);
  close(h, [hv]);
  close(output, [hv]);
  const batchFirst = F.lstm(T.zeros([3, 5, 1]), [T.zeros([1, 3, 1]), T.zeros([1, 3, 1])], params, { batchFirst: true });
  assert.deepEqual(batchFirst.output.shape, [3, 5, 1]);
});

test('losses', () => {
  const a = t([1, 2]);
  const b = t([3, 5]);
  close(F.mseLoss(a, b), 6.5);
  close(F.mseLoss(a, b, 'sum'), 13);
  close(F.mseLoss(a, b, 'none'), [4, 9]);
  close(F.l1Loss(a, b), 2.5);
  close(F.smoothL1Loss(a, b), 2); // |d| - 0.5 for |d| >= beta
  close(F.smoothL1Loss(t([0]), t([0.5])), 0.125); // 0.5 d^2 / beta
  close(F.smoothL1Loss(t([0]), t([0.5])), 0.125);
  close(F.smoothL1Loss(t([0]), t([0.5]), 'mean', 0.25), 0.5 - 0.125);
  const bceV = (Math.LN2 + Math.log(5)) / 2;
  close(F.bce(t([0.5, 0.8]), t([1, 0])), bceV);
  close(F.bce(t([0.5, 0.8]), t([1, 0]), { weight: t([2, 0]) }), Math.LN2);
  close(F.bceWithLogits(t([0, Math.log(4)]), t([1, 0])), bceV);
  close(F.bceWithLogits(t([0]), t([1]), { posWeight: t([3]) }), 3 * Math.LN2);
  close(F.bceWithLogits(t([100]), t([0])), 100, 1e-3); // stable for large logits
  close(F.crossEntropy(t([[0, Math.log(3)]]), long([1])), -Math.log(0.75));
  close(
    F.crossEntropy(
      t([
        [0, Math.log(3)],
        [0, Math.log(3)],
      ]),
      long([1, 0]),
      { reduction: 'none' },
    ),
    [-Math.log(0.75), -Math.log(0.25)],
  );
  close(
    F.crossEntropy(
      t([
        [0, Math.log(3)],
        [0, 0],
      ]),
      long([1, -100]),
    ),
    -Math.log(0.75),
  ); // ignoreIndex
  close(F.crossEntropy(t([[0, 0]]), long([0]), { labelSmoothing: 0.2 }), Math.LN2);
  close(
    F.nllLoss(
      t([
        [-1, -2],
        [-3, -4],
      ]),
      long([0, 1]),
    ),
    2.5,
  );
  close(
    F.nllLoss(
      t([
        [-1, -2],
        [-3, -4],
      ]),
      long([0, 1]),
      { weight: t([1, 3]) },
    ),
    (1 + 12) / 4,
  );
  const p = t([[0.5, 0.5]]);
  const logq = t([[Math.log(0.25), Math.log(0.75)]]);
  const kl = 0.5 * Math.log(2) + 0.5 * Math.log(0.5 / 0.75);
  close(F.klDiv(logq, p, 'sum'), kl);
  close(F.klDiv(logq, p, 'mean'), kl / 2);
  close(F.klDiv(logq, p, 'batchmean'), kl);
  close(F.klDiv(logq, p.log(), 'sum', true), kl);
  assert.throws(() => F.mseLoss(a, b, 'avg' as 'mean'), /reduction: "avg" is not valid; expected 'none', 'mean' or 'sum'/);
});

test('linear algebra: solve, cholesky, inverse, eigh, det, slogdet, svd', () => {
  const A = T.tensor(
    [
      [3, 1],
      [1, 2],
    ],
    { dtype: 'float64' },
  );
  close(F.solve(A, T.tensor([[9], [8]], { dtype: 'float64' })), [2, 3]);
  close(
    F.cholesky(
      T.tensor([
        [4, 2],
        [2, 3],
      ]),
    ),
    [2, 0, 1, Math.SQRT2],
  );
  close(
    F.cholesky(
      T.tensor([
        [4, 2],
        [2, 3],
      ]),
      true,
    ),
    [2, 1, 0, Math.SQRT2],
  );
  close(
    F.inverse(
      T.tensor([
        [4, 7],
        [2, 6],
      ]),
    ),
    [0.6, -0.7, -0.2, 0.4],
  );
  const { eigenvalues, eigenvectors } = F.eigh(
    T.tensor([
      [2, 1],
      [1, 2],
    ]),
  );
  close(eigenvalues, [1, 3]);
  const v = eigenvectors.toFloat32Array(); // columns: [1,-1]/sqrt2 and [1,1]/sqrt2 up to sign
  close([Math.abs(v[0]!), Math.abs(v[2]!), v[0]! * v[2]!], [Math.SQRT1_2, Math.SQRT1_2, -0.5]);
  close([v[1]! * v[3]!], [0.5]);
  close(
    F.det(
      T.tensor([
        [1, 2],
        [3, 4],
      ]),
    ),
    -2,
  );
  const sl = F.slogdet(
    T.tensor([
      [1, 2],
      [3, 4],
    ]),
  );
  close(sl.sign, -1);
  close(sl.logabsdet, Math.LN2);
  const s = F.svd(
    T.tensor([
      [3, 0],
      [0, -2],
    ]),
  );
  close(s.S, [3, 2]);
  assert.deepEqual(s.U.shape, [2, 2]);
  assert.deepEqual(F.svd(T.ones([4, 2]), false).U.shape, [4, 2]);
  assert.deepEqual(F.svd(T.ones([4, 2])).U.shape, [4, 4]);
});
