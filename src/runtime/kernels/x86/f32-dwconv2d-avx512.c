/* AVX-512F depthwise 2-D convolution of one channel. Dilation 1 with strides 1 or 2 (every
 * depthwise layer of the MobileNets and EfficientNets) runs on the "wide grid" of stride-phase
 * planes (see the section below): one unaligned load and one FMA per tap of 16 outputs, vectors
 * running across rows. Other geometries use the row kernels: the plane copied into a zero-padded
 * per-worker buffer (masked loads at every border tap were measured 1.5-3x slower on Zen 4 than this
 * copy), then plain loads along a row: stride 1 contiguous, stride 2 two loads deinterleaved by one
 * permute, other strides a gather. 3x3 and 5x5 get instances with the kernel size fixed (weights
 * held in registers). Max pooling, at the end, reads the unpadded plane with masked loads (it is a
 * small share of any model). */
#if defined(__x86_64__) || defined(__i386__)
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "runtime/kernels/x86/act-avx512.h"
#include "runtime/kernels/x86/dw-phase.h"
#include "runtime/kernels/x86/transpose-avx512.h"
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

/* ---- wide-grid depthwise (dilation 1, strides 1 or 2) ----
 * The zero-padded input is split into SH*SW phase planes (phase (py, px) holds padded rows py,
 * py+SH, ... and columns px, px+SW, ...), each hq = OH + (KH-1)/SH rows of wq = OW + (KW-1)/SW
 * floats, and outputs are computed on the "wide" grid j = oy*wq + ox (ox < wq), as the shifted
 * GEMM path does: tap (ky, kx) of output j is element j + (ky/SH)*wq + kx/SW of phase
 * (ky%SH, kx%SW), so every tap of 16 outputs is one unaligned load, whatever the stride, and a
 * vector runs across rows (a 7x7 map is 4 vectors instead of 7 half-empty ones). The wq - OW
 * columns past each row are computed and dropped: each vector's valid lanes are compressed and
 * stored at the next dense output position. Same sum as the reference's (bias, then the taps in
 * (ky, kx) order), with FMAs. */

/* Zeros d[0..n). */
static inline void zero_run(float *d, int64_t n) {
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) _mm512_storeu_ps(d + c, _mm512_setzero_ps());
  if (c < n) _mm512_mask_storeu_ps(d + c, eo_mask_avx512((int)(n - c)), _mm512_setzero_ps());
}

/* The phase planes of one channel, plus 16 zero floats after the last one (the last vector's dropped
 * lanes read up to 15 floats past a plane). Per plane, the pad rows are zeroed as one run and each
 * data row is [qa zeros][input columns][wq - qb zeros], masks fixed per plane. At stride 2 the two
 * column phases of a row come from the same loads (even and odd input columns). */
