/* Elementwise ops (unary, Clip, Cast, Identity, Dropout, binary, Min/Max/Sum/Mean, Where) and the
 * broadcasting iterator: hand-computed values, libm/naive-index references computed here, integer
 * edge cases (wrap, x / 0, INT_MIN / -1), float16/bfloat16, and bad inputs that must fail with a
 * message. */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_test.h"
#include "runtime/activation.h"
#include "runtime/broadcast.h"
#include "test.h"

/* The registry must hand out exactly these definitions. */
extern const eo_op_def eo_op_abs, eo_op_add, eo_op_min, eo_op_where, eo_op_clip, eo_op_cast, eo_op_identity;

static void test_registered(void) {
  EO_CHECK(eo_op_get(EO_OP_ABS) == &eo_op_abs && eo_op_get(EO_OP_ADD) == &eo_op_add &&
           eo_op_get(EO_OP_MIN) == &eo_op_min && eo_op_get(EO_OP_WHERE) == &eo_op_where &&
           eo_op_get(EO_OP_CLIP) == &eo_op_clip && eo_op_get(EO_OP_CAST) == &eo_op_cast &&
           eo_op_get(EO_OP_IDENTITY) == &eo_op_identity);
  static const char *names[] = {"Abs", "Neg", "Sqrt", "Exp", "Log", "Reciprocal", "Erf", "Floor", "Ceil", "Relu",
                                "LeakyRelu", "Elu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Not", "Clip",
                                "Cast", "Identity", "Dropout", "Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Equal",
                                "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Min",
                                "Max", "Sum", "Mean", "Where"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    EO_CHECK_MSG(eo_op_lookup("", names[i]) >= 0, "%s not registered", names[i]);
}

static uint32_t rng = 0x12345678u;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}
static float rndf(void) { return (float)((double)rnd() / 4294967295.0 * 8.0 - 4.0); }

#define DIMS(...) ((int64_t[]){__VA_ARGS__})
#define VIEW(dt, rank, dims, data) optest_view(dt, rank, dims, data)

/* Runs a node with 1..4 inputs and 1..2 outputs; returns status. */
static eo_status run(eo_node *n, int64_t opset, int n_in, eo_tview **in, int n_out, eo_tview **out) {
  return optest_run(n, opset, n_in, in, n_out, out, false);
}

static bool err_has(const char *s) { return strstr(eo_last_error(), s) != NULL; }

/* Runs a one-output node and returns the output (caller frees data). */
static eo_tview run1(const char *op, int64_t opset, int n_in, eo_tview **in, eo_status *st) {
  eo_node *n = optest_node(op);
  eo_tview y;
  *st = run(n, opset, n_in, in, 1, (eo_tview *[]){&y});
  optest_node_free(n);
  return y;
}

/* --------------------------------------------------------------------------------------------- */

static void test_broadcast_iter(void) {
  eo_broadcast bc;
  // same shape: one row
  eo_broadcast_init_dims(&bc, 3, DIMS(2, 3, 4), 2, (int[]){3, 3}, (const int64_t *[]){DIMS(2, 3, 4), DIMS(2, 3, 4)});
  EO_CHECK(bc.rank == 1 && bc.row == 24 && bc.row_stride[0] == 1 && bc.row_stride[1] == 1);
  // scalar
  eo_broadcast_init_dims(&bc, 2, DIMS(3, 4), 2, (int[]){2, 0}, (const int64_t *[]){DIMS(3, 4), DIMS(0)});
  EO_CHECK(bc.rank == 1 && bc.row == 12 && bc.row_stride[0] == 1 && bc.row_stride[1] == 0);
  // per-channel bias [1,C,1,1] on NCHW: rows of H*W
  eo_broadcast_init_dims(&bc, 4, DIMS(2, 3, 4, 5), 2, (int[]){4, 4},
                         (const int64_t *[]){DIMS(2, 3, 4, 5), DIMS(1, 3, 1, 1)});
  EO_CHECK(bc.rank == 3 && bc.dims[0] == 2 && bc.dims[1] == 3 && bc.dims[2] == 20);
  EO_CHECK(bc.row_stride[0] == 1 && bc.row_stride[1] == 0 && bc.strides[1][1] == 1 && bc.strides[1][0] == 0);
  // size-1 output dims vanish
  eo_broadcast_init_dims(&bc, 4, DIMS(1, 5, 1, 1), 2, (int[]){4, 1}, (const int64_t *[]){DIMS(1, 5, 1, 1), DIMS(1)});
  EO_CHECK(bc.rank == 1 && bc.row == 5 && bc.row_stride[1] == 0);
  // empty
  eo_broadcast_init_dims(&bc, 2, DIMS(0, 3), 2, (int[]){2, 1}, (const int64_t *[]){DIMS(0, 3), DIMS(3)});
  eo_bcast_iter it;
  eo_broadcast_begin(&it, &bc);
  EO_CHECK(bc.numel == 0 && it.rows_left == 0);

  // Add over random broadcastable shape pairs vs naive index arithmetic.
  for (int trial = 0; trial < 200; trial++) {
    int r = 1 + (int)(rnd() % 5);
    int64_t od[5], ad[5], bd[5];
    int ra = 1 + (int)(rnd() % (unsigned)r), rb = 1 + (int)(rnd() % (unsigned)r);
    for (int d = 0; d < r; d++) od[d] = 1 + rnd() % 4;
    for (int d = 0; d < ra; d++) ad[d] = rnd() % 2 ? od[d + r - ra] : 1;
    for (int d = 0; d < rb; d++) bd[d] = rnd() % 2 ? od[d + r - rb] : 1;
    if (trial % 2) rb = rb > 1 && rnd() % 4 == 0 ? 0 : rb;  // sometimes a scalar
    int64_t na = eo_numel(ra, ad), nb = eo_numel(rb, bd);
    float *a = malloc((size_t)na * 4), *b = malloc((size_t)nb * 4);
    for (int64_t i = 0; i < na; i++) a[i] = (float)i;
    for (int64_t i = 0; i < nb; i++) b[i] = (float)(1000 * (i + 1));
    eo_tview va = VIEW(EO_FLOAT, ra, ad, a), vb = VIEW(EO_FLOAT, rb, bd, b);
    eo_status st;
    eo_tview y = run1("Add", 14, 2, (eo_tview *[]){&va, &vb}, &st);
    EO_CHECK(st == EO_OK);
    if (st) goto next;
    int64_t ny = eo_tview_numel(&y);
    int bad = 0;
    for (int64_t f = 0; f < ny; f++) {
      int64_t idx[5], rem = f;
      for (int d = y.rank - 1; d >= 0; d--) {
        idx[d] = rem % y.dims[d];
        rem /= y.dims[d];
      }
      int64_t ia = 0, ib = 0;
      for (int d = 0; d < ra; d++) ia = ia * ad[d] + (ad[d] == 1 ? 0 : idx[d + y.rank - ra]);
      for (int d = 0; d < rb; d++) ib = ib * bd[d] + (bd[d] == 1 ? 0 : idx[d + y.rank - rb]);
      if (((float *)y.data)[f] != a[ia] + b[ib]) bad++;
    }
    EO_CHECK_MSG(bad == 0, "trial %d: %d wrong", trial, bad);
    free(y.data);
  next:
    free(a);
    free(b);
  }
}

