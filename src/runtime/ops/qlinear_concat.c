/* QLinearConcat (com.microsoft; also the fuse_qdq_ops pass's form of DQ... -> Concat -> Q): inputs
 * Y_scale, Y_zero_point, then (X_i, X_i_scale, X_i_zero_point) per tensor; attribute axis. As ONNX
 * Runtime does it: an input whose scale and zero point equal Y's is copied, any other goes through a
 * 256-entry requantization table (dequantize, QuantizeLinear; kernels/ref/qlinear_kernels.h). Tables
 * are built at prepare when the parameters are constants, else at each forward in scratch. */
#include <string.h>

#include "runtime/kernels/ref/qlinear_kernels.h"
#include "runtime/ops/qlinear_util.h"

enum { IYS, IYZ, IX0 };

static int n_tensors(const eo_op_ctx *c) { return (c->n_in - 2) / 3; }

static eo_status qcat_axis(const eo_op_ctx *c, int rank, int *axis) {
  if (!eo_node_attr(c->node, "axis")) return eo_op_error(c, EO_ERR_INVALID, "attribute 'axis' is required");
  if (rank == 0) return eo_op_error(c, EO_ERR_SHAPE, "cannot concatenate scalars (rank 0)");
  return eo_norm_axis(c, eo_attr_i(c->node, "axis", 1), rank, axis);
}

static eo_status qcat_infer(eo_op_ctx *c) {
  if (c->n_in < 5 || (c->n_in - 2) % 3 != 0 || c->n_out < 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expected Y_scale, Y_zero_point and (X, X_scale, X_zero_point) tuples, got %d inputs",
                       c->n_in);
  const eo_tview *yz = c->in[IYZ], *x0 = c->in[IX0];
  if (!yz || !eo_ql_is_q8(yz->dtype)) return eo_op_error(c, EO_ERR_INVALID, "Y_zero_point is required (int8 or uint8)");
  eo_status st;
  if ((st = eo_ql_check(c, IYS, IYZ, yz->dtype, "Y"))) return st;
  if (!x0) return eo_op_error(c, EO_ERR_INVALID, "input 0 is missing");
  int axis;
  if ((st = qcat_axis(c, x0->rank, &axis))) return st;
  int64_t dims[EO_MAX_RANK];
  memcpy(dims, x0->dims, sizeof dims);
  char s0[160], si[160];
  for (int k = 0; k < n_tensors(c); k++) {
    const eo_tview *x = c->in[IX0 + 3 * k];
    if (!x || !c->in[IX0 + 3 * k + 2]) return eo_op_error(c, EO_ERR_INVALID, "tensor %d or its zero point is missing", k);
    if (x->dtype != yz->dtype)
      return eo_op_error(c, EO_ERR_SHAPE, "tensor %d is %s, Y is %s", k, eo_dtype_name(x->dtype), eo_dtype_name(yz->dtype));
    if ((st = eo_ql_check(c, IX0 + 3 * k + 1, IX0 + 3 * k + 2, x->dtype, "X"))) return st;
    eo_shape_str(x0->rank, x0->dims, s0, sizeof s0);
    eo_shape_str(x->rank, x->dims, si, sizeof si);
    if (x->rank != x0->rank) return eo_op_error(c, EO_ERR_SHAPE, "tensor %d has shape %s, tensor 0 has %s", k, si, s0);
    for (int d = 0; d < x->rank; d++)
      if (d != axis && x->dims[d] != x0->dims[d])
        return eo_op_error(c, EO_ERR_SHAPE, "tensor %d has shape %s, tensor 0 has %s: dim %d differs (axis %d)", k, si,
                           s0, d, axis);
    if (k > 0) dims[axis] += x->dims[axis];
  }
  eo_tview_set_shape(c->out[0], yz->dtype, x0->rank, dims);
  return EO_OK;
}

/* state: per tensor 1 = copy, 0 = table; tables [n][256]; fixed: built at prepare */
typedef struct qcat_state {
  eo_q8_lut_fn apply;  /* the lookup kernel, picked once */
  bool fixed;
  uint8_t *copy;
  uint8_t *tables;
} qcat_state;

static void qcat_release(void *state) {
  qcat_state *s = state;
  if (s) {
    free(s->copy);
    free(s->tables);
  }
  free(s);
}

static void build(const eo_op_ctx *c, uint8_t *copy, uint8_t *tables) {
  bool s8 = c->in[IYZ]->dtype == EO_INT8;
  float ys = eo_ql_scale(c, IYS);
  int32_t yz = eo_ql_zp(c, IYZ);
  for (int k = 0; k < n_tensors(c); k++) {
    float xs = eo_ql_scale(c, IX0 + 3 * k + 1);
    int32_t xz = eo_ql_zp(c, IX0 + 3 * k + 2);
    copy[k] = xs == ys && xz == yz;
    if (!copy[k]) eo_q8_lut_requant(s8, xs, xz, ys, yz, tables + 256 * k);
  }
}

static eo_status qcat_prepare(eo_op_ctx *c) {
  int n = n_tensors(c);
  bool fixed = true;
  for (int i = 0; i < c->n_in; i++)
    if ((i == IYS || i == IYZ || (i - IX0) % 3 != 0) && c->in[i] && !c->in[i]->data) fixed = false;
  qcat_state *s = eo_calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  c->state = s;
  s->fixed = fixed;
  s->apply = eo_q8_lut_pick(c->force_ref);
  if (!fixed) {
    c->scratch_bytes = (size_t)n * 257;
    return EO_OK;
  }
  s->copy = eo_malloc((size_t)n);
  s->tables = eo_malloc((size_t)n * 256);
  if (!s->copy || !s->tables) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  build(c, s->copy, s->tables);
  return EO_OK;
}

static void qcat_forward(eo_op_ctx *c) {
  const qcat_state *s = c->state;
  int n = n_tensors(c);
  const uint8_t *copy = s->copy, *tables = s->tables;
  if (!s->fixed) {
    uint8_t *sc = c->scratch;
    build(c, sc, sc + n);
    copy = sc;
    tables = sc + n;
  }
  const eo_tview *y = c->out[0];
  int axis;
  qcat_axis(c, y->rank, &axis);
  int64_t outer = eo_numel(axis, y->dims), inner = eo_numel(y->rank - axis - 1, y->dims + axis + 1);
  uint8_t *yp = y->data;
  for (int64_t o = 0; o < outer; o++) {
    for (int k = 0; k < n; k++) {
      const eo_tview *x = c->in[IX0 + 3 * k];
      int64_t row = x->dims[axis] * inner;
      const uint8_t *xp = (const uint8_t *)x->data + o * row;
      if (copy[k]) {
        if (row) memcpy(yp, xp, (size_t)row);
      } else {
        s->apply(tables + 256 * k, row, xp, yp);
      }
      yp += row;
    }
  }
}

EO_DEFINE_OP(qlinear_concat, .name = "QLinearConcat", .infer = qcat_infer, .prepare = qcat_prepare,
             .forward = qcat_forward, .release = qcat_release);
