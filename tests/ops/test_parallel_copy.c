/* Copies split across the pool (kernels/ref/xx-strided-copy-scalar.c): eo_xx_strided_copy__mt
 * against eo_xx_strided_copy__ref (slices, transposes, broadcasts, reversed axes, leading axes of
 * 1 and 2, element sizes 1/2/4/8) and eo_xx_parts_copy__mt against a plain row-by-row loop
 * (Concat and Split layouts with empty and skipped parts, one or many rows, rows longer and
 * shorter than a task), each serially and on a 2-worker pool, bytes compared exactly. Then the ops
 * Concat, Split and Slice on the pool against their EO_FORCE_REF runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "op_test.h"
#include "runtime/kernels/ref/move_kernels.h"
#include "test.h"

static unsigned char *random_bytes(size_t n, unsigned seed) {
  unsigned char *p = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
  return p;
}

/* Output dims `dims` read from an input of dims `xd` from `start` with per-axis `step` (negative:
 * reversed, 0: broadcast). */
typedef struct scase {
  int rank;
  int64_t xd[4], dims[4], start[4], step[4];
  const char *what;
} scase;

static void strided_case(const scase *sc, size_t es, eo_threadpool *pool, unsigned seed) {
  int64_t xs[4], strides[4], off = 0;
  eo_move_strides(sc->rank, sc->xd, xs);
  for (int k = 0; k < sc->rank; k++) {
    strides[k] = sc->step[k] * xs[k];
    off += sc->start[k] * xs[k];
  }
  const int64_t xn = eo_numel(sc->rank, sc->xd), yn = eo_numel(sc->rank, sc->dims);
  unsigned char *x = random_bytes((size_t)xn * es, seed);
  unsigned char *want = calloc((size_t)yn * es + 1, 1), *got = calloc((size_t)yn * es + 1, 1);
  eo_xx_strided_copy__ref(es, sc->rank, sc->dims, strides, x + off * (int64_t)es, want);
  for (int p = 0; p < 2; p++) {
    memset(got, 0xcd, (size_t)yn * es);
    eo_xx_strided_copy__mt(es, sc->rank, sc->dims, strides, x + off * (int64_t)es, got, p ? pool : NULL);
    EO_CHECK_MSG(memcmp(got, want, (size_t)yn * es) == 0, "strided %s, es %zu, %d thread(s)", sc->what, es, p + 1);
  }
  free(x);
  free(want);
  free(got);
}

/* Concat (to_whole) or Split of n parts of bytes[i] per row over `outer` rows. */
static void parts_case(int64_t outer, int n, const size_t *bytes, bool to_whole, bool skip_some, eo_threadpool *pool,
                       unsigned seed) {
  size_t row = 0;
  for (int i = 0; i < n; i++) row += bytes[i];
  const size_t total = (size_t)outer * row;
  unsigned char *whole = random_bytes(total, seed), *want_whole = malloc(total + 1);
  void *parts[64], *want_parts[64];
  for (int i = 0; i < n; i++) {
    const bool skip = !to_whole && skip_some && i % 3 == 1;
    parts[i] = skip ? NULL : random_bytes((size_t)outer * bytes[i], seed + 100u + (unsigned)i);
    want_parts[i] = skip ? NULL : malloc((size_t)outer * bytes[i] + 1);
    if (parts[i]) memcpy(want_parts[i], parts[i], (size_t)outer * bytes[i]);
  }
  memcpy(want_whole, whole, total);
  size_t pos = 0;  // the expectation: row by row, part by part
  for (int64_t o = 0; o < outer; o++)
    for (int i = 0; i < n; pos += bytes[i], i++) {
      if (!parts[i]) continue;
      unsigned char *p = (unsigned char *)(to_whole ? parts[i] : want_parts[i]) + (size_t)o * bytes[i];
      if (to_whole) memcpy(want_whole + pos, p, bytes[i]);
      else memcpy(p, whole + pos, bytes[i]);
    }
  for (int t = 0; t < 2; t++) {
    if (to_whole) {
      memset(whole, 0xcd, total);
    } else {
      for (int i = 0; i < n; i++)
        if (parts[i]) memset(parts[i], 0xcd, (size_t)outer * bytes[i]);
    }
    eo_xx_parts_copy__mt(outer, n, bytes, parts, whole, to_whole, t ? pool : NULL);
    bool ok = true;
    if (to_whole) {
      ok = memcmp(whole, want_whole, total) == 0;
    } else {
      for (int i = 0; i < n; i++)
        if (parts[i]) ok &= memcmp(parts[i], want_parts[i], (size_t)outer * bytes[i]) == 0;
    }
    EO_CHECK_MSG(ok, "%s of %d parts over %lld rows (row %zu bytes), %d thread(s)", to_whole ? "concat" : "split", n,
                 (long long)outer, row, t + 1);
  }
  free(whole);
  free(want_whole);
  for (int i = 0; i < n; i++) {
    free(parts[i]);
    free(want_parts[i]);
  }
}

