/* Min, Max, Sum, Mean over 1..N inputs with multidirectional broadcasting. The output is the
 * accumulator: y = in0 op in1 (both broadcast to y's shape), then y = y op in_k for each further
 * input, using the binary row kernels of ops/binary.c (broadcasting is associative). Mean divides
 * the sum by N at the end. */
#include <stdlib.h>
#include <string.h>

#include "runtime/broadcast.h"
#include "runtime/kernels/ref/eltwise.h"
#include "runtime/op.h"

typedef void (*scale_fn)(void *y, int64_t n, double inv);

#define MEAN_SCALE(dt, sfx, T, C, U, CLS, LD, ST, LO, HI)     \
  static void mean_scale_##sfx(void *py, int64_t n, double d) { \
    T *y = py;                                                \
    for (int64_t i = 0; i < n; i++) y[i] = ST((C)(LD(y[i]) / (C)d)); \
  }
EO_ELT_FLOAT_DTYPES(MEAN_SCALE)

static scale_fn mean_scale(int dtype) {
#define MEAN_CASE(dt, sfx, ...) \
  case dt: return mean_scale_##sfx;
  switch (dtype) {
    EO_ELT_FLOAT_DTYPES(MEAN_CASE)
    default: return NULL;
  }
#undef MEAN_CASE
}

/* The binary kernel each op accumulates with. */
static int acc_op(int op) { return op == EO_OP_MIN ? EO_OP_MIN : op == EO_OP_MAX ? EO_OP_MAX : EO_OP_ADD; }

static bool var_ok(int op, int dtype) {
  if (op == EO_OP_MEAN && !mean_scale(dtype)) return false;
  return eo_binary_row(acc_op(op), dtype) != NULL;
}

typedef struct var_state {
  eo_bin_row_fn row;
  scale_fn scale;
  size_t es;
  int n_steps;
  eo_broadcast steps[];  /* step k combines (k ? y : in0) with in[k + 1] */
} var_state;

static eo_status var_infer(eo_op_ctx *c, int op) {
  if (c->n_in < 1 || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects at least 1 input and 1 output, got %d and %d", c->n_in, c->n_out);
  int dt = c->in[0] ? c->in[0]->dtype : 0;
  for (int i = 0; i < c->n_in; i++) {
    if (!c->in[i]) return eo_op_error(c, EO_ERR_INVALID, "input %d is missing", i);
    if (c->in[i]->dtype != dt)
      return eo_op_error(c, EO_ERR_SHAPE, "inputs must have the same dtype: input 0 is %s, input %d is %s",
                         eo_dtype_name(dt), i, eo_dtype_name(c->in[i]->dtype));
  }
  if (!var_ok(op, dt)) {
    char buf[256];
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input dtype %s is not supported (expected one of: %s)",
                       eo_dtype_name(dt), eo_elt_dtype_list(var_ok, op, buf, sizeof buf));
  }
  int rank;
  int64_t dims[EO_MAX_RANK];
  eo_status st = eo_broadcast_shape_n(c, c->n_in, c->in, &rank, dims);
  if (st) return st;
  eo_tview_set_shape(c->out[0], dt, rank, dims);
  return EO_OK;
}

static eo_status var_prepare(eo_op_ctx *c, int op) {
  int n_steps = c->n_in - 1;
  var_state *s = calloc(1, sizeof *s + (size_t)n_steps * sizeof(eo_broadcast));
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory for %d inputs", c->n_in);
  const eo_tview *y = c->out[0];
  s->row = eo_binary_row(acc_op(op), y->dtype);
  s->scale = op == EO_OP_MEAN ? mean_scale(y->dtype) : NULL;
  s->es = eo_dtype_size(y->dtype);
  s->n_steps = n_steps;
  for (int k = 0; k < n_steps; k++) {
    const eo_tview *in[2] = {k ? y : c->in[0], c->in[k + 1]};
    eo_broadcast_init(&s->steps[k], y, 2, in);
  }
  c->state = s;
  return EO_OK;
}

static void var_forward(eo_op_ctx *c, int op) {
  const var_state *s = c->state;
  eo_tview *y = c->out[0];
  int64_t n = eo_tview_numel(y);
  if (s->n_steps == 0) {  // one input: y has its shape
    memcpy(y->data, c->in[0]->data, (size_t)n * s->es);
    return;
  }
  for (int k = 0; k < s->n_steps; k++)
    eo_broadcast_binary(&s->steps[k], s->row, k ? y->data : c->in[0]->data, s->es, c->in[k + 1]->data,
                        s->es, y->data, s->es);
  if (s->scale) s->scale(y->data, n, (double)c->n_in);
}

#define VAR_DEF(OP, sym, onnx_name)                                                             \
  static eo_status sym##_infer(eo_op_ctx *c) { return var_infer(c, EO_OP_##OP); }          \
  static eo_status sym##_prepare(eo_op_ctx *c) { return var_prepare(c, EO_OP_##OP); }      \
  static void sym##_forward(eo_op_ctx *c) { var_forward(c, EO_OP_##OP); }                  \
  EO_DEFINE_OP(sym, .name = onnx_name, .infer = sym##_infer, .prepare = sym##_prepare, .forward = sym##_forward, .release = free);
VAR_DEF(MIN, min, "Min")
VAR_DEF(MAX, max, "Max")
VAR_DEF(SUM, sum, "Sum")
VAR_DEF(MEAN, mean, "Mean")
