/* Pooling, normalization and softmax ops: hand-computed cases, comparisons with naive
 * implementations written here independently of the kernels, edge cases and error messages. */
#include <float.h>
#include <stdint.h>

#include "ops/op_test.h"
#include "test.h"

#define ARR(...) ((int64_t[]){__VA_ARGS__})
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The registry must hand out exactly these definitions. */
extern const eo_op_def eo_op_max_pool, eo_op_average_pool, eo_op_global_average_pool, eo_op_global_max_pool,
    eo_op_batch_normalization, eo_op_instance_normalization, eo_op_softmax, eo_op_log_softmax;
static const eo_op_def *const family_ops[] = {&eo_op_max_pool, &eo_op_average_pool, &eo_op_global_average_pool,
                                              &eo_op_global_max_pool, &eo_op_batch_normalization,
                                              &eo_op_instance_normalization, &eo_op_softmax, &eo_op_log_softmax};

static void test_registered(void) {
  const char *names[] = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization",
                         "InstanceNormalization", "Softmax", "LogSoftmax"};
  for (int i = 0; i < NELEM(names); i++) {
    int id = eo_op_lookup("", names[i]);
    EO_CHECK_MSG(id >= 0 && eo_op_get(id) == family_ops[i], "%s not registered", names[i]);
  }
}

static uint32_t rng_state = 12345;
static float frand(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float)((rng_state >> 8) & 0xffff) / 65536.0f * 4.0f - 2.0f;
}

static void check_vec(const float *got, const float *want, int n, double tol) {
  for (int i = 0; i < n; i++) EO_CHECK_NEAR(got[i], want[i], tol);
}

static void check_err(eo_status st, eo_status want, const char *needle) {
  EO_CHECK_MSG(st == want, "status %d, expected %d (%s)", (int)st, (int)want, eo_last_error());
  EO_CHECK_MSG(strstr(eo_last_error(), needle) != NULL, "message '%s' lacks '%s'", eo_last_error(), needle);
}

/* Runs a one-input, one-output op on f32 data; returns status, y malloc'd in *y. */
static eo_status run1(eo_node *n, int64_t opset, eo_tview *x, eo_tview *y) {
  return optest_run(n, opset, 1, (eo_tview *[]){x}, 1, (eo_tview *[]){y}, false);
}

/* ---------------------------------------------------------------- MaxPool / AveragePool hand cases */

static float seq16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void test_maxpool_2d_indices(void) {
  for (int order = 0; order < 2; order++) {
    eo_node *n = optest_node("MaxPool");
    optest_attr_ints(n, "kernel_shape", 2, ARR(2, 2));
    optest_attr_ints(n, "strides", 2, ARR(2, 2));
    optest_attr_i(n, "storage_order", order);
    eo_tview x = optest_f32(4, ARR(1, 1, 4, 4), seq16), y, ind;
    eo_status st = optest_run(n, 12, 1, (eo_tview *[]){&x}, 2, (eo_tview *[]){&y, &ind}, false);
    EO_CHECK(st == EO_OK);
    EO_CHECK(y.rank == 4 && y.dims[2] == 2 && y.dims[3] == 2 && ind.dtype == EO_INT64);
    check_vec(y.data, (float[]){6, 8, 14, 16}, 4, 0);
    const int64_t *iv = ind.data;
    /* (h, w) of the maxima: (1,1) (1,3) (3,1) (3,3); row-major h*4+w, column-major h+w*4. */
    int64_t want_row[4] = {5, 7, 13, 15}, want_col[4] = {5, 13, 7, 15};
    for (int i = 0; i < 4; i++) EO_CHECK(iv[i] == (order ? want_col[i] : want_row[i]));
    free(y.data);
    free(ind.data);
    optest_node_free(n);
  }
}

/* Indices count N and C: the second plane's indices are offset by the plane size. */
static void test_maxpool_indices_batch(void) {
  float xd[2 * 3] = {3, 1, 2, /* plane 1 */ 0, 5, 4};
  eo_node *n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 1, ARR(3));
  eo_tview x = optest_f32(3, ARR(1, 2, 3), xd), y, ind;
  EO_CHECK(optest_run(n, 12, 1, (eo_tview *[]){&x}, 2, (eo_tview *[]){&y, &ind}, false) == EO_OK);
  check_vec(y.data, (float[]){3, 5}, 2, 0);
  EO_CHECK(((int64_t *)ind.data)[0] == 0 && ((int64_t *)ind.data)[1] == 4);
  free(y.data);
  free(ind.data);
  optest_node_free(n);
}

