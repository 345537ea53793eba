/**
 * Fixture generators for the data tests: everything is written into a fresh temp dir by the
 * test that needs it (nothing hand-made is committed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir, removed when the process exits. */
export function tempDir(prefix = 'anogen-data-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

/** IDX bytes: magic 0 0 code ndim, big-endian dims, then big-endian elements. */
export function idxBytes(code: number, shape: number[], values: number[]): Buffer {
  const esize: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = code;
  head[3] = shape.length;
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(values.length * esize[code]);
  values.forEach((v, i) => {
    const o = i * esize[code];
    if (code === 0x08) body.writeUInt8(v, o);
    else if (code === 0x09) body.writeInt8(v, o);
    else if (code === 0x0b) body.writeInt16BE(v, o);
    else if (code === 0x0c) body.writeInt32BE(v, o);
    else if (code === 0x0d) body.writeFloatBE(v, o);
    else body.writeDoubleBE(v, o);
  });
  return Buffer.concat([head, body]);
}

/** Writes the four IDX files of a tiny dataset (n train, m test images of h x w, labels i % k). */
export function writeIdxDataset(dir: string, opts: { n?: number; m?: number; h?: number; w?: number; k?: number; gz?: boolean; testLabels?: number } = {}): void {
  const { n = 12, m = 6, h = 4, w = 3, k = 3, gz = false } = opts;
  fs.mkdirSync(dir, { recursive: true });
  const put = (name: string, b: Buffer) => fs.writeFileSync(path.join(dir, name + (gz ? '.gz' : '')), gz ? zlib.gzipSync(b) : b);
  const imgs = (c: number) => Array.from({ length: c * h * w }, (_, i) => (Math.floor(i / (h * w)) * 10 + (i % (h * w))) % 256);
  put('train-images-idx3-ubyte', idxBytes(0x08, [n, h, w], imgs(n)));
  put(
    'train-labels-idx1-ubyte',
    idxBytes(
      0x08,
      [n],
      Array.from({ length: n }, (_, i) => i % k),
    ),
  );
  put('t10k-images-idx3-ubyte', idxBytes(0x08, [m, h, w], imgs(m)));
  const ml = opts.testLabels ?? m;
  put(
    't10k-labels-idx1-ubyte',
    idxBytes(
      0x08,
      [ml],
      Array.from({ length: ml }, (_, i) => i % k),
    ),
  );
}

/** A gray 8-bit pattern image: value (x*7 + y*13 + seed*31) % 256. */
export function pattern(w: number, h: number, c: number, seed: number): Uint8Array {
  const a = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) a[(y * w + x) * c + ch] = (x * 7 + y * 13 + seed * 31 + ch * 50) % 256;
  return a;
}

/** Writes a PNG (8-bit gray or RGB). */
export async function writePng(file: string, w: number, h: number, c: 1 | 3, seed: number): Promise<Uint8Array> {
  const px = pattern(w, h, c, seed);
  let s = sharp(Buffer.from(px), { raw: { width: w, height: h, channels: c } });
  if (c === 1) s = s.toColourspace('b-w');
  await s.png().toFile(file);
  return px;
}

/** Writes a 16-bit gray PNG with values i * 997 % 65536. */
export async function writePng16(file: string, w: number, h: number): Promise<Uint16Array> {
  const px = Uint16Array.from({ length: w * h }, (_, i) => (i * 997) % 65536);
  await sharp(px, { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(file);
  return px;
}

/** Writes an uncompressed 24-bit BMP (bottom-up), returning the RGB pixels. */
export function writeBmp24(file: string, w: number, h: number, seed: number): Uint8Array {
  const px = pattern(w, h, 3, seed);
  const stride = Math.ceil((w * 3) / 4) * 4;
  const b = Buffer.alloc(54 + stride * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(w, 18);
  b.writeInt32LE(h, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = 54 + (h - 1 - y) * stride + x * 3;
      const p = (y * w + x) * 3;
      b[o] = px[p + 2];
      b[o + 1] = px[p + 1];
      b[o + 2] = px[p];
    }
  }
  fs.writeFileSync(file, b);
  return px;
}

/**
 * An MVTec-layout folder: train/good (4 gray PNG 8x8), test/good (2 PNG), test/scratch (2 PNG,
 * one mask), test/dent (1 JPEG gray + 1 TIFF gray). Sizes are all 8x8 gray.
 */
export async function makeMvtec(root: string): Promise<void> {
  for (const d of ['train/good', 'test/good', 'test/scratch', 'test/dent', 'ground_truth/scratch']) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (let i = 0; i < 4; i++) await writePng(path.join(root, 'train/good', `${String(i).padStart(3, '0')}.png`), 8, 8, 1, i);
  for (let i = 0; i < 2; i++) await writePng(path.join(root, 'test/good', `${String(i).padStart(3, '0')}.png`), 8, 8, 1, 10 + i);
  for (let i = 0; i < 2; i++) await writePng(path.join(root, 'test/scratch', `${String(i).padStart(3, '0')}.png`), 8, 8, 1, 20 + i);
  const mask = new Uint8Array(64);
  for (let i = 0; i < 16; i++) mask[i] = 255; // top two rows
  await sharp(Buffer.from(mask), { raw: { width: 8, height: 8, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(path.join(root, 'ground_truth/scratch/000_mask.png'));
  await sharp(Buffer.from(pattern(8, 8, 1, 30)), { raw: { width: 8, height: 8, channels: 1 } })
    .toColourspace('b-w')
    .jpeg({ quality: 95 })
    .toFile(path.join(root, 'test/dent/000.jpg'));
  await sharp(Buffer.from(pattern(8, 8, 1, 31)), { raw: { width: 8, height: 8, channels: 1 } })
    .toColourspace('b-w')
    .tiff({ compression: 'lzw' })
    .toFile(path.join(root, 'test/dent/001.tif'));
}

/** ELPV's folder, relative to the repository root; null when absent. */
export function elpvRoot(): string | null {
  const p = path.resolve('..', 'shared', 'data', 'elpv');
  return fs.existsSync(path.join(p, 'train', 'good')) ? p : null;
}
