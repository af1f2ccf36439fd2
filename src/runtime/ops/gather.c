/* Gather: out = data[..., indices[j...], ...] along `axis`; output shape is
 * data.shape[:axis] + indices.shape + data.shape[axis+1:]. Negative indices count from the end. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

static eo_status gather_infer(eo_op_ctx *c) {
  if (c->n_in < 2 || !c->in[0] || !c->in[1])
    return eo_op_error(c, EO_ERR_INVALID, "expected inputs (data, indices)");
  const eo_tview *x = c->in[0], *idx = c->in[1];
  size_t es;
  int axis;
  eo_status st = eo_move_elem_size(c, x->dtype, &es);
  if (st) return st;
  if (x->rank == 0) return eo_op_error(c, EO_ERR_SHAPE, "data must have rank >= 1, found a scalar");
  if ((st = eo_norm_axis(c, eo_attr_i(c->node, "axis", 0), x->rank, &axis))) return st;
  if (idx->dtype != EO_INT64 && idx->dtype != EO_INT32)
    return eo_op_error(c, EO_ERR_SHAPE, "indices must be int32 or int64, found %s", eo_dtype_name(idx->dtype));
  int r = x->rank - 1 + idx->rank;
  if (r > EO_MAX_RANK) return eo_op_error(c, EO_ERR_UNSUPPORTED, "output rank %d exceeds %d", r, EO_MAX_RANK);
  int64_t d = x->dims[axis];
  if (idx->data) {  // constant indices: reject out-of-range ones now (ONNX leaves them undefined)
    int64_t n = eo_tview_numel(idx);
    for (int64_t j = 0; j < n; j++) {
      int64_t k = eo_tview_get_i64(idx, j);
      if (k < -d || k >= d)
        return eo_op_error(c, EO_ERR_INVALID, "index %lld out of range [%lld, %lld) for axis %d", (long long)k,
                           (long long)-d, (long long)d, axis);
    }
  }
  int64_t dims[EO_MAX_RANK];
  int j = 0;
  for (int k = 0; k < axis; k++) dims[j++] = x->dims[k];
  for (int k = 0; k < idx->rank; k++) dims[j++] = idx->dims[k];
  for (int k = axis + 1; k < x->rank; k++) dims[j++] = x->dims[k];
  eo_tview_set_shape(c->out[0], x->dtype, r, dims);
  return EO_OK;
}

static void gather_forward(eo_op_ctx *c) {
  const eo_tview *x = c->in[0], *idx = c->in[1];
  int axis;
  eo_norm_axis(c, eo_attr_i(c->node, "axis", 0), x->rank, &axis);
  eo_xx_gather__ref(eo_dtype_size(x->dtype), eo_numel(axis, x->dims), x->dims[axis],
                    eo_numel(x->rank - axis - 1, x->dims + axis + 1), idx->data, idx->dtype == EO_INT64,
                    eo_tview_numel(idx), x->data, c->out[0]->data);
}

EO_DEFINE_OP(gather, .name = "Gather", .infer = gather_infer, .forward = gather_forward, .flops = eo_move_flops_zero);
