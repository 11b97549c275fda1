/**
 * The optimizer base: parameter groups with per-group options, per-parameter state, zeroGrad,
 * step and a state dict that lets training resume exactly (state tensors are copied on load).
 */
import { Tensor } from '../tensor.js';
import { enableGrad, noGrad } from '../autograd/mode.js';
import { shapeStr } from '../shape.js';
import { keep } from '../memory.js';

export type ParamState = Record<string, Tensor | number>;

export type ParamGroup<O> = O & { params: Tensor[] };

/** Either a list of parameters or a list of groups, each with its own options. */
export type Params<O> = Iterable<Tensor> | Iterable<Partial<O> & { params: Iterable<Tensor> }>;

export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

export abstract class Optimizer<O extends { lr: number }> {
  readonly paramGroups: ParamGroup<O>[] = [];
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: Params<O>, readonly defaults: O) {
    const name = this.constructor.name;
    if (params === null || typeof params !== 'object' || !(Symbol.iterator in Object(params))) {
      throw new TypeError(`${name}: params argument given to the optimizer should be an iterable of Tensors or groups, but got ${typeof params}`);
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new RangeError(`${name}: optimizer got an empty parameter list`);
    const groups = (list[0] instanceof Tensor ? [{ params: list as Tensor[] }] : list) as (Partial<O> & { params: Iterable<Tensor> })[];
    for (const g of groups) this.addParamGroup(g);
  }

  addParamGroup(group: Partial<O> & { params: Iterable<Tensor> }): void {
    const name = this.constructor.name;
    const params = group.params instanceof Tensor ? [group.params] : [...group.params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${name}: optimizer can only optimize Tensors, but parameter ${i} is ${typeof p}`);
      if (!p.isLeaf) throw new Error(`${name}: can't optimize a non-leaf Tensor (parameter ${i}, shape ${shapeStr(p.shape)})`);
      if (seen.has(p)) throw new Error(`${name}: some parameters appear in more than one parameter group`);
    });
    const full = { ...this.defaults, ...group, params } as ParamGroup<O>;
    this.validate(full);
    this.paramGroups.push(full);
  }

  /** Checks a group's options; subclasses add their own. */
  protected validate(g: ParamGroup<O>): void {
    if (!(g.lr >= 0)) throw new RangeError(`${this.constructor.name}: Invalid learning rate: ${g.lr}`);
  }

  /** Clears gradients: to null (PyTorch 2's default), or to zeros with setToNone false. */
  zeroGrad(opts?: { setToNone?: boolean }): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (p.grad === null) continue;
        // in place, as PyTorch's grad.zero_(): an inf or NaN becomes 0 (g * 0 kept NaN)
        if (opts?.setToNone === false) noGrad(() => p.grad!.zero_());
        else p.grad = null;
      }
    }
  }

  /** One update of every parameter with a gradient; a closure, if given, recomputes the loss first. */
  step(closure?: () => Tensor): Tensor | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    noGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          if (p.grad === null) continue;
          let s = this.state.get(p);
          if (!s) {
            s = {};
            this.state.set(p, s);
          }
          this.update(p, p.grad, s, g);
        }
      }
    });
    return loss;
  }

  /** The update rule for one parameter (runs under noGrad). */
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<O>): void;

  /** State by parameter index (counted across groups), and the groups' options. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...opts } = g;
      return { ...opts, params: params.map((p) => index.get(p) ?? (index.set(p, index.size), index.size - 1)) };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = { ...s };
    }
    return { state, paramGroups };
  }

  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object') {
      throw new TypeError(`${name}.loadStateDict: expected {state, paramGroups}`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new RangeError(`${name}.loadStateDict: loaded state dict has ${sd.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor>();
    sd.paramGroups.forEach((saved, gi) => {
      const mine = this.paramGroups[gi];
      if (saved.params.length !== mine.params.length) {
        throw new RangeError(
          `${name}.loadStateDict: loaded state dict contains a parameter group (${gi}) that doesn't match the size of optimizer's group (${saved.params.length} vs ${mine.params.length})`,
        );
      }
      saved.params.forEach((idx, k) => byIndex.set(Number(idx), mine.params[k]));
    });
    const state = new Map<Tensor, ParamState>();
    for (const [key, s] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (!p) throw new RangeError(`${name}.loadStateDict: state for parameter ${key}, which no group lists`);
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          if (v.shape.length !== p.shape.length || v.shape.some((d, i) => d !== p.shape[i])) {
            throw new RangeError(`${name}.loadStateDict: state '${k}' of parameter ${key} has shape ${shapeStr(v.shape)}, the parameter ${shapeStr(p.shape)}`);
          }
          // PyTorch casts floating state to the parameter's dtype and device
          copy[k] = keep(noGrad(() => v.to(p.device).to(p.dtype).clone()));
        } else copy[k] = Number(v);
      }
      state.set(p, copy);
    }
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
    sd.paramGroups.forEach((saved, gi) => {
      const { params: _ignored, ...opts } = saved;
      Object.assign(this.paramGroups[gi], opts);
    });
  }
}
