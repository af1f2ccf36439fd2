/* Dynamic INT8 kernels (DynamicQuantizeLinear, MatMulInteger, ConvInteger) run one node the way a
 * session does (tests/ops/op_test.h: infer, prepare, scratch, forward), on the cases
 * libonnx-testdata leaves out: an all-zero input (ORT's scale 1), int8 operands, per-row /
 * per-column / per-channel zero points, padding that must add nothing, groups. Expected values are
 * worked out by hand in the comments. Every run is done twice, with the fast paths (VNNI where the
 * CPU has it) and with EO_FORCE_REF, and the two outputs must be the same bytes; random cases at
 * kernel-sized shapes add fast-vs-reference coverage. */
#include <stdlib.h>
#include <string.h>

#include "runtime/op.h"
#include "test.h"
#include "ops/op_test.h"  // after test.h: optest_run_vs_ref

typedef struct {
  eo_node node;
  eo_attr attrs[4];
  eo_tview in[4], out[3];
  eo_tview *pin[4], *pout[3];
  eo_op_ctx c;
} call;

static void setup(call *k, int op, int n_in, int n_out) {
  memset(k, 0, sizeof *k);
  k->node.name = "n";
  k->node.op_type = (char *)eo_op_name(op);
  k->node.attrs = k->attrs;
  k->c.node = &k->node;
  k->c.opset = 11;
  k->c.n_in = n_in;
  k->c.n_out = n_out;
  for (int i = 0; i < 4; i++) k->pin[i] = i < n_in ? &k->in[i] : NULL;
  for (int i = 0; i < 3; i++) k->pout[i] = i < n_out ? &k->out[i] : NULL;
  k->c.in = k->pin;
  k->c.out = k->pout;
}

static void ints(call *k, const char *name, int n, int64_t *v) {
  eo_attr *a = &k->attrs[k->node.n_attrs++];
  a->name = (char *)name;
  a->type = EO_ATTR_INTS;
  a->n = n;
  a->ints = v;
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
  return optest_run_vs_ref(&k->node, k->c.opset, k->c.n_in, k->pin, k->c.n_out, k->pout);
}

static void free_out(call *k) {
  for (int i = 0; i < k->c.n_out; i++) free(k->out[i].data);
}

static void test_dql(void) {
  call k;
  // all zero: hi == lo, ORT uses scale 1, zero point 0
  float z[3] = {0, 0, 0};
  int64_t d3[1] = {3};
  setup(&k, EO_OP_DYNAMIC_QUANTIZE_LINEAR, 1, 3);
  tv(&k.in[0], EO_FLOAT, 1, d3, z);
  EO_CHECK(run(&k, EO_OP_DYNAMIC_QUANTIZE_LINEAR) == EO_OK);
  EO_CHECK(*(float *)k.out[1].data == 1.0f && *(uint8_t *)k.out[2].data == 0);
  EO_CHECK(((uint8_t *)k.out[0].data)[0] == 0 && k.out[0].dtype == EO_UINT8 && k.out[1].rank == 0);
  free_out(&k);
  // [-1, 0, 0.5, 2.5]: lo -1, hi 2.5, scale 3.5/255; zp = round(1 / scale) = round(72.857) = 73;
  // y = round(x / scale) + 73: -1 -> -73 + 73 = 0; 0.5 -> round(36.43) = 36 -> 109; 2.5 -> 182 + 73 = 255
  float x[4] = {-1.0f, 0.0f, 0.5f, 2.5f};
  int64_t d4[1] = {4};
  setup(&k, EO_OP_DYNAMIC_QUANTIZE_LINEAR, 1, 3);
  tv(&k.in[0], EO_FLOAT, 1, d4, x);
  EO_CHECK(run(&k, EO_OP_DYNAMIC_QUANTIZE_LINEAR) == EO_OK);
  const uint8_t *y = k.out[0].data;
  EO_CHECK(*(float *)k.out[1].data == 3.5f / 255.0f && *(uint8_t *)k.out[2].data == 73);
  EO_CHECK_MSG(y[0] == 0 && y[1] == 73 && y[2] == 109 && y[3] == 255, "%d %d %d %d", y[0], y[1], y[2], y[3]);
  free_out(&k);
  // int8 input refused with a message naming the dtype
  int8_t bad[1] = {0};
  int64_t d1[1] = {1};
  setup(&k, EO_OP_DYNAMIC_QUANTIZE_LINEAR, 1, 3);
  tv(&k.in[0], EO_INT8, 1, d1, bad);
  EO_CHECK(run(&k, EO_OP_DYNAMIC_QUANTIZE_LINEAR) == EO_ERR_UNSUPPORTED && strstr(eo_last_error(), "int8"));
}

