/* ONNX model -> IR. Validates everything a later stage relies on, and reports every problem with
 * the file, node name and op: unsupported ops are all listed at once, at load. */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_internal.h"
#include "onnx/tflite_import.h"
#include "ir/passes/passes.h"
#include "runtime/infer.h"
#include "runtime/op.h"

static eo_status decode_attr(const Onnx__AttributeProto *ap, const char *node, eo_attr *a) {
  memset(a, 0, sizeof *a);
  a->name = eo_strdup(ap->name ? ap->name : "");
  if (!a->name) return eo_error(EO_ERR_NOMEM, "out of memory");
  int type = ap->has_type ? (int)ap->type : 0;
  if (type == 0) {  // IR < 4 writers may omit the type: take it from the field that is set
    if (ap->n_floats) type = EO_ATTR_FLOATS;
    else if (ap->n_ints) type = EO_ATTR_INTS;
    else if (ap->n_strings) type = EO_ATTR_STRINGS;
    else if (ap->t) type = EO_ATTR_TENSOR;
    else if (ap->g) type = EO_ATTR_GRAPH;
    else if (ap->has_s) type = EO_ATTR_STRING;
    else if (ap->has_f) type = EO_ATTR_FLOAT;
    else if (ap->has_i) type = EO_ATTR_INT;
  }
  a->type = type;
  switch (type) {
    case EO_ATTR_FLOAT: a->f = ap->f; break;
    case EO_ATTR_INT: a->i = ap->i; break;
    case EO_ATTR_STRING:
      a->s = eo_strndup((const char *)ap->s.data, ap->s.len);
      a->s_len = ap->s.len;
      if (!a->s) return eo_error(EO_ERR_NOMEM, "out of memory");
      break;
    case EO_ATTR_FLOATS:
      a->n = (int)ap->n_floats;
      if (!(a->floats = eo_calloc(ap->n_floats, sizeof(float)))) return eo_error(EO_ERR_NOMEM, "out of memory");
      if (a->n) memcpy(a->floats, ap->floats, ap->n_floats * sizeof(float));
      break;
    case EO_ATTR_INTS:
      a->n = (int)ap->n_ints;
      if (!(a->ints = eo_calloc(ap->n_ints, sizeof(int64_t)))) return eo_error(EO_ERR_NOMEM, "out of memory");
      if (a->n) memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
      break;
    case EO_ATTR_STRINGS:
      a->n = (int)ap->n_strings;
      if (!(a->strings = eo_calloc(ap->n_strings, sizeof(char *)))) return eo_error(EO_ERR_NOMEM, "out of memory");
      for (size_t i = 0; i < ap->n_strings; i++)
        if (!(a->strings[i] = eo_strndup((const char *)ap->strings[i].data, ap->strings[i].len)))
          return eo_error(EO_ERR_NOMEM, "out of memory");
      break;
    case EO_ATTR_TENSOR: {
      if (!ap->t) return eo_error(EO_ERR_INVALID, "node '%s': attribute '%s' has type TENSOR but no tensor", node, a->name);
      if (!(a->t = eo_calloc(1, sizeof(eo_tensor)))) return eo_error(EO_ERR_NOMEM, "out of memory");
      char what[256];
      snprintf(what, sizeof what, "node '%s' attribute '%s'", node, a->name);
      a->t->producer = -1;
      // Tensor attributes with external data are rare; they resolve against no folder here.
      eo_status st = eo_onnx_decode_tensor(ap->t, NULL, what, a->t);
      if (st) return st;
      a->t->src = ap->t;
      break;
    }
    default:
      break;  // graphs, sparse tensors, type protos: kept in the proto; no supported op reads them
  }
  return EO_OK;
}

