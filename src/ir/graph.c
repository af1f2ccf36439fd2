#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"

eo_status eo_graph_add_tensor(eo_graph *g, const char *name, int *out) {
  if (name && *name && eo_strmap_get(&g->names, name) >= 0)
    return eo_error(EO_ERR_INVALID, "tensor '%s' is defined twice", name);
  eo_status st = eo_grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors + 1, sizeof(eo_tensor));
  if (st) return st;
  int idx = g->n_tensors;
  eo_tensor *t = &g->tensors[idx];
  memset(t, 0, sizeof *t);
  t->name = eo_strdup(name ? name : "");
  if (!t->name) return eo_error(EO_ERR_NOMEM, "out of memory");
  t->rank = -1;
  t->producer = -1;
  g->n_tensors++;
  if (*t->name && (st = eo_strmap_put(&g->names, t->name, idx))) return st;
  *out = idx;
  return EO_OK;
}

int eo_graph_find(const eo_graph *g, const char *name) { return eo_strmap_get(&g->names, name); }

eo_status eo_graph_add_node(eo_graph *g, const char *name, const char *op_type, const char *domain,
                            int n_in, const int *in, int n_out, const int *out, int *index) {
  eo_status st = eo_grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(eo_node));
  if (st) return st;
  eo_node *n = &g->nodes[g->n_nodes];
  memset(n, 0, sizeof *n);
  n->name = eo_strdup(name ? name : "");
  n->op_type = eo_strdup(op_type ? op_type : "");
  n->domain = eo_strdup(domain ? domain : "");
  n->in = eo_calloc((size_t)n_in + 1, sizeof(int));
  n->out = eo_calloc((size_t)n_out + 1, sizeof(int));
  n->fused_act = -1;
  n->op = -1;
  if (!n->name || !n->op_type || !n->domain || !n->in || !n->out) {
    free(n->name); free(n->op_type); free(n->domain); free(n->in); free(n->out);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  n->n_in = n_in;
  n->n_out = n_out;
  if (n_in) memcpy(n->in, in, (size_t)n_in * sizeof(int));
  if (n_out) memcpy(n->out, out, (size_t)n_out * sizeof(int));
  if (index) *index = g->n_nodes;
  g->n_nodes++;
  return EO_OK;
}

