/* The lower_fp16 pass on hand-built float16 graphs: the structure it leaves (no float16 inside,
 * float16 weights now exact float32 copies, a rounding Cast wherever the model holds a float16
 * tensor after float32 compute, cancelling Casts gone, float16 graph inputs/outputs kept), and the
 * numbers of the lowered graph against an independent double-precision computation that rounds to
 * float16 at the same points (core's eo_f32_to_f16, not the pass's kernels). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/kernels/ref/f16-cvt.h"
#include "runtime/op.h"
#include "test.h"
#include "graph_build.h"

/* ---- graph building (tests/graph_build.h) ------------------------------------------------- */

static void output(eo_graph *g, int t, int dtype) {
  g->tensors[t].dtype = dtype;  // declared
  graph_output(g, t);
}

static void attr_i(eo_graph *g, int node, const char *name, int64_t v) {
  eo_node *n = &g->nodes[node];
  n->attrs = realloc(n->attrs, (size_t)(n->n_attrs + 1) * sizeof(eo_attr));
  eo_attr *a = &n->attrs[n->n_attrs++];
  memset(a, 0, sizeof *a);
  a->name = eo_strdup(name);
  a->type = EO_ATTR_INT;
  a->i = v;
}
static int cast(eo_graph *g, const char *name, int x, int y, int to) {
  int n = N(g, EO_OP_CAST, name, IN(x), OUT(y));
  attr_i(g, n, "to", to);
  return n;
}

static double r16(double v) { return eo_f16_to_f32(eo_f32_to_f16((float)v)); }  // core's, independent
static uint16_t h(float v) { return eo_f32_to_f16(v); }

static int node_named(const eo_graph *g, const char *name) {
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i].dead && strcmp(g->nodes[i].name, name) == 0) return i;
  return -1;
}
static int live(const eo_graph *g) {
  int c = 0;
  for (int i = 0; i < g->n_nodes; i++) c += !g->nodes[i].dead;
  return c;
}
static bool is_round(const eo_graph *g, int node) {
  return node >= 0 && g->nodes[node].op == EO_OP_CAST && eo_attr_i(&g->nodes[node], EO_CAST_ROUND_ATTR, 0) == 1 &&
         eo_attr_i(&g->nodes[node], "to", 0) == EO_FLOAT;
}
static int rounds(const eo_graph *g) {
  int c = 0;
  for (int i = 0; i < g->n_nodes; i++) c += !g->nodes[i].dead && is_round(g, i);
  return c;
}
/* The live node reading tensor t (first), or -1. */
static int reader(const eo_graph *g, int t) { return eo_pass_first_consumer(g, t); }
/* No live node reads or writes a float16 tensor, except the graph's own float16 inputs/outputs. */
static int f16_inside(const eo_graph *g) {
  int c = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->n_in + n->n_out; j++) {
      int t = j < n->n_in ? n->in[j] : n->out[j - n->n_in];
      if (t < 0) continue;
      const eo_tensor *tt = &g->tensors[t];
      c += tt->dtype == EO_FLOAT16 && !(tt->flags & (EO_T_INPUT | EO_T_OUTPUT));
    }
  }
  return c;
}

/* ---- a tiny executor: every node through its op def, in topological order ----------------- */

/* ---- graph A: float32 io, keep-fp32 Softmax between Casts (edgeopt quantize --mode fp16's shape)
 *   x -> Cast16 -> Conv(W16, B16) -> Relu -> Cast32 -> Softmax -> Cast16 -> Add(K16) -> Cast32 -> y */
enum { C_IN = 2, C_OUT = 3, HW = 3 };
static float xs[C_IN * HW * HW], ws[C_OUT * C_IN], bs[C_OUT], ks[C_OUT];

