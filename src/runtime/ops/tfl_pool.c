/* TflAveragePool and TflMean: TFLite's int8 / uint8 AVERAGE_POOL_2D and MEAN, NHWC.
 * TflAveragePool: x [N,H,W,C] -> y [N,OH,OW,C]; attributes kernel, strides (2 ints), pads (top,
 *   left, bottom, right), act_min / act_max, mode. Input and output share their parameters (TFLite
 *   requires it). Taps in the padding are not counted.
 *   mode BUILTIN: the int32 sum divided by the tap count rounding half away from zero.
 *   mode XNNPACK: (sum - count * x_zp) times the float32 1/count, lrintf, + x_zp (attribute x_zp).
 * TflMean: mean over axes 1 and 2 of x [N,H,W,C] -> y [N,1,1,C] (keepdims) or [N,C]; attributes
 *   x_scale, x_zp, y_scale, y_zp, keepdims, mode.
 *   mode BUILTIN: TFLite's kernel, sum(x - x_zp) times the Q31 multiplier of x_scale/y_scale, then
 *     divided by H*W rounding half away from zero, + y_zp.
 *   mode XNNPACK: sum(x - x_zp) times the float32 x_scale / (y_scale * H*W), lrintf, + y_zp. */
#include <stdlib.h>

#include "runtime/op.h"
#include "runtime/ops/tfl_quant.h"

typedef struct tpool {
  bool mean;
  int dtype, mode;
  int64_t kh, kw, sh, sw, pt, pl;
  int32_t xzp, yzp, lo, hi, q;
  int shift;
  float scale;
} tpool;

