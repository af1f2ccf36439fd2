/* Dynamic INT8 reference kernels (DynamicQuantizeLinear, MatMulInteger, ConvInteger) through the op
 * registry, on the cases libonnx-testdata leaves out: an all-zero input (ORT's scale 1), int8
 * operands, per-row / per-column / per-channel zero points, padding that must add nothing, groups.
 * Expected values are worked out by hand in the comments. */
#include <stdlib.h>
#include <string.h>

#include "runtime/op.h"
#include "test.h"

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

static eo_status run(call *k, int op) {
  const eo_op_def *def = eo_op_get(op);
  eo_status st = def->infer(&k->c);
  if (st) return st;
  if (def->prepare && (st = def->prepare(&k->c))) return st;
  for (int i = 0; i < k->c.n_out; i++) {
    size_t nb;
    eo_dtype_bytes(k->out[i].dtype, eo_tview_numel(&k->out[i]), &nb);
    k->out[i].data = calloc(1, nb + 1);
  }
  def->forward(&k->c);
  if (def->release) def->release(k->c.state);
  return EO_OK;
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

int main(void) {
  test_dql();
  test_matmul_integer();
  test_conv_integer();
  return eo_test_finish();
}
