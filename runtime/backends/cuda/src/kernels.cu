// gradbook CUDA kernels. Compiled by nvcc at build time into one fatbin (sm_80, sm_90 cubins plus
// compute_90 PTX) that the addon loads with cuModuleLoadData. Every kernel is extern "C" so the
// addon finds it by name: <family>_<dtype>, dtype one of f32 f64 i32 b8 f16 bf16.
//
// Note [Arguments]: views arrive as one struct passed by value (kernel parameter memory): a shape of
// at most MAXD dims shared by all views, and per view a byte pointer (already advanced by the view's
// offset) and element strides. Indices are 64-bit throughout.
//
// Note [Numerics]: float32, float16, bfloat16 and bool compute in float, float64 and int32 in double
// (int32 results are stored as JavaScript's ToInt32 stores them: truncated, wrapped mod 2^32,
// non-finite to 0, as the reference backend's Int32Array does). Sums accumulate in double, except
// for the half types (float). amax/amin propagate NaN; argmax/argmin return the first extremum and
// NaN counts as the extremum.
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <stdint.h>

#define MAXD 8
#define NV 4

// Set by the indexing kernels on an index out of range; the addon reads and clears it on sync.
extern "C" {
__device__ int gb_error = 0;
}

struct Ew {
  long long n;
  long long dimStride;  // indexing kernels: stride (elements) of the indexed dim in the indexed view
  long long st[NV][MAXD];
  char* p[NV];
  double scalar;
  int shape[MAXD];
  int nd;
  int op;
  int dimSize;  // indexing kernels: the indexed dim's length (index values must be in [0, dimSize))
  int errCode;  // value written to gb_error on a bad index
};

struct Red {
  long long nOut, nIn;
  long long ostIn[MAXD], ostOut[MAXD], ist[MAXD];
  const char* in;
  char* out;
  double* partial;
  int oshape[MAXD], ishape[MAXD];
  int ond, ind;
  int op;       // 0 sum, 1 amax, 2 amin; argReduce: 0 argmax, 1 argmin
  int splits;   // blocks per output along gridDim.y; >1 writes partials
  long long chunk;  // inner elements per split
};

struct Mm {
  long long sa[3], sb[3], so[3];  // strides of [B, M, K], [B, K, N], [B, M, N]
  const char* a;
  const char* b;
  char* o;
  int B, M, N, K;
};

static_assert(sizeof(Ew) == 360 && sizeof(Red) == 320 && sizeof(Mm) == 112, "layouts must match addon.cc");

// ---- dtype traits ----
template <class T> struct Tr;
template <> struct Tr<float> {
  typedef float C;
  typedef double A;
  static __device__ __forceinline__ C ld(const float* p) { return *p; }
  static __device__ __forceinline__ float st(C v) { return v; }
  static __device__ __forceinline__ double toD(float v) { return (double)v; }
  static __device__ __forceinline__ float fromD(double v) { return (float)v; }
};
template <> struct Tr<double> {
  typedef double C;
  typedef double A;
  static __device__ __forceinline__ C ld(const double* p) { return *p; }
  static __device__ __forceinline__ double st(C v) { return v; }
  static __device__ __forceinline__ double toD(double v) { return v; }
  static __device__ __forceinline__ double fromD(double v) { return v; }
};
__device__ __forceinline__ int toInt32(double v) {
  if (!isfinite(v)) return 0;
  double t = fmod(trunc(v), 4294967296.0);
  if (t < 0) t += 4294967296.0;
  return (int)(unsigned int)(unsigned long long)t;
}
template <> struct Tr<int> {
  typedef double C;
  typedef double A;
  static __device__ __forceinline__ C ld(const int* p) { return (double)*p; }
  static __device__ __forceinline__ int st(C v) { return toInt32(v); }
  static __device__ __forceinline__ double toD(int v) { return (double)v; }
  static __device__ __forceinline__ int fromD(double v) { return toInt32(v); }
};
template <> struct Tr<uint8_t> {
  typedef float C;
  typedef double A;
  static __device__ __forceinline__ C ld(const uint8_t* p) { return *p ? 1.f : 0.f; }
  static __device__ __forceinline__ uint8_t st(C v) { return v != 0.f ? 1 : 0; }  // NaN != 0: true
  static __device__ __forceinline__ double toD(uint8_t v) { return v ? 1.0 : 0.0; }
  static __device__ __forceinline__ uint8_t fromD(double v) { return v != 0.0 ? 1 : 0; }
};
template <> struct Tr<__half> {
  typedef float C;
  typedef float A;
  static __device__ __forceinline__ C ld(const __half* p) { return __half2float(*p); }
  static __device__ __forceinline__ __half st(C v) { return __float2half_rn(v); }
  static __device__ __forceinline__ double toD(__half v) { return (double)__half2float(v); }
  static __device__ __forceinline__ __half fromD(double v) { return __double2half(v); }
};
template <> struct Tr<__nv_bfloat16> {
  typedef float C;
  typedef float A;
  static __device__ __forceinline__ C ld(const __nv_bfloat16* p) { return __bfloat162float(*p); }
  static __device__ __forceinline__ __nv_bfloat16 st(C v) { return __float2bfloat16_rn(v); }
  static __device__ __forceinline__ double toD(__nv_bfloat16 v) { return (double)__bfloat162float(v); }
  static __device__ __forceinline__ __nv_bfloat16 fromD(double v) { return __double2bfloat16(v); }
};

