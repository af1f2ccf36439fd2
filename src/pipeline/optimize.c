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
#include "edgeopt/export.h"
#include "edgeopt/pipeline.h"
#include "edgeopt/quant.h"
#include "edgeopt/report.h"
#include "onnx/onnx_internal.h"
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

/* temp file + rename: a reader (or a resumed run) never sees half a file under its final name */
static eo_status write_text_atomic(const char *path, const char *text) {
  size_t n = strlen(path) + 8;
  char *tmp = eo_malloc(n);
  if (!tmp) return eo_error(EO_ERR_NOMEM, "out of memory");
  snprintf(tmp, n, "%s.tmp", path);
  eo_status st = write_text(tmp, text);
  if (!st && rename(tmp, path) != 0) st = eo_error(EO_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
  if (st) remove(tmp);
  free(tmp);
  return st;
}

static char *fmt_dup(const char *fmt, ...) EO_PRINTF(1, 2);
static char *fmt_dup(const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return eo_strdup(buf);
}

static int push_str(char ***list, int *n, char *s) {
  if (!s) return 0;
  for (int i = 0; i < *n; i++)
    if (!strcmp((*list)[i], s)) {  // no duplicates
      free(s);
      return 1;
    }
  char **l = realloc(*list, sizeof *l * (size_t)(*n + 1));
  if (!l) {
    free(s);
    return 0;
  }
  l[(*n)++] = s;
  *list = l;
  return 1;
}

/* ---- the plan: candidates by target ---- */

enum { K_QUANT, K_TFLITE, K_MIXED };

typedef struct step {
  char name[40];
  char precision[64];
  const char *format;   /* "onnx" | "tflite" */
  const char *runtime;
  const char *next;     /* what to try when rejected */
  int kind;
  eo_quant_mode mode;
  int method;           /* eo_calib_method */
  int tfl_io;           /* eo_tflite_io */
  int use_recipe;       /* static INT8: the recipe's quantization section applies */
} step;

#define MAX_STEPS 16

static const char *const target_names[] = {"cpu-generic", "raspberry-pi-5", "jetson-orin-nano", "coral"};
enum { T_CPU, T_RPI5, T_JETSON, T_CORAL, NTARGETS };

static const char *const method_names[] = {"minmax", "percentile", "entropy", "mse"};

typedef struct plan {
  int n;
  step s[MAX_STEPS];
} plan;

static step *add_step(plan *p, const char *name, const char *precision, const char *format, const char *runtime,
                      int kind, eo_quant_mode mode, const char *next) {
  if (p->n >= MAX_STEPS) return NULL;
  step *s = &p->s[p->n++];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "%s", name);
  snprintf(s->precision, sizeof s->precision, "%s", precision);
  s->format = format, s->runtime = runtime, s->kind = kind, s->mode = mode, s->next = next;
  s->method = EO_CALIB_PERCENTILE;
  return s;
}

static void add_static_int8(plan *p, const eo_opt_recipe *rc, double percentile, const char *runtime) {
  static const int dflt[] = {EO_CALIB_PERCENTILE, EO_CALIB_ENTROPY};
  int n = rc && rc->n_methods ? rc->n_methods : 2;
  for (int i = 0; i < n; i++) {
    int m = rc && rc->n_methods ? rc->methods[i] : dflt[i];
    char name[40], prec[64];
    snprintf(name, sizeof name, "int8-%s", method_names[m]);
    if (m == EO_CALIB_PERCENTILE) snprintf(prec, sizeof prec, "INT8 W8A8 (percentile %g)", percentile);
    else snprintf(prec, sizeof prec, "INT8 W8A8 (%s)", method_names[m]);
    step *s = add_step(p, name, prec, "onnx", runtime, K_QUANT, EO_QUANT_INT8,
                       "more calibration data, another calibration method (recipe calibration.method), "
                       "keep the worst-SQNR layers in float (mixed precision: recipe "
                       "layer_configs skip), or QAT");
    if (s) s->method = m, s->use_recipe = 1;
  }
}

static void build_plan(int target, const eo_opt_recipe *rc, double percentile, plan *p) {
  p->n = 0;
  const char *fp16_next = "keep more ops in FP32 (edgeopt quantize --mode fp16 --keep-fp32 OP)";
  const char *dyn_next = "static INT8 (calibrated activations) or weight-only INT8";
  const char *w8_next = "keep the most sensitive layers in float (--exclude REGEX: mixed precision)";
  const char *i4_next = "a smaller block (--block-size 16), weight-only INT8 instead, or INT4 only on the largest layers";
  const char *mixed_next = "more layers in float (a larger budget), more calibration data, or QAT";
  const char *tfl_next = "the QDQ model it is written from decides its accuracy: improve that candidate first";
  switch (target) {
    case T_CPU: {
      const char *rt = "ONNX Runtime (CPU EP)";
      add_step(p, "fp16", "FP16", "onnx", "ONNX Runtime (CPU EP; FP16 kernels on CPUs with FP16 arithmetic)", K_QUANT,
               EO_QUANT_FP16, fp16_next);
      add_step(p, "dynamic-int8", "INT8 dynamic (weights int8, activations quantized per run)", "onnx", rt, K_QUANT,
               EO_QUANT_DYNAMIC, dyn_next);
      add_step(p, "weight-int8", "INT8 weights, FP32 activations", "onnx", rt, K_QUANT, EO_QUANT_WEIGHT_INT8, w8_next);
      add_static_int8(p, rc, percentile, rt);
      add_step(p, "int8-mixed", "INT8 W8A8, most sensitive layers in FP32", "onnx", rt, K_MIXED, EO_QUANT_INT8,
               mixed_next);
      add_step(p, "int4", "INT4 weights (block 32), FP32 activations", "onnx", rt, K_QUANT, EO_QUANT_INT4, i4_next);
      break;
    }
    case T_RPI5: {
      const char *rt = "ONNX Runtime (CPU EP, Arm64)";
      add_step(p, "dynamic-int8", "INT8 dynamic (weights int8, activations quantized per run)", "onnx", rt, K_QUANT,
               EO_QUANT_DYNAMIC, dyn_next);
      add_static_int8(p, rc, percentile, rt);
      add_step(p, "int8-mixed", "INT8 W8A8, most sensitive layers in FP32", "onnx", rt, K_MIXED, EO_QUANT_INT8,
               mixed_next);
      step *s = add_step(p, "tflite-int8", "INT8 full integer (float I/O)", "tflite",
                         "TFLite (XNNPACK delegate, Arm64)", K_TFLITE, EO_QUANT_INT8, tfl_next);
      if (s) s->tfl_io = EO_TFLITE_IO_FLOAT32;
      break;
    }
    case T_JETSON:
      add_step(p, "fp16", "FP16", "onnx", "TensorRT (FP16, engine built from the ONNX file)", K_QUANT, EO_QUANT_FP16,
               fp16_next);
      add_static_int8(p, rc, percentile, "TensorRT (INT8, explicit quantization from the QDQ ONNX)");
      add_step(p, "int8-mixed", "INT8 W8A8, most sensitive layers in FP32", "onnx",
               "TensorRT (INT8 + FP32 layers, explicit quantization from the QDQ ONNX)", K_MIXED, EO_QUANT_INT8,
               mixed_next);
      break;
    default: {
      add_static_int8(p, rc, percentile, "ONNX Runtime (CPU EP; the QDQ source of the Edge TPU file)");
      step *s = add_step(p, "tflite-int8-uint8", "INT8 full integer, uint8 I/O", "tflite",
                         "Edge TPU (edgetpu_compiler input: full-INT8 TFLite, uint8 I/O)", K_TFLITE, EO_QUANT_INT8,
                         tfl_next);
      if (s) s->tfl_io = EO_TFLITE_IO_UINT8;
      break;
    }
  }
  /* the recipe's export.formats keeps the candidates in those formats */
  if (rc && rc->n_formats) {
    int k = 0;
    for (int i = 0; i < p->n; i++) {
      int keep = 0;
      for (int f = 0; f < rc->n_formats; f++) keep |= !strcmp(rc->formats[f], p->s[i].format);
      if (keep) p->s[k++] = p->s[i];
    }
    p->n = k;
  }
}

/* keeps the steps named in the comma-separated list, in plan order; unknown names are errors */
static eo_status filter_plan(plan *p, const char *list, const char *target) {
  if (!list) return EO_OK;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", list);
  int keep[MAX_STEPS] = {0};
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    while (*t == ' ') t++;
    int found = 0;
    for (int i = 0; i < p->n; i++)
      if (!strcmp(p->s[i].name, t)) keep[i] = found = 1;
    if (!found) {
      char known[512] = "";
      for (int i = 0; i < p->n; i++) {
        if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, p->s[i].name, sizeof known - strlen(known) - 1);
      }
      return eo_error(EO_ERR_INVALID, "optimize: no candidate '%s' for target %s (candidates: %s)", t, target, known);
    }
  }
  int k = 0;
  for (int i = 0; i < p->n; i++)
    if (keep[i]) p->s[k++] = p->s[i];
  p->n = k;
  return EO_OK;
}

/* ---- one candidate ---- */

