// Values of the Tensor operator families against hand-computed results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import { close, vals } from './helpers.js';

const t = (d: T.NestedArray, dtype?: T.DType) => T.tensor(d, dtype ? { dtype } : {});
const long = (d: T.NestedArray) => T.tensor(d, { dtype: 'int64' });

test('arithmetic with broadcasting', () => {
  const a = t([
    [1, 2],
    [3, 4],
  ]);
  const b = t([10, 20]);
  assert.deepEqual(a.add(b).toArray(), [
    [11, 22],
    [13, 24],
  ]);
  assert.deepEqual(a.sub(b, 2).toArray(), [
    [-19, -38],
    [-17, -36],
  ]);
  assert.deepEqual(a.add(1, 3).toArray(), [
    [4, 5],
    [6, 7],
  ]);
  assert.deepEqual(a.mul(b).toArray(), [
    [10, 40],
    [30, 80],
  ]);
  close(a.div(b), [0.1, 0.1, 0.3, 0.2]);
  close(a.div(2), [0.5, 1, 1.5, 2]);
  // column vector [2,1] against row [2] broadcasts to [2,2]
  assert.deepEqual(
    t([[1], [2]])
      .add(t([10, 20]))
      .toArray(),
    [
      [11, 21],
      [12, 22],
    ],
  );
  assert.deepEqual(a.pow(2).toArray(), [
    [1, 4],
    [9, 16],
  ]);
  assert.deepEqual(
    t([2, 3])
      .pow(t([3, 2]))
      .toArray(),
    [8, 9],
  );
  assert.deepEqual(t([-3, 3]).remainder(2).toArray(), [1, 1]);
  assert.deepEqual(a.neg().toArray(), [
    [-1, -2],
    [-3, -4],
  ]);
  assert.deepEqual(t([-1.5, 2]).abs().toArray(), [1.5, 2]);
  assert.deepEqual(t([1, 2]).square().toArray(), [1, 4]);
  close(t([4, 0.5]).reciprocal(), [0.25, 2]);
  close(
    a.lerp(
      t([
        [3, 2],
        [1, 0],
      ]),
      0.5,
    ),
    [2, 2, 2, 2],
  );
});

test('unary math', () => {
  close(t([0, 1]).exp(), [1, Math.E]);
  close(t([1, Math.E]).log(), [0, 1]);
  close(t([0, 1]).log1p(), [0, Math.log(2)]);
  close(t([0, 1]).expm1(), [0, Math.E - 1]);
  close(t([4, 9]).sqrt(), [2, 3]);
  close(t([4, 16]).rsqrt(), [0.5, 0.25]);
  close(t([0, Math.PI / 2]).sin(), [0, 1]);
  close(t([0, Math.PI]).cos(), [1, -1]);
  close(t([0, Math.log(3)]).sigmoid(), [0.5, 0.75]);
  close(t([0, Math.atanh(0.5)]).tanh(), [0, 0.5]);
  assert.deepEqual(t([-1, 0, 2]).relu().toArray(), [0, 0, 2]);
  close(t([-2, 3]).leakyRelu(0.1), [-0.2, 3]);
  close(t([-100]).leakyRelu(), [-1]); // default slope 0.01
  close(t([-1, 2]).elu(), [Math.exp(-1) - 1, 2]);
  close(t([-1]).elu(2), [2 * (Math.exp(-1) - 1)]);
  close(t([0, 30]).softplus(), [Math.LN2, 30]);
  close(t([1]).softplus(2), [Math.log(1 + Math.exp(2)) / 2]);
  close(t([0, -50]).logSigmoid(), [-Math.LN2, -50], 1e-4);
  assert.deepEqual(t([-2, 0.5, 3]).clamp(-1, 1).toArray(), [-1, 0.5, 1]);
  assert.deepEqual(t([-2, 0.5, 3]).clamp(0).toArray(), [0, 0.5, 3]);
  assert.deepEqual(t([-2, 0.5, 3]).clamp(null, 0).toArray(), [-2, 0, 0]);
  assert.deepEqual(t([-3, 0, 2]).sign().toArray(), [-1, 0, 1]);
  assert.deepEqual(t([-1.5, 1.5]).floor().toArray(), [-2, 1]);
  assert.deepEqual(t([-1.5, 1.2]).ceil().toArray(), [-1, 2]);
  // half to even, as PyTorch
  assert.deepEqual(vals(t([0.5, 1.5, 2.5, -2.5, 0.4]).round()), [0, 2, 2, -2, 0]);
  assert.deepEqual(
    t([1, 5])
      .maximum(t([3, 2]))
      .toArray(),
    [3, 5],
  );
  assert.deepEqual(T.minimum(t([1, 5]), t([3, 2])).toArray(), [1, 2]);
  assert.deepEqual(t([NaN, 1, Infinity]).nanToNum(0, 7, -7).toArray(), [0, 1, 7]);
});

