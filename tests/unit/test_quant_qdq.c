/* QuantizeLinear / DequantizeLinear run one node the way a session does (tests/ops/op_test.h:
 * infer, prepare, scratch, forward): rounding half to even, saturation, per-tensor / per-axis /
 * blocked (opset 21) parameters, int4/uint4 packing, int16 and int32 (bias). Expected values are
 * written out by hand from the ONNX spec. Every run is done twice, with the fast paths (AVX2 where
 * the CPU has it) and with EO_FORCE_REF, and the two outputs must be the same bytes; random cases
 * past the vector width add fast-vs-reference coverage. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/op.h"
#include "test.h"
#include "ops/op_test.h"  // after test.h: optest_run_vs_ref

typedef struct {
  eo_node node;
  eo_attr attrs[4];
  eo_tview in[3], out;
  eo_tview *pin[3], *pout[1];
  eo_op_ctx c;
} call;

static void setup(call *k, int op, int64_t opset, int n_in) {
  memset(k, 0, sizeof *k);
  k->node.name = "n";
  k->node.op_type = (char *)eo_op_name(op);
  k->node.attrs = k->attrs;
  k->c.node = &k->node;
  k->c.opset = opset;
  k->c.n_in = n_in;
  k->c.n_out = 1;
  for (int i = 0; i < 3; i++) k->pin[i] = i < n_in ? &k->in[i] : NULL;
  k->pout[0] = &k->out;
  k->c.in = k->pin;
  k->c.out = k->pout;
}

static void attr(call *k, const char *name, int64_t v) {
  eo_attr *a = &k->attrs[k->node.n_attrs++];
  a->name = (char *)name;
  a->type = EO_ATTR_INT;
  a->i = v;
}

static void tv(eo_tview *t, int dtype, int rank, const int64_t *dims, const void *data) {
  t->dtype = dtype;
  t->rank = rank;
  for (int d = 0; d < rank; d++) t->dims[d] = dims[d];
  t->data = (void *)data;
}

/* optest_run_vs_ref (default kernels, then EO_FORCE_REF: the same bytes) with op. */
static eo_status run(call *k, int op) {
  k->node.op = op;
  k->node.fused_act = -1;
  return optest_run_vs_ref(&k->node, k->c.opset, k->c.n_in, k->pin, 1, k->pout);
}

static void test_quantize_per_tensor(void) {
  call k;
  setup(&k, EO_OP_QUANTIZE_LINEAR, 13, 3);
  // x / 0.5 = 1, 5, 3, 7, -1, -3 -> ties at .5 go to even
  const float x[] = {0.25f, 1.25f, 0.75f, 1.75f, -0.25f, 200.f, -1.f, 0.f};
  const float s = 0.5f;
  const uint8_t z = 10;
  int64_t d[1] = {8};
  tv(&k.in[0], EO_FLOAT, 1, d, x);
  tv(&k.in[1], EO_FLOAT, 0, NULL, &s);
  tv(&k.in[2], EO_UINT8, 0, NULL, &z);
  EO_CHECK(run(&k, EO_OP_QUANTIZE_LINEAR) == EO_OK);
  // 0.5->0, 2.5->2, 1.5->2, 3.5->4, -0.5->-0, 400 saturates, -2, 0; each + 10
  const uint8_t want[] = {10, 12, 12, 14, 10, 255, 8, 10};
  EO_CHECK(k.out.dtype == EO_UINT8 && memcmp(k.out.data, want, 8) == 0);
  free(k.out.data);

  // no zero point: uint8 output, negative values clamp to 0
  setup(&k, EO_OP_QUANTIZE_LINEAR, 10, 2);
  tv(&k.in[0], EO_FLOAT, 1, d, x);
  tv(&k.in[1], EO_FLOAT, 0, NULL, &s);
  EO_CHECK(run(&k, EO_OP_QUANTIZE_LINEAR) == EO_OK);
  const uint8_t want2[] = {0, 2, 2, 4, 0, 255, 0, 0};
  EO_CHECK(k.out.dtype == EO_UINT8 && memcmp(k.out.data, want2, 8) == 0);
  free(k.out.data);
}

