/* The Tfl* ops (TFLite's integer kernels, runtime/ops/tfl_*.c) and the fixed-point helpers of
 * tfl_quant.h, on hand-computed cases. Each case is chosen so that the two rounding families differ
 * where it matters: ties (x.5) go to even under XNNPACK's lrintf, away from zero under TFLite's
 * builtin kernels, and half up under XNNPACK's add. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include "ops/op_test.h"
#include "runtime/ops/tfl_quant.h"
#include "test.h"

static eo_tview q8(int dtype, int rank, const int64_t *dims, void *data) {
  return optest_view(dtype, rank, dims, data);
}

/* Runs node n on the inputs; checks status OK, output dtype and the integers against want. */
static void expect_ints(eo_node *n, int n_in, eo_tview **in, int dtype, int count, const int32_t *want) {
  eo_tview y;
  eo_status st = optest_run(n, 14, n_in, in, 1, (eo_tview *[]){&y}, false);
  EO_CHECK_MSG(st == EO_OK, "%s: %s", n->op_type, eo_last_error());
  if (st) return;
  EO_CHECK(y.dtype == dtype);
  EO_CHECK(eo_tview_numel(&y) == count);
  for (int i = 0; i < count && i < eo_tview_numel(&y); i++) {
    int32_t got = eo_tfl_load(dtype, y.data, i);
    EO_CHECK_MSG(got == want[i], "%s element %d: got %d, want %d", n->op_type, i, got, want[i]);
  }
  free(y.data);
}

static void test_fixed_point(void) {
  int32_t q;
  int sh;
  eo_tfl_quantize_multiplier(0.5, &q, &sh);
  EO_CHECK(q == INT32_C(1) << 30 && sh == 0);
  eo_tfl_quantize_multiplier(0.75, &q, &sh);
  EO_CHECK(q == INT32_C(1610612736) && sh == 0);  // 0.75 * 2^31
  eo_tfl_quantize_multiplier(3.0, &q, &sh);
  EO_CHECK(q == INT32_C(1610612736) && sh == 2);  // 0.75 * 2^2
  eo_tfl_quantize_multiplier(0x1p-40, &q, &sh);
  EO_CHECK(q == 0 && sh == 0);
  EO_CHECK(eo_tfl_srdhm(INT32_C(1) << 30, INT32_C(1) << 30) == INT32_C(1) << 29);
  EO_CHECK(eo_tfl_srdhm(INT32_MIN, INT32_MIN) == INT32_MAX);
  EO_CHECK(eo_tfl_srdhm(3, INT32_C(1) << 30) == 2);    // 1.5 -> 2 (half away from zero)
  EO_CHECK(eo_tfl_srdhm(-3, INT32_C(1) << 30) == -1);  // -1.5 -> -1: the nudge rounds ties up
  EO_CHECK(eo_tfl_rdbpot(5, 1) == 3 && eo_tfl_rdbpot(-5, 1) == -3);
  EO_CHECK(eo_tfl_rdbpot(3, 1) == 2 && eo_tfl_rdbpot(-3, 1) == -2);
  EO_CHECK(eo_tfl_rdbpot(13, 2) == 3 && eo_tfl_rdbpot(-13, 2) == -3);  // 3.25 -> 3
  eo_tfl_quantize_multiplier(0.5, &q, &sh);
  // shift 0: the tie is decided in the high multiply (up), not in the shift (away from zero)
  EO_CHECK(eo_tfl_mbqm(5, q, sh) == 3 && eo_tfl_mbqm(-5, q, sh) == -2 && eo_tfl_mbqm(4, q, sh) == 2);
  eo_tfl_quantize_multiplier(0.25, &q, &sh);
  EO_CHECK(eo_tfl_mbqm(10, q, sh) == 3 && eo_tfl_mbqm(-10, q, sh) == -3);  // +-2.5: decided in the shift
  eo_tfl_quantize_multiplier(3.0, &q, &sh);
  EO_CHECK(eo_tfl_mbqm(7, q, sh) == 21 && eo_tfl_mbqm(-7, q, sh) == -21);
  EO_CHECK(eo_tfl_requant_fp32(5, 0.5f, 0, -128, 127) == 2);   // 2.5 -> 2 (to even)
  EO_CHECK(eo_tfl_requant_fp32(7, 0.5f, 0, -128, 127) == 4);   // 3.5 -> 4
  EO_CHECK(eo_tfl_requant_fp32(1000, 1.f, 10, -128, 127) == 127);
}

