/* AVX-512F depthwise 2-D convolution of one channel, vectorized over 16 output columns. The plane is
 * first copied into a zero-padded per-worker buffer (masked loads at every border tap were measured
 * 1.5-3x slower on Zen 4 than this copy), then the taps are plain loads: stride 1 contiguous, stride
 * 2 two loads deinterleaved by one permute, other strides a gather. 3x3 and 5x5 with dilation 1 get
 * instances with the kernel size fixed (weights held in registers). Max pooling, at the end, reads
 * the unpadded plane with masked loads (it is a small share of any model). */
#if defined(__x86_64__) || defined(__i386__)
#include <float.h>
#include <immintrin.h>
#include <math.h>

#include "runtime/kernels/x86/act-avx512.h"
#include "runtime/kernels/x86/x86_kernels.h"

/* row[q0], row[q0 + s], ..., row[q0 + 15 s], `fill` where the position is outside [0, w). */
static inline __attribute__((always_inline)) __m512 load_cols(const float *row, int64_t q0, int s, int64_t w,
                                                              bool inside, __m512i lane_s, __m512 fill) {
  if (s == 1) {
    if (inside) return _mm512_loadu_ps(row + q0);
    return _mm512_mask_loadu_ps(fill, range_mask(-q0, w - q0), row + q0);
  }
  if (s == 2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    if (inside) return _mm512_permutex2var_ps(_mm512_loadu_ps(row + q0), even, _mm512_loadu_ps(row + q0 + 16));
    __m512 lo = _mm512_mask_loadu_ps(fill, range_mask(-q0, w - q0), row + q0);
    __m512 hi = _mm512_mask_loadu_ps(fill, range_mask(-q0 - 16, w - q0 - 16), row + q0 + 16);
    return _mm512_permutex2var_ps(lo, even, hi);
  }
  __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)q0), lane_s);
  return _mm512_mask_i32gather_ps(fill, lanes_inside(q0, w, lane_s), idx, row, 4);
}

/* Copies the plane into the zero-padded buffer xp (a->xp_h rows of a->xp_w floats; input row r at
 * xp row r + pad_t, column pad_l): vector stores, masked only at the row's end. */
static void pad_plane(const eo_f32_dw_args *a, const float *x, float *xp) {
  const int64_t h = a->ih_n, w = a->iw_n, xw = a->xp_w;
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t r = 0; r < a->xp_h; r++) {
    float *d = xp + r * xw;
    const int64_t ir = r - a->pad_t;
    for (int64_t c = 0; c < xw; c += 16) _mm512_storeu_ps(d + c, zero);  // xp_w is a multiple of 16
    if (ir < 0 || ir >= h) continue;
    const float *s = x + ir * w;
    for (int64_t c = 0; c < w; c += 16)
      _mm512_mask_storeu_ps(d + a->pad_l + c, eo_mask_avx512(w - c < 16 ? (int)(w - c) : 16),
                            _mm512_maskz_loadu_ps(eo_mask_avx512(w - c < 16 ? (int)(w - c) : 16), s + c));
  }
}

/* 16 columns xr[0], xr[s], ..., xr[15 s] of the padded plane (s = 1 or 2 without gathers). */
static inline __attribute__((always_inline)) __m512 load_cols_p(const float *xr, int s, __m512i lane_s) {
  if (s == 1) return _mm512_loadu_ps(xr);
  if (s == 2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(xr), even, _mm512_loadu_ps(xr + 16));
  }
  return _mm512_i32gather_ps(lane_s, xr, 4);
}

/* On the padded plane: no bounds checks; two output rows at a time, so two independent FMA chains
 * hide the FMA latency and the rows share their input rows in cache. */
static inline __attribute__((always_inline)) void dw(const eo_f32_dw_args *a, const float *xp, const float *w,
                                                     float bias, float *y, const int KH, const int KW, const int S) {
  const int64_t kh = KH ? KH : a->kh, kw = KW ? KW : a->kw, dh = KH ? 1 : a->dh, dwd = KW ? 1 : a->dw;
  const int64_t sh = a->sh, xw = a->xp_w, ow_n = a->ow_n;
  const int sw = S ? S : (int)a->sw;
  const __m512i lane_s = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(sw));
  __m512 wv[25];
  if (KH && KW)
    for (int i = 0; i < KH * KW; i++) wv[i] = _mm512_set1_ps(w[i]);
  const __m512 bv = _mm512_set1_ps(bias);
  const bool act = a->act && a->act->op >= 0;
  for (int64_t oh = 0; oh < a->oh_n; oh += 2) {
    const bool two = oh + 1 < a->oh_n;
    const float *x0 = xp + oh * sh * xw, *x1 = two ? x0 + sh * xw : x0;  // row 1 recomputes row 0 at the end
    float *y0 = y + oh * ow_n, *y1 = y0 + ow_n;
    for (int64_t ow = 0; ow < ow_n; ow += 16) {
      const int n = ow_n - ow < 16 ? (int)(ow_n - ow) : 16;
      __m512 acc0 = bv, acc1 = bv;
#pragma GCC unroll 5
      for (int64_t i = 0; i < kh; i++) {
        const float *r0 = x0 + i * dh * xw + ow * sw, *r1 = x1 + i * dh * xw + ow * sw;
#pragma GCC unroll 5
        for (int64_t j = 0; j < kw; j++) {
          const __m512 wt = KH && KW ? wv[i * KW + j] : _mm512_set1_ps(w[i * kw + j]);
          acc0 = _mm512_fmadd_ps(load_cols_p(r0 + j * dwd, sw, lane_s), wt, acc0);
          acc1 = _mm512_fmadd_ps(load_cols_p(r1 + j * dwd, sw, lane_s), wt, acc1);
        }
      }
      if (act) {
        acc0 = eo_act_avx512(acc0, a->act);
        acc1 = eo_act_avx512(acc1, a->act);
      }
      _mm512_mask_storeu_ps(y0 + ow, eo_mask_avx512(n), acc0);
      if (two) _mm512_mask_storeu_ps(y1 + ow, eo_mask_avx512(n), acc1);
    }
  }
}

