/* DynamicQuantizeLinear (opset 11): float32 x -> uint8 y, scalar y_scale and y_zero_point computed
 * from x's range at run time, as ONNX Runtime does it:
 *   lo = min(0, min x), hi = max(0, max x)
 *   scale = (hi - lo) / 255   (1 when hi == lo, i.e. x all zero: ORT's choice, avoids 0/0)
 *   zero_point = round_half_even(clamp(0 - lo / scale, 0, 255))
 *   y = saturate(round_half_even(x / scale) + zero_point)
 * All in float32 (nearbyintf in the default rounding mode is half to even). */
#include <math.h>

#include "runtime/op.h"

static eo_status dql_infer(eo_op_ctx *c) {
  if (c->n_in != 1 || !c->in[0] || c->n_out != 3)
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 input and 3 outputs (y, y_scale, y_zero_point), got %d and %d",
                       c->n_in, c->n_out);
  const eo_tview *x = c->in[0];
  if (x->dtype != EO_FLOAT)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input must be float32, got %s", eo_dtype_name(x->dtype));
  if (c->out[0]) eo_tview_set_shape(c->out[0], EO_UINT8, x->rank, x->dims);
  if (c->out[1]) eo_tview_set_shape(c->out[1], EO_FLOAT, 0, NULL);
  if (c->out[2]) eo_tview_set_shape(c->out[2], EO_UINT8, 0, NULL);
  return EO_OK;
}

static void dql_forward(eo_op_ctx *c) {
  const float *x = c->in[0]->data;
  int64_t n = eo_tview_numel(c->in[0]);
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < n; i++) {
    lo = fminf(lo, x[i]);
    hi = fmaxf(hi, x[i]);
  }
  float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  float zf = 0.0f - lo / scale;
  zf = zf < 0 ? 0 : zf > 255 ? 255 : zf;
  float zp = nearbyintf(zf);
  if (c->out[1]) *(float *)c->out[1]->data = scale;
  if (c->out[2]) *(uint8_t *)c->out[2]->data = (uint8_t)zp;
  if (!c->out[0]) return;
  uint8_t *y = c->out[0]->data;
  for (int64_t i = 0; i < n; i++) {
    float v = nearbyintf(x[i] / scale) + zp;
    y[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

EO_DEFINE_OP(dynamic_quantize_linear, .name = "DynamicQuantizeLinear", .infer = dql_infer, .forward = dql_forward);