static void test_quantize_per_axis_int8(void) {
  call k;
  setup(&k, EO_OP_QUANTIZE_LINEAR, 13, 3);
  attr(&k, "axis", 0);
  const float x[] = {1.f, -1.f, 300.f, -300.f, 1.f, -1.f, 2.5f, -2.5f};  // [2, 4]
  const float s[] = {1.f, 0.5f};
  const int8_t z[] = {0, -3};
  int64_t d[2] = {2, 4}, ds[1] = {2};
  tv(&k.in[0], EO_FLOAT, 2, d, x);
  tv(&k.in[1], EO_FLOAT, 1, ds, s);
  tv(&k.in[2], EO_INT8, 1, ds, z);
  EO_CHECK(run(&k, EO_OP_QUANTIZE_LINEAR) == EO_OK);
  const int8_t want[] = {1, -1, 127, -128, -1, -5, 2, -8};  // row 1: x/0.5 = 2, -2, 5, -5, then -3
  EO_CHECK(k.out.dtype == EO_INT8 && memcmp(k.out.data, want, 8) == 0);
  free(k.out.data);

  // a per-axis scale of the wrong length is an error naming the shapes
  setup(&k, EO_OP_QUANTIZE_LINEAR, 13, 2);
  attr(&k, "axis", 1);
  tv(&k.in[0], EO_FLOAT, 2, d, x);
  tv(&k.in[1], EO_FLOAT, 1, ds, s);
  EO_CHECK(eo_op_get(EO_OP_QUANTIZE_LINEAR)->infer(&k.c) == EO_ERR_SHAPE);
  EO_CHECK(strstr(eo_last_error(), "per-axis scale") != NULL);
}

static void test_blocked_int4(void) {
  // x [2, 4], blocks of 2 along axis 1: scale [2, 2]
  call k;
  setup(&k, EO_OP_QUANTIZE_LINEAR, 21, 3);
  attr(&k, "axis", 1);
  attr(&k, "block_size", 2);
  const float x[] = {1.f, 2.f, 30.f, -30.f, -1.f, 3.f, 0.25f, 0.75f};
  const float s[] = {1.f, 2.f, 0.5f, 0.25f};
  const int8_t zq[] = {0, 0, 1, 0};  // int4 zero points, unpacked here then packed below
  uint8_t zp[2] = {(uint8_t)((zq[0] & 15) | (zq[1] & 15) << 4), (uint8_t)((zq[2] & 15) | (zq[3] & 15) << 4)};
  int64_t d[2] = {2, 4}, ds[2] = {2, 2};
  tv(&k.in[0], EO_FLOAT, 2, d, x);
  tv(&k.in[1], EO_FLOAT, 2, ds, s);
  tv(&k.in[2], EO_INT4, 2, ds, zp);
  EO_CHECK(run(&k, EO_OP_QUANTIZE_LINEAR) == EO_OK);
  // row 0: 1/1=1, 2/1=2, 30/2=15->7, -15->-8 ; row 1: -1/0.5+1=-1, 3/0.5+1=7, 0.25/0.25=1, 3
  const int want[] = {1, 2, 7, -8, -1, 7, 1, 3};
  EO_CHECK(k.out.dtype == EO_INT4);
  const uint8_t *o = k.out.data;
  for (int i = 0; i < 8; i++) {
    int v = (o[i / 2] >> (4 * (i % 2))) & 15;
    v = v >= 8 ? v - 16 : v;
    EO_CHECK_MSG(v == want[i], "int4 element %d: %d, expected %d", i, v, want[i]);
  }
  // dequantize the packed result back: (q - zp) * scale
  call dq;
  setup(&dq, EO_OP_DEQUANTIZE_LINEAR, 21, 3);
  attr(&dq, "axis", 1);
  attr(&dq, "block_size", 2);
  tv(&dq.in[0], EO_INT4, 2, d, k.out.data);
  tv(&dq.in[1], EO_FLOAT, 2, ds, s);
  tv(&dq.in[2], EO_INT4, 2, ds, zp);
  EO_CHECK(run(&dq, EO_OP_DEQUANTIZE_LINEAR) == EO_OK);
  const float back[] = {1.f, 2.f, 14.f, -16.f, -1.f, 3.f, 0.25f, 0.75f};
  for (int i = 0; i < 8; i++) EO_CHECK_NEAR(((float *)dq.out.data)[i], back[i], 0);
  free(dq.out.data);
  free(k.out.data);

  // a blocked scale with the wrong block count is refused
  setup(&k, EO_OP_DEQUANTIZE_LINEAR, 21, 2);
  attr(&k, "axis", 1);
  attr(&k, "block_size", 3);  // ceil(4/3) = 2 blocks: ok
  tv(&k.in[0], EO_INT4, 2, d, zp);
  tv(&k.in[1], EO_FLOAT, 2, ds, s);
  EO_CHECK(eo_op_get(EO_OP_DEQUANTIZE_LINEAR)->infer(&k.c) == EO_OK);
  k.attrs[1].i = 1;  // 4 blocks expected
  EO_CHECK(eo_op_get(EO_OP_DEQUANTIZE_LINEAR)->infer(&k.c) == EO_ERR_SHAPE);
}

