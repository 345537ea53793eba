/**
 * Images to PNG (with sharp) for the HTML report: CHW float images in [-1, 1] or [0, 1],
 * and anomaly maps coloured with a heat colormap.
 */
import sharp from 'sharp';
import { AnogenError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';

/** An image: a Tensor or a Float32Array with its shape [C, H, W] or [H, W] (C = 1 or 3). */
export type ImageInput = Tensor | { data: ArrayLike<number>; shape: number[] };

/** Pixel range of an image: '[-1,1]' (GAN images), '[0,1]', or 'auto' (default: '[-1,1]' when any value is below 0). */
export type PixelRange = '[-1,1]' | '[0,1]' | 'auto';

/** @internal The image as a Float32Array plus C, H, W. */
export function readImage(img: ImageInput, what = 'image'): { data: Float32Array; c: number; h: number; w: number } {
  let data: Float32Array;
  let shape: number[];
  if (img instanceof Tensor) {
    shape = img.shape;
    data = img.toFloat32Array();
  } else if (img !== null && typeof img === 'object' && Array.isArray(img.shape) && img.data !== undefined) {
    shape = img.shape;
    data = img.data instanceof Float32Array ? img.data : Float32Array.from(img.data);
  } else {
    throw new AnogenError(`${what}: expected a Tensor or {data, shape} with shape [C, H, W] or [H, W]`);
  }
  if (shape.length === 4 && shape[0] === 1) shape = shape.slice(1);
  if (shape.length === 2) shape = [1, ...shape];
  const [c, h, w] = shape as [number, number, number];
  if (shape.length !== 3 || !(c === 1 || c === 3) || h < 1 || w < 1) {
    throw new AnogenError(`${what}: shape [${shape.join(', ')}] is not valid; expected [C, H, W] or [H, W] with C = 1 or 3`);
  }
  if (data.length !== c * h * w) throw new AnogenError(`${what}: ${data.length} values do not match shape [${shape.join(', ')}]`);
  return { data, c, h, w };
}

/** The low end of a pixel range (-1 or 0); 'auto' is -1 when any value is negative. */
function rangeLow(range: PixelRange, data: Float32Array, who: string): number {
  if (range === 'auto') return data.some((v) => v < 0) ? -1 : 0;
  if (range === '[-1,1]') return -1;
  if (range === '[0,1]') return 0;
  throw new AnogenError(`${who}: range ${JSON.stringify(range)} is not valid; expected '[-1,1]', '[0,1]' or 'auto'`);
}

/** PNG bytes of an image (CHW float), mapped from `range` to 0..255 and clipped. */
export async function imageToPng(img: ImageInput, range: PixelRange = 'auto'): Promise<Buffer> {
  const { data, c, h, w } = readImage(img);
  const lo = rangeLow(range, data, 'imageToPng');
  const out = new Uint8Array(h * w * c);
  for (let k = 0; k < c; k++) {
    for (let i = 0; i < h * w; i++) {
      const v = data[k * h * w + i]!;
      const t = Number.isFinite(v) ? (v - lo) / (1 - lo) : 0;
      out[i * c + k] = Math.round(Math.min(1, Math.max(0, t)) * 255);
    }
  }
  return sharp(out, { raw: { width: w, height: h, channels: c as 1 | 3 } })
    .png()
    .toBuffer();
}

// 'inferno'-like colormap, sampled at 9 points and linearly interpolated
const HEAT: [number, number, number][] = [
  [0, 0, 4],
  [31, 12, 72],
  [85, 15, 109],
  [136, 34, 106],
  [186, 54, 85],
  [227, 89, 51],
  [249, 140, 10],
  [249, 201, 50],
  [252, 255, 164],
];

/** The heat colour (RGB 0..255) of t in [0, 1]. */
export function heatColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (HEAT.length - 1);
  const i = Math.min(HEAT.length - 2, Math.floor(x));
  const f = x - i;
  const a = HEAT[i]!,
    b = HEAT[i + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/**
 * PNG bytes of an anomaly map coloured with the heat colormap. A multi-channel map is
 * averaged over channels. Values are scaled by [vmin, vmax] (default: the map's own range).
 */
export async function heatmapToPng(map: ImageInput, opts: { vmin?: number; vmax?: number } = {}): Promise<Buffer> {
  const { data, c, h, w } = readImage(map, 'anomaly map');
  const m = mapPlane(data, c, h, w);
  let vmin = opts.vmin,
    vmax = opts.vmax;
  if (vmin === undefined || vmax === undefined) {
    let lo = Infinity,
      hi = -Infinity;
    for (const v of m)
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    vmin ??= lo;
    vmax ??= hi;
  }
  const span = vmax > vmin ? vmax - vmin : 1;
  const out = new Uint8Array(h * w * 3);
  for (let i = 0; i < h * w; i++) out.set(heatColor((m[i]! - vmin) / span), 3 * i);
  return sharp(out, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

/** Options of {@link overlayToPng}. */
export interface OverlayOptions {
  /** Pixel range of the image (default 'auto'). */
  range?: PixelRange;
  /** Map value drawn fully transparent (default: the map's minimum). */
  vmin?: number;
  /** Map value drawn with the strongest colour (default: the map's maximum). */
  vmax?: number;
  /** Opacity of the heat colour where the map reaches `vmax` (default 0.7); it falls linearly to 0 at `vmin`. */
  alpha?: number;
}

/**
 * PNG bytes of an image with its anomaly map laid over it as a semi-transparent heat
 * overlay: each pixel is (1 − a)·image + a·heat(t) with t the map value scaled by
 * [vmin, vmax] and a = alpha·t, so the image stays visible where the map is low and the
 * hot regions are tinted. A grey image becomes RGB; a map of another size than the image is
 * resampled to it (nearest neighbour).
 */
export async function overlayToPng(img: ImageInput, map: ImageInput, opts: OverlayOptions = {}): Promise<Buffer> {
  const { data, c, h, w } = readImage(img);
  const mm = readImage(map, 'anomaly map');
  const plane = mapPlane(mm.data, mm.c, mm.h, mm.w);
  const range = opts.range ?? 'auto';
  const lo = rangeLow(range, data, 'overlayToPng');
  let vmin = opts.vmin,
    vmax = opts.vmax;
  if (vmin === undefined || vmax === undefined) {
    let a = Infinity,
      b = -Infinity;
    for (const v of plane)
      if (Number.isFinite(v)) {
        if (v < a) a = v;
        if (v > b) b = v;
      }
    vmin ??= Number.isFinite(a) ? a : 0;
    vmax ??= Number.isFinite(b) ? b : 1;
  }
  const span = vmax > vmin ? vmax - vmin : 1;
  const alpha = Math.min(1, Math.max(0, opts.alpha ?? 0.7));
  const out = new Uint8Array(h * w * 3);
  for (let yy = 0; yy < h; yy++) {
    const my = Math.min(mm.h - 1, Math.floor(((yy + 0.5) * mm.h) / h));
    for (let xx = 0; xx < w; xx++) {
      const mx = Math.min(mm.w - 1, Math.floor(((xx + 0.5) * mm.w) / w));
      const mv = plane[my * mm.w + mx]!;
      const t = Number.isFinite(mv) ? Math.min(1, Math.max(0, (mv - vmin) / span)) : 0;
      const heat = heatColor(t);
      const a = alpha * t;
      const i = yy * w + xx;
      for (let k = 0; k < 3; k++) {
        const v = data[(c === 3 ? k : 0) * h * w + i]!;
        const base = Math.min(1, Math.max(0, Number.isFinite(v) ? (v - lo) / (1 - lo) : 0)) * 255;
        out[3 * i + k] = Math.round((1 - a) * base + a * heat[k]!);
      }
    }
  }
  return sharp(out, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

/** @internal One plane of a map: the channel mean. */
export function mapPlane(data: Float32Array, c: number, h: number, w: number): Float32Array {
  if (c === 1) return data;
  const m = new Float32Array(h * w);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) m[i] = m[i]! + data[k * h * w + i]! / c;
  return m;
}

/** A `data:image/png;base64,...` URI of PNG bytes. */
export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
