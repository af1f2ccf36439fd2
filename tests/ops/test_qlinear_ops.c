/* The ORT-arithmetic QLinear* kernels and ops (kernels/ref/qlinear_kernels.h, ops/qlinear_*.c):
 *   - hand-computed values (ties to even, saturation, zero points, int8 and uint8);
 *   - an independent double-precision oracle: the exact real result rounded, within 1 step always and
 *     equal on >= 99% of random elements (float32 vs double only part ways near .5 ties);
 *   - MLAS's logistic against 1 / (1 + exp(-x)) (its documented accuracy, a few ulps);
 *   - AVX2 rows (and AVX-512 Mul rows) against the reference rows, byte for byte, at lengths below,
 *     at and off the 8-, 16- and 32-wide tiles, with every broadcast stride pattern and extreme scales;
 *   - the fast table lookups against the reference (all codes, odd lengths, misaligned, in place);
 *   - the ops through op_test.h: QLinearAdd with broadcasting, QLinearConcat copy + requantize,
 *     QLinearGlobalAveragePool, QLinearSigmoid.
 * Exactness against ONNX Runtime itself is tests/cli/test_qgroups_vs_ort.sh. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include "core/cpu.h"
#include "ops/op_test.h"
#include "runtime/kernels/ref/qlinear_kernels.h"
#include "test.h"

static uint32_t rng = 12345;
static uint32_t next(void) {
  rng = rng * 1664525u + 1013904223u;
  return rng >> 8;
}

static int32_t val(bool s8, uint8_t b) { return s8 ? (int8_t)b : b; }
static uint8_t sat(bool s8, double v) {
  double r = nearbyint(v);
  double lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
  r = r < lo ? lo : r > hi ? hi : r;
  return (uint8_t)(int32_t)r;
}

static void test_hand_values(void) {
  eo_qbin_params p = {.s8 = false, .a_scale = 0.5f, .b_scale = 0.25f, .c_scale = 1.0f};
  eo_qbin_params_finish(&p);
  uint8_t a[4] = {10, 1, 3, 255}, b[4] = {20, 0, 0, 255}, y[4];
  eo_q8_add_row__ref(&p, 4, a, 1, b, 1, y);
  // 5 + 5 = 10; 0.5 -> 0 and 1.5 -> 2 (half to even); 127.5 + 63.75 = 191.25 -> 191
  EO_CHECK(y[0] == 10 && y[1] == 0 && y[2] == 2 && y[3] == 191);
  p.c_scale = 0.5f;  // 382.5 -> saturates at 255
  eo_qbin_params_finish(&p);
  eo_q8_add_row__ref(&p, 4, a, 1, b, 1, y);
  EO_CHECK(y[3] == 255 && y[0] == 20);
  eo_qbin_params s = {.s8 = true, .a_scale = 1.0f, .b_scale = 1.0f, .c_scale = 1.0f, .a_zp = 0, .b_zp = 0, .c_zp = -5};
  eo_qbin_params_finish(&s);
  uint8_t sa[3] = {(uint8_t)-100, (uint8_t)100, (uint8_t)7}, sb[3] = {(uint8_t)-100, (uint8_t)100, (uint8_t)-7};
  eo_q8_add_row__ref(&s, 3, sa, 1, sb, 1, y);
  // -200 - 5 -> -128; 200 - 5 -> 127; 0 - 5 = -5
  EO_CHECK((int8_t)y[0] == -128 && (int8_t)y[1] == 127 && (int8_t)y[2] == -5);
  eo_qbin_params m = {.s8 = false, .a_scale = 1.0f, .b_scale = 1.0f, .c_scale = 2.0f, .a_zp = 1, .b_zp = 2, .c_zp = 10};
  eo_qbin_params_finish(&m);
  uint8_t ma[3] = {4, 6, 1}, mb[3] = {7, 2, 200};
  eo_q8_mul_row__ref(&m, 3, ma, 1, mb, 1, y);
  // (3 * 5) / 2 = 7.5 + 10 = 17.5 -> 18 (even); 5 * 0 = 0 -> 10; 0 * 198 -> 10
  EO_CHECK(y[0] == 18 && y[1] == 10 && y[2] == 10);
  m.c_scale = 0.01f;
  eo_qbin_params_finish(&m);
  eo_q8_mul_row__ref(&m, 1, ma, 1, mb, 1, y);
  EO_CHECK(y[0] == 255);
}

/* Random rows against the real-valued result rounded in double. */
static void test_oracle(bool s8, bool mul) {
  int n = 4096, within = 0, exact = 0;
  uint8_t *a = malloc(n), *b = malloc(n), *y = malloc(n);
  for (int i = 0; i < n; i++) a[i] = (uint8_t)next(), b[i] = (uint8_t)next();
  eo_qbin_params p = {.s8 = s8, .a_scale = 0.031f, .b_scale = 0.047f, .c_scale = mul ? 0.09f : 0.053f,
                      .a_zp = s8 ? -3 : 120, .b_zp = s8 ? 5 : 131, .c_zp = s8 ? -10 : 118};
  eo_qbin_params_finish(&p);
  (mul ? eo_q8_mul_row__ref : eo_q8_add_row__ref)(&p, n, a, 1, b, 1, y);
  for (int i = 0; i < n; i++) {
    double fa = (val(s8, a[i]) - p.a_zp) * (double)p.a_scale, fb = (val(s8, b[i]) - p.b_zp) * (double)p.b_scale;
    uint8_t want = sat(s8, (mul ? fa * fb : fa + fb) / p.c_scale + p.c_zp);
    int d = abs(val(s8, y[i]) - val(s8, want));
    within += d <= 1;
    exact += d == 0;
  }
  EO_CHECK_MSG(within == n && exact >= n * 99 / 100, "%s %s: %d of %d within 1, %d exact", s8 ? "s8" : "u8",
               mul ? "mul" : "add", within, n, exact);
  free(a), free(b), free(y);
}