const eo_attr *eo_node_attr(const eo_node *n, const char *name) {
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

void eo_tensor_clear(eo_tensor *t) {
  if (!t) return;
  free(t->name);
  if (!(t->flags & EO_T_BORROWED)) free(t->data);
  for (int i = 0; i < EO_MAX_RANK; i++) free(t->dim_param[i]);
  memset(t, 0, sizeof *t);
}

static eo_status tensor_copy(const eo_tensor *s, eo_tensor *d, bool share) {
  *d = *s;
  d->name = NULL;
  d->data = NULL;
  d->flags &= ~(unsigned)EO_T_BORROWED;
  memset(d->dim_param, 0, sizeof d->dim_param);
  d->name = eo_strdup(s->name ? s->name : "");
  if (!d->name) goto nomem;
  for (int i = 0; i < EO_MAX_RANK; i++)
    if (s->dim_param[i] && !(d->dim_param[i] = eo_strdup(s->dim_param[i]))) goto nomem;
  if (s->data && share) {
    d->data = s->data;
    d->flags |= EO_T_BORROWED;
  } else if (s->data) {
    if (!(d->data = eo_malloc(s->nbytes))) goto nomem;
    memcpy(d->data, s->data, s->nbytes);
  }
  return EO_OK;
nomem:
  eo_tensor_clear(d);
  return eo_error(EO_ERR_NOMEM, "out of memory copying tensor '%s'", s->name);
}

void eo_attr_clear(eo_attr *a) {
  if (!a) return;
  free(a->name);
  free(a->s);
  free(a->floats);
  free(a->ints);
  for (int i = 0; a->strings && i < a->n; i++) free(a->strings[i]);
  free(a->strings);
  if (a->t) {
    eo_tensor_clear(a->t);
    free(a->t);
  }
  memset(a, 0, sizeof *a);
}

eo_status eo_attr_copy(const eo_attr *a, eo_attr *d) {
  memset(d, 0, sizeof *d);
  d->type = a->type;
  d->f = a->f;
  d->i = a->i;
  d->n = a->n;
  d->s_len = a->s_len;
  if (!(d->name = eo_strdup(a->name))) goto nomem;
  if (a->s && !(d->s = eo_strndup(a->s, a->s_len))) goto nomem;
  if (a->floats) {
    if (!(d->floats = eo_calloc((size_t)a->n, sizeof(float)))) goto nomem;
    memcpy(d->floats, a->floats, (size_t)a->n * sizeof(float));
  }
  if (a->ints) {
    if (!(d->ints = eo_calloc((size_t)a->n, sizeof(int64_t)))) goto nomem;
    memcpy(d->ints, a->ints, (size_t)a->n * sizeof(int64_t));
  }
  if (a->strings) {
    if (!(d->strings = eo_calloc((size_t)a->n, sizeof(char *)))) goto nomem;
    for (int i = 0; i < a->n; i++)
      if (!(d->strings[i] = eo_strdup(a->strings[i]))) goto nomem;
  }
  if (a->t) {
    if (!(d->t = eo_calloc(1, sizeof(eo_tensor)))) goto nomem;
    if (tensor_copy(a->t, d->t, false)) goto nomem;
  }
  return EO_OK;
nomem:
  eo_attr_clear(d);
  return eo_error(EO_ERR_NOMEM, "out of memory copying attribute");
}

static void node_clear(eo_node *n) {
  free(n->name);
  free(n->op_type);
  free(n->domain);
  free(n->in);
  free(n->out);
  for (int i = 0; i < n->n_attrs; i++) eo_attr_clear(&n->attrs[i]);
  free(n->attrs);
  memset(n, 0, sizeof *n);
}

void eo_graph_free(eo_graph *g) {
  if (!g) return;
  for (int i = 0; i < g->n_tensors; i++) eo_tensor_clear(&g->tensors[i]);
  for (int i = 0; i < g->n_nodes; i++) node_clear(&g->nodes[i]);
  free(g->tensors);
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  eo_strmap_free(&g->names);
  memset(g, 0, sizeof *g);
}

static eo_status clone(const eo_graph *g, eo_graph *out, bool share) {
  eo_status st = EO_OK;
  memset(out, 0, sizeof *out);
  out->opset = g->opset;
  for (int i = 0; i < g->n_tensors; i++) {
    if ((st = eo_grow((void **)&out->tensors, &out->cap_tensors, i + 1, sizeof(eo_tensor)))) goto fail;
    if ((st = tensor_copy(&g->tensors[i], &out->tensors[i], share))) goto fail;
    out->n_tensors = i + 1;
    if (*out->tensors[i].name && (st = eo_strmap_put(&out->names, out->tensors[i].name, i))) goto fail;
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *s = &g->nodes[i];
    int idx;
    if ((st = eo_graph_add_node(out, s->name, s->op_type, s->domain, s->n_in, s->in, s->n_out, s->out, &idx)))
      goto fail;
    eo_node *d = &out->nodes[idx];
    d->op = s->op;
    d->fused_act = s->fused_act;
    d->act_alpha = s->act_alpha;
    d->act_beta = s->act_beta;
    d->fused_residual = s->fused_residual;
    d->dead = s->dead;
    d->src = s->src;
    if (s->n_attrs) {
      if (!(d->attrs = eo_calloc((size_t)s->n_attrs, sizeof(eo_attr)))) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
        goto fail;
      }
      for (int a = 0; a < s->n_attrs; a++) {
        if ((st = eo_attr_copy(&s->attrs[a], &d->attrs[a]))) goto fail;
        d->n_attrs = a + 1;
      }
    }
  }
  if ((st = eo_grow((void **)&out->inputs, &out->cap_inputs, g->n_inputs, sizeof(int)))) goto fail;
  if ((st = eo_grow((void **)&out->outputs, &out->cap_outputs, g->n_outputs, sizeof(int)))) goto fail;
  if (g->n_inputs) memcpy(out->inputs, g->inputs, (size_t)g->n_inputs * sizeof(int));
  if (g->n_outputs) memcpy(out->outputs, g->outputs, (size_t)g->n_outputs * sizeof(int));
  out->n_inputs = g->n_inputs;
  out->n_outputs = g->n_outputs;
  return EO_OK;
fail:
  eo_graph_free(out);
  return st;
}

eo_status eo_graph_clone(const eo_graph *g, eo_graph *out) { return clone(g, out, false); }
eo_status eo_graph_clone_shared(const eo_graph *g, eo_graph *out) { return clone(g, out, true); }

eo_status eo_graph_link(eo_graph *g) {
  for (int i = 0; i < g->n_tensors; i++) g->tensors[i].producer = -1;
  for (int n = 0; n < g->n_nodes; n++) {
    if (g->nodes[n].dead) continue;
    for (int o = 0; o < g->nodes[n].n_out; o++) {
      int t = g->nodes[n].out[o];
      if (t < 0) continue;
      eo_tensor *tt = &g->tensors[t];
      if (tt->producer >= 0)
        return eo_error(EO_ERR_INVALID, "tensor '%s' is produced by two nodes ('%s' and '%s')", tt->name,
                        g->nodes[tt->producer].name, g->nodes[n].name);
      if (tt->flags & (EO_T_INPUT | EO_T_INITIALIZER))
        return eo_error(EO_ERR_INVALID, "node '%s' (%s) writes tensor '%s', which is a graph input or initializer",
                        g->nodes[n].name, g->nodes[n].op_type, tt->name);
      tt->producer = n;
    }
  }
  return EO_OK;
}

