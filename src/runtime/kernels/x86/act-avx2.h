/* Vector activations for AVX2 + FMA files (static inline: included by each ISA file). Tanh and Elu
 * use a Cephes-style expf (range reduction by ln 2 in two parts, degree-6 polynomial; about 1 ulp),
 * Sigmoid (and SiLU) a shorter base-2 form (eo_sigmoid_avx2), so they stay within 1e-6 relative of
 * the double-precision reference. */
#ifndef EO_X86_ACT_AVX2_H
#define EO_X86_ACT_AVX2_H

#include <immintrin.h>

#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
#include "runtime/op.h"

static inline __m256 eo_exp_avx2(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.37626f));
  __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  // 2^fx: fx in [-126, 127] after the clamp, so the biased exponent stays normal.
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

/* exp(x) - 1 without the cancellation near 0: Taylor series (to x^8/8!) for |x| < 0.5. */
static inline __m256 eo_expm1_avx2(__m256 x) {
  __m256 t = _mm256_set1_ps(1.0f);
  for (int i = 8; i >= 2; i--) t = _mm256_fmadd_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.0f / (float)i)), t, _mm256_set1_ps(1.0f));
  __m256 small = _mm256_mul_ps(x, t), big = _mm256_sub_ps(eo_exp_avx2(x), _mm256_set1_ps(1.0f));
  __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.5f), _CMP_LT_OQ));
}

/* The Sigmoid op's vector kernel (also SiLU's sigmoid): 1 / (1 + 2^t), t = -v log2(e) clamped to
 * +-126 (2^round(t) from its exponent bits stays normal), times a degree-5 fit of 2^f on
 * [-0.5, 0.5]; see eo_sigmoid_avx512 for the error (below 1e-6 relative where sigmoid exceeds 1e-3)
 * and why, the same operations (identical results). Below -88.7 gives the exact 0 of the reference;
 * NaN stays NaN (max and min return their second operand for a NaN). */
static inline __m256 eo_sigmoid_avx2(__m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 t = _mm256_mul_ps(v, _mm256_set1_ps(-1.44269504088896341f));
  t = _mm256_min_ps(_mm256_set1_ps(126.0f), _mm256_max_ps(_mm256_set1_ps(-126.0f), t));
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(t, n);  // exact, in [-0.5, 0.5]
  __m256 p = _mm256_set1_ps(1.3247471069917083e-3f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.671627543866634e-3f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550793185830116e-2f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022239446640015e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931469440460205e-1f));
  p = _mm256_fmadd_ps(p, f, one);
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, _mm256_mul_ps(p, _mm256_castsi256_ps(e))));
  return _mm256_and_ps(s, _mm256_cmp_ps(v, _mm256_set1_ps(-88.7f), _CMP_NLT_UQ));
}

static inline __m256 eo_act_avx2(__m256 v, const eo_f32_act *a) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  switch (a->op) {
    case EO_OP_RELU: return _mm256_max_ps(zero, v);  // (zero, v): a NaN in v stays NaN
    case EO_OP_CLIP: return _mm256_min_ps(_mm256_set1_ps(a->beta), _mm256_max_ps(_mm256_set1_ps(a->alpha), v));
    case EO_OP_LEAKY_RELU:
      return _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(a->alpha)), _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
    case EO_OP_HARD_SIGMOID:
      return _mm256_min_ps(one, _mm256_max_ps(zero, _mm256_fmadd_ps(v, _mm256_set1_ps(a->alpha), _mm256_set1_ps(a->beta))));
    case EO_OP_HARD_SWISH: {
      __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
      return _mm256_mul_ps(v, _mm256_min_ps(one, _mm256_max_ps(zero, t)));
    }
    case EO_OP_SIGMOID: return eo_sigmoid_avx2(v);
    case EO_ACT_SILU: return _mm256_mul_ps(v, eo_sigmoid_avx2(v));  // Sigmoid's vector, then Mul's product
    case EO_OP_ELU: {
      __m256 e = _mm256_mul_ps(_mm256_set1_ps(a->alpha), eo_expm1_avx2(v));
      return _mm256_blendv_ps(v, e, _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
    }
    case EO_OP_TANH: {
      // |x| < 0.625: x + x^3 P(x^2) (Cephes tanhf); else sign(x) (1 - 2 / (exp(2|x|) + 1)).
      __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f)), ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
      __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f),
                                                    _mm256_add_ps(eo_exp_avx2(_mm256_add_ps(ax, ax)), one)));
      big = _mm256_or_ps(big, sign);
      __m256 z = _mm256_mul_ps(v, v), p = _mm256_set1_ps(-5.70498872745e-3f);
      p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
      p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
      p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
      p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
      __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), v, v);
      return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
    }
    default: return v;
  }
}

/* Mask selecting the first n (0..8) lanes. */
static inline __m256i eo_mask_avx2(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Lanes [lo, hi) of 8 as a maskload mask. */
static inline __m256i range_mask(int64_t lo, int64_t hi) {
  lo = lo < -1 ? -1 : lo > 8 ? 8 : lo;
  hi = hi < 0 ? 0 : hi > 8 ? 8 : hi;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), lane),
                          _mm256_cmpgt_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(1)), _mm256_set1_epi32((int)lo)));
}

/* Lanes whose positions q0 + lane*s lie in [0, w), as a mask vector. */
static inline __m256i lanes_inside(int64_t q0, int64_t w, __m256i lane_s) {
  __m256i idx = _mm256_add_epi32(_mm256_set1_epi32((int)q0), lane_s);
  return _mm256_and_si256(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32(-1)), _mm256_cmpgt_epi32(_mm256_set1_epi32((int)w), idx));
}

#endif
