/* ReduceMean, ReduceMax, ReduceMin, ReduceSum, ReduceProd from one template.
 *
 * axes: attribute up to opset 12 for ReduceSum and up to opset 17 for the others, then an optional
 * second input (which must be constant: it decides the output shape). Empty or absent axes reduce
 * every axis, unless noop_with_empty_axes=1 (opsets with the axes input), which makes the op an
 * identity. keepdims (default 1) keeps reduced axes as size 1. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/ref/resize_kernels.h"
#include "runtime/op.h"

typedef struct reduce_setup {
  int rank;
  int64_t dims[EO_MAX_RANK];
  bool reduced[EO_MAX_RANK];
  int out_rank;
  int64_t out_dims[EO_MAX_RANK];
} reduce_setup;

static eo_status reduce_parse(const eo_op_ctx *c, eo_reduce_kind kind, reduce_setup *s) {
  const eo_tview *x = c->in[0];
  if (c->n_in < 1 || !x) return eo_op_error(c, EO_ERR_INVALID, "expected input 'data'");
  if (!eo_rk_dtype_ok(x->dtype))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "data type %s is not supported (expected a numeric type)",
                       eo_dtype_name(x->dtype));
  const bool axes_input = kind == EO_REDUCE_SUM ? c->opset >= 13 : c->opset >= 18;
  int64_t axes[EO_MAX_RANK];
  int n_axes = 0;
  if (axes_input) {
    const eo_tview *a = c->n_in >= 2 ? c->in[1] : NULL;
    if (a) {
      int64_t n = eo_tview_numel(a);
      if (a->rank != 1 || !eo_dtype_is_int(a->dtype))
        return eo_op_error(c, EO_ERR_SHAPE, "input 'axes' must be a 1-D integer tensor (found rank %d, %s)",
                           a->rank, eo_dtype_name(a->dtype));
      if (n > 0 && !a->data)
        return eo_op_error(c, EO_ERR_UNSUPPORTED, "input 'axes' must be constant (it decides the output shape)");
      if (n > x->rank)
        return eo_op_error(c, EO_ERR_INVALID, "%lld axes given for rank %d", (long long)n, x->rank);
      for (int64_t i = 0; i < n; i++) axes[n_axes++] = eo_tview_get_i64(a, i);
    }
  } else {
    const int64_t *v;
    int n = eo_attr_ints(c->node, "axes", &v);
    if (n > x->rank) return eo_op_error(c, EO_ERR_INVALID, "%d axes given for rank %d", n, x->rank);
    for (int i = 0; i < n; i++) axes[n_axes++] = v[i];
  }
  const int64_t keepdims = eo_attr_i(c->node, "keepdims", 1);
  const int64_t noop = axes_input ? eo_attr_i(c->node, "noop_with_empty_axes", 0) : 0;
  if ((keepdims != 0 && keepdims != 1) || (noop != 0 && noop != 1))
    return eo_op_error(c, EO_ERR_INVALID, "keepdims and noop_with_empty_axes must be 0 or 1 (found %lld, %lld)",
                       (long long)keepdims, (long long)noop);
  s->rank = x->rank;
  for (int i = 0; i < x->rank; i++) {
    s->dims[i] = x->dims[i];
    s->reduced[i] = n_axes == 0 && !noop;
  }
  for (int i = 0; i < n_axes; i++) {
    int ax;
    eo_status st = eo_norm_axis(c, axes[i], x->rank, &ax);
    if (st) return st;
    if (s->reduced[ax]) return eo_op_error(c, EO_ERR_INVALID, "axis %lld is listed twice", (long long)axes[i]);
    s->reduced[ax] = true;
  }
  s->out_rank = 0;
  for (int i = 0; i < x->rank; i++) {
    if (!s->reduced[i]) s->out_dims[s->out_rank++] = x->dims[i];
    else if (keepdims) s->out_dims[s->out_rank++] = 1;
  }
  return EO_OK;
}

static eo_status reduce_infer(eo_op_ctx *c, eo_reduce_kind kind) {
  reduce_setup s;
  eo_status st = reduce_parse(c, kind, &s);
  if (st) return st;
  if (!c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "output 'reduced' is required");
  eo_tview_set_shape(c->out[0], c->in[0]->dtype, s.out_rank, s.out_dims);
  return EO_OK;
}

static eo_status reduce_prepare(eo_op_ctx *c, eo_reduce_kind kind) {
  reduce_setup *s = malloc(sizeof *s);
  if (!s) return eo_error(EO_ERR_NOMEM, "out of memory");
  eo_status st = reduce_parse(c, kind, s);
  if (st) {
    free(s);
    return st;
  }
  c->state = s;
  int64_t out_n = eo_tview_numel(c->out[0]);
  c->scratch_bytes = (size_t)(out_n > 0 ? out_n : 1) * 8;  /* one 8-byte accumulator per output */
  return EO_OK;
}

static void reduce_forward(eo_op_ctx *c, eo_reduce_kind kind) {
  const reduce_setup *s = c->state;
  eo_reduce__ref(kind, c->in[0]->dtype, s->rank, s->dims, s->reduced, c->in[0]->data, c->out[0]->data,
                 c->scratch);
}

static double reduce_flops(const eo_op_ctx *c) { return eo_tview_numel(c->in[0]); }

#define DEF_REDUCE_OP(sym, kind, onnx)                                                         \
  static eo_status sym##_infer(eo_op_ctx *c) { return reduce_infer(c, kind); }            \
  static eo_status sym##_prepare(eo_op_ctx *c) { return reduce_prepare(c, kind); }        \
  static void sym##_forward(eo_op_ctx *c) { reduce_forward(c, kind); }                    \
  EO_DEFINE_OP(sym, .name = onnx,  .infer = sym##_infer, .prepare = sym##_prepare,         \
               .forward = sym##_forward, .release = free, .flops = reduce_flops);

DEF_REDUCE_OP(reduce_mean, EO_REDUCE_MEAN, "ReduceMean")
DEF_REDUCE_OP(reduce_max, EO_REDUCE_MAX, "ReduceMax")
DEF_REDUCE_OP(reduce_min, EO_REDUCE_MIN, "ReduceMin")
DEF_REDUCE_OP(reduce_sum, EO_REDUCE_SUM, "ReduceSum")
DEF_REDUCE_OP(reduce_prod, EO_REDUCE_PROD, "ReduceProd")
