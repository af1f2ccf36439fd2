/* report.json (schema_version 1, written by src/pipeline/optimize.c) -> rp_report. Only the keys the
 * HTML needs are read; every one of them is type-checked so a hand-edited or truncated file fails
 * with the key's path instead of rendering garbage. null and absent numbers become NaN. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

#define RP_SCHEMA_VERSION 1

static const char *type_name(const cJSON *v) {
  if (!v) return "nothing";
  if (cJSON_IsNull(v)) return "null";
  if (cJSON_IsBool(v)) return "a boolean";
  if (cJSON_IsNumber(v)) return "a number";
  if (cJSON_IsString(v)) return "a string";
  if (cJSON_IsArray(v)) return "an array";
  if (cJSON_IsObject(v)) return "an object";
  return "an unknown value";
}

/* ctx is the path of the object holding key ("" for the top level, "candidates[2]", ...). */
static eo_status bad_key(const rp_report *r, const char *ctx, const char *key, const char *want, const cJSON *v) {
  return eo_error(EO_ERR_INVALID, "%s: key '%s%s%s': expected %s, found %s", r->json_path, ctx, *ctx ? "." : "", key,
                  want, type_name(v));
}

static eo_status get_str(const rp_report *r, const cJSON *o, const char *ctx, const char *key, bool required,
                         const char **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  *out = NULL;
  if (cJSON_IsString(v)) {
    *out = v->valuestring;
    return EO_OK;
  }
  if (!required && (!v || cJSON_IsNull(v))) return EO_OK;
  return bad_key(r, ctx, key, required ? "a string" : "a string or null", v);
}

static eo_status get_num(const rp_report *r, const cJSON *o, const char *ctx, const char *key, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  *out = NAN;
  if (cJSON_IsNumber(v)) {
    *out = v->valuedouble;
    return EO_OK;
  }
  if (!v || cJSON_IsNull(v)) return EO_OK;
  /* JSON has no inf: optimize.c writes a lossless layer's SQNR as the string "inf" */
  if (cJSON_IsString(v)) {
    if (!strcmp(v->valuestring, "inf")) *out = INFINITY;
    else if (!strcmp(v->valuestring, "-inf")) *out = -INFINITY;
    else if (strcmp(v->valuestring, "nan") != 0) return bad_key(r, ctx, key, "a number or null", v);
    return EO_OK;
  }
  return bad_key(r, ctx, key, "a number or null", v);
}

static eo_status get_obj(const rp_report *r, const cJSON *o, const char *ctx, const char *key, const cJSON **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  *out = NULL;
  if (cJSON_IsObject(v)) {
    *out = v;
    return EO_OK;
  }
  if (!v || cJSON_IsNull(v)) return EO_OK;
  return bad_key(r, ctx, key, "an object or null", v);
}

static eo_status get_arr(const rp_report *r, const cJSON *o, const char *ctx, const char *key, const cJSON **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  *out = NULL;
  if (cJSON_IsArray(v)) {
    *out = v;
    return EO_OK;
  }
  if (!v || cJSON_IsNull(v)) return EO_OK;
  return bad_key(r, ctx, key, "an array or null", v);
}

