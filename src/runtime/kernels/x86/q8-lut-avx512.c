/* 256-entry byte table lookup with AVX-512 VBMI (QLinearSigmoid, QLinearConcat's requantization):
 * VPERMI2B indexes 128 bytes (two registers) by the low 7 bits of each byte, so two of them cover
 * the table's halves and the byte's top bit picks between the two results. 64 bytes in 3
 * instructions instead of 64 scalar loads; the tail uses masked loads and stores, so nothing is
 * read or written past n. Same bytes as eo_q8_lut_apply__ref (a lookup has no arithmetic).
 * Call only when eo_cpu_info_get()->avx512vbmi (eo_q8_lut_pick checks). */
#include <immintrin.h>

#include "runtime/kernels/ref/qlinear_kernels.h"

#define EO_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

static inline EO_VBMI __m512i look64(__m512i x, __m512i t0, __m512i t1, __m512i t2, __m512i t3) {
  __m512i lo = _mm512_permutex2var_epi8(t0, x, t1);  // table[x & 127]
  __m512i hi = _mm512_permutex2var_epi8(t2, x, t3);  // table[128 + (x & 127)]
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi);
}

EO_VBMI void eo_q8_lut_apply__avx512vbmi(const uint8_t table[256], int64_t n, const uint8_t *x, uint8_t *y) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64),
                t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  int64_t i = 0;
  // two vectors per step: the permutes of one overlap the other's (latency 3, one per cycle)
  for (; i + 128 <= n; i += 128) {
    __m512i a = _mm512_loadu_si512(x + i), b = _mm512_loadu_si512(x + i + 64);
    _mm512_storeu_si512(y + i, look64(a, t0, t1, t2, t3));
    _mm512_storeu_si512(y + i + 64, look64(b, t0, t1, t2, t3));
  }
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(y + i, look64(_mm512_loadu_si512(x + i), t0, t1, t2, t3));
  if (i < n) {
    __mmask64 m = ((__mmask64)1 << (n - i)) - 1;  // n - i in 1..63
    _mm512_mask_storeu_epi8(y + i, m, look64(_mm512_maskz_loadu_epi8(m, x + i), t0, t1, t2, t3));
  }
}
