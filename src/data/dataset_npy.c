/* A folder of .npy tensors: each DIR/x.npy is one item with one tensor, each DIR/item/ folder of .npy
 * files is one item with one tensor per file (named by the file stem: the model input it feeds).
 * Tensors are passed through as stored (no preprocessing). */
#include <dirent.h>
#include <string.h>

#include "core/npy.h"
#include "data/data_internal.h"

#define MAX_TENSORS 16

typedef struct {
  eo_strlist names; /* tensor names of the current item */
} npy_impl;

static bool keep_npy(const char *p) { return eo_has_suffix(p, ".npy"); }

static eo_status read_tensor(eo_dataset *ds, int k, const char *file) {
  npy_impl *x = ds->impl;
  eo_tensor_view *t = &ds->tensors[k];
  memset(t, 0, sizeof *t);
  free(ds->tbuf[k]);
  ds->tbuf[k] = NULL;
  ds->tcap[k] = 0;
  void *data;
  size_t nbytes;
  eo_status st = eo_npy_read(file, &t->dtype, &t->rank, t->dims, &data, &nbytes);
  if (st != EO_OK) return st;
  ds->tbuf[k] = data;
  ds->tcap[k] = nbytes;
  t->data = data;
  t->nbytes = nbytes;
  const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  if ((st = eo_strlist_push_take(&x->names, eo_strndup(base, strlen(base) - 4))) != EO_OK) return st;
  t->name = x->names.v[x->names.n - 1];
  return EO_OK;
}

static eo_status npy_load(eo_dataset *ds, int64_t i) {
  npy_impl *x = ds->impl;
  eo_strlist_free(&x->names);
  const char *item = ds->files.v[i];
  if (!eo_is_dir(item)) {
    eo_status st = read_tensor(ds, 0, item);
    if (st == EO_OK) ds->item.num_tensors = 1;
    return st;
  }
  eo_strlist files = {0};
  eo_status st = eo_list_files(item, keep_npy, &files);
  if (st == EO_OK && files.n == 0) st = eo_error(EO_ERR_INVALID, "%s: no .npy files in this item folder", item);
  if (st == EO_OK && files.n > MAX_TENSORS)
    st = eo_error(EO_ERR_UNSUPPORTED, "%s: %d .npy files; at most %d inputs per item", item, files.n, MAX_TENSORS);
  if (st == EO_OK) {
    eo_strlist_sort(&files);
    for (int k = 0; k < files.n && st == EO_OK; k++) st = read_tensor(ds, k, files.v[k]);
    if (st == EO_OK) ds->item.num_tensors = files.n;
  }
  eo_strlist_free(&files);
  return st;
}

static void npy_free(eo_dataset *ds) {
  npy_impl *x = ds->impl;
  if (x) eo_strlist_free(&x->names);
  free(x);
}

static const eo_ds_backend npy_backend = {npy_load, NULL, npy_free};

eo_status eo_ds_open_npy(eo_dataset *ds, const char *path) {
  npy_impl *x = calloc(1, sizeof *x);
  if (!x) return eo_error(EO_ERR_NOMEM, "out of memory");
  ds->impl = x;
  ds->be = &npy_backend;
  eo_status st = EO_OK;
  if (eo_is_file(path)) {
    st = eo_strlist_push(&ds->files, path);
  } else {
    DIR *d = opendir(path);
    if (!d) return eo_error(EO_ERR_IO, "%s: cannot open folder", path);
    for (struct dirent *e; st == EO_OK && (e = readdir(d)) != NULL;) {
      if (e->d_name[0] == '.') continue;
      char *p = eo_path_join(path, e->d_name);
      if (!p) st = eo_error(EO_ERR_NOMEM, "out of memory");
      else if ((eo_is_file(p) && keep_npy(p)) || eo_is_dir(p)) st = eo_strlist_push_take(&ds->files, p), p = NULL;
      free(p);
    }
    closedir(d);
  }
  if (st != EO_OK) return st;
  eo_strlist_sort(&ds->files);
  ds->total = ds->files.n;
  if (ds->total == 0) return eo_error(EO_ERR_INVALID, "%s: empty data set: no .npy files or item folders", path);
  return EO_OK;
}
