/* The data set object every backend shares: format detection, the seeded subset, the streaming
 * iterator, skip_bad bookkeeping and the item buffers. */
#include <dirent.h>
#include <math.h>
#include <string.h>

#include "data/data_internal.h"

const char *eo_dataset_format_name(eo_dataset_format f) {
  static const char *n[] = {"auto", "yolo", "imagefolder", "idx", "npy", "images"};
  return (unsigned)f <= EO_DATASET_IMAGES ? n[f] : "?";
}

/* ---- format detection */

static bool is_idx_images_name(const char *name) { return strstr(name, "images-idx") != NULL; }

typedef struct {
  int images, npys, idx, dirs, dirs_with_npy;
  bool data_yaml, images_dir;
} dir_scan;

static bool has_npy_inside(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return false;
  bool found = false;
  for (struct dirent *e; !found && (e = readdir(d)) != NULL;) found = e->d_name[0] != '.' && eo_has_suffix(e->d_name, ".npy");
  closedir(d);
  return found;
}

static eo_status scan_dir(const char *dir, dir_scan *s) {
  memset(s, 0, sizeof *s);
  DIR *d = opendir(dir);
  if (!d) return eo_error(EO_ERR_IO, "%s: cannot open folder", dir);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.') continue;
    char *p = eo_path_join(dir, e->d_name);
    if (!p) {
      closedir(d);
      return eo_error(EO_ERR_NOMEM, "out of memory");
    }
    if (eo_is_dir(p)) {
      s->dirs++;
      if (strcmp(e->d_name, "images") == 0) s->images_dir = true;
      if (has_npy_inside(p)) s->dirs_with_npy++;
    } else if (strcmp(e->d_name, "data.yaml") == 0) {
      s->data_yaml = true;
    } else if (is_idx_images_name(e->d_name)) {
      s->idx++;
    } else if (eo_has_suffix(e->d_name, ".npy")) {
      s->npys++;
    } else if (eo_image_ext(e->d_name)) {
      s->images++;
    }
    free(p);
  }
  closedir(d);
  return EO_OK;
}

static eo_status detect(const char *path, eo_dataset_format *f) {
  if (eo_is_file(path)) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (eo_has_suffix(path, ".yaml") || eo_has_suffix(path, ".yml")) *f = EO_DATASET_YOLO;
    else if (eo_has_suffix(path, ".txt")) *f = EO_DATASET_IMAGES;
    else if (eo_has_suffix(path, ".npy")) *f = EO_DATASET_NPY;
    else if (strstr(base, "idx") || eo_has_suffix(path, "-ubyte") || eo_has_suffix(path, ".gz")) *f = EO_DATASET_IDX;
    else
      return eo_error(EO_ERR_INVALID,
                      "%s: cannot tell the data set format (expected data.yaml, an IDX file, a .txt list of images or "
                      "a folder)", path);
    return EO_OK;
  }
  if (!eo_is_dir(path)) return eo_error(EO_ERR_IO, "%s: no such file or folder", path);
  dir_scan s;
  eo_status st = scan_dir(path, &s);
  if (st != EO_OK) return st;
  if (s.data_yaml) *f = EO_DATASET_YOLO;
  else if (s.idx) *f = EO_DATASET_IDX;
  else if (s.images_dir || s.images) *f = EO_DATASET_IMAGES;
  else if (s.npys || s.dirs_with_npy) *f = EO_DATASET_NPY;
  else if (s.dirs) *f = EO_DATASET_IMAGEFOLDER;
  else
    return eo_error(EO_ERR_INVALID,
                    "%s: empty data set: no images (.jpg .jpeg .png .bmp), .npy files, IDX files, data.yaml or class "
                    "folders found", path);
  return EO_OK;
}