static eo_graph graph_a(void) {
  eo_graph g;
  memset(&g, 0, sizeof g);
  g.opset = 13;
  uint16_t w16[C_OUT * C_IN], b16[C_OUT], k16[C_OUT];
  for (int i = 0; i < C_OUT * C_IN; i++) w16[i] = h(ws[i]);
  for (int i = 0; i < C_OUT; i++) b16[i] = h(bs[i]), k16[i] = h(ks[i]);
  int x = graph_input(&g, "x", EO_FLOAT, 4, (int64_t[]){1, C_IN, HW, HW});
  int w = T(&g, "W", EO_FLOAT16, 4, (int64_t[]){C_OUT, C_IN, 1, 1}, w16);
  int b = T(&g, "B", EO_FLOAT16, 1, (int64_t[]){C_OUT}, b16);
  int k = T(&g, "K", EO_FLOAT16, 3, (int64_t[]){C_OUT, 1, 1}, k16);
  int x16 = act(&g, "x16"), c = act(&g, "conv"), r = act(&g, "relu"), r32 = act(&g, "relu32"), s = act(&g, "sm"),
      s16 = act(&g, "sm16"), a = act(&g, "add"), y = act(&g, "y");
  cast(&g, "cast_in", x, x16, EO_FLOAT16);
  N(&g, EO_OP_CONV, "conv", IN(x16, w, b), OUT(c));
  N(&g, EO_OP_RELU, "relu", IN(c), OUT(r));
  cast(&g, "cast_up", r, r32, EO_FLOAT);
  attr_i(&g, N(&g, EO_OP_SOFTMAX, "softmax", IN(r32), OUT(s)), "axis", 1);
  cast(&g, "cast_down", s, s16, EO_FLOAT16);
  N(&g, EO_OP_ADD, "add", IN(s16, k), OUT(a));
  cast(&g, "cast_out", a, y, EO_FLOAT);
  output(&g, y, EO_FLOAT);
  return g;
}

/* The oracle for graph A, in double, rounding to float16 where the model holds float16 tensors
 * (every Cast) and, with round_ops, after Conv and Add as well. */
static void oracle_a(bool round_ops, double *y) {
  double conv[C_OUT][HW * HW], sm[C_OUT][HW * HW];
  for (int o = 0; o < C_OUT; o++)
    for (int p = 0; p < HW * HW; p++) {
      double acc = r16(bs[o]);
      for (int i = 0; i < C_IN; i++) acc += r16(ws[o * C_IN + i]) * r16(xs[i * HW * HW + p]);
      if (round_ops) acc = r16(acc);
      conv[o][p] = r16(acc > 0 ? acc : 0);  // Relu, then Cast to float32 rounds (the tensor is float16)
    }
  for (int p = 0; p < HW * HW; p++) {
    double m = -INFINITY, sum = 0;
    for (int o = 0; o < C_OUT; o++) m = fmax(m, conv[o][p]);
    for (int o = 0; o < C_OUT; o++) sum += exp(conv[o][p] - m);
    for (int o = 0; o < C_OUT; o++) sm[o][p] = r16(exp(conv[o][p] - m) / sum);
  }
  for (int o = 0; o < C_OUT; o++)
    for (int p = 0; p < HW * HW; p++) y[o * HW * HW + p] = r16(sm[o][p] + r16(ks[o]));
}

/* Bar fixed before measuring: float32 vs double summation differs by ~1e-7 relative, which can
 * flip a float16 rounding at one of the three rounding points by one float16 ulp (2^-11 relative):
 * |diff| <= 1e-3 * max|oracle|; and every output must be a float16 value (the last Cast rounds). */
static void check_a_numbers(eo_graph *g, bool round_ops, const char *what) {
  int dt = 0;
  int64_t n = 0;
  float *y = run_graph_output(g, (const void *const[]){xs}, 0, &dt, &n);
  EO_CHECK_MSG(y && dt == EO_FLOAT && n == C_OUT * HW * HW, "%s: runs, float32 [1,3,3,3]", what);
  if (!y) return;
  double ref[C_OUT * HW * HW], worst = 0, mx = 0;
  oracle_a(round_ops, ref);
  int not_half = 0;
  for (int i = 0; i < n; i++) {
    worst = fmax(worst, fabs(y[i] - ref[i]));
    mx = fmax(mx, fabs(ref[i]));
    not_half += (double)y[i] != r16(y[i]);
  }
  printf("%s: max|edgeopt - oracle| %.3g, max|oracle| %.3g\n", what, worst, mx);
  EO_CHECK_MSG(worst <= 1e-3 * mx, "%s: max|diff| %.3g > 1e-3 * %.3g", what, worst, mx);
  EO_CHECK_MSG(not_half == 0, "%s: %d outputs are not float16 values", what, not_half);
  free(y);
}

