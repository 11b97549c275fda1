/**
 * A stand-in for the CUDA addon that runs on the CPU: device memory is one ArrayBuffer, and each
 * launch interprets the descriptor the TypeScript side packed (the same fields kernels.cu reads)
 * with a JavaScript transcription of the kernel. It proves, on machines without a GPU, everything
 * between the Backend interface and the kernels: argument checks, dim merging, reduction plans,
 * the descriptor layout and the cuBLAS argument mapping (its `gemm` is a column-major GEMM with
 * cuBLAS's conventions). It is for tests only: float16/bfloat16 are not emulated.
 */
import type { TypedArray } from '../../../runtime/dtype.js';
import { erf } from '../../../runtime/backends/reference/math.js';

const BASE = 1 << 20; // device addresses start here, so 0 is never a valid address

type Dt = 'f32' | 'f64' | 'i32' | 'b8';
const ITEM: Record<Dt, number> = { f32: 4, f64: 8, i32: 4, b8: 1 };

function toInt32(v: number): number {
  return Number.isFinite(v) ? v | 0 : 0;
}

export interface MockAddon {
  launches: string[];
  [k: string]: unknown;
}

export function createMockAddon(opts: { memoryBytes?: number; blas?: boolean; sms?: number } = {}) {
  const mem = new ArrayBuffer(opts.memoryBytes ?? 64 << 20);
  const dv = new DataView(mem);
  const u8 = new Uint8Array(mem);
  let S: Float64Array = new Float64Array(0);
  const names: string[] = [];
  const launches: string[] = [];
  // allocator: first fit over a sorted free list of [addr, size]
  let free: [number, number][] = [[BASE, mem.byteLength]];
  const live = new Map<number, number>();
  let gbError = 0;

  const ld = (t: Dt, addr: number, i: number): number => {
    const a = addr - BASE + i * ITEM[t];
    if (a < 0 || a + ITEM[t] > mem.byteLength) throw new Error(`mock cuda: read outside device memory at ${addr} + ${i}`);
    switch (t) {
      case 'f32':
        return dv.getFloat32(a, true);
      case 'f64':
        return dv.getFloat64(a, true);
      case 'i32':
        return dv.getInt32(a, true);
      case 'b8':
        return dv.getUint8(a) ? 1 : 0;
    }
  };
  const st = (t: Dt, addr: number, i: number, v: number): void => {
    const a = addr - BASE + i * ITEM[t];
    if (a < 0 || a + ITEM[t] > mem.byteLength) throw new Error(`mock cuda: write outside device memory at ${addr} + ${i}`);
    switch (t) {
      case 'f32':
        return dv.setFloat32(a, v, true);
      case 'f64':
        return dv.setFloat64(a, v, true);
      case 'i32':
        return dv.setInt32(a, toInt32(v), true);
      case 'b8':
        return dv.setUint8(a, v !== 0 ? 1 : 0);
    }
  };
  // float32 kernels compute in float: round each operation's result
  const rnd = (t: Dt, v: number) => (t === 'f32' || t === 'b8' ? Math.fround(v) : v);

  function unaryOp(op: number, x: number): number {
    switch (op) {
      case 0: return -x;
      case 1: return Math.abs(x);
      case 2: return Number.isNaN(x) ? x : x > 0 ? 1 : x < 0 ? -1 : 0;
      case 3: return Math.exp(x);
      case 4: return Math.log(x);
      case 5: return Math.log1p(x);
      case 6: return Math.sqrt(x);
      case 7: return 1 / Math.sqrt(x);
      case 8: return Math.sin(x);
      case 9: return Math.cos(x);
      case 10: return Math.tanh(x);
      case 11: return 1 / (1 + Math.exp(-x));
      case 12: return Number.isNaN(x) ? x : x > 0 ? x : 0;
      case 13: return erf(x);
      case 14: return x === 0 ? 1 : 0;
    }
    return x;
  }
  function binaryOp(op: number, a: number, b: number, isInt: boolean): number {
    switch (op) {
      case 0: return a + b;
      case 1: return a - b;
      case 2: return a * b;
      case 3: return isInt ? Math.trunc(a / b) : a / b;
      case 4: return a === 1 || b === 0 ? 1 : Math.pow(a, b);
      case 5: return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
      case 6: return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
      case 7: return b <= 0 ? 0 : a;
    }
    return a;
  }
  const cmp = [(a: number, b: number) => a === b, (a: number, b: number) => a !== b, (a: number, b: number) => a < b, (a: number, b: number) => a <= b, (a: number, b: number) => a > b, (a: number, b: number) => a >= b];

  function ew() {
    const name = names[S[0]];
    const [fam, t1, t2] = name.split('_') as [string, Dt, Dt | undefined];
    const n = S[8], nd = S[9], op = S[10], scalar = S[11], dimStride = S[12], dimSize = S[13], errCode = S[14], nv = S[15];
    if (nd < 1 || nd > 8 || nv < 1 || nv > 4) throw new Error('mock cuda: bad descriptor');
    const shape = Array.from(S.subarray(16, 16 + nd));
    const p: number[] = [];
    const strides: number[][] = [];
    for (let v = 0; v < nv; v++) {
      p.push(S[24 + v * 9]);
      strides.push(Array.from(S.subarray(25 + v * 9, 25 + v * 9 + nd)));
    }
    const off = new Array<number>(nv);
    for (let i = 0; i < n; i++) {
      let r = i;
      off.fill(0);
      for (let d = nd - 1; d >= 0; d--) {
        const q = Math.floor(r / shape[d]);
        const k = r - q * shape[d];
        r = q;
        for (let v = 0; v < nv; v++) off[v] += k * strides[v][d];
      }
      const T = t1;
      const isInt = T === 'i32' || T === 'b8';
      switch (fam) {
        case 'unary':
          st(T, p[0], off[0], rnd(T, unaryOp(op, ld(T, p[1], off[1]))));
          break;
        case 'binary':
          st(T, p[0], off[0], rnd(T, binaryOp(op, ld(T, p[1], off[1]), ld(T, p[2], off[2]), isInt)));
          break;
        case 'compare':
          st('b8', p[0], off[0], cmp[op](ld(T, p[1], off[1]), ld(T, p[2], off[2])) ? 1 : 0);
          break;
        case 'where':
          st(T, p[0], off[0], ld('b8', p[1], off[1]) ? ld(T, p[2], off[2]) : ld(T, p[3], off[3]));
          break;
        case 'fill':
          st(T, p[0], off[0], scalar);
          break;
        case 'move':
          st(T, p[0], off[0], ld(T, p[1], off[1]));
          break;
        case 'copy':
          st(T, p[0], off[0], ld(t2 as Dt, p[1], off[1]));
          break;
        case 'gather': {
          const ix = ld('i32', p[2], off[2]);
          if (ix < 0 || ix >= dimSize) {
            if (gbError === 0) gbError = errCode;
            break;
          }
          st(T, p[0], off[0], ld(T, p[1], off[1] + ix * dimStride));
          break;
        }
        case 'scatter': {
          const ix = ld('i32', p[2], off[2]);
          if (ix < 0 || ix >= dimSize) {
            if (gbError === 0) gbError = errCode;
            break;
          }
          const k = off[0] + ix * dimStride;
          st(T, p[0], k, rnd(T, ld(T, p[0], k) + ld(T, p[1], off[1])));
          break;
        }
        default:
          throw new Error(`mock cuda: unknown kernel ${name}`);
      }
    }
  }

  function red() {
    const name = names[S[0]];
    const [fam, T] = name.split('_') as [string, Dt];
    const op = S[8], ond = S[9], ind = S[10], nOut = S[11], nIn = S[12], out = S[13], inp = S[14], partial = S[15], splits = S[16], chunk = S[17];
    const oshape = Array.from(S.subarray(18, 18 + ond));
    const ostIn = Array.from(S.subarray(26, 26 + ond));
    const ostOut = Array.from(S.subarray(34, 34 + ond));
    const ishape = Array.from(S.subarray(42, 42 + ind));
    const ist = Array.from(S.subarray(50, 50 + ind));
    const decomp = (i: number, shape: number[], strides: number[]) => {
      let off = 0;
      for (let d = shape.length - 1; d >= 0; d--) {
        const q = Math.floor(i / shape[d]);
        off += (i - q * shape[d]) * strides[d];
        i = q;
      }
      return off;
    };
    const init = op === 0 ? 0 : op === 1 ? -Infinity : Infinity;
    const comb = (x: number, y: number) => (op === 0 ? x + y : Number.isNaN(x) ? x : Number.isNaN(y) ? y : op === 1 ? Math.max(x, y) : Math.min(x, y));
    if (S[7] !== 1) throw new Error('mock cuda: bad reduce descriptor');
    for (let o = 0; o < nOut; o++) {
      const base = decomp(o, oshape, ostIn);
      const oo = decomp(o, oshape, ostOut);
      if (fam === 'argreduce') {
        let bv = NaN;
        let bi = -1;
        for (let j = 0; j < nIn; j++) {
          const v = ld(T, inp, base + j * ist[0]);
          if (bi === -1 || (!Number.isNaN(bv) && (Number.isNaN(v) || (op === 0 ? v > bv : v < bv)))) {
            bv = v;
            bi = j;
          }
        }
        st('i32', out, oo, bi);
      } else if (fam === 'reducepart') {
        let acc = init;
        for (let s = 0; s < splits; s++) acc = comb(acc, dv.getFloat64(partial - BASE + (o * splits + s) * 8, true));
        st(T, out, oo, acc);
      } else if ((fam === 'reduce' || fam === 'reducecol') && splits > 1) {
        for (let s = 0; s < splits; s++) {
          let acc = init;
          for (let j = s * chunk; j < Math.min((s + 1) * chunk, nIn); j++) acc = comb(acc, ld(T, inp, base + decomp(j, ishape, ist)));
          dv.setFloat64(partial - BASE + (o * splits + s) * 8, acc, true);
        }
      } else if (fam === 'reduce' || fam === 'reducecol') {
        let acc = init;
        for (let j = 0; j < nIn; j++) acc = comb(acc, ld(T, inp, base + decomp(j, ishape, ist)));
        st(T, out, oo, acc);
      } else throw new Error(`mock cuda: unknown kernel ${name}`);
    }
  }

  function mm() {
    const T = names[S[0]].split('_')[1] as Dt;
    const [B, M, N, K, a, b, o] = Array.from(S.subarray(8, 15));
    const sa = Array.from(S.subarray(15, 18));
    const sb = Array.from(S.subarray(18, 21));
    const so = Array.from(S.subarray(21, 24));
    for (let bi = 0; bi < B; bi++)
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += ld(T, a, bi * sa[0] + i * sa[1] + k * sa[2]) * ld(T, b, bi * sb[0] + k * sb[1] + j * sb[2]);
          st(T, o, bi * so[0] + i * so[1] + j * so[2], s);
        }
  }

  const addon = {
    launches,
    init: () => ({ ok: true, reason: '', driverVersion: 13000, deviceCount: 1, name: 'mock', capability: '9.0', multiprocessors: opts.sms ?? 4, totalMemory: mem.byteLength }),
    setScratch(s: Float64Array) {
      S = s;
    },
    kernelIndex(name: string) {
      let i = names.indexOf(name);
      if (i < 0) {
        names.push(name);
        i = names.length - 1;
      }
      return i;
    },
    alloc(nbytes: number) {
      const size = Math.max(512, Math.ceil(nbytes / 512) * 512);
      const k = free.findIndex(([, s]) => s >= size);
      if (k < 0) return null;
      const [addr, s] = free[k];
      if (s === size) free.splice(k, 1);
      else free[k] = [addr + size, s - size];
      live.set(addr, size);
      u8.fill(0x7f, addr - BASE, addr - BASE + size); // garbage, as fresh device memory may hold
      S[0] = addr;
      S[1] = size;
      return { addr };
    },
    free(h: { addr: number }) {
      const size = live.get(h.addr);
      if (size === undefined) throw new Error('mock cuda: double free');
      live.delete(h.addr);
      free.push([h.addr, size]);
      free.sort((x, y) => x[0] - y[0]);
      const merged: [number, number][] = [];
      for (const f of free) {
        const last = merged[merged.length - 1];
        if (last && last[0] + last[1] === f[0]) last[1] += f[1];
        else merged.push([f[0], f[1]]);
      }
      free = merged;
    },
    emptyCache() {},
    memoryStats() {
      let allocated = 0;
      for (const s of live.values()) allocated += s;
      return { allocatedBytes: allocated, reservedBytes: allocated, cachedBytes: 0, peakAllocatedBytes: 0, activeBlocks: live.size, cachedBlocks: 0, allocations: 0, frees: 0, cacheHits: 0, driverAllocations: 0, driverFrees: 0, ooms: 0, deviceFreeBytes: 0, deviceTotalBytes: mem.byteLength };
    },
    write(addr: number, data: TypedArray) {
      u8.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), addr - BASE);
    },
    read(addr: number, into: TypedArray) {
      new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(u8.subarray(addr - BASE, addr - BASE + into.byteLength));
      return '';
    },
    sync: () => '',
    takeIndexError() {
      const e = gbError;
      gbError = 0;
      return e;
    },
    launch() {
      launches.push(names[S[0]]);
      const kind = S[7];
      if (kind === 0) ew();
      else if (kind === 1) red();
      else if (kind === 2) mm();
      else return 'bad kind';
      return '';
    },
    blasInfo: () => ({ available: opts.blas ?? true, library: 'mock', reason: opts.blas === false ? 'mock without cuBLAS' : '' }),
    gemm() {
      // column-major: C (m x n) = op(A) (m x k) * op(B) (k x n), batched with strides
      const dt = S[0];
      const T: Dt = dt === 0 ? 'f32' : dt === 1 ? 'f64' : (() => { throw new Error('mock cuda: gemm dtype'); })();
      const [ta, tb, m, n, k, A, lda, sA, Bp, ldb, sB, C, ldc, sC, batch] = Array.from(S.subarray(1, 16));
      if (lda < Math.max(1, ta ? k : m) || ldb < Math.max(1, tb ? n : k) || ldc < Math.max(1, m)) return `mock gemm: bad leading dimension (lda ${lda}, ldb ${ldb}, ldc ${ldc})`;
      launches.push('gemm');
      for (let bi = 0; bi < batch; bi++)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) {
              const av = ta ? ld(T, A, bi * sA + p + i * lda) : ld(T, A, bi * sA + i + p * lda);
              const bv = tb ? ld(T, Bp, bi * sB + j + p * ldb) : ld(T, Bp, bi * sB + p + j * ldb);
              s += av * bv;
            }
            st(T, C, bi * sC + i + j * ldc, s);
          }
      return '';
    },
  };
  return addon;
}

