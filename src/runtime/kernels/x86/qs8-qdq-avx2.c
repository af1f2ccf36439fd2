/* Per-tensor QuantizeLinear (float32 -> int8/uint8) and DequantizeLinear (int8/uint8 -> float32)
 * with AVX2, the same float32 arithmetic as the scalar path in ops/quantize_linear.c:
 *   Q:  v = round_half_even(x / scale) + zp, NaN -> zp, clamped to the dtype's range
 *   DQ: y = (float)(x - zp) * scale
 * (a true division, not a reciprocal multiply, so every result is bit-identical). */
#include <immintrin.h>
#include <math.h>

#include "runtime/kernels/x86/qs8-qdq.h"

static inline __m256 q8(__m256 x, __m256 s, __m256 z, __m256 lo, __m256 hi) {
  __m256 v = _mm256_add_ps(_mm256_round_ps(_mm256_div_ps(x, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), z);
  __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
  v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
  return _mm256_blendv_ps(v, z, nan);
}

void eo_qs8_quantize__avx2(const float *x, int64_t n, float scale, int32_t zp, bool y_signed, void *y) {
  int32_t qlo = y_signed ? -128 : 0, qhi = y_signed ? 127 : 255;
  __m256 s = _mm256_set1_ps(scale), z = _mm256_set1_ps((float)zp), lo = _mm256_set1_ps((float)qlo),
         hi = _mm256_set1_ps((float)qhi);
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  uint8_t *yb = y;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i a = _mm256_cvtps_epi32(q8(_mm256_loadu_ps(x + i), s, z, lo, hi));
    __m256i b = _mm256_cvtps_epi32(q8(_mm256_loadu_ps(x + i + 8), s, z, lo, hi));
    __m256i c = _mm256_cvtps_epi32(q8(_mm256_loadu_ps(x + i + 16), s, z, lo, hi));
    __m256i d = _mm256_cvtps_epi32(q8(_mm256_loadu_ps(x + i + 24), s, z, lo, hi));
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);  // in range: exact
    __m256i r = y_signed ? _mm256_packs_epi16(ab, cd) : _mm256_packus_epi16(ab, cd);
    _mm256_storeu_si256((__m256i *)(yb + i), _mm256_permutevar8x32_epi32(r, perm));
  }
  for (; i < n; i++) {
    float v = nearbyintf(x[i] / scale) + (float)zp;
    int32_t q = v != v ? zp : v <= (float)qlo ? qlo : v >= (float)qhi ? qhi : (int32_t)v;
    yb[i] = (uint8_t)q;
  }
}

void eo_qs8_dequantize__avx2(const void *x, bool x_signed, int64_t n, float scale, int32_t zp, float *y) {
  __m256 s = _mm256_set1_ps(scale);
  __m256i z = _mm256_set1_epi32(zp);
  const int8_t *xs = x;
  const uint8_t *xu = x;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i b = _mm_loadl_epi64((const __m128i *)(xu + i));
    __m256i v = x_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)), s));
  }
  for (; i < n; i++) y[i] = (float)((x_signed ? xs[i] : xu[i]) - zp) * scale;
}
