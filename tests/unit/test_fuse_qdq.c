/* The fuse_qdq pass on the QDQ fixtures of scripts/make_qdq_conv_fixtures.py (loaded from ONNX as
 * the session would): which Conv groups become QLinearConv and which stay float, per the rules
 * ORT follows (redundant Relu/Clip fused, a narrower Clip kept, a bias at another scale kept). */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/op.h"
#include "test.h"
#include "qdq_fixtures.h"


static void count_ops(const eo_graph *g, int *qconv, int *conv, int *relu, int *clip, int *q) {
  *qconv = qdq_count_op(g, EO_OP_QLINEAR_CONV);
  *conv = qdq_count_op(g, EO_OP_CONV);
  *q = qdq_count_op(g, EO_OP_QUANTIZE_LINEAR);
  *relu = *clip = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead) continue;
    // an activation left outside a QLinearConv may since be fused into its float Conv
    *relu += n->op == EO_OP_RELU || (n->op == EO_OP_CONV && n->fused_act == EO_OP_RELU);
    *clip += n->op == EO_OP_CLIP || (n->op == EO_OP_CONV && n->fused_act == EO_OP_CLIP);
  }
}

/* Loads DIR/NAME.onnx, runs the default passes on a copy and checks the counts after. */
static void check_model(const char *name, int want_qconv, int want_conv, int want_relu, int want_clip, int want_q) {
  eo_model *m;
  eo_graph g;
  eo_pass_stats ps;
  if (qdq_fixture_load(name, &m, &g, &ps)) return;
  int qc, c, r, cl, q;
  count_ops(&g, &qc, &c, &r, &cl, &q);
  EO_CHECK_MSG(qc == want_qconv && ps.qdq_fused == want_qconv, "%s: %d QLinearConv (stats %d), want %d", name, qc,
               ps.qdq_fused, want_qconv);
  EO_CHECK_MSG(c == want_conv && r == want_relu && cl == want_clip && q == want_q,
               "%s: Conv %d Relu %d Clip %d Q %d, want %d %d %d %d", name, c, r, cl, q, want_conv, want_relu, want_clip,
               want_q);
  // every QLinearConv reads an 8-bit x and const 8-bit weights and writes what a Q wrote before
  for (int i = 0; i < g.n_nodes; i++) {
    const eo_node *n = &g.nodes[i];
    if (n->dead || n->op != EO_OP_QLINEAR_CONV) continue;
    EO_CHECK(n->n_in == 8 || n->n_in == 9);
    EO_CHECK(g.tensors[n->in[3]].data != NULL && (g.tensors[n->in[3]].dtype == EO_INT8 || g.tensors[n->in[3]].dtype == EO_UINT8));
    EO_CHECK(n->n_out == 1 && g.tensors[n->out[0]].producer == i);
  }
  eo_graph_free(&g);
  eo_model_free(m);
}

int main(void) {
  int rc = qdq_fixtures_make("fuse_qdq", "scripts/make_qdq_conv_fixtures.py");
  if (rc < 0) return 1;
  if (rc == 0) {
    // six layers: five fused (Relu, Clip(0,6) inside Q's range, no-bias per-tensor, group, plain); the
    // Clip(0,1) under a Q reaching 2.0 keeps its Conv, Clip and Q; plus the input's Q
    check_model("qdq_u8", 5, 1, 0, 1, 2);
    check_model("qdq_s8", 5, 1, 0, 1, 2);
    // bias DQs at 8x x_scale * w_scale: only the bias-free layer fuses
    check_model("qdq_bias_scale", 1, 5, 1, 2, 6);
    // uint8 weights with zero points
    check_model("qdq_u8w", 2, 0, 0, 0, 1);
  }
  tmpdir_remove();
  return eo_test_finish();
}
