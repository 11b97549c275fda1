/**
 * The CUDA backend.
 *  - build: nvcc compiled every kernel into a fatbin with sm_80 and sm_90 code and compute_90 PTX,
 *    and the addon loads where there is no driver, reporting CUDA unavailable (runs everywhere);
 *  - glue: the backend's TypeScript over a CPU emulation of the addon (test/support/cuda/mock-addon.ts) against the
 *    reference, which proves argument checks, dim merging, reduction plans and the cuBLAS mapping;
 *  - device: every kernel against the reference on random strided inputs, when a GPU is usable
 *    (skipped with the reason otherwise).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Arg, Backend } from '../runtime/backend.js';
import { createCudaBackendForTesting, cuda, cudaBackend } from '../runtime/backends/cuda/index.js';
import { createMockAddon } from './support/cuda/mock-addon.js';
import { suite } from './cuda-suite.js';

const root = join(import.meta.dirname, '..');
const buildDir = join(root, 'runtime', 'backends', 'cuda', 'build');
const fatbinPath = join(buildDir, 'kernels.fatbin');
const addonPath = join(buildDir, 'Release', 'gradbook_cuda.node');
const hasNvcc = spawnSync('sh', ['-c', 'command -v nvcc || test -x /usr/local/cuda/bin/nvcc'], { stdio: 'ignore' }).status === 0;

// ---- the build (runs everywhere nvcc is) ----
interface FatbinEntry {
  kind: 'elf' | 'ptx';
  arch: number;
}
function fatbinEntries(buf: Buffer): FatbinEntry[] {
  expect(buf.readUInt32LE(0)).toBe(0xba55ed50);
  const headerSize = buf.readUInt16LE(6);
  const fatSize = Number(buf.readBigUInt64LE(8));
  const out: FatbinEntry[] = [];
  let off = headerSize;
  while (off < headerSize + fatSize) {
    const kind = buf.readUInt16LE(off);
    const entryHeader = buf.readUInt32LE(off + 4);
    const payload = Number(buf.readBigUInt64LE(off + 8));
    const arch = buf.readUInt32LE(off + 28);
    out.push({ kind: kind === 2 ? 'elf' : 'ptx', arch });
    off += entryHeader + payload;
  }
  return out;
}

describe.skipIf(!hasNvcc && !existsSync(fatbinPath))('cuda build (nvcc)', () => {
  it('compiled every kernel into cubins for sm_80 and sm_90 plus compute_90 PTX', { timeout: 300_000 }, () => {
    if (!existsSync(fatbinPath) || !existsSync(addonPath)) {
      execFileSync('bash', [join(root, 'scripts', 'build-cuda.sh')], { env: { ...process.env, GRADBOOK_CUDA_STRICT: '1' }, stdio: 'pipe' });
    }
    const fat = readFileSync(fatbinPath);
    const entries = fatbinEntries(fat);
    expect(entries).toContainEqual({ kind: 'elf', arch: 80 });
    expect(entries).toContainEqual({ kind: 'elf', arch: 90 });
    expect(entries).toContainEqual({ kind: 'ptx', arch: 90 });
    // every kernel the backend may ask for is in the cubins (symbol names are stored uncompressed)
    const text = fat.toString('latin1');
    const dts = ['f32', 'f64', 'i32', 'b8', 'f16', 'bf16'];
    const families = ['unary', 'binary', 'compare', 'where', 'fill', 'move', 'gather', 'scatter', 'reduce', 'reducepart', 'reducecol', 'argreduce', 'matmul'];
    for (const f of families) for (const d of dts) expect(text.includes(`${f}_${d}\0`), `${f}_${d}`).toBe(true);
    for (const a of dts) for (const b of dts) expect(text.includes(`copy_${a}_${b}\0`), `copy_${a}_${b}`).toBe(true);
    expect(text.includes('gb_error\0')).toBe(true);
    // cuobjdump, where it is installed, agrees
    const cuobjdump = spawnSync('cuobjdump', ['--list-elf', fatbinPath], { encoding: 'utf8' });
    if (cuobjdump.status === 0) {
      expect(cuobjdump.stdout).toMatch(/sm_80/);
      expect(cuobjdump.stdout).toMatch(/sm_90/);
    }
  });

  it('loads the addon without a driver: CUDA is simply unavailable, nothing throws', () => {
    expect(existsSync(addonPath)).toBe(true);
    const script = `
      const a = require(${JSON.stringify(addonPath)});
      const r = a.init(new Uint8Array(16));
      console.log(JSON.stringify({ ok: r.ok, reason: r.reason, stats: a.memoryStats().allocatedBytes }));`;
    const res = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, GRADBOOK_LIBCUDA: '/nonexistent/libcuda.so.1' }, encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    const r = JSON.parse(res.stdout.trim()) as { ok: boolean; reason: string; stats: number };
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/libcuda/);
    expect(r.stats).toBe(0);
  });

  it('the driver prototypes the addon declares are exactly cuda.h\'s', () => {
    const dry = spawnSync('sh', ['-c', 'nvcc -dryrun -E -x cu /dev/null 2>&1'], { encoding: 'utf8' }).stdout;
    const inc = /INCLUDES="-I([^"]*)"/.exec(dry)?.[1];
    expect(inc && existsSync(join(inc, 'cuda.h')), 'cuda.h beside nvcc').toBeTruthy();
    const tu = '#include <cuda.h>\n#define GB_CHECK_AGAINST_CUDA_H\n#include "cuda_driver.h"\n';
    const res = spawnSync('g++', ['-std=c++17', '-fsyntax-only', `-I${inc}`, `-I${join(root, 'runtime', 'backends', 'cuda', 'src')}`, '-x', 'c++', '-'], {
      input: tu,
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
  });

  it('a machine without nvcc builds the addon and runs the kernels shipped with the package', () => {
    // no CUDA toolkit at all: nvcc is missing and the addon compiles without CUDA's headers
    const res = spawnSync('bash', [join(root, 'scripts', 'build-cuda.sh')], {
      env: { ...process.env, NVCC: '/nonexistent/nvcc', CPATH: '', CPLUS_INCLUDE_PATH: '' },
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/nvcc not found; using the CUDA kernels shipped with the package/);
    expect(res.stderr).toMatch(/CUDA backend built/);
    expect(existsSync(fatbinPath)).toBe(true);
    expect(existsSync(addonPath)).toBe(true);
  });

  it('the package ships the compiled kernels, the compiled runtime and the sources node-gyp builds', () => {
    const res = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    const files = new Set((JSON.parse(res.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path));
    for (const f of [
      'runtime/backends/cuda/build/kernels.fatbin',
      'runtime/backends/cuda/src/addon.cc',
      'runtime/backends/cuda/binding.gyp',
      'runtime/backends/cpu/src/matmul.cc',
      'binding.gyp',
      'scripts/build-cuda.sh',
      'dist/runtime/index.js',
      'dist/kernel/cli.js',
      'bin/gradbook.js',
      'data/digits.csv.gz',
    ]) {
      expect(files.has(f), f).toBe(true);
    }
    expect([...files].some((f) => f.endsWith('.node')), 'no machine-specific addon in the package').toBe(false);
  });
});

describe('cuda module on this machine', () => {
  it('reports availability without throwing, with a reason when unavailable', () => {
    expect(typeof cuda.isAvailable()).toBe('boolean');
    expect(cuda.isAvailable()).toBe(cudaBackend !== null);
    if (!cuda.isAvailable()) {
      expect(cuda.unavailableReason().length).toBeGreaterThan(0);
      expect(cuda.deviceCount()).toBe(0);
      expect(cuda.memoryStats().allocatedBytes).toBe(0);
      expect(() => cuda.synchronize()).not.toThrow();
    } else {
      expect(cuda.deviceCount()).toBeGreaterThan(0);
    }
  });
});

// ---- the TypeScript glue over the CPU emulation ----
const mock = createMockAddon({ memoryBytes: 96 << 20, sms: 4 });
const mockBackend = createCudaBackendForTesting(mock);
suite('cuda backend glue over the emulated addon (cuBLAS path)', () => mockBackend, { dtypes: ['float32', 'float64', 'int32', 'bool'], f32tol: 1e-5, big: true });
describe('cuda backend glue: paths taken', () => {
  it('used cuBLAS, the split and column reductions, and the indexing kernels', () => {
    for (const k of ['gemm', 'reducecol_f32', 'reducepart_f32', 'reduce_f32', 'argreduce_f32', 'matmul_i32', 'gather_f32', 'scatter_f64', 'copy_f32_i32', 'move_b8'])
      expect(mock.launches, k).toContain(k);
  });
});
const mockNoBlas = createCudaBackendForTesting(createMockAddon({ memoryBytes: 32 << 20, blas: false }));
describe('cuda backend glue without cuBLAS', () => {
  it('uses its own matmul kernel', () => {
    const a = mockNoBlas.alloc('float32', 6);
    mockNoBlas.write(a, 'float32', new Float32Array([1, 2, 3, 4, 5, 6]));
    const o = mockNoBlas.alloc('float32', 4);
    const A: Arg = { buf: a, dtype: 'float32', shape: [1, 2, 3], strides: [6, 3, 1], offset: 0 };
    const Bt: Arg = { buf: a, dtype: 'float32', shape: [1, 3, 2], strides: [6, 1, 3], offset: 0 };
    mockNoBlas.matmul({ buf: o, dtype: 'float32', shape: [1, 2, 2], strides: [4, 2, 1], offset: 0 }, A, Bt);
    expect(Array.from(mockNoBlas.read({ buf: o, dtype: 'float32', shape: [4], strides: [1], offset: 0 }))).toEqual([14, 32, 32, 77]);
  });
  it('throws an out-of-memory Error with the allocator figures and lives on', () => {
    expect(() => mockNoBlas.alloc('float32', 64 << 20)).toThrow(/CUDA out of memory: tried to allocate 256\.00 MiB.*reserved/);
    const b = mockNoBlas.alloc('float32', 4);
    mockNoBlas.free(b);
  });
});

// ---- the device ----
const available = cudaBackend !== null;
suite(
  available ? 'cuda backend on the GPU against the reference' : `cuda backend on the GPU against the reference (skipped: ${cuda.unavailableReason()})`,
  () => cudaBackend as Backend,
  { dtypes: ['float32', 'float64', 'int32', 'bool'], f32tol: 1e-5, big: true, skip: !available },
);