static void fill_phases(const eo_f32_dw_args *a, const float *x, float *xp, int64_t hq, int64_t wq) {
  const int64_t sh = a->sh, sw = a->sw, ih = a->ih_n, iw = a->iw_n, pq = hq * wq;
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  // column phase px: plane column q holds input column q*sw + px - pad_l, inside x for q in
  // [qa, qb); the first of them is input column 0 or (stride 2, the other phase) 1
  int64_t qa[2] = {0, 0}, qb[2] = {0, 0};
  for (int64_t px = 0; px < sw; px++) eo_dw_phase_range(iw, a->pad_l, sw, px, wq, &qa[px], &qb[px]);
  const int pe = (int)(a->pad_l & 1);  // stride 2: the phase whose first column is input column 0
  for (int64_t py = 0; py < sh; py++) {
    // rows r of this row phase read input row r*sh + py - pad_t: inside x for r in [r0, r1)
    int64_t r0, r1;
    eo_dw_phase_range(ih, a->pad_t, sh, py, hq, &r0, &r1);
    float *pl[2] = {xp + py * sw * pq, xp + (py * sw + sw - 1) * pq};
    for (int64_t px = 0; px < sw; px++) {
      zero_run(pl[px], r0 * wq);
      zero_run(pl[px] + r1 * wq, (hq - r1) * wq);
      if (qa[px] == qb[px]) zero_run(pl[px] + r0 * wq, (r1 - r0) * wq);
    }
    for (int64_t r = r0; r < r1; r++) {
      const float *s = x + (r * sh + py - a->pad_t) * iw;
      for (int64_t px = 0; px < sw; px++) {
        float *d = pl[px] + r * wq;
        if (qa[px] == qb[px]) continue;
        if (qa[px] <= 16) _mm512_mask_storeu_ps(d, eo_mask_avx512((int)qa[px]), _mm512_setzero_ps());
        else zero_run(d, qa[px]);
        if (wq - qb[px] <= 16) _mm512_mask_storeu_ps(d + qb[px], eo_mask_avx512((int)(wq - qb[px])), _mm512_setzero_ps());
        else zero_run(d + qb[px], wq - qb[px]);
      }
      if (sw == 1) {
        const int64_t n = qb[0] - qa[0];
        float *d = pl[0] + r * wq + qa[0];
        const float *src = s + qa[0] - a->pad_l;
        int64_t c = 0;
        for (; c + 16 <= n; c += 16) _mm512_storeu_ps(d + c, _mm512_loadu_ps(src + c));
        if (c < n) {
          const __mmask16 m = eo_mask_avx512((int)(n - c));
          _mm512_mask_storeu_ps(d + c, m, _mm512_maskz_loadu_ps(m, src + c));
        }
        continue;
      }
      // stride 2: input columns 2c.. split into the even phase (pe) and the odd one (1 - pe)
      float *de = pl[pe] + r * wq + qa[pe], *dd = pl[1 - pe] + r * wq + qa[1 - pe];
      const int64_t ne = qb[pe] - qa[pe], nd = qb[1 - pe] - qa[1 - pe], nmax = ne > nd ? ne : nd;
      for (int64_t c = 0; c < nmax; c += 16) {
        const int64_t left = iw - 2 * c;  // input columns from 2c on
        __m512 v0, v1;
        if (left >= 32) {
          v0 = _mm512_loadu_ps(s + 2 * c);
          v1 = _mm512_loadu_ps(s + 2 * c + 16);
        } else {
          v0 = _mm512_maskz_loadu_ps(eo_mask_avx512(left < 16 ? (int)left : 16), s + 2 * c);
          v1 = _mm512_maskz_loadu_ps(eo_mask_avx512(left > 16 ? (int)(left - 16) : 0), s + 2 * c + 16);
        }
        const int ke = ne - c < 16 ? (ne - c > 0 ? (int)(ne - c) : 0) : 16;
        const int kd = nd - c < 16 ? (nd - c > 0 ? (int)(nd - c) : 0) : 16;
        _mm512_mask_storeu_ps(de + c, eo_mask_avx512(ke), _mm512_permutex2var_ps(v0, even, v1));
        _mm512_mask_storeu_ps(dd + c, eo_mask_avx512(kd), _mm512_permutex2var_ps(v0, odd, v1));
      }
    }
  }
  zero_run(xp + sh * sw * pq, 16);
}

/* Activation classes of the epilogue: none, Clip/Relu (a min and a max), others (eo_act_avx512). */
enum { ACT_NONE, ACT_CLIP, ACT_ANY };

/* KH, KW, SH, SW fixed (taps and weights known at compile time); NB vectors per step. KH == 0: any
 * size, taps from a table (weights broadcast from memory). */
