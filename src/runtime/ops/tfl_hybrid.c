/* TflHybridConv: TFLite's hybrid ("dynamic range") CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED:
 * float input and output, int8 weights, the input quantized to int8 at run time. The TFLite reader
 * (onnx/tflite_import.c) emits it for such operators, so that edgeopt computes what the interpreter
 * computes instead of a float convolution with dequantized weights. Layouts are TFLite's own:
 *   kind 0 conv:      x [N,H,W,C], w [O,KH,KW,C], y [N,OH,OW,O]
 *   kind 1 depthwise: x [N,H,W,C], w [1,KH,KW,O] (O = C * multiplier), y [N,OH,OW,O]
 *   kind 2 fc:        x [N,K],     w [O,K],       y [N,O]
 *   bias (optional) float [O].
 * Attributes: strides, dilations (2 ints), pads (top, left, bottom, right) for kinds 0/1; w_scales
 * (1 or O floats; weights are symmetric, zero point 0); asymmetric (0/1); act_min / act_max (the
 * fused activation as a float clamp, default none).
 *
 * What the interpreter's builtin kernels do (XNNPACK refuses these "mixed type" operators, so the
 * builtin hybrid kernels run; tensor_utils' portable routines in the WASM build):
 *  - Each batch row is quantized on its own (conv/depthwise: a whole [H,W,C] image; fc: a row of
 *    [N,K]). asymmetric=1 (AsymmetricQuantizeFloats): range [min(0,lo), max(0,hi)] over 255 steps,
 *    a nudged zero point, q = round(zp + x * (1/scale)) in float, half away from zero, in
 *    [-128, 127]. asymmetric=0 (SymmetricQuantizeFloats): scale max|x| / 127, q = round(x * 127 /
 *    max|x|) in [-127, 127]. An all-zero row gives q = 0.
 *  - int32 sums of w * (q - zp) over the taps inside the image (padding holds the zero point, so it
 *    contributes nothing); fc sums w * q and subtracts row_sum(w) * zp in float, as the kernel does.
 *  - Output: conv and fc (float)acc * (x_scale * w_scale[o]) + bias; depthwise ((float)acc *
 *    x_scale) * w_scale[o] + bias (the order of its store loop); then the activation clamp.
 * The importer decides `asymmetric` as the interpreter does: conv with per-channel scales that
 * differ (EvalHybridPerChannel) and depthwise are asymmetric; conv with one scale is symmetric; fc
 * follows its asymmetric_quantize_inputs option. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/op.h"
#include "runtime/ops/tfl_quant.h"

typedef struct hconv {
  int kind, asym;
  int64_t sh, sw, dh, dw, pt, pl;
  float lo, hi;
  float *ws; /* per output channel */
} hconv;

