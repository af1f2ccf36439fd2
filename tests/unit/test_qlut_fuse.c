/* ir/passes/fuse_qlut.c and ops/q8_lut.c: quantized SiLU (QLinearSigmoid -> QLinearMul) and HardSwish
 * (DQ -> HardSigmoid -> Q -> QLinearMul) made one 256-entry table. Hand-built graphs (uint8 and
 * int8, both Mul operand orders, several scales and zero points) run before and after the pass on an
 * input holding every code: the outputs must be the same bytes, with the default kernels and with
 * the reference kernels (the pass builds its table with the kernels the session runs). Chains the
 * pass must leave alone (a gate with a second reader, a run-time scale, a gate of another tensor)
 * stay as they are, and a Q8Lut outside edgeopt's internal domain is refused.
 * Also DQ -> Split / nearest Resize / Transpose -> Q with new parameters (a table, then the move on
 * codes), after a SiLU too (one table of both): every output the same bytes; groups with Qs that
 * differ, a float tensor that is also a graph output, or a Q to another dtype are left alone. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "graph_build.h"
#include "ir/passes/passes.h"
#include "ops/op_test.h"

enum { C = 2, H = 16, W = 17, NUMEL = C * H * W }; /* 544 codes: every byte at least twice */

static uint32_t rng = 777;
static uint32_t next(void) {
  rng = rng * 1664525u + 1013904223u;
  return rng >> 8;
}

static void *run_graph(eo_graph *g, const void *feed, bool force_ref, int64_t *numel) {
  return run_graph_output_ref(g, (const void *const[]){feed}, 0, NULL, numel, force_ref);
}

static int live(const eo_graph *g, int op) {
  int k = 0;
  for (int i = 0; i < g->n_nodes; i++) k += !g->nodes[i].dead && g->nodes[i].op == op;
  return k;
}

static int f32c(eo_graph *g, const char *name, float v) { return T(g, name, EO_FLOAT, 0, NULL, &v); }
static int zpc(eo_graph *g, const char *name, int dt, int v) {
  uint8_t b = (uint8_t)v;
  return T(g, name, dt, 0, NULL, &b);
}

typedef struct qp {
  float xs, gs, ys;          /* x, gate output, Mul output scales */
  int xz, gz, yz;            /* zero points (int8 values when s8) */
  float alpha, beta;         /* HardSigmoid */
} qp;

enum { SILU, HSWISH };

/* x -> gate -> QLinearMul(x, gate) or (gate, x) -> y. extra: 1 = the gate's output is also a graph
 * output (not fusable), 2 = the Mul's output scale is a graph input (not fusable), 3 = the Mul reads
 * another tensor beside the gate (not fusable). */
static eo_graph build(int kind, bool s8, bool gate_first, const qp *q, int extra) {
  int dt = s8 ? EO_INT8 : EO_UINT8;
  eo_graph g = new_graph(13);
  int x = graph_input(&g, "x", dt, 4, (int64_t[]){1, C, H, W});
  int other = extra == 3 ? graph_input(&g, "x2", dt, 4, (int64_t[]){1, C, H, W}) : x;
  int xs = f32c(&g, "xs", q->xs), xz = zpc(&g, "xz", dt, q->xz), gs = f32c(&g, "gs", q->gs), gz = zpc(&g, "gz", dt, q->gz);
  int ys = extra == 2 ? graph_input(&g, "ys", EO_FLOAT, 0, NULL) : f32c(&g, "ys", q->ys);
  int yz = zpc(&g, "yz", dt, q->yz), s = act(&g, "s"), y = act(&g, "y");
  if (kind == SILU) {
    N(&g, EO_OP_QLINEAR_SIGMOID, "sig", IN(x, xs, xz, gs, gz), OUT(s));  // by op id (graph_build.h)
  } else {
    int h = act(&g, "h"), hs = act(&g, "hs");
    N(&g, EO_OP_DEQUANTIZE_LINEAR, "dq", IN(x, xs, xz), OUT(h));
    int hn = N(&g, EO_OP_HARD_SIGMOID, "hsig", IN(h), OUT(hs));
    optest_attr_f(&g.nodes[hn], "alpha", q->alpha);
    optest_attr_f(&g.nodes[hn], "beta", q->beta);
    N(&g, EO_OP_QUANTIZE_LINEAR, "q", IN(hs, gs, gz), OUT(s));
  }
  if (gate_first)
    N(&g, EO_OP_QLINEAR_MUL, "mul", IN(s, gs, gz, other, xs, xz, ys, yz), OUT(y));
  else
    N(&g, EO_OP_QLINEAR_MUL, "mul", IN(other, xs, xz, s, gs, gz, ys, yz), OUT(y));
  graph_output(&g, y);
  if (extra == 1) graph_output(&g, s);
  return g;
}