static inline __attribute__((always_inline)) void dw_wide(const eo_f32_dw_args *a, const float *xp, const float *w,
                                                          float bias, float *y, const int KH, const int KW,
                                                          const int SH, const int SW, const int NB, const int ACT) {
  const int64_t kh = KH ? KH : a->kh, kw = KH ? KW : a->kw, sh = KH ? SH : a->sh, sw = KH ? SW : a->sw;
  const int64_t wq = a->ow_n + (kw - 1) / sw, hq = a->oh_n + (kh - 1) / sh, pq = hq * wq, ow = a->ow_n;
  const int64_t nw = (a->oh_n - 1) * wq + ow, nt = kh * kw, ny = a->oh_n * ow;
  __m512 wv[25];
  // eo_dw_phase_taps's table, written out: through the helper GCC allocated this file's hot loops
  // differently (GPR<->vector moves in some FMA blocks), a cost that could not be ruled out
  int64_t off[EO_F32_DW_WIDE_MAX_TAPS];
  for (int64_t ky = 0; ky < kh; ky++)
    for (int64_t kx = 0; kx < kw; kx++)
      off[ky * kw + kx] = ((ky % sh) * sw + kx % sw) * pq + (ky / sh) * wq + kx / sw;
  if (KH)
    for (int t = 0; t < KH * KW; t++) wv[t] = _mm512_set1_ps(w[t]);
  const __m512 bv = _mm512_set1_ps(bias);
  // Relu is Clip(0, +inf): max(0, v) first either way, so NaN propagates alike
  const float clo = ACT == ACT_CLIP ? (a->act->op == EO_OP_CLIP ? a->act->alpha : 0.0f) : 0.0f;
  const float chi = ACT == ACT_CLIP ? (a->act->op == EO_OP_CLIP ? a->act->beta : INFINITY) : 0.0f;
  const __m512 vlo = _mm512_set1_ps(clo), vhi = _mm512_set1_ps(chi);
  const __m512i owv = _mm512_set1_epi32((int)ow), wqv = _mm512_set1_epi32((int)wq), v16 = _mm512_set1_epi32(16);
  // lane columns (j + lane) % wq of the current vector; row and column of its lane 0; o = its dense
  // output index (outputs before it)
  __m512i col = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (__mmask16 k; (k = _mm512_cmpge_epi32_mask(col, wqv));) col = _mm512_mask_sub_epi32(col, k, col, wqv);
  int64_t r = 0, c = 0, o = 0;
  int64_t j = 0;
  for (; j < nw; j += 16 * NB) {
    const int nb = nw - j >= 16 * NB ? NB : (int)((nw - j + 15) / 16);
    __m512 acc[4];
#pragma GCC unroll 4
    for (int b = 0; b < NB; b++) acc[b] = bv;
    const float *xj = xp + j;
    if (nb == NB) {
      if (KH) {
#pragma GCC unroll 25
        for (int t = 0; t < KH * KW; t++)
#pragma GCC unroll 4
          for (int b = 0; b < NB; b++) acc[b] = _mm512_fmadd_ps(_mm512_loadu_ps(xj + off[t] + 16 * b), wv[t], acc[b]);
      } else {
        for (int64_t t = 0; t < nt; t++) {
          const __m512 wt = _mm512_set1_ps(w[t]);
#pragma GCC unroll 4
          for (int b = 0; b < NB; b++) acc[b] = _mm512_fmadd_ps(_mm512_loadu_ps(xj + off[t] + 16 * b), wt, acc[b]);
        }
      }
    } else {  // the last vectors, one at a time
      for (int b = 0; b < nb; b++)
        for (int64_t t = 0; t < nt; t++)
          acc[b] = _mm512_fmadd_ps(_mm512_loadu_ps(xj + off[t] + 16 * b), KH ? wv[t] : _mm512_set1_ps(w[t]), acc[b]);
    }
#pragma GCC unroll 4
    for (int b = 0; b < NB; b++) {
      if (b >= nb) break;
      __m512 v = acc[b];
      if (ACT == ACT_CLIP) v = _mm512_min_ps(vhi, _mm512_max_ps(vlo, v));
      else if (ACT == ACT_ANY) v = eo_act_avx512(v, a->act);
      // dense index after these 16 wide positions (clamped: positions past nw are in no row)
      int64_t c2 = c + 16, r2 = r;
      while (c2 >= wq) c2 -= wq, r2++;
      int64_t o2 = r2 * ow + (c2 < ow ? c2 : ow);
      o2 = o2 < ny ? o2 : ny;
      const int cnt = (int)(o2 - o);
      if (cnt == 16) {
        _mm512_storeu_ps(y + o, v);
      } else {  // the valid lanes first, in order (any past nw come after them and are not stored)
        const __mmask16 m = _mm512_cmplt_epi32_mask(col, owv);
        _mm512_mask_storeu_ps(y + o, eo_mask_avx512(cnt), _mm512_maskz_compress_ps(m, v));
      }
      o = o2, c = c2, r = r2;
      col = _mm512_add_epi32(col, v16);
      for (__mmask16 k; (k = _mm512_cmpge_epi32_mask(col, wqv));) col = _mm512_mask_sub_epi32(col, k, col, wqv);
    }
  }
}

