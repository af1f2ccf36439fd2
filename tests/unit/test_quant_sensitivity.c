/* Sensitivity analysis and automatic mixed precision (src/quant/sensitivity.c) on the tiny example
 * CNN with random calibration tensors:
 *  - one row per node static INT8 quantizes, sorted by output SQNR (no labelled data);
 *  - a row's SQNR equals an independent computation: eo_quantize (full calibration, the node
 *    excluded by regex), both models run here on the same calibration items, per-channel SQNR
 *    averaged in dB as quant.h defines it;
 *  - auto mixed precision keeps nodes in the sensitivity order, one per step, stops at max_float
 *    when the target cannot be reached and at step 0 when it is already reached;
 *  - JSON and errors. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/npy.h"
#include "edgeopt/quant.h"
#include "edgeopt/runtime.h"
#include "quant/quant_internal.h"
#include "test.h"

#define MODEL "examples/tiny_cnn.onnx"
#define N_ITEMS 6
#define SQNR_ITEMS 2

static char dir[64], calib[96];
static float items[N_ITEMS][3 * 32 * 32];

static void make_calib(void) {
  snprintf(dir, sizeof dir, "/tmp/eo-sens-XXXXXX");
  if (!mkdtemp(dir)) abort();
  snprintf(calib, sizeof calib, "%s/calib", dir);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "mkdir -p %s", calib);
  if (system(cmd) != 0) abort();
  uint32_t s = 12345;
  for (int i = 0; i < N_ITEMS; i++) {
    for (int k = 0; k < 3 * 32 * 32; k++) {
      s = s * 1664525u + 1013904223u;
      items[i][k] = (float)((s >> 8) & 0xffff) / 65535.f * 2.f - 1.f;
    }
    char p[160];
    snprintf(p, sizeof p, "%s/c%d.npy", calib, i);
    EO_CHECK(eo_npy_write(p, EO_FLOAT, 4, (int64_t[]){1, 3, 32, 32}, items[i]) == EO_OK);
  }
}

/* Output 0 of the model at path for items[0..n). */
static int run_model(const char *path, int n, float *out, int64_t *cnt) {
  eo_model *m = NULL;
  eo_session *s = NULL;
  int ok = eo_model_load(path, NULL, &m) == EO_OK && eo_session_create(m, NULL, &s) == EO_OK;
  int64_t dims[4] = {1, 3, 32, 32};
  for (int i = 0; ok && i < n; i++) {
    eo_input_shape shp = {eo_model_input(m, 0)->name, 4, dims, 0, NULL};
    eo_tensor_view y;
    ok = eo_session_prepare(s, 1, &shp) == EO_OK &&
         eo_session_set_input(s, shp.name, EO_FLOAT, 4, dims, items[i]) == EO_OK && eo_session_run(s) == EO_OK &&
         eo_session_output(s, 0, &y) == EO_OK && y.rank == 2 && y.dims[1] == 10;
    if (ok) memcpy(out + i * 10, y.data, 10 * sizeof(float));
  }
  *cnt = (int64_t)n * 10;
  eo_session_free(s);
  eo_model_free(m);
  return ok;
}

/* quant.h's output SQNR: per channel (axis 1) over the items, mean of the dB values. */
static double sqnr_channels(const float *ref, const float *x, int n) {
  double sum = 0;
  for (int c = 0; c < 10; c++) {
    double sg = 0, e = 0;
    for (int i = 0; i < n; i++) {
      double r = ref[i * 10 + c], d = r - x[i * 10 + c];
      sg += r * r;
      e += d * d;
    }
    double db = e == 0 ? 120 : 10 * log10(sg / e);
    sum += db > 120 ? 120 : db < -120 ? -120 : db;
  }
  return sum / 10;
}

static void init_opts(eo_quant_options *o) {
  eo_quant_options_init(o);
  o->calib_path = calib;
}