typedef struct ctx {
  const eo_optimize_options *o;
  eo_model *base_model;       /* the reference of a compare task */
  eo_eval_result *base_eval;  /* baseline's evaluation (preprocessing for the package) */
  const char *metric_name;
  eo_opt_recipe *recipe;
  char *quant_recipe_path;    /* OUTDIR/recipe.quantization.yaml (NULL: none) */
  const char *model_path;
  char model_abs[PATH_MAX];
  char recipe_sha[65];        /* of the recipe file ("" without one) */
  char *cand_dir;
  char date[32];
  int layer_error;            /* 1: per-layer SQNR table (default) */
  int interleaved;            /* 1: the latency figures come from the interleaved rounds */
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

static eo_status evaluate(ctx *x, eo_model *m, int64_t limit, eo_eval_result **r) {
  const eo_optimize_options *o = x->o;
  eo_eval_options eo;
  eo_eval_options_init(&eo);
  eo.task = o->task;
  eo.data.limit = limit;
  eo.threads = o->threads;
  if (o->task == EO_EVAL_COMPARE) eo.reference = x->base_model ? x->base_model : m;
  return eo_evaluate(m, o->data_path, &eo, r);
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
  memset(&b, 0, sizeof b);
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
  c->latency_samples_ms = b.samples, c->n_latency_samples = b.lat.n;
  say(o, "  evaluate %s (%s) on %s", c->name, eo_eval_task_name(o->task), o->data_path);
  uint64_t t0 = eo_clock_ns();
  st = evaluate(x, m, o->limit, &r);
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
  free(c->runtime), free(c->file_sha256), free(c->derived_from), free(c->latency_samples_ms);
  for (int i = 0; i < c->n_layers; i++) free(c->layer_node[i]), free(c->layer_op[i]);
  free(c->layer_node), free(c->layer_op), free(c->layer_sqnr_db);
}

void eo_optimize_result_free(eo_optimize_result *r) {
  if (!r) return;
  for (int i = 0; i < r->num_candidates; i++) candidate_free(&r->candidates[i]);
  free(r->candidates), free(r->metric_name), free(r->source_sha256), free(r->target);
  free(r->recommended_reason), free(r->report_json_path), free(r->report_html_path);
  for (int i = 0; i < r->n_next_steps; i++) free(r->next_steps[i]);
  for (int i = 0; i < r->n_warnings; i++) free(r->warnings[i]);
  free(r->next_steps), free(r->warnings);
  free(r);
}

static double drop_of(const eo_optimize_options *o, double base, double m) {
  if (o->floor_absolute) return (base - m) * 100.0;
  return base > 0 ? (base - m) / base * 100.0 : (m < base ? INFINITY : 0.0);
}

static const char *floor_unit(const eo_optimize_options *o) { return o->floor_absolute ? " pt" : "%"; }

static void copy_layers(eo_optimize_candidate *c, const eo_quant_report *qr) {
  if (qr->n_layers <= 0) return;
  int n = qr->n_layers;
  c->layer_node = eo_calloc((size_t)n, sizeof *c->layer_node);
  c->layer_op = eo_calloc((size_t)n, sizeof *c->layer_op);
  c->layer_sqnr_db = eo_calloc((size_t)n, sizeof *c->layer_sqnr_db);
  if (!c->layer_node || !c->layer_op || !c->layer_sqnr_db) return;  // the table is optional
  for (int i = 0; i < n; i++) {
    c->layer_node[i] = eo_strdup(qr->layers[i].name);
    c->layer_op[i] = eo_strdup(qr->layers[i].op_type);
    c->layer_sqnr_db[i] = qr->layers[i].sqnr_db;
    c->n_layers = i + 1;
  }
}

/* Accept / reject against the floor; the note says why and what to try next. */
static void validate(ctx *x, eo_optimize_candidate *c, const eo_optimize_candidate *b, const step *p) {
  const eo_optimize_options *o = x->o;
  c->drop = drop_of(o, b->metric, c->metric);
  int ok = c->drop <= o->floor + 1e-12;
  say(o, "[4/5] VALIDATE %s: %s %.4f (baseline %.4f, drop %.3f%s, floor %.3g%s)%s -> %s", p->name, x->metric_name,
      c->metric, b->metric, c->drop, floor_unit(o), o->floor, floor_unit(o), c->derived_from ? " (of its QDQ source)" : "",
      ok ? "ACCEPTED" : "REJECTED");
  free(c->status);
  c->status = eo_strdup(ok ? "ACCEPTED" : "REJECTED");
  char *prev = c->note;
  if (!ok)
    c->note = fmt_dup("%s%sdrop %.3f%s exceeds the floor %.3g%s; try next: %s", prev ? prev : "", prev ? "; " : "",
                      c->drop, floor_unit(o), o->floor, floor_unit(o), p->next);
  else
    c->note = fmt_dup("%s%smeets the floor; for %s", prev ? prev : "", prev ? "; " : "", c->runtime);
  free(prev);
}

/* The static INT8 candidate with the best metric: the source of TFLite files. */
static const eo_optimize_candidate *best_static_int8(const eo_optimize_result *r, const plan *p) {
  const eo_optimize_candidate *best = NULL;
  for (int i = 1; i < r->num_candidates; i++) {
    const eo_optimize_candidate *c = &r->candidates[i];
    int is_static = 0;
    for (int k = 0; k < p->n; k++)
      if (!strcmp(p->s[k].name, c->name)) is_static = p->s[k].kind == K_QUANT && p->s[k].mode == EO_QUANT_INT8;
    if (is_static && c->measured && (!best || c->metric > best->metric)) best = c;
  }
  return best;
}

static void make_tflite(ctx *x, eo_optimize_result *r, const plan *pl, const step *p, eo_optimize_candidate *c) {
  const eo_optimize_options *o = x->o;
  const eo_optimize_candidate *src = best_static_int8(r, pl);
  if (!src) {
    c->status = eo_strdup("FAILED");
    c->note = eo_strdup("no measured static INT8 candidate to write the TFLite file from");
    say(o, "  %s: %s", p->name, c->note);
    return;
  }
  say(o, "[2/5] OPTIMIZE %s: TFLite full INT8 from %s (same scales) -> %s", p->name, src->name, c->file);
  eo_model *m = NULL;
  eo_tflite_options to = {.mode = EO_TFLITE_INT8, .batch = 1, .io_type = p->tfl_io};
  eo_status st = eo_model_load(src->file, NULL, &m);
  if (!st) st = eo_export_tflite(m, &to, c->file);
  char *io_note = NULL;
  if (st && st != EO_ERR_NOMEM && m && p->tfl_io != EO_TFLITE_IO_FLOAT32) {
    /* e.g. a detector whose decoded output stays float: float I/O with QUANTIZE/DEQUANTIZE at the
     * boundaries, which the Edge TPU runtime runs on the CPU */
    io_note = fmt_dup("uint8 I/O not possible (%s): written with float I/O, QUANTIZE/DEQUANTIZE at the "
                      "boundaries (run on the host CPU); ", eo_last_error());
    say(o, "  %s", io_note);
    to.io_type = EO_TFLITE_IO_FLOAT32;
    st = eo_export_tflite(m, &to, c->file);
    free(c->runtime), free(c->precision);
    c->runtime = eo_strdup("Edge TPU (edgetpu_compiler input: full-INT8 TFLite, float I/O)");
    c->precision = eo_strdup("INT8 full integer, float I/O");
  }
  eo_model_free(m);
  c->derived_from = eo_strdup(src->name);
  if (st) {
    free(io_note);
    c->status = eo_strdup("FAILED");
    c->note = fmt_dup("TFLite export failed: %s", eo_last_error());
    say(o, "  %s", c->note);
    return;
  }
  c->file_bytes = file_size(c->file);
  c->metric = src->metric;
  c->note = fmt_dup("%saccuracy is that of %s, the QDQ model it was written from (same scales; the TFLite kernels' "
                    "rounding may differ slightly; edgeopt does not run TFLite files); latency not measured", io_note ? io_note : "", src->name);
  free(io_note);
  validate(x, c, &r->candidates[0], p);
}

static void make_quant(ctx *x, const char *model_path, const step *p, eo_optimize_candidate *c) {
  const eo_optimize_options *o = x->o;
  say(o, "[2/5] OPTIMIZE %s -> %s", p->name, c->file);
  eo_quant_options q;
  eo_quant_options_init(&q);
  q.mode = p->mode;
  q.method = p->method;
  if (x->recipe && x->recipe->percentile > 0) q.percentile = x->recipe->percentile;
  if (p->mode == EO_QUANT_INT8) {
    q.calib_path = o->calib_path ? o->calib_path : o->data_path;
    q.calib_limit = o->calib_limit;
    if (p->use_recipe) q.recipe_path = x->quant_recipe_path;
  }
  eo_quant_report *qr = NULL;
  if (eo_quantize(model_path, c->file, &q, &qr)) {
    c->note = fmt_dup("quantization failed: %s", eo_last_error());
    c->status = eo_strdup("FAILED");
    say(o, "  %s", c->note);
    return;
  }
  c->file_bytes = qr->bytes_after;
  if (isfinite(qr->output_sqnr_db) || isinf(qr->output_sqnr_db)) c->sqnr_db = qr->output_sqnr_db;
  if (x->layer_error) copy_layers(c, qr);
  eo_quant_report_free(qr);
  say(o, "[3/5] BENCHMARK %s", p->name);
  if (measure(x, c, NULL)) {
    char *why = c->note;
    c->note = fmt_dup("not measured in edgeopt (the runtime cannot run this file: %s); for %s", why ? why : "?",
                      c->runtime);
    free(why);
    c->status = eo_strdup("NOT MEASURED");
    return;
  }
}

/* How the quantizer's search ended, worded after why it stopped: a run that spent its evaluation
 * budget did not try max_float layers. */
void eo_opt_mixed_outcome(const eo_quant_mixed_report *mr, int max_float, char *buf, size_t n) {
  const char *why = mr->stop_reason ? mr->stop_reason : "?";
  if (mr->met)
    snprintf(buf, n, "the quantizer's target was met");
  else if (!strcmp(why, "max_float reached"))
    snprintf(buf, n, "the quantizer's target was not met within %d layers", max_float);
  else if (!strcmp(why, "evaluation budget reached"))
    snprintf(buf, n, "the quantizer's target was not met within its budget of %d evaluations", mr->max_evals);
  else if (!strcmp(why, "candidates exhausted"))
    snprintf(buf, n, "the quantizer's target was not met: every candidate layer was tried");
  else
    snprintf(buf, n, "the quantizer's target was not met (%s)", why);
}

/* Static INT8 with the most sensitive layers kept in float until the floor is met (the quantizer's
 * defaults: at most 8 layers, 16 steps tried), with the calibration method of the best static INT8
 * candidate so far. */
static void make_mixed(ctx *x, eo_optimize_result *r, const plan *pl, const char *model_path, const step *p,
                       eo_optimize_candidate *c) {
  const eo_optimize_options *o = x->o;
  const eo_optimize_candidate *src = best_static_int8(r, pl);
  eo_quant_options q;
  eo_quant_options_init(&q);
  q.mode = EO_QUANT_INT8;
  for (int m = 0; src && m < 4; m++)
    if (!strcmp(src->name + 5, method_names[m])) q.method = m;
  if (x->recipe && x->recipe->percentile > 0) q.percentile = x->recipe->percentile;
  q.calib_path = o->calib_path ? o->calib_path : o->data_path;
  q.calib_limit = o->calib_limit;
  q.recipe_path = x->quant_recipe_path;
  eo_quant_mixed_options mo;
  eo_quant_mixed_options_init(&mo);
  if (o->task != EO_EVAL_COMPARE) {
    mo.metric.eval_data = o->data_path;
    mo.metric.task = o->task;
    mo.metric.metric = o->task == EO_EVAL_DETECT ? "map50" : "top1";
    mo.metric.eval_limit = o->limit;
  }
  mo.metric.threads = o->threads;
  mo.floor = o->floor / 100.0;
  mo.floor_relative = !o->floor_absolute;
  say(o, "[2/5] OPTIMIZE %s (%s calibration, up to %d layers kept in float) -> %s", p->name, method_names[q.method],
      mo.max_float, c->file);
  eo_quant_mixed_report *mr = NULL;
  if (eo_quantize_auto_mixed(model_path, c->file, &q, &mo, &mr)) {
    c->note = fmt_dup("mixed precision failed: %s", eo_last_error());
    c->status = eo_strdup("FAILED");
    say(o, "  %s", c->note);
    return;
  }
  char kept[700] = "";
  for (int i = 1; i < mr->n_steps; i++) {
    size_t n = strlen(kept);
    snprintf(kept + n, sizeof kept - n, "%s%s (%s)", i > 1 ? ", " : "", mr->steps[i].kept, mr->steps[i].op_type);
  }
  char outcome[160];
  eo_opt_mixed_outcome(mr, mo.max_float, outcome, sizeof outcome);
  c->note = fmt_dup("%s calibration; %d layer%s kept in float%s%s; %s", method_names[q.method], mr->n_steps - 1,
                    mr->n_steps == 2 ? "" : "s", mr->n_steps > 1 ? ": " : "", kept, outcome);
  say(o, "  %s", c->note);
  const eo_quant_report *qr = mr->quant;
  c->file_bytes = qr ? qr->bytes_after : file_size(c->file);
  if (qr && (isfinite(qr->output_sqnr_db) || isinf(qr->output_sqnr_db))) c->sqnr_db = qr->output_sqnr_db;
  if (qr && x->layer_error) copy_layers(c, qr);
  eo_quant_mixed_report_free(mr);
  say(o, "[3/5] BENCHMARK %s", p->name);
  if (measure(x, c, NULL)) {
    char *why = c->note;
    c->note = fmt_dup("not measured in edgeopt: %s", why ? why : "?");
    free(why);
    c->status = eo_strdup("NOT MEASURED");
  }
}

static int has_latency(const eo_optimize_candidate *c) { return c->mean_ms > 0; }

/* The figures that decide: every timed model (baseline included) once per round, warmup rounds
 * first, so a busy host's load falls on all of them alike; replaces each one's per-candidate
 * figures. A model that fails here keeps its earlier figures. */
static void interleaved_bench(ctx *x, eo_optimize_result *r) {
  const eo_optimize_options *o = x->o;
  int n = 0, *idx = eo_calloc((size_t)r->num_candidates, sizeof *idx);
  eo_model **ms = eo_calloc((size_t)r->num_candidates, sizeof *ms);
  eo_bench_run **bs = eo_calloc((size_t)r->num_candidates, sizeof *bs);
  double *t = eo_calloc((size_t)r->num_candidates * (size_t)(o->iters > 0 ? o->iters : 1), sizeof *t);
  if (!idx || !ms || !bs || !t) goto done;
  for (int i = 0; i < r->num_candidates; i++) {
    eo_optimize_candidate *c = &r->candidates[i];
    if (!has_latency(c) || strcmp(c->format, "onnx") != 0) continue;
    if (eo_model_load(c->file, NULL, &ms[n]) || eo_bench_open(ms[n], o->threads, &bs[n])) {
      say(o, "  %s: left out of the interleaved benchmark: %s", c->name, eo_last_error());
      eo_model_free(ms[n]);
      ms[n] = NULL;
      continue;
    }
    idx[n++] = i;
  }
  if (n < 2 || o->iters < 1) goto done;
  say(o, "[3/5] BENCHMARK %d models interleaved: %d warmup + %d rounds, each round runs every model once", n,
      o->warmup, o->iters);
  for (int it = 0; it < o->warmup + o->iters; it++)
    for (int k = 0; k < n; k++) {
      double v;
      if (!bs[k]) continue;
      if (eo_bench_once(bs[k], &v)) {
        say(o, "  %s: interleaved benchmark failed: %s", r->candidates[idx[k]].name, eo_last_error());
        eo_bench_close(bs[k]);
        bs[k] = NULL;
        continue;
      }
      if (it >= o->warmup) t[(size_t)k * (size_t)o->iters + (size_t)(it - o->warmup)] = v;
    }
  for (int k = 0; k < n; k++) {
    eo_bench_figures f;
    eo_optimize_candidate *c = &r->candidates[idx[k]];
    if (!bs[k] || eo_bench_finish(bs[k], t + (size_t)k * (size_t)o->iters, o->iters, &f)) continue;
    c->mean_ms = f.lat.mean, c->p50_ms = f.lat.p50, c->p95_ms = f.lat.p95, c->p99_ms = f.lat.p99;
    c->min_ms = f.lat.min, c->max_ms = f.lat.max, c->throughput = f.throughput;
    free(c->latency_samples_ms);
    c->latency_samples_ms = f.samples, c->n_latency_samples = f.lat.n;
  }
  x->interleaved = 1;
done:
  for (int k = 0; bs && ms && k < r->num_candidates; k++) eo_bench_close(bs[k]), eo_model_free(ms[k]);
  free(idx), free(ms), free(bs), free(t);
}

/* ---- JSON records (report.json candidates and state.json use the same record) ---- */

static double mb(int64_t b) { return (double)b / (1024.0 * 1024.0); }

static void num_or_null(cJSON *o, const char *k, double v) {
  if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}

static void str_or_null(cJSON *o, const char *k, const char *v) {
  if (v) cJSON_AddStringToObject(o, k, v);
  else cJSON_AddNullToObject(o, k);
}


static cJSON *candidate_json(const eo_optimize_candidate *c) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", c->name);
  cJSON_AddStringToObject(j, "precision", c->precision);
  cJSON_AddStringToObject(j, "format", c->format ? c->format : "onnx");
  cJSON_AddStringToObject(j, "runtime", c->runtime ? c->runtime : "");
  cJSON_AddStringToObject(j, "file", c->file);
  str_or_null(j, "file_sha256", c->file_sha256);
  str_or_null(j, "derived_from", c->derived_from);
  cJSON_AddStringToObject(j, "status", c->status);
  str_or_null(j, "note", c->note);
  cJSON_AddNumberToObject(j, "file_bytes", (double)c->file_bytes);
  cJSON_AddNumberToObject(j, "params", (double)c->params);
  cJSON_AddNumberToObject(j, "flops", (double)c->flops);
  cJSON_AddBoolToObject(j, "measured", c->measured);
  cJSON_AddBoolToObject(j, "resumed", c->resumed);
  num_or_null(j, "metric", c->metric);
  num_or_null(j, "drop", isfinite(c->metric) ? c->drop : NAN);
  num_or_null(j, "sqnr_db", c->sqnr_db);
  cJSON *l = cJSON_AddObjectToObject(j, "latency_ms");
  cJSON_AddStringToObject(l, "label", HOST_LABEL);
  int ok = has_latency(c);
  num_or_null(l, "mean", ok ? c->mean_ms : NAN);
  num_or_null(l, "p50", ok ? c->p50_ms : NAN);
  num_or_null(l, "p95", ok ? c->p95_ms : NAN);
  num_or_null(l, "p99", ok ? c->p99_ms : NAN);
  num_or_null(l, "min", ok ? c->min_ms : NAN);
  num_or_null(l, "max", ok ? c->max_ms : NAN);
  cJSON *s = cJSON_AddArrayToObject(j, "latency_samples_ms");
  for (int i = 0; i < c->n_latency_samples; i++) cJSON_AddItemToArray(s, cJSON_CreateNumber(c->latency_samples_ms[i]));
  num_or_null(j, "throughput_per_s", ok ? c->throughput : NAN);
  num_or_null(j, "arena_bytes", ok ? (double)c->arena_bytes : NAN);
  num_or_null(j, "constant_bytes", ok ? (double)c->constant_bytes : NAN);
  num_or_null(j, "eval_seconds", c->measured ? c->eval_seconds : NAN);
  cJSON *ls = cJSON_AddArrayToObject(j, "layer_sqnr");
  for (int i = 0; i < c->n_layers; i++) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "node", c->layer_node[i] ? c->layer_node[i] : "");
    cJSON_AddStringToObject(e, "op", c->layer_op[i] ? c->layer_op[i] : "");
    if (isinf(c->layer_sqnr_db[i]) && c->layer_sqnr_db[i] > 0) cJSON_AddStringToObject(e, "sqnr_db", "inf");
    else num_or_null(e, "sqnr_db", c->layer_sqnr_db[i]);
    cJSON_AddItemToArray(ls, e);
  }
  return j;
}