static void test_maxpool_ceil_dilation(void) {
  /* ONNX test_maxpool_2d_ceil: 4x4, kernel 3, stride 2, ceil_mode -> 2x2. */
  eo_node *n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 2, ARR(3, 3));
  optest_attr_ints(n, "strides", 2, ARR(2, 2));
  optest_attr_i(n, "ceil_mode", 1);
  eo_tview x = optest_f32(4, ARR(1, 1, 4, 4), seq16), y;
  EO_CHECK(run1(n, 12, &x, &y) == EO_OK);
  EO_CHECK(y.dims[2] == 2 && y.dims[3] == 2);
  check_vec(y.data, (float[]){11, 12, 15, 16}, 4, 0);
  free(y.data);
  optest_node_free(n);

  /* Without ceil_mode the same pooling gives 1x1. */
  n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 2, ARR(3, 3));
  optest_attr_ints(n, "strides", 2, ARR(2, 2));
  EO_CHECK(run1(n, 12, &x, &y) == EO_OK);
  EO_CHECK(y.dims[2] == 1 && y.dims[3] == 1 && ((float *)y.data)[0] == 11);
  free(y.data);
  optest_node_free(n);

  /* ONNX test_maxpool_2d_dilations: kernel 2, dilation 2 -> taps (i, i+2). */
  n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 2, ARR(2, 2));
  optest_attr_ints(n, "dilations", 2, ARR(2, 2));
  EO_CHECK(run1(n, 12, &x, &y) == EO_OK);
  EO_CHECK(y.dims[2] == 2 && y.dims[3] == 2);
  check_vec(y.data, (float[]){11, 12, 15, 16}, 4, 0);
  free(y.data);
  optest_node_free(n);

  /* ceil_mode drops a window that would start in the end padding: in 4, kernel 2, stride 2,
   * pads (0, 1): ceil((4 + 1 - 2) / 2) + 1 = 3 windows, but the third starts at 4 -> 2. */
  float xd[4] = {1, 5, 2, 7};
  n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 1, ARR(2));
  optest_attr_ints(n, "strides", 1, ARR(2));
  optest_attr_ints(n, "pads", 2, ARR(0, 1));
  optest_attr_i(n, "ceil_mode", 1);
  x = optest_f32(3, ARR(1, 1, 4), xd);
  EO_CHECK(run1(n, 12, &x, &y) == EO_OK);
  EO_CHECK(y.dims[2] == 2);
  check_vec(y.data, (float[]){5, 7}, 2, 0);
  free(y.data);
  optest_node_free(n);

  /* ceil_mode keeps a window that starts inside the input and runs past it: in 5, kernel 2,
   * stride 2 -> windows at 0, 2, 4 (the last holds one element). */
  float x5[5] = {1, 5, 2, 7, -3};
  n = optest_node("AveragePool");
  optest_attr_ints(n, "kernel_shape", 1, ARR(2));
  optest_attr_ints(n, "strides", 1, ARR(2));
  optest_attr_i(n, "ceil_mode", 1);
  optest_attr_i(n, "count_include_pad", 1);
  x = optest_f32(3, ARR(1, 1, 5), x5);
  EO_CHECK(run1(n, 11, &x, &y) == EO_OK);
  EO_CHECK(y.dims[2] == 3);
  /* The ceil window past the input is not padding: it divides by its one element. */
  check_vec(y.data, (float[]){3, 4.5f, -3}, 3, 1e-6);
  free(y.data);
  optest_node_free(n);
}

/* pads larger than the stride (and than the kernel): windows partly or wholly in padding. */
static void test_pool_big_pads(void) {
  float xd[3] = {1, 2, 3};
  eo_tview x = optest_f32(3, ARR(1, 1, 3), xd), y;
  eo_node *n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 1, ARR(3));
  optest_attr_ints(n, "pads", 2, ARR(2, 2));
  EO_CHECK(run1(n, 12, &x, &y) == EO_OK);
  EO_CHECK(y.dims[2] == 5);
  check_vec(y.data, (float[]){1, 2, 3, 3, 3}, 5, 0);
  free(y.data);
  optest_node_free(n);

  for (int cip = 0; cip < 2; cip++) {
    n = optest_node("AveragePool");
    optest_attr_ints(n, "kernel_shape", 1, ARR(3));
    optest_attr_ints(n, "pads", 2, ARR(2, 2));
    optest_attr_i(n, "count_include_pad", cip);
    EO_CHECK(run1(n, 11, &x, &y) == EO_OK);
    if (cip) check_vec(y.data, (float[]){1.f / 3, 1, 2, 5.f / 3, 1}, 5, 1e-6);
    else check_vec(y.data, (float[]){1, 1.5f, 2, 2.5f, 3}, 5, 1e-6);
    free(y.data);
    optest_node_free(n);
  }

  /* Windows entirely in padding (pad 2 > kernel 1): MaxPool gives the lowest float and index -1,
   * AveragePool 0. */
  float x2[2] = {-4, 9};
  x = optest_f32(3, ARR(1, 1, 2), x2);
  eo_tview ind;
  n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 1, ARR(1));
  optest_attr_ints(n, "pads", 2, ARR(2, 0));
  EO_CHECK(optest_run(n, 12, 1, (eo_tview *[]){&x}, 2, (eo_tview *[]){&y, &ind}, false) == EO_OK);
  EO_CHECK(y.dims[2] == 4);
  check_vec(y.data, (float[]){-FLT_MAX, -FLT_MAX, -4, 9}, 4, 0);
  int64_t *iv = ind.data;
  EO_CHECK(iv[0] == -1 && iv[1] == -1 && iv[2] == 0 && iv[3] == 1);
  free(y.data);
  free(ind.data);
  optest_node_free(n);

  n = optest_node("AveragePool");
  optest_attr_ints(n, "kernel_shape", 1, ARR(1));
  optest_attr_ints(n, "pads", 2, ARR(2, 0));
  EO_CHECK(run1(n, 11, &x, &y) == EO_OK);
  check_vec(y.data, (float[]){0, 0, -4, 9}, 4, 0);
  free(y.data);
  optest_node_free(n);
}

static void test_pool_auto_pad(void) {
  float xd[4] = {1, 2, 3, 4};
  eo_tview x = optest_f32(3, ARR(1, 1, 4), xd), y;
  const char *modes[3] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
  /* kernel 2, stride 1: total pad 1, at the end (UPPER) or the beginning (LOWER); VALID none. */
  float want_max[3][4] = {{2, 3, 4, 4}, {1, 2, 3, 4}, {2, 3, 4, 0}};
  float want_avg[3][4] = {{1.5f, 2.5f, 3.5f, 4}, {1, 1.5f, 2.5f, 3.5f}, {1.5f, 2.5f, 3.5f, 0}};
  int want_len[3] = {4, 4, 3};
  for (int m = 0; m < 3; m++)
    for (int avg = 0; avg < 2; avg++) {
      eo_node *n = optest_node(avg ? "AveragePool" : "MaxPool");
      optest_attr_ints(n, "kernel_shape", 1, ARR(2));
      optest_attr_s(n, "auto_pad", modes[m]);
      optest_attr_ints(n, "pads", 2, ARR(5, 5)); /* ignored with auto_pad */
      EO_CHECK(run1(n, 12, &x, &y) == EO_OK);
      EO_CHECK_MSG(y.dims[2] == want_len[m], "%s: %lld", modes[m], (long long)y.dims[2]);
      check_vec(y.data, avg ? want_avg[m] : want_max[m], want_len[m], 1e-6);
      free(y.data);
      optest_node_free(n);
    }

  /* SAME with stride: in 5, kernel 3, stride 2 -> out 3, total pad 2 (1 each side) like the ONNX
   * precomputed_same_upper case. */
  float x5[5] = {1, 2, 3, 4, 5};
  x = optest_f32(3, ARR(1, 1, 5), x5);
  eo_node *n = optest_node("AveragePool");
  optest_attr_ints(n, "kernel_shape", 1, ARR(3));
  optest_attr_ints(n, "strides", 1, ARR(2));
  optest_attr_s(n, "auto_pad", "SAME_UPPER");
  EO_CHECK(run1(n, 11, &x, &y) == EO_OK);
  EO_CHECK(y.dims[2] == 3);
  check_vec(y.data, (float[]){1.5f, 3, 4.5f}, 3, 1e-6);
  free(y.data);
  optest_node_free(n);
}

