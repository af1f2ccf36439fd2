/* The fast integer kernels against their scalar references, exact:
 *  - the AVX-512 VNNI GEMM conv and the depthwise conv (kernels/x86/qs8-conv-avx512.c) against
 *    eo_qs8_conv__ref on ResNet/MobileNet-like geometries wide enough to reach every vector path
 *    (rows of 64+ at stride 1 and 2, borders, odd K, groups, int8 and uint8 activations), with
 *    thread pools of 1 and 2 workers (the outputs must also be identical between the two); the
 *    depthwise cases include the model layers' shapes (3x3 / 5x5, stride 1 / 2, maps 7..112); the
 *    small-map cases (7x7, 5x5, 9x9, 1x1 outputs) must take the channels-as-lanes plan (K from 5 to
 *    1152, c_out not a multiple of 16 / 48, blocks split by positions at 2 workers);
 *  - the depthwise and lanes kernels' int32 epilogue (ConvInteger) against the plain integer sum;
 *  - the AVX2 im2col conv (qs8-conv-avx2.c) on the same cases, 1 and 2 workers;
 *  - the AVX2 per-tensor Quantize/DequantizeLinear (qs8-qdq-avx2.c) against the scalar formula,
 *    including ties, saturation and NaN.
 * Skips nothing silently: on a CPU without the ISA the kernel checks are reported as not run. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "runtime/kernels/x86/qs8-fast.h"
#include "runtime/kernels/x86/qs8-qdq.h"
#include "test.h"

static uint64_t rs = 0x243F6A8885A308D3ull;
static uint32_t rnd(void) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return (uint32_t)(rs >> 11);
}

typedef struct kcase {
  int cin, cout, groups, h, w, kh, kw, s, d, pt, pl, pb, pr;
  bool xs8;
  bool lanes;  /* the VNNI plan must put channels in the lanes */
} kcase;

static void *aligned(size_t n) { return aligned_alloc(64, (n + 63) / 64 * 64 + 64); }

