/* eo_model_save / eo_model_save_graph: load -> save -> load is lossless.
 *
 * Models: fixtures built at test time by scripts/make_save_fixtures.py (doc strings, metadata,
 * value_info, a model-local function, initializers in every TensorProto encoding, external data,
 * IR 3 / opsets 7, 13, 17, subgraphs reading outer initializers) and a few dozen libonnx-testdata
 * node cases. Checked in C: initializers decode to identical bytes, nodes/attributes/names and
 * metadata are equal, and an unchanged model is written byte-identical to the original proto
 * repacked. Checked in Python (python3-onnx): onnx.checker accepts every saved file, and
 * scripts/onnx_semantic_equal.py finds the saved model equal to its source. Also: modified graphs
 * (changed data, new nodes with every attribute type, dead nodes, default passes with fused
 * activations) and the errors (overwriting the source, unwritable folders).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/npy.h"
#include "edgeopt/runtime.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_internal.h"
#include "onnx/save.h"
#include "test.h"

#define PY "/usr/bin/python3"
#define NODE_DIR "/usr/share/libonnx-testdata/data/node"

static char tmp[256];
/* Saved files for the batched Python checks: pairs (source, saved). */
static char *py_src[128], *py_saved[128];
static int n_py, n_identical;

static char *fmt(const char *f, ...) EO_PRINTF(1, 2);
static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(NULL, 0, f, ap);
  va_end(ap);
  char *s = malloc((size_t)n + 1);
  EO_ASSERT(s);
  va_start(ap, f);
  vsnprintf(s, (size_t)n + 1, f, ap);
  va_end(ap);
  return s;
}

