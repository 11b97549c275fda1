// gather, scatterAdd, indexSelect, indexAdd. Index values are checked here, before anything is
// written, because they live in device memory that TypeScript does not read.
#include "common.h"
#include "kernels.h"

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

template <class T>
void index_select_typed(const View& out, const View& a, int dim, const View& index) {
  for (int64_t i = 0; i < out.shape[dim]; i++)
    copy_rows<T>(slice_out(out, dim, i), slice_out(a, dim, index_at(index, i)));
}

template <class T>
void index_add_typed(const View& out, int dim, const View& index, const View& src) {
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

void k_index_add(Reader& r) {
  View out = r.view();
  int dim = static_cast<int>(r.num());
  View index = r.view(), src = r.view();
  if (!check_index(index, out.shape[dim], "indexAdd")) return;
  GB_BY_DTYPE(out.dt, index_add_typed, out, dim, index, src)
}

}  // namespace gb
