/* edgeopt optimize: PROFILE -> OPTIMIZE -> BENCHMARK -> VALIDATE -> PACKAGE into one folder. */
#undef _POSIX_C_SOURCE
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>

#include <cjson/cJSON.h>

#include "core/core.h"
#include "core/sysinfo.h"
#include "edgeopt/pipeline.h"
#include "edgeopt/quant.h"
#include "pipeline_internal.h"

#define REPORT_SCHEMA_VERSION 1
#define HOST_LABEL "host estimate (edgeopt runtime on this machine, not target hardware)"

void eo_optimize_options_init(eo_optimize_options *o) {
  memset(o, 0, sizeof *o);
  o->task = EO_EVAL_DETECT;
  o->floor = 1.0;
  o->target = "cpu-generic";
  o->calib_limit = 100;
  o->warmup = 5;
  o->iters = 30;
}

static void say(const eo_optimize_options *o, const char *fmt, ...) EO_PRINTF(2, 3);
static void say(const eo_optimize_options *o, const char *fmt, ...) {
  if (!o->log) return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  o->log(o->log_user, line);
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *s = eo_malloc(n);
  if (s) snprintf(s, n, "%s/%s", a, b);
  return s;
}

static eo_status make_dir(const char *path) {
  if (mkdir(path, 0777) == 0 || errno == EEXIST) return EO_OK;
  return eo_error(EO_ERR_IO, "%s: cannot create folder: %s", path, strerror(errno));
}

/* mkdir -p */
static eo_status make_dirs(const char *path) {
  char buf[PATH_MAX];
  if (strlen(path) >= sizeof buf) return eo_error(EO_ERR_IO, "%s: path too long", path);
  strcpy(buf, path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    eo_status st = make_dir(buf);
    *p = '/';
    if (st) return st;
  }
  return make_dir(buf);
}

static int dir_nonempty(const char *path) {
  DIR *d = opendir(path);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n > 0;
}

static eo_status copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb");
  if (!in) return eo_error(EO_ERR_IO, "%s: cannot open: %s", from, strerror(errno));
  FILE *out = fopen(to, "wb");
  if (!out) {
    fclose(in);
    return eo_error(EO_ERR_IO, "%s: cannot create: %s", to, strerror(errno));
  }
  char buf[1 << 16];
  size_t n;
  int bad = 0;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    if (fwrite(buf, 1, n, out) != n) bad = 1;
  bad |= ferror(in);
  fclose(in);
  if (fclose(out)) bad = 1;
  return bad ? eo_error(EO_ERR_IO, "copying %s to %s failed", from, to) : EO_OK;
}

static eo_status write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (!f) return eo_error(EO_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
  size_t n = strlen(text);
  int bad = fwrite(text, 1, n, f) != n;
  if (fclose(f)) bad = 1;
  return bad ? eo_error(EO_ERR_IO, "%s: write failed", path) : EO_OK;
}

static int64_t file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/* ---- one candidate ---- */

typedef struct ctx {
  const eo_optimize_options *o;
  eo_model *base_model;       /* the reference of a compare task */
  eo_eval_result *base_eval;  /* baseline's evaluation (preprocessing for the package) */
  const char *metric_name;
} ctx;

static double task_metric(const eo_eval_result *r, const char **name) {
  switch (r->task) {
    case EO_EVAL_DETECT: *name = "mAP@0.5"; return r->detection->map50;
    case EO_EVAL_CLASSIFY: *name = "top-1"; return r->classification->top1;
    default: break;
  }
  const eo_agree_report *a = r->agreement;
  if (a->detection) {
    *name = "mAP@0.5 vs reference detections";
    return a->detection->map50;
  }
  if (a->num_outputs > 0 && a->outputs[0].top1_agreement >= 0) {
    *name = "top-1 agreement";
    return a->outputs[0].top1_agreement;
  }
  *name = "cosine similarity (output 0)";
  return a->num_outputs > 0 ? a->outputs[0].cosine : NAN;
}

/* Benchmarks and evaluates the model file of c; failures are recorded on c, never returned,
 * except for the baseline (the caller refuses to continue without it). */
