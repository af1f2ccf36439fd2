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
 * Flatten/Reshape, Transpose, Concat, Softmax, Pad (constant 0), Split (SPLIT_V), Resize of H and W
 * (RESIZE_NEAREST_NEIGHBOR for asymmetric/floor, RESIZE_BILINEAR for half_pixel, align_corners,
 * asymmetric). SiLU stays LOGISTIC + MUL. ONNX pads that are neither SAME nor VALID become an
 * explicit PAD (PADV2 with -inf before a max pool).
 *
 * EO_TFLITE_INT8 takes a static-INT8 QDQ model (edgeopt quantize --mode int8, ONNX Runtime's QDQ
 * form) and writes its integers and scales unchanged: each op between DequantizeLinear inputs and
 * a QuantizeLinear output becomes the int8 TFLite op (a Relu/Clip before the Q becomes its fused
 * activation); weights int8 per channel (CONV_2D quantized_dimension 0, DEPTHWISE 3, FC 0) with
 * zero point 0, biases int32 with scale s_in * s_w[c]; uint8 activations become int8 with zero
 * point - 128 (the same real values). Ops whose int8 kernel fixes its own output parameters
 * (LOGISTIC, SOFTMAX: 1/256, -128; TANH: 1/128, 0) or moves integers (MAX/AVERAGE_POOL, RESHAPE,
 * TRANSPOSE, PAD, RESIZE: the input's) are followed by a requantizing QUANTIZE when the QDQ model's
 * parameters differ; CONCATENATION inputs are requantized to the output's. Ops the QDQ model
 * keeps in float run in float between DEQUANTIZE and QUANTIZE. Convolutions and fully-connected
 * layers reproduce edgeopt's QDQ execution bit for bit; TFLite's fixed-point ADD/MUL and the
 * double rounding around LOGISTIC can differ by one step per op. io_type chooses the graph I/O:
 * float32 (QUANTIZE after the input, DEQUANTIZE before the output), int8, or uint8 (QUANTIZE
 * uint8 <-> int8 inside, the converter's inference_input_type = tf.uint8).
 *
 * EO_TFLITE_DYNAMIC takes an FP32 model (or a weight-int8 QDQ one, whose DequantizeLinear
 * constants are read as float): CONV_2D / DEPTHWISE_CONV_2D weights become int8 symmetric per
 * output channel, FULLY_CONNECTED weights int8 per tensor (asymmetric_quantize_inputs set), biases
 * and activations stay float32; TFLite's hybrid kernels quantize the activations at run time.
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
  EO_TFLITE_INT8 = 2, /* full integer: from a static-INT8 QDQ model (edgeopt quantize --mode int8);
                         int8 per-channel weights, int8 per-tensor activations, int32 bias, all
                         with the scales of the QDQ model */
  EO_TFLITE_DYNAMIC = 3, /* dynamic range: int8 symmetric weights, float activations (hybrid kernels) */
} eo_tflite_mode;

typedef enum eo_tflite_io {
  EO_TFLITE_IO_FLOAT32 = 0, /* float I/O: QUANTIZE after the input, DEQUANTIZE before the output */
  EO_TFLITE_IO_INT8 = 1,    /* int8 I/O tensors with the QDQ model's input/output scales */
  EO_TFLITE_IO_UINT8 = 2,   /* uint8 I/O (zero point + 128), QUANTIZE uint8<->int8 inside */
} eo_tflite_io;

typedef struct eo_tflite_options {
  int mode;   /* eo_tflite_mode */
  int batch;  /* size for symbolic leading dims of inputs; 0 means 1 */
  int io_type; /* eo_tflite_io: EO_TFLITE_IO_FLOAT32 = 0 (default), EO_TFLITE_IO_INT8,
                  EO_TFLITE_IO_UINT8; EO_TFLITE_INT8 only */
} eo_tflite_options;

/* opts may be NULL (FP32, batch 1). */
eo_status eo_export_tflite(const eo_model *m, const eo_tflite_options *opts, const char *path);

#ifdef __cplusplus
}
#endif
#endif