static eo_status build_graph(eo_model *m) {
  const Onnx__GraphProto *gp = m->proto->graph;
  eo_graph *g = &m->graph;
  eo_status st;
  int idx;
  if (!(m->raw_taken = eo_calloc(gp->n_initializer + 1, 1))) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    const char *name = tp->name ? tp->name : "";
    if (!*name) return eo_error(EO_ERR_INVALID, "initializer %zu has no name", i);
    if ((st = eo_graph_add_tensor(g, name, &idx))) return st;
    char what[300];
    snprintf(what, sizeof what, "initializer '%s'", name);
    eo_tensor *t = &g->tensors[idx];
    // The weights' bytes are taken from the unpacked proto rather than copied: one copy, not two.
    bool taken;
    if ((st = eo_onnx_decode_tensor_take(tp, m->base_dir, what, t, &taken))) return st;
    m->raw_taken[i] = taken;
    t->flags |= EO_T_INITIALIZER;
    t->src = tp;
  }
  if (gp->n_sparse_initializer)
    return eo_error(EO_ERR_UNSUPPORTED, "sparse initializers are not supported (%zu found, first '%s')",
                    gp->n_sparse_initializer,
                    gp->sparse_initializer[0]->values && gp->sparse_initializer[0]->values->name
                        ? gp->sparse_initializer[0]->values->name : "");
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    const char *name = vi->name ? vi->name : "";
    int existing = eo_graph_find(g, name);
    if (existing >= 0) continue;  // IR < 4: initializers are listed as inputs too (defaults): constant
    if ((st = eo_graph_add_tensor(g, name, &idx))) return st;
    eo_tensor *t = &g->tensors[idx];
    const char *params[EO_MAX_RANK] = {0};
    if ((st = eo_onnx_value_type(vi, &t->dtype, &t->rank, t->dims, params))) return st;
    if (t->rank < 0) return eo_error(EO_ERR_UNSUPPORTED, "graph input '%s' has no shape (rank unknown)", name);
    for (int d = 0; d < t->rank; d++)
      if (params[d] && !(t->dim_param[d] = eo_strdup(params[d]))) return eo_error(EO_ERR_NOMEM, "out of memory");
    t->flags |= EO_T_INPUT;
    if ((st = eo_grow((void **)&g->inputs, &g->cap_inputs, g->n_inputs + 1, sizeof(int)))) return st;
    g->inputs[g->n_inputs++] = idx;
  }
  // Outputs of every node first, so nodes may appear in any order in the file.
  for (size_t n = 0; n < gp->n_node; n++) {
    const Onnx__NodeProto *np = gp->node[n];
    for (size_t o = 0; o < np->n_output; o++) {
      if (!np->output[o] || !*np->output[o]) continue;
      if ((st = eo_graph_add_tensor(g, np->output[o], &idx)))
        return eo_error_wrap(st, "node '%s' (%s)", np->name ? np->name : "", np->op_type ? np->op_type : "");
    }
  }
  int *ins = NULL, *outs = NULL;
  for (size_t n = 0; n < gp->n_node; n++) {
    const Onnx__NodeProto *np = gp->node[n];
    const char *nname = np->name ? np->name : "", *op = np->op_type ? np->op_type : "";
    ins = eo_calloc(np->n_input + 1, sizeof(int));
    outs = eo_calloc(np->n_output + 1, sizeof(int));
    if (!ins || !outs) goto nomem;
    for (size_t i = 0; i < np->n_input; i++) {
      const char *iname = np->input[i] ? np->input[i] : "";
      ins[i] = *iname ? eo_graph_find(g, iname) : -1;
      if (*iname && ins[i] < 0) {
        free(ins);
        free(outs);
        return eo_error(EO_ERR_INVALID,
                        "node '%s' (%s): input %zu '%s' is not a graph input, an initializer or any node's output "
                        "(missing initializer?)", nname, op, i, iname);
      }
    }
    for (size_t o = 0; o < np->n_output; o++)
      outs[o] = np->output[o] && *np->output[o] ? eo_graph_find(g, np->output[o]) : -1;
    if ((st = eo_graph_add_node(g, nname, op, np->domain, (int)np->n_input, ins, (int)np->n_output, outs, &idx))) {
      free(ins);
      free(outs);
      return st;
    }
    free(ins);
    free(outs);
    ins = outs = NULL;
    eo_node *node = &g->nodes[idx];
    node->src = np;
    node->op = eo_op_lookup(np->domain, op);
    if (np->n_attribute) {
      if (!(node->attrs = eo_calloc(np->n_attribute, sizeof(eo_attr)))) goto nomem;
      for (size_t a = 0; a < np->n_attribute; a++) {
        node->n_attrs = (int)a + 1;
        if ((st = decode_attr(np->attribute[a], nname, &node->attrs[a]))) return st;
      }
    }
  }
  for (size_t i = 0; i < gp->n_output; i++) {
    const char *name = gp->output[i]->name ? gp->output[i]->name : "";
    int t = eo_graph_find(g, name);
    if (t < 0) return eo_error(EO_ERR_INVALID, "graph output '%s' is not produced by any node, input or initializer", name);
    g->tensors[t].flags |= EO_T_OUTPUT;
    eo_tensor *ot = &g->tensors[t];
    if (!(ot->flags & (EO_T_INPUT | EO_T_INITIALIZER))) {  // the declaration, for what inference can't reach
      const char *params[EO_MAX_RANK] = {0};
      int dtype, rank;
      int64_t dims[EO_MAX_RANK];
      if (eo_onnx_value_type(gp->output[i], &dtype, &rank, dims, params) == EO_OK && rank >= 0) {
        ot->dtype = dtype, ot->rank = rank;
        memcpy(ot->dims, dims, sizeof dims);
      }
    }
    if ((st = eo_grow((void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof(int)))) return st;
    g->outputs[g->n_outputs++] = t;
  }
  return eo_graph_link(g);
nomem:
  free(ins);
  free(outs);
  return eo_error(EO_ERR_NOMEM, "out of memory building the graph");
}

