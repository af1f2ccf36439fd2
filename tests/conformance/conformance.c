/* Runs Debian libonnx-testdata cases (model.onnx + test_data_set_N/{input,output}_K.pb) through
 * edgeopt and compares with ONNX's backend-test tolerances (rtol 1e-3, atol 1e-7; exact for
 * integers and bools). A case whose ops edgeopt does not claim (ops.def) is skipped and named in
 * the table; every case of a claimed op must pass: the process exits 1 on any failure.
 *
 *   eo_conformance [--root DIR] [--filter SUBSTR] [-v]
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edgeopt/runtime.h"
#include "onnx/onnx_internal.h"
#include "../onnx_pb.h"
#include "runtime/op.h"

#define RTOL 1e-3
#define ATOL 1e-7

typedef struct {
  char op[64];
  int pass, fail, skip;
} op_row;

static op_row rows[512];
static int n_rows;
static int verbose;

static op_row *row(const char *op) {
  for (int i = 0; i < n_rows; i++)
    if (strcmp(rows[i].op, op) == 0) return &rows[i];
  if (n_rows == 512) return &rows[511];
  snprintf(rows[n_rows].op, sizeof rows[n_rows].op, "%s", op);
  return &rows[n_rows++];
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static double elem(int dtype, const void *p, int64_t i) {
  eo_tview v = {.dtype = dtype, .data = (void *)p};
  return eo_tview_get_f64(&v, i);
}

/* Compares one output; returns 0 when equal within tolerance, else writes why into msg. */
static int compare(const eo_tensor_view *got, const eo_tensor *want, char *msg, size_t cap) {
  char a[128], b[128];
  if (got->dtype != want->dtype) {
    snprintf(msg, cap, "dtype %s, expected %s", eo_dtype_name(got->dtype), eo_dtype_name(want->dtype));
    return 1;
  }
  bool same = got->rank == want->rank;
  for (int d = 0; same && d < got->rank; d++) same = got->dims[d] == want->dims[d];
  if (!same) {
    snprintf(msg, cap, "shape %s, expected %s", eo_shape_str(got->rank, got->dims, a, sizeof a),
             eo_shape_str(want->rank, want->dims, b, sizeof b));
    return 1;
  }
  int64_t n = eo_numel(want->rank, want->dims);
  bool is_float = eo_dtype_is_float(want->dtype);
  if (want->dtype == EO_INT64 || want->dtype == EO_UINT64) {  // exact, without going through double
    if (n && memcmp(got->data, want->data, (size_t)n * 8) != 0) {
      for (int64_t i = 0; i < n; i++)
        if (((const int64_t *)got->data)[i] != ((const int64_t *)want->data)[i]) {
          snprintf(msg, cap, "element %lld: %lld, expected %lld", (long long)i, (long long)((const int64_t *)got->data)[i],
                   (long long)((const int64_t *)want->data)[i]);
          break;
        }
      return 1;
    }
    return 0;
  }
  for (int64_t i = 0; i < n; i++) {
    double x = elem(got->dtype, got->data, i), y = elem(want->dtype, want->data, i);
    bool ok;
    if (is_float) {
      if (isnan(y)) ok = isnan(x);
      else if (isinf(y)) ok = x == y;
      else ok = fabs(x - y) <= ATOL + RTOL * fabs(y);
    } else {
      ok = x == y;
    }
    if (!ok) {
      snprintf(msg, cap, "element %lld: %.9g, expected %.9g", (long long)i, x, y);
      return 1;
    }
  }
  return 0;
}

