/* Packed weight bytes (eo_plan_stats.packed_bytes) and the constants a session frees once their
 * only readers packed them (freed_constant_bytes), on small generated models:
 *
 * 1. Conv(3x3) -> BatchNormalization -> Relu -> depthwise Conv -> GlobalAveragePool -> Conv(1x1)
 *    -> Flatten -> Gemm(transB). packed_bytes must be what the packing layouts of kernels/fast.h
 *    imply, computed here from the tile (MR x NR) alone:
 *      3x3 conv, 16x16 outputs: weights as A panels, ceil(M/MR)*MR rows x K = Cin*9;
 *      depthwise: a plain copy, C x 9;
 *      1x1 conv on a 1x1 map: run transposed (a single output position would fill 1 of NR
 *      columns), weights as B panels, ceil(M/NR)*NR columns x K = Cin;
 *      Gemm: B as B panels, ceil(N/NR)*NR x K.
 *    The BN-folded 3x3 weights belong to the session and only the conv reads them, so they are
 *    freed after packing: freed_constant_bytes == their size exactly, constant_bytes is that much
 *    lower than under force_ref (which packs nothing and frees nothing), and the outputs equal the
 *    reference kernels' (1e-5 relative, the EO_FORCE_REF bar) at batch 1, after preparing
 *    the same session again for batch 3, and back at batch 1.
 * 2. Two folded (session-owned) 1x1 weights: one read only by a Conv (freed), one read by a Conv
 *    and by a Mul at run time (kept): freed_constant_bytes == the first one's size.
 * 3. Relu -> Add(constant): nothing packs, packed_bytes == 0, nothing freed. */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "edgeopt/model.h"
#include "edgeopt/runtime.h"
#include "onnx_build.h"
#include "runtime/kernels/fast.h"
#include "test.h"

/* Packs a float model with one input X (dims xd, dim 0 symbolic "N" when sym) and the outputs
 * named in outs (tests/onnx_build.h). Returns a malloc'd buffer (its size in *len). */
static uint8_t *build(const ob_node *nodes, int n_nodes, const ob_init *inits, int n_inits, int xrank,
                      const int64_t *xd, bool sym, const char *const *outs, int n_outs, size_t *len) {
  const ob_model m = {.nodes = nodes, .n_nodes = n_nodes, .inits = inits, .n_inits = n_inits, .xrank = xrank,
                      .xd = xd, .sym = sym, .outs = outs, .n_outs = n_outs};
  return ob_pack(&m, len);
}

/* Deterministic values in [-1, 1) (positive in [0.5, 1.5) for BN variances). */
static float *values(int64_t n, uint32_t seed, bool positive) {
  float *v = malloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    float u = (float)(seed >> 8) / 16777216.0f;
    v[i] = positive ? 0.5f + u : 2.0f * u - 1.0f;
  }
  return v;
}

static int64_t up(int64_t n, int64_t a) { return (n + a - 1) / a * a; }

/* Runs a prepared session on x (dims xd); copies output o into a new buffer. */
static float *run(eo_session *s, int rank, const int64_t *xd, const float *x, int o, size_t *n) {
  eo_tensor_view v;
  if (eo_session_set_input(s, "X", EO_FLOAT, rank, xd, x) || eo_session_run(s) || eo_session_output(s, o, &v)) {
    fprintf(stderr, "run failed: %s\n", eo_last_error());
    return NULL;
  }
  float *y = malloc(v.nbytes);
  memcpy(y, v.data, v.nbytes);
  *n = v.nbytes / sizeof(float);
  return y;
}

/* max |a - b| <= 1e-5 * max |b| (and b is not all zeros). */
static bool close_rel(const float *a, const float *b, size_t n) {
  double md = 0, mb = 0;
  for (size_t i = 0; i < n; i++) {
    if (fabs((double)b[i]) > mb) mb = fabs((double)b[i]);
    if (fabs((double)a[i] - (double)b[i]) > md) md = fabs((double)a[i] - (double)b[i]);
  }
  if (!(mb > 0) || md > 1e-5 * mb) fprintf(stderr, "max |diff| %.3g, max |ref| %.3g\n", md, mb);
  return mb > 0 && md <= 1e-5 * mb;
}

