/* Fast integer convolution plans for QLinearConv (fused QDQ Conv), exact against eo_qs8_conv__ref.
 *
 * VNNI GEMM (qs8-conv-avx512.c, needs AVX-512 BW + VNNI): activations as uint8 (int8 ones are
 * shifted by 128, zero point too), weights int8 with every weight zero point 0, so
 *   acc[oc][p] = bias[oc] - x_zp * sum_k w[oc][k] + sum_k x[p][k] * w[oc][k]
 * where the last sum is VPDPBUSD's u8 x s8 -> s32 (no saturation: it is exact). The weight sums are
 * computed once at prepare. Padding reads x_zp as in the reference, so it contributes 0.
 * Layouts: weights [groups][c_out/groups in blocks of 8][K4][8] int32 (4 bytes of k each; blocks and
 * k padded with zeros), the patch matrix [P / 32][K4][32][4] u8 (4 consecutive k of one position per
 * lane, each tile of 32 positions contiguous). Small maps whose position tiles would leave many lanes
 * idle (7x7: 49 positions in 64 lanes; groups = 1) put output channels in the lanes instead ("lanes"
 * plans): weights [c_out / 48][K4][3 x 16 channels][4] int8, the same patch matrix read by broadcast.
 *
 * Depthwise (c_in = c_out = groups, 1-D/2-D, at most 256 taps): (x - x_zp) and (w - w_zp) as float;
 * every product and partial sum is an integer below 2^24, so float FMAs give the int32 sum exactly.
 * 3x3 and 5x5 at strides 1 and 2 run 16 channels at once in 16-bit integers (VPDPWSSD, exact);
 * other strides 1 and 2 on the wide grid of stride-phase planes (one load per tap of 16 outputs, as
 * f32-dwconv2d-avx512.c), larger strides row by row.
 *
 * Epilogue: requantization to 8 bits (QLinearConv), or for plans made by eo_qs8_conv_plan_init_i32 the
 * int32 accumulators themselves (ConvInteger: y int32, q->bias added if set, q->scale / y_zp unused).
 *
 * Both run their tiles on the session's thread pool; a tile's result depends only on its index, so
 * the output is the same for any thread count. */
#ifndef EO_RUNTIME_KERNELS_X86_QS8_FAST_H
#define EO_RUNTIME_KERNELS_X86_QS8_FAST_H

#include "core/threads.h"
#include "runtime/kernels/ref/qconv_kernels.h"

enum { EO_QS8_GEMM_VNNI = 1, EO_QS8_DW_AVX512 = 2 };

typedef struct eo_qs8_conv_plan {
  int kind;
  eo_conv_params p;
  bool x_signed;
  bool out_i32;        /* store the int32 sums instead of requantizing */
  bool lanes;          /* VNNI: output channels in the vector lanes (small maps) */
  int64_t K, K4, ocb;  /* patch length, its quads, 8-channel blocks per group (lanes: 48-channel blocks) */
  int32_t *wpk;        /* VNNI: packed weights (lanes: int8 [ocb][K4][<= 3][16][4]) */
  int32_t *wsum;       /* VNNI: per output channel sum of the weights */
  float *wdw;          /* depthwise: [c][taps] w - w_zp */
  int nworkers;
  /* VNNI, 2-D: the patch matrix is read from the input copied once into zero-point-padded stride-phase
   * planes (hq x wq bytes each; NULL: the general row-by-row build) */
  int64_t hq, wq, plane_bytes;
  int64_t *tap_off;    /* per k (K4 * 4, past K: 0): offset of the tap in the planes */
  bool x_is_planes;    /* the planes would be a copy of x (pointwise, uint8): read x instead */
  int64_t *tile_base;  /* per tile of 32 positions: its first position's offset in a plane */
  uint8_t *tile_idx;   /* per tile: 64 bytes, position pair p -> (idx, 64 + idx) of the two-row permute */
} eo_qs8_conv_plan;

/* True when the VNNI GEMM can run this conv: int8 weights with all zero points 0. */
bool eo_qs8_vnni_ok(const eo_conv_params *p, bool w_signed, const int32_t *w_zp);
/* True when the depthwise kernel can run it. */
bool eo_qs8_dw_ok(const eo_conv_params *p);
/* Packs w (int8/uint8 [c_out][c_in/groups][k...]) into pl (kind chosen by the caller). Returns false
 * on out of memory. nworkers: eo_threadpool_size of the pool forward will get. */
bool eo_qs8_conv_plan_init(eo_qs8_conv_plan *pl, int kind, const eo_conv_params *p, bool x_signed, bool w_signed,
                           const void *w, const int32_t *w_zp, int nworkers);
/* The same, for a plan whose run stores int32 accumulators (y: int32 [batch][c_out][out...]). */
bool eo_qs8_conv_plan_init_i32(eo_qs8_conv_plan *pl, int kind, const eo_conv_params *p, bool x_signed, bool w_signed,
                               const void *w, const int32_t *w_zp, int nworkers);
void eo_qs8_conv_plan_free(eo_qs8_conv_plan *pl);
/* Bytes of weights (and weight sums) the plan holds. */
size_t eo_qs8_conv_plan_packed_bytes(const eo_qs8_conv_plan *pl);
size_t eo_qs8_conv_plan_scratch(const eo_qs8_conv_plan *pl);
/* Bytes the run uses of each worker's own buffer when the pool has them (eo_threadpool_reserve_local). */
size_t eo_qs8_conv_plan_local(const eo_qs8_conv_plan *pl);
/* q as for eo_qs8_conv__ref (q->x_signed must match the plan). scratch: plan_scratch bytes, 64-aligned. */
void eo_qs8_conv_plan_run(const eo_qs8_conv_plan *pl, const eo_qconv_quant *q, const void *x, void *y, void *scratch,
                          eo_threadpool *pool);

/* MatMulInteger's GEMM with VPDPBUSD: y[r][n] (int32) = sum_k (a[r][k] - a_zp) * b[k][n] for a 8-bit
 * [rows][K] (a run-time tensor; int8 a is shifted by 128 like its zero point) and b int8 [K][N] with
 * zero point 0, packed once: [N/64 groups][K4][4 blocks of 16 columns][16][4] int8, zeros past K and N,
 * plus the column sums for the zero-point correction (- a_zp * sum_k b[k][n]). Tiles of 4 rows x 64
 * columns (a row tile of 1 when rows == 1) on the session's pool; exact, any thread count. */
typedef struct eo_qs8_gemm_plan {
  int64_t K, N, K4, ng;  /* ng: groups of 64 columns */
  int8_t *bpk;
  int32_t *bsum;         /* ng * 64 values (0 past N) */
} eo_qs8_gemm_plan;

/* b: int8 [K][N]. Returns false on out of memory (the plan is then empty). */
bool eo_qs8_gemm_plan_init(eo_qs8_gemm_plan *pl, int64_t K, int64_t N, const int8_t *b);
void eo_qs8_gemm_plan_free(eo_qs8_gemm_plan *pl);
/* Scratch bytes for `rows` rows of a (64-aligned scratch expected). */
size_t eo_qs8_gemm_plan_scratch(const eo_qs8_gemm_plan *pl, int64_t rows);
void eo_qs8_gemm_plan_run(const eo_qs8_gemm_plan *pl, int64_t rows, const void *a, bool a_signed, int32_t a_zp,
                          int32_t *y, void *scratch, eo_threadpool *pool);

#endif
