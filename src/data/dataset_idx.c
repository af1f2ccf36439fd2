/* IDX files (MNIST, Fashion-MNIST): ubyte images [N,H,W] or [N,H,W,C] and ubyte labels [N], gzip'd or
 * not (zlib reads both). Records are read one at a time, seeking forward in the stream. */
#include <dirent.h>
#include <string.h>
#include <zlib.h>

#include "data/data_internal.h"

typedef struct {
  char *img_path, *lbl_path; /* lbl_path NULL: no labels */
  gzFile gi, gl;
  int64_t n;
  int h, w, c;
  size_t rec;
  long img_hdr;
  uint8_t *buf;
} idx_impl;

static uint32_t be32(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static eo_status read_exact(gzFile g, void *dst, size_t n, const char *file, const char *what) {
  int got = gzread(g, dst, (unsigned)n);
  if (got < 0) {
    int err;
    const char *msg = gzerror(g, &err);
    return eo_error(EO_ERR_PARSE, "%s: cannot read %s: %s", file, what, msg ? msg : "zlib error");
  }
  if ((size_t)got != n) return eo_error(EO_ERR_PARSE, "%s: truncated: the file ends inside %s", file, what);
  return EO_OK;
}

static eo_status seek_to(gzFile g, long off, const char *file) {
  if (gztell(g) == off) return EO_OK;
  if (gzseek(g, off, SEEK_SET) != off) return eo_error(EO_ERR_PARSE, "%s: truncated: cannot reach byte %ld", file, off);
  return EO_OK;
}

static eo_status idx_load(eo_dataset *ds, int64_t i) {
  idx_impl *x = ds->impl;
  free(ds->item_path);
  size_t n = strlen(x->img_path) + 24;
  if (!(ds->item_path = malloc(n))) return eo_error(EO_ERR_NOMEM, "out of memory");
  snprintf(ds->item_path, n, "%s#%lld", x->img_path, (long long)i);
  char what[64];
  snprintf(what, sizeof what, "record %lld", (long long)i);
  eo_status st = seek_to(x->gi, x->img_hdr + (long)(i * (int64_t)x->rec), x->img_path);
  if (st == EO_OK) st = read_exact(x->gi, x->buf, x->rec, x->img_path, what);
  if (st != EO_OK) return st;
  if (x->gl) {
    uint8_t lab;
    if ((st = seek_to(x->gl, 8 + (long)i, x->lbl_path)) != EO_OK) return st;
    if ((st = read_exact(x->gl, &lab, 1, x->lbl_path, what)) != EO_OK) return st;
    ds->item.class_id = lab;
  }
  if (x->c == 3 && ds->pre.channels == EO_CHANNELS_BGR)
    for (size_t k = 0; k < x->rec; k += 3) {
      uint8_t t = x->buf[k];
      x->buf[k] = x->buf[k + 2];
      x->buf[k + 2] = t;
    }
  eo_image img = {x->w, x->h, x->c, x->buf};
  return eo_ds_preprocess(ds, &img, ds->item_path);
}

static void idx_free(eo_dataset *ds) {
  idx_impl *x = ds->impl;
  if (!x) return;
  if (x->gi) gzclose(x->gi);
  if (x->gl) gzclose(x->gl);
  free(x->img_path);
  free(x->lbl_path);
  free(x->buf);
  free(x);
}

static const eo_ds_backend idx_backend = {idx_load, NULL, idx_free};

/* DIR/<prefix>-images-idx3-ubyte[.gz] for the split (train -> train, val/test -> t10k). */
static eo_status find_images(const char *dir, const char *split, char **out) {
  const char *prefix = strcmp(split, "train") == 0 ? "train-" : "t10k-";
  eo_strlist hits = {0};
  DIR *d = opendir(dir);
  if (!d) return eo_error(EO_ERR_IO, "%s: cannot open folder", dir);
  eo_status st = EO_OK;
  for (struct dirent *e; st == EO_OK && (e = readdir(d)) != NULL;)
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, "images-idx")) st = eo_strlist_push(&hits, e->d_name);
  closedir(d);
  if (st == EO_OK && hits.n == 0)
    st = eo_error(EO_ERR_IO, "%s: no %simages-idx3-ubyte[.gz] file for split '%s'", dir, prefix, split);
  if (st == EO_OK) {
    eo_strlist_sort(&hits);
    *out = eo_path_join(dir, hits.v[0]);
    if (!*out) st = eo_error(EO_ERR_NOMEM, "out of memory");
  }
  eo_strlist_free(&hits);
  return st;
}