/* --------------------------------------------------------------------------------------------- */

static double ref_unary(const char *op, double v, double alpha, double beta) {
  if (!strcmp(op, "Abs")) return fabs(v);
  if (!strcmp(op, "Neg")) return -v;
  if (!strcmp(op, "Sqrt")) return sqrt(v);
  if (!strcmp(op, "Exp")) return exp(v);
  if (!strcmp(op, "Log")) return log(v);
  if (!strcmp(op, "Reciprocal")) return 1 / v;
  if (!strcmp(op, "Erf")) return erf(v);
  if (!strcmp(op, "Floor")) return floor(v);
  if (!strcmp(op, "Ceil")) return ceil(v);
  if (!strcmp(op, "Relu")) return v > 0 ? v : 0;
  if (!strcmp(op, "LeakyRelu")) return v >= 0 ? v : alpha * v;
  if (!strcmp(op, "Elu")) return v >= 0 ? v : alpha * (exp(v) - 1);
  if (!strcmp(op, "Sigmoid")) return 1 / (1 + exp(-v));
  if (!strcmp(op, "Tanh")) return tanh(v);
  if (!strcmp(op, "HardSigmoid")) return fmax(0, fmin(1, alpha * v + beta));
  if (!strcmp(op, "HardSwish")) return v * fmax(0, fmin(1, v / 6 + 0.5));
  return NAN;
}

static void test_unary_float(void) {
  static const struct {
    const char *op;
    float alpha, beta;
    bool set;  // attributes set on the node (else the ONNX defaults)
    bool positive;
  } cases[] = {
      {"Abs", 0, 0, false, false},         {"Neg", 0, 0, false, false},
      {"Sqrt", 0, 0, false, true},         {"Exp", 0, 0, false, false},
      {"Log", 0, 0, false, true},          {"Reciprocal", 0, 0, false, false},
      {"Erf", 0, 0, false, false},         {"Floor", 0, 0, false, false},
      {"Ceil", 0, 0, false, false},        {"Relu", 0, 0, false, false},
      {"LeakyRelu", 0.01f, 0, false, false}, {"LeakyRelu", 0.3f, 0, true, false},
      {"Elu", 1.0f, 0, false, false},      {"Elu", 2.0f, 0, true, false},
      {"Sigmoid", 0, 0, false, false},     {"Tanh", 0, 0, false, false},
      {"HardSigmoid", 0.2f, 0.5f, false, false}, {"HardSigmoid", 0.5f, 0.6f, true, false},
      {"HardSwish", 0, 0, false, false},
  };
  enum { N = 103 };  // odd size, off any vector width
  float x[N];
  for (int i = 0; i < N; i++) x[i] = rndf();
  x[0] = 0, x[1] = -3, x[2] = 3, x[3] = 100, x[4] = -100;  // saturation regions
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    float in[N];
    double ind[N];
    for (int i = 0; i < N; i++) {
      in[i] = cases[c].positive ? fabsf(x[i]) + 0.01f : x[i];
      ind[i] = in[i];
    }
    eo_node *n = optest_node(cases[c].op);
    if (cases[c].set) {
      optest_attr_f(n, "alpha", cases[c].alpha);
      if (!strcmp(cases[c].op, "HardSigmoid")) optest_attr_f(n, "beta", cases[c].beta);
    }
    eo_tview vx = VIEW(EO_FLOAT, 2, DIMS(1, N), in), y;
    eo_status st = run(n, 14, 1, (eo_tview *[]){&vx}, 1, (eo_tview *[]){&y});
    EO_CHECK_MSG(st == EO_OK, "%s: %s", cases[c].op, eo_last_error());
    if (st == EO_OK) {
      EO_CHECK(y.dtype == EO_FLOAT && y.rank == 2 && y.dims[1] == N);
      int bad = 0;
      for (int i = 0; i < N; i++) {
        double want = ref_unary(cases[c].op, ind[i], cases[c].alpha, cases[c].beta);
        double got = ((float *)y.data)[i];
        want = (float)want;  // exp(100) overflows float
        if (!(got == want || fabs(got - want) <= 2e-6 * (1 + fabs(want)))) bad++;
      }
      EO_CHECK_MSG(bad == 0, "%s: %d values off", cases[c].op, bad);
      // the fused-activation reference agrees bit for bit with the op's reference path (the fast
      // vector paths are held against the reference in test_fast_kernels)
      if (eo_activation_fusable(n->op)) {
        float buf[N];
        memcpy(buf, in, sizeof buf);
        eo_f32_activation__ref(n->op, cases[c].alpha, cases[c].beta, buf, N);
        eo_tview yr;
        setenv("EO_FORCE_REF", "1", 1);
        EO_CHECK(run(n, 14, 1, (eo_tview *[]){&vx}, 1, (eo_tview *[]){&yr}) == EO_OK);
        unsetenv("EO_FORCE_REF");
        EO_CHECK_MSG(memcmp(buf, yr.data, sizeof buf) == 0, "%s: activation differs from op", cases[c].op);
        free(yr.data);
      }
      free(y.data);
    }
    optest_node_free(n);
  }
  // double goes through the double functions
  double xd2[3] = {0.5, -1.25, 2.0};
  eo_tview vx = VIEW(EO_DOUBLE, 1, DIMS(3), xd2);
  eo_status st;
  eo_tview y = run1("Exp", 13, 1, (eo_tview *[]){&vx}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_DOUBLE);
  if (!st) {
    for (int i = 0; i < 3; i++) EO_CHECK_NEAR(((double *)y.data)[i], exp(xd2[i]), 1e-15);
    free(y.data);
  }
  // infinities saturate instead of producing NaN
  float inf[2] = {INFINITY, -INFINITY};
  eo_tview vi = VIEW(EO_FLOAT, 1, DIMS(2), inf);
  y = run1("Sigmoid", 13, 1, (eo_tview *[]){&vi}, &st);
  EO_CHECK(st == EO_OK && ((float *)y.data)[0] == 1.0f && ((float *)y.data)[1] == 0.0f);
  free(y.data);
}

