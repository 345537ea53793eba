/** Containers: Sequential and ModuleList, with children named '0', '1', ... as in PyTorch. */
import type { Tensor } from '../../core/tensor.js';
import { tidy } from '../../core/scope.js';
import { AnogenError } from '../../core/errors.js';
import { Module } from '../module.js';

/** A module mapping one tensor to one tensor (what Sequential chains). */
export type TensorModule = Module<[Tensor], Tensor>;

/**
 * Runs its children in order, each on the previous one's output (torch.nn.Sequential).
 * `new Sequential(a, b)` names them '0', '1'; {@link addModule} appends under a chosen name
 * (as the DCGAN reference code does). Intermediate results are freed as it goes.
 */
export class Sequential extends Module {
  constructor(...modules: TensorModule[]) {
    super();
    modules.forEach((m, i) => this.registerModule(String(i), m));
  }
  /** Appends a module under the next index. Returns this. */
  append(m: TensorModule): this {
    this.registerModule(String(this._modules.size), m);
    return this;
  }
  /** Number of children. */
  get length(): number {
    return this._modules.size;
  }
  /** The i-th child (negative counts from the end). */
  at(i: number): TensorModule {
    const all = [...this._modules.values()];
    const k = i < 0 ? i + all.length : i;
    if (!Number.isInteger(k) || k < 0 || k >= all.length) throw new AnogenError(`Sequential: index ${i} out of range (length ${all.length})`);
    return all[k] as TensorModule;
  }
  /** The children in order. */
  [Symbol.iterator](): Iterator<TensorModule> {
    return this._modules.values() as Iterator<TensorModule>;
  }
  forward(x: Tensor): Tensor {
    let cur = x;
    for (const m of this._modules.values()) {
      const prev = cur;
      cur = tidy(() => (m as TensorModule).call(prev));
      if (prev !== x && prev !== cur) prev.dispose();
    }
    return cur;
  }
}

/** A list of modules registered as children '0', '1', ... (torch.nn.ModuleList); no forward of its own. */
export class ModuleList<M extends Module<any, any> = Module<any, any>> extends Module<never[], never> {
  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }
  append(m: M): this {
    this.registerModule(String(this._modules.size), m);
    return this;
  }
  get length(): number {
    return this._modules.size;
  }
  at(i: number): M {
    const all = [...this._modules.values()];
    const k = i < 0 ? i + all.length : i;
    if (!Number.isInteger(k) || k < 0 || k >= all.length) throw new AnogenError(`ModuleList: index ${i} out of range (length ${all.length})`);
    return all[k] as M;
  }
  [Symbol.iterator](): Iterator<M> {
    return this._modules.values() as Iterator<M>;
  }
  forward(): never {
    throw new AnogenError('ModuleList has no forward: iterate over it and call its modules');
  }
}
