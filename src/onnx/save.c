/* IR -> ONNX. The output ModelProto is a shell of pointers: fields the IR does not model point
 * into the loaded proto, names point into the IR, and only what changed is allocated here
 * (protobuf-c packs from pointers, so nothing is deep-copied). Every allocation is tracked in
 * save_ctx and released at the end; the loaded model and the graph are never modified.
 *
 * CONTRACT (also in save.h and model.h): a pass that changes a tensor's data, dtype or shape
 * must clear that tensor's `src`, so its original TensorProto is not written. As a guard, a
 * reused TensorProto is checked against the IR tensor (dtype, dims, bytes) before it is reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/onnx_internal.h"
#include "onnx/save.h"
#include "runtime/activation.h"
#include "runtime/op.h"

typedef struct save_ctx {
  const eo_model *m;
  const eo_graph *g;
  const Onnx__GraphProto *gp;
  void **allocs;                 /* plain allocations, freed with free() */
  int n_allocs, cap_allocs;
  Onnx__TensorProto **tps;       /* from eo_onnx_encode_tensor */
  int n_tps, cap_tps;
  char **made;                   /* names created here (also in allocs), kept unique */
  int n_made, cap_made;
} save_ctx;

static void *ctx_track(save_ctx *c, void *p) {
  if (!p) return NULL;
  if (eo_grow((void **)&c->allocs, &c->cap_allocs, c->n_allocs + 1, sizeof(void *))) {
    free(p);
    return NULL;
  }
  c->allocs[c->n_allocs++] = p;
  return p;
}

static void *ctx_calloc(save_ctx *c, size_t n, size_t size) {
  return ctx_track(c, eo_calloc(n ? n : 1, size));
}

static Onnx__TensorProto *ctx_track_tp(save_ctx *c, Onnx__TensorProto *tp) {
  if (eo_grow((void **)&c->tps, &c->cap_tps, c->n_tps + 1, sizeof(void *))) {
    eo_onnx_free_tensor_proto(tp);
    return NULL;
  }
  c->tps[c->n_tps++] = tp;
  return tp;
}

static void ctx_free(save_ctx *c) {
  for (int i = 0; i < c->n_allocs; i++) free(c->allocs[i]);
  for (int i = 0; i < c->n_tps; i++) eo_onnx_free_tensor_proto(c->tps[i]);
  free(c->allocs);
  free(c->tps);
  free(c->made);
}

static bool name_taken(const save_ctx *c, const char *name) {
  if (eo_graph_find(c->g, name) >= 0) return true;
  for (int i = 0; i < c->n_made; i++)
    if (strcmp(c->made[i], name) == 0) return true;
  return false;
}

/* A value name not used by the graph nor made before: "<base><suffix>", then "<base><suffix>_N". */
static char *unique_name(save_ctx *c, const char *base, const char *suffix) {
  size_t cap = strlen(base) + strlen(suffix) + 24;
  char *s = ctx_calloc(c, cap, 1);
  if (!s) return NULL;
  snprintf(s, cap, "%s%s", base, suffix);
  for (int k = 1; name_taken(c, s); k++) snprintf(s, cap, "%s%s_%d", base, suffix, k);
  if (eo_grow((void **)&c->made, &c->cap_made, c->n_made + 1, sizeof(char *))) return NULL;
  c->made[c->n_made++] = s;
  return s;
}

static const char *str_or_empty(const char *s) { return s ? s : ""; }
static bool is_default_domain(const char *d) { return !d || !*d || strcmp(d, "ai.onnx") == 0; }

/* ---- attributes ------------------------------------------------------------------------- */

/* True when IR attribute `a` still holds the value of the original AttributeProto `ap`. */
static bool attr_unchanged(const eo_attr *a, const Onnx__AttributeProto *ap) {
  if (strcmp(a->name, str_or_empty(ap->name)) != 0) return false;
  if (ap->has_type && (int)ap->type != a->type) return false;
  switch (a->type) {
    case EO_ATTR_FLOAT: return memcmp(&a->f, &ap->f, sizeof a->f) == 0;
    case EO_ATTR_INT: return a->i == ap->i;
    case EO_ATTR_STRING: return a->s_len == ap->s.len && (!a->s_len || memcmp(a->s, ap->s.data, a->s_len) == 0);
    case EO_ATTR_FLOATS:
      return (size_t)a->n == ap->n_floats && (!a->n || memcmp(a->floats, ap->floats, (size_t)a->n * sizeof(float)) == 0);
    case EO_ATTR_INTS:
      return (size_t)a->n == ap->n_ints && (!a->n || memcmp(a->ints, ap->ints, (size_t)a->n * sizeof(int64_t)) == 0);
    case EO_ATTR_STRINGS:
      // The IR keeps these NUL-terminated without lengths: a string decoded from one with an
      // embedded NUL matches the original up to and including that NUL.
      if ((size_t)a->n != ap->n_strings) return false;
      for (int i = 0; i < a->n; i++) {
        size_t len = strlen(a->strings[i]), plen = ap->strings[i].len;
        if (len > plen || (len && memcmp(a->strings[i], ap->strings[i].data, len) != 0)) return false;
        if (len < plen && ap->strings[i].data[len] != 0) return false;
      }
      return true;
    case EO_ATTR_TENSOR:
      // the decoded tensor keeps src = ap->t while unchanged (contract above)
      return a->t && a->t->src == ap->t;
    default:
      return true;  // graphs, sparse tensors, type protos: the IR does not decode them, the proto is the value
  }
}

