// Elementwise kernels: unary, binary, compare, where, copy, fill. They are memory-bound, so the
// compiler's SSE2 auto-vectorisation of the flat contiguous loops is enough; what matters is
// hitting those loops (Loop merges dims) and using both cores on large tensors.
#include <cmath>

#include "common.h"
#include "kernels.h"
#include "vecmath.h"

namespace gb {

namespace {

// Loops run on one thread below twice the grain. A job for the pool costs ~25 us before a sleeping
// worker starts on this VM (Note [Pool handshake]), which is what an add of 200K floats takes
// alone: an optimizer's update of a 784 x 256 weight stays on one thread.
constexpr int64_t kGrainCheap = 1 << 17;
constexpr int64_t kGrainMath = 1 << 13;

template <class To, class Ti, class F>
void map1(const Loop& L, F f, int64_t grain) {
  L.run(
      [&](int64_t n, char** p, const int64_t* s) {
        To* o = reinterpret_cast<To*>(p[0]);
        const Ti* a = reinterpret_cast<const Ti*>(p[1]);
        if (s[0] == 1 && s[1] == 1) {
          for (int64_t i = 0; i < n; i++) o[i] = f(a[i]);
        } else if (s[1] == 0) {
          To v = f(a[0]);
          for (int64_t i = 0; i < n; i++) o[i * s[0]] = v;
        } else {
          for (int64_t i = 0; i < n; i++) o[i * s[0]] = f(a[i * s[1]]);
        }
      },
      grain);
}

template <class To, class Ti, class F>
void map2(const Loop& L, F f, int64_t grain) {
  L.run(
      [&](int64_t n, char** p, const int64_t* s) {
        To* o = reinterpret_cast<To*>(p[0]);
        const Ti* a = reinterpret_cast<const Ti*>(p[1]);
        const Ti* b = reinterpret_cast<const Ti*>(p[2]);
        if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
          for (int64_t i = 0; i < n; i++) o[i] = f(a[i], b[i]);
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
          const Ti y = b[0];
          for (int64_t i = 0; i < n; i++) o[i] = f(a[i], y);
        } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
          const Ti x = a[0];
          for (int64_t i = 0; i < n; i++) o[i] = f(x, b[i]);
        } else {
          for (int64_t i = 0; i < n; i++) o[i * s[0]] = f(a[i * s[1]], b[i * s[2]]);
        }
      },
      grain);
}

// Unary ops in order of UNARY_OPS (runtime/ops.ts).
enum Unary { NEG, ABS, SIGN, EXP, LOG, LOG1P, SQRT, RSQRT, SIN, COS, TANH, SIGMOID, RELU, ERF, LNOT };

// float32 exp/log/sigmoid/tanh on contiguous rows use the AVX2 versions when the CPU has them.
bool unary_f32_vec(int op, const Loop& L) {
  void (*fn)(const float*, float*, int64_t) = nullptr;
  switch (op) {
    case EXP: fn = vec_exp; break;
    case LOG: fn = vec_log; break;
    case TANH: fn = vec_tanh; break;
    case SIGMOID: fn = vec_sigmoid; break;
    default: return false;
  }
  if (!vec_available() || L.nd != 1 || L.st[0][0] != 1 || L.st[1][0] != 1) return false;
  L.run(
      [fn](int64_t n, char** p, const int64_t*) {
        fn(reinterpret_cast<const float*>(p[1]), reinterpret_cast<float*>(p[0]), n);
      },
      kGrainMath);
  return true;
}

template <class T>
void unary_float(int op, const Loop& L) {
  const T one = 1, zero = 0;
  switch (op) {
    case NEG: return map1<T, T>(L, [](T x) { return -x; }, kGrainCheap);
    case ABS: return map1<T, T>(L, [](T x) { return std::fabs(x); }, kGrainCheap);
    case SIGN:
      return map1<T, T>(L, [=](T x) { return x > zero ? one : x < zero ? -one : x != x ? x : zero; }, kGrainCheap);
    case EXP: return map1<T, T>(L, [](T x) { return std::exp(x); }, kGrainMath);
    case LOG: return map1<T, T>(L, [](T x) { return std::log(x); }, kGrainMath);
    case LOG1P: return map1<T, T>(L, [](T x) { return std::log1p(x); }, kGrainMath);
    case SQRT: return map1<T, T>(L, [](T x) { return std::sqrt(x); }, kGrainCheap);
    // float32: 1/sqrt in double rounds once, matching the reference's float64 rule exactly
    case RSQRT: return map1<T, T>(L, [](T x) { return T(1.0 / std::sqrt(double(x))); }, kGrainCheap);
    case SIN: return map1<T, T>(L, [](T x) { return std::sin(x); }, kGrainMath);
    case COS: return map1<T, T>(L, [](T x) { return std::cos(x); }, kGrainMath);
    case TANH: return map1<T, T>(L, [](T x) { return std::tanh(x); }, kGrainMath);
    case SIGMOID: return map1<T, T>(L, [=](T x) { return one / (one + std::exp(-x)); }, kGrainMath);
    case RELU: return map1<T, T>(L, [=](T x) { return x > zero ? x : x != x ? x : zero; }, kGrainCheap);
    case ERF: return map1<T, T>(L, [](T x) { return std::erf(x); }, kGrainMath);
    case LNOT: return map1<T, T>(L, [=](T x) { return x == zero ? one : zero; }, kGrainCheap);
  }
}

