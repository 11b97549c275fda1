// gather, scatterAdd, indexSelect, indexAdd. Index values are checked here, before anything is
// written, because they live in device memory that TypeScript does not read.
#include <algorithm>
#include <vector>
#include "common.h"
#include "kernels.h"
#include "threadpool.h"

namespace gb {

KernelError& kernel_error() {
  thread_local KernelError e;
  return e;
}

namespace {

// Checks every value of an int32 view lies in [0, limit).
bool check_index(const View& ix, int64_t limit, const char* op) {
  const View* vs[] = {&ix};
  Loop L(ix.shape, ix.nd, vs, 1);
  bool ok = true;
  int64_t bad = 0;
  if (L.total > 0)
    L.range(0, L.total, [&](int64_t n, char** p, const int64_t* s) {
      const int32_t* x = reinterpret_cast<const int32_t*>(p[0]);
      for (int64_t i = 0; i < n && ok; i++) {
        const int32_t v = x[i * s[0]];
        if (v < 0 || v >= limit) {
          ok = false;
          bad = v;
        }
      }
    });
  if (!ok) kernel_error() = KernelError{op, bad, limit};
  return ok;
}

template <class T>
void add_into(T& o, T v) {
  o = from_f64<T>(double(o) + double(v));
}
template <>
void add_into<float>(float& o, float v) { o += v; }
template <>
void add_into<double>(double& o, double v) { o += v; }

// Visits index's positions with `moved` (strides of a or out, 0 along dim) and the other views.
template <class T>
void gather_typed(const View& out, const View& a, int dim, const View& index) {
  View moved = a;
  for (int d = 0; d < index.nd; d++) moved.shape[d] = index.shape[d];
  moved.st[dim] = 0;
  const int64_t step = a.st[dim];
  const View* vs[] = {&out, &moved, &index};
  Loop L(index.shape, index.nd, vs, 3);
  L.run([step](int64_t n, char** p, const int64_t* s) {
    T* o = reinterpret_cast<T*>(p[0]);
    const T* x = reinterpret_cast<const T*>(p[1]);
    const int32_t* ix = reinterpret_cast<const int32_t*>(p[2]);
    for (int64_t i = 0; i < n; i++) o[i * s[0]] = x[i * s[1] + ix[i * s[2]] * step];
  });
}

template <class T>
void scatter_add_typed(const View& out, int dim, const View& index, const View& src) {
  View moved = out;
  for (int d = 0; d < index.nd; d++) moved.shape[d] = index.shape[d];
  moved.st[dim] = 0;
  const int64_t step = out.st[dim];
  const View* vs[] = {&moved, &index, &src};
  Loop L(index.shape, index.nd, vs, 3);
  // serial: two positions may scatter into the same element
  if (L.total > 0)
    L.range(0, L.total, [step](int64_t n, char** p, const int64_t* s) {
      T* o = reinterpret_cast<T*>(p[0]);
      const int32_t* ix = reinterpret_cast<const int32_t*>(p[1]);
      const T* x = reinterpret_cast<const T*>(p[2]);
      for (int64_t i = 0; i < n; i++) add_into<T>(o[i * s[0] + ix[i * s[1]] * step], x[i * s[2]]);
    });
}

// Drops `dim` from a view, moving its pointer to position `at` along it.
View slice_out(const View& v, int dim, int64_t at) {
  View r;
  r.p = v.p + at * v.st[dim] * itemsize(v.dt);
  r.dt = v.dt;
  r.nd = 0;
  for (int d = 0; d < v.nd; d++) {
    if (d == dim) continue;
    r.shape[r.nd] = v.shape[d];
    r.st[r.nd] = v.st[d];
    r.nd++;
  }
  return r;
}

template <class T>
void copy_rows(const View& o, const View& x) {
  const View* vs[] = {&o, &x};
  Loop L(o.shape, o.nd, vs, 2);
  L.run([](int64_t n, char** p, const int64_t* s) {
    T* d = reinterpret_cast<T*>(p[0]);
    const T* a = reinterpret_cast<const T*>(p[1]);
    for (int64_t i = 0; i < n; i++) d[i * s[0]] = a[i * s[1]];
  });
}

template <class T>
void add_rows(const View& o, const View& x) {
  const View* vs[] = {&o, &x};
  Loop L(o.shape, o.nd, vs, 2);
  L.run([](int64_t n, char** p, const int64_t* s) {
    T* d = reinterpret_cast<T*>(p[0]);
    const T* a = reinterpret_cast<const T*>(p[1]);
    for (int64_t i = 0; i < n; i++) add_into<T>(d[i * s[0]], a[i * s[1]]);
  });
}

int32_t index_at(const View& ix, int64_t i) {
  return reinterpret_cast<const int32_t*>(ix.p)[ix.nd == 0 ? 0 : i * ix.st[0]];
}

// Calls f(offset in x, offset in y), in elements, once per position in [b, e) of x's first
// `outer` dims (which y shares), in order: an odometer over the rows of an op along the last dim.
template <class F>
void row_range(const View& x, const View& y, int outer, int64_t b, int64_t e, F& f) {
  if (b >= e) return;
  int64_t at[MAXD] = {0};
  int64_t ox = 0, oy = 0;
  int64_t rem = b;
  for (int d = outer - 1; d >= 0; d--) {
    at[d] = rem % x.shape[d];
    rem /= x.shape[d];
    ox += at[d] * x.st[d];
    oy += at[d] * y.st[d];
  }
  for (int64_t r = b; r < e; r++) {
    f(ox, oy);
    for (int d = outer - 1; d >= 0; d--) {
      if (++at[d] < x.shape[d]) {
        ox += x.st[d];
        oy += y.st[d];
        break;
      }
      ox -= (x.shape[d] - 1) * x.st[d];
      oy -= (y.shape[d] - 1) * y.st[d];
      at[d] = 0;
    }
  }
}

// Rows in parallel when there is enough work and `out` is contiguous (so no two rows share an
// element: a strided or expanded out view runs in order on one thread).
template <class F>
void each_row(const View& out, const View& y, int outer, int64_t n, F f) {
  int64_t rows = 1;
  for (int d = 0; d < outer; d++) rows *= out.shape[d];
  bool contiguous = true;
  int64_t st = 1;
  for (int d = out.nd - 1; d >= 0; d--) {
    if (out.shape[d] != 1 && out.st[d] != st) contiguous = false;
    st *= out.shape[d];
  }
  constexpr int64_t kGrain = 1 << 16;
  if (!contiguous || rows < 2 || rows * n < 2 * kGrain) return row_range(out, y, outer, 0, rows, f);
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)),
               [&](int64_t b, int64_t e) { row_range(out, y, outer, b, e, f); });
}