/* One op run with a pool (NULL outputs allowed); outputs malloc'd. */
static eo_status run_op(const eo_node *node, int64_t opset, int n_in, eo_tview **in, int n_out, eo_tview **out,
                        eo_threadpool *pool, bool force_ref) {
  const eo_op_def *def = eo_op_get(node->op);
  eo_op_ctx c;
  memset(&c, 0, sizeof c);
  c.node = node;
  c.opset = opset;
  c.n_in = n_in;
  c.n_out = n_out;
  c.in = in;
  c.out = out;
  c.pool = pool;
  c.force_ref = force_ref;
  eo_status st = def->infer(&c);
  if (st) return st;
  if (def->prepare && (st = def->prepare(&c))) return st;
  for (int i = 0; i < n_out; i++) {
    if (!out[i]) continue;
    size_t bytes = 0;
    eo_dtype_bytes(out[i]->dtype, eo_tview_numel(out[i]), &bytes);
    out[i]->data = calloc(bytes + 1, 1);
  }
  c.scratch = c.scratch_bytes ? calloc(c.scratch_bytes, 1) : NULL;
  def->forward(&c);
  free(c.scratch);
  if (def->release) def->release(c.state);
  return EO_OK;
}

static bool same_view(const eo_tview *a, const eo_tview *b) {
  size_t bytes = 0;
  eo_dtype_bytes(a->dtype, eo_tview_numel(a), &bytes);
  return a->rank == b->rank && memcmp(a->dims, b->dims, (size_t)a->rank * sizeof(int64_t)) == 0 &&
         memcmp(a->data, b->data, bytes) == 0;
}

/* The ops split copies only from EO_PARTS_MT_BYTES / EO_SLICE_MT_BYTES (8 MiB) on: these are larger. */
static void ops_cases(eo_threadpool *pool) {
  float *a = (float *)random_bytes(640000 * 4, 1), *b = (float *)random_bytes(960000 * 4, 2),
        *d = (float *)random_bytes(800000 * 4, 3), *e = (float *)random_bytes(2400000 * 4, 4);
  // Concat of three maps (9.6 MB) along channels and along the last axis
  for (int axis = 1; axis <= 3; axis += 2) {
    eo_node *n = optest_node("Concat");
    optest_attr_i(n, "axis", axis);
    int64_t da[4] = {1, 64, 100, 100}, db[4] = {1, 96, 100, 100}, dd[4] = {1, 80, 100, 100};
    if (axis == 3) db[1] = dd[1] = 64, db[3] = 150, dd[3] = 125;  // same element counts
    eo_tview xa = optest_f32(4, da, a), xb = optest_f32(4, db, b), xd = optest_f32(4, dd, d), y0, y1;
    eo_tview *in[3] = {&xa, &xb, &xd}, *o0[1] = {&y0}, *o1[1] = {&y1};
    EO_CHECK(run_op(n, 13, 3, in, 1, o0, NULL, true) == EO_OK);
    EO_CHECK(run_op(n, 13, 3, in, 1, o1, pool, false) == EO_OK);
    EO_CHECK_MSG(same_view(&y0, &y1), "Concat axis %d: pool != force_ref", axis);
    free(y0.data);
    free(y1.data);
    optest_node_free(n);
  }
  // Split into 3 (the middle output not requested) along channels and along the last axis
  for (int axis = 1; axis <= 3; axis += 2) {
    eo_node *n = optest_node("Split");
    optest_attr_i(n, "axis", axis);
    int64_t dx[4] = {1, 240, 100, 100}, sd[1] = {3};
    int64_t sizes[3] = {64, 96, 80};
    if (axis == 3) dx[1] = 64, dx[3] = 375, sizes[0] = 100, sizes[1] = 150, sizes[2] = 125;
    eo_tview xv = optest_f32(4, dx, e), sv = optest_view(EO_INT64, 1, sd, sizes);
    eo_tview r[3], f[3];
    eo_tview *in[2] = {&xv, &sv}, *ro[3] = {&r[0], NULL, &r[2]}, *fo[3] = {&f[0], NULL, &f[2]};
    EO_CHECK(run_op(n, 13, 2, in, 3, ro, NULL, true) == EO_OK);
    EO_CHECK(run_op(n, 13, 2, in, 3, fo, pool, false) == EO_OK);
    EO_CHECK_MSG(same_view(&r[0], &f[0]) && same_view(&r[2], &f[2]), "Split axis %d: pool != force_ref", axis);
    for (int i = 0; i < 3; i += 2) {
      free(r[i].data);
      free(f[i].data);
    }
    optest_node_free(n);
  }
  // Slice: channels 8..232 (8.96 MB), rows reversed
  {
    eo_node *n = optest_node("Slice");
    int64_t dx[4] = {1, 240, 100, 100}, d2[1] = {2};
    int64_t st[2] = {8, -1}, en[2] = {232, INT64_MIN}, ax[2] = {1, 2}, sp[2] = {1, -1};
    eo_tview xv = optest_f32(4, dx, e), sv = optest_view(EO_INT64, 1, d2, st), ev = optest_view(EO_INT64, 1, d2, en),
             av = optest_view(EO_INT64, 1, d2, ax), pv = optest_view(EO_INT64, 1, d2, sp), y0, y1;
    eo_tview *in[5] = {&xv, &sv, &ev, &av, &pv}, *o0[1] = {&y0}, *o1[1] = {&y1};
    EO_CHECK(run_op(n, 13, 5, in, 1, o0, NULL, true) == EO_OK);
    EO_CHECK(run_op(n, 13, 5, in, 1, o1, pool, false) == EO_OK);
    EO_CHECK(y0.dims[1] == 224 && y0.dims[2] == 100);
    EO_CHECK_MSG(same_view(&y0, &y1), "Slice: pool != force_ref");
    free(y0.data);
    free(y1.data);
    optest_node_free(n);
  }
  free(a);
  free(b);
  free(d);
  free(e);
}

