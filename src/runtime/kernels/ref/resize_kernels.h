/* Reference kernels of the reduction, selection and resampling family: ReduceX, ArgMax/ArgMin,
 * TopK, NonMaxSuppression, Resize/Upsample. Scalar, readable C: these are the specification that
 * any fast path is checked against. None of them allocates; callers pass scratch.
 *
 *   // sum of a [2,3] float tensor over axis 1 -> [2]
 *   bool red[2] = {false, true};
 *   eo_reduce__ref(EO_REDUCE_SUM, EO_FLOAT, 2, (int64_t[]){2, 3}, red, x, y, acc);  // acc: 2 x 8 bytes
 */
#ifndef EO_RESIZE_KERNELS_H
#define EO_RESIZE_KERNELS_H

#include "core/core.h"

/* Numeric dtypes these kernels handle: X(suffix, dtype, storage type, value type, load, store).
 * float16/bfloat16 are stored as uint16 and computed in float. */
#define EO_RK_LD(x) (x)
#define EO_RK_ST(v) (v)
#define EO_RK_LD_F16(x) eo_f16_to_f32(x)
#define EO_RK_ST_F16(v) eo_f32_to_f16((float)(v))
#define EO_RK_LD_BF16(x) eo_bf16_to_f32(x)
#define EO_RK_ST_BF16(v) eo_f32_to_bf16((float)(v))
#define EO_RK_TYPES(X)                                                   \
  X(f32, EO_FLOAT, float, float, EO_RK_LD, EO_RK_ST)                     \
  X(f64, EO_DOUBLE, double, double, EO_RK_LD, EO_RK_ST)                  \
  X(f16, EO_FLOAT16, uint16_t, float, EO_RK_LD_F16, EO_RK_ST_F16)        \
  X(bf16, EO_BFLOAT16, uint16_t, float, EO_RK_LD_BF16, EO_RK_ST_BF16)    \
  X(s8, EO_INT8, int8_t, int8_t, EO_RK_LD, EO_RK_ST)                     \
  X(s16, EO_INT16, int16_t, int16_t, EO_RK_LD, EO_RK_ST)                 \
  X(s32, EO_INT32, int32_t, int32_t, EO_RK_LD, EO_RK_ST)                 \
  X(s64, EO_INT64, int64_t, int64_t, EO_RK_LD, EO_RK_ST)                 \
  X(u8, EO_UINT8, uint8_t, uint8_t, EO_RK_LD, EO_RK_ST)                  \
  X(u16, EO_UINT16, uint16_t, uint16_t, EO_RK_LD, EO_RK_ST)              \
  X(u32, EO_UINT32, uint32_t, uint32_t, EO_RK_LD, EO_RK_ST)              \
  X(u64, EO_UINT64, uint64_t, uint64_t, EO_RK_LD, EO_RK_ST)

/* True when dtype is in EO_RK_TYPES. */
bool eo_rk_dtype_ok(int dtype);

/* ---- ReduceSum/Mean/Max/Min/Prod ---------------------------------------------------------- */
typedef enum eo_reduce_kind {
  EO_REDUCE_SUM, EO_REDUCE_MEAN, EO_REDUCE_MAX, EO_REDUCE_MIN, EO_REDUCE_PROD
} eo_reduce_kind;

/* Reduces x (shape dims[0..rank)) over the axes with reduced[i] true; y holds the kept axes in
 * order (keepdims does not change the layout). acc: scratch of numel(y) * 8 bytes. Floats
 * accumulate in double, integers in 64 bits (sums and products wrap). An empty reduction gives
 * the identity: 0, 1, the lowest value for Max, the highest for Min, NaN (floats) for Mean. */
void eo_reduce__ref(eo_reduce_kind kind, int dtype, int rank, const int64_t *dims,
                    const bool *reduced, const void *x, void *y, void *acc);

/* ---- ArgMax/ArgMin ------------------------------------------------------------------------ */
/* x viewed as [outer, n, inner] (n >= 1); y[outer, inner] = index along n of the max (is_max) or
 * min. Ties: first index, or last when select_last. */
void eo_arg_reduce__ref(int dtype, bool is_max, bool select_last, int64_t outer, int64_t n,
                        int64_t inner, const void *x, int64_t *y);

/* ---- TopK ------------------------------------------------------------------------------------ */
/* x viewed as [outer, n, inner]; values/indices [outer, k, inner], sorted (largest first when
 * `largest`, else smallest first), equal values ordered by lower index. scratch: 2 * n int64. */
void eo_topk__ref(int dtype, bool largest, int64_t outer, int64_t n, int64_t inner, int64_t k,
                  const void *x, void *values, int64_t *indices, int64_t *scratch);

/* ---- NonMaxSuppression ---------------------------------------------------------------------- */
typedef struct eo_nms_params {
  int64_t batches, classes, boxes;  /* boxes [batches, boxes, 4], scores [batches, classes, boxes] */
  int64_t max_per_class;            /* <= 0 selects nothing */
  float iou_threshold;              /* suppress when IoU > iou_threshold */
  float score_threshold;            /* keep scores > score_threshold, when has_score_threshold */
  bool has_score_threshold;
  bool center_point_box;            /* [xc, yc, w, h] instead of [y1, x1, y2, x2] */
} eo_nms_params;

