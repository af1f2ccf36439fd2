/* edgeopt pipeline: `edgeopt optimize` as a library call. One run of the model-optimization
 * workflow (PROFILE -> OPTIMIZE -> BENCHMARK -> VALIDATE -> PACKAGE) into an output folder:
 *
 *   OUTDIR/candidates/<name>.onnx   one file per candidate, each made from the original model
 *   OUTDIR/package/                 the recommended model, metadata.json, preprocess.yaml
 *   OUTDIR/report.md, report.json   every figure of every candidate, the verdict against the floor
 *
 *     eo_optimize_options o;
 *     eo_optimize_options_init(&o);
 *     o.data_path = "data/detect"; o.task = EO_EVAL_DETECT; o.outdir = "out";
 *     o.floor = 1.0;                                   // at most 1% relative drop of mAP@0.5
 *     eo_optimize_result *r = NULL;
 *     if (eo_optimize("model.onnx", &o, &r) != EO_OK) puts(eo_last_error());
 *     printf("%s: %s\n", r->verdict_pass ? "PASS" : "FAIL", r->recommended);
 *     eo_optimize_result_free(r);
 *
 * The baseline (the untouched model) is profiled first and the run stops if it cannot be measured.
 * Recommended: the accepted candidate with the lowest median latency.
 * Candidates: FP16, weight-only INT8, static INT8 (percentile and entropy calibration), INT4 weights.
 * A candidate the edgeopt runtime cannot run (e.g. FP16 convolutions) is kept with its size and
 * marked "not measured in edgeopt"; it is never recommended. A candidate below the floor is
 * REJECTED with its numbers and a suggestion. Latency figures are host estimates, measured as
 * `edgeopt bench` does (random inputs set once, only eo_session_run timed, after warmup).
 * The source file is never written; its sha256 is compared before and after (EO_ERR_STATE if it
 * changed). A non-empty OUTDIR is refused unless `force`; OUTDIR may not be the model's folder.
 */
#ifndef EDGEOPT_PIPELINE_H
#define EDGEOPT_PIPELINE_H

#include "edgeopt/evaluate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eo_optimize_options {
  const char *data_path;      /* evaluation data set (required) */
  const char *calib_path;     /* calibration data for static INT8; NULL: data_path */
  eo_eval_task task;          /* default EO_EVAL_DETECT */
  double floor;               /* allowed drop of the task metric (default 1.0) */
  int floor_absolute;         /* 0: floor is a relative drop in %; 1: absolute points (metric x 100) */
  const char *target;         /* "cpu-generic" (the only one for now) */
  const char *outdir;         /* required */
  int force;                  /* 1: accept a non-empty outdir */
  int64_t limit;              /* evaluation items (0: all) */
  int64_t calib_limit;        /* calibration items (default 100) */
  int warmup, iters;          /* benchmark (default 5 and 30) */
  int threads;                /* 0: one per core */
  const char *command_line;   /* recorded in metadata.json (may be NULL) */
  /* progress lines ("[2/5] OPTIMIZE int8 ..."); NULL: silent */
  void (*log)(void *user, const char *line);
  void *log_user;
} eo_optimize_options;

void eo_optimize_options_init(eo_optimize_options *o);

typedef struct eo_optimize_candidate {
  char *name;                 /* "baseline", "fp16", "weight-int8", "int8-percentile", ... */
  char *precision;            /* "FP32", "FP16", "INT8 W8A8", ... */
  char *file;                 /* path of the model file */
  char *status;               /* "BASELINE", "ACCEPTED", "REJECTED", "NOT MEASURED", "FAILED" */
  char *note;                 /* why (failure, rejection, what to try next); may be NULL */
  int64_t file_bytes, params;
  int64_t flops;
  int measured;               /* 1: latency and accuracy below are valid */
  double mean_ms, p50_ms, p95_ms, p99_ms, min_ms, max_ms, throughput;
  int64_t arena_bytes, constant_bytes;
  double metric;              /* task metric (fraction); NAN when not measured */
  double drop;                /* drop against the baseline in the floor's unit (% or points) */
  double eval_seconds;
  double sqnr_db;             /* quantizer's output SQNR vs FP32 on a calibration item (NAN: none) */
} eo_optimize_candidate;

typedef struct eo_optimize_result {
  char *metric_name;          /* "mAP@0.5", "top-1", "top-1 agreement", ... */
  int num_candidates;         /* [0] is the baseline */
  eo_optimize_candidate *candidates;
  int recommended;            /* index; 0 (the baseline) when nothing meets the floor */
  int verdict_pass;           /* 1: an optimized candidate meets the floor */
  int64_t peak_rss_bytes;     /* of this process over the whole run */
  char *source_sha256;
} eo_optimize_result;

/* Runs the pipeline on the model at `model_path`. *out (may be NULL) is owned by the caller. */
eo_status eo_optimize(const char *model_path, const eo_optimize_options *opts, eo_optimize_result **out);
void eo_optimize_result_free(eo_optimize_result *r); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
