/* Flatten: [d0..dr) -> [prod(d0..axis), prod(axis..dr)], axis in [-r, r] (negative since opset 11). */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

static eo_status flatten_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || !c->in[0]) return eo_op_error(c, EO_ERR_INVALID, "expected 1 input");
  const eo_tview *x = c->in[0];
  if (eo_move_check_bytes(c, x->dtype)) return EO_ERR_UNSUPPORTED;
  int64_t axis = eo_attr_i(c->node, "axis", 1);
  if (axis < -x->rank || axis > x->rank)
    return eo_op_error(c, EO_ERR_INVALID, "axis %lld out of range [%d, %d] for rank %d", (long long)axis,
                       -x->rank, x->rank, x->rank);
  if (axis < 0) axis += x->rank;
  int64_t dims[2] = {eo_numel((int)axis, x->dims), eo_numel(x->rank - (int)axis, x->dims + axis)};
  if (dims[0] < 0 || dims[1] < 0) return eo_op_error(c, EO_ERR_SHAPE, "input shape is not fully known");
  eo_tview_set_shape(c->out[0], x->dtype, 2, dims);
  return EO_OK;
}

static void flatten_forward(eo_op_ctx *c) {
  size_t bytes = 0;
  eo_dtype_bytes(c->in[0]->dtype, eo_tview_numel(c->in[0]), &bytes);
  if (bytes) memcpy(c->out[0]->data, c->in[0]->data, bytes);
}

EO_DEFINE_OP(flatten, .name = "Flatten", .infer = flatten_infer, .forward = flatten_forward,
             .flops = eo_move_flops_zero);