static void codes(uint8_t *x) {
  for (int i = 0; i < NUMEL; i++) x[i] = (uint8_t)i;  // 0..255, 0..255, 0..31
  for (int i = NUMEL - 1; i > 0; i--) {
    int j = (int)(next() % (uint32_t)(i + 1));
    uint8_t t = x[i];
    x[i] = x[j], x[j] = t;
  }
}

static const char *kind_name(int kind) { return kind == SILU ? "SiLU" : "HardSwish"; }

static void check_fused(int kind, bool s8, bool gate_first, const qp *q) {
  uint8_t x[NUMEL];
  codes(x);
  for (int ref = 0; ref < 2; ref++) {
    eo_graph g = build(kind, s8, gate_first, q, 0);
    int64_t n0 = 0, n1 = 0;
    uint8_t *want = run_graph(&g, x, ref, &n0);
    eo_pass_stats st = {0};
    EO_CHECK(eo_pass_fuse_qlut(&g, ref, &st) == EO_OK);
    EO_CHECK_MSG(st.qlut_fused == 1 && live(&g, EO_OP_Q8_LUT) == 1 && live(&g, EO_OP_QLINEAR_MUL) == 0 &&
                     live(&g, EO_OP_QLINEAR_SIGMOID) == 0 && live(&g, EO_OP_HARD_SIGMOID) == 0 &&
                     live(&g, EO_OP_QUANTIZE_LINEAR) == 0 && live(&g, EO_OP_DEQUANTIZE_LINEAR) == 0,
                 "%s %s: fused %d, Q8Lut %d, QLinearMul %d", kind_name(kind), s8 ? "s8" : "u8", st.qlut_fused,
                 live(&g, EO_OP_Q8_LUT), live(&g, EO_OP_QLINEAR_MUL));
    for (int i = 0; i < g.n_nodes; i++)
      if (!g.nodes[i].dead && g.nodes[i].op == EO_OP_Q8_LUT)
        EO_CHECK(strcmp(g.nodes[i].domain, EO_INTERNAL_DOMAIN) == 0 && g.tensors[g.nodes[i].out[0]].producer == i);
    EO_CHECK(eo_graph_compact(&g) == EO_OK);
    uint8_t *got = run_graph(&g, x, ref, &n1);
    EO_CHECK(want && got && n0 == NUMEL && n1 == NUMEL);
    int diff = 0, distinct = 0;
    bool seen[256] = {0};
    for (int i = 0; want && got && i < NUMEL; i++) {
      diff += want[i] != got[i];
      distinct += !seen[want[i]];
      seen[want[i]] = true;
    }
    EO_CHECK_MSG(diff == 0, "%s %s %s (%s kernels): %d of %d bytes differ from the unfused chain", kind_name(kind),
                 s8 ? "s8" : "u8", gate_first ? "Mul(gate, x)" : "Mul(x, gate)", ref ? "reference" : "default", diff,
                 NUMEL);
    EO_CHECK_MSG(distinct >= 16, "%s: only %d distinct outputs: the case tests little", kind_name(kind), distinct);
    free(want);
    free(got);
    eo_graph_free(&g);
  }
}

static void check_left_alone(int kind, int extra) {
  qp q = {.xs = 0.05f, .gs = 1.0f / 256, .ys = 0.03f, .xz = 100, .gz = 0, .yz = 20, .alpha = 1.0f / 6, .beta = 0.5f};
  eo_graph g = build(kind, false, false, &q, extra);
  eo_pass_stats st = {0};
  EO_CHECK(eo_pass_fuse_qlut(&g, false, &st) == EO_OK);
  EO_CHECK_MSG(st.qlut_fused == 0 && live(&g, EO_OP_Q8_LUT) == 0 && live(&g, EO_OP_QLINEAR_MUL) == 1,
               "%s case %d: fused %d, want the chain left alone", kind_name(kind), extra, st.qlut_fused);
  eo_graph_free(&g);
}