/* ---- subset */

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static eo_status make_subset(eo_dataset *ds) {
  int64_t n = ds->total, k = n;
  const eo_dataset_options *o = &ds->opts;
  if (o->limit > 0 && o->limit < k) k = o->limit;
  if (o->fraction > 0 && o->fraction < 1) {
    int64_t kf = (int64_t)floor(o->fraction * (double)n + 0.5);
    if (kf < 1) kf = 1;
    if (kf < k) k = kf;
  }
  ds->nsel = k;
  if (k == n) return EO_OK; /* the whole set, in order */
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)n);
  if (!idx) return eo_error(EO_ERR_NOMEM, "out of memory shuffling %lld items", (long long)n);
  for (int64_t i = 0; i < n; i++) idx[i] = i;
  uint64_t state = o->seed;
  for (int64_t i = n - 1; i >= 1; i--) {
    uint64_t bound = (uint64_t)i + 1, thresh = (0 - bound) % bound, r;
    do r = splitmix64(&state);
    while (r < thresh);
    int64_t j = (int64_t)(r % bound), t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  qsort(idx, (size_t)k, sizeof(int64_t), cmp_i64);
  int64_t *sel = realloc(idx, sizeof(int64_t) * (size_t)k);
  ds->sel = sel ? sel : idx;
  return EO_OK;
}

/* ---- open / iterate / free */

eo_status eo_dataset_open(const char *path, const eo_dataset_options *opts, const eo_preprocess *pre,
                          eo_dataset **out) {
  *out = NULL;
  if (!path || !*path) return eo_error(EO_ERR_INVALID, "data set: no path given");
  eo_dataset *ds = calloc(1, sizeof *ds);
  if (!ds) return eo_error(EO_ERR_NOMEM, "out of memory");
  if (opts) ds->opts = *opts;
  if (pre) ds->pre = *pre;
  else eo_preprocess_init(&ds->pre);
  eo_status st = EO_OK;
  const char *split = ds->opts.split ? ds->opts.split : "val";
  if (strcmp(split, "train") && strcmp(split, "val") && strcmp(split, "test")) {
    st = eo_error(EO_ERR_INVALID, "data set: split '%s'; expected train, val or test", split);
    goto fail;
  }
  ds->split = eo_strdup(split);
  ds->path = eo_strdup(path);
  ds->labels = eo_strdup(ds->opts.labels);
  ds->opts.split = ds->split;
  ds->opts.labels = ds->labels;
  if (!ds->split || !ds->path || (opts && opts->labels && !ds->labels)) {
    st = eo_error(EO_ERR_NOMEM, "out of memory");
    goto fail;
  }
  if (ds->opts.limit < 0 || !(ds->opts.fraction >= 0 && ds->opts.fraction <= 1)) {
    st = eo_error(EO_ERR_INVALID, "data set: limit %lld / fraction %g; expected limit >= 0 and fraction in [0, 1]",
                  (long long)ds->opts.limit, ds->opts.fraction);
    goto fail;
  }
  if ((unsigned)ds->opts.format > EO_DATASET_IMAGES) {
    st = eo_error(EO_ERR_INVALID, "data set: unknown format %d", (int)ds->opts.format);
    goto fail;
  }
  if ((st = eo_preprocess_validate(&ds->pre)) != EO_OK) goto fail;
  ds->format = ds->opts.format;
  if (ds->format == EO_DATASET_AUTO && (st = detect(path, &ds->format)) != EO_OK) goto fail;
  switch (ds->format) {
    case EO_DATASET_YOLO: st = eo_ds_open_yolo(ds, path); break;
    case EO_DATASET_IMAGES: st = eo_ds_open_images(ds, path); break;
    case EO_DATASET_IMAGEFOLDER: st = eo_ds_open_imagefolder(ds, path); break;
    case EO_DATASET_NPY: st = eo_ds_open_npy(ds, path); break;
    case EO_DATASET_IDX: st = eo_ds_open_idx(ds, path); break;
    default: st = eo_error(EO_ERR_INVALID, "data set: no format"); break;
  }
  if (st != EO_OK) goto fail;
  if (ds->total == 0) {
    st = eo_error(EO_ERR_INVALID, "%s: empty data set (%s, split %s): no items found", path,
                  eo_dataset_format_name(ds->format), ds->split);
    goto fail;
  }
  if ((st = make_subset(ds)) != EO_OK) goto fail;
  *out = ds;
  return EO_OK;
fail:
  eo_dataset_free(ds);
  return st;
}

