/**
 * The backward walk: gradients flow from the roots through the recorded nodes in reverse
 * topological order, summed where paths meet, into leaves' .grad (backward) or returned for
 * chosen inputs (autograd.grad).
 */
import { AccumulateGrad, type Node } from './node.js';
import { gradMode } from './mode.js';
import { flags } from '../flags.js';
import type { Storage, Tensor } from '../tensor.js';
import { add } from '../functional/elementwise.js';
import { onesLike } from '../functional/creation.js';
import { clone, detach } from '../functional/convert.js';
import { closeScope, freeStorage, isKept, keep, openScope, popScope } from '../memory.js';
import { hasObservers } from '../dispatch.js';

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

export interface GradOptions extends BackwardOptions {
  gradOutputs?: (Tensor | null)[];
  allowUnused?: boolean;
}

function rootGrads(roots: readonly Tensor[], grads: readonly (Tensor | null | undefined)[] | undefined): Tensor[] {
  return roots.map((r, i) => {
    if (!r._requiresGrad) {
      throw new Error(`element ${i} of tensors does not require grad and does not have a grad_fn`);
    }
    const g = grads?.[i];
    if (g) {
      if (g.shape.length !== r.shape.length || g.shape.some((s, k) => s !== r.shape[k])) {
        throw new RangeError(
          `backward: Mismatch in shape: grad_output[${i}] has a shape of [${g.shape.join(', ')}] and output[${i}] ` +
            `has a shape of [${r.shape.join(', ')}]`,
        );
      }
      return g;
    }
    if (r.numel() !== 1) {
      throw new Error(
        `backward: grad can be implicitly created only for scalar outputs (got a tensor of shape [${r.shape.join(', ')}]); ` +
          'pass a gradient of the same shape',
      );
    }
    return onesLike(r);
  });
}

/** Counts, for every node reachable from the roots, how many edges point at it. */
function dependencies(roots: readonly Node[]): Map<Node, number> {
  const deps = new Map<Node, number>();
  const stack: Node[] = [];
  for (const r of roots) {
    if (!deps.has(r)) {
      deps.set(r, 0);
      stack.push(r);
    }
  }
  while (stack.length) {
    const n = stack.pop()!;
    for (const m of n.next) {
      if (m === null) continue;
      const c = deps.get(m);
      if (c === undefined) {
        deps.set(m, 1);
        stack.push(m);
      } else deps.set(m, c + 1);
    }
  }
  return deps;
}

/**
 * Runs the graph backward. With `capture`, gradients reaching those nodes are returned instead of
 * accumulated, and no leaf's .grad changes (autograd.grad).
 *
 * Note [Gradient buffers]: the walk frees what it made as soon as nothing can see it any more, as
 * PyTorch's reference counts do: a rule's temporaries when the rule returns, a node's incoming
 * gradient once the node has used it. Freed memory goes back to the backend's pool and is the
 * next allocation of that size, still in cache; left to the garbage collector, every step would
 * write fresh, cold memory (measured: a [128, 256] elementwise op takes 2-4x as long). A gradient
 * is seen from outside when it becomes a leaf's .grad, a retained .grad, a captured result, or
 * passes through a hook; those are never freed. Nothing is freed when the walk records a graph
 * (createGraph) or while observers watch ops (a debugger may hold the tensors it showed).
 */
function run(
  roots: readonly Tensor[],
  grads: readonly Tensor[],
  opts: BackwardOptions,
  capture: Map<Node, number> | null,
): (Tensor | null)[] {
  const retain = opts.retainGraph ?? opts.createGraph ?? false;
  const createGraph = opts.createGraph ?? false;
  const rootNodes = roots.map((r) => r._gradEdge()!);
  const deps = dependencies(rootNodes);
  const buffers = new Map<Node, Tensor>();
  const captured: (Tensor | null)[] = capture ? new Array(capture.size).fill(null) : [];
  // See Note [Gradient buffers]: storages made during the walk, how many buffered gradients
  // share each, and those seen from outside.
  const made = openScope();
  const free = !createGraph && !hasObservers();
  const held = new Map<Storage, number>();
  const seen = new Set<Storage>();
  const hold = (t: Tensor) => held.set(t.storage, (held.get(t.storage) ?? 0) + 1);
  const drop = (t: Tensor) => {
    const s = t.storage;
    const n = (held.get(s) ?? 0) - 1;
    if (n > 0) return void held.set(s, n);
    held.delete(s);
    if (free && made.has(s) && !seen.has(s) && !isKept(s)) {
      made.delete(s);
      freeStorage(s);
    }
  };
  const accumulate = (n: Node, g: Tensor) => {
    hold(g);
    const prev = buffers.get(n);
    if (prev === undefined) return void buffers.set(n, g);
    const sum = add(prev, g);
    hold(sum);
    buffers.set(n, sum);
    drop(prev);
    drop(g);
  };
  rootNodes.forEach((n, i) => accumulate(n, grads[i]));
  const ready: Node[] = rootNodes.filter((n, i) => rootNodes.indexOf(n) === i && deps.get(n) === 0);
  const prevMode = gradMode.enabled;
  gradMode.enabled = createGraph;
  try {
    while (ready.length) {
      const node = ready.pop()!;
      const incoming = buffers.get(node)!;
      let g = incoming;
      buffers.delete(node);
      if (node.hooks) {
        seen.add(g.storage);
        for (const h of node.hooks) g = h(g) ?? g;
        seen.add(g.storage);
      }
      const kept = node.retainGradOf?.deref();
      if (kept && !capture) {
        kept.grad = createGraph ? g : detach(g);
        seen.add(g.storage);
      }
      const slot = capture?.get(node);
      if (slot !== undefined) {
        captured[slot] = g;
        seen.add(g.storage);
      }
      let ins: (Tensor | null)[] = [];
      if (node instanceof AccumulateGrad) {
        if (!capture) accumulateLeaf(node.variable, g, createGraph, (t) => (held.get(t.storage) ?? 0) <= 1 && made.has(t.storage) && !seen.has(t.storage) && !isKept(t.storage), seen);
      } else if (node.backwardFn) {
        const temps = free ? openScope() : null;
        node.gradOwned = free && g === incoming && (held.get(g.storage) ?? 0) === 1 && made.has(g.storage) && !seen.has(g.storage) && !isKept(g.storage) && g.isContiguous() && g.offset === 0;
        try {
          ins = node.backwardFn(g, node);
        } finally {
          node.gradOwned = false;
        }
        if (temps) {
          popScope(temps);
          // the rule's temporaries: free now, except what it returned
          for (const s of temps) {
            if (s.freed) continue;
            if (ins.some((t) => t !== null && t.storage === s) || isKept(s)) made.add(s);
            else freeStorage(s);
          }
        }
        if (flags.detectAnomaly) checkAnomaly(node, ins);
        if (!retain) node.release();
      }
      for (let i = 0; i < node.next.length; i++) {
        const m = node.next[i];
        if (m === null) continue;
        const gi = ins[i];
        if (gi) accumulate(m, gi);
        const left = deps.get(m)! - 1;
        deps.set(m, left);
        if (left === 0) {
          if (buffers.has(m)) ready.push(m);
          else skipBranch(m, deps);
        }
      }
      drop(incoming);
    }
    // what is left was never buffered (gradients for inputs that need none) or was seen outside
    if (free) for (const s of made) if (!held.has(s) && !seen.has(s) && !isKept(s)) freeStorage(s);
  } finally {
    gradMode.enabled = prevMode;
    closeScope(made);
  }
  return captured;
}

