/**
 * DataLoader: batches of a dataset, in order or shuffled by a seeded generator, iterable with
 * for...of and for await...of. A TensorDataset (or a Subset of one) is batched with one
 * indexSelect per tensor; other datasets' items are stacked.
 */
import { Tensor } from '../tensor.js';
import { fromHost } from '../functional/creation.js';
import { stack } from '../functional/movement.js';
import { indexSelect } from '../functional/indexing.js';
import { noGrad } from '../autograd/mode.js';
import { Generator, generatorFor, randperm } from '../random.js';
import { Subset, TensorDataset, type Dataset } from './dataset.js';

export interface DataLoaderOptions<T, B> {
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** The generator shuffling draws from; the global CPU generator by default. */
  generator?: Generator;
  /** Turns a list of items into a batch; the default stacks tensors (element-wise for arrays). */
  collate?: (items: T[]) => B;
}

/** Stacks tensors, arrays of tensors element-wise, and objects of tensors key-wise. */
export function defaultCollate(items: unknown[]): unknown {
  const first = items[0];
  if (first instanceof Tensor) return stack(items as Tensor[], 0);
  if (typeof first === 'number') return fromHost(Float64Array.from(items as number[]), [items.length], Number.isInteger(first) ? 'int32' : 'float32', 'cpu');
  if (Array.isArray(first)) return first.map((_, k) => defaultCollate(items.map((it) => (it as unknown[])[k])));
  if (first !== null && typeof first === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(first)) out[k] = defaultCollate(items.map((it) => (it as Record<string, unknown>)[k]));
    return out;
  }
  return items;
}

export class DataLoader<T = Tensor[], B = T> implements Iterable<B>, AsyncIterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator | undefined;
  private readonly collate: (items: T[]) => B;
  /** A custom collate sees every batch, so the indexSelect fast path is off. */
  private readonly customCollate: boolean;

  constructor(readonly dataset: Dataset<T>, opts: DataLoaderOptions<T, B> = {}) {
    if (!dataset || typeof dataset.get !== 'function' || typeof dataset.length !== 'number') {
      throw new TypeError('DataLoader: expected a dataset with a length and get(i)');
    }
    this.batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize <= 0) {
      throw new RangeError(`DataLoader: batchSize should be a positive integer value, but got batchSize=${opts.batchSize}`);
    }
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator;
    this.collate = opts.collate ?? ((items) => defaultCollate(items) as B);
    this.customCollate = opts.collate !== undefined;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of one epoch (a fresh permutation per epoch when shuffling). */
  private order(): Int32Array {
    const n = this.dataset.length;
    if (this.shuffle) return randperm(n, this.generator ?? generatorFor('cpu'));
    const o = new Int32Array(n);
    for (let i = 0; i < n; i++) o[i] = i;
    return o;
  }

  /** Tensors to index directly, when the dataset is a TensorDataset or a Subset of one. */
  private fastPath(): { tensors: Tensor[]; map: readonly number[] | null } | null {
    const d = this.dataset as unknown;
    if (d instanceof TensorDataset) return { tensors: d.tensors, map: null };
    if (d instanceof Subset && d.source instanceof TensorDataset) return { tensors: d.source.tensors, map: d.indices };
    return null;
  }

  *[Symbol.iterator](): Iterator<B> {
    const order = this.order();
    const fast = this.customCollate ? null : this.fastPath();
    const nb = this.length;
    for (let b = 0; b < nb; b++) {
      const idx = order.subarray(b * this.batchSize, Math.min((b + 1) * this.batchSize, order.length));
      if (fast) {
        const rows = fast.map ? Int32Array.from(idx, (i) => fast.map![i]) : Int32Array.from(idx);
        yield noGrad(() => {
          const index = fromHost(rows, [rows.length], 'int32', fast.tensors[0].device);
          return fast.tensors.map((t) => indexSelect(t, 0, index.device === t.device ? index : index.to(t.device)));
        }) as unknown as B;
      } else {
        const items: T[] = [];
        for (const i of idx) items.push(this.dataset.get(i));
        yield this.collate(items);
      }
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    for (const batch of this) {
      yield batch;
      // let the event loop run between batches (interrupts, display updates)
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
