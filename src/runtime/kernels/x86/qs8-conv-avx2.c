/* Integer convolution, im2col form with AVX2 VPMADDWD: per (image, group) the patch matrix holds
 * x - x_zp as int16 (0 in the padding), rows interleaved in pairs (col[kp][p][2] = rows 2kp, 2kp+1
 * at output position p), so one VPMADDWD multiplies 8 positions by a broadcast pair of weights
 * (w - w_zp[oc], pre-packed as int16 [c_out][K]) and sums the pair into int32. Tiles of 4 output
 * channels x 16 positions stay in registers over the whole K. Every product and sum is an exact
 * integer (|x - zp|, |w - zp| <= 255), so the result equals eo_qs8_conv__ref bit for bit; the
 * requantization is the same eo_qs8_requant. Threaded like the VNNI kernel: per (image, group) the
 * im2col rows, then the tiles, are split across the pool. */
#include <immintrin.h>

#include "core/threads.h"
#include "runtime/kernels/ref/qconv_kernels.h"

static int64_t patch_k(const eo_conv_params *p) { return p->c_in / p->groups * p->k[0] * p->k[1] * p->k[2]; }
static int64_t out_p(const eo_conv_params *p) { return p->out[0] * p->out[1] * p->out[2]; }
static int64_t up16(int64_t n) { return (n + 15) & ~(int64_t)15; }

size_t eo_qs8_conv_scratch__avx2(const eo_conv_params *p) {
  int64_t K2 = (patch_k(p) + 1) / 2, P = up16(out_p(p));
  return (size_t)(K2 * P * 2 * 2);
}

static void store_out(const eo_qconv_quant *q, void *y, int64_t off, const int32_t *acc, int64_t cnt, float s,
                      int32_t qmin, int32_t qmax) {
  if (q->y_signed) {
    int8_t *yo = (int8_t *)y + off;
    for (int64_t i = 0; i < cnt; i++) yo[i] = (int8_t)eo_qs8_requant(acc[i], s, q->y_zp, qmin, qmax);
  } else {
    uint8_t *yo = (uint8_t *)y + off;
    for (int64_t i = 0; i < cnt; i++) yo[i] = (uint8_t)eo_qs8_requant(acc[i], s, q->y_zp, qmin, qmax);
  }
}

void eo_qs8_conv_pack__avx2(const eo_conv_params *p, const int16_t *w16, int32_t *wpk) {
  int64_t K = patch_k(p), K2 = (K + 1) / 2;
  for (int64_t oc = 0; oc < p->c_out; oc++)
    for (int64_t kp = 0; kp < K2; kp++) {
      uint32_t lo = (uint16_t)w16[oc * K + 2 * kp], hi = 2 * kp + 1 < K ? (uint16_t)w16[oc * K + 2 * kp + 1] : 0;
      wpk[oc * K2 + kp] = (int32_t)(lo | hi << 16);
    }
}

/* One (image, group) of the convolution, split across the pool in two passes: im2col rows, then
 * tiles of (positions chunk x 4 output channels). Each output is computed by one task in the same
 * order as on one thread, so any thread count gives the same bytes. */
typedef struct a2job {
  const eo_conv_params *p;
  const eo_qconv_quant *q;
  const int32_t *wpk;
  int16_t *col;
  void *y;
  const uint8_t *xg;  /* the group's first input channel of this image */
  int64_t n, g, K, K2, P, Pp, rows_per, chunk, nchunk, nblk;
} a2job;

