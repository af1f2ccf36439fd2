/* Post-training quantization (edgeopt/quant.h): graph preparation, calibration, QDQ / weight-only /
 * FP16 rewriting, and the report (sizes, counts, per-layer SQNR).
 *
 * Calibration and the SQNR probe run edgeopt's own runtime on a copy of the graph whose outputs
 * are extended with the tensors of interest (saved to a temporary file and loaded back, so the
 * session sees exactly what a user's file would give it). */
#include <math.h>
#include <regex.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "edgeopt/data.h"
#include "edgeopt/quant.h"
#include "edgeopt/runtime.h"
#include "ir/passes/passes.h"
#include "onnx/save.h"
#include "quant/observer.h"
#include "quant/quant_internal.h"
#include "quant/recipe.h"
#include "quant/wclip.h"
#include "runtime/op.h"

void eo_quant_options_init(eo_quant_options *o) {
  memset(o, 0, sizeof *o);
  o->mode = EO_QUANT_INT8;
  o->method = EO_CALIB_PERCENTILE;
  o->percentile = 99.99;
  o->block_size = 32;
  o->bias_correction = 1;
}

void eo_quant_report_free(eo_quant_report *r) {
  if (!r) return;
  for (int i = 0; i < r->n_layers; i++) free(r->layers[i].name);
  free(r->layers);
  free(r->sqnr_skipped);
  free(r);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool op_in(const char *op, const char *const *list) {
  for (int i = 0; list[i]; i++)
    if (strcmp(op, list[i]) == 0) return true;
  return false;
}

/* Ops that get QDQ on their float activation inputs and output (ONNX Runtime's QDQ registry). */
static const char *const QDQ_OPS[] = {"Conv", "Gemm", "MatMul", "Add", "Mul", "Concat", "MaxPool",
                                      "AveragePool", "GlobalAveragePool", "Resize", "Sigmoid", "Relu",
                                      "Clip", "LeakyRelu", "Reshape", "Transpose", "Flatten",
                                      "Squeeze", "Unsqueeze", NULL};
/* Output shares its input's parameters (pure data movement or max). */
static const char *const SHARE_OPS[] = {"MaxPool", "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", NULL};
/* Ops whose output range the following Relu/Clip sets (one group, Q after the activation only). */
static const char *const FUSE_HEAD_OPS[] = {"Conv", "Gemm", "MatMul", "Add", NULL};
static const char *const WEIGHT_OPS[] = {"Conv", "Gemm", "MatMul", NULL};
/* FP16: ops whose float outputs follow their float inputs' type (safe to run in float16). */
static const char *const F16_OPS[] = {
    "Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Clip",
    "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "PRelu", "Abs", "Neg", "Sqrt", "Max", "Min",
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Concat", "Reshape", "Flatten",
    "Transpose", "Squeeze", "Unsqueeze", "Resize", "Upsample", "Slice", "Split", "Pad", "Gather",
    "Expand", "Tile", "BatchNormalization", "Identity", NULL};
static const char *const F16_KEEP_DEFAULT[] = {"Softmax", "LogSoftmax", "Exp", "Log", "Pow", "ReduceSum",
                                               "ReduceMean", "ReduceProd", "TopK", "NonMaxSuppression",
                                               "Range", "InstanceNormalization", NULL};

/* ---------------------------------------------------------------- graph helpers */

typedef struct qctx {
  const eo_quant_options *o;
  eo_quant_recipe *recipe;  /* --recipe (NULL when none) */
  int *tmethod;      /* observer per activation tensor from the recipe (-1: the options' method) */
  int wclip;         /* weight scales: EO_WCLIP_MINMAX (default) or EO_WCLIP_MSE (wclip.h) */
  eo_model *m;
  eo_graph g;
  regex_t *re;
  int n_re;
  int *parent;       /* union-find over tensors (shared quantization parameters) */
  bool *need;        /* activation tensor gets Q/DQ */
  float *lo, *hi;    /* observed range per tensor */
  bool *seen;
  float *scale;      /* per tensor, after grouping */
  int *zp;
  int nt0;           /* tensor count before any rewrite (the per-tensor arrays' length) */
  double **chsum;    /* bias correction: per-channel sums of Conv/Gemm inputs (NULL when unused) */
  int64_t *chcnt;    /* values summed per channel */
  char tmpdir[4096];
  bool *xskip;       /* per node of the prepared graph (nn0 of them): kept in float by the output-tail
                        rule or by a variant's node list */
  int nn0;
  const eo_quant_variant *v;  /* NULL: a plain eo_quantize */
} qctx;

static int uf_find(int *p, int x) {
  while (p[x] != x) x = p[x] = p[p[x]];
  return x;
}
static void uf_union(int *p, int a, int b) {
  a = uf_find(p, a), b = uf_find(p, b);
  if (a != b) p[b] = a;
}

static bool excluded(const qctx *q, const eo_node *n) {
  ptrdiff_t idx = n - q->g.nodes;
  if (q->xskip && idx >= 0 && idx < q->nn0 && q->xskip[idx]) return true;
  if (q->recipe) {
    int skip, obs, pc;
    eo_recipe_node(q->recipe, n->name, n->op_type, &skip, &obs, &pc);
    if (skip == 1) return true;
  }
  for (int i = 0; i < q->o->n_exclude_ops; i++)
    if (strcmp(n->op_type, q->o->exclude_ops[i]) == 0) return true;
  for (int i = 0; i < q->n_re; i++)
    if (n->name && regexec(&q->re[i], n->name, 0, NULL, 0) == 0) return true;
  return false;
}

static bool is_const(const eo_graph *g, int t) { return t >= 0 && eo_pass_is_const(g, t); }

static bool is_float_act(const eo_graph *g, int t) {
  return t >= 0 && !is_const(g, t) && g->tensors[t].dtype == EO_FLOAT;
}

/* Adds a non-constant tensor named "<base><suffix>" (made unique), with dtype and t's shape. */
static eo_status add_value(eo_graph *g, int like, const char *suffix, int dtype, int *out) {
  const char *base = g->tensors[like].name;
  size_t cap = strlen(base) + strlen(suffix) + 24;
  char *name = eo_malloc(cap);
  if (!name) return eo_error(EO_ERR_NOMEM, "out of memory");
  snprintf(name, cap, "%s%s", base, suffix);
  for (int k = 1; eo_graph_find(g, name) >= 0; k++) snprintf(name, cap, "%s%s_%d", base, suffix, k);
  eo_status st = eo_graph_add_tensor(g, name, out);
  free(name);
  if (st) return st;
  eo_tensor *t = &g->tensors[*out], *l = &g->tensors[like];
  t->dtype = dtype;
  t->rank = l->rank;
  for (int d = 0; d < l->rank && d < EO_MAX_RANK; d++) t->dims[d] = l->dims[d];
  t->producer = -1;
  return EO_OK;
}

/* Adds node op(in...) -> out with an optional integer attribute; names it "<out>_<op>". */
static eo_status add_node(eo_graph *g, const char *op, int n_in, const int *in, int out, const char *attr,
                          int64_t val) {
  char name[512];
  snprintf(name, sizeof name, "%s_%s", g->tensors[out].name, op);
  int idx;
  eo_status st = eo_graph_add_node(g, name, op, "", n_in, in, 1, &out, &idx);
  if (st) return st;
  eo_node *n = &g->nodes[idx];
  n->op = eo_op_lookup("", op);
  g->tensors[out].producer = idx;
  if (attr) {
    if (!(n->attrs = eo_calloc(1, sizeof *n->attrs)) || !(n->attrs[0].name = eo_strdup(attr))) {
      free(n->attrs);
      n->attrs = NULL;
      return eo_error(EO_ERR_NOMEM, "out of memory");
    }
    n->attrs[0].type = EO_ATTR_INT;
    n->attrs[0].i = val;
    n->n_attrs = 1;
  }
  return EO_OK;
}

static eo_status add_const(eo_graph *g, const char *base, const char *suffix, int dtype, int rank,
                           const int64_t *dims, const void *src, size_t nbytes, int *out) {
  void *d = eo_malloc(nbytes);
  if (!d) return eo_error(EO_ERR_NOMEM, "out of memory");
  if (nbytes) memcpy(d, src, nbytes);
  return eo_pass_add_const(g, base, suffix, dtype, rank, dims, d, nbytes, out);
}

/* Removes folding leftovers and folds BN so weights are final before quantization. */
static eo_status prepare_graph(qctx *q) {
  eo_status st;
  if ((st = eo_graph_clone(&q->m->graph, &q->g))) return st;
  if ((st = eo_pass_remove_identity(&q->g, NULL)) || (st = eo_pass_fold_constants(&q->g, NULL)) ||
      (st = eo_pass_fold_batchnorm(&q->g, NULL)) || (st = eo_pass_dce(&q->g, NULL)) ||
      (st = eo_graph_compact(&q->g)) || (st = eo_graph_link(&q->g)))
    return st;
  for (int i = 0; i < q->g.n_tensors; i++) {  // NaN/Inf in weights
    eo_tensor *t = &q->g.tensors[i];
    if (!t->data || t->dtype != EO_FLOAT) continue;
    const float *v = t->data;
    for (size_t k = 0; k < t->nbytes / 4; k++)
      if (!isfinite(v[k]))
        return eo_error(EO_ERR_INVALID, "%s: initializer '%s' holds %s at element %zu", q->m->path, t->name,
                        isnan(v[k]) ? "NaN" : "Inf", k);
  }
  return EO_OK;
}

/* ---------------------------------------------------------------- probes (runs of a graph copy) */

typedef struct probe {
  eo_model *m;
  eo_session *s;
  int n;
  int *out_index;  /* per requested name: session output index */
} probe;

static void probe_free(probe *p) {
  eo_session_free(p->s);
  eo_model_free(p->m);
  free(p->out_index);
  memset(p, 0, sizeof *p);
}

/* A session over g with the tensors `names` as extra outputs. */
static eo_status probe_open(qctx *q, const eo_graph *g, int n, const int *tensors, probe *p) {
  memset(p, 0, sizeof *p);
  eo_graph c;
  eo_status st = eo_graph_clone(g, &c);
  if (st) return st;
  for (int i = 0; i < n; i++) {
    if (eo_pass_is_graph_output(&c, tensors[i])) continue;
    if ((st = eo_grow((void **)&c.outputs, &c.cap_outputs, c.n_outputs + 1, sizeof(int)))) goto out;
    c.outputs[c.n_outputs++] = tensors[i];
    c.tensors[tensors[i]].flags |= EO_T_OUTPUT;
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/probe.onnx", q->tmpdir);
  if ((st = eo_model_save_graph(q->m, &c, path))) goto out;
  st = eo_model_load(path, NULL, &p->m);
  unlink(path);
  if (st) goto out;
  eo_session_options so = {0};
  so.threads = 0;
  if ((st = eo_session_create(p->m, &so, &p->s))) goto out;
  if (!(p->out_index = eo_calloc((size_t)(n ? n : 1), sizeof(int)))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  p->n = n;
  for (int i = 0; i < n; i++) {
    p->out_index[i] = -1;
    for (int k = 0; k < eo_model_num_outputs(p->m); k++)
      if (strcmp(eo_model_output(p->m, k)->name, g->tensors[tensors[i]].name) == 0) p->out_index[i] = k;
  }
out:
  eo_graph_free(&c);
  if (st) probe_free(p);
  return st;
}

static eo_status probe_run(probe *p, const eo_tensor_view *x, const char *label) {
  const eo_value_desc *in = eo_model_input(p->m, 0);
  eo_input_shape shp = {in->name, x->rank, x->dims, 0, NULL};
  eo_status st = eo_session_prepare(p->s, 1, &shp);
  if (!st) st = eo_session_set_input(p->s, in->name, x->dtype, x->rank, x->dims, x->data);
  if (!st) st = eo_session_run(p->s);
  if (st) return eo_error_wrap(st, "calibration item %s", label);
  return EO_OK;
}

/* ---------------------------------------------------------------- calibration data */

typedef struct calib_iter {
  eo_dataset *ds;
  int64_t total;
} calib_iter;

static eo_status calib_open(qctx *q, calib_iter *it) {
  memset(it, 0, sizeof *it);
  if (!q->o->calib_path) return eo_error(EO_ERR_INVALID, "static INT8 needs calibration data (calib_path)");
  if (eo_model_num_inputs(q->m) != 1)
    return eo_error(EO_ERR_UNSUPPORTED, "calibration supports models with one input; '%s' has %d", q->m->path,
                    eo_model_num_inputs(q->m));
  eo_preprocess pre;
  eo_status st = eo_preprocess_from_input(eo_model_input(q->m, 0), &pre);
  if (st) eo_preprocess_init(&pre);
  eo_dataset_options dopt = {0};
  dopt.limit = q->o->calib_limit;
  dopt.split = q->o->calib_split;
  if ((st = eo_dataset_open(q->o->calib_path, &dopt, &pre, &it->ds))) return st;
  it->total = eo_dataset_size(it->ds);
  return EO_OK;
}

/* The item's tensor for the model input (NPY items: by name when several). */
static const eo_tensor_view *item_tensor(const qctx *q, const eo_data_item *item) {
  if (item->num_tensors == 1) return &item->tensors[0];
  const char *name = eo_model_input(q->m, 0)->name;
  for (int i = 0; i < item->num_tensors; i++)
    if (item->tensors[i].name && strcmp(item->tensors[i].name, name) == 0) return &item->tensors[i];
  return NULL;
}

static eo_status check_item(const qctx *q, const eo_data_item *item, const eo_tensor_view **x) {
  *x = item_tensor(q, item);
  const eo_value_desc *in = eo_model_input(q->m, 0);
  char a[128], b[128];
  if (!*x) return eo_error(EO_ERR_INVALID, "calibration item %s has no tensor named '%s'", item->path, in->name);
  bool ok = (*x)->rank == in->rank && (*x)->dtype == in->dtype;
  for (int d = 0; ok && d < in->rank; d++) ok = in->dims[d] < 0 || in->dims[d] == (*x)->dims[d];
  if (!ok)
    return eo_error(EO_ERR_SHAPE, "calibration item %s: %s %s does not match model input '%s' %s %s", item->path,
                    eo_dtype_name((*x)->dtype), eo_shape_str((*x)->rank, (*x)->dims, a, sizeof a), in->name,
                    eo_dtype_name(in->dtype), eo_shape_str(in->rank, in->dims, b, sizeof b));
  return EO_OK;
}

/* ---------------------------------------------------------------- static INT8 */

static void merge_ranges(qctx *q);

static const char *node_label(const eo_graph *g, const eo_node *n) {
  if (n->name && n->name[0]) return n->name;
  return n->n_out > 0 && n->out[0] >= 0 ? g->tensors[n->out[0]].name : "";
}

/* The output tail (eo_quant_options.quantize_output_tail): non-weight nodes whose every consumer is
 * in the tail, or whose outputs are graph outputs only. Fixed point from the outputs backwards. */
static eo_status mark_tail(qctx *q, int *count) {
  const eo_graph *g = &q->g;
  bool *tail = eo_calloc((size_t)q->nn0 + 1, 1);  // apart from xskip: a weight op kept in float by
  if (!tail) return eo_error(EO_ERR_NOMEM, "out of memory");  // name still ends its producers' tail
  *count = 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = q->nn0 - 1; i >= 0; i--) {
      const eo_node *n = &g->nodes[i];
      if (n->dead || tail[i] || op_in(n->op_type, WEIGHT_OPS) || n->n_out < 1) continue;
      bool ok = true;
      for (int k = 0; ok && k < n->n_out; k++) {
        int t = n->out[k];
        if (t < 0) continue;
        for (int j = 0; ok && j < q->nn0; j++) {
          const eo_node *c = &g->nodes[j];
          if (c->dead || tail[j]) continue;
          for (int m = 0; m < c->n_in; m++)
            if (c->in[m] == t) ok = false;
        }
      }
      if (ok) {
        tail[i] = changed = true;
        if (!q->xskip[i] && !excluded(q, n) && op_in(n->op_type, QDQ_OPS)) (*count)++;
      }
    }
  }
  for (int i = 0; i < q->nn0; i++) q->xskip[i] |= tail[i];
  free(tail);
  return EO_OK;
}

/* Deep copy of the bias-correction channel sums (nt tensors; a tensor's array holds dims[1] sums). */
static eo_status copy_chsum(const eo_graph *g, int nt, double *const *sum, const int64_t *cnt, double ***out_sum,
                            int64_t **out_cnt) {
  double **s = eo_calloc((size_t)nt + 1, sizeof *s);
  int64_t *c = eo_calloc((size_t)nt + 1, sizeof *c);
  if (!s || !c) goto nomem;
  for (int t = 0; t < nt; t++) {
    if (!sum[t]) continue;
    size_t n = (size_t)g->tensors[t].dims[1];
    if (!(s[t] = eo_malloc(n * sizeof(double)))) goto nomem;
    memcpy(s[t], sum[t], n * sizeof(double));
    c[t] = cnt[t];
  }
  *out_sum = s, *out_cnt = c;
  return EO_OK;
nomem:
  for (int t = 0; s && t < nt; t++) free(s[t]);
  free(s);
  free(c);
  return eo_error(EO_ERR_NOMEM, "out of memory");
}

static eo_status ranges_from_cache(qctx *q, const eo_quant_cache *c, eo_quant_report *r, eo_tensor_view *first) {
  if (c->nt != q->nt0)
    return eo_error(EO_ERR_INVALID, "quantization variant: the calibration cache holds %d tensors, the model %d",
                    c->nt, q->nt0);
  for (int t = 0; t < q->nt0; t++)
    if (q->need[t] && !c->seen[t])
      return eo_error(EO_ERR_INVALID, "quantization variant: activation '%s' was not calibrated",
                      q->g.tensors[t].name);
  memcpy(q->lo, c->lo, (size_t)q->nt0 * sizeof(float));
  memcpy(q->hi, c->hi, (size_t)q->nt0 * sizeof(float));
  memcpy(q->seen, c->seen, (size_t)q->nt0);
  if (q->chsum && c->chsum) {  // bias correction with the calibration run's statistics
    double **s;
    int64_t *n;
    eo_status st = copy_chsum(&q->g, q->nt0, c->chsum, c->chcnt, &s, &n);
    if (st) return st;
    free(q->chsum);
    free(q->chcnt);
    q->chsum = s, q->chcnt = n;
  }
  merge_ranges(q);
  r->calib_items = c->calib_items;
  if (c->n_items > 0) *first = c->items[0];
  return EO_OK;
}

static bool node_quantized(const qctx *q, const eo_node *n) {
  return !n->dead && !excluded(q, n) && op_in(n->op_type, QDQ_OPS) && (n->domain == NULL || !n->domain[0]);
}

/* Which activations get Q/DQ and which share parameters. */
static void plan_activations(qctx *q) {
  eo_graph *g = &q->g;
  for (int t = 0; t < g->n_tensors; t++) q->parent[t] = t;
  for (int i = 0; i < g->n_nodes; i++) {
    eo_node *n = &g->nodes[i];
    if (!node_quantized(q, n)) continue;
    for (int k = 0; k < n->n_in; k++) {
      int t = n->in[k];
      // weights / biases of Conv, Gemm, MatMul are constants: handled separately
      if (is_float_act(g, t) && !(strcmp(n->op_type, "Resize") == 0 && k > 0)) q->need[t] = true;
    }
    for (int k = 0; k < n->n_out; k++)
      if (is_float_act(g, n->out[k])) q->need[n->out[k]] = true;
    if (op_in(n->op_type, SHARE_OPS) && is_float_act(g, n->in[0]) && n->n_out >= 1 && n->out[0] >= 0)
      uf_union(q->parent, n->in[0], n->out[0]);
    if (strcmp(n->op_type, "Concat") == 0)
      for (int k = 0; k < n->n_in; k++)
        if (is_float_act(g, n->in[k])) uf_union(q->parent, n->out[0], n->in[k]);
  }
  // Conv(+Gemm/MatMul/Add) -> Relu/Clip: one group, the head's output stays float
  for (int i = 0; i < g->n_nodes; i++) {
    eo_node *n = &g->nodes[i];
    if (!node_quantized(q, n) || !op_in(n->op_type, FUSE_HEAD_OPS) || n->n_out < 1) continue;
    int t = n->out[0];
    if (t < 0 || eo_pass_is_graph_output(g, t) || eo_pass_consumers(g, t) != 1) continue;
    const eo_node *a = &g->nodes[eo_pass_first_consumer(g, t)];
    if ((strcmp(a->op_type, "Relu") == 0 || strcmp(a->op_type, "Clip") == 0) && node_quantized(q, a))
      q->need[t] = false;
  }
  // Recipe activation.float_gemm_output: a Gemm whose output only leaves the quantized part (a
  // graph output, or read by float nodes only: the output tail) writes float, as ONNX Runtime's
  // QGemm without a y_scale (its QDQ selector accepts a Gemm group without an output Q). 8-bit
  // logits tie: on the example classifier 58 of the 88 top-1 decisions the default INT8 changed on
  // the 60k train images were exact ties of the top two quantized logits. Off by default (a
  // full-integer TFLite export needs the output quantized); --quantize-tail quantizes it anyway.
  if (!q->recipe || q->recipe->float_gemm_output != 1 || q->o->quantize_output_tail) return;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (!node_quantized(q, n) || strcmp(n->op_type, "Gemm") != 0 || n->n_out < 1 || n->out[0] < 0) continue;
    int t = n->out[0];
    bool float_only = true;
    for (int j = 0; float_only && j < g->n_nodes; j++) {
      const eo_node *c = &g->nodes[j];
      for (int k = 0; k < c->n_in; k++)
        if (c->in[k] == t && node_quantized(q, c)) float_only = false;
    }
    if (float_only) q->need[t] = false;
  }
}

