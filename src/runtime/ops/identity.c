/* Identity, and Dropout in inference (the only mode edgeopt runs): output = input, the optional mask
 * is all true (opset >= 10: bool; before: ones of the input dtype). Dropout with training_mode true
 * (or not known at prepare) is rejected rather than silently run as identity. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/ref/eltwise.h"
#include "runtime/op.h"

static eo_status copy_infer(eo_op_ctx *c, const eo_tview *x) {
  size_t bytes;
  if (x->dtype == EO_STRING || !eo_dtype_bytes(x->dtype, eo_tview_numel(x), &bytes))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input dtype %s is not supported (expected a numeric or bool tensor)",
                       eo_dtype_name(x->dtype));
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

static void copy_forward(eo_op_ctx *c) {
  size_t bytes = 0;
  eo_dtype_bytes(c->in[0]->dtype, eo_tview_numel(c->in[0]), &bytes);
  if (bytes) memcpy(c->out[0]->data, c->in[0]->data, bytes);
}

static eo_status identity_infer(eo_op_ctx *c) {
  if (c->n_in != 1 || !c->in[0] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 tensor input and 1 output, got %d and %d", c->n_in, c->n_out);
  return copy_infer(c, c->in[0]);
}

EO_DEFINE_OP(identity, .name = "Identity", .infer = identity_infer, .forward = copy_forward);

/* Writes the value 1 of `dtype` into *dst; false for dtypes without one. */
static bool one_of(int dtype, void *dst) {
  switch (dtype) {
#define ONE_CASE(dt, sfx, T, C, U, CLS, LD, ST, LO, HI) \
  case dt: {                                      \
    T v = ST((C)1);                                \
    memcpy(dst, &v, sizeof v);                     \
    return true;                                   \
  }
    EO_ELT_ALL_DTYPES(ONE_CASE)
#undef ONE_CASE
    default: return false;
  }
}

static eo_status dropout_infer(eo_op_ctx *c) {
  if (c->n_in < 1 || c->n_in > 3 || !c->in[0] || c->n_out < 1 || c->n_out > 2 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 to 3 inputs and 1 or 2 outputs, got %d and %d", c->n_in,
                       c->n_out);
  const eo_tview *x = c->in[0];
  if (!eo_dtype_is_float(x->dtype))
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input dtype %s is not supported (expected a float dtype)",
                       eo_dtype_name(x->dtype));
  if (c->n_in == 3 && c->in[2]) {
    const eo_tview *t = c->in[2];
    if (!t->data)
      return eo_op_error(c, EO_ERR_UNSUPPORTED,
                         "input 'training_mode' must be constant (false) at prepare: only inference is supported");
    if (eo_tview_numel(t) != 1 || t->dtype != EO_BOOL)
      return eo_op_error(c, EO_ERR_SHAPE, "'training_mode' must be a bool scalar");
    bool zero_ratio = c->in[1] && c->in[1]->data && eo_tview_numel(c->in[1]) == 1 &&
                      eo_tview_get_f64(c->in[1], 0) == 0;
    if (*(const uint8_t *)t->data && !zero_ratio)
      return eo_op_error(c, EO_ERR_UNSUPPORTED, "training_mode=true is not supported (inference only)");
  }
  eo_status st = copy_infer(c, x);
  if (st) return st;
  if (c->n_out == 2 && c->out[1]) {
    int mdt = c->opset >= 10 ? EO_BOOL : x->dtype;
    eo_tview_set_shape(c->out[1], mdt, x->rank, x->dims);
  }
  return EO_OK;
}

static void dropout_forward(eo_op_ctx *c) {
  copy_forward(c);
  if (c->n_out < 2 || !c->out[1]) return;
  eo_tview *m = c->out[1];
  size_t es = eo_dtype_size(m->dtype);
  unsigned char one[8];
  if (!one_of(m->dtype, one)) return;  // infer allows float dtypes and bool only
  char *p = m->data;
  int64_t n = eo_tview_numel(m);
  for (int64_t i = 0; i < n; i++) memcpy(p + (size_t)i * es, one, es);
}

EO_DEFINE_OP(dropout, .name = "Dropout", .infer = dropout_infer, .forward = dropout_forward);
