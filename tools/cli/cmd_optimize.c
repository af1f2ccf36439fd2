/* edgeopt optimize: the whole pipeline (profile, optimize, benchmark, validate, package). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "cli.h"
#include "edgeopt/pipeline.h"

static const char *help =
    "Usage: edgeopt optimize MODEL.onnx --data DATA -o OUTDIR [options]\n"
    "       edgeopt optimize --resume OUTDIR [--quiet] [--json]\n\n"
    "Profiles the untouched model, makes the target's candidates from it (cpu-generic: FP16, dynamic INT8,\n"
    "weight-only INT8, static INT8 with percentile and entropy calibration, INT8 with the most sensitive\n"
    "layers in FP32 (int8-mixed), INT4 weights), benchmarks each\n"
    "(host estimate), validates each against the accuracy floor and packages the fastest one (median latency)\n"
    "that meets it. Writes OUTDIR/report.md, report.json, state.json, candidates/ and package/. The source\n"
    "model is never modified. Ctrl-C stops after the current step; --resume continues the run.\n\n"
    "  --data DATA          evaluation data set (YOLO data set, IDX file, ImageFolder, .npy folder)\n"
    "  --calib DATA         calibration data for static INT8 (default: --data)\n"
    "  --task T             detect (mAP@0.5, default) | classify (top-1) | compare (agreement with the\n"
    "                       original model, no labels needed)\n"
    "  --floor F            allowed drop of the task metric: N% relative (default 1%) or Npt absolute points\n"
    "  --target T           cpu-generic (ONNX Runtime CPU, default) | raspberry-pi-5 (INT8 ONNX + TFLite)\n"
    "                       | jetson-orin-nano (FP16/INT8 QDQ ONNX for TensorRT) | coral (full-INT8 TFLite,\n"
    "                       uint8 I/O, for edgetpu_compiler)\n"
    "  --recipe FILE.yaml   recipe in qat_config.yaml's shape (examples/optimize_recipe.yaml)\n"
    "  --candidates A,B     only these candidates (names as in the report)\n"
    "  --pick NAME          package this candidate instead of the recommendation (the verdict still\n"
    "                       says whether it meets the floor)\n"
    "  --resume OUTDIR      continue an interrupted run (finished candidates are kept, not recomputed)\n"
    "  --limit N            evaluate at most N items (a seeded subset)\n"
    "  --calib-limit N      calibration items (default 100)\n"
    "  --iters N            timed benchmark iterations (default 30)\n"
    "  --warmup N           untimed warmup iterations (default 5)\n"
    "  --threads N          worker threads (default: one per core)\n"
    "  --force              accept a non-empty OUTDIR\n"
    "  --quiet              no progress lines\n"
    "  --json               print report.json on stdout instead of the summary table\n"
    "  -o, --output OUTDIR  output folder (not the model's folder)\n"
    "  -h, --help           this help\n";

static void log_line(void *user, const char *line) {
  (void)user;
  fprintf(stderr, "%s\n", line);
}

static volatile int stop_flag;

/* first Ctrl-C: finish the current step, record it, stop; a second one ends the process */
static void on_sigint(int sig) {
  (void)sig;
  stop_flag = 1;
  static const char msg[] = "\nedgeopt optimize: stopping after the current step (Ctrl-C again to abort)\n";
  if (write(2, msg, sizeof msg - 1) < 0) stop_flag = 1;
  signal(SIGINT, SIG_DFL);
}

static int print_file(const char *path) {
  FILE *f = path ? fopen(path, "rb") : NULL;
  if (!f) return 0;
  char buf[1 << 14];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
  fclose(f);
  return 1;
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
  int quiet = 0, json = 0;
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
    if (strcmp(a, "--json") == 0) { json = 1; continue; }
    if (a[0] == '-' && a[1]) {
      if (i + 1 >= argc) return cli_usage_error("optimize", "%s needs a value", a);
      const char *v = argv[++i];
      long n;
      if (strcmp(a, "--data") == 0) o.data_path = v;
      else if (strcmp(a, "--calib") == 0) o.calib_path = v;
      else if (strcmp(a, "--task") == 0) task = v;
      else if (strcmp(a, "--floor") == 0) floor_arg = v;
      else if (strcmp(a, "--target") == 0) o.target = v;
      else if (strcmp(a, "--recipe") == 0) o.recipe_path = v;
      else if (strcmp(a, "--candidates") == 0) o.candidates = v;
      else if (strcmp(a, "--pick") == 0) o.pick = v;
      else if (strcmp(a, "--resume") == 0) o.resume = 1, o.outdir = v;
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
  if (o.resume && (model || o.data_path))
    return cli_usage_error("optimize", "--resume OUTDIR takes the model and options from OUTDIR/state.json");
  if (!o.resume && !model) return cli_usage_error("optimize", "missing MODEL");
  if (!o.resume && !o.data_path) return cli_usage_error("optimize", "--data DATA is required (a baseline needs data)");
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
  o.stop = &stop_flag;
  void (*prev)(int) = signal(SIGINT, on_sigint);
  eo_optimize_result *r = NULL;
  eo_status st = eo_optimize(model, &o, &r);
  signal(SIGINT, prev);
  free(cmdline);
  if (st) return cli_fail(st);
  if (json) {
    int ok = print_file(r->report_json_path);
    eo_optimize_result_free(r);
    return ok ? EO_EXIT_OK : cli_fail(EO_ERR_IO);
  }
  /* floor units come from the report (a resumed run's options are the state's) */
  const char *unit = r->floor_absolute ? "pt" : "%";
  printf("%-18s %-6s %8s %9s %9s %10s %10s  %s\n", "candidate", "format", "size MB", "p50 ms", "p95 ms",
         r->metric_name, "drop", "status");
  for (int i = 0; i < r->num_candidates; i++) {
    const eo_optimize_candidate *c = &r->candidates[i];
    printf("%-18s %-6s ", c->name, c->format ? c->format : "onnx");
    if (c->file_bytes > 0) printf("%8.3f ", (double)c->file_bytes / 1048576.0);
    else printf("%8s ", "-");
    if (c->mean_ms > 0) printf("%9.3f %9.3f ", c->p50_ms, c->p95_ms);
    else printf("%9s %9s ", "-", "-");
    if (isfinite(c->metric)) printf("%10.4f %9.3f%-2s", c->metric, c->drop, unit);
    else printf("%10s %11s", "-", "-");
    printf("  %s%s%s\n", c->status, i && i == r->recommended ? " (recommended)" : "", c->resumed && i ? " [resumed]" : "");
  }
  printf("recommended: %s\n", r->recommended_reason);
  printf("verdict: %s (floor %g%s, target %s); packaged %s in %s/package; report %s/report.md%s%s\n", r->verdict_pass ? "PASS" : "FAIL", r->floor, unit,
         r->target, r->candidates[r->recommended].name, o.outdir, o.outdir, r->report_html_path ? ", " : "",
         r->report_html_path ? r->report_html_path : "");
  eo_optimize_result_free(r);
  return EO_EXIT_OK;
}
