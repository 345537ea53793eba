import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/core/index.js';
import { fromConfig, compose, mulberry32 } from '../../src/data/index.js';

const isAnogen = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof T.AnogenError, `expected AnogenError, got ${String(e)}`);
  assert.match((e as Error).message, re);
  return true;
};
const ctx = (augment = false, seed = 0) => ({ rand: mulberry32(seed), augment });
/** [1, 1, 2, 3] image with values 0..5 / 10. */
const small = () =>
  T.tensor([
    [
      [
        [0, 0.1, 0.2],
        [0.3, 0.4, 0.5],
      ],
    ],
  ]);
const close = (a: number[], b: number[], tol = 1e-6) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < tol, `${i}: ${v} vs ${b[i]}`));
const flat = (t: T.Tensor) => Array.from(t.toTypedArray() as Float32Array);

test('scale and normalize values', () => {
  const x = small();
  close(flat(compose([{ type: 'scale', range: [-1, 1] }]).apply(x, null, ctx()).x), [-1, -0.8, -0.6, -0.4, -0.2, 0]);
  close(flat(compose([{ type: 'scale', range: [0, 1] }]).apply(x, null, ctx()).x), [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  close(flat(compose([{ type: 'normalize', mean: [0.5], std: [0.25] }]).apply(x, null, ctx()).x), [-2, -1.6, -1.2, -0.8, -0.4, 0]);
  // Input untouched without inPlace.
  close(flat(x), [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  const rgb = T.tensor([[[[1]], [[0.5]], [[0]]]]);
  close(flat(compose([{ type: 'normalize', mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 1] }]).apply(rgb, null, ctx()).x), [1, 0, -0.5]);
  assert.throws(() => compose([{ type: 'normalize', mean: [0, 0], std: [1, 1] }]).apply(x, null, ctx()), isAnogen(/normalize has 2 means but the images have 1 channels/));
});

test('grayscale and rgb conversion', () => {
  const rgb = T.tensor([[[[1]], [[0.5]], [[0.25]]]]);
  close(flat(compose([{ type: 'grayscale' }]).apply(rgb, null, ctx()).x), [0.299 + 0.587 * 0.5 + 0.114 * 0.25]);
  const g = compose([{ type: 'rgb' }]).apply(small(), null, ctx()).x;
  assert.deepEqual(g.shape, [1, 3, 2, 3]);
  close(flat(g), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  assert.deepEqual(compose([{ type: 'grayscale' }]).apply(small(), null, ctx()).x.shape, [1, 1, 2, 3]);
});

test('resize, centerCrop and pad (images and masks)', () => {
  const x = T.tensor([
    [
      [
        [0, 1],
        [2, 3],
      ],
    ],
  ]);
  const up = compose([{ type: 'resize', size: 4, mode: 'nearest' }]).apply(x, null, ctx()).x;
  assert.deepEqual(up.toArray(), [
    [
      [
        [0, 0, 1, 1],
        [0, 0, 1, 1],
        [2, 2, 3, 3],
        [2, 2, 3, 3],
      ],
    ],
  ]);
  const bl = compose([{ type: 'resize', size: [1, 1] }]).apply(x, null, ctx()).x;
  close(flat(bl), [1.5]);
  const noAa = compose([{ type: 'resize', size: [2, 4], antialias: false }]).apply(x, null, ctx()).x;
  close(flat(noAa), [0, 0.25, 0.75, 1, 2, 2.25, 2.75, 3]);
  const m = T.tensor([
    [
      [
        [1, 0],
        [0, 0],
      ],
    ],
  ]);
  const r = compose([{ type: 'resize', size: 4 }]).apply(x, m, ctx());
  assert.deepEqual(r.mask!.toArray(), [
    [
      [
        [1, 1, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
    ],
  ]);
  const big = T.arange(0, 25).reshape(1, 1, 5, 5).float();
  assert.deepEqual(
    compose([{ type: 'centerCrop', size: 3 }])
      .apply(big, null, ctx())
      .x.toArray(),
    [
      [
        [
          [6, 7, 8],
          [11, 12, 13],
          [16, 17, 18],
        ],
      ],
    ],
  );
  // torchvision's rounding: 5 -> 2 gives top = round(1.5) = 2.
  assert.deepEqual(
    compose([{ type: 'centerCrop', size: [2, 1] }])
      .apply(big, null, ctx())
      .x.toArray(),
    [[[[12], [17]]]],
  );
  // Larger than the image: zero-padded like torchvision.
  assert.deepEqual(
    compose([{ type: 'centerCrop', size: 4 }])
      .apply(x, null, ctx())
      .x.toArray(),
    [
      [
        [
          [0, 0, 0, 0],
          [0, 0, 1, 0],
          [0, 2, 3, 0],
          [0, 0, 0, 0],
        ],
      ],
    ],
  );
  assert.deepEqual(
    compose([{ type: 'pad', padding: [1, 0], value: 9 }])
      .apply(x, null, ctx())
      .x.toArray(),
    [
      [
        [
          [9, 0, 1, 9],
          [9, 2, 3, 9],
        ],
      ],
    ],
  );
  assert.deepEqual(compose([{ type: 'pad', padding: 1, mode: 'replicate' }]).apply(x, null, ctx()).x.shape, [1, 1, 4, 4]);
});

test('flips only when augmenting; seeded per image', () => {
  const x = T.tensor([
    [
      [
        [0, 1],
        [2, 3],
      ],
    ],
  ]);
  const h = compose([{ type: 'hflip', p: 1 }]);
  assert.deepEqual(h.apply(x, null, ctx(false)).x.toArray(), [
    [
      [
        [0, 1],
        [2, 3],
      ],
    ],
  ]);
  assert.deepEqual(h.apply(x, null, ctx(true)).x.toArray(), [
    [
      [
        [1, 0],
        [3, 2],
      ],
    ],
  ]);
  assert.deepEqual(
    compose([{ type: 'vflip', p: 1 }])
      .apply(x, null, ctx(true))
      .x.toArray(),
    [
      [
        [
          [2, 3],
          [0, 1],
        ],
      ],
    ],
  );
  const batch = T.arange(0, 64).reshape(16, 1, 2, 2).float();
  const a = compose([{ type: 'hflip' }]).apply(batch, batch, ctx(true, 3));
  const b = compose([{ type: 'hflip' }]).apply(batch, null, ctx(true, 3)).x;
  assert.ok(a.x.allclose(b), 'same seed, same flips');
  const flipped = (a.x.toArray() as number[][][][]).filter((im, i) => im[0][0][0] === 4 * i + 1).length;
  assert.ok(flipped > 0 && flipped < 16, `some but not all flipped (${flipped})`);
});

test('random crops: k patches per image, each a real window of its image', () => {
  const x = T.arange(0, 2 * 36)
    .reshape(2, 1, 6, 6)
    .float();
  const r = compose([{ type: 'randomCrop', size: 3, k: 4 }]).apply(x, null, ctx(false, 9));
  assert.equal(r.perImage, 4);
  assert.deepEqual(r.x.shape, [8, 1, 3, 3]);
  const p = r.x.toArray() as number[][][][];
  p.forEach((patch, j) => {
    const img = Math.floor(j / 4);
    const v0 = patch[0][0][0] - img * 36;
    const top = Math.floor(v0 / 6);
    const left = v0 % 6;
    assert.ok(top <= 3 && left <= 3);
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) assert.equal(patch[0][a][b], img * 36 + (top + a) * 6 + left + b);
  });
  assert.throws(() => compose([{ type: 'randomCrop', size: 7 }]).apply(x, null, ctx()), isAnogen(/randomCrop size 7 is larger than the images \(6x6\)/));
});

test('fromConfig validates types, keys and values and round-trips through JSON', () => {
  const cfg = [{ type: 'grayscale' }, { type: 'resize', size: [32, 32] }, { type: 'scale', range: [-1, 1] }, { type: 'randomCrop', size: 8, k: 2 }];
  const chain = fromConfig(JSON.stringify(cfg));
  assert.deepEqual(JSON.parse(JSON.stringify(chain)), cfg);
  assert.equal(chain.perImage, 2);
  assert.throws(
    () => fromConfig([{ type: 'blur' }]),
    isAnogen(/transforms\[0\]: unknown transform type "blur"; expected 'resize', 'centerCrop', 'pad', 'grayscale', 'rgb', 'scale', 'normalize', 'hflip', 'vflip' or 'randomCrop'/),
  );
  assert.throws(
    () => fromConfig([{ type: 'resize', size: 4, interpolation: 'bilinear' }]),
    isAnogen(/transforms\[0\]: unknown key 'interpolation' for transform 'resize'; expected 'size', 'mode' or 'antialias'/),
  );
  assert.throws(() => fromConfig([{ type: 'grayscale', p: 1 }]), isAnogen(/unknown key 'p' for transform 'grayscale'; it takes no options/));
  assert.throws(() => fromConfig([{ type: 'resize', size: 4, mode: 'lanczos' }]), isAnogen(/resize\.mode = "lanczos" is not valid; expected 'bilinear', 'bicubic' or 'nearest'/));
  assert.throws(() => fromConfig([{ type: 'resize' }]), isAnogen(/transform 'resize' needs 'size'/));
  assert.throws(() => fromConfig([{ type: 'scale', range: [1, -1] }]), isAnogen(/scale\.range = \[1,-1\] is not valid/));
  assert.throws(() => fromConfig([{ type: 'hflip', p: 2 }]), isAnogen(/hflip\.p = 2 is not valid; expected a probability/));
  assert.throws(() => fromConfig({ type: 'resize' }), isAnogen(/expected a JSON array of transforms/));
  assert.throws(() => fromConfig('[{'), isAnogen(/transforms: not valid JSON/));
});
