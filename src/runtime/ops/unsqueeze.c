/* Unsqueeze: inserts size-1 axes at the listed positions of the output (attribute before opset 13,
 * required input 1 after). Axes may be negative and unsorted; duplicates are an error. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

static eo_status unsqueeze_axes(eo_op_ctx *c, int64_t *axes, int *n) {
  if (c->opset >= 13) {
    if (c->n_in < 2 || !c->in[1]) return eo_op_error(c, EO_ERR_INVALID, "input 1 'axes' is required at opset >= 13");
    return eo_move_const_ints(c, 1, "axes", axes, EO_MAX_RANK, n);
  }
  const int64_t *a;
  *n = eo_attr_ints(c->node, "axes", &a);
  if (*n < 0) return eo_op_error(c, EO_ERR_INVALID, "attribute 'axes' is required");
  if (*n > EO_MAX_RANK) return eo_op_error(c, EO_ERR_INVALID, "%d axes given, at most %d supported", *n, EO_MAX_RANK);
  if (*n) memcpy(axes, a, (size_t)*n * sizeof *a);
  return EO_OK;
}

static eo_status unsqueeze_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || !c->in[0]) return eo_op_error(c, EO_ERR_INVALID, "expected input 'data'");
  const eo_tview *x = c->in[0];
  if (eo_move_check_bytes(c, x->dtype)) return EO_ERR_UNSUPPORTED;
  int64_t axes[EO_MAX_RANK], dims[EO_MAX_RANK];
  int n = 0;
  eo_status st = unsqueeze_axes(c, axes, &n);
  if (st) return st;
  int r = x->rank + n;
  if (r > EO_MAX_RANK) return eo_op_error(c, EO_ERR_UNSUPPORTED, "output rank %d exceeds %d", r, EO_MAX_RANK);
  bool ins[EO_MAX_RANK] = {false};
  for (int i = 0; i < n; i++) {
    int ax;
    if ((st = eo_norm_axis(c, axes[i], r, &ax))) return st;
    if (ins[ax]) return eo_op_error(c, EO_ERR_INVALID, "axis %lld is listed twice", (long long)axes[i]);
    ins[ax] = true;
  }
  for (int k = 0, j = 0; k < r; k++) dims[k] = ins[k] ? 1 : x->dims[j++];
  eo_tview_set_shape(c->out[0], x->dtype, r, dims);
  return EO_OK;
}

static void unsqueeze_forward(eo_op_ctx *c) {
  size_t bytes = 0;
  eo_dtype_bytes(c->in[0]->dtype, eo_tview_numel(c->in[0]), &bytes);
  if (bytes) memcpy(c->out[0]->data, c->in[0]->data, bytes);
}

EO_DEFINE_OP(unsqueeze, .name = "Unsqueeze", .infer = unsqueeze_infer, .forward = unsqueeze_forward,
             .flops = eo_move_flops_zero);