/* pools: 1 thread, 2 threads, 2 threads whose tasks use per-worker buffers (eo_threadpool_local). */
static void run_case(const kcase *k, eo_threadpool *pools[3]) {
  eo_conv_params p;
  memset(&p, 0, sizeof p);
  p.batch = 1, p.c_in = k->cin, p.c_out = k->cout, p.groups = k->groups;
  p.in[0] = 1, p.in[1] = k->h, p.in[2] = k->w;
  p.k[0] = 1, p.k[1] = k->kh, p.k[2] = k->kw;
  p.stride[0] = 1, p.stride[1] = k->s, p.stride[2] = k->s;
  p.dil[0] = 1, p.dil[1] = k->d, p.dil[2] = k->d;
  p.pad[1] = k->pt, p.pad[2] = k->pl;
  p.out[0] = 1;
  p.out[1] = (k->h + k->pt + k->pb - ((k->kh - 1) * k->d + 1)) / k->s + 1;
  p.out[2] = (k->w + k->pl + k->pr - ((k->kw - 1) * k->d + 1)) / k->s + 1;
  p.act_op = -1;
  int64_t nx = (int64_t)k->cin * k->h * k->w, K = (int64_t)k->cin / k->groups * k->kh * k->kw;
  int64_t nw = k->cout * K, ny = (int64_t)k->cout * p.out[1] * p.out[2];
  uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw);
  for (int64_t i = 0; i < nx; i++) x[i] = (uint8_t)rnd();
  for (int64_t i = 0; i < nw; i++) w[i] = (uint8_t)rnd();
  int32_t *bias = malloc((size_t)k->cout * 4), *wzp = calloc((size_t)k->cout, 4);
  float *scale = malloc((size_t)k->cout * 4);
  for (int i = 0; i < k->cout; i++) {
    bias[i] = (int32_t)(rnd() % 40001) - 20000;
    // scales that put the accumulators across the whole output range, saturating some
    scale[i] = (0.5f + (float)(rnd() % 1000) * 1e-3f) / (float)(K * 2000);
  }
  bool dw = k->groups == k->cin && k->cout == k->cin;
  if (dw)  // the depthwise path takes any weight zero point
    for (int i = 0; i < k->cout; i++) wzp[i] = (int32_t)(rnd() % 256) - 128;
  uint8_t xzp8 = (uint8_t)rnd();
  eo_qconv_quant q = {.x_signed = k->xs8, .w_signed = true, .y_signed = k->xs8,
                      .x_zp = k->xs8 ? (int8_t)xzp8 : xzp8, .y_zp = (int32_t)(rnd() % 100) - (k->xs8 ? 50 : 0),
                      .w_zp = wzp, .bias = bias, .scale = scale};
  uint8_t *ref = malloc((size_t)ny), *got[3] = {malloc((size_t)ny), malloc((size_t)ny), malloc((size_t)ny)};
  eo_qs8_conv__ref(&p, &q, x, w, ref);
  int kind = dw ? EO_QS8_DW_AVX512 : EO_QS8_GEMM_VNNI;
  EO_CHECK(dw ? eo_qs8_dw_ok(&p) : eo_qs8_vnni_ok(&p, true, wzp));
  // the reference saturates some outputs at both ends and leaves most inside (a meaningful case)
  int64_t lo = 0, hi = 0;
  for (int64_t i = 0; i < ny; i++) {
    int v = k->xs8 ? (int8_t)ref[i] : ref[i];
    lo += v == (k->xs8 ? -128 : 0), hi += v == (k->xs8 ? 127 : 255);
  }
  EO_CHECK_MSG(lo + hi < ny / 2, "case %dx%d cin %d: %lld of %lld outputs saturated", k->h, k->w, k->cin,
               (long long)(lo + hi), (long long)ny);
  for (int t = 0; t < 3; t++) {
    eo_qs8_conv_plan pl;
    bool ok = eo_qs8_conv_plan_init(&pl, kind, &p, k->xs8, true, w, wzp, eo_threadpool_size(pools[t]));
    EO_CHECK(ok);
    if (!ok) continue;
    if (t == 2) EO_CHECK(eo_threadpool_reserve_local(pools[t], eo_qs8_conv_plan_local(&pl)) == EO_OK);
    if (!dw)
      EO_CHECK_MSG(pl.lanes == k->lanes, "cin %d cout %d %dx%d: lanes plan %d, expected %d", k->cin, k->cout, k->h,
                   k->w, pl.lanes, k->lanes);
    void *scratch = aligned(eo_qs8_conv_plan_scratch(&pl));
    memset(got[t], 0xA5, (size_t)ny);
    eo_qs8_conv_plan_run(&pl, &q, x, got[t], scratch, pools[t]);
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < ny; i++)
      if (got[t][i] != ref[i]) bad++, first = first < 0 ? i : first;
    EO_CHECK_MSG(bad == 0, "%s cin %d cout %d g %d %dx%d k %dx%d s %d d %d pads %d,%d,%d,%d xs8 %d threads %d: %lld of %lld differ (first %lld: %d vs %d)",
                 dw ? "dw" : "vnni", k->cin, k->cout, k->groups, k->h, k->w, k->kh, k->kw, k->s, k->d, k->pt, k->pl,
                 k->pb, k->pr, k->xs8, eo_threadpool_size(pools[t]), (long long)bad, (long long)ny, (long long)first,
                 first >= 0 ? got[t][first] : 0, first >= 0 ? ref[first] : 0);
    free(scratch);
    eo_qs8_conv_plan_free(&pl);
  }
  EO_CHECK_MSG(memcmp(got[0], got[1], (size_t)ny) == 0, "1 and 2 threads differ");
  if (dw) {  // the int32 epilogue (ConvInteger's plans) against the plain integer sum
    int32_t *acc = malloc((size_t)ny * 4), *g32 = malloc((size_t)ny * 4);
    for (int c = 0; c < k->cout; c++)
      for (int64_t oy = 0; oy < p.out[1]; oy++)
        for (int64_t ox = 0; ox < p.out[2]; ox++) {
          int32_t a = bias[c];
          for (int ky = 0; ky < k->kh; ky++)
            for (int kx = 0; kx < k->kw; kx++) {
              int64_t iy = oy * k->s - k->pt + ky * k->d, ix = ox * k->s - k->pl + kx * k->d;
              if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w) continue;
              uint8_t xv = x[((int64_t)c * k->h + iy) * k->w + ix];
              int32_t xi = k->xs8 ? (int8_t)xv : xv;
              a += (xi - q.x_zp) * ((int8_t)w[(c * k->kh + ky) * k->kw + kx] - wzp[c]);
            }
          acc[(c * p.out[1] + oy) * p.out[2] + ox] = a;
        }
    for (int t = 0; t < 2; t++) {
      eo_qs8_conv_plan pl;
      bool ok = eo_qs8_conv_plan_init_i32(&pl, EO_QS8_DW_AVX512, &p, k->xs8, true, w, wzp, eo_threadpool_size(pools[t]));
      EO_CHECK(ok);
      if (!ok) continue;
      void *scratch = aligned(eo_qs8_conv_plan_scratch(&pl));
      eo_qs8_conv_plan_run(&pl, &q, x, g32, scratch, pools[t]);
      int64_t bad = 0;
      for (int64_t i = 0; i < ny; i++) bad += g32[i] != acc[i];
      EO_CHECK_MSG(bad == 0, "dw int32 cin %d %dx%d k %d s %d threads %d: %lld of %lld differ", k->cin, k->h, k->w,
                   k->kh, k->s, eo_threadpool_size(pools[t]), (long long)bad, (long long)ny);
      free(scratch);
      eo_qs8_conv_plan_free(&pl);
    }
    free(acc), free(g32);
  }
  if (k->lanes) {  // the lanes plan's int32 epilogue against the plain integer sum (groups = 1)
    const int64_t oh = p.out[1], ow = p.out[2];
    int32_t *acc = malloc((size_t)ny * 4), *g32 = malloc((size_t)ny * 4);
    for (int c = 0; c < k->cout; c++)
      for (int64_t oy = 0; oy < oh; oy++)
        for (int64_t ox = 0; ox < ow; ox++) {
          int32_t a = bias[c];
          for (int ic = 0; ic < k->cin; ic++)
            for (int ky = 0; ky < k->kh; ky++)
              for (int kx = 0; kx < k->kw; kx++) {
                int64_t iy = oy * k->s - k->pt + ky * k->d, ix = ox * k->s - k->pl + kx * k->d;
                if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w) continue;
                uint8_t xv = x[((int64_t)ic * k->h + iy) * k->w + ix];
                int32_t xi = k->xs8 ? (int8_t)xv : xv;
                a += (xi - q.x_zp) * (int8_t)w[((int64_t)(c * k->cin + ic) * k->kh + ky) * k->kw + kx];
              }
          acc[(c * oh + oy) * ow + ox] = a;
        }
    for (int t = 0; t < 2; t++) {
      eo_qs8_conv_plan pl;
      bool ok = eo_qs8_conv_plan_init_i32(&pl, EO_QS8_GEMM_VNNI, &p, k->xs8, true, w, wzp, eo_threadpool_size(pools[t]));
      EO_CHECK(ok && pl.lanes);
      if (!ok) continue;
      void *scratch = aligned(eo_qs8_conv_plan_scratch(&pl));
      eo_qconv_quant qi = q;
      qi.scale = NULL;  // as ConvInteger: no requantization parameters
      eo_qs8_conv_plan_run(&pl, &qi, x, g32, scratch, pools[t]);
      int64_t bad = 0;
      for (int64_t i = 0; i < ny; i++) bad += g32[i] != acc[i];
      EO_CHECK_MSG(bad == 0, "lanes int32 cin %d cout %d %dx%d k %d s %d threads %d: %lld of %lld differ", k->cin,
                   k->cout, k->h, k->w, k->kh, k->s, eo_threadpool_size(pools[t]), (long long)bad, (long long)ny);
      free(scratch);
      eo_qs8_conv_plan_free(&pl);
    }
    free(acc), free(g32);
  }
  // The AVX2 im2col kernel (no VNNI; any weight zero point) on the same case, 1 and 2 threads.
  int16_t *w16 = malloc((size_t)nw * sizeof(int16_t));
  int32_t *wpk = malloc((size_t)(k->cout * ((K + 1) / 2)) * sizeof(int32_t));
  for (int64_t i = 0; i < nw; i++) w16[i] = (int16_t)((int8_t)w[i] - wzp[i / K]);
  eo_qs8_conv_pack__avx2(&p, w16, wpk);
  void *scratch2 = aligned(eo_qs8_conv_scratch__avx2(&p));
  for (int t = 0; t < 2; t++) {
    memset(got[t], 0xA5, (size_t)ny);
    eo_qs8_conv__avx2(&p, &q, x, wpk, got[t], scratch2, pools[t]);
    int64_t bad = 0;
    for (int64_t i = 0; i < ny; i++) bad += got[t][i] != ref[i];
    EO_CHECK_MSG(bad == 0, "avx2 cin %d cout %d g %d %dx%d k %dx%d s %d threads %d: %lld of %lld differ", k->cin,
                 k->cout, k->groups, k->h, k->w, k->kh, k->kw, k->s, eo_threadpool_size(pools[t]), (long long)bad,
                 (long long)ny);
  }
  free(scratch2), free(w16), free(wpk);
  free(x), free(w), free(bias), free(wzp), free(scale), free(ref), free(got[0]), free(got[1]), free(got[2]);
}

