// The latent tools (src/models/latent.ts, `anogen latent`): slerp/lerp endpoints and paths, the
// interpolation strip's shape and endpoints (the model's own prior codes), the 2-D manifold's
// Gaussian-quantile codes and grid, class-mean latent arithmetic through a VAE's encoder, and
// byte-identical PNGs for the same seed, through the library and the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { randn, tensor, type Tensor } from '../../src/core/index.js';
import { createGenerator } from '../../src/models/index.js';
import {
  generatorCodec,
  interpolateCodes,
  interpolationStrip,
  latentArithmetic,
  lerp,
  manifoldCodes,
  manifoldGrid,
  normalQuantile,
  slerp,
  tilePng,
} from '../../src/models/latent.js';
import { Vae } from '../../src/detectors/vae/detector.js';
import { saveBundle } from '../../src/detectors/bundle.js';
import { saveGeneratorBundle } from '../../src/pipeline/generate.js';
import { imageTransforms } from '../../src/pipeline/data.js';
import { vaeCodec } from '../../src/cli/commands/latent.js';
import { runCli } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'anogen-latent-'));
const maxDiff = (a: Tensor, b: Tensor) => a.sub(b).abs().max().item();
const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));

test('slerp and lerp: endpoints are the codes exactly; slerp stays on the sphere between equal-norm codes', () => {
  const a = Float32Array.from([0.3, -1.2, 2.5, 0.7]);
  const b = Float32Array.from([-1.1, 0.4, 0.9, -2.0]);
  for (const f of [slerp, lerp]) {
    assert.deepEqual(f(a, b, 0), a);
    assert.deepEqual(f(a, b, 1), b);
  }
  const u = [3, 0, 0];
  const v = [0, 3, 0];
  const mid = slerp(u, v, 0.5);
  assert.ok(Math.abs(norm(mid) - 3) < 1e-5, `slerp midpoint norm ${norm(mid)}`);
  assert.ok(Math.abs(mid[0]! - 3 * Math.SQRT1_2) < 1e-5 && Math.abs(mid[1]! - 3 * Math.SQRT1_2) < 1e-5);
  assert.ok(Math.abs(norm(lerp(u, v, 0.5)) - 3 * Math.SQRT1_2) < 1e-5, 'lerp cuts the chord');
  assert.deepEqual(slerp(u, [6, 0, 0], 0.5), lerp(u, [6, 0, 0], 0.5), 'parallel codes fall back to lerp');
  const path8 = interpolateCodes(a, b, 8, 'spherical');
  assert.equal(path8.length, 8 * 4);
  assert.deepEqual(path8.subarray(0, 4), a);
  assert.deepEqual(path8.subarray(28), b);
  assert.throws(() => interpolateCodes(a, b, 1), /steps must be an integer >= 2/);
  assert.throws(() => interpolateCodes(a, b, 4, 'cubic' as never), /mode "cubic" is not valid; expected spherical or linear/);
});

test("interpolation strip: pairs x steps images whose endpoints are the model's samples of the seed", () => {
  const g = createGenerator('gan', { isize: 16, nz: 8, ngf: 8, ndf: 8 });
  try {
    const codec = generatorCodec(g);
    const strip = interpolationStrip(codec, { seed: 3, pairs: 2, steps: 5 });
    assert.deepEqual(strip.shape, [10, 1, 16, 16]);
    const s = g.sample(4, { seed: 3 });
    for (const [row, col, k] of [
      [0, 0, 0],
      [0, 4, 1],
      [1, 0, 2],
      [1, 4, 3],
    ] as const) {
      assert.ok(maxDiff(strip.narrow(0, row * 5 + col, 1), s.narrow(0, k, 1)) < 1e-5, `row ${row} col ${col} = sample ${k}`);
    }
    assert.ok(maxDiff(strip.narrow(0, 1, 1), strip.narrow(0, 0, 1)) > 0, 'the path moves');
    const lin = interpolationStrip(codec, { seed: 3, pairs: 2, steps: 5, mode: 'linear' });
    assert.ok(maxDiff(lin.narrow(0, 2, 1), strip.narrow(0, 2, 1)) > 0, 'linear and spherical paths differ in the middle');
  } finally {
    g.dispose();
  }
});

test('manifold: Gaussian-quantile codes on an n x n grid, decoded by a 2-D latent VAE; nz != 2 refused', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959963985) < 1e-7);
  assert.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
  assert.ok(Math.abs(normalQuantile(0.001) + 3.090232306) < 1e-7);
  const z = manifoldCodes(4);
  assert.equal(z.length, 4 * 4 * 2);
  const q = [0.125, 0.375, 0.625, 0.875].map(normalQuantile);
  assert.deepEqual(Array.from(z.subarray(0, 8)), [q[0], q[3], q[1], q[3], q[2], q[3], q[3], q[3]].map(Math.fround), 'top row: z2 highest, z1 rising');
  assert.equal(z[(3 * 4 + 0) * 2 + 1], Math.fround(q[0]!), 'bottom row: z2 lowest');
  const vae = new Vae({ isize: 16, nz: 2, ngf: 8 });
  try {
    const grid = manifoldGrid(vaeCodec(vae), 5);
    assert.deepEqual(grid.shape, [25, 1, 16, 16]);
    const dec = vaeCodec(vae).decode(tensor(manifoldCodes(5), { shape: [25, 2] }));
    assert.equal(maxDiff(grid, dec), 0);
  } finally {
    vae.dispose();
  }
  const v4 = new Vae({ isize: 16, nz: 4, ngf: 8 });
  try {
    assert.throws(() => manifoldGrid(vaeCodec(v4), 5), /needs a model with a 2-D latent \(nz 2\); vae has nz 4/);
  } finally {
    v4.dispose();
  }
});

