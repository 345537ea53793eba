/**
 * Module: the base of every network, modelled on PyTorch's torch.nn.Module.
 *
 * Parameters, buffers and child modules are registered explicitly
 * ({@link Module.registerParameter}, {@link Module.registerBuffer}, {@link Module.registerModule});
 * their registration order gives the order of {@link Module.parameters} and the dotted names of
 * {@link Module.namedParameters} and {@link Module.stateDict} (`main.0.weight`), exactly as
 * PyTorch names them, so PyTorch state dicts load 1:1.
 *
 * Parameters and buffers are kept out of every tidy() scope (they live until
 * {@link Module.dispose}), and parameters require gradients.
 */
import { Tensor, checkDevice, type Device } from '../core/tensor.js';
import { keep } from '../core/scope.js';
import { noGrad } from '../core/autograd.js';
import { callOp } from '../core/ops.js';
import { AnogenError } from '../core/errors.js';
import { checkDType, isFloating, SCALAR_TYPE, type DType } from '../core/dtype.js';

/** A state dict: dotted names -> tensors, in PyTorch's order. */
export type StateDict = Map<string, Tensor>;

/** Result of {@link Module.loadStateDict}. */
export interface LoadResult {
  /** Names the module has but the state dict lacks (only reported when strict is false). */
  missingKeys: string[];
  /** Names the state dict has but the module lacks (only reported when strict is false). */
  unexpectedKeys: string[];
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadOptions {
  /** Require exactly the module's names (default true, as PyTorch). Shapes are always checked. */
  strict?: boolean;
  /** Where the state dict came from (a file name), for error messages (default 'state dict'). */
  source?: string;
}

function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.includes('.')) {
    throw new AnogenError(`${kind} name ${JSON.stringify(name)} is not valid: it must be a non-empty string without '.'`);
  }
}

/** Lossless widenings {@link Module.loadStateDict} performs: stored dtype -> the dtypes it may load into. */
const WIDENS_TO: Partial<Record<DType, readonly DType[]>> = {
  float16: ['float32', 'float64'],
  float32: ['float64'],
  uint8: ['int16', 'int32', 'int64'],
  int8: ['int16', 'int32', 'int64'],
  int16: ['int32', 'int64'],
  int32: ['int64'],
};

/**
 * Why a tensor stored as `stored` may not be loaded into a parameter/buffer of dtype `own`,
 * or null when it may: the same dtype, or a lossless widening (float16 -> float32/float64,
 * float32 -> float64, a narrower integer -> a wider integer). Integers into floating-point
 * parameters (or back), bool into anything else, and every narrowing (float64 -> float32
 * included) are refused: copying them would silently change or reinterpret the weights.
 */
