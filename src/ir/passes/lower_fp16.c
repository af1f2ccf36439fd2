/* float16 models computed in float32 (the fast-runtime issue: "weights converted once at prepare,
 * compute in fp32"). edgeopt's kernels are float32; a float16 model (edgeopt quantize --mode fp16,
 * onnxconverter-common's float16 conversion) would otherwise need a float16 kernel per op.
 *
 * What the pass does, on the session's own graph copy:
 *  - float16 constants (initializers, folded Constants, ConstantOfShape's value) become float32
 *    once (F16C): every float16 value is exactly a float32 value, so nothing is lost;
 *  - every tensor the model computes in float16 becomes float32;
 *  - the model's Casts to and from float16 become "round to float16" (Cast with EO_CAST_ROUND_ATTR:
 *    f32 -> f16 -> f32 in one vectorized pass): where the model holds a float16 tensor, the values
 *    are float16 values, as in ORT; a Cast whose input holds float16 values already changes nothing
 *    and is removed (so the Cast pairs around a keep-fp32 op cancel to one rounding);
 *  - graph inputs declared float16 keep their dtype (a Cast to float32 follows them), and so do
 *    graph outputs (a Cast to float16 writes them).
 * With `round_ops`, the output of every other op that computed in float16 is rounded to float16 too
 * (ops that only move or select values, whose outputs are float16 values already, excepted). That
 * is the letter of ONNX's float16 semantics; ONNX Runtime's CPU provider on x86 runs most of these
 * ops in float32 itself (its InsertCastTransformer wraps them in Casts and drops the inner pairs),
 * so the default pipeline does not round (see passes.c for the measurement behind the choice).
 *
 * The pass changes nothing when the graph has no float16, and leaves the graph untouched when it
 * meets float16 it cannot move to float32 (a dtype attribute, a float16 tensor inside another
 * attribute, a subgraph): the runtime then reports the unsupported op as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/passes/passes.h"
#include "runtime/kernels/ref/f16-cvt.h"
#include "runtime/op.h"

static bool op_is(const eo_node *n, const char *const *names) {
  if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") != 0) return false;
  for (int i = 0; names[i]; i++)
    if (strcmp(n->op_type, names[i]) == 0) return true;
  return false;
}

/* Ops whose outputs are never floating point (or, for TopK/MaxPool, past output 0). */
static const char *const k_non_float_out[] = {
    "Shape", "Size", "ArgMax", "ArgMin", "NonMaxSuppression", "NonZero", "QuantizeLinear",
    "DynamicQuantizeLinear", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "IsNaN", "IsInf",
    "Not", "And", "Or", "Xor", NULL};
/* Ops whose outputs are values of their inputs (moved, selected, negated): float16 inputs give
 * float16 outputs without rounding. Resize/Upsample only in nearest mode (checked apart). */
static const char *const k_exact[] = {
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Gather",
    "GatherElements", "GatherND", "Expand", "Tile", "Identity", "Dropout", "Pad", "MaxPool", "GlobalMaxPool",
    "Relu", "Neg", "Abs", "ReduceMax", "ReduceMin", "Max", "Min", "Where", "DepthToSpace", "SpaceToDepth",
    "ConstantOfShape", NULL};

static bool is_exact(const eo_node *n) {
  if (op_is(n, k_exact)) return true;
  static const char *const resize[] = {"Resize", "Upsample", NULL};
  return op_is(n, resize) && strcmp(eo_attr_s(n, "mode", "nearest"), "nearest") == 0;
}

static bool is_cast(const eo_node *n) { return eo_pass_is_op(n, EO_OP_CAST); }

/* An attribute that makes float16 we cannot move: dtype=FLOAT16 (EyeLike, Random*), float16 tensors
 * in attributes other than ConstantOfShape's value, subgraphs (If/Loop bodies are not rewritten). */
static bool blocks_lowering(const eo_node *n) {
  static const char *const cos[] = {"ConstantOfShape", NULL};
  for (int a = 0; a < n->n_attrs; a++) {
    const eo_attr *at = &n->attrs[a];
    if (at->type == EO_ATTR_GRAPH || at->type == EO_ATTR_GRAPHS) return true;
    if (at->type == EO_ATTR_INT && at->i == EO_FLOAT16 && strcmp(at->name, "dtype") == 0) return true;
    if (at->type == EO_ATTR_TENSOR && at->t && at->t->dtype == EO_FLOAT16 && !op_is(n, cos)) return true;
  }
  return false;
}