static void test_logistic(void) {
  double worst = 0;
  for (float x = -25.0f; x <= 25.0f; x += 0.0137f) {
    double want = 1.0 / (1.0 + exp(-(double)x)), got = eo_logistic_mlas(x);
    double e = fabs(got - want);
    worst = e > worst ? e : worst;
  }
  EO_CHECK_MSG(worst < 2e-6, "MLAS logistic max error %.3g", worst);
  // the table: every entry within 1 step of the exact sigmoid quantized, equal on most
  uint8_t t[256];
  eo_q8_lut_sigmoid(false, 0.05f, 128, 1.0f / 256, 0, t);
  int exact = 0, within = 0;
  for (int i = 0; i < 256; i++) {
    uint8_t want = sat(false, 1.0 / (1.0 + exp(-(i - 128) * (double)0.05f)) * 256.0);
    exact += t[i] == want;
    within += abs(t[i] - want) <= 1;
  }
  EO_CHECK_MSG(within == 256 && exact >= 250, "sigmoid table: %d within 1, %d exact of 256", within, exact);
  EO_CHECK(t[0] == 0 && t[255] == 255 && t[128] == 128);
  // identity table at the same parameters is the identity; int8 codes index by their byte
  eo_q8_lut_requant(true, 0.1f, -3, 0.1f, -3, t);
  int id = 0;
  for (int i = 0; i < 256; i++) id += t[i] == (uint8_t)i;
  EO_CHECK(id == 256);
  eo_q8_lut_requant(true, 0.25f, 0, 0.5f, 0, t);
  EO_CHECK((int8_t)t[(uint8_t)-7] == -4 && (int8_t)t[5] == 2 && (int8_t)t[3] == 2);  // -3.5 -> -4, 2.5 -> 2, 1.5 -> 2
}

