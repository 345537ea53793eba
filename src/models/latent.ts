/**
 * Latent-space tools for generative models (issue 11, "Latent tools"), on any model seen as a
 * {@link LatentCodec} (codes [n, nz] -> images, optionally images -> codes):
 *
 * - **Interpolation** between two codes, linear (lerp) or spherical (slerp: along the great
 *   circle, the path White (2016, "Sampling Generative Networks") recommends for Gaussian
 *   priors, whose mass lies near a sphere), as a strip of images, one row per pair of codes.
 * - **Latent arithmetic** (Radford et al., 2016, DCGAN's "smile vector"; White 2016): the
 *   difference of class-mean codes, mean_b - mean_a, added to the code of an image x of class a
 *   and decoded. It needs codes of real images, so it takes a model with an encoder: a VAE
 *   detector bundle, whose posterior mean mu(x) is the code (the simplest faithful choice: a GAN
 *   has no encoder, and estimating class means from classified GAN samples adds a classifier's
 *   errors). The grid shows, per image x: x, the decoding of mu(x), and of mu(x) + mean_b - mean_a.
 * - **The 2-D manifold** (Kingma & Welling, 2014, figure 4): for a model with a 2-D latent,
 *   the decodings over a grid of codes z = (Phi^-1(u), Phi^-1(v)) at evenly spaced u, v in
 *   (0, 1) (Gaussian quantiles, so the grid covers the prior's mass evenly); the first code
 *   grows left to right, the second bottom to top.
 *
 * Codes drawn from a seed use the model's own sampler (`prior`), so `--seed S` gives the codes
 * of the model's `sample` grid for seed S. Every tool is deterministic: the same model, seed and
 * options give byte-identical PNGs. The CLI is `anogen latent` (src/cli/commands/latent.ts).
 */
import { AnogenError } from '../core/errors.js';
import { cat, type Tensor } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { imageToPng } from '../eval/png.js';
import { seededLatent, type GenerativeModel } from './generative.js';

/** A model's latent space as the tools use it. */
export interface LatentCodec {
  /** Model name (for messages), e.g. 'progan' or 'vae'. */
  name: string;
  /** Latent size. */
  nz: number;
  /** Pixel range of the decoded images. */
  range: [number, number];
  /** Images [n, C, S, S] on the CPU from codes [n, nz] (eval mode, no autograd). */
  decode(z: Tensor): Tensor;
  /** n prior codes [n, nz] from `seed` (the model's own sampler: the codes of its `sample`). */
  prior(n: number, seed: number): Tensor;
  /** Codes [n, nz] of images (a VAE's posterior mean); absent for models without an encoder. */
  encode?(x: Tensor): Tensor;
}

/** A generator (src/models) as a {@link LatentCodec}: codes are its N(0, I) latents, decoded by {@link GenerativeModel.decode}. */
export function generatorCodec(model: GenerativeModel): LatentCodec {
  const nz = model.nz;
  return {
    name: model.name,
    nz,
    range: model.input.range,
    decode: (z) => {
      const zz = z.reshape([z.shape[0]!, nz, 1, 1]);
      try {
        return model.decode(zz);
      } finally {
        zz.dispose();
      }
    },
    prior: (n, seed) => {
      const z = seededLatent(n, nz, seed);
      try {
        return z.reshape([n, nz]).clone();
      } finally {
        z.dispose();
      }
    },
  };
}

/** Interpolation paths: 'linear' (lerp) or 'spherical' (slerp). */
export const INTERPOLATION_MODES = ['spherical', 'linear'] as const;
/** One of {@link INTERPOLATION_MODES}. */
export type InterpolationMode = (typeof INTERPOLATION_MODES)[number];

/** (1 - t) a + t b, elementwise. */
export function lerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  checkPair(a, b, 'lerp');
  return Float32Array.from(a, (v, i) => v + t * (b[i]! - v));
}

