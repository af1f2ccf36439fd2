/* MatMulNBits (com.microsoft, src/runtime/ops/matmul_nbits.c) against numpy: random packed weights,
 * scales, zero points (absent, uint8 packed, float32) and bias are written as .npy, a numpy script
 * written here unpacks the bit fields with its own array operations, dequantizes and multiplies in
 * float64, and both edgeopt paths (the fast GEMM on weights dequantized at prepare, and the
 * reference under EO_FORCE_REF) must agree with it within 1e-5 of max|Y| (float32 accumulation
 * over K <= 100). Shapes: 4 bits with K off the block size (a padded last block) and a rank-3 A;
 * 4 bits with packed zero points and 2-D scales; 8 and 2 bits. Then the errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/npy.h"
#include "ops/op_test.h"
#include "test.h"

static char dir[64];
static uint32_t rng = 4242;
static uint32_t next(void) { return rng = rng * 1664525u + 1013904223u; }
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)((next() >> 8) & 0xffffff) / 16777216.f; }

static const char *oracle =
    "import sys, numpy as np\n"
    "d, bits, bs, K, N = sys.argv[1], *map(int, sys.argv[2:6])\n"
    "A = np.load(d + '/a.npy').astype(np.float64)\n"
    "B = np.load(d + '/b.npy')\n"
    "S = np.load(d + '/s.npy').astype(np.float64).reshape(N, -1)\n"
    "nblk, per, mask = S.shape[1], 8 // bits, (1 << bits) - 1\n"
    "def unpack(x, count):  # bytes [N, m] -> values [N, m * per], low bits first\n"
    "    v = np.stack([(x.astype(np.int64) >> (bits * i)) & mask for i in range(per)], axis=-1)\n"
    "    return v.reshape(x.shape[0], -1)[:, :count]\n"
    "q = unpack(B.reshape(N, -1), nblk * bs)\n"
    "try:\n"
    "    Z = np.load(d + '/z.npy')\n"
    "    Z = unpack(Z.reshape(N, -1), nblk) if Z.dtype == np.uint8 else Z.astype(np.float64).reshape(N, nblk)\n"
    "except FileNotFoundError:\n"
    "    Z = np.full((N, nblk), 2.0 ** (bits - 1))\n"
    "W = ((q - np.repeat(Z, bs, axis=1)) * np.repeat(S, bs, axis=1))[:, :K]  # [N, K]\n"
    "Y = A @ W.T\n"
    "try:\n"
    "    Y = Y + np.load(d + '/bias.npy').astype(np.float64)\n"
    "except FileNotFoundError:\n"
    "    pass\n"
    "np.save(d + '/y.npy', Y)\n";

typedef struct mnb_case {
  int bits, bs, K, N;
  int a_rank;
  int64_t a_dims[3];
  int zp;          /* 0 none, 1 uint8 packed, 2 float32 */
  int scales_2d;
  int bias;
} mnb_case;

static eo_node *nbits_node(int64_t K, int64_t N, int64_t bits, int64_t bs) {
  eo_node *n = optest_node("MatMulNBits");
  free(n->domain);
  n->domain = strdup("com.microsoft");
  n->op = eo_op_lookup("com.microsoft", "MatMulNBits");
  optest_attr_i(n, "K", K);
  optest_attr_i(n, "N", N);
  optest_attr_i(n, "bits", bits);
  optest_attr_i(n, "block_size", bs);
  return n;
}

