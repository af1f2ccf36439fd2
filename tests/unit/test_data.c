/* src/data: decoding, preprocessing, configs, data sets, bad input, streaming memory.
 * Fixtures and the independent expectations (numpy, PIL, a Python copy of the subset shuffle) come
 * from scripts/make_data_fixtures.py, run here into a temporary folder. */
#include <cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/npy.h"
#include "edgeopt/data.h"
#include "test.h"

static char FX[256];
static cJSON *EXP;

/* FX/rel in one of 8 rotating buffers. */
static const char *fx(const char *rel) {
  static char buf[8][512];
  static int k;
  char *b = buf[k++ & 7];
  snprintf(b, 512, "%s/%s", FX, rel);
  return b;
}

static bool contains(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

typedef struct {
  int dtype, rank;
  int64_t dims[EO_MAX_RANK];
  void *data;
  size_t nbytes;
} npy;

static bool load_npy(const char *path, npy *a) {
  memset(a, 0, sizeof *a);
  eo_status st = eo_npy_read(path, &a->dtype, &a->rank, a->dims, &a->data, &a->nbytes);
  EO_CHECK_MSG(st == EO_OK, "%s: %s", path, eo_last_error());
  return st == EO_OK;
}

static long vm_hwm_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return kb;
}

/* ------------------------------------------------------------------ decoding */

/* Decodes `img` with `order` and compares with the HWC uint8 array in `ref` (max abs diff <= tol). */
static void check_decode(const char *img, eo_channel_order order, const char *ref, int tol, bool flip) {
  eo_image im;
  eo_status st = eo_image_load(fx(img), order, &im);
  EO_CHECK_MSG(st == EO_OK, "%s: %s", img, eo_last_error());
  npy a;
  if (st != EO_OK || !load_npy(fx(ref), &a)) return;
  int c = a.rank == 3 ? (int)a.dims[2] : 1;
  EO_CHECK_MSG(im.width == a.dims[1] && im.height == a.dims[0] && im.channels == c, "%s: %dx%dx%d vs %lldx%lldx%d",
               img, im.width, im.height, im.channels, (long long)a.dims[1], (long long)a.dims[0], c);
  if (im.width == a.dims[1] && im.height == a.dims[0] && im.channels == c) {
    const uint8_t *r = a.data;
    int maxd = 0;
    double sum = 0;
    size_t n = a.nbytes;
    for (size_t i = 0; i < n; i++) {
      size_t j = flip && c == 3 ? i - i % 3 + (2 - i % 3) : i;
      int d = abs((int)im.data[i] - (int)r[j]);
      maxd = d > maxd ? d : maxd;
      sum += d;
    }
    EO_CHECK_MSG(maxd <= tol, "%s vs %s: max abs diff %d (allowed %d), mean %.3f", img, ref, maxd, tol, sum / (double)n);
    if (tol) printf("  %s vs %s: max abs diff %d, mean %.4f\n", img, ref, maxd, sum / (double)n);
  }
  free(a.data);
  eo_image_free(&im);
}

static void test_decode(void) {
  check_decode("img/rgb.png", EO_CHANNELS_RGB, "img/rgb.npy", 0, false);
  check_decode("img/rgb.png", EO_CHANNELS_BGR, "img/rgb.npy", 0, true);
  check_decode("img/rgb.png", EO_CHANNELS_GRAY, "img/rgb_as_gray.npy", 0, false);
  check_decode("img/gray.png", EO_CHANNELS_GRAY, "img/gray.npy", 0, false);
  check_decode("img/gray.bmp", EO_CHANNELS_RGB, "img/gray_bmp.npy", 0, false);
  check_decode("img/rgba.png", EO_CHANNELS_RGB, "img/rgba.npy", 0, false);
  check_decode("img/palette.png", EO_CHANNELS_RGB, "img/palette.npy", 0, false);
  check_decode("img/gray16.png", EO_CHANNELS_GRAY, "img/gray16.npy", 0, false);
  check_decode("img/rgb.bmp", EO_CHANNELS_RGB, "img/rgb_bmp.npy", 0, false);
  check_decode("img/rgb.bmp", EO_CHANNELS_BGR, "img/rgb_bmp.npy", 0, true);
  check_decode("img/really_png.jpg", EO_CHANNELS_RGB, "img/rgb.npy", 0, false);
  /* JPEG: stb_image's IDCT and libjpeg's (PIL) differ by rounding; both stay close to the source. */
  check_decode("img/rgb.jpg", EO_CHANNELS_RGB, "img/rgb_jpg_pil.npy", 3, false);
  check_decode("img/rgb.jpg", EO_CHANNELS_RGB, "img/smooth.npy", 6, false);
  check_decode("img/gray.jpg", EO_CHANNELS_GRAY, "img/gray_jpg_pil.npy", 2, false);
  check_decode("img/gray.jpg", EO_CHANNELS_GRAY, "img/smooth_gray.npy", 4, false);

  /* gray -> RGB replicates */
  eo_image g, c;
  if (eo_image_load(fx("img/gray.png"), EO_CHANNELS_GRAY, &g) == EO_OK &&
      eo_image_load(fx("img/gray.png"), EO_CHANNELS_RGB, &c) == EO_OK) {
    bool same = c.channels == 3;
    for (int i = 0; same && i < g.width * g.height; i++)
      same = c.data[3 * i] == g.data[i] && c.data[3 * i + 1] == g.data[i] && c.data[3 * i + 2] == g.data[i];
    EO_CHECK(same);
  } else {
    EO_CHECK_MSG(0, "%s", eo_last_error());
  }
  eo_image_free(&g);
  eo_image_free(&c);
  eo_image_free(NULL);

  /* bad images */
  eo_image im;
  eo_status st = eo_image_load(fx("img/nope.png"), EO_CHANNELS_RGB, &im);
  EO_CHECK(st == EO_ERR_IO && contains(eo_last_error(), "nope.png") && im.data == NULL);
  st = eo_image_decode("", 0, "empty.png", EO_CHANNELS_RGB, &im);
  EO_CHECK(st == EO_ERR_PARSE && contains(eo_last_error(), "empty.png"));
  st = eo_image_decode("hello world", 11, "text.png", EO_CHANNELS_RGB, &im);
  EO_CHECK_MSG(st == EO_ERR_PARSE && contains(eo_last_error(), "not a PNG, JPEG or BMP"), "%s", eo_last_error());
  st = eo_image_decode("GIF89a\0\0\0\0\0\0", 12, "anim.gif", EO_CHANNELS_RGB, &im);
  EO_CHECK(st == EO_ERR_UNSUPPORTED && contains(eo_last_error(), "GIF"));
  /* a PNG header declaring 10000 x 10000 pixels: refused before anything is allocated */
  uint8_t hdr[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                     0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10, 8, 2, 0, 0, 0, 0, 0, 0, 0};
  st = eo_image_decode(hdr, sizeof hdr, "huge.png", EO_CHANNELS_RGB, &im);
  EO_CHECK_MSG(st == EO_ERR_UNSUPPORTED && contains(eo_last_error(), "10000x10000"), "%d %s", st, eo_last_error());
  st = eo_image_decode(hdr, 20, "short.png", EO_CHANNELS_RGB, &im);
  EO_CHECK_MSG(st == EO_ERR_PARSE && contains(eo_last_error(), "short.png"), "%d %s", st, eo_last_error());
}

