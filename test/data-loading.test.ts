/** data: TensorDataset, DataLoader, transforms, the bundled digits and MNIST IDX files. */
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import * as data from '../runtime/data/index.js';
import type { Tensor } from '../runtime/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gradbook-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TensorDataset and DataLoader', () => {
  const x = gb.arange(0, 20, 1, { dtype: 'float32' }).reshape(10, 2);
  const y = gb.arange(0, 10, 1, { dtype: 'int32' });
  const ds = new data.TensorDataset(x, y);

  test('a TensorDataset indexes every tensor along dim 0 and checks their sizes', () => {
    expect(ds.length).toBe(10);
    const [xi, yi] = ds.get(3);
    expect(xi.toArray()).toEqual([6, 7]);
    expect(yi.item()).toBe(3);
    expect(() => new data.TensorDataset(x, gb.zeros([9]))).toThrow(/Size mismatch between tensors: tensor 0 has 10 samples \(\[10, 2\]\), tensor 1 has 9 \(\[9\]\)/);
    expect(() => ds.get(10)).toThrow(/index 10 is out of range for 10 samples/);
  });

  test('batches in order, keeping a short last batch unless dropLast', () => {
    const loader = new data.DataLoader(ds, { batchSize: 4 });
    const batches = [...loader];
    expect(loader.length).toBe(3);
    expect(batches.map(([, b]) => b.toArray())).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(batches[0][0].shape).toEqual([4, 2]);
    expect(batches[0][1].dtype).toBe('int32');
    const dropped = new data.DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(dropped.length).toBe(2);
    expect([...dropped].map(([, b]) => b.toArray())).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });

  test('shuffling with a seeded generator is reproducible, a fresh order each epoch, and a permutation', () => {
    const ys = (seed: number, epochs: number) => {
      const loader = new data.DataLoader(ds, { batchSize: 3, shuffle: true, generator: new gb.Generator(seed) });
      const out: number[][] = [];
      for (let e = 0; e < epochs; e++) out.push([...loader].flatMap(([, b]) => b.toArray() as number[]));
      return out;
    };
    const a = ys(42, 2);
    expect(ys(42, 2)).toEqual(a);
    expect(ys(43, 1)[0]).not.toEqual(a[0]);
    expect(a[1]).not.toEqual(a[0]);
    expect([...a[0]].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // rows stay paired across tensors
    const loader = new data.DataLoader(ds, { batchSize: 5, shuffle: true, generator: new gb.Generator(1) });
    for (const [bx, by] of loader) expect(bx.select(1, 0).toArray()).toEqual((by.toArray() as number[]).map((v) => 2 * v));
  });

  test('is async-iterable with the same batches', async () => {
    const loader = new data.DataLoader(ds, { batchSize: 4 });
    const seen: unknown[] = [];
    for await (const [, b] of loader) seen.push(b.toArray());
    expect(seen).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  test('other datasets are stacked item by item; Subset and MapDataset compose', () => {
    const squares = new data.MapDataset(ds, ([xi, yi]) => [xi.mul(xi), yi] as Tensor[]);
    const sub = new data.Subset(squares, [9, 0, 5]);
    const [[bx, by]] = [...new data.DataLoader(sub, { batchSize: 3 })];
    expect(by.toArray()).toEqual([9, 0, 5]);
    expect(bx.toArray()).toEqual([[324, 361], [0, 1], [100, 121]]);
    const plainSub = new data.Subset(ds, [2, 4]);
    expect([...new data.DataLoader(plainSub, { batchSize: 2 })][0][1].toArray()).toEqual([2, 4]);
    expect(() => new data.DataLoader(ds, { batchSize: 0 })).toThrow(/batchSize should be a positive integer value, but got batchSize=0/);
  });

  test('Normalize subtracts the mean and divides by the std, per channel when asked', () => {
    const t = gb.tensor([[1, 2], [3, 4]]);
    expect(data.normalize(t, 2, 2).toArray()).toEqual([[-0.5, 0], [0.5, 1]]);
    expect(new data.Normalize([1, 2], [1, 2]).call(t).toArray()).toEqual([[0, 0], [2, 1]]);
    const img = gb.randn([4, 3, 5, 5]).mul(3).add(7);
    const n = data.Normalize.fromData(img, { dim: 1 });
    const out = n.call(img);
    const m = out.mean([0, 2, 3]).toArray() as number[];
    const s = out.std([0, 2, 3]).toArray() as number[];
    m.forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-5));
    s.forEach((v) => expect(v).toBeCloseTo(1, 5));
    expect(() => data.normalize(t, 0, 0)).toThrow(/std evaluated to zero/);
    // a constant feature gets std 1 (as StandardScaler), so it maps to 0 rather than failing
    const feats = gb.tensor([[0, 1], [0, 3]]);
    expect(data.Normalize.fromData(feats, { dim: 1 }).call(feats).toArray()).toEqual([[0, -Math.fround(Math.SQRT1_2)], [0, Math.fround(Math.SQRT1_2)]]);
    expect(() => data.normalize(t, [1, 2, 3], 1)).toThrow(/3 values for dim 1 of size 2/);
  });
});

