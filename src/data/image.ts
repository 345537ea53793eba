/**
 * Decoding image files into raw pixels, and a bounded LRU cache of decoded images.
 *
 * PNG, JPEG, TIFF (and WebP/GIF) go through sharp (libvips, decoded off the JS thread).
 * sharp's prebuilt libvips has no BMP loader, so uncompressed BMP (8-bit palette, 24- and
 * 32-bit BI_RGB, bottom-up or top-down) is decoded by the small reader below; compressed BMPs
 * (RLE, bitfields) give an AnogenError saying so.
 *
 * Channels: grayscale files decode to 1 channel, colour files to 3 (alpha dropped, CMYK and
 * palettes converted to sRGB). 16-bit files keep 16 bits (Uint16Array).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { AnogenError } from '../core/errors.js';

/** Decoded pixels, interleaved HWC. uint8 data is in [0,255], uint16 in [0,65535]. */
export interface RawImage {
  width: number;
  height: number;
  /** 1 (gray) or 3 (RGB). */
  channels: number;
  data: Uint8Array | Uint16Array;
}

/** File extensions read as images (lower case, with dot). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp'] as const;

/** True when `file`'s extension is one of {@link IMAGE_EXTENSIONS}. */
export function isImageFile(file: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(file).toLowerCase());
}

/** Bytes held by a decoded image. */
export function imageBytes(img: RawImage): number {
  return img.data.byteLength;
}

/** Decodes an uncompressed BMP; throws AnogenError naming `file` for what it does not support. */
export function decodeBmp(buf: Uint8Array, file: string): RawImage {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 54 || buf[0] !== 0x42 || buf[1] !== 0x4d) throw new AnogenError(`${file}: not a BMP file (expected 'BM' and a 54-byte header)`);
  const offset = dv.getUint32(10, true);
  const hsize = dv.getUint32(14, true);
  if (hsize < 40) throw new AnogenError(`${file}: BMP core header (OS/2) is not supported; expected a BITMAPINFOHEADER`);
  const width = dv.getInt32(18, true);
  const rawH = dv.getInt32(22, true);
  const bpp = dv.getUint16(28, true);
  const compression = dv.getUint32(30, true);
  const height = Math.abs(rawH);
  const topDown = rawH < 0;
  if (compression !== 0 || ![8, 24, 32].includes(bpp)) {
    throw new AnogenError(
      `${file}: unsupported BMP (${bpp} bits, compression ${compression}); expected uncompressed 8-, 24- or 32-bit BMP, or convert it to PNG`,
    );
  }
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (width <= 0 || height === 0 || offset + stride * height > buf.length) {
    throw new AnogenError(`${file}: truncated BMP: ${buf.length} bytes, expected ${offset + stride * height} for ${width}x${height}x${bpp}`);
  }
  let palette: Uint8Array | null = null;
  let gray = false;
  if (bpp === 8) {
    const n = dv.getUint32(46, true) || 256;
    const p = 14 + hsize;
    palette = buf.subarray(p, p + 4 * n);
    gray = true;
    for (let i = 0; i < n && gray; i++) gray = palette[4 * i] === palette[4 * i + 1] && palette[4 * i] === palette[4 * i + 2];
  }
  const channels = gray ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const row = offset + stride * (topDown ? y : height - 1 - y);
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (palette) {
        const k = buf[row + x] * 4;
        if (gray) out[o] = palette[k];
        else {
          out[o] = palette[k + 2];
          out[o + 1] = palette[k + 1];
          out[o + 2] = palette[k];
        }
      } else {
        const s = row + x * (bpp / 8);
        out[o] = buf[s + 2];
        out[o + 1] = buf[s + 1];
        out[o + 2] = buf[s];
      }
    }
  }
  return { width, height, channels, data: out };
}

