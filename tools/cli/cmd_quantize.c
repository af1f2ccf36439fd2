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
    "  --no-bias-correction  int8: keep the float biases (default: shift each Conv/Gemm bias by the\n"
    "                      mean output error its quantized weights add on the calibration data)\n"
    "  --block-size N      int4: weights per scale along the input channels (default 32)\n"
    "  --int4-format F     int4: dq (default: DequantizeLinear with block_size, opset 21) or\n"
    "                      matmulnbits (MatMul/Gemm weights as ONNX Runtime's com.microsoft\n"
    "                      MatMulNBits, same int4 values; Conv keeps dq; opset kept when possible)\n"
    "  --act-type T        uint8 (default, asymmetric) | int8 (symmetric)\n"
    "  --recipe FILE.yaml  quantization recipe: weight/activation settings and layer_configs\n"
    "                      (regex patterns over node names / op types; examples/quant_recipe.yaml);\n"
    "                      weight: {observer: mse} clips each channel's weights where that lowers\n"
    "                      their rounding error (default minmax: scale max|w| / 127);\n"
    "                      activation: {float_gemm_output: true} leaves a Gemm's output in float\n"
    "                      when no quantized node reads it (logits; ORT's QGemm with float output;\n"
    "                      not for full-integer TFLite export)\n"
    "  --exclude REGEX     keep nodes whose name matches (POSIX extended regex) in float; repeatable\n"
    "  --exclude-op OP     keep every node of this op type in float; repeatable\n"
    "  --keep-fp32 OP      fp16: op type kept in float32 (repeatable; replaces the default list)\n"
    "  --quantize-tail     int8: also quantize the output tail (by default the nodes after the last\n"
    "                      Conv/Gemm/MatMul on every path to an output -- a detector's box decode and\n"
    "                      score Concat, a final Softmax -- stay in float)\n"
    "  --top N             per-layer SQNR rows shown, worst first (default 10, 0: all)\n"
    "\nSensitivity and mixed precision (int8):\n"
    "  --sensitivity       per node: the model quantized with only that node in float (or, with\n"
    "                      --only-quantized, only that node quantized), scored by output SQNR vs FP32\n"
    "                      on the first calibration items and, with --data, by the task metric;\n"
    "                      prints a table, most sensitive first (-o not needed: nothing is written)\n"
    "  --auto-mixed        quantize, evaluate, and while below the floor keep the next most\n"
    "                      sensitive node in float (one at a time); writes the last step to -o\n"
    "  --data DATA         labelled data set for the task metric (YOLO -> mAP, classification -> top-1)\n"
    "  --eval-split S      split evaluated (default val)\n"
    "  --eval-limit N      evaluate a seeded subset of N items\n"
    "  --task T            detect | classify (default: told from the model's first output)\n"
    "  --metric M          map50-95 (detect default) | map50 | top1 (classify default)\n"
    "  --floor F           allowed drop from FP32: 'P%' relative (default 1%), or an absolute\n"
    "                      number in the metric's units (0.005 = half a point of top-1)\n"
    "  --min-sqnr DB       without --data: the output SQNR to reach (default 30)\n"
    "  --max-float N       keep at most N nodes in float (default 8)\n"
    "  --max-evals N       try at most N steps (a step that does not improve the metric is undone:\n"
    "                      the node goes back to INT8 and the next one is tried; default 16)\n"
    "  --metric-top N      sensitivity with --data: measure the metric only for the N nodes ranked\n"
    "                      most sensitive by SQNR (default 0: all)\n"
    "  --sqnr-items N      calibration items for the output SQNR (default 4)\n"
    "  --json FILE         write the sensitivity / mixed-precision report as JSON\n"
    "  -o, --output FILE   the quantized model (must differ from MODEL)\n"
    "  -h, --help          this help\n";

static void vprogress(void *user, int done, int total) {
  fprintf(stderr, "\r%s: %d/%d", (const char *)user, done, total);
  if (done == total) fputc('\n', stderr);
  fflush(stderr);
}

