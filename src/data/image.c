/* Image decoding through stb_image (Debian libstb-dev, linked as libstb). */
#include <stb_image.h>
#include <string.h>

#include "core/core.h"
#include "edgeopt/data.h"

typedef enum { FMT_UNKNOWN, FMT_PNG, FMT_JPEG, FMT_BMP, FMT_OTHER } img_fmt;

/* The format from the first bytes: the extension may lie, and stb's own guess gives poor messages. */
static img_fmt sniff(const uint8_t *b, size_t n, const char **other) {
  if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return FMT_PNG;
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return FMT_JPEG;
  if (n >= 2 && b[0] == 'B' && b[1] == 'M') return FMT_BMP;
  static const struct { const char *magic; size_t len; const char *name; } others[] = {
      {"GIF8", 4, "GIF"}, {"II*\0", 4, "TIFF"}, {"MM\0*", 4, "TIFF"}, {"8BPS", 4, "PSD"},
      {"#?RADIANCE", 10, "HDR"}, {"\x00\x00\x00\x0cjP  ", 8, "JPEG 2000"}};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
    if (n >= others[i].len && memcmp(b, others[i].magic, others[i].len) == 0) {
      *other = others[i].name;
      return FMT_OTHER;
    }
  if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) {
    *other = "WebP";
    return FMT_OTHER;
  }
  return FMT_UNKNOWN;
}

static const char *fmt_name(img_fmt f) {
  return f == FMT_PNG ? "PNG" : f == FMT_JPEG ? "JPEG" : "BMP";
}

eo_status eo_image_decode(const void *data, size_t size, const char *label, eo_channel_order order,
                          eo_image *out) {
  memset(out, 0, sizeof *out);
  if (!label) label = "<memory>";
  if (order != EO_CHANNELS_RGB && order != EO_CHANNELS_BGR && order != EO_CHANNELS_GRAY)
    return eo_error(EO_ERR_INVALID, "%s: unknown channel order %d", label, (int)order);
  if (!data || size == 0) return eo_error(EO_ERR_PARSE, "%s: empty file, expected a PNG, JPEG or BMP image", label);
  if (size > (size_t)INT32_MAX) return eo_error(EO_ERR_UNSUPPORTED, "%s: file over 2 GiB", label);
  const char *other = NULL;
  img_fmt f = sniff(data, size, &other);
  if (f == FMT_OTHER)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: %s image; supported formats are PNG, JPEG and BMP", label, other);
  if (f == FMT_UNKNOWN) {
    const uint8_t *b = data;
    return eo_error(EO_ERR_PARSE, "%s: not a PNG, JPEG or BMP image (first bytes %02x %02x %02x %02x)", label,
                    b[0], size > 1 ? b[1] : 0, size > 2 ? b[2] : 0, size > 3 ? b[3] : 0);
  }
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp))
    return eo_error(EO_ERR_PARSE, "%s: cannot read the %s header (corrupt, truncated, or over stb_image's 1 GiB limit)",
                    label, fmt_name(f));
  if (w <= 0 || h <= 0 || (int64_t)w * h > EO_IMAGE_MAX_PIXELS)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: %s image of %dx%d pixels; at most %lld pixels are decoded", label,
                    fmt_name(f), w, h, (long long)EO_IMAGE_MAX_PIXELS);
  int want = order == EO_CHANNELS_GRAY ? 1 : 3;
  int rw = 0, rh = 0, rc = 0;
  uint8_t *px = stbi_load_from_memory(data, (int)size, &rw, &rh, &rc, want);
  if (!px)
    return eo_error(EO_ERR_PARSE, "%s: cannot decode %s (corrupt or truncated file; stb_image: %s)", label, fmt_name(f),
                    stbi_failure_reason());
  if (rw != w || rh != h) {
    stbi_image_free(px);
    return eo_error(EO_ERR_PARSE, "%s: %s header says %dx%d but decoded %dx%d", label, fmt_name(f), w, h, rw, rh);
  }
  size_t n = (size_t)w * (size_t)h * (size_t)want;
  /* Copy into malloc'd memory so the caller frees with free()/eo_image_free regardless of stb's allocator. */
  uint8_t *copy = eo_malloc(n);
  if (!copy) {
    stbi_image_free(px);
    return eo_error(EO_ERR_NOMEM, "%s: cannot allocate %zu bytes for a %dx%d image", label, n, w, h);
  }
  if (order == EO_CHANNELS_BGR) {
    for (size_t i = 0; i < n; i += 3) {
      copy[i] = px[i + 2];
      copy[i + 1] = px[i + 1];
      copy[i + 2] = px[i];
    }
  } else {
    memcpy(copy, px, n);
  }
  stbi_image_free(px);
  out->width = w;
  out->height = h;
  out->channels = want;
  out->data = copy;
  return EO_OK;
}

eo_status eo_image_load(const char *path, eo_channel_order order, eo_image *out) {
  memset(out, 0, sizeof *out);
  void *buf;
  size_t size;
  eo_status st = eo_read_file(path, &buf, &size);
  if (st != EO_OK) return st;
  st = eo_image_decode(buf, size, path, order, out);
  free(buf);
  return st;
}

void eo_image_free(eo_image *img) {
  if (!img) return;
  free(img->data);
  memset(img, 0, sizeof *img);
}
