/* ir/passes/fuse_activation.c eo_pass_fuse_residual and the Conv op's fused residual: Conv -> Add(.,
 * r) [-> activation] on hand-built, inferred graphs, run before and after the pass with the default
 * and the reference kernels. The outputs must be the same bytes (the same float additions, in the
 * same order), for convolutions that take each of the fast paths (Winograd, shifted 1x1 stride 2,
 * 3x3 stride 2 and 7x7 maps, depthwise, pointwise, the direct first layer), both Add operand
 * orders, with Relu, Clip or no activation. Chains the pass must leave alone (a broadcast residual,
 * a Conv output read twice, a Conv with its own activation) stay as they are. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "graph_build.h"
#include "ir/passes/passes.h"
#include "ops/op_test.h"
#include "runtime/infer.h"

static uint32_t rng = 4242;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)(rng >> 8) / 16777216.0f * 2.0f - 1.0f;
}

typedef struct shape {
  const char *name;
  int64_t cin, cout, h, w, k, stride, group;
} shape;

enum { ACT_NONE, ACT_RELU, ACT_CLIP };

/* x -> Conv -> Add(conv, r) or Add(r, conv) -> [act] -> y. extra: 1 = r broadcast over the plane
 * ([1, C, 1, 1]), 2 = the Conv output also a graph output, 3 = a Relu fused into the Conv first
 * (the Conv then has its own activation). */
static eo_graph build(const shape *s, int act_kind, bool r_first, int extra) {
  eo_graph g = new_graph(13);
  const int64_t oh = (s->h + 2 * (s->k / 2) - s->k) / s->stride + 1, ow = (s->w + 2 * (s->k / 2) - s->k) / s->stride + 1;
  int x = graph_input(&g, "x", EO_FLOAT, 4, (int64_t[]){1, s->cin, s->h, s->w});
  int r = graph_input(&g, "r", EO_FLOAT, 4, extra == 1 ? (int64_t[]){1, s->cout, 1, 1} : (int64_t[]){1, s->cout, oh, ow});
  const int64_t wn = s->cout * (s->cin / s->group) * s->k * s->k;
  float *w = malloc((size_t)wn * sizeof *w), *b = malloc((size_t)s->cout * sizeof *b);
  for (int64_t i = 0; i < wn; i++) w[i] = frand() * 0.3f;
  for (int64_t i = 0; i < s->cout; i++) b[i] = frand() * 0.1f;
  int wt = T(&g, "w", EO_FLOAT, 4, (int64_t[]){s->cout, s->cin / s->group, s->k, s->k}, w);
  int bt = T(&g, "b", EO_FLOAT, 1, (int64_t[]){s->cout}, b);
  free(w);
  free(b);
  int c = act(&g, "c"), a = act(&g, "a");
  int ci = N(&g, EO_OP_CONV, "conv", IN(x, wt, bt), OUT(c));  // g.nodes moves as nodes are added
  eo_node *conv = &g.nodes[ci];
  int64_t p = s->k / 2;
  optest_attr_ints(conv, "pads", 4, (int64_t[]){p, p, p, p});
  optest_attr_ints(conv, "strides", 2, (int64_t[]){s->stride, s->stride});
  optest_attr_i(conv, "group", s->group);
  if (extra == 3) conv->fused_act = EO_OP_RELU;
  if (r_first)
    N(&g, EO_OP_ADD, "add", IN(r, c), OUT(a));
  else
    N(&g, EO_OP_ADD, "add", IN(c, r), OUT(a));
  int y = a;
  if (act_kind == ACT_RELU) {
    y = act(&g, "y");
    N(&g, EO_OP_RELU, "relu", IN(a), OUT(y));
  } else if (act_kind == ACT_CLIP) {
    float lo = -0.25f, hi = 0.5f;
    int tl = T(&g, "lo", EO_FLOAT, 0, NULL, &lo), th = T(&g, "hi", EO_FLOAT, 0, NULL, &hi);
    y = act(&g, "y");
    N(&g, EO_OP_CLIP, "clip", IN(a, tl, th), OUT(y));
  }
  graph_output(&g, y);
  if (extra == 2) graph_output(&g, c);
  EO_ASSERT(eo_graph_infer(&g, EO_INFER_FOLD, NULL) == EO_OK);
  return g;
}

