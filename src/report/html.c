/* report.json -> one self-contained report.html (inline CSS + SVG, no scripts, nothing fetched). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgeopt/report.h"
#include "report/report_internal.h"

static const char *css =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#111827;"
    "background:#f3f4f6;margin:0}\n"
    "main{max-width:1200px;margin:0 auto;padding:20px 28px 40px;background:#fff}\n"
    "h1{font-size:24px;margin:6px 0 2px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #e5e7eb;"
    "padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}\n"
    ".sub{color:#4b5563;margin:0 0 14px}\n"
    ".verdict{display:flex;gap:18px;align-items:center;border-radius:8px;padding:14px 18px;margin:10px 0;"
    "border:2px solid}\n"
    ".verdict.pass{background:#ecfdf5;border-color:#16a34a}.verdict.fail{background:#fef2f2;border-color:#dc2626}"
    ".verdict.unknown{background:#f9fafb;border-color:#6b7280}\n"
    ".verdict .big{font-size:30px;font-weight:800;letter-spacing:1px;min-width:96px;text-align:center}\n"
    ".verdict.pass .big{color:#15803d}.verdict.fail .big{color:#b91c1c}\n"
    "table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}\n"
    "th,td{border:1px solid #d1d5db;padding:4px 8px;text-align:left;vertical-align:top}\n"
    "th{background:#f3f4f6}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "tr.rejected td{background:#fef2f2}tr.notmeasured td{background:#f9fafb;color:#4b5563}"
    "tr.failed td{background:#fee2e2}tr.recommended td{background:#ecfdf5}\n"
    ".badge{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:700;color:#fff;"
    "white-space:nowrap}\n"
    ".badge.baseline{background:#2563eb}.badge.accepted{background:#16a34a}.badge.rejected{background:#dc2626}"
    ".badge.notmeasured{background:#6b7280}.badge.failed{background:#7f1d1d}.badge.other{background:#6b7280}"
    ".badge.rec{background:#065f46}\n"
    "td.note{font-size:12px;max-width:360px;color:#374151}\n"
    ".good{color:#15803d}.bad{color:#b91c1c}\n"
    "figure{margin:14px 0 20px}figcaption{font-size:12px;color:#4b5563;max-width:760px}\n"
    "svg{font-family:inherit;background:#fff}\n"
    "code{font:12px/1.4 ui-monospace,'DejaVu Sans Mono',monospace;background:#f3f4f6;padding:1px 4px;"
    "border-radius:3px;word-break:break-all}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px}dt{font-weight:600}dd{margin:0}\n"
    ".label{display:inline-block;background:#fef3c7;border:1px solid #f59e0b;border-radius:4px;padding:0 6px;"
    "font-size:12px}\n"
    ".sqbar{display:inline-block;height:9px;background:#60a5fa;vertical-align:middle}\n"
    "footer{margin-top:30px;color:#6b7280;font-size:12px}\n";

static double mb(double bytes) { return bytes / (1024.0 * 1024.0); }

static const char *base_name(const char *path) {
  if (!path) return NULL;
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static const char *format_of(const rp_cand *c) {
  if (c->format && !strcmp(c->format, "onnx")) return "ONNX";
  if (c->format && !strcmp(c->format, "tflite")) return "TFLite";
  if (c->format) return c->format;
  const char *dot = c->file ? strrchr(c->file, '.') : NULL;
  if (dot && !strcmp(dot, ".onnx")) return "ONNX";
  if (dot && !strcmp(dot, ".tflite")) return "TFLite";
  return NULL;
}

static bool abs_floor(const rp_report *r) { return r->floor_kind && !strcmp(r->floor_kind, "absolute_points"); }
static const char *drop_unit(const rp_report *r) { return abs_floor(r) ? " pt" : "%"; }

static void badge(rp_buf *b, const char *status) {
  rp_printf(b, "<span class=\"badge %s\">", rp_status_class(status));
  rp_esc(b, status ? status : "?");
  rp_puts(b, "</span>");
}

/* Accuracy change as the user reads it: +x when the candidate is better (drop is positive when worse). */
static void acc_delta(rp_buf *b, const rp_report *r, double drop) {
  if (!isfinite(drop)) {
    rp_puts(b, "&mdash;");
    return;
  }
  double d = -drop;
  if (d == 0) d = 0; /* no "-0.000" */
  rp_printf(b, "%+.3f%s", d, drop_unit(r));
}