static void reset_item(eo_dataset *ds) {
  eo_data_item *it = &ds->item;
  memset(it, 0, sizeof *it);
  it->class_id = -1;
  it->tensors = ds->tensors;
  it->boxes = ds->boxes;
  ds->nboxes = 0;
  free(ds->item_path);
  free(ds->label_path);
  ds->item_path = ds->label_path = NULL;
}

static eo_status record_bad(eo_dataset *ds) {
  ds->nbad++;
  if (ds->bad.n < EO_DATASET_MAX_BAD_MESSAGES) return eo_strlist_push(&ds->bad, eo_last_error());
  return EO_OK;
}

eo_status eo_dataset_next(eo_dataset *ds, const eo_data_item **item) {
  *item = NULL;
  if (!ds) return eo_error(EO_ERR_INVALID, "data set: NULL");
  while (ds->pos < ds->nsel) {
    int64_t i = ds->sel ? ds->sel[ds->pos] : ds->pos;
    ds->pos++;
    reset_item(ds);
    eo_status st = ds->be->load(ds, i);
    if (st == EO_OK) {
      ds->item.index = i;
      ds->item.boxes = ds->boxes;
      ds->item.num_boxes = ds->nboxes;
      ds->item.label_path = ds->label_path;
      if (!ds->item.path) ds->item.path = ds->item_path ? ds->item_path : ds->files.v[i];
      *item = &ds->item;
      return EO_OK;
    }
    if (!ds->opts.skip_bad || st == EO_ERR_NOMEM) return st;
    if ((st = record_bad(ds)) != EO_OK) return st;
  }
  reset_item(ds);
  return EO_OK;
}

eo_status eo_dataset_rewind(eo_dataset *ds) {
  if (!ds) return eo_error(EO_ERR_INVALID, "data set: NULL");
  ds->pos = 0;
  ds->nbad = 0;
  eo_strlist_free(&ds->bad);
  reset_item(ds);
  if (ds->be->rewind) ds->be->rewind(ds);
  return EO_OK;
}

void eo_dataset_free(eo_dataset *ds) {
  if (!ds) return;
  if (ds->be && ds->be->free) ds->be->free(ds);
  for (int k = 0; k < 16; k++) free(ds->tbuf[k]);
  free(ds->boxes);
  free(ds->item_path);
  free(ds->label_path);
  free(ds->sel);
  free(ds->split);
  free(ds->path);
  free(ds->labels);
  eo_strlist_free(&ds->classes);
  eo_strlist_free(&ds->files);
  eo_strlist_free(&ds->bad);
  free(ds);
}

eo_dataset_format eo_dataset_get_format(const eo_dataset *ds) { return ds ? ds->format : EO_DATASET_AUTO; }
int64_t eo_dataset_size(const eo_dataset *ds) { return ds ? ds->nsel : 0; }
int64_t eo_dataset_total(const eo_dataset *ds) { return ds ? ds->total : 0; }
int eo_dataset_num_classes(const eo_dataset *ds) { return ds ? ds->classes.n : 0; }
const char *eo_dataset_class_name(const eo_dataset *ds, int i) {
  return ds && i >= 0 && i < ds->classes.n ? ds->classes.v[i] : NULL;
}
int64_t eo_dataset_num_bad(const eo_dataset *ds) { return ds ? ds->nbad : 0; }
const char *eo_dataset_bad_message(const eo_dataset *ds, int i) {
  return ds && i >= 0 && i < ds->bad.n ? ds->bad.v[i] : NULL;
}

/* ---- shared by the image backends */

eo_status eo_ds_preprocess(eo_dataset *ds, const eo_image *img, const char *label) {
  eo_status st = eo_preprocess_image(&ds->pre, img, label, &ds->tbuf[0], &ds->tcap[0], &ds->tensors[0],
                                     &ds->item.transform);
  if (st != EO_OK) return st;
  ds->item.num_tensors = 1;
  ds->item.orig_width = img->width;
  ds->item.orig_height = img->height;
  return EO_OK;
}

eo_status eo_ds_load_image(eo_dataset *ds, const char *file) {
  eo_image img;
  eo_status st = eo_image_load(file, ds->pre.channels, &img);
  if (st != EO_OK) return st;
  st = eo_ds_preprocess(ds, &img, file);
  eo_image_free(&img);
  return st;
}