static eo_status load_candidate(rp_report *r, const cJSON *j, int i, rp_cand *c) {
  char ctx[64], sub[96];
  snprintf(ctx, sizeof ctx, "candidates[%d]", i);
  if (!cJSON_IsObject(j))
    return eo_error(EO_ERR_INVALID, "%s: key '%s': expected an object, found %s", r->json_path, ctx, type_name(j));
  eo_status st;
  if ((st = get_str(r, j, ctx, "name", true, &c->name)) || (st = get_str(r, j, ctx, "status", true, &c->status)) ||
      (st = get_str(r, j, ctx, "precision", false, &c->precision)) ||
      (st = get_str(r, j, ctx, "file", false, &c->file)) || (st = get_str(r, j, ctx, "note", false, &c->note)) ||
      (st = get_str(r, j, ctx, "runtime", false, &c->runtime)) ||
      (st = get_str(r, j, ctx, "format", false, &c->format)) ||
      (st = get_num(r, j, ctx, "file_bytes", &c->file_bytes)) || (st = get_num(r, j, ctx, "params", &c->params)) ||
      (st = get_num(r, j, ctx, "flops", &c->flops)) || (st = get_num(r, j, ctx, "metric", &c->metric)) ||
      (st = get_num(r, j, ctx, "drop", &c->drop)) || (st = get_num(r, j, ctx, "sqnr_db", &c->sqnr_db)) ||
      (st = get_num(r, j, ctx, "throughput_per_s", &c->throughput)) ||
      (st = get_num(r, j, ctx, "arena_bytes", &c->arena_bytes)) ||
      (st = get_num(r, j, ctx, "constant_bytes", &c->constant_bytes)) ||
      (st = get_str(r, j, ctx, "file_sha256", false, &c->file_sha256)) ||
      (st = get_str(r, j, ctx, "derived_from", false, &c->derived_from)))
    return st;
  if (c->runtime && !*c->runtime) c->runtime = NULL;
  if (c->format && !*c->format) c->format = NULL;
  const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "resumed");
  if (rs && !cJSON_IsBool(rs) && !cJSON_IsNull(rs)) return bad_key(r, ctx, "resumed", "a boolean", rs);
  c->resumed = cJSON_IsTrue(rs);
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "measured");
  if (m && !cJSON_IsBool(m) && !cJSON_IsNull(m)) return bad_key(r, ctx, "measured", "a boolean", m);
  c->measured = m ? cJSON_IsTrue(m) : isfinite(c->metric);

  const cJSON *lat;
  if ((st = get_obj(r, j, ctx, "latency_ms", &lat))) return st;
  c->mean = c->p50 = c->p95 = c->p99 = c->min = c->max = NAN;
  if (lat) {
    snprintf(sub, sizeof sub, "%s.latency_ms", ctx);
    if ((st = get_num(r, lat, sub, "mean", &c->mean)) || (st = get_num(r, lat, sub, "p50", &c->p50)) ||
        (st = get_num(r, lat, sub, "p95", &c->p95)) || (st = get_num(r, lat, sub, "p99", &c->p99)) ||
        (st = get_num(r, lat, sub, "min", &c->min)) || (st = get_num(r, lat, sub, "max", &c->max)))
      return st;
  }

  const cJSON *a;
  if ((st = get_arr(r, j, ctx, "latency_samples_ms", &a))) return st;
  if (a) {
    int n = cJSON_GetArraySize(a), k = 0;
    if (n > 0 && !(c->samples = eo_calloc((size_t)n, sizeof *c->samples)))
      return eo_error(EO_ERR_NOMEM, "out of memory");
    const cJSON *v;
    int idx = 0;
    cJSON_ArrayForEach(v, a) {
      if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) c->samples[k++] = v->valuedouble;
      else if (!cJSON_IsNull(v)) {
        snprintf(sub, sizeof sub, "latency_samples_ms[%d]", idx);
        return bad_key(r, ctx, sub, "a number", v);
      }
      idx++;
    }
    c->num_samples = k;
  }

  if ((st = get_arr(r, j, ctx, "layer_sqnr", &a))) return st;
  if (a) {
    int n = cJSON_GetArraySize(a), k = 0;
    if (n > 0 && !(c->layers = eo_calloc((size_t)n, sizeof *c->layers))) return eo_error(EO_ERR_NOMEM, "out of memory");
    const cJSON *v;
    cJSON_ArrayForEach(v, a) {
      snprintf(sub, sizeof sub, "%s.layer_sqnr[%d]", ctx, k);
      if (!cJSON_IsObject(v))
        return eo_error(EO_ERR_INVALID, "%s: key '%s': expected an object, found %s", r->json_path, sub, type_name(v));
      rp_layer *l = &c->layers[k++];
      if ((st = get_str(r, v, sub, "node", true, &l->node)) || (st = get_str(r, v, sub, "op", false, &l->op)) ||
          (st = get_num(r, v, sub, "sqnr_db", &l->sqnr_db)))
        return st;
    }
    c->num_layers = k;
  }
  return EO_OK;
}

/* A top-level array of strings (NULL a: nothing). */
static eo_status str_list(const rp_report *r, const cJSON *a, const char *key, const char ***out, int *n_out) {
  if (!a) return EO_OK;
  int n = cJSON_GetArraySize(a), k = 0;
  if (n > 0 && !(*out = eo_calloc((size_t)n, sizeof **out))) return eo_error(EO_ERR_NOMEM, "out of memory");
  const cJSON *v;
  cJSON_ArrayForEach(v, a) {
    if (!cJSON_IsString(v)) {
      char sub[48];
      snprintf(sub, sizeof sub, "%s[%d]", key, k);
      return bad_key(r, "", sub, "a string", v);
    }
    (*out)[k++] = v->valuestring;
    *n_out = k;
  }
  return EO_OK;
}

