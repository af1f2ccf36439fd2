/* Fast float32 kernels (kernels/fast.h, kernels/x86/) against their _ref specification, on every
 * ISA this CPU has (AVX2 and AVX-512 are tested separately when both exist):
 *   - GEMM at sizes below, at, above and off the micro-tile (M, N, K odd, 1, tile +- 1, several K
 *     blocks), with A and B packed or strided (transposed), bias, alpha, accumulation and every
 *     fusable activation;
 *   - convolution plans (depthwise, pointwise, shifted, im2col) over strides, pads, dilations, groups,
 *     1-D/2-D/3-D, batch 2, with and without bias/activation;
 *   - vector activations, near zero and at large magnitudes;
 *   - 1 vs 2 threads bit-identical; the thread pool; EO_ISA; a whole model with EO_FORCE_REF-style
 *     reference kernels vs fast kernels at 1 and 2 threads.
 * FP32 results must be within 1e-5 of the reference, relative to the output's largest magnitude.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "edgeopt/runtime.h"
#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
#include "runtime/kernels/ref/pool_kernels.h"
#include "runtime/op.h"
#define FAST_TEST_SEED 12345u
#include "fast_test.h"
#include "test.h"

static void *aligned(size_t bytes) { return aligned_alloc(64, (bytes + 64) / 64 * 64); }

static eo_threadpool *pool2;

/* ---- GEMM ------------------------------------------------------------------------------------ */

typedef struct gemm_case {
  int64_t m, n, k;
  bool pack_a, pack_b, trans_a, trans_b, bias, accumulate;
  float alpha;
  int act;
} gemm_case;

static void run_gemm_case(const eo_f32_kernels_t *kr, const gemm_case *t) {
  int64_t m = t->m, n = t->n, k = t->k;
  float *a = rand_buf(m * k, 1.0f), *b = rand_buf(k * n, 1.0f), *bias = rand_buf(m, 1.0f);
  float *c0 = rand_buf(m * n, 1.0f);
  int64_t a_rs = t->trans_a ? 1 : k, a_cs = t->trans_a ? m : 1, b_rs = t->trans_b ? 1 : n, b_cs = t->trans_b ? k : 1;
  eo_f32_act act = act_of(t->act);

  // Reference: C = base; C += alpha * A B (eo_f32_gemm__ref); activation.
  float *ref = malloc((size_t)(m * n) * sizeof(float));
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) ref[i * n + j] = t->accumulate ? c0[i * n + j] : t->bias ? bias[i] : 0.0f;
  float *ws_ref = aligned(eo_f32_gemm_workspace__ref(m, n, k) + 64);
  eo_f32_gemm__ref(m, n, k, t->alpha, a, a_rs, a_cs, b, b_rs, b_cs, ref, n, ws_ref);
  if (act.op >= 0) eo_f32_activation__ref(act.op, act.alpha, act.beta, ref, m * n);

  float *ap = NULL, *bp = NULL;
  if (t->pack_a) {
    ap = aligned(eo_f32_gemm_packed_a_bytes(kr, m, k));
    eo_f32_gemm_pack_a(kr, m, k, a, a_rs, a_cs, ap);
  }
  if (t->pack_b) {
    bp = aligned(eo_f32_gemm_packed_b_bytes(kr, k, n));
    eo_f32_gemm_pack_b(kr, k, n, b, b_rs, b_cs, bp);
  }
  eo_f32_gemm_args g = {.m = m, .n = n, .k = k, .a_packed = ap, .a = a, .a_rs = a_rs, .a_cs = a_cs, .b_packed = bp,
                        .b = b, .b_rs = b_rs, .b_cs = b_cs, .ldc = n, .alpha = t->alpha,
                        .accumulate = t->accumulate, .bias = t->bias ? bias : NULL, .act = act};
  float *out[2];
  for (int th = 0; th < 2; th++) {
    out[th] = malloc((size_t)(m * n) * sizeof(float));
    memcpy(out[th], c0, (size_t)(m * n) * sizeof(float));
    // Odd offset: the driver aligns its workspace itself.
    uint8_t *ws = malloc(eo_f32_gemm_workspace(kr, &g, th + 1) + 1);
    g.c = out[th];
    eo_f32_gemm(kr, &g, th ? pool2 : NULL, ws + 1);
    free(ws);
  }
  char what[256];
  snprintf(what, sizeof what, "%s gemm m=%lld n=%lld k=%lld packA=%d packB=%d tA=%d tB=%d bias=%d acc=%d alpha=%g act=%s",
           kr->name, (long long)m, (long long)n, (long long)k, t->pack_a, t->pack_b, t->trans_a, t->trans_b, t->bias,
           t->accumulate, t->alpha, t->act >= 0 ? eo_activation_name(t->act) : "none");
  // A sum of K random terms is typically sqrt(K) * E|a| E|b| large; a tiny C (1x1) can land near
  // zero by cancellation, where max|C| no longer measures the output scale.
  double ea = 0, eb = 0;
  for (int64_t i = 0; i < m * k; i++) ea += fabs(a[i]);
  for (int64_t i = 0; i < k * n; i++) eb += fabs(b[i]);
  double typical = k > 0 ? sqrt((double)k) * (ea / (double)(m * k)) * (eb / (double)(k * n)) * fabs(t->alpha) : 0;
  close_enough_scaled(out[0], ref, m * n, typical, what);
  EO_CHECK_MSG(memcmp(out[0], out[1], (size_t)(m * n) * sizeof(float)) == 0, "%s: 1 and 2 threads differ", what);
  if (kr->gemm_row && t->pack_b && m == 1) {  // the row kernel gives the ukernel's results, bit for bit
    eo_f32_kernels_t plain = *kr;
    plain.gemm_row = NULL;
    memcpy(out[1], c0, (size_t)(m * n) * sizeof(float));
    uint8_t *ws = malloc(eo_f32_gemm_workspace(&plain, &g, 1) + 1);
    g.c = out[1];
    eo_f32_gemm(&plain, &g, NULL, ws + 1);
    free(ws);
    EO_CHECK_MSG(memcmp(out[0], out[1], (size_t)(m * n) * sizeof(float)) == 0, "%s: gemm_row differs", what);
  }
  free(out[0]);
  free(out[1]);
  free(ap);
  free(bp);
  free(ws_ref);
  free(ref);
  free(a);
  free(b);
  free(bias);
  free(c0);
}

