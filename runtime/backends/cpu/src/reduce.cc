// Reductions. Every reduce is one loop over the input with a second "view" onto a float64
// accumulator whose strides are 0 on the reduced axes (the reference's own trick), so Loop's
// dim merging finds the two fast shapes by itself: a contiguous row folded into one accumulator
// (inner stride 0), or rows added onto a contiguous accumulator row (sum over a leading axis).
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "common.h"
#include "kernels.h"
#include "vecmath.h"

namespace gb {

namespace {

enum ReduceOp { SUM, AMAX, AMIN };

inline double fold(int op, double acc, double v) {
  if (op == SUM) return acc + v;
  // a NaN, once seen, sticks: no comparison with it is true
  if (op == AMAX) return (v > acc || v != v) ? v : acc;
  return (v < acc || v != v) ? v : acc;
}

// Sum of a contiguous float32 row: float lanes over short blocks (vectorised, and error stays at
// float32 level per block), blocks added in double as the reference accumulates.
#if GB_X86
// 8-wide adds halve the instructions per byte, which lets more loads be in flight.
__attribute__((target_clones("avx2", "default")))
#endif
double sum_row_f32(const float* x, int64_t n) {
  double total = 0;
  if (n < 32) {
    // a short row (a softmax over 10 classes): the lanes would cost more than the row
    for (int64_t i = 0; i < n; i++) total += x[i];
    return total;
  }
  constexpr int64_t kBlock = 2048;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    float lanes[32] = {0};
    int64_t i = 0;
    for (; i + 32 <= m; i += 32)
      for (int l = 0; l < 32; l++) lanes[l] += x[b + i + l];
    double s = 0;
    for (int l = 0; l < 32; l++) s += lanes[l];
    for (; i < m; i++) s += x[b + i];
    total += s;
  }
  return total;
}

// acc[i] += x[i]: a float32 row added onto a float64 accumulator row (a sum over a leading axis,
// as a bias gradient's). 4-wide conversions and adds where the CPU has AVX2.
#if GB_X86
__attribute__((target_clones("avx2", "default")))
#endif
void add_row_f32(double* acc, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) acc[i] += double(x[i]);
}

// acc[i] += x[r * rs + i] for every row r, four rows per pass over acc (the same additions in the
// same order as row by row, with a quarter of the accumulator loads and stores).
#if GB_X86
__attribute__((target_clones("avx2", "default")))
#endif
void add_rows_f32(double* acc, const float* x, int64_t rows, int64_t n, int64_t rs) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float *a = x + r * rs, *b = a + rs, *c = b + rs, *d = c + rs;
    for (int64_t i = 0; i < n; i++) acc[i] = acc[i] + double(a[i]) + double(b[i]) + double(c[i]) + double(d[i]);
  }
  for (; r < rows; r++) add_row_f32(acc, x + r * rs, n);
}

double sum_row_f64(const double* x, int64_t n) {
  double lanes[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; l++) lanes[l] += x[i + l];
  double s = 0;
  for (int l = 0; l < 16; l++) s += lanes[l];
  for (; i < n; i++) s += x[i];
  return s;
}

template <class T>
double extreme_row(int op, const T* x, int64_t n, int64_t s, double acc) {
  // Lanes keep the loop vectorisable; NaN is tracked apart because max/min instructions drop it.
  // lanes start from the row's own first values: acc may be +-inf, which int types cannot hold
  T m[8];
  for (int l = 0; l < 8; l++) m[l] = n >= 8 ? x[l] : T(0);
  bool nan = acc != acc;
  int64_t i = 0;
  if (s == 1 && op == AMAX) {
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 8; l++) {
        T v = x[i + l];
        nan |= v != v;
        m[l] = v > m[l] ? v : m[l];
      }
  } else if (s == 1) {
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 8; l++) {
        T v = x[i + l];
        nan |= v != v;
        m[l] = v < m[l] ? v : m[l];
      }
  }
  double r = acc;
  for (int l = 0; l < 8 && i > 0; l++) r = fold(op, r, double(m[l]));
  for (; i < n; i++) r = fold(op, r, double(x[i * s]));
  return nan ? NAN : r;
}