// ---- index decomposition ----
template <int NVIEWS>
__device__ __forceinline__ void offsets(const Ew& a, long long i, long long (&off)[NVIEWS]) {
#pragma unroll
  for (int v = 0; v < NVIEWS; v++) off[v] = 0;
  if (a.nd == 1) {
#pragma unroll
    for (int v = 0; v < NVIEWS; v++) off[v] = i * a.st[v][0];
    return;
  }
  if (a.n <= 0x7fffffffLL) {
    // 32-bit division when the index fits (the common case; 64-bit division is far slower)
    unsigned int u = (unsigned int)i;
#pragma unroll
    for (int d = MAXD - 1; d >= 0; d--) {
      if (d < a.nd) {
        unsigned int s = (unsigned int)a.shape[d];
        unsigned int q = u / s;
        unsigned int r = u - q * s;
        u = q;
#pragma unroll
        for (int v = 0; v < NVIEWS; v++) off[v] += (long long)r * a.st[v][d];
      }
    }
    return;
  }
#pragma unroll
  for (int d = MAXD - 1; d >= 0; d--) {
    if (d < a.nd) {
      long long s = a.shape[d];
      long long q = i / s;
      long long r = i - q * s;
      i = q;
#pragma unroll
      for (int v = 0; v < NVIEWS; v++) off[v] += r * a.st[v][d];
    }
  }
}

#define GRID_LOOP(i, n) \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

// ---- scalar math (op codes follow runtime/ops.ts's lists) ----
template <class C> __device__ __forceinline__ C unaryOp(int op, C x) {
  switch (op) {
    case 0: return -x;
    case 1: return fabs(x);
    case 2: return isnan(x) ? x : (x > C(0) ? C(1) : x < C(0) ? C(-1) : C(0));
    case 3: return exp(x);
    case 4: return log(x);
    case 5: return log1p(x);
    case 6: return sqrt(x);
    case 7: return C(1) / sqrt(x);
    case 8: return sin(x);
    case 9: return cos(x);
    case 10: return tanh(x);
    case 11: return C(1) / (C(1) + exp(-x));
    case 12: return isnan(x) ? x : (x > C(0) ? x : C(0));
    case 13: return erf(x);
    case 14: return x == C(0) ? C(1) : C(0);
  }
  return x;
}

// Integer power as the reference computes it: exact by squaring with int32 wrap-around; a
// negative exponent gives 0 except for bases 1 and -1.
__device__ __forceinline__ int intPow(long long a, long long b) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
  unsigned int result = 1u;
  unsigned int base = (unsigned int)(int)a;
  while (b > 0) {
    if (b & 1) result *= base;
    base *= base;
    b >>= 1;
  }
  return (int)result;
}

