/* Fast float32 kernels: packed-weight GEMM, convolution through it (1x1 direct, im2col packed
 * straight into GEMM panels), depthwise convolution, vector activations. ISA-specific micro-kernels
 * live in kernels/x86/ and are reached only through the table eo_f32_kernels(isa) returns, so
 * nothing here runs an instruction the CPU lacks. The _ref kernels (ref/ref_kernels.h) remain the
 * specification: every function here is tested against them (tests/ops/test_fast_kernels.c).
 *
 *   const eo_f32_kernels_t *kr = eo_f32_kernels(eo_cpu_isa());   // NULL: use the _ref kernels
 *   // at prepare: weights [M, K] -> MR-row panels
 *   float *wp = malloc(eo_f32_gemm_packed_a_bytes(kr, m, k));
 *   eo_f32_gemm_pack_a(kr, m, k, w, k, 1, wp);
 *   size_t ws = eo_f32_gemm_workspace(kr, &args, threads);        // scratch for the run
 *   // at run
 *   eo_f32_gemm(kr, &args, pool, scratch);
 *
 * Determinism: an output element's value depends only on the operands, never on the thread count
 * or on how work is split: K is always cut into the same EO_F32_GEMM_KC blocks, and every element
 * is accumulated by exactly one task in ascending k.
 */
#ifndef EO_KERNELS_FAST_H
#define EO_KERNELS_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "runtime/kernels/ref/ref_kernels.h"

/* K block of every fast GEMM (fixed: part of the summation order). */
#define EO_F32_GEMM_KC 256

/* A fused activation (eo_op_id of Relu, Clip, ...; -1 for none) and its parameters. */
typedef struct eo_f32_act {
  int op;
  float alpha, beta;
} eo_f32_act;

/* Micro-kernel epilogue flags. */
#define EO_GEMM_LOAD_C 1u /* add the tile to C's current values (else: to bias, or to nothing) */
#define EO_GEMM_ACT 2u    /* apply the activation before storing */

typedef struct eo_f32_gemm_tile_ep {
  float alpha;            /* scales the product (Gemm's alpha), 1 otherwise */
  unsigned flags;
  const float *bias;      /* per row of the tile (bias[i] for row i), NULL: none; unused with LOAD_C */
  const float *bias_n;    /* per column of the tile (bias_n[j] for column j), NULL: none; unused with
                           * LOAD_C or bias */
  const eo_f32_act *act;  /* read with EO_GEMM_ACT */
} eo_f32_gemm_tile_ep;

/* C[i, j] (i < mr <= MR, j < nr <= NR) = act(base + alpha * sum_{p < kc} a[p*MR + i] * b[p*NR + j])
 * where base is C[i, j] (LOAD_C), bias[i], bias_n[j] or 0. a and b are packed panels (see pack_a/pack_b). */
typedef void (*eo_f32_gemm_ukernel)(int mr, int nr, int64_t kc, const float *a, const float *b, float *c,
                                    int64_t ldc, const eo_f32_gemm_tile_ep *ep);
/* The micro-kernel reading an unpacked row-major B in place (rows ldb floats apart, nr columns). */
typedef void (*eo_f32_gemm_b_fn)(int mr, int nr, int64_t kc, const float *a, const float *b, int64_t ldb, float *c,
                                 int64_t ldc, const eo_f32_gemm_tile_ep *ep);
/* One row of A (a[p * MR] for p < kc) times n columns of a prepacked B (panel q of NR columns at
 * b + q * b_stride, already advanced to the K block) into c[0..n), with the ukernel's epilogue
 * (bias_n from column 0 of c): the same results as the ukernel on each panel. */
typedef void (*eo_f32_gemm_row_fn)(int64_t n, int64_t kc, const float *a, const float *b, int64_t b_stride, float *c,
                                   const eo_f32_gemm_tile_ep *ep);
/* dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols. */
typedef void (*eo_f32_transpose_fn)(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst, int64_t ldd);
/* y[0..n) = act(x[0..n)); x may equal y. */
typedef void (*eo_f32_vact_fn)(const eo_f32_act *act, const float *x, float *y, int64_t n);