static void test_unary_other_dtypes(void) {
  eo_status st;
  int8_t i8[5] = {-128, -5, 0, 7, 127};
  eo_tview v = VIEW(EO_INT8, 1, DIMS(5), i8);
  eo_tview y = run1("Abs", 13, 1, (eo_tview *[]){&v}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_INT8);
  if (!st) {
    int8_t *o = y.data;
    EO_CHECK(o[0] == -128 && o[1] == 5 && o[2] == 0 && o[3] == 7 && o[4] == 127);  // wraps like numpy
    free(y.data);
  }
  y = run1("Neg", 13, 1, (eo_tview *[]){&v}, &st);
  if (!st) {
    int8_t *o = y.data;
    EO_CHECK(o[0] == -128 && o[1] == 5 && o[2] == 0 && o[3] == -7 && o[4] == -127);
    free(y.data);
  }
  int32_t i32[3] = {INT32_MIN, -1, 9};
  v = VIEW(EO_INT32, 1, DIMS(3), i32);
  y = run1("Relu", 14, 1, (eo_tview *[]){&v}, &st);
  EO_CHECK(st == EO_OK);
  if (!st) {
    int32_t *o = y.data;
    EO_CHECK(o[0] == 0 && o[1] == 0 && o[2] == 9);
    free(y.data);
  }
  uint16_t u16[2] = {0, 65535};
  v = VIEW(EO_UINT16, 1, DIMS(2), u16);
  y = run1("Abs", 13, 1, (eo_tview *[]){&v}, &st);
  EO_CHECK(st == EO_OK && ((uint16_t *)y.data)[1] == 65535);
  free(y.data);

  uint8_t b[4] = {0, 1, 1, 0};
  v = VIEW(EO_BOOL, 2, DIMS(2, 2), b);
  y = run1("Not", 1, 1, (eo_tview *[]){&v}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_BOOL);
  if (!st) {
    uint8_t *o = y.data;
    EO_CHECK(o[0] == 1 && o[1] == 0 && o[2] == 0 && o[3] == 1);
    free(y.data);
  }

  // float16 / bfloat16: computed in float, rounded once
  uint16_t h[3] = {eo_f32_to_f16(-2.0f), eo_f32_to_f16(0.5f), eo_f32_to_f16(3.0f)};
  v = VIEW(EO_FLOAT16, 1, DIMS(3), h);
  y = run1("Sigmoid", 13, 1, (eo_tview *[]){&v}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_FLOAT16);
  if (!st) {
    uint16_t *o = y.data;
    EO_CHECK(o[0] == eo_f32_to_f16((float)(1 / (1 + exp(2.0)))));
    EO_CHECK(o[1] == eo_f32_to_f16((float)(1 / (1 + exp(-0.5)))));
    EO_CHECK(o[2] == eo_f32_to_f16((float)(1 / (1 + exp(-3.0)))));
    free(y.data);
  }
  uint16_t bf[2] = {eo_f32_to_bf16(-1.5f), eo_f32_to_bf16(4.0f)};
  v = VIEW(EO_BFLOAT16, 1, DIMS(2), bf);
  y = run1("Sqrt", 13, 1, (eo_tview *[]){&v}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_BFLOAT16);
  if (!st) {
    EO_CHECK(isnan(eo_bf16_to_f32(((uint16_t *)y.data)[0])));
    EO_CHECK(eo_bf16_to_f32(((uint16_t *)y.data)[1]) == 2.0f);
    free(y.data);
  }

  // errors
  v = VIEW(EO_INT32, 1, DIMS(3), i32);
  y = run1("Sqrt", 13, 1, (eo_tview *[]){&v}, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("int32") && err_has("float32") && err_has("Sqrt"));
  float f2[2] = {1, 2};
  v = VIEW(EO_FLOAT, 1, DIMS(2), f2);
  y = run1("Not", 13, 1, (eo_tview *[]){&v}, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("bool"));
  y = run1("Relu", 13, 2, (eo_tview *[]){&v, &v}, &st);
  EO_CHECK(st == EO_ERR_INVALID && err_has("1 input"));
}

/* --------------------------------------------------------------------------------------------- */