template <class C> __device__ __forceinline__ C binaryOp(int op, C a, C b, bool isInt) {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return isInt ? trunc(a / b) : a / b;
    case 4:
      if (isInt) return C(intPow((long long)a, (long long)b));
      if (a == C(1) || b == C(0)) return C(1);
      if (a == C(-1) && isinf(b)) return C(NAN);  // as JavaScript's Math.pow
      return pow(a, b);
    case 5: return (isnan(a) || isnan(b)) ? C(NAN) : (a > b ? a : b);
    case 6: return (isnan(a) || isnan(b)) ? C(NAN) : (a < b ? a : b);
    case 7: return b <= C(0) ? C(0) : a;  // reluBackward
  }
  return a;
}

template <class C> __device__ __forceinline__ bool compareOp(int op, C a, C b) {
  switch (op) {
    case 0: return a == b;
    case 1: return a != b;
    case 2: return a < b;
    case 3: return a <= b;
    case 4: return a > b;
    case 5: return a >= b;
  }
  return false;
}

template <class T> struct IsInt { static const bool v = false; };
template <> struct IsInt<int> { static const bool v = true; };
template <> struct IsInt<uint8_t> { static const bool v = true; };

// ---- elementwise ----
template <class T> __device__ __forceinline__ void unary_body(const Ew& a) {
  typedef typename Tr<T>::C C;
  GRID_LOOP(i, a.n) {
    long long o[2];
    offsets<2>(a, i, o);
    C x = Tr<T>::ld((const T*)a.p[1] + o[1]);
    ((T*)a.p[0])[o[0]] = Tr<T>::st(unaryOp<C>(a.op, x));
  }
}
template <class T> __device__ __forceinline__ void binary_body(const Ew& a) {
  typedef typename Tr<T>::C C;
  GRID_LOOP(i, a.n) {
    long long o[3];
    offsets<3>(a, i, o);
    C x = Tr<T>::ld((const T*)a.p[1] + o[1]);
    C y = Tr<T>::ld((const T*)a.p[2] + o[2]);
    ((T*)a.p[0])[o[0]] = Tr<T>::st(binaryOp<C>(a.op, x, y, IsInt<T>::v));
  }
}
template <class T> __device__ __forceinline__ void compare_body(const Ew& a) {
  typedef typename Tr<T>::C C;
  GRID_LOOP(i, a.n) {
    long long o[3];
    offsets<3>(a, i, o);
    C x = Tr<T>::ld((const T*)a.p[1] + o[1]);
    C y = Tr<T>::ld((const T*)a.p[2] + o[2]);
    ((uint8_t*)a.p[0])[o[0]] = compareOp<C>(a.op, x, y) ? 1 : 0;
  }
}
template <class T> __device__ __forceinline__ void where_body(const Ew& a) {
  GRID_LOOP(i, a.n) {
    long long o[4];
    offsets<4>(a, i, o);
    bool c = ((const uint8_t*)a.p[1])[o[1]] != 0;
    ((T*)a.p[0])[o[0]] = c ? ((const T*)a.p[2])[o[2]] : ((const T*)a.p[3])[o[3]];
  }
}
template <class T> __device__ __forceinline__ void fill_body(const Ew& a) {
  T v = Tr<T>::fromD(a.scalar);
  GRID_LOOP(i, a.n) {
    long long o[1];
    offsets<1>(a, i, o);
    ((T*)a.p[0])[o[0]] = v;
  }
}
template <class T, class U> __device__ __forceinline__ void copy_body(const Ew& a) {
  GRID_LOOP(i, a.n) {
    long long o[2];
    offsets<2>(a, i, o);
    ((T*)a.p[0])[o[0]] = Tr<T>::fromD(Tr<U>::toD(((const U*)a.p[1])[o[1]]));
  }
}
// Same dtype: a plain move of the storage words (keeps NaN payloads, no conversion cost).
template <class T> __device__ __forceinline__ void move_body(const Ew& a) {
  GRID_LOOP(i, a.n) {
    long long o[2];
    offsets<2>(a, i, o);
    ((T*)a.p[0])[o[0]] = ((const T*)a.p[1])[o[1]];
  }
}

