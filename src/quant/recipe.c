/* YAML quantization recipes (see recipe.h), read with libyaml through src/data's helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "edgeopt/quant.h"
#include "quant/recipe.h"
#include "quant/wclip.h"

typedef struct rctx {
  const char *path;
  eo_yaml y;
  eo_quant_recipe *r;
} rctx;

static eo_status bad(const rctx *c, yaml_node_t *n, const char *key, const char *what) {
  return eo_error(EO_ERR_INVALID, "%s:%d: '%s': %s", c->path, eo_yaml_line(n), key, what);
}

static eo_status get_bool(const rctx *c, yaml_node_t *n, const char *key, int *out) {
  return eo_yaml_bool(n, out) ? EO_OK : bad(c, n, key, "expected true or false");
}

static eo_status get_observer(const rctx *c, yaml_node_t *n, const char *key, int *out) {
  static const char *const names[] = {"minmax", "percentile", "entropy", "mse"};
  const char *s = eo_yaml_str(n);
  for (int i = 0; s && i < 4; i++)
    if (!strcmp(s, names[i])) {
      *out = i;  // the order of eo_calib_method
      return EO_OK;
    }
  return bad(c, n, key, "expected minmax, percentile, entropy or mse");
}

static eo_status get_bits8(const rctx *c, yaml_node_t *n, const char *key) {
  const char *s = eo_yaml_str(n);
  if (!s || strcmp(s, "8") != 0) return bad(c, n, key, "only 8 bits is supported here (INT4 is --mode int4)");
  return EO_OK;
}

static eo_status get_regex(const rctx *c, yaml_node_t *n, const char *key, bool anchored, regex_t *re) {
  const char *s = eo_yaml_str(n);
  if (!s) return bad(c, n, key, "expected a regular expression string");
  char *pat = eo_malloc(strlen(s) + 8);
  if (!pat) return eo_error(EO_ERR_NOMEM, "out of memory");
  sprintf(pat, anchored ? "^(%s)$" : "%s", s);
  int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
  free(pat);
  if (rc) {
    char msg[200], full[320];
    regerror(rc, re, msg, sizeof msg);
    snprintf(full, sizeof full, "invalid regular expression \"%s\": %s", s, msg);
    return bad(c, n, key, full);
  }
  return EO_OK;
}

typedef eo_status (*pair_fn)(rctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg);

/* Calls fn for every key of a mapping; a non-mapping is an error naming `what`. */
static eo_status each_pair(rctx *c, yaml_node_t *map, const char *what, pair_fn fn, void *arg) {
  if (!map || map->type != YAML_MAPPING_NODE) return bad(c, map, what, "expected a mapping");
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(&c->y.doc, p->key), *v = yaml_document_get_node(&c->y.doc, p->value);
    const char *key = eo_yaml_str(k);
    if (!key) return bad(c, k, what, "keys must be strings");
    eo_status st = fn(c, key, k, v, arg);
    if (st) return st;
  }
  return EO_OK;
}

static eo_status unknown(const rctx *c, yaml_node_t *k, const char *key, const char *section, const char *known) {
  char what[256];
  snprintf(what, sizeof what, "unknown key in %s (known: %s)", section, known);
  return bad(c, k, key, what);
}

static eo_status weight_pair(rctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg) {
  (void)arg;
  if (!strcmp(key, "bits")) return get_bits8(c, v, key);
  if (!strcmp(key, "per_channel")) return get_bool(c, v, key, &c->r->per_channel);
  if (!strcmp(key, "symmetric")) {
    int s;
    eo_status st = get_bool(c, v, key, &s);
    if (!st && !s) st = bad(c, v, key, "only symmetric weights are produced (ONNX Runtime's convention)");
    return st;
  }
  if (!strcmp(key, "observer") || !strcmp(key, "method")) {  // the weight scale rule (wclip.h)
    const char *s = eo_yaml_str(v);
    if (s && !strcmp(s, "minmax")) c->r->weight_observer = EO_WCLIP_MINMAX;
    else if (s && !strcmp(s, "mse")) c->r->weight_observer = EO_WCLIP_MSE;
    else return bad(c, v, key, "expected minmax or mse");
    return EO_OK;
  }
  return unknown(c, k, key, "weight", "bits, per_channel, symmetric, observer");
}

static eo_status act_pair(rctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg) {
  (void)arg;
  if (!strcmp(key, "bits")) return get_bits8(c, v, key);
  if (!strcmp(key, "symmetric")) return get_bool(c, v, key, &c->r->act_symmetric);
  if (!strcmp(key, "observer") || !strcmp(key, "method")) return get_observer(c, v, key, &c->r->observer);
  if (!strcmp(key, "percentile")) {
    const char *s = eo_yaml_str(v);
    char *end = NULL;
    double p = s ? strtod(s, &end) : 0;
    if (!s || end == s || *end || !(p > 50 && p <= 100)) return bad(c, v, key, "expected a number in (50, 100]");
    c->r->percentile = p;
    return EO_OK;
  }
  if (!strcmp(key, "float_gemm_output")) return get_bool(c, v, key, &c->r->float_gemm_output);
  return unknown(c, k, key, "activation", "bits, symmetric, observer, percentile, float_gemm_output");
}