/* Depthwise 2-D convolution of one channel (x: [ih_n, iw_n], y: [oh_n, ow_n]):
 * y[oh, ow] = act(bias + sum_{kh, kw} w[kh, kw] * x[oh*sh - pad_t + kh*dh, ow*sw - pad_l + kw*dw]),
 * taps outside x counting as zero. xp is scratch for the zero-padded plane: xp_h rows of xp_w floats
 * (eo_f32_dw_pad_geometry sets them and says how much). */
typedef struct eo_f32_dw_args {
  int64_t ih_n, iw_n, oh_n, ow_n, kh, kw, sh, sw, dh, dw, pad_t, pad_l;
  int64_t xp_h, xp_w;
  const eo_f32_act *act;
} eo_f32_dw_args;
typedef void (*eo_f32_dwconv_fn)(const eo_f32_dw_args *a, const float *x, const float *w, float bias, float *y,
                                 float *xp);
/* Sets a->xp_h, a->xp_w from the geometry; returns the floats of xp. */
size_t eo_f32_dw_pad_geometry(eo_f32_dw_args *a);
/* The depthwise kernels' wide-grid path (dilation 1, strides 1 or 2, at most 64 taps; see
 * f32-dwconv2d-avx512.c) works on SH*SW phase planes of hq x wq floats; false: the row kernels. */
#define EO_F32_DW_WIDE_MAX_TAPS 64
static inline bool eo_f32_dw_wide(const eo_f32_dw_args *a, int64_t *hq, int64_t *wq) {
  *hq = a->oh_n + (a->kh - 1) / (a->sh > 0 ? a->sh : 1);
  *wq = a->ow_n + (a->kw - 1) / (a->sw > 0 ? a->sw : 1);
  return a->dh == 1 && a->dw == 1 && a->sh >= 1 && a->sh <= 2 && a->sw >= 1 && a->sw <= 2 &&
         a->kh * a->kw <= EO_F32_DW_WIDE_MAX_TAPS && a->oh_n >= 1 && a->ow_n >= 1 && *hq * *wq < ((int64_t)1 << 30);
}
/* 16 planes at once, for small maps (see f32-dwconv2d-avx512.c): x planes at stride xs, w [16][kh*kw],
 * bias 16 values or NULL, y planes at stride ys; ws: eo_f32_dw_c16_floats floats (any alignment).
 * Output rows [oy0, oy1) only (0, oh_n: the whole planes). Square 3x3 / 5x5 kernels, strides 1 or 2,
 * dilation 1 (eo_f32_dw_c16_ok). The same results as dwconv plane by plane. */
typedef void (*eo_f32_dwconv_c16_fn)(const eo_f32_dw_args *a, const float *x, int64_t xs, const float *w,
                                     const float *bias, float *y, int64_t ys, float *ws, int64_t oy0, int64_t oy1);
static inline bool eo_f32_dw_c16_ok(const eo_f32_dw_args *a) {
  return a->kh == a->kw && (a->kh == 3 || a->kh == 5) && a->sh == a->sw && (a->sh == 1 || a->sh == 2) &&
         a->dh == 1 && a->dw == 1 && a->oh_n >= 1 && a->ow_n >= 1;
}
/* Output rows per strip: the strip's transposed input ([rows][columns][16]) within 256 KiB (L2).
 * Strips overlap by kh - sh input rows, transposed again: with 64 KiB, 112x112 stride-1 maps
 * transposed 8 rows per 6 outputs; 256 KiB was 4-7% faster there (thread CPU time, 32 and 144
 * channels at 112x112 and 56x56, both strides) and the same on 28x28 and smaller. */
#define EO_F32_DW_C16_STRIP 4096
static inline int64_t eo_f32_dw_c16_rows(const eo_f32_dw_args *a) {
  const int64_t wp = (a->ow_n - 1) * a->sw + a->kw, fit = EO_F32_DW_C16_STRIP / wp, r = (fit - a->kh) / a->sh + 1;
  return r < 1 ? 1 : r > a->oh_n ? a->oh_n : r;
}
static inline size_t eo_f32_dw_c16_floats(const eo_f32_dw_args *a) {
  const int64_t r = eo_f32_dw_c16_rows(a), hs = (r - 1) * a->sh + a->kh, wp = (a->ow_n - 1) * a->sw + a->kw;
  return (size_t)((hs * wp + r * a->ow_n) * 16 + 16);
}
/* Max pooling of one plane with the same geometry (act unused): the maximum of the window's taps
 * inside x (a NaN tap is skipped), -FLT_MAX for a window without any. */
