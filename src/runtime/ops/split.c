/* Split along one axis into n_out parts: explicit sizes ('split' attribute before opset 13, input 1
 * after), else equal parts (opset 18 'num_outputs': ceil-sized chunks, the last one smaller). */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

/* Copies of at least this many bytes (and at most this many outputs: the part tables live on the
 * stack) are split across the pool by eo_xx_parts_copy__mt (smaller copies measured no faster
 * split: see concat.c). */
enum { EO_PARTS_MT_BYTES = 8 << 20, EO_PARTS_MAX = 64 };

typedef struct split_spec {
  const int64_t *list;     /* explicit sizes from the attribute, or */
  const eo_tview *input;   /* explicit sizes from input 1 */
  int64_t chunk, dim;      /* otherwise equal chunks of `chunk` (the last gets the rest) */
  int axis;
} split_spec;

static int64_t split_size(const split_spec *s, int i, int n_out) {
  if (s->list) return s->list[i];
  if (s->input) return eo_tview_get_i64(s->input, i);
  return i < n_out - 1 ? s->chunk : s->dim - s->chunk * (n_out - 1);
}

static eo_status split_spec_get(const eo_op_ctx *c, split_spec *s) {
  const eo_tview *x = c->in[0];
  memset(s, 0, sizeof *s);
  if (x->rank == 0) return eo_op_error(c, EO_ERR_SHAPE, "cannot split a scalar (rank 0)");
  eo_status st = eo_norm_axis(c, eo_attr_i(c->node, "axis", 0), x->rank, &s->axis);
  if (st) return st;
  s->dim = x->dims[s->axis];
  int n = -1;
  if (c->opset >= 13) {
    if (c->n_in > 1 && c->in[1]) {
      s->input = c->in[1];
      if (s->input->dtype != EO_INT64 && s->input->dtype != EO_INT32)
        return eo_op_error(c, EO_ERR_SHAPE, "input 1 'split' must be int64, found %s", eo_dtype_name(s->input->dtype));
      if (!s->input->data)
        return eo_op_error(c, EO_ERR_UNSUPPORTED,
                           "input 1 'split' must be a constant (initializer or folded value) to infer the output shapes");
      n = (int)eo_tview_numel(s->input);
    }
  } else {
    n = eo_attr_ints(c->node, "split", &s->list);
    if (n < 0) s->list = NULL;
  }
  if (n < 0) {  // equal parts
    int64_t parts = c->n_out;
    if (c->opset >= 18 && eo_node_attr(c->node, "num_outputs")) {
      parts = eo_attr_i(c->node, "num_outputs", 0);
      if (parts != c->n_out)
        return eo_op_error(c, EO_ERR_INVALID, "num_outputs is %lld but the node has %d outputs", (long long)parts,
                           c->n_out);
    }
    if (parts < 1) return eo_op_error(c, EO_ERR_INVALID, "expected at least 1 output");
    if (c->opset < 18 && s->dim % parts != 0)
      return eo_op_error(c, EO_ERR_SHAPE, "axis %d of size %lld cannot be split into %lld equal parts", s->axis,
                         (long long)s->dim, (long long)parts);
    s->chunk = (s->dim + parts - 1) / parts;
    if (s->dim - s->chunk * (parts - 1) < 0)
      return eo_op_error(c, EO_ERR_SHAPE, "axis %d of size %lld cannot be split into %lld chunks of %lld", s->axis,
                         (long long)s->dim, (long long)parts, (long long)s->chunk);
    return EO_OK;
  }
  if (n != c->n_out)
    return eo_op_error(c, EO_ERR_INVALID, "'split' has %d sizes but the node has %d outputs", n, c->n_out);
  int64_t sum = 0;
  for (int i = 0; i < n; i++) {
    int64_t v = split_size(s, i, n);
    if (v < 0) return eo_op_error(c, EO_ERR_INVALID, "'split' size %d is negative (%lld)", i, (long long)v);
    sum += v;
  }
  if (sum != s->dim)
    return eo_op_error(c, EO_ERR_SHAPE, "'split' sizes sum to %lld, but axis %d has size %lld", (long long)sum, s->axis,
                       (long long)s->dim);
  return EO_OK;
}

static eo_status split_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || !c->in[0]) return eo_op_error(c, EO_ERR_INVALID, "expected input 'input'");
  const eo_tview *x = c->in[0];
  size_t es;
  split_spec s;
  eo_status st = eo_move_elem_size(c, x->dtype, &es);
  if (st || (st = split_spec_get(c, &s))) return st;
  for (int i = 0; i < c->n_out; i++) {
    if (!c->out[i]) continue;
    int64_t dims[EO_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[s.axis] = split_size(&s, i, c->n_out);
    eo_tview_set_shape(c->out[i], x->dtype, x->rank, dims);
  }
  return EO_OK;
}

static void split_forward(eo_op_ctx *c) {
  const eo_tview *x = c->in[0];
  split_spec s;
  split_spec_get(c, &s);
  size_t es = eo_dtype_size(x->dtype);
  int64_t outer = eo_numel(s.axis, x->dims), inner = eo_numel(x->rank - s.axis - 1, x->dims + s.axis + 1);
  const char *xp = x->data;
  if (!c->force_ref && c->n_out <= EO_PARTS_MAX && (size_t)eo_tview_numel(x) * es >= EO_PARTS_MT_BYTES) {
    size_t bytes[EO_PARTS_MAX];
    void *parts[EO_PARTS_MAX];
    for (int i = 0; i < c->n_out; i++) {
      bytes[i] = (size_t)(split_size(&s, i, c->n_out) * inner) * es;
      parts[i] = c->out[i] ? c->out[i]->data : NULL;
    }
    eo_xx_parts_copy__mt(outer, c->n_out, bytes, parts, (void *)xp, false, c->pool);
    return;
  }
  for (int64_t o = 0; o < outer; o++) {
    for (int i = 0; i < c->n_out; i++) {
      int64_t part = split_size(&s, i, c->n_out);
      size_t row = (size_t)(part * inner) * es;
      if (c->out[i] && row) memcpy((char *)c->out[i]->data + (size_t)o * row, xp, row);
      xp += row;
    }
  }
}

EO_DEFINE_OP(split, .name = "Split", .infer = split_infer, .forward = split_forward, .flops = eo_move_flops_zero);
