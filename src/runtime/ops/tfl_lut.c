/* TflLut: TFLite's int8 / uint8 LOGISTIC and TANH (attribute fn = "sigmoid" or "tanh") as a
 * 256-entry table built at prepare, the way the TFLite interpreter evaluates them: each input
 * integer q is dequantized in float32, x = x_scale * (q - x_zp), mapped through the function, and
 * quantized to the output parameters.
 *   mode XNNPACK: float32 function, f(x) / y_scale rounded to nearest even (lrintf).
 *   mode BUILTIN: float32 function, f(x) * (1 / y_scale) rounded half away from zero.
 * Attributes: fn, x_scale, x_zp, y_scale, y_zp, mode. y has x's dtype. */
#include <stdlib.h>
#include <string.h>

#include "runtime/op.h"
#include "runtime/ops/tfl_quant.h"

typedef struct tlut {
  int dtype;
  int32_t table[256];
} tlut;

static eo_status tlut_infer(eo_op_ctx *c) {
  if (c->n_in != 1 || !c->in[0] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 input and 1 output");
  const eo_tview *x = c->in[0];
  if (!eo_tfl_is_q8(x->dtype))
    return eo_op_error(c, EO_ERR_SHAPE, "input must be int8 or uint8, got %s", eo_dtype_name(x->dtype));
  const char *fn = eo_attr_s(c->node, "fn", "");
  if (strcmp(fn, "sigmoid") != 0 && strcmp(fn, "tanh") != 0)
    return eo_op_error(c, EO_ERR_INVALID, "fn '%s', expected 'sigmoid' or 'tanh'", fn);
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

static eo_status tlut_fill(eo_op_ctx *c) {
  tlut *p = eo_calloc(1, sizeof *p);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory");
  c->state = p;
  p->dtype = c->in[0]->dtype;
  float xs, ys;
  int32_t xzp = 0, yzp = 0, lo, hi;
  eo_status st;
  if ((st = eo_tfl_scale(c, "x_scale", &xs)) || (st = eo_tfl_scale(c, "y_scale", &ys)) ||
      (st = eo_tfl_zp(c, "x_zp", p->dtype, &xzp)) || (st = eo_tfl_zp(c, "y_zp", p->dtype, &yzp)))
    return st;
  bool sig = strcmp(eo_attr_s(c->node, "fn", ""), "sigmoid") == 0;
  int mode = (int)eo_attr_i(c->node, "mode", EO_TFL_MODE_XNNPACK);
  eo_tfl_qrange(p->dtype, &lo, &hi);
  float inv = 1.0f / ys;
  for (int32_t q = lo; q <= hi; q++) {
    float x = xs * (float)(q - xzp);
    float f = sig ? 1.0f / (1.0f + expf(-x)) : tanhf(x);
    float r = mode == EO_TFL_MODE_XNNPACK ? rintf(f / ys) : roundf(f * inv);
    p->table[q - lo] = eo_tfl_clamp((int32_t)r + yzp, lo, hi);
  }
  return EO_OK;
}
/* A failed prepare frees its state (the session releases only prepared steps). */
static void tlut_release(void *s);
static eo_status tlut_prepare(eo_op_ctx *c) {
  eo_status st = tlut_fill(c);
  if (st) {
    tlut_release(c->state);
    c->state = NULL;
  }
  return st;
}

static void tlut_forward(eo_op_ctx *c) {
  const tlut *p = c->state;
  int64_t n = eo_tview_numel(c->in[0]);
  int32_t lo = p->dtype == EO_UINT8 ? 0 : -128;
  for (int64_t i = 0; i < n; i++)
    eo_tfl_store(p->dtype, c->out[0]->data, i, p->table[eo_tfl_load(p->dtype, c->in[0]->data, i) - lo]);
}

static void tlut_release(void *s) { free(s); }

EO_DEFINE_OP(tfl_lut, .name = "TflLut", .infer = tlut_infer, .prepare = tlut_prepare, .forward = tlut_forward,
             .release = tlut_release);
