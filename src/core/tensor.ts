/**
 * The Tensor class: a handle on a libtorch tensor, with PyTorch's operators in camelCase.
 * Every operation returns a new Tensor (tracked by the innermost tidy scope) except the
 * in-place forms ending in `_`, which return `this`.
 */
import { native, type Handle } from './native.js';
import { callOp } from './ops.js';
import { track, type Disposable } from './scope.js';
import { AnogenError, validList } from './errors.js';
import { checkDType, dtypeFromCode, SCALAR_TYPE, TYPED_ARRAY, type DType, type TypedArray } from './dtype.js';

/** A device string: 'cpu', 'cuda' or 'cuda:N'. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
/** A tensor or a plain number (broadcast as a scalar). */
export type TensorLike = Tensor | number;
/** One dimension or several. */
export type Dims = number | number[];

/** A nested array of numbers/booleans. */
export type NestedArray = number | boolean | NestedArray[];

function h(t: Tensor): Handle {
  return t.handle;
}

/** Wraps a native handle (or an array of them) returned by the bridge. */
export function wrap(x: Handle): Tensor {
  return new Tensor(x);
}

function wrapAll(xs: Handle[]): Tensor[] {
  return xs.map((x) => new Tensor(x));
}

let cudaAvailable: boolean | undefined;
/** Scratch space the addon writes sizes into (Tensor.shape without building arrays natively). */
const SHAPE_SCRATCH = new Float64Array(64);

/**
 * Checks a device string ('cpu', 'cuda', 'cuda:N') and that CUDA is usable when asked for.
 * Throws an AnogenError naming the device and what is valid.
 */
export function checkDevice(device: unknown, what = 'device'): Device {
  if (typeof device !== 'string' || !/^(cpu|cuda(:\d+)?)$/.test(device)) {
    throw new AnogenError(`${what}: ${JSON.stringify(device)} is not a valid device; expected 'cpu', 'cuda' or 'cuda:N'`);
  }
  if (device.startsWith('cuda')) {
    cudaAvailable ??= native.cudaIsAvailable();
    if (!cudaAvailable) {
      throw new AnogenError(
        `${what}: '${device}' was asked for but CUDA is not available (this libtorch has no CUDA support or no GPU is visible); ` + `use 'cpu', or check cudaIsAvailable() first`,
      );
    }
    const n = device.indexOf(':');
    if (n > 0) {
      const idx = Number(device.slice(n + 1));
      const count = native.cudaDeviceCount();
      if (idx >= count) throw new AnogenError(`${what}: '${device}' does not exist; this machine has ${count} CUDA device(s)`);
    }
  }
  return device as Device;
}

export class Tensor implements Disposable {
  /** @internal set by keep() */
  kept = false;
  private disposed = false;
  private h: Handle;

  /** @internal use the creation functions (tensor, zeros, ...) instead. */
  constructor(handle: Handle) {
    this.h = handle;
    track(this);
  }

  /** @internal the native handle; throws an AnogenError once the tensor is disposed. */
  get handle(): Handle {
    if (this.disposed) {
      throw new AnogenError(
        'this tensor was disposed (by dispose() or on leaving a tidy() scope) and cannot be used; ' + 'return it from the tidy function or keep() it to use it later',
      );
    }
    return this.h;
  }

