/* edgeopt pipeline: `edgeopt optimize` as a library call. One run of the model-optimization
 * workflow (PROFILE -> OPTIMIZE -> BENCHMARK -> VALIDATE -> PACKAGE) into an output folder:
 *
 *   OUTDIR/candidates/<name>.onnx   one file per candidate, each made from the original model
 *   OUTDIR/package/                 the recommended model, metadata.json, preprocess.yaml
 *   OUTDIR/report.md, report.json   every figure of every candidate, the verdict against the floor
 *   OUTDIR/state.json               progress, rewritten (temp file + rename) after every candidate:
 *                                   options, source sha256, each finished candidate's full record
 *                                   (with its file's sha256), best so far; `resume` continues from it
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
 * Recommended: cpu-generic / raspberry-pi-5: the accepted candidate with the lowest median latency
 * among those at most 1.5x the original's (host estimate); jetson-orin-nano / coral (host latency
 * is not the target's): the target's format first (Coral: TFLite), then the best metric.
 * report.html is rendered from report.json (edgeopt/report.h); a failure there is only a warning.
 * Candidates by target (each from the original model, except TFLite files, written from the static
 * INT8 candidate with the best metric, whose accuracy they carry: same scales):
 *   cpu-generic       ONNX for ONNX Runtime CPU: FP16, dynamic INT8, weight-only INT8, static INT8
 *                     (percentile and entropy calibration, or the recipe's methods), int8-mixed (static
 *                     INT8 with the most sensitive layers kept in FP32 until the floor is met, at most
 *                     8: eo_quantize_auto_mixed), INT4 weights
 *   raspberry-pi-5    dynamic INT8, static INT8 and int8-mixed QDQ ONNX (ORT), full-INT8 TFLite (XNNPACK)
 *   jetson-orin-nano  FP16, static INT8 and int8-mixed QDQ ONNX for TensorRT (explicit quantization)
 *   coral             static INT8 QDQ ONNX and full-INT8 TFLite with uint8 I/O (edgetpu_compiler input)
 * Each candidate names its file format and the runtime it is for.
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
  const char *target;         /* cpu-generic (default), raspberry-pi-5, jetson-orin-nano, coral */
  const char *recipe_path;    /* YAML recipe in qat_config.yaml's shape (NULL: none), see below */
  const char *candidates;     /* comma-separated candidate names to run (NULL: the target's list) */
  const char *pick;           /* candidate to package instead of the recommendation, "baseline"
                                 included (NULL: the recommendation); the verdict still follows its
                                 status against the floor */
  int resume;                 /* 1: continue the run recorded in outdir/state.json; model_path and
                                 every other option are taken from the state (log/stop/json stay) */
  const volatile int *stop;   /* may be NULL; nonzero: stop after the current step (EO_ERR_STATE),
                                 state.json lists every finished candidate (Ctrl-C in the CLI) */
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
  const char *format;         /* "onnx" | "tflite" (static string) */
  char *runtime;              /* the runtime the file is for ("ONNX Runtime (CPU EP)", ...) */
  char *file_sha256;          /* of the candidate file (NULL: no file) */
  char *derived_from;         /* TFLite: the QDQ candidate it was written from (its accuracy) */
  int resumed;                /* 1: taken from state.json, not recomputed */
  int n_latency_samples;
  double *latency_samples_ms; /* every timed iteration, in run order */
  int n_layers;               /* per-layer SQNR, worst first (from eo_quant_report.layers) */
  char **layer_node, **layer_op;
  double *layer_sqnr_db;
} eo_optimize_candidate;

typedef struct eo_optimize_result {
  char *metric_name;          /* "mAP@0.5", "top-1", "top-1 agreement", ... */
  int num_candidates;         /* [0] is the baseline */
  eo_optimize_candidate *candidates;
  int recommended;            /* index; 0 (the baseline) when nothing meets the floor */
  int verdict_pass;           /* 1: an optimized candidate meets the floor */
  int64_t peak_rss_bytes;     /* of this process over the whole run */
  char *source_sha256;
  double floor;               /* the run's floor (with --resume: the recorded one) */
  int floor_absolute;
  char *target;
  char *recommended_reason;   /* one sentence: why this candidate (or why none) */
  int n_next_steps;
  char **next_steps;          /* what to try next (from rejected/failed candidates and the verdict) */
  int n_warnings;
  char **warnings;            /* recipe keys not supported yet, ... (also in the log and report) */
  char *report_json_path;     /* outdir/report.json */
  char *report_html_path;     /* outdir/report.html, NULL when it could not be written */
} eo_optimize_result;

/* Recipe (opts->recipe_path), sections as in qat_config.yaml; unknown keys are errors naming the
 * key and line:
 *   model:        architecture, variant, name (recorded), pretrained_path (ignored: MODEL is used)
 *   quantization: weight / activation / layer_configs, read by the quantization recipe reader
 *                 (examples/quant_recipe.yaml) and applied to the static INT8 candidates
 *   calibration:  method (minmax|percentile|entropy|mse or a list: one static INT8 candidate each),
 *                 num_samples / num_batches (calibration items), percentile
 *   analysis:     enabled, measure_layer_error, test_samples (evaluation items), metrics,
 *                 generate_visualization, compare_with_fp32
 *   export:       formats (onnx, tflite, tensorrt: keeps the candidates in those formats),
 *                 include_metadata, simplify, validate, include_quant_params
 *   candidates:   list of candidate names (edgeopt's own key)
 *   qat_params, distillation, train_params, pruning, calibration.use_coreset...: capabilities not
 *                 built yet: each is a "not supported yet" warning in the log and the report.
 * Runs the pipeline on the model at `model_path` (NULL with opts->resume). *out (may be NULL) is
 * owned by the caller. The environment variable EO_OPTIMIZE_STOP_AFTER=N (a test hook) stops the
 * run with EO_ERR_STATE after N candidates were computed by this call. */
eo_status eo_optimize(const char *model_path, const eo_optimize_options *opts, eo_optimize_result **out);
void eo_optimize_result_free(eo_optimize_result *r); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