/* Converts a float16 tensor's data to float32 in place (same element count). */
static eo_status tensor_to_f32(eo_tensor *t, const eo_f16_kernels_t *k) {
  size_t numel = t->nbytes / 2;
  float *f = eo_malloc(numel * sizeof(float));
  if (!f) return eo_error(EO_ERR_NOMEM, "out of memory converting float16 constant '%s' to float32",
                          t->name ? t->name : "?");
  k->f16_to_f32(t->data, f, (int64_t)numel);
  free(t->data);
  t->data = f;
  t->nbytes = numel * sizeof(float);
  t->dtype = EO_FLOAT;
  t->src = NULL;  // the proto no longer describes this data
  return EO_OK;
}

/* A new activation tensor "<base><suffix>[_k]" with base's shape; index in *out. */
static eo_status add_tensor_like(eo_graph *g, int base, const char *suffix, int dtype, int *out) {
  const char *bn = g->tensors[base].name;
  size_t cap = strlen(bn) + strlen(suffix) + 24;
  char *name = eo_malloc(cap);
  if (!name) return eo_error(EO_ERR_NOMEM, "out of memory naming a tensor for '%s'", bn);
  snprintf(name, cap, "%s%s", bn, suffix);
  for (int k = 1; eo_graph_find(g, name) >= 0; k++) snprintf(name, cap, "%s%s_%d", bn, suffix, k);
  eo_status st = eo_graph_add_tensor(g, name, out);
  free(name);
  if (st) return st;
  eo_tensor *t = &g->tensors[*out];
  const eo_tensor *b = &g->tensors[base];
  t->dtype = dtype;
  t->rank = b->rank;
  memcpy(t->dims, b->dims, sizeof t->dims);
  return EO_OK;
}

static eo_status set_int_attr(eo_node *n, const char *name, int64_t v) {
  for (int a = 0; a < n->n_attrs; a++)
    if (strcmp(n->attrs[a].name, name) == 0) {
      n->attrs[a].type = EO_ATTR_INT;
      n->attrs[a].i = v;
      return EO_OK;
    }
  eo_attr *na = eo_realloc(n->attrs, (size_t)(n->n_attrs + 1) * sizeof *na);
  if (!na) return eo_error(EO_ERR_NOMEM, "out of memory adding an attribute to node '%s'", n->name);
  n->attrs = na;
  eo_attr *a = &na[n->n_attrs];
  memset(a, 0, sizeof *a);
  a->name = eo_strdup(name);
  if (!a->name) return eo_error(EO_ERR_NOMEM, "out of memory adding an attribute to node '%s'", n->name);
  a->type = EO_ATTR_INT;
  a->i = v;
  n->n_attrs++;
  return EO_OK;
}

/* Adds Cast(to) x -> y named after y; round: with EO_CAST_ROUND_ATTR. */
static eo_status add_cast(eo_graph *g, int x, int y, int to, bool round) {
  const char *yn = g->tensors[y].name;
  size_t cap = strlen(yn) + 16;
  char *name = eo_malloc(cap);
  if (!name) return eo_error(EO_ERR_NOMEM, "out of memory naming a Cast for '%s'", yn);
  snprintf(name, cap, "%s_fp16cast", yn);
  int idx;
  eo_status st = eo_graph_add_node(g, name, "Cast", "", 1, &x, 1, &y, &idx);
  free(name);
  if (st) return st;
  eo_node *n = &g->nodes[idx];
  n->op = EO_OP_CAST;
  if ((st = set_int_attr(n, "to", to))) return st;
  if (round && (st = set_int_attr(n, EO_CAST_ROUND_ATTR, 1))) return st;
  g->tensors[y].producer = idx;
  return EO_OK;
}

