/* Slice (opset 1-9: starts/ends/axes attributes; opset 10+: inputs starts, ends, axes, steps).
 * Negative starts/ends count from the end and are clamped (INT64_MAX means "to the end"); negative
 * steps walk backwards. The kernel reads the input through strides step*stride from the first
 * selected element. */
#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

typedef struct slice_params {
  int64_t dims[EO_MAX_RANK];     /* output dims */
  int64_t strides[EO_MAX_RANK];  /* input strides per output axis (elements) */
  int64_t offset;                /* input offset of the first selected element */
} slice_params;

/* Reads one of the slice lists from the attribute (opset < 10) or input i (opset >= 10). *n = -1 when
 * an optional one is absent. */
static eo_status slice_list(const eo_op_ctx *c, int i, const char *name, bool required, int64_t *vals, int *n) {
  *n = -1;
  if (c->opset < 10) {
    if (i == 4) return EO_OK;  // no steps before opset 10
    const int64_t *a;
    int k = eo_attr_ints(c->node, name, &a);
    if (k < 0) return required ? eo_op_error(c, EO_ERR_INVALID, "attribute '%s' is required", name) : EO_OK;
    if (k > EO_MAX_RANK) return eo_op_error(c, EO_ERR_INVALID, "'%s' has %d values, at most %d expected", name, k, EO_MAX_RANK);
    if (k) memcpy(vals, a, (size_t)k * sizeof *a);
    *n = k;
    return EO_OK;
  }
  if (i >= c->n_in || !c->in[i])
    return required ? eo_op_error(c, EO_ERR_INVALID, "input %d '%s' is required", i, name) : EO_OK;
  return eo_move_const_ints(c, i, name, vals, EO_MAX_RANK, n);
}

static eo_status slice_get(const eo_op_ctx *c, slice_params *p) {
  const eo_tview *x = c->in[0];
  int64_t starts[EO_MAX_RANK], ends[EO_MAX_RANK], axes[EO_MAX_RANK], steps[EO_MAX_RANK];
  int ns = 0, ne = 0, na = -1, nt = -1;
  eo_status st;
  if ((st = slice_list(c, 1, "starts", true, starts, &ns)) || (st = slice_list(c, 2, "ends", true, ends, &ne)) ||
      (st = slice_list(c, 3, "axes", false, axes, &na)) || (st = slice_list(c, 4, "steps", false, steps, &nt)))
    return st;
  if (ne != ns) return eo_op_error(c, EO_ERR_INVALID, "starts has %d values but ends has %d", ns, ne);
  if (na >= 0 && na != ns) return eo_op_error(c, EO_ERR_INVALID, "starts has %d values but axes has %d", ns, na);
  if (nt >= 0 && nt != ns) return eo_op_error(c, EO_ERR_INVALID, "starts has %d values but steps has %d", ns, nt);
  if (na < 0 && ns > x->rank)
    return eo_op_error(c, EO_ERR_INVALID, "starts has %d values for an input of rank %d", ns, x->rank);
  int64_t xs[EO_MAX_RANK], start[EO_MAX_RANK], step[EO_MAX_RANK];
  bool seen[EO_MAX_RANK] = {false};
  eo_move_strides(x->rank, x->dims, xs);
  for (int k = 0; k < x->rank; k++) {
    p->dims[k] = x->dims[k];
    start[k] = 0;
    step[k] = 1;
  }
  for (int i = 0; i < ns; i++) {
    int ax = i;
    if (na >= 0 && (st = eo_norm_axis(c, axes[i], x->rank, &ax))) return st;
    if (seen[ax]) return eo_op_error(c, EO_ERR_INVALID, "axis %d is sliced twice", ax);
    seen[ax] = true;
    int64_t d = x->dims[ax], s = starts[i], e = ends[i], t = nt >= 0 ? steps[i] : 1;
    if (t == 0) return eo_op_error(c, EO_ERR_INVALID, "step for axis %d is 0", ax);
    if (s < 0) s += d;
    if (e < 0) e += d;
    int64_t n;
    if (t > 0) {
      s = s < 0 ? 0 : s > d ? d : s;
      e = e < 0 ? 0 : e > d ? d : e;
      n = e > s ? (e - s - 1) / t + 1 : 0;
    } else {
      s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
      e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
      n = s > e ? (s - e - 1) / (t == INT64_MIN ? INT64_MAX : -t) + 1 : 0;
    }
    p->dims[ax] = d > 0 ? n : 0;
    start[ax] = p->dims[ax] ? s : 0;
    step[ax] = t;
  }
  p->offset = 0;
  for (int k = 0; k < x->rank; k++) {
    p->offset += start[k] * xs[k];
    p->strides[k] = p->dims[k] > 1 ? step[k] * xs[k] : 0;  // huge steps select one element
  }
  return EO_OK;
}

static eo_status slice_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || !c->in[0]) return eo_op_error(c, EO_ERR_INVALID, "expected input 'data'");
  size_t es;
  slice_params p;
  eo_status st = eo_move_elem_size(c, c->in[0]->dtype, &es);
  if (st || (st = slice_get(c, &p))) return st;
  eo_tview_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, p.dims);
  return EO_OK;
}

/* Outputs of at least this many bytes are copied on the pool (see EO_PARTS_MT_BYTES in concat.c:
 * smaller copies measured no faster split). */
enum { EO_SLICE_MT_BYTES = 8 << 20 };

static void slice_forward(eo_op_ctx *c) {
  const eo_tview *x = c->in[0];
  slice_params p;
  slice_get(c, &p);
  if (eo_numel(x->rank, p.dims) == 0) return;
  size_t es = eo_dtype_size(x->dtype);
  const char *src = (const char *)x->data + p.offset * (int64_t)es;
  if (c->force_ref) eo_xx_strided_copy__ref(es, x->rank, p.dims, p.strides, src, c->out[0]->data);
  else if ((size_t)eo_numel(x->rank, p.dims) * es >= EO_SLICE_MT_BYTES)
    eo_xx_strided_copy__mt(es, x->rank, p.dims, p.strides, src, c->out[0]->data, c->pool);
  else eo_xx_strided_copy__scalar(es, x->rank, p.dims, p.strides, src, c->out[0]->data);
}

EO_DEFINE_OP(slice, .name = "Slice", .infer = slice_infer, .forward = slice_forward, .flops = eo_move_flops_zero);