/* ---------------------------------------------------------------- naive 3D pooling vs the op */

typedef struct naive_cfg {
  int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
  int ceil_mode, cip;
} naive_cfg;

static int64_t naive_out_len(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, int ceil_mode) {
  int64_t eff = d * (k - 1) + 1, num = in + pb + pe - eff;
  int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + pb) out--;
  return out;
}

/* Explicit triple loop over output and kernel coordinates. */
static void naive_pool3d(const naive_cfg *c, int64_t planes, const float *x, int is_max, float *y, int64_t *ind,
                         int64_t *od) {
  for (int i = 0; i < 3; i++) od[i] = naive_out_len(c->in[i], c->k[i], c->s[i], c->d[i], c->pb[i], c->pe[i], c->ceil_mode);
  int64_t ip = c->in[0] * c->in[1] * c->in[2];
  int64_t yi = 0;
  for (int64_t p = 0; p < planes; p++)
    for (int64_t o0 = 0; o0 < od[0]; o0++)
      for (int64_t o1 = 0; o1 < od[1]; o1++)
        for (int64_t o2 = 0; o2 < od[2]; o2++, yi++) {
          double best = -INFINITY, sum = 0;
          int64_t bi = -1, cnt = 0, cnt_pad = 0;
          for (int64_t k0 = 0; k0 < c->k[0]; k0++)
            for (int64_t k1 = 0; k1 < c->k[1]; k1++)
              for (int64_t k2 = 0; k2 < c->k[2]; k2++) {
                int64_t i0 = o0 * c->s[0] - c->pb[0] + k0 * c->d[0];
                int64_t i1 = o1 * c->s[1] - c->pb[1] + k1 * c->d[1];
                int64_t i2 = o2 * c->s[2] - c->pb[2] + k2 * c->d[2];
                if (i0 < c->in[0] + c->pe[0] && i1 < c->in[1] + c->pe[1] && i2 < c->in[2] + c->pe[2]) cnt_pad++;
                if (i0 < 0 || i1 < 0 || i2 < 0 || i0 >= c->in[0] || i1 >= c->in[1] || i2 >= c->in[2]) continue;
                int64_t off = (i0 * c->in[1] + i1) * c->in[2] + i2;
                float v = x[p * ip + off];
                cnt++;
                sum += v;
                if (v > best) {
                  best = v;
                  bi = p * ip + off;
                }
              }
          if (is_max) {
            y[yi] = (float)best;
            ind[yi] = bi;
          } else {
            int64_t div = c->cip ? cnt_pad : cnt;
            y[yi] = div ? (float)(sum / (double)div) : 0;
          }
        }
}

static void test_pool_vs_naive(void) {
  naive_cfg cfgs[] = {
      {{5, 6, 7}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, 0, 0},
      {{5, 6, 7}, {3, 2, 3}, {2, 3, 1}, {1, 1, 2}, {1, 0, 2}, {1, 1, 0}, 0, 0},
      {{6, 5, 7}, {3, 3, 2}, {2, 2, 3}, {1, 2, 1}, {1, 1, 1}, {0, 2, 1}, 1, 1},
      {{7, 4, 5}, {2, 3, 3}, {3, 1, 2}, {2, 1, 1}, {2, 1, 0}, {2, 0, 1}, 1, 0},
      {{4, 4, 9}, {1, 2, 4}, {1, 2, 3}, {1, 1, 2}, {0, 1, 3}, {0, 1, 3}, 0, 1},
  };
  const int64_t N = 2, C = 3, planes = N * C;
  for (int ci = 0; ci < NELEM(cfgs); ci++) {
    const naive_cfg *c = &cfgs[ci];
    int64_t nx = planes * c->in[0] * c->in[1] * c->in[2];
    float *xd = malloc((size_t)nx * sizeof(float));
    for (int64_t i = 0; i < nx; i++) xd[i] = frand();
    for (int is_max = 0; is_max < 2; is_max++) {
      eo_node *n = optest_node(is_max ? "MaxPool" : "AveragePool");
      optest_attr_ints(n, "kernel_shape", 3, c->k);
      optest_attr_ints(n, "strides", 3, c->s);
      optest_attr_ints(n, "dilations", 3, c->d);
      optest_attr_ints(n, "pads", 6, ARR(c->pb[0], c->pb[1], c->pb[2], c->pe[0], c->pe[1], c->pe[2]));
      optest_attr_i(n, "ceil_mode", c->ceil_mode);
      if (!is_max) optest_attr_i(n, "count_include_pad", c->cip);
      eo_tview x = optest_f32(5, ARR(N, C, c->in[0], c->in[1], c->in[2]), xd), y, ind;
      eo_status st = optest_run(n, 19, 1, (eo_tview *[]){&x}, is_max ? 2 : 1, (eo_tview *[]){&y, &ind}, false);
      EO_CHECK_MSG(st == EO_OK, "cfg %d: %s", ci, eo_last_error());
      if (st) {
        optest_node_free(n);
        continue;
      }
      int64_t od[3];
      float *want = malloc((size_t)eo_tview_numel(&y) * sizeof(float) + 1);
      int64_t *want_i = malloc((size_t)eo_tview_numel(&y) * sizeof(int64_t) + 1);
      naive_pool3d(c, planes, xd, is_max, want, want_i, od);
      EO_CHECK(y.dims[0] == N && y.dims[1] == C && y.dims[2] == od[0] && y.dims[3] == od[1] && y.dims[4] == od[2]);
      int64_t ny = planes * od[0] * od[1] * od[2];
      int bad = 0;
      for (int64_t i = 0; i < ny; i++) {
        if (fabsf(((float *)y.data)[i] - want[i]) > 1e-5f) bad++;
        if (is_max && ((int64_t *)ind.data)[i] != want_i[i]) bad++;
      }
      EO_CHECK_MSG(bad == 0, "cfg %d %s: %d mismatches", ci, is_max ? "max" : "avg", bad);
      free(want);
      free(want_i);
      free(y.data);
      if (is_max) free(ind.data);
      optest_node_free(n);
    }
    free(xd);
  }
}

