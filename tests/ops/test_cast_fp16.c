/* float16 <-> float32 kernels (f16-cvt.h): the F16C kernels bit-equal to the scalar reference on
 * every float16 value, on every rounding tie between neighbouring float16 values and its two float32
 * neighbours, on NaN payloads, Inf, overflow, float16 and float32 subnormals and random bit patterns;
 * the reference itself against hand-checked values and an independent exact computation in double;
 * and the Cast op (float32 <-> float16, and the round-to-float16 Cast of lower_fp16) end to end. */
#define _POSIX_C_SOURCE 200809L  // setenv
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "core/cpu.h"
#include "op_test.h"
#include "runtime/kernels/ref/f16-cvt.h"

static uint32_t f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static float u2f(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* Independent oracle for finite, non-NaN x: the float16 value nearest to x in double arithmetic,
 * ties to the even significand, overflow past 65520 (the tie between 65504 and 2^16) to Inf. */
static uint16_t oracle_f32_to_f16(float x) {
  uint16_t sign = signbit(x) ? 0x8000 : 0;
  double a = fabs((double)x);
  if (isinf(x) || a >= 65520.0) return sign | 0x7c00;
  int e;
  frexp(a, &e);                            // a = m * 2^e, m in [0.5, 1)
  int q = e - 11 < -24 ? -24 : e - 11;     // ulp exponent: 11 significant bits, subnormals 2^-24
  double m = a / ldexp(1.0, q);            // exact (power-of-two scaling)
  double r = floor(m), frac = m - r;
  if (frac > 0.5 || (frac == 0.5 && fmod(r, 2.0) == 1.0)) r += 1.0;
  double v = r * ldexp(1.0, q);            // the rounded value, then encode it
  if (v == 0) return sign;
  if (v < ldexp(1.0, -14)) return sign | (uint16_t)(v / ldexp(1.0, -24));
  int ev;
  double mv = frexp(v, &ev);               // v = mv * 2^ev, mv in [0.5, 1)
  if (ev - 1 + 15 >= 31) return sign | 0x7c00;
  return sign | (uint16_t)((ev - 1 + 15) << 10) | (uint16_t)((mv * 2048.0) - 1024.0);
}

/* Runs both kernels on x[0..n) and checks bit equality (tails of every length are covered because
 * n varies). */
static int check_rows(const eo_f16_kernels_t *fast, const float *x, int64_t n, const char *what) {
  uint16_t *hr = malloc((size_t)n * 2), *hf = malloc((size_t)n * 2);
  float *rr = malloc((size_t)n * 4), *rf = malloc((size_t)n * 4);
  eo_f32_to_f16__ref(x, hr, n);
  fast->f32_to_f16(x, hf, n);
  eo_f32_round_f16__ref(x, rr, n);
  fast->round_f16(x, rf, n);
  int bad = 0;
  for (int64_t i = 0; i < n; i++) {
    if (hr[i] != hf[i] || f2u(rr[i]) != f2u(rf[i])) {
      if (bad++ < 5)
        fprintf(stderr, "%s: x=%08x ref %04x/%08x fast %04x/%08x\n", what, f2u(x[i]), hr[i], f2u(rr[i]), hf[i],
                f2u(rf[i]));
    }
  }
  free(hr), free(hf), free(rr), free(rf);
  return bad;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static void test_reference_values(void) {
  EO_CHECK(eo_f32_to_f16(1.0f) == 0x3c00);
  EO_CHECK(eo_f32_to_f16(-2.0f) == 0xc000);
  EO_CHECK(eo_f32_to_f16(65504.0f) == 0x7bff);
  EO_CHECK(eo_f32_to_f16(65519.996f) == 0x7bff);     // below the tie: max finite
  EO_CHECK(eo_f32_to_f16(65520.0f) == 0x7c00);       // the tie rounds to even: Inf
  EO_CHECK(eo_f32_to_f16(ldexpf(1, -24)) == 0x0001); // smallest subnormal
  EO_CHECK(eo_f32_to_f16(ldexpf(1, -25)) == 0x0000); // tie with 0 rounds to even 0
  EO_CHECK(eo_f32_to_f16(ldexpf(1.5f, -25)) == 0x0001);
  EO_CHECK(eo_f32_to_f16(ldexpf(3, -25)) == 0x0002);  // 1.5 ulp tie -> 2 (even)
  EO_CHECK(eo_f32_to_f16(2049.0f) == eo_f32_to_f16(2048.0f));  // tie -> even
  EO_CHECK(eo_f32_to_f16(2051.0f) == eo_f32_to_f16(2052.0f));  // tie -> even
  EO_CHECK(eo_f32_to_f16(-0.0f) == 0x8000);
  EO_CHECK(eo_f32_to_f16(INFINITY) == 0x7c00);
  EO_CHECK(eo_f32_to_f16(u2f(0x7f800001u)) == 0x7e00);      // sNaN -> quiet
  EO_CHECK(eo_f32_to_f16(u2f(0xffc02000u)) == 0xfe01);      // payload top bits kept
  EO_CHECK(eo_f32_to_f16(u2f(0x00000001u)) == 0x0000);      // float32 subnormal -> 0
  EO_CHECK(f2u(eo_f16_to_f32(0x7c01)) == 0x7fc02000u);     // sNaN -> quiet
  EO_CHECK(eo_f16_to_f32(0x0001) == ldexpf(1, -24));
  EO_CHECK(eo_f16_to_f32(0x03ff) == ldexpf(1023, -24));
  EO_CHECK(eo_f16_to_f32(0xfbff) == -65504.0f);
  // every float16 value: decoding matches the exact value, and encoding gives it back
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = eo_f16_to_f32((uint16_t)h);
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 31) {
      bad += m ? !isnan(f) || eo_f32_to_f16(f) != (h | 0x200) : !isinf(f) || eo_f32_to_f16(f) != h;
      continue;
    }
    double exact = e ? ldexp(1024.0 + m, (int)e - 25) : ldexp((double)m, -24);
    if (h & 0x8000) exact = -exact;
    bad += (double)f != exact || eo_f32_to_f16(f) != h || oracle_f32_to_f16(f) != h;
  }
  EO_CHECK_MSG(bad == 0, "%d float16 values decode or re-encode wrongly", bad);
  // random finite float32 bit patterns against the double oracle
  bad = 0;
  for (int i = 0; i < 200000; i++) {
    float x = u2f(next_u32() & 0x47ffffffu);  // exponents up to 2^16 and below: the interesting range
    if (i & 1) x = u2f(next_u32());
    if (isnan(x)) continue;
    if (eo_f32_to_f16(x) != oracle_f32_to_f16(x) && bad++ < 5)
      fprintf(stderr, "x=%08x ref %04x oracle %04x\n", f2u(x), eo_f32_to_f16(x), oracle_f32_to_f16(x));
  }
  EO_CHECK_MSG(bad == 0, "%d random float32 values round differently from the oracle", bad);
}