static int write_json(const char *path, char *text) {
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0) {
    if (f) fclose(f);
    free(text);
    fprintf(stderr, "edgeopt quantize: cannot write '%s'\n", path);
    return EO_EXIT_FAIL;
  }
  free(text);
  if (fclose(f)) {
    fprintf(stderr, "edgeopt quantize: cannot write '%s'\n", path);
    return EO_EXIT_FAIL;
  }
  printf("report written to %s\n", path);
  return EO_EXIT_OK;
}

static void print_metric(double v) {
  if (isnan(v)) printf("%9s", "-");
  else printf("%9.4f", v);
}

static int run_sensitivity(const char *model, const eo_quant_options *o, const eo_quant_sens_options *so,
                           int top, const char *json) {
  eo_quant_sens_report *r = NULL;
  eo_status st = eo_quant_sensitivity(model, o, so, &r);
  if (st) return cli_fail(st);
  printf("sensitivity of %s (static INT8, %s): %d nodes in %.1f s\n", model,
         so->only_quantized ? "only this node quantized" : "only this node in float", r->n_rows, r->seconds);
  printf("fully quantized: output SQNR %.2f dB", r->quant_sqnr_db);
  if (r->metric_name) printf(", %s %.4f (FP32 %.4f)", r->metric_name, r->quant_metric, r->fp32_metric);
  printf("\n%-4s %-48s %-12s %9s %9s %9s\n", "rank", "node", "op", "SQNR dB", r->metric_name ? "metric" : "",
         r->metric_name ? "delta" : "");
  int n = top == 0 || top > r->n_rows ? r->n_rows : top;
  for (int i = 0; i < n; i++) {
    const eo_quant_sens_row *w = &r->rows[i];
    printf("%-4d %-48s %-12s %9.2f ", i + 1, w->name, w->op_type, w->sqnr_db);
    if (r->metric_name) {
      print_metric(w->metric);
      printf(" ");
      if (isnan(w->metric_delta)) printf("%9s", "-");
      else printf("%+9.4f", w->metric_delta);
    }
    printf("\n");
  }
  if (n < r->n_rows) printf("... %d more (--top 0 for all)\n", r->n_rows - n);
  int rc = EO_EXIT_OK;
  if (json) {
    char *text = NULL;
    if ((st = eo_quant_sens_report_to_json(r, &text))) rc = cli_fail(st);
    else rc = write_json(json, text);
  }
  eo_quant_sens_report_free(r);
  return rc;
}

static void print_report(const char *model, const char *out, const eo_quant_options *o, const eo_quant_report *r,
                         int top);