/* ---------------------------------------------------------------- other dtypes */

static void test_pool_dtypes(void) {
  uint8_t xu[6] = {3, 200, 7, 255, 0, 9};
  eo_node *n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 1, ARR(2));
  optest_attr_ints(n, "pads", 2, ARR(1, 0));
  eo_tview x = optest_view(EO_UINT8, 3, ARR(1, 2, 3), xu), y;
  EO_CHECK(run1(n, 12, &x, &y) == EO_OK);
  EO_CHECK(y.dtype == EO_UINT8 && y.dims[2] == 3);
  uint8_t *yu = y.data;
  EO_CHECK(yu[0] == 3 && yu[1] == 200 && yu[2] == 200 && yu[3] == 255 && yu[4] == 255 && yu[5] == 9);
  free(y.data);

  int8_t xs[4] = {-100, -128, -5, -7};
  x = optest_view(EO_INT8, 3, ARR(1, 1, 4), xs);
  EO_CHECK(run1(n, 12, &x, &y) == EO_OK);
  int8_t *ys = y.data;
  EO_CHECK(y.dtype == EO_INT8 && ys[0] == -100 && ys[1] == -100 && ys[2] == -5 && ys[3] == -5);
  free(y.data);

  double xdd[4] = {0.5, -1.25, 3.75, 2};
  x = optest_view(EO_DOUBLE, 3, ARR(1, 1, 4), xdd);
  EO_CHECK(run1(n, 12, &x, &y) == EO_OK);
  double *yd = y.data;
  EO_CHECK(y.dtype == EO_DOUBLE && yd[0] == 0.5 && yd[1] == 0.5 && yd[2] == 3.75 && yd[3] == 3.75);
  free(y.data);

  uint16_t xh[4];
  float xf[4] = {0.5f, -1.25f, 3.75f, 2};
  for (int i = 0; i < 4; i++) xh[i] = eo_f32_to_f16(xf[i]);
  x = optest_view(EO_FLOAT16, 3, ARR(1, 1, 4), xh);
  EO_CHECK(run1(n, 12, &x, &y) == EO_OK);
  uint16_t *yh = y.data;
  EO_CHECK(y.dtype == EO_FLOAT16 && eo_f16_to_f32(yh[0]) == 0.5f && eo_f16_to_f32(yh[3]) == 3.75f);
  free(y.data);
  optest_node_free(n);

  n = optest_node("AveragePool");
  optest_attr_ints(n, "kernel_shape", 1, ARR(2));
  EO_CHECK(run1(n, 11, &x, &y) == EO_OK);
  yh = y.data;
  EO_CHECK(y.dtype == EO_FLOAT16 && y.dims[2] == 3);
  EO_CHECK_NEAR(eo_f16_to_f32(yh[0]), -0.375, 1e-3);
  EO_CHECK_NEAR(eo_f16_to_f32(yh[1]), 1.25, 1e-3);
  EO_CHECK_NEAR(eo_f16_to_f32(yh[2]), 2.875, 1e-3);
  free(y.data);
  x = optest_view(EO_DOUBLE, 3, ARR(1, 1, 4), xdd);
  EO_CHECK(run1(n, 11, &x, &y) == EO_OK);
  yd = y.data;
  EO_CHECK(y.dtype == EO_DOUBLE && yd[0] == -0.375 && yd[1] == 1.25 && yd[2] == 2.875);
  free(y.data);
  x = optest_view(EO_UINT8, 3, ARR(1, 2, 3), xu);
  check_err(run1(n, 11, &x, &y), EO_ERR_UNSUPPORTED, "uint8");
  optest_node_free(n);
}

static void test_pool_errors(void) {
  eo_tview x = optest_f32(4, ARR(1, 1, 4, 4), seq16), y;
  eo_node *n = optest_node("MaxPool");
  check_err(run1(n, 12, &x, &y), EO_ERR_INVALID, "kernel_shape is required");
  optest_node_free(n);

  n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 1, ARR(2));
  check_err(run1(n, 12, &x, &y), EO_ERR_SHAPE, "expected 3");
  optest_node_free(n);

  n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 2, ARR(2, 2));
  optest_attr_ints(n, "pads", 2, ARR(1, 1));
  check_err(run1(n, 12, &x, &y), EO_ERR_INVALID, "pads has 2 values, expected 4");
  optest_node_free(n);

  n = optest_node("AveragePool");
  optest_attr_ints(n, "kernel_shape", 2, ARR(2, 2));
  optest_attr_ints(n, "strides", 2, ARR(0, 1));
  check_err(run1(n, 11, &x, &y), EO_ERR_INVALID, "strides[0] = 0, expected 1..");
  optest_node_free(n);

  n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 2, ARR(2, INT64_MAX / 2));
  check_err(run1(n, 12, &x, &y), EO_ERR_INVALID, "kernel_shape[1]");
  optest_node_free(n);

  n = optest_node("AveragePool");
  optest_attr_ints(n, "kernel_shape", 2, ARR(2, 2));
  optest_attr_s(n, "auto_pad", "SAME");
  check_err(run1(n, 11, &x, &y), EO_ERR_INVALID, "auto_pad 'SAME'");
  optest_node_free(n);

  n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 2, ARR(5, 2));
  check_err(run1(n, 12, &x, &y), EO_ERR_SHAPE, "exceeds the padded input");
  optest_node_free(n);

  n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 2, ARR(2, 2));
  optest_attr_i(n, "storage_order", 2);
  check_err(run1(n, 12, &x, &y), EO_ERR_INVALID, "storage_order");
  optest_node_free(n);

  n = optest_node("MaxPool");
  optest_attr_ints(n, "kernel_shape", 2, ARR(2, 2));
  eo_tview xi = optest_view(EO_INT32, 4, ARR(1, 1, 4, 4), seq16);
  check_err(run1(n, 12, &xi, &y), EO_ERR_UNSUPPORTED, "int32");
  optest_node_free(n);
}

