/* ConstantOfShape: a tensor of the shape given by input 0 (int64, constant), every element equal to
 * the one-element 'value' tensor attribute (default float32 0). An empty shape gives a scalar. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

static eo_status cos_value(const eo_op_ctx *c, int *dtype, const void **value) {
  static const float zero = 0.0f;
  const eo_attr *a = eo_node_attr(c->node, "value");
  if (!a) {
    *dtype = EO_FLOAT;
    *value = &zero;
    return EO_OK;
  }
  if (a->type != EO_ATTR_TENSOR || !a->t)
    return eo_op_error(c, EO_ERR_INVALID, "attribute 'value' must be a tensor");
  if (eo_numel(a->t->rank, a->t->dims) != 1)
    return eo_op_error(c, EO_ERR_INVALID, "attribute 'value' must hold one element, found %lld",
                       (long long)eo_numel(a->t->rank, a->t->dims));
  size_t es;
  eo_status st = eo_move_elem_size(c, a->t->dtype, &es);
  if (st) return st;
  if (!a->t->data || a->t->nbytes < es) return eo_op_error(c, EO_ERR_INVALID, "attribute 'value' has no data");
  *dtype = a->t->dtype;
  *value = a->t->data;
  return EO_OK;
}

static eo_status cos_infer(eo_op_ctx *c) {
  int64_t dims[EO_MAX_RANK];
  int n = 0, dtype;
  const void *value;
  eo_status st = eo_move_const_ints(c, 0, "input", dims, EO_MAX_RANK, &n);
  if (st || (st = cos_value(c, &dtype, &value))) return st;
  for (int k = 0; k < n; k++)
    if (dims[k] < 0) return eo_op_error(c, EO_ERR_SHAPE, "shape value %lld at position %d is negative", (long long)dims[k], k);
  if (eo_numel(n, dims) < 0) return eo_op_error(c, EO_ERR_SHAPE, "shape overflows");
  eo_tview_set_shape(c->out[0], dtype, n, dims);
  return EO_OK;
}

static void cos_forward(eo_op_ctx *c) {
  int dtype;
  const void *value;
  cos_value(c, &dtype, &value);
  eo_xx_fill__ref(eo_dtype_size(dtype), eo_tview_numel(c->out[0]), value, c->out[0]->data);
}

EO_DEFINE_OP(constant_of_shape, .name = "ConstantOfShape", .infer = cos_infer, .forward = cos_forward,
             .flops = eo_move_flops_zero);
