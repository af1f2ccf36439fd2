/* MatMulInteger's GEMM with AVX-512 VNNI (VPDPBUSD); see qs8-fast.h for the layout and arithmetic.
 * Runs only when eo_cpu_isa() >= EO_ISA_AVX512 and the CPU has VNNI (the caller checks). */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "runtime/kernels/x86/qs8-fast.h"

#define EO_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
/* acc += u8 a x s8 b (inline asm as in qs8-conv-avx512.c: keeps GCC from spilling the operands) */
#define EO_DPBUSD(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))

bool eo_qs8_gemm_plan_init(eo_qs8_gemm_plan *pl, int64_t K, int64_t N, const int8_t *b) {
  memset(pl, 0, sizeof *pl);
  pl->K = K, pl->N = N, pl->K4 = (K + 3) / 4, pl->ng = (N + 63) / 64;
  pl->bpk = eo_calloc((size_t)(pl->ng * pl->K4 * 256), 1);
  pl->bsum = eo_calloc((size_t)(pl->ng * 64), sizeof(int32_t));
  if (!pl->bpk || !pl->bsum) {
    eo_qs8_gemm_plan_free(pl);
    return false;
  }
  for (int64_t k = 0; k < K; k++)
    for (int64_t n = 0; n < N; n++) {
      int8_t v = b[k * N + n];
      pl->bpk[((n / 64 * pl->K4 + k / 4) * 64 + n % 64) * 4 + k % 4] = v;
      pl->bsum[n] += v;
    }
  return true;
}

void eo_qs8_gemm_plan_free(eo_qs8_gemm_plan *pl) {
  free(pl->bpk);
  free(pl->bsum);
  memset(pl, 0, sizeof *pl);
}

static int64_t lda_of(const eo_qs8_gemm_plan *pl) { return (pl->K4 * 4 + 63) / 64 * 64; }

size_t eo_qs8_gemm_plan_scratch(const eo_qs8_gemm_plan *pl, int64_t rows) { return (size_t)(rows * lda_of(pl)); }

typedef struct gjob {
  const eo_qs8_gemm_plan *pl;
  const uint8_t *ap;  /* a as uint8, rows of lda bytes, zeros past K */
  int64_t rows, lda, rt, ntr;
  int32_t azp;
  int32_t *y;
} gjob;

/* Rows [r0, r0 + nr) (NR rows computed, the ones past nr repeat row r0) times column group g. */
EO_VNNI static inline __attribute__((always_inline)) void tile(const gjob *J, int64_t r0, int64_t nr, int64_t g,
                                                                const int NR) {
  const eo_qs8_gemm_plan *pl = J->pl;
  const uint8_t *ar[4];
  for (int i = 0; i < NR; i++) ar[i] = J->ap + (r0 + (i < nr ? i : 0)) * J->lda;
  __m512i acc[4][4];
  __m512i nz = _mm512_set1_epi32(-J->azp);
  for (int j = 0; j < 4; j++) {
    __m512i c = _mm512_mullo_epi32(nz, _mm512_loadu_si512(pl->bsum + g * 64 + j * 16));
    for (int i = 0; i < NR; i++) acc[i][j] = c;
  }
  const int8_t *bp = pl->bpk + g * pl->K4 * 256;
  for (int64_t kq = 0; kq < pl->K4; kq++, bp += 256) {
    __m512i b0 = _mm512_loadu_si512(bp), b1 = _mm512_loadu_si512(bp + 64), b2 = _mm512_loadu_si512(bp + 128),
            b3 = _mm512_loadu_si512(bp + 192);
    for (int i = 0; i < NR; i++) {
      int32_t a4;
      memcpy(&a4, ar[i] + kq * 4, 4);
      __m512i av = _mm512_set1_epi32(a4);
      EO_DPBUSD(acc[i][0], av, b0);
      EO_DPBUSD(acc[i][1], av, b1);
      EO_DPBUSD(acc[i][2], av, b2);
      EO_DPBUSD(acc[i][3], av, b3);
    }
  }
  for (int i = 0; i < NR && i < nr; i++)
    for (int j = 0; j < 4; j++) {
      int64_t n0 = g * 64 + j * 16, cnt = pl->N - n0;
      if (cnt <= 0) break;
      __mmask16 m = cnt >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cnt) - 1);
      _mm512_mask_storeu_epi32(J->y + (r0 + i) * pl->N + n0, m, acc[i][j]);
    }
}

EO_VNNI static void gemm_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const gjob *J = ctx;
  int64_t tr = (int64_t)index % J->ntr, g = (int64_t)index / J->ntr, r0 = tr * J->rt;
  int64_t nr = J->rows - r0 < J->rt ? J->rows - r0 : J->rt;
  if (J->rt == 1) tile(J, r0, nr, g, 1);
  else tile(J, r0, nr, g, 4);
}

void eo_qs8_gemm_plan_run(const eo_qs8_gemm_plan *pl, int64_t rows, const void *a, bool a_signed, int32_t a_zp,
                          int32_t *y, void *scratch, eo_threadpool *pool) {
  int64_t lda = lda_of(pl), K = pl->K;
  uint8_t *ap = scratch, flip = a_signed ? 0x80 : 0;
  const uint8_t *src = a;
  for (int64_t r = 0; r < rows; r++) {
    for (int64_t k = 0; k < K; k++) ap[r * lda + k] = src[r * K + k] ^ flip;
    memset(ap + r * lda + K, 0, (size_t)(lda - K));
  }
  gjob J = {.pl = pl, .ap = ap, .rows = rows, .lda = lda, .rt = rows == 1 ? 1 : 4, .azp = a_signed ? a_zp + 128 : a_zp,
            .y = y};
  J.ntr = (rows + J.rt - 1) / J.rt;
  eo_threadpool_run(pool, (size_t)(J.ntr * pl->ng), gemm_task, &J);
}