/* ---------------------------------------------------------------- global pools */

static void test_global_pools(void) {
  float xd[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, /* c1 */ -1, -7, 0.5f, 2, 2, 2};
  eo_tview x = optest_f32(4, ARR(1, 2, 2, 3), xd), y;
  eo_node *n = optest_node("GlobalAveragePool");
  EO_CHECK(run1(n, 1, &x, &y) == EO_OK);
  EO_CHECK(y.rank == 4 && y.dims[0] == 1 && y.dims[1] == 2 && y.dims[2] == 1 && y.dims[3] == 1);
  check_vec(y.data, (float[]){3.5f, -1.5f / 6}, 2, 1e-6);
  free(y.data);
  optest_node_free(n);

  n = optest_node("GlobalMaxPool");
  EO_CHECK(run1(n, 1, &x, &y) == EO_OK);
  check_vec(y.data, (float[]){6, 2}, 2, 0);
  free(y.data);

  /* 1D and 3D spatial. */
  x = optest_f32(3, ARR(2, 1, 6), xd);
  EO_CHECK(run1(n, 1, &x, &y) == EO_OK);
  EO_CHECK(y.rank == 3 && y.dims[0] == 2 && y.dims[2] == 1);
  check_vec(y.data, (float[]){6, 2}, 2, 0);
  free(y.data);
  x = optest_f32(5, ARR(1, 1, 2, 3, 2), xd);
  EO_CHECK(run1(n, 1, &x, &y) == EO_OK);
  EO_CHECK(y.rank == 5 && y.dims[4] == 1);
  check_vec(y.data, (float[]){6}, 1, 0);
  free(y.data);

  x = optest_f32(2, ARR(2, 6), xd);
  check_err(run1(n, 1, &x, &y), EO_ERR_SHAPE, "expected >= 3");
  optest_node_free(n);

  uint16_t xh[4] = {eo_f32_to_f16(1), eo_f32_to_f16(2), eo_f32_to_f16(4), eo_f32_to_f16(-0.5f)};
  double xdd[4] = {1, 2, 4, -0.5};
  n = optest_node("GlobalAveragePool");
  x = optest_view(EO_FLOAT16, 3, ARR(1, 1, 4), xh);
  EO_CHECK(run1(n, 1, &x, &y) == EO_OK);
  EO_CHECK(y.dtype == EO_FLOAT16 && eo_f16_to_f32(((uint16_t *)y.data)[0]) == 1.625f);
  free(y.data);
  x = optest_view(EO_DOUBLE, 3, ARR(1, 1, 4), xdd);
  EO_CHECK(run1(n, 1, &x, &y) == EO_OK);
  EO_CHECK(y.dtype == EO_DOUBLE && ((double *)y.data)[0] == 1.625);
  free(y.data);
  optest_node_free(n);
}

/* ---------------------------------------------------------------- softmax */

/* Naive softmax along `axis` of a [d0, d1, d2] tensor (double precision). */
static void naive_softmax3(const float *x, const int64_t *dims, int axis, int log_sm, float *y) {
  int64_t st[3] = {dims[1] * dims[2], dims[2], 1};
  for (int64_t a = 0; a < dims[0]; a++)
    for (int64_t b = 0; b < dims[1]; b++)
      for (int64_t c = 0; c < dims[2]; c++) {
        int64_t idx[3] = {a, b, c};
        int64_t base = a * st[0] + b * st[1] + c * st[2] - idx[axis] * st[axis];
        double m = -INFINITY, s = 0;
        for (int64_t k = 0; k < dims[axis]; k++) m = fmax(m, x[base + k * st[axis]]);
        for (int64_t k = 0; k < dims[axis]; k++) s += exp(x[base + k * st[axis]] - m);
        double v = x[a * st[0] + b * st[1] + c * st[2]] - m;
        y[a * st[0] + b * st[1] + c * st[2]] = (float)(log_sm ? v - log(s) : exp(v) / s);
      }
}