static void conv_cases(void) {
  const eo_cpu_info *ci = eo_cpu_info_get();
  if (!(eo_cpu_isa() >= EO_ISA_AVX512 && ci->avx512vnni)) {
    printf("test_qs8_kernels: no AVX-512 VNNI on this CPU: conv kernels not run\n");
    return;
  }
  eo_threadpool *pools[3] = {NULL, NULL, NULL};
  EO_CHECK(eo_threadpool_create(1, &pools[0]) == EO_OK && eo_threadpool_create(2, &pools[1]) == EO_OK &&
           eo_threadpool_create(2, &pools[2]) == EO_OK);
  const kcase cases[] = {
      // cin cout g  h    w  kh kw s d  pt pl pb pr xs8 lanes
      {3, 16, 1, 70, 70, 7, 7, 2, 1, 3, 3, 3, 3, false, false},      // stem: stride-2 rows of 35, K = 147 (odd)
      {3, 8, 1, 40, 150, 3, 3, 2, 1, 1, 1, 1, 1, false, false},      // stride-2 rows of 75 (32-wide vectors + tail)
      {16, 20, 1, 20, 70, 3, 3, 1, 1, 1, 1, 1, 1, false, false},     // stride 1, rows of 70 (64-wide + tail), 3 blocks
      {16, 20, 1, 20, 70, 3, 3, 1, 1, 1, 1, 1, 1, true, false},      // the same with int8 activations
      {64, 64, 1, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, false, true}, // ResNet layer 4 shape (small P): channels in lanes
      {24, 40, 1, 17, 19, 1, 1, 1, 1, 0, 0, 0, 0, false, false},     // pointwise: the plane as one row
      {13, 9, 1, 9, 9, 1, 1, 1, 1, 0, 0, 0, 0, true, true},   // pointwise, int8, odd K (81 positions: lanes)
      {13, 9, 1, 9, 9, 1, 1, 1, 1, 0, 0, 0, 0, false, true},  // pointwise read from x itself, odd K
      {24, 40, 1, 17, 19, 1, 1, 2, 1, 0, 0, 0, 0, true, false},      // 1x1 stride 2 (downsample)
      {12, 18, 3, 13, 11, 3, 3, 1, 2, 2, 2, 2, 2, false, false},     // groups, dilation 2
      // channels as lanes: blocks of 48 + a partial one (2 blocks: split by positions at 2 workers),
      // K = 1152 / 5 / 297 / 360, stride 2 onto 7x7, 5x5, a 1x1 map, int8 and uint8
      {128, 70, 1, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, false, true},
      {128, 70, 1, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, true, true},
      {5, 28, 1, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, true, true},
      {40, 36, 1, 14, 14, 3, 3, 2, 1, 1, 1, 1, 1, false, true},
      {33, 100, 1, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, true, true},
      {360, 144, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, false, true},
      {160, 200, 1, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, false, true},
      {5, 6, 1, 9, 200, 3, 5, 3, 1, 0, 2, 1, 0, false, false},       // stride 3 (element path), asymmetric pads
      {4, 8, 1, 10, 10, 13, 13, 1, 1, 6, 6, 6, 6, true, false},      // 32 positions span > 64 plane bytes: row build
      {32, 32, 32, 40, 70, 3, 3, 1, 1, 1, 1, 1, 1, false, false},    // depthwise stride 1
      {32, 32, 32, 41, 75, 3, 3, 2, 1, 1, 1, 1, 1, true, false},     // depthwise stride 2, int8
      {8, 8, 8, 15, 40, 5, 5, 2, 1, 2, 2, 2, 2, false, false},       // depthwise 5x5 stride 2
      {8, 8, 8, 9, 50, 3, 3, 3, 2, 1, 0, 2, 1, false, false},        // depthwise stride 3 (gather), dilation 2
      {16, 16, 16, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, false, false},      // depthwise 7x7 plane
      // depthwise on the wide grid of phase planes: mobilenet_v2 / efficientnet_b0 / v3 shapes
      // (several planes per task), then stride 2 with an unused last column, dilation at strides 1
      // and 2, 7x7 taps (from a table), 1-wide planes, pads past the kernel
      {96, 96, 96, 112, 112, 3, 3, 2, 1, 1, 1, 1, 1, false, false},
      {144, 144, 144, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1, false, false},
      {192, 192, 192, 28, 28, 3, 3, 2, 1, 1, 1, 1, 1, true, false},
      {384, 384, 384, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, false, false},
      {960, 960, 960, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, true, false},
      {144, 144, 144, 56, 56, 5, 5, 2, 1, 2, 2, 2, 2, true, false},
      {672, 672, 672, 14, 14, 5, 5, 2, 1, 2, 2, 2, 2, false, false},
      {1152, 1152, 1152, 7, 7, 5, 5, 1, 1, 2, 2, 2, 2, true, false},
      {6, 6, 6, 16, 16, 3, 3, 2, 1, 0, 0, 0, 0, false, false},
      {6, 6, 6, 17, 21, 3, 3, 1, 2, 2, 2, 2, 2, true, false},
      {6, 6, 6, 17, 21, 3, 3, 2, 2, 1, 2, 2, 1, false, false},
      {5, 5, 5, 20, 23, 7, 7, 2, 1, 3, 3, 3, 3, false, false},
      {5, 5, 5, 9, 1, 3, 3, 1, 1, 1, 1, 1, 1, true, false},
      {5, 5, 5, 4, 3, 3, 3, 2, 1, 4, 3, 2, 5, false, false},
      // 16 channels at once: a partial last block (planes after the blocks), several row strips
      {40, 40, 40, 13, 11, 5, 5, 2, 1, 2, 1, 1, 2, true, false},
      {24, 24, 24, 30, 150, 5, 5, 1, 1, 2, 2, 2, 2, false, false},
      {16, 16, 16, 3, 4, 3, 3, 2, 1, 4, 3, 2, 5, true, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], pools);
  eo_threadpool_free(pools[0]);
  eo_threadpool_free(pools[1]);
  eo_threadpool_free(pools[2]);
}