static void test_conv(void) {
  // Fully connected: x - x_zp = {8, -22, 28}; sums with bias: 8 - 44 + 84 + 4 = 52 and
  // -8 + 28 - 5 = 15; scales 0.5*0.25/1 and 0.5*0.5/1: 6.5 and 3.75.
  for (int mode = 0; mode < 2; mode++) {
    int8_t x[3] = {10, -20, 30}, w[6] = {1, 2, 3, -1, 0, 1};
    int32_t b[2] = {4, -5};
    eo_tview tx = q8(EO_INT8, 2, (int64_t[]){1, 3}, x), tw = q8(EO_INT8, 2, (int64_t[]){2, 3}, w),
             tb = q8(EO_INT32, 1, (int64_t[]){2}, b);
    eo_node *n = optest_node("TflConv");
    optest_attr_i(n, "kind", 2);
    optest_attr_f(n, "x_scale", 0.5f);
    optest_attr_i(n, "x_zp", 2);
    optest_attr_floats(n, "w_scales", 2, (float[]){0.25f, 0.5f});
    optest_attr_f(n, "y_scale", 1.f);
    optest_attr_i(n, "y_zp", -3);
    optest_attr_i(n, "mode", mode);
    // 6.5: to even 6 (XNNPACK), away 7 (builtin); 3.75 -> 4 either way; then y_zp -3.
    int32_t want[2] = {mode == EO_TFL_MODE_XNNPACK ? 3 : 4, 1};
    expect_ints(n, 3, (eo_tview *[]){&tx, &tw, &tb}, EO_INT8, 2, want);
    optest_node_free(n);
  }
  {  // 3x3 SAME conv of all-ones weights over x - x_zp = 1..9: taps in the padding count 0
    int8_t x[9] = {2, 3, 4, 5, 6, 7, 8, 9, 10}, w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    eo_tview tx = q8(EO_INT8, 4, (int64_t[]){1, 3, 3, 1}, x), tw = q8(EO_INT8, 4, (int64_t[]){1, 3, 3, 1}, w);
    eo_node *n = optest_node("TflConv");
    optest_attr_i(n, "kind", 0);
    optest_attr_ints(n, "strides", 2, (int64_t[]){1, 1});
    optest_attr_ints(n, "dilations", 2, (int64_t[]){1, 1});
    optest_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    optest_attr_f(n, "x_scale", 1.f);
    optest_attr_i(n, "x_zp", 1);
    optest_attr_floats(n, "w_scales", 1, (float[]){1.f});
    optest_attr_f(n, "y_scale", 1.f);
    optest_attr_i(n, "act_max", 40);  // a fused activation's upper bound
    int32_t want[9] = {1 + 2 + 4 + 5, 1 + 2 + 3 + 4 + 5 + 6, 2 + 3 + 5 + 6, 1 + 2 + 4 + 5 + 7 + 8, 40,
                       2 + 3 + 5 + 6 + 8 + 9, 4 + 5 + 7 + 8, 4 + 5 + 6 + 7 + 8 + 9, 5 + 6 + 8 + 9};
    expect_ints(n, 2, (eo_tview *[]){&tx, &tw}, EO_INT8, 9, want);
    optest_node_free(n);
  }
  {  // depthwise, channel multiplier 2, uint8 with zero points: output channel o reads input o / 2
    uint8_t x[2] = {103, 105}, w[4] = {11, 12, 13, 14};
    eo_tview tx = q8(EO_UINT8, 4, (int64_t[]){1, 1, 1, 2}, x), tw = q8(EO_UINT8, 4, (int64_t[]){1, 1, 1, 4}, w);
    eo_node *n = optest_node("TflConv");
    optest_attr_i(n, "kind", 1);
    optest_attr_ints(n, "strides", 2, (int64_t[]){1, 1});
    optest_attr_ints(n, "dilations", 2, (int64_t[]){1, 1});
    optest_attr_ints(n, "pads", 4, (int64_t[]){0, 0, 0, 0});
    optest_attr_f(n, "x_scale", 1.f);
    optest_attr_i(n, "x_zp", 100);
    optest_attr_floats(n, "w_scales", 1, (float[]){1.f});
    optest_attr_i(n, "w_zp", 10);
    optest_attr_f(n, "y_scale", 1.f);
    optest_attr_i(n, "y_zp", 128);
    int32_t want[4] = {128 + 3 * 1, 128 + 3 * 2, 128 + 5 * 3, 128 + 5 * 4};
    expect_ints(n, 2, (eo_tview *[]){&tx, &tw}, EO_UINT8, 4, want);
    optest_node_free(n);
  }
  {  // a float input is refused at infer
    float x[3] = {0};
    int8_t w[3] = {0};
    eo_tview tx = optest_view(EO_FLOAT, 2, (int64_t[]){1, 3}, x), tw = q8(EO_INT8, 2, (int64_t[]){1, 3}, w), y;
    eo_node *n = optest_node("TflConv");
    optest_attr_i(n, "kind", 2);
    EO_CHECK(optest_run(n, 14, 2, (eo_tview *[]){&tx, &tw}, 1, (eo_tview *[]){&y}, false) == EO_ERR_SHAPE);
    optest_node_free(n);
  }
}

