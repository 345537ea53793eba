/** Creating tensors: from JS data, constants, ranges and random samples. */
import { native } from './native.js';
import { callOp } from './ops.js';
import { AnogenError } from './errors.js';
import { checkDType, dtypeOfTypedArray, ELEMENT_SIZE, SCALAR_TYPE, type DType } from './dtype.js';
import { checkDevice, Tensor, wrap, type Device, type NestedArray } from './tensor.js';

/** Options of the creation functions. */
export interface CreateOptions {
  /** Element type (default float32; for `tensor()` from a typed array, the array's own type). */
  dtype?: DType;
  /**
   * Device (default: none given, which is the CPU). Factories (zeros, randn, ...) create the
   * tensor directly there (random ones draw from that device's generator); tensor() copies its
   * JS data there.
   */
  device?: Device;
  /** Record operations for autograd (default false). */
  requiresGrad?: boolean;
}

/** What {@link creationObservers} get: one tensor made by a creation function of this file. */
export interface CreationEvent {
  /** The function called by the user of this file ('zeros', 'randn', 'tensor', ...; the `*Like` forms report their base). */
  fn: string;
  /** The device option as given: undefined when the caller passed none (the tensor is then on the CPU). */
  device: Device | undefined;
}

/**
 * @internal A test hook: every listener is called, synchronously, for every tensor that a
 * creation function of this file makes, with the device option its caller gave (undefined when
 * none). Empty outside tests (then it costs one size check per creation). Tests use it to prove
 * that code meant to run on the model's device (a training step, scoring, batch-norm
 * recalibration, calibration) never creates a tensor without saying where: on the CPU such a
 * tensor is indistinguishable from a right one, on a GPU it would be a CPU tensor mixed with
 * CUDA ones.
 */
export const creationObservers = new Set<(e: CreationEvent) => void>();

function observe(fn: string, opts: CreateOptions): void {
  if (creationObservers.size === 0) return;
  const e: CreationEvent = { fn, device: opts.device };
  for (const f of creationObservers) f(e);
}

/**
 * The trailing TensorOptions arguments of an ATen factory (`..., *, ScalarType? dtype,
 * Layout? layout, Device? device, bool? pin_memory`) for the generic op bridge: the dtype's code
 * (default `defaultDType`, float32 unless given), null for the layout (strided) and the device
 * (null when none is given: libtorch's default, the CPU). The device is checked first (an
 * AnogenError for a malformed one or for CUDA without CUDA). Passing the device makes libtorch
 * create the tensor directly there, so random factories draw from that device's generator
 * (seeded by manualSeed) instead of sampling on the CPU and copying.
 */
export function factoryOptions(opts: CreateOptions, defaultDType: DType = 'float32'): [number, null, Device | null] {
  const dtype = SCALAR_TYPE[checkDType(opts.dtype ?? defaultDType)];
  return [dtype, null, opts.device === undefined ? null : checkDevice(opts.device, 'device')];
}

/** Copies a CPU tensor made from JS data to `opts.device` (the bridge's fromBuffer makes CPU tensors), then requiresGrad. */
function finishData(t: Tensor, opts: CreateOptions): Tensor {
  let out = t;
  if (opts.device !== undefined && opts.device !== 'cpu') {
    out = t.to(opts.device);
    t.dispose();
  }
  if (opts.requiresGrad) out.requiresGrad = true;
  return out;
}

/** A tensor made directly on its device by a factory op (see factoryOptions); sets requiresGrad. */
function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function flattenNested(data: NestedArray, shape: number[], out: number[], depth: number): void {
  if (Array.isArray(data)) {
    if (shape.length <= depth) shape.push(data.length);
    else if (shape[depth] !== data.length) {
      throw new AnogenError(`tensor(): ragged nested array: expected length ${shape[depth]} at depth ${depth}, got ${data.length}`);
    }
    for (const d of data) flattenNested(d, shape, out, depth + 1);
  } else {
    if (depth !== shape.length) throw new AnogenError('tensor(): ragged nested array (a number where an array was expected)');
    if (typeof data === 'boolean') out.push(data ? 1 : 0);
    else if (typeof data === 'number') out.push(data);
    else throw new AnogenError(`tensor(): expected numbers or booleans, got ${typeof data}`);
  }
}

function toBufferOf(values: ArrayLike<number>, dtype: DType): ArrayBufferView {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'int64':
      return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'int16':
      return Int16Array.from(values);
    case 'int8':
      return Int8Array.from(values);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values, (v) => (dtype === 'bool' ? (v ? 1 : 0) : v));
    default:
      throw new AnogenError(`tensor(): cannot create ${dtype} from JS numbers; create float32 and convert with .to()`);
  }
}

/**
 * A tensor from JS data: a nested array (shape inferred; dtype default float32, or bool for
 * booleans), a typed array with `shape` (dtype default: the array's; one-dimensional when
 * shape is omitted), or a single number (a 0-d tensor). Always copies.
 */
