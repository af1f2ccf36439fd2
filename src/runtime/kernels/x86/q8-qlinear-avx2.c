/* QLinearAdd / QLinearMul rows with AVX2, 8 elements at a time, the same float32 operations in the
 * same order as the scalar reference (kernels/ref/q8-qlinear-ref.c), so the bytes are identical.
 * This file is compiled with -mfma: an empty asm barrier keeps each product rounded on its own
 * before the following add, as MLAS does (a contracted FMA would round once). */
#include <immintrin.h>
#include <math.h>

#include "runtime/kernels/ref/qlinear_kernels.h"

#define NO_CONTRACT(v) __asm__("" : "+x"(v))

static inline __m256i load8(bool s8, const uint8_t *p, int64_t stride) {
  if (stride == 0) return _mm256_set1_epi32(s8 ? (int32_t)(int8_t)p[0] : (int32_t)p[0]);
  __m128i b = _mm_loadl_epi64((const __m128i *)p);
  return s8 ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
}

/* 8 int32 already clamped to the 8-bit range -> 8 bytes (packs to int16 is exact; then packus keeps
 * 0..255, packs keeps -128..127). */
static inline void store8(bool s8, __m256i r, uint8_t *y) {
  __m256i w = _mm256_packs_epi32(r, r);  // per 128-bit lane: r0..3 r0..3 | r4..7 r4..7
  __m256i b = s8 ? _mm256_packs_epi16(w, w) : _mm256_packus_epi16(w, w);
  __m128i lo = _mm256_castsi256_si128(b), hi = _mm256_extracti128_si256(b, 1);
  _mm_storel_epi64((__m128i *)y, _mm_unpacklo_epi32(lo, hi));
}

/* uint8 Add: fused multiply-adds on the raw codes (qlinear_kernels.h); a stride-0 operand is
 * folded into the constant once, with one FMA, as the reference does per element. */
static void add_u8(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b, int64_t sb,
                   uint8_t *y) {
  const __m256 rac = _mm256_set1_ps(p->rac), rbc = _mm256_set1_ps(p->rbc);
  const __m256i lo = _mm256_setzero_si256(), hi = _mm256_set1_epi32(255);
  __m256 fixed = _mm256_set1_ps(p->fixed_ab);
  if (sb == 0)
    fixed = _mm256_set1_ps(fmaf((float)b[0], p->rbc, p->fixed_ab));
  else if (sa == 0)
    fixed = _mm256_set1_ps(fmaf((float)a[0], p->rac, p->fixed_ba));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v;
    if (sb == 0) {
      v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(load8(false, a + i, 1)), rac, fixed);
    } else if (sa == 0) {
      v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(load8(false, b + i, 1)), rbc, fixed);
    } else {
      v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(load8(false, b + i, 1)), rbc, fixed);
      v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(load8(false, a + i, 1)), rac, v);
    }
    // cvtps2dq then saturation (INT32_MIN from an out-of-range value ends at 0, as packs would)
    __m256i r = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(v), lo), hi);
    store8(false, r, y + i);
  }
  if (i < n) eo_q8_add_row__ref(p, n - i, a + i * sa, sa, b + i * sb, sb, y + i);
}

void eo_q8_add_row__avx2(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b,
                         int64_t sb, uint8_t *y) {
  if (!p->s8) {
    add_u8(p, n, a, sa, b, sb, y);
    return;
  }
  const __m256i za = _mm256_set1_epi32(p->a_zp), zb = _mm256_set1_epi32(p->b_zp), zc = _mm256_set1_epi32(p->c_zp);
  const __m256 sca = _mm256_set1_ps(p->a_scale), scb = _mm256_set1_ps(p->b_scale), scc = _mm256_set1_ps(p->c_scale);
  const __m256i lo = _mm256_set1_epi32((p->s8 ? -128 : 0) - p->c_zp), hi = _mm256_set1_epi32((p->s8 ? 127 : 255) - p->c_zp);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 fa = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(load8(p->s8, a + i * sa, sa), za)), sca);
    __m256 fb = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(load8(p->s8, b + i * sb, sb), zb)), scb);
    NO_CONTRACT(fa);
    NO_CONTRACT(fb);
    __m256i r = _mm256_cvtps_epi32(_mm256_div_ps(_mm256_add_ps(fa, fb), scc));
    r = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(r, lo), hi), zc);
    store8(p->s8, r, y + i);
  }
  if (i < n) eo_q8_add_row__ref(p, n - i, a + i * sa, sa, b + i * sb, sb, y + i);
}

