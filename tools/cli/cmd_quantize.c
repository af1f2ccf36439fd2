#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "edgeopt/quant.h"

static const char *help =
    "Usage: edgeopt quantize MODEL.onnx --mode int8|dynamic|weight-int8|fp16|int4 [options] -o OUT.onnx\n\n"
    "Post-training quantization into a new ONNX file (the source is never modified).\n"
    "  int8         static W8A8 QDQ (ONNX Runtime conventions); needs --calib\n"
    "  weight-int8  int8 weights behind DequantizeLinear, float activations\n"
    "  fp16         float16 weights and activations, float32 inputs/outputs\n"
    "  int4         int4 weights in blocks (DequantizeLinear block_size, opset 21), float activations\n"
    "  dynamic      int8 weights, activations quantized at run time (DynamicQuantizeLinear +\n"
    "               ConvInteger / MatMulInteger, ONNX Runtime's quantize_dynamic form)\n\n"
    "  --calib DATA        calibration data: image folder, ImageFolder, YOLO data set or .npy folder\n"
    "                      (optional for weight-int8/fp16: enables the per-layer SQNR report)\n"
    "  --calib-split S     train | val | test: the data set split to calibrate on (default: val;\n"
    "                      YOLO data.yaml key, ImageFolder root/S/ when it exists)\n"
    "  --calib-limit N     use at most N calibration items (a seeded random subset)\n"
    "  --method M          minmax | percentile (default, 99.99) | entropy | mse\n"
    "  --percentile P      percentile for --method percentile (default 99.99)\n"
    "  --per-tensor        one weight scale per tensor (default: per output channel)\n"
    "  --bias-correction   int8: shift biases by the mean error of the quantized weights\n"
    "  --block-size N      int4: weights per scale along the input channels (default 32)\n"
    "  --act-type T        uint8 (default, asymmetric) | int8 (symmetric)\n"
    "  --recipe FILE.yaml  quantization recipe: weight/activation settings and layer_configs\n"
    "                      (regex patterns over node names / op types; examples/quant_recipe.yaml)\n"
    "  --exclude REGEX     keep nodes whose name matches (POSIX extended regex) in float; repeatable\n"
    "  --exclude-op OP     keep every node of this op type in float; repeatable\n"
    "  --keep-fp32 OP      fp16: op type kept in float32 (repeatable; replaces the default list)\n"
    "  --top N             per-layer SQNR rows shown, worst first (default 10, 0: all)\n"
    "  -o, --output FILE   the quantized model (must differ from MODEL)\n"
    "  -h, --help          this help\n";

