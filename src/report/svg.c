/* The report's plots as inline SVG, drawn directly (no plotting library): fixed-size viewBox, CSS-free
 * presentation attributes, text escaped. Values that are NaN/inf are never placed, so no coordinate
 * is ever "nan"; candidates that cannot be drawn are named in the caption instead. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

#define CHAR_W 6.6 /* approximate advance of a 12px sans-serif character, for label layout */

/* Drawable: finite and of a sane magnitude (a hand-edited 1e308 must not overflow pixel arithmetic). */
static bool ok(double v) { return isfinite(v) && fabs(v) < 1e12; }

typedef struct axis {
  double lo, hi, step;
  int dec;  /* decimals of tick labels */
  bool log; /* log10 scale: lo/hi are powers of ten, ticks at 1, 2, 5 x 10^k */
} axis;

/* Latencies spanning more than this ratio get a log axis, so one slow candidate does not squash the rest. */
#define LOG_RATIO 20.0

/* Round [lo, hi] out to "nice" ticks (1, 2, 5 x 10^k), about n of them. */
static axis nice_axis(double lo, double hi, int n) {
  axis a = {0};
  if (!(hi > lo)) {
    double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1.0;
    lo -= pad, hi += pad;
  }
  double raw = (hi - lo) / n, mag = pow(10, floor(log10(raw))), f = raw / mag;
  a.step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  a.lo = floor(lo / a.step) * a.step;
  a.hi = ceil(hi / a.step) * a.step;
  int d = (int)-floor(log10(a.step) + 1e-9);
  a.dec = d < 0 ? 0 : d > 6 ? 6 : d;
  return a;
}

static axis log_axis(double lo, double hi) {
  axis a = {0};
  a.log = true;
  /* widen to the nearest 1-2-5 values around [lo, hi] */
  double d = pow(10, floor(log10(lo)));
  a.lo = lo >= 5 * d ? 5 * d : lo >= 2 * d ? 2 * d : d;
  double D = pow(10, floor(log10(hi)));
  a.hi = hi <= D * 1.0001 ? D : hi <= 2 * D ? 2 * D : hi <= 5 * D ? 5 * D : 10 * D;
  if (!(a.hi > a.lo)) a.hi = a.lo * 10;
  return a;
}

/* positive finite values v[0..n) spread wider than LOG_RATIO -> log axis over them, else linear from 0 */
static axis latency_axis(double lo_pos, double hi, int n) {
  if (lo_pos > 0 && ok(lo_pos) && hi / lo_pos > LOG_RATIO) return log_axis(lo_pos, hi);
  return nice_axis(0, hi > 0 ? hi * 1.06 : 1, n);
}

static double map(const axis *a, double v, double p0, double p1) {
  double t = a->log ? (v > 0 ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) : 0)
                    : (v - a->lo) / (a->hi - a->lo);
  if (!(t >= -0.05)) t = -0.05; /* also NaN: keep every coordinate a finite number near the plot */
  if (t > 1.05) t = 1.05;
  return p0 + t * (p1 - p0);
}

/* Tick values of an axis into t[] (at most cap); returns the count. */
static int ticks(const axis *a, double *t, int cap) {
  int n = 0;
  if (a->log) {
    for (double d = pow(10, floor(log10(a->lo) + 1e-9)); d <= a->hi * 1.0001 && n < cap; d *= 10)
      for (int m = 0; m < 3 && n < cap; m++) {
        double v = d * (m == 0 ? 1 : m == 1 ? 2 : 5);
        if (v >= a->lo * 0.9999 && v <= a->hi * 1.0001) t[n++] = v;
      }
    return n;
  }
  for (double v = a->lo; v <= a->hi + a->step * 1e-6 && n < cap; v += a->step) t[n++] = v;
  return n;
}

static void svg_open(rp_buf *b, const char *id, int w, int h, const char *title) {
  rp_printf(b, "<figure id=\"%s\"><h3>%s</h3>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\" font-size=\"12\"><title>%s</title>\n",
            id, title, w, h, w, h, title);
}

static void text(rp_buf *b, double x, double y, const char *anchor, const char *attrs, const char *s) {
  rp_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y, anchor, attrs ? " " : "", attrs ? attrs : "");
  rp_esc(b, s);
  rp_puts(b, "</text>\n");
}

