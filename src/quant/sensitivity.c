/* Per-node sensitivity of static INT8 and automatic mixed precision (edgeopt/quant.h).
 *
 * Calibration runs once (eo_quantize_variant with a cache); every variant re-plans which nodes are
 * quantized from the kept raw ranges, is written to a temporary file and scored: output SQNR of
 * graph output 0 against the FP32 model on the first calibration items, and, with labelled data,
 * the task metric through eo_evaluate (the same loop as `edgeopt eval`). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/core.h"
#include "edgeopt/evaluate.h"
#include "edgeopt/quant.h"
#include "edgeopt/runtime.h"
#include "quant/quant_internal.h"

void eo_quant_sens_options_init(eo_quant_sens_options *o) {
  memset(o, 0, sizeof *o);
  o->metric.task = -1;
  o->metric.sqnr_items = 4;
}

void eo_quant_mixed_options_init(eo_quant_mixed_options *o) {
  memset(o, 0, sizeof *o);
  o->metric.task = -1;
  o->metric.sqnr_items = 4;
  o->floor = 0.01;
  o->floor_relative = 1;
  o->max_float = 8;
  o->min_sqnr_db = 30;
  o->max_evals = 16;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- scoring */

typedef struct scorer {
  const eo_quant_metric_options *mo;
  eo_quant_cache cache;
  int n_ref;
  float **ref;        /* FP32 output 0 per kept calibration item */
  int64_t *ref_n;
  int task;          /* eo_eval_task; -1 until guessed */
  int use_map50;
  const char *metric_name;
  char tmpdir[4096];
  char path[4200];    /* the current variant's file */
  int counter;
} scorer;

static void scorer_free(scorer *sc) {
  for (int i = 0; i < sc->n_ref; i++) free(sc->ref[i]);
  free(sc->ref);
  free(sc->ref_n);
  eo_quant_cache_free(&sc->cache);
  if (sc->path[0]) unlink(sc->path);
  if (sc->tmpdir[0]) rmdir(sc->tmpdir);
}

static eo_status run_item(eo_session *s, const eo_model *m, const eo_tensor_view *x, eo_tensor_view *y) {
  const eo_value_desc *in = eo_model_input(m, 0);
  eo_input_shape shp = {in->name, x->rank, x->dims, 0, NULL};
  eo_status st = eo_session_prepare(s, 1, &shp);
  if (!st) st = eo_session_set_input(s, in->name, x->dtype, x->rank, x->dims, x->data);
  if (!st) st = eo_session_run(s);
  if (!st) st = eo_session_output(s, 0, y);
  if (!st && y->dtype != EO_FLOAT) st = eo_error(EO_ERR_UNSUPPORTED, "output 0 of the model is %s, expected float32", eo_dtype_name(y->dtype));
  return st;
}

/* Output SQNR over the kept items and (with eval data) the task metric of the model at path.
 * record: the FP32 references are recorded instead (first call, the source model). */