static void test_matmul_integer(void) {
  // A int8 [2, 2] with per-row zero points {1, -1}, B int8 [2, 3] with per-column {0, 1, 2}
  int8_t a[4] = {3, 1, -2, 4}, b[6] = {1, 2, 3, 4, 5, 6}, az[2] = {1, -1}, bz[3] = {0, 1, 2};
  int64_t da[2] = {2, 2}, db[2] = {2, 3}, d2[1] = {2}, d3[1] = {3};
  call k;
  setup(&k, EO_OP_MATMUL_INTEGER, 4, 1);
  tv(&k.in[0], EO_INT8, 2, da, a);
  tv(&k.in[1], EO_INT8, 2, db, b);
  tv(&k.in[2], EO_INT8, 1, d2, az);
  tv(&k.in[3], EO_INT8, 1, d3, bz);
  EO_CHECK(run(&k, EO_OP_MATMUL_INTEGER) == EO_OK);
  // A - az = [[2, 0], [-1, 5]]; B - bz = [[1, 1, 1], [4, 4, 4]]
  // row 0: [2, 2, 2]; row 1: [-1 + 20, ...] = [19, 19, 19]
  const int32_t *y = k.out[0].data;
  EO_CHECK(k.out[0].dtype == EO_INT32 && k.out[0].rank == 2 && k.out[0].dims[1] == 3);
  EO_CHECK(y[0] == 2 && y[1] == 2 && y[2] == 2 && y[3] == 19 && y[4] == 19 && y[5] == 19);
  free_out(&k);
  // mismatched inner dims: an error naming both
  int64_t dbad[2] = {3, 3};
  setup(&k, EO_OP_MATMUL_INTEGER, 2, 1);
  tv(&k.in[0], EO_INT8, 2, da, a);
  tv(&k.in[1], EO_INT8, 2, dbad, b);
  EO_CHECK(run(&k, EO_OP_MATMUL_INTEGER) == EO_ERR_SHAPE && strstr(eo_last_error(), "differs"));
}

static void test_conv_integer(void) {
  // x uint8 [1, 2, 2, 2], zero point 10; w uint8 [2, 1, 2, 2] (group 2), per-channel zero points {128, 0};
  // pads 1 on every side, kernel 2x2: output [1, 2, 3, 3]; padding contributes 0
  uint8_t x[8] = {11, 12, 13, 14, 10, 10, 10, 20}, xz[1] = {10};
  uint8_t w[8] = {129, 129, 129, 129, 1, 0, 0, 2}, wz[2] = {128, 0};
  int64_t dx[4] = {1, 2, 2, 2}, dw[4] = {2, 1, 2, 2}, d1[1] = {1}, d2[1] = {2};
  int64_t pads[4] = {1, 1, 1, 1};
  call k;
  setup(&k, EO_OP_CONV_INTEGER, 4, 1);
  tv(&k.in[0], EO_UINT8, 4, dx, x);
  tv(&k.in[1], EO_UINT8, 4, dw, w);
  tv(&k.in[2], EO_UINT8, 1, d1, xz);
  tv(&k.in[3], EO_UINT8, 1, d2, wz);
  ints(&k, "pads", 4, pads);
  k.attrs[k.node.n_attrs].name = "group";
  k.attrs[k.node.n_attrs].type = EO_ATTR_INT;
  k.attrs[k.node.n_attrs++].i = 2;
  EO_CHECK(run(&k, EO_OP_CONV_INTEGER) == EO_OK);
  EO_CHECK(k.out[0].dtype == EO_INT32 && k.out[0].rank == 4 && k.out[0].dims[2] == 3 && k.out[0].dims[3] == 3);
  // channel 0: x - 10 = [[1, 2], [3, 4]], w - 128 = all ones: each output sums the window
  //   [[1, 3, 2], [4, 10, 6], [3, 7, 4]]
  // channel 1: x - 10 = [[0, 0], [0, 10]], w = [[1, 0], [0, 2]]: out(i, j) = 1 * x(i-1, j-1) + 2 * x(i, j)
  //   nonzero only where x(1, 1) = 10 is read: out(1, 1) = 2 * 10 = 20, out(2, 2) = 1 * 10 = 10
  const int32_t *y = k.out[0].data;
  int32_t want[18] = {1, 3, 2, 4, 10, 6, 3, 7, 4, 0, 0, 0, 0, 20, 0, 0, 0, 10};
  bool same = true;
  for (int i = 0; i < 18; i++) same &= y[i] == want[i];
  EO_CHECK_MSG(same, "ConvInteger output differs: %d %d %d / %d %d %d", y[0], y[1], y[2], y[13], y[16], y[17]);
  free_out(&k);
  // a w_zero_point per channel of the wrong length is refused
  int64_t d3[1] = {3};
  uint8_t wz3[3] = {0, 0, 0};
  setup(&k, EO_OP_CONV_INTEGER, 4, 1);
  tv(&k.in[0], EO_UINT8, 4, dx, x);
  tv(&k.in[1], EO_UINT8, 4, dw, w);
  tv(&k.in[2], EO_UINT8, 1, d1, xz);
  tv(&k.in[3], EO_UINT8, 1, d3, wz3);
  k.attrs[k.node.n_attrs].name = "group";
  k.attrs[k.node.n_attrs].type = EO_ATTR_INT;
  k.attrs[k.node.n_attrs++].i = 2;
  EO_CHECK(run(&k, EO_OP_CONV_INTEGER) == EO_ERR_INVALID && strstr(eo_last_error(), "w_zero_point"));
}

