/* ReduceSum/Mean/Max/Min/Prod, ArgMax/ArgMin, TopK, NonMaxSuppression, Resize and Upsample:
 * hand-computed values, naive references written here (index arithmetic instead of the kernels'
 * merged strides, direct 2-D interpolation instead of the separable passes), opset differences,
 * and bad inputs that must fail with a message. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_test.h"
#include "test.h"


#define DIMS(...) ((int64_t[]){__VA_ARGS__})
#define VIEW(dt, rank, dims, ...) optest_view(dt, rank, dims, __VA_ARGS__)

static uint32_t rng = 0x2468aceu;
static float rndf(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return (float)((double)rng / 4294967295.0 * 4.0 - 2.0);
}

static bool err_has(const char *s) {
  bool ok = strstr(eo_last_error(), s) != NULL;
  if (!ok) fprintf(stderr, "  message was: %s\n", eo_last_error());
  return ok;
}

static bool shape_is(const eo_tview *t, int rank, const int64_t *dims) {
  if (t->rank != rank) return false;
  for (int i = 0; i < rank; i++)
    if (t->dims[i] != dims[i]) return false;
  return true;
}

/* One-output run; `cst` passes inputs as constants at infer. */
static eo_status run1(eo_node *n, int64_t opset, int n_in, eo_tview **in, eo_tview *out, bool cst) {
  return optest_run(n, opset, n_in, in, 1, (eo_tview *[]){out}, cst);
}

/* ---- reductions ----------------------------------------------------------------------------- */

/* Naive reduction of a [3,4,5] tensor over a mask of axes, by full index arithmetic. */
static void naive_reduce(const float *x, const bool *red, int kind, double *out, int64_t *out_n) {
  int64_t dims[3] = {3, 4, 5}, od[3];
  for (int i = 0; i < 3; i++) od[i] = red[i] ? 1 : dims[i];
  *out_n = od[0] * od[1] * od[2];
  for (int64_t o = 0; o < *out_n; o++) out[o] = kind == 2 ? -INFINITY : kind == 3 ? INFINITY : kind == 4 ? 1 : 0;
  int64_t cnt = 1;
  for (int i = 0; i < 3; i++) cnt *= red[i] ? dims[i] : 1;
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 4; b++)
      for (int c = 0; c < 5; c++) {
        int64_t o = ((red[0] ? 0 : a) * od[1] + (red[1] ? 0 : b)) * od[2] + (red[2] ? 0 : c);
        double v = x[(a * 4 + b) * 5 + c];
        if (kind <= 1) out[o] += v;
        else if (kind == 2) out[o] = v > out[o] ? v : out[o];
        else if (kind == 3) out[o] = v < out[o] ? v : out[o];
        else out[o] *= v;
      }
  if (kind == 1)
    for (int64_t o = 0; o < *out_n; o++) out[o] /= (double)cnt;
}

static void test_reduce_random(void) {
  static const char *ops[5] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"};
  float x[60];
  for (int i = 0; i < 60; i++) x[i] = rndf();
  for (int kind = 0; kind < 5; kind++)
    for (int mask = 1; mask < 8; mask++) {
      bool red[3] = {mask & 1, (mask >> 1) & 1, (mask >> 2) & 1};
      int64_t axes[3];
      int na = 0;
      for (int i = 0; i < 3; i++)
        if (red[i]) axes[na++] = i - (i == 2 ? 3 : 0);  /* axis 2 given as -1 */
      double want[60];
      int64_t wn;
      naive_reduce(x, red, kind, want, &wn);
      /* opset 11: axes attribute, keepdims=1 */
      eo_node *n = optest_node(ops[kind]);
      optest_attr_ints(n, "axes", na, axes);
      eo_tview xv = VIEW(EO_FLOAT, 3, DIMS(3, 4, 5), x), y;
      eo_status st = run1(n, 11, 1, (eo_tview *[]){&xv}, &y, false);
      EO_CHECK(st == EO_OK);
      if (st == EO_OK) {
        EO_CHECK(y.rank == 3 && eo_tview_numel(&y) == wn);
        bool ok = true;
        for (int64_t o = 0; o < wn; o++)
          ok &= fabs(((float *)y.data)[o] - want[o]) <= 1e-5 * (1 + fabs(want[o]));
        EO_CHECK_MSG(ok, "%s mask %d", ops[kind], mask);
        free(y.data);
      }
      optest_node_free(n);
      /* opset 18: axes input, keepdims=0 */
      n = optest_node(ops[kind]);
      optest_attr_i(n, "keepdims", 0);
      eo_tview av = VIEW(EO_INT64, 1, DIMS(na), axes);
      st = run1(n, 18, 2, (eo_tview *[]){&xv, &av}, &y, true);
      EO_CHECK(st == EO_OK);
      if (st == EO_OK) {
        EO_CHECK(y.rank == 3 - na && eo_tview_numel(&y) == wn);
        bool ok = true;
        for (int64_t o = 0; o < wn; o++)
          ok &= fabs(((float *)y.data)[o] - want[o]) <= 1e-5 * (1 + fabs(want[o]));
        EO_CHECK_MSG(ok, "%s opset 18 mask %d", ops[kind], mask);
        free(y.data);
      }
      optest_node_free(n);
    }
}

