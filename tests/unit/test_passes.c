/* Graph passes on hand-built graphs: structure after each pass, and numbers (the graph executed
 * before vs after, with the ops' own definitions) for BN folding, constant folding and the default
 * pipeline. */
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/activation.h"
#include "ops/op_test.h"
#include "runtime/op.h"
#include "test.h"
#include "graph_build.h"

/* ---- graph building (tests/graph_build.h) ------------------------------------------------- */

static int input(eo_graph *g, const char *name, int rank, const int64_t *dims) {
  return graph_input(g, name, EO_FLOAT, rank, dims);
}

static int live_nodes(const eo_graph *g) {
  int c = 0;
  for (int i = 0; i < g->n_nodes; i++) c += !g->nodes[i].dead;
  return c;
}

static int node_named(const eo_graph *g, const char *name) {
  for (int i = 0; i < g->n_nodes; i++)
    if (strcmp(g->nodes[i].name, name) == 0) return i;
  return -1;
}

static float frand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *rnd(int64_t n, unsigned seed, float lo, float hi) {
  float *v = malloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < n; i++) v[i] = lo + (frand(&seed) + 1.0f) * 0.5f * (hi - lo);
  return v;
}

/* ---- a tiny executor: every node through its op def, in topological order ----------------- */

// The numeric checks need the ops registered; a missing one is a failure, not a skip.
static bool ops_present(const int *ops, int n) {
  bool ok = true;
  for (int i = 0; i < n; i++) {
    EO_CHECK_MSG(eo_op_get(ops[i]) != NULL, "op %s not registered", eo_op_name(ops[i]));
    ok = ok && eo_op_get(ops[i]);
  }
  return ok;
}

/* Runs g with float feeds for its inputs (in g->inputs order); returns a malloc'd copy of output
 * `oi` and its element count, or NULL (with the status printed) on failure. */
static float *run_graph(eo_graph *g, const float *const *feeds, int oi, int64_t *numel) {
  return run_graph_output(g, (const void *const *)feeds, oi, NULL, numel);
}

/* Runs `before` and `after` with the same feeds and compares output oi within 1e-5 relative. */
static void check_same_output(eo_graph *before, eo_graph *after, const float *const *feeds, int oi,
                              const char *what) {
  int64_t na = 0, nb = 0;
  float *a = run_graph(before, feeds, oi, &na);
  float *b = run_graph(after, feeds, oi, &nb);
  EO_CHECK_MSG(a && b && na == nb && na > 0, "%s: both graphs run (%lld vs %lld elements)", what, (long long)na,
               (long long)nb);
  if (a && b && na == nb) {
    int bad = 0;
    double worst = 0;
    for (int64_t i = 0; i < na; i++) {
      double d = fabs((double)a[i] - b[i]), tol = 1e-5 * (fabs(a[i]) + 1.0);
      if (d > tol) bad++;
      if (d > worst) worst = d;
    }
    EO_CHECK_MSG(bad == 0, "%s: %d of %lld elements differ, worst %.3g", what, bad, (long long)na, worst);
  }
  free(a);
  free(b);
}

/* ---- remove identity ------------------------------------------------------------------------ */

static void test_identity_inner(void) {
  eo_graph g = new_graph(13);
  int64_t d[2] = {2, 3};
  int x = input(&g, "x", 2, d), a = act(&g, "a"), b = act(&g, "b"), c = act(&g, "c");
  N(&g, EO_OP_RELU, "relu", IN(x), OUT(a));
  int id = N(&g, EO_OP_IDENTITY, "id", IN(a), OUT(b));
  int sg = N(&g, EO_OP_SIGMOID, "sig", IN(b), OUT(c));
  graph_output(&g, c);
  eo_pass_stats s = {0};
  EO_CHECK(eo_pass_remove_identity(&g, &s) == EO_OK);
  EO_CHECK(s.identity_removed == 1);
  EO_CHECK(g.nodes[id].dead);
  EO_CHECK(g.nodes[sg].in[0] == a);
  EO_CHECK(eo_graph_compact(&g) == EO_OK);
  EO_CHECK(g.n_nodes == 2);
  EO_CHECK(eo_graph_find(&g, "b") < 0);
  EO_CHECK(g.nodes[1].in[0] == eo_graph_find(&g, "a"));
  eo_graph_free(&g);
}

static void test_identity_to_output(void) {
  // relu -> a -> Identity -> y (graph output); a is also read by tanh: relu writes y, tanh reads y
  eo_graph g = new_graph(13);
  int64_t d[1] = {4};
  int x = input(&g, "x", 1, d), a = act(&g, "a"), y = act(&g, "y"), t = act(&g, "t");
  int relu = N(&g, EO_OP_RELU, "relu", IN(x), OUT(a));
  int id = N(&g, EO_OP_IDENTITY, "id", IN(a), OUT(y));
  int th = N(&g, EO_OP_TANH, "tanh", IN(a), OUT(t));
  graph_output(&g, y);
  graph_output(&g, t);
  eo_pass_stats s = {0};
  EO_CHECK(eo_pass_remove_identity(&g, &s) == EO_OK);
  EO_CHECK(s.identity_removed == 1);
  EO_CHECK(g.nodes[id].dead);
  EO_CHECK(g.nodes[relu].out[0] == y);
  EO_CHECK(g.nodes[th].in[0] == y);
  EO_CHECK(g.tensors[y].producer == relu);
  EO_CHECK(eo_graph_compact(&g) == EO_OK);
  EO_CHECK(eo_graph_find(&g, "a") < 0);
  EO_CHECK(eo_graph_find(&g, "y") >= 0 && g.outputs[0] == eo_graph_find(&g, "y"));
  EO_CHECK(g.tensors[g.outputs[0]].producer >= 0);
  eo_graph_free(&g);
}

static void test_identity_kept(void) {
  // graph input -> Identity -> output, and output -> Identity -> output, and const -> Identity -> output
  eo_graph g = new_graph(13);
  int64_t d[1] = {2};
  float cv[2] = {1, 2};
  int x = input(&g, "x", 1, d), y1 = act(&g, "y1"), a = act(&g, "a"), y2 = act(&g, "y2"), y3 = act(&g, "y3");
  int k = T(&g, "k", EO_FLOAT, 1, d, cv);
  int id1 = N(&g, EO_OP_IDENTITY, "id1", IN(x), OUT(y1));
  N(&g, EO_OP_RELU, "relu", IN(x), OUT(a));
  int id2 = N(&g, EO_OP_IDENTITY, "id2", IN(a), OUT(y2));
  int id3 = N(&g, EO_OP_IDENTITY, "id3", IN(k), OUT(y3));
  graph_output(&g, y1);
  graph_output(&g, a);
  graph_output(&g, y2);
  graph_output(&g, y3);
  eo_pass_stats s = {0};
  EO_CHECK(eo_pass_remove_identity(&g, &s) == EO_OK);
  EO_CHECK(s.identity_removed == 0);
  EO_CHECK(!g.nodes[id1].dead && !g.nodes[id2].dead && !g.nodes[id3].dead);
  eo_graph_free(&g);
}