/* ------------------------------------------------------------------ preprocessing */

static void test_preprocess_cases(void) {
  cJSON *cases = cJSON_GetObjectItem(EXP, "pre"), *c;
  int n = 0;
  void *buf = NULL;
  size_t cap = 0;
  cJSON_ArrayForEach(c, cases) {
    const char *cfg = cJSON_GetObjectItem(c, "config")->valuestring;
    eo_preprocess p;
    eo_preprocess_init(&p);
    eo_status st = eo_preprocess_load(fx(cfg), &p);
    EO_CHECK_MSG(st == EO_OK, "%s: %s", cfg, eo_last_error());
    eo_image im;
    st = eo_image_load(fx(cJSON_GetObjectItem(c, "image")->valuestring), p.channels, &im);
    EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
    eo_tensor_view t;
    eo_img_transform tf;
    st = eo_preprocess_image(&p, &im, "case", &buf, &cap, &t, &tf);
    EO_CHECK_MSG(st == EO_OK, "%s: %s", cfg, eo_last_error());
    npy a;
    if (st == EO_OK && load_npy(fx(cJSON_GetObjectItem(c, "expected")->valuestring), &a)) {
      bool shape = t.dtype == a.dtype && t.rank == a.rank && memcmp(t.dims, a.dims, sizeof(int64_t) * 4) == 0;
      EO_CHECK_MSG(shape, "%s: dtype %d/%d dims [%lld,%lld,%lld,%lld] vs [%lld,%lld,%lld,%lld]", cfg, t.dtype, a.dtype,
                   (long long)t.dims[0], (long long)t.dims[1], (long long)t.dims[2], (long long)t.dims[3],
                   (long long)a.dims[0], (long long)a.dims[1], (long long)a.dims[2], (long long)a.dims[3]);
      if (shape && t.nbytes == a.nbytes) {
        size_t diff = 0, first = 0, esz = eo_dtype_size(t.dtype);
        for (size_t i = 0; i < t.nbytes; i += esz)
          if (memcmp((const char *)t.data + i, (const char *)a.data + i, esz) != 0 && !diff++) first = i / esz;
        EO_CHECK_MSG(diff == 0, "%s: %zu of %zu elements differ from numpy (first at %zu)", cfg, diff, t.nbytes / esz,
                     first);
      }
      free(a.data);
    }
    cJSON *e = cJSON_GetObjectItem(c, "transform");
    EO_CHECK(tf.orig_width == cJSON_GetObjectItem(e, "orig_width")->valueint);
    EO_CHECK(tf.orig_height == cJSON_GetObjectItem(e, "orig_height")->valueint);
    EO_CHECK(tf.input_width == cJSON_GetObjectItem(e, "input_width")->valueint);
    EO_CHECK(tf.input_height == cJSON_GetObjectItem(e, "input_height")->valueint);
    EO_CHECK_MSG(tf.scale_x == (float)cJSON_GetObjectItem(e, "scale_x")->valuedouble, "%s scale_x %g", cfg, tf.scale_x);
    EO_CHECK(tf.scale_y == (float)cJSON_GetObjectItem(e, "scale_y")->valuedouble);
    EO_CHECK_MSG(tf.pad_x == (float)cJSON_GetObjectItem(e, "pad_x")->valuedouble, "%s pad_x %g", cfg, tf.pad_x);
    EO_CHECK_MSG(tf.pad_y == (float)cJSON_GetObjectItem(e, "pad_y")->valuedouble, "%s pad_y %g", cfg, tf.pad_y);
    eo_image_free(&im);
    n++;
  }
  EO_CHECK(n == 13);
  free(buf);
}

static eo_image blank(int w, int h, int c) {
  eo_image im = {w, h, c, calloc((size_t)w * h * c, 1)};
  return im;
}