static void test_graph_a(void) {
  unsigned s = 7;
  for (int i = 0; i < C_IN * HW * HW; i++) xs[i] = (float)((s = s * 1103515245u + 12345u) >> 9 & 0xffff) / 16384.0f - 2;
  for (int i = 0; i < C_OUT * C_IN; i++) ws[i] = 0.3f * (float)(i - 3) + 0.0123f;
  for (int i = 0; i < C_OUT; i++) bs[i] = 0.1f * (float)i - 0.07f, ks[i] = 0.25f * (float)i - 0.3f;

  eo_graph g = graph_a();
  eo_pass_stats st = {0};
  EO_CHECK(eo_pass_lower_fp16(&g, false, &st) == EO_OK);
  EO_CHECK(st.fp16_lowered > 0);
  EO_CHECK_MSG(f16_inside(&g) == 0, "%d float16 tensors left inside", f16_inside(&g));
  // weights: exact float32 copies of the float16 values
  const eo_tensor *w = &g.tensors[eo_graph_find(&g, "W")];
  EO_CHECK(w->dtype == EO_FLOAT && w->nbytes == C_OUT * C_IN * sizeof(float));
  int bad = 0;
  for (int i = 0; i < C_OUT * C_IN; i++) bad += ((const float *)w->data)[i] != (float)r16(ws[i]);
  EO_CHECK_MSG(bad == 0, "%d converted weights differ", bad);
  // each Cast rounds (its input is float32 compute, not float16 values), the output keeps its name
  EO_CHECK(is_round(&g, node_named(&g, "cast_in")));
  EO_CHECK(is_round(&g, node_named(&g, "cast_up")));  // Relu of an unrounded Conv output
  EO_CHECK(is_round(&g, node_named(&g, "cast_down")));
  EO_CHECK(is_round(&g, node_named(&g, "cast_out")));
  EO_CHECK(g.tensors[g.outputs[0]].dtype == EO_FLOAT && strcmp(g.tensors[g.outputs[0]].name, "y") == 0);
  EO_CHECK(live(&g) == 8);
  check_a_numbers(&g, false, "graph A");
  eo_graph_free(&g);

  // round_ops: Conv and Add outputs rounded too; then Relu's output holds float16 values and the
  // Cast after it cancels; the output Cast reads float16 values and only copies
  g = graph_a();
  EO_CHECK(eo_pass_lower_fp16(&g, true, NULL) == EO_OK);
  int conv = node_named(&g, "conv");
  EO_CHECK(conv >= 0 && is_round(&g, reader(&g, g.nodes[conv].out[0])));
  int add = node_named(&g, "add");
  EO_CHECK(add >= 0 && is_round(&g, reader(&g, g.nodes[add].out[0])));
  EO_CHECK(node_named(&g, "cast_up") < 0);
  int co = node_named(&g, "cast_out");
  EO_CHECK(co >= 0 && !is_round(&g, co) && eo_attr_i(&g.nodes[co], "to", 0) == EO_FLOAT);
  EO_CHECK(rounds(&g) == 4);  // cast_in, after conv, cast_down, after add
  EO_CHECK(f16_inside(&g) == 0);
  check_a_numbers(&g, true, "graph A, round_ops");
  eo_graph_free(&g);
}

/* ---- graph B: float16 graph input and output: y16 = x16 * K16 ----------------------------- */
static void test_f16_io(void) {
  enum { L = 64 };
  eo_graph g;
  memset(&g, 0, sizeof g);
  g.opset = 13;
  uint16_t x16[L], k16[L];
  for (int i = 0; i < L; i++) x16[i] = h(0.37f * (float)(i - 30) + 0.001f), k16[i] = h(3.1f - 0.11f * (float)i);
  k16[5] = h(60000.0f);  // 60000 * x overflows float16: Inf, as in a float16 Mul
  int x = graph_input(&g, "x16", EO_FLOAT16, 1, (int64_t[]){L});
  int k = T(&g, "K", EO_FLOAT16, 1, (int64_t[]){L}, k16);
  int y = act(&g, "y16");
  N(&g, EO_OP_MUL, "mul", IN(x, k), OUT(y));
  output(&g, y, EO_FLOAT16);
  EO_CHECK(eo_pass_lower_fp16(&g, false, NULL) == EO_OK);
  EO_CHECK(g.tensors[x].dtype == EO_FLOAT16 && g.tensors[y].dtype == EO_FLOAT16);
  EO_CHECK(f16_inside(&g) == 0);
  EO_CHECK(live(&g) == 3);  // Cast in, Mul, Cast out
  int rd = reader(&g, x);
  EO_CHECK(rd >= 0 && g.nodes[rd].op == EO_OP_CAST && eo_attr_i(&g.nodes[rd], "to", 0) == EO_FLOAT);
  int p = g.tensors[y].producer;
  EO_CHECK(p >= 0 && g.nodes[p].op == EO_OP_CAST && eo_attr_i(&g.nodes[p], "to", 0) == EO_FLOAT16);
  int dt = 0;
  int64_t n = 0;
  uint16_t *out = run_graph_output(&g, (const void *const[]){x16}, 0, &dt, &n);
  EO_CHECK(out && dt == EO_FLOAT16 && n == L);
  // the product of two float16 values is exact in float32 and double: bit-exact
  int bad = 0;
  for (int i = 0; out && i < L; i++)
    bad += out[i] != h((float)((double)eo_f16_to_f32(x16[i]) * eo_f16_to_f32(k16[i])));
  EO_CHECK_MSG(bad == 0, "%d float16 products differ", bad);
  EO_CHECK(out && (out[5] & 0x7fff) == 0x7c00);
  free(out);
  eo_graph_free(&g);
}

