/* Declarations of the x86 kernels (each built with its ISA's flags, see CMakeLists.txt). Call them
 * only through eo_f32_kernels(), which checks the CPU first. */
#ifndef EO_KERNELS_X86_H
#define EO_KERNELS_X86_H

#include "runtime/kernels/fast.h"

/* AVX2 + FMA: 6x16 GEMM tile. */
void eo_f32_gemm_6x16__avx2_fma(int mr, int nr, int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                const eo_f32_gemm_tile_ep *ep);
float eo_f32_mean__avx2_fma(const float *x, int64_t n);
void eo_f32_vact__avx2_fma(const eo_f32_act *act, const float *x, float *y, int64_t n);
void eo_f32_dwconv2d__avx2_fma(const eo_f32_dw_args *a, const float *x, const float *w, float bias, float *y,
                               float *xp);
void eo_f32_maxpool2d__avx2_fma(const eo_f32_dw_args *a, const float *x, float *y);
void eo_f32_pack_im2col__avx2_fma(const eo_conv_params *p, const float *x, int w, int64_t pc, int64_t kc, int64_t j0,
                        int64_t nc, float *dst);
void eo_f32_pack_rows__avx2_fma(int64_t nc, int64_t kc, const float *b, const int64_t *off, float *dst);

/* AVX-512F: 12x32 GEMM tile. */
void eo_f32_gemm_row_panels__avx512f(int64_t n, int64_t kc, const float *a, const float *b, int64_t b_stride,
                                     float *c, const eo_f32_gemm_tile_ep *ep);
void eo_f32_transpose__avx512f(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst, int64_t ldd);
/* The same with B read in place: kc rows of nr floats, ldb floats apart. */
void eo_f32_gemm_12x32_b__avx512f(int mr, int nr, int64_t kc, const float *a, const float *b, int64_t ldb, float *c,
                                  int64_t ldc, const eo_f32_gemm_tile_ep *ep);
void eo_f32_gemm_12x32__avx512f(int mr, int nr, int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                const eo_f32_gemm_tile_ep *ep);
float eo_f32_mean__avx512f(const float *x, int64_t n);
void eo_f32_vact__avx512f(const eo_f32_act *act, const float *x, float *y, int64_t n);
void eo_f32_dwconv2d__avx512f(const eo_f32_dw_args *a, const float *x, const float *w, float bias, float *y,
                              float *xp);
void eo_f32_maxpool2d__avx512f(const eo_f32_dw_args *a, const float *x, float *y);
void eo_f32_dwconv2d_c16__avx512f(const eo_f32_dw_args *a, const float *x, int64_t xs, const float *w,
                                  const float *bias, float *y, int64_t ys, float *ws, int64_t oy0, int64_t oy1);
void eo_f32_pack_im2col__avx512f(const eo_conv_params *p, const float *x, int w, int64_t pc, int64_t kc, int64_t j0,
                        int64_t nc, float *dst);
void eo_f32_pack_rows__avx512f(int64_t nc, int64_t kc, const float *b, const int64_t *off, float *dst);
void eo_f32_wino_input__avx512f(const float *xp, int64_t c_n, int64_t plane, int64_t wp, int64_t tw, int64_t t0,
                                int64_t nt, int nr, float *v, int64_t vs);
void eo_f32_wino_output__avx512f(const float *m, int64_t ms, int64_t ldm, int64_t m_n, int64_t tw, int64_t t0,
                                 int64_t nt, int nr, const float *bias, int64_t oh, int64_t ow, float *y,
                                 const eo_f32_act *act);
void eo_f32_pack_a_rows__avx512f(int64_t m, int64_t kc, const float *a, const int64_t *off, const int64_t *pos,
                                 float *dst);
void eo_f32_conv_direct__avx512f(const eo_f32_direct_args *a, const float *x, const float *bias, float *y, int64_t oy0,
                                 int64_t oy1, float *xp);

/* Softmax / LogSoftmax as eo_f32_softmax__ref (f32-softmax-*.c). rows: `rows` contiguous rows of n
 * (inner == 1); cols: `cols` neighbouring columns of [n, inner] (x, y at column 0), each its own
 * softmax over n at stride inner. */
void eo_f32_softmax_rows__avx2_fma(int64_t rows, int64_t n, const float *x, float *y, bool log_softmax);
void eo_f32_softmax_cols__avx2_fma(int64_t n, int64_t inner, int64_t cols, const float *x, float *y, bool log_softmax);
void eo_f32_softmax_rows__avx512f(int64_t rows, int64_t n, const float *x, float *y, bool log_softmax);
void eo_f32_softmax_cols__avx512f(int64_t n, int64_t inner, int64_t cols, const float *x, float *y, bool log_softmax);

/* Nearest x2 upsampling of one row of 4-byte elements: y[2j] = y[2j + 1] = x[j] for j < n
 * (f32-resize-*.c). */
void eo_x32_dup2__avx2(int64_t n, const uint32_t *x, uint32_t *y);
void eo_x32_dup2__avx512f(int64_t n, const uint32_t *x, uint32_t *y);

#endif