static int run_mixed(const char *model, const char *out, const eo_quant_options *o, const eo_quant_mixed_options *mo,
                     int top, const char *json) {
  eo_quant_mixed_report *r = NULL;
  eo_status st = eo_quantize_auto_mixed(model, out, o, mo, &r);
  if (st) return cli_fail(st);
  print_report(model, out, o, r->quant, top);
  printf("auto mixed precision (%s): FP32 %s", r->metric_name, isnan(r->fp32_metric) ? "-" : "");
  if (!isnan(r->fp32_metric)) printf("%.4f", r->fp32_metric);
  printf(", target >= %.4f, %s after %d node(s) kept in float (%.1f s)\n", r->target,
         r->met ? "reached" : "NOT reached", r->n_steps - 1, r->seconds);
  printf("%-4s %-48s %-12s %9s %9s\n", "step", "kept in float", "op", "SQNR dB", "metric");
  for (int i = 0; i < r->n_steps; i++) {
    const eo_quant_mixed_step *s = &r->steps[i];
    printf("%-4d %-48s %-12s %9.2f ", i, s->kept ? s->kept : "(all quantized)", s->op_type ? s->op_type : "",
           s->sqnr_db);
    print_metric(s->metric);
    printf("\n");
  }
  printf("steps tried: %d of at most %d (stopped: %s); a step that does not improve is undone\n", r->n_tries,
         r->max_evals, r->stop_reason ? r->stop_reason : "?");
  printf("%-4s %-48s %-12s %22s %s\n", "try", "node in float", "op", "SQNR dB before -> after",
         r->metric_name && strcmp(r->metric_name, "output SQNR dB") ? "metric before -> after, result" : "result");
  for (int i = 0; i < r->n_tries; i++) {
    const eo_quant_mixed_try *t = &r->tries[i];
    printf("%-4d %-48s %-12s %9.2f -> %9.2f ", i + 1, t->node, t->op_type ? t->op_type : "", t->sqnr_before,
           t->sqnr_after);
    if (!isnan(t->metric_before) || !isnan(t->metric_after)) {
      print_metric(t->metric_before);
      printf(" -> ");
      print_metric(t->metric_after);
      printf(" ");
    }
    printf("%s\n", t->kept ? "kept" : "undone");
  }
  int rc = EO_EXIT_OK;
  if (json) {
    char *text = NULL;
    if ((st = eo_quant_mixed_report_to_json(r, &text))) rc = cli_fail(st);
    else rc = write_json(json, text);
  }
  eo_quant_mixed_report_free(r);
  return rc;
}

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
  bool have_mode = false, sens = false, mixed = false;
  const char *json = NULL;
  eo_quant_options o;
  eo_quant_options_init(&o);
  eo_quant_sens_options so;
  eo_quant_sens_options_init(&so);
  eo_quant_mixed_options mo;
  eo_quant_mixed_options_init(&mo);
  eo_quant_metric_options *me = &so.metric;  // copied into mo.metric after parsing
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      fputs(help, stdout);
      return EO_EXIT_OK;
    }
    if (strcmp(a, "--sensitivity") == 0 || strcmp(a, "--auto-mixed") == 0 || strcmp(a, "--only-quantized") == 0 ||
        strcmp(a, "--quantize-tail") == 0) {
      if (a[2] == 's') sens = true;
      else if (a[2] == 'a') mixed = true;
      else if (a[2] == 'o') so.only_quantized = 1;
      else o.quantize_output_tail = 1;
      continue;
    }
    if (strcmp(a, "--per-tensor") == 0 || strcmp(a, "--bias-correction") == 0 || strcmp(a, "--no-bias-correction") == 0) {
      if (a[2] == 'p') o.per_tensor = 1;
      else o.bias_correction = a[2] == 'b';  // --bias-correction (the default) kept for existing scripts
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
      } else if (strcmp(a, "--int4-format") == 0) {
        if (strcmp(v, "dq") == 0) o.int4_format = EO_INT4_DQ;
        else if (strcmp(v, "matmulnbits") == 0) o.int4_format = EO_INT4_MATMULNBITS;
        else return cli_usage_error("quantize", "unknown --int4-format '%s' (expected dq or matmulnbits)", v);
      } else if (strcmp(a, "--data") == 0) {
        me->eval_data = v;
      } else if (strcmp(a, "--eval-split") == 0) {
        if (strcmp(v, "train") && strcmp(v, "val") && strcmp(v, "test"))
          return cli_usage_error("quantize", "--eval-split must be train, val or test, got '%s'", v);
        me->eval_split = v;
      } else if (strcmp(a, "--eval-limit") == 0) {
        me->eval_limit = strtoll(v, &end, 10);
        if (*end || me->eval_limit <= 0) return cli_usage_error("quantize", "--eval-limit needs a positive integer, got '%s'", v);
      } else if (strcmp(a, "--task") == 0) {
        if (strcmp(v, "detect") == 0) me->task = 0;
        else if (strcmp(v, "classify") == 0) me->task = 1;
        else return cli_usage_error("quantize", "--task must be detect or classify, got '%s'", v);
      } else if (strcmp(a, "--metric") == 0) {
        if (strcmp(v, "map50-95") && strcmp(v, "map50") && strcmp(v, "top1"))
          return cli_usage_error("quantize", "--metric must be map50-95, map50 or top1, got '%s'", v);
        me->metric = v;
      } else if (strcmp(a, "--floor") == 0) {
        mo.floor = strtod(v, &end);
        mo.floor_relative = *end == '%';
        if (mo.floor_relative) mo.floor /= 100, end++;
        if (*end || !(mo.floor >= 0) || (mo.floor_relative && mo.floor >= 1))
          return cli_usage_error("quantize", "--floor needs 'P%%' (0 <= P < 100) or a number >= 0, got '%s'", v);
      } else if (strcmp(a, "--min-sqnr") == 0) {
        mo.min_sqnr_db = strtod(v, &end);
        if (*end || !isfinite(mo.min_sqnr_db)) return cli_usage_error("quantize", "--min-sqnr needs a number, got '%s'", v);
      } else if (strcmp(a, "--max-evals") == 0) {
        long x = strtol(v, &end, 10);
        if (*end || x < 0 || x > 100000) return cli_usage_error("quantize", "--max-evals needs an integer >= 0, got '%s'", v);
        mo.max_evals = (int)x;
      } else if (strcmp(a, "--max-float") == 0 || strcmp(a, "--metric-top") == 0 || strcmp(a, "--sqnr-items") == 0) {
        long x = strtol(v, &end, 10);
        if (*end || x < 0 || x > 100000 || (a[2] == 's' && x == 0))
          return cli_usage_error("quantize", "%s needs an integer >= %d, got '%s'", a, a[2] == 's', v);
        if (a[2] == 'x' || a[4] == 'x') mo.max_float = (int)x;
        if (strcmp(a, "--metric-top") == 0) so.max_nodes = (int)x;
        if (a[2] == 's') me->sqnr_items = (int)x;
      } else if (strcmp(a, "--json") == 0) {
        json = v;
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
  if (sens && mixed) return cli_usage_error("quantize", "--sensitivity and --auto-mixed are separate runs");
  if (!have_mode && (sens || mixed)) have_mode = true;  // both are static INT8
  if ((sens || mixed) && o.mode != EO_QUANT_INT8)
    return cli_usage_error("quantize", "--sensitivity / --auto-mixed work on --mode int8");
  if (!sens && !mixed && (me->eval_data || json))
    return cli_usage_error("quantize", "--data / --json go with --sensitivity or --auto-mixed");
  if (!out && !sens) return cli_usage_error("quantize", "no output given (-o OUT.onnx)");
  if (!have_mode) return cli_usage_error("quantize", "--mode is required (int8, dynamic, weight-int8, fp16 or int4)");
  if (o.int4_format != EO_INT4_DQ && o.mode != EO_QUANT_INT4)
    return cli_usage_error("quantize", "--int4-format goes with --mode int4");
  if (o.mode == EO_QUANT_INT8 && !o.calib_path)
    return cli_usage_error("quantize", "--mode int8 needs calibration data (--calib DATA)");
  o.exclude = ex, o.n_exclude = nex;
  o.exclude_ops = exop, o.n_exclude_ops = nexop;
  if (nkeep) o.keep_fp32_ops = keep, o.n_keep_fp32_ops = nkeep;
  o.progress = progress;
  if (sens) {
    me->progress = vprogress, me->user = (void *)"variants scored";
    return run_sensitivity(model, &o, &so, top, json);
  }
  if (mixed) {
    mo.metric = *me;
    mo.metric.progress = vprogress, mo.metric.user = (void *)"variants scored";
    return run_mixed(model, out, &o, &mo, top, json);
  }
  eo_quant_report *r = NULL;
  eo_status st = eo_quantize(model, out, &o, &r);
  if (st) return cli_fail(st);
  print_report(model, out, &o, r, top);
  eo_quant_report_free(r);
  return EO_EXIT_OK;
}

static void print_report(const char *model, const char *out, const eo_quant_options *po, const eo_quant_report *r,
                         int top) {
  const eo_quant_options o = *po;
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
  if (r->tail_float) printf(", %d output-tail nodes kept in float", r->tail_float);
  printf("\ntime: %.2f s\n", r->total_seconds);
  if (r->sqnr_skipped) printf("per-layer SQNR unavailable: %s\n", r->sqnr_skipped);
  if (r->n_layers) {
    printf("output SQNR vs FP32: %.2f dB\nper-layer output SQNR on calibration item 0 (worst first):\n", r->output_sqnr_db);
    int n = top == 0 || top > r->n_layers ? r->n_layers : top;
    for (int i = 0; i < n; i++)
      printf("  %8.2f dB  %-18s %s\n", r->layers[i].sqnr_db, r->layers[i].op_type, r->layers[i].name);
    if (n < r->n_layers) printf("  ... %d more (--top 0 for all)\n", r->n_layers - n);
  }
}
