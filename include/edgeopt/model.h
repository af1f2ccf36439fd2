/* edgeopt model: load, inspect and save ONNX models.
 *
 *     eo_model *m = NULL;
 *     eo_status st = eo_model_load("resnet18.onnx", &m);
 *     eo_model_info info;                 // counts, params, FLOPs, op histogram
 *     eo_model_inspect(m, &info);
 *     eo_model_save(m, "copy.onnx");       // lossless: an unchanged model is written semantically identical
 *     eo_model_free(m);
 *
 * Loading validates the whole graph: every op must be one edgeopt runs (the message lists every
 * unsupported node by name), every tensor must be produced, and the graph must be acyclic.
 * Shapes are inferred with symbolic dimensions bound to 1 (reported as symbolic by eo_model_input).
 *
 * TFLite files (.tflite, recognized by the flatbuffer identifier "TFL3", whatever the name) load
 * too: they are translated into an equivalent ONNX graph (inputs and outputs keep TFLite's names
 * and NHWC layout) that everything else, eo_model_save included, treats as ONNX. Float models,
 * float16 or int8 weights (dequantized at load); quantized activations, custom ops and ops
 * without a mapping are refused with every such operator listed.
 */
#ifndef EDGEOPT_MODEL_H
#define EDGEOPT_MODEL_H

#include "edgeopt/edgeopt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eo_model eo_model;

typedef struct eo_load_options {
  int allow_unsupported_ops; /* 1: load anyway (inspect, save); such a model cannot be prepared */
} eo_load_options;

/* Load from a file. External data files are read relative to the model's folder. opts may be NULL. */
eo_status eo_model_load(const char *path, const eo_load_options *opts, eo_model **out);
/* Load from memory; `base_dir` (may be NULL) resolves external data; `label` names the source in errors. */
eo_status eo_model_load_buffer(const void *data, size_t size, const char *base_dir, const char *label,
                               const eo_load_options *opts, eo_model **out);
/* Writes the model to `path` atomically (a temporary file in the same folder, then renamed).
 * Everything the loaded file holds is kept: model and graph metadata, doc strings, functions,
 * value_info, node attributes and subgraphs; initializers are written inline (external data is
 * copied in, so the file is self-contained; models over protobuf's 2 GiB limit are refused with
 * EO_ERR_UNSUPPORTED), and initializers no node reads are dropped. An unchanged model is written
 * semantically identical (byte-identical to its proto re-serialized when nothing is dropped).
 * Contract for code that rewrites a model's graph (passes, quantization): a tensor whose data,
 * dtype or shape changes must have its `src` proto cleared, so the original is not written back
 * (the writer also compares the bytes as a guard).
 * Returns EO_ERR_INVALID when `path` is the file the model was loaded from (refused: save to
 * another path), EO_ERR_IO when the file cannot be written, with the reason in eo_last_error(). */
eo_status eo_model_save(const eo_model *m, const char *path);
void eo_model_free(eo_model *m);

/* Description of a graph input or output. dims[i] == -1 with dim_param[i] != NULL for symbolic dims. */
typedef struct eo_value_desc {
  const char *name;
  int dtype;
  int rank;
  int64_t dims[EO_MAX_RANK];
  const char *dim_param[EO_MAX_RANK];
} eo_value_desc;

int eo_model_num_inputs(const eo_model *m);
int eo_model_num_outputs(const eo_model *m);
/* Borrowed descriptions, valid while the model lives. Outputs carry the shape inferred with batch = 1. */
const eo_value_desc *eo_model_input(const eo_model *m, int i);
const eo_value_desc *eo_model_output(const eo_model *m, int i);

typedef struct eo_op_count {
  const char *op_type;
  int count;
} eo_op_count;

typedef struct eo_model_info {
  const char *path;
  int64_t file_bytes;
  int64_t ir_version;
  int64_t opset;        /* default-domain opset */
  const char *producer; /* producer_name + version */
  int num_nodes;
  int num_initializers;
  int64_t num_params;       /* elements of all floating-point and integer initializers */
  int64_t param_bytes;      /* bytes of all initializers as stored */
  int64_t float16_params;   /* elements of float16 initializers (an FP16 model has them) */
  int64_t flops;            /* multiply-adds count 2, elementwise 1, with symbolic dims = 1 */
  int num_op_types;
  const eo_op_count *ops;   /* borrowed, sorted by count then name */
} eo_model_info;

eo_status eo_model_inspect(const eo_model *m, eo_model_info *out);

#ifdef __cplusplus
}
#endif
#endif