/* Encodes an IR attribute (types the IR holds by value). */
static eo_status encode_attr(save_ctx *c, const eo_node *n, const eo_attr *a, Onnx__AttributeProto **out) {
  Onnx__AttributeProto *ap = ctx_calloc(c, 1, sizeof *ap);
  if (!ap) return eo_error(EO_ERR_NOMEM, "out of memory");
  onnx__attribute_proto__init(ap);
  ap->name = a->name;
  ap->has_type = 1;
  ap->type = (Onnx__AttributeProto__AttributeType)a->type;
  switch (a->type) {
    case EO_ATTR_FLOAT: ap->has_f = 1; ap->f = a->f; break;
    case EO_ATTR_INT: ap->has_i = 1; ap->i = a->i; break;
    case EO_ATTR_STRING:
      ap->has_s = 1;
      ap->s.data = (uint8_t *)a->s;
      ap->s.len = a->s_len;
      break;
    case EO_ATTR_FLOATS: ap->n_floats = (size_t)a->n; ap->floats = a->floats; break;
    case EO_ATTR_INTS: ap->n_ints = (size_t)a->n; ap->ints = a->ints; break;
    case EO_ATTR_STRINGS:
      ap->n_strings = (size_t)a->n;
      if (!(ap->strings = ctx_calloc(c, (size_t)a->n, sizeof(ProtobufCBinaryData))))
        return eo_error(EO_ERR_NOMEM, "out of memory");
      for (int i = 0; i < a->n; i++) {
        ap->strings[i].data = (uint8_t *)a->strings[i];
        ap->strings[i].len = strlen(a->strings[i]);
      }
      break;
    case EO_ATTR_TENSOR: {
      if (!a->t || (a->t->dtype == EO_STRING) || (!a->t->data && a->t->nbytes))
        return eo_error(EO_ERR_UNSUPPORTED, "node '%s' (%s): tensor attribute '%s' cannot be encoded from the IR%s",
                        n->name, n->op_type, a->name, a->t && a->t->dtype == EO_STRING ? " (string tensor)" : "");
      Onnx__TensorProto *tp;
      eo_status st = eo_onnx_encode_tensor(a->t, &tp);
      if (st) return eo_error_wrap(st, "node '%s' attribute '%s'", n->name, a->name);
      if (!ctx_track_tp(c, tp)) return eo_error(EO_ERR_NOMEM, "out of memory");
      ap->t = tp;
      break;
    }
    default:
      return eo_error(EO_ERR_UNSUPPORTED,
                      "node '%s' (%s): attribute '%s' of type %d (graph, sparse tensor or type proto) has no "
                      "original proto to write and cannot be encoded from the IR", n->name, n->op_type, a->name, a->type);
  }
  *out = ap;
  return EO_OK;
}

static eo_status node_attrs(save_ctx *c, const eo_node *n, Onnx__NodeProto *np) {
  np->n_attribute = (size_t)n->n_attrs;
  np->attribute = ctx_calloc(c, (size_t)n->n_attrs, sizeof(Onnx__AttributeProto *));
  if (!np->attribute) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n->n_attrs; i++) {
    const eo_attr *a = &n->attrs[i];
    const Onnx__AttributeProto *orig = NULL;
    if (n->src) {
      // same position first (the usual case), else by name
      if ((size_t)i < n->src->n_attribute && strcmp(str_or_empty(n->src->attribute[i]->name), a->name) == 0)
        orig = n->src->attribute[i];
      for (size_t k = 0; !orig && k < n->src->n_attribute; k++)
        if (strcmp(str_or_empty(n->src->attribute[k]->name), a->name) == 0) orig = n->src->attribute[k];
    }
    if (orig && attr_unchanged(a, orig)) {
      np->attribute[i] = (Onnx__AttributeProto *)orig;
      continue;
    }
    eo_status st = encode_attr(c, n, a, &np->attribute[i]);
    if (st) return st;
  }
  return EO_OK;
}

static Onnx__AttributeProto *float_attr(save_ctx *c, const char *name, float v) {
  Onnx__AttributeProto *ap = ctx_calloc(c, 1, sizeof *ap);
  if (!ap) return NULL;
  onnx__attribute_proto__init(ap);
  ap->name = (char *)name;
  ap->has_type = 1;
  ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  ap->has_f = 1;
  ap->f = v;
  return ap;
}

/* ---- tensors ------------------------------------------------------------------------------ */

/* The original TensorProto if it still holds t's value, stored inline; else NULL. */
static const Onnx__TensorProto *reusable_src(const eo_tensor *t) {
  const Onnx__TensorProto *tp = t->src;
  if (!tp) return NULL;
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) return NULL;
  if (!tp->has_data_type || tp->data_type != t->dtype || tp->n_dims != (size_t)t->rank) return NULL;
  for (int d = 0; d < t->rank; d++)
    if (tp->dims[d] != t->dims[d]) return NULL;
  if (t->dtype == EO_STRING) return tp;  // the IR holds no string data: the proto is the value
  if (tp->has_raw_data)
    return tp->raw_data.len == t->nbytes && (!t->nbytes || memcmp(tp->raw_data.data, t->data, t->nbytes) == 0) ? tp : NULL;
  eo_tensor tmp;
  memset(&tmp, 0, sizeof tmp);
  if (eo_onnx_decode_tensor(tp, NULL, "initializer", &tmp)) return NULL;
  bool same = tmp.nbytes == t->nbytes && (!t->nbytes || memcmp(tmp.data, t->data, t->nbytes) == 0);
  free(tmp.data);
  return same ? tp : NULL;
}