static int sh(const char *cmd) {
  int rc = system(cmd);
  return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static eo_model *load(const char *path) {
  eo_load_options o = {.allow_unsupported_ops = 1};
  eo_model *m = NULL;
  eo_status st = eo_model_load(path, &o, &m);
  EO_CHECK_MSG(st == EO_OK, "load %s: %s", path, eo_last_error());
  return m;
}

static bool same_str(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

static const Onnx__ValueInfoProto *find_vi(Onnx__ValueInfoProto *const *list, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (same_str(list[i]->name, name)) return list[i];
  return NULL;
}

static bool attr_equal(const eo_attr *a, const eo_attr *b) {
  if (strcmp(a->name, b->name) != 0 || a->type != b->type) return false;
  switch (a->type) {
    case EO_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case EO_ATTR_INT: return a->i == b->i;
    case EO_ATTR_STRING: return a->s_len == b->s_len && memcmp(a->s, b->s, a->s_len) == 0;
    case EO_ATTR_FLOATS: return a->n == b->n && (!a->n || memcmp(a->floats, b->floats, (size_t)a->n * 4) == 0);
    case EO_ATTR_INTS: return a->n == b->n && (!a->n || memcmp(a->ints, b->ints, (size_t)a->n * 8) == 0);
    case EO_ATTR_STRINGS:
      if (a->n != b->n) return false;
      for (int i = 0; i < a->n; i++)
        if (strcmp(a->strings[i], b->strings[i]) != 0) return false;
      return true;
    case EO_ATTR_TENSOR:
      return a->t->dtype == b->t->dtype && a->t->rank == b->t->rank &&
             memcmp(a->t->dims, b->t->dims, sizeof(int64_t) * (size_t)a->t->rank) == 0 && a->t->nbytes == b->t->nbytes &&
             (!a->t->nbytes || memcmp(a->t->data, b->t->data, a->t->nbytes) == 0);
    default: return true;  // graphs etc.: compared through the protos (byte identity, Python)
  }
}

/* Initializer t of `a` against the same-named tensor of `b`: dtype, shape, bytes (strings: proto). */
static bool tensor_equal(const eo_tensor *x, const eo_tensor *y) {
  if (x->dtype != y->dtype || x->rank != y->rank || x->nbytes != y->nbytes) return false;
  for (int d = 0; d < x->rank; d++)
    if (x->dims[d] != y->dims[d]) return false;
  if (x->dtype == EO_STRING) {
    if (!x->src || !y->src || x->src->n_string_data != y->src->n_string_data) return false;
    for (size_t i = 0; i < x->src->n_string_data; i++)
      if (x->src->string_data[i].len != y->src->string_data[i].len ||
          memcmp(x->src->string_data[i].data, y->src->string_data[i].data, x->src->string_data[i].len) != 0)
        return false;
    return true;
  }
  return !x->nbytes || memcmp(x->data, y->data, x->nbytes) == 0;
}

/* Lossless check of a reloaded model `b` against its source `a`; `expect_all_inits`: every
 * initializer of a is referenced, so every one must be in b. */
static void compare_models(const char *label, const eo_model *a, const eo_model *b, bool expect_all_inits) {
  const Onnx__ModelProto *pa = a->proto, *pb = b->proto;
  EO_CHECK_MSG(pa->ir_version == pb->ir_version && pa->has_ir_version == pb->has_ir_version, "%s ir_version", label);
  EO_CHECK_MSG(same_str(pa->producer_name, pb->producer_name) && same_str(pa->producer_version, pb->producer_version) &&
                   same_str(pa->domain, pb->domain) && same_str(pa->doc_string, pb->doc_string) &&
                   pa->model_version == pb->model_version,
               "%s model fields", label);
  bool meta = pa->n_metadata_props == pb->n_metadata_props;
  for (size_t i = 0; meta && i < pa->n_metadata_props; i++)
    meta = same_str(pa->metadata_props[i]->key, pb->metadata_props[i]->key) &&
           same_str(pa->metadata_props[i]->value, pb->metadata_props[i]->value);
  EO_CHECK_MSG(meta, "%s metadata_props", label);
  bool fns = pa->n_functions == pb->n_functions;
  for (size_t i = 0; fns && i < pa->n_functions; i++)
    fns = same_str(pa->functions[i]->name, pb->functions[i]->name) &&
          same_str(pa->functions[i]->domain, pb->functions[i]->domain) &&
          pa->functions[i]->n_node == pb->functions[i]->n_node;
  EO_CHECK_MSG(fns, "%s functions", label);
  bool ops = pa->n_opset_import == pb->n_opset_import;
  for (size_t i = 0; ops && i < pa->n_opset_import; i++)
    ops = same_str(pa->opset_import[i]->domain, pb->opset_import[i]->domain) &&
          pa->opset_import[i]->version == pb->opset_import[i]->version;
  EO_CHECK_MSG(ops, "%s opset_import", label);
  const Onnx__GraphProto *ga = pa->graph, *gb = pb->graph;
  EO_CHECK_MSG(same_str(ga->name, gb->name) && same_str(ga->doc_string, gb->doc_string), "%s graph name/doc", label);
  EO_CHECK_MSG(ga->n_value_info == gb->n_value_info, "%s value_info %zu vs %zu", label, ga->n_value_info, gb->n_value_info);
  EO_CHECK_MSG(ga->n_output == gb->n_output, "%s graph outputs", label);
  // IR
  const eo_graph *x = &a->graph, *y = &b->graph;
  EO_CHECK_MSG(x->n_nodes == y->n_nodes, "%s node count %d vs %d", label, x->n_nodes, y->n_nodes);
  EO_CHECK_MSG(x->n_inputs == y->n_inputs && x->n_outputs == y->n_outputs, "%s graph io", label);
  for (int i = 0; i < x->n_nodes && i < y->n_nodes; i++) {
    const eo_node *n = &x->nodes[i], *m = &y->nodes[i];
    bool same = strcmp(n->name, m->name) == 0 && strcmp(n->op_type, m->op_type) == 0 &&
                strcmp(n->domain, m->domain) == 0 && n->n_in == m->n_in && n->n_out == m->n_out &&
                n->n_attrs == m->n_attrs && same_str(n->src->doc_string, m->src->doc_string);
    for (int k = 0; same && k < n->n_in; k++)
      same = (n->in[k] < 0 && m->in[k] < 0) ||
             (n->in[k] >= 0 && m->in[k] >= 0 && strcmp(x->tensors[n->in[k]].name, y->tensors[m->in[k]].name) == 0);
    for (int k = 0; same && k < n->n_out; k++)
      same = (n->out[k] < 0 && m->out[k] < 0) ||
             (n->out[k] >= 0 && m->out[k] >= 0 && strcmp(x->tensors[n->out[k]].name, y->tensors[m->out[k]].name) == 0);
    for (int k = 0; same && k < n->n_attrs; k++) same = attr_equal(&n->attrs[k], &m->attrs[k]);
    EO_CHECK_MSG(same, "%s node %d '%s' (%s) differs after the round trip", label, i, n->name, n->op_type);
  }
  int n_init = 0, found = 0;
  for (int t = 0; t < x->n_tensors; t++) {
    const eo_tensor *tx = &x->tensors[t];
    if (!(tx->flags & EO_T_INITIALIZER)) continue;
    n_init++;
    int u = eo_graph_find(y, tx->name);
    if (u < 0) continue;
    found++;
    EO_CHECK_MSG((y->tensors[u].flags & EO_T_INITIALIZER) && tensor_equal(tx, &y->tensors[u]),
                 "%s initializer '%s' differs", label, tx->name);
  }
  if (expect_all_inits) EO_CHECK_MSG(found == n_init, "%s: %d of %d initializers kept", label, found, n_init);
}

static bool file_bytes_equal(const char *path, const void *buf, size_t size) {
  void *data;
  size_t n;
  if (eo_read_file(path, &data, &n)) return false;
  bool eq = n == size && memcmp(data, buf, size) == 0;
  free(data);
  return eq;
}

/* Loads `src`, saves it to `dst`, reloads and compares. `identical`: 1 = the saved file must be
 * the original proto repacked byte for byte, 0 = not required, -1 = required when every
 * initializer is kept. Returns 1 when the round trip ran. */
static int roundtrip(const char *src, const char *dst, int identical) {
  eo_model *a = load(src);
  if (!a) return 0;
  eo_status st = eo_model_save(a, dst);
  EO_CHECK_MSG(st == EO_OK, "save %s -> %s: %s", src, dst, eo_last_error());
  eo_model *b = st ? NULL : load(dst);
  if (b) {
    bool all = a->proto->graph->n_initializer == b->proto->graph->n_initializer;
    compare_models(src, a, b, identical == 1);
    if (identical == 1 || (identical == -1 && all)) {
      size_t size = onnx__model_proto__get_packed_size(a->proto);
      uint8_t *buf = malloc(size + 1);
      EO_ASSERT(buf);
      onnx__model_proto__pack(a->proto, buf);
      bool same = file_bytes_equal(dst, buf, size);
      EO_CHECK_MSG(same, "%s: saved file is not the original proto repacked", src);
      n_identical += same;
      free(buf);
    }
    if (n_py < 128) {
      py_src[n_py] = strdup(src);
      py_saved[n_py++] = strdup(dst);
    }
  }
  eo_model_free(a);
  eo_model_free(b);
  return b != NULL;
}

static void test_fixtures(void) {
  char *dir = fmt("%s/fx", tmp);
  char *cmd = fmt(PY " scripts/make_save_fixtures.py %s", dir);
  int rc = sh(cmd);
  EO_CHECK_MSG(rc == 0, "%s failed (exit %d): python3-onnx (scripts/install-deps.sh) is required", cmd, rc);
  free(cmd);
  if (rc != 0) {
    free(dir);
    return;
  }
  static const char *names[] = {"meta13", "ir3_opset7", "opset17"};
  for (int i = 0; i < 3; i++) {
    char *src = fmt("%s/%s.onnx", dir, names[i]), *dst = fmt("%s/%s.saved.onnx", tmp, names[i]);
    EO_CHECK_MSG(roundtrip(src, dst, 1), "%s", names[i]);
    free(src);
    free(dst);
  }
  // external data: inlined, and the saved file loads from a folder without the data file
  char *src = fmt("%s/external/external.onnx", dir), *dst = fmt("%s/external.saved.onnx", tmp);
  EO_CHECK(roundtrip(src, dst, 0));
  void *buf;
  size_t size;
  if (eo_read_file(dst, &buf, &size) == EO_OK) {
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, buf);
    EO_CHECK(mp && mp->graph->n_initializer == 3);
    for (size_t i = 0; mp && i < mp->graph->n_initializer; i++) {
      const Onnx__TensorProto *tp = mp->graph->initializer[i];
      EO_CHECK_MSG(!(tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) &&
                       tp->n_external_data == 0 && tp->has_raw_data,
                   "initializer '%s' still external", tp->name);
    }
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    free(buf);
  }
  char *lone = fmt("%s/lone", tmp);
  EO_CHECK(mkdir(lone, 0755) == 0);
  char *moved = fmt("%s/external.onnx", lone);
  EO_CHECK(rename(dst, moved) == 0);
  eo_model *m = load(moved);  // no external.onnx.data next to it
  eo_model *orig = load(src);
  if (m && orig) compare_models("external (moved)", orig, m, true);
  if (n_py && strcmp(py_saved[n_py - 1], dst) == 0) {  // the Python checks read the moved file
    free(py_saved[n_py - 1]);
    py_saved[n_py - 1] = strdup(moved);
  }
  eo_model_free(m);
  eo_model_free(orig);
  free(lone);
  free(moved);
  free(src);
  free(dst);
  free(dir);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_conformance_models(void) {
  // chosen for attribute and tensor variety (subgraphs, strings, tensor attributes, many dtypes)
  static const char *picked[] = {
      "test_if", "test_loop11", "test_scan9_sum", "test_constant", "test_cast_FLOAT_to_STRING",
      "test_cast_STRING_to_FLOAT", "test_strnormalizer_export_monday_casesensintive_lower", "test_lstm_with_peepholes",
      "test_gru_with_initial_bias", "test_conv_with_strides_and_asymmetric_padding", "test_gemm_all_attributes",
      "test_qlinearconv", "test_dequantizelinear_axis", "test_layer_normalization_4d_axis1_expanded",
      "test_nonmaxsuppression_two_batches", "test_range_float_type_positive_delta_expanded", "test_onehot_with_axis",
      "test_einsum_batch_diagonal", "test_castlike_FLOAT_to_BFLOAT16_expanded", "test_resize_downsample_scales_linear",
      "test_clip_default_int8_min", "test_tfidfvectorizer_tf_batch_onlybigrams_skip0", "test_cumsum_2d_negative_axis",
      "test_bitshift_left_uint64"};
  int ran = 0, tried = 0;
  for (size_t i = 0; i < sizeof picked / sizeof *picked; i++) {
    char *src = fmt(NODE_DIR "/%s/model.onnx", picked[i]), *dst = fmt("%s/%s.onnx", tmp, picked[i]);
    struct stat sb;
    if (stat(src, &sb) == 0) {
      tried++;
      ran += roundtrip(src, dst, -1);
    }
    free(src);
    free(dst);
  }
  // and every 40th case in name order, for breadth
  DIR *d = opendir(NODE_DIR);
  EO_CHECK_MSG(d != NULL, NODE_DIR " is missing (libonnx-testdata)");
  if (!d) return;
  char **names = NULL;
  int n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strncmp(e->d_name, "test_", 5) == 0) {
      EO_ASSERT(eo_grow((void **)&names, &cap, n + 1, sizeof(char *)) == EO_OK);
      names[n++] = strdup(e->d_name);
    }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n; i += 40) {
    char *src = fmt(NODE_DIR "/%s/model.onnx", names[i]), *dst = fmt("%s/%s.onnx", tmp, names[i]);
    eo_load_options o = {.allow_unsupported_ops = 1};
    eo_model *m = NULL;
    // cases outside what load accepts (opset < 7, sequences) are not round-trip material
    if (eo_model_load(src, &o, &m) == EO_OK) {
      tried++;
      ran += roundtrip(src, dst, -1);
    }
    eo_model_free(m);
    free(src);
    free(dst);
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  printf("conformance models round-tripped: %d of %d; saved files byte-identical to the repacked source: %d\n", ran,
         tried, n_identical);
  EO_CHECK_MSG(ran >= 30 && ran == tried, "%d of %d conformance models round-tripped", ran, tried);
}

/* onnx.checker on every saved file and the semantic comparison with each source, one interpreter
 * start for each. */
static void test_python_checks(void) {
  EO_CHECK(n_py >= 30);
  size_t cap = 256;
  for (int i = 0; i < n_py; i++) cap += strlen(py_src[i]) + strlen(py_saved[i]) + 8;
  char *check = malloc(cap + 256), *sem = malloc(cap + 256);
  EO_ASSERT(check && sem);
  int k = snprintf(check, cap + 256, PY " -c \"import onnx, sys\nfor p in sys.argv[1:]: onnx.checker.check_model(onnx.load(p))\"");
  int j = snprintf(sem, cap + 256, PY " scripts/onnx_semantic_equal.py --ignore-unused-initializers");
  for (int i = 0; i < n_py; i++) {
    k += snprintf(check + k, cap + 256 - (size_t)k, " '%s'", py_saved[i]);
    j += snprintf(sem + j, cap + 256 - (size_t)j, " '%s' '%s'", py_src[i], py_saved[i]);
  }
  int rc_check = sh(check);
  EO_CHECK_MSG(rc_check == 0, "onnx.checker rejected a saved file (exit %d)", rc_check);
  int rc_sem = sh(sem);
  EO_CHECK_MSG(rc_sem == 0, "onnx_semantic_equal.py found differences (exit %d)", rc_sem);
  printf("python checks over %d saved models: checker %s, semantic comparison %s\n", n_py,
         rc_check == 0 ? "ok" : "FAILED", rc_sem == 0 ? "ok" : "FAILED");
  free(check);
  free(sem);
}

static void test_errors(void) {
  char *src = fmt("%s/fx/opset17.onnx", tmp);
  eo_model *m = load(src);
  if (!m) {
    free(src);
    return;
  }
  void *before;
  size_t before_n;
  EO_ASSERT(eo_read_file(src, &before, &before_n) == EO_OK);
  // the source itself, under its own name and under another spelling / a symlink
  eo_status st = eo_model_save(m, src);
  EO_CHECK(st == EO_ERR_INVALID);
  EO_CHECK_MSG(strstr(eo_last_error(), "refusing") && strstr(eo_last_error(), "loaded from"), "%s", eo_last_error());
  char *other = fmt("%s/fx/../fx/opset17.onnx", tmp), *link = fmt("%s/link.onnx", tmp);
  EO_CHECK(eo_model_save(m, other) == EO_ERR_INVALID);
  EO_CHECK(symlink(src, link) == 0);
  EO_CHECK(eo_model_save(m, link) == EO_ERR_INVALID);
  EO_CHECK(file_bytes_equal(src, before, before_n));
  // folders that cannot be written: missing, a regular file as folder
  st = eo_model_save(m, "/nonexistent-edgeopt-dir/x.onnx");
  EO_CHECK(st == EO_ERR_IO);
  EO_CHECK_MSG(strstr(eo_last_error(), "/nonexistent-edgeopt-dir/x.onnx") != NULL, "%s", eo_last_error());
  char *under_file = fmt("%s/x.onnx", src);
  EO_CHECK(eo_model_save(m, under_file) == EO_ERR_IO);
  // a read-only folder (root writes anyway, so only as another user)
  if (geteuid() != 0) {
    char *ro = fmt("%s/ro", tmp), *p = fmt("%s/ro/x.onnx", tmp);
    EO_CHECK(mkdir(ro, 0555) == 0);
    EO_CHECK(eo_model_save(m, p) == EO_ERR_IO);
    chmod(ro, 0755);
    free(ro);
    free(p);
  }
  // saving over a directory fails and leaves no temporary file behind
  char *dirpath = fmt("%s/adir", tmp);
  EO_CHECK(mkdir(dirpath, 0755) == 0);
  EO_CHECK(eo_model_save(m, dirpath) == EO_ERR_IO);
  DIR *d = opendir(tmp);
  int leftovers = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".tmp.")) leftovers++;
  if (d) closedir(d);
  EO_CHECK_MSG(leftovers == 0, "%d temporary files left", leftovers);
  // overwriting another existing file is fine (atomically replaced)
  char *again = fmt("%s/again.onnx", tmp);
  EO_CHECK(eo_model_save(m, again) == EO_OK);
  EO_CHECK(eo_model_save(m, again) == EO_OK);
  eo_model *re = load(again);
  EO_CHECK(re && re->graph.n_nodes == m->graph.n_nodes);
  eo_model_free(re);
  free(again);
  // bad arguments
  EO_CHECK(eo_model_save(NULL, "x.onnx") == EO_ERR_INVALID);
  EO_CHECK(eo_model_save(m, "") == EO_ERR_INVALID);
  free(dirpath);
  free(under_file);
  free(other);
  free(link);
  free(before);
  free(src);
  eo_model_free(m);
}

