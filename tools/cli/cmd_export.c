#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "edgeopt/export.h"

static const char *help =
    "Usage: edgeopt export MODEL.onnx --format tflite [--mode fp32|fp16|int8|dynamic] [--io float32|int8|uint8]\n"
    "                      [--batch N] -o OUT.tflite\n\n"
    "Writes the model as a TFLite flatbuffer after the usual graph optimizations. Rank-4 tensors become\n"
    "NHWC: an NCHW input [N,C,H,W] is fed as [N,H,W,C] (rank-4 outputs come out NHWC too). Nodes TFLite\n"
    "cannot express are listed by name before anything is written.\n\n"
    "  --format tflite   the target format (only tflite yet)\n"
    "  --mode MODE       fp32 (default): float32 weights and compute\n"
    "                    fp16: float16 weights behind DEQUANTIZE, float32 compute (as MediaPipe ships)\n"
    "                    int8: full integer, from a static-INT8 QDQ model (edgeopt quantize --mode int8):\n"
    "                      int8 per-channel weights, int8 per-tensor activations, int32 biases, all with\n"
    "                      the QDQ model's scales (uint8 activations become int8 with zero point - 128);\n"
    "                      ops the QDQ model keeps in float run in float between DEQUANTIZE/QUANTIZE\n"
    "                    dynamic: dynamic range, from an FP32 (or weight-int8) model: int8 symmetric\n"
    "                      weights (CONV_2D/DEPTHWISE per channel, FULLY_CONNECTED per tensor), float32\n"
    "                      activations; TFLite's hybrid kernels quantize activations at run time\n"
    "  --io TYPE         int8 mode: the type of the inputs and outputs. float32 (default): QUANTIZE\n"
    "                    after the input and DEQUANTIZE before the output; int8: the quantized tensors\n"
    "                    themselves; uint8: uint8 tensors (zero point + 128) with QUANTIZE inside, like\n"
    "                    the TFLite converter's inference_input_type = tf.uint8\n"
    "  --batch N         size for a symbolic batch dimension (default 1)\n"
    "  -o, --output F    the file to write (replaced atomically)\n"
    "  -h, --help        this help\n";

int cmd_export(int argc, char **argv) {
  const char *path = NULL, *out = NULL, *format = NULL, *mode = "fp32", *io = NULL;
  eo_tflite_options o = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      fputs(help, stdout);
      return EO_EXIT_OK;
    } else if (!strcmp(a, "--format") || !strcmp(a, "--mode") || !strcmp(a, "-o") || !strcmp(a, "--output") ||
               !strcmp(a, "--batch") || !strcmp(a, "--io")) {
      if (i + 1 >= argc) return cli_usage_error("export", "%s needs a value", a);
      const char *v = argv[++i];
      if (!strcmp(a, "--format")) format = v;
      else if (!strcmp(a, "--mode")) mode = v;
      else if (!strcmp(a, "--io")) io = v;
      else if (!strcmp(a, "--batch")) {
        char *end;
        long b = strtol(v, &end, 10);
        if (*end || b < 1 || b > 1 << 20) return cli_usage_error("export", "--batch needs a positive integer, got '%s'", v);
        o.batch = (int)b;
      } else out = v;
    } else if (a[0] == '-') {
      return cli_usage_error("export", "unknown option '%s'", a);
    } else if (!path) {
      path = a;
    } else {
      return cli_usage_error("export", "unexpected argument '%s'", a);
    }
  }
  if (!path) return cli_usage_error("export", "no model given");
  if (!format) return cli_usage_error("export", "--format is required (tflite)");
  if (strcmp(format, "tflite") != 0) return cli_usage_error("export", "unknown format '%s' (expected tflite)", format);
  if (!strcmp(mode, "fp32")) o.mode = EO_TFLITE_FP32;
  else if (!strcmp(mode, "fp16")) o.mode = EO_TFLITE_FP16;
  else if (!strcmp(mode, "int8")) o.mode = EO_TFLITE_INT8;
  else if (!strcmp(mode, "dynamic")) o.mode = EO_TFLITE_DYNAMIC;
  else return cli_usage_error("export", "unknown --mode '%s' (fp32, fp16, int8 or dynamic)", mode);
  if (io) {
    if (o.mode != EO_TFLITE_INT8) return cli_usage_error("export", "--io needs --mode int8");
    if (!strcmp(io, "float32")) o.io_type = EO_TFLITE_IO_FLOAT32;
    else if (!strcmp(io, "int8")) o.io_type = EO_TFLITE_IO_INT8;
    else if (!strcmp(io, "uint8")) o.io_type = EO_TFLITE_IO_UINT8;
    else return cli_usage_error("export", "unknown --io '%s' (float32, int8 or uint8)", io);
  }
  if (!out) return cli_usage_error("export", "-o OUT.tflite is required");
  eo_model *m = NULL;
  eo_status st = eo_model_load(path, NULL, &m);
  if (st) return cli_fail(st);
  st = eo_export_tflite(m, &o, out);
  eo_model_free(m);
  if (st) return cli_fail(st);
  printf("wrote %s (%s, %s)\n", out, format, mode);
  return EO_EXIT_OK;
}