eo_status eo_graph_topo_order(const eo_graph *g, int *order, int *count) {
  // Kahn's algorithm over live nodes; a node waits for the producers of its inputs.
  eo_status st = EO_OK;
  int n = g->n_nodes, k = 0, head = 0;
  int *pending = eo_calloc((size_t)n + 1, sizeof(int));
  int *queue = eo_calloc((size_t)n + 1, sizeof(int));
  // consumers as CSR: for each tensor, the nodes that read it
  int *cstart = eo_calloc((size_t)g->n_tensors + 2, sizeof(int));
  int *clist = NULL;
  if (!pending || !queue || !cstart) goto nomem;
  int total = 0;
  for (int i = 0; i < n; i++) {
    if (g->nodes[i].dead) continue;
    for (int j = 0; j < g->nodes[i].n_in; j++)
      if (g->nodes[i].in[j] >= 0) cstart[g->nodes[i].in[j] + 1]++, total++;
  }
  for (int t = 0; t < g->n_tensors; t++) cstart[t + 1] += cstart[t];
  clist = eo_calloc((size_t)total + 1, sizeof(int));
  int *fill = eo_calloc((size_t)g->n_tensors + 1, sizeof(int));
  if (!clist || !fill) {
    free(fill);
    goto nomem;
  }
  for (int i = 0; i < n; i++) {
    if (g->nodes[i].dead) continue;
    for (int j = 0; j < g->nodes[i].n_in; j++) {
      int t = g->nodes[i].in[j];
      if (t < 0) continue;
      clist[cstart[t] + fill[t]++] = i;
      if (g->tensors[t].producer >= 0 && !g->nodes[g->tensors[t].producer].dead) pending[i]++;
    }
  }
  free(fill);
  int live = 0;
  for (int i = 0; i < n; i++) {
    if (g->nodes[i].dead) continue;
    live++;
    if (pending[i] == 0) queue[k++] = i;
  }
  while (head < k) {
    int i = queue[head];
    order[head++] = i;
    for (int o = 0; o < g->nodes[i].n_out; o++) {
      int t = g->nodes[i].out[o];
      if (t < 0) continue;
      for (int c = cstart[t]; c < cstart[t + 1]; c++)
        if (--pending[clist[c]] == 0) queue[k++] = clist[c];
    }
  }
  if (head < live) {
    int bad = -1;
    for (int i = 0; i < n && bad < 0; i++)
      if (!g->nodes[i].dead && pending[i] > 0) bad = i;
    st = eo_error(EO_ERR_INVALID, "graph has a cycle through node '%s' (%s): %d of %d nodes cannot be ordered",
                  g->nodes[bad].name, g->nodes[bad].op_type, live - head, live);
  }
  *count = head;
  free(pending);
  free(queue);
  free(cstart);
  free(clist);
  return st;
nomem:
  free(pending);
  free(queue);
  free(cstart);
  free(clist);
  return eo_error(EO_ERR_NOMEM, "out of memory ordering the graph");
}

eo_status eo_graph_compact(eo_graph *g) {
  // keep tensors referenced by a live node or by the graph's io; renumber
  int *map = eo_calloc((size_t)g->n_tensors + 1, sizeof(int));
  char *used = eo_calloc((size_t)g->n_tensors + 1, 1);
  if (!map || !used) {
    free(map);
    free(used);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < g->n_inputs; i++) used[g->inputs[i]] = 1;
  for (int i = 0; i < g->n_outputs; i++) used[g->outputs[i]] = 1;
  for (int i = 0; i < g->n_nodes; i++) {
    eo_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->n_in; j++) if (n->in[j] >= 0) used[n->in[j]] = 1;
    for (int j = 0; j < n->n_out; j++) if (n->out[j] >= 0) used[n->out[j]] = 1;
  }
  int nt = 0;
  eo_strmap_free(&g->names);
  eo_status st = EO_OK;
  for (int i = 0; i < g->n_tensors; i++) {
    if (!used[i]) {
      eo_tensor_clear(&g->tensors[i]);
      map[i] = -1;
      continue;
    }
    map[i] = nt;
    if (nt != i) g->tensors[nt] = g->tensors[i];
    if (*g->tensors[nt].name && !st) st = eo_strmap_put(&g->names, g->tensors[nt].name, nt);
    nt++;
  }
  g->n_tensors = nt;
  int nn = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    eo_node *n = &g->nodes[i];
    if (n->dead) {
      node_clear(n);
      continue;
    }
    for (int j = 0; j < n->n_in; j++) if (n->in[j] >= 0) n->in[j] = map[n->in[j]];
    for (int j = 0; j < n->n_out; j++) if (n->out[j] >= 0) n->out[j] = map[n->out[j]];
    if (nn != i) g->nodes[nn] = *n;
    nn++;
  }
  g->n_nodes = nn;
  for (int i = 0; i < g->n_inputs; i++) g->inputs[i] = map[g->inputs[i]];
  for (int i = 0; i < g->n_outputs; i++) g->outputs[i] = map[g->outputs[i]];
  free(map);
  free(used);
  if (st) return st;
  return eo_graph_link(g);
}