static void set_attr_name(eo_attr *a, const char *name, int type) {
  memset(a, 0, sizeof *a);
  a->name = strdup(name);
  a->type = type;
}

/* Changed data (src cleared, and src kept against the contract), a new node without src carrying
 * every attribute type in a new domain, and a dead node. */
static void test_modified_graph(void) {
  char *src = fmt("%s/fx/meta13.onnx", tmp), *dst = fmt("%s/modified.onnx", tmp);
  eo_model *m = load(src);
  free(src);
  if (!m) {
    free(dst);
    return;
  }
  eo_graph g;
  EO_ASSERT(eo_graph_clone(&m->graph, &g) == EO_OK);
  int w = eo_graph_find(&g, "w_raw_f32"), v = eo_graph_find(&g, "w_f32_typed"), i64 = eo_graph_find(&g, "w_i64");
  EO_ASSERT(w >= 0 && v >= 0 && i64 >= 0);
  float *fw = g.tensors[w].data;
  fw[0] = 123.0f;  // changed, src cleared as the contract asks
  g.tensors[w].src = NULL;
  float *fv = g.tensors[v].data;
  fv[2] = -7.0f;  // changed, src left set: the byte check must catch it
  int64_t *iv = g.tensors[i64].data;
  iv[1] = 99;
  // kill the Identity of w_u8: its initializer and output go
  int id_u8 = -1;
  for (int i = 0; i < g.n_nodes; i++)
    if (strcmp(g.nodes[i].name, "Identity_w_u8") == 0) id_u8 = i;
  EO_ASSERT(id_u8 >= 0);
  g.nodes[id_u8].dead = true;
  int out_u8 = g.nodes[id_u8].out[0];
  int k = 0;
  for (int i = 0; i < g.n_outputs; i++)
    if (g.outputs[i] != out_u8) g.outputs[k++] = g.outputs[i];
  g.n_outputs = k;
  g.tensors[out_u8].flags &= ~(unsigned)EO_T_OUTPUT;
  // a new node (no src) with every attribute type the IR encodes, reading Y, writing a new output
  int y = eo_graph_find(&g, "Y"), z, idx;
  EO_ASSERT(y >= 0 && eo_graph_add_tensor(&g, "Z", &z) == EO_OK);
  g.tensors[z].dtype = EO_FLOAT;
  g.tensors[z].rank = 2;
  g.tensors[z].dims[0] = 3;
  g.tensors[z].dims[1] = -1;
  g.tensors[z].dim_param[1] = strdup("batch");
  EO_ASSERT(eo_graph_add_node(&g, "custom0", "Everything", "test.dom", 1, &y, 1, &z, &idx) == EO_OK);
  EO_ASSERT(eo_grow((void **)&g.outputs, &g.cap_outputs, g.n_outputs + 1, sizeof(int)) == EO_OK);
  g.outputs[g.n_outputs++] = z;
  eo_node *n = &g.nodes[idx];
  n->attrs = calloc(7, sizeof(eo_attr));
  n->n_attrs = 7;
  set_attr_name(&n->attrs[0], "i", EO_ATTR_INT);
  n->attrs[0].i = -5000000000LL;
  set_attr_name(&n->attrs[1], "f", EO_ATTR_FLOAT);
  n->attrs[1].f = 0.1f;
  set_attr_name(&n->attrs[2], "s", EO_ATTR_STRING);
  n->attrs[2].s = strdup("hello");
  n->attrs[2].s_len = 5;
  set_attr_name(&n->attrs[3], "ints", EO_ATTR_INTS);
  n->attrs[3].n = 3;
  n->attrs[3].ints = malloc(3 * sizeof(int64_t));
  memcpy(n->attrs[3].ints, (int64_t[]){1, -2, 3}, 3 * sizeof(int64_t));
  set_attr_name(&n->attrs[4], "floats", EO_ATTR_FLOATS);
  n->attrs[4].n = 2;
  n->attrs[4].floats = malloc(2 * sizeof(float));
  memcpy(n->attrs[4].floats, (float[]){1.5f, -0.0f}, 2 * sizeof(float));
  set_attr_name(&n->attrs[5], "strings", EO_ATTR_STRINGS);
  n->attrs[5].n = 2;
  n->attrs[5].strings = calloc(2, sizeof(char *));
  n->attrs[5].strings[0] = strdup("a");
  n->attrs[5].strings[1] = strdup("bc");
  set_attr_name(&n->attrs[6], "t", EO_ATTR_TENSOR);
  eo_tensor *t = n->attrs[6].t = calloc(1, sizeof(eo_tensor));
  t->dtype = EO_INT16;
  t->rank = 2;
  t->dims[0] = 2;
  t->dims[1] = 2;
  t->nbytes = 8;
  t->data = malloc(8);
  memcpy(t->data, (int16_t[]){1, -1, 300, -300}, 8);
  t->producer = -1;
  // a node appended after its consumer (as a pass inserting a node does): X -> Neg -> add0
  int x = eo_graph_find(&g, "X"), xn;
  EO_ASSERT(x >= 0 && eo_graph_add_tensor(&g, "X_neg", &xn) == EO_OK);
  EO_ASSERT(eo_graph_add_node(&g, "", "Neg", "", 1, &x, 1, &xn, NULL) == EO_OK);
  n = &g.nodes[idx];
  for (int i = 0; i < g.n_nodes; i++)
    if (strcmp(g.nodes[i].name, "add0") == 0) g.nodes[i].in[0] = xn;
  eo_status st = eo_model_save_graph(m, &g, dst);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  eo_model *b = st ? NULL : load(dst);
  if (b) {
    const eo_graph *h = &b->graph;
    int neg = -1, add0 = -1;
    for (int i = 0; i < h->n_nodes; i++) {
      if (strcmp(h->nodes[i].op_type, "Neg") == 0) neg = i;
      if (strcmp(h->nodes[i].name, "add0") == 0) add0 = i;
    }
    EO_CHECK_MSG(neg >= 0 && add0 > neg, "Neg written at %d, its consumer at %d", neg, add0);
    EO_CHECK(neg >= 0 && !b->proto->graph->node[neg]->name);  // nameless stays nameless
    int bw = eo_graph_find(h, "w_raw_f32"), bv = eo_graph_find(h, "w_f32_typed"), bi = eo_graph_find(h, "w_i64");
    EO_CHECK(bw >= 0 && ((float *)h->tensors[bw].data)[0] == 123.0f);
    EO_CHECK(bv >= 0 && ((float *)h->tensors[bv].data)[2] == -7.0f);
    EO_CHECK(bi >= 0 && ((int64_t *)h->tensors[bi].data)[1] == 99);
    EO_CHECK(eo_graph_find(h, "w_u8") < 0);
    EO_CHECK(eo_graph_find(h, "id_w_u8") < 0);
    EO_CHECK(h->n_nodes == m->graph.n_nodes + 1);  // one dead, two new
    int c = -1;
    for (int i = 0; i < h->n_nodes; i++)
      if (strcmp(h->nodes[i].name, "custom0") == 0) c = i;
    EO_CHECK(c >= 0);
    if (c >= 0) {
      const eo_node *bn = &h->nodes[c];
      EO_CHECK(strcmp(bn->domain, "test.dom") == 0 && strcmp(bn->op_type, "Everything") == 0);
      EO_CHECK(bn->src && bn->src->n_attribute == 7);
      EO_CHECK(bn->n_attrs == 7);
      for (int a = 0; a < 7 && a < bn->n_attrs; a++)
        EO_CHECK_MSG(attr_equal(&n->attrs[a], &bn->attrs[a]), "attribute %s", n->attrs[a].name);
    }
    bool dom = false;
    for (size_t i = 0; i < b->proto->n_opset_import; i++)
      if (same_str(b->proto->opset_import[i]->domain, "test.dom") && b->proto->opset_import[i]->version == 1) dom = true;
    EO_CHECK_MSG(dom, "opset import for test.dom added");
    // the new output's ValueInfoProto comes from the IR: dtype, dims, dim_param
    const Onnx__GraphProto *bg = b->proto->graph;
    const Onnx__ValueInfoProto *zvi = bg->n_output ? bg->output[bg->n_output - 1] : NULL;
    int zdt = 0, zrank = -1;
    int64_t zdims[EO_MAX_RANK];
    const char *zparams[EO_MAX_RANK] = {0};
    EO_CHECK(zvi && same_str(zvi->name, "Z") && eo_onnx_value_type(zvi, &zdt, &zrank, zdims, zparams) == EO_OK);
    EO_CHECK(zdt == EO_FLOAT && zrank == 2 && zdims[0] == 3 && zdims[1] == -1);
    EO_CHECK(zparams[1] && strcmp(zparams[1], "batch") == 0);
    // metadata still there
    EO_CHECK(b->proto->n_metadata_props == 3 && b->proto->n_functions == 1 && b->proto->model_version == 42);
    EO_CHECK(b->proto->graph->n_value_info == 2);
  }
  char *cmd = fmt(PY " -c \"import onnx; onnx.checker.check_model(onnx.load('%s'))\"", dst);
  EO_CHECK_MSG(sh(cmd) == 0, "checker rejected the modified model");
  free(cmd);
  // the model's own graph is untouched and still saves as the original
  EO_CHECK(((float *)m->graph.tensors[eo_graph_find(&m->graph, "w_raw_f32")].data)[0] != 123.0f);
  eo_model_free(b);
  eo_graph_free(&g);
  eo_model_free(m);
  free(dst);
}

