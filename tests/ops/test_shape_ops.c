/* Shape and data-movement ops: hand-computed cases per op and opset, error cases with messages,
 * and the strided-copy fast path against its reference kernel. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_test.h"
#include "runtime/kernels/ref/move_kernels.h"
#include "test.h"

#define D(...) ((int64_t[]){__VA_ARGS__})
#define F(...) ((float[]){__VA_ARGS__})
#define I64(...) ((int64_t[]){__VA_ARGS__})
#define IN(...) ((eo_tview *[]){__VA_ARGS__})

static eo_tview i64v(int rank, const int64_t *dims, int64_t *data) { return optest_view(EO_INT64, rank, dims, data); }

static void expect_shape(const eo_tview *t, int rank, const int64_t *dims) {
  EO_CHECK_MSG(t->rank == rank, "rank %d vs %d", t->rank, rank);
  for (int k = 0; k < rank && k < t->rank; k++)
    EO_CHECK_MSG(t->dims[k] == dims[k], "dim %d: %lld vs %lld", k, (long long)t->dims[k], (long long)dims[k]);
}

static void expect_f32(const eo_tview *t, int n, const float *v) {
  EO_CHECK_MSG(t->dtype == EO_FLOAT, "dtype %d", t->dtype);
  EO_CHECK_MSG(eo_tview_numel(t) == n, "numel %lld vs %d", (long long)eo_tview_numel(t), n);
  for (int i = 0; i < n && i < eo_tview_numel(t); i++)
    EO_CHECK_MSG(((const float *)t->data)[i] == v[i], "[%d] %g vs %g", i, ((const float *)t->data)[i], v[i]);
}

static void expect_i64(const eo_tview *t, int n, const int64_t *v) {
  EO_CHECK_MSG(t->dtype == EO_INT64, "dtype %d", t->dtype);
  EO_CHECK_MSG(eo_tview_numel(t) == n, "numel %lld vs %d", (long long)eo_tview_numel(t), n);
  for (int i = 0; i < n && i < eo_tview_numel(t); i++)
    EO_CHECK_MSG(((const int64_t *)t->data)[i] == v[i], "[%d] %lld vs %lld", i, (long long)((const int64_t *)t->data)[i],
                 (long long)v[i]);
}

static void expect_error(eo_status st, eo_status code, const char *substr) {
  EO_CHECK_MSG(st == code, "status %d, expected %d (%s)", st, code, eo_last_error());
  EO_CHECK_MSG(strstr(eo_last_error(), substr) != NULL, "message '%s' lacks '%s'", eo_last_error(), substr);
  EO_CHECK(strstr(eo_last_error(), "test_node") != NULL);
}

static float seq[256];  // 0, 1, 2, ...

static void test_concat(void) {
  eo_node *n = optest_node("Concat");
  optest_attr_i(n, "axis", 1);
  eo_tview a = optest_f32(2, D(2, 2), F(1, 2, 3, 4)), b = optest_f32(2, D(2, 1), F(5, 6)), y;
  EO_CHECK(optest_run(n, 13, 2, IN(&a, &b), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 2, D(2, 3));
  expect_f32(&y, 6, F(1, 2, 5, 3, 4, 6));
  free(y.data);
  optest_node_free(n);

  n = optest_node("Concat");  // axis -2, int8, three inputs, an empty one in the middle
  optest_attr_i(n, "axis", -2);
  int8_t a8[] = {1, 2}, c8[] = {3, 4, 5, 6};
  eo_tview x0 = optest_view(EO_INT8, 2, D(1, 2), a8), x1 = optest_view(EO_INT8, 2, D(0, 2), a8),
           x2 = optest_view(EO_INT8, 2, D(2, 2), c8);
  EO_CHECK(optest_run(n, 13, 3, IN(&x0, &x1, &x2), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 2, D(3, 2));
  EO_CHECK(memcmp(y.data, (int8_t[]){1, 2, 3, 4, 5, 6}, 6) == 0);
  free(y.data);
  // mismatched non-axis dim
  eo_tview bad = optest_view(EO_INT8, 2, D(1, 3), c8);
  expect_error(optest_run(n, 13, 2, IN(&x0, &bad), 1, IN(&y), false), EO_ERR_SHAPE, "dim 1 differs");
  optest_node_free(n);

  n = optest_node("Concat");  // axis is required from opset 4
  expect_error(optest_run(n, 13, 2, IN(&a, &a), 1, IN(&y), false), EO_ERR_INVALID, "'axis' is required");
  optest_attr_i(n, "axis", 2);
  expect_error(optest_run(n, 13, 2, IN(&a, &a), 1, IN(&y), false), EO_ERR_INVALID, "out of range");
  optest_node_free(n);
}

static void test_split(void) {
  eo_tview x = optest_f32(2, D(2, 6), seq), y0, y1, y2;
  eo_node *n = optest_node("Split");  // equal parts along axis 1
  optest_attr_i(n, "axis", 1);
  EO_CHECK(optest_run(n, 13, 1, IN(&x), 3, IN(&y0, &y1, &y2), false) == EO_OK);
  expect_shape(&y1, 2, D(2, 2));
  expect_f32(&y0, 4, F(0, 1, 6, 7));
  expect_f32(&y1, 4, F(2, 3, 8, 9));
  expect_f32(&y2, 4, F(4, 5, 10, 11));
  free(y0.data), free(y1.data), free(y2.data);
  // 6 does not split into 4 equal parts before opset 18
  eo_tview y3;
  expect_error(optest_run(n, 13, 1, IN(&x), 4, IN(&y0, &y1, &y2, &y3), false), EO_ERR_SHAPE, "equal parts");
  optest_node_free(n);

  n = optest_node("Split");  // opset 11: 'split' attribute, uneven, a zero-size part, output 1 not requested
  optest_attr_i(n, "axis", -1);
  optest_attr_ints(n, "split", 3, I64(1, 0, 5));
  EO_CHECK(optest_run(n, 11, 1, IN(&x), 3, IN(&y0, NULL, &y2), false) == EO_OK);
  expect_f32(&y0, 2, F(0, 6));
  expect_shape(&y2, 2, D(2, 5));
  expect_f32(&y2, 10, F(1, 2, 3, 4, 5, 7, 8, 9, 10, 11));
  free(y0.data), free(y2.data);
  optest_node_free(n);

  n = optest_node("Split");  // opset 13: 'split' input
  optest_attr_i(n, "axis", 1);
  int64_t sp[] = {4, 2};
  eo_tview s = i64v(1, D(2), sp);
  EO_CHECK(optest_run(n, 13, 2, IN(&x, &s), 2, IN(&y0, &y1), true) == EO_OK);
  expect_f32(&y0, 8, F(0, 1, 2, 3, 6, 7, 8, 9));
  expect_f32(&y1, 4, F(4, 5, 10, 11));
  free(y0.data), free(y1.data);
  expect_error(optest_run(n, 13, 2, IN(&x, &s), 2, IN(&y0, &y1), false), EO_ERR_UNSUPPORTED, "'split' must be a constant");
  int64_t sp_bad[] = {4, 1};
  eo_tview sb = i64v(1, D(2), sp_bad);
  expect_error(optest_run(n, 13, 2, IN(&x, &sb), 2, IN(&y0, &y1), true), EO_ERR_SHAPE, "sum to 5");
  optest_node_free(n);

  n = optest_node("Split");  // opset 18 num_outputs: 7 -> 3, 3, 1
  optest_attr_i(n, "num_outputs", 3);
  eo_tview x7 = optest_f32(1, D(7), seq);
  EO_CHECK(optest_run(n, 18, 1, IN(&x7), 3, IN(&y0, &y1, &y2), false) == EO_OK);
  expect_f32(&y0, 3, F(0, 1, 2));
  expect_f32(&y1, 3, F(3, 4, 5));
  expect_f32(&y2, 1, F(6));
  free(y0.data), free(y1.data), free(y2.data);
  expect_error(optest_run(n, 18, 1, IN(&x7), 2, IN(&y0, &y1), false), EO_ERR_INVALID, "num_outputs is 3");
  optest_node_free(n);
}

static void test_slice(void) {
  eo_tview x = optest_f32(2, D(3, 4), seq), y;  // [[0..3],[4..7],[8..11]]
  eo_node *n = optest_node("Slice");  // opset 9 attributes
  optest_attr_ints(n, "starts", 2, I64(1, 0));
  optest_attr_ints(n, "ends", 2, I64(1000, 3));
  EO_CHECK(optest_run(n, 9, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 2, D(2, 3));
  expect_f32(&y, 6, F(4, 5, 6, 8, 9, 10));
  free(y.data);
  optest_node_free(n);

  n = optest_node("Slice");  // opset 13: negative step over axis 1, ends INT64_MIN-ish (to the start)
  int64_t st[] = {-1}, en[] = {INT64_MIN}, ax[] = {-1}, sp[] = {-2};
  eo_tview ts = i64v(1, D(1), st), te = i64v(1, D(1), en), ta = i64v(1, D(1), ax), tp = i64v(1, D(1), sp);
  EO_CHECK(optest_run(n, 13, 5, IN(&x, &ts, &te, &ta, &tp), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(3, 2));
  expect_f32(&y, 6, F(3, 1, 7, 5, 11, 9));
  free(y.data);
  // INT64_MAX end, step 3 from 1 on axis 1: columns 1
  int64_t st2[] = {1, 1}, en2[] = {INT64_MAX, INT64_MAX}, sp2[] = {1, 3};
  eo_tview ts2 = i64v(1, D(2), st2), te2 = i64v(1, D(2), en2), tp2 = i64v(1, D(2), sp2);
  EO_CHECK(optest_run(n, 13, 5, IN(&x, &ts2, &te2, NULL, &tp2), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(2, 1));
  expect_f32(&y, 2, F(5, 9));
  free(y.data);
  // empty result: start past the end
  int64_t st3[] = {5}, en3[] = {10}, ax3[] = {0};
  eo_tview ts3 = i64v(1, D(1), st3), te3 = i64v(1, D(1), en3), ta3 = i64v(1, D(1), ax3);
  EO_CHECK(optest_run(n, 13, 3, IN(&x, &ts3, &te3, &ta3), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(0, 4));
  free(y.data);
  // errors: step 0, non-constant starts, repeated axis
  int64_t z[] = {0};
  eo_tview tz = i64v(1, D(1), z);
  expect_error(optest_run(n, 13, 5, IN(&x, &ts, &te, &ta, &tz), 1, IN(&y), true), EO_ERR_INVALID, "step");
  expect_error(optest_run(n, 13, 3, IN(&x, &ts, &te), 1, IN(&y), false), EO_ERR_UNSUPPORTED, "'starts' must be a constant");
  int64_t ax_dup[] = {1, -1};
  eo_tview tad = i64v(1, D(2), ax_dup);
  expect_error(optest_run(n, 13, 4, IN(&x, &ts2, &te2, &tad), 1, IN(&y), true), EO_ERR_INVALID, "sliced twice");
  optest_node_free(n);
}

static void test_reshape(void) {
  eo_tview x = optest_f32(3, D(2, 3, 4), seq), y;
  eo_node *n = optest_node("Reshape");
  int64_t s1[] = {0, -1, 2};
  eo_tview t1 = i64v(1, D(3), s1);
  EO_CHECK(optest_run(n, 13, 2, IN(&x, &t1), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 3, D(2, 6, 2));
  EO_CHECK(memcmp(y.data, seq, 24 * sizeof(float)) == 0);
  free(y.data);
  // allowzero=0 at opset 14: 0 copies; a real 0 needs allowzero
  int64_t s2[] = {0, 3, 4};
  eo_tview x0 = optest_f32(3, D(0, 3, 4), seq), t2 = i64v(1, D(3), s2);
  EO_CHECK(optest_run(n, 14, 2, IN(&x0, &t2), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 3, D(0, 3, 4));
  free(y.data);
  int64_t s3[] = {3, 4, 0};
  eo_tview t3 = i64v(1, D(3), s3);
  expect_error(optest_run(n, 14, 2, IN(&x0, &t3), 1, IN(&y), true), EO_ERR_SHAPE, "cannot reshape");
  // errors: incompatible, two -1, non-constant shape
  int64_t s4[] = {5, -1}, s5[] = {-1, -1};
  eo_tview t4 = i64v(1, D(2), s4), t5 = i64v(1, D(2), s5);
  expect_error(optest_run(n, 13, 2, IN(&x, &t4), 1, IN(&y), true), EO_ERR_SHAPE, "cannot reshape input [2,3,4]");
  expect_error(optest_run(n, 13, 2, IN(&x, &t5), 1, IN(&y), true), EO_ERR_SHAPE, "more than one -1");
  expect_error(optest_run(n, 13, 2, IN(&x, &t1), 1, IN(&y), false), EO_ERR_UNSUPPORTED, "'shape' must be a constant");
  optest_node_free(n);

  n = optest_node("Reshape");  // allowzero=1: 0 is a real size
  optest_attr_i(n, "allowzero", 1);
  EO_CHECK(optest_run(n, 14, 2, IN(&x0, &t3), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 3, D(3, 4, 0));
  free(y.data);
  int64_t s6[] = {0, -1};
  eo_tview t6 = i64v(1, D(2), s6);
  expect_error(optest_run(n, 14, 2, IN(&x0, &t6), 1, IN(&y), true), EO_ERR_SHAPE, "allowzero");
  optest_node_free(n);
}

static void test_flatten(void) {
  eo_tview x = optest_f32(4, D(2, 3, 4, 5), seq), y;
  const struct { int64_t axis; int64_t d0, d1; } cases[] = {{0, 1, 120}, {1, 2, 60}, {3, 24, 5}, {4, 120, 1}, {-1, 24, 5}, {-4, 1, 120}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    eo_node *n = optest_node("Flatten");
    optest_attr_i(n, "axis", cases[i].axis);
    EO_CHECK(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false) == EO_OK);
    expect_shape(&y, 2, D(cases[i].d0, cases[i].d1));
    free(y.data);
    optest_node_free(n);
  }
  eo_node *n = optest_node("Flatten");  // default axis 1
  EO_CHECK(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 2, D(2, 60));
  EO_CHECK(memcmp(y.data, seq, 120 * sizeof(float)) == 0);
  free(y.data);
  optest_attr_i(n, "axis", 5);
  expect_error(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false), EO_ERR_INVALID, "axis 5 out of range");
  optest_node_free(n);
}

static void test_transpose(void) {
  eo_tview x = optest_f32(3, D(2, 3, 4), seq), y;
  eo_node *n = optest_node("Transpose");  // default: reversed dims, y[k][j][i] = x[i][j][k]
  EO_CHECK(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 3, D(4, 3, 2));
  float want[24];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++) want[k * 6 + j * 2 + i] = (float)(i * 12 + j * 4 + k);
  expect_f32(&y, 24, want);
  free(y.data);
  optest_node_free(n);

  n = optest_node("Transpose");  // perm [1, 0, 2]: last axis unchanged
  optest_attr_ints(n, "perm", 3, I64(1, 0, 2));
  EO_CHECK(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 3, D(3, 2, 4));
  for (int j = 0; j < 3; j++)
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 4; k++) want[j * 8 + i * 4 + k] = (float)(i * 12 + j * 4 + k);
  expect_f32(&y, 24, want);
  free(y.data);
  optest_node_free(n);

  n = optest_node("Transpose");  // 64-bit elements, 2-D
  optest_attr_ints(n, "perm", 2, I64(1, 0));
  int64_t xi[] = {1, 2, 3, 4, 5, 6};
  eo_tview x2 = i64v(2, D(2, 3), xi);
  EO_CHECK(optest_run(n, 13, 1, IN(&x2), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 2, D(3, 2));
  expect_i64(&y, 6, I64(1, 4, 2, 5, 3, 6));
  free(y.data);
  optest_node_free(n);

  n = optest_node("Transpose");
  optest_attr_ints(n, "perm", 3, I64(0, 2, 2));
  expect_error(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false), EO_ERR_INVALID, "not a permutation");
  optest_node_free(n);
  n = optest_node("Transpose");
  optest_attr_ints(n, "perm", 2, I64(1, 0));
  expect_error(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false), EO_ERR_INVALID, "rank 3");
  optest_node_free(n);
}

static void test_squeeze_unsqueeze(void) {
  eo_tview x = optest_f32(4, D(1, 3, 1, 2), seq), y;
  eo_node *n = optest_node("Squeeze");  // no axes: every size-1 dim
  EO_CHECK(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 2, D(3, 2));
  expect_f32(&y, 6, F(0, 1, 2, 3, 4, 5));
  free(y.data);
  int64_t a[] = {-2};
  eo_tview ta = i64v(1, D(1), a);
  EO_CHECK(optest_run(n, 13, 2, IN(&x, &ta), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 3, D(1, 3, 2));
  free(y.data);
  int64_t a_bad[] = {1};
  eo_tview tb = i64v(1, D(1), a_bad);
  expect_error(optest_run(n, 13, 2, IN(&x, &tb), 1, IN(&y), true), EO_ERR_SHAPE, "expected 1");
  expect_error(optest_run(n, 13, 2, IN(&x, &ta), 1, IN(&y), false), EO_ERR_UNSUPPORTED, "'axes' must be a constant");
  optest_node_free(n);
  n = optest_node("Squeeze");  // opset 11 attribute
  optest_attr_ints(n, "axes", 1, I64(0));
  EO_CHECK(optest_run(n, 11, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 3, D(3, 1, 2));
  free(y.data);
  optest_node_free(n);
  n = optest_node("Squeeze");
  optest_attr_ints(n, "axes", 1, I64(4));
  expect_error(optest_run(n, 11, 1, IN(&x), 1, IN(&y), false), EO_ERR_INVALID, "out of range");
  optest_node_free(n);

  eo_tview x3 = optest_f32(2, D(3, 4), seq);
  n = optest_node("Unsqueeze");  // opset 13, unsorted negative axes: output rank 5
  int64_t u[] = {4, 0, -3};
  eo_tview tu = i64v(1, D(3), u);
  EO_CHECK(optest_run(n, 13, 2, IN(&x3, &tu), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 5, D(1, 3, 1, 4, 1));
  EO_CHECK(memcmp(y.data, seq, 12 * sizeof(float)) == 0);
  free(y.data);
  int64_t ud[] = {1, -3};
  eo_tview tud = i64v(1, D(2), ud);
  expect_error(optest_run(n, 13, 2, IN(&x3, &tud), 1, IN(&y), true), EO_ERR_INVALID, "listed twice");
  expect_error(optest_run(n, 13, 1, IN(&x3), 1, IN(&y), false), EO_ERR_INVALID, "'axes' is required");
  optest_node_free(n);
  n = optest_node("Unsqueeze");  // opset 11 attribute
  optest_attr_ints(n, "axes", 1, I64(2));
  EO_CHECK(optest_run(n, 11, 1, IN(&x3), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 3, D(3, 4, 1));
  free(y.data);
  optest_node_free(n);
}

static void test_gather(void) {
  eo_tview x = optest_f32(2, D(3, 4), seq), y;
  eo_node *n = optest_node("Gather");  // axis 0, int64 with a negative index
  int64_t idx[] = {2, -3, 2};
  eo_tview ti = i64v(1, D(3), idx);
  EO_CHECK(optest_run(n, 13, 2, IN(&x, &ti), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 2, D(3, 4));
  expect_f32(&y, 12, F(8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11));
  free(y.data);
  int64_t oob[] = {3};
  eo_tview to = i64v(1, D(1), oob);
  expect_error(optest_run(n, 13, 2, IN(&x, &to), 1, IN(&y), true), EO_ERR_INVALID, "index 3 out of range");
  // scalar index: rank drops
  int64_t one = 1;
  eo_tview ts = i64v(0, NULL, &one);
  EO_CHECK(optest_run(n, 13, 2, IN(&x, &ts), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 1, D(4));
  expect_f32(&y, 4, F(4, 5, 6, 7));
  free(y.data);
  optest_node_free(n);

  n = optest_node("Gather");  // axis -1, int32 2-D indices -> [3, 2, 2]
  optest_attr_i(n, "axis", -1);
  int32_t i32[] = {3, 0, -1, 1};
  eo_tview t32 = optest_view(EO_INT32, 2, D(2, 2), i32);
  EO_CHECK(optest_run(n, 13, 2, IN(&x, &t32), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 3, D(3, 2, 2));
  expect_f32(&y, 12, F(3, 0, 3, 1, 7, 4, 7, 5, 11, 8, 11, 9));
  free(y.data);
  eo_tview tf = optest_f32(1, D(1), seq);
  expect_error(optest_run(n, 13, 2, IN(&x, &tf), 1, IN(&y), false), EO_ERR_SHAPE, "int32 or int64");
  optest_node_free(n);
}

static void test_shape_size(void) {
  eo_tview x = optest_f32(3, D(3, 4, 5), NULL), y;
  eo_node *n = optest_node("Shape");
  EO_CHECK(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_i64(&y, 3, I64(3, 4, 5));
  free(y.data);
  optest_attr_i(n, "start", -2);
  EO_CHECK(optest_run(n, 15, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_i64(&y, 2, I64(4, 5));
  free(y.data);
  EO_CHECK(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false) == EO_OK);  // no start before opset 15
  expect_i64(&y, 3, I64(3, 4, 5));
  free(y.data);
  optest_attr_i(n, "end", -10);  // clamped: empty
  EO_CHECK(optest_run(n, 15, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 1, D(0));
  free(y.data);
  optest_node_free(n);

  n = optest_node("Size");
  EO_CHECK(optest_run(n, 13, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 0, NULL);
  expect_i64(&y, 1, I64(60));
  free(y.data);
  optest_node_free(n);
}

static eo_tensor *attr_tensor(eo_node *n, const char *name, int dtype, int rank, const int64_t *dims, const void *data,
                              size_t bytes) {
  eo_attr *a = optest_attr_new(n, name, EO_ATTR_TENSOR);
  a->t = calloc(1, sizeof *a->t);
  a->t->dtype = dtype;
  a->t->rank = rank;
  for (int k = 0; k < rank; k++) a->t->dims[k] = dims[k];
  a->t->data = malloc(bytes);
  memcpy(a->t->data, data, bytes);
  a->t->nbytes = bytes;
  return a->t;
}

static void test_constant(void) {
  eo_tview y;
  eo_node *n = optest_node("Constant");
  int32_t v[] = {7, -8, 9, 10, 11, 12};
  attr_tensor(n, "value", EO_INT32, 2, D(2, 3), v, sizeof v);
  EO_CHECK(optest_run(n, 13, 0, NULL, 1, IN(&y), false) == EO_OK);
  EO_CHECK(y.dtype == EO_INT32);
  expect_shape(&y, 2, D(2, 3));
  EO_CHECK(memcmp(y.data, v, sizeof v) == 0);
  free(y.data);
  optest_attr_f(n, "value_float", 1.0f);
  expect_error(optest_run(n, 13, 0, NULL, 1, IN(&y), false), EO_ERR_INVALID, "expected exactly one");
  optest_node_free(n);

  n = optest_node("Constant");
  optest_attr_floats(n, "value_floats", 3, F(1.5f, -2, 3));
  EO_CHECK(optest_run(n, 13, 0, NULL, 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 1, D(3));
  expect_f32(&y, 3, F(1.5f, -2, 3));
  free(y.data);
  optest_node_free(n);
  n = optest_node("Constant");
  optest_attr_i(n, "value_int", -42);
  EO_CHECK(optest_run(n, 13, 0, NULL, 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 0, NULL);
  expect_i64(&y, 1, I64(-42));
  free(y.data);
  optest_node_free(n);
  n = optest_node("Constant");
  optest_attr_s(n, "value_string", "hi");
  expect_error(optest_run(n, 13, 0, NULL, 1, IN(&y), false), EO_ERR_UNSUPPORTED, "value_string");
  optest_node_free(n);
  n = optest_node("Constant");
  expect_error(optest_run(n, 13, 0, NULL, 1, IN(&y), false), EO_ERR_INVALID, "no value attribute");
  optest_node_free(n);

  n = optest_node("ConstantOfShape");  // default float 0
  int64_t sh[] = {2, 3};
  eo_tview ts = i64v(1, D(2), sh);
  EO_CHECK(optest_run(n, 9, 1, IN(&ts), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(2, 3));
  expect_f32(&y, 6, F(0, 0, 0, 0, 0, 0));
  free(y.data);
  expect_error(optest_run(n, 9, 1, IN(&ts), 1, IN(&y), false), EO_ERR_UNSUPPORTED, "must be a constant");
  int64_t neg[] = {2, -1};
  eo_tview tn = i64v(1, D(2), neg);
  expect_error(optest_run(n, 9, 1, IN(&tn), 1, IN(&y), true), EO_ERR_SHAPE, "negative");
  optest_node_free(n);
  n = optest_node("ConstantOfShape");  // int64 value, empty shape -> scalar
  int64_t seven = 7;
  attr_tensor(n, "value", EO_INT64, 1, D(1), &seven, 8);
  eo_tview te = i64v(1, D(0), sh);
  EO_CHECK(optest_run(n, 9, 1, IN(&te), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 0, NULL);
  expect_i64(&y, 1, I64(7));
  free(y.data);
  EO_CHECK(optest_run(n, 9, 1, IN(&ts), 1, IN(&y), true) == EO_OK);
  expect_i64(&y, 6, I64(7, 7, 7, 7, 7, 7));
  free(y.data);
  optest_node_free(n);
}

static void test_expand_tile(void) {
  eo_tview x = optest_f32(2, D(3, 1), F(1, 2, 3)), y;
  eo_node *n = optest_node("Expand");
  int64_t s[] = {2, 1, 2};
  eo_tview ts = i64v(1, D(3), s);
  EO_CHECK(optest_run(n, 13, 2, IN(&x, &ts), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 3, D(2, 3, 2));
  expect_f32(&y, 12, F(1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3));
  free(y.data);
  int64_t s2[] = {1, 1};  // shape smaller than input: broadcast keeps [3, 1]
  eo_tview ts2 = i64v(1, D(2), s2);
  EO_CHECK(optest_run(n, 13, 2, IN(&x, &ts2), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(3, 1));
  expect_f32(&y, 3, F(1, 2, 3));
  free(y.data);
  int64_t s3[] = {2, 4};
  eo_tview ts3 = i64v(1, D(2), s3);
  expect_error(optest_run(n, 13, 2, IN(&x, &ts3), 1, IN(&y), true), EO_ERR_SHAPE, "do not broadcast");
  expect_error(optest_run(n, 13, 2, IN(&x, &ts), 1, IN(&y), false), EO_ERR_UNSUPPORTED, "'shape' must be a constant");
  optest_node_free(n);

  n = optest_node("Tile");
  eo_tview x2 = optest_f32(2, D(2, 2), F(0, 1, 2, 3));
  int64_t r[] = {2, 2};
  eo_tview tr = i64v(1, D(2), r);
  EO_CHECK(optest_run(n, 13, 2, IN(&x2, &tr), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(4, 4));
  expect_f32(&y, 16, F(0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3));
  free(y.data);
  int64_t r2[] = {1, 3};
  eo_tview x3 = optest_f32(2, D(2, 3), seq), tr2 = i64v(1, D(2), r2);
  EO_CHECK(optest_run(n, 13, 2, IN(&x3, &tr2), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(2, 9));
  expect_f32(&y, 18, F(0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5, 3, 4, 5));
  free(y.data);
  eo_tview tr1 = i64v(1, D(1), r);
  expect_error(optest_run(n, 13, 2, IN(&x2, &tr1), 1, IN(&y), true), EO_ERR_SHAPE, "rank 2");
  optest_node_free(n);
}

static void test_range(void) {
  eo_tview y;
  eo_node *n = optest_node("Range");
  float fs = 1, fl = 2.1f, fd = 0.3f;
  eo_tview s = optest_f32(0, NULL, &fs), l = optest_f32(0, NULL, &fl), d = optest_f32(0, NULL, &fd);
  EO_CHECK(optest_run(n, 11, 3, IN(&s, &l, &d), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 1, D(4));  // ceil(1.1 / 0.3) = 4: 1, 1.3, 1.6, 1.9
  for (int i = 0; i < 4 && y.dims[0] == 4; i++) EO_CHECK_NEAR(((float *)y.data)[i], 1 + 0.3 * i, 1e-6);
  free(y.data);
  expect_error(optest_run(n, 11, 3, IN(&s, &l, &d), 1, IN(&y), false), EO_ERR_UNSUPPORTED, "'start' must be a constant");
  int32_t is = 10, il = 4, id = -3;
  eo_tview s32 = optest_view(EO_INT32, 0, NULL, &is), l32 = optest_view(EO_INT32, 0, NULL, &il),
           d32 = optest_view(EO_INT32, 0, NULL, &id);
  EO_CHECK(optest_run(n, 11, 3, IN(&s32, &l32, &d32), 1, IN(&y), true) == EO_OK);
  EO_CHECK(y.dtype == EO_INT32 && y.dims[0] == 2);
  EO_CHECK(((int32_t *)y.data)[0] == 10 && ((int32_t *)y.data)[1] == 7);
  free(y.data);
  int64_t a = 5, b = 5, c = 1;  // empty
  eo_tview sa = i64v(0, NULL, &a), sb = i64v(0, NULL, &b), sc = i64v(0, NULL, &c);
  EO_CHECK(optest_run(n, 11, 3, IN(&sa, &sb, &sc), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 1, D(0));
  free(y.data);
  c = 0;
  expect_error(optest_run(n, 11, 3, IN(&sa, &sb, &sc), 1, IN(&y), true), EO_ERR_INVALID, "delta is 0");
  expect_error(optest_run(n, 11, 3, IN(&sa, &s, &sc), 1, IN(&y), true), EO_ERR_SHAPE, "input 'limit' is float32");
  optest_node_free(n);
}

static void test_pad(void) {
  eo_tview x = optest_f32(2, D(2, 3), F(1, 2, 3, 4, 5, 6)), y;
  eo_node *n = optest_node("Pad");  // opset 2: attributes, constant value 9
  optest_attr_ints(n, "pads", 4, I64(1, 0, 0, 1));
  optest_attr_f(n, "value", 9);
  EO_CHECK(optest_run(n, 2, 1, IN(&x), 1, IN(&y), false) == EO_OK);
  expect_shape(&y, 2, D(3, 4));
  expect_f32(&y, 12, F(9, 9, 9, 9, 1, 2, 3, 9, 4, 5, 6, 9));
  free(y.data);
  optest_node_free(n);

  n = optest_node("Pad");  // opset 11 inputs, constant_value input
  int64_t p[] = {0, 2, 0, 1};
  float cv = -1;
  eo_tview tp = i64v(1, D(4), p), tv = optest_f32(0, NULL, &cv);
  EO_CHECK(optest_run(n, 11, 3, IN(&x, &tp, &tv), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(2, 6));
  expect_f32(&y, 12, F(-1, -1, 1, 2, 3, -1, -1, -1, 4, 5, 6, -1));
  free(y.data);
  expect_error(optest_run(n, 11, 3, IN(&x, &tp, &tv), 1, IN(&y), false), EO_ERR_UNSUPPORTED, "'pads' must be a constant");
  // negative pads crop: drop column 0, add one row at the end (zeros: no constant_value)
  int64_t pn[] = {0, -1, 1, 0};
  eo_tview tpn = i64v(1, D(4), pn);
  EO_CHECK(optest_run(n, 11, 2, IN(&x, &tpn), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(3, 2));
  expect_f32(&y, 6, F(2, 3, 5, 6, 0, 0));
  free(y.data);
  int64_t pbad[] = {0, -4, 0, 0};
  eo_tview tpb = i64v(1, D(4), pbad);
  expect_error(optest_run(n, 11, 2, IN(&x, &tpb), 1, IN(&y), true), EO_ERR_SHAPE, "crop more");
  eo_tview tp3 = i64v(1, D(3), p);
  expect_error(optest_run(n, 11, 2, IN(&x, &tp3), 1, IN(&y), true), EO_ERR_INVALID, "expected 4");
  optest_node_free(n);

  eo_tview x1 = optest_f32(1, D(4), F(1, 2, 3, 4));
  int64_t pr[] = {5, 6};
  eo_tview tpr = i64v(1, D(2), pr);
  n = optest_node("Pad");  // reflect past the border: period 6 (1 2 3 4 3 2 | 1 ...)
  optest_attr_s(n, "mode", "reflect");
  EO_CHECK(optest_run(n, 13, 2, IN(&x1, &tpr), 1, IN(&y), true) == EO_OK);
  expect_f32(&y, 15, F(2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, 2, 3, 4));
  free(y.data);
  optest_node_free(n);
  n = optest_node("Pad");
  optest_attr_s(n, "mode", "edge");
  EO_CHECK(optest_run(n, 13, 2, IN(&x1, &tpr), 1, IN(&y), true) == EO_OK);
  expect_f32(&y, 15, F(1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4));
  free(y.data);
  optest_node_free(n);
  n = optest_node("Pad");
  optest_attr_s(n, "mode", "wrap");
  EO_CHECK(optest_run(n, 19, 2, IN(&x1, &tpr), 1, IN(&y), true) == EO_OK);
  expect_f32(&y, 15, F(4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2));
  free(y.data);
  optest_node_free(n);
  n = optest_node("Pad");
  optest_attr_s(n, "mode", "mirror");
  expect_error(optest_run(n, 13, 2, IN(&x1, &tpr), 1, IN(&y), true), EO_ERR_INVALID, "mode 'mirror'");
  optest_node_free(n);

  n = optest_node("Pad");  // opset 18 axes; int32 edge padding of the first axis only; reflect 2-D
  optest_attr_s(n, "mode", "edge");
  int32_t xi[] = {1, 2, 3, 4, 5, 6};
  eo_tview x32 = optest_view(EO_INT32, 2, D(2, 3), xi);
  int64_t pa[] = {1, 1}, ax[] = {-2};
  eo_tview tpa = i64v(1, D(2), pa), tax = i64v(1, D(1), ax);
  EO_CHECK(optest_run(n, 18, 4, IN(&x32, &tpa, NULL, &tax), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(4, 3));
  EO_CHECK(memcmp(y.data, (int32_t[]){1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6}, 48) == 0);
  free(y.data);
  optest_node_free(n);
  n = optest_node("Pad");
  optest_attr_s(n, "mode", "reflect");
  int64_t p2[] = {1, 1, 1, 1};
  eo_tview tp2 = i64v(1, D(4), p2);
  EO_CHECK(optest_run(n, 13, 2, IN(&x32, &tp2), 1, IN(&y), true) == EO_OK);
  expect_shape(&y, 2, D(4, 5));
  EO_CHECK(memcmp(y.data, (int32_t[]){5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2}, 80) == 0);
  free(y.data);
  optest_node_free(n);
}

/* The fast strided copy must equal the reference on transposes, slices, broadcasts, all element sizes. */
static void test_strided_fast_vs_ref(void) {
  unsigned char *x = malloc(1 << 20), *a = malloc(1 << 20), *b = malloc(1 << 20);
  for (int i = 0; i < 1 << 20; i++) x[i] = (unsigned char)(i * 131 + (i >> 8));
  const size_t sizes[] = {1, 2, 4, 8, 3, 16};
  const struct { int rank; int64_t dims[4]; int perm[4]; } cases[] = {
      {2, {37, 45}, {1, 0}}, {2, {64, 64}, {1, 0}}, {3, {3, 33, 70}, {2, 0, 1}}, {3, {5, 7, 9}, {1, 0, 2}},
      {4, {2, 3, 17, 5}, {0, 3, 1, 2}}, {4, {2, 1, 31, 9}, {3, 2, 1, 0}}, {3, {1, 1, 100}, {2, 1, 0}}, {2, {1, 1}, {0, 1}},
  };
  for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
    size_t es = sizes[si];
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
      int r = cases[ci].rank;
      int64_t xs[4], yd[4], ys[4];
      eo_move_strides(r, cases[ci].dims, xs);
      for (int k = 0; k < r; k++) {
        yd[k] = cases[ci].dims[cases[ci].perm[k]];
        ys[k] = xs[cases[ci].perm[k]];
      }
      int64_t n = eo_numel(r, yd);
      memset(a, 0, (size_t)n * es);
      memset(b, 1, (size_t)n * es);
      eo_xx_strided_copy__ref(es, r, yd, ys, x, a);
      eo_xx_strided_copy__scalar(es, r, yd, ys, x, b);
      EO_CHECK_MSG(memcmp(a, b, (size_t)n * es) == 0, "transpose case %zu, es %zu", ci, es);
    }
    // reversed slice with a broadcast axis: dims [4, 3, 50], strides [0, -7, -2] from the far end
    int64_t d[] = {4, 3, 50}, s[] = {0, -150, -2};
    size_t off = (size_t)(2 * 150 + 2 * 49) * es;
    memset(a, 0, 600 * es);
    memset(b, 1, 600 * es);
    eo_xx_strided_copy__ref(es, 3, d, s, x + off, a);
    eo_xx_strided_copy__scalar(es, 3, d, s, x + off, b);
    EO_CHECK_MSG(memcmp(a, b, 600 * es) == 0, "slice/broadcast, es %zu", es);
  }
  free(x), free(a), free(b);
}

int main(void) {
  for (int i = 0; i < 256; i++) seq[i] = (float)i;
  test_concat();
  test_split();
  test_slice();
  test_reshape();
  test_flatten();
  test_transpose();
  test_squeeze_unsqueeze();
  test_gather();
  test_shape_size();
  test_constant();
  test_expand_tile();
  test_range();
  test_pad();
  test_strided_fast_vs_ref();
  return eo_test_finish();
}
