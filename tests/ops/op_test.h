/* Building single nodes and running an op directly through its eo_op_def (no model, no executor):
 * the unit tests of ops compare fast paths with references and check edge cases this way.
 *
 *   eo_node *n = optest_node("LeakyRelu");
 *   optest_attr_f(n, "alpha", 0.1f);
 *   eo_tview x = optest_f32(2, (int64_t[]){2, 3}, data);
 *   eo_tview y;
 *   eo_status st = optest_run(n, 13, 1, (eo_tview*[]){&x}, 1, (eo_tview*[]){&y}, false);
 *   ... y.data is malloc'd by optest_run: free(y.data) ...
 *   optest_node_free(n);
 */
#ifndef EO_OP_TEST_H
#define EO_OP_TEST_H

#include <stdlib.h>
#include <string.h>

#include "runtime/op.h"

static inline eo_node *optest_node(const char *op_type) {
  eo_node *n = calloc(1, sizeof *n);
  n->name = strdup("test_node");
  n->op_type = strdup(op_type);
  n->domain = strdup("");
  n->op = eo_op_lookup("", op_type);
  n->fused_act = -1;
  return n;
}

static inline eo_attr *optest_attr_new(eo_node *n, const char *name, int type) {
  n->attrs = realloc(n->attrs, (size_t)(n->n_attrs + 1) * sizeof(eo_attr));
  eo_attr *a = &n->attrs[n->n_attrs++];
  memset(a, 0, sizeof *a);
  a->name = strdup(name);
  a->type = type;
  return a;
}
static inline void optest_attr_i(eo_node *n, const char *name, int64_t v) { optest_attr_new(n, name, EO_ATTR_INT)->i = v; }
static inline void optest_attr_f(eo_node *n, const char *name, float v) { optest_attr_new(n, name, EO_ATTR_FLOAT)->f = v; }
static inline void optest_attr_s(eo_node *n, const char *name, const char *v) {
  eo_attr *a = optest_attr_new(n, name, EO_ATTR_STRING);
  a->s = strdup(v);
  a->s_len = strlen(v);
}
static inline void optest_attr_ints(eo_node *n, const char *name, int cnt, const int64_t *v) {
  eo_attr *a = optest_attr_new(n, name, EO_ATTR_INTS);
  a->n = cnt;
  a->ints = malloc((size_t)(cnt ? cnt : 1) * sizeof(int64_t));
  if (cnt) memcpy(a->ints, v, (size_t)cnt * sizeof(int64_t));
}
static inline void optest_attr_floats(eo_node *n, const char *name, int cnt, const float *v) {
  eo_attr *a = optest_attr_new(n, name, EO_ATTR_FLOATS);
  a->n = cnt;
  a->floats = malloc((size_t)(cnt ? cnt : 1) * sizeof(float));
  if (cnt) memcpy(a->floats, v, (size_t)cnt * sizeof(float));
}

static inline void optest_node_free(eo_node *n) {
  for (int i = 0; i < n->n_attrs; i++) eo_attr_clear(&n->attrs[i]);
  free(n->attrs);
  free(n->name);
  free(n->op_type);
  free(n->domain);
  free(n);
}

/* A view over caller-owned data. */
static inline eo_tview optest_view(int dtype, int rank, const int64_t *dims, void *data) {
  eo_tview t;
  memset(&t, 0, sizeof t);
  eo_tview_set_shape(&t, dtype, rank, dims);
  t.data = data;
  return t;
}
#define optest_f32(rank, dims, data) optest_view(EO_FLOAT, rank, dims, data)

/* infer -> prepare -> forward. Outputs get malloc'd data (caller frees out[i]->data).
 * `inputs_const`: pass input data to infer as constants (as the executor does for initializers). */