static void test_dropout(void) {
  // opset 12+: removed when training_mode is absent or constant false and the mask is unused
  eo_graph g = new_graph(13);
  int64_t d[1] = {3}, sc[1] = {0};
  uint8_t f = 0, t = 1;
  float ratio = 0.5f;
  int x = input(&g, "x", 1, d);
  int tm_false = T(&g, "tm_false", EO_BOOL, 0, sc, &f), tm_true = T(&g, "tm_true", EO_BOOL, 0, sc, &t);
  int r = T(&g, "ratio", EO_FLOAT, 0, sc, &ratio);
  int tm_dyn = input(&g, "tm_dyn", 0, sc);
  g.tensors[tm_dyn].dtype = EO_BOOL;
  int o[6], outs[6];
  char nm[32];
  for (int i = 0; i < 6; i++) {
    snprintf(nm, sizeof nm, "d%d", i);
    o[i] = act(&g, nm);
    snprintf(nm, sizeof nm, "o%d", i);
    outs[i] = act(&g, nm);
  }
  int mask = act(&g, "mask"), mask_unused = act(&g, "mask_unused");
  int d0 = N(&g, EO_OP_DROPOUT, "drop_plain", IN(x), OUT(o[0]));
  int d1 = N(&g, EO_OP_DROPOUT, "drop_false", IN(x, r, tm_false), OUT(o[1], mask_unused));
  int d2 = N(&g, EO_OP_DROPOUT, "drop_true", IN(x, r, tm_true), OUT(o[2]));
  int d3 = N(&g, EO_OP_DROPOUT, "drop_dyn", IN(x, r, tm_dyn), OUT(o[3]));
  int d4 = N(&g, EO_OP_DROPOUT, "drop_mask", IN(x), OUT(o[4], mask));
  int d5 = N(&g, EO_OP_DROPOUT, "drop_noratio", IN(x, -1, tm_false), OUT(o[5]));
  for (int i = 0; i < 6; i++) {
    N(&g, EO_OP_RELU, "relu", IN(o[i]), OUT(outs[i]));
    graph_output(&g, outs[i]);
  }
  graph_output(&g, mask);
  eo_pass_stats s = {0};
  EO_CHECK(eo_pass_remove_identity(&g, &s) == EO_OK);
  EO_CHECK(s.identity_removed == 3);
  EO_CHECK(g.nodes[d0].dead && g.nodes[d1].dead && g.nodes[d5].dead);
  EO_CHECK(!g.nodes[d2].dead && !g.nodes[d3].dead && !g.nodes[d4].dead);
  // the Relu after each removed Dropout reads x
  for (int i = 0; i < g.n_nodes; i++)
    if (!g.nodes[i].dead && g.nodes[i].op == EO_OP_RELU) {
      int src = g.nodes[i].in[0];
      bool removed_path = src == x;
      bool kept_path = src == o[2] || src == o[3] || src == o[4];
      EO_CHECK(removed_path || kept_path);
    }
  eo_graph_free(&g);
}

/* ---- DCE ------------------------------------------------------------------------------------ */

static void test_dce(void) {
  eo_graph g = new_graph(13);
  int64_t d[1] = {4};
  int x = input(&g, "x", 1, d), a = act(&g, "a"), b = act(&g, "b"), c = act(&g, "c"), e = act(&g, "e");
  int m1 = act(&g, "m1"), m2 = act(&g, "m2");
  N(&g, EO_OP_RELU, "relu", IN(x), OUT(a));
  N(&g, EO_OP_SIGMOID, "sig", IN(x), OUT(b));
  N(&g, EO_OP_TANH, "tanh", IN(b), OUT(c));
  N(&g, EO_OP_ADD, "add", IN(a, c), OUT(e));  // dead: e is not an output
  // a node with two outputs of which one is an output keeps living
  N(&g, EO_OP_SPLIT, "split", IN(a), OUT(m1, m2));
  graph_output(&g, a);
  graph_output(&g, m2);
  eo_pass_stats s = {0};
  EO_CHECK(eo_pass_dce(&g, &s) == EO_OK);
  EO_CHECK(s.dead_removed == 3);
  EO_CHECK(g.nodes[node_named(&g, "sig")].dead && g.nodes[node_named(&g, "tanh")].dead &&
           g.nodes[node_named(&g, "add")].dead);
  EO_CHECK(!g.nodes[node_named(&g, "relu")].dead && !g.nodes[node_named(&g, "split")].dead);
  EO_CHECK(eo_graph_compact(&g) == EO_OK);
  EO_CHECK(g.n_nodes == 2);
  EO_CHECK(eo_graph_find(&g, "b") < 0 && eo_graph_find(&g, "c") < 0 && eo_graph_find(&g, "e") < 0);
  EO_CHECK(eo_graph_find(&g, "x") >= 0 && eo_graph_find(&g, "m1") >= 0);
  // a second run finds nothing
  s.dead_removed = 0;
  EO_CHECK(eo_pass_dce(&g, &s) == EO_OK && s.dead_removed == 0);
  eo_graph_free(&g);
}

static void test_cycle_error(void) {
  eo_graph g = new_graph(13);
  int64_t d[1] = {4};
  int x = input(&g, "x", 1, d), a = act(&g, "a"), b = act(&g, "b");
  N(&g, EO_OP_ADD, "add1", IN(x, b), OUT(a));
  N(&g, EO_OP_RELU, "loop", IN(a), OUT(b));
  graph_output(&g, b);
  EO_CHECK(eo_pass_dce(&g, NULL) == EO_ERR_INVALID);
  EO_CHECK(strstr(eo_last_error(), "cycle") != NULL);
  EO_CHECK(eo_passes_run_default(&g, NULL) == EO_ERR_INVALID);
  eo_graph_free(&g);
}

/* ---- activation fusion ---------------------------------------------------------------------- */

// x -> Conv(W) -> y -> act -> z (graph output); returns the conv node index
static int conv_act_graph(eo_graph *g, int act_op, int *act_node, int *z_out) {
  int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {3, 2, 1, 1};
  float w[6] = {1, 2, 3, 4, 5, 6};
  int x = input(g, "x", 4, xd), W = T(g, "W", EO_FLOAT, 4, wd, w), y = act(g, "y"), z = act(g, "z");
  int conv = N(g, EO_OP_CONV, "conv", IN(x, W), OUT(y));
  *act_node = N(g, act_op, "act", IN(y), OUT(z));
  graph_output(g, z);
  *z_out = z;
  return conv;
}

