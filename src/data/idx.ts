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
    throw new AnogenError(`${file}: bad IDX magic number ${Array.from(buf.subarray(0, 4), hex).join(' ')}: expected 0x00 0x00 <dtype code> <ndim>`);
  }
  const code = buf[2];
  const dtype = IDX_DTYPE_CODES[code];
  if (dtype === undefined) {
    const valid = Object.entries(IDX_DTYPE_CODES)
      .map(([c, n]) => `${hex(Number(c))} (${n})`)
      .join(', ');
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
    throw new AnogenError(`${file}: ${what}: ${buf.length} bytes, expected ${expected} (${header}-byte header + ${numel} ${dtype} elements of shape [${shape.join(', ')}])`);
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
      const out = dtype === 'int16' ? new Int16Array(numel) : dtype === 'int32' ? new Int32Array(numel) : dtype === 'float32' ? new Float32Array(numel) : new Float64Array(numel);
      const bv = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < numel; i++) {
        const o = i * esize;
        out[i] = dtype === 'int16' ? bv.getInt16(o, false) : dtype === 'int32' ? bv.getInt32(o, false) : dtype === 'float32' ? bv.getFloat32(o, false) : bv.getFloat64(o, false);
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

/** The largest IDX file {@link readIdx} reads or decompresses by default: 2 GiB. */
export const MAX_IDX_BYTES = 2 * 1024 ** 3;

/** Options of {@link readIdx}. */
export interface ReadIdxOptions {
  /**
   * Absolute bound on the (decompressed) IDX bytes, whatever the header claims (default
   * {@link MAX_IDX_BYTES}, 2 GiB).
   */
  maxBytes?: number;
}

/**
 * The total byte size an IDX header declares (header + elements), or null when `head` is too
 * short to hold the whole header. Malformed headers throw parseIdx's AnogenErrors.
 */
function declaredSize(head: Uint8Array, file: string): { size: number; shape: number[]; dtype: IdxDType } | null {
  if (head.length < 4) return null;
  if (head[0] !== 0 || head[1] !== 0 || IDX_DTYPE_CODES[head[2]] === undefined || head[3] === 0) parseIdx(head.subarray(0, 4), file);
  const ndim = head[3];
  const header = 4 + 4 * ndim;
  if (head.length < header) return null;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const dtype = IDX_DTYPE_CODES[head[2]];
  return { size: header + shape.reduce((a, b) => a * b, 1) * SIZES[dtype], shape, dtype };
}

/**
 * Decompresses a gzip IDX file with its output bounded by what the IDX header declares: the
 * header is read from a small decompressed prefix first, then the whole stream is inflated
 * with at most that many output bytes (and never more than `maxBytes`), so a small file that
 * inflates to gigabytes is an AnogenError after a few bytes of work, not after 4 GB.
 */
function gunzipIdx(raw: Uint8Array, file: string, maxBytes: number): Uint8Array {
  const corrupt = (e: unknown): never => {
    throw new AnogenError(`${file}: truncated or corrupt gzip stream (${(e as Error).message}); expected a complete .gz IDX file`);
  };
  // 1. the header from a prefix of the compressed bytes (a prefix of K bytes inflates to at
  //    most ~1032*K bytes, so this stays small); doubling K until the header is complete.
  let info: ReturnType<typeof declaredSize> = null;
  for (let k = 64; info === null; k *= 2) {
    const n = Math.min(k, raw.length);
    let head: Uint8Array;
    try {
      head = zlib.gunzipSync(raw.subarray(0, n), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: 1100 * n + 4096 });
    } catch (e) {
      return corrupt(e);
    }
    info = declaredSize(head, file);
    if (info === null && n === raw.length) {
      // The whole stream holds less than an IDX header: a cut gzip stream is named as such,
      // a complete one by parseIdx's message for what is missing.
      try {
        head = zlib.gunzipSync(raw, { maxOutputLength: 4096 });
      } catch (e) {
        return corrupt(e);
      }
      parseIdx(head, file);
      return corrupt(new Error(`only ${head.length} bytes, less than an IDX header`));
    }
  }
  const { size, shape, dtype } = info;
  if (size > maxBytes) {
    throw new AnogenError(
      `${file}: IDX header declares shape [${shape.join(', ')}] of ${dtype}, ${size} bytes, more than the limit of ${maxBytes} bytes; expected a smaller IDX file (or raise maxBytes)`,
    );
  }
  // 2. the whole stream, output capped at the declared size.
  try {
    return zlib.gunzipSync(raw, { maxOutputLength: Math.max(1, size) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AnogenError(
        `${file}: IDX file has trailing bytes: the gzip stream decompresses to more than the ${size} bytes its header declares (shape [${shape.join(', ')}] of ${dtype}); decompression was stopped there`,
      );
    }
    return corrupt(e);
  }
}

/**
 * Reads an IDX file, raw or gzip-compressed (detected by its content, not its name). A missing
 * file, anything that is not a regular file (a FIFO would block), a corrupt/truncated gzip
 * stream, a stream that inflates past what the header declares or past `opts.maxBytes`
 * (default 2 GiB), or any IDX check failure throws AnogenError naming the file.
 */
export function readIdx(file: string, opts: ReadIdxOptions = {}): IdxArray {
  const maxBytes = opts.maxBytes ?? MAX_IDX_BYTES;
  let raw: Buffer;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new AnogenError(`${file}: cannot read IDX file: it is not a regular file (a folder, FIFO, socket or device); expected a regular file`);
    if (st.size > maxBytes) throw new AnogenError(`${file}: IDX file of ${st.size} bytes is larger than the limit of ${maxBytes} bytes`);
    raw = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof AnogenError) throw e;
    throw new AnogenError(`${file}: cannot read IDX file: ${(e as Error).message}`);
  }
  const bytes = isGzip(raw) ? gunzipIdx(raw, file, maxBytes) : raw;
  return parseIdx(bytes, file);
}
