/* The direct convolution for few input channels (kernels/x86/f32-conv-direct-avx512.c, the "direct"
 * path of eo_f32_conv_plan) against the reference convolution (ref/f32-conv-ref.c):
 *   - the first layers of the models here at full size (mobilenet_v2 + Clip 0..6, mobilenet_v3_small
 *     + HardSwish, efficientnet_b0 + SiLU, resnet18's 7x7 pad 3, BlazeFace's 5x5 with pads 1,1,2,2,
 *     the example detector; the example tiny CNN's stride-1 layer);
 *   - strides 2x2, 2x1, 1x2 and 1x1, every padding side alone, pads past the kernel, odd widths and
 *     heights around the 16-position vector (1, 15, 16, 17, 33, 49), output channels around the
 *     8-channel block, 1 to 4 input channels, kernels 1x1 to 7x7 (square or not), batch 2, no bias,
 *     every fused activation, then 150 random shapes;
 *   - 1, 2, 3 and 4 threads byte-identical (bands of output rows differ with the thread count);
 *   - the path rule's boundary at stride 1 (90% of the tile lanes used) and no direct path on AVX2.
 * Within 1e-5 of the reference relative to the output's largest magnitude, the tolerance of the conv
 * cases in test_fast_kernels.c.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
#include "runtime/op.h"
#define FAST_TEST_SEED 777u
#include "fast_test.h"
#include "test.h"

#define MAX_THREADS 4

static eo_threadpool *pools[MAX_THREADS + 1];  // pools[t]: t workers (pools[1] = NULL: the caller)

typedef struct dcase {
  int64_t batch, cin, cout, ih, iw, kh, kw, sh, sw, pt, pl, pb, pr;
  bool bias;
  int act;
  float alpha, beta;  // the activation's parameters
  const char *path;   // expected plan path with the AVX-512 kernels
} dcase;

static void act_params(dcase *t) {
  const eo_f32_act a = act_of(t->act);
  t->alpha = a.alpha;
  t->beta = a.beta;
}

static void run_case(const eo_f32_kernels_t *kr, const dcase *t) {
  eo_conv_params p;
  memset(&p, 0, sizeof p);
  for (int d = 0; d < 3; d++) p.in[d] = p.out[d] = p.k[d] = p.stride[d] = p.dil[d] = 1;
  p.batch = t->batch;
  p.c_in = t->cin;
  p.c_out = t->cout;
  p.groups = 1;
  p.in[1] = t->ih;
  p.in[2] = t->iw;
  p.k[1] = t->kh;
  p.k[2] = t->kw;
  p.stride[1] = t->sh;
  p.stride[2] = t->sw;
  p.pad[1] = t->pt;
  p.pad[2] = t->pl;
  p.out[1] = (t->ih + t->pt + t->pb - t->kh) / t->sh + 1;
  p.out[2] = (t->iw + t->pl + t->pr - t->kw) / t->sw + 1;
  p.act_op = t->act;
  p.act_alpha = t->alpha;
  p.act_beta = t->beta;
  const int64_t nx = p.batch * p.c_in * p.in[1] * p.in[2], ny = p.batch * p.c_out * p.out[1] * p.out[2];
  const int64_t nw = p.c_out * p.c_in * p.k[1] * p.k[2];
  float *x = rand_buf(nx, 1.0f), *w = rand_buf(nw, 0.5f), *bias = rand_buf(p.c_out, 1.0f);
  float *ref = malloc((size_t)ny * sizeof(float));
  void *sref = aligned_alloc(64, (eo_f32_conv_scratch__ref(&p) + 64 + 63) / 64 * 64);
  eo_f32_conv__ref(&p, x, w, t->bias ? bias : NULL, ref, sref);

  char what[256];
  snprintf(what, sizeof what, "%s n=%lld %lld->%lld in=%lldx%lld k=%lldx%lld s=%lld,%lld pads=%lld,%lld,%lld,%lld",
           kr->name, (long long)p.batch, (long long)p.c_in, (long long)p.c_out, (long long)t->ih, (long long)t->iw,
           (long long)t->kh, (long long)t->kw, (long long)t->sh, (long long)t->sw, (long long)t->pt, (long long)t->pl,
           (long long)t->pb, (long long)t->pr);
  snprintf(what + strlen(what), sizeof what - strlen(what), " bias=%d act=%s", t->bias,
           t->act >= 0 ? eo_activation_name(t->act) : "none");
  float *out[MAX_THREADS + 1] = {0};
  for (int th = 1; th <= MAX_THREADS; th++) {
    eo_f32_conv_plan *pl = NULL;
    eo_status st = eo_f32_conv_plan_create(kr, &p, w, th, &pl);
    EO_CHECK_MSG(st == EO_OK, "%s: %s", what, eo_last_error());
    if (!pl) break;
    const char *path = eo_f32_conv_plan_path(pl), *want = t->cin == 1 && t->cout == 1 ? "depthwise" : t->path;
    if (kr->conv_direct)
      EO_CHECK_MSG(strcmp(path, want) == 0, "%s: path %s, expected %s", what, path, want);
    else
      EO_CHECK_MSG(strcmp(path, "direct") != 0, "%s: direct path without a direct kernel", what);
    out[th] = malloc((size_t)ny * sizeof(float));
    for (int64_t i = 0; i < ny; i++) out[th][i] = -12345.0f;  // every element must be written
    uint8_t *scratch = malloc(eo_f32_conv_plan_scratch(pl) + 1);
    eo_f32_conv_run(pl, x, t->bias ? bias : NULL, out[th], pools[th], scratch + 1);  // any alignment
    free(scratch);
    eo_f32_conv_plan_free(pl);
    if (th == 1) {
      close_enough(out[1], ref, ny, what);
    } else {
      EO_CHECK_MSG(memcmp(out[th], out[1], (size_t)ny * sizeof(float)) == 0, "%s: %d threads differ from 1", what, th);
    }
  }
  for (int th = 1; th <= MAX_THREADS; th++) free(out[th]);
  free(sref);
  free(ref);
  free(bias);
  free(w);
  free(x);
}

static void test_stems(const eo_f32_kernels_t *kr) {
  dcase stems[] = {
      {1, 3, 32, 224, 224, 3, 3, 2, 2, 1, 1, 1, 1, true, EO_OP_CLIP, 0.0f, 6.0f, "direct"},  // mobilenet_v2
      {1, 3, 16, 224, 224, 3, 3, 2, 2, 1, 1, 1, 1, true, EO_OP_HARD_SWISH, 0, 0, "direct"},  // mobilenet_v3_small
      {1, 3, 32, 224, 224, 3, 3, 2, 2, 1, 1, 1, 1, true, EO_ACT_SILU, 0, 0, "direct"},       // efficientnet_b0
      {1, 3, 64, 224, 224, 7, 7, 2, 2, 3, 3, 3, 3, true, EO_OP_RELU, 0, 0, "direct"},        // resnet18
      {1, 3, 24, 128, 128, 5, 5, 2, 2, 1, 1, 2, 2, true, EO_OP_RELU, 0, 0, "direct"},        // BlazeFace
      {1, 3, 16, 160, 160, 3, 3, 2, 2, 1, 1, 1, 1, true, EO_ACT_SILU, 0, 0, "direct"},       // example detector
      {2, 3, 8, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, true, EO_OP_RELU, 0, 0, "direct"},           // tiny_cnn (stride 1)
  };
  for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) run_case(kr, &stems[i]);
}

static void test_edges(const eo_f32_kernels_t *kr) {
  // Every padding side alone, and pads past the kernel (windows entirely in the padding).
  const int64_t pads[][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {0, 0, 0, 0}, {4, 3, 5, 4}};
  const int64_t strides[][2] = {{2, 2}, {2, 1}, {1, 2}};
  for (size_t i = 0; i < sizeof pads / sizeof pads[0]; i++)
    for (size_t s = 0; s < sizeof strides / sizeof strides[0]; s++) {
      dcase t = {1 + irand(2), 1 + irand(4), 9, 13, 35, 3, 3, strides[s][0], strides[s][1],
                 pads[i][0], pads[i][1], pads[i][2], pads[i][3], true, EO_OP_RELU, 0, 0, "direct"};
      run_case(kr, &t);
    }
  // Output widths around the vector (stride 2x1: the width at stride 1) and output channels
  // around the 8-channel block (1 -> 1 channel is depthwise); heights down to 1.
  const int64_t ows[] = {1, 15, 16, 17, 33, 49}, couts[] = {1, 3, 7, 8, 9, 16, 17, 24, 25, 33, 64};
  for (size_t i = 0; i < sizeof ows / sizeof ows[0]; i++)
    for (size_t j = 0; j < sizeof couts / sizeof couts[0]; j++) {
      const int64_t oh = 1 + irand(6);
      dcase t = {1, 1 + irand(4), couts[j], (oh - 1) * 2 + 3, ows[i] + 2, 3, 3, 2, 1, 1, 0, 0, 0, irand(2) == 0,
                 acts[irand(N_ACTS)], 0, 0, "direct"};
      act_params(&t);
      run_case(kr, &t);
    }
  // Kernel shapes: 1x1 (stride 2: not pointwise), even, tall, wide, 7x7; no bias.
  const int64_t ks[][2] = {{1, 1}, {2, 2}, {3, 1}, {1, 3}, {4, 4}, {5, 5}, {6, 6}, {7, 7}, {7, 1}, {2, 7}};
  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
    dcase t = {2, 3, 20, 29, 41, ks[i][0], ks[i][1], 2, 2, ks[i][0] / 2, ks[i][1] / 2, (ks[i][0] - 1) / 2,
               (ks[i][1] - 1) / 2, i % 2 == 0, EO_OP_HARD_SWISH, 0, 0, "direct"};
    run_case(kr, &t);
  }
  // Every fused activation.
  for (int a = 0; a < N_ACTS; a++) {
    dcase t = {1, 3, 17, 23, 37, 3, 3, 2, 2, 1, 1, 1, 1, true, acts[a], 0, 0, "direct"};
    act_params(&t);
    run_case(kr, &t);
  }
  // Stride 1: direct only with >= 90% of the tile lanes used (positions x channels), else shifted.
  dcase s1[] = {
      {1, 3, 16, 20, 32, 3, 3, 1, 1, 1, 1, 1, 1, true, EO_OP_RELU, 0, 0, "direct"},     // 32/32 x 16/16
      {2, 4, 24, 9, 48, 5, 5, 1, 1, 2, 2, 2, 2, false, EO_OP_SIGMOID, 0, 0, "direct"},  // 48/48 x 24/24
      {1, 2, 8, 7, 29, 3, 3, 1, 1, 1, 0, 1, 3, true, -1, 0, 0, "direct"},               // ow 30: 30/32 x 8/8
      {1, 1, 16, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, true, EO_OP_RELU, 0, 0, "shifted"},    // 28/32: the classifier
      {1, 3, 9, 20, 32, 3, 3, 1, 1, 1, 1, 1, 1, true, EO_OP_RELU, 0, 0, "shifted"},     // 9/16 channels
  };
  for (size_t i = 0; i < sizeof s1 / sizeof s1[0]; i++) run_case(kr, &s1[i]);
}

static void test_random(const eo_f32_kernels_t *kr) {
  for (int i = 0; i < 150; i++) {
    dcase t = {1 + irand(2), 1 + irand(4), 1 + irand(40), 0, 0, 1 + irand(7), 1 + irand(7), 0, 0, 0, 0, 0, 0,
               irand(4) != 0, acts[irand(N_ACTS)], 0, 0, "direct"};
    do {
      t.sh = 1 + irand(2);
      t.sw = 1 + irand(2);
    } while (t.sh == 1 && t.sw == 1);  // stride 1x1 takes the direct path only on some shapes (above)
    t.pt = irand((int)t.kh + 1);
    t.pb = irand((int)t.kh + 1);
    t.pl = irand((int)t.kw + 1);
    t.pr = irand((int)t.kw + 1);
    t.ih = 1 + irand(40);
    t.iw = 1 + irand(60);
    if (t.ih + t.pt + t.pb < t.kh) t.ih = t.kh;
    if (t.iw + t.pl + t.pr < t.kw) t.iw = t.kw;
    act_params(&t);
    run_case(kr, &t);
  }
}

int main(void) {
  for (int t = 2; t <= MAX_THREADS; t++)
    if (eo_threadpool_create(t, &pools[t])) {
      EO_CHECK_MSG(false, "thread pool: %s", eo_last_error());
      return eo_test_finish();
    }
  int tested = 0;
  for (int isa = EO_ISA_AVX2; isa <= (int)eo_cpu_isa_max(); isa++) {
    const eo_f32_kernels_t *kr = eo_f32_kernels((eo_isa)isa);
    EO_CHECK(kr != NULL);
    if (!kr) continue;
    EO_CHECK_MSG((kr->conv_direct != NULL) == (isa == EO_ISA_AVX512), "%s: direct kernel %s", kr->name,
                 kr->conv_direct ? "present" : "missing");
    if (!kr->conv_direct) {  // AVX2: the GEMM paths run these shapes (still checked against the reference)
      test_stems(kr);
      continue;
    }
    test_stems(kr);
    test_edges(kr);
    test_random(kr);
    tested++;
  }
  printf("direct kernel tested on %d ISA(s)\n", tested);
  for (int t = 2; t <= MAX_THREADS; t++) eo_threadpool_free(pools[t]);
  return eo_test_finish();
}
