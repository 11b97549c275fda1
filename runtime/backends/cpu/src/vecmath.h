// Vectorised float32 transcendental functions for contiguous rows (vecmath.cc).
#pragma once
#include <cstdint>

namespace gb {
// True when the processor has AVX2 and FMA; the vec_* functions may only be called then.
bool vec_available();
void vec_exp(const float* a, float* o, int64_t n);
void vec_log(const float* a, float* o, int64_t n);
void vec_sigmoid(const float* a, float* o, int64_t n);
void vec_tanh(const float* a, float* o, int64_t n);
}  // namespace gb
