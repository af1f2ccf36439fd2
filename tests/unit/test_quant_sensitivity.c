/* Sensitivity analysis and automatic mixed precision (src/quant/sensitivity.c) on the tiny example
 * CNN with random calibration tensors, and on a hand-built model where some steps provably change
 * nothing:
 *  - one row per node static INT8 quantizes, sorted by output SQNR (no labelled data);
 *  - a row's SQNR equals an independent computation: eo_quantize (full calibration, the node
 *    excluded by regex), both models run here on the same calibration items, per-channel SQNR
 *    averaged in dB as quant.h defines it;
 *  - auto mixed precision keeps nodes in the sensitivity order, one per step, stops at max_float
 *    when the target cannot be reached and at step 0 when it is already reached;
 *  - a step that does not improve the score is undone and the next candidate tried (see
 *    test_mixed_undo for the construction), the evaluation budget and the target stop the loop;
 *  - JSON and errors;
 *  - optimize's int8-mixed note words the outcome after the stop reason of each of these reports. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/npy.h"
#include "onnx.pb-c.h"
#include "edgeopt/quant.h"
#include "edgeopt/runtime.h"
#include "pipeline/pipeline_internal.h"
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
  // Off here: on tiny_cnn with 6 random items every further float layer lowers the corrected model's
  // in-sample SQNR, and these tests exercise the sensitivity and auto-mixed search itself.
  o->bias_correction = 0;
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

/* optimize's note on an int8-mixed candidate ends with eo_opt_mixed_outcome's clause */
static int outcome_is(const eo_quant_mixed_report *r, int max_float, const char *want) {
  char got[160];
  eo_opt_mixed_outcome(r, max_float, got, sizeof got);
  if (strcmp(got, want)) fprintf(stderr, "note outcome '%s', want '%s'\n", got, want);
  return strcmp(got, want) == 0;
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
    // every kept step is a try that improved; undone tries in between leave the score unchanged
    int kept = 0;
    for (int i = 0; i < r->n_tries; i++) {
      const eo_quant_mixed_try *t = &r->tries[i];
      EO_CHECK_MSG(t->kept == (t->sqnr_after > t->sqnr_before), "try %d (%s)", i, t->node);
      EO_CHECK(t->sqnr_before == r->steps[kept].sqnr_db);
      if (t->kept && ++kept < r->n_steps) EO_CHECK(strcmp(r->steps[kept].kept, t->node) == 0);
    }
    EO_CHECK(kept == 2 && strcmp(r->stop_reason, "max_float reached") == 0);
    EO_CHECK(outcome_is(r, mo.max_float, "the quantizer's target was not met within 2 layers"));
    EO_CHECK(r->steps[0].kept == NULL && fabs(r->steps[0].sqnr_db - s->quant_sqnr_db) < 1e-9);
    // steps are tried in the sensitivity order
    for (int k = 0; k < r->n_tries && k < s->n_rows; k++)
      EO_CHECK_MSG(strcmp(r->tries[k].node, s->rows[k].name) == 0, "try %d: %s", k, r->tries[k].node);
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


/* ---------------------------------------------------------------- a model where steps do nothing
 *
 *   x [1, 16] -> p1: Relu -> a ─┐
 *   x         -> p2: Relu -> b ─┴ mul: Mul -> c -> gemm: Gemm(W [16, 4], bias) -> y
 *
 * quantized with int8 symmetric activations and min/max ranges, and calibration data whose
 * largest value is positive (max x >= -min x). Then a, b and x share one scale s = max x / 127 and
 * zero point 0, so Q/DQ of a (or b) is exact: a = relu(DQ(x)) already lies on the grid. Hence:
 *   - alone, p1, p2 and mul change nothing (mul: c's Q/DQ stays for gemm, with the same range), so
 *     the sensitivity ranking is gemm (the only gain), then mul, p1, p2 (a tie, by name);
 *   - auto mixed precision keeps gemm (its weights and y's Q/DQ go), keeps mul (c's Q/DQ goes once
 *     both its readers are float), then tries p1: x is still quantized for p2 and p1 reads DQ(x),
 *     so a = relu(DQ(x)) exactly as before: no change, undone; p2 likewise; candidates exhausted. */
#define UNDO_K 16
#define UNDO_N 4
static char undo_model[128], undo_calib[128];
static float undo_items[N_ITEMS][UNDO_K];

static Onnx__ValueInfoProto *value_info(const char *name, int64_t d0, int64_t d1) {
  static Onnx__TensorShapeProto__Dimension dims[2][2];
  static Onnx__TensorShapeProto__Dimension *pdims[2][2];
  static Onnx__TensorShapeProto shape[2];
  static Onnx__TypeProto__Tensor tt[2];
  static Onnx__TypeProto type[2];
  static Onnx__ValueInfoProto vi[2];
  static int k;
  int i = k++ & 1;
  for (int d = 0; d < 2; d++) {
    onnx__tensor_shape_proto__dimension__init(&dims[i][d]);
    dims[i][d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    dims[i][d].dim_value = d ? d1 : d0;
    pdims[i][d] = &dims[i][d];
  }
  onnx__tensor_shape_proto__init(&shape[i]);
  shape[i].n_dim = 2;
  shape[i].dim = pdims[i];
  onnx__type_proto__tensor__init(&tt[i]);
  tt[i].has_elem_type = 1;
  tt[i].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tt[i].shape = &shape[i];
  onnx__type_proto__init(&type[i]);
  type[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type[i].tensor_type = &tt[i];
  onnx__value_info_proto__init(&vi[i]);
  vi[i].name = (char *)name;
  vi[i].type = &type[i];
  return &vi[i];
}

static void make_undo_model(void) {
  uint32_t s = 777;
  float w[UNDO_K * UNDO_N], bias[UNDO_N];
  for (int i = 0; i < UNDO_K * UNDO_N; i++) {
    s = s * 1664525u + 1013904223u;
    w[i] = (float)((s >> 8) & 0xffff) / 65535.f - 0.5f;
  }
  for (int i = 0; i < UNDO_N; i++) bias[i] = 0.1f * (float)(i + 1);
  Onnx__TensorProto tw, tb;
  int64_t dw[2] = {UNDO_K, UNDO_N}, db[1] = {UNDO_N};
  onnx__tensor_proto__init(&tw);
  tw.name = "W", tw.n_dims = 2, tw.dims = dw, tw.has_data_type = 1, tw.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tw.has_raw_data = 1, tw.raw_data.len = sizeof w, tw.raw_data.data = (uint8_t *)w;
  onnx__tensor_proto__init(&tb);
  tb.name = "bias", tb.n_dims = 1, tb.dims = db, tb.has_data_type = 1, tb.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  tb.has_raw_data = 1, tb.raw_data.len = sizeof bias, tb.raw_data.data = (uint8_t *)bias;
  Onnx__NodeProto nodes[4];
  char *in_p1[] = {"x"}, *out_p1[] = {"a"}, *out_p2[] = {"b"}, *in_mul[] = {"a", "b"}, *out_mul[] = {"c"};
  char *in_gemm[] = {"c", "W", "bias"}, *out_gemm[] = {"y"};
  struct { const char *name, *op; int ni; char **in; char **out; } spec[4] = {
      {"p1", "Relu", 1, in_p1, out_p1}, {"p2", "Relu", 1, in_p1, out_p2},
      {"mul", "Mul", 2, in_mul, out_mul}, {"gemm", "Gemm", 3, in_gemm, out_gemm}};
  Onnx__NodeProto *pn[4];
  for (int i = 0; i < 4; i++) {
    onnx__node_proto__init(&nodes[i]);
    nodes[i].name = (char *)spec[i].name;
    nodes[i].op_type = (char *)spec[i].op;
    nodes[i].n_input = (size_t)spec[i].ni;
    nodes[i].input = spec[i].in;
    nodes[i].n_output = 1;
    nodes[i].output = spec[i].out;
    pn[i] = &nodes[i];
  }
  Onnx__TensorProto *inits[2] = {&tw, &tb};
  Onnx__ValueInfoProto *gin[1] = {value_info("x", 1, UNDO_K)}, *gout[1] = {value_info("y", 1, UNDO_N)};
  Onnx__GraphProto g;
  onnx__graph_proto__init(&g);
  g.name = "undo", g.n_node = 4, g.node = pn, g.n_initializer = 2, g.initializer = inits;
  g.n_input = 1, g.input = gin, g.n_output = 1, g.output = gout;
  Onnx__OperatorSetIdProto op;
  onnx__operator_set_id_proto__init(&op);
  op.domain = "", op.has_version = 1, op.version = 13;
  Onnx__OperatorSetIdProto *ops[1] = {&op};
  Onnx__ModelProto m;
  onnx__model_proto__init(&m);
  m.has_ir_version = 1, m.ir_version = 7, m.n_opset_import = 1, m.opset_import = ops, m.graph = &g;
  m.producer_name = "test_quant_sensitivity";
  size_t n = onnx__model_proto__get_packed_size(&m);
  uint8_t *buf = malloc(n);
  if (!buf) abort();
  onnx__model_proto__pack(&m, buf);
  snprintf(undo_model, sizeof undo_model, "%s/undo.onnx", dir);
  FILE *f = fopen(undo_model, "wb");
  EO_ASSERT(f && fwrite(buf, 1, n, f) == n);
  fclose(f);
  free(buf);
  // calibration: x in [-0.5, 1), with 1.0 somewhere in item 0 so that max x > -min x
  snprintf(undo_calib, sizeof undo_calib, "%s/undo_calib", dir);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "mkdir -p %s", undo_calib);
  if (system(cmd) != 0) abort();
  for (int i = 0; i < N_ITEMS; i++) {
    for (int k = 0; k < UNDO_K; k++) {
      s = s * 1664525u + 1013904223u;
      undo_items[i][k] = (float)((s >> 8) & 0xffff) / 65536.f * 1.5f - 0.5f;
    }
    if (i == 0) undo_items[0][3] = 1.0f;
    char p[200];
    snprintf(p, sizeof p, "%s/c%d.npy", undo_calib, i);
    EO_CHECK(eo_npy_write(p, EO_FLOAT, 2, (int64_t[]){1, UNDO_K}, undo_items[i]) == EO_OK);
  }
}

/* Output y of the model at path for undo_items[0..n). */
static int run_undo(const char *path, int n, float *out) {
  eo_model *m = NULL;
  eo_session *s = NULL;
  int ok = eo_model_load(path, NULL, &m) == EO_OK && eo_session_create(m, NULL, &s) == EO_OK;
  int64_t dims[2] = {1, UNDO_K};
  for (int i = 0; ok && i < n; i++) {
    eo_input_shape shp = {"x", 2, dims, 0, NULL};
    eo_tensor_view y;
    ok = eo_session_prepare(s, 1, &shp) == EO_OK && eo_session_set_input(s, "x", EO_FLOAT, 2, dims, undo_items[i]) == EO_OK &&
         eo_session_run(s) == EO_OK && eo_session_output(s, 0, &y) == EO_OK && eo_numel(y.rank, y.dims) == UNDO_N;
    if (ok) memcpy(out + i * UNDO_N, y.data, UNDO_N * sizeof(float));
  }
  eo_session_free(s);
  eo_model_free(m);
  return ok;
}

static void undo_opts(eo_quant_options *o) {
  eo_quant_options_init(o);
  o->calib_path = undo_calib;
  o->act_int8 = 1;
  o->method = EO_CALIB_MINMAX;
}

/* y of the model quantized with the nodes `skip` (comma-separated) in float: one calibration
 * (eo_quantize_variant with a cache, as eo_quantize refuses a model whose weight ops are all in
 * float), then the variant; independent of the auto-mixed loop. */
static eo_quant_cache undo_cache;
static int quantize_undo(const char *skip, const char *name, float *y) {
  eo_quant_options o;
  undo_opts(&o);
  char out[192], list[64], *names[4];
  int n = 0;
  snprintf(list, sizeof list, "%s", skip);
  for (char *t = strtok(list, ","); t && n < 4; t = strtok(NULL, ",")) names[n++] = t;
  snprintf(out, sizeof out, "%s/%s.onnx", dir, name);
  eo_quant_variant v = {0};
  v.no_layer_report = 1;
  if (!undo_cache.nt) {
    v.cache_out = &undo_cache;
    if (eo_quantize_variant(undo_model, out, &o, &v, NULL) != EO_OK) {
      fprintf(stderr, "calibrate: %s\n", eo_last_error());
      return 0;
    }
    v.cache_out = NULL;
  }
  v.cache_in = &undo_cache;
  v.skip = (const char *const *)names;
  v.n_skip = n;
  if (eo_quantize_variant(undo_model, out, &o, &v, NULL) != EO_OK) {
    fprintf(stderr, "quantize %s: %s\n", name, eo_last_error());
    return 0;
  }
  if (!run_undo(out, SQNR_ITEMS, y)) {
    fprintf(stderr, "run %s: %s\n", name, eo_last_error());
    return 0;
  }
  return 1;
}

static void test_mixed_undo(void) {
  make_undo_model();
  // the construction, checked apart from the auto-mixed loop: x's largest value is positive,
  // p1 in float on top of {gemm, mul} gives the same bits; mul on top of {gemm} does not
  float lo = 0, hi = 0;
  for (int i = 0; i < N_ITEMS; i++)
    for (int k = 0; k < UNDO_K; k++) lo = fminf(lo, undo_items[i][k]), hi = fmaxf(hi, undo_items[i][k]);
  EO_CHECK(hi == 1.0f && -lo < hi);
  float y_g[SQNR_ITEMS * UNDO_N], y_gm[SQNR_ITEMS * UNDO_N], y_gm1[SQNR_ITEMS * UNDO_N], y_gm2[SQNR_ITEMS * UNDO_N];
  EO_CHECK(quantize_undo("gemm", "g", y_g) && quantize_undo("gemm,mul", "gm", y_gm) &&
           quantize_undo("gemm,mul,p1", "gm1", y_gm1) && quantize_undo("gemm,mul,p2", "gm2", y_gm2));
  eo_quant_cache_free(&undo_cache);
  EO_CHECK(memcmp(y_gm, y_gm1, sizeof y_gm) == 0 && memcmp(y_gm, y_gm2, sizeof y_gm) == 0);
  EO_CHECK(memcmp(y_g, y_gm, sizeof y_g) != 0);

  eo_quant_options o;
  undo_opts(&o);
  eo_quant_mixed_options mo;
  eo_quant_mixed_options_init(&mo);
  EO_CHECK(mo.max_evals == 16);
  mo.metric.sqnr_items = SQNR_ITEMS;
  mo.min_sqnr_db = 1000;  // unreachable: x's own Q/DQ stays while p1 or p2 is quantized
  char out[192];
  snprintf(out, sizeof out, "%s/undo_mixed.onnx", dir);
  eo_quant_mixed_report *r = NULL;
  EO_CHECK(eo_quantize_auto_mixed(undo_model, out, &o, &mo, &r) == EO_OK);
  if (!r) return;
  static const char *const want_node[4] = {"gemm", "mul", "p1", "p2"};
  static const int want_kept[4] = {1, 1, 0, 0};
  EO_CHECK_MSG(r->n_tries == 4, "%d steps tried", r->n_tries);
  for (int i = 0; i < r->n_tries && i < 4; i++) {
    const eo_quant_mixed_try *t = &r->tries[i];
    EO_CHECK_MSG(strcmp(t->node, want_node[i]) == 0 && t->kept == want_kept[i], "try %d: %s %s", i, t->node,
                 t->kept ? "kept" : "undone");
    EO_CHECK(isnan(t->metric_before) && isnan(t->metric_after));
    if (want_kept[i]) EO_CHECK_MSG(t->sqnr_after > t->sqnr_before, "try %d: %.6f -> %.6f", i, t->sqnr_before, t->sqnr_after);
    else EO_CHECK_MSG(t->sqnr_after == t->sqnr_before, "try %d: %.9f -> %.9f", i, t->sqnr_before, t->sqnr_after);
  }
  if (r->n_tries == 4) {
    // each step starts from the score of the last kept one: undone steps leave it unchanged
    EO_CHECK(r->tries[0].sqnr_before == r->steps[0].sqnr_db && r->tries[1].sqnr_before == r->tries[0].sqnr_after &&
             r->tries[2].sqnr_before == r->tries[1].sqnr_after && r->tries[3].sqnr_before == r->tries[1].sqnr_after);
  }
  EO_CHECK(r->n_steps == 3 && !r->met && strcmp(r->stop_reason, "candidates exhausted") == 0 && r->max_evals == 16);
  EO_CHECK(outcome_is(r, mo.max_float, "the quantizer's target was not met: every candidate layer was tried"));
  if (r->n_steps == 3)
    EO_CHECK(strcmp(r->steps[1].kept, "gemm") == 0 && strcmp(r->steps[2].kept, "mul") == 0 &&
             r->steps[2].sqnr_db == r->tries[1].sqnr_after);
  // the written file has exactly gemm and mul in float (p1, p2 back to INT8): the same bits as
  // the variant with those two in float
  float y_file[SQNR_ITEMS * UNDO_N];
  EO_CHECK(run_undo(out, SQNR_ITEMS, y_file) && memcmp(y_file, y_gm, sizeof y_gm) == 0);
  char *json = NULL;
  EO_CHECK(eo_quant_mixed_report_to_json(r, &json) == EO_OK);
  cJSON *j = cJSON_Parse(json);
  cJSON *tries = j ? cJSON_GetObjectItem(j, "tries") : NULL;
  EO_CHECK(cJSON_GetArraySize(tries) == 4 && cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(tries, 2), "kept")) &&
           cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(tries, 1), "kept")));
  EO_CHECK(j && cJSON_GetObjectItem(j, "max_evals")->valueint == 16 &&
           strcmp(cJSON_GetObjectItem(j, "stop_reason")->valuestring, "candidates exhausted") == 0);
  cJSON_Delete(j);
  free(json);
  double s1 = r->n_steps > 1 ? r->steps[1].sqnr_db : NAN;
  eo_quant_mixed_report_free(r);

  // the budget: 3 evaluations stop after the first undone step
  r = NULL;
  mo.max_evals = 3;
  EO_CHECK(eo_quantize_auto_mixed(undo_model, out, &o, &mo, &r) == EO_OK);
  EO_CHECK(r && r->n_tries == 3 && r->n_steps == 3 && !r->tries[2].kept &&
           strcmp(r->stop_reason, "evaluation budget reached") == 0 && r->max_evals == 3);
  // not "within 8 layers": two were kept when the budget ran out
  EO_CHECK(r && outcome_is(r, mo.max_float, "the quantizer's target was not met within its budget of 3 evaluations"));
  eo_quant_mixed_report_free(r);
  // the target: reached by the first step (its own score), nothing more is tried
  r = NULL;
  mo.max_evals = 16;
  mo.min_sqnr_db = s1;
  EO_CHECK(eo_quantize_auto_mixed(undo_model, out, &o, &mo, &r) == EO_OK);
  EO_CHECK(r && r->n_tries == 1 && r->n_steps == 2 && r->met && strcmp(r->stop_reason, "target met") == 0);
  EO_CHECK(r && outcome_is(r, mo.max_float, "the quantizer's target was met"));
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
  test_mixed_undo();
  test_errors();
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return eo_test_finish();
}
