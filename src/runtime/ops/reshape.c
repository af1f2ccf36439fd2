/* Reshape (opset 5+: shape is input 1; opset 14: allowzero). 0 copies the input dim at that
 * position (or is a real 0 with allowzero=1), -1 is inferred from the element count. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

static eo_status reshape_infer(eo_op_ctx *c) {
  if (c->n_in < 2 || !c->in[0] || !c->in[1])
    return eo_op_error(c, EO_ERR_INVALID, "expected inputs (data, shape), found %d", c->n_in);
  const eo_tview *x = c->in[0];
  if (eo_move_check_bytes(c, x->dtype)) return EO_ERR_UNSUPPORTED;
  int64_t shape[EO_MAX_RANK], dims[EO_MAX_RANK];
  int n = 0;
  eo_status st = eo_move_const_ints(c, 1, "shape", shape, EO_MAX_RANK, &n);
  if (st) return st;
  bool allowzero = c->opset >= 14 && eo_attr_i(c->node, "allowzero", 0) != 0;
  int64_t numel = eo_tview_numel(x), known = 1;
  int infer_at = -1;
  char sx[160], ss[160];
  eo_shape_str(x->rank, x->dims, sx, sizeof sx);
  eo_shape_str(n, shape, ss, sizeof ss);
  if (numel < 0) return eo_op_error(c, EO_ERR_SHAPE, "input shape %s is not fully known", sx);
  for (int i = 0; i < n; i++) {
    int64_t v = shape[i];
    if (v == 0 && !allowzero) {
      if (i >= x->rank)
        return eo_op_error(c, EO_ERR_SHAPE, "shape %s: 0 at position %d copies an input dim, but the input %s has rank %d",
                           ss, i, sx, x->rank);
      v = x->dims[i];
    } else if (v == -1) {
      if (infer_at >= 0) return eo_op_error(c, EO_ERR_SHAPE, "shape %s has more than one -1", ss);
      infer_at = i;
      dims[i] = -1;
      continue;
    } else if (v < -1) {
      return eo_op_error(c, EO_ERR_SHAPE, "shape %s has invalid value %lld at position %d", ss, (long long)v, i);
    }
    dims[i] = v;
    if (!eo_mul_i64(known, v, &known)) return eo_op_error(c, EO_ERR_SHAPE, "shape %s overflows", ss);
  }
  if (infer_at >= 0) {
    if (allowzero && known == 0)
      return eo_op_error(c, EO_ERR_SHAPE, "shape %s: allowzero=1 with both 0 and -1 is invalid", ss);
    if (known == 0 || numel % known != 0)
      return eo_op_error(c, EO_ERR_SHAPE, "cannot reshape input %s (%lld elements) to %s", sx, (long long)numel, ss);
    dims[infer_at] = numel / known;
  } else if (known != numel) {
    return eo_op_error(c, EO_ERR_SHAPE, "cannot reshape input %s (%lld elements) to %s (%lld elements)", sx,
                       (long long)numel, ss, (long long)known);
  }
  eo_tview_set_shape(c->out[0], x->dtype, n, dims);
  return EO_OK;
}

static void reshape_forward(eo_op_ctx *c) {
  size_t bytes = 0;
  eo_dtype_bytes(c->in[0]->dtype, eo_tview_numel(c->in[0]), &bytes);
  if (bytes) memcpy(c->out[0]->data, c->in[0]->data, bytes);
}

EO_DEFINE_OP(reshape, .name = "Reshape", .infer = reshape_infer, .forward = reshape_forward,
             .flops = eo_move_flops_zero);