template <class T>
void reduce_chunk(int op, const Loop& L, int64_t b, int64_t e) {
  L.range(b, e, [op](int64_t n, char** p, const int64_t* s) {
    double* acc = reinterpret_cast<double*>(p[0]);
    const T* x = reinterpret_cast<const T*>(p[1]);
    if (s[0] == 0) {
      if (op != SUM) {
        acc[0] = extreme_row<T>(op, x, n, s[1], acc[0]);
      } else if (s[1] == 1 && sizeof(T) == 4 && T(0.5) != 0) {
        acc[0] += sum_row_f32(reinterpret_cast<const float*>(x), n);
      } else if (s[1] == 1 && sizeof(T) == 8) {
        acc[0] += sum_row_f64(reinterpret_cast<const double*>(x), n);
      } else {
        double t = 0;
        for (int64_t i = 0; i < n; i++) t += double(x[i * s[1]]);
        acc[0] += t;
      }
    } else if (op == SUM) {
      if (s[0] == 1 && s[1] == 1 && sizeof(T) == 4 && T(0.5) != 0) {
        add_row_f32(acc, reinterpret_cast<const float*>(x), n);
      } else if (s[0] == 1 && s[1] == 1) {
        for (int64_t i = 0; i < n; i++) acc[i] += double(x[i]);
      } else {
        for (int64_t i = 0; i < n; i++) acc[i * s[0]] += double(x[i * s[1]]);
      }
    } else {
      for (int64_t i = 0; i < n; i++) acc[i * s[0]] = fold(op, acc[i * s[0]], double(x[i * s[1]]));
    }
  });
}

template <class T>
void reduce_typed(int op, const Loop& L, double* acc, int64_t nacc, double init) {
  constexpr int64_t kGrain = 1 << 16;
  if constexpr (std::is_same<T, float>::value) {
    // contiguous float32 rows onto one accumulator row: a sum over the batch, as a bias gradient
    if (op == SUM && L.nd == 2 && L.st[0][0] == 0 && L.st[0][1] == 1 && L.st[1][1] == 1) {
      const int64_t rows = L.shape[0], n = L.shape[1], rs = L.st[1][0];
      double* a = reinterpret_cast<double*>(L.base[0]);
      const float* x = reinterpret_cast<const float*>(L.base[1]);
      if (L.total < 2 * kGrain) return add_rows_f32(a, x, rows, n, rs);
      // threads take ranges of columns: disjoint accumulators, nothing to combine
      parallel_for(n, std::max<int64_t>(16, kGrain / rows), [&](int64_t b, int64_t e) { add_rows_f32(a + b, x + b, rows, e - b, rs); });
      return;
    }
  }
  if (L.total < 2 * kGrain) return reduce_chunk<T>(op, L, 0, L.total);
  const int64_t outer = L.shape[0];
  const int64_t inner = L.total / outer;
  if (L.st[0][0] != 0 && outer >= 2) {
    // the outermost dim is kept: threads own disjoint accumulators
    parallel_for(outer, std::max<int64_t>(1, kGrain / inner),
                 [&](int64_t b, int64_t e) { reduce_chunk<T>(op, L, b * inner, e * inner); });
    return;
  }
  // otherwise each thread folds into its own accumulator copy, combined at the end
  // more tasks than threads balance a shared box, but each costs an accumulator copy
  const int threads = ThreadPool::get().size();
  const int nt = static_cast<int>(std::min<int64_t>(nacc <= 65536 ? 4 * threads : threads, L.total / kGrain));
  std::vector<double> parts(static_cast<size_t>(nacc) * nt, init);
  ThreadPool::get().run(nt, [&](int t) {
    Loop local = L;
    local.base[0] = reinterpret_cast<char*>(parts.data() + t * nacc);
    reduce_chunk<T>(op, local, L.total * t / nt, L.total * (t + 1) / nt);
  });
  for (int t = 0; t < nt; t++)
    for (int64_t i = 0; i < nacc; i++) acc[i] = fold(op, acc[i], parts[t * nacc + i]);
}