static void qparams(const qctx *q, float lo, float hi, float *scale, int *zp) {
  lo = lo > 0 ? 0 : lo;
  hi = hi < 0 ? 0 : hi;
  if (q->o->act_int8) {
    float a = fmaxf(-lo, hi);
    *scale = a > 0 ? a / 127.f : 1.f;
    *zp = 0;
  } else {
    *scale = hi > lo ? (hi - lo) / 255.f : 1.f;
    float z = nearbyintf(-lo / *scale);
    *zp = z < 0 ? 0 : z > 255 ? 255 : (int)z;
  }
}

/* Recipe observers: a node's entry sets the observer of the activations it produces. */
static eo_status recipe_observers(qctx *q) {
  if (!(q->tmethod = eo_malloc((size_t)q->nt0 * sizeof(int)))) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int t = 0; t < q->nt0; t++) q->tmethod[t] = -1;
  for (int i = 0; i < q->g.n_nodes; i++) {
    const eo_node *n = &q->g.nodes[i];
    int skip, obs, pc;
    if (n->dead) continue;
    eo_recipe_node(q->recipe, n->name, n->op_type, &skip, &obs, &pc);
    for (int k = 0; obs >= 0 && k < n->n_out; k++) {
      int t = n->out[k];
      if (t < 0 || t >= q->nt0) continue;
      q->tmethod[t] = obs;
      // a Conv/Gemm/MatMul/Add fused with its Relu/Clip: the range quantized is the activation's
      if (!op_in(n->op_type, FUSE_HEAD_OPS) || eo_pass_consumers(&q->g, t) != 1) continue;
      for (int j = 0; j < q->g.n_nodes; j++) {
        const eo_node *a = &q->g.nodes[j];
        if (a->dead || a->n_in < 1 || a->in[0] != t || a->n_out < 1 || a->out[0] < 0 || a->out[0] >= q->nt0) continue;
        if (!strcmp(a->op_type, "Relu") || !strcmp(a->op_type, "Clip")) q->tmethod[a->out[0]] = obs;
      }
    }
  }
  return EO_OK;
}

