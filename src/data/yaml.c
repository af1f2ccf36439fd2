/* Thin helpers over libyaml's document API (data.yaml, preprocessing configs). */
#include <string.h>

#include "data/data_internal.h"

eo_status eo_yaml_parse(const char *text, size_t len, const char *label, eo_yaml *y) {
  memset(y, 0, sizeof *y);
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return eo_error(EO_ERR_NOMEM, "%s: cannot initialize the YAML parser", label);
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, &y->doc)) {
    eo_status st = eo_error(EO_ERR_PARSE, "%s:%zu:%zu: YAML: %s%s%s", label, parser.problem_mark.line + 1,
                            parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error",
                            parser.context ? " " : "", parser.context ? parser.context : "");
    yaml_parser_delete(&parser);
    return st;
  }
  yaml_parser_delete(&parser);
  y->loaded = 1;
  return EO_OK;
}

void eo_yaml_free(eo_yaml *y) {
  if (y && y->loaded) yaml_document_delete(&y->doc);
  if (y) y->loaded = 0;
}

yaml_node_t *eo_yaml_root(eo_yaml *y) { return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL; }

yaml_node_t *eo_yaml_get(eo_yaml *y, yaml_node_t *map, const char *key) {
  if (!map || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    const char *k = eo_yaml_str(yaml_document_get_node(&y->doc, p->key));
    if (k && strcmp(k, key) == 0) return yaml_document_get_node(&y->doc, p->value);
  }
  return NULL;
}


const char *eo_yaml_str(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int eo_yaml_line(yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }

bool eo_yaml_bool(yaml_node_t *n, int *out) {
  const char *s = eo_yaml_str(n);
  if (s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes"))) *out = 1;
  else if (s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no"))) *out = 0;
  else return false;
  return true;
}

bool eo_yaml_is_null(yaml_node_t *n) {
  if (!n) return true;
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const char *s = eo_yaml_str(n);
  return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}