static void floor_text(rp_buf *b, const rp_report *r) {
  if (!isfinite(r->floor)) {
    rp_puts(b, "no floor recorded");
    return;
  }
  rp_printf(b, "at most %g%s %s drop of ", r->floor, abs_floor(r) ? " points" : "%",
            abs_floor(r) ? "absolute" : "relative");
  rp_esc(b, r->metric ? r->metric : "the metric");
  double t = rp_floor_threshold(r);
  if (isfinite(t)) rp_printf(b, " (threshold %.4f)", t);
}

/* ---- sections ---- */

static void verdict_banner(rp_buf *b, const rp_report *r) {
  const char *v = r->verdict;
  const char *cls = v && !strcmp(v, "PASS") ? "pass" : v && !strcmp(v, "FAIL") ? "fail" : "unknown";
  rp_printf(b, "<section class=\"verdict %s\" id=\"verdict\"><div class=\"big\">", cls);
  rp_esc(b, v ? v : "NO VERDICT");
  rp_puts(b, "</div><div>");
  const rp_cand *base = &r->cands[r->base];
  if (r->rec >= 0) {
    const rp_cand *c = &r->cands[r->rec];
    rp_puts(b, "<div><b>Recommended:</b> <b>");
    rp_esc(b, c->name);
    rp_puts(b, "</b>");
    if (c->precision) {
      rp_puts(b, " (");
      rp_esc(b, c->precision);
      rp_puts(b, ")");
    }
    rp_puts(b, "</div><div>");
    if (isfinite(c->drop)) {
      rp_puts(b, "Accuracy delta ");
      acc_delta(b, r, c->drop);
      if (isfinite(r->floor))
        rp_printf(b, " is %s the %g%s floor", c->drop <= r->floor ? "within" : "outside", r->floor, drop_unit(r));
      rp_puts(b, ". ");
    }
    double sp = rp_ratio(base->p50, c->p50), cr = rp_ratio(base->file_bytes, c->file_bytes);
    if (isfinite(sp)) rp_printf(b, "Speedup (p50): %.2fx. ", sp);
    if (isfinite(cr)) rp_printf(b, "Compression: %.2fx. ", cr);
    rp_puts(b, "</div>");
  } else {
    rp_puts(b, "<div><b>No candidate recommended</b>");
    if (r->recommended) {
      rp_puts(b, " (report.json names <code>");
      rp_esc(b, r->recommended);
      rp_puts(b, "</code>, which is not among its candidates)");
    }
    rp_puts(b, ".</div>");
  }
  if (r->recommended_reason) {
    rp_puts(b, "<div>");
    rp_esc(b, r->recommended_reason);
    rp_puts(b, "</div>");
  }
  if (r->num_warnings) {
    rp_puts(b, "<div class=\"bad\"><b>Warnings:</b><ul>");
    for (int i = 0; i < r->num_warnings; i++) rp_puts(b, "<li>"), rp_esc(b, r->warnings[i]), rp_puts(b, "</li>");
    rp_puts(b, "</ul></div>");
  }
  rp_puts(b, "<div class=\"sub\">Floor: ");
  floor_text(b, r);
  rp_puts(b, ". Latency and memory are a <span class=\"label\">host estimate</span>.</div></div></section>\n");
}

/* One row of the baseline-vs-recommended table. higher_better picks the word and the colour. */
static void summary_row(rp_buf *b, const char *what, double bv, double ov, const char *fmt, const char *unit,
                        bool higher_better, const char *better_word, const char *worse_word) {
  rp_printf(b, "<tr><td>%s</td><td class=\"n\">", what);
  rp_num(b, fmt, bv);
  if (isfinite(bv)) rp_puts(b, unit);
  rp_puts(b, "</td><td class=\"n\">");
  rp_num(b, fmt, ov);
  if (isfinite(ov)) rp_puts(b, unit);
  rp_puts(b, "</td><td class=\"n\">");
  double d = ov - bv;
  if (isfinite(d)) {
    if (d == 0) d = 0; /* no "-0.000" */
    char f2[16];
    snprintf(f2, sizeof f2, "%%+%s", fmt + 1); /* "%.3f" -> "%+.3f" */
    rp_printf(b, f2, d);
    rp_puts(b, unit);
  } else {
    rp_puts(b, "&mdash;");
  }
  rp_puts(b, "</td><td class=\"n\">");
  /* ratio >= 1 means "better" */
  double better = higher_better ? rp_ratio(ov, bv) : rp_ratio(bv, ov);
  double worse = higher_better ? rp_ratio(bv, ov) : rp_ratio(ov, bv);
  if (isfinite(better) && isfinite(worse) && bv > 0 && ov > 0) {
    if (better >= 1) rp_printf(b, "<span class=\"good\">%.2fx %s</span>", better, better_word);
    else rp_printf(b, "<span class=\"bad\">%.2fx %s</span>", worse, worse_word);
  } else {
    rp_puts(b, "&mdash;");
  }
  rp_puts(b, "</td></tr>\n");
}