static eo_status measure(ctx *x, eo_optimize_candidate *c, eo_model **keep) {
  const eo_optimize_options *o = x->o;
  eo_model *m = NULL;
  eo_eval_result *r = NULL;
  c->metric = NAN;
  eo_status st = eo_model_load(c->file, NULL, &m);
  eo_model_info info;
  if (!st && !(st = eo_model_inspect(m, &info))) c->params = info.num_params, c->flops = info.flops;
  eo_bench_figures b;
  if (!st) {
    say(o, "  benchmark %s: %d warmup + %d iterations", c->name, o->warmup, o->iters);
    st = eo_bench_model(m, o->warmup, o->iters, o->threads, &b);
  }
  if (st) {
    c->note = eo_strdup(eo_last_error());
    goto done;
  }
  c->mean_ms = b.lat.mean, c->p50_ms = b.lat.p50, c->p95_ms = b.lat.p95, c->p99_ms = b.lat.p99;
  c->min_ms = b.lat.min, c->max_ms = b.lat.max, c->throughput = b.throughput;
  c->arena_bytes = b.arena_bytes, c->constant_bytes = b.constant_bytes;
  eo_eval_options eo;
  eo_eval_options_init(&eo);
  eo.task = o->task;
  eo.data.limit = o->limit;
  eo.threads = o->threads;
  if (o->task == EO_EVAL_COMPARE) eo.reference = x->base_model ? x->base_model : m;
  say(o, "  evaluate %s (%s) on %s", c->name, eo_eval_task_name(o->task), o->data_path);
  uint64_t t0 = eo_clock_ns();
  st = eo_evaluate(m, o->data_path, &eo, &r);
  c->eval_seconds = (double)(eo_clock_ns() - t0) / 1e9;
  if (st) {
    c->note = eo_strdup(eo_last_error());
    goto done;
  }
  c->metric = task_metric(r, &x->metric_name);
  c->measured = 1;
done:
  if (st) say(o, "  %s could not be measured in edgeopt: %s", c->name, c->note ? c->note : "?");
  if (!st && keep && !x->base_eval) x->base_eval = r, r = NULL;
  eo_eval_result_free(r);
  if (keep && !st) *keep = m;
  else eo_model_free(m);
  return st;
}

static void candidate_free(eo_optimize_candidate *c) {
  free(c->name), free(c->precision), free(c->file), free(c->status), free(c->note);
}

void eo_optimize_result_free(eo_optimize_result *r) {
  if (!r) return;
  for (int i = 0; i < r->num_candidates; i++) candidate_free(&r->candidates[i]);
  free(r->candidates), free(r->metric_name), free(r->source_sha256);
  free(r);
}

typedef struct plan_step {
  const char *name, *precision, *format_note;
  eo_quant_mode mode;
  eo_calib_method method;
  const char *next; /* what to try when rejected */
} plan_step;

static const plan_step plan[] = {
    {"fp16", "FP16", "ONNX FP16 (for GPU / TensorRT / ORT with FP16 kernels)", EO_QUANT_FP16, EO_CALIB_PERCENTILE,
     "keep more ops in FP32 (edgeopt quantize --mode fp16 --keep-fp32 OP)"},
    {"weight-int8", "INT8 weights, FP32 activations", "ONNX QDQ weights (ONNX Runtime CPU)", EO_QUANT_WEIGHT_INT8,
     EO_CALIB_PERCENTILE, "keep the most sensitive layers in float (--exclude REGEX: mixed precision)"},
    {"int8-percentile", "INT8 W8A8 (percentile 99.99)", "ONNX QDQ W8A8 (ONNX Runtime CPU)", EO_QUANT_INT8,
     EO_CALIB_PERCENTILE,
     "more calibration data, entropy/mse calibration, --bias-correction, keep the worst-SQNR layers in float "
     "(mixed precision), or QAT"},
    {"int8-entropy", "INT8 W8A8 (entropy)", "ONNX QDQ W8A8 (ONNX Runtime CPU)", EO_QUANT_INT8, EO_CALIB_ENTROPY,
     "percentile/mse calibration, more calibration data, mixed precision for the worst-SQNR layers, or QAT"},
    {"int4", "INT4 weights (block 32), FP32 activations", "ONNX DequantizeLinear block_size, opset 21",
     EO_QUANT_INT4, EO_CALIB_PERCENTILE,
     "a smaller block (--block-size 16), weight-only INT8 instead, or INT4 only on the largest layers"},
};
#define NPLAN ((int)(sizeof plan / sizeof plan[0]))

