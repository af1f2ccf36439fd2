/* NumPy .npy reader and writer (format: numpy/lib/format.py, NEP 1).
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0, uint32 LE for 2.0/3.0),
 * then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded
 * with spaces and a final '\n', then the raw array bytes. */
#include "core/npy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host (array bytes are used as they are in the file)"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* numpy itself refuses headers over 10000 bytes by default; leave room for generous writers. */
#define NPY_MAX_HEADER (1u << 20)

static const struct {
  char kind;
  int size;
  int dtype;
} npy_types[] = {
    {'f', 2, EO_FLOAT16}, {'f', 4, EO_FLOAT},  {'f', 8, EO_DOUBLE}, {'b', 1, EO_BOOL},
    {'i', 1, EO_INT8},    {'i', 2, EO_INT16},  {'i', 4, EO_INT32},  {'i', 8, EO_INT64},
    {'u', 1, EO_UINT8},   {'u', 2, EO_UINT16}, {'u', 4, EO_UINT32}, {'u', 8, EO_UINT64},
};
#define NPY_NTYPES (int)(sizeof npy_types / sizeof npy_types[0])

const char *eo_npy_descr(int dtype) {
  static const char *descr[] = {"<f2", "<f4", "<f8", "|b1", "|i1", "<i2",
                                "<i4", "<i8", "|u1", "<u2", "<u4", "<u8"};
  _Static_assert(sizeof descr / sizeof descr[0] == sizeof npy_types / sizeof npy_types[0],
                 "descr table must follow npy_types");
  for (int i = 0; i < NPY_NTYPES; i++)
    if (npy_types[i].dtype == dtype) return descr[i];
  return NULL;
}

/* ---- header parsing: a tiny reader for the subset of Python literals .npy headers use ---- */

typedef struct {
  const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool eat(cursor *c, char ch) {
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return true;
  }
  return false;
}

/* A quoted string without escapes ('...' or "..."), copied into out (NUL-terminated). */
static bool parse_str(cursor *c, char *out, size_t cap) {
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return false;
  char q = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != q) {
    if (*c->p == '\\' || n + 1 >= cap) return false;
    out[n++] = *c->p++;
  }
  if (c->p >= c->end) return false;
  c->p++;
  out[n] = 0;
  return true;
}

static bool parse_word(cursor *c, const char *w) {
  size_t n = strlen(w);
  skip_ws(c);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return false;
  c->p += n;
  return true;
}

/* Shape tuple: "()", "(3,)", "(1, 3, 224, 224)"; Python 2 writers added an 'L' suffix. */
static eo_status parse_shape(cursor *c, const char *name, int *rank, int64_t *dims) {
  *rank = 0;
  if (!eat(c, '(')) return eo_error(EO_ERR_PARSE, "%s: .npy header: 'shape' is not a tuple", name);
  for (;;) {
    skip_ws(c);
    if (eat(c, ')')) return EO_OK;
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
      return eo_error(EO_ERR_PARSE, "%s: .npy header: 'shape' expects non-negative integers", name);
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
      if (!eo_mul_i64(v, 10, &v) || __builtin_add_overflow(v, (int64_t)(*c->p - '0'), &v))
        return eo_error(EO_ERR_PARSE, "%s: .npy header: shape dimension overflows int64", name);
      c->p++;
    }
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l')) c->p++;
    if (*rank >= EO_MAX_RANK)
      return eo_error(EO_ERR_UNSUPPORTED, "%s: .npy array has more than %d dimensions", name, EO_MAX_RANK);
    dims[(*rank)++] = v;
    if (eat(c, ',')) continue;
    if (eat(c, ')')) return EO_OK;
    return eo_error(EO_ERR_PARSE, "%s: .npy header: malformed 'shape' tuple", name);
  }
}

