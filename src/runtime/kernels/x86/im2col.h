/* The im2col packing loop shared by the ISA files (each includes it with its own inlined row
 * gather, so the per-stretch work is a few vector instructions, not a call). */
#ifndef EO_X86_IM2COL_H
#define EO_X86_IM2COL_H

#include "core/core.h"
#include "runtime/kernels/fast.h"

typedef void (*eo_gather_row_fn)(const float *row, int64_t q0, int64_t s, int64_t w, int64_t n, float *dst);

static inline int64_t eo_min64_(int64_t a, int64_t b) { return a < b ? a : b; }

/* im2col rows [pc, pc + kc) x columns [j0, j0 + nc) of a convolution, written straight into
 * `w`-wide panels (panel q at dst + q*kc*w, row kk of it at + kk*w), zero past nc. Row
 * r = (c, k0, k1, k2); column j = (o0, o1, o2). Panel by panel, so the writes stream: the panel's
 * columns are cut into stretches of one output row each, and every (row r, stretch) is one
 * gather_row call (vector loads, the padding by masks). */
static inline __attribute__((always_inline)) void eo_pack_im2col_impl(const eo_conv_params *p, const float *x, int w,
                                                                      int64_t pc, int64_t kc, int64_t j0, int64_t nc,
                                                                      float *restrict dst, eo_gather_row_fn gather_row) {
  const int64_t *in = p->in, *out = p->out, *k = p->k, *s = p->stride, *dl = p->dil, *pd = p->pad;
  const int64_t kvol = k[0] * k[1] * k[2], plane_in = in[0] * in[1] * in[2], plane_out2 = out[1] * out[2];
  // Per im2col row: the input offsets its taps add (channel plane, z and y rows, x column).
  // Stepped from the first row rather than divided out per row: with 2 threads a call packs as
  // few as 12 columns, and the divisions had cost as much as the copying.
  int64_t rc[EO_F32_GEMM_KC], rz[EO_F32_GEMM_KC], ry[EO_F32_GEMM_KC], rx[EO_F32_GEMM_KC];
  {
    int64_t rem = pc % kvol, c = pc / kvol, tz = rem / (k[1] * k[2]), ty = rem / k[2] % k[1], tx = rem % k[2];
    for (int64_t kk = 0; kk < kc; kk++) {
      rc[kk] = c * plane_in;
      rz[kk] = tz * dl[0];
      ry[kk] = ty * dl[1];
      rx[kk] = tx * dl[2] - pd[2];
      if (++tx == k[2]) {
        tx = 0;
        if (++ty == k[1]) {
          ty = 0;
          if (++tz == k[0]) {
            tz = 0;
            c++;
          }
        }
      }
    }
  }
  struct {
    int64_t iz, iy, q, n, lane;
  } seg[64];
  EO_ASSERT(w <= 64);
  int64_t oz = j0 / plane_out2, oy = j0 / out[2] % out[1], ox = j0 % out[2];
  for (int64_t q0 = 0; q0 < nc; q0 += w) {
    int ns = 0;
    for (int64_t jj = q0, e = eo_min64_(q0 + w, nc); jj < e; ns++) {
      int64_t n = eo_min64_(out[2] - ox, e - jj);
      seg[ns].iz = oz * s[0] - pd[0];
      seg[ns].iy = oy * s[1] - pd[1];
      seg[ns].q = ox * s[2];
      seg[ns].n = n;
      seg[ns].lane = jj - q0;
      jj += n;
      if ((ox += n) == out[2]) {
        ox = 0;
        if (++oy == out[1]) {
          oy = 0;
          oz++;
        }
      }
    }
    float *panel = dst + q0 * kc;
    for (int64_t kk = 0; kk < kc; kk++) {
      const float *xc = x + rc[kk];
      float *d = panel + kk * w;
      for (int i = 0; i < ns; i++) {
        int64_t iz = seg[i].iz + rz[kk], iy = seg[i].iy + ry[kk];
        const float *row = iz >= 0 && iz < in[0] && iy >= 0 && iy < in[1] ? xc + (iz * in[1] + iy) * in[2] : NULL;
        gather_row(row, seg[i].q + rx[kk], s[2], in[2], seg[i].n, d + seg[i].lane);
      }
      int64_t used = eo_min64_(w, nc - q0);
      for (int64_t l = used; l < w; l++) d[l] = 0.0f;  // lanes past nc
    }
  }
}

#endif