/* ACT class of the run, then the instance. */
static inline __attribute__((always_inline)) void dw_wide_act(const eo_f32_dw_args *a, const float *xp, const float *w, float bias, float *y,
                        const int KH, const int KW, const int SH, const int SW, const int NB) {
  const int op = a->act ? a->act->op : -1;
  if (op < 0) dw_wide(a, xp, w, bias, y, KH, KW, SH, SW, NB, ACT_NONE);
  else if (op == EO_OP_RELU || op == EO_OP_CLIP) dw_wide(a, xp, w, bias, y, KH, KW, SH, SW, NB, ACT_CLIP);
  else dw_wide(a, xp, w, bias, y, KH, KW, SH, SW, NB, ACT_ANY);
}

/* ---- 16 channels at once (small maps) ----
 * On maps of a few hundred outputs each plane's own overheads (padding it, row and vector ends)
 * outweigh its FMAs (a 14x14 stride-2 plane spent 70% of its time in the padding). Here 16 planes
 * are transposed into one zero-padded [row][column][16 channels] buffer, every tap of an output is
 * one aligned load times a vector of 16 weights (no lane wasted, no border case), and the outputs
 * [position][16] are transposed back into the 16 planes. Each output is the same FMA chain as on
 * the wide grid (bias, then the taps in (ky, kx) order): the results are identical. */

/* Output rows [oy0, oy1) of the 16 planes: T holds their input rows, O their outputs. */
static inline __attribute__((always_inline)) void dw_c16_strip(const eo_f32_dw_args *a, const float *x, int64_t xs,
                                                               const __m512 *wv, __m512 bv, float *y, int64_t ys,
                                                               float *T, float *O, int64_t oy0, int64_t oy1,
                                                               const int K, const int S, const int ACT) {
  const int64_t ih = a->ih_n, iw = a->iw_n, ow = a->ow_n;
  const int64_t hs = (oy1 - oy0 - 1) * S + K, wp = (ow - 1) * S + K;  // the padded window the taps read
  const __m512 zero = _mm512_setzero_ps();
  // T[r][c][16] = input (oy0*S + r - pad_t, c - pad_l) of the 16 planes, 0 outside
  const int64_t c_lo = a->pad_l < wp ? a->pad_l : wp, c_hi = a->pad_l + iw < wp ? a->pad_l + iw : wp;
  for (int64_t r = 0; r < hs; r++) {
    float *tr = T + r * wp * 16;
    const int64_t iy = oy0 * S + r - a->pad_t;
    if (iy < 0 || iy >= ih || c_lo >= c_hi) {
      for (int64_t c = 0; c < wp; c++) _mm512_store_ps(tr + c * 16, zero);
      continue;
    }
    for (int64_t c = 0; c < c_lo; c++) _mm512_store_ps(tr + c * 16, zero);
    for (int64_t c = c_hi; c < wp; c++) _mm512_store_ps(tr + c * 16, zero);
    for (int64_t c0 = c_lo; c0 < c_hi; c0 += 16) {
      const int n = c_hi - c0 < 16 ? (int)(c_hi - c0) : 16;
      const __mmask16 m = eo_mask_avx512(n);
      __m512 v[16];
      const float *src = x + iy * iw + (c0 - a->pad_l);
      for (int ch = 0; ch < 16; ch++) v[ch] = _mm512_maskz_loadu_ps(m, src + ch * xs);
      eo_tr16_avx512(v);
      for (int k = 0; k < n; k++) _mm512_store_ps(tr + (c0 + k) * 16, v[k]);
    }
  }
  const float clo = ACT == ACT_CLIP ? (a->act->op == EO_OP_CLIP ? a->act->alpha : 0.0f) : 0.0f;
  const float chi = ACT == ACT_CLIP ? (a->act->op == EO_OP_CLIP ? a->act->beta : INFINITY) : 0.0f;
  const __m512 vlo = _mm512_set1_ps(clo), vhi = _mm512_set1_ps(chi);
  enum { U = 4 };
  for (int64_t oy = oy0; oy < oy1; oy++) {
    const float *t0 = T + (oy - oy0) * S * wp * 16;
    float *orow = O + (oy - oy0) * ow * 16;
    for (int64_t ox = 0; ox < ow; ox += U) {
      const int u_n = ow - ox < U ? (int)(ow - ox) : U;
      __m512 acc[U];
      if (u_n == U) {
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) acc[u] = bv;
#pragma GCC unroll 5
        for (int ky = 0; ky < K; ky++)
#pragma GCC unroll 5
          for (int kx = 0; kx < K; kx++)
#pragma GCC unroll 4
            for (int u = 0; u < U; u++)
              acc[u] = _mm512_fmadd_ps(_mm512_load_ps(t0 + (ky * wp + (ox + u) * S + kx) * 16), wv[ky * K + kx], acc[u]);
      } else {
        for (int u = 0; u < u_n; u++) {
          acc[u] = bv;
          for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++)
              acc[u] = _mm512_fmadd_ps(_mm512_load_ps(t0 + (ky * wp + (ox + u) * S + kx) * 16), wv[ky * K + kx], acc[u]);
        }
      }
#pragma GCC unroll 4
      for (int u = 0; u < U; u++) {
        if (u >= u_n) break;
        __m512 v = acc[u];
        if (ACT == ACT_CLIP) v = _mm512_min_ps(vhi, _mm512_max_ps(vlo, v));
        else if (ACT == ACT_ANY) v = eo_act_avx512(v, a->act);
        _mm512_store_ps(orow + (ox + u) * 16, v);
      }
    }
  }
  const int64_t np = (oy1 - oy0) * ow, yo = oy0 * ow;
  for (int64_t p0 = 0; p0 < np; p0 += 16) {
    const int n = np - p0 < 16 ? (int)(np - p0) : 16;
    __m512 v[16];
    for (int k = 0; k < 16; k++) v[k] = k < n ? _mm512_load_ps(O + (p0 + k) * 16) : zero;
    eo_tr16_avx512(v);
    const __mmask16 m = eo_mask_avx512(n);
    for (int ch = 0; ch < 16; ch++) _mm512_mask_storeu_ps(y + ch * ys + yo + p0, m, v[ch]);
  }
}