static double drop_of(const eo_optimize_options *o, double base, double m) {
  if (o->floor_absolute) return (base - m) * 100.0;
  return base > 0 ? (base - m) / base * 100.0 : (m < base ? INFINITY : 0.0);
}

static const char *floor_unit(const eo_optimize_options *o) { return o->floor_absolute ? " pt" : "%"; }

/* ---- outputs ---- */

static double mb(int64_t b) { return (double)b / (1024.0 * 1024.0); }

static void num_or_null(cJSON *o, const char *k, double v) {
  if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}

static cJSON *candidate_json(const eo_optimize_candidate *c) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", c->name);
  cJSON_AddStringToObject(j, "precision", c->precision);
  cJSON_AddStringToObject(j, "file", c->file);
  cJSON_AddStringToObject(j, "status", c->status);
  if (c->note) cJSON_AddStringToObject(j, "note", c->note);
  else cJSON_AddNullToObject(j, "note");
  cJSON_AddNumberToObject(j, "file_bytes", (double)c->file_bytes);
  cJSON_AddNumberToObject(j, "params", (double)c->params);
  cJSON_AddNumberToObject(j, "flops", (double)c->flops);
  cJSON_AddBoolToObject(j, "measured", c->measured);
  num_or_null(j, "metric", c->measured ? c->metric : NAN);
  num_or_null(j, "drop", c->measured ? c->drop : NAN);
  num_or_null(j, "sqnr_db", c->sqnr_db);
  cJSON *l = cJSON_AddObjectToObject(j, "latency_ms");
  cJSON_AddStringToObject(l, "label", HOST_LABEL);
  int ok = c->mean_ms > 0;
  num_or_null(l, "mean", ok ? c->mean_ms : NAN);
  num_or_null(l, "p50", ok ? c->p50_ms : NAN);
  num_or_null(l, "p95", ok ? c->p95_ms : NAN);
  num_or_null(l, "p99", ok ? c->p99_ms : NAN);
  num_or_null(l, "min", ok ? c->min_ms : NAN);
  num_or_null(l, "max", ok ? c->max_ms : NAN);
  num_or_null(j, "throughput_per_s", ok ? c->throughput : NAN);
  num_or_null(j, "arena_bytes", ok ? (double)c->arena_bytes : NAN);
  num_or_null(j, "constant_bytes", ok ? (double)c->constant_bytes : NAN);
  num_or_null(j, "eval_seconds", c->measured ? c->eval_seconds : NAN);
  return j;
}

static const char *utc_now(char *buf, size_t cap) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

static cJSON *value_json(const eo_value_desc *d) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", d->name);
  cJSON_AddStringToObject(j, "dtype", eo_dtype_name(d->dtype));
  cJSON *s = cJSON_AddArrayToObject(j, "shape");
  for (int k = 0; k < d->rank; k++)
    cJSON_AddItemToArray(s, d->dims[k] >= 0 ? cJSON_CreateNumber((double)d->dims[k])
                                            : cJSON_CreateString(d->dim_param[k] ? d->dim_param[k] : "?"));
  return j;
}

static eo_status write_json_file(const char *path, cJSON *j) {
  char *text = cJSON_Print(j);
  if (!text) return eo_error(EO_ERR_NOMEM, "%s: out of memory printing JSON", path);
  eo_status st = write_text(path, text);
  free(text);
  return st;
}