typedef void (*eo_f32_maxpool_fn)(const eo_f32_dw_args *a, const float *x, float *y);
/* im2col rows [pc, pc + kc) x columns [j0, j0 + nc) of convolution p's input x (one image, one
 * group), packed into w-wide panels: panel q at dst + q*kc*w, lanes past nc zero (w <= 64). */
typedef void (*eo_f32_pack_im2col_fn)(const eo_conv_params *p, const float *x, int w, int64_t pc, int64_t kc,
                                      int64_t j0, int64_t nc, float *dst);

/* B panels of NR (the GEMM tile's width) columns from contiguous rows: panel q holds
 * b[off[kk] + q*NR + l] at dst + q*kc*NR + kk*NR + l for kk < kc, lanes past nc zero (the stride-1
 * convolution's im2col rows over a padded input). */
typedef void (*eo_f32_pack_rows_fn)(int64_t nc, int64_t kc, const float *b, const int64_t *off, float *dst);

/* A panels of MR (the GEMM tile's height) rows with A(i, p) = a[off[p] + pos[i]] for rows i < m: panel
 * q holds it at dst + q*kc*MR + kk*MR + l for p = kk (off already advanced to the K block), i = q*MR + l;
 * rows past m zero (the transposed stride-1 convolution's positions over padded planes). */
typedef void (*eo_f32_pack_a_rows_fn)(int64_t m, int64_t kc, const float *a, const int64_t *off, const int64_t *pos,
                                      float *dst);
/* The same for any MR, element by element (each panel row is MR taps at fixed distances, so no index
 * arithmetic per element): ISAs without their own, and the AVX-512 one's wide panels. */
void eo_f32_pack_a_rows_any(int mr, int64_t m, int64_t kc, const float *a, const int64_t *off, const int64_t *pos,
                            float *dst);

/* Mean of x[0..n) (n >= 1), accumulated in double. */
typedef float (*eo_f32_mean_fn)(const float *x, int64_t n);

/* Winograd F(2x2, 3x3) input and output transforms (winograd.h has their contracts). */
typedef void (*eo_f32_wino_in_fn)(const float *xp, int64_t c_n, int64_t plane, int64_t wp, int64_t tw, int64_t t0,
                                  int64_t nt, int nr, float *v, int64_t vs);
typedef void (*eo_f32_wino_out_fn)(const float *m, int64_t ms, int64_t ldm, int64_t m_n, int64_t tw, int64_t t0,
                                   int64_t nt, int nr, const float *bias, int64_t oh, int64_t ow, float *y,
                                   const eo_f32_act *act);
/* Direct convolution for few input channels (a CNN's first layer; f32-conv-direct-avx512.c): output
 * rows [oy0, oy1) (oy1 - oy0 <= the band's rows) of every channel of one image (x: [c_in, ih, iw],
 * y: [c_out, oh, ow]), y[m, oy, ox] = act(bias[m] + sum over taps t = (c, ky, kx) ascending of
 * wp(m, t) * x[c, oy*sh - pad_t + ky, ox*sw - pad_l + kx]), taps outside x counting as zero. The
 * band's input is first copied into xp as zero-padded phase planes (the shifted path's layout,
 * [c][py][px][hb rows][wq], hb = band rows + (kh-1)/sh, wq = ow + (kw-1)/sw) so that tap t of
 * position (oy, ox) is xp[tap_off[t] + (oy - oy0)*wq + ox]. 2-D (p->*[1], p->*[2]), groups 1,
 * dilation 1, strides 1-2. wp: ceil(c_out / CB) blocks of [taps][CB] floats, zero past c_out. */