static void test_fuse_simple(void) {
  static const struct {
    int op;
    const char *attr1, *attr2;
    float v1, v2, alpha, beta;
  } cases[] = {
      {EO_OP_RELU, NULL, NULL, 0, 0, 0, 0},
      {EO_OP_LEAKY_RELU, "alpha", NULL, 0.25f, 0, 0.25f, 0},
      {EO_OP_LEAKY_RELU, NULL, NULL, 0, 0, 0.01f, 0},
      {EO_OP_SIGMOID, NULL, NULL, 0, 0, 0, 0},
      {EO_OP_HARD_SIGMOID, NULL, NULL, 0, 0, 0.2f, 0.5f},
      {EO_OP_HARD_SIGMOID, "alpha", "beta", 0.1f, 0.3f, 0.1f, 0.3f},
      {EO_OP_HARD_SWISH, NULL, NULL, 0, 0, 0, 0},
      {EO_OP_TANH, NULL, NULL, 0, 0, 0, 0},
      {EO_OP_ELU, NULL, NULL, 0, 0, 1.0f, 0},
      {EO_OP_ELU, "alpha", NULL, 0.5f, 0, 0.5f, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    eo_graph g = new_graph(13);
    int an, z;
    int conv = conv_act_graph(&g, cases[i].op, &an, &z);
    if (cases[i].attr1) optest_attr_f(&g.nodes[an], cases[i].attr1, cases[i].v1);
    if (cases[i].attr2) optest_attr_f(&g.nodes[an], cases[i].attr2, cases[i].v2);
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fuse_activation(&g, &s) == EO_OK);
    EO_CHECK_MSG(s.act_fused == 1, "%s", eo_op_name(cases[i].op));
    EO_CHECK(g.nodes[conv].fused_act == cases[i].op);
    EO_CHECK_NEAR(g.nodes[conv].act_alpha, cases[i].alpha, 0);
    EO_CHECK_NEAR(g.nodes[conv].act_beta, cases[i].beta, 0);
    EO_CHECK(g.nodes[conv].out[0] == z && g.nodes[an].dead);
    EO_CHECK(g.tensors[z].producer == conv);
    EO_CHECK(eo_graph_compact(&g) == EO_OK);
    EO_CHECK(g.n_nodes == 1 && eo_graph_find(&g, "y") < 0 && g.nodes[0].out[0] == eo_graph_find(&g, "z"));
    eo_graph_free(&g);
  }
}

static void test_fuse_clip(void) {
  int64_t sc[1] = {0};
  float lo = 0.0f, hi = 6.0f;
  // opset 11+: constant inputs
  {
    eo_graph g = new_graph(13);
    int an, z;
    int conv = conv_act_graph(&g, EO_OP_CLIP, &an, &z);
    int tlo = T(&g, "lo", EO_FLOAT, 0, sc, &lo), thi = T(&g, "hi", EO_FLOAT, 0, sc, &hi);
    int y = g.nodes[an].in[0];
    free(g.nodes[an].in);
    g.nodes[an].in = malloc(3 * sizeof(int));
    g.nodes[an].in[0] = y, g.nodes[an].in[1] = tlo, g.nodes[an].in[2] = thi;
    g.nodes[an].n_in = 3;
    EO_CHECK(eo_pass_fuse_activation(&g, NULL) == EO_OK);
    EO_CHECK(g.nodes[conv].fused_act == EO_OP_CLIP);
    EO_CHECK(g.nodes[conv].act_alpha == 0.0f && g.nodes[conv].act_beta == 6.0f);
    eo_graph_free(&g);
  }
  // opset 11+: only max given (min absent -> -inf)
  {
    eo_graph g = new_graph(13);
    int an, z;
    int conv = conv_act_graph(&g, EO_OP_CLIP, &an, &z);
    int thi = T(&g, "hi", EO_FLOAT, 0, sc, &hi);
    int y = g.nodes[an].in[0];
    free(g.nodes[an].in);
    g.nodes[an].in = malloc(3 * sizeof(int));
    g.nodes[an].in[0] = y, g.nodes[an].in[1] = -1, g.nodes[an].in[2] = thi;
    g.nodes[an].n_in = 3;
    EO_CHECK(eo_pass_fuse_activation(&g, NULL) == EO_OK);
    EO_CHECK(g.nodes[conv].fused_act == EO_OP_CLIP);
    EO_CHECK(isinf(g.nodes[conv].act_alpha) && g.nodes[conv].act_alpha < 0 && g.nodes[conv].act_beta == 6.0f);
    eo_graph_free(&g);
  }
  // opset 6: attributes
  {
    eo_graph g = new_graph(6);
    int an, z;
    int conv = conv_act_graph(&g, EO_OP_CLIP, &an, &z);
    optest_attr_f(&g.nodes[an], "min", -1.0f);
    optest_attr_f(&g.nodes[an], "max", 1.0f);
    EO_CHECK(eo_pass_fuse_activation(&g, NULL) == EO_OK);
    EO_CHECK(g.nodes[conv].fused_act == EO_OP_CLIP);
    EO_CHECK(g.nodes[conv].act_alpha == -1.0f && g.nodes[conv].act_beta == 1.0f);
    eo_graph_free(&g);
  }
  // non-constant max: not fused
  {
    eo_graph g = new_graph(13);
    int an, z;
    int conv = conv_act_graph(&g, EO_OP_CLIP, &an, &z);
    int thi = input(&g, "hi", 0, sc);
    int y = g.nodes[an].in[0];
    free(g.nodes[an].in);
    g.nodes[an].in = malloc(3 * sizeof(int));
    g.nodes[an].in[0] = y, g.nodes[an].in[1] = -1, g.nodes[an].in[2] = thi;
    g.nodes[an].n_in = 3;
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fuse_activation(&g, &s) == EO_OK);
    EO_CHECK(s.act_fused == 0 && g.nodes[conv].fused_act == -1 && !g.nodes[an].dead);
    eo_graph_free(&g);
  }
}