static eo_status tensor_proto(save_ctx *c, const eo_tensor *t, Onnx__TensorProto **out) {
  const Onnx__TensorProto *src = reusable_src(t);
  if (src) {
    if (strcmp(str_or_empty(src->name), t->name) == 0) {
      *out = (Onnx__TensorProto *)src;
      return EO_OK;
    }
    Onnx__TensorProto *copy = ctx_calloc(c, 1, sizeof *copy);  // renamed: a shell with the new name
    if (!copy) return eo_error(EO_ERR_NOMEM, "out of memory");
    *copy = *src;
    copy->name = t->name;
    *out = copy;
    return EO_OK;
  }
  if (t->dtype == EO_STRING)
    return eo_error(EO_ERR_UNSUPPORTED, "initializer '%s': a string tensor without its original (inline) proto "
                    "cannot be encoded from the IR", t->name);
  if (!t->data && t->nbytes) return eo_error(EO_ERR_INVALID, "initializer '%s' has no data", t->name);
  Onnx__TensorProto *tp;
  eo_status st = eo_onnx_encode_tensor(t, &tp);
  if (st) return eo_error_wrap(st, "initializer '%s'", t->name);
  if (!ctx_track_tp(c, tp)) return eo_error(EO_ERR_NOMEM, "out of memory");
  if (t->src) tp->doc_string = t->src->doc_string;  // borrowed; the description still applies
  *out = tp;
  return EO_OK;
}

/* Scalar float32 initializer (Clip bounds of an unfused activation). */
static Onnx__TensorProto *scalar_f32(save_ctx *c, const char *name, float v) {
  Onnx__TensorProto *tp = ctx_calloc(c, 1, sizeof *tp);
  float *val = ctx_calloc(c, 1, sizeof(float));
  if (!tp || !val) return NULL;
  onnx__tensor_proto__init(tp);
  *val = v;
  tp->name = (char *)name;
  tp->has_data_type = 1;
  tp->data_type = EO_FLOAT;
  tp->has_raw_data = 1;
  tp->raw_data.data = (uint8_t *)val;  // little-endian hosts only, like the rest of the codec
  tp->raw_data.len = sizeof(float);
  return tp;
}

