/* TFLite reader: files written by edgeopt's own exporter load back and compute what the ONNX
 * original computes; malformed files (every truncation, random byte corruption) give errors,
 * never crashes (the ASan build runs this too); unsupported operators are listed together and
 * an operator mixing quantized and float activations is refused by name.
 * Bars, fixed before measuring: FP32 export max|diff| <= 1e-5 * max|ONNX output|; FP16 export
 * (float16 weights behind DEQUANTIZE) <= 1e-3 * max|ONNX output| (the FP16 bar). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgeopt/export.h"
#include "edgeopt/runtime.h"
#include "core/core.h"
#include "export/flatbuffer.h"
#include "export/tflite_schema.h"
#include "test.h"

static uint32_t rng = 12345;
static uint32_t next(void) {
  rng = rng * 1664525u + 1013904223u;
  return rng >> 8;
}

/* Runs `m` on one float input of shape dims; returns the first output (malloc'd) and its size. */
static float *run1(const eo_model *m, int rank, const int64_t *dims, const float *x, size_t *n_out) {
  eo_session *s = NULL;
  float *y = NULL;
  const eo_value_desc *in = eo_model_input(m, 0);
  eo_input_shape shape = {in->name, rank, dims, 0, NULL};
  eo_tensor_view v;
  eo_session_options so = {.threads = 1};
  if (!eo_session_create(m, &so, &s) && !eo_session_prepare(s, 1, &shape) &&
      !eo_session_set_input(s, in->name, EO_FLOAT, rank, dims, x) && !eo_session_run(s) &&
      !eo_session_output(s, 0, &v) && (y = malloc(v.nbytes))) {
    memcpy(y, v.data, v.nbytes);
    *n_out = v.nbytes / 4;
  } else {
    fprintf(stderr, "run failed: %s\n", eo_last_error());
  }
  eo_session_free(s);
  return y;
}

static void check_roundtrip(const char *onnx, int64_t c, int64_t h, int64_t w, int mode, double bar) {
  eo_model *m = NULL, *t = NULL;
  char path[] = "/tmp/eo_tflite_import_XXXXXX";
  int fd = mkstemp(path);
  EO_CHECK(fd >= 0);
  if (fd >= 0) close(fd);
  EO_CHECK_MSG(eo_model_load(onnx, NULL, &m) == EO_OK, "%s", eo_last_error());
  eo_tflite_options o = {.mode = mode};
  EO_CHECK_MSG(m && eo_export_tflite(m, &o, path) == EO_OK, "%s", eo_last_error());
  EO_CHECK_MSG(eo_model_load(path, NULL, &t) == EO_OK, "%s", eo_last_error());
  if (m && t) {
    const eo_value_desc *in = eo_model_input(t, 0);
    // Graph input keeps TFLite's NHWC layout.
    EO_CHECK(in->rank == 4 && in->dims[0] == 1 && in->dims[1] == h && in->dims[2] == w && in->dims[3] == c);
    int64_t nchw[4] = {1, c, h, w}, nhwc[4] = {1, h, w, c};
    size_t n = (size_t)(c * h * w);
    float *x = malloc(n * 4), *xt = malloc(n * 4);
    for (int rep = 0; rep < 3; rep++) {
      for (size_t i = 0; i < n; i++) x[i] = (float)(next() % 20001) / 10000.f - 1.f;
      for (int64_t ci = 0; ci < c; ci++)
        for (int64_t p = 0; p < h * w; p++) xt[p * c + ci] = x[ci * h * w + p];
      size_t na = 0, nb = 0;
      float *ya = run1(m, 4, nchw, x, &na), *yb = run1(t, 4, nhwc, xt, &nb);
      EO_CHECK(ya && yb && na == nb && na > 0);
      if (ya && yb && na == nb) {
        double maxref = 0, maxdiff = 0;
        for (size_t i = 0; i < na; i++) {
          maxref = fmax(maxref, fabs(ya[i]));
          maxdiff = fmax(maxdiff, fabs((double)ya[i] - yb[i]));
        }
        EO_CHECK_MSG(maxref > 0 && maxdiff <= bar * maxref, "%s mode %d: max|diff| %.3g, max|ref| %.3g", onnx, mode,
                     maxdiff, maxref);
        printf("%s mode %d input %d: max|diff|/max|ref| = %.3g (bar %g)\n", onnx, mode, rep, maxdiff / maxref, bar);
      }
      free(ya);
      free(yb);
    }
    // The TFLite model saves as ONNX (NHWC I/O kept) and that file computes the same.
    char onnx_path[64];
    snprintf(onnx_path, sizeof onnx_path, "%s.onnx", path);
    eo_model *back = NULL;
    EO_CHECK_MSG(eo_model_save(t, onnx_path) == EO_OK, "%s", eo_last_error());
    EO_CHECK_MSG(eo_model_load(onnx_path, NULL, &back) == EO_OK, "%s", eo_last_error());
    if (back) {
      size_t na = 0, nb = 0;
      float *ya = run1(t, 4, nhwc, xt, &na), *yb = run1(back, 4, nhwc, xt, &nb);
      EO_CHECK(ya && yb && na == nb && memcmp(ya, yb, na * 4) == 0);
      free(ya);
      free(yb);
    }
    eo_model_free(back);
    unlink(onnx_path);
    free(x);
    free(xt);
  }
  // Every truncation is an error; random single-byte corruption never crashes.
  void *buf = NULL;
  size_t size = 0;
  if (mode == EO_TFLITE_FP32 && !eo_read_file(path, &buf, &size)) {
    int truncated_ok = 0;
    for (size_t len = 0; len < size; len += len < 64 || len + 64 > size ? 1 : size / 97 + 1) {
      eo_model *x = NULL;
      if (eo_model_load_buffer(buf, len, NULL, "truncated", NULL, &x) == EO_OK) truncated_ok++;
      eo_model_free(x);
    }
    EO_CHECK_MSG(truncated_ok == 0, "%d truncated files loaded", truncated_ok);
    uint8_t *copy = malloc(size);
    int errors = 0, loaded = 0;
    for (int k = 0; k < 600; k++) {
      memcpy(copy, buf, size);
      int flips = 1 + (int)(next() % 3);
      for (int f = 0; f < flips; f++) copy[next() % size] = (uint8_t)next();
      eo_model *x = NULL;
      if (eo_model_load_buffer(copy, size, NULL, "corrupt", NULL, &x) != EO_OK) {
        errors++;
        EO_CHECK(eo_last_error()[0] != 0);
        continue;
      }
      loaded++;
      // What loads must prepare and run cleanly or fail with a status.
      eo_session *s = NULL;
      eo_session_options so = {.max_arena_bytes = 64u << 20, .threads = 1};
      const eo_value_desc *in = eo_model_input(x, 0);
      if (in && eo_model_num_inputs(x) == 1 && in->rank <= 4 && eo_session_create(x, &so, &s) == EO_OK &&
          eo_session_prepare(s, 0, NULL) == EO_OK)
        eo_session_run(s);
      eo_session_free(s);
      eo_model_free(x);
    }
    printf("%s: 600 corrupted copies: %d refused, %d loaded\n", onnx, errors, loaded);
    EO_CHECK(errors > 0);
    free(copy);
  }
  free(buf);
  eo_model_free(m);
  eo_model_free(t);
  unlink(path);
}