test('where, comparisons and logic', () => {
  const c = t([true, false]);
  assert.equal(c.dtype, 'bool');
  assert.deepEqual(T.where(c, t([1, 2]), t([3, 4])).toArray(), [1, 4]);
  assert.deepEqual(T.where(c, 5, t([3, 4])).toArray(), [5, 4]);
  assert.deepEqual(T.where(c, t([1, 2]), 0).toArray(), [1, 0]);
  assert.deepEqual(t([1, 2]).where(c, -1).toArray(), [1, -1]);
  const x = t([1, 2, 3]);
  assert.deepEqual(x.gt(2).toArray(), [false, false, true]);
  assert.deepEqual(x.ge(2).toArray(), [false, true, true]);
  assert.deepEqual(x.lt(2).toArray(), [true, false, false]);
  assert.deepEqual(x.le(2).toArray(), [true, true, false]);
  assert.deepEqual(x.eq(t([1, 0, 3])).toArray(), [true, false, true]);
  assert.deepEqual(x.ne(2).toArray(), [true, false, true]);
  const p = t([true, true, false, false]);
  const q = t([true, false, true, false]);
  assert.deepEqual(p.logicalAnd(q).toArray(), [true, false, false, false]);
  assert.deepEqual(p.logicalOr(q).toArray(), [true, true, true, false]);
  assert.deepEqual(p.logicalXor(q).toArray(), [false, true, true, false]);
  assert.deepEqual(p.logicalNot().toArray(), [false, false, true, true]);
  assert.deepEqual(t([NaN, 1, Infinity]).isnan().toArray(), [true, false, false]);
  assert.deepEqual(t([NaN, 1, Infinity]).isfinite().toArray(), [false, true, false]);
  assert.equal(t([1, 2]).allclose(t([1, 2 + 1e-7])), true);
  assert.equal(t([1, 2]).allclose(t([1, 2.1])), false);
  assert.equal(t([1, 0]).all().item(), 0);
  assert.equal(t([1, 0]).any().item(), 1);
});

