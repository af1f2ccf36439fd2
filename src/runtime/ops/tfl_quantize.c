/* TflQuantize: TFLite's QUANTIZE, from float32 or from int8/uint8 (requantization), to int8 or
 * uint8 (attribute "to": EO_INT8 or EO_UINT8).
 *   float32 -> q, mode XNNPACK: lrintf(x * (1/y_scale)) + y_zp (the reciprocal in float32, ties to
 *     even); mode BUILTIN: TFLite's kernel, round(x / y_scale) half away from zero, + y_zp.
 *   q -> q: equal scales move the integers (x - x_zp + y_zp); otherwise, mode XNNPACK: XNNPACK's
 *     convert, an 8-bit fixed-point multiplier m = lrintf(256 * (x_scale / y_scale)) applied as
 *     ((x - x_zp) * m + 128) >> 8 (rounding half up); mode BUILTIN: TFLite's Requantize, the Q31
 *     multiplier of x_scale / y_scale (double) applied to x - x_zp.
 * Results saturate to the output dtype. Attributes: x_scale, x_zp (integer input), y_scale, y_zp,
 * to, mode. */
#include <stdlib.h>

#include "runtime/op.h"
#include "runtime/ops/tfl_quant.h"

typedef struct tquant {
  int from, to, mode;
  float ys, inv, ratio;
  int32_t xzp, yzp, q, m;
  int shift;
  bool same;
} tquant;

static eo_status tq_infer(eo_op_ctx *c) {
  if (c->n_in != 1 || !c->in[0] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 input and 1 output");
  const eo_tview *x = c->in[0];
  int to = (int)eo_attr_i(c->node, "to", EO_INT8);
  if (x->dtype != EO_FLOAT && !eo_tfl_is_q8(x->dtype))
    return eo_op_error(c, EO_ERR_SHAPE, "input must be float32, int8 or uint8, got %s", eo_dtype_name(x->dtype));
  if (!eo_tfl_is_q8(to)) return eo_op_error(c, EO_ERR_INVALID, "'to' must be int8 or uint8");
  eo_tview_set_shape(c->out[0], to, x->rank, x->dims);
  return EO_OK;
}

static eo_status tq_fill(eo_op_ctx *c) {
  tquant *p = eo_calloc(1, sizeof *p);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory");
  c->state = p;
  p->from = c->in[0]->dtype, p->to = c->out[0]->dtype;
  p->mode = (int)eo_attr_i(c->node, "mode", EO_TFL_MODE_XNNPACK);
  eo_status st;
  if ((st = eo_tfl_scale(c, "y_scale", &p->ys)) || (st = eo_tfl_zp(c, "y_zp", p->to, &p->yzp))) return st;
  p->inv = 1.0f / p->ys;
  if (p->from == EO_FLOAT) return EO_OK;
  float xs;
  if ((st = eo_tfl_scale(c, "x_scale", &xs)) || (st = eo_tfl_zp(c, "x_zp", p->from, &p->xzp))) return st;
  p->same = xs == p->ys;
  eo_tfl_quantize_multiplier((double)xs / (double)p->ys, &p->q, &p->shift);
  float r = xs / p->ys;
  if (p->mode == EO_TFL_MODE_XNNPACK && !p->same && !(r >= 0x1p-8f && r <= 0x1p7f))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "scale ratio %g outside XNNPACK's [2^-8, 2^7]", (double)r);
  p->m = (int32_t)lrintf(256.0f * r);
  return EO_OK;
}
/* A failed prepare frees its state (the session releases only prepared steps). */
static void tq_release(void *s);
static eo_status tq_prepare(eo_op_ctx *c) {
  eo_status st = tq_fill(c);
  if (st) {
    tq_release(c->state);
    c->state = NULL;
  }
  return st;
}

static void tq_forward(eo_op_ctx *c) {
  const tquant *p = c->state;
  const eo_tview *x = c->in[0];
  int64_t n = eo_tview_numel(x);
  int32_t lo, hi;
  eo_tfl_qrange(p->to, &lo, &hi);
  void *y = c->out[0]->data;
  if (p->from == EO_FLOAT) {
    const float *xf = x->data;
    for (int64_t i = 0; i < n; i++) {
      float v = p->mode == EO_TFL_MODE_XNNPACK ? xf[i] * p->inv : xf[i] / p->ys;
      // clamp in float first (NaN goes to the zero point, as lrintf of NaN would not be defined)
      float r = v != v ? 0.f : v < -1e9f ? -1e9f : v > 1e9f ? 1e9f : v;
      int64_t q = (p->mode == EO_TFL_MODE_XNNPACK ? (int64_t)lrintf(r) : (int64_t)roundf(r)) + p->yzp;
      eo_tfl_store(p->to, y, i, (int32_t)(q < lo ? lo : q > hi ? hi : q));
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    int32_t v = eo_tfl_load(p->from, x->data, i) - p->xzp;
    int32_t q = p->same                         ? v
                : p->mode == EO_TFL_MODE_XNNPACK ? eo_tfl_asr(v * p->m + 128, 8)
                                                 : eo_tfl_mbqm(v, p->q, p->shift);
    q += p->yzp;
    eo_tfl_store(p->to, y, i, eo_tfl_clamp(q, lo, hi));
  }
}

static void tq_release(void *s) { free(s); }

EO_DEFINE_OP(tfl_quantize, .name = "TflQuantize", .infer = tq_infer, .prepare = tq_prepare, .forward = tq_forward,
             .release = tq_release);
