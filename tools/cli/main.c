#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} commands[] = {
    {"inspect", cmd_inspect, "show a model's inputs, outputs, ops, parameters, FLOPs and size"},
    {"run", cmd_run, "run a model on .npy inputs and write its outputs as .npy"},
    {"bench", cmd_bench, "latency percentiles, throughput and memory, optionally beside ONNX Runtime"},
    {"eval", cmd_eval, "accuracy on a data set: detection mAP, classification top-k, or agreement with FP32"},
    {"compare", cmd_compare, "how far an optimized model's outputs drift from the FP32 model's"},
    {"quantize", cmd_quantize, "post-training quantization: static INT8 (QDQ), weight-only INT8, FP16, INT4"},
    {"optimize", cmd_optimize, "the whole pipeline: profile, optimize, benchmark, validate, package"},
    {"export", cmd_export, "write the model for another runtime: TFLite (fp32, fp16), NHWC"},
    {"report", cmd_report, "render an optimize run's report.json as a self-contained report.html with plots"},
};

static void usage(FILE *f) {
  fprintf(f, "edgeopt %s — model optimization for edge deployment\n\nUsage: edgeopt COMMAND [ARGS...]\n\nCommands:\n",
          EO_VERSION_STRING);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nRun 'edgeopt COMMAND --help' for a command's options.\n");
}

int cli_fail(eo_status st) {
  fprintf(stderr, "edgeopt: %s: %s\n", eo_status_name(st), eo_last_error());
  return EO_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "edgeopt %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nRun 'edgeopt %s --help' for usage.\n", cmd);
  return EO_EXIT_USAGE;
}

bool cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EO_EXIT_USAGE;
  }
  if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return EO_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("edgeopt %s\n", EO_VERSION_STRING);
    return EO_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "edgeopt: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return EO_EXIT_USAGE;
}
