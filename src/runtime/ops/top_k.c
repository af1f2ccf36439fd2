/* TopK: the k largest (or smallest, opset 11 largest=0) values along `axis` (default -1) and their
 * int64 indices. k is an attribute up to opset 9, then a constant 1-element input. Outputs are
 * always sorted (sorted=0 leaves the order unspecified, so sorted is a valid answer); equal values
 * come in ascending index order, as ONNX requires. */
#include <stdlib.h>

#include "runtime/kernels/ref/resize_kernels.h"
#include "runtime/op.h"

typedef struct topk_setup {
  int axis;
  int64_t k, outer, n, inner;
  bool largest;
} topk_setup;

static eo_status topk_parse(const eo_op_ctx *c, topk_setup *s) {
  const eo_tview *x = c->n_in >= 1 ? c->in[0] : NULL;
  if (!x) return eo_op_error(c, EO_ERR_INVALID, "expected input 'X'");
  if (!eo_rk_dtype_ok(x->dtype))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "data type %s is not supported (expected a numeric type)",
                       eo_dtype_name(x->dtype));
  if (x->rank < 1) return eo_op_error(c, EO_ERR_SHAPE, "input must have rank >= 1 (found a scalar)");
  eo_status st = eo_norm_axis(c, eo_attr_i(c->node, "axis", -1), x->rank, &s->axis);
  if (st) return st;
  if (c->opset < 10) {
    const eo_attr *a = eo_node_attr(c->node, "k");
    if (!a || a->type != EO_ATTR_INT) return eo_op_error(c, EO_ERR_INVALID, "attribute 'k' is required before opset 10");
    s->k = a->i;
  } else {
    const eo_tview *k = c->n_in >= 2 ? c->in[1] : NULL;
    if (!k) return eo_op_error(c, EO_ERR_INVALID, "input 'K' is required from opset 10");
    if (eo_tview_numel(k) != 1 || !eo_dtype_is_int(k->dtype))
      return eo_op_error(c, EO_ERR_SHAPE, "input 'K' must hold one integer (found %lld elements of %s)",
                         (long long)eo_tview_numel(k), eo_dtype_name(k->dtype));
    if (!k->data) return eo_op_error(c, EO_ERR_UNSUPPORTED, "input 'K' must be constant (it decides the output shape)");
    s->k = eo_tview_get_i64(k, 0);
  }
  s->n = x->dims[s->axis];
  if (s->k < 0 || s->k > s->n)
    return eo_op_error(c, EO_ERR_INVALID, "k = %lld is outside [0, %lld] (the size of axis %d)", (long long)s->k,
                       (long long)s->n, s->axis);
  const int64_t largest = c->opset >= 11 ? eo_attr_i(c->node, "largest", 1) : 1;
  const int64_t sorted = c->opset >= 11 ? eo_attr_i(c->node, "sorted", 1) : 1;
  if ((largest != 0 && largest != 1) || (sorted != 0 && sorted != 1))
    return eo_op_error(c, EO_ERR_INVALID, "largest and sorted must be 0 or 1 (found %lld, %lld)", (long long)largest,
                       (long long)sorted);
  s->largest = largest;
  s->outer = s->inner = 1;
  for (int i = 0; i < x->rank; i++) {
    if (i < s->axis) s->outer *= x->dims[i];
    if (i > s->axis) s->inner *= x->dims[i];
  }
  return EO_OK;
}

static eo_status topk_infer(eo_op_ctx *c) {
  topk_setup s;
  eo_status st = topk_parse(c, &s);
  if (st) return st;
  int64_t d[EO_MAX_RANK];
  for (int i = 0; i < c->in[0]->rank; i++) d[i] = i == s.axis ? s.k : c->in[0]->dims[i];
  if (c->n_out < 2 || !c->out[0] || !c->out[1])
    return eo_op_error(c, EO_ERR_INVALID, "outputs 'Values' and 'Indices' are both required");
  eo_tview_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, d);
  eo_tview_set_shape(c->out[1], EO_INT64, c->in[0]->rank, d);
  return EO_OK;
}

static void topk_release(void *p) { free(p); }

static eo_status topk_prepare(eo_op_ctx *c) {
  topk_setup *s = malloc(sizeof *s);
  if (!s) return eo_error(EO_ERR_NOMEM, "out of memory");
  eo_status st = topk_parse(c, s);
  if (st) {
    free(s);
    return st;
  }
  c->state = s;
  c->scratch_bytes = (size_t)(s->n > 0 ? s->n : 1) * 2 * sizeof(int64_t);
  return EO_OK;
}

static void topk_forward(eo_op_ctx *c) {
  const topk_setup *s = c->state;
  eo_topk__ref(c->in[0]->dtype, s->largest, s->outer, s->n, s->inner, s->k, c->in[0]->data, c->out[0]->data,
               c->out[1]->data, c->scratch);
}

static double topk_flops(const eo_op_ctx *c) { return eo_tview_numel(c->in[0]); }

EO_DEFINE_OP(top_k, .name = "TopK", .infer = topk_infer, .prepare = topk_prepare, .forward = topk_forward,
             .release = topk_release, .flops = topk_flops);