/** Decodes one image file into raw pixels; any failure is an AnogenError naming the file. */
export async function decodeImage(file: string): Promise<RawImage> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    throw new AnogenError(`${file}: cannot read image: ${(e as Error).message}`);
  }
  if (buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d) return decodeBmp(buf, file);
  try {
    const meta = await sharp(buf).metadata();
    const deep = meta.depth === 'ushort';
    const grayIn = (meta.channels ?? 3) <= 2 && meta.space !== 'cmyk';
    let s = sharp(buf, { failOn: 'error' });
    if (grayIn) s = s.toColourspace(deep ? 'grey16' : 'b-w');
    else s = s.toColourspace(deep ? 'rgb16' : 'srgb');
    s = s.removeAlpha();
    const { data, info } = await s.raw({ depth: deep ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    const pixels = deep ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : new Uint8Array(data.buffer, data.byteOffset, data.length);
    return { width: info.width, height: info.height, channels: info.channels, data: pixels };
  } catch (e) {
    if (e instanceof AnogenError) throw e;
    throw new AnogenError(
      `${file}: cannot decode image (${(e as Error).message.split('\n')[0]}); expected a valid PNG, JPEG, TIFF, WebP or uncompressed BMP`,
    );
  }
}

/** Reads an image's width, height and channels from its header (no full decode). */
export async function imageHeader(file: string): Promise<{ width: number; height: number; channels: number; depth: 8 | 16 }> {
  const buf = await fs.readFile(file).catch((e: Error) => {
    throw new AnogenError(`${file}: cannot read image: ${e.message}`);
  });
  if (buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d) {
    const img = decodeBmp(buf, file);
    return { width: img.width, height: img.height, channels: img.channels, depth: 8 };
  }
  try {
    const m = await sharp(buf).metadata();
    const ch = m.channels ?? 3;
    return { width: m.width ?? 0, height: m.height ?? 0, channels: ch <= 2 && m.space !== 'cmyk' ? 1 : 3, depth: m.depth === 'ushort' ? 16 : 8 };
  } catch (e) {
    throw new AnogenError(`${file}: cannot decode image header (${(e as Error).message.split('\n')[0]})`);
  }
}

/**
 * A least-recently-used cache of decoded images bounded by total bytes, with in-flight
 * de-duplication (two loads of the same file share one decode).
 */
export class ImageCache {
  private map = new Map<string, RawImage>();
  private pending = new Map<string, Promise<RawImage>>();
  private used = 0;
  /** Number of lookups served from memory / decoded. */
  hits = 0;
  misses = 0;

  /** @param maxBytes bound on the decoded bytes kept (default 256 MiB; 0 disables caching). */
  constructor(readonly maxBytes = 256 * 1024 * 1024) {}

  /** Bytes currently held. */
  get bytes(): number {
    return this.used;
  }
  get size(): number {
    return this.map.size;
  }

  /** Returns the decoded image for `file`, decoding with `decode` (default decodeImage) on a miss. */
  async get(file: string, decode: (f: string) => Promise<RawImage> = decodeImage): Promise<RawImage> {
    const hit = this.map.get(file);
    if (hit) {
      this.map.delete(file);
      this.map.set(file, hit);
      this.hits++;
      return hit;
    }
    const inflight = this.pending.get(file);
    if (inflight) return inflight;
    this.misses++;
    const p = decode(file).then(
      (img) => {
        this.pending.delete(file);
        this.put(file, img);
        return img;
      },
      (e) => {
        this.pending.delete(file);
        throw e;
      },
    );
    this.pending.set(file, p);
    return p;
  }

  private put(file: string, img: RawImage): void {
    const b = imageBytes(img);
    if (b > this.maxBytes) return;
    this.map.set(file, img);
    this.used += b;
    for (const [k, v] of this.map) {
      if (this.used <= this.maxBytes) break;
      this.map.delete(k);
      this.used -= imageBytes(v);
    }
  }

  /** Drops everything. */
  clear(): void {
    this.map.clear();
    this.used = 0;
  }
}
