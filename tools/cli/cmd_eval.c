/* edgeopt eval (and the argument handling `edgeopt compare` shares): parses the options, calls
 * eo_evaluate, prints the tables, the progress and the JSON. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "edgeopt/evaluate.h"

static const char *eval_help =
    "Usage: edgeopt eval MODEL.onnx --data DATA --task detect|classify|compare [options]\n\n"
    "Runs the model over a data set and measures its accuracy:\n"
    "  detect    mAP@0.5, mAP@0.5:0.95, precision, recall and per-class AP (COCO-style, 101-point) on a\n"
    "            YOLO data set (data.yaml, or a folder holding one)\n"
    "  classify  top-1, top-5, per-class accuracy and the confusion matrix on an ImageFolder tree, IDX\n"
    "            files (MNIST, Fashion-MNIST) or labelled .npy tensors\n"
    "  compare   agreement of MODEL with --reference (an FP32 model) on the same inputs, no labels needed:\n"
    "            per output mean abs / relative diff, max abs diff, cosine, SQNR; top-1 agreement of\n"
    "            class scores; for detectors, MODEL's mAP against the reference's detections\n\n"
    "Data:\n"
    "  --data PATH            data.yaml, a data set folder, an IDX file or a .txt list of images\n"
    "  --format FMT           yolo|imagefolder|idx|npy|images (default: told from PATH)\n"
    "  --split S              train|val|test (default val)\n"
    "  --labels FILE          IDX labels file (default: the images file's name with labels-idx1)\n"
    "  --limit N              evaluate a seeded random subset of N items (visited in data set order)\n"
    "  --fraction F           ... or this fraction of the items (0 < F <= 1)\n"
    "  --seed S               seed of the subset (default 0)\n"
    "  --skip-bad             skip unreadable images and bad label files (counted and listed) instead of\n"
    "                         stopping at the first\n"
    "  --names FILE|a,b,...   class names for the tables (one per line, or comma separated); default:\n"
    "                         the data set's (data.yaml names, ImageFolder folder names)\n"
    "Preprocessing (defaults from the model's input shape; letterbox for detect, stretch for classify):\n"
    "  --preprocess FILE      YAML or JSON preprocessing config (resize, size, scale, mean, std, ...)\n"
    "  --set NAME=VALUE       override one field, after the file (repeatable), e.g. --set pad_value=0\n"
    "Detection:\n"
    "  --decoder NAME         auto|yolov8|yolov5|yolo-nas|ssd|blazeface-front|blazeface-back|generic\n"
    "                         (default auto: told from the output shapes); compare: none = no detections\n"
    "  --conf C               score threshold before NMS (default 0.001, as Ultralytics val)\n"
    "  --iou I                NMS IoU threshold (default 0.7)\n"
    "  --max-det N            detections kept per image (default 300)\n"
    "  --pr-conf C            score threshold of the precision / recall figures (default 0.25)\n"
    "  --pseudo-conf C        compare: reference detections >= C are the pseudo-labels (default 0.25)\n"
    "Run and output:\n"
    "  --reference MODEL      compare: the reference (FP32) model\n"
    "  --threads N            inference threads (default: one per core)\n"
    "  --json FILE            also write every figure as JSON\n"
    "  --dump-dir DIR         write the metric inputs (detections and ground truth as .npy) for an\n"
    "                         independent check (scripts/oracle_map.py, scripts/oracle_metrics.py)\n"
    "Another runtime (e.g. the TFLite interpreter) through the same decoder, NMS and metrics:\n"
    "  --dump-inputs DIR      write the model's inputs exactly as fed to it, DIR/<input>.npy of shape\n"
    "                         [K, <input shape>], one row per item evaluated, in order\n"
    "  --outputs-from DIR     do not run MODEL: read its raw outputs from DIR/<output>.npy, shape\n"
    "                         [K, <output shape>], row k for the k-th item evaluated (the same data\n"
    "                         options as the --dump-inputs run); names as `edgeopt run` writes them\n"
    "  --quiet                no progress output\n"
    "  -h, --help             this help\n\n"
    "Progress goes to stderr: a bar with images/s and ETA on a terminal, otherwise a line every 10%.\n"
    "Exit status: 0 done, 1 failure (model, data, bad item), 2 usage error.\n";

/* ---------------------------------------------------------------- argument helpers */

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