static void run_case(const mnb_case *t) {
  int64_t nblk = (t->K + t->bs - 1) / t->bs, blob = (int64_t)t->bs * t->bits / 8, zb = (nblk * t->bits + 7) / 8;
  int64_t na = 1;
  for (int d = 0; d < t->a_rank; d++) na *= t->a_dims[d];
  int64_t rows = na / t->K;
  float *a = malloc((size_t)na * sizeof(float)), *s = malloc((size_t)(t->N * nblk) * sizeof(float));
  float *zf = malloc((size_t)(t->N * nblk) * sizeof(float)), *bias = malloc((size_t)t->N * sizeof(float));
  uint8_t *b = malloc((size_t)(t->N * nblk * blob)), *zu = malloc((size_t)(t->N * zb));
  for (int64_t i = 0; i < na; i++) a[i] = rndf(-1, 1);
  for (int64_t i = 0; i < t->N * nblk * blob; i++) b[i] = (uint8_t)(next() >> 24);
  for (int64_t i = 0; i < t->N * nblk; i++) s[i] = rndf(0.01f, 0.1f), zf[i] = rndf(0, (float)((1 << t->bits) - 1));
  for (int64_t i = 0; i < t->N * zb; i++) zu[i] = (uint8_t)(next() >> 24);
  for (int64_t i = 0; i < t->N; i++) bias[i] = rndf(-2, 2);

  char p[160], cmd[400];
  int64_t bd[3] = {t->N, nblk, blob}, sd2[2] = {t->N, nblk}, sd1[1] = {t->N * nblk}, zd[2] = {t->N, zb}, nd[1] = {t->N};
  snprintf(p, sizeof p, "%s/a.npy", dir);
  EO_CHECK(eo_npy_write(p, EO_FLOAT, t->a_rank, t->a_dims, a) == EO_OK);
  snprintf(p, sizeof p, "%s/b.npy", dir);
  EO_CHECK(eo_npy_write(p, EO_UINT8, 3, bd, b) == EO_OK);
  snprintf(p, sizeof p, "%s/s.npy", dir);
  EO_CHECK(eo_npy_write(p, EO_FLOAT, 1, sd1, s) == EO_OK);
  snprintf(p, sizeof p, "%s/z.npy", dir);
  unlink(p);
  if (t->zp == 1) EO_CHECK(eo_npy_write(p, EO_UINT8, 2, zd, zu) == EO_OK);
  if (t->zp == 2) EO_CHECK(eo_npy_write(p, EO_FLOAT, 1, sd1, zf) == EO_OK);
  snprintf(p, sizeof p, "%s/bias.npy", dir);
  unlink(p);
  if (t->bias) EO_CHECK(eo_npy_write(p, EO_FLOAT, 1, nd, bias) == EO_OK);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/oracle.py %s %d %d %d %d", dir, dir, t->bits, t->bs, t->K, t->N);
  EO_CHECK_MSG(system(cmd) == 0, "numpy oracle failed: %s", cmd);
  int dt, rank;
  int64_t yd[EO_MAX_RANK];
  void *yv = NULL;
  size_t nbytes;
  snprintf(p, sizeof p, "%s/y.npy", dir);
  EO_CHECK(eo_npy_read(p, &dt, &rank, yd, &yv, &nbytes) == EO_OK && dt == EO_DOUBLE &&
           nbytes == (size_t)(rows * t->N) * sizeof(double));
  const double *want = yv;
  double ymax = 0;
  for (int64_t i = 0; want && i < rows * t->N; i++) ymax = fmax(ymax, fabs(want[i]));

  eo_node *n = nbits_node(t->K, t->N, t->bits, t->bs);
  eo_tview ta = optest_f32(t->a_rank, t->a_dims, a);
  eo_tview tb = optest_view(EO_UINT8, 3, bd, b);
  eo_tview ts = t->scales_2d ? optest_f32(2, sd2, s) : optest_f32(1, sd1, s);
  eo_tview tz = t->zp == 1 ? optest_view(EO_UINT8, 2, zd, zu) : optest_f32(1, sd1, zf);
  eo_tview tbias = optest_f32(1, nd, bias);
  eo_tview *in[6] = {&ta, &tb, &ts, t->zp ? &tz : NULL, NULL, t->bias ? &tbias : NULL};
  int n_in = t->bias ? 6 : t->zp ? 4 : 3;
  char *env = getenv("EO_FORCE_REF") ? strdup(getenv("EO_FORCE_REF")) : NULL;
  for (int ref = 0; ref < 2; ref++) {
    if (ref) setenv("EO_FORCE_REF", "1", 1);
    else unsetenv("EO_FORCE_REF");
    eo_tview y;
    eo_status st = optest_run(n, 17, n_in, in, 1, (eo_tview *[]){&y}, true);
    EO_CHECK_MSG(st == EO_OK, "bits %d K %d: %s", t->bits, t->K, eo_last_error());
    if (st) continue;
    EO_CHECK(y.dtype == EO_FLOAT && y.rank == t->a_rank && y.dims[t->a_rank - 1] == t->N);
    double err = 0;
    for (int64_t i = 0; want && i < rows * t->N; i++) err = fmax(err, fabs(((float *)y.data)[i] - want[i]));
    EO_CHECK_MSG(want && err <= 1e-5 * ymax, "bits %d block %d K %d N %d zp %d (%s): max|diff| %.3g, max|Y| %.3g",
                 t->bits, t->bs, t->K, t->N, t->zp, ref ? "reference" : "fast", err, ymax);
    free(y.data);
  }
  if (env) setenv("EO_FORCE_REF", env, 1);
  else unsetenv("EO_FORCE_REF");
  free(env);
  optest_node_free(n);
  free(yv);
  free(a), free(s), free(zf), free(bias), free(b), free(zu);
}

