/* edgeopt bench: latency percentiles, throughput and memory of one model on this host, optionally
 * side by side with ONNX Runtime run in a child process (scripts/ort_bench_peer.js) on the same
 * inputs and thread count, one iteration of each in turn. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "core/core.h"
#include "core/cpu.h"
#include "core/npy.h"
#include "core/stats.h"
#include "core/sysinfo.h"
#include "edgeopt/runtime.h"
#include "pipeline/pipeline_internal.h"

extern char **environ;

#define BENCH_LABEL "host estimate (not target hardware)"
#define BENCH_SCHEMA_VERSION 1
/* Default agreement tolerances (max |edgeopt - ORT| over max |ORT|, per output), by model kind. */
#define BENCH_TOL_FLOAT 1e-4
#define BENCH_TOL_FLOAT16 1e-2 /* float16 rounding at different points of the two engines */
#define BENCH_TOL_QUANT 5e-2   /* one quantization step apart inside, amplified by later layers */
#define BENCH_MAX_IO 64

static const char *help =
    "Usage: edgeopt bench MODEL.onnx [options]\n\n"
    "Measures inference latency (mean, p50, p95, p99, min, max), throughput and memory (peak RSS, planned\n"
    "arena, packed weights, constants) on this machine: a host estimate, not a figure for the target\n"
    "hardware. Inputs are seeded random data of the model's input shapes (floats uniform in [-1, 1), 8-bit\n"
    "integers over their range, wider integers in [0, 8), bools 0/1), or .npy files given with --input.\n"
    "Only the inference is timed (eo_session_run; inputs are set once).\n\n"
    "  --threads N            worker threads, the caller included (default: one per online core)\n"
    "  --warmup N             untimed iterations first (default 10)\n"
    "  --iters N              timed iterations (default 100)\n"
    "  --batch B              value of every symbolic first (batch) dimension (default 1)\n"
    "  --shape NAME=1x3x224x224  the full shape of input NAME (binds its other symbolic dims)\n"
    "  --input NAME=FILE.npy  use this data for input NAME instead of random data\n"
    "  --seed S               seed of the random inputs (default 1)\n"
    "  --gap-ms MS            idle time before every run of each engine (default 0): a camera's gap\n"
    "                         between frames (33 at 30 fps). After an idle gap the first run pays for\n"
    "                         cold caches and sleeping worker threads, and small models the most\n"
    "  --peer ort             also run ONNX Runtime 1.30 (onnxruntime-node in <repo>/.peers) on the same\n"
    "                         inputs with the same intra-op thread count, alternating one edgeopt and one\n"
    "                         ORT iteration so machine noise hits both alike; outputs must agree first\n"
    "                         (max |edgeopt - ORT| <= 1e-4 x max |ORT| per output) or nothing is timed.\n"
    "                         Each run starts once the other engine's threads are idle (ORT's workers\n"
    "                         spin for a while after a run and would steal the cores being timed).\n"
    "                         Ratios are edgeopt/ORT (below 1: edgeopt is faster or smaller; for\n"
    "                         throughput above 1 is better). ORT's peak RSS includes node's own baseline,\n"
    "                         also reported. Finds scripts/ort_bench_peer.js above the edgeopt binary or\n"
    "                         at $EDGEOPT_ORT_PEER; runs `node` from PATH or $EDGEOPT_NODE.\n"
    "  --tol X                agreement tolerance for --peer (default by model: 1e-4 float32, 1e-2 with\n"
    "                         float16 weights, 5e-2 quantized: QDQ / QLinear / integer ops)\n"
    "  --json FILE            write every figure (and the samples) as JSON\n"
    "  -h, --help             this help\n\n"
    "Exit status: 0 done, 1 failure (model, run, peer, or outputs that disagree), 2 usage error.\n";

typedef struct bench_input {
  const char *name; /* the model's (borrowed) */
  int dtype, rank;
  int64_t dims[EO_MAX_RANK];
  void *data;
  size_t nbytes;
  const char *file; /* --input file, or NULL for random data */
} bench_input;

typedef struct name_arg {
  char *name;
  const char *value; /* file, or the shape text */
  int rank;
  int64_t dims[EO_MAX_RANK];
  bool used;
} name_arg;

typedef struct ort_peer {
  pid_t pid;
  FILE *to, *from;
  char *line;
  size_t line_cap;
  char version[32];
  double load_ms;
  int64_t baseline_rss;
} ort_peer;

typedef struct engine_result {
  double *ms;
  eo_latency_stats lat;
  int64_t peak_rss, baseline_rss, end_rss; /* end: resident after the last run */
  double settle_ms;  /* waited before this engine's runs for the other's threads to go idle */
  int settle_runs, settle_gave_up;
} engine_result;

typedef struct output_check {
  const char *name;
  double max_abs_diff, max_abs_ref;
  bool agree;
  char note[96];
} output_check;

/* ---- argument helpers ---- */

static bool parse_int(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

/* "1x3x224x224" -> dims; false on anything else (every dim >= 1). */
static bool parse_shape(const char *s, int *rank, int64_t *dims) {
  *rank = 0;
  if (!*s) return false;
  for (;;) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 1 || *rank == EO_MAX_RANK) return false;
    dims[(*rank)++] = v;
    if (!*end) return true;
    if (*end != 'x' && *end != 'X') return false;
    s = end + 1;
  }
}

static const char *shape_text(int rank, const int64_t *dims, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int d = 0; d < rank && k < cap; d++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? "x" : "", (long long)dims[d]);
  if (rank == 0) snprintf(buf, cap, "scalar");
  return buf;
}

/* "[batch,3,224,224]": a model input's shape with its symbolic dims by name. */
static const char *desc_shape(const eo_value_desc *d, char *buf, size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < d->rank && k < cap; i++) {
    if (d->dims[i] >= 0)
      k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)d->dims[i]);
    else
      k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? "," : "", d->dim_param[i] ? d->dim_param[i] : "?");
  }
  if (k < cap) snprintf(buf + k, cap - k, "]");
  return buf;
}

static name_arg *find_arg(name_arg *args, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(args[i].name, name) == 0) return &args[i];
  return NULL;
}

/* ---- inputs ---- */

