/* The preprocessing config as text: defaults from a model input, name=value setters, YAML (libyaml)
 * and JSON (cJSON) files. Every path goes through eo_preprocess_set, so the CLI, YAML and JSON accept
 * exactly the same names and values. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "data/data_internal.h"

eo_status eo_preprocess_from_input(const eo_value_desc *in, eo_preprocess *out) {
  eo_preprocess_init(out);
  if (!in) return eo_error(EO_ERR_INVALID, "preprocess: no model input given");
  char shp[128];
  eo_shape_str(in->rank, in->dims, shp, sizeof shp);
  if (in->rank != 4)
    return eo_error(EO_ERR_UNSUPPORTED,
                    "input '%s' has shape %s; image preprocessing makes rank-4 tensors [N,C,H,W] or [N,H,W,C]",
                    in->name ? in->name : "?", shp);
  const int64_t *d = in->dims;
  int64_t c, h, w;
  if (d[1] == 1 || d[1] == 3) {
    out->layout = EO_LAYOUT_NCHW, c = d[1], h = d[2], w = d[3];
  } else if (d[3] == 1 || d[3] == 3) {
    out->layout = EO_LAYOUT_NHWC, c = d[3], h = d[1], w = d[2];
  } else {
    return eo_error(EO_ERR_UNSUPPORTED,
                    "input '%s' has shape %s: neither dim 1 nor dim 3 is a channel count of 1 or 3, so NCHW vs "
                    "NHWC cannot be told; set layout, channels, width and height explicitly",
                    in->name ? in->name : "?", shp);
  }
  out->channels = c == 1 ? EO_CHANNELS_GRAY : EO_CHANNELS_RGB;
  if (h > 0 && w > 0) {
    if (h > (1 << 15) || w > (1 << 15))
      return eo_error(EO_ERR_UNSUPPORTED, "input '%s' has shape %s: image sides over 32768", in->name, shp);
    out->width = (int)w, out->height = (int)h;
    out->resize = EO_RESIZE_LETTERBOX;
  }
  switch (in->dtype) {
    case EO_FLOAT: case EO_FLOAT16: case EO_DOUBLE: case EO_BFLOAT16: break;
    case EO_UINT8: out->dtype = EO_UINT8, out->scale = 1.0f; break;
    case EO_INT8: out->dtype = EO_INT8, out->scale = 1.0f, out->quant_zero_point = -128; break;
    default:
      return eo_error(EO_ERR_UNSUPPORTED, "input '%s' is %s; images become float32, uint8 or int8 tensors",
                      in->name ? in->name : "?", eo_dtype_name(in->dtype));
  }
  return EO_OK;
}

/* ---- value parsers (all strict: the whole text must be consumed) */

static bool parse_int(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  while (*end == ' ') end++;
  if (end == s || *end || errno || v < -(1L << 30) || v > (1L << 30)) return false;
  *out = (int)v;
  return true;
}

/* A number, or a fraction "a/b" (scale=1/255). */
static bool parse_float(const char *s, float *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno) return false;
  while (*end == ' ') end++;
  if (*end == '/') {
    const char *q = end + 1;
    double den = strtod(q, &end);
    if (end == q || den == 0.0) return false;
    while (*end == ' ') end++;
    v /= den;
  }
  if (*end || !isfinite(v)) return false;
  *out = (float)v;
  return true;
}

/* "N" or "WxH". */
static bool parse_size(const char *s, int *w, int *h) {
  const char *x = strpbrk(s, "xX");
  if (!x) return parse_int(s, w) && (*h = *w, true);
  char a[32];
  size_t n = (size_t)(x - s);
  if (n == 0 || n >= sizeof a) return false;
  memcpy(a, s, n);
  a[n] = 0;
  return parse_int(a, w) && parse_int(x + 1, h);
}