static eo_status parse_descr(const char *descr, const char *name, int *dtype) {
  size_t n = strlen(descr);
  if (n < 3) goto unknown;
  char order = descr[0], kind = descr[1];
  char *endp;
  errno = 0;
  long size = strtol(descr + 2, &endp, 10);
  if (*endp || errno || size <= 0) goto unknown;
  if (order != '<' && order != '>' && order != '|' && order != '=') goto unknown;
  if (kind == '?') kind = 'b';
  for (int i = 0; i < NPY_NTYPES; i++) {
    if (npy_types[i].kind != kind || npy_types[i].size != size) continue;
    // Byte order is meaningless for one-byte types ('|'); '=' is native, i.e. little here.
    if (size > 1 && order == '>')
      return eo_error(EO_ERR_UNSUPPORTED,
                      "%s: .npy array is big-endian (descr '%s'); expected little-endian '<%c%ld' "
                      "(save it with arr.astype(arr.dtype.newbyteorder('<')))",
                      name, descr, kind, size);
    if (size > 1 && order == '|') goto unknown;
    *dtype = npy_types[i].dtype;
    return EO_OK;
  }
unknown:
  return eo_error(EO_ERR_UNSUPPORTED,
                  "%s: .npy dtype '%s' is not supported (expected one of f2 f4 f8 i1-i8 u1-u8 b1, "
                  "little-endian)",
                  name, descr);
}

/* Parses the dict text [h, h+len). */
static eo_status parse_header(const char *h, size_t len, const char *name, int *dtype, int *rank,
                              int64_t *dims) {
  cursor c = {h, h + len};
  bool have_descr = false, have_order = false, have_shape = false;
  eo_status st;
  if (!eat(&c, '{')) return eo_error(EO_ERR_PARSE, "%s: .npy header is not a dict", name);
  for (;;) {
    if (eat(&c, '}')) break;
    char key[32], val[64];
    if (!parse_str(&c, key, sizeof key) || !eat(&c, ':'))
      return eo_error(EO_ERR_PARSE, "%s: .npy header: malformed dict key", name);
    if (strcmp(key, "descr") == 0 && !have_descr) {
      if (eat(&c, '['))
        return eo_error(EO_ERR_UNSUPPORTED, "%s: .npy structured dtypes are not supported", name);
      if (!parse_str(&c, val, sizeof val))
        return eo_error(EO_ERR_PARSE, "%s: .npy header: 'descr' is not a string", name);
      if ((st = parse_descr(val, name, dtype)) != EO_OK) return st;
      have_descr = true;
    } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
      if (parse_word(&c, "True"))
        return eo_error(EO_ERR_UNSUPPORTED,
                        "%s: .npy array is in Fortran order; expected C order "
                        "(save np.ascontiguousarray(arr))",
                        name);
      if (!parse_word(&c, "False"))
        return eo_error(EO_ERR_PARSE, "%s: .npy header: 'fortran_order' is not True/False", name);
      have_order = true;
    } else if (strcmp(key, "shape") == 0 && !have_shape) {
      if ((st = parse_shape(&c, name, rank, dims)) != EO_OK) return st;
      have_shape = true;
    } else {
      return eo_error(EO_ERR_PARSE, "%s: .npy header: unexpected or repeated key '%s'", name, key);
    }
    if (eat(&c, ',')) continue;
    if (eat(&c, '}')) break;
    return eo_error(EO_ERR_PARSE, "%s: .npy header: expected ',' or '}' after '%s'", name, key);
  }
  skip_ws(&c);
  if (c.p != c.end) return eo_error(EO_ERR_PARSE, "%s: .npy header: trailing text after the dict", name);
  if (!have_descr || !have_order || !have_shape)
    return eo_error(EO_ERR_PARSE, "%s: .npy header lacks %s", name,
                    !have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'");
  return EO_OK;
}

/* Validates the fixed prefix (magic, version, length) in the first `avail` bytes. Sets *prefix
 * to its size (10 or 12) and *hlen to the header text length. */