/* Lists every node edgeopt cannot run, by name and op, in one message. */
static eo_status check_supported(const eo_graph *g) {
  char msg[1536];
  size_t k = 0;
  int bad = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->op >= 0) continue;
    if (bad < 12 && k < sizeof msg)
      k += (size_t)snprintf(msg + k, sizeof msg - k, "%s'%s' (%s%s%s)", bad ? ", " : "", n->name,
                            *n->domain ? n->domain : "", *n->domain ? "::" : "", n->op_type);
    bad++;
  }
  if (!bad) return EO_OK;
  if (bad > 12 && k < sizeof msg) snprintf(msg + k, sizeof msg - k, " and %d more", bad - 12);
  return eo_error(EO_ERR_UNSUPPORTED, "%d node%s with ops edgeopt does not run: %s", bad, bad > 1 ? "s" : "", msg);
}

static int cmp_op_count(const void *a, const void *b) {
  const eo_op_count *x = a, *y = b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->op_type, y->op_type);
}

static eo_status fill_descs(eo_model *m) {
  eo_graph *g = &m->graph;
  m->inputs = eo_calloc((size_t)g->n_inputs + 1, sizeof(eo_value_desc));
  m->outputs = eo_calloc((size_t)g->n_outputs + 1, sizeof(eo_value_desc));
  m->ops = eo_calloc((size_t)g->n_nodes + 1, sizeof(eo_op_count));
  if (!m->inputs || !m->outputs || !m->ops) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int io = 0; io < 2; io++) {
    int n = io ? g->n_outputs : g->n_inputs;
    for (int i = 0; i < n; i++) {
      const eo_tensor *t = &g->tensors[io ? g->outputs[i] : g->inputs[i]];
      eo_value_desc *d = io ? &m->outputs[i] : &m->inputs[i];
      d->name = t->name;
      d->dtype = t->dtype;
      d->rank = t->rank;
      for (int k = 0; k < t->rank && k < EO_MAX_RANK; k++) {
        d->dims[k] = t->dims[k];
        d->dim_param[k] = t->dim_param[k];
      }
    }
  }
  m->n_inputs = g->n_inputs;
  m->n_outputs = g->n_outputs;
  for (int i = 0; i < g->n_nodes; i++) {
    int j = 0;
    while (j < m->n_op_types && strcmp(m->ops[j].op_type, g->nodes[i].op_type) != 0) j++;
    if (j == m->n_op_types) m->ops[m->n_op_types++].op_type = g->nodes[i].op_type;
    m->ops[j].count++;
  }
  qsort(m->ops, (size_t)m->n_op_types, sizeof *m->ops, cmp_op_count);
  return EO_OK;
}