static void test_fuse_rejected(void) {
  // conv output read twice
  {
    eo_graph g = new_graph(13);
    int an, z;
    int conv = conv_act_graph(&g, EO_OP_RELU, &an, &z);
    int y = g.nodes[conv].out[0], w2 = act(&g, "w2");
    N(&g, EO_OP_SIGMOID, "other", IN(y), OUT(w2));
    graph_output(&g, w2);
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fuse_activation(&g, &s) == EO_OK);
    EO_CHECK(s.act_fused == 0 && g.nodes[conv].fused_act == -1 && g.nodes[conv].out[0] == y);
    eo_graph_free(&g);
  }
  // conv output is a graph output
  {
    eo_graph g = new_graph(13);
    int an, z;
    int conv = conv_act_graph(&g, EO_OP_RELU, &an, &z);
    graph_output(&g, g.nodes[conv].out[0]);
    EO_CHECK(eo_pass_fuse_activation(&g, NULL) == EO_OK);
    EO_CHECK(g.nodes[conv].fused_act == -1 && !g.nodes[an].dead);
    eo_graph_free(&g);
  }
  // not an activation we fuse (Abs), and a Gemm followed by Relu
  {
    eo_graph g = new_graph(13);
    int an, z;
    int conv = conv_act_graph(&g, EO_OP_ABS, &an, &z);
    int64_t ad[2] = {2, 3}, bd[2] = {3, 3};
    float bw[9] = {0};
    int a = input(&g, "a", 2, ad), B = T(&g, "B", EO_FLOAT, 2, bd, bw), gy = act(&g, "gy"), gz = act(&g, "gz");
    int gemm = N(&g, EO_OP_GEMM, "gemm", IN(a, B), OUT(gy));
    N(&g, EO_OP_RELU, "grelu", IN(gy), OUT(gz));
    graph_output(&g, gz);
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fuse_activation(&g, &s) == EO_OK);
    EO_CHECK(s.act_fused == 0 && g.nodes[conv].fused_act == -1 && g.nodes[gemm].fused_act == -1);
    eo_graph_free(&g);
  }
  // already fused conv is not fused twice: Conv -> Relu -> Sigmoid
  {
    eo_graph g = new_graph(13);
    int an, z;
    int conv = conv_act_graph(&g, EO_OP_RELU, &an, &z);
    g.tensors[z].flags &= ~(unsigned)EO_T_OUTPUT;
    g.n_outputs = 0;
    int z2 = act(&g, "z2");
    int sg = N(&g, EO_OP_SIGMOID, "sig", IN(z), OUT(z2));
    graph_output(&g, z2);
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fuse_activation(&g, &s) == EO_OK);
    EO_CHECK(s.act_fused == 1 && g.nodes[conv].fused_act == EO_OP_RELU && !g.nodes[sg].dead);
    EO_CHECK(g.nodes[sg].in[0] == z && g.nodes[conv].out[0] == z);
    eo_graph_free(&g);
  }
}

/* ---- SiLU: Conv -> Sigmoid -> Mul(conv_out, sigmoid_out) ------------------------------------ */

// x[1,3,6,6] -> Conv(W[4,3,3,3], B[4]) -> y -> gate (Sigmoid or HardSigmoid) -> s; Mul(y, s) (or Mul(s, y))
// -> z (graph output)
typedef struct silu_ids {
  int x, y, s, z, conv, sig, mul;
} silu_ids;

static silu_ids silu_graph(eo_graph *g, int gate, bool swap, unsigned seed) {
  int64_t xd[4] = {1, 3, 6, 6}, wd[4] = {4, 3, 3, 3}, bd[1] = {4};
  float *w = rnd(4 * 27, seed, -1, 1), *b = rnd(4, seed + 1, -1, 1);
  silu_ids r;
  r.x = input(g, "x", 4, xd);
  int W = T(g, "W", EO_FLOAT, 4, wd, w), B = T(g, "B", EO_FLOAT, 1, bd, b);
  free(w);
  free(b);
  r.y = act(g, "y"), r.s = act(g, "s"), r.z = act(g, "z");
  r.conv = N(g, EO_OP_CONV, "conv", IN(r.x, W, B), OUT(r.y));
  r.sig = N(g, gate, "sig", IN(r.y), OUT(r.s));
  if (gate == EO_OP_HARD_SIGMOID) optest_attr_f(&g->nodes[r.sig], "alpha", 1.0f / 6.0f);  // nn.Hardswish
  r.mul = swap ? N(g, EO_OP_MUL, "mul", IN(r.s, r.y), OUT(r.z)) : N(g, EO_OP_MUL, "mul", IN(r.y, r.s), OUT(r.z));
  graph_output(g, r.z);
  return r;
}

static void test_fuse_silu(void) {
  static const int need[] = {EO_OP_CONV, EO_OP_SIGMOID, EO_OP_HARD_SIGMOID, EO_OP_MUL};
  if (!ops_present(need, 4)) return;
  for (int c = 0; c < 4; c++) {
    int swap = c & 1, gate = c < 2 ? EO_OP_SIGMOID : EO_OP_HARD_SIGMOID;
    int want = c < 2 ? EO_ACT_SILU : EO_OP_HARD_SWISH;
    eo_graph g = new_graph(13);
    silu_ids r = silu_graph(&g, gate, swap, 70u + (unsigned)c);
    eo_graph f;
    EO_CHECK(eo_graph_clone(&g, &f) == EO_OK);
    // the activation pass alone leaves it (the Conv output has two readers)
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fuse_activation(&f, &s) == EO_OK && s.act_fused == 0 && f.nodes[r.conv].fused_act == -1);
    EO_CHECK(eo_pass_fuse_silu(&f, &s) == EO_OK);
    EO_CHECK_MSG(s.act_fused == 1, "%s swap %d", eo_op_name(gate), swap);
    EO_CHECK(f.nodes[r.conv].fused_act == want && f.nodes[r.conv].out[0] == r.z);
    EO_CHECK(f.nodes[r.sig].dead && f.nodes[r.mul].dead && f.tensors[r.z].producer == r.conv);
    EO_CHECK(eo_graph_compact(&f) == EO_OK);
    EO_CHECK(f.n_nodes == 1 && eo_graph_find(&f, "y") < 0 && eo_graph_find(&f, "s") < 0);
    // numbers: the gate's own vector formula and one product, so equal to the separate ops exactly
    float *xv = rnd(3 * 36, 90u + (unsigned)c, -4, 4);
    const float *feeds[1] = {xv};
    int64_t na = 0, nb = 0;
    float *a = run_graph(&g, feeds, 0, &na), *b = run_graph(&f, feeds, 0, &nb);
    EO_CHECK(a && b && na == 64 && nb == 64);
    if (a && b && na == nb) {
      int differ = 0, neg = 0;
      for (int64_t i = 0; i < na; i++) differ += a[i] != b[i], neg += a[i] < 0;
      EO_CHECK_MSG(differ == 0, "%s swap %d: %d of %lld fused outputs differ from the gate then Mul", eo_op_name(gate),
                   swap, differ, (long long)na);
      EO_CHECK(neg > 0);  // both signs of the conv output exercised
    }
    free(a);
    free(b);
    free(xv);
    eo_graph_free(&g);
    eo_graph_free(&f);
  }
}

