/* IR graph: topological order, cycle detection, double producers, compaction, clone. */
#include <stdlib.h>

#include "ir/graph.h"
#include "test.h"

static int add(eo_graph *g, const char *name) {
  int t;
  EO_CHECK(eo_graph_add_tensor(g, name, &t) == EO_OK);
  return t;
}

int main(void) {
  eo_graph g = {0};
  int x = add(&g, "x"), a = add(&g, "a"), b = add(&g, "b"), c = add(&g, "c");
  int dup;
  EO_CHECK(eo_graph_add_tensor(&g, "a", &dup) == EO_ERR_INVALID);
  g.tensors[x].flags = EO_T_INPUT;
  // nodes listed out of order: c = f(b), b = f(a), a = f(x)
  EO_CHECK(eo_graph_add_node(&g, "n2", "Relu", "", 1, &b, 1, &c, NULL) == EO_OK);
  EO_CHECK(eo_graph_add_node(&g, "n1", "Relu", "", 1, &a, 1, &b, NULL) == EO_OK);
  EO_CHECK(eo_graph_add_node(&g, "n0", "Relu", "", 1, &x, 1, &a, NULL) == EO_OK);
  EO_CHECK(eo_graph_link(&g) == EO_OK);
  int order[8], n;
  EO_CHECK(eo_graph_topo_order(&g, order, &n) == EO_OK && n == 3);
  EO_CHECK(order[0] == 2 && order[1] == 1 && order[2] == 0);

  eo_graph copy;
  EO_CHECK(eo_graph_clone(&g, &copy) == EO_OK);
  EO_CHECK(copy.n_nodes == 3 && eo_graph_find(&copy, "b") == b && copy.tensors[x].flags == EO_T_INPUT);

  // dead node + unreferenced tensor are compacted away, indices renumbered consistently
  g.outputs = malloc(sizeof(int));
  g.cap_outputs = 1;
  g.outputs[g.n_outputs++] = b;
  g.nodes[0].dead = true;  // n2 (produces c, unused)
  EO_CHECK(eo_graph_compact(&g) == EO_OK);
  EO_CHECK(g.n_nodes == 2 && g.n_tensors == 3 && eo_graph_find(&g, "c") == -1);
  EO_CHECK(g.tensors[g.outputs[0]].producer >= 0 && g.nodes[g.tensors[g.outputs[0]].producer].in[0] == eo_graph_find(&g, "a"));
  eo_graph_free(&g);

  // a cycle names a node on it
  int p = add(&copy, "p");
  int ins[2] = {c, p};
  EO_CHECK(eo_graph_add_node(&copy, "loop", "Add", "", 2, ins, 1, &p, NULL) == EO_OK);
  EO_CHECK(eo_graph_link(&copy) == EO_OK);
  EO_CHECK(eo_graph_topo_order(&copy, order, &n) == EO_ERR_INVALID);
  EO_CHECK(strstr(eo_last_error(), "cycle") && strstr(eo_last_error(), "loop"));
  // two producers of one tensor
  EO_CHECK(eo_graph_add_node(&copy, "again", "Relu", "", 1, &x, 1, &a, NULL) == EO_OK);
  EO_CHECK(eo_graph_link(&copy) == EO_ERR_INVALID);
  eo_graph_free(&copy);
  return eo_test_finish();
}