std::vector<int32_t> index_values(const View& index, int64_t n) {
  std::vector<int32_t> ix(n);
  for (int64_t i = 0; i < n; i++) ix[i] = index_at(index, i);
  return ix;
}

// Along the last dim each index moves one element, so the per-index row loop would cost more than
// the copy (conv2d's columns index a [C, N*H*W] plane; Note [Channels-first columns]): walk the
// rows outside and the index inside instead.
template <class T>
void index_select_typed(const View& out, const View& a, int dim, const View& index) {
  if (dim == out.nd - 1) {
    const int64_t n = out.shape[dim], so = out.st[dim], sa = a.st[dim];
    const std::vector<int32_t> ix = index_values(index, n);
    T* o = reinterpret_cast<T*>(out.p);
    const T* x = reinterpret_cast<const T*>(a.p);
    each_row(out, a, dim, n, [&](int64_t oo, int64_t oa) {
      T* d = o + oo;
      const T* s = x + oa;
      for (int64_t i = 0; i < n; i++) d[i * so] = s[ix[i] * sa];
    });
    return;
  }
  for (int64_t i = 0; i < out.shape[dim]; i++)
    copy_rows<T>(slice_out(out, dim, i), slice_out(a, dim, index_at(index, i)));
}

template <class T>
void index_add_typed(const View& out, int dim, const View& index, const View& src) {
  if (dim == out.nd - 1) {
    const int64_t n = src.shape[dim], so = out.st[dim], ss = src.st[dim];
    const std::vector<int32_t> ix = index_values(index, n);
    T* o = reinterpret_cast<T*>(out.p);
    const T* x = reinterpret_cast<const T*>(src.p);
    // in index order within a row, as the row loop below adds
    each_row(out, src, dim, n, [&](int64_t oo, int64_t os) {
      T* d = o + oo;
      const T* s = x + os;
      for (int64_t i = 0; i < n; i++) add_into<T>(d[ix[i] * so], s[i * ss]);
    });
    return;
  }
  for (int64_t i = 0; i < src.shape[dim]; i++)
    add_rows<T>(slice_out(out, dim, index_at(index, i)), slice_out(src, dim, i));
}

}  // namespace