describe('datasets.digits', () => {
  test('loads the bundled 1,797 8x8 digits with pixel values 0-16 and labels 0-9', () => {
    const { x, y } = data.datasets.digits();
    expect(x.shape).toEqual([1797, 64]);
    expect(x.dtype).toBe('float32');
    expect(y.shape).toEqual([1797]);
    expect(y.dtype).toBe('int32');
    expect(x.amin().item()).toBe(0);
    expect(x.amax().item()).toBe(16);
    const counts = new Array(10).fill(0);
    for (const v of y.data()) counts[v]++;
    expect(counts).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    // the first image is a 0, as in scikit-learn's load_digits
    expect(y.select(0, 0).item()).toBe(0);
    expect((x.select(0, 0).toArray() as number[]).slice(0, 8)).toEqual([0, 0, 5, 13, 9, 1, 0, 0]);
  });
});

function idx(magic: number, dims: number[], body: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(body)]);
}

describe('datasets.mnist', () => {
  const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 7) % 256);
  const labels = Uint8Array.from([7, 2, 1]);

  test('reads IDX files, plain or gzipped, as float32 [N, rows, cols] and int32 labels', () => {
    const plain = join(dir, 'plain');
    const gz = join(dir, 'gz');
    for (const d of [plain, gz]) rmSync(d, { recursive: true, force: true });
    for (const [d, zip] of [[plain, false], [gz, true]] as const) {
      mkdirSync(d);
      const w = (name: string, b: Buffer) => writeFileSync(join(d, zip ? `${name}.gz` : name), zip ? gzipSync(b) : b);
      w('train-images-idx3-ubyte', idx(2051, [3, 4, 5], pixels));
      w('train-labels-idx1-ubyte', idx(2049, [3], labels));
      w('t10k-images-idx3-ubyte', idx(2051, [1, 4, 5], pixels.subarray(0, 20)));
      w('t10k-labels-idx1-ubyte', idx(2049, [1], labels.subarray(0, 1)));
      const { x, y } = data.datasets.mnist(d);
      expect(x.shape).toEqual([3, 4, 5]);
      expect(x.dtype).toBe('float32');
      expect(Array.from(x.data())).toEqual(Array.from(pixels));
      expect(y.toArray()).toEqual([7, 2, 1]);
      expect(data.datasets.mnist(d, { train: false }).y.toArray()).toEqual([7]);
    }
  });

  test('a wrong magic number, truncation, extra bytes or mismatched counts are clear errors', () => {
    const make = (name: string, images: Buffer, lbls: Buffer) => {
      const d = join(dir, name);
      mkdirSync(d);
      writeFileSync(join(d, 'train-images-idx3-ubyte'), images);
      writeFileSync(join(d, 'train-labels-idx1-ubyte'), lbls);
      return d;
    };
    const good = idx(2051, [3, 4, 5], pixels);
    const goodLabels = idx(2049, [3], labels);
    expect(() => data.datasets.mnist(make('magic', idx(2049, [3, 4, 5], pixels), goodLabels))).toThrow(/has magic number 2049 \(1 dims\), expected 2051 \(3 dims\)/);
    expect(() => data.datasets.mnist(make('notidx', Buffer.from('hello world, not idx'), goodLabels))).toThrow(/magic number 0x68656c6c, not an IDX file/);
    expect(() => data.datasets.mnist(make('trunc', good.subarray(0, good.length - 5), goodLabels))).toThrow(/is truncated: dims \[3, 4, 5\] need 60 bytes of data, found 55/);
    expect(() => data.datasets.mnist(make('head', good.subarray(0, 9), goodLabels))).toThrow(/is truncated: 9 bytes, the header of 3 dims needs 16/);
    expect(() => data.datasets.mnist(make('extra', Buffer.concat([good, Buffer.from([1, 2])]), goodLabels))).toThrow(/has 2 bytes past the data/);
    expect(() => data.datasets.mnist(make('count', good, idx(2049, [2], labels.subarray(0, 2))))).toThrow(/holds 3 images but .* holds 2 labels/);
    expect(() => data.datasets.mnist(join(dir, 'nowhere'))).toThrow(/no train-images file in/);
  });
});