static double memory_of(const rp_cand *c) {
  return isfinite(c->arena_bytes) && isfinite(c->constant_bytes) ? mb(c->arena_bytes + c->constant_bytes) : NAN;
}

static void summary(rp_buf *b, const rp_report *r) {
  const rp_cand *base = &r->cands[r->base];
  const rp_cand *o = r->rec >= 0 ? &r->cands[r->rec] : base;
  rp_puts(b, "<section id=\"summary\"><h2>Optimization Summary Report</h2>\n<p><b>Source</b>: ");
  const char *fmt = format_of(base);
  if (fmt) rp_esc(b, fmt), rp_puts(b, " ");
  rp_esc(b, base->precision);
  rp_puts(b, " (");
  rp_num(b, "%.3f MB", mb(base->file_bytes));
  rp_puts(b, ")<br><b>Target Device</b>: ");
  rp_esc(b, r->target ? r->target : "unknown");
  rp_puts(b, " (latency and memory below: ");
  rp_esc(b, r->bench_label ? r->bench_label : "host estimate, measured on this machine");
  rp_puts(b, ")<br><b>Optimization Pipeline</b>: profile baseline; candidates: ");
  for (int i = 0, k = 0; i < r->num_cands; i++) {
    if (i == r->base) continue;
    if (k++) rp_puts(b, ", ");
    rp_esc(b, r->cands[i].name);
  }
  rp_puts(b, "; benchmark; validate against the floor");
  if (r->rec >= 0 && r->rec != r->base) rp_puts(b, "; package <code>"), rp_esc(b, o->name), rp_puts(b, "</code>");
  rp_puts(b, "<br><b>Date</b>: ");
  rp_esc(b, r->date ? r->date : "unknown");
  if (r->task || r->data) {
    rp_puts(b, "<br><b>Task</b>: ");
    rp_esc(b, r->task ? r->task : "?");
    if (r->data) rp_puts(b, " on <code>"), rp_esc(b, r->data), rp_puts(b, "</code>");
    if (isfinite(r->limit) && r->limit > 0) rp_printf(b, " (first %.0f samples)", r->limit);
  }
  rp_puts(b, "</p>\n");
  if (r->rec < 0 || r->rec == r->base)
    rp_puts(b, "<p class=\"bad\">No optimized candidate was recommended: the baseline is compared with itself.</p>\n");

  rp_puts(b, "<h3>Baseline vs Optimized</h3>\n<table><thead><tr><th>Metric</th><th>Baseline</th><th>Optimized (");
  rp_esc(b, o->name);
  rp_puts(b, ")</th><th>Delta</th><th>Change</th></tr></thead><tbody>\n");
  summary_row(b, "File Size", mb(base->file_bytes), mb(o->file_bytes), "%.3f", " MB", false, "compression", "larger");
  summary_row(b, "Latency (mean)", base->mean, o->mean, "%.3f", " ms", false, "faster", "slower");
  summary_row(b, "Latency (P95)", base->p95, o->p95, "%.3f", " ms", false, "faster", "slower");
  summary_row(b, "Memory (arena + constants)", memory_of(base), memory_of(o), "%.3f", " MB", false, "smaller",
              "larger");
  rp_buf name = {0};
  rp_puts(&name, "Accuracy (");
  rp_esc(&name, r->metric ? r->metric : "metric");
  rp_puts(&name, ")");
  /* accuracy: values, then the change in the floor's unit and the floor status */
  rp_printf(b, "<tr><td>%s</td><td class=\"n\">", name.s ? name.s : "Accuracy");
  free(name.s);
  rp_num(b, "%.4f", base->metric);
  rp_puts(b, "</td><td class=\"n\">");
  rp_num(b, "%.4f", o->metric);
  rp_puts(b, "</td><td class=\"n\">");
  acc_delta(b, r, o->drop);
  rp_puts(b, "</td><td class=\"n\">");
  if (isfinite(o->drop) && isfinite(r->floor))
    rp_puts(b, o->drop <= r->floor ? "<span class=\"good\">within floor</span>" : "<span class=\"bad\">outside floor</span>");
  else rp_puts(b, "&mdash;");
  rp_puts(b, "</td></tr>\n");
  summary_row(b, "Throughput", base->throughput, o->throughput, "%.1f", " /s", true, "higher", "lower");
  rp_puts(b, "</tbody></table>\n<p class=\"sub\">Latency: ");
  if (isfinite(r->iterations)) rp_printf(b, "%.0f timed iterations", r->iterations);
  else rp_puts(b, "timed iterations");
  if (isfinite(r->warmup)) rp_printf(b, " after %.0f warmup", r->warmup);
  rp_puts(b, ", only inference timed; host estimate, not the target device. Memory: the runtime's planned arena "
             "plus constants.");
  if (isfinite(r->peak_rss_bytes)) rp_printf(b, " Process peak RSS over the whole run: %.1f MB.", mb(r->peak_rss_bytes));
  rp_puts(b, "</p></section>\n");
}