static eo_status hconv_infer(eo_op_ctx *c) {
  if (c->n_in < 2 || c->n_in > 3 || !c->in[0] || !c->in[1] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects x, w, optional bias and one output");
  const eo_tview *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL;
  if (x->dtype != EO_FLOAT || w->dtype != EO_INT8)
    return eo_op_error(c, EO_ERR_SHAPE, "x must be float32 and w int8, got %s and %s", eo_dtype_name(x->dtype),
                       eo_dtype_name(w->dtype));
  int64_t o;  // the interpreter has no grouped hybrid convolution
  eo_status st = eo_tfl_conv_shape(c, (int)eo_attr_i(c->node, "kind", 0), false, EO_FLOAT, &o);
  if (st) return st;
  if (b && (b->dtype != EO_FLOAT || eo_tview_numel(b) != o))
    return eo_op_error(c, EO_ERR_SHAPE, "bias must be float32 with %lld values", (long long)o);
  return EO_OK;
}

static void hconv_release(void *s) {
  hconv *p = s;
  if (!p) return;
  free(p->ws);
  free(p);
}

/* Scratch: per batch row a float scale and an int32 zero point, then the int8 input. */
static size_t rows_of(const eo_tview *x) { return (size_t)x->dims[0]; }

static eo_status hconv_fill(eo_op_ctx *c) {
  hconv *p = eo_calloc(1, sizeof *p);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory");
  c->state = p;
  p->kind = (int)eo_attr_i(c->node, "kind", 0);
  p->asym = eo_attr_i(c->node, "asymmetric", 0) != 0;
  if (p->kind != 2) {
    const int64_t *st, *dl, *pd;
    eo_attr_ints(c->node, "strides", &st), eo_attr_ints(c->node, "dilations", &dl), eo_attr_ints(c->node, "pads", &pd);
    p->sh = st[0], p->sw = st[1], p->dh = dl[0], p->dw = dl[1], p->pt = pd[0], p->pl = pd[1];
  }
  p->lo = eo_attr_f(c->node, "act_min", -INFINITY);
  p->hi = eo_attr_f(c->node, "act_max", INFINITY);
  if (isnan(p->lo) || isnan(p->hi) || p->lo > p->hi)
    return eo_op_error(c, EO_ERR_INVALID, "act_min %g > act_max %g", (double)p->lo, (double)p->hi);
  int64_t o = c->out[0]->dims[c->out[0]->rank - 1];
  const float *ws;
  int nws = eo_attr_floats(c->node, "w_scales", &ws);
  if (nws != 1 && nws != o)
    return eo_op_error(c, EO_ERR_INVALID, "w_scales has %d values, expected 1 or %lld", nws, (long long)o);
  if (!(p->ws = eo_calloc((size_t)o, sizeof *p->ws))) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int64_t k = 0; k < o; k++) {
    float s = ws[nws == 1 ? 0 : k];
    if (!(s > 0) || !isfinite(s)) return eo_op_error(c, EO_ERR_INVALID, "w_scales[%lld] = %g", (long long)k, (double)s);
    p->ws[k] = s;
  }
  size_t n = rows_of(c->in[0]);
  c->scratch_bytes = n * (sizeof(float) + sizeof(int32_t)) + (size_t)eo_tview_numel(c->in[0]);
  return EO_OK;
}
/* A failed prepare frees its state (the session releases only prepared steps). */
static eo_status hconv_prepare(eo_op_ctx *c) {
  eo_status st = hconv_fill(c);
  if (st) {
    hconv_release(c->state);
    c->state = NULL;
  }
  return st;
}

/* TFLite's AsymmetricQuantizeFloats: one row of n values. */
static void quant_asym(const float *x, int64_t n, int8_t *q, float *scale, int32_t *zp) {
  float mn = 0.f, mx = 0.f;
  for (int64_t i = 0; i < n; i++) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
  }
  if (mn == mx) {
    memset(q, 0, (size_t)n);
    *scale = 1.f, *zp = 0;
    return;
  }
  const double qmin = -128, qmax = 127, rmin = mn, rmax = mx;
  double s = (rmax - rmin) / (qmax - qmin);
  double zmin = qmin - rmin / s, zmax = qmax - rmax / s;
  double emin = fabs(qmin) + fabs(rmin / s), emax = fabs(qmax) + fabs(rmax / s);
  double z = emin < emax ? zmin : zmax;
  int32_t nz = z <= qmin ? -128 : z >= qmax ? 127 : (int32_t)round(z);
  *scale = (float)s;
  *zp = nz;
  float inv = 1.0f / *scale, fz = (float)nz;
  for (int64_t i = 0; i < n; i++) {
    float v = x[i] * inv;  // two float roundings, as the kernel's float expression
    v = fz + v;
    float r = roundf(v);   // half away from zero (std::round)
    q[i] = (int8_t)(r < -128.f ? -128 : r > 127.f ? 127 : (int32_t)r);
  }
}

/* TFLite's SymmetricQuantizeFloats: one row of n values. */
static void quant_sym(const float *x, int64_t n, int8_t *q, float *scale) {
  float mn = INFINITY, mx = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
  }
  float range = fmaxf(fabsf(mn), fabsf(mx));
  if (!(range > 0)) {
    memset(q, 0, (size_t)n);
    *scale = 1.f;
    return;
  }
  *scale = range / 127.f;
  float inv = 127.f / range;
  for (int64_t i = 0; i < n; i++) {
    float r = roundf(x[i] * inv);
    q[i] = (int8_t)(r < -127.f ? -127 : r > 127.f ? 127 : (int32_t)r);
  }
}

static inline float clampf(float v, float lo, float hi) {
  v = v < hi ? v : hi;  // conv: cwiseMin(max) then cwiseMax(min)
  return v > lo ? v : lo;
}

/* The fc correction `dotprod -= row_sums[row] * batch_offset` with a float offset: the product and
 * the difference in float, the result truncated back to int32. */
