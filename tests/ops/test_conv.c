/* Conv, ConvTranspose, Gemm, MatMul and the f32 GEMM kernel against naive direct loops written
 * here (independent of the im2col/GEMM kernels): random shapes with groups, depthwise, dilations,
 * strides, asymmetric pads, auto_pad, odd sizes, sizes across the GEMM's blocking, fused ReLU,
 * plus hand-computed ONNX examples and bad inputs that must fail with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_test.h"
#include "runtime/kernels/ref/ref_kernels.h"
#include "test.h"

/* Referenced directly so the static library links the op files (the registry's refs are weak). */
extern const eo_op_def eo_op_conv, eo_op_conv_transpose, eo_op_gemm, eo_op_matmul;

static uint32_t rng = 0x9e3779b9u;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}
static int64_t rint_in(int64_t lo, int64_t hi) { return lo + (int64_t)(rnd() % (uint32_t)(hi - lo + 1)); }
static float *rand_buf(int64_t n) {
  float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
  for (int64_t i = 0; i < n; i++) p[i] = (float)((double)rnd() / 4294967295.0 * 2.0 - 1.0);
  return p;
}
static int64_t prod(int n, const int64_t *d) {
  int64_t p = 1;
  for (int i = 0; i < n; i++) p *= d[i];
  return p;
}

/* Max of |got - want| / (1 + |want|) over n values. */
static double max_rel_err(const float *got, const double *want, int64_t n) {
  double e = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]) / (1.0 + fabs(want[i]));
    if (!(d <= e)) e = d; /* also catches NaN */
  }
  return e;
}

/* Decomposes a flat index into nd coordinates of dims. */
static void unflat(int64_t f, int nd, const int64_t *dims, int64_t *out) {
  for (int d = nd - 1; d >= 0; d--) {
    out[d] = f % dims[d];
    f /= dims[d];
  }
}

/* ---------------------------------------------------------------------------------------------
 * Conv */

typedef struct conv_case {
  int nsp;
  int64_t n, g, cg, mg;
  int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
  const char *auto_pad; /* NULL: attribute absent (NOTSET) */
  bool bias, kshape_attr, relu, consts;
} conv_case;

/* Output dims and begin pads from the ONNX formulas. */
static void conv_out_shape(const conv_case *t, int64_t *out, int64_t *pad0) {
  for (int i = 0; i < t->nsp; i++) {
    int64_t ek = (t->k[i] - 1) * t->d[i] + 1;
    if (t->auto_pad && strncmp(t->auto_pad, "SAME", 4) == 0) {
      out[i] = (t->in[i] + t->s[i] - 1) / t->s[i];
      int64_t total = (out[i] - 1) * t->s[i] + ek - t->in[i];
      if (total < 0) total = 0;
      pad0[i] = strcmp(t->auto_pad, "SAME_UPPER") == 0 ? total / 2 : (total + 1) / 2;
    } else if (t->auto_pad && strcmp(t->auto_pad, "VALID") == 0) {
      out[i] = (t->in[i] - ek) / t->s[i] + 1;
      pad0[i] = 0;
    } else {
      out[i] = (t->in[i] + t->pb[i] + t->pe[i] - ek) / t->s[i] + 1;
      pad0[i] = t->pb[i];
    }
  }
}

static void naive_conv(const conv_case *t, const float *x, const float *w, const float *b, const int64_t *out,
                       const int64_t *pad0, double *y) {
  int nsp = t->nsp;
  int64_t cin = t->g * t->cg, m = t->g * t->mg, pin = prod(nsp, t->in), pout = prod(nsp, out), kvol = prod(nsp, t->k);
  int64_t o[3], kk[3];
  for (int64_t n = 0; n < t->n; n++)
    for (int64_t mo = 0; mo < m; mo++) {
      int64_t g = mo / t->mg;
      for (int64_t op = 0; op < pout; op++) {
        unflat(op, nsp, out, o);
        double acc = b ? b[mo] : 0.0;
        for (int64_t c = 0; c < t->cg; c++)
          for (int64_t kp = 0; kp < kvol; kp++) {
            unflat(kp, nsp, t->k, kk);
            int64_t xi = 0;
            bool inside = true;
            for (int d = 0; d < nsp; d++) {
              int64_t i = o[d] * t->s[d] - pad0[d] + kk[d] * t->d[d];
              if (i < 0 || i >= t->in[d]) inside = false;
              xi = xi * t->in[d] + i;
            }
            if (!inside) continue;
            acc += (double)x[(n * cin + g * t->cg + c) * pin + xi] * w[(mo * t->cg + c) * kvol + kp];
          }
        if (t->relu && acc < 0) acc = 0;
        y[(n * m + mo) * pout + op] = acc;
      }
    }
}

static eo_node *conv_node(const conv_case *t, const char *op) {
  eo_node *nd = optest_node(op);
  int nsp = t->nsp;
  if (t->g != 1 || (rnd() & 1)) optest_attr_i(nd, "group", t->g);
  if (t->kshape_attr) optest_attr_ints(nd, "kernel_shape", nsp, t->k);
  bool unit_s = true, unit_d = true;
  for (int i = 0; i < nsp; i++) unit_s &= t->s[i] == 1, unit_d &= t->d[i] == 1;
  if (!unit_s || (rnd() & 1)) optest_attr_ints(nd, "strides", nsp, t->s);
  if (!unit_d || (rnd() & 1)) optest_attr_ints(nd, "dilations", nsp, t->d);
  if (t->auto_pad) optest_attr_s(nd, "auto_pad", t->auto_pad);
  if (!t->auto_pad || strcmp(t->auto_pad, "NOTSET") == 0) {
    int64_t pads[6];
    for (int i = 0; i < nsp; i++) pads[i] = t->pb[i], pads[nsp + i] = t->pe[i];
    optest_attr_ints(nd, "pads", 2 * nsp, pads);
  }
  if (t->relu) {
    nd->fused_act = EO_OP_RELU;
    nd->act_alpha = nd->act_beta = 0;
  }
  return nd;
}