typedef struct mulk8 {
  __m256i za, zb, lo, hi;
  __m256 ratio, zc;
} mulk8;

static inline void mul8(const eo_qbin_params *p, const mulk8 *k, const uint8_t *a, int64_t sa, const uint8_t *b,
                        int64_t sb, uint8_t *y) {
  __m256i prod = _mm256_mullo_epi32(_mm256_sub_epi32(load8(p->s8, a, sa), k->za), _mm256_sub_epi32(load8(p->s8, b, sb), k->zb));
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(prod), k->ratio);
  NO_CONTRACT(v);
  __m256i r = _mm256_cvtps_epi32(_mm256_add_ps(v, k->zc));
  // packs to int16 then to 8 bits saturates; clamping to the 8-bit range is the same (INT32_MIN
  // from an out-of-range value ends at the lower bound either way)
  r = _mm256_min_epi32(_mm256_max_epi32(r, k->lo), k->hi);
  store8(p->s8, r, y);
}

void eo_q8_mul_row__avx2(const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa, const uint8_t *b,
                         int64_t sb, uint8_t *y) {
  const mulk8 k = {.za = _mm256_set1_epi32(p->a_zp), .zb = _mm256_set1_epi32(p->b_zp),
                   .lo = _mm256_set1_epi32(p->s8 ? -128 : 0), .hi = _mm256_set1_epi32(p->s8 ? 127 : 255),
                   .ratio = _mm256_set1_ps(p->mul_ratio), .zc = _mm256_set1_ps((float)p->c_zp)};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) mul8(p, &k, a + i * sa, sa, b + i * sb, sb, y + i);
  if (i < n && n >= 8) {
    // the last 8 again, overlapping: each output depends on its own inputs alone, so the bytes
    // rewritten are the same (outputs never alias inputs); a scalar tail costs more (nearbyintf)
    i = n - 8;
    mul8(p, &k, a + i * sa, sa, b + i * sb, sb, y + i);
  } else if (i < n) {
    eo_q8_mul_row__ref(p, n - i, a + i * sa, sa, b + i * sb, sb, y + i);
  }
}

/* Table lookup, 32 bytes at a time: VPSHUFB reads 16-byte slices, so the table is 16 slices and
 * each byte is looked up in all of them; v = x - 16k (wrapping) lies in [0, 16) only for the slice
 * k that holds x, and adds_epu8(v, 0x70) keeps those in 0x70..0x7f (bit 7 clear, low nibble v)
 * while pushing every other byte to >= 0x80, which VPSHUFB turns into 0. The 16 results OR into
 * the answer. */
void eo_q8_lut_apply__avx2(const uint8_t table[256], int64_t n, const uint8_t *x, uint8_t *y) {
  __m256i t[16];
  for (int k = 0; k < 16; k++) t[k] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(table + 16 * k)));
  const __m256i off = _mm256_set1_epi8(0x70), step = _mm256_set1_epi8(16);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(x + i));
    __m256i r = _mm256_shuffle_epi8(t[0], _mm256_adds_epu8(v, off));
    for (int k = 1; k < 16; k++) {
      v = _mm256_sub_epi8(v, step);
      r = _mm256_or_si256(r, _mm256_shuffle_epi8(t[k], _mm256_adds_epu8(v, off)));
    }
    _mm256_storeu_si256((__m256i *)(y + i), r);
  }
  if (i < n) eo_q8_lut_apply__ref(table, n - i, x + i, y + i);
}

int32_t eo_s16_dot__avx2(const int16_t *a, const int16_t *b, int64_t k) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  int64_t i = 0;
  // |a|, |b| <= 255: each madd pair sum fits int32, and integer sums are exact in any order
  for (; i + 32 <= k; i += 32) {
    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(a + i)),
                                                     _mm256_loadu_si256((const __m256i *)(b + i))));
    acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(a + i + 16)),
                                                     _mm256_loadu_si256((const __m256i *)(b + i + 16))));
  }
  for (; i + 16 <= k; i += 16)
    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(a + i)),
                                                     _mm256_loadu_si256((const __m256i *)(b + i))));
  acc0 = _mm256_add_epi32(acc0, acc1);
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc0), _mm256_extracti128_si256(acc0, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  int32_t r = _mm_cvtsi128_si32(s);
  return r + eo_s16_dot__ref(a + i, b + i, k - i);
}