static void test_candidates(void) {
  eo_quant_options o;
  init_opts(&o);
  char **names = NULL;
  const char **ops = NULL;
  int n = 0;
  EO_CHECK(eo_quant_candidates(MODEL, &o, &names, &ops, &n) == EO_OK);
  // batch-norm folded: 3 Conv, 2 Relu, MaxPool, AveragePool, Clip, GlobalAveragePool, Flatten, Gemm
  EO_CHECK_MSG(n == 11, "%d candidates", n);
  int convs = 0;
  for (int i = 0; i < n; i++) convs += strcmp(ops[i], "Conv") == 0;
  EO_CHECK(convs == 3);
  EO_CHECK(n > 0 && strcmp(names[n - 1], "/classifier/Gemm") == 0);
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  free((void *)ops);
}

static eo_quant_sens_report *test_sensitivity(void) {
  eo_quant_options o;
  init_opts(&o);
  eo_quant_sens_options so;
  eo_quant_sens_options_init(&so);
  so.metric.sqnr_items = SQNR_ITEMS;
  eo_quant_sens_report *r = NULL;
  EO_CHECK(eo_quant_sensitivity(MODEL, &o, &so, &r) == EO_OK);
  if (!r) return NULL;
  EO_CHECK(r->n_rows == 11);
  EO_CHECK(r->metric_name == NULL && isnan(r->fp32_metric) && isnan(r->quant_metric));
  EO_CHECK(isfinite(r->quant_sqnr_db) && r->quant_sqnr_db > 0);
  for (int i = 0; i < r->n_rows; i++) {
    EO_CHECK(isnan(r->rows[i].metric) && isnan(r->rows[i].metric_delta));
    if (i) EO_CHECK_MSG(r->rows[i - 1].sqnr_db >= r->rows[i].sqnr_db, "row %d", i);
  }
  // keeping the most sensitive node in float helps: its variant beats the fully quantized model
  EO_CHECK(r->rows[0].sqnr_db > r->quant_sqnr_db);

  // independent check of the first and last rows: full calibration, node excluded by regex
  float ref[SQNR_ITEMS * 10], q[SQNR_ITEMS * 10];
  int64_t nr, nq;
  EO_CHECK(run_model(MODEL, SQNR_ITEMS, ref, &nr));
  int check_rows[2] = {0, r->n_rows - 1};
  for (int k = 0; k < 2; k++) {
    const eo_quant_sens_row *row = &r->rows[check_rows[k]];
    char re[256], out[128];
    snprintf(re, sizeof re, "^%s$", row->name);
    snprintf(out, sizeof out, "%s/x%d.onnx", dir, k);
    eo_quant_options ox;
    init_opts(&ox);
    const char *ex[1] = {re};
    ox.exclude = ex, ox.n_exclude = 1;
    EO_CHECK(eo_quantize(MODEL, out, &ox, NULL) == EO_OK);
    EO_CHECK(run_model(out, SQNR_ITEMS, q, &nq));
    double want = sqnr_channels(ref, q, SQNR_ITEMS);
    EO_CHECK_MSG(fabs(want - row->sqnr_db) < 1e-6, "%s: independent %.6f dB, row %.6f dB", row->name, want,
                 row->sqnr_db);
  }
  {  // the fully quantized model
    char out[128];
    snprintf(out, sizeof out, "%s/full.onnx", dir);
    eo_quant_options of;
    init_opts(&of);
    EO_CHECK(eo_quantize(MODEL, out, &of, NULL) == EO_OK);
    EO_CHECK(run_model(out, SQNR_ITEMS, q, &nq));
    EO_CHECK_NEAR(sqnr_channels(ref, q, SQNR_ITEMS), r->quant_sqnr_db, 1e-6);
  }
  char *json = NULL;
  EO_CHECK(eo_quant_sens_report_to_json(r, &json) == EO_OK);
  cJSON *j = cJSON_Parse(json);
  EO_CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "rows")) == 11);
  EO_CHECK(j && cJSON_IsNull(cJSON_GetObjectItem(j, "metric_name")));
  cJSON_Delete(j);
  free(json);
  return r;
}

