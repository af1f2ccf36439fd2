/* TflConv: TFLite's int8 / uint8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED in TFLite's own
 * layouts (what the TFLite reader emits for full-INT8 files; no Transposes).
 *   kind 0 conv:      x [N,H,W,C], w [O,KH,KW,C/groups], y [N,OH,OW,O]
 *   kind 1 depthwise: x [N,H,W,C], w [1,KH,KW,O] (O = C * multiplier), y [N,OH,OW,O]
 *   kind 2 fc:        x [N,K],     w [O,K],               y [N,O]
 *   bias (optional) int32 [O], in units of x_scale * w_scale[o].
 * Attributes: strides, dilations (2 ints), pads (top, left, bottom, right), x_scale, x_zp, w_scales
 * (1 or O floats), w_zp, y_scale, y_zp, act_min / act_max (the fused activation, quantized), mode
 * (EO_TFL_MODE_XNNPACK: float scale x_scale*w_scale/y_scale in float32, lrintf; BUILTIN: TFLite's
 * per-channel QuantizeMultiplier of the double product). Taps in the padding contribute 0, as x_zp
 * would. y has x's dtype. */
#include <stdlib.h>

#include "runtime/op.h"
#include "runtime/ops/tfl_quant.h"

typedef struct tconv {
  int kind;
  int64_t sh, sw, dh, dw, pt, pl;
  int32_t xzp, wzp, yzp, lo, hi;
  int mode;
  float *scale;  /* per output channel (fp32 mode) */
  int32_t *q;    /* per output channel multiplier and shift (builtin mode) */
  int *shift;
} tconv;

eo_status eo_tfl_conv_shape(eo_op_ctx *c, int kind, bool grouped, int y_dtype, int64_t *o) {
  const eo_tview *x = c->in[0], *w = c->in[1];
  char s1[128], s2[128];
  if (kind == 2) {
    if (x->rank != 2 || w->rank != 2 || x->dims[1] != w->dims[1])
      return eo_op_error(c, EO_ERR_SHAPE, "fully connected x %s and w %s must be [N,K] and [O,K]",
                         eo_shape_str(x->rank, x->dims, s1, sizeof s1), eo_shape_str(w->rank, w->dims, s2, sizeof s2));
    *o = w->dims[0];
    int64_t d[2] = {x->dims[0], *o};
    eo_tview_set_shape(c->out[0], y_dtype, 2, d);
    return EO_OK;
  }
  if (kind != 0 && kind != 1)
    return eo_op_error(c, EO_ERR_INVALID, "kind %d, expected 0 (conv), 1 (depthwise) or 2 (fully connected)", kind);
  const int64_t *st, *dl, *pd;
  if (eo_attr_ints(c->node, "strides", &st) != 2 || eo_attr_ints(c->node, "dilations", &dl) != 2 ||
      eo_attr_ints(c->node, "pads", &pd) != 4)
    return eo_op_error(c, EO_ERR_INVALID, "needs strides[2], dilations[2] and pads[4]");
  if (x->rank != 4 || w->rank != 4)
    return eo_op_error(c, EO_ERR_SHAPE, "x %s and w %s must be rank 4 (NHWC)",
                       eo_shape_str(x->rank, x->dims, s1, sizeof s1), eo_shape_str(w->rank, w->dims, s2, sizeof s2));
  for (int i = 0; i < 2; i++)
    if (st[i] < 1 || dl[i] < 1 || pd[i] < 0 || pd[i + 2] < 0 || st[i] > 1 << 16 || dl[i] > 1 << 16 ||
        pd[i] > 1 << 16 || pd[i + 2] > 1 << 16)
      return eo_op_error(c, EO_ERR_INVALID, "bad stride, dilation or padding");
  int64_t cin = x->dims[3];
  if (kind == 0) {
    *o = w->dims[0];
    bool fits = grouped ? cin >= 1 && w->dims[3] >= 1 && cin % w->dims[3] == 0 && *o % (cin / w->dims[3]) == 0
                        : cin >= 1 && w->dims[3] == cin;
    if (!fits)
      return eo_op_error(c, EO_ERR_SHAPE, "w %s does not fit x %s%s", eo_shape_str(w->rank, w->dims, s1, sizeof s1),
                         eo_shape_str(x->rank, x->dims, s2, sizeof s2),
                         grouped ? "" : " (grouped hybrid convolution is not supported)");
  } else {
    *o = w->dims[3];
    if (w->dims[0] != 1 || cin < 1 || *o % cin)
      return eo_op_error(c, EO_ERR_SHAPE, "depthwise w %s does not fit x %s",
                         eo_shape_str(w->rank, w->dims, s1, sizeof s1), eo_shape_str(x->rank, x->dims, s2, sizeof s2));
  }
  int64_t d[4] = {x->dims[0], 0, 0, *o};
  for (int i = 0; i < 2; i++) {
    int64_t span = (w->dims[1 + i] - 1) * dl[i] + 1, in = x->dims[1 + i] + pd[i] + pd[i + 2];
    if (w->dims[1 + i] < 1 || in < span) return eo_op_error(c, EO_ERR_SHAPE, "kernel larger than the padded input");
    d[1 + i] = (in - span) / st[i] + 1;
  }
  eo_tview_set_shape(c->out[0], y_dtype, 4, d);
  return EO_OK;
}

