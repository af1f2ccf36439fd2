/* Quantization recipe (YAML), in the spirit of qat_config.yaml's `quantization` section:
 *
 *   quantization:                 # optional wrapper; the keys may also sit at the top level
 *     weight:     {bits: 8, per_channel: true, symmetric: true, observer: minmax}
 *     activation: {bits: 8, symmetric: false, observer: percentile, percentile: 99.99,
 *                  float_gemm_output: false}
 *     layer_configs:
 *       - pattern: "^head\\."     # POSIX extended regex over node names
 *         op_type: "Conv|Gemm"    # optional regex over op types (whole-string match)
 *         skip: true              # keep these nodes in float
 *       - pattern: "conv1$"
 *         observer: minmax        # minmax | percentile | entropy | mse
 *         per_channel: false
 * weight.observer: minmax (scale max|w| / 127, the default) or mse (per channel, the clip ratio that
 * minimises the weight rounding error: quant/wclip.h); used by --mode int8 and weight-int8.
 * activation.float_gemm_output: true leaves a Gemm's output in float when nothing quantized reads
 * it (a classifier's logits; ONNX Runtime runs it as QGemm with float output). Off by default: a
 * full-integer TFLite / Edge TPU export needs every tensor quantized.
 * Only 8-bit and symmetric weights are produced (INT4 is its own mode): other values are refused.
 * Unknown keys, bad values and invalid regexes are errors naming the file, line and key. Later
 * layer_configs entries override earlier ones for the fields they set. */
#ifndef EO_QUANT_RECIPE_H
#define EO_QUANT_RECIPE_H

#include <regex.h>

#include "core/core.h"

typedef struct eo_recipe_layer {
  regex_t name_re, op_re;
  bool has_name, has_op;
  int skip;         /* -1 unset, 0/1 */
  int observer;     /* -1 unset, else eo_calib_method */
  int per_channel;  /* -1 unset, 0/1 */
} eo_recipe_layer;

typedef struct eo_quant_recipe {
  int per_channel;    /* -1 unset */
  int weight_observer; /* -1 unset, EO_WCLIP_MINMAX or EO_WCLIP_MSE (weight: observer: minmax|mse) */
  int act_symmetric;  /* -1 unset */
  int observer;       /* -1 unset */
  double percentile;  /* < 0 unset */
  int float_gemm_output; /* -1 unset, 0/1 (activation: float_gemm_output) */
  int n_layers;
  eo_recipe_layer *layers;
} eo_quant_recipe;

eo_status eo_recipe_load(const char *path, eo_quant_recipe **out);
void eo_recipe_free(eo_quant_recipe *r);
/* Settings for one node (fields stay -1 when no entry sets them). */
void eo_recipe_node(const eo_quant_recipe *r, const char *name, const char *op_type, int *skip, int *observer,
                    int *per_channel);

#endif