static void im2col_task(void *ctx, size_t index, int worker) {
  const a2job *J = ctx;
  const eo_conv_params *p = J->p;
  const eo_qconv_quant *q = J->q;
  const int64_t insz = p->in[0] * p->in[1] * p->in[2], kvol = p->k[0] * p->k[1] * p->k[2], Pp = J->Pp;
  const int64_t r0 = (int64_t)index * J->rows_per, r1 = r0 + J->rows_per < J->K ? r0 + J->rows_per : J->K;
  const int8_t *xs = (const int8_t *)J->xg;
  const uint8_t *xu = J->xg;
  if (r1 == J->K && (J->K & 1))  // an odd K leaves a zero row (the other half of the last pairs)
    for (int64_t i = 0; i < Pp; i++) J->col[((J->K2 - 1) * Pp + i) * 2 + 1] = 0;
  for (int64_t row = r0; row < r1; row++) {
    const int64_t ic = row / kvol, t = row % kvol;
    const int64_t k0 = t / (p->k[1] * p->k[2]), k1 = t / p->k[2] % p->k[1], k2 = t % p->k[2];
    const int64_t xb = ic * insz;
    int16_t *r = J->col + (row >> 1) * Pp * 2 + (row & 1);
    int64_t pi = 0;
    for (int64_t o0 = 0; o0 < p->out[0]; o0++) {
      int64_t i0 = o0 * p->stride[0] - p->pad[0] + k0 * p->dil[0];
      bool in0 = i0 >= 0 && i0 < p->in[0];
      for (int64_t o1 = 0; o1 < p->out[1]; o1++) {
        int64_t i1 = o1 * p->stride[1] - p->pad[1] + k1 * p->dil[1];
        bool in01 = in0 && i1 >= 0 && i1 < p->in[1];
        int64_t base = xb + (i0 * p->in[1] + i1) * p->in[2];
        for (int64_t o2 = 0; o2 < p->out[2]; o2++, pi++) {
          int64_t i2 = o2 * p->stride[2] - p->pad[2] + k2 * p->dil[2];
          int16_t v = 0;
          if (in01 && i2 >= 0 && i2 < p->in[2]) v = (int16_t)((q->x_signed ? xs[base + i2] : xu[base + i2]) - q->x_zp);
          r[pi * 2] = v;
        }
      }
    }
  }
}

static void gemm_task(void *ctx, size_t index, int worker) {
  const a2job *J = ctx;
  const eo_conv_params *p = J->p;
  const eo_qconv_quant *q = J->q;
  const int64_t cog = p->c_out / p->groups, K2 = J->K2, Pp = J->Pp, P = J->P, n = J->n, g = J->g;
  const int64_t pc = (int64_t)index / J->nblk * J->chunk, pend = pc + J->chunk < P ? pc + J->chunk : P;
  const int64_t oc0 = g * cog + (int64_t)index % J->nblk * 4;
  const int16_t *col = J->col;
  const int32_t *wpk = J->wpk;
  void *y = J->y;
  int32_t qmin = q->y_signed ? -128 : 0, qmax = q->y_signed ? 127 : 255;
  int nb = (int)((g + 1) * cog - oc0 < 4 ? (g + 1) * cog - oc0 : 4);
  // missing channels of the last block read channel oc0's weights; their sums are dropped
  const int32_t *w0 = wpk + oc0 * K2, *w1 = nb > 1 ? w0 + K2 : w0, *w2 = nb > 2 ? w0 + 2 * K2 : w0;
  const int32_t *w3 = nb > 3 ? w0 + 3 * K2 : w0;
  const int32_t *wj[4] = {w0, w1, w2, w3};
  int32_t b[4];
  for (int j = 0; j < 4; j++) b[j] = j < nb && q->bias ? q->bias[oc0 + j] : 0;
  int64_t p0 = pc;
  for (; p0 + 16 <= pend; p0 += 16) {
    // eight named accumulators so that they stay in registers
    __m256i a00 = _mm256_set1_epi32(b[0]), a01 = a00, a10 = _mm256_set1_epi32(b[1]), a11 = a10;
    __m256i a20 = _mm256_set1_epi32(b[2]), a21 = a20, a30 = _mm256_set1_epi32(b[3]), a31 = a30;
    const int16_t *cr = col + p0 * 2;
    for (int64_t kp = 0; kp < K2; kp++, cr += Pp * 2) {
      __m256i c0 = _mm256_loadu_si256((const __m256i *)cr);
      __m256i c1 = _mm256_loadu_si256((const __m256i *)(cr + 16));
      __m256i w = _mm256_set1_epi32(w0[kp]);
      a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(c0, w));
      a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(c1, w));
      w = _mm256_set1_epi32(w1[kp]);
      a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(c0, w));
      a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(c1, w));
      w = _mm256_set1_epi32(w2[kp]);
      a20 = _mm256_add_epi32(a20, _mm256_madd_epi16(c0, w));
      a21 = _mm256_add_epi32(a21, _mm256_madd_epi16(c1, w));
      w = _mm256_set1_epi32(w3[kp]);
      a30 = _mm256_add_epi32(a30, _mm256_madd_epi16(c0, w));
      a31 = _mm256_add_epi32(a31, _mm256_madd_epi16(c1, w));
    }
    int32_t t[4][16];
    _mm256_storeu_si256((__m256i *)t[0], a00), _mm256_storeu_si256((__m256i *)(t[0] + 8), a01);
    _mm256_storeu_si256((__m256i *)t[1], a10), _mm256_storeu_si256((__m256i *)(t[1] + 8), a11);
    _mm256_storeu_si256((__m256i *)t[2], a20), _mm256_storeu_si256((__m256i *)(t[2] + 8), a21);
    _mm256_storeu_si256((__m256i *)t[3], a30), _mm256_storeu_si256((__m256i *)(t[3] + 8), a31);
    for (int j = 0; j < nb; j++)
      store_out(q, y, (n * p->c_out + oc0 + j) * P + p0, t[j], 16, q->scale[oc0 + j], qmin, qmax);
  }
  for (; p0 < pend; p0++) {  // the last positions, scalar
    for (int j = 0; j < nb; j++) {
      int32_t acc = b[j];
      for (int64_t kp = 0; kp < K2; kp++) {
        const int16_t *c = col + (kp * Pp + p0) * 2;
        int32_t w = wj[j][kp];
        acc += c[0] * (int16_t)(w & 0xffff) + c[1] * (int16_t)((uint32_t)w >> 16);
      }
      store_out(q, y, (n * p->c_out + oc0 + j) * P + p0, &acc, 1, q->scale[oc0 + j], qmin, qmax);
    }
  }
}