/* A float16 model: partial inference stops at the first float16 op (edgeopt computes those in float32
 * after the lower_fp16 pass), so FLOPs and the graph outputs' shapes come from a lowered copy. */
static void infer_float16_graph(const eo_graph *g, unsigned flags, eo_model *m) {
  eo_graph copy;
  if (eo_graph_clone(g, &copy)) return;
  int64_t f = 0;
  if (!eo_pass_lower_fp16(&copy, false, NULL) && !eo_graph_infer(&copy, flags, &f)) {
    m->flops = f;
    for (int i = 0; i < m->graph.n_outputs; i++) {
      eo_tensor *t = &m->graph.tensors[m->graph.outputs[i]];
      const eo_tensor *c = &copy.tensors[copy.outputs[i]];
      if (c->rank < 0 || (t->rank >= 0 && t->rank != c->rank)) continue;
      t->rank = c->rank;
      memcpy(t->dims, c->dims, sizeof t->dims);
    }
  }
  eo_graph_free(&copy);
}

/* Constants larger than this are left out of the light inference at load (infer_at_batch_one). */
#define EO_LOAD_INFER_VALUE_MAX ((size_t)64 << 10)

/* Infers shapes at batch = 1 on a copy of the model's graph that shares its constants' bytes (never
 * copies them). `light`: the copy also leaves out the values of constants over
 * EO_LOAD_INFER_VALUE_MAX (weights), so the nodes reading them (DequantizeLinear of int8 weights)
 * are not folded into float copies that only shapes need: 4x an INT8 model's file at the peak. */
static eo_status infer_copy(const eo_model *m, bool light, eo_graph *copy, unsigned *flags, int64_t *flops) {
  eo_status st = eo_graph_clone_shared(&m->graph, copy);
  if (st) return st;
  *flags = EO_INFER_FOLD | EO_INFER_PARTIAL;
  for (int i = 0; light && i < copy->n_tensors; i++) {
    eo_tensor *t = &copy->tensors[i];
    if (t->data && t->nbytes > EO_LOAD_INFER_VALUE_MAX) {
      t->data = NULL;  // borrowed: nothing to free
      t->nbytes = 0;
      t->flags &= ~(unsigned)EO_T_BORROWED;
    }
  }
  for (int i = 0; i < copy->n_inputs; i++) {
    eo_tensor *t = &copy->tensors[copy->inputs[i]];
    for (int d = 0; d < t->rank; d++)
      if (t->dims[d] < 0) {
        t->dims[d] = 1;
        *flags |= EO_INFER_GUESSED_DIMS;
      }
  }
  return eo_graph_infer(copy, *flags, flops);
}

/* Shapes at batch = 1, inferred on a copy with symbolic dims bound to 1 and copied back (the
 * model's own graph stays exactly as loaded, so save writes it unchanged). What the partial
 * inference could not reach keeps what the model declares (e.g. a graph output's value info).
 * The light inference first; the full one (every constant's value, as before) when the light one
 * fails or leaves a shape unknown, since a shape might then hang on a left-out value: the result
 * is the same either way, a shape never depends on a weight's values otherwise. */
