/* Transpose: output axis k is input axis perm[k] (default: reversed). The kernel sees the input
 * through permuted strides. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

/* perm (validated) and the output dims. */
static eo_status transpose_perm(const eo_op_ctx *c, int *perm) {
  const eo_tview *x = c->in[0];
  const int64_t *p;
  int n = eo_attr_ints(c->node, "perm", &p);
  if (n < 0) {
    for (int k = 0; k < x->rank; k++) perm[k] = x->rank - 1 - k;
    return EO_OK;
  }
  if (n != x->rank) return eo_op_error(c, EO_ERR_INVALID, "perm has %d values for an input of rank %d", n, x->rank);
  bool seen[EO_MAX_RANK] = {false};
  for (int k = 0; k < n; k++) {
    if (p[k] < 0 || p[k] >= n || seen[p[k]])
      return eo_op_error(c, EO_ERR_INVALID, "perm is not a permutation of 0..%d (value %lld at position %d)", n - 1,
                         (long long)p[k], k);
    seen[p[k]] = true;
    perm[k] = (int)p[k];
  }
  return EO_OK;
}

static eo_status transpose_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || !c->in[0]) return eo_op_error(c, EO_ERR_INVALID, "expected input 'data'");
  const eo_tview *x = c->in[0];
  size_t es;
  int perm[EO_MAX_RANK];
  int64_t dims[EO_MAX_RANK];
  eo_status st = eo_move_elem_size(c, x->dtype, &es);
  if (st || (st = transpose_perm(c, perm))) return st;
  for (int k = 0; k < x->rank; k++) dims[k] = x->dims[perm[k]];
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, dims);
  return EO_OK;
}

static void transpose_forward(eo_op_ctx *c) {
  const eo_tview *x = c->in[0];
  int perm[EO_MAX_RANK];
  int64_t xs[EO_MAX_RANK], ps[EO_MAX_RANK];
  transpose_perm(c, perm);
  eo_move_strides(x->rank, x->dims, xs);
  for (int k = 0; k < x->rank; k++) ps[k] = xs[perm[k]];
  (c->force_ref ? eo_xx_strided_copy__ref : eo_xx_strided_copy__scalar)(
      eo_dtype_size(x->dtype), x->rank, c->out[0]->dims, ps, x->data, c->out[0]->data);
}

EO_DEFINE_OP(transpose, .name = "Transpose", .infer = transpose_infer, .forward = transpose_forward,
             .flops = eo_move_flops_zero);
