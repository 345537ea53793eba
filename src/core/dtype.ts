/** Tensor element types, with libtorch's ScalarType codes and the matching typed arrays. */
import { AnogenError, validList } from './errors.js';

export type DType = 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'float16' | 'float32' | 'float64' | 'bool';

/** libtorch c10::ScalarType codes. */
export const SCALAR_TYPE: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
};

const BY_CODE: Record<number, DType> = Object.fromEntries(Object.entries(SCALAR_TYPE).map(([k, v]) => [v, k as DType])) as Record<number, DType>;

/** Bytes per element. */
export const ELEMENT_SIZE: Record<DType, number> = {
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float16: 2,
  float32: 4,
  float64: 8,
  bool: 1,
};

export type TypedArray = Uint8Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint16Array | Float32Array | Float64Array;

/** The typed array that holds one dtype's raw elements (float16 as raw Uint16 bits, bool as Uint8). */
export const TYPED_ARRAY: Record<DType, new (buf: ArrayBuffer, offset?: number, length?: number) => TypedArray> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  float16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
  bool: Uint8Array,
};

/** Every dtype name anogen knows. */
export const DTYPES = Object.keys(SCALAR_TYPE) as DType[];

/** The dtype of a libtorch ScalarType code (AnogenError for unsupported ones). */
export function dtypeFromCode(code: number): DType {
  const d = BY_CODE[code];
  if (d === undefined) throw new AnogenError(`unsupported libtorch scalar type code ${code}`);
  return d;
}

/** Returns d when it is a dtype name, else throws an AnogenError listing the valid ones. */
export function checkDType(d: unknown): DType {
  if (typeof d !== 'string' || !(d in SCALAR_TYPE)) {
    throw new AnogenError(`unknown dtype ${JSON.stringify(d)}; expected ${validList(DTYPES)}`);
  }
  return d as DType;
}

/** True for float16, float32 and float64. */
export function isFloating(d: DType): boolean {
  return d === 'float16' || d === 'float32' || d === 'float64';
}

/** The dtype a typed array maps to by default. */
export function dtypeOfTypedArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  throw new AnogenError(`unsupported typed array ${a.constructor.name}; use Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array or Int16Array`);
}