static void test_transform(void) {
  eo_preprocess p;
  eo_preprocess_init(&p);
  EO_CHECK(eo_preprocess_set(&p, "resize=letterbox") == EO_OK && eo_preprocess_set(&p, "size=320") == EO_OK);
  eo_image im = blank(640, 480, 3);
  void *buf = NULL;
  size_t cap = 0;
  eo_tensor_view t;
  eo_img_transform tf;
  EO_CHECK(eo_preprocess_image(&p, &im, "x", &buf, &cap, &t, &tf) == EO_OK);
  /* 640x480 -> r = 0.5 -> 320x240, 40 rows of padding above */
  EO_CHECK(tf.scale_x == 0.5f && tf.scale_y == 0.5f && tf.pad_x == 0.0f && tf.pad_y == 40.0f);
  EO_CHECK(t.dims[0] == 1 && t.dims[1] == 3 && t.dims[2] == 320 && t.dims[3] == 320);
  /* the top rows are padding (114/255), the middle is the black image */
  const float *x = t.data;
  const float padv = 114.0f * (1.0f / 255.0f); /* pixel * scale, as documented */
  EO_CHECK(x[0] == padv && x[39 * 320] == padv && x[280 * 320] == padv && x[2 * 320 * 320 + 319] == padv);
  EO_CHECK(x[40 * 320] == 0.0f && x[279 * 320 + 5] == 0.0f);
  float b[8] = {100, 140, 200, 240, -10, 20, 330, 50};
  eo_transform_boxes_to_original(&tf, 2, b);
  EO_CHECK(b[0] == 200 && b[1] == 200 && b[2] == 400 && b[3] == 400);
  EO_CHECK(b[4] == 0 && b[5] == 0 && b[6] == 640 && b[7] == 20); /* clipped to the image */
  float r[4] = {12.5f, 33.0f, 500.25f, 470.0f}, r0[4];
  memcpy(r0, r, sizeof r);
  eo_transform_boxes_to_input(&tf, 1, r);
  EO_CHECK(r[0] == 6.25f && r[1] == 56.5f && r[2] == 250.125f && r[3] == 275.0f);
  eo_transform_boxes_to_original(&tf, 1, r);
  EO_CHECK(memcmp(r, r0, sizeof r) == 0);
  eo_image_free(&im);

  /* shorter side + crop: 300x200 -> 336x224 (shorter 224), crop 224 at x offset 56 */
  eo_preprocess_init(&p);
  EO_CHECK(eo_preprocess_set(&p, "resize=shorter") == EO_OK && eo_preprocess_set(&p, "resize_shorter=224") == EO_OK &&
           eo_preprocess_set(&p, "crop=224") == EO_OK && eo_preprocess_set(&p, "size=224") == EO_OK);
  im = blank(300, 200, 3);
  EO_CHECK(eo_preprocess_image(&p, &im, "x", &buf, &cap, &t, &tf) == EO_OK);
  EO_CHECK_NEAR(tf.scale_x, 336.0 / 300.0, 1e-7);
  EO_CHECK_NEAR(tf.scale_y, 224.0 / 200.0, 1e-7);
  EO_CHECK(tf.pad_x == -56.0f && tf.pad_y == 0.0f && tf.input_width == 224);
  float q[4] = {0, 0, 224, 224};
  eo_transform_boxes_to_original(&tf, 1, q);
  EO_CHECK_NEAR(q[0], 56.0 * 300.0 / 336.0, 1e-4);
  EO_CHECK_NEAR(q[2], 280.0 * 300.0 / 336.0, 1e-4);
  EO_CHECK_NEAR(q[3], 200.0, 1e-4);
  eo_image_free(&im);

  /* resize none with a fixed size: the image must fit */
  eo_preprocess_init(&p);
  EO_CHECK(eo_preprocess_set(&p, "size=32x32") == EO_OK);
  im = blank(50, 30, 3);
  eo_status st = eo_preprocess_image(&p, &im, "photo.png", &buf, &cap, &t, &tf);
  EO_CHECK_MSG(st == EO_ERR_SHAPE && contains(eo_last_error(), "photo.png") && contains(eo_last_error(), "50x30") &&
                   contains(eo_last_error(), "32x32") && contains(eo_last_error(), "resize is none"),
               "%s", eo_last_error());
  eo_image_free(&im);
  free(buf);
}

