/* AVX2 + FMA depthwise 2-D convolution of one channel, the scheme of f32-dwconv2d-avx512.c on 8
 * lanes: dilation 1 with strides 1 or 2 on the wide grid of stride-phase planes; otherwise row
 * kernels on a zero-padded copy of the plane, stride 2 deinterleaving two loads with a shuffle and
 * a permute, other strides gathering. Max pooling, at the end, reads the unpadded plane with masked
 * loads. */
#if defined(__x86_64__) || defined(__i386__)
#include <float.h>
#include <immintrin.h>
#include <math.h>

#include "runtime/kernels/x86/act-avx2.h"
#include "runtime/kernels/x86/dw-phase.h"
#include "runtime/kernels/x86/x86_kernels.h"

/* maskload, `fill` in the lanes outside the mask. */
static inline __m256 load_fill(const float *p, __m256i m, __m256 fill) {
  return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}

/* row[q0], row[q0 + s], ..., row[q0 + 7 s], `fill` where the position is outside [0, w). */
static inline __attribute__((always_inline)) __m256 load_cols(const float *row, int64_t q0, int s, int64_t w,
                                                              bool inside, __m256i lane_s, __m256 fill) {
  if (s == 1) {
    if (inside) return _mm256_loadu_ps(row + q0);
    return load_fill(row + q0, range_mask(-q0, w - q0), fill);
  }
  if (s == 2) {
    __m256 lo, hi;
    if (inside) {
      lo = _mm256_loadu_ps(row + q0);
      hi = _mm256_loadu_ps(row + q0 + 8);
    } else {
      lo = load_fill(row + q0, range_mask(-q0, w - q0), fill);
      hi = load_fill(row + q0 + 8, range_mask(-q0 - 8, w - q0 - 8), fill);
    }
    __m256 t = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  __m256i idx = _mm256_add_epi32(_mm256_set1_epi32((int)q0), lane_s);
  return _mm256_mask_i32gather_ps(fill, row, idx, _mm256_castsi256_ps(lanes_inside(q0, w, lane_s)), 4);
}

/* Copies the plane into the zero-padded buffer xp (see f32-dwconv2d-avx512.c). */
static void pad_plane(const eo_f32_dw_args *a, const float *x, float *xp) {
  const int64_t h = a->ih_n, w = a->iw_n, xw = a->xp_w;
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t r = 0; r < a->xp_h; r++) {
    float *d = xp + r * xw;
    const int64_t ir = r - a->pad_t;
    for (int64_t c = 0; c < xw; c += 8) _mm256_storeu_ps(d + c, zero);  // xp_w is a multiple of 16
    if (ir < 0 || ir >= h) continue;
    const float *s = x + ir * w;
    int64_t c = 0;
    for (; c + 8 <= w; c += 8) _mm256_storeu_ps(d + a->pad_l + c, _mm256_loadu_ps(s + c));
    if (c < w) {
      const __m256i m = eo_mask_avx2((int)(w - c));
      _mm256_maskstore_ps(d + a->pad_l + c, m, _mm256_maskload_ps(s + c, m));
    }
  }
}