static void test_fast_vs_ref(void) {
  const eo_f16_kernels_t *fast = eo_f16_kernels(false), *ref = eo_f16_kernels(true);
  EO_CHECK(strcmp(ref->name, "ref") == 0);
  const eo_cpu_info *ci = eo_cpu_info_get();
  if (ci->f16c && eo_cpu_isa() >= EO_ISA_AVX2) EO_CHECK(strcmp(fast->name, "f16c") == 0);
  else printf("no F16C here: fast table is %s\n", fast->name);
  // f16 -> f32, every value (and every tail length 0..40)
  uint16_t *h = malloc(65536 * 2);
  float *a = malloc(65536 * 4), *b = malloc(65536 * 4);
  for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
  eo_f16_to_f32__ref(h, a, 65536);
  fast->f16_to_f32(h, b, 65536);
  int bad = 0;
  for (int i = 0; i < 65536; i++) bad += f2u(a[i]) != f2u(b[i]);
  for (int n = 0; n <= 40; n++) {
    memset(b, 0xcd, 64 * 4);
    fast->f16_to_f32(h + 0x3bf0, b, n);
    for (int i = 0; i < n; i++) bad += f2u(b[i]) != f2u(a[0x3bf0 + i]);
    bad += f2u(b[n]) != 0xcdcdcdcdu;  // nothing past the row written
  }
  EO_CHECK_MSG(bad == 0, "%d float16 -> float32 mismatches", bad);
  // f32 -> f16 and round: every float16 value, every tie between neighbours and the float32
  // values just around each tie, NaN payloads, overflow, subnormals
  int64_t cap = 65536 * 4 + 4096, n = 0;
  float *x = malloc((size_t)cap * 4);
  for (uint32_t i = 0; i < 65536; i++) {
    float v = a[i];
    x[n++] = v;
    uint32_t e = (i >> 10) & 0x1f;
    if (e == 31 || (i & 0x7fff) == 0x7bff) continue;
    float mid = (float)(((double)v + (double)a[i + 1]) / 2);  // exact: 12 significant bits
    x[n++] = mid;
    x[n++] = u2f(f2u(mid) + 1);
    x[n++] = u2f(f2u(mid) - 1);
  }
  const uint32_t specials[] = {0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u, 0xffbfffffu, 0x7fffe000u,
                               0x7f801fffu, 0x477ff000u, 0x477fefffu, 0x477ff001u, 0x47800000u, 0x7f7fffffu,
                               0x00000001u, 0x807fffffu, 0x33000000u, 0x33000001u, 0x387fe000u, 0x38800000u,
                               0x387ff000u, 0xb87ff000u, 0x80000000u, 0x00000000u};
  for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) x[n++] = u2f(specials[i]);
  for (int i = 0; i < 2000 && n < cap; i++) x[n++] = u2f(next_u32());
  bad = check_rows(fast, x, n, "all");
  for (int len = 0; len <= 40; len++) bad += check_rows(fast, x + 1000 + len, len, "tail");
  EO_CHECK_MSG(bad == 0, "%d float32 -> float16 mismatches between the fast and reference kernels", bad);
  // round is f16_to_f32(f32_to_f16(x)) bit for bit
  uint16_t *hx = malloc((size_t)n * 2);
  float *r1 = malloc((size_t)n * 4), *r2 = malloc((size_t)n * 4);
  fast->f32_to_f16(x, hx, n);
  fast->f16_to_f32(hx, r1, n);
  fast->round_f16(x, r2, n);
  bad = 0;
  for (int64_t i = 0; i < n; i++) bad += f2u(r1[i]) != f2u(r2[i]);
  EO_CHECK_MSG(bad == 0, "%d round_f16 values differ from the two conversions", bad);
  // in place
  memcpy(r1, x, (size_t)n * 4);
  fast->round_f16(r1, r1, n);
  bad = 0;
  for (int64_t i = 0; i < n; i++) bad += f2u(r1[i]) != f2u(r2[i]);
  EO_CHECK_MSG(bad == 0, "%d in-place round_f16 mismatches", bad);
  free(h), free(a), free(b), free(x), free(hx), free(r1), free(r2);
}