static inline eo_status optest_run(const eo_node *n, int64_t opset, int n_in, eo_tview **in, int n_out,
                                   eo_tview **out, bool inputs_const) {
  const eo_op_def *def = eo_op_get(n->op);
  if (!def) return eo_error(EO_ERR_UNSUPPORTED, "op %s not registered", n->op_type);
  eo_tview *inf_in[16];
  eo_tview shadow[16];
  for (int i = 0; i < n_in; i++) {
    if (!in[i]) { inf_in[i] = NULL; continue; }
    shadow[i] = *in[i];
    if (!inputs_const) shadow[i].data = NULL;
    inf_in[i] = &shadow[i];
  }
  for (int i = 0; i < n_out; i++) if (out[i]) memset(out[i], 0, sizeof *out[i]);
  eo_op_ctx c;
  memset(&c, 0, sizeof c);
  c.node = n;
  c.opset = opset;
  c.n_in = n_in;
  c.n_out = n_out;
  c.in = inf_in;
  c.out = out;
  c.force_ref = getenv("EO_FORCE_REF") != NULL;
  eo_status st = def->infer(&c);
  if (st) return st;
  c.in = in;
  if (def->prepare && (st = def->prepare(&c))) return st;
  for (int i = 0; i < n_out; i++) {
    if (!out[i]) continue;
    size_t bytes = 0;
    eo_dtype_bytes(out[i]->dtype, eo_tview_numel(out[i]), &bytes);
    out[i]->data = calloc(bytes ? bytes : 1, 1);
  }
  c.scratch = c.scratch_bytes ? calloc(c.scratch_bytes, 1) : NULL;
  def->forward(&c);
  free(c.scratch);
  if (def->release) def->release(c.state);
  return EO_OK;
}

#ifdef EO_TEST_H  // the checks count in test.h's counters: include test.h before this header
/* optest_run (inputs as constants) with the default kernels (outputs in out[], data malloc'd: the
 * caller frees), then again with EO_FORCE_REF: each output of the reference must have the same
 * dtype, shape and bytes (a check for the reference run, one per output). EO_FORCE_REF is left as it
 * was. Returns the first run's status. */
static inline eo_status optest_run_vs_ref(const eo_node *n, int64_t opset, int n_in, eo_tview **in, int n_out,
                                          eo_tview **out) {
  if (n_out > 16) return eo_error(EO_ERR_INVALID, "optest_run_vs_ref: %d outputs, at most 16", n_out);
  char *env = getenv("EO_FORCE_REF") ? strdup(getenv("EO_FORCE_REF")) : NULL;
  unsetenv("EO_FORCE_REF");
  eo_status st = optest_run(n, opset, n_in, in, n_out, out, true);
  if (!st) {
    eo_tview ref[16], *pref[16];
    for (int i = 0; i < n_out; i++) pref[i] = out[i] ? &ref[i] : NULL;
    setenv("EO_FORCE_REF", "1", 1);
    eo_status sr = optest_run(n, opset, n_in, in, n_out, pref, true);
    EO_CHECK_MSG(sr == EO_OK, "%s: the reference run failed: %s", n->op_type, eo_last_error());
    for (int i = 0; sr == EO_OK && i < n_out; i++) {
      if (!out[i]) continue;
      size_t nb = 0;
      eo_dtype_bytes(out[i]->dtype, eo_tview_numel(out[i]), &nb);
      bool same = ref[i].dtype == out[i]->dtype && ref[i].rank == out[i]->rank &&
                  memcmp(ref[i].dims, out[i]->dims, sizeof ref[i].dims[0] * (size_t)ref[i].rank) == 0 &&
                  memcmp(ref[i].data, out[i]->data, nb) == 0;
      EO_CHECK_MSG(same, "%s output %d: the fast path and the reference (EO_FORCE_REF) differ", n->op_type, i);
      free(ref[i].data);
    }
  }
  if (env) setenv("EO_FORCE_REF", env, 1);
  else unsetenv("EO_FORCE_REF");
  free(env);
  return st;
}
#endif

#endif