static eo_status write_package(ctx *x, const char *model_path, eo_optimize_result *res, const char *date) {
  const eo_optimize_options *o = x->o;
  const eo_optimize_candidate *c = &res->candidates[res->recommended];
  char *dir = join(o->outdir, "package"), *dst = NULL, *meta = NULL, *pre = NULL;
  eo_model *m = NULL;
  char *pre_json = NULL, *pre_yaml = NULL;
  cJSON *j = NULL;
  eo_status st = dir ? make_dir(dir) : eo_error(EO_ERR_NOMEM, "out of memory");
  if (st) goto done;
  const char *base = strrchr(c->file, '/');
  base = base ? base + 1 : c->file;
  if (!(dst = join(dir, base)) || !(meta = join(dir, "metadata.json")) || !(pre = join(dir, "preprocess.yaml"))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto done;
  }
  if ((st = copy_file(c->file, dst)) || (st = eo_model_load(dst, NULL, &m))) goto done;
  if ((st = eo_preprocess_to_json(&x->base_eval->preprocess, &pre_json)) ||
      (st = eo_preprocess_to_yaml(&x->base_eval->preprocess, &pre_yaml)) || (st = write_text(pre, pre_yaml)))
    goto done;
  j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "schema_version", REPORT_SCHEMA_VERSION);
  cJSON_AddStringToObject(j, "model_file", base);
  cJSON_AddStringToObject(j, "candidate", c->name);
  cJSON_AddStringToObject(j, "precision", c->precision);
  cJSON *src = cJSON_AddObjectToObject(j, "source");
  cJSON_AddStringToObject(src, "path", model_path);
  cJSON_AddStringToObject(src, "sha256", res->source_sha256);
  cJSON_AddStringToObject(j, "edgeopt_version", EO_VERSION_STRING);
  cJSON_AddStringToObject(j, "command_line", o->command_line ? o->command_line : "");
  cJSON_AddStringToObject(j, "date", date);
  cJSON_AddStringToObject(j, "target", o->target);
  cJSON_AddStringToObject(j, "runtime", "ONNX (edgeopt / ONNX Runtime CPU)");
  cJSON *pj = cJSON_Parse(pre_json);
  cJSON_AddItemToObject(j, "preprocessing", pj ? pj : cJSON_CreateNull());
  cJSON *ins = cJSON_AddArrayToObject(j, "inputs"), *outs = cJSON_AddArrayToObject(j, "outputs");
  for (int i = 0; i < eo_model_num_inputs(m); i++) cJSON_AddItemToArray(ins, value_json(eo_model_input(m, i)));
  for (int i = 0; i < eo_model_num_outputs(m); i++) cJSON_AddItemToArray(outs, value_json(eo_model_output(m, i)));
  cJSON *mt = cJSON_AddObjectToObject(j, "metrics");
  cJSON_AddStringToObject(mt, "name", res->metric_name);
  cJSON_AddStringToObject(mt, "task", eo_eval_task_name(o->task));
  cJSON_AddStringToObject(mt, "data", o->data_path);
  num_or_null(mt, "value", c->metric);
  num_or_null(mt, "baseline", res->candidates[0].metric);
  cJSON *bj = candidate_json(c);
  cJSON *lat = cJSON_DetachItemFromObject(bj, "latency_ms");
  cJSON *bench = cJSON_AddObjectToObject(j, "benchmark");
  cJSON_AddStringToObject(bench, "label", HOST_LABEL);
  cJSON_AddItemToObject(bench, "latency_ms", lat);
  num_or_null(bench, "throughput_per_s", c->throughput);
  cJSON_AddNumberToObject(bench, "iterations", o->iters);
  cJSON_AddNumberToObject(bench, "warmup", o->warmup);
  cJSON_Delete(bj);
  st = write_json_file(meta, j);
done:
  cJSON_Delete(j);
  eo_model_free(m);
  free(pre_json), free(pre_yaml), free(dir), free(dst), free(meta), free(pre);
  return st;
}

static void md_ratio(FILE *f, const char *what, double base, double opt, const char *fmt, const char *unit,
                     int bigger_better, const char *word) {
  fprintf(f, "| %s | ", what);
  fprintf(f, fmt, base);
  fprintf(f, "%s | ", unit);
  fprintf(f, fmt, opt);
  fprintf(f, "%s | ", unit);
  if (base > 0 && opt > 0) fprintf(f, "%.2fx %s |\n", bigger_better ? opt / base : base / opt, word);
  else fprintf(f, "n/a |\n");
}

