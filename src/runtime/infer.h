#ifndef EO_RUNTIME_INFER_H
#define EO_RUNTIME_INFER_H

#include "runtime/op.h"

enum {
  /* Evaluate nodes whose inputs are all constant now (Shape -> Gather -> Concat -> Reshape chains
   * of exported models): they are marked dead and their outputs get data. */
  EO_INFER_FOLD = 1,
  /* Model load: a node whose output shape depends on the value of a graph input (a Reshape fed
   * its shape by the user) gets unknown outputs (rank -1), and so does everything downstream,
   * instead of failing; the session resolves them at prepare, when the values are known. */
  EO_INFER_PARTIAL = 2,
  /* With PARTIAL: symbolic dims were bound to a guess (1), so a node that rejects the guessed
   * shapes (a 2x2 pool over a 1x1 map) also gets unknown outputs instead of failing the load. */
  EO_INFER_GUESSED_DIMS = 4,
};

/* Shape inference over a graph in topological order, shared by model load (on a copy, symbolic
 * dims bound to 1) and session prepare. Graph inputs must have concrete dims. Sets dtype, rank and
 * dims of every tensor. `flags`: EO_INFER_*. `flops` (may be NULL) receives the model's FLOPs. */
eo_status eo_graph_infer(eo_graph *g, unsigned flags, int64_t *flops);

/* Builds a view of a graph tensor (data = constant data or NULL). */
void eo_tview_from_tensor(const eo_tensor *t, eo_tview *v);

#endif
