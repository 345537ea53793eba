/**
 * Image transforms as a serialisable chain.
 *
 * A chain is a JSON array of {@link TransformConfig} objects, e.g.
 *
 *     [{ "type": "grayscale" }, { "type": "resize", "size": 64 }, { "type": "scale", "range": [-1, 1] }]
 *
 * {@link fromConfig} validates such JSON (unknown types, keys or values give an AnogenError
 * listing the valid ones), so a model bundle can store the chain and scoring reproduces the
 * preprocessing exactly.
 *
 * Transforms run as tensor operations on a whole batch [N, C, H, W] float32 whose pixels
 * start in [0, 1] (8-bit / 255, 16-bit / 65535). Geometric transforms (resize, centerCrop,
 * pad, flips, randomCrop) are applied to the batch's masks too (nearest-neighbour, then
 * binarised). Random transforms draw from the context's seeded generator; flips act only when
 * `ctx.augment` is true (training), randomCrop always crops (patch models need patch-sized
 * inputs), seeded.
 */
import { AnogenError, validList } from '../core/errors.js';
import { callOp } from '../core/ops.js';
import { tensor } from '../core/creation.js';
import { Tensor, cat, wrap, where } from '../core/tensor.js';
import { tidy } from '../core/scope.js';
import { pad as fpad } from '../nn/functional.js';

/** Resize to `size` ([h, w], or s for s x s — not torchvision's shorter-edge rule). */
export interface ResizeConfig {
  type: 'resize';
  size: number | [number, number];
  /** Interpolation (default 'bilinear'). */
  mode?: 'bilinear' | 'bicubic' | 'nearest';
  /** Antialias when shrinking, bilinear/bicubic only (default true, as torchvision >= 0.17). */
  antialias?: boolean;
}
/** Crop the centre `size` ([h, w] or s x s); smaller images are zero-padded first, like torchvision. */
export interface CenterCropConfig {
  type: 'centerCrop';
  size: number | [number, number];
}
/** Pad by p on all sides, [horizontal, vertical], or [left, right, top, bottom]. */
export interface PadConfig {
  type: 'pad';
  padding: number | [number, number] | [number, number, number, number];
  /** Padding mode (default 'constant'). */
  mode?: 'constant' | 'reflect' | 'replicate';
  /** Fill value of 'constant' (default 0). */
  value?: number;
}
/** To 1 channel with luma weights 0.299, 0.587, 0.114 (no-op on gray). */
export interface GrayscaleConfig {
  type: 'grayscale';
}
/** To 3 channels by repeating gray (no-op on RGB). */
export interface RgbConfig {
  type: 'rgb';
}
/** Maps pixels from [0, 1] to `range` (e.g. [-1, 1] for GANs). */
export interface ScaleConfig {
  type: 'scale';
  range: [number, number];
}
/** (x - mean) / std per channel; one value or one per channel. */
export interface NormalizeConfig {
  type: 'normalize';
  mean: number[];
  std: number[];
}
/** Horizontal flip with probability p (default 0.5), training only. */
export interface HFlipConfig {
  type: 'hflip';
  p?: number;
}
/** Vertical flip with probability p (default 0.5), training only. */
export interface VFlipConfig {
  type: 'vflip';
  p?: number;
}
/** k (default 1) random size x size patches per image; the batch grows to N*k. */
export interface RandomCropConfig {
  type: 'randomCrop';
  size: number;
  k?: number;
}

export type TransformConfig =
  ResizeConfig | CenterCropConfig | PadConfig | GrayscaleConfig | RgbConfig | ScaleConfig | NormalizeConfig | HFlipConfig | VFlipConfig | RandomCropConfig;

export type TransformType = TransformConfig['type'];

/** Per-call state of random transforms. */
export interface TransformContext {
  /** Uniform [0, 1) generator (seeded by the loader). */
  rand: () => number;
  /** Apply augmentations (flips); default false. */
  augment?: boolean;
}

// ---- validation -------------------------------------------------------------------------

type Check = (v: unknown) => boolean;
const posInt: Check = (v) => Number.isInteger(v) && (v as number) > 0;
const nonNegInt: Check = (v) => Number.isInteger(v) && (v as number) >= 0;
const finite: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const size2: Check = (v) => posInt(v) || (Array.isArray(v) && v.length === 2 && v.every(posInt));
const prob: Check = (v) => typeof v === 'number' && v >= 0 && v <= 1;
const oneOf =
  (vals: string[]): Check =>
  (v) =>
    vals.includes(v as string);