int main(void) {
  eo_threadpool *pool = NULL;
  EO_CHECK(eo_threadpool_create(2, &pool) == EO_OK);
  static const scase scases[] = {
      {4, {1, 96, 40, 40}, {1, 64, 40, 40}, {0, 16, 0, 0}, {1, 1, 1, 1}, "channel slice"},
      {4, {1, 64, 40, 40}, {1, 64, 20, 40}, {0, 0, 1, 0}, {1, 1, 2, 1}, "every other row"},
      {4, {1, 64, 40, 40}, {1, 64, 40, 20}, {0, 0, 0, 0}, {1, 1, 1, 2}, "every other column"},
      {4, {2, 64, 40, 40}, {2, 64, 40, 40}, {1, 63, 39, 0}, {-1, -1, -1, 1}, "reversed axes, leading 2"},
      {3, {1, 1, 70000}, {1, 1, 69999}, {0, 0, 1}, {1, 1, 1}, "one long row"},
      {2, {1, 3000}, {500, 3000}, {0, 0}, {0, 1}, "broadcast rows"},
      {4, {1, 1, 1, 9}, {1, 3, 5, 9}, {0, 0, 0, 0}, {0, 0, 0, 1}, "small: stays serial"},
      {3, {7, 50, 300}, {7, 50, 300}, {0, 0, 0}, {1, 1, 1}, "7 x contiguous"},
  };
  static const size_t sizes[] = {1, 2, 4, 8};
  unsigned seed = 3;
  for (size_t i = 0; i < sizeof scases / sizeof scases[0]; i++)
    for (size_t e = 0; e < 4; e++) strided_case(&scases[i], sizes[e], pool, seed += 13);
  // a transpose (the input's unit stride is not on the output's last axis): [64, 1600] -> [1600, 64]
  for (size_t e = 0; e < 4; e++) {
    const size_t es = sizes[e];
    const int64_t dims[2] = {1600, 64}, strides[2] = {1, 1600};
    unsigned char *x = random_bytes(64 * 1600 * es, seed += 13);
    unsigned char *w = malloc(64 * 1600 * es), *g = malloc(64 * 1600 * es);
    eo_xx_strided_copy__ref(es, 2, dims, strides, x, w);
    for (int p = 0; p < 2; p++) {
      eo_xx_strided_copy__mt(es, 2, dims, strides, x, g, p ? pool : NULL);
      EO_CHECK_MSG(memcmp(g, w, 64 * 1600 * es) == 0, "transpose es %zu, %d thread(s)", es, p + 1);
    }
    free(x);
    free(w);
    free(g);
  }
  // Concat / Split layouts
  static const size_t p3[] = {64 * 1600 * 4, 32 * 1600 * 4, 96 * 1600 * 4};  // channel concat, batch 1
  static const size_t p4[] = {40, 0, 24, 4};                                   // short rows, an empty part
  static const size_t p2[] = {4, 3};                                           // odd byte counts
  static const size_t p5[] = {70000, 0, 0, 12345, 1};
  for (int w = 0; w < 2; w++) {
    parts_case(1, 3, p3, w, true, pool, seed += 5);
    parts_case(5000, 4, p4, w, true, pool, seed += 5);
    parts_case(20000, 2, p2, w, false, pool, seed += 5);
    parts_case(3, 5, p5, w, true, pool, seed += 5);
    parts_case(2, 4, p4, w, false, pool, seed += 5);  // small: one task
  }
  ops_cases(pool);
  eo_threadpool_free(pool);
  return eo_test_finish();
}