/* One value for every channel, or three: "0.5", "0.485,0.456,0.406", "[0.485, 0.456, 0.406]". */
static bool parse_triple(const char *s, float v[3]) {
  char tmp[256];
  size_t n = strlen(s);
  if (n >= sizeof tmp) return false;
  memcpy(tmp, s, n + 1);
  char *b = tmp;
  while (*b == ' ') b++;
  if (*b == '[') {
    b++;
    char *e = strrchr(b, ']');
    if (!e) return false;
    *e = 0;
  }
  float got[3];
  int k = 0;
  for (char *save = NULL, *t = strtok_r(b, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    while (*t == ' ') t++;
    if (k == 3 || !parse_float(t, &got[k])) return false;
    k++;
  }
  if (k == 1) got[1] = got[2] = got[0];
  else if (k != 3) return false;
  memcpy(v, got, sizeof got);
  return true;
}

static int lookup(const char *s, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (strcasecmp(s, names[i]) == 0) return i;
  return -1;
}

static const char *const resize_names[] = {"none", "stretch", "letterbox", "shorter"};
static const char *const channel_names[] = {"rgb", "bgr", "gray"};
static const char *const layout_names[] = {"nchw", "nhwc"};

#define FIELD_LIST                                                                                              \
  "resize, width, height, size, resize_width, resize_height, resize_size, resize_shorter, crop_width, "         \
  "crop_height, crop, pad_value, scale, mean, std, channels, layout, dtype, quant_scale, quant_zero_point"

static eo_status bad_value(const char *name, const char *value, const char *expected) {
  return eo_error(EO_ERR_INVALID, "preprocess field '%s': '%s' is not %s", name, value, expected);
}

/* Sets name to value in *p (p may be partially updated on failure: callers work on a copy). */
static eo_status set_field(eo_preprocess *p, const char *name, const char *value) {
  int i;
  if (strcmp(name, "resize") == 0) {
    if ((i = lookup(value, resize_names, 4)) < 0) return bad_value(name, value, "none, stretch, letterbox or shorter");
    p->resize = (eo_resize_mode)i;
  } else if (strcmp(name, "channels") == 0) {
    if ((i = lookup(value, channel_names, 3)) < 0) {
      if (strcasecmp(value, "grey") == 0 || strcasecmp(value, "grayscale") == 0) i = EO_CHANNELS_GRAY;
      else return bad_value(name, value, "rgb, bgr or gray");
    }
    p->channels = (eo_channel_order)i;
  } else if (strcmp(name, "layout") == 0) {
    if ((i = lookup(value, layout_names, 2)) < 0) return bad_value(name, value, "nchw or nhwc");
    p->layout = (eo_layout)i;
  } else if (strcmp(name, "dtype") == 0) {
    if (strcasecmp(value, "float32") == 0 || strcasecmp(value, "float") == 0) p->dtype = EO_FLOAT;
    else if (strcasecmp(value, "uint8") == 0) p->dtype = EO_UINT8;
    else if (strcasecmp(value, "int8") == 0) p->dtype = EO_INT8;
    else return bad_value(name, value, "float32, uint8 or int8");
  } else if (strcmp(name, "size") == 0 || strcmp(name, "resize_size") == 0 || strcmp(name, "crop") == 0) {
    int w, h;
    if (!parse_size(value, &w, &h)) return bad_value(name, value, "a size N or WxH");
    if (name[0] == 's') p->width = w, p->height = h;
    else if (name[0] == 'r') p->resize_width = w, p->resize_height = h;
    else p->crop_width = w, p->crop_height = h;
  } else if (strcmp(name, "mean") == 0 || strcmp(name, "std") == 0) {
    if (!parse_triple(value, name[0] == 'm' ? p->mean : p->std))
      return bad_value(name, value, "a number or three comma-separated numbers");
  } else if (strcmp(name, "scale") == 0 || strcmp(name, "quant_scale") == 0) {
    if (!parse_float(value, name[0] == 's' ? &p->scale : &p->quant_scale))
      return bad_value(name, value, "a number or a fraction like 1/255");
  } else {
    static const struct { const char *name; size_t off; } ints[] = {
        {"width", offsetof(eo_preprocess, width)},
        {"height", offsetof(eo_preprocess, height)},
        {"resize_width", offsetof(eo_preprocess, resize_width)},
        {"resize_height", offsetof(eo_preprocess, resize_height)},
        {"resize_shorter", offsetof(eo_preprocess, resize_shorter)},
        {"crop_width", offsetof(eo_preprocess, crop_width)},
        {"crop_height", offsetof(eo_preprocess, crop_height)},
        {"pad_value", offsetof(eo_preprocess, pad_value)},
        {"quant_zero_point", offsetof(eo_preprocess, quant_zero_point)}};
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
      if (strcmp(name, ints[k].name) != 0) continue;
      if (!parse_int(value, (int *)((char *)p + ints[k].off))) return bad_value(name, value, "an integer");
      return EO_OK;
    }
    return eo_error(EO_ERR_INVALID, "unknown preprocess field '%s'; fields are: " FIELD_LIST, name);
  }
  return EO_OK;
}

