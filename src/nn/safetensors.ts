/**
 * Reading and writing state dicts in the safetensors format (https://github.com/huggingface/safetensors):
 *
 *     8 bytes   N, the header length, unsigned little-endian
 *     N bytes   a UTF-8 JSON object {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}
 *     rest      the tensors' bytes, little-endian, row-major; offsets relative to the end of the header
 *
 * Reading validates the whole header (length within the file and a sane cap, UTF-8 JSON object,
 * known dtypes, non-negative integer shapes, offsets in bounds, sizes matching the shapes, no
 * overlaps and no gaps) BEFORE allocating any tensor; a malformed or truncated file gives an
 * AnogenError naming the file and the problem. Writes are atomic (temporary file + rename).
 */
import fs from 'node:fs';
import os from 'node:os';
import { Tensor, wrap } from '../core/tensor.js';
import { tensor } from '../core/creation.js';
import { callOp } from '../core/ops.js';
import { dispose } from '../core/scope.js';
import { AnogenError, validList } from '../core/errors.js';
import { SCALAR_TYPE, ELEMENT_SIZE, type DType } from '../core/dtype.js';
import { writeFileAtomic } from '../util/fs.js';
import type { LoadOptions, LoadResult, Module } from './module.js';

/** safetensors dtype names and the anogen dtypes they map to. */
export const SAFETENSORS_DTYPES: Record<string, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const DTYPE_NAMES = Object.keys(SAFETENSORS_DTYPES);
const NAME_OF: Record<DType, string> = Object.fromEntries(Object.entries(SAFETENSORS_DTYPES).map(([k, v]) => [v, k])) as Record<DType, string>;

/** The largest header anogen accepts (100 MB, as the reference implementation). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a safetensors header. */
export interface TensorInfo {
  dtype: DType;
  shape: number[];
  /** [begin, end) byte offsets relative to the start of the data section. */
  dataOffsets: [number, number];
}

/** A validated safetensors header. */
export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

