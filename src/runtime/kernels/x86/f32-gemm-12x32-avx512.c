/* AVX-512F GEMM micro-kernel, 12x32 tile: 24 zmm accumulators, per k two 16-float loads of the
 * packed B panel and 12 broadcasts of packed A (folded into the FMAs as {1to16} memory operands).
 * Each row count 1..12 gets its own fully unrolled instance, so edge tiles keep the accumulators
 * in registers too; the column edge (nr < 32) is handled with masked loads/stores, and a last panel
 * of at most 16 columns runs only the first 16-lane half. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "runtime/kernels/x86/act-avx512.h"
#include "runtime/kernels/x86/im2col.h"
#include "runtime/kernels/x86/transpose-avx512.h"
#include "runtime/kernels/x86/x86_kernels.h"

#define MR 12
#define NR 32

/* Stores one row of a tile: act(base + alpha * (v0, v1)) into ci[0..nr), base as in the ukernel's
 * contract (row i: its bias[i]). */
static inline __attribute__((always_inline)) void store_row(__m512 v0, __m512 v1, int i, int nr, float *ci,
                                                            const eo_f32_gemm_tile_ep *ep) {
  const __mmask16 m0 = eo_mask_avx512(nr), m1 = eo_mask_avx512(nr - 16 > 0 ? nr - 16 : 0);
  if (ep->alpha != 1.0f) {
    const __m512 alpha = _mm512_set1_ps(ep->alpha);
    v0 = _mm512_mul_ps(v0, alpha);
    v1 = _mm512_mul_ps(v1, alpha);
  }
  if (ep->flags & EO_GEMM_LOAD_C) {
    v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), v0);
    v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), v1);
  } else if (ep->bias) {
    const __m512 bv = _mm512_set1_ps(ep->bias[i]);
    v0 = _mm512_add_ps(bv, v0);
    v1 = _mm512_add_ps(bv, v1);
  } else if (ep->bias_n) {
    v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ep->bias_n), v0);
    v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ep->bias_n + 16), v1);
  }
  if (ep->flags & EO_GEMM_ACT) {
    v0 = eo_act_avx512(v0, ep->act);
    v1 = eo_act_avx512(v1, ep->act);
  }
  _mm512_mask_storeu_ps(ci, m0, v0);
  _mm512_mask_storeu_ps(ci + 16, m1, v1);
}

/* B packed (ldb == NR, aligned, zero-padded past nr) or read in place (direct: rows ldb floats apart,
 * loads masked to the nr columns). */
static inline __attribute__((always_inline)) void tile(const int mr, int nr, int64_t kc, const float *a,
                                                       const float *b, int64_t ldb, float *c, int64_t ldc,
                                                       const eo_f32_gemm_tile_ep *ep, const bool direct) {
  __m512 c0[MR], c1[MR];
  const __mmask16 m0 = eo_mask_avx512(nr), m1 = eo_mask_avx512(nr - 16 > 0 ? nr - 16 : 0);
#define EO_LOAD_B(ptr, m) (direct ? _mm512_maskz_loadu_ps(m, ptr) : _mm512_load_ps(ptr))
#pragma GCC unroll 12
  for (int i = 0; i < mr; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  if (nr <= 16) {  // a last panel of at most 16 columns (a 14x14 map's 196 = 6 x 32 + 4): half the FMAs
    for (int64_t p = 0; p < kc; p++) {
      const __m512 b0 = EO_LOAD_B(b, m0);
      b += ldb;
#pragma GCC unroll 12
      for (int i = 0; i < mr; i++) c0[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b0, c0[i]);
      a += MR;
    }
  } else {
    for (int64_t p = 0; p < kc; p++) {
      const __m512 b0 = EO_LOAD_B(b, m0), b1 = EO_LOAD_B(b + 16, m1);
      b += ldb;
#pragma GCC unroll 12
      for (int i = 0; i < mr; i++) {
        const __m512 av = _mm512_set1_ps(a[i]);
        c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
        c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
      }
      a += MR;
    }
  }
#undef EO_LOAD_B
#pragma GCC unroll 12
  for (int i = 0; i < mr; i++) store_row(c0[i], c1[i], i, nr, c + i * ldc, ep);
}

#define EO_TILE(R)                                                                                               \
  static void tile_##R(int nr, int64_t kc, const float *a, const float *b, float *c, int64_t ldc,               \
                       const eo_f32_gemm_tile_ep *ep) {                                                         \
    tile(R, nr, kc, a, b, NR, c, ldc, ep, false);                                                                \
  }                                                                                                              \
  static void tile_b_##R(int nr, int64_t kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc, \
                         const eo_f32_gemm_tile_ep *ep) {                                                       \
    tile(R, nr, kc, a, b, ldb, c, ldc, ep, true);                                                                \
  }
