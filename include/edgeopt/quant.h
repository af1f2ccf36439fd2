/* edgeopt quantization: post-training quantization of an FP32 ONNX model into a new ONNX file.
 *
 *     eo_quant_options o;
 *     eo_quant_options_init(&o);                  // static INT8, percentile 99.99, per-channel
 *     o.calib_path = "calib_images/";             // images, ImageFolder, YOLO or .npy folder
 *     o.calib_limit = 200;
 *     eo_quant_report *r = NULL;
 *     if (eo_quantize("model.onnx", "model_int8.onnx", &o, &r) != EO_OK) puts(eo_last_error());
 *     printf("%d/%d tensors quantized\n", r->tensors_quantized, r->tensors_total);
 *     eo_quant_report_free(r);
 *
 * Modes:
 *   EO_QUANT_INT8         W8A8 static QDQ in ONNX Runtime's conventions: weights of Conv / Gemm /
 *                         MatMul int8 symmetric per output channel (per tensor as an option) behind
 *                         DequantizeLinear, biases int32 with scale s_input * s_weight, activations
 *                         QuantizeLinear -> DequantizeLinear (uint8 asymmetric, or int8 symmetric),
 *                         ranges from calibration. A Relu/Clip after a Conv/Gemm/MatMul/Add is one
 *                         group: only its output is quantized. MaxPool, Reshape, Transpose, Flatten,
 *                         Squeeze, Unsqueeze share their input's parameters; Concat's inputs and
 *                         output share one set. The output tail (quantize_output_tail below: a
 *                         detector's decode, a final Softmax) stays in float by default.
 *   EO_QUANT_WEIGHT_INT8  int8 weights behind DequantizeLinear (same weight scheme), float
 *                         activations; no calibration.
 *   EO_QUANT_FP16         float16 weights and activations; graph inputs/outputs stay float32 with
 *                         Cast at the boundaries; ops in keep_fp32_ops run in float32 between Casts.
 *   EO_QUANT_INT4         weight-only int4 (symmetric, scale = max|w| / 7 per block of block_size
 *                         weights along the input-channel axis: Conv axis 1, Gemm/MatMul the K axis),
 *                         packed two per byte, as DequantizeLinear with block_size; the file is
 *                         written at opset 21 / IR version 10 (refused for models whose ops changed
 *                         meaning before opset 21, e.g. ReduceMean with an 'axes' attribute). With
 *                         int4_format EO_INT4_MATMULNBITS, MatMul/Gemm weights use ONNX Runtime's
 *                         MatMulNBits instead (see the field).
 *   EO_QUANT_DYNAMIC      ONNX Runtime's quantize_dynamic form: each Conv / MatMul / Gemm (alpha =
 *                         beta = 1) reads DynamicQuantizeLinear(x) (uint8, range per run) into
 *                         ConvInteger / MatMulInteger with weights quantized offline, symmetric
 *                         per output channel (Conv: uint8 with zero point 128, MatMul/Gemm: int8),
 *                         then Cast * (x_scale * w_scale) [+ bias]; needs opset >= 11.
 * The source model is never modified; the output is written to a temporary file and renamed, and an
 * output path equal to the input path is refused (EO_ERR_INVALID). BatchNormalization is folded
 * into Conv/Gemm and constants are folded before quantizing.
 */
#ifndef EDGEOPT_QUANT_H
#define EDGEOPT_QUANT_H

#include "edgeopt/edgeopt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eo_quant_mode {
  EO_QUANT_INT8 = 0, EO_QUANT_WEIGHT_INT8, EO_QUANT_FP16, EO_QUANT_INT4, EO_QUANT_DYNAMIC
} eo_quant_mode;
typedef enum eo_int4_format {
  EO_INT4_DQ = 0, EO_INT4_MATMULNBITS
} eo_int4_format;
typedef enum eo_calib_method {
  EO_CALIB_MINMAX = 0, EO_CALIB_PERCENTILE, EO_CALIB_ENTROPY, EO_CALIB_MSE
} eo_calib_method;