static bool parse_f(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) return false;
  *out = v;
  return true;
}

/* Class names from a file (one per line) or a comma-separated list; the strings are owned by *buf. */
static int load_names(const char *cmd, const char *arg, char **buf, const char ***names, int *n) {
  struct stat sb;
  char sep = ',';
  if (stat(arg, &sb) == 0 && S_ISREG(sb.st_mode)) {
    FILE *f = fopen(arg, "rb");
    if (!f) return cli_usage_error(cmd, "--names %s: cannot open: %s", arg, strerror(errno));
    *buf = calloc(1, (size_t)sb.st_size + 1);
    size_t got = *buf ? fread(*buf, 1, (size_t)sb.st_size, f) : 0;
    fclose(f);
    if (!*buf || got != (size_t)sb.st_size) return cli_usage_error(cmd, "--names %s: cannot read", arg);
    sep = '\n';
  } else {
    *buf = strdup(arg);
    if (!*buf) return cli_usage_error(cmd, "out of memory");
  }
  int cap = 1;
  for (char *p = *buf; *p; p++) cap += *p == sep;
  *names = calloc((size_t)cap, sizeof **names);
  if (!*names) return cli_usage_error(cmd, "out of memory");
  *n = 0;
  char *s = *buf;
  for (int line = 1; s; line++) {
    char *e = strchr(s, sep);
    if (e) *e = 0;
    size_t len = strlen(s);
    while (len && (s[len - 1] == '\r' || s[len - 1] == ' ')) s[--len] = 0;
    while (*s == ' ') s++;
    if (*s) (*names)[(*n)++] = s;
    else if (e && sep == ',') return cli_usage_error(cmd, "--names: empty name at position %d", line);
    s = e ? e + 1 : NULL;
  }
  if (*n == 0) return cli_usage_error(cmd, "--names %s: no names", arg);
  return EO_EXIT_OK;
}

/* ---------------------------------------------------------------- progress */