/** What {@link readSafetensors} returns. */
export interface SafetensorsContents {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

function fail(source: string, problem: string): never {
  throw new AnogenError(`${source}: not a valid safetensors file: ${problem}`);
}

function checkLittleEndian(): void {
  if (os.endianness() !== 'LE') throw new AnogenError('safetensors I/O needs a little-endian machine');
}

/**
 * Validates a header given the header bytes and the size of the data section. Throws an
 * AnogenError naming `source` and the first problem found.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataBytes: number, source = 'safetensors buffer'): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(source, 'the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(source, `the header does not start with '{' (starts with ${JSON.stringify(text.slice(0, 16))})`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(source, `the header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(source, 'the header is not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(source, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `__metadata__ value of '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(source, `${where}: entry is not an object`);
    const e = raw as Record<string, unknown>;
    if (typeof e.dtype !== 'string' || !Object.hasOwn(SAFETENSORS_DTYPES, e.dtype)) {
      fail(source, `${where}: unknown dtype ${JSON.stringify(e.dtype)}; expected ${validList(DTYPE_NAMES)}`);
    }
    const dtype = SAFETENSORS_DTYPES[e.dtype]!;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      fail(source, `${where}: shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`);
    }
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      fail(source, `${where}: data_offsets ${JSON.stringify(off)} is not a pair of non-negative integers`);
    }
    const [begin, end] = off as [number, number];
    if (begin > end) fail(source, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataBytes) fail(source, `${where}: data_offsets [${begin}, ${end}] exceed the data section of ${dataBytes} bytes (truncated file?)`);
    let numel = 1n;
    for (const d of shape) numel *= BigInt(d);
    const need = numel * BigInt(ELEMENT_SIZE[dtype]);
    if (need !== BigInt(end - begin)) {
      fail(source, `${where}: ${e.dtype} [${shape.join(', ')}] needs ${need} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    tensors.set(name, { dtype, shape: [...shape], dataOffsets: [begin, end] });
  }
  const sorted = [...tensors.entries()].sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  let pos = 0;
  for (const [name, info] of sorted) {
    const [b, e] = info.dataOffsets;
    if (b < pos) fail(source, `tensor '${name}': data_offsets [${b}, ${e}] overlap another tensor's bytes`);
    if (b > pos) fail(source, `tensor '${name}': data_offsets [${b}, ${e}] leave a gap at bytes [${pos}, ${b})`);
    pos = e;
  }
  if (pos !== dataBytes) fail(source, `the tensors cover ${pos} bytes of a ${dataBytes}-byte data section`);
  return { tensors, metadata, dataStart: 8 + headerBytes.length };
}

function readHeaderLength(first8: Uint8Array, total: number, source: string): number {
  if (total < 8) fail(source, `the file has ${total} bytes, fewer than the 8-byte header length (truncated?)`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(source, `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  if (n > BigInt(total - 8)) fail(source, `header length ${n} exceeds the ${total - 8} bytes after the length field (truncated?)`);
  if (n < 2n) fail(source, `header length ${n} is too small for a JSON object`);
  return Number(n);
}

/** Reads and validates only the header of a safetensors file (reads no tensor data). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  checkLittleEndian();
  return withFile(file, (fd, size) => readHeaderFd(fd, size, file));
}

function withFile<T>(file: string, fn: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new AnogenError(`${file}: cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new AnogenError(`${file}: not a regular file`);
    return fn(fd, st.size);
  } finally {
    fs.closeSync(fd);
  }
}

function readExact(fd: number, length: number, position: number, file: string): Uint8Array {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) fail(file, `unexpected end of file at byte ${position + got} (truncated?)`);
    got += n;
  }
  return buf;
}

function readHeaderFd(fd: number, size: number, file: string): SafetensorsHeader {
  const first = size >= 8 ? readExact(fd, 8, 0, file) : new Uint8Array(8);
  const n = readHeaderLength(first, size, file);
  const header = readExact(fd, n, 8, file);
  return parseSafetensorsHeader(header, size - 8 - n, file);
}

function makeTensors(header: SafetensorsHeader, data: Uint8Array, source: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  try {
    for (const [name, info] of header.tensors) {
      const [b, e] = info.dataOffsets;
      const bytes = data.subarray(b, e);
      if (info.dtype === 'bool') {
        for (let i = 0; i < bytes.length; i++) {
          if (bytes[i]! > 1) fail(source, `tensor '${name}': BOOL byte ${bytes[i]} at element ${i} is neither 0 nor 1`);
        }
      }
      const raw = tensor(bytes, { shape: [bytes.length] });
      const typed = info.dtype === 'uint8' ? raw : wrap(callOp('aten::view.dtype', raw.handle, SCALAR_TYPE[info.dtype]));
      const shaped = typed.reshape(info.shape);
      if (typed !== raw) typed.dispose();
      raw.dispose();
      out.set(name, shaped);
    }
  } catch (e) {
    dispose(out);
    throw e;
  }
  return out;
}

/** Reads a safetensors file: its tensors (CPU, in header order) and its string metadata. */
export function readSafetensors(file: string): SafetensorsContents {
  checkLittleEndian();
  return withFile(file, (fd, size) => {
    const header = readHeaderFd(fd, size, file);
    const data = readExact(fd, size - header.dataStart, header.dataStart, file);
    return { tensors: makeTensors(header, data, file), metadata: header.metadata };
  });
}

/** Reads a safetensors file and passes its tensors to `use`, freeing them afterwards (also when `use` throws); returns what `use` returns. */
export function withSafetensors<T>(file: string, use: (tensors: Map<string, Tensor>) => T): T {
  const tensors = loadSafetensors(file);
  try {
    return use(tensors);
  } finally {
    dispose(tensors);
  }
}

/** Reads the tensors of a safetensors file (a state dict). */
export function loadSafetensors(file: string): Map<string, Tensor> {
  return readSafetensors(file).tensors;
}

/** Parses safetensors bytes held in memory (source names them in errors). */
export function deserializeSafetensors(bytes: Uint8Array, source = 'safetensors buffer'): SafetensorsContents {
  checkLittleEndian();
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.length, source);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, source);
  return { tensors: makeTensors(header, bytes.subarray(header.dataStart), source), metadata: header.metadata };
}

/**
 * Serialises tensors (a Map or record, name -> tensor, in that order) and optional string
 * metadata into safetensors bytes. Tensors on other devices are copied to the CPU.
 */
export function serializeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  checkLittleEndian();
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new AnogenError(`safetensors metadata '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (typeof name !== 'string' || name.length === 0 || name === '__metadata__') {
      throw new AnogenError(`safetensors: tensor name ${JSON.stringify(name)} is not valid (non-empty, not '__metadata__')`);
    }
    if (!(t instanceof Tensor)) throw new AnogenError(`safetensors: '${name}' is not a Tensor`);
    const dt = NAME_OF[t.dtype];
    if (dt === undefined) throw new AnogenError(`safetensors: '${name}' has dtype ${t.dtype}, which safetensors cannot hold`);
    const bytes = new Uint8Array(t.toBuffer());
    header[name] = { dtype: dt, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** Writes tensors (and optional string metadata) to a safetensors file, atomically. */
export function saveSafetensors(file: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}

/** Saves a module's state dict (PyTorch's dotted names) to a safetensors file, atomically. */
export function saveModule(module: Module<any, any>, file: string, metadata?: Record<string, string>): void {
  const sd = module.stateDict();
  try {
    saveSafetensors(file, sd, metadata);
  } finally {
    dispose(sd);
  }
}

/** Loads a safetensors file into a module's parameters and buffers (strict by default; see Module.loadStateDict). */
export function loadModule(module: Module<any, any>, file: string, opts: Omit<LoadOptions, 'source'> = {}): LoadResult {
  const sd = loadSafetensors(file);
  try {
    return module.loadStateDict(sd, { ...opts, source: file });
  } finally {
    dispose(sd);
  }
}