static void test_reduce_hand(void) {
  /* [[1,2,3],[4,5,6]] */
  float x[6] = {1, 2, 3, 4, 5, 6};
  eo_tview xv = VIEW(EO_FLOAT, 2, DIMS(2, 3), x), y;

  /* ReduceSum opset 13, axes input [-1], keepdims 0 -> [6, 15] */
  eo_node *n = optest_node("ReduceSum");
  optest_attr_i(n, "keepdims", 0);
  eo_tview av = VIEW(EO_INT64, 1, DIMS(1), (int64_t[]){-1});
  EO_CHECK(run1(n, 13, 2, (eo_tview *[]){&xv, &av}, &y, true) == EO_OK);
  EO_CHECK(shape_is(&y, 1, DIMS(2)));
  EO_CHECK(((float *)y.data)[0] == 6 && ((float *)y.data)[1] == 15);
  free(y.data);
  /* same node, axes input absent: reduce all -> [] (keepdims 0) = 21 */
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xv}, &y, true) == EO_OK);
  EO_CHECK(y.rank == 0 && ((float *)y.data)[0] == 21);
  free(y.data);
  /* an empty axes tensor also means all axes */
  eo_tview empty = VIEW(EO_INT64, 1, DIMS(0), (int64_t[]){0});
  EO_CHECK(run1(n, 13, 2, (eo_tview *[]){&xv, &empty}, &y, true) == EO_OK);
  EO_CHECK(y.rank == 0 && ((float *)y.data)[0] == 21);
  free(y.data);
  optest_node_free(n);

  /* noop_with_empty_axes=1: identity */
  n = optest_node("ReduceSum");
  optest_attr_i(n, "noop_with_empty_axes", 1);
  EO_CHECK(run1(n, 13, 2, (eo_tview *[]){&xv, &empty}, &y, true) == EO_OK);
  EO_CHECK(shape_is(&y, 2, DIMS(2, 3)) && memcmp(y.data, x, sizeof x) == 0);
  free(y.data);
  optest_node_free(n);

  /* ReduceMean default (all axes, keepdims 1) -> [1,1] = 3.5 */
  n = optest_node("ReduceMean");
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xv}, &y, false) == EO_OK);
  EO_CHECK(shape_is(&y, 2, DIMS(1, 1)) && ((float *)y.data)[0] == 3.5f);
  free(y.data);
  optest_node_free(n);

  /* ReduceProd axis 0 -> [4, 10, 18] */
  n = optest_node("ReduceProd");
  optest_attr_ints(n, "axes", 1, (int64_t[]){0});
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xv}, &y, false) == EO_OK);
  EO_CHECK(shape_is(&y, 2, DIMS(1, 3)));
  EO_CHECK(((float *)y.data)[0] == 4 && ((float *)y.data)[1] == 10 && ((float *)y.data)[2] == 18);
  free(y.data);
  optest_node_free(n);

  /* int32: ReduceMax/Min with negatives, ReduceMean truncates like the integer division */
  int32_t xi[6] = {-7, 3, -2, 5, -9, 0};
  eo_tview xiv = VIEW(EO_INT32, 2, DIMS(2, 3), xi);
  n = optest_node("ReduceMax");
  optest_attr_ints(n, "axes", 1, (int64_t[]){1});
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xiv}, &y, false) == EO_OK);
  EO_CHECK(y.dtype == EO_INT32 && ((int32_t *)y.data)[0] == 3 && ((int32_t *)y.data)[1] == 5);
  free(y.data);
  optest_node_free(n);
  n = optest_node("ReduceMin");
  optest_attr_ints(n, "axes", 1, (int64_t[]){0});
  optest_attr_i(n, "keepdims", 0);
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xiv}, &y, false) == EO_OK);
  EO_CHECK(((int32_t *)y.data)[0] == -7 && ((int32_t *)y.data)[1] == -9 && ((int32_t *)y.data)[2] == -2);
  free(y.data);
  optest_node_free(n);
  n = optest_node("ReduceMean");
  optest_attr_ints(n, "axes", 1, (int64_t[]){1});
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xiv}, &y, false) == EO_OK);
  /* (-7+3-2)/3 = -2, (5-9+0)/3 = -1 (truncation toward zero) */
  EO_CHECK(((int32_t *)y.data)[0] == -2 && ((int32_t *)y.data)[1] == -1);
  free(y.data);
  optest_node_free(n);

  /* int64 sum keeps full precision beyond 2^53 */
  int64_t big[2] = {(int64_t)1 << 60, 1};
  eo_tview bv = VIEW(EO_INT64, 1, DIMS(2), big);
  n = optest_node("ReduceSum");
  EO_CHECK(run1(n, 11, 1, (eo_tview *[]){&bv}, &y, false) == EO_OK);
  EO_CHECK(((int64_t *)y.data)[0] == ((int64_t)1 << 60) + 1);
  free(y.data);
  optest_node_free(n);

  /* float16 */
  uint16_t h[4] = {eo_f32_to_f16(0.5f), eo_f32_to_f16(1.5f), eo_f32_to_f16(-2.0f), eo_f32_to_f16(4.0f)};
  eo_tview hv = VIEW(EO_FLOAT16, 1, DIMS(4), h);
  n = optest_node("ReduceSum");
  EO_CHECK(run1(n, 11, 1, (eo_tview *[]){&hv}, &y, false) == EO_OK);
  EO_CHECK(y.dtype == EO_FLOAT16 && eo_f16_to_f32(((uint16_t *)y.data)[0]) == 4.0f);
  free(y.data);
  optest_node_free(n);

  /* empty reduction: sum 0, max -inf; kept axis of size 0 gives an empty output */
  float dummy[1] = {0};
  eo_tview ev = VIEW(EO_FLOAT, 2, DIMS(2, 0), dummy);
  n = optest_node("ReduceSum");
  optest_attr_ints(n, "axes", 1, (int64_t[]){1});
  EO_CHECK(run1(n, 11, 1, (eo_tview *[]){&ev}, &y, false) == EO_OK);
  EO_CHECK(shape_is(&y, 2, DIMS(2, 1)) && ((float *)y.data)[0] == 0 && ((float *)y.data)[1] == 0);
  free(y.data);
  optest_node_free(n);
  n = optest_node("ReduceMax");
  optest_attr_ints(n, "axes", 1, (int64_t[]){1});
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&ev}, &y, false) == EO_OK);
  EO_CHECK(isinf(((float *)y.data)[0]) && ((float *)y.data)[0] < 0);
  free(y.data);
  optest_node_free(n);
  n = optest_node("ReduceMax");
  optest_attr_ints(n, "axes", 1, (int64_t[]){0});
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&ev}, &y, false) == EO_OK);
  EO_CHECK(shape_is(&y, 2, DIMS(1, 0)));
  free(y.data);
  optest_node_free(n);
}