EO_TILE(1) EO_TILE(2) EO_TILE(3) EO_TILE(4) EO_TILE(5) EO_TILE(6)
EO_TILE(7) EO_TILE(8) EO_TILE(9) EO_TILE(10) EO_TILE(11) EO_TILE(12)

typedef void (*tile_fn)(int, int64_t, const float *, const float *, float *, int64_t, const eo_f32_gemm_tile_ep *);
static const tile_fn tiles[MR + 1] = {NULL,    tile_1, tile_2, tile_3,  tile_4,  tile_5, tile_6,
                                      tile_7, tile_8, tile_9, tile_10, tile_11, tile_12};

void eo_f32_gemm_12x32__avx512f(int mr, int nr, int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                const eo_f32_gemm_tile_ep *ep) {
  tiles[mr](nr, kc, a, b, c, ldc, ep);
}

typedef void (*tile_b_fn)(int, int64_t, const float *, const float *, int64_t, float *, int64_t,
                          const eo_f32_gemm_tile_ep *);
static const tile_b_fn tiles_b[MR + 1] = {NULL,      tile_b_1, tile_b_2, tile_b_3,  tile_b_4,  tile_b_5, tile_b_6,
                                          tile_b_7, tile_b_8, tile_b_9, tile_b_10, tile_b_11, tile_b_12};

void eo_f32_gemm_12x32_b__avx512f(int mr, int nr, int64_t kc, const float *a, const float *b, int64_t ldb, float *c,
                                  int64_t ldc, const eo_f32_gemm_tile_ep *ep) {
  tiles_b[mr](nr, kc, a, b, ldb, c, ldc, ep);
}

/* One row of A against 4 NR-column panels at a time: a matrix-vector product streams the weights
 * (a classifier's last Gemm: 4-5 MB) from memory, and 4 concurrent streams with 8 independent
 * accumulators draw about 1.6x the bandwidth of one panel after another (1280 x 1000 from cold
 * caches: 0.31 -> 0.19 ms). Same products in the same order as tile_1, so the same results. */
void eo_f32_gemm_row_panels__avx512f(int64_t n, int64_t kc, const float *a, const float *b, int64_t b_stride,
                                     float *c, const eo_f32_gemm_tile_ep *ep) {
  int64_t j = 0;
  for (; j + 4 * NR <= n; j += 4 * NR, b += 4 * b_stride) {
    __m512 acc[8];
    for (int q = 0; q < 8; q++) acc[q] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kc; p++) {
      const __m512 av = _mm512_set1_ps(a[p * MR]);
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) {
        acc[2 * q] = _mm512_fmadd_ps(av, _mm512_load_ps(b + q * b_stride + p * NR), acc[2 * q]);
        acc[2 * q + 1] = _mm512_fmadd_ps(av, _mm512_load_ps(b + q * b_stride + p * NR + 16), acc[2 * q + 1]);
      }
    }
    for (int q = 0; q < 4; q++) {
      eo_f32_gemm_tile_ep e = *ep;
      if (e.bias_n) e.bias_n += j + q * NR;
      store_row(acc[2 * q], acc[2 * q + 1], 0, NR, c + j + q * NR, &e);
    }
  }
  for (; j < n; j += NR, b += b_stride) {
    eo_f32_gemm_tile_ep e = *ep;
    if (e.bias_n) e.bias_n += j;
    tile_1((int)(n - j < NR ? n - j : NR), kc, a, b, c + j, 0, &e);
  }
}

/* dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols: 16x16 blocks through registers (the
 * transposed convolutions' Y^T -> Y). */
void eo_f32_transpose__avx512f(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst, int64_t ldd) {
  for (int64_t i0 = 0; i0 < rows; i0 += 16) {
    const int64_t ni = rows - i0 < 16 ? rows - i0 : 16;
    const __mmask16 mi = eo_mask_avx512((int)ni);
    for (int64_t j0 = 0; j0 < cols; j0 += 16) {
      const int64_t nj = cols - j0 < 16 ? cols - j0 : 16;
      const __mmask16 mj = eo_mask_avx512((int)nj);
      __m512 r[16];
      for (int i = 0; i < 16; i++)
        r[i] = i < ni ? _mm512_maskz_loadu_ps(mj, src + (i0 + i) * lds + j0) : _mm512_setzero_ps();
      eo_tr16_avx512(r);
      for (int j = 0; j < nj; j++) _mm512_mask_storeu_ps(dst + (j0 + j) * ldd + i0, mi, r[j]);
    }
  }
}

/* Mean of x[0..n), accumulated in double like the reference (two 8-lane chains). */
float eo_f32_mean__avx512f(const float *x, int64_t n) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8)));
  }
  double sum = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
  for (; i < n; i++) sum += x[i];
  return (float)(sum / (double)n);
}