static eo_status score(scorer *sc, const char *path, bool record, double *metric, double *sqnr_db) {
  eo_model *m = NULL;
  eo_session *s = NULL;
  eo_eval_result *res = NULL;
  double *sig = NULL, *err = NULL;
  eo_session_options so = {0};
  so.threads = sc->mo->threads;
  *metric = NAN;
  *sqnr_db = NAN;
  eo_status st = eo_model_load(path, NULL, &m);
  if (!st) st = eo_session_create(m, &so, &s);
  if (st) goto out;
  if (record) {
    if (!(sc->ref = eo_calloc((size_t)sc->cache.n_items + 1, sizeof *sc->ref)) ||
        !(sc->ref_n = eo_calloc((size_t)sc->cache.n_items + 1, sizeof *sc->ref_n))) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
    if (sc->task < 0) {  // guess: [N, C] scores -> classify
      const eo_value_desc *o0 = eo_model_output(m, 0);
      sc->task = o0->rank == 2 ? EO_EVAL_CLASSIFY : EO_EVAL_DETECT;
    }
  }
  // per channel (axis 1) sums: a channel of small values (a detector's 0..1 scores beside boxes in
  // pixels) counts as much as a large one
  int64_t nch = 0;
  for (int i = 0; i < sc->cache.n_items; i++) {
    eo_tensor_view y;
    if ((st = run_item(s, m, &sc->cache.items[i], &y))) goto out;
    int64_t n = eo_numel(y.rank, y.dims);
    const float *v = y.data;
    int64_t c = y.rank >= 2 && y.dims[1] > 0 ? y.dims[1] : 1, inner = 1;
    for (int d = 2; d < y.rank; d++) inner *= y.dims[d];
    if (!sig) {
      nch = c;
      sig = eo_calloc((size_t)c, sizeof(double));
      err = eo_calloc((size_t)c, sizeof(double));
      if (!sig || !err) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
        goto out;
      }
    } else if (c != nch) {
      st = eo_error(EO_ERR_SHAPE, "%s: output 0 has %lld channels on one item, %lld on another", path, (long long)c,
                    (long long)nch);
      goto out;
    }
    if (record) {
      if (!(sc->ref[i] = eo_malloc((size_t)n * sizeof(float) + 1))) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
        goto out;
      }
      memcpy(sc->ref[i], v, (size_t)n * sizeof(float));
      sc->ref_n[i] = n;
      sc->n_ref = i + 1;
      continue;
    }
    if (i >= sc->n_ref || n != sc->ref_n[i]) {
      st = eo_error(EO_ERR_SHAPE, "%s: output 0 has %lld values, the FP32 model's %lld", path, (long long)n,
                    (long long)(i < sc->n_ref ? sc->ref_n[i] : -1));
      goto out;
    }
    for (int64_t k = 0; k < n; k++) {
      double r = sc->ref[i][k], d = r - v[k];
      int64_t ch = (k / inner) % c;
      sig[ch] += r * r;
      err[ch] += d * d;
    }
  }
  if (record) {
    *sqnr_db = INFINITY;
  } else {  // mean over channels of the per-channel SQNR in dB, each capped to +-120 dB
    double sum = 0;
    bool exact = true;
    for (int64_t ch = 0; ch < nch; ch++) {
      exact &= err[ch] == 0;
      double db = err[ch] == 0 ? 120 : sig[ch] == 0 ? -120 : 10.0 * log10(sig[ch] / err[ch]);
      sum += db > 120 ? 120 : db < -120 ? -120 : db;
    }
    *sqnr_db = exact ? INFINITY : nch ? sum / (double)nch : NAN;
  }
  if (sc->mo->eval_data) {
    eo_eval_options e;
    eo_eval_options_init(&e);
    e.task = (eo_eval_task)sc->task;
    e.data.split = sc->mo->eval_split ? sc->mo->eval_split : "val";
    e.data.limit = sc->mo->eval_limit;
    e.threads = sc->mo->threads;
    if ((st = eo_evaluate(m, sc->mo->eval_data, &e, &res))) {
      st = eo_error_wrap(st, "evaluating %s", path);
      goto out;
    }
    if (sc->task == EO_EVAL_CLASSIFY && res->classification) *metric = res->classification->top1;
    else if (res->detection) *metric = sc->use_map50 ? res->detection->map50 : res->detection->map;
  }
out:
  free(sig);
  free(err);
  eo_eval_result_free(res);
  eo_session_free(s);
  eo_model_free(m);
  return st;
}