/* kr->transpose against the definition, on sizes around its 16x16 blocks. */
static void test_transpose(const eo_f32_kernels_t *kr) {
  if (!kr->transpose) return;
  const int64_t sizes[] = {1, 5, 16, 17, 49, 70};
  for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
    for (size_t b = 0; b < sizeof sizes / sizeof sizes[0]; b++) {
      const int64_t rows = sizes[a], cols = sizes[b], lds = cols + 3, ldd = rows + 5;
      float *src = rand_buf(rows * lds, 1.0f), *dst = rand_buf(cols * ldd, 1.0f), *want = malloc((size_t)(cols * ldd) * sizeof(float));
      memcpy(want, dst, (size_t)(cols * ldd) * sizeof(float));  // padding columns must stay untouched
      for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) want[j * ldd + i] = src[i * lds + j];
      kr->transpose(rows, cols, src, lds, dst, ldd);
      EO_CHECK_MSG(memcmp(dst, want, (size_t)(cols * ldd) * sizeof(float)) == 0, "%s transpose %lldx%lld", kr->name,
                   (long long)rows, (long long)cols);
      free(src);
      free(dst);
      free(want);
    }
}

static void test_gemm(const eo_f32_kernels_t *kr) {
  const int mr = kr->mr, nr = kr->nr;
  const int64_t ms[] = {1, 2, mr - 1, mr, mr + 1, 2 * mr + 3, 37};
  const int64_t ns[] = {1, 3, nr - 1, nr, nr + 1, 2 * nr + 5, 97};
  const int64_t ks[] = {1, 5, 17, EO_F32_GEMM_KC, EO_F32_GEMM_KC + 1, 2 * EO_F32_GEMM_KC + 7};
  // Every size combination once, with the other options drawn at random.
  for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
    for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
      for (size_t l = 0; l < sizeof ks / sizeof ks[0]; l++) {
        gemm_case t = {ms[i], ns[j], ks[l], irand(2), irand(2), irand(2), irand(2), irand(2), irand(4) == 0,
                       irand(4) == 0 ? 0.5f : 1.0f, acts[irand(N_ACTS)]};
        run_gemm_case(kr, &t);
      }
  // One row against many packed panels (gemm_row: 4 panels at a time, then one by one).
  const int64_t row_ns[] = {4 * nr, 4 * nr + 1, 8 * nr + 3 * nr - 5, 1000};
  for (size_t j = 0; j < sizeof row_ns / sizeof row_ns[0]; j++)
    for (size_t l = 0; l < sizeof ks / sizeof ks[0]; l++) {
      gemm_case t = {1, row_ns[j], ks[l], irand(2), 1, irand(2), irand(2), irand(2), irand(4) == 0,
                     irand(4) == 0 ? 0.5f : 1.0f, acts[irand(N_ACTS)]};
      run_gemm_case(kr, &t);
    }
  // Each activation and each operand form on one off-tile shape.
  for (int a = 0; a < N_ACTS; a++)
    for (int f = 0; f < 16; f++) {
      gemm_case t = {2 * mr + 1, 3 * nr - 2, 300, f & 1, (f >> 1) & 1, (f >> 2) & 1, (f >> 3) & 1, true, false, 1.0f,
                     acts[a]};
      run_gemm_case(kr, &t);
    }
  // Many columns and rows: several column chunks and row splits across threads.
  gemm_case big = {67, 1500, 70, true, false, false, false, true, false, 1.0f, EO_OP_RELU};
  run_gemm_case(kr, &big);
  gemm_case tall = {301, 20, 513, false, true, true, false, false, true, 2.0f, -1};
  run_gemm_case(kr, &tall);
  gemm_case k0 = {5, 7, 0, true, true, false, false, true, false, 1.0f, EO_OP_SIGMOID};  // K = 0: bias + act only
  run_gemm_case(kr, &k0);
}

/* ---- convolution ------------------------------------------------------------------------------- */

typedef struct conv_case {
  int nsp;  // spatial dims
  int64_t batch, groups, cg, mg;
  int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
  bool bias;
  int act;
  const char *path;  // expected plan path
} conv_case;

static void run_conv_case(const eo_f32_kernels_t *kr, const conv_case *t) {
  eo_conv_params p;
  memset(&p, 0, sizeof p);
  int lead = 3 - t->nsp;
  for (int d = 0; d < 3; d++) p.in[d] = p.out[d] = p.k[d] = p.stride[d] = p.dil[d] = 1;
  for (int d = 0; d < t->nsp; d++) {
    int64_t ek = (t->k[d] - 1) * t->d[d] + 1;
    p.in[lead + d] = t->in[d];
    p.k[lead + d] = t->k[d];
    p.stride[lead + d] = t->s[d];
    p.dil[lead + d] = t->d[d];
    p.pad[lead + d] = t->pb[d];
    p.out[lead + d] = (t->in[d] + t->pb[d] + t->pe[d] - ek) / t->s[d] + 1;
  }
  p.batch = t->batch;
  p.groups = t->groups;
  p.c_in = t->groups * t->cg;
  p.c_out = t->groups * t->mg;
  eo_f32_act act = act_of(t->act);
  p.act_op = act.op;
  p.act_alpha = act.alpha;
  p.act_beta = act.beta;
  int64_t kvol = p.k[0] * p.k[1] * p.k[2], nx = p.batch * p.c_in * p.in[0] * p.in[1] * p.in[2];
  int64_t ny = p.batch * p.c_out * p.out[0] * p.out[1] * p.out[2];
  float *x = rand_buf(nx, 1.0f), *w = rand_buf(p.c_out * t->cg * kvol, 0.5f), *bias = rand_buf(p.c_out, 1.0f);
  float *ref = malloc((size_t)ny * sizeof(float));
  void *sref = aligned(eo_f32_conv_scratch__ref(&p) + 64);
  eo_f32_conv__ref(&p, x, w, t->bias ? bias : NULL, ref, sref);

  char what[300];
  snprintf(what, sizeof what,
           "%s conv %dD n=%lld g=%lld cg=%lld mg=%lld in=%lldx%lldx%lld k=%lldx%lldx%lld s=%lld,%lld d=%lld,%lld "
           "pad=%lld,%lld bias=%d act=%s",
           kr->name, t->nsp, (long long)p.batch, (long long)p.groups, (long long)t->cg, (long long)t->mg,
           (long long)p.in[0], (long long)p.in[1], (long long)p.in[2], (long long)p.k[0], (long long)p.k[1],
           (long long)p.k[2], (long long)p.stride[1], (long long)p.stride[2], (long long)p.dil[1], (long long)p.dil[2],
           (long long)p.pad[1], (long long)p.pad[2], t->bias, t->act >= 0 ? eo_activation_name(t->act) : "none");
  float *out[3];
  for (int run = 0; run < 3; run++) {  // 1 thread, 2 threads, 2 threads with readers split by rows
    const int th = run > 0;
    eo_f32_conv_plan *pl = NULL;
    eo_status st = eo_f32_conv_plan_create(kr, &p, w, th + 1, &pl);
    EO_CHECK_MSG(st == EO_OK, "%s: %s", what, eo_last_error());
    out[run] = calloc((size_t)ny, sizeof(float));
    if (!pl) continue;
    EO_CHECK_MSG(strcmp(eo_f32_conv_plan_path(pl), t->path) == 0, "%s: path %s, expected %s", what,
                 eo_f32_conv_plan_path(pl), t->path);
    eo_f32_conv_plan_readers_split_rows(pl, run == 2);  // depthwise: bands of output rows
    uint8_t *scratch = malloc(eo_f32_conv_plan_scratch(pl) + 1);
    eo_f32_conv_run(pl, x, t->bias ? bias : NULL, out[run], th ? pool2 : NULL, scratch + 1);
    free(scratch);
    eo_f32_conv_plan_free(pl);
  }
  close_enough(out[0], ref, ny, what);
  EO_CHECK_MSG(memcmp(out[0], out[1], (size_t)ny * sizeof(float)) == 0, "%s: 1 and 2 threads differ", what);
  EO_CHECK_MSG(memcmp(out[0], out[2], (size_t)ny * sizeof(float)) == 0, "%s: 2 threads, readers by rows, differ",
               what);
  for (int run = 0; run < 3; run++) free(out[run]);
  free(sref);
  free(ref);
  free(x);
  free(w);
  free(bias);
}