/* An attribute the IR cannot encode (a graph) on a node without src is an error, not a silent drop. */
static void test_unencodable(void) {
  char *src = fmt("%s/fx/meta13.onnx", tmp), *dst = fmt("%s/unencodable.onnx", tmp);
  eo_model *m = load(src);
  if (m) {
    eo_graph g;
    EO_ASSERT(eo_graph_clone(&m->graph, &g) == EO_OK);
    for (int i = 0; i < g.n_nodes; i++)
      if (strcmp(g.nodes[i].name, "tr0") == 0) {
        g.nodes[i].src = NULL;  // as if created by a pass
        eo_attr *a = &g.nodes[i].attrs[0];
        eo_attr_clear(a);
        set_attr_name(a, "body", EO_ATTR_GRAPH);
      }
    EO_CHECK(eo_model_save_graph(m, &g, dst) == EO_ERR_UNSUPPORTED);
    EO_CHECK_MSG(strstr(eo_last_error(), "tr0") && strstr(eo_last_error(), "body"), "%s", eo_last_error());
    struct stat sb;
    EO_CHECK(stat(dst, &sb) != 0);
    eo_graph_free(&g);
  }
  eo_model_free(m);
  free(src);
  free(dst);
}

/* A stage that changes an output's element type gets a ValueInfoProto made from the IR. */
static void test_output_type_change(void) {
  char *src = fmt("%s/fx/meta13.onnx", tmp), *dst = fmt("%s/retyped.onnx", tmp);
  eo_model *m = load(src);
  if (m) {
    eo_graph g;
    EO_ASSERT(eo_graph_clone(&m->graph, &g) == EO_OK);
    int y = eo_graph_find(&g, "Y");
    EO_ASSERT(y >= 0);
    g.tensors[y].dtype = EO_FLOAT16;
    g.tensors[y].rank = 2;
    g.tensors[y].dims[0] = 3;
    g.tensors[y].dims[1] = 5;
    EO_CHECK_MSG(eo_model_save_graph(m, &g, dst) == EO_OK, "%s", eo_last_error());
    eo_model *b = load(dst);
    if (b) {
      const Onnx__ValueInfoProto *vi = b->proto->graph->output[0];
      int dt = 0, rank = -1;
      int64_t dims[EO_MAX_RANK];
      const char *params[EO_MAX_RANK];
      EO_CHECK(same_str(vi->name, "Y") && eo_onnx_value_type(vi, &dt, &rank, dims, params) == EO_OK);
      EO_CHECK(dt == EO_FLOAT16 && rank == 2 && dims[0] == 3 && dims[1] == 5);
      // the other outputs keep their original protos
      EO_CHECK(b->proto->graph->n_output == m->proto->graph->n_output);
    }
    eo_model_free(b);
    eo_graph_free(&g);
  }
  eo_model_free(m);
  free(src);
  free(dst);
}