static void test_mixed(const eo_quant_sens_report *s) {
  eo_quant_options o;
  init_opts(&o);
  eo_quant_mixed_options mo;
  eo_quant_mixed_options_init(&mo);
  EO_CHECK(mo.floor == 0.01 && mo.floor_relative == 1 && mo.max_float == 8 && mo.min_sqnr_db == 30);
  mo.metric.sqnr_items = SQNR_ITEMS;
  mo.min_sqnr_db = 1000;  // unreachable: stops after max_float nodes
  mo.max_float = 2;
  char out[128];
  snprintf(out, sizeof out, "%s/mixed.onnx", dir);
  eo_quant_mixed_report *r = NULL;
  EO_CHECK(eo_quantize_auto_mixed(MODEL, out, &o, &mo, &r) == EO_OK);
  if (r && s) {
    EO_CHECK(r->n_steps == 3 && !r->met && r->target == 1000);
    EO_CHECK(r->steps[0].kept == NULL && fabs(r->steps[0].sqnr_db - s->quant_sqnr_db) < 1e-9);
    for (int k = 1; k < r->n_steps && k <= 2; k++)
      EO_CHECK_MSG(r->steps[k].kept && strcmp(r->steps[k].kept, s->rows[k - 1].name) == 0, "step %d keeps %s", k,
                   r->steps[k].kept ? r->steps[k].kept : "(null)");
    // step 1 is the sensitivity row of the same node
    EO_CHECK(r->n_steps > 1 && fabs(r->steps[1].sqnr_db - s->rows[0].sqnr_db) < 1e-9);
    EO_CHECK(r->quant && r->quant->bytes_after > 0 && access(out, F_OK) == 0);
    // the written file is the last step: two nodes in float
    float ref[SQNR_ITEMS * 10], q[SQNR_ITEMS * 10];
    int64_t n1, n2;
    EO_CHECK(run_model(MODEL, SQNR_ITEMS, ref, &n1) && run_model(out, SQNR_ITEMS, q, &n2));
    EO_CHECK_NEAR(sqnr_channels(ref, q, SQNR_ITEMS), r->steps[2].sqnr_db, 1e-6);
    char *json = NULL;
    EO_CHECK(eo_quant_mixed_report_to_json(r, &json) == EO_OK);
    cJSON *j = cJSON_Parse(json);
    EO_CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "steps")) == 3 && cJSON_IsFalse(cJSON_GetObjectItem(j, "met")));
    cJSON_Delete(j);
    free(json);
  }
  eo_quant_mixed_report_free(r);
  r = NULL;
  mo.min_sqnr_db = -1000;  // reached at once
  EO_CHECK(eo_quantize_auto_mixed(MODEL, out, &o, &mo, &r) == EO_OK);
  EO_CHECK(r && r->n_steps == 1 && r->met);
  eo_quant_mixed_report_free(r);
}

static void test_errors(void) {
  eo_quant_options o;
  init_opts(&o);
  o.mode = EO_QUANT_FP16;
  eo_quant_sens_report *r = NULL;
  EO_CHECK(eo_quant_sensitivity(MODEL, &o, NULL, &r) == EO_ERR_INVALID && r == NULL);
  init_opts(&o);
  eo_quant_sens_options so;
  eo_quant_sens_options_init(&so);
  so.metric.metric = "f1";
  EO_CHECK(eo_quant_sensitivity(MODEL, &o, &so, &r) == EO_ERR_INVALID && r == NULL);
  eo_quant_mixed_report *m = NULL;
  char out[128];
  snprintf(out, sizeof out, "%s/never.onnx", dir);
  eo_quant_mixed_options mo;
  eo_quant_mixed_options_init(&mo);
  mo.max_float = -1;
  EO_CHECK(eo_quantize_auto_mixed(MODEL, out, &o, &mo, &m) == EO_ERR_INVALID && m == NULL);
  EO_CHECK(access(out, F_OK) != 0);
  EO_CHECK(eo_quantize_auto_mixed(MODEL, MODEL, &o, NULL, &m) == EO_ERR_INVALID && m == NULL);
}

int main(void) {
  make_calib();
  test_candidates();
  eo_quant_sens_report *s = test_sensitivity();
  test_mixed(s);
  eo_quant_sens_report_free(s);
  test_errors();
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return eo_test_finish();
}
