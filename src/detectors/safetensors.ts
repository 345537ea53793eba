/**
 * safetensors (de)serialisation of state dicts for bundles. Delegates to src/nn/safetensors
 * when that module exists in this build; this small, validated implementation is used
 * otherwise. Format: u64 little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data.
 */
import { AnogenError, ELEMENT_SIZE, tensor, type DType, type Tensor } from '../core/index.js';

const ST_DTYPE: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(ST_DTYPE).map(([k, v]) => [v, k as DType]));

/** Serialises named tensors (sorted by name, as the reference implementation does). */
export function serializeSafetensors(sd: Map<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...sd.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Uint8Array[] = [];
  let off = 0;
  for (const n of names) {
    const t = sd.get(n)!;
    const st = ST_DTYPE[t.dtype];
    if (st === undefined) throw new AnogenError(`safetensors: dtype ${t.dtype} of ${n} cannot be saved`);
    const bytes = new Uint8Array(t.contiguous().toBuffer());
    header[n] = { dtype: st, shape: t.shape, data_offsets: [off, off + bytes.byteLength] };
    chunks.push(bytes);
    off += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hb = Buffer.from(json);
  const out = new Uint8Array(8 + hb.byteLength + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.byteLength), true);
  out.set(hb, 8);
  let p = 8 + hb.byteLength;
  for (const c of chunks) {
    out.set(c, p);
    p += c.byteLength;
  }
  return out;
}

/** Parses safetensors bytes; every malformation is an AnogenError naming `where`. */
export function readSafetensors(bytes: Uint8Array, where = 'safetensors'): Map<string, Tensor> {
  const bad = (why: string): never => {
    throw new AnogenError(`${where}: not a valid safetensors file (${why})`);
  };
  if (bytes.byteLength < 8) bad(`${bytes.byteLength} bytes, too short for a header`);
  const hlen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (hlen <= 0 || 8 + hlen > bytes.byteLength) bad(`header length ${hlen} exceeds the file size ${bytes.byteLength}`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, hlen).toString('utf8'));
  } catch {
    return bad('header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) bad('header is not an object');
  const dataStart = 8 + hlen;
  const dataLen = bytes.byteLength - dataStart;
  const out = new Map<string, Tensor>();
  try {
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const dtype = FROM_ST[info?.dtype];
      if (dtype === undefined) bad(`tensor ${name}: unknown dtype ${JSON.stringify(info?.dtype)}`);
      const shape = info.shape;
      if (!Array.isArray(shape) || !shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0)) bad(`tensor ${name}: bad shape`);
      const offs = info.data_offsets;
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d: unknown) => Number.isInteger(d))) bad(`tensor ${name}: bad data_offsets`);
      const [b, e] = offs as [number, number];
      const numel = (shape as number[]).reduce((a, c) => a * c, 1);
      if (b < 0 || e < b || e > dataLen) bad(`tensor ${name}: data_offsets [${b}, ${e}] outside the ${dataLen} data bytes`);
      if (e - b !== numel * ELEMENT_SIZE[dtype]) bad(`tensor ${name}: ${e - b} bytes for shape [${shape.join(', ')}] of ${info.dtype}`);
      const copy = bytes.slice(bytes.byteOffset + dataStart + b - bytes.byteOffset, bytes.byteOffset + dataStart + e - bytes.byteOffset);
      let view: ArrayBufferView;
      switch (dtype) {
        case 'float32': view = new Float32Array(copy.buffer); break;
        case 'float64': view = new Float64Array(copy.buffer); break;
        case 'int64': view = new BigInt64Array(copy.buffer); break;
        case 'int32': view = new Int32Array(copy.buffer); break;
        case 'int16': view = new Int16Array(copy.buffer); break;
        case 'int8': view = new Int8Array(copy.buffer); break;
        case 'uint8': view = copy; break;
        default: return bad(`tensor ${name}: dtype ${info.dtype} is not supported here`);
      }
      out.set(name, tensor(view, { shape: shape as number[] }));
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}