void eo_qs8_conv__avx2(const eo_conv_params *p, const eo_qconv_quant *q, const void *x, const int32_t *wpk, void *y,
                       void *scratch, eo_threadpool *pool) {
  const int64_t cig = p->c_in / p->groups, cog = p->c_out / p->groups, K = patch_k(p), K2 = (K + 1) / 2;
  const int64_t P = out_p(p), insz = p->in[0] * p->in[1] * p->in[2];
  // a (image, group) of little work (depthwise groups on small maps) costs less than the two pool
  // hand-offs it would take: those run on the caller alone
  if (K * P < 16384) pool = NULL;
  const int64_t workers = eo_threadpool_size(pool);
  // chunks of positions whose patch columns stay in L2 while every channel block reads them
  const int64_t chunk = K2 * 4 * 256 <= (256 << 10) ? 256 : 64;
  a2job J = {.p = p, .q = q, .wpk = wpk, .col = scratch, .y = y, .K = K, .K2 = K2, .P = P, .Pp = up16(P),
             .chunk = chunk, .nchunk = (P + chunk - 1) / chunk, .nblk = (cog + 3) / 4};
  J.rows_per = (K + 4 * workers - 1) / (4 * workers);  // ~4 im2col tasks per worker
  if (J.rows_per < 1) J.rows_per = 1;
  for (int64_t n = 0; n < p->batch; n++)
    for (int64_t g = 0; g < p->groups; g++) {
      J.n = n, J.g = g;
      J.xg = (const uint8_t *)x + (n * p->c_in + g * cig) * insz;
      eo_threadpool_run(pool, (size_t)((K + J.rows_per - 1) / J.rows_per), im2col_task, &J);
      eo_threadpool_run(pool, (size_t)(J.nchunk * J.nblk), gemm_task, &J);
    }
}