static void test_fuse_silu_rejected(void) {
  for (int c = 0; c < 7; c++) {
    eo_graph g = new_graph(13);
    silu_ids r = silu_graph(&g, c == 6 ? EO_OP_HARD_SIGMOID : EO_OP_SIGMOID, c & 1, 80u);
    const char *what = "";
    switch (c) {
      case 0: {  // conv output has a third reader
        what = "conv output read by another node";
        int w2 = act(&g, "w2");
        N(&g, EO_OP_RELU, "other", IN(r.y), OUT(w2));
        graph_output(&g, w2);
        break;
      }
      case 1:
        what = "conv output is a graph output";
        graph_output(&g, r.y);
        break;
      case 2: {  // Mul of the sigmoid with something else
        what = "Mul with another tensor";
        int64_t xd[4] = {1, 4, 4, 4};
        int o = input(&g, "o", 4, xd);
        g.nodes[r.mul].in[0] = r.s, g.nodes[r.mul].in[1] = o;
        int w2 = act(&g, "w2");  // y keeps two readers
        N(&g, EO_OP_RELU, "other", IN(r.y), OUT(w2));
        graph_output(&g, w2);
        break;
      }
      case 3: {  // sigmoid output read elsewhere too
        what = "sigmoid output read by another node";
        int w2 = act(&g, "w2");
        N(&g, EO_OP_RELU, "other", IN(r.s), OUT(w2));
        graph_output(&g, w2);
        break;
      }
      case 4:
        what = "sigmoid output is a graph output";
        graph_output(&g, r.s);
        break;
      case 5:  // Add instead of Mul
        what = "Add instead of Mul";
        g.nodes[r.mul].op = EO_OP_ADD;
        break;
      case 6:  // HardSigmoid with other constants than HardSwish's
        what = "HardSigmoid alpha 0.2";
        g.nodes[r.sig].attrs[0].f = 0.2f;
        break;
    }
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fuse_silu(&g, &s) == EO_OK);
    EO_CHECK_MSG(s.act_fused == 0 && g.nodes[r.conv].fused_act == -1 && g.nodes[r.conv].out[0] == r.y &&
                     !g.nodes[r.sig].dead && !g.nodes[r.mul].dead,
                 "%s: not fused", what);
    eo_graph_free(&g);
  }
}

/* ---- BN folding ----------------------------------------------------------------------------- */

typedef struct bn_init {
  const float *gamma, *beta, *mean, *var;
} bn_init;

// BN tensors for c channels, named with prefix
static void bn_tensors(eo_graph *g, const char *p, int64_t c, unsigned seed, int *t) {
  int64_t d[1] = {c};
  char nm[64];
  const char *names[4] = {"gamma", "beta", "mean", "var"};
  for (int i = 0; i < 4; i++) {
    float *v = i == 3 ? rnd(c, seed + (unsigned)i, 0.2f, 2.0f) : rnd(c, seed + (unsigned)i, -1.5f, 1.5f);
    snprintf(nm, sizeof nm, "%s_%s", p, names[i]);
    t[i] = T(g, nm, EO_FLOAT, 1, d, v);
    free(v);
  }
}

/* x[1,C,H,W] -> Conv(W[M, C/group, kh, kw], bias?) -> y -> BN -> z (output) */
static eo_graph conv_bn_graph(int64_t C, int64_t M, int64_t group, bool bias, int stride, unsigned seed) {
  eo_graph g = new_graph(13);
  int64_t xd[4] = {1, C, 6, 5}, wd[4] = {M, C / group, 3, 3}, bd[1] = {M};
  int64_t wn = eo_numel(4, wd);
  float *w = rnd(wn, seed, -1, 1), *b = rnd(M, seed + 7, -1, 1);
  int x = input(&g, "x", 4, xd), W = T(&g, "W", EO_FLOAT, 4, wd, w), y = act(&g, "y"), z = act(&g, "z");
  int B = bias ? T(&g, "B", EO_FLOAT, 1, bd, b) : -1;
  free(w);
  free(b);
  int conv = bias ? N(&g, EO_OP_CONV, "conv", IN(x, W, B), OUT(y)) : N(&g, EO_OP_CONV, "conv", IN(x, W), OUT(y));
  optest_attr_ints(&g.nodes[conv], "pads", 4, (int64_t[]){1, 1, 1, 1});
  optest_attr_ints(&g.nodes[conv], "strides", 2, (int64_t[]){stride, stride});
  if (group > 1) optest_attr_i(&g.nodes[conv], "group", group);
  int p[4];
  bn_tensors(&g, "bn", M, seed + 100, p);
  int bn = N(&g, EO_OP_BATCH_NORMALIZATION, "bn", IN(y, p[0], p[1], p[2], p[3]), OUT(z));
  optest_attr_f(&g.nodes[bn], "epsilon", 1e-3f);
  graph_output(&g, z);
  return g;
}

static void test_bn_conv_structure(void) {
  eo_graph g = conv_bn_graph(2, 3, 1, false, 1, 1);
  eo_graph orig;
  EO_CHECK(eo_graph_clone(&g, &orig) == EO_OK);
  int conv = node_named(&g, "conv"), bn = node_named(&g, "bn");
  eo_pass_stats s = {0};
  EO_CHECK(eo_pass_fold_batchnorm(&g, &s) == EO_OK);
  EO_CHECK(s.bn_folded == 1);
  EO_CHECK(g.nodes[bn].dead);
  EO_CHECK(g.nodes[conv].n_in == 3 && g.nodes[conv].in[2] >= 0);
  EO_CHECK(g.nodes[conv].out[0] == eo_graph_find(&g, "z"));
  int tb = g.nodes[conv].in[2];
  EO_CHECK(g.tensors[tb].data && g.tensors[tb].rank == 1 && g.tensors[tb].dims[0] == 3);
  // hand-check: bias' = -mean*s + beta, W'[m] = W[m]*s with s = gamma/sqrt(var+eps)
  const float *gm = g.tensors[eo_graph_find(&g, "bn_gamma")].data, *bt = g.tensors[eo_graph_find(&g, "bn_beta")].data;
  const float *mn = g.tensors[eo_graph_find(&g, "bn_mean")].data, *vr = g.tensors[eo_graph_find(&g, "bn_var")].data;
  const float *w0 = orig.tensors[eo_graph_find(&orig, "W")].data, *w1 = g.tensors[g.nodes[conv].in[1]].data;
  const float *bb = g.tensors[tb].data;
  for (int m = 0; m < 3; m++) {
    double sc = gm[m] / sqrt((double)vr[m] + 1e-3);
    EO_CHECK_NEAR(bb[m], -mn[m] * sc + bt[m], 1e-5);
    for (int k = 0; k < 18; k++) EO_CHECK_NEAR(w1[m * 18 + k], w0[m * 18 + k] * sc, 1e-5);
  }
  // the original is untouched by passes on the clone (they own separate data)
  EO_CHECK(orig.nodes[1].dead == false && orig.nodes[0].n_in == 2);
  EO_CHECK(eo_graph_compact(&g) == EO_OK);
  EO_CHECK(g.n_nodes == 1 && eo_graph_find(&g, "y") < 0 && eo_graph_find(&g, "bn_mean") < 0);
  EO_CHECK(g.n_outputs == 1 && strcmp(g.tensors[g.outputs[0]].name, "z") == 0);
  eo_graph_free(&g);
  eo_graph_free(&orig);
}

