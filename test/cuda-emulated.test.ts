/**
 * The real CUDA kernels (src/kernels.cu compiled as host C++) on a CPU-emulated GPU
 * (test/support/cuda/emu.cc: one fiber per CUDA thread, barriers and warp shuffles
 * emulated) behind the fake driver, driven by the real addon and TypeScript backend, against the
 * reference backend. Without a GPU this is what proves the kernels' index arithmetic, reduction
 * trees, shuffles and tiling; the GPU checks (bench/gpu-checks.ts) prove them on the device.
 * cuBLAS is not there, so matmul runs gradbook's own tiled kernel.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Arg, Backend } from '../runtime/backend.js';
import { cudaBackend, cudaBackendOverDriverForTesting } from '../runtime/backends/cuda/index.js';
import { referenceBackend } from '../runtime/backends/reference/index.js';
import { suite } from './cuda-suite.js';
import { values } from './support/backend-views.js';

const root = join(import.meta.dirname, '..');
const cudaDir = join(root, 'runtime', 'backends', 'cuda');
const supportDir = join(root, 'test', 'support', 'cuda');
const built = existsSync(join(cudaDir, 'build', 'Release', 'gradbook_cuda.node')) && existsSync(join(cudaDir, 'build', 'kernels.fatbin'));
const which = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).stdout.trim();
const gcc = which('cc');
const gxx = which('g++') || which('c++');
const include = [process.env.GRADBOOK_CUDA_INCLUDE ?? '', '/usr/local/cuda/include'].find((d) => d && existsSync(join(d, 'cuda_fp16.h')));
const skipReason = !built ? 'run scripts/build-cuda.sh' : !gcc || !gxx ? 'no C/C++ compiler' : !include ? 'no CUDA headers' : cudaBackend !== null ? 'a real GPU is in use' : '';

let backend: Backend | null = null;
let why = '';
const dev = () => {
  if (backend === null) throw new Error(`the emulated GPU is not available: ${why}`);
  return backend;
};

describe.skipIf(skipReason !== '')(`cuda kernels on the CPU-emulated GPU${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(() => {
    const tmp = mkdtempSync(join(tmpdir(), 'gradbook-emu-cuda-'));
    const lib = join(tmp, 'libcuda.so.1');
    const steps: [string, string[]][] = [
      [gcc, ['-O1', '-DGB_EMULATE', '-fPIC', '-c', join(supportDir, 'fake_libcuda.c'), '-o', join(tmp, 'fake.o')]],
      [gxx, ['-O1', '-U_FORTIFY_SOURCE', '-std=c++17', '-fPIC', '-w', `-I${include}`, '-c', join(supportDir, 'emu.cc'), '-o', join(tmp, 'emu.o')]],
      [gxx, ['-shared', '-o', lib, join(tmp, 'fake.o'), join(tmp, 'emu.o'), '-ldl']],
    ];
    for (const [cmd, args] of steps) {
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
    }
    process.env.FAKE_CUDA_SMS = '2'; // few blocks: grid-stride loops do the work, fewer fibers
    const r = cudaBackendOverDriverForTesting(lib);
    backend = r.backend;
    why = r.reason;
    expect(why).toBe('');
  }, 120_000);

  suite('op table', dev, { dtypes: ['float32', 'float64', 'int32', 'bool'], f32tol: 1e-5, big: true, light: true });

  it('float16 and bfloat16: storage rounding, float32 arithmetic', () => {
    const b = dev();
    const ref = referenceBackend;
    const n = 97;
    const shape = [n];
    const flat = (buf: Arg['buf'], dtype: Arg['dtype'], m = n): Arg => ({ buf, dtype, shape: [m], strides: [1], offset: 0 });
    const f32 = (data: Float32Array) => {
      const buf = b.alloc('float32', data.length);
      b.write(buf, 'float32', data);
      return flat(buf, 'float32', data.length);
    };
    const read32 = (a: Arg) => {
      const o = flat(b.alloc('float32', a.shape[0]), 'float32', a.shape[0]);
      b.copy(o, a);
      return b.read(o) as Float32Array;
    };
    for (const half of ['float16', 'bfloat16'] as const) {
      const eps = half === 'float16' ? 2 ** -11 : 2 ** -8;
      const x = f32(new Float32Array(values('float32', n, false)));
      const y = f32(new Float32Array(values('float32', n, false)));
      const hx = flat(b.alloc(half, n), half);
      const hy = flat(b.alloc(half, n), half);
      b.copy(hx, x);
      b.copy(hy, y);
      const xr = read32(hx);
      const yr = read32(hy);
      for (let i = 0; i < n; i++) expect(Math.abs(xr[i] - (b.read(x) as Float32Array)[i])).toBeLessThanOrEqual(eps * Math.abs(xr[i]) + 1e-7);
      // reference on the rounded inputs, in float32
      const rx = ref.alloc('float32', n);
      const ry = ref.alloc('float32', n);
      ref.write(rx, 'float32', xr);
      ref.write(ry, 'float32', yr);
      const check = (got: Float32Array, want: Float32Array, what: string) => {
        for (let i = 0; i < want.length; i++)
          if (!(Math.abs(got[i] - want[i]) <= 2 * eps * Math.abs(want[i]) + 1e-3) && !(Number.isNaN(got[i]) && Number.isNaN(want[i])))
            expect.fail(`${half} ${what}: [${i}] got ${got[i]}, want ${want[i]}`);
      };
      const ho = flat(b.alloc(half, n), half);
      const ro = flat(ref.alloc('float32', n), 'float32');
      for (const op of ['exp', 'tanh', 'sigmoid', 'relu', 'neg', 'sin'] as const) {
        b.unary(op, ho, hx);
        ref.unary(op, ro, flat(rx, 'float32'));
        check(read32(ho), ref.read(ro) as Float32Array, op);
      }
      for (const op of ['add', 'mul', 'sub', 'maximum'] as const) {
        b.binary(op, ho, hx, hy);
        ref.binary(op, ro, flat(rx, 'float32'), flat(ry, 'float32'));
        check(read32(ho), ref.read(ro) as Float32Array, op);
      }
      const hs = flat(b.alloc(half, 1), half, 1);
      const rs = flat(ref.alloc('float32', 1), 'float32', 1);
      for (const op of ['sum', 'amax', 'amin'] as const) {
        b.reduce(op, hs, hx, [0]);
        ref.reduce(op, rs, flat(rx, 'float32'), [0]);
        check(read32(hs), ref.read(rs) as Float32Array, op);
      }
      const hi = flat(b.alloc('int32', 1), 'int32', 1);
      b.argReduce('argmax', hi, hx, 0);
      const ri = flat(ref.alloc('int32', 1), 'int32', 1);
      ref.argReduce('argmax', ri, flat(rx, 'float32'), 0);
      expect(Array.from(b.read(hi))).toEqual(Array.from(ref.read(ri)));
      // matmul [1, 7, 97/..]: x as [1, 1, 97] times y as [1, 97, 1]
      const mo = { ...flat(b.alloc(half, 1), half, 1), shape: [1, 1, 1], strides: [1, 1, 1] };
      b.matmul(mo, { ...hx, shape: [1, 1, n], strides: [n, n, 1] }, { ...hy, shape: [1, n, 1], strides: [n, 1, 1] });
      const rm = { ...flat(ref.alloc('float32', 1), 'float32', 1), shape: [1, 1, 1], strides: [1, 1, 1] };
      ref.matmul(rm, { ...flat(rx, 'float32'), shape: [1, 1, n], strides: [n, n, 1] }, { ...flat(ry, 'float32'), shape: [1, n, 1], strides: [n, 1, 1] });
      const got = read32({ ...mo, shape: [1], strides: [1] })[0];
      const want = (ref.read(rm) as Float32Array)[0];
      expect(Math.abs(got - want)).toBeLessThanOrEqual(2 * eps * Math.abs(want) + 1e-2);
      // scatterAdd in half storage
      const idx = b.alloc('int32', n);
      b.write(idx, 'int32', new Int32Array(n).map((_, i) => i % 5));
      const acc = flat(b.alloc(half, 5), half, 5);
      b.fill(acc, 0);
      b.scatterAdd(acc, 0, flat(idx, 'int32'), hx);
      const sums = read32(acc);
      for (let k = 0; k < 5; k++) {
        let s = 0;
        for (let i = k; i < n; i += 5) s += xr[i];
        expect(Math.abs(sums[k] - s)).toBeLessThanOrEqual(30 * eps * (Math.abs(s) + 4));
      }
    }
  });
});
