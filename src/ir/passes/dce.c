/* Dead code elimination: walk back from the graph outputs; a node none of whose outputs is needed
 * is dead. One reverse topological sweep suffices since a node's readers come after it. */
#include <stdlib.h>

#include "ir/passes/passes.h"

eo_status eo_pass_dce(eo_graph *g, eo_pass_stats *stats) {
  eo_status st = eo_graph_link(g);
  if (st) return st;
  int *order = eo_calloc((size_t)g->n_nodes + 1, sizeof(int));
  char *needed = eo_calloc((size_t)g->n_tensors + 1, 1);
  if (!order || !needed) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto done;
  }
  int count = 0;
  if ((st = eo_graph_topo_order(g, order, &count))) goto done;
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] >= 0) needed[g->outputs[i]] = 1;
  for (int k = count - 1; k >= 0; k--) {
    eo_node *n = &g->nodes[order[k]];
    bool live = false;
    for (int o = 0; o < n->n_out && !live; o++) live = n->out[o] >= 0 && needed[n->out[o]];
    if (!live) {
      n->dead = true;
      for (int o = 0; o < n->n_out; o++)
        if (n->out[o] >= 0) g->tensors[n->out[o]].producer = -1;
      if (stats) stats->dead_removed++;
      continue;
    }
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0) needed[n->in[j]] = 1;
  }
done:
  free(order);
  free(needed);
  return st;
}