static eo_status parse_prefix(const unsigned char *b, size_t avail, const char *name, size_t *prefix,
                              size_t *hlen) {
  if (avail < NPY_MAGIC_LEN + 2 || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
    return eo_error(EO_ERR_PARSE, "%s: not a .npy file (missing \\x93NUMPY magic)", name);
  int major = b[6], minor = b[7];
  if (minor != 0 || major < 1 || major > 3)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: .npy format version %d.%d (expected 1.0, 2.0 or 3.0)", name,
                    major, minor);
  *prefix = major == 1 ? 10 : 12;
  if (avail < *prefix) return eo_error(EO_ERR_PARSE, "%s: .npy file truncated in its header", name);
  *hlen = major == 1 ? (size_t)b[8] | (size_t)b[9] << 8
                     : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
  if (*hlen > NPY_MAX_HEADER)
    return eo_error(EO_ERR_PARSE, "%s: .npy header length %zu is implausible (limit %u)", name, *hlen,
                    NPY_MAX_HEADER);
  return EO_OK;
}

/* Byte count of the declared array; error on overflow. */
static eo_status data_bytes(const char *name, int dtype, int rank, const int64_t *dims, size_t *out) {
  int64_t n = eo_numel(rank, dims);
  if (n < 0 || !eo_dtype_bytes(dtype, n, out)) {
    char buf[160];
    return eo_error(EO_ERR_PARSE, "%s: .npy shape %s is too large", name, eo_shape_str(rank, dims, buf, sizeof buf));
  }
  return EO_OK;
}

static eo_status size_mismatch(const char *name, int dtype, int rank, const int64_t *dims, size_t want,
                               size_t have) {
  char buf[160];
  return eo_error(EO_ERR_PARSE, "%s: .npy %s %s needs %zu data bytes but the file has %zu%s", name,
                  eo_dtype_name(dtype), eo_shape_str(rank, dims, buf, sizeof buf), want, have,
                  have < want ? " (truncated)" : "");
}

static void clear_out(int *dtype, int *rank, void **data, size_t *nbytes) {
  *dtype = EO_DTYPE_UNDEFINED;
  *rank = 0;
  *data = NULL;
  *nbytes = 0;
}

eo_status eo_npy_parse(const void *buf, size_t size, const char *name, int *dtype, int *rank,
                       int64_t dims[EO_MAX_RANK], void **data, size_t *nbytes) {
  clear_out(dtype, rank, data, nbytes);
  if (!name) name = "<memory>";
  const unsigned char *b = buf;
  size_t prefix = 0, hlen = 0, want = 0;
  int dt, rk;
  int64_t d[EO_MAX_RANK];
  eo_status st = parse_prefix(b, size, name, &prefix, &hlen);
  if (st != EO_OK) return st;
  if (size - prefix < hlen) return eo_error(EO_ERR_PARSE, "%s: .npy file truncated in its header", name);
  if ((st = parse_header((const char *)b + prefix, hlen, name, &dt, &rk, d)) != EO_OK) return st;
  if ((st = data_bytes(name, dt, rk, d, &want)) != EO_OK) return st;
  size_t have = size - prefix - hlen;
  if (have != want) return size_mismatch(name, dt, rk, d, want, have);
  void *p = eo_malloc(want);
  if (!p) return eo_error(EO_ERR_NOMEM, "%s: cannot allocate %zu bytes", name, want);
  memcpy(p, b + prefix + hlen, want);
  *dtype = dt;
  *rank = rk;
  memcpy(dims, d, sizeof(int64_t) * (size_t)rk);
  *data = p;
  *nbytes = want;
  return EO_OK;
}

