/* Shared checks for the per-tensor quantization parameters of the QLinear* ops (com.microsoft
 * QLinearAdd/Mul/Sigmoid/Concat/GlobalAveragePool, as ONNX Runtime defines them): a scale is a
 * float32 scalar or 1-element tensor; a zero point, optional (0 when absent), a 1-element tensor of
 * the data's 8-bit dtype. Values are read at forward time, so parameters may be run-time inputs. */
#ifndef EO_RUNTIME_OPS_QLINEAR_UTIL_H
#define EO_RUNTIME_OPS_QLINEAR_UTIL_H

#include "runtime/op.h"

static inline const eo_tview *eo_ql_in(const eo_op_ctx *c, int i) { return i < c->n_in ? c->in[i] : NULL; }

static inline bool eo_ql_is_q8(int dt) { return dt == EO_INT8 || dt == EO_UINT8; }

/* Scale at input si and (optional) zero point at zi for data of dtype dt. */
static inline eo_status eo_ql_check(const eo_op_ctx *c, int si, int zi, int dt, const char *what) {
  const eo_tview *s = eo_ql_in(c, si), *z = eo_ql_in(c, zi);
  if (!s) return eo_op_error(c, EO_ERR_INVALID, "%s_scale is required", what);
  if (s->dtype != EO_FLOAT || s->rank > 1 || eo_tview_numel(s) != 1)
    return eo_op_error(c, EO_ERR_SHAPE, "%s_scale must be a float32 scalar, got %s with %lld elements", what,
                       eo_dtype_name(s->dtype), (long long)eo_tview_numel(s));
  if (z && (z->dtype != dt || z->rank > 1 || eo_tview_numel(z) != 1))
    return eo_op_error(c, EO_ERR_SHAPE, "%s_zero_point must be a %s scalar, got %s with %lld elements", what,
                       eo_dtype_name(dt), eo_dtype_name(z->dtype), (long long)eo_tview_numel(z));
  return EO_OK;
}

static inline float eo_ql_scale(const eo_op_ctx *c, int si) { return *(const float *)c->in[si]->data; }

static inline int32_t eo_ql_zp(const eo_op_ctx *c, int zi) {
  const eo_tview *z = eo_ql_in(c, zi);
  if (!z) return 0;
  return z->dtype == EO_INT8 ? (int32_t)*(const int8_t *)z->data : (int32_t)*(const uint8_t *)z->data;
}

#endif
