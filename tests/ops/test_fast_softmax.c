/* Softmax / LogSoftmax fast paths (kernels/x86/f32-softmax-*.c through ops/softmax.c) against the
 * reference kernel eo_f32_softmax__ref, for each ISA the CPU has (EO_ISA=avx2, avx512), serial and
 * on a 2-worker pool, over [outer, n, inner] shapes covering the contiguous-row path (inner == 1),
 * the column path (inner 2, 16 +- tails, 2100), n = 1 and n = 1000, sizes split into several tasks
 * (column blocks, row groups, slice groups) and not, and data that is random,
 * all equal, of large magnitude, reaching exp's subnormal range, with -inf and NaN entries.
 *
 * Bar (set before measuring): per element |fast - ref| <= 1e-6 * max(|ref|, FLT_MIN), i.e. 1e-6
 * relative, measured at the scale of the smallest normal float for subnormal outputs (whose own
 * precision is absolute); infinities and zeros must match exactly, NaN where ref has NaN. The
 * serial and pooled results must be identical bit for bit, and EO_FORCE_REF must give the
 * reference's bits. The reference itself is checked against a double-precision softmax. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "op_test.h"
#include "runtime/kernels/ref/pool_kernels.h"
#include "test.h"

static unsigned lcg(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return *s >> 8;
}
static float urand(unsigned *s) { return (float)(lcg(s) & 0xffffff) / 16777216.0f; }  // [0, 1)

enum { DATA_RANDOM, DATA_EQUAL, DATA_LARGE, DATA_HUGE, DATA_SUBNORMAL, DATA_NEG_INF, DATA_NAN, DATA_COUNT };
static const char *const data_name[] = {"random", "equal", "large", "huge", "subnormal", "-inf", "nan"};

static void fill(int kind, int64_t outer, int64_t n, int64_t inner, float *x, unsigned seed) {
  const int64_t total = outer * n * inner;
  for (int64_t i = 0; i < total; i++) {
    float u = urand(&seed);
    switch (kind) {
      case DATA_RANDOM: x[i] = (u - 0.5f) * 12.0f; break;
      case DATA_EQUAL: x[i] = 3.25f; break;
      case DATA_LARGE: x[i] = (u - 0.5f) * 2.0e4f; break;
      case DATA_HUGE: x[i] = (float)((u - 0.5f) * 6.0e38); break;  // x - max overflows to -inf
      case DATA_SUBNORMAL: x[i] = -u * 110.0f; break;               // exp(x - max) down to 0 through subnormals
      case DATA_NEG_INF: x[i] = (lcg(&seed) % 3 == 0) ? -INFINITY : (u - 0.5f) * 8.0f; break;
      case DATA_NAN: x[i] = (u - 0.5f) * 8.0f; break;
    }
  }
  if (kind == DATA_NEG_INF)  // one softmax entirely -inf: NaN in the reference
    for (int64_t k = 0; k < n; k++) x[k * inner] = -INFINITY;
  if (kind == DATA_NAN) x[total / 2] = NAN;
}

/* Element-wise bar (see the header); returns the number of violations and reports the first. */
static int64_t compare(const char *what, const float *f, const float *r, int64_t total) {
  int64_t bad = 0;
  for (int64_t i = 0; i < total; i++) {
    bool ok;
    if (isnan(r[i])) ok = isnan(f[i]);
    else if (f[i] == r[i]) ok = true;
    else if (isinf(r[i]) || r[i] == 0 || isnan(f[i])) ok = false;
    else ok = fabs((double)f[i] - (double)r[i]) <= 1e-6 * fmax(fabs((double)r[i]), (double)FLT_MIN);
    if (!ok && bad++ == 0)
      fprintf(stderr, "%s: element %lld: fast %.9g, ref %.9g\n", what, (long long)i, (double)f[i], (double)r[i]);
  }
  return bad;
}

/* The op on [outer, n, inner] along axis 1 (opset 13), with `pool` and force_ref. */
static void run_op(const char *op, int64_t outer, int64_t n, int64_t inner, float *x, float *y, eo_threadpool *pool,
                   bool force_ref) {
  eo_node *node = optest_node(op);
  optest_attr_i(node, "axis", 1);
  const eo_op_def *def = eo_op_get(node->op);
  eo_tview xv = optest_f32(3, ((int64_t[]){outer, n, inner}), x), yv;
  eo_tview *in[1] = {&xv}, *out[1] = {&yv};
  eo_op_ctx c;
  memset(&c, 0, sizeof c);
  memset(&yv, 0, sizeof yv);
  c.node = node;
  c.opset = 13;
  c.n_in = 1;
  c.n_out = 1;
  c.in = in;
  c.out = out;
  c.pool = pool;
  c.force_ref = force_ref;
  EO_CHECK(def->infer(&c) == EO_OK);
  EO_CHECK(def->prepare(&c) == EO_OK);
  yv.data = y;
  c.scratch = c.scratch_bytes ? calloc(c.scratch_bytes, 1) : NULL;
  def->forward(&c);
  free(c.scratch);
  if (def->release) def->release(c.state);
  optest_node_free(node);
}

