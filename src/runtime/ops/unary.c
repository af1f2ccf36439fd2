/* Unary elementwise ops: one table of (op, scalar expression) per dtype class, instantiated for every
 * dtype of the class (kernels/ref/eltwise.h). In an expression `v` is the input in the compute type
 * `ct` (float for float16/bfloat16), `ut` the wrapping unsigned type, `p` the eo_unary_params.
 * <tgmath.h> makes exp/sqrt/... pick the float or double function from `ct`. */
#include <stdlib.h>
#include <tgmath.h>

#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
#include "runtime/kernels/ref/eltwise.h"
#include "runtime/op.h"

#define CLAMP01(t) ((t) < 0 ? (ct)0 : (t) > 1 ? (ct)1 : (t))

/* X(OP, expression, ...) -- the trailing arguments pass through to X. */
#define UNARY_OPS_F(X, ...)                                                    \
  X(ABS, fabs(v), __VA_ARGS__)                                                 \
  X(NEG, -v, __VA_ARGS__)                                                      \
  X(SQRT, sqrt(v), __VA_ARGS__)                                                \
  X(EXP, exp(v), __VA_ARGS__)                                                  \
  X(LOG, log(v), __VA_ARGS__)                                                  \
  X(RECIPROCAL, (ct)1 / v, __VA_ARGS__)                                        \
  X(ERF, erf(v), __VA_ARGS__)                                                  \
  X(FLOOR, floor(v), __VA_ARGS__)                                              \
  X(CEIL, ceil(v), __VA_ARGS__)                                                \
  X(RELU, v < 0 ? (ct)0 : v, __VA_ARGS__)                                      \
  X(LEAKY_RELU, v < 0 ? (ct)p->alpha * v : v, __VA_ARGS__)                     \
  X(ELU, v < 0 ? (ct)p->alpha * expm1(v) : v, __VA_ARGS__)                     \
  X(SIGMOID, v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)), __VA_ARGS__)  \
  X(TANH, tanh(v), __VA_ARGS__)                                                \
  X(HARD_SIGMOID, CLAMP01((ct)p->alpha * v + (ct)p->beta), __VA_ARGS__)        \
  X(HARD_SWISH, v * CLAMP01(v * (ct)(1.0f / 6.0f) + (ct)0.5), __VA_ARGS__)

/* Integers wrap like numpy: abs(INT_MIN) == INT_MIN. */
#define UNARY_OPS_S(X, ...)                              \
  X(ABS, v < 0 ? (ct)(0u - (ut)v) : v, __VA_ARGS__)      \
  X(NEG, (ct)(0u - (ut)v), __VA_ARGS__)                  \
  X(RELU, v < 0 ? (ct)0 : v, __VA_ARGS__)

#define UNARY_OPS_U(X, ...) X(ABS, v, __VA_ARGS__)

#define UNARY_OPS_B(X, ...) X(NOT, (ct)!v, __VA_ARGS__)

#define UNARY_CASE(OP, EXPR, LD, ST)          \
  case EO_OP_##OP:                            \
    for (int64_t i = 0; i < n; i++) {         \
      ct v = LD(x[i]);                        \
      y[i] = ST(EXPR);                        \
    }                                         \
    return;

#define UNARY_HAS(OP, EXPR, ...) case EO_OP_##OP:

typedef void (*unary_row_fn)(int op, const eo_unary_params *p, const void *x, void *y, int64_t n);

#define UNARY_GEN(dt, sfx, T, C, U, CLS, LD, ST, LO, HI)                                     \
  static void unary_##sfx(int op, const eo_unary_params *p, const void *px, void *py,         \
                          int64_t n) {                                                        \
    typedef C ct;                                                                             \
    typedef U ut;                                                                             \
    (void)sizeof(ut);                                                                         \
    (void)p;                                                                                  \
    const T *x = px;                                                                          \
    T *y = py;                                                                                \
    switch (op) {                                                                             \
      UNARY_OPS_##CLS(UNARY_CASE, LD, ST)                                                     \
      default: EO_ASSERT(!"unary op without a kernel for this dtype");                        \
    }                                                                                         \
  }                                                                                           \
  static bool unary_has_##sfx(int op) {                                                       \
    switch (op) {                                                                             \
      UNARY_OPS_##CLS(UNARY_HAS, ~) return true;                                              \
      default: return false;                                                                  \
    }                                                                                         \
  }
EO_ELT_ALL_DTYPES(UNARY_GEN)

#define UNARY_SLOT(dt, sfx, ...) {dt, unary_##sfx, unary_has_##sfx},
static const struct {
  int dtype;
  unary_row_fn row;
  bool (*has)(int op);
} unary_table[] = {EO_ELT_ALL_DTYPES(UNARY_SLOT)};