/* Every float activation next to a QDQ op, whatever the exclusions and groups: what a calibration
 * run observes when its ranges are kept for variants (each variant needs a subset). */
static void observe_superset(const qctx *q, bool *obs) {
  const eo_graph *g = &q->g;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead || !op_in(n->op_type, QDQ_OPS) || (n->domain && n->domain[0])) continue;
    for (int k = 0; k < n->n_in; k++)
      if (is_float_act(g, n->in[k]) && !(strcmp(n->op_type, "Resize") == 0 && k > 0)) obs[n->in[k]] = true;
    for (int k = 0; k < n->n_out; k++)
      if (is_float_act(g, n->out[k])) obs[n->out[k]] = true;
  }
}

static eo_status cache_keep_item(eo_quant_cache *c, const eo_tensor_view *x) {
  void *buf = eo_malloc(x->nbytes ? x->nbytes : 1);
  if (!buf) return eo_error(EO_ERR_NOMEM, "out of memory");
  memcpy(buf, x->data, x->nbytes);
  c->items[c->n_items] = *x;
  c->items[c->n_items].data = buf;
  c->items[c->n_items].name = NULL;
  c->n_items++;
  return EO_OK;
}

/* Group ranges (union-find roots) and the quantization parameters of every activation that needs
 * them, from the raw per-tensor ranges in lo/hi/seen. */
static void merge_ranges(qctx *q) {
  int nt = q->nt0;
  for (int t = 0; t < nt; t++) {
    if (!q->need[t]) continue;
    int root = uf_find(q->parent, t);
    if (root == t) continue;
    if (!q->seen[root]) {
      q->lo[root] = q->lo[t], q->hi[root] = q->hi[t], q->seen[root] = true;
    } else {
      q->lo[root] = fminf(q->lo[root], q->lo[t]);
      q->hi[root] = fmaxf(q->hi[root], q->hi[t]);
    }
  }
  for (int t = 0; t < nt; t++)
    if (q->need[t]) {
      int root = uf_find(q->parent, t);
      qparams(q, q->lo[root], q->hi[root], &q->scale[t], &q->zp[t]);
    }
}

static eo_status calibrate(qctx *q, eo_quant_report *r, eo_tensor_view *first, void **first_buf) {
  eo_graph *g = &q->g;
  eo_quant_cache *cache = q->v ? q->v->cache_out : NULL;
  bool *observe = q->need;
  if (cache) {
    if (!(observe = eo_calloc((size_t)g->n_tensors, 1))) return eo_error(EO_ERR_NOMEM, "out of memory");
    memcpy(observe, q->need, (size_t)g->n_tensors);
    observe_superset(q, observe);
    cache->lo = eo_calloc((size_t)q->nt0 + 1, sizeof(float));
    cache->hi = eo_calloc((size_t)q->nt0 + 1, sizeof(float));
    cache->seen = eo_calloc((size_t)q->nt0 + 1, 1);
    cache->cap_items = q->v->keep_items > 0 ? q->v->keep_items : 0;
    cache->items = eo_calloc((size_t)cache->cap_items + 1, sizeof *cache->items);
    if (!cache->lo || !cache->hi || !cache->seen || !cache->items) {
      free(observe);
      return eo_error(EO_ERR_NOMEM, "out of memory");
    }
  }
  int n = 0, *list = eo_calloc((size_t)g->n_tensors, sizeof(int));
  eo_observer **obs = eo_calloc((size_t)g->n_tensors, sizeof *obs);
  calib_iter it = {0};
  probe p = {0};
  eo_status st = EO_OK;
  if (!list || !obs) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (int t = 0; t < g->n_tensors; t++)
    if (observe[t]) {
      list[n++] = t;
      int method = q->tmethod && q->tmethod[t] >= 0 ? q->tmethod[t] : (int)q->o->method;
      if ((st = eo_observer_create((eo_calib_method)method, q->o->percentile, &obs[t]))) goto out;
    }
  if (q->chsum)
    for (int i = 0; i < g->n_nodes; i++) {
      const eo_node *nd = &g->nodes[i];
      int x = nd->n_in > 0 ? nd->in[0] : -1;
      // every Conv/Gemm/MatMul input observed: a calibration cache serves variants quantizing other nodes
      if (nd->dead || !op_in(nd->op_type, WEIGHT_OPS) || x < 0 || !observe[x] || q->chsum[x]) continue;
      int64_t c = g->tensors[x].rank >= 2 ? g->tensors[x].dims[1] : 0;
      if (c <= 0) continue;
      if (!(q->chsum[x] = eo_calloc((size_t)c, sizeof(double)))) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
        goto out;
      }
    }
  if ((st = calib_open(q, &it))) goto out;
  if ((st = probe_open(q, g, n, list, &p))) goto out;
  double t0 = now_s();
  const eo_data_item *item;
  int64_t done = 0;
  while ((st = eo_dataset_next(it.ds, &item)) == EO_OK && item) {
    const eo_tensor_view *x;
    if ((st = check_item(q, item, &x)) || (st = probe_run(&p, x, item->path))) goto out;
    if (done == 0) {  // kept for the SQNR report
      size_t nb = x->nbytes;
      if (!(*first_buf = eo_malloc(nb))) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
        goto out;
      }
      memcpy(*first_buf, x->data, nb);
      *first = *x;
      first->data = *first_buf;
      first->name = NULL;
    }
    if (cache && cache->n_items < cache->cap_items && (st = cache_keep_item(cache, x))) goto out;
    for (int i = 0; i < n; i++) {
      eo_tensor_view v;
      if ((st = eo_session_output(p.s, p.out_index[i], &v))) goto out;
      if (v.dtype != EO_FLOAT) continue;
      int64_t cnt = eo_numel(v.rank, v.dims);
      if ((st = eo_observer_add(obs[list[i]], v.data, cnt))) {
        st = eo_error_wrap(st, "calibration item %s: activation '%s'", item->path, g->tensors[list[i]].name);
        goto out;
      }
      double *cs = q->chsum ? q->chsum[list[i]] : NULL;
      if (cs && v.rank >= 2 && v.dims[1] == g->tensors[list[i]].dims[1]) {  // NCHW / [N, K]
        int64_t c = v.dims[1], inner = cnt / (v.dims[0] * c);
        const float *d = v.data;
        for (int64_t k = 0; k < cnt; k++) cs[(k / inner) % c] += d[k];
        q->chcnt[list[i]] += cnt / c;
      }
    }
    done++;
    if (q->o->progress) q->o->progress(q->o->user, done, it.total);
  }
  if (st) goto out;
  if (done == 0) {
    st = eo_error(EO_ERR_INVALID, "calibration data '%s' holds no items", q->o->calib_path);
    goto out;
  }
  r->calib_items = (int)done;
  r->calib_seconds = now_s() - t0;
  // ranges per tensor, merged per group
  for (int i = 0; i < n; i++) {
    int t = list[i];
    bool sym = q->o->act_int8;
    if ((st = eo_observer_range(obs[t], sym, &q->lo[t], &q->hi[t]))) {
      st = eo_error_wrap(st, "activation '%s'", g->tensors[t].name);
      goto out;
    }
    q->seen[t] = true;
  }
  if (cache) {  // raw ranges, before any grouping
    cache->nt = q->nt0;
    memcpy(cache->lo, q->lo, (size_t)q->nt0 * sizeof(float));
    memcpy(cache->hi, q->hi, (size_t)q->nt0 * sizeof(float));
    memcpy(cache->seen, q->seen, (size_t)q->nt0);
    cache->calib_items = (int)done;
    if (q->chsum && (st = copy_chsum(g, q->nt0, q->chsum, q->chcnt, &cache->chsum, &cache->chcnt))) goto out;
  }
  merge_ranges(q);
out:
  if (observe != q->need) free(observe);
  probe_free(&p);
  eo_dataset_free(it.ds);
  for (int t = 0; obs && t < g->n_tensors; t++) eo_observer_free(obs[t]);
  free(obs);
  free(list);
  return st;
}

/* Inserts Q -> DQ on activation t with (scale, zp). Consumers read the DQ output; a graph output
 * keeps its name (the producer writes "<t>_prequant"). */
static eo_status insert_qdq(qctx *q, int t, int *dq_out) {
  eo_graph *g = &q->g;
  int qt = q->o->act_int8 ? EO_INT8 : EO_UINT8;
  eo_status st;
  int s_idx, z_idx, q_out, src = t, dst;
  float sc = q->scale[t];
  if ((st = add_const(g, g->tensors[t].name, "_scale", EO_FLOAT, 0, NULL, &sc, 4, &s_idx))) return st;
  if (qt == EO_INT8) {
    int8_t z = (int8_t)q->zp[t];
    st = add_const(g, g->tensors[t].name, "_zero_point", qt, 0, NULL, &z, 1, &z_idx);
  } else {
    uint8_t z = (uint8_t)q->zp[t];
    st = add_const(g, g->tensors[t].name, "_zero_point", qt, 0, NULL, &z, 1, &z_idx);
  }
  if (st) return st;
  if (eo_pass_is_graph_output(g, t) && g->tensors[t].producer >= 0) {
    if ((st = add_value(g, t, "_prequant", EO_FLOAT, &src))) return st;
    eo_node *p = &g->nodes[g->tensors[t].producer];
    for (int k = 0; k < p->n_out; k++)
      if (p->out[k] == t) p->out[k] = src;
    g->tensors[src].producer = g->tensors[t].producer;
    g->tensors[t].producer = -1;
    dst = t;
  } else {
    if ((st = add_value(g, t, "_DequantizeLinear_Output", EO_FLOAT, &dst))) return st;
    eo_pass_replace_uses(g, t, dst);
  }
  if ((st = add_value(g, t, "_QuantizeLinear_Output", qt, &q_out))) return st;
  int qin[3] = {src, s_idx, z_idx}, dqin[3] = {q_out, s_idx, z_idx};
  if ((st = add_node(g, "QuantizeLinear", 3, qin, q_out, NULL, 0))) return st;
  if ((st = add_node(g, "DequantizeLinear", 3, dqin, dst, NULL, 0))) return st;
  *dq_out = dst;
  return EO_OK;
}

/* Per-channel (axis >= 0) or per-tensor (axis < 0) symmetric int8 weights: node input slot k reads
 * DequantizeLinear(w_quantized, scale, 0). Fills *wscale (malloc'd, one per channel) for the bias. */