typedef struct eo_quant_options {
  eo_quant_mode mode;
  eo_calib_method method;    /* default EO_CALIB_PERCENTILE */
  double percentile;         /* default 99.99 */
  int per_tensor;            /* 1: one weight scale per tensor instead of per output channel */
  int act_int8;              /* 1: activations int8 symmetric; 0 (default): uint8 asymmetric */
  int block_size;            /* EO_QUANT_INT4: weights per scale, 16..1024, power of 2 (default 32) */
  int int4_format;           /* EO_QUANT_INT4, an eo_int4_format. EO_INT4_DQ (default): every weight as
                                DequantizeLinear with block_size (opset 21). EO_INT4_MATMULNBITS: a
                                MatMul with a constant 2-D B, and a Gemm (alpha = beta = 1, transA = 0)
                                with a constant B, become ONNX Runtime's com.microsoft MatMulNBits
                                (bits 4, B stored as q + 8 with the default zero point 8: the same int4
                                values and scales as the DQ form; a Gemm's C becomes an Add after it);
                                other weights (Conv) keep the DequantizeLinear form. The file keeps the
                                model's opset when no DequantizeLinear with block_size is written
                                (readable by onnx.checker releases before opset 21). */
  int bias_correction;       /* EO_QUANT_INT8: 1 shifts each Conv/Gemm bias by -(Wq - W) E[x] (E[x] per
                                input channel from calibration; Nagel et al. 2019); default 1: on the
                                example classifier and detector it brings the outputs closer to FP32
                                (SQNR 37.6 -> 37.8 and 33.8 -> 36.6 dB, detector mAP@0.5:0.95 +0.3) */
  const char *calib_path;    /* EO_QUANT_INT8: data set (see edgeopt/data.h); required */
  int64_t calib_limit;       /* 0: every item */
  const char *calib_split;   /* data set split used for calibration ("train", "val", "test"); NULL:
                                the data set's default (see eo_dataset_options.split) */
  /* Nodes left in float: node name matches one of the POSIX extended regexes, or op type listed. */
  const char *const *exclude;
  int n_exclude;
  const char *const *exclude_ops;
  int n_exclude_ops;
  /* FP16: op types kept in float32; NULL: the default list (Softmax, LogSoftmax, Exp, Log, Pow,
   * ReduceSum, ReduceMean, ReduceProd, TopK, NonMaxSuppression, Range, InstanceNormalization). */
  const char *const *keep_fp32_ops;
  int n_keep_fp32_ops;
  /* YAML recipe (NULL: none): global weight/activation settings that override the fields above,
   * and layer_configs entries (regex over node names / op types) that skip nodes or set their
   * observer and per-channel choice. Format: examples/quant_recipe.yaml. */
  const char *recipe_path;
  /* EO_QUANT_INT8: 0 (default) keeps the output tail in float: the non-Conv/Gemm/MatMul nodes from
   * which every path reaches a graph output without passing a Conv/Gemm/MatMul (a detector's box
   * decode and its Concat of pixel boxes with 0..1 scores, a final Softmax/Sigmoid). Such nodes mix
   * ranges of very different magnitude into one tensor (one 8-bit scale for boxes up to the image
   * size and for scores: the scores lose their resolution) and cost little in float, as in
   * Ultralytics' and TensorRT's INT8 exports. 1: quantize them too. */
  int quantize_output_tail;
  /* Called after each calibration item (may be NULL); total is the item count. */
  void (*progress)(void *user, int64_t done, int64_t total);
  void *user;
} eo_quant_options;

void eo_quant_options_init(eo_quant_options *o);

typedef struct eo_quant_layer {
  char *name;                /* node name (or its first output's name when unnamed) */
  const char *op_type;       /* borrowed from a static table */
  double sqnr_db;            /* output SQNR of this node, quantized model vs FP32, on one calibration
                                item; INFINITY when equal */
} eo_quant_layer;

typedef struct eo_quant_report {
  int64_t bytes_before, bytes_after;     /* file sizes */
  int tensors_quantized, tensors_total;  /* float initializers of more than one element (after
                                            folding) stored quantized / all */
  int64_t params_quantized, params_total;
  int activations_quantized;             /* QuantizeLinear nodes inserted */
  int bias_corrected;                    /* biases shifted by bias correction */
  int tail_float;                        /* nodes kept in float by the output-tail rule */
  int calib_items;
  double calib_seconds, total_seconds;
  double output_sqnr_db;                 /* graph output 0 vs FP32 on the first calibration item
                                            (NAN when no calibration data) */
  char *sqnr_skipped;                    /* why the SQNR report is missing (NULL: present or no data) */
  int n_layers;                          /* sorted worst SQNR first */
  eo_quant_layer *layers;
} eo_quant_report;

