#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/infer.h"

void eo_tview_from_tensor(const eo_tensor *t, eo_tview *v) {
  memset(v, 0, sizeof *v);
  v->dtype = t->dtype;
  v->rank = t->rank < 0 ? 0 : t->rank;
  memcpy(v->dims, t->dims, sizeof v->dims);
  v->data = t->data;
}

static bool out_empty(const eo_op_ctx *c) {
  for (int o = 0; o < c->n_out; o++)
    if (c->out[o] && eo_tview_numel(c->out[o]) != 0) return false;
  return true;
}

static eo_status fold_node(eo_graph *g, const eo_op_def *def, eo_op_ctx *c, eo_node *n) {
  eo_status st = EO_OK;
  for (int o = 0; o < n->n_out; o++) {
    if (!c->out[o]) continue;
    size_t bytes;
    if (!eo_dtype_bytes(c->out[o]->dtype, eo_tview_numel(c->out[o]), &bytes))
      return eo_op_error(c, EO_ERR_NOMEM, "output %d is too large", o);
    if (!(c->out[o]->data = eo_calloc(bytes ? bytes : 1, 1))) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
    g->tensors[n->out[o]].data = c->out[o]->data;
    g->tensors[n->out[o]].nbytes = bytes;
  }
  if (out_empty(c)) {  // nothing to compute; kernels need not handle empty tensors
    n->dead = true;
    return EO_OK;
  }
  if (def->prepare && (st = def->prepare(c))) return st;
  void *scratch = NULL;
  if (c->scratch_bytes && !(scratch = eo_calloc(c->scratch_bytes, 1))) {
    st = eo_op_error(c, EO_ERR_NOMEM, "out of memory for %zu bytes of scratch", c->scratch_bytes);
  } else {
    c->scratch = scratch;
    def->forward(c);
  }
  free(scratch);
  if (def->release) def->release(c->state);
  c->state = NULL;
  if (!st) n->dead = true;
  return st;
}

eo_status eo_graph_infer(eo_graph *g, unsigned flags, int64_t *flops) {
  eo_status st = EO_OK;
  int count = 0, max_io = 1;
  double total_flops = 0;  // in double: a malformed model's sizes may multiply past int64
  for (int i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].n_in > max_io) max_io = g->nodes[i].n_in;
    if (g->nodes[i].n_out > max_io) max_io = g->nodes[i].n_out;
  }
  int *order = eo_calloc((size_t)g->n_nodes + 1, sizeof(int));
  eo_tview *views = eo_calloc((size_t)max_io * 2, sizeof(eo_tview));
  eo_tview **ptrs = eo_calloc((size_t)max_io * 2, sizeof(eo_tview *));
  if (!order || !views || !ptrs) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto done;
  }
  if ((st = eo_graph_topo_order(g, order, &count))) goto done;
  for (int i = 0; i < g->n_inputs; i++) {
    eo_tensor *t = &g->tensors[g->inputs[i]];
    for (int d = 0; d < t->rank; d++)
      if (t->dims[d] < 0) {
        st = eo_error(EO_ERR_SHAPE, "input '%s' dim %d ('%s') has no size: bind it", t->name, d,
                      t->dim_param[d] ? t->dim_param[d] : "?");
        goto done;
      }
  }
  for (int k = 0; k < count; k++) {
    eo_node *n = &g->nodes[order[k]];
    const eo_op_def *def = eo_op_get(n->op);
    if (!def) {
      st = eo_error(EO_ERR_UNSUPPORTED, "node '%s' (%s): op not supported", n->name, n->op_type);
      goto done;
    }
    if (n->n_out < 1 || n->out[0] < 0) {  // every op edgeopt runs has a required first output
      st = eo_error(EO_ERR_INVALID, "node '%s' (%s): its first output has no name", n->name, n->op_type);
      goto done;
    }
    eo_op_ctx c = {.node = n, .opset = g->opset, .n_in = n->n_in, .n_out = n->n_out, .in = ptrs,
                   .out = ptrs + max_io};
    bool all_const = true, unknown = false;
    for (int i = 0; i < n->n_in; i++) {
      ptrs[i] = NULL;
      if (n->in[i] < 0) continue;
      const eo_tensor *t = &g->tensors[n->in[i]];
      if ((t->rank < 0 || t->dtype == 0) && (flags & EO_INFER_PARTIAL)) {
        unknown = true;
        continue;
      }
      if (t->rank < 0 || t->dtype == 0) {
        st = eo_error(EO_ERR_INVALID, "node '%s' (%s): input '%s' has no known type or shape", n->name, n->op_type,
                      t->name);
        goto done;
      }
      eo_tview_from_tensor(t, &views[i]);
      ptrs[i] = &views[i];
      if (!t->data) all_const = false;
    }
    size_t out_bytes = 0;
    for (int o = 0; o < n->n_out; o++) {
      memset(&views[max_io + o], 0, sizeof(eo_tview));
      ptrs[max_io + o] = n->out[o] >= 0 ? &views[max_io + o] : NULL;
    }
    if (!unknown && (st = def->infer(&c)) && (flags & EO_INFER_PARTIAL) && st != EO_ERR_NOMEM &&
        (st == EO_ERR_UNSUPPORTED ? !all_const : (flags & EO_INFER_GUESSED_DIMS) != 0)) {
      unknown = true;
      st = EO_OK;
    }
    if (st) goto done;
    if (unknown) {
      for (int o = 0; o < n->n_out; o++)
        if (n->out[o] >= 0) g->tensors[n->out[o]].rank = -1;
      continue;
    }
    for (int o = 0; o < n->n_out; o++) {
      if (n->out[o] < 0) continue;
      eo_tview *v = &views[max_io + o];
      eo_tensor *t = &g->tensors[n->out[o]];
      int64_t numel = eo_numel(v->rank, v->dims);
      size_t bytes;
      if (v->dtype == 0 || v->rank < 0 || v->rank > EO_MAX_RANK || numel < 0 ||
          !eo_dtype_bytes(v->dtype, numel, &bytes)) {
        st = eo_error(EO_ERR_SHAPE, "node '%s' (%s): output '%s' has an invalid inferred type or shape", n->name,
                      n->op_type, t->name);
        goto done;
      }
      out_bytes += bytes;
      t->dtype = v->dtype;
      t->rank = v->rank;
      memcpy(t->dims, v->dims, sizeof t->dims);
    }
    total_flops += def->flops ? def->flops(&c) : (n->n_out && c.out[0] ? (double)eo_tview_numel(c.out[0]) : 0);
    // Shape and Size read only their input's shape, which is known here: always folded.
    bool shape_only = n->op == EO_OP_SHAPE || n->op == EO_OP_SIZE;
    if ((flags & EO_INFER_FOLD) && (all_const || shape_only) && out_bytes <= EO_FOLD_MAX_BYTES && !(st = fold_node(g, def, &c, n))) continue;
    if (st) goto done;
  }
done:
  if (flops) *flops = total_flops < 9.2e18 ? (int64_t)total_flops : INT64_MAX;
  free(order);
  free(views);
  free(ptrs);
  return st;
}