static void test_dequantize_types(void) {
  call k;
  // uint4 per tensor, odd element count (last byte half used)
  setup(&k, EO_OP_DEQUANTIZE_LINEAR, 21, 3);
  const uint8_t qq[] = {0x21, 0xF0, 0x07};  // elements 1, 2, 0, 15, 7 (low nibble first)
  const float s = 0.5f;
  const uint8_t z = 3;  // uint4 zero point 3 in the low nibble
  int64_t d[1] = {5};
  tv(&k.in[0], EO_UINT4, 1, d, qq);
  tv(&k.in[1], EO_FLOAT, 0, NULL, &s);
  tv(&k.in[2], EO_UINT4, 0, NULL, &z);
  EO_CHECK(run(&k, EO_OP_DEQUANTIZE_LINEAR) == EO_OK);
  const float want[] = {-1.f, -0.5f, -1.5f, 6.f, 2.f};
  for (int i = 0; i < 5; i++) EO_CHECK_NEAR(((float *)k.out.data)[i], want[i], 0);
  free(k.out.data);

  // int32 bias, per axis, no zero point
  setup(&k, EO_OP_DEQUANTIZE_LINEAR, 13, 2);
  attr(&k, "axis", 0);
  const int32_t b[] = {1000, -7};
  const float bs[] = {0.001f, 0.5f};
  int64_t db[1] = {2};
  tv(&k.in[0], EO_INT32, 1, db, b);
  tv(&k.in[1], EO_FLOAT, 1, db, bs);
  EO_CHECK(run(&k, EO_OP_DEQUANTIZE_LINEAR) == EO_OK);
  EO_CHECK(k.out.dtype == EO_FLOAT);
  EO_CHECK_NEAR(((float *)k.out.data)[0], 1.0, 1e-6);
  EO_CHECK_NEAR(((float *)k.out.data)[1], -3.5, 0);
  free(k.out.data);

  // int16 with a float16 scale: the output is float16
  setup(&k, EO_OP_DEQUANTIZE_LINEAR, 21, 3);
  const int16_t x16[] = {-32768, 32767, 100};
  const uint16_t s16 = eo_f32_to_f16(0.25f);
  const int16_t z16 = 100;
  int64_t d3[1] = {3};
  tv(&k.in[0], EO_INT16, 1, d3, x16);
  tv(&k.in[1], EO_FLOAT16, 0, NULL, &s16);
  tv(&k.in[2], EO_INT16, 0, NULL, &z16);
  EO_CHECK(run(&k, EO_OP_DEQUANTIZE_LINEAR) == EO_OK);
  EO_CHECK(k.out.dtype == EO_FLOAT16);
  EO_CHECK_NEAR(eo_f16_to_f32(((uint16_t *)k.out.data)[0]), -8216.0, 0);  // -8217 rounds to -8216 in fp16 (step 8)
  EO_CHECK_NEAR(eo_f16_to_f32(((uint16_t *)k.out.data)[2]), 0.0, 0);
  free(k.out.data);

  // a zero point of another dtype is refused
  setup(&k, EO_OP_DEQUANTIZE_LINEAR, 13, 3);
  const int8_t zi = 0;
  tv(&k.in[0], EO_UINT8, 1, d, qq);
  tv(&k.in[1], EO_FLOAT, 0, NULL, &s);
  tv(&k.in[2], EO_INT8, 0, NULL, &zi);
  EO_CHECK(eo_op_get(EO_OP_DEQUANTIZE_LINEAR)->infer(&k.c) == EO_ERR_INVALID);
}

static void test_output_dtype_attr(void) {
  call k;
  setup(&k, EO_OP_QUANTIZE_LINEAR, 21, 2);
  attr(&k, "output_dtype", EO_INT4);
  const float x[] = {-100.f, 3.5f, 100.f};
  const float s = 1.f;
  int64_t d[1] = {3};
  tv(&k.in[0], EO_FLOAT, 1, d, x);
  tv(&k.in[1], EO_FLOAT, 0, NULL, &s);
  EO_CHECK(run(&k, EO_OP_QUANTIZE_LINEAR) == EO_OK);
  EO_CHECK(k.out.dtype == EO_INT4);
  const uint8_t *o = k.out.data;
  EO_CHECK((o[0] & 15) == 8 && (o[0] >> 4) == 4 && (o[1] & 15) == 7);  // -8, 4 (3.5 -> 4), 7
  free(k.out.data);
}

