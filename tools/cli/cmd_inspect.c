#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "edgeopt/runtime.h"

static const char *help =
    "Usage: edgeopt inspect MODEL.onnx [--json] [--allow-unsupported]\n\n"
    "Shows the inputs and outputs (with symbolic dims by name), the op histogram, parameter count,\n"
    "FLOPs (symbolic dims bound to 1), initializer bytes and file size.\n\n"
    "  --json               print one JSON object instead of tables\n"
    "  --allow-unsupported  load models with ops edgeopt cannot run (inspection only)\n"
    "  -h, --help           this help\n";

static void shape_text(const eo_value_desc *d, char *buf, size_t cap) {
  size_t k = 0;
  if (d->rank < 0) {
    snprintf(buf, cap, "?");
    return;
  }
  k += (size_t)snprintf(buf + k, cap - k, "[");
  for (int i = 0; i < d->rank && k < cap; i++) {
    if (d->dim_param[i])
      k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? "," : "", d->dim_param[i]);
    else if (d->dims[i] < 0)
      k += (size_t)snprintf(buf + k, cap - k, "%s?", i ? "," : "");
    else
      k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)d->dims[i]);
  }
  if (k < cap) snprintf(buf + k, cap - k, "]");
}

static cJSON *value_json(const eo_value_desc *d) {
  cJSON *o = cJSON_CreateObject(), *dims = cJSON_AddArrayToObject(o, "shape");
  cJSON_AddStringToObject(o, "name", d->name);
  cJSON_AddStringToObject(o, "dtype", eo_dtype_name(d->dtype));
  for (int i = 0; i < d->rank; i++)
    cJSON_AddItemToArray(dims, d->dim_param[i] ? cJSON_CreateString(d->dim_param[i])
                               : cJSON_CreateNumber((double)d->dims[i]));
  return o;
}

static void human_bytes(int64_t b, char *buf, size_t cap) {
  if (b >= (1 << 20)) snprintf(buf, cap, "%.2f MiB", (double)b / (1 << 20));
  else if (b >= 1024) snprintf(buf, cap, "%.1f KiB", (double)b / 1024);
  else snprintf(buf, cap, "%lld B", (long long)b);
}