/* Calibrates in_path once (the cache), writes nothing lasting, scores FP32 and the plain INT8. */
static eo_status scorer_open(scorer *sc, const char *in_path, const eo_quant_options *opts,
                             const eo_quant_metric_options *mo, double *fp_metric, double *q_metric,
                             double *q_sqnr) {
  memset(sc, 0, sizeof *sc);
  sc->mo = mo;
  if (opts->mode != EO_QUANT_INT8)
    return eo_error(EO_ERR_INVALID, "sensitivity / mixed precision need the static INT8 mode");
  sc->task = mo->task < 0 ? -1 : mo->task;
  if (mo->task >= 0 && mo->task != EO_EVAL_DETECT && mo->task != EO_EVAL_CLASSIFY)
    return eo_error(EO_ERR_INVALID, "sensitivity: task must be detect or classify");
  const char *metric = mo->metric;
  if (metric && strcmp(metric, "map50") && strcmp(metric, "map50-95") && strcmp(metric, "top1"))
    return eo_error(EO_ERR_INVALID, "unknown metric '%s' (expected map50-95, map50 or top1)", metric);
  sc->use_map50 = metric && !strcmp(metric, "map50");
  const char *tmp = getenv("TMPDIR");
  snprintf(sc->tmpdir, sizeof sc->tmpdir, "%s/edgeopt-sens-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(sc->tmpdir)) {
    sc->tmpdir[0] = 0;
    return eo_error(EO_ERR_IO, "cannot create a temporary folder under %s", tmp && tmp[0] ? tmp : "/tmp");
  }
  snprintf(sc->path, sizeof sc->path, "%s/variant.onnx", sc->tmpdir);
  eo_quant_variant v = {0};
  v.cache_out = &sc->cache;
  v.keep_items = mo->sqnr_items > 0 ? mo->sqnr_items : 1;
  v.no_layer_report = 1;
  eo_status st = eo_quantize_variant(in_path, sc->path, opts, &v, NULL);
  if (!st) st = score(sc, in_path, true, fp_metric, q_sqnr);
  if (!st) st = score(sc, sc->path, false, q_metric, q_sqnr);
  if (!st && sc->task == EO_EVAL_CLASSIFY && metric && strcmp(metric, "top1"))
    st = eo_error(EO_ERR_INVALID, "metric '%s' is for detectors; this model is a classifier (top1)", metric);
  if (!st && sc->task == EO_EVAL_DETECT && metric && !strcmp(metric, "top1"))
    st = eo_error(EO_ERR_INVALID, "metric 'top1' is for classifiers; this model is scored as a detector");
  if (mo->eval_data)
    sc->metric_name = sc->task == EO_EVAL_CLASSIFY ? "top1" : sc->use_map50 ? "mAP@0.5" : "mAP@0.5:0.95";
  return st;
}

/* Quantizes with the extra float nodes and scores the result. */
static eo_status score_variant(scorer *sc, const char *in_path, const eo_quant_options *opts,
                               const char *const *skip, int n_skip, bool with_metric, double *metric,
                               double *sqnr_db) {
  eo_quant_variant v = {0};
  v.cache_in = &sc->cache;
  v.skip = skip;
  v.n_skip = n_skip;
  v.no_layer_report = 1;
  eo_status st = eo_quantize_variant(in_path, sc->path, opts, &v, NULL);
  if (st) return st;
  eo_quant_metric_options mo = *sc->mo;  // SQNR only: no evaluation
  if (!with_metric) mo.eval_data = NULL;
  const eo_quant_metric_options *keep = sc->mo;
  sc->mo = &mo;
  st = score(sc, sc->path, false, metric, sqnr_db);
  sc->mo = keep;
  return st;
}

/* ---------------------------------------------------------------- sensitivity */

void eo_quant_sens_report_free(eo_quant_sens_report *r) {
  if (!r) return;
  for (int i = 0; i < r->n_rows; i++) free(r->rows[i].name);
  free(r->rows);
  free(r);
}

/* Most sensitive first. only_quantized = 0: the largest metric gain (then SQNR) from keeping the node
 * in float; 1: the largest loss (lowest metric, then lowest SQNR) from quantizing it alone. */