static void tradeoff(rp_buf *b, const rp_report *r) {
  const rp_cand *base = &r->cands[r->base];
  rp_puts(b, "<section id=\"tradeoff\"><h2>Optimization Tradeoff Analysis");
  if (r->source_path) rp_puts(b, ": "), rp_esc(b, base_name(r->source_path));
  rp_puts(b, "</h2>\n<table><thead><tr><th>Variant</th><th>Format</th><th>Precision</th><th>Size (MB)</th>"
             "<th>Latency mean (ms)</th><th>P50 / P95 / P99 (ms)</th><th>Accuracy</th><th>Speedup (P50)</th>"
             "<th>Acc. Delta</th><th>SQNR (dB)</th><th>Status</th><th>Note</th></tr></thead><tbody>\n");
  for (int i = 0; i < r->num_cands; i++) {
    const rp_cand *c = &r->cands[i];
    rp_printf(b, "<tr class=\"%s%s\"><td><b>", rp_status_class(c->status), i == r->rec ? " recommended" : "");
    rp_esc(b, c->name);
    rp_puts(b, "</b>");
    if (c->runtime) rp_puts(b, "<br><small>"), rp_esc(b, c->runtime), rp_puts(b, "</small>");
    if (c->resumed) rp_puts(b, "<br><small>(resumed from an earlier run)</small>");
    rp_puts(b, "</td><td>");
    const char *f = format_of(c);
    if (f) rp_esc(b, f);
    else rp_puts(b, "&mdash;");
    rp_puts(b, "</td><td>");
    if (c->precision) rp_esc(b, c->precision);
    else rp_puts(b, "&mdash;");
    rp_puts(b, "</td><td class=\"n\">");
    rp_num(b, "%.3f", mb(c->file_bytes));
    rp_puts(b, "</td><td class=\"n\">");
    rp_num(b, "%.3f", c->mean);
    rp_puts(b, "</td><td class=\"n\">");
    if (isfinite(c->p50) || isfinite(c->p95) || isfinite(c->p99)) {
      rp_num(b, "%.3f", c->p50), rp_puts(b, " / "), rp_num(b, "%.3f", c->p95), rp_puts(b, " / ");
      rp_num(b, "%.3f", c->p99);
    } else {
      rp_puts(b, "&mdash;");
    }
    rp_puts(b, "</td><td class=\"n\">");
    rp_num(b, "%.4f", c->metric);
    rp_puts(b, "</td><td class=\"n\">");
    rp_num(b, "%.2fx", rp_ratio(base->p50, c->p50));
    rp_puts(b, "</td><td class=\"n\">");
    acc_delta(b, r, c->drop);
    rp_puts(b, "</td><td class=\"n\">");
    if (isinf(c->sqnr_db) && c->sqnr_db > 0) rp_puts(b, "&infin;");
    else rp_num(b, "%.2f", c->sqnr_db);
    rp_puts(b, "</td><td>");
    badge(b, c->status);
    if (i == r->rec) rp_puts(b, " <span class=\"badge rec\">recommended</span>");
    rp_puts(b, "</td><td class=\"note\">");
    if (c->note) rp_esc(b, c->note);
    rp_puts(b, "</td></tr>\n");
  }
  rp_puts(b, "</tbody></table>\n");
  if (r->rec >= 0 && r->rec != r->base) {
    const rp_cand *c = &r->cands[r->rec];
    rp_puts(b, "<p><b>Recommendation</b>: ");
    rp_esc(b, c->name);
    double sp = rp_ratio(base->p50, c->p50);
    if (isfinite(sp)) rp_printf(b, " provides %.2fx speedup (median latency)", sp);
    if (isfinite(c->drop)) rp_puts(b, " with an accuracy delta of "), acc_delta(b, r, c->drop);
    if (r->metric) rp_puts(b, " ("), rp_esc(b, r->metric), rp_puts(b, ")");
    rp_puts(b, ".</p>\n");
  }
  rp_puts(b, "<p class=\"sub\">Accuracy delta: candidate minus baseline (negative = accuracy lost), ");
  rp_puts(b, abs_floor(r) ? "in points" : "relative, in percent");
  rp_puts(b, ". SQNR: the candidate's output against the FP32 model's, where measured.</p></section>\n");
}