/* ValueInfoProto for a tensor that has none in the original model: dtype and shape from the IR. */
static eo_status make_value_info(save_ctx *c, const eo_tensor *t, Onnx__ValueInfoProto **out) {
  Onnx__ValueInfoProto *vi = ctx_calloc(c, 1, sizeof *vi);
  Onnx__TypeProto *type = ctx_calloc(c, 1, sizeof *type);
  Onnx__TypeProto__Tensor *tt = ctx_calloc(c, 1, sizeof *tt);
  if (!vi || !type || !tt) return eo_error(EO_ERR_NOMEM, "out of memory");
  onnx__value_info_proto__init(vi);
  onnx__type_proto__init(type);
  onnx__type_proto__tensor__init(tt);
  vi->name = t->name;
  vi->type = type;
  type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type->tensor_type = tt;
  if (t->dtype) {
    tt->has_elem_type = 1;
    tt->elem_type = t->dtype;
  }
  if (t->rank >= 0) {
    Onnx__TensorShapeProto *shape = ctx_calloc(c, 1, sizeof *shape);
    Onnx__TensorShapeProto__Dimension **dims = ctx_calloc(c, (size_t)t->rank, sizeof *dims);
    Onnx__TensorShapeProto__Dimension *dv = ctx_calloc(c, (size_t)t->rank, sizeof *dv);
    if (!shape || !dims || !dv) return eo_error(EO_ERR_NOMEM, "out of memory");
    onnx__tensor_shape_proto__init(shape);
    for (int d = 0; d < t->rank; d++) {
      onnx__tensor_shape_proto__dimension__init(&dv[d]);
      if (t->dims[d] >= 0) {
        dv[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dv[d].dim_value = t->dims[d];
      } else if (t->dim_param[d]) {
        dv[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        dv[d].dim_param = t->dim_param[d];
      }  // else: an unknown dim, neither value nor param
      dims[d] = &dv[d];
    }
    shape->n_dim = (size_t)t->rank;
    shape->dim = dims;
    tt->shape = shape;
  }
  *out = vi;
  return EO_OK;
}

static const Onnx__ValueInfoProto *find_vi(Onnx__ValueInfoProto *const *list, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(str_or_empty(list[i]->name), name) == 0) return list[i];
  return NULL;
}

/* Whether the original ValueInfoProto vi still describes t's element type. A stage may change it
 * (a quantized or float16 tensor) and a stale entry makes the file invalid for ORT. Shapes are not
 * compared: the IR's inferred dims may legitimately differ from a file's declared ones (bounds of
 * data-dependent outputs), and no stage changes a kept value's shape. */
static bool vi_describes(const eo_tensor *t, const Onnx__ValueInfoProto *vi) {
  int dtype = 0, rank;
  int64_t dims[EO_MAX_RANK];
  const char *params[EO_MAX_RANK];
  if (!t->dtype) return true;  // the IR knows nothing better
  return eo_onnx_value_type(vi, &dtype, &rank, dims, params) == EO_OK && dtype == t->dtype;
}

/* The original ValueInfoProto of t if it still describes t, else one made from the IR. */
static eo_status io_value_info(save_ctx *c, const eo_tensor *t, const Onnx__ValueInfoProto *vi,
                               Onnx__ValueInfoProto **out) {
  if (vi && vi_describes(t, vi)) {
    *out = (Onnx__ValueInfoProto *)vi;
    return EO_OK;
  }
  if (vi && t->rank < 0 && vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
      vi->type->tensor_type) {
    // the IR has no shape for t: keep the file's shape (and doc string), with the new element type
    Onnx__ValueInfoProto *v = ctx_calloc(c, 1, sizeof *v);
    Onnx__TypeProto *type = ctx_calloc(c, 1, sizeof *type);
    Onnx__TypeProto__Tensor *tt = ctx_calloc(c, 1, sizeof *tt);
    if (!v || !type || !tt) return eo_error(EO_ERR_NOMEM, "out of memory");
    *v = *vi;
    *type = *vi->type;
    *tt = *vi->type->tensor_type;
    tt->has_elem_type = 1;
    tt->elem_type = t->dtype;
    type->tensor_type = tt;
    v->type = type;
    *out = v;
    return EO_OK;
  }
  return make_value_info(c, t, out);
}

/* ---- subgraph references ------------------------------------------------------------------ */

typedef struct int_vec {
  int *v;
  int n, cap;
} int_vec;

static eo_status vec_push(int_vec *v, int x) {
  eo_status st = eo_grow((void **)&v->v, &v->cap, v->n + 1, sizeof(int));
  if (!st) v->v[v->n++] = x;
  return st;
}

/* Collects outer-scope tensors (of c->g) named inside a subgraph: they are implicit inputs of the
 * node that owns the subgraph (its initializers must be kept and its producers ordered first). */
static eo_status collect_subgraph_refs(const save_ctx *c, const Onnx__GraphProto *sg, int_vec *out, int depth) {
  if (!sg || depth > 64) return EO_OK;
  eo_status st;
  for (size_t i = 0; i < sg->n_node; i++) {
    const Onnx__NodeProto *np = sg->node[i];
    for (size_t k = 0; k < np->n_input; k++) {
      int t = np->input[k] && *np->input[k] ? eo_graph_find(c->g, np->input[k]) : -1;
      if (t >= 0 && (st = vec_push(out, t))) return st;
    }
    for (size_t a = 0; a < np->n_attribute; a++) {
      const Onnx__AttributeProto *ap = np->attribute[a];
      if ((st = collect_subgraph_refs(c, ap->g, out, depth + 1))) return st;
      for (size_t k = 0; k < ap->n_graphs; k++)
        if ((st = collect_subgraph_refs(c, ap->graphs[k], out, depth + 1))) return st;
    }
  }
  for (size_t i = 0; i < sg->n_output; i++) {  // a subgraph output may be an outer value itself
    int t = sg->output[i]->name ? eo_graph_find(c->g, sg->output[i]->name) : -1;
    if (t >= 0 && (st = vec_push(out, t))) return st;
  }
  return EO_OK;
}

/* ---- graph ---------------------------------------------------------------------------------- */

typedef struct plan {
  int *producer;      /* per tensor: live node writing it, -1 */
  bool *referenced;   /* read by a live node, a subgraph or a graph output */
  bool *is_input;     /* graph input fed by the user */
  bool *write_init;   /* written as an initializer */
  int_vec *refs;      /* per node: subgraph references */
  int *order;         /* live nodes in write order */
  int n_order;
} plan;

static void plan_free(plan *p, int n_nodes) {
  free(p->producer);
  free(p->referenced);
  free(p->is_input);
  free(p->write_init);
  if (p->refs)
    for (int i = 0; i < n_nodes; i++) free(p->refs[i].v);
  free(p->refs);
  free(p->order);
}

/* Live nodes in write order, with subgraph references as extra inputs: the array order when it is
 * already topological (an unchanged model keeps its order), else a stable topological sort. */
static eo_status order_nodes(save_ctx *c, plan *p) {
  const eo_graph *g = c->g;
  int n = g->n_nodes;
  bool sorted = true;
  bool *defined = eo_calloc((size_t)g->n_tensors + 1, sizeof(bool));
  if (!defined) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n && sorted; i++) {
    const eo_node *nd = &g->nodes[i];
    if (nd->dead) continue;
    for (int k = 0; k < nd->n_in + p->refs[i].n && sorted; k++) {
      int t = k < nd->n_in ? nd->in[k] : p->refs[i].v[k - nd->n_in];
      if (t >= 0 && p->producer[t] >= 0 && p->producer[t] != i && !defined[t]) sorted = false;
    }
    for (int k = 0; k < nd->n_out; k++)
      if (nd->out[k] >= 0) defined[nd->out[k]] = true;
  }
  free(defined);
  p->n_order = 0;
  if (sorted) {
    for (int i = 0; i < n; i++)
      if (!g->nodes[i].dead) p->order[p->n_order++] = i;
    return EO_OK;
  }
  // repeated sweeps in array order: a node is taken once its producers are; keeps the order stable
  bool *done = eo_calloc((size_t)n + 1, sizeof(bool));
  if (!done) return eo_error(EO_ERR_NOMEM, "out of memory");
  int live = 0;
  for (int i = 0; i < n; i++)
    if (!g->nodes[i].dead) live++;
  bool progress = true;
  while (p->n_order < live && progress) {
    progress = false;
    for (int i = 0; i < n; i++) {
      const eo_node *nd = &g->nodes[i];
      if (nd->dead || done[i]) continue;
      bool ready = true;
      for (int k = 0; k < nd->n_in + p->refs[i].n && ready; k++) {
        int t = k < nd->n_in ? nd->in[k] : p->refs[i].v[k - nd->n_in];
        if (t >= 0 && p->producer[t] >= 0 && p->producer[t] != i && !done[p->producer[t]]) ready = false;
      }
      if (!ready) continue;
      done[i] = true;
      p->order[p->n_order++] = i;
      progress = true;
    }
  }
  eo_status st = EO_OK;
  if (p->n_order < live) {
    int bad = 0;
    while (bad < n && (g->nodes[bad].dead || done[bad])) bad++;
    st = eo_error(EO_ERR_INVALID, "cannot save: the graph has a cycle through node '%s' (%s)", g->nodes[bad].name,
                  g->nodes[bad].op_type);
  }
  free(done);
  return st;
}