// ---- indexing ----
// gather / indexSelect: p[0] out, p[1] source with the indexed dim's stride zeroed, p[2] the index
// (int32) viewed over the output's shape. out = src[off1 + ix * dimStride].
template <class T> __device__ __forceinline__ void gather_body(const Ew& a) {
  GRID_LOOP(i, a.n) {
    long long o[3];
    offsets<3>(a, i, o);
    int ix = ((const int*)a.p[2])[o[2]];
    if (ix < 0 || ix >= a.dimSize) {
      atomicCAS(&gb_error, 0, a.errCode);
      continue;
    }
    ((T*)a.p[0])[o[0]] = ((const T*)a.p[1])[o[1] + (long long)ix * a.dimStride];
  }
}

template <class T> __device__ __forceinline__ void atomicAddT(T* p, typename Tr<T>::C v);
template <> __device__ __forceinline__ void atomicAddT<float>(float* p, float v) { atomicAdd(p, v); }
template <> __device__ __forceinline__ void atomicAddT<double>(double* p, double v) { atomicAdd(p, v); }
template <> __device__ __forceinline__ void atomicAddT<int>(int* p, double v) {
  atomicAdd(p, toInt32(v));  // wraps mod 2^32 as the reference's store does
}
template <> __device__ __forceinline__ void atomicAddT<__half>(__half* p, float v) { atomicAdd(p, __float2half_rn(v)); }
template <> __device__ __forceinline__ void atomicAddT<__nv_bfloat16>(__nv_bfloat16* p, float v) {
  atomicAdd(p, __float2bfloat16_rn(v));
}
template <> __device__ __forceinline__ void atomicAddT<uint8_t>(uint8_t* p, float v) {
  // (o + s) != 0 for o, s in {0, 1}: a logical or, so only a nonzero addend writes, and it writes 1.
  if (v != 0.f) *(volatile uint8_t*)p = 1;
}

// scatterAdd / indexAdd: p[0] destination with the indexed dim's stride zeroed, p[1] src, p[2] the
// index viewed over src's shape. dst[off0 + ix * dimStride] += src.
template <class T> __device__ __forceinline__ void scatter_body(const Ew& a) {
  GRID_LOOP(i, a.n) {
    long long o[3];
    offsets<3>(a, i, o);
    int ix = ((const int*)a.p[2])[o[2]];
    if (ix < 0 || ix >= a.dimSize) {
      atomicCAS(&gb_error, 0, a.errCode);
      continue;
    }
    atomicAddT<T>((T*)a.p[0] + o[0] + (long long)ix * a.dimStride, Tr<T>::ld((const T*)a.p[1] + o[1]));
  }
}

// ---- reductions ----
template <class A> __device__ __forceinline__ A rinit(int op) {
  return op == 0 ? A(0) : op == 1 ? A(-INFINITY) : A(INFINITY);
}
template <class A> __device__ __forceinline__ A rcomb(int op, A x, A y) {
  if (op == 0) return x + y;
  if (isnan(x)) return x;
  if (isnan(y)) return y;
  return op == 1 ? (y > x ? y : x) : (y < x ? y : x);
}
__device__ __forceinline__ long long outerIn(const Red& r, long long o) {
  long long off = 0;
#pragma unroll
  for (int d = MAXD - 1; d >= 0; d--)
    if (d < r.ond) {
      long long s = r.oshape[d], q = o / s;
      off += (o - q * s) * r.ostIn[d];
      o = q;
    }
  return off;
}
__device__ __forceinline__ long long outerOut(const Red& r, long long o) {
  long long off = 0;
#pragma unroll
  for (int d = MAXD - 1; d >= 0; d--)
    if (d < r.ond) {
      long long s = r.oshape[d], q = o / s;
      off += (o - q * s) * r.ostOut[d];
      o = q;
    }
  return off;
}
__device__ __forceinline__ long long innerOff(const Red& r, long long j) {
  if (r.ind == 1) return j * r.ist[0];
  long long off = 0;
#pragma unroll
  for (int d = MAXD - 1; d >= 0; d--)
    if (d < r.ind) {
      long long s = r.ishape[d], q = j / s;
      off += (j - q * s) * r.ist[d];
      j = q;
    }
  return off;
}

