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
 *                         output share one set.
 *   EO_QUANT_WEIGHT_INT8  int8 weights behind DequantizeLinear (same weight scheme), float
 *                         activations; no calibration.
 *   EO_QUANT_FP16         float16 weights and activations; graph inputs/outputs stay float32 with
 *                         Cast at the boundaries; ops in keep_fp32_ops run in float32 between Casts.
 *   EO_QUANT_INT4         weight-only int4 (symmetric, scale = max|w| / 7 per block of block_size
 *                         weights along the input-channel axis: Conv axis 1, Gemm/MatMul the K axis),
 *                         packed two per byte, as DequantizeLinear with block_size; the file is
 *                         written at opset 21 / IR version 10 (refused for models whose ops changed
 *                         meaning before opset 21, e.g. ReduceMean with an 'axes' attribute).
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
  int bias_correction;       /* EO_QUANT_INT8: 1 shifts each Conv/Gemm bias by -(Wq - W) E[x] (E[x] per
                                input channel from calibration; Nagel et al. 2019); default 0 */
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

#ifdef __cplusplus
}
#endif
#endif