static int live(const eo_graph *g, int op) {
  int k = 0;
  for (int i = 0; i < g->n_nodes; i++) k += !g->nodes[i].dead && g->nodes[i].op == op;
  return k;
}

static float *random_input(int64_t n) {
  float *v = malloc((size_t)n * sizeof *v);
  for (int64_t i = 0; i < n; i++) v[i] = frand();
  return v;
}

static void check_fused(const shape *s, int act_kind, bool r_first) {
  const int64_t oh = (s->h + 2 * (s->k / 2) - s->k) / s->stride + 1, ow = (s->w + 2 * (s->k / 2) - s->k) / s->stride + 1;
  float *x = random_input(s->cin * s->h * s->w), *r = random_input(s->cout * oh * ow);
  for (int ref = 0; ref < 2; ref++) {
    eo_graph g = build(s, act_kind, r_first, 0);
    int64_t n0 = 0, n1 = 0;
    float *want = run_graph_output_ref(&g, (const void *const[]){x, r}, 0, NULL, &n0, ref);
    eo_pass_stats st = {0};
    EO_CHECK(eo_pass_fuse_residual(&g, &st) == EO_OK);
    int conv = -1;
    for (int i = 0; i < g.n_nodes; i++)
      if (!g.nodes[i].dead && g.nodes[i].op == EO_OP_CONV) conv = i;
    EO_CHECK_MSG(st.residual_fused == 1 && live(&g, EO_OP_ADD) == 0 && live(&g, EO_OP_RELU) == 0 &&
                     live(&g, EO_OP_CLIP) == 0 && conv >= 0 && g.nodes[conv].fused_residual &&
                     g.nodes[conv].n_in == 4 && g.nodes[conv].out[0] == g.outputs[0],
                 "%s act %d: fused %d", s->name, act_kind, st.residual_fused);
    float *got = run_graph_output_ref(&g, (const void *const[]){x, r}, 0, NULL, &n1, ref);
    EO_CHECK(want && got && n0 == n1 && n0 == s->cout * oh * ow);
    int diff = 0, clipped = 0;
    for (int64_t i = 0; want && got && n0 == n1 && i < n0; i++) {
      diff += memcmp(&want[i], &got[i], sizeof(float)) != 0;
      clipped += act_kind != ACT_NONE && (want[i] == 0.0f || want[i] == -0.25f || want[i] == 0.5f);
    }
    EO_CHECK_MSG(diff == 0, "%s act %d, %s (%s kernels): %d of %lld values differ from Conv + Add", s->name, act_kind,
                 r_first ? "Add(r, conv)" : "Add(conv, r)", ref ? "reference" : "default", diff, (long long)n0);
    EO_CHECK_MSG(act_kind == ACT_NONE || (clipped > 0 && clipped < n0), "%s: the activation clipped %d of %lld values",
                 s->name, clipped, (long long)n0);
    free(want);
    free(got);
    eo_graph_free(&g);
  }
  free(x);
  free(r);
}

static void check_left_alone(int extra) {
  const shape s = {"3x3 s1", 16, 16, 12, 12, 3, 1, 1};
  eo_graph g = build(&s, ACT_RELU, false, extra);
  eo_pass_stats st = {0};
  EO_CHECK(eo_pass_fuse_residual(&g, &st) == EO_OK);
  EO_CHECK_MSG(st.residual_fused == 0 && live(&g, EO_OP_ADD) == 1, "case %d: fused %d, want the chain left alone", extra,
               st.residual_fused);
  eo_graph_free(&g);
}

int main(void) {
  static const shape shapes[] = {
      {"winograd 3x3 s1", 64, 64, 28, 28, 3, 1, 1},  {"1x1 s2 (shifted)", 24, 48, 18, 18, 1, 2, 1},
      {"3x3 s2", 16, 32, 21, 21, 3, 2, 1},           {"depthwise 3x3", 32, 32, 15, 15, 3, 1, 32},
      {"3x3 on 7x7 (transposed)", 64, 64, 7, 7, 3, 1, 1}, {"first layer 3 -> 16", 3, 16, 32, 32, 3, 1, 1},
      {"1x1 s1", 40, 24, 9, 11, 1, 1, 1},
  };
  for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
    for (int act_kind = ACT_NONE; act_kind <= ACT_CLIP; act_kind++) check_fused(&shapes[k], act_kind, (k + act_kind) % 2);
  for (int extra = 1; extra <= 3; extra++) check_left_alone(extra);
  return eo_test_finish();
}