eo_status eo_preprocess_set(eo_preprocess *p, const char *kv) {
  const char *eq = kv ? strchr(kv, '=') : NULL;
  if (!eq || eq == kv)
    return eo_error(EO_ERR_INVALID, "preprocess setting '%s' is not NAME=VALUE; fields are: " FIELD_LIST,
                    kv ? kv : "(null)");
  char name[64];
  size_t n = (size_t)(eq - kv);
  while (n && kv[n - 1] == ' ') n--;
  if (n >= sizeof name) return eo_error(EO_ERR_INVALID, "unknown preprocess field '%.*s'", (int)n, kv);
  memcpy(name, kv, n);
  name[n] = 0;
  const char *v = eq + 1;
  while (*v == ' ') v++;
  eo_preprocess tmp = *p;
  eo_status st = set_field(&tmp, name, v);
  if (st == EO_OK) *p = tmp;
  return st;
}

/* ---- YAML */

static eo_status parse_yaml(const char *text, size_t len, const char *label, eo_preprocess *inout) {
  eo_yaml y;
  eo_status st = eo_yaml_parse(text, len, label, &y);
  if (st != EO_OK) return st;
  eo_preprocess tmp = *inout;
  yaml_node_t *root = eo_yaml_root(&y), *sub;
  if (!root || (root->type == YAML_SCALAR_NODE && eo_yaml_is_null(root))) goto done; /* empty file */
  if (root->type != YAML_MAPPING_NODE) {
    st = eo_error(EO_ERR_PARSE, "%s:%d: expected a mapping of preprocess fields", label, eo_yaml_line(root));
    goto done;
  }
  if ((sub = eo_yaml_get(&y, root, "preprocess")) != NULL) {
    if (sub->type != YAML_MAPPING_NODE) {
      st = eo_error(EO_ERR_PARSE, "%s:%d: 'preprocess' must be a mapping", label, eo_yaml_line(sub));
      goto done;
    }
    root = sub;
  }
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(&y.doc, pr->key), *v = yaml_document_get_node(&y.doc, pr->value);
    const char *key = eo_yaml_str(k);
    if (!key) {
      st = eo_error(EO_ERR_PARSE, "%s:%d: expected a field name", label, eo_yaml_line(k));
      goto done;
    }
    char val[256];
    if (v->type == YAML_SCALAR_NODE) {
      if (eo_yaml_is_null(v)) {
        st = eo_error(EO_ERR_PARSE, "%s:%d: field '%s' has no value", label, eo_yaml_line(v), key);
        goto done;
      }
      snprintf(val, sizeof val, "%s", eo_yaml_str(v));
    } else if (v->type == YAML_SEQUENCE_NODE) {
      size_t o = 0;
      val[0] = 0;
      for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        const char *s = eo_yaml_str(yaml_document_get_node(&y.doc, *it));
        if (!s) {
          st = eo_error(EO_ERR_PARSE, "%s:%d: field '%s': expected a list of numbers", label, eo_yaml_line(v), key);
          goto done;
        }
        o += (size_t)snprintf(val + o, o < sizeof val ? sizeof val - o : 0, "%s%s", o ? "," : "", s);
        if (o >= sizeof val) break;
      }
    } else {
      st = eo_error(EO_ERR_PARSE, "%s:%d: field '%s' must be a value or a list", label, eo_yaml_line(v), key);
      goto done;
    }
    if ((st = set_field(&tmp, key, val)) != EO_OK) {
      st = eo_error_wrap(st, "%s:%d", label, eo_yaml_line(k));
      goto done;
    }
  }
