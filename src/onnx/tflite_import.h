/* TFLite reader: a .tflite flatbuffer becomes a serialized ONNX model (opset 14), which the ONNX
 * loader then loads as usual, so the runtime, inspect, run, bench and save need nothing new. */
#ifndef EO_ONNX_TFLITE_IMPORT_H
#define EO_ONNX_TFLITE_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "edgeopt/edgeopt.h"

/* True when the buffer carries the TFLite file identifier "TFL3" (bytes 4..7). */
bool eo_is_tflite(const void *data, size_t size);

/* Translates subgraph 0 of a TFLite model into ONNX ModelProto bytes (*onnx malloc'd, caller
 * frees). Activations stay NHWC as in the file (graph inputs and outputs keep TFLite's names,
 * shapes and layout); convolutions and pools run in NCHW between Transposes. Float32 models,
 * float16 or int8/uint8 weights (dequantized at import). Full-INT8 files (int8/uint8 activations)
 * become Tfl* nodes that compute what the TFLite interpreter computes (ops/tfl_*.c); operators
 * with quantized activations that have no such kernel are refused by name.
 * Every unsupported operator is listed in one EO_ERR_UNSUPPORTED message; a malformed file gives
 * EO_ERR_PARSE. `label` names the file in messages. */
eo_status eo_tflite_to_onnx(const void *data, size_t size, const char *label, void **onnx, size_t *onnx_size);

#endif