test('latent arithmetic: decode(mu(x) + mean mu(b) - mean mu(a)) through the VAE encoder; a GAN has no encoder', () => {
  const vae = new Vae({ isize: 16, nz: 4, ngf: 8 });
  const g = createGenerator('gan', { isize: 16, nz: 8, ngf: 8, ndf: 8 });
  try {
    const codec = vaeCodec(vae);
    const a = randn([6, 1, 16, 16]).tanh();
    const b = randn([5, 1, 16, 16]).tanh().mul(0.5);
    const x = a.narrow(0, 0, 3);
    const r = latentArithmetic(codec, a, b, x);
    assert.deepEqual(r.images.shape, [9, 1, 16, 16]);
    const v = codec.encode!(b).mean(0, true).sub(codec.encode!(a).mean(0, true));
    assert.ok(maxDiff(tensor(r.vector, { shape: [1, 4] }), v) < 1e-6, 'the vector is the class-mean difference');
    assert.ok(r.norm > 0);
    assert.equal(maxDiff(r.images.narrow(0, 0, 3), x), 0, 'first row: the images');
    assert.ok(maxDiff(r.images.narrow(0, 3, 3), codec.decode(codec.encode!(x))) < 1e-6, 'second row: their decodings');
    assert.ok(maxDiff(r.images.narrow(0, 6, 3), codec.decode(codec.encode!(x).add(v))) < 1e-6, 'third row: moved by the vector');
    const same = latentArithmetic(codec, a, a, x);
    assert.ok(same.norm < 1e-6 && maxDiff(same.images.narrow(0, 6, 3), same.images.narrow(0, 3, 3)) < 1e-6, 'a = b moves nothing');
    assert.throws(() => latentArithmetic(generatorCodec(g), a, b, x), /needs an encoder .* gan has none/);
  } finally {
    vae.dispose();
    g.dispose();
  }
});

test('the same seed writes the same PNG bytes (library and CLI: interpolate, manifold, arithmetic)', async () => {
  const g = createGenerator('progan', { isize: 16, nz: 8, ngf: 8, ndf: 8 });
  const vae = new Vae({ isize: 16, nz: 2, ngf: 8 });
  try {
    const codec = generatorCodec(g);
    const png = async (seed: number) => tilePng(interpolationStrip(codec, { seed, steps: 6 }), 6, codec.range);
    const [p1, p2, p3] = [await png(7), await png(7), await png(8)];
    assert.ok(p1.equals(p2), 'same seed, same bytes');
    assert.ok(!p1.equals(p3), 'another seed, another strip');
    const gdir = path.join(tmp, 'progan');
    saveGeneratorBundle(gdir, g);
    const vdir = path.join(tmp, 'vae2');
    saveBundle(vdir, vae, { transforms: imageTransforms({ size: 16, channels: 1, range: [-1, 1] }) });
    const files: string[] = [];
    for (const [k, args] of [
      [0, ['interpolate', gdir, '--seed', '2', '--pairs', '3', '--steps', '7']],
      [1, ['interpolate', gdir, '--seed', '2', '--pairs', '3', '--steps', '7']],
      [2, ['manifold', vdir, '--grid', '6']],
      [3, ['manifold', vdir, '--grid', '6']],
      [4, ['arithmetic', vdir, '--data', 'mnist', '--from', '1', '--to', '7', '--per-class', '16', '--n', '4']],
      [5, ['arithmetic', vdir, '--data', 'mnist', '--from', '1', '--to', '7', '--per-class', '16', '--n', '4']],
    ] as const) {
      const out = path.join(tmp, `cli-${k}.png`);
      const r = await runCli('latent', ...args, '--out', out, '--device', 'cpu');
      assert.equal(r.code, 0, r.err);
      assert.ok(r.out.startsWith(out), r.out);
      files.push(out);
    }
    for (const k of [0, 2, 4]) assert.ok(fs.readFileSync(files[k]!).equals(fs.readFileSync(files[k + 1]!)), `${files[k]}: byte-identical`);
    const size = async (f: string) => {
      const m = await sharp(f).metadata();
      return [m.width, m.height];
    };
    assert.deepEqual(await size(files[0]!), [7 * 18 + 2, 3 * 18 + 2], 'interpolate: 3 rows of 7');
    assert.deepEqual(await size(files[2]!), [6 * 18 + 2, 6 * 18 + 2], 'manifold: 6 x 6');
    assert.deepEqual(await size(files[4]!), [4 * 18 + 2, 3 * 18 + 2], 'arithmetic: x, decoded, moved rows of 4');
    const bad = await runCli('latent', 'manifold', gdir, '--out', path.join(tmp, 'x.png'));
    assert.equal(bad.code, 2);
    assert.match(bad.err, /needs a model with a 2-D latent \(nz 2\); progan has nz 8/);
    const noTool = await runCli('latent', 'walk', gdir);
    assert.equal(noTool.code, 2);
    assert.match(noTool.err, /expected a tool, one of interpolate, arithmetic, manifold; got "walk"/);
    const gArith = await runCli('latent', 'arithmetic', gdir, '--data', 'mnist', '--from', '1', '--to', '7', '--out', path.join(tmp, 'y.png'));
    assert.equal(gArith.code, 2);
    assert.match(gArith.err, /needs a vae bundle/);
  } finally {
    g.dispose();
    vae.dispose();
  }
});
