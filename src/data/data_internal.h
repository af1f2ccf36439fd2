/* Internal to src/data: the data set object and its per-format backends, YAML and file helpers. */
#ifndef EO_DATA_INTERNAL_H
#define EO_DATA_INTERNAL_H

#include <yaml.h>

#include "core/core.h"
#include "edgeopt/data.h"

/* ---- YAML (libyaml document API) */
typedef struct eo_yaml {
  yaml_document_t doc;
  int loaded;
} eo_yaml;
/* Parses one document; messages name `label` and the line. An empty text gives a NULL root. */
eo_status eo_yaml_parse(const char *text, size_t len, const char *label, eo_yaml *y);
void eo_yaml_free(eo_yaml *y);
yaml_node_t *eo_yaml_root(eo_yaml *y);
yaml_node_t *eo_yaml_get(eo_yaml *y, yaml_node_t *map, const char *key); /* NULL: absent or not a map */
const char *eo_yaml_str(yaml_node_t *n); /* scalar text (NUL-terminated) or NULL */
int eo_yaml_line(yaml_node_t *n);        /* 1-based */
/* A boolean scalar (true/True/yes, false/False/no) into *out (1/0); false if n is not one. */
bool eo_yaml_bool(yaml_node_t *n, int *out);
/* YAML's null: "~", "null", "" for plain scalars. */
bool eo_yaml_is_null(yaml_node_t *n);

/* ---- files */
/* Case-insensitive ".jpg/.jpeg/.png/.bmp"; other image types (gif, tif, webp, ...) answer 2 so they
 * are listed and then reported as unsupported instead of vanishing. 0: not an image. */
int eo_image_ext(const char *path);
bool eo_is_dir(const char *path);
bool eo_is_file(const char *path);
bool eo_has_suffix(const char *s, const char *suffix); /* case-insensitive */
char *eo_path_join(const char *a, const char *b);     /* malloc'd; b absolute -> copy of b */
char *eo_path_dirname(const char *path);              /* malloc'd; "." for a bare name */

/* A growable list of malloc'd strings. */
typedef struct eo_strlist {
  char **v;
  int n, cap;
} eo_strlist;
eo_status eo_strlist_push(eo_strlist *l, const char *s);       /* copies s */
eo_status eo_strlist_push_take(eo_strlist *l, char *s);        /* takes s (frees it on failure) */
void eo_strlist_sort(eo_strlist *l);                           /* strcmp order */
void eo_strlist_free(eo_strlist *l);
/* Appends the files under dir (recursively, symlinks followed, hidden entries skipped) for which
 * keep(path) is true, then nothing else: the caller sorts. */
eo_status eo_list_files(const char *dir, bool (*keep)(const char *path), eo_strlist *out);

/* ---- data sets */
typedef struct eo_ds_backend {
  /* Fills the item's content for list index i (tensors, sizes, labels) through the dataset's
   * buffers. Returns a status naming the file (and line) for bad items. */
  eo_status (*load)(eo_dataset *ds, int64_t i);
  void (*rewind)(eo_dataset *ds); /* may be NULL */
  void (*free)(eo_dataset *ds);   /* frees ds->impl; may be NULL */
} eo_ds_backend;

struct eo_dataset {
  eo_dataset_format format;
  const eo_ds_backend *be;
  void *impl;
  eo_dataset_options opts;
  char *split, *path, *labels; /* owned copies behind opts.split / opts.labels */
  eo_preprocess pre;
  int64_t total;
  int64_t *sel; /* selected list indices, ascending; NULL: all */
  int64_t nsel, pos;
  eo_strlist classes;
  eo_strlist files; /* file-list backends: the item paths */
  /* the current item and its buffers */
  eo_data_item item;
  eo_tensor_view tensors[16];
  void *tbuf[16];
  size_t tcap[16];
  eo_data_box *boxes;
  int nboxes, boxcap;
  char *item_path;  /* owned when the backend builds the path (IDX) */
  char *label_path;
  int64_t nbad;
  eo_strlist bad;
};

/* Backends: fill the data set's list / impl / classes; `path` is what the user gave. */
eo_status eo_ds_open_yolo(eo_dataset *ds, const char *path);
eo_status eo_ds_open_images(eo_dataset *ds, const char *path);
eo_status eo_ds_open_imagefolder(eo_dataset *ds, const char *path);
eo_status eo_ds_open_idx(eo_dataset *ds, const char *path);
eo_status eo_ds_open_npy(eo_dataset *ds, const char *path);

/* Shared by image backends: decodes and preprocesses `file` into tensor 0 of the current item. */
eo_status eo_ds_load_image(eo_dataset *ds, const char *file);
/* Preprocesses an already decoded image into tensor 0 (IDX). */
eo_status eo_ds_preprocess(eo_dataset *ds, const eo_image *img, const char *label);
/* YOLO labels of `img_path`: reads the label file (if present) into the item's boxes; nc < 0 skips
 * the class id range check. */
eo_status eo_ds_load_yolo_labels(eo_dataset *ds, const char *img_path, int nc);
/* The Ultralytics label path: the last "/images/" becomes "/labels/", the extension ".txt". */
char *eo_yolo_label_path(const char *img_path);

#endif