/* Runs one data set. freeze: 0 none, 1 integer inputs, 2 all inputs fixed at prepare. */
static int run_set(const eo_model *m, const char *setdir, int freeze, char *msg, size_t cap) {
  int n_in = 0, n_out = 0, rc = 1;
  eo_tensor ins[32], outs[32];
  char path[4096];
  for (;; n_in++) {
    snprintf(path, sizeof path, "%s/input_%d.pb", setdir, n_in);
    struct stat sb;
    if (n_in == 32 || stat(path, &sb) != 0) break;
    if (load_pb(path, &ins[n_in])) {
      snprintf(msg, cap, "%s", eo_last_error());
      goto out;
    }
  }
  for (;; n_out++) {
    snprintf(path, sizeof path, "%s/output_%d.pb", setdir, n_out);
    struct stat sb;
    if (n_out == 32 || stat(path, &sb) != 0) break;
    if (load_pb(path, &outs[n_out])) {
      snprintf(msg, cap, "%s", eo_last_error());
      goto out;
    }
  }
  // ONNX 1.12 wrote its bfloat16 test data with data_type UINT16: read those bits as bfloat16.
  for (int i = 0; i < n_in && i < eo_model_num_inputs(m); i++)
    if (ins[i].dtype == EO_UINT16 && eo_model_input(m, i)->dtype == EO_BFLOAT16) ins[i].dtype = EO_BFLOAT16;
  for (int i = 0; i < n_out && i < eo_model_num_outputs(m); i++)
    if (outs[i].dtype == EO_UINT16 && eo_model_output(m, i)->dtype == EO_BFLOAT16) outs[i].dtype = EO_BFLOAT16;
  if (n_in != eo_model_num_inputs(m)) {
    snprintf(msg, cap, "data set has %d inputs, model %d", n_in, eo_model_num_inputs(m));
    goto out;
  }
  eo_session *s = NULL;
  eo_input_shape shapes[32];
  for (int i = 0; i < n_in; i++) {
    bool fix = freeze == 2 || (freeze == 1 && !eo_dtype_is_float(ins[i].dtype));
    shapes[i] = (eo_input_shape){eo_model_input(m, i)->name, ins[i].rank, ins[i].dims, ins[i].dtype,
                                 fix ? ins[i].data : NULL};
  }
  eo_status st = eo_session_create(m, NULL, &s);
  if (!st) st = eo_session_prepare(s, n_in, shapes);
  for (int i = 0; !st && i < n_in; i++)
    if (!shapes[i].value) st = eo_session_set_input(s, shapes[i].name, ins[i].dtype, ins[i].rank, ins[i].dims, ins[i].data);
  if (!st) st = eo_session_run(s);
  if (st) {
    snprintf(msg, cap, "%s: %s", eo_status_name(st), eo_last_error());
    eo_session_free(s);
    rc = st == EO_ERR_UNSUPPORTED ? 2 : 1;
    goto out;
  }
  if (eo_session_num_outputs(s) < n_out) {
    snprintf(msg, cap, "model has %d outputs, data set %d", eo_session_num_outputs(s), n_out);
  } else {
    rc = 0;
    for (int o = 0; o < n_out && !rc; o++) {
      eo_tensor_view v;
      eo_session_output(s, o, &v);
      if (compare(&v, &outs[o], msg, cap)) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "output %d '%s': %s", o, v.name, msg);
        snprintf(msg, cap, "%s", tmp);
        rc = 1;
      }
    }
  }
  eo_session_free(s);
out:
  for (int i = 0; i < n_in; i++) eo_tensor_clear(&ins[i]);
  for (int i = 0; i < n_out; i++) eo_tensor_clear(&outs[i]);
  return rc;
}

static int n_pass, n_fail, n_skip, n_excluded, n_opset;

/* Cases of claimed ops that are not run, each with its reason. Keep this list short and exact. */
static const struct {
  const char *suffix, *reason;
} excluded[] = {
    {"/test_cast_FLOAT_to_BFLOAT16",
     "ONNX 1.12 test data truncates float->bfloat16; edgeopt rounds to nearest even like ONNX Runtime, PyTorch "
     "and later ONNX test data"},
    {"/test_castlike_FLOAT_to_BFLOAT16_expanded", "test data gives input 'like' shape [1], the model declares [3,4]"},
    {"/test_castlike_BFLOAT16_to_FLOAT_expanded", "test data gives input 'like' shape [1], the model declares [3,4]"},
    {"/test_cast_FLOAT_to_STRING", "string tensors are outside edgeopt's scope"},
    {"/test_cast_STRING_to_FLOAT", "string tensors are outside edgeopt's scope"},
    {"/test_castlike_FLOAT_to_STRING_expanded", "string tensors are outside edgeopt's scope"},
    {"/test_castlike_STRING_to_FLOAT_expanded", "string tensors are outside edgeopt's scope"},
    {"/test_training_dropout", "training-mode Dropout is random (edgeopt runs inference)"},
    {"/test_identity_opt", "optional values are outside edgeopt's scope (tensors only)"},
    {"/test_identity_sequence", "sequence values are outside edgeopt's scope (tensors only)"},
};