static eo_status write_report_md(ctx *x, const char *model_path, const eo_optimize_result *r, const char *date) {
  const eo_optimize_options *o = x->o;
  char *path = join(o->outdir, "report.md");
  if (!path) return eo_error(EO_ERR_NOMEM, "out of memory");
  FILE *f = fopen(path, "wb");
  if (!f) {
    eo_status st = eo_error(EO_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    free(path);
    return st;
  }
  const eo_optimize_candidate *b = &r->candidates[0], *c = &r->candidates[r->recommended];
  const char *name = strrchr(model_path, '/');
  name = name ? name + 1 : model_path;
  fprintf(f, "## Model Optimization Report: %s\n\n", name);
  fprintf(f, "**Source**: ONNX FP32 (%.2f MB), sha256 `%s`  \n", mb(b->file_bytes), r->source_sha256);
  fprintf(f, "**Target Device**: %s (latency and memory below are %s)  \n", o->target, HOST_LABEL);
  fprintf(f, "**Optimization Pipeline**: profile baseline; candidates from the original:");
  for (int i = 1; i < r->num_candidates; i++) fprintf(f, " %s%s", r->candidates[i].name, i + 1 < r->num_candidates ? "," : "");
  fprintf(f, "; benchmark; validate against the floor; package `%s`  \n", c->name);
  fprintf(f, "**Date**: %s  \n**Task**: %s on `%s`%s; floor: %.3g%s drop of %s\n\n", date,
          eo_eval_task_name(o->task), o->data_path, o->limit ? " (subset)" : "", o->floor,
          o->floor_absolute ? " points" : "% relative", r->metric_name);
  fprintf(f, "### Baseline vs Optimized\n\n| Metric | Baseline | Optimized (%s) | Change |\n"
             "|--------|----------|-----------|--------|\n", c->name);
  md_ratio(f, "File Size", mb(b->file_bytes), mb(c->file_bytes), "%.3f", " MB", 0, "compression");
  md_ratio(f, "Latency (mean)", b->mean_ms, c->mean_ms, "%.3f", " ms", 0, "faster");
  md_ratio(f, "Latency (P95)", b->p95_ms, c->p95_ms, "%.3f", " ms", 0, "faster");
  md_ratio(f, "Memory (arena + constants)", mb(b->arena_bytes + b->constant_bytes),
           mb(c->arena_bytes + c->constant_bytes), "%.3f", " MB", 0, "smaller");
  fprintf(f, "| Accuracy (%s) | %.4f | %.4f | %+.3f%s (%s) |\n", r->metric_name, b->metric, c->metric,
          -c->drop + 0.0, floor_unit(o), c->drop <= o->floor ? "within floor" : "outside floor");
  md_ratio(f, "Throughput", b->throughput, c->throughput, "%.1f", " /s", 1, "higher");
  fprintf(f, "\nProcess peak RSS over the whole run: %.1f MB.\n\n", r->peak_rss_bytes >= 0 ? mb(r->peak_rss_bytes) : NAN);
  fprintf(f, "### Optimization Steps Applied\n\n| Step | Input | Output | Size | Latency | Accuracy |\n"
             "|------|-------|--------|------|---------|----------|\n");
  if (r->recommended) fprintf(f, "| 1. %s | %s | %s | %.3f MB | %.3f ms | %.4f |\n", c->name, name, c->file,
                              mb(c->file_bytes), c->mean_ms, c->metric);
  else fprintf(f, "| (none kept) | %s | %s | %.3f MB | %.3f ms | %.4f |\n", name, name, mb(b->file_bytes),
               b->mean_ms, b->metric);
  fprintf(f, "\n### Verdict\n\n");
  if (r->verdict_pass)
    fprintf(f, "PASS: Accuracy delta of %.3f%s is within the %.3g%s tolerance (%s, median latency %.2fx the baseline's speed).\n\n",
            c->drop, floor_unit(o), o->floor, floor_unit(o), c->name, c->p50_ms > 0 ? b->p50_ms / c->p50_ms : 0);
  else
    fprintf(f, "FAIL: no optimized candidate meets the %.3g%s tolerance; the package holds the original model.\n\n",
            o->floor, floor_unit(o));
  fprintf(f, "## Optimization Tradeoff Analysis: %s\n\n"
             "| Variant | Format | Precision | Size (MB) | Latency mean (ms) | P50 / P95 / P99 (ms) | Accuracy | Speedup (P50) | Acc. Delta | Status |\n"
             "|---------|--------|-----------|-----------|-------------|-----------|----------|---------|-----------|--------|\n", name);
  for (int i = 0; i < r->num_candidates; i++) {
    const eo_optimize_candidate *k = &r->candidates[i];
    fprintf(f, "| %s | ONNX | %s | %.3f | ", i ? k->name : "Baseline", k->precision, mb(k->file_bytes));
    if (k->mean_ms > 0) fprintf(f, "%.3f | %.3f / %.3f / %.3f | ", k->mean_ms, k->p50_ms, k->p95_ms, k->p99_ms);
    else fprintf(f, "not measured | - | ");
    if (k->measured) fprintf(f, "%.4f | %.2fx | %+.3f%s | ", k->metric, k->p50_ms > 0 ? b->p50_ms / k->p50_ms : 0,
                             -k->drop + 0.0, floor_unit(o));
    else fprintf(f, "not measured in edgeopt | - | - | ");
    fprintf(f, "%s%s |\n", k->status, i == r->recommended && i ? " (recommended)" : "");
  }
  fprintf(f, "\n");
  if (r->verdict_pass)
    fprintf(f, "**Recommendation**: %s provides %.2fx speedup (median latency) with %.3f%s accuracy loss (%s).\n\n",
            c->name, c->p50_ms > 0 ? b->p50_ms / c->p50_ms : 0, c->drop, floor_unit(o), r->metric_name);
  else
    fprintf(f, "**Recommendation**: keep the FP32 baseline; see the notes below for what to try next.\n\n");
  if (r->verdict_pass && c->p50_ms > b->p50_ms * 1.05)
    fprintf(f, "**Warning**: %s is not faster than the baseline on this host (median %.3f ms vs %.3f ms); its gain "
               "is the file size. The edgeopt runtime's speed is not the target runtime's.\n\n",
            c->name, c->p50_ms, b->p50_ms);
  fprintf(f, "### Notes per candidate\n\n");
  for (int i = 1; i < r->num_candidates; i++) {
    const eo_optimize_candidate *k = &r->candidates[i];
    fprintf(f, "- **%s** (%s)", k->name, k->status);
    if (isfinite(k->sqnr_db)) fprintf(f, ", output SQNR vs FP32 %.2f dB", k->sqnr_db);
    fprintf(f, ": %s\n", k->note ? k->note : "meets the floor");
  }
  fprintf(f, "\nLatency: %d timed iterations after %d warmup, random inputs, only inference timed "
             "(`edgeopt bench`'s method); %s. Memory: the runtime's planned arena plus constants.\n",
          o->iters, o->warmup, HOST_LABEL);
  int bad = ferror(f);
  if (fclose(f)) bad = 1;
  eo_status st = bad ? eo_error(EO_ERR_IO, "%s: write failed", path) : EO_OK;
  free(path);
  return st;
}

static eo_status write_report_json(ctx *x, const char *model_path, const eo_optimize_result *r, const char *date) {
  const eo_optimize_options *o = x->o;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "schema_version", REPORT_SCHEMA_VERSION);
  cJSON_AddStringToObject(j, "edgeopt_version", EO_VERSION_STRING);
  cJSON_AddStringToObject(j, "date", date);
  cJSON_AddStringToObject(j, "command_line", o->command_line ? o->command_line : "");
  cJSON *s = cJSON_AddObjectToObject(j, "source");
  cJSON_AddStringToObject(s, "path", model_path);
  cJSON_AddStringToObject(s, "sha256", r->source_sha256);
  cJSON_AddBoolToObject(s, "unchanged", 1);
  cJSON_AddStringToObject(j, "target", o->target);
  cJSON_AddStringToObject(j, "task", eo_eval_task_name(o->task));
  cJSON_AddStringToObject(j, "data", o->data_path);
  cJSON_AddNumberToObject(j, "limit", (double)o->limit);
  cJSON_AddStringToObject(j, "metric", r->metric_name);
  cJSON *fl = cJSON_AddObjectToObject(j, "floor");
  cJSON_AddNumberToObject(fl, "value", o->floor);
  cJSON_AddStringToObject(fl, "kind", o->floor_absolute ? "absolute_points" : "relative_percent");
  cJSON *bm = cJSON_AddObjectToObject(j, "benchmark");
  cJSON_AddStringToObject(bm, "label", HOST_LABEL);
  cJSON_AddNumberToObject(bm, "warmup", o->warmup);
  cJSON_AddNumberToObject(bm, "iterations", o->iters);
  num_or_null(j, "peak_rss_bytes", r->peak_rss_bytes >= 0 ? (double)r->peak_rss_bytes : NAN);
  cJSON *a = cJSON_AddArrayToObject(j, "candidates");
  for (int i = 0; i < r->num_candidates; i++) cJSON_AddItemToArray(a, candidate_json(&r->candidates[i]));
  cJSON_AddStringToObject(j, "recommended", r->candidates[r->recommended].name);
  cJSON_AddStringToObject(j, "verdict", r->verdict_pass ? "PASS" : "FAIL");
  char *path = join(o->outdir, "report.json");
  eo_status st = path ? write_json_file(path, j) : eo_error(EO_ERR_NOMEM, "out of memory");
  free(path);
  cJSON_Delete(j);
  return st;
}