/* value_info of an intermediate whose element type a stage changed is rewritten from the IR (a stale
 * entry makes ORT refuse the file); an entry that still holds is kept as written. */
static void test_value_info_type_change(void) {
  char *src = fmt("%s/fx/meta13.onnx", tmp), *dst = fmt("%s/revi.onnx", tmp);
  eo_model *m = load(src);
  if (m) {
    eo_graph g;
    EO_ASSERT(eo_graph_clone(&m->graph, &g) == EO_OK);
    int a = eo_graph_find(&g, "a");
    EO_ASSERT(a >= 0);
    g.tensors[a].dtype = EO_FLOAT16;  // the file says float ["batch", 3]
    EO_ASSERT(eo_model_save_graph(m, &g, dst) == EO_OK);
    eo_model *b = load(dst);
    if (b) {
      const Onnx__GraphProto *bg = b->proto->graph, *og = m->proto->graph;
      EO_CHECK(bg->n_value_info == 2);
      const Onnx__ValueInfoProto *va = find_vi(bg->value_info, bg->n_value_info, "a");
      const Onnx__ValueInfoProto *vb = find_vi(bg->value_info, bg->n_value_info, "b");
      const Onnx__ValueInfoProto *ob = find_vi(og->value_info, og->n_value_info, "b");
      int dt = 0, rank = -1;
      int64_t dims[EO_MAX_RANK];
      const char *params[EO_MAX_RANK] = {0};
      EO_CHECK(va && eo_onnx_value_type(va, &dt, &rank, dims, params) == EO_OK);
      // no shape in the IR: the file's shape is kept
      EO_CHECK_MSG(dt == EO_FLOAT16 && rank == 2 && dims[1] == 3 && params[0] && strcmp(params[0], "batch") == 0,
                   "a: elem type %d rank %d", dt, rank);
      // "b" untouched: still float with its dim_param, the original proto's doc string
      EO_CHECK(vb && ob && eo_onnx_value_type(vb, &dt, &rank, dims, params) == EO_OK);
      EO_CHECK(dt == EO_FLOAT && rank == 2 && params[0] && strcmp(params[0], "batch") == 0);
      EO_CHECK(vb && ob && same_str(vb->doc_string, ob->doc_string));
    }
    eo_model_free(b);
    // with a shape in the IR, the entry is made from the IR: element type and dims
    g.tensors[a].rank = 2;
    g.tensors[a].dims[0] = 4;
    g.tensors[a].dims[1] = 3;
    EO_ASSERT(eo_model_save_graph(m, &g, dst) == EO_OK);
    b = load(dst);
    if (b) {
      const Onnx__GraphProto *bg = b->proto->graph;
      const Onnx__ValueInfoProto *va = find_vi(bg->value_info, bg->n_value_info, "a");
      int dt = 0, rank = -1;
      int64_t dims[EO_MAX_RANK];
      const char *params[EO_MAX_RANK] = {0};
      EO_CHECK(va && eo_onnx_value_type(va, &dt, &rank, dims, params) == EO_OK);
      EO_CHECK(dt == EO_FLOAT16 && rank == 2 && dims[0] == 4 && dims[1] == 3);
    }
    eo_model_free(b);
    eo_graph_free(&g);
  }
  eo_model_free(m);
  free(src);
  free(dst);
}