static double jnum(const cJSON *j, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  if (cJSON_IsNumber(v)) return v->valuedouble;
  if (cJSON_IsString(v) && !strcmp(v->valuestring, "inf")) return INFINITY;
  return NAN;
}

static char *jstr(const cJSON *j, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  return cJSON_IsString(v) ? eo_strdup(v->valuestring) : NULL;
}

static int64_t jint(const cJSON *j, const char *k) {
  double v = jnum(j, k);
  return isfinite(v) ? (int64_t)v : 0;
}

/* state.json's record back into a candidate (the inverse of candidate_json) */
static eo_status candidate_from_json(const cJSON *j, eo_optimize_candidate *c) {
  c->name = jstr(j, "name"), c->precision = jstr(j, "precision"), c->file = jstr(j, "file");
  c->status = jstr(j, "status"), c->note = jstr(j, "note"), c->runtime = jstr(j, "runtime");
  c->file_sha256 = jstr(j, "file_sha256"), c->derived_from = jstr(j, "derived_from");
  char *fmt = jstr(j, "format");
  c->format = fmt && !strcmp(fmt, "tflite") ? "tflite" : "onnx";
  free(fmt);
  c->file_bytes = jint(j, "file_bytes"), c->params = jint(j, "params"), c->flops = jint(j, "flops");
  c->measured = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "measured"));
  c->metric = jnum(j, "metric"), c->drop = jnum(j, "drop"), c->sqnr_db = jnum(j, "sqnr_db");
  const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "latency_ms");
  double mean = jnum(l, "mean");
  if (isfinite(mean)) {
    c->mean_ms = mean, c->p50_ms = jnum(l, "p50"), c->p95_ms = jnum(l, "p95"), c->p99_ms = jnum(l, "p99");
    c->min_ms = jnum(l, "min"), c->max_ms = jnum(l, "max");
    c->throughput = jnum(j, "throughput_per_s");
    c->arena_bytes = jint(j, "arena_bytes"), c->constant_bytes = jint(j, "constant_bytes");
  }
  c->eval_seconds = c->measured ? jnum(j, "eval_seconds") : 0;
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "latency_samples_ms");
  int n = cJSON_GetArraySize(s);
  if (n > 0 && (c->latency_samples_ms = eo_calloc((size_t)n, sizeof(double)))) {
    const cJSON *e;
    cJSON_ArrayForEach(e, s) c->latency_samples_ms[c->n_latency_samples++] = cJSON_IsNumber(e) ? e->valuedouble : NAN;
  }
  const cJSON *ls = cJSON_GetObjectItemCaseSensitive(j, "layer_sqnr");
  n = cJSON_GetArraySize(ls);
  if (n > 0) {
    c->layer_node = eo_calloc((size_t)n, sizeof *c->layer_node);
    c->layer_op = eo_calloc((size_t)n, sizeof *c->layer_op);
    c->layer_sqnr_db = eo_calloc((size_t)n, sizeof *c->layer_sqnr_db);
    if (c->layer_node && c->layer_op && c->layer_sqnr_db) {
      const cJSON *e;
      cJSON_ArrayForEach(e, ls) {
        c->layer_node[c->n_layers] = jstr(e, "node"), c->layer_op[c->n_layers] = jstr(e, "op");
        c->layer_sqnr_db[c->n_layers++] = jnum(e, "sqnr_db");
      }
    }
  }
  c->resumed = 1;
  if (!c->name || !c->precision || !c->file || !c->status || !c->runtime)
    return eo_error(EO_ERR_PARSE, "state.json: a candidate record lacks name, precision, file, status or runtime");
  return EO_OK;
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
  eo_status st = write_text_atomic(path, text);
  free(text);
  return st;
}