static eo_status infer_at_batch_one(eo_model *m) {
  eo_graph copy;
  unsigned flags;
  int64_t flops = 0;
  bool float16 = false;  // float16 models lower a copy of the copy, which needs every value
  for (int i = 0; i < m->graph.n_tensors; i++) float16 |= m->graph.tensors[i].dtype == EO_FLOAT16;
  eo_status st = infer_copy(m, !float16, &copy, &flags, &flops);
  bool complete = !st;
  for (int i = 0; complete && i < copy.n_tensors; i++) complete = copy.tensors[i].rank >= 0 && copy.tensors[i].dtype;
  if (!float16 && !complete) {
    eo_graph_free(&copy);
    flops = 0;
    st = infer_copy(m, false, &copy, &flags, &flops);
  }
  if (!st) {
    m->flops = flops;
    for (int i = 0; i < copy.n_tensors; i++) {
      eo_tensor *t = &m->graph.tensors[i];
      if (t->flags & EO_T_INPUT) continue;  // keep symbolic dims as declared
      const eo_tensor *c = &copy.tensors[i];
      if (c->dtype != 0 || t->dtype == 0) t->dtype = c->dtype;  // not reached: keep the declaration
      if (c->rank >= 0 || t->rank < 0) {
        t->rank = c->rank;
        memcpy(t->dims, c->dims, sizeof t->dims);
      }
    }
    if (float16) infer_float16_graph(&copy, flags, m);
  }
  eo_graph_free(&copy);
  return st;
}

/* Loads ONNX (or TFLite) bytes. With `own` the bytes are the caller's malloc'd buffer, freed here
 * as soon as they are parsed: the file and its unpacked proto then never sit in memory together
 * with the rest of the load (peak RSS). */
static eo_status load_bytes(void *data, size_t size, bool own, const char *base_dir, const char *label,
                            const eo_load_options *opts, eo_model **out) {
  *out = NULL;
  eo_status st;
  const char *src = label ? label : "<buffer>";
  const unsigned char *b = data;
  if (size == 0) {
    st = eo_error(EO_ERR_PARSE, "%s: empty file, not an ONNX model", src);
    goto fail_bytes;
  }
  if (eo_is_tflite(data, size)) {  // TFLite: translated to ONNX bytes, then loaded as any ONNX model
    void *onnx;
    size_t n;
    st = eo_tflite_to_onnx(data, size, src, &onnx, &n);
    if (own) free(data);
    if (st) return st;
    st = load_bytes(onnx, n, true, base_dir, label, opts, out);
    if (!st) (*out)->file_bytes = (int64_t)size;
    return st;
  }
  if (size >= 4 && (memcmp(b, "\x89PNG", 4) == 0 || memcmp(b, "PK\x03\x04", 4) == 0 || memcmp(b, "\x93NUMPY", 4) == 0)) {
    st = eo_error(EO_ERR_PARSE, "%s: not an ONNX model (file starts with the magic of another format)", src);
    goto fail_bytes;
  }
  eo_model *m = eo_calloc(1, sizeof *m);
  if (!m) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto fail_bytes;
  }
  m->path = eo_strdup(src);
  m->base_dir = eo_strdup(base_dir);
  m->file_bytes = (int64_t)size;
  m->proto = onnx__model_proto__unpack(NULL, size, data);  // copies every field out of the bytes
  if (own) free(data);
  if (!m->proto) {
    st = eo_error(EO_ERR_PARSE, "%s: not a valid ONNX protobuf (truncated, corrupted or not an ONNX model)", src);
    goto fail;
  }
  if (!m->proto->graph) {
    st = eo_error(EO_ERR_PARSE, "%s: the protobuf has no graph (not an ONNX model?)", src);
    goto fail;
  }
  int64_t opset = -1;
  for (size_t i = 0; i < m->proto->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = m->proto->opset_import[i];
    if (!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0) opset = o->has_version ? o->version : 1;
  }
  if (opset < 0 && m->proto->n_opset_import == 0) opset = 1;  // IR 1/2 models carry no import: opset 1
  if (opset >= 0 && (opset < EO_OPSET_MIN || opset > EO_OPSET_MAX)) {
    st = eo_error(EO_ERR_UNSUPPORTED, "%s: default-domain opset %lld is outside the supported range %d..%d", src,
                  (long long)opset, EO_OPSET_MIN, EO_OPSET_MAX);
    goto fail;
  }
  m->graph.opset = opset;
  char prod[256];
  snprintf(prod, sizeof prod, "%s%s%s", m->proto->producer_name ? m->proto->producer_name : "",
           m->proto->producer_version && *m->proto->producer_version ? " " : "",
           m->proto->producer_version ? m->proto->producer_version : "");
  m->producer = eo_strdup(prod);
  if ((st = build_graph(m))) goto wrap;
  int *order = eo_calloc((size_t)m->graph.n_nodes + 1, sizeof(int)), count;
  if (!order) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto fail;
  }
  st = eo_graph_topo_order(&m->graph, order, &count);
  free(order);
  if (st) goto wrap;
  st = check_supported(&m->graph);
  m->runnable = st == EO_OK;
  if (st && !(opts && opts->allow_unsupported_ops)) goto wrap;
  if (m->runnable && (st = infer_at_batch_one(m))) goto wrap;
  if ((st = fill_descs(m))) goto fail;
  *out = m;
  return EO_OK;