export function tensor(data: NestedArray | ArrayBufferView, opts: CreateOptions & { shape?: number[] } = {}): Tensor {
  if (opts.device !== undefined) checkDevice(opts.device, 'tensor() device');
  observe('tensor', opts);
  if (ArrayBuffer.isView(data)) {
    const src = data as ArrayBufferView;
    const own = dtypeOfTypedArray(src);
    const count = src.byteLength / ELEMENT_SIZE[own];
    const shape = opts.shape ?? [count];
    const numel = shape.reduce((a, b) => a * b, 1);
    if (numel !== count) {
      throw new AnogenError(`tensor(): shape [${shape.join(', ')}] needs ${numel} elements but the array has ${count}`);
    }
    let t = wrap(native.fromBuffer(src, SCALAR_TYPE[own], shape));
    if (opts.dtype !== undefined && checkDType(opts.dtype) !== own) {
      const c = t.toDType(opts.dtype);
      t.dispose();
      t = c;
    }
    return finishData(t, opts);
  }
  const shape: number[] = [];
  const flat: number[] = [];
  flattenNested(data as NestedArray, shape, flat, 0);
  const isBool =
    typeof data === 'boolean' ||
    (Array.isArray(data) && (data as unknown[]).flat(Infinity)[0] === true) ||
    (Array.isArray(data) && typeof (data as unknown[]).flat(Infinity)[0] === 'boolean');
  const dtype = checkDType(opts.dtype ?? (isBool ? 'bool' : 'float32'));
  if (opts.shape !== undefined) {
    const n = opts.shape.reduce((a, b) => a * b, 1);
    if (n !== flat.length) throw new AnogenError(`tensor(): shape [${opts.shape.join(', ')}] needs ${n} elements but the data has ${flat.length}`);
  }
  const buf = dtype === 'float16' ? undefined : toBufferOf(flat, dtype);
  if (buf === undefined) {
    const f = wrap(native.fromBuffer(Float32Array.from(flat), SCALAR_TYPE.float32, opts.shape ?? shape));
    const c = f.toDType('float16');
    f.dispose();
    return finishData(c, opts);
  }
  return finishData(wrap(native.fromBuffer(buf, SCALAR_TYPE[dtype], opts.shape ?? shape)), opts);
}

function checkShape(fn: string, shape: number[]): number[] {
  if (!Array.isArray(shape)) throw new AnogenError(`${fn}(): shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new AnogenError(`${fn}(): shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  return shape;
}

/** Calls the factory op `key` with `args` then the TensorOptions (see factoryOptions). */
function factory(fn: string, key: string, args: unknown[], opts: CreateOptions, defaultDType: DType = 'float32'): Tensor {
  const options = factoryOptions(opts, defaultDType);
  observe(fn, opts);
  return finish(wrap(callOp(key, ...args, ...options)), opts);
}

function make(fn: string, key: string, shape: number[], opts: CreateOptions, ...pre: unknown[]): Tensor {
  return factory(fn, key, [checkShape(fn, shape), ...pre], opts);
}

/** Zeros of the given shape. */
export function zeros(shape: number[], opts: CreateOptions = {}): Tensor {
  return make('zeros', 'aten::zeros', shape, opts);
}
/** Ones of the given shape. */
export function ones(shape: number[], opts: CreateOptions = {}): Tensor {
  return make('ones', 'aten::ones', shape, opts);
}
/** A tensor filled with `value`. */
export function full(shape: number[], value: number, opts: CreateOptions = {}): Tensor {
  return make('full', 'aten::full', shape, opts, value);
}
/** Samples of N(0, 1). */
export function randn(shape: number[], opts: CreateOptions = {}): Tensor {
  return make('randn', 'aten::randn', shape, opts);
}
/** Samples of U[0, 1). */
export function rand(shape: number[], opts: CreateOptions = {}): Tensor {
  return make('rand', 'aten::rand', shape, opts);
}
/** Integers uniform in [low, high) (dtype default int64). */
export function randint(low: number, high: number, shape: number[], opts: CreateOptions = {}): Tensor {
  return factory('randint', 'aten::randint.low', [low, high, checkShape('randint', shape)], opts, 'int64');
}
/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, opts: CreateOptions = {}): Tensor {
  return factory('randperm', 'aten::randperm', [n], opts, 'int64');
}
/**
 * Values from start to end (exclusive) by step, as torch.arange: arange(5) is 0..4.
 * dtype default: int64 when all arguments are integers, else float32.
 */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  const ints = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = opts.dtype ?? (ints ? 'int64' : 'float32');
  return factory('arange', 'aten::arange.start_step', [start, end, step], { ...opts, dtype });
}
/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  return factory('linspace', 'aten::linspace', [start, end, steps], opts);
}
/** The n x m identity matrix (m default n). */
export function eye(n: number, m?: number, opts: CreateOptions = {}): Tensor {
  return factory('eye', 'aten::eye.m', [n, m ?? n], opts);
}
/** An uninitialised tensor (contents arbitrary). */
export function empty(shape: number[], opts: CreateOptions = {}): Tensor {
  return make('empty', 'aten::empty.memory_format', shape, opts);
}

function likeOpts(t: Tensor, opts: CreateOptions): CreateOptions {
  return { dtype: opts.dtype ?? t.dtype, device: opts.device ?? (t.device as Device), requiresGrad: opts.requiresGrad };
}
/** Zeros with the shape of t; dtype and device default to t's. */
export function zerosLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return zeros(t.shape, likeOpts(t, opts));
}
/** Ones with the shape of t; dtype and device default to t's. */
export function onesLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return ones(t.shape, likeOpts(t, opts));
}
/** `value` with the shape of t; dtype and device default to t's. */
export function fullLike(t: Tensor, value: number, opts: CreateOptions = {}): Tensor {
  return full(t.shape, value, likeOpts(t, opts));
}
/** N(0, 1) samples with the shape of t; dtype and device default to t's. */
export function randnLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return randn(t.shape, likeOpts(t, opts));
}
/** U[0, 1) samples with the shape of t; dtype and device default to t's. */
export function randLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return rand(t.shape, likeOpts(t, opts));
}
/** An uninitialised tensor with the shape of t; dtype and device default to t's. */
export function emptyLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return empty(t.shape, likeOpts(t, opts));
}