/* ---- state.json ---- */

#define STATE_SCHEMA_VERSION 1

/* A candidate more than this many times slower than the baseline (host p50) is not recommended: an
 * accurate file the runtime runs far slower (e.g. edgeopt's ConvInteger) is no optimization. */
#define SLOWER_LIMIT 1.5
#define TIE_P50 1.03

/* Host latency stands for the target's only where the target runs the file on a CPU (ONNX Runtime
 * CPU, TFLite XNNPACK); TensorRT and the Edge TPU run INT8 on their own silicon. */
static int host_proxy(const char *target) { return !strcmp(target, "cpu-generic") || !strcmp(target, "raspberry-pi-5"); }

static int eligible(const eo_optimize_result *r, const eo_optimize_candidate *c) {
  if (!c->status || strcmp(c->status, "ACCEPTED") != 0) return 0;
  if (!host_proxy(r->target)) return 1;
  return has_latency(c) && c->p50_ms <= SLOWER_LIMIT * r->candidates[0].p50_ms;
}

/* CPU targets: the eligible candidate with the lowest median latency. Jetson / Coral: the target's
 * own format first (Coral: TFLite), then the best metric, then the smaller file. 0: none. */
static int pick_best(const eo_optimize_result *r) {
  int best = 0, proxy = host_proxy(r->target), coral = !strcmp(r->target, "coral");
  for (int i = 1; i < r->num_candidates; i++) {
    const eo_optimize_candidate *c = &r->candidates[i], *k = &r->candidates[best];
    if (!eligible(r, c)) continue;
    if (best == 0) best = i;
    else if (proxy) {
      if (c->p50_ms < k->p50_ms) best = i;
    } else {
      int ct = coral && !strcmp(c->format, "tflite"), kt = coral && !strcmp(k->format, "tflite");
      if (ct != kt ? ct > kt : c->metric != k->metric ? c->metric > k->metric : c->file_bytes < k->file_bytes)
        best = i;
    }
  }
  if (!proxy || !best) return best;
  /* within TIE_P50 of the fastest median the timing cannot tell them apart: the better metric wins */
  int pick = best;
  for (int i = 1; i < r->num_candidates; i++) {
    const eo_optimize_candidate *c = &r->candidates[i], *k = &r->candidates[pick];
    if (eligible(r, c) && c->p50_ms <= TIE_P50 * r->candidates[best].p50_ms &&
        (c->metric > k->metric || (c->metric == k->metric && c->p50_ms < k->p50_ms)))
      pick = i;
  }
  return pick;
}

static eo_status write_state(ctx *x, const eo_optimize_result *r, const char *phase, int n_planned) {
  const eo_optimize_options *o = x->o;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "schema_version", STATE_SCHEMA_VERSION);
  cJSON_AddStringToObject(j, "phase", phase);
  cJSON_AddStringToObject(j, "started", x->date);
  char now[32];
  cJSON_AddStringToObject(j, "updated", utc_now(now, sizeof now));
  cJSON_AddStringToObject(j, "command_line", o->command_line ? o->command_line : "");
  cJSON *op = cJSON_AddObjectToObject(j, "options");
  cJSON_AddStringToObject(op, "model", x->model_abs);
  cJSON_AddStringToObject(op, "data", o->data_path);
  str_or_null(op, "calib", o->calib_path);
  cJSON_AddStringToObject(op, "task", eo_eval_task_name(o->task));
  cJSON_AddNumberToObject(op, "floor", o->floor);
  cJSON_AddBoolToObject(op, "floor_absolute", o->floor_absolute);
  cJSON_AddStringToObject(op, "target", o->target);
  str_or_null(op, "recipe", o->recipe_path);
  str_or_null(op, "recipe_sha256", x->recipe_sha[0] ? x->recipe_sha : NULL);
  str_or_null(op, "candidates", o->candidates);
  str_or_null(op, "pick", o->pick);
  cJSON_AddNumberToObject(op, "limit", (double)o->limit);
  cJSON_AddNumberToObject(op, "calib_limit", (double)o->calib_limit);
  cJSON_AddNumberToObject(op, "warmup", o->warmup);
  cJSON_AddNumberToObject(op, "iters", o->iters);
  cJSON_AddNumberToObject(op, "threads", o->threads);
  cJSON *s = cJSON_AddObjectToObject(j, "source");
  cJSON_AddStringToObject(s, "path", x->model_abs);
  cJSON_AddStringToObject(s, "sha256", r->source_sha256);
  str_or_null(j, "metric", r->metric_name);
  cJSON_AddNumberToObject(j, "candidates_planned", n_planned);
  cJSON *a = cJSON_AddArrayToObject(j, "candidates");
  for (int i = 0; i < r->num_candidates; i++)
    if (r->candidates[i].status) cJSON_AddItemToArray(a, candidate_json(&r->candidates[i]));
  int best = pick_best(r);
  if (best) cJSON_AddStringToObject(j, "best", r->candidates[best].name);
  else cJSON_AddNullToObject(j, "best");
  char *path = join(o->outdir, "state.json");
  eo_status st = path ? write_json_file(path, j) : eo_error(EO_ERR_NOMEM, "out of memory");
  free(path);
  cJSON_Delete(j);
  return st;
}