static void test_reduce_errors(void) {
  float x[6] = {0};
  eo_tview xv = VIEW(EO_FLOAT, 2, DIMS(2, 3), x), y;
  eo_node *n = optest_node("ReduceMean");
  optest_attr_ints(n, "axes", 2, (int64_t[]){1, -1});
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xv}, &y, false) == EO_ERR_INVALID && err_has("listed twice"));
  optest_node_free(n);
  n = optest_node("ReduceMax");
  optest_attr_ints(n, "axes", 1, (int64_t[]){2});
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xv}, &y, false) == EO_ERR_INVALID && err_has("out of range"));
  optest_node_free(n);
  /* axes input that is not constant */
  n = optest_node("ReduceSum");
  eo_tview av = VIEW(EO_INT64, 1, DIMS(1), (int64_t[]){0});
  EO_CHECK(run1(n, 13, 2, (eo_tview *[]){&xv, &av}, &y, false) == EO_ERR_UNSUPPORTED && err_has("'axes' must be constant"));
  optest_node_free(n);
  n = optest_node("ReduceSum");
  optest_attr_i(n, "keepdims", 2);
  EO_CHECK(run1(n, 11, 1, (eo_tview *[]){&xv}, &y, false) == EO_ERR_INVALID && err_has("keepdims"));
  optest_node_free(n);
  eo_tview sv = VIEW(EO_STRING, 1, DIMS(1), x);
  n = optest_node("ReduceSum");
  EO_CHECK(run1(n, 11, 1, (eo_tview *[]){&sv}, &y, false) == EO_ERR_UNSUPPORTED && err_has("string"));
  optest_node_free(n);
}

/* ---- ArgMax / ArgMin ------------------------------------------------------------------------ */

static void test_arg(void) {
  /* [[2, 7, 7], [9, 1, 9]] */
  float x[6] = {2, 7, 7, 9, 1, 9};
  eo_tview xv = VIEW(EO_FLOAT, 2, DIMS(2, 3), x), y;
  eo_node *n = optest_node("ArgMax");
  optest_attr_i(n, "axis", -1);
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xv}, &y, false) == EO_OK);
  EO_CHECK(y.dtype == EO_INT64 && shape_is(&y, 2, DIMS(2, 1)));
  EO_CHECK(((int64_t *)y.data)[0] == 1 && ((int64_t *)y.data)[1] == 0);  /* first of the ties */
  free(y.data);
  optest_node_free(n);
  n = optest_node("ArgMax");
  optest_attr_i(n, "axis", 1);
  optest_attr_i(n, "select_last_index", 1);
  optest_attr_i(n, "keepdims", 0);
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xv}, &y, false) == EO_OK);
  EO_CHECK(shape_is(&y, 1, DIMS(2)));
  EO_CHECK(((int64_t *)y.data)[0] == 2 && ((int64_t *)y.data)[1] == 2);  /* last of the ties */
  free(y.data);
  /* select_last_index does not exist before opset 12: ignored */
  EO_CHECK(run1(n, 11, 1, (eo_tview *[]){&xv}, &y, false) == EO_OK);
  EO_CHECK(((int64_t *)y.data)[0] == 1 && ((int64_t *)y.data)[1] == 0);
  free(y.data);
  optest_node_free(n);
  /* ArgMin over axis 0 (default) on int64 */
  int64_t xi[6] = {5, -3, 8, 5, -4, 1};
  eo_tview xiv = VIEW(EO_INT64, 2, DIMS(2, 3), xi);
  n = optest_node("ArgMin");
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xiv}, &y, false) == EO_OK);
  EO_CHECK(shape_is(&y, 2, DIMS(1, 3)));
  EO_CHECK(((int64_t *)y.data)[0] == 0 && ((int64_t *)y.data)[1] == 1 && ((int64_t *)y.data)[2] == 1);
  free(y.data);
  optest_attr_i(n, "select_last_index", 1);
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xiv}, &y, false) == EO_OK);
  EO_CHECK(((int64_t *)y.data)[0] == 1);  /* 5 == 5: the last one */
  free(y.data);
  optest_node_free(n);
  /* random [3,4,5] over axis 1 against a naive scan */
  float r[60];
  for (int i = 0; i < 60; i++) r[i] = rndf();
  eo_tview rv = VIEW(EO_FLOAT, 3, DIMS(3, 4, 5), r);
  n = optest_node("ArgMin");
  optest_attr_i(n, "axis", 1);
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&rv}, &y, false) == EO_OK);
  bool ok = shape_is(&y, 3, DIMS(3, 1, 5));
  for (int a = 0; a < 3 && ok; a++)
    for (int c = 0; c < 5; c++) {
      int best = 0;
      for (int b = 1; b < 4; b++)
        if (r[(a * 4 + b) * 5 + c] < r[(a * 4 + best) * 5 + c]) best = b;
      ok &= ((int64_t *)y.data)[a * 5 + c] == best;
    }
  EO_CHECK(ok);
  free(y.data);
  optest_node_free(n);
  /* errors */
  n = optest_node("ArgMax");
  optest_attr_i(n, "axis", 2);
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&xv}, &y, false) == EO_ERR_INVALID && err_has("axis 2 out of range"));
  optest_node_free(n);
  eo_tview zv = VIEW(EO_FLOAT, 2, DIMS(0, 3), x);
  n = optest_node("ArgMax");
  EO_CHECK(run1(n, 13, 1, (eo_tview *[]){&zv}, &y, false) == EO_ERR_SHAPE && err_has("size 0"));
  optest_node_free(n);
}

/* ---- TopK ----------------------------------------------------------------------------------- */

