/**
 * Calls ATen operators by name through the native dispatcher bridge. Operator ids are
 * resolved once and cached. `key` is `aten::name` or `aten::name.overload`.
 */
import { native, type Handle } from './native.js';

const ids = new Map<string, number>();

/** The native id of an operator, resolved (and cached) on first use. */
export function opId(key: string): number {
  let id = ids.get(key);
  if (id === undefined) {
    const dot = key.indexOf('.', key.indexOf('::') + 2);
    const name = dot < 0 ? key : key.slice(0, dot);
    const overload = dot < 0 ? '' : key.slice(dot + 1);
    id = native.opHandle(name, overload);
    ids.set(key, id);
  }
  return id;
}

/** True when this libtorch has the operator. */
export function hasOp(key: string): boolean {
  try {
    opId(key);
    return true;
  } catch {
    return false;
  }
}

/** The operator's schema as libtorch prints it (for docs and debugging). */
export function opSchema(key: string): string {
  return native.opSchema(opId(key));
}

/** Calls an operator with positional arguments (tensors as handles); returns raw results. */
export function callOp(key: string, ...args: unknown[]): any {
  return native.call(opId(key), ...args);
}

export type { Handle };