static void add_node(eo_node *n, float as, int az, float bs, int bz, float ys, int yz, int mode) {
  optest_attr_f(n, "a_scale", as);
  optest_attr_i(n, "a_zp", az);
  optest_attr_f(n, "b_scale", bs);
  optest_attr_i(n, "b_zp", bz);
  optest_attr_f(n, "y_scale", ys);
  optest_attr_i(n, "y_zp", yz);
  optest_attr_i(n, "mode", mode);
}

static void test_binary(void) {
  // a*0.5 + b*0.25: {3,2} -> 2.0; {1,0} -> 0.5; {-1,0} -> -0.5; {5,3} -> 3.25; {-5,-3} -> -3.25.
  int8_t a[5] = {3, 1, -1, 5, -5}, b[5] = {2, 0, 0, 3, -3};
  eo_tview ta = q8(EO_INT8, 1, (int64_t[]){5}, a), tb = q8(EO_INT8, 1, (int64_t[]){5}, b);
  for (int mode = 0; mode < 2; mode++) {
    eo_node *n = optest_node("TflAdd");
    add_node(n, 0.5f, 0, 0.25f, 0, 1.f, 0, mode);
    // XNNPACK adds half and floors (0.5 -> 1, -0.5 -> 0); the builtin kernel rounds half away.
    int32_t want_x[5] = {2, 1, 0, 3, -3}, want_b[5] = {2, 1, -1, 3, -3};
    expect_ints(n, 2, (eo_tview *[]){&ta, &tb}, EO_INT8, 5, mode == EO_TFL_MODE_XNNPACK ? want_x : want_b);
    optest_node_free(n);
  }
  {  // SUB with a broadcast scalar and zero points, and a fused ReLU: (a - 1)*0.5 - (b - 2)*0.5, b = 4
    int8_t s[1] = {4};
    eo_tview ts = q8(EO_INT8, 1, (int64_t[]){1}, s);
    eo_node *n = optest_node("TflAdd");
    add_node(n, 0.5f, 1, 0.5f, 2, 0.5f, 10, EO_TFL_MODE_BUILTIN);
    optest_attr_i(n, "sub", 1);
    optest_attr_i(n, "act_min", 10);
    // (a - 1) - 2 + 10, at least 10: a = 3 -> 10, 1 -> 8 -> 10, -1 -> 10, 5 -> 12, -5 -> 10
    int32_t want[5] = {10, 10, 10, 12, 10};
    expect_ints(n, 2, (eo_tview *[]){&ta, &ts}, EO_INT8, 5, want);
    optest_node_free(n);
  }
  for (int mode = 0; mode < 2; mode++) {  // MUL: a*b*0.25: 6*0.25=1.5, 0, 0, 15*.25=3.75, 3.75
    eo_node *n = optest_node("TflMul");
    add_node(n, 0.5f, 0, 0.5f, 0, 1.f, -1, mode);
    int32_t want[5] = {(mode == EO_TFL_MODE_XNNPACK ? 2 : 2) - 1, -1, -1, 3, 3};
    expect_ints(n, 2, (eo_tview *[]){&ta, &tb}, EO_INT8, 5, want);
    optest_node_free(n);
  }
  {  // MUL tie: 2*1*0.25 = 0.5: XNNPACK 0 (to even), builtin 1
    int8_t x[1] = {2}, y[1] = {1};
    eo_tview tx = q8(EO_INT8, 1, (int64_t[]){1}, x), ty = q8(EO_INT8, 1, (int64_t[]){1}, y);
    for (int mode = 0; mode < 2; mode++) {
      eo_node *n = optest_node("TflMul");
      add_node(n, 0.5f, 0, 0.5f, 0, 1.f, 0, mode);
      int32_t want[1] = {mode == EO_TFL_MODE_XNNPACK ? 0 : 1};
      expect_ints(n, 2, (eo_tview *[]){&tx, &ty}, EO_INT8, 1, want);
      optest_node_free(n);
    }
  }
}

