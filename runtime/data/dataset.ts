/** Datasets: anything with a length and get(i); TensorDataset indexes tensors along dim 0. */
import { Tensor } from '../tensor.js';
import { shapeStr } from '../shape.js';

export interface Dataset<T> {
  readonly length: number;
  get(i: number): T;
}

/** Rows of tensors that share their first dim: get(i) is [x[i], y[i], ...]. */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: Tensor[];
  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new RangeError('TensorDataset: expected at least one tensor');
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new TypeError(`TensorDataset: argument ${i} is not a Tensor`);
      if (t.ndim === 0) throw new RangeError(`TensorDataset: tensor ${i} is 0-d; every tensor needs a first (sample) dim`);
      if (t.shape[0] !== tensors[0].shape[0]) {
        throw new RangeError(
          `TensorDataset: Size mismatch between tensors: tensor 0 has ${tensors[0].shape[0]} samples (${shapeStr(tensors[0].shape)}), tensor ${i} has ${t.shape[0]} (${shapeStr(t.shape)})`,
        );
      }
    });
    this.tensors = tensors;
  }
  get length(): number {
    return this.tensors[0].shape[0];
  }
  get(i: number): Tensor[] {
    if (!Number.isInteger(i) || i < -this.length || i >= this.length) {
      throw new RangeError(`TensorDataset: index ${i} is out of range for ${this.length} samples`);
    }
    return this.tensors.map((t) => t.select(0, i));
  }
}

/** A dataset whose items pass through fn (a transform) when read. */
export class MapDataset<T, U> implements Dataset<U> {
  constructor(readonly source: Dataset<T>, readonly fn: (item: T, index: number) => U) {}
  get length(): number {
    return this.source.length;
  }
  get(i: number): U {
    return this.fn(this.source.get(i), i);
  }
}

/** The samples of `source` at `indices` (a split). */
export class Subset<T> implements Dataset<T> {
  constructor(readonly source: Dataset<T>, readonly indices: readonly number[]) {
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= source.length) throw new RangeError(`Subset: index ${i} is out of range for ${source.length} samples`);
    }
  }
  get length(): number {
    return this.indices.length;
  }
  get(i: number): T {
    if (!Number.isInteger(i) || i < 0 || i >= this.indices.length) throw new RangeError(`Subset: index ${i} is out of range for ${this.indices.length} samples`);
    return this.source.get(this.indices[i]);
  }
}