static void run_conv_case(const conv_case *t, int id) {
  int nsp = t->nsp;
  int64_t out[3], pad0[3];
  conv_out_shape(t, out, pad0);
  int64_t cin = t->g * t->cg, m = t->g * t->mg;
  int64_t xd[5] = {t->n, cin}, wd[5] = {m, t->cg}, yd[5] = {t->n, m};
  for (int i = 0; i < nsp; i++) xd[2 + i] = t->in[i], wd[2 + i] = t->k[i], yd[2 + i] = out[i];
  int64_t nx = prod(nsp + 2, xd), nw = prod(nsp + 2, wd), ny = prod(nsp + 2, yd);
  float *x = rand_buf(nx), *w = rand_buf(nw), *b = t->bias ? rand_buf(m) : NULL;
  double *want = malloc((size_t)(ny ? ny : 1) * sizeof(double));
  naive_conv(t, x, w, b, out, pad0, want);
  eo_node *nd = conv_node(t, "Conv");
  eo_tview vx = optest_f32(nsp + 2, xd, x), vw = optest_f32(nsp + 2, wd, w), vb = optest_f32(1, &m, b), vy;
  eo_status st = optest_run(nd, 13, t->bias ? 3 : 2, (eo_tview *[]){&vx, &vw, &vb}, 1, (eo_tview *[]){&vy}, t->consts);
  EO_CHECK_MSG(st == EO_OK, "conv case %d: %s", id, eo_last_error());
  if (st == EO_OK) {
    bool shape_ok = vy.rank == nsp + 2 && vy.dtype == EO_FLOAT;
    for (int i = 0; shape_ok && i < nsp + 2; i++) shape_ok = vy.dims[i] == yd[i];
    EO_CHECK_MSG(shape_ok, "conv case %d: output shape", id);
    if (shape_ok) {
      double e = max_rel_err(vy.data, want, ny);
      EO_CHECK_MSG(e < 1e-4, "conv case %d (nsp %d g %lld cg %lld mg %lld auto_pad %s): rel err %g", id, nsp,
                   (long long)t->g, (long long)t->cg, (long long)t->mg, t->auto_pad ? t->auto_pad : "-", e);
    }
    free(vy.data);
  }
  optest_node_free(nd);
  free(x);
  free(w);
  free(b);
  free(want);
}