static void test_lut_quantize(void) {
  int8_t x[4] = {0, 127, -128, 10};
  eo_tview tx = q8(EO_INT8, 1, (int64_t[]){4}, x);
  eo_node *n = optest_node("TflLut");
  optest_attr_s(n, "fn", "sigmoid");
  optest_attr_f(n, "x_scale", 0.1f);
  optest_attr_f(n, "y_scale", 1.f / 256);
  optest_attr_i(n, "y_zp", -128);
  // sigmoid(0) = 0.5 -> 128; sigmoid(12.7) * 256 = 255.999 -> 256 -> saturates; sigmoid(-12.8) * 256
  // = 0.0007 -> 0; sigmoid(1) * 256 = 187.15 -> 187.
  int32_t want[4] = {0, 127, -128, 59};
  expect_ints(n, 1, (eo_tview *[]){&tx}, EO_INT8, 4, want);
  optest_node_free(n);
  n = optest_node("TflLut");
  optest_attr_s(n, "fn", "tanh");
  optest_attr_f(n, "x_scale", 0.05f);
  optest_attr_f(n, "y_scale", 1.f / 128);
  int32_t want_t[4] = {0, 127, -128, 59};  // tanh(0.5) * 128 = 59.18
  expect_ints(n, 1, (eo_tview *[]){&tx}, EO_INT8, 4, want_t);
  optest_node_free(n);

  float f[4] = {0.25f, -0.25f, 1.0f, 100.f};
  eo_tview tf = optest_view(EO_FLOAT, 1, (int64_t[]){4}, f);
  for (int mode = 0; mode < 2; mode++) {  // /0.5: 0.5, -0.5, 2, 200
    n = optest_node("TflQuantize");
    optest_attr_f(n, "y_scale", 0.5f);
    optest_attr_i(n, "y_zp", 1);
    optest_attr_i(n, "mode", mode);
    int32_t want_x[4] = {1, 1, 3, 127}, want_b[4] = {2, 0, 3, 127};
    expect_ints(n, 1, (eo_tview *[]){&tf}, EO_INT8, 4, mode == EO_TFL_MODE_XNNPACK ? want_x : want_b);
    optest_node_free(n);
  }
  n = optest_node("TflQuantize");  // requantize: (x - 1) * 0.5 / 0.25 + 3
  optest_attr_f(n, "x_scale", 0.5f);
  optest_attr_i(n, "x_zp", 1);
  optest_attr_f(n, "y_scale", 0.25f);
  optest_attr_i(n, "y_zp", 3);
  int32_t want_r[4] = {1, 127, -128, 21};
  expect_ints(n, 1, (eo_tview *[]){&tx}, EO_INT8, 4, want_r);
  optest_node_free(n);
  {  // a requantization tie: -2 * 0.25 = -0.5: XNNPACK's convert rounds half up (0), TFLite's away (-1)
    int8_t m2[1] = {-2};
    eo_tview tm = q8(EO_INT8, 1, (int64_t[]){1}, m2);
    for (int mode = 0; mode < 2; mode++) {
      n = optest_node("TflQuantize");
      optest_attr_f(n, "x_scale", 0.25f);
      optest_attr_f(n, "y_scale", 1.f);
      optest_attr_i(n, "mode", mode);
      int32_t want[1] = {mode == EO_TFL_MODE_XNNPACK ? 0 : -1};
      expect_ints(n, 1, (eo_tview *[]){&tm}, EO_INT8, 1, want);
      optest_node_free(n);
    }
  }
  n = optest_node("TflQuantize");  // int8 -> uint8 with the same scale: the zero point moves by 128
  optest_attr_f(n, "x_scale", 0.5f);
  optest_attr_f(n, "y_scale", 0.5f);
  optest_attr_i(n, "y_zp", 128);
  optest_attr_i(n, "to", EO_UINT8);
  int32_t want_u[4] = {128, 255, 0, 138};
  expect_ints(n, 1, (eo_tview *[]){&tx}, EO_UINT8, 4, want_u);
  optest_node_free(n);
}