int cmd_inspect(int argc, char **argv) {
  const char *path = NULL;
  bool json = false;
  eo_load_options opts = {0};
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      fputs(help, stdout);
      return EO_EXIT_OK;
    } else if (strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (strcmp(argv[i], "--allow-unsupported") == 0) {
      opts.allow_unsupported_ops = 1;
    } else if (argv[i][0] == '-') {
      return cli_usage_error("inspect", "unknown option '%s'", argv[i]);
    } else if (!path) {
      path = argv[i];
    } else {
      return cli_usage_error("inspect", "only one model at a time (got '%s' and '%s')", path, argv[i]);
    }
  }
  if (!path) return cli_usage_error("inspect", "missing MODEL");
  eo_model *m;
  eo_status st = eo_model_load(path, &opts, &m);
  if (st) return cli_fail(st);
  eo_model_info info;
  eo_model_inspect(m, &info);
  char buf[512];
  // The planned memory at batch 1 (symbolic dims bound to 1), when the model can run.
  eo_plan_stats plan = {0};
  bool planned = false;
  eo_session *s = NULL;
  if (eo_session_create(m, NULL, &s) == EO_OK) {
    eo_input_shape shapes[64];
    int64_t dims[64][EO_MAX_RANK];
    int n = eo_model_num_inputs(m) < 64 ? eo_model_num_inputs(m) : 64;
    for (int i = 0; i < n; i++) {
      const eo_value_desc *d = eo_model_input(m, i);
      for (int k = 0; k < d->rank; k++) dims[i][k] = d->dims[k] < 0 ? 1 : d->dims[k];
      shapes[i] = (eo_input_shape){d->name, d->rank, dims[i], 0, NULL};
    }
    planned = eo_session_prepare(s, n, shapes) == EO_OK && eo_session_plan_stats(s, &plan) == EO_OK;
    eo_session_free(s);
  }
  if (json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", info.path);
    cJSON_AddNumberToObject(o, "file_bytes", (double)info.file_bytes);
    cJSON_AddNumberToObject(o, "ir_version", (double)info.ir_version);
    cJSON_AddNumberToObject(o, "opset", (double)info.opset);
    cJSON_AddStringToObject(o, "producer", info.producer);
    cJSON_AddNumberToObject(o, "nodes", info.num_nodes);
    cJSON_AddNumberToObject(o, "initializers", info.num_initializers);
    cJSON_AddNumberToObject(o, "params", (double)info.num_params);
    cJSON_AddNumberToObject(o, "param_bytes", (double)info.param_bytes);
    cJSON_AddNumberToObject(o, "flops", (double)info.flops);
    if (planned) {
      cJSON *p = cJSON_AddObjectToObject(o, "plan_batch1");
      cJSON_AddNumberToObject(p, "arena_bytes", (double)plan.arena_bytes);
      cJSON_AddNumberToObject(p, "unshared_bytes", (double)plan.naive_bytes);
      cJSON_AddNumberToObject(p, "constant_bytes", (double)plan.constant_bytes);
      cJSON_AddNumberToObject(p, "steps", plan.num_steps);
      cJSON_AddNumberToObject(p, "nodes_folded", plan.nodes_folded);
      cJSON_AddNumberToObject(p, "identity_removed", plan.identity_removed);
      cJSON_AddNumberToObject(p, "bn_folded", plan.bn_folded);
      cJSON_AddNumberToObject(p, "activations_fused", plan.act_fused);
      cJSON_AddNumberToObject(p, "dead_removed", plan.dead_removed);
      cJSON_AddNumberToObject(p, "residual_adds_fused", plan.residual_fused);
    }
    cJSON *ins = cJSON_AddArrayToObject(o, "inputs"), *outs = cJSON_AddArrayToObject(o, "outputs");
    for (int i = 0; i < eo_model_num_inputs(m); i++) cJSON_AddItemToArray(ins, value_json(eo_model_input(m, i)));
    for (int i = 0; i < eo_model_num_outputs(m); i++) cJSON_AddItemToArray(outs, value_json(eo_model_output(m, i)));
    cJSON *ops = cJSON_AddObjectToObject(o, "ops");
    for (int i = 0; i < info.num_op_types; i++) cJSON_AddNumberToObject(ops, info.ops[i].op_type, info.ops[i].count);
    char *text = cJSON_Print(o);
    puts(text);
    free(text);
    cJSON_Delete(o);
  } else {
    printf("model      %s\n", info.path);
    human_bytes(info.file_bytes, buf, sizeof buf);
    printf("file size  %s (%lld bytes)\n", buf, (long long)info.file_bytes);
    printf("producer   %s, IR version %lld, opset %lld\n", *info.producer ? info.producer : "(none)",
           (long long)info.ir_version, (long long)info.opset);
    human_bytes(info.param_bytes, buf, sizeof buf);
    printf("params     %lld in %d initializers (%s)\n", (long long)info.num_params, info.num_initializers, buf);
    if (info.flops >= 1000000000)
      printf("FLOPs      %.3f G (symbolic dims = 1)\n", (double)info.flops / 1e9);
    else
      printf("FLOPs      %.3f M (symbolic dims = 1)\n", (double)info.flops / 1e6);
    printf("nodes      %d\n", info.num_nodes);
    if (planned) {
      printf("memory     arena %.2f MiB at batch 1 (%.2f MiB without sharing)\n", (double)plan.arena_bytes / (1 << 20),
             (double)plan.naive_bytes / (1 << 20));
      printf("passes     %d nodes -> %d steps: %d folded, %d Identity/Dropout removed, %d BatchNorm folded, "
             "%d activations fused, %d dead, %d Conv + Add fused\n",
             info.num_nodes, plan.num_steps, plan.nodes_folded, plan.identity_removed, plan.bn_folded, plan.act_fused,
             plan.dead_removed, plan.residual_fused);
    }
    printf("\n");
    printf("%-8s %-32s %-10s %s\n", "", "name", "dtype", "shape");
    for (int io = 0; io < 2; io++) {
      int n = io ? eo_model_num_outputs(m) : eo_model_num_inputs(m);
      for (int i = 0; i < n; i++) {
        const eo_value_desc *d = io ? eo_model_output(m, i) : eo_model_input(m, i);
        shape_text(d, buf, sizeof buf);
        printf("%-8s %-32s %-10s %s\n", io ? "output" : "input", d->name, eo_dtype_name(d->dtype), buf);
      }
    }
    printf("\n%-24s %s\n", "op", "count");
    for (int i = 0; i < info.num_op_types; i++) printf("%-24s %d\n", info.ops[i].op_type, info.ops[i].count);
  }
  eo_model_free(m);
  return EO_EXIT_OK;
}