test('reductions over dims with keepdim', () => {
  const x = t([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal(x.sum().item(), 21);
  assert.deepEqual(x.sum(0).toArray(), [5, 7, 9]);
  const s1 = x.sum(1, true);
  assert.deepEqual(s1.shape, [2, 1]);
  assert.deepEqual(s1.toArray(), [[6], [15]]);
  assert.equal(x.sum([0, 1]).item(), 21);
  assert.equal(x.mean().item(), 3.5);
  assert.deepEqual(x.mean(1).toArray(), [2, 5]);
  assert.deepEqual(x.mean(-1, true).shape, [2, 1]);
  assert.equal(x.prod().item(), 720);
  assert.deepEqual(x.prod(1).toArray(), [6, 120]);
  assert.equal(x.max().item(), 6);
  assert.equal(x.min().item(), 1);
  const mx = x.maxDim(1);
  assert.deepEqual(mx.values.toArray(), [3, 6]);
  assert.deepEqual(mx.indices.toArray(), [2, 2]);
  assert.equal(mx.indices.dtype, 'int64');
  const mn = x.minDim(0, true);
  assert.deepEqual(mn.values.toArray(), [[1, 2, 3]]);
  assert.deepEqual(mn.indices.toArray(), [[0, 0, 0]]);
  assert.deepEqual(x.amax(0).toArray(), [4, 5, 6]);
  assert.deepEqual(x.amin(1).toArray(), [1, 4]);
  assert.equal(x.argmax().item(), 5);
  assert.deepEqual(x.argmax(0).toArray(), [1, 1, 1]);
  assert.deepEqual(
    t([
      [3, 1],
      [0, 2],
    ])
      .argmin(1, true)
      .toArray(),
    [[1], [0]],
  );
  assert.equal(x.argmin().item(), 0);
  close(x.var(), 3.5); // unbiased by default
  close(x.var(undefined, { unbiased: false }), 17.5 / 6);
  close(x.std(), Math.sqrt(3.5));
  assert.deepEqual(x.var(1).toArray(), [1, 1]);
  assert.deepEqual(x.std(1, { keepdim: true }).shape, [2, 1]);
  close(x.std(0, { unbiased: false }), [1.5, 1.5, 1.5]);
  close(x.norm(), Math.sqrt(91));
  close(x.norm(1), 21);
  close(x.norm(2, 1), [Math.sqrt(14), Math.sqrt(77)]);
  close(
    t([
      [0, 0],
      [0, Math.log(3)],
    ]).logsumexp(1),
    [Math.LN2, Math.log(4)],
  );
  assert.deepEqual(x.cumsum(1).toArray(), [
    [1, 3, 6],
    [4, 9, 15],
  ]);
  assert.deepEqual(x.cumsum(0).toArray(), [
    [1, 2, 3],
    [5, 7, 9],
  ]);
  assert.deepEqual(x.cumprod(1).toArray(), [
    [1, 2, 6],
    [4, 20, 120],
  ]);
  assert.equal(t([3, 1, 2, 4]).median().item(), 2);
  assert.equal(
    t([
      [1, 2],
      [3, 4],
    ])
      .trace()
      .item(),
    5,
  );
});

test('topk, sort, argsort', () => {
  const x = t([3, 1, 4, 1, 5, 9, 2, 6]);
  const k = x.topk(3);
  assert.deepEqual(k.values.toArray(), [9, 6, 5]);
  assert.deepEqual(k.indices.toArray(), [5, 7, 4]);
  const small = x.topk(2, -1, false);
  assert.deepEqual(small.values.toArray(), [1, 1]);
  assert.deepEqual(new Set(small.indices.toArray() as number[]), new Set([1, 3]));
  const s = t([3, 1, 2]).sort();
  assert.deepEqual(s.values.toArray(), [1, 2, 3]);
  assert.deepEqual(s.indices.toArray(), [1, 2, 0]);
  const d = t([[3, 1, 2]]).sort(1, true);
  assert.deepEqual(d.values.toArray(), [[3, 2, 1]]);
  assert.deepEqual(d.indices.toArray(), [[0, 2, 1]]);
  assert.deepEqual(t([3, 1, 2]).argsort().toArray(), [1, 2, 0]);
  assert.deepEqual(t([3, 1, 2]).argsort(0, true).toArray(), [0, 2, 1]);
});

test('shape ops', () => {
  const x = T.arange(6).reshape(2, 3);
  assert.equal(x.dtype, 'int64');
  assert.deepEqual(x.toArray(), [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  assert.deepEqual(x.reshape([3, 2]).toArray(), [
    [0, 1],
    [2, 3],
    [4, 5],
  ]);
  assert.deepEqual(x.reshape(-1).shape, [6]);
  assert.deepEqual(x.view(3, -1).shape, [3, 2]);
  assert.deepEqual(x.permute(1, 0).toArray(), [
    [0, 3],
    [1, 4],
    [2, 5],
  ]);
  assert.deepEqual(x.transpose(0, 1).toArray(), [
    [0, 3],
    [1, 4],
    [2, 5],
  ]);
  assert.deepEqual(x.t().toArray(), [
    [0, 3],
    [1, 4],
    [2, 5],
  ]);
  // view of a transposed tensor needs contiguous() first (as PyTorch)
  assert.throws(() => x.t().view(6), T.TorchError);
  assert.deepEqual(x.t().contiguous().view(6).toArray(), [0, 3, 1, 4, 2, 5]);
  const y = T.zeros([2, 3, 4]);
  assert.deepEqual(y.flatten().shape, [24]);
  assert.deepEqual(y.flatten(1).shape, [2, 12]);
  assert.deepEqual(y.flatten(0, 1).shape, [6, 4]);
  assert.deepEqual(y.unflatten(2, [2, 2]).shape, [2, 3, 2, 2]);
  assert.deepEqual(y.movedim(2, 0).shape, [4, 2, 3]);
  assert.deepEqual(x.unsqueeze(0).shape, [1, 2, 3]);
  assert.deepEqual(x.unsqueeze(-1).shape, [2, 3, 1]);
  assert.deepEqual(T.zeros([1, 2, 1]).squeeze().shape, [2]);
  assert.deepEqual(T.zeros([1, 2, 1]).squeeze(0).shape, [2, 1]);
  assert.deepEqual(
    t([[1], [2]])
      .expand(2, 3)
      .toArray(),
    [
      [1, 1, 1],
      [2, 2, 2],
    ],
  );
  assert.deepEqual(
    t([[1], [2]])
      .expand([-1, 2])
      .toArray(),
    [
      [1, 1],
      [2, 2],
    ],
  );
  assert.deepEqual(
    t([[1], [2]])
      .expandAs(T.zeros([2, 2]))
      .toArray(),
    [
      [1, 1],
      [2, 2],
    ],
  );
  assert.deepEqual(t([1, 2]).repeat(2, 2).toArray(), [
    [1, 2, 1, 2],
    [1, 2, 1, 2],
  ]);
  assert.deepEqual(
    t([1, 2, 3, 4])
      .viewAs(T.zeros([2, 2]))
      .toArray(),
    [
      [1, 2],
      [3, 4],
    ],
  );
  assert.deepEqual(t([1, 2, 3, 4]).reshapeAs(T.zeros([2, 2])).shape, [2, 2]);
});

test('cat, stack, split, chunk, narrow, slice, select, unbind', () => {
  const a = t([[1, 2]]);
  const b = t([[3, 4]]);
  assert.deepEqual(T.cat([a, b]).toArray(), [
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(T.cat([a, b], 1).toArray(), [[1, 2, 3, 4]]);
  assert.deepEqual(T.stack([t([1, 2]), t([3, 4])]).toArray(), [
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(T.stack([t([1, 2]), t([3, 4])], 1).toArray(), [
    [1, 3],
    [2, 4],
  ]);
  const x = T.arange(6).reshape(2, 3);
  const parts = x.split(2, 1);
  assert.deepEqual(
    parts.map((p) => p.toArray()),
    [
      [
        [0, 1],
        [3, 4],
      ],
      [[2], [5]],
    ],
  );
  assert.deepEqual(
    x.split([1, 2], 1).map((p) => p.shape),
    [
      [2, 1],
      [2, 2],
    ],
  );
  assert.deepEqual(
    x.chunk(3, 1).map((p) => p.toArray()),
    [
      [[0], [3]],
      [[1], [4]],
      [[2], [5]],
    ],
  );
  assert.deepEqual(
    x.chunk(2).map((p) => p.toArray()),
    [[[0, 1, 2]], [[3, 4, 5]]],
  );
  assert.deepEqual(x.narrow(1, 1, 2).toArray(), [
    [1, 2],
    [4, 5],
  ]);
  assert.deepEqual(x.slice(1, 0, null, 2).toArray(), [
    [0, 2],
    [3, 5],
  ]);
  assert.deepEqual(x.slice(1, -2).toArray(), [
    [1, 2],
    [4, 5],
  ]);
  assert.deepEqual(x.select(0, 1).toArray(), [3, 4, 5]);
  assert.deepEqual(x.select(1, -1).toArray(), [2, 5]);
  assert.deepEqual(
    x.unbind(1).map((p) => p.toArray()),
    [
      [0, 3],
      [1, 4],
      [2, 5],
    ],
  );
});

test('indexing: indexSelect, gather, scatter, masks, advanced index', () => {
  const x = T.arange(6).reshape(2, 3);
  assert.deepEqual(x.indexSelect(1, long([2, 0])).toArray(), [
    [2, 0],
    [5, 3],
  ]);
  const m = t([
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(
    m
      .gather(
        1,
        long([
          [0, 0],
          [1, 0],
        ]),
      )
      .toArray(),
    [
      [1, 1],
      [4, 3],
    ],
  );
  assert.deepEqual(
    T.zeros([2, 3])
      .scatter(1, long([[1], [2]]), 5)
      .toArray(),
    [
      [0, 5, 0],
      [0, 0, 5],
    ],
  );
  assert.deepEqual(
    T.zeros([2, 3])
      .scatter(1, long([[1], [2]]), t([[7], [8]]))
      .toArray(),
    [
      [0, 7, 0],
      [0, 0, 8],
    ],
  );
  assert.deepEqual(
    T.zeros([3])
      .scatterAdd(0, long([0, 0, 2]), t([1, 2, 3]))
      .toArray(),
    [3, 0, 3],
  );
  assert.deepEqual(
    T.zeros([3, 2])
      .indexAdd(
        0,
        long([2, 2]),
        t([
          [1, 1],
          [2, 2],
        ]),
      )
      .toArray(),
    [
      [0, 0],
      [0, 0],
      [3, 3],
    ],
  );
  const mask = t([true, false, true]);
  assert.deepEqual(t([1, 2, 3]).maskedFill(mask, 0).toArray(), [0, 2, 0]);
  assert.deepEqual(t([1, 2, 3]).maskedSelect(mask).toArray(), [1, 3]);
  assert.deepEqual(m.index([long([1, 0])]).toArray(), [
    [3, 4],
    [1, 2],
  ]);
  assert.deepEqual(m.index([null, long([1])]).toArray(), [[2], [4]]);
  assert.deepEqual(m.index([t([true, false])]).toArray(), [[1, 2]]);
  assert.deepEqual(
    T.zeros([3])
      .indexPut([long([0, 0])], t([1, 2]), true)
      .toArray(),
    [3, 0, 0],
  );
});

test('pad, flip, roll, triangles and diagonals', () => {
  assert.deepEqual(t([1, 2, 3]).pad([1, 2], 'constant', 9).toArray(), [9, 1, 2, 3, 9, 9]);
  const row = t([[[1, 2, 3]]]);
  assert.deepEqual(row.pad([1, 1], 'reflect').toArray(), [[[2, 1, 2, 3, 2]]]);
  assert.deepEqual(row.pad([1, 1], 'replicate').toArray(), [[[1, 1, 2, 3, 3]]]);
  assert.deepEqual(row.pad([1, 1], 'circular').toArray(), [[[3, 1, 2, 3, 1]]]);
  const img = t([
    [
      [
        [1, 2],
        [3, 4],
      ],
    ],
  ]);
  assert.deepEqual(img.pad([1, 1, 1, 1], 'reflect').toArray(), [
    [
      [
        [4, 3, 4, 3],
        [2, 1, 2, 1],
        [4, 3, 4, 3],
        [2, 1, 2, 1],
      ],
    ],
  ]);
  assert.deepEqual(img.pad([0, 1, 1, 0]).toArray(), [
    [
      [
        [0, 0, 0],
        [1, 2, 0],
        [3, 4, 0],
      ],
    ],
  ]);
  assert.throws(() => img.pad([1]), T.AnogenError);
  assert.throws(() => img.pad([1, 1], 'mirror' as 'reflect'), /mode "mirror" is not valid/);
  assert.deepEqual(t([1, 2, 3]).flip(0).toArray(), [3, 2, 1]);
  assert.deepEqual(
    t([
      [1, 2],
      [3, 4],
    ])
      .flip(1)
      .toArray(),
    [
      [2, 1],
      [4, 3],
    ],
  );
  assert.deepEqual(
    t([
      [1, 2],
      [3, 4],
    ])
      .flip([0, 1])
      .toArray(),
    [
      [4, 3],
      [2, 1],
    ],
  );
  assert.deepEqual(t([1, 2, 3, 4]).roll(1).toArray(), [4, 1, 2, 3]);
  assert.deepEqual(t([1, 2, 3, 4]).roll(-1, 0).toArray(), [2, 3, 4, 1]);
  assert.deepEqual(
    t([
      [1, 2],
      [3, 4],
    ])
      .roll(1)
      .toArray(),
    [
      [4, 1],
      [2, 3],
    ],
  ); // flattened when no dim
  assert.deepEqual(
    t([
      [1, 2],
      [3, 4],
    ])
      .roll([1], [1])
      .toArray(),
    [
      [2, 1],
      [4, 3],
    ],
  );
  const sq = t([
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
  ]);
  assert.deepEqual(sq.tril().toArray(), [
    [1, 0, 0],
    [4, 5, 0],
    [7, 8, 9],
  ]);
  assert.deepEqual(sq.triu(1).toArray(), [
    [0, 2, 3],
    [0, 0, 6],
    [0, 0, 0],
  ]);
  assert.deepEqual(sq.diagonal().toArray(), [1, 5, 9]);
  assert.deepEqual(sq.diag(1).toArray(), [2, 6]);
  assert.deepEqual(t([1, 2]).diag().toArray(), [
    [1, 0],
    [0, 2],
  ]);
});

test('linear algebra', () => {
  const a = t([
    [1, 2],
    [3, 4],
  ]);
  const b = t([
    [5, 6],
    [7, 8],
  ]);
  assert.deepEqual(a.matmul(b).toArray(), [
    [19, 22],
    [43, 50],
  ]);
  assert.deepEqual(a.mm(b).toArray(), [
    [19, 22],
    [43, 50],
  ]);
  assert.deepEqual(a.matmul(t([1, 1])).toArray(), [3, 7]);
  // batched [2,2,2] @ [2,2] broadcasts
  const batch = T.stack([a, b]);
  assert.deepEqual(batch.matmul(T.eye(2)).toArray(), [
    [
      [1, 2],
      [3, 4],
    ],
    [
      [5, 6],
      [7, 8],
    ],
  ]);
  assert.deepEqual(batch.bmm(T.stack([T.eye(2), a])).toArray(), [
    [
      [1, 2],
      [3, 4],
    ],
    [
      [23, 34],
      [31, 46],
    ],
  ]);
  assert.deepEqual(
    t([1, 2])
      .outer(t([3, 4, 5]))
      .toArray(),
    [
      [3, 4, 5],
      [6, 8, 10],
    ],
  );
  assert.equal(
    t([1, 2, 3])
      .dot(t([4, 5, 6]))
      .item(),
    32,
  );
});

test('in-place ops return this and mutate', () => {
  const a = t([1, 2, 3]);
  assert.equal(a.add_(1), a);
  assert.deepEqual(a.toArray(), [2, 3, 4]);
  assert.equal(a.add_(t([1, 1, 1]), 2), a);
  assert.deepEqual(a.toArray(), [4, 5, 6]);
  assert.equal(a.sub_(1), a);
  assert.equal(a.mul_(2), a);
  assert.deepEqual(a.toArray(), [6, 8, 10]);
  assert.equal(a.div_(t([2, 4, 5])), a);
  assert.deepEqual(a.toArray(), [3, 2, 2]);
  assert.equal(a.pow_(2), a);
  assert.deepEqual(a.toArray(), [9, 4, 4]);
  assert.equal(a.sqrt_(), a);
  assert.equal(a.neg_(), a);
  assert.deepEqual(a.toArray(), [-3, -2, -2]);
  assert.equal(a.abs_(), a);
  assert.equal(a.clamp_(2.5, 2.75), a);
  assert.deepEqual(a.toArray(), [2.75, 2.5, 2.5]);
  assert.equal(a.floor_(), a);
  assert.deepEqual(a.toArray(), [2, 2, 2]);
  assert.equal(a.addcmul_(t([1, 2, 3]), t([2, 2, 2]), 0.5), a); // + 0.5 * [2,4,6]
  assert.deepEqual(a.toArray(), [3, 4, 5]);
  assert.equal(a.addcdiv_(t([3, 4, 5]), t([3, 4, 5]), 2), a);
  assert.deepEqual(a.toArray(), [5, 6, 7]);
  assert.equal(a.lerp_(t([7, 8, 9]), 0.5), a);
  assert.deepEqual(a.toArray(), [6, 7, 8]);
  assert.equal(a.maximum_(t([0, 10, 0])), a);
  assert.deepEqual(a.toArray(), [6, 10, 8]);
  assert.equal(a.copy_(t([1, -1, 0])), a);
  assert.equal(a.relu_(), a);
  assert.deepEqual(a.toArray(), [1, 0, 0]);
  assert.equal(a.sign_(), a);
  assert.equal(a.exp_(), a);
  close(a, [Math.E, 1, 1]);
  assert.equal(a.log_(), a);
  close(a, [1, 0, 0]);
  assert.equal(a.sigmoid_(), a);
  close(a, [1 / (1 + Math.exp(-1)), 0.5, 0.5]);
  assert.equal(a.tanh_(), a);
  assert.equal(a.fill_(2.5), a);
  assert.equal(a.round_(), a);
  assert.deepEqual(a.toArray(), [2, 2, 2]);
  assert.equal(a.maskedFill_(t([false, true, false]), 7), a);
  assert.deepEqual(a.toArray(), [2, 7, 2]);
  assert.equal(a.scatter_(0, long([0]), 9), a);
  assert.equal(a.indexPut_([long([2])], t([4])), a);
  assert.deepEqual(a.toArray(), [9, 7, 4]);
  assert.equal(a.zero_(), a);
  assert.deepEqual(a.toArray(), [0, 0, 0]);
  assert.equal(a.normal_(), a);
  assert.equal(a.uniform_(2, 3), a);
  for (const v of vals(a)) assert.ok(v >= 2 && v < 3);
  // a view mutated in place changes its base
  const base = T.zeros([2, 3]);
  base.narrow(1, 1, 1).fill_(5);
  assert.deepEqual(base.toArray(), [
    [0, 5, 0],
    [0, 5, 0],
  ]);
  base.select(0, 0).add_(1);
  assert.deepEqual(base.toArray(), [
    [1, 6, 1],
    [0, 5, 0],
  ]);
});

test('clone, detach, contiguous keep values; clone is independent', () => {
  const a = t([1, 2]);
  const c = a.clone();
  c.add_(1);
  assert.deepEqual(a.toArray(), [1, 2]);
  const d = a.detach();
  d.add_(1); // detach shares memory
  assert.deepEqual(a.toArray(), [2, 3]);
  assert.deepEqual(a.contiguous().toArray(), [2, 3]);
});