static void test_fast_vs_ref(void) {
  if (eo_cpu_isa() < EO_ISA_AVX2) {
    printf("no AVX2: the fast rows are not compiled in for this CPU; reference only\n");
    return;
  }
  static const float scales[][3] = {{0.031f, 0.047f, 0.053f}, {1.0f, 1.0f, 1e-9f}, {1e-6f, 3.0f, 0.7f}, {0.5f, 0.25f, 1.0f}};
  uint8_t a[80], b[80], yr[80], yf[80];
  int bad = 0, runs = 0, bad512 = 0, runs512 = 0;
  for (int s8 = 0; s8 < 2; s8++)
    for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++)
      for (int mul = 0; mul < 2; mul++)
        for (int st = 0; st < 3; st++)
          for (int n = 0; n <= 67; n += (n < 17 ? 1 : 5)) {
            for (int i = 0; i < 80; i++) a[i] = (uint8_t)next(), b[i] = (uint8_t)next();
            eo_qbin_params p = {.s8 = s8, .a_scale = scales[k][0], .b_scale = scales[k][1], .c_scale = scales[k][2],
                                .a_zp = (int32_t)(next() % 200) - (s8 ? 100 : 0), .b_zp = s8 ? 3 : 140,
                                .c_zp = (int32_t)(next() % 200) - (s8 ? 100 : 0)};
            eo_qbin_params_finish(&p);
            int64_t sa = st == 1 ? 0 : 1, sb = st == 2 ? 0 : 1;
            memset(yr, 0xAB, sizeof yr);
            memset(yf, 0xAB, sizeof yf);
            if (mul) {
              eo_q8_mul_row__ref(&p, n, a, sa, b, sb, yr);
              eo_q8_mul_row__avx2(&p, n, a, sa, b, sb, yf);
            } else {
              eo_q8_add_row__ref(&p, n, a, sa, b, sb, yr);
              eo_q8_add_row__avx2(&p, n, a, sa, b, sb, yf);
            }
            runs++;
            bad += memcmp(yr, yf, sizeof yr) != 0;  // also: nothing written past n
            if (mul && eo_cpu_isa_max() >= EO_ISA_AVX512) {
              memset(yf, 0xAB, sizeof yf);
              eo_q8_mul_row__avx512(&p, n, a, sa, b, sb, yf);
              runs512++;
              bad512 += memcmp(yr, yf, sizeof yr) != 0;
            }
          }
  EO_CHECK_MSG(bad == 0, "%d of %d rows differ between AVX2 and reference", bad, runs);
  EO_CHECK_MSG(bad512 == 0, "%d of %d Mul rows differ between AVX-512 and reference", bad512, runs512);
}

/* The table lookups: every fast version the CPU has against the reference and against table[x]
 * computed here, byte for byte, over all 256 codes, lengths around each vector width (odd ones
 * included), misaligned source and destination, in place, and with guard bytes that must stay. */
static void check_lut(const char *name, eo_q8_lut_fn fast) {
  enum { MAXN = 1100, PAD = 80 };
  static uint8_t table[256], src[MAXN + PAD], yr[MAXN + PAD], yf[MAXN + PAD];
  for (int i = 0; i < 256; i++) table[i] = (uint8_t)next();
  // codes: a shuffle of 0..255 repeated, so every length >= 256 sees all of them
  uint8_t perm[256];
  for (int i = 0; i < 256; i++) perm[i] = (uint8_t)i;
  for (int i = 255; i > 0; i--) {
    int j = (int)(next() % (uint32_t)(i + 1));
    uint8_t t = perm[i];
    perm[i] = perm[j], perm[j] = t;
  }
  for (int i = 0; i < MAXN + PAD; i++) src[i] = perm[i % 256];
  static const int lens[] = {0, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 127, 128, 129, 191, 193,
                             255, 256, 257, 383, 511, 513, 1023, 1025, 1099};
  int bad = 0, wrong = 0, runs = 0, inplace = 0;
  for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
    for (int xo = 0; xo < 4; xo++)
      for (int yo = 0; yo < 4; yo += 3) {
        int n = lens[li];
        memset(yr, 0xA5, sizeof yr);
        memset(yf, 0xA5, sizeof yf);
        eo_q8_lut_apply__ref(table, n, src + xo, yr + yo);
        fast(table, n, src + xo, yf + yo);
        for (int i = 0; i < n; i++) wrong += yr[yo + i] != table[src[xo + i]];
        bad += memcmp(yr, yf, sizeof yr) != 0;  // also: nothing written outside [yo, yo + n)
        runs++;
      }
  // in place (y == x), misaligned
  for (int xo = 0; xo < 3; xo++) {
    int n = 517;
    memcpy(yf, src, sizeof yf);
    fast(table, n, yf + xo, yf + xo);
    for (int i = 0; i < n; i++) inplace += yf[xo + i] != table[src[xo + i]];
    inplace += memcmp(yf + xo + n, src + xo + n, sizeof yf - (size_t)(xo + n)) != 0 || memcmp(yf, src, (size_t)xo) != 0;
  }
  EO_CHECK_MSG(wrong == 0, "reference lookup wrong on %d bytes", wrong);
  EO_CHECK_MSG(bad == 0, "%s lookup: %d of %d runs differ from the reference", name, bad, runs);
  EO_CHECK_MSG(inplace == 0, "%s lookup in place: %d bytes wrong or touched outside the range", name, inplace);
}