/* Options of the recorded run (strings point into *state, kept alive by the caller). */
static eo_status read_state(const char *outdir, eo_optimize_options *o, cJSON **state, const char **model) {
  char *path = join(outdir, "state.json");
  if (!path) return eo_error(EO_ERR_NOMEM, "out of memory");
  void *text = NULL;
  size_t len;
  eo_status st = eo_read_file(path, &text, &len);
  if (st) {
    st = eo_error(EO_ERR_IO, "--resume %s: no state.json there (%s)", outdir, eo_last_error());
    free(path);
    return st;
  }
  cJSON *j = cJSON_ParseWithLength(text, len);
  free(text);
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(j, "options");
  if (!j || jnum(j, "schema_version") != STATE_SCHEMA_VERSION || !cJSON_IsObject(op)) {
    cJSON_Delete(j);
    st = eo_error(EO_ERR_PARSE, "%s: not an edgeopt optimize state (schema_version %d expected)", path,
                  STATE_SCHEMA_VERSION);
    free(path);
    return st;
  }
#define S(k) (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(op, k)) ? cJSON_GetObjectItemCaseSensitive(op, k)->valuestring : NULL)
  *model = S("model");
  o->data_path = S("data"), o->calib_path = S("calib"), o->target = S("target");
  o->recipe_path = S("recipe"), o->candidates = S("candidates"), o->pick = S("pick");
  o->command_line = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "command_line"))
                        ? cJSON_GetObjectItemCaseSensitive(j, "command_line")->valuestring
                        : NULL;
  const char *task = S("task");
#undef S
  o->floor = jnum(op, "floor");
  o->floor_absolute = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "floor_absolute"));
  o->limit = jint(op, "limit"), o->calib_limit = jint(op, "calib_limit");
  o->warmup = (int)jint(op, "warmup"), o->iters = (int)jint(op, "iters"), o->threads = (int)jint(op, "threads");
  if (!*model || !o->data_path || !task || eo_eval_task_from_name(task, &o->task) || !isfinite(o->floor)) {
    cJSON_Delete(j);
    st = eo_error(EO_ERR_PARSE, "%s: the recorded options are incomplete", path);
    free(path);
    return st;
  }
  free(path);
  *state = j;
  return EO_OK;
}

static const cJSON *state_record(const cJSON *state, const char *name) {
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(state, "candidates")) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
    if (cJSON_IsString(n) && !strcmp(n->valuestring, name)) return e;
  }
  return NULL;
}

/* A finished record whose file is intact (sha256) is taken over; 0: recompute. */
static int restore(ctx *x, const cJSON *state, const char *name, eo_optimize_candidate *c) {
  const cJSON *rec = state ? state_record(state, name) : NULL;
  if (!rec) return 0;
  eo_optimize_candidate t;
  memset(&t, 0, sizeof t);
  if (candidate_from_json(rec, &t)) {
    say(x->o, "  %s: its state record is unreadable (%s); computing it again", name, eo_last_error());
    candidate_free(&t);
    return 0;
  }
  if (t.file_sha256) {
    char hex[65];
    if (eo_sha256_file(t.file, hex) || strcmp(hex, t.file_sha256) != 0) {
      say(x->o, "  %s: %s is missing or changed since it was recorded; computing it again", name, t.file);
      candidate_free(&t);
      return 0;
    }
  }
  *c = t;
  say(x->o, "  %s: finished before (%s%s), taken from state.json, not recomputed", name, c->status,
      c->file_sha256 ? ", file sha256 verified" : "");
  return 1;
}

/* ---- outputs ---- */

/* Scale and zero point of graph tensor `t` when it is a graph input read by a per-tensor QuantizeLinear or
 * a graph output written by a per-tensor DequantizeLinear: what a caller exchanging integers needs. */
static cJSON *io_quant_json(const eo_model *m, int t, bool input) {
  const eo_graph *g = &m->graph;
  for (int k = 0; k < g->n_nodes; k++) {
    const eo_node *nd = &g->nodes[k];
    bool q = input && nd->n_in >= 2 && nd->in[0] == t && !strcmp(nd->op_type, "QuantizeLinear");
    bool dq = !input && nd->n_in >= 2 && nd->n_out >= 1 && nd->out[0] == t && !strcmp(nd->op_type, "DequantizeLinear");
    if (!q && !dq) continue;
    const eo_tensor *sc = &g->tensors[nd->in[1]];
    const eo_tensor *zp = nd->n_in > 2 && nd->in[2] >= 0 ? &g->tensors[nd->in[2]] : NULL;
    if (!sc->data || sc->dtype != EO_FLOAT || eo_numel(sc->rank, sc->dims) != 1) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "node", nd->name ? nd->name : "");
    cJSON_AddNumberToObject(o, "scale", *(const float *)sc->data);
    int z = 0, zt = EO_UINT8;  // ONNX: no zero point means uint8 0
    if (zp && zp->data) {
      zt = zp->dtype;
      z = zt == EO_INT8 ? *(const int8_t *)zp->data : zt == EO_UINT8 ? *(const uint8_t *)zp->data : 0;
    }
    cJSON_AddNumberToObject(o, "zero_point", z);
    cJSON_AddStringToObject(o, "type", eo_dtype_name(zt));
    return o;
  }
  return cJSON_CreateNull();
}

static eo_status write_package(ctx *x, const char *model_path, eo_optimize_result *res) {
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
  /* a TFLite file's inputs and outputs are described by its QDQ source (NHWC and int8/uint8 in the file) */
  const char *io_file = dst;
  for (int i = 0; i < res->num_candidates && !strcmp(c->format, "tflite"); i++)
    if (c->derived_from && !strcmp(res->candidates[i].name, c->derived_from)) io_file = res->candidates[i].file;
  if ((st = copy_file(c->file, dst)) || (st = eo_model_load(io_file, NULL, &m))) goto done;
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
  cJSON_AddStringToObject(j, "date", x->date);
  cJSON_AddStringToObject(j, "target", o->target);
  cJSON_AddStringToObject(j, "format", c->format ? c->format : "onnx");
  cJSON_AddStringToObject(j, "runtime", c->runtime ? c->runtime : "");
  str_or_null(j, "recipe", o->recipe_path);
  cJSON *pj = cJSON_Parse(pre_json);
  cJSON_AddItemToObject(j, "preprocessing", pj ? pj : cJSON_CreateNull());
  if (io_file != dst)
    cJSON_AddStringToObject(j, "io_note", "inputs/outputs of the QDQ ONNX source; the TFLite file takes NHWC "
                                          "rank-4 tensors in its own I/O type");
  cJSON *ins = cJSON_AddArrayToObject(j, "inputs"), *outs = cJSON_AddArrayToObject(j, "outputs");
  for (int io = 0; io < 2; io++)
    for (int i = 0; i < (io ? eo_model_num_outputs(m) : eo_model_num_inputs(m)); i++) {
      cJSON *v = value_json(io ? eo_model_output(m, i) : eo_model_input(m, i));
      cJSON_AddItemToObject(v, "quantization", io_quant_json(m, io ? m->graph.outputs[i] : m->graph.inputs[i], !io));
      cJSON_AddItemToArray(io ? outs : ins, v);
    }
  /* the calibration data of a static INT8 file: where, how many items, and its identity */
  if (!strncmp(c->name, "int8-", 5) || !strncmp(c->name, "tflite-int8", 11)) {
    const char *cp = o->calib_path ? o->calib_path : o->data_path;
    char hex[65];
    int64_t files = 0;
    cJSON *cj = cJSON_AddObjectToObject(j, "calibration");
    cJSON_AddStringToObject(cj, "data", cp);
    cJSON_AddNumberToObject(cj, "limit", (double)o->calib_limit);
    cJSON_AddStringToObject(cj, "selection", "a seeded subset of at most `limit` items (edgeopt/data.h), the same every run");
    if ((st = eo_sha256_tree(cp, hex, &files))) goto done;
    cJSON_AddStringToObject(cj, "sha256", hex);
    cJSON_AddNumberToObject(cj, "files", (double)files);
    cJSON_AddStringToObject(cj, "sha256_of", files == 1 ? "the data file" :
                            "the folder's manifest: every file's relative path and sha256, sorted by path");
  } else {
    cJSON_AddNullToObject(j, "calibration");
  }
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
  /* accepted files for the target's other runtimes (e.g. the Edge TPU's TFLite file), copied beside */
  cJSON *also = cJSON_AddArrayToObject(j, "target_files");
  for (int i = 1; i < res->num_candidates; i++) {
    const eo_optimize_candidate *k = &res->candidates[i];
    if (i == res->recommended || strcmp(k->status, "ACCEPTED") != 0 || strcmp(k->format, "tflite") != 0) continue;
    const char *kb = strrchr(k->file, '/');
    kb = kb ? kb + 1 : k->file;
    char *kd = join(dir, kb);
    st = kd ? copy_file(k->file, kd) : eo_error(EO_ERR_NOMEM, "out of memory");
    free(kd);
    if (st) goto done;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "file", kb);
    cJSON_AddStringToObject(e, "candidate", k->name);
    cJSON_AddStringToObject(e, "format", k->format);
    cJSON_AddStringToObject(e, "runtime", k->runtime);
    str_or_null(e, "accuracy_of", k->derived_from);
    cJSON_AddItemToArray(also, e);
  }
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
  if (!(opt > 0)) {  // a TFLite file edgeopt does not run
    fprintf(f, "not measured | n/a |\n");
    return;
  }
  fprintf(f, fmt, opt);
  fprintf(f, "%s | ", unit);
  if (base > 0 && opt > 0) fprintf(f, "%.2fx %s |\n", bigger_better ? opt / base : base / opt, word);
  else fprintf(f, "n/a |\n");
}

/* the first candidate with a per-layer SQNR table, static INT8 preferred */
static const eo_optimize_candidate *sqnr_candidate(const eo_optimize_result *r) {
  const eo_optimize_candidate *any = NULL;
  for (int i = 1; i < r->num_candidates; i++) {
    const eo_optimize_candidate *c = &r->candidates[i];
    if (c->n_layers <= 0) continue;
    if (!strncmp(c->name, "int8-", 5)) return c;
    if (!any) any = c;
  }
  return any;
}