static void test_topk(void) {
  /* [[3, 1, 3, 2], [0, 5, 5, 5]] */
  float x[8] = {3, 1, 3, 2, 0, 5, 5, 5};
  eo_tview xv = VIEW(EO_FLOAT, 2, DIMS(2, 4), x), vals, inds;
  eo_tview kv = VIEW(EO_INT64, 1, DIMS(1), (int64_t[]){3});
  eo_node *n = optest_node("TopK");
  EO_CHECK(optest_run(n, 11, 2, (eo_tview *[]){&xv, &kv}, 2, (eo_tview *[]){&vals, &inds}, true) == EO_OK);
  EO_CHECK(shape_is(&vals, 2, DIMS(2, 3)) && shape_is(&inds, 2, DIMS(2, 3)) && inds.dtype == EO_INT64);
  const float wv[6] = {3, 3, 2, 5, 5, 5};
  const int64_t wi[6] = {0, 2, 3, 1, 2, 3};  /* ties by ascending index */
  EO_CHECK(memcmp(vals.data, wv, sizeof wv) == 0 && memcmp(inds.data, wi, sizeof wi) == 0);
  free(vals.data);
  free(inds.data);
  optest_node_free(n);
  /* smallest, axis 0 (inner > 1), k = 1 */
  n = optest_node("TopK");
  optest_attr_i(n, "axis", 0);
  optest_attr_i(n, "largest", 0);
  eo_tview k1 = VIEW(EO_INT64, 1, DIMS(1), (int64_t[]){1});
  EO_CHECK(optest_run(n, 11, 2, (eo_tview *[]){&xv, &k1}, 2, (eo_tview *[]){&vals, &inds}, true) == EO_OK);
  EO_CHECK(shape_is(&vals, 2, DIMS(1, 4)));
  const float sv[4] = {0, 1, 3, 2};
  const int64_t si[4] = {1, 0, 0, 0};
  EO_CHECK(memcmp(vals.data, sv, sizeof sv) == 0 && memcmp(inds.data, si, sizeof si) == 0);
  free(vals.data);
  free(inds.data);
  optest_node_free(n);
  /* opset 9: k attribute; int32 data */
  int32_t xi[5] = {4, -1, 9, 4, 7};
  eo_tview xiv = VIEW(EO_INT32, 1, DIMS(5), xi);
  n = optest_node("TopK");
  optest_attr_i(n, "k", 4);
  EO_CHECK(optest_run(n, 9, 1, (eo_tview *[]){&xiv}, 2, (eo_tview *[]){&vals, &inds}, false) == EO_OK);
  const int32_t iv[4] = {9, 7, 4, 4};
  const int64_t ii[4] = {2, 4, 0, 3};
  EO_CHECK(vals.dtype == EO_INT32 && memcmp(vals.data, iv, sizeof iv) == 0 && memcmp(inds.data, ii, sizeof ii) == 0);
  free(vals.data);
  free(inds.data);
  optest_node_free(n);
  /* random rows, largest: each output is the sorted prefix and points at its value */
  float r[3 * 37];
  for (int i = 0; i < 3 * 37; i++) r[i] = (float)((int)(rndf() * 4));  /* many ties */
  eo_tview rv = VIEW(EO_FLOAT, 2, DIMS(3, 37), r);
  eo_tview k10 = VIEW(EO_INT64, 1, DIMS(1), (int64_t[]){10});
  n = optest_node("TopK");
  EO_CHECK(optest_run(n, 11, 2, (eo_tview *[]){&rv, &k10}, 2, (eo_tview *[]){&vals, &inds}, true) == EO_OK);
  bool ok = true;
  for (int row = 0; row < 3; row++) {
    const float *rr = r + row * 37;
    for (int j = 0; j < 10; j++) {
      int64_t ix = ((int64_t *)inds.data)[row * 10 + j];
      float v = ((float *)vals.data)[row * 10 + j];
      ok &= ix >= 0 && ix < 37 && rr[ix] == v;
      if (j) {
        float pv = ((float *)vals.data)[row * 10 + j - 1];
        int64_t pi = ((int64_t *)inds.data)[row * 10 + j - 1];
        ok &= pv > v || (pv == v && pi < ix);
      }
    }
    /* nothing left out is larger than the last kept, or equal with a lower index */
    float last = ((float *)vals.data)[row * 10 + 9];
    int64_t lasti = ((int64_t *)inds.data)[row * 10 + 9];
    for (int64_t i = 0; i < 37; i++) {
      bool kept = false;
      for (int j = 0; j < 10; j++) kept |= ((int64_t *)inds.data)[row * 10 + j] == i;
      if (!kept) ok &= rr[i] < last || (rr[i] == last && i > lasti);
    }
  }
  EO_CHECK(ok);
  free(vals.data);
  free(inds.data);
  optest_node_free(n);
  /* errors: k too large, k not constant, k missing before opset 10 */
  n = optest_node("TopK");
  eo_tview k9 = VIEW(EO_INT64, 1, DIMS(1), (int64_t[]){9});
  EO_CHECK(optest_run(n, 11, 2, (eo_tview *[]){&xv, &k9}, 2, (eo_tview *[]){&vals, &inds}, true) == EO_ERR_INVALID &&
           err_has("k = 9 is outside [0, 4]"));
  EO_CHECK(optest_run(n, 11, 2, (eo_tview *[]){&xv, &kv}, 2, (eo_tview *[]){&vals, &inds}, false) == EO_ERR_UNSUPPORTED &&
           err_has("'K' must be constant"));
  EO_CHECK(optest_run(n, 9, 1, (eo_tview *[]){&xv}, 2, (eo_tview *[]){&vals, &inds}, false) == EO_ERR_INVALID &&
           err_has("'k' is required"));
  optest_node_free(n);
}

/* ---- NonMaxSuppression ---------------------------------------------------------------------- */

/* The ONNX example boxes ([y1, x1, y2, x2]) and scores. */
static float nms_boxes[24] = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, -0.1f, 1, 0.9f, 0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100, 1, 101};
static float nms_scores[6] = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};