static bool same_pre(const eo_preprocess *a, const eo_preprocess *b) { return memcmp(a, b, sizeof *a) == 0; }

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static void test_config(void) {
  eo_preprocess p, q;
  eo_preprocess_init(&p);
  EO_CHECK(p.resize == EO_RESIZE_NONE && p.pad_value == 114 && p.scale == 1.0f / 255.0f && p.std[2] == 1.0f &&
           p.dtype == EO_FLOAT && p.layout == EO_LAYOUT_NCHW && p.channels == EO_CHANNELS_RGB);
  EO_CHECK(eo_preprocess_set(&p, "scale=1/127.5") == EO_OK && p.scale == (float)(1.0 / 127.5));
  EO_CHECK(eo_preprocess_set(&p, "mean = 0.485,0.456,0.406") == EO_OK && p.mean[1] == 0.456f);
  EO_CHECK(eo_preprocess_set(&p, "std=[0.5, 0.25, 2]") == EO_OK && p.std[2] == 2.0f);
  EO_CHECK(eo_preprocess_set(&p, "size=320x256") == EO_OK && p.width == 320 && p.height == 256);
  EO_CHECK(eo_preprocess_set(&p, "resize=LETTERBOX") == EO_OK && p.resize == EO_RESIZE_LETTERBOX);
  EO_CHECK(eo_preprocess_set(&p, "channels=bgr") == EO_OK && eo_preprocess_set(&p, "layout=nhwc") == EO_OK);
  EO_CHECK(eo_preprocess_set(&p, "dtype=int8") == EO_OK && eo_preprocess_set(&p, "quant_zero_point=-3") == EO_OK);
  EO_CHECK(eo_preprocess_set(&p, "quant_scale=0.0125") == EO_OK && eo_preprocess_set(&p, "pad_value=0") == EO_OK);
  q = p;
  eo_status st = eo_preprocess_set(&p, "sclae=3");
  EO_CHECK(st == EO_ERR_INVALID && contains(eo_last_error(), "unknown preprocess field 'sclae'") &&
           contains(eo_last_error(), "quant_zero_point"));
  EO_CHECK(eo_preprocess_set(&p, "resize=squash") == EO_ERR_INVALID && contains(eo_last_error(), "letterbox"));
  EO_CHECK(eo_preprocess_set(&p, "width=12px") == EO_ERR_INVALID && contains(eo_last_error(), "'width'"));
  EO_CHECK(eo_preprocess_set(&p, "mean=1,2") == EO_ERR_INVALID);
  EO_CHECK(eo_preprocess_set(&p, "scale=1/0") == EO_ERR_INVALID);
  EO_CHECK(eo_preprocess_set(&p, "novalue") == EO_ERR_INVALID && contains(eo_last_error(), "NAME=VALUE"));
  EO_CHECK(same_pre(&p, &q)); /* failed sets change nothing */

  /* save/load round trip, YAML and JSON */
  const char *files[] = {"cfg_rt.yaml", "cfg_rt.json"};
  for (int k = 0; k < 2; k++) {
    EO_CHECK_MSG(eo_preprocess_save(&p, fx(files[k])) == EO_OK, "%s", eo_last_error());
    eo_preprocess r;
    eo_preprocess_init(&r);
    st = eo_preprocess_load(fx(files[k]), &r);
    EO_CHECK_MSG(st == EO_OK && same_pre(&p, &r), "%s: %s", files[k], eo_last_error());
  }
  char *txt = NULL;
  EO_CHECK(eo_preprocess_to_yaml(&p, &txt) == EO_OK && contains(txt, "resize: letterbox") &&
           contains(txt, "layout: nhwc") && contains(txt, "dtype: int8"));
  free(txt);
  EO_CHECK(eo_preprocess_to_json(&p, &txt) == EO_OK && contains(txt, "\"channels\":\t\"bgr\""));
  free(txt);

  /* a file sets only what it names, on top of what is there */
  eo_preprocess_init(&q);
  q.width = q.height = 99;
  const char *y = "# partial\nscale: 1\nmean: [1, 2, 3]\n";
  EO_CHECK(eo_preprocess_parse(y, strlen(y), "partial.yaml", &q) == EO_OK && q.width == 99 && q.scale == 1.0f &&
           q.mean[2] == 3.0f);
  /* errors: line numbers, unknown fields, invalid combinations; *inout unchanged */
  eo_preprocess before = q;
  write_text(fx("cfg_bad.yaml"), "preprocess:\n  width: 64\n  height: 64\n  sclae: 2\n");
  st = eo_preprocess_load(fx("cfg_bad.yaml"), &q);
  EO_CHECK_MSG(st == EO_ERR_INVALID && contains(eo_last_error(), "cfg_bad.yaml:4") &&
                   contains(eo_last_error(), "'sclae'"), "%s", eo_last_error());
  write_text(fx("cfg_syntax.yaml"), "width: 64\nheight: [1, 2\nscale: 3\n");
  st = eo_preprocess_load(fx("cfg_syntax.yaml"), &q);
  EO_CHECK_MSG(st == EO_ERR_PARSE && contains(eo_last_error(), "cfg_syntax.yaml:"), "%s", eo_last_error());
  write_text(fx("cfg_std.yaml"), "std: [1, 0, 1]\n");
  st = eo_preprocess_load(fx("cfg_std.yaml"), &q);
  EO_CHECK_MSG(st == EO_ERR_INVALID && contains(eo_last_error(), "cfg_std.yaml") && contains(eo_last_error(), "std[1]"),
               "%s", eo_last_error());
  write_text(fx("cfg_bad.json"), "{\"width\": 64, \"height\": 64,\n \"layout\": \"chw\"}\n");
  st = eo_preprocess_load(fx("cfg_bad.json"), &q);
  EO_CHECK_MSG(st == EO_ERR_INVALID && contains(eo_last_error(), "cfg_bad.json") && contains(eo_last_error(), "nchw"),
               "%s", eo_last_error());
  write_text(fx("cfg_broken.json"), "{\"width\": 64,\n \"height\": }\n");
  st = eo_preprocess_load(fx("cfg_broken.json"), &q);
  EO_CHECK_MSG(st == EO_ERR_PARSE && contains(eo_last_error(), "cfg_broken.json:2"), "%s", eo_last_error());
  write_text(fx("cfg_crop.yaml"), "width: 64\nheight: 64\ncrop_width: 32\ncrop_height: 32\n");
  st = eo_preprocess_load(fx("cfg_crop.yaml"), &q);
  EO_CHECK_MSG(st == EO_ERR_INVALID && contains(eo_last_error(), "crop 32x32"), "%s", eo_last_error());
  write_text(fx("cfg_half.yaml"), "width: 0\n"); /* height stays 99 */
  EO_CHECK(eo_preprocess_load(fx("cfg_half.yaml"), &q) == EO_ERR_INVALID && contains(eo_last_error(), "both"));
  EO_CHECK(same_pre(&q, &before));

  /* defaults from a model input */
  eo_value_desc in = {.name = "images", .dtype = EO_FLOAT, .rank = 4, .dims = {1, 3, 320, 320}};
  EO_CHECK(eo_preprocess_from_input(&in, &p) == EO_OK && p.layout == EO_LAYOUT_NCHW && p.width == 320 &&
           p.height == 320 && p.channels == EO_CHANNELS_RGB && p.resize == EO_RESIZE_LETTERBOX &&
           p.dtype == EO_FLOAT && p.scale == 1.0f / 255.0f);
  eo_value_desc nhwc = {.name = "input", .dtype = EO_UINT8, .rank = 4, .dims = {1, 128, 96, 3}};
  EO_CHECK(eo_preprocess_from_input(&nhwc, &p) == EO_OK && p.layout == EO_LAYOUT_NHWC && p.width == 96 &&
           p.height == 128 && p.dtype == EO_UINT8 && p.scale == 1.0f);
  eo_value_desc gray = {.name = "x", .dtype = EO_INT8, .rank = 4, .dims = {1, 1, 28, 28}};
  EO_CHECK(eo_preprocess_from_input(&gray, &p) == EO_OK && p.channels == EO_CHANNELS_GRAY && p.dtype == EO_INT8 &&
           p.quant_zero_point == -128 && p.width == 28);
  eo_value_desc dyn = {.name = "x", .dtype = EO_FLOAT, .rank = 4, .dims = {-1, 3, -1, -1}};
  EO_CHECK(eo_preprocess_from_input(&dyn, &p) == EO_OK && p.width == 0 && p.resize == EO_RESIZE_NONE &&
           p.layout == EO_LAYOUT_NCHW);
  eo_value_desc odd = {.name = "feat", .dtype = EO_FLOAT, .rank = 4, .dims = {1, 5, 7, 9}};
  EO_CHECK(eo_preprocess_from_input(&odd, &p) == EO_ERR_UNSUPPORTED && contains(eo_last_error(), "'feat'") &&
           contains(eo_last_error(), "[1,5,7,9]"));
  eo_value_desc flat = {.name = "v", .dtype = EO_FLOAT, .rank = 2, .dims = {1, 784}};
  EO_CHECK(eo_preprocess_from_input(&flat, &p) == EO_ERR_UNSUPPORTED && contains(eo_last_error(), "[1,784]"));
  eo_value_desc i64 = {.name = "ids", .dtype = EO_INT64, .rank = 4, .dims = {1, 3, 8, 8}};
  EO_CHECK(eo_preprocess_from_input(&i64, &p) == EO_ERR_UNSUPPORTED && contains(eo_last_error(), "int64"));
}

