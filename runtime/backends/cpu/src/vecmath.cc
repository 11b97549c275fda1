// AVX2 float32 exp, log, sigmoid and tanh for contiguous rows (Cephes' polynomials, about 1-2 ulp;
// the reference rounds the float64 result once, so tests allow a few ulp). A group of 8 with any
// lane outside the polynomial's safe range (overflow, denormal results, NaN, non-positive log
// arguments) is done by the scalar libm instead, so edge values behave exactly as elsewhere.
#include <cmath>

#include "common.h"
#include "vecmath.h"

#if GB_X86
#include <immintrin.h>

namespace gb {

namespace {

// e^x for x in [-87, 87]: 2^n * e^r with |r| <= ln2/2.
GB_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

GB_AVX2 inline bool within(__m256 x, float lo, float hi) {
  // false for NaN too: ordered comparisons fail on it
  const __m256 ok = _mm256_and_ps(_mm256_cmp_ps(x, _mm256_set1_ps(lo), _CMP_GE_OQ),
                                  _mm256_cmp_ps(x, _mm256_set1_ps(hi), _CMP_LE_OQ));
  return _mm256_movemask_ps(ok) == 0xff;
}

GB_AVX2 inline __m256 log8(__m256 x) {
  const __m256i bits = _mm256_castps_si256(x);
  __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
  __m256 m = _mm256_castsi256_ps(
      _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f000000)));
  // m in [0.5, 1): fold to [sqrt(1/2), sqrt(2)) - 1
  const __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
  e = _mm256_sub_ps(e, _mm256_and_ps(small, _mm256_set1_ps(1.0f)));
  m = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(small, m)), _mm256_set1_ps(1.0f));
  const __m256 z = _mm256_mul_ps(m, m);
  __m256 y = _mm256_set1_ps(7.0376836292e-2f);
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(-1.1514610310e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(1.1676998740e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(-1.2420140846e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(1.4249322787e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(-1.6668057665e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(2.0000714765e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(-2.4999993993e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(3.3333331174e-1f));
  y = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), _mm256_add_ps(m, y));
}

GB_AVX2 inline __m256 sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

GB_AVX2 inline __m256 tanh8(__m256 x) {
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 ax = _mm256_min_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(9.0f));
  // small |x|: odd polynomial (no cancellation); larger: 1 - 2 / (e^2|x| + 1)
  const __m256 z = _mm256_mul_ps(ax, ax);
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 big = _mm256_sub_ps(
      one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(exp8(_mm256_add_ps(ax, ax)), one)));
  const __m256 r = _mm256_blendv_ps(p, big, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_GE_OQ));
  return _mm256_or_ps(r, sign);
}

enum Fn { EXP, LOG, SIGMOID, TANH };

template <int F>
GB_AVX2 inline __m256 vec8(__m256 x) {
  return F == EXP ? exp8(x) : F == LOG ? log8(x) : F == SIGMOID ? sigmoid8(x) : tanh8(x);
}

template <int F>
inline float scalar(float x) {
  return F == EXP ? std::exp(x) : F == LOG ? std::log(x) : F == SIGMOID ? 1.0f / (1.0f + std::exp(-x)) : std::tanh(x);
}

template <int F>
GB_AVX2 void rows(const float* a, float* o, int64_t n, float lo, float hi) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(a + i);
    if (within(x, lo, hi)) {
      _mm256_storeu_ps(o + i, vec8<F>(x));
    } else {
      for (int l = 0; l < 8; l++) o[i + l] = scalar<F>(a[i + l]);
    }
  }
  for (; i < n; i++) o[i] = scalar<F>(a[i]);
}

}  // namespace

bool vec_available() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

void vec_exp(const float* a, float* o, int64_t n) { rows<EXP>(a, o, n, -87.0f, 87.0f); }
void vec_log(const float* a, float* o, int64_t n) { rows<LOG>(a, o, n, 1.17549435e-38f, 3.4e38f); }
void vec_sigmoid(const float* a, float* o, int64_t n) { rows<SIGMOID>(a, o, n, -87.0f, 87.0f); }
void vec_tanh(const float* a, float* o, int64_t n) { rows<TANH>(a, o, n, -3.4e38f, 3.4e38f); }

}  // namespace gb

#else  // !GB_X86

namespace gb {
bool vec_available() { return false; }
void vec_exp(const float*, float*, int64_t) {}
void vec_log(const float*, float*, int64_t) {}
void vec_sigmoid(const float*, float*, int64_t) {}
void vec_tanh(const float*, float*, int64_t) {}
}  // namespace gb

#endif
