/* Direct float32 convolution for few input channels (AVX-512F): a CNN's first layer (3 -> 16..64
 * channels, 3x3 to 7x7, stride 2), where the im2col GEMM's K is only 27..147 and packing B and
 * storing C per tile cost as much as the FMAs.
 *
 * A band of output rows first copies its input rows into zero-padded phase planes (the shifted
 * path's layout, f32-conv-fast.c; stride 2 de-interleaved by a permute), so every tap (c, ky, kx)
 * of 16 output positions (oy, ox0 .. ox0 + 15) is one contiguous unaligned load at
 * xp + tap_off[t] + (oy - oy0)*wq + ox0, whatever the stride and padding. A tile is up to 3 such
 * position vectors (from any rows) x EO_F32_DIRECT_CB output channels, 24 accumulators in
 * registers: per tap, 3 input loads and 8 weight broadcasts feed 24 FMAs (measured at 1 thread on
 * the Zen 4 here: resnet18's 147-tap stem 3.4 G 16-lane FMAs/s, the 27-tap 3x3 stems ~2.4 G, where
 * epilogues and phase copies weigh more). Each output element starts at its bias and adds its taps
 * in ascending order, one FMA each, within one tile: the result does not depend on how rows are
 * split into tasks or chunks into tiles.
 */
#include <immintrin.h>

#include "runtime/kernels/x86/act-avx512.h"
#include "runtime/kernels/x86/x86_kernels.h"

#define CB EO_F32_DIRECT_CB
#define NV_MAX 3

/* Channel block wb (weights [taps][CB]) x nv position vectors: input at xp + in[v], output lanes
 * mk[v] at y + out[v] (+ channel * np). always_inline with a constant nv: the accumulator array
 * becomes registers. */
static inline __attribute__((always_inline)) void tile(const int nv, int64_t taps, const int64_t *off, const float *xp,
                                                       const float *wb, const float *bias, int nc,
                                                       const eo_f32_act *act, const int64_t *in, const int64_t *out,
                                                       const __mmask16 *mk, float *y, int64_t np) {
  __m512 acc[NV_MAX][CB];
  for (int c = 0; c < CB; c++) {
    const __m512 b = _mm512_set1_ps(bias && c < nc ? bias[c] : 0.0f);
    for (int v = 0; v < nv; v++) acc[v][c] = b;
  }
  const float *x0 = xp + in[0], *x1 = xp + in[nv > 1 ? 1 : 0], *x2 = xp + in[nv > 2 ? 2 : 0];
  for (int64_t t = 0; t < taps; t++, wb += CB) {
    const int64_t o = off[t];
    __m512 xv[NV_MAX];
    xv[0] = _mm512_loadu_ps(x0 + o);
    if (nv > 1) xv[1] = _mm512_loadu_ps(x1 + o);
    if (nv > 2) xv[2] = _mm512_loadu_ps(x2 + o);
    for (int c = 0; c < CB; c++) {
      const __m512 w = _mm512_set1_ps(wb[c]);
      for (int v = 0; v < nv; v++) acc[v][c] = _mm512_fmadd_ps(xv[v], w, acc[v][c]);
    }
  }
  for (int c = 0; c < CB; c++) {
    if (c >= nc) break;
    for (int v = 0; v < nv; v++) {
      const __m512 r = act ? eo_act_avx512(acc[v][c], act) : acc[v][c];
      _mm512_mask_storeu_ps(y + c * np + out[v], mk[v], r);
    }
  }
}

/* One phase-plane row: dst[q] = s[q*sw + i0] for q < wq, zero where that column is outside [0, iw)
 * or s is NULL (a padding row). Edge chunks are masked loads, so nothing outside the row is read;
 * the chunks in between (whole 16 or 32-float windows inside the row) load without masks. */
