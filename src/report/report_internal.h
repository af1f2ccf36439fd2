/* The report stage's internals: report.json parsed into plain structs (strings borrowed from the
 * cJSON tree, numbers NaN when null or absent), an append-only text buffer, and the SVG plots. */
#ifndef EO_REPORT_INTERNAL_H
#define EO_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/core.h"

typedef struct rp_layer {
  const char *node, *op;
  double sqnr_db;
} rp_layer;

typedef struct rp_cand {
  const char *name, *precision, *file, *status, *note, *runtime, *format, *file_sha256, *derived_from;
  bool measured, resumed;
  double file_bytes, params, flops, metric, drop, sqnr_db;
  double mean, p50, p95, p99, min, max; /* latency, ms */
  double throughput, arena_bytes, constant_bytes;
  double *samples; /* latency_samples_ms, finite values only; owned */
  int num_samples;
  rp_layer *layers; /* layer_sqnr, in file order (worst first); owned */
  int num_layers;
} rp_cand;

typedef struct rp_report {
  cJSON *root;
  const char *json_path;
  const char *version, *date, *command_line, *source_path, *source_sha256, *target, *task, *data, *metric;
  const char *floor_kind, *bench_label, *recommended, *verdict, *recommended_reason;
  int source_unchanged; /* -1 unknown */
  double limit, floor, warmup, iterations, peak_rss_bytes;
  rp_cand *cands;
  int num_cands;
  int base;      /* index of the baseline */
  int rec;       /* index of the recommended candidate, -1 if none */
  const char **next_steps, **warnings;
  int num_next_steps, num_warnings;
} rp_report;

/* Parses report.json; on failure the message names the file and the key. rp_report_free is safe on a zeroed struct. */
eo_status rp_report_load(const char *json_path, rp_report *r);
void rp_report_free(rp_report *r);

/* a / b when both are finite, b > 0 and the quotient is finite; NaN otherwise. */
double rp_ratio(double a, double b);
/* Metric value at the floor (NaN if the baseline metric or the floor is unknown). */
double rp_floor_threshold(const rp_report *r);
/* CSS class / colour of a status: "baseline", "accepted", "rejected", "notmeasured", "failed", "other". */
const char *rp_status_class(const char *status);
const char *rp_status_color(const char *status);

/* Growing text buffer; on allocation failure `oom` is set and further writes are dropped. */
typedef struct rp_buf {
  char *s;
  size_t len, cap;
  bool oom;
} rp_buf;

void rp_puts(rp_buf *b, const char *s);
void rp_printf(rp_buf *b, const char *fmt, ...) EO_PRINTF(2, 3);
/* Appends s with & < > " ' escaped (NULL appends nothing). */
void rp_esc(rp_buf *b, const char *s);
/* Appends v with printf format fmt, or an em dash when v is NaN/inf, so "nan" is never printed. */
void rp_num(rp_buf *b, const char *fmt, double v);

/* The plots: each appends a <figure> with one inline <svg> and its caption. */
void rp_svg_accuracy_latency(rp_buf *b, const rp_report *r);
void rp_svg_size(rp_buf *b, const rp_report *r);
void rp_svg_latency(rp_buf *b, const rp_report *r);

#endif