static void sqnr_tables(rp_buf *b, const rp_report *r) {
  int any = 0;
  for (int i = 0; i < r->num_cands; i++) any |= r->cands[i].num_layers > 0;
  if (!any) return;
  rp_puts(b, "<section id=\"sqnr\"><h2>Per-layer SQNR</h2>\n<p class=\"sub\">Signal-to-quantization-noise ratio of "
             "each layer's output against the FP32 model on calibration data, worst first (higher is better; "
             "each 6 dB is about one bit). The worst layers are the first to keep in float.</p>\n");
  for (int i = 0; i < r->num_cands; i++) {
    const rp_cand *c = &r->cands[i];
    if (!c->num_layers) continue;
    double top = 0;
    for (int k = 0; k < c->num_layers; k++)
      if (isfinite(c->layers[k].sqnr_db) && c->layers[k].sqnr_db > top) top = c->layers[k].sqnr_db;
    rp_puts(b, "<h3>");
    rp_esc(b, c->name);
    rp_puts(b, " ");
    badge(b, c->status);
    rp_printf(b, " <small>(%d layers)</small></h3>\n<table><thead><tr><th>#</th><th>Node</th><th>Op</th>"
                 "<th>SQNR (dB)</th><th></th></tr></thead><tbody>\n", c->num_layers);
    for (int k = 0; k < c->num_layers; k++) {
      const rp_layer *l = &c->layers[k];
      rp_printf(b, "<tr><td class=\"n\">%d</td><td><code>", k + 1);
      rp_esc(b, l->node);
      rp_puts(b, "</code></td><td>");
      if (l->op) rp_esc(b, l->op);
      rp_puts(b, "</td><td class=\"n\">");
      if (isinf(l->sqnr_db) && l->sqnr_db > 0) rp_puts(b, "&infin; (exact)");
      else rp_num(b, "%.2f", l->sqnr_db);
      rp_puts(b, "</td><td>");
      double w = isinf(l->sqnr_db) && l->sqnr_db > 0 ? 160.0 : isfinite(l->sqnr_db) && top > 0 ? 160.0 * l->sqnr_db / top : 0;
      if (w > 0) rp_printf(b, "<span class=\"sqbar\" style=\"width:%.0fpx\"></span>", w);
      rp_puts(b, "</td></tr>\n");
    }
    rp_puts(b, "</tbody></table>\n");
  }
  rp_puts(b, "</section>\n");
}

static void plots(rp_buf *b, const rp_report *r) {
  rp_puts(b, "<section id=\"plots\"><h2>Plots</h2>\n");
  rp_svg_accuracy_latency(b, r);
  rp_svg_size(b, r);
  rp_svg_latency(b, r);
  rp_puts(b, "</section>\n");
}