void eo_f32_vact__avx512f(const eo_f32_act *act, const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, eo_act_avx512(_mm512_loadu_ps(x + i), act));
  if (i < n) {
    __mmask16 m = eo_mask_avx512((int)(n - i));
    _mm512_mask_storeu_ps(y + i, m, eo_act_avx512(_mm512_maskz_loadu_ps(m, x + i), act));
  }
}

static inline __attribute__((always_inline)) void gather_row(const float *row, int64_t q0, int64_t s, int64_t w, int64_t n, float *dst) {
  const __m512i lane_s = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)s));
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t u = 0; u < n; u += 16, q0 += 16 * s) {
    const __mmask16 st = eo_mask_avx512(n - u < 16 ? (int)(n - u) : 16);
    __m512 v;
    if (!row)
      v = _mm512_setzero_ps();
    else if (s == 1)
      v = _mm512_maskz_loadu_ps(range_mask(-q0, w - q0), row + q0);
    else if (s == 2)
      v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(range_mask(-q0, w - q0), row + q0), even,
                                 _mm512_maskz_loadu_ps(range_mask(-q0 - 16, w - q0 - 16), row + q0 + 16));
    else
      v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes_inside(q0, w, lane_s) & st,
                                   _mm512_add_epi32(_mm512_set1_epi32((int)q0), lane_s), row, 4);
    _mm512_mask_storeu_ps(dst + u, st, v);
  }
}

void eo_f32_pack_im2col__avx512f(const eo_conv_params *p, const float *x, int w, int64_t pc, int64_t kc, int64_t j0,
                        int64_t nc, float *dst) {
  eo_pack_im2col_impl(p, x, w, pc, kc, j0, nc, dst, gather_row);
}

/* The MR positions of a panel lie within 32 floats of the first one for maps of 7 columns and more
 * (at most two row ends, each skipping the padding), so one row of the panel is two masked loads
 * and a two-source permute: a fifth of the time of element copies (resnet18's 7x7 convolutions). */
void eo_f32_pack_a_rows__avx512f(int64_t m, int64_t kc, const float *a, const int64_t *off, const int64_t *pos,
                                 float *dst) {
  for (int64_t i0 = 0; i0 < m; i0 += MR, dst += kc * MR) {
    const int rows = m - i0 < MR ? (int)(m - i0) : MR;
    const int64_t p0 = pos[i0], span = pos[i0 + rows - 1] - p0;
    if (span >= 32) {
      eo_f32_pack_a_rows_any(MR, rows, kc, a, off, pos + i0, dst);
      continue;
    }
    int32_t lane[16] = {0};
    for (int l = 0; l < rows; l++) lane[l] = (int32_t)(pos[i0 + l] - p0);
    const __m512i idx = _mm512_loadu_si512(lane);
    const __mmask16 lo = eo_mask_avx512((int)span + 1), hi = eo_mask_avx512((int)span + 1 - 16 > 0 ? (int)span - 15 : 0);
    const __mmask16 keep = eo_mask_avx512(rows), st = eo_mask_avx512(MR);
    for (int64_t kk = 0; kk < kc; kk++) {
      const float *ak = a + off[kk] + p0;
      __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lo, ak), idx, _mm512_maskz_loadu_ps(hi, ak + 16));
      _mm512_mask_storeu_ps(dst + kk * MR, st, _mm512_maskz_mov_ps(keep, v));
    }
  }
}

void eo_f32_pack_rows__avx512f(int64_t nc, int64_t kc, const float *b, const int64_t *off, float *dst) {
  for (int64_t q = 0; q < nc; q += NR, dst += kc * NR) {
    const float *bq = b + q;
    if (nc - q >= NR) {
      for (int64_t kk = 0; kk < kc; kk++) {
        _mm512_store_ps(dst + kk * NR, _mm512_loadu_ps(bq + off[kk]));
        _mm512_store_ps(dst + kk * NR + 16, _mm512_loadu_ps(bq + off[kk] + 16));
      }
    } else {  // last panel: lanes past nc are zero (and never read from b)
      const __mmask16 m0 = eo_mask_avx512((int)(nc - q)), m1 = eo_mask_avx512((int)(nc - q) - 16 > 0 ? (int)(nc - q) - 16 : 0);
      for (int64_t kk = 0; kk < kc; kk++) {
        _mm512_store_ps(dst + kk * NR, _mm512_maskz_loadu_ps(m0, bq + off[kk]));
        _mm512_store_ps(dst + kk * NR + 16, _mm512_maskz_loadu_ps(m1, bq + off[kk] + 16));
      }
    }
  }
}
#endif