static void test_lut_fast_vs_ref(void) {
  const eo_cpu_info *ci = eo_cpu_info_get();
  int tried = 0;
  if (eo_cpu_isa_max() >= EO_ISA_AVX2) check_lut("AVX2", eo_q8_lut_apply__avx2), tried++;
  if (eo_cpu_isa_max() >= EO_ISA_AVX512 && ci->avx512vbmi) check_lut("AVX-512 VBMI", eo_q8_lut_apply__avx512vbmi), tried++;
  if (!tried) printf("no AVX2: only the reference lookup runs on this CPU\n");
  // the picker: the reference under force_ref, a fast one otherwise when the CPU has one
  EO_CHECK(eo_q8_lut_pick(true) == eo_q8_lut_apply__ref);
  if (eo_cpu_isa() >= EO_ISA_AVX512 && ci->avx512vbmi) EO_CHECK(eo_q8_lut_pick(false) == eo_q8_lut_apply__avx512vbmi);
  else if (eo_cpu_isa() >= EO_ISA_AVX2) EO_CHECK(eo_q8_lut_pick(false) == eo_q8_lut_apply__avx2);
}

/* A node of one of the com.microsoft QLinear ops (by id: the lookup's domain rules do not matter here). */
static eo_node *qnode(const char *type, int op) {
  eo_node *n = optest_node(type);
  n->op = op;
  return n;
}