typedef struct progress {
  const char *cmd;
  bool tty, quiet;
  bool open_line; /* a bar is drawn and not yet ended with a newline */
  double t0, last;
  int last_decile;
} progress;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void fmt_time(double s, char *buf, size_t cap) {
  if (!(s >= 0) || s > 359999) s = 359999;
  long v = (long)(s + 0.5);
  if (v >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", v / 3600, v / 60 % 60, v % 60);
  else snprintf(buf, cap, "%ld:%02ld", v / 60, v % 60);
}

static void on_progress(void *user, int64_t done, int64_t total) {
  progress *p = user;
  if (p->quiet || total <= 0) return;
  double t = now_s(), el = t - p->t0;
  double rate = el > 0 ? (double)done / el : 0;
  char eta[32];
  fmt_time(rate > 0 ? (double)(total - done) / rate : 0, eta, sizeof eta);
  if (p->tty) {
    if (done < total && t - p->last < 0.1) return; /* redraw at most 10 times a second */
    p->last = t;
    char bar[31];
    int fill = (int)(30 * done / total);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[30] = 0;
    fprintf(stderr, "\r[%s] %lld/%lld %3d%%  %.1f images/s  ETA %s ", bar, (long long)done, (long long)total,
            (int)(100 * done / total), rate, eta);
    p->open_line = done < total;
    if (!p->open_line) fputc('\n', stderr);
  } else {
    int dec = (int)(10 * done / total);
    if (dec <= p->last_decile) return;
    p->last_decile = dec;
    fprintf(stderr, "%s: %3d%% (%lld/%lld) %.1f images/s, ETA %s\n", p->cmd, dec * 10, (long long)done,
            (long long)total, rate, eta);
  }
  fflush(stderr);
}

/* ---------------------------------------------------------------- tables */

static const char *cname(const eo_eval_result *r, int c, char *buf, size_t cap) {
  if (r->class_names && c < r->num_classes && r->class_names[c]) return r->class_names[c];
  snprintf(buf, cap, "%d", c);
  return buf;
}

/* "0.8123", or "-" for the -1 of "no ground truth". */
static const char *f4(double v, char *buf, size_t cap) {
  if (v == -1.0) snprintf(buf, cap, "-");
  else snprintf(buf, cap, "%.4f", v);
  return buf;
}

static void print_det(const eo_eval_result *r, const eo_det_report *d, const char *title) {
  char a[32], b[32], c[32], e[32], nb[64];
  printf("%s\n", title);
  if (d->num_gt == 0)
    printf("  no ground-truth boxes in these images: mAP is undefined (unlabelled data? compare needs none)\n");
  printf("  mAP@0.5        %s\n", f4(d->map50, a, sizeof a));
  printf("  mAP@0.5:0.95   %s\n", f4(d->map, a, sizeof a));
  printf("  mAP@0.75       %s\n", f4(d->map75, a, sizeof a));
  printf("  precision      %s   (mean over classes, score >= %g, IoU 0.5)\n", f4(d->precision, a, sizeof a),
         (double)d->operating_conf);
  printf("  recall         %s\n", f4(d->recall, a, sizeof a));
  printf("  all classes    TP %lld  FP %lld  FN %lld  (precision %.4f, recall %.4f)\n", (long long)d->tp,
         (long long)d->fp, (long long)d->fn, d->precision_micro, d->recall_micro);
  printf("  images %lld, ground-truth boxes %lld, detections %lld\n\n", (long long)d->num_images,
         (long long)d->num_gt, (long long)d->num_det);
  int w = 5;
  for (int k = 0; k < d->num_classes; k++) {
    int l = (int)strlen(cname(r, k, nb, sizeof nb));
    if (l > w) w = l;
  }
  if (w > 40) w = 40;
  printf("  %-4s %-*s %8s %8s %8s %8s %8s %8s\n", "id", w, "class", "GT", "dets", "AP@0.5", "AP@.5:.95", "P", "R");
  for (int k = 0; k < d->num_classes; k++) {
    const eo_class_ap *x = &d->per_class[k];
    printf("  %-4d %-*.*s %8lld %8lld %8s %8s %8s %8s\n", k, w, w, cname(r, k, nb, sizeof nb), (long long)x->num_gt,
           (long long)x->num_det, f4(x->ap50, a, sizeof a), f4(x->ap, b, sizeof b), f4(x->precision, c, sizeof c),
           f4(x->recall, e, sizeof e));
  }
  printf("  %-4s %-*s %8lld %8lld %8s %8s %8s %8s\n", "", w, "all", (long long)d->num_gt, (long long)d->num_det,
         f4(d->map50, a, sizeof a), f4(d->map, b, sizeof b), f4(d->precision, c, sizeof c), f4(d->recall, e, sizeof e));
}

static void print_cls(const eo_eval_result *r) {
  const eo_cls_report *c = r->classification;
  char nb[64], a[32];
  int64_t n = c->num_samples;
  printf("Classification\n");
  printf("  top-1          %.4f   (%lld of %lld)\n", c->top1, (long long)llround(c->top1 * (double)n), (long long)n);
  printf("  top-%d          %.4f\n", c->top5_k, c->top5);
  printf("  mean per-class %.4f\n\n", c->mean_class_acc);
  int w = 5;
  for (int k = 0; k < c->num_classes; k++) {
    int l = (int)strlen(cname(r, k, nb, sizeof nb));
    if (l > w) w = l;
  }
  if (w > 40) w = 40;
  if (c->num_classes > 100) {
    printf("  (per-class accuracy and confusion matrix of %d classes: see --json)\n", c->num_classes);
    return;
  }
  printf("  %-4s %-*s %8s %9s\n", "id", w, "class", "samples", "accuracy");
  for (int k = 0; k < c->num_classes; k++)
    printf("  %-4d %-*.*s %8lld %9s\n", k, w, w, cname(r, k, nb, sizeof nb), (long long)c->per_class_count[k],
           f4(c->per_class_acc[k], a, sizeof a));
  if (c->num_classes > 30) {
    printf("\n  (confusion matrix of %d classes: see --json)\n", c->num_classes);
    return;
  }
  int64_t mx = 1;
  for (int i = 0; i < c->num_classes * c->num_classes; i++)
    if (c->confusion[i] > mx) mx = c->confusion[i];
  int cw = snprintf(NULL, 0, "%lld", (long long)mx) + 1;
  if (cw < 4) cw = 4;
  printf("\n  Confusion matrix (rows: true class, columns: predicted class, by id)\n  %-4s", "");
  for (int j = 0; j < c->num_classes; j++) printf("%*d", cw, j);
  printf("\n");
  for (int i = 0; i < c->num_classes; i++) {
    printf("  %-4d", i);
    for (int j = 0; j < c->num_classes; j++)
      printf("%*lld", cw, (long long)c->confusion[(size_t)i * (size_t)c->num_classes + (size_t)j]);
    printf("\n");
  }
}

static const char *fnum(double v, const char *fmt, char *buf, size_t cap) {
  if (isinf(v)) snprintf(buf, cap, "%s", v > 0 ? "inf" : "-inf");
  else if (isnan(v)) snprintf(buf, cap, "nan");
  else snprintf(buf, cap, fmt, v);
  return buf;
}

static void print_agree(const eo_eval_result *r) {
  const eo_agree_report *a = r->agreement;
  char b[6][48];
  int w = 6;
  for (int i = 0; i < a->num_outputs; i++) {
    int l = (int)strlen(r->output_names[i]);
    if (l > w) w = l;
  }
  if (w > 40) w = 40;
  printf("Agreement with the reference (%lld inputs)\n\n", (long long)r->num_images);
  printf("| %-*s | Mean Abs Diff | Mean Rel Diff | Max Abs Diff | Cosine     | SQNR (dB) | Top-1 agree |\n", w,
         "Output");
  printf("|-");
  for (int i = 0; i < w; i++) putchar('-');
  printf("-|---------------|---------------|--------------|------------|-----------|-------------|\n");
  for (int i = 0; i < a->num_outputs; i++) {
    const eo_output_agreement *g = &a->outputs[i];
    char rel[48];
    if (isfinite(g->mean_rel_diff)) snprintf(rel, sizeof rel, "%.2f%%", 100 * g->mean_rel_diff);
    else snprintf(rel, sizeof rel, "%s", fnum(g->mean_rel_diff, "%g", b[5], sizeof b[5]));
    char t1[48] = "-";
    if (g->top1_agreement >= 0)
      snprintf(t1, sizeof t1, "%.4f", g->top1_agreement);
    printf("| %-*.*s | %13s | %13s | %12s | %10s | %9s | %11s |\n", w, w, r->output_names[i],
           fnum(g->mean_abs_diff, "%.4g", b[0], sizeof b[0]), rel, fnum(g->max_abs_diff, "%.4g", b[1], sizeof b[1]),
           fnum(g->cosine, "%.6f", b[2], sizeof b[2]), fnum(g->sqnr_db, "%.2f", b[3], sizeof b[3]), t1);
  }
  for (int i = 0; i < a->num_outputs; i++)
    if (a->outputs[i].nonfinite)
      printf("note: output '%s': %lld non-finite values left out\n", r->output_names[i],
             (long long)a->outputs[i].nonfinite);
  printf("(relative diff: sum |ref - model| / sum |ref|; worst per-input cosine:");
  for (int i = 0; i < a->num_outputs; i++) printf(" %s", fnum(a->outputs[i].min_cosine, "%.6f", b[4], sizeof b[4]));
  printf(")\n");
  if (a->detection) {
    printf("\n");
    print_det(r, a->detection, "Detections against the reference's (pseudo-labels)");
  }
}

static void print_result(const char *model, const char *ref, const char *data, const char *split,
                         const eo_eval_result *r, const eo_eval_options *o) {
  printf("edgeopt eval: %s", model);
  if (ref) printf(" vs reference %s", ref);
  printf("\ndata: %s (%s, split %s): %lld of %lld items evaluated", data, r->dataset_format, split,
         (long long)r->num_images, (long long)r->dataset_total);
  if (r->num_bad) printf(", %lld bad skipped", (long long)r->num_bad);
  printf("\n");
  const eo_preprocess *p = &r->preprocess;
  static const char *rs[] = {"none", "stretch", "letterbox", "shorter side"};
  static const char *ch[] = {"RGB", "BGR", "gray"};
  printf("preprocess: %s", (unsigned)p->resize <= EO_RESIZE_SHORTER ? rs[p->resize] : "?");
  if (p->width > 0) printf(" %dx%d", p->width, p->height);
  if (p->resize == EO_RESIZE_LETTERBOX) printf(" (pad %d)", p->pad_value);
  printf(", %s, %s, scale %g, %s\n", (unsigned)p->channels <= 2 ? ch[p->channels] : "?",
         p->layout == EO_LAYOUT_NHWC ? "NHWC" : "NCHW", (double)p->scale, eo_dtype_name(p->dtype));
  if (r->decoder != EO_DECODER_AUTO)
    printf("decoder: %s (%d candidates), conf %g, NMS IoU %g, max %d detections\n", eo_decoder_kind_name(r->decoder),
           r->num_candidates, (double)o->decode.nms.conf_threshold, (double)o->decode.nms.iou_threshold,
           o->decode.nms.max_detections);
  printf("\n");
  if (r->detection) print_det(r, r->detection, "Detection");
  if (r->classification) print_cls(r);
  if (r->agreement) print_agree(r);
  printf("\nspeed: %.1f images/s (%lld in %.2f s), inference %.2f ms per image%s; host estimate\n", r->images_per_s,
         (long long)r->num_images, r->seconds, r->inference_ms, r->task == EO_EVAL_COMPARE ? " (both models)" : "");
  if (r->num_bad) {
    printf("\n%lld bad item%s skipped:\n", (long long)r->num_bad, r->num_bad == 1 ? "" : "s");
    for (int i = 0; i < r->num_bad_messages; i++) printf("  %s\n", r->bad_messages[i]);
    if (r->num_bad > r->num_bad_messages) printf("  ... (only the first %d are listed)\n", r->num_bad_messages);
  }
}

/* ---------------------------------------------------------------- JSON */

/* A float option as the decimal it was given as (0.001, not 0.0010000000474974513). */
static cJSON *jfloat(float v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.7g", (double)v);
  return cJSON_CreateNumber(strtod(buf, NULL));
}

static bool write_json(const char *cmd, const char *file, const char *model, const char *ref, const char *data,
                       const eo_eval_options *o, const eo_eval_result *r) {
  char *txt = NULL;
  if (eo_eval_result_to_json(r, &txt) != EO_OK) {
    fprintf(stderr, "edgeopt %s: --json: %s\n", cmd, eo_last_error());
    return false;
  }
  cJSON *j = cJSON_Parse(txt);
  free(txt);
  if (!j) {
    fprintf(stderr, "edgeopt %s: internal error: the result's JSON does not parse\n", cmd);
    return false;
  }
  cJSON_AddItemToObject(j, "model", cJSON_CreateString(model));
  cJSON_AddItemToObject(j, "reference", ref ? cJSON_CreateString(ref) : cJSON_CreateNull());
  cJSON *d = cJSON_GetObjectItem(j, "data");
  if (d) {
    cJSON_AddItemToObject(d, "path", cJSON_CreateString(data));
    cJSON_AddItemToObject(d, "split", cJSON_CreateString(o->data.split));
    cJSON_AddItemToObject(d, "limit", cJSON_CreateNumber((double)o->data.limit));
    cJSON_AddItemToObject(d, "fraction", cJSON_CreateNumber(o->data.fraction));
    cJSON_AddItemToObject(d, "seed", cJSON_CreateNumber((double)o->data.seed));
  }
  if (r->decoder != EO_DECODER_AUTO) {
    cJSON *dc = cJSON_CreateObject();
    cJSON_AddItemToObject(dc, "conf", jfloat(o->decode.nms.conf_threshold));
    cJSON_AddItemToObject(dc, "iou", jfloat(o->decode.nms.iou_threshold));
    cJSON_AddItemToObject(dc, "max_det", cJSON_CreateNumber(o->decode.nms.max_detections));
    cJSON_AddItemToObject(j, "nms", dc);
  }
  char *out = cJSON_Print(j);
  cJSON_Delete(j);
  if (!out) {
    fprintf(stderr, "edgeopt %s: out of memory\n", cmd);
    return false;
  }
  FILE *f = fopen(file, "wb");
  bool ok = f && fputs(out, f) >= 0 && fputc('\n', f) != EOF;
  int err = errno;
  if (f && fclose(f) != 0) ok = false, err = errno;
  free(out);
  if (!ok) fprintf(stderr, "edgeopt %s: cannot write %s: %s\n", cmd, file, strerror(err));
  return ok;
}

/* ---------------------------------------------------------------- the command */

int eval_command(const char *cmd, const char *help, int argc, char **argv) {
  bool compare = strcmp(cmd, "compare") == 0;
  const char *pos[2] = {NULL, NULL};
  int npos = 0;
  const char *data = NULL, *ref_path = NULL, *json = NULL, *task = NULL, *names_arg = NULL, *decoder = NULL;
  bool quiet = false;
  eo_eval_options o;
  eo_eval_options_init(&o);
  const char **sets = calloc((size_t)argc + 1, sizeof *sets);
  if (!sets) return cli_usage_error(cmd, "out of memory");
  int rc = EO_EXIT_OK;
  char *names_buf = NULL;
  const char **names = NULL;
  eo_model *m = NULL, *ref = NULL;
  eo_eval_result *r = NULL;
  eo_status st;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      fputs(help, stdout);
      goto done;
    }
    if (a[0] != '-' || strcmp(a, "-") == 0) {
      if (npos == (compare ? 2 : 1)) {
        rc = cli_usage_error(cmd, "unexpected argument '%s'", a);
        goto done;
      }
      pos[npos++] = a;
      continue;
    }
    if (strcmp(a, "--skip-bad") == 0) {
      o.data.skip_bad = 1;
      continue;
    }
    if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
      quiet = true;
      continue;
    }
    static const char *valued[] = {"--data", "--task", "--reference", "--split", "--limit", "--fraction", "--seed",
                                   "--decoder", "--conf", "--iou", "--max-det", "--pr-conf", "--pseudo-conf",
                                   "--preprocess", "--set", "--threads", "--json", "--dump-dir", "--format",
                                   "--labels", "--names", "--dump-inputs", "--outputs-from"};
    bool known = false;
    for (size_t k = 0; k < sizeof valued / sizeof *valued; k++) known |= strcmp(a, valued[k]) == 0;
    if (!known) {
      rc = cli_usage_error(cmd, "unknown option '%s'", a);
      goto done;
    }
    if (i + 1 >= argc) {
      rc = cli_usage_error(cmd, "%s needs a value", a);
      goto done;
    }
    const char *v = argv[++i];
    int64_t iv;
    double fv;
    if (strcmp(a, "--data") == 0) data = v;
    else if (strcmp(a, "--task") == 0) task = v;
    else if (strcmp(a, "--reference") == 0) ref_path = v;
    else if (strcmp(a, "--json") == 0) json = v;
    else if (strcmp(a, "--dump-dir") == 0) o.dump_dir = v;
    else if (strcmp(a, "--dump-inputs") == 0) o.dump_inputs = v;
    else if (strcmp(a, "--outputs-from") == 0) o.outputs_from = v;
    else if (strcmp(a, "--preprocess") == 0) o.preprocess_file = v;
    else if (strcmp(a, "--set") == 0) sets[o.num_sets++] = v;
    else if (strcmp(a, "--labels") == 0) o.data.labels = v;
    else if (strcmp(a, "--names") == 0) names_arg = v;
    else if (strcmp(a, "--decoder") == 0) decoder = v;
    else if (strcmp(a, "--split") == 0) {
      if (strcmp(v, "train") && strcmp(v, "val") && strcmp(v, "test")) {
        rc = cli_usage_error(cmd, "--split %s: expected train, val or test", v);
        goto done;
      }
      o.data.split = v;
    } else if (strcmp(a, "--format") == 0) {
      static const char *fm[] = {"auto", "yolo", "imagefolder", "idx", "npy", "images"};
      int f = -1;
      for (int k = 0; k < 6; k++)
        if (strcmp(v, fm[k]) == 0) f = k;
      if (f < 0) {
        rc = cli_usage_error(cmd, "--format %s: expected auto, yolo, imagefolder, idx, npy or images", v);
        goto done;
      }
      o.data.format = (eo_dataset_format)f;
    } else if (strcmp(a, "--limit") == 0) {
      if (!parse_i64(v, 1, INT64_MAX, &iv)) {
        rc = cli_usage_error(cmd, "--limit %s: expected a positive integer", v);
        goto done;
      }
      o.data.limit = iv;
    } else if (strcmp(a, "--seed") == 0) {
      if (!parse_i64(v, 0, INT64_MAX, &iv)) {
        rc = cli_usage_error(cmd, "--seed %s: expected a non-negative integer", v);
        goto done;
      }
      o.data.seed = (uint64_t)iv;
    } else if (strcmp(a, "--threads") == 0) {
      if (!parse_i64(v, 0, 1024, &iv)) {
        rc = cli_usage_error(cmd, "--threads %s: expected a non-negative integer", v);
        goto done;
      }
      o.threads = (int)iv;
    } else if (strcmp(a, "--max-det") == 0) {
      if (!parse_i64(v, 1, 1 << 20, &iv)) {
        rc = cli_usage_error(cmd, "--max-det %s: expected a positive integer", v);
        goto done;
      }
      o.decode.nms.max_detections = (int)iv;
    } else if (strcmp(a, "--fraction") == 0) {
      if (!parse_f(v, 0, 1, &fv) || fv == 0) {
        rc = cli_usage_error(cmd, "--fraction %s: expected a number in (0, 1]", v);
        goto done;
      }
      o.data.fraction = fv;
    } else {
      if (!parse_f(v, 0, 1, &fv)) {
        rc = cli_usage_error(cmd, "%s %s: expected a number in [0, 1]", a, v);
        goto done;
      }
      if (strcmp(a, "--conf") == 0) o.decode.nms.conf_threshold = (float)fv;
      else if (strcmp(a, "--iou") == 0) o.decode.nms.iou_threshold = (float)fv;
      else if (strcmp(a, "--pr-conf") == 0) o.operating_conf = (float)fv;
      else o.pseudo_label_conf = (float)fv;
    }
  }
  o.sets = sets;
  const char *model_path = pos[0];
  if (compare) {
    if (npos < 2) {
      rc = cli_usage_error(cmd, "expected two models: REFERENCE.onnx CANDIDATE.onnx");
      goto done;
    }
    if (task && strcmp(task, "compare") != 0) {
      rc = cli_usage_error(cmd, "--task %s: compare always runs the compare task", task);
      goto done;
    }
    if (ref_path) {
      rc = cli_usage_error(cmd, "--reference: give the reference as the first model instead");
      goto done;
    }
    ref_path = pos[0];
    model_path = pos[1];
    o.task = EO_EVAL_COMPARE;
  } else {
    if (!model_path) {
      rc = cli_usage_error(cmd, "missing MODEL");
      goto done;
    }
    if (!task) {
      if (!ref_path) {
        rc = cli_usage_error(cmd, "missing --task detect|classify|compare");
        goto done;
      }
      task = "compare";
    }
    if (eo_eval_task_from_name(task, &o.task) != EO_OK) {
      rc = cli_usage_error(cmd, "--task %s: expected detect, classify or compare", task);
      goto done;
    }
    if (o.task == EO_EVAL_COMPARE && !ref_path) {
      rc = cli_usage_error(cmd, "--task compare needs --reference FP32_MODEL");
      goto done;
    }
    if (o.task != EO_EVAL_COMPARE && ref_path) {
      rc = cli_usage_error(cmd, "--reference is only used by --task compare");
      goto done;
    }
  }
  if (!data) {
    rc = cli_usage_error(cmd, "missing --data DATA");
    goto done;
  }
  if (decoder) {
    if (strcmp(decoder, "none") == 0) {
      if (o.task != EO_EVAL_COMPARE) {
        rc = cli_usage_error(cmd, "--decoder none is for compare (no detection metrics)");
        goto done;
      }
      o.compare_detections = 0;
    } else if (eo_ssd_options_preset(decoder, &o.decode.ssd) == EO_OK) {
      o.decode.kind = EO_DECODER_SSD;
    } else if (eo_decoder_kind_from_name(decoder, &o.decode.kind) != EO_OK) {
      rc = cli_usage_error(cmd, "--decoder %s: expected auto, yolov8, yolov5, yolo-nas, ssd, blazeface-front, "
                           "blazeface-back, generic%s", decoder, o.task == EO_EVAL_COMPARE ? " or none" : "");
      goto done;
    }
  }
  if (names_arg && (rc = load_names(cmd, names_arg, &names_buf, &names, &o.num_class_names)) != EO_EXIT_OK) goto done;
  o.class_names = names;
  if ((st = eo_model_load(model_path, NULL, &m))) goto fail;
  if (ref_path) {
    if ((st = eo_model_load(ref_path, NULL, &ref))) goto fail;
    o.reference = ref;
  }
  progress pr = {cmd, isatty(STDERR_FILENO) == 1, quiet, false, now_s(), 0, 0};
  o.progress = on_progress;
  o.progress_user = &pr;
  st = eo_evaluate(m, data, &o, &r);
  if (pr.open_line) fputc('\n', stderr); /* stopped early, or the last items were bad */
  if (st) goto fail;
  print_result(model_path, ref_path, data, o.data.split, r, &o);
  if (o.outputs_from)
    printf("note: the model was not run: its outputs were read from %s (the speed above is the rest)\n",
           o.outputs_from);
  if (o.dump_inputs) printf("inputs written to %s\n", o.dump_inputs);
  if (o.dump_dir && r->agreement && !r->agreement->detection)
    printf("note: --dump-dir: nothing written (a compare dumps detections only)\n");
  if (json && !write_json(cmd, json, model_path, ref_path, data, &o, r)) rc = EO_EXIT_FAIL;
  goto done;
fail:
  rc = cli_fail(st);
done:
  eo_eval_result_free(r);
  eo_model_free(m);
  eo_model_free(ref);
  free(sets);
  free(names);
  free(names_buf);
  return rc;
}

int cmd_eval(int argc, char **argv) { return eval_command("eval", eval_help, argc, argv); }
