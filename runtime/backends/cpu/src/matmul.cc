// Matmul: the GotoBLAS/BLIS scheme. B is packed into KC x NC blocks of NR-wide column panels, A
// into MC x KC blocks of MR-high row panels, and a register-tiled micro-kernel multiplies one A
// panel by one B panel. Packing is also what makes transposed views (matmul's backward passes
// A^T and B^T as strided views) as fast as contiguous ones: it reads any strides, and the
// micro-kernel only ever sees its own layout. See Note [Matmul blocking] below for the sizes.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <vector>

#include "common.h"
#include "kernels.h"
#include "vecmath.h"

#if GB_X86
#include <immintrin.h>
#endif

namespace gb {

namespace {

// Note [Matmul blocking]: MR x NR = 6 x 16 floats (6 x 8 doubles) keeps 12 accumulator registers,
// 2 B loads and 1 broadcast in the 16 AVX2 registers (BLIS's Haswell/Zen shape). A KC=256 deep
// B panel (16 KiB) stays in L1 while the MC x KC A block (144 KiB) sits in L2 and the KC x NC B
// block in L3 (BLIS's Zen values).
constexpr int MR = 6;
constexpr int64_t KC = 256;
constexpr int64_t NC = 4080;

template <class T>
struct Tile {
  static constexpr int NR = 16;
  static constexpr int64_t MC = 144;
};
template <>
struct Tile<double> {
  static constexpr int NR = 8;
  static constexpr int64_t MC = 72;
};

using Ukr = void (*)(int64_t kc, const void* A, const void* B, void* C, int64_t rs, int64_t cs, int mr, int nr,
                     bool acc);

template <class T, int NR>
void write_tile(const T* t, T* C, int64_t rs, int64_t cs, int mr, int nr, bool acc) {
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < nr; j++) {
      T& c = C[r * rs + j * cs];
      c = acc ? c + t[r * NR + j] : t[r * NR + j];
    }
}

// Portable micro-kernel: plain loops the compiler vectorises with the baseline instruction set.
template <class T>
void ukr_portable(int64_t kc, const void* Av, const void* Bv, void* Cv, int64_t rs, int64_t cs, int mr, int nr,
                  bool acc) {
  constexpr int NR = Tile<T>::NR;
  const T* A = static_cast<const T*>(Av);
  const T* B = static_cast<const T*>(Bv);
  alignas(64) T t[MR * NR] = {};
  for (int64_t k = 0; k < kc; k++) {
    for (int r = 0; r < MR; r++) {
      const T a = A[k * MR + r];
      for (int j = 0; j < NR; j++) t[r * NR + j] += a * B[k * NR + j];
    }
  }
  write_tile<T, NR>(t, static_cast<T*>(Cv), rs, cs, mr, nr, acc);
}

#if GB_X86
// AVX2/FMA micro-kernels, compiled for those instructions only here and picked at run time: one
// template over the vector type, an MR x 2-vector tile (6 x 16 floats, 6 x 8 doubles).
template <class T>
struct Avx;
template <>
struct Avx<float> {
  using V = __m256;
  static constexpr int L = 8;
  GB_AVX2 static V zero() { return _mm256_setzero_ps(); }
  GB_AVX2 static V load(const float* p) { return _mm256_load_ps(p); }
  GB_AVX2 static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  GB_AVX2 static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  GB_AVX2 static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  GB_AVX2 static V add(V a, V b) { return _mm256_add_ps(a, b); }
  GB_AVX2 static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  GB_AVX2 static void store(float* p, V v) { _mm256_store_ps(p, v); }
};
template <>
struct Avx<double> {
  using V = __m256d;
  static constexpr int L = 4;
  GB_AVX2 static V zero() { return _mm256_setzero_pd(); }
  GB_AVX2 static V load(const double* p) { return _mm256_load_pd(p); }
  GB_AVX2 static V loadu(const double* p) { return _mm256_loadu_pd(p); }
  GB_AVX2 static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  GB_AVX2 static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  GB_AVX2 static V add(V a, V b) { return _mm256_add_pd(a, b); }
  GB_AVX2 static void storeu(double* p, V v) { _mm256_storeu_pd(p, v); }
  GB_AVX2 static void store(double* p, V v) { _mm256_store_pd(p, v); }
};

// One MR x NR tile, C (+)= A B over kc steps. A is a packed panel (MR values per k) or, with
// kRows, read in place through MR row pointers (clamped to valid rows by the caller) stepping csA
// per k: see Note [Unpacked A].
template <class T, bool kRows>
GB_AVX2 inline void tile_avx2(int64_t kc, const T* A, const T* const* rows, int64_t csA, const T* B, T* C, int64_t rs,
                              int64_t cs, int mr, int nr, bool acc) {
  using X = Avx<T>;
  using V = typename X::V;
  constexpr int L = X::L;
  constexpr int NR = 2 * L;
  static_assert(NR == Tile<T>::NR, "the tile is two vectors wide");
  // C's tile is touched only after the k loop: fetch it meanwhile
  if (cs == 1)
    for (int r = 0; r < mr; r++) _mm_prefetch(reinterpret_cast<const char*>(C + r * rs), _MM_HINT_T0);
  const T* a0 = nullptr;
  const T *a1 = a0, *a2 = a0, *a3 = a0, *a4 = a0, *a5 = a0;
  if constexpr (kRows) a0 = rows[0], a1 = rows[1], a2 = rows[2], a3 = rows[3], a4 = rows[4], a5 = rows[5];
  V c00 = X::zero(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  V c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; k++) {
    const V b0 = X::load(B);
    const V b1 = X::load(B + L);
    V a;
#define GB_ROW(r)                                           \
  a = kRows ? X::bcast(a##r + k * csA) : X::bcast(A + r);   \
  c##r##0 = X::fma(a, b0, c##r##0);                         \
  c##r##1 = X::fma(a, b1, c##r##1);
    GB_ROW(0) GB_ROW(1) GB_ROW(2) GB_ROW(3) GB_ROW(4) GB_ROW(5)
#undef GB_ROW
    if constexpr (!kRows) A += MR;
    B += NR;
  }
  if (mr == MR && nr == NR && cs == 1) {
#define GB_OUT(r)                                                  \
  if (acc) {                                                       \
    c##r##0 = X::add(c##r##0, X::loadu(C + r * rs));               \
    c##r##1 = X::add(c##r##1, X::loadu(C + r * rs + L));           \
  }                                                                \
  X::storeu(C + r * rs, c##r##0);                                  \
  X::storeu(C + r * rs + L, c##r##1);
    GB_OUT(0) GB_OUT(1) GB_OUT(2) GB_OUT(3) GB_OUT(4) GB_OUT(5)
#undef GB_OUT
    return;
  }
  alignas(32) T t[MR * NR];
  const V all[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int i = 0; i < 12; i++) X::store(t + L * i, all[i]);
  write_tile<T, NR>(t, C, rs, cs, mr, nr, acc);
}

template <class T>
GB_AVX2 void ukr_avx2(int64_t kc, const void* A, const void* B, void* C, int64_t rs, int64_t cs, int mr, int nr,
                      bool acc) {
  tile_avx2<T, false>(kc, static_cast<const T*>(A), nullptr, 0, static_cast<const T*>(B), static_cast<T*>(C), rs, cs,
                      mr, nr, acc);
}

template <class T>
GB_AVX2 void ukr_avx2_rows(int64_t kc, const T* const* rows, int64_t csA, const T* B, T* C, int64_t rs, int64_t cs,
                           int mr, int nr, bool acc) {
  tile_avx2<T, true>(kc, nullptr, rows, csA, B, C, rs, cs, mr, nr, acc);
}

#endif  // GB_X86

[[maybe_unused]] bool has_avx2() { return vec_available(); }

// Per-thread packing buffers, grown on demand and kept: workers live as long as the process.
template <class T>
T* scratch(int which, size_t n) {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<void, Free> bufs[2];
  thread_local size_t sizes[2] = {0, 0};
  size_t bytes = n * sizeof(T);
  if (sizes[which] < bytes) {
    bytes = (bytes + 63) & ~size_t(63);
    bufs[which].reset(std::aligned_alloc(64, bytes));
    sizes[which] = bufs[which] ? bytes : 0;
  }
  return static_cast<T*>(bufs[which].get());
}

#if GB_X86
// Transposes an 8x8 float block held in eight registers.
GB_AVX2 inline void transpose8(__m256* r) {
  __m256 t[8];
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  __m256 u[8];
  for (int i = 0; i < 2; i++) {
    u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// Packing a panel whose rows are contiguous (row-major A, or B seen through a transposed view)
// is a transpose; done one scalar at a time it cost up to ~10% of a 1024 product, so blocks of
// 8 rows x 8 columns go through registers. Returns how many columns it packed (a multiple of 8).
template <int P>
GB_AVX2 int64_t pack_rows_f32_avx2(const float* x, int64_t rs, int64_t k, float* o) {
  const int64_t k8 = k / 8 * 8;
  for (int64_t j0 = 0; j0 < k8; j0 += 8) {
    for (int r0 = 0; r0 < P; r0 += 8) {
      const int h = P - r0 < 8 ? P - r0 : 8;
      __m256 r[8];
      for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(x + (r0 + (i < h ? i : 0)) * rs + j0);
      transpose8(r);
      for (int j = 0; j < 8; j++) {
        float* dst = o + (j0 + j) * P + r0;
        if (h == 8) {
          _mm256_storeu_ps(dst, r[j]);
        } else {
          // six of eight lanes as a 4-wide and a 2-wide store: a masked store is microcoded and
          // slow on AMD cores (it made packing a row-major A cost a third of a 128-row product)
          _mm_storeu_ps(dst, _mm256_castps256_ps128(r[j]));
          _mm_storel_pi(reinterpret_cast<__m64*>(dst + 4), _mm256_extractf128_ps(r[j], 1));
        }
      }
    }
  }
  return k8;
}

#endif  // GB_X86

// Packs rows [0, m) x cols [0, k) of a strided matrix into panels of P rows, each stored
// k-major (P values per k), zero-padding the last panel. Walks memory in whichever order is
// contiguous for this view.
template <class T, int P>
void pack(const T* X, int64_t rs, int64_t cs, int64_t m, int64_t k, T* out) {
  if (rs == 1 && cs * int64_t(sizeof(T)) >= 1024 && m >= 2 * P) {
    // Each k's values for the panels are adjacent (A^T, or a row-major B) but consecutive k are
    // cs apart, a page or more for a wide matrix: panel by panel, every value came from another
    // page, past where the hardware prefetchers follow, and packing A was 12% of A^T B at 1024.
    // Blocks of 8 k go across all panels at once: each of the 8 rows is read in order.
    const int64_t full = m / P * P;
    for (int64_t j0 = 0; j0 < k; j0 += 8) {
      const int64_t j1 = std::min<int64_t>(j0 + 8, k);
      for (int64_t p0 = 0; p0 < full; p0 += P)
        for (int64_t j = j0; j < j1; j++) std::memcpy(out + p0 * k + j * P, X + j * cs + p0, P * sizeof(T));
    }
    if (full < m)
      for (int64_t j = 0; j < k; j++)
        for (int64_t r = 0; r < P; r++) out[full * k + j * P + r] = full + r < m ? X[j * cs + full + r] : T(0);
    return;
  }
  for (int64_t p0 = 0; p0 < m; p0 += P) {
    const int64_t h = std::min<int64_t>(P, m - p0);
    T* o = out + p0 * k;
    const T* x = X + p0 * rs;
    if (cs == 1 && rs != 1) {
      int64_t j0 = 0;
#if GB_X86
      if (sizeof(T) == 4 && h == P && has_avx2())
        j0 = pack_rows_f32_avx2<P>(reinterpret_cast<const float*>(x), rs, k, reinterpret_cast<float*>(o));
#endif
      for (int64_t r = 0; r < h; r++)
        for (int64_t j = j0; j < k; j++) o[j * P + r] = x[r * rs + j];
    } else if (rs == 1 && h == P) {
      // the panel's P values at each k are adjacent (A^T or B given row-major): a fixed-size copy
      for (int64_t j = 0; j < k; j++) std::memcpy(o + j * P, x + j * cs, P * sizeof(T));
    } else {
      for (int64_t j = 0; j < k; j++)
        for (int64_t r = 0; r < h; r++) o[j * P + r] = x[r * rs + j * cs];
    }
    if (h < P)
      for (int64_t j = 0; j < k; j++)
        for (int64_t r = h; r < P; r++) o[j * P + r] = T(0);
  }
}

struct Mat {
  int64_t M, N, K;
  const char* A;
  int64_t rsA, csA;
  const char* B;
  int64_t rsB, csB;
  char* C;
  int64_t rsC, csC;
};

template <class T>
void gemm(const Mat& g, Ukr ukr) {
  constexpr int NR = Tile<T>::NR;
  constexpr int64_t MC = Tile<T>::MC;
  const T* A = reinterpret_cast<const T*>(g.A);
  const T* B = reinterpret_cast<const T*>(g.B);
  T* C = reinterpret_cast<T*>(g.C);
  if (g.M == 0 || g.N == 0) return;
  if (g.K == 0) {
    for (int64_t i = 0; i < g.M; i++)
      for (int64_t j = 0; j < g.N; j++) C[i * g.rsC + j * g.csC] = T(0);
    return;
  }
  const int64_t ncmax = std::min<int64_t>(NC, (g.N + NR - 1) / NR * NR);
  T* Bp = scratch<T>(0, size_t(KC) * ncmax);
  T* Ap = scratch<T>(1, size_t(KC) * MC);
  for (int64_t jc = 0; jc < g.N; jc += NC) {
    const int64_t nc = std::min(NC, g.N - jc);
    for (int64_t pc = 0; pc < g.K; pc += KC) {
      const int64_t kc = std::min(KC, g.K - pc);
      // B's block, as B^T rows: panel rows are B's columns
      pack<T, NR>(B + pc * g.rsB + jc * g.csB, g.csB, g.rsB, nc, kc, Bp);
      for (int64_t ic = 0; ic < g.M; ic += MC) {
        const int64_t mc = std::min(MC, g.M - ic);
        pack<T, MR>(A + ic * g.rsA + pc * g.csA, g.rsA, g.csA, mc, kc, Ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            ukr(kc, Ap + ir * kc, Bp + jr * kc, C + (ic + ir) * g.rsC + (jc + jr) * g.csC, g.rsC, g.csC, mr, nr,
                pc > 0);
          }
        }
      }
    }
  }
}

// Tiny products and integer types: a direct loop, accumulating in double as the reference does
// for integers (exact) and in T for floats (packing would cost more than the work).
template <class T>
void gemm_naive(const Mat& g) {
  const T* A = reinterpret_cast<const T*>(g.A);
  const T* B = reinterpret_cast<const T*>(g.B);
  T* C = reinterpret_cast<T*>(g.C);
  using Acc = typename std::conditional<std::is_floating_point<T>::value, T, double>::type;
  for (int64_t i = 0; i < g.M; i++)
    for (int64_t j = 0; j < g.N; j++) {
      Acc s = 0;
      for (int64_t k = 0; k < g.K; k++) s += Acc(A[i * g.rsA + k * g.csA]) * Acc(B[k * g.rsB + j * g.csB]);
      C[i * g.rsC + j * g.csC] = from_f64<T>(double(s));
    }
}

#if GB_X86
// C = A B for N <= 32 floats: B packed once per K block, A read in place (Note [Unpacked A]).
void gemm_f32_narrow(const Mat& g) {
  const float* A = reinterpret_cast<const float*>(g.A);
  const float* B = reinterpret_cast<const float*>(g.B);
  float* C = reinterpret_cast<float*>(g.C);
  const int64_t npad = (g.N + 15) / 16 * 16;
  float* Bp = scratch<float>(0, size_t(KC) * npad);
  for (int64_t pc = 0; pc < g.K; pc += KC) {
    const int64_t kc = std::min(KC, g.K - pc);
    pack<float, 16>(B + pc * g.rsB, g.csB, g.rsB, g.N, kc, Bp);
    for (int64_t ir = 0; ir < g.M; ir += MR) {
      const int mr = static_cast<int>(std::min<int64_t>(MR, g.M - ir));
      const float* rows[MR];
      for (int r = 0; r < MR; r++) rows[r] = A + (ir + std::min(r, mr - 1)) * g.rsA + pc * g.csA;
      for (int64_t jr = 0; jr < g.N; jr += 16) {
        const int nr = static_cast<int>(std::min<int64_t>(16, g.N - jr));
        ukr_avx2_rows<float>(kc, rows, g.csA, Bp + jr * kc, C + ir * g.rsC + jr * g.csC, g.rsC, g.csC, mr, nr, pc > 0);
      }
    }
  }
}
#endif  // GB_X86

template <class T>
Ukr pick_ukr() {
#if GB_X86
  if constexpr (std::is_floating_point<T>::value)
    if (has_avx2()) return ukr_avx2<T>;
#endif
  return ukr_portable<T>;
}

template <class T>
void gemm_any(const Mat& g) {
  if (!std::is_floating_point<T>::value || g.M * g.N * g.K <= 4096) return gemm_naive<T>(g);
#if GB_X86
  if (sizeof(T) == 4 && g.N <= 32 && has_avx2()) return gemm_f32_narrow(g);
#endif
  gemm<T>(g, pick_ukr<T>());
}

// Note [Unpacked A]: packing exists so the micro-kernel reads A as one contiguous stream, but
// a row-major A (csA == 1, as a linear layer's input) is already contiguous along k in each of
// its rows: the kernel can broadcast from six row pointers instead, touching the same cache lines.
// In column strips (below) every thread used to pack all of A for itself, so a 128 x 784 input
// was copied twice per product (0.8 MB through L2 of each 1.2 MB the product reads); in place it
// is not copied at all. A partial last panel points its missing rows at its last real row (their
// results are never stored). Narrow outputs (gemm_f32_narrow) read A the same way.
//
// Note [Column strips]: a product whose A is short (M x K small enough for L2, as a training
// step's 128 x 784 by 784 x 256) is cut into many narrow column strips, claimed dynamically. A
// thread packs all of A once, at the first strip it takes, and keeps it for its later strips (a
// row-major A is read in place instead: Note [Unpacked A]); each strip packs only its own
// columns of B. So packing costs what two wide strips cost, while the
// narrow strips balance the threads: a sleeping worker starts ~25 us after a job is posted on this
// VM, and with two wide strips the caller finished first and slept waiting for it.
constexpr int64_t kStripAMax = int64_t(1) << 19;  // elements of A (2 MiB of float32)
std::atomic<uint64_t> strip_jobs{0};

template <class T>
bool gemm_col_strips(const Mat& g, ThreadPool& pool) {
  constexpr int NR = Tile<T>::NR;
  const int64_t panels = (g.N + NR - 1) / NR;
  if (!std::is_floating_point<T>::value || g.M * g.K > kStripAMax || panels < 4) return false;
#if GB_X86
  if (sizeof(T) == 4 && g.N <= 32) return false;
#endif
  const Ukr ukr = pick_ukr<T>();
  const int64_t mpad = (g.M + MR - 1) / MR * MR;
  const uint64_t job = ++strip_jobs;
  const T* A = reinterpret_cast<const T*>(g.A);
  const T* B = reinterpret_cast<const T*>(g.B);
  T* C = reinterpret_cast<T*>(g.C);
#if GB_X86
  const bool unpacked = g.csA == 1 && has_avx2();  // Note [Unpacked A]
#else
  const bool unpacked = false;
#endif
  // Up to four strips per thread, narrowing from first to last (widths in proportion to
  // n, n - 1, ..., 1): the last strips to be claimed are short, so whichever thread finishes first
  // waits little for the other (a waiting caller sleeps, and waking it costs ~20 us here).
  const int64_t n = std::min<int64_t>(4 * pool.size(), panels);
  std::vector<int64_t> cut(1, 0);
  for (int64_t t = 1; t <= n; t++) {
    // panels before strip t: the weights n..n-t+1 over their total n(n+1)/2
    const int64_t c = panels * (t * (2 * n - t + 1)) / (n * (n + 1));
    if (c > cut.back()) cut.push_back(c);
  }
  if (cut.back() != panels) cut.push_back(panels);
  const int ntasks = static_cast<int>(cut.size() - 1);
  pool.run(ntasks, [&](int t) {
    const int64_t lo = cut[t] * NR;
    const int64_t hi = std::min(cut[t + 1] * NR, g.N);
    if (lo >= hi) return;
    // this thread's packed A: K blocks of at most KC, block pc's panels at mpad * pc
    thread_local uint64_t packed_for = 0;
    T* Ap = nullptr;
    if (!unpacked) {
      Ap = scratch<T>(1, size_t(mpad) * g.K);
      if (packed_for != job) {
        for (int64_t pc = 0; pc < g.K; pc += KC) pack<T, MR>(A + pc * g.csA, g.rsA, g.csA, g.M, std::min(KC, g.K - pc), Ap + mpad * pc);
        packed_for = job;
      }
    }
    T* Bp = scratch<T>(0, size_t(KC) * (hi - lo + NR));
    for (int64_t pc = 0; pc < g.K; pc += KC) {
      const int64_t kc = std::min(KC, g.K - pc);
      pack<T, NR>(B + pc * g.rsB + lo * g.csB, g.csB, g.rsB, hi - lo, kc, Bp);
      for (int64_t jr = 0; jr < hi - lo; jr += NR) {
        const int nr = static_cast<int>(std::min<int64_t>(NR, hi - lo - jr));
        for (int64_t ir = 0; ir < g.M; ir += MR) {
          const int mr = static_cast<int>(std::min<int64_t>(MR, g.M - ir));
          T* c = C + ir * g.rsC + (lo + jr) * g.csC;
#if GB_X86
          if constexpr (std::is_floating_point<T>::value) {
            if (unpacked) {
              const T* rows[MR];
              for (int r = 0; r < MR; r++) rows[r] = A + (ir + std::min(r, mr - 1)) * g.rsA + pc;
              ukr_avx2_rows<T>(kc, rows, 1, Bp + jr * kc, c, g.rsC, g.csC, mr, nr, pc > 0);
              continue;
            }
          }
#endif
          ukr(kc, Ap + mpad * pc + ir * kc, Bp + jr * kc, c, g.rsC, g.csC, mr, nr, pc > 0);
        }
      }
    }
  });
  return true;
}

template <class T>
void matmul_typed(const View& out, const View& a, const View& b) {
  const int64_t batches = a.shape[0], M = a.shape[1], K = a.shape[2], N = b.shape[2];
  const int64_t sz = sizeof(T);
  auto at = [&](int64_t bi) {
    return Mat{M,
               N,
               K,
               a.p + bi * a.st[0] * sz,
               a.st[1],
               a.st[2],
               b.p + bi * b.st[0] * sz,
               b.st[1],
               b.st[2],
               out.p + bi * out.st[0] * sz,
               out.st[1],
               out.st[2]};
  };
  ThreadPool& pool = ThreadPool::get();
  const int nt = pool.size();
  if (nt == 1 || batches * M * N * K < (int64_t(1) << 20)) {
    for (int64_t bi = 0; bi < batches; bi++) gemm_any<T>(at(bi));
    return;
  }
  if (batches >= 2 * nt) {
    pool.run(static_cast<int>(batches), [&](int bi) { gemm_any<T>(at(bi)); });
    return;
  }
  // One product split into column (or row) strips, each packed independently: duplicated packing
  // of the other operand is O(MK) against O(MNK) work and needs no barrier. Strips are claimed
  // dynamically, so a core taken by a neighbour slows us in proportion rather than by half. A
  // short A takes the narrow strips of Note [Column strips] instead.
  constexpr int NR = Tile<T>::NR;
  // Column strips each pack all of A (M x K), row strips all of B (K x N): duplicate the smaller.
  const bool by_cols = M <= N;
  if (by_cols && batches == 1 && gemm_col_strips<T>(at(0), pool)) return;
  const int64_t unit = by_cols ? NR : MR;
  const int64_t units = ((by_cols ? N : M) + unit - 1) / unit;
  const int64_t min_units = by_cols ? 128 / NR : 96 / MR;  // strips narrower than this waste the kernel
  // Two strips per thread: enough to rebalance when a core is busy, while the other operand's
  // packing (repeated per strip) stays a few percent of the work.
  const int ntasks = static_cast<int>(std::max<int64_t>(nt, std::min<int64_t>(2 * nt, units / min_units)));
  for (int64_t bi = 0; bi < batches; bi++) {
    const Mat g = at(bi);
    pool.run(ntasks, [&](int t) {
      const int64_t lo = std::min(units * t / ntasks * unit, by_cols ? N : M);
      const int64_t hi = std::min(units * (t + 1) / ntasks * unit, by_cols ? N : M);
      if (lo >= hi) return;
      Mat s = g;
      if (by_cols) {
        s.N = hi - lo;
        s.B += lo * g.csB * sz;
        s.C += lo * g.csC * sz;
      } else {
        s.M = hi - lo;
        s.A += lo * g.rsA * sz;
        s.C += lo * g.rsC * sz;
      }
      gemm_any<T>(s);
    });
  }
}

}  // namespace

void k_matmul(Reader& r) {
  View out = r.view(), a = r.view(), b = r.view();
  switch (out.dt) {
    case F32: return matmul_typed<float>(out, a, b);
    case F64: return matmul_typed<double>(out, a, b);
    case I32: return matmul_typed<int32_t>(out, a, b);
    default: return matmul_typed<uint8_t>(out, a, b);
  }
}

}  // namespace gb
