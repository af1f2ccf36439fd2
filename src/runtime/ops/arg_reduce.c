/* ArgMax and ArgMin: int64 indices along `axis` (default 0); keepdims (default 1) keeps the axis as
 * size 1; select_last_index (opset 12+, default 0) picks the last of equal extremes. */
#include "runtime/kernels/ref/resize_kernels.h"
#include "runtime/op.h"

typedef struct arg_setup {
  int axis;
  int64_t outer, n, inner;
  bool last;
} arg_setup;

static eo_status arg_parse(const eo_op_ctx *c, arg_setup *s, int *out_rank, int64_t *out_dims) {
  const eo_tview *x = c->n_in >= 1 ? c->in[0] : NULL;
  if (!x) return eo_op_error(c, EO_ERR_INVALID, "expected input 'data'");
  if (!eo_rk_dtype_ok(x->dtype))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "data type %s is not supported (expected a numeric type)",
                       eo_dtype_name(x->dtype));
  if (x->rank < 1) return eo_op_error(c, EO_ERR_SHAPE, "input must have rank >= 1 (found a scalar)");
  eo_status st = eo_norm_axis(c, eo_attr_i(c->node, "axis", 0), x->rank, &s->axis);
  if (st) return st;
  const int64_t keepdims = eo_attr_i(c->node, "keepdims", 1);
  const int64_t last = c->opset >= 12 ? eo_attr_i(c->node, "select_last_index", 0) : 0;
  if ((keepdims != 0 && keepdims != 1) || (last != 0 && last != 1))
    return eo_op_error(c, EO_ERR_INVALID, "keepdims and select_last_index must be 0 or 1 (found %lld, %lld)",
                       (long long)keepdims, (long long)last);
  if (x->dims[s->axis] == 0)
    return eo_op_error(c, EO_ERR_SHAPE, "axis %d has size 0: there is no index to return", s->axis);
  s->last = last;
  s->outer = s->inner = 1;
  s->n = x->dims[s->axis];
  *out_rank = 0;
  for (int i = 0; i < x->rank; i++) {
    if (i < s->axis) s->outer *= x->dims[i];
    if (i > s->axis) s->inner *= x->dims[i];
    if (i != s->axis) out_dims[(*out_rank)++] = x->dims[i];
    else if (keepdims) out_dims[(*out_rank)++] = 1;
  }
  return EO_OK;
}

static eo_status arg_infer(eo_op_ctx *c) {
  arg_setup s;
  int r = 0;
  int64_t d[EO_MAX_RANK];
  eo_status st = arg_parse(c, &s, &r, d);
  if (st) return st;
  if (!c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output 'reduced' is required");
  eo_tview_set_shape(c->out[0], EO_INT64, r, d);
  return EO_OK;
}

/* Everything forward needs is in the shapes; no state. */
static void arg_run(eo_op_ctx *c, bool is_max) {
  arg_setup s;
  int r;
  int64_t d[EO_MAX_RANK];
  if (arg_parse(c, &s, &r, d)) return;  /* cannot fail: infer accepted the same node */
  eo_arg_reduce__ref(c->in[0]->dtype, is_max, s.last, s.outer, s.n, s.inner, c->in[0]->data, c->out[0]->data);
}

static void arg_max_forward(eo_op_ctx *c) { arg_run(c, true); }
static void arg_min_forward(eo_op_ctx *c) { arg_run(c, false); }
static double arg_flops(const eo_op_ctx *c) { return eo_tview_numel(c->in[0]); }

EO_DEFINE_OP(arg_max, .name = "ArgMax", .infer = arg_infer, .forward = arg_max_forward, .flops = arg_flops);
EO_DEFINE_OP(arg_min, .name = "ArgMin", .infer = arg_infer, .forward = arg_min_forward, .flops = arg_flops);
