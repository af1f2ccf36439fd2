/* AVX-512F Winograd F(2x2, 3x3) input and output transforms (contracts: winograd.h), 16 tiles of a
 * tile row per vector. A tile's columns are
 * 2 apart, so each input row is read as two pairs of vectors de-interleaved into its 4 columns,
 * and the output rows are re-interleaved from the tiles' two columns. The output transform also
 * applies the activation while the values are in registers. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "runtime/kernels/winograd.h"
#include "runtime/kernels/x86/act-avx512.h"
#include "runtime/kernels/x86/x86_kernels.h"

static inline __mmask16 mask_n(int64_t n) { return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

void eo_f32_wino_input__avx512f(const float *xp, int64_t c_n, int64_t plane, int64_t wp, int64_t tw, int64_t t0,
                                int64_t nt, int nr, float *v, int64_t vs) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t l0 = 0, run; l0 < nt; l0 += run) {
    const int64_t t = t0 + l0, ty = t / tw, tx0 = t % tw;
    run = min64(min64(tw - tx0, nt - l0), nr - l0 % nr);
    float *vq = v + l0 / nr * c_n * nr + l0 % nr;
    for (int64_t i = 0; i < run; i += 16) {
      const int64_t n = min64(16, run - i), valid = 2 * n + 2;  // floats of each input row the tiles read
      const __mmask16 m0 = mask_n(valid), m1 = mask_n(valid - 16), m2 = mask_n(valid - 2), m3 = mask_n(valid - 18);
      const __mmask16 mo = mask_n(n);
      for (int64_t c = 0; c < c_n; c++) {
        const float *d = xp + c * plane + 2 * ty * wp + 2 * (tx0 + i);
        __m512 r[4][4];
        for (int k = 0; k < 4; k++, d += wp) {  // columns 2i, 2i+1, 2i+2, 2i+3 of row k
          const __m512 a = _mm512_maskz_loadu_ps(m0, d), b = _mm512_maskz_loadu_ps(m1, d + 16);
          const __m512 a2 = _mm512_maskz_loadu_ps(m2, d + 2), b2 = _mm512_maskz_loadu_ps(m3, d + 18);
          r[k][0] = _mm512_permutex2var_ps(a, even, b);
          r[k][1] = _mm512_permutex2var_ps(a, odd, b);
          r[k][2] = _mm512_permutex2var_ps(a2, even, b2);
          r[k][3] = _mm512_permutex2var_ps(a2, odd, b2);
        }
        __m512 s[4][4];  // B^T d
        for (int j = 0; j < 4; j++) {
          s[0][j] = _mm512_sub_ps(r[0][j], r[2][j]);
          s[1][j] = _mm512_add_ps(r[1][j], r[2][j]);
          s[2][j] = _mm512_sub_ps(r[2][j], r[1][j]);
          s[3][j] = _mm512_sub_ps(r[1][j], r[3][j]);
        }
        float *o = vq + c * nr + i;
        for (int k = 0; k < 4; k++) {  // (B^T d) B
          _mm512_mask_storeu_ps(o + (4 * k + 0) * vs, mo, _mm512_sub_ps(s[k][0], s[k][2]));
          _mm512_mask_storeu_ps(o + (4 * k + 1) * vs, mo, _mm512_add_ps(s[k][1], s[k][2]));
          _mm512_mask_storeu_ps(o + (4 * k + 2) * vs, mo, _mm512_sub_ps(s[k][2], s[k][1]));
          _mm512_mask_storeu_ps(o + (4 * k + 3) * vs, mo, _mm512_sub_ps(s[k][1], s[k][3]));
        }
      }
    }
  }
}

void eo_f32_wino_output__avx512f(const float *m, int64_t ms, int64_t ldm, int64_t m_n, int64_t tw, int64_t t0,
                                 int64_t nt, int nr, const float *bias, int64_t oh, int64_t ow, float *y,
                                 const eo_f32_act *act) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
  const bool has_act = act && act->op >= 0;
  for (int64_t l0 = 0, run; l0 < nt; l0 += run) {
    const int64_t t = t0 + l0, ty = t / tw, tx0 = t % tw;
    run = min64(min64(tw - tx0, nt - l0), nr - l0 % nr);
    const bool row1 = 2 * ty + 1 < oh;
    for (int64_t co = 0; co < m_n; co++) {
      const __m512 b = _mm512_set1_ps(bias ? bias[co] : 0.0f);
      float *y0 = y + co * oh * ow + 2 * ty * ow + 2 * tx0;
      for (int64_t i = 0; i < run; i += 16) {
        const int64_t n = min64(16, run - i), cols = min64(2 * n, ow - 2 * (tx0 + i));
        const __mmask16 mi = mask_n(n);
        const float *s = m + co * ldm + l0 + i;
        __m512 r0[4], r1[4];  // A^T M
        for (int j = 0; j < 4; j++) {
          const __m512 s0 = _mm512_maskz_loadu_ps(mi, s + j * ms), s1 = _mm512_maskz_loadu_ps(mi, s + (4 + j) * ms);
          const __m512 s2 = _mm512_maskz_loadu_ps(mi, s + (8 + j) * ms), s3 = _mm512_maskz_loadu_ps(mi, s + (12 + j) * ms);
          r0[j] = _mm512_add_ps(_mm512_add_ps(s0, s1), s2);
          r1[j] = _mm512_sub_ps(_mm512_sub_ps(s1, s2), s3);
        }
        __m512 y00 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(r0[0], r0[1]), r0[2]), b);
        __m512 y01 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(r0[1], r0[2]), r0[3]), b);
        __m512 y10 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(r1[0], r1[1]), r1[2]), b);
        __m512 y11 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(r1[1], r1[2]), r1[3]), b);
        if (has_act) {
          y00 = eo_act_avx512(y00, act);
          y01 = eo_act_avx512(y01, act);
          y10 = eo_act_avx512(y10, act);
          y11 = eo_act_avx512(y11, act);
        }
        const __mmask16 c0 = mask_n(cols), c1 = mask_n(cols - 16);
        float *d = y0 + 2 * i;
        _mm512_mask_storeu_ps(d, c0, _mm512_permutex2var_ps(y00, lo, y01));
        _mm512_mask_storeu_ps(d + 16, c1, _mm512_permutex2var_ps(y00, hi, y01));
        if (row1) {
          _mm512_mask_storeu_ps(d + ow, c0, _mm512_permutex2var_ps(y10, lo, y11));
          _mm512_mask_storeu_ps(d + ow + 16, c1, _mm512_permutex2var_ps(y10, hi, y11));
        }
      }
    }
  }
}
#endif