static inline int32_t fc_correct(int32_t dot, int32_t row_sum, int32_t zp) {
  float prod = (float)row_sum * (float)zp;
  float d = (float)dot - prod;
  if (!(d > -2147483648.f)) return INT32_MIN;
  if (!(d < 2147483648.f)) return INT32_MAX;
  return (int32_t)d;
}

static void hconv_forward(eo_op_ctx *c) {
  const hconv *p = c->state;
  const eo_tview *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL;
  eo_tview *y = c->out[0];
  const float *xd = x->data, *bias = b ? b->data : NULL;
  const int8_t *wd = w->data;
  float *yd = y->data;
  int64_t n = x->dims[0], per = n ? eo_tview_numel(x) / n : 0;
  float *sc = c->scratch;
  int32_t *zp = (int32_t *)(sc + n);
  int8_t *q = (int8_t *)(zp + n);
  for (int64_t r = 0; r < n; r++) {
    if (p->asym) {
      quant_asym(xd + r * per, per, q + r * per, &sc[r], &zp[r]);
    } else {
      quant_sym(xd + r * per, per, q + r * per, &sc[r]);
      zp[r] = 0;
    }
  }
  if (p->kind == 2) {
    int64_t k = x->dims[1], o = w->dims[0];
    for (int64_t i = 0; i < n; i++)
      for (int64_t oc = 0; oc < o; oc++) {
        const int8_t *wr = wd + oc * k, *qr = q + i * k;
        int64_t acc = 0, rs = 0;
        for (int64_t j = 0; j < k; j++) {
          acc += (int64_t)wr[j] * qr[j];
          rs += wr[j];
        }
        int32_t dot = (int32_t)acc;  // int32 sums, as the kernel's
        if (p->asym) dot = fc_correct(dot, (int32_t)rs, zp[i]);
        float s = sc[i] * p->ws[oc];
        float v = (float)dot * s;
        v = (bias ? bias[oc] : 0.f) + v;
        yd[i * o + oc] = clampf(v, p->lo, p->hi);
      }
    return;
  }
  int64_t ih = x->dims[1], iw = x->dims[2], cin = x->dims[3];
  int64_t oh = y->dims[1], ow = y->dims[2], o = y->dims[3], kh = w->dims[1], kw = w->dims[2];
  bool dw = p->kind == 1;
  int64_t mult = dw ? o / cin : 0, yi = 0;
  for (int64_t bn = 0; bn < n; bn++) {
    const int8_t *qb = q + bn * per;
    int32_t z = zp[bn];
    float xs = sc[bn];
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t oc = 0; oc < o; oc++) {
          int64_t acc = 0;
          for (int64_t ky = 0; ky < kh; ky++) {
            int64_t iy = oy * p->sh - p->pt + ky * p->dh;
            if (iy < 0 || iy >= ih) continue;
            for (int64_t kx = 0; kx < kw; kx++) {
              int64_t ix = ox * p->sw - p->pl + kx * p->dw;
              if (ix < 0 || ix >= iw) continue;
              const int8_t *qp = qb + (iy * iw + ix) * cin;
              if (dw) {
                acc += (int64_t)wd[(ky * kw + kx) * o + oc] * (qp[oc / mult] - z);
              } else {
                const int8_t *wr = wd + ((oc * kh + ky) * kw + kx) * cin;
                for (int64_t ci = 0; ci < cin; ci++) acc += (int64_t)wr[ci] * (qp[ci] - z);
              }
            }
          }
          float v;
          if (dw) {
            v = (float)(int32_t)acc * xs;  // ((float)acc * x_scale) * w_scale
            v = v * p->ws[oc];
          } else {
            float s = p->ws[oc] * xs;
            v = (float)(int32_t)acc * s;
          }
          v = v + (bias ? bias[oc] : 0.f);
          yd[yi++] = clampf(v, p->lo, p->hi);
        }
  }
}

static double hconv_flops(const eo_op_ctx *c) {
  const eo_tview *w = c->in[1], *y = c->out[0];
  int64_t per = eo_tview_numel(w) / (c->node && eo_attr_i(c->node, "kind", 0) == 1 ? w->dims[3] : w->dims[0]);
  return 2.0 * (double)eo_tview_numel(y) * (double)per;
}

EO_DEFINE_OP(tfl_hybrid_conv, .name = "TflHybridConv", .infer = hconv_infer, .prepare = hconv_prepare,
             .forward = hconv_forward, .release = hconv_release, .flops = hconv_flops);