static void phase_row(const float *s, int64_t iw, int64_t sw, int64_t i0, int64_t wq, float *dst) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const int64_t span = 16 * sw;  // input floats one chunk covers
  for (int64_t q0 = 0; q0 < wq; q0 += 16, i0 += span) {
    const __mmask16 mq = eo_mask_avx512((int)(wq - q0 < 16 ? wq - q0 : 16));
    __m512 v;
    if (!s) {
      v = _mm512_setzero_ps();
    } else if (i0 >= 0 && i0 + span <= iw) {
      v = sw == 1 ? _mm512_loadu_ps(s + i0)
                  : _mm512_permutex2var_ps(_mm512_loadu_ps(s + i0), even, _mm512_loadu_ps(s + i0 + 16));
    } else if (sw == 1) {
      v = _mm512_maskz_loadu_ps(range_mask(-i0, iw - i0), s + i0);
    } else {
      const __m512 lo = _mm512_maskz_loadu_ps(range_mask(-i0, iw - i0), s + i0);
      const __m512 hi = _mm512_maskz_loadu_ps(range_mask(-i0 - 16, iw - i0 - 16), s + i0 + 16);
      v = _mm512_permutex2var_ps(lo, even, hi);
    }
    _mm512_mask_storeu_ps(dst + q0, mq, v);
  }
}

void eo_f32_conv_direct__avx512f(const eo_f32_direct_args *a, const float *x, const float *bias, float *y, int64_t oy0,
                                 int64_t oy1, float *xp) {
  const eo_conv_params *p = a->p;
  const int64_t ih = p->in[1], iw = p->in[2], oh = p->out[1], ow = p->out[2], sh = p->stride[1], sw = p->stride[2];
  const int64_t wq = a->wq, hb = a->hb, rows = oy1 - oy0 + (p->k[1] - 1) / sh;
  // The band's phase planes: plane (c, py, px) row r is padded input row (oy0 + r)*sh + py.
  for (int64_t c = 0; c < p->c_in; c++)
    for (int64_t py = 0; py < sh; py++)
      for (int64_t px = 0; px < sw; px++) {
        float *d = xp + ((c * sh + py) * sw + px) * hb * wq;
        for (int64_t r = 0; r < rows; r++) {
          const int64_t iy = (oy0 + r) * sh + py - p->pad[1];
          phase_row(iy >= 0 && iy < ih ? x + (c * ih + iy) * iw : NULL, iw, sw, px - p->pad[2], wq, d + r * wq);
        }
      }

  const eo_f32_act act_v = {p->act_op, p->act_alpha, p->act_beta}, *act = p->act_op >= 0 ? &act_v : NULL;
  const int64_t cpr = (ow + 15) / 16, n = (oy1 - oy0) * cpr, np = oh * ow, taps = p->c_in * p->k[1] * p->k[2];
  const __mmask16 tail = eo_mask_avx512((int)(ow - (cpr - 1) * 16));
  // Channel blocks outside, chunks inside: a block's weights (taps x 8 floats, 4.7 KiB for 7x7x3)
  // stay in L1 while the band's phase rows stream past.
  for (int64_t m0 = 0; m0 < p->c_out; m0 += CB) {
    const int nc = p->c_out - m0 < CB ? (int)(p->c_out - m0) : CB;
    const float *wb = a->wp + m0 * taps, *bm = bias ? bias + m0 : NULL;
    float *ym = y + m0 * np;
    int64_t r = 0, cx = 0;  // row in the band and chunk in the row of chunk k (no divisions per tile)
    for (int64_t k = 0; k < n; k += NV_MAX) {
      int64_t in[NV_MAX], out[NV_MAX];
      __mmask16 mk[NV_MAX];
      const int nv = n - k < NV_MAX ? (int)(n - k) : NV_MAX;
      for (int v = 0; v < nv; v++) {
        in[v] = r * wq + cx * 16;
        out[v] = (oy0 + r) * ow + cx * 16;
        mk[v] = cx == cpr - 1 ? tail : (__mmask16)0xffff;
        if (++cx == cpr) cx = 0, r++;
      }
      if (nv == 3) tile(3, taps, a->tap_off, xp, wb, bm, nc, act, in, out, mk, ym, np);
      else if (nv == 2) tile(2, taps, a->tap_off, xp, wb, bm, nc, act, in, out, mk, ym, np);
      else tile(1, taps, a->tap_off, xp, wb, bm, nc, act, in, out, mk, ym, np);
    }
  }
}