static void fmt_tick(char *buf, size_t cap, const axis *a, double v) {
  if (fabs(v) < 1e-12) v = 0;
  if (a->log) snprintf(buf, cap, "%g", v);
  else snprintf(buf, cap, "%.*f", a->dec, v);
}

static void x_axis(rp_buf *b, const axis *a, double x0, double x1, double ytop, double ybot, const char *label) {
  char t[32];
  double tv[64];
  int nt = ticks(a, tv, 64);
  for (int i = 0; i < nt; i++) {
    double v = tv[i], x = map(a, v, x0, x1);
    rp_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e7eb\"/>\n", x, ytop, x, ybot);
    fmt_tick(t, sizeof t, a, v);
    text(b, x, ybot + 15, "middle", "fill=\"#374151\"", t);
  }
  rp_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#374151\"/>\n", x0, ybot, x1, ybot);
  text(b, (x0 + x1) / 2, ybot + 33, "middle", "font-weight=\"600\"", label);
}

static void y_axis(rp_buf *b, const axis *a, double y0, double y1, double xl, double xr, const char *label) {
  char t[32];
  double tv[64];
  int nt = ticks(a, tv, 64);
  for (int i = 0; i < nt; i++) {
    double v = tv[i], y = map(a, v, y0, y1);
    rp_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e7eb\"/>\n", xl, y, xr, y);
    fmt_tick(t, sizeof t, a, v);
    text(b, xl - 6, y + 4, "end", "fill=\"#374151\"", t);
  }
  rp_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#374151\"/>\n", xl, y0, xl, y1);
  rp_printf(b, "<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\" font-weight=\"600\">",
            (y0 + y1) / 2);
  rp_esc(b, label);
  rp_puts(b, "</text>\n");
}

/* Legend of the status colours along the top edge. */
static void status_legend(rp_buf *b, double x, double y) {
  static const char *st[] = {"BASELINE", "ACCEPTED", "REJECTED", "NOT MEASURED"};
  for (int i = 0; i < 4; i++) {
    rp_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>\n", x, y - 9,
              rp_status_color(st[i]));
    text(b, x + 14, y, "start", NULL, st[i]);
    x += 26 + 8.0 * (double)strlen(st[i]); /* capitals are wider than CHAR_W */
  }
}

static bool plotted(const rp_cand *c) { return ok(c->metric) && ok(c->p50) && c->p50 >= 0; }

/* Names of the candidates a plot leaves out, for its caption. */
static void left_out(rp_buf *b, const rp_report *r, bool (*drawn)(const rp_cand *), const char *why) {
  int k = 0;
  for (int i = 0; i < r->num_cands; i++) {
    const rp_cand *c = &r->cands[i];
    if (drawn(c)) continue;
    if (!k++) rp_printf(b, " Not drawn (%s): ", why);
    else rp_puts(b, ", ");
    rp_esc(b, c->name);
    rp_puts(b, " (");
    rp_esc(b, c->status);
    rp_puts(b, ")");
  }
  if (k) rp_puts(b, ".");
}

typedef struct box {
  double x0, y0, x1, y1;
} box;

static bool overlaps(const box *a, const box *b) { return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1; }