/* Scratch bytes eo_f32_nms__ref needs. */
size_t eo_nms_scratch_bytes(int64_t boxes);
/* Writes up to `cap` rows [batch, class, box] into sel (may be NULL when cap == 0), in batch,
 * class, then descending-score order (ties: lower box index first). Returns the number of rows
 * selected in total (which may exceed cap: callers count with cap 0). */
int64_t eo_f32_nms__ref(const eo_nms_params *p, const float *boxes, const float *scores,
                        int64_t *sel, int64_t cap, void *scratch);

/* ---- Resize / Upsample ----------------------------------------------------------------------- */
/* One axis of a separable resampling: output coordinate o reads taps input indices
 * idx[o*taps + t] (already clamped to [0, in)) with weights w[o*taps + t]; outside[o] (optional)
 * marks tf_crop_and_resize coordinates that take the extrapolation value. */
typedef struct eo_resize_axis {
  int64_t in, out;
  int taps;          /* 1 nearest, 2 linear, 4 cubic */
  bool identity;     /* out == in and o reads exactly o: the pass is skipped */
  int64_t *idx;
  float *w;
  uint8_t *outside;  /* NULL when no coordinate is outside */
} eo_resize_axis;

/* Scratch bytes eo_f32_resize__ref needs (two ping-pong buffers of the largest partial result). */
size_t eo_resize_scratch_bytes(int rank, const eo_resize_axis *axes);
/* Separable linear/cubic resampling, last axis first (the order of the ONNX reference). */
void eo_f32_resize__ref(int rank, const eo_resize_axis *axes, float extrapolation, const float *x,
                        float *y, void *scratch);
/* Nearest resampling of any element size: y[o] = x[idx per axis], or *fill (elem_size bytes) where
 * some axis is outside. Uses idx[o*taps] of each axis (taps is 1 for nearest). */
void eo_xN_resize_nearest__ref(int rank, const eo_resize_axis *axes, size_t elem_size,
                               const void *fill, const void *x, void *y);

/* How output coordinates map to input coordinates and taps (ONNX Resize attributes). */
typedef enum eo_resize_mode { EO_RESIZE_NEAREST, EO_RESIZE_LINEAR, EO_RESIZE_CUBIC } eo_resize_mode;
typedef enum eo_resize_ct {
  EO_CT_HALF_PIXEL, EO_CT_HALF_PIXEL_SYMMETRIC, EO_CT_PYTORCH_HALF_PIXEL, EO_CT_ALIGN_CORNERS,
  EO_CT_ASYMMETRIC, EO_CT_TF_HALF_PIXEL_FOR_NN, EO_CT_TF_CROP_AND_RESIZE
} eo_resize_ct;
typedef enum eo_resize_nearest {
  EO_NEAREST_ROUND_PREFER_FLOOR, EO_NEAREST_ROUND_PREFER_CEIL, EO_NEAREST_FLOOR, EO_NEAREST_CEIL,
  EO_NEAREST_SIMPLE  /* Resize-10 and Upsample (as ONNX Runtime): floor, or ceil when downsampling */
} eo_resize_nearest;

typedef struct eo_resize_cfg {
  eo_resize_mode mode;
  eo_resize_ct ct;
  eo_resize_nearest nearest;
  float cubic_a, extrapolation;
  bool exclude_outside;
  int rank;
  int64_t in[EO_MAX_RANK], out[EO_MAX_RANK];
  double scale[EO_MAX_RANK];  /* the scale coordinates use (given, or sizes / input) */
  double len[EO_MAX_RANK];    /* length_resized as the ONNX reference uses it: in * scale */
  double roi_start[EO_MAX_RANK], roi_end[EO_MAX_RANK];  /* tf_crop_and_resize, normalized */
} eo_resize_cfg;

int eo_resize_taps(eo_resize_mode mode);
/* Fills axis d of cfg: ax->idx and ax->w (out * taps entries) and ax->outside (out entries, may be
 * NULL unless ct is tf_crop_and_resize) must be allocated; sets in/out/taps/identity. */
void eo_resize_axis_fill(const eo_resize_cfg *cfg, int d, eo_resize_axis *ax);

/* A prepared Resize/Upsample (src/runtime/ops/resize.c), shared by both ops. */
typedef struct eo_resize_plan eo_resize_plan;
/* Checks dtype against the mode (nearest: any fixed-size type; linear/cubic: float32). */
eo_status eo_resize_plan_new(const eo_resize_cfg *cfg, int dtype, eo_resize_plan **out);
void eo_resize_plan_free(void *plan);
size_t eo_resize_plan_scratch(const eo_resize_plan *p);
void eo_resize_plan_run(const eo_resize_plan *p, const void *x, void *y, void *scratch);

#endif