static uint32_t rng = 99;
static float rndf(float lo, float hi) {
  rng = rng * 1664525u + 1013904223u;
  return lo + (hi - lo) * (float)((rng >> 8) & 0xffffff) / 16777216.f;
}

/* Lengths around the AVX2 width (fast == reference is checked inside run()), against the spec's
 * formula evaluated here: q = saturate(round_half_even(x / s) + z), x' = (q - z) * s. */
static void test_fast_vs_ref(void) {
  static float x[1031];
  for (int i = 0; i < 1031; i++) x[i] = rndf(-3.f, 5.f);
  x[5] = 2.5f * 0.03125f;  // exact ties at x / s = 2.5 and -3.5
  x[6] = -3.5f * 0.03125f;
  const int lens[] = {1, 7, 8, 9, 31, 32, 33, 1031};
  for (int li = 0; li < (int)(sizeof lens / sizeof lens[0]); li++) {
    int64_t d[1] = {lens[li]};
    for (int signed_q = 0; signed_q < 2; signed_q++) {
      const float s = 0.03125f;
      const int8_t zi = -5;
      const uint8_t zu = 131;
      call k;
      setup(&k, EO_OP_QUANTIZE_LINEAR, 13, 3);
      tv(&k.in[0], EO_FLOAT, 1, d, x);
      tv(&k.in[1], EO_FLOAT, 0, NULL, &s);
      tv(&k.in[2], signed_q ? EO_INT8 : EO_UINT8, 0, NULL, signed_q ? (const void *)&zi : (const void *)&zu);
      EO_CHECK(run(&k, EO_OP_QUANTIZE_LINEAR) == EO_OK);
      bool same = true;
      for (int i = 0; i < lens[li]; i++) {
        double v = nearbyint((double)x[i] / s) + (signed_q ? zi : zu);
        double lo = signed_q ? -128 : 0, hi = signed_q ? 127 : 255;
        v = v < lo ? lo : v > hi ? hi : v;
        int got = signed_q ? ((int8_t *)k.out.data)[i] : ((uint8_t *)k.out.data)[i];
        same &= got == (int)v;
      }
      EO_CHECK_MSG(same, "QuantizeLinear %s length %d differs from the formula", signed_q ? "int8" : "uint8", lens[li]);
      // and back
      call dq;
      setup(&dq, EO_OP_DEQUANTIZE_LINEAR, 13, 3);
      tv(&dq.in[0], signed_q ? EO_INT8 : EO_UINT8, 1, d, k.out.data);
      tv(&dq.in[1], EO_FLOAT, 0, NULL, &s);
      tv(&dq.in[2], signed_q ? EO_INT8 : EO_UINT8, 0, NULL, signed_q ? (const void *)&zi : (const void *)&zu);
      EO_CHECK(run(&dq, EO_OP_DEQUANTIZE_LINEAR) == EO_OK);
      same = true;
      for (int i = 0; i < lens[li]; i++) {
        int q = signed_q ? ((int8_t *)k.out.data)[i] - zi : ((uint8_t *)k.out.data)[i] - zu;
        same &= ((float *)dq.out.data)[i] == (float)q * s;
      }
      EO_CHECK_MSG(same, "DequantizeLinear %s length %d differs from the formula", signed_q ? "int8" : "uint8", lens[li]);
      free(dq.out.data);
      free(k.out.data);
    }
  }
  // per-axis int8 DequantizeLinear (a weight [O, I] with one scale per row), rows past the width
  static int8_t w[13 * 37];
  float ws[13];
  for (int i = 0; i < 13 * 37; i++) w[i] = (int8_t)(rndf(-128.f, 127.99f));
  for (int i = 0; i < 13; i++) ws[i] = rndf(0.001f, 0.1f);
  int64_t dw[2] = {13, 37}, ds[1] = {13};
  call k;
  setup(&k, EO_OP_DEQUANTIZE_LINEAR, 13, 2);
  attr(&k, "axis", 0);
  tv(&k.in[0], EO_INT8, 2, dw, w);
  tv(&k.in[1], EO_FLOAT, 1, ds, ws);
  EO_CHECK(run(&k, EO_OP_DEQUANTIZE_LINEAR) == EO_OK);
  bool same = true;
  for (int i = 0; i < 13 * 37; i++) same &= ((float *)k.out.data)[i] == (float)w[i] * ws[i / 37];
  EO_CHECK_MSG(same, "per-axis DequantizeLinear differs from the formula");
  free(k.out.data);
}

int main(void) {
  test_quantize_per_tensor();
  test_quantize_per_axis_int8();
  test_blocked_int4();
  test_dequantize_types();
  test_output_dtype_attr();
  test_fast_vs_ref();
  return eo_test_finish();
}