static void test_binary(void) {
  eo_status st;
  // float Sub with a [3] row broadcast against [2,3], and Div by a scalar
  float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {0.5f, 1, 2}, s = 4;
  eo_tview va = VIEW(EO_FLOAT, 2, DIMS(2, 3), a), vb = VIEW(EO_FLOAT, 1, DIMS(3), b), vs = VIEW(EO_FLOAT, 0, NULL, &s);
  eo_tview y = run1("Sub", 14, 2, (eo_tview *[]){&va, &vb}, &st);
  EO_CHECK(st == EO_OK && y.rank == 2 && y.dims[0] == 2 && y.dims[1] == 3);
  if (!st) {
    float *o = y.data, want[6] = {0.5f, 1, 1, 3.5f, 4, 4};
    EO_CHECK(memcmp(o, want, sizeof want) == 0);
    free(y.data);
  }
  y = run1("Div", 14, 2, (eo_tview *[]){&vs, &va}, &st);  // scalar on the left
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == 4 && o[1] == 2 && o[3] == 1 && o[5] == 4.0f / 6);
    free(y.data);
  }
  y = run1("Mul", 14, 2, (eo_tview *[]){&vs, &vs}, &st);  // scalar x scalar -> scalar
  EO_CHECK(st == EO_OK && y.rank == 0 && ((float *)y.data)[0] == 16);
  free(y.data);

  // integers: wrap, x / 0 == 0, INT_MIN / -1 == INT_MIN, truncation toward zero
  int32_t ia[4] = {INT32_MAX, 7, INT32_MIN, -7}, ib[4] = {1, 0, -1, 2};
  eo_tview via = VIEW(EO_INT32, 1, DIMS(4), ia), vib = VIEW(EO_INT32, 1, DIMS(4), ib);
  y = run1("Add", 14, 2, (eo_tview *[]){&via, &vib}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_INT32);
  if (!st) {
    int32_t *o = y.data;
    EO_CHECK(o[0] == INT32_MIN && o[1] == 7 && o[2] == INT32_MAX && o[3] == -5);
    free(y.data);
  }
  y = run1("Div", 14, 2, (eo_tview *[]){&via, &vib}, &st);
  if (!st) {
    int32_t *o = y.data;
    EO_CHECK(o[0] == INT32_MAX && o[1] == 0 && o[2] == INT32_MIN && o[3] == -3);
    free(y.data);
  }
  y = run1("Mul", 14, 2, (eo_tview *[]){&via, &via}, &st);
  if (!st) {
    int32_t *o = y.data;
    EO_CHECK(o[0] == 1 && o[1] == 49 && o[2] == 0 && o[3] == 49);
    free(y.data);
  }
  uint8_t ua[3] = {3, 250, 16}, ub[3] = {5, 10, 16};
  eo_tview vua = VIEW(EO_UINT8, 1, DIMS(3), ua), vub = VIEW(EO_UINT8, 1, DIMS(3), ub);
  y = run1("Sub", 14, 2, (eo_tview *[]){&vua, &vub}, &st);
  if (!st) {
    uint8_t *o = y.data;
    EO_CHECK(o[0] == 254 && o[1] == 240 && o[2] == 0);
    free(y.data);
  }
  y = run1("Mul", 14, 2, (eo_tview *[]){&vua, &vub}, &st);
  if (!st) {
    uint8_t *o = y.data;
    EO_CHECK(o[0] == 15 && o[1] == (uint8_t)2500 && o[2] == 0);
    free(y.data);
  }
  uint16_t u16[1] = {65535};
  eo_tview vu16 = VIEW(EO_UINT16, 1, DIMS(1), u16);
  y = run1("Mul", 14, 2, (eo_tview *[]){&vu16, &vu16}, &st);  // would overflow int if promoted
  EO_CHECK(st == EO_OK && ((uint16_t *)y.data)[0] == 1);
  free(y.data);

  // float16 Add
  uint16_t ha[2] = {eo_f32_to_f16(1.5f), eo_f32_to_f16(-2)}, hb[1] = {eo_f32_to_f16(0.25f)};
  eo_tview vha = VIEW(EO_FLOAT16, 1, DIMS(2), ha), vhb = VIEW(EO_FLOAT16, 1, DIMS(1), hb);
  y = run1("Add", 14, 2, (eo_tview *[]){&vha, &vhb}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_FLOAT16);
  if (!st) {
    EO_CHECK(eo_f16_to_f32(((uint16_t *)y.data)[0]) == 1.75f && eo_f16_to_f32(((uint16_t *)y.data)[1]) == -1.75f);
    free(y.data);
  }

  // comparisons -> bool, broadcast
  float c1[4] = {1, 2, 3, NAN}, c2[1] = {2};
  eo_tview vc1 = VIEW(EO_FLOAT, 1, DIMS(4), c1), vc2 = VIEW(EO_FLOAT, 1, DIMS(1), c2);
  static const struct {
    const char *op;
    uint8_t want[4];
  } cmp[] = {{"Equal", {0, 1, 0, 0}}, {"Greater", {0, 0, 1, 0}}, {"Less", {1, 0, 0, 0}},
             {"GreaterOrEqual", {0, 1, 1, 0}}, {"LessOrEqual", {1, 1, 0, 0}}};
  for (size_t k = 0; k < sizeof cmp / sizeof cmp[0]; k++) {
    y = run1(cmp[k].op, 16, 2, (eo_tview *[]){&vc1, &vc2}, &st);
    EO_CHECK_MSG(st == EO_OK && y.dtype == EO_BOOL && memcmp(y.data, cmp[k].want, 4) == 0, "%s", cmp[k].op);
    free(y.data);
  }
  int64_t l1[3] = {INT64_MIN, 5, INT64_MAX}, l2[3] = {INT64_MIN, 6, INT64_MAX - 1};
  eo_tview vl1 = VIEW(EO_INT64, 1, DIMS(3), l1), vl2 = VIEW(EO_INT64, 1, DIMS(3), l2);
  y = run1("Equal", 13, 2, (eo_tview *[]){&vl1, &vl2}, &st);  // exact, not through double
  EO_CHECK(st == EO_OK && memcmp(y.data, (uint8_t[]){1, 0, 0}, 3) == 0);
  free(y.data);

  // logical ops with [2,1] x [2] broadcast
  uint8_t p[2] = {0, 1}, q[2] = {0, 1};
  eo_tview vp = VIEW(EO_BOOL, 2, DIMS(2, 1), p), vq = VIEW(EO_BOOL, 1, DIMS(2), q);
  static const struct {
    const char *op;
    uint8_t want[4];
  } lg[] = {{"And", {0, 0, 0, 1}}, {"Or", {0, 1, 1, 1}}, {"Xor", {0, 1, 1, 0}}, {"Equal", {1, 0, 0, 1}}};
  for (size_t k = 0; k < sizeof lg / sizeof lg[0]; k++) {
    y = run1(lg[k].op, 7, 2, (eo_tview *[]){&vp, &vq}, &st);
    EO_CHECK_MSG(st == EO_OK && y.rank == 2 && y.dims[0] == 2 && y.dims[1] == 2 && memcmp(y.data, lg[k].want, 4) == 0,
                 "%s", lg[k].op);
    free(y.data);
  }

  // PRelu: slope broadcast per channel; a slope bigger than X is an error
  float px[6] = {-1, 2, -3, 4, -5, 6}, ps[3] = {0.1f, 0.2f, 0.5f};
  eo_tview vpx = VIEW(EO_FLOAT, 2, DIMS(2, 3), px), vps = VIEW(EO_FLOAT, 1, DIMS(3), ps);
  y = run1("PRelu", 16, 2, (eo_tview *[]){&vpx, &vps}, &st);
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == -0.1f && o[1] == 2 && o[2] == -1.5f && o[3] == 4 && o[4] == -5 * 0.2f && o[5] == 6);
    free(y.data);
  }
  y = run1("PRelu", 16, 2, (eo_tview *[]){&vps, &vpx}, &st);
  EO_CHECK(st == EO_ERR_SHAPE && err_has("slope"));

  // empty tensors broadcast to empty outputs
  eo_tview ve = VIEW(EO_FLOAT, 2, DIMS(0, 3), a);
  y = run1("Add", 14, 2, (eo_tview *[]){&ve, &vb}, &st);
  EO_CHECK(st == EO_OK && y.rank == 2 && y.dims[0] == 0 && y.dims[1] == 3);
  free(y.data);

  // errors: dtype mismatch, shapes that do not broadcast, unsupported dtype, legacy axis
  y = run1("Add", 14, 2, (eo_tview *[]){&va, &via}, &st);
  EO_CHECK(st == EO_ERR_SHAPE && err_has("float32") && err_has("int32"));
  float w[4] = {0};
  eo_tview vw = VIEW(EO_FLOAT, 1, DIMS(4), w);
  y = run1("Mul", 14, 2, (eo_tview *[]){&va, &vw}, &st);
  EO_CHECK(st == EO_ERR_SHAPE && err_has("broadcast") && err_has("[2,3]") && err_has("[4]"));
  y = run1("And", 7, 2, (eo_tview *[]){&va, &va}, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("bool"));
  y = run1("Greater", 13, 2, (eo_tview *[]){&vp, &vp}, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("expected one of"));
  y = run1("Add", 14, 1, (eo_tview *[]){&va}, &st);
  EO_CHECK(st == EO_ERR_INVALID);
  // opset < 7 legacy broadcast: B aligned at `axis` of A
  float rowv[2] = {10, 20};
  eo_tview vrow = VIEW(EO_FLOAT, 1, DIMS(2), rowv);
  eo_node *n = optest_node("Add");
  optest_attr_i(n, "broadcast", 1);
  optest_attr_i(n, "axis", 0);
  st = run(n, 6, 2, (eo_tview *[]){&va, &vrow}, 1, (eo_tview *[]){&y});
  EO_CHECK(st == EO_OK && y.rank == 2 && y.dims[0] == 2 && y.dims[1] == 3);
  if (!st) {
    const float *o = y.data;
    EO_CHECK(o[0] == 11 && o[2] == 13 && o[3] == 24 && o[5] == 26);
    free(y.data);
  }
  st = run(n, 6, 2, (eo_tview *[]){&va, &vb}, 1, (eo_tview *[]){&y});  // [3] does not fit [2,3] at axis 0
  EO_CHECK(st == EO_ERR_SHAPE && err_has("broadcast"));
  optest_node_free(n);
}