done:
  eo_yaml_free(&y);
  if (st == EO_OK && (st = eo_preprocess_validate(&tmp)) != EO_OK) st = eo_error_wrap(st, "%s", label);
  if (st == EO_OK) *inout = tmp;
  return st;
}

/* ---- JSON */

static eo_status parse_json(const char *text, size_t len, const char *label, eo_preprocess *inout) {
  cJSON *root = cJSON_ParseWithLength(text, len);
  if (!root) {
    const char *at = cJSON_GetErrorPtr();
    int line = 1;
    if (at && at >= text && at <= text + len)
      for (const char *c = text; c < at; c++) line += *c == '\n';
    return eo_error(EO_ERR_PARSE, "%s:%d: invalid JSON", label, line);
  }
  eo_status st = EO_OK;
  eo_preprocess tmp = *inout;
  cJSON *obj = root, *sub = cJSON_GetObjectItemCaseSensitive(root, "preprocess");
  if (sub) obj = sub;
  if (!cJSON_IsObject(obj)) {
    st = eo_error(EO_ERR_PARSE, "%s: expected a JSON object of preprocess fields", label);
    goto done;
  }
  for (cJSON *f = obj->child; f; f = f->next) {
    char val[256];
    if (cJSON_IsNumber(f)) {
      snprintf(val, sizeof val, "%.17g", f->valuedouble);
    } else if (cJSON_IsString(f)) {
      snprintf(val, sizeof val, "%s", f->valuestring);
    } else if (cJSON_IsArray(f)) {
      size_t o = 0;
      val[0] = 0;
      for (cJSON *e = f->child; e; e = e->next) {
        if (!cJSON_IsNumber(e)) {
          st = eo_error(EO_ERR_PARSE, "%s: field '%s': expected a list of numbers", label, f->string);
          goto done;
        }
        o += (size_t)snprintf(val + o, o < sizeof val ? sizeof val - o : 0, "%s%.17g", o ? "," : "", e->valuedouble);
        if (o >= sizeof val) break;
      }
    } else {
      st = eo_error(EO_ERR_PARSE, "%s: field '%s' must be a number, a string or a list of numbers", label, f->string);
      goto done;
    }
    if ((st = set_field(&tmp, f->string, val)) != EO_OK) {
      st = eo_error_wrap(st, "%s", label);
      goto done;
    }
  }
done:
  cJSON_Delete(root);
  if (st == EO_OK && (st = eo_preprocess_validate(&tmp)) != EO_OK) st = eo_error_wrap(st, "%s", label);
  if (st == EO_OK) *inout = tmp;
  return st;
}

eo_status eo_preprocess_parse(const char *text, size_t len, const char *label, eo_preprocess *inout) {
  if (!label) label = "<preprocess>";
  size_t i = 0;
  while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) i++;
  if (i < len && text[i] == '{') return parse_json(text, len, label, inout);
  return parse_yaml(text, len, label, inout);
}

eo_status eo_preprocess_load(const char *path, eo_preprocess *inout) {
  void *buf;
  size_t size;
  eo_status st = eo_read_file(path, &buf, &size);
  if (st != EO_OK) return st;
  if (eo_has_suffix(path, ".json"))
    st = parse_json(buf, size, path, inout);
  else
    st = eo_preprocess_parse(buf, size, path, inout);
  free(buf);
  return st;
}

/* ---- writers */

static const char *dtype_text(int dt) { return dt == EO_UINT8 ? "uint8" : dt == EO_INT8 ? "int8" : "float32"; }

