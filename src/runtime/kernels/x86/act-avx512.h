/* Vector activations for AVX-512F files: the same formulas as act-avx2.h on 16 lanes. */
#ifndef EO_X86_ACT_AVX512_H
#define EO_X86_ACT_AVX512_H

#include <immintrin.h>

#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
#include "runtime/op.h"

static inline __m512 eo_exp_avx512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33654f)), _mm512_set1_ps(88.37626f));
  __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
  __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}

/* exp(x) - 1 without the cancellation near 0: Taylor series (to x^8/8!) for |x| < 0.5. */
static inline __m512 eo_expm1_avx512(__m512 x) {
  __m512 t = _mm512_set1_ps(1.0f);
  for (int i = 8; i >= 2; i--) t = _mm512_fmadd_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.0f / (float)i)), t, _mm512_set1_ps(1.0f));
  __m512 small = _mm512_mul_ps(x, t), big = _mm512_sub_ps(eo_exp_avx512(x), _mm512_set1_ps(1.0f));
  __m512 ax = _mm512_castsi512_ps(_mm512_andnot_si512(_mm512_set1_epi32((int)0x80000000u), _mm512_castps_si512(x)));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.5f), _CMP_LT_OQ), big, small);
}

/* The Sigmoid op's vector kernel (also SiLU's sigmoid): 1 / (1 + 2^t), t = -v log2(e) clamped to
 * +-126, 2^t = 2^round(t) (scalef) times a degree-5 fit of 2^f on [-0.5, 0.5] (relative error
 * 1.5e-7). Rounding t costs |t| 2^-24 relative in 2^t: sigmoid's relative error stays below 1e-6
 * where it exceeds 1e-3 (|v| < 7), and is as small in absolute terms beyond. About 2/3 of the
 * vector ops of exp's Cody-Waite form (eo_exp_avx512), which made SiLU the largest part of
 * EfficientNet's conv epilogues. The same operations as eo_sigmoid_avx2 (identical results). Below
 * -88.7 gives the exact 0 of the reference; NaN stays NaN (max and min return their second operand
 * for a NaN). */
static inline __m512 eo_sigmoid_avx512(__m512 v) {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 t = _mm512_mul_ps(v, _mm512_set1_ps(-1.44269504088896341f));
  t = _mm512_min_ps(_mm512_set1_ps(126.0f), _mm512_max_ps(_mm512_set1_ps(-126.0f), t));
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);  // exact, in [-0.5, 0.5]
  __m512 p = _mm512_set1_ps(1.3247471069917083e-3f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.671627543866634e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550793185830116e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022239446640015e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440460205e-1f));
  p = _mm512_fmadd_ps(p, f, one);
  const __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, _mm512_scalef_ps(p, n)));
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_set1_ps(-88.7f), _CMP_NLT_UQ), s);
}

static inline __m512 eo_act_avx512(__m512 v, const eo_f32_act *a) {
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
  switch (a->op) {
    case EO_OP_RELU: return _mm512_max_ps(zero, v);
    case EO_OP_CLIP: return _mm512_min_ps(_mm512_set1_ps(a->beta), _mm512_max_ps(_mm512_set1_ps(a->alpha), v));
    case EO_OP_LEAKY_RELU:
      return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, _mm512_set1_ps(a->alpha));
    case EO_OP_HARD_SIGMOID:
      return _mm512_min_ps(one, _mm512_max_ps(zero, _mm512_fmadd_ps(v, _mm512_set1_ps(a->alpha), _mm512_set1_ps(a->beta))));
    case EO_OP_HARD_SWISH: {
      __m512 t = _mm512_fmadd_ps(v, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
      return _mm512_mul_ps(v, _mm512_min_ps(one, _mm512_max_ps(zero, t)));
    }
    case EO_OP_SIGMOID: return eo_sigmoid_avx512(v);
    case EO_ACT_SILU: return _mm512_mul_ps(v, eo_sigmoid_avx512(v));  // Sigmoid's vector, then Mul's product
    case EO_OP_ELU: {
      __m512 e = _mm512_mul_ps(_mm512_set1_ps(a->alpha), eo_expm1_avx512(v));
      return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, e);
    }
    case EO_OP_TANH: {
      const __m512i signbit = _mm512_set1_epi32((int)0x80000000u);
      __m512i vi = _mm512_castps_si512(v);
      __m512 ax = _mm512_castsi512_ps(_mm512_andnot_si512(signbit, vi));
      __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f),
                                                    _mm512_add_ps(eo_exp_avx512(_mm512_add_ps(ax, ax)), one)));
      big = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(big), _mm512_and_si512(vi, signbit)));
      __m512 z = _mm512_mul_ps(v, v), p = _mm512_set1_ps(-5.70498872745e-3f);
      p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.06390887954e-2f));
      p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.37397155531e-2f));
      p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.33314422036e-1f));
      p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.33332819422e-1f));
      __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), v, v);
      return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ), big, small);
    }
    default: return v;
  }
}

/* Mask of the first n (0..16) lanes. */
static inline __mmask16 eo_mask_avx512(int n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

/* Lanes [lo, hi) of 16 (clamped). */
static inline __mmask16 range_mask(int64_t lo, int64_t hi) {
  lo = lo < 0 ? 0 : lo > 16 ? 16 : lo;
  hi = hi < 0 ? 0 : hi > 16 ? 16 : hi;
  return lo >= hi ? 0 : (__mmask16)((((1u << hi) - 1) >> lo) << lo);
}

/* Lanes whose positions q0 + lane*s lie in [0, w). */
static inline __mmask16 lanes_inside(int64_t q0, int64_t w, __m512i lane_s) {
  __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)q0), lane_s);
  return _mm512_cmpge_epi32_mask(idx, _mm512_setzero_si512()) & _mm512_cmplt_epi32_mask(idx, _mm512_set1_epi32((int)w));
}

#endif