const numList: Check = (v) => Array.isArray(v) && v.length > 0 && v.every(finite);

interface KeySpec {
  check: Check;
  expected: string;
  required?: boolean;
}
const SPECS: Record<TransformType, Record<string, KeySpec>> = {
  resize: {
    size: { check: size2, expected: 'a positive integer or [h, w]', required: true },
    mode: { check: oneOf(['bilinear', 'bicubic', 'nearest']), expected: validList(['bilinear', 'bicubic', 'nearest']) },
    antialias: { check: (v) => typeof v === 'boolean', expected: 'true or false' },
  },
  centerCrop: { size: { check: size2, expected: 'a positive integer or [h, w]', required: true } },
  pad: {
    padding: {
      check: (v) => nonNegInt(v) || (Array.isArray(v) && (v.length === 2 || v.length === 4) && v.every(nonNegInt)),
      expected: 'p, [horizontal, vertical] or [left, right, top, bottom] of non-negative integers',
      required: true,
    },
    mode: { check: oneOf(['constant', 'reflect', 'replicate']), expected: validList(['constant', 'reflect', 'replicate']) },
    value: { check: finite, expected: 'a number' },
  },
  grayscale: {},
  rgb: {},
  scale: {
    range: {
      check: (v) => Array.isArray(v) && v.length === 2 && v.every(finite) && (v[0] as number) < (v[1] as number),
      expected: '[low, high] with low < high, e.g. [-1, 1] or [0, 1]',
      required: true,
    },
  },
  normalize: {
    mean: { check: numList, expected: 'a non-empty list of numbers', required: true },
    std: { check: (v) => numList(v) && (v as number[]).every((s) => s > 0), expected: 'a non-empty list of positive numbers', required: true },
  },
  hflip: { p: { check: prob, expected: 'a probability in [0, 1]' } },
  vflip: { p: { check: prob, expected: 'a probability in [0, 1]' } },
  randomCrop: {
    size: { check: posInt, expected: 'a positive integer', required: true },
    k: { check: posInt, expected: 'a positive integer' },
  },
};

/** Valid transform types. */
export const TRANSFORM_TYPES = Object.keys(SPECS) as TransformType[];

function validateOne(c: unknown, where: string): TransformConfig {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) {
    throw new AnogenError(`${where}: expected an object like {"type": "resize", "size": 64}, got ${JSON.stringify(c)}`);
  }
  const o = c as Record<string, unknown>;
  const type = o.type;
  if (typeof type !== 'string' || !Object.hasOwn(SPECS, type)) {
    throw new AnogenError(`${where}: unknown transform type ${JSON.stringify(type)}; expected ${validList(TRANSFORM_TYPES)}`);
  }
  const spec = SPECS[type as TransformType];
  for (const [k, v] of Object.entries(o)) {
    if (k === 'type') continue;
    const s = spec[k];
    if (!s) {
      const valid = Object.keys(spec);
      throw new AnogenError(`${where}: unknown key '${k}' for transform '${type}'; ${valid.length ? `expected ${validList(valid)}` : 'it takes no options'}`);
    }
    if (!s.check(v)) throw new AnogenError(`${where}: ${type}.${k} = ${JSON.stringify(v)} is not valid; expected ${s.expected}`);
  }
  for (const [k, s] of Object.entries(spec)) {
    if (s.required && o[k] === undefined) throw new AnogenError(`${where}: transform '${type}' needs '${k}' (${s.expected})`);
  }
  if (type === 'normalize' && (o.mean as number[]).length !== (o.std as number[]).length) {
    throw new AnogenError(`${where}: normalize.mean has ${(o.mean as number[]).length} values but std has ${(o.std as number[]).length}; expected the same count`);
  }
  return JSON.parse(JSON.stringify(o)) as TransformConfig;
}

/**
 * Validates a transform chain given as JSON (an array of configs, or a JSON string) and
 * returns it compiled. Throws AnogenError for anything not listed in {@link TransformConfig}.
 */