/* The reference against softmax in double (finite random data only: the other kinds test edges). */
static void check_ref(int64_t outer, int64_t n, int64_t inner, const float *x, const float *r, bool log_softmax) {
  int64_t bad = 0;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const float *xr = x + o * n * inner + i;
      const float *rr = r + o * n * inner + i;
      double m = xr[0], s = 0;
      for (int64_t k = 1; k < n; k++) m = fmax(m, xr[k * inner]);
      for (int64_t k = 0; k < n; k++) s += exp((double)xr[k * inner] - m);
      for (int64_t k = 0; k < n; k++) {
        double e = log_softmax ? (double)xr[k * inner] - m - log(s) : exp((double)xr[k * inner] - m) / s;
        // float rounding of x - m, exp and the product (LogSoftmax: of values up to |12|): a few ulp
        if (!(fabs(rr[k * inner] - e) <= 1e-6 * fmax(fabs(e), (double)FLT_MIN) + (log_softmax ? 1e-6 : 0))) bad++;
      }
    }
  EO_CHECK_MSG(bad == 0, "reference vs double: %lld elements off", (long long)bad);
}

int main(void) {
  eo_threadpool *pool = NULL;
  EO_CHECK(eo_threadpool_create(2, &pool) == EO_OK);
  static const int64_t shapes[][3] = {
      {3, 10, 1},   {2, 1000, 1},   {1, 1, 1},     {5, 1, 37},    {7, 23, 1},   {4, 17, 2},    {2, 5, 15},
      {3, 9, 16},   {2, 6, 17},     {1, 16, 2100}, {1, 16, 8400}, {2, 1000, 33}, {1, 3, 1000}, {40, 16, 200},
      {600, 85, 1}, {1, 1, 4096},
      {1, 40, 16400}, {5000, 120, 1}, {300, 17, 100},  // above SOFTMAX_TASK_ELEMS (2^18): split on the pool
  };
  const eo_isa max_isa = eo_cpu_isa_max();
  const char *isas[] = {"avx2", "avx512"};
  unsigned seed = 11;
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    const int64_t outer = shapes[si][0], n = shapes[si][1], inner = shapes[si][2], total = outer * n * inner;
    float *x = malloc((size_t)total * sizeof(float)), *r = malloc((size_t)total * sizeof(float));
    float *f1 = malloc((size_t)total * sizeof(float)), *f2 = malloc((size_t)total * sizeof(float));
    for (int kind = 0; kind < DATA_COUNT; kind++) {
      fill(kind, outer, n, inner, x, seed += 17);
      for (int lg = 0; lg < 2; lg++) {
        const char *op = lg ? "LogSoftmax" : "Softmax";
        eo_f32_softmax__ref(outer, n, inner, x, r, lg);
        if (kind == DATA_RANDOM) check_ref(outer, n, inner, x, r, lg);
        run_op(op, outer, n, inner, x, f1, pool, true);
        EO_CHECK_MSG(memcmp(f1, r, (size_t)total * sizeof(float)) == 0, "%s [%lld,%lld,%lld] %s: force_ref != ref",
                     op, (long long)outer, (long long)n, (long long)inner, data_name[kind]);
        for (int ii = 0; ii < 2; ii++) {
          if ((int)max_isa < ii + 1) continue;  // the CPU lacks this ISA
          setenv("EO_ISA", isas[ii], 1);
          char what[160];
          snprintf(what, sizeof what, "%s %s [%lld,%lld,%lld] %s", op, isas[ii], (long long)outer, (long long)n,
                   (long long)inner, data_name[kind]);
          run_op(op, outer, n, inner, x, f1, NULL, false);
          run_op(op, outer, n, inner, x, f2, pool, false);
          int64_t bad = compare(what, f1, r, total);
          EO_CHECK_MSG(bad == 0, "%s: %lld elements off", what, (long long)bad);
          EO_CHECK_MSG(memcmp(f1, f2, (size_t)total * sizeof(float)) == 0, "%s: 1 vs 2 threads differ", what);
        }
        unsetenv("EO_ISA");
      }
    }
    free(x);
    free(r);
    free(f1);
    free(f2);
  }
  eo_threadpool_free(pool);
  return eo_test_finish();
}
