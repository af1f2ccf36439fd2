/* The preprocessing pipeline on one image: channels -> resize -> crop/pad -> normalize -> layout,
 * and the geometric transform it records. The config fields and their files: preprocess_config.c. */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "edgeopt/data.h"

#define MAX_SIDE (1 << 15)

void eo_preprocess_init(eo_preprocess *p) {
  memset(p, 0, sizeof *p);
  p->resize = EO_RESIZE_NONE;
  p->pad_value = 114;
  p->scale = 1.0f / 255.0f;
  for (int c = 0; c < 3; c++) p->std[c] = 1.0f;
  p->channels = EO_CHANNELS_RGB;
  p->layout = EO_LAYOUT_NCHW;
  p->dtype = EO_FLOAT;
  p->quant_scale = 1.0f;
}

static int nchan(const eo_preprocess *p) { return p->channels == EO_CHANNELS_GRAY ? 1 : 3; }

eo_status eo_preprocess_validate(const eo_preprocess *p) {
  if ((unsigned)p->resize > EO_RESIZE_SHORTER)
    return eo_error(EO_ERR_INVALID, "preprocess: resize mode %d is not none, stretch, letterbox or shorter", (int)p->resize);
  if ((unsigned)p->channels > EO_CHANNELS_GRAY)
    return eo_error(EO_ERR_INVALID, "preprocess: channels %d is not rgb, bgr or gray", (int)p->channels);
  if ((unsigned)p->layout > EO_LAYOUT_NHWC)
    return eo_error(EO_ERR_INVALID, "preprocess: layout %d is not nchw or nhwc", (int)p->layout);
  if (p->dtype != EO_FLOAT && p->dtype != EO_UINT8 && p->dtype != EO_INT8)
    return eo_error(EO_ERR_INVALID, "preprocess: dtype %s; expected float32, uint8 or int8", eo_dtype_name(p->dtype));
  const struct { const char *name; int v; } sizes[] = {
      {"width", p->width}, {"height", p->height}, {"resize_width", p->resize_width},
      {"resize_height", p->resize_height}, {"resize_shorter", p->resize_shorter},
      {"crop_width", p->crop_width}, {"crop_height", p->crop_height}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    if (sizes[i].v < 0 || sizes[i].v > MAX_SIDE)
      return eo_error(EO_ERR_INVALID, "preprocess: %s = %d; expected 0 (unset) to %d", sizes[i].name, sizes[i].v, MAX_SIDE);
  if ((p->width == 0) != (p->height == 0))
    return eo_error(EO_ERR_INVALID, "preprocess: width = %d, height = %d; set both or neither", p->width, p->height);
  if ((p->crop_width == 0) != (p->crop_height == 0))
    return eo_error(EO_ERR_INVALID, "preprocess: crop_width = %d, crop_height = %d; set both or neither",
                    p->crop_width, p->crop_height);
  if ((p->resize_width == 0) != (p->resize_height == 0))
    return eo_error(EO_ERR_INVALID, "preprocess: resize_width = %d, resize_height = %d; set both or neither",
                    p->resize_width, p->resize_height);
  if ((p->resize == EO_RESIZE_STRETCH || p->resize == EO_RESIZE_LETTERBOX) && !p->resize_width && !p->width)
    return eo_error(EO_ERR_INVALID, "preprocess: resize %s needs a size: set width/height or resize_width/resize_height",
                    p->resize == EO_RESIZE_STRETCH ? "stretch" : "letterbox");
  if (p->resize == EO_RESIZE_SHORTER && !p->resize_shorter && !p->width)
    return eo_error(EO_ERR_INVALID, "preprocess: resize shorter needs resize_shorter (or width/height)");
  if (p->width && p->crop_width && (p->crop_width != p->width || p->crop_height != p->height))
    return eo_error(EO_ERR_INVALID, "preprocess: crop %dx%d differs from the input size %dx%d", p->crop_width,
                    p->crop_height, p->width, p->height);
  if (p->width && !p->crop_width && p->resize_width &&
      (p->resize == EO_RESIZE_STRETCH || p->resize == EO_RESIZE_LETTERBOX) &&
      (p->resize_width != p->width || p->resize_height != p->height))
    return eo_error(EO_ERR_INVALID, "preprocess: resize to %dx%d without a crop cannot give the input size %dx%d",
                    p->resize_width, p->resize_height, p->width, p->height);
  if (p->pad_value < 0 || p->pad_value > 255)
    return eo_error(EO_ERR_INVALID, "preprocess: pad_value = %d; expected 0..255", p->pad_value);
  if (!isfinite(p->scale)) return eo_error(EO_ERR_INVALID, "preprocess: scale is not a finite number");
  for (int c = 0; c < 3; c++) {
    if (!isfinite(p->mean[c])) return eo_error(EO_ERR_INVALID, "preprocess: mean[%d] is not a finite number", c);
    if (!isfinite(p->std[c]) || p->std[c] == 0.0f)
      return eo_error(EO_ERR_INVALID, "preprocess: std[%d] = %g; expected a finite non-zero number", c, (double)p->std[c]);
  }
  if (p->dtype != EO_FLOAT) {
    if (!isfinite(p->quant_scale) || p->quant_scale <= 0.0f)
      return eo_error(EO_ERR_INVALID, "preprocess: quant_scale = %g; expected > 0", (double)p->quant_scale);
    int lo = p->dtype == EO_UINT8 ? 0 : -128, hi = p->dtype == EO_UINT8 ? 255 : 127;
    if (p->quant_zero_point < lo || p->quant_zero_point > hi)
      return eo_error(EO_ERR_INVALID, "preprocess: quant_zero_point = %d outside %s's %d..%d", p->quant_zero_point,
                      eo_dtype_name(p->dtype), lo, hi);
  }
  return EO_OK;
}

void eo_transform_boxes_to_original(const eo_img_transform *t, int n, float *b) {
  float W = (float)t->orig_width, H = (float)t->orig_height;
  for (int i = 0; i < n; i++, b += 4) {
    for (int k = 0; k < 4; k += 2) {
      float x = (b[k] - t->pad_x) / t->scale_x, y = (b[k + 1] - t->pad_y) / t->scale_y;
      b[k] = x < 0 ? 0 : x > W ? W : x;
      b[k + 1] = y < 0 ? 0 : y > H ? H : y;
    }
  }
}

void eo_transform_boxes_to_input(const eo_img_transform *t, int n, float *b) {
  for (int i = 0; i < n; i++, b += 4) {
    for (int k = 0; k < 4; k += 2) {
      b[k] = b[k] * t->scale_x + t->pad_x;
      b[k + 1] = b[k + 1] * t->scale_y + t->pad_y;
    }
  }
}

/* Source index and weight of each destination column/row, as OpenCV's INTER_LINEAR computes them. */
typedef struct { int i0, i1; float f; } tap;

static void make_taps(int src, int dst, tap *t) {
  float scale = (float)src / (float)dst;
  for (int d = 0; d < dst; d++) {
    float s = ((float)d + 0.5f) * scale - 0.5f;
    float fl = floorf(s);
    int i0 = (int)fl;
    float f = s - fl;
    if (i0 < 0) {
      i0 = 0;
      f = 0.0f;
    }
    if (i0 >= src - 1) {
      i0 = src - 1;
      f = 0.0f;
    }
    t[d].i0 = i0;
    t[d].i1 = i0 + 1 < src ? i0 + 1 : src - 1;
    t[d].f = f;
  }
}

static uint8_t round_u8(float v) {
  v = nearbyintf(v);
  return (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
}

/* Bilinear resize of an interleaved c-channel image. */
static void resize_bilinear(const uint8_t *src, int sw, int sh, int c, uint8_t *dst, int dw, int dh, tap *tx,
                            tap *ty) {
  make_taps(sw, dw, tx);
  make_taps(sh, dh, ty);
  for (int y = 0; y < dh; y++) {
    const uint8_t *r0 = src + (size_t)ty[y].i0 * sw * c, *r1 = src + (size_t)ty[y].i1 * sw * c;
    float fy = ty[y].f;
    uint8_t *o = dst + (size_t)y * dw * c;
    for (int x = 0; x < dw; x++) {
      int a = tx[x].i0 * c, b = tx[x].i1 * c;
      float fx = tx[x].f;
      for (int k = 0; k < c; k++) {
        float top = (float)r0[a + k] * (1.0f - fx) + (float)r0[b + k] * fx;
        float bot = (float)r1[a + k] * (1.0f - fx) + (float)r1[b + k] * fx;
        o[x * c + k] = round_u8(top * (1.0f - fy) + bot * fy);
      }
    }
  }
}

/* Converts a 1- or 3-channel image to `c` channels; returns a fresh buffer (or NULL). */
static uint8_t *convert_channels(const eo_image *img, int c) {
  size_t n = (size_t)img->width * (size_t)img->height;
  uint8_t *o = eo_malloc(n * (size_t)c);
  if (!o) return NULL;
  const uint8_t *s = img->data;
  if (c == 3) {
    for (size_t i = 0; i < n; i++) o[3 * i] = o[3 * i + 1] = o[3 * i + 2] = s[i];
  } else {
    for (size_t i = 0; i < n; i++)
      o[i] = (uint8_t)(((unsigned)s[3 * i] * 77 + (unsigned)s[3 * i + 1] * 150 + (unsigned)s[3 * i + 2] * 29) >> 8);
  }
  return o;
}

static const char *mode_name(eo_resize_mode m) {
  static const char *n[] = {"none", "stretch", "letterbox", "shorter"};
  return (unsigned)m <= EO_RESIZE_SHORTER ? n[m] : "?";
}

eo_status eo_preprocess_image(const eo_preprocess *p, const eo_image *img, const char *label, void **buf,
                              size_t *cap, eo_tensor_view *out, eo_img_transform *tf) {
  memset(out, 0, sizeof *out);
  if (tf) memset(tf, 0, sizeof *tf);
  if (!label) label = "<image>";
  eo_status st = eo_preprocess_validate(p);
  if (st != EO_OK) return eo_error_wrap(st, "%s", label);
  if (!img || !img->data || img->width <= 0 || img->height <= 0 || (img->channels != 1 && img->channels != 3))
    return eo_error(EO_ERR_INVALID, "%s: not a decoded 1- or 3-channel image", label);
  const int w = img->width, h = img->height, c = nchan(p);

  /* Geometry: the image is resized to nw x nh and lands at (ox, oy) of a cw x ch canvas. */
  int nw = w, nh = h, cw, ch, ox = 0, oy = 0;
  int rw = p->resize_width ? p->resize_width : p->width, rh = p->resize_height ? p->resize_height : p->height;
  switch (p->resize) {
    case EO_RESIZE_NONE: break;
    case EO_RESIZE_STRETCH: nw = rw, nh = rh; break;
    case EO_RESIZE_LETTERBOX: {
      double r = (double)rw / w < (double)rh / h ? (double)rw / w : (double)rh / h;
      nw = (int)nearbyint(w * r);
      nh = (int)nearbyint(h * r);
      if (nw < 1) nw = 1;
      if (nh < 1) nh = 1;
      if (nw > rw) nw = rw;
      if (nh > rh) nh = rh;
      ox = (int)nearbyint((rw - nw) / 2.0 - 0.1);
      oy = (int)nearbyint((rh - nh) / 2.0 - 0.1);
      break;
    }
    case EO_RESIZE_SHORTER: {
      int s = p->resize_shorter ? p->resize_shorter : (p->width < p->height ? p->width : p->height);
      double lng;
      if (w <= h) {
        lng = (double)s * h / w;
        nw = s;
        nh = lng > MAX_SIDE ? MAX_SIDE : (int)lng;
      } else {
        lng = (double)s * w / h;
        nh = s;
        nw = lng > MAX_SIDE ? MAX_SIDE : (int)lng;
      }
      if (nw < 1) nw = 1;
      if (nh < 1) nh = 1;
      break;
    }
  }
  if (p->resize == EO_RESIZE_LETTERBOX) {
    cw = rw;
    ch = rh;
  } else {
    cw = nw;
    ch = nh;
  }
  int fw = cw, fh = ch, px = ox, py = oy;
  if (p->crop_width) {
    fw = p->crop_width;
    fh = p->crop_height;
    px = ox - (int)nearbyint((cw - fw) / 2.0);
    py = oy - (int)nearbyint((ch - fh) / 2.0);
  }
  if (p->width && (fw != p->width || fh != p->height)) {
    if (p->resize == EO_RESIZE_NONE && !p->crop_width)
      return eo_error(EO_ERR_SHAPE, "%s: image is %dx%d but the model input is %dx%d and resize is none", label, w, h,
                      p->width, p->height);
    return eo_error(EO_ERR_SHAPE, "%s: image of %dx%d gives %dx%d after resize %s%s, but the model input is %dx%d",
                    label, w, h, fw, fh, mode_name(p->resize), p->crop_width ? " and crop" : "", p->width, p->height);
  }
  if (p->crop_width && p->resize == EO_RESIZE_NONE && (fw > w || fh > h))
    return eo_error(EO_ERR_SHAPE, "%s: image is %dx%d, smaller than the crop %dx%d (resize is none)", label, w, h, fw,
                    fh);

  size_t esize = p->dtype == EO_FLOAT ? 4 : 1, npix = (size_t)fw * (size_t)fh, nbytes = npix * (size_t)c * esize;
  if (*cap < nbytes) {
    void *nb = realloc(*buf, nbytes);
    if (!nb) return eo_error(EO_ERR_NOMEM, "%s: cannot allocate %zu bytes for the input tensor", label, nbytes);
    *buf = nb;
    *cap = nbytes;
  }

  /* Channel conversion, then resize (temporaries freed below). */
  uint8_t *conv = NULL, *rs = NULL;
  tap *taps = NULL;
  const uint8_t *src = img->data;
  if (img->channels != c) {
    if (!(conv = convert_channels(img, c))) goto nomem;
    src = conv;
  }
  if (nw != w || nh != h) {
    rs = eo_malloc((size_t)nw * (size_t)nh * (size_t)c);
    taps = eo_malloc(sizeof(tap) * ((size_t)nw + (size_t)nh));
    if (!rs || !taps) goto nomem;
    resize_bilinear(src, w, h, c, rs, nw, nh, taps, taps + nw);
    src = rs;
  }

  /* Normalization through a per-channel table of the 256 pixel values: the same arithmetic as
   * (pixel * scale - mean) / std per element, at a table lookup's cost. */
  float lut[3][256];
  for (int k = 0; k < c; k++)
    for (int v = 0; v < 256; v++) lut[k][v] = ((float)v * p->scale - p->mean[k]) / p->std[k];
  uint8_t qlut[3][256];
  if (p->dtype != EO_FLOAT) {
    float lo = p->dtype == EO_UINT8 ? 0.0f : -128.0f, hi = p->dtype == EO_UINT8 ? 255.0f : 127.0f;
    for (int k = 0; k < c; k++)
      for (int v = 0; v < 256; v++) {
        float q = nearbyintf(lut[k][v] / p->quant_scale) + (float)p->quant_zero_point;
        q = q < lo ? lo : q > hi ? hi : q;
        qlut[k][v] = p->dtype == EO_UINT8 ? (uint8_t)q : (uint8_t)(int8_t)q;
      }
  }
  uint8_t pad = (uint8_t)p->pad_value;
  for (int y = 0; y < fh; y++) {
    int sy = y - py;
    bool row_in = sy >= 0 && sy < nh;
    for (int x = 0; x < fw; x++) {
      int sx = x - px;
      const uint8_t *s = row_in && sx >= 0 && sx < nw ? src + ((size_t)sy * nw + sx) * c : NULL;
      for (int k = 0; k < c; k++) {
        uint8_t v = s ? s[k] : pad;
        size_t o = p->layout == EO_LAYOUT_NCHW ? (size_t)k * npix + (size_t)y * fw + x
                                               : ((size_t)y * fw + x) * c + k;
        if (p->dtype == EO_FLOAT)
          ((float *)*buf)[o] = lut[k][v];
        else
          ((uint8_t *)*buf)[o] = qlut[k][v];
      }
    }
  }
  free(conv);
  free(rs);
  free(taps);

  out->dtype = p->dtype;
  out->rank = 4;
  out->dims[0] = 1;
  if (p->layout == EO_LAYOUT_NCHW) {
    out->dims[1] = c, out->dims[2] = fh, out->dims[3] = fw;
  } else {
    out->dims[1] = fh, out->dims[2] = fw, out->dims[3] = c;
  }
  out->data = *buf;
  out->nbytes = nbytes;
  if (tf) {
    tf->orig_width = w, tf->orig_height = h;
    tf->input_width = fw, tf->input_height = fh;
    tf->scale_x = (float)nw / (float)w, tf->scale_y = (float)nh / (float)h;
    tf->pad_x = (float)px, tf->pad_y = (float)py;
  }
  return EO_OK;
nomem:
  free(conv);
  free(rs);
  free(taps);
  return eo_error(EO_ERR_NOMEM, "%s: out of memory preprocessing a %dx%d image", label, w, h);
}
