/* Resize nearest fast path (ops/resize.c: row-wise gather, repeated rows copied, x2 rows through
 * kernels/x86/f32-resize-*.c, split across the pool) against the reference eo_xN_resize_nearest__ref
 * (the EO_FORCE_REF path): the bytes must be identical, for each ISA the CPU has, serial and on a
 * 2-worker pool, over integer factors (2, 3), fractional and downsampling scales, widths off the
 * vector width, element sizes 1, 2, 4 and 8, and several coordinate / rounding modes. Integer-factor
 * upsampling is also checked against y[.., h, w] = x[.., h / fh, w / fw] computed here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threads.h"
#include "op_test.h"
#include "test.h"

/* Resize-13 (X, roi absent, scales) with `pool` and force_ref; y->data is malloc'd. */
static eo_status run_resize(const eo_node *n, eo_tview *x, eo_tview *scales, eo_tview *y, eo_threadpool *pool,
                            bool force_ref) {
  const eo_op_def *def = eo_op_get(n->op);
  eo_tview *in[3] = {x, NULL, scales}, *out[1] = {y};
  eo_op_ctx c;
  memset(&c, 0, sizeof c);
  memset(y, 0, sizeof *y);
  c.node = n;
  c.opset = 13;
  c.n_in = 3;
  c.n_out = 1;
  c.in = in;
  c.out = out;
  c.pool = pool;
  c.force_ref = force_ref;
  eo_status st = def->infer(&c);
  if (st) return st;
  if ((st = def->prepare(&c))) return st;
  size_t bytes = 0;
  eo_dtype_bytes(y->dtype, eo_tview_numel(y), &bytes);
  y->data = calloc(bytes + 1, 1);
  c.scratch = c.scratch_bytes ? calloc(c.scratch_bytes, 1) : NULL;
  def->forward(&c);
  free(c.scratch);
  if (def->release) def->release(c.state);
  return EO_OK;
}

typedef struct rcase {
  int rank;
  int64_t dims[4];
  float scales[4];
  const char *ct, *nearest_mode;
} rcase;