static eo_status make_plan(save_ctx *c, plan *p) {
  const eo_graph *g = c->g;
  size_t nt = (size_t)g->n_tensors + 1, nn = (size_t)g->n_nodes + 1;
  memset(p, 0, sizeof *p);
  p->producer = eo_calloc(nt, sizeof(int));
  p->referenced = eo_calloc(nt, sizeof(bool));
  p->is_input = eo_calloc(nt, sizeof(bool));
  p->write_init = eo_calloc(nt, sizeof(bool));
  p->refs = eo_calloc(nn, sizeof(int_vec));
  p->order = eo_calloc(nn, sizeof(int));
  if (!p->producer || !p->referenced || !p->is_input || !p->write_init || !p->refs || !p->order)
    return eo_error(EO_ERR_NOMEM, "out of memory");
  eo_status st;
  for (int t = 0; t < g->n_tensors; t++) p->producer[t] = -1;
  for (int i = 0; i < g->n_inputs; i++) p->is_input[g->inputs[i]] = true;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *nd = &g->nodes[i];
    if (nd->dead) continue;
    for (int k = 0; k < nd->n_out; k++) {
      int t = nd->out[k];
      if (t < 0) continue;
      if (p->producer[t] >= 0)
        return eo_error(EO_ERR_INVALID, "cannot save: tensor '%s' is written by nodes '%s' and '%s'", g->tensors[t].name,
                        g->nodes[p->producer[t]].name, nd->name);
      p->producer[t] = i;
    }
    for (int k = 0; k < nd->n_in; k++)
      if (nd->in[k] >= 0) p->referenced[nd->in[k]] = true;
    if (nd->src)
      for (size_t a = 0; a < nd->src->n_attribute; a++) {
        const Onnx__AttributeProto *ap = nd->src->attribute[a];
        if ((st = collect_subgraph_refs(c, ap->g, &p->refs[i], 0))) return st;
        for (size_t k = 0; k < ap->n_graphs; k++)
          if ((st = collect_subgraph_refs(c, ap->graphs[k], &p->refs[i], 0))) return st;
      }
    for (int k = 0; k < p->refs[i].n; k++) p->referenced[p->refs[i].v[k]] = true;
  }
  for (int i = 0; i < g->n_outputs; i++) p->referenced[g->outputs[i]] = true;
  for (int t = 0; t < g->n_tensors; t++) {
    const eo_tensor *x = &g->tensors[t];
    if (!p->referenced[t] || p->producer[t] >= 0 || p->is_input[t]) continue;
    if (!(x->flags & EO_T_INITIALIZER) && !x->data)
      return eo_error(EO_ERR_INVALID, "cannot save: tensor '%s' is read but is not a graph input, a constant or any "
                      "live node's output", x->name);
    p->write_init[t] = true;
  }
  return order_nodes(c, p);
}

/* Names of a node's inputs or outputs from the IR ("" for an absent optional one). */
static char **io_names(save_ctx *c, const int *idx, int n) {
  char **names = ctx_calloc(c, (size_t)n, sizeof(char *));
  if (!names) return NULL;
  for (int k = 0; k < n; k++) names[k] = idx[k] >= 0 ? c->g->tensors[idx[k]].name : (char *)"";
  return names;
}

/* The string field of the original when the IR value equals it (keeps absent fields absent). */
static char *keep_or(const char *orig, const char *ir) {
  if (orig && strcmp(orig, ir) == 0) return (char *)orig;
  if (!orig && !*ir) return NULL;
  return (char *)ir;
}