static eo_status quantize_weight(qctx *q, int ni, int k, int axis, float **wscale, int *nch,
                                 eo_quant_report *r) {
  eo_graph *g = &q->g;
  int w = g->nodes[ni].in[k];
  eo_tensor *wt = &g->tensors[w];
  int64_t numel = eo_numel(wt->rank, wt->dims);
  int64_t ch = axis >= 0 ? wt->dims[axis] : 1, inner = 1;
  for (int d = axis + 1; axis >= 0 && d < wt->rank; d++) inner *= wt->dims[d];
  float *sc = eo_calloc((size_t)ch, sizeof(float));
  int8_t *qv = eo_malloc((size_t)numel), *zv = eo_calloc((size_t)ch, 1);
  eo_status st = EO_OK;
  if (!sc || !qv || !zv) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  const float *x = wt->data;
  if (numel > 0) {  // each channel's values gathered (strided for a Gemm's axis 1), then its scale chosen
    int64_t outer = numel / (ch * inner);
    float *buf = eo_malloc((size_t)(numel / ch) * sizeof(float));
    if (!buf) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
    for (int64_t c = 0; c < ch; c++) {
      int64_t n = 0;
      for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) buf[n++] = x[(o * ch + c) * inner + j];
      sc[c] = eo_weight_scale(buf, n, q->wclip);
    }
    free(buf);
  } else {
    for (int64_t c = 0; c < ch; c++) sc[c] = 1.f;  // an empty weight: any valid scale
  }
  for (int64_t i = 0; i < numel; i++) {
    int64_t c = axis >= 0 ? (i / inner) % ch : 0;
    float v = nearbyintf(x[i] / sc[c]);
    qv[i] = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : v);
  }
  int qi, si, zi, dq;
  int64_t cdims[1] = {ch};
  char *base = eo_strdup(wt->name);
  int wrank = wt->rank;
  int64_t wdims[EO_MAX_RANK];
  memcpy(wdims, wt->dims, sizeof wdims);
  if (!base) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (!(st = add_const(g, base, "_quantized", EO_INT8, wrank, wdims, qv, (size_t)numel, &qi)) &&
      !(st = add_const(g, base, "_scale", EO_FLOAT, axis >= 0 ? 1 : 0, cdims, sc, (size_t)ch * 4, &si)) &&
      !(st = add_const(g, base, "_zero_point", EO_INT8, axis >= 0 ? 1 : 0, cdims, zv, (size_t)ch, &zi)) &&
      !(st = add_value(g, w, "_DequantizeLinear_Output", EO_FLOAT, &dq))) {
    int in[3] = {qi, si, zi};
    st = add_node(g, "DequantizeLinear", 3, in, dq, axis >= 0 ? "axis" : NULL, axis);
    if (!st) {
      g->nodes[ni].in[k] = dq;
      r->tensors_quantized++;
      r->params_quantized += numel;
    }
  }
  free(base);
out:
  free(qv);
  free(zv);
  if (!st) {
    *wscale = sc;
    *nch = (int)ch;
  } else {
    free(sc);
  }
  return st;
}

/* Bias correction for weight quantization (Nagel et al. 2019, "Data-free quantization", the
 * empirical E[x] form): the mean output shift of node ni caused by its quantized weights is
 * (Wq - W) E[x], with E[x] per input channel from the calibration data; borders of padded
 * convolutions are ignored. Returns a malloc'd shift per output channel, or NULL when it does not
 * apply (no statistics, Gemm with alpha/beta != 1, unusual shapes). */
static double *weight_shift(qctx *q, int ni, int w_orig, int *nout) {
  eo_graph *g = &q->g;
  const eo_node *n = &g->nodes[ni];
  int x = n->in[0];
  if (!q->chsum || x < 0 || x >= q->nt0 || !q->chsum[x] || q->chcnt[x] == 0) return NULL;
  const eo_node *dq = g->tensors[n->in[1]].producer >= 0 ? &g->nodes[g->tensors[n->in[1]].producer] : NULL;
  if (!dq || strcmp(dq->op_type, "DequantizeLinear") != 0) return NULL;
  const eo_tensor *W = &g->tensors[w_orig], *Q = &g->tensors[dq->in[0]], *S = &g->tensors[dq->in[1]];
  int64_t cin = g->tensors[x].dims[1];
  const double *cs = q->chsum[x];
  double cnt = (double)q->chcnt[x];
  bool conv = strcmp(n->op_type, "Conv") == 0, transb = eo_attr_i(n, "transB", 0) != 0;
  if (!conv && (strcmp(n->op_type, "Gemm") != 0 || eo_attr_f(n, "alpha", 1.f) != 1.f ||
                eo_attr_f(n, "beta", 1.f) != 1.f || W->rank != 2))
    return NULL;
  int64_t co = conv ? W->dims[0] : transb ? W->dims[0] : W->dims[1];
  int64_t ci_g = conv ? W->dims[1] : cin, groups = conv ? eo_attr_i(n, "group", 1) : 1;
  int64_t inner = conv ? eo_numel(W->rank - 2, W->dims + 2) : 1;
  if (groups <= 0 || ci_g * groups != cin || co % groups) return NULL;
  double *sh = eo_calloc((size_t)co, sizeof(double));
  if (!sh) return NULL;
  int64_t nsc = eo_numel(S->rank, S->dims);
  const float *wv = W->data, *sv = S->data;
  const int8_t *qv = Q->data;
  for (int64_t o = 0; o < co; o++)
    for (int64_t c = 0; c < ci_g; c++) {
      int64_t in_ch = conv ? (o / (co / groups)) * ci_g + c : c;
      double mean = cs[in_ch] / cnt, acc = 0;
      for (int64_t k = 0; k < inner; k++) {
        int64_t idx = conv ? (o * ci_g + c) * inner + k : transb ? o * ci_g + c : c * co + o;
        // the weight's scale: per output channel (axis 0 for Conv / transB Gemm, 1 otherwise) or one
        float s = nsc == 1 ? sv[0] : sv[o];
        acc += (double)qv[idx] * s - wv[idx];
      }
      sh[o] += acc * mean;
    }
  *nout = (int)co;
  return sh;
}

/* int32 bias with scale s_in * s_w[c], behind DequantizeLinear (axis 0); `shift` (may be NULL) is
 * subtracted first (bias correction). */
static eo_status quantize_bias(qctx *q, int ni, int k, float s_in, const float *ws, int nch, const double *shift,
                               eo_quant_report *r) {
  eo_graph *g = &q->g;
  int b = g->nodes[ni].in[k];
  eo_tensor *bt = &g->tensors[b];
  int64_t n = eo_numel(bt->rank, bt->dims);
  if (bt->rank != 1 || (nch != 1 && n != nch)) return EO_OK;  // unusual bias: left in float
  float *sc = eo_malloc((size_t)n * 4);
  int32_t *qv = eo_malloc((size_t)n * 4);
  eo_status st = EO_OK;
  if (!sc || !qv) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (int64_t c = 0; c < n; c++) {
    sc[c] = s_in * ws[nch == 1 ? 0 : c];
    double v = nearbyint(((double)((const float *)bt->data)[c] - (shift ? shift[c] : 0)) / sc[c]);
    qv[c] = (int32_t)(v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : v);
  }
  int qi, si, dq;
  int64_t dims[1] = {n};
  char *base = eo_strdup(bt->name);
  if (!base) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (!(st = add_const(g, base, "_quantized", EO_INT32, 1, dims, qv, (size_t)n * 4, &qi)) &&
      // per-tensor weights: one scalar scale (no axis attribute, which opsets < 13 lack)
      !(st = add_const(g, base, "_scale", EO_FLOAT, nch == 1 ? 0 : 1, dims, sc, (size_t)(nch == 1 ? 1 : n) * 4, &si)) &&
      !(st = add_value(g, b, "_DequantizeLinear_Output", EO_FLOAT, &dq))) {
    int in[2] = {qi, si};
    st = add_node(g, "DequantizeLinear", 2, in, dq, nch == 1 ? NULL : "axis", 0);
    if (!st) {
      g->nodes[ni].in[k] = dq;
      r->tensors_quantized++;
      r->params_quantized += n;
    }
  }
  free(base);
out:
  free(sc);
  free(qv);
  return st;
}

/* Weight axis for the node's weight input: Conv axis 0; Gemm 0 when transB else 1; MatMul per tensor. */
static int weight_axis(const qctx *q, const eo_node *n, const eo_tensor *w) {
  // DequantizeLinear's axis (per-channel) exists from opset 13: older models get per-tensor weights
  if (q->o->per_tensor || w->rank < 2 || q->g.opset < 13) {
    if (!q->recipe || w->rank < 2 || q->g.opset < 13) return -1;
    int skip, obs, pc;  // a recipe entry may ask for per-channel on some nodes
    eo_recipe_node(q->recipe, n->name, n->op_type, &skip, &obs, &pc);
    if (pc != 1) return -1;
  } else if (q->recipe) {
    int skip, obs, pc;
    eo_recipe_node(q->recipe, n->name, n->op_type, &skip, &obs, &pc);
    if (pc == 0) return -1;
  }
  if (strcmp(n->op_type, "Conv") == 0) return 0;
  if (strcmp(n->op_type, "Gemm") == 0 && w->rank == 2) return eo_attr_i(n, "transB", 0) ? 0 : 1;
  return -1;
}

static eo_status rewrite_weights(qctx *q, bool with_bias, eo_quant_report *r) {
  eo_graph *g = &q->g;
  int n_nodes = g->n_nodes;
  for (int i = 0; i < n_nodes; i++) {
    eo_node *n = &g->nodes[i];
    if (n->dead || excluded(q, n) || !op_in(n->op_type, WEIGHT_OPS) || n->n_in < 2) continue;
    int w = n->in[1];
    if (!is_const(g, w) || g->tensors[w].dtype != EO_FLOAT) continue;
    // a weight read by several nodes is quantized per reader (rare; keeps each node's group simple)
    int axis = weight_axis(q, n, &g->tensors[w]);
    float *ws = NULL;
    int nch = 0;
    int x = n->in[0];
    eo_status st = quantize_weight(q, i, 1, axis, &ws, &nch, r);
    if (st) return st;
    n = &g->nodes[i];
    bool has_bias = n->n_in > 2 && is_const(g, n->in[2]) && g->tensors[n->in[2]].dtype == EO_FLOAT &&
                    strcmp(n->op_type, "MatMul") != 0;
    if (with_bias && has_bias && x >= 0 && q->need[x] && q->scale[x] > 0) {
      int nsh = 0;
      double *shift = weight_shift(q, i, w, &nsh);
      if (shift && nsh != (int)eo_numel(g->tensors[n->in[2]].rank, g->tensors[n->in[2]].dims)) {
        free(shift);
        shift = NULL;
      }
      if (shift) r->bias_corrected++;
      st = quantize_bias(q, i, 2, q->scale[x], ws, nch, shift, r);
      free(shift);
    }
    free(ws);
    if (st) return st;
  }
  return EO_OK;
}

/* QDQ needs opset 10, and per-channel DequantizeLinear (axis) opset 13. A model at opset 10..12 is
 * written at opset 13 when none of its ops changed meaning in 13 (Squeeze/Unsqueeze/Split/Reduce*
 * moved attributes to inputs; Softmax family stopped flattening to 2-D); otherwise it keeps its
 * opset and gets per-tensor weights (weight_axis). Below 10 QDQ does not exist: refused. */