static eo_status fill_random(bench_input *in, uint64_t seed) {
  int64_t n = eo_numel(in->rank, in->dims);
  if (n < 0 || !eo_dtype_bytes(in->dtype, n, &in->nbytes) || eo_dtype_size(in->dtype) == 0)
    return eo_error(EO_ERR_UNSUPPORTED, "input '%s': cannot make random %s data of this shape", in->name,
                    eo_dtype_name(in->dtype));
  if (!(in->data = eo_malloc(in->nbytes)))
    return eo_error(EO_ERR_NOMEM, "input '%s': out of memory for %zu bytes", in->name, in->nbytes);
  return eo_random_fill(in->name, in->dtype, n, seed, in->data); /* shared with the optimize pipeline */
}

/* Binds the input's shape (desc + --shape/--batch/--input) and makes its data. */
static eo_status make_input(const eo_value_desc *d, int index, name_arg *shape, name_arg *file, long batch,
                            uint64_t seed, bench_input *in) {
  in->name = d->name;
  in->dtype = d->dtype;
  in->rank = d->rank;
  char want[256], got[256];
  if (file) {
    file->used = true;
    in->file = file->value;
    eo_status st = eo_npy_read(file->value, &in->dtype, &in->rank, in->dims, &in->data, &in->nbytes);
    if (st) return eo_error_wrap(st, "--input %s", file->value);
    bool ok = in->dtype == d->dtype && in->rank == d->rank;
    for (int k = 0; ok && k < d->rank; k++) ok = d->dims[k] < 0 || d->dims[k] == in->dims[k];
    if (!ok)
      return eo_error(EO_ERR_SHAPE, "--input %s: input '%s' expects %s %s, the file holds %s %s", file->value,
                      d->name, eo_dtype_name(d->dtype), desc_shape(d, want, sizeof want),
                      eo_dtype_name(in->dtype), eo_shape_str(in->rank, in->dims, got, sizeof got));
    return EO_OK;
  }
  if (shape) {
    shape->used = true;
    bool ok = shape->rank == d->rank;
    for (int k = 0; ok && k < d->rank; k++) ok = d->dims[k] < 0 || d->dims[k] == shape->dims[k];
    if (!ok)
      return eo_error(EO_ERR_SHAPE, "--shape %s=%s: input '%s' has shape %s", d->name, shape->value, d->name,
                      desc_shape(d, want, sizeof want));
    memcpy(in->dims, shape->dims, sizeof in->dims);
  } else {
    for (int k = 0; k < d->rank; k++) {
      in->dims[k] = d->dims[k];
      if (d->dims[k] >= 0) continue;
      if (k == 0) {
        in->dims[k] = batch;
        continue;
      }
      return eo_error(EO_ERR_SHAPE,
                      "input '%s' has symbolic dim %d ('%s') in %s: give its shape with --shape %s=%s",
                      d->name, k, d->dim_param[k] ? d->dim_param[k] : "?",
                      desc_shape(d, want, sizeof want), d->name,
                      d->rank == 4 ? "1x3x224x224" : "DIMxDIM...");
    }
  }
  return fill_random(in, seed + 0x1000u * (uint64_t)index);
}

/* ---- the ONNX Runtime peer ---- */