static void test_softmax(void) {
  /* Hand case: softmax([1, 2, 3]) = e^i / (e + e^2 + e^3). */
  float xd[3] = {1, 2, 3};
  double s = exp(1) + exp(2) + exp(3);
  eo_tview x = optest_f32(2, ARR(1, 3), xd), y;
  eo_node *n = optest_node("Softmax");
  EO_CHECK(run1(n, 13, &x, &y) == EO_OK);
  check_vec(y.data, (float[]){(float)(exp(1) / s), (float)(exp(2) / s), (float)(exp(3) / s)}, 3, 1e-6);
  free(y.data);
  optest_node_free(n);
  n = optest_node("LogSoftmax");
  EO_CHECK(run1(n, 13, &x, &y) == EO_OK);
  check_vec(y.data, (float[]){(float)(1 - log(s)), (float)(2 - log(s)), (float)(3 - log(s))}, 3, 1e-6);
  free(y.data);
  optest_node_free(n);

  /* Large numbers: exp(10000) would overflow without the max subtraction. */
  float big[4] = {10000, 10001, 10002, 10003};
  x = optest_f32(2, ARR(1, 4), big);
  n = optest_node("Softmax");
  EO_CHECK(run1(n, 13, &x, &y) == EO_OK);
  double sb = 1 + exp(1) + exp(2) + exp(3);
  check_vec(y.data, (float[]){(float)(1 / sb), (float)(exp(1) / sb), (float)(exp(2) / sb), (float)(exp(3) / sb)}, 4,
            1e-6);
  free(y.data);
  optest_node_free(n);
  n = optest_node("LogSoftmax");
  EO_CHECK(run1(n, 13, &x, &y) == EO_OK);
  EO_CHECK_NEAR(((float *)y.data)[3], 3 - log(sb), 1e-5);
  EO_CHECK_NEAR(((float *)y.data)[0], -log(sb), 1e-5);
  free(y.data);
  optest_node_free(n);

  /* opset 13: every axis (and negative ones) against the naive implementation. */
  int64_t dims[3] = {3, 4, 5};
  float x3[60], want[60];
  for (int i = 0; i < 60; i++) x3[i] = frand() * 3;
  x = optest_f32(3, dims, x3);
  for (int log_sm = 0; log_sm < 2; log_sm++)
    for (int64_t axis = -3; axis < 3; axis++) {
      n = optest_node(log_sm ? "LogSoftmax" : "Softmax");
      optest_attr_i(n, "axis", axis);
      EO_CHECK(run1(n, 13, &x, &y) == EO_OK);
      naive_softmax3(x3, dims, (int)(axis < 0 ? axis + 3 : axis), log_sm, want);
      check_vec(y.data, want, 60, 2e-6);
      free(y.data);
      optest_node_free(n);
    }
  /* opset 13 default axis is -1. */
  n = optest_node("Softmax");
  EO_CHECK(run1(n, 13, &x, &y) == EO_OK);
  naive_softmax3(x3, dims, 2, 0, want);
  check_vec(y.data, want, 60, 2e-6);
  free(y.data);

  /* opset 11: default axis 1 coerces [3, 4, 5] to [3, 20]: softmax over each row of 20, i.e. the
   * naive softmax of the [3, 20, 1] view along axis 1. */
  EO_CHECK(run1(n, 11, &x, &y) == EO_OK);
  naive_softmax3(x3, ARR(3, 20, 1), 1, 0, want);
  check_vec(y.data, want, 60, 2e-6);
  free(y.data);
  optest_node_free(n);
  /* opset 11, axis -1 coerces to [12, 5]: same as opset 13 axis 2. axis 0 -> one row of 60. */
  n = optest_node("LogSoftmax");
  optest_attr_i(n, "axis", -1);
  EO_CHECK(run1(n, 11, &x, &y) == EO_OK);
  naive_softmax3(x3, dims, 2, 1, want);
  check_vec(y.data, want, 60, 2e-6);
  free(y.data);
  optest_node_free(n);
  n = optest_node("LogSoftmax");
  optest_attr_i(n, "axis", 0);
  EO_CHECK(run1(n, 9, &x, &y) == EO_OK);
  naive_softmax3(x3, ARR(1, 60, 1), 1, 1, want);
  check_vec(y.data, want, 60, 2e-6);
  free(y.data);
  optest_node_free(n);

  /* Bad axis; unsupported dtype. */
  n = optest_node("Softmax");
  optest_attr_i(n, "axis", 3);
  check_err(run1(n, 13, &x, &y), EO_ERR_INVALID, "axis 3 out of range");
  optest_node_free(n);
  n = optest_node("Softmax");
  optest_attr_i(n, "axis", -4);
  check_err(run1(n, 11, &x, &y), EO_ERR_INVALID, "axis -4 out of range");
  optest_node_free(n);
  n = optest_node("Softmax");
  eo_tview xi = optest_view(EO_INT64, 3, dims, x3);
  check_err(run1(n, 13, &xi, &y), EO_ERR_UNSUPPORTED, "int64");

  /* float16 and double. */
  uint16_t xh[3];
  double xdd[3] = {1, 2, 3};
  for (int i = 0; i < 3; i++) xh[i] = eo_f32_to_f16(xd[i]);
  x = optest_view(EO_FLOAT16, 1, ARR(3), xh);
  EO_CHECK(run1(n, 13, &x, &y) == EO_OK);
  EO_CHECK(y.dtype == EO_FLOAT16);
  EO_CHECK_NEAR(eo_f16_to_f32(((uint16_t *)y.data)[2]), exp(3) / s, 1e-3);
  free(y.data);
  x = optest_view(EO_DOUBLE, 1, ARR(3), xdd);
  EO_CHECK(run1(n, 13, &x, &y) == EO_OK);
  EO_CHECK_NEAR(((double *)y.data)[0], exp(1) / s, 1e-14);
  free(y.data);
  optest_node_free(n);
}

/* ---------------------------------------------------------------- BatchNormalization */

