/* The QDQ group selectors of ir/passes/fuse_qdq.c beyond Conv, on tests/cli/make_qgroups_fixtures.py's
 * models (u8 and s8) loaded from ONNX as the session loads them: which groups become QLinearAdd /
 * QLinearMul / QLinearSigmoid / QLinearSoftmax / QLinearConcat / QLinearGlobalAveragePool, which Q/DQ
 * pairs are dropped (Reshape, Transpose, Split, MaxPool then read the 8-bit tensor), and
 * which group stays float (an Add whose output has a second reader). The arithmetic is checked against ORT in tests/cli/test_qgroups_vs_ort.sh. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/op.h"
#include "test.h"
#include "qdq_fixtures.h"

static int count(const eo_graph *g, int op) { return qdq_count_op(g, op); }

// nodes of `op` whose input 0 is written by a QuantizeLinear (or a fused QLinear op): they run on 8 bits
static int count_on_q8(const eo_graph *g, int op) {
  int k = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead || n->op != op) continue;
    int p = g->tensors[n->in[0]].producer;
    int dt = g->tensors[n->in[0]].dtype;
    k += (p >= 0 && g->nodes[p].op == EO_OP_QUANTIZE_LINEAR) || dt == EO_UINT8 || dt == EO_INT8;
  }
  return k;
}

static void check_model(const char *name) {
  eo_model *m;
  eo_graph g;
  if (qdq_fixture_load(name, &m, &g, NULL)) return;
  int qadd = count(&g, EO_OP_QLINEAR_ADD), qmul = count(&g, EO_OP_QLINEAR_MUL), qsig = count(&g, EO_OP_QLINEAR_SIGMOID),
      qcat = count(&g, EO_OP_QLINEAR_CONCAT), qgap = count(&g, EO_OP_QLINEAR_GLOBAL_AVERAGE_POOL),
      qsm = count(&g, EO_OP_QLINEAR_SOFTMAX);
  // add, addb, addrelu (its Relu dropped: Q's range starts at 0); mul, mulb; three Sigmoids; two Softmax
  EO_CHECK_MSG(qadd == 3 && qmul == 2 && qsig == 3 && qcat == 1 && qgap == 1 && qsm == 2,
               "%s: QLinearAdd %d Mul %d Sigmoid %d Concat %d GAP %d Softmax %d, want 3 2 3 1 1 2", name, qadd, qmul,
               qsig, qcat, qgap, qsm);
  int add = count(&g, EO_OP_ADD), relu = count(&g, EO_OP_RELU), sig = count(&g, EO_OP_SIGMOID),
      cat = count(&g, EO_OP_CONCAT), gap = count(&g, EO_OP_GLOBAL_AVERAGE_POOL), mul = count(&g, EO_OP_MUL);
  EO_CHECK_MSG(add == 1 && relu == 0 && sig == 0 && cat == 0 && gap == 0 && mul == 0,
               "%s: float Add %d Relu %d Sigmoid %d Concat %d GAP %d Mul %d, want 1 0 0 0 0 0", name, add, relu, sig,
               cat, gap, mul);
  int pool = count_on_q8(&g, EO_OP_MAX_POOL), rs = count_on_q8(&g, EO_OP_RESHAPE), tr = count_on_q8(&g, EO_OP_TRANSPOSE),
      sp = count_on_q8(&g, EO_OP_SPLIT);
  EO_CHECK_MSG(pool == 1 && rs == 1 && tr == 1 && sp == 1,
               "%s: MaxPool %d Reshape %d Transpose %d Split %d on 8-bit data, want 1 1 1 1", name, pool, rs, tr, sp);
  EO_CHECK(count(&g, EO_OP_SOFTMAX) == 0 && count(&g, EO_OP_SPLIT) == 1);
  EO_CHECK_MSG(count(&g, EO_OP_QGEMM) == 1 && count(&g, EO_OP_GEMM) == 0, "%s: QGemm %d Gemm %d, want 1 0", name,
               count(&g, EO_OP_QGEMM), count(&g, EO_OP_GEMM));
  // every new node is in ORT's contrib domain and writes the tensor its Q wrote
  for (int i = 0; i < g.n_nodes; i++) {
    const eo_node *n = &g.nodes[i];
    bool ql = n->op == EO_OP_QLINEAR_ADD || n->op == EO_OP_QLINEAR_MUL || n->op == EO_OP_QLINEAR_SIGMOID ||
              n->op == EO_OP_QLINEAR_CONCAT || n->op == EO_OP_QLINEAR_GLOBAL_AVERAGE_POOL ||
              n->op == EO_OP_QLINEAR_SOFTMAX || n->op == EO_OP_QGEMM;
    if (n->dead || !ql) continue;
    EO_CHECK(strcmp(n->domain, "com.microsoft") == 0 && n->n_out == 1 && g.tensors[n->out[0]].producer == i);
  }
  eo_graph_free(&g);
  eo_model_free(m);
}

int main(void) {
  int rc = qdq_fixtures_make("qgroups", "tests/cli/make_qgroups_fixtures.py");
  if (rc < 0) return 1;
  if (rc == 0) {
    check_model("qgroups_u8");
    check_model("qgroups_s8");
  }
  tmpdir_remove();
  return eo_test_finish();
}