static bool find_peer_script(char *out, size_t cap) {
  const char *env = getenv("EDGEOPT_ORT_PEER");
  if (env && *env) {
    snprintf(out, cap, "%s", env);
    return access(out, R_OK) == 0;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return false;
  exe[n] = 0;
  for (int up = 0; up < 5; up++) {
    char *slash = strrchr(exe, '/');
    if (!slash) break;
    *slash = 0;
    int len = snprintf(out, cap, "%s/scripts/ort_bench_peer.js", exe);
    if (len > 0 && (size_t)len < cap && access(out, R_OK) == 0) return true;
  }
  return false;
}

/* Next line from the peer, without its newline; NULL at end of file. */
static const char *peer_line(ort_peer *p) {
  ssize_t n = getline(&p->line, &p->line_cap, p->from);
  if (n <= 0) return NULL;
  if (p->line[n - 1] == '\n') p->line[n - 1] = 0;
  return p->line;
}

static void peer_close(ort_peer *p, bool kill_it) {
  if (p->to) {
    if (!kill_it) fputs("quit\n", p->to);
    fclose(p->to);
    p->to = NULL;
  }
  if (p->pid > 0) {
    if (kill_it) kill(p->pid, SIGTERM);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
  }
  if (p->from) fclose(p->from);
  p->from = NULL;
  free(p->line);
  p->line = NULL;
}

static int set_cloexec(int fd) { return fcntl(fd, F_SETFD, FD_CLOEXEC); }

/* Starts the peer and waits for its "ready" line (it has then written its outputs to outdir). */
static eo_status peer_start(ort_peer *p, const char *model, int threads, int n_in, const bench_input *ins,
                            char in_files[][PATH_MAX], int n_out, const char *const *out_names, const char *outdir) {
  char script[PATH_MAX];
  if (!find_peer_script(script, sizeof script))
    return eo_error(EO_ERR_IO,
                    "--peer ort: cannot find scripts/ort_bench_peer.js above the edgeopt binary; set "
                    "EDGEOPT_ORT_PEER to its path");
  const char *node = getenv("EDGEOPT_NODE");
  if (!node || !*node) node = "node";
  char threads_s[16];
  snprintf(threads_s, sizeof threads_s, "%d", threads);
  int argc = 0, cap = 8 + 2 * n_in + 2 * n_out;
  char **argv = eo_calloc((size_t)cap, sizeof *argv);
  char **in_args = eo_calloc((size_t)(n_in ? n_in : 1), sizeof *in_args);
  eo_status st = EO_OK;
  int to_child[2] = {-1, -1}, from_child[2] = {-1, -1};
  if (!argv || !in_args) {
    st = eo_error(EO_ERR_NOMEM, "out of memory starting the ORT peer");
    goto done;
  }
  argv[argc++] = (char *)node;
  argv[argc++] = script;
  argv[argc++] = (char *)model;
  argv[argc++] = "--threads";
  argv[argc++] = threads_s;
  for (int i = 0; i < n_in; i++) {
    size_t len = strlen(ins[i].name) + strlen(in_files[i]) + 2;
    if (!(in_args[i] = eo_malloc(len))) {
      st = eo_error(EO_ERR_NOMEM, "out of memory starting the ORT peer");
      goto done;
    }
    snprintf(in_args[i], len, "%s=%s", ins[i].name, in_files[i]);
    argv[argc++] = "--input";
    argv[argc++] = in_args[i];
  }
  for (int i = 0; i < n_out; i++) {
    argv[argc++] = "--output";
    argv[argc++] = (char *)out_names[i];
  }
  argv[argc++] = "--output-dir";
  argv[argc++] = (char *)outdir;
  argv[argc] = NULL;
  if (pipe(to_child) || pipe(from_child) || set_cloexec(to_child[0]) || set_cloexec(to_child[1]) ||
      set_cloexec(from_child[0]) || set_cloexec(from_child[1])) {
    st = eo_error(EO_ERR_IO, "--peer ort: cannot create pipes: %s", strerror(errno));
    goto done;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
  int rc = posix_spawnp(&p->pid, node, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    p->pid = 0;
    st = eo_error(EO_ERR_IO, "--peer ort: cannot run '%s': %s (set EDGEOPT_NODE to node's path)", node, strerror(rc));
    goto done;
  }
  close(to_child[0]);
  close(from_child[1]);
  to_child[0] = from_child[1] = -1;
  if ((p->to = fdopen(to_child[1], "w"))) to_child[1] = -1;
  if ((p->from = fdopen(from_child[0], "r"))) from_child[0] = -1;
  if (!p->to || !p->from) {
    st = eo_error(EO_ERR_IO, "--peer ort: fdopen: %s", strerror(errno));
    goto done;
  }
  const char *line = peer_line(p);
  if (!line) {
    st = eo_error(EO_ERR_IO, "--peer ort: %s %s exited before it was ready (see its messages above)", node, script);
    goto done;
  }
  bool ready = strncmp(line, "ready ", 6) == 0;
  if (!ready && strncmp(line, "error ", 6) != 0) {
    st = eo_error(EO_ERR_IO, "--peer ort: unexpected answer '%.200s'", line);
    goto done;
  }
  cJSON *j = cJSON_Parse(line + 6);
  if (!ready) {
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    st = eo_error(EO_ERR_IO, "--peer ort: %s", cJSON_IsString(msg) ? msg->valuestring : line + 6);
  } else {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
    const cJSON *lm = cJSON_GetObjectItemCaseSensitive(j, "load_ms");
    const cJSON *br = cJSON_GetObjectItemCaseSensitive(j, "baseline_rss_kib");
    snprintf(p->version, sizeof p->version, "%s", cJSON_IsString(v) ? v->valuestring : "?");
    p->load_ms = cJSON_IsNumber(lm) ? lm->valuedouble : -1;
    p->baseline_rss = cJSON_IsNumber(br) && br->valuedouble >= 0 ? (int64_t)br->valuedouble * 1024 : -1;
  }
  cJSON_Delete(j);
done:
  for (int k = 0; k < 2; k++) {
    if (to_child[k] >= 0) close(to_child[k]);
    if (from_child[k] >= 0) close(from_child[k]);
  }
  for (int i = 0; in_args && i < n_in; i++) free(in_args[i]);
  free(in_args);
  free(argv);
  return st;
}

/* One ORT inference; *ms its time as measured inside node. */
static eo_status peer_run(ort_peer *p, double *ms) {
  if (fputs("run\n", p->to) == EOF || fflush(p->to) != 0)
    return eo_error(EO_ERR_IO, "--peer ort: the peer stopped (%s)", strerror(errno));
  const char *line = peer_line(p);
  char *end;
  long long ns = line ? strtoll(line, &end, 10) : -1;
  if (!line || *end || ns < 0)
    return eo_error(EO_ERR_IO, "--peer ort: %s", line ? line : "the peer exited during a run");
  *ms = (double)ns / 1e6;
  return EO_OK;
}

/* Waits (at most 250 ms) until no thread of process `pid` other than `skip_tid` is running: the other
 * engine's pool workers spin for a while after a run (ORT's up to tens of milliseconds) and would
 * otherwise compete for the cores of the run being timed. Accounts the wait to r. */
static void settle(int pid, int skip_tid, engine_result *r) {
  uint64_t t0 = eo_clock_ns();
  for (;;) {
    if (eo_proc_running_threads(pid, skip_tid) <= 0) break;
    if (eo_clock_ns() - t0 > 250000000u) {
      r->settle_gave_up++;
      break;
    }
    nanosleep(&(struct timespec){0, 100000}, NULL);
  }
  r->settle_ms += (double)(eo_clock_ns() - t0) / 1e6;
  r->settle_runs++;
}

/* ---- output agreement ---- */

static double default_tolerance(const eo_model *m, const char **why) {
  static const char *quant_ops[] = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
                                    "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"};
  eo_model_info info;
  eo_model_inspect(m, &info);
  for (int i = 0; i < info.num_op_types; i++)
    for (size_t k = 0; k < sizeof quant_ops / sizeof *quant_ops; k++)
      if (!strcmp(info.ops[i].op_type, quant_ops[k])) {
        *why = "quantized model";
        return BENCH_TOL_QUANT;
      }
  if (info.float16_params > 0) {
    *why = "float16 weights";
    return BENCH_TOL_FLOAT16;
  }
  *why = "float model";
  return BENCH_TOL_FLOAT;
}

static double elem(int dtype, const void *p, int64_t i) {
  switch (dtype) {
    case EO_FLOAT: return ((const float *)p)[i];
    case EO_DOUBLE: return ((const double *)p)[i];
    case EO_FLOAT16: return eo_f16_to_f32(((const uint16_t *)p)[i]);
    case EO_BFLOAT16: return eo_bf16_to_f32(((const uint16_t *)p)[i]);
    case EO_UINT8: case EO_BOOL: return ((const uint8_t *)p)[i];
    case EO_INT8: return ((const int8_t *)p)[i];
    case EO_INT16: return ((const int16_t *)p)[i];
    case EO_UINT16: return ((const uint16_t *)p)[i];
    case EO_INT32: return ((const int32_t *)p)[i];
    case EO_UINT32: return ((const uint32_t *)p)[i];
    case EO_INT64: return (double)((const int64_t *)p)[i];
    case EO_UINT64: return (double)((const uint64_t *)p)[i];
    default: return NAN;
  }
}

static eo_status check_output(const eo_tensor_view *mine, const char *ort_file, double tol, output_check *c) {
  int dt, rank;
  int64_t dims[EO_MAX_RANK];
  void *data = NULL;
  size_t nb;
  char a[256], b[256];
  *c = (output_check){.name = mine->name};
  eo_status st = eo_npy_read(ort_file, &dt, &rank, dims, &data, &nb);
  if (st) return eo_error_wrap(st, "ORT's output '%s'", mine->name);
  bool same = dt == mine->dtype && rank == mine->rank;
  for (int k = 0; same && k < rank; k++) same = dims[k] == mine->dims[k];
  if (!same) {
    snprintf(c->note, sizeof c->note, "edgeopt %s %s, ORT %s %s", eo_dtype_name(mine->dtype),
             eo_shape_str(mine->rank, mine->dims, a, sizeof a), eo_dtype_name(dt),
             eo_shape_str(rank, dims, b, sizeof b));
    c->max_abs_diff = INFINITY;
    free(data);
    return EO_OK;
  }
  int64_t n = eo_numel(rank, dims);
  for (int64_t i = 0; i < n; i++) {
    double x = elem(dt, mine->data, i), y = elem(dt, data, i);
    double d = isnan(x) || isnan(y) ? (isnan(x) && isnan(y) ? 0 : INFINITY) : fabs(x - y);
    if (d > c->max_abs_diff || isnan(c->max_abs_diff)) c->max_abs_diff = d;
    if (isfinite(y) && fabs(y) > c->max_abs_ref) c->max_abs_ref = fabs(y);
  }
  c->agree = c->max_abs_diff <= tol * c->max_abs_ref || c->max_abs_diff == 0;
  free(data);
  return EO_OK;
}

/* ---- report ---- */

static double ratio(double a, double b) { return a > 0 && b > 0 ? a / b : NAN; }

static void print_row(const char *label, double mine, double ort, bool have_peer, const char *fmt_note) {
  printf("  %-22s %12.3f", label, mine);
  if (have_peer) {
    printf(" %12.3f", ort);
    double r = ratio(mine, ort);
    if (isnan(r))
      printf(" %11s", "-");
    else
      printf(" %11.3f", r);
  }
  if (fmt_note) printf("  %s", fmt_note);
  printf("\n");
}

static double mib(int64_t b) { return b >= 0 ? (double)b / (1 << 20) : NAN; }

static cJSON *stats_json(const eo_latency_stats *s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "mean", s->mean);
  cJSON_AddNumberToObject(o, "stddev", s->stddev);
  cJSON_AddNumberToObject(o, "p50", s->p50);
  cJSON_AddNumberToObject(o, "p90", s->p90);
  cJSON_AddNumberToObject(o, "p95", s->p95);
  cJSON_AddNumberToObject(o, "p99", s->p99);
  cJSON_AddNumberToObject(o, "min", s->min);
  cJSON_AddNumberToObject(o, "max", s->max);
  return o;
}

