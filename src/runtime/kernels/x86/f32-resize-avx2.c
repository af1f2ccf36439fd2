/* Nearest-neighbour x2 upsampling along a row on AVX2 (see f32-resize-avx512.c): 8 inputs -> 16
 * outputs through unpack and a 128-bit lane permute. Moves bits only. */
#include <immintrin.h>

#include "runtime/kernels/x86/x86_kernels.h"

void eo_x32_dup2__avx2(int64_t n, const uint32_t *x, uint32_t *y) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 v = _mm256_loadu_ps((const float *)(x + j));
    __m256 a = _mm256_unpacklo_ps(v, v), b = _mm256_unpackhi_ps(v, v);  // (0 0 1 1 | 4 4 5 5), (2 2 3 3 | 6 6 7 7)
    _mm256_storeu_ps((float *)(y + 2 * j), _mm256_permute2f128_ps(a, b, 0x20));
    _mm256_storeu_ps((float *)(y + 2 * j + 8), _mm256_permute2f128_ps(a, b, 0x31));
  }
  for (; j < n; j++) y[2 * j] = y[2 * j + 1] = x[j];
}
