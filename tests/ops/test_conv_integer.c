/* ConvInteger: the op's fast kernels (AVX-512 VNNI GEMM / depthwise with an int32 epilogue, when the
 * CPU has them) and its reference loop (EO_FORCE_REF's path) against an independent naive loop, all
 * exact, over 1-D/2-D geometries (1x1, 3x3 stride 1/2, asymmetric padding, dilation, groups,
 * depthwise, batch 2, odd channel counts), uint8/int8 activations with run-time zero points
 * 0/7/128/255, int8 weights (zero point 0 or small per-channel ones) and uint8 weights with zero
 * point 128; thread pools of 1 and 2 workers give identical outputs. MatMulInteger the same way
 * (fast VNNI GEMM vs reference vs naive: 1 and several rows, batched A, int8/uint8 A with run-time
 * zero points, int8 B, uint8 B with zero point 128, per-column zero points). Then DynamicQuantizeLinear's
 * defined behavior on NaN / +-Inf and its rounding against nearbyintf. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "ops/op_test.h"
#include "test.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static int32_t get8(bool s, const void *p, int64_t i) { return s ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i]; }

typedef struct ccase {
  int nsp, batch, cin, cout, group;
  int64_t in[2], k[2], stride[2], dil[2], pb[2], pe[2];
  bool xs8;           /* x int8 (else uint8) */
  int xzp;            /* x zero point (as the x dtype) */
  int wkind;          /* 0: int8 zp 0, 1: uint8 zp 128, 2: int8 per-channel zp in [-3, 3] */
  bool expect_fast;   /* with VNNI the fast kernel must take it */
} ccase;

/* Naive: int64 sums over taps that fall inside x (padding reads x_zp, which contributes 0). */
static void naive(const ccase *C, const void *x, const void *w, bool ws8, const int32_t *wzp, const int64_t *out,
                  int32_t *y) {
  int cig = C->cin / C->group, cog = C->cout / C->group;
  int64_t in0 = C->nsp == 2 ? C->in[0] : 1, in1 = C->in[C->nsp - 1];
  int64_t k0 = C->nsp == 2 ? C->k[0] : 1, k1 = C->k[C->nsp - 1];
  int64_t o0n = C->nsp == 2 ? out[0] : 1, o1n = out[C->nsp - 1];
  int a = C->nsp == 2 ? 0 : -1, b = C->nsp - 1;  // dim indexes of the two spatial axes (-1: absent)
  int64_t yi = 0;
  for (int n = 0; n < C->batch; n++)
    for (int oc = 0; oc < C->cout; oc++)
      for (int64_t o0 = 0; o0 < o0n; o0++)
        for (int64_t o1 = 0; o1 < o1n; o1++) {
          int64_t acc = 0;
          for (int ic = 0; ic < cig; ic++)
            for (int64_t q0 = 0; q0 < k0; q0++)
              for (int64_t q1 = 0; q1 < k1; q1++) {
                int64_t i0 = a < 0 ? 0 : o0 * C->stride[a] - C->pb[a] + q0 * C->dil[a];
                int64_t i1 = o1 * C->stride[b] - C->pb[b] + q1 * C->dil[b];
                if (i0 < 0 || i0 >= in0 || i1 < 0 || i1 >= in1) continue;
                int64_t cx = (int64_t)n * C->cin + oc / cog * cig + ic;
                int32_t xv = get8(C->xs8, x, (cx * in0 + i0) * in1 + i1) - C->xzp;
                int32_t wv = get8(ws8, w, ((int64_t)oc * cig + ic) * k0 * k1 + q0 * k1 + q1) - wzp[oc];
                acc += (int64_t)xv * wv;
              }
          y[yi++] = (int32_t)acc;
        }
}

/* infer -> prepare -> forward as the executor does it: x and x_zero_point have no data before
 * forward (run-time tensors), w and w_zero_point are constants. Returns the prepared scratch size. */