static eo_status layer_pair(rctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg) {
  eo_recipe_layer *l = arg;
  eo_status st;
  if (!strcmp(key, "pattern") || !strcmp(key, "name")) {
    if (l->has_name) return bad(c, k, key, "the node-name pattern is given twice");
    if ((st = get_regex(c, v, key, false, &l->name_re))) return st;
    l->has_name = true;
    return EO_OK;
  }
  if (!strcmp(key, "op_type")) {
    if (l->has_op) return bad(c, k, key, "given twice");
    if ((st = get_regex(c, v, key, true, &l->op_re))) return st;
    l->has_op = true;
    return EO_OK;
  }
  if (!strcmp(key, "skip")) return get_bool(c, v, key, &l->skip);
  if (!strcmp(key, "observer") || !strcmp(key, "method")) return get_observer(c, v, key, &l->observer);
  if (!strcmp(key, "per_channel")) return get_bool(c, v, key, &l->per_channel);
  if (!strcmp(key, "bits")) return get_bits8(c, v, key);
  return unknown(c, k, key, "a layer_configs entry", "pattern, op_type, skip, observer, per_channel, bits");
}

static eo_status top_pair(rctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg) {
  (void)arg;
  if (!strcmp(key, "quantization")) return each_pair(c, v, key, top_pair, NULL);
  if (!strcmp(key, "weight")) return each_pair(c, v, key, weight_pair, NULL);
  if (!strcmp(key, "activation")) return each_pair(c, v, key, act_pair, NULL);
  if (!strcmp(key, "layer_configs")) {
    if (v->type != YAML_SEQUENCE_NODE) return bad(c, v, key, "expected a list of entries");
    int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    eo_recipe_layer *ls = eo_calloc((size_t)n + 1, sizeof *ls);
    if (!ls) return eo_error(EO_ERR_NOMEM, "out of memory");
    for (int i = 0; i < c->r->n_layers; i++) {  // a second layer_configs key replaces the first
      if (c->r->layers[i].has_name) regfree(&c->r->layers[i].name_re);
      if (c->r->layers[i].has_op) regfree(&c->r->layers[i].op_re);
    }
    free(c->r->layers);
    c->r->layers = ls;
    c->r->n_layers = 0;
    for (int i = 0; i < n; i++) {
      yaml_node_t *e = yaml_document_get_node(&c->y.doc, v->data.sequence.items.start[i]);
      eo_recipe_layer *l = &ls[c->r->n_layers++];
      l->skip = l->observer = l->per_channel = -1;
      eo_status st = each_pair(c, e, "layer_configs entry", layer_pair, l);
      if (st) return st;
      if (!l->has_name && !l->has_op) return bad(c, e, "layer_configs entry", "needs a 'pattern' or an 'op_type'");
    }
    return EO_OK;
  }
  return unknown(c, k, key, "the recipe", "quantization, weight, activation, layer_configs");
}

void eo_recipe_free(eo_quant_recipe *r) {
  if (!r) return;
  for (int i = 0; i < r->n_layers; i++) {
    if (r->layers[i].has_name) regfree(&r->layers[i].name_re);
    if (r->layers[i].has_op) regfree(&r->layers[i].op_re);
  }
  free(r->layers);
  free(r);
}

eo_status eo_recipe_load(const char *path, eo_quant_recipe **out) {
  *out = NULL;
  void *text;
  size_t len;
  eo_status st = eo_read_file(path, &text, &len);
  if (st) return st;
  rctx c = {.path = path};
  if (!(c.r = eo_calloc(1, sizeof *c.r))) {
    free(text);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  c.r->per_channel = c.r->act_symmetric = c.r->observer = c.r->weight_observer = -1;
  c.r->percentile = -1;
  c.r->float_gemm_output = -1;
  st = eo_yaml_parse(text, len, path, &c.y);
  free(text);
  if (!st) {
    yaml_node_t *root = eo_yaml_root(&c.y);
    if (!root) st = eo_error(EO_ERR_INVALID, "%s: the recipe is empty", path);
    else st = each_pair(&c, root, "recipe", top_pair, NULL);
  }
  eo_yaml_free(&c.y);
  if (st) eo_recipe_free(c.r);
  else *out = c.r;
  return st;
}

void eo_recipe_node(const eo_quant_recipe *r, const char *name, const char *op_type, int *skip, int *observer,
                    int *per_channel) {
  *skip = *observer = *per_channel = -1;
  for (int i = 0; r && i < r->n_layers; i++) {
    const eo_recipe_layer *l = &r->layers[i];
    if (l->has_name && regexec(&l->name_re, name ? name : "", 0, NULL, 0) != 0) continue;
    if (l->has_op && regexec(&l->op_re, op_type, 0, NULL, 0) != 0) continue;
    if (l->skip >= 0) *skip = l->skip;
    if (l->observer >= 0) *observer = l->observer;
    if (l->per_channel >= 0) *per_channel = l->per_channel;
  }
}