void rp_svg_accuracy_latency(rp_buf *b, const rp_report *r) {
  const int W = 800, H = 440;
  const double L = 78, R = W - 30, T = 42, B = H - 52;
  double xmax = 0, xmin = INFINITY, ymin = INFINITY, ymax = -INFINITY;
  int n = 0;
  for (int i = 0; i < r->num_cands; i++) {
    const rp_cand *c = &r->cands[i];
    if (!plotted(c)) continue;
    n++;
    xmax = fmax(xmax, c->p50);
    if (c->p50 > 0) xmin = fmin(xmin, c->p50);
    ymin = fmin(ymin, c->metric), ymax = fmax(ymax, c->metric);
  }
  double thr = rp_floor_threshold(r);
  if (ok(thr) && n) ymin = fmin(ymin, thr), ymax = fmax(ymax, thr);
  const char *metric = r->metric ? r->metric : "accuracy";
  svg_open(b, "plot-accuracy-latency", W, H, "Accuracy vs latency");
  status_legend(b, L, 18);
  if (!n) {
    text(b, W / 2.0, H / 2.0, "middle", "fill=\"#6b7280\"", "no candidate has both an accuracy and a latency");
  } else {
    double pad = (ymax - ymin) * 0.08;
    if (!(pad > 0)) pad = fabs(ymax) > 0 ? fabs(ymax) * 0.02 : 0.01;
    axis ax = latency_axis(xmin, xmax * 1.02, 8), ay = nice_axis(ymin - pad, ymax + pad, 6);
    x_axis(b, &ax, L, R, T, B, ax.log ? "latency p50 (ms, log scale, host estimate)" : "latency p50 (ms, host estimate)");
    y_axis(b, &ay, B, T, L, R, metric);
    if (ok(thr)) {
      double y = map(&ay, thr, B, T);
      rp_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fee2e2\" opacity=\"0.6\"/>\n",
                L, y, R - L, B - y);
      rp_printf(b, "<line class=\"floor\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dc2626\" "
                   "stroke-width=\"2\" stroke-dasharray=\"7 4\"/>\n", L, y, R, y);
      char t[96];
      snprintf(t, sizeof t, "floor %.4f (below: rejected)", thr);
      text(b, R - 4, y - 5, "end", "fill=\"#b91c1c\" font-weight=\"600\"", t);
    }
    /* points first, then labels placed around them without overlapping each other */
    box placed[64];
    int np = 0;
    for (int i = 0; i < r->num_cands; i++) {
      const rp_cand *c = &r->cands[i];
      if (!plotted(c)) continue;
      double x = map(&ax, c->p50, L, R), y = map(&ay, c->metric, B, T);
      if (i == r->rec)
        rp_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"11\" fill=\"none\" stroke=\"#065f46\" stroke-width=\"2\"/>\n",
                  x, y);
      rp_printf(b, "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\" stroke=\"#fff\"><title>", x, y,
                rp_status_color(c->status));
      rp_esc(b, c->name);
      rp_printf(b, ": %.4f at %.3f ms</title></circle>\n", c->metric, c->p50);
      double rad = i == r->rec ? 12 : 6; /* the recommended point's ring */
      if (np < 64) placed[np++] = (box){x - rad, y - rad, x + rad, y + rad};
    }
    for (int i = 0; i < r->num_cands; i++) {
      const rp_cand *c = &r->cands[i];
      if (!plotted(c)) continue;
      double x = map(&ax, c->p50, L, R), y = map(&ay, c->metric, B, T);
      char lab[160];
      snprintf(lab, sizeof lab, "%s%s", c->name, i == r->rec ? " (recommended)" : "");
      double w = CHAR_W * (double)strlen(lab);
      double gap = i == r->rec ? 14 : 10;
      bool left = x + gap + w > R;
      double lx = left ? x - gap : x + gap, ly = y + 4;
      static const double dys[] = {0, 14, -14, 28, -28, 42, -42, 56, -56};
      for (size_t k = 0; k < sizeof dys / sizeof dys[0]; k++) {
        box bx = {left ? lx - w : lx, y + dys[k] - 9, left ? lx : lx + w, y + dys[k] + 4};
        bool clash = false;
        for (int q = 0; q < np && !clash; q++) clash = overlaps(&bx, &placed[q]);
        if (!clash || k + 1 == sizeof dys / sizeof dys[0]) {
          ly = y + dys[k] + 4;
          if (np < 64) placed[np++] = bx;
          break;
        }
      }
      text(b, lx, ly, left ? "end" : "start", i == r->rec ? "font-weight=\"700\"" : NULL, lab);
    }
  }
  rp_puts(b, "</svg><figcaption>Accuracy (");
  rp_esc(b, metric);
  rp_puts(b, ") against median latency per candidate; up and to the left is better. The dashed red line is the "
             "floor: candidates below it are rejected. The ringed point is the recommended candidate.");
  left_out(b, r, plotted, "no accuracy or latency measured");
  rp_puts(b, "</figcaption></figure>\n");
}

static bool has_size(const rp_cand *c) { return ok(c->file_bytes) && c->file_bytes >= 0; }