template <class To>
void store(const View& out, const double* acc) {
  View av;
  av.p = reinterpret_cast<char*>(const_cast<double*>(acc));
  av.dt = F64;
  av.nd = out.nd;
  int64_t st = 1;
  for (int d = out.nd - 1; d >= 0; d--) {
    av.shape[d] = out.shape[d];
    av.st[d] = st;
    st *= out.shape[d];
  }
  const View* vs[] = {&out, &av};
  Loop L(out.shape, out.nd, vs, 2);
  L.range(0, L.total, [](int64_t n, char** p, const int64_t* s) {
    To* o = reinterpret_cast<To*>(p[0]);
    const double* a = reinterpret_cast<const double*>(p[1]);
    for (int64_t i = 0; i < n; i++) o[i * s[0]] = from_f64<To>(a[i * s[1]]);
  });
}

// Orders dims by decreasing input stride, so the innermost loop walks memory in order even when
// the input is a transposed view; reduction order is free for sum/amax/amin.
void order_dims(View& a, int64_t* ost) {
  int perm[MAXD];
  for (int d = 0; d < a.nd; d++) perm[d] = d;
  std::stable_sort(perm, perm + a.nd, [&](int x, int y) { return std::llabs(a.st[x]) > std::llabs(a.st[y]); });
  View b = a;
  int64_t o[MAXD];
  for (int d = 0; d < a.nd; d++) {
    b.shape[d] = a.shape[perm[d]];
    b.st[d] = a.st[perm[d]];
    o[d] = ost[perm[d]];
  }
  a = b;
  std::copy(o, o + a.nd, ost);
}

}  // namespace

void k_reduce(Reader& r) {
  int op = static_cast<int>(r.num());
  View out = r.view(), a = r.view();
  int naxes = static_cast<int>(r.num());
  bool reduced[MAXD] = {false};
  for (int i = 0; i < naxes; i++) reduced[static_cast<int>(r.num())] = true;

  const int64_t nacc = numel(out);
  const double init = op == SUM ? 0.0 : op == AMAX ? -INFINITY : INFINITY;
  std::vector<double> acc(static_cast<size_t>(nacc), init);
  // accumulator strides: row-major over the kept dims, 0 on the reduced ones
  int64_t ost[MAXD];
  int64_t st = 1;
  for (int d = a.nd - 1; d >= 0; d--) {
    ost[d] = reduced[d] ? 0 : st;
    if (!reduced[d]) st *= a.shape[d];
  }
  if (numel(a) > 0) {
    order_dims(a, ost);
    View av = a;
    av.p = reinterpret_cast<char*>(acc.data());
    av.dt = F64;
    std::copy(ost, ost + a.nd, av.st);
    const View* vs[] = {&av, &a};
    Loop L(a.shape, a.nd, vs, 2);
    switch (a.dt) {
      case F32: reduce_typed<float>(op, L, acc.data(), nacc, init); break;
      case F64: reduce_typed<double>(op, L, acc.data(), nacc, init); break;
      case I32: reduce_typed<int32_t>(op, L, acc.data(), nacc, init); break;
      default: reduce_typed<uint8_t>(op, L, acc.data(), nacc, init); break;
    }
  }
  switch (out.dt) {
    case F32: return store<float>(out, acc.data());
    case F64: return store<double>(out, acc.data());
    case I32: return store<int32_t>(out, acc.data());
    default: return store<uint8_t>(out, acc.data());
  }
}

namespace {

template <class T>
void argreduce_typed(bool is_max, const Loop& L, int64_t len, int64_t step) {
  L.run(
      [=](int64_t n, char** p, const int64_t* s) {
        int32_t* o = reinterpret_cast<int32_t*>(p[0]);
        const T* base = reinterpret_cast<const T*>(p[1]);
        for (int64_t i = 0; i < n; i++) {
          const T* x = base + i * s[1];
          int32_t idx = len > 0 ? 0 : -1;
          if (len > 0 && x[0] == x[0]) {
            // the first NaN counts as the extreme and wins, as in the reference
            T best = x[0];
            for (int64_t k = 1; k < len; k++) {
              T v = x[k * step];
              if (v != v) {
                idx = static_cast<int32_t>(k);
                break;
              }
              if (is_max ? v > best : v < best) {
                best = v;
                idx = static_cast<int32_t>(k);
              }
            }
          }
          o[i * s[0]] = idx;
        }
      },
      // 2^18 elements a chunk: at 2^16, max pooling's [N, C, L, 4] windows (32k short rows) ran 3x
      // slower on two threads than on one on the shared 2-core box
      std::max<int64_t>(1, (1 << 18) / std::max<int64_t>(len, 1)));
}

}  // namespace