static void random_conv_case(conv_case *t, bool depthwise) {
  memset(t, 0, sizeof *t);
  t->nsp = (int)rint_in(1, 3);
  t->n = rint_in(1, 2);
  t->g = depthwise ? rint_in(1, 6) : rint_in(1, 3);
  t->cg = depthwise ? 1 : rint_in(1, 4);
  t->mg = depthwise ? 1 : rint_in(1, 5);
  static const char *aps[] = {NULL, NULL, NULL, "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
  t->auto_pad = aps[rnd() % 7];
  for (int i = 0; i < t->nsp; i++) {
    int64_t kmax = t->nsp == 3 ? 3 : 5;
    t->k[i] = rint_in(1, kmax);
    t->s[i] = rint_in(1, 3);
    t->d[i] = rint_in(1, 2);
    t->pb[i] = rint_in(0, 2);
    t->pe[i] = rint_in(0, 2);
    int64_t ek = (t->k[i] - 1) * t->d[i] + 1;
    int64_t imax = t->nsp == 3 ? 7 : (t->nsp == 2 ? 13 : 29);
    t->in[i] = rint_in(ek, ek + imax); /* VALID needs in >= ek */
  }
  t->bias = rnd() & 1;
  t->kshape_attr = rnd() & 1;
  t->relu = (rnd() % 4) == 0;
  t->consts = rnd() & 1;
}

static void test_conv_random(void) {
  conv_case t;
  for (int i = 0; i < 150; i++) {
    random_conv_case(&t, i % 3 == 0);
    run_conv_case(&t, i);
  }
  /* Sizes across the GEMM's blocking (K = 360 > KC, M = 70 > MC, N = 600 > NC), 2-D and 1x1. */
  t = (conv_case){.nsp = 2, .n = 1, .g = 1, .cg = 40, .mg = 70, .in = {20, 30}, .k = {3, 3}, .s = {1, 1},
                  .d = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true};
  run_conv_case(&t, 1000);
  t = (conv_case){.nsp = 2, .n = 2, .g = 2, .cg = 300, .mg = 9, .in = {23, 29}, .k = {1, 1}, .s = {1, 1},
                  .d = {1, 1}, .relu = true};
  run_conv_case(&t, 1001);
  /* 1x1 with stride (not the pointwise shortcut) and depthwise with a channel multiplier. */
  t = (conv_case){.nsp = 2, .n = 1, .g = 1, .cg = 5, .mg = 7, .in = {9, 10}, .k = {1, 1}, .s = {2, 3},
                  .d = {1, 1}};
  run_conv_case(&t, 1002);
  t = (conv_case){.nsp = 2, .n = 1, .g = 4, .cg = 1, .mg = 3, .in = {11, 8}, .k = {3, 3}, .s = {2, 1},
                  .d = {1, 2}, .pb = {1, 2}, .pe = {0, 1}, .bias = true};
  run_conv_case(&t, 1003);
  /* Depthwise 3x3 stride 1 long rows (the vectorized axpy path with a tail). */
  t = (conv_case){.nsp = 2, .n = 1, .g = 8, .cg = 1, .mg = 1, .in = {13, 45}, .k = {3, 3}, .s = {1, 1},
                  .d = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true, .relu = true};
  run_conv_case(&t, 1004);
}

/* ONNX's test_basic_conv_with_padding / _without_padding, computed by hand. */
static void test_conv_onnx_example(void) {
  float x[25], w[9];
  for (int i = 0; i < 25; i++) x[i] = (float)i;
  for (int i = 0; i < 9; i++) w[i] = 1;
  const float want_pad[25] = {12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81,
                              93, 144, 153, 162, 111, 72, 111, 117, 123, 84};
  const float want_nopad[9] = {54, 63, 72, 99, 108, 117, 144, 153, 162};
  for (int padded = 0; padded < 2; padded++) {
    eo_node *nd = optest_node("Conv");
    optest_attr_ints(nd, "kernel_shape", 2, (int64_t[]){3, 3});
    optest_attr_ints(nd, "pads", 4, padded ? (int64_t[]){1, 1, 1, 1} : (int64_t[]){0, 0, 0, 0});
    eo_tview vx = optest_f32(4, ((int64_t[]){1, 1, 5, 5}), x), vw = optest_f32(4, ((int64_t[]){1, 1, 3, 3}), w), vy;
    eo_status st = optest_run(nd, 11, 2, (eo_tview *[]){&vx, &vw}, 1, (eo_tview *[]){&vy}, false);
    EO_CHECK(st == EO_OK);
    if (st == EO_OK) {
      int64_t s = padded ? 5 : 3;
      EO_CHECK(vy.rank == 4 && vy.dims[2] == s && vy.dims[3] == s);
      const float *want = padded ? want_pad : want_nopad;
      for (int64_t i = 0; i < s * s; i++) EO_CHECK_NEAR(((float *)vy.data)[i], want[i], 1e-4);
      free(vy.data);
    }
    optest_node_free(nd);
  }
  /* test_conv_with_strides_and_asymmetric_padding: 7x5 input, pads [1,0,1,0], strides 2. */
  float x2[35];
  for (int i = 0; i < 35; i++) x2[i] = (float)i;
  const float want2[8] = {21, 33, 99, 117, 189, 207, 171, 183};
  eo_node *nd = optest_node("Conv");
  optest_attr_ints(nd, "kernel_shape", 2, (int64_t[]){3, 3});
  optest_attr_ints(nd, "pads", 4, (int64_t[]){1, 0, 1, 0});
  optest_attr_ints(nd, "strides", 2, (int64_t[]){2, 2});
  eo_tview vx = optest_f32(4, ((int64_t[]){1, 1, 7, 5}), x2), vw = optest_f32(4, ((int64_t[]){1, 1, 3, 3}), w), vy;
  eo_status st = optest_run(nd, 11, 2, (eo_tview *[]){&vx, &vw}, 1, (eo_tview *[]){&vy}, true);
  EO_CHECK(st == EO_OK);
  if (st == EO_OK) {
    EO_CHECK(vy.dims[2] == 4 && vy.dims[3] == 2);
    for (int i = 0; i < 8; i++) EO_CHECK_NEAR(((float *)vy.data)[i], want2[i], 1e-4);
    free(vy.data);
  }
  optest_node_free(nd);
}

/* Runs a node expected to fail; checks the status and that the message names the node. */
static void expect_fail(eo_node *nd, int64_t opset, int n_in, eo_tview **in, eo_status want, const char *needle) {
  eo_tview y;
  memset(&y, 0, sizeof y);
  eo_status st = optest_run(nd, opset, n_in, in, 1, (eo_tview *[]){&y}, false);
  EO_CHECK_MSG(st == want, "%s: status %d, expected %d (%s)", nd->op_type, (int)st, (int)want, eo_last_error());
  EO_CHECK_MSG(strstr(eo_last_error(), "test_node") && strstr(eo_last_error(), needle), "message '%s' lacks '%s'",
               eo_last_error(), needle);
  if (st == EO_OK) free(y.data);
  optest_node_free(nd);
}

static void test_conv_errors(void) {
  float buf[256] = {0};
  int32_t ibuf[64] = {0};
  eo_tview x = optest_f32(4, ((int64_t[]){1, 4, 5, 5}), buf);
  eo_tview w_bad = optest_f32(4, ((int64_t[]){2, 3, 3, 3}), buf);
  eo_tview w = optest_f32(4, ((int64_t[]){2, 2, 3, 3}), buf);
  eo_tview w_big = optest_f32(4, ((int64_t[]){2, 4, 7, 3}), buf);
  eo_tview b_bad = optest_f32(1, ((int64_t[]){3}), buf);
  eo_tview xi = optest_view(EO_INT32, 4, ((int64_t[]){1, 4, 5, 5}), ibuf);
  eo_tview x2 = optest_f32(2, ((int64_t[]){4, 5}), buf);

  expect_fail(optest_node("Conv"), 13, 2, (eo_tview *[]){&x, &w_bad}, EO_ERR_SHAPE, "input channels");
  eo_node *nd = optest_node("Conv");
  optest_attr_i(nd, "group", 2);
  expect_fail(nd, 13, 3, (eo_tview *[]){&x, &w, &b_bad}, EO_ERR_SHAPE, "B has shape [3]");
  nd = optest_node("Conv");
  optest_attr_i(nd, "group", 3);
  expect_fail(nd, 13, 2, (eo_tview *[]){&x, &w}, EO_ERR_SHAPE, "group 3");
  nd = optest_node("Conv");
  optest_attr_i(nd, "group", 2);
  optest_attr_s(nd, "auto_pad", "SAME");
  expect_fail(nd, 13, 2, (eo_tview *[]){&x, &w}, EO_ERR_INVALID, "auto_pad 'SAME'");
  nd = optest_node("Conv");
  optest_attr_i(nd, "group", 2);
  optest_attr_ints(nd, "kernel_shape", 2, (int64_t[]){3, 2});
  expect_fail(nd, 13, 2, (eo_tview *[]){&x, &w}, EO_ERR_SHAPE, "kernel_shape[1] = 2");
  nd = optest_node("Conv");
  optest_attr_ints(nd, "strides", 2, (int64_t[]){1, 0});
  expect_fail(nd, 13, 2, (eo_tview *[]){&x, &w_big}, EO_ERR_INVALID, "strides[1] = 0");
  nd = optest_node("Conv");
  optest_attr_ints(nd, "pads", 2, (int64_t[]){1, 1});
  expect_fail(nd, 13, 2, (eo_tview *[]){&x, &w_big}, EO_ERR_INVALID, "pads has 2 values, expected 4");
  expect_fail(optest_node("Conv"), 13, 2, (eo_tview *[]){&x, &w_big}, EO_ERR_SHAPE, "smaller than the dilated kernel");
  expect_fail(optest_node("Conv"), 13, 2, (eo_tview *[]){&xi, &w_big}, EO_ERR_UNSUPPORTED, "expected float32");
  expect_fail(optest_node("Conv"), 13, 2, (eo_tview *[]){&x2, &w_big}, EO_ERR_UNSUPPORTED, "expected rank 3..5");
  nd = optest_node("Conv");
  nd->fused_act = EO_OP_SOFTMAX;
  expect_fail(nd, 13, 2, (eo_tview *[]){&x, &w_bad}, EO_ERR_SHAPE, "input channels");
  nd = optest_node("Conv");
  optest_attr_i(nd, "group", 2);
  nd->fused_act = EO_OP_SOFTMAX;
  expect_fail(nd, 13, 2, (eo_tview *[]){&x, &w}, EO_ERR_UNSUPPORTED, "Softmax");
}

static void test_conv_flops(void) {
  float buf[1] = {0};
  eo_tview x = optest_f32(4, ((int64_t[]){2, 6, 8, 8}), NULL), w = optest_f32(4, ((int64_t[]){4, 3, 3, 3}), NULL);
  eo_tview y = optest_f32(4, ((int64_t[]){2, 4, 8, 8}), buf);
  eo_node *nd = optest_node("Conv");
  optest_attr_i(nd, "group", 2);
  eo_op_ctx c;
  memset(&c, 0, sizeof c);
  c.node = nd;
  c.n_in = 2;
  c.n_out = 1;
  c.in = (eo_tview *[]){&x, &w};
  c.out = (eo_tview *[]){&y};
  /* 2 * (2*4*8*8 outputs) * (3 channels * 9 taps) */
  EO_CHECK(eo_op_conv.flops(&c) == 2 * 512 * 27);
  eo_tview a = optest_f32(3, ((int64_t[]){5, 3, 7}), NULL), b = optest_f32(2, ((int64_t[]){7, 2}), NULL);
  eo_tview mm = optest_f32(3, ((int64_t[]){5, 3, 2}), NULL);
  c.in = (eo_tview *[]){&a, &b};
  c.out = (eo_tview *[]){&mm};
  EO_CHECK(eo_op_matmul.flops(&c) == 2 * 30 * 7);
  optest_node_free(nd);
}

/* ---------------------------------------------------------------------------------------------
 * ConvTranspose */

typedef struct convt_case {
  int nsp;
  int64_t n, g, cg, mg;
  int64_t in[3], k[3], s[3], d[3], pb[3], pe[3], opad[3], os[3];
  const char *auto_pad;
  bool bias, use_os, use_opad, consts;
} convt_case;

static void convt_out_shape(const convt_case *t, int64_t *out, int64_t *pad0) {
  for (int i = 0; i < t->nsp; i++) {
    int64_t opad = t->use_opad ? t->opad[i] : 0;
    int64_t natural = t->s[i] * (t->in[i] - 1) + opad + (t->k[i] - 1) * t->d[i] + 1;
    bool same = t->auto_pad && strncmp(t->auto_pad, "SAME", 4) == 0;
    if (t->use_os || same) {
      out[i] = t->use_os ? t->os[i] : t->in[i] * t->s[i];
      int64_t total = natural - out[i];
      int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2); /* floor */
      pad0[i] = t->auto_pad && strcmp(t->auto_pad, "SAME_UPPER") == 0 ? half : total - half;
    } else if (t->auto_pad && strcmp(t->auto_pad, "VALID") == 0) {
      out[i] = natural;
      pad0[i] = 0;
    } else {
      out[i] = natural - t->pb[i] - t->pe[i];
      pad0[i] = t->pb[i];
    }
  }
}

