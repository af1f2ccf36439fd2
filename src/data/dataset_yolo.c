/* YOLO-format data sets: data.yaml (path, train/val/test, names, nc) with images/ + labels/ (one .txt per image) of
 * normalized "class cx cy w h" lines, and plain folders or .txt lists of images (labels read when the
 * Ultralytics label path has them). */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "data/data_internal.h"

typedef struct {
  int nc; /* -1: unknown (no data.yaml): class ids are not range-checked */
} yolo_impl;

char *eo_yolo_label_path(const char *img) {
  const char *hit = NULL;
  size_t skip = 0;
  for (const char *p = strstr(img, "/images/"); p; p = strstr(p + 1, "/images/")) hit = p;
  if (hit) skip = 8;
  else if (strncmp(img, "images/", 7) == 0) hit = img, skip = 7;
  size_t n = strlen(img);
  char *o = malloc(n + 8);
  if (!o) return NULL;
  if (hit) {
    size_t pre = (size_t)(hit - img);
    memcpy(o, img, pre);
    const char *rep = skip == 8 ? "/labels/" : "labels/";
    memcpy(o + pre, rep, skip);
    memcpy(o + pre + skip, hit + skip, n - pre - skip + 1);
  } else {
    memcpy(o, img, n + 1);
  }
  char *slash = strrchr(o, '/'), *dot = strrchr(o, '.');
  if (dot && (!slash || dot > slash)) *dot = 0;
  strcat(o, ".txt");
  return o;
}

static eo_status grow_boxes(eo_dataset *ds) {
  return eo_grow((void **)&ds->boxes, &ds->boxcap, ds->nboxes + 1, sizeof(eo_data_box));
}

/* Parses one field as a number; reports the file, line, and 1-based field. */
static eo_status num_field(const char *file, int line, int k, const char *tok, double *v) {
  char *end;
  errno = 0;
  *v = strtod(tok, &end);
  if (end == tok || *end || errno || !isfinite(*v))
    return eo_error(EO_ERR_PARSE, "%s:%d: field %d '%s' is not a number", file, line, k + 1, tok);
  return EO_OK;
}

