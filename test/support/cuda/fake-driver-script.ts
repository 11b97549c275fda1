/**
 * Run by test/cuda-driver.test.ts in a child process (bundled by esbuild), with GRADBOOK_LIBCUDA
 * pointing at fake_libcuda.c built as a shared library: the real addon and the real TypeScript
 * backend over a fake driver whose device memory is host memory. Prints one JSON line.
 */
import type { Arg } from '../../../runtime/backend.js';
import { cuda, cudaBackend } from '../../../runtime/backends/cuda/index.js';

const out: Record<string, unknown> = { available: cuda.isAvailable(), reason: cuda.unavailableReason(), info: cuda.deviceInfo() };
const mode = process.env.SCRIPT_MODE ?? 'basic';
try {
  if (cudaBackend === null) throw new Error('no backend');
  const b = cudaBackend;
  const MiB = 1 << 20;
  if (mode === 'basic') {
    // writes and contiguous reads round-trip through the fake device memory
    const buf = b.alloc('float32', 1000);
    const data = new Float32Array(1000).map((_, i) => i * 0.5);
    b.write(buf, 'float32', data);
    const back = b.read({ buf, dtype: 'float32', shape: [10, 100], strides: [100, 1], offset: 0 }) as Float32Array;
    out.roundTrip = back.every((v, i) => v === data[i]);
    const part = b.read({ buf, dtype: 'float32', shape: [5], strides: [1], offset: 995 });
    out.partRead = Array.from(part);
    const s1 = cuda.memoryStats();
    b.free(buf);
    const again = b.alloc('float32', 1000);
    const s2 = cuda.memoryStats();
    out.cache = { allocated: s1.allocatedBytes, reserved: s1.reservedBytes, hits: s2.cacheHits, driverAllocs: s2.driverAllocations };
    // every kernel family launches with a valid configuration (the fake checks grid and block)
    const v = (shape: number[], dtype: Arg['dtype'] = 'float32'): Arg => {
      const n = shape.reduce((x, y) => x * y, 1);
      return { buf: b.alloc(dtype, n), dtype, shape, strides: shape.map((_, d) => shape.slice(d + 1).reduce((x, y) => x * y, 1)), offset: 0 };
    };
    const x = v([64, 300]);
    const y = v([64, 300]);
    b.unary('exp', y, x);
    b.binary('add', y, x, { ...x, strides: [0, 1], shape: [64, 300] });
    b.compare('lt', v([64, 300], 'bool'), x, y);
    b.where(y, v([64, 300], 'bool'), x, y);
    b.copy(v([64, 300], 'float16'), x);
    b.fill(y, 3);
    b.reduce('sum', v([64, 1]), x, [1]);
    b.reduce('amax', v([1, 300]), x, [0]);
    b.reduce('sum', v([1, 1]), x, [0, 1]);
    const big = v([3, 1 << 20]);
    b.reduce('sum', v([3, 1]), big, [1]);
    b.argReduce('argmax', v([64, 1], 'int32'), x, 1);
    b.matmul(v([2, 64, 32]), v([2, 64, 300]), v([2, 300, 32]));
    const idx = v([64, 300], 'int32');
    b.gather(v([64, 300]), x, 1, idx);
    b.scatterAdd(y, 0, idx, x);
    b.indexSelect(v([64, 5]), x, 1, v([5], 'int32'));
    b.indexAdd(y, 1, v([300], 'int32'), x);
    b.sync();
    out.launched = true;
    b.free(again);
  } else if (mode === 'oom') {
    // FAKE_CUDA_LIMIT=64 MiB: a second 40 MiB buffer does not fit while the first lives
    const first = b.alloc('float32', (40 * MiB) / 4);
    let msg = '';
    try {
      b.alloc('float32', (40 * MiB) / 4);
    } catch (e) {
      msg = (e as Error).message;
    }
    out.oomMessage = msg;
    out.aliveAfterOom = cuda.memoryStats().activeBlocks;
    b.free(first);
    b.alloc('float32', (40 * MiB) / 4); // fits once the first went back (to the cache, then the driver)
    out.afterFree = cuda.memoryStats();
    // garbage: an unreachable 40 MiB buffer is collected by the gc() the allocator runs on failure
    const drop = () => void b.alloc('float32', (20 * MiB) / 4);
    drop();
    const t = b.alloc('float32', (30 * MiB) / 4);
    out.gcReclaimed = t.nbytes === 30 * MiB;
  } else if (mode === 'fault') {
    // FAKE_CUDA_FAIL_SYNC=1: the stream reports an illegal address once a kernel ran
    const x: Arg = { buf: b.alloc('float32', 4), dtype: 'float32', shape: [4], strides: [1], offset: 0 };
    b.binary('mul', x, x, x);
    b.unary('relu', x, x);
    let msg = '';
    try {
      b.read(x);
    } catch (e) {
      msg = (e as Error).message;
    }
    out.faultMessage = msg;
  }
} catch (e) {
  out.error = (e as Error).stack ?? String(e);
}
console.log('RESULT' + JSON.stringify(out));
