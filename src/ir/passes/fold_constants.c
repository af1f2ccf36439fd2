/* Constant folding: evaluate nodes whose inputs are all known now, with the ops' own definitions
 * (infer -> prepare -> forward), so the result is bit-identical to running them. */
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/op.h"

#define MAX_IO 64

static void *alloc64(size_t n) {
  // forward() may expect the executor's 64-byte alignment
  size_t r = (n + 63) & ~(size_t)63;
  return aligned_alloc(64, r ? r : 64);
}

static void view_of(const eo_tensor *t, eo_tview *v) {
  memset(v, 0, sizeof *v);
  v->dtype = t->dtype;
  v->rank = t->rank;
  for (int i = 0; i < t->rank && i < EO_MAX_RANK; i++) v->dims[i] = t->dims[i];
  v->data = t->data;
}

// Nodes kept even when foldable: Q/DQ pairs are the representation of a quantized model.
static bool never_fold(const eo_node *n) {
  return n->op_type && (strcmp(n->op_type, "QuantizeLinear") == 0 || strcmp(n->op_type, "DequantizeLinear") == 0);
}

static bool all_inputs_const(const eo_graph *g, const eo_node *n) {
  for (int j = 0; j < n->n_in; j++) {
    int t = n->in[j];
    if (t < 0) continue;
    if (!eo_pass_is_const(g, t) || g->tensors[t].rank < 0) return false;
  }
  return true;
}

// Folds node `ni`. *folded is set when its outputs became constants; a node the op rejects or
// that is too large is left as it was (the runtime reports the rejection with full context).
static eo_status fold_node(eo_graph *g, int ni, bool *folded, bool *too_large) {
  eo_node *n = &g->nodes[ni];
  const eo_op_def *def = eo_op_get(n->op);
  *folded = *too_large = false;
  if (!def || n->n_in > MAX_IO || n->n_out > MAX_IO) return EO_OK;
  eo_tview inv[MAX_IO], outv[MAX_IO];
  eo_tview *in[MAX_IO], *out[MAX_IO];
  void *data[MAX_IO] = {0};
  size_t bytes[MAX_IO] = {0};
  for (int j = 0; j < n->n_in; j++) {
    in[j] = NULL;
    if (n->in[j] < 0) continue;
    view_of(&g->tensors[n->in[j]], &inv[j]);
    in[j] = &inv[j];
  }
  int n_present = 0;
  for (int j = 0; j < n->n_out; j++) {
    out[j] = NULL;
    if (n->out[j] < 0) continue;
    memset(&outv[j], 0, sizeof outv[j]);
    out[j] = &outv[j];
    n_present++;
  }
  if (!n_present) return EO_OK;
  eo_op_ctx c;
  memset(&c, 0, sizeof c);
  c.node = n;
  c.opset = g->opset;
  c.n_in = n->n_in;
  c.n_out = n->n_out;
  c.in = in;
  c.out = out;
  c.force_ref = eo_env_flag("EO_FORCE_REF");
  if (def->infer(&c) != EO_OK) return EO_OK;
  for (int j = 0; j < n->n_out; j++) {
    if (!out[j]) continue;
    int64_t numel = eo_tview_numel(out[j]);
    if (out[j]->dtype == EO_STRING || numel < 0 || !eo_dtype_bytes(out[j]->dtype, numel, &bytes[j]))
      return EO_OK;
    if (bytes[j] > EO_FOLD_MAX_BYTES) {
      *too_large = true;
      return EO_OK;
    }
  }
  if (def->prepare && def->prepare(&c) != EO_OK) {
    if (def->release) def->release(c.state);
    return EO_OK;
  }
  eo_status st = EO_OK;
  void *scratch = NULL;
  for (int j = 0; j < n->n_out; j++) {
    if (!out[j]) continue;
    if (!(data[j] = alloc64(bytes[j]))) goto nomem;
    memset(data[j], 0, bytes[j]);
    out[j]->data = data[j];
  }
  if (c.scratch_bytes && !(scratch = alloc64(c.scratch_bytes))) goto nomem;
  c.scratch = scratch;
  def->forward(&c);
  free(scratch);
  if (def->release) def->release(c.state);
  for (int j = 0; j < n->n_out; j++) {
    if (!out[j]) continue;
    eo_tensor *t = &g->tensors[n->out[j]];
    free(t->data);
    t->data = data[j];
    t->nbytes = bytes[j];
    t->dtype = out[j]->dtype;
    t->rank = out[j]->rank;
    for (int d = 0; d < t->rank; d++) t->dims[d] = out[j]->dims[d];
    t->producer = -1;
  }
  n->dead = true;
  *folded = true;
  return EO_OK;
nomem:
  st = eo_error(EO_ERR_NOMEM, "out of memory folding node '%s' (%s)", n->name, n->op_type);
  free(scratch);
  if (def->release) def->release(c.state);
  for (int j = 0; j < n->n_out; j++) free(data[j]);
  return st;
}

eo_status eo_pass_fold_constants(eo_graph *g, eo_pass_stats *stats) {
  eo_status st = eo_graph_link(g);
  if (st) return st;
  int *order = eo_calloc((size_t)g->n_nodes + 1, sizeof(int));
  if (!order) return eo_error(EO_ERR_NOMEM, "out of memory");
  int count = 0;
  if ((st = eo_graph_topo_order(g, order, &count))) goto done;
  // topological order: a folded node's outputs are constants by the time their readers come up
  for (int k = 0; k < count; k++) {
    eo_node *n = &g->nodes[order[k]];
    if (n->dead || never_fold(n) || !all_inputs_const(g, n)) continue;
    bool folded, too_large;
    if ((st = fold_node(g, order[k], &folded, &too_large))) goto done;
    if (stats) {
      stats->nodes_folded += folded;
      stats->fold_skipped_large += too_large;
    }
  }
done:
  free(order);
  return st;
}
