/* InstanceNormalization (opset 1+, 6): X = [N, C, D1..Dn], scale/B = [C];
 * y = scale * (x - mean) / sqrt(var + epsilon) + B with mean and biased variance of each (n, c)
 * plane. float, double, float16/bfloat16 (through f32); scale/B converted into scratch. */
#include "runtime/kernels/ref/pool_kernels.h"

static eo_status instance_norm_infer(eo_op_ctx *c) {
  static const char *const names[3] = {"input", "scale", "B"};
  if (c->n_in < 3) return eo_op_error(c, EO_ERR_INVALID, "expected 3 inputs (input, scale, B), found %d", c->n_in);
  for (int i = 0; i < 3; i++)
    if (!c->in[i]) return eo_op_error(c, EO_ERR_INVALID, "input %s is required", names[i]);
  const eo_tview *x = c->in[0];
  if (x->dtype != EO_FLOAT && x->dtype != EO_DOUBLE && !eo_pk_is_half(x->dtype))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input has dtype %s, expected float, double, float16 or bfloat16",
                       eo_dtype_name(x->dtype));
  if (x->rank < 3) return eo_op_error(c, EO_ERR_SHAPE, "input has rank %d, expected >= 3 (N, C, D1, ...)", x->rank);
  for (int i = 1; i < 3; i++) {
    const eo_tview *p = c->in[i];
    if (!eo_dtype_is_float(p->dtype))
      return eo_op_error(c, EO_ERR_UNSUPPORTED, "input %s has dtype %s, expected a float type", names[i],
                         eo_dtype_name(p->dtype));
    if (p->rank != 1 || p->dims[0] != x->dims[1]) {
      char buf[128];
      return eo_op_error(c, EO_ERR_SHAPE, "input %s has shape %s, expected [%lld] (channels of input)", names[i],
                         eo_shape_str(p->rank, p->dims, buf, sizeof buf), (long long)x->dims[1]);
    }
  }
  if (c->n_out < 1 || !c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output is required");
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

/* Scratch: scale and B in the compute type, then f32 X and Y for 16-bit inputs. */
static size_t params_bytes(const eo_tview *x) {
  return eo_pk_align(2 * (size_t)x->dims[1] * (x->dtype == EO_DOUBLE ? sizeof(double) : sizeof(float)));
}

static eo_status instance_norm_prepare(eo_op_ctx *c) {
  const eo_tview *x = c->in[0];
  c->scratch_bytes = params_bytes(x);
  if (eo_pk_is_half(x->dtype)) c->scratch_bytes += 2 * eo_pk_align((size_t)eo_tview_numel(x) * sizeof(float));
  return EO_OK;
}

static void instance_norm_forward(eo_op_ctx *c) {
  const eo_tview *x = c->in[0];
  eo_tview *y = c->out[0];
  int64_t batch = x->dims[0], ch = x->dims[1], inner = 1, n = eo_tview_numel(x);
  for (int d = 2; d < x->rank; d++) inner *= x->dims[d];
  double eps = eo_attr_f(c->node, "epsilon", 1e-5f);
  if (x->dtype == EO_DOUBLE) {
    double *p = c->scratch;
    for (int64_t i = 0; i < ch; i++) {
      p[i] = eo_tview_get_f64(c->in[1], i);
      p[ch + i] = eo_tview_get_f64(c->in[2], i);
    }
    eo_f64_instancenorm__ref(batch, ch, inner, x->data, p, p + ch, eps, y->data);
    return;
  }
  float *p = c->scratch;
  for (int64_t i = 0; i < ch; i++) {
    p[i] = (float)eo_tview_get_f64(c->in[1], i);
    p[ch + i] = (float)eo_tview_get_f64(c->in[2], i);
  }
  if (x->dtype == EO_FLOAT) {
    eo_f32_instancenorm__ref(batch, ch, inner, x->data, p, p + ch, (float)eps, y->data);
    return;
  }
  float *xf = (float *)((char *)c->scratch + params_bytes(x));
  float *yf = (float *)((char *)xf + eo_pk_align((size_t)n * sizeof(float)));
  eo_pk_to_f32(x->dtype, x->data, xf, n);
  eo_f32_instancenorm__ref(batch, ch, inner, xf, p, p + ch, (float)eps, yf);
  eo_pk_from_f32(x->dtype, yf, y->data, n);
}

static double instance_norm_flops(const eo_op_ctx *c) { return 4 * eo_tview_numel(c->in[0]); }

EO_DEFINE_OP(instance_normalization, .name = "InstanceNormalization", .infer = instance_norm_infer,
             .prepare = instance_norm_prepare, .forward = instance_norm_forward, .flops = instance_norm_flops);