/* Strips of eo_f32_dw_c16_rows output rows, so that the transposed input stays in L1/L2. */
static inline __attribute__((always_inline)) void dw_c16(const eo_f32_dw_args *a, const float *x, int64_t xs,
                                                         const float *w, const float *bias, float *y, int64_t ys,
                                                         float *ws, int64_t oy_begin, int64_t oy_end, const int K,
                                                         const int S, const int ACT) {
  const int64_t rows = eo_f32_dw_c16_rows(a), hs = (rows - 1) * S + K, wp = (a->ow_n - 1) * S + K;
  float *T = (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63), *O = T + hs * wp * 16;  // 64-aligned rows
  __m512 wv[25];
  const __m512i widx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(K * K));
  for (int t = 0; t < K * K; t++) wv[t] = _mm512_i32gather_ps(widx, w + t, 4);
  const __m512 bv = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  for (int64_t oy0 = oy_begin; oy0 < oy_end; oy0 += rows)
    dw_c16_strip(a, x, xs, wv, bv, y, ys, T, O, oy0, oy0 + rows < oy_end ? oy0 + rows : oy_end, K, S, ACT);
}

/* ---- 3x3 stride 2, plane by plane (outputs 28 wide and more) ----
 * At stride 2 the 16-channel path transposes four input floats per output (1.25 shuffles per output
 * in all, against 0.56 FMAs): mobilenet_v2's 112x112 layer took 1.4x ORT's time. Here each plane's
 * rows stay in place and one input row gives the three taps of 16 outputs from three loads and three
 * shuffles: even columns, odd columns, and the even ones moved one lane on (the 33rd column enters
 * at the top). Measured on the 16-channel entry, Clip epilogue: 96 planes 112x112 -> 56x56 161 ->
 * 129 us, 144 planes 56x56 -> 28x28 60 -> 50 us; at 28x28 -> 14x14 (one vector of 14 outputs a row)
 * the 16-channel path stays faster (16.8 against 17.6 us). (Splitting each input row once into even
 * and odd rows in an L1 buffer, then loading the taps from there, took 158 and 95 us.) The FMAs are
 * the 16-channel path's, in the same order on the same zero-padded values (bias, then the taps in
 * (ky, kx) order), so the results are identical. */
