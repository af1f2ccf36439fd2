/* Softmax / LogSoftmax of float32 on AVX2 + FMA: f32-softmax-avx512.c on 8 lanes (see there). */
#include <math.h>

#include "runtime/kernels/x86/act-avx2.h"
#include "runtime/kernels/x86/x86_kernels.h"

/* exp(x) for x <= 0 (or NaN), subnormal results included (see f32-softmax-avx512.c). */
static inline __m256 exp_nonpos(__m256 x) {
  __m256 e = eo_exp_avx2(x);
  __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33654f), _CMP_LT_OQ);
  if (_mm256_movemask_ps(tiny)) {
    __m256 h = eo_exp_avx2(_mm256_mul_ps(x, _mm256_set1_ps(0.5f)));
    e = _mm256_blendv_ps(e, _mm256_mul_ps(h, h), tiny);
  }
  return _mm256_blendv_ps(e, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static inline void acc_pd(__m256 e, __m256d *lo, __m256d *hi) {
  *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
  *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

/* Adds e to a sum kept as the count of terms exactly 1 (cnt) and the rest in double (lo, hi). */
static inline void acc(__m256 e, __m256i *cnt, __m256d *lo, __m256d *hi) {
  const __m256 one = _mm256_cmp_ps(e, _mm256_set1_ps(1.0f), _CMP_EQ_OQ);
  *cnt = _mm256_sub_epi32(*cnt, _mm256_castps_si256(one));  // lanes of all ones are -1
  acc_pd(_mm256_andnot_ps(one, e), lo, hi);
}

/* log(ones + rest) as the reference takes it. */
static inline float log_sum(int64_t ones, double rest) {
  return (float)(ones == 1 ? log1p(rest) : log((double)ones + rest));
}

/* Lane mask of the first n (0..8) lanes, for maskload/maskstore. */
static inline __m256i lanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline double hsum_pd(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

static inline float hmax_ps(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

void eo_f32_softmax_rows__avx2_fma(int64_t rows, int64_t n, const float *x, float *y, bool log_softmax) {
  const int64_t nv = n & ~(int64_t)7;
  const int tail = (int)(n - nv);
  const __m256i tm = lanes(tail);
  const __m256 tmf = _mm256_castsi256_ps(tm);
  for (int64_t r = 0; r < rows; r++, x += n, y += n) {
    // A NaN anywhere makes every output NaN (through the sum), whatever max is taken here.
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (int64_t k = 0; k < nv; k += 8) vm = _mm256_max_ps(_mm256_loadu_ps(x + k), vm);
    if (tail) vm = _mm256_blendv_ps(vm, _mm256_max_ps(_mm256_maskload_ps(x + nv, tm), vm), tmf);
    const __m256 m = _mm256_set1_ps(hmax_ps(vm));
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    __m256i cnt = _mm256_setzero_si256();
    for (int64_t k = 0; k < nv; k += 8) {
      __m256 e = exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + k), m));
      if (!log_softmax) _mm256_storeu_ps(y + k, e);
      acc(e, &cnt, &s0, &s1);
    }
    if (tail) {
      __m256 e = _mm256_and_ps(tmf, exp_nonpos(_mm256_sub_ps(_mm256_maskload_ps(x + nv, tm), m)));
      if (!log_softmax) _mm256_maskstore_ps(y + nv, tm, e);
      acc(e, &cnt, &s0, &s1);
    }
    int32_t cd[8];
    _mm256_storeu_si256((__m256i *)cd, cnt);
    int64_t ones = 0;
    for (int l = 0; l < 8; l++) ones += cd[l];
    const double rest = hsum_pd(_mm256_add_pd(s0, s1));
    if (log_softmax) {
      const __m256 ls = _mm256_set1_ps(log_sum(ones, rest));
      for (int64_t k = 0; k < nv; k += 8)
        _mm256_storeu_ps(y + k, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + k), m), ls));
      if (tail)
        _mm256_maskstore_ps(y + nv, tm, _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(x + nv, tm), m), ls));
    } else {
      const __m256 inv = _mm256_set1_ps((float)(1.0 / ((double)ones + rest)));
      for (int64_t k = 0; k < nv; k += 8) _mm256_storeu_ps(y + k, _mm256_mul_ps(_mm256_loadu_ps(y + k), inv));
      if (tail) _mm256_maskstore_ps(y + nv, tm, _mm256_mul_ps(_mm256_maskload_ps(y + nv, tm), inv));
    }
  }
}

void eo_f32_softmax_cols__avx2_fma(int64_t n, int64_t inner, int64_t cols, const float *x, float *y,
                                   bool log_softmax) {
  for (int64_t j = 0; j < cols; j += 8) {
    const __m256i mk = lanes((int)(cols - j < 8 ? cols - j : 8));
    const float *xc = x + j;
    float *yc = y + j;
    // max_ps(a, b) is (a > b ? a : b): the reference's "if (x > m) m = x".
    __m256 m = _mm256_maskload_ps(xc, mk);
    for (int64_t k = 1; k < n; k++) m = _mm256_max_ps(_mm256_maskload_ps(xc + k * inner, mk), m);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    __m256i cnt = _mm256_setzero_si256();
    for (int64_t k = 0; k < n; k++) {
      __m256 e = exp_nonpos(_mm256_sub_ps(_mm256_maskload_ps(xc + k * inner, mk), m));
      if (!log_softmax) _mm256_maskstore_ps(yc + k * inner, mk, e);
      acc(e, &cnt, &s0, &s1);
    }
    if (log_softmax) {
      double sd[8];
      int32_t cd[8];
      float lf[8];
      _mm256_storeu_pd(sd, s0);
      _mm256_storeu_pd(sd + 4, s1);
      _mm256_storeu_si256((__m256i *)cd, cnt);
      for (int l = 0; l < 8; l++) lf[l] = log_sum(cd[l], sd[l]);
      const __m256 ls = _mm256_loadu_ps(lf);
      for (int64_t k = 0; k < n; k++)
        _mm256_maskstore_ps(yc + k * inner, mk, _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(xc + k * inner, mk), m), ls));
    } else {
      const __m256d one = _mm256_set1_pd(1.0);
      s0 = _mm256_add_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(cnt)), s0);
      s1 = _mm256_add_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(cnt, 1)), s1);
      const __m256 inv = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_div_pd(one, s1)), _mm256_cvtpd_ps(_mm256_div_pd(one, s0)));
      for (int64_t k = 0; k < n; k++)
        _mm256_maskstore_ps(yc + k * inner, mk, _mm256_mul_ps(_mm256_maskload_ps(yc + k * inner, mk), inv));
    }
  }
}