static void test_pow(void) {
  eo_status st;
  float fa[4] = {2, -2, 9, 0.5f}, fb[4] = {3, 2, 0.5f, -1};
  eo_tview va = VIEW(EO_FLOAT, 1, DIMS(4), fa), vb = VIEW(EO_FLOAT, 1, DIMS(4), fb);
  eo_tview y = run1("Pow", 15, 2, (eo_tview *[]){&va, &vb}, &st);
  EO_CHECK(st == EO_OK);
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == 8 && o[1] == 4 && o[2] == 3 && o[3] == 2);
    free(y.data);
  }
  float two = 2;
  eo_tview v2 = VIEW(EO_FLOAT, 0, NULL, &two);
  y = run1("Pow", 15, 2, (eo_tview *[]){&va, &v2}, &st);  // square fast path
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == 4 && o[1] == 4 && o[2] == 81 && o[3] == 0.25f);
    free(y.data);
  }
  // float base, integer exponents of every width
  int64_t e64[4] = {3, 2, 0, -2};
  eo_tview ve = VIEW(EO_INT64, 1, DIMS(4), e64);
  y = run1("Pow", 15, 2, (eo_tview *[]){&va, &ve}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_FLOAT);
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == 8 && o[1] == 4 && o[2] == 1 && o[3] == 4);
    free(y.data);
  }
  uint32_t eu[4] = {1, 3, 2, 1};
  eo_tview veu = VIEW(EO_UINT32, 1, DIMS(4), eu);
  y = run1("Pow", 15, 2, (eo_tview *[]){&va, &veu}, &st);
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == 2 && o[1] == -8 && o[2] == 81 && o[3] == 0.5f);
    free(y.data);
  }
  // integer base: same dtype exact (wrapping), mixed via double (result in the base dtype)
  int64_t b64[4] = {3, -2, 2, 5}, x64[4] = {39, 3, 62, -1};
  eo_tview vb64 = VIEW(EO_INT64, 1, DIMS(4), b64), vx64 = VIEW(EO_INT64, 1, DIMS(4), x64);
  y = run1("Pow", 15, 2, (eo_tview *[]){&vb64, &vx64}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_INT64);
  if (!st) {
    int64_t *o = y.data;
    EO_CHECK(o[0] == 4052555153018976267LL && o[1] == -8 && o[2] == 4611686018427387904LL && o[3] == 0);
    free(y.data);
  }
  int32_t b32[3] = {2, 3, -4};
  float fe[3] = {0.5f, 2, 3};
  eo_tview vb32 = VIEW(EO_INT32, 1, DIMS(3), b32), vfe = VIEW(EO_FLOAT, 1, DIMS(3), fe);
  y = run1("Pow", 15, 2, (eo_tview *[]){&vb32, &vfe}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_INT32);
  if (!st) {
    int32_t *o = y.data;
    EO_CHECK(o[0] == 1 && o[1] == 9 && o[2] == -64);
    free(y.data);
  }
  int32_t e32[4] = {31, 2, 1, 0};
  eo_tview ve32 = VIEW(EO_INT32, 1, DIMS(4), e32);
  y = run1("Pow", 15, 2, (eo_tview *[]){&vb64, &ve32}, &st);  // int64 ** int32: exact integer path
  EO_CHECK(st == EO_OK && y.dtype == EO_INT64);
  if (!st) {
    int64_t *o = y.data;
    EO_CHECK(o[0] == 617673396283947LL && o[1] == 4 && o[2] == 2 && o[3] == 1);
    free(y.data);
  }
  uint8_t bb[1] = {1};
  eo_tview vbool = VIEW(EO_BOOL, 1, DIMS(1), bb);
  y = run1("Pow", 15, 2, (eo_tview *[]){&va, &vbool}, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("bool"));
}

/* --------------------------------------------------------------------------------------------- */

static void test_variadic(void) {
  eo_status st;
  // [3,1], [1,4], [] -> [3,4]
  float a[3] = {1, 5, NAN}, b[4] = {0, 2, 4, 6}, c = 3;
  eo_tview va = VIEW(EO_FLOAT, 2, DIMS(3, 1), a), vb = VIEW(EO_FLOAT, 2, DIMS(1, 4), b), vc = VIEW(EO_FLOAT, 0, NULL, &c);
  eo_tview y = run1("Max", 13, 3, (eo_tview *[]){&va, &vb, &vc}, &st);
  EO_CHECK(st == EO_OK && y.rank == 2 && y.dims[0] == 3 && y.dims[1] == 4);
  if (!st) {
    float *o = y.data;
    float want[8] = {3, 3, 4, 6, 5, 5, 5, 6};
    EO_CHECK(memcmp(o, want, sizeof want) == 0);
    EO_CHECK(isnan(o[8]) && isnan(o[9]) && isnan(o[11]));  // NaN propagates like numpy
    free(y.data);
  }
  y = run1("Min", 13, 3, (eo_tview *[]){&va, &vb, &vc}, &st);
  if (!st) {
    float *o = y.data;
    float want[8] = {0, 1, 1, 1, 0, 2, 3, 3};
    EO_CHECK(memcmp(o, want, sizeof want) == 0);
    free(y.data);
  }
  y = run1("Sum", 13, 3, (eo_tview *[]){&va, &vb, &vc}, &st);
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == 4 && o[3] == 10 && o[4] == 8 && o[7] == 14);
    free(y.data);
  }
  y = run1("Mean", 13, 3, (eo_tview *[]){&va, &vb, &vc}, &st);
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == 4.0f / 3 && o[3] == 10.0f / 3 && o[7] == 14.0f / 3);
    free(y.data);
  }
  // one input is a copy; two inputs of the same shape
  float d[3] = {3, 1, 2}, e[3] = {1, 4, 2};
  eo_tview vd = VIEW(EO_FLOAT, 1, DIMS(3), d), ve = VIEW(EO_FLOAT, 1, DIMS(3), e);
  y = run1("Mean", 13, 1, (eo_tview *[]){&vd}, &st);
  EO_CHECK(st == EO_OK && memcmp(y.data, d, sizeof d) == 0);
  free(y.data);
  y = run1("Mean", 13, 2, (eo_tview *[]){&vd, &ve}, &st);
  EO_CHECK(st == EO_OK && memcmp(y.data, (float[]){2, 2.5f, 2}, 12) == 0);
  free(y.data);
  // integers and unsigned
  uint64_t u1[2] = {UINT64_MAX, 1}, u2[2] = {1, UINT64_MAX - 1};
  eo_tview vu1 = VIEW(EO_UINT64, 1, DIMS(2), u1), vu2 = VIEW(EO_UINT64, 1, DIMS(2), u2);
  y = run1("Max", 13, 2, (eo_tview *[]){&vu1, &vu2}, &st);
  EO_CHECK(st == EO_OK && ((uint64_t *)y.data)[0] == UINT64_MAX && ((uint64_t *)y.data)[1] == UINT64_MAX - 1);
  free(y.data);
  int8_t s1[2] = {-128, 5}, s2[2] = {0, -3};
  eo_tview vs1 = VIEW(EO_INT8, 1, DIMS(2), s1), vs2 = VIEW(EO_INT8, 1, DIMS(2), s2);
  y = run1("Min", 13, 2, (eo_tview *[]){&vs1, &vs2}, &st);
  EO_CHECK(st == EO_OK && ((int8_t *)y.data)[0] == -128 && ((int8_t *)y.data)[1] == -3);
  free(y.data);
  uint16_t h1[2] = {eo_f32_to_f16(1), eo_f32_to_f16(-1)}, h2[2] = {eo_f32_to_f16(0.5f), eo_f32_to_f16(2)};
  eo_tview vh1 = VIEW(EO_FLOAT16, 1, DIMS(2), h1), vh2 = VIEW(EO_FLOAT16, 1, DIMS(2), h2);
  y = run1("Max", 13, 2, (eo_tview *[]){&vh1, &vh2}, &st);
  EO_CHECK(st == EO_OK && ((uint16_t *)y.data)[0] == h1[0] && ((uint16_t *)y.data)[1] == h2[1]);
  free(y.data);
  // errors
  y = run1("Mean", 13, 2, (eo_tview *[]){&vs1, &vs2}, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("int8") && err_has("float32"));
  y = run1("Sum", 13, 2, (eo_tview *[]){&vd, &vs1}, &st);
  EO_CHECK(st == EO_ERR_SHAPE && err_has("input 1 is int8"));
  float f4[4] = {0};
  eo_tview v4 = VIEW(EO_FLOAT, 1, DIMS(4), f4);
  y = run1("Max", 13, 2, (eo_tview *[]){&vd, &v4}, &st);
  EO_CHECK(st == EO_ERR_SHAPE && err_has("broadcast"));
}

