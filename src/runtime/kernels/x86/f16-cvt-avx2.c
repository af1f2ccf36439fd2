/* F16C float16 conversions, 8 lanes (16 per iteration where it pays), scalar-reference tails.
 * VCVTPS2PH with an explicit rounding immediate ignores MXCSR: always round to nearest even. */
#include <immintrin.h>

#include "runtime/kernels/ref/f16-cvt.h"

#define RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

void eo_f16_to_f32__f16c(const uint16_t *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i a = _mm_loadu_si128((const __m128i *)(x + i)), b = _mm_loadu_si128((const __m128i *)(x + i + 8));
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(a));
    _mm256_storeu_ps(y + i + 8, _mm256_cvtph_ps(b));
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
  eo_f16_to_f32__ref(x + i, y + i, n - i);
}

void eo_f32_to_f16__f16c(const float *x, uint16_t *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i a = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), RNE), b = _mm256_cvtps_ph(_mm256_loadu_ps(x + i + 8), RNE);
    _mm_storeu_si128((__m128i *)(y + i), a);
    _mm_storeu_si128((__m128i *)(y + i + 8), b);
  }
  for (; i + 8 <= n; i += 8) _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), RNE));
  eo_f32_to_f16__ref(x + i, y + i, n - i);
}

void eo_f32_round_f16__f16c(const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), RNE));
    __m256 b = _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i + 8), RNE));
    _mm256_storeu_ps(y + i, a);
    _mm256_storeu_ps(y + i + 8, b);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), RNE)));
  eo_f32_round_f16__ref(x + i, y + i, n - i);
}
