/* Provenance of a packaged model: the identity of the calibration data (eo_sha256_tree). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "pipeline_internal.h"

typedef struct manifest {
  char *text;
  size_t len, cap;
  int64_t files;
} manifest;

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static eo_status append(manifest *m, const char *s, size_t n) {
  if (m->len + n + 1 > m->cap) {
    size_t cap = (m->len + n + 1) * 2;
    char *t = realloc(m->text, cap);
    if (!t) return eo_error(EO_ERR_NOMEM, "out of memory");
    m->text = t, m->cap = cap;
  }
  memcpy(m->text + m->len, s, n);
  m->len += n;
  return EO_OK;
}

/* Every regular file below dir (rel: its path from the root), sorted, hashed into m. */
static eo_status walk(const char *dir, const char *rel, manifest *m, int depth) {
  if (depth > 32) return eo_error(EO_ERR_INVALID, "%s: folders nested too deep to hash", dir);
  DIR *d = opendir(dir);
  if (!d) return eo_error(EO_ERR_IO, "%s: cannot open the folder to hash it", dir);
  char **names = NULL;
  int n = 0, cap = 0;
  eo_status st = EO_OK;
  for (struct dirent *e; !st && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;  // ., .., hidden files: not data
    if (!(st = eo_grow((void **)&names, &cap, n + 1, sizeof *names)) && !(names[n] = eo_strdup(e->d_name)))
      st = eo_error(EO_ERR_NOMEM, "out of memory");
    if (!st) n++;
  }
  closedir(d);
  if (!st && n) qsort(names, (size_t)n, sizeof *names, cmp_names);
  for (int i = 0; i < n && !st; i++) {
    size_t lp = strlen(dir) + strlen(names[i]) + 2, lr = strlen(rel) + strlen(names[i]) + 2;
    char *path = malloc(lp), *r = malloc(lr);
    struct stat sb;
    if (!path || !r) st = eo_error(EO_ERR_NOMEM, "out of memory");
    if (!st) {
      snprintf(path, lp, "%s/%s", dir, names[i]);
      snprintf(r, lr, "%s%s%s", rel, *rel ? "/" : "", names[i]);
      if (stat(path, &sb) != 0) st = eo_error(EO_ERR_IO, "%s: cannot stat", path);
    }
    if (!st && S_ISDIR(sb.st_mode)) st = walk(path, r, m, depth + 1);
    else if (!st && S_ISREG(sb.st_mode)) {
      char hex[65];
      if (!(st = eo_sha256_file(path, hex)) && !(st = append(m, r, strlen(r) + 1)) && !(st = append(m, hex, 64)))
        st = append(m, "\n", 1);
      m->files++;
    }
    free(path);
    free(r);
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  return st;
}

eo_status eo_sha256_tree(const char *path, char hex[65], int64_t *files) {
  struct stat sb;
  *files = 0;
  if (stat(path, &sb) != 0) return eo_error(EO_ERR_IO, "%s: cannot stat", path);
  if (!S_ISDIR(sb.st_mode)) {
    *files = 1;
    return eo_sha256_file(path, hex);
  }
  manifest m = {0};
  eo_status st = walk(path, "", &m, 0);
  if (!st) st = eo_sha256_buffer(m.text ? m.text : "", m.len, hex);
  *files = m.files;
  free(m.text);
  return st;
}