static void test_internal_domain(void) {
  uint8_t xd[4] = {0, 1, 2, 3}, table[256];
  for (int i = 0; i < 256; i++) table[i] = (uint8_t)(255 - i);
  eo_tview x = optest_view(EO_UINT8, 1, (int64_t[]){4}, xd), t = optest_view(EO_UINT8, 1, (int64_t[]){256}, table), y;
  eo_node *n = optest_node("Q8Lut");
  EO_CHECK(n->op == EO_OP_Q8_LUT);
  eo_status st = optest_run(n, 13, 2, (eo_tview *[]){&x, &t}, 1, (eo_tview *[]){&y}, true);
  EO_CHECK_MSG(st == EO_ERR_UNSUPPORTED && strstr(eo_last_error(), "internal"), "default domain: %d %s", st,
               eo_last_error());
  free(n->domain);
  n->domain = strdup(EO_INTERNAL_DOMAIN);
  st = optest_run_vs_ref(n, 13, 2, (eo_tview *[]){&x, &t}, 1, (eo_tview *[]){&y});
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (!st) {
    const uint8_t *o = y.data;
    EO_CHECK(o[0] == 255 && o[1] == 254 && o[2] == 253 && o[3] == 252);
    free(y.data);
  }
  optest_node_free(n);
}

enum { SPLIT, RESIZE, TRANSPOSE };
static const char *move_name(int mv) { return mv == SPLIT ? "Split" : mv == RESIZE ? "Resize" : "Transpose"; }

/* [SiLU(x) ->] DQ -> move -> Q (each output; Split: 2 along axis 1) -> outputs. extra: 1 = the second
 * Q has another scale, 2 = the DQ's output is also a graph output, 3 = the Qs write the other 8-bit
 * dtype (each not fusable). */
static eo_graph build_move(int mv, bool s8, bool silu, const qp *q, int extra) {
  int dt = s8 ? EO_INT8 : EO_UINT8, qdt = extra == 3 ? (s8 ? EO_UINT8 : EO_INT8) : dt;
  eo_graph g = new_graph(13);
  int x = graph_input(&g, "x", dt, 4, (int64_t[]){1, C, H, W});
  int xs = f32c(&g, "xs", q->xs), xz = zpc(&g, "xz", dt, q->xz), ys = f32c(&g, "ys", q->ys);
  int yz = zpc(&g, "yz", qdt, extra == 3 ? q->yz + (s8 ? 128 : -128) : q->yz), ys2 = f32c(&g, "ys2", q->ys * 1.5f);
  if (silu) {
    int gs = f32c(&g, "gs", 1.0f / 256), gz = zpc(&g, "gz", dt, s8 ? -128 : 0), sg = act(&g, "sg");
    int a = T(&g, "a", dt, 4, (int64_t[]){1, C, H, W}, NULL);  // typed, as inference leaves it in a session
    N(&g, EO_OP_QLINEAR_SIGMOID, "sig", IN(x, xs, xz, gs, gz), OUT(sg));
    N(&g, EO_OP_QLINEAR_MUL, "mul", IN(x, xs, xz, sg, gs, gz, xs, xz), OUT(a));
    x = a;
  }
  int f = act(&g, "f");
  N(&g, EO_OP_DEQUANTIZE_LINEAR, "dq", IN(x, xs, xz), OUT(f));
  int outs = mv == SPLIT ? 2 : 1, m[2] = {act(&g, "m0"), act(&g, "m1")};
  if (mv == SPLIT) {
    int ni = N(&g, EO_OP_SPLIT, "split", IN(f), OUT(m[0], m[1]));  // g.nodes moves as nodes are added
    optest_attr_i(&g.nodes[ni], "axis", 1);
  } else if (mv == RESIZE) {
    float sc[4] = {1, 1, 2, 2};
    int scales = T(&g, "scales", EO_FLOAT, 1, (int64_t[]){4}, sc);
    int ni = N(&g, EO_OP_RESIZE, "resize", IN(f, -1, scales), OUT(m[0]));
    optest_attr_s(&g.nodes[ni], "mode", "nearest");
  } else {
    int ni = N(&g, EO_OP_TRANSPOSE, "tr", IN(f), OUT(m[0]));
    optest_attr_ints(&g.nodes[ni], "perm", 4, (int64_t[]){0, 2, 3, 1});
  }
  for (int o = 0; o < outs; o++) {
    int y = act(&g, o ? "y1" : "y0");
    N(&g, EO_OP_QUANTIZE_LINEAR, o ? "q1" : "q0", IN(m[o], extra == 1 && o ? ys2 : ys, yz), OUT(y));
    graph_output(&g, y);
  }
  if (extra == 2) graph_output(&g, f);
  return g;
}