eo_status rp_report_load(const char *json_path, rp_report *r) {
  memset(r, 0, sizeof *r);
  r->json_path = json_path;
  r->rec = -1;
  r->source_unchanged = -1;
  void *text = NULL;
  size_t size = 0;
  eo_status st = eo_read_file(json_path, &text, &size);
  if (st) return st;
  r->root = cJSON_ParseWithLength(text, size);
  if (!r->root) {
    const char *at = cJSON_GetErrorPtr();
    long off = at && at >= (const char *)text && at <= (const char *)text + size ? (long)(at - (const char *)text) : -1;
    free(text);
    if (off >= 0) return eo_error(EO_ERR_PARSE, "%s: not valid JSON (error near byte %ld)", json_path, off);
    return eo_error(EO_ERR_PARSE, "%s: not valid JSON", json_path);
  }
  free(text);
  const cJSON *j = r->root;
  if (!cJSON_IsObject(j))
    return eo_error(EO_ERR_INVALID, "%s: expected a JSON object at the top level, found %s", json_path, type_name(j));

  const cJSON *sv = cJSON_GetObjectItemCaseSensitive(j, "schema_version");
  if (!cJSON_IsNumber(sv)) return bad_key(r, "", "schema_version", "a number", sv);
  if (sv->valuedouble != RP_SCHEMA_VERSION)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: key 'schema_version': this edgeopt reads version %d, found %g", json_path,
                    RP_SCHEMA_VERSION, sv->valuedouble);

  const cJSON *src, *fl, *bm, *cands, *steps;
  if ((st = get_str(r, j, "", "edgeopt_version", false, &r->version)) ||
      (st = get_str(r, j, "", "date", false, &r->date)) ||
      (st = get_str(r, j, "", "command_line", false, &r->command_line)) ||
      (st = get_str(r, j, "", "target", false, &r->target)) || (st = get_str(r, j, "", "task", false, &r->task)) ||
      (st = get_str(r, j, "", "data", false, &r->data)) || (st = get_str(r, j, "", "metric", false, &r->metric)) ||
      (st = get_str(r, j, "", "recommended", false, &r->recommended)) ||
      (st = get_str(r, j, "", "verdict", false, &r->verdict)) ||
      (st = get_str(r, j, "", "recommended_reason", false, &r->recommended_reason)) ||
      (st = get_num(r, j, "", "limit", &r->limit)) || (st = get_num(r, j, "", "peak_rss_bytes", &r->peak_rss_bytes)) ||
      (st = get_obj(r, j, "", "source", &src)) || (st = get_obj(r, j, "", "floor", &fl)) ||
      (st = get_obj(r, j, "", "benchmark", &bm)) || (st = get_arr(r, j, "", "next_steps", &steps)))
    return st;
  r->floor = r->warmup = r->iterations = NAN;
  if (src) {
    if ((st = get_str(r, src, "source", "path", false, &r->source_path)) ||
        (st = get_str(r, src, "source", "sha256", false, &r->source_sha256)))
      return st;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(src, "unchanged");
    if (u && !cJSON_IsBool(u) && !cJSON_IsNull(u)) return bad_key(r, "source", "unchanged", "a boolean", u);
    if (cJSON_IsBool(u)) r->source_unchanged = cJSON_IsTrue(u);
  }
  if (fl && ((st = get_num(r, fl, "floor", "value", &r->floor)) ||
             (st = get_str(r, fl, "floor", "kind", false, &r->floor_kind))))
    return st;
  if (bm && ((st = get_str(r, bm, "benchmark", "label", false, &r->bench_label)) ||
             (st = get_num(r, bm, "benchmark", "warmup", &r->warmup)) ||
             (st = get_num(r, bm, "benchmark", "iterations", &r->iterations))))
    return st;
  if ((st = str_list(r, steps, "next_steps", &r->next_steps, &r->num_next_steps))) return st;
  const cJSON *warn;
  if ((st = get_arr(r, j, "", "warnings", &warn)) ||
      (st = str_list(r, warn, "warnings", &r->warnings, &r->num_warnings)))
    return st;

  cands = cJSON_GetObjectItemCaseSensitive(j, "candidates");
  if (!cJSON_IsArray(cands) || cJSON_GetArraySize(cands) == 0)
    return bad_key(r, "", "candidates", "a non-empty array", cJSON_IsArray(cands) ? NULL : cands);
  int n = cJSON_GetArraySize(cands);
  if (!(r->cands = eo_calloc((size_t)n, sizeof *r->cands))) return eo_error(EO_ERR_NOMEM, "out of memory");
  const cJSON *v;
  int i = 0;
  r->base = -1;
  cJSON_ArrayForEach(v, cands) {
    r->num_cands = i + 1; /* so rp_report_free sees what this one allocated */
    if ((st = load_candidate(r, v, i, &r->cands[i]))) return st;
    if (r->base < 0 && !strcmp(r->cands[i].status, "BASELINE")) r->base = i;
    i++;
  }
  if (r->base < 0) /* older files: the first candidate is the untouched model */
    for (i = 0; i < n && r->base < 0; i++)
      if (!strcmp(r->cands[i].name, "baseline")) r->base = i;
  if (r->base < 0) r->base = 0;
  if (r->recommended)
    for (i = 0; i < n; i++)
      if (!strcmp(r->cands[i].name, r->recommended)) r->rec = i;
  return EO_OK;
}

