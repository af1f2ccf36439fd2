/* Concat along one axis: every input is [outer, d_i * inner]; each outer row of the output is the
 * inputs' rows side by side. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

/* Copies of at least this many bytes (and at most this many inputs: the part tables live on the
 * stack) are split across the pool by eo_xx_parts_copy__mt. Measured on 2 shared cores (2026-11):
 * from 32 KiB to 4 MiB a split copy was no faster than memcpy on one core, even of data the other
 * core had just written (the pool's hand-off costs what the second core saves); at 16 MiB its best
 * time was a third lower (its median, on the loaded machine, was not). */
enum { EO_PARTS_MT_BYTES = 8 << 20, EO_PARTS_MAX = 64 };

static eo_status concat_axis(const eo_op_ctx *c, int rank, int *axis) {
  if (c->opset >= 4 && !eo_node_attr(c->node, "axis"))
    return eo_op_error(c, EO_ERR_INVALID, "attribute 'axis' is required");
  if (rank == 0) return eo_op_error(c, EO_ERR_SHAPE, "cannot concatenate scalars (rank 0)");
  return eo_norm_axis(c, eo_attr_i(c->node, "axis", 1), rank, axis);
}

static eo_status concat_infer(eo_op_ctx *c) {
  if (c->n_in < 1) return eo_op_error(c, EO_ERR_INVALID, "expected at least 1 input");
  for (int i = 0; i < c->n_in; i++)
    if (!c->in[i]) return eo_op_error(c, EO_ERR_INVALID, "input %d is missing", i);
  const eo_tview *x0 = c->in[0];
  size_t es;
  int axis;
  eo_status st = eo_move_elem_size(c, x0->dtype, &es);
  if (st || (st = concat_axis(c, x0->rank, &axis))) return st;
  int64_t dims[EO_MAX_RANK];
  memcpy(dims, x0->dims, sizeof dims);
  for (int i = 1; i < c->n_in; i++) {
    const eo_tview *x = c->in[i];
    char s0[160], si[160];
    eo_shape_str(x0->rank, x0->dims, s0, sizeof s0);
    eo_shape_str(x->rank, x->dims, si, sizeof si);
    if (x->dtype != x0->dtype)
      return eo_op_error(c, EO_ERR_SHAPE, "input %d is %s, input 0 is %s", i, eo_dtype_name(x->dtype),
                         eo_dtype_name(x0->dtype));
    if (x->rank != x0->rank)
      return eo_op_error(c, EO_ERR_SHAPE, "input %d has shape %s, input 0 has %s: ranks differ", i, si, s0);
    for (int k = 0; k < x->rank; k++)
      if (k != axis && x->dims[k] != x0->dims[k])
        return eo_op_error(c, EO_ERR_SHAPE, "input %d has shape %s, input 0 has %s: dim %d differs (axis is %d)", i,
                           si, s0, k, axis);
    dims[axis] += x->dims[axis];
  }
  eo_tview_set_shape(c->out[0], x0->dtype, x0->rank, dims);
  return EO_OK;
}

static void concat_forward(eo_op_ctx *c) {
  const eo_tview *y = c->out[0];
  int axis;
  concat_axis(c, y->rank, &axis);
  size_t es = eo_dtype_size(y->dtype);
  int64_t outer = eo_numel(axis, y->dims), inner = eo_numel(y->rank - axis - 1, y->dims + axis + 1);
  char *yp = y->data;
  if (!c->force_ref && c->n_in <= EO_PARTS_MAX && (size_t)eo_tview_numel(y) * es >= EO_PARTS_MT_BYTES) {
    // large: chunks of the output on the pool (each core pulls part of what the other just wrote)
    size_t bytes[EO_PARTS_MAX];
    void *parts[EO_PARTS_MAX];
    for (int i = 0; i < c->n_in; i++) {
      bytes[i] = (size_t)(c->in[i]->dims[axis] * inner) * es;
      parts[i] = c->in[i]->data;
    }
    eo_xx_parts_copy__mt(outer, c->n_in, bytes, parts, yp, true, c->pool);
    return;
  }
  for (int64_t o = 0; o < outer; o++) {
    for (int i = 0; i < c->n_in; i++) {
      size_t row = (size_t)(c->in[i]->dims[axis] * inner) * es;
      if (row) memcpy(yp, (const char *)c->in[i]->data + (size_t)o * row, row);
      yp += row;
    }
  }
}

EO_DEFINE_OP(concat, .name = "Concat", .infer = concat_infer, .forward = concat_forward,
             .flops = eo_move_flops_zero);
