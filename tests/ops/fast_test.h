/* What the fast-kernel tests share (test_fast_kernels.c, test_conv_direct.c): seeded data, the fused
 * activations with their test parameters, and the accuracy check against the _ref kernels. Define
 * FAST_TEST_SEED before including it to give the file its own data. */
#ifndef EO_TESTS_FAST_TEST_H
#define EO_TESTS_FAST_TEST_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
#include "runtime/op.h"
#include "test.h"

#define REL_TOL 1e-5

static uint32_t rng = FAST_TEST_SEED;
static inline float frand(void) {  // uniform in [-1, 1)
  rng = rng * 1664525u + 1013904223u;
  return (float)((rng >> 8) * (1.0 / 8388608.0)) - 1.0f;
}
static inline int irand(int n) {
  rng = rng * 1664525u + 1013904223u;
  return (int)((rng >> 8) % (uint32_t)n);
}
static inline float *rand_buf(int64_t n, float scale) {
  float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  for (int64_t i = 0; i < n; i++) p[i] = frand() * scale;
  return p;
}

/* max|a - b| <= REL_TOL * max(max|ref|, floor); reports the first offending case. `floor` is the
 * output scale when the tensor is too small for max|ref| to show it (see run_gemm_case). */
static inline int close_enough_scaled(const float *got, const float *ref, int64_t n, double floor, const char *what) {
  double mx = floor > 1e-3 ? floor : 1e-3, err = 0;
  int64_t at = -1;
  for (int64_t i = 0; i < n; i++) mx = fabs(ref[i]) > mx ? fabs(ref[i]) : mx;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - (double)ref[i]);
    if (!(d <= err)) {  // also catches NaN
      err = d;
      at = i;
      if (d != d) break;
    }
  }
  bool ok = err <= REL_TOL * mx;
  EO_CHECK_MSG(ok, "%s: max error %.3g at %lld (%.9g vs %.9g), scale %.3g", what, err, (long long)at,
               at >= 0 ? got[at] : 0.0, at >= 0 ? ref[at] : 0.0, mx);
  return ok;
}
static inline int close_enough(const float *got, const float *ref, int64_t n, const char *what) {
  return close_enough_scaled(got, ref, n, 0.0, what);
}

static const int acts[] = {-1, EO_OP_RELU, EO_OP_LEAKY_RELU, EO_OP_CLIP, EO_OP_SIGMOID, EO_OP_HARD_SIGMOID,
                           EO_OP_HARD_SWISH, EO_OP_TANH, EO_OP_ELU, EO_ACT_SILU};
#define N_ACTS (int)(sizeof acts / sizeof acts[0])

static inline eo_f32_act act_of(int op) {
  eo_f32_act a = {op, 0.0f, 0.0f};
  if (op == EO_OP_LEAKY_RELU) a.alpha = 0.1f;
  if (op == EO_OP_CLIP) a.alpha = -0.5f, a.beta = 0.75f;
  if (op == EO_OP_HARD_SIGMOID) a.alpha = 0.2f, a.beta = 0.5f;
  if (op == EO_OP_ELU) a.alpha = 1.3f;
  return a;
}

#endif
