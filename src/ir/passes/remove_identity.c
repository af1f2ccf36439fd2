/* Identity and inference-mode Dropout removal. */
#include "ir/passes/passes.h"
#include "runtime/op.h"

// Dropout is the identity on output 0 unless training_mode (opset 12+, input 2) may be true, and
// can go only if its mask (output 1) is not needed.
static bool dropout_is_identity(const eo_graph *g, const eo_node *n) {
  if (n->n_in > 2 && n->in[2] >= 0) {
    int t = n->in[2];
    if (!eo_pass_is_const(g, t)) return false;
    const eo_tensor *tm = &g->tensors[t];
    if (tm->dtype != EO_BOOL || tm->nbytes < 1 || ((const uint8_t *)tm->data)[0]) return false;
  }
  if (eo_attr_i(n, "training_mode", 0)) return false;  // not ONNX, but some exporters write it
  if (n->n_out > 1 && n->out[1] >= 0) {
    int m = n->out[1];
    if (eo_pass_is_graph_output(g, m) || eo_pass_consumers(g, m) > 0) return false;
  }
  return true;
}

static void copy_shape(eo_tensor *dst, const eo_tensor *src) {
  if (dst->dtype == 0) dst->dtype = src->dtype;
  if (dst->rank < 0 && src->rank >= 0) {
    dst->rank = src->rank;
    for (int i = 0; i < src->rank; i++) dst->dims[i] = src->dims[i];
  }
}

eo_status eo_pass_remove_identity(eo_graph *g, eo_pass_stats *stats) {
  eo_status st = eo_graph_link(g);
  if (st) return st;
  for (int i = 0; i < g->n_nodes; i++) {
    eo_node *n = &g->nodes[i];
    if (n->dead || n->n_in < 1 || n->n_out < 1 || n->in[0] < 0 || n->out[0] < 0) continue;
    if (!eo_pass_is_op(n, EO_OP_IDENTITY) && !(eo_pass_is_op(n, EO_OP_DROPOUT) && dropout_is_identity(g, n)))
      continue;
    int x = n->in[0], y = n->out[0];
    if (x == y) continue;
    if (!eo_pass_is_graph_output(g, y)) {
      n->dead = true;
      eo_pass_replace_uses(g, y, x);
      g->tensors[y].producer = -1;
    } else {
      // y must keep its name: the producer of x writes y, and x's readers read y. Not possible when
      // x is itself a graph output, a graph input or a constant (no producer to redirect).
      int p = g->tensors[x].producer;
      if (p < 0 || g->nodes[p].dead || eo_pass_is_graph_output(g, x) || (g->tensors[x].flags & EO_T_INPUT))
        continue;
      eo_node *pn = &g->nodes[p];
      for (int o = 0; o < pn->n_out; o++)
        if (pn->out[o] == x) pn->out[o] = y;
      n->dead = true;
      eo_pass_replace_uses(g, x, y);
      copy_shape(&g->tensors[y], &g->tensors[x]);
      g->tensors[y].producer = p;
      g->tensors[x].producer = -1;
    }
    if (stats) stats->identity_removed++;
  }
  return EO_OK;
}