static void next_steps(rp_buf *b, const rp_report *r) {
  if (!r->num_next_steps) return;
  rp_puts(b, "<section id=\"next\"><h2>Next steps</h2>\n<ul>\n");
  for (int i = 0; i < r->num_next_steps; i++) rp_puts(b, "<li>"), rp_esc(b, r->next_steps[i]), rp_puts(b, "</li>\n");
  rp_puts(b, "</ul></section>\n");
}

static void dt_code(rp_buf *b, const char *k, const char *v) {
  rp_printf(b, "<dt>%s</dt><dd>", k);
  if (v) rp_puts(b, "<code>"), rp_esc(b, v), rp_puts(b, "</code>");
  else rp_puts(b, "&mdash;");
  rp_puts(b, "</dd>\n");
}

static void provenance(rp_buf *b, const rp_report *r) {
  rp_puts(b, "<section id=\"provenance\"><h2>Provenance</h2>\n<dl>\n");
  dt_code(b, "Source model", r->source_path);
  dt_code(b, "Source sha256", r->source_sha256);
  rp_puts(b, "<dt>Source unchanged</dt><dd>");
  rp_puts(b, r->source_unchanged < 0 ? "&mdash;" : r->source_unchanged ? "yes (sha256 checked before and after)" : "<b class=\"bad\">NO</b>");
  rp_puts(b, "</dd>\n");
  dt_code(b, "Command line", r->command_line);
  dt_code(b, "Date", r->date);
  dt_code(b, "edgeopt", r->version);
  dt_code(b, "Target", r->target);
  rp_puts(b, "<dt>Benchmark</dt><dd><span class=\"label\">host estimate</span> ");
  rp_esc(b, r->bench_label);
  rp_puts(b, "</dd>\n");
  for (int i = 0; i < r->num_cands; i++) {
    const rp_cand *c = &r->cands[i];
    if (!c->file) continue;
    rp_puts(b, "<dt>File: ");
    rp_esc(b, c->name);
    rp_puts(b, "</dt><dd><code>");
    rp_esc(b, c->file);
    rp_puts(b, "</code>");
    if (c->file_sha256) rp_puts(b, " sha256 <code>"), rp_esc(b, c->file_sha256), rp_puts(b, "</code>");
    if (c->derived_from) rp_puts(b, " from "), rp_esc(b, c->derived_from);
    rp_puts(b, "</dd>\n");
  }
  rp_puts(b, "</dl></section>\n");
}

static eo_status render(const rp_report *r, rp_buf *b) {
  const char *model = r->source_path ? base_name(r->source_path) : r->cands[r->base].name;
  rp_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Model Optimization Report: ");
  rp_esc(b, model);
  rp_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<h1>Model Optimization Report: ", css);
  rp_esc(b, model);
  rp_puts(b, "</h1>\n<p class=\"sub\">edgeopt ");
  rp_esc(b, r->version ? r->version : "?");
  rp_puts(b, " &middot; ");
  rp_esc(b, r->date ? r->date : "date unknown");
  rp_puts(b, " &middot; target ");
  rp_esc(b, r->target ? r->target : "unknown");
  rp_puts(b, " &middot; <span class=\"label\">host estimate</span></p>\n");
  verdict_banner(b, r);
  summary(b, r);
  tradeoff(b, r);
  plots(b, r);
  sqnr_tables(b, r);
  next_steps(b, r);
  provenance(b, r);
  rp_puts(b, "<footer>Generated by <code>edgeopt report</code> from report.json (schema_version 1). "
             "Self-contained: no scripts, no external resources.</footer>\n</main>\n</body>\n</html>\n");
  return b->oom ? eo_error(EO_ERR_NOMEM, "out of memory rendering the report") : EO_OK;
}

eo_status eo_report_write_html(const char *report_json_path, const char *html_path) {
  if (!report_json_path || !html_path) return eo_error(EO_ERR_INVALID, "eo_report_write_html: NULL path");
  rp_report r;
  eo_status st = rp_report_load(report_json_path, &r);
  if (!st) {
    rp_buf b = {0};
    st = render(&r, &b);
    if (!st) st = eo_write_file_atomic(html_path, b.s, b.len);
    free(b.s);
  }
  rp_report_free(&r);
  return st;
}