double unary_f64(int op, double x) {
  switch (op) {
    case NEG: return -x;
    case ABS: return std::fabs(x);
    case SIGN: return x > 0 ? 1 : x < 0 ? -1 : x != x ? x : 0;
    case EXP: return std::exp(x);
    case LOG: return std::log(x);
    case LOG1P: return std::log1p(x);
    case SQRT: return std::sqrt(x);
    case RSQRT: return 1 / std::sqrt(x);
    case SIN: return std::sin(x);
    case COS: return std::cos(x);
    case TANH: return std::tanh(x);
    case SIGMOID: return 1 / (1 + std::exp(-x));
    case RELU: return x > 0 ? x : x != x ? x : 0;
    case ERF: return std::erf(x);
    default: return x == 0 ? 1 : 0;
  }
}

// Integer and bool ops are rare and not speed targets: compute in double and store with the
// reference's conversion rule, which makes them exact matches by construction.
template <class T>
void unary_via_f64(int op, const Loop& L) {
  map1<T, T>(L, [op](T x) { return from_f64<T>(unary_f64(op, double(x))); }, kGrainCheap);
}

enum Binary { ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, RELU_BACKWARD };

// The reference's pow: 1 when a is 1 or b is 0 (even with NaN), else Math.pow, which unlike C's
// pow gives NaN for (+-1) ** (+-inf).
inline double js_pow(double a, double b) {
  if (a == 1 || b == 0) return 1;
  if (std::isinf(b) && std::fabs(a) == 1) return NAN;
  return std::pow(a, b);
}

// Integer power as the reference computes it: exact by squaring with int32 wrap-around; a
// negative exponent gives 0 except for bases 1 and -1.
inline int32_t int_pow(int32_t a, int32_t b) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
  uint32_t result = 1u;
  uint32_t base = uint32_t(a);
  while (b > 0) {
    if (b & 1) result *= base;
    base *= base;
    b >>= 1;
  }
  return int32_t(result);
}

double binary_f64(int op, double a, double b, bool integer) {
  switch (op) {
    case ADD: return a + b;
    case SUB: return a - b;
    case MUL: return a * b;
    case DIV: return integer ? std::trunc(a / b) : a / b;
    case POW: return js_pow(a, b);
    case MAXIMUM: return a != a || b != b ? NAN : a > b ? a : b;
    case MINIMUM: return a != a || b != b ? NAN : a < b ? a : b;
    default: return b <= 0 ? 0 : a;  // RELU_BACKWARD
  }
}

template <class T>
void binary_float(int op, const Loop& L, double alpha) {
  // add and sub with alpha: a + alpha * b in one pass (the optimizers' update)
  if (alpha != 1 && (op == ADD || op == SUB)) {
    const T al = T(op == ADD ? alpha : -alpha);
    return map2<T, T>(L, [al](T a, T b) { return a + al * b; }, kGrainCheap);
  }
  switch (op) {
    case ADD: return map2<T, T>(L, [](T a, T b) { return a + b; }, kGrainCheap);
    case SUB: return map2<T, T>(L, [](T a, T b) { return a - b; }, kGrainCheap);
    case MUL: return map2<T, T>(L, [](T a, T b) { return a * b; }, kGrainCheap);
    case DIV: return map2<T, T>(L, [](T a, T b) { return a / b; }, kGrainCheap);
    case POW: return map2<T, T>(L, [](T a, T b) { return T(js_pow(a, b)); }, kGrainMath);
    case MAXIMUM:
      return map2<T, T>(L, [](T a, T b) { return a != a || b != b ? T(NAN) : a > b ? a : b; }, kGrainCheap);
    case MINIMUM:
      return map2<T, T>(L, [](T a, T b) { return a != a || b != b ? T(NAN) : a < b ? a : b; }, kGrainCheap);
    case RELU_BACKWARD: return map2<T, T>(L, [](T g, T y) { return y <= T(0) ? T(0) : g; }, kGrainCheap);
  }
}