static eo_status maybe_opset13(qctx *q) {
  static const char *const changed[] = {"Squeeze", "Unsqueeze", "Split", "ReduceSum", "ReduceMean", "ReduceMax",
                                        "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
                                        "ReduceLogSumExp", "ReduceSumSquare", "Softmax", "LogSoftmax",
                                        "Hardmax", NULL};
  if (q->g.opset >= 13) return EO_OK;
  bool ok = true;
  for (int i = 0; ok && i < q->g.n_nodes; i++)
    ok = q->g.nodes[i].dead || !op_in(q->g.nodes[i].op_type, changed);
  if (q->g.opset < 10 && !ok)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: opset %lld has no QuantizeLinear/DequantizeLinear and the model uses "
                    "ops that changed by opset 13: convert it to opset >= 10 first", q->m->path, (long long)q->g.opset);
  if (!ok) return EO_OK;
  q->g.opset = 13;  // this call's own copy of the proto follows (IR 7 is opset 13's)
  if (!q->m->proto->has_ir_version || q->m->proto->ir_version < 7) {
    q->m->proto->has_ir_version = 1;
    q->m->proto->ir_version = 7;
  }
  return EO_OK;
}

/* ---------------------------------------------------------------- INT4 block-wise weights */

/* Ops whose meaning changed between opset 13 and 21 in ways a version bump would break. */
static eo_status check_opset21(const qctx *q) {
  static const char *const reduce[] = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                                       "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", NULL};
  if (q->g.opset < 13)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: INT4 needs opset 21; this model is opset %lld (< 13: not upgraded)",
                    q->m->path, (long long)q->g.opset);
  for (int i = 0; i < q->g.n_nodes; i++) {
    const eo_node *n = &q->g.nodes[i];
    if (n->dead) continue;
    if ((op_in(n->op_type, reduce) && eo_node_attr(n, "axes")) || strcmp(n->op_type, "Upsample") == 0)
      return eo_error(EO_ERR_UNSUPPORTED,
                      "%s: INT4 needs opset 21 and node '%s' (%s) changed meaning since opset %lld; not upgraded",
                      q->m->path, n->name, n->op_type, (long long)q->g.opset);
  }
  return EO_OK;
}

/* Weight w of node ni (input slot 1) as int4 blocks along `axis`: DequantizeLinear(w_int4, scale)
 * with axis and block_size, scale dims = w dims with dims[axis] = ceil(dims[axis] / bs). */
static eo_status quantize_weight_int4(qctx *q, int ni, int axis, eo_quant_report *r) {
  eo_graph *g = &q->g;
  int w = g->nodes[ni].in[1];
  const eo_tensor *wt = &g->tensors[w];
  int bs = q->o->block_size;
  int rank = wt->rank;
  int64_t dims[EO_MAX_RANK], sdims[EO_MAX_RANK];
  memcpy(dims, wt->dims, sizeof dims);
  memcpy(sdims, wt->dims, sizeof sdims);
  int64_t outer = 1, ch = dims[axis], inner = 1;
  for (int d = 0; d < axis; d++) outer *= dims[d];
  for (int d = axis + 1; d < rank; d++) inner *= dims[d];
  int64_t nblk = (ch + bs - 1) / bs, numel = outer * ch * inner, ns = outer * nblk * inner;
  sdims[axis] = nblk;
  float *sc = eo_calloc((size_t)ns, sizeof(float));
  uint8_t *qv = eo_calloc((size_t)(numel + 1) / 2, 1);
  const float *x = wt->data;
  eo_status st = EO_OK;
  if (!sc || !qv) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < ch; k++)
      for (int64_t j = 0; j < inner; j++) {
        float *s = &sc[(o * nblk + k / bs) * inner + j];
        *s = fmaxf(*s, fabsf(x[(o * ch + k) * inner + j]));
      }
  for (int64_t i = 0; i < ns; i++) sc[i] = sc[i] > 0 ? sc[i] / 7.f : 1.f;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < ch; k++)
      for (int64_t j = 0; j < inner; j++) {
        int64_t i = (o * ch + k) * inner + j;
        float v = nearbyintf(x[i] / sc[(o * nblk + k / bs) * inner + j]);
        int qi = v < -7 ? -7 : v > 7 ? 7 : (int)v;
        qv[i >> 1] |= (uint8_t)((qi & 15) << ((i & 1) * 4));
      }
  int qidx, sidx, dq;
  char *base = eo_strdup(wt->name);
  if (!base) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  if (!(st = add_const(g, base, "_int4", EO_INT4, rank, dims, qv, (size_t)(numel + 1) / 2, &qidx)) &&
      !(st = add_const(g, base, "_scale", EO_FLOAT, rank, sdims, sc, (size_t)ns * 4, &sidx)) &&
      !(st = add_value(g, w, "_DequantizeLinear_Output", EO_FLOAT, &dq))) {
    int in[2] = {qidx, sidx};
    if (!(st = add_node(g, "DequantizeLinear", 2, in, dq, "axis", axis))) {
      eo_node *dn = &g->nodes[g->tensors[dq].producer];
      eo_attr *a = eo_realloc(dn->attrs, 2 * sizeof *a);
      if (!a) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
      } else {
        dn->attrs = a;
        memset(&a[1], 0, sizeof a[1]);
        if (!(a[1].name = eo_strdup("block_size"))) {
          st = eo_error(EO_ERR_NOMEM, "out of memory");
        } else {
          a[1].type = EO_ATTR_INT;
          a[1].i = bs;
          dn->n_attrs = 2;
          g->nodes[ni].in[1] = dq;
          r->tensors_quantized++;
          r->params_quantized += numel;
        }
      }
    }
  }
  free(base);
out:
  free(sc);
  free(qv);
  return st;
}

/* The input-channel axis of node n's int4 weight, or -1 when the node's weight is not quantized. */
static int int4_axis(const qctx *q, const eo_node *n) {
  if (n->dead || excluded(q, n) || !op_in(n->op_type, WEIGHT_OPS) || n->n_in < 2) return -1;
  int w = n->in[1];
  if (!is_const(&q->g, w) || q->g.tensors[w].dtype != EO_FLOAT || q->g.tensors[w].rank < 2) return -1;
  if (strcmp(n->op_type, "Conv") == 0) return 1;
  if (strcmp(n->op_type, "Gemm") == 0) return eo_attr_i(n, "transB", 0) ? 1 : 0;
  return q->g.tensors[w].rank == 2 ? 0 : -1;  // MatMul [K, N]
}

/* MatMulNBits applies: a MatMul with a 2-D B, or a Gemm whose result is A B' (+ C) exactly. */
static bool nbits_ok(const qctx *q, const eo_node *n) {
  if (q->o->int4_format != EO_INT4_MATMULNBITS || n->n_out < 1 || n->out[0] < 0 || n->in[0] < 0) return false;
  if (strcmp(n->op_type, "MatMul") == 0) return q->g.tensors[n->in[1]].rank == 2;
  return strcmp(n->op_type, "Gemm") == 0 && q->g.tensors[n->in[1]].rank == 2 && eo_attr_i(n, "transA", 0) == 0 &&
         eo_attr_f(n, "alpha", 1.0f) == 1.0f && (n->n_in < 3 || n->in[2] < 0 || eo_attr_f(n, "beta", 1.0f) == 1.0f);
}

/* Node ni (MatMul, or Gemm per nbits_ok) as com.microsoft MatMulNBits(A, B4, scales) [-> Add(C)]
 * writing the node's output. B4 [N, blocks, block_size / 2]: weight (k, n) quantized exactly as
 * quantize_weight_int4 does (scale = max|w| / 7 over the block, q = round(w / scale) in -7..7),
 * stored as q + 8 (the op's default zero point is 8), low nibble first; padding past K holds 8 (0). */