static void test_pool(void) {
  {  // 2x2 windows, stride 2: sums 11 (2.75), -11, 2 (0.5), 6 (1.5) over 4 taps
    int8_t x[16] = {1, 2, -1, -2, 1, 1, 1, 2, 3, 5, -3, -5, 1, -1, 1, 2};
    // NHWC [1,4,4,1]: windows (rows 0-1, cols 0-1) = {1,2,1,1} = 5, (rows 0-1, cols 2-3) = {-1,-2,1,2}=0
    eo_tview tx = q8(EO_INT8, 4, (int64_t[]){1, 4, 4, 1}, x);
    for (int mode = 0; mode < 2; mode++) {
      eo_node *n = optest_node("TflAveragePool");
      optest_attr_ints(n, "kernel", 2, (int64_t[]){2, 2});
      optest_attr_ints(n, "strides", 2, (int64_t[]){2, 2});
      optest_attr_ints(n, "pads", 4, (int64_t[]){0, 0, 0, 0});
      optest_attr_i(n, "mode", mode);
      // 5/4 = 1.25 -> 1; 0; {3,5,1,-1} = 8/4 = 2; {-3,-5,1,2} = -5/4 = -1.25 -> -1
      int32_t want[4] = {1, 0, 2, -1};
      expect_ints(n, 1, (eo_tview *[]){&tx}, EO_INT8, 4, want);
      optest_node_free(n);
    }
  }
  {  // a 3x3 window over a 2x2 input padded by 1: only the 4 real taps count; ties
    int8_t x[4] = {1, 1, 1, -1}, xn[4] = {-1, -1, -1, 1};
    eo_tview tx = q8(EO_INT8, 4, (int64_t[]){1, 2, 2, 1}, x), txn = q8(EO_INT8, 4, (int64_t[]){1, 2, 2, 1}, xn);
    for (int mode = 0; mode < 2; mode++)
      for (int neg = 0; neg < 2; neg++) {
        eo_node *n = optest_node("TflAveragePool");
        optest_attr_ints(n, "kernel", 2, (int64_t[]){3, 3});
        optest_attr_ints(n, "strides", 2, (int64_t[]){2, 2});
        optest_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
        optest_attr_i(n, "mode", mode);
        // sum 2 / 4 = 0.5 (or -0.5): away from zero 1 (-1), to even 0
        int32_t want[1] = {mode == EO_TFL_MODE_XNNPACK ? 0 : neg ? -1 : 1};
        expect_ints(n, 1, (eo_tview *[]){neg ? &txn : &tx}, EO_INT8, 1, want);
        optest_node_free(n);
      }
  }
  {  // MEAN over H, W: {1,2,3,4} -> 2.5; second channel {10,20,30,41} -> 25.25; scales 1 -> 0.5
    int8_t x[8] = {1, 10, 2, 20, 3, 30, 4, 41};
    eo_tview tx = q8(EO_INT8, 4, (int64_t[]){1, 2, 2, 2}, x);
    for (int mode = 0; mode < 2; mode++) {
      eo_node *n = optest_node("TflMean");
      optest_attr_f(n, "x_scale", 1.f);
      optest_attr_f(n, "y_scale", 0.5f);
      optest_attr_i(n, "y_zp", -7);
      optest_attr_i(n, "mode", mode);
      optest_attr_i(n, "keepdims", 0);
      // 2.5 / 0.5 = 5 exactly; 25.25 / 0.5 = 50.5: to even 50, builtin (sum*2 = 202 / 4 = 50.5) away 51
      int32_t want[2] = {5 - 7, (mode == EO_TFL_MODE_XNNPACK ? 50 : 51) - 7};
      expect_ints(n, 1, (eo_tview *[]){&tx}, EO_INT8, 2, want);
      optest_node_free(n);
    }
  }
}

