/* Bad input gives a clear status and message, never a crash: fixtures from scripts/make_bad_models.py. */
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "edgeopt/runtime.h"
#include "test.h"

static char dir[256];

static eo_status load(const char *name, eo_model **m) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return eo_model_load(path, NULL, m);
}

/* Loads `name`, expects status `want` and every needle in the message. */
static void expect_fail(const char *name, eo_status want, const char *needle1, const char *needle2) {
  eo_model *m = (eo_model *)1;
  eo_status st = load(name, &m);
  const char *msg = eo_last_error();
  EO_CHECK_MSG(st == want, "%s: status %s, expected %s (%s)", name, eo_status_name(st), eo_status_name(want), msg);
  EO_CHECK_MSG(m == NULL, "%s: output handle not cleared on failure", name);
  EO_CHECK_MSG(strstr(msg, name) != NULL, "%s: message does not name the file: %s", name, msg);
  if (needle1) EO_CHECK_MSG(strstr(msg, needle1) != NULL, "%s: '%s' missing from: %s", name, needle1, msg);
  if (needle2) EO_CHECK_MSG(strstr(msg, needle2) != NULL, "%s: '%s' missing from: %s", name, needle2, msg);
  if (st == EO_OK) eo_model_free(m);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/eo_bad_models_%d", (int)getpid());
  char cmd[512];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 scripts/make_bad_models.py %s", dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "fixture generation failed\n");
    return 1;
  }
  eo_model *m = NULL;
  EO_CHECK(load("ok.onnx", &m) == EO_OK && m);
  eo_model_free(m);

  expect_fail("truncated.onnx", EO_ERR_PARSE, "not a valid ONNX", NULL);
  expect_fail("png_magic.onnx", EO_ERR_PARSE, "not an ONNX model", NULL);
  expect_fail("garbage.onnx", EO_ERR_PARSE, NULL, NULL);
  expect_fail("empty.onnx", EO_ERR_PARSE, "empty", NULL);
  expect_fail("cycle.onnx", EO_ERR_INVALID, "cycle", NULL);
  expect_fail("missing_initializer.onnx", EO_ERR_INVALID, "conv1", "conv1.weight");
  expect_fail("unsupported.onnx", EO_ERR_UNSUPPORTED, "mystery_1", "lpnorm_7");
  expect_fail("future_opset.onnx", EO_ERR_UNSUPPORTED, "opset 22", NULL);
  expect_fail("raw_size.onnx", EO_ERR_INVALID, "initializer 'w'", "raw_data");
  expect_fail("external_escape.onnx", EO_ERR_INVALID, "external data", NULL);
  expect_fail("two_producers.onnx", EO_ERR_INVALID, "'y'", NULL);
  expect_fail("missing_output.onnx", EO_ERR_INVALID, "nowhere", NULL);
  expect_fail("reshape_float_shape.onnx", EO_ERR_SHAPE, "reshape_bad", NULL);
  expect_fail("does_not_exist.onnx", EO_ERR_IO, "cannot open", NULL);

  // Unsupported ops: still inspectable when asked, never runnable.
  eo_load_options lo = {.allow_unsupported_ops = 1};
  char path[512];
  snprintf(path, sizeof path, "%s/unsupported.onnx", dir);
  EO_CHECK(eo_model_load(path, &lo, &m) == EO_OK);
  eo_session *s = (eo_session *)1;
  EO_CHECK(eo_session_create(m, NULL, &s) == EO_ERR_UNSUPPORTED && s == NULL);
  eo_model_free(m);

  // Inputs of the wrong rank, shape or dtype; symbolic dims left unbound; calls out of order.
  EO_CHECK(load("ok.onnx", &m) == EO_OK);
  EO_CHECK(eo_session_create(m, NULL, &s) == EO_OK);
  EO_CHECK(eo_session_run(s) == EO_ERR_STATE);
  int64_t d3[3] = {3, 4, 4};
  eo_input_shape bad_rank = {"x", 3, d3, 0, NULL};
  EO_CHECK(eo_session_prepare(s, 1, &bad_rank) == EO_ERR_SHAPE);
  EO_CHECK(strstr(eo_last_error(), "rank") != NULL);
  eo_input_shape unknown = {"nope", 3, d3, 0, NULL};
  EO_CHECK(eo_session_prepare(s, 1, &unknown) == EO_ERR_INVALID);
  EO_CHECK(eo_session_prepare(s, 0, NULL) == EO_OK);
  float buf[48] = {0};
  int64_t wrong[4] = {1, 3, 4, 5};
  EO_CHECK(eo_session_set_input(s, "x", EO_FLOAT, 4, wrong, buf) == EO_ERR_SHAPE);
  int64_t right[4] = {1, 3, 4, 4};
  EO_CHECK(eo_session_set_input(s, "x", EO_INT64, 4, right, buf) == EO_ERR_SHAPE);
  EO_CHECK(eo_session_set_input(s, "x", EO_FLOAT, 4, right, buf) == EO_OK);
  EO_CHECK(eo_session_run(s) == EO_OK);
  eo_session_free(s);
  eo_model_free(m);

  // a memory budget smaller than the planned arena is refused at prepare, with both numbers
  EO_CHECK(load("ok.onnx", &m) == EO_OK);
  eo_session_options tight = {.max_arena_bytes = 64};
  EO_CHECK(eo_session_create(m, &tight, &s) == EO_OK);
  EO_CHECK(eo_session_prepare(s, 0, NULL) == EO_ERR_NOMEM && strstr(eo_last_error(), "exceeds the limit of 64 bytes"));
  eo_session_free(s);
  eo_model_free(m);

  EO_CHECK(load("symbolic.onnx", &m) == EO_OK);
  EO_CHECK(eo_model_input(m, 0)->dims[0] == -1 && strcmp(eo_model_input(m, 0)->dim_param[0], "batch") == 0);
  EO_CHECK(eo_session_create(m, NULL, &s) == EO_OK);
  EO_CHECK(eo_session_prepare(s, 0, NULL) == EO_ERR_SHAPE);
  EO_CHECK(strstr(eo_last_error(), "batch") != NULL);
  int64_t b5[4] = {5, 3, 4, 4};
  eo_input_shape bind = {"x", 4, b5, 0, NULL};
  EO_CHECK(eo_session_prepare(s, 1, &bind) == EO_OK);
  eo_tensor_view y;
  EO_CHECK(eo_session_output(s, 0, &y) == EO_OK && y.rank == 4 && y.dims[0] == 5);
  eo_session_free(s);
  eo_model_free(m);

  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  EO_CHECK(system(cmd) == 0);
  return eo_test_finish();
}