/**
 * Spherical interpolation: sin((1 - t) w) / sin(w) a + sin(t w) / sin(w) b with w the angle
 * between a and b (Shoemake, 1985; White, 2016); t = 0 gives a and t = 1 gives b exactly.
 * Falls back to {@link lerp} when a and b are (anti-)parallel or zero (sin w ~ 0).
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  checkPair(a, b, 'slerp');
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const cos = na === 0 || nb === 0 ? 1 : Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb)));
  const w = Math.acos(cos);
  const s = Math.sin(w);
  if (s < 1e-6) return lerp(a, b, t);
  const ka = Math.sin((1 - t) * w) / s;
  const kb = Math.sin(t * w) / s;
  return Float32Array.from(a, (v, i) => ka * v + kb * b[i]!);
}

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>, who: string): void {
  if (a.length !== b.length || a.length === 0) throw new AnogenError(`${who}: the two codes must have the same positive length, got ${a.length} and ${b.length}`);
}

/** `steps` codes [steps, nz] from a to b (both included) along `mode` (default 'spherical'). */
export function interpolateCodes(a: ArrayLike<number>, b: ArrayLike<number>, steps: number, mode: InterpolationMode = 'spherical'): Float32Array {
  if (!Number.isInteger(steps) || steps < 2) throw new AnogenError(`interpolate: steps must be an integer >= 2, got ${JSON.stringify(steps)}`);
  if (!INTERPOLATION_MODES.includes(mode)) throw new AnogenError(`interpolate: mode ${JSON.stringify(mode)} is not valid; expected ${INTERPOLATION_MODES.join(' or ')}`);
  const f = mode === 'linear' ? lerp : slerp;
  const out = new Float32Array(steps * a.length);
  for (let k = 0; k < steps; k++) out.set(f(a, b, k / (steps - 1)), k * a.length);
  return out;
}

/** Options of {@link interpolationStrip}. */
export interface InterpolationOptions {
  /** Seed of the endpoint codes (default 0): the model's prior codes 0..2 * pairs - 1 of this seed. */
  seed?: number;
  /** Rows: pairs of codes (2i, 2i + 1) (default 1). */
  pairs?: number;
  /** Images per row, endpoints included (default 8). */
  steps?: number;
  /** 'spherical' (default) or 'linear'. */
  mode?: InterpolationMode;
}