static void qdq_cases(void) {
  if (eo_cpu_isa() < EO_ISA_AVX2) {
    printf("test_qs8_kernels: no AVX2: Q/DQ kernels not run\n");
    return;
  }
  enum { N = 1000 };
  float x[N], y[N];
  for (int i = 0; i < N; i++) x[i] = ((float)(int)(rnd() % 20001) - 10000.0f) * 0.05f;  // saturates both ends
  x[0] = NAN, x[1] = 0.25f, x[2] = 0.75f, x[3] = -0.25f, x[4] = 2.5f * 0.5f, x[5] = INFINITY, x[6] = -INFINITY;
  x[37] = NAN;  // inside a vector
  const float scale = 0.5f;
  for (int sgn = 0; sgn < 2; sgn++) {
    int32_t zp = sgn ? -3 : 131, lo = sgn ? -128 : 0, hi = sgn ? 127 : 255;
    uint8_t q[N];
    eo_qs8_quantize__avx2(x, N, scale, zp, sgn, q);
    int bad = 0;
    for (int i = 0; i < N; i++) {
      float v = nearbyintf(x[i] / scale) + (float)zp;
      int32_t want = v != v ? zp : v <= (float)lo ? lo : v >= (float)hi ? hi : (int32_t)v;
      int32_t g = sgn ? (int8_t)q[i] : q[i];
      bad += g != want;
    }
    EO_CHECK_MSG(bad == 0, "quantize signed %d: %d of %d differ", sgn, bad, N);
    // ties to even: 0.25/0.5 = 0.5 -> 0, 0.75/0.5 = 1.5 -> 2, -0.5 -> 0, 2.5 -> 2
    EO_CHECK((sgn ? (int8_t)q[1] : q[1]) == zp && (sgn ? (int8_t)q[2] : q[2]) == zp + 2 &&
             (sgn ? (int8_t)q[4] : q[4]) == zp + 2);
    eo_qs8_dequantize__avx2(q, sgn, N, 0.37f, zp, y);
    bad = 0;
    for (int i = 0; i < N; i++) bad += y[i] != (float)((sgn ? (int8_t)q[i] : q[i]) - zp) * 0.37f;
    EO_CHECK_MSG(bad == 0, "dequantize signed %d: %d of %d differ", sgn, bad, N);
  }
}

int main(void) {
  conv_cases();
  qdq_cases();
  return eo_test_finish();
}
