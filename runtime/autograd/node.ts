/** Autograd graph nodes and the tensors they save. */
import type { Tensor } from '../tensor.js';

export class SavedTensor {
  readonly version: number;
  constructor(readonly tensor: Tensor) {
    this.version = tensor.storage.version;
  }
}

export interface GradContext<A = unknown> {
  readonly attrs: A;
  /** Shapes and dtypes of the inputs, for reducing broadcast gradients and casting them back. */
  readonly inShapes: readonly (readonly number[])[];
  readonly inDtypes: readonly string[];
  saved(i: number): Tensor;
  /** Whether input i takes a gradient; rules skip the work for inputs that do not. */
  needs(i: number): boolean;
  /**
   * True while the rule runs when nothing but the walk can see the incoming gradient's memory
   * and nothing records (Note [Gradient buffers]): an elementwise rule may write its result into
   * it and return it, instead of filling fresh memory.
   */
  readonly gradOwned: boolean;
}

export type BackwardFn<A = unknown> = (g: Tensor, ctx: GradContext<A>) => (Tensor | null)[];

export type TensorHook = (grad: Tensor) => Tensor | void;

export class Node implements GradContext {
  /** Per input: the node its gradient goes to, or null when that input needs none. */
  next: (Node | null)[];
  savedTensors: SavedTensor[] | null;
  /** Hooks registered on the tensor this node produced (tensor.registerHook on a non-leaf). */
  hooks: TensorHook[] | null = null;
  /** The non-leaf tensor whose .grad is kept (retainGrad); weak so the graph does not pin it. */
  retainGradOf: WeakRef<Tensor> | null = null;
  gradOwned = false;

  constructor(
    public name: string,
    readonly backwardFn: BackwardFn<any> | null,
    next: (Node | null)[],
    readonly attrs: unknown,
    readonly inShapes: readonly (readonly number[])[],
    readonly inDtypes: readonly string[],
    saved: Tensor[],
  ) {
    this.next = next;
    this.savedTensors = saved.length ? saved.map((t) => new SavedTensor(t)) : null;
  }

  needs(i: number): boolean {
    return this.next[i] !== null;
  }

  saved(i: number): Tensor {
    if (this.savedTensors === null) {
      throw new Error(
        'Trying to backward through the graph a second time (or directly access saved tensors after they ' +
          'have already been freed). Saved intermediate values of the graph are freed when you call ' +
          `backward() or autograd.grad(). Specify retainGraph: true if you need to backward through the graph ` +
          `a second time or if you need to access saved tensors after calling backward. (node ${this.name})`,
      );
    }
    const s = this.savedTensors[i];
    if (s.tensor.storage.version !== s.version) {
      const t = s.tensor;
      throw new Error(
        `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
          `[${t.dtype} [${t.shape.join(', ')}]], which is saved by ${this.name}, is at version ` +
          `${t.storage.version}; expected version ${s.version} instead.`,
      );
    }
    return s.tensor;
  }

  /** Releases saved tensors once backward has used them, unless the graph is retained. */
  release(): void {
    this.savedTensors = null;
  }
}

/** The sink at a leaf: adds the arriving gradient into leaf.grad. */
export class AccumulateGrad extends Node {
  constructor(readonly variable: Tensor) {
    super('AccumulateGrad', null, [], null, [], [], []);
  }
}