static size_t run_op(const eo_node *nd, eo_tview **in, int n_in, eo_tview *y, eo_threadpool *pool, bool force_ref) {
  const eo_op_def *def = eo_op_get(nd->op);
  eo_tview shadow[4], *pin[4];
  for (int i = 0; i < n_in; i++) {
    pin[i] = NULL;
    if (!in[i]) continue;
    shadow[i] = *in[i];
    if (i == 0 || i == 2) shadow[i].data = NULL;
    pin[i] = &shadow[i];
  }
  memset(y, 0, sizeof *y);
  eo_tview *outs[1] = {y};
  eo_op_ctx c;
  memset(&c, 0, sizeof c);
  c.node = nd, c.opset = 10, c.n_in = n_in, c.n_out = 1, c.in = pin, c.out = outs;
  c.force_ref = force_ref, c.pool = pool;
  EO_CHECK(def->infer(&c) == EO_OK);
  EO_CHECK(def->prepare(&c) == EO_OK);
  size_t sb = c.scratch_bytes;
  y->data = calloc((size_t)eo_tview_numel(y) * 4 + 1, 1);
  c.scratch = sb ? malloc(sb) : NULL;
  if (c.scratch) memset(c.scratch, 0xA5, sb);  // garbage: the kernels must not rely on zeroed scratch
  c.in = in;
  def->forward(&c);
  free(c.scratch);
  def->release(c.state);
  return sb;
}

static void run_case(int ci, const ccase *C, eo_threadpool *pools[2], bool vnni) {
  int cig = C->cin / C->group;
  int64_t xdims[4] = {C->batch, C->cin}, wdims[4] = {C->cout, cig}, out[2];
  int64_t nx = (int64_t)C->batch * C->cin, nw = (int64_t)C->cout * cig, ny = (int64_t)C->batch * C->cout;
  for (int d = 0; d < C->nsp; d++) {
    xdims[2 + d] = C->in[d], wdims[2 + d] = C->k[d];
    out[d] = (C->in[d] + C->pb[d] + C->pe[d] - ((C->k[d] - 1) * C->dil[d] + 1)) / C->stride[d] + 1;
    nx *= C->in[d], nw *= C->k[d], ny *= out[d];
  }
  uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw);
  for (int64_t i = 0; i < nx; i++) x[i] = (uint8_t)rnd();
  bool ws8 = C->wkind != 1;
  int32_t *wzp = malloc((size_t)C->cout * sizeof(int32_t));
  int8_t *wz8 = malloc((size_t)C->cout);
  for (int oc = 0; oc < C->cout; oc++) {
    wzp[oc] = C->wkind == 1 ? 128 : C->wkind == 2 ? (int32_t)(rnd() % 7) - 3 : 0;
    wz8[oc] = (int8_t)wzp[oc];
  }
  for (int64_t i = 0; i < nw; i++) {
    int32_t v = (int32_t)(rnd() % 256) - 128;  // w - w_zp in int8 range for wkind 0/1
    if (C->wkind == 1) v += 128;
    if (C->wkind == 2) v = (int32_t)(rnd() % 250) - 125;  // w - zp within [-128, 128]: fits except the +128 corner
    w[i] = (uint8_t)v;
  }
  uint8_t xz = (uint8_t)C->xzp;
  int64_t one = 1, cdim = C->cout;
  eo_tview tx = optest_view(C->xs8 ? EO_INT8 : EO_UINT8, 2 + C->nsp, xdims, x);
  eo_tview tw = optest_view(ws8 ? EO_INT8 : EO_UINT8, 2 + C->nsp, wdims, w);
  eo_tview txz = optest_view(C->xs8 ? EO_INT8 : EO_UINT8, 0, &one, &xz);
  void *wzdata = C->wkind == 1 ? (void *)&(uint8_t){128} : C->wkind == 2 ? (void *)wz8 : (void *)&(int8_t){0};
  eo_tview twz = optest_view(ws8 ? EO_INT8 : EO_UINT8, C->wkind == 2 ? 1 : 0, &cdim, wzdata);
  eo_node *nd = optest_node("ConvInteger");
  int64_t v[4];
  for (int d = 0; d < C->nsp; d++) v[d] = C->stride[d];
  optest_attr_ints(nd, "strides", C->nsp, v);
  for (int d = 0; d < C->nsp; d++) v[d] = C->dil[d];
  optest_attr_ints(nd, "dilations", C->nsp, v);
  for (int d = 0; d < C->nsp; d++) v[d] = C->pb[d], v[C->nsp + d] = C->pe[d];
  optest_attr_ints(nd, "pads", 2 * C->nsp, v);
  optest_attr_i(nd, "group", C->group);

  int32_t *want = malloc((size_t)ny * sizeof(int32_t));
  naive(C, x, w, ws8, wzp, out, want);
  eo_tview *ins[4] = {&tx, &tw, &txz, &twz};
  eo_tview yr, yf[2];
  run_op(nd, ins, 4, &yr, NULL, true);
  size_t sb[2];
  for (int t = 0; t < 2; t++) sb[t] = run_op(nd, ins, 4, &yf[t], pools[t], false);
  int64_t bad_r = 0, bad_f = 0, bad_t = 0, first = -1;
  for (int64_t i = 0; i < ny; i++) {
    int32_t r = ((int32_t *)yr.data)[i], f = ((int32_t *)yf[0].data)[i], f2 = ((int32_t *)yf[1].data)[i];
    if (r != want[i]) bad_r++;
    if (f != want[i] && first < 0) first = i;
    if (f != want[i]) bad_f++;
    if (f2 != f) bad_t++;
  }
  EO_CHECK_MSG(bad_r == 0 && bad_f == 0 && bad_t == 0,
               "case %d: %lld reference / %lld fast mismatches vs naive, %lld differ between 1 and 2 threads "
               "(of %lld; first fast at %lld)",
               ci, (long long)bad_r, (long long)bad_f, (long long)bad_t, (long long)ny, (long long)first);
  // the reference path needs no scratch; the fast kernels do: shows which one ran
  EO_CHECK_MSG(!vnni || !C->expect_fast || (sb[0] > 0 && sb[1] > 0), "case %d: fast kernel not used", ci);
  free(yr.data), free(yf[0].data), free(yf[1].data);
  optest_node_free(nd);
  free(x), free(w), free(wzp), free(wz8), free(want);
}