export function fromConfig(json: unknown, where = 'transforms'): TransformChain {
  const v = typeof json === 'string' ? parseJson(json, where) : json;
  if (!Array.isArray(v)) throw new AnogenError(`${where}: expected a JSON array of transforms, got ${JSON.stringify(v)}`);
  return new TransformChain(v.map((c, i) => validateOne(c, `${where}[${i}]`)));
}

function parseJson(s: string, where: string): unknown {
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new AnogenError(`${where}: not valid JSON (${(e as Error).message})`);
  }
}

// ---- application ------------------------------------------------------------------------

const sz2 = (s: number | [number, number]): [number, number] => (typeof s === 'number' ? [s, s] : s);

/** Python's round() (half to even), as torchvision's centre crop uses. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function resize(x: Tensor, c: ResizeConfig, isMask: boolean): Tensor {
  const [h, w] = sz2(c.size);
  if (x.shape[2] === h && x.shape[3] === w) return x;
  const mode = isMask ? 'nearest' : (c.mode ?? 'bilinear');
  if (mode === 'nearest') return wrap(callOp('aten::upsample_nearest2d.vec', x.handle, [h, w], null));
  const shrinking = h < x.shape[2] || w < x.shape[3];
  const aa = (c.antialias ?? true) && shrinking;
  const op =
    mode === 'bilinear' ? (aa ? 'aten::_upsample_bilinear2d_aa.vec' : 'aten::upsample_bilinear2d.vec') : aa ? 'aten::_upsample_bicubic2d_aa.vec' : 'aten::upsample_bicubic2d.vec';
  const out = wrap(callOp(op, x.handle, [h, w], false, null));
  return mode === 'bicubic' ? out.clamp(0, null) : out; // bicubic overshoots below 0; upper range is kept
}

function centerCrop(x: Tensor, size: number | [number, number]): Tensor {
  const [h, w] = sz2(size);
  let H = x.shape[2];
  let W = x.shape[3];
  if (h > H || w > W) {
    const ph = Math.max(0, h - H);
    const pw = Math.max(0, w - W);
    x = fpad(x, [pw >> 1, (pw + 1) >> 1, ph >> 1, (ph + 1) >> 1]);
    H = x.shape[2];
    W = x.shape[3];
  }
  const top = pyRound((H - h) / 2);
  const left = pyRound((W - w) / 2);
  return x.narrow(2, top, h).narrow(3, left, w);
}

function padding4(p: PadConfig['padding']): number[] {
  if (typeof p === 'number') return [p, p, p, p];
  if (p.length === 2) return [p[0], p[0], p[1], p[1]];
  return [...p];
}

function flipSome(x: Tensor, dim: number, sel: boolean[]): Tensor {
  if (!sel.some(Boolean)) return x;
  if (sel.every(Boolean)) return x.flip(dim);
  const m = tensor(Uint8Array.from(sel, Number), { shape: [sel.length, 1, 1, 1] }).bool();
  return where(m, x.flip(dim), x);
}

/** Result of applying a chain to a batch. */
export interface TransformResult {
  x: Tensor;
  mask: Tensor | null;
  /** Outputs per input image (randomCrop's k; 1 otherwise). Output j*k..j*k+k-1 come from input j. */
  perImage: number;
}

/** A validated, serialisable chain of transforms. */
export class TransformChain {
  constructor(readonly configs: readonly TransformConfig[]) {}

  /** Outputs per input image (product of randomCrop k's). */
  get perImage(): number {
    return this.configs.reduce((a, c) => a * (c.type === 'randomCrop' ? (c.k ?? 1) : 1), 1);
  }

  /** The chain as JSON (what a model bundle stores). */
  toJSON(): TransformConfig[] {
    return this.configs.map((c) => ({ ...c }));
  }