/* Scatter form: every input element adds x * w to y[i*s - pad + k*d] (the definition). */
static void naive_convt(const convt_case *t, const float *x, const float *w, const float *b, const int64_t *out,
                        const int64_t *pad0, double *y) {
  int nsp = t->nsp;
  int64_t cin = t->g * t->cg, m = t->g * t->mg, pin = prod(nsp, t->in), pout = prod(nsp, out), kvol = prod(nsp, t->k);
  int64_t ii[3], kk[3];
  for (int64_t n = 0; n < t->n; n++)
    for (int64_t mo = 0; mo < m; mo++)
      for (int64_t op = 0; op < pout; op++) y[(n * m + mo) * pout + op] = b ? b[mo] : 0.0;
  for (int64_t n = 0; n < t->n; n++)
    for (int64_t ci = 0; ci < cin; ci++) {
      int64_t g = ci / t->cg;
      for (int64_t ip = 0; ip < pin; ip++) {
        unflat(ip, nsp, t->in, ii);
        double xv = x[(n * cin + ci) * pin + ip];
        for (int64_t mm = 0; mm < t->mg; mm++)
          for (int64_t kp = 0; kp < kvol; kp++) {
            unflat(kp, nsp, t->k, kk);
            int64_t oi = 0;
            bool inside = true;
            for (int d = 0; d < nsp; d++) {
              int64_t o = ii[d] * t->s[d] - pad0[d] + kk[d] * t->d[d];
              if (o < 0 || o >= out[d]) inside = false;
              oi = oi * out[d] + o;
            }
            if (!inside) continue;
            y[(n * m + g * t->mg + mm) * pout + oi] += xv * w[(ci * t->mg + mm) * kvol + kp];
          }
      }
    }
}

