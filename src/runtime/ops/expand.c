/* Expand: bidirectional (numpy) broadcast of the input with the constant 'shape' input; the kernel
 * reads broadcast axes with stride 0. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

static eo_status expand_infer(eo_op_ctx *c) {
  if (c->n_in < 2 || !c->in[0] || !c->in[1]) return eo_op_error(c, EO_ERR_INVALID, "expected inputs (input, shape)");
  const eo_tview *x = c->in[0];
  int64_t shape[EO_MAX_RANK], dims[EO_MAX_RANK];
  int n = 0, r;
  size_t es;
  eo_status st = eo_move_elem_size(c, x->dtype, &es);
  if (st || (st = eo_move_const_ints(c, 1, "shape", shape, EO_MAX_RANK, &n))) return st;
  for (int k = 0; k < n; k++)
    if (shape[k] < 0) return eo_op_error(c, EO_ERR_SHAPE, "shape value %lld at position %d is negative", (long long)shape[k], k);
  if ((st = eo_broadcast_shape(c, x->rank, x->dims, n, shape, &r, dims))) return st;
  eo_tview_set_shape(c->out[0], x->dtype, r, dims);
  return EO_OK;
}

static void expand_forward(eo_op_ctx *c) {
  const eo_tview *x = c->in[0], *y = c->out[0];
  int64_t xs[EO_MAX_RANK], s[EO_MAX_RANK];
  eo_move_strides(x->rank, x->dims, xs);
  int lead = y->rank - x->rank;  // input aligned to the output's trailing axes
  for (int k = 0; k < y->rank; k++)
    s[k] = k < lead || x->dims[k - lead] == 1 ? 0 : xs[k - lead];
  (c->force_ref ? eo_xx_strided_copy__ref : eo_xx_strided_copy__scalar)(eo_dtype_size(x->dtype), y->rank, y->dims, s,
                                                                         x->data, y->data);
}

EO_DEFINE_OP(expand, .name = "Expand", .infer = expand_infer, .forward = expand_forward, .flops = eo_move_flops_zero);