static int g_only_q;
static double key_metric(const eo_quant_sens_row *r) { return isnan(r->metric_delta) ? -INFINITY : r->metric_delta; }
static int cmp_rows(const void *pa, const void *pb) {
  const eo_quant_sens_row *a = pa, *b = pb;
  double ma = key_metric(a), mb = key_metric(b);
  if (g_only_q) ma = isnan(a->metric_delta) ? INFINITY : a->metric_delta, mb = isnan(b->metric_delta) ? INFINITY : b->metric_delta;
  if (ma != mb) return g_only_q ? (ma < mb ? -1 : 1) : (ma > mb ? -1 : 1);
  double sa = isnan(a->sqnr_db) ? -INFINITY : a->sqnr_db, sb = isnan(b->sqnr_db) ? -INFINITY : b->sqnr_db;
  if (sa == sb) return strcmp(a->name, b->name);
  return g_only_q ? (sa < sb ? -1 : 1) : (sa > sb ? -1 : 1);
}
static int cmp_rows_sqnr(const void *pa, const void *pb) {
  const eo_quant_sens_row *a = pa, *b = pb;
  double sa = isnan(a->sqnr_db) ? -INFINITY : a->sqnr_db, sb = isnan(b->sqnr_db) ? -INFINITY : b->sqnr_db;
  if (sa == sb) return strcmp(a->name, b->name);
  return g_only_q ? (sa < sb ? -1 : 1) : (sa > sb ? -1 : 1);
}