eo_status eo_preprocess_to_yaml(const eo_preprocess *p, char **out) {
  *out = NULL;
  eo_status st = eo_preprocess_validate(p);
  if (st != EO_OK) return st;
  char buf[1024];
  int n = snprintf(buf, sizeof buf,
                   "resize: %s\nwidth: %d\nheight: %d\nresize_width: %d\nresize_height: %d\nresize_shorter: %d\n"
                   "crop_width: %d\ncrop_height: %d\npad_value: %d\nscale: %.9g\nmean: [%.9g, %.9g, %.9g]\n"
                   "std: [%.9g, %.9g, %.9g]\nchannels: %s\nlayout: %s\ndtype: %s\nquant_scale: %.9g\n"
                   "quant_zero_point: %d\n",
                   resize_names[p->resize], p->width, p->height, p->resize_width, p->resize_height, p->resize_shorter,
                   p->crop_width, p->crop_height, p->pad_value, (double)p->scale, (double)p->mean[0],
                   (double)p->mean[1], (double)p->mean[2], (double)p->std[0], (double)p->std[1], (double)p->std[2],
                   channel_names[p->channels], layout_names[p->layout], dtype_text(p->dtype), (double)p->quant_scale,
                   p->quant_zero_point);
  EO_ASSERT(n > 0 && (size_t)n < sizeof buf);
  if (!(*out = eo_strdup(buf))) return eo_error(EO_ERR_NOMEM, "out of memory");
  return EO_OK;
}

eo_status eo_preprocess_to_json(const eo_preprocess *p, char **out) {
  *out = NULL;
  eo_status st = eo_preprocess_validate(p);
  if (st != EO_OK) return st;
  cJSON *o = cJSON_CreateObject();
  if (!o) return eo_error(EO_ERR_NOMEM, "out of memory");
  bool ok = cJSON_AddStringToObject(o, "resize", resize_names[p->resize]) &&
            cJSON_AddNumberToObject(o, "width", p->width) && cJSON_AddNumberToObject(o, "height", p->height) &&
            cJSON_AddNumberToObject(o, "resize_width", p->resize_width) &&
            cJSON_AddNumberToObject(o, "resize_height", p->resize_height) &&
            cJSON_AddNumberToObject(o, "resize_shorter", p->resize_shorter) &&
            cJSON_AddNumberToObject(o, "crop_width", p->crop_width) &&
            cJSON_AddNumberToObject(o, "crop_height", p->crop_height) &&
            cJSON_AddNumberToObject(o, "pad_value", p->pad_value) && cJSON_AddNumberToObject(o, "scale", p->scale);
  double mean[3] = {p->mean[0], p->mean[1], p->mean[2]}, std[3] = {p->std[0], p->std[1], p->std[2]};
  cJSON *m = ok ? cJSON_CreateDoubleArray(mean, 3) : NULL, *s = ok ? cJSON_CreateDoubleArray(std, 3) : NULL;
  if (m) cJSON_AddItemToObject(o, "mean", m);
  if (s) cJSON_AddItemToObject(o, "std", s);
  ok = ok && m && s && cJSON_AddStringToObject(o, "channels", channel_names[p->channels]) &&
       cJSON_AddStringToObject(o, "layout", layout_names[p->layout]) &&
       cJSON_AddStringToObject(o, "dtype", dtype_text(p->dtype)) &&
       cJSON_AddNumberToObject(o, "quant_scale", p->quant_scale) &&
       cJSON_AddNumberToObject(o, "quant_zero_point", p->quant_zero_point);
  char *txt = ok ? cJSON_Print(o) : NULL;
  cJSON_Delete(o);
  if (!txt) return eo_error(EO_ERR_NOMEM, "out of memory writing JSON");
  /* cJSON allocates with malloc by default; copy anyway so the caller's free() is always right. */
  *out = eo_strdup(txt);
  cJSON_free(txt);
  return *out ? EO_OK : eo_error(EO_ERR_NOMEM, "out of memory");
}

eo_status eo_preprocess_save(const eo_preprocess *p, const char *path) {
  char *txt;
  bool json = eo_has_suffix(path, ".json");
  eo_status st = json ? eo_preprocess_to_json(p, &txt) : eo_preprocess_to_yaml(p, &txt);
  if (st != EO_OK) return st;
  FILE *f = fopen(path, "wb");
  if (!f) {
    st = eo_error(EO_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  } else {
    size_t n = strlen(txt);
    bool ok = fwrite(txt, 1, n, f) == n && (!json || fputc('\n', f) != EOF);
    if (fclose(f) != 0) ok = false;
    if (!ok) st = eo_error(EO_ERR_IO, "%s: write failed", path);
  }
  free(txt);
  return st;
}
