/* ImageFolder classification (torchvision's layout): ROOT/<class>/.../image, one folder per class,
 * class ids by sorted folder name, images sorted within each class. */
#include <dirent.h>
#include <string.h>

#include "data/data_internal.h"

typedef struct {
  int *class_of; /* per item */
} folder_impl;

static eo_status folder_load(eo_dataset *ds, int64_t i) {
  eo_status st = eo_ds_load_image(ds, ds->files.v[i]);
  if (st == EO_OK) ds->item.class_id = ((folder_impl *)ds->impl)->class_of[i];
  return st;
}

static void folder_free(eo_dataset *ds) {
  folder_impl *f = ds->impl;
  if (f) free(f->class_of);
  free(f);
}

static const eo_ds_backend folder_backend = {folder_load, NULL, folder_free};

static bool keep_image(const char *p) { return eo_image_ext(p) != 0; }

eo_status eo_ds_open_imagefolder(eo_dataset *ds, const char *path) {
  folder_impl *impl = calloc(1, sizeof *impl);
  if (!impl) return eo_error(EO_ERR_NOMEM, "out of memory");
  ds->impl = impl;
  ds->be = &folder_backend;
  if (!eo_is_dir(path)) return eo_error(EO_ERR_IO, "%s: not a folder (ImageFolder expects ROOT/<class>/<images>)", path);
  char *root = eo_path_join(path, ds->split);
  if (!root) return eo_error(EO_ERR_NOMEM, "out of memory");
  if (!eo_is_dir(root)) {
    free(root);
    root = eo_strdup(path);
    if (!root) return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  eo_status st = EO_OK;
  DIR *d = opendir(root);
  if (!d) {
    st = eo_error(EO_ERR_IO, "%s: cannot open folder", root);
    goto done;
  }
  for (struct dirent *e; st == EO_OK && (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.') continue;
    char *p = eo_path_join(root, e->d_name);
    if (!p) st = eo_error(EO_ERR_NOMEM, "out of memory");
    else if (eo_is_dir(p)) st = eo_strlist_push(&ds->classes, e->d_name);
    free(p);
  }
  closedir(d);
  if (st != EO_OK) goto done;
  eo_strlist_sort(&ds->classes);
  int cap = 0;
  for (int c = 0; c < ds->classes.n && st == EO_OK; c++) {
    char *cdir = eo_path_join(root, ds->classes.v[c]);
    if (!cdir) {
      st = eo_error(EO_ERR_NOMEM, "out of memory");
      break;
    }
    int before = ds->files.n;
    st = eo_list_files(cdir, keep_image, &ds->files);
    free(cdir);
    if (st != EO_OK) break;
    /* sort this class's files only: the list is class by class */
    eo_strlist part = {ds->files.v + before, ds->files.n - before, 0};
    eo_strlist_sort(&part);
    if ((st = eo_grow((void **)&impl->class_of, &cap, ds->files.n, sizeof(int))) != EO_OK) break;
    for (int k = before; k < ds->files.n; k++) impl->class_of[k] = c;
  }
  if (st == EO_OK) ds->total = ds->files.n;
  if (st == EO_OK && ds->total == 0)
    st = eo_error(EO_ERR_INVALID, "%s: empty data set: %d class folders but no images (.jpg .jpeg .png .bmp) in them",
                  root, ds->classes.n);
done:
  free(root);
  return st;
}