/* ---- the run ---- */

static eo_status check_outdir(const char *model_path, const eo_optimize_options *o) {
  char mdir[PATH_MAX], odir[PATH_MAX];
  if (!realpath(model_path, mdir)) return eo_error(EO_ERR_IO, "%s: %s", model_path, strerror(errno));
  char *slash = strrchr(mdir, '/');
  if (slash) *(slash == mdir ? slash + 1 : slash) = 0;
  if (realpath(o->outdir, odir) && strcmp(odir, mdir) == 0)
    return eo_error(EO_ERR_INVALID, "output folder %s is the source model's folder: choose another (-o)", o->outdir);
  if (dir_nonempty(o->outdir) && !o->force)
    return eo_error(EO_ERR_INVALID, "output folder %s is not empty: choose another or pass --force", o->outdir);
  return EO_OK;
}

eo_status eo_optimize(const char *model_path, const eo_optimize_options *o, eo_optimize_result **out) {
  if (out) *out = NULL;
  if (!model_path || !o || !o->data_path || !o->outdir)
    return eo_error(EO_ERR_INVALID, "optimize: model, data and output folder are required");
  if (!(o->floor >= 0)) return eo_error(EO_ERR_INVALID, "optimize: the floor must be >= 0, got %g", o->floor);
  if (o->target && strcmp(o->target, "cpu-generic") != 0)
    return eo_error(EO_ERR_UNSUPPORTED, "optimize: target '%s' is not supported yet (only cpu-generic)", o->target);
  eo_optimize_options oo = *o;
  if (!oo.target) oo.target = "cpu-generic";
  o = &oo;
  eo_status st = check_outdir(model_path, o);
  if (st) return st;
  char sha_before[65], sha_after[65], date[32];
  if ((st = eo_sha256_file(model_path, sha_before))) return st;
  utc_now(date, sizeof date);
  ctx x = {o, NULL, NULL, "metric"};
  eo_optimize_result *r = eo_calloc(1, sizeof *r);
  char *cand_dir = join(o->outdir, "candidates");
  if (!r || !cand_dir || !(r->candidates = eo_calloc(NPLAN + 1, sizeof *r->candidates)) ||
      !(r->source_sha256 = eo_strdup(sha_before))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto fail;
  }
  if ((st = make_dirs(o->outdir)) || (st = make_dir(cand_dir))) goto fail;

  /* 1. PROFILE */
  say(o, "[1/5] PROFILE baseline %s (sha256 %.16s...)", model_path, sha_before);
  eo_optimize_candidate *b = &r->candidates[r->num_candidates++];
  b->name = eo_strdup("baseline"), b->precision = eo_strdup("FP32"), b->file = eo_strdup(model_path);
  b->status = eo_strdup("BASELINE");
  b->file_bytes = file_size(model_path);
  b->sqnr_db = NAN;
  if (measure(&x, b, &x.base_model)) {
    st = eo_error(EO_ERR_INVALID, "no baseline, stopping: the original model could not be measured: %s",
                  b->note ? b->note : "?");
    goto fail;
  }
  b->drop = 0;
  say(o, "  baseline: %.3f MB, %lld params, %.3g FLOPs, mean %.3f ms (p95 %.3f), %s %.4f", mb(b->file_bytes),
      (long long)b->params, (double)b->flops, b->mean_ms, b->p95_ms, x.metric_name, b->metric);
  if (!(r->metric_name = eo_strdup(x.metric_name))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto fail;
  }

  /* 2-4. OPTIMIZE, BENCHMARK, VALIDATE: each candidate from the original */
  for (int i = 0; i < NPLAN; i++) {
    const plan_step *p = &plan[i];
    eo_optimize_candidate *c = &r->candidates[r->num_candidates++];
    char fname[64];
    snprintf(fname, sizeof fname, "%s.onnx", p->name);
    c->name = eo_strdup(p->name), c->precision = eo_strdup(p->precision), c->file = join(cand_dir, fname);
    c->sqnr_db = NAN;
    c->metric = NAN;
    if (!c->name || !c->precision || !c->file) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto fail;
    }
    say(o, "[2/5] OPTIMIZE %s -> %s", p->name, c->file);
    eo_quant_options q;
    eo_quant_options_init(&q);
    q.mode = p->mode;
    q.method = p->method;
    if (p->mode == EO_QUANT_INT8) {
      q.calib_path = o->calib_path ? o->calib_path : o->data_path;
      q.calib_limit = o->calib_limit;
    }
    eo_quant_report *qr = NULL;
    if (eo_quantize(model_path, c->file, &q, &qr)) {
      char msg[1200];
      snprintf(msg, sizeof msg, "quantization failed: %s", eo_last_error());
      c->note = eo_strdup(msg), c->status = eo_strdup("FAILED");
      say(o, "  %s", msg);
      continue;
    }
    c->file_bytes = qr->bytes_after;
    if (isfinite(qr->output_sqnr_db) || isinf(qr->output_sqnr_db)) c->sqnr_db = qr->output_sqnr_db;
    eo_quant_report_free(qr);
    say(o, "[3/5] BENCHMARK %s", p->name);
    if (measure(&x, c, NULL)) {
      char msg[1400];
      snprintf(msg, sizeof msg, "not measured in edgeopt (the runtime cannot run this file: %s); for %s", c->note,
               p->format_note);
      free(c->note);
      c->note = eo_strdup(msg), c->status = eo_strdup("NOT MEASURED");
      continue;
    }
    c->drop = drop_of(o, b->metric, c->metric);
    int ok = c->drop <= o->floor + 1e-12;
    say(o, "[4/5] VALIDATE %s: %s %.4f (baseline %.4f, drop %.3f%s, floor %.3g%s) mean %.3f ms -> %s", p->name,
        x.metric_name, c->metric, b->metric, c->drop, floor_unit(o), o->floor, floor_unit(o), c->mean_ms,
        ok ? "ACCEPTED" : "REJECTED");
    c->status = eo_strdup(ok ? "ACCEPTED" : "REJECTED");
    if (!ok) {
      char msg[1200];
      snprintf(msg, sizeof msg, "drop %.3f%s exceeds the floor %.3g%s; try next: %s", c->drop, floor_unit(o), o->floor,
               floor_unit(o), p->next);
      c->note = eo_strdup(msg);
    } else {
      char msg[256];
      snprintf(msg, sizeof msg, "meets the floor; for %s", p->format_note);
      c->note = eo_strdup(msg);
    }
  }
  for (int i = 0; i < r->num_candidates; i++)
    if (!r->candidates[i].status) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto fail;
    }

  /* pick: the fastest accepted by median latency (the mean is at the mercy of a shared host's outliers) */
  r->recommended = 0;
  for (int i = 1; i < r->num_candidates; i++) {
    const eo_optimize_candidate *c = &r->candidates[i];
    if (strcmp(c->status, "ACCEPTED") == 0 &&
        (r->recommended == 0 || c->p50_ms < r->candidates[r->recommended].p50_ms))
      r->recommended = i;
  }
  r->verdict_pass = r->recommended != 0;

  /* 5. PACKAGE */
  say(o, "[5/5] PACKAGE %s -> %s/package", r->candidates[r->recommended].name, o->outdir);
  r->peak_rss_bytes = eo_proc_mem_bytes(0, EO_MEM_PEAK_RSS);
  if ((st = write_package(&x, model_path, r, date))) goto fail;
  if ((st = eo_sha256_file(model_path, sha_after))) goto fail;
  if (strcmp(sha_before, sha_after) != 0) {
    st = eo_error(EO_ERR_STATE, "%s changed during the run (sha256 %s -> %s)", model_path, sha_before, sha_after);
    goto fail;
  }
  if ((st = write_report_md(&x, model_path, r, date)) || (st = write_report_json(&x, model_path, r, date))) goto fail;
  say(o, "source unchanged (sha256 %s); report: %s/report.md", sha_after, o->outdir);
  eo_model_free(x.base_model);
  eo_eval_result_free(x.base_eval);
  free(cand_dir);
  if (out) *out = r;
  else eo_optimize_result_free(r);
  return EO_OK;
fail:
  eo_model_free(x.base_model);
  eo_eval_result_free(x.base_eval);
  free(cand_dir);
  eo_optimize_result_free(r);
  return st;
}
