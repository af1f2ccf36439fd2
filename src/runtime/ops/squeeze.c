/* Squeeze: removes the listed size-1 axes (attribute before opset 13, optional input 1 after), or
 * every size-1 axis when none are given. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

/* Axes to remove as a mask over the input rank; error if an axis is out of range or not size 1. */
static eo_status squeeze_mask(const eo_op_ctx *c, bool *drop) {
  const eo_tview *x = c->in[0];
  int64_t axes[EO_MAX_RANK];
  int n = -1;
  if (c->opset >= 13) {
    if (c->n_in > 1 && c->in[1]) {
      eo_status st = eo_move_const_ints(c, 1, "axes", axes, EO_MAX_RANK, &n);
      if (st) return st;
    }
  } else {
    const int64_t *a;
    n = eo_attr_ints(c->node, "axes", &a);
    if (n > EO_MAX_RANK) return eo_op_error(c, EO_ERR_INVALID, "%d axes given for rank %d", n, x->rank);
    if (n > 0) memcpy(axes, a, (size_t)n * sizeof *a);
  }
  for (int k = 0; k < x->rank; k++) drop[k] = n < 0 && x->dims[k] == 1;
  for (int i = 0; i < n; i++) {
    int ax;
    eo_status st = eo_norm_axis(c, axes[i], x->rank, &ax);
    if (st) return st;
    if (x->dims[ax] != 1) {
      char s[160];
      return eo_op_error(c, EO_ERR_SHAPE, "cannot squeeze axis %lld of shape %s: its size is %lld, expected 1",
                         (long long)axes[i], eo_shape_str(x->rank, x->dims, s, sizeof s), (long long)x->dims[ax]);
    }
    drop[ax] = true;
  }
  return EO_OK;
}

static eo_status squeeze_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || !c->in[0]) return eo_op_error(c, EO_ERR_INVALID, "expected input 'data'");
  const eo_tview *x = c->in[0];
  bool drop[EO_MAX_RANK];
  eo_status st = eo_move_check_bytes(c, x->dtype);
  if (st || (st = squeeze_mask(c, drop))) return st;
  int64_t dims[EO_MAX_RANK];
  int r = 0;
  for (int k = 0; k < x->rank; k++)
    if (!drop[k]) dims[r++] = x->dims[k];
  eo_tview_set_shape(c->out[0], x->dtype, r, dims);
  return EO_OK;
}

static void squeeze_forward(eo_op_ctx *c) {
  size_t bytes = 0;
  eo_dtype_bytes(c->in[0]->dtype, eo_tview_numel(c->in[0]), &bytes);
  if (bytes) memcpy(c->out[0]->data, c->in[0]->data, bytes);
}

EO_DEFINE_OP(squeeze, .name = "Squeeze", .infer = squeeze_infer, .forward = squeeze_forward,
             .flops = eo_move_flops_zero);