static eo_status sensitivity(scorer *sc, const char *in_path, const eo_quant_options *opts,
                             const eo_quant_sens_options *so, eo_quant_sens_report *r) {
  char **names = NULL;
  const char **ops = NULL;
  const char **skip = NULL;
  int n = 0;
  eo_status st = eo_quant_candidates(in_path, opts, &names, &ops, &n);
  if (st) return st;
  if (!(r->rows = eo_calloc((size_t)n + 1, sizeof *r->rows)) || !(skip = eo_calloc((size_t)n + 1, sizeof *skip))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  bool eval = sc->mo->eval_data != NULL;
  bool all_metric = eval && so->max_nodes <= 0;
  int total = n + (eval && !all_metric ? (so->max_nodes < n ? so->max_nodes : n) : 0), done = 0;
  for (int i = 0; i < n; i++) {
    eo_quant_sens_row *row = &r->rows[r->n_rows++];
    row->name = names[i];
    names[i] = NULL;
    row->op_type = ops[i];
    row->metric = row->metric_delta = NAN;
    int ns = 0;
    if (so->only_quantized) {
      for (int k = 0; k < n; k++)
        if (k != i) skip[ns++] = names[k] ? names[k] : r->rows[k].name;
    } else {
      skip[ns++] = row->name;
    }
    if ((st = score_variant(sc, in_path, opts, skip, ns, all_metric, &row->metric, &row->sqnr_db))) goto out;
    if (sc->mo->progress) sc->mo->progress(sc->mo->user, ++done, total);
  }
  g_only_q = so->only_quantized;
  if (eval && !all_metric) {  // metric for the max_nodes most sensitive by SQNR
    qsort(r->rows, (size_t)r->n_rows, sizeof *r->rows, cmp_rows_sqnr);
    for (int i = 0; i < r->n_rows && i < so->max_nodes; i++) {
      int ns = 0;
      if (so->only_quantized) {
        for (int k = 0; k < r->n_rows; k++)
          if (k != i) skip[ns++] = r->rows[k].name;
      } else {
        skip[ns++] = r->rows[i].name;
      }
      double sq;
      if ((st = score_variant(sc, in_path, opts, skip, ns, true, &r->rows[i].metric, &sq))) goto out;
      if (sc->mo->progress) sc->mo->progress(sc->mo->user, ++done, total);
    }
  }
  for (int i = 0; i < r->n_rows; i++)
    if (!isnan(r->rows[i].metric))
      r->rows[i].metric_delta = r->rows[i].metric - (so->only_quantized ? r->fp32_metric : r->quant_metric);
  qsort(r->rows, (size_t)r->n_rows, sizeof *r->rows, cmp_rows);
out:
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  free((void *)ops);
  free((void *)skip);
  return st;
}

eo_status eo_quant_sensitivity(const char *in_path, const eo_quant_options *opts, const eo_quant_sens_options *sens,
                               eo_quant_sens_report **out) {
  if (!out) return eo_error(EO_ERR_INVALID, "eo_quant_sensitivity: out is required");
  *out = NULL;
  if (!in_path || !opts) return eo_error(EO_ERR_INVALID, "eo_quant_sensitivity: model path and options are required");
  eo_quant_sens_options defaults;
  if (!sens) {
    eo_quant_sens_options_init(&defaults);
    sens = &defaults;
  }
  double t0 = now_s();
  scorer sc;
  eo_quant_sens_report *r = eo_calloc(1, sizeof *r);
  if (!r) return eo_error(EO_ERR_NOMEM, "out of memory");
  r->only_quantized = sens->only_quantized;
  eo_status st = scorer_open(&sc, in_path, opts, &sens->metric, &r->fp32_metric, &r->quant_metric, &r->quant_sqnr_db);
  r->metric_name = sc.metric_name;
  if (!st) st = sensitivity(&sc, in_path, opts, sens, r);
  scorer_free(&sc);
  r->seconds = now_s() - t0;
  if (st) eo_quant_sens_report_free(r);
  else *out = r;
  return st;
}

/* ---------------------------------------------------------------- mixed precision */

void eo_quant_mixed_report_free(eo_quant_mixed_report *r) {
  if (!r) return;
  for (int i = 0; i < r->n_steps; i++) free(r->steps[i].kept);
  free(r->steps);
  for (int i = 0; i < r->n_tries; i++) free(r->tries[i].node);
  free(r->tries);
  eo_quant_report_free(r->quant);
  free(r);
}

eo_status eo_quantize_auto_mixed(const char *in_path, const char *out_path, const eo_quant_options *opts,
                                 const eo_quant_mixed_options *mixed, eo_quant_mixed_report **out) {
  if (!out) return eo_error(EO_ERR_INVALID, "eo_quantize_auto_mixed: out is required");
  *out = NULL;
  if (!in_path || !out_path || !opts)
    return eo_error(EO_ERR_INVALID, "eo_quantize_auto_mixed: model paths and options are required");
  eo_quant_mixed_options defaults;
  if (!mixed) {
    eo_quant_mixed_options_init(&defaults);
    mixed = &defaults;
  }
  struct stat sa, sb;  // refused before any work (eo_quantize would refuse at the end)
  if (strcmp(in_path, out_path) == 0 ||
      (stat(in_path, &sa) == 0 && stat(out_path, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino))
    return eo_error(EO_ERR_INVALID, "output path '%s' is the input model: refusing to overwrite the original",
                    out_path);
  if (mixed->max_float < 0 || mixed->max_evals < 0 || !(mixed->floor >= 0))
    return eo_error(EO_ERR_INVALID, "auto mixed precision: max_float and max_evals must be >= 0 and floor >= 0");
  double t0 = now_s();
  scorer sc;
  eo_quant_sens_report sr = {0};
  eo_quant_sens_options so;
  eo_quant_sens_options_init(&so);
  so.metric = mixed->metric;
  // the metric is measured for twice as many candidates as may be kept (ranked by SQNR first)
  so.max_nodes = mixed->max_float * 2 > 4 ? mixed->max_float * 2 : 4;
  const char **skip = NULL;
  eo_quant_mixed_report *r = eo_calloc(1, sizeof *r);
  if (!r) return eo_error(EO_ERR_NOMEM, "out of memory");
  r->max_evals = mixed->max_evals;
  double qm, qs;
  eo_status st = scorer_open(&sc, in_path, opts, &mixed->metric, &r->fp32_metric, &qm, &qs);
  bool eval = mixed->metric.eval_data != NULL;
  r->metric_name = eval ? sc.metric_name : "output SQNR dB";
  if (st) goto out;
  r->target = !eval ? mixed->min_sqnr_db
              : mixed->floor_relative ? r->fp32_metric * (1.0 - mixed->floor) : r->fp32_metric - mixed->floor;
  if (!(r->steps = eo_calloc((size_t)mixed->max_float + 1, sizeof *r->steps)) ||
      !(r->tries = eo_calloc((size_t)mixed->max_evals + 1, sizeof *r->tries))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto out;
  }
  r->steps[0].metric = qm;
  r->steps[0].sqnr_db = qs;
  r->n_steps = 1;
#define SCORE_OF(m, s) (eval ? (m) : (s))
  // a tiny tolerance: the metric is a ratio of counts, the floor a product of doubles
  bool met = SCORE_OF(qm, qs) >= r->target - 1e-12;
  int n_skip = 0;
  r->stop_reason = met                      ? "target met"
                   : mixed->max_float == 0 ? "max_float reached"
                   : mixed->max_evals == 0 ? "evaluation budget reached"
                                           : "candidates exhausted";
  if (!met && mixed->max_float > 0 && mixed->max_evals > 0) {
    sr.quant_metric = qm;
    sr.fp32_metric = r->fp32_metric;
    if ((st = sensitivity(&sc, in_path, opts, &so, &sr))) goto out;
    if (!(skip = eo_calloc((size_t)sr.n_rows + 1, sizeof *skip))) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto out;
    }
    // Greedy, most sensitive first: a node stays in float only when its step improves the score
    // measured with the nodes kept so far (a node can help alone yet add nothing once another is
    // in float); otherwise it goes back to INT8 and the next candidate is tried.
    for (int k = 0; k < sr.n_rows && !met; k++) {
      if (r->n_steps > mixed->max_float) {
        r->stop_reason = "max_float reached";
        break;
      }
      if (r->n_tries >= mixed->max_evals) {
        r->stop_reason = "evaluation budget reached";
        break;
      }
      const eo_quant_mixed_step *cur = &r->steps[r->n_steps - 1];
      eo_quant_mixed_try *t = &r->tries[r->n_tries];
      t->metric_before = cur->metric;
      t->sqnr_before = cur->sqnr_db;
      if (!(t->node = eo_strdup(sr.rows[k].name))) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
        goto out;
      }
      t->op_type = sr.rows[k].op_type;
      r->n_tries++;
      skip[n_skip] = sr.rows[k].name;
      if ((st = score_variant(&sc, in_path, opts, skip, n_skip + 1, eval, &t->metric_after, &t->sqnr_after)))
        goto out;
      // NAN compares false: a step that cannot be scored is undone
      t->kept = SCORE_OF(t->metric_after, t->sqnr_after) > SCORE_OF(t->metric_before, t->sqnr_before);
      if (!t->kept) continue;
      n_skip++;
      eo_quant_mixed_step *s = &r->steps[r->n_steps++];
      s->metric = t->metric_after;
      s->sqnr_db = t->sqnr_after;
      s->op_type = t->op_type;
      if (!(s->kept = eo_strdup(t->node))) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
        goto out;
      }
      met = SCORE_OF(s->metric, s->sqnr_db) >= r->target - 1e-12;
      if (met) r->stop_reason = "target met";
    }
  }
