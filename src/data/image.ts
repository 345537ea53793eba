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
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Metadata } from 'sharp';
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

/** The largest BMP width or height {@link decodeBmp} accepts (65535 pixels). */
export const MAX_BMP_SIDE = 65535;

/**
 * Decodes an uncompressed BMP; throws AnogenError naming `file` for what it does not support.
 * Every header field (header size, width, height, planes, bits, compression, palette count,
 * pixel offset) is checked against the file's size BEFORE any pixel is read, so a malformed
 * header is an AnogenError naming the file and the field, never a hang or an all-zero image.
 */
export function decodeBmp(buf: Uint8Array, file: string): RawImage {
  const bad = (field: string, problem: string): never => {
    throw new AnogenError(`${file}: malformed BMP header: ${field} ${problem}`);
  };
  if (buf.length < 54 || buf[0] !== 0x42 || buf[1] !== 0x4d) {
    throw new AnogenError(`${file}: not a BMP file (expected 'BM' and a 54-byte header, got ${buf.length} bytes)`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const offset = dv.getUint32(10, true);
  const hsize = dv.getUint32(14, true);
  if (hsize < 40) throw new AnogenError(`${file}: BMP core header (OS/2, header size ${hsize}) is not supported; expected a BITMAPINFOHEADER (40 to 124 bytes)`);
  if (hsize > 124 || 14 + hsize > buf.length) {
    bad('header size', `${hsize} is not valid for a ${buf.length}-byte file; expected 40 to 124 (BITMAPINFOHEADER to BITMAPV5HEADER)`);
  }
  const width = dv.getInt32(18, true);
  const rawH = dv.getInt32(22, true);
  const planes = dv.getUint16(26, true);
  const bpp = dv.getUint16(28, true);
  const compression = dv.getUint32(30, true);
  const clrUsed = dv.getUint32(46, true);
  if (compression !== 0 || ![8, 24, 32].includes(bpp)) {
    throw new AnogenError(`${file}: unsupported BMP (${bpp} bits, compression ${compression}); expected uncompressed 8-, 24- or 32-bit BMP, or convert it to PNG`);
  }
  if (width < 1 || width > MAX_BMP_SIDE) bad('width', `${width}; expected 1 to ${MAX_BMP_SIDE}`);
  if (rawH === 0) bad('height', `0; expected 1 to ${MAX_BMP_SIDE} (negative for top-down rows)`);
  const height = Math.abs(rawH);
  if (height > MAX_BMP_SIDE) bad('height', `${rawH}; expected 1 to ${MAX_BMP_SIDE} (negative for top-down rows)`);
  const topDown = rawH < 0;
  if (planes !== 1) bad('planes', `${planes}; expected 1`);
  let colours = 0;
  if (bpp === 8) {
    if (clrUsed > 256) bad('palette count', `${clrUsed}; expected 0 (meaning 256) to 256 for an 8-bit BMP`);
    colours = clrUsed || 256;
  }
  const paletteStart = 14 + hsize;
  const paletteEnd = paletteStart + 4 * colours;
  if (paletteEnd > buf.length) {
    bad('palette count', `${colours} colours need bytes ${paletteStart} to ${paletteEnd}, beyond the end of the ${buf.length}-byte file (truncated?)`);
  }
  if (offset < paletteEnd || offset > buf.length) {
    const before = colours ? `the ${hsize}-byte header and ${colours}-colour palette` : `the ${hsize}-byte header`;
    bad('pixel offset', `${offset}; expected ${paletteEnd} to ${buf.length} (after ${before}, within the file)`);
  }
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (offset + stride * height > buf.length) {
    throw new AnogenError(`${file}: truncated BMP: ${buf.length} bytes, expected ${offset + stride * height} for ${width}x${height}x${bpp}`);
  }
  let palette: Uint8Array | null = null;
  let gray = false;
  if (bpp === 8) {
    palette = buf.subarray(paletteStart, paletteEnd);
    gray = true;
    for (let i = 0; i < colours && gray; i++) gray = palette[4 * i] === palette[4 * i + 1] && palette[4 * i] === palette[4 * i + 2];
  }
  const channels = gray ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const row = offset + stride * (topDown ? y : height - 1 - y);
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (palette) {
        const idx = buf[row + x];
        if (idx >= colours) {
          throw new AnogenError(`${file}: malformed BMP: pixel (${x}, ${y}) uses palette index ${idx} but the palette has ${colours} colours`);
        }
        const k = idx * 4;
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

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Throws an AnogenError unless `st` (from stat, i.e. symlinks followed) is a regular file:
 * reading a FIFO, socket or device named `x.png` would block forever or never end.
 * `what` names the file's role in the message (default 'image').
 */
export function requireRegularFile(file: string, st: fs.Stats, what = 'image'): void {
  if (!st.isFile()) throw new AnogenError(`${file}: cannot read ${what}: it is ${kindOf(st)}; expected a regular file`);
}

/** `no such file or directory (ENOENT)` from a Node system error; the plain message otherwise. */
function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const msg = String(err?.message ?? e);
  if (err?.code === 'ELOOP') return 'symlink loop (ELOOP): too many levels of symbolic links';
  if (typeof err?.code !== 'string') return msg;
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(msg);
  return `${m ? m[1] : msg} (${err.code})`;
}

/**
 * Reads a whole file that must be a regular file (symlinks are followed). A FIFO, socket,
 * device or directory is an AnogenError instead of a read that blocks forever; so is any
 * read failure (ENOENT, EACCES, ELOOP...). `what` names the file's role in messages (default 'image').
 */
export async function readRegularFile(file: string, what = 'image'): Promise<Buffer> {
  let handle: fsp.FileHandle | undefined;
  try {
    // stat first, so that a device is never opened; then open without blocking (a FIFO swapped
    // in meanwhile would otherwise block open() itself) and check the opened file again.
    requireRegularFile(file, await fsp.stat(file), what);
    handle = await fsp.open(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    requireRegularFile(file, await handle.stat(), what);
    return await handle.readFile();
  } catch (e) {
    if (e instanceof AnogenError) throw e;
    throw new AnogenError(`${file}: cannot read ${what}: ${describe(e)}`);
  } finally {
    await handle?.close();
  }
}

/**
 * Decodes the bytes of one image file into raw pixels (BMP by the reader above, everything
 * else through sharp). Any failure is an AnogenError naming `file` (used only in messages).
 */
export async function decodeImageBytes(buf: Buffer, file: string): Promise<RawImage> {
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
    throw new AnogenError(`${file}: cannot decode image (${String((e as Error)?.message ?? e).split('\n')[0]}); expected a valid PNG, JPEG, TIFF, WebP or uncompressed BMP`);
  }
}

/**
 * Decodes one image file into raw pixels; any failure is an AnogenError naming the file.
 * Symlinks are followed; anything that is not a regular file (FIFO, socket, device,
 * directory) is refused before it is read.
 */
export async function decodeImage(file: string): Promise<RawImage> {
  return decodeImageBytes(await readRegularFile(file), file);
}

/** Reads an image's width, height and channels from its header (no full decode, except for BMP); regular files only. */
export async function imageHeader(file: string): Promise<{ width: number; height: number; channels: number; depth: 8 | 16 }> {
  const buf = await readRegularFile(file);
  if (buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d) {
    const img = decodeBmp(buf, file);
    return { width: img.width, height: img.height, channels: img.channels, depth: 8 };
  }
  let m: Metadata;
  try {
    m = await sharp(buf).metadata();
  } catch (e) {
    throw new AnogenError(`${file}: cannot decode image header (${String((e as Error)?.message ?? e).split('\n')[0]})`);
  }
  if (!m.width || !m.height) throw new AnogenError(`${file}: cannot decode image header (no width and height found)`);
  const ch = m.channels ?? 3;
  return { width: m.width, height: m.height, channels: ch <= 2 && m.space !== 'cmyk' ? 1 : 3, depth: m.depth === 'ushort' ? 16 : 8 };
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