/* Quantizes the model at in_path into out_path. *report (may be NULL to skip) is owned by the
 * caller (eo_quant_report_free). Errors: EO_ERR_INVALID (same path, bad options, no quantizable
 * op, bad regex, NaN/Inf in weights or activations, calibration shape mismatch), EO_ERR_IO /
 * EO_ERR_PARSE (model or data), EO_ERR_NOMEM. Nothing is written on failure. */
eo_status eo_quantize(const char *in_path, const char *out_path, const eo_quant_options *opts,
                      eo_quant_report **report);
void eo_quant_report_free(eo_quant_report *r);

/* ---------------------------------------------------------------- sensitivity and mixed precision
 *
 * Static INT8 only (opts->mode must be EO_QUANT_INT8). Calibration runs once; each variant is the
 * same quantization with some nodes also kept in float (as if named by opts->exclude).
 *
 * How a variant is scored (eo_quant_metric_options):
 *   - with eval_data (a labelled data set, edgeopt/evaluate.h): the task metric of the variant,
 *     measured by eo_evaluate: detect -> mAP@0.5:0.95 (or mAP@0.5 with metric "map50"), classify ->
 *     top-1. The task is guessed from the model's first output when task < 0: rank 2 [N, C] ->
 *     classify, otherwise detect.
 *   - always: SQNR (dB) of graph output 0 vs the FP32 model over the first sqnr_items calibration
 *     items (the only score when eval_data is NULL), computed per channel (axis 1; the whole tensor
 *     when rank < 2) and averaged in dB, each channel capped to +-120 dB, INFINITY when identical:
 *     a channel of small values (a detector's 0..1 scores beside boxes in pixels) weighs as much
 *     as a large one, which a plain SQNR of the whole output would hide.
 *
 *     eo_quant_options q; eo_quant_options_init(&q); q.calib_path = "data/data.yaml";
 *     eo_quant_mixed_options m; eo_quant_mixed_options_init(&m);
 *     m.metric.eval_data = "data/data.yaml"; m.floor = 0.01;       // at most 1% relative drop
 *     eo_quant_mixed_report *r = NULL;
 *     if (eo_quantize_auto_mixed("det.onnx", "det_mixed.onnx", &q, &m, &r) == EO_OK) ...
 */
typedef struct eo_quant_metric_options {
  const char *eval_data;     /* labelled data set for the task metric; NULL: output SQNR only */
  const char *eval_split;    /* NULL: "val" */
  int64_t eval_limit;        /* items evaluated (0: all) */
  int task;                  /* eo_eval_task (EO_EVAL_DETECT / EO_EVAL_CLASSIFY); -1 (default): guess */
  const char *metric;        /* "map50-95" (detect default), "map50", "top1" (classify default) */
  int sqnr_items;            /* calibration items for the output SQNR (default 4) */
  int threads;               /* session threads (0: one per core) */
  /* Called after each variant is scored (may be NULL). */
  void (*progress)(void *user, int done, int total);
  void *user;
} eo_quant_metric_options;

typedef struct eo_quant_sens_options {
  eo_quant_metric_options metric;
  int only_quantized;        /* 0 (default): a row is "everything quantized except this node";
                                1: "only this node quantized, the rest in float" */
  int max_nodes;             /* with eval_data: the task metric is measured for the max_nodes rows
                                ranked most sensitive by output SQNR (a cheap first ranking; the
                                others keep metric NAN); 0: for every row */
} eo_quant_sens_options;
void eo_quant_sens_options_init(eo_quant_sens_options *o);

typedef struct eo_quant_sens_row {
  char *name;                /* node name (or its first output's name when unnamed) */
  const char *op_type;       /* static */
  double sqnr_db;            /* output SQNR (per-channel mean, above) of this variant */
  double metric;             /* task metric of this variant (NAN without eval_data) */
  double metric_delta;       /* metric - fully quantized metric (only_quantized = 0), or
                                metric - FP32 metric (only_quantized = 1); NAN without eval_data */
} eo_quant_sens_row;

typedef struct eo_quant_sens_report {
  const char *metric_name;   /* "mAP@0.5:0.95", "mAP@0.5", "top1"; NULL without eval_data */
  double fp32_metric;        /* NAN without eval_data */
  double quant_metric;       /* every quantizable node quantized (NAN without eval_data) */
  double quant_sqnr_db;      /* output SQNR of the fully quantized model */
  int only_quantized;
  int n_rows;                /* most sensitive first: the largest gain from keeping the node in
                                float (only_quantized = 0) / the largest loss from quantizing it
                                (only_quantized = 1); by metric when measured, else by SQNR */
  eo_quant_sens_row *rows;
  double seconds;
} eo_quant_sens_report;

