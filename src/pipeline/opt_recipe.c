/* The optimize recipe: a YAML file in the shape of qat_config.yaml (see edgeopt/pipeline.h). The
 * `quantization` section is handed, at its original line numbers, to the quantization recipe
 * reader (src/quant/recipe.c) so both commands accept the same keys and report the same errors. */
#undef _POSIX_C_SOURCE
#define _XOPEN_SOURCE 700 /* mkstemp */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/data_internal.h"
#include "edgeopt/quant.h"
#include "pipeline_internal.h"
#include "quant/recipe.h"

typedef struct rc {
  const char *path;
  const char *text;
  size_t len;
  eo_yaml y;
  eo_opt_recipe *r;
} rc;

static eo_status bad(const rc *c, yaml_node_t *n, const char *key, const char *fmt, ...) EO_PRINTF(4, 5);
static eo_status bad(const rc *c, yaml_node_t *n, const char *key, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return eo_error(EO_ERR_INVALID, "%s:%d: '%s': %s", c->path, n ? eo_yaml_line(n) : 0, key, what);
}

static eo_status warn(rc *c, yaml_node_t *k, const char *key, const char *why) {
  char **w = realloc(c->r->warnings, sizeof *w * (size_t)(c->r->n_warnings + 1));
  if (!w) return eo_error(EO_ERR_NOMEM, "out of memory");
  c->r->warnings = w;
  char line[512];
  snprintf(line, sizeof line, "%s:%d: '%s': not supported yet (%s)", c->path, eo_yaml_line(k), key, why);
  if (!(w[c->r->n_warnings] = eo_strdup(line))) return eo_error(EO_ERR_NOMEM, "out of memory");
  c->r->n_warnings++;
  return EO_OK;
}

static yaml_node_t *node(rc *c, int id) { return yaml_document_get_node(&c->y.doc, id); }

static eo_status get_bool(const rc *c, yaml_node_t *n, const char *key, int *out) {
  return eo_yaml_bool(n, out) ? EO_OK : bad(c, n, key, "expected true or false");
}

static eo_status get_count(const rc *c, yaml_node_t *n, const char *key, int64_t *out) {
  const char *s = eo_yaml_str(n);
  char *end = NULL;
  long long v = s ? strtoll(s, &end, 10) : 0;
  if (!s || end == s || *end || v < 1) return bad(c, n, key, "expected a positive integer");
  *out = v;
  return EO_OK;
}

static eo_status get_string(const rc *c, yaml_node_t *n, const char *key) {
  if (!eo_yaml_str(n)) return bad(c, n, key, "expected a string");
  return EO_OK;
}

static eo_status get_method(rc *c, yaml_node_t *n, const char *key) {
  static const char *const names[] = {"minmax", "percentile", "entropy", "mse"};
  const char *s = eo_yaml_str(n);
  if (s && !strcmp(s, "histogram")) s = "entropy"; /* qat_config's histogram observer: KL over a histogram */
  for (int i = 0; s && i < 4; i++)
    if (!strcmp(s, names[i])) {
      for (int k = 0; k < c->r->n_methods; k++)
        if (c->r->methods[k] == i) return bad(c, n, key, "method '%s' given twice", s);
      c->r->methods[c->r->n_methods++] = i; /* the order of eo_calib_method */
      return EO_OK;
    }
  return bad(c, n, key, "expected minmax, percentile, entropy (histogram) or mse, got '%s'", s ? s : "a non-scalar");
}

/* Each key of a mapping; a non-mapping is an error naming `what`. */
typedef eo_status (*pair_fn)(rc *c, const char *key, yaml_node_t *k, yaml_node_t *v);
static eo_status each_pair(rc *c, yaml_node_t *map, const char *what, pair_fn fn) {
  if (!map || map->type != YAML_MAPPING_NODE) return bad(c, map, what, "expected a mapping");
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
    const char *key = eo_yaml_str(k);
    if (!key) return bad(c, k, what, "keys must be strings");
    eo_status st = fn(c, key, k, v);
    if (st) return st;
  }
  return EO_OK;
}

static eo_status unknown(const rc *c, yaml_node_t *k, const char *key, const char *section, const char *known) {
  return bad(c, k, key, "unknown key in %s (known: %s)", section, known);
}

static int is(const char *key, const char *const *names) {
  for (; *names; names++)
    if (!strcmp(key, *names)) return 1;
  return 0;
}

static eo_status model_pair(rc *c, const char *key, yaml_node_t *k, yaml_node_t *v) {
  if (!strcmp(key, "architecture") || !strcmp(key, "variant") || !strcmp(key, "name")) return get_string(c, v, key);
  if (!strcmp(key, "pretrained_path")) {
    eo_status st = get_string(c, v, key);
    return st ? st : warn(c, k, key, "ignored: the model optimized is the command line's MODEL");
  }
  return unknown(c, k, key, "model", "architecture, variant, name, pretrained_path");
}