static void test_conv_integer(void) {
  bool vnni = eo_cpu_isa() >= EO_ISA_AVX512 && eo_cpu_info_get()->avx512vnni;
  eo_threadpool *pools[2] = {NULL, NULL};
  EO_CHECK(eo_threadpool_create(1, &pools[0]) == EO_OK && eo_threadpool_create(2, &pools[1]) == EO_OK);
  // nsp batch cin cout group in k stride dil pb pe xs8 xzp wkind fast
  static const ccase cases[] = {
      {2, 1, 5, 7, 1, {6, 9}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, false, 0, 1, true},      // 1x1
      {2, 1, 3, 16, 1, {10, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, false, 7, 1, true},  // 3x3 same
      {2, 2, 17, 9, 1, {13, 12}, {3, 3}, {2, 2}, {1, 1}, {1, 0}, {2, 1}, false, 128, 0, true},  // s2, asym pad
      {2, 1, 6, 11, 1, {15, 14}, {3, 3}, {1, 1}, {2, 2}, {2, 1}, {2, 3}, false, 255, 1, true},  // dilation 2
      {2, 2, 8, 12, 2, {9, 10}, {3, 3}, {1, 2}, {1, 1}, {1, 1}, {1, 1}, false, 7, 0, true},   // groups 2
      {2, 1, 8, 8, 8, {12, 13}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, false, 128, 1, true},  // depthwise
      {2, 2, 13, 13, 13, {11, 17}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {0, 1}, false, 255, 0, true},  // dw s2
      {2, 1, 5, 5, 5, {9, 9}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, false, 0, 2, true},  // dw 5x5 per-ch zp
      {1, 2, 9, 10, 1, {37, 0}, {5, 0}, {3, 0}, {1, 0}, {2, 0}, {1, 0}, false, 7, 1, true},  // 1-D, stride 3
      {2, 1, 19, 33, 1, {20, 24}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, -5, 0, true},  // int8 x
      {2, 1, 4, 6, 1, {7, 8}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, false, 128, 2, false},  // per-ch zp int8
      {2, 1, 64, 40, 1, {28, 28}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, false, 128, 1, true},  // wide 1x1
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case((int)i, &cases[i], pools, vnni);
  eo_threadpool_free(pools[0]);
  eo_threadpool_free(pools[1]);
}

typedef struct mcase {
  int rank;
  int64_t adims[3];
  int64_t N;
  bool as8;
  int azp;     /* a zero point; -1000: no a_zero_point input */
  int bkind;   /* 0: int8 zp 0, 1: uint8 zp 128, 2: int8 per-column zp in [-3, 3] (fits) */
  bool expect_fast;
} mcase;

static void run_mcase(int ci, const mcase *C, eo_threadpool *pools[2], bool vnni) {
  int64_t K = C->adims[C->rank - 1], N = C->N, na = 1;
  for (int d = 0; d < C->rank; d++) na *= C->adims[d];
  int64_t rows = na / K, ny = rows * N;
  uint8_t *a = malloc((size_t)na), *b = malloc((size_t)(K * N));
  for (int64_t i = 0; i < na; i++) a[i] = (uint8_t)rnd();
  bool bs8 = C->bkind != 1;
  int32_t *bzp = malloc((size_t)N * sizeof(int32_t));
  int8_t *bz8 = malloc((size_t)N);
  for (int64_t n = 0; n < N; n++) {
    bzp[n] = C->bkind == 1 ? 128 : C->bkind == 2 ? (int32_t)(rnd() % 7) - 3 : 0;
    bz8[n] = (int8_t)bzp[n];
  }
  for (int64_t i = 0; i < K * N; i++)
    b[i] = (uint8_t)(C->bkind == 2 ? (int32_t)(rnd() % 249) - 124 : (int32_t)(rnd() % 256));
  int32_t azp = C->azp == -1000 ? 0 : C->azp;
  int32_t *want = malloc((size_t)ny * sizeof(int32_t));
  for (int64_t r = 0; r < rows; r++)
    for (int64_t n = 0; n < N; n++) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; k++)
        acc += (int64_t)(get8(C->as8, a, r * K + k) - azp) * (get8(bs8, b, k * N + n) - bzp[n]);
      want[r * N + n] = (int32_t)acc;
    }
  uint8_t az = (uint8_t)azp;
  int64_t one = 1, bdims[2] = {K, N};
  eo_tview ta = optest_view(C->as8 ? EO_INT8 : EO_UINT8, C->rank, C->adims, a);
  eo_tview tb = optest_view(bs8 ? EO_INT8 : EO_UINT8, 2, bdims, b);
  eo_tview taz = optest_view(C->as8 ? EO_INT8 : EO_UINT8, 0, &one, &az);
  void *bzdata = C->bkind == 1 ? (void *)&(uint8_t){128} : C->bkind == 2 ? (void *)bz8 : (void *)&(int8_t){0};
  eo_tview tbz = optest_view(bs8 ? EO_INT8 : EO_UINT8, C->bkind == 2 ? 1 : 0, &N, bzdata);
  eo_node *nd = optest_node("MatMulInteger");
  eo_tview *ins[4] = {&ta, &tb, &taz, &tbz};
  // without a_zero_point: inputs (A, B, "", b_zero_point) as an ONNX graph may give them
  eo_tview *ins_noaz[4] = {&ta, &tb, NULL, &tbz};
  eo_tview **use = C->azp == -1000 ? ins_noaz : ins;
  eo_tview yr, yf[2];
  run_op(nd, use, 4, &yr, NULL, true);
  size_t sb[2];
  for (int t = 0; t < 2; t++) sb[t] = run_op(nd, use, 4, &yf[t], pools[t], false);
  int64_t bad_r = 0, bad_f = 0, bad_t = 0;
  for (int64_t i = 0; i < ny; i++) {
    int32_t r = ((int32_t *)yr.data)[i], f = ((int32_t *)yf[0].data)[i], f2 = ((int32_t *)yf[1].data)[i];
    bad_r += r != want[i], bad_f += f != want[i], bad_t += f2 != f;
  }
  EO_CHECK_MSG(bad_r == 0 && bad_f == 0 && bad_t == 0,
               "matmul case %d: %lld reference / %lld fast mismatches vs naive, %lld differ between 1 and 2 threads "
               "(of %lld)",
               ci, (long long)bad_r, (long long)bad_f, (long long)bad_t, (long long)ny);
  EO_CHECK_MSG(!vnni || !C->expect_fast || (sb[0] > 0 && sb[1] > 0), "matmul case %d: fast kernel not used", ci);
  EO_CHECK_MSG(C->expect_fast || sb[0] == 0, "matmul case %d: fast kernel used where it does not apply", ci);
  free(yr.data), free(yf[0].data), free(yf[1].data);
  optest_node_free(nd);
  free(a), free(b), free(bzp), free(bz8), free(want);
}

