/* Reference float32 GEMM: C += alpha * A * B with arbitrary operand strides.
 *
 * GotoBLAS-style blocking in plain C: B is packed into KC x NR column panels and A into MR x KC
 * row panels (zero-padded to whole tiles), then an MR x NR micro-kernel with fixed trip counts
 * accumulates in a local tile that the compiler keeps in vector registers. Packing makes
 * transposed operands as fast as plain ones and keeps the working set in cache:
 * one B panel (KC x NR) in L1 while A panels stream, the KC x NC block of B in L2.
 */
#include "runtime/kernels/ref/ref_kernels.h"

#define EO_GEMM_MR 4
#define EO_GEMM_NR 16
#define EO_GEMM_KC 256
#define EO_GEMM_MC 64
#define EO_GEMM_NC 512

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

size_t eo_f32_gemm_workspace__ref(int64_t m, int64_t n, int64_t k) {
  if (m <= 0 || n <= 0 || k <= 0) return 0;
  int64_t kc = min64(k, EO_GEMM_KC);
  int64_t nc = round_up(min64(n, EO_GEMM_NC), EO_GEMM_NR);
  int64_t mc = round_up(min64(m, EO_GEMM_MC), EO_GEMM_MR);
  return (size_t)(kc * (nc + mc)) * sizeof(float);
}

/* MR x NR tile of C += alpha * (packed A panel) * (packed B panel); only mr x nr of it is stored. */
static void ukernel(int64_t kc, const float *restrict ap, const float *restrict bp, float *restrict c,
                    int64_t ldc, int mr, int nr, float alpha) {
  /* Fully unrolled so that the accumulator tile lives in (vector) registers, not on the stack. */
  float acc[EO_GEMM_MR][EO_GEMM_NR];
#pragma GCC unroll 16
  for (int i = 0; i < EO_GEMM_MR; i++)
#pragma GCC unroll 16
    for (int j = 0; j < EO_GEMM_NR; j++) acc[i][j] = 0.0f;
  for (int64_t p = 0; p < kc; p++) {
    const float *restrict bv = bp + p * EO_GEMM_NR;
#pragma GCC unroll 16
    for (int i = 0; i < EO_GEMM_MR; i++) {
      float av = ap[p * EO_GEMM_MR + i];
#pragma GCC unroll 16
      for (int j = 0; j < EO_GEMM_NR; j++) acc[i][j] += av * bv[j];
    }
  }
  if (mr == EO_GEMM_MR && nr == EO_GEMM_NR) {
    for (int i = 0; i < EO_GEMM_MR; i++)
      for (int j = 0; j < EO_GEMM_NR; j++) c[i * ldc + j] += alpha * acc[i][j];
  } else {
    for (int i = 0; i < mr; i++)
      for (int j = 0; j < nr; j++) c[i * ldc + j] += alpha * acc[i][j];
  }
}

/* B(pc.., jc..) block of kc x nc into NR-wide panels: panel jr holds kc rows of NR floats. */
static void pack_b(int64_t kc, int64_t nc, const float *b, int64_t b_rs, int64_t b_cs, float *restrict dst) {
  for (int64_t jr = 0; jr < nc; jr += EO_GEMM_NR) {
    int64_t nr = min64(nc - jr, EO_GEMM_NR);
    float *d = dst + jr * kc;
    if (b_cs == 1 && nr == EO_GEMM_NR) {
      for (int64_t p = 0; p < kc; p++) {
        const float *s = b + p * b_rs + jr;
        for (int j = 0; j < EO_GEMM_NR; j++) d[p * EO_GEMM_NR + j] = s[j];
      }
    } else {
      for (int64_t p = 0; p < kc; p++) {
        const float *s = b + p * b_rs + jr * b_cs;
        int64_t j = 0;
        for (; j < nr; j++) d[p * EO_GEMM_NR + j] = s[j * b_cs];
        for (; j < EO_GEMM_NR; j++) d[p * EO_GEMM_NR + j] = 0.0f;
      }
    }
  }
}

/* A(ic.., pc..) block of mc x kc into MR-tall panels: panel ir holds kc columns of MR floats. */
static void pack_a(int64_t mc, int64_t kc, const float *a, int64_t a_rs, int64_t a_cs, float *restrict dst) {
  for (int64_t ir = 0; ir < mc; ir += EO_GEMM_MR) {
    int64_t mr = min64(mc - ir, EO_GEMM_MR);
    float *d = dst + ir * kc;
    for (int64_t p = 0; p < kc; p++) {
      const float *s = a + ir * a_rs + p * a_cs;
      int64_t i = 0;
      for (; i < mr; i++) d[p * EO_GEMM_MR + i] = s[i * a_rs];
      for (; i < EO_GEMM_MR; i++) d[p * EO_GEMM_MR + i] = 0.0f;
    }
  }
}

void eo_f32_gemm__ref(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t a_rs,
                      int64_t a_cs, const float *b, int64_t b_rs, int64_t b_cs, float *c, int64_t ldc,
                      float *ws) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  int64_t kc_max = min64(k, EO_GEMM_KC);
  float *bp = ws;
  float *ap = ws + kc_max * round_up(min64(n, EO_GEMM_NC), EO_GEMM_NR);
  for (int64_t jc = 0; jc < n; jc += EO_GEMM_NC) {
    int64_t nc = min64(n - jc, EO_GEMM_NC);
    for (int64_t pc = 0; pc < k; pc += EO_GEMM_KC) {
      int64_t kc = min64(k - pc, EO_GEMM_KC);
      pack_b(kc, nc, b + pc * b_rs + jc * b_cs, b_rs, b_cs, bp);
      for (int64_t ic = 0; ic < m; ic += EO_GEMM_MC) {
        int64_t mc = min64(m - ic, EO_GEMM_MC);
        pack_a(mc, kc, a + ic * a_rs + pc * a_cs, a_rs, a_cs, ap);
        for (int64_t jr = 0; jr < nc; jr += EO_GEMM_NR) {
          int nr = (int)min64(nc - jr, EO_GEMM_NR);
          for (int64_t ir = 0; ir < mc; ir += EO_GEMM_MR)
            ukernel(kc, ap + ir * kc, bp + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc,
                    (int)min64(mc - ir, EO_GEMM_MR), nr, alpha);
        }
      }
    }
  }
}