static void test_conv(const eo_f32_kernels_t *kr) {
  // Depthwise: 3x3 / 5x5 / 7x7, strides 1, 2, 3 (gather), dilation, asymmetric pads, widths around
  // the vector width (8 and 16) and 1.
  const int64_t widths[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 40};
  for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
    for (int64_t s = 1; s <= 3; s++)
      for (int64_t k = 3; k <= 5; k += 2) {
        int64_t wdt = widths[i], pad = k / 2;
        conv_case t = {2, 1, 3, 1, 1, {5, wdt}, {k, k}, {s, s}, {1, 1}, {pad, pad}, {pad, pad}, irand(2),
                       acts[irand(N_ACTS)], "depthwise"};
        if (wdt + 2 * pad < k) continue;
        run_conv_case(kr, &t);
      }
  conv_case dw[] = {
      {2, 2, 8, 1, 1, {12, 19}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, true, EO_OP_CLIP, "depthwise"},
      {2, 1, 4, 1, 1, {9, 14}, {3, 3}, {2, 2}, {1, 1}, {0, 1}, {1, 0}, true, EO_OP_RELU, "depthwise"},
      {2, 1, 4, 1, 1, {11, 23}, {7, 7}, {2, 1}, {1, 1}, {3, 3}, {3, 3}, false, -1, "depthwise"},
      {2, 1, 2, 1, 1, {6, 35}, {5, 3}, {1, 2}, {1, 3}, {2, 0}, {1, 4}, true, EO_OP_HARD_SWISH, "depthwise"},
      {2, 1, 3, 1, 1, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, EO_OP_SIGMOID, "depthwise"},
      {1, 1, 5, 1, 1, {50}, {3}, {1}, {1}, {1}, {1}, true, EO_OP_LEAKY_RELU, "depthwise"},
  };
  for (size_t i = 0; i < sizeof dw / sizeof dw[0]; i++) run_conv_case(kr, &dw[i]);
  // The depthwise layers of mobilenet_v2 (Relu6 = Clip), mobilenet_v3_small (ReLU, HardSwish) and
  // efficientnet_b0 (SiLU): 3x3 / 5x5, stride 1 / 2, maps 7..112, 16..1152 channels (several
  // planes per task, uneven task counts); then the wide grid's corners: stride 2x1 and 1x2, an
  // unused last input column, pads past the kernel, 7x7 and 3x5 (taps from a table), 1x1, 9x9 and
  // dilation (the row kernels).
  conv_case dwm[] = {
      {2, 1, 32, 1, 1, {112, 112}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "depthwise"},
      {2, 1, 96, 1, 1, {112, 112}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "depthwise"},
      {2, 1, 144, 1, 1, {56, 56}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "depthwise"},
      {2, 1, 144, 1, 1, {56, 56}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "depthwise"},
      {2, 1, 192, 1, 1, {28, 28}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "depthwise"},
      {2, 1, 192, 1, 1, {28, 28}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "depthwise"},
      {2, 1, 384, 1, 1, {14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "depthwise"},
      {2, 1, 576, 1, 1, {14, 14}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "depthwise"},
      {2, 1, 960, 1, 1, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "depthwise"},
      {2, 1, 16, 1, 1, {112, 112}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "depthwise"},
      {2, 1, 72, 1, 1, {56, 56}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "depthwise"},
      {2, 1, 88, 1, 1, {28, 28}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "depthwise"},
      {2, 1, 96, 1, 1, {28, 28}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, true, EO_OP_HARD_SWISH, "depthwise"},
      {2, 1, 240, 1, 1, {14, 14}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, true, EO_OP_HARD_SWISH, "depthwise"},
      {2, 1, 288, 1, 1, {14, 14}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, true, EO_OP_HARD_SWISH, "depthwise"},
      {2, 1, 576, 1, 1, {7, 7}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, true, EO_OP_HARD_SWISH, "depthwise"},
      {2, 1, 144, 1, 1, {56, 56}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, true, EO_ACT_SILU, "depthwise"},
      {2, 1, 240, 1, 1, {28, 28}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, true, EO_ACT_SILU, "depthwise"},
      {2, 1, 240, 1, 1, {28, 28}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_ACT_SILU, "depthwise"},
      {2, 1, 672, 1, 1, {14, 14}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, true, EO_ACT_SILU, "depthwise"},
      {2, 1, 1152, 1, 1, {7, 7}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, true, EO_ACT_SILU, "depthwise"},
      {2, 1, 1152, 1, 1, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, false, -1, "depthwise"},
      {2, 2, 5, 1, 1, {13, 17}, {3, 3}, {2, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "depthwise"},
      {2, 1, 5, 1, 1, {17, 13}, {5, 5}, {1, 2}, {1, 1}, {2, 1}, {0, 2}, true, EO_OP_TANH, "depthwise"},
      {2, 1, 3, 1, 1, {8, 8}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, true, -1, "depthwise"},
      {2, 1, 3, 1, 1, {9, 10}, {5, 5}, {2, 2}, {1, 1}, {0, 0}, {1, 0}, true, EO_OP_ELU, "depthwise"},
      {2, 1, 3, 1, 1, {3, 4}, {3, 3}, {1, 2}, {1, 1}, {4, 3}, {2, 5}, true, EO_OP_SIGMOID, "depthwise"},
      {2, 1, 7, 1, 1, {20, 21}, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, true, EO_OP_HARD_SIGMOID, "depthwise"},
      {2, 1, 4, 1, 1, {15, 33}, {3, 5}, {1, 1}, {1, 1}, {1, 2}, {1, 2}, true, EO_OP_LEAKY_RELU, "depthwise"},
      {2, 2, 6, 1, 1, {9, 11}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, EO_OP_RELU, "depthwise"},
      {2, 1, 3, 1, 1, {19, 20}, {9, 9}, {1, 1}, {1, 1}, {4, 4}, {4, 4}, true, -1, "depthwise"},
      {2, 1, 3, 1, 1, {19, 20}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, true, EO_OP_RELU, "depthwise"},
      // 16 channels at once (AVX-512): batch 2 with a partial last block, asymmetric pads, no
      // padding, pads past the kernel, a map wider than a 64 KiB strip (several strips)
      {2, 2, 40, 1, 1, {13, 11}, {5, 5}, {2, 2}, {1, 1}, {2, 1}, {1, 2}, true, EO_OP_HARD_SWISH, "depthwise"},
      {2, 2, 32, 1, 1, {10, 9}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, false, -1, "depthwise"},
      {2, 1, 16, 1, 1, {3, 4}, {3, 3}, {2, 2}, {1, 1}, {4, 3}, {2, 5}, true, EO_OP_SIGMOID, "depthwise"},
      {2, 1, 17, 1, 1, {30, 150}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, true, EO_OP_RELU, "depthwise"},
      {2, 1, 16, 1, 1, {5, 300}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "depthwise"},
      // 3x3 stride 2 plane by plane (28 outputs wide and more): odd widths, TF-style pads (0 before,
      // 1 after), pads of 2, blocks whose 33 input columns run past either end of the row, batch 2,
      // 20 channels (one block of 16 and 4 planes on their own)
      {2, 2, 20, 1, 1, {29, 59}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {1, 1}, true, EO_OP_RELU, "depthwise"},
      {2, 1, 16, 1, 1, {31, 97}, {3, 3}, {2, 2}, {1, 1}, {1, 0}, {1, 2}, false, -1, "depthwise"},
      {2, 1, 32, 1, 1, {17, 60}, {3, 3}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, true, EO_ACT_SILU, "depthwise"},
      {2, 1, 16, 1, 1, {4, 56}, {3, 3}, {2, 2}, {1, 1}, {0, 1}, {0, 0}, true, EO_OP_CLIP, "depthwise"},
  };
  for (size_t i = 0; i < sizeof dwm / sizeof dwm[0]; i++) run_conv_case(kr, &dwm[i]);
  // Few input channels at stride 2 go to the direct kernel where the ISA has one (test_conv_direct.c)
  const char *d_sh = kr->conv_direct ? "direct" : "shifted", *d_im = kr->conv_direct ? "direct" : "im2col";
  // Pointwise and im2col GEMM paths: channel counts below, at and above the tile, groups, batch.
  const int64_t chans[] = {1, 3, (int64_t)kr->mr, (int64_t)kr->mr + 1, 29};
  for (size_t i = 0; i < sizeof chans / sizeof chans[0]; i++) {
    int64_t mg = chans[i], cg = chans[(i + 2) % 5];
    conv_case pw = {2, 1 + irand(2), 1, cg, mg, {7, 9}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, irand(2),
                    acts[irand(N_ACTS)], "pointwise"};
    run_conv_case(kr, &pw);
    conv_case c3 = {2, 1, 1, cg, mg, {10, 13}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, irand(2), acts[irand(N_ACTS)],
                    "shifted"};
    run_conv_case(kr, &c3);
  }
  conv_case gm[] = {
      {2, 2, 2, 3, 5, {9, 11}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {0, 1}, true, EO_OP_RELU, "shifted"},    // groups, stride
      {2, 1, 1, 4, 6, {14, 15}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, true, -1, d_sh},                 // 1x1 stride 2
      {2, 1, 1, 3, 16, {20, 21}, {3, 3}, {1, 1}, {2, 3}, {2, 3}, {2, 3}, false, EO_OP_ELU, "shifted"},   // dilation
      {2, 1, 4, 2, 3, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_TANH, "shifted"},      // grouped
      {2, 1, 1, 3, 8, {30, 31}, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, true, EO_OP_RELU, d_sh},         // stem-like
      {2, 1, 1, 40, 20, {6, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_HARD_SIGMOID, "shifted"},  // K > KC
      {2, 1, 1, 300, 13, {3, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, EO_OP_SIGMOID, "pointwise"},   // K > KC
      {1, 2, 1, 4, 7, {33}, {5}, {2}, {1}, {2}, {1}, true, EO_OP_LEAKY_RELU, d_sh},                      // 1-D
      {3, 1, 1, 2, 5, {4, 5, 6}, {3, 2, 3}, {1, 2, 1}, {1, 1, 2}, {1, 0, 2}, {1, 1, 1}, true, -1, "im2col"},  // 3-D
      {2, 1, 1, 8, 64, {28, 28}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "shifted"},   // many columns
      // Shifted (stride 1 over a zero-padded copy, wide output grid): asymmetric and no padding,
      // 5x5 and 3x1 kernels, batch + groups, 1-D, K > KC, widths around the panel width.
      {2, 2, 2, 5, 7, {11, 30}, {3, 3}, {1, 1}, {1, 1}, {0, 2}, {1, 0}, true, EO_OP_LEAKY_RELU, "shifted"},
      {2, 1, 1, 6, 9, {12, 33}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, true, EO_OP_SIGMOID, "shifted"},
      {2, 1, 1, 7, 10, {9, 17}, {3, 1}, {1, 1}, {1, 1}, {1, 0}, {1, 0}, false, -1, "shifted"},
      {2, 1, 1, 5, 12, {10, 16}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, EO_OP_RELU, "shifted"},
      {2, 1, 1, 48, 12, {20, 20}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_CLIP, "shifted"},
      {1, 2, 1, 4, 7, {45}, {5}, {1}, {1}, {2}, {2}, true, EO_OP_RELU, "shifted"},
      // Strides 2 and 3 (phase planes), with dilation, odd sizes, asymmetric pads, stride 2x1.
      {2, 1, 1, 16, 32, {80, 80}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_SIGMOID, "shifted"},
      {2, 2, 1, 5, 6, {41, 39}, {3, 3}, {2, 2}, {2, 2}, {2, 1}, {2, 1}, true, EO_OP_RELU, "shifted"},
      {2, 1, 2, 3, 4, {31, 44}, {5, 4}, {3, 3}, {1, 1}, {2, 1}, {2, 2}, false, -1, "shifted"},
      {2, 1, 1, 6, 5, {20, 37}, {3, 5}, {2, 1}, {1, 2}, {0, 4}, {1, 4}, true, EO_OP_HARD_SWISH, "shifted"},
      {2, 1, 1, 3, 16, {160, 160}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, d_sh},  // K < tile
      // 3-D with depth 1 but padded in depth: neither the 2-D shifted nor the depthwise kernel.
      {3, 1, 1, 2, 3, {1, 6, 7}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, true, -1, "im2col"},
      {3, 1, 3, 1, 1, {1, 6, 7}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, true, EO_OP_RELU, "im2col"},
      // Too many discarded wide columns: stays im2col.
      {2, 1, 1, 4, 3, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "im2col"},
      {2, 1, 1, 4, 3, {7, 7}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, true, EO_OP_RELU, d_im},
      // Few output positions: the transposed GEMM (positions as rows, channels as vector columns).
      {2, 1, 1, 20, 64, {7, 7}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, true, EO_OP_RELU, "im2col-t"},
      {2, 2, 2, 30, 70, {9, 8}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, true, EO_OP_HARD_SWISH, "im2col-t"},
      // ... unless the shifted path can run it: its rows are packed from the padded phase planes.
      {2, 1, 1, 128, 128, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "shifted-t"},
      {2, 2, 2, 30, 200, {9, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_HARD_SWISH, "shifted-t"},
      {2, 1, 1, 64, 256, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "shifted-t"},  // K > KC
      {2, 1, 1, 64, 256, {8, 8}, {3, 2}, {1, 1}, {2, 1}, {2, 0}, {2, 1}, false, EO_OP_SIGMOID, "shifted-t"},  // dilation
      // 12 positions spanning more than 32 plane floats (dilation 11): the element-wise panel packing
      {2, 1, 1, 64, 1024, {3, 70}, {1, 3}, {1, 1}, {1, 11}, {0, 11}, {0, 11}, true, EO_OP_RELU, "shifted-t"},
      // small K or few output channels: the wide grid's extra columns cost less than the transposed
      // path's packing and passes over Y^T
      {2, 1, 1, 20, 64, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "shifted"},
      // few output channels: the wide grid's extra columns cost less than packing the rows
      {2, 1, 1, 20, 8, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "shifted"},
      {2, 1, 1, 300, 64, {5, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, EO_OP_SIGMOID, "pointwise-t"},  // K > KC
      {2, 2, 1, 37, 90, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, EO_OP_SIGMOID, "pointwise-t"},  // SE block
      {2, 1, 1, 16, 33, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, false, -1, "pointwise-t"},
      // weights over 1 MiB: at 2 workers A is packed once and the weights split (shared_a_floats)
      {2, 1, 1, 960, 320, {7, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, -1, "pointwise-t"},
      {2, 1, 1, 64, 256, {7, 7}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, true, EO_OP_RELU, "im2col-t"},
      {2, 1, 1, 513, 40, {3, 3}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, false, EO_OP_CLIP, "im2col-t"},  // K blocks
      // Large Y^T: its bias fill and transpose are split across the pool.
      {2, 1, 1, 16, 1280, {7, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, EO_OP_RELU, "pointwise-t"},
      {2, 2, 1, 8, 700, {7, 7}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, false, -1, "im2col-t"},
  };
  for (size_t i = 0; i < sizeof gm / sizeof gm[0]; i++) run_conv_case(kr, &gm[i]);
  // SiLU (Conv -> Sigmoid -> Mul fused) in the epilogue of every plan path.
  conv_case silu[] = {
      {2, 1, 6, 1, 1, {9, 19}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, true, EO_ACT_SILU, "depthwise"},
      {2, 2, 1, 5, 19, {7, 9}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, EO_ACT_SILU, "pointwise"},
      {2, 1, 1, 6, 9, {12, 33}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_ACT_SILU, "shifted"},
      {2, 1, 1, 4, 3, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, false, EO_ACT_SILU, "im2col"},
      {2, 1, 1, 20, 64, {7, 7}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, true, EO_ACT_SILU, "im2col-t"},
      {2, 2, 1, 37, 90, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, EO_ACT_SILU, "pointwise-t"},
  };
  for (size_t i = 0; i < sizeof silu / sizeof silu[0]; i++) run_conv_case(kr, &silu[i]);
  if (!kr->wino_in) return;
  // Winograd F(2x2, 3x3): odd heights and widths (tiles cut by the edge), asymmetric and no padding,
  // batch, K > KC, several tile blocks, output channels split into chunks, resnet18's first shape.
  // Its rounding error is 2.5-3.5x a direct convolution's (relative to the largest output, no
  // activation: 64->64 56x56 5.2e-7 vs 2.2e-7, 256->256 14x14 8.0e-7 vs 2.4e-7, 300->24 5.1e-7 vs
  // 1.6e-7), so the K > KC case has no activation: Clip(-0.5, 0.75) would make the scale 0.75 where
  // the 2700-term sums are about 8, and its 1.25e-5 error would be measured against the clipped range.
  conv_case wino[] = {
      {2, 1, 1, 48, 48, {9, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "winograd"},
      {2, 1, 1, 40, 47, {5, 41}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, false, EO_OP_CLIP, "winograd"},
      {2, 2, 1, 48, 40, {12, 30}, {3, 3}, {1, 1}, {1, 1}, {0, 1}, {1, 0}, false, EO_ACT_SILU, "winograd"},
      {2, 1, 1, 40, 40, {22, 23}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, true, EO_OP_LEAKY_RELU, "winograd"},
      {2, 1, 1, 300, 24, {10, 12}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, -1, "winograd"},
      {2, 1, 1, 40, 48, {60, 50}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_HARD_SWISH, "winograd"},
      {2, 1, 1, 32, 200, {14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_SIGMOID, "winograd"},
      {2, 1, 1, 64, 64, {56, 56}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, true, EO_OP_RELU, "winograd"},
  };
  for (size_t i = 0; i < sizeof wino / sizeof wino[0]; i++) run_conv_case(kr, &wino[i]);
}

/* ---- max pooling ------------------------------------------------------------------------------- */

/* 2-D max pool of `nc` planes vs eo_f32_maxpool__ref; out = the ceil-mode size when `ceil`. */
static void run_maxpool_case(const eo_f32_kernels_t *kr, int64_t nc, int64_t ih, int64_t iw, int64_t kh, int64_t kw,
                             int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t pt, int64_t pl, int64_t pb,
                             int64_t pr, bool ceil) {
  eo_pool_params p;
  memset(&p, 0, sizeof p);
  p.nd = 2;
  p.nc = nc;
  int64_t in[2] = {ih, iw}, k[2] = {kh, kw}, s[2] = {sh, sw}, d[2] = {dh, dw}, b[2] = {pt, pl}, e[2] = {pb, pr};
  for (int i = 0; i < 2; i++) {
    int64_t span = in[i] + b[i] + e[i] - ((k[i] - 1) * d[i] + 1);
    p.in[i] = in[i];
    p.kernel[i] = k[i];
    p.stride[i] = s[i];
    p.dilation[i] = d[i];
    p.pad_begin[i] = b[i];
    p.pad_end[i] = e[i];
    p.out[i] = (ceil ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
  }
  int64_t nx = nc * ih * iw, ny = nc * p.out[0] * p.out[1];
  float *x = rand_buf(nx, 1.0f), *ref = malloc((size_t)ny * sizeof(float)), *y[2];
  for (int64_t i = 0; i < nx; i += 5) x[i] = -INFINITY;  // -inf inputs still beat the padding
  eo_f32_maxpool__ref(&p, x, ref, NULL);
  eo_f32_dw_args a = {.ih_n = ih, .iw_n = iw, .oh_n = p.out[0], .ow_n = p.out[1], .kh = kh, .kw = kw, .sh = sh,
                      .sw = sw, .dh = dh, .dw = dw, .pad_t = pt, .pad_l = pl};
  for (int th = 0; th < 2; th++) {
    y[th] = malloc((size_t)ny * sizeof(float));
    eo_f32_maxpool2d(kr, &a, nc, x, y[th], th ? pool2 : NULL);
  }
  EO_CHECK_MSG(memcmp(y[0], ref, (size_t)ny * sizeof(float)) == 0 && memcmp(y[1], ref, (size_t)ny * sizeof(float)) == 0,
               "%s maxpool in=%lldx%lld k=%lldx%lld s=%lld,%lld d=%lld,%lld pads=%lld,%lld,%lld,%lld ceil=%d differs "
               "from the reference", kr->name, (long long)ih, (long long)iw, (long long)kh, (long long)kw, (long long)sh,
               (long long)sw, (long long)dh, (long long)dw, (long long)pt, (long long)pl, (long long)pb, (long long)pr,
               ceil);
  free(x);
  free(ref);
  free(y[0]);
  free(y[1]);
}

static void test_maxpool(const eo_f32_kernels_t *kr) {
  const int64_t widths[] = {1, 4, 7, 8, 9, 16, 17, 33, 56};
  for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
    for (int64_t s = 1; s <= 3; s++) {
      int64_t w = widths[i];
      if (w >= 3) run_maxpool_case(kr, 3, 6, w, 3, 3, s, s, 1, 1, 1, 1, 1, 1, false);  // ResNet's 3x3/2 pad 1
      if (w >= 2) run_maxpool_case(kr, 2, 5, w, 2, 2, s, s, 1, 1, 0, 0, 0, 0, s > 1);  // 2x2, ceil mode
      run_maxpool_case(kr, 2, 4, w, 1, 3, s, s, 1, 1, 0, 2, 0, 2, true);             // wide pads
    }
  run_maxpool_case(kr, 2, 9, 20, 3, 2, 2, 3, 2, 3, 2, 3, 1, 3, false);  // dilation, stride 3
  run_maxpool_case(kr, 1, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, false);   // pads >= kernel: empty windows
  run_maxpool_case(kr, 2, 1, 37, 1, 5, 1, 2, 1, 1, 0, 2, 0, 2, false);  // 1-D as one row
}

/* GlobalAveragePool: plane sizes around the vector widths, many planes (several tasks). */
static void test_global_avgpool(const eo_f32_kernels_t *kr) {
  const int64_t spatials[] = {1, 7, 8, 9, 15, 16, 17, 49, 196, 3136};
  for (size_t i = 0; i < sizeof spatials / sizeof spatials[0]; i++) {
    int64_t sp = spatials[i], nc = 37;
    float *x = rand_buf(nc * sp, 3.0f), ref[37], y[2][37];
    for (int64_t j = 0; j < nc * sp; j += 3) x[j] += 2.0f;  // a nonzero mean
    eo_f32_global_avgpool__ref(nc, sp, x, ref);
    eo_f32_global_avgpool(kr, nc, sp, x, y[0], NULL);
    eo_f32_global_avgpool(kr, nc, sp, x, y[1], pool2);
    char what[96];
    snprintf(what, sizeof what, "%s global avgpool spatial=%lld", kr->name, (long long)sp);
    close_enough(y[0], ref, nc, what);
    EO_CHECK_MSG(memcmp(y[0], y[1], sizeof y[0]) == 0, "%s: 1 and 2 threads differ", what);
    free(x);
  }
}

/* ---- activations -------------------------------------------------------------------------------- */

static void test_vact(const eo_f32_kernels_t *kr) {
  const int64_t lens[] = {0, 1, 7, 8, 9, 15, 16, 17, 33, 1000, 40000};
  for (int a = 1; a < N_ACTS; a++)
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
      int64_t n = lens[i];
      float *x = rand_buf(n, 8.0f), *ref = malloc((size_t)(n + 1) * sizeof(float)), *y = malloc((size_t)(n + 1) * sizeof(float));
      for (int64_t j = 0; j < n; j += 7) x[j] *= 1e-3f;    // near zero (tanh's small branch)
      for (int64_t j = 3; j < n; j += 11) x[j] *= 30.0f;   // saturating magnitudes
      memcpy(ref, x, (size_t)n * sizeof(float));
      eo_f32_act act = act_of(acts[a]);
      eo_f32_activation__ref(act.op, act.alpha, act.beta, ref, n);
      eo_f32_vact(kr, &act, x, y, n, pool2);
      char what[128];
      snprintf(what, sizeof what, "%s %s n=%lld", kr->name, eo_activation_name(act.op), (long long)n);
      close_enough(y, ref, n, what);
      // Elementwise relative accuracy too (the check above is relative to the largest output). The
      // hard ops cancel in alpha * x + beta, where the reference rounds twice and the kernel once
      // (FMA): their error is relative to the input's magnitude.
      bool hard = act.op == EO_OP_HARD_SIGMOID || act.op == EO_OP_HARD_SWISH;
      double worst = 0;
      for (int64_t j = 0; j < n; j++) {
        double den = fabs(ref[j]) > 1e-3 ? fabs(ref[j]) : 1e-3;
        if (hard && fabs(x[j]) > den) den = fabs(x[j]);
        double d = fabs((double)y[j] - ref[j]) / den;
        worst = d > worst ? d : worst;
      }
      EO_CHECK_MSG(worst <= 1e-5, "%s: elementwise relative error %.3g", what, worst);
      if (act.op == EO_ACT_SILU) {  // the standalone Sigmoid op's kernel, then Mul: bit-identical
        eo_f32_act sg = {EO_OP_SIGMOID, 0.0f, 0.0f};
        float *t = malloc((size_t)(n + 1) * sizeof(float));
        eo_f32_vact(kr, &sg, x, t, n, NULL);
        int64_t differ = 0;
        for (int64_t j = 0; j < n; j++) differ += y[j] != x[j] * t[j];
        EO_CHECK_MSG(differ == 0, "%s: %lld values differ from Sigmoid then Mul", what, (long long)differ);
        free(t);
      }
      eo_f32_vact(kr, &act, x, x, n, NULL);  // in place
      EO_CHECK_MSG(n == 0 || memcmp(x, y, (size_t)n * sizeof(float)) == 0, "%s: in place differs", what);
      free(x);
      free(ref);
      free(y);
    }
}

/* Sigmoid and SiLU over their whole range: a sweep of [-100, 100] in steps of 1e-3 (both saturations,
 * the clamp of 2^t at |v| ~ 87.3, the exact 0 below -88.7) and special values, against the sigmoid
 * in double precision: within 1e-6 of max(|reference|, 1e-3), NaN stays NaN, infinities saturate. */
static void test_sigmoid_range(const eo_f32_kernels_t *kr) {
  const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-30f, -1e-30f, 1e-40f, FLT_MAX, -FLT_MAX,
                           -88.69f, -88.71f, -87.34f, 87.34f, 88.38f, 88.8f, 1e4f, -1e4f};
  const int64_t n_sweep = 200001, n_sp = (int64_t)(sizeof special / sizeof special[0]), n = n_sweep + n_sp;
  float *x = malloc((size_t)n * sizeof(float)), *s = malloc((size_t)n * sizeof(float));
  float *q = malloc((size_t)n * sizeof(float));
  for (int64_t j = 0; j < n_sweep; j++) x[j] = (float)(-100.0 + 1e-3 * (double)j);
  memcpy(x + n_sweep, special, sizeof special);
  const eo_f32_act sg = {EO_OP_SIGMOID, 0.0f, 0.0f}, si = {EO_ACT_SILU, 0.0f, 0.0f};
  eo_f32_vact(kr, &sg, x, s, n, NULL);
  eo_f32_vact(kr, &si, x, q, n, NULL);
  double worst_s = 0, worst_q = 0;
  int64_t bad_special = 0;
  for (int64_t j = 0; j < n; j++) {
    const double v = x[j];
    if (isnan(v)) {
      bad_special += !isnan(s[j]) || !isnan(q[j]);
      continue;
    }
    if (isinf(v)) {  // SiLU(-inf) = -inf * 0, NaN, as Sigmoid then Mul
      bad_special += s[j] != (v > 0 ? 1.0f : 0.0f) || (v > 0 ? q[j] != INFINITY : !isnan(q[j]));
      continue;
    }
    const double want = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v)), wq = v * want;
    const double es = fabs(s[j] - want) / (want > 1e-3 ? want : 1e-3);
    const double eq = fabs(q[j] - wq) / (fabs(wq) > 1e-3 ? fabs(wq) : 1e-3);
    if (!(es <= worst_s)) worst_s = es;  // NaN sticks
    if (!(eq <= worst_q)) worst_q = eq;
    if (v < -88.7) bad_special += s[j] != 0.0f;
  }
  EO_CHECK_MSG(worst_s <= 1e-6, "%s Sigmoid over [-100, 100]: relative error %.3g", kr->name, worst_s);
  EO_CHECK_MSG(worst_q <= 1e-6, "%s SiLU over [-100, 100]: relative error %.3g", kr->name, worst_q);
  EO_CHECK_MSG(bad_special == 0, "%s Sigmoid / SiLU: %lld special values wrong", kr->name, (long long)bad_special);
  printf("%s sigmoid sweep: relative error %.3g, SiLU %.3g\n", kr->name, worst_s, worst_q);
  free(x);
  free(s);
  free(q);
}

/* ---- thread pool, ISA selection, whole model ---------------------------------------------------- */

static void count_task(void *ctx, size_t i, int worker) {
  int *hits = ctx;
  __atomic_fetch_add(&hits[i], 1 + 1000 * (worker < 0 || worker >= 3), __ATOMIC_RELAXED);
}

static void test_threadpool(void) {
  eo_threadpool *tp = NULL;
  EO_CHECK(eo_threadpool_create(3, &tp) == EO_OK && eo_threadpool_size(tp) == 3);
  int hits[1000];
  for (int rep = 0; rep < 50; rep++) {  // many short jobs: wake-ups and hand-offs
    size_t n = (size_t)(rep * 19 % 1000);
    memset(hits, 0, sizeof hits);
    eo_threadpool_run(tp, n, count_task, hits);
    int bad = 0;
    for (size_t i = 0; i < 1000; i++) bad += hits[i] != (i < n ? 1 : 0);
    EO_CHECK_MSG(bad == 0, "job %d (%zu tasks): %d tasks not run exactly once by a valid worker", rep, n, bad);
  }
  eo_threadpool_free(tp);
  EO_CHECK(eo_threadpool_size(NULL) == 1);
  memset(hits, 0, sizeof hits);
  eo_threadpool_run(NULL, 5, count_task, hits);
  EO_CHECK(hits[0] == 1 && hits[4] == 1 && hits[5] == 0);
  EO_CHECK(eo_threadpool_create(0, &tp) == EO_OK && eo_threadpool_size(tp) == eo_cpu_info_get()->cores);
  eo_threadpool_free(tp);
  tp = (eo_threadpool *)&tp;
  EO_CHECK(eo_threadpool_create(-1, &tp) == EO_ERR_INVALID && tp == NULL);
  eo_threadpool_free(NULL);
}

static void test_isa_env(void) {
  eo_isa max = eo_cpu_isa_max();
  setenv("EO_ISA", "ref", 1);
  EO_CHECK(eo_cpu_isa() == EO_ISA_REF && eo_f32_kernels(eo_cpu_isa()) == NULL);
  setenv("EO_ISA", "avx2", 1);
  EO_CHECK(eo_cpu_isa() == (max < EO_ISA_AVX2 ? max : EO_ISA_AVX2));
  setenv("EO_ISA", "avx512", 1);
  EO_CHECK(eo_cpu_isa() == max);
  setenv("EO_ISA", "bogus", 1);
  EO_CHECK(eo_cpu_isa() == max);
  unsetenv("EO_ISA");
  EO_CHECK(eo_cpu_isa() == max);
  const eo_cpu_info *ci = eo_cpu_info_get();
  EO_CHECK(ci->cores >= 1 && (!ci->avx512f || ci->avx2) && (!ci->avx512vnni || ci->avx512f));
  printf("cpu: avx2=%d fma=%d f16c=%d avx512f=%d avx512vnni=%d cores=%d -> %s\n", ci->avx2, ci->fma, ci->f16c,
         ci->avx512f, ci->avx512vnni, ci->cores, eo_isa_name(max));
}

/* Runs the example model `runs` times on an input set once, checking every run's first output
 * equals the first run's; returns that output (malloc'd) and sets *n. */
static float *run_model(eo_model *m, const float *input, int force_ref, int threads, int runs, int64_t *n) {
  eo_session_options o = {.force_ref = force_ref, .threads = threads};
  eo_session *s = NULL;
  float *out = NULL;
  const eo_value_desc *in = eo_model_input(m, 0);
  int64_t dims[EO_MAX_RANK];
  for (int d = 0; d < in->rank; d++) dims[d] = in->dims[d] > 0 ? in->dims[d] : 1;  // batch 1
  eo_input_shape shape = {in->name, in->rank, dims, 0, NULL};
  if (eo_session_create(m, &o, &s) || eo_session_prepare(s, 1, &shape) ||
      eo_session_set_input(s, in->name, EO_FLOAT, in->rank, dims, input) || eo_session_run(s)) {
    EO_CHECK_MSG(false, "example model: %s", eo_last_error());
  } else {
    eo_tensor_view v;
    eo_session_output(s, 0, &v);
    *n = (int64_t)(v.nbytes / sizeof(float));
    out = malloc(v.nbytes);
    memcpy(out, v.data, v.nbytes);
    int same = 1;
    for (int r = 1; r < runs; r++) {
      EO_CHECK(eo_session_run(s) == EO_OK);
      eo_session_output(s, 0, &v);
      same &= memcmp(out, v.data, v.nbytes) == 0;
    }
    EO_CHECK_MSG(same, "example model, %d threads: %d runs do not all give the same output", threads, runs);
  }
  eo_session_free(s);
  return out;
}

static void test_model(void) {
  eo_model *m = NULL;
  if (eo_model_load("examples/tiny_cnn.onnx", NULL, &m)) {
    EO_CHECK_MSG(false, "examples/tiny_cnn.onnx: %s", eo_last_error());
    return;
  }
  const eo_value_desc *in = eo_model_input(m, 0);
  int64_t nin = 1;
  for (int d = 0; d < in->rank; d++) nin *= in->dims[d] > 0 ? in->dims[d] : 1;
  float *x = rand_buf(nin, 1.0f);
  int64_t n0 = 0, n1 = 0, n2 = 0;
  // 12 runs at 2 threads: the thread tuner's alternating runs (eo_session_run), then its choice
  float *ref = run_model(m, x, 1, 1, 1, &n0), *f1 = run_model(m, x, 0, 1, 3, &n1), *f2 = run_model(m, x, 0, 2, 12, &n2);
  if (ref && f1 && f2 && n0 == n1 && n0 == n2) {
    close_enough(f1, ref, n0, "example model: fast vs reference kernels");
    EO_CHECK_MSG(memcmp(f1, f2, (size_t)n1 * sizeof(float)) == 0, "example model: 1 and 2 threads differ");
  } else {
    EO_CHECK_MSG(false, "example model: runs failed or output sizes differ");
  }
  free(ref);
  free(f1);
  free(f2);
  free(x);
  eo_model_free(m);
}

int main(void) {
  test_isa_env();
  test_threadpool();
  if (eo_threadpool_create(2, &pool2)) {
    EO_CHECK_MSG(false, "thread pool: %s", eo_last_error());
    return eo_test_finish();
  }
  int tested = 0;
  for (int isa = EO_ISA_AVX2; isa <= (int)eo_cpu_isa_max(); isa++) {
    const eo_f32_kernels_t *kr = eo_f32_kernels((eo_isa)isa);
    EO_CHECK(kr != NULL);
    if (!kr) continue;
    printf("kernels %s: gemm %dx%d\n", kr->name, kr->mr, kr->nr);
    test_gemm(kr);
    test_transpose(kr);
    test_conv(kr);
    test_vact(kr);
    test_sigmoid_range(kr);
    test_maxpool(kr);
    test_global_avgpool(kr);
    tested++;
  }
  EO_CHECK(tested == (int)eo_cpu_isa_max());  // every ISA above ref that the CPU has
  test_model();
  eo_threadpool_free(pool2);
  return eo_test_finish();
}