static inline __attribute__((always_inline)) __m256 load_cols_p(const float *xr, int s, __m256i lane_s) {
  if (s == 1) return _mm256_loadu_ps(xr);
  if (s == 2) {
    __m256 t = _mm256_shuffle_ps(_mm256_loadu_ps(xr), _mm256_loadu_ps(xr + 8), _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  return _mm256_i32gather_ps(xr, lane_s, 4);
}

/* On the padded plane, two output rows at a time (see f32-dwconv2d-avx512.c). */
static inline __attribute__((always_inline)) void dw(const eo_f32_dw_args *a, const float *xp, const float *w,
                                                     float bias, float *y, const int KH, const int KW, const int S) {
  const int64_t kh = KH ? KH : a->kh, kw = KW ? KW : a->kw, dh = KH ? 1 : a->dh, dwd = KW ? 1 : a->dw;
  const int64_t sh = a->sh, xw = a->xp_w, ow_n = a->ow_n;
  const int sw = S ? S : (int)a->sw;
  const __m256i lane_s = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(sw));
  __m256 wv[25];
  if (KH && KW)
    for (int i = 0; i < KH * KW; i++) wv[i] = _mm256_set1_ps(w[i]);
  const __m256 bv = _mm256_set1_ps(bias);
  const bool act = a->act && a->act->op >= 0;
  for (int64_t oh = 0; oh < a->oh_n; oh += 2) {
    const bool two = oh + 1 < a->oh_n;
    const float *x0 = xp + oh * sh * xw, *x1 = two ? x0 + sh * xw : x0;
    float *y0 = y + oh * ow_n, *y1 = y0 + ow_n;
    for (int64_t ow = 0; ow < ow_n; ow += 8) {
      const int n = ow_n - ow < 8 ? (int)(ow_n - ow) : 8;
      __m256 acc0 = bv, acc1 = bv;
#pragma GCC unroll 5
      for (int64_t i = 0; i < kh; i++) {
        const float *r0 = x0 + i * dh * xw + ow * sw, *r1 = x1 + i * dh * xw + ow * sw;
#pragma GCC unroll 5
        for (int64_t j = 0; j < kw; j++) {
          const __m256 wt = KH && KW ? wv[i * KW + j] : _mm256_set1_ps(w[i * kw + j]);
          acc0 = _mm256_fmadd_ps(load_cols_p(r0 + j * dwd, sw, lane_s), wt, acc0);
          acc1 = _mm256_fmadd_ps(load_cols_p(r1 + j * dwd, sw, lane_s), wt, acc1);
        }
      }
      if (act) {
        acc0 = eo_act_avx2(acc0, a->act);
        acc1 = eo_act_avx2(acc1, a->act);
      }
      if (n == 8) {
        _mm256_storeu_ps(y0 + ow, acc0);
        if (two) _mm256_storeu_ps(y1 + ow, acc1);
      } else {
        _mm256_maskstore_ps(y0 + ow, eo_mask_avx2(n), acc0);
        if (two) _mm256_maskstore_ps(y1 + ow, eo_mask_avx2(n), acc1);
      }
    }
  }
}

/* ---- wide-grid depthwise (dilation 1, strides 1 or 2): the scheme of f32-dwconv2d-avx512.c on 8
 * lanes. Without a compress instruction the wide output goes to scratch (after the planes) and its
 * rows are copied out, unless wq == OW (then it is the output itself). */

static inline void zero_run(float *d, int64_t n) {
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) _mm256_storeu_ps(d + c, _mm256_setzero_ps());
  if (c < n) _mm256_maskstore_ps(d + c, eo_mask_avx2((int)(n - c)), _mm256_setzero_ps());
}

static void fill_phases(const eo_f32_dw_args *a, const float *x, float *xp, int64_t hq, int64_t wq) {
  const int64_t sh = a->sh, sw = a->sw, ih = a->ih_n, iw = a->iw_n, pq = hq * wq;
  for (int64_t py = 0; py < sh; py++)
    for (int64_t px = 0; px < sw; px++) {
      float *pl = xp + (py * sw + px) * pq;
      int64_t qa, qb;
      eo_dw_phase_range(iw, a->pad_l, sw, px, wq, &qa, &qb);
      for (int64_t r = 0; r < hq; r++) {
        float *d = pl + r * wq;
        const int64_t iy = r * sh + py - a->pad_t;
        if (iy < 0 || iy >= ih || qa == qb) {
          zero_run(d, wq);
          continue;
        }
        zero_run(d, qa);
        const float *s = x + iy * iw + qa * sw + px - a->pad_l;
        const int64_t n = qb - qa;
        if (sw == 1) {
          int64_t c = 0;
          for (; c + 8 <= n; c += 8) _mm256_storeu_ps(d + qa + c, _mm256_loadu_ps(s + c));
          if (c < n) {
            const __m256i m = eo_mask_avx2((int)(n - c));
            _mm256_maskstore_ps(d + qa + c, m, _mm256_maskload_ps(s + c, m));
          }
        } else {  // 8 outputs from 15 inputs: the even lanes of two loads
          for (int64_t c = 0; c < n; c += 8) {
            const int cnt = n - c < 8 ? (int)(n - c) : 8, span = 2 * cnt - 1;
            __m256 v0, v1;
            if (cnt == 8) {
              v0 = _mm256_loadu_ps(s + 2 * c);
              v1 = _mm256_maskload_ps(s + 2 * c + 8, eo_mask_avx2(7));
            } else {
              v0 = _mm256_maskload_ps(s + 2 * c, eo_mask_avx2(span < 8 ? span : 8));
              v1 = _mm256_maskload_ps(s + 2 * c + 8, eo_mask_avx2(span > 8 ? span - 8 : 0));
            }
            __m256 t = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));
            t = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
            if (cnt == 8) _mm256_storeu_ps(d + qa + c, t);
            else _mm256_maskstore_ps(d + qa + c, eo_mask_avx2(cnt), t);
          }
        }
        zero_run(d + qb, wq - qb);
      }
    }
  zero_run(xp + sh * sw * pq, 16);
}