/** Images [pairs * steps, C, S, S]: row i walks from prior code 2i to 2i + 1 (see {@link InterpolationOptions}). */
export function interpolationStrip(codec: LatentCodec, opts: InterpolationOptions = {}): Tensor {
  const pairs = opts.pairs ?? 1;
  const steps = opts.steps ?? 8;
  if (!Number.isInteger(pairs) || pairs < 1) throw new AnogenError(`interpolate: pairs must be a positive integer, got ${JSON.stringify(pairs)}`);
  const ends = codec.prior(2 * pairs, opts.seed ?? 0);
  const e = ends.toFloat32Array();
  ends.dispose();
  const nz = codec.nz;
  const rows: Float32Array[] = [];
  for (let i = 0; i < pairs; i++)
    rows.push(interpolateCodes(e.subarray(2 * i * nz, (2 * i + 1) * nz), e.subarray((2 * i + 1) * nz, (2 * i + 2) * nz), steps, opts.mode ?? 'spherical'));
  const z = tensor(concat(rows), { shape: [pairs * steps, nz] });
  try {
    return codec.decode(z);
  } finally {
    z.dispose();
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** What {@link latentArithmetic} returns. */
export interface ArithmeticResult {
  /** Rows of the grid, [3 * n, C, S, S]: the n images x, the decodings of code(x), and of code(x) + mean_b - mean_a. */
  images: Tensor;
  /** The class-mean difference mean_b - mean_a (nz numbers). */
  vector: Float32Array;
  /** Its L2 norm. */
  norm: number;
}

/**
 * DCGAN's vector arithmetic with class means of encoded real images: v = mean code(b) - mean
 * code(a), then decode(code(x) + v) for each image x (usually of class a). The codec needs an
 * encoder (a VAE). `a`, `b`, `x` are image batches in the model's input format.
 */
export function latentArithmetic(codec: LatentCodec, a: Tensor, b: Tensor, x: Tensor): ArithmeticResult {
  if (codec.encode === undefined) {
    throw new AnogenError(`latent arithmetic needs an encoder to find the codes of real images; ${codec.name} has none (use a VAE bundle: anogen train vae ...)`);
  }
  const ma = codec.encode(a);
  const mb = codec.encode(b);
  const zx = codec.encode(x);
  const keep: Tensor[] = [ma, mb, zx];
  try {
    const v = mb.mean(0, true).sub(ma.mean(0, true));
    keep.push(v);
    const shifted = zx.add(v);
    keep.push(shifted);
    const rec = codec.decode(zx);
    keep.push(rec);
    const moved = codec.decode(shifted);
    keep.push(moved);
    const vector = v.toFloat32Array();
    return { images: cat([x.cpu(), rec, moved], 0), vector, norm: Math.hypot(...vector) };
  } finally {
    for (const t of keep) t.dispose();
  }
}

/**
 * The standard normal quantile Phi^-1(p) for p in (0, 1) (Acklam's rational approximation,
 * relative error < 1.2e-9).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new AnogenError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  let x: number;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - pl) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  return x;
}

/**
 * The codes of the 2-D manifold grid, [n * n, 2] row-major as the image grid: row i (top to
 * bottom) has z2 = Phi^-1(1 - u_i), column j has z1 = Phi^-1(u_j), u_k = (k + 0.5) / n
 * (evenly spaced quantiles in (0, 1), so the grid covers the prior's mass).
 */
export function manifoldCodes(n: number): Float32Array {
  if (!Number.isInteger(n) || n < 2 || n > 100) throw new AnogenError(`manifold: grid size must be an integer in [2, 100], got ${JSON.stringify(n)}`);
  const q = Array.from({ length: n }, (_, k) => normalQuantile((k + 0.5) / n));
  const out = new Float32Array(n * n * 2);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      out[(i * n + j) * 2] = q[j]!;
      out[(i * n + j) * 2 + 1] = q[n - 1 - i]!;
    }
  }
  return out;
}

/** Decodings [n * n, C, S, S] of {@link manifoldCodes}(n) (default n 20); the codec's latent must be 2-D. */
export function manifoldGrid(codec: LatentCodec, n = 20): Tensor {
  if (codec.nz !== 2) throw new AnogenError(`manifold: needs a model with a 2-D latent (nz 2); ${codec.name} has nz ${codec.nz} (train one with --nz 2)`);
  const z = tensor(manifoldCodes(n), { shape: [n * n, 2] });
  try {
    return codec.decode(z);
  } finally {
    z.dispose();
  }
}

/**
 * PNG bytes of images [N, C, H, W] in `range` tiled `nrow` per row with `padding` pixels
 * (default 2) of the range's low end between and around them (as torchvision's make_grid).
 */
export async function tilePng(x: Tensor, nrow: number, range: [number, number], padding = 2): Promise<Buffer> {
  if (x.ndim !== 4) throw new AnogenError(`tilePng: expected images [N, C, H, W], got [${x.shape.join(', ')}]`);
  if (!Number.isInteger(nrow) || nrow < 1) throw new AnogenError(`tilePng: nrow must be a positive integer, got ${nrow}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [lo, hi] = range;
  const cols = Math.min(nrow, n);
  const rows = Math.ceil(n / cols);
  const H = rows * (h + padding) + padding;
  const W = cols * (w + padding) + padding;
  const src = x.float().contiguous().toFloat32Array();
  const out = new Float32Array(c * H * W); // 0 = the low end after rescaling to [0, 1]
  for (let k = 0; k < n; k++) {
    const y0 = padding + Math.floor(k / cols) * (h + padding);
    const x0 = padding + (k % cols) * (w + padding);
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) out[(ch * H + y0 + i) * W + x0 + j] = (src[((k * c + ch) * h + i) * w + j]! - lo) / (hi - lo);
      }
    }
  }
  return imageToPng({ data: out, shape: [c, H, W] }, '[0,1]');
}