static eo_session *session(const eo_model *m, bool force_ref, int64_t batch, const int64_t *xd, int rank) {
  eo_session *s = NULL;
  eo_session_options so = {.threads = 2, .force_ref = force_ref};
  int64_t dims[4];
  memcpy(dims, xd, (size_t)rank * sizeof(int64_t));
  dims[0] = batch;
  eo_input_shape shp = {"X", rank, dims, 0, NULL};
  if (eo_session_create(m, &so, &s) || eo_session_prepare(s, 1, &shp)) {
    fprintf(stderr, "session failed: %s\n", eo_last_error());
    eo_session_free(s);
    return NULL;
  }
  return s;
}

enum { CIN = 8, C1 = 20, HW = 16, C4 = 12, NOUT = 10 };

static void test_conv_model(void) {
  float *w1 = values(C1 * CIN * 9, 1, false), *b1 = values(C1, 2, false), *g = values(C1, 3, true),
        *be = values(C1, 4, false), *mu = values(C1, 5, false), *var = values(C1, 6, true),
        *w2 = values(C1 * 9, 7, false), *w4 = values(C4 * C1, 8, false), *b4 = values(C4, 9, false),
        *w3 = values(NOUT * C4, 10, false), *b3 = values(NOUT, 11, false);
  ob_init inits[] = {{"W1", 4, {C1, CIN, 3, 3}, w1}, {"B1", 1, {C1}, b1},      {"G", 1, {C1}, g},
                     {"BE", 1, {C1}, be},           {"MU", 1, {C1}, mu},      {"VAR", 1, {C1}, var},
                     {"W2", 4, {C1, 1, 3, 3}, w2},  {"W4", 4, {C4, C1, 1, 1}, w4}, {"B4", 1, {C4}, b4},
                     {"W3", 2, {NOUT, C4}, w3},     {"B3", 1, {NOUT}, b3}};
  const ob_attr pads = {"pads", 4, 0, 0, {1, 1, 1, 1}}, ks = {"kernel_shape", 2, 0, 0, {3, 3}};
  ob_node nodes[] = {
      {"Conv", {"X", "W1", "B1"}, {"y1"}, {pads, ks}},
      {"BatchNormalization", {"y1", "G", "BE", "MU", "VAR"}, {"y2"}, {{"epsilon", -1, 0, 1e-3f, {0}}}},
      {"Relu", {"y2"}, {"y3"}, {{0}}},
      {"Conv", {"y3", "W2"}, {"y4"}, {pads, ks, {"group", 0, C1, 0, {0}}}},
      {"GlobalAveragePool", {"y4"}, {"y5"}, {{0}}},
      {"Conv", {"y5", "W4", "B4"}, {"y6"}, {{0}}},
      {"Flatten", {"y6"}, {"y7"}, {{0}}},
      {"Gemm", {"y7", "W3", "B3"}, {"Y"}, {{"transB", 0, 1, 0, {0}}}},
  };
  const int64_t xd[4] = {1, CIN, HW, HW};
  const char *outs[] = {"Y"};
  size_t len;
  uint8_t *buf = build(nodes, 8, inits, 11, 4, xd, true, outs, 1, &len);
  eo_model *m = NULL;
  EO_CHECK(eo_model_load_buffer(buf, len, NULL, "conv_model", NULL, &m) == EO_OK);
  free(buf);
  if (!m) {
    fprintf(stderr, "%s\n", eo_last_error());
    return;
  }

  const eo_f32_kernels_t *kr = eo_f32_kernels(eo_cpu_isa());
  size_t expect = 0;
  if (kr) {
    int64_t mr = kr->mr, nr = kr->nr;
    expect = (size_t)(up(C1, mr) * CIN * 9 + C1 * 9 + up(C4, nr) * C1 + up(NOUT, nr) * C4) * sizeof(float);
    printf("tile %lldx%lld: expected packed bytes %zu\n", (long long)mr, (long long)nr, expect);
  }
  const size_t w1_bytes = (size_t)C1 * CIN * 9 * sizeof(float);

  eo_session *fast = session(m, false, 1, xd, 4), *ref = session(m, true, 1, xd, 4);
  EO_CHECK(fast && ref);
  if (!fast || !ref) goto done;
  eo_plan_stats pf, pr;
  EO_CHECK(eo_session_plan_stats(fast, &pf) == EO_OK && eo_session_plan_stats(ref, &pr) == EO_OK);
  printf("fast: packed %zu, constants %zu, freed %zu; reference: packed %zu, constants %zu, freed %zu\n",
         pf.packed_bytes, pf.constant_bytes, pf.freed_constant_bytes, pr.packed_bytes, pr.constant_bytes,
         pr.freed_constant_bytes);
  EO_CHECK(pf.bn_folded == 1);  // the 3x3 weights are the session's own (folded), not the model's
  EO_CHECK_MSG(pf.packed_bytes == expect, "packed %zu, expected %zu", pf.packed_bytes, expect);
  EO_CHECK(pr.packed_bytes == 0 && pr.freed_constant_bytes == 0);
  EO_CHECK_MSG(pf.freed_constant_bytes == (kr ? w1_bytes : 0), "freed %zu, expected %zu", pf.freed_constant_bytes,
               kr ? w1_bytes : (size_t)0);
  EO_CHECK(pf.constant_bytes + pf.freed_constant_bytes == pr.constant_bytes);

  // outputs equal the reference kernels' at batch 1, 3 (the same sessions prepared again) and 1
  const int64_t batches[] = {1, 3, 1};
  for (int b = 0; b < 3; b++) {
    int64_t d[4] = {batches[b], CIN, HW, HW};
    eo_input_shape shp = {"X", 4, d, 0, NULL};
    if (b > 0) {
      EO_CHECK(eo_session_prepare(fast, 1, &shp) == EO_OK && eo_session_prepare(ref, 1, &shp) == EO_OK);
      eo_plan_stats again;
      EO_CHECK(eo_session_plan_stats(fast, &again) == EO_OK && again.packed_bytes == pf.packed_bytes &&
               again.freed_constant_bytes == pf.freed_constant_bytes);
    }
    float *x = values(batches[b] * CIN * HW * HW, 100u + (uint32_t)b, false);
    size_t nf = 0, nr = 0;
    float *yf = run(fast, 4, d, x, 0, &nf), *yr = run(ref, 4, d, x, 0, &nr);
    EO_CHECK(yf && yr && nf == (size_t)(batches[b] * NOUT) && nf == nr);
    EO_CHECK_MSG(yf && yr && nf == nr && close_rel(yf, yr, nf), "batch %lld", (long long)batches[b]);
    free(x), free(yf), free(yr);
  }
  // the model itself still holds every weight, byte for byte
  int i = eo_graph_find(&m->graph, "W1");
  EO_CHECK(i >= 0 && m->graph.tensors[i].data && memcmp(m->graph.tensors[i].data, w1, w1_bytes) == 0);
done:
  eo_session_free(fast);
  eo_session_free(ref);
  eo_model_free(m);
  free(w1), free(b1), free(g), free(be), free(mu), free(var), free(w2), free(w4), free(b4), free(w3), free(b3);
}