static void test_ops(void) {
  // QLinearAdd, A [2, 3, 4] + B [3, 1], uint8: against the row formula in double
  uint8_t A[24], B[3];
  for (int i = 0; i < 24; i++) A[i] = (uint8_t)(i * 11);
  B[0] = 0, B[1] = 100, B[2] = 255;
  float as = 0.1f, bs = 0.2f, cs = 0.3f;
  uint8_t az = 128, bz = 50, cz = 10;
  eo_tview a = optest_view(EO_UINT8, 3, (int64_t[]){2, 3, 4}, A), b = optest_view(EO_UINT8, 2, (int64_t[]){3, 1}, B);
  eo_tview s1 = optest_f32(0, NULL, &as), s2 = optest_f32(0, NULL, &bs), s3 = optest_f32(0, NULL, &cs);
  eo_tview z1 = optest_view(EO_UINT8, 0, NULL, &az), z2 = optest_view(EO_UINT8, 0, NULL, &bz),
           z3 = optest_view(EO_UINT8, 0, NULL, &cz);
  eo_node *n = qnode("QLinearAdd", EO_OP_QLINEAR_ADD);
  eo_tview y;
  eo_status st = optest_run(n, 13, 8, (eo_tview *[]){&a, &s1, &z1, &b, &s2, &z2, &s3, &z3}, 1, (eo_tview *[]){&y}, false);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (!st) {
    EO_CHECK(y.dtype == EO_UINT8 && y.rank == 3 && y.dims[0] == 2 && y.dims[1] == 3 && y.dims[2] == 4);
    int off = 0;
    for (int i = 0; i < 24; i++) {
      int c = (i / 4) % 3;
      uint8_t want = sat(false, ((A[i] - 128) * 0.1 + (B[c] - 50) * 0.2) / 0.3 + 10);
      off += abs(((uint8_t *)y.data)[i] - want) > 1;
    }
    EO_CHECK_MSG(off == 0, "%d elements more than 1 step from the double oracle", off);
    free(y.data);
  }
  optest_node_free(n);
  // a B of another dtype is refused with a message
  eo_tview b8 = optest_view(EO_INT8, 2, (int64_t[]){3, 1}, B);
  n = qnode("QLinearMul", EO_OP_QLINEAR_MUL);
  st = optest_run(n, 13, 8, (eo_tview *[]){&a, &s1, &z1, &b8, &s2, &z2, &s3, &z3}, 1, (eo_tview *[]){&y}, false);
  EO_CHECK(st == EO_ERR_SHAPE && strstr(eo_last_error(), "both int8 or both uint8"));
  optest_node_free(n);

  // QLinearConcat axis 1: X0 [1, 2, 2] at Y's parameters (copied), X1 [1, 1, 2] requantized
  uint8_t X0[4] = {0, 7, 200, 255}, X1[2] = {100, 103};
  float ys = 0.5f, x1s = 0.25f;
  uint8_t yz = 3, x1z = 99;
  eo_tview x0 = optest_view(EO_UINT8, 3, (int64_t[]){1, 2, 2}, X0), x1 = optest_view(EO_UINT8, 3, (int64_t[]){1, 1, 2}, X1);
  eo_tview vys = optest_f32(0, NULL, &ys), vyz = optest_view(EO_UINT8, 0, NULL, &yz), vx1s = optest_f32(0, NULL, &x1s),
           vx1z = optest_view(EO_UINT8, 0, NULL, &x1z);
  n = qnode("QLinearConcat", EO_OP_QLINEAR_CONCAT);
  optest_attr_i(n, "axis", 1);
  st = optest_run(n, 13, 8, (eo_tview *[]){&vys, &vyz, &x0, &vys, &vyz, &x1, &vx1s, &vx1z}, 1, (eo_tview *[]){&y}, false);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (!st) {
    const uint8_t *o = y.data;
    // X1: (1 * 0.25) / 0.5 = 0.5 -> 0 + 3 = 3; (4 * 0.25) / 0.5 = 2 -> 5
    EO_CHECK(y.dims[1] == 3 && o[0] == 0 && o[1] == 7 && o[2] == 200 && o[3] == 255 && o[4] == 3 && o[5] == 5);
    free(y.data);
  }
  optest_node_free(n);

  // QLinearGlobalAveragePool: [1, 2, 2, 2] int8
  int8_t G[8] = {10, 10, 10, 10, -7, 1, 2, 3};
  float gxs = 0.5f, gys = 0.25f;
  int8_t gxz = 2, gyz = -1;
  eo_tview g = optest_view(EO_INT8, 4, (int64_t[]){1, 2, 2, 2}, G), vgxs = optest_f32(0, NULL, &gxs),
           vgys = optest_f32(0, NULL, &gys), vgxz = optest_view(EO_INT8, 0, NULL, &gxz),
           vgyz = optest_view(EO_INT8, 0, NULL, &gyz);
  n = qnode("QLinearGlobalAveragePool", EO_OP_QLINEAR_GLOBAL_AVERAGE_POOL);
  st = optest_run(n, 13, 5, (eo_tview *[]){&g, &vgxs, &vgxz, &vgys, &vgyz}, 1, (eo_tview *[]){&y}, false);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (!st) {
    const int8_t *o = y.data;
    // (40 - 8) * 0.5 / (0.25 * 4) = 16 -> 15; (-1 - 8) * 0.5 = -4.5 -> -4 (even) -> -5
    EO_CHECK(y.rank == 4 && y.dims[2] == 1 && o[0] == 15 && o[1] == -5);
    free(y.data);
  }
  optest_node_free(n);

  // QLinearSigmoid on every uint8 code equals the table
  uint8_t codes[256], t[256];
  for (int i = 0; i < 256; i++) codes[i] = (uint8_t)i;
  float sxs = 0.11f, sys = 0.004f;
  uint8_t sxz = 138, syz = 8;
  eo_tview vc = optest_view(EO_UINT8, 1, (int64_t[]){256}, codes), vsxs = optest_f32(0, NULL, &sxs),
           vsys = optest_f32(0, NULL, &sys), vsxz = optest_view(EO_UINT8, 0, NULL, &sxz),
           vsyz = optest_view(EO_UINT8, 0, NULL, &syz);
  n = qnode("QLinearSigmoid", EO_OP_QLINEAR_SIGMOID);
  st = optest_run(n, 13, 5, (eo_tview *[]){&vc, &vsxs, &vsxz, &vsys, &vsyz}, 1, (eo_tview *[]){&y}, false);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (!st) {
    eo_q8_lut_sigmoid(false, sxs, sxz, sys, syz, t);
    EO_CHECK(memcmp(y.data, t, 256) == 0);
    free(y.data);
  }
  optest_node_free(n);
}

int main(void) {
  test_hand_values();
  test_oracle(false, false);
  test_oracle(true, false);
  test_oracle(false, true);
  test_oracle(true, true);
  test_logistic();
  test_fast_vs_ref();
  test_lut_fast_vs_ref();
  test_ops();
  return eo_test_finish();
}
