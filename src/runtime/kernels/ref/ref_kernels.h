/* Reference float32 kernels for convolution and matrix products (owned by the conv/gemm ops).
 *
 * Plain C written so that the compiler vectorizes it (fixed-size inner tiles, restrict pointers);
 * no intrinsics. Faster ISA-specific kernels live under kernels/x86/ and fall back to these.
 *
 *   float *ws = scratch;  // eo_f32_gemm_workspace__ref(m, n, k) bytes, e.g. from c->scratch
 *   memset(c, 0, m * n * sizeof(float));
 *   eo_f32_gemm__ref(m, n, k, 1.0f, a, k, 1, b, n, 1, c, n, ws);   // C += A * B, row-major
 *
 * Nothing here allocates: callers size the workspace at prepare time.
 */
#ifndef EO_KERNELS_REF_REF_KERNELS_H
#define EO_KERNELS_REF_REF_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- GEMM ---------------------------------------------------------------------------------- */

/* Bytes of workspace eo_f32_gemm__ref needs for an m x n x k product (packed panels of A and B). */
size_t eo_f32_gemm_workspace__ref(int64_t m, int64_t n, int64_t k);

/* C[i*ldc + j] += alpha * sum_p A(i, p) * B(p, j), for i < m, j < n, p < k, where
 * A(i, p) = a[i*a_rs + p*a_cs] and B(p, j) = b[p*b_rs + j*b_cs] (any strides: transposed operands
 * are free because both are packed into `ws` first). C is row-major with leading dimension ldc
 * and is accumulated into, never only written: callers initialize it (zero, bias, beta*C).
 * `ws` must hold eo_f32_gemm_workspace__ref(m, n, k) bytes, float-aligned. */
void eo_f32_gemm__ref(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t a_rs,
                      int64_t a_cs, const float *b, int64_t b_rs, int64_t b_cs, float *c, int64_t ldc,
                      float *ws);

/* ---- Convolution --------------------------------------------------------------------------- */

/* Up to 3 spatial dims; 1-D and 2-D are described as 3-D with leading extents of 1. */
#define EO_CONV_MAX_SPATIAL 3

/* Geometry of a Conv or ConvTranspose, fully resolved (auto_pad, output_shape already applied).
 * For Conv: x [batch, c_in, in...], w [c_out, c_in/groups, k...], y [batch, c_out, out...].
 * For ConvTranspose: x [batch, c_in, in...], w [c_in, c_out/groups, k...], y [batch, c_out, out...]
 * (pads may be negative for ConvTranspose when output_shape asks for more than the natural size). */
typedef struct eo_conv_params {
  int64_t batch, c_in, c_out, groups;
  int64_t in[EO_CONV_MAX_SPATIAL], out[EO_CONV_MAX_SPATIAL], k[EO_CONV_MAX_SPATIAL];
  int64_t stride[EO_CONV_MAX_SPATIAL], dil[EO_CONV_MAX_SPATIAL], pad[EO_CONV_MAX_SPATIAL]; /* pad = begin */
  int act_op;                 /* eo_op_id of a fused activation applied after bias, or -1 */
  float act_alpha, act_beta;
} eo_conv_params;

/* True when some tap (t * dil, t < k) of a dimension with stride s falls in phase ph: the
 * stride-phase planes of the fast paths that no tap reads need not be filled (a 1x1 stride-2 conv
 * reads 1 of its 4). */
static inline bool eo_conv_phase_used(int64_t k, int64_t dil, int64_t s, int64_t ph) {
  for (int64_t t = 0; t < k; t++)
    if (t * dil % s == ph) return true;
  return false;
}

/* Bytes of scratch eo_f32_conv__ref needs (im2col buffer + GEMM workspace; 0 for depthwise). */
size_t eo_f32_conv_scratch__ref(const eo_conv_params *p);
/* y = conv(x, w) + bias (bias may be NULL), then the fused activation. */
void eo_f32_conv__ref(const eo_conv_params *p, const float *x, const float *w, const float *bias,
                      float *y, void *scratch);

/* Bytes of scratch eo_f32_convt__ref needs (column buffer + GEMM workspace). */
size_t eo_f32_convt_scratch__ref(const eo_conv_params *p);
/* y = conv_transpose(x, w) + bias (bias may be NULL), then the fused activation. */
void eo_f32_convt__ref(const eo_conv_params *p, const float *x, const float *w, const float *bias,
                       float *y, void *scratch);

#endif
