/* Size: the input's element count as an int64 scalar. */
#include "runtime/kernels/ref/move_kernels.h"

static eo_status size_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || !c->in[0]) return eo_op_error(c, EO_ERR_INVALID, "expected input 'data'");
  if (eo_tview_numel(c->in[0]) < 0) return eo_op_error(c, EO_ERR_SHAPE, "input shape is not fully known");
  eo_tview_set_shape(c->out[0], EO_INT64, 0, NULL);
  return EO_OK;
}

static void size_forward(eo_op_ctx *c) { *(int64_t *)c->out[0]->data = eo_tview_numel(c->in[0]); }

EO_DEFINE_OP(size, .name = "Size", .infer = size_infer, .forward = size_forward, .flops = eo_move_flops_zero);
