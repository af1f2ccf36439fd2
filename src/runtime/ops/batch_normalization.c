/* BatchNormalization, X = [N, C, D1..Dn], scale/B/mean/var = [C].
 *   inference: y = (x - mean) / sqrt(var + epsilon) * scale + B
 *   training (opset >= 14 training_mode=1; opset 7-13 when the running mean/var outputs are
 *   requested; opset < 7 is_test=0): normalizes with the batch mean and biased variance over N and
 *   D1..Dn, and writes running_mean = mean * momentum + batch_mean * (1 - momentum) (var alike).
 *   opset < 9 spatial=0: per-element parameters of shape [C, D1..Dn] (inference only).
 * opset 15 lets scale/B (T1) and mean/var (T2) differ from X's type: parameters are converted into
 * scratch in X's compute type (double for double, f32 otherwise; float16/bfloat16 X through f32). */
#include <string.h>

#include "runtime/kernels/ref/pool_kernels.h"

typedef struct bn_mode {
  bool training, per_element;
  int64_t batch, c, inner, n_params;
} bn_mode;

static bool out_present(const eo_op_ctx *c, int i) { return c->n_out > i && c->out[i]; }

static eo_status bn_mode_get(const eo_op_ctx *c, bn_mode *m) {
  const eo_tview *x = c->in[0];
  memset(m, 0, sizeof *m);
  if (c->opset >= 14) {
    int64_t tm = eo_attr_i(c->node, "training_mode", 0);
    if (tm != 0 && tm != 1)
      return eo_op_error(c, EO_ERR_INVALID, "training_mode = %lld, expected 0 or 1", (long long)tm);
    m->training = tm == 1;
    if (!m->training && (out_present(c, 1) || out_present(c, 2)))
      return eo_op_error(c, EO_ERR_INVALID, "running_mean/running_var outputs need training_mode=1");
  } else if (c->opset < 7) {
    m->training = eo_attr_i(c->node, "is_test", 0) == 0;
  } else {
    m->training = out_present(c, 1) || out_present(c, 2) || out_present(c, 3) || out_present(c, 4);
  }
  if (c->opset < 14 && (out_present(c, 3) || out_present(c, 4)))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "saved_mean/saved_var outputs (opset < 14 training) are not supported");
  m->per_element = c->opset < 9 && eo_attr_i(c->node, "spatial", 1) == 0;
  if (m->training && m->per_element)
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "training with spatial=0 is not supported");
  m->batch = x->dims[0];
  m->c = x->rank > 1 ? x->dims[1] : 1;
  m->inner = 1;
  for (int d = 2; d < x->rank; d++) m->inner *= x->dims[d];
  m->n_params = m->per_element ? m->c * m->inner : m->c;
  return EO_OK;
}

static size_t bn_elem(int dtype) { return dtype == EO_DOUBLE ? sizeof(double) : sizeof(float); }

/* Scratch: scale, B, mean, var (n_params each), batch mean and var (C each), then f32 X and Y for
 * float16/bfloat16. */
static size_t bn_scratch(const eo_op_ctx *c, const bn_mode *m, size_t *x_off) {
  size_t es = bn_elem(c->in[0]->dtype);
  size_t bytes = eo_pk_align(4 * (size_t)m->n_params * es) + eo_pk_align(2 * (size_t)m->c * es);
  *x_off = bytes;
  if (eo_pk_is_half(c->in[0]->dtype)) bytes += 2 * eo_pk_align((size_t)eo_tview_numel(c->in[0]) * sizeof(float));
  return bytes;
}

static eo_status bn_infer(eo_op_ctx *c) {
  static const char *const names[5] = {"X", "scale", "B", "input_mean", "input_var"};
  if (c->n_in < 5) return eo_op_error(c, EO_ERR_INVALID, "expected 5 inputs (X, scale, B, mean, var), found %d", c->n_in);
  for (int i = 0; i < 5; i++)
    if (!c->in[i]) return eo_op_error(c, EO_ERR_INVALID, "input %s is required", names[i]);
  const eo_tview *x = c->in[0];
  if (x->dtype != EO_FLOAT && x->dtype != EO_DOUBLE && !eo_pk_is_half(x->dtype))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "X has dtype %s, expected float, double, float16 or bfloat16",
                       eo_dtype_name(x->dtype));
  if (x->rank < 2) return eo_op_error(c, EO_ERR_SHAPE, "X has rank %d, expected >= 2 (N, C, ...)", x->rank);
  bn_mode m;
  eo_status st = bn_mode_get(c, &m);
  if (st) return st;
  for (int i = 1; i < 5; i++) {
    const eo_tview *p = c->in[i];
    if (!eo_dtype_is_float(p->dtype))
      return eo_op_error(c, EO_ERR_UNSUPPORTED, "input %s has dtype %s, expected a float type", names[i],
                         eo_dtype_name(p->dtype));
    if (eo_tview_numel(p) != m.n_params) {
      char buf[128];
      return eo_op_error(c, EO_ERR_SHAPE, "input %s has shape %s, expected %lld values (%s)", names[i],
                         eo_shape_str(p->rank, p->dims, buf, sizeof buf), (long long)m.n_params,
                         m.per_element ? "C x D1 x ... x Dn for spatial=0" : "one per channel C");
    }
  }
  if (!out_present(c, 0)) return eo_op_error(c, EO_ERR_INVALID, "output Y is required");
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  for (int i = 1; i <= 2; i++)
    if (out_present(c, i)) eo_tview_set_shape(c->out[i], c->in[2 + i]->dtype, 1, &m.c);
  return EO_OK;
}