static inline __attribute__((always_inline)) void dw_wide(const eo_f32_dw_args *a, const float *xp, const float *w,
                                                          float bias, float *y, const int KH, const int KW,
                                                          const int SH, const int SW, const int NB) {
  const int64_t kh = KH ? KH : a->kh, kw = KH ? KW : a->kw, sh = KH ? SH : a->sh, sw = KH ? SW : a->sw;
  const int64_t wq = a->ow_n + (kw - 1) / sw, hq = a->oh_n + (kh - 1) / sh, pq = hq * wq;
  const int64_t nw = (a->oh_n - 1) * wq + a->ow_n, nt = kh * kw;
  int64_t off[EO_F32_DW_WIDE_MAX_TAPS];
  eo_dw_phase_taps(kh, kw, 1, 1, sh, sw, pq, wq, off);
  __m256 wv[9];
  if (KH && KH * KW <= 9)
    for (int t = 0; t < KH * KW; t++) wv[t] = _mm256_set1_ps(w[t]);
  const __m256 bv = _mm256_set1_ps(bias);
  const bool act = a->act && a->act->op >= 0, direct = wq == a->ow_n;
  float *yw = direct ? y : (float *)xp + sh * sw * pq + 16;
  int64_t j = 0;
  for (; j + 8 * NB <= nw; j += 8 * NB) {
    __m256 acc[4];
    for (int b = 0; b < NB; b++) acc[b] = bv;
    const float *xj = xp + j;
    if (KH && KH * KW <= 9) {
#pragma GCC unroll 9
      for (int t = 0; t < KH * KW; t++)
        for (int b = 0; b < NB; b++) acc[b] = _mm256_fmadd_ps(_mm256_loadu_ps(xj + off[t] + 8 * b), wv[t], acc[b]);
    } else if (KH) {
#pragma GCC unroll 25
      for (int t = 0; t < KH * KW; t++) {
        const __m256 wt = _mm256_broadcast_ss(w + t);
        for (int b = 0; b < NB; b++) acc[b] = _mm256_fmadd_ps(_mm256_loadu_ps(xj + off[t] + 8 * b), wt, acc[b]);
      }
    } else {
      for (int64_t t = 0; t < nt; t++) {
        const __m256 wt = _mm256_broadcast_ss(w + t);
        for (int b = 0; b < NB; b++) acc[b] = _mm256_fmadd_ps(_mm256_loadu_ps(xj + off[t] + 8 * b), wt, acc[b]);
      }
    }
    for (int b = 0; b < NB; b++) _mm256_storeu_ps(yw + j + 8 * b, act ? eo_act_avx2(acc[b], a->act) : acc[b]);
  }
  for (; j < nw; j += 8) {
    __m256 acc = bv;
    const float *xj = xp + j;
    for (int64_t t = 0; t < nt; t++) acc = _mm256_fmadd_ps(_mm256_loadu_ps(xj + off[t]), _mm256_broadcast_ss(w + t), acc);
    if (act) acc = eo_act_avx2(acc, a->act);
    if (nw - j >= 8) _mm256_storeu_ps(yw + j, acc);
    else _mm256_maskstore_ps(yw + j, eo_mask_avx2((int)(nw - j)), acc);
  }
  if (direct) return;
  const int64_t ow = a->ow_n;
  for (int64_t oy = 0; oy < a->oh_n; oy++) {
    const float *s = yw + oy * wq;
    float *d = y + oy * ow;
    int64_t c = 0;
    for (; c + 8 <= ow; c += 8) _mm256_storeu_ps(d + c, _mm256_loadu_ps(s + c));
    if (c < ow) _mm256_maskstore_ps(d + c, eo_mask_avx2((int)(ow - c)), _mm256_loadu_ps(s + c));
  }
}