/* ------------------------------------------------------------------ data sets */

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The item's tensor equals preprocessing the item's image directly. */
static void check_item_tensor(const eo_data_item *it, const eo_preprocess *p) {
  eo_image im;
  void *buf = NULL;
  size_t cap = 0;
  eo_tensor_view t;
  eo_img_transform tf;
  EO_CHECK(eo_image_load(it->path, p->channels, &im) == EO_OK);
  EO_CHECK(eo_preprocess_image(p, &im, "x", &buf, &cap, &t, &tf) == EO_OK);
  EO_CHECK(it->num_tensors == 1 && it->tensors[0].nbytes == t.nbytes && it->tensors[0].name == NULL &&
           memcmp(it->tensors[0].data, t.data, t.nbytes) == 0 && memcmp(&tf, &it->transform, sizeof tf) == 0);
  EO_CHECK(it->orig_width == im.width && it->orig_height == im.height);
  eo_image_free(&im);
  free(buf);
}

static void test_yolo(void) {
  eo_preprocess p;
  eo_preprocess_init(&p);
  eo_preprocess_set(&p, "resize=letterbox");
  eo_preprocess_set(&p, "size=32");
  eo_dataset *ds;
  eo_status st = eo_dataset_open(fx("ds/yolo"), NULL, &p, &ds);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (st != EO_OK) return;
  EO_CHECK(eo_dataset_get_format(ds) == EO_DATASET_YOLO && eo_dataset_size(ds) == 5 && eo_dataset_total(ds) == 5);
  EO_CHECK(eo_dataset_num_classes(ds) == 3 && strcmp(eo_dataset_class_name(ds, 2), "bird") == 0 &&
           eo_dataset_class_name(ds, 3) == NULL);
  cJSON *val = cJSON_GetObjectItem(EXP, "yolo_val");
  const eo_data_item *it;
  int k = 0;
  while (eo_dataset_next(ds, &it) == EO_OK && it) {
    cJSON *e = cJSON_GetArrayItem(val, k);
    EO_CHECK_MSG(e && ends_with(it->path, cJSON_GetObjectItem(e, "path")->valuestring), "%s", it->path);
    EO_CHECK(it->index == k && it->class_id == -1);
    EO_CHECK(it->orig_width == cJSON_GetObjectItem(e, "width")->valueint &&
             it->orig_height == cJSON_GetObjectItem(e, "height")->valueint);
    cJSON *boxes = cJSON_GetObjectItem(e, "boxes"), *pix = cJSON_GetObjectItem(e, "pixels");
    EO_CHECK_MSG(it->num_boxes == cJSON_GetArraySize(boxes), "%s: %d boxes", it->path, it->num_boxes);
    for (int b = 0; b < it->num_boxes && b < cJSON_GetArraySize(boxes); b++) {
      cJSON *nb = cJSON_GetArrayItem(boxes, b), *pb = cJSON_GetArrayItem(pix, b);
      const eo_data_box *x = &it->boxes[b];
      EO_CHECK(x->class_id == cJSON_GetArrayItem(nb, 0)->valueint);
      EO_CHECK_NEAR(x->cx, cJSON_GetArrayItem(nb, 1)->valuedouble, 1e-6);
      EO_CHECK_NEAR(x->cy, cJSON_GetArrayItem(nb, 2)->valuedouble, 1e-6);
      EO_CHECK_NEAR(x->w, cJSON_GetArrayItem(nb, 3)->valuedouble, 1e-6);
      EO_CHECK_NEAR(x->h, cJSON_GetArrayItem(nb, 4)->valuedouble, 1e-6);
      EO_CHECK_NEAR(x->x1, cJSON_GetArrayItem(pb, 1)->valuedouble, 1e-4);
      EO_CHECK_NEAR(x->y1, cJSON_GetArrayItem(pb, 2)->valuedouble, 1e-4);
      EO_CHECK_NEAR(x->x2, cJSON_GetArrayItem(pb, 3)->valuedouble, 1e-4);
      EO_CHECK_NEAR(x->y2, cJSON_GetArrayItem(pb, 4)->valuedouble, 1e-4);
    }
    EO_CHECK(it->label_path && ends_with(it->label_path, k == 1 ? "labels/val/v1.txt" : k == 4 ? "labels/val/v4.txt" : ".txt"));
    check_item_tensor(it, &p);
    k++;
  }
  EO_CHECK(k == 5);
  /* rewind gives the same first item */
  EO_CHECK(eo_dataset_rewind(ds) == EO_OK && eo_dataset_next(ds, &it) == EO_OK && it && it->index == 0 &&
           it->num_boxes == 2);
  eo_dataset_free(ds);

  /* other splits: folders, a .txt list */
  eo_dataset_options o = {.split = "train"};
  EO_CHECK(eo_dataset_open(fx("ds/yolo/data.yaml"), &o, &p, &ds) == EO_OK && eo_dataset_size(ds) == 3);
  eo_dataset_free(ds);
  o.split = "test";
  st = eo_dataset_open(fx("ds/yolo/data.yaml"), &o, &p, &ds);
  EO_CHECK_MSG(st == EO_OK && eo_dataset_size(ds) == 2, "%s", eo_last_error());
  if (st == EO_OK) {
    cJSON *names = cJSON_GetObjectItem(EXP, "yolo_test");
    for (int i = 0; i < 2; i++) {
      EO_CHECK(eo_dataset_next(ds, &it) == EO_OK && it &&
               ends_with(it->path, cJSON_GetArrayItem(names, i)->valuestring));
    }
    EO_CHECK(eo_dataset_next(ds, &it) == EO_OK && it == NULL);
  }
  eo_dataset_free(ds);
  o.split = "trian";
  EO_CHECK(eo_dataset_open(fx("ds/yolo"), &o, &p, &ds) == EO_ERR_INVALID && ds == NULL &&
           contains(eo_last_error(), "'trian'"));
  /* path relative to the yaml's folder, names as a list, a split that is a list of folders */
  o.split = "train";
  st = eo_dataset_open(fx("ds/other/data2.yaml"), &o, &p, &ds);
  EO_CHECK_MSG(st == EO_OK && eo_dataset_size(ds) == 8 && eo_dataset_num_classes(ds) == 3 &&
                   strcmp(eo_dataset_class_name(ds, 1), "dog") == 0, "%s", eo_last_error());
  eo_dataset_free(ds);
  /* a folder of images without data.yaml: labels still read from labels/ */
  st = eo_dataset_open(fx("ds/yolo/images/val"), NULL, &p, &ds);
  EO_CHECK_MSG(st == EO_OK && eo_dataset_get_format(ds) == EO_DATASET_IMAGES && eo_dataset_size(ds) == 5 &&
                   eo_dataset_num_classes(ds) == 0, "%s", eo_last_error());
  if (st == EO_OK) EO_CHECK(eo_dataset_next(ds, &it) == EO_OK && it && it->num_boxes == 2 && it->boxes[1].class_id == 2);
  eo_dataset_free(ds);
}