static int unary_find(int op, int dtype) {
  for (int i = 0; i < (int)(sizeof unary_table / sizeof unary_table[0]); i++)
    if (unary_table[i].dtype == dtype) return unary_table[i].has(op) ? i : -1;
  return -1;
}

static bool unary_ok(int op, int dtype) { return unary_find(op, dtype) >= 0; }

void eo_f32_unary__ref(int op, const eo_unary_params *p, const float *x, float *y, int64_t n) {
  EO_ASSERT(unary_has_f32(op));
  unary_f32(op, p, x, y, n);
}

typedef struct unary_state {
  unary_row_fn row;
  eo_unary_params p;
  const eo_f32_kernels_t *kr; /* float32 activations: vector kernel (kernels/fast.h), else NULL */
  eo_f32_act act;
} unary_state;

static eo_status unary_infer(eo_op_ctx *c, int op) {
  if (c->n_in != 1 || !c->in[0] || c->n_out != 1 || !c->out[0])
    return eo_op_error(c, EO_ERR_INVALID, "expects 1 input and 1 output, got %d and %d", c->n_in, c->n_out);
  const eo_tview *x = c->in[0];
  if (!unary_ok(op, x->dtype)) {
    char buf[256];
    return eo_op_error(c, EO_ERR_UNSUPPORTED, "input dtype %s is not supported (expected one of: %s)",
                       eo_dtype_name(x->dtype), eo_elt_dtype_list(unary_ok, op, buf, sizeof buf));
  }
  eo_tview_set_shape(c->out[0], x->dtype, x->rank, x->dims);
  return EO_OK;
}

static eo_status unary_prepare(eo_op_ctx *c, int op) {
  unary_state *s = calloc(1, sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  s->row = unary_table[unary_find(op, c->in[0]->dtype)].row;
  switch (op) {  // ONNX defaults
    case EO_OP_LEAKY_RELU: s->p.alpha = eo_attr_f(c->node, "alpha", 0.01f); break;
    case EO_OP_ELU: s->p.alpha = eo_attr_f(c->node, "alpha", 1.0f); break;
    case EO_OP_HARD_SIGMOID:
      s->p.alpha = eo_attr_f(c->node, "alpha", 0.2f);
      s->p.beta = eo_attr_f(c->node, "beta", 0.5f);
      break;
    default: break;
  }
  if (c->in[0]->dtype == EO_FLOAT && eo_activation_fusable(op) && !c->force_ref) {
    s->kr = eo_f32_kernels(eo_cpu_isa());
    s->act = (eo_f32_act){op, s->p.alpha, s->p.beta};
  }
  c->state = s;
  return EO_OK;
}

static void unary_forward(eo_op_ctx *c, int op) {
  const unary_state *s = c->state;
  if (s->kr) {
    eo_f32_vact(s->kr, &s->act, c->in[0]->data, c->out[0]->data, eo_tview_numel(c->out[0]), c->pool);
    return;
  }
  s->row(op, &s->p, c->in[0]->data, c->out[0]->data, eo_tview_numel(c->out[0]));
}

/* One eo_op_def per op; the op id is bound here rather than read from the node. */
#define UNARY_DEFS(X)                                                                                  \
  X(ABS, abs, "Abs") X(NEG, neg, "Neg") X(SQRT, sqrt, "Sqrt") X(EXP, exp, "Exp") X(LOG, log, "Log")    \
  X(RECIPROCAL, reciprocal, "Reciprocal") X(ERF, erf, "Erf") X(FLOOR, floor, "Floor")                  \
  X(CEIL, ceil, "Ceil") X(RELU, relu, "Relu") X(LEAKY_RELU, leaky_relu, "LeakyRelu") X(ELU, elu, "Elu") \
  X(SIGMOID, sigmoid, "Sigmoid") X(TANH, tanh, "Tanh") X(HARD_SIGMOID, hard_sigmoid, "HardSigmoid")   \
  X(HARD_SWISH, hard_swish, "HardSwish") X(NOT, not, "Not")

#define UNARY_DEF(OP, sym, onnx_name)                                                              \
  static eo_status sym##_infer(eo_op_ctx *c) { return unary_infer(c, EO_OP_##OP); }           \
  static eo_status sym##_prepare(eo_op_ctx *c) { return unary_prepare(c, EO_OP_##OP); }       \
  static void sym##_forward(eo_op_ctx *c) { unary_forward(c, EO_OP_##OP); }                   \
  EO_DEFINE_OP(sym, .name = onnx_name, .infer = sym##_infer, .prepare = sym##_prepare, .forward = sym##_forward, .release = free);
UNARY_DEFS(UNARY_DEF)