static void test_where(void) {
  eo_status st;
  uint8_t c[2] = {1, 0};
  float x[4] = {1, 2, 3, 4}, yv = -1;
  eo_tview vc = VIEW(EO_BOOL, 1, DIMS(2), c), vx = VIEW(EO_FLOAT, 2, DIMS(2, 2), x), vy = VIEW(EO_FLOAT, 0, NULL, &yv);
  eo_tview y = run1("Where", 16, 3, (eo_tview *[]){&vc, &vx, &vy}, &st);
  EO_CHECK(st == EO_OK && y.rank == 2 && y.dims[0] == 2 && y.dims[1] == 2);
  if (!st) {
    EO_CHECK(memcmp(y.data, (float[]){1, -1, 3, -1}, 16) == 0);
    free(y.data);
  }
  uint8_t c2[4] = {1, 1, 0, 0};
  int64_t lx[2] = {INT64_MAX, 2}, ly[2] = {INT64_MIN, 4};
  eo_tview vc2 = VIEW(EO_BOOL, 2, DIMS(2, 2), c2), vlx = VIEW(EO_INT64, 1, DIMS(2), lx), vly = VIEW(EO_INT64, 2, DIMS(2, 1), ly);
  y = run1("Where", 16, 3, (eo_tview *[]){&vc2, &vlx, &vly}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_INT64);
  if (!st) {
    EO_CHECK(memcmp(y.data, (int64_t[]){INT64_MAX, 2, 4, 4}, 32) == 0);
    free(y.data);
  }
  uint16_t h[1] = {eo_f32_to_f16(7)};
  eo_tview vh = VIEW(EO_FLOAT16, 1, DIMS(1), h), vh2 = VIEW(EO_FLOAT16, 1, DIMS(1), (uint16_t[]){0});
  y = run1("Where", 16, 3, (eo_tview *[]){&vc, &vh, &vh2}, &st);
  EO_CHECK(st == EO_OK && ((uint16_t *)y.data)[0] == h[0] && ((uint16_t *)y.data)[1] == 0);
  free(y.data);
  y = run1("Where", 16, 3, (eo_tview *[]){&vx, &vx, &vx}, &st);
  EO_CHECK(st == EO_ERR_SHAPE && err_has("bool"));
  y = run1("Where", 16, 3, (eo_tview *[]){&vc, &vx, &vlx}, &st);
  EO_CHECK(st == EO_ERR_SHAPE && err_has("same dtype"));
  eo_tview v3 = VIEW(EO_FLOAT, 1, DIMS(3), x);
  y = run1("Where", 16, 3, (eo_tview *[]){&vc, &v3, &vy}, &st);
  EO_CHECK(st == EO_ERR_SHAPE && err_has("broadcast"));
}

/* --------------------------------------------------------------------------------------------- */