static eo_status calib_pair(rc *c, const char *key, yaml_node_t *k, yaml_node_t *v) {
  if (!strcmp(key, "method")) {
    if (v->type == YAML_SEQUENCE_NODE) {
      int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
      if (n < 1 || n > 4) return bad(c, v, key, "expected 1 to 4 methods, got %d", n);
      for (int i = 0; i < n; i++) {
        eo_status st = get_method(c, node(c, v->data.sequence.items.start[i]), key);
        if (st) return st;
      }
      return EO_OK;
    }
    return get_method(c, v, key);
  }
  if (!strcmp(key, "num_samples") || !strcmp(key, "num_batches")) return get_count(c, v, key, &c->r->num_samples);
  if (!strcmp(key, "percentile")) {
    const char *s = eo_yaml_str(v);
    char *end = NULL;
    double p = s ? strtod(s, &end) : 0;
    if (!s || end == s || *end || !(p > 50 && p <= 100)) return bad(c, v, key, "expected a number in (50, 100]");
    c->r->percentile = p;
    return EO_OK;
  }
  static const char *const later[] = {"use_coreset", "coreset_method", "coreset_size", NULL};
  if (is(key, later)) return warn(c, k, key, "coreset selection of calibration items is not built");
  return unknown(c, k, key, "calibration", "method, num_samples (num_batches), percentile, use_coreset, "
                                         "coreset_method, coreset_size");
}

static eo_status analysis_pair(rc *c, const char *key, yaml_node_t *k, yaml_node_t *v) {
  int b;
  if (!strcmp(key, "measure_layer_error")) return get_bool(c, v, key, &c->r->layer_error);
  if (!strcmp(key, "enabled") || !strcmp(key, "generate_visualization") || !strcmp(key, "compare_with_fp32"))
    return get_bool(c, v, key, &b);
  if (!strcmp(key, "test_samples")) return get_count(c, v, key, &c->r->test_samples);
  if (!strcmp(key, "metrics")) {
    if (v->type != YAML_SEQUENCE_NODE && !eo_yaml_str(v)) return bad(c, v, key, "expected a list of names");
    return warn(c, k, key, "the metric follows --task (mAP@0.5, top-1 or agreement); others are not computed");
  }
  return unknown(c, k, key, "analysis", "enabled, measure_layer_error, test_samples, metrics, generate_visualization, "
                                      "compare_with_fp32");
}

static eo_status export_pair(rc *c, const char *key, yaml_node_t *k, yaml_node_t *v) {
  int b;
  if (!strcmp(key, "formats")) {
    if (v->type != YAML_SEQUENCE_NODE) return bad(c, v, key, "expected a list (onnx, tflite, tensorrt, openvino)");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
      yaml_node_t *e = node(c, *it);
      const char *s = eo_yaml_str(e);
      const char *f = NULL;
      if (s && (!strcmp(s, "onnx") || !strcmp(s, "tensorrt"))) f = "onnx"; /* TensorRT builds from ONNX */
      else if (s && !strcmp(s, "tflite")) f = "tflite";
      else if (s && !strcmp(s, "openvino")) {
        eo_status st = warn(c, e, "openvino", "no OpenVINO IR writer; use the ONNX files with OpenVINO's reader");
        if (st) return st;
        continue;
      } else return bad(c, e, key, "expected onnx, tflite, tensorrt or openvino, got '%s'", s ? s : "a non-scalar");
      int dup = 0;
      for (int i = 0; i < c->r->n_formats; i++) dup |= !strcmp(c->r->formats[i], f);
      if (!dup) strcpy(c->r->formats[c->r->n_formats++], f);
    }
    return EO_OK;
  }
  static const char *const flags[] = {"include_metadata", "simplify", "validate", "include_quant_params", NULL};
  if (is(key, flags)) return get_bool(c, v, key, &b);
  return unknown(c, k, key, "export", "formats, include_metadata, simplify, validate, include_quant_params");
}

/* The quantization section's lines, earlier lines blanked, so the quantization reader's messages
 * carry the recipe's line numbers. */
static eo_status cut_quant(rc *c, yaml_node_t *k, yaml_node_t *v) {
  size_t first = k->start_mark.line, last = v->end_mark.line + (v->end_mark.column > 0);
  if (last <= first) last = first + 1;
  size_t line = 0, i = 0, from = 0, to = c->len;
  for (; i < c->len && line < first; i++)
    if (c->text[i] == '\n') line++;
  from = i;
  for (; i < c->len && line < last; i++)
    if (c->text[i] == '\n' && ++line == last) to = i + 1;
  char *s = eo_malloc(first + (to - from) + 1);
  if (!s) return eo_error(EO_ERR_NOMEM, "out of memory");
  memset(s, '\n', first);
  memcpy(s + first, c->text + from, to - from);
  s[first + (to - from)] = 0;
  free(c->r->quant_yaml);
  c->r->quant_yaml = s;
  return EO_OK;
}

