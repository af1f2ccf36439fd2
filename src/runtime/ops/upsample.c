/* Upsample (deprecated at opset 10 in favour of Resize): scales is an attribute up to opset 8 and a
 * constant input from opset 9; every scale must be >= 1; mode nearest (default) or linear
 * ("bilinear" in old exporters). Runs the Resize plan with asymmetric coordinates and, for
 * nearest, floor rounding: integer scales repeat each element, as the ONNX reference does. */
#include <math.h>
#include <string.h>

#include "runtime/kernels/ref/resize_kernels.h"
#include "runtime/op.h"

static eo_status upsample_parse(const eo_op_ctx *c, eo_resize_cfg *cfg) {
  const eo_tview *x = c->n_in >= 1 ? c->in[0] : NULL;
  if (!x) return eo_op_error(c, EO_ERR_INVALID, "expected input 'X'");
  memset(cfg, 0, sizeof *cfg);
  cfg->rank = x->rank;
  if (x->rank < 1) return eo_op_error(c, EO_ERR_SHAPE, "input 'X' must have rank >= 1 (found a scalar)");
  const char *mode = eo_attr_s(c->node, "mode", "nearest");
  if (strcmp(mode, "nearest") == 0) cfg->mode = EO_RESIZE_NEAREST;
  else if (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0) cfg->mode = EO_RESIZE_LINEAR;
  else return eo_op_error(c, EO_ERR_INVALID, "unknown mode '%s' (expected nearest or linear)", mode);
  cfg->ct = EO_CT_ASYMMETRIC;
  cfg->nearest = EO_NEAREST_SIMPLE;

  float s[EO_MAX_RANK];
  int n;
  if (c->opset < 9) {
    const float *v;
    n = eo_attr_floats(c->node, "scales", &v);
    if (n < 0) return eo_op_error(c, EO_ERR_INVALID, "attribute 'scales' is required before opset 9");
    if (n != x->rank) return eo_op_error(c, EO_ERR_SHAPE, "'scales' has %d values for rank %d", n, x->rank);
    for (int i = 0; i < n; i++) s[i] = v[i];
  } else {
    const eo_tview *t = c->n_in >= 2 ? c->in[1] : NULL;
    if (!t) return eo_op_error(c, EO_ERR_INVALID, "input 'scales' is required from opset 9");
    if (t->rank != 1 || eo_tview_numel(t) != x->rank || !eo_dtype_is_float(t->dtype))
      return eo_op_error(c, EO_ERR_SHAPE, "'scales' must be 1-D float with %d values (found %lld of %s)", x->rank,
                         (long long)eo_tview_numel(t), eo_dtype_name(t->dtype));
    if (!t->data) return eo_op_error(c, EO_ERR_UNSUPPORTED, "input 'scales' must be constant (it decides the output shape)");
    n = x->rank;
    for (int i = 0; i < n; i++) s[i] = (float)eo_tview_get_f64(t, i);
  }
  for (int d = 0; d < n; d++) {
    if (!(s[d] >= 1) || isinf(s[d]))
      return eo_op_error(c, EO_ERR_INVALID, "scales[%d] = %g must be finite and >= 1", d, (double)s[d]);
    const float o = floorf((float)x->dims[d] * s[d]);
    if (!(o < 9.0e15f)) return eo_op_error(c, EO_ERR_INVALID, "scales[%d] = %g gives a too large output", d, (double)s[d]);
    cfg->in[d] = x->dims[d];
    cfg->out[d] = (int64_t)o;
    cfg->scale[d] = s[d];
    cfg->len[d] = (double)x->dims[d] * s[d];
    cfg->roi_end[d] = 1;
  }
  if (eo_numel(cfg->rank, cfg->out) < 0) return eo_op_error(c, EO_ERR_INVALID, "output shape overflows");
  if (cfg->mode == EO_RESIZE_NEAREST ? eo_dtype_size(x->dtype) == 0 || eo_dtype_size(x->dtype) > 16 : x->dtype != EO_FLOAT)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "mode '%s' on %s is not supported", mode, eo_dtype_name(x->dtype));
  return EO_OK;
}

static eo_status upsample_infer(eo_op_ctx *c) {
  eo_resize_cfg cfg;
  eo_status st = upsample_parse(c, &cfg);
  if (st) return st;
  if (!c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output 'Y' is required");
  eo_tview_set_shape(c->out[0], c->in[0]->dtype, cfg.rank, cfg.out);
  return EO_OK;
}

static eo_status upsample_prepare(eo_op_ctx *c) {
  eo_resize_cfg cfg;
  eo_resize_plan *p;
  eo_status st = upsample_parse(c, &cfg);
  if (st) return st;
  if ((st = eo_resize_plan_new(&cfg, c->in[0]->dtype, &p))) return eo_error_wrap(st, "node '%s' (Upsample)", c->node->name);
  c->state = p;
  c->scratch_bytes = eo_resize_plan_scratch(p);
  return EO_OK;
}

static void upsample_forward(eo_op_ctx *c) { eo_resize_plan_run(c->state, c->in[0]->data, c->out[0]->data, c->scratch); }

static double upsample_flops(const eo_op_ctx *c) { return eo_tview_numel(c->out[0]); }

EO_DEFINE_OP(upsample, .name = "Upsample", .infer = upsample_infer, .prepare = upsample_prepare,
             .forward = upsample_forward, .release = eo_resize_plan_free, .flops = upsample_flops);
