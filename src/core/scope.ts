/**
 * Memory scopes. Native tensors are freed by `dispose()`, by leaving a {@link tidy} scope,
 * or (safety net only) by the garbage collector's finalizer.
 */
import { AnogenError } from './errors.js';

/** Anything a scope can free. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  /** @internal set by keep() */
  kept: boolean;
}

const scopes: Set<Disposable>[] = [];

/** @internal Called by every new Tensor: records it in the innermost tidy scope. */
export function track(t: Disposable): void {
  const s = scopes[scopes.length - 1];
  if (s !== undefined) s.add(t);
}

function collect(value: unknown, out: Set<unknown>, seen: Set<unknown>, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 8 || seen.has(value)) return;
  seen.add(value);
  if ('dispose' in (value as object) && 'kept' in (value as object)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, seen, depth + 1);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, seen, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value as object)) collect(v, out, seen, depth + 1);
  }
}

/**
 * Runs `fn` and frees every tensor created inside it, except those it returns (directly,
 * or inside arrays, Maps and plain objects) and those passed to {@link keep}. Returned
 * tensors move to the enclosing scope. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) if (!t.kept) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new AnogenError('tidy(fn): fn returned a Promise; tidy scopes are synchronous (await outside of tidy)');
  }
  const keepSet = new Set<unknown>();
  collect(result, keepSet, new Set(), 0);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (t.kept) continue;
    if (keepSet.has(t)) {
      if (parent !== undefined) parent.add(t);
    } else {
      t.dispose();
    }
  }
  return result;
}

/** Exempts `t` from every tidy scope: it lives until disposed explicitly. Returns `t`. */
export function keep<T extends Disposable>(t: T): T {
  t.kept = true;
  for (const s of scopes) s.delete(t);
  return t;
}

/** Disposes every tensor found in `value` (a tensor, array, Map or plain object of them). */
export function dispose(value: unknown): void {
  const found = new Set<unknown>();
  collect(value, found, new Set(), 0);
  for (const t of found) (t as Disposable).dispose();
}