/* Marks which tensors the model computes in float16, in topological order. */
static eo_status find_half(const eo_graph *g, const int *order, int count, bool *half) {
  for (int t = 0; t < g->n_tensors; t++) half[t] = g->tensors[t].dtype == EO_FLOAT16 &&
                                                   (g->tensors[t].data || (g->tensors[t].flags & EO_T_INPUT));
  static const char *const cos[] = {"ConstantOfShape", NULL};
  static const char *const out0_only[] = {"TopK", "MaxPool", NULL};
  for (int k = 0; k < count; k++) {
    const eo_node *n = &g->nodes[order[k]];
    bool h = false;
    if (is_cast(n)) {
      h = eo_attr_i(n, "to", 0) == EO_FLOAT16;
    } else if (op_is(n, cos)) {
      const eo_attr *v = eo_node_attr(n, "value");
      h = v && v->type == EO_ATTR_TENSOR && v->t && v->t->dtype == EO_FLOAT16;
    } else if (!op_is(n, k_non_float_out)) {
      for (int i = 0; i < n->n_in && !h; i++) h = n->in[i] >= 0 && half[n->in[i]];
    }
    int nout = op_is(n, out0_only) ? 1 : n->n_out;
    for (int o = 0; o < nout && o < n->n_out; o++)
      if (n->out[o] >= 0 && !g->tensors[n->out[o]].data) half[n->out[o]] = h;
  }
  return EO_OK;
}

/* Removes the identity node `node` (its readers read its input instead). A graph output keeps its
 * name and producer, so then the node stays and false is returned. */
static bool bypass(eo_graph *g, int node) {
  eo_node *n = &g->nodes[node];
  int x = n->in[0], y = n->out[0];
  if (eo_pass_is_graph_output(g, y)) return false;
  n->dead = true;
  eo_pass_replace_uses(g, y, x);
  g->tensors[y].producer = -1;
  return true;
}