#undef SCORE_OF
  r->met = met;
  {  // the final file, from the same calibration, with the per-layer report
    eo_quant_variant v = {0};
    v.cache_in = &sc.cache;
    v.skip = skip;
    v.n_skip = n_skip;
    st = eo_quantize_variant(in_path, out_path, opts, &v, &r->quant);
  }
out:
  for (int i = 0; i < sr.n_rows; i++) free(sr.rows[i].name);
  free(sr.rows);
  free((void *)skip);
  scorer_free(&sc);
  r->seconds = now_s() - t0;
  if (st) eo_quant_mixed_report_free(r);
  else *out = r;
  return st;
}

/* ---------------------------------------------------------------- JSON */

static cJSON *num(double v) {
  if (isnan(v)) return cJSON_CreateNull();
  if (isinf(v)) return cJSON_CreateString(v > 0 ? "inf" : "-inf");
  return cJSON_CreateNumber(v);
}

static eo_status finish_json(cJSON *root, char **out) {
  *out = root ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  return *out ? EO_OK : eo_error(EO_ERR_NOMEM, "out of memory");
}

eo_status eo_quant_sens_report_to_json(const eo_quant_sens_report *r, char **out) {
  if (!r || !out) return eo_error(EO_ERR_INVALID, "eo_quant_sens_report_to_json: report and out are required");
  cJSON *root = cJSON_CreateObject(), *rows = cJSON_CreateArray();
  cJSON_AddNumberToObject(root, "schema_version", 1);
  cJSON_AddItemToObject(root, "metric_name", r->metric_name ? cJSON_CreateString(r->metric_name) : cJSON_CreateNull());
  cJSON_AddItemToObject(root, "fp32_metric", num(r->fp32_metric));
  cJSON_AddItemToObject(root, "quant_metric", num(r->quant_metric));
  cJSON_AddItemToObject(root, "quant_sqnr_db", num(r->quant_sqnr_db));
  cJSON_AddBoolToObject(root, "only_quantized", r->only_quantized != 0);
  cJSON_AddItemToObject(root, "seconds", num(r->seconds));
  for (int i = 0; i < r->n_rows; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", r->rows[i].name);
    cJSON_AddStringToObject(o, "op_type", r->rows[i].op_type);
    cJSON_AddItemToObject(o, "sqnr_db", num(r->rows[i].sqnr_db));
    cJSON_AddItemToObject(o, "metric", num(r->rows[i].metric));
    cJSON_AddItemToObject(o, "metric_delta", num(r->rows[i].metric_delta));
    cJSON_AddItemToArray(rows, o);
  }
  cJSON_AddItemToObject(root, "rows", rows);
  return finish_json(root, out);
}