static void test_bn_rejected(void) {
  // conv output also read elsewhere
  {
    eo_graph g = conv_bn_graph(2, 3, 1, true, 1, 2);
    int y = eo_graph_find(&g, "y"), o = act(&g, "o");
    N(&g, EO_OP_RELU, "r", IN(y), OUT(o));
    graph_output(&g, o);
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fold_batchnorm(&g, &s) == EO_OK);
    EO_CHECK(s.bn_folded == 0 && !g.nodes[node_named(&g, "bn")].dead);
    eo_graph_free(&g);
  }
  // non-constant mean
  {
    eo_graph g = conv_bn_graph(2, 3, 1, true, 1, 3);
    int64_t d[1] = {3};
    int m = input(&g, "m_in", 1, d);
    g.nodes[node_named(&g, "bn")].in[3] = m;
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fold_batchnorm(&g, &s) == EO_OK);
    EO_CHECK(s.bn_folded == 0);
    eo_graph_free(&g);
  }
  // training mode
  {
    eo_graph g = conv_bn_graph(2, 3, 1, true, 1, 3);
    optest_attr_i(&g.nodes[node_named(&g, "bn")], "training_mode", 1);
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fold_batchnorm(&g, &s) == EO_OK && s.bn_folded == 0);
    eo_graph_free(&g);
  }
  // standalone BN (after a graph input) and BN after a non-Conv stay
  {
    eo_graph g = new_graph(13);
    int64_t xd[4] = {1, 3, 2, 2};
    int x = input(&g, "x", 4, xd), z = act(&g, "z"), a = act(&g, "a"), z2 = act(&g, "z2");
    int p[4], q[4];
    bn_tensors(&g, "bn", 3, 5, p);
    bn_tensors(&g, "bn2", 3, 9, q);
    N(&g, EO_OP_BATCH_NORMALIZATION, "bn", IN(x, p[0], p[1], p[2], p[3]), OUT(z));
    N(&g, EO_OP_RELU, "relu", IN(x), OUT(a));
    N(&g, EO_OP_BATCH_NORMALIZATION, "bn2", IN(a, q[0], q[1], q[2], q[3]), OUT(z2));
    graph_output(&g, z);
    graph_output(&g, z2);
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fold_batchnorm(&g, &s) == EO_OK);
    EO_CHECK(s.bn_folded == 0 && live_nodes(&g) == 3);
    eo_graph_free(&g);
  }
  // channel count mismatch between W and BN params (invalid model): left alone
  {
    eo_graph g = conv_bn_graph(2, 4, 1, false, 1, 4);
    int64_t d[1] = {3};
    float v[3] = {1, 1, 1};
    int bn = node_named(&g, "bn");
    for (int j = 1; j < 5; j++) {
      char nm[32];
      snprintf(nm, sizeof nm, "short%d", j);
      g.nodes[bn].in[j] = T(&g, nm, EO_FLOAT, 1, d, v);
    }
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fold_batchnorm(&g, &s) == EO_OK && s.bn_folded == 0);
    EO_CHECK(g.nodes[node_named(&g, "conv")].n_in == 2);
    eo_graph_free(&g);
  }
}

static void test_bn_shared_weights(void) {
  // W and B are read by a second Conv: the fold writes copies, the other Conv keeps the originals
  eo_graph g = conv_bn_graph(2, 3, 1, true, 1, 11);
  int x = eo_graph_find(&g, "x"), W = eo_graph_find(&g, "W"), B = eo_graph_find(&g, "B"), y2 = act(&g, "y2");
  int conv2 = N(&g, EO_OP_CONV, "conv2", IN(x, W, B), OUT(y2));
  optest_attr_ints(&g.nodes[conv2], "pads", 4, (int64_t[]){1, 1, 1, 1});
  graph_output(&g, y2);
  float w_before[54], b_before[3];
  memcpy(w_before, g.tensors[W].data, sizeof w_before);
  memcpy(b_before, g.tensors[B].data, sizeof b_before);
  eo_graph orig;
  EO_CHECK(eo_graph_clone(&g, &orig) == EO_OK);
  eo_pass_stats s = {0};
  EO_CHECK(eo_pass_fold_batchnorm(&g, &s) == EO_OK && s.bn_folded == 1);
  int conv = node_named(&g, "conv");
  EO_CHECK(g.nodes[conv].in[1] != W && g.nodes[conv].in[2] != B);
  EO_CHECK(strncmp(g.tensors[g.nodes[conv].in[1]].name, "W_bnfold", 8) == 0);
  EO_CHECK(g.nodes[conv2].in[1] == W && g.nodes[conv2].in[2] == B);
  EO_CHECK(memcmp(g.tensors[W].data, w_before, sizeof w_before) == 0);
  EO_CHECK(memcmp(g.tensors[B].data, b_before, sizeof b_before) == 0);
  static const int need[] = {EO_OP_CONV, EO_OP_BATCH_NORMALIZATION};
  if (ops_present(need, 2)) {
    float *xv = rnd(60, 77, -2, 2);
    const float *feeds[1] = {xv};
    check_same_output(&orig, &g, feeds, 0, "conv+bn with shared weights (z)");
    check_same_output(&orig, &g, feeds, 1, "conv+bn with shared weights (y2)");
    free(xv);
  }
  eo_graph_free(&g);
  eo_graph_free(&orig);
}

static void test_bn_conv_numeric(void) {
  static const int need[] = {EO_OP_CONV, EO_OP_BATCH_NORMALIZATION};
  if (!ops_present(need, 2)) return;
  static const struct {
    int64_t C, M, group;
    bool bias;
    int stride;
  } cases[] = {{2, 3, 1, false, 1}, {2, 4, 2, true, 2}, {3, 5, 1, true, 1}, {4, 4, 4, false, 1}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    eo_graph g = conv_bn_graph(cases[i].C, cases[i].M, cases[i].group, cases[i].bias, cases[i].stride,
                               (unsigned)(20 + i));
    eo_graph f;
    EO_CHECK(eo_graph_clone(&g, &f) == EO_OK);
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fold_batchnorm(&f, &s) == EO_OK && s.bn_folded == 1);
    EO_CHECK(eo_graph_compact(&f) == EO_OK && f.n_nodes == 1);
    float *xv = rnd(cases[i].C * 30, (unsigned)(50 + i), -2, 2);
    const float *feeds[1] = {xv};
    char what[64];
    snprintf(what, sizeof what, "conv+bn case %zu", i);
    check_same_output(&g, &f, feeds, 0, what);
    free(xv);
    eo_graph_free(&g);
    eo_graph_free(&f);
  }
}