static eo_status bn_prepare(eo_op_ctx *c) {
  bn_mode m;
  size_t x_off;
  eo_status st = bn_mode_get(c, &m);
  if (st) return st;
  c->scratch_bytes = bn_scratch(c, &m, &x_off);
  return EO_OK;
}

static void store_f64(eo_tview *t, int64_t i, double v) {
  switch (t->dtype) {
    case EO_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case EO_DOUBLE: ((double *)t->data)[i] = v; break;
    case EO_FLOAT16: ((uint16_t *)t->data)[i] = eo_f32_to_f16((float)v); break;
    default: ((uint16_t *)t->data)[i] = eo_f32_to_bf16((float)v); break;
  }
}

static void bn_forward(eo_op_ctx *c) {
  const eo_tview *x = c->in[0];
  eo_tview *y = c->out[0];
  bn_mode m;
  size_t x_off;
  bn_mode_get(c, &m);
  bn_scratch(c, &m, &x_off);
  bool dbl = x->dtype == EO_DOUBLE;
  size_t es = bn_elem(x->dtype);
  char *s = c->scratch;
  char *bstats = s + eo_pk_align(4 * (size_t)m.n_params * es);
  /* Parameters (any float type) -> compute type. */
  for (int k = 0; k < 4; k++)
    for (int64_t i = 0; i < m.n_params; i++) {
      double v = eo_tview_get_f64(c->in[1 + k], i);
      if (dbl) ((double *)s)[k * m.n_params + i] = v;
      else ((float *)s)[k * m.n_params + i] = (float)v;
    }
  double eps = eo_attr_f(c->node, "epsilon", 1e-5f);
  double momentum = eo_attr_f(c->node, "momentum", 0.9f);
  if (dbl) {
    const double *p = (const double *)s, *mean = p + 2 * m.n_params, *var = p + 3 * m.n_params;
    double *bm = (double *)bstats, *bv = bm + m.c;
    if (m.training) {
      eo_f64_batchnorm_stats__ref(m.batch, m.c, m.inner, x->data, bm, bv);
      mean = bm;
      var = bv;
    }
    eo_f64_batchnorm__ref(m.batch, m.c, m.inner, x->data, p, p + m.n_params, mean, var, eps, m.per_element, y->data);
  } else {
    const float *p = (const float *)s, *mean = p + 2 * m.n_params, *var = p + 3 * m.n_params;
    float *bm = (float *)bstats, *bv = bm + m.c;
    const float *xf = x->data;
    float *yf = y->data;
    if (eo_pk_is_half(x->dtype)) {
      int64_t n = eo_tview_numel(x);
      xf = (const float *)(s + x_off);
      yf = (float *)(s + x_off + eo_pk_align((size_t)n * sizeof(float)));
      eo_pk_to_f32(x->dtype, x->data, (float *)xf, n);
    }
    if (m.training) {
      eo_f32_batchnorm_stats__ref(m.batch, m.c, m.inner, xf, bm, bv);
      mean = bm;
      var = bv;
    }
    eo_f32_batchnorm__ref(m.batch, m.c, m.inner, xf, p, p + m.n_params, mean, var, (float)eps, m.per_element, yf);
    if (eo_pk_is_half(x->dtype)) eo_pk_from_f32(x->dtype, yf, y->data, eo_tview_numel(x));
  }
  if (m.training)
    for (int k = 0; k < 2; k++) {
      if (!out_present(c, 1 + k)) continue;
      for (int64_t i = 0; i < m.c; i++) {
        double batch_stat = dbl ? ((double *)bstats)[k * m.c + i] : ((float *)bstats)[k * m.c + i];
        double running = eo_tview_get_f64(c->in[3 + k], i);
        store_f64(c->out[1 + k], i, running * momentum + batch_stat * (1 - momentum));
      }
    }
}

static double bn_flops(const eo_op_ctx *c) { return 2 * eo_tview_numel(c->in[0]); }

EO_DEFINE_OP(batch_normalization, .name = "BatchNormalization", .infer = bn_infer, .prepare = bn_prepare,
             .forward = bn_forward, .flops = bn_flops);