void rp_svg_size(rp_buf *b, const rp_report *r) {
  const int row = 28, W = 800;
  const double L = 170, R = W - 150, T = 40;
  const int H = (int)T + row * r->num_cands + 44;
  const double B = H - 44;
  double xmax = 0;
  for (int i = 0; i < r->num_cands; i++)
    if (has_size(&r->cands[i])) xmax = fmax(xmax, r->cands[i].file_bytes / (1024.0 * 1024.0));
  svg_open(b, "plot-size", W, H, "File size per candidate");
  status_legend(b, L, 18);
  axis ax = nice_axis(0, xmax > 0 ? xmax : 1, 8);
  x_axis(b, &ax, L, R, T, B, "file size (MB)");
  const rp_cand *base = &r->cands[r->base];
  for (int i = 0; i < r->num_cands; i++) {
    const rp_cand *c = &r->cands[i];
    double yc = T + row * (i + 0.5);
    text(b, L - 8, yc + 4, "end", i == r->rec ? "font-weight=\"700\"" : NULL, c->name);
    if (!has_size(c)) {
      text(b, L + 6, yc + 4, "start", "fill=\"#6b7280\"", "size unknown");
      continue;
    }
    double v = c->file_bytes / (1024.0 * 1024.0), x1 = map(&ax, v, L, R);
    rp_printf(b, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>", L,
              yc - row * 0.35, x1 - L, (int)(row * 0.7), rp_status_color(c->status));
    rp_esc(b, c->name);
    rp_printf(b, ": %.3f MB</title></rect>\n", v);
    char t[64];
    double q = rp_ratio(base->file_bytes, c->file_bytes);
    if (i != r->base && ok(q)) snprintf(t, sizeof t, "%.3f MB (%.2fx smaller)", v, q);
    else snprintf(t, sizeof t, "%.3f MB", v);
    text(b, x1 + 6, yc + 4, "start", NULL, t);
  }
  if (has_size(base)) {
    double x = map(&ax, base->file_bytes / (1024.0 * 1024.0), L, R);
    rp_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2563eb\" stroke-dasharray=\"4 3\"/>\n",
              x, T - 4, x, B);
  }
  rp_puts(b, "</svg><figcaption>File size on disk of each candidate (the dashed line marks the baseline). Sizes "
             "are known even for candidates that could not be measured.");
  left_out(b, r, has_size, "size missing from report.json");
  rp_puts(b, "</figcaption></figure>\n");
}

static bool has_latency(const rp_cand *c) {
  return c->num_samples > 0 || ok(c->p50) || ok(c->mean) || ok(c->min) || ok(c->max);
}