static void add_num_or_null(cJSON *o, const char *k, double v) {
  if (isfinite(v))
    cJSON_AddNumberToObject(o, k, v);
  else
    cJSON_AddNullToObject(o, k);
}

static cJSON *engine_json(const engine_result *r, int iters, int batch, bool timed, bool peer) {
  cJSON *o = cJSON_CreateObject();
  if (timed) {
    cJSON_AddItemToObject(o, "latency_ms", stats_json(&r->lat));
    cJSON_AddNumberToObject(o, "throughput_per_s", batch * 1000.0 / r->lat.mean);
    cJSON_AddItemToObject(o, "samples_ms", cJSON_CreateDoubleArray(r->ms, iters));
  }
  if (timed && peer) {
    /* waiting before this engine's runs for the other engine's threads to go idle */
    cJSON *w = cJSON_AddObjectToObject(o, "settle");
    cJSON_AddNumberToObject(w, "wait_ms_per_run", r->settle_runs ? r->settle_ms / r->settle_runs : 0);
    cJSON_AddNumberToObject(w, "timeouts", r->settle_gave_up);
  }
  add_num_or_null(o, "peak_rss_bytes", (double)r->peak_rss);
  add_num_or_null(o, "baseline_rss_bytes", (double)r->baseline_rss);
  add_num_or_null(o, "end_rss_bytes", (double)r->end_rss);
  add_num_or_null(o, "peak_rss_above_baseline_bytes",
                  r->peak_rss >= 0 && r->baseline_rss >= 0 ? (double)(r->peak_rss - r->baseline_rss) : NAN);
  return o;
}

static eo_status write_json(const char *file, cJSON *root) {
  char *text = cJSON_Print(root);
  if (!text) return eo_error(EO_ERR_NOMEM, "out of memory formatting JSON");
  FILE *f = fopen(file, "w");
  if (!f) {
    free(text);
    return eo_error(EO_ERR_IO, "--json %s: cannot open for writing: %s", file, strerror(errno));
  }
  bool ok = fputs(text, f) != EOF && fputc('\n', f) != EOF;
  ok = (fclose(f) == 0) && ok;
  free(text);
  return ok ? EO_OK : eo_error(EO_ERR_IO, "--json %s: write failed", file);
}

static void progress(const char *what, int done, int total, bool tty) {
  if (tty) {
    fprintf(stderr, "\rbench: %s %d/%d", what, done, total);
    if (done == total) fputc('\n', stderr);
  } else if (done == total || (total >= 10 && done % (total / 4 ? total / 4 : 1) == 0)) {
    fprintf(stderr, "bench: %s %d/%d\n", what, done, total);
  }
  fflush(stderr);
}