static eo_status tavg_infer(eo_op_ctx *c) {
  if (c->n_in != 1 || !c->in[0] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 input and 1 output");
  const eo_tview *x = c->in[0];
  if (!eo_tfl_is_q8(x->dtype) || x->rank != 4 || x->dims[1] < 1 || x->dims[2] < 1)
    return eo_op_error(c, EO_ERR_SHAPE, "input must be non-empty rank-4 (NHWC) int8 or uint8, got %s rank %d",
                       eo_dtype_name(x->dtype), x->rank);
  const int64_t *k, *s, *pd;
  if (eo_attr_ints(c->node, "kernel", &k) != 2 || eo_attr_ints(c->node, "strides", &s) != 2 ||
      eo_attr_ints(c->node, "pads", &pd) != 4)
    return eo_op_error(c, EO_ERR_INVALID, "needs kernel[2], strides[2] and pads[4]");
  int64_t d[4] = {x->dims[0], 0, 0, x->dims[3]};
  for (int i = 0; i < 2; i++) {
    if (k[i] < 1 || s[i] < 1 || pd[i] < 0 || pd[i + 2] < 0 || pd[i] >= k[i] || pd[i + 2] >= k[i] ||
        x->dims[1 + i] + pd[i] + pd[i + 2] < k[i])
      return eo_op_error(c, EO_ERR_INVALID, "bad kernel, stride or padding for axis %d", i + 1);
    d[1 + i] = (x->dims[1 + i] + pd[i] + pd[i + 2] - k[i]) / s[i] + 1;
  }
  eo_tview_set_shape(c->out[0], x->dtype, 4, d);
  return EO_OK;
}

static eo_status tmean_infer(eo_op_ctx *c) {
  if (c->n_in != 1 || !c->in[0] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 input and 1 output");
  const eo_tview *x = c->in[0];
  if (!eo_tfl_is_q8(x->dtype) || x->rank != 4 || x->dims[1] * x->dims[2] < 1)
    return eo_op_error(c, EO_ERR_SHAPE, "input must be non-empty rank-4 (NHWC) int8 or uint8, got %s rank %d",
                       eo_dtype_name(x->dtype), x->rank);
  int64_t d[4] = {x->dims[0], 1, 1, x->dims[3]}, d2[2] = {x->dims[0], x->dims[3]};
  if (eo_attr_i(c->node, "keepdims", 1)) eo_tview_set_shape(c->out[0], x->dtype, 4, d);
  else eo_tview_set_shape(c->out[0], x->dtype, 2, d2);
  return EO_OK;
}

static eo_status tpool_fill(eo_op_ctx *c, bool mean) {
  tpool *p = eo_calloc(1, sizeof *p);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory");
  c->state = p;
  const eo_tview *x = c->in[0];
  p->mean = mean;
  p->dtype = x->dtype;
  p->mode = (int)eo_attr_i(c->node, "mode", EO_TFL_MODE_XNNPACK);
  eo_status st;
  if ((st = eo_tfl_zp(c, "x_zp", p->dtype, &p->xzp))) return st;
  if (!mean) {
    const int64_t *k, *s, *pd;
    eo_attr_ints(c->node, "kernel", &k), eo_attr_ints(c->node, "strides", &s), eo_attr_ints(c->node, "pads", &pd);
    p->kh = k[0], p->kw = k[1], p->sh = s[0], p->sw = s[1], p->pt = pd[0], p->pl = pd[1];
    return eo_tfl_act_range(c, p->dtype, &p->lo, &p->hi);
  }
  float xs, ys;
  if ((st = eo_tfl_scale(c, "x_scale", &xs)) || (st = eo_tfl_scale(c, "y_scale", &ys)) ||
      (st = eo_tfl_zp(c, "y_zp", p->dtype, &p->yzp)))
    return st;
  eo_tfl_qrange(p->dtype, &p->lo, &p->hi);
  float n = (float)(x->dims[1] * x->dims[2]);
  p->scale = xs / (ys * n);
  eo_tfl_quantize_multiplier((double)xs / (double)ys, &p->q, &p->shift);
  return EO_OK;
}
/* A failed prepare frees its state (the session releases only prepared steps). */
static void tpool_release(void *s);
static eo_status tpool_prepare(eo_op_ctx *c, bool mean) {
  eo_status st = tpool_fill(c, mean);
  if (st) {
    tpool_release(c->state);
    c->state = NULL;
  }
  return st;
}
static eo_status tavg_prepare(eo_op_ctx *c) { return tpool_prepare(c, false); }
static eo_status tmean_prepare(eo_op_ctx *c) { return tpool_prepare(c, true); }

/* a / n rounded half away from zero (n > 0), as TFLite's integer pooling and mean do it. */
static inline int32_t div_away(int64_t a, int64_t n) { return (int32_t)(a > 0 ? (a + n / 2) / n : (a - n / 2) / n); }
/* Sums are taken in 64 bits (a malformed file's huge windows must not overflow) and saturated. */
static inline int32_t sat32(int64_t v) { return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v; }

static void tpool_forward(eo_op_ctx *c) {
  const tpool *p = c->state;
  const eo_tview *x = c->in[0];
  eo_tview *y = c->out[0];
  int dt = p->dtype;
  int64_t n = x->dims[0], ih = x->dims[1], iw = x->dims[2], ch = x->dims[3];
  if (p->mean) {
    int32_t cnt = (int32_t)(ih * iw);
    for (int64_t b = 0; b < n; b++)
      for (int64_t k = 0; k < ch; k++) {
        int64_t acc = 0;
        for (int64_t i = 0; i < ih * iw; i++) acc += eo_tfl_load(dt, x->data, (b * ih * iw + i) * ch + k) - p->xzp;
        int32_t v = p->mode == EO_TFL_MODE_BUILTIN
                        ? eo_tfl_clamp(div_away(eo_tfl_mbqm(sat32(acc), p->q, p->shift), cnt) + p->yzp, p->lo, p->hi)
                        : eo_tfl_requant_fp32(sat32(acc), p->scale, p->yzp, p->lo, p->hi);
        eo_tfl_store(dt, y->data, b * ch + k, v);
      }
    return;
  }
  int64_t oh = y->dims[1], ow = y->dims[2], yi = 0;
  for (int64_t b = 0; b < n; b++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t k = 0; k < ch; k++) {
          int64_t acc = 0, cnt = 0;
          for (int64_t ky = 0; ky < p->kh; ky++) {
            int64_t iy = oy * p->sh - p->pt + ky;
            if (iy < 0 || iy >= ih) continue;
            for (int64_t kx = 0; kx < p->kw; kx++) {
              int64_t ix = ox * p->sw - p->pl + kx;
              if (ix < 0 || ix >= iw) continue;
              acc += eo_tfl_load(dt, x->data, ((b * ih + iy) * iw + ix) * ch + k);
              cnt++;
            }
          }
          int32_t v = p->mode == EO_TFL_MODE_BUILTIN
                          ? eo_tfl_clamp(div_away(acc, cnt), p->lo, p->hi)
                          : eo_tfl_requant_fp32(sat32(acc - cnt * p->xzp), 1.0f / (float)cnt, p->xzp, p->lo, p->hi);
          eo_tfl_store(dt, y->data, yi++, v);
        }
}

static void tpool_release(void *s) { free(s); }

EO_DEFINE_OP(tfl_average_pool, .name = "TflAveragePool", .infer = tavg_infer, .prepare = tavg_prepare,
             .forward = tpool_forward, .release = tpool_release);
EO_DEFINE_OP(tfl_mean, .name = "TflMean", .infer = tmean_infer, .prepare = tmean_prepare, .forward = tpool_forward,
             .release = tpool_release);