enum { S2_MIN_OW = 28 };
enum { S2_BLOCKS = 4 };  /* 16-output vectors of a row in flight: independent FMA chains */

/* The three taps of input row r for a block's 16 outputs: columns c0 + 2i, c0 + 2i + 1, c0 + 2i + 2. */
static inline __attribute__((always_inline)) void s2_taps(const float *r, int64_t c0, __mmask16 m0, __mmask16 m1,
                                                          __mmask16 m2, __m512 t[3]) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const __m512 v0 = _mm512_maskz_loadu_ps(m0, r + c0), v1 = _mm512_maskz_loadu_ps(m1, r + c0 + 16);
  const __m512 v2 = _mm512_maskz_loadu_ps(m2, r + c0 + 32);
  t[0] = _mm512_permutex2var_ps(v0, even, v1);
  t[1] = _mm512_permutex2var_ps(v0, odd, v1);
  t[2] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(v2), _mm512_castps_si512(t[0]), 1));
}

static inline __attribute__((always_inline)) void dw3s2_rows(const eo_f32_dw_args *a, const float *x, const float *w,
                                                             float bias, float *y, int64_t oy0, int64_t oy1,
                                                             const int ACT) {
  const int64_t ih = a->ih_n, iw = a->iw_n, ow = a->ow_n;
  __m512 wv[9];
  for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(w[t]);
  const __m512 bv = _mm512_set1_ps(bias);
  const float clo = ACT == ACT_CLIP ? (a->act->op == EO_OP_CLIP ? a->act->alpha : 0.0f) : 0.0f;
  const float chi = ACT == ACT_CLIP ? (a->act->op == EO_OP_CLIP ? a->act->beta : INFINITY) : 0.0f;
  const __m512 vlo = _mm512_set1_ps(clo), vhi = _mm512_set1_ps(chi);
  // column strips of S2_BLOCKS vectors, so the load masks (zeros outside [0, iw)) are set once
  for (int64_t ox0 = 0; ox0 < ow; ox0 += 16 * S2_BLOCKS) {
    const int nb = ow - ox0 >= 16 * S2_BLOCKS ? S2_BLOCKS : (int)((ow - ox0 + 15) / 16);
    int64_t c0[S2_BLOCKS];
    __mmask16 m0[S2_BLOCKS], m1[S2_BLOCKS], m2[S2_BLOCKS], ms[S2_BLOCKS];
    for (int b = 0; b < nb; b++) {  // columns c0 .. c0 + 32 feed the block's 16 outputs
      const int64_t o = ox0 + 16 * b, c = 2 * o - a->pad_l;
      c0[b] = c;
      m0[b] = range_mask(-c, iw - c);
      m1[b] = range_mask(-c - 16, iw - c - 16);
      m2[b] = range_mask(-c - 32, iw - c - 32) & 1;
      ms[b] = eo_mask_avx512(ow - o < 16 ? (int)(ow - o) : 16);
    }
    // two output rows at a time: the input row between them (ky 2 of the first, 0 of the second)
    // is loaded and split once; each sum still takes its taps in (ky, kx) order
    for (int64_t oy = oy0; oy < oy1; oy += 2) {
      const bool two = oy + 1 < oy1;
      __m512 acc[2][S2_BLOCKS];
#pragma GCC unroll 4
      for (int b = 0; b < S2_BLOCKS; b++) acc[0][b] = acc[1][b] = bv;
#pragma GCC unroll 5
      for (int j = 0; j < 5; j++) {
        if (j > 2 && !two) break;
        const int64_t iy = 2 * oy - a->pad_t + j;
        const bool inside = iy >= 0 && iy < ih;
        const float *r = x + (inside ? iy : 0) * iw;
#pragma GCC unroll 4
        for (int b = 0; b < S2_BLOCKS; b++) {
          if (b >= nb) break;
          __m512 t[3] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
          if (inside) s2_taps(r, c0[b], m0[b], m1[b], m2[b], t);
          if (j <= 2) {
            acc[0][b] = _mm512_fmadd_ps(t[0], wv[3 * j], acc[0][b]);
            acc[0][b] = _mm512_fmadd_ps(t[1], wv[3 * j + 1], acc[0][b]);
            acc[0][b] = _mm512_fmadd_ps(t[2], wv[3 * j + 2], acc[0][b]);
          }
          if (j >= 2 && two) {
            acc[1][b] = _mm512_fmadd_ps(t[0], wv[3 * (j - 2)], acc[1][b]);
            acc[1][b] = _mm512_fmadd_ps(t[1], wv[3 * (j - 2) + 1], acc[1][b]);
            acc[1][b] = _mm512_fmadd_ps(t[2], wv[3 * (j - 2) + 2], acc[1][b]);
          }
        }
      }
#pragma GCC unroll 2
      for (int i = 0; i < 2; i++) {
        if (i == 1 && !two) break;
#pragma GCC unroll 4
        for (int b = 0; b < S2_BLOCKS; b++) {
          if (b >= nb) break;
          __m512 v = acc[i][b];
          if (ACT == ACT_CLIP) v = _mm512_min_ps(vhi, _mm512_max_ps(vlo, v));
          else if (ACT == ACT_ANY) v = eo_act_avx512(v, a->act);
          _mm512_mask_storeu_ps(y + (oy + i) * ow + ox0 + 16 * b, ms[b], v);
        }
      }
    }
  }
}

