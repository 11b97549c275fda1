/** gb.save / gb.load in the safetensors format, cross-checked with a numpy reader and writer. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import * as gb from '../runtime/index.js';
import * as nn from '../runtime/nn/index.js';
import * as optim from '../runtime/optim/index.js';
import { save, load, loadMetadata } from '../runtime/io/index.js';
import type { Tensor } from '../runtime/index.js';
import { PYTHON } from './support/nn-check.js';

const dir = mkdtempSync(join(tmpdir(), 'gradbook-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const script = fileURLToPath(new URL('./safetensors_np.py', import.meta.url));
const hasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

function sample(): Record<string, Tensor> {
  return {
    'fc1.weight': gb.tensor([[1.5, -2.25, 3], [0.1, 1e-30, -0]]),
    'fc1.bias': gb.tensor([Math.PI, Math.E], { dtype: 'float64' }),
    steps: gb.tensor([-2147483648, 2147483647, 0], { dtype: 'int32' }),
    mask: gb.tensor([true, false, true]),
    scalar: gb.tensor(7.5),
    empty: gb.zeros([0, 3]),
  };
}

describe('safetensors', () => {
  test('a state dict round-trips with dtypes, shapes and values intact', () => {
    const p = join(dir, 'roundtrip.safetensors');
    const sd = sample();
    save(sd, p, { metadata: { format: 'pt', note: 'hello' } });
    const back = load(p);
    expect(Object.keys(back)).toEqual(Object.keys(sd));
    for (const [k, t] of Object.entries(sd)) {
      expect(back[k].dtype, k).toBe(t.dtype);
      expect(back[k].shape, k).toEqual(t.shape);
      expect(Array.from(back[k].data()), k).toEqual(Array.from(t.data()));
    }
    expect(Object.is(back['fc1.weight'].data()[5], -0)).toBe(true);
    expect(loadMetadata(p)).toEqual({ format: 'pt', note: 'hello' });
  });

  test('the file is laid out as the spec says: u64 LE header length, JSON header, 8-aligned raw LE data', () => {
    const p = join(dir, 'layout.safetensors');
    save({ a: gb.tensor([1, 2], { dtype: 'float32' }), b: gb.tensor([3], { dtype: 'int32' }) }, p);
    const raw = readFileSync(p);
    const n = Number(raw.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(raw.subarray(8, 8 + n).toString());
    expect(header).toEqual({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'I32', shape: [1], data_offsets: [8, 12] } });
    expect(raw.readFloatLE(8 + n)).toBe(1);
    expect(raw.readFloatLE(8 + n + 4)).toBe(2);
    expect(raw.readInt32LE(8 + n + 8)).toBe(3);
    expect(raw.length).toBe(8 + n + 12);
  });

  test.skipIf(!hasNumpy)('a file gradbook writes reads back in Python (numpy, by the spec)', () => {
    const p = join(dir, 'to-python.safetensors');
    const sd = sample();
    save(sd, p, { metadata: { who: 'gradbook' } });
    const r = spawnSync(PYTHON, [script, 'read', p], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const parsed = JSON.parse(r.stdout);
    expect(parsed.metadata).toEqual({ who: 'gradbook' });
    for (const [k, t] of Object.entries(sd)) {
      expect(parsed.tensors[k].shape, k).toEqual(t.shape);
      expect(parsed.tensors[k].data, k).toEqual(Array.from(t.data(), Number));
    }
    expect(parsed.tensors['mask'].dtype).toBe('BOOL');
  });

  test.skipIf(!hasNumpy)('a file Python writes (any tensor order, I64, unpadded header) loads in gradbook', () => {
    const p = join(dir, 'from-python.safetensors');
    const spec = {
      metadata: { source: 'numpy' },
      tensors: {
        'layer.weight': { dtype: 'F32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6.5] },
        'layer.bias': { dtype: 'F64', shape: [2], data: [0.1, -0.2] },
        num_batches_tracked: { dtype: 'I64', shape: [], data: [12] },
        flags: { dtype: 'BOOL', shape: [2], data: [1, 0] },
        idx: { dtype: 'I32', shape: [3], data: [-1, 0, 5] },
      },
    };
    const r = spawnSync(PYTHON, [script, 'write', p], { input: JSON.stringify(spec), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const t = load(p);
    expect(t['layer.weight'].toArray()).toEqual([[1, 2, 3], [4, 5, 6.5]]);
    expect(t['layer.bias'].dtype).toBe('float64');
    expect(t['layer.bias'].toArray()).toEqual([0.1, -0.2]);
    expect(t.num_batches_tracked.dtype).toBe('int32');
    expect(t.num_batches_tracked.item()).toBe(12);
    expect(t.flags.toArray()).toEqual([true, false]);
    expect(t.idx.toArray()).toEqual([-1, 0, 5]);
    expect(loadMetadata(p)).toEqual({ source: 'numpy' });
  });

  test('a model saved and loaded gives the same outputs', () => {
    const p = join(dir, 'model.safetensors');
    const make = () => new nn.Sequential(new nn.Linear(4, 6), new nn.BatchNorm1d(6), new nn.ReLU(), new nn.Linear(6, 2));
    const a = make();
    a.call(gb.randn([8, 4]));
    a.eval();
    save(a.stateDict(), p);
    const b = make().eval();
    b.loadStateDict(load(p));
    const x = gb.randn([3, 4]);
    expect(b.call(x).toArray()).toEqual(a.call(x).toArray());
  });

  test('model and optimizer state saved together resume training bit for bit', () => {
    const p = join(dir, 'resume.safetensors');
    gb.manualSeed(5);
    const x = gb.randn([16, 4]);
    const y = gb.randint(0, 3, [16]);
    const make = () => new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
    const stepOnce = (m: nn.Module, o: optim.Optimizer<{ lr: number }>) => {
      o.zeroGrad();
      nn.functional.crossEntropy(m.call(x) as Tensor, y).backward();
      o.step();
    };
    const m1 = make();
    const o1 = new optim.Adam(m1.parameters(), { lr: 0.01 });
    for (let i = 0; i < 3; i++) stepOnce(m1, o1);
    save({ model: m1.stateDict(), optimizer: o1.stateDict(), epoch: 3, note: 'mid-run', lr: Infinity }, p);
    for (let i = 0; i < 3; i++) stepOnce(m1, o1);

    const ck = load<{ model: Record<string, Tensor>; optimizer: optim.OptimizerStateDict; epoch: number; note: string; lr: number }>(p);
    expect(ck.epoch).toBe(3);
    expect(ck.note).toBe('mid-run');
    expect(ck.lr).toBe(Infinity);
    const m2 = make();
    m2.loadStateDict(ck.model);
    const o2 = new optim.Adam(m2.parameters(), { lr: 0.5 });
    o2.loadStateDict(ck.optimizer);
    expect(o2.paramGroups[0].lr).toBe(0.01);
    for (let i = 0; i < 3; i++) stepOnce(m2, o2);
    const sd1 = m1.stateDict();
    for (const [k, t] of Object.entries(m2.stateDict())) expect(Array.from(t.data()), k).toEqual(Array.from(sd1[k].data()));
  });

  test('corrupt or truncated files are clear errors', () => {
    const p = join(dir, 'good.safetensors');
    save({ w: gb.tensor([1, 2, 3, 4]), b: gb.tensor([5]) }, p);
    const raw = readFileSync(p);
    const n = Number(raw.readBigUInt64LE(0));
    const bad = (name: string, bytes: Buffer | string) => {
      const q = join(dir, name);
      writeFileSync(q, bytes);
      return () => load(q);
    };
    const withHeader = (h: object, data: Buffer) => {
      const j = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(j.length));
      return Buffer.concat([len, j, data]);
    };
    expect(bad('tiny', raw.subarray(0, 5))).toThrow(/is truncated: 5 bytes, too short for the 8-byte header length/);
    expect(bad('midheader', raw.subarray(0, 20))).toThrow(new RegExp(`is truncated: the header claims ${n} bytes but the file has 12`));
    expect(bad('middata', raw.subarray(0, raw.length - 3))).toThrow(/is truncated: the tensors need 20 bytes of data, the file holds 17/);
    expect(bad('trailing', Buffer.concat([raw, Buffer.from([0, 0])]))).toThrow(/2 bytes after the last tensor belong to no tensor/);
    expect(bad('notjson', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]))).toThrow(/the header is not valid JSON/);
    expect(bad('huge', Buffer.from([255, 255, 255, 255, 255, 255, 255, 255, 0]))).toThrow(/larger than the 100000000-byte limit/);
    expect(bad('dtype', withHeader({ w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)))).toThrow(/tensor 'w' has dtype "C64"/);
    expect(bad('span', withHeader({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)))).toThrow(/tensor 'w' \(F32, shape \[3\]\) needs 12 bytes but data_offsets \[0, 8\] span 8/);
    expect(
      bad('overlap', withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, Buffer.alloc(8))),
    ).toThrow(/overlaps another tensor's data/);
    expect(bad('gap', withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, Buffer.alloc(8)))).toThrow(/4 bytes before tensor 'a' belong to no tensor/);
    expect(bad('i64', withHeader({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Buffer.from([0, 0, 0, 0, 1, 0, 0, 0])))).toThrow(/holds 4294967296, outside int32/);
  });

  test('saving writes a temporary file and renames it: no partial file on failure, no temp left behind', () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const p = join(sub, 'ck.safetensors');
    save({ w: gb.tensor([1, 2]) }, p);
    expect(readdirSync(sub)).toEqual(['ck.safetensors']);
    const dead = gb.tensor([3, 4]);
    dead.dispose();
    expect(() => save({ w: dead }, p)).toThrow();
    expect(load(p).w.toArray()).toEqual([1, 2]);
    expect(() => save({ w: gb.tensor([1]) }, join(sub, 'missing-dir', 'ck.safetensors'))).toThrow(/ENOENT/);
    expect(readdirSync(sub)).toEqual(['ck.safetensors']);
    expect(existsSync(join(sub, 'missing-dir'))).toBe(false);
  });
});
