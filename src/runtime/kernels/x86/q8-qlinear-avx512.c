/* QLinearMul rows with AVX-512F, 16 elements per vector and 32 per step: the same integer product
 * and the same two rounded float32 operations, in the same order, as the scalar reference
 * (kernels/ref/q8-qlinear-ref.c) and the AVX2 rows, so the bytes are identical. This file is
 * compiled with -mfma: the empty asm barrier keeps the product rounded on its own before the add,
 * as MLAS does (a contracted FMA would round once). A row with one operand broadcast (stride 0, the
 * [N,C,H,W] x [N,C,1,1] case) multiplies by that operand's float factor instead (bcast16). Call only
 * when eo_cpu_isa() >= EO_ISA_AVX512. */
#include <immintrin.h>
#include <string.h>

#include "runtime/kernels/ref/qlinear_kernels.h"

#define NO_CONTRACT(v) __asm__("" : "+v"(v))

static inline __m512i load16(bool s8, const uint8_t *p, int64_t stride) {
  if (stride == 0) return _mm512_set1_epi32(s8 ? (int32_t)(int8_t)p[0] : (int32_t)p[0]);
  __m128i b = _mm_loadu_si128((const __m128i *)p);
  return s8 ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
}

typedef struct mulk {
  bool s8;
  __m512i za, zb, lo, hi;
  __m512 ratio, zc;
} mulk;

/* 16 outputs: p = (a - za) * (b - zb), v = (float)p * ratio, + zc, round half even (cvtps2dq), then
 * the 8-bit range: packs to int16 then to 8 bits saturates, which equals clamping to that range
 * (INT32_MIN from an out-of-range value ends at the lower bound either way). */
static inline void mul16(const mulk *k, const uint8_t *a, int64_t sa, const uint8_t *b, int64_t sb, uint8_t *y) {
  __m512i prod = _mm512_mullo_epi32(_mm512_sub_epi32(load16(k->s8, a, sa), k->za),
                                    _mm512_sub_epi32(load16(k->s8, b, sb), k->zb));
  __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(prod), k->ratio);
  NO_CONTRACT(v);
  __m512i r = _mm512_cvtps_epi32(_mm512_add_ps(v, k->zc));
  r = _mm512_min_epi32(_mm512_max_epi32(r, k->lo), k->hi);
  _mm_storeu_si128((__m128i *)y, _mm512_cvtepi32_epi8(r));  // exact: r is already in range
}

/* One operand broadcast (a row of a [N,C,H,W] x [N,C,1,1] product): x the row, k - zk its constant
 * factor. (float)(x - zx) * (float)(k - zk) is exact (|product| <= 255 * 255 < 2^24), so it equals the
 * reference's (float) of the int32 product; then the same rounded * ratio and + zc. */
static inline __m512i bcast16(const mulk *k, __m128i x8, __m512 kf, __m512 zx) {
  __m512 fx = _mm512_sub_ps(_mm512_cvtepi32_ps(k->s8 ? _mm512_cvtepi8_epi32(x8) : _mm512_cvtepu8_epi32(x8)), zx);
  __m512 v = _mm512_mul_ps(_mm512_mul_ps(fx, kf), k->ratio);
  NO_CONTRACT(v);
  __m512i r = _mm512_cvtps_epi32(_mm512_add_ps(v, k->zc));
  return _mm512_min_epi32(_mm512_max_epi32(r, k->lo), k->hi);
}

// 64 codes per load, then 16, then an overlapping last 16
static void mul_bcast(const mulk *k, int64_t n, const uint8_t *x, int32_t zx, int32_t kq, uint8_t *y) {
  const __m512 kf = _mm512_set1_ps((float)kq), zxf = _mm512_set1_ps((float)zx);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512i v = _mm512_loadu_si512(x + i);
    __m512i r0 = bcast16(k, _mm512_castsi512_si128(v), kf, zxf), r1 = bcast16(k, _mm512_extracti32x4_epi32(v, 1), kf, zxf),
            r2 = bcast16(k, _mm512_extracti32x4_epi32(v, 2), kf, zxf), r3 = bcast16(k, _mm512_extracti32x4_epi32(v, 3), kf, zxf);
    _mm_storeu_si128((__m128i *)(y + i), _mm512_cvtepi32_epi8(r0));
    _mm_storeu_si128((__m128i *)(y + i + 16), _mm512_cvtepi32_epi8(r1));
    _mm_storeu_si128((__m128i *)(y + i + 32), _mm512_cvtepi32_epi8(r2));
    _mm_storeu_si128((__m128i *)(y + i + 48), _mm512_cvtepi32_epi8(r3));
  }
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128((__m128i *)(y + i), _mm512_cvtepi32_epi8(bcast16(k, _mm_loadu_si128((const __m128i *)(x + i)), kf, zxf)));
  if (i < n && n >= 16) {
    // the last 16 again, overlapping: each output depends on its own input alone, so the bytes
    // rewritten are the same (outputs never alias inputs); cheaper than a scalar or buffered tail
    i = n - 16;
    _mm_storeu_si128((__m128i *)(y + i), _mm512_cvtepi32_epi8(bcast16(k, _mm_loadu_si128((const __m128i *)(x + i)), kf, zxf)));
  } else if (i < n) {  // a row shorter than 16, through a 16-byte buffer: nothing read or written past n
    uint8_t tx[16] = {0}, ty[16];
    memcpy(tx, x + i, (size_t)(n - i));
    _mm_storeu_si128((__m128i *)ty, _mm512_cvtepi32_epi8(bcast16(k, _mm_loadu_si128((const __m128i *)tx), kf, zxf)));
    memcpy(y + i, ty, (size_t)(n - i));
  }
}

void eo_q8_mul_row__avx512(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b,
                           int64_t sb, uint8_t *y) {
  const mulk k = {.s8 = p->s8,
                  .za = _mm512_set1_epi32(p->a_zp),
                  .zb = _mm512_set1_epi32(p->b_zp),
                  .lo = _mm512_set1_epi32(p->s8 ? -128 : 0),
                  .hi = _mm512_set1_epi32(p->s8 ? 127 : 255),
                  .ratio = _mm512_set1_ps(p->mul_ratio),
                  .zc = _mm512_set1_ps((float)p->c_zp)};
  if (sa != sb) {  // one operand broadcast; the int32 product commutes
    int32_t kq = (sa == 0 ? (p->s8 ? (int8_t)a[0] : a[0]) - p->a_zp : (p->s8 ? (int8_t)b[0] : b[0]) - p->b_zp);
    if (sa == 0) mul_bcast(&k, n, b, p->b_zp, kq, y);
    else mul_bcast(&k, n, a, p->a_zp, kq, y);
    return;
  }
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    mul16(&k, a + i * sa, sa, b + i * sb, sb, y + i);
    mul16(&k, a + (i + 16) * sa, sa, b + (i + 16) * sb, sb, y + i + 16);
  }
  for (; i + 16 <= n; i += 16) mul16(&k, a + i * sa, sa, b + i * sb, sb, y + i);
  if (i < n && n >= 16) {  // the last 16 again, overlapping (as in mul_bcast)
    i = n - 16;
    mul16(&k, a + i * sa, sa, b + i * sb, sb, y + i);
  } else if (i < n) eo_q8_mul_row__ref(p, n - i, a + i * sa, sa, b + i * sb, sb, y + i);
}
