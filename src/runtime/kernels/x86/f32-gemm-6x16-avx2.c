/* AVX2 + FMA GEMM micro-kernel, 6x16 tile: 12 ymm accumulators, per k two 8-float loads of the
 * packed B panel and 6 broadcasts of packed A. One fully unrolled instance per row count 1..6;
 * the column edge (nr < 16) goes through maskload/maskstore. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "runtime/kernels/x86/act-avx2.h"
#include "runtime/kernels/x86/im2col.h"
#include "runtime/kernels/x86/x86_kernels.h"

#define MR 6
#define NR 16

static inline __attribute__((always_inline)) void tile(const int mr, int nr, int64_t kc, const float *a,
                                                       const float *b, float *c, int64_t ldc,
                                                       const eo_f32_gemm_tile_ep *ep) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) c0[i] = c1[i] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    b += NR;
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) {
      const __m256 av = _mm256_broadcast_ss(a + i);
      c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
    }
    a += MR;
  }
  const bool full = nr == NR, scale = ep->alpha != 1.0f, act = ep->flags & EO_GEMM_ACT;
  const __m256i m0 = eo_mask_avx2(nr), m1 = eo_mask_avx2(nr - 8);
  const __m256 alpha = _mm256_set1_ps(ep->alpha);
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) {
    __m256 v0 = c0[i], v1 = c1[i];
    float *ci = c + i * ldc;
    if (scale) {
      v0 = _mm256_mul_ps(v0, alpha);
      v1 = _mm256_mul_ps(v1, alpha);
    }
    if (ep->flags & EO_GEMM_LOAD_C) {
      v0 = _mm256_add_ps(full ? _mm256_loadu_ps(ci) : _mm256_maskload_ps(ci, m0), v0);
      v1 = _mm256_add_ps(full ? _mm256_loadu_ps(ci + 8) : _mm256_maskload_ps(ci + 8, m1), v1);
    } else if (ep->bias) {
      const __m256 bv = _mm256_broadcast_ss(ep->bias + i);
      v0 = _mm256_add_ps(bv, v0);
      v1 = _mm256_add_ps(bv, v1);
    } else if (ep->bias_n) {
      v0 = _mm256_add_ps(full ? _mm256_loadu_ps(ep->bias_n) : _mm256_maskload_ps(ep->bias_n, m0), v0);
      v1 = _mm256_add_ps(full ? _mm256_loadu_ps(ep->bias_n + 8) : _mm256_maskload_ps(ep->bias_n + 8, m1), v1);
    }
    if (act) {
      v0 = eo_act_avx2(v0, ep->act);
      v1 = eo_act_avx2(v1, ep->act);
    }
    if (full) {
      _mm256_storeu_ps(ci, v0);
      _mm256_storeu_ps(ci + 8, v1);
    } else {
      _mm256_maskstore_ps(ci, m0, v0);
      _mm256_maskstore_ps(ci + 8, m1, v1);
    }
  }
}

#define EO_TILE(R)                                                                                               \
  static void tile_##R(int nr, int64_t kc, const float *a, const float *b, float *c, int64_t ldc,               \
                       const eo_f32_gemm_tile_ep *ep) {                                                         \
    tile(R, nr, kc, a, b, c, ldc, ep);                                                                           \
  }
EO_TILE(1) EO_TILE(2) EO_TILE(3) EO_TILE(4) EO_TILE(5) EO_TILE(6)

typedef void (*tile_fn)(int, int64_t, const float *, const float *, float *, int64_t, const eo_f32_gemm_tile_ep *);
static const tile_fn tiles[MR + 1] = {NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6};

void eo_f32_gemm_6x16__avx2_fma(int mr, int nr, int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                const eo_f32_gemm_tile_ep *ep) {
  tiles[mr](nr, kc, a, b, c, ldc, ep);
}

/* Mean of x[0..n), accumulated in double like the reference (two 4-lane chains). */
float eo_f32_mean__avx2_fma(const float *x, int64_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, _mm256_add_pd(s0, s1));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; i++) sum += x[i];
  return (float)(sum / (double)n);
}

void eo_f32_vact__avx2_fma(const eo_f32_act *act, const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, eo_act_avx2(_mm256_loadu_ps(x + i), act));
  if (i < n) {
    __m256i m = eo_mask_avx2((int)(n - i));
    _mm256_maskstore_ps(y + i, m, eo_act_avx2(_mm256_maskload_ps(x + i, m), act));
  }
}

static inline __attribute__((always_inline)) void gather_row(const float *row, int64_t q0, int64_t s, int64_t w, int64_t n, float *dst) {
  const __m256i lane_s = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)s));
  for (int64_t u = 0; u < n; u += 8, q0 += 8 * s) {
    const int cnt = n - u < 8 ? (int)(n - u) : 8;
    __m256 v;
    if (!row) {
      v = _mm256_setzero_ps();
    } else if (s == 1) {
      v = _mm256_maskload_ps(row + q0, range_mask(-q0, w - q0));
    } else if (s == 2) {
      __m256 lo = _mm256_maskload_ps(row + q0, range_mask(-q0, w - q0));
      __m256 hi = _mm256_maskload_ps(row + q0 + 8, range_mask(-q0 - 8, w - q0 - 8));
      __m256 t = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
      v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
    } else {
      __m256i m = _mm256_and_si256(lanes_inside(q0, w, lane_s), eo_mask_avx2(cnt));
      v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), row, _mm256_add_epi32(_mm256_set1_epi32((int)q0), lane_s),
                                   _mm256_castsi256_ps(m), 4);
    }
    if (cnt == 8) _mm256_storeu_ps(dst + u, v);
    else _mm256_maskstore_ps(dst + u, eo_mask_avx2(cnt), v);
  }
}

void eo_f32_pack_im2col__avx2_fma(const eo_conv_params *p, const float *x, int w, int64_t pc, int64_t kc, int64_t j0,
                        int64_t nc, float *dst) {
  eo_pack_im2col_impl(p, x, w, pc, kc, j0, nc, dst, gather_row);
}

void eo_f32_pack_rows__avx2_fma(int64_t nc, int64_t kc, const float *b, const int64_t *off, float *dst) {
  for (int64_t q = 0; q < nc; q += NR, dst += kc * NR) {
    const float *bq = b + q;
    if (nc - q >= NR) {
      for (int64_t kk = 0; kk < kc; kk++) {
        _mm256_store_ps(dst + kk * NR, _mm256_loadu_ps(bq + off[kk]));
        _mm256_store_ps(dst + kk * NR + 8, _mm256_loadu_ps(bq + off[kk] + 8));
      }
    } else {  // last panel: lanes past nc are zero (and never read from b)
      const __m256i m0 = eo_mask_avx2((int)(nc - q)), m1 = eo_mask_avx2((int)(nc - q) - 8);
      for (int64_t kk = 0; kk < kc; kk++) {
        _mm256_store_ps(dst + kk * NR, _mm256_maskload_ps(bq + off[kk], m0));
        _mm256_store_ps(dst + kk * NR + 8, _mm256_maskload_ps(bq + off[kk] + 8, m1));
      }
    }
  }
}
#endif