/* Folded weights: Wa = A * two (read by a Conv only), Wb = B * two (read by a Conv and by a Mul at
 * run time). */
static void test_folded_readers(void) {
  float *a = values(4 * 4, 21, false), *bw = values(4 * 4, 22, false), two[1] = {2.0f};
  ob_init inits[] = {{"A", 4, {4, 4, 1, 1}, a}, {"B", 4, {4, 4, 1, 1}, bw}, {"TWO", 1, {1}, two}};
  ob_node nodes[] = {
      {"Mul", {"A", "TWO"}, {"Wa"}, {{0}}},
      {"Mul", {"B", "TWO"}, {"Wb"}, {{0}}},
      {"Conv", {"X", "Wa"}, {"ya"}, {{0}}},
      {"Conv", {"ya", "Wb"}, {"Y"}, {{0}}},
      {"Mul", {"X", "Wb"}, {"Z"}, {{0}}},  // [1,4,6,6] x [4,4,1,1] -> [4,4,6,6]
  };
  const int64_t xd[4] = {1, 4, 6, 6};
  const char *outs[] = {"Y", "Z"};
  size_t len;
  uint8_t *buf = build(nodes, 5, inits, 3, 4, xd, false, outs, 2, &len);
  eo_model *m = NULL;
  EO_CHECK(eo_model_load_buffer(buf, len, NULL, "folded_model", NULL, &m) == EO_OK);
  free(buf);
  eo_session *fast = m ? session(m, false, 1, xd, 4) : NULL, *ref = m ? session(m, true, 1, xd, 4) : NULL;
  EO_CHECK(fast && ref);
  if (fast && ref) {
    eo_plan_stats pf, pr;
    EO_CHECK(eo_session_plan_stats(fast, &pf) == EO_OK && eo_session_plan_stats(ref, &pr) == EO_OK);
    bool packs = eo_f32_kernels(eo_cpu_isa()) != NULL;
    EO_CHECK_MSG(pf.freed_constant_bytes == (packs ? 16 * sizeof(float) : 0), "freed %zu", pf.freed_constant_bytes);
    EO_CHECK(pr.freed_constant_bytes == 0);
    float *x = values(4 * 36, 23, false);
    for (int o = 0; o < 2; o++) {
      size_t nf = 0, nr = 0;
      float *yf = run(fast, 4, xd, x, o, &nf), *yr = run(ref, 4, xd, x, o, &nr);
      EO_CHECK(yf && yr && nf == (o ? 4u * 4 * 36 : 4u * 36) && nf == nr && close_rel(yf, yr, nf));
      free(yf), free(yr);
    }
    free(x);
  }
  eo_session_free(fast);
  eo_session_free(ref);
  eo_model_free(m);
  free(a), free(bw);
}