eo_status eo_ds_open_idx(eo_dataset *ds, const char *path) {
  idx_impl *x = calloc(1, sizeof *x);
  if (!x) return eo_error(EO_ERR_NOMEM, "out of memory");
  ds->impl = x;
  ds->be = &idx_backend;
  eo_status st;
  if (eo_is_dir(path)) {
    if ((st = find_images(path, ds->split, &x->img_path)) != EO_OK) return st;
  } else if (!(x->img_path = eo_strdup(path))) {
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  const char *ip = x->img_path;
  if (!(x->gi = gzopen(ip, "rb"))) return eo_error(EO_ERR_IO, "%s: cannot open", ip);
  uint8_t hdr[20];
  if ((st = read_exact(x->gi, hdr, 4, ip, "the IDX header")) != EO_OK) return st;
  int ndim = hdr[3];
  if (hdr[0] || hdr[1] || hdr[2] != 0x08 || (ndim != 3 && ndim != 4))
    return eo_error(EO_ERR_PARSE,
                    "%s: not an IDX image file of unsigned bytes: magic %02x %02x %02x %02x, expected 00 00 08 03 "
                    "([N,H,W]) or 00 00 08 04 ([N,H,W,C])", ip, hdr[0], hdr[1], hdr[2], hdr[3]);
  if ((st = read_exact(x->gi, hdr + 4, 4 * (size_t)ndim, ip, "the IDX header")) != EO_OK) return st;
  uint32_t n = be32(hdr + 4), h = be32(hdr + 8), w = be32(hdr + 12), c = ndim == 4 ? be32(hdr + 16) : 1;
  if (h == 0 || w == 0 || h > 32768 || w > 32768 || (c != 1 && c != 3) || (int64_t)h * w > EO_IMAGE_MAX_PIXELS)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: IDX images of %ux%u with %u channels; expected 1 or 3 channels, sides <= 32768",
                    ip, w, h, c);
  x->n = n, x->h = (int)h, x->w = (int)w, x->c = (int)c;
  x->rec = (size_t)h * w * c;
  x->img_hdr = 4 + 4L * ndim;
  if (!(x->buf = malloc(x->rec))) return eo_error(EO_ERR_NOMEM, "out of memory");

  /* labels: the given file, else the images file's name with images-idx3 -> labels-idx1 if it exists */
  bool given = ds->opts.labels != NULL;
  if (given) {
    x->lbl_path = eo_strdup(ds->opts.labels);
  } else {
    char *dir = eo_path_dirname(ip);
    const char *base = strrchr(ip, '/') ? strrchr(ip, '/') + 1 : ip, *at = strstr(base, "images-idx");
    if (dir && at) {
      size_t nb = strlen(base);
      char *name = malloc(nb + 2);
      if (name) {
        memcpy(name, base, (size_t)(at - base));
        strcpy(name + (at - base), "labels-idx1");
        strcat(name, at + strlen("images-idx3"));
        x->lbl_path = strchr(ip, '/') ? eo_path_join(dir, name) : eo_strdup(name);
        free(name);
      }
    }
    free(dir);
    if (x->lbl_path && !eo_is_file(x->lbl_path)) { /* the labels may be gzip'd when the images are not, or back */
      size_t n = strlen(x->lbl_path);
      char *alt = malloc(n + 4);
      if (alt) {
        memcpy(alt, x->lbl_path, n + 1);
        if (eo_has_suffix(alt, ".gz")) alt[n - 3] = 0;
        else strcat(alt, ".gz");
      }
      free(x->lbl_path);
      x->lbl_path = NULL;
      if (alt && eo_is_file(alt)) x->lbl_path = alt;
      else free(alt);
    }
  }
  if (x->lbl_path) {
    const char *lp = x->lbl_path;
    if (!(x->gl = gzopen(lp, "rb"))) return eo_error(EO_ERR_IO, "%s: cannot open", lp);
    if ((st = read_exact(x->gl, hdr, 8, lp, "the IDX header")) != EO_OK) return st;
    if (hdr[0] || hdr[1] || hdr[2] != 0x08 || hdr[3] != 1)
      return eo_error(EO_ERR_PARSE, "%s: not an IDX label file: magic %02x %02x %02x %02x, expected 00 00 08 01", lp,
                      hdr[0], hdr[1], hdr[2], hdr[3]);
    if (be32(hdr + 4) != n)
      return eo_error(EO_ERR_PARSE, "%s: %u labels for the %u images of %s", lp, be32(hdr + 4), n, ip);
  } else if (given) {
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  ds->total = x->n;
  if (ds->total == 0) return eo_error(EO_ERR_INVALID, "%s: empty data set: the IDX header says 0 images", ip);
  return EO_OK;
}
