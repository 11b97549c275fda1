// Shared pieces of the kernels: dtype codes, argument decoding and the strided loop driver.
// See Note [Call protocol] in addon.cc for how arguments arrive from TypeScript.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "threadpool.h"

// The AVX2/FMA kernels exist only in x86 builds; elsewhere the portable paths are all there is.
// (Build with -DGB_X86=0 to test the portable paths on an x86 machine.)
#ifndef GB_X86
#if defined(__x86_64__) || defined(__i386__)
#define GB_X86 1
#else
#define GB_X86 0
#endif
#endif
#if GB_X86
#define GB_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace gb {

enum DType : int { F32 = 0, F64 = 1, I32 = 2, U8 = 3 };
constexpr int MAXD = 16;

inline int itemsize(int dt) { return dt == F64 ? 8 : dt == U8 ? 1 : 4; }

// A strided view; `p` already points at the view's first element, strides are in elements.
struct View {
  char* p;
  int dt;
  int nd;
  int64_t shape[MAXD];
  int64_t st[MAXD];
};

// Reads views laid out by index.ts: addr, dtype, ndim, shape..., strides...
struct Reader {
  const double* s;
  double num() { return *s++; }
  int64_t i64() { return static_cast<int64_t>(*s++); }
  View view() {
    View v;
    v.p = reinterpret_cast<char*>(static_cast<uintptr_t>(*s++));
    v.dt = static_cast<int>(*s++);
    v.nd = static_cast<int>(*s++);
    for (int d = 0; d < v.nd; d++) v.shape[d] = static_cast<int64_t>(*s++);
    for (int d = 0; d < v.nd; d++) v.st[d] = static_cast<int64_t>(*s++);
    return v;
  }
};

inline int64_t numel(const View& v) {
  int64_t n = 1;
  for (int d = 0; d < v.nd; d++) n *= v.shape[d];
  return n;
}

// JavaScript's ToInt32: what storing a double into an Int32Array does (the reference's rule).
inline int32_t to_i32(double x) {
  if (x > -2147483649.0 && x < 2147483648.0) return static_cast<int32_t>(x);
  if (!std::isfinite(x)) return 0;
  double m = std::fmod(std::trunc(x), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<int32_t>(static_cast<uint32_t>(m));
}

template <class T>
inline T from_f64(double x);
template <>
inline float from_f64<float>(double x) { return static_cast<float>(x); }
template <>
inline double from_f64<double>(double x) { return x; }
template <>
inline int32_t from_f64<int32_t>(double x) { return to_i32(x); }
template <>
inline uint8_t from_f64<uint8_t>(double x) { return x != 0 ? 1 : 0; }  // NaN is true, as in JS

// Elementwise loop over several views sharing one shape. Dims of size 1 are dropped and dims
// that are contiguous in every view are merged, so most calls end up as one flat inner loop.
struct Loop {
  int nd = 0;
  int nv = 0;
  int64_t shape[MAXD];
  int64_t st[4][MAXD];
  char* base[4];
  int isz[4];
  int64_t total = 1;

  Loop(const int64_t* shp, int ndim, const View* const* views, int nviews) {
    nv = nviews;
    for (int v = 0; v < nv; v++) {
      base[v] = views[v]->p;
      isz[v] = itemsize(views[v]->dt);
    }
    for (int d = 0; d < ndim; d++) {
      total *= shp[d];
      if (shp[d] == 1) continue;
      bool merge = nd > 0;
      for (int v = 0; v < nv && merge; v++) merge = st[v][nd - 1] == views[v]->st[d] * shp[d];
      if (merge) {
        shape[nd - 1] *= shp[d];
        for (int v = 0; v < nv; v++) st[v][nd - 1] = views[v]->st[d];
      } else {
        shape[nd] = shp[d];
        for (int v = 0; v < nv; v++) st[v][nd] = views[v]->st[d];
        nd++;
      }
    }
    if (nd == 0) {
      nd = 1;
      shape[0] = 1;
      for (int v = 0; v < nv; v++) st[v][0] = 1;
    }
  }

  // Calls f(n, ptrs, inner_strides) for the elements [begin, end) in row-major order.
  template <class F>
  void range(int64_t begin, int64_t end, F&& f) const {
    int64_t idx[MAXD];
    char* p[4];
    int64_t inner[4] = {0, 0, 0, 0};
    int64_t rem = begin;
    for (int d = nd - 1; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
    }
    for (int v = 0; v < nv; v++) {
      p[v] = base[v];
      for (int d = 0; d < nd; d++) p[v] += idx[d] * st[v][d] * isz[v];
      inner[v] = st[v][nd - 1];
    }
    const int last = nd - 1;
    int64_t cur = begin;
    while (cur < end) {
      int64_t n = shape[last] - idx[last];
      if (end - cur < n) n = end - cur;
      f(n, p, inner);
      cur += n;
      idx[last] += n;
      for (int v = 0; v < nv; v++) p[v] += n * inner[v] * isz[v];
      if (idx[last] < shape[last]) continue;
      for (int d = last; d >= 0; d--) {
        if (idx[d] < shape[d]) break;
        for (int v = 0; v < nv; v++) p[v] -= shape[d] * st[v][d] * isz[v];
        idx[d] = 0;
        if (d == 0) return;
        idx[d - 1]++;
        for (int v = 0; v < nv; v++) p[v] += st[v][d - 1] * isz[v];
      }
    }
  }

  // Runs range() over threads when the loop is big enough to pay for waking them.
  template <class F>
  void run(F&& f, int64_t grain = 1 << 16) const {
    if (total == 0) return;
    if (total < 2 * grain) {
      range(0, total, f);
      return;
    }
    parallel_for(total, grain, [&](int64_t b, int64_t e) { range(b, e, f); });
  }
};

}  // namespace gb

namespace gb {
// A bad index found by a kernel (they run where TypeScript cannot look cheaply: inside index
// tensors). Kernels check before writing anything; addon.cc turns it into a JS Error.
struct KernelError {
  const char* what = nullptr;
  int64_t value = 0;
  int64_t limit = 0;
};
KernelError& kernel_error();
}  // namespace gb
