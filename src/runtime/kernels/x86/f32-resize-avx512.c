/* Nearest-neighbour x2 upsampling along a row on AVX-512F (Resize's integer-factor case): every
 * element written twice, 16 inputs -> 32 outputs through two lane permutes. Moves bits only, so the
 * result is the reference's exactly (any 4-byte type). */
#include <immintrin.h>

#include "runtime/kernels/x86/x86_kernels.h"

void eo_x32_dup2__avx512f(int64_t n, const uint32_t *x, uint32_t *y) {
  const __m512i lo = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const __m512i hi = _mm512_setr_epi32(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    __m512i v = _mm512_loadu_si512(x + j);
    _mm512_storeu_si512(y + 2 * j, _mm512_permutexvar_epi32(lo, v));
    _mm512_storeu_si512(y + 2 * j + 16, _mm512_permutexvar_epi32(hi, v));
  }
  if (j < n) {
    const int t = (int)(n - j);  // 1..15 inputs -> 2..30 outputs
    __m512i v = _mm512_maskz_loadu_epi32((__mmask16)((1u << t) - 1), x + j);
    const int t2 = 2 * t;
    _mm512_mask_storeu_epi32(y + 2 * j, (__mmask16)(t2 >= 16 ? 0xffffu : (1u << t2) - 1), _mm512_permutexvar_epi32(lo, v));
    if (t2 > 16) _mm512_mask_storeu_epi32(y + 2 * j + 16, (__mmask16)((1u << (t2 - 16)) - 1), _mm512_permutexvar_epi32(hi, v));
  }
}