static void run_convt_case(const convt_case *t, int id) {
  int nsp = t->nsp;
  int64_t out[3], pad0[3];
  convt_out_shape(t, out, pad0);
  int64_t cin = t->g * t->cg, m = t->g * t->mg;
  int64_t xd[5] = {t->n, cin}, wd[5] = {cin, t->mg}, yd[5] = {t->n, m};
  for (int i = 0; i < nsp; i++) xd[2 + i] = t->in[i], wd[2 + i] = t->k[i], yd[2 + i] = out[i];
  int64_t nx = prod(nsp + 2, xd), nw = prod(nsp + 2, wd), ny = prod(nsp + 2, yd);
  float *x = rand_buf(nx), *w = rand_buf(nw), *b = t->bias ? rand_buf(m) : NULL;
  double *want = malloc((size_t)ny * sizeof(double));
  naive_convt(t, x, w, b, out, pad0, want);
  eo_node *nd = optest_node("ConvTranspose");
  if (t->g != 1) optest_attr_i(nd, "group", t->g);
  optest_attr_ints(nd, "strides", nsp, t->s);
  optest_attr_ints(nd, "dilations", nsp, t->d);
  if (t->use_opad) optest_attr_ints(nd, "output_padding", nsp, t->opad);
  if (t->use_os) optest_attr_ints(nd, "output_shape", nsp, t->os);
  if (t->auto_pad) {
    optest_attr_s(nd, "auto_pad", t->auto_pad);
  } else if (!t->use_os) {
    int64_t pads[6];
    for (int i = 0; i < nsp; i++) pads[i] = t->pb[i], pads[nsp + i] = t->pe[i];
    optest_attr_ints(nd, "pads", 2 * nsp, pads);
  }
  eo_tview vx = optest_f32(nsp + 2, xd, x), vw = optest_f32(nsp + 2, wd, w), vb = optest_f32(1, &m, b), vy;
  eo_status st = optest_run(nd, 13, t->bias ? 3 : 2, (eo_tview *[]){&vx, &vw, &vb}, 1, (eo_tview *[]){&vy}, t->consts);
  EO_CHECK_MSG(st == EO_OK, "convt case %d: %s", id, eo_last_error());
  if (st == EO_OK) {
    bool shape_ok = vy.rank == nsp + 2;
    for (int i = 0; shape_ok && i < nsp + 2; i++) shape_ok = vy.dims[i] == yd[i];
    EO_CHECK_MSG(shape_ok, "convt case %d: output shape", id);
    if (shape_ok) {
      double e = max_rel_err(vy.data, want, ny);
      EO_CHECK_MSG(e < 1e-4, "convt case %d: rel err %g", id, e);
    }
    free(vy.data);
  }
  optest_node_free(nd);
  free(x);
  free(w);
  free(b);
  free(want);
}

static void test_convt_random(void) {
  static const char *aps[] = {NULL, NULL, NULL, "VALID", "SAME_UPPER", "SAME_LOWER"};
  for (int id = 0; id < 120; id++) {
    convt_case t;
    memset(&t, 0, sizeof t);
    t.nsp = (int)rint_in(1, 3);
    t.n = rint_in(1, 2);
    t.g = rint_in(1, 3);
    t.cg = rint_in(1, 4);
    t.mg = rint_in(1, 4);
    t.auto_pad = aps[rnd() % 6];
    t.use_opad = rnd() & 1;
    t.use_os = !t.auto_pad && (rnd() % 3) == 0;
    for (int i = 0; i < t.nsp; i++) {
      t.k[i] = rint_in(1, t.nsp == 3 ? 3 : 4);
      t.s[i] = rint_in(1, 3);
      t.d[i] = rint_in(1, 2);
      t.in[i] = rint_in(1, t.nsp == 3 ? 4 : 9);
      t.opad[i] = rint_in(0, t.s[i] - 1);
      int64_t natural = t.s[i] * (t.in[i] - 1) + (t.use_opad ? t.opad[i] : 0) + (t.k[i] - 1) * t.d[i] + 1;
      t.pb[i] = rint_in(0, 2);
      t.pe[i] = rint_in(0, 2);
      if (t.pb[i] + t.pe[i] >= natural) t.pb[i] = t.pe[i] = 0;
      t.os[i] = natural + rint_in(-2, 2); /* smaller (cropped) or larger (bias-only tail) */
      if (t.os[i] < 1) t.os[i] = 1;
    }
    t.bias = rnd() & 1;
    t.consts = rnd() & 1;
    run_convt_case(&t, id);
  }
  /* Bigger: GEMM rows Mg*kvol = 9*16 = 144, K = Cg = 300 > KC, N = P_in = 600 > NC. */
  convt_case big = {.nsp = 2, .n = 1, .g = 1, .cg = 300, .mg = 9, .in = {20, 30}, .k = {4, 4}, .s = {2, 2},
                    .d = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true};
  run_convt_case(&big, 1000);
}