/* The default passes (BN folded into Conv weights, activations fused into Conv, Constants folded)
 * then save: the written model is valid ONNX and computes what the original does. */
static void test_passes_roundtrip(void) {
  const char *src = "examples/tiny_cnn.onnx";
  char *dst = fmt("%s/tiny_cnn_opt.onnx", tmp);
  eo_model *m = load(src);
  if (!m) {
    free(dst);
    return;
  }
  eo_graph g;
  EO_ASSERT(eo_graph_clone(&m->graph, &g) == EO_OK);
  eo_pass_stats ps;
  EO_CHECK_MSG(eo_passes_run_default(&g, &ps) == EO_OK, "%s", eo_last_error());
  EO_CHECK(ps.bn_folded == 2 && ps.act_fused >= 2);
  eo_status st = eo_model_save_graph(m, &g, dst);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  eo_graph_free(&g);
  eo_model *b = st ? NULL : load(dst);
  if (b) {
    int bn = 0, relu = 0, clip = 0;
    for (int i = 0; i < b->graph.n_nodes; i++) {
      bn += strcmp(b->graph.nodes[i].op_type, "BatchNormalization") == 0;
      relu += strcmp(b->graph.nodes[i].op_type, "Relu") == 0;
      clip += strcmp(b->graph.nodes[i].op_type, "Clip") == 0;
    }
    EO_CHECK_MSG(bn == 0 && relu == 2 && clip == 1, "bn %d relu %d clip %d", bn, relu, clip);
    EO_CHECK(b->runnable);
    // same outputs as the original on the example input
    int dt, rank;
    int64_t dims[EO_MAX_RANK];
    void *x;
    size_t nx;
    EO_ASSERT(eo_npy_read("examples/tiny_cnn_input.npy", &dt, &rank, dims, &x, &nx) == EO_OK);
    const eo_model *models[2] = {m, b};
    float *outs[2] = {NULL, NULL};
    size_t nout = 0;
    for (int k = 0; k < 2; k++) {
      eo_session *s = NULL;
      eo_input_shape shp = {.name = "input", .rank = rank, .dims = dims};
      if (eo_session_create(models[k], NULL, &s) || eo_session_prepare(s, 1, &shp) ||
          eo_session_set_input(s, "input", dt, rank, dims, x) || eo_session_run(s)) {
        EO_CHECK_MSG(0, "run %s: %s", k ? dst : src, eo_last_error());
      } else {
        eo_tensor_view y;
        EO_ASSERT(eo_session_output(s, 0, &y) == EO_OK);
        outs[k] = malloc(y.nbytes);
        memcpy(outs[k], y.data, y.nbytes);
        nout = y.nbytes / sizeof(float);
      }
      eo_session_free(s);
    }
    if (outs[0] && outs[1]) {
      double maxd = 0;
      for (size_t i = 0; i < nout; i++) maxd = fmax(maxd, fabs((double)outs[0][i] - outs[1][i]));
      EO_CHECK_MSG(maxd < 1e-4 && nout > 0, "max difference %g over %zu outputs", maxd, nout);
    }
    free(outs[0]);
    free(outs[1]);
    free(x);
  }
  char *cmd = fmt(PY " -c \"import onnx; onnx.checker.check_model(onnx.load('%s'), full_check=True)\"", dst);
  EO_CHECK_MSG(sh(cmd) == 0, "checker (with shape inference) rejected the optimized model");
  free(cmd);
  eo_model_free(b);
  eo_model_free(m);
  free(dst);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/eo_test_save_XXXXXX");
  EO_ASSERT(mkdtemp(tmp) != NULL);
  test_fixtures();
  test_conformance_models();
  test_python_checks();
  test_errors();
  test_modified_graph();
  test_unencodable();
  test_output_type_change();
  test_value_info_type_change();
  test_passes_roundtrip();
  for (int i = 0; i < n_py; i++) {
    free(py_src[i]);
    free(py_saved[i]);
  }
  char *cmd = fmt("rm -rf '%s'", tmp);
  if (eo_test_fail_ == 0) sh(cmd);
  else fprintf(stderr, "test files kept in %s\n", tmp);
  free(cmd);
  return eo_test_finish();
}