void rp_svg_latency(rp_buf *b, const rp_report *r) {
  const int row = 40, W = 800;
  const double L = 170, R = W - 40, T = 46;
  const int H = (int)T + row * r->num_cands + 46;
  const double B = H - 46;
  double xmax = 0, xmin = INFINITY;
  bool any_samples = false;
  for (int i = 0; i < r->num_cands; i++) {
    const rp_cand *c = &r->cands[i];
    double v[] = {c->mean, c->p50, c->p95, c->p99, c->min, c->max};
    for (int k = 0; k < 6; k++)
      if (ok(v[k])) xmax = fmax(xmax, v[k]);
    /* the log/linear choice looks at medians: a single slow outlier run should not switch it */
    if (ok(c->p50) && c->p50 > 0) xmin = fmin(xmin, c->p50);
    for (int k = 0; k < c->num_samples; k++)
      if (ok(c->samples[k])) xmax = fmax(xmax, c->samples[k]);
    any_samples |= c->num_samples > 0;
  }
  svg_open(b, "plot-latency", W, H, "Latency distribution per candidate");
  /* legend of the glyphs */
  double lx = L, ly = 18;
  rp_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#374151\"/>\n", lx, ly - 4, lx + 22, ly - 4);
  text(b, lx + 26, ly, "start", NULL, "min to max");
  lx += 110;
  rp_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"10\" fill=\"#9ca3af\" stroke=\"#374151\"/>\n", lx,
            ly - 9);
  text(b, lx + 26, ly, "start", NULL, "p50 to p95");
  lx += 110;
  rp_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111827\" stroke-width=\"2\"/>\n", lx + 4,
            ly - 11, lx + 4, ly + 1);
  text(b, lx + 12, ly, "start", NULL, "p99");
  lx += 60;
  rp_printf(b, "<path d=\"M%.1f %.1fl5 5l-5 5l-5 -5z\" fill=\"#f59e0b\" stroke=\"#111827\"/>\n", lx + 5, ly - 10);
  text(b, lx + 14, ly, "start", NULL, "mean");
  if (any_samples) {
    lx += 70;
    rp_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"10\" fill=\"#6b7280\" opacity=\"0.35\"/>\n", lx,
              ly - 9);
    text(b, lx + 10, ly, "start", NULL, "histogram of samples");
  }
  axis ax = latency_axis(xmin, xmax, 10);
  if (ax.log) { /* the log axis must also reach the fastest single runs */
    double lo = xmin;
    for (int i = 0; i < r->num_cands; i++) {
      const rp_cand *c = &r->cands[i];
      if (ok(c->min) && c->min > 0) lo = fmin(lo, c->min);
      for (int k = 0; k < c->num_samples; k++)
        if (ok(c->samples[k]) && c->samples[k] > 0) lo = fmin(lo, c->samples[k]);
    }
    ax = log_axis(lo, xmax);
  }
  x_axis(b, &ax, L, R, T, B,
         ax.log ? "latency per inference (ms, log scale, host estimate)" : "latency per inference (ms, host estimate)");
  for (int i = 0; i < r->num_cands; i++) {
    const rp_cand *c = &r->cands[i];
    double yc = T + row * (i + 0.5);
    const char *col = rp_status_color(c->status);
    if (i) rp_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#f3f4f6\"/>\n", L, T + row * i, R, T + row * i);
    text(b, L - 8, yc + 4, "end", i == r->rec ? "font-weight=\"700\"" : NULL, c->name);
    if (!has_latency(c)) {
      text(b, L + 6, yc + 4, "start", "fill=\"#6b7280\"", "not measured");
      continue;
    }
    if (c->num_samples > 0) { /* histogram over the shared axis, tallest bin = row height */
      enum { NB = 60 };
      int cnt[NB] = {0}, top = 0;
      for (int k = 0; k < c->num_samples; k++) {
        if (!ok(c->samples[k])) continue;
        int bin = (int)((map(&ax, c->samples[k], 0, 1)) * NB);
        bin = bin < 0 ? 0 : bin >= NB ? NB - 1 : bin;
        if (++cnt[bin] > top) top = cnt[bin];
      }
      double bw = (R - L) / NB, hmax = row - 8, ybase = yc + row / 2.0 - 3;
      for (int k = 0; k < NB; k++) {
        if (!cnt[k]) continue;
        double h = hmax * cnt[k] / top;
        rp_printf(b, "<rect class=\"hist\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                     "opacity=\"0.3\"/>\n", L + k * bw, ybase - h, bw - 0.5, h, col);
      }
    }
    if (ok(c->min) && ok(c->max)) {
      double x0 = map(&ax, c->min, L, R), x1 = map(&ax, c->max, L, R);
      rp_printf(b, "<path class=\"whisker\" d=\"M%.1f %.1fH%.1fM%.1f %.1fv10M%.1f %.1fv10\" stroke=\"#374151\" "
                   "fill=\"none\"/>\n", x0, yc, x1, x0, yc - 5, x1, yc - 5);
    }
    if (ok(c->p50) && ok(c->p95)) {
      double x0 = map(&ax, c->p50, L, R), x1 = map(&ax, c->p95, L, R);
      rp_printf(b, "<rect class=\"box\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\" fill=\"%s\" "
                   "fill-opacity=\"0.55\" stroke=\"#374151\"><title>", x0, yc - 7, fmax(x1 - x0, 1.0), col);
      rp_esc(b, c->name);
      rp_printf(b, ": p50 %.3f ms, p95 %.3f ms</title></rect>\n", c->p50, c->p95);
      rp_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111827\" stroke-width=\"2\"/>\n", x0,
                yc - 7, x0, yc + 7);
    }
    if (ok(c->p99)) {
      double x = map(&ax, c->p99, L, R);
      rp_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111827\" stroke-width=\"2\"/>\n", x,
                yc - 8, x, yc + 8);
    }
    if (ok(c->mean)) {
      double x = map(&ax, c->mean, L, R);
      rp_printf(b, "<path d=\"M%.1f %.1fl5 5l-5 5l-5 -5z\" fill=\"#f59e0b\" stroke=\"#111827\"/>\n", x, yc - 5);
    }
  }
  rp_puts(b, "</svg><figcaption>Latency per inference of each candidate: whiskers from min to max, the box from "
             "the median (thick left edge) to p95, a bar at p99, the diamond at the mean");
  rp_puts(b, any_samples ? "; shaded bars: histogram of the individual timed runs." : ".");
  rp_puts(b, " Host estimate, not the target device.");
  left_out(b, r, has_latency, "no latency measured");
  rp_puts(b, "</figcaption></figure>\n");
}
