/* Shape: the input's dims as int64, optionally dims[start:end] (opset 15; clamped like Python). */
#include "runtime/kernels/ref/move_kernels.h"

static void shape_range(const eo_op_ctx *c, int rank, int64_t *start, int64_t *end) {
  int64_t s = 0, e = rank;
  if (c->opset >= 15) {
    s = eo_attr_i(c->node, "start", 0);
    e = eo_attr_i(c->node, "end", rank);
  }
  if (s < 0) s += rank;
  if (e < 0) e += rank;
  *start = s < 0 ? 0 : s > rank ? rank : s;
  *end = e < 0 ? 0 : e > rank ? rank : e;
  if (*end < *start) *end = *start;
}

static eo_status shape_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || !c->in[0]) return eo_op_error(c, EO_ERR_INVALID, "expected input 'data'");
  int64_t s, e;
  shape_range(c, c->in[0]->rank, &s, &e);
  int64_t n = e - s;
  eo_tview_set_shape(c->out[0], EO_INT64, 1, &n);
  return EO_OK;
}

static void shape_forward(eo_op_ctx *c) {
  int64_t s, e;
  shape_range(c, c->in[0]->rank, &s, &e);
  int64_t *y = c->out[0]->data;
  for (int64_t k = s; k < e; k++) y[k - s] = c->in[0]->dims[k];
}

EO_DEFINE_OP(shape, .name = "Shape", .infer = shape_infer, .forward = shape_forward, .flops = eo_move_flops_zero);