static void test_softmax(void) {
  // rows {0, 0}, {10, 0} with x_scale ln(2)/10 (e = 1, 0.5: 256/1.5 = 170.67, 85.33), {5, 5, 5}
  // (3 x 85.33); y_scale 1/256, y_zp -128.
  int8_t x[2][3] = {{0, 0, -128}, {10, 0, -128}};
  eo_tview t2 = q8(EO_INT8, 2, (int64_t[]){2, 3}, x);
  eo_node *n = optest_node("TflSoftmax");
  optest_attr_f(n, "x_scale", 0.069314718f);
  optest_attr_f(n, "y_scale", 1.f / 256);
  optest_attr_i(n, "y_zp", -128);
  // the third column (-128) is 2^-12.8 of the first's weight: 256 * 2^-12.8 / 2 = 0.018 -> 0
  int32_t want[6] = {0, 0, -128, 171 - 128, 85 - 128, -128};
  expect_ints(n, 1, (eo_tview *[]){&t2}, EO_INT8, 6, want);
  optest_node_free(n);
}

/* Bad parameters fail at prepare with a status (and, under ASan, nothing leaks). */
static void test_bad_params(void) {
  int8_t x[3] = {0};
  eo_tview tx = q8(EO_INT8, 2, (int64_t[]){1, 3}, x), tw = q8(EO_INT8, 2, (int64_t[]){2, 3}, x), y;
  eo_node *n = optest_node("TflLut");
  optest_attr_s(n, "fn", "sigmoid");
  optest_attr_f(n, "x_scale", 0.1f);  // y_scale missing (0)
  EO_CHECK(optest_run(n, 14, 1, (eo_tview *[]){&tx}, 1, (eo_tview *[]){&y}, false) == EO_ERR_INVALID);
  optest_node_free(n);
  n = optest_node("TflConv");
  optest_attr_i(n, "kind", 2);
  optest_attr_f(n, "x_scale", 1.f);
  optest_attr_f(n, "y_scale", 1.f);
  optest_attr_floats(n, "w_scales", 3, (float[]){1.f, 1.f, 1.f});  // 3 scales for 2 output channels
  EO_CHECK(optest_run(n, 14, 2, (eo_tview *[]){&tx, &tw}, 1, (eo_tview *[]){&y}, false) == EO_ERR_INVALID);
  optest_node_free(n);
  n = optest_node("TflAdd");
  add_node(n, 1.f, 0, 1.f, 300, 1.f, 0, EO_TFL_MODE_XNNPACK);  // zero point outside int8
  EO_CHECK(optest_run(n, 14, 2, (eo_tview *[]){&tx, &tx}, 1, (eo_tview *[]){&y}, false) == EO_ERR_INVALID);
  optest_node_free(n);
}

int main(void) {
  test_bad_params();
  test_softmax();
  test_fixed_point();
  test_conv();
  test_binary();
  test_lut_quantize();
  test_pool();
  return eo_test_finish();
}