/* Ops of skipped cases that edgeopt does not claim, with case counts. */
static op_row unclaimed[512];
static int n_unclaimed;

static void note_unclaimed(const char *op) {
  for (int i = 0; i < n_unclaimed; i++)
    if (strcmp(unclaimed[i].op, op) == 0) {
      unclaimed[i].skip++;
      return;
    }
  if (n_unclaimed == 512) return;
  snprintf(unclaimed[n_unclaimed].op, sizeof unclaimed[n_unclaimed].op, "%s", op);
  unclaimed[n_unclaimed++].skip = 1;
}

/* Per suite: passed, failed, not run. */
static int suite_pass[4], suite_fail[4], suite_skip[4], cur_suite;

static const char *excluded_reason(const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof excluded / sizeof *excluded; i++) {
    size_t k = strlen(excluded[i].suffix);
    // an exact suffix, or a prefix of the case's last component (test_training_dropout*)
    const char *at = strstr(name, excluded[i].suffix);
    if (at && (at + k == name + n || strncmp(excluded[i].suffix, "/test_training_dropout", k) == 0)) return excluded[i].reason;
  }
  return NULL;
}

static void run_case(const char *dir, const char *name) {
  char path[4600], msg[1024] = "";
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  void *buf;
  size_t size;
  if (eo_read_file(path, &buf, &size)) return;
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, buf);
  if (!mp || !mp->graph) {
    free(buf);
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    return;
  }
  // The op(s) a case is counted under: its distinct op types; skipped if any is not claimed.
  char *ops[64];
  int n_ops = 0;
  bool claimed = true;
  for (size_t i = 0; i < mp->graph->n_node; i++) {
    const Onnx__NodeProto *np = mp->graph->node[i];
    bool seen = false;
    for (int k = 0; k < n_ops; k++) seen |= strcmp(ops[k], np->op_type) == 0;
    if (!seen && n_ops < 64) ops[n_ops++] = np->op_type;
    if (eo_op_lookup(np->domain, np->op_type) < 0) {
      if (claimed || !seen) note_unclaimed(np->op_type);
      claimed = false;
    }
  }
  if (n_ops) qsort(ops, (size_t)n_ops, sizeof *ops, cmp_str);
  char label[256] = "";
  size_t k = 0;
  for (int i = 0; i < n_ops && k < sizeof label; i++) k += (size_t)snprintf(label + k, sizeof label - k, "%s%s", i ? "+" : "", ops[i]);
  op_row *r = row(n_ops ? label : "(empty)");
  if (!claimed) {
    suite_skip[cur_suite]++;
    r->skip++;
    n_skip++;
    if (verbose > 1) printf("SKIP %s (%s)\n", name, label);
    goto done;
  }
  // edgeopt claims opsets 1..21 of the default domain; newer files are counted apart.
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
    if ((!o->domain || !*o->domain) && o->has_version && (o->version < 1 || o->version > 21)) {
      r->skip++;
      suite_skip[cur_suite]++;
      n_opset++;
      if (verbose > 1) printf("OPSET %s (%s): opset %lld\n", name, label, (long long)o->version);
      goto done;
    }
  }
  const char *why = excluded_reason(name);
  if (why) {
    r->skip++;
    suite_skip[cur_suite]++;
    n_excluded++;
    printf("EXCLUDED %s (%s): %s\n", name, label, why);
    goto done;
  }
  eo_model *m = NULL;
  eo_status st = eo_model_load_buffer(buf, size, dir, path, NULL, &m);
  int rc = 1;
  if (st) {
    snprintf(msg, sizeof msg, "load: %s: %s", eo_status_name(st), eo_last_error());
  } else {
    // Data sets: every test_data_set_N that exists.
    rc = 0;
    for (int set = 0; set < 16 && !rc; set++) {
      char setdir[4700];
      snprintf(setdir, sizeof setdir, "%s/test_data_set_%d", dir, set);
      struct stat sb;
      if (stat(setdir, &sb) != 0) break;
      rc = run_set(m, setdir, 1, msg, sizeof msg);
      if (rc == 2) rc = run_set(m, setdir, 2, msg, sizeof msg);  // value-dependent shapes: fix every input
    }
  }
  eo_model_free(m);
  if (rc) {
    r->fail++;
    suite_fail[cur_suite]++;
    n_fail++;
    printf("FAIL %s (%s): %s\n", name, label, msg);
  } else {
    r->pass++;
    suite_pass[cur_suite]++;
    n_pass++;
    if (verbose) printf("ok   %s\n", name);
  }