void eo_f32_dwconv2d__avx512f(const eo_f32_dw_args *a, const float *x, const float *w, float bias, float *y,
                              float *xp) {
  pad_plane(a, x, xp);
  const bool d1 = a->dh == 1 && a->dw == 1;
  if (d1 && a->kh == 3 && a->kw == 3 && a->sw == 1) dw(a, xp, w, bias, y, 3, 3, 1);
  else if (d1 && a->kh == 3 && a->kw == 3 && a->sw == 2) dw(a, xp, w, bias, y, 3, 3, 2);
  else if (d1 && a->kh == 5 && a->kw == 5 && a->sw == 1) dw(a, xp, w, bias, y, 5, 5, 1);
  else if (d1 && a->kh == 5 && a->kw == 5 && a->sw == 2) dw(a, xp, w, bias, y, 5, 5, 2);
  else if (a->sw == 1) dw(a, xp, w, bias, y, 0, 0, 1);
  else if (a->sw == 2) dw(a, xp, w, bias, y, 0, 0, 2);
  else dw(a, xp, w, bias, y, 0, 0, 0);
}

/* Max pooling of one plane with the same geometry: the maximum over the window's taps inside the
 * input (outside taps never win); a window without any gives -FLT_MAX like the reference. */
static inline __attribute__((always_inline)) void mp(const eo_f32_dw_args *a, const float *x, float *y, const int KH,
                                                     const int KW, const int S) {
  const int64_t kh = KH ? KH : a->kh, kw = KW ? KW : a->kw, dh = KH ? 1 : a->dh, dwd = KW ? 1 : a->dw;
  const int64_t sh = a->sh, ih_n = a->ih_n, iw_n = a->iw_n;
  const int sw = S ? S : (int)a->sw;
  const __m512i lane_s = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(sw));
  const int64_t span = (sw <= 2 ? 16 * sw - 1 : 15 * sw) + (kw - 1) * dwd;
  const __m512 ninf = _mm512_set1_ps(-INFINITY), lowest = _mm512_set1_ps(-FLT_MAX);
  for (int64_t oh = 0; oh < a->oh_n; oh++) {
    const int64_t ih0 = oh * sh - a->pad_t;
    float *yr = y + oh * a->ow_n;
    bool any_row = false;
    for (int64_t i = 0; i < kh; i++) any_row |= ih0 + i * dh >= 0 && ih0 + i * dh < ih_n;
    for (int64_t ow = 0; ow < a->ow_n; ow += 16) {
      const int n = a->ow_n - ow < 16 ? (int)(a->ow_n - ow) : 16;
      const int64_t q0 = ow * sw - a->pad_l;
      const bool inside = q0 >= 0 && q0 + span < iw_n;
      __mmask16 any = inside ? (__mmask16)0xffff : 0;  // lanes with a tap inside the row
      if (!inside)
        for (int64_t j = 0; j < kw; j++) any |= lanes_inside(q0 + j * dwd, iw_n, lane_s);
      __m512 acc = ninf;
#pragma GCC unroll 3
      for (int64_t i = 0; i < kh; i++) {
        const int64_t ih = ih0 + i * dh;
        if (ih < 0 || ih >= ih_n) continue;
        const float *row = x + ih * iw_n;
#pragma GCC unroll 3
        for (int64_t j = 0; j < kw; j++)  // (v, acc): a NaN tap is skipped, as the reference's strict >
          acc = _mm512_max_ps(load_cols(row, q0 + j * dwd, sw, iw_n, inside, lane_s, ninf), acc);
      }
      if (!any_row) any = 0;
      acc = _mm512_mask_blend_ps(any, lowest, acc);
      _mm512_mask_storeu_ps(yr + ow, eo_mask_avx512(n), acc);
    }
  }
}

void eo_f32_maxpool2d__avx512f(const eo_f32_dw_args *a, const float *x, float *y) {
  const bool d1 = a->dh == 1 && a->dw == 1;
  if (d1 && a->kh == 3 && a->kw == 3 && a->sw == 2) mp(a, x, y, 3, 3, 2);
  else if (d1 && a->kh == 2 && a->kw == 2 && a->sw == 2) mp(a, x, y, 2, 2, 2);
  else if (d1 && a->kh == 3 && a->kw == 3 && a->sw == 1) mp(a, x, y, 3, 3, 1);
  else if (a->sw == 1) mp(a, x, y, 0, 0, 1);
  else if (a->sw == 2) mp(a, x, y, 0, 0, 2);
  else mp(a, x, y, 0, 0, 0);
}
#endif
