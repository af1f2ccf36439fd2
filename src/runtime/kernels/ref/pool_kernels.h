/* Reference kernels for pooling, normalization and softmax (the specification the ops run).
 *
 * Layout is NCX (N, C, spatial...) everywhere. Pooling kernels see the input as nc = N*C planes of
 * spatial dims `in[]` and produce planes of `out[]`; the geometry (strides, dilations, begin pads)
 * comes from eo_pool_geometry (defined in ops/max_pool.c, shared by MaxPool and AveragePool):
 *
 *   eo_pool_params p;
 *   if ((st = eo_pool_geometry(c, true, &p, out_dims))) return st;   // in infer()
 *   eo_f32_maxpool__ref(&p, x, y, indices_or_NULL);                   // in forward()
 *
 * float16/bfloat16 tensors run through the f32 kernels: the op converts into f32 scratch and back
 * (eo_pk_to_f32 / eo_pk_from_f32 below). Kernels never allocate.
 */
#ifndef EO_KERNELS_REF_POOL_KERNELS_H
#define EO_KERNELS_REF_POOL_KERNELS_H

#include "runtime/op.h"

#define EO_POOL_MAX_ND (EO_MAX_RANK - 2)

typedef struct eo_pool_params {
  int nd;                             /* spatial rank, 1..EO_POOL_MAX_ND */
  int64_t nc;                         /* N*C planes */
  int64_t in[EO_POOL_MAX_ND], out[EO_POOL_MAX_ND];
  int64_t kernel[EO_POOL_MAX_ND], stride[EO_POOL_MAX_ND], dilation[EO_POOL_MAX_ND];
  int64_t pad_begin[EO_POOL_MAX_ND], pad_end[EO_POOL_MAX_ND];
  bool count_include_pad;             /* AveragePool: divide by taps inside the padded input */
  bool indices_col_major;             /* MaxPool storage_order=1: Indices in column-major order */
} eo_pool_params;

/* Parses kernel_shape, strides, pads, dilations, auto_pad, ceil_mode (and count_include_pad /
 * storage_order) of c->node against c->in[0], fills *p and the output dims (rank of in[0]).
 * Errors name the node and the offending attribute. */
eo_status eo_pool_geometry(const eo_op_ctx *c, bool is_max, eo_pool_params *p, int64_t *out_dims);

/* MaxPool. `indices` may be NULL; otherwise it receives the flat index (over N, C and the spatial
 * dims, row-major or column-major within a plane) of the first maximum. A window that holds no
 * input element (all padding) yields the type's lowest value and index -1. */
void eo_f32_maxpool__ref(const eo_pool_params *p, const float *x, float *y, int64_t *indices);
void eo_f64_maxpool__ref(const eo_pool_params *p, const double *x, double *y, int64_t *indices);
void eo_u8_maxpool__ref(const eo_pool_params *p, const uint8_t *x, uint8_t *y, int64_t *indices);
void eo_s8_maxpool__ref(const eo_pool_params *p, const int8_t *x, int8_t *y, int64_t *indices);

/* AveragePool: mean over the window's input elements, or over its taps inside the padded input
 * when count_include_pad (taps past the end padding, from ceil_mode, never count). */
void eo_f32_avgpool__ref(const eo_pool_params *p, const float *x, float *y);
void eo_f64_avgpool__ref(const eo_pool_params *p, const double *x, double *y);

/* GlobalAveragePool / GlobalMaxPool over `spatial` contiguous elements per plane. */
void eo_f32_global_avgpool__ref(int64_t nc, int64_t spatial, const float *x, float *y);
void eo_f64_global_avgpool__ref(int64_t nc, int64_t spatial, const double *x, double *y);
void eo_f32_global_maxpool__ref(int64_t nc, int64_t spatial, const float *x, float *y);
void eo_f64_global_maxpool__ref(int64_t nc, int64_t spatial, const double *x, double *y);

/* Softmax (or LogSoftmax when log_softmax) of x viewed as [outer, n, inner] along the n axis;
 * max-subtracted so large inputs do not overflow. */
void eo_f32_softmax__ref(int64_t outer, int64_t n, int64_t inner, const float *x, float *y, bool log_softmax);
void eo_f64_softmax__ref(int64_t outer, int64_t n, int64_t inner, const double *x, double *y, bool log_softmax);

/* BatchNormalization over x viewed as [batch, c, inner]:
 *   y = (x - mean) / sqrt(var + eps) * scale + bias.
 * Parameters have c values (per channel) or c*inner values when per_element (opset < 9
 * spatial=0). */
void eo_f32_batchnorm__ref(int64_t batch, int64_t c, int64_t inner, const float *x, const float *scale,
                           const float *bias, const float *mean, const float *var, float eps,
                           bool per_element, float *y);
void eo_f64_batchnorm__ref(int64_t batch, int64_t c, int64_t inner, const double *x, const double *scale,
                           const double *bias, const double *mean, const double *var, double eps,
                           bool per_element, double *y);
/* Batch statistics for training mode: per-channel mean and biased variance over batch and inner. */
void eo_f32_batchnorm_stats__ref(int64_t batch, int64_t c, int64_t inner, const float *x, float *mean, float *var);
void eo_f64_batchnorm_stats__ref(int64_t batch, int64_t c, int64_t inner, const double *x, double *mean, double *var);

/* InstanceNormalization over x viewed as [batch, c, inner]: each (n, c) plane normalized by its own
 * mean and biased variance, then scale[c] and bias[c]. */
void eo_f32_instancenorm__ref(int64_t batch, int64_t c, int64_t inner, const float *x, const float *scale,
                              const float *bias, float eps, float *y);
void eo_f64_instancenorm__ref(int64_t batch, int64_t c, int64_t inner, const double *x, const double *scale,
                              const double *bias, double eps, double *y);

/* float16 / bfloat16 bridge for the ops: 16-bit tensors are computed in f32. */
static inline bool eo_pk_is_half(int dtype) { return dtype == EO_FLOAT16 || dtype == EO_BFLOAT16; }

static inline void eo_pk_to_f32(int dtype, const void *src, float *dst, int64_t n) {
  const uint16_t *s = (const uint16_t *)src;
  for (int64_t i = 0; i < n; i++) dst[i] = dtype == EO_FLOAT16 ? eo_f16_to_f32(s[i]) : eo_bf16_to_f32(s[i]);
}

static inline void eo_pk_from_f32(int dtype, const float *src, void *dst, int64_t n) {
  uint16_t *d = (uint16_t *)dst;
  for (int64_t i = 0; i < n; i++) d[i] = dtype == EO_FLOAT16 ? eo_f32_to_f16(src[i]) : eo_f32_to_bf16(src[i]);
}

/* Scratch layout helper: rounds byte offsets up to 64 so f32/f64 arrays placed back to back stay
 * aligned. */
static inline size_t eo_pk_align(size_t n) { return (n + 63) & ~(size_t)63; }

#endif