static void test_errors(void) {
  float a[2 * 32] = {0}, s[4] = {1, 1, 1, 1};
  uint8_t b[4 * 2 * 8] = {0};
  int64_t ad[2] = {2, 32}, bd[3] = {4, 2, 8}, sd[1] = {4};
  eo_tview ta = optest_f32(2, ad, a), tb = optest_view(EO_UINT8, 3, bd, b), ts = optest_f32(1, sd, s), y;
  eo_tview *in[3] = {&ta, &tb, &ts};
  // K = 32, N = 2, block 16: B [2, 2, 8] and 4 scales. Here B is [4, 2, 8]: N mismatch
  eo_node *n = nbits_node(32, 2, 4, 16);
  EO_CHECK(optest_run(n, 17, 3, in, 1, (eo_tview *[]){&y}, true) == EO_ERR_SHAPE && strstr(eo_last_error(), "B is"));
  optest_node_free(n);
  // A's last dim is not K
  n = nbits_node(64, 4, 4, 16);
  EO_CHECK(optest_run(n, 17, 3, in, 1, (eo_tview *[]){&y}, true) == EO_ERR_SHAPE && strstr(eo_last_error(), "K = 64"));
  optest_node_free(n);
  // 3 bits: refused by name
  n = nbits_node(32, 4, 3, 16);
  EO_CHECK(optest_run(n, 17, 3, in, 1, (eo_tview *[]){&y}, true) == EO_ERR_UNSUPPORTED && strstr(eo_last_error(), "bits"));
  optest_node_free(n);
  // block size not a power of 2
  n = nbits_node(32, 4, 4, 24);
  EO_CHECK(optest_run(n, 17, 3, in, 1, (eo_tview *[]){&y}, true) == EO_ERR_INVALID && strstr(eo_last_error(), "block_size"));
  optest_node_free(n);
  // g_idx
  n = nbits_node(32, 4, 4, 16);
  int32_t g[32] = {0};
  int64_t gd[1] = {32};
  eo_tview tg = optest_view(EO_INT32, 1, gd, g);
  eo_tview *in5[5] = {&ta, &tb, &ts, NULL, &tg};
  EO_CHECK(optest_run(n, 17, 5, in5, 1, (eo_tview *[]){&y}, true) == EO_ERR_UNSUPPORTED && strstr(eo_last_error(), "g_idx"));
  // the right shapes run: K 32, N 4, B [4, 2, 8], 8 scales
  float s8[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  int64_t sd8[1] = {8};
  eo_tview ts8 = optest_f32(1, sd8, s8);
  eo_tview *ok[3] = {&ta, &tb, &ts8};
  EO_CHECK(optest_run(n, 17, 3, ok, 1, (eo_tview *[]){&y}, true) == EO_OK);
  // all nibbles 0 with zero point 8: every weight is -8, A is 0: Y is 0
  EO_CHECK(y.dims[0] == 2 && y.dims[1] == 4 && ((float *)y.data)[7] == 0.0f);
  free(y.data);
  optest_node_free(n);
}

int main(void) {
  EO_CHECK(eo_op_lookup("com.microsoft", "MatMulNBits") >= 0);
  snprintf(dir, sizeof dir, "/tmp/eo-mnb-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  char p[160];
  snprintf(p, sizeof p, "%s/oracle.py", dir);
  FILE *f = fopen(p, "w");
  if (!f || fputs(oracle, f) < 0) return 1;
  fclose(f);
  const mnb_case cases[] = {
      {4, 32, 100, 37, 3, {2, 3, 100}, 0, 0, 1},  // padded last block, rank-3 A, bias
      {4, 16, 64, 20, 2, {5, 64}, 1, 1, 0},       // packed uint8 zero points, 2-D scales
      {8, 16, 48, 9, 2, {4, 48}, 2, 0, 1},        // 8 bits, float zero points
      {2, 16, 40, 5, 2, {3, 40}, 1, 0, 0},        // 2 bits, packed zero points, padding
      {4, 64, 17, 70, 1, {17}, 0, 0, 1},          // rank-1 A, one block
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
  test_errors();
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return eo_test_finish();
}