/* ONNX's test_convtranspose (3x3 input 0..8, two all-ones 3x3 filters), by hand. */
static void test_convt_onnx_example(void) {
  float x[9], w[18];
  for (int i = 0; i < 9; i++) x[i] = (float)i;
  for (int i = 0; i < 18; i++) w[i] = 1;
  const float want[25] = {0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8};
  eo_node *nd = optest_node("ConvTranspose");
  eo_tview vx = optest_f32(4, ((int64_t[]){1, 1, 3, 3}), x), vw = optest_f32(4, ((int64_t[]){1, 2, 3, 3}), w), vy;
  eo_status st = optest_run(nd, 11, 2, (eo_tview *[]){&vx, &vw}, 1, (eo_tview *[]){&vy}, false);
  EO_CHECK(st == EO_OK);
  if (st == EO_OK) {
    EO_CHECK(vy.rank == 4 && vy.dims[1] == 2 && vy.dims[2] == 5 && vy.dims[3] == 5);
    for (int i = 0; i < 50; i++) EO_CHECK_NEAR(((float *)vy.data)[i], want[i % 25], 1e-5);
    free(vy.data);
  }
  optest_node_free(nd);

  float buf[64] = {0};
  eo_tview w_bad = optest_f32(4, ((int64_t[]){2, 2, 3, 3}), buf);
  expect_fail(optest_node("ConvTranspose"), 13, 2, (eo_tview *[]){&vx, &w_bad}, EO_ERR_SHAPE, "expects [C=1");
  nd = optest_node("ConvTranspose");
  optest_attr_ints(nd, "output_shape", 3, (int64_t[]){5, 5, 5});
  expect_fail(nd, 13, 2, (eo_tview *[]){&vx, &vw}, EO_ERR_INVALID, "output_shape has 3 values");
  nd = optest_node("ConvTranspose");
  optest_attr_ints(nd, "pads", 4, (int64_t[]){3, 3, 2, 2});
  expect_fail(nd, 13, 2, (eo_tview *[]){&vx, &vw}, EO_ERR_SHAPE, "output size 0");
  /* output_shape given as the full [N, C, H, W] shape is accepted. */
  nd = optest_node("ConvTranspose");
  optest_attr_ints(nd, "output_shape", 4, (int64_t[]){1, 2, 6, 4});
  st = optest_run(nd, 13, 2, (eo_tview *[]){&vx, &vw}, 1, (eo_tview *[]){&vy}, false);
  EO_CHECK(st == EO_OK && vy.dims[2] == 6 && vy.dims[3] == 4);
  if (st == EO_OK) {
    /* natural 5x5: rows get total -1 -> pads (0, -1): the last row holds only the (zero) bias;
     * columns total 1 -> pads (1, 0): the first column is cropped. */
    const float *y = vy.data;
    EO_CHECK_NEAR(y[0 * 4 + 0], 1, 1e-6);
    EO_CHECK_NEAR(y[1 * 4 + 1], 15, 1e-6);
    EO_CHECK_NEAR(y[5 * 4 + 2], 0, 1e-6);
    free(vy.data);
  }
  optest_node_free(nd);
}

/* ---------------------------------------------------------------------------------------------
 * GEMM kernel, Gemm and MatMul */

static void test_gemm_kernel(void) {
  int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 16, 256}, {5, 17, 257}, {65, 513, 300}, {64, 512, 256},
                         {130, 40, 9}, {1, 1000, 513}, {7, 3, 600}};
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    int64_t m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
    for (int tr = 0; tr < 4; tr++) {
      bool ta = tr & 1, tb = tr & 2;
      float *a = rand_buf(m * k), *b = rand_buf(k * n), *c = rand_buf(m * n);
      float *ws = malloc(eo_f32_gemm_workspace__ref(m, n, k));
      double *want = malloc((size_t)(m * n) * sizeof(double));
      float alpha = 0.75f;
      for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
          double acc = 0;
          for (int64_t p = 0; p < k; p++)
            acc += (double)(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
          want[i * n + j] = c[i * n + j] + alpha * acc;
        }
      eo_f32_gemm__ref(m, n, k, alpha, a, ta ? 1 : k, ta ? m : 1, b, tb ? 1 : n, tb ? k : 1, c, n, ws);
      double e = max_rel_err(c, want, m * n);
      EO_CHECK_MSG(e < 1e-4, "gemm kernel %lldx%lldx%lld trans %d: rel err %g", (long long)m, (long long)n,
                   (long long)k, tr, e);
      free(a), free(b), free(c), free(ws), free(want);
    }
  }
  /* Leading dimension larger than n: columns beyond n are untouched. */
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1};
  float ws[256];
  EO_CHECK(eo_f32_gemm_workspace__ref(2, 2, 3) <= sizeof ws);
  float c2[8] = {0, 0, 0, -7, 0, 0, 0, -7};
  /* A 2x3, B 3x2 -> C 2x2 in a 2x4 buffer */
  eo_f32_gemm__ref(2, 2, 3, 1.0f, a, 3, 1, b, 2, 1, c2, 4, ws);
  EO_CHECK_NEAR(c2[0], 1 * 1 + 2 * 0 + 3 * 1, 0);
  EO_CHECK_NEAR(c2[1], 1 * 0 + 2 * 1 + 3 * 1, 0);
  EO_CHECK_NEAR(c2[4], 4 * 1 + 5 * 0 + 6 * 1, 0);
  EO_CHECK_NEAR(c2[5], 4 * 0 + 5 * 1 + 6 * 1, 0);
  EO_CHECK(c2[2] == 0 && c2[3] == -7 && c2[6] == 0 && c2[7] == -7);
}