/* A hand-built TFLite model: input [1,4] float (or int8 quantized), then the given operators, each
 * reading tensor 0 and writing tensor 1. */
static void build(eo_fb_builder *b, int n_ops, const int *codes, const char *custom, int in_type) {
  eo_fb_init(b);
  eo_fb_ref bufs[1], ocs[4], tensors[2], ops[4];
  eo_fb_table_start(b);
  bufs[0] = eo_fb_table_end(b);
  eo_fb_ref bufv = eo_fb_vector_refs(b, bufs, 1);
  for (int i = 0; i < n_ops; i++) {
    eo_fb_ref cs = codes[i] == OP_CUSTOM ? eo_fb_string(b, custom) : 0;
    eo_fb_table_start(b);
    eo_fb_add_u8(b, OPCODE_DEPRECATED_BUILTIN, (uint8_t)(codes[i] < 127 ? codes[i] : 127), 0);
    eo_fb_add_ref(b, OPCODE_CUSTOM, cs);
    eo_fb_add_i32(b, OPCODE_BUILTIN, codes[i], 0);
    ocs[i] = eo_fb_table_end(b);
  }
  eo_fb_ref ocv = eo_fb_vector_refs(b, ocs, (size_t)n_ops);
  for (int t = 0; t < 2; t++) {
    int32_t shape[2] = {1, 4};
    eo_fb_ref sh = eo_fb_vector_i32(b, shape, 2), nm = eo_fb_string(b, t ? "y" : "x_q"), q = 0;
    if (t == 0 && in_type == TFL_INT8) {
      float scale = 0.5f;
      int64_t zp = 0;
      eo_fb_ref sv = eo_fb_vector(b, &scale, 4, 1, 4), zv = eo_fb_vector(b, &zp, 8, 1, 8);
      eo_fb_table_start(b);
      eo_fb_add_ref(b, QUANT_SCALE, sv);
      eo_fb_add_ref(b, QUANT_ZERO_POINT, zv);
      q = eo_fb_table_end(b);
    }
    eo_fb_table_start(b);
    eo_fb_add_ref(b, TENSOR_SHAPE, sh);
    eo_fb_add_u8(b, TENSOR_TYPE, (uint8_t)(t ? TFL_FLOAT32 : in_type), 0);
    eo_fb_add_ref(b, TENSOR_NAME, nm);
    eo_fb_add_ref(b, TENSOR_QUANTIZATION, q);
    tensors[t] = eo_fb_table_end(b);
  }
  eo_fb_ref tv = eo_fb_vector_refs(b, tensors, 2);
  for (int i = 0; i < n_ops; i++) {
    int32_t in = 0, out = 1;
    eo_fb_ref iv = eo_fb_vector_i32(b, &in, 1), ov = eo_fb_vector_i32(b, &out, 1);
    eo_fb_table_start(b);
    eo_fb_add_u32(b, OPERATOR_OPCODE, (uint32_t)i, 0);
    eo_fb_add_ref(b, OPERATOR_INPUTS, iv);
    eo_fb_add_ref(b, OPERATOR_OUTPUTS, ov);
    ops[i] = eo_fb_table_end(b);
  }
  eo_fb_ref opv = eo_fb_vector_refs(b, ops, (size_t)n_ops);
  int32_t gi = 0, go = 1;
  eo_fb_ref giv = eo_fb_vector_i32(b, &gi, 1), gov = eo_fb_vector_i32(b, &go, 1);
  eo_fb_table_start(b);
  eo_fb_add_ref(b, SUBGRAPH_TENSORS, tv);
  eo_fb_add_ref(b, SUBGRAPH_INPUTS, giv);
  eo_fb_add_ref(b, SUBGRAPH_OUTPUTS, gov);
  eo_fb_add_ref(b, SUBGRAPH_OPERATORS, opv);
  eo_fb_ref sg = eo_fb_table_end(b);
  eo_fb_ref sgv = eo_fb_vector_refs(b, &sg, 1);
  eo_fb_table_start(b);
  eo_fb_add_u32(b, MODEL_VERSION, 3, 0);
  eo_fb_add_ref(b, MODEL_OPCODES, ocv);
  eo_fb_add_ref(b, MODEL_SUBGRAPHS, sgv);
  eo_fb_add_ref(b, MODEL_BUFFERS, bufv);
  eo_fb_ref root = eo_fb_table_end(b);
  eo_fb_finish(b, root, "TFL3");
}

