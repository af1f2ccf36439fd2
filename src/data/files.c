/* File-system helpers for the data set backends: listing, paths, string lists. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/data_internal.h"

bool eo_has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

int eo_image_ext(const char *path) {
  static const char *ok[] = {".jpg", ".jpeg", ".png", ".bmp"};
  static const char *other[] = {".gif", ".tif", ".tiff", ".webp", ".heic", ".dng", ".mpo", ".pfm", ".tga", ".psd"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (eo_has_suffix(path, ok[i])) return 1;
  for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
    if (eo_has_suffix(path, other[i])) return 2;
  return 0;
}

bool eo_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool eo_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *eo_path_join(const char *a, const char *b) {
  if (!a || !*a || b[0] == '/') return eo_strdup(b);
  size_t na = strlen(a), nb = strlen(b);
  /* "x/." and "./y" add nothing: keep paths in messages short */
  while (na > 1 && (a[na - 1] == '/' || (na > 2 && a[na - 1] == '.' && a[na - 2] == '/'))) na -= a[na - 1] == '/' ? 1 : 2;
  while (nb > 2 && b[0] == '.' && b[1] == '/') b += 2, nb -= 2;
  if (strcmp(b, ".") == 0) return eo_strndup(a, na);
  char *o = malloc(na + nb + 2);
  if (!o) return NULL;
  memcpy(o, a, na);
  o[na] = '/';
  memcpy(o + na + 1, b, nb + 1);
  return o;
}

char *eo_path_dirname(const char *path) {
  const char *s = strrchr(path, '/');
  if (!s) return eo_strdup(".");
  if (s == path) return eo_strdup("/");
  return eo_strndup(path, (size_t)(s - path));
}

eo_status eo_strlist_push_take(eo_strlist *l, char *s) {
  if (!s) return eo_error(EO_ERR_NOMEM, "out of memory (path list)");
  eo_status st = eo_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(char *));
  if (st != EO_OK) {
    free(s);
    return st;
  }
  l->v[l->n++] = s;
  return EO_OK;
}

eo_status eo_strlist_push(eo_strlist *l, const char *s) { return eo_strlist_push_take(l, eo_strdup(s)); }

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void eo_strlist_sort(eo_strlist *l) {
  if (l->n > 1) qsort(l->v, (size_t)l->n, sizeof(char *), cmp_str);
}

void eo_strlist_free(eo_strlist *l) {
  if (!l) return;
  for (int i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static eo_status list_rec(const char *dir, bool (*keep)(const char *), eo_strlist *out, int depth) {
  if (depth > 32) return eo_error(EO_ERR_INVALID, "%s: folders nested over 32 deep (a symlink loop?)", dir);
  DIR *d = opendir(dir);
  if (!d) return eo_error(EO_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
  eo_status st = EO_OK;
  struct dirent *e;
  while (st == EO_OK && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue; /* ., .., and hidden files (.DS_Store, .cache) */
    char *p = eo_path_join(dir, e->d_name);
    if (!p) {
      st = eo_error(EO_ERR_NOMEM, "out of memory listing %s", dir);
      break;
    }
    struct stat sb;
    if (stat(p, &sb) != 0) {
      free(p); /* a dangling symlink: not a file of the data set */
      continue;
    }
    if (S_ISDIR(sb.st_mode)) {
      st = list_rec(p, keep, out, depth + 1);
      free(p);
    } else if (S_ISREG(sb.st_mode) && keep(p)) {
      st = eo_strlist_push_take(out, p);
    } else {
      free(p);
    }
  }
  closedir(d);
  return st;
}

eo_status eo_list_files(const char *dir, bool (*keep)(const char *path), eo_strlist *out) {
  return list_rec(dir, keep, out, 0);
}