static void test_imagefolder(void) {
  eo_preprocess p;
  eo_preprocess_init(&p);
  eo_dataset *ds;
  eo_status st = eo_dataset_open(fx("ds/folder"), NULL, &p, &ds);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (st != EO_OK) return;
  EO_CHECK(eo_dataset_get_format(ds) == EO_DATASET_IMAGEFOLDER && eo_dataset_size(ds) == 6);
  cJSON *cls = cJSON_GetObjectItem(EXP, "folder_classes"), *items = cJSON_GetObjectItem(EXP, "folder_items");
  EO_CHECK(eo_dataset_num_classes(ds) == 3);
  for (int i = 0; i < 3; i++) EO_CHECK(strcmp(eo_dataset_class_name(ds, i), cJSON_GetArrayItem(cls, i)->valuestring) == 0);
  const eo_data_item *it;
  int k = 0;
  while (eo_dataset_next(ds, &it) == EO_OK && it) {
    cJSON *e = cJSON_GetArrayItem(items, k);
    EO_CHECK_MSG(e && ends_with(it->path, cJSON_GetArrayItem(e, 0)->valuestring) &&
                     it->class_id == cJSON_GetArrayItem(e, 1)->valueint, "%s %d", it->path, it->class_id);
    EO_CHECK(it->num_boxes == 0 && it->label_path == NULL && it->tensors[0].dims[1] == 3 &&
             it->tensors[0].dims[2] == 12 && it->tensors[0].dims[3] == 10);
    check_item_tensor(it, &p);
    k++;
  }
  EO_CHECK(k == 6);
  eo_dataset_free(ds);
}

static void check_idx(const char *path, const char *split, const char *labels, const char *ref, const char *lab_key,
                      int64_t limit) {
  eo_preprocess p;
  eo_preprocess_init(&p);
  eo_preprocess_set(&p, "channels=gray");
  eo_preprocess_set(&p, "dtype=uint8");
  eo_preprocess_set(&p, "scale=1");
  eo_dataset_options o = {.split = split, .labels = labels, .limit = limit, .seed = 3};
  eo_dataset *ds;
  eo_status st = eo_dataset_open(fx(path), &o, &p, &ds);
  EO_CHECK_MSG(st == EO_OK, "%s: %s", path, eo_last_error());
  npy a;
  if (st != EO_OK || !load_npy(fx(ref), &a)) {
    eo_dataset_free(ds);
    return;
  }
  cJSON *lab = cJSON_GetObjectItem(EXP, lab_key);
  int64_t n = a.dims[0], h = a.dims[1], w = a.dims[2];
  EO_CHECK(eo_dataset_get_format(ds) == EO_DATASET_IDX && eo_dataset_total(ds) == n &&
           eo_dataset_size(ds) == (limit ? limit : n));
  const eo_data_item *it;
  int64_t k = 0, prev = -1;
  bool pix = true, labs = true;
  for (int pass = 0; pass < 2; pass++) { /* twice: rewind seeks back in the gzip stream */
    while (eo_dataset_next(ds, &it) == EO_OK && it) {
      EO_CHECK(it->index > prev && it->orig_width == w && it->orig_height == h && it->tensors[0].dims[2] == h);
      prev = it->index;
      pix = pix && memcmp(it->tensors[0].data, (uint8_t *)a.data + it->index * h * w, (size_t)(h * w)) == 0;
      labs = labs && it->class_id == cJSON_GetArrayItem(lab, (int)it->index)->valueint;
      k++;
    }
    EO_CHECK(eo_dataset_rewind(ds) == EO_OK);
    prev = -1;
  }
  EO_CHECK_MSG(pix && labs && k == 2 * (limit ? limit : n), "%s: pixels %d labels %d items %lld", path, pix, labs,
               (long long)k);
  free(a.data);
  eo_dataset_free(ds);
}

static void test_idx(void) {
  check_idx("ds/idx", "train", NULL, "ds/idx/train_images.npy", "idx_train_labels", 0);
  check_idx("ds/idx", "train", NULL, "ds/idx/train_images.npy", "idx_train_labels", 17);
  check_idx("ds/idx", NULL, NULL, "ds/idx/t10k_images.npy", "idx_test_labels", 0);
  check_idx("ds/idx/t10k-images-idx3-ubyte", NULL, fx("ds/idx/t10k-labels-idx1-ubyte"), "ds/idx/t10k_images.npy",
            "idx_test_labels", 0);
  eo_dataset *ds;
  eo_status st = eo_dataset_open(fx("ds/idx_bad"), NULL, NULL, &ds);
  EO_CHECK_MSG(st == EO_ERR_PARSE && contains(eo_last_error(), "19 labels for the 20 images"), "%s", eo_last_error());
  eo_dataset_options o = {.labels = fx("ds/idx/t10k-labels-idx1-ubyte")};
  st = eo_dataset_open(fx("ds/idx_bad/t10k-images-idx3-ubyte.gz"), &o, NULL, &ds);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (st == EO_OK) {
    const eo_data_item *it;
    int good = 0;
    while ((st = eo_dataset_next(ds, &it)) == EO_OK && it) good++;
    EO_CHECK_MSG(good == 3 && st == EO_ERR_PARSE && contains(eo_last_error(), "truncated") &&
                     contains(eo_last_error(), "record 3"), "%d %s", good, eo_last_error());
  }
  eo_dataset_free(ds);
  st = eo_dataset_open(fx("ds/idx_bad/notidx-images-idx3-ubyte"), NULL, NULL, &ds);
  EO_CHECK_MSG(st == EO_ERR_PARSE && contains(eo_last_error(), "00 00 0d 03"), "%s", eo_last_error());
}