static eo_status write_report_md(ctx *x, const char *model_path, const eo_optimize_result *r) {
  const eo_optimize_options *o = x->o;
  char *path = join(o->outdir, "report.md");
  if (!path) return eo_error(EO_ERR_NOMEM, "out of memory");
  char *tmp = fmt_dup("%s.tmp", path);
  FILE *f = tmp ? fopen(tmp, "wb") : NULL;
  if (!f) {
    eo_status st = eo_error(EO_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    free(path), free(tmp);
    return st;
  }
  const eo_optimize_candidate *b = &r->candidates[0], *c = &r->candidates[r->recommended];
  const char *name = strrchr(model_path, '/');
  name = name ? name + 1 : model_path;
  fprintf(f, "## Model Optimization Report: %s\n\n", name);
  fprintf(f, "**Source**: ONNX FP32 (%.2f MB), sha256 `%s`  \n", mb(b->file_bytes), r->source_sha256);
  fprintf(f, "**Target Device**: %s (latency and memory below are %s)  \n", o->target, HOST_LABEL);
  fprintf(f, "**Optimization Pipeline**: profile baseline; candidates:");
  for (int i = 1; i < r->num_candidates; i++) fprintf(f, " %s%s", r->candidates[i].name, i + 1 < r->num_candidates ? "," : "");
  fprintf(f, "; benchmark; validate against the floor; package `%s`  \n", c->name);
  if (o->recipe_path) fprintf(f, "**Recipe**: `%s`  \n", o->recipe_path);
  fprintf(f, "**Date**: %s  \n**Task**: %s on `%s`%s; floor: %.3g%s drop of %s\n\n", x->date,
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
  if (r->recommended && has_latency(c))
    fprintf(f, "| 1. %s | %s | %s | %.3f MB | %.3f ms | %.4f |\n", c->name, name, c->file, mb(c->file_bytes), c->mean_ms,
            c->metric);
  else if (r->recommended)
    fprintf(f, "| 1. %s | %s | %s | %.3f MB | not measured | %.4f (of %s) |\n", c->name, name, c->file,
            mb(c->file_bytes), c->metric, c->derived_from ? c->derived_from : "?");
  else fprintf(f, "| (none kept) | %s | %s | %.3f MB | %.3f ms | %.4f |\n", name, name, mb(b->file_bytes),
               b->mean_ms, b->metric);
  fprintf(f, "\n### Verdict\n\n");
  if (r->verdict_pass && has_latency(c))
    fprintf(f, "PASS: Accuracy delta of %.3f%s is within the %.3g%s tolerance (%s, median latency %.2fx the baseline's speed).\n\n",
            c->drop, floor_unit(o), o->floor, floor_unit(o), c->name, c->p50_ms > 0 ? b->p50_ms / c->p50_ms : 0);
  else if (r->verdict_pass)
    fprintf(f, "PASS: Accuracy delta of %.3f%s is within the %.3g%s tolerance (%s; latency to be measured on %s).\n\n",
            c->drop, floor_unit(o), o->floor, floor_unit(o), c->name, c->runtime);
  else
    fprintf(f, "FAIL: no optimized candidate meets the %.3g%s tolerance; the package holds the original model.\n\n",
            o->floor, floor_unit(o));
  fprintf(f, "## Optimization Tradeoff Analysis: %s\n\n"
             "| Variant | Format | Runtime | Precision | Size (MB) | Latency mean (ms) | P50 / P95 / P99 (ms) | Accuracy | Speedup (P50) | Acc. Delta | Status |\n"
             "|---------|--------|---------|-----------|-----------|-------------|-----------|----------|---------|-----------|--------|\n", name);
  for (int i = 0; i < r->num_candidates; i++) {
    const eo_optimize_candidate *k = &r->candidates[i];
    fprintf(f, "| %s | %s | %s | %s | %.3f | ", i ? k->name : "Baseline", strcmp(k->format, "tflite") ? "ONNX" : "TFLite",
            k->runtime, k->precision, mb(k->file_bytes));
    if (has_latency(k)) fprintf(f, "%.3f | %.3f / %.3f / %.3f | ", k->mean_ms, k->p50_ms, k->p95_ms, k->p99_ms);
    else fprintf(f, "not measured | - | ");
    if (isfinite(k->metric)) {
      if (k->derived_from) fprintf(f, "%.4f (of %s) | - | ", k->metric, k->derived_from);
      else fprintf(f, "%.4f | %.2fx | ", k->metric, k->p50_ms > 0 ? b->p50_ms / k->p50_ms : 0);
      fprintf(f, "%+.3f%s | ", -k->drop + 0.0, floor_unit(o));
    } else fprintf(f, "not measured in edgeopt | - | - | ");
    fprintf(f, "%s%s |\n", k->status, i == r->recommended && i ? " (recommended)" : "");
  }
  fprintf(f, "\n**Recommendation**: %s\n\n", r->recommended_reason);
  if (r->verdict_pass && has_latency(c) && c->p50_ms > b->p50_ms * 1.05)
    fprintf(f, "**Warning**: %s is not faster than the baseline on this host (median %.3f ms vs %.3f ms); its gain "
               "is the file size. The edgeopt runtime's speed is not the target runtime's.\n\n",
            c->name, c->p50_ms, b->p50_ms);
  fprintf(f, "### Notes per candidate\n\n");
  for (int i = 1; i < r->num_candidates; i++) {
    const eo_optimize_candidate *k = &r->candidates[i];
    fprintf(f, "- **%s** (%s, %s file for %s)", k->name, k->status, k->format, k->runtime);
    if (isfinite(k->sqnr_db)) fprintf(f, ", output SQNR vs FP32 %.2f dB", k->sqnr_db);
    fprintf(f, ": %s\n", k->note ? k->note : "meets the floor");
  }
  const eo_optimize_candidate *q = sqnr_candidate(r);
  if (q) {
    int n = q->n_layers < 15 ? q->n_layers : 15;
    fprintf(f, "\n### Per-layer SQNR: %s (worst %d of %d layers; quantized vs FP32 on one calibration item)\n\n"
               "| Node | Op | SQNR (dB) |\n|------|----|-----------|\n", q->name, n, q->n_layers);
    for (int i = 0; i < n; i++) fprintf(f, "| %s | %s | %.2f |\n", q->layer_node[i], q->layer_op[i], q->layer_sqnr_db[i]);
  }
  if (r->n_next_steps) {
    fprintf(f, "\n### Next steps\n\n");
    for (int i = 0; i < r->n_next_steps; i++) fprintf(f, "- %s\n", r->next_steps[i]);
  }
  if (r->n_warnings) {
    fprintf(f, "\n### Warnings\n\n");
    for (int i = 0; i < r->n_warnings; i++) fprintf(f, "- %s\n", r->warnings[i]);
  }
  fprintf(f, "\nLatency: %d timed iterations after %d warmup, random inputs, only inference timed "
             "(`edgeopt bench`'s method)%s; %s. Memory: the runtime's planned arena plus constants.\n",
          o->iters, o->warmup,
          x->interleaved ? ", in interleaved rounds (each round runs every model once, so the host's load "
                           "falls on all alike)" : "",
          HOST_LABEL);
  int bad = ferror(f);
  if (fclose(f)) bad = 1;
  eo_status st = bad ? eo_error(EO_ERR_IO, "%s: write failed", path) : EO_OK;
  if (!st && rename(tmp, path) != 0) st = eo_error(EO_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
  free(path), free(tmp);
  return st;
}

static eo_status write_report_json(ctx *x, const char *model_path, eo_optimize_result *r) {
  const eo_optimize_options *o = x->o;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "schema_version", REPORT_SCHEMA_VERSION);
  cJSON_AddStringToObject(j, "edgeopt_version", EO_VERSION_STRING);
  cJSON_AddStringToObject(j, "date", x->date);
  cJSON_AddStringToObject(j, "command_line", o->command_line ? o->command_line : "");
  cJSON *s = cJSON_AddObjectToObject(j, "source");
  cJSON_AddStringToObject(s, "path", model_path);
  cJSON_AddStringToObject(s, "sha256", r->source_sha256);
  cJSON_AddBoolToObject(s, "unchanged", 1);
  cJSON_AddStringToObject(j, "target", o->target);
  str_or_null(j, "recipe", o->recipe_path);
  cJSON_AddStringToObject(j, "task", eo_eval_task_name(o->task));
  cJSON_AddStringToObject(j, "data", o->data_path);
  cJSON_AddNumberToObject(j, "limit", (double)o->limit);
  cJSON_AddNumberToObject(j, "calib_limit", (double)o->calib_limit);
  cJSON_AddStringToObject(j, "metric", r->metric_name);
  cJSON *fl = cJSON_AddObjectToObject(j, "floor");
  cJSON_AddNumberToObject(fl, "value", o->floor);
  cJSON_AddStringToObject(fl, "kind", o->floor_absolute ? "absolute_points" : "relative_percent");
  cJSON *bm = cJSON_AddObjectToObject(j, "benchmark");
  cJSON_AddStringToObject(bm, "label", HOST_LABEL);
  cJSON_AddNumberToObject(bm, "warmup", o->warmup);
  cJSON_AddNumberToObject(bm, "iterations", o->iters);
  cJSON_AddStringToObject(bm, "method", x->interleaved ? "interleaved rounds (every model once per round)"
                                                        : "one model at a time");
  num_or_null(j, "peak_rss_bytes", r->peak_rss_bytes >= 0 ? (double)r->peak_rss_bytes : NAN);
  cJSON *a = cJSON_AddArrayToObject(j, "candidates");
  for (int i = 0; i < r->num_candidates; i++) cJSON_AddItemToArray(a, candidate_json(&r->candidates[i]));
  cJSON_AddStringToObject(j, "recommended", r->candidates[r->recommended].name);
  cJSON_AddStringToObject(j, "recommended_reason", r->recommended_reason);
  cJSON_AddStringToObject(j, "verdict", r->verdict_pass ? "PASS" : "FAIL");
  cJSON *ns = cJSON_AddArrayToObject(j, "next_steps");
  for (int i = 0; i < r->n_next_steps; i++) cJSON_AddItemToArray(ns, cJSON_CreateString(r->next_steps[i]));
  cJSON *ws = cJSON_AddArrayToObject(j, "warnings");
  for (int i = 0; i < r->n_warnings; i++) cJSON_AddItemToArray(ws, cJSON_CreateString(r->warnings[i]));
  char *path = join(o->outdir, "report.json");
  eo_status st = path ? write_json_file(path, j) : eo_error(EO_ERR_NOMEM, "out of memory");
  if (!st) r->report_json_path = path;
  else free(path);
  cJSON_Delete(j);
  return st;
}

/* The recommendation's reason and the skill's "present alternatives". */
static void conclude(ctx *x, eo_optimize_result *r, const plan *pl) {
  const eo_optimize_options *o = x->o;
  const eo_optimize_candidate *b = &r->candidates[0], *c = &r->candidates[r->recommended];
  int n_acc = 0, n_slow = 0;
  for (int i = 1; i < r->num_candidates; i++) {
    const eo_optimize_candidate *k = &r->candidates[i];
    n_acc += eligible(r, k);
    if (host_proxy(o->target) && !strcmp(k->status, "ACCEPTED") && has_latency(k) && !eligible(r, k)) {
      n_slow++;
      push_str(&r->next_steps, &r->n_next_steps,
               fmt_dup("%s meets the floor but runs %.1fx slower than the original on this host (p50 %.3f ms vs "
                       "%.3f ms; not recommended): measure it on %s", k->name, k->p50_ms / b->p50_ms, k->p50_ms,
                       b->p50_ms, k->runtime));
    }
  }
  if (r->verdict_pass && !host_proxy(o->target))
    r->recommended_reason =
        fmt_dup("%s: %s within the %.3g%s floor (%s %.4f, drop %.3f%s), %.3f MB; for %s. Host latency is not "
                "the target's, so it did not decide", c->name,
                !strcmp(c->format, "tflite") ? "the target's file format, its QDQ source" : "the most accurate candidate",
                o->floor, floor_unit(o), r->metric_name, c->metric, c->drop, floor_unit(o), mb(c->file_bytes),
                c->runtime);
  else if (r->verdict_pass)
    r->recommended_reason =
        fmt_dup("%s: the fastest by median latency, or within 3%% of it with a better metric (p50 %.3f ms vs the baseline's %.3f ms, %.2fx; %s) of the %d "
                "candidate%s within the %.3g%s floor (and at most 1.5x the original's p50); %s %.4f (drop %.3f%s), %.3f MB (%.2fx smaller); for %s",
                c->name, c->p50_ms, b->p50_ms, c->p50_ms > 0 ? b->p50_ms / c->p50_ms : 0, "host estimate", n_acc,
                n_acc == 1 ? "" : "s", o->floor, floor_unit(o), r->metric_name, c->metric, c->drop, floor_unit(o),
                mb(c->file_bytes), c->file_bytes > 0 ? (double)b->file_bytes / (double)c->file_bytes : 0, c->runtime);
  else
    r->recommended_reason = fmt_dup("no optimized candidate meets the %.3g%s floor%s: the "
                                    "package holds the original FP32 model",
                                    o->floor, floor_unit(o),
                                    n_slow ? " and runs at most 1.5x slower than the original on this host" : "");
  for (int i = 1; i < r->num_candidates; i++) {
    const eo_optimize_candidate *k = &r->candidates[i];
    for (int s = 0; s < pl->n; s++)
      if (!strcmp(pl->s[s].name, k->name) && !strcmp(k->status, "REJECTED"))
        push_str(&r->next_steps, &r->n_next_steps, fmt_dup("%s (rejected, drop %.3f%s): %s", k->name, k->drop,
                                                           floor_unit(o), pl->s[s].next));
    if (!strcmp(k->status, "ACCEPTED") && !strcmp(k->format, "tflite"))
      push_str(&r->next_steps, &r->n_next_steps,
               fmt_dup("deploy %s on %s%s", k->file, k->runtime,
                       !strcmp(o->target, "coral") ? ": run edgetpu_compiler on it, then check the Edge TPU's op "
                                                     "mapping report"
                                                   : ""));
    if (!strcmp(k->status, "NOT MEASURED"))
      push_str(&r->next_steps, &r->n_next_steps,
               fmt_dup("%s: measure it on %s (edgeopt cannot run it on this host)", k->name, k->runtime));
  }
  if (!r->verdict_pass)
    push_str(&r->next_steps, &r->n_next_steps,
             eo_strdup("none met the floor: try a less aggressive mode (weight-only INT8), mixed precision (recipe "
                       "layer_configs skip for the worst-SQNR layers), more calibration data, or QAT (not built yet)"));
  push_str(&r->next_steps, &r->n_next_steps,
           fmt_dup("validate the packaged model on the %s device itself: latencies here are host estimates", o->target));
}

/* report.html: rendered from report.json by src/report; a failure there is a warning, not a lost run */
static void write_html(ctx *x, eo_optimize_result *r) {
  char *path = join(x->o->outdir, "report.html");
  if (path && r->report_json_path && eo_report_write_html(r->report_json_path, path) == EO_OK) {
    r->report_html_path = path;
    return;
  }
  say(x->o, "warning: report.html not written: %s", path ? eo_last_error() : "out of memory");
  free(path);
}

/* ---- the run ---- */

static eo_status check_outdir(const char *model_path, const eo_optimize_options *o) {
  char mdir[PATH_MAX], odir[PATH_MAX];
  if (!realpath(model_path, mdir)) return eo_error(EO_ERR_IO, "%s: %s", model_path, strerror(errno));
  char *slash = strrchr(mdir, '/');
  if (slash) *(slash == mdir ? slash + 1 : slash) = 0;
  if (realpath(o->outdir, odir) && strcmp(odir, mdir) == 0)
    return eo_error(EO_ERR_INVALID, "output folder %s is the source model's folder: choose another (-o)", o->outdir);
  if (!o->resume && dir_nonempty(o->outdir) && !o->force)
    return eo_error(EO_ERR_INVALID, "output folder %s is not empty: choose another or pass --force (or --resume %s)",
                    o->outdir, o->outdir);
  return EO_OK;
}

static int target_index(const char *t) {
  for (int i = 0; i < NTARGETS; i++)
    if (!strcmp(t, target_names[i])) return i;
  return -1;
}

static int stop_after_hook(void) {
  const char *s = getenv("EO_OPTIMIZE_STOP_AFTER");
  return s && *s ? atoi(s) : 0;
}

eo_status eo_optimize(const char *model_path, const eo_optimize_options *o, eo_optimize_result **out) {
  if (out) *out = NULL;
  if (!o || !o->outdir) return eo_error(EO_ERR_INVALID, "optimize: an output folder is required");
  eo_optimize_options oo = *o;
  cJSON *state = NULL;
  eo_status st;
  if (o->resume) {
    if ((st = read_state(o->outdir, &oo, &state, &model_path))) return st;
  } else if (!model_path || !o->data_path) {
    return eo_error(EO_ERR_INVALID, "optimize: model, data and output folder are required");
  }
  if (!oo.target) oo.target = "cpu-generic";
  o = &oo;
  ctx x = {.o = o, .metric_name = "metric", .model_path = model_path, .layer_error = 1};
  eo_optimize_result *r = NULL;
  plan pl;
  int target = target_index(o->target);
  char sha_before[65], sha_after[65];
  if (!(o->floor >= 0)) {
    st = eo_error(EO_ERR_INVALID, "optimize: the floor must be >= 0, got %g", o->floor);
    goto fail;
  }
  if (target < 0) {
    st = eo_error(EO_ERR_INVALID, "optimize: unknown target '%s' (cpu-generic, raspberry-pi-5, jetson-orin-nano, coral)",
                  o->target);
    goto fail;
  }
  if ((st = check_outdir(model_path, o))) goto fail;
  if (!realpath(model_path, x.model_abs)) snprintf(x.model_abs, sizeof x.model_abs, "%s", model_path);
  if (o->recipe_path) {
    if ((st = eo_opt_recipe_load(o->recipe_path, &x.recipe)) || (st = eo_sha256_file(o->recipe_path, x.recipe_sha)))
      goto fail;
    const cJSON *sop = state ? cJSON_GetObjectItemCaseSensitive(state, "options") : NULL;
    char *was = sop ? jstr(sop, "recipe_sha256") : NULL;
    int changed = sop && (!was || strcmp(was, x.recipe_sha) != 0);
    free(was);
    if (changed) {
      st = eo_error(EO_ERR_STATE, "--resume: the recipe %s changed since the run began; start a new run",
                    o->recipe_path);
      goto fail;
    }
    if (x.recipe->num_samples > 0) oo.calib_limit = x.recipe->num_samples;
    if (x.recipe->test_samples > 0 && !oo.limit) oo.limit = x.recipe->test_samples;
    if (x.recipe->layer_error == 0) x.layer_error = 0;
    if (x.recipe->candidates && !oo.candidates) oo.candidates = x.recipe->candidates;
  }
  build_plan(target, x.recipe, x.recipe && x.recipe->percentile > 0 ? x.recipe->percentile : 99.99, &pl);
  if ((st = filter_plan(&pl, o->candidates, o->target))) goto fail;
  if (o->pick && strcmp(o->pick, "baseline") != 0) {
    int found = 0;
    for (int i = 0; i < pl.n; i++) found |= !strcmp(pl.s[i].name, o->pick);
    if (!found) {
      char known[512] = "baseline";
      for (int i = 0; i < pl.n; i++) {
        strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, pl.s[i].name, sizeof known - strlen(known) - 1);
      }
      st = eo_error(EO_ERR_INVALID, "optimize: --pick %s: no such candidate in this run (candidates: %s)", o->pick, known);
      goto fail;
    }
  }
  if ((st = eo_sha256_file(model_path, sha_before))) goto fail;
  if (state) {
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(state, "source");
    char *want = jstr(src, "sha256");
    int same = want && !strcmp(want, sha_before);
    free(want);
    if (!same) {
      st = eo_error(EO_ERR_STATE, "--resume: %s changed since the run began (sha256 now %s); start a new run",
                    model_path, sha_before);
      goto fail;
    }
    char *started = jstr(state, "started");
    snprintf(x.date, sizeof x.date, "%s", started ? started : "");
    free(started);
  } else {
    utc_now(x.date, sizeof x.date);
  }
  r = eo_calloc(1, sizeof *r);
  x.cand_dir = join(o->outdir, "candidates");
  if (r) r->floor = o->floor, r->floor_absolute = o->floor_absolute;
  if (!r || !x.cand_dir || !(r->candidates = eo_calloc((size_t)pl.n + 1, sizeof *r->candidates)) ||
      !(r->source_sha256 = eo_strdup(sha_before)) || !(r->target = eo_strdup(o->target))) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto fail;
  }
  if ((st = make_dirs(o->outdir)) || (st = make_dir(x.cand_dir))) goto fail;
  if (x.recipe) {
    for (int i = 0; i < x.recipe->n_warnings; i++) {
      say(o, "warning: %s", x.recipe->warnings[i]);
      push_str(&r->warnings, &r->n_warnings, eo_strdup(x.recipe->warnings[i]));
    }
    if (x.recipe->quant_yaml) {
      if (!(x.quant_recipe_path = join(o->outdir, "recipe.quantization.yaml"))) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
        goto fail;
      }
      if ((st = eo_opt_recipe_write_quant(x.recipe, x.quant_recipe_path))) goto fail;
    }
  }
  if (state) say(o, "resuming %s from %s/state.json (source sha256 verified)", model_path, o->outdir);

  /* 1. PROFILE */
  say(o, "[1/5] PROFILE baseline %s (sha256 %.16s...) for %s", model_path, sha_before, o->target);
  eo_optimize_candidate *b = &r->candidates[r->num_candidates++];
  if (restore(&x, state, "baseline", b)) {
    /* the reference model (compare) and the preprocessing (package) come from the model and one item */
    eo_eval_result *er = NULL;
    if ((st = eo_model_load(model_path, NULL, &x.base_model)) || (st = evaluate(&x, x.base_model, 1, &er))) goto fail;
    task_metric(er, &x.metric_name);
    x.base_eval = er;
  } else {
    memset(b, 0, sizeof *b);
    b->name = eo_strdup("baseline"), b->precision = eo_strdup("FP32"), b->file = eo_strdup(model_path);
    b->format = "onnx";
    b->runtime = eo_strdup("the FP32 original (any ONNX runtime)");
    b->file_sha256 = eo_strdup(sha_before);
    b->file_bytes = file_size(model_path);
    b->sqnr_db = NAN;
    if (measure(&x, b, &x.base_model)) {
      st = eo_error(EO_ERR_INVALID, "no baseline, stopping: the original model could not be measured: %s",
                    b->note ? b->note : "?");
      goto fail;
    }
    b->drop = 0;
    b->status = eo_strdup("BASELINE");
    say(o, "  baseline: %.3f MB, %lld params, %.3g FLOPs, mean %.3f ms (p50 %.3f, p95 %.3f), %s %.4f",
        mb(b->file_bytes), (long long)b->params, (double)b->flops, b->mean_ms, b->p50_ms, b->p95_ms, x.metric_name,
        b->metric);
  }
  if (!(r->metric_name = eo_strdup(x.metric_name)) || !b->status) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto fail;
  }
  if ((st = write_state(&x, r, "optimize", pl.n))) goto fail;

  /* 2-4. OPTIMIZE, BENCHMARK, VALIDATE: each candidate from the original (TFLite: from the best QDQ) */
  int computed = 0, hook = stop_after_hook();
  double spent = 0;
  for (int i = 0; i < pl.n; i++) {
    const step *p = &pl.s[i];
    eo_optimize_candidate *c = &r->candidates[r->num_candidates++];
    if (restore(&x, state, p->name, c)) continue;
    memset(c, 0, sizeof *c);
    char fname[64];
    snprintf(fname, sizeof fname, "%s.%s", p->name, p->format);
    c->name = eo_strdup(p->name), c->precision = eo_strdup(p->precision), c->file = join(x.cand_dir, fname);
    c->runtime = eo_strdup(p->runtime), c->format = p->format;
    c->sqnr_db = NAN;
    c->metric = NAN;
    if (!c->name || !c->precision || !c->file || !c->runtime) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto fail;
    }
    int left = 0;
    for (int k = i; k < pl.n; k++) left += !(state && state_record(state, pl.s[k].name));
    if (computed > 0)
      say(o, "candidate %d/%d: %s (%d to compute; elapsed %.0f s, ETA ~%.0f s)", i + 1, pl.n, p->name, left, spent,
          spent / computed * left);
    else say(o, "candidate %d/%d: %s (%d to compute)", i + 1, pl.n, p->name, left);
    uint64_t t0 = eo_clock_ns();
    remove(c->file);  // a stale file of an interrupted run is never mistaken for this one
    if (p->kind == K_TFLITE) make_tflite(&x, r, &pl, p, c);
    else if (p->kind == K_MIXED) {
      make_mixed(&x, r, &pl, model_path, p, c);
      if (!c->status) validate(&x, c, b, p);
    } else {
      make_quant(&x, model_path, p, c);
      if (!c->status) validate(&x, c, b, p);
    }
    char hex[65];
    if (!c->status) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      goto fail;
    }
    if (file_size(c->file) >= 0 && !eo_sha256_file(c->file, hex)) c->file_sha256 = eo_strdup(hex);
    spent += (double)(eo_clock_ns() - t0) / 1e9;
    computed++;
    if ((st = write_state(&x, r, "optimize", pl.n))) goto fail;
    if (o->stop && *o->stop) {
      st = eo_error(EO_ERR_STATE, "interrupted after %s; %d of %d candidates finished are kept in %s/state.json: "
                                  "continue with edgeopt optimize --resume %s", p->name, i + 1, pl.n, o->outdir,
                    o->outdir);
      goto fail;
    }
    if (hook > 0 && computed >= hook && i + 1 < pl.n) {
      st = eo_error(EO_ERR_STATE, "stopped after %d candidates (test hook EO_OPTIMIZE_STOP_AFTER)", computed);
      goto fail;
    }
  }

  interleaved_bench(&x, r);

  /* pick: the fastest accepted by median latency (the mean is at the mercy of a shared host's outliers) */
  r->recommended = pick_best(r);
  r->verdict_pass = r->recommended != 0;
  conclude(&x, r, &pl);
  if (o->pick && r->recommended_reason) {  // the user's pick replaces the recommendation, not the verdict
    int k = 0;
    while (k < r->num_candidates && strcmp(r->candidates[k].name, o->pick) != 0) k++;
    const eo_optimize_candidate *c = &r->candidates[k < r->num_candidates ? k : 0];
    char *why = fmt_dup("%s: the user's pick (--pick), %s; edgeopt's recommendation was %s", c->name, c->status,
                        r->candidates[r->recommended].name);
    free(r->recommended_reason);
    r->recommended_reason = why;
    r->recommended = k < r->num_candidates ? k : 0;
    r->verdict_pass = r->recommended != 0 && !strcmp(c->status, "ACCEPTED");
  }
  if (!r->recommended_reason) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto fail;
  }

  /* 5. PACKAGE */
  say(o, "[5/5] PACKAGE %s -> %s/package", r->candidates[r->recommended].name, o->outdir);
  r->peak_rss_bytes = eo_proc_mem_bytes(0, EO_MEM_PEAK_RSS);
  if ((st = write_package(&x, model_path, r))) goto fail;
  if ((st = eo_sha256_file(model_path, sha_after))) goto fail;
  if (strcmp(sha_before, sha_after) != 0) {
    st = eo_error(EO_ERR_STATE, "%s changed during the run (sha256 %s -> %s)", model_path, sha_before, sha_after);
    goto fail;
  }
  if ((st = write_report_md(&x, model_path, r)) || (st = write_report_json(&x, model_path, r))) goto fail;
  write_html(&x, r);
  if ((st = write_state(&x, r, "done", pl.n))) goto fail;
  say(o, "source unchanged (sha256 %s); report: %s/report.md%s%s", sha_after, o->outdir,
      r->report_html_path ? ", " : "", r->report_html_path ? r->report_html_path : "");
  eo_model_free(x.base_model);
  eo_eval_result_free(x.base_eval);
  eo_opt_recipe_free(x.recipe);
  free(x.quant_recipe_path);
  free(x.cand_dir);
  cJSON_Delete(state);
  if (out) *out = r;
  else eo_optimize_result_free(r);
  return EO_OK;
fail:
  eo_model_free(x.base_model);
  eo_eval_result_free(x.base_eval);
  eo_opt_recipe_free(x.recipe);
  free(x.quant_recipe_path);
  free(x.cand_dir);
  eo_optimize_result_free(r);
  cJSON_Delete(state);
  return st;
}