void k_argreduce(Reader& r) {
  bool is_max = r.num() == 0;
  View out = r.view(), a = r.view();
  int axis = static_cast<int>(r.num());
  const int64_t len = a.shape[axis];
  const int64_t step = a.st[axis];
  View a1 = a;
  a1.shape[axis] = 1;
  const View* vs[] = {&out, &a1};
  Loop L(out.shape, out.nd, vs, 2);
  switch (a.dt) {
    case F32: return argreduce_typed<float>(is_max, L, len, step);
    case F64: return argreduce_typed<double>(is_max, L, len, step);
    case I32: return argreduce_typed<int32_t>(is_max, L, len, step);
    default: return argreduce_typed<uint8_t>(is_max, L, len, step);
  }
}

}  // namespace gb

// ---- logSoftmax and its backward: one pass per row along a dim ----
namespace gb {

namespace {

// float32 rows are done a block at a time (the rows one call of each_row hands over): max and
// x - max per row into a contiguous block, one vectorised exp over the whole block, the row sums
// in double, one vectorised log of the sums, then one rounding per element. A softmax over 10
// classes has rows too short for a vector each; per row, the calls and the scalar tails cost
// more than the arithmetic (~6.7 us for 128 x 10, against ~1.5 this way).
float* block_scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

void exp_block(const float* t, float* e, int64_t n) {
  if (vec_available()) return vec_exp(t, e, n);
  for (int64_t i = 0; i < n; i++) e[i] = std::exp(t[i]);
}

void log_block(const float* t, float* e, int64_t n) {
  if (vec_available()) return vec_log(t, e, n);
  for (int64_t i = 0; i < n; i++) e[i] = std::log(t[i]);
}

// A row's largest value; a NaN anywhere makes it NaN (and so the whole row's result), as amax.
template <class T>
T row_max(const T* x, int64_t n, int64_t sx) {
  T mx = -INFINITY;
  bool nan = false;
  for (int64_t k = 0; k < n; k++) {
    const T v = x[k * sx];
    nan |= v != v;
    mx = v > mx ? v : mx;
  }
  return nan ? T(NAN) : mx;
}

// rows: m rows of n, row i's elements at o + i * ro + k * so (and likewise x)
void log_softmax_rows(float* o, const float* x, int64_t m, int64_t n, int64_t ro, int64_t rx, int64_t so, int64_t sx) {
  float* t = block_scratch(size_t(2 * m * n + 2 * m));
  float* e = t + m * n;
  float* sums = e + m * n;
  float* lse = sums + m;
  for (int64_t i = 0; i < m; i++) {
    const float* xr = x + i * rx;
    float* tr = t + i * n;
    const float mx = row_max(xr, n, sx);
    for (int64_t k = 0; k < n; k++) tr[k] = xr[k * sx] - mx;
  }
  exp_block(t, e, m * n);
  for (int64_t i = 0; i < m; i++) {
    double acc = 0;
    for (int64_t k = 0; k < n; k++) acc += e[i * n + k];
    sums[i] = float(acc);
  }
  log_block(sums, lse, m);
  for (int64_t i = 0; i < m; i++)
    for (int64_t k = 0; k < n; k++) o[i * ro + k * so] = t[i * n + k] - lse[i];
}

void log_softmax_rows(double* o, const double* x, int64_t m, int64_t n, int64_t ro, int64_t rx, int64_t so, int64_t sx) {
  for (int64_t i = 0; i < m; i++) {
    const double* xr = x + i * rx;
    const double mx = row_max(xr, n, sx);
    double acc = 0;
    for (int64_t k = 0; k < n; k++) acc += std::exp(xr[k * sx] - mx);
    const double l = std::log(acc);
    for (int64_t k = 0; k < n; k++) o[i * ro + k * so] = xr[k * sx] - mx - l;
  }
}

void log_softmax_backward_rows(float* o, const float* g, const float* y, int64_t m, int64_t n, int64_t ro, int64_t rg,
                               int64_t ry, int64_t so, int64_t sg, int64_t sy) {
  float* t = block_scratch(size_t(2 * m * n));
  float* e = t + m * n;
  for (int64_t i = 0; i < m; i++)
    for (int64_t k = 0; k < n; k++) t[i * n + k] = y[i * ry + k * sy];
  exp_block(t, e, m * n);
  for (int64_t i = 0; i < m; i++) {
    const float* gr = g + i * rg;
    double acc = 0;
    for (int64_t k = 0; k < n; k++) acc += gr[k * sg];
    const float s = float(acc);
    for (int64_t k = 0; k < n; k++) o[i * ro + k * so] = gr[k * sg] - e[i * n + k] * s;
  }
}

void log_softmax_backward_rows(double* o, const double* g, const double* y, int64_t m, int64_t n, int64_t ro, int64_t rg,
                               int64_t ry, int64_t so, int64_t sg, int64_t sy) {
  for (int64_t i = 0; i < m; i++) {
    const double* gr = g + i * rg;
    double acc = 0;
    for (int64_t k = 0; k < n; k++) acc += gr[k * sg];
    for (int64_t k = 0; k < n; k++) o[i * ro + k * so] = gr[k * sg] - std::exp(y[i * ry + k * sy]) * acc;
  }
}

// Calls rows(pointers, m, row strides) for blocks of m rows along `dim` of views sharing one
// shape, split over threads by rows (each row is independent). The views' other dims are merged
// by Loop: each call hands over a run of rows with one stride between them.
template <class F>
void each_rows(View* vs, int nv, int dim, F&& rows) {
  const int64_t n = vs[0].shape[dim];
  const View* ptrs[4];
  for (int v = 0; v < nv; v++) {
    vs[v].shape[dim] = 1;
    ptrs[v] = &vs[v];
  }
  Loop L(vs[0].shape, vs[0].nd, ptrs, nv);
  L.run([&](int64_t m, char** p, const int64_t* s) { rows(p, m, s); },
        std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(n, 1)));
}

}  // namespace