wrap:
  st = eo_error_wrap(st, "%s", src);
fail:
  eo_model_free(m);
  return st;
fail_bytes:
  if (own) free(data);
  return st;
}

eo_status eo_model_load_buffer(const void *data, size_t size, const char *base_dir, const char *label,
                               const eo_load_options *opts, eo_model **out) {
  return load_bytes((void *)data, size, false, base_dir, label, opts, out);  // not freed: const is kept
}

eo_status eo_model_load(const char *path, const eo_load_options *opts, eo_model **out) {
  *out = NULL;
  void *buf;
  size_t size;
  eo_status st = eo_read_file(path, &buf, &size);
  if (st) return st;
  char *dir = eo_strdup(path);
  if (!dir) {
    free(buf);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  else strcpy(dir, ".");
  st = load_bytes(buf, size, true, dir, path, opts, out);  // frees buf once parsed
  free(dir);
  return st;
}

void eo_model_free(eo_model *m) {
  if (!m) return;
  // raw_data bytes taken by the graph are freed with the graph, not by protobuf-c
  for (size_t i = 0; m->raw_taken && m->proto && m->proto->graph && i < m->proto->graph->n_initializer; i++)
    if (m->raw_taken[i]) m->proto->graph->initializer[i]->raw_data.data = NULL;
  free(m->raw_taken);
  eo_graph_free(&m->graph);
  if (m->proto) onnx__model_proto__free_unpacked(m->proto, NULL);
  free(m->path);
  free(m->base_dir);
  free(m->producer);
  free(m->inputs);
  free(m->outputs);
  free(m->ops);
  free(m);
}

int eo_model_num_inputs(const eo_model *m) { return m->n_inputs; }
int eo_model_num_outputs(const eo_model *m) { return m->n_outputs; }
const eo_value_desc *eo_model_input(const eo_model *m, int i) { return i >= 0 && i < m->n_inputs ? &m->inputs[i] : NULL; }
const eo_value_desc *eo_model_output(const eo_model *m, int i) { return i >= 0 && i < m->n_outputs ? &m->outputs[i] : NULL; }

eo_status eo_model_inspect(const eo_model *m, eo_model_info *out) {
  memset(out, 0, sizeof *out);
  out->path = m->path;
  out->file_bytes = m->file_bytes;
  out->ir_version = m->proto->has_ir_version ? m->proto->ir_version : 0;
  out->opset = m->graph.opset;
  out->producer = m->producer;
  out->num_nodes = m->graph.n_nodes;
  out->flops = m->flops;
  for (int i = 0; i < m->graph.n_tensors; i++) {
    const eo_tensor *t = &m->graph.tensors[i];
    if (!(t->flags & EO_T_INITIALIZER)) continue;
    out->num_initializers++;
    out->param_bytes += (int64_t)t->nbytes;
    out->num_params += eo_numel(t->rank, t->dims);
    if (t->dtype == EO_FLOAT16) out->float16_params += eo_numel(t->rank, t->dims);
  }
  out->num_op_types = m->n_op_types;
  out->ops = m->ops;
  return EO_OK;
}