/* a[2,K] -> Gemm(B, C?, alpha, beta, transB) -> y[2,N] -> BN -> z */
static eo_graph gemm_bn_graph(bool trans_b, int c_kind, unsigned seed) {
  const int64_t M = 2, K = 4, Nn = 3;
  eo_graph g = new_graph(13);
  int64_t ad[2] = {M, K}, bd[2] = {trans_b ? Nn : K, trans_b ? K : Nn};
  float *bv = rnd(K * Nn, seed, -1, 1), *cv = rnd(M * Nn, seed + 1, -1, 1);
  int a = input(&g, "a", 2, ad), B = T(&g, "B", EO_FLOAT, 2, bd, bv), y = act(&g, "y"), z = act(&g, "z");
  int C = -1;
  // 0: no C, 1: [N], 2: scalar, 3: [M, N], 4: [1, N]
  if (c_kind == 1) C = T(&g, "C", EO_FLOAT, 1, (int64_t[]){Nn}, cv);
  if (c_kind == 2) C = T(&g, "C", EO_FLOAT, 0, NULL, cv);
  if (c_kind == 3) C = T(&g, "C", EO_FLOAT, 2, (int64_t[]){M, Nn}, cv);
  if (c_kind == 4) C = T(&g, "C", EO_FLOAT, 2, (int64_t[]){1, Nn}, cv);
  free(bv);
  free(cv);
  int gm = C >= 0 ? N(&g, EO_OP_GEMM, "gemm", IN(a, B, C), OUT(y)) : N(&g, EO_OP_GEMM, "gemm", IN(a, B), OUT(y));
  optest_attr_f(&g.nodes[gm], "alpha", 0.5f);
  optest_attr_f(&g.nodes[gm], "beta", 2.0f);
  optest_attr_i(&g.nodes[gm], "transB", trans_b);
  int p[4];
  bn_tensors(&g, "bn", Nn, seed + 100, p);
  N(&g, EO_OP_BATCH_NORMALIZATION, "bn", IN(y, p[0], p[1], p[2], p[3]), OUT(z));
  graph_output(&g, z);
  return g;
}

static void test_bn_gemm(void) {
  static const int need[] = {EO_OP_GEMM, EO_OP_BATCH_NORMALIZATION};
  bool numeric = ops_present(need, 2);
  for (int tb = 0; tb < 2; tb++)
    for (int ck = 0; ck < 5; ck++) {
      eo_graph g = gemm_bn_graph(tb, ck, (unsigned)(200 + 10 * tb + ck));
      eo_graph f;
      EO_CHECK(eo_graph_clone(&g, &f) == EO_OK);
      eo_pass_stats s = {0};
      EO_CHECK(eo_pass_fold_batchnorm(&f, &s) == EO_OK);
      EO_CHECK_MSG(s.bn_folded == 1, "transB %d C kind %d", tb, ck);
      int gm = node_named(&f, "gemm");
      EO_CHECK(f.nodes[gm].n_in == 3 && f.nodes[gm].in[2] >= 0);
      EO_CHECK(eo_attr_f(&f.nodes[gm], "beta", 0) == 1.0f && eo_attr_f(&f.nodes[gm], "alpha", 0) == 0.5f);
      EO_CHECK(f.nodes[gm].out[0] == eo_graph_find(&f, "z"));
      // the new C keeps the row count of the old one ([M, N] stays [M, N]; the rest become [N])
      const eo_tensor *c = &f.tensors[f.nodes[gm].in[2]];
      EO_CHECK(ck == 3 ? c->rank == 2 && c->dims[0] == 2 && c->dims[1] == 3 : c->rank == 1 && c->dims[0] == 3);
      if (numeric) {
        float *av = rnd(8, (unsigned)(300 + ck), -2, 2);
        const float *feeds[1] = {av};
        char what[64];
        snprintf(what, sizeof what, "gemm+bn transB %d C kind %d", tb, ck);
        check_same_output(&g, &f, feeds, 0, what);
        free(av);
      }
      eo_graph_free(&g);
      eo_graph_free(&f);
    }
  // C of shape [M, 1] is not folded
  {
    eo_graph g = gemm_bn_graph(false, 0, 5);
    float cv[2] = {1, 2};
    int C = T(&g, "C", EO_FLOAT, 2, (int64_t[]){2, 1}, cv);
    int gm = node_named(&g, "gemm");
    int *in = realloc(g.nodes[gm].in, 3 * sizeof(int));
    in[2] = C;
    g.nodes[gm].in = in;
    g.nodes[gm].n_in = 3;
    eo_pass_stats s = {0};
    EO_CHECK(eo_pass_fold_batchnorm(&g, &s) == EO_OK && s.bn_folded == 0);
    EO_CHECK(g.nodes[gm].in[2] == C);
    eo_graph_free(&g);
  }
}

/* ---- constant folding ----------------------------------------------------------------------- */

static void test_fold_constants(void) {
  // c1[2,3] + c2[3] -> c3; Relu(c3) -> c4; y = x * c3 + c4 (y output); k = Neg(c2) is a graph output
  eo_graph g = new_graph(13);
  int64_t d23[2] = {2, 3}, d3[1] = {3};
  float v1[6] = {1, -2, 3, -4, 5, -6}, v2[3] = {0.5f, 1.0f, -1.5f};
  int x = input(&g, "x", 2, d23), c1 = T(&g, "c1", EO_FLOAT, 2, d23, v1), c2 = T(&g, "c2", EO_FLOAT, 1, d3, v2);
  int c3 = act(&g, "c3"), c4 = act(&g, "c4"), m = act(&g, "m"), y = act(&g, "y"), k = act(&g, "k");
  int add = N(&g, EO_OP_ADD, "add", IN(c1, c2), OUT(c3));
  int relu = N(&g, EO_OP_RELU, "relu", IN(c3), OUT(c4));
  int mul = N(&g, EO_OP_MUL, "mul", IN(x, c3), OUT(m));
  int add2 = N(&g, EO_OP_ADD, "add2", IN(m, c4), OUT(y));
  int neg = N(&g, EO_OP_NEG, "neg", IN(c2), OUT(k));
  graph_output(&g, y);
  graph_output(&g, k);
  static const int need[] = {EO_OP_ADD, EO_OP_RELU, EO_OP_MUL, EO_OP_NEG};
  eo_pass_stats s = {0};
  eo_graph orig;
  EO_CHECK(eo_graph_clone(&g, &orig) == EO_OK);
  EO_CHECK(eo_pass_fold_constants(&g, &s) == EO_OK);
  if (!ops_present(need, 4)) {
    eo_graph_free(&g);
    eo_graph_free(&orig);
    return;
  }
  EO_CHECK(s.nodes_folded == 3);
  EO_CHECK(g.nodes[add].dead && g.nodes[relu].dead && g.nodes[neg].dead);
  EO_CHECK(!g.nodes[mul].dead && !g.nodes[add2].dead);
  const float *f3 = g.tensors[c3].data, *f4 = g.tensors[c4].data, *fk = g.tensors[k].data;
  EO_CHECK(f3 && f4 && fk);
  EO_CHECK(g.tensors[c3].producer == -1 && g.tensors[c3].rank == 2 && g.tensors[c3].dims[1] == 3);
  EO_CHECK(g.tensors[c3].nbytes == 24 && g.tensors[k].nbytes == 12);
  if (f3 && f4 && fk) {
    for (int i = 0; i < 6; i++) {
      EO_CHECK_NEAR(f3[i], v1[i] + v2[i % 3], 0);
      EO_CHECK_NEAR(f4[i], fmax(v1[i] + v2[i % 3], 0), 0);
    }
    for (int i = 0; i < 3; i++) EO_CHECK_NEAR(fk[i], -v2[i], 0);
  }
  // the whole pipeline keeps the numbers and leaves Mul + Add
  eo_graph h;
  EO_CHECK(eo_graph_clone(&orig, &h) == EO_OK);
  EO_CHECK(eo_passes_run_default(&h, &s) == EO_OK);
  EO_CHECK(s.nodes_folded == 3 && h.n_nodes == 2);
  EO_CHECK(eo_graph_find(&h, "c1") < 0 && eo_graph_find(&h, "c3") >= 0);
  EO_CHECK(strcmp(h.tensors[h.outputs[1]].name, "k") == 0 && h.tensors[h.outputs[1]].data);
  float xv[6] = {0.5f, -1, 2, 3, -0.25f, 1.5f};
  const float *feeds[1] = {xv};
  check_same_output(&orig, &h, feeds, 0, "folded constants");
  eo_graph_free(&g);
  eo_graph_free(&h);
  eo_graph_free(&orig);
}

