/* Geometry of the wide-grid depthwise convolution, shared by the FP32 kernels
 * (f32-dwconv2d-avx512.c, f32-dwconv2d-avx2.c) and the INT8 one (qs8-conv-avx512.c): the zero-padded
 * input plane is split into SH*SW stride-phase planes of hq x wq, phase (py, px) holding padded rows
 * py, py + SH, ... and columns px, px + SW, ..., and outputs run on the wide grid j = oy*wq + ox.
 * Scalar set-up per plane; the tap loops stay in the kernels (their types and epilogues differ). */
#ifndef EO_X86_DW_PHASE_H
#define EO_X86_DW_PHASE_H

#include <stdint.h>

/* Along one axis (input length n, leading padding pad, stride s): position q of phase ph reads input
 * position q*s + ph - pad. [*qa, *qb) are the positions inside the input, clamped to the phase
 * plane's length len; the others are padding (zeros). */
static inline __attribute__((always_inline)) void eo_dw_phase_range(int64_t n, int64_t pad, int64_t s, int64_t ph,
                                                                    int64_t len, int64_t *qa, int64_t *qb) {
  const int64_t lo = pad - ph, hi = n + pad - ph;
  int64_t a = lo > 0 ? (lo + s - 1) / s : 0, b = hi > 0 ? (hi + s - 1) / s : 0;
  a = a < len ? a : len;
  *qa = a;
  *qb = b < a ? a : b < len ? b : len;
}

/* Tap (ky, kx) of wide output j is element j + off[ky*kw + kx] of the phase planes (pq = hq*wq floats
 * each, phase (py, px) at (py*sw + px)*pq): its padded offset (ky*dh, kx*dw) lies in phase
 * (ky*dh % sh, kx*dw % sw), row ky*dh / sh, column kx*dw / sw. */
static inline __attribute__((always_inline)) void eo_dw_phase_taps(int64_t kh, int64_t kw, int64_t dh, int64_t dw,
                                                                   int64_t sh, int64_t sw, int64_t pq, int64_t wq,
                                                                   int64_t *off) {
  for (int64_t ky = 0; ky < kh; ky++)
    for (int64_t kx = 0; kx < kw; kx++) {
      const int64_t ty = ky * dh, tx = kx * dw;
      off[ky * kw + kx] = ((ty % sh) * sw + tx % sw) * pq + ty / sh * wq + tx / sw;
    }
}

#endif