  /**
   * Applies the chain to x [N, C, H, W] float32 in [0, 1] and mask [N, 1, H, W] (or null).
   * Does not dispose x or mask; the returned tensors belong to the caller. With
   * `inPlace` (default false) x's values may be overwritten (saves a copy of large batches).
   */
  apply(x: Tensor, mask: Tensor | null, ctx: TransformContext, opts: { inPlace?: boolean } = {}): TransformResult {
    if (x.ndim !== 4) throw new AnogenError(`transforms: expected images [N, C, H, W], got [${x.shape.join(', ')}]`);
    const input = x;
    return tidy(() => {
      const owned = () => x !== input || opts.inPlace === true;
      let m = mask;
      let perImage = 1;
      for (const c of this.configs) {
        switch (c.type) {
          case 'resize':
            x = resize(x, c, false);
            if (m) m = resize(m, c, true);
            break;
          case 'centerCrop':
            x = centerCrop(x, c.size);
            if (m) m = centerCrop(m, c.size);
            break;
          case 'pad': {
            const p = padding4(c.padding);
            const mode = c.mode ?? 'constant';
            if (mode !== 'constant' && (p[0] >= x.shape[3] || p[1] >= x.shape[3] || p[2] >= x.shape[2] || p[3] >= x.shape[2]) && mode === 'reflect') {
              throw new AnogenError(`transforms: reflect padding ${p.join(', ')} must be smaller than the image (${x.shape[2]}x${x.shape[3]})`);
            }
            x = fpad(x, p, mode, c.value ?? 0);
            if (m) m = fpad(m, p, mode === 'constant' ? 'constant' : mode, 0);
            break;
          }
          case 'grayscale':
            if (x.shape[1] === 3) {
              const w = tensor(new Float32Array([0.299, 0.587, 0.114]), { shape: [1, 3, 1, 1] });
              x = x.mul(w).sum(1, true);
            } else if (x.shape[1] !== 1) throw new AnogenError(`transforms: grayscale needs 1 or 3 channels, got ${x.shape[1]}`);
            break;
          case 'rgb':
            if (x.shape[1] === 1) x = x.repeat(1, 3, 1, 1);
            else if (x.shape[1] !== 3) throw new AnogenError(`transforms: rgb needs 1 or 3 channels, got ${x.shape[1]}`);
            break;
          case 'scale': {
            const [lo, hi] = c.range;
            if (lo !== 0 || hi !== 1) x = owned() ? x.mul_(hi - lo).add_(lo) : x.mul(hi - lo).add(lo);
            break;
          }
          case 'normalize': {
            const C = x.shape[1];
            if (c.mean.length !== 1 && c.mean.length !== C) {
              throw new AnogenError(`transforms: normalize has ${c.mean.length} means but the images have ${C} channels; expected 1 or ${C}`);
            }
            const shape = [1, c.mean.length, 1, 1];
            const mean = tensor(Float32Array.from(c.mean), { shape });
            const std = tensor(Float32Array.from(c.std), { shape });
            x = owned() ? x.sub_(mean).div_(std) : x.sub(mean).div(std);
            break;
          }
          case 'hflip':
          case 'vflip': {
            if (!ctx.augment) break;
            const p = c.p ?? 0.5;
            const sel = Array.from({ length: x.shape[0] }, () => ctx.rand() < p);
            const dim = c.type === 'hflip' ? 3 : 2;
            x = flipSome(x, dim, sel);
            if (m) m = flipSome(m, dim, sel);
            break;
          }
          case 'randomCrop': {
            const s = c.size;
            const k = c.k ?? 1;
            const [N, , H, W] = x.shape;
            if (s > H || s > W) throw new AnogenError(`transforms: randomCrop size ${s} is larger than the images (${H}x${W})`);
            const xs: Tensor[] = [];
            const ms: Tensor[] = [];
            for (let i = 0; i < N; i++) {
              for (let j = 0; j < k; j++) {
                const top = Math.floor(ctx.rand() * (H - s + 1));
                const left = Math.floor(ctx.rand() * (W - s + 1));
                xs.push(x.narrow(0, i, 1).narrow(2, top, s).narrow(3, left, s));
                if (m) ms.push(m.narrow(0, i, 1).narrow(2, top, s).narrow(3, left, s));
              }
            }
            x = cat(xs, 0);
            if (m) m = cat(ms, 0);
            perImage *= k;
            break;
          }
        }
      }
      const outX = x.contiguous();
      const outM = m ? m.gt(0.5).float().contiguous() : null;
      return { x: outX, mask: outM, perImage };
    });
  }
}

/** Compiles a chain from configs (validated like {@link fromConfig}). */
export function compose(configs: TransformConfig[] | TransformChain = []): TransformChain {
  return configs instanceof TransformChain ? configs : fromConfig(configs);
}