static void check_errors(void) {
  eo_fb_builder b;
  eo_model *m = NULL;
  size_t n;
  const uint8_t *p;

  // A valid hand-built file: LOGISTIC runs and matches 1/(1+e^-x).
  int logistic = OP_LOGISTIC;
  build(&b, 1, &logistic, NULL, TFL_FLOAT32);
  p = eo_fb_data(&b, &n);
  EO_CHECK(!b.failed);
  EO_CHECK_MSG(eo_model_load_buffer(p, n, NULL, "hand.tflite", NULL, &m) == EO_OK, "%s", eo_last_error());
  if (m) {
    float x[4] = {-2.f, -0.5f, 0.f, 3.f};
    int64_t dims[2] = {1, 4};
    size_t ny = 0;
    float *y = run1(m, 2, dims, x, &ny);
    EO_CHECK(y && ny == 4);
    for (size_t i = 0; y && i < ny; i++) EO_CHECK_NEAR(y[i], 1.0 / (1.0 + exp(-x[i])), 1e-6);
    free(y);
  }
  eo_model_free(m);
  m = NULL;
  eo_fb_free(&b);

  // Every operator that cannot be read is listed in one message.
  int codes[3] = {OP_CUSTOM, OP_RELU, 200};
  build(&b, 3, codes, "MyPostProcess", TFL_FLOAT32);
  p = eo_fb_data(&b, &n);
  EO_CHECK(eo_model_load_buffer(p, n, NULL, "hand.tflite", NULL, &m) == EO_ERR_UNSUPPORTED);
  const char *e = eo_last_error();
  EO_CHECK_MSG(strstr(e, "2 TFLite operators") && strstr(e, "op 0 CUSTOM 'MyPostProcess'") &&
                   strstr(e, "op 2 builtin 200") && !strstr(e, "op 1"), "%s", e);
  eo_model_free(m);
  m = NULL;
  eo_fb_free(&b);

  // int8 in, float out (no TFLite kernel of edgeopt's does that): refused with the tensor and operator named.
  build(&b, 1, &logistic, NULL, TFL_INT8);
  p = eo_fb_data(&b, &n);
  EO_CHECK(eo_model_load_buffer(p, n, NULL, "hand.tflite", NULL, &m) == EO_ERR_UNSUPPORTED);
  e = eo_last_error();
  EO_CHECK_MSG(strstr(e, "'x_q'") && strstr(e, "int8") && strstr(e, "LOGISTIC"), "%s", e);
  eo_model_free(m);
  eo_fb_free(&b);
}

int main(void) {
  check_errors();
  check_roundtrip("examples/tiny_cnn.onnx", 3, 32, 32, EO_TFLITE_FP32, 1e-5);
  check_roundtrip("examples/tiny_cnn.onnx", 3, 32, 32, EO_TFLITE_FP16, 1e-3);
  check_roundtrip("examples/classifier.onnx", 1, 28, 28, EO_TFLITE_FP32, 1e-5);
  check_roundtrip("examples/classifier.onnx", 1, 28, 28, EO_TFLITE_FP16, 1e-3);
  return eo_test_finish();
}