done:
  onnx__model_proto__free_unpacked(mp, NULL);
  free(buf);
}

static int cmp_row(const void *a, const void *b) { return strcmp(((const op_row *)a)->op, ((const op_row *)b)->op); }

int main(int argc, char **argv) {
  const char *root = "/usr/share/libonnx-testdata/data", *filter = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) root = argv[++i];
    else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) filter = argv[++i];
    else if (strcmp(argv[i], "-v") == 0) verbose++;
    else if (strcmp(argv[i], "-vv") == 0) verbose += 2;
    else {
      fprintf(stderr, "usage: eo_conformance [--root DIR] [--filter SUBSTR] [-v|-vv]\n");
      return 2;
    }
  }
  const char *suites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
  int found = 0;
  for (size_t s = 0; s < sizeof suites / sizeof *suites; s++) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, suites[s]);
    cur_suite = (int)s;
    DIR *d = opendir(dir);
    if (!d) continue;
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      if (filter && !strstr(e->d_name, filter)) continue;
      if (n == cap) names = realloc(names, (size_t)(cap = cap ? cap * 2 : 256) * sizeof *names);
      names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++) {
      char cdir[4400], label[600];
      snprintf(cdir, sizeof cdir, "%s/%s", dir, names[i]);
      snprintf(label, sizeof label, "%s/%s", suites[s], names[i]);
      run_case(cdir, label);
      found++;
      free(names[i]);
    }
    free(names);
  }
  if (!found) {
    fprintf(stderr, "eo_conformance: no cases under %s%s%s (install libonnx-testdata)\n", root,
            filter ? " matching " : "", filter ? filter : "");
    return 1;
  }
  if (n_rows) qsort(rows, (size_t)n_rows, sizeof *rows, cmp_row);
  printf("\n%-44s %6s %6s %6s\n", "op(s)", "pass", "fail", "skip");
  for (int i = 0; i < n_rows; i++)
    if (rows[i].pass || rows[i].fail || verbose > 1)
      printf("%-44s %6d %6d %6d\n", rows[i].op, rows[i].pass, rows[i].fail, rows[i].skip);
  printf("\nops edgeopt does not claim (cases skipped):");
  if (n_unclaimed) qsort(unclaimed, (size_t)n_unclaimed, sizeof *unclaimed, cmp_row);
  for (int i = 0; i < n_unclaimed; i++) printf("%s%s (%d)", i ? ", " : " ", unclaimed[i].op, unclaimed[i].skip);
  printf("\n\n%-20s %6s %6s %8s\n", "suite", "pass", "fail", "not run");
  for (size_t i = 0; i < sizeof suites / sizeof *suites; i++)
    printf("%-20s %6d %6d %8d\n", suites[i], suite_pass[i], suite_fail[i], suite_skip[i]);
  printf("\nnot run: %d cases of unclaimed ops, %d cases at opsets outside 1..21, %d excluded cases (listed above)\n",
         n_skip, n_opset, n_excluded);
  printf("\nconformance: %d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip + n_opset + n_excluded);
  return n_fail ? 1 : 0;
}