/* The Cast op through its eo_op_def, fast and forced-reference paths. */
static void test_cast_op(void) {
  enum { N = 37 };
  float xs[N];
  for (int i = 0; i < N; i++) xs[i] = (float)(i - 18) * 0.3337f + (i == 5 ? 70000.0f : 0.0f);
  for (int ref = 0; ref <= 1; ref++) {
    if (ref) setenv("EO_FORCE_REF", "1", 1);  // optest_run reads it into force_ref
    else unsetenv("EO_FORCE_REF");
    eo_node *n = optest_node("Cast");
    optest_attr_i(n, "to", EO_FLOAT16);
    eo_tview x = {.dtype = EO_FLOAT, .rank = 1, .dims = {N}, .data = xs}, y;
    EO_CHECK(optest_run(n, 13, 1, (eo_tview *[]){&x}, 1, (eo_tview *[]){&y}, false) == EO_OK);
    EO_CHECK(y.dtype == EO_FLOAT16);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += ((uint16_t *)y.data)[i] != oracle_f32_to_f16(xs[i]);
    EO_CHECK_MSG(bad == 0, "Cast float32 -> float16 (ref=%d): %d wrong", ref, bad);
    optest_node_free(n);
    // back to float32
    n = optest_node("Cast");
    optest_attr_i(n, "to", EO_FLOAT);
    eo_tview z;
    EO_CHECK(optest_run(n, 13, 1, (eo_tview *[]){&y}, 1, (eo_tview *[]){&z}, false) == EO_OK);
    bad = 0;
    for (int i = 0; i < N; i++) bad += f2u(((float *)z.data)[i]) != f2u(eo_f16_to_f32(((uint16_t *)y.data)[i]));
    EO_CHECK_MSG(bad == 0, "Cast float16 -> float32 (ref=%d): %d wrong", ref, bad);
    EO_CHECK(isinf(((float *)z.data)[5]));  // 70000 overflows float16
    optest_node_free(n);
    // the round-to-float16 Cast gives the same values in one step
    n = optest_node("Cast");
    optest_attr_i(n, "to", EO_FLOAT);
    optest_attr_i(n, EO_CAST_ROUND_ATTR, 1);
    eo_tview w;
    EO_CHECK(optest_run(n, 13, 1, (eo_tview *[]){&x}, 1, (eo_tview *[]){&w}, false) == EO_OK);
    EO_CHECK(w.dtype == EO_FLOAT);
    bad = 0;
    for (int i = 0; i < N; i++) bad += f2u(((float *)w.data)[i]) != f2u(((float *)z.data)[i]);
    EO_CHECK_MSG(bad == 0, "round Cast (ref=%d): %d wrong", ref, bad);
    optest_node_free(n);
    free(y.data), free(z.data), free(w.data);
  }
  unsetenv("EO_FORCE_REF");
  // the round attribute on a Cast to another type is refused
  eo_node *n = optest_node("Cast");
  optest_attr_i(n, "to", EO_INT32);
  optest_attr_i(n, EO_CAST_ROUND_ATTR, 1);
  eo_tview x = {.dtype = EO_FLOAT, .rank = 1, .dims = {N}, .data = xs}, y = {0};
  EO_CHECK(optest_run(n, 13, 1, (eo_tview *[]){&x}, 1, (eo_tview *[]){&y}, false) == EO_ERR_INVALID);
  free(y.data);
  optest_node_free(n);
}

int main(void) {
  test_reference_values();
  test_fast_vs_ref();
  test_cast_op();
  return eo_test_finish();
}