static void test_no_packing(void) {
  float *c = values(3 * 5, 31, false);
  ob_init inits[] = {{"C", 2, {3, 5}, c}};
  ob_node nodes[] = {{"Relu", {"X"}, {"r"}, {{0}}}, {"Add", {"r", "C"}, {"Y"}, {{0}}}};
  const int64_t xd[2] = {3, 5};
  const char *outs[] = {"Y"};
  size_t len;
  uint8_t *buf = build(nodes, 2, inits, 1, 2, xd, false, outs, 1, &len);
  eo_model *m = NULL;
  EO_CHECK(eo_model_load_buffer(buf, len, NULL, "no_packing", NULL, &m) == EO_OK);
  free(buf);
  eo_session *s = m ? session(m, false, 3, xd, 2) : NULL;
  EO_CHECK(s != NULL);
  eo_plan_stats ps;
  if (s && eo_session_plan_stats(s, &ps) == EO_OK) {
    EO_CHECK(ps.packed_bytes == 0 && ps.freed_constant_bytes == 0);
    EO_CHECK(ps.constant_bytes == 15 * sizeof(float));
    float *x = values(15, 32, false);
    size_t n = 0;
    float *y = run(s, 2, xd, x, 0, &n);
    EO_CHECK(y && n == 15);
    for (size_t i = 0; y && i < n; i++) EO_CHECK(y[i] == (x[i] > 0 ? x[i] : 0.0f) + c[i]);
    free(x), free(y);
  }
  eo_session_free(s);
  eo_model_free(m);
  free(c);
}

int main(void) {
  test_conv_model();
  test_folded_readers();
  test_no_packing();
  return eo_test_finish();
}