template <class A> __device__ __forceinline__ A warpReduce(int op, A v) {
#pragma unroll
  for (int s = 16; s > 0; s >>= 1) v = rcomb<A>(op, v, __shfl_down_sync(0xffffffffu, v, s));
  return v;
}
// Whole-block reduction; the result is valid in thread 0. blockDim.x is a multiple of 32, <= 1024.
template <class A> __device__ __forceinline__ A blockReduce(int op, A v) {
  __shared__ A part[32];
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  v = warpReduce<A>(op, v);
  if (lane == 0) part[w] = v;
  __syncthreads();
  int nw = blockDim.x >> 5;
  v = (int)threadIdx.x < nw ? part[threadIdx.x] : rinit<A>(op);
  if (w == 0) v = warpReduce<A>(op, v);
  return v;
}

// One block (1-D) per (output, split): blockIdx.x walks outputs (grid-stride), blockIdx.y the split.
template <class T> __device__ __forceinline__ void reduce_body(const Red& r) {
  typedef typename Tr<T>::A A;
  const T* in = (const T*)r.in;
  for (long long o = blockIdx.x; o < r.nOut; o += gridDim.x) {
    long long base = outerIn(r, o);
    long long j0 = (long long)blockIdx.y * r.chunk;
    long long j1 = j0 + r.chunk < r.nIn ? j0 + r.chunk : r.nIn;
    A acc = rinit<A>(r.op);
    for (long long j = j0 + threadIdx.x; j < j1; j += blockDim.x)
      acc = rcomb<A>(r.op, acc, (A)Tr<T>::ld(in + base + innerOff(r, j)));
    acc = blockReduce<A>(r.op, acc);
    if (threadIdx.x == 0) {
      if (r.splits > 1) r.partial[o * r.splits + blockIdx.y] = (double)acc;
      else ((T*)r.out)[outerOut(r, o)] = Tr<T>::st((typename Tr<T>::C)acc);
    }
    __syncthreads();  // `part` is reused by the next output
  }
}
// Second pass of a split reduction: one thread per output combines its splits' partials.
template <class T> __device__ __forceinline__ void reducepart_body(const Red& r) {
  typedef typename Tr<T>::A A;
  GRID_LOOP(o, r.nOut) {
    A acc = rinit<A>(r.op);
    for (int s = 0; s < r.splits; s++) acc = rcomb<A>(r.op, acc, (A)r.partial[o * r.splits + s]);
    ((T*)r.out)[outerOut(r, o)] = Tr<T>::st((typename Tr<T>::C)acc);
  }
}
// Outputs adjacent in the input (the kept innermost dim has stride 1): blocks of 32 x 8 threads,
// 32 consecutive outputs per block (coalesced), 8 rows of threads splitting the reduced range.
// With r.splits > 1, blockIdx.y takes rows [y * chunk, (y + 1) * chunk) and writes a partial.
template <class T> __device__ __forceinline__ void reducecol_body(const Red& r) {
  typedef typename Tr<T>::A A;
  __shared__ A sm[8][33];
  const T* in = (const T*)r.in;
  long long o = (long long)blockIdx.x * 32 + threadIdx.x;
  long long j0 = (long long)blockIdx.y * r.chunk;
  long long j1 = j0 + r.chunk < r.nIn ? j0 + r.chunk : r.nIn;
  A acc = rinit<A>(r.op);
  if (o < r.nOut) {
    long long base = outerIn(r, o);
    for (long long j = j0 + threadIdx.y; j < j1; j += blockDim.y)
      acc = rcomb<A>(r.op, acc, (A)Tr<T>::ld(in + base + innerOff(r, j)));
  }
  sm[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && o < r.nOut) {
    for (int y = 1; y < (int)blockDim.y; y++) acc = rcomb<A>(r.op, acc, sm[y][threadIdx.x]);
    if (r.splits > 1) r.partial[o * r.splits + blockIdx.y] = (double)acc;
    else ((T*)r.out)[outerOut(r, o)] = Tr<T>::st((typename Tr<T>::C)acc);
  }
}