eo_status eo_ds_load_yolo_labels(eo_dataset *ds, const char *img_path, int nc) {
  ds->nboxes = 0;
  free(ds->label_path);
  ds->label_path = eo_yolo_label_path(img_path);
  if (!ds->label_path) return eo_error(EO_ERR_NOMEM, "out of memory");
  const char *file = ds->label_path;
  if (!eo_is_file(file)) return EO_OK; /* no label file: a background image (as Ultralytics reads it) */
  char *text;
  size_t size;
  eo_status st = eo_read_file(file, (void **)&text, &size);
  if (st != EO_OK) return st;
  char *t = realloc(text, size + 1);
  if (!t) {
    free(text);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  text = t;
  text[size] = 0;
  const float W = (float)ds->item.orig_width, H = (float)ds->item.orig_height;
  int line = 0;
  char *save_line = NULL;
  /* strtok_r would merge empty lines and shift the numbering: split lines by hand. */
  for (char *ln = text, *next; ln && st == EO_OK; ln = next) {
    line++;
    next = strchr(ln, '\n');
    if (next) *next++ = 0;
    char *tok[64];
    int nf = 0;
    for (char *w = strtok_r(ln, " \t\r", &save_line); w; w = strtok_r(NULL, " \t\r", &save_line)) {
      if (nf < 64) tok[nf] = w;
      nf++;
    }
    if (nf == 0) continue;
    bool segment = nf >= 7 && (nf - 1) % 2 == 0 && nf <= 64;
    if (nf != 5 && !segment) {
      st = eo_error(EO_ERR_PARSE, "%s:%d: expected 5 fields (class cx cy w h) or a polygon (class x1 y1 x2 y2 x3 y3 ...), found %d",
                    file, line, nf);
      break;
    }
    double cls, v[64];
    if ((st = num_field(file, line, 0, tok[0], &cls)) != EO_OK) break;
    if (cls < 0 || cls != floor(cls) || cls > 1e6) {
      st = eo_error(EO_ERR_PARSE, "%s:%d: class id '%s' is not a non-negative integer", file, line, tok[0]);
      break;
    }
    if (nc >= 0 && cls >= nc) {
      st = eo_error(EO_ERR_PARSE, "%s:%d: class id %d >= nc = %d (class ids are 0..%d)", file, line, (int)cls, nc, nc - 1);
      break;
    }
    static const char *names[] = {"cx", "cy", "w", "h"};
    for (int k = 1; k < nf && st == EO_OK; k++) {
      if ((st = num_field(file, line, k, tok[k], &v[k - 1])) != EO_OK) break;
      if (v[k - 1] < 0.0 || v[k - 1] > 1.0)
        st = eo_error(EO_ERR_PARSE, "%s:%d: %s = %s is outside [0, 1] (coordinates are normalized by the image size)",
                      file, line, segment ? (k % 2 ? "x" : "y") : names[k - 1], tok[k]);
    }
    if (st != EO_OK) break;
    double cx, cy, w, h;
    if (segment) { /* polygon -> its bounding box (Ultralytics segments2boxes) */
      double x0 = 1, y0 = 1, x1 = 0, y1 = 0;
      for (int k = 0; k + 1 < nf - 1; k += 2) {
        x0 = fmin(x0, v[k]), x1 = fmax(x1, v[k]);
        y0 = fmin(y0, v[k + 1]), y1 = fmax(y1, v[k + 1]);
      }
      cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, w = x1 - x0, h = y1 - y0;
    } else {
      cx = v[0], cy = v[1], w = v[2], h = v[3];
    }
    if ((st = grow_boxes(ds)) != EO_OK) break;
    eo_data_box *b = &ds->boxes[ds->nboxes++];
    b->class_id = (int)cls;
    b->cx = (float)cx, b->cy = (float)cy, b->w = (float)w, b->h = (float)h;
    b->x1 = (float)((cx - w / 2) * W), b->y1 = (float)((cy - h / 2) * H);
    b->x2 = (float)((cx + w / 2) * W), b->y2 = (float)((cy + h / 2) * H);
  }
  free(text);
  if (st != EO_OK) ds->nboxes = 0;
  return st;
}

static eo_status yolo_load(eo_dataset *ds, int64_t i) {
  const char *file = ds->files.v[i];
  eo_status st = eo_ds_load_image(ds, file);
  if (st != EO_OK) return st;
  return eo_ds_load_yolo_labels(ds, file, ((yolo_impl *)ds->impl)->nc);
}

static void yolo_free(eo_dataset *ds) { free(ds->impl); }

static const eo_ds_backend yolo_backend = {yolo_load, NULL, yolo_free};

static bool keep_image(const char *p) { return eo_image_ext(p) != 0; }

/* A .txt list: one image path per line; relative paths are relative to the list's folder (Ultralytics
 * resolves "./x"; bare relative names are tried there first, then as given). */
static eo_status read_list(const char *txt, eo_strlist *out) {
  char *text;
  size_t size;
  eo_status st = eo_read_file(txt, (void **)&text, &size);
  if (st != EO_OK) return st;
  char *dir = eo_path_dirname(txt);
  if (!dir) {
    free(text);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  size_t a = 0;
  while (a < size && st == EO_OK) {
    size_t b = a;
    while (b < size && text[b] != '\n') b++;
    size_t e = b;
    while (e > a && (text[e - 1] == '\r' || text[e - 1] == ' ' || text[e - 1] == '\t')) e--;
    size_t s = a;
    while (s < e && (text[s] == ' ' || text[s] == '\t')) s++;
    if (e > s) {
      char *line = eo_strndup(text + s, e - s), *p = NULL;
      if (!line) {
        st = eo_error(EO_ERR_NOMEM, "out of memory");
        break;
      }
      if (line[0] == '/') {
        p = line, line = NULL;
      } else {
        p = eo_path_join(dir, line);
        if (p && strncmp(line, "./", 2) != 0 && !eo_is_file(p) && eo_is_file(line)) {
          free(p);
          p = line, line = NULL;
        }
      }
      free(line);
      st = eo_strlist_push_take(out, p);
    }
    a = b + 1;
  }
  free(dir);
  free(text);
  return st;
}

/* Adds one split entry (a folder, a .txt list or an image), resolved against root. */
static eo_status add_entry(const char *yaml, int line, const char *root, const char *entry, eo_strlist *out) {
  char *p = eo_path_join(root, entry);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory");
  eo_status st;
  if (eo_is_dir(p)) st = eo_list_files(p, keep_image, out);
  else if (eo_is_file(p) && eo_has_suffix(p, ".txt")) st = read_list(p, out);
  else if (eo_is_file(p)) st = eo_strlist_push(out, p);
  else st = eo_error(EO_ERR_IO, "%s:%d: split entry '%s': no such folder or file (%s)", yaml, line, entry, p);
  free(p);
  return st;
}

static eo_status read_names(eo_dataset *ds, eo_yaml *y, yaml_node_t *names, const char *file) {
  if (names->type == YAML_SEQUENCE_NODE) {
    for (yaml_node_item_t *it = names->data.sequence.items.start; it < names->data.sequence.items.top; it++) {
      const char *s = eo_yaml_str(yaml_document_get_node(&y->doc, *it));
      if (!s) return eo_error(EO_ERR_PARSE, "%s:%d: names: expected a list of class names", file, eo_yaml_line(names));
      eo_status st = eo_strlist_push(&ds->classes, s);
      if (st != EO_OK) return st;
    }
    return EO_OK;
  }
  if (names->type != YAML_MAPPING_NODE)
    return eo_error(EO_ERR_PARSE, "%s:%d: names: expected a list or a mapping {0: name, ...}", file, eo_yaml_line(names));
  int n = (int)(names->data.mapping.pairs.top - names->data.mapping.pairs.start);
  for (int want = 0; want < n; want++) {
    const char *found = NULL;
    for (yaml_node_pair_t *p = names->data.mapping.pairs.start; p < names->data.mapping.pairs.top; p++) {
      yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
      const char *ks = eo_yaml_str(k);
      char *end;
      long id = ks ? strtol(ks, &end, 10) : -1;
      if (!ks || end == ks || *end || id < 0 || id >= n)
        return eo_error(EO_ERR_PARSE, "%s:%d: names: key '%s' is not a class id 0..%d", file, eo_yaml_line(k),
                        ks ? ks : "?", n - 1);
      if (id == want) found = eo_yaml_str(yaml_document_get_node(&y->doc, p->value));
    }
    if (!found) return eo_error(EO_ERR_PARSE, "%s:%d: names: no name for class %d", file, eo_yaml_line(names), want);
    eo_status st = eo_strlist_push(&ds->classes, found);
    if (st != EO_OK) return st;
  }
  return EO_OK;
}

eo_status eo_ds_open_yolo(eo_dataset *ds, const char *path) {
  char *yaml_path = eo_is_dir(path) ? eo_path_join(path, "data.yaml") : eo_strdup(path);
  char *text = NULL, *ydir = NULL, *root = NULL;
  size_t size;
  eo_yaml y = {0};
  yolo_impl *impl = calloc(1, sizeof *impl);
  eo_status st;
  if (!yaml_path || !impl) {
    free(impl);
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto done;
  }
  ds->impl = impl;
  ds->be = &yolo_backend;
  const char *yp = yaml_path;
  if ((st = eo_read_file(yp, (void **)&text, &size)) != EO_OK) goto done;
  if ((st = eo_yaml_parse(text, size, yp, &y)) != EO_OK) goto done;
  yaml_node_t *doc = eo_yaml_root(&y);
  if (!doc || doc->type != YAML_MAPPING_NODE) {
    st = eo_error(EO_ERR_PARSE, "%s: expected a mapping with path, train, val, test, names, nc", yp);
    goto done;
  }
  if (!(ydir = eo_path_dirname(yp))) goto nomem;
  yaml_node_t *pn = eo_yaml_get(&y, doc, "path");
  if (pn && !eo_yaml_is_null(pn)) {
    const char *p = eo_yaml_str(pn);
    if (!p) {
      st = eo_error(EO_ERR_PARSE, "%s:%d: path: expected a folder", yp, eo_yaml_line(pn));
      goto done;
    }
    if (!(root = eo_path_join(ydir, p))) goto nomem;
    if (!eo_is_dir(root) && p[0] != '/' && eo_is_dir(p)) {
      free(root);
      if (!(root = eo_strdup(p))) goto nomem;
    }
    if (!eo_is_dir(root)) {
      st = eo_error(EO_ERR_IO, "%s:%d: path '%s': no such folder (looked at %s and ./%s)", yp, eo_yaml_line(pn), p,
                    root, p);
      goto done;
    }
  } else if (!(root = eo_strdup(ydir))) {
    goto nomem;
  }

  /* classes: names and/or nc */
  yaml_node_t *names = eo_yaml_get(&y, doc, "names"), *ncn = eo_yaml_get(&y, doc, "nc");
  if (names && !eo_yaml_is_null(names) && (st = read_names(ds, &y, names, yp)) != EO_OK) goto done;
  impl->nc = ds->classes.n;
  if (ncn && !eo_yaml_is_null(ncn)) {
    const char *s = eo_yaml_str(ncn);
    char *end;
    long nc = s ? strtol(s, &end, 10) : -1;
    if (!s || end == s || *end || nc <= 0 || nc > 1000000) {
      st = eo_error(EO_ERR_PARSE, "%s:%d: nc: expected a positive integer", yp, eo_yaml_line(ncn));
      goto done;
    }
    if (ds->classes.n && nc != ds->classes.n) {
      st = eo_error(EO_ERR_PARSE, "%s:%d: nc = %ld but names lists %d classes", yp, eo_yaml_line(ncn), nc,
                    ds->classes.n);
      goto done;
    }
    if (!ds->classes.n) {
      for (long k = 0; k < nc; k++) {
        char nm[24];
        snprintf(nm, sizeof nm, "%ld", k);
        if ((st = eo_strlist_push(&ds->classes, nm)) != EO_OK) goto done;
      }
    }
    impl->nc = (int)nc;
  }
  if (impl->nc == 0) {
    st = eo_error(EO_ERR_PARSE, "%s: no classes: set names (a list or {id: name}) and/or nc", yp);
    goto done;
  }

  /* the split */
  yaml_node_t *sp = eo_yaml_get(&y, doc, ds->split);
  if (!sp || eo_yaml_is_null(sp)) {
    char have[64] = "";
    const char *splits[] = {"train", "val", "test"};
    for (int k = 0; k < 3; k++) {
      yaml_node_t *n = eo_yaml_get(&y, doc, splits[k]);
      if (n && !eo_yaml_is_null(n)) snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", *have ? ", " : "", splits[k]);
    }
    st = eo_error(EO_ERR_INVALID, "%s: no '%s' split (it has: %s)", yp, ds->split, *have ? have : "none");
    goto done;
  }
  if (sp->type == YAML_SCALAR_NODE) {
    st = add_entry(yp, eo_yaml_line(sp), root, eo_yaml_str(sp), &ds->files);
  } else if (sp->type == YAML_SEQUENCE_NODE) {
    for (yaml_node_item_t *it = sp->data.sequence.items.start; it < sp->data.sequence.items.top && st == EO_OK; it++) {
      yaml_node_t *e = yaml_document_get_node(&y.doc, *it);
      if (!eo_yaml_str(e)) st = eo_error(EO_ERR_PARSE, "%s:%d: %s: expected folder names", yp, eo_yaml_line(e), ds->split);
      else st = add_entry(yp, eo_yaml_line(e), root, eo_yaml_str(e), &ds->files);
    }
  } else {
    st = eo_error(EO_ERR_PARSE, "%s:%d: %s: expected a folder, a .txt list or a list of them", yp, eo_yaml_line(sp),
                  ds->split);
  }
  if (st != EO_OK) goto done;
  eo_strlist_sort(&ds->files);
  ds->total = ds->files.n;
  if (ds->total == 0)
    st = eo_error(EO_ERR_INVALID, "%s: empty data set: the '%s' split has no images (.jpg .jpeg .png .bmp) under %s",
                  yp, ds->split, root);
  goto done;
nomem:
  st = eo_error(EO_ERR_NOMEM, "out of memory");
done:
  eo_yaml_free(&y);
  free(text);
  free(ydir);
  free(root);
  free(yaml_path);
  return st;
}

eo_status eo_ds_open_images(eo_dataset *ds, const char *path) {
  yolo_impl *impl = calloc(1, sizeof *impl);
  if (!impl) return eo_error(EO_ERR_NOMEM, "out of memory");
  impl->nc = -1;
  ds->impl = impl;
  ds->be = &yolo_backend;
  eo_status st;
  if (eo_is_dir(path)) {
    /* a YOLO tree without data.yaml: DIR/images/<split>/ when it exists, else everything under DIR */
    char *img = eo_path_join(path, "images"), *sp = img ? eo_path_join(img, ds->split) : NULL;
    if (!img || !sp) st = eo_error(EO_ERR_NOMEM, "out of memory");
    else st = eo_list_files(eo_is_dir(sp) ? sp : path, keep_image, &ds->files);
    free(img);
    free(sp);
  } else if (eo_is_file(path) && eo_has_suffix(path, ".txt")) {
    st = read_list(path, &ds->files);
  } else {
    st = eo_error(EO_ERR_IO, "%s: expected a folder of images or a .txt list of them", path);
  }
  if (st != EO_OK) return st;
  eo_strlist_sort(&ds->files);
  ds->total = ds->files.n;
  if (ds->total == 0)
    return eo_error(EO_ERR_INVALID, "%s: empty data set: no images (.jpg .jpeg .png .bmp) found", path);
  return EO_OK;
}