static void run_gemm(int64_t m, int64_t n, int64_t k, bool ta, bool tb, float alpha, float beta, int c_rank,
                     const int64_t *c_dims, bool relu, int64_t opset) {
  float *a = rand_buf(m * k), *b = rand_buf(k * n);
  int64_t nc = c_rank >= 0 ? prod(c_rank, c_dims) : 0;
  float *cc = c_rank >= 0 ? rand_buf(nc) : NULL;
  double *want = malloc((size_t)(m * n > 0 ? m * n : 1) * sizeof(double));
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double acc = 0;
      for (int64_t p = 0; p < k; p++)
        acc += (double)(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      double cv = 0;
      if (cc) {
        int64_t ci = c_rank == 2 ? (c_dims[0] == 1 ? 0 : i) * c_dims[1] + (c_dims[1] == 1 ? 0 : j)
                                 : (c_rank == 1 ? (c_dims[0] == 1 ? 0 : j) : 0);
        cv = cc[ci];
      }
      double v = alpha * acc + beta * cv;
      want[i * n + j] = relu && v < 0 ? 0 : v;
    }
  eo_node *nd = optest_node("Gemm");
  if (ta) optest_attr_i(nd, "transA", 1);
  if (tb) optest_attr_i(nd, "transB", 1);
  if (alpha != 1.0f) optest_attr_f(nd, "alpha", alpha);
  if (beta != 1.0f) optest_attr_f(nd, "beta", beta);
  if (relu) nd->fused_act = EO_OP_RELU;
  eo_tview va = optest_f32(2, ta ? ((int64_t[]){k, m}) : ((int64_t[]){m, k}), a);
  eo_tview vb = optest_f32(2, tb ? ((int64_t[]){n, k}) : ((int64_t[]){k, n}), b);
  eo_tview vc = optest_f32(c_rank >= 0 ? c_rank : 0, c_dims, cc), vy;
  eo_status st = optest_run(nd, opset, cc ? 3 : 2, (eo_tview *[]){&va, &vb, &vc}, 1, (eo_tview *[]){&vy}, false);
  EO_CHECK_MSG(st == EO_OK, "gemm %lldx%lldx%lld: %s", (long long)m, (long long)n, (long long)k, eo_last_error());
  if (st == EO_OK) {
    EO_CHECK(vy.rank == 2 && vy.dims[0] == m && vy.dims[1] == n);
    double e = max_rel_err(vy.data, want, m * n);
    EO_CHECK_MSG(e < 1e-4, "gemm %lldx%lldx%lld ta %d tb %d c_rank %d: rel err %g", (long long)m, (long long)n,
                 (long long)k, ta, tb, c_rank, e);
    free(vy.data);
  }
  optest_node_free(nd);
  free(a), free(b), free(cc), free(want);
}

static void test_gemm_op(void) {
  run_gemm(3, 5, 4, true, true, 0.25f, 0.35f, 2, (int64_t[]){1, 5}, false, 13); /* test_gemm_all_attributes */
  run_gemm(3, 4, 6, false, false, 1, 1, 2, (int64_t[]){3, 4}, false, 13);      /* matrix bias */
  run_gemm(2, 3, 10, false, false, 1, 1, -1, NULL, false, 13);                  /* no bias */
  run_gemm(2, 4, 3, false, false, 1, 1, 0, NULL, false, 13);                    /* scalar bias */
  run_gemm(3, 3, 7, false, false, 1, 1, 1, (int64_t[]){1}, false, 11);         /* single-element vector */
  run_gemm(2, 4, 7, false, false, 1, 0.5f, 1, (int64_t[]){4}, false, 9);       /* vector bias */
  run_gemm(5, 4, 3, true, false, 1, 2, 2, (int64_t[]){5, 1}, false, 7);        /* column bias */
  run_gemm(70, 600, 300, false, true, 1.5f, -1, 1, (int64_t[]){600}, true, 13); /* FC layer size + ReLU */
  run_gemm(1, 1000, 513, false, true, 1, 1, 1, (int64_t[]){1000}, false, 13);

  float buf[64] = {0};
  eo_tview a = optest_f32(2, ((int64_t[]){3, 4}), buf), b = optest_f32(2, ((int64_t[]){5, 6}), buf);
  eo_tview b_ok = optest_f32(2, ((int64_t[]){4, 6}), buf), c_bad = optest_f32(2, ((int64_t[]){2, 6}), buf);
  eo_tview a3 = optest_f32(3, ((int64_t[]){1, 3, 4}), buf);
  expect_fail(optest_node("Gemm"), 13, 2, (eo_tview *[]){&a, &b}, EO_ERR_SHAPE, "mismatched inner dims");
  expect_fail(optest_node("Gemm"), 13, 3, (eo_tview *[]){&a, &b_ok, &c_bad}, EO_ERR_SHAPE, "not broadcastable to [3,6]");
  expect_fail(optest_node("Gemm"), 9, 2, (eo_tview *[]){&a, &b_ok}, EO_ERR_INVALID, "C is required before opset 11");
  expect_fail(optest_node("Gemm"), 13, 2, (eo_tview *[]){&a3, &b_ok}, EO_ERR_SHAPE, "rank 2");
  eo_node *nd = optest_node("Gemm");
  optest_attr_i(nd, "transA", 2);
  expect_fail(nd, 13, 2, (eo_tview *[]){&a, &b_ok}, EO_ERR_INVALID, "transA = 2");
}