void binary_i32(int op, const Loop& L, double alpha) {
  using u32 = uint32_t;
  if (alpha != 1 && (op == ADD || op == SUB)) {
    // alpha is integral here (checked in TypeScript); products wrap as in the reference's Math.imul
    const u32 al = u32(to_i32(op == ADD ? alpha : -alpha));
    return map2<int32_t, int32_t>(L, [al](int32_t a, int32_t b) { return int32_t(u32(a) + al * u32(b)); }, kGrainCheap);
  }
  switch (op) {
    // wrapping, as the reference's double result stored into an Int32Array wraps
    case ADD: return map2<int32_t, int32_t>(L, [](int32_t a, int32_t b) { return int32_t(u32(a) + u32(b)); }, kGrainCheap);
    case SUB: return map2<int32_t, int32_t>(L, [](int32_t a, int32_t b) { return int32_t(u32(a) - u32(b)); }, kGrainCheap);
    case MAXIMUM: return map2<int32_t, int32_t>(L, [](int32_t a, int32_t b) { return a > b ? a : b; }, kGrainCheap);
    case MINIMUM: return map2<int32_t, int32_t>(L, [](int32_t a, int32_t b) { return a < b ? a : b; }, kGrainCheap);
    case POW: return map2<int32_t, int32_t>(L, [](int32_t a, int32_t b) { return int_pow(a, b); }, kGrainCheap);
    default:
      return map2<int32_t, int32_t>(
          L, [op](int32_t a, int32_t b) { return to_i32(binary_f64(op, a, b, true)); }, kGrainCheap);
  }
}

void binary_u8(int op, const Loop& L, double alpha) {
  map2<uint8_t, uint8_t>(
      L, [op, alpha](uint8_t a, uint8_t b) { return from_f64<uint8_t>(binary_f64(op, a, alpha * b, true)); },
      kGrainCheap);
}

enum Compare { EQ, NE, LT, LE, GT, GE };

template <class T>
void compare_typed(int op, const Loop& L) {
  using u8 = uint8_t;
  switch (op) {
    case EQ: return map2<u8, T>(L, [](T a, T b) { return u8(a == b); }, kGrainCheap);
    case NE: return map2<u8, T>(L, [](T a, T b) { return u8(a != b); }, kGrainCheap);
    case LT: return map2<u8, T>(L, [](T a, T b) { return u8(a < b); }, kGrainCheap);
    case LE: return map2<u8, T>(L, [](T a, T b) { return u8(a <= b); }, kGrainCheap);
    case GT: return map2<u8, T>(L, [](T a, T b) { return u8(a > b); }, kGrainCheap);
    case GE: return map2<u8, T>(L, [](T a, T b) { return u8(a >= b); }, kGrainCheap);
  }
}

template <class T>
void where_typed(const Loop& L) {
  L.run(
      [](int64_t n, char** p, const int64_t* s) {
        T* o = reinterpret_cast<T*>(p[0]);
        const uint8_t* c = reinterpret_cast<const uint8_t*>(p[1]);
        const T* a = reinterpret_cast<const T*>(p[2]);
        const T* b = reinterpret_cast<const T*>(p[3]);
        // selects by mask, not by branch: a ReLU mask is a coin toss per element, which a branch
        // mispredicts half the time (ReLU's backward is where(out > 0, g, 0), a scalar b)
        if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {
          for (int64_t i = 0; i < n; i++) {
            const T m = T(0) - T(c[i] != 0);
            o[i] = (a[i] & m) | (b[i] & ~m);
          }
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 0) {
          const T y = b[0];
          for (int64_t i = 0; i < n; i++) {
            const T m = T(0) - T(c[i] != 0);
            o[i] = (a[i] & m) | (y & ~m);
          }
        } else if (s[0] == 1 && s[1] == 1 && s[2] == 0 && s[3] == 1) {
          const T x = a[0];
          for (int64_t i = 0; i < n; i++) {
            const T m = T(0) - T(c[i] != 0);
            o[i] = (x & m) | (b[i] & ~m);
          }
        } else {
          for (int64_t i = 0; i < n; i++) o[i * s[0]] = c[i * s[1]] ? a[i * s[2]] : b[i * s[3]];
        }
      },
      kGrainCheap);
}