static eo_status rewrite_nbits(qctx *q, int ni, eo_quant_report *r) {
  eo_graph *g = &q->g;
  const eo_node *n = &g->nodes[ni];
  bool trans = strcmp(n->op_type, "Gemm") == 0 && eo_attr_i(n, "transB", 0);
  int a = n->in[0], w = n->in[1], y = n->out[0];
  int c_in = strcmp(n->op_type, "Gemm") == 0 && n->n_in > 2 ? n->in[2] : -1;
  const eo_tensor *wt = &g->tensors[w];
  int64_t K = trans ? wt->dims[1] : wt->dims[0], N = trans ? wt->dims[0] : wt->dims[1];
  int64_t bs = q->o->block_size, nblk = (K + bs - 1) / bs, blob = bs / 2;
  const float *x = wt->data;
  uint8_t *qb = eo_malloc((size_t)(N * nblk * blob));
  float *sc = eo_malloc((size_t)(N * nblk) * sizeof(float));
  char *name = eo_strdup(node_label(g, n)), *base = eo_strdup(wt->name);
  eo_status st = EO_OK;
  if (!qb || !sc || !name || !base) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  memset(qb, 0x88, (size_t)(N * nblk * blob));
  for (int64_t j = 0; j < N; j++)
    for (int64_t b = 0; b < nblk; b++) {
      int64_t k0 = b * bs, k1 = k0 + bs < K ? k0 + bs : K;
      float s = 0;
      for (int64_t k = k0; k < k1; k++) s = fmaxf(s, fabsf(trans ? x[j * K + k] : x[k * N + j]));
      s = s > 0 ? s / 7.f : 1.f;
      sc[j * nblk + b] = s;
      uint8_t *blk = qb + (j * nblk + b) * blob;
      for (int64_t k = k0; k < k1; k++) {
        float v = nearbyintf((trans ? x[j * K + k] : x[k * N + j]) / s);
        int qi = v < -7 ? -7 : v > 7 ? 7 : (int)v;
        int64_t e = k - k0;
        blk[e / 2] = (uint8_t)((blk[e / 2] & (e & 1 ? 0x0f : 0xf0)) | (uint8_t)(qi + 8) << ((e & 1) * 4));
      }
    }
  int bidx, sidx, mm_out = y, idx;
  int64_t bdims[3] = {N, nblk, blob}, sdims[1] = {N * nblk};
  if ((st = add_const(g, base, "_MatMulNBits_B", EO_UINT8, 3, bdims, qb, (size_t)(N * nblk * blob), &bidx)) ||
      (st = add_const(g, base, "_MatMulNBits_scales", EO_FLOAT, 1, sdims, sc, (size_t)(N * nblk) * sizeof(float), &sidx)))
    goto out;
  if (c_in >= 0 && (st = add_value(g, y, "_MatMulNBits_Output", EO_FLOAT, &mm_out))) goto out;
  g->nodes[ni].dead = true;
  int in[3] = {a, bidx, sidx};
  if ((st = eo_graph_add_node(g, name, "MatMulNBits", "com.microsoft", 3, in, 1, &mm_out, &idx))) goto out;
  eo_node *mn = &g->nodes[idx];
  mn->op = eo_op_lookup("com.microsoft", "MatMulNBits");
  g->tensors[mm_out].producer = idx;
  static const char *const attr_names[4] = {"K", "N", "bits", "block_size"};
  const int64_t attr_vals[4] = {K, N, 4, bs};
  if (!(mn->attrs = eo_calloc(4, sizeof *mn->attrs))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (int i = 0; i < 4; i++) {
    if (!(mn->attrs[i].name = eo_strdup(attr_names[i]))) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
    mn->attrs[i].type = EO_ATTR_INT;
    mn->attrs[i].i = attr_vals[i];
    mn->n_attrs = i + 1;
  }
  if (c_in >= 0) {
    int ain[2] = {mm_out, c_in};
    if ((st = add_node(g, "Add", 2, ain, y, NULL, 0))) goto out;
  }
  r->tensors_quantized++;
  r->params_quantized += K * N;
out:
  free(qb);
  free(sc);
  free(name);
  free(base);
  return st;
}

static eo_status rewrite_int4(qctx *q, eo_quant_report *r) {
  eo_status st;
  int n_nodes = q->g.n_nodes;
  // DequantizeLinear with block_size needs opset 21; MatMulNBits files keep the model's opset
  bool need21 = q->o->int4_format != EO_INT4_MATMULNBITS;
  for (int i = 0; i < n_nodes && !need21; i++)
    need21 = int4_axis(q, &q->g.nodes[i]) >= 0 && !nbits_ok(q, &q->g.nodes[i]);
  if (need21 && (st = check_opset21(q))) return st;
  for (int i = 0; i < n_nodes; i++) {
    int axis = int4_axis(q, &q->g.nodes[i]);
    if (axis < 0) continue;
    if (nbits_ok(q, &q->g.nodes[i])) st = rewrite_nbits(q, i, r);
    else st = quantize_weight_int4(q, i, axis, r);
    if (st) return st;
  }
  if (!need21) return EO_OK;
  // the file becomes opset 21 / IR 10 (int4 and block_size); q->m is this call's own copy
  q->g.opset = 21;
  if (!q->m->proto->has_ir_version || q->m->proto->ir_version < 10) {
    q->m->proto->has_ir_version = 1;
    q->m->proto->ir_version = 10;
  }
  return EO_OK;
}

static eo_status rewrite_activations(qctx *q, eo_quant_report *r, int *cmp) {
  int nt = q->nt0;  // tensors added by the weight rewrite need nothing
  for (int t = 0; t < nt; t++) {
    cmp[t] = t;
    if (!q->need[t]) continue;
    int dq;
    eo_status st = insert_qdq(q, t, &dq);
    if (st) return st;
    cmp[t] = dq;
    r->activations_quantized++;
  }
  return EO_OK;
}

/* ---------------------------------------------------------------- FP16 */

static bool f16_data_slot(const eo_node *n, int k) {
  if (strcmp(n->op_type, "Resize") == 0) return k == 0;
  if (strcmp(n->op_type, "Upsample") == 0) return k == 0;
  return true;
}

static eo_status rewrite_fp16(qctx *q, eo_quant_report *r) {
  eo_graph *g = &q->g;
  const char *const *keep = q->o->keep_fp32_ops ? q->o->keep_fp32_ops : F16_KEEP_DEFAULT;
  int nkeep = q->o->keep_fp32_ops ? q->o->n_keep_fp32_ops : -1;
  int n_nodes = g->n_nodes, nt0 = g->n_tensors;
  eo_status st = EO_OK;
  bool *h = eo_calloc((size_t)n_nodes + 1, 1);
  int *cast16 = eo_malloc(((size_t)nt0 + 1) * sizeof(int)), *cast32 = eo_malloc(((size_t)nt0 + 1) * sizeof(int));
  if (!h || !cast16 || !cast32) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (int t = 0; t < nt0; t++) cast16[t] = cast32[t] = -1;
  for (int i = 0; i < n_nodes; i++) {
    eo_node *n = &g->nodes[i];
    bool kept = false;
    if (nkeep < 0) kept = op_in(n->op_type, keep);
    else
      for (int k = 0; k < nkeep; k++) kept |= strcmp(n->op_type, keep[k]) == 0;
    h[i] = !n->dead && !kept && !excluded(q, n) && op_in(n->op_type, F16_OPS) && (!n->domain || !n->domain[0]);
  }
  // constants read only at float16 data slots become float16 in place; others get a float16 copy
  for (int t = 0; t < nt0; t++) {
    eo_tensor *x = &g->tensors[t];
    if (!is_const(g, t) || x->dtype != EO_FLOAT) continue;
    bool any16 = false, any32 = false;
    for (int i = 0; i < n_nodes; i++)
      for (int k = 0; k < g->nodes[i].n_in; k++)
        if (!g->nodes[i].dead && g->nodes[i].in[k] == t) {
          if (h[i] && f16_data_slot(&g->nodes[i], k)) any16 = true;
          else any32 = true;
        }
    if (!any16) continue;
    int64_t n = (int64_t)(x->nbytes / 4);
    uint16_t *d = eo_malloc((size_t)n * 2 + 1);
    if (!d) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
    for (int64_t i = 0; i < n; i++) d[i] = eo_f32_to_f16(((const float *)x->data)[i]);
    if (n > 1) {  // counted like tensors_total: scalars are not parameters
      r->tensors_quantized++;
      r->params_quantized += n;
    }
    if (!any32) {
      free(x->data);
      x->data = d;
      x->nbytes = (size_t)n * 2;
      x->dtype = EO_FLOAT16;
      x->src = NULL;
      continue;
    }
    int c;
    int64_t dims[EO_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    char *base = eo_strdup(x->name);
    if (!base) {
      free(d);
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
    st = eo_pass_add_const(g, base, "_fp16", EO_FLOAT16, g->tensors[t].rank, dims, d, (size_t)n * 2, &c);
    free(base);
    if (st) goto out;
    cast16[t] = c;
  }
  // activations produced by float16 nodes become float16
  for (int i = 0; i < n_nodes; i++) {
    if (!h[i]) continue;
    eo_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_out; k++)
      if (n->out[k] >= 0 && g->tensors[n->out[k]].dtype == EO_FLOAT) g->tensors[n->out[k]].dtype = EO_FLOAT16;
  }
  // graph outputs stay float32: the producer writes "<t>_fp16", a Cast writes t
  for (int o = 0; o < g->n_outputs; o++) {
    int t = g->outputs[o];
    if (g->tensors[t].dtype != EO_FLOAT16 || g->tensors[t].producer < 0) continue;
    int t16;
    if ((st = add_value(g, t, "_fp16", EO_FLOAT16, &t16))) goto out;
    eo_pass_replace_uses(g, t, t16);
    eo_node *p = &g->nodes[g->tensors[t].producer];
    for (int k = 0; k < p->n_out; k++)
      if (p->out[k] == t) p->out[k] = t16;
    g->tensors[t16].producer = g->tensors[t].producer;
    g->tensors[t].dtype = EO_FLOAT;
    int in[1] = {t16};
    if ((st = add_node(g, "Cast", 1, in, t, "to", EO_FLOAT))) goto out;
  }
  // every float input slot whose type differs from what the node runs in gets a Cast
  for (int i = 0; i < n_nodes; i++) {
    if (g->nodes[i].dead) continue;
    for (int k = 0; k < g->nodes[i].n_in; k++) {
      int t = g->nodes[i].in[k];
      if (t < 0 || t >= nt0) continue;
      int dt = g->tensors[t].dtype;
      if (dt != EO_FLOAT && dt != EO_FLOAT16) continue;
      int want = h[i] && f16_data_slot(&g->nodes[i], k) ? EO_FLOAT16 : EO_FLOAT;
      if (dt == want) continue;
      int *cache = want == EO_FLOAT16 ? cast16 : cast32;
      if (cache[t] < 0) {
        int c;
        if ((st = add_value(g, t, want == EO_FLOAT16 ? "_to_fp16" : "_to_fp32", want, &c))) goto out;
        int in[1] = {t};
        if ((st = add_node(g, "Cast", 1, in, c, "to", want))) goto out;
        cache[t] = c;
      }
      g->nodes[i].in[k] = cache[t];
    }
  }
out:
  free(h);
  free(cast16);
  free(cast32);
  return st;
}

/* ---------------------------------------------------------------- dynamic INT8 */

/* Adds op(in...) -> a new tensor like `like` with dtype; attributes copied from `from` (may be -1). */
static eo_status dyn_node(eo_graph *g, const char *op, int n_in, const int *in, int like, const char *suffix,
                          int dtype, int from, int *out) {
  eo_status st;
  if (*out < 0 && (st = add_value(g, like, suffix, dtype, out))) return st;
  if ((st = add_node(g, op, n_in, in, *out, NULL, 0))) return st;
  if (from < 0 || g->nodes[from].n_attrs == 0) return EO_OK;
  eo_node *n = &g->nodes[g->tensors[*out].producer];
  const eo_node *f = &g->nodes[from];
  if (!(n->attrs = eo_calloc((size_t)f->n_attrs, sizeof *n->attrs))) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (; n->n_attrs < f->n_attrs; n->n_attrs++)
    if ((st = eo_attr_copy(&f->attrs[n->n_attrs], &n->attrs[n->n_attrs]))) return st;
  return EO_OK;
}

/* One Conv / MatMul / Gemm in ONNX Runtime's quantize_dynamic form:
 *   DynamicQuantizeLinear(x) -> xq (uint8), xs, xz
 *   ConvInteger(xq, Wq uint8, xz, 128) | MatMulInteger(xq, Wq int8, xz, 0) -> int32
 *   Cast(float) * (xs * ws) [+ bias] -> the node's output
 * Weights are symmetric per output channel; ConvInteger weights are uint8 with zero point 128 (ORT's
 * CPU ConvInteger has no int8-weight kernel), so one scalar zero point serves every channel and the
 * per-channel scale goes into the float Mul. Returns EO_OK without change for shapes it does not
 * handle (the node stays float). */
static eo_status dynamic_node(qctx *q, int ni, int *xcache, eo_quant_report *r) {
  eo_graph *g = &q->g;
  eo_node *n = &g->nodes[ni];
  bool conv = strcmp(n->op_type, "Conv") == 0, gemm = strcmp(n->op_type, "Gemm") == 0;
  int x = n->in[0], w = n->in[1], b = n->n_in > 2 ? n->in[2] : -1, y = n->out[0];
  if (!is_float_act(g, x) || !is_const(g, w) || g->tensors[w].dtype != EO_FLOAT) return EO_OK;
  if (b >= 0 && (!is_const(g, b) || g->tensors[b].dtype != EO_FLOAT)) return EO_OK;
  const eo_tensor *W = &g->tensors[w];
  bool transb = false;
  if (conv) {
    if (W->rank < 3) return EO_OK;
  } else if (gemm) {
    if (eo_attr_f(n, "alpha", 1.f) != 1.f || eo_attr_f(n, "beta", 1.f) != 1.f || eo_attr_i(n, "transA", 0) ||
        W->rank != 2)
      return EO_OK;
    transb = eo_attr_i(n, "transB", 0) != 0;
  } else if (W->rank != 2) {
    return EO_OK;
  }
  // channels: Conv's output channels (axis 0); MatMul/Gemm the N columns of the [K, N] weight
  int64_t nch = conv ? W->dims[0] : transb ? W->dims[0] : W->dims[1];
  int64_t numel = eo_numel(W->rank, W->dims), per = numel / nch;
  if (b >= 0 && eo_numel(g->tensors[b].rank, g->tensors[b].dims) != nch) return EO_OK;
  float *sc = eo_calloc((size_t)nch, sizeof(float));
  uint8_t *qv = eo_malloc((size_t)numel);
  eo_status st = EO_OK;
  if (!sc || !qv) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  const float *wv = W->data;
  int64_t K = conv ? per : nch ? numel / nch : 0;
  // element (channel c, position k) of the weight, and where it goes in the stored layout
  // (Conv: as is; MatMul/Gemm: [K, N], a transB weight transposed)
#define WIDX(c, k) (conv ? (c) * per + (k) : transb ? (c) * K + (k) : (k) * nch + (c))
#define QIDX(c, k) (conv ? (c) * per + (k) : (k) * nch + (c))
  for (int64_t c = 0; c < nch; c++) {
    float m = 0;
    for (int64_t k = 0; k < K; k++) m = fmaxf(m, fabsf(wv[WIDX(c, k)]));
    sc[c] = m > 0 ? m / 127.f : 1.f;
    for (int64_t k = 0; k < K; k++) {
      float v = nearbyintf(wv[WIDX(c, k)] / sc[c]);
      v = v < -127 ? -127 : v > 127 ? 127 : v;
      qv[QIDX(c, k)] = conv ? (uint8_t)(v + 128) : (uint8_t)(int8_t)v;
    }
  }
#undef WIDX
#undef QIDX
  char *base = eo_strdup(W->name);
  if (!base) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  int wrank = conv ? W->rank : 2, yrank = conv ? W->rank : g->tensors[y].rank;
  int64_t wdims[EO_MAX_RANK], sdims[EO_MAX_RANK];
  if (conv) memcpy(wdims, W->dims, sizeof wdims);
  else wdims[0] = K, wdims[1] = nch;
  // scale and bias broadcast over the output: [1, M, 1, ...] for Conv, [N] for MatMul/Gemm
  int srank = conv ? yrank : 1;
  for (int d = 0; d < srank; d++) sdims[d] = conv ? (d == 1 ? nch : 1) : nch;
  int wq, ws, wz, xq = -1, xs = -1, xz = -1, yi = -1, yf = -1, s = -1, ym = -1, bi = -1;
  uint8_t z8 = conv ? 128 : 0;
  if ((st = add_const(g, base, "_quantized", conv ? EO_UINT8 : EO_INT8, wrank, wdims, qv, (size_t)numel, &wq)) ||
      (st = add_const(g, base, "_scale", EO_FLOAT, srank, sdims, sc, (size_t)nch * 4, &ws)) ||
      (st = add_const(g, base, "_zero_point", conv ? EO_UINT8 : EO_INT8, 0, NULL, &z8, 1, &wz)))
    goto free_base;
  if (b >= 0 && (st = add_const(g, g->tensors[b].name, "_reshaped", EO_FLOAT, srank, sdims, g->tensors[b].data,
                                (size_t)nch * 4, &bi)))
    goto free_base;
  // one DynamicQuantizeLinear per activation, shared by its readers
  if (xcache[x] >= 0) {
    xq = xcache[x];
    const eo_node *d = &g->nodes[g->tensors[xq].producer];
    xs = d->out[1], xz = d->out[2];
  } else {
    if ((st = add_value(g, x, "_quantized", EO_UINT8, &xq)) || (st = add_value(g, x, "_scale", EO_FLOAT, &xs)) ||
        (st = add_value(g, x, "_zero_point", EO_UINT8, &xz)))
      goto free_base;
    g->tensors[xs].rank = g->tensors[xz].rank = 0;
    int outs[3] = {xq, xs, xz}, idx;
    char name[512];
    snprintf(name, sizeof name, "%s_DynamicQuantizeLinear", g->tensors[x].name);
    if ((st = eo_graph_add_node(g, name, "DynamicQuantizeLinear", "", 1, &x, 3, outs, &idx))) goto free_base;
    g->nodes[idx].op = eo_op_lookup("", "DynamicQuantizeLinear");
    for (int k = 0; k < 3; k++) g->tensors[outs[k]].producer = idx;
    xcache[x] = xq;
  }
  int iin[4] = {xq, wq, xz, wz};
  if ((st = dyn_node(g, conv ? "ConvInteger" : "MatMulInteger", 4, iin, y, "_int32", EO_INT32, conv ? ni : -1, &yi)))
    goto free_base;
  if ((st = add_value(g, y, "_float", EO_FLOAT, &yf)) || (st = add_node(g, "Cast", 1, &yi, yf, "to", EO_FLOAT)))
    goto free_base;
  int sin[2] = {xs, ws};
  if ((st = add_value(g, ws, "_times_x_scale", EO_FLOAT, &s)) || (st = add_node(g, "Mul", 2, sin, s, NULL, 0)))
    goto free_base;
  // the original output tensor keeps its name: it is what the last node writes
  g->nodes[ni].dead = true;
  g->tensors[y].producer = -1;
  int min[2] = {yf, s};
  if (bi >= 0) {
    if ((st = add_value(g, y, "_scaled", EO_FLOAT, &ym)) || (st = add_node(g, "Mul", 2, min, ym, NULL, 0))) goto free_base;
    int ain[2] = {ym, bi};
    st = add_node(g, "Add", 2, ain, y, NULL, 0);
  } else {
    st = add_node(g, "Mul", 2, min, y, NULL, 0);
  }
  if (!st) {
    r->tensors_quantized++;
    r->params_quantized += numel;
  }
free_base:
  free(base);
out:
  free(sc);
  free(qv);
  return st;
}

static eo_status rewrite_dynamic(qctx *q, eo_quant_report *r) {
  eo_graph *g = &q->g;
  if (g->opset < 11)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: dynamic INT8 needs opset 11 (DynamicQuantizeLinear), the model has %lld",
                    q->m->path, (long long)g->opset);
  int *xcache = eo_malloc((size_t)g->n_tensors * sizeof(int));
  if (!xcache) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int t = 0; t < g->n_tensors; t++) xcache[t] = -1;
  int n_nodes = g->n_nodes, nt = g->n_tensors;
  eo_status st = EO_OK;
  for (int i = 0; i < n_nodes && !st; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead || excluded(q, n) || !op_in(n->op_type, WEIGHT_OPS) || n->n_in < 2 || n->in[0] >= nt) continue;
    st = dynamic_node(q, i, xcache, r);
  }
  free(xcache);
  return st;
}

