/**
 * Deterministic freeing for those who want it; the garbage collector frees everything else
 * (native buffers report their size to V8, so it keeps pace).
 */
import { Tensor, type Storage } from './tensor.js';

const scopes: Set<Storage>[] = [];
const kept = new WeakSet<Storage>();

/** Called for every new storage, so an open tidy scope can free it later. */
export function track(storage: Storage): void {
  if (scopes.length) scopes[scopes.length - 1].add(storage);
}

/** Keeps t (and its storage) alive past the tidy scopes it was made in. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t.storage);
  return t;
}

/** Whether keep() was called on a tensor of this storage. */
export function isKept(s: Storage): boolean {
  return kept.has(s);
}

/**
 * Opens a scope the runtime itself manages (autograd's backward walk): storages made while it is
 * the innermost scope are listed in the returned set; nothing is freed automatically. Close it
 * with closeScope, which hands what the caller leaves in the set to the enclosing scope.
 */
export function openScope(): Set<Storage> {
  const scope = new Set<Storage>();
  scopes.push(scope);
  return scope;
}

/** Removes a scope opened by openScope without handing its storages anywhere: the caller does. */
export function popScope(scope: Set<Storage>): void {
  if (scopes[scopes.length - 1] === scope) scopes.pop();
  else {
    const idx = scopes.lastIndexOf(scope);
    if (idx >= 0) scopes.splice(idx, 1);
  }
}

export function closeScope(scope: Set<Storage>): void {
  const idx = scopes.lastIndexOf(scope);
  if (idx >= 0) scopes.splice(idx, 1);
  const parent = idx > 0 ? scopes[idx - 1] : undefined;
  if (parent) for (const s of scope) if (!s.freed) parent.add(s);
}

export function freeStorage(s: Storage): void {
  if (s.freed) return;
  s.freed = true;
  s.backend.free(s.buf);
}

/** Frees t's storage now (shared with its views); later use is an error. */
export function dispose(t: Tensor): void {
  freeStorage(t.storage);
}

function collect(value: unknown, out: Set<Storage>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    out.add(value.storage);
    if (value.grad) out.add(value.grad.storage);
    // the graph behind a returned tensor must stay usable for backward
    const stack = value._gradFn ? [value._gradFn] : [];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const s of n.savedTensors ?? []) out.add(s.tensor.storage);
      for (const m of n.next) if (m) stack.push(m);
    }
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, seen);
}

/**
 * Runs fn and frees every tensor made inside it except those it returns (with their graphs),
 * those passed to keep(), and leaf gradients. Async functions are freed when they settle.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Storage>();
  scopes.push(scope);
  const finish = (result: T): T => {
    const idx = scopes.lastIndexOf(scope);
    if (idx >= 0) scopes.splice(idx, 1);
    const live = new Set<Storage>();
    collect(result, live, new Set());
    const parent = scopes[scopes.length - 1];
    for (const s of scope) {
      if (live.has(s) || kept.has(s)) {
        parent?.add(s);
        continue;
      }
      freeStorage(s);
    }
    return result;
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    finish(undefined as T);
    throw e;
  }
  if (result instanceof Promise) return result.then(finish, (e) => {
    finish(undefined as T);
    throw e;
  }) as T;
  return finish(result);
}