export function loadDtypeProblem(stored: DType, own: DType): string | null {
  if (stored === own || WIDENS_TO[stored]?.includes(own)) return null;
  const kind = (d: DType) => (d === 'bool' ? 'boolean' : isFloating(d) ? 'floating-point' : 'integer');
  const article = (k: string) => (k === 'integer' ? 'an' : 'a');
  if (kind(stored) !== kind(own)) return `${kind(stored)} values cannot be loaded into ${article(kind(own))} ${kind(own)} tensor`;
  return `${stored} -> ${own} would lose precision or range`;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Clears the gradients of `params`: sets them to null (setToNone, default true) or zeroes
 * them in place. Shared by Module.zeroGrad and Optimizer.zeroGrad.
 */
export function clearGrads(params: Iterable<Tensor>, setToNone = true): void {
  for (const p of params) {
    if (setToNone) {
      p.grad = null;
    } else {
      const g = p.grad;
      if (g !== null) {
        noGrad(() => g.zero_());
        g.dispose();
      }
    }
  }
}

/**
 * The base class of networks and layers. `In` is the argument list of forward, `Out` its result.
 * Subclasses register their parameters/buffers/children in the constructor, implement
 * {@link forward}, and put their initialisation in {@link resetParameters}.
 */
export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Training mode (true) or evaluation mode (false); set with train()/eval(). Default true. */
  training = true;
  /** @internal */ protected readonly _parameters = new Map<string, Tensor | null>();
  /** @internal */ protected readonly _buffers = new Map<string, Tensor | null>();
  /** @internal */ protected readonly _nonPersistent = new Set<string>();
  /** @internal */ protected readonly _modules = new Map<string, Module<any, any>>();

  /** The computation. Call modules through {@link call}. */
  abstract forward(...args: In): Out;

  /** Runs forward (PyTorch's `module(x)`). */
  call(...args: In): Out {
    return this.forward(...args);
  }

  /** (Re-)initialises this module's own parameters and buffers. The default does nothing. */
  resetParameters(): void {}

  /** A short name for printing (the class name). */
  get typeName(): string {
    return this.constructor.name;
  }

  // ---- registration --------------------------------------------------------------------------

  private checkFree(kind: string, name: string, except: Map<string, unknown>): void {
    checkName(kind, name);
    for (const m of [this._parameters, this._buffers, this._modules] as Map<string, unknown>[]) {
      if (m !== except && m.has(name)) {
        throw new AnogenError(`${this.typeName}: cannot register ${kind} '${name}': the name is already used`);
      }
    }
  }

  /**
   * Registers a parameter (or null for an absent optional one, such as a disabled bias).
   * Floating-point parameters get requiresGrad = true; all are exempted from tidy(). Returns it.
   */
  registerParameter<T extends Tensor | null>(name: string, param: T): T {
    this.checkFree('parameter', name, this._parameters);
    if (param !== null) {
      if (param.requiresGrad && !param.isLeaf) {
        throw new AnogenError(`${this.typeName}: parameter '${name}' must be a leaf tensor (the result of an operation is not; use detach())`);
      }
      keep(param);
      if (isFloating(param.dtype) && !param.requiresGrad) param.requiresGrad = true;
    }
    this._parameters.set(name, param);
    return param;
  }

  /**
   * Registers a buffer: state that is not trained but saved (unless persistent is false,
   * default true), such as batch norm's running statistics. Returns it.
   */
  registerBuffer<T extends Tensor | null>(name: string, buffer: T, opts: { persistent?: boolean } = {}): T {
    this.checkFree('buffer', name, this._buffers);
    if (buffer !== null) keep(buffer);
    this._buffers.set(name, buffer);
    if (opts.persistent === false) this._nonPersistent.add(name);
    else this._nonPersistent.delete(name);
    return buffer;
  }

  /** Registers a child module (PyTorch's add_module / register_module). Returns it. */
  registerModule<M extends Module<any, any>>(name: string, module: M): M {
    this.checkFree('module', name, this._modules);
    if (!(module instanceof Module)) throw new AnogenError(`${this.typeName}.registerModule('${name}'): not a Module`);
    this._modules.set(name, module);
    return module;
  }

  /** PyTorch's add_module: same as {@link registerModule}. */
  addModule<M extends Module<any, any>>(name: string, module: M): M {
    return this.registerModule(name, module);
  }

  /** This module's own parameter `name` (throws when absent or null). */
  param(name: string): Tensor {
    const p = this._parameters.get(name);
    if (p === undefined || p === null) throw new AnogenError(`${this.typeName} has no parameter '${name}'`);
    return p;
  }
  /** This module's own parameter `name`, or null when registered as null. */
  paramOrNull(name: string): Tensor | null {
    const p = this._parameters.get(name);
    if (p === undefined) throw new AnogenError(`${this.typeName} has no parameter '${name}'`);
    return p;
  }
  /** This module's own buffer `name` (throws when absent or null). */
  buffer(name: string): Tensor {
    const b = this._buffers.get(name);
    if (b === undefined || b === null) throw new AnogenError(`${this.typeName} has no buffer '${name}'`);
    return b;
  }
  /** This module's own buffer `name`, or null when registered as null. */
  bufferOrNull(name: string): Tensor | null {
    const b = this._buffers.get(name);
    if (b === undefined) throw new AnogenError(`${this.typeName} has no buffer '${name}'`);
    return b;
  }
  /** The direct child `name` (throws when absent). */
  child(name: string): Module<any, any> {
    const m = this._modules.get(name);
    if (m === undefined) {
      throw new AnogenError(`${this.typeName} has no child module '${name}'; children: ${[...this._modules.keys()].join(', ') || 'none'}`);
    }
    return m;
  }

  // ---- traversal -----------------------------------------------------------------------------

  /** Direct children with their names, in registration order. */
  *namedChildren(): Generator<[string, Module<any, any>]> {
    yield* this._modules.entries();
  }
  /** Direct children, in registration order. */
  *children(): Generator<Module<any, any>> {
    yield* this._modules.values();
  }
  /** This module and every descendant (pre-order), with dotted names ('' for this one); each once. */
  *namedModules(prefix = '', seen: Set<Module<any, any>> = new Set()): Generator<[string, Module<any, any>]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, m] of this._modules) {
      yield* m.namedModules(prefix === '' ? name : `${prefix}.${name}`, seen);
    }
  }
  /** This module and every descendant (pre-order). */
  *modules(): Generator<Module<any, any>> {
    for (const [, m] of this.namedModules()) yield m;
  }
  /** Every parameter with its dotted name (`main.0.weight`), each tensor once, in PyTorch's order. */
  *namedParameters(): Generator<[string, Tensor]> {
    yield* this.namedTensors((m) => m._parameters);
  }
  /** Every parameter (each once), in PyTorch's order. */
  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }
  /** Every buffer with its dotted name (non-persistent ones too), each once. */
  *namedBuffers(): Generator<[string, Tensor]> {
    yield* this.namedTensors((m) => m._buffers);
  }
  /** The tensors of one registry (parameters or buffers) of every module, dotted names, each once. */
  private *namedTensors(registry: (m: Module<any, any>) => Map<string, Tensor | null>): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of registry(m)) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        yield [prefix === '' ? name : `${prefix}.${name}`, t];
      }
    }
  }
  /** Every buffer (each once). */
  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }
  /** Total number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.numel, 0);
  }

  /** Calls fn on every descendant and then on this module (post-order, as PyTorch's apply). Returns this. */
  apply(fn: (m: Module<any, any>) => void): this {
    for (const m of this._modules.values()) m.apply(fn);
    fn(this);
    return this;
  }

  // ---- modes and devices -------------------------------------------------------------------------

  /** Sets training mode (default true) on this module and every descendant. Returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this._modules.values()) m.train(mode);
    return this;
  }
  /** Evaluation mode: train(false). Returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter and buffer to a device ('cpu', 'cuda', 'cuda:N') and/or converts the
   * floating-point ones to a floating-point dtype, as PyTorch's `module.to(device)`,
   * `module.to(dtype)` and `module.to({ device, dtype })` (integer tensors such as
   * `num_batches_tracked` keep their dtype). The Tensor objects are kept: each one's native
   * tensor is swapped (PyTorch's `param.data = ...`), with `requiresGrad` and the gradient
   * (moved too) carried over, so an optimiser built before the move keeps updating the
   * module's parameters. Optimiser state already created (e.g. Adam's moments after a step)
   * stays where it was: as in PyTorch, move the module before training. Asking for CUDA without
   * it, or a non-floating dtype, throws an AnogenError. Returns this.
   */
  to(target: Device | DType | { device?: Device; dtype?: DType }): this {
    let device: Device | undefined;
    let dtype: DType | undefined;
    if (typeof target === 'string' && Object.hasOwn(SCALAR_TYPE, target)) dtype = target as DType;
    else if (typeof target === 'string') device = target as Device;
    else if (target !== null && typeof target === 'object') ({ device, dtype } = target);
    else throw new AnogenError(`Module.to(): expected a device, a dtype or { device, dtype }, got ${String(target)}`);
    if (device !== undefined) checkDevice(device, 'Module.to()');
    if (dtype !== undefined && !isFloating(checkDType(dtype))) {
      throw new AnogenError(`Module.to(): dtype must be floating-point (float16, float32, float64), got ${dtype}`);
    }
    noGrad(() => {
      for (const m of this.modules()) {
        for (const map of [m._parameters, m._buffers]) {
          for (const t of map.values()) {
            if (t === null) continue;
            const toDType = dtype !== undefined && isFloating(t.dtype) && t.dtype !== dtype ? dtype : undefined;
            const toDevice = device !== undefined && !sameDevice(t.device, device) ? device : undefined;
            if (toDType === undefined && toDevice === undefined) continue; // shared tensors: moved once
            const code = SCALAR_TYPE[toDType ?? t.dtype];
            const convert = (x: Tensor) => (toDevice === undefined ? callOp('aten::to.dtype', x.handle, code) : callOp('aten::to.device', x.handle, toDevice, code));
            const grad = t.grad;
            const requiresGrad = t.requiresGrad;
            t._replaceHandle(convert(t));
            if (requiresGrad) t.requiresGrad = true;
            if (grad !== null) {
              const g = new Tensor(convert(grad));
              try {
                t.grad = g;
              } finally {
                g.dispose();
                grad.dispose();
              }
            }
          }
        }
      }
    });
    return this;
  }

  /** Clears the gradients of every parameter: sets them to null (setToNone default true) or zeroes them. */
  zeroGrad(setToNone = true): void {
    clearGrads(this.parameters(), setToNone);
  }

  // ---- state dicts -----------------------------------------------------------------------------

  /** @internal the persistent entries (params then buffers, recursively) as the module's own tensors. */
  private *stateEntries(prefix = ''): Generator<[string, Tensor]> {
    const pre = prefix === '' ? '' : `${prefix}.`;
    for (const [name, p] of this._parameters) if (p !== null) yield [pre + name, p];
    for (const [name, b] of this._buffers) if (b !== null && !this._nonPersistent.has(name)) yield [pre + name, b];
    for (const [name, m] of this._modules) yield* m.stateEntries(pre + name);
  }

  /**
   * The state dict: every parameter and persistent buffer under its dotted name, in PyTorch's
   * order (a module's parameters, then its buffers, then its children; a module shared by two
   * parents appears under both names, as in PyTorch). The values are detached
   * tensors sharing memory with the module's (new Tensor objects the caller may dispose).
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [name, t] of this.stateEntries()) out.set(name, t.detach());
    return out;
  }

  /** The names stateDict() would return, without creating any tensor. */
  stateDictKeys(): string[] {
    return [...this.stateEntries()].map(([n]) => n);
  }

  /**
   * Copies `stateDict` (a Map or a record of name -> tensor) into this module's parameters and
   * buffers in place. Everything is checked before anything is copied: with strict (default
   * true) the names must match exactly; the shapes must always match, and so must the dtypes,
   * except for lossless widenings (float16 -> float32, int32 -> int64: see
   * {@link loadDtypeProblem}), which are converted. Otherwise an AnogenError lists the missing
   * and unexpected names, the mismatched shapes and the mismatched dtypes (tensor, stored and
   * expected dtype); nothing is copied.
   */
  loadStateDict(stateDict: Map<string, Tensor> | Record<string, Tensor>, opts: LoadOptions = {}): LoadResult {
    const strict = opts.strict ?? true;
    const source = opts.source ?? 'state dict';
    const given = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const own = new Map(this.stateEntries());
    const missing = [...own.keys()].filter((k) => !given.has(k));
    const unexpected = [...given.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    const badDtype: string[] = [];
    for (const [k, t] of own) {
      const g = given.get(k);
      if (g === undefined) continue;
      if (!(g instanceof Tensor)) {
        mismatched.push(`${k}: not a Tensor`);
      } else {
        if (!sameShape(g.shape, t.shape)) {
          mismatched.push(`${k}: shape [${g.shape.join(', ')}] in ${source}, [${t.shape.join(', ')}] in the module`);
        }
        const why = loadDtypeProblem(g.dtype, t.dtype);
        if (why !== null) badDtype.push(`tensor '${k}' is ${g.dtype} in ${source} but ${t.dtype} in the module (${why})`);
      }
    }
    const problems: string[] = [];
    if (strict && missing.length > 0) problems.push(`missing keys: ${missing.join(', ')}`);
    if (strict && unexpected.length > 0) problems.push(`unexpected keys: ${unexpected.join(', ')}`);
    if (mismatched.length > 0) problems.push(`size mismatch: ${mismatched.join('; ')}`);
    if (badDtype.length > 0) {
      problems.push(`dtype mismatch: ${badDtype.join('; ')}; expected the same dtype or a lossless widening (float16 -> float32, int32 -> int64)`);
    }
    if (problems.length > 0) {
      throw new AnogenError(`Error loading ${source} into ${this.typeName}: ${problems.join('. ')}`);
    }
    noGrad(() => {
      for (const [k, t] of own) {
        const g = given.get(k);
        if (g !== undefined) t.copy_(g);
      }
    });
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  /** Frees every parameter and buffer of this module and its descendants. The module is unusable afterwards. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const t of m._parameters.values()) t?.dispose();
      for (const t of m._buffers.values()) t?.dispose();
    }
  }

  /** A PyTorch-like printout of the module tree. */
  toString(): string {
    const extra = this.extraRepr();
    if (this._modules.size === 0) return `${this.typeName}(${extra})`;
    const lines = [`${this.typeName}(${extra}`];
    for (const [name, m] of this._modules) {
      const sub = m.toString().split('\n').join('\n  ');
      lines.push(`  (${name}): ${sub}`);
    }
    lines.push(')');
    return lines.join('\n');
  }
  /** The arguments shown by toString() (override in layers). */
  extraRepr(): string {
    return '';
  }
}

function sameDevice(actual: string, wanted: string): boolean {
  if (actual === wanted) return true;
  if (wanted === 'cuda' && actual === 'cuda:0') return true;
  return false;
}

/**
 * Loads `sd` into `net` strictly, as a model's weights: a name missing or unexpected is an
 * AnogenError naming the model, its architecture (`hparams`, e.g. "ngf 64, nz 100") and the
 * first few names of each kind; shapes and dtypes are then checked by
 * {@link Module.loadStateDict}. Used by every detector and generator's `loadStateDict`.
 */
export function loadModelWeights(net: Module, sd: Map<string, Tensor>, name: string, hparams: object): void {
  const own = net.stateDictKeys();
  const ownSet = new Set(own);
  const missing = own.filter((k) => !sd.has(k));
  const unexpected = [...sd.keys()].filter((k) => !ownSet.has(k));
  if (missing.length > 0 || unexpected.length > 0) {
    const few = (a: string[]) => `${a.slice(0, 3).join(', ')}${a.length > 3 ? ', ...' : ''}`;
    const arch = Object.entries(hparams as Record<string, unknown>)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
    throw new AnogenError(
      `${name} weights do not match the architecture (${arch}): ${missing.length} missing (${few(missing)}), ${unexpected.length} unexpected (${few(unexpected)})`,
    );
  }
  net.loadStateDict(sd, { source: `${name} weights` });
}