static eo_status emit_node(save_ctx *c, const eo_node *n, Onnx__NodeProto **out) {
  Onnx__NodeProto *np = ctx_calloc(c, 1, sizeof *np);
  if (!np) return eo_error(EO_ERR_NOMEM, "out of memory");
  if (n->src) {
    *np = *n->src;  // doc_string, unknown fields, subgraph attributes
    np->name = keep_or(n->src->name, n->name);
    np->op_type = keep_or(n->src->op_type, n->op_type);
    np->domain = is_default_domain(n->domain) && is_default_domain(n->src->domain) ? n->src->domain
                                                                                     : keep_or(n->src->domain, n->domain);
  } else {
    onnx__node_proto__init(np);
    np->name = *n->name ? n->name : NULL;
    np->op_type = n->op_type;
    np->domain = *n->domain ? n->domain : NULL;
  }
  np->n_input = (size_t)n->n_in;
  np->n_output = (size_t)n->n_out;
  np->input = io_names(c, n->in, n->n_in);
  np->output = io_names(c, n->out, n->n_out);
  if (!np->input || !np->output) return eo_error(EO_ERR_NOMEM, "out of memory");
  eo_status st = node_attrs(c, n, np);
  if (st) return st;
  *out = np;
  return EO_OK;
}

/* Conv with a fused activation: ONNX has no fused form, so the Conv writes a new intermediate and
 * the activation node is written after it (Clip bounds as attributes below opset 11, as scalar
 * initializers from 11 on). */
static eo_status emit_unfused(save_ctx *c, const eo_node *conv, Onnx__NodeProto *np, Onnx__NodeProto **act_out,
                              Onnx__TensorProto **extra, int *n_extra) {
  if (conv->n_out < 1 || conv->out[0] < 0)
    return eo_error(EO_ERR_INVALID, "node '%s': fused activation without an output", conv->name);
  const char *z = c->g->tensors[conv->out[0]].name;
  char *mid = unique_name(c, z, "_preact");
  const char *op = eo_op_name(conv->fused_act);
  if (!mid) return eo_error(EO_ERR_NOMEM, "out of memory");
  if (!eo_activation_fusable(conv->fused_act)) return eo_error(EO_ERR_INVALID, "node '%s': unknown fused activation %d", conv->name, conv->fused_act);
  np->output[0] = mid;
  Onnx__NodeProto *act = ctx_calloc(c, 1, sizeof *act);
  char **in = ctx_calloc(c, 3, sizeof(char *)), **outs = ctx_calloc(c, 1, sizeof(char *));
  Onnx__AttributeProto **attrs = ctx_calloc(c, 2, sizeof(Onnx__AttributeProto *));
  char *name = unique_name(c, *conv->name ? conv->name : op, "_act");
  if (!act || !in || !outs || !attrs || !name) return eo_error(EO_ERR_NOMEM, "out of memory");
  onnx__node_proto__init(act);
  act->name = name;
  act->op_type = (char *)op;
  in[0] = mid;
  act->input = in;
  act->n_input = 1;
  outs[0] = (char *)z;
  act->output = outs;
  act->n_output = 1;
  act->attribute = attrs;
  float a = conv->act_alpha, b = conv->act_beta;
  switch (conv->fused_act) {
    case EO_OP_LEAKY_RELU: case EO_OP_ELU:
      attrs[act->n_attribute++] = float_attr(c, "alpha", a);
      break;
    case EO_OP_HARD_SIGMOID:
      attrs[act->n_attribute++] = float_attr(c, "alpha", a);
      attrs[act->n_attribute++] = float_attr(c, "beta", b);
      break;
    case EO_OP_CLIP:
      if (c->g->opset < 11) {
        if (a > -INFINITY) attrs[act->n_attribute++] = float_attr(c, "min", a);
        if (b < INFINITY) attrs[act->n_attribute++] = float_attr(c, "max", b);
      } else {
        in[1] = in[2] = (char *)"";
        for (int k = 0; k < 2; k++) {
          float v = k ? b : a;
          if (k ? !(v < INFINITY) : !(v > -INFINITY)) continue;
          char *bn = unique_name(c, mid, k ? "_max" : "_min");
          Onnx__TensorProto *tp = bn ? scalar_f32(c, bn, v) : NULL;
          if (!tp) return eo_error(EO_ERR_NOMEM, "out of memory");
          in[1 + k] = bn;
          extra[(*n_extra)++] = tp;
          act->n_input = (size_t)(2 + k);
        }
      }
      break;
    default: break;
  }
  for (size_t k = 0; k < act->n_attribute; k++)
    if (!attrs[k]) return eo_error(EO_ERR_NOMEM, "out of memory");
  *act_out = act;
  return EO_OK;
}