/* Per-node sensitivity of the static INT8 quantization of in_path. Nothing is written except
 * temporary files (removed). *out is owned by the caller (eo_quant_sens_report_free). */
eo_status eo_quant_sensitivity(const char *in_path, const eo_quant_options *opts,
                               const eo_quant_sens_options *sens, eo_quant_sens_report **out);
void eo_quant_sens_report_free(eo_quant_sens_report *r);
/* The report as JSON (schema_version 1, field names as above; an infinite SQNR is "inf"). *out is
 * malloc'd; the caller frees it. */
eo_status eo_quant_sens_report_to_json(const eo_quant_sens_report *r, char **out);

typedef struct eo_quant_mixed_options {
  eo_quant_metric_options metric;
  double floor;              /* allowed drop from the FP32 metric: a fraction of it when
                                floor_relative (default 0.01 = 1%), else absolute (e.g. 0.005 =
                                0.5 point of top-1) */
  int floor_relative;        /* default 1 */
  int max_float;             /* stop after keeping this many nodes in float (default 8) */
  double min_sqnr_db;        /* without eval_data: the output SQNR to reach (default 30 dB) */
  int max_evals;             /* stop after this many steps tried, kept or undone (each one quantization
                                and one scoring of the variant; default 16; 0: none) */
} eo_quant_mixed_options;
void eo_quant_mixed_options_init(eo_quant_mixed_options *o);

typedef struct eo_quant_mixed_step {
  char *kept;                /* node kept in float at this step (NULL for step 0: the plain quantization) */
  const char *op_type;       /* static; NULL for step 0 */
  double metric;             /* task metric after this step (NAN without eval_data) */
  double sqnr_db;            /* output SQNR after this step */
} eo_quant_mixed_step;

/* One step tried: the node put in float on top of the nodes kept so far, scored, and kept only when
 * the score (the task metric with eval_data, else the output SQNR) went strictly up. */
typedef struct eo_quant_mixed_try {
  char *node;                /* node tried in float */
  const char *op_type;       /* static */
  double metric_before, metric_after;  /* task metric without / with it (NAN without eval_data) */
  double sqnr_before, sqnr_after;      /* output SQNR without / with it */
  int kept;                  /* 1: improved, stays in float; 0: undone (back to INT8) */
} eo_quant_mixed_try;

typedef struct eo_quant_mixed_report {
  const char *metric_name;   /* as in eo_quant_sens_report; "output SQNR dB" without eval_data */
  double fp32_metric;        /* NAN without eval_data */
  double target;             /* the metric (or SQNR) the result must reach */
  int met;                   /* 1: the written model reaches target */
  int n_steps;               /* step 0 plus one per node kept in float */
  eo_quant_mixed_step *steps;
  int n_tries;               /* every step tried, in order (kept and undone) */
  eo_quant_mixed_try *tries;
  int max_evals;             /* the evaluation budget used (eo_quant_mixed_options.max_evals) */
  const char *stop_reason;   /* static: "target met", "candidates exhausted", "max_float reached",
                                "evaluation budget reached" */
  eo_quant_report *quant;    /* eo_quantize's report for the written file (owned) */
  double seconds;
} eo_quant_mixed_report;

/* Quantizes in_path (static INT8, opts) into out_path; while the metric is below the target tries
 * the next most sensitive node in float (ranked once by eo_quant_sensitivity), re-measures, and
 * keeps it only if the score improved, else puts it back to INT8 (->tries lists both). Stops when
 * the target is met, the candidates are exhausted, max_float nodes are kept or max_evals steps
 * were tried (->stop_reason). Writes the model of the last kept step (whether or not the target
 * is met: see ->met). *out owned by the caller. */
eo_status eo_quantize_auto_mixed(const char *in_path, const char *out_path, const eo_quant_options *opts,
                                 const eo_quant_mixed_options *mixed, eo_quant_mixed_report **out);
void eo_quant_mixed_report_free(eo_quant_mixed_report *r);
eo_status eo_quant_mixed_report_to_json(const eo_quant_mixed_report *r, char **out);

#ifdef __cplusplus
}
#endif
#endif
