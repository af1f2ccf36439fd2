/* Clip(x, min, max). Opset < 11: float attributes 'min'/'max'; from 11: optional scalar inputs, read
 * at run time (they need not be constant). An absent bound is the dtype's range. min > max gives max
 * everywhere (max is applied last, as the spec says); NaN passes through. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/ref/eltwise.h"
#include "runtime/op.h"

/* lo / hi point at one element of the input dtype, or NULL for no bound. */
typedef void (*clip_fn)(const void *x, void *y, int64_t n, const void *lo, const void *hi);

#define CLIP_GEN(dt, sfx, T, C, U, CLS, LD, ST, LO, HI)                                         \
  static void clip_##sfx(const void *px, void *py, int64_t n, const void *plo, const void *phi) { \
    const T *x = px;                                                                            \
    T *y = py;                                                                                  \
    C lo = plo ? LD(*(const T *)plo) : (C)(LO), hi = phi ? LD(*(const T *)phi) : (C)(HI);       \
    for (int64_t i = 0; i < n; i++) {                                                           \
      C v = LD(x[i]);                                                                           \
      v = v < lo ? lo : v;                                                                      \
      y[i] = ST(v > hi ? hi : v);                                                               \
    }                                                                                           \
  }                                                                                             \
  static void clip_attr_##sfx(void *dst, float v) {                                             \
    *(T *)dst = ST((C)v);                                                                       \
  }
EO_ELT_NUMERIC_DTYPES(CLIP_GEN)

#define CLIP_SLOT(dt, sfx, ...) {dt, clip_##sfx, clip_attr_##sfx},
static const struct {
  int dtype;
  clip_fn fn;
  void (*from_float)(void *dst, float v);
} clip_table[] = {EO_ELT_NUMERIC_DTYPES(CLIP_SLOT)};

static int clip_find(int dtype) {
  for (int i = 0; i < (int)(sizeof clip_table / sizeof clip_table[0]); i++)
    if (clip_table[i].dtype == dtype) return i;
  return -1;
}

static bool clip_ok(int op, int dtype) { return clip_find(dtype) >= 0; }

typedef struct clip_state {
  clip_fn fn;
  bool attrs;             /* opset < 11: bounds from attributes, stored below */
  bool has_lo, has_hi;
  uint64_t lo, hi;        /* one element of the input dtype */
} clip_state;

static eo_status clip_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || c->n_in > 3 || !c->in[0] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 to 3 inputs and 1 output, got %d and %d", c->n_in, c->n_out);
  const eo_tview *x = c->in[0];
  if (clip_find(x->dtype) < 0) {
    char buf[256];
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input dtype %s is not supported (expected one of: %s)",
                       eo_dtype_name(x->dtype), eo_elt_dtype_list(clip_ok, EO_OP_CLIP, buf, sizeof buf));
  }
  if (c->opset < 11 && c->n_in > 1)
    return eo_op_error(c, EO_ERR_INVALID, "opset %lld takes min/max as attributes, got %d inputs",
                       (long long)c->opset, c->n_in);
  if (c->opset < 11 && !eo_dtype_is_float(x->dtype))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "opset %lld Clip takes float inputs, got %s", (long long)c->opset,
                       eo_dtype_name(x->dtype));
  for (int i = 1; i < c->n_in; i++) {
    const eo_tview *b = c->in[i];
    if (!b) continue;
    if (b->dtype != x->dtype)
      return eo_op_error(c, EO_ERR_SHAPE, "%s must have the input's dtype %s, got %s", i == 1 ? "min" : "max",
                         eo_dtype_name(x->dtype), eo_dtype_name(b->dtype));
    if (eo_tview_numel(b) != 1) {
      char sb[128];
      return eo_op_error(c, EO_ERR_SHAPE, "%s must be a scalar, got shape %s", i == 1 ? "min" : "max",
                         eo_shape_str(b->rank, b->dims, sb, sizeof sb));
    }
  }
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

static eo_status clip_prepare(eo_op_ctx *c) {
  clip_state *s = calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  int k = clip_find(c->in[0]->dtype);
  s->fn = clip_table[k].fn;
  s->attrs = c->opset < 11;
  if (s->attrs) {
    s->has_lo = eo_node_attr(c->node, "min") != NULL;
    s->has_hi = eo_node_attr(c->node, "max") != NULL;
    if (s->has_lo) clip_table[k].from_float(&s->lo, eo_attr_f(c->node, "min", 0));
    if (s->has_hi) clip_table[k].from_float(&s->hi, eo_attr_f(c->node, "max", 0));
  }
  c->state = s;
  return EO_OK;
}

static void clip_forward(eo_op_ctx *c) {
  const clip_state *s = c->state;
  const void *lo, *hi;
  if (s->attrs) {
    lo = s->has_lo ? (const void *)&s->lo : NULL;
    hi = s->has_hi ? (const void *)&s->hi : NULL;
  } else {
    lo = c->n_in > 1 && c->in[1] ? c->in[1]->data : NULL;
    hi = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
  }
  s->fn(c->in[0]->data, c->out[0]->data, eo_tview_numel(c->out[0]), lo, hi);
}

EO_DEFINE_OP(clip, .name = "Clip", .infer = clip_infer, .prepare = clip_prepare, .forward = clip_forward, .release = free);