static eo_status top_pair(rc *c, const char *key, yaml_node_t *k, yaml_node_t *v) {
  if (!strcmp(key, "model")) return each_pair(c, v, key, model_pair);
  if (!strcmp(key, "quantization")) return cut_quant(c, k, v);
  if (!strcmp(key, "calibration")) return each_pair(c, v, key, calib_pair);
  if (!strcmp(key, "analysis")) return each_pair(c, v, key, analysis_pair);
  if (!strcmp(key, "export")) return each_pair(c, v, key, export_pair);
  if (!strcmp(key, "qat_params")) return warn(c, k, key, "quantization-aware training is not built");
  if (!strcmp(key, "distillation")) return warn(c, k, key, "knowledge distillation is not built");
  if (!strcmp(key, "train_params")) return warn(c, k, key, "edgeopt does not train");
  if (!strcmp(key, "pruning")) return warn(c, k, key, "pruning is not built");
  if (!strcmp(key, "candidates")) {
    if (v->type != YAML_SEQUENCE_NODE) return bad(c, v, key, "expected a list of candidate names");
    size_t n = 1;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
      const char *s = eo_yaml_str(node(c, *it));
      if (!s || !*s || strchr(s, ',')) return bad(c, node(c, *it), key, "expected a candidate name");
      n += strlen(s) + 1;
    }
    free(c->r->candidates);
    if (!(c->r->candidates = eo_malloc(n))) return eo_error(EO_ERR_NOMEM, "out of memory");
    c->r->candidates[0] = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
      if (c->r->candidates[0]) strcat(c->r->candidates, ",");
      strcat(c->r->candidates, eo_yaml_str(node(c, *it)));
    }
    return EO_OK;
  }
  return unknown(c, k, key, "the recipe",
                 "model, quantization, calibration, qat_params, distillation, train_params, pruning, analysis, "
                 "export, candidates");
}

void eo_opt_recipe_free(eo_opt_recipe *r) {
  if (!r) return;
  for (int i = 0; i < r->n_warnings; i++) free(r->warnings[i]);
  free(r->warnings), free(r->quant_yaml), free(r->candidates);
  free(r);
}

eo_status eo_opt_recipe_write_quant(const eo_opt_recipe *r, const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) return eo_error(EO_ERR_IO, "%s: cannot create", path);
  size_t n = strlen(r->quant_yaml);
  int bad_write = fwrite(r->quant_yaml, 1, n, f) != n;
  if (fclose(f)) bad_write = 1;
  return bad_write ? eo_error(EO_ERR_IO, "%s: write failed", path) : EO_OK;
}

/* Validates the quantization section with the quantization reader; its messages name a temporary
 * file, rewritten here to name the recipe. */
static eo_status check_quant(const char *path, const eo_opt_recipe *r) {
  const char *tmpdir = getenv("TMPDIR");
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s/eo_recipe_XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  int fd = mkstemp(tmp);
  if (fd < 0) return eo_error(EO_ERR_IO, "%s: cannot create a temporary file", tmp);
  close(fd);
  eo_status st = eo_opt_recipe_write_quant(r, tmp);
  eo_quant_recipe *q = NULL;
  if (!st) st = eo_recipe_load(tmp, &q);
  if (st) {
    char msg[1024];
    const char *e = eo_last_error(), *at = strstr(e, tmp);
    if (at) snprintf(msg, sizeof msg, "%.*s%s%s", (int)(at - e), e, path, at + strlen(tmp));
    else snprintf(msg, sizeof msg, "%s", e);
    st = eo_error(st, "%s", msg);
  } else if (q->observer >= 0 && r->n_methods > 0) {
    st = eo_error(EO_ERR_INVALID, "%s: quantization.activation.observer and calibration.method both choose the "
                                  "calibration method: keep one (calibration.method makes one candidate each)", path);
  }
  eo_recipe_free(q);
  remove(tmp);
  return st;
}

eo_status eo_opt_recipe_load(const char *path, eo_opt_recipe **out) {
  *out = NULL;
  void *text;
  size_t len;
  eo_status st = eo_read_file(path, &text, &len);
  if (st) return st;
  rc c = {.path = path, .text = text, .len = len};
  if (!(c.r = eo_calloc(1, sizeof *c.r))) {
    free(text);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  c.r->num_samples = c.r->test_samples = -1;
  c.r->percentile = -1;
  c.r->layer_error = -1;
  st = eo_yaml_parse(text, len, path, &c.y);
  if (!st) {
    yaml_node_t *root = eo_yaml_root(&c.y);
    if (!root) st = eo_error(EO_ERR_INVALID, "%s: the recipe is empty", path);
    else st = each_pair(&c, root, "recipe", top_pair);
  }
  eo_yaml_free(&c.y);
  free(text);
  if (!st && c.r->quant_yaml) st = check_quant(path, c.r);
  if (st) eo_opt_recipe_free(c.r);
  else *out = c.r;
  return st;
}