static void test_npy(void) {
  eo_dataset *ds;
  eo_status st = eo_dataset_open(fx("ds/npy_files"), NULL, NULL, &ds);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (st == EO_OK) {
    const eo_data_item *it;
    npy a;
    EO_CHECK(eo_dataset_get_format(ds) == EO_DATASET_NPY && eo_dataset_size(ds) == 2);
    const char *names[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
      EO_CHECK(eo_dataset_next(ds, &it) == EO_OK && it && it->num_tensors == 1);
      if (!it || !load_npy(it->path, &a)) continue;
      const eo_tensor_view *t = &it->tensors[0];
      EO_CHECK(strcmp(t->name, names[i]) == 0 && t->dtype == a.dtype && t->rank == a.rank &&
               t->nbytes == a.nbytes && memcmp(t->data, a.data, a.nbytes) == 0);
      EO_CHECK(t->dtype == (i == 0 ? EO_FLOAT : EO_INT64));
      free(a.data);
    }
    EO_CHECK(eo_dataset_next(ds, &it) == EO_OK && it == NULL);
  }
  eo_dataset_free(ds);
  st = eo_dataset_open(fx("ds/npy_items"), NULL, NULL, &ds);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (st == EO_OK) {
    const eo_data_item *it;
    int k = 0;
    while (eo_dataset_next(ds, &it) == EO_OK && it) {
      EO_CHECK(it->num_tensors == 2 && strcmp(it->tensors[0].name, "images") == 0 &&
               strcmp(it->tensors[1].name, "scale") == 0);
      EO_CHECK(it->tensors[0].dtype == EO_FLOAT && ((const float *)it->tensors[0].data)[1] == (float)k);
      EO_CHECK(it->tensors[1].dtype == EO_DOUBLE && ((const double *)it->tensors[1].data)[0] == k + 0.5);
      k++;
    }
    EO_CHECK(k == 3);
  }
  eo_dataset_free(ds);
}

static void test_subset(void) {
  eo_preprocess p;
  eo_preprocess_init(&p);
  cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(EXP, "subsets")) {
    eo_dataset_options o = {.limit = (int64_t)cJSON_GetObjectItem(e, "limit")->valuedouble,
                            .fraction = cJSON_GetObjectItem(e, "fraction")->valuedouble};
    /* the seed is above 2^53 in one case: JSON's doubles cannot hold it, so it is spelled out here */
    double sd = cJSON_GetObjectItem(e, "seed")->valuedouble;
    o.seed = sd > 1e18 ? (UINT64_C(1) << 63) + 5 : (uint64_t)sd;
    cJSON *want = cJSON_GetObjectItem(e, "indices");
    eo_dataset *ds;
    eo_status st = eo_dataset_open(fx("ds/big"), &o, &p, &ds);
    EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
    if (st != EO_OK) continue;
    EO_CHECK(eo_dataset_size(ds) == cJSON_GetArraySize(want) && eo_dataset_total(ds) == 2000);
    const eo_data_item *it;
    int k = 0;
    bool same = true;
    while (eo_dataset_next(ds, &it) == EO_OK && it) {
      cJSON *w = cJSON_GetArrayItem(want, k++);
      same = same && w && it->index == w->valueint;
      /* the pixel that encodes the item number confirms the file is the one listed at that index */
      const float *t = it->tensors[0].data;
      same = same && (int)(t[0] * 255.0f + 0.5f) + 256 * (int)(t[1] * 255.0f + 0.5f) == it->index;
    }
    EO_CHECK_MSG(same && k == cJSON_GetArraySize(want), "subset seed %llu: %d items", (unsigned long long)o.seed, k);
    eo_dataset_free(ds);
  }
  /* same seed, same items; another seed, other items */
  int64_t first[3][5];
  uint64_t seeds[3] = {11, 11, 12};
  for (int s = 0; s < 3; s++) {
    eo_dataset_options o = {.limit = 5, .seed = seeds[s]};
    eo_dataset *ds;
    const eo_data_item *it;
    EO_CHECK(eo_dataset_open(fx("ds/big"), &o, &p, &ds) == EO_OK);
    for (int k = 0; k < 5; k++) first[s][k] = eo_dataset_next(ds, &it) == EO_OK && it ? it->index : -1;
    eo_dataset_free(ds);
  }
  EO_CHECK(memcmp(first[0], first[1], sizeof first[0]) == 0 && memcmp(first[0], first[2], sizeof first[0]) != 0);
  eo_dataset_options bad = {.fraction = 1.5};
  eo_dataset *ds;
  EO_CHECK(eo_dataset_open(fx("ds/big"), &bad, &p, &ds) == EO_ERR_INVALID && contains(eo_last_error(), "fraction"));
}

