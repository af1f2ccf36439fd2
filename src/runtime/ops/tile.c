/* Tile: output dim k is dims[k] * repeats[k]. Output index j along axis k splits into (j / d, j % d),
 * so the output is the input viewed as rank 2r [r0, d0, r1, d1, ...] with stride 0 on the repeats. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

static eo_status tile_infer(eo_op_ctx *c) {
  if (c->n_in < 2 || !c->in[0] || !c->in[1]) return eo_op_error(c, EO_ERR_INVALID, "expected inputs (input, repeats)");
  const eo_tview *x = c->in[0];
  int64_t rep[EO_MAX_RANK], dims[EO_MAX_RANK];
  int n = 0;
  size_t es;
  eo_status st = eo_move_elem_size(c, x->dtype, &es);
  if (st || (st = eo_move_const_ints(c, 1, "repeats", rep, EO_MAX_RANK, &n))) return st;
  if (n != x->rank)
    return eo_op_error(c, EO_ERR_SHAPE, "repeats has %d values for an input of rank %d", n, x->rank);
  for (int k = 0; k < n; k++) {
    if (rep[k] < 0) return eo_op_error(c, EO_ERR_INVALID, "repeats[%d] is negative (%lld)", k, (long long)rep[k]);
    if (!eo_mul_i64(x->dims[k], rep[k], &dims[k])) return eo_op_error(c, EO_ERR_SHAPE, "output dim %d overflows", k);
  }
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, dims);
  return EO_OK;
}

static void tile_forward(eo_op_ctx *c) {
  const eo_tview *x = c->in[0], *y = c->out[0];
  int64_t xs[EO_MAX_RANK], d[EO_MOVE_MAX_RANK], s[EO_MOVE_MAX_RANK];
  eo_move_strides(x->rank, x->dims, xs);
  for (int k = 0; k < x->rank; k++) {
    d[2 * k] = x->dims[k] ? y->dims[k] / x->dims[k] : 0;
    s[2 * k] = 0;
    d[2 * k + 1] = x->dims[k];
    s[2 * k + 1] = xs[k];
  }
  (c->force_ref ? eo_xx_strided_copy__ref : eo_xx_strided_copy__scalar)(eo_dtype_size(x->dtype), 2 * x->rank, d, s,
                                                                         x->data, y->data);
}

EO_DEFINE_OP(tile, .name = "Tile", .infer = tile_infer, .forward = tile_forward, .flops = eo_move_flops_zero);