static void test_batchnorm(void) {
  /* X [2, 2, 3], per-channel params. */
  float xd[12] = {1, 2, 3, -1, 0, 1, /* n1 */ 4, 5, 6, 2, 2, 2};
  float sc[2] = {2, 0.5f}, bi[2] = {1, -1}, mu[2] = {3, 1}, va[2] = {4, 0.25f};
  eo_tview x = optest_f32(3, ARR(2, 2, 3), xd), s = optest_f32(1, ARR(2), sc), b = optest_f32(1, ARR(2), bi),
           m = optest_f32(1, ARR(2), mu), v = optest_f32(1, ARR(2), va), y;
  eo_node *n = optest_node("BatchNormalization");
  optest_attr_f(n, "epsilon", 0.0f);
  EO_CHECK(optest_run(n, 15, 5, (eo_tview *[]){&x, &s, &b, &m, &v}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  /* c0: (x-3)/2*2+1 = x-2; c1: (x-1)/0.5*0.5-1 = x-2. */
  float want[12];
  for (int i = 0; i < 12; i++) want[i] = xd[i] - 2;
  check_vec(y.data, want, 12, 1e-6);
  free(y.data);
  /* Same in opset 9 and opset 6 (is_test=1). */
  EO_CHECK(optest_run(n, 9, 5, (eo_tview *[]){&x, &s, &b, &m, &v}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  check_vec(y.data, want, 12, 1e-6);
  free(y.data);
  optest_attr_i(n, "is_test", 1);
  EO_CHECK(optest_run(n, 6, 5, (eo_tview *[]){&x, &s, &b, &m, &v}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  check_vec(y.data, want, 12, 1e-6);
  free(y.data);
  optest_node_free(n);

  /* Default epsilon 1e-5 with random data vs the formula. */
  n = optest_node("BatchNormalization");
  float xr[2 * 3 * 4], sr[3], br[3], mr[3], vr[3], wr[24];
  for (int i = 0; i < 24; i++) xr[i] = frand();
  for (int c = 0; c < 3; c++) {
    sr[c] = frand();
    br[c] = frand();
    mr[c] = frand();
    vr[c] = fabsf(frand()) + 0.1f;
  }
  for (int i = 0; i < 24; i++) {
    int c = (i / 4) % 3;
    wr[i] = (float)((xr[i] - mr[c]) / sqrt(vr[c] + 1e-5) * sr[c] + br[c]);
  }
  eo_tview xx = optest_f32(3, ARR(2, 3, 4), xr), ss = optest_f32(1, ARR(3), sr), bb = optest_f32(1, ARR(3), br),
           mm = optest_f32(1, ARR(3), mr), vv = optest_f32(1, ARR(3), vr);
  EO_CHECK(optest_run(n, 14, 5, (eo_tview *[]){&xx, &ss, &bb, &mm, &vv}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  check_vec(y.data, wr, 24, 1e-5);
  free(y.data);

  /* Training mode (opset 15): batch statistics, running mean/var with momentum. */
  optest_attr_i(n, "training_mode", 1);
  optest_attr_f(n, "momentum", 0.8f);
  eo_tview rm, rv;
  EO_CHECK(optest_run(n, 15, 5, (eo_tview *[]){&xx, &ss, &bb, &mm, &vv}, 3, (eo_tview *[]){&y, &rm, &rv}, false) ==
           EO_OK);
  EO_CHECK(rm.rank == 1 && rm.dims[0] == 3 && rv.dtype == EO_FLOAT);
  for (int c = 0; c < 3; c++) {
    double bm = 0, bv = 0;
    for (int nn = 0; nn < 2; nn++)
      for (int i = 0; i < 4; i++) bm += xr[(nn * 3 + c) * 4 + i];
    bm /= 8;
    for (int nn = 0; nn < 2; nn++)
      for (int i = 0; i < 4; i++) bv += (xr[(nn * 3 + c) * 4 + i] - bm) * (xr[(nn * 3 + c) * 4 + i] - bm);
    bv /= 8;
    EO_CHECK_NEAR(((float *)rm.data)[c], mr[c] * 0.8 + bm * 0.2, 1e-5);
    EO_CHECK_NEAR(((float *)rv.data)[c], vr[c] * 0.8 + bv * 0.2, 1e-5);
    for (int nn = 0; nn < 2; nn++)
      for (int i = 0; i < 4; i++) {
        int k = (nn * 3 + c) * 4 + i;
        EO_CHECK_NEAR(((float *)y.data)[k], (xr[k] - bm) / sqrt(bv + 1e-5) * sr[c] + br[c], 1e-4);
      }
  }
  free(y.data);
  free(rm.data);
  free(rv.data);
  optest_node_free(n);

  /* opset 7 spatial=0: parameters per (channel, position). X [1, 2, 2]. */
  float xs[4] = {1, 2, 3, 4}, s4[4] = {1, 2, 3, 4}, b4[4] = {0, 0, 1, 1}, m4[4] = {1, 1, 1, 1}, v4[4] = {1, 1, 4, 4};
  eo_tview x4 = optest_f32(3, ARR(1, 2, 2), xs), s4v = optest_f32(2, ARR(2, 2), s4), b4v = optest_f32(2, ARR(2, 2), b4),
           m4v = optest_f32(2, ARR(2, 2), m4), v4v = optest_f32(2, ARR(2, 2), v4);
  n = optest_node("BatchNormalization");
  optest_attr_i(n, "spatial", 0);
  optest_attr_f(n, "epsilon", 0.0f);
  EO_CHECK(optest_run(n, 7, 5, (eo_tview *[]){&x4, &s4v, &b4v, &m4v, &v4v}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  check_vec(y.data, (float[]){0, 2, 4, 7}, 4, 1e-6);
  free(y.data);
  /* spatial is gone in opset 9: [2, 2] parameters no longer fit C = 2. */
  check_err(optest_run(n, 9, 5, (eo_tview *[]){&x4, &s4v, &b4v, &m4v, &v4v}, 1, (eo_tview *[]){&y}, false),
            EO_ERR_SHAPE, "expected 2 values");
  optest_node_free(n);

  /* Mixed types (opset 15): float16 X with f32 parameters, and double. */
  uint16_t xh[12];
  for (int i = 0; i < 12; i++) xh[i] = eo_f32_to_f16(xd[i]);
  eo_tview xhv = optest_view(EO_FLOAT16, 3, ARR(2, 2, 3), xh);
  n = optest_node("BatchNormalization");
  optest_attr_f(n, "epsilon", 0.0f);
  EO_CHECK(optest_run(n, 15, 5, (eo_tview *[]){&xhv, &s, &b, &m, &v}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  EO_CHECK(y.dtype == EO_FLOAT16);
  for (int i = 0; i < 12; i++) EO_CHECK_NEAR(eo_f16_to_f32(((uint16_t *)y.data)[i]), want[i], 1e-3);
  free(y.data);
  double xdd[12];
  for (int i = 0; i < 12; i++) xdd[i] = xd[i];
  eo_tview xdv = optest_view(EO_DOUBLE, 3, ARR(2, 2, 3), xdd);
  EO_CHECK(optest_run(n, 15, 5, (eo_tview *[]){&xdv, &s, &b, &m, &v}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  EO_CHECK(y.dtype == EO_DOUBLE);
  for (int i = 0; i < 12; i++) EO_CHECK_NEAR(((double *)y.data)[i], want[i], 1e-12);
  free(y.data);

  /* Errors: missing input, wrong parameter length, bad training_mode, opset-9 saved outputs. */
  check_err(optest_run(n, 15, 5, (eo_tview *[]){&x, &s, NULL, &m, &v}, 1, (eo_tview *[]){&y}, false),
            EO_ERR_INVALID, "input B is required");
  eo_tview s3 = optest_f32(1, ARR(3), sr);
  check_err(optest_run(n, 15, 5, (eo_tview *[]){&x, &s3, &b, &m, &v}, 1, (eo_tview *[]){&y}, false),
            EO_ERR_SHAPE, "input scale has shape [3]");
  eo_tview o1, o2, o3, o4;
  check_err(optest_run(n, 9, 5, (eo_tview *[]){&x, &s, &b, &m, &v}, 5, (eo_tview *[]){&y, &o1, &o2, &o3, &o4}, false),
            EO_ERR_UNSUPPORTED, "saved_mean");
  check_err(optest_run(n, 15, 5, (eo_tview *[]){&x, &s, &b, &m, &v}, 3, (eo_tview *[]){&y, &o1, &o2}, false),
            EO_ERR_INVALID, "training_mode=1");
  optest_attr_i(n, "training_mode", 3);
  check_err(optest_run(n, 15, 5, (eo_tview *[]){&x, &s, &b, &m, &v}, 1, (eo_tview *[]){&y}, false), EO_ERR_INVALID,
            "training_mode = 3");
  optest_node_free(n);
}

/* ---------------------------------------------------------------- InstanceNormalization */

static void test_instancenorm(void) {
  /* ONNX test_instancenorm_example: x [1, 2, 1, 3]. */
  float xd[6] = {-1, 0, 1, 2, 3, 4}, sc[2] = {1, 1.5f}, bi[2] = {0, 1};
  eo_tview x = optest_f32(4, ARR(1, 2, 1, 3), xd), s = optest_f32(1, ARR(2), sc), b = optest_f32(1, ARR(2), bi), y;
  eo_node *n = optest_node("InstanceNormalization");
  EO_CHECK(optest_run(n, 6, 3, (eo_tview *[]){&x, &s, &b}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  double r = 1 / sqrt(2.0 / 3 + 1e-5);
  float want[6] = {(float)(-r), 0, (float)r, (float)(-1.5 * r + 1), 1, (float)(1.5 * r + 1)};
  check_vec(y.data, want, 6, 1e-5);
  free(y.data);

  /* double and float16 */
  double xdd[6];
  uint16_t xh[6];
  for (int i = 0; i < 6; i++) {
    xdd[i] = xd[i];
    xh[i] = eo_f32_to_f16(xd[i]);
  }
  eo_tview xdv = optest_view(EO_DOUBLE, 4, ARR(1, 2, 1, 3), xdd), xhv = optest_view(EO_FLOAT16, 4, ARR(1, 2, 1, 3), xh);
  EO_CHECK(optest_run(n, 6, 3, (eo_tview *[]){&xdv, &s, &b}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  for (int i = 0; i < 6; i++) EO_CHECK_NEAR(((double *)y.data)[i], want[i], 1e-6);
  free(y.data);
  EO_CHECK(optest_run(n, 6, 3, (eo_tview *[]){&xhv, &s, &b}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  for (int i = 0; i < 6; i++) EO_CHECK_NEAR(eo_f16_to_f32(((uint16_t *)y.data)[i]), want[i], 2e-3);
  free(y.data);
  optest_node_free(n);

  /* Random [2, 3, 2, 2] with epsilon, against the formula per plane. */
  float xr[24], sr[3] = {0.5f, -2, 1}, br[3] = {0.1f, 0.2f, 0.3f};
  for (int i = 0; i < 24; i++) xr[i] = frand();
  n = optest_node("InstanceNormalization");
  optest_attr_f(n, "epsilon", 0.01f);
  eo_tview xx = optest_f32(4, ARR(2, 3, 2, 2), xr), ss = optest_f32(1, ARR(3), sr), bb = optest_f32(1, ARR(3), br);
  EO_CHECK(optest_run(n, 6, 3, (eo_tview *[]){&xx, &ss, &bb}, 1, (eo_tview *[]){&y}, false) == EO_OK);
  for (int p = 0; p < 6; p++) {
    double mu = 0, var = 0;
    for (int i = 0; i < 4; i++) mu += xr[p * 4 + i] / 4.0;
    for (int i = 0; i < 4; i++) var += (xr[p * 4 + i] - mu) * (xr[p * 4 + i] - mu) / 4.0;
    for (int i = 0; i < 4; i++)
      EO_CHECK_NEAR(((float *)y.data)[p * 4 + i], (xr[p * 4 + i] - mu) / sqrt(var + 0.01f) * sr[p % 3] + br[p % 3],
                    1e-5);
  }
  free(y.data);

  /* Errors: scale length, rank. */
  check_err(optest_run(n, 6, 3, (eo_tview *[]){&xx, &s, &bb}, 1, (eo_tview *[]){&y}, false), EO_ERR_SHAPE,
            "input scale has shape [2], expected [3]");
  eo_tview x2 = optest_f32(2, ARR(2, 3), xr);
  check_err(optest_run(n, 6, 3, (eo_tview *[]){&x2, &ss, &bb}, 1, (eo_tview *[]){&y}, false), EO_ERR_SHAPE,
            "expected >= 3");
  optest_node_free(n);
}

int main(void) {
  test_registered();
  test_maxpool_2d_indices();
  test_maxpool_indices_batch();
  test_maxpool_ceil_dilation();
  test_pool_big_pads();
  test_pool_auto_pad();
  test_pool_vs_naive();
  test_pool_dtypes();
  test_pool_errors();
  test_global_pools();
  test_softmax();
  test_batchnorm();
  test_instancenorm();
  return eo_test_finish();
}