  // ---- metadata -------------------------------------------------------------------------
  /** Dimensions, as in PyTorch's `tensor.shape` (a new array each call). */
  get shape(): number[] {
    const h = this.handle;
    if (native.shapeInto === undefined) return native.shape(h);
    const n = native.shapeInto(h, SHAPE_SCRATCH);
    if (n > SHAPE_SCRATCH.length) return native.shape(h);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = SHAPE_SCRATCH[i]!;
    return out;
  }
  /** Element type. */
  get dtype(): DType {
    return dtypeFromCode(native.scalarType(this.handle));
  }
  /** Device the data lives on ('cpu', 'cuda:0', ...). */
  get device(): string {
    return native.meta(this.handle)[2];
  }
  /** Number of dimensions. */
  get ndim(): number {
    return native.shapeInto === undefined ? this.shape.length : native.shapeInto(this.handle, SHAPE_SCRATCH);
  }
  /** Number of elements. */
  get numel(): number {
    return native.numel === undefined ? this.shape.reduce((a, b) => a * b, 1) : native.numel(this.handle);
  }
  /** Size of one dimension (negative counts from the end). */
  size(dim: number): number {
    const s = this.shape;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new AnogenError(`size(${dim}): tensor has ${s.length} dimensions`);
    return s[d]!;
  }
  /** Whether autograd records operations on this tensor. */
  get requiresGrad(): boolean {
    return native.meta(this.handle)[3];
  }
  /** Switches autograd recording for this (leaf) tensor on or off. */
  set requiresGrad(v: boolean) {
    native.setRequiresGrad(this.handle, v);
  }
  /** Sets requiresGrad in place and returns this (default true). */
  requiresGrad_(v = true): this {
    native.setRequiresGrad(this.handle, v);
    return this;
  }
  /** Makes this non-leaf tensor keep its `.grad` after backward (as PyTorch's retain_grad); returns this. */
  retainGrad(): this {
    callOp('aten::retain_grad', this.handle);
    return this;
  }
  /** True for tensors created by the user rather than by a recorded operation. */
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }

  // ---- lifetime -------------------------------------------------------------------------
  /** Frees the native memory now. Using the tensor afterwards throws. Idempotent. */
  dispose(): void {
    if (!this.disposed) {
      this.disposed = true;
      native.dispose(this.h);
    }
  }
  /**
   * @internal Makes this Tensor object hold another native tensor: `handle` (a raw handle from
   * the bridge, e.g. `callOp('aten::to.device', ...)`, never wrapped in another Tensor) is owned
   * from now on and the tensor held so far is freed. This is PyTorch's `param.data = moved`:
   * `Module.to` (src/nn) uses it so that parameters and buffers keep their identity across device
   * and dtype moves (an optimiser or a user holding them keeps working). Nothing is carried
   * over: the caller sets requiresGrad and the gradient again. Throws once disposed.
   */
  _replaceHandle(handle: Handle): void {
    const old = this.handle;
    if (handle === old) return;
    this.h = handle;
    native.dispose(old);
  }
  /** True once dispose() ran (directly or by a tidy scope). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  // ---- reading back ---------------------------------------------------------------------
  /** The elements as a Float32Array (converting from the tensor's dtype if needed). */
  toFloat32Array(): Float32Array {
    if (this.dtype === 'float32') return new Float32Array(native.toBuffer(this.handle));
    const t = wrap(callOp('aten::to.dtype', this.handle, SCALAR_TYPE.float32));
    try {
      return new Float32Array(native.toBuffer(t.handle));
    } finally {
      t.dispose();
    }
  }
  /** The elements as a Float64Array. */
  toFloat64Array(): Float64Array {
    const t = this.dtype === 'float64' ? this : wrap(callOp('aten::to.dtype', this.handle, SCALAR_TYPE.float64));
    try {
      return new Float64Array(native.toBuffer(t.handle));
    } finally {
      if (t !== this) t.dispose();
    }
  }
  /** The elements in a typed array of the tensor's own dtype (int64 as BigInt64Array, bool as Uint8Array). */
  toTypedArray(): TypedArray {
    const Ctor = TYPED_ARRAY[this.dtype];
    return new Ctor(native.toBuffer(this.handle));
  }
  /** The raw bytes (contiguous, CPU) in the tensor's dtype. */
  toBuffer(): ArrayBuffer {
    return native.toBuffer(this.handle);
  }
  /** The elements as a nested JS array (numbers, or booleans for bool tensors). */
  toArray(): NestedArray {
    const flat = this.toTypedArray();
    const isBool = this.dtype === 'bool';
    const vals: (number | boolean)[] = Array.from(flat as ArrayLike<number | bigint>, (v) => (isBool ? v !== 0 : Number(v)));
    const shape = this.shape;
    if (shape.length === 0) return vals[0]!;
    let i = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let k = 0; k < shape[d]!; k++) out.push(d === shape.length - 1 ? vals[i++]! : build(d + 1));
      return out;
    };
    return build(0);
  }
  /** The value of a one-element tensor. */
  item(): number {
    return Number(native.item(this.handle));
  }
  /** A short description (shape, dtype, device; values when at most 16 elements). */
  toString(): string {
    if (this.disposed) return 'Tensor(disposed)';
    const s = this.shape;
    let body = '';
    if (this.numel <= 16) body = `, ${JSON.stringify(this.toArray())}`;
    return `Tensor(shape=[${s.join(', ')}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''}${body})`;
  }

  // ---- conversion -----------------------------------------------------------------------
  /** A copy with another dtype (this itself when it already has that dtype, as PyTorch). */
  toDType(dtype: DType): Tensor {
    return wrap(callOp('aten::to.dtype', this.handle, SCALAR_TYPE[checkDType(dtype)]));
  }
  /**
   * Moves to a device ('cpu', 'cuda', 'cuda:1') and/or converts dtype. Returns a new Tensor
   * object (sharing memory when nothing changes, as PyTorch). Asking for 'cuda' on a machine
   * without CUDA throws an AnogenError.
   */
  to(target: Device | DType | { device?: Device; dtype?: DType }): Tensor {
    let device: string | undefined;
    let dtype: DType | undefined;
    if (typeof target === 'string') {
      if (target in SCALAR_TYPE) dtype = target as DType;
      else if (/^(cpu|cuda(:\d+)?)$/.test(target)) device = target;
      else {
        throw new AnogenError(`to(): ${JSON.stringify(target)} is neither a device ('cpu', 'cuda', 'cuda:N') nor a dtype (${validList(Object.keys(SCALAR_TYPE))})`);
      }
    } else if (target !== null && typeof target === 'object') {
      device = target.device;
      dtype = target.dtype;
    } else {
      throw new AnogenError(`to(): expected a device, a dtype or { device, dtype }, got ${String(target)}`);
    }
    const code = SCALAR_TYPE[dtype === undefined ? this.dtype : checkDType(dtype)];
    if (device === undefined) return wrap(callOp('aten::to.dtype', this.handle, code));
    checkDevice(device, 'to()');
    return wrap(callOp('aten::to.device', this.handle, device, code));
  }
  /** A copy on the CPU (this data when already there). */
  cpu(): Tensor {
    return this.to('cpu');
  }
  /** A copy on a CUDA device (default 'cuda'); throws an AnogenError when CUDA is unavailable. */
  cuda(device: Device = 'cuda'): Tensor {
    return this.to(device);
  }
  /** A float32 copy (this data when already float32). */
  float(): Tensor {
    return this.toDType('float32');
  }
  /** A float64 copy. */
  double(): Tensor {
    return this.toDType('float64');
  }
  /** An int64 copy (floats truncated toward zero). */
  long(): Tensor {
    return this.toDType('int64');
  }
  /** An int32 copy (floats truncated toward zero). */
  int(): Tensor {
    return this.toDType('int32');
  }
  /** A bool copy (non-zero is true). */
  bool(): Tensor {
    return this.toDType('bool');
  }
  /** A copy with its own storage (recorded by autograd). */
  clone(): Tensor {
    return wrap(callOp('aten::clone', this.handle));
  }
  /** The same data, cut from the autograd graph. */
  detach(): Tensor {
    return wrap(callOp('aten::detach', this.handle));
  }
  /** Cuts this tensor from the graph in place. */
  detach_(): this {
    callOp('aten::detach_', this.handle);
    return this;
  }
  /** The data in row-major order (this data when already contiguous). */
  contiguous(): Tensor {
    return wrap(callOp('aten::contiguous', this.handle));
  }

  // ---- autograd -------------------------------------------------------------------------
  /**
   * Back-propagates from this tensor. `grad` defaults to ones for a scalar; options:
   * `retainGraph` (default: createGraph), `createGraph` (default false, for higher-order grads).
   */
  backward(grad?: Tensor | null, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward(this.handle, grad ? grad.handle : null, opts.retainGraph ?? null, opts.createGraph ?? false);
  }
  /** The accumulated gradient, or null. A new Tensor object each call (sharing memory). */
  get grad(): Tensor | null {
    const g = native.getGrad(this.handle);
    return g === null ? null : wrap(g);
  }
  /** Replaces (or, with null, clears) the accumulated gradient. */
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }

  // ---- elementwise (broadcasting) ---------------------------------------------------------
  /** this + alpha * other (alpha default 1). */
  add(other: TensorLike, alpha = 1): Tensor {
    return typeof other === 'number' ? wrap(callOp('aten::add.Scalar', this.handle, other, alpha)) : wrap(callOp('aten::add.Tensor', this.handle, other.handle, alpha));
  }
  /** this - alpha * other (alpha default 1). */
  sub(other: TensorLike, alpha = 1): Tensor {
    return typeof other === 'number' ? wrap(callOp('aten::sub.Scalar', this.handle, other, alpha)) : wrap(callOp('aten::sub.Tensor', this.handle, other.handle, alpha));
  }
  /** this * other (broadcasting). */
  mul(other: TensorLike): Tensor {
    return typeof other === 'number' ? wrap(callOp('aten::mul.Scalar', this.handle, other)) : wrap(callOp('aten::mul.Tensor', this.handle, other.handle));
  }
  /** True division (always floating, as PyTorch's `/`). */
  div(other: TensorLike): Tensor {
    return typeof other === 'number' ? wrap(callOp('aten::div.Scalar', this.handle, other)) : wrap(callOp('aten::div.Tensor', this.handle, other.handle));
  }
  /** Remainder with the sign of the divisor (Python's %). */
  remainder(other: TensorLike): Tensor {
    return typeof other === 'number' ? wrap(callOp('aten::remainder.Scalar', this.handle, other)) : wrap(callOp('aten::remainder.Tensor', this.handle, other.handle));
  }
  /** this ** exponent (broadcasting). */
  pow(exponent: TensorLike): Tensor {
    return typeof exponent === 'number' ? wrap(callOp('aten::pow.Tensor_Scalar', this.handle, exponent)) : wrap(callOp('aten::pow.Tensor_Tensor', this.handle, exponent.handle));
  }
  /** -this. */
  neg(): Tensor {
    return wrap(callOp('aten::neg', this.handle));
  }
  /** |this|. */
  abs(): Tensor {
    return wrap(callOp('aten::abs', this.handle));
  }
  /** e ** this. */
  exp(): Tensor {
    return wrap(callOp('aten::exp', this.handle));
  }
  /** Natural logarithm. */
  log(): Tensor {
    return wrap(callOp('aten::log', this.handle));
  }
  log1p(): Tensor {
    return wrap(callOp('aten::log1p', this.handle));
  }
  expm1(): Tensor {
    return wrap(callOp('aten::expm1', this.handle));
  }
  /** Square root. */
  sqrt(): Tensor {
    return wrap(callOp('aten::sqrt', this.handle));
  }
  /** 1 / sqrt(this). */
  rsqrt(): Tensor {
    return wrap(callOp('aten::rsqrt', this.handle));
  }
  /** this * this. */
  square(): Tensor {
    return wrap(callOp('aten::square', this.handle));
  }
  /** 1 / this. */
  reciprocal(): Tensor {
    return wrap(callOp('aten::reciprocal', this.handle));
  }
  /** Sine. */
  sin(): Tensor {
    return wrap(callOp('aten::sin', this.handle));
  }
  /** Cosine. */
  cos(): Tensor {
    return wrap(callOp('aten::cos', this.handle));
  }
  /** 1 / (1 + exp(-this)). */
  sigmoid(): Tensor {
    return wrap(callOp('aten::sigmoid', this.handle));
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor {
    return wrap(callOp('aten::tanh', this.handle));
  }
  /** max(0, this). */
  relu(): Tensor {
    return wrap(callOp('aten::relu', this.handle));
  }
  /** max(0,x) + negativeSlope * min(0,x); negativeSlope default 0.01 (PyTorch's). */
  leakyRelu(negativeSlope = 0.01): Tensor {
    return wrap(callOp('aten::leaky_relu', this.handle, negativeSlope));
  }
  /** ELU with alpha default 1. */
  elu(alpha = 1): Tensor {
    return wrap(callOp('aten::elu', this.handle, alpha));
  }
  /** log(1 + exp(beta x)) / beta; beta default 1, threshold default 20. */
  softplus(beta = 1, threshold = 20): Tensor {
    return wrap(callOp('aten::softplus', this.handle, beta, threshold));
  }
  /** log(sigmoid(this)), computed stably. */
  logSigmoid(): Tensor {
    return wrap(callOp('aten::log_sigmoid', this.handle));
  }
  /** Clamps into [min, max]; either bound may be null (no bound). */
  clamp(min: number | null, max: number | null = null): Tensor {
    return wrap(callOp('aten::clamp', this.handle, min, max));
  }
  /** -1, 0 or 1 by sign. */
  sign(): Tensor {
    return wrap(callOp('aten::sign', this.handle));
  }
  /** Rounds down. */
  floor(): Tensor {
    return wrap(callOp('aten::floor', this.handle));
  }
  /** Rounds up. */
  ceil(): Tensor {
    return wrap(callOp('aten::ceil', this.handle));
  }
  /** Rounds half to even, as PyTorch. */
  round(): Tensor {
    return wrap(callOp('aten::round', this.handle));
  }
  /** Elementwise maximum of two tensors. */
  maximum(other: Tensor): Tensor {
    return wrap(callOp('aten::maximum', this.handle, other.handle));
  }
  /** Elementwise minimum of two tensors. */
  minimum(other: Tensor): Tensor {
    return wrap(callOp('aten::minimum', this.handle, other.handle));
  }
  /** this + weight * (end - this). */
  lerp(end: Tensor, weight: TensorLike): Tensor {
    return typeof weight === 'number'
      ? wrap(callOp('aten::lerp.Scalar', this.handle, end.handle, weight))
      : wrap(callOp('aten::lerp.Tensor', this.handle, end.handle, weight.handle));
  }

  /** Elementwise choice, as PyTorch's `x.where(cond, y)`: this where cond is true, else other. */
  where(condition: Tensor, other: TensorLike): Tensor {
    return where(condition, this, other);
  }
  /** Replaces NaN by `nan` (default 0) and infinities by the dtype's largest finite values (or the given ones). */
  nanToNum(nan = 0, posinf: number | null = null, neginf: number | null = null): Tensor {
    return wrap(callOp('aten::nan_to_num', this.handle, nan, posinf, neginf));
  }

  // ---- comparisons and logic --------------------------------------------------------------
  /** this == other, as a bool tensor. */
  eq(other: TensorLike): Tensor {
    return cmp('eq', this, other);
  }
  /** this != other, as a bool tensor. */
  ne(other: TensorLike): Tensor {
    return cmp('ne', this, other);
  }
  /** this < other, as a bool tensor. */
  lt(other: TensorLike): Tensor {
    return cmp('lt', this, other);
  }
  /** this <= other, as a bool tensor. */
  le(other: TensorLike): Tensor {
    return cmp('le', this, other);
  }
  /** this > other, as a bool tensor. */
  gt(other: TensorLike): Tensor {
    return cmp('gt', this, other);
  }
  /** this >= other, as a bool tensor. */
  ge(other: TensorLike): Tensor {
    return cmp('ge', this, other);
  }
  /** Elementwise AND (non-zero is true), as a bool tensor. */
  logicalAnd(other: Tensor): Tensor {
    return wrap(callOp('aten::logical_and', this.handle, other.handle));
  }
  /** Elementwise OR, as a bool tensor. */
  logicalOr(other: Tensor): Tensor {
    return wrap(callOp('aten::logical_or', this.handle, other.handle));
  }
  /** Elementwise XOR, as a bool tensor. */
  logicalXor(other: Tensor): Tensor {
    return wrap(callOp('aten::logical_xor', this.handle, other.handle));
  }
  /** Elementwise NOT, as a bool tensor. */
  logicalNot(): Tensor {
    return wrap(callOp('aten::logical_not', this.handle));
  }
  /** True where NaN. */
  isnan(): Tensor {
    return wrap(callOp('aten::isnan', this.handle));
  }
  /** True where neither NaN nor infinite. */
  isfinite(): Tensor {
    return wrap(callOp('aten::isfinite', this.handle));
  }
  /** True when every element is close: |a - b| <= atol + rtol |b| (rtol 1e-5, atol 1e-8). */
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return callOp('aten::allclose', this.handle, other.handle, rtol, atol, false) as boolean;
  }

  // ---- in-place (optimizer math, weight clipping) ----------------------------------------
  /** this += alpha * other (alpha default 1); returns this. */
  add_(other: TensorLike, alpha = 1): this {
    if (typeof other === 'number') callOp('aten::add_.Scalar', this.handle, other, alpha);
    else callOp('aten::add_.Tensor', this.handle, other.handle, alpha);
    return this;
  }
  /** this -= alpha * other (alpha default 1); returns this. */
  sub_(other: TensorLike, alpha = 1): this {
    if (typeof other === 'number') callOp('aten::sub_.Scalar', this.handle, other, alpha);
    else callOp('aten::sub_.Tensor', this.handle, other.handle, alpha);
    return this;
  }
  /** this *= other; returns this. */
  mul_(other: TensorLike): this {
    if (typeof other === 'number') callOp('aten::mul_.Scalar', this.handle, other);
    else callOp('aten::mul_.Tensor', this.handle, other.handle);
    return this;
  }
  /** this /= other; returns this. */
  div_(other: TensorLike): this {
    if (typeof other === 'number') callOp('aten::div_.Scalar', this.handle, other);
    else callOp('aten::div_.Tensor', this.handle, other.handle);
    return this;
  }
  /** this += value * t1 * t2 */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    callOp('aten::addcmul_', this.handle, t1.handle, t2.handle, value);
    return this;
  }
  /** this += value * t1 / t2 */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    callOp('aten::addcdiv_', this.handle, t1.handle, t2.handle, value);
    return this;
  }
  /** this += weight * (end - this) */
  lerp_(end: Tensor, weight: number): this {
    callOp('aten::lerp_.Scalar', this.handle, end.handle, weight);
    return this;
  }
  /** Clamps into [min, max] in place (null: no bound; max default null); returns this. */
  clamp_(min: number | null, max: number | null = null): this {
    callOp('aten::clamp_', this.handle, min, max);
    return this;
  }
  /** Square root in place; returns this. */
  sqrt_(): this {
    callOp('aten::sqrt_', this.handle);
    return this;
  }
  /** Negates in place; returns this. */
  neg_(): this {
    callOp('aten::neg_', this.handle);
    return this;
  }
  /** this = maximum(this, other); returns this. */
  maximum_(other: Tensor): this {
    callOp('aten::maximum.out', this.handle, other.handle, this.handle);
    return this;
  }
  /** Copies src (broadcast, converted to this dtype) into this; returns this. */
  copy_(src: Tensor): this {
    callOp('aten::copy_', this.handle, src.handle);
    return this;
  }
  /** Fills with zeros; returns this. */
  zero_(): this {
    callOp('aten::zero_', this.handle);
    return this;
  }
  /** Fills with value; returns this. */
  fill_(value: number): this {
    callOp('aten::fill_.Scalar', this.handle, value);
    return this;
  }
  /** Fills with N(mean, std) samples (defaults 0, 1). */
  normal_(mean = 0, std = 1): this {
    callOp('aten::normal_', this.handle, mean, std);
    return this;
  }
  /** Fills with U(from, to) samples (defaults 0, 1). */
  uniform_(from = 0, to = 1): this {
    callOp('aten::uniform_', this.handle, from, to);
    return this;
  }
  /** this **= exponent; returns this. */
  pow_(exponent: TensorLike): this {
    if (typeof exponent === 'number') callOp('aten::pow_.Scalar', this.handle, exponent);
    else callOp('aten::pow_.Tensor', this.handle, exponent.handle);
    return this;
  }
  /** |this| in place; returns this. */
  abs_(): this {
    callOp('aten::abs_', this.handle);
    return this;
  }
  /** exp in place; returns this. */
  exp_(): this {
    callOp('aten::exp_', this.handle);
    return this;
  }
  /** log in place; returns this. */
  log_(): this {
    callOp('aten::log_', this.handle);
    return this;
  }
  /** relu in place; returns this. */
  relu_(): this {
    callOp('aten::relu_', this.handle);
    return this;
  }
  /** sigmoid in place; returns this. */
  sigmoid_(): this {
    callOp('aten::sigmoid_', this.handle);
    return this;
  }
  /** tanh in place; returns this. */
  tanh_(): this {
    callOp('aten::tanh_', this.handle);
    return this;
  }
  /** sign in place; returns this. */
  sign_(): this {
    callOp('aten::sign_', this.handle);
    return this;
  }
  /** floor in place; returns this. */
  floor_(): this {
    callOp('aten::floor_', this.handle);
    return this;
  }
  /** Rounds half to even in place; returns this. */
  round_(): this {
    callOp('aten::round_', this.handle);
    return this;
  }
  /** Writes `src` (tensor or scalar) at `index` along dim, in place. */
  scatter_(dim: number, index: Tensor, src: TensorLike): this {
    if (typeof src === 'number') callOp('aten::scatter_.value', this.handle, dim, index.handle, src);
    else callOp('aten::scatter_.src', this.handle, dim, index.handle, src.handle);
    return this;
  }
  /** this[indices] = values (or += with accumulate, default false), in place; null skips a dim. */
  indexPut_(indices: (Tensor | null)[], values: Tensor, accumulate = false): this {
    callOp(
      'aten::index_put_',
      this.handle,
      indices.map((t) => (t === null ? null : t.handle)),
      values.handle,
      accumulate,
    );
    return this;
  }
  /** Writes value where mask is true; returns this. */
  maskedFill_(mask: Tensor, value: number): this {
    callOp('aten::masked_fill_.Scalar', this.handle, mask.handle, value);
    return this;
  }

  // ---- reductions ------------------------------------------------------------------------
  /** Sum over all elements, or over `dim` (keepdim default false). */
  sum(dim?: Dims, keepdim = false): Tensor {
    return dim === undefined ? wrap(callOp('aten::sum', this.handle)) : wrap(callOp('aten::sum.dim_IntList', this.handle, dims(dim), keepdim));
  }
  /** Mean over all elements, or over `dim` (keepdim default false). */
  mean(dim?: Dims, keepdim = false): Tensor {
    return dim === undefined ? wrap(callOp('aten::mean', this.handle)) : wrap(callOp('aten::mean.dim', this.handle, dims(dim), keepdim));
  }
  /** Product of all elements, or over `dim` (keepdim default false). */
  prod(dim?: number, keepdim = false): Tensor {
    return dim === undefined ? wrap(callOp('aten::prod', this.handle)) : wrap(callOp('aten::prod.dim_int', this.handle, dim, keepdim));
  }
  /** Maximum of all elements. With `dim`: use {@link maxDim}. */
  max(): Tensor {
    return wrap(callOp('aten::max', this.handle));
  }
  /** Minimum of all elements. With `dim`: use {@link minDim}. */
  min(): Tensor {
    return wrap(callOp('aten::min', this.handle));
  }
  /** Maximum over one dimension: { values, indices } (keepdim default false). */
  maxDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = callOp('aten::max.dim', this.handle, dim, keepdim) as Handle[];
    return { values: wrap(v!), indices: wrap(i!) };
  }
  /** Minimum over one dimension: { values, indices } (keepdim default false). */
  minDim(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = callOp('aten::min.dim', this.handle, dim, keepdim) as Handle[];
    return { values: wrap(v!), indices: wrap(i!) };
  }
  /** Maximum values over dims (no indices). */
  amax(dim: Dims, keepdim = false): Tensor {
    return wrap(callOp('aten::amax', this.handle, dims(dim), keepdim));
  }
  /** Minimum values over dims (no indices; keepdim default false). */
  amin(dim: Dims, keepdim = false): Tensor {
    return wrap(callOp('aten::amin', this.handle, dims(dim), keepdim));
  }
  /** Index of the maximum (over everything when dim is undefined). */
  argmax(dim?: number, keepdim = false): Tensor {
    return wrap(callOp('aten::argmax', this.handle, dim ?? null, keepdim));
  }
  /** Index of the minimum (over everything when dim is undefined; keepdim default false). */
  argmin(dim?: number, keepdim = false): Tensor {
    return wrap(callOp('aten::argmin', this.handle, dim ?? null, keepdim));
  }
  /** Variance; `unbiased` default true (Bessel's correction, as PyTorch). */
  var(dim?: Dims, opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    const unbiased = opts.unbiased ?? true;
    return dim === undefined ? wrap(callOp('aten::var', this.handle, unbiased)) : wrap(callOp('aten::var.dim', this.handle, dims(dim), unbiased, opts.keepdim ?? false));
  }
  /** Standard deviation; `unbiased` default true. */
  std(dim?: Dims, opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    const unbiased = opts.unbiased ?? true;
    return dim === undefined ? wrap(callOp('aten::std', this.handle, unbiased)) : wrap(callOp('aten::std.dim', this.handle, dims(dim), unbiased, opts.keepdim ?? false));
  }
  /** p-norm (p default 2) over all elements or over `dim`. */
  norm(p = 2, dim?: Dims, keepdim = false): Tensor {
    return dim === undefined ? wrap(callOp('aten::norm.Scalar', this.handle, p)) : wrap(callOp('aten::norm.ScalarOpt_dim', this.handle, p, dims(dim), keepdim));
  }
  /** log(sum(exp(this))) over dims, computed stably (keepdim default false). */
  logsumexp(dim: Dims, keepdim = false): Tensor {
    return wrap(callOp('aten::logsumexp', this.handle, dims(dim), keepdim));
  }
  /** Cumulative sum along dim. */
  cumsum(dim: number): Tensor {
    return wrap(callOp('aten::cumsum', this.handle, dim));
  }
  /** The k largest (largest default true) along dim (default last): { values, indices }. */
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [v, i] = callOp('aten::topk', this.handle, k, dim, largest, sorted) as Handle[];
    return { values: wrap(v!), indices: wrap(i!) };
  }
  /** Sorts along dim (default last), ascending unless descending. */
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = callOp('aten::sort', this.handle, dim, descending) as Handle[];
    return { values: wrap(v!), indices: wrap(i!) };
  }
  /** Cumulative product along dim. */
  cumprod(dim: number): Tensor {
    return wrap(callOp('aten::cumprod', this.handle, dim));
  }
  /** Indices that sort along dim (default last), ascending unless descending (default false). */
  argsort(dim = -1, descending = false): Tensor {
    return wrap(callOp('aten::argsort', this.handle, dim, descending));
  }
  /** Median of all elements (the lower of the two middle values for an even count, as PyTorch). */
  median(): Tensor {
    return wrap(callOp('aten::median', this.handle));
  }
  /** Sum of the main diagonal of a 2-D tensor. */
  trace(): Tensor {
    return wrap(callOp('aten::trace', this.handle));
  }
  /** True if every element is non-zero. */
  all(): Tensor {
    return wrap(callOp('aten::all', this.handle));
  }
  /** True if any element is non-zero. */
  any(): Tensor {
    return wrap(callOp('aten::any', this.handle));
  }

  // ---- shape ----------------------------------------------------------------------------
  /** Same data, new shape (one dimension may be -1). */
  reshape(...shape: number[] | [number[]]): Tensor {
    return wrap(callOp('aten::reshape', this.handle, flatShape(shape)));
  }
  /** A view with a new shape (needs compatible strides; see reshape). */
  view(...shape: number[] | [number[]]): Tensor {
    return wrap(callOp('aten::view', this.handle, flatShape(shape)));
  }
  /** Reorders the dims (a view). */
  permute(...order: number[] | [number[]]): Tensor {
    return wrap(callOp('aten::permute', this.handle, flatShape(order)));
  }
  /** Swaps two dims (a view). */
  transpose(dim0: number, dim1: number): Tensor {
    return wrap(callOp('aten::transpose.int', this.handle, dim0, dim1));
  }
  /** Transpose of a 2-D tensor. */
  t(): Tensor {
    return wrap(callOp('aten::t', this.handle));
  }
  /** Flattens dims startDim..endDim (defaults 0, -1). */
  flatten(startDim = 0, endDim = -1): Tensor {
    return wrap(callOp('aten::flatten.using_ints', this.handle, startDim, endDim));
  }
  /** Inserts a dim of size 1 at `dim`. */
  unsqueeze(dim: number): Tensor {
    return wrap(callOp('aten::unsqueeze', this.handle, dim));
  }
  /** Removes dims of size 1 (all of them, or just `dim`). */
  squeeze(dim?: number): Tensor {
    return dim === undefined ? wrap(callOp('aten::squeeze', this.handle)) : wrap(callOp('aten::squeeze.dim', this.handle, dim));
  }
  /** Broadcasts to a larger shape without copying (-1 keeps a dim). */
  expand(...shape: number[] | [number[]]): Tensor {
    return wrap(callOp('aten::expand', this.handle, flatShape(shape)));
  }
  /** Broadcasts to other's shape without copying. */
  expandAs(other: Tensor): Tensor {
    return wrap(callOp('aten::expand_as', this.handle, other.handle));
  }
  /** Tiles the tensor `repeats[i]` times along each dim. */
  repeat(...repeats: number[] | [number[]]): Tensor {
    return wrap(callOp('aten::repeat', this.handle, flatShape(repeats)));
  }
  /** Splits into pieces of `size` (or of the given sizes) along dim (default 0). */
  split(size: number | number[], dim = 0): Tensor[] {
    return typeof size === 'number' ? wrapAll(callOp('aten::split.Tensor', this.handle, size, dim)) : wrapAll(callOp('aten::split_with_sizes', this.handle, size, dim));
  }
  /** Splits into `chunks` nearly equal pieces along dim (default 0). */
  chunk(chunks: number, dim = 0): Tensor[] {
    return wrapAll(callOp('aten::chunk', this.handle, chunks, dim));
  }
  /** `length` elements from `start` along dim (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    return wrap(callOp('aten::narrow', this.handle, dim, start, length));
  }
  /** Python's t[start:end:step] along dim (end null = to the end; step default 1). */
  slice(dim: number, start: number | null = null, end: number | null = null, step = 1): Tensor {
    return wrap(callOp('aten::slice.Tensor', this.handle, dim, start, end, step));
  }
  /** The sub-tensor at `index` along dim (removes that dim). */
  select(dim: number, index: number): Tensor {
    return wrap(callOp('aten::select.int', this.handle, dim, index));
  }
  /** Elements at `index` (int64) along dim. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(callOp('aten::index_select', this.handle, dim, index.handle));
  }
  /** out[i][j] = this[index[i][j]][j] for dim 0, etc. */
  gather(dim: number, index: Tensor): Tensor {
    return wrap(callOp('aten::gather', this.handle, dim, index.handle));
  }
  /** A copy with `src` (tensor or scalar) written at `index` along dim. */
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor {
    return typeof src === 'number'
      ? wrap(callOp('aten::scatter.value', this.handle, dim, index.handle, src))
      : wrap(callOp('aten::scatter.src', this.handle, dim, index.handle, src.handle));
  }
  /** A copy with `value` where mask is true. */
  maskedFill(mask: Tensor, value: number): Tensor {
    return wrap(callOp('aten::masked_fill.Scalar', this.handle, mask.handle, value));
  }
  /** Elements where mask is true, as a 1-D tensor. */
  maskedSelect(mask: Tensor): Tensor {
    return wrap(callOp('aten::masked_select', this.handle, mask.handle));
  }
  /** Advanced indexing: one (int64 or bool) index tensor per leading dim; null skips a dim. */
  index(indices: (Tensor | null)[]): Tensor {
    return wrap(
      callOp(
        'aten::index.Tensor',
        this.handle,
        indices.map((t) => (t === null ? null : t.handle)),
      ),
    );
  }
  /** Reverses the order along the given dims. */
  flip(dim: Dims): Tensor {
    return wrap(callOp('aten::flip', this.handle, dims(dim)));
  }
  /** Rolls elements by `shifts` along dims (flattened when dims omitted). */
  roll(shifts: Dims, dim?: Dims): Tensor {
    return wrap(callOp('aten::roll', this.handle, dims(shifts), dim === undefined ? [] : dims(dim)));
  }

  /** Splits along dim (default 0) into its slices, removing that dim. */
  unbind(dim = 0): Tensor[] {
    return wrapAll(callOp('aten::unbind.int', this.handle, dim));
  }
  /** Expands dim into `sizes` (one may be -1). */
  unflatten(dim: number, sizes: number[]): Tensor {
    return wrap(callOp('aten::unflatten.int', this.handle, dim, sizes));
  }
  /** Moves dim `source` to position `destination`. */
  movedim(source: number, destination: number): Tensor {
    return wrap(callOp('aten::movedim.int', this.handle, source, destination));
  }
  /** A view with other's shape. */
  viewAs(other: Tensor): Tensor {
    return wrap(callOp('aten::view_as', this.handle, other.handle));
  }
  /** Reshaped to other's shape. */
  reshapeAs(other: Tensor): Tensor {
    return wrap(callOp('aten::reshape_as', this.handle, other.handle));
  }
  /** Lower triangle of the last two dims (elements above `diagonal`, default 0, zeroed). */
  tril(diagonal = 0): Tensor {
    return wrap(callOp('aten::tril', this.handle, diagonal));
  }
  /** Upper triangle of the last two dims (elements below `diagonal`, default 0, zeroed). */
  triu(diagonal = 0): Tensor {
    return wrap(callOp('aten::triu', this.handle, diagonal));
  }
  /** The diagonal `offset` (default 0) of dims dim1, dim2 (defaults 0, 1), as a view. */
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return wrap(callOp('aten::diagonal', this.handle, offset, dim1, dim2));
  }
  /** 1-D input: a square matrix with it on diagonal `diagonal` (default 0); 2-D input: that diagonal. */
  diag(diagonal = 0): Tensor {
    return wrap(callOp('aten::diag', this.handle, diagonal));
  }
  /** A copy with `src` added at `index` along dim (sums repeated indices). */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(callOp('aten::scatter_add', this.handle, dim, index.handle, src.handle));
  }
  /** A copy with alpha (default 1) * source's slices added at `index` along dim. */
  indexAdd(dim: number, index: Tensor, source: Tensor, alpha = 1): Tensor {
    return wrap(callOp('aten::index_add', this.handle, dim, index.handle, source.handle, alpha));
  }
  /** A copy with this[indices] = values (or += with accumulate, default false); null skips a dim. */
  indexPut(indices: (Tensor | null)[], values: Tensor, accumulate = false): Tensor {
    return wrap(
      callOp(
        'aten::index_put',
        this.handle,
        indices.map((t) => (t === null ? null : t.handle)),
        values.handle,
        accumulate,
      ),
    );
  }
  /**
   * Pads the last dims, as torch.nn.functional.pad: padding = [left, right, top, bottom, ...];
   * mode 'constant' (default, with `value`, default 0), 'reflect', 'replicate' or 'circular'.
   */
  pad(padding: number[], mode: 'constant' | 'reflect' | 'replicate' | 'circular' = 'constant', value = 0): Tensor {
    if (!Array.isArray(padding) || padding.length % 2 !== 0 || padding.length / 2 > this.ndim || !padding.every(Number.isInteger)) {
      throw new AnogenError(
        `pad(): padding must be an even-length array of integers [left, right, top, bottom, ...] covering at most ${this.ndim} dims, got ${JSON.stringify(padding)}`,
      );
    }
    if (mode === 'constant') return wrap(callOp('aten::constant_pad_nd', this.handle, padding, value));
    if (mode !== 'reflect' && mode !== 'replicate' && mode !== 'circular') {
      throw new AnogenError(`pad(): mode ${JSON.stringify(mode)} is not valid; expected 'constant', 'reflect', 'replicate' or 'circular'`);
    }
    return wrap(callOp('aten::pad', this.handle, padding, mode, null));
  }

  // ---- linear algebra --------------------------------------------------------------------
  /** Matrix product with broadcasting (as torch.matmul). */
  matmul(other: Tensor): Tensor {
    return wrap(callOp('aten::matmul', this.handle, other.handle));
  }
  /** 2-D matrix product. */
  mm(other: Tensor): Tensor {
    return wrap(callOp('aten::mm', this.handle, other.handle));
  }
  /** Batched matrix product of [B,n,m] x [B,m,p]. */
  bmm(other: Tensor): Tensor {
    return wrap(callOp('aten::bmm', this.handle, other.handle));
  }
  /** Dot product of two 1-D tensors. */
  dot(other: Tensor): Tensor {
    return wrap(callOp('aten::dot', this.handle, other.handle));
  }
  /** Outer product of two vectors. */
  outer(other: Tensor): Tensor {
    return wrap(callOp('aten::outer', this.handle, other.handle));
  }
}