static void test_fold_limits(void) {
  // [4096,1] + [1,4097] floats is 67,125,248 bytes > 64 MiB: left alone; an unregistered op too
  eo_graph g = new_graph(13);
  float *a = calloc(4097, sizeof(float));
  int ta = T(&g, "a", EO_FLOAT, 2, (int64_t[]){4096, 1}, a), tb = T(&g, "b", EO_FLOAT, 2, (int64_t[]){1, 4097}, a);
  free(a);
  int64_t d[1] = {2};
  float v[2] = {1, 2};
  int k = T(&g, "k", EO_FLOAT, 1, d, v);
  int big = act(&g, "big"), u = act(&g, "u");
  int add = N(&g, EO_OP_ADD, "add", IN(ta, tb), OUT(big));
  int unk = N(&g, -1, "custom", IN(k), OUT(u));
  free(g.nodes[unk].op_type);
  g.nodes[unk].op_type = strdup("MyCustomOp");
  g.nodes[unk].op = -1;
  graph_output(&g, big);
  graph_output(&g, u);
  eo_pass_stats s = {0};
  EO_CHECK(eo_pass_fold_constants(&g, &s) == EO_OK);
  EO_CHECK(s.nodes_folded == 0);
  EO_CHECK(!g.nodes[add].dead && !g.nodes[unk].dead && g.tensors[big].data == NULL);
  EO_CHECK(s.fold_skipped_large == 1);
  eo_graph_free(&g);
}

/* ---- the default pipeline ------------------------------------------------------------------- */

static void test_default_pipeline(void) {
  // x -> Identity -> Conv -> BN -> Relu -> Dropout -> out, plus a dead branch
  eo_graph g = conv_bn_graph(2, 3, 1, true, 1, 99);
  int x = eo_graph_find(&g, "x"), z = eo_graph_find(&g, "z");
  g.tensors[z].flags &= ~(unsigned)EO_T_OUTPUT;
  g.n_outputs = 0;
  int xi = act(&g, "x_id"), r = act(&g, "r"), out = act(&g, "out"), dead = act(&g, "dead");
  int conv = node_named(&g, "conv");
  g.nodes[conv].in[0] = xi;
  N(&g, EO_OP_IDENTITY, "id", IN(x), OUT(xi));
  N(&g, EO_OP_RELU, "relu", IN(z), OUT(r));
  N(&g, EO_OP_DROPOUT, "drop", IN(r), OUT(out));
  N(&g, EO_OP_SIGMOID, "unused", IN(r), OUT(dead));
  graph_output(&g, out);
  eo_graph orig;
  EO_CHECK(eo_graph_clone(&g, &orig) == EO_OK);
  eo_pass_stats s;
  memset(&s, 0xff, sizeof s);
  EO_CHECK(eo_passes_run_default(&g, &s) == EO_OK);
  EO_CHECK(s.identity_removed == 2 && s.bn_folded == 1 && s.act_fused == 1 && s.dead_removed == 1);
  EO_CHECK(s.nodes_folded == 0 && s.fold_skipped_large == 0);
  EO_CHECK(g.n_nodes == 1);
  EO_CHECK(g.nodes[0].op == EO_OP_CONV && g.nodes[0].fused_act == EO_OP_RELU);
  EO_CHECK(g.nodes[0].in[0] == eo_graph_find(&g, "x") && g.nodes[0].out[0] == eo_graph_find(&g, "out"));
  EO_CHECK(g.n_outputs == 1 && strcmp(g.tensors[g.outputs[0]].name, "out") == 0);
  EO_CHECK(g.n_inputs == 1 && strcmp(g.tensors[g.inputs[0]].name, "x") == 0);
  EO_CHECK(g.tensors[g.outputs[0]].producer == 0);
  // the clone source is untouched
  EO_CHECK(orig.n_nodes == 6 && live_nodes(&orig) == 6);
  static const int need[] = {EO_OP_CONV, EO_OP_BATCH_NORMALIZATION, EO_OP_IDENTITY, EO_OP_RELU,
                             EO_OP_DROPOUT, EO_OP_SIGMOID};
  if (ops_present(need, 6)) {
    float *xv = rnd(60, 123, -2, 2);
    const float *feeds[1] = {xv};
    check_same_output(&orig, &g, feeds, 0, "default pipeline (Conv with fused Relu)");
    free(xv);
  }
  eo_graph_free(&g);
  eo_graph_free(&orig);
}

int main(void) {
  test_identity_inner();
  test_identity_to_output();
  test_identity_kept();
  test_dropout();
  test_dce();
  test_cycle_error();
  test_fuse_simple();
  test_fuse_clip();
  test_fuse_rejected();
  test_fuse_silu();
  test_fuse_silu_rejected();
  test_bn_conv_structure();
  test_bn_rejected();
  test_bn_shared_weights();
  test_bn_conv_numeric();
  test_bn_gemm();
  test_fold_constants();
  test_fold_limits();
  test_default_pipeline();
  return eo_test_finish();
}