eo_status eo_npy_read(const char *path, int *dtype, int *rank, int64_t dims[EO_MAX_RANK], void **data,
                      size_t *nbytes) {
  clear_out(dtype, rank, data, nbytes);
  char *hdr = NULL;
  void *p = NULL;
  eo_status st;
  FILE *f = fopen(path, "rb");
  if (!f) return eo_error(EO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  long flen;
  if (fseek(f, 0, SEEK_END) != 0 || (flen = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    st = eo_error(EO_ERR_IO, "%s: cannot determine the file size", path);
    goto fail;
  }
  unsigned char pre[12];
  size_t got = fread(pre, 1, sizeof pre, f);
  size_t prefix = 0, hlen = 0, want = 0;
  if ((st = parse_prefix(pre, got, path, &prefix, &hlen)) != EO_OK) goto fail;
  // The header is checked against the real file size before anything sized by it is allocated.
  if ((size_t)flen < prefix || (size_t)flen - prefix < hlen) {
    st = eo_error(EO_ERR_PARSE, "%s: .npy file truncated in its header", path);
    goto fail;
  }
  if (!(hdr = eo_malloc(hlen)) || fseek(f, (long)prefix, SEEK_SET) != 0 || fread(hdr, 1, hlen, f) != hlen) {
    st = hdr ? eo_error(EO_ERR_IO, "%s: read failed", path) : eo_error(EO_ERR_NOMEM, "out of memory");
    goto fail;
  }
  int dt, rk;
  int64_t d[EO_MAX_RANK];
  if ((st = parse_header(hdr, hlen, path, &dt, &rk, d)) != EO_OK) goto fail;
  if ((st = data_bytes(path, dt, rk, d, &want)) != EO_OK) goto fail;
  size_t have = (size_t)flen - prefix - hlen;
  if (have != want) {
    st = size_mismatch(path, dt, rk, d, want, have);
    goto fail;
  }
  if (!(p = eo_malloc(want))) {
    st = eo_error(EO_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, want);
    goto fail;
  }
  if (fread(p, 1, want, f) != want) {
    st = eo_error(EO_ERR_IO, "%s: read failed", path);
    goto fail;
  }
  fclose(f);
  free(hdr);
  *dtype = dt;
  *rank = rk;
  memcpy(dims, d, sizeof(int64_t) * (size_t)rk);
  *data = p;
  *nbytes = want;
  return EO_OK;
fail:
  fclose(f);
  free(hdr);
  free(p);
  return st;
}

eo_status eo_npy_write(const char *path, int dtype, int rank, const int64_t *dims, const void *data) {
  const char *descr = eo_npy_descr(dtype);
  if (!descr)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: dtype %s cannot be written as .npy", path, eo_dtype_name(dtype));
  if (rank < 0 || rank > EO_MAX_RANK)
    return eo_error(EO_ERR_INVALID, "%s: rank %d out of range 0..%d", path, rank, EO_MAX_RANK);
  char sbuf[160];
  int64_t numel = eo_numel(rank, dims);
  size_t nbytes;
  if (numel < 0 || !eo_dtype_bytes(dtype, numel, &nbytes))
    return eo_error(EO_ERR_INVALID, "%s: shape %s has a negative dimension or is too large", path,
                    eo_shape_str(rank, dims, sbuf, sizeof sbuf));
  if (nbytes && !data) return eo_error(EO_ERR_INVALID, "%s: no data for a non-empty array", path);

  // Header: 8 dims of 20 digits fit easily in 512 bytes; total length padded to 64 with '\n' last.
  char h[512];
  int k = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < rank; i++) k += snprintf(h + k, sizeof h - (size_t)k, "%s%lld", i ? ", " : "", (long long)dims[i]);
  k += snprintf(h + k, sizeof h - (size_t)k, "%s), }", rank == 1 ? "," : "");
  size_t total = 10 + (size_t)k + 1;
  size_t padded = (total + 63) / 64 * 64;
  size_t hlen = padded - 10;
  memset(h + k, ' ', hlen - (size_t)k);
  h[hlen - 1] = '\n';

  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                           (unsigned char)(hlen >> 8)};
  FILE *f = fopen(path, "wb");
  if (!f) return eo_error(EO_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
  bool ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fwrite(h, 1, hlen, f) == hlen &&
            (nbytes == 0 || fwrite(data, 1, nbytes, f) == nbytes);
  int saved = errno;
  if (fclose(f) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok) return eo_error(EO_ERR_IO, "%s: write failed: %s", path, strerror(saved));
  return EO_OK;
}