static void test_nms(void) {
  eo_tview bv = VIEW(EO_FLOAT, 3, DIMS(1, 6, 4), nms_boxes), sv = VIEW(EO_FLOAT, 3, DIMS(1, 1, 6), nms_scores), y;
  eo_tview mv = VIEW(EO_INT64, 1, DIMS(1), (int64_t[]){3});
  eo_tview iv = VIEW(EO_FLOAT, 1, DIMS(1), (float[]){0.5f});
  eo_tview tv = VIEW(EO_FLOAT, 1, DIMS(1), (float[]){0.0f});
  eo_node *n = optest_node("NonMaxSuppression");
  /* constant inputs: exact count. Boxes 1 and 2 overlap box 0 (IoU 0.82), box 4 overlaps box 3. */
  EO_CHECK(run1(n, 11, 5, (eo_tview *[]){&bv, &sv, &mv, &iv, &tv}, &y, true) == EO_OK);
  const int64_t want[9] = {0, 0, 3, 0, 0, 0, 0, 0, 5};
  EO_CHECK(shape_is(&y, 2, DIMS(3, 3)) && y.dtype == EO_INT64 && memcmp(y.data, want, sizeof want) == 0);
  free(y.data);
  /* non-constant inputs: infer gives the upper bound (N = 6 boxes, max_output_boxes_per_class
   * unknown at infer), forward sets the selected count; the score threshold 0.4 drops box 5 */
  eo_tview m5 = VIEW(EO_INT64, 1, DIMS(1), (int64_t[]){5});
  eo_tview t4 = VIEW(EO_FLOAT, 1, DIMS(1), (float[]){0.4f});
  EO_CHECK(run1(n, 11, 5, (eo_tview *[]){&bv, &sv, &m5, &iv, &t4}, &y, false) == EO_OK);
  const int64_t want2[6] = {0, 0, 3, 0, 0, 0};
  EO_CHECK(shape_is(&y, 2, DIMS(2, 3)) && memcmp(y.data, want2, sizeof want2) == 0);
  free(y.data);
  /* max_output_boxes_per_class absent: nothing selected */
  EO_CHECK(run1(n, 11, 2, (eo_tview *[]){&bv, &sv}, &y, true) == EO_OK);
  EO_CHECK(shape_is(&y, 2, DIMS(0, 3)));
  free(y.data);
  optest_node_free(n);

  /* center_point_box = 1 with the same boxes as [xc, yc, w, h]; two classes and two batches */
  float cb[48], sc[24];
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 6; i++) {
      const float *p = nms_boxes + i * 4;
      float *q = cb + (b * 6 + i) * 4;
      q[0] = (p[1] + p[3]) / 2, q[1] = (p[0] + p[2]) / 2, q[2] = p[3] - p[1], q[3] = p[2] - p[0];
    }
  for (int b = 0; b < 2; b++)
    for (int c = 0; c < 2; c++)
      for (int i = 0; i < 6; i++) sc[(b * 2 + c) * 6 + i] = c == 0 ? nms_scores[i] : nms_scores[5 - i];
  eo_tview cbv = VIEW(EO_FLOAT, 3, DIMS(2, 6, 4), cb), scv = VIEW(EO_FLOAT, 3, DIMS(2, 2, 6), sc);
  eo_tview m2 = VIEW(EO_INT64, 1, DIMS(1), (int64_t[]){2});
  n = optest_node("NonMaxSuppression");
  optest_attr_i(n, "center_point_box", 1);
  EO_CHECK(run1(n, 11, 4, (eo_tview *[]){&cbv, &scv, &m2, &iv}, &y, true) == EO_OK);
  /* class 1 scores reversed: box 5 (0.9), box 2 (0.95)... -> order 2, 5 */
  const int64_t want3[24] = {0, 0, 3, 0, 0, 0, 0, 1, 2, 0, 1, 5, 1, 0, 3, 1, 0, 0, 1, 1, 2, 1, 1, 5};
  EO_CHECK(shape_is(&y, 2, DIMS(8, 3)) && memcmp(y.data, want3, sizeof want3) == 0);
  free(y.data);
  optest_node_free(n);

  /* identical boxes: equal scores keep the lowest index, the rest are suppressed */
  float ib[12] = {0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1}, is[3] = {0.5f, 0.5f, 0.5f};
  eo_tview ibv = VIEW(EO_FLOAT, 3, DIMS(1, 3, 4), ib), isv = VIEW(EO_FLOAT, 3, DIMS(1, 1, 3), is);
  n = optest_node("NonMaxSuppression");
  EO_CHECK(run1(n, 11, 3, (eo_tview *[]){&ibv, &isv, &m5}, &y, true) == EO_OK);
  EO_CHECK(shape_is(&y, 2, DIMS(1, 3)) && ((int64_t *)y.data)[2] == 0);
  free(y.data);
  /* errors */
  eo_tview bad = VIEW(EO_FLOAT, 3, DIMS(1, 6, 3), nms_boxes);
  EO_CHECK(run1(n, 11, 2, (eo_tview *[]){&bad, &sv}, &y, true) == EO_ERR_SHAPE && err_has("boxes [B,N,4]"));
  eo_tview i2 = VIEW(EO_FLOAT, 1, DIMS(1), (float[]){1.5f});
  EO_CHECK(run1(n, 11, 4, (eo_tview *[]){&bv, &sv, &mv, &i2}, &y, true) == EO_ERR_INVALID && err_has("iou_threshold"));
  optest_node_free(n);
}

/* ---- Resize / Upsample ---------------------------------------------------------------------- */

/* Independent 1-D source coordinate, from the spec's formulas. `out` is the output size, `len` the
 * resized length the ONNX reference uses (in * scale: equal to out when sizes are given). */
static double ref_coord(const char *ct, double o, double in, double out, double len, double scale, double r0,
                        double r1) {
  if (!strcmp(ct, "half_pixel")) return (o + 0.5) / scale - 0.5;
  if (!strcmp(ct, "pytorch_half_pixel")) return out > 1 ? (o + 0.5) / scale - 0.5 : 0;
  if (!strcmp(ct, "align_corners")) return len == 1 ? 0 : o * (in - 1) / (len - 1);
  if (!strcmp(ct, "asymmetric")) return o / scale;
  if (!strcmp(ct, "half_pixel_symmetric")) {
    double adj = out / len;
    return in / 2 * (1 - adj) + (o + 0.5) / scale - 0.5;
  }
  /* tf_crop_and_resize */
  double start = r0 * (in - 1), end = r1 * (in - 1);
  return len == 1 ? (start + end) / 2 : start + o * (end - start) / (len - 1);
}

static double keys(double t, double a) {
  t = fabs(t);
  double t2 = t * t, t3 = t2 * t;
  if (t <= 1) return (a + 2) * t3 - (a + 3) * t2 + 1;
  if (t < 2) return a * t3 - 5 * a * t2 + 8 * a * t - 4 * a;
  return 0;
}