// argmax / argmin along one axis (r.ind == 1): the first extremum; NaN is the extremum.
template <class A> struct VI {
  A v;
  int i;
};
template <class A> __device__ __forceinline__ VI<A> acomb(int op, VI<A> x, VI<A> y) {
  if (x.i < 0) return y;
  if (y.i < 0) return x;
  bool xn = isnan(x.v), yn = isnan(y.v);
  if (xn || yn) {
    if (xn && yn) return x.i < y.i ? x : y;
    return xn ? x : y;
  }
  bool yBetter = op == 0 ? y.v > x.v : y.v < x.v;
  if (yBetter) return y;
  if (y.v == x.v) return x.i < y.i ? x : y;
  return x;
}
template <class T> __device__ __forceinline__ void argreduce_body(const Red& r) {
  typedef typename Tr<T>::A A;
  __shared__ A pv[32];
  __shared__ int pi[32];
  const T* in = (const T*)r.in;
  for (long long o = blockIdx.x; o < r.nOut; o += gridDim.x) {
    long long base = outerIn(r, o);
    VI<A> acc;
    acc.v = A(0);
    acc.i = -1;
    for (long long j = threadIdx.x; j < r.nIn; j += blockDim.x) {
      VI<A> e;
      e.v = (A)Tr<T>::ld(in + base + j * r.ist[0]);
      e.i = (int)j;
      acc = acomb<A>(r.op, acc, e);
    }
#pragma unroll
    for (int s = 16; s > 0; s >>= 1) {
      VI<A> e;
      e.v = __shfl_down_sync(0xffffffffu, acc.v, s);
      e.i = __shfl_down_sync(0xffffffffu, acc.i, s);
      acc = acomb<A>(r.op, acc, e);
    }
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) {
      pv[w] = acc.v;
      pi[w] = acc.i;
    }
    __syncthreads();
    if (w == 0) {
      acc.v = lane < nw ? pv[lane] : A(0);
      acc.i = lane < nw ? pi[lane] : -1;
#pragma unroll
      for (int s = 16; s > 0; s >>= 1) {
        VI<A> e;
        e.v = __shfl_down_sync(0xffffffffu, acc.v, s);
        e.i = __shfl_down_sync(0xffffffffu, acc.i, s);
        acc = acomb<A>(r.op, acc, e);
      }
      if (lane == 0) ((int*)r.out)[outerOut(r, o)] = acc.i;  // -1 for an empty axis, as the reference
    }
    __syncthreads();
  }
}