void eo_f32_dwconv2d_c16__avx512f(const eo_f32_dw_args *a, const float *x, int64_t xs, const float *w,
                                  const float *bias, float *y, int64_t ys, float *ws, int64_t oy0, int64_t oy1) {
  const int op = a->act ? a->act->op : -1, act = op < 0 ? ACT_NONE : op == EO_OP_RELU || op == EO_OP_CLIP ? ACT_CLIP : ACT_ANY;
  const int k = (int)a->kh, s = (int)a->sh;
  if (k == 3 && s == 2 && a->ow_n >= S2_MIN_OW) {
    for (int ch = 0; ch < 16; ch++) {
      const float b = bias ? bias[ch] : 0.0f;
      if (act == ACT_NONE) dw3s2_rows(a, x + ch * xs, w + 9 * ch, b, y + ch * ys, oy0, oy1, ACT_NONE);
      else if (act == ACT_CLIP) dw3s2_rows(a, x + ch * xs, w + 9 * ch, b, y + ch * ys, oy0, oy1, ACT_CLIP);
      else dw3s2_rows(a, x + ch * xs, w + 9 * ch, b, y + ch * ys, oy0, oy1, ACT_ANY);
    }
    return;
  }
#define EO_DW_C16(K, S)                                                                       \
  if (k == K && s == S) {                                                                     \
    if (act == ACT_NONE) dw_c16(a, x, xs, w, bias, y, ys, ws, oy0, oy1, K, S, ACT_NONE);      \
    else if (act == ACT_CLIP) dw_c16(a, x, xs, w, bias, y, ys, ws, oy0, oy1, K, S, ACT_CLIP); \
    else dw_c16(a, x, xs, w, bias, y, ys, ws, oy0, oy1, K, S, ACT_ANY);                       \
    return;                                                                                   \
  }
  EO_DW_C16(3, 1)
  EO_DW_C16(3, 2)
  EO_DW_C16(5, 1)
  EO_DW_C16(5, 2)
#undef EO_DW_C16
}

void eo_f32_dwconv2d__avx512f(const eo_f32_dw_args *a, const float *x, const float *w, float bias, float *y,
                              float *xp) {
  int64_t hq, wq;
  if (eo_f32_dw_wide(a, &hq, &wq)) {
    fill_phases(a, x, xp, hq, wq);
    const int64_t k = a->kh == a->kw ? a->kh : 0, s = a->sh == a->sw ? a->sh : 0;
    if (k == 3 && s == 1) dw_wide_act(a, xp, w, bias, y, 3, 3, 1, 1, 4);
    else if (k == 3 && s == 2) dw_wide_act(a, xp, w, bias, y, 3, 3, 2, 2, 4);
    else if (k == 5 && s == 1) dw_wide_act(a, xp, w, bias, y, 5, 5, 1, 1, 2);
    else if (k == 5 && s == 2) dw_wide_act(a, xp, w, bias, y, 5, 5, 2, 2, 2);
    else dw_wide_act(a, xp, w, bias, y, 0, 0, 0, 0, 2);
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