static eo_status build_graph_proto(save_ctx *c, plan *p, Onnx__GraphProto *out) {
  const eo_graph *g = c->g;
  const Onnx__GraphProto *gp = c->gp;
  eo_status st;
  *out = *gp;  // name, doc_string, sparse_initializer, unknown fields
  // nodes (+1 per fused activation)
  int n_fused = 0;
  for (int k = 0; k < p->n_order; k++)
    if (g->nodes[p->order[k]].fused_act >= 0) n_fused++;
  Onnx__NodeProto **nodes = ctx_calloc(c, (size_t)(p->n_order + n_fused), sizeof *nodes);
  Onnx__TensorProto **extra = ctx_calloc(c, (size_t)(2 * n_fused), sizeof *extra);
  if (!nodes || !extra) return eo_error(EO_ERR_NOMEM, "out of memory");
  size_t nn = 0;
  int n_extra = 0;
  for (int k = 0; k < p->n_order; k++) {
    const eo_node *n = &g->nodes[p->order[k]];
    if ((st = emit_node(c, n, &nodes[nn]))) return st;
    nn++;
    if (n->fused_act >= 0) {
      if ((st = emit_unfused(c, n, nodes[nn - 1], &nodes[nn], extra, &n_extra))) return st;
      nn++;
    }
  }
  out->node = nodes;
  out->n_node = nn;
  // initializers: the original list's order first, then new constants in tensor order
  int n_init = n_extra;
  for (int t = 0; t < g->n_tensors; t++) n_init += p->write_init[t];
  Onnx__TensorProto **inits = ctx_calloc(c, (size_t)n_init, sizeof *inits);
  bool *written = eo_calloc((size_t)g->n_tensors + 1, sizeof(bool));
  if (!inits || !written) {
    free(written);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  size_t ni = 0;
  for (int pass = 0; pass < 2; pass++) {
    size_t count = pass == 0 ? gp->n_initializer : (size_t)g->n_tensors;
    for (size_t i = 0; i < count; i++) {
      int t = pass == 0 ? (gp->initializer[i]->name ? eo_graph_find(g, gp->initializer[i]->name) : -1) : (int)i;
      if (t < 0 || !p->write_init[t] || written[t]) continue;
      if ((st = tensor_proto(c, &g->tensors[t], &inits[ni]))) {
        free(written);
        return st;
      }
      written[t] = true;
      ni++;
    }
  }
  free(written);
  for (int k = 0; k < n_extra; k++) inits[ni++] = extra[k];
  out->initializer = inits;
  out->n_initializer = ni;
  // inputs: the original list (user inputs and initializers listed as inputs) where they remain,
  // then inputs the original does not have
  Onnx__ValueInfoProto **ins = ctx_calloc(c, gp->n_input + (size_t)g->n_inputs, sizeof *ins);
  if (!ins) return eo_error(EO_ERR_NOMEM, "out of memory");
  size_t nin = 0;
  for (size_t i = 0; i < gp->n_input; i++) {
    int t = gp->input[i]->name ? eo_graph_find(g, gp->input[i]->name) : -1;
    if (t < 0 || !(p->is_input[t] || p->write_init[t])) continue;
    if ((st = io_value_info(c, &g->tensors[t], gp->input[i], &ins[nin]))) return st;
    nin++;
  }
  for (int i = 0; i < g->n_inputs; i++) {
    const eo_tensor *t = &g->tensors[g->inputs[i]];
    if (find_vi(gp->input, gp->n_input, t->name)) continue;
    if ((st = make_value_info(c, t, &ins[nin]))) return st;
    nin++;
  }
  out->input = ins;
  out->n_input = nin;
  // outputs, in the graph's order
  Onnx__ValueInfoProto **outs = ctx_calloc(c, (size_t)g->n_outputs, sizeof *outs);
  if (!outs) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int i = 0; i < g->n_outputs; i++) {
    const eo_tensor *t = &g->tensors[g->outputs[i]];
    const Onnx__ValueInfoProto *vi = find_vi(gp->output, gp->n_output, t->name);
    if (!vi) vi = find_vi(gp->value_info, gp->n_value_info, t->name);
    if ((st = io_value_info(c, t, vi, &outs[i]))) return st;
  }
  out->output = outs;
  out->n_output = (size_t)g->n_outputs;
  // value_info and quantization annotations of values that still exist
  Onnx__ValueInfoProto **vis = ctx_calloc(c, gp->n_value_info, sizeof *vis);
  Onnx__TensorAnnotation **qa = ctx_calloc(c, gp->n_quantization_annotation, sizeof *qa);
  if (!vis || !qa) return eo_error(EO_ERR_NOMEM, "out of memory");
  out->n_value_info = 0;
  for (size_t i = 0; i < gp->n_value_info; i++) {
    int t = gp->value_info[i]->name ? eo_graph_find(g, gp->value_info[i]->name) : -1;
    if (t < 0 || !(p->referenced[t] || p->producer[t] >= 0 || p->is_input[t])) continue;
    const Onnx__ValueInfoProto *vi = gp->value_info[i];
    // non-tensor values (sequences, maps) are kept as they are: the IR does not describe them
    bool tensor = vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && vi->type->tensor_type;
    if (!tensor) vis[out->n_value_info] = (Onnx__ValueInfoProto *)vi;
    else if ((st = io_value_info(c, &g->tensors[t], vi, &vis[out->n_value_info]))) return st;
    out->n_value_info++;
  }
  out->value_info = vis;
  out->n_quantization_annotation = 0;
  for (size_t i = 0; i < gp->n_quantization_annotation; i++) {
    const char *name = gp->quantization_annotation[i]->tensor_name;
    int t = name ? eo_graph_find(g, name) : -1;
    if (t >= 0 && (p->referenced[t] || p->producer[t] >= 0 || p->is_input[t]))
      qa[out->n_quantization_annotation++] = gp->quantization_annotation[i];
  }
  out->quantization_annotation = qa;
  return EO_OK;
}