static void run_matmul(int ra, const int64_t *ad, int rb, const int64_t *bd, int ry, const int64_t *yd) {
  int64_t na = prod(ra, ad), nb = prod(rb, bd), ny = prod(ry, yd);
  float *a = rand_buf(na), *b = rand_buf(nb);
  double *want = malloc((size_t)(ny ? ny : 1) * sizeof(double));
  /* Independent: numpy rules spelled out per output element via padded 8-D indices. */
  int64_t m = ra == 1 ? 1 : ad[ra - 2], k = ad[ra - 1], n = rb == 1 ? 1 : bd[rb - 1];
  int nbatch_y = ry - (ra > 1) - (rb > 1);
  int64_t yb[EO_MAX_RANK], idx[EO_MAX_RANK];
  for (int i = 0; i < nbatch_y; i++) yb[i] = yd[i];
  int64_t nbt = prod(nbatch_y, yb);
  int bra = ra > 2 ? ra - 2 : 0, brb = rb > 2 ? rb - 2 : 0;
  for (int64_t t = 0; t < nbt; t++) {
    unflat(t, nbatch_y, yb, idx);
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < bra; i++) {
      int64_t di = ad[i], ii = idx[nbatch_y - bra + i];
      oa = oa * di + (di == 1 ? 0 : ii);
    }
    for (int i = 0; i < brb; i++) {
      int64_t di = bd[i], ii = idx[nbatch_y - brb + i];
      ob = ob * di + (di == 1 ? 0 : ii);
    }
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double acc = 0;
        for (int64_t p = 0; p < k; p++) acc += (double)a[(oa * m + i) * k + p] * b[(ob * k + p) * n + j];
        want[(t * m + i) * n + j] = acc;
      }
  }
  eo_node *nd = optest_node("MatMul");
  eo_tview va = optest_f32(ra, ad, a), vb = optest_f32(rb, bd, b), vy;
  eo_status st = optest_run(nd, 13, 2, (eo_tview *[]){&va, &vb}, 1, (eo_tview *[]){&vy}, (rnd() & 1) != 0);
  EO_CHECK_MSG(st == EO_OK, "matmul: %s", eo_last_error());
  if (st == EO_OK) {
    bool shape_ok = vy.rank == ry;
    for (int i = 0; shape_ok && i < ry; i++) shape_ok = vy.dims[i] == yd[i];
    char s1[128];
    EO_CHECK_MSG(shape_ok, "matmul output shape %s", eo_shape_str(vy.rank, vy.dims, s1, sizeof s1));
    if (shape_ok) EO_CHECK_MSG(max_rel_err(vy.data, want, ny) < 1e-4, "matmul rank %d x %d values", ra, rb);
    free(vy.data);
  }
  optest_node_free(nd);
  free(a), free(b), free(want);
}

static void test_matmul_op(void) {
  run_matmul(2, (int64_t[]){3, 4}, 2, (int64_t[]){4, 3}, 2, (int64_t[]){3, 3});
  run_matmul(3, (int64_t[]){2, 3, 4}, 3, (int64_t[]){2, 4, 3}, 3, (int64_t[]){2, 3, 3});
  run_matmul(4, (int64_t[]){1, 2, 3, 4}, 4, (int64_t[]){1, 2, 4, 3}, 4, (int64_t[]){1, 2, 3, 3});
  run_matmul(1, (int64_t[]){5}, 1, (int64_t[]){5}, 0, NULL);                                  /* dot */
  run_matmul(1, (int64_t[]){4}, 3, (int64_t[]){2, 4, 3}, 2, (int64_t[]){2, 3});               /* vec x batch */
  run_matmul(3, (int64_t[]){2, 3, 4}, 1, (int64_t[]){4}, 2, (int64_t[]){2, 3});               /* batch x vec */
  run_matmul(4, (int64_t[]){2, 1, 3, 4}, 3, (int64_t[]){5, 4, 2}, 4, (int64_t[]){2, 5, 3, 2}); /* broadcast */
  run_matmul(2, (int64_t[]){3, 4}, 4, (int64_t[]){2, 3, 4, 5}, 4, (int64_t[]){2, 3, 3, 5});    /* A broadcast */
  run_matmul(3, (int64_t[]){4, 77, 130}, 2, (int64_t[]){130, 70}, 3, (int64_t[]){4, 77, 70});  /* folded batch */
  run_matmul(2, (int64_t[]){1, 300}, 2, (int64_t[]){300, 1}, 2, (int64_t[]){1, 1});
  float buf[64] = {0};
  eo_tview a = optest_f32(3, ((int64_t[]){2, 3, 4}), buf), b = optest_f32(2, ((int64_t[]){5, 2}), buf);
  eo_tview b3 = optest_f32(3, ((int64_t[]){3, 4, 2}), buf);
  expect_fail(optest_node("MatMul"), 13, 2, (eo_tview *[]){&a, &b}, EO_ERR_SHAPE, "inner dims 4 and 5 differ");
  expect_fail(optest_node("MatMul"), 13, 2, (eo_tview *[]){&a, &b3}, EO_ERR_SHAPE, "do not broadcast");
}

int main(void) {
  EO_CHECK(eo_op_get(EO_OP_CONV) == &eo_op_conv && eo_op_get(EO_OP_CONV_TRANSPOSE) == &eo_op_conv_transpose);
  EO_CHECK(eo_op_get(EO_OP_GEMM) == &eo_op_gemm && eo_op_get(EO_OP_MATMUL) == &eo_op_matmul);
  test_gemm_kernel();
  test_conv_onnx_example();
  test_conv_random();
  test_conv_errors();
  test_conv_flops();
  test_convt_onnx_example();
  test_convt_random();
  test_gemm_op();
  test_matmul_op();
  return eo_test_finish();
}