static int clampi(int i, int n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* Direct (non-separable) 2-D interpolation of an h x w image: every output pixel sums its full
 * 2x2 or 4x4 neighbourhood. mode 1 linear, 2 cubic. */
static void ref_resize2d(const float *x, int h, int w, int oh, int ow, double sh, double sw, const char *ct, int mode,
                         double a, bool excl, const double *roi, float extrap, float *y) {
  for (int i = 0; i < oh; i++)
    for (int j = 0; j < ow; j++) {
      double cy = ref_coord(ct, i, h, oh, h * sh, sh, roi ? roi[0] : 0, roi ? roi[2] : 1);
      double cx = ref_coord(ct, j, w, ow, w * sw, sw, roi ? roi[1] : 0, roi ? roi[3] : 1);
      if (roi && (cy < 0 || cy > h - 1 || cx < 0 || cx > w - 1)) {
        y[i * ow + j] = extrap;
        continue;
      }
      int fy = (int)floor(cy), fx = (int)floor(cx), lo = mode == 1 ? 0 : -1, hi = mode == 1 ? 1 : 2;
      double acc = 0, wsum_y[4] = {0}, wsum_x[4] = {0}, sy = 0, sx = 0;
      for (int p = lo; p <= hi; p++) {
        double wy = mode == 1 ? 1 - fabs(cy - (fy + p)) : keys(cy - (fy + p), a);
        double wx = mode == 1 ? 1 - fabs(cx - (fx + p)) : keys(cx - (fx + p), a);
        if (excl && (fy + p < 0 || fy + p >= h)) wy = 0;
        if (excl && (fx + p < 0 || fx + p >= w)) wx = 0;
        wsum_y[p - lo] = wy, wsum_x[p - lo] = wx, sy += wy, sx += wx;
      }
      for (int p = lo; p <= hi; p++)
        for (int q = lo; q <= hi; q++) {
          double wy = excl ? wsum_y[p - lo] / sy : wsum_y[p - lo], wx = excl ? wsum_x[q - lo] / sx : wsum_x[q - lo];
          acc += wy * wx * x[clampi(fy + p, h) * w + clampi(fx + q, w)];
        }
      y[i * ow + j] = (float)acc;
    }
}

static bool close_all(const float *a, const float *b, int64_t n, double tol) {
  for (int64_t i = 0; i < n; i++)
    if (!(fabs(a[i] - b[i]) <= tol * (1 + fabs(b[i])))) {
      fprintf(stderr, "  element %lld: %.7g vs %.7g\n", (long long)i, a[i], b[i]);
      return false;
    }
  return true;
}

/* Resize [1,1,h,w] with scales (sizes == NULL) or sizes; compares with ref_resize2d. */
static void check_resize(const char *mode, const char *ct, int h, int w, const float *scales, const int64_t *sizes,
                         double a, bool excl, const float *roi, float extrap) {
  float x[64];
  for (int i = 0; i < h * w; i++) x[i] = rndf();
  eo_node *n = optest_node("Resize");
  optest_attr_s(n, "mode", mode);
  optest_attr_s(n, "coordinate_transformation_mode", ct);
  if (a != -0.75) optest_attr_f(n, "cubic_coeff_a", (float)a);
  if (excl) optest_attr_i(n, "exclude_outside", 1);
  if (roi) optest_attr_f(n, "extrapolation_value", extrap);
  eo_tview xv = VIEW(EO_FLOAT, 4, DIMS(1, 1, h, w), x), y;
  eo_tview rv = VIEW(EO_FLOAT, 1, DIMS(8), (void *)roi);
  eo_tview sv = VIEW(EO_FLOAT, 1, DIMS(4), (void *)scales), zv = VIEW(EO_INT64, 1, DIMS(4), (void *)sizes);
  eo_status st = run1(n, 19, 4, (eo_tview *[]){&xv, roi ? &rv : NULL, sizes ? NULL : &sv, sizes ? &zv : NULL}, &y, true);
  EO_CHECK_MSG(st == EO_OK, "%s %s: %s", mode, ct, eo_last_error());
  if (st == EO_OK) {
    int oh = sizes ? (int)sizes[2] : (int)floorf(h * scales[2]), ow = sizes ? (int)sizes[3] : (int)floorf(w * scales[3]);
    /* the reference uses in * scale as the resized length when scales are given */
    double sh = sizes ? (double)oh / h : scales[2], sw = sizes ? (double)ow / w : scales[3];
    float want[256];
    double droi[4] = {roi ? roi[2] : 0, roi ? roi[3] : 0, roi ? roi[6] : 1, roi ? roi[7] : 1};
    ref_resize2d(x, h, w, oh, ow, sh, sw, ct, strcmp(mode, "linear") == 0 ? 1 : 2, a, excl, roi ? droi : NULL, extrap,
                 want);
    EO_CHECK_MSG(shape_is(&y, 4, DIMS(1, 1, oh, ow)), "%s %s shape", mode, ct);
    EO_CHECK_MSG(close_all(y.data, want, oh * ow, 1e-5), "%s %s values", mode, ct);
    free(y.data);
  }
  optest_node_free(n);
}

static void test_resize_linear_cubic(void) {
  /* hand values (ONNX docs): 2x2 -> 4x4 linear half_pixel and align_corners */
  float x[4] = {1, 2, 3, 4};
  eo_tview xv = VIEW(EO_FLOAT, 4, DIMS(1, 1, 2, 2), x), y;
  eo_tview sv = VIEW(EO_FLOAT, 1, DIMS(4), (float[]){1, 1, 2, 2});
  eo_node *n = optest_node("Resize");
  optest_attr_s(n, "mode", "linear");
  EO_CHECK(run1(n, 13, 3, (eo_tview *[]){&xv, NULL, &sv}, &y, true) == EO_OK);
  const float hp[16] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
  EO_CHECK(shape_is(&y, 4, DIMS(1, 1, 4, 4)) && close_all(y.data, hp, 16, 1e-6));
  free(y.data);
  optest_node_free(n);
  n = optest_node("Resize");
  optest_attr_s(n, "mode", "linear");
  optest_attr_s(n, "coordinate_transformation_mode", "align_corners");
  EO_CHECK(run1(n, 13, 3, (eo_tview *[]){&xv, NULL, &sv}, &y, true) == EO_OK);
  const float ac[16] = {1, 4 / 3.f, 5 / 3.f, 2, 5 / 3.f, 2, 7 / 3.f, 8 / 3.f, 7 / 3.f, 8 / 3.f, 3, 10 / 3.f, 3, 10 / 3.f, 11 / 3.f, 4};
  EO_CHECK(close_all(y.data, ac, 16, 1e-6));
  free(y.data);
  optest_node_free(n);

  /* every coordinate mode, up and down, scales and sizes, against the direct 2-D reference */
  static const char *cts[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"};
  for (int m = 0; m < 2; m++)
    for (int c = 0; c < 5; c++) {
      const char *mode = m ? "cubic" : "linear";
      check_resize(mode, cts[c], 4, 5, (float[]){1, 1, 2, 1.5f}, NULL, -0.75, false, NULL, 0);
      check_resize(mode, cts[c], 4, 6, (float[]){1, 1, 0.5f, 0.75f}, NULL, -0.75, false, NULL, 0);
      check_resize(mode, cts[c], 4, 4, NULL, (int64_t[]){1, 1, 7, 3}, -0.75, false, NULL, 0);
      check_resize(mode, cts[c], 5, 3, NULL, (int64_t[]){1, 1, 1, 6}, -0.5, true, NULL, 0);
    }
  /* tf_crop_and_resize with a roi reaching outside the image: extrapolation_value there */
  const float roi[8] = {0, 0, 0.4f, -0.2f, 1, 1, 0.9f, 1.3f};
  check_resize("linear", "tf_crop_and_resize", 5, 5, NULL, (int64_t[]){1, 1, 3, 4}, -0.75, false, roi, 10);
  check_resize("cubic", "tf_crop_and_resize", 5, 5, NULL, (int64_t[]){1, 1, 4, 3}, -0.75, false, roi, -1);
}

/* Nearest: index per axis from the rounding rule, checked against a direct gather. */
static void test_resize_nearest(void) {
  /* ONNX docs: [1,1,2,2] scales [1,1,2,3] -> [[1,1,1,2,2,2],[1,1,1,2,2,2],[3,3,3,4,4,4],[3,3,3,4,4,4]] */
  float x[4] = {1, 2, 3, 4};
  eo_tview xv = VIEW(EO_FLOAT, 4, DIMS(1, 1, 2, 2), x), y;
  eo_tview sv = VIEW(EO_FLOAT, 1, DIMS(4), (float[]){1, 1, 2, 3});
  eo_node *n = optest_node("Resize");
  EO_CHECK(run1(n, 13, 3, (eo_tview *[]){&xv, NULL, &sv}, &y, true) == EO_OK);
  const float up[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
  EO_CHECK(shape_is(&y, 4, DIMS(1, 1, 4, 6)) && memcmp(y.data, up, sizeof up) == 0);
  free(y.data);
  optest_node_free(n);

  static const char *nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  static const char *cts[] = {"half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "pytorch_half_pixel"};
  int8_t xi[20];
  for (int i = 0; i < 20; i++) xi[i] = (int8_t)(i * 7 - 60);
  eo_tview xiv = VIEW(EO_INT8, 2, DIMS(4, 5), xi);
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 5; b++)
      for (int s = 0; s < 2; s++) {
        const int64_t oh = s ? 3 : 7, ow = s ? 8 : 2;
        n = optest_node("Resize");
        optest_attr_s(n, "nearest_mode", nms[a]);
        optest_attr_s(n, "coordinate_transformation_mode", cts[b]);
        eo_tview zv = VIEW(EO_INT64, 1, DIMS(2), (int64_t[]){oh, ow});
        eo_status st = run1(n, 13, 4, (eo_tview *[]){&xiv, NULL, NULL, &zv}, &y, true);
        EO_CHECK(st == EO_OK);
        if (st) {
          optest_node_free(n);
          continue;
        }
        bool ok = y.dtype == EO_INT8 && shape_is(&y, 2, DIMS(oh, ow));
        for (int i = 0; i < oh && ok; i++)
          for (int j = 0; j < ow; j++) {
            int idx[2];
            for (int d = 0; d < 2; d++) {
              double in = d ? 5 : 4, out = d ? (double)ow : (double)oh, o = d ? j : i;
              double cxy = !strcmp(cts[b], "tf_half_pixel_for_nn") ? (o + 0.5) * in / out
                                                                   : ref_coord(cts[b], o, in, out, out, out / in, 0, 1);
              double fr = cxy - floor(cxy);
              int k = a == 2 ? (int)floor(cxy) : a == 3 ? (int)ceil(cxy)
                      : fr == 0.5 ? (a == 0 ? (int)floor(cxy) : (int)ceil(cxy)) : (int)floor(cxy + 0.5);
              idx[d] = clampi(k, (int)in);
            }
            ok &= ((int8_t *)y.data)[i * ow + j] == xi[idx[0] * 5 + idx[1]];
          }
        EO_CHECK_MSG(ok, "nearest %s %s %s", nms[a], cts[b], s ? "mixed" : "up/down");
        free(y.data);
        optest_node_free(n);
      }
}

static void test_resize_opsets(void) {
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  eo_tview xv = VIEW(EO_FLOAT, 4, DIMS(1, 1, 2, 4), x), y;
  /* opset 10: X, scales; asymmetric; nearest downsample by 0.6 takes ceil(0, 1.67) = 0, 2 */
  eo_tview sv = VIEW(EO_FLOAT, 1, DIMS(4), (float[]){1, 1, 0.6f, 0.6f});
  eo_node *n = optest_node("Resize");
  EO_CHECK(run1(n, 10, 2, (eo_tview *[]){&xv, &sv}, &y, true) == EO_OK);
  EO_CHECK(shape_is(&y, 4, DIMS(1, 1, 1, 2)) && ((float *)y.data)[0] == 1 && ((float *)y.data)[1] == 3);
  free(y.data);
  optest_node_free(n);
  /* opset 10 linear upsample x2 on the last axis (asymmetric): 1, 1.5, 2, 2.5, 3, 3.5, 4, 4 */
  n = optest_node("Resize");
  optest_attr_s(n, "mode", "linear");
  eo_tview s2 = VIEW(EO_FLOAT, 1, DIMS(4), (float[]){1, 1, 1, 2});
  EO_CHECK(run1(n, 10, 2, (eo_tview *[]){&xv, &s2}, &y, true) == EO_OK);
  const float lin[8] = {1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4};
  EO_CHECK(shape_is(&y, 4, DIMS(1, 1, 2, 8)) && close_all(y.data, lin, 8, 1e-6));
  free(y.data);
  optest_node_free(n);
  /* opset 18 axes + keep_aspect_ratio_policy: [2,4] to fit in [4,4] -> scale min(2,1) = 1 ... not_larger */
  n = optest_node("Resize");
  optest_attr_ints(n, "axes", 2, (int64_t[]){2, 3});
  optest_attr_s(n, "keep_aspect_ratio_policy", "not_larger");
  eo_tview zv = VIEW(EO_INT64, 1, DIMS(2), (int64_t[]){4, 6});
  EO_CHECK(run1(n, 18, 4, (eo_tview *[]){&xv, NULL, NULL, &zv}, &y, true) == EO_OK);
  EO_CHECK(shape_is(&y, 4, DIMS(1, 1, 3, 6)));  /* scale 1.5 = min(4/2, 6/4) */
  free(y.data);
  optest_node_free(n);
  n = optest_node("Resize");
  optest_attr_ints(n, "axes", 1, (int64_t[]){-1});
  optest_attr_s(n, "keep_aspect_ratio_policy", "not_smaller");
  eo_tview z1 = VIEW(EO_INT64, 1, DIMS(1), (int64_t[]){2});
  EO_CHECK(run1(n, 18, 4, (eo_tview *[]){&xv, NULL, NULL, &z1}, &y, true) == EO_OK);
  /* only axis 3 is listed: [1,1,2,2], columns 0.5 scale half_pixel -> source 0.5, 2.5 -> round_prefer_floor 0, 2 */
  EO_CHECK(shape_is(&y, 4, DIMS(1, 1, 2, 2)));
  EO_CHECK(((float *)y.data)[0] == 1 && ((float *)y.data)[1] == 3 && ((float *)y.data)[2] == 5 && ((float *)y.data)[3] == 7);
  free(y.data);
  optest_node_free(n);

  /* errors */
  n = optest_node("Resize");
  eo_tview z4 = VIEW(EO_INT64, 1, DIMS(4), (int64_t[]){1, 1, 4, 4});
  EO_CHECK(run1(n, 13, 4, (eo_tview *[]){&xv, NULL, &sv, &z4}, &y, true) == EO_ERR_INVALID && err_has("found both"));
  EO_CHECK(run1(n, 13, 2, (eo_tview *[]){&xv, NULL}, &y, true) == EO_ERR_INVALID && err_has("found neither"));
  EO_CHECK(run1(n, 13, 4, (eo_tview *[]){&xv, NULL, NULL, &z4}, &y, false) == EO_ERR_UNSUPPORTED &&
           err_has("'sizes' must be constant"));
  EO_CHECK(run1(n, 13, 4, (eo_tview *[]){&xv, NULL, NULL, &z1}, &y, true) == EO_ERR_SHAPE && err_has("4 values"));
  eo_tview sneg = VIEW(EO_FLOAT, 1, DIMS(4), (float[]){1, 1, -2, 1});
  EO_CHECK(run1(n, 13, 3, (eo_tview *[]){&xv, NULL, &sneg}, &y, true) == EO_ERR_INVALID && err_has("positive"));
  optest_node_free(n);
  n = optest_node("Resize");
  optest_attr_s(n, "mode", "cubic");
  EO_CHECK(run1(n, 10, 2, (eo_tview *[]){&xv, &sv}, &y, true) == EO_ERR_INVALID && err_has("unknown mode 'cubic'"));
  int32_t xi[8] = {0};
  eo_tview xiv = VIEW(EO_INT32, 4, DIMS(1, 1, 2, 4), xi);
  EO_CHECK(run1(n, 13, 3, (eo_tview *[]){&xiv, NULL, &sv}, &y, true) == EO_ERR_UNSUPPORTED && err_has("expected float32"));
  optest_node_free(n);
  n = optest_node("Resize");
  optest_attr_s(n, "coordinate_transformation_mode", "corners");
  EO_CHECK(run1(n, 13, 3, (eo_tview *[]){&xv, NULL, &sv}, &y, true) == EO_ERR_INVALID && err_has("'corners'"));
  optest_node_free(n);
  n = optest_node("Resize");
  optest_attr_s(n, "mode", "linear");
  optest_attr_i(n, "antialias", 1);
  EO_CHECK(run1(n, 18, 3, (eo_tview *[]){&xv, NULL, &sv}, &y, true) == EO_ERR_UNSUPPORTED && err_has("antialias"));
  optest_node_free(n);
}

static void test_upsample(void) {
  float x[4] = {1, 2, 3, 4};
  eo_tview xv = VIEW(EO_FLOAT, 4, DIMS(1, 1, 2, 2), x), y;
  const float up[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
  /* opset 7: scales attribute */
  eo_node *n = optest_node("Upsample");
  optest_attr_floats(n, "scales", 4, (float[]){1, 1, 2, 3});
  EO_CHECK(run1(n, 7, 1, (eo_tview *[]){&xv}, &y, false) == EO_OK);
  EO_CHECK(shape_is(&y, 4, DIMS(1, 1, 4, 6)) && memcmp(y.data, up, sizeof up) == 0);
  free(y.data);
  optest_node_free(n);
  /* opset 9: scales input */
  n = optest_node("Upsample");
  eo_tview sv = VIEW(EO_FLOAT, 1, DIMS(4), (float[]){1, 1, 2, 3});
  EO_CHECK(run1(n, 9, 2, (eo_tview *[]){&xv, &sv}, &y, true) == EO_OK);
  EO_CHECK(shape_is(&y, 4, DIMS(1, 1, 4, 6)) && memcmp(y.data, up, sizeof up) == 0);
  free(y.data);
  optest_node_free(n);
  /* linear (asymmetric, edge-clamped): row [1, 2] x2 -> 1, 1.5, 2, 2 */
  n = optest_node("Upsample");
  optest_attr_s(n, "mode", "linear");
  eo_tview s2 = VIEW(EO_FLOAT, 1, DIMS(4), (float[]){1, 1, 1, 2});
  EO_CHECK(run1(n, 9, 2, (eo_tview *[]){&xv, &s2}, &y, true) == EO_OK);
  const float lin[8] = {1, 1.5f, 2, 2, 3, 3.5f, 4, 4};
  EO_CHECK(shape_is(&y, 4, DIMS(1, 1, 2, 4)) && close_all(y.data, lin, 8, 1e-6));
  free(y.data);
  /* errors: scale < 1, non-constant scales */
  eo_tview sd = VIEW(EO_FLOAT, 1, DIMS(4), (float[]){1, 1, 0.5f, 1});
  EO_CHECK(run1(n, 9, 2, (eo_tview *[]){&xv, &sd}, &y, true) == EO_ERR_INVALID && err_has(">= 1"));
  EO_CHECK(run1(n, 9, 2, (eo_tview *[]){&xv, &s2}, &y, false) == EO_ERR_UNSUPPORTED && err_has("must be constant"));
  optest_node_free(n);
}

int main(void) {
  test_reduce_random();
  test_reduce_hand();
  test_reduce_errors();
  test_arg();
  test_topk();
  test_nms();
  test_resize_linear_cubic();
  test_resize_nearest();
  test_resize_opsets();
  test_upsample();
  return eo_test_finish();
}