static void test_bad(void) {
  cJSON *want = cJSON_GetObjectItem(EXP, "bad");
  int n = cJSON_GetArraySize(want);
  for (int skip = 0; skip < 2; skip++) {
    eo_dataset_options o = {.skip_bad = skip};
    eo_dataset *ds;
    eo_status st = eo_dataset_open(fx("ds/bad"), &o, NULL, &ds);
    EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
    if (st != EO_OK) return;
    EO_CHECK(eo_dataset_size(ds) == n);
    const eo_data_item *it;
    if (!skip) {
      for (int k = 0; k < n; k++) {
        cJSON *e = cJSON_GetArrayItem(want, k), *sub;
        st = eo_dataset_next(ds, &it);
        const char *msg = eo_last_error();
        bool ok = strcmp(eo_status_name(st), cJSON_GetArrayItem(e, 0)->valuestring) == 0 && (st == EO_OK) == (it != NULL);
        cJSON_ArrayForEach(sub, cJSON_GetArrayItem(e, 1)) ok = ok && contains(msg, sub->valuestring);
        EO_CHECK_MSG(ok, "item %d: status '%s', message: %s", k, eo_status_name(st), msg);
      }
      EO_CHECK(eo_dataset_next(ds, &it) == EO_OK && it == NULL && eo_dataset_num_bad(ds) == 0);
    } else {
      int good = 0;
      while ((st = eo_dataset_next(ds, &it)) == EO_OK && it) good++;
      EO_CHECK(st == EO_OK && good == 1 && eo_dataset_num_bad(ds) == n - 1);
      /* the messages are kept in order, one per bad item */
      int m = 0;
      for (int k = 1; k < n; k++, m++) {
        cJSON *sub;
        bool ok = eo_dataset_bad_message(ds, m) != NULL;
        cJSON_ArrayForEach(sub, cJSON_GetArrayItem(cJSON_GetArrayItem(want, k), 1))
            ok = ok && contains(eo_dataset_bad_message(ds, m), sub->valuestring);
        EO_CHECK_MSG(ok, "bad message %d: %s", m, eo_dataset_bad_message(ds, m));
      }
      EO_CHECK(eo_dataset_bad_message(ds, m) == NULL);
      EO_CHECK(eo_dataset_rewind(ds) == EO_OK && eo_dataset_num_bad(ds) == 0);
    }
    eo_dataset_free(ds);
  }
  /* data sets that cannot open */
  eo_dataset *ds;
  eo_status st = eo_dataset_open(fx("ds/empty"), NULL, NULL, &ds);
  EO_CHECK_MSG(st == EO_ERR_INVALID && ds == NULL && contains(eo_last_error(), "empty data set") &&
                   contains(eo_last_error(), "ds/empty"), "%s", eo_last_error());
  st = eo_dataset_open(fx("ds/yolo_empty"), NULL, NULL, &ds);
  EO_CHECK_MSG(st == EO_ERR_INVALID && contains(eo_last_error(), "empty data set") && contains(eo_last_error(), "'val'"),
               "%s", eo_last_error());
  st = eo_dataset_open(fx("ds/yolo_nosplit"), NULL, NULL, &ds);
  EO_CHECK_MSG(st == EO_ERR_INVALID && contains(eo_last_error(), "no 'val' split (it has: train)"), "%s", eo_last_error());
  st = eo_dataset_open(fx("ds/yolo_badnc"), NULL, NULL, &ds);
  EO_CHECK_MSG(st == EO_ERR_PARSE && contains(eo_last_error(), "data.yaml:3") &&
                   contains(eo_last_error(), "nc = 3 but names lists 2"), "%s", eo_last_error());
  st = eo_dataset_open(fx("ds/does_not_exist"), NULL, NULL, &ds);
  EO_CHECK(st == EO_ERR_IO && contains(eo_last_error(), "does_not_exist"));
  /* an image that does not fit a fixed-size input with resize none, inside a data set */
  eo_preprocess p;
  eo_preprocess_init(&p);
  eo_preprocess_set(&p, "size=32");
  st = eo_dataset_open(fx("ds/yolo"), NULL, &p, &ds);
  EO_CHECK(st == EO_OK);
  if (st == EO_OK) {
    const eo_data_item *it;
    st = eo_dataset_next(ds, &it);
    EO_CHECK_MSG(st == EO_ERR_SHAPE && it == NULL && contains(eo_last_error(), "images/val/v0.png") &&
                     contains(eo_last_error(), "40x30") && contains(eo_last_error(), "resize is none"),
                 "%s", eo_last_error());
  }
  eo_dataset_free(ds);
}

/* 2000 images streamed: the peak resident size must not grow with the number of items. */
static void test_streaming(void) {
  eo_preprocess p;
  eo_preprocess_init(&p);
  eo_preprocess_set(&p, "resize=stretch");
  eo_preprocess_set(&p, "size=128"); /* 196 KB per float tensor: 393 MB if the set were held */
  eo_dataset *ds;
  eo_status st = eo_dataset_open(fx("ds/big"), NULL, &p, &ds);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (st != EO_OK) return;
  const eo_data_item *it;
  long hwm0 = 0;
  int k = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while ((st = eo_dataset_next(ds, &it)) == EO_OK && it) {
    if (++k == 20) hwm0 = vm_hwm_kb();
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long hwm1 = vm_hwm_kb();
  double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  printf("  streaming: %d images in %.2f s (%.0f/s), VmHWM %ld kB after 20 items, %ld kB after %d (+%ld kB)\n", k, sec,
         k / sec, hwm0, hwm1, k, hwm1 - hwm0);
  EO_CHECK(st == EO_OK && k == 2000);
  EO_CHECK_MSG(hwm0 > 0 && hwm1 - hwm0 < 4096, "peak RSS grew by %ld kB over 1980 items", hwm1 - hwm0);
  eo_dataset_free(ds);
}

#if defined(__SANITIZE_ADDRESS__)
#define EO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EO_ASAN 1
#endif
#endif
#ifdef EO_ASAN
/* ASan keeps freed blocks in a quarantine (256 MB by default), which makes every freed image look
 * resident; a small quarantine keeps the streaming check about the library's memory. */
const char *__asan_default_options(void) { return "quarantine_size_mb=2"; }
#endif

int main(void) {
  snprintf(FX, sizeof FX, "/tmp/eo_data_XXXXXX");
  if (!mkdtemp(FX)) {
    perror("mkdtemp");
    return 1;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 scripts/make_data_fixtures.py '%s' > /dev/null", FX);
  int rc = system(cmd);
  EO_CHECK_MSG(rc == 0, "fixture generation failed (%d): %s", rc, cmd);
  void *txt = NULL;
  FILE *f = fopen(fx("expected.json"), "rb");
  if (rc == 0 && f) {
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    txt = calloc(1, (size_t)n + 1);
    if (txt && fread(txt, 1, (size_t)n, f) == (size_t)n) EXP = cJSON_Parse(txt);
  }
  if (f) fclose(f);
  free(txt);
  EO_CHECK(EXP != NULL);
  if (EXP) {
    test_decode();
    test_preprocess_cases();
    test_transform();
    test_config();
    test_yolo();
    test_imagefolder();
    test_idx();
    test_npy();
    test_subset();
    test_bad();
    test_streaming();
  }
  cJSON_Delete(EXP);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", FX);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", FX);
  return eo_test_finish();
}