/* ---------------------------------------------------------------- report */

static int64_t file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

static int cmp_layer(const void *a, const void *b) {
  double x = ((const eo_quant_layer *)a)->sqnr_db, y = ((const eo_quant_layer *)b)->sqnr_db;
  return x < y ? -1 : x > y ? 1 : 0;
}

static double sqnr(const float *ref, const float *x, int64_t n) {
  double s = 0, e = 0;
  for (int64_t i = 0; i < n; i++) {
    s += (double)ref[i] * ref[i];
    e += ((double)ref[i] - x[i]) * ((double)ref[i] - x[i]);
  }
  return e == 0 ? INFINITY : 10.0 * log10(s / e);
}

/* Per-layer SQNR on one item: FP32 graph (fp) vs the rewritten graph; cmp maps an FP32 tensor to
 * the tensor of the quantized graph that carries it (the DQ output when quantized). */
static eo_status layer_sqnr(qctx *q, const eo_graph *fp, const int *cmp, const eo_tensor_view *x,
                            eo_quant_report *r) {
  int n = 0;
  int *ft = eo_calloc((size_t)fp->n_nodes + 1, sizeof(int)), *qt = eo_calloc((size_t)fp->n_nodes + 1, sizeof(int));
  int *nodes = eo_calloc((size_t)fp->n_nodes + 1, sizeof(int));
  probe pf = {0}, pq = {0};
  eo_status st = EO_OK;
  if (!ft || !qt || !nodes) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (int i = 0; i < fp->n_nodes; i++) {
    const eo_node *nd = &fp->nodes[i];
    if (nd->dead || nd->n_out < 1 || nd->out[0] < 0 || fp->tensors[nd->out[0]].dtype != EO_FLOAT) continue;
    if (!op_in(nd->op_type, QDQ_OPS) && !op_in(nd->op_type, F16_OPS)) continue;
    int t = nd->out[0];
    int c = cmp ? cmp[t] : eo_graph_find(&q->g, fp->tensors[t].name);
    if (c < 0) continue;
    ft[n] = t, qt[n] = c, nodes[n] = i, n++;
  }
  if ((st = probe_open(q, fp, n, ft, &pf)) || (st = probe_open(q, &q->g, n, qt, &pq))) goto out;
  if ((st = probe_run(&pf, x, "0")) || (st = probe_run(&pq, x, "0"))) goto out;
  if (!(r->layers = eo_calloc((size_t)n + 1, sizeof *r->layers))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (int i = 0; i < n; i++) {
    eo_tensor_view a, b;
    if (pf.out_index[i] < 0 || pq.out_index[i] < 0) continue;
    if ((st = eo_session_output(pf.s, pf.out_index[i], &a)) || (st = eo_session_output(pq.s, pq.out_index[i], &b)))
      goto out;
    int64_t na = eo_numel(a.rank, a.dims);
    if (na != eo_numel(b.rank, b.dims) || a.dtype != EO_FLOAT) continue;
    float *bv = (float *)b.data, *tmp = NULL;
    if (b.dtype == EO_FLOAT16) {
      if (!(tmp = eo_malloc((size_t)na * 4 + 4))) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
        goto out;
      }
      for (int64_t k = 0; k < na; k++) tmp[k] = eo_f16_to_f32(((const uint16_t *)b.data)[k]);
      bv = tmp;
    } else if (b.dtype != EO_FLOAT) {
      continue;
    }
    const eo_node *nd = &fp->nodes[nodes[i]];
    eo_quant_layer *L = &r->layers[r->n_layers++];
    L->name = eo_strdup(nd->name && nd->name[0] ? nd->name : fp->tensors[nd->out[0]].name);
    L->op_type = nd->op >= 0 ? eo_op_name(nd->op) : "?";
    L->sqnr_db = sqnr(a.data, bv, na);
    free(tmp);
    if (!L->name) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
  }
  qsort(r->layers, (size_t)r->n_layers, sizeof *r->layers, cmp_layer);
  {  // graph output 0
    eo_tensor_view a, b;
    if (!(st = eo_session_output(pf.s, 0, &a)) && !(st = eo_session_output(pq.s, 0, &b)) && a.dtype == EO_FLOAT &&
        b.dtype == EO_FLOAT && eo_numel(a.rank, a.dims) == eo_numel(b.rank, b.dims))
      r->output_sqnr_db = sqnr(a.data, b.data, eo_numel(a.rank, a.dims));
  }
out:
  probe_free(&pf);
  probe_free(&pq);
  free(ft);
  free(qt);
  free(nodes);
  return st;
}

/* First item of the calibration data, for modes without calibration (SQNR report only). */
static eo_status first_item(qctx *q, eo_tensor_view *x, void **buf) {
  calib_iter it;
  eo_status st = calib_open(q, &it);
  if (st) return st;
  const eo_data_item *item;
  const eo_tensor_view *v;
  if (!(st = eo_dataset_next(it.ds, &item)) && !item) st = eo_error(EO_ERR_INVALID, "calibration data holds no items");
  if (!st) st = check_item(q, item, &v);
  if (!st) {
    if (!(*buf = eo_malloc(v->nbytes))) st = eo_error(EO_ERR_NOMEM, "out of memory");
    else {
      memcpy(*buf, v->data, v->nbytes);
      *x = *v;
      x->data = *buf;
      x->name = NULL;
    }
  }
  eo_dataset_free(it.ds);
  return st;
}

/* ---------------------------------------------------------------- entry point */

static bool same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (strcmp(a, b) == 0) return true;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void eo_quant_cache_free(eo_quant_cache *c) {
  if (!c) return;
  free(c->lo);
  free(c->hi);
  free(c->seen);
  for (int t = 0; c->chsum && t < c->nt; t++) free(c->chsum[t]);
  free(c->chsum);
  free(c->chcnt);
  for (int i = 0; i < c->n_items; i++) free((void *)c->items[i].data);
  free(c->items);
  memset(c, 0, sizeof *c);
}