#define EO_F32_DIRECT_CB 8
#define EO_F32_DIRECT_SLACK 16 /* floats past the planes: loads of the last row's discarded lanes */
typedef struct eo_f32_direct_args {
  const eo_conv_params *p; /* geometry and fused activation */
  int64_t hb, wq;
  const int64_t *tap_off;  /* c_in * kh * kw offsets */
  const float *wp;
} eo_f32_direct_args;
/* Floats of a band's xp (any alignment). */
static inline size_t eo_f32_direct_xp_floats(const eo_f32_direct_args *a) {
  return (size_t)(a->p->c_in * a->p->stride[1] * a->p->stride[2] * a->hb * a->wq + EO_F32_DIRECT_SLACK);
}
typedef void (*eo_f32_conv_direct_fn)(const eo_f32_direct_args *a, const float *x, const float *bias, float *y,
                                      int64_t oy0, int64_t oy1, float *xp);

typedef struct eo_f32_kernels_t {
  const char *name;       /* "avx512", "avx2" */
  int mr, nr;             /* GEMM tile */
  eo_f32_gemm_ukernel gemm;
  eo_f32_vact_fn vact;
  eo_f32_dwconv_fn dwconv;
  eo_f32_maxpool_fn maxpool;
  eo_f32_pack_im2col_fn pack_im2col;
  eo_f32_mean_fn mean;
  eo_f32_pack_rows_fn pack_rows;
  eo_f32_dwconv_c16_fn dwconv_c16; /* NULL: none (dwconv plane by plane) */
  eo_f32_pack_a_rows_fn pack_a_rows;
  eo_f32_wino_in_fn wino_in; /* NULL (with wino_out): no winograd path */
  eo_f32_wino_out_fn wino_out;
  eo_f32_gemm_row_fn gemm_row; /* NULL: the ukernel panel by panel */
  eo_f32_transpose_fn transpose; /* NULL: element by element */
  eo_f32_conv_direct_fn conv_direct; /* NULL: none (the GEMM paths) */
  eo_f32_gemm_b_fn gemm_b; /* NULL: B is always packed */
} eo_f32_kernels_t;

/* The kernels of `isa`, or NULL for EO_ISA_REF (callers then use the _ref kernels). */
const eo_f32_kernels_t *eo_f32_kernels(eo_isa isa);

/* True if act->op (or -1) can run in these epilogues (the ops eo_activation_fusable accepts). */
bool eo_f32_act_supported(int op);

/* 2-D max pooling of nc planes (x: nc x [ih_n, iw_n], y: nc x [oh_n, ow_n]), planes split across
 * the pool. */
void eo_f32_maxpool2d(const eo_f32_kernels_t *kr, const eo_f32_dw_args *a, int64_t nc, const float *x, float *y,
                      eo_threadpool *pool);

/* GlobalAveragePool: y[i] = mean of x[i*spatial .. (i+1)*spatial) for i < nc, planes split across
 * the pool. */
void eo_f32_global_avgpool(const eo_f32_kernels_t *kr, int64_t nc, int64_t spatial, const float *x, float *y,
                           eo_threadpool *pool);

/* y = act(x) over n floats with kr->vact, split across the pool in fixed chunks. */
void eo_f32_vact(const eo_f32_kernels_t *kr, const eo_f32_act *act, const float *x, float *y, int64_t n,
                 eo_threadpool *pool);

/* ---- Packing (whole-K panels; prepare time for weights) ------------------------------------- */

/* A [m, k] (A(i, p) = a[i*rs + p*cs]) into ceil(m/MR) panels of k x MR floats, rows past m zero. */
size_t eo_f32_gemm_packed_a_bytes(const eo_f32_kernels_t *kr, int64_t m, int64_t k);
void eo_f32_gemm_pack_a(const eo_f32_kernels_t *kr, int64_t m, int64_t k, const float *a, int64_t rs, int64_t cs,
                        float *dst);
/* B [k, n] (B(p, j) = b[p*rs + j*cs]) into ceil(n/NR) panels of k x NR floats, columns past n zero. */
size_t eo_f32_gemm_packed_b_bytes(const eo_f32_kernels_t *kr, int64_t k, int64_t n);
void eo_f32_gemm_pack_b(const eo_f32_kernels_t *kr, int64_t k, int64_t n, const float *b, int64_t rs, int64_t cs,
                        float *dst);
/* pack_b into a new 64-byte-aligned buffer (the caller free()s it); NULL when out of memory. */
float *eo_f32_gemm_pack_b_new(const eo_f32_kernels_t *kr, int64_t k, int64_t n, const float *b, int64_t rs, int64_t cs);

