/* TflHybridConv (runtime/ops/tfl_hybrid.c), TFLite's hybrid conv / depthwise / fully connected, on
 * hand-computed cases. Inputs sit on the half steps of the run-time quantization grid (scale 1/64):
 * there TFLite's rounding (half away from zero) differs from rounding to even and from a float
 * computation with dequantized weights, so each expected value below pins the arithmetic. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "ops/op_test.h"
#include "test.h"

static void expect_floats(eo_node *n, int n_in, eo_tview **in, int count, const float *want) {
  eo_tview y;
  eo_status st = optest_run(n, 14, n_in, in, 1, (eo_tview *[]){&y}, true);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (st) return;
  EO_CHECK(y.dtype == EO_FLOAT);
  EO_CHECK(eo_tview_numel(&y) == count);
  for (int i = 0; i < count && i < eo_tview_numel(&y); i++) {
    float got = ((float *)y.data)[i];
    EO_CHECK_MSG(got == want[i], "element %d: got %.9g, want %.9g", i, (double)got, (double)want[i]);
  }
  free(y.data);
}

static void test_fc(void) {
  // Asymmetric: row {0, 255/64, 3/128}: range [0, 255/64] -> scale 1/64, zero point -128;
  // q = round(-128 + 64 x) = {-128, 127, -126.5 -> -127 (away from zero; to even would be -126)}.
  // w {2,-1,3}: sum w*q = -764, row sum 4, -764 - 4*(-128) = -252; y = 1 + (-252) * (1/64 * 0.5).
  float x[3] = {0.f, 255.f / 64, 3.f / 128}, b[1] = {1.f};
  int8_t w[3] = {2, -1, 3};
  eo_tview tx = optest_f32(2, ((int64_t[]){1, 3}), x), tw = optest_view(EO_INT8, 2, (int64_t[]){1, 3}, w),
           tb = optest_f32(1, ((int64_t[]){1}), b);
  eo_node *n = optest_node("TflHybridConv");
  optest_attr_i(n, "kind", 2);
  optest_attr_floats(n, "w_scales", 1, (float[]){0.5f});
  optest_attr_i(n, "asymmetric", 1);
  expect_floats(n, 3, (eo_tview *[]){&tx, &tw, &tb}, 1, (float[]){1.f - 252.f / 128});
  optest_node_free(n);

  // Symmetric, two rows: {127/64, 3/128, -5/128}: scale 1/64, q = {127, 1.5 -> 2, -2.5 -> -3};
  // w {1,2,3}: 127 + 4 - 9 = 122 -> 122 / 256. Row {0,0,0}: q = 0, y = 0. No bias; act_max 0.25
  // clamps the first.
  float x2[6] = {127.f / 64, 3.f / 128, -5.f / 128, 0.f, 0.f, 0.f};
  int8_t w2[3] = {1, 2, 3};
  eo_tview tx2 = optest_f32(2, ((int64_t[]){2, 3}), x2), tw2 = optest_view(EO_INT8, 2, (int64_t[]){1, 3}, w2);
  n = optest_node("TflHybridConv");
  optest_attr_i(n, "kind", 2);
  optest_attr_floats(n, "w_scales", 1, (float[]){0.25f});
  expect_floats(n, 2, (eo_tview *[]){&tx2, &tw2}, 2, (float[]){122.f / 256, 0.f});
  optest_attr_f(n, "act_max", 0.25f);
  expect_floats(n, 2, (eo_tview *[]){&tx2, &tw2}, 2, (float[]){0.25f, 0.f});
  optest_node_free(n);
}

static void test_conv(void) {
  // 3x3 conv, padding 1, on a 2x2 one-channel image {0, 255/64; 3/128, 1/128}: q - zp = {0, 255,
  // 1, 0} (1/128 -> -127.5 -> -128). Weights 1 with a centre of 2: every output sees all four pixels
  // (sum 256) plus its own once more; y = acc * (0.25 / 64) + 0.5; act_max 2 clamps the second.
  float x[4] = {0.f, 255.f / 64, 3.f / 128, 1.f / 128}, b[1] = {0.5f};
  int8_t w[9] = {1, 1, 1, 1, 2, 1, 1, 1, 1};
  eo_tview tx = optest_f32(4, ((int64_t[]){1, 2, 2, 1}), x), tw = optest_view(EO_INT8, 4, (int64_t[]){1, 3, 3, 1}, w),
           tb = optest_f32(1, ((int64_t[]){1}), b);
  eo_node *n = optest_node("TflHybridConv");
  optest_attr_i(n, "kind", 0);
  optest_attr_ints(n, "strides", 2, (int64_t[]){1, 1});
  optest_attr_ints(n, "dilations", 2, (int64_t[]){1, 1});
  optest_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
  optest_attr_floats(n, "w_scales", 1, (float[]){0.25f});
  optest_attr_i(n, "asymmetric", 1);
  optest_attr_f(n, "act_max", 2.f);
  expect_floats(n, 3, (eo_tview *[]){&tx, &tw, &tb}, 4, (float[]){1.5f, 2.f, 257.f / 256 + 0.5f, 1.5f});
  optest_node_free(n);
}

static void test_depthwise(void) {
  // 1x1 depthwise, multiplier 2, on one row of two pixels with channels {0, 255/64} and {3/128, 0}:
  // q - zp = {0, 255; 1, 0}; outputs 0,1 read channel 0, outputs 2,3 channel 1;
  // y = (acc / 64) * w_scale[o].
  float x[4] = {0.f, 255.f / 64, 3.f / 128, 0.f};
  int8_t w[4] = {1, 2, 3, 4};
  eo_tview tx = optest_f32(4, ((int64_t[]){1, 1, 2, 2}), x), tw = optest_view(EO_INT8, 4, (int64_t[]){1, 1, 1, 4}, w);
  eo_node *n = optest_node("TflHybridConv");
  optest_attr_i(n, "kind", 1);
  optest_attr_ints(n, "strides", 2, (int64_t[]){1, 1});
  optest_attr_ints(n, "dilations", 2, (int64_t[]){1, 1});
  optest_attr_ints(n, "pads", 4, (int64_t[]){0, 0, 0, 0});
  optest_attr_floats(n, "w_scales", 4, (float[]){0.5f, 0.25f, 0.125f, 1.f});
  optest_attr_i(n, "asymmetric", 1);
  float want[8] = {0.f, 0.f, 765.f / 64 * 0.125f, 1020.f / 64, 1.f / 64 * 0.5f, 2.f / 64 * 0.25f, 0.f, 0.f};
  expect_floats(n, 2, (eo_tview *[]){&tx, &tw}, 8, want);
  optest_node_free(n);
}

static void test_bad(void) {
  float x[4] = {0};
  int8_t w[4] = {0};
  eo_tview tx = optest_f32(2, ((int64_t[]){2, 2}), x), tw = optest_view(EO_INT8, 2, (int64_t[]){2, 2}, w), y;
  eo_node *n = optest_node("TflHybridConv");
  optest_attr_i(n, "kind", 2);
  optest_attr_floats(n, "w_scales", 3, (float[]){1.f, 1.f, 1.f});  // 3 scales for 2 outputs
  EO_CHECK(optest_run(n, 14, 2, (eo_tview *[]){&tx, &tw}, 1, (eo_tview *[]){&y}, true) == EO_ERR_INVALID);
  optest_node_free(n);
  n = optest_node("TflHybridConv");
  optest_attr_i(n, "kind", 2);
  optest_attr_floats(n, "w_scales", 1, (float[]){-1.f});
  EO_CHECK(optest_run(n, 14, 2, (eo_tview *[]){&tx, &tw}, 1, (eo_tview *[]){&y}, true) == EO_ERR_INVALID);
  optest_node_free(n);
  n = optest_node("TflHybridConv");  // int8 input: not a hybrid operator
  optest_attr_i(n, "kind", 2);
  optest_attr_floats(n, "w_scales", 1, (float[]){1.f});
  eo_tview tq = optest_view(EO_INT8, 2, (int64_t[]){2, 2}, w);
  EO_CHECK(optest_run(n, 14, 2, (eo_tview *[]){&tq, &tw}, 1, (eo_tview *[]){&y}, true) == EO_ERR_SHAPE);
  optest_node_free(n);
}

int main(void) {
  test_fc();
  test_conv();
  test_depthwise();
  test_bad();
  return eo_test_finish();
}
