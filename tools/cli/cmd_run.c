#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "core/npy.h"
#include "edgeopt/runtime.h"

static const char *help =
    "Usage: edgeopt run MODEL.onnx --input NAME=FILE.npy [--input ...] --output-dir DIR [options]\n\n"
    "Runs the model once on the given inputs (their shapes bind symbolic dims) and writes every output\n"
    "to DIR/<output name>.npy (characters outside [A-Za-z0-9._-] become '_').\n\n"
    "  --input NAME=FILE.npy  an input; for a one-input model the NAME= part may be left out\n"
    "  --output-dir DIR       where outputs go (created if missing)\n"
    "  --force                overwrite .npy files that already exist in DIR\n"
    "  --no-passes            run the graph exactly as loaded (no folding or fusion)\n"
    "  -h, --help             this help\n";

typedef struct {
  const char *name;
  const char *file;
  int dtype, rank;
  int64_t dims[EO_MAX_RANK];
  void *data;
} run_input;

static void sanitize(const char *in, char *out, size_t cap) {
  size_t k = 0;
  for (; *in && k + 1 < cap; in++) {
    char ch = *in;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-';
    out[k++] = ok ? ch : '_';
  }
  out[k] = 0;
  if (k == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0) snprintf(out, cap, "output_%zu", k);
}

int cmd_run(int argc, char **argv) {
  const char *path = NULL, *outdir = NULL;
  bool force = false;
  eo_session_options sopts = {0};
  run_input inputs[64];
  int n_inputs = 0, rc = EO_EXIT_FAIL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      fputs(help, stdout);
      return EO_EXIT_OK;
    } else if (strcmp(a, "--input") == 0 || strcmp(a, "--output-dir") == 0) {
      if (i + 1 >= argc) return cli_usage_error("run", "%s needs a value", a);
      const char *v = argv[++i];
      if (a[2] == 'o') {
        outdir = v;
        continue;
      }
      if (n_inputs == 64) return cli_usage_error("run", "too many --input");
      const char *eq = strchr(v, '=');
      inputs[n_inputs].name = NULL;
      inputs[n_inputs].file = v;
      if (eq) {
        inputs[n_inputs].name = strndup(v, (size_t)(eq - v));
        inputs[n_inputs].file = eq + 1;
      }
      inputs[n_inputs++].data = NULL;
    } else if (strcmp(a, "--force") == 0) {
      force = true;
    } else if (strcmp(a, "--no-passes") == 0) {
      sopts.no_passes = 1;
    } else if (a[0] == '-') {
      return cli_usage_error("run", "unknown option '%s'", a);
    } else if (!path) {
      path = a;
    } else {
      return cli_usage_error("run", "unexpected argument '%s'", a);
    }
  }
  if (!path) return cli_usage_error("run", "missing MODEL");
  if (!outdir) return cli_usage_error("run", "missing --output-dir DIR");
  eo_model *m = NULL;
  eo_session *s = NULL;
  eo_input_shape shapes[64];
  eo_status st = eo_model_load(path, NULL, &m);
  if (st) goto fail;
  for (int i = 0; i < n_inputs; i++) {
    if (!inputs[i].name) {
      if (eo_model_num_inputs(m) != 1) {
        rc = cli_usage_error("run", "the model has %d inputs: name each one (--input NAME=FILE.npy)",
                             eo_model_num_inputs(m));
        goto done;
      }
      inputs[i].name = strdup(eo_model_input(m, 0)->name);
    }
    if ((st = eo_npy_read(inputs[i].file, &inputs[i].dtype, &inputs[i].rank, inputs[i].dims, &inputs[i].data,
                          &(size_t){0})))
      goto fail;
    shapes[i] = (eo_input_shape){inputs[i].name, inputs[i].rank, inputs[i].dims, 0, NULL};
  }
  for (int k = 0; k < eo_model_num_inputs(m); k++) {
    const char *want = eo_model_input(m, k)->name;
    bool given = false;
    for (int i = 0; i < n_inputs; i++) given |= strcmp(inputs[i].name, want) == 0;
    if (!given) {
      rc = cli_usage_error("run", "missing --input for model input '%s'", want);
      goto done;
    }
  }
  if ((st = eo_session_create(m, &sopts, &s))) goto fail;
  if ((st = eo_session_prepare(s, n_inputs, shapes))) goto fail;
  for (int i = 0; i < n_inputs; i++)
    if ((st = eo_session_set_input(s, inputs[i].name, inputs[i].dtype, inputs[i].rank, inputs[i].dims,
                                   inputs[i].data))) {
      fprintf(stderr, "edgeopt run: --input %s: ", inputs[i].file);
      goto fail;
    }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if ((st = eo_session_run(s))) goto fail;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "edgeopt run: cannot create %s: %s\n", outdir, strerror(errno));
    goto done;
  }
  for (int i = 0; i < eo_session_num_outputs(s); i++) {
    eo_tensor_view v;
    if ((st = eo_session_output(s, i, &v))) goto fail;
    char fname[256], file[4096];
    sanitize(v.name, fname, sizeof fname);
    snprintf(file, sizeof file, "%s/%s.npy", outdir, fname);
    struct stat sb;
    if (!force && stat(file, &sb) == 0) {
      fprintf(stderr, "edgeopt run: %s exists; not overwriting it (use --force)\n", file);
      goto done;
    }
    if ((st = eo_npy_write(file, v.dtype, v.rank, v.dims, v.data))) goto fail;
    char shp[256];
    size_t k = 0;
    shp[0] = 0;
    for (int d = 0; d < v.rank && k < sizeof shp; d++)
      k += (size_t)snprintf(shp + k, sizeof shp - k, "%s%lld", d ? "x" : "", (long long)v.dims[d]);
    printf("output %-28s %-8s %-20s -> %s\n", v.name, eo_dtype_name(v.dtype), v.rank ? shp : "scalar", file);
  }
  eo_plan_stats ps;
  eo_session_plan_stats(s, &ps);
  printf("ran %d steps in %.2f ms; arena %.2f MiB (%.2f MiB without sharing)\n", ps.num_steps,
         (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
         (double)ps.arena_bytes / (1 << 20), (double)ps.naive_bytes / (1 << 20));
  rc = EO_EXIT_OK;
  goto done;
fail:
  rc = cli_fail(st);
done:
  for (int i = 0; i < n_inputs; i++) {
    free(inputs[i].data);
    free((void *)inputs[i].name);
  }
  eo_session_free(s);
  eo_model_free(m);
  return rc;
}
