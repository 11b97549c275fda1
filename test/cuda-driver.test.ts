/**
 * The CUDA addon and backend over a fake driver (test/support/cuda/fake_libcuda.c, built
 * here with cc): proves on machines without a GPU that the driver is opened at run time, every
 * entry point is taken through cuGetProcAddress with an explicit version (the fake aborts on the
 * unversioned cuMemAlloc), the kernels' fatbin is handed to cuModuleLoadData, the caching
 * allocator reuses blocks, an allocation that fails collects garbage, releases the cache, retries
 * and then throws an Error with the allocator's figures, and a fault reported by the stream
 * surfaces as an Error naming the ops. Kernels do not run (the fake records launches and checks
 * their configuration); the GPU checks (bench/gpu-checks.ts) prove them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const cudaDir = join(root, 'runtime', 'backends', 'cuda');
const supportDir = join(root, 'test', 'support', 'cuda');
const built = existsSync(join(cudaDir, 'build', 'Release', 'gradbook_cuda.node')) && existsSync(join(cudaDir, 'build', 'kernels.fatbin'));
const cc = spawnSync('sh', ['-c', 'command -v cc'], { encoding: 'utf8' }).stdout.trim();

const tmp = mkdtempSync(join(tmpdir(), 'gradbook-fake-cuda-'));
const lib = join(tmp, 'libcuda.so.1');
const script = join(tmp, 'script.mjs');

function runScript(mode: string, env: Record<string, string> = {}): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--expose-gc', script], {
    env: { ...process.env, GRADBOOK_LIBCUDA: lib, GRADBOOK_CUDA_DIR: join(cudaDir, 'build'), SCRIPT_MODE: mode, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT'));
  if (!line) throw new Error(`the script printed no result (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  // the process also exits cleanly (no crash in finalizers or static destructors at exit)
  if (r.status !== 0) throw new Error(`the script exited with status ${r.status} (signal ${r.signal}):\n${r.stderr}`);
  return JSON.parse(line.slice(6)) as Record<string, unknown>;
}

describe.skipIf(!built || !cc)(`cuda addon over a fake driver${!built ? ' (skipped: run scripts/build-cuda.sh)' : !cc ? ' (skipped: no C compiler)' : ''}`, () => {
  beforeAll(async () => {
    const r = spawnSync(cc, ['-O1', '-Wall', '-shared', '-fPIC', '-o', lib, join(supportDir, 'fake_libcuda.c')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cc failed: ${r.stderr}`);
    await build({
      entryPoints: [join(supportDir, 'fake-driver-script.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'warning',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
  }, 60_000);

  it('opens the driver, loads the kernels and round-trips data; every kernel family launches', () => {
    const r = runScript('basic');
    expect(r.error).toBeUndefined();
    expect(r.available).toBe(true);
    expect(r.info).toMatchObject({ name: 'Fake GPU', capability: '9.0', multiprocessors: 132, deviceCount: 1, driverVersion: 13000 });
    expect(r.roundTrip).toBe(true);
    expect(r.partRead).toEqual([497.5, 498, 498.5, 499, 499.5]);
    // 4000 bytes round up to the 4096 class; the second request of that class reuses the block
    expect(r.cache).toEqual({ allocated: 4096, reserved: 4096, hits: 1, driverAllocs: 1 });
    expect(r.launched).toBe(true);
  });

  it('on out of memory: collects garbage, releases the cache, retries, then throws with the figures', () => {
    const r = runScript('oom', { FAKE_CUDA_LIMIT: String(64 << 20) });
    expect(r.error).toBeUndefined();
    expect(r.oomMessage).toMatch(/^CUDA out of memory: tried to allocate 40\.00 MiB \(41943040 bytes, 10485760 float32\); this process has 40\.00 MiB allocated in 1 tensors' buffers, 40\.00 MiB reserved/);
    expect(r.oomMessage).toMatch(/the device has 24\.00 MiB free of 64\.00 MiB/);
    expect(r.aliveAfterOom).toBe(1);
    expect(r.gcReclaimed).toBe(true);
  });

  it('a fault reported at synchronisation becomes an Error naming the ops launched since', () => {
    const r = runScript('fault', { FAKE_CUDA_FAIL_SYNC: '1' });
    expect(r.error).toBeUndefined();
    expect(r.faultMessage).toMatch(/cuda: read: a kernel failed: CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access was encountered; ops launched since the last synchronisation \(last 2, most recent last\): mul, relu/);
  });

  it('without the driver library, CUDA is unavailable with the reason, and nothing throws', () => {
    const r = runScript('basic', { GRADBOOK_LIBCUDA: join(tmp, 'missing', 'libcuda.so.1') });
    expect(r.available).toBe(false);
    expect(String(r.reason)).toMatch(/libcuda\.so\.1 could not be opened/);
  });
});