static void progress(void *user, int64_t done, int64_t total) {
  (void)user;
  if (done == total || done % 10 == 0) {
    fprintf(stderr, "\rcalibrating: %lld/%lld", (long long)done, (long long)total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
  }
}

int cmd_quantize(int argc, char **argv) {
  const char *model = NULL, *out = NULL, *ex[64], *exop[64], *keep[64];
  int nex = 0, nexop = 0, nkeep = 0, top = 10;
  bool have_mode = false;
  eo_quant_options o;
  eo_quant_options_init(&o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      fputs(help, stdout);
      return EO_EXIT_OK;
    }
    if (strcmp(a, "--per-tensor") == 0 || strcmp(a, "--bias-correction") == 0) {
      if (a[2] == 'p') o.per_tensor = 1;
      else o.bias_correction = 1;
      continue;
    }
    if (a[0] == '-' && a[1]) {
      if (i + 1 >= argc) return cli_usage_error("quantize", "%s needs a value", a);
      const char *v = argv[++i];
      char *end;
      if (strcmp(a, "--mode") == 0) {
        have_mode = true;
        if (strcmp(v, "int8") == 0) o.mode = EO_QUANT_INT8;
        else if (strcmp(v, "weight-int8") == 0) o.mode = EO_QUANT_WEIGHT_INT8;
        else if (strcmp(v, "fp16") == 0) o.mode = EO_QUANT_FP16;
        else if (strcmp(v, "int4") == 0) o.mode = EO_QUANT_INT4;
        else if (strcmp(v, "dynamic") == 0) o.mode = EO_QUANT_DYNAMIC;
        else return cli_usage_error("quantize", "unknown --mode '%s' (expected int8, dynamic, weight-int8, fp16 or int4)", v);
      } else if (strcmp(a, "--recipe") == 0) {
        o.recipe_path = v;
      } else if (strcmp(a, "--calib") == 0) {
        o.calib_path = v;
      } else if (strcmp(a, "--calib-split") == 0) {
        if (strcmp(v, "train") && strcmp(v, "val") && strcmp(v, "test"))
          return cli_usage_error("quantize", "--calib-split must be train, val or test, got '%s'", v);
        o.calib_split = v;
      } else if (strcmp(a, "--calib-limit") == 0) {
        o.calib_limit = strtoll(v, &end, 10);
        if (*end || o.calib_limit <= 0) return cli_usage_error("quantize", "--calib-limit needs a positive integer, got '%s'", v);
      } else if (strcmp(a, "--method") == 0) {
        if (strcmp(v, "minmax") == 0) o.method = EO_CALIB_MINMAX;
        else if (strcmp(v, "percentile") == 0) o.method = EO_CALIB_PERCENTILE;
        else if (strcmp(v, "entropy") == 0) o.method = EO_CALIB_ENTROPY;
        else if (strcmp(v, "mse") == 0) o.method = EO_CALIB_MSE;
        else return cli_usage_error("quantize", "unknown --method '%s' (expected minmax, percentile, entropy or mse)", v);
      } else if (strcmp(a, "--percentile") == 0) {
        o.percentile = strtod(v, &end);
        if (*end || !(o.percentile > 50 && o.percentile <= 100))
          return cli_usage_error("quantize", "--percentile must be in (50, 100], got '%s'", v);
      } else if (strcmp(a, "--act-type") == 0) {
        if (strcmp(v, "uint8") == 0) o.act_int8 = 0;
        else if (strcmp(v, "int8") == 0) o.act_int8 = 1;
        else return cli_usage_error("quantize", "unknown --act-type '%s' (expected uint8 or int8)", v);
      } else if (strcmp(a, "--exclude") == 0 || strcmp(a, "--exclude-op") == 0 || strcmp(a, "--keep-fp32") == 0) {
        int *n = a[2] == 'k' ? &nkeep : strcmp(a, "--exclude") == 0 ? &nex : &nexop;
        const char **list = a[2] == 'k' ? keep : strcmp(a, "--exclude") == 0 ? ex : exop;
        if (*n == 64) return cli_usage_error("quantize", "too many %s", a);
        list[(*n)++] = v;
      } else if (strcmp(a, "--block-size") == 0) {
        o.block_size = (int)strtol(v, &end, 10);
        if (*end || o.block_size <= 0) return cli_usage_error("quantize", "--block-size needs a positive integer, got '%s'", v);
      } else if (strcmp(a, "--top") == 0) {
        top = (int)strtol(v, &end, 10);
        if (*end || top < 0) return cli_usage_error("quantize", "--top needs an integer >= 0, got '%s'", v);
      } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
        out = v;
      } else {
        return cli_usage_error("quantize", "unknown option '%s'", a);
      }
      continue;
    }
    if (model) return cli_usage_error("quantize", "one model expected, got '%s' and '%s'", model, a);
    model = a;
  }
  if (!model) return cli_usage_error("quantize", "no model given");
  if (!out) return cli_usage_error("quantize", "no output given (-o OUT.onnx)");
  if (!have_mode) return cli_usage_error("quantize", "--mode is required (int8, dynamic, weight-int8, fp16 or int4)");
  if (o.mode == EO_QUANT_INT8 && !o.calib_path)
    return cli_usage_error("quantize", "--mode int8 needs calibration data (--calib DATA)");
  o.exclude = ex, o.n_exclude = nex;
  o.exclude_ops = exop, o.n_exclude_ops = nexop;
  if (nkeep) o.keep_fp32_ops = keep, o.n_keep_fp32_ops = nkeep;
  o.progress = progress;
  eo_quant_report *r = NULL;
  eo_status st = eo_quantize(model, out, &o, &r);
  if (st) return cli_fail(st);
  static const char *const modes[] = {"int8", "weight-int8", "fp16", "int4", "dynamic"};
  static const char *const methods[] = {"minmax", "percentile", "entropy", "mse"};
  printf("quantized %s -> %s (%s", model, out, modes[o.mode]);
  if (o.mode == EO_QUANT_INT8 && o.recipe_path)  // the recipe's settings override the options'
    printf(", recipe %s, %d calibration items in %.2f s", o.recipe_path, r->calib_items, r->calib_seconds);
  else if (o.mode == EO_QUANT_INT8)
    printf(", %s, %s weights, %s activations, %d calibration items in %.2f s", methods[o.method],
           o.per_tensor ? "per-tensor" : "per-channel", o.act_int8 ? "int8 symmetric" : "uint8 asymmetric",
           r->calib_items, r->calib_seconds);
  printf(")\n");
  printf("size: %lld -> %lld bytes (%.1f%%)\n", (long long)r->bytes_before, (long long)r->bytes_after,
         r->bytes_before > 0 ? 100.0 * (double)r->bytes_after / (double)r->bytes_before : 0.0);
  printf("%d/%d tensors quantized (%.1f%%), %lld/%lld parameters (%.1f%%)", r->tensors_quantized, r->tensors_total,
         r->tensors_total ? 100.0 * r->tensors_quantized / r->tensors_total : 0.0, (long long)r->params_quantized,
         (long long)r->params_total, r->params_total ? 100.0 * (double)r->params_quantized / (double)r->params_total : 0.0);
  if (o.mode == EO_QUANT_INT8) printf(", %d activations", r->activations_quantized);
  if (o.bias_correction) printf(", %d biases corrected", r->bias_corrected);
  printf("\ntime: %.2f s\n", r->total_seconds);
  if (r->sqnr_skipped) printf("per-layer SQNR unavailable: %s\n", r->sqnr_skipped);
  if (r->n_layers) {
    printf("output SQNR vs FP32: %.2f dB\nper-layer output SQNR on calibration item 0 (worst first):\n", r->output_sqnr_db);
    int n = top == 0 || top > r->n_layers ? r->n_layers : top;
    for (int i = 0; i < n; i++)
      printf("  %8.2f dB  %-18s %s\n", r->layers[i].sqnr_db, r->layers[i].op_type, r->layers[i].name);
    if (n < r->n_layers) printf("  ... %d more (--top 0 for all)\n", r->n_layers - n);
  }
  eo_quant_report_free(r);
  return EO_EXIT_OK;
}