/* opset_import: the original, with the default domain at g->opset and an import (version 1) for
 * any domain a node uses that the original does not import. Reuses the original array when
 * nothing changes. */
static eo_status build_opsets(save_ctx *c, Onnx__GraphProto *gpo, Onnx__ModelProto *mp) {
  const Onnx__ModelProto *orig = c->m->proto;
  size_t n = orig->n_opset_import;
  Onnx__OperatorSetIdProto **list = ctx_calloc(c, n + gpo->n_node + 1, sizeof *list);
  if (!list) return eo_error(EO_ERR_NOMEM, "out of memory");
  bool changed = false, have_default = false;
  for (size_t i = 0; i < n; i++) {
    Onnx__OperatorSetIdProto *o = orig->opset_import[i];
    list[i] = o;
    if (!is_default_domain(o->domain)) continue;
    have_default = true;
    if (c->g->opset > 0 && (!o->has_version || o->version != c->g->opset)) {
      Onnx__OperatorSetIdProto *copy = ctx_calloc(c, 1, sizeof *copy);
      if (!copy) return eo_error(EO_ERR_NOMEM, "out of memory");
      *copy = *o;
      copy->has_version = 1;
      copy->version = c->g->opset;
      list[i] = copy;
      changed = true;
    }
  }
  size_t k = n;
  if (!have_default && n > 0 && c->g->opset > 0) {  // imports without the default domain but nodes may need it
    for (size_t i = 0; i < gpo->n_node && !have_default; i++)
      if (is_default_domain(gpo->node[i]->domain)) have_default = true;
    if (have_default) {
      Onnx__OperatorSetIdProto *o = ctx_calloc(c, 1, sizeof *o);
      if (!o) return eo_error(EO_ERR_NOMEM, "out of memory");
      onnx__operator_set_id_proto__init(o);
      o->domain = (char *)"";
      o->has_version = 1;
      o->version = c->g->opset;
      list[k++] = o;
      changed = true;
    }
  }
  for (size_t i = 0; i < gpo->n_node; i++) {
    const char *d = gpo->node[i]->domain;
    if (is_default_domain(d)) continue;
    bool found = false;
    for (size_t j = 0; j < k && !found; j++) found = strcmp(str_or_empty(list[j]->domain), d) == 0;
    if (found) continue;
    Onnx__OperatorSetIdProto *o = ctx_calloc(c, 1, sizeof *o);
    if (!o) return eo_error(EO_ERR_NOMEM, "out of memory");
    onnx__operator_set_id_proto__init(o);
    o->domain = (char *)d;
    o->has_version = 1;
    o->version = 1;
    list[k++] = o;
    changed = true;
  }
  if (changed) {
    mp->opset_import = list;
    mp->n_opset_import = k;
  }
  return EO_OK;
}

/* ---- file ----------------------------------------------------------------------------------- */

eo_status eo_model_save_graph(const eo_model *m, const eo_graph *g, const char *path) {
  if (!m || !g || !path || !*path) return eo_error(EO_ERR_INVALID, "eo_model_save: model, graph and path are required");
  if (!m->proto || !m->proto->graph) return eo_error(EO_ERR_STATE, "eo_model_save: the model has no loaded proto");
  struct stat a, b;
  if (m->path && (strcmp(m->path, path) == 0 ||
                  (stat(m->path, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)))
    return eo_error(EO_ERR_INVALID, "refusing to save over %s: the model was loaded from that file; save to another path",
                    path);
  save_ctx c;
  memset(&c, 0, sizeof c);
  c.m = m;
  c.g = g;
  c.gp = m->proto->graph;
  plan p;
  uint8_t *buf = NULL;
  Onnx__GraphProto gpo;
  Onnx__ModelProto mp = *m->proto;  // every model field kept; graph and opsets replaced below
  eo_status st = make_plan(&c, &p);
  if (!st) st = build_graph_proto(&c, &p, &gpo);
  if (!st) {
    mp.graph = &gpo;
    st = build_opsets(&c, &gpo, &mp);
  }
  if (!st) {
    size_t size = onnx__model_proto__get_packed_size(&mp);
    if (size > (size_t)INT32_MAX) {
      st = eo_error(EO_ERR_UNSUPPORTED, "cannot save %s: the model would be %zu bytes, over protobuf's 2 GiB limit "
                    "(saving with external data files is not supported)", path, size);
    } else if (!(buf = eo_malloc(size))) {
      st = eo_error(EO_ERR_NOMEM, "cannot save %s: out of memory for %zu bytes", path, size);
    } else {
      size_t packed = onnx__model_proto__pack(&mp, buf);
      st = packed == size ? eo_write_file_atomic(path, buf, size)
                          : eo_error(EO_ERR_INVALID, "cannot save %s: packed %zu bytes, expected %zu", path, packed, size);
    }
  }
  free(buf);
  plan_free(&p, g->n_nodes);
  ctx_free(&c);
  return st;
}

eo_status eo_model_save(const eo_model *m, const char *path) {
  if (!m) return eo_error(EO_ERR_INVALID, "eo_model_save: model is NULL");
  return eo_model_save_graph(m, &m->graph, path);
}
