/**
 * nn.Module and nn.Parameter. Parameters and submodules are whatever a module holds in its own
 * enumerable fields (in assignment order, as PyTorch's registration order), including arrays of
 * modules; buffers (running statistics) are registered by name. See Note [Module paths].
 */
import { Tensor } from '../tensor.js';
import { noGrad } from '../autograd/mode.js';
import { withModule } from '../dispatch.js';
import { isDType, isFloating, type DType } from '../dtype.js';
import { shapeStr } from '../shape.js';
import type { DeviceLike } from '../device.js';

/** A leaf tensor that a Module registers as a parameter; shares storage with the tensor it wraps. */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) throw new TypeError('Parameter: expected a Tensor');
    super(data.storage, data.shape, data.strides, data.offset);
    if (requiresGrad) this.requiresGrad_(true);
  }

  /** Points this parameter at new data (Module.to), keeping its identity for optimizers. */
  _setData(t: Tensor): void {
    const self = this as unknown as { storage: Tensor['storage']; shape: readonly number[]; strides: readonly number[]; offset: number };
    self.storage = t.storage;
    self.shape = t.shape;
    self.strides = t.strides;
    self.offset = t.offset;
  }
}

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Hidden per-module bookkeeping, kept off the enumerable fields so it never looks like a child. */
interface Internals {
  buffers: Map<string, Tensor | null>;
  /** Buffers left out of stateDict (PyTorch's persistent=False). */
  nonPersistent: Set<string>;
}

const internals = new WeakMap<Module, Internals>();
function own(m: Module): Internals {
  let i = internals.get(m);
  if (!i) {
    i = { buffers: new Map(), nonPersistent: new Set() };
    internals.set(m, i);
  }
  return i;
}

// Note [Module paths]: a module learns its dotted path when it is called. call() keeps a stack of
// the modules running (with their paths); a module called from inside another finds its field
// name in the caller's modules, so ops in `net.encoder.fc1.forward` are reported under
// 'encoder.fc1'. The outermost module's path is '' (the root, as in namedModules()).
const running: { module: Module; path: string }[] = [];

function pathFor(m: Module): string {
  if (running.length === 0) return '';
  const top = running[running.length - 1];
  const join = (name: string) => (top.path ? `${top.path}.${name}` : name);
  // the common case: a direct child; only a deeper call searches the whole tree
  for (const [name, child] of top.module.namedChildren()) if (child === m) return join(name);
  for (const [name, child] of top.module.namedModules()) {
    if (child === m && name !== '') return join(name);
  }
  // called from a module that does not own it: fall back to its class name
  return join(m.constructor.name);
}

export class Module {
  /** train() / eval() mode; Dropout and BatchNorm read it. */
  declare training: boolean;

  constructor() {
    Object.defineProperty(this, 'training', { value: true, writable: true, enumerable: false });
  }

  /** The computation; subclasses override it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(..._args: any[]): any {
    throw new Error(`${this.constructor.name}: forward() is not implemented`);
  }

  /** Runs forward with this module's dotted path as the current module (profiler rows, debugger). */
  call(...args: Parameters<this['forward']>): ReturnType<this['forward']> {
    const path = pathFor(this);
    running.push({ module: this, path });
    try {
      return withModule(path, () => this.forward(...args));
    } finally {
      running.pop();
    }
  }

  // ---- registration ----
  /** A named tensor that is state but not a parameter (BatchNorm's running statistics). */
  registerBuffer(name: string, t: Tensor | null, opts?: { persistent?: boolean }): void {
    const i = own(this);
    i.buffers.set(name, t);
    if (opts?.persistent === false) i.nonPersistent.add(name);
  }
  getBuffer(name: string): Tensor | null {
    const b = own(this).buffers.get(name);
    if (b === undefined) throw new Error(`${this.constructor.name}: no buffer named '${name}'`);
    return b;
  }
  /** Replaces a registered buffer's tensor. */
  setBuffer(name: string, t: Tensor | null): void {
    const i = own(this);
    if (!i.buffers.has(name)) throw new Error(`${this.constructor.name}: no buffer named '${name}'`);
    i.buffers.set(name, t);
  }

