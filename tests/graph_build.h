/* Hand-built graphs for the pass tests (tests/unit/test_passes.c, tests/unit/test_lower_fp16.c):
 * tensors, nodes, graph inputs and outputs, and a tiny executor that runs every node through its op
 * definition in topological order (no planner, no session), so that a graph can be run before and
 * after a pass.
 *
 *   eo_graph g = new_graph(13);
 *   int x = graph_input(&g, "x", EO_FLOAT, 2, (int64_t[]){1, 4}), y = act(&g, "y");
 *   N(&g, EO_OP_RELU, "relu", IN(x), OUT(y));
 *   graph_output(&g, y);
 *   float *v = run_graph_output(&g, (const void *const[]){xdata}, 0, NULL, &numel);  // free(v)
 */
#ifndef EO_TEST_GRAPH_BUILD_H
#define EO_TEST_GRAPH_BUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "runtime/op.h"

/* A tensor of dtype and shape; with data, a constant (an initializer holding a copy of it). */
static inline int T(eo_graph *g, const char *name, int dtype, int rank, const int64_t *dims, const void *data) {
  int idx = -1;
  eo_status st = eo_graph_add_tensor(g, name, &idx);
  EO_ASSERT(st == EO_OK);
  eo_tensor *t = &g->tensors[idx];
  t->dtype = dtype;
  t->rank = rank;
  for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
  if (data) {
    size_t bytes = 0;
    EO_ASSERT(eo_dtype_bytes(dtype, eo_numel(rank, dims), &bytes));
    t->data = eo_malloc(bytes);
    memcpy(t->data, data, bytes);
    t->nbytes = bytes;
    t->flags |= EO_T_INITIALIZER;
  }
  return idx;
}

/* an activation: dtype and shape left to inference */
static inline int act(eo_graph *g, const char *name) { return T(g, name, 0, -1, NULL, NULL); }

static inline int graph_input(eo_graph *g, const char *name, int dtype, int rank, const int64_t *dims) {
  int t = T(g, name, dtype, rank, dims, NULL);
  g->tensors[t].flags |= EO_T_INPUT;
  EO_ASSERT(eo_grow((void **)&g->inputs, &g->cap_inputs, g->n_inputs + 1, sizeof(int)) == EO_OK);
  g->inputs[g->n_inputs++] = t;
  return t;
}

static inline void graph_output(eo_graph *g, int t) {
  g->tensors[t].flags |= EO_T_OUTPUT;
  EO_ASSERT(eo_grow((void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof(int)) == EO_OK);
  g->outputs[g->n_outputs++] = t;
}

static inline int N(eo_graph *g, int op, const char *name, int n_in, const int *in, int n_out, const int *out) {
  int idx = -1;
  EO_ASSERT(eo_graph_add_node(g, name, eo_op_name(op), "", n_in, in, n_out, out, &idx) == EO_OK);
  g->nodes[idx].op = op;
  return idx;
}
#define IN(...) (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (int[]){__VA_ARGS__}
#define OUT(...) IN(__VA_ARGS__)

static inline eo_graph new_graph(int64_t opset) {
  eo_graph g;
  memset(&g, 0, sizeof g);
  g.opset = opset;
  return g;
}

/* Runs g with feeds for its inputs (in g->inputs order), with the reference kernels if force_ref;
 * returns a malloc'd copy of output `oi`, its dtype (dtype may be NULL) and element count, or NULL
 * (with the status printed) on failure. */
static inline void *run_graph_output_ref(eo_graph *g, const void *const *feeds, int oi, int *dtype, int64_t *numel,
                                         bool force_ref) {
  eo_tview *views = calloc((size_t)g->n_tensors, sizeof(eo_tview));
  void **own = calloc((size_t)g->n_tensors, sizeof(void *));
  int *order = calloc((size_t)g->n_nodes + 1, sizeof(int));
  void *result = NULL;
  int count = 0;
  eo_status st = eo_graph_link(g);
  if (!st) st = eo_graph_topo_order(g, order, &count);
  for (int t = 0; t < g->n_tensors; t++) {
    const eo_tensor *tt = &g->tensors[t];
    views[t] = (eo_tview){.dtype = tt->dtype, .rank = tt->rank, .data = tt->data};
    for (int i = 0; i < tt->rank; i++) views[t].dims[i] = tt->dims[i];
  }
  for (int i = 0; i < g->n_inputs; i++) views[g->inputs[i]].data = (void *)feeds[i];
  for (int k = 0; k < count && !st; k++) {
    const eo_node *n = &g->nodes[order[k]];
    const eo_op_def *def = eo_op_get(n->op);
    if (!def) {
      st = eo_error(EO_ERR_UNSUPPORTED, "op %s not linked", n->op_type);
      break;
    }
    eo_tview shadow[16], *in[16], *out[16], outv[16];
    for (int j = 0; j < n->n_in; j++) {
      in[j] = NULL;
      if (n->in[j] < 0) continue;
      shadow[j] = views[n->in[j]];
      if (!g->tensors[n->in[j]].data) shadow[j].data = NULL;  // infer sees only constants
      in[j] = &shadow[j];
    }
    for (int j = 0; j < n->n_out; j++) {
      memset(&outv[j], 0, sizeof outv[j]);
      out[j] = n->out[j] >= 0 ? &outv[j] : NULL;
    }
    eo_op_ctx c = {.node = n, .opset = g->opset, .n_in = n->n_in, .n_out = n->n_out, .in = in, .out = out,
                   .force_ref = force_ref};
    if ((st = def->infer(&c))) break;
    for (int j = 0; j < n->n_in; j++)
      if (in[j]) shadow[j].data = views[n->in[j]].data;
    if (def->prepare && (st = def->prepare(&c))) break;
    for (int j = 0; j < n->n_out; j++) {
      if (!out[j]) continue;
      size_t bytes = 0;
      eo_dtype_bytes(outv[j].dtype, eo_tview_numel(&outv[j]), &bytes);
      outv[j].data = own[n->out[j]] = calloc(bytes ? bytes : 1, 1);
    }
    c.scratch = c.scratch_bytes ? calloc(c.scratch_bytes, 1) : NULL;
    def->forward(&c);
    free(c.scratch);
    if (def->release) def->release(c.state);
    for (int j = 0; j < n->n_out; j++)
      if (out[j]) views[n->out[j]] = outv[j];
  }
  if (st) {
    fprintf(stderr, "run_graph: %s\n", eo_last_error());
  } else {
    const eo_tview *o = &views[g->outputs[oi]];
    size_t bytes = 0;
    *numel = eo_tview_numel(o);
    if (dtype) *dtype = o->dtype;
    eo_dtype_bytes(o->dtype, *numel, &bytes);
    result = malloc(bytes + 1);
    memcpy(result, o->data, bytes);
  }
  for (int t = 0; t < g->n_tensors; t++) free(own[t]);
  free(own);
  free(views);
  free(order);
  return result;
}

static inline void *run_graph_output(eo_graph *g, const void *const *feeds, int oi, int *dtype, int64_t *numel) {
  return run_graph_output_ref(g, feeds, oi, dtype, numel, false);
}

#endif