/* ---- GEMM driver ------------------------------------------------------------------------------ */

/* C[m, n] (row-major, ldc) = act(base + alpha * A B), base = C (accumulate), bias[i] per row,
 * bias_n[j] per column, or 0.
 * Each operand is prepacked (a_packed / b_packed from pack_a / pack_b with the same kernels) or
 * strided; B may instead be the im2col matrix of a convolution (conv != NULL): rows
 * (c, k0, k1, k2) < cg * kvol, columns = output positions, read from conv_x (one group's channels
 * of one image); with conv_is_a, A is that matrix transposed (rows = output positions).
 * b_row_off gives B's rows as contiguous runs of b (see the field). */
typedef struct eo_f32_gemm_args {
  int64_t m, n, k;
  const float *a_packed, *a;
  int64_t a_rs, a_cs;
  const float *b_packed, *b;
  int64_t b_rs, b_cs;
  const int64_t *b_row_off; /* non-NULL: B(p, j) = b[b_row_off[p] + j] (b_rs, b_cs unused): contiguous
                             * rows at any offsets, a stride-1 convolution over a padded input */
  const int64_t *a_row_off, *a_pos; /* non-NULL: A(i, p) = a[a_row_off[p] + a_pos[i]] (a_rs, a_cs unused):
                                     * a transposed convolution over padded phase planes */
  const eo_conv_params *conv;
  const float *conv_x;
  bool conv_is_a;
  float *c;
  int64_t ldc;
  float alpha;
  bool accumulate;
  const float *bias, *bias_n;
  eo_f32_act act;
} eo_f32_gemm_args;

/* Scratch bytes eo_f32_gemm needs with a pool of `threads` workers (the shapes and which operands
 * are packed must be those of the run; pointers may still be NULL). */
size_t eo_f32_gemm_workspace(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g, int threads);
/* Runs the product on the pool (NULL: caller only); ws has eo_f32_gemm_workspace bytes (any alignment). */
void eo_f32_gemm(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g, eo_threadpool *pool, void *ws);
/* Bytes of each worker's own buffer the product uses when the pool has them (part of the workspace
 * otherwise): reserve them with eo_threadpool_reserve_local at prepare. */
size_t eo_f32_gemm_local(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g);

/* ---- Convolution ------------------------------------------------------------------------------ */

/* A convolution planned at prepare time: weights packed per group, path chosen (depthwise,
 * pointwise, im2col). Owns its packed weights. */
typedef struct eo_f32_conv_plan eo_f32_conv_plan;

/* w: [c_out, c_in/groups, k...] float32 (borrowed: only read here, while packing). *out is NULL on
 * failure. `threads` sizes the scratch (eo_threadpool_size of the pool used at run). */
eo_status eo_f32_conv_plan_create(const eo_f32_kernels_t *kr, const eo_conv_params *p, const float *w, int threads,
                                  eo_f32_conv_plan **out);
void eo_f32_conv_plan_free(eo_f32_conv_plan *pl);
/* The readers of the output split their work by output positions (eo_op_ctx.readers_split_rows):
 * the depthwise path may then split by rows too (dw_bands). Off until set. */
void eo_f32_conv_plan_readers_split_rows(eo_f32_conv_plan *pl, bool yes);
size_t eo_f32_conv_plan_scratch(const eo_f32_conv_plan *pl);
/* Bytes of each worker's own buffer the run uses when the pool has them (eo_threadpool_reserve_local). */
size_t eo_f32_conv_plan_local(const eo_f32_conv_plan *pl);
size_t eo_f32_conv_plan_packed_bytes(const eo_f32_conv_plan *pl);
/* "depthwise", "pointwise", "shifted", "im2col" (+ "-t" when transposed), "direct". */
const char *eo_f32_conv_plan_path(const eo_f32_conv_plan *pl);
/* y = act(conv(x, w) + bias) with the plan's packed weights; scratch has plan_scratch bytes. */
void eo_f32_conv_run(const eo_f32_conv_plan *pl, const float *x, const float *bias, float *y, eo_threadpool *pool,
                     void *scratch);

#endif