static eo_status tconv_infer(eo_op_ctx *c) {
  if (c->n_in < 2 || c->n_in > 3 || !c->in[0] || !c->in[1] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects x, w, optional bias and one output");
  const eo_tview *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL;
  if (!eo_tfl_is_q8(x->dtype) || !eo_tfl_is_q8(w->dtype))
    return eo_op_error(c, EO_ERR_SHAPE, "x and w must be int8 or uint8, got %s and %s", eo_dtype_name(x->dtype),
                       eo_dtype_name(w->dtype));
  int64_t o;
  eo_status st = eo_tfl_conv_shape(c, (int)eo_attr_i(c->node, "kind", 0), true, x->dtype, &o);
  if (st) return st;
  if (b && (b->dtype != EO_INT32 || eo_tview_numel(b) != o))
    return eo_op_error(c, EO_ERR_SHAPE, "bias must be int32 with %lld values", (long long)o);
  return EO_OK;
}

static void tconv_release(void *s) {
  tconv *p = s;
  if (!p) return;
  free(p->scale);
  free(p->q);
  free(p->shift);
  free(p);
}

static eo_status tconv_fill(eo_op_ctx *c) {
  const eo_tview *x = c->in[0], *w = c->in[1];
  tconv *p = eo_calloc(1, sizeof *p);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory");
  c->state = p;
  p->kind = (int)eo_attr_i(c->node, "kind", 0);
  p->mode = (int)eo_attr_i(c->node, "mode", EO_TFL_MODE_XNNPACK);
  if (p->kind != 2) {
    const int64_t *st, *dl, *pd;
    eo_attr_ints(c->node, "strides", &st), eo_attr_ints(c->node, "dilations", &dl), eo_attr_ints(c->node, "pads", &pd);
    p->sh = st[0], p->sw = st[1], p->dh = dl[0], p->dw = dl[1], p->pt = pd[0], p->pl = pd[1];
  }
  float xs, ys;
  eo_status st;
  if ((st = eo_tfl_scale(c, "x_scale", &xs)) || (st = eo_tfl_scale(c, "y_scale", &ys)) ||
      (st = eo_tfl_zp(c, "x_zp", x->dtype, &p->xzp)) || (st = eo_tfl_zp(c, "w_zp", w->dtype, &p->wzp)) ||
      (st = eo_tfl_zp(c, "y_zp", x->dtype, &p->yzp)) || (st = eo_tfl_act_range(c, x->dtype, &p->lo, &p->hi)))
    return st;
  int64_t o = c->out[0]->dims[c->out[0]->rank - 1];
  const float *ws;
  int nws = eo_attr_floats(c->node, "w_scales", &ws);
  if (nws != 1 && nws != o)
    return eo_op_error(c, EO_ERR_INVALID, "w_scales has %d values, expected 1 or %lld", nws, (long long)o);
  p->scale = eo_calloc((size_t)o, sizeof *p->scale);
  p->q = eo_calloc((size_t)o, sizeof *p->q);
  p->shift = eo_calloc((size_t)o, sizeof *p->shift);
  if (!p->scale || !p->q || !p->shift) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int64_t k = 0; k < o; k++) {
    float s = ws[nws == 1 ? 0 : k];
    if (!(s > 0) || !isfinite(s)) return eo_op_error(c, EO_ERR_INVALID, "w_scales[%lld] = %g", (long long)k, (double)s);
    float xw = xs * s;  // float32 products, as XNNPACK's delegate computes them
    p->scale[k] = xw / ys;
    eo_tfl_quantize_multiplier((double)xs * (double)s / (double)ys, &p->q[k], &p->shift[k]);
  }
  return EO_OK;
}
/* A failed prepare frees its state (the session releases only prepared steps). */
static eo_status tconv_prepare(eo_op_ctx *c) {
  eo_status st = tconv_fill(c);
  if (st) {
    tconv_release(c->state);
    c->state = NULL;
  }
  return st;
}