static uint32_t rng = 2024;
static int rnd(int lo, int hi) {  // uniform in [lo, hi]
  rng = rng * 1664525u + 1013904223u;
  return lo + (int)((rng >> 8) % (uint32_t)(hi - lo + 1));
}

/* Shapes past the kernels' tiles (fast == reference is checked inside run()), against a naive loop. */
static void test_fast_vs_ref(void) {
  enum { M = 37, K = 70, N = 45 };
  static uint8_t a[M * K];
  static int8_t b[K * N], bz[N];
  uint8_t az[1] = {(uint8_t)rnd(100, 140)};
  for (int i = 0; i < M * K; i++) a[i] = (uint8_t)rnd(0, 255);
  for (int i = 0; i < K * N; i++) b[i] = (int8_t)rnd(-100, 100);
  for (int i = 0; i < N; i++) bz[i] = (int8_t)rnd(-20, 20);
  int64_t da[2] = {M, K}, db[2] = {K, N}, d1[1] = {1}, dn[1] = {N};
  call k;
  setup(&k, EO_OP_MATMUL_INTEGER, 4, 1);
  tv(&k.in[0], EO_UINT8, 2, da, a);
  tv(&k.in[1], EO_INT8, 2, db, b);
  tv(&k.in[2], EO_UINT8, 1, d1, az);
  tv(&k.in[3], EO_INT8, 1, dn, bz);
  EO_CHECK(run(&k, EO_OP_MATMUL_INTEGER) == EO_OK);
  const int32_t *y = k.out[0].data;
  bool same = true;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      int32_t acc = 0;
      for (int p = 0; p < K; p++) acc += ((int32_t)a[i * K + p] - az[0]) * ((int32_t)b[p * N + j] - bz[j]);
      same &= y[i * N + j] == acc;
    }
  EO_CHECK_MSG(same, "MatMulInteger %dx%dx%d differs from the naive loop", M, K, N);
  free_out(&k);

  // ConvInteger 3x3, stride 1, pad 1: uint8 x [1, 5, 9, 11], uint8 w [7, 5, 3, 3] with zero point 128
  enum { C = 5, H = 9, W = 11, OC = 7 };
  static uint8_t x[C * H * W], w[OC * C * 9];
  uint8_t xz[1] = {(uint8_t)rnd(0, 255)}, wz[1] = {128};
  for (int i = 0; i < C * H * W; i++) x[i] = (uint8_t)rnd(0, 255);
  for (int i = 0; i < OC * C * 9; i++) w[i] = (uint8_t)rnd(28, 228);
  int64_t dx[4] = {1, C, H, W}, dw[4] = {OC, C, 3, 3}, pads[4] = {1, 1, 1, 1};
  setup(&k, EO_OP_CONV_INTEGER, 4, 1);
  tv(&k.in[0], EO_UINT8, 4, dx, x);
  tv(&k.in[1], EO_UINT8, 4, dw, w);
  tv(&k.in[2], EO_UINT8, 1, d1, xz);
  tv(&k.in[3], EO_UINT8, 1, d1, wz);
  ints(&k, "pads", 4, pads);
  EO_CHECK(run(&k, EO_OP_CONV_INTEGER) == EO_OK);
  y = k.out[0].data;
  same = k.out[0].dims[2] == H && k.out[0].dims[3] == W;
  for (int o = 0; same && o < OC; o++)
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) {
        int32_t acc = 0;
        for (int c = 0; c < C; c++)
          for (int u = 0; u < 3; u++)
            for (int v = 0; v < 3; v++) {
              int ii = i + u - 1, jj = j + v - 1;
              if (ii < 0 || ii >= H || jj < 0 || jj >= W) continue;
              acc += ((int32_t)x[(c * H + ii) * W + jj] - xz[0]) * ((int32_t)w[((o * C + c) * 3 + u) * 3 + v] - 128);
            }
        same &= y[(o * H + i) * W + j] == acc;
      }
  EO_CHECK_MSG(same, "ConvInteger differs from the naive loop");
  free_out(&k);

  // DynamicQuantizeLinear over 1000 values (vector body and tail)
  static float f[1000];
  for (int i = 0; i < 1000; i++) f[i] = (float)rnd(-30000, 50000) / 1000.f;
  int64_t df[1] = {1000};
  setup(&k, EO_OP_DYNAMIC_QUANTIZE_LINEAR, 1, 3);
  tv(&k.in[0], EO_FLOAT, 1, df, f);
  EO_CHECK(run(&k, EO_OP_DYNAMIC_QUANTIZE_LINEAR) == EO_OK);
  free_out(&k);
}

int main(void) {
  test_dql();
  test_matmul_integer();
  test_conv_integer();
  test_fast_vs_ref();
  return eo_test_finish();
}
