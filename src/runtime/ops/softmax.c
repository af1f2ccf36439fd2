/* Softmax and LogSoftmax.
 *   opset < 13: X is coerced to 2D at `axis` (default 1): [d0*..*d(axis-1), d(axis)*..*d(r-1)] and
 *               each row is normalized (axis == rank is accepted as in Flatten: rows of one).
 *   opset >= 13: normalized along the single axis `axis` (default -1).
 * Both become [outer, n, inner] for the kernel. float, double, float16/bfloat16 (through f32). */
#include "runtime/kernels/ref/pool_kernels.h"

/* Splits X's shape at the axis; error (from infer) on a bad axis, never fails afterwards. */
static eo_status softmax_split(const eo_op_ctx *c, int64_t *outer, int64_t *n, int64_t *inner) {
  const eo_tview *x = c->in[0];
  bool coerce_2d = c->opset < 13;
  int64_t axis = eo_attr_i(c->node, "axis", coerce_2d ? 1 : -1);
  int a;
  if (coerce_2d && axis == x->rank && x->rank > 0) {
    a = x->rank;
  } else {
    eo_status st = eo_norm_axis(c, axis, x->rank, &a);
    if (st) return st;
    if (x->rank == 0) return eo_op_error(c, EO_ERR_SHAPE, "X is a scalar, expected rank >= 1");
  }
  *outer = 1;
  *n = 1;
  *inner = 1;
  for (int d = 0; d < x->rank; d++) {
    if (d < a) *outer *= x->dims[d];
    else if (d == a || coerce_2d) *n *= x->dims[d];
    else *inner *= x->dims[d];
  }
  return EO_OK;
}

static eo_status softmax_infer(eo_op_ctx *c) {
  const eo_tview *x = c->n_in > 0 ? c->in[0] : NULL;
  if (!x) return eo_op_error(c, EO_ERR_INVALID, "input X is required");
  if (x->dtype != EO_FLOAT && x->dtype != EO_DOUBLE && !eo_pk_is_half(x->dtype))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "X has dtype %s, expected float, double, float16 or bfloat16",
                       eo_dtype_name(x->dtype));
  int64_t outer, n, inner;
  eo_status st = softmax_split(c, &outer, &n, &inner);
  if (st) return st;
  if (c->n_out < 1 || !c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output is required");
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

static eo_status softmax_prepare(eo_op_ctx *c) {
  if (eo_pk_is_half(c->in[0]->dtype))
    c->scratch_bytes = 2 * eo_pk_align((size_t)eo_tview_numel(c->in[0]) * sizeof(float));
  return EO_OK;
}

static void softmax_run(eo_op_ctx *c, bool log_softmax) {
  const eo_tview *x = c->in[0];
  eo_tview *y = c->out[0];
  int64_t outer, n, inner;
  softmax_split(c, &outer, &n, &inner);
  switch (x->dtype) {
    case EO_FLOAT: eo_f32_softmax__ref(outer, n, inner, x->data, y->data, log_softmax); break;
    case EO_DOUBLE: eo_f64_softmax__ref(outer, n, inner, x->data, y->data, log_softmax); break;
    default: { /* float16 / bfloat16 */
      int64_t cnt = eo_tview_numel(x);
      float *xf = c->scratch, *yf = (float *)((char *)c->scratch + eo_pk_align((size_t)cnt * sizeof(float)));
      eo_pk_to_f32(x->dtype, x->data, xf, cnt);
      eo_f32_softmax__ref(outer, n, inner, xf, yf, log_softmax);
      eo_pk_from_f32(x->dtype, yf, y->data, cnt);
    }
  }
}

static void softmax_forward(eo_op_ctx *c) { softmax_run(c, false); }
static void log_softmax_forward(eo_op_ctx *c) { softmax_run(c, true); }

/* max, exp, sum, scale: about 4 operations per element. */
static int64_t softmax_flops(const eo_op_ctx *c) { return 4 * eo_tview_numel(c->in[0]); }

EO_DEFINE_OP(softmax, .name = "Softmax", .infer = softmax_infer, .prepare = softmax_prepare,
             .forward = softmax_forward, .flops = softmax_flops);
EO_DEFINE_OP(log_softmax, .name = "LogSoftmax", .infer = softmax_infer, .prepare = softmax_prepare,
             .forward = log_softmax_forward, .flops = softmax_flops);
