/* Range: [start, start + delta, ...) up to limit, n = max(ceil((limit - start) / delta), 0).
 * The three scalars must be constant at infer, since n depends on their values. Values are produced
 * by repeated addition in the input type, as the spec's function body (and ONNX Runtime) does. */
#include <math.h>
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

/* X(dtype, C type) for the types Range accepts. */
#define RANGE_TYPES(X) X(EO_FLOAT, float) X(EO_DOUBLE, double) X(EO_INT16, int16_t) X(EO_INT32, int32_t) X(EO_INT64, int64_t)

static eo_status range_count(const eo_op_ctx *c, int64_t *n) {
  const eo_tview *t[3];
  static const char *const names[3] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; i++) {
    t[i] = i < c->n_in ? c->in[i] : NULL;
    if (!t[i]) return eo_op_error(c, EO_ERR_INVALID, "input %d '%s' is missing", i, names[i]);
    if (t[i]->dtype != t[0]->dtype)
      return eo_op_error(c, EO_ERR_SHAPE, "input '%s' is %s but 'start' is %s", names[i], eo_dtype_name(t[i]->dtype),
                         eo_dtype_name(t[0]->dtype));
    if (eo_tview_numel(t[i]) != 1)
      return eo_op_error(c, EO_ERR_SHAPE, "input '%s' must be a scalar, found %lld elements", names[i],
                         (long long)eo_tview_numel(t[i]));
    if (!t[i]->data)
      return eo_op_error(c, EO_ERR_UNSUPPORTED,
                         "input %d '%s' must be a constant (initializer or folded value): the output length depends on it",
                         i, names[i]);
  }
  int dt = t[0]->dtype;
  if (dt == EO_FLOAT || dt == EO_DOUBLE) {
    double s = eo_tview_get_f64(t[0], 0), l = eo_tview_get_f64(t[1], 0), d = eo_tview_get_f64(t[2], 0);
    double diff = dt == EO_FLOAT ? (double)((float)l - (float)s) : l - s;  // ORT: difference in T
    double q = ceil(diff / d);
    if (d == 0 || !isfinite(q) || q > 4.0e18)
      return eo_op_error(c, EO_ERR_INVALID, "cannot make a range from %g to %g with delta %g", s, l, d);
    *n = q > 0 ? (int64_t)q : 0;
    return EO_OK;
  }
  if (dt != EO_INT16 && dt != EO_INT32 && dt != EO_INT64)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "type %s is not supported (float, double, int16, int32, int64)",
                       eo_dtype_name(dt));
  int64_t s = eo_tview_get_i64(t[0], 0), l = eo_tview_get_i64(t[1], 0), d = eo_tview_get_i64(t[2], 0);
  if (d == 0) return eo_op_error(c, EO_ERR_INVALID, "delta is 0");
  uint64_t diff, step;  // exact in uint64 even for extreme int64 values
  if (d > 0 && l > s) {
    diff = (uint64_t)l - (uint64_t)s;
    step = (uint64_t)d;
  } else if (d < 0 && l < s) {
    diff = (uint64_t)s - (uint64_t)l;
    step = (uint64_t)0 - (uint64_t)d;
  } else {
    *n = 0;
    return EO_OK;
  }
  *n = (int64_t)(diff / step + (diff % step != 0));
  return EO_OK;
}

static eo_status range_infer(eo_op_ctx *c) {
  int64_t n;
  eo_status st = range_count(c, &n);
  if (st) return st;
  eo_tview_set_shape(c->out[0], c->in[0]->dtype, 1, &n);
  return EO_OK;
}

static void range_forward(eo_op_ctx *c) {
  int64_t n = c->out[0]->dims[0];
  switch (c->in[0]->dtype) {
#define RANGE_CASE(DT, T)                                    \
  case DT: {                                                 \
    T v = *(const T *)c->in[0]->data, d = *(const T *)c->in[2]->data; \
    T *y = c->out[0]->data;                                  \
    for (int64_t i = 0; i < n; i++) {                       \
      y[i] = v;                                              \
      if (i + 1 < n) v = (T)(v + d); /* stays within [start, limit]: no overflow */ \
    }                                                        \
    break;                                                   \
  }
    RANGE_TYPES(RANGE_CASE)
#undef RANGE_CASE
    default: break;
  }
}

EO_DEFINE_OP(range, .name = "Range", .infer = range_infer, .forward = range_forward);
