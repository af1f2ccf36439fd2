/* Small graph queries shared by the passes. Linear scans: graphs are thousands of nodes at most and
 * each pass calls these a bounded number of times per candidate node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/op.h"

bool eo_pass_is_op(const eo_node *n, int op) {
  if (n->op >= 0) return n->op == op;
  // a model loaded while the op is not compiled in still has op_type
  return (!n->domain || !*n->domain || strcmp(n->domain, "ai.onnx") == 0) && n->op_type &&
         strcmp(n->op_type, eo_op_name(op)) == 0;
}

bool eo_pass_moves_elements(const eo_node *n) {
  static const int ops[] = {EO_OP_RESHAPE, EO_OP_TRANSPOSE, EO_OP_FLATTEN, EO_OP_SQUEEZE, EO_OP_UNSQUEEZE, EO_OP_SLICE};
  for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
    if (eo_pass_is_op(n, ops[k])) return true;
  return eo_pass_is_op(n, EO_OP_RESIZE) && strcmp(eo_attr_s(n, "mode", "nearest"), "nearest") == 0;
}

int eo_pass_consumers(const eo_graph *g, int t) {
  int c = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->n_in; j++) c += n->in[j] == t;
  }
  return c;
}

int eo_pass_first_consumer(const eo_graph *g, int t) {
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] == t) return i;
  }
  return -1;
}

bool eo_pass_is_graph_output(const eo_graph *g, int t) {
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == t) return true;
  return (g->tensors[t].flags & EO_T_OUTPUT) != 0;
}

bool eo_pass_is_const(const eo_graph *g, int t) {
  return t >= 0 && g->tensors[t].data != NULL && !(g->tensors[t].flags & EO_T_INPUT);
}

void eo_pass_replace_uses(eo_graph *g, int from, int to) {
  for (int i = 0; i < g->n_nodes; i++) {
    eo_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] == from) n->in[j] = to;
  }
}

eo_status eo_pass_add_const(eo_graph *g, const char *base, const char *suffix, int dtype, int rank,
                            const int64_t *dims, void *data, size_t nbytes, int *out) {
  size_t cap = strlen(base) + strlen(suffix) + 24;
  char *name = eo_malloc(cap);
  if (!name) {
    free(data);
    return eo_error(EO_ERR_NOMEM, "out of memory naming a constant for '%s'", base);
  }
  snprintf(name, cap, "%s%s", base, suffix);
  for (int k = 1; eo_graph_find(g, name) >= 0; k++) snprintf(name, cap, "%s%s_%d", base, suffix, k);
  int idx;
  eo_status st = eo_graph_add_tensor(g, name, &idx);
  free(name);
  if (st) {
    free(data);
    return st;
  }
  eo_tensor *t = &g->tensors[idx];
  t->dtype = dtype;
  t->rank = rank;
  for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
  t->data = data;
  t->nbytes = nbytes;
  t->producer = -1;
  *out = idx;
  return EO_OK;
}
