/**
 * The optimiser base class (torch.optim.Optimizer): parameter groups with their own
 * hyperparameters, per-parameter state, zeroGrad, a step that runs without autograd and frees
 * every temporary, and a state dict for checkpoints.
 */
import { Tensor } from '../core/tensor.js';
import { noGrad } from '../core/autograd.js';
import { tidy, keep } from '../core/scope.js';
import { tensor, zerosLike } from '../core/creation.js';
import { AnogenError } from '../core/errors.js';
import { clearGrads } from '../nn/module.js';

/** `defaults` overridden by the entries of `opts` that are not undefined. */
export function withDefaults<H extends object>(defaults: H, opts: Partial<H> | undefined): H {
  const out = { ...defaults };
  for (const [k, v] of Object.entries(opts ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Hyperparameters shared by every optimiser. */
export interface BaseHyper {
  /** Learning rate. */
  lr: number;
}

/** A parameter group as given by the user: its tensors and optional hyperparameter overrides. */
export type ParamGroupInput<H> = { params: Tensor[] } & Partial<H>;

/** A parameter group: its tensors, its hyperparameters and the learning rate schedulers started from. */
export type ParamGroup<H> = { params: Tensor[]; initialLr?: number } & H;

/** Per-parameter optimiser state: the step count and named state tensors. */
export interface ParamState {
  step: number;
  tensors: Record<string, Tensor>;
}

/** A serialisable optimiser state: tensors under `state.<param index>.<name>` plus the groups' hyperparameters. */
export interface OptimizerStateDict {
  state: Map<string, Tensor>;
  paramGroups: Record<string, unknown>[];
}

export abstract class Optimizer<H extends BaseHyper> {
  readonly paramGroups: ParamGroup<H>[] = [];
  /** State per parameter tensor. */
  readonly state = new Map<Tensor, ParamState>();
  protected readonly name: string;

  constructor(name: string, params: Tensor[] | ParamGroupInput<H>[], defaults: H) {
    this.name = name;
    if (!Array.isArray(params) || params.length === 0) {
      throw new AnogenError(`${name}: params must be a non-empty array of tensors or of parameter groups`);
    }
    const groups: ParamGroupInput<H>[] = params[0] instanceof Tensor ? [{ params: params as Tensor[] } as ParamGroupInput<H>] : (params as ParamGroupInput<H>[]);
    const seen = new Set<Tensor>();
    for (const g of groups) {
      if (!g || !Array.isArray(g.params)) throw new AnogenError(`${name}: a parameter group needs a 'params' array`);
      for (const p of g.params) {
        if (!(p instanceof Tensor)) throw new AnogenError(`${name}: params must be Tensors`);
        if (seen.has(p)) throw new AnogenError(`${name}: a parameter appears in more than one group`);
        seen.add(p);
      }
      const group = { ...withDefaults(defaults, g as Partial<H>), params: [...g.params] } as ParamGroup<H>;
      this.validate(group);
      this.paramGroups.push(group);
    }
  }

  /** Throws an AnogenError naming the option when a hyperparameter is out of range. */
  protected abstract validate(group: ParamGroup<H>): void;

  /** Updates one parameter from its gradient (inside noGrad and tidy). */
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<H>): void;

  protected checkRange(option: string, v: unknown, lo: number, hi = Infinity, hiOpen = false): void {
    const ok = typeof v === 'number' && Number.isFinite(v) && v >= lo && (hiOpen ? v < hi : v <= hi);
    if (!ok) {
      const range = hi === Infinity ? `>= ${lo}` : `in [${lo}, ${hi}${hiOpen ? ')' : ']'}`;
      throw new AnogenError(`${this.name}: ${option} must be a number ${range}, got ${JSON.stringify(v)}`);
    }
  }

  /** A zero state tensor shaped like p, kept alive across tidy scopes. */
  protected zerosState(p: Tensor): Tensor {
    return keep(zerosLike(p));
  }

  /** The state of p, created on first use. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = { step: 0, tensors: {} };
      this.state.set(p, s);
    }
    return s;
  }

  /** One optimisation step over every parameter that has a gradient. */
  step(): void {
    noGrad(() =>
      tidy(() => {
        for (const group of this.paramGroups) {
          for (const p of group.params) {
            const g = p.grad;
            if (g === null) continue;
            this.update(p, g, this.stateOf(p), group);
          }
        }
      }),
    );
  }

  /** Clears the gradients of every parameter: null (setToNone default true) or zero. */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) clearGrads(group.params, setToNone);
  }

  /** All parameters of all groups, in order. */
  allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /**
   * The optimiser state as tensors (copies) named `state.<index>.<name>` (index over all groups'
   * parameters in order; `step` as a float32 scalar, as PyTorch), and the groups' hyperparameters.
   */
  stateDict(): OptimizerStateDict {
    const state = new Map<string, Tensor>();
    this.allParams().forEach((p, i) => {
      const s = this.state.get(p);
      if (s === undefined) return;
      state.set(`state.${i}.step`, tensor(s.step));
      for (const [k, t] of Object.entries(s.tensors)) state.set(`state.${i}.${k}`, t.clone());
    });
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...rest } = g;
      return { ...rest, params: params.map((p) => this.allParams().indexOf(p)) };
    });
    return { state, paramGroups };
  }

  /** Restores a state from {@link stateDict} (same parameters, same order). */
  loadStateDict(sd: OptimizerStateDict): void {
    const params = this.allParams();
    if (!Array.isArray(sd.paramGroups) || sd.paramGroups.length !== this.paramGroups.length) {
      throw new AnogenError(`${this.name}.loadStateDict: expected ${this.paramGroups.length} parameter groups, got ${sd.paramGroups?.length}`);
    }
    sd.paramGroups.forEach((g, i) => {
      const own = this.paramGroups[i]!;
      if (!Array.isArray(g.params) || g.params.length !== own.params.length) {
        throw new AnogenError(`${this.name}.loadStateDict: group ${i} has ${own.params.length} parameters, the state dict ${(g.params as unknown[])?.length}`);
      }
    });
    const parsed = new Map<number, ParamState>();
    for (const [key, t] of sd.state) {
      const m = /^state\.(\d+)\.(.+)$/.exec(key);
      if (m === null) throw new AnogenError(`${this.name}.loadStateDict: unexpected key '${key}'`);
      const i = Number(m[1]);
      const p = params[i];
      if (p === undefined) throw new AnogenError(`${this.name}.loadStateDict: key '${key}' names parameter ${i}, but there are ${params.length}`);
      let s = parsed.get(i);
      if (s === undefined) {
        s = { step: 0, tensors: {} };
        parsed.set(i, s);
      }
      if (m[2] === 'step') s.step = t.item();
      else {
        if (t.shape.join() !== p.shape.join()) {
          throw new AnogenError(`${this.name}.loadStateDict: '${key}' has shape [${t.shape.join(', ')}], parameter ${i} [${p.shape.join(', ')}]`);
        }
        s.tensors[m[2]!] = t;
      }
    }
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
    for (const [i, s] of parsed) {
      const p = params[i]!;
      const tensors: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(s.tensors)) {
        // a copy on the parameter's device and dtype (the intermediate of .to() is freed at once)
        tensors[k] = keep(noGrad(() => tidy(() => t.to({ device: p.device as never, dtype: p.dtype }).clone())));
      }
      this.state.set(p, { step: s.step, tensors });
    }
    sd.paramGroups.forEach((g, i) => {
      const { params: _p, ...rest } = g;
      Object.assign(this.paramGroups[i]!, rest);
    });
  }

  /** Frees the state tensors. */
  dispose(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
  }
}