static void test_clip(void) {
  eo_status st;
  float x[5] = {-3, -1, 0, 2, NAN}, lo = -1.5f, hi = 1;
  eo_tview vx = VIEW(EO_FLOAT, 1, DIMS(5), x), vlo = VIEW(EO_FLOAT, 0, NULL, &lo), vhi = VIEW(EO_FLOAT, 0, NULL, &hi);
  eo_tview y = run1("Clip", 13, 3, (eo_tview *[]){&vx, &vlo, &vhi}, &st);
  EO_CHECK(st == EO_OK);
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == -1.5f && o[1] == -1 && o[2] == 0 && o[3] == 1 && isnan(o[4]));
    free(y.data);
  }
  y = run1("Clip", 13, 3, (eo_tview *[]){&vx, NULL, &vhi}, &st);  // max only
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == -3 && o[3] == 1);
    free(y.data);
  }
  y = run1("Clip", 13, 2, (eo_tview *[]){&vx, &vlo}, &st);  // min only
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == -1.5f && o[3] == 2);
    free(y.data);
  }
  y = run1("Clip", 13, 3, (eo_tview *[]){&vx, &vhi, &vlo}, &st);  // min > max: max everywhere
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == -1.5f && o[2] == -1.5f && o[3] == -1.5f);
    free(y.data);
  }
  y = run1("Clip", 13, 1, (eo_tview *[]){&vx}, &st);  // no bounds
  EO_CHECK(st == EO_OK && ((float *)y.data)[0] == -3);
  free(y.data);
  // opset 6: attributes
  eo_node *n = optest_node("Clip");
  optest_attr_f(n, "min", -0.5f);
  optest_attr_f(n, "max", 0.5f);
  st = run(n, 6, 1, (eo_tview *[]){&vx}, 1, (eo_tview *[]){&y});
  EO_CHECK(st == EO_OK);
  if (!st) {
    float *o = y.data;
    EO_CHECK(o[0] == -0.5f && o[2] == 0 && o[3] == 0.5f);
    free(y.data);
  }
  optest_node_free(n);
  n = optest_node("Clip");
  optest_attr_f(n, "max", 0.5f);
  st = run(n, 6, 1, (eo_tview *[]){&vx}, 1, (eo_tview *[]){&y});
  EO_CHECK(st == EO_OK && ((float *)y.data)[0] == -3 && ((float *)y.data)[3] == 0.5f);
  free(y.data);
  optest_node_free(n);
  // int8 with default min (the dtype's range)
  int8_t ix[4] = {-128, -5, 10, 127}, ihi = 9;
  eo_tview vix = VIEW(EO_INT8, 1, DIMS(4), ix), vihi = VIEW(EO_INT8, 0, NULL, &ihi);
  y = run1("Clip", 13, 3, (eo_tview *[]){&vix, NULL, &vihi}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_INT8);
  if (!st) {
    int8_t *o = y.data;
    EO_CHECK(o[0] == -128 && o[1] == -5 && o[2] == 9 && o[3] == 9);
    free(y.data);
  }
  // float16
  uint16_t hx[2] = {eo_f32_to_f16(-7), eo_f32_to_f16(7)}, hlo = eo_f32_to_f16(-6), hhi = eo_f32_to_f16(6);
  eo_tview vhx = VIEW(EO_FLOAT16, 1, DIMS(2), hx), vhlo = VIEW(EO_FLOAT16, 0, NULL, &hlo), vhhi = VIEW(EO_FLOAT16, 0, NULL, &hhi);
  y = run1("Clip", 13, 3, (eo_tview *[]){&vhx, &vhlo, &vhhi}, &st);
  EO_CHECK(st == EO_OK && ((uint16_t *)y.data)[0] == hlo && ((uint16_t *)y.data)[1] == hhi);
  free(y.data);
  // errors
  y = run1("Clip", 13, 3, (eo_tview *[]){&vx, &vihi, &vhi}, &st);
  EO_CHECK(st == EO_ERR_SHAPE && err_has("min") && err_has("int8"));
  y = run1("Clip", 13, 3, (eo_tview *[]){&vx, &vx, &vhi}, &st);
  EO_CHECK(st == EO_ERR_SHAPE && err_has("scalar"));
  y = run1("Clip", 6, 3, (eo_tview *[]){&vx, &vlo, &vhi}, &st);
  EO_CHECK(st == EO_ERR_INVALID && err_has("attributes"));
  uint8_t b[1] = {1};
  eo_tview vb = VIEW(EO_BOOL, 1, DIMS(1), b);
  y = run1("Clip", 13, 1, (eo_tview *[]){&vb}, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("bool"));
  // the fused form
  float fx[3] = {-2, 0.5f, 9};
  eo_f32_activation__ref(EO_OP_CLIP, 0, 6, fx, 3);
  EO_CHECK(fx[0] == 0 && fx[1] == 0.5f && fx[2] == 6);
  EO_CHECK(eo_activation_fusable(EO_OP_RELU) && eo_activation_fusable(EO_OP_CLIP) && !eo_activation_fusable(EO_OP_EXP) &&
           !eo_activation_fusable(EO_OP_ADD));
}

/* --------------------------------------------------------------------------------------------- */

static eo_tview cast_run(eo_tview *x, int to, eo_status *st) {
  eo_node *n = optest_node("Cast");
  optest_attr_i(n, "to", to);
  eo_tview y;
  *st = run(n, 13, 1, (eo_tview *[]){x}, 1, (eo_tview *[]){&y});
  optest_node_free(n);
  return y;
}