void rp_report_free(rp_report *r) {
  for (int i = 0; i < r->num_cands; i++) {
    free(r->cands[i].samples);
    free(r->cands[i].layers);
  }
  free(r->cands);
  free(r->next_steps);
  free(r->warnings);
  cJSON_Delete(r->root);
  memset(r, 0, sizeof *r);
}

double rp_ratio(double a, double b) {
  double q = isfinite(a) && isfinite(b) && b > 0 ? a / b : NAN;
  return isfinite(q) ? q : NAN;
}

double rp_floor_threshold(const rp_report *r) {
  double b = r->cands[r->base].metric;
  if (!isfinite(b) || !isfinite(r->floor)) return NAN;
  /* optimize.c's drop: absolute_points = (base - m) * 100, relative_percent = (base - m) / base * 100 */
  if (r->floor_kind && !strcmp(r->floor_kind, "absolute_points")) return b - r->floor / 100.0;
  return b * (1.0 - r->floor / 100.0);
}

const char *rp_status_class(const char *s) {
  if (!s) return "other";
  if (!strcmp(s, "BASELINE")) return "baseline";
  if (!strcmp(s, "ACCEPTED")) return "accepted";
  if (!strcmp(s, "REJECTED")) return "rejected";
  if (!strcmp(s, "NOT MEASURED")) return "notmeasured";
  if (!strcmp(s, "FAILED")) return "failed";
  return "other";
}

const char *rp_status_color(const char *s) {
  const char *c = rp_status_class(s);
  if (!strcmp(c, "baseline")) return "#2563eb";
  if (!strcmp(c, "accepted")) return "#16a34a";
  if (!strcmp(c, "rejected")) return "#dc2626";
  if (!strcmp(c, "failed")) return "#7f1d1d";
  return "#6b7280";
}

/* ---- text buffer ---- */

static bool grow(rp_buf *b, size_t extra) {
  if (b->oom) return false;
  if (b->len + extra + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1) {
    if (cap > ((size_t)-1) / 2) {
      b->oom = true;
      return false;
    }
    cap *= 2;
  }
  char *s = eo_realloc(b->s, cap);
  if (!s) {
    b->oom = true;
    return false;
  }
  b->s = s, b->cap = cap;
  return true;
}

void rp_puts(rp_buf *b, const char *s) {
  size_t n = strlen(s);
  if (!grow(b, n)) return;
  memcpy(b->s + b->len, s, n + 1);
  b->len += n;
}

void rp_printf(rp_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !grow(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void rp_esc(rp_buf *b, const char *s) {
  if (!s) return;
  for (const char *p = s; *p;) {
    size_t run = strcspn(p, "&<>\"'");
    if (run) {
      if (!grow(b, run)) return;
      memcpy(b->s + b->len, p, run);
      b->len += run;
      b->s[b->len] = 0;
      p += run;
    }
    switch (*p) {
      case '&': rp_puts(b, "&amp;"); break;
      case '<': rp_puts(b, "&lt;"); break;
      case '>': rp_puts(b, "&gt;"); break;
      case '"': rp_puts(b, "&quot;"); break;
      case '\'': rp_puts(b, "&#39;"); break;
      default: continue; /* end of string */
    }
    p++;
  }
}

void rp_num(rp_buf *b, const char *fmt, double v) {
  if (!isfinite(v)) rp_puts(b, "&mdash;");
  else rp_printf(b, fmt, v);
}
