/* TflSoftmax: TFLite's int8 / uint8 SOFTMAX over the last axis, as its builtin (optimized) kernel
 * computes it: a float32 table e[d] = expf(-x_scale * beta * d) of the distance d = max - x to the
 * row's largest integer, the row sum accumulated in float32 in order, then each probability
 * e * (1 / (sum * y_scale)) rounded half away from zero, + y_zp, saturated.
 * Attributes: x_scale, beta, y_scale, y_zp. y has x's dtype. */
#include <stdlib.h>

#include "runtime/op.h"
#include "runtime/ops/tfl_quant.h"

typedef struct tsoft {
  int dtype;
  float ys;
  int32_t yzp;
  float table[256];  /* table[d] = exp(-x_scale * beta * d) */
} tsoft;

static eo_status tsoft_infer(eo_op_ctx *c) {
  if (c->n_in != 1 || !c->in[0] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 input and 1 output");
  const eo_tview *x = c->in[0];
  if (!eo_tfl_is_q8(x->dtype) || x->rank < 1)
    return eo_op_error(c, EO_ERR_SHAPE, "input must be int8 or uint8 of rank >= 1, got %s rank %d",
                       eo_dtype_name(x->dtype), x->rank);
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

static eo_status tsoft_fill(eo_op_ctx *c) {
  tsoft *p = eo_calloc(1, sizeof *p);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory");
  c->state = p;
  p->dtype = c->in[0]->dtype;
  float xs, beta = eo_attr_f(c->node, "beta", 1.f);
  eo_status st;
  if ((st = eo_tfl_scale(c, "x_scale", &xs)) || (st = eo_tfl_scale(c, "y_scale", &p->ys)) ||
      (st = eo_tfl_zp(c, "y_zp", p->dtype, &p->yzp)))
    return st;
  if (!isfinite(beta)) return eo_op_error(c, EO_ERR_INVALID, "beta = %g", (double)beta);
  float k = -xs * beta;
  for (int d = 0; d < 256; d++) p->table[d] = expf(k * (float)d);
  return EO_OK;
}
/* A failed prepare frees its state (the session releases only prepared steps). */
static void tsoft_release(void *s);
static eo_status tsoft_prepare(eo_op_ctx *c) {
  eo_status st = tsoft_fill(c);
  if (st) {
    tsoft_release(c->state);
    c->state = NULL;
  }
  return st;
}

static void tsoft_forward(eo_op_ctx *c) {
  const tsoft *p = c->state;
  const eo_tview *x = c->in[0];
  int dt = p->dtype;
  int64_t depth = x->dims[x->rank - 1], rows = depth ? eo_tview_numel(x) / depth : 0;
  int32_t lo, hi;
  eo_tfl_qrange(dt, &lo, &hi);
  for (int64_t r = 0; r < rows; r++) {
    int64_t o = r * depth;
    int32_t mx = lo;
    for (int64_t j = 0; j < depth; j++) {
      int32_t v = eo_tfl_load(dt, x->data, o + j);
      mx = v > mx ? v : mx;
    }
    float sum = 0.f;
    for (int64_t j = 0; j < depth; j++) sum += p->table[mx - eo_tfl_load(dt, x->data, o + j)];
    float inv = 1.0f / (sum * p->ys);
    for (int64_t j = 0; j < depth; j++) {
      float prob = p->table[mx - eo_tfl_load(dt, x->data, o + j)] * inv;
      eo_tfl_store(dt, c->out[0]->data, o + j, eo_tfl_clamp((int32_t)roundf(prob) + p->yzp, lo, hi));
    }
  }
}

static void tsoft_release(void *s) { free(s); }

EO_DEFINE_OP(tfl_softmax, .name = "TflSoftmax", .infer = tsoft_infer, .prepare = tsoft_prepare,
             .forward = tsoft_forward, .release = tsoft_release);
