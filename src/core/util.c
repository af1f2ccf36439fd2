#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

void *eo_malloc(size_t n) { return malloc(n ? n : 1); }

void *eo_calloc(size_t n, size_t size) {
  size_t total;
  if (!eo_mul_size(n, size, &total)) return NULL;
  return calloc(total ? total : 1, 1);
}

void *eo_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }

char *eo_strdup(const char *s) { return s ? eo_strndup(s, strlen(s)) : NULL; }

char *eo_strndup(const char *s, size_t n) {
  if (!s) return NULL;
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

eo_status eo_grow(void **arr, int *cap, int need, size_t elem) {
  if (need <= *cap) return EO_OK;
  int ncap = *cap ? *cap : 8;
  while (ncap < need) {
    if (ncap > (1 << 29)) return eo_error(EO_ERR_NOMEM, "array too large (%d elements)", need);
    ncap *= 2;
  }
  size_t bytes;
  if (!eo_mul_size((size_t)ncap, elem, &bytes)) return eo_error(EO_ERR_NOMEM, "array too large");
  void *p = realloc(*arr, bytes);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory growing an array to %d elements", ncap);
  memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
  *arr = p;
  *cap = ncap;
  return EO_OK;
}

bool eo_mul_size(size_t a, size_t b, size_t *out) {
  if (a && b > SIZE_MAX / a) return false;
  *out = a * b;
  return true;
}

bool eo_mul_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }

int64_t eo_numel(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0 || !eo_mul_i64(n, dims[i], &n)) return -1;
  }
  return n;
}

const char *eo_shape_str(int rank, const int64_t *dims, char *buf, size_t cap) {
  size_t k = 0;
  if (cap == 0) return buf;
  buf[0] = 0;
  k += (size_t)snprintf(buf + k, cap - k, "[");
  for (int i = 0; i < rank && k < cap; i++) {
    if (dims[i] < 0)
      k += (size_t)snprintf(buf + k, cap - k, "%s?", i ? "," : "");
    else
      k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)dims[i]);
  }
  if (k < cap) snprintf(buf + k, cap - k, "]");
  return buf;
}

eo_status eo_read_file(const char *path, void **out, size_t *size) {
  *out = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return eo_error(EO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  if (fseek(f, 0, SEEK_END) != 0) goto io_fail;
  long len = ftell(f);
  if (len < 0 || fseek(f, 0, SEEK_SET) != 0) goto io_fail;
  void *buf = eo_malloc((size_t)len);
  if (!buf) {
    fclose(f);
    return eo_error(EO_ERR_NOMEM, "%s: cannot allocate %ld bytes", path, len);
  }
  if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
    free(buf);
    goto io_fail;
  }
  fclose(f);
  *out = buf;
  *size = (size_t)len;
  return EO_OK;
io_fail:
  fclose(f);
  return eo_error(EO_ERR_IO, "%s: read failed", path);
}

static size_t str_hash(const char *s) {
  size_t h = 1469598103934665603ull;  // FNV-1a
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

eo_status eo_strmap_put(eo_strmap *m, const char *key, int val) {
  if ((m->count + 1) * 2 > m->cap) {
    size_t ncap = m->cap ? m->cap * 2 : 64;
    const char **nk = calloc(ncap, sizeof *nk);
    int *nv = calloc(ncap, sizeof *nv);
    if (!nk || !nv) {
      free(nk);
      free(nv);
      return eo_error(EO_ERR_NOMEM, "out of memory (name table)");
    }
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->keys[i]) continue;
      size_t j = str_hash(m->keys[i]) & (ncap - 1);
      while (nk[j]) j = (j + 1) & (ncap - 1);
      nk[j] = m->keys[i];
      nv[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
  }
  size_t j = str_hash(key) & (m->cap - 1);
  while (m->keys[j]) {
    if (strcmp(m->keys[j], key) == 0) {
      m->vals[j] = val;
      return EO_OK;
    }
    j = (j + 1) & (m->cap - 1);
  }
  m->keys[j] = key;
  m->vals[j] = val;
  m->count++;
  return EO_OK;
}

int eo_strmap_get(const eo_strmap *m, const char *key) {
  if (!m->cap || !key) return -1;
  size_t j = str_hash(key) & (m->cap - 1);
  while (m->keys[j]) {
    if (strcmp(m->keys[j], key) == 0) return m->vals[j];
    j = (j + 1) & (m->cap - 1);
  }
  return -1;
}

void eo_strmap_free(eo_strmap *m) {
  free(m->keys);
  free(m->vals);
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->count = 0;
}

bool eo_env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

eo_status eo_write_file_atomic(const char *path, const void *data, size_t n) {
  static unsigned counter;
  size_t cap = strlen(path) + 48;
  char *tmp = malloc(cap);
  if (!tmp) return eo_error(EO_ERR_NOMEM, "out of memory");
  int fd = -1;
  for (int tries = 0; tries < 100; tries++) {
    snprintf(tmp, cap, "%s.tmp.%ld.%u", path, (long)getpid(), __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd >= 0 || errno != EEXIST) break;
  }
  if (fd < 0) {
    eo_status st = eo_error(EO_ERR_IO, "cannot write %s: cannot create a temporary file next to it (%s): %s", path,
                            tmp, strerror(errno));
    free(tmp);
    return st;
  }
  const char *buf = data;
  size_t done = 0;
  errno = 0;
  while (done < n) {
    ssize_t w = write(fd, buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  int err = done < n ? (errno ? errno : EIO) : 0;
  if (!err && fsync(fd) != 0 && errno != EINVAL) err = errno;
  if (close(fd) != 0 && !err) err = errno;
  if (!err && rename(tmp, path) != 0) err = errno;
  eo_status st = EO_OK;
  if (err) {
    unlink(tmp);
    st = eo_error(EO_ERR_IO, "cannot write %s: writing %zu bytes failed: %s", path, n, strerror(err));
  }
  free(tmp);
  return st;
}