void k_log_softmax(Reader& r) {
  View vs[2] = {r.view(), r.view()};
  const int dim = static_cast<int>(r.num());
  const int64_t n = vs[0].shape[dim], so = vs[0].st[dim], sx = vs[1].st[dim];
  auto go = [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    each_rows(vs, 2, dim, [=](char** p, int64_t m, const int64_t* s) {
      log_softmax_rows(reinterpret_cast<T*>(p[0]), reinterpret_cast<const T*>(p[1]), m, n, s[0], s[1], so, sx);
    });
  };
  if (vs[0].dt == F32) go(static_cast<float*>(nullptr));
  else go(static_cast<double*>(nullptr));
}

void k_log_softmax_backward(Reader& r) {
  View vs[3] = {r.view(), r.view(), r.view()};
  const int dim = static_cast<int>(r.num());
  const int64_t n = vs[0].shape[dim], so = vs[0].st[dim], sg = vs[1].st[dim], sy = vs[2].st[dim];
  auto go = [&](auto* type) {
    using T = std::remove_pointer_t<decltype(type)>;
    each_rows(vs, 3, dim, [=](char** p, int64_t m, const int64_t* s) {
      log_softmax_backward_rows(reinterpret_cast<T*>(p[0]), reinterpret_cast<const T*>(p[1]),
                                reinterpret_cast<const T*>(p[2]), m, n, s[0], s[1], s[2], so, sg, sy);
    });
  };
  if (vs[0].dt == F32) go(static_cast<float*>(nullptr));
  else go(static_cast<double*>(nullptr));
}

}  // namespace gb
