/* edgeopt optimize: the whole pipeline (profile, optimize, benchmark, validate, package). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "edgeopt/pipeline.h"

static const char *help =
    "Usage: edgeopt optimize MODEL.onnx --data DATA -o OUTDIR [options]\n\n"
    "Profiles the untouched model, makes candidates from it (FP16, weight-only INT8, static INT8 with\n"
    "percentile and entropy calibration, INT4 weights), benchmarks each (host estimate), validates each\n"
    "against the accuracy floor and packages the fastest one (median latency) that meets it. Writes OUTDIR/report.md,\n"
    "OUTDIR/report.json, OUTDIR/candidates/ and OUTDIR/package/. The source model is never modified.\n\n"
    "  --data DATA          evaluation data set (YOLO data set, IDX file, ImageFolder, .npy folder)\n"
    "  --calib DATA         calibration data for static INT8 (default: --data)\n"
    "  --task T             detect (mAP@0.5, default) | classify (top-1) | compare (agreement with the\n"
    "                       original model, no labels needed)\n"
    "  --floor F            allowed drop of the task metric: N% relative (default 1%) or Npt absolute points\n"
    "  --target T           cpu-generic (the only target for now)\n"
    "  --limit N            evaluate at most N items (a seeded subset)\n"
    "  --calib-limit N      calibration items (default 100)\n"
    "  --iters N            timed benchmark iterations (default 30)\n"
    "  --warmup N           untimed warmup iterations (default 5)\n"
    "  --threads N          worker threads (default: one per core)\n"
    "  --force              accept a non-empty OUTDIR\n"
    "  --quiet              no progress lines\n"
    "  -o, --output OUTDIR  output folder (not the model's folder)\n"
    "  -h, --help           this help\n";

static void log_line(void *user, const char *line) {
  (void)user;
  fprintf(stderr, "%s\n", line);
}

static int parse_count(const char *v, long lo, long *out) {
  char *end;
  long x = strtol(v, &end, 10);
  if (*v == 0 || *end || x < lo) return 0;
  *out = x;
  return 1;
}

int cmd_optimize(int argc, char **argv) {
  const char *model = NULL, *task = NULL, *floor_arg = NULL;
  int quiet = 0;
  eo_optimize_options o;
  eo_optimize_options_init(&o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      fputs(help, stdout);
      return EO_EXIT_OK;
    }
    if (strcmp(a, "--force") == 0) { o.force = 1; continue; }
    if (strcmp(a, "--quiet") == 0) { quiet = 1; continue; }
    if (a[0] == '-' && a[1]) {
      if (i + 1 >= argc) return cli_usage_error("optimize", "%s needs a value", a);
      const char *v = argv[++i];
      long n;
      if (strcmp(a, "--data") == 0) o.data_path = v;
      else if (strcmp(a, "--calib") == 0) o.calib_path = v;
      else if (strcmp(a, "--task") == 0) task = v;
      else if (strcmp(a, "--floor") == 0) floor_arg = v;
      else if (strcmp(a, "--target") == 0) o.target = v;
      else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) o.outdir = v;
      else if (strcmp(a, "--limit") == 0 || strcmp(a, "--calib-limit") == 0 || strcmp(a, "--iters") == 0 ||
               strcmp(a, "--warmup") == 0 || strcmp(a, "--threads") == 0) {
        long lo = strcmp(a, "--warmup") == 0 || strcmp(a, "--threads") == 0 ? 0 : 1;
        if (!parse_count(v, lo, &n) || n > 100000000)
          return cli_usage_error("optimize", "%s: expected an integer >= %ld, got '%s'", a, lo, v);
        if (a[2] == 'l') o.limit = n;
        else if (a[2] == 'c') o.calib_limit = n;
        else if (a[2] == 'i') o.iters = (int)n;
        else if (a[2] == 'w') o.warmup = (int)n;
        else o.threads = (int)n;
      } else return cli_usage_error("optimize", "unknown option '%s'", a);
      continue;
    }
    if (model) return cli_usage_error("optimize", "one model expected, got '%s' and '%s'", model, a);
    model = a;
  }
  if (!model) return cli_usage_error("optimize", "missing MODEL");
  if (!o.data_path) return cli_usage_error("optimize", "--data DATA is required (a baseline needs data)");
  if (!o.outdir) return cli_usage_error("optimize", "no output folder given (-o OUTDIR)");
  if (task && eo_eval_task_from_name(task, &o.task)) return cli_usage_error("optimize", "%s", eo_last_error());
  if (floor_arg) {
    char *end;
    o.floor = strtod(floor_arg, &end);
    if (end == floor_arg || !(o.floor >= 0) || !isfinite(o.floor) ||
        (strcmp(end, "%") != 0 && strcmp(end, "pt") != 0))
      return cli_usage_error("optimize", "--floor: expected N%% (relative) or Npt (absolute points), got '%s'",
                             floor_arg);
    o.floor_absolute = end[0] == 'p';
  }
  /* the command line, for metadata.json */
  size_t len = 1;
  for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
  char *cmdline = malloc(len + 8);
  if (cmdline) {
    strcpy(cmdline, "edgeopt");
    for (int i = 0; i < argc; i++) strcat(strcat(cmdline, " "), argv[i]);
  }
  o.command_line = cmdline;
  if (!quiet) o.log = log_line;
  eo_optimize_result *r = NULL;
  eo_status st = eo_optimize(model, &o, &r);
  free(cmdline);
  if (st) return cli_fail(st);
  printf("%-16s %-8s %10s %10s %10s %12s  %s\n", "candidate", "size MB", "mean ms", "p95 ms", r->metric_name,
         "drop", "status");
  for (int i = 0; i < r->num_candidates; i++) {
    const eo_optimize_candidate *c = &r->candidates[i];
    printf("%-16s %8.3f ", c->name, (double)c->file_bytes / 1048576.0);
    if (c->measured) printf("%10.3f %10.3f %10.4f %11.3f%s", c->mean_ms, c->p95_ms, c->metric, c->drop,
                            o.floor_absolute ? "pt" : "%");
    else printf("%10s %10s %10s %12s", "-", "-", "-", "-");
    printf("  %s%s\n", c->status, i && i == r->recommended ? " (recommended)" : "");
  }
  printf("verdict: %s (floor %g%s); packaged %s; report %s/report.md\n", r->verdict_pass ? "PASS" : "FAIL", o.floor,
         o.floor_absolute ? "pt" : "%", r->candidates[r->recommended].name, o.outdir);
  eo_optimize_result_free(r);
  return EO_EXIT_OK;
}
