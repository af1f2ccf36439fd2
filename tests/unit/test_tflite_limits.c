/* The flatbuffer size limit of the TFLite writer (FlatBuffers' 32-bit offsets cap a file at 2 GiB - 1).
 * The limit is a parameter (eo_fb_set_limit, eo_export_tflite_limit), so the check is driven here
 * without building 2 GiB: the builder refuses to grow past it, and the exporter refuses a model
 * whose file would exceed it before writing anything (an existing file at the path is untouched,
 * no temporary file is left), while a limit of exactly the file's size still writes it. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgeopt/export.h"
#include "edgeopt/model.h"
#include "export/flatbuffer.h"
#include "export/tflite_schema.h"
#include "test.h"

static void test_builder_limit(void) {
  static uint8_t data[512];
  eo_fb_builder b;
  eo_fb_init(&b);
  EO_CHECK(b.max_size == (size_t)INT32_MAX);  // the format's own limit by default
  eo_fb_set_limit(&b, 256);
  eo_fb_ref v = eo_fb_vector(&b, data, 1, 200, 16);
  EO_CHECK(v != 0 && !b.failed);
  EO_CHECK(eo_fb_vector(&b, data, 1, 100, 16) == 0);  // 200 + 100 bytes > 256
  EO_CHECK(b.failed && b.too_big);
  size_t n = 1;
  EO_CHECK(eo_fb_data(&b, &n) == NULL && n == 0);
  eo_fb_free(&b);

  // Under the default limit a vector of 2^31 bytes is refused up front (never copied or allocated).
  eo_fb_init(&b);
  EO_CHECK(eo_fb_vector(&b, data, 1, (size_t)INT32_MAX + 1, 16) == 0);
  EO_CHECK(b.failed && b.too_big);
  eo_fb_free(&b);

  // Out of the limit's way, the same calls succeed and too_big stays clear.
  eo_fb_init(&b);
  eo_fb_set_limit(&b, 4096);
  EO_CHECK(eo_fb_vector(&b, data, 1, 200, 16) != 0 && eo_fb_vector(&b, data, 1, 100, 16) != 0);
  EO_CHECK(!b.failed && !b.too_big);
  eo_fb_free(&b);
}

static long file_size(const char *path) {
  struct stat s;
  return stat(path, &s) == 0 ? (long)s.st_size : -1;
}

static int dir_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void test_export_limit(void) {
  eo_model *m = NULL;
  EO_CHECK(eo_model_load("examples/tiny_cnn.onnx", NULL, &m) == EO_OK);
  if (!m) return;
  char dir[] = "/tmp/eo_tflite_limits_XXXXXX";
  EO_CHECK(mkdtemp(dir) != NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/tiny.tflite", dir);
  eo_tflite_options o = {.mode = EO_TFLITE_FP32};

  EO_CHECK(eo_export_tflite(m, &o, path) == EO_OK);
  long size = file_size(path);
  EO_CHECK(size > 1000);
  unlink(path);

  // A limit of exactly the file's size writes the same file.
  EO_CHECK(eo_export_tflite_limit(m, &o, path, (size_t)size) == EO_OK);
  EO_CHECK(file_size(path) == size);

  // An existing file stays as it was when the new one would be over the limit: one byte under the
  // file's size (the builder's exact check), and far under it (the lower bound, before laying out).
  FILE *f = fopen(path, "wb");
  EO_CHECK(f && fputs("old", f) >= 0);
  if (f) fclose(f);
  size_t limits[2] = {(size_t)size - 1, 1000};
  for (int i = 0; i < 2; i++) {
    eo_status st = eo_export_tflite_limit(m, &o, path, limits[i]);
    EO_CHECK_MSG(st == EO_ERR_UNSUPPORTED, "limit %zu: status %d", limits[i], (int)st);
    const char *msg = eo_last_error();
    EO_CHECK_MSG(strstr(msg, "size limit of") && strstr(msg, "nothing written"), "limit %zu: %s", limits[i], msg);
    EO_CHECK(file_size(path) == 3);
    EO_CHECK(dir_entries(dir) == 1);  // no temporary file left beside it
  }
  // At the format's own limit the file is written as before.
  EO_CHECK(eo_export_tflite_limit(m, &o, path, (size_t)INT32_MAX) == EO_OK && file_size(path) == size);
  unlink(path);
  rmdir(dir);
  eo_model_free(m);
}

int main(void) {
  test_builder_limit();
  test_export_limit();
  return eo_test_finish();
}