static eo_status list_candidates(qctx *q, const eo_quant_variant *v) {
  int n = 0;
  char **names = eo_calloc((size_t)q->g.n_nodes + 1, sizeof *names);
  const char **ops = eo_calloc((size_t)q->g.n_nodes + 1, sizeof *ops);
  if (!names || !ops) goto nomem;
  for (int i = 0; i < q->g.n_nodes; i++) {
    const eo_node *nd = &q->g.nodes[i];
    if (!node_quantized(q, nd)) continue;
    if (!(names[n] = eo_strdup(node_label(&q->g, nd)))) goto nomem;
    ops[n++] = nd->op >= 0 ? eo_op_name(nd->op) : "?";
  }
  *v->cand_names = names;
  *v->cand_ops = ops;
  *v->n_cand = n;
  return EO_OK;
nomem:
  for (int i = 0; names && i < n; i++) free(names[i]);
  free(names);
  free((void *)ops);
  return eo_error(EO_ERR_NOMEM, "out of memory");
}

eo_status eo_quant_candidates(const char *in_path, const eo_quant_options *opts, char ***names,
                              const char ***ops, int *n) {
  *names = NULL, *ops = NULL, *n = 0;
  eo_quant_variant v = {0};
  v.cand_names = names, v.cand_ops = ops, v.n_cand = n;
  return eo_quantize_variant(in_path, NULL, opts, &v, NULL);
}

eo_status eo_quantize(const char *in_path, const char *out_path, const eo_quant_options *opts,
                      eo_quant_report **report) {
  return eo_quantize_variant(in_path, out_path, opts, NULL, report);
}

eo_status eo_quantize_variant(const char *in_path, const char *out_path, const eo_quant_options *opts,
                              const eo_quant_variant *v, eo_quant_report **report) {
  if (report) *report = NULL;
  bool list_only = v && v->cand_names;
  eo_quant_options defaults;
  if (!opts) {
    eo_quant_options_init(&defaults);
    opts = &defaults;
  }
  if (!in_path || (!out_path && !list_only))
    return eo_error(EO_ERR_INVALID, "eo_quantize: input and output paths are required");
  if ((v && (v->cache_in || v->cache_out || list_only)) && opts->mode != EO_QUANT_INT8)
    return eo_error(EO_ERR_INVALID, "sensitivity / mixed precision need the static INT8 mode");
  if (out_path && same_file(in_path, out_path))
    return eo_error(EO_ERR_INVALID, "output path '%s' is the input model: refusing to overwrite the original",
                    out_path);
  if (opts->mode < EO_QUANT_INT8 || opts->mode > EO_QUANT_DYNAMIC)
    return eo_error(EO_ERR_INVALID, "unknown quantization mode %d", (int)opts->mode);
  if (opts->mode == EO_QUANT_INT4 &&
      (opts->block_size < 16 || opts->block_size > 1024 || (opts->block_size & (opts->block_size - 1))))
    return eo_error(EO_ERR_INVALID, "INT4 block size must be a power of 2 in 16..1024, got %d", opts->block_size);
  if (opts->int4_format != EO_INT4_DQ && opts->int4_format != EO_INT4_MATMULNBITS)
    return eo_error(EO_ERR_INVALID, "unknown INT4 format %d", opts->int4_format);
  double t0 = now_s();
  qctx q = {0};
  eo_quant_options eff = *opts;  // the recipe's global settings override the options
  q.o = &eff;
  q.v = v;
  eo_quant_report *r = eo_calloc(1, sizeof *r);
  eo_graph fp = {0};
  int *cmp = NULL;
  eo_tensor_view first = {0};
  void *first_buf = NULL;
  eo_status st = EO_OK;
  if (!r) return eo_error(EO_ERR_NOMEM, "out of memory");
  r->output_sqnr_db = NAN;
  const char *tmp = getenv("TMPDIR");
  snprintf(q.tmpdir, sizeof q.tmpdir, "%s/edgeopt-quant-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(q.tmpdir)) {
    q.tmpdir[0] = 0;
    st = eo_error(EO_ERR_IO, "cannot create a temporary folder under %s", tmp && tmp[0] ? tmp : "/tmp");
    goto out;
  }
  if (opts->n_exclude > 0) {
    if (!(q.re = eo_calloc((size_t)opts->n_exclude, sizeof *q.re))) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
    for (; q.n_re < opts->n_exclude; q.n_re++) {
      int rc = regcomp(&q.re[q.n_re], opts->exclude[q.n_re], REG_EXTENDED | REG_NOSUB);
      if (rc) {
        char msg[256];
        regerror(rc, &q.re[q.n_re], msg, sizeof msg);
        st = eo_error(EO_ERR_INVALID, "invalid exclude regex '%s': %s", opts->exclude[q.n_re], msg);
        goto out;
      }
    }
  }
  if (opts->recipe_path) {
    if ((st = eo_recipe_load(opts->recipe_path, &q.recipe))) goto out;
    if (q.recipe->per_channel >= 0) eff.per_tensor = !q.recipe->per_channel;
    if (q.recipe->act_symmetric >= 0) eff.act_int8 = q.recipe->act_symmetric;
    if (q.recipe->observer >= 0) eff.method = (eo_calib_method)q.recipe->observer;
    if (q.recipe->percentile >= 0) eff.percentile = q.recipe->percentile;
    if (q.recipe->weight_observer >= 0) q.wclip = q.recipe->weight_observer;
  }
  if ((st = eo_model_load(in_path, NULL, &q.m))) goto out;
  r->bytes_before = file_size(in_path);
  if ((st = prepare_graph(&q))) goto out;
  if ((st = eo_graph_clone(&q.g, &fp))) goto out;
  for (int t = 0; t < q.g.n_tensors; t++)
    // scalars (Clip bounds, Pow exponents, ...) are not parameters
    if (is_const(&q.g, t) && q.g.tensors[t].dtype == EO_FLOAT && eo_pass_consumers(&q.g, t) > 0 &&
        q.g.tensors[t].nbytes > 4) {
      r->tensors_total++;
      r->params_total += (int64_t)(q.g.tensors[t].nbytes / 4);
    }
  int nt = q.nt0 = q.g.n_tensors;
  q.parent = eo_calloc((size_t)nt, sizeof(int));
  q.need = eo_calloc((size_t)nt, 1);
  q.seen = eo_calloc((size_t)nt, 1);
  q.lo = eo_calloc((size_t)nt, sizeof(float));
  q.hi = eo_calloc((size_t)nt, sizeof(float));
  q.scale = eo_calloc((size_t)nt, sizeof(float));
  q.zp = eo_calloc((size_t)nt, sizeof(int));
  cmp = eo_calloc((size_t)nt, sizeof(int));
  q.nn0 = q.g.n_nodes;
  if (!(q.xskip = eo_calloc((size_t)q.nn0 + 1, 1))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  for (int i = 0; v && i < q.nn0; i++)
    for (int k = 0; k < v->n_skip; k++)
      if (strcmp(node_label(&q.g, &q.g.nodes[i]), v->skip[k]) == 0) q.xskip[i] = true;
  if (opts->mode == EO_QUANT_INT8 && !opts->quantize_output_tail && (st = mark_tail(&q, &r->tail_float))) goto out;
  if (opts->bias_correction && opts->mode == EO_QUANT_INT8) {
    q.chsum = eo_calloc((size_t)nt, sizeof *q.chsum);
    q.chcnt = eo_calloc((size_t)nt, sizeof *q.chcnt);
    if (!q.chsum || !q.chcnt) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
  }
  if (!q.parent || !q.need || !q.seen || !q.lo || !q.hi || !q.scale || !q.zp || !cmp) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  bool any = false;
  for (int i = 0; i < q.g.n_nodes; i++) {
    const eo_node *n = &q.g.nodes[i];
    if (opts->mode == EO_QUANT_FP16) any |= !n->dead && op_in(n->op_type, F16_OPS) && !excluded(&q, n);
    else if (opts->mode == EO_QUANT_WEIGHT_INT8 || opts->mode == EO_QUANT_INT4 || opts->mode == EO_QUANT_DYNAMIC)
      any |= !n->dead && op_in(n->op_type, WEIGHT_OPS) && !excluded(&q, n) && n->n_in > 1 && is_const(&q.g, n->in[1]);
    else any |= node_quantized(&q, n) && op_in(n->op_type, WEIGHT_OPS);
  }
  if (!any && !(v && (v->cache_in || list_only))) {  // a variant may quantize a single non-weight op
    st = eo_error(EO_ERR_INVALID, "%s: no quantizable op (Conv, Gemm, MatMul%s) outside the exclusions", in_path,
                  opts->mode == EO_QUANT_FP16 ? ", or any op that runs in float16" : "");
    goto out;
  }
  if ((opts->mode == EO_QUANT_INT8 || opts->mode == EO_QUANT_WEIGHT_INT8) && (st = maybe_opset13(&q))) goto out;
  if (list_only) {
    st = list_candidates(&q, v);
    goto out;
  }
  if (opts->mode == EO_QUANT_INT8) {
    plan_activations(&q);
    if (q.recipe && (st = recipe_observers(&q))) goto out;
    if (v && v->cache_in) st = ranges_from_cache(&q, v->cache_in, r, &first);
    else st = calibrate(&q, r, &first, &first_buf);
    if (st) goto out;
    if ((st = rewrite_weights(&q, true, r))) goto out;
    if ((st = rewrite_activations(&q, r, cmp))) goto out;
  } else {
    if (opts->mode == EO_QUANT_WEIGHT_INT8) st = rewrite_weights(&q, false, r);
    else if (opts->mode == EO_QUANT_INT4) st = rewrite_int4(&q, r);
    else if (opts->mode == EO_QUANT_DYNAMIC) st = rewrite_dynamic(&q, r);
    else st = rewrite_fp16(&q, r);
    if (st) goto out;
    for (int t = 0; t < nt; t++) cmp[t] = t;
    if (opts->calib_path && (st = first_item(&q, &first, &first_buf))) goto out;
  }
  if ((st = eo_model_save_graph(q.m, &q.g, out_path))) goto out;
  r->bytes_after = file_size(out_path);
  // The SQNR report is best effort: the file is written whatever happens here. FP16 tensors keep
  // their names, so that mode compares by name (float16 outputs are widened).
  if (first.data && !(v && v->no_layer_report) && layer_sqnr(&q, &fp, opts->mode == EO_QUANT_FP16 ? NULL : cmp, &first, r) != EO_OK) {
    r->sqnr_skipped = eo_strdup(eo_last_error());
    for (int i = 0; i < r->n_layers; i++) free(r->layers[i].name);
    free(r->layers);
    r->layers = NULL;
    r->n_layers = 0;
  }
  r->total_seconds = now_s() - t0;
out:
  if (q.tmpdir[0]) rmdir(q.tmpdir);
  for (int i = 0; i < q.n_re; i++) regfree(&q.re[i]);
  eo_recipe_free(q.recipe);
  free(q.tmethod);
  free(q.xskip);
  free(q.re);
  free(q.parent);
  free(q.need);
  free(q.seen);
  free(q.lo);
  free(q.hi);
  free(q.scale);
  free(q.zp);
  for (int t = 0; q.chsum && t < q.nt0; t++) free(q.chsum[t]);
  free(q.chsum);
  free(q.chcnt);
  free(cmp);
  free(first_buf);
  eo_graph_free(&fp);
  eo_graph_free(&q.g);
  eo_model_free(q.m);
  if (st || !report) eo_quant_report_free(r);
  else *report = r;
  return st;
}
