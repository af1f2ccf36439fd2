/* edgeopt export: writes a loaded model in another runtime's format. First target: TFLite.
 *
 *     eo_model *m = NULL;
 *     eo_model_load("classifier.onnx", NULL, &m);
 *     eo_tflite_options o = {.mode = EO_TFLITE_FP32};
 *     if (eo_export_tflite(m, &o, "classifier.tflite") != EO_OK) puts(eo_last_error());
 *     eo_model_free(m);
 *
 * The graph is optimized first (constant folding, BatchNormalization folding, Conv+activation
 * fusion) and converted to TFLite's layout: every rank-4 activation is NHWC, so a model with an
 * NCHW input [N,C,H,W] takes [N,H,W,C] and a rank-4 output comes out NHWC too; other ranks keep
 * their layout; an NHWC model input read only through Transpose(perm 0,3,1,2) (tf2onnx exports)
 * keeps its own NHWC shape and those Transposes disappear. Weights are re-laid out once (CONV_2D
 * OHWI, DEPTHWISE_CONV_2D 1HWO, FULLY_CONNECTED [out,in]). Symbolic batch dims are bound to
 * opts->batch (default 1); any other symbolic input dim is an EO_ERR_SHAPE error.
 *
 * Ops: Conv (plain and depthwise; fused Relu/Relu6 as fused activations, fused Sigmoid/Tanh as a
 * following op), Gemm/MatMul with constant weights (FULLY_CONNECTED), Add, Sub, Mul, Div, Relu,
 * Clip(0,6)/(0,inf)/(-1,1), Sigmoid, Tanh, MaxPool, AveragePool, GlobalAveragePool (MEAN),
 * Flatten/Reshape, Transpose, Concat, Softmax, Pad (constant 0). ONNX pads that are neither SAME
 * nor VALID become an explicit PAD (PADV2 with -inf before a max pool).
 *
 * Everything is checked before anything is written: nodes TFLite cannot express are listed by
 * name and op in one EO_ERR_UNSUPPORTED message. The file is written to a temporary name in the
 * same folder and renamed, so `path` is never left half-written.
 */
#ifndef EDGEOPT_EXPORT_H
#define EDGEOPT_EXPORT_H

#include "edgeopt/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eo_tflite_mode {
  EO_TFLITE_FP32 = 0, /* float32 weights and compute */
  EO_TFLITE_FP16 = 1, /* float16 weights behind DEQUANTIZE, float32 compute (as MediaPipe ships) */
} eo_tflite_mode;

typedef struct eo_tflite_options {
  int mode;   /* eo_tflite_mode */
  int batch;  /* size for symbolic leading dims of inputs; 0 means 1 */
} eo_tflite_options;

/* opts may be NULL (FP32, batch 1). */
eo_status eo_export_tflite(const eo_model *m, const eo_tflite_options *opts, const char *path);

#ifdef __cplusplus
}
#endif
#endif