// ---- matmul (the fallback when cuBLAS is not there, and for int32/bool) ----
// 64 x 64 output tile per block of 16 x 16 threads, each thread a 4 x 4 register tile, K in steps
// of 16 through shared memory. Operands are read through their strides (any layout).
#define TM 64
#define TN 64
#define TK 16
template <class T> __device__ __forceinline__ void matmul_body(const Mm& m) {
  typedef typename Tr<T>::A A0;
  // int32 accumulates in double (exact to 2^53), the float types in float (double for float64).
  typedef typename Tr<T>::C C;
  __shared__ C As[TK][TM + 1];
  __shared__ C Bs[TK][TN + 1];
  (void)sizeof(A0);
  const T* A = (const T*)m.a;
  const T* Bm = (const T*)m.b;
  T* O = (T*)m.o;
  int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
  int row0 = blockIdx.y * TM, col0 = blockIdx.x * TN;
  for (int bi = blockIdx.z; bi < m.B; bi += gridDim.z) {
    const T* a = A + bi * m.sa[0];
    const T* b = Bm + bi * m.sb[0];
    C acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
      for (int j = 0; j < 4; j++) acc[i][j] = C(0);
    for (int k0 = 0; k0 < m.K; k0 += TK) {
#pragma unroll
      for (int r = 0; r < 4; r++) {
        int idx = tid + 256 * r;
        int row = idx / TK, kk = idx % TK;  // A tile: TM x TK
        int gr = row0 + row, gk = k0 + kk;
        As[kk][row] = (gr < m.M && gk < m.K) ? Tr<T>::ld(a + gr * m.sa[1] + gk * m.sa[2]) : C(0);
        int kb = idx / TN, col = idx % TN;  // B tile: TK x TN
        int gkb = k0 + kb, gc = col0 + col;
        Bs[kb][col] = (gkb < m.K && gc < m.N) ? Tr<T>::ld(b + gkb * m.sb[1] + gc * m.sb[2]) : C(0);
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < TK; kk++) {
        C av[4], bv[4];
#pragma unroll
        for (int i = 0; i < 4; i++) av[i] = As[kk][ty + 16 * i];
#pragma unroll
        for (int j = 0; j < 4; j++) bv[j] = Bs[kk][tx + 16 * j];
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
          for (int j = 0; j < 4; j++) acc[i][j] += av[i] * bv[j];
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
      for (int j = 0; j < 4; j++) {
        int r = row0 + ty + 16 * i, c = col0 + tx + 16 * j;
        if (r < m.M && c < m.N) O[bi * m.so[0] + r * m.so[1] + c * m.so[2]] = Tr<T>::st(acc[i][j]);
      }
  }
}

// ---- extern "C" entry points ----
#define LB __launch_bounds__(256)
#define FAMILY(T, N)                                                                   \
  extern "C" __global__ void LB unary_##N(Ew a) { unary_body<T>(a); }                 \
  extern "C" __global__ void LB binary_##N(Ew a) { binary_body<T>(a); }               \
  extern "C" __global__ void LB compare_##N(Ew a) { compare_body<T>(a); }             \
  extern "C" __global__ void LB where_##N(Ew a) { where_body<T>(a); }                 \
  extern "C" __global__ void LB fill_##N(Ew a) { fill_body<T>(a); }                   \
  extern "C" __global__ void LB move_##N(Ew a) { move_body<T>(a); }                   \
  extern "C" __global__ void LB gather_##N(Ew a) { gather_body<T>(a); }               \
  extern "C" __global__ void LB scatter_##N(Ew a) { scatter_body<T>(a); }             \
  extern "C" __global__ void __launch_bounds__(1024) reduce_##N(Red r) { reduce_body<T>(r); } \
  extern "C" __global__ void LB reducepart_##N(Red r) { reducepart_body<T>(r); }      \
  extern "C" __global__ void LB reducecol_##N(Red r) { reducecol_body<T>(r); }        \
  extern "C" __global__ void __launch_bounds__(1024) argreduce_##N(Red r) { argreduce_body<T>(r); } \
  extern "C" __global__ void LB matmul_##N(Mm m) { matmul_body<T>(m); }

FAMILY(float, f32)
FAMILY(double, f64)
FAMILY(int, i32)
FAMILY(uint8_t, b8)
FAMILY(__half, f16)
FAMILY(__nv_bfloat16, bf16)

#define COPY1(T, N, U, M) \
  extern "C" __global__ void LB copy_##N##_##M(Ew a) { copy_body<T, U>(a); }
#define COPYROW(T, N)               \
  COPY1(T, N, float, f32)           \
  COPY1(T, N, double, f64)          \
  COPY1(T, N, int, i32)             \
  COPY1(T, N, uint8_t, b8)          \
  COPY1(T, N, __half, f16)          \
  COPY1(T, N, __nv_bfloat16, bf16)
COPYROW(float, f32)
COPYROW(double, f64)
COPYROW(int, i32)
COPYROW(uint8_t, b8)
COPYROW(__half, f16)
COPYROW(__nv_bfloat16, bf16)
