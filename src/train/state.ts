/**
 * A {@link LoopState} as files: `train-state.json` (position, history, settings, torch's
 * generator state in base64, the optimisers' hyperparameters) and `train-state.safetensors`
 * (every optimiser state tensor as `<optimiser>.state.<param index>.<name>`). Checkpoint
 * bundles carry both, so `anogen train --resume <checkpoint>` continues exactly.
 */
import { AnogenError } from '../core/errors.js';
import { deserializeSafetensors, serializeSafetensors } from '../nn/safetensors.js';
import type { Tensor } from '../core/tensor.js';
import type { LoopState } from './loop.js';

/** File names of a serialised loop state inside a bundle. */
export const TRAIN_STATE_JSON = 'train-state.json';
export const TRAIN_STATE_TENSORS = 'train-state.safetensors';

/** Version of train-state.json. */
export const TRAIN_STATE_VERSION = 1;

/** Serialises a loop state (and what the caller adds under `extra`, e.g. the training request). */
export function serializeLoopState(s: LoopState, extra: Record<string, unknown> = {}): Record<string, Uint8Array | string> {
  const tensors = new Map<string, Tensor>();
  const groups: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(s.optimizers)) {
    for (const [k, t] of o.state) tensors.set(`${name}.${k}`, t);
    groups[name] = o.paramGroups;
  }
  const json = {
    version: TRAIN_STATE_VERSION,
    epoch: s.epoch,
    step: s.step,
    globalStep: s.globalStep,
    seen: s.seen,
    seconds: s.seconds,
    settings: s.settings,
    rngState: Buffer.from(s.rngState).toString('base64'),
    optimizers: groups,
    history: s.history,
    ...extra,
  };
  return { [TRAIN_STATE_JSON]: `${JSON.stringify(json)}\n`, [TRAIN_STATE_TENSORS]: serializeSafetensors(tensors, { anogen: 'train-state' }) };
}

/** Parsed train-state.json (the loop state with its tensors) and the caller's extra fields. */
export interface ParsedLoopState {
  state: LoopState;
  extra: Record<string, unknown>;
}

/**
 * Reads a loop state from the two files' contents (`where` names the checkpoint in errors).
 * The caller disposes the state's tensors ({@link disposeLoopState}).
 */
export function parseLoopState(json: string | Uint8Array, tensorBytes: Uint8Array, where: string): ParsedLoopState {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(typeof json === 'string' ? json : Buffer.from(json).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new AnogenError(`${where}/${TRAIN_STATE_JSON}: not valid JSON (${(e as Error).message})`);
  }
  if (j === null || typeof j !== 'object' || j.version !== TRAIN_STATE_VERSION) {
    throw new AnogenError(`${where}/${TRAIN_STATE_JSON}: version ${JSON.stringify((j as { version?: unknown })?.version)} is not supported (expected ${TRAIN_STATE_VERSION})`);
  }
  const int = (k: string): number => {
    const v = j[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new AnogenError(`${where}/${TRAIN_STATE_JSON}: "${k}" must be a non-negative integer`);
    return v;
  };
  const { tensors } = deserializeSafetensors(tensorBytes, `${where}/${TRAIN_STATE_TENSORS}`);
  const optimizers: LoopState['optimizers'] = {};
  const groups = (j.optimizers ?? {}) as Record<string, unknown>;
  for (const [name, pg] of Object.entries(groups)) {
    if (!Array.isArray(pg)) throw new AnogenError(`${where}/${TRAIN_STATE_JSON}: optimizers.${name} must be a list of parameter groups`);
    optimizers[name] = { state: new Map(), paramGroups: pg as never };
  }
  for (const [k, t] of tensors) {
    const dot = k.indexOf('.');
    const o = optimizers[k.slice(0, dot)];
    if (dot < 0 || o === undefined) {
      for (const x of tensors.values()) x.dispose();
      throw new AnogenError(`${where}/${TRAIN_STATE_TENSORS}: tensor '${k}' belongs to no optimiser of ${TRAIN_STATE_JSON}`);
    }
    o.state.set(k.slice(dot + 1), t);
  }
  const { version: _v, epoch: _e, step: _s, globalStep: _g, seen: _n, seconds: _sec, settings, rngState, optimizers: _o, history, ...extra } = j;
  const state: LoopState = {
    epoch: int('epoch'),
    step: int('step'),
    globalStep: int('globalStep'),
    seen: int('seen'),
    seconds: typeof j.seconds === 'number' ? j.seconds : 0,
    settings: settings as LoopState['settings'],
    rngState: new Uint8Array(Buffer.from(String(rngState ?? ''), 'base64')),
    optimizers,
    history: Array.isArray(history) ? (history as Record<string, number>[]) : [],
  };
  return { state, extra };
}