static void test_cast(void) {
  eo_status st;
  float f[8] = {1.5f, -2.7f, 3e9f, -3e9f, NAN, 0, 65504.0f, 1.0f / 3};
  eo_tview vf = VIEW(EO_FLOAT, 2, DIMS(2, 4), f);
  eo_tview y = cast_run(&vf, EO_INT32, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_INT32 && y.rank == 2 && y.dims[1] == 4);
  if (!st) {
    int32_t *o = y.data;  // truncation, saturation, NaN -> 0
    EO_CHECK(o[0] == 1 && o[1] == -2 && o[2] == INT32_MAX && o[3] == INT32_MIN && o[4] == 0 && o[5] == 0 &&
             o[6] == 65504);
    free(y.data);
  }
  y = cast_run(&vf, EO_UINT8, &st);
  if (!st) {
    uint8_t *o = y.data;
    EO_CHECK(o[0] == 1 && o[1] == 0 && o[2] == 255 && o[3] == 0 && o[4] == 0);
    free(y.data);
  }
  y = cast_run(&vf, EO_BOOL, &st);
  if (!st) {
    EO_CHECK(memcmp(y.data, (uint8_t[]){1, 1, 1, 1, 1, 0, 1, 1}, 8) == 0);
    free(y.data);
  }
  y = cast_run(&vf, EO_FLOAT16, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_FLOAT16);
  if (!st) {
    uint16_t *o = y.data;
    for (int i = 0; i < 8; i++) EO_CHECK(o[i] == eo_f32_to_f16(f[i]));
    // and back
    eo_tview vh = VIEW(EO_FLOAT16, 2, DIMS(2, 4), o);
    eo_tview z = cast_run(&vh, EO_FLOAT, &st);
    EO_CHECK(st == EO_OK && ((float *)z.data)[0] == 1.5f && isinf(((float *)z.data)[2]) &&
             ((float *)z.data)[6] == 65504.0f && fabsf(((float *)z.data)[7] - 1.0f / 3) < 1e-3f);
    free(z.data);
    free(y.data);
  }
  y = cast_run(&vf, EO_BFLOAT16, &st);
  if (!st) {
    for (int i = 0; i < 8; i++) EO_CHECK(((uint16_t *)y.data)[i] == eo_f32_to_bf16(f[i]));
    free(y.data);
  }
  y = cast_run(&vf, EO_DOUBLE, &st);
  if (!st) {
    for (int i = 0; i < 8; i++) EO_CHECK(((double *)y.data)[i] == (double)f[i] || (isnan(f[i]) && isnan(((double *)y.data)[i])));
    free(y.data);
  }
  double d[3] = {1e300, 0.1, -1e-300};
  eo_tview vd = VIEW(EO_DOUBLE, 1, DIMS(3), d);
  y = cast_run(&vd, EO_FLOAT, &st);
  EO_CHECK(st == EO_OK && isinf(((float *)y.data)[0]) && ((float *)y.data)[1] == 0.1f && ((float *)y.data)[2] == 0);
  free(y.data);
  y = cast_run(&vd, EO_INT64, &st);
  EO_CHECK(st == EO_OK && ((int64_t *)y.data)[0] == INT64_MAX && ((int64_t *)y.data)[1] == 0);
  free(y.data);
  // integers stay exact through int64/uint64, narrowing wraps
  int64_t l[4] = {INT64_MAX, -1, 300, (int64_t)1 << 53 | 1};
  eo_tview vl = VIEW(EO_INT64, 1, DIMS(4), l);
  y = cast_run(&vl, EO_UINT64, &st);
  EO_CHECK(st == EO_OK && ((uint64_t *)y.data)[0] == (uint64_t)INT64_MAX && ((uint64_t *)y.data)[1] == UINT64_MAX &&
           ((uint64_t *)y.data)[3] == ((uint64_t)1 << 53 | 1));
  free(y.data);
  y = cast_run(&vl, EO_INT8, &st);
  EO_CHECK(st == EO_OK && ((int8_t *)y.data)[1] == -1 && ((int8_t *)y.data)[2] == 44);
  free(y.data);
  y = cast_run(&vl, EO_FLOAT, &st);
  EO_CHECK(st == EO_OK && ((float *)y.data)[1] == -1 && ((float *)y.data)[2] == 300);
  free(y.data);
  uint64_t u[2] = {UINT64_MAX, 5};
  eo_tview vu = VIEW(EO_UINT64, 1, DIMS(2), u);
  y = cast_run(&vu, EO_INT64, &st);
  EO_CHECK(st == EO_OK && ((int64_t *)y.data)[0] == -1 && ((int64_t *)y.data)[1] == 5);
  free(y.data);
  uint8_t b[3] = {0, 1, 1};
  eo_tview vb = VIEW(EO_BOOL, 1, DIMS(3), b);
  y = cast_run(&vb, EO_FLOAT, &st);
  EO_CHECK(st == EO_OK && memcmp(y.data, (float[]){0, 1, 1}, 12) == 0);
  free(y.data);
  int16_t s[3] = {0, -7, 2};
  eo_tview vs = VIEW(EO_INT16, 1, DIMS(3), s);
  y = cast_run(&vs, EO_BOOL, &st);
  EO_CHECK(st == EO_OK && memcmp(y.data, (uint8_t[]){0, 1, 1}, 3) == 0);
  free(y.data);
  y = cast_run(&vs, EO_INT16, &st);  // same dtype copies
  EO_CHECK(st == EO_OK && memcmp(y.data, s, sizeof s) == 0);
  free(y.data);
  // big tensor crosses the block size
  enum { N = 1000 };
  int32_t big[N];
  for (int i = 0; i < N; i++) big[i] = i * 37 - 18000;
  eo_tview vbig = VIEW(EO_INT32, 1, DIMS(N), big);
  y = cast_run(&vbig, EO_DOUBLE, &st);
  if (!st) {
    int bad = 0;
    for (int i = 0; i < N; i++) bad += ((double *)y.data)[i] != (double)big[i];
    EO_CHECK(bad == 0);
    free(y.data);
  }
  // errors
  y = cast_run(&vf, EO_STRING, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("string"));
  y = cast_run(&vf, EO_FLOAT8E4M3FN, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("float8e4m3fn"));
  y = cast_run(&vf, 999, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED);
  eo_node *n = optest_node("Cast");
  st = run(n, 13, 1, (eo_tview *[]){&vf}, 1, (eo_tview *[]){&y});
  EO_CHECK(st == EO_ERR_INVALID && err_has("'to'"));
  optest_node_free(n);
}

/* --------------------------------------------------------------------------------------------- */

static void test_identity_dropout(void) {
  eo_status st;
  int64_t l[3] = {1, -2, 3};
  eo_tview vl = VIEW(EO_INT64, 2, DIMS(1, 3), l);
  eo_tview y = run1("Identity", 16, 1, (eo_tview *[]){&vl}, &st);
  EO_CHECK(st == EO_OK && y.dtype == EO_INT64 && y.rank == 2 && memcmp(y.data, l, sizeof l) == 0);
  free(y.data);
  eo_tview vs = VIEW(EO_STRING, 1, DIMS(3), NULL);
  y = run1("Identity", 16, 1, (eo_tview *[]){&vs}, &st);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("string"));

  float x[4] = {1, 2, 3, 4}, ratio = 0.5f;
  eo_tview vx = VIEW(EO_FLOAT, 1, DIMS(4), x), vr = VIEW(EO_FLOAT, 0, NULL, &ratio);
  eo_node *n = optest_node("Dropout");
  eo_tview m;
  st = run(n, 13, 2, (eo_tview *[]){&vx, &vr}, 2, (eo_tview *[]){&y, &m});
  EO_CHECK(st == EO_OK && m.dtype == EO_BOOL && m.dims[0] == 4);
  if (!st) {
    EO_CHECK(memcmp(y.data, x, sizeof x) == 0);  // inference: no scaling
    EO_CHECK(memcmp(m.data, (uint8_t[]){1, 1, 1, 1}, 4) == 0);
    free(y.data);
    free(m.data);
  }
  st = run(n, 7, 1, (eo_tview *[]){&vx}, 2, (eo_tview *[]){&y, &m});  // opset 7: mask has the input dtype
  EO_CHECK(st == EO_OK && m.dtype == EO_FLOAT);
  if (!st) {
    EO_CHECK(memcmp(m.data, (float[]){1, 1, 1, 1}, 16) == 0);
    free(y.data);
    free(m.data);
  }
  st = run(n, 13, 1, (eo_tview *[]){&vx}, 2, (eo_tview *[]){&y, NULL});  // mask not requested
  EO_CHECK(st == EO_OK && memcmp(y.data, x, sizeof x) == 0);
  free(y.data);
  uint8_t t = 1, f = 0;
  eo_tview vt = VIEW(EO_BOOL, 0, NULL, &t), vf = VIEW(EO_BOOL, 0, NULL, &f);
  st = optest_run(n, 13, 3, (eo_tview *[]){&vx, &vr, &vf}, 1, (eo_tview *[]){&y}, true);
  EO_CHECK(st == EO_OK);
  free(y.data);
  st = optest_run(n, 13, 3, (eo_tview *[]){&vx, &vr, &vt}, 1, (eo_tview *[]){&y}, true);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("training_mode"));
  st = optest_run(n, 13, 3, (eo_tview *[]){&vx, &vr, &vf}, 1, (eo_tview *[]){&y}, false);  // not constant
  EO_CHECK(st == EO_ERR_UNSUPPORTED && err_has("constant"));
  optest_node_free(n);
}

int main(void) {
  test_registered();
  test_broadcast_iter();
  test_unary_float();
  test_unary_other_dtypes();
  test_binary();
  test_pow();
  test_variadic();
  test_where();
  test_clip();
  test_cast();
  test_identity_dropout();
  return eo_test_finish();
}
