/* Softmax / LogSoftmax of float32 on AVX-512F, the same arithmetic as eo_f32_softmax__ref
 * (max, exp(x - max), sum = exact ones counted + the rest in double, then scale by (float)(1 / sum)
 * or subtract (float)log(sum), log1p(rest) with a single one)
 * with the Cephes-style vector exp of act-avx512.h. Two shapes of work:
 *   rows: the softmax axis is contiguous (inner == 1, a classifier's logits): one row at a time,
 *         16 elements per vector, lanes summed at the end (in double, so the order does not show);
 *   cols: the axis is strided (inner > 1): 16 neighbouring columns are 16 independent softmaxes,
 *         loaded contiguously at each k; each lane sums in k order like the reference. */
#include <math.h>

#include "runtime/kernels/x86/act-avx512.h"
#include "runtime/kernels/x86/x86_kernels.h"

/* exp(x) for x <= 0 (or NaN). eo_exp_avx512 clamps its input at ln(FLT_MIN), which would lift the
 * subnormal results expf gives for x in [-103.97, -87.34) (and the 0 of -inf) to about FLT_MIN;
 * there exp(x/2)^2 is used instead, rounded once into the subnormal range like expf. NaN stays NaN. */
static inline __m512 exp_nonpos(__m512 x) {
  __m512 e = eo_exp_avx512(x);
  __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33654f), _CMP_LT_OQ);
  if (tiny) {
    __m512 h = eo_exp_avx512(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)));
    e = _mm512_mask_mul_ps(e, tiny, h, h);
  }
  return _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

/* Adds the 16 lanes of e to two double accumulators (8 lanes each). */
static inline void acc_pd(__m512 e, __m512d *lo, __m512d *hi) {
  *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
  *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(e), 1))));
}

/* Adds e to a sum kept as the count of terms exactly 1 (cnt) and the rest in double (lo, hi). */
static inline void acc(__m512 e, __m512i *cnt, __m512d *lo, __m512d *hi) {
  const __mmask16 one = _mm512_cmp_ps_mask(e, _mm512_set1_ps(1.0f), _CMP_EQ_OQ);
  *cnt = _mm512_mask_add_epi32(*cnt, one, *cnt, _mm512_set1_epi32(1));
  acc_pd(_mm512_mask_mov_ps(e, one, _mm512_setzero_ps()), lo, hi);
}

/* log(ones + rest) as the reference takes it. */
static inline float log_sum(int64_t ones, double rest) {
  return (float)(ones == 1 ? log1p(rest) : log((double)ones + rest));
}

/* Two vectors of 8 doubles narrowed to one of 16 floats. */
static inline __m512 join_ps(__m512d lo, __m512d hi) {
  __m512d j = _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(_mm512_cvtpd_ps(lo))),
                                 _mm256_castps_pd(_mm512_cvtpd_ps(hi)), 1);
  return _mm512_castpd_ps(j);
}

void eo_f32_softmax_rows__avx512f(int64_t rows, int64_t n, const float *x, float *y, bool log_softmax) {
  const int64_t nv = n & ~(int64_t)15;
  const __mmask16 tm = eo_mask_avx512((int)(n - nv));
  for (int64_t r = 0; r < rows; r++, x += n, y += n) {
    // A NaN anywhere makes every output NaN (through the sum), whatever max is taken here.
    __m512 vm = _mm512_set1_ps(-INFINITY);
    for (int64_t k = 0; k < nv; k += 16) vm = _mm512_max_ps(_mm512_loadu_ps(x + k), vm);
    if (tm) vm = _mm512_mask_max_ps(vm, tm, _mm512_maskz_loadu_ps(tm, x + nv), vm);
    const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    __m512i cnt = _mm512_setzero_si512();
    for (int64_t k = 0; k < nv; k += 16) {
      __m512 e = exp_nonpos(_mm512_sub_ps(_mm512_loadu_ps(x + k), m));
      if (!log_softmax) _mm512_storeu_ps(y + k, e);
      acc(e, &cnt, &s0, &s1);
    }
    if (tm) {
      __m512 e = _mm512_maskz_mov_ps(tm, exp_nonpos(_mm512_sub_ps(_mm512_maskz_loadu_ps(tm, x + nv), m)));
      if (!log_softmax) _mm512_mask_storeu_ps(y + nv, tm, e);
      acc(e, &cnt, &s0, &s1);
    }
    const int64_t ones = _mm512_reduce_add_epi32(cnt);
    const double rest = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    if (log_softmax) {
      const __m512 ls = _mm512_set1_ps(log_sum(ones, rest));
      for (int64_t k = 0; k < nv; k += 16)
        _mm512_storeu_ps(y + k, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + k), m), ls));
      if (tm)
        _mm512_mask_storeu_ps(y + nv, tm, _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(tm, x + nv), m), ls));
    } else {
      const __m512 inv = _mm512_set1_ps((float)(1.0 / ((double)ones + rest)));
      for (int64_t k = 0; k < nv; k += 16) _mm512_storeu_ps(y + k, _mm512_mul_ps(_mm512_loadu_ps(y + k), inv));
      if (tm) _mm512_mask_storeu_ps(y + nv, tm, _mm512_mul_ps(_mm512_maskz_loadu_ps(tm, y + nv), inv));
    }
  }
}

void eo_f32_softmax_cols__avx512f(int64_t n, int64_t inner, int64_t cols, const float *x, float *y,
                                  bool log_softmax) {
  for (int64_t j = 0; j < cols; j += 16) {
    const __mmask16 mk = eo_mask_avx512((int)(cols - j < 16 ? cols - j : 16));
    const float *xc = x + j;
    float *yc = y + j;
    // max_ps(a, b) is (a > b ? a : b): the reference's "if (x > m) m = x", NaN and -0 included.
    __m512 m = _mm512_maskz_loadu_ps(mk, xc);
    for (int64_t k = 1; k < n; k++) m = _mm512_max_ps(_mm512_maskz_loadu_ps(mk, xc + k * inner), m);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    __m512i cnt = _mm512_setzero_si512();
    for (int64_t k = 0; k < n; k++) {
      __m512 e = exp_nonpos(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, xc + k * inner), m));
      if (!log_softmax) _mm512_mask_storeu_ps(yc + k * inner, mk, e);
      acc(e, &cnt, &s0, &s1);
    }
    if (log_softmax) {
      double sd[16];
      int32_t cd[16];
      float lf[16];
      _mm512_storeu_pd(sd, s0);
      _mm512_storeu_pd(sd + 8, s1);
      _mm512_storeu_si512(cd, cnt);
      for (int l = 0; l < 16; l++) lf[l] = log_sum(cd[l], sd[l]);
      const __m512 ls = _mm512_loadu_ps(lf);
      for (int64_t k = 0; k < n; k++)
        _mm512_mask_storeu_ps(yc + k * inner, mk,
                              _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, xc + k * inner), m), ls));
    } else {
      const __m512d one = _mm512_set1_pd(1.0);
      s0 = _mm512_add_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(cnt)), s0);
      s1 = _mm512_add_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(cnt, 1)), s1);
      const __m512 inv = join_ps(_mm512_div_pd(one, s0), _mm512_div_pd(one, s1));
      for (int64_t k = 0; k < n; k++)
        _mm512_mask_storeu_ps(yc + k * inner, mk, _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, yc + k * inner), inv));
    }
  }
}