static void run_case(const rcase *rc, int dtype, eo_threadpool *pool, unsigned seed) {
  const size_t es = eo_dtype_size(dtype);
  const int64_t numel = eo_numel(rc->rank, rc->dims);
  unsigned char *x = malloc((size_t)numel * es);
  for (size_t i = 0; i < (size_t)numel * es; i++) x[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
  eo_node *n = optest_node("Resize");
  optest_attr_s(n, "mode", "nearest");
  optest_attr_s(n, "coordinate_transformation_mode", rc->ct);
  optest_attr_s(n, "nearest_mode", rc->nearest_mode);
  eo_tview xv = optest_view(dtype, rc->rank, rc->dims, x);
  const int64_t sdims[1] = {rc->rank};
  eo_tview sv = optest_view(EO_FLOAT, 1, sdims, (void *)rc->scales);
  eo_tview ref, fast;
  char what[200];
  snprintf(what, sizeof what, "%s rank %d [%lld,%lld,%lld,%lld] scales (%g,%g,%g,%g) %s %s", eo_dtype_name(dtype),
           rc->rank, (long long)rc->dims[0], (long long)rc->dims[1], (long long)rc->dims[2], (long long)rc->dims[3],
           (double)rc->scales[0], (double)rc->scales[1], (double)rc->scales[2], (double)rc->scales[3], rc->ct,
           rc->nearest_mode);
  eo_status st = run_resize(n, &xv, &sv, &ref, NULL, true);
  EO_CHECK_MSG(st == EO_OK, "%s: %s", what, eo_last_error());
  if (st) goto done;
  const size_t ybytes = (size_t)eo_tview_numel(&ref) * es;

  // integer factors with floor coordinates: an independent expectation
  bool integral = strcmp(rc->ct, "asymmetric") == 0 && strcmp(rc->nearest_mode, "floor") == 0;
  for (int d = 0; d < rc->rank; d++) integral &= rc->scales[d] == floorf(rc->scales[d]);
  if (integral) {
    int64_t pos[4] = {0}, bad = 0, total = eo_tview_numel(&ref);
    for (int64_t o = 0; o < total; o++) {
      int64_t src = 0;
      for (int d = 0; d < rc->rank; d++) src = src * rc->dims[d] + pos[d] / (int64_t)rc->scales[d];
      if (memcmp((char *)ref.data + o * (int64_t)es, x + src * (int64_t)es, es) != 0) bad++;
      for (int d = rc->rank - 1; d >= 0; d--) {
        if (++pos[d] < ref.dims[d]) break;
        pos[d] = 0;
      }
    }
    EO_CHECK_MSG(bad == 0, "%s: reference differs from x[h / f] in %lld elements", what, (long long)bad);
  }

  const char *isas[] = {"ref", "avx2", "avx512"};
  for (int ii = 0; ii < 3; ii++) {
    if ((int)eo_cpu_isa_max() < ii) continue;  // the CPU lacks this ISA
    setenv("EO_ISA", isas[ii], 1);
    for (int p = 0; p < 2; p++) {
      st = run_resize(n, &xv, &sv, &fast, p ? pool : NULL, false);
      EO_CHECK_MSG(st == EO_OK, "%s: %s", what, eo_last_error());
      if (st) continue;
      EO_CHECK_MSG(eo_tview_numel(&fast) == eo_tview_numel(&ref) && memcmp(fast.data, ref.data, ybytes) == 0,
                   "%s, EO_ISA=%s, %d thread(s): differs from the reference", what, isas[ii], p ? 2 : 1);
      free(fast.data);
    }
    unsetenv("EO_ISA");
  }
  free(ref.data);
done:
  optest_node_free(n);
  free(x);
}

int main(void) {
  eo_threadpool *pool = NULL;
  EO_CHECK(eo_threadpool_create(2, &pool) == EO_OK);
  static const rcase cases[] = {
      {4, {1, 32, 128, 128}, {1, 1, 2, 2}, "asymmetric", "floor"},        // 8 MiB of float: split on the pool
      {4, {1, 64, 20, 20}, {1, 1, 2, 2}, "asymmetric", "floor"},          // the detector's /up_1
      {4, {1, 32, 40, 40}, {1, 1, 2, 2}, "half_pixel", "round_prefer_floor"},
      {4, {2, 3, 5, 7}, {1, 1, 2, 2}, "asymmetric", "floor"},             // small: serial, x2 tail of 7
      {4, {1, 16, 33, 31}, {1, 1, 2, 2}, "asymmetric", "floor"},          // 31: vector tails
      {4, {1, 8, 13, 17}, {1, 1, 3, 3}, "asymmetric", "floor"},           // factor 3
      {4, {1, 8, 13, 17}, {1, 1, 1.5f, 2.5f}, "half_pixel", "round_prefer_ceil"},
      {4, {2, 8, 40, 60}, {1, 1, 0.5f, 0.6f}, "asymmetric", "floor"},     // downsampling
      {4, {1, 40, 24, 24}, {1, 1, 2, 1}, "asymmetric", "floor"},          // last axis identity
      {4, {1, 4, 16, 64}, {1, 2, 1, 2}, "tf_half_pixel_for_nn", "ceil"},  // a non-spatial axis
      {2, {300, 129, 0, 0}, {2, 2, 0, 0}, "asymmetric", "floor"},
      {1, {5000, 0, 0, 0}, {2, 0, 0, 0}, "asymmetric", "floor"},
  };
  const int dtypes[] = {EO_FLOAT, EO_UINT8, EO_FLOAT16, EO_INT64};
  unsigned seed = 5;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0]; t++) run_case(&cases[i], dtypes[t], pool, seed += 7);
  eo_threadpool_free(pool);
  return eo_test_finish();
}