/* ---- graph C: Casts that cancel: x -> C16 -> C32 -> C16 -> Reshape -> C32 -> y ---------------- */
static void test_cancel(void) {
  eo_graph g;
  memset(&g, 0, sizeof g);
  g.opset = 13;
  int x = graph_input(&g, "x", EO_FLOAT, 2, (int64_t[]){2, 3});
  int shp = T(&g, "shape", EO_INT64, 1, (int64_t[]){1}, (int64_t[]){6});
  int a = act(&g, "a"), b = act(&g, "b"), c = act(&g, "c"), d = act(&g, "d"), y = act(&g, "y");
  cast(&g, "c1", x, a, EO_FLOAT16);
  cast(&g, "c2", a, b, EO_FLOAT);
  cast(&g, "c3", b, c, EO_FLOAT16);
  N(&g, EO_OP_RESHAPE, "reshape", IN(c, shp), OUT(d));
  cast(&g, "c4", d, y, EO_FLOAT);
  output(&g, y, EO_FLOAT);
  EO_CHECK(eo_pass_lower_fp16(&g, false, NULL) == EO_OK);
  EO_CHECK(is_round(&g, node_named(&g, "c1")));
  EO_CHECK(node_named(&g, "c2") < 0 && node_named(&g, "c3") < 0);  // f16 -> f32 -> f16 of float16 values
  int c4 = node_named(&g, "c4");  // the graph output keeps its producer: a plain copy now
  EO_CHECK(c4 >= 0 && !is_round(&g, c4));
  EO_CHECK(live(&g) == 3 && rounds(&g) == 1);
  float xv[6] = {1.0f / 3, -65519.0f, 70000.0f, 1e-8f, 2049.0f, -0.0f};
  int dt = 0;
  int64_t n = 0;
  float *out = run_graph_output(&g, (const void *const[]){xv}, 0, &dt, &n);
  EO_CHECK(out && dt == EO_FLOAT && n == 6);
  int bad = 0;
  for (int i = 0; out && i < 6; i++) {
    double want = r16(xv[i]);
    bad += !(out[i] == want || (isinf(out[i]) && isinf(want) && signbit(out[i]) == signbit(want)));
  }
  EO_CHECK_MSG(bad == 0, "%d values not rounded to float16 exactly once", bad);
  free(out);
  eo_graph_free(&g);
}

/* ---- graphs the pass leaves alone ------------------------------------------------------------ */
static void test_untouched(void) {
  // no float16 at all
  eo_graph g;
  memset(&g, 0, sizeof g);
  g.opset = 13;
  int x = graph_input(&g, "x", EO_FLOAT, 1, (int64_t[]){4}), y = act(&g, "y");
  N(&g, EO_OP_RELU, "relu", IN(x), OUT(y));
  output(&g, y, EO_FLOAT);
  eo_pass_stats st = {0};
  EO_CHECK(eo_pass_lower_fp16(&g, true, &st) == EO_OK);
  EO_CHECK(st.fp16_lowered == 0 && live(&g) == 1 && g.n_tensors == 2);
  eo_graph_free(&g);
  // a float16 dtype attribute (EyeLike) the pass cannot move: nothing changes, the runtime reports it
  memset(&g, 0, sizeof g);
  g.opset = 13;
  uint16_t k16[4] = {h(1), h(2), h(3), h(4)};
  x = graph_input(&g, "x", EO_FLOAT, 2, (int64_t[]){2, 2});
  int k = T(&g, "K", EO_FLOAT16, 2, (int64_t[]){2, 2}, k16);
  int e = act(&g, "eye"), m = act(&g, "m");
  int idx;
  EO_ASSERT(eo_graph_add_node(&g, "eye", "EyeLike", "", 1, &x, 1, &e, &idx) == EO_OK);
  attr_i(&g, idx, "dtype", EO_FLOAT16);
  N(&g, EO_OP_MUL, "mul", IN(e, k), OUT(m));
  output(&g, m, EO_FLOAT16);
  EO_CHECK(eo_pass_lower_fp16(&g, false, NULL) == EO_OK);
  EO_CHECK(g.tensors[k].dtype == EO_FLOAT16 && live(&g) == 2 && g.n_tensors == 4);
  eo_graph_free(&g);
}

int main(void) {
  test_graph_a();
  test_f16_io();
  test_cancel();
  test_untouched();
  return eo_test_finish();
}