template <class To, class Ti>
To convert(Ti x) {
  return from_f64<To>(double(x));
}
template <>
float convert<float, float>(float x) { return x; }
template <>
int32_t convert<int32_t, int32_t>(int32_t x) { return x; }
template <>
uint8_t convert<uint8_t, uint8_t>(uint8_t x) { return x; }
template <>
float convert<float, int32_t>(int32_t x) { return float(x); }
template <>
float convert<float, uint8_t>(uint8_t x) { return float(x); }
template <>
uint8_t convert<uint8_t, float>(float x) { return x != 0; }

template <class To>
void copy_to(const Loop& L, int src_dt) {
  switch (src_dt) {
    case F32: return map1<To, float>(L, convert<To, float>, kGrainCheap);
    case F64: return map1<To, double>(L, convert<To, double>, kGrainCheap);
    case I32: return map1<To, int32_t>(L, convert<To, int32_t>, kGrainCheap);
    default: return map1<To, uint8_t>(L, convert<To, uint8_t>, kGrainCheap);
  }
}

template <class T>
void fill_typed(const Loop& L, T v) {
  L.run(
      [v](int64_t n, char** p, const int64_t* s) {
        T* o = reinterpret_cast<T*>(p[0]);
        if (s[0] == 1) {
          for (int64_t i = 0; i < n; i++) o[i] = v;
        } else {
          for (int64_t i = 0; i < n; i++) o[i * s[0]] = v;
        }
      },
      kGrainCheap);
}

}  // namespace

void k_unary(Reader& r) {
  int op = static_cast<int>(r.num());
  View out = r.view(), a = r.view();
  const View* vs[] = {&out, &a};
  Loop L(out.shape, out.nd, vs, 2);
  switch (out.dt) {
    case F32:
      if (unary_f32_vec(op, L)) return;
      return unary_float<float>(op, L);
    case F64: return unary_float<double>(op, L);
    case I32: return unary_via_f64<int32_t>(op, L);
    default: return unary_via_f64<uint8_t>(op, L);
  }
}

void k_binary(Reader& r) {
  int op = static_cast<int>(r.num());
  View out = r.view(), a = r.view(), b = r.view();
  const double alpha = r.num();
  const View* vs[] = {&out, &a, &b};
  Loop L(out.shape, out.nd, vs, 3);
  switch (out.dt) {
    case F32: return binary_float<float>(op, L, alpha);
    case F64: return binary_float<double>(op, L, alpha);
    case I32: return binary_i32(op, L, alpha);
    default: return binary_u8(op, L, alpha);
  }
}

void k_compare(Reader& r) {
  int op = static_cast<int>(r.num());
  View out = r.view(), a = r.view(), b = r.view();
  const View* vs[] = {&out, &a, &b};
  Loop L(out.shape, out.nd, vs, 3);
  switch (a.dt) {
    case F32: return compare_typed<float>(op, L);
    case F64: return compare_typed<double>(op, L);
    case I32: return compare_typed<int32_t>(op, L);
    default: return compare_typed<uint8_t>(op, L);
  }
}

void k_where(Reader& r) {
  View out = r.view(), c = r.view(), a = r.view(), b = r.view();
  const View* vs[] = {&out, &c, &a, &b};
  Loop L(out.shape, out.nd, vs, 4);
  switch (itemsize(out.dt)) {
    case 8: return where_typed<uint64_t>(L);
    case 4: return where_typed<uint32_t>(L);
    default: return where_typed<uint8_t>(L);
  }
}

void k_copy(Reader& r) {
  View out = r.view(), src = r.view();
  const View* vs[] = {&out, &src};
  Loop L(out.shape, out.nd, vs, 2);
  if (out.dt == src.dt && L.nd == 1 && L.st[0][0] == 1 && L.st[1][0] == 1) {
    const int64_t sz = itemsize(out.dt);
    L.run([sz](int64_t n, char** p, const int64_t*) { std::memmove(p[0], p[1], n * sz); }, kGrainCheap);
    return;
  }
  switch (out.dt) {
    case F32: return copy_to<float>(L, src.dt);
    case F64: return copy_to<double>(L, src.dt);
    case I32: return copy_to<int32_t>(L, src.dt);
    default: return copy_to<uint8_t>(L, src.dt);
  }
}

void k_fill(Reader& r) {
  double v = r.num();
  View out = r.view();
  const View* vs[] = {&out};
  Loop L(out.shape, out.nd, vs, 1);
  switch (out.dt) {
    case F32: return fill_typed<float>(L, from_f64<float>(v));
    case F64: return fill_typed<double>(L, v);
    case I32: return fill_typed<int32_t>(L, from_f64<int32_t>(v));
    default: return fill_typed<uint8_t>(L, from_f64<uint8_t>(v));
  }
}

}  // namespace gb