/* Sleeps, so the next run starts as a camera's next frame does: after an idle gap. */
static void idle_ms(long ms) {
  if (ms <= 0) return;
  struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* ---- the command ---- */

int cmd_bench(int argc, char **argv) {
  const char *path = NULL, *json_file = NULL, *peer = NULL;
  long threads = 0, warmup = 10, iters = 100, batch = 1, seed = 1, gap_ms = 0;
  double tol = -1; /* -1: by model kind, once loaded */
  const char *tol_why = "--tol";
  name_arg shapes[BENCH_MAX_IO], files[BENCH_MAX_IO];
  int n_shapes = 0, n_files = 0;
  int rc = EO_EXIT_FAIL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      fputs(help, stdout);
      rc = EO_EXIT_OK;
      goto free_args;
    }
    if (a[0] == '-' && a[1] == '-' && strcmp(a, "--help") != 0) {
      static const char *valued[] = {"--threads", "--warmup", "--iters", "--batch", "--shape",
                                     "--input",   "--seed",   "--peer",  "--json", "--tol", "--gap-ms"};
      bool known = false;
      for (size_t k = 0; k < sizeof valued / sizeof *valued; k++) known |= strcmp(a, valued[k]) == 0;
      if (!known) {
        rc = cli_usage_error("bench", "unknown option '%s'", a);
        goto free_args;
      }
      if (i + 1 >= argc) {
        rc = cli_usage_error("bench", "%s needs a value", a);
        goto free_args;
      }
      const char *v = argv[++i];
      bool ok = true;
      if (!strcmp(a, "--threads")) ok = parse_int(v, 0, 1024, &threads);
      else if (!strcmp(a, "--warmup")) ok = parse_int(v, 0, 100000000, &warmup);
      else if (!strcmp(a, "--iters")) ok = parse_int(v, 1, 100000000, &iters);
      else if (!strcmp(a, "--batch")) ok = parse_int(v, 1, 1 << 20, &batch);
      else if (!strcmp(a, "--seed")) ok = parse_int(v, 0, LONG_MAX, &seed);
      else if (!strcmp(a, "--gap-ms")) ok = parse_int(v, 0, 10000, &gap_ms);
      else if (!strcmp(a, "--json")) json_file = v;
      else if (!strcmp(a, "--tol")) {
        char *end;
        tol = strtod(v, &end);
        ok = *end == 0 && end != v && tol >= 0 && tol < 1;
      }
      else if (!strcmp(a, "--peer")) {
        if (strcmp(v, "ort") != 0) {
          rc = cli_usage_error("bench", "--peer %s: the only peer is 'ort'", v);
          goto free_args;
        }
        peer = v;
      } else {
        bool is_shape = !strcmp(a, "--shape");
        name_arg *list = is_shape ? shapes : files;
        int *n = is_shape ? &n_shapes : &n_files;
        const char *eq = strrchr(v, '=');
        if (!eq || eq == v || !eq[1]) {
          rc = cli_usage_error("bench", "%s %s: expected NAME=%s", a, v, is_shape ? "1x3x224x224" : "FILE.npy");
          goto free_args;
        }
        if (*n == BENCH_MAX_IO) {
          rc = cli_usage_error("bench", "too many %s options", a);
          goto free_args;
        }
        name_arg *na = &list[*n];
        *na = (name_arg){.name = eo_strndup(v, (size_t)(eq - v)), .value = eq + 1};
        (*n)++;
        if (!na->name) {
          fprintf(stderr, "edgeopt bench: out of memory\n");
          goto free_args;
        }
        if (is_shape && !parse_shape(na->value, &na->rank, na->dims)) {
          rc = cli_usage_error("bench", "--shape %s: expected NAME=DxDx... with every dim >= 1", v);
          goto free_args;
        }
      }
      if (!ok) {
        rc = cli_usage_error("bench", "%s %s: expected a%s integer", a, v,
                             !strcmp(a, "--iters") || !strcmp(a, "--batch") ? " positive"
                             : !strcmp(a, "--gap-ms")                        ? "n ms count from 0 to 10000 as an"
                                                                             : " non-negative");
        goto free_args;
      }
    } else if (a[0] == '-') {
      rc = cli_usage_error("bench", "unknown option '%s'", a);
      goto free_args;
    } else if (!path) {
      path = a;
    } else {
      rc = cli_usage_error("bench", "unexpected argument '%s'", a);
      goto free_args;
    }
  }
  if (!path) {
    rc = cli_usage_error("bench", "missing MODEL");
    goto free_args;
  }

  signal(SIGPIPE, SIG_IGN); /* a peer that dies shows up as a write error, not a killed edgeopt */
  bool tty = isatty(2);
  eo_host_info host_start, host_end;
  eo_host_info_get(&host_start);
  int n_threads = threads ? (int)threads : host_start.cores;
  // Do the CPUs compute in parallel right now? A VM's vCPUs may share one core for a while.
  double slowdown_start = n_threads > 1 ? eo_host_parallel_slowdown(n_threads) : NAN, slowdown_end = NAN;
  // How far apart are they? Threads that read what the other wrote pay this on every line.
  double c2c_start = n_threads > 1 ? eo_host_core_roundtrip_ns() : NAN, c2c_end = NAN;
  engine_result mine = {.baseline_rss = eo_proc_mem_bytes(0, EO_MEM_RSS)},
                theirs = {.peak_rss = -1, .baseline_rss = -1, .end_rss = -1};
  eo_model *m = NULL;
  eo_session *s = NULL;
  bench_input ins[BENCH_MAX_IO] = {{0}};
  eo_input_shape ishapes[BENCH_MAX_IO];
  output_check checks[BENCH_MAX_IO];
  const char *out_names[BENCH_MAX_IO];
  char in_files[BENCH_MAX_IO][PATH_MAX];
  char tmpdir[PATH_MAX] = "", outdir[PATH_MAX] = "";
  ort_peer p = {0};
  int n_in = 0, n_out = 0;
  bool timed = false, agree = true;
  cJSON *root = NULL;
  eo_plan_stats ps = {0};
  eo_status st;

  fprintf(stderr, "bench: %s: loading and preparing (%d thread%s)\n", path, n_threads, n_threads == 1 ? "" : "s");
  uint64_t t_load = eo_clock_ns();
  if ((st = eo_model_load(path, NULL, &m))) goto fail;
  if (tol < 0) tol = default_tolerance(m, &tol_why);
  n_in = eo_model_num_inputs(m);
  if (n_in > BENCH_MAX_IO) {
    st = eo_error(EO_ERR_UNSUPPORTED, "%s has %d inputs; bench handles at most %d", path, n_in, BENCH_MAX_IO);
    goto fail;
  }
  bool batch_used = false;
  for (int i = 0; i < n_in; i++) {
    const eo_value_desc *d = eo_model_input(m, i);
    name_arg *sh = find_arg(shapes, n_shapes, d->name), *fi = find_arg(files, n_files, d->name);
    if (sh && fi) {
      rc = cli_usage_error("bench", "input '%s' has both --shape and --input", d->name);
      goto done;
    }
    batch_used |= !sh && !fi && d->rank > 0 && d->dims[0] < 0;
    if ((st = make_input(d, i, sh, fi, batch, (uint64_t)seed, &ins[i]))) goto fail;
    ishapes[i] = (eo_input_shape){ins[i].name, ins[i].rank, ins[i].dims, 0, NULL};
  }
  for (int k = 0; k < n_shapes + n_files; k++) {
    name_arg *na = k < n_shapes ? &shapes[k] : &files[k - n_shapes];
    if (!na->used) {
      rc = cli_usage_error("bench", "%s %s=...: the model has no input '%s'", k < n_shapes ? "--shape" : "--input",
                           na->name, na->name);
      goto done;
    }
  }
  if (batch != 1 && !batch_used) {
    rc = cli_usage_error("bench", "--batch %ld: no input left with a symbolic first dimension to set", batch);
    goto done;
  }
  eo_session_options sopts = {.threads = (int)threads};
  if ((st = eo_session_create(m, &sopts, &s))) goto fail;
  if ((st = eo_session_prepare(s, n_in, ishapes))) goto fail;
  for (int i = 0; i < n_in; i++)
    if ((st = eo_session_set_input(s, ins[i].name, ins[i].dtype, ins[i].rank, ins[i].dims, ins[i].data))) goto fail;
  if ((st = eo_session_run(s))) goto fail;
  eo_session_plan_stats(s, &ps);
  n_out = eo_session_num_outputs(s);
  if (n_out > BENCH_MAX_IO) {
    st = eo_error(EO_ERR_UNSUPPORTED, "%s has %d outputs; bench handles at most %d", path, n_out, BENCH_MAX_IO);
    goto fail;
  }
  fprintf(stderr, "bench: edgeopt ready in %.1f ms (%d steps, arena %.2f MiB)\n",
          (double)(eo_clock_ns() - t_load) / 1e6, ps.num_steps, mib((int64_t)ps.arena_bytes));
  int batch_eff = ins[0].rank > 0 ? (int)ins[0].dims[0] : 1;

  if (peer) {
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/edgeopt-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpdir)) {
      st = eo_error(EO_ERR_IO, "cannot create a temporary folder %s: %s", tmpdir, strerror(errno));
      tmpdir[0] = 0;
      goto fail;
    }
    snprintf(outdir, sizeof outdir, "%s/ort", tmpdir);
    for (int i = 0; i < n_in; i++) {
      snprintf(in_files[i], sizeof in_files[i], "%s/in_%d.npy", tmpdir, i);
      if ((st = eo_npy_write(in_files[i], ins[i].dtype, ins[i].rank, ins[i].dims, ins[i].data))) goto fail;
    }
    for (int i = 0; i < n_out; i++) {
      eo_tensor_view v;
      if ((st = eo_session_output(s, i, &v))) goto fail;
      out_names[i] = v.name;
    }
    fprintf(stderr, "bench: starting ONNX Runtime\n");
    if ((st = peer_start(&p, path, n_threads, n_in, ins, in_files, n_out, out_names, outdir))) goto fail;
    for (int i = 0; i < n_out; i++) {
      eo_tensor_view v;
      char f[PATH_MAX + 16];
      snprintf(f, sizeof f, "%s/%d.npy", outdir, i);
      if ((st = eo_session_output(s, i, &v)) || (st = check_output(&v, f, tol, &checks[i]))) goto fail;
      agree &= checks[i].agree;
    }
    fprintf(stderr, "bench: ONNX Runtime %s ready in %.1f ms; outputs %s\n", p.version, p.load_ms,
            agree ? "agree" : "DISAGREE");
  }

  if (agree) {
    if (!(mine.ms = eo_calloc((size_t)iters, sizeof(double))) ||
        (peer && !(theirs.ms = eo_calloc((size_t)iters, sizeof(double))))) {
      st = eo_error(EO_ERR_NOMEM, "out of memory for %ld samples", iters);
      goto fail;
    }
    for (long it = 0; it < warmup + iters; it++) {
      if (peer) settle((int)p.pid, 0, &mine);
      idle_ms(gap_ms);
      uint64_t t0 = eo_clock_ns();
      if ((st = eo_session_run(s))) goto fail;
      double ms = (double)(eo_clock_ns() - t0) / 1e6, ort_ms = 0;
      if (peer) {
        settle(0, (int)getpid(), &theirs);
        idle_ms(gap_ms);
        if ((st = peer_run(&p, &ort_ms))) goto fail;
      }
      if (it >= warmup) {
        mine.ms[it - warmup] = ms;
        if (peer) theirs.ms[it - warmup] = ort_ms;
      }
      if (it < warmup)
        progress("warmup", (int)it + 1, (int)warmup, tty);
      else
        progress("iteration", (int)(it - warmup) + 1, (int)iters, tty);
    }
    timed = true;
    if ((st = eo_latency_summarize(mine.ms, (int)iters, &mine.lat))) goto fail;
    if (peer && (st = eo_latency_summarize(theirs.ms, (int)iters, &theirs.lat))) goto fail;
  }
  mine.end_rss = eo_proc_mem_bytes(0, EO_MEM_RSS); /* before the peak: reading may itself touch a page */
  mine.peak_rss = eo_proc_mem_bytes(0, EO_MEM_PEAK_RSS);
  if (peer) {
    theirs.end_rss = eo_proc_mem_bytes((int)p.pid, EO_MEM_RSS);
    theirs.peak_rss = eo_proc_mem_bytes((int)p.pid, EO_MEM_PEAK_RSS);
    theirs.baseline_rss = p.baseline_rss;
    peer_close(&p, false);
  }
  eo_host_info_get(&host_end);
  if (n_threads > 1) slowdown_end = eo_host_parallel_slowdown(n_threads), c2c_end = eo_host_core_roundtrip_ns();
  if (!(slowdown_start > 0)) slowdown_start = NAN;  // could not start threads: unknown
  if (!(slowdown_end > 0)) slowdown_end = NAN;
  if (!(c2c_start > 0)) c2c_start = NAN;
  if (!(c2c_end > 0)) c2c_end = NAN;

  /* ---- the report ---- */
  char shp[256];
  printf("edgeopt bench: %s — %s\n", path, BENCH_LABEL);
  printf("host: %s, %d cores, %s kernels%s; load average %.2f at start, %.2f at end\n", host_start.cpu_model,
         host_start.cores, eo_isa_name(eo_cpu_isa()), eo_env_flag("EO_FORCE_REF") ? " (EO_FORCE_REF=1)" : "",
         host_start.load_avg[0], host_end.load_avg[0]);
  if (n_threads > 1)
    printf("host: the same arithmetic on %d threads took %.2fx the time of 1 thread at start, %.2fx at end "
           "(1: independent cores; %d: they shared one, and %d-thread figures mean little)\n",
           n_threads, slowdown_start, slowdown_end, n_threads, n_threads);
  if (n_threads > 1)
    printf("host: a cache line between two CPUs and back took %.0f ns at start, %.0f at end (seen here: 60-140 "
           "when the host kept the vCPUs on one core complex, ~400 on two, where 2-thread runs were slower)\n",
           c2c_start, c2c_end);
  for (int i = 0; i < n_in; i++)
    printf("input %s: %s [%s]%s\n", ins[i].name, eo_dtype_name(ins[i].dtype),
           shape_text(ins[i].rank, ins[i].dims, shp, sizeof shp), ins[i].file ? " from file" : " random");
  printf("threads %d, warmup %ld, iterations %ld%s", n_threads, warmup, iters,
         peer ? ", edgeopt and ONNX Runtime alternating" : "");
  if (gap_ms) printf(", %ld ms idle before every run", gap_ms);
  printf("\n");
  if (peer) {
    for (int i = 0; i < n_out; i++) {
      const output_check *c = &checks[i];
      if (c->note[0])
        printf("check %s: DISAGREE: %s\n", c->name, c->note);
      else
        printf("check %s: %s: max |edgeopt - ORT| %.3g, max |ORT| %.3g (ratio %.3g, tolerance %.0e: %s)\n", c->name,
               c->agree ? "agree" : "DISAGREE", c->max_abs_diff, c->max_abs_ref,
               c->max_abs_ref > 0 ? c->max_abs_diff / c->max_abs_ref : c->max_abs_diff, tol, tol_why);
    }
  }
  if (timed) {
    printf("\n  %-22s %12s", "", "edgeopt");
    if (peer) printf(" %12s %11s", "ORT", "edgeopt/ORT");
    printf("\n  latency (ms)\n");
    const char *names[] = {"mean", "p50", "p95", "p99", "min", "max"};
    double a[] = {mine.lat.mean, mine.lat.p50, mine.lat.p95, mine.lat.p99, mine.lat.min, mine.lat.max};
    double b[] = {theirs.lat.mean, theirs.lat.p50, theirs.lat.p95, theirs.lat.p99, theirs.lat.min, theirs.lat.max};
    for (int k = 0; k < 6; k++) {
      char lab[32];
      snprintf(lab, sizeof lab, "  %s", names[k]);
      print_row(lab, a[k], b[k], peer != NULL, NULL);
    }
    char note[64];
    snprintf(note, sizeof note, "batch %d", batch_eff);
    print_row("throughput (inf/s)", batch_eff * 1000.0 / mine.lat.mean,
              peer ? batch_eff * 1000.0 / theirs.lat.mean : 0, peer != NULL, note);
    if (peer) {
      printf("  (each run started once the other engine's threads were idle: waited %.2f ms/run for ORT's,"
             " %.2f ms/run for edgeopt's; %d timeouts)\n",
             mine.settle_ms / mine.settle_runs, theirs.settle_ms / theirs.settle_runs,
             mine.settle_gave_up + theirs.settle_gave_up);
    }
  } else {
    printf("\nnot timed: the outputs disagree, so timings would compare different computations\n");
  }
  printf("  memory (MiB)\n");
  print_row("  peak RSS", mib(mine.peak_rss), mib(theirs.peak_rss), peer != NULL,
            peer ? "ORT's includes node itself" : NULL);
  if (peer) {
    char note[96];
    snprintf(note, sizeof note, "baselines: edgeopt %.1f, node %.1f", mib(mine.baseline_rss),
             mib(theirs.baseline_rss));
    print_row("  peak above baseline", mib(mine.peak_rss - mine.baseline_rss),
              theirs.peak_rss >= 0 && theirs.baseline_rss >= 0 ? mib(theirs.peak_rss - theirs.baseline_rss) : NAN,
              true, note);
  }
  print_row("  RSS after the runs", mib(mine.end_rss), mib(theirs.end_rss), peer != NULL, NULL);
  print_row("  planned arena", mib((int64_t)ps.arena_bytes), NAN, false, NULL);
  print_row("  packed weights", mib((int64_t)ps.packed_bytes), NAN, false, NULL);
  if (ps.worker_bytes) print_row("  per-worker buffers", mib((int64_t)ps.worker_bytes), NAN, false, NULL);
  char cnote[96] = "";
  if (ps.freed_constant_bytes)
    snprintf(cnote, sizeof cnote, "and %.2f MiB freed after packing", mib((int64_t)ps.freed_constant_bytes));
  print_row("  constants", mib((int64_t)ps.constant_bytes), NAN, false, cnote[0] ? cnote : NULL);

  if (json_file) {
    root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "schema_version", BENCH_SCHEMA_VERSION);
    cJSON_AddStringToObject(root, "tool", "edgeopt bench " EO_VERSION_STRING);
    cJSON_AddStringToObject(root, "label", BENCH_LABEL);
    cJSON *jm = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(jm, "path", path);
    struct stat sb;
    add_num_or_null(jm, "file_bytes", stat(path, &sb) == 0 ? (double)sb.st_size : NAN);
    cJSON *jins = cJSON_AddArrayToObject(jm, "inputs");
    for (int i = 0; i < n_in; i++) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "name", ins[i].name);
      cJSON_AddStringToObject(o, "dtype", eo_dtype_name(ins[i].dtype));
      cJSON *dims = cJSON_AddArrayToObject(o, "shape");
      for (int k = 0; k < ins[i].rank; k++) cJSON_AddItemToArray(dims, cJSON_CreateNumber((double)ins[i].dims[k]));
      cJSON_AddStringToObject(o, "source", ins[i].file ? ins[i].file : "random");
      cJSON_AddItemToArray(jins, o);
    }
    cJSON *jc = cJSON_AddObjectToObject(root, "config");
    cJSON_AddNumberToObject(jc, "threads", n_threads);
    cJSON_AddNumberToObject(jc, "warmup", (double)warmup);
    cJSON_AddNumberToObject(jc, "iters", (double)iters);
    cJSON_AddNumberToObject(jc, "batch", batch_eff);
    cJSON_AddNumberToObject(jc, "seed", (double)seed);
    cJSON_AddNumberToObject(jc, "gap_ms", (double)gap_ms);
    if (peer)
      cJSON_AddStringToObject(jc, "peer", "ort");
    else
      cJSON_AddNullToObject(jc, "peer");
    cJSON_AddStringToObject(jc, "isa", eo_isa_name(eo_cpu_isa()));
    cJSON_AddBoolToObject(jc, "force_ref", eo_env_flag("EO_FORCE_REF"));
    cJSON *jh = cJSON_AddObjectToObject(root, "host");
    cJSON_AddStringToObject(jh, "cpu_model", host_start.cpu_model);
    cJSON_AddNumberToObject(jh, "cores", host_start.cores);
    cJSON_AddStringToObject(jh, "kernel", host_start.kernel);
    add_num_or_null(jh, "load_avg_1m_start", host_start.load_avg[0]);
    add_num_or_null(jh, "load_avg_1m_end", host_end.load_avg[0]);
    add_num_or_null(jh, "parallel_slowdown_start", slowdown_start);
    add_num_or_null(jh, "parallel_slowdown_end", slowdown_end);
    add_num_or_null(jh, "core_roundtrip_ns_start", c2c_start);
    add_num_or_null(jh, "core_roundtrip_ns_end", c2c_end);
    cJSON_AddBoolToObject(root, "timed", timed);
    cJSON *je = engine_json(&mine, (int)iters, batch_eff, timed, peer != NULL);
    cJSON_AddNumberToObject(je, "arena_bytes", (double)ps.arena_bytes);
    cJSON_AddNumberToObject(je, "naive_bytes", (double)ps.naive_bytes);
    cJSON_AddNumberToObject(je, "constant_bytes", (double)ps.constant_bytes);
    cJSON_AddNumberToObject(je, "packed_bytes", (double)ps.packed_bytes);
    cJSON_AddNumberToObject(je, "worker_bytes", (double)ps.worker_bytes);
    cJSON_AddNumberToObject(je, "freed_constant_bytes", (double)ps.freed_constant_bytes);
    cJSON_AddNumberToObject(je, "num_steps", ps.num_steps);
    cJSON_AddItemToObject(root, "edgeopt", je);
    if (peer) {
      cJSON *jo = engine_json(&theirs, (int)iters, batch_eff, timed, true);
      cJSON_AddStringToObject(jo, "engine", "onnxruntime-node");
      cJSON_AddStringToObject(jo, "version", p.version);
      cJSON_AddNumberToObject(jo, "load_ms", p.load_ms);
      cJSON_AddStringToObject(jo, "timing", "process.hrtime around the native session's synchronous run");
      cJSON_AddItemToObject(root, "ort", jo);
      cJSON *jr = cJSON_AddObjectToObject(root, "ratios");
      if (timed) {
        add_num_or_null(jr, "mean", ratio(mine.lat.mean, theirs.lat.mean));
        add_num_or_null(jr, "p50", ratio(mine.lat.p50, theirs.lat.p50));
        add_num_or_null(jr, "p95", ratio(mine.lat.p95, theirs.lat.p95));
        add_num_or_null(jr, "p99", ratio(mine.lat.p99, theirs.lat.p99));
        add_num_or_null(jr, "min", ratio(mine.lat.min, theirs.lat.min));
        add_num_or_null(jr, "max", ratio(mine.lat.max, theirs.lat.max));
        add_num_or_null(jr, "throughput", ratio(theirs.lat.mean, mine.lat.mean));
      }
      add_num_or_null(jr, "peak_rss", ratio((double)mine.peak_rss, (double)theirs.peak_rss));
      add_num_or_null(jr, "peak_rss_above_baseline",
                      theirs.baseline_rss >= 0 ? ratio((double)(mine.peak_rss - mine.baseline_rss),
                                                       (double)(theirs.peak_rss - theirs.baseline_rss))
                                               : NAN);
      cJSON *jk = cJSON_AddObjectToObject(root, "check");
      cJSON_AddBoolToObject(jk, "outputs_agree", agree);
      cJSON_AddNumberToObject(jk, "tolerance", tol);
      cJSON_AddStringToObject(jk, "tolerance_reason", tol_why);
      cJSON *jl = cJSON_AddArrayToObject(jk, "outputs");
      for (int i = 0; i < n_out; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", checks[i].name);
        cJSON_AddBoolToObject(o, "agree", checks[i].agree);
        add_num_or_null(o, "max_abs_diff", checks[i].max_abs_diff);
        cJSON_AddNumberToObject(o, "max_abs_ort", checks[i].max_abs_ref);
        if (checks[i].note[0]) cJSON_AddStringToObject(o, "note", checks[i].note);
        cJSON_AddItemToArray(jl, o);
      }
    }
    if ((st = write_json(json_file, root))) goto fail;
  }
  if (!agree) {
    fprintf(stderr, "edgeopt bench: edgeopt's and ONNX Runtime's outputs disagree (see the checks above); "
                    "nothing was timed\n");
    goto done;
  }
  rc = EO_EXIT_OK;
  goto done;
fail:
  rc = cli_fail(st);
done:
  peer_close(&p, true);
  if (tmpdir[0]) {
    for (int i = 0; i < n_in; i++) unlink(in_files[i]);
    for (int i = 0; i < n_out; i++) {
      char f[PATH_MAX + 16];
      snprintf(f, sizeof f, "%s/%d.npy", outdir, i);
      unlink(f);
    }
    rmdir(outdir);
    rmdir(tmpdir);
  }
  cJSON_Delete(root);
  free(mine.ms);
  free(theirs.ms);
  for (int i = 0; i < n_in; i++) free(ins[i].data);
  eo_session_free(s);
  eo_model_free(m);
free_args:
  for (int i = 0; i < n_shapes; i++) free(shapes[i].name);
  for (int i = 0; i < n_files; i++) free(files[i].name);
  return rc;
}