function cmp(name: string, a: Tensor, b: TensorLike): Tensor {
  return typeof b === 'number' ? wrap(callOp(`aten::${name}.Scalar`, a.handle, b)) : wrap(callOp(`aten::${name}.Tensor`, a.handle, b.handle));
}

function dims(d: Dims): number[] {
  return typeof d === 'number' ? [d] : d;
}

function flatShape(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

// ---- free functions over several tensors --------------------------------------------------

/** Concatenates along dim (default 0). */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return wrap(callOp('aten::cat', tensors.map(h), dim));
}
/** Stacks along a new dim (default 0). */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return wrap(callOp('aten::stack', tensors.map(h), dim));
}
/** Elementwise choice: a where cond is true, else b. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === 'number' && typeof b === 'number') {
    return wrap(callOp('aten::where.Scalar', cond.handle, a, b));
  }
  if (typeof a === 'number') return wrap(callOp('aten::where.ScalarSelf', cond.handle, a, (b as Tensor).handle));
  if (typeof b === 'number') return wrap(callOp('aten::where.ScalarOther', cond.handle, a.handle, b));
  return wrap(callOp('aten::where.self', cond.handle, a.handle, b.handle));
}
/** Elementwise maximum. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return a.maximum(b);
}
/** Elementwise minimum. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return a.minimum(b);
}