static inline int32_t requant(const tconv *p, int32_t acc, int64_t oc) {
  if (p->mode == EO_TFL_MODE_BUILTIN)
    return eo_tfl_clamp(eo_tfl_mbqm(acc, p->q[oc], p->shift[oc]) + p->yzp, p->lo, p->hi);
  return eo_tfl_requant_fp32(acc, p->scale[oc], p->yzp, p->lo, p->hi);
}

static void tconv_forward(eo_op_ctx *c) {
  const tconv *p = c->state;
  const eo_tview *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL;
  eo_tview *y = c->out[0];
  const int32_t *bias = b ? b->data : NULL;
  int xd = x->dtype, wd = w->dtype;
  if (p->kind == 2) {
    int64_t n = x->dims[0], k = x->dims[1], o = w->dims[0];
    for (int64_t i = 0; i < n; i++)
      for (int64_t oc = 0; oc < o; oc++) {
        int64_t acc = bias ? bias[oc] : 0;
        for (int64_t j = 0; j < k; j++)
          acc += (eo_tfl_load(xd, x->data, i * k + j) - p->xzp) * (eo_tfl_load(wd, w->data, oc * k + j) - p->wzp);
        eo_tfl_store(xd, y->data, i * o + oc, requant(p, (int32_t)acc, oc));
      }
    return;
  }
  int64_t n = x->dims[0], ih = x->dims[1], iw = x->dims[2], cin = x->dims[3];
  int64_t oh = y->dims[1], ow = y->dims[2], o = y->dims[3], kh = w->dims[1], kw = w->dims[2];
  bool dw = p->kind == 1;
  int64_t wc = dw ? o : w->dims[3];                 /* channels per weight row */
  int64_t opg = dw ? 0 : o / (cin / wc);            /* output channels per group (conv) */
  int64_t mult = dw ? o / cin : 0;
  int64_t yi = 0;
  for (int64_t bn = 0; bn < n; bn++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t oc = 0; oc < o; oc++) {
          int64_t acc = bias ? bias[oc] : 0;
          for (int64_t ky = 0; ky < kh; ky++) {
            int64_t iy = oy * p->sh - p->pt + ky * p->dh;
            if (iy < 0 || iy >= ih) continue;
            for (int64_t kx = 0; kx < kw; kx++) {
              int64_t ix = ox * p->sw - p->pl + kx * p->dw;
              if (ix < 0 || ix >= iw) continue;
              int64_t xo = ((bn * ih + iy) * iw + ix) * cin;
              if (dw) {
                acc += (eo_tfl_load(xd, x->data, xo + oc / mult) - p->xzp) *
                       (eo_tfl_load(wd, w->data, (ky * kw + kx) * o + oc) - p->wzp);
              } else {
                int64_t c0 = oc / opg * wc, wo = ((oc * kh + ky) * kw + kx) * wc;
                for (int64_t ci = 0; ci < wc; ci++)
                  acc += (eo_tfl_load(xd, x->data, xo + c0 + ci) - p->xzp) *
                         (eo_tfl_load(wd, w->data, wo + ci) - p->wzp);
              }
            }
          }
          eo_tfl_store(xd, y->data, yi++, requant(p, (int32_t)acc, oc));  // int32 wraps, as the kernels do
        }
}

static double tconv_flops(const eo_op_ctx *c) {
  const eo_tview *w = c->in[1], *y = c->out[0];
  int64_t per = eo_tview_numel(w) / (c->node && eo_attr_i(c->node, "kind", 0) == 1 ? w->dims[3] : w->dims[0]);
  return 2.0 * (double)eo_tview_numel(y) * (double)per;
}

EO_DEFINE_OP(tfl_conv, .name = "TflConv", .infer = tconv_infer, .prepare = tconv_prepare, .forward = tconv_forward,
             .release = tconv_release, .flops = tconv_flops);