void eo_f32_dwconv2d__avx2_fma(const eo_f32_dw_args *a, const float *x, const float *w, float bias, float *y,
                               float *xp) {
  int64_t hq, wq;
  if (eo_f32_dw_wide(a, &hq, &wq)) {
    fill_phases(a, x, xp, hq, wq);
    const int64_t k = a->kh == a->kw ? a->kh : 0, s = a->sh == a->sw ? a->sh : 0;
    if (k == 3 && s == 1) dw_wide(a, xp, w, bias, y, 3, 3, 1, 1, 3);
    else if (k == 3 && s == 2) dw_wide(a, xp, w, bias, y, 3, 3, 2, 2, 3);
    else if (k == 5 && s == 1) dw_wide(a, xp, w, bias, y, 5, 5, 1, 1, 3);
    else if (k == 5 && s == 2) dw_wide(a, xp, w, bias, y, 5, 5, 2, 2, 3);
    else dw_wide(a, xp, w, bias, y, 0, 0, 0, 0, 2);
    return;
  }
  pad_plane(a, x, xp);  // dilated or strided by 3+: the row kernels
  const bool d1 = a->dh == 1 && a->dw == 1;
  if (d1 && a->kh == 3 && a->kw == 3 && a->sw == 1) dw(a, xp, w, bias, y, 3, 3, 1);
  else if (d1 && a->kh == 3 && a->kw == 3 && a->sw == 2) dw(a, xp, w, bias, y, 3, 3, 2);
  else if (d1 && a->kh == 5 && a->kw == 5 && a->sw == 1) dw(a, xp, w, bias, y, 5, 5, 1);
  else if (d1 && a->kh == 5 && a->kw == 5 && a->sw == 2) dw(a, xp, w, bias, y, 5, 5, 2);
  else if (a->sw == 1) dw(a, xp, w, bias, y, 0, 0, 1);
  else if (a->sw == 2) dw(a, xp, w, bias, y, 0, 0, 2);
  else dw(a, xp, w, bias, y, 0, 0, 0);
}

/* Max pooling of one plane (see f32-dwconv2d-avx512.c). */
static inline __attribute__((always_inline)) void mp(const eo_f32_dw_args *a, const float *x, float *y, const int KH,
                                                     const int KW, const int S) {
  const int64_t kh = KH ? KH : a->kh, kw = KW ? KW : a->kw, dh = KH ? 1 : a->dh, dwd = KW ? 1 : a->dw;
  const int64_t sh = a->sh, ih_n = a->ih_n, iw_n = a->iw_n;
  const int sw = S ? S : (int)a->sw;
  const __m256i lane_s = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(sw));
  const int64_t span = (sw <= 2 ? 8 * sw - 1 : 7 * sw) + (kw - 1) * dwd;
  const __m256 ninf = _mm256_set1_ps(-INFINITY), lowest = _mm256_set1_ps(-FLT_MAX);
  for (int64_t oh = 0; oh < a->oh_n; oh++) {
    const int64_t ih0 = oh * sh - a->pad_t;
    float *yr = y + oh * a->ow_n;
    bool any_row = false;
    for (int64_t i = 0; i < kh; i++) any_row |= ih0 + i * dh >= 0 && ih0 + i * dh < ih_n;
    for (int64_t ow = 0; ow < a->ow_n; ow += 8) {
      const int n = a->ow_n - ow < 8 ? (int)(a->ow_n - ow) : 8;
      const int64_t q0 = ow * sw - a->pad_l;
      const bool inside = q0 >= 0 && q0 + span < iw_n;
      __m256i any = _mm256_set1_epi32(inside ? -1 : 0);
      if (!inside)
        for (int64_t j = 0; j < kw; j++) any = _mm256_or_si256(any, lanes_inside(q0 + j * dwd, iw_n, lane_s));
      __m256 acc = ninf;
#pragma GCC unroll 3
      for (int64_t i = 0; i < kh; i++) {
        const int64_t ih = ih0 + i * dh;
        if (ih < 0 || ih >= ih_n) continue;
        const float *row = x + ih * iw_n;
#pragma GCC unroll 3
        for (int64_t j = 0; j < kw; j++)  // (v, acc): a NaN tap is skipped, as the reference's strict >
          acc = _mm256_max_ps(load_cols(row, q0 + j * dwd, sw, iw_n, inside, lane_s, ninf), acc);
      }
      if (!any_row) any = _mm256_setzero_si256();
      acc = _mm256_blendv_ps(lowest, acc, _mm256_castsi256_ps(any));
      if (n == 8) _mm256_storeu_ps(yr + ow, acc);
      else _mm256_maskstore_ps(yr + ow, eo_mask_avx2(n), acc);
    }
  }
}

void eo_f32_maxpool2d__avx2_fma(const eo_f32_dw_args *a, const float *x, float *y) {
  const bool d1 = a->dh == 1 && a->dw == 1;
  if (d1 && a->kh == 3 && a->kw == 3 && a->sw == 2) mp(a, x, y, 3, 3, 2);
  else if (d1 && a->kh == 2 && a->kw == 2 && a->sw == 2) mp(a, x, y, 2, 2, 2);
  else if (d1 && a->kh == 3 && a->kw == 3 && a->sw == 1) mp(a, x, y, 3, 3, 1);
  else if (a->sw == 1) mp(a, x, y, 0, 0, 1);
  else if (a->sw == 2) mp(a, x, y, 0, 0, 2);
  else mp(a, x, y, 0, 0, 0);
}
#endif