eo_status eo_quant_mixed_report_to_json(const eo_quant_mixed_report *r, char **out) {
  if (!r || !out) return eo_error(EO_ERR_INVALID, "eo_quant_mixed_report_to_json: report and out are required");
  cJSON *root = cJSON_CreateObject(), *steps = cJSON_CreateArray();
  cJSON_AddNumberToObject(root, "schema_version", 1);
  cJSON_AddStringToObject(root, "metric_name", r->metric_name ? r->metric_name : "");
  cJSON_AddItemToObject(root, "fp32_metric", num(r->fp32_metric));
  cJSON_AddItemToObject(root, "target", num(r->target));
  cJSON_AddBoolToObject(root, "met", r->met != 0);
  cJSON_AddItemToObject(root, "seconds", num(r->seconds));
  for (int i = 0; i < r->n_steps; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "kept", r->steps[i].kept ? cJSON_CreateString(r->steps[i].kept) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "op_type", r->steps[i].op_type ? cJSON_CreateString(r->steps[i].op_type) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "metric", num(r->steps[i].metric));
    cJSON_AddItemToObject(o, "sqnr_db", num(r->steps[i].sqnr_db));
    cJSON_AddItemToArray(steps, o);
  }
  cJSON_AddItemToObject(root, "steps", steps);
  cJSON *tries = cJSON_CreateArray();
  for (int i = 0; i < r->n_tries; i++) {
    const eo_quant_mixed_try *t = &r->tries[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "node", t->node);
    cJSON_AddStringToObject(o, "op_type", t->op_type ? t->op_type : "");
    cJSON_AddItemToObject(o, "metric_before", num(t->metric_before));
    cJSON_AddItemToObject(o, "metric_after", num(t->metric_after));
    cJSON_AddItemToObject(o, "sqnr_before", num(t->sqnr_before));
    cJSON_AddItemToObject(o, "sqnr_after", num(t->sqnr_after));
    cJSON_AddBoolToObject(o, "kept", t->kept != 0);
    cJSON_AddItemToArray(tries, o);
  }
  cJSON_AddItemToObject(root, "tries", tries);
  cJSON_AddNumberToObject(root, "max_evals", r->max_evals);
  cJSON_AddStringToObject(root, "stop_reason", r->stop_reason ? r->stop_reason : "");
  if (r->quant) {
    cJSON_AddNumberToObject(root, "bytes_after", (double)r->quant->bytes_after);
    cJSON_AddNumberToObject(root, "tail_float", r->quant->tail_float);
  }
  return finish_json(root, out);
}