  /** Direct parameters and submodules in field order; arrays of modules count as `field.i`. */
  private *ownEntries(): Generator<[string, Parameter | Module]> {
    for (const key of Object.keys(this)) {
      const v = (this as Record<string, unknown>)[key];
      if (v instanceof Parameter || v instanceof Module) yield [key, v];
      else if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          if (v[i] instanceof Module || v[i] instanceof Parameter) yield [`${key}.${i}`, v[i]];
        }
      }
    }
  }

  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    for (const [k, v] of this.ownEntries()) {
      if (v instanceof Module && !seen.has(v)) {
        seen.add(v);
        out.push([k, v]);
      }
    }
    return out;
  }
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module ('') and every submodule, by dotted path, each once. */
  namedModules(prefix = '', seen = new Set<Module>()): [string, Module][] {
    if (seen.has(this)) return [];
    seen.add(this);
    const out: [string, Module][] = [[prefix, this]];
    for (const [k, child] of this.namedChildren()) {
      out.push(...child.namedModules(prefix ? `${prefix}.${k}` : k, seen));
    }
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Every parameter by dotted path ('fc1.weight'), shared ones once. */
  namedParameters(opts?: { recurse?: boolean }): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = opts?.recurse === false ? [['', this]] : this.namedModules();
    for (const [prefix, m] of mods) {
      for (const [k, v] of m.ownEntries()) {
        if (v instanceof Parameter && !seen.has(v)) {
          seen.add(v);
          out.push([prefix ? `${prefix}.${k}` : k, v]);
        }
      }
    }
    return out;
  }
  parameters(opts?: { recurse?: boolean }): Parameter[] {
    return this.namedParameters(opts).map(([, p]) => p);
  }

  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [k, b] of own(m).buffers) if (b !== null) out.push([prefix ? `${prefix}.${k}` : k, b]);
    }
    return out;
  }
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  // ---- modes and moves ----
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Calls fn on every submodule, then on this one (as PyTorch's apply). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Moves parameters and buffers to a device, or casts floating ones to a dtype, in place. */
  to(target: DeviceLike | DType): this {
    const convert = (t: Tensor): Tensor => {
      if (isDType(target)) return isFloating(t.dtype) && isFloating(target) ? t.to(target) : t;
      return t.to(target);
    };
    noGrad(() => {
      for (const p of this.parameters()) {
        const moved = convert(p);
        if (moved !== (p as Tensor)) p._setData(moved.detach());
        if (p.grad) p.grad = convert(p.grad);
      }
      for (const m of this.modules()) {
        for (const [k, b] of own(m).buffers) if (b !== null) own(m).buffers.set(k, convert(b));
      }
    });
    return this;
  }
  float(): this {
    return this.to('float32');
  }
  double(): this {
    return this.to('float64');
  }
  cpu(): this {
    return this.to('cpu');
  }
  cuda(device = 'cuda'): this {
    return this.to(device);
  }

  /** Clears every parameter's gradient (sets it to null, PyTorch 2's default). */
  zeroGrad(opts?: { setToNone?: boolean }): void {
    for (const p of this.parameters()) {
      // in place, as PyTorch's grad.zero_(): an inf or NaN becomes 0 (g * 0 kept NaN)
      if (opts?.setToNone === false && p.grad) noGrad(() => p.grad!.zero_());
      else p.grad = null;
    }
  }

  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  // ---- state ----
  /** Parameters and persistent buffers by dotted path; the tensors share storage with the module. */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [prefix, m] of this.namedModules()) {
      const name = (k: string) => (prefix ? `${prefix}.${k}` : k);
      for (const [k, v] of m.ownEntries()) if (v instanceof Parameter) out[name(k)] = v.detach();
      const i = own(m);
      for (const [k, b] of i.buffers) if (b !== null && !i.nonPersistent.has(k)) out[name(k)] = b.detach();
    }
    return out;
  }

  /**
   * Copies values from a state dict. Shape mismatches are always an error; with strict (the
   * default) so are missing and unexpected keys, all reported by name.
   */
  loadStateDict(sd: StateDict | Map<string, Tensor>, opts?: { strict?: boolean }): LoadResult {
    const strict = opts?.strict ?? true;
    const given = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const mine = this.stateDict();
    const missingKeys = Object.keys(mine).filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !(k in mine));
    const errors: string[] = [];
    for (const [k, t] of given) {
      const target = mine[k];
      if (!target) continue;
      if (!(t instanceof Tensor)) {
        errors.push(`While copying the parameter named "${k}", expected a Tensor, got ${typeof t}.`);
      } else if (t.shape.length !== target.shape.length || t.shape.some((s, i) => s !== target.shape[i])) {
        errors.push(
          `size mismatch for ${k}: copying a param with shape ${shapeStr(t.shape)} from checkpoint, the shape in current model is ${shapeStr(target.shape)}.`,
        );
      }
    }
    if (strict) {
      if (unexpectedKeys.length) errors.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`);
      if (missingKeys.length) errors.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`);
    }
    if (errors.length) {
      throw new Error(`loadStateDict: Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join('\n\t')}`);
    }
    noGrad(() => {
      for (const [k, t] of given) if (mine[k]) mine[k].copy_(t);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- display ----
  /** Extra text inside the parentheses of this module's line (as PyTorch's extra_repr). */
  extraRepr(): string {
    return '';
  }
  toString(): string {
    const kids = this.namedChildren();
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (kids.length === 0) return `${head})`;
    const lines = kids.map(([k, m]) => `  (${k}): ${m.toString().split('\n').join('\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
  [Symbol.for('Jupyter.display')](): Record<string, unknown> {
    return richModuleDisplay ? richModuleDisplay(this) : { 'text/plain': this.toString() };
  }
}

/** The module summary (runtime/viz) registers itself here, so module.ts need not import it. */
let richModuleDisplay: ((m: Module) => Record<string, unknown>) | undefined;
export function setModuleDisplay(fn: (m: Module) => Record<string, unknown>): void {
  richModuleDisplay = fn;
}

/** Holds submodules in a list, registered as '0', '1', ... */
export class ModuleList extends Module {
  [index: number]: Module;
  private declare count: number;

  constructor(modules: Iterable<Module> = []) {
    super();
    Object.defineProperty(this, 'count', { value: 0, writable: true, enumerable: false });
    for (const m of modules) this.append(m);
  }
  append(m: Module): this {
    if (!(m instanceof Module)) throw new TypeError(`${this.constructor.name}.append: expected a Module, got ${typeof m}`);
    this[this.count++] = m;
    return this;
  }
  extend(ms: Iterable<Module>): this {
    for (const m of ms) this.append(m);
    return this;
  }
  get length(): number {
    return this.count;
  }
  at(i: number): Module {
    const j = i < 0 ? i + this.count : i;
    if (j < 0 || j >= this.count) throw new RangeError(`${this.constructor.name}: index ${i} is out of range (length ${this.count})`);
    return this[j];
  }
  *[Symbol.iterator](): Iterator<Module> {
    for (let i = 0; i < this.count; i++) yield this[i];
  }
}

/** Runs its modules in order, each on the previous one's output. */
export class Sequential extends ModuleList {
  constructor(...modules: Module[]) {
    super(modules);
  }
  override forward(x: Tensor): Tensor {
    let out = x;
    for (const m of this) out = (m.call as (a: Tensor) => Tensor)(out);
    return out;
  }
}

export function isModule(x: unknown): x is Module {
  return x instanceof Module;
}