/** A node none of whose inputs produced a gradient: release its dependants' counts too. */
function skipBranch(node: Node, deps: Map<Node, number>): void {
  for (const m of node.next) {
    if (m === null) continue;
    const left = deps.get(m)! - 1;
    deps.set(m, left);
    if (left === 0) skipBranch(m, deps);
  }
}

/**
 * Adds an arriving gradient into leaf.grad. The first one becomes .grad itself only when nothing
 * else can see its memory (PyTorch's AccumulateGrad steals a gradient it holds the only
 * reference to); otherwise .grad is a copy, so that x.grad and y.grad of `x + y` never share
 * memory an in-place update of one would change in the other.
 */
function accumulateLeaf(
  leaf: Tensor,
  grad: Tensor,
  createGraph: boolean,
  ownedHere: (t: Tensor) => boolean,
  seen: Set<Storage>,
): void {
  let g = grad;
  if (leaf._leafHooks) {
    seen.add(g.storage);
    for (const h of leaf._leafHooks) g = h(g) ?? g;
    seen.add(g.storage);
  }
  if (g.dtype !== leaf.dtype) g = g.to(leaf.dtype);
  else if (!createGraph && leaf.grad === null && !ownedHere(g)) g = clone(g);
  if (leaf.grad === null) leaf.grad = keep(createGraph ? g : detach(g));
  else leaf.grad = keep(createGraph ? add(leaf.grad, g) : detach(add(leaf.grad, g)));
}

function checkAnomaly(node: Node, grads: (Tensor | null)[]): void {
  grads.forEach((g, i) => {
    if (g && g.ne(g).sum().item() > 0) {
      throw new Error(`Function '${node.name}' returned nan values in its ${i}th output.`);
    }
  });
}

export function backward(
  roots: readonly Tensor[],
  grads?: readonly (Tensor | null | undefined)[],
  opts: BackwardOptions = {},
): void {
  run(roots, rootGrads(roots, grads), opts, null);
}

export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  opts: GradOptions = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs as Tensor];
  const ins = Array.isArray(inputs) ? inputs : [inputs as Tensor];
  const capture = new Map<Node, number>();
  ins.forEach((t, i) => {
    const n = t._gradEdge();
    if (n === null) throw new Error(`autograd.grad: input ${i} does not require grad`);
    capture.set(n, i);
  });
  const result = run(outs, rootGrads(outs, opts.gradOutputs), opts, capture);
  result.forEach((g, i) => {
    if (g === null && !opts.allowUnused) {
      throw new Error(
        `autograd.grad: One of the differentiated Tensors (input ${i}) appears to not have been used in the graph. ` +
          'Set allowUnused: true if this is the desired behavior.',
      );
    }
  });
  return result.map((g, i) => (g && g.dtype !== ins[i].dtype ? g.to(ins[i].dtype) : g));
}

/** Runs fn with anomaly mode: every backward result is checked for NaN, naming the node. */
export function detectAnomaly<T>(fn: () => T): T {
  const prev = flags.detectAnomaly;
  flags.detectAnomaly = true;
  try {
    const r = fn();
    if (r instanceof Promise) return r.finally(() => (flags.detectAnomaly = prev)) as T;
    flags.detectAnomaly = prev;
    return r;
  } catch (e) {
    flags.detectAnomaly = prev;
    throw e;
  }
}
