/**
 * IDX files (the MNIST format), raw or gzip-compressed.
 *
 * Layout: a 4-byte magic number `0x00 0x00 <dtype code> <ndim>`, then `ndim` big-endian
 * uint32 dimensions, then the elements big-endian in row-major order. Dtype codes:
 * 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
 * Every check (magic, dtype code, dimensions, exact byte count) throws an AnogenError that
 * names the file and what was expected.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { AnogenError } from '../core/errors.js';

/** Element types of IDX files. */
export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** IDX dtype codes (third byte of the magic number). */
export const IDX_DTYPE_CODES: Record<number, IdxDType> = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};
const SIZES: Record<IdxDType, number> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 };

/** A decoded IDX array: elements in native byte order, row-major. */
export interface IdxArray {
  /** File it came from (for messages). */
  file: string;
  dtype: IdxDType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

/**
 * Parses IDX bytes (already decompressed). `file` is only used in error messages.
 * For uint8/int8 the returned data is a view on `buf` (no copy).
 */
export function parseIdx(buf: Uint8Array, file = '<buffer>'): IdxArray {
  if (buf.length < 4) {
    throw new AnogenError(`${file}: not an IDX file: ${buf.length} bytes, expected at least a 4-byte magic number`);
  }
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new AnogenError(
      `${file}: bad IDX magic number ${Array.from(buf.subarray(0, 4), hex).join(' ')}: expected 0x00 0x00 <dtype code> <ndim>`,
    );
  }
  const code = buf[2];
  const dtype = IDX_DTYPE_CODES[code];
  if (dtype === undefined) {
    const valid = Object.entries(IDX_DTYPE_CODES).map(([c, n]) => `${hex(Number(c))} (${n})`).join(', ');
    throw new AnogenError(`${file}: unknown IDX dtype code ${hex(code)}; expected one of ${valid}`);
  }
  const ndim = buf[3];
  if (ndim === 0) throw new AnogenError(`${file}: IDX header declares 0 dimensions; expected at least 1`);
  const header = 4 + 4 * ndim;
  if (buf.length < header) {
    throw new AnogenError(`${file}: truncated IDX header: ${buf.length} bytes, expected ${header} for ${ndim} dimensions`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(dv.getUint32(4 + 4 * i, false));
  const numel = shape.reduce((a, b) => a * b, 1);
  const esize = SIZES[dtype];
  const expected = header + numel * esize;
  if (buf.length !== expected) {
    const what = buf.length < expected ? 'truncated IDX file' : 'IDX file has trailing bytes';
    throw new AnogenError(
      `${file}: ${what}: ${buf.length} bytes, expected ${expected} (${header}-byte header + ${numel} ${dtype} elements of shape [${shape.join(', ')}])`,
    );
  }
  const body = buf.subarray(header);
  let data: IdxArray['data'];
  switch (dtype) {
    case 'uint8':
      data = body;
      break;
    case 'int8':
      data = new Int8Array(body.buffer, body.byteOffset, numel);
      break;
    default: {
      // Big-endian multi-byte elements: read through a DataView into a native array.
      const out =
        dtype === 'int16' ? new Int16Array(numel) : dtype === 'int32' ? new Int32Array(numel) : dtype === 'float32' ? new Float32Array(numel) : new Float64Array(numel);
      const bv = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < numel; i++) {
        const o = i * esize;
        out[i] =
          dtype === 'int16' ? bv.getInt16(o, false) : dtype === 'int32' ? bv.getInt32(o, false) : dtype === 'float32' ? bv.getFloat32(o, false) : bv.getFloat64(o, false);
      }
      data = out;
    }
  }
  return { file, dtype, shape, data };
}

/** True when the bytes start with the gzip magic 0x1f 0x8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Reads an IDX file, raw or gzip-compressed (detected by its content, not its name).
 * A missing file, a corrupt/truncated gzip stream or any IDX check failure throws AnogenError.
 */
export function readIdx(file: string): IdxArray {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new AnogenError(`${file}: cannot read IDX file: ${(e as Error).message}`);
  }
  let bytes: Uint8Array = raw;
  if (isGzip(raw)) {
    try {
      bytes = zlib.gunzipSync(raw);
    } catch (e) {
      throw new AnogenError(`${file}: truncated or corrupt gzip stream (${(e as Error).message}); expected a complete .gz IDX file`);
    }
  }
  return parseIdx(bytes, file);
}