#define GB_BY_DTYPE(dt, fn, ...)                       \
  switch (dt) {                                        \
    case F32: fn<float>(__VA_ARGS__); break;           \
    case F64: fn<double>(__VA_ARGS__); break;          \
    case I32: fn<int32_t>(__VA_ARGS__); break;         \
    default: fn<uint8_t>(__VA_ARGS__); break;          \
  }

void k_gather(Reader& r) {
  View out = r.view(), a = r.view();
  int dim = static_cast<int>(r.num());
  View index = r.view();
  if (!check_index(index, a.shape[dim], "gather")) return;
  GB_BY_DTYPE(out.dt, gather_typed, out, a, dim, index)
}

void k_scatter_add(Reader& r) {
  View out = r.view();
  int dim = static_cast<int>(r.num());
  View index = r.view(), src = r.view();
  if (!check_index(index, out.shape[dim], "scatterAdd")) return;
  GB_BY_DTYPE(out.dt, scatter_add_typed, out, dim, index, src)
}

void k_index_select(Reader& r) {
  View out = r.view(), a = r.view();
  int dim = static_cast<int>(r.num());
  View index = r.view();
  if (!check_index(index, a.shape[dim], "indexSelect")) return;
  GB_BY_DTYPE(out.dt, index_select_typed, out, a, dim, index)
}

// nllLoss: out = scale * sum_i a[i, t[i]], summed in double and rounded once (the reference's way).
void k_nll_loss(Reader& r) {
  View out = r.view(), a = r.view(), t = r.view();
  const double scale = r.num();
  if (!check_index(t, a.shape[1], "nllLoss")) return;
  const int32_t* ti = reinterpret_cast<const int32_t*>(t.p);
  double s = 0;
  if (a.dt == F32) {
    const float* x = reinterpret_cast<const float*>(a.p);
    for (int64_t i = 0; i < a.shape[0]; i++) s += x[i * a.st[0] + int64_t(ti[i * t.st[0]]) * a.st[1]];
    *reinterpret_cast<float*>(out.p) = float(scale * s);
  } else {
    const double* x = reinterpret_cast<const double*>(a.p);
    for (int64_t i = 0; i < a.shape[0]; i++) s += x[i * a.st[0] + int64_t(ti[i * t.st[0]]) * a.st[1]];
    *reinterpret_cast<double*>(out.p) = scale * s;
  }
}

// nllLossBackward: out [N, C] zero except out[i, t[i]] = scale * g.
template <class T>
void nll_backward_typed(const View& out, T v, const int32_t* ti, int64_t ts) {
  T* o = reinterpret_cast<T*>(out.p);
  const int64_t n = out.shape[0], c = out.shape[1], r0 = out.st[0], c0 = out.st[1];
  for (int64_t i = 0; i < n; i++) {
    T* row = o + i * r0;
    if (c0 == 1) std::fill(row, row + c, T(0));
    else
      for (int64_t k = 0; k < c; k++) row[k * c0] = T(0);
    row[int64_t(ti[i * ts]) * c0] = v;
  }
}

void k_nll_loss_backward(Reader& r) {
  View out = r.view(), g = r.view(), t = r.view();
  const double scale = r.num();
  if (!check_index(t, out.shape[1], "nllLossBackward")) return;
  const int32_t* ti = reinterpret_cast<const int32_t*>(t.p);
  if (out.dt == F32) nll_backward_typed<float>(out, float(scale * *reinterpret_cast<const float*>(g.p)), ti, t.st[0]);
  else nll_backward_typed<double>(out, scale * *reinterpret_cast<const double*>(g.p), ti, t.st[0]);
}

void k_index_add(Reader& r) {
  View out = r.view();
  int dim = static_cast<int>(r.num());
  View index = r.view(), src = r.view();
  if (!check_index(index, out.shape[dim], "indexAdd")) return;
  GB_BY_DTYPE(out.dt, index_add_typed, out, dim, index, src)
}

}  // namespace gb