static void test_matmul_integer(void) {
  bool vnni = eo_cpu_isa() >= EO_ISA_AVX512 && eo_cpu_info_get()->avx512vnni;
  eo_threadpool *pools[2] = {NULL, NULL};
  EO_CHECK(eo_threadpool_create(1, &pools[0]) == EO_OK && eo_threadpool_create(2, &pools[1]) == EO_OK);
  static const mcase cases[] = {
      {2, {1, 3136}, 128, false, 128, 0, true},  // the classifier's head
      {2, {1, 5}, 10, false, 7, 0, true},
      {1, {33}, 70, false, 255, 1, true},         // vector A
      {2, {7, 33}, 70, false, 0, 1, true},        // partial row tile, 2 column groups
      {3, {2, 3, 19}, 17, true, -3, 0, true},     // batched int8 A
      {2, {9, 64}, 129, false, 200, 2, true},     // per-column zero points
      {2, {4, 12}, 8, false, -1000, 0, true},     // no a_zero_point
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_mcase((int)i, &cases[i], pools, vnni);
  eo_threadpool_free(pools[0]);
  eo_threadpool_free(pools[1]);
}

static void dql(const float *x, int64_t n, uint8_t *y, float *scale, uint8_t *zp) {
  eo_node *nd = optest_node("DynamicQuantizeLinear");
  eo_tview tx = optest_f32(1, &n, (void *)x), ty, ts, tz;
  EO_CHECK(optest_run(nd, 11, 1, (eo_tview *[]){&tx}, 3, (eo_tview *[]){&ty, &ts, &tz}, false) == EO_OK);
  memcpy(y, ty.data, (size_t)n);
  *scale = *(float *)ts.data;
  *zp = *(uint8_t *)tz.data;
  free(ty.data), free(ts.data), free(tz.data);
  optest_node_free(nd);
}

static void test_dql(void) {
  // non-finite values: range from the finite ones (lo -2, hi 3), NaN -> zero point, +-Inf saturate
  float x[] = {NAN, INFINITY, -INFINITY, 1.0f, -2.0f, 3.0f, -NAN, 0.0f};
  uint8_t y[8], zp;
  float s;
  dql(x, 8, y, &s, &zp);
  float es = 5.0f / 255.0f;
  EO_CHECK(s == es);
  EO_CHECK(zp == (uint8_t)nearbyintf(2.0f / es));
  EO_CHECK(y[0] == zp && y[6] == zp && y[7] == zp);
  EO_CHECK(y[1] == 255 && y[2] == 0);
  EO_CHECK(y[4] == 0 && y[5] == 255);
  EO_CHECK(y[3] == (uint8_t)(nearbyintf(1.0f / es) + zp));
  // the same values over 40 elements (the vector loops take 4 / 16 at a time, then the tails)
  float xl[40];
  uint8_t yl[40];
  for (int i = 0; i < 40; i++) xl[i] = x[(i * 3) % 8];
  dql(xl, 40, yl, &s, &zp);
  EO_CHECK(s == es && zp == (uint8_t)nearbyintf(2.0f / es));
  int badl = 0;
  for (int i = 0; i < 40; i++) badl += yl[i] != y[(i * 3) % 8];
  EO_CHECK_MSG(badl == 0, "%d of 40 differ from the 8-element run", badl);
  // all non-finite: as all zeros (scale 1, zero point 0)
  float z[] = {NAN, INFINITY, NAN};
  dql(z, 3, y, &s, &zp);
  EO_CHECK(s == 1.0f && zp == 0 && y[0] == 0 && y[1] == 255 && y[2] == 0);
  // a range so small that the scale underflows to 0: zero point 0 (not a cast of NaN)
  float tiny[] = {1e-45f, 0.0f};
  dql(tiny, 2, y, &s, &zp);
  EO_CHECK(zp == 0 && y[1] == 0);
  // finite data, with exact ties x = (k + 0.5) * scale: the spec formula with nearbyintf
  enum { N = 1031 };
  float *v = malloc(N * sizeof(float));
  uint8_t *q = malloc(N);
  float sc = 0.25f;  // hi - lo = 63.75 = 255 * 0.25: scale exactly 0.25
  for (int i = 0; i < N; i++) v[i] = i < 200 ? (float)(i % 200) * 0.125f - 12.5f : (float)(rnd() % 100000) * 6.375e-4f - 12.5f;
  v[N - 1] = 51.25f;
  v[N - 2] = -12.5f;
  dql(v, N, q, &s, &zp);
  EO_CHECK(s == sc);
  float ezp = nearbyintf(12.5f / sc);
  EO_CHECK(zp == (uint8_t)ezp);
  int bad = 0;
  for (int i = 0; i < N; i++) {
    float e = nearbyintf(v[i] / sc) + ezp;
    e = e < 0 ? 0 : e > 255 ? 255 : e;
    if (q[i] != (uint8_t)e) bad++;
  }
  EO_CHECK_MSG(bad == 0, "%d of %d DynamicQuantizeLinear outputs differ from the formula", bad, N);
  free(v), free(q);
}

int main(void) {
  test_conv_integer();
  test_matmul_integer();
  test_dql();
  return eo_test_finish();
}