static void check_move(int mv, bool s8, bool silu, const qp *q) {
  uint8_t x[NUMEL];
  codes(x);
  for (int ref = 0; ref < 2; ref++) {
    eo_graph g = build_move(mv, s8, silu, q, 0);
    int outs = mv == SPLIT ? 2 : 1;
    int64_t n0[2] = {0}, n1[2] = {0};
    uint8_t *want[2] = {NULL, NULL}, *got[2] = {NULL, NULL};
    for (int o = 0; o < outs; o++) want[o] = run_graph_output_ref(&g, (const void *const[]){x}, o, NULL, &n0[o], ref);
    eo_pass_stats st = {0};
    EO_CHECK(eo_pass_fuse_qlut(&g, ref, &st) == EO_OK);
    EO_CHECK_MSG(st.qmove_fused == 1 && live(&g, EO_OP_Q8_LUT) == 1 && live(&g, EO_OP_DEQUANTIZE_LINEAR) == 0 &&
                     live(&g, EO_OP_QUANTIZE_LINEAR) == 0 && live(&g, EO_OP_QLINEAR_MUL) == 0,
                 "%s %s%s: fused %d, Q8Lut %d, DQ %d, Q %d", move_name(mv), s8 ? "s8" : "u8", silu ? " after SiLU" : "",
                 st.qmove_fused, live(&g, EO_OP_Q8_LUT), live(&g, EO_OP_DEQUANTIZE_LINEAR),
                 live(&g, EO_OP_QUANTIZE_LINEAR));
    EO_CHECK(eo_graph_compact(&g) == EO_OK);
    for (int o = 0; o < outs; o++) got[o] = run_graph_output_ref(&g, (const void *const[]){x}, o, NULL, &n1[o], ref);
    for (int o = 0; o < outs; o++) {
      int diff = 0, distinct = 0;
      bool seen[256] = {0};
      EO_CHECK(want[o] && got[o] && n0[o] == n1[o] && n0[o] > 0);
      for (int64_t i = 0; want[o] && got[o] && n0[o] == n1[o] && i < n0[o]; i++) {
        diff += want[o][i] != got[o][i];
        distinct += !seen[want[o][i]];
        seen[want[o][i]] = true;
      }
      EO_CHECK_MSG(diff == 0 && distinct >= 16, "%s %s%s output %d (%s kernels): %d of %lld bytes differ, %d distinct",
                   move_name(mv), s8 ? "s8" : "u8", silu ? " after SiLU" : "", o, ref ? "reference" : "default", diff,
                   (long long)n0[o], distinct);
      free(want[o]);
      free(got[o]);
    }
    eo_graph_free(&g);
  }
}

static void check_move_left_alone(int extra) {
  qp q = {.xs = 0.05f, .ys = 0.03f, .xz = 100, .yz = 20};
  eo_graph g = build_move(SPLIT, false, false, &q, extra);
  eo_pass_stats st = {0};
  EO_CHECK(eo_pass_fuse_qlut(&g, false, &st) == EO_OK);
  EO_CHECK_MSG(st.qmove_fused == 0 && live(&g, EO_OP_Q8_LUT) == 0 && live(&g, EO_OP_DEQUANTIZE_LINEAR) == 1,
               "Split case %d: fused %d, want the group left alone", extra, st.qmove_fused);
  eo_graph_free(&g);
}

int main(void) {
  static const qp params[] = {
      // typical SiLU / HardSwish parameters, a gate at 1/256, another with a zero point, a coarse x
      {.xs = 0.05f, .gs = 1.0f / 256, .ys = 0.03f, .xz = 100, .gz = 0, .yz = 20, .alpha = 1.0f / 6, .beta = 0.5f},
      {.xs = 0.11f, .gs = 0.0041f, .ys = 0.07f, .xz = 131, .gz = 9, .yz = 47, .alpha = 0.2f, .beta = 0.5f},
      {.xs = 0.5f, .gs = 1.0f / 255, .ys = 0.4f, .xz = 0, .gz = 3, .yz = 128, .alpha = 1.0f / 6, .beta = 0.5f},
  };
  for (int kind = SILU; kind <= HSWISH; kind++)
    for (size_t k = 0; k < sizeof params / sizeof params[0]; k++)
      for (int s8 = 0; s8 < 2; s8++) {
        qp q = params[k];
        if (s8) q.xz -= 128, q.gz -= 128, q.yz -= 128;
        check_fused(kind, s8, k % 2 == 1, &q);
        check_fused(kind, s8, k % 2 == 0, &q);
      }
  for (int kind = SILU; kind <= HSWISH; kind++)
    for (int extra = 1; extra <= 3; extra++) check_left_alone(kind, extra);
  for (int mv = SPLIT; mv <= TRANSPOSE; mv++)
    for (size_t k = 0; k < sizeof params / sizeof params[0]; k++)
      for (int s8 = 0; s8 < 2; s8++) {
        qp q = params[k];
        if (s8) q.xz -= 128, q.yz -= 128;
        check_move(mv, s8, false, &q);
        check_move(mv, s8, true, &q);
      }
  for (int extra = 1; extra <= 3; extra++) check_move_left_alone(extra);
  test_internal_domain();
  return eo_test_finish();
}