eo_status eo_pass_lower_fp16(eo_graph *g, bool round_ops, eo_pass_stats *stats) {
  bool any = false;
  for (int t = 0; t < g->n_tensors && !any; t++) any = g->tensors[t].dtype == EO_FLOAT16;
  for (int i = 0; i < g->n_nodes && !any; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead) continue;
    if (is_cast(n) && eo_attr_i(n, "to", 0) == EO_FLOAT16) any = true;
    for (int a = 0; a < n->n_attrs; a++)
      if (n->attrs[a].type == EO_ATTR_TENSOR && n->attrs[a].t && n->attrs[a].t->dtype == EO_FLOAT16) any = true;
  }
  if (!any) return EO_OK;
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i].dead && blocks_lowering(&g->nodes[i])) return EO_OK;

  eo_status st = eo_graph_link(g);
  if (st) return st;
  int n0 = g->n_nodes, t0 = g->n_tensors, count = 0;
  int *order = eo_calloc((size_t)n0 + 1, sizeof(int));
  bool *half = eo_calloc((size_t)t0 + 1, sizeof(bool)), *repr = eo_calloc((size_t)t0 + 1, sizeof(bool));
  if (!order || !half || !repr) {
    st = eo_error(EO_ERR_NOMEM, "out of memory lowering float16");
    goto done;
  }
  if ((st = eo_graph_topo_order(g, order, &count)) || (st = find_half(g, order, count, half))) goto done;
  const eo_f16_kernels_t *k = eo_f16_kernels(false);
  int lowered = 0;

  // 1. constants: float16 data -> float32 (graph outputs that are constants keep their dtype)
  for (int t = 0; t < t0; t++) {
    eo_tensor *tt = &g->tensors[t];
    if (tt->dtype != EO_FLOAT16 || !eo_pass_is_const(g, t) || eo_pass_is_graph_output(g, t)) continue;
    if ((st = tensor_to_f32(tt, k))) goto done;
    lowered++;
  }
  for (int i = 0; i < n0; i++) {
    eo_node *n = &g->nodes[i];
    for (int a = 0; !n->dead && a < n->n_attrs; a++)
      if (n->attrs[a].type == EO_ATTR_TENSOR && n->attrs[a].t && n->attrs[a].t->dtype == EO_FLOAT16) {
        if ((st = tensor_to_f32(n->attrs[a].t, k))) goto done;
        lowered++;
      }
  }
  // 2. activations computed in float16 are float32 now (shape inference will confirm)
  for (int t = 0; t < t0; t++)
    if (half[t] && !g->tensors[t].data && !(g->tensors[t].flags & (EO_T_INPUT | EO_T_OUTPUT)))
      g->tensors[t].dtype = EO_FLOAT;

  // 3. Casts, in topological order, tracking which tensors hold float16 values exactly (repr):
  //    float16 constants and inputs, rounded values, values only moved from those, and (round_ops)
  //    every op output. A Cast to float16 or from float16 rounds unless its input is such a value
  //    already; then it changes nothing and goes (the pairs of a keep-fp32 region's boundary cancel).
  for (int t = 0; t < t0; t++) repr[t] = half[t] && (g->tensors[t].data || (g->tensors[t].flags & EO_T_INPUT));
  for (int kk = 0; kk < count; kk++) {
    int i = order[kk];
    eo_node *n = &g->nodes[i];
    if (!is_cast(n)) {
      bool r = round_ops || is_exact(n);
      for (int j = 0; r && !round_ops && j < n->n_in; j++) r = n->in[j] < 0 || !half[n->in[j]] || repr[n->in[j]];
      for (int o = 0; o < n->n_out; o++)
        if (n->out[o] >= 0 && half[n->out[o]]) repr[n->out[o]] = r;
      continue;
    }
    if (n->n_in < 1 || n->in[0] < 0 || n->out[0] < 0) continue;
    int x = n->in[0], y = n->out[0];
    int64_t to = eo_attr_i(n, "to", 0);
    bool from_half = half[x], to_half = to == EO_FLOAT16;
    if (to_half && eo_pass_is_graph_output(g, y)) continue;  // a real Cast into the declared float16 output
    if (!(to_half || (to == EO_FLOAT && from_half))) continue;  // not a float16 Cast
    repr[y] = true;
    lowered++;
    if (repr[x]) {  // float16 values already (from_half, or a Cast of them that went)
      if (!bypass(g, i) && (st = set_int_attr(n, "to", EO_FLOAT))) goto done;
      continue;
    }
    // the value drops to float16 precision here (ORT: a float16 tensor), kept as float32
    if ((st = set_int_attr(n, "to", EO_FLOAT)) || (st = set_int_attr(n, EO_CAST_ROUND_ATTR, 1))) goto done;
  }

  // 4. rounding at op boundaries (round_ops): the op writes a new tensor, a round Cast writes the old
  for (int kk = 0; round_ops && kk < count; kk++) {
    int i = order[kk];
    if (g->nodes[i].dead || is_cast(&g->nodes[i]) || is_exact(&g->nodes[i])) continue;
    for (int o = 0; o < g->nodes[i].n_out; o++) {
      int y = g->nodes[i].out[o], pre;
      if (y < 0 || y >= t0 || !half[y] || eo_pass_is_graph_output(g, y)) continue;
      if ((st = add_tensor_like(g, y, "_prefp16", EO_FLOAT, &pre))) goto done;
      g->nodes[i].out[o] = pre;
      g->tensors[pre].producer = i;
      if ((st = add_cast(g, pre, y, EO_FLOAT, true))) goto done;
      lowered++;
    }
  }

  // 5. graph inputs declared float16: a Cast to float32 feeds the float32 graph
  for (int j = 0; j < g->n_inputs; j++) {
    int x = g->inputs[j], x32;
    if (g->tensors[x].dtype != EO_FLOAT16 || eo_pass_consumers(g, x) == 0) continue;
    if ((st = add_tensor_like(g, x, "_f32", EO_FLOAT, &x32))) goto done;
    eo_pass_replace_uses(g, x, x32);
    if ((st = add_cast(g, x, x32, EO_FLOAT, false))) goto done;
    lowered++;
  }
  // 6. graph outputs the model computed in float16: the producer writes a float32 tensor, a Cast
  //    to float16 writes the declared output
  for (int j = 0; j < g->n_outputs; j++) {
    int y = g->outputs[j], p, y32;
    if (y >= t0 || !half[y] || (p = g->tensors[y].producer) < 0) continue;
    eo_node *pn = &g->nodes[p];
    if (is_cast(pn) && eo_attr_i(pn, "to", 0) == EO_FLOAT16) continue;  // already writes float16
    if ((st = add_tensor_like(g, y, "_f32", EO_FLOAT, &y32))) goto done;
    for (int o = 0; o < g->nodes[p].n_out; o++)
      if (g->nodes[p].out[o] == y) g->nodes[p].out[o] = y32;
    g->tensors[y32].producer = p;
    eo_pass_replace_uses(g, y, y32);
    g->tensors[y].dtype = EO_FLOAT16;
    if ((st = add_cast(g, y32, y, EO_FLOAT16, false))) goto done;
    lowered++;
  }
  if (stats) stats->fp16_lowered += lowered;
done:
  free(order);
  free(half);
  free(repr);
  return st;
}
